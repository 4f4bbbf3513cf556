/* The HI2/HI3 links (limf-handover's client side, limf-lemf's server side): a li_conn
 * (TLS when a context is given, plain TCP otherwise) with timeouts, and a PS-PDU stream
 * reader. */
#ifndef HO_IO_H
#define HO_IO_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "li_bytes.h"
#include "li_conn.h"
#include "li_err.h"

typedef struct ho_conn {
    li_conn io;    /* io.fd is -1 when closed */
    li_buf rx;     /* received bytes not yet returned as PDUs */
    size_t taken;  /* octets of rx returned by the last ho_conn_next_pdu() */
} ho_conn;

/* A closed connection (no allocation). */
void ho_conn_init(ho_conn *c);
/* Closes the socket and the TLS session (a close_notify is attempted, not awaited) and
 * frees the receive buffer; the connection can be reused. A closed one is a no-op. */
void ho_conn_close(ho_conn *c);

/* Connects to hostport ("host:port", "[v6]:port"; li_hostport with names) and, when ctx
 * is not NULL, completes a TLS handshake (the peer is verified by ctx: pins or CA +
 * name), all within timeout_ms. */
li_err ho_conn_connect(ho_conn *c, const char *hostport, SSL_CTX *ctx, int timeout_ms,
                       char *errstr, size_t errstr_size);
/* Takes an accepted socket (c owns it from then on) and completes the server handshake. */
li_err ho_conn_accept(ho_conn *c, int fd, SSL_CTX *ctx, int timeout_ms, char *errstr,
                      size_t errstr_size);

/* Writes all n octets within timeout_ms: LI_OK, LI_ERR_TIMEOUT, LI_ERR_CLOSED or LI_ERR_IO. */
li_err ho_conn_write(ho_conn *c, const void *p, size_t n, int timeout_ms);

/* The next complete PS-PDU received, waiting up to timeout_ms (0: only what is already
 * there): LI_OK with *pdu and *len pointing into c's buffer (valid until the next call),
 * LI_AGAIN when none arrived in time, LI_ERR_CLOSED at end of stream, LI_ERR_TOO_BIG or
 * LI_ERR_PROTO when the stream is not PS-PDUs of at most max octets. */
li_err ho_conn_next_pdu(ho_conn *c, size_t max, int timeout_ms, const uint8_t **pdu, size_t *len);

#endif
