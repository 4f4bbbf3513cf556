#include "li_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "li_time.h"

void li_conn_init(li_conn *c)
{
    c->fd = -1;
    c->ssl = NULL;
    c->want = 0;
    c->cancel = NULL;
}

li_err li_conn_attach(li_conn *c, int fd, SSL_CTX *ctx, int server)
{
    c->fd = fd;
    c->ssl = NULL;
    c->want = 0;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        li_conn_close(c);
        return LI_ERR_IO;
    }
    /* Requests, answers and PDUs are written whole: Nagle would only hold them back. */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    li_err err = ctx ? li_conn_start_tls(c, ctx, server) : LI_OK;
    if (err != LI_OK)
        li_conn_close(c);
    return err;
}

li_err li_conn_start_tls(li_conn *c, SSL_CTX *ctx, int server)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl || SSL_set_fd(ssl, c->fd) != 1) {
        SSL_free(ssl);
        return LI_ERR_NOMEM;
    }
    if (server)
        SSL_set_accept_state(ssl);
    else
        SSL_set_connect_state(ssl);
    c->ssl = ssl;
    return LI_OK;
}

void li_conn_shutdown(li_conn *c)
{
    if (c->ssl && SSL_is_init_finished(c->ssl))
        SSL_shutdown(c->ssl);
}

void li_conn_close(li_conn *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
        ERR_clear_error();
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->want = 0;
}

/* A failed socket call (errno): would block, the peer went away, or a failure. */
static li_err map_errno(li_conn *c, short events)
{
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        c->want = events;
        return LI_AGAIN;
    }
    return errno == ECONNRESET || errno == EPIPE ? LI_ERR_CLOSED : LI_ERR_IO;
}

/* The one mapping of an OpenSSL result (SSL_get_error, OpenSSL 3 ssl(7)). The error
 * queue is left to the caller after a handshake (li_tls_error_string says why a peer
 * was refused) and cleared otherwise, so that it cannot spoil the next call's result. */
static li_err map_ssl(li_conn *c, int rc, int handshake)
{
    li_err err;
    switch (SSL_get_error(c->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        c->want = POLLIN;
        return LI_AGAIN;
    case SSL_ERROR_WANT_WRITE:
        c->want = POLLOUT;
        return LI_AGAIN;
    case SSL_ERROR_ZERO_RETURN:   /* close_notify */
        err = LI_ERR_CLOSED;
        break;
    case SSL_ERROR_SYSCALL:       /* EOF without close_notify, or a socket error */
        err = ERR_peek_error() ? LI_ERR_TLS
              : errno == 0 || errno == ECONNRESET || errno == EPIPE ? LI_ERR_CLOSED
                                                                     : LI_ERR_IO;
        break;
    default:
        err = LI_ERR_TLS;
        break;
    }
    if (!handshake)
        ERR_clear_error();
    return err;
}

/* The result of SSL_read_ex or SSL_write_ex. */
static li_err after_io(li_conn *c, int rc)
{
    return rc == 1 ? LI_OK : map_ssl(c, rc, 0);
}

li_err li_conn_handshake(li_conn *c)
{
    errno = 0;
    int rc = SSL_do_handshake(c->ssl);
    return rc == 1 ? LI_OK : map_ssl(c, rc, 1);
}

li_err li_conn_recv(li_conn *c, void *buf, size_t size, size_t *got)
{
    if (c->fd < 0)
        return LI_ERR_CLOSED;
    errno = 0;
    if (c->ssl)
        return after_io(c, SSL_read_ex(c->ssl, buf, size, got));
    ssize_t n = recv(c->fd, buf, size, 0);
    if (n > 0) {
        *got = (size_t)n;
        return LI_OK;
    }
    return n == 0 ? LI_ERR_CLOSED : map_errno(c, POLLIN);
}

li_err li_conn_send(li_conn *c, const void *buf, size_t n, size_t *sent)
{
    if (c->fd < 0)
        return LI_ERR_CLOSED;
    errno = 0;
    if (c->ssl)
        return after_io(c, SSL_write_ex(c->ssl, buf, n, sent));
    ssize_t k = send(c->fd, buf, n, MSG_NOSIGNAL);
    if (k >= 0) {
        *sent = (size_t)k;
        return LI_OK;
    }
    return map_errno(c, POLLOUT);
}

li_err li_conn_wait(const li_conn *c, short events, uint64_t deadline_ns)
{
    for (;;) {
        if (c->cancel && atomic_load(c->cancel))
            return LI_ERR_CLOSED;
        uint64_t now = li_mono_ns();
        if (now >= deadline_ns)
            return LI_ERR_TIMEOUT;
        uint64_t left_ms = (deadline_ns - now + 999999) / 1000000;
        struct pollfd p = { .fd = c->fd, .events = events };
        int rc = poll(&p, 1, left_ms > 250 ? 250 : (int)left_ms);
        if (rc > 0)
            return LI_OK;
        if (rc < 0 && errno != EINTR)
            return LI_ERR_IO;
    }
}

li_err li_conn_handshake_until(li_conn *c, uint64_t deadline_ns)
{
    for (;;) {
        li_err err = li_conn_handshake(c);
        if (err == LI_AGAIN)
            err = li_conn_wait(c, c->want, deadline_ns);
        else
            return err == LI_ERR_CLOSED ? LI_ERR_TLS : err;
        if (err != LI_OK)
            return err;
    }
}

li_err li_conn_send_all(li_conn *c, const void *p, size_t n, uint64_t deadline_ns)
{
    const uint8_t *b = p;
    while (n > 0) {
        size_t done = 0;
        li_err err = li_conn_send(c, b, n, &done);
        if (err == LI_OK) {
            b += done;
            n -= done;
            continue;
        }
        if (err != LI_AGAIN || (err = li_conn_wait(c, c->want, deadline_ns)) != LI_OK)
            return err;
    }
    return LI_OK;
}

li_err li_conn_recv_until(li_conn *c, void *buf, size_t size, size_t *got,
                          uint64_t deadline_ns)
{
    for (;;) {
        li_err err = li_conn_recv(c, buf, size, got);
        if (err != LI_AGAIN || (err = li_conn_wait(c, c->want, deadline_ns)) != LI_OK)
            return err;
    }
}
