/* libFuzzer target for the whole limf-siptap engine (siptap): frame decoding, IP
 * fragment reassembly, TCP reassembly, SIP framing and resynchronisation, identity
 * matching and the dialog table, all with small bounds. Input: the first octet chooses
 * the link type, then frames each prefixed by a 16-bit length. Every identity "matches"
 * a task whose target is the identity itself, so exports happen on every SIP message. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "li_bytes.h"
#include "siptap_pkt.h"
#include "siptap.h"

static size_t match_all(void *ctx, const char *canon, x1_ne_match *out, size_t max)
{
    (void)ctx;
    if (!max || canon[0] == 't')  /* tel: identities stay untasked */
        return 0;
    memset(out, 0, sizeof *out);
    memcpy(out->xid, canon, strlen(canon) < 16 ? strlen(canon) : 16);
    memcpy(out->dids[0], out->xid, 16);
    out->n_dids = 1;
    out->delivery = X1_DELIVERY_X2_ONLY;
    snprintf(out->target, sizeof out->target, "sip-uri:%s", canon);
    return 1;
}

static void check_record(void *ctx, const uint8_t (*dids)[16], size_t n_dids,
                         const x2x3_record *rec)
{
    (void)ctx;
    if (n_dids != 1 || memcmp(dids[0], rec->xid, 16) != 0)   /* its own task's DID */
        __builtin_trap();
    /* Touch the payload so that ASan sees a stale pointer. */
    uint8_t x = 0;
    for (size_t i = 0; i < rec->payload_len; i++)
        x ^= rec->payload[i];
    if (rec->n_matched_targets != 1 || !rec->payload_len || (x && !rec->payload))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int links[] = { SIPTAP_DLT_NULL, SIPTAP_DLT_EN10MB, SIPTAP_DLT_RAW,
                                 SIPTAP_DLT_LINUX_SLL, SIPTAP_DLT_LINUX_SLL2 };
    if (size < 1)
        return 0;
    siptap_opts o = {
        .match = match_all, .export_record = check_record,
        .max_dialogs = 4, .dialog_idle_ns = 20, .dialog_linger_ns = 5,
        .max_fragment_bytes = 4096, .fragment_timeout_ns = 10,
        .tcp = { .max_flows = 4, .max_flow_bytes = 2048, .max_total_bytes = 4096,
                 .hole_timeout_ns = 3, .idle_timeout_ns = 50 },
    };
    siptap *t = siptap_new(&o);
    if (!t)
        return 0;
    int link = links[data[0] % (sizeof links / sizeof links[0])];
    size_t off = 1;
    uint64_t ts = 1;
    while (size - off >= 2) {
        size_t n = li_get_be16(data + off);
        off += 2;
        if (n > size - off)
            n = size - off;
        siptap_frame(t, link, data + off, n, ts);
        off += n;
        if (++ts % 8 == 0)
            siptap_tick(t, ts);
    }
    siptap_stats st;
    siptap_stats_get(t, &st);
    if (st.dialogs > 4 || st.tcp.buffered_bytes > 4096)
        __builtin_trap();
    siptap_free(t);
    return 0;
}
