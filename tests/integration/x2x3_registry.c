/* The POI is part of the task (docs/SECURITY.md, "X2/X3"): limf-ingest admits only the
 * intercept points the ADMF registered in limf.pois, by name and certificate. Attacks on
 * a real ingest with the real broker: a certificate the CA signed for another role (an
 * agency's LEMF), a forged certificate that carries a registered POI's name, and a POI
 * the ADMF removed are each refused, and nothing they send reaches limf.xpdu; the
 * registered POI's PDUs all arrive. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "x2x3_sender.h"
#include "x2x3_util.h"

#define RECORDS 20

static const char *const refused_series =
    "limf_ingest_errors_total{kind=\"not_allowed\",reason=\"POI not registered\"}";

/* A certificate from the deployment's CA with CN=poi-test and a key of its own: what an
 * insider with access to the CA (or a compromised RA) could make. */
static void forge_certificate(void)
{
    char cmd[2048];
    const char *pki = x2x3t_env("LIMF_PKI_DIR");
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout poi-forged.key -out poi-forged.csr -subj '/O=limf test/CN=poi-test' "
             "2>/dev/null && printf 'extendedKeyUsage=clientAuth\\n' > poi-forged.ext && "
             "openssl x509 -req -in poi-forged.csr -CA ca.pem -CAkey ca.key -set_serial 4242 "
             "-days 2 -out poi-forged.pem -extfile poi-forged.ext 2>/dev/null && "
             "rm -f poi-forged.csr poi-forged.ext",
             pki);
    X2X3T_CHECK(system(cmd) == 0, "cannot forge a certificate");
}

/* 1 when the ingest closed the connection of `role` without serving it. */
static int refused(uint16_t port, const char *role)
{
    x2x3t_tls *t = x2x3t_tls_connect(port, role);
    if (!t)
        return 1;   /* refused during the handshake */
    /* Whatever it writes, the connection is closed without a keepalive answer. */
    static const uint8_t keepalive[] = { 0, 5, 0, 3, 0, 0, 0, 0x28, 0, 0, 0, 0, 0, 0, 0, 0,
                                         0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                         0, 0, 0, 0, 0, 0, 0, 0 };
    x2x3t_tls_write(t, keepalive, sizeof keepalive);
    char c;
    int closed = x2x3t_tls_read(t, &c, 1, 5000) == 0;
    x2x3t_tls_close(t);
    return closed;
}

static long long refusals(uint16_t metrics_port)
{
    char text[16384];
    X2X3T_CHECK(x2x3t_http_get(metrics_port, "/metrics", text, sizeof text) == 200, "metrics");
    long long n = x2x3t_metric(text, refused_series);
    return n < 0 ? 0 : n;
}

/* Every record in limf.xpdu must be the registered POI's. */
static void from_registered(const Limf__XPdu *x, void *ctx)
{
    if (strcmp(x->poi_id, "poi-test") != 0)
        ++*(int *)ctx;
}

int main(void)
{
    forge_certificate();
    x2x3t_ingest ing = { 0 };
    x2x3t_ingest_start(&ing, 0, NULL);

    /* The registered POI is served. */
    x2x3_sender *s = x2x3t_sender(ing.port, "poi-test", NULL);
    for (int i = 0; i < RECORDS; i++) {
        uint8_t xid[16] = { 0x42, (uint8_t)i };
        char payload[64];
        int n = snprintf(payload, sizeof payload, "INVITE sip:b@t SIP/2.0\r\n\r\n%d", i);
        x2x3_record r = { .pdu_type = X2X3_PDU_X2, .payload_format = 9, .payload_direction = 3,
                          .payload = (const uint8_t *)payload, .payload_len = (size_t)n };
        memcpy(r.xid, xid, 16);
        X2X3T_CHECK(x2x3_sender_send(s, &r) == LI_OK, "send %d", i);
    }
    X2X3T_CHECK(x2x3_sender_flush(s, 30000) == LI_OK, "registered POI not acknowledged");
    x2x3_sender_free(s);

    /* An agency's certificate from the same CA. */
    X2X3T_CHECK(refused(ing.port, "lemf"), "the LEMF's certificate was served as a POI");
    /* A registered POI's name on another certificate of the same CA. */
    X2X3T_CHECK(refused(ing.port, "poi-forged"), "a forged poi-test certificate was served");
    long long before = refusals(ing.metrics_port);
    X2X3T_CHECK(before >= 2, "refusals not counted (%lld)", before);

    /* The ADMF removes the POI: its next connection is refused. */
    x2x3t_register_poi("poi-test", NULL);
    int gone = 0;
    for (int i = 0; i < 50 && !gone; i++) {
        gone = refused(ing.port, "poi-test");
        if (!gone)
            usleep(200000);
    }
    X2X3T_CHECK(gone, "a POI the ADMF removed is still served");

    /* Only the registered POI's PDUs are in Kafka. */
    int strangers = 0;
    size_t n = x2x3t_consume(RECORDS, 30, 2000, from_registered, &strangers);
    printf("registered POI: %d sent, %zu in limf.xpdu (%d from others); refusals %lld\n",
           RECORDS, n, strangers, refusals(ing.metrics_port));
    X2X3T_CHECK(n == RECORDS && strangers == 0, "limf.xpdu holds %zu records (%d from others), "
                "want %d", n, strangers, RECORDS);
    X2X3T_CHECK(x2x3t_ingest_stop(&ing, SIGTERM) == 0, "ingest exit status");
    return 0;
}
