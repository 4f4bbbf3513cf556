/* Helpers of the relay's integration tests and benchmark: a real limf-msrp-relay
 * process, real limf-test-ue processes (MSRP over real TLS on loopback), the control
 * API over HTTP, and X1 tasking with the real X1 client. */
#ifndef RELAY_UTIL_H
#define RELAY_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "li_config.h"
#include "x1_client.h"
#include "x1_msg.h"

#define RT_CHECK(cond, ...)                                                      \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                 \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
            rt_cleanup();                                                        \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

/* A scratch directory for this test (removed on success), and the paths it needs. */
void rt_init(const char *name);
const char *rt_dir(void);
const char *rt_pki(void);
const char *rt_build(void);
/* Kills every process started by rt_spawn that is still running. */
void rt_cleanup(void);
/* On success: rt_cleanup() and the scratch directory removed (kept on failure). */
void rt_done(void);

/* Starts argv[0] with stdout+stderr to log (NULL: /dev/null). */
pid_t rt_spawn(const char *log, char *const argv[]);
/* Kills pid too in rt_cleanup() (a process another helper started, e.g. limf-ingest). */
void rt_adopt(pid_t pid);
/* Forgets an adopted process that its own helper has stopped and reaped. */
void rt_disown(pid_t pid);
/* Waits up to timeout_ms; returns the exit status, 128+signal, or -1 on timeout (then
 * the process is killed). */
int rt_wait(pid_t pid, int timeout_ms);
/* Reads a whole file (NUL-terminated copy); -1 when it does not exist. */
int rt_read_file(const char *path, char **out, size_t *len);
/* 1 when both files hold the same octets, and some. */
int rt_same_file(const char *a, const char *b);

typedef struct rt_relay {
    pid_t pid;
    char control[600];             /* the control API's Unix socket */
    uint16_t x1_port;
    uint16_t metrics_port;         /* 0 unless relay.metrics.listen was configured */
    char log[700];
} rt_relay;

/* Starts limf-msrp-relay with the relay-agw certificate and, when with_x1, its X1 NE and
 * X2/X3 to each task's destination; x2x3_port non-zero: X2/X3 to 127.0.0.1:x2x3_port
 * whatever the destinations say (the fixed route). Extra config lines appended. */
void rt_relay_start(rt_relay *r, const char *name, int with_x1, uint16_t x2x3_port,
                    const char *extra_conf);
/* SIGTERM and wait; returns the exit status. */
int rt_relay_stop(rt_relay *r);

/* HTTP/1.1 request over the Unix socket at sock (the relay's control API); returns the
 * status, body into out; -1 when the connection fails or closes without an answer. */
int rt_http(const char *sock, const char *method, const char *path, const char *body,
            char *out, size_t out_size);
/* The string value of "key" in a flat JSON object (no escapes), or "" when absent. */
void rt_json_str(const char *json, const char *key, char *out, size_t out_size);
long rt_json_int(const char *json, const char *key);

/* An X1 client with the ADMF's certificate (admf_id "admf-test"); the caller frees both. */
x1_client *rt_x1_client(li_config **cfg_out);
/* A task on one target with these destinations (at most X1_MAX_DIDS). */
void rt_task(x1_task *t, const uint8_t xid[16], const char *target_type, const char *target,
             x1_delivery delivery, const uint8_t (*dids)[16], size_t n_dids);
/* X1 as the ADMF would: a destination (the ingest) and a task on one target. */
void rt_x1_task(uint16_t x1_port, const uint8_t xid[16], const uint8_t did[16],
                uint16_t ingest_port, const char *target_type, const char *target,
                x1_delivery delivery);
void rt_x1_exception(uint16_t x1_port, const char *id, const uint8_t fingerprint[32],
                     const char *peer, int64_t expires_ms);

/* limf-test-ue helpers. */
/* Generates a self-signed certificate <dir>/<name>.pem/.key; its fingerprint into fp
 * ("sha-256 AB:.."). */
void rt_ue_cert(const char *name, char *fp, size_t fp_size);
/* Starts a UE; argv is the option list (NULL-terminated) after the program name.
 * When listening, waits for its "listening PORT" line and returns the port in *port. */
pid_t rt_ue_start(const char *name, const char *const *args, uint16_t *port);

#endif
