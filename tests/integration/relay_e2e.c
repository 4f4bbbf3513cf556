/* limf-msrp-relay end to end, with real parts only: two limf-test-ue processes speak
 * MSRP through the relay (the UE over TLS with a self-signed certificate, the network
 * side over TCP), the relay is tasked over X1 by the real X1 client, and its X2/X3 goes
 * through a real limf-ingest into the real Kafka broker, where this test reads it.
 * Checks:
 *   - bodies byte-identical end to end, both directions, whole / chunked / 1 MB;
 *   - CEMA: every message arrives byte-identical (headers too);
 *   - a UE whose certificate does not match the reserved fingerprint is refused and the
 *     network side never hears of it;
 *   - the X3 of the tasked session equals, byte for byte and in order, what the UE sent
 *     (from target) and received (to target); X2 reports reserved / tls-established /
 *     released with the UE's fingerprint; one correlation ID; attribute 17;
 *   - the untasked sessions produce no X2/X3 at all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "li_bytes.h"
#include "li_msrp.h"
#include "li_tls.h"
#include "relay_util.h"
#include "x2x3_pdu.h"
#include "x2x3_util.h"

static const uint8_t XID[16] = { 0x7e, 0x1a, 0x90, 0x01, 0x22, 0x33, 0x44, 0x55,
                                 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0x01 };
static const uint8_t DID[16] = { 0xd2, 0xd1, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 1 };

typedef struct session_result {
    char id[64];
    char ue_fp[128];
    int ue_rc, net_rc;
} session_result;

static char *path_in(const char *name)
{
    static char buf[8][700];
    static int i;
    char *p = buf[i++ % 8];
    snprintf(p, 700, "%s/%s", rt_dir(), name);
    return p;
}

static void files_equal(const char *a, const char *b, size_t min_len)
{
    char *x, *y;
    size_t xl, yl;
    RT_CHECK(rt_read_file(a, &x, &xl) == 0 && rt_read_file(b, &y, &yl) == 0, "missing %s/%s", a, b);
    RT_CHECK(xl == yl && memcmp(x, y, xl) == 0, "%s (%zu bytes) differs from %s (%zu bytes)", a,
             xl, b, yl);
    RT_CHECK(xl >= min_len, "%s holds only %zu bytes", a, xl);
    free(x);
    free(y);
}

/* One session: network UE listening on TCP, reservation, UE over TLS presenting the
 * certificate `present` while `reserved` was reserved. */
static void run_session(const rt_relay *r, const char *name, const char *target, int cema,
                        const char *present, const char *reserved, const char *big,
                        session_result *res)
{
    char n[64], fp_present[128], fp_reserved[128];
    snprintf(n, sizeof n, "%s-ue", name);
    rt_ue_cert(present, fp_present, sizeof fp_present);
    if (strcmp(present, reserved) != 0)
        rt_ue_cert(reserved, fp_reserved, sizeof fp_reserved);
    else
        snprintf(fp_reserved, sizeof fp_reserved, "%s", fp_present);
    snprintf(res->ue_fp, sizeof res->ue_fp, "%s", fp_present);

    char net_path[128], ue_path[128], f[12][700];
    snprintf(net_path, sizeof net_path, "msrp://127.0.0.1:9/%snet;tcp", name);
    snprintf(ue_path, sizeof ue_path, "msrps://127.0.0.1:7/%sue;tcp", name);
    const char *names[] = { "net.bodies", "net.sent", "net.recv", "net.sentlog",
                            "ue.bodies", "ue.sent", "ue.recv", "ue.sentlog" };
    for (int i = 0; i < 8; i++)
        snprintf(f[i], sizeof f[i], "%s/%s-%s", rt_dir(), name, names[i]);
    uint16_t net_port;
    char netname[64];
    snprintf(netname, sizeof netname, "%s-net", name);
    const char *net_args[] = { "--listen", "127.0.0.1:0", "--tcp", "--path", net_path,
                               "--to", "auto", "--send", "1000", "--send", "300000/7000",
                               "--send", big, "--expect", "3", "--bodies", f[0],
                               "--sent-bodies", f[1], "--recv-log", f[2], "--sent-log", f[3],
                               "--timeout-ms", "30000", "--linger-ms", "300", NULL };
    pid_t net = rt_ue_start(netname, net_args, &net_port);

    char body[2048], resp[4096];
    snprintf(body, sizeof body,
             "{\"mode\":\"agw\",\"cema\":%s,\"ue\":{\"transport\":\"tls\",\"fingerprint\":\"%s\","
             "\"setup\":\"active\",\"path\":\"%s\"},\"network\":{\"next_hop\":"
             "\"msrp://127.0.0.1:%u/%snet;tcp\"},\"target\":\"%s\"}",
             cema ? "true" : "false", fp_reserved, ue_path, net_port, name, target);
    int st = rt_http(r->control_port, "POST", "/v1/sessions", body, resp, sizeof resp);
    RT_CHECK(st == 201, "reserve %s: %d %s", name, st, resp);
    char to[1024], relay_fp[128], port[16];
    rt_json_str(resp, "session", res->id, sizeof res->id);
    rt_json_str(resp, "ue_path", to, sizeof to);
    rt_json_str(resp, "fingerprint", relay_fp, sizeof relay_fp);
    snprintf(port, sizeof port, "127.0.0.1:%ld", rt_json_int(resp, "ue_port"));
    if (cema) {
        /* RFC 6714: the endpoints keep each other's paths. */
        char want[128];
        snprintf(want, sizeof want, "msrp://127.0.0.1:%u/%snet;tcp", net_port, name);
        RT_CHECK(strcmp(to, want) == 0, "CEMA ue_path %s", to);
    }

    char cert[700], key[700];
    snprintf(cert, sizeof cert, "%s/%s.pem", rt_dir(), present);
    snprintf(key, sizeof key, "%s/%s.key", rt_dir(), present);
    const char *ue_args[] = { "--connect", port, "--cert", cert, "--key", key,
                              "--peer-fingerprint", relay_fp, "--path", ue_path, "--to", to,
                              "--send", "5000", "--send", "100000/4096", "--send", big,
                              "--report", "--expect", "3", "--bodies", f[4], "--sent-bodies",
                              f[5], "--recv-log", f[6], "--sent-log", f[7], "--timeout-ms",
                              "30000", "--linger-ms", "300", NULL };
    pid_t ue = rt_ue_start(n, ue_args, NULL);
    res->ue_rc = rt_wait(ue, 40000);
    if (res->ue_rc != 0) {
        /* Refused: the network side must never have been reached. */
        usleep(300 * 1000);
        char path[128];
        snprintf(path, sizeof path, "/v1/sessions/%s", res->id);
        st = rt_http(r->control_port, "GET", path, NULL, resp, sizeof resp);
        RT_CHECK(st == 200 && strstr(resp, "\"network\":{\"state\":\"idle\""),
                 "after a refused UE the network leg is not idle: %d %s", st, resp);
        RT_CHECK(rt_http(r->control_port, "DELETE", path, NULL, NULL, 0) == 204, "DELETE");
        RT_CHECK(rt_http(r->control_port, "DELETE", path, NULL, NULL, 0) == 404, "DELETE twice");
        res->net_rc = rt_wait(net, 200);
        char *text;
        size_t len;
        RT_CHECK(rt_read_file(f[2], &text, &len) != 0 || len == 0, "network UE received %zu bytes", len);
        return;
    }
    res->net_rc = rt_wait(net, 40000);
    RT_CHECK(res->net_rc == 0, "network UE of %s exited %d", name, res->net_rc);
    /* Bodies byte-identical both ways (1 MB, chunked, whole). */
    files_equal(f[5], f[0], 5000 + 100000 + strtoul(big, NULL, 10));
    files_equal(f[1], f[4], 1000 + 300000 + strtoul(big, NULL, 10));
    if (cema) {
        /* Transparent: every message byte-identical, headers included. */
        files_equal(f[7], f[2], 0);
        files_equal(f[3], f[6], 0);
    }
}

/* as mode with both legs TLS, the UE passive (a=setup:passive: the relay connects to
 * it as TLS client) and the network side a TLS server checking the relay's certificate
 * by fingerprint, as an anchoring AS towards a conference focus would. */
static void run_tls_session(const rt_relay *r)
{
    char ue_fp[128], peer_fp[128], relay_fp[128], hex[96];
    rt_ue_cert("davecert", ue_fp, sizeof ue_fp);
    rt_ue_cert("davepeer", peer_fp, sizeof peer_fp);
    char pem[700];
    uint8_t raw[32];
    snprintf(pem, sizeof pem, "%s/relay-agw.pem", rt_pki());
    RT_CHECK(li_tls_file_fingerprint(pem, raw) == LI_OK, "relay certificate");
    li_tls_fingerprint_format(raw, hex);
    snprintf(relay_fp, sizeof relay_fp, "sha-256 %s", hex);
    const char *n[4] = { path_in("dave.0"), path_in("dave.1"), path_in("dave.2"),
                         path_in("dave.3") };
    char tofile[700], c[2][700], k[2][700];
    snprintf(tofile, sizeof tofile, "@%s/dave.to", rt_dir());
    for (int i = 0; i < 2; i++) {
        snprintf(c[i], sizeof c[i], "%s/%s.pem", rt_dir(), i ? "davepeer" : "davecert");
        snprintf(k[i], sizeof k[i], "%s/%s.key", rt_dir(), i ? "davepeer" : "davecert");
    }
    char f[4][700];
    for (int i = 0; i < 4; i++)
        snprintf(f[i], sizeof f[i], "%s", n[i]);
    uint16_t net_port, ue_port;
    const char *net_args[] = { "--listen", "127.0.0.1:0", "--cert", c[1], "--key", k[1],
                               "--peer-fingerprint", relay_fp, "--path",
                               "msrps://127.0.0.1:9/davenet;tcp", "--to", "auto", "--send",
                               "200000/16000", "--expect", "1", "--bodies", f[0],
                               "--sent-bodies", f[1], "--timeout-ms", "30000", "--linger-ms",
                               "300", NULL };
    pid_t net = rt_ue_start("dave-net", net_args, &net_port);
    char ue_path[128];
    const char *ue_args[] = { "--listen", "127.0.0.1:0", "--cert", c[0], "--key", k[0],
                              "--peer-fingerprint", relay_fp, "--path",
                              "msrps://127.0.0.1:7/daveue;tcp", "--to", tofile, "--send",
                              "7000", "--send", "90000/3000", "--expect", "1", "--bodies",
                              f[2], "--sent-bodies", f[3], "--timeout-ms", "30000",
                              "--linger-ms", "300", NULL };
    pid_t ue = rt_ue_start("dave-ue", ue_args, &ue_port);
    snprintf(ue_path, sizeof ue_path, "msrps://127.0.0.1:%u/daveue;tcp", ue_port);
    char body[2048], resp[4096];
    snprintf(body, sizeof body,
             "{\"mode\":\"as\",\"tls_only\":true,\"ue\":{\"transport\":\"tls\",\"fingerprint\":"
             "\"%s\",\"setup\":\"passive\",\"path\":\"%s\"},\"network\":{\"next_hop\":"
             "\"msrps://127.0.0.1:%u/davenet;tcp\",\"fingerprint\":\"%s\"},"
             "\"target\":\"sip:dave@example.com\"}",
             ue_fp, ue_path, net_port, peer_fp);
    RT_CHECK(rt_http(r->control_port, "POST", "/v1/sessions", body, resp, sizeof resp) == 201,
             "reserve dave: %s", resp);
    RT_CHECK(strstr(resp, "\"passthrough\":false"), "dave passed through: %s", resp);
    char to[1024];
    rt_json_str(resp, "ue_path", to, sizeof to);
    FILE *tf = fopen(tofile + 1, "w");
    RT_CHECK(tf, "cannot write %s", tofile + 1);
    fprintf(tf, "%s\n", to);
    fclose(tf);
    RT_CHECK(rt_wait(ue, 40000) == 0, "dave's passive UE failed (see %s/dave-ue.err)", rt_dir());
    RT_CHECK(rt_wait(net, 40000) == 0, "dave's TLS peer failed (see %s/dave-net.err)", rt_dir());
    files_equal(f[3], f[0], 97000);
    files_equal(f[1], f[2], 200000);
}

/* A UE with the right certificate that speaks garbage: the relay ends that session
 * (nothing reaches the network side) and goes on serving the others. */
static void run_hostile_session(const rt_relay *r)
{
    char fp[128], relay_fp[128], hex[96], pem[700];
    uint8_t raw[32];
    rt_ue_cert("evecert", fp, sizeof fp);
    snprintf(pem, sizeof pem, "%s/relay-agw.pem", rt_pki());
    RT_CHECK(li_tls_file_fingerprint(pem, raw) == LI_OK, "relay certificate");
    li_tls_fingerprint_format(raw, hex);
    snprintf(relay_fp, sizeof relay_fp, "sha-256 %s", hex);
    const char *garbage_file = path_in("eve.garbage");
    FILE *g = fopen(garbage_file, "wb");
    RT_CHECK(g, "cannot write %s", garbage_file);
    fputs("MSRP eve1 SEND\r\nTo-Path: msrps://x/y;tcp\r\nFrom-Path: msrps://a/b;tcp\r\n"
          "Content-Type: text/plain\x01\r\n\r\nhello\r\n-------eve1$\r\n", g);
    fclose(g);
    const char *net_recv = path_in("eve-net.recv");
    uint16_t net_port;
    const char *net_args[] = { "--listen", "127.0.0.1:0", "--tcp", "--path",
                               "msrp://127.0.0.1:9/evenet;tcp", "--expect", "1", "--recv-log",
                               net_recv, "--timeout-ms", "4000", NULL };
    pid_t net = rt_ue_start("eve-net", net_args, &net_port);
    char body[1024], resp[4096], port[32], cert[700], key[700];
    snprintf(body, sizeof body,
             "{\"ue\":{\"fingerprint\":\"%s\",\"path\":\"msrps://127.0.0.1:7/eveue;tcp\"},"
             "\"network\":{\"next_hop\":\"msrp://127.0.0.1:%u/evenet;tcp\"},"
             "\"target\":\"sip:eve@example.com\"}", fp, net_port);
    RT_CHECK(rt_http(r->control_port, "POST", "/v1/sessions", body, resp, sizeof resp) == 201,
             "reserve eve: %s", resp);
    snprintf(port, sizeof port, "127.0.0.1:%ld", rt_json_int(resp, "ue_port"));
    snprintf(cert, sizeof cert, "%s/evecert.pem", rt_dir());
    snprintf(key, sizeof key, "%s/evecert.key", rt_dir());
    const char *ue_args[] = { "--connect", port, "--cert", cert, "--key", key,
                              "--peer-fingerprint", relay_fp, "--path",
                              "msrps://127.0.0.1:7/eveue;tcp", "--raw-first", garbage_file,
                              "--expect", "1", "--timeout-ms", "10000", NULL };
    pid_t ue = rt_ue_start("eve-ue", ue_args, NULL);
    RT_CHECK(rt_wait(ue, 15000) == 3, "the relay did not close a UE sending garbage");
    rt_wait(net, 10000);
    char *text = NULL;
    size_t len = 0;
    RT_CHECK(rt_read_file(net_recv, &text, &len) != 0 || len == 0,
             "garbage reached the network side (%zu bytes)", len);
    free(text);
}

/* ---- what Kafka holds ---- */

typedef struct seen {
    li_buf from_target, to_target;
    size_t x2, x3, other_xid;
    int reserved, released, tls_ue;
    uint64_t correlation;
    int correlation_mismatch, bad_target, bad_addr;
    char session[64], ue_fp[128];
    uint32_t seqs[4096];
    size_t n_seqs, duplicates;
} seen;

static void on_record(const Limf__XPdu *x, void *ctx)
{
    seen *s = ctx;
    if (x->xid.len != 16 || memcmp(x->xid.data, XID, 16) != 0) {
        s->other_xid++;
        return;
    }
    /* At-least-once (contracts.md): after a reconnect the sender resends what the ingest
     * had not acknowledged, as identical copies with the same sequence number. */
    for (size_t i = 0; x->has_seq && i < s->n_seqs; i++) {
        if (s->seqs[i] == x->seq) {
            s->duplicates++;
            return;
        }
    }
    if (x->has_seq && s->n_seqs < sizeof s->seqs / sizeof s->seqs[0])
        s->seqs[s->n_seqs++] = x->seq;
    uint64_t corr = x->correlation_id.len == 8 ? li_get_be64(x->correlation_id.data) : 0;
    if (!s->correlation)
        s->correlation = corr;
    else if (corr != s->correlation)
        s->correlation_mismatch++;
    if (x->n_matched_targets != 1 || !strcasestr(x->matched_targets[0], "alice@example.com"))
        s->bad_target++;
    if (x->pdu_type == X2X3_PDU_X3) {
        s->x3++;
        if (x->payload_format != X2X3_FORMAT_MSRP || x->ip_protocol != 6 || x->src_port == 0 ||
            x->dst_port == 0 || x->src_addr.len != 4)
            s->bad_addr++;
        li_buf *b = x->payload_direction == X2X3_DIR_FROM_TARGET ? &s->from_target : &s->to_target;
        li_buf_append(b, x->payload.data, x->payload.len);
        return;
    }
    s->x2++;
    char json[1024];
    snprintf(json, sizeof json, "%.*s", (int)x->payload.len, (const char *)x->payload.data);
    char ev[64], sess[64], fp[128], leg[16];
    rt_json_str(json, "limf_event", ev, sizeof ev);
    rt_json_str(json, "session", sess, sizeof sess);
    rt_json_str(json, "fingerprint", fp, sizeof fp);
    rt_json_str(json, "leg", leg, sizeof leg);
    if (strcmp(ev, "session-reserved") == 0 && strcmp(sess, s->session) == 0)
        s->reserved++;
    if (strcmp(ev, "session-released") == 0 && strcmp(sess, s->session) == 0)
        s->released++;
    /* The fingerprint reported is the UE's own (without the "sha-256 " prefix). */
    if (strcmp(ev, "tls-established") == 0 && strcmp(leg, "ue") == 0 &&
        strcmp(fp, s->ue_fp + 8) == 0)
        s->tls_ue++;
}

static size_t count_messages(const char *file)
{
    char *text;
    size_t len, off = 0, n = 0;
    RT_CHECK(rt_read_file(file, &text, &len) == 0, "missing %s", file);
    while (off < len) {
        li_msrp_msg m;
        size_t used;
        RT_CHECK(li_msrp_parse(NULL, (uint8_t *)text + off, len - off, &m, &used) == LI_OK,
                 "%s: not MSRP at %zu", file, off);
        off += used;
        n++;
    }
    free(text);
    return n;
}

static void buf_equals_file(const li_buf *b, const char *file)
{
    char *text;
    size_t len;
    RT_CHECK(rt_read_file(file, &text, &len) == 0, "missing %s", file);
    RT_CHECK(b->len == len && memcmp(b->data, text, len) == 0,
             "X3 (%zu bytes) differs from %s (%zu bytes)", b->len, file, len);
    free(text);
}

int main(void)
{
    rt_init("e2e");
    x2x3t_ingest ing;
    memset(&ing, 0, sizeof ing);
    x2x3t_ingest_start(&ing, 0, NULL);
    rt_relay r;
    rt_relay_start(&r, "relay", 1, ing.port, NULL);
    rt_x1_task(r.x1_port, XID, DID, ing.port, "sip-uri", "sip:Alice@Example.COM",
               X1_DELIVERY_X2_AND_X3);

    session_result alice, bob, carol, mallory;
    /* Kafka's default message.max.bytes (1 MB) bounds one X3 record, hence the tapped
     * session's largest message is 900 kB; the untasked ones carry 1 MiB. */
    run_session(&r, "alice", "Alice <sip:Alice@Example.com;transport=tcp>;tag=1", 0, "alicecert",
                "alicecert", "900000", &alice);
    RT_CHECK(alice.ue_rc == 0, "alice's UE exited %d", alice.ue_rc);
    run_session(&r, "bob", "sip:bob@example.com", 0, "bobcert", "bobcert", "1048576", &bob);
    RT_CHECK(bob.ue_rc == 0, "bob's UE exited %d", bob.ue_rc);
    run_session(&r, "carol", "tel:+49301234", 1, "carolcert", "carolcert", "1048576", &carol);
    RT_CHECK(carol.ue_rc == 0, "carol's UE (CEMA) exited %d", carol.ue_rc);
    run_tls_session(&r);
    run_hostile_session(&r);
    run_session(&r, "mallory", "sip:mallory@example.com", 0, "mallorycert", "expectedcert",
                "1000", &mallory);
    RT_CHECK(mallory.ue_rc == 3, "a UE with the wrong certificate was not refused (%d)",
             mallory.ue_rc);
    char stats[2048];
    RT_CHECK(rt_http(r.control_port, "GET", "/v1/stats", NULL, stats, sizeof stats) == 200, "stats");
    RT_CHECK(rt_json_int(stats, "tls_refused") >= 1, "tls_refused not counted: %s", stats);
    RT_CHECK(rt_relay_stop(&r) == 0, "relay exit status (see %s)", r.log);

    /* Kafka: exactly the tasked session, nothing of the others. */
    seen s;
    memset(&s, 0, sizeof s);
    li_buf_init(&s.from_target, 0);
    li_buf_init(&s.to_target, 0);
    snprintf(s.session, sizeof s.session, "%s", alice.id);
    snprintf(s.ue_fp, sizeof s.ue_fp, "%s", alice.ue_fp);
    size_t x3_expected = count_messages(path_in("alice-ue.sentlog")) +
                         count_messages(path_in("alice-ue.recv"));
    size_t expected = x3_expected + 3;
    size_t got = x2x3t_consume(expected, 30, 2000, on_record, &s) - s.duplicates;
    RT_CHECK(got == expected,
             "Kafka holds %zu records, expected %zu (X3 %zu, X2 %zu: reserved %d, released %d, "
             "tls %d)", got, expected, s.x3, s.x2, s.reserved, s.released, s.tls_ue);
    RT_CHECK(s.other_xid == 0, "%zu records of other XIDs", s.other_xid);
    RT_CHECK(s.x3 == x3_expected, "X3 records %zu, expected %zu", s.x3, x3_expected);
    RT_CHECK(s.reserved == 1 && s.released == 1 && s.tls_ue == 1,
             "X2 events: reserved %d released %d tls-established(ue) %d", s.reserved,
             s.released, s.tls_ue);
    RT_CHECK(!s.correlation_mismatch && s.correlation, "correlation IDs differ");
    RT_CHECK(!s.bad_target && !s.bad_addr, "attribute 17 or addresses wrong");
    buf_equals_file(&s.from_target, path_in("alice-ue.sentlog"));
    buf_equals_file(&s.to_target, path_in("alice-ue.recv"));
    li_buf_free(&s.from_target);
    li_buf_free(&s.to_target);
    x2x3t_ingest_stop(&ing, 15);
    rt_cleanup();
    printf("relay_e2e: ok (%zu X3 records equal the UE's cleartext, untasked sessions silent)\n",
           s.x3);
    return 0;
}
