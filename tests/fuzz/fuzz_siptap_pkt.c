/* libFuzzer target for siptap_pkt (frame decoding) and siptap_tcpreasm: the first two octets
 * choose the link type, the rest is a sequence of frames, each prefixed by a 16-bit
 * length; TCP payloads go through one reassembler with a small bound. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "li_bytes.h"
#include "siptap_pkt.h"
#include "siptap_tcpreasm.h"

static size_t take_half(void *ctx, const x2x3_flow_key *key, const uint8_t *data, size_t len,
                        uint64_t ts_ns)
{
    (void)ctx;
    (void)key;
    (void)ts_ns;
    /* Touch every byte so that ASan sees any stale pointer. */
    uint8_t x = 0;
    for (size_t i = 0; i < len; i++)
        x ^= data[i];
    return len / 2 + (x & 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int links[] = { SIPTAP_DLT_NULL, SIPTAP_DLT_EN10MB, SIPTAP_DLT_RAW,
                                 SIPTAP_DLT_LOOP, SIPTAP_DLT_LINUX_SLL, SIPTAP_DLT_LINUX_SLL2,
                                 SIPTAP_DLT_IPV4, SIPTAP_DLT_IPV6 };
    if (size < 2)
        return 0;
    int link = links[data[0] % (sizeof links / sizeof links[0])];
    siptap_tcpreasm_limits lim = { .max_flows = 4, .max_flow_bytes = 512,
                                 .max_total_bytes = 1024, .hole_timeout_ns = 3,
                                 .idle_timeout_ns = 50 };
    siptap_tcpreasm *r = siptap_tcpreasm_new(&lim, take_half, NULL);
    if (!r)
        return 0;
    size_t off = 2;
    uint64_t ts = data[1];
    while (size - off >= 2) {
        size_t n = li_get_be16(data + off);
        off += 2;
        if (n > size - off)
            n = size - off;
        siptap_pkt pkt;
        if (siptap_pkt_decode(link, data + off, n, &pkt) == LI_OK) {
            if (pkt.payload_len)
                /* The payload must lie inside the frame. */
                if (pkt.payload < data + off || pkt.payload_len > n ||
                    (size_t)(pkt.payload - (data + off)) > n - pkt.payload_len)
                    __builtin_trap();
            if (pkt.kind == SIPTAP_PKT_TCP) {
                x2x3_flow_key k;
                x2x3_flow_key_set(&k, pkt.family, pkt.src, pkt.dst, pkt.sport, pkt.dport);
                siptap_tcpreasm_segment(r, &k, pkt.tcp_seq, pkt.tcp_flags, pkt.payload,
                                      pkt.payload_len, ts);
            }
        }
        off += n;
        ts += 1;
        if (ts % 16 == 0)
            siptap_tcpreasm_expire(r, ts);
    }
    siptap_tcpreasm_stats st;
    siptap_tcpreasm_stats_get(r, &st);
    if (st.buffered_bytes > lim.max_total_bytes || st.flows > lim.max_flows)
        __builtin_trap();
    siptap_tcpreasm_free(r);
    return 0;
}
