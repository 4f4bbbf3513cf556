/* Helpers of the X2/X3 integration tests and benchmark: a real limf-ingest process on
 * a free loopback port, POI senders with the test PKI, a Kafka reader of limf.xpdu, and
 * the ingest's /metrics. Environment from with_kafka.sh (LIMF_KAFKA_DIR,
 * LIMF_PKI_DIR, LIMF_TOPIC_PREFIX, LIMF_BUILD_DIR). */
#ifndef X2X3_UTIL_H
#define X2X3_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "li_config.h"
#include "x2x3_sender.h"
#include "xpdu.pb-c.h"

#define X2X3T_CHECK(cond, ...)                                                   \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                 \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

const char *x2x3t_env(const char *name);
/* Kafka client configuration (plaintext listener) with this test's topic prefix. */
li_config *x2x3t_kafka_config(void);
/* The topic name limf-ingest writes to in this test. */
void x2x3t_topic(char *out, size_t out_size);

typedef struct x2x3t_ingest {
    pid_t pid;
    uint16_t port;
    uint16_t metrics_port;
    char dir[256];
} x2x3t_ingest;

/* Starts limf-ingest on 127.0.0.1:port (0: any free port) with the `ingest` certificate,
 * extra "-o key=value" options (NULL-terminated, may be NULL), and waits for it to
 * listen. Exits the test on failure. */
/* Registers the POI `cn` with the certificate of `role` in limf.pois, as the ADMF does
 * (role NULL: removes it). x2x3t_ingest_start registers the test PKI's POIs. */
void x2x3t_register_poi(const char *cn, const char *role);

void x2x3t_ingest_start(x2x3t_ingest *ing, uint16_t port, const char *const *extra);
/* Sends sig and waits; returns the exit status (or 128 + signal). */
int x2x3t_ingest_stop(x2x3t_ingest *ing, int sig);

/* A sender to 127.0.0.1:port with the certificate of `role`, extra "key=value" settings
 * of the `x2x3` prefix (NULL-terminated, may be NULL). */
x2x3_sender *x2x3t_sender(uint16_t port, const char *role, const char *const *extra);

/* Reads limf.xpdu from the beginning until `expect` records arrived and then `quiet_ms`
 * passed without more, or timeout_s. Calls fn for each record (the XPdu is freed after).
 * Returns the number of records read. */
size_t x2x3t_consume(size_t expect, int timeout_s, int quiet_ms,
                     void (*fn)(const Limf__XPdu *x, void *ctx), void *ctx);

/* The copies of one record found in Kafka: the first copy's attributes and payload, and
 * how many there were. */
typedef struct x2x3t_copies {
    uint8_t *bytes;
    size_t len;
    unsigned n;
} x2x3t_copies;
/* Counts a copy of x; 0 when it differs from the first one (a POI's resend must be
 * byte-identical), 1 otherwise. */
int x2x3t_copy_seen(x2x3t_copies *c, const Limf__XPdu *x);

/* GET http://127.0.0.1:port/path into out; returns the HTTP status or -1. */
int x2x3t_http_get(uint16_t port, const char *path, char *out, size_t out_size);
/* The same over mutual TLS with pki/<role>.pem and .key, verifying the server by
 * pki/ca.pem (a POI's /metrics with its interception series); -1 when refused. */
int x2x3t_https_get(uint16_t port, const char *path, const char *pki, const char *role,
                    char *out, size_t out_size);
/* The value of a metric line starting with `series` (e.g. `limf_x{a="b"}`), or -1. */
long long x2x3t_metric(const char *text, const char *series);

/* A TLS client connection with the certificate of `role` to 127.0.0.1:port (blocking
 * socket); NULL when the handshake fails. Free with x2x3t_tls_close. */
typedef struct x2x3t_tls x2x3t_tls;
x2x3t_tls *x2x3t_tls_connect(uint16_t port, const char *role);
int x2x3t_tls_write(x2x3t_tls *t, const void *p, size_t n);
/* Reads up to n bytes with a timeout; returns bytes read, 0 at EOF, -1 on error/timeout. */
int x2x3t_tls_read(x2x3t_tls *t, void *p, size_t n, int timeout_ms);
void x2x3t_tls_close(x2x3t_tls *t);

#endif
