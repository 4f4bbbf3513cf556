/* TLS session resumption must not carry a UE past another reservation's fingerprint
 * (RFC 8122 section 5 binds the UE's certificate to one reservation): Mallory completes
 * a session of her own reservation and keeps its TLS session, then offers that session
 * on the port of a victim's reservation, whose target is tasked. The relay refuses the
 * connection; no byte reaches the victim's network peer, Kafka holds no X3 record and
 * no TLS event of the victim's task, and the victim's reservation stays as it was. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay_util.h"
#include "x2x3_pdu.h"
#include "x2x3_util.h"

static const uint8_t XID[16] = { 0x7e, 0x1a, 0x90, 0x0e, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 14 };
static const uint8_t DID[16] = { 0xd3, 0xd3, 0, 0x0e, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 14 };

typedef struct seen {
    size_t x3, tls_events, other;
} seen;

static void on_record(const Limf__XPdu *x, void *ctx)
{
    seen *s = ctx;
    if (x->xid.len != 16 || memcmp(x->xid.data, XID, 16) != 0) {
        s->other++;
        return;
    }
    if (x->pdu_type == X2X3_PDU_X3) {
        s->x3++;
        return;
    }
    if (memmem(x->payload.data, x->payload.len, "tls-established", 15))
        s->tls_events++;
}

/* A TCP listener standing for the victim's network peer: it must never be reached. */
static int trap_listener(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    RT_CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 4) == 0 &&
                 getsockname(fd, (struct sockaddr *)&a, &len) == 0,
             "trap listener");
    *port = ntohs(a.sin_port);
    return fd;
}

static void reserve(const rt_relay *r, const char *fp, const char *target, uint16_t net_port,
                    const char *name, char *resp, size_t resp_size)
{
    char body[2048];
    snprintf(body, sizeof body,
             "{\"mode\":\"agw\",\"ue\":{\"transport\":\"tls\",\"fingerprint\":\"%s\","
             "\"setup\":\"active\",\"path\":\"msrps://127.0.0.1:7/%sue;tcp\"},"
             "\"network\":{\"next_hop\":\"msrp://127.0.0.1:%u/%snet;tcp\"},\"target\":\"%s\"}",
             fp, name, net_port, name, target);
    int st = rt_http(r->control, "POST", "/v1/sessions", body, resp, resp_size);
    RT_CHECK(st == 201, "reserve %s: %d %s", name, st, resp);
}

/* Mallory's UE: her own certificate, towards the reservation described by resp. */
static pid_t mallory_ue(const char *name, const char *resp, const char *sess_flag,
                        const char *sess_file, const char *expect)
{
    static char to[512], relay_fp[128], port[32], cert[700], key[700];
    rt_json_str(resp, "ue_path", to, sizeof to);
    rt_json_str(resp, "fingerprint", relay_fp, sizeof relay_fp);
    snprintf(port, sizeof port, "127.0.0.1:%ld", rt_json_int(resp, "ue_port"));
    snprintf(cert, sizeof cert, "%s/mallory.pem", rt_dir());
    snprintf(key, sizeof key, "%s/mallory.key", rt_dir());
    const char *args[] = { "--connect", port, "--cert", cert, "--key", key,
                           "--peer-fingerprint", relay_fp, "--path",
                           "msrps://127.0.0.1:7/malloryue;tcp", "--to", to, "--send", "2000",
                           "--expect", expect, sess_flag, sess_file, "--timeout-ms", "15000",
                           "--linger-ms", "300", NULL };
    return rt_ue_start(name, args, NULL);
}

static int file_has(const char *file, const char *needle)
{
    char *text;
    size_t len;
    if (rt_read_file(file, &text, &len) != 0)
        return 0;
    int has = strstr(text, needle) != NULL;
    free(text);
    return has;
}

int main(void)
{
    rt_init("resume");
    x2x3t_ingest ing;
    memset(&ing, 0, sizeof ing);
    x2x3t_ingest_start(&ing, 0, NULL);
    rt_adopt(ing.pid);
    rt_relay r;
    rt_relay_start(&r, "relay", 1, 0, NULL);
    rt_x1_task(r.x1_port, XID, DID, ing.port, "sip-uri", "sip:victim@example.com",
               X1_DELIVERY_X2_AND_X3);
    char mallory_fp[128], victim_fp[128], resp[4096], sess[700], err[700];
    rt_ue_cert("mallory", mallory_fp, sizeof mallory_fp);
    rt_ue_cert("victim", victim_fp, sizeof victim_fp);
    snprintf(sess, sizeof sess, "%s/mallory.session", rt_dir());

    /* 1. Mallory's own session, completed, its TLS session kept. */
    const char *net_args[] = { "--listen", "127.0.0.1:0", "--tcp", "--path",
                               "msrp://127.0.0.1:9/mallorynet;tcp", "--to", "auto", "--send",
                               "1000", "--expect", "1", "--timeout-ms", "15000", "--linger-ms",
                               "300", NULL };
    uint16_t net_port;
    pid_t net = rt_ue_start("mallory-net", net_args, &net_port);
    reserve(&r, mallory_fp, "sip:mallory@example.com", net_port, "mallory", resp, sizeof resp);
    pid_t ue = mallory_ue("mallory-own", resp, "--sess-out", sess, "1");
    RT_CHECK(rt_wait(ue, 20000) == 0, "Mallory's own session failed (see %s/mallory-own.err)",
             rt_dir());
    RT_CHECK(rt_wait(net, 20000) == 0, "Mallory's peer failed");
    RT_CHECK(access(sess, R_OK) == 0, "no TLS session saved");

    /* 2. The victim's reservation; its network peer is a trap that must stay untouched. */
    uint16_t trap_port;
    int trap = trap_listener(&trap_port);
    char victim[4096], id[64], path[128];
    reserve(&r, victim_fp, "sip:victim@example.com", trap_port, "victim", victim,
            sizeof victim);
    rt_json_str(victim, "session", id, sizeof id);
    snprintf(path, sizeof path, "/v1/sessions/%s", id);

    /* 3. The attack: Mallory's certificate and her session, on the victim's port. */
    ue = mallory_ue("mallory-attack", victim, "--sess-in", sess, "1");
    int rc = rt_wait(ue, 20000);
    snprintf(err, sizeof err, "%s/mallory-attack.err", rt_dir());
    RT_CHECK(file_has(err, "offering a session"), "the attack did not offer the session");
    RT_CHECK(rc == 3, "the resumed connection was not refused (exit %d, see %s)", rc, err);
    RT_CHECK(!file_has(err, "resumed"), "the relay resumed Mallory's session (see %s)", err);
    /* The relay issues no tickets: the session Mallory kept is not even resumable. */
    RT_CHECK(file_has(err, "(not resumable)"), "the relay issued a session ticket (see %s)",
             err);

    usleep(300000);
    RT_CHECK(accept(trap, NULL, NULL) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
             "the relay reached the victim's network peer");
    close(trap);
    RT_CHECK(rt_http(r.control, "GET", path, NULL, resp, sizeof resp) == 200,
             "the victim's reservation is gone: %s", resp);
    RT_CHECK(strstr(resp, "\"ue\":{\"state\":\"idle\",\"messages_in\":0,\"bytes_in\":0}"),
             "the victim's UE leg moved: %s", resp);
    RT_CHECK(rt_http(r.control, "GET", "/v1/stats", NULL, resp, sizeof resp) == 200, "stats");
    RT_CHECK(rt_json_int(resp, "tls_refused") >= 1, "refusal not counted: %s", resp);
    RT_CHECK(rt_http(r.control, "DELETE", path, NULL, NULL, 0) == 204, "release the victim's");
    RT_CHECK(rt_relay_stop(&r) == 0, "relay exit status (see %s)", r.log);

    /* 4. Kafka: the victim's task saw its session reserved and released, nothing else. */
    seen s = { 0, 0, 0 };
    size_t got = x2x3t_consume(2, 30, 3000, on_record, &s);
    RT_CHECK(got >= 2, "the victim's reservation was not reported (%zu records)", got);
    RT_CHECK(s.x3 == 0, "%zu X3 records tapped as the victim's", s.x3);
    RT_CHECK(s.tls_events == 0, "%zu TLS events reported for the victim", s.tls_events);
    RT_CHECK(x2x3t_ingest_stop(&ing, SIGTERM) == 0, "ingest exit");
    rt_disown(ing.pid);
    rt_done();
    printf("relay_resume: a resumed session on another reservation refused, nothing relayed "
           "or tapped\n");
    return 0;
}
