/* TLS connections of the X1 client and NE: non-blocking sockets driven with poll() so
 * that every step has a deadline, and reading one whole HTTP message. */
#ifndef X1_IO_H
#define X1_IO_H

#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "li_bytes.h"
#include "li_err.h"
#include "li_http.h"
#include "x1_http.h"

typedef struct x1_conn {
    int fd;        /* non-blocking, owned */
    SSL *ssl;      /* owned */
    /* When not NULL and set, every wait gives up with LI_ERR_CLOSED within 250 ms
     * (server shutdown). */
    const atomic_int *cancel;
} x1_conn;

/* Wraps fd (made non-blocking) in a TLS session of ctx; cancel as above (or NULL). The
 * connection owns fd, also on failure (closed then). */
li_err x1_conn_init(x1_conn *c, int fd, SSL_CTX *ctx, const atomic_int *cancel);
/* Runs the TLS handshake as server or client until deadline (li_mono_ns() time).
 * LI_ERR_TLS when the peer is refused or refuses us. */
li_err x1_conn_handshake(x1_conn *c, int server, uint64_t deadline_ns);
/* Writes all n bytes. */
li_err x1_conn_write(x1_conn *c, const void *p, size_t n, uint64_t deadline_ns);
/* Reads one HTTP message into in (bytes already in it count first): on LI_OK, *head is
 * parsed and the message occupies in->data[0..*msg_len), the body being the last
 * head->content_length bytes. A message without Content-Length, chunked, or with a body
 * above max_body fails with LI_ERR_PROTO or LI_ERR_TOO_BIG. LI_ERR_CLOSED when the peer
 * closed before sending anything. */
li_err x1_conn_read_message(x1_conn *c, li_buf *in, int response, size_t max_body,
                            li_http_head *head, size_t *msg_len, uint64_t deadline_ns);
/* Closes after an error answer sent before the request was read whole: sends
 * close_notify, stops writing, and discards what the peer still sends (until it closes,
 * 1 MiB or the deadline), so that the kernel does not reset the connection and destroy
 * the answer before the peer read it. Then frees everything like x1_conn_close(). */
void x1_conn_linger_close(x1_conn *c, uint64_t deadline_ns);
/* Sends a TLS close_notify when possible and frees everything. Safe on a zeroed conn. */
void x1_conn_close(x1_conn *c);

#endif
