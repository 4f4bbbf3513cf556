#include "li_net.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "li_time.h"

li_err li_net_resolve(const li_hostport *hp, struct sockaddr_storage *ss, socklen_t *len)
{
    char service[8];
    snprintf(service, sizeof service, "%u", hp->port);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV | (hp->host[0] ? 0 : AI_PASSIVE) };
    struct addrinfo *ai = NULL;
    if (getaddrinfo(hp->host[0] ? hp->host : NULL, service, &hints, &ai) != 0 || !ai)
        return LI_ERR_NOT_FOUND;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return LI_OK;
}

li_err li_net_address(const char *text, unsigned flags, const char *what,
                      struct sockaddr_storage *ss, socklen_t *len, char *errstr,
                      size_t errstr_size)
{
    li_hostport hp;
    memset(ss, 0, sizeof *ss);
    if (li_hostport_parse(text, flags, &hp) != LI_OK) {
        snprintf(errstr, errstr_size, "%s: bad address '%s' (%shost:port)", what, text,
                 flags & LI_HOSTPORT_NAME ? "" : "numeric ");
        return LI_ERR_INVAL;
    }
    if (li_net_resolve(&hp, ss, len) != LI_OK) {
        snprintf(errstr, errstr_size, "%s: cannot resolve '%s'", what, hp.host);
        return LI_ERR_INVAL;
    }
    return LI_OK;
}

uint16_t li_net_port(const struct sockaddr_storage *ss)
{
    return ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
                                          : ((const struct sockaddr_in *)ss)->sin_port);
}

li_err li_net_listen_at(const struct sockaddr_storage *ss, socklen_t len, int backlog,
                        unsigned options, int *fd, uint16_t *port, char *errstr,
                        size_t errstr_size)
{
    int type = SOCK_STREAM | SOCK_CLOEXEC | (options & LI_NET_NONBLOCK ? SOCK_NONBLOCK : 0);
    int s = socket(ss->ss_family, type, 0), one = 1;
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(s, (const struct sockaddr *)ss, len) != 0 || listen(s, backlog) != 0 ||
        getsockname(s, (struct sockaddr *)&bound, &bl) != 0) {
        snprintf(errstr, errstr_size, "listen on port %u: %s", li_net_port(ss),
                 strerror(errno));
        if (s >= 0)
            close(s);
        return LI_ERR_IO;
    }
    *fd = s;
    *port = li_net_port(&bound);
    return LI_OK;
}

li_err li_net_listen(const char *text, unsigned flags, const char *what, int backlog,
                     unsigned options, int *fd, uint16_t *port, char *errstr,
                     size_t errstr_size)
{
    struct sockaddr_storage ss;
    socklen_t len;
    li_err err = li_net_address(text, flags | LI_HOSTPORT_PORT0, what, &ss, &len, errstr,
                                errstr_size);
    if (err == LI_OK &&
        li_net_listen_at(&ss, len, backlog, options, fd, port, errstr, errstr_size) != LI_OK) {
        size_t at = strlen(errstr);
        snprintf(errstr + at, errstr_size - at, " (%s %s)", what, text);
        err = LI_ERR_IO;
    }
    return err;
}

/* Waits until fd's connect() completes: LI_OK, or the reason it did not. */
static li_err connect_wait(int fd, uint64_t deadline_ns, const atomic_int *cancel)
{
    for (;;) {
        if (cancel && atomic_load(cancel))
            return LI_ERR_CLOSED;
        uint64_t now = li_mono_ns();
        if (now >= deadline_ns)
            return LI_ERR_TIMEOUT;
        uint64_t left_ms = (deadline_ns - now + 999999) / 1000000;
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int n = poll(&p, 1, left_ms > 250 ? 250 : (int)left_ms);
        if (n < 0 && errno != EINTR)
            return LI_ERR_IO;
        if (n > 0) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr) {
                errno = soerr;
                return LI_ERR_IO;
            }
            return LI_OK;
        }
    }
}

li_err li_net_connect(const char *host, uint16_t port, uint64_t deadline_ns,
                      const atomic_int *cancel, int *fd, char *errstr, size_t errstr_size)
{
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV };
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, service, &hints, &ai);
    if (rc != 0) {
        snprintf(errstr, errstr_size, "resolve %s: %s", host, gai_strerror(rc));
        return LI_ERR_IO;
    }
    li_err err = LI_ERR_IO;
    snprintf(errstr, errstr_size, "connect %s: no address", host);
    for (struct addrinfo *a = ai; a && err != LI_OK && err != LI_ERR_TIMEOUT &&
                                  err != LI_ERR_CLOSED; a = a->ai_next) {
        int s = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s < 0)
            continue;
        errno = 0;
        err = connect(s, a->ai_addr, a->ai_addrlen) == 0 ? LI_OK
              : errno == EINPROGRESS                     ? connect_wait(s, deadline_ns, cancel)
                                                         : LI_ERR_IO;
        if (err == LI_OK) {
            int one = 1;
            (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            *fd = s;
            break;
        }
        snprintf(errstr, errstr_size, "connect %s port %u: %s", host, port,
                 err == LI_ERR_TIMEOUT ? "timed out" : err == LI_ERR_CLOSED ? "cancelled"
                                                                          : strerror(errno));
        close(s);
    }
    freeaddrinfo(ai);
    return err;
}

/* A socket file nobody answers on was left by a process that died and may be replaced;
 * one that answers is another process's. */
static li_err clear_stale(const char *path, const char *what, char *errstr,
                          size_t errstr_size)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return LI_OK;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(errstr, errstr_size, "%s %s: exists and is not a socket", what, path);
        return LI_ERR_INVAL;
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int live = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
        close(fd);
    if (live) {
        snprintf(errstr, errstr_size, "%s %s: in use by a running process", what, path);
        return LI_ERR_INVAL;
    }
    unlink(path);
    return LI_OK;
}

li_err li_net_listen_unix(const char *path, mode_t mode, int backlog, unsigned options,
                          const char *what, int *fd, char *errstr, size_t errstr_size)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (!path || !*path || strlen(path) >= sizeof sa.sun_path) {
        snprintf(errstr, errstr_size, "%s: a path of 1 to %zu bytes", what,
                 sizeof sa.sun_path - 1);
        return LI_ERR_INVAL;
    }
    li_err err = clear_stale(path, what, errstr, errstr_size);
    if (err != LI_OK)
        return err;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int type = SOCK_STREAM | SOCK_CLOEXEC | (options & LI_NET_NONBLOCK ? SOCK_NONBLOCK : 0);
    int s = socket(AF_UNIX, type, 0), bound = 0;
    /* The mode is set before listen(): no connection is taken under a wider one. */
    if (s < 0 || !(bound = bind(s, (struct sockaddr *)&sa, sizeof sa) == 0) ||
        chmod(path, mode) != 0 || listen(s, backlog) != 0) {
        snprintf(errstr, errstr_size, "%s %s: %s", what, path, strerror(errno));
        if (bound)
            unlink(path);
        if (s >= 0)
            close(s);
        return LI_ERR_IO;
    }
    *fd = s;
    return LI_OK;
}
