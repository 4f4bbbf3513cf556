/* A small, strict HTTP/1.1 server for the daemons' local endpoints (/metrics, the relay's
 * control API): one request per connection (every answer carries Connection: close),
 * bounded head (LI_HTTP_MAX_HEAD) and body, one deadline for the whole request, a
 * bounded number of connections, optionally admitted one by one by the caller as they
 * are accepted. It listens on TCP or on a Unix socket. No chunked bodies (501), no pipelining. It runs in
 * its caller's thread: li_httpd_fd() is a descriptor to poll or add to an epoll set,
 * li_httpd_run() serves what is ready without blocking beyond its timeout. Plain HTTP,
 * or HTTPS over li_conn when given a TLS context (mutual TLS for /metrics that may say
 * what is intercepted). It links nothing but the C library and OpenSSL, so that a point
 * of interception need not link a general purpose HTTP library. */
#ifndef LI_HTTPD_H
#define LI_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "li_bytes.h"
#include "li_err.h"
#include "li_http.h"

/* A complete request; every pointer is borrowed for the duration of the handler. */
typedef struct li_httpd_request {
    const char *method;   /* "GET", "POST", ... (case-sensitive, RFC 9110 9.1) */
    const char *path;     /* the request target as sent */
    const uint8_t *body;  /* Content-Length octets (NULL when 0) */
    size_t body_len;
    int peer_verified;    /* 1 over mutual TLS: the client's certificate was verified */
} li_httpd_request;

/* What the handler answers: status (200 when left alone), content_type (a static
 * string; none when NULL), allow (the Allow header of a 405, RFC 9110 15.5.6) and the
 * body it appends to (owned by the server). */
typedef struct li_httpd_response {
    int status;
    const char *content_type;
    const char *allow;
    li_buf body;
} li_httpd_response;

typedef void (*li_httpd_handler)(void *ctx, const li_httpd_request *req,
                                 li_httpd_response *resp);

typedef struct li_httpd_opts {
    li_httpd_handler handler;
    void *ctx;              /* handler's, not owned */
    size_t max_body;        /* larger bodies are answered 413 */
    int timeout_ms;         /* a request not complete within it is dropped */
    size_t max_connections; /* more are closed as they are accepted */
    int loopback_only;      /* refuse a listen address that is not loopback */
    /* Called with each accepted connection before anything is read from it (ctx is the
     * handler's): 0 refuses it, closed unanswered and counted (li_httpd_refused). NULL
     * admits every connection. */
    int (*admit)(void *ctx, int fd);
    SSL_CTX *tls;           /* NULL: plain HTTP; else HTTPS with this server context, not
                             * owned (mutual TLS when it demands a client certificate) */
} li_httpd_opts;

typedef struct li_httpd li_httpd;

/* Listens on "host:port" (numeric host, IPv6 in brackets, an empty host for every
 * address, port 0 for any free one). NULL with a reason in errstr ("cannot listen on
 * ..." when bind fails). */
li_httpd *li_httpd_new(const char *listen, const li_httpd_opts *opts, char *errstr,
                       size_t errstr_size);
/* Listens on a Unix stream socket at path, whose file gets mode (li_net_listen_unix: a
 * stale socket file is replaced, a live one refused); the file is removed by
 * li_httpd_free(). NULL with a reason (naming `what`, a configuration key) in errstr. */
li_httpd *li_httpd_new_unix(const char *path, unsigned mode, const char *what,
                            const li_httpd_opts *opts, char *errstr, size_t errstr_size);
/* The port bound (0 on a Unix socket). */
uint16_t li_httpd_port(const li_httpd *h);
/* Connections refused by opts.admit since start. Any thread. */
uint64_t li_httpd_refused(const li_httpd *h);
/* Readable when li_httpd_run() has work (an epoll descriptor). */
int li_httpd_fd(const li_httpd *h);
/* Accepts, reads, answers and expires connections, waiting at most timeout_ms (0: not
 * at all) for something to do. Calls the handler in this thread. */
void li_httpd_run(li_httpd *h, int timeout_ms);
/* Closes every connection and the listener. NULL is a no-op. */
void li_httpd_free(li_httpd *h);

/* The request framing of li_httpd, without I/O (its fuzz target's entry): parses the
 * request in buf[0..len). LI_OK: *head filled, *total = head plus body octets.
 * LI_AGAIN: incomplete (*head filled and *total set once the head is complete, so
 * that the caller can answer an Expect: 100-continue). Otherwise *status is the answer
 * to give before closing: 400 malformed (a version other than HTTP/1.x included), 413
 * body over max_body, 501 Transfer-Encoding. */
li_err li_httpd_parse_request(const uint8_t *buf, size_t len, size_t max_body,
                              li_http_head *head, size_t *total, int *status);

#endif
