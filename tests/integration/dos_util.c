#include "dos_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The start of a TLS 1.2 record carrying a ClientHello: a server waits for the rest. */
static const uint8_t HELLO[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03 };
static const char HEAD[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaa";

typedef struct slot {
    int fd;
    SSL *ssl;
    size_t sent;
    uint64_t next_ms; /* the next slow byte's time */
    int slow;
    uint32_t src; /* source address, host order */
} slot;

struct dos_attack {
    pthread_t thread;
    atomic_int stop;
    uint16_t port;
    SSL_CTX *tls;
    int slow_ms;
    slot *slots;
    size_t n;
    dos_stats st;
};

static void drop(slot *s)
{
    if (s->ssl)
        SSL_free(s->ssl);
    s->ssl = NULL;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

/* Connects s from its source address; with tls, completes the handshake (blocking, 2 s
 * at most) before the socket turns non-blocking. */
static int open_slot(dos_attack *a, slot *s)
{
    s->sent = 0;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return -1;
    struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(s->src) };
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(a->port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct timeval tv = { .tv_sec = 2 };
    setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (bind(s->fd, (struct sockaddr *)&src, sizeof src) != 0 ||
        connect(s->fd, (struct sockaddr *)&dst, sizeof dst) != 0) {
        drop(s);
        return -1;
    }
    if (s->slow && a->tls) {
        s->ssl = SSL_new(a->tls);
        if (!s->ssl || !SSL_set_fd(s->ssl, s->fd) || SSL_connect(s->ssl) != 1) {
            drop(s);
            return -1;
        }
    }
    fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
    a->st.opened++;
    return 0;
}

/* 1 when the server has closed s (or reset it). */
static int closed_by_server(slot *s)
{
    struct pollfd p = { .fd = s->fd, .events = POLLIN };
    if (poll(&p, 1, 0) <= 0)
        return 0;
    if (p.revents & (POLLHUP | POLLERR))
        return 1;
    char b[256];
    if (s->ssl) {
        /* TLS 1.3 tickets are read and ignored; an answer (408) or an end is a drop. */
        int r = SSL_read(s->ssl, b, sizeof b);
        return r > 0 || SSL_get_error(s->ssl, r) != SSL_ERROR_WANT_READ;
    }
    ssize_t n = recv(s->fd, b, sizeof b, MSG_PEEK);
    return n >= 0 || errno != EAGAIN; /* an alert, an end, a reset */
}

static void send_slow(dos_attack *a, slot *s)
{
    const uint8_t *msg = a->tls ? (const uint8_t *)HEAD : HELLO;
    size_t len = a->tls ? sizeof HEAD - 1 : sizeof HELLO;
    if (s->sent >= len)
        return; /* keeps the last byte's request open: the head never ends */
    int ok = s->ssl ? SSL_write(s->ssl, msg + s->sent, 1) == 1
                    : send(s->fd, msg + s->sent, 1, MSG_NOSIGNAL) == 1;
    if (ok) {
        s->sent++;
        a->st.bytes++;
    }
}

static uint64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Each pass reopens a few dropped connections only (a TLS one takes a handshake), so
 * that the slow bytes of the others keep their pace. */
static void *attack_main(void *arg)
{
    dos_attack *a = arg;
    while (!atomic_load(&a->stop)) {
        size_t reopened = 0;
        for (size_t i = 0; i < a->n && !atomic_load(&a->stop); i++) {
            slot *s = &a->slots[i];
            if (s->fd >= 0 && closed_by_server(s)) {
                a->st.dropped++;
                drop(s);
            }
            uint64_t now = ms_now();
            if (s->fd < 0) {
                if (reopened++ < 16 && open_slot(a, s) == 0)
                    s->next_ms = now + (uint64_t)a->slow_ms;
            } else if (s->slow && now >= s->next_ms) {
                send_slow(a, s);
                s->next_ms = now + (uint64_t)a->slow_ms;
            }
        }
        struct timespec ts = { .tv_nsec = 50 * 1000000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

dos_attack *dos_attack_start(uint16_t port, size_t n, uint32_t src, size_t per_address,
                             SSL_CTX *tls, int slow_ms)
{
    dos_attack *a = calloc(1, sizeof *a);
    if (!a || !(a->slots = calloc(n, sizeof *a->slots))) {
        free(a);
        return NULL;
    }
    a->port = port;
    a->tls = tls;
    a->slow_ms = slow_ms;
    a->n = n;
    for (size_t i = 0; i < n; i++) {
        a->slots[i].fd = -1;
        a->slots[i].slow = i % 2;
        a->slots[i].src = src + (uint32_t)(i / per_address);
    }
    for (size_t i = 0; i < n; i++) {
        open_slot(a, &a->slots[i]);
        a->slots[i].next_ms = ms_now() + (uint64_t)slow_ms;
    }
    if (pthread_create(&a->thread, NULL, attack_main, a) != 0) {
        fprintf(stderr, "cannot start the attack thread\n");
        for (size_t i = 0; i < n; i++)
            drop(&a->slots[i]);
        free(a->slots);
        free(a);
        return NULL;
    }
    return a;
}

void dos_attack_stop(dos_attack *a, dos_stats *out)
{
    atomic_store(&a->stop, 1);
    pthread_join(a->thread, NULL);
    a->st.open_now = 0;
    for (size_t i = 0; i < a->n; i++) {
        a->st.open_now += a->slots[i].fd >= 0;
        drop(&a->slots[i]);
    }
    *out = a->st;
    free(a->slots);
    free(a);
}

void dos_raise_nofile(size_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t v = want < rl.rlim_max ? want : rl.rlim_max;
    if (rl.rlim_cur < v) {
        rl.rlim_cur = v;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}
