/* limf-siptap benchmark: packets/s and SIP messages/s from a pcap file.
 *
 * Generates a pcap (Ethernet, IPv4) of SIP dialogs - INVITE with an MSRP SDP offer, 100,
 * 200 with an answer, ACK, BYE, 200 - half over UDP and half over TCP with every message
 * split across two segments, 1 dialog in 10 from a tasked target; then replays it
 * through limf-siptap's own capture code (libpcap file mode, the BPF filter
 * "port 5060") and engine, each exported record encoded as an X2 PDU (what the sender
 * does before TLS). Prints frames/s, SIP messages/s, MB/s and exported records.
 *
 *   bench_siptap [dialogs (default 40000)] [tasks (default 1000)]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "li_bytes.h"
#include "li_config.h"
#include "li_ident.h"
#include "li_time.h"
#include "siptap_pkt_build.h"
#include "x2x3_pdu.h"
#include "siptap_pkt.h"
#include "siptap.h"
#include "siptap_io.h"

/* The active tasks: canonical identities, sorted for bsearch (the NE's lookup is a hash;
 * this keeps the benchmark about the tap). */
static char (*targets)[64];
static size_t n_targets;

static int cmp_target(const void *a, const void *b)
{
    return strcmp(a, b);
}

static size_t match(void *ctx, const char *canon, x1_ne_match *out, size_t max)
{
    (void)ctx;
    if (!bsearch(canon, targets, n_targets, sizeof targets[0], cmp_target) || !max)
        return 0;
    memset(out, 0, sizeof *out);
    memset(out->xid, 0x42, 16);
    out->delivery = X1_DELIVERY_X2_AND_X3;
    snprintf(out->target, sizeof out->target, "sip-uri:%s", canon);
    return 1;
}

static li_buf pdu_buf, attr_buf;
static uint64_t exported_bytes;

/* Encodes the record as the sender would (header, attributes 9-17, payload). */
static void export_record(void *ctx, const uint8_t (*dids)[16], size_t n_dids,
                          const x2x3_record *r)
{
    (void)ctx;
    (void)dids;
    (void)n_dids;
    li_buf_reset(&attr_buf);
    li_buf_reset(&pdu_buf);
    x2x3_attr_put_timestamp(&attr_buf, r->timestamp_ns);
    x2x3_attr_put(&attr_buf, X2X3_ATTR_SRC_IPV4, r->src.addr, 4);
    x2x3_attr_put(&attr_buf, X2X3_ATTR_DST_IPV4, r->dst.addr, 4);
    x2x3_attr_put_u16(&attr_buf, X2X3_ATTR_SRC_PORT, r->src.port);
    x2x3_attr_put_u16(&attr_buf, X2X3_ATTR_DST_PORT, r->dst.port);
    x2x3_attr_put_u8(&attr_buf, X2X3_ATTR_IP_PROTOCOL, r->ip_protocol);
    for (size_t i = 0; i < r->n_matched_targets; i++)
        x2x3_attr_put(&attr_buf, X2X3_ATTR_MATCHED_TARGET, r->matched_targets[i],
                      strlen(r->matched_targets[i]));
    x2x3_pdu p = { .version = X2X3_VERSION, .pdu_type = r->pdu_type,
                   .payload_format = r->payload_format,
                   .payload_direction = r->payload_direction,
                   .correlation_id = r->correlation_id, .attrs = attr_buf.data,
                   .attrs_len = attr_buf.len, .payload = r->payload,
                   .payload_len = r->payload_len };
    memcpy(p.xid, r->xid, 16);
    if (x2x3_pdu_encode(&pdu_buf, &p) == LI_OK)
        exported_bytes += pdu_buf.len;
}

typedef struct gen {
    FILE *f;
    uint64_t ts;
    uint64_t frames, messages, bytes;
    uint32_t seq[2];
} gen;

static void put(gen *g, const pb_spec *s)
{
    uint8_t frame[4096];
    size_t n = pb_frame(frame, sizeof frame, s);
    pb_pcap_write(g->f, g->ts, frame, n);
    g->ts += 20000;  /* 50k frames per second of capture time */
    g->frames++;
    g->bytes += n;
}

/* One message from a to b (a's port 5060 side given by dir), over UDP or TCP. */
static void message(gen *g, int tcp, int dir, const char *ua, const char *ub, uint16_t pa,
                    const char *text, size_t len)
{
    pb_spec s = { SIPTAP_DLT_EN10MB, dir ? ub : ua, dir ? ua : ub, dir ? 5060 : pa,
                  dir ? pa : 5060, tcp ? 6 : 17, 0, 0, (const uint8_t *)text, len, 0, 0 };
    g->messages++;
    if (!tcp) {
        put(g, &s);
        return;
    }
    /* Split in two segments: the framer must reassemble every message. */
    size_t half = len / 2;
    s.seq = g->seq[dir];
    s.len = half;
    put(g, &s);
    s.seq += (uint32_t)half;
    s.payload += half;
    s.len = len - half;
    put(g, &s);
    g->seq[dir] += (uint32_t)len;
}

static void dialog(gen *g, unsigned i, int tasked)
{
    char caller[64], callee[64], ip_a[32], ip_b[32], call_id[64];
    snprintf(caller, sizeof caller, "%s%u", tasked ? "target" : "user", i);
    snprintf(callee, sizeof callee, "peer%u", i);
    snprintf(ip_a, sizeof ip_a, "10.%u.%u.1", i >> 8 & 255, i & 255);
    snprintf(ip_b, sizeof ip_b, "10.%u.%u.2", i >> 8 & 255, i & 255);
    snprintf(call_id, sizeof call_id, "%u-bench@%s", i, ip_a);
    uint16_t port = (uint16_t)(20000 + i % 40000);
    int tcp = i % 2;
    const char *tr = tcp ? "TCP" : "UDP";
    if (tcp) {
        pb_spec syn = { SIPTAP_DLT_EN10MB, ip_a, ip_b, port, 5060, 6, 1000, X2X3_TCP_SYN,
                        (const uint8_t *)"", 0, 0, 0 };
        put(g, &syn);
        pb_spec synack = { SIPTAP_DLT_EN10MB, ip_b, ip_a, 5060, port, 6, 5000,
                           X2X3_TCP_SYN | X2X3_TCP_ACK, (const uint8_t *)"", 0, 0, 0 };
        put(g, &synack);
        g->seq[0] = 1001;
        g->seq[1] = 5001;
    }
    static char sdp[512], m[2048];
    int sl = snprintf(sdp, sizeof sdp,
                      "v=0\r\no=%s 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                      "m=message 7394 TCP/TLS/MSRP *\r\na=accept-types:text/plain\r\n"
                      "a=path:msrps://%s:7394/s%u;tcp\r\na=setup:active\r\n"
                      "a=fingerprint:SHA-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:"
                      "19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF\r\n",
                      caller, ip_a, ip_a, ip_a, i);
#define HDR                                                                                \
    "Via: SIP/2.0/%s %s:%u;branch=z9hG4bK%u%s\r\nFrom: <sip:%s@bench.example>;tag=a%u\r\n" \
    "To: <sip:%s@bench.example>%s\r\nCall-ID: %s\r\nCSeq: %s\r\nMax-Forwards: 70\r\n"
    int n;
    n = snprintf(m, sizeof m, "INVITE sip:%s@%s SIP/2.0\r\n", callee, ip_b);
    n += snprintf(m + n, sizeof m - n, HDR, tr, ip_a, port, i, "a", caller, i, callee, "",
                  call_id, "1 INVITE");
    n += snprintf(m + n, sizeof m - n,
                  "P-Asserted-Identity: <sip:%s@bench.example>\r\nContact: <sip:%s@%s:%u>\r\n"
                  "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
                  caller, caller, ip_a, port, sl, sdp);
    message(g, tcp, 0, ip_a, ip_b, port, m, (size_t)n);
    const char *codes[2] = { "100 Trying", "200 OK" };
    for (int k = 0; k < 2; k++) {
        n = snprintf(m, sizeof m, "SIP/2.0 %s\r\n", codes[k]);
        n += snprintf(m + n, sizeof m - n, HDR, tr, ip_a, port, i, "a", caller, i, callee,
                      k ? ";tag=b" : "", call_id, "1 INVITE");
        if (k)
            n += snprintf(m + n, sizeof m - n, "Contact: <sip:%s@%s>\r\nContent-Type: "
                          "application/sdp\r\nContent-Length: %d\r\n\r\n%s", callee, ip_b, sl,
                          sdp);
        else
            n += snprintf(m + n, sizeof m - n, "Content-Length: 0\r\n\r\n");
        message(g, tcp, 1, ip_a, ip_b, port, m, (size_t)n);
    }
    const char *reqs[2] = { "ACK", "BYE" };
    const char *cseq[2] = { "1 ACK", "2 BYE" };
    for (int k = 0; k < 2; k++) {
        n = snprintf(m, sizeof m, "%s sip:%s@%s SIP/2.0\r\n", reqs[k], callee, ip_b);
        n += snprintf(m + n, sizeof m - n, HDR, tr, ip_a, port, i, k ? "b" : "c", caller, i,
                      callee, ";tag=b", call_id, cseq[k]);
        n += snprintf(m + n, sizeof m - n, "Content-Length: 0\r\n\r\n");
        message(g, tcp, 0, ip_a, ip_b, port, m, (size_t)n);
    }
    n = snprintf(m, sizeof m, "SIP/2.0 200 OK\r\n");
    n += snprintf(m + n, sizeof m - n, HDR, tr, ip_a, port, i, "b", caller, i, callee,
                  ";tag=b", call_id, "2 BYE");
    n += snprintf(m + n, sizeof m - n, "Content-Length: 0\r\n\r\n");
    message(g, tcp, 1, ip_a, ip_b, port, m, (size_t)n);
    if (tcp) {
        pb_spec fin = { SIPTAP_DLT_EN10MB, ip_a, ip_b, port, 5060, 6, g->seq[0],
                        X2X3_TCP_FIN | X2X3_TCP_ACK, (const uint8_t *)"", 0, 0, 0 };
        put(g, &fin);
        pb_spec fin2 = { SIPTAP_DLT_EN10MB, ip_b, ip_a, 5060, port, 6, g->seq[1],
                         X2X3_TCP_FIN | X2X3_TCP_ACK, (const uint8_t *)"", 0, 0, 0 };
        put(g, &fin2);
    }
}

int main(int argc, char **argv)
{
    unsigned dialogs = argc > 1 ? (unsigned)atoi(argv[1]) : 40000;
    n_targets = argc > 2 ? (size_t)atoi(argv[2]) : 1000;
    char path[] = "/tmp/bench_siptap_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    close(fd);
    gen g = { .f = pb_pcap_open(path, SIPTAP_DLT_EN10MB), .ts = li_now_ns() };
    for (unsigned i = 0; i < dialogs; i++)
        dialog(&g, i, i % 10 == 0);
    fclose(g.f);

    /* Tasks: every 10th dialog's caller (target<i>), padded with others up to n_targets. */
    targets = calloc(n_targets + dialogs / 10 + 1, sizeof targets[0]);
    size_t nt = 0;
    for (unsigned i = 0; i < dialogs; i += 10)
        snprintf(targets[nt++], sizeof targets[0], "sip:target%u@bench.example", i);
    for (size_t i = 0; nt < n_targets; i++)
        snprintf(targets[nt++], sizeof targets[0], "sip:absent%zu@bench.example", i);
    n_targets = nt;
    qsort(targets, n_targets, sizeof targets[0], cmp_target);

    li_buf_init(&pdu_buf, 0);
    li_buf_init(&attr_buf, 0);
    siptap_opts o = { .match = match, .export_record = export_record };
    siptap *tap = siptap_new(&o);
    li_config *cfg = li_config_new();
    li_config_set(cfg, "siptap.pcap", path);
    char err[256];
    siptap_capture *cap = siptap_capture_open(cfg, err, sizeof err);
    if (!tap || !cap) {
        fprintf(stderr, "bench_siptap: %s\n", cap ? "out of memory" : err);
        return 1;
    }
    int stop[2];
    if (pipe(stop) != 0)
        return 1;
    uint64_t t0 = li_mono_ns();
    li_err rc = siptap_capture_run(cap, tap, stop[0], NULL, NULL, err, sizeof err);
    double secs = (double)(li_mono_ns() - t0) / 1e9;
    siptap_stats st;
    siptap_stats_get(tap, &st);
    printf("bench_siptap: %u dialogs (half UDP, half TCP in 2 segments per message), %zu "
           "tasks, 1 dialog in 10 tasked\n", dialogs, n_targets);
    printf("  pcap: %llu frames, %llu SIP messages, %.1f MB\n", (unsigned long long)g.frames,
           (unsigned long long)g.messages, (double)g.bytes / 1e6);
    printf("  run: %.3f s: %.0f frames/s, %.0f SIP messages/s, %.1f MB/s\n", secs,
           (double)st.packets / secs, (double)st.sip_messages / secs,
           (double)g.bytes / 1e6 / secs);
    printf("  exported %llu X2 records (%.1f MB encoded), parse errors %llu, tcp gaps %llu\n",
           (unsigned long long)st.exported, (double)exported_bytes / 1e6,
           (unsigned long long)st.parse_errors, (unsigned long long)st.tcp.gaps);
    int ok = rc == LI_OK && st.packets == g.frames && st.sip_messages == g.messages &&
             st.exported == (uint64_t)((dialogs + 9) / 10) * 6 && st.parse_errors == 0;
    if (!ok)
        fprintf(stderr, "bench_siptap: counts do not add up (rc %d)\n", rc);
    siptap_capture_close(cap);
    siptap_free(tap);
    li_config_free(cfg);
    li_buf_free(&pdu_buf);
    li_buf_free(&attr_buf);
    free(targets);
    unlink(path);
    return ok ? 0 : 1;
}
