/* One connection type for every TCP link of limf (X1, X2/X3, HI2/HI3, the relay's legs):
 * a non-blocking socket, with or without TLS, behind the same calls (as nginx's
 * c->recv/c->send). The outcome of every read, write and handshake is mapped to li_err
 * here and nowhere else:
 *   LI_OK            progress (bytes moved, handshake done)
 *   LI_AGAIN         would block: poll for c->want (POLLIN or POLLOUT; TLS may need
 *                    either for any operation) and call again
 *   LI_ERR_CLOSED    the peer ended the stream or went away (close_notify, FIN, reset)
 *   LI_ERR_TLS       the TLS layer failed (a refused certificate, a bad record)
 *   LI_ERR_IO        any other socket failure
 * Event loops call the single-step functions; threads that own one connection use the
 * deadline-driven ones below them. */
#ifndef LI_CONN_H
#define LI_CONN_H

#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "li_err.h"

typedef struct li_conn {
    int fd;                   /* non-blocking socket, owned; -1 when closed */
    SSL *ssl;                 /* owned; NULL for plain TCP */
    short want;               /* after LI_AGAIN: the poll() events the call waits for */
    const atomic_int *cancel; /* not NULL and set: deadline waits end with LI_ERR_CLOSED
                               * within 250 ms (a server shutting down) */
} li_conn;

/* A closed connection (no allocation). */
void li_conn_init(li_conn *c);
/* On a closed c (li_conn_init, li_conn_close; c->cancel is kept):
 * takes fd (c owns it from here on, also on failure: closed then), makes it non-blocking
 * with TCP_NODELAY, and when ctx is not NULL puts a TLS session of ctx on it as server or
 * client (the handshake is li_conn_handshake's). LI_ERR_IO or LI_ERR_NOMEM on failure. */
li_err li_conn_attach(li_conn *c, int fd, SSL_CTX *ctx, int server);
/* Puts a TLS session of ctx, as server or client, on an attached plain connection (a
 * relay leg learns whether it speaks TLS once connected). LI_ERR_NOMEM on failure (the
 * connection stays plain). */
li_err li_conn_start_tls(li_conn *c, SSL_CTX *ctx, int server);
/* One attempt at a TLS close_notify after a completed handshake (a peer that is gone
 * must not hold us up); nothing for plain TCP. For an orderly end, before closing. */
void li_conn_shutdown(li_conn *c);
/* Frees the TLS session and closes the socket (no close_notify: a connection dropped
 * after an error says nothing more). Safe on a closed connection; c can be attached
 * again. */
void li_conn_close(li_conn *c);

/* One step of each operation (never blocks); results as above. */
li_err li_conn_handshake(li_conn *c);
/* Up to size bytes into buf: LI_OK with *got > 0. */
li_err li_conn_recv(li_conn *c, void *buf, size_t size, size_t *got);
/* Up to n bytes of buf (TLS: at most one record's worth is taken per call when the
 * context enables partial writes): LI_OK with *sent > 0. */
li_err li_conn_send(li_conn *c, const void *buf, size_t n, size_t *sent);

/* Deadline-driven (deadline_ns is li_mono_ns() time): LI_ERR_TIMEOUT when it passes. */
/* Waits until the socket is ready for events. */
li_err li_conn_wait(const li_conn *c, short events, uint64_t deadline_ns);
/* Completes the handshake; a peer that closes during it refused us: LI_ERR_TLS. */
li_err li_conn_handshake_until(li_conn *c, uint64_t deadline_ns);
/* Writes all n bytes. */
li_err li_conn_send_all(li_conn *c, const void *p, size_t n, uint64_t deadline_ns);
/* Reads what is there, waiting for the first byte: LI_OK with *got > 0. */
li_err li_conn_recv_until(li_conn *c, void *buf, size_t size, size_t *got,
                          uint64_t deadline_ns);

#endif
