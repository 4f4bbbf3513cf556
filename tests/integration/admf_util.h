/* Helpers of limf-admf's contract tests (admf_api, admf_x1): the real daemon as a child
 * process on the test broker and PKI, an HTTPS client with client certificates or bearer
 * tokens (OpenSSL, one connection per request), JSON bodies and answers (jansson), and
 * check() that reports each contract point and counts failures.
 * Memory: every admf_resp, string and json_t the helpers return is owned by the helpers
 * and freed by admf_release() (callers never free them).
 * check(), J(), with() and the j*() accessors keep short names on purpose: they are the
 * vocabulary the contract reads in, hundreds of times. */
#ifndef ADMF_UTIL_H
#define ADMF_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Prints "ok   what" or "FAIL what" (printf format) and counts failures. */
void check(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int admf_failures(void);

/* $LIMF_PKI_DIR, $LIMF_BUILD_DIR/x1 (exits when not run under ctest). */
const char *admf_pki(void);
const char *admf_bin_dir(void);

uint64_t admf_now_ms(void);     /* wall clock, ms since the epoch */
void admf_sleep_ms(int ms);
/* RFC 3339 UTC time with milliseconds of epoch_ms (admf_now_ms() + an offset). */
const char *admf_rfc3339(uint64_t epoch_ms);
/* printf into a string the helpers own. */
const char *admf_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Evaluates cond every 100 ms until it holds or secs passed; result gets its last value. */
#define WAIT_UNTIL(result, secs, cond)                                               \
    do {                                                                             \
        uint64_t wait_end_ = admf_now_ms() + (uint64_t)((secs) * 1000);              \
        while (!((result) = !!(cond)) && admf_now_ms() < wait_end_)                  \
            admf_sleep_ms(100);                                                      \
    } while (0)

/* ---- the daemon ---- */
typedef struct admf_daemon {
    char dir[256];       /* scratch directory: configuration, log, exports */
    char conf[300];
    char port_file[300];
    char log[300];
    char audit_key[300]; /* the audit key file (0600) */
    pid_t pid;
    uint16_t port;       /* the REST API's port, read from its ready file (daemon.ready_file) */
} admf_daemon;

/* A scratch directory with a tokens file (ci-admin: admin, ci-auditor: auditor), an audit
 * key file (refusals aggregated and checkpoints written every second) and a
 * configuration on the test broker (mutual TLS, the admf certificate); extra lines
 * (NULL-terminated, may be NULL) go first, as top-level keys. */
/* Whether admf_daemon_init maps the test PKI's admin, operator and auditor certificates
 * to those roles (rest.role.<CN>; a CN alone gives no role, rest.cn_is_role being off by
 * default). Default 1. */
extern int admf_cert_roles;
void admf_daemon_init(admf_daemon *d, const char *prefix, const char *const *extra);
/* Sets a key ("section.key") for the next start, over any value it had. */
void admf_daemon_set(admf_daemon *d, const char *key, const char *value);
/* Starts limf-admf and waits (30 s) for its port; exits the test when it does not start. */
void admf_daemon_start(admf_daemon *d);
void admf_daemon_kill9(admf_daemon *d);
/* SIGTERM, waits 20 s (then SIGKILL): the exit status, or -1 after a kill or a signal. */
int admf_daemon_stop(admf_daemon *d);
/* The end of a test: on failure the log's last 4000 bytes on stdout and the scratch
 * directory kept to be read, otherwise the directory removed; prints the count of
 * failures, releases what admf_release() frees. The test's exit status. */
int admf_finish(const admf_daemon *d);

/* ---- the REST client ---- */
typedef struct admf_client admf_client;
/* A client with the PKI's certificate of role (NULL: none) and a bearer token (NULL:
 * none); it trusts the PKI's CA. Freed by admf_release(). */
admf_client *admf_client_new(const admf_daemon *d, const char *role, const char *token);

typedef struct admf_resp {
    int status;          /* 0 when the request failed at the transport */
    char *head;          /* the response head, NUL-terminated */
    char *raw;           /* the body, NUL-terminated */
    size_t raw_len;
    json_t *body;        /* the body parsed when Content-Type is application/json, or NULL */
} admf_resp;

/* One request. headers: NULL or "Name: value" lines separated by '\n'. A body gets
 * Content-Type application/json unless headers set one. Thread-safe. */
admf_resp *admf_req(admf_client *c, const char *method, const char *path, json_t *body,
                    const char *headers);
admf_resp *admf_req_raw(admf_client *c, const char *method, const char *path,
                        const char *body, size_t body_len, const char *headers);
/* A response header's value ("" when absent). */
const char *admf_header(const admf_resp *r, const char *name);

/* ---- JSON ---- */
/* json_pack() whose result the helpers own. */
json_t *J(const char *fmt, ...);
/* A copy of base with the members of json_pack(fmt, ...) set over it (Python's
 * dict(base, k=v)). */
json_t *with(const json_t *base, const char *fmt, ...);
/* The value at a '.'-separated path of object keys ("error.code"), or NULL. */
json_t *jget(const json_t *j, const char *path);
const char *jstr(const json_t *j, const char *path); /* NULL unless a string */
long long jint(const json_t *j, const char *path);   /* -1 unless an integer */
/* "status code field" of an error answer, e.g. "400 invalid_json " (field "" when
 * absent), to compare with the expected triple. */
const char *admf_err(const admf_resp *r);
/* Of a list answer's body.items: how many; the string member key of each joined by ','
 * in order ("" for none); the same sorted with duplicates removed (a set); how many items
 * have every string member of the NULL-terminated key, value pairs. */
size_t admf_n(const admf_resp *r);
const char *admf_list(const admf_resp *r, const char *key);
const char *admf_set(const admf_resp *r, const char *key);
size_t admf_count(const admf_resp *r, ...) __attribute__((sentinel));
/* A JSON document the helpers own, formatted compactly. */
const char *jdump(const json_t *j);

/* SHA-256 of the test PKI's certificate of role ($LIMF_PKI_DIR/<role>.pem, the leaf's
 * DER) as upper-case hex pairs separated by ':', the form limf-admf quotes; exits the
 * test when the file cannot be read. */
const char *admf_cert_sha256(const char *role);
/* 1 when one line of the file at path contains both a and b (a log line, say). */
int admf_file_line_has(const char *path, const char *a, const char *b);

/* Runs argv (argv[0] a path) to completion; stdout+stderr into a string the helpers
 * own (*out, may be NULL); returns the exit status or -1. */
int admf_run(char *const argv[], const char **out);

/* Frees everything the helpers handed out. */
void admf_release(void);

#endif
