#include "x2x3_test_ingest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "li_time.h"
#include "x2x3_pdu.h"

static int flag(x2x3_test_ingest *g, const int *f)
{
    pthread_mutex_lock(&g->mu);
    int v = *f;
    pthread_mutex_unlock(&g->mu);
    return v;
}

/* Reads PDUs until the peer closes, `drop` or `stop`. */
static void serve(x2x3_test_ingest *g, SSL *ssl, int fd, size_t idx)
{
    li_buf in;
    li_buf_init(&in, 0);
    while (!flag(g, &g->stop) && !flag(g, &g->drop)) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (SSL_pending(ssl) == 0 && poll(&p, 1, 20) <= 0)
            continue;
        uint8_t buf[16384];
        int n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0)
            break;
        li_buf_append(&in, buf, (size_t)n);
        size_t off = 0, used;
        x2x3_pdu pdu;
        while (x2x3_pdu_decode(in.data + off, in.len - off, 0, &pdu, &used, NULL) == LI_OK) {
            pthread_mutex_lock(&g->mu);
            if (pdu.pdu_type == X2X3_PDU_KEEPALIVE) {
                g->keepalives++;
                if (g->answer) {
                    li_buf ack;
                    li_buf_init(&ack, 0);
                    x2x3_keepalive_ack_encode(&ack, &pdu);
                    SSL_write(ssl, ack.data, (int)ack.len);
                    li_buf_free(&ack);
                }
            } else {
                g->pdus++;
                if (idx < X2X3_TEST_CONNS) {
                    li_buf_append(&g->stream[idx], in.data + off, used);
                    g->stream_pdus[idx]++;
                }
            }
            pthread_mutex_unlock(&g->mu);
            off += used;
        }
        li_buf_consume(&in, off);
    }
    li_buf_free(&in);
}

static void *ingest_thread(void *arg)
{
    x2x3_test_ingest *g = arg;
    while (!flag(g, &g->stop)) {
        struct pollfd p = { g->listen_fd, POLLIN, 0 };
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(g->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        SSL *ssl = SSL_new(g->ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) == 1) {
            pthread_mutex_lock(&g->mu);
            size_t idx = g->conns++;
            g->open++;
            g->drop = 0;
            int refuse = g->refuse;
            pthread_mutex_unlock(&g->mu);
            if (!refuse)
                serve(g, ssl, fd, idx);
            pthread_mutex_lock(&g->mu);
            g->open--;
            pthread_mutex_unlock(&g->mu);
        }
        SSL_free(ssl);
        close(fd);
    }
    return NULL;
}

int x2x3_test_ingest_start(x2x3_test_ingest *g, const char *pki_dir, const char *role,
                           int answer)
{
    char cert[512], key[512], ca[512], err[256];
    memset(g, 0, sizeof *g);
    g->listen_fd = -1;
    g->answer = answer;
    pthread_mutex_init(&g->mu, NULL);
    for (size_t i = 0; i < X2X3_TEST_CONNS; i++)
        li_buf_init(&g->stream[i], 0);
    snprintf(cert, sizeof cert, "%s/%s.pem", pki_dir, role);
    snprintf(key, sizeof key, "%s/%s.key", pki_dir, role);
    snprintf(ca, sizeof ca, "%s/ca.pem", pki_dir);
    li_tls_opts o = { .server = 1, .cert_file = cert, .key_file = key, .ca_file = ca };
    if (!(g->ctx = li_tls_ctx_new(&o, err, sizeof err))) {
        fprintf(stderr, "test ingest TLS: %s\n", err);
        return -1;
    }
    g->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (g->listen_fd < 0 || bind(g->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(g->listen_fd, 8) != 0 ||
        getsockname(g->listen_fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    g->port = ntohs(a.sin_port);
    return pthread_create(&g->thread, NULL, ingest_thread, g) == 0 ? 0 : -1;
}

void x2x3_test_ingest_stop(x2x3_test_ingest *g)
{
    x2x3_test_ingest_set(g, &g->stop, 1);
    pthread_join(g->thread, NULL);
    close(g->listen_fd);
    SSL_CTX_free(g->ctx);
    for (size_t i = 0; i < X2X3_TEST_CONNS; i++)
        li_buf_free(&g->stream[i]);
    pthread_mutex_destroy(&g->mu);
}

size_t x2x3_test_ingest_get(x2x3_test_ingest *g, const size_t *field)
{
    pthread_mutex_lock(&g->mu);
    size_t v = *field;
    pthread_mutex_unlock(&g->mu);
    return v;
}

void x2x3_test_ingest_set(x2x3_test_ingest *g, int *field, int value)
{
    pthread_mutex_lock(&g->mu);
    *field = value;
    pthread_mutex_unlock(&g->mu);
}

int x2x3_test_ingest_wait(x2x3_test_ingest *g, const size_t *field, size_t want, int exactly,
                          int timeout_ms)
{
    uint64_t deadline = li_mono_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        size_t v = x2x3_test_ingest_get(g, field);
        if (exactly ? v == want : v >= want)
            return 1;
        if (li_mono_ns() >= deadline) {
            fprintf(stderr, "test ingest: have %zu, want %s%zu\n", v, exactly ? "" : ">= ",
                    want);
            return 0;
        }
        usleep(10000);
    }
}
