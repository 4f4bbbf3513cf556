/* Hostile input against a real limf-ingest: authenticated POIs that send garbage, a
 * truncated header, header length 0, 4 GiB lengths, an attribute overrun, a keepalive
 * with payload; a client that does not speak TLS; 1,000 connections that send nothing
 * (and 20 that finish the TLS handshake and then do not). Each bad connection is closed
 * (only that one), the daemon stays up and keeps serving a well-behaved POI, and
 * /metrics says why. Values it does not know (X2 with an X3-only format, direction 9,
 * PDU type 9) are not bad: that connection is kept and they are counted. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "li_bytes.h"
#include "li_log.h"
#include "li_time.h"
#include "x2x3_pdu.h"
#include "x2x3_util.h"

#define IDLE_CONNECTIONS 1000
#define IDLE_TLS 20

typedef struct hostile {
    const char *name;
    const char *hex;                /* bytes sent after the TLS handshake */
    int close_after;                /* we close first (truncation) */
    const char *series;             /* the error counter that must count it */
} hostile;

#define XID "00112233445566778899aabbccddeeff"
#define CORR "0000000000000001"
#define ERR(kind, reason) "limf_ingest_errors_total{kind=\"" kind "\",reason=\"" reason "\"}"

static const hostile cases[] = {
    /* An unknown PDU type alone is tolerated (issue 17); this header's lengths are not. */
    { "garbage", "474554202f20485454502f312e310d0a486f73743a20780d0a0d0a0000000000000000"
                 "00000000000000000000000000", 0,
      ERR("too_big", "header length above the maximum PDU size") },
    { "truncated header", "0005000100000028", 1,
      ERR("truncated", "connection closed inside a PDU") },
    { "header length 0", "0005 0001 00000000 00000000 0009 0002" XID CORR, 0,
      ERR("malformed", "header length below 40") },
    { "4 GiB payload length", "0005 0001 00000028 ffffffff 0009 0002" XID CORR, 0,
      ERR("too_big", "PDU size above the maximum") },
    { "4 GiB header length", "0005 0001 ffffffff 00000000 0009 0002" XID CORR, 0,
      ERR("too_big", "header length above the maximum PDU size") },
    { "attribute overrun", "0005 0001 00000030 00000000 0009 0002" XID CORR "0011ff0041424344",
      0, ERR("malformed", "attribute value overruns the header length") },
    { "keepalive with payload", "0005 0003 00000028 00000001 0000 0000" XID CORR "00", 0,
      ERR("malformed", "keepalive with payload") },
};

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        unsigned v;
        sscanf(p, "%2x", &v);
        out[n++] = (uint8_t)v;
        p += 2;
    }
    return n;
}

static int tcp_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    X2X3T_CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect");
    return fd;
}

static void metrics(x2x3t_ingest *ing, char *text, size_t size)
{
    X2X3T_CHECK(x2x3t_http_get(ing->metrics_port, "/metrics", text, size) == 200, "metrics");
}

static void send_good(x2x3_sender *s, int n)
{
    for (int i = 0; i < n; i++) {
        x2x3_record r;
        memset(&r, 0, sizeof r);
        r.pdu_type = X2X3_PDU_X3;
        r.payload_format = X2X3_FORMAT_MSRP;
        r.payload_direction = X2X3_DIR_TO_TARGET;
        r.xid[0] = 0x99;
        r.payload = (const uint8_t *)"MSRP a SEND\r\n\r\n-------a$\r\n";
        r.payload_len = 26;
        X2X3T_CHECK(x2x3_sender_send(s, &r) == LI_OK, "send");
    }
    X2X3T_CHECK(x2x3_sender_flush(s, 20000) == LI_OK, "the good POI is not served");
}

int main(void)
{
    li_log_init("x2x3_hostile", LI_LOG_WARN, 0);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);

    x2x3t_ingest ing = { 0 };
    static const char *const opts[] = { "ingest.idle_timeout_s=3", "ingest.handshake_timeout_s=3",
                                        "ingest.pdu_timeout_s=2", "ingest.max_pdu=1048576",
                                        NULL };
    x2x3t_ingest_start(&ing, 0, opts);
    static const char *const sender_opts[] = { "x2x3.keepalive_s=1", NULL };
    x2x3_sender *good = x2x3t_sender(ing.port, "poi-test", sender_opts);
    send_good(good, 100);

    /* 1,000 connections that send nothing, open while everything else happens. */
    static int idle[IDLE_CONNECTIONS];
    for (int i = 0; i < IDLE_CONNECTIONS; i++)
        idle[i] = tcp_connect(ing.port);
    printf("%d idle connections open\n", IDLE_CONNECTIONS);
    /* And some that complete the TLS handshake, then say nothing. */
    x2x3t_tls *idle_tls[IDLE_TLS];
    for (int i = 0; i < IDLE_TLS; i++)
        X2X3T_CHECK((idle_tls[i] = x2x3t_tls_connect(ing.port, "poi-test")), "idle TLS");

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t bytes[256];
        size_t n = unhex(cases[i].hex, bytes);
        x2x3t_tls *t = x2x3t_tls_connect(ing.port, "poi-test");
        X2X3T_CHECK(t, "%s: handshake failed", cases[i].name);
        X2X3T_CHECK(x2x3t_tls_write(t, bytes, n) == 0, "%s: write", cases[i].name);
        if (!cases[i].close_after) {
            char c;
            X2X3T_CHECK(x2x3t_tls_read(t, &c, 1, 5000) == 0, "%s: connection not closed",
                        cases[i].name);
        }
        x2x3t_tls_close(t);
        printf("%-24s closed by the ingest\n", cases[i].name);
    }
    /* Values the ingest does not know (X2 with MSRP, a direction 9, an unknown PDU type)
     * keep the connection: a keepalive sent after them is answered on it (issue 17). */
    {
        uint8_t odd[512];
        size_t n = unhex("0005 0001 00000028 00000004 000d 0002" XID CORR "41424344"
                         "0005 0001 00000028 00000000 0009 0009" XID CORR
                         "0005 0009 00000028 00000000 0009 0002" XID CORR
                         "0005 0003 00000030 00000000 0000 0000" XID CORR "0008000400000063",
                         odd);
        x2x3t_tls *t = x2x3t_tls_connect(ing.port, "poi-test");
        X2X3T_CHECK(t && x2x3t_tls_write(t, odd, n) == 0, "unknown values");
        uint8_t ack[64];
        int got = x2x3t_tls_read(t, ack, sizeof ack, 10000);
        X2X3T_CHECK(got == 48 && li_get_be16(ack + 2) == X2X3_PDU_KEEPALIVE_ACK &&
                    li_get_be32(ack + 44) == 0x63, "unknown values: keepalive answer %d", got);
        x2x3t_tls_close(t);
        printf("%-24s kept, keepalive answered\n", "unknown values");
    }
    /* A PDU trickling in, one octet every 300 ms: never idle, never complete. */
    {
        uint8_t head[64];
        size_t n = unhex("0005 0001 00000028 00001000 0009 0002" XID CORR, head);
        x2x3t_tls *t = x2x3t_tls_connect(ing.port, "poi-test");
        X2X3T_CHECK(t && x2x3t_tls_write(t, head, n) == 0, "trickle");
        int closed = 0;
        for (int i = 0; i < 40 && !closed; i++) {
            char c;
            closed = x2x3t_tls_read(t, &c, 1, 300) == 0;
            if (!closed)
                x2x3t_tls_write(t, "x", 1);
        }
        X2X3T_CHECK(closed, "trickling connection not closed");
        x2x3t_tls_close(t);
        printf("%-24s closed by the ingest\n", "trickling PDU");
    }
    /* Not TLS at all. */
    int plain = tcp_connect(ing.port);
    X2X3T_CHECK(write(plain, "hello\r\n\r\n", 9) == 9, "write");
    char c;
    X2X3T_CHECK(read(plain, &c, 1) <= 0, "plain-text client not closed");
    close(plain);

    /* The daemon still serves the good POI while the idle connections hang around. */
    send_good(good, 100);

    char text[16384];
    uint64_t deadline = li_mono_ns() + 20ull * 1000000000u;
    long long open = -1;
    for (;;) {
        metrics(&ing, text, sizeof text);
        open = x2x3t_metric(text, "limf_ingest_connections");
        if (open <= 1 || li_mono_ns() > deadline)
            break;
        usleep(200000);
    }
    printf("%s", text);
    X2X3T_CHECK(open == 1, "%lld connections still open (want only the good POI)", open);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        X2X3T_CHECK(x2x3t_metric(text, cases[i].series) >= 1, "%s not counted (%s)",
                    cases[i].name, cases[i].series);
    X2X3T_CHECK(x2x3t_metric(text, "limf_ingest_unknown_total{field=\"payload_format\"}") == 1 &&
                x2x3t_metric(text, "limf_ingest_unknown_total{field=\"payload_direction\"}") == 1 &&
                x2x3t_metric(text, "limf_ingest_unknown_total{field=\"pdu_type\"}") == 1,
                "unknown values not counted");
    X2X3T_CHECK(x2x3t_metric(text, "limf_ingest_errors_total{kind=\"pdu_timeout\"}") == 1,
                "trickling PDU not counted");
    X2X3T_CHECK(x2x3t_metric(text, "limf_ingest_errors_total{kind=\"tls_handshake\"}") >= 1,
                "plain-text client not counted");
    /* One address holds 16 handshakes at most (ingest.max_handshakes_per_address): the
     * rest of the idle connections made way for newer ones, the last 16 timed out. */
    X2X3T_CHECK(x2x3t_metric(text, "limf_ingest_errors_total{kind=\"handshake_timeout\"}") >=
                    1 &&
                x2x3t_metric(text, "limf_ingest_errors_total{kind=\"handshake_timeout\"}") +
                        x2x3t_metric(text,
                                     "limf_ingest_errors_total{kind=\"too_many_handshakes\"}") >=
                    IDLE_CONNECTIONS,
                "idle connections not timed out");
    X2X3T_CHECK(x2x3t_metric(text, "limf_ingest_errors_total{kind=\"idle_timeout\"}") >=
                IDLE_TLS, "silent TLS connections not timed out");
    for (int i = 0; i < IDLE_TLS; i++)
        x2x3t_tls_close(idle_tls[i]);
    X2X3T_CHECK(x2x3t_metric(text, "limf_ingest_pdus_total{type=\"x3\"}") == 200,
                "good PDUs miscounted");
    for (int i = 0; i < IDLE_CONNECTIONS; i++)
        close(idle[i]);

    int status;
    X2X3T_CHECK(waitpid(ing.pid, &status, WNOHANG) == 0, "limf-ingest died");
    x2x3_sender_free(good);
    int rc = x2x3t_ingest_stop(&ing, SIGTERM);
    X2X3T_CHECK(rc == 0, "limf-ingest exit status %d", rc);
    printf("limf-ingest stayed up and exited cleanly\n");
    return 0;
}
