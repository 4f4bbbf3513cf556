/* See li_httpd.h. */
#include "li_httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "li_conn.h"
#include "li_net.h"
#include "li_time.h"

typedef struct conn {
    struct conn *next;
    li_conn lc;         /* plain TCP, or TLS when opts.tls */
    int handshaking;    /* TLS: the handshake is not complete yet */
    uint64_t deadline_ns;
    li_buf in;
    li_buf out;
    size_t sent;
    int continued;      /* "100 Continue" queued */
    int answering;      /* out holds the final answer: read no more */
    int draining;       /* answer sent: discard input until the peer closes */
} conn;

struct li_httpd {
    li_httpd_opts opts;
    int epfd, lfd;
    uint16_t port;
    char *unix_path;            /* the socket file to remove, or NULL */
    conn *conns;
    size_t n_conns;
    _Atomic uint64_t refused;   /* by opts.admit */
};

li_err li_httpd_parse_request(const uint8_t *buf, size_t len, size_t max_body,
                              li_http_head *head, size_t *total, int *status)
{
    size_t head_len;
    li_err err = li_http_parse_head(buf, len, 0, head, &head_len);
    if (err == LI_AGAIN)
        return LI_AGAIN;
    if (err != LI_OK) {
        *status = 400;
        return LI_ERR_PROTO;
    }
    /* RFC 9112 6.1: a server that does not understand the transfer coding answers 501. */
    if (head->chunked) {
        *status = 501;
        return LI_ERR_PROTO;
    }
    if (head->content_length > max_body) {
        *status = 413;
        return LI_ERR_TOO_BIG;
    }
    *total = head_len + head->content_length;
    return len >= *total ? LI_OK : LI_AGAIN;
}

static const char *reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return status < 500 ? "Client Error" : "Server Error";
    }
}

/* Queues the whole answer in c->out. RFC 9110 6.4.1: 204 has no body and no length. */
static void queue_answer(conn *c, const li_httpd_response *r)
{
    li_buf_printf(&c->out, "HTTP/1.1 %d %s\r\nConnection: close\r\n", r->status,
                  reason(r->status));
    if (r->content_type && r->status != 204)
        li_buf_printf(&c->out, "Content-Type: %s\r\n", r->content_type);
    if (r->allow)
        li_buf_printf(&c->out, "Allow: %s\r\n", r->allow);
    if (r->status != 204)
        li_buf_printf(&c->out, "Content-Length: %zu\r\n", r->body.len);
    li_buf_append(&c->out, "\r\n", 2);
    if (r->status != 204)
        li_buf_append(&c->out, r->body.data, r->body.len);
    c->answering = 1;
}

static void answer_error(conn *c, int status)
{
    li_httpd_response r = { .status = status, .content_type = "text/plain; charset=utf-8" };
    li_buf_init(&r.body, 0);
    li_buf_printf(&r.body, "%s\n", reason(status));
    queue_answer(c, &r);
    li_buf_free(&r.body);
}

static void conn_close(li_httpd *h, conn *c)
{
    for (conn **p = &h->conns; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    h->n_conns--;
    li_conn_close(&c->lc);
    li_buf_free(&c->in);
    li_buf_free(&c->out);
    free(c);
}

/* Waits in the epoll set for what the connection's last LI_AGAIN asked for. */
static void conn_want(li_httpd *h, conn *c)
{
    struct epoll_event e = { .events = c->lc.want & POLLOUT ? EPOLLOUT : EPOLLIN,
                             .data.ptr = c };
    epoll_ctl(h->epfd, EPOLL_CTL_MOD, c->lc.fd, &e);
}

/* After the answer: RFC 9112 9.6, closing with unread input would reset the connection
 * and could destroy the answer before the client reads it, so the server half-closes
 * and discards what still arrives until the client closes (or the deadline). */
static int conn_linger(li_httpd *h, conn *c)
{
    if (!c->draining) {
        li_conn_shutdown(&c->lc);   /* TLS: close_notify first (RFC 8446 6.1) */
        shutdown(c->lc.fd, SHUT_WR);
        c->draining = 1;
    }
    uint8_t chunk[4096];
    size_t got;
    li_err err;
    while ((err = li_conn_recv(&c->lc, chunk, sizeof chunk, &got)) == LI_OK)
        ;
    if (err != LI_AGAIN)
        return 1;
    conn_want(h, c);
    return 0;
}

/* Writes what is queued; 1 when the connection is done with (the peer gone, or it
 * closed after the final answer). */
static int conn_flush(li_httpd *h, conn *c)
{
    while (c->sent < c->out.len) {
        size_t n = 0;
        li_err err = li_conn_send(&c->lc, c->out.data + c->sent, c->out.len - c->sent, &n);
        if (err == LI_AGAIN) {
            conn_want(h, c);
            return 0;
        }
        if (err != LI_OK)
            return 1;
        c->sent += n;
    }
    return c->answering && conn_linger(h, c);
}

static void dispatch(li_httpd *h, conn *c, const li_http_head *head, size_t total)
{
    li_httpd_request req = { .method = head->method, .path = head->path,
                             .body = head->content_length ? c->in.data + (total -
                                                            head->content_length) : NULL,
                             .body_len = head->content_length,
                             .peer_verified = h->opts.tls != NULL };
    li_httpd_response r = { .status = 200 };
    li_buf_init(&r.body, 0);
    h->opts.handler(h->opts.ctx, &req, &r);
    queue_answer(c, &r);
    li_buf_free(&r.body);
}

/* Reads what has arrived and answers once the request is complete. */
static void conn_read(li_httpd *h, conn *c)
{
    uint8_t chunk[4096];
    if (c->handshaking) {
        li_err err = li_conn_handshake(&c->lc);
        if (err == LI_AGAIN) {
            conn_want(h, c);
            return;
        }
        if (err != LI_OK) {     /* no certificate, or one the CA did not sign */
            conn_close(h, c);
            return;
        }
        c->handshaking = 0;
    }
    for (;;) {
        size_t n = 0;
        li_err rerr = li_conn_recv(&c->lc, chunk, sizeof chunk, &n);
        if (rerr == LI_AGAIN) {
            conn_want(h, c);
            break;
        }
        if (rerr != LI_OK || li_buf_append(&c->in, chunk, n) != LI_OK) {
            conn_close(h, c);   /* peer gone before its request was complete */
            return;
        }
        li_http_head head;
        size_t total = 0;
        int status = 400;
        li_err err = li_httpd_parse_request(c->in.data, c->in.len, h->opts.max_body, &head,
                                            &total, &status);
        if (err == LI_OK) {
            dispatch(h, c, &head, total);
            break;
        }
        if (err != LI_AGAIN) {
            answer_error(c, status);
            break;
        }
        if (total && head.expect_continue && !c->continued) {
            li_buf_printf(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
            c->continued = 1;
        }
    }
    if (conn_flush(h, c))
        conn_close(h, c);
}

static void accept_all(li_httpd *h)
{
    for (;;) {
        int fd = accept4(h->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        if (h->opts.admit && !h->opts.admit(h->opts.ctx, fd)) {
            atomic_fetch_add(&h->refused, 1);
            close(fd);
            continue;
        }
        conn *c = h->n_conns < h->opts.max_connections ? calloc(1, sizeof *c) : NULL;
        if (!c) {
            close(fd);
            continue;
        }
        li_conn_init(&c->lc);
        if (li_conn_attach(&c->lc, fd, h->opts.tls, 1) != LI_OK) {   /* closes fd */
            free(c);
            continue;
        }
        c->handshaking = h->opts.tls != NULL;
        c->deadline_ns = li_mono_ns() + (uint64_t)h->opts.timeout_ms * 1000000u;
        /* The whole request is held: its head and the largest body allowed. */
        li_buf_init(&c->in, LI_HTTP_MAX_HEAD + h->opts.max_body);
        li_buf_init(&c->out, 0);
        struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
            li_conn_close(&c->lc);
            li_buf_free(&c->in);
            free(c);
            continue;
        }
        c->next = h->conns;
        h->conns = c;
        h->n_conns++;
    }
}

static void expire(li_httpd *h)
{
    uint64_t now = li_mono_ns();
    for (conn *c = h->conns, *next; c; c = next) {
        next = c->next;
        if (now >= c->deadline_ns)
            conn_close(h, c);
    }
}

void li_httpd_run(li_httpd *h, int timeout_ms)
{
    struct epoll_event ev[32];
    int n = epoll_wait(h->epfd, ev, 32, timeout_ms);
    for (int i = 0; i < n; i++) {
        if (!ev[i].data.ptr) {
            accept_all(h);
            continue;
        }
        conn *c = ev[i].data.ptr;
        if (c->draining) {
            if (conn_linger(h, c))
                conn_close(h, c);
        } else if (c->answering) {
            if (conn_flush(h, c))
                conn_close(h, c);
        } else {
            conn_read(h, c);
        }
    }
    expire(h);
}

static int is_loopback(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return 0;
}

static int watch_listener(li_httpd *h, char *errstr, size_t errstr_size)
{
    struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
    if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->lfd, &e) != 0) {
        snprintf(errstr, errstr_size, "epoll_ctl: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int open_listener(li_httpd *h, const char *spec, char *errstr, size_t errstr_size)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    /* A host name only where the address need not be loopback (li_hostport's rules). */
    unsigned flags = LI_HOSTPORT_PORT0 | LI_HOSTPORT_ANY |
                     (h->opts.loopback_only ? 0 : LI_HOSTPORT_NAME);
    if (!spec || li_net_address(spec, flags, "listen address", &ss, &len, errstr,
                                errstr_size) != LI_OK)
        return -1;
    if (h->opts.loopback_only && !is_loopback(&ss)) {
        snprintf(errstr, errstr_size, "%s: must be a loopback address", spec);
        return -1;
    }
    if (li_net_listen_at(&ss, len, 64, LI_NET_NONBLOCK, &h->lfd, &h->port, errstr,
                         errstr_size) != LI_OK)
        return -1;
    return watch_listener(h, errstr, errstr_size);
}

static int open_unix_listener(li_httpd *h, const char *path, unsigned mode, const char *what,
                              char *errstr, size_t errstr_size)
{
    if (li_net_listen_unix(path, (mode_t)mode, 64, LI_NET_NONBLOCK, what, &h->lfd, errstr,
                           errstr_size) != LI_OK)
        return -1;
    if (!(h->unix_path = strdup(path))) {
        unlink(path);
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    return watch_listener(h, errstr, errstr_size);
}

/* The server without its listener. */
static li_httpd *httpd_alloc(const li_httpd_opts *opts, char *errstr, size_t errstr_size)
{
    li_httpd *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    h->opts = *opts;
    h->lfd = -1;
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (h->epfd < 0) {
        snprintf(errstr, errstr_size, "epoll_create1: %s", strerror(errno));
        li_httpd_free(h);
        return NULL;
    }
    return h;
}

li_httpd *li_httpd_new(const char *listen, const li_httpd_opts *opts, char *errstr,
                       size_t errstr_size)
{
    li_httpd *h = httpd_alloc(opts, errstr, errstr_size);
    if (h && open_listener(h, listen, errstr, errstr_size) != 0) {
        li_httpd_free(h);
        return NULL;
    }
    return h;
}

li_httpd *li_httpd_new_unix(const char *path, unsigned mode, const char *what,
                            const li_httpd_opts *opts, char *errstr, size_t errstr_size)
{
    li_httpd *h = httpd_alloc(opts, errstr, errstr_size);
    if (h && open_unix_listener(h, path, mode, what, errstr, errstr_size) != 0) {
        li_httpd_free(h);
        return NULL;
    }
    return h;
}

uint64_t li_httpd_refused(const li_httpd *h)
{
    return atomic_load(&h->refused);
}

uint16_t li_httpd_port(const li_httpd *h)
{
    return h->port;
}

int li_httpd_fd(const li_httpd *h)
{
    return h->epfd;
}

void li_httpd_free(li_httpd *h)
{
    if (!h)
        return;
    while (h->conns)
        conn_close(h, h->conns);
    if (h->lfd >= 0)
        close(h->lfd);
    if (h->unix_path)
        unlink(h->unix_path);
    free(h->unix_path);
    if (h->epfd >= 0)
        close(h->epfd);
    free(h);
}
