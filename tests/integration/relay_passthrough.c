/* Certificate exceptions (docs/PRINCIPLES.md 6) through the real chain: the ADMF's X1 client
 * gives limf-msrp-relay an exception for a third-party peer's certificate; a session of
 * a tasked target towards that peer is passed through as TLS bytes (the UE's TLS ends at
 * the peer, which checks the UE's own certificate), reported over X2 as a passthrough,
 * and never decrypted: no X3 and no tls-established event reach Kafka. An expired
 * exception no longer applies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "li_bytes.h"
#include "relay_util.h"
#include "x2x3_pdu.h"
#include "x2x3_util.h"

static const uint8_t XID[16] = { 0x7e, 0x1a, 0x90, 0x02, 0x22, 0x33, 0x44, 0x55,
                                 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0x02 };
static const uint8_t DID[16] = { 0xd2, 0xd2, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 2 };

typedef struct seen {
    size_t x3, passthrough, reserved, released, tls, other;
    char exception_id[64];
    uint64_t seqs[64];
    size_t n_seqs, duplicates;
} seen;

static void on_record(const Limf__XPdu *x, void *ctx)
{
    seen *s = ctx;
    /* Resent copies after a reconnect carry the same sequence number (at-least-once) in
     * the same stream: numbering is per XID and correlation ID (TS 103 221-2). */
    uint64_t cid = x->correlation_id.len == 8 ? li_get_be64(x->correlation_id.data) : 0;
    uint64_t xid = x->xid.len == 16 ? x->xid.data[15] : 0;
    uint64_t key = (cid << 32) ^ (xid << 24) ^ x->seq;
    for (size_t i = 0; x->has_seq && i < s->n_seqs; i++) {
        if (s->seqs[i] == key) {
            s->duplicates++;
            return;
        }
    }
    if (x->has_seq && s->n_seqs < 64)
        s->seqs[s->n_seqs++] = key;
    if (x->xid.len != 16 || memcmp(x->xid.data, XID, 16) != 0) {
        s->other++;
        return;
    }
    if (x->pdu_type == X2X3_PDU_X3) {
        s->x3++;
        return;
    }
    char json[1024], ev[64];
    snprintf(json, sizeof json, "%.*s", (int)x->payload.len, (const char *)x->payload.data);
    rt_json_str(json, "limf_event", ev, sizeof ev);
    if (strcmp(ev, "passthrough") == 0) {
        s->passthrough++;
        rt_json_str(json, "exception_id", s->exception_id, sizeof s->exception_id);
    }
    s->reserved += strcmp(ev, "session-reserved") == 0;
    s->released += strcmp(ev, "session-released") == 0;
    s->tls += strcmp(ev, "tls-established") == 0;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fp_bytes(const char *fp, uint8_t out[32])
{
    size_t got;
    RT_CHECK(li_hex_decode(fp + 8, strlen(fp + 8), 1, out, 32, &got) == LI_OK && got == 32,
             "fingerprint %s", fp);
}

int main(void)
{
    rt_init("passthrough");
    x2x3t_ingest ing;
    memset(&ing, 0, sizeof ing);
    x2x3t_ingest_start(&ing, 0, NULL);
    rt_adopt(ing.pid);
    rt_relay r;
    rt_relay_start(&r, "relay", 1, 0, NULL);
    rt_x1_task(r.x1_port, XID, DID, ing.port, "sip-uri", "sip:bob@example.com",
               X1_DELIVERY_X2_AND_X3);

    char ue_fp[128], peer_fp[128];
    rt_ue_cert("ue", ue_fp, sizeof ue_fp);
    rt_ue_cert("peer", peer_fp, sizeof peer_fp);
    uint8_t peer_raw[32];
    fp_bytes(peer_fp, peer_raw);
    rt_x1_exception(r.x1_port, "exc-conference-1", peer_raw, "127.0.0.1",
                    wall_ms() + 3600 * 1000);

    /* The third-party peer: a TLS server that checks the UE's certificate itself. */
    char peer_cert[700], peer_key[700], ue_cert[700], ue_key[700], f[4][700];
    snprintf(peer_cert, sizeof peer_cert, "%s/peer.pem", rt_dir());
    snprintf(peer_key, sizeof peer_key, "%s/peer.key", rt_dir());
    snprintf(ue_cert, sizeof ue_cert, "%s/ue.pem", rt_dir());
    snprintf(ue_key, sizeof ue_key, "%s/ue.key", rt_dir());
    for (int i = 0; i < 4; i++)
        snprintf(f[i], sizeof f[i], "%s/body.%d", rt_dir(), i);
    uint16_t peer_port;
    const char *peer_args[] = { "--listen", "127.0.0.1:0", "--cert", peer_cert, "--key",
                                peer_key, "--peer-fingerprint", ue_fp, "--path",
                                "msrps://127.0.0.1:9/conf;tcp", "--to", "auto", "--send",
                                "70000/9000", "--expect", "2", "--bodies", f[0],
                                "--sent-bodies", f[1], "--timeout-ms", "30000", "--linger-ms",
                                "300", NULL };
    pid_t peer = rt_ue_start("peer", peer_args, &peer_port);

    char body[2048], resp[4096];
    snprintf(body, sizeof body,
             "{\"mode\":\"as\",\"ue\":{\"transport\":\"tls\",\"fingerprint\":\"%s\","
             "\"path\":\"msrps://127.0.0.1:7/bob;tcp\"},\"network\":{\"next_hop\":"
             "\"msrps://127.0.0.1:%u/conf;tcp\",\"fingerprint\":\"%s\"},"
             "\"target\":\"sip:bob@example.com\"}",
             ue_fp, peer_port, peer_fp);
    RT_CHECK(rt_http(r.control, "POST", "/v1/sessions", body, resp, sizeof resp) == 201,
             "reserve: %s", resp);
    RT_CHECK(strstr(resp, "\"passthrough\":true"), "not passed through: %s", resp);
    char fp[128], to[512], port[32];
    rt_json_str(resp, "fingerprint", fp, sizeof fp);
    rt_json_str(resp, "ue_path", to, sizeof to);
    /* The UE is told the peer's own fingerprint: its TLS ends there. */
    RT_CHECK(strcmp(fp, peer_fp) == 0, "fingerprint for the UE %s, peer's %s", fp, peer_fp);
    snprintf(port, sizeof port, "127.0.0.1:%ld", rt_json_int(resp, "ue_port"));
    const char *ue_args[] = { "--connect", port, "--cert", ue_cert, "--key", ue_key,
                              "--peer-fingerprint", fp, "--path", "msrps://127.0.0.1:7/bob;tcp",
                              "--to", to, "--send", "4000", "--send", "50000/7000", "--expect",
                              "1", "--bodies", f[2], "--sent-bodies", f[3], "--timeout-ms",
                              "30000", "--linger-ms", "300", NULL };
    pid_t ue = rt_ue_start("ue", ue_args, NULL);
    RT_CHECK(rt_wait(ue, 40000) == 0, "UE failed (see %s/ue.err)", rt_dir());
    RT_CHECK(rt_wait(peer, 40000) == 0, "peer failed (see %s/peer.err)", rt_dir());
    for (int i = 0; i < 2; i++) {
        char *a, *b;
        size_t al, bl;
        RT_CHECK(rt_read_file(f[i == 0 ? 3 : 1], &a, &al) == 0 &&
                     rt_read_file(f[i == 0 ? 0 : 2], &b, &bl) == 0 && al == bl && al > 0 &&
                     memcmp(a, b, al) == 0,
                 "bodies differ through the passthrough");
        free(a);
        free(b);
    }

    /* An exception that has expired no longer applies: the session is anchored. */
    uint8_t other_raw[32];
    memset(other_raw, 0x5c, 32);
    rt_x1_exception(r.x1_port, "exc-short", other_raw, "127.0.0.2", wall_ms() + 1000);
    usleep(1500 * 1000);
    snprintf(body, sizeof body,
             "{\"mode\":\"as\",\"ue\":{\"transport\":\"tls\",\"fingerprint\":\"%s\","
             "\"path\":\"msrps://127.0.0.1:7/bob2;tcp\"},\"network\":{\"next_hop\":"
             "\"msrps://127.0.0.2:9/x;tcp\",\"fingerprint\":\"sha-256 %s\"},"
             "\"target\":\"sip:carol@example.com\"}",
             ue_fp, "5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C:5C");
    RT_CHECK(rt_http(r.control, "POST", "/v1/sessions", body, resp, sizeof resp) == 201,
             "reserve: %s", resp);
    RT_CHECK(strstr(resp, "\"passthrough\":false"), "expired exception applied: %s", resp);
    RT_CHECK(rt_relay_stop(&r) == 0, "relay exit (see %s)", r.log);

    seen s;
    memset(&s, 0, sizeof s);
    size_t got = x2x3t_consume(3, 30, 2000, on_record, &s) - s.duplicates;
    RT_CHECK(got == 3 && s.passthrough == 1 && s.reserved == 1 && s.released == 1,
             "X2: %zu records, passthrough %zu reserved %zu released %zu", got, s.passthrough,
             s.reserved, s.released);
    RT_CHECK(strcmp(s.exception_id, "exc-conference-1") == 0, "exception id %s", s.exception_id);
    RT_CHECK(s.x3 == 0 && s.tls == 0 && s.other == 0, "decrypted? X3 %zu tls events %zu", s.x3,
             s.tls);
    x2x3t_ingest_stop(&ing, 15);
    rt_disown(ing.pid);
    rt_done();
    printf("relay_passthrough: passed through under the exception, reported, never decrypted\n");
    return 0;
}
