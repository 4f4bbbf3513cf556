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
#include <signal.h>
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

/* Extra members of the next reservation's JSON object (e.g. ",\"responses\":..."). */
static const char *extra_json = "";

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
             "\"msrp://127.0.0.1:%u/%snet;tcp\"},\"target\":\"%s\"%s}",
             cema ? "true" : "false", fp_reserved, ue_path, net_port, name, target, extra_json);
    int st = rt_http(r->control, "POST", "/v1/sessions", body, resp, sizeof resp);
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
        st = rt_http(r->control, "GET", path, NULL, resp, sizeof resp);
        RT_CHECK(st == 200 && strstr(resp, "\"network\":{\"state\":\"idle\""),
                 "after a refused UE the network leg is not idle: %d %s", st, resp);
        RT_CHECK(rt_http(r->control, "DELETE", path, NULL, NULL, 0) == 204, "DELETE");
        RT_CHECK(rt_http(r->control, "DELETE", path, NULL, NULL, 0) == 404, "DELETE twice");
        res->net_rc = rt_wait(net, 200);
        char *text = NULL;
        size_t len = 0;
        int absent = rt_read_file(f[2], &text, &len) != 0;
        free(text);
        RT_CHECK(absent || len == 0, "network UE received %zu bytes", len);
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
    RT_CHECK(rt_http(r->control, "POST", "/v1/sessions", body, resp, sizeof resp) == 201,
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
    RT_CHECK(rt_http(r->control, "POST", "/v1/sessions", body, resp, sizeof resp) == 201,
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

/* How many responses in an MSRP log came from a single hop (From-Path of one URI: the
 * relay answering per RFC 4976) and how many from further away. */
static void count_response_hops(const char *file, size_t *one_hop, size_t *far)
{
    char *text;
    size_t len, off = 0;
    *one_hop = *far = 0;
    RT_CHECK(rt_read_file(file, &text, &len) == 0, "missing %s", file);
    while (off < len) {
        li_msrp_msg m;
        size_t used;
        RT_CHECK(li_msrp_parse(NULL, (uint8_t *)text + off, len - off, &m, &used) == LI_OK,
                 "%s: not MSRP", file);
        if (m.method == LI_MSRP_RESPONSE) {
            if (memchr(m.from_path.p, ' ', m.from_path.len))
                (*far)++;
            else
                (*one_hop)++;
        }
        off += used;
    }
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
    /* At-least-once (docs/PRINCIPLES.md 4): after a reconnect the sender resends what the ingest
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

/* ---- an independent oracle: tshark's 5gli and msrp dissectors on a capture of the
 * X2/X3 link (TLS, decrypted with the sender's key log). tshark does not reassemble a
 * PDU spread over several TLS records, so it decodes the small X3 PDUs (responses,
 * REPORTs, small chunks); each one it decodes must carry, in order, the direction and
 * transaction id of a message the UE sent or received. ---- */

static int oracle_available(void)
{
    return geteuid() == 0 && li_tls_keylog_available() && access("/usr/bin/dumpcap", X_OK) == 0 &&
           access("/usr/bin/tshark", X_OK) == 0;
}

/* "dir tid" lines of an MSRP log, in order. */
static size_t log_tids(const char *file, int dir, char (*out)[40], size_t max)
{
    char *text;
    size_t len, off = 0, n = 0;
    RT_CHECK(rt_read_file(file, &text, &len) == 0, "missing %s", file);
    while (off < len && n < max) {
        li_msrp_msg m;
        size_t used;
        RT_CHECK(li_msrp_parse(NULL, (uint8_t *)text + off, len - off, &m, &used) == LI_OK,
                 "%s: not MSRP", file);
        snprintf(out[n++], 40, "%d %.*s", dir, (int)m.tid.len, m.tid.p);
        off += used;
    }
    free(text);
    return n;
}

/* Writes the relay's decrypted X2/X3 stream as a pcap of one PDU per IPv4/TCP packet
 * (the 5gli dissector takes one PDU per segment); PDUs too big for one IPv4 packet are
 * left out. Returns the number of PDUs written. */
static size_t stream_to_pcap(const uint8_t *s, size_t len, uint16_t port, const char *pcap)
{
    FILE *f = fopen(pcap, "wb");
    RT_CHECK(f, "cannot write %s", pcap);
    uint32_t gh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 262144, 101 /* raw IP */ };
    fwrite(gh, 4, 6, f);
    size_t off = 0, n = 0;
    uint32_t seq = 1;
    while (len - off >= 40) {
        uint32_t hl = li_get_be32(s + off + 4), pl = li_get_be32(s + off + 8);
        if (li_get_be16(s + off) != 5 || hl < 40 || hl > len - off || pl > len - off - hl)
            break;   /* end of what was captured */
        size_t pdu = hl + pl;
        if (pdu <= 65000) {
            uint8_t h[40];
            memset(h, 0, sizeof h);
            h[0] = 0x45;
            li_put_be16(h + 2, (uint16_t)(40 + pdu));
            h[8] = 64;
            h[9] = 6;
            h[12] = 127, h[15] = 1, h[16] = 127, h[19] = 1;
            li_put_be16(h + 20, 40000);
            li_put_be16(h + 22, port);
            li_put_be32(h + 24, seq);
            h[32] = 0x50;
            h[33] = 0x18;
            li_put_be16(h + 34, 65535);
            uint32_t rh[4] = { (uint32_t)n, 0, (uint32_t)(40 + pdu), (uint32_t)(40 + pdu) };
            fwrite(rh, 4, 4, f);
            fwrite(h, 1, 40, f);
            fwrite(s + off, 1, pdu, f);
            n++;
        }
        seq += (uint32_t)pdu;
        off += pdu;
    }
    fclose(f);
    return n;
}

static void check_oracle(const char *pcap, const char *keylog, uint16_t port)
{
    char out[700], opt_keys[800], d1[64];
    snprintf(out, sizeof out, "%s/tshark-follow.txt", rt_dir());
    snprintf(opt_keys, sizeof opt_keys, "tls.keylog_file:%s", keylog);
    snprintf(d1, sizeof d1, "tcp.port==%u,tls", port);
    char *follow[] = { "/usr/bin/tshark", "-r", (char *)pcap, "-o", opt_keys, "-d", d1, "-q",
                       "-z", "follow,tls,raw,0", NULL };
    RT_CHECK(rt_wait(rt_spawn(out, follow), 120000) == 0, "tshark failed (see %s)", out);
    /* The relay's side of the stream: tshark indents the client's data with a tab. */
    char *text;
    size_t len;
    RT_CHECK(rt_read_file(out, &text, &len) == 0, "no tshark output");
    li_buf stream;
    li_buf_init(&stream, 0);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] != '\t')
            continue;
        size_t hl = strlen(line + 1);
        RT_CHECK(li_buf_reserve(&stream, hl / 2) == LI_OK, "memory");
        size_t got;
        if (li_hex_decode(line + 1, hl, 0, stream.data + stream.len, hl / 2, &got) == LI_OK)
            stream.len += got;
    }
    free(text);
    char synth[700], fields[700], dport[64];
    snprintf(synth, sizeof synth, "%s/x2x3-pdus.pcap", rt_dir());
    snprintf(fields, sizeof fields, "%s/tshark-5gli.txt", rt_dir());
    snprintf(dport, sizeof dport, "tcp.port==%u,5gli", port);
    size_t pdus = stream_to_pcap(stream.data, stream.len, port, synth);
    li_buf_free(&stream);
    char *dissect[] = { "/usr/bin/tshark", "-r", synth, "-d", dport, "-Y", "li5g.pf == 13",
                        "-T", "fields", "-e", "li5g.pd", "-e", "msrp.transaction.id", "-E",
                        "occurrence=f", NULL };
    RT_CHECK(rt_wait(rt_spawn(fields, dissect), 120000) == 0, "tshark failed (see %s)", fields);
    static char want[2][4096][40];
    size_t n_want[2];
    n_want[0] = log_tids(path_in("alice-ue.sentlog"), 3, want[0], 4096);
    n_want[1] = log_tids(path_in("alice-ue.recv"), 2, want[1], 4096);
    size_t pos[2] = { 0, 0 }, decoded = 0;
    RT_CHECK(rt_read_file(fields, &text, &len) == 0, "no tshark output");
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        int dir;
        char tid[40];
        if (sscanf(line, "%d %39s", &dir, tid) != 2)
            continue;   /* not an X3 PDU with MSRP tshark could take apart */
        RT_CHECK(dir == 2 || dir == 3, "tshark: direction %d", dir);
        int k = dir == 3 ? 0 : 1;
        char key[48];
        snprintf(key, sizeof key, "%d %s", dir, tid);
        /* In order, skipping the messages left out or not decoded. */
        while (pos[k] < n_want[k] && strcmp(want[k][pos[k]], key) != 0)
            pos[k]++;
        RT_CHECK(pos[k] < n_want[k], "tshark decoded X3 '%s' the UE never exchanged (in this order)", key);
        pos[k]++;
        decoded++;
    }
    free(text);
    /* Every response and REPORT fits one packet; a capture that dropped packets ends
     * the stream early, so ask for a good part, not all. */
    RT_CHECK(decoded >= 20, "tshark decoded only %zu X3 PDUs (%zu PDUs in the capture)",
             decoded, pdus);
    printf("relay_e2e: tshark (5gli + msrp) decoded %zu X3 PDUs of the capture, each one a "
           "message the UE exchanged, in order\n", decoded);
}

int main(void)
{
    rt_init("e2e");
    x2x3t_ingest ing;
    memset(&ing, 0, sizeof ing);
    x2x3t_ingest_start(&ing, 0, NULL);
    rt_adopt(ing.pid);
    int oracle = oracle_available();
    char pcap[700], keylog[700], extra[800], filter[64];
    snprintf(pcap, sizeof pcap, "%s/x2x3.pcapng", rt_dir());
    snprintf(keylog, sizeof keylog, "%s/x2x3.keys", rt_dir());
    snprintf(extra, sizeof extra, "[x2x3]\ntls.keylog = %s\n", keylog);
    snprintf(filter, sizeof filter, "tcp port %u", ing.port);
    pid_t cap = 0;
    if (oracle) {
        /* Capturing before the relay starts, so the TLS handshake is in the capture. */
        char *argv[] = { "/usr/bin/dumpcap", "-q", "-B", "128", "-i", "lo", "-f", filter,
                         "-w", pcap, NULL };
        cap = rt_spawn(path_in("dumpcap.log"), argv);
        for (int i = 0; i < 100 && access(pcap, F_OK) != 0; i++)
            usleep(50000);
        usleep(300000);
    } else {
        printf("relay_e2e: no dumpcap/tshark, not root or no LIMF_INSECURE_KEYLOG: tshark "
               "oracle skipped\n");
    }
    rt_relay r;
    rt_relay_start(&r, "relay", 1, 0, oracle ? extra : NULL);
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
    /* RFC 4976 hop-by-hop answers: each side gets the relay's 200s, bodies unchanged. */
    session_result frank;
    extra_json = ",\"responses\":\"hop-by-hop\"";
    run_session(&r, "frank", "sip:frank@example.com", 0, "frankcert", "frankcert", "1048576",
                &frank);
    extra_json = "";
    RT_CHECK(frank.ue_rc == 0, "frank's UE (hop-by-hop responses) exited %d", frank.ue_rc);
    size_t one_hop, far;
    count_response_hops(path_in("frank-ue.recv"), &one_hop, &far);
    RT_CHECK(one_hop > 0 && far == 0, "hop-by-hop: %zu relay answers, %zu from the far end",
             one_hop, far);
    count_response_hops(path_in("alice-ue.recv"), &one_hop, &far);
    RT_CHECK(one_hop == 0 && far > 0, "end to end: %zu relay answers, %zu from the far end",
             one_hop, far);
    run_tls_session(&r);
    run_hostile_session(&r);
    run_session(&r, "mallory", "sip:mallory@example.com", 0, "mallorycert", "expectedcert",
                "1000", &mallory);
    RT_CHECK(mallory.ue_rc == 3, "a UE with the wrong certificate was not refused (%d)",
             mallory.ue_rc);
    char stats[2048];
    RT_CHECK(rt_http(r.control, "GET", "/v1/stats", NULL, stats, sizeof stats) == 200, "stats");
    RT_CHECK(rt_json_int(stats, "tls_refused") >= 1, "tls_refused not counted: %s", stats);
    RT_CHECK(rt_relay_stop(&r) == 0, "relay exit status (see %s)", r.log);
    if (cap) {
        usleep(300000);
        kill(cap, SIGTERM);
        rt_wait(cap, 10000);
        check_oracle(pcap, keylog, ing.port);
    }

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
    rt_disown(ing.pid);
    rt_done();
    printf("relay_e2e: ok (%zu X3 records equal the UE's cleartext, untasked sessions silent)\n",
           s.x3);
    return 0;
}
