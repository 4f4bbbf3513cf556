#include "x1_io.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "li_time.h"

li_err x1_conn_init(x1_conn *c, int fd, SSL_CTX *ctx, const atomic_int *cancel)
{
    c->fd = fd;
    c->ssl = NULL;
    c->cancel = cancel;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        x1_conn_close(c);
        return LI_ERR_IO;
    }
    /* Requests and answers are single small writes: do not let Nagle hold them back. */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->ssl = SSL_new(ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
        x1_conn_close(c);
        return LI_ERR_NOMEM;
    }
    return LI_OK;
}

/* Waits until fd is ready for what the TLS layer asked, or the deadline passes. */
static li_err wait_ready(const x1_conn *c, short events, uint64_t deadline_ns)
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

/* Maps the outcome of an SSL call: LI_AGAIN after waiting for readiness, or the error. */
static li_err after_ssl(x1_conn *c, int rc, uint64_t deadline_ns, int handshake)
{
    int e = SSL_get_error(c->ssl, rc);
    switch (e) {
    case SSL_ERROR_WANT_READ: {
        li_err err = wait_ready(c, POLLIN, deadline_ns);
        return err == LI_OK ? LI_AGAIN : err;
    }
    case SSL_ERROR_WANT_WRITE: {
        li_err err = wait_ready(c, POLLOUT, deadline_ns);
        return err == LI_OK ? LI_AGAIN : err;
    }
    case SSL_ERROR_ZERO_RETURN:
        return handshake ? LI_ERR_TLS : LI_ERR_CLOSED;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        /* EOF without close_notify: the peer went away (or refused our certificate). */
        if (errno == 0 || errno == ECONNRESET || errno == EPIPE)
            return handshake ? LI_ERR_TLS : LI_ERR_CLOSED;
        return LI_ERR_IO;
    default:
        ERR_clear_error();
        return LI_ERR_TLS;
    }
}

li_err x1_conn_handshake(x1_conn *c, int server, uint64_t deadline_ns)
{
    for (;;) {
        errno = 0;
        int rc = server ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
        if (rc == 1)
            return LI_OK;
        li_err err = after_ssl(c, rc, deadline_ns, 1);
        if (err != LI_AGAIN)
            return err;
    }
}

li_err x1_conn_write(x1_conn *c, const void *p, size_t n, uint64_t deadline_ns)
{
    const uint8_t *b = p;
    while (n > 0) {
        size_t done = 0;
        errno = 0;
        int rc = SSL_write_ex(c->ssl, b, n, &done);
        if (rc == 1) {
            b += done;
            n -= done;
            continue;
        }
        li_err err = after_ssl(c, rc, deadline_ns, 0);
        if (err != LI_AGAIN)
            return err;
    }
    return LI_OK;
}

li_err x1_conn_read_message(x1_conn *c, li_buf *in, int response, size_t max_body,
                            li_http_head *head, size_t *msg_len, uint64_t deadline_ns)
{
    size_t head_len = 0;
    int have_head = 0;
    for (;;) {
        if (!have_head) {
            li_err err = li_http_parse_head(in->data, in->len, response, head, &head_len);
            if (err == LI_OK) {
                have_head = 1;
                if (head->chunked || !head->has_length)
                    return LI_ERR_PROTO;
                if (head->content_length > max_body)
                    return LI_ERR_TOO_BIG;
            } else if (err != LI_AGAIN) {
                return err;
            }
        }
        if (have_head && in->len - head_len >= head->content_length) {
            *msg_len = head_len + head->content_length;
            return LI_OK;
        }
        uint8_t chunk[16384];
        size_t got = 0;
        errno = 0;
        int rc = SSL_read_ex(c->ssl, chunk, sizeof chunk, &got);
        if (rc == 1) {
            li_err err = li_buf_append(in, chunk, got);
            if (err != LI_OK)
                return err;
            continue;
        }
        li_err err = after_ssl(c, rc, deadline_ns, 0);
        if (err == LI_ERR_CLOSED && in->len > 0)
            return LI_ERR_PROTO; /* cut off in the middle of a message */
        if (err != LI_AGAIN)
            return err;
    }
}

void x1_conn_linger_close(x1_conn *c, uint64_t deadline_ns)
{
    if (c->ssl && SSL_is_init_finished(c->ssl))
        SSL_shutdown(c->ssl);
    if (c->fd >= 0) {
        shutdown(c->fd, SHUT_WR);
        size_t drained = 0;
        char sink[4096];
        while (drained < (1u << 20) && wait_ready(c, POLLIN, deadline_ns) == LI_OK) {
            ssize_t n = recv(c->fd, sink, sizeof sink, 0);
            if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR)))
                break;
            if (n > 0)
                drained += (size_t)n;
        }
    }
    x1_conn_close(c);
}

void x1_conn_close(x1_conn *c)
{
    if (c->ssl) {
        /* One attempt at close_notify; a peer that is gone must not hold us up. */
        if (SSL_is_init_finished(c->ssl))
            SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    ERR_clear_error();
}
