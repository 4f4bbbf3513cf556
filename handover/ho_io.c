#include "ho_io.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ho_pdu.h"
#include "li_time.h"
#include "li_tls.h"

void ho_conn_init(ho_conn *c)
{
    c->fd = -1;
    c->ssl = NULL;
    li_buf_init(&c->rx, 0);
    c->taken = 0;
}

void ho_conn_close(ho_conn *c)
{
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    li_buf_free(&c->rx);
    li_buf_init(&c->rx, 0);
    c->taken = 0;
}

li_err ho_sockaddr(const char *hostport, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof host)
        return LI_ERR_INVAL;
    const char *h = hostport;
    size_t hl = (size_t)(colon - hostport);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    memcpy(host, h, hl);
    host[hl] = 0;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
        return LI_ERR_INVAL;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return LI_OK;
}

static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

li_err ho_listen(const char *hostport, int *fd, uint16_t *port, char *errstr, size_t errstr_size)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (ho_sockaddr(hostport, &ss, &len) != LI_OK) {
        snprintf(errstr, errstr_size, "bad listen address '%s'", hostport);
        return LI_ERR_INVAL;
    }
    int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(s, (struct sockaddr *)&ss, len) != 0 || listen(s, 64) != 0) {
        snprintf(errstr, errstr_size, "listen %s: %s", hostport, strerror(errno));
        if (s >= 0)
            close(s);
        return LI_ERR_IO;
    }
    len = sizeof ss;
    getsockname(s, (struct sockaddr *)&ss, &len);
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    *fd = s;
    return LI_OK;
}

/* Waits for the socket to become readable or writable; the remaining time is taken from
 * an absolute monotonic deadline so that retries never extend it. */
static li_err wait_fd(int fd, short events, uint64_t deadline_ns)
{
    for (;;) {
        uint64_t now = li_mono_ns();
        int ms = now >= deadline_ns ? 0 : (int)((deadline_ns - now + 999999) / 1000000);
        struct pollfd p = { .fd = fd, .events = events };
        int r = poll(&p, 1, ms);
        if (r > 0)
            return LI_OK;
        if (r == 0)
            return LI_ERR_TIMEOUT;
        if (errno != EINTR)
            return LI_ERR_IO;
    }
}

static uint64_t deadline_after(int timeout_ms)
{
    return li_mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000u;
}

/* Drives an OpenSSL call that may want to read or write until it completes. */
static li_err ssl_wait(SSL *ssl, int fd, int ret, uint64_t deadline)
{
    switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        return wait_fd(fd, POLLIN, deadline) == LI_OK ? LI_AGAIN : LI_ERR_TIMEOUT;
    case SSL_ERROR_WANT_WRITE:
        return wait_fd(fd, POLLOUT, deadline) == LI_OK ? LI_AGAIN : LI_ERR_TIMEOUT;
    case SSL_ERROR_ZERO_RETURN:
        return LI_ERR_CLOSED;
    case SSL_ERROR_SYSCALL:
        return ERR_peek_error() == 0 ? LI_ERR_CLOSED : LI_ERR_TLS;
    default:
        return LI_ERR_TLS;
    }
}

static li_err handshake(ho_conn *c, SSL_CTX *ctx, int server, uint64_t deadline, char *errstr,
                        size_t errstr_size)
{
    c->ssl = SSL_new(ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
        snprintf(errstr, errstr_size, "SSL_new failed");
        return LI_ERR_TLS;
    }
    for (;;) {
        int r = server ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
        if (r == 1)
            return LI_OK;
        li_err e = ssl_wait(c->ssl, c->fd, r, deadline);
        if (e == LI_AGAIN)
            continue;
        char ossl[256];
        li_tls_error_string(ossl, sizeof ossl);
        long v = SSL_get_verify_result(c->ssl);
        snprintf(errstr, errstr_size, "TLS handshake: %s%s%s", li_err_str(e),
                 v != X509_V_OK ? ", peer certificate: " : "",
                 v != X509_V_OK ? X509_verify_cert_error_string(v) : ossl);
        return e == LI_ERR_TIMEOUT ? e : LI_ERR_TLS;
    }
}

li_err ho_conn_connect(ho_conn *c, const char *hostport, SSL_CTX *ctx, int timeout_ms,
                       char *errstr, size_t errstr_size)
{
    struct sockaddr_storage ss;
    socklen_t len;
    uint64_t deadline = deadline_after(timeout_ms);
    ho_conn_close(c);
    if (ho_sockaddr(hostport, &ss, &len) != LI_OK) {
        snprintf(errstr, errstr_size, "bad address '%s'", hostport);
        return LI_ERR_INVAL;
    }
    c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        snprintf(errstr, errstr_size, "socket: %s", strerror(errno));
        return LI_ERR_IO;
    }
    set_nonblock(c->fd);
    if (connect(c->fd, (struct sockaddr *)&ss, len) != 0) {
        int err = errno;
        socklen_t el = sizeof err;
        if (err == EINPROGRESS) {
            if (wait_fd(c->fd, POLLOUT, deadline) != LI_OK) {
                snprintf(errstr, errstr_size, "connect %s: timeout", hostport);
                ho_conn_close(c);
                return LI_ERR_TIMEOUT;
            }
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        }
        if (err) {
            snprintf(errstr, errstr_size, "connect %s: %s", hostport, strerror(err));
            ho_conn_close(c);
            return LI_ERR_IO;
        }
    }
    li_err e = ctx ? handshake(c, ctx, 0, deadline, errstr, errstr_size) : LI_OK;
    if (e != LI_OK)
        ho_conn_close(c);
    return e;
}

li_err ho_conn_accept(ho_conn *c, int fd, SSL_CTX *ctx, int timeout_ms, char *errstr,
                      size_t errstr_size)
{
    ho_conn_close(c);
    c->fd = fd;
    set_nonblock(fd);
    li_err e = ctx ? handshake(c, ctx, 1, deadline_after(timeout_ms), errstr, errstr_size)
                   : LI_OK;
    if (e != LI_OK)
        ho_conn_close(c);
    return e;
}

li_err ho_conn_write(ho_conn *c, const void *p, size_t n, int timeout_ms)
{
    const uint8_t *b = p;
    uint64_t deadline = deadline_after(timeout_ms);
    if (c->fd < 0)
        return LI_ERR_CLOSED;
    while (n) {
        if (c->ssl) {
            size_t w = 0;
            int r = SSL_write_ex(c->ssl, b, n, &w);
            if (r == 1) {
                b += w;
                n -= w;
                continue;
            }
            li_err e = ssl_wait(c->ssl, c->fd, r, deadline);
            if (e != LI_AGAIN)
                return e;
        } else {
            ssize_t w = send(c->fd, b, n, MSG_NOSIGNAL);
            if (w > 0) {
                b += w;
                n -= (size_t)w;
                continue;
            }
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (wait_fd(c->fd, POLLOUT, deadline) != LI_OK)
                    return LI_ERR_TIMEOUT;
                continue;
            }
            return errno == EPIPE || errno == ECONNRESET ? LI_ERR_CLOSED : LI_ERR_IO;
        }
    }
    return LI_OK;
}

/* Reads what is available into rx, waiting until the deadline for the first octet. */
static li_err fill(ho_conn *c, uint64_t deadline)
{
    if (li_buf_reserve(&c->rx, 16384) != LI_OK)
        return LI_ERR_NOMEM;
    uint8_t *dst = c->rx.data + c->rx.len;
    size_t room = c->rx.cap - c->rx.len;
    for (;;) {
        if (c->ssl) {
            size_t got = 0;
            int r = SSL_read_ex(c->ssl, dst, room, &got);
            if (r == 1) {
                c->rx.len += got;
                return LI_OK;
            }
            li_err e = ssl_wait(c->ssl, c->fd, r, deadline);
            if (e == LI_ERR_TIMEOUT)
                return LI_AGAIN;
            if (e != LI_AGAIN)
                return e;
        } else {
            ssize_t got = recv(c->fd, dst, room, 0);
            if (got > 0) {
                c->rx.len += (size_t)got;
                return LI_OK;
            }
            if (got == 0)
                return LI_ERR_CLOSED;
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return errno == ECONNRESET ? LI_ERR_CLOSED : LI_ERR_IO;
            li_err e = wait_fd(c->fd, POLLIN, deadline);
            if (e == LI_ERR_TIMEOUT)
                return LI_AGAIN;
            if (e != LI_OK)
                return e;
        }
    }
}

li_err ho_conn_next_pdu(ho_conn *c, size_t max, int timeout_ms, const uint8_t **pdu, size_t *len)
{
    uint64_t deadline = deadline_after(timeout_ms);
    if (c->fd < 0)
        return LI_ERR_CLOSED;
    if (c->taken) {
        li_buf_consume(&c->rx, c->taken);
        c->taken = 0;
    }
    for (;;) {
        li_err e = ho_pdu_frame(c->rx.data, c->rx.len, max, len);
        if (e == LI_OK) {
            *pdu = c->rx.data;
            c->taken = *len;
            return LI_OK;
        }
        if (e != LI_AGAIN)
            return e;
        e = fill(c, deadline);
        if (e != LI_OK)
            return e;
    }
}
