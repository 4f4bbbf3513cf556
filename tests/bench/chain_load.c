/* limf-chain-load: a load generator that plays a point of interception for the
 * whole-chain benchmark and tests. Over a real X2/X3 sender (mutual TLS to limf-ingest)
 * it sends, per session, the X2 SIP of a complete MSRP session (INVITE with an MSRP SDP
 * offer, 200 OK with the answer, ACK, BYE, 200 OK) and N X3 MSRP SEND messages
 * alternating direction, all under one task XID and one correlation ID.
 *
 *   limf-chain-load -c sender.conf [-o key=value]... with keys:
 *     load.xid         task XID (UUID text, required)
 *     load.target      the target's SIP URI (default sip:alice@example.com)
 *     load.sessions    number of sessions (default 1000)
 *     load.msrp        MSRP messages per session (default 10)
 *     load.body        MSRP body bytes (default 200)
 *     load.rate        records per second, 0 = as fast as the sender takes them
 *     load.concurrent  sessions open at the same time (default 100)
 *     load.id          a label that makes Call-IDs and session-ids unique per run
 *   and the sender's keys under x2x3.* (x2x3_sender.h).
 * Prints one JSON line: sessions, records sent (X2 + X3), expected HI records, elapsed
 * seconds, and the sender's counters. Exit 1 when any record was dropped. */
#include <inttypes.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "li_bytes.h"
#include "li_config.h"
#include "li_log.h"
#include "li_time.h"
#include "x2x3_sender.h"

typedef struct load {
    x2x3_sender *sender;
    uint8_t xid[16];
    const char *target;
    const char *id;
    int64_t body;
    uint64_t sent;
    uint64_t rate;
    uint64_t start_ns;
    li_buf msg;
} load;

/* Paces to load.rate and keeps the sender's buffer below half its size, so that the
 * benchmark measures the chain and never provokes drops. */
static void pace(load *l)
{
    if (l->rate) {
        uint64_t due = l->start_ns + l->sent * 1000000000ull / l->rate;
        uint64_t now = li_mono_ns();
        if (due > now) {
            struct timespec ts = { (time_t)((due - now) / 1000000000u),
                                   (long)((due - now) % 1000000000u) };
            nanosleep(&ts, NULL);
        }
    }
    x2x3_sender_stats st;
    x2x3_sender_stats_get(l->sender, &st);
    while (st.buffered_bytes > 24u * 1024 * 1024) {
        usleep(1000);
        x2x3_sender_stats_get(l->sender, &st);
    }
}

static void addr4(x2x3_addr *a, uint8_t last, uint16_t port)
{
    memset(a, 0, sizeof *a);
    a->family = AF_INET;
    a->addr[0] = 10;
    a->addr[3] = last;
    a->port = port;
}

static int send_record(load *l, uint16_t type, uint16_t format, uint16_t dir, uint64_t cid,
                       int from_a)
{
    const char *targets[] = { l->target };
    x2x3_record r = { 0 };
    r.pdu_type = type;
    r.payload_format = format;
    r.payload_direction = dir;
    memcpy(r.xid, l->xid, 16);
    r.correlation_id = cid;
    addr4(&r.src, from_a ? 1 : 2, type == X2X3_PDU_X2 ? 5060 : 2855);
    addr4(&r.dst, from_a ? 2 : 1, type == X2X3_PDU_X2 ? 5060 : 2855);
    r.ip_protocol = 6;
    r.matched_targets = targets;
    r.n_matched_targets = 1;
    r.payload = l->msg.data;
    r.payload_len = l->msg.len;
    pace(l);
    li_err err = x2x3_sender_send(l->sender, &r);
    if (err != LI_OK) {
        fprintf(stderr, "send: %s\n", li_err_str(err));
        return -1;
    }
    l->sent++;
    return 0;
}

static const char *const sip_methods[] = { "INVITE", "200-INVITE", "ACK", "BYE", "200-BYE" };

/* Builds SIP message `step` (0..4) of session n into l->msg. */
static void build_sip(load *l, uint64_t n, int step)
{
    li_buf *b = &l->msg;
    li_buf_reset(b);
    char sdp[512];
    int offer = step == 0, answer = step == 1;
    int sdp_len = 0;
    if (offer || answer)
        sdp_len = snprintf(sdp, sizeof sdp,
                           "v=0\r\no=- %" PRIu64 " 1 IN IP4 10.0.0.%d\r\ns=-\r\n"
                           "c=IN IP4 10.0.0.%d\r\nt=0 0\r\nm=message 2855 TCP/TLS/MSRP *\r\n"
                           "a=accept-types:text/plain\r\n"
                           "a=path:msrps://10.0.0.%d:2855/%s-%" PRIu64 "-%c;tcp\r\n"
                           "a=setup:%s\r\n",
                           n, offer ? 1 : 2, offer ? 1 : 2, offer ? 1 : 2, l->id, n,
                           offer ? 'a' : 'b', offer ? "actpass" : "passive");
    const char *method = strchr(sip_methods[step], '-') ? NULL : sip_methods[step];
    int cseq = step >= 3 ? 2 : 1;
    if (method)
        li_buf_printf(b, "%s sip:bob-%" PRIu64 "@example.com SIP/2.0\r\n", method, n);
    else
        li_buf_printf(b, "SIP/2.0 200 OK\r\n");
    li_buf_printf(b,
                  "Via: SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK-%s-%" PRIu64 "-%d\r\n"
                  "From: <%s>;tag=a%" PRIu64 "\r\n"
                  "To: <sip:bob-%" PRIu64 "@example.com>%s\r\n"
                  "Call-ID: %s-%" PRIu64 "@limf.bench\r\n"
                  "CSeq: %d %s\r\n"
                  "P-Asserted-Identity: <%s>\r\n"
                  "Contact: <sip:10.0.0.%d:5060;transport=tcp>\r\n",
                  l->id, n, step, l->target, n, n, step == 0 ? "" : ";tag=b", l->id, n,
                  cseq, step >= 3 ? "BYE" : step == 2 ? "ACK" : "INVITE", l->target,
                  step == 1 || step == 4 ? 2 : 1);
    if (sdp_len)
        li_buf_printf(b, "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
                      sdp_len, sdp);
    else
        li_buf_printf(b, "Content-Length: 0\r\n\r\n");
}

static void build_msrp(load *l, uint64_t n, int k, int from_a)
{
    li_buf *b = &l->msg;
    li_buf_reset(b);
    li_buf_printf(b,
                  "MSRP t%" PRIu64 "x%d SEND\r\n"
                  "To-Path: msrps://10.0.0.%d:2855/%s-%" PRIu64 "-%c;tcp\r\n"
                  "From-Path: msrps://10.0.0.%d:2855/%s-%" PRIu64 "-%c;tcp\r\n"
                  "Message-ID: m%" PRIu64 "x%d\r\nByte-Range: 1-%" PRId64 "/%" PRId64 "\r\n"
                  "Content-Type: text/plain\r\n\r\n",
                  n, k, from_a ? 2 : 1, l->id, n, from_a ? 'b' : 'a', from_a ? 1 : 2, l->id,
                  n, from_a ? 'a' : 'b', n, k, l->body, l->body);
    for (int64_t i = 0; i < l->body; i++)
        li_buf_append_u8(b, (uint8_t)('a' + (n + (uint64_t)k + (uint64_t)i) % 26));
    li_buf_printf(b, "\r\n-------t%" PRIu64 "x%d$\r\n", n, k);
}

int main(int argc, char **argv)
{
    li_config *cfg = li_config_new();
    char errstr[512];
    if (!cfg || li_config_from_args(cfg, "limf-chain-load", argc, argv, NULL) != LI_OK)
        return 2;
    load l = { 0 };
    int64_t sessions, msrp, rate, concurrent;
    const char *xid = li_config_get(cfg, "load.xid", NULL);
    if (!xid || li_uuid_parse(xid, l.xid) != LI_OK ||
        li_config_get_int(cfg, "load.sessions", 1000, 1, 100000000, &sessions, errstr,
                          sizeof errstr) ||
        li_config_get_int(cfg, "load.msrp", 10, 0, 100000, &msrp, errstr, sizeof errstr) ||
        li_config_get_int(cfg, "load.body", 200, 1, 1 << 20, &l.body, errstr, sizeof errstr) ||
        li_config_get_int(cfg, "load.rate", 0, 0, 10000000, &rate, errstr, sizeof errstr) ||
        li_config_get_int(cfg, "load.concurrent", 100, 1, 1000000, &concurrent, errstr,
                          sizeof errstr)) {
        fprintf(stderr, "limf-chain-load: load.xid (UUID) is required; %s\n", errstr);
        return 2;
    }
    l.target = li_config_get(cfg, "load.target", "sip:alice@example.com");
    l.id = li_config_get(cfg, "load.id", "s");
    l.rate = (uint64_t)rate;
    li_buf_init(&l.msg, 0);
    l.sender = x2x3_sender_new(cfg, "x2x3", errstr, sizeof errstr);
    if (!l.sender) {
        fprintf(stderr, "limf-chain-load: %s\n", errstr);
        return 2;
    }
    l.start_ns = li_mono_ns();
    int failed = 0;
    /* Sessions run in waves of `concurrent`: all INVITE/200/ACK, then the MSRP of every
     * session interleaved, then all BYE/200, as a busy POI would see them. */
    for (uint64_t first = 0; first < (uint64_t)sessions && !failed; first += (uint64_t)concurrent) {
        uint64_t last = first + (uint64_t)concurrent;
        if (last > (uint64_t)sessions)
            last = (uint64_t)sessions;
        for (int step = 0; step < 3 && !failed; step++)
            for (uint64_t n = first; n < last && !failed; n++) {
                build_sip(&l, n, step);
                failed = send_record(&l, X2X3_PDU_X2, X2X3_FORMAT_SIP, X2X3_DIR_UNKNOWN, n + 1,
                                     step != 1);
            }
        for (int k = 0; k < msrp && !failed; k++)
            for (uint64_t n = first; n < last && !failed; n++) {
                int from_a = k % 2 == 0;
                build_msrp(&l, n, k, from_a);
                failed = send_record(&l, X2X3_PDU_X3, X2X3_FORMAT_MSRP,
                                     from_a ? X2X3_DIR_FROM_TARGET : X2X3_DIR_TO_TARGET, n + 1,
                                     from_a);
            }
        for (int step = 3; step < 5 && !failed; step++)
            for (uint64_t n = first; n < last && !failed; n++) {
                build_sip(&l, n, step);
                failed = send_record(&l, X2X3_PDU_X2, X2X3_FORMAT_SIP, X2X3_DIR_UNKNOWN, n + 1,
                                     step == 3);
            }
    }
    li_err flushed = x2x3_sender_flush(l.sender, 120000);
    double elapsed = (double)(li_mono_ns() - l.start_ns) / 1e9;
    x2x3_sender_stats st;
    x2x3_sender_stats_get(l.sender, &st);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    printf("{\"sessions\":%" PRId64 ",\"records\":%" PRIu64 ",\"expected_hi\":%" PRIu64
           ",\"elapsed_s\":%.3f,\"records_per_s\":%.0f,\"dropped\":%" PRIu64
           ",\"reconnects\":%" PRIu64 ",\"acked\":%" PRIu64 ",\"flushed\":%s,\"cpu_s\":%.3f}\n",
           sessions, l.sent, l.sent, elapsed, (double)l.sent / elapsed, st.dropped_pdus,
           st.reconnects, st.acked_pdus, flushed == LI_OK ? "true" : "false", cpu);
    x2x3_sender_free(l.sender);
    li_buf_free(&l.msg);
    li_config_free(cfg);
    return failed || st.dropped_pdus || flushed != LI_OK ? 1 : 0;
}
