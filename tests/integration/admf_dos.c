/* Issue 15 item 6 on the ADMF's REST API (the real daemon): a request with a 1 MiB body
 * and no credentials is answered 401 from its head alone, the body never sent; then a
 * slowloris of 1,000 connections (half idle TCP, half TLS sending a request head one
 * byte a second, reconnecting whenever dropped, from 125 source addresses) and 100 more
 * from one address, while an operator creates and reads destinations and /healthz is
 * polled: every legitimate request is answered within 2 s (the clients' budget is 5 s)
 * and nothing is lost. Before
 * the fix 1,000 idle sockets made every request time out. Loopback only, about 15 s. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "admf_util.h"
#include "dos_util.h"

static admf_daemon d;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static SSL_CTX *anonymous_tls(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx)
        SSL_CTX_load_verify_locations(ctx, admf_fmt("%s/ca.pem", admf_pki()), NULL);
    return ctx;
}

/* The head of a POST announcing a 1 MiB body, without credentials; the status line of
 * the answer read within 2 s, the body never sent ("" when none came). */
static const char *post_head_only(SSL_CTX *ctx)
{
    static char line[64];
    line[0] = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(d.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct timeval tv = { .tv_sec = 2 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL *ssl = NULL;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && (ssl = SSL_new(ctx)) &&
        SSL_set_fd(ssl, fd) && SSL_connect(ssl) == 1) {
        const char *head = "POST /v1/destinations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Content-Type: application/json\r\nX-Reason: t\r\n"
                           "Content-Length: 1048576\r\n\r\n";
        char buf[512];
        int n;
        if (SSL_write(ssl, head, (int)strlen(head)) > 0 &&
            (n = SSL_read(ssl, buf, sizeof buf - 1)) > 0) {
            buf[n] = 0;
            snprintf(line, sizeof line, "%.*s", (int)strcspn(buf, "\r\n"), buf);
        }
    }
    SSL_free(ssl);
    close(fd);
    return line;
}

static uint64_t worst_ms;
static int slow_requests;

static admf_resp *timed(admf_client *c, const char *method, const char *path, json_t *body,
                        const char *headers)
{
    uint64_t t0 = mono_ms();
    admf_resp *r = admf_req(c, method, path, body, headers);
    uint64_t ms = mono_ms() - t0;
    if (ms > worst_ms)
        worst_ms = ms;
    if (ms > 2000) {
        slow_requests++;
        printf("slow: %s %s took %llu ms (status %d)\n", method, path,
               (unsigned long long)ms, r->status);
    }
    return r;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    dos_raise_nofile(8192);
    admf_daemon_init(&d, "admf-dos", NULL);
    admf_daemon_set(&d, "rest.idle_timeout_s", "3");
    admf_daemon_start(&d);
    admf_client *op = admf_client_new(&d, "operator", NULL);
    admf_client *anon = admf_client_new(&d, NULL, NULL);
    SSL_CTX *tls = anonymous_tls();
    check(tls != NULL, "a TLS client context");

    /* No body is read before authentication. */
    uint64_t t0 = mono_ms();
    const char *line = post_head_only(tls);
    check(strncmp(line, "HTTP/1.1 401", 12) == 0 && mono_ms() - t0 < 1500,
          "a 1 MiB POST without credentials is answered 401 from its head (%s, %llu ms)",
          line, (unsigned long long)(mono_ms() - t0));

    dos_attack *one = dos_attack_start(d.port, 100, 0x7f000002, 100, tls, 1000);
    dos_attack *flood = dos_attack_start(d.port, 1000, 0x7f000100, 8, tls, 1000);
    check(one && flood, "1,100 attacking connections opened");
    if (!one || !flood)
        return admf_finish(&d);

    const char *pin = admf_cert_sha256("lemf");
    size_t created = 0, healthy = 0, rounds = 0;
    uint64_t end = mono_ms() + 6000;
    while (mono_ms() < end) {
        const char *id = admf_fmt("lea%zu", rounds);
        json_t *dest = J("{s:s, s:s, s:s, s:s, s:s, s:s, s:[s]}", "id", id, "name", "LEA",
                         "hi2_address", "127.0.0.1:6000", "operator_id", "OP1",
                         "network_element_id", "NE1", "delivery_country", "DE",
                         "pinned_sha256", pin);
        admf_resp *r = timed(op, "POST", "/v1/destinations", dest, "X-Reason: dos test");
        created += r->status == 201;
        if (r->status != 201)
            printf("create %s: %d %s\n", id, r->status, r->raw ? r->raw : "");
        r = timed(op, "GET", admf_fmt("/v1/destinations/%s", id), NULL, NULL);
        check(r->status == 200, "destination %s read back under the flood (%d)", id,
              r->status);
        r = timed(anon, "GET", "/healthz", NULL, NULL);
        healthy += r->status == 200;
        if (r->status != 200)
            printf("healthz: %d\n", r->status);
        rounds++;
    }
    dos_stats s_one, s_flood;
    dos_attack_stop(one, &s_one);
    dos_attack_stop(flood, &s_flood);
    printf("%zu rounds, slowest request %llu ms; flood opened %llu, dropped %llu, slow "
           "bytes %llu; one address opened %llu, dropped %llu\n",
           rounds, (unsigned long long)worst_ms, (unsigned long long)s_flood.opened,
           (unsigned long long)s_flood.dropped, (unsigned long long)s_flood.bytes,
           (unsigned long long)s_one.opened, (unsigned long long)s_one.dropped);
    check(rounds >= 5 && created == rounds && healthy == rounds,
          "every create and /healthz answered under the flood (%zu/%zu created, %zu healthy)",
          created, rounds, healthy);
    check(slow_requests == 0, "no legitimate request took over 2 s (slowest %llu ms)",
          (unsigned long long)worst_ms);
    /* 8 connections per address (rest.max_connections_per_address): the one address's
     * 92 others were refused, again and again; idle ones went at rest.idle_timeout_s. */
    check(s_one.dropped >= 92, "one address beyond 8 connections refused (%llu)",
          (unsigned long long)s_one.dropped);
    check(s_flood.bytes >= 500 && s_flood.dropped >= 500,
          "the flood sent its slow bytes, its idle sockets were timed out (%llu dropped)",
          (unsigned long long)s_flood.dropped);
    admf_resp *r = admf_req(op, "GET", "/v1/destinations", NULL, NULL);
    check(admf_n(r) == created, "nothing lost: %zu destinations listed, %zu created",
          admf_n(r), created);
    SSL_CTX_free(tls);
    check(admf_daemon_stop(&d) == 0, "limf-admf exits cleanly");
    return admf_finish(&d);
}
