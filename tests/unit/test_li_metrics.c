/* li_metrics: the exposition writers, and the real HTTP server scraped over loopback with
 * a plain socket (what Prometheus does): /metrics, 404, 405, /healthz, bad addresses; the
 * series that say what is intercepted only over mutual TLS (curl as the scraper, with the
 * operator's certificate, with none, with one of another CA). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "li_config.h"
#include "li_metrics.h"

static char *text_of(li_buf *b)
{
    return b->data ? (char *)b->data : "";
}

static void test_writers(void **state)
{
    (void)state;
    li_buf b;
    li_buf_init(&b, 0);
    li_metrics_put(&b, "limf_x_total", "counter", "Things seen", 18446744073709551615ull);
    li_metrics_put(&b, "limf_y", "gauge", NULL, 0);
    li_metrics_put_family(&b, "limf_z_total", "counter", "Per kind");
    li_metrics_put_labeled(&b, "limf_z_total", "kind=\"a\"", 3);
    li_metrics_put_labeled(&b, "limf_z_total", "", 4);
    li_metrics_put_labeled_gauge(&b, "limf_g", "d=\"A\"", -1);
    li_metrics_put_labeled_gauge(&b, "limf_g", "d=\"B\"", 1764282180.125);
    li_metrics_put_labeled_gauge(&b, "limf_g", NULL, 0.1);
    assert_string_equal(text_of(&b),
                        "# HELP limf_x_total Things seen\n"
                        "# TYPE limf_x_total counter\n"
                        "limf_x_total 18446744073709551615\n"
                        "# TYPE limf_y gauge\n"
                        "limf_y 0\n"
                        "# HELP limf_z_total Per kind\n"
                        "# TYPE limf_z_total counter\n"
                        "limf_z_total{kind=\"a\"} 3\n"
                        "limf_z_total 4\n"
                        "limf_g{d=\"A\"} -1\n"
                        "limf_g{d=\"B\"} 1764282180.125\n"
                        "limf_g 0.1\n");
    /* Values that need 17 digits read back exactly. */
    li_buf_reset(&b);
    double v = 1.0 / 3.0;
    li_metrics_put_labeled_gauge(&b, "g", NULL, v);
    assert_true(strtod(text_of(&b) + 2, NULL) == v);
    li_buf_reset(&b);
    li_metrics_put_labeled_gauge(&b, "g", NULL, 1.0 / 0.0);
    li_metrics_put_labeled_gauge(&b, "g", NULL, -1.0 / 0.0);
    li_metrics_put_labeled_gauge(&b, "g", NULL, 0.0 / 0.0);
    assert_string_equal(text_of(&b), "g +Inf\ng -Inf\ng NaN\n");
    li_buf_free(&b);
}

static void test_label(void **state)
{
    (void)state;
    char l[40] = "";
    assert_int_equal(li_metrics_label(l, sizeof l, "kind", "tls"), LI_OK);
    assert_int_equal(li_metrics_label(l, sizeof l, "id", "a\"b\\c\nd"), LI_OK);
    assert_string_equal(l, "kind=\"tls\",id=\"a\\\"b\\\\c\\nd\"");
    /* What does not fit leaves the text as it was, never half a label. */
    assert_int_equal(li_metrics_label(l, sizeof l, "reason", "far too long to fit"),
                     LI_ERR_TOO_BIG);
    assert_string_equal(l, "kind=\"tls\",id=\"a\\\"b\\\\c\\nd\"");
    /* Exactly full (11 characters and the NUL) fits; one more does not. */
    char f[12] = "";
    assert_int_equal(li_metrics_label(f, sizeof f, "k", "1234567"), LI_OK);
    assert_string_equal(f, "k=\"1234567\"");
    char g[12] = "";
    assert_int_equal(li_metrics_label(g, sizeof g, "k", "12345678"), LI_ERR_TOO_BIG);
    assert_string_equal(g, "");
    /* A forged value stays inside its quotes: one line, one series. */
    li_buf b;
    li_buf_init(&b, 0);
    char d[64] = "";
    li_metrics_label(d, sizeof d, "destination", "x\"} 1\nfake 2");
    li_metrics_put_labeled(&b, "limf_g", d, 5);
    assert_string_equal(text_of(&b), "limf_g{destination=\"x\\\"} 1\\nfake 2\"} 5\n");
    li_buf_free(&b);
}

/* The daemon side: a counter bumped by the test, read by the HTTP thread under a mutex. */
typedef struct source {
    pthread_mutex_t mu;
    uint64_t n;
    unsigned scrapes;
} source;

static void render(void *ctx, li_buf *out)
{
    source *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->scrapes++;
    li_metrics_put(out, "limf_test_events_total", "counter", "Events seen by the test", s->n);
    li_metrics_put_family(out, "limf_test_errors_total", "counter", NULL);
    li_metrics_put_labeled(out, "limf_test_errors_total", "kind=\"tls\"", s->n * 2);
    pthread_mutex_unlock(&s->mu);
}

/* One HTTP/1.0 request over a plain socket; returns the status code, the whole response
 * (headers and body) in resp. */
static int http(int family, uint16_t port, const char *method, const char *path, char *resp,
                size_t resp_size)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        a->sin6_addr = in6addr_loopback;
        sl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof *a;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&ss, sl), 0);
    char req[256];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: localhost\r\n\r\n", method,
                     path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t got = 0;
    ssize_t r;
    while (got < resp_size - 1 && (r = read(fd, resp + got, resp_size - 1 - got)) > 0)
        got += (size_t)r;
    resp[got] = 0;
    close(fd);
    int code = 0;
    assert_int_equal(sscanf(resp, "HTTP/1.%*d %d", &code), 1);
    return code;
}

static const char *body_of(const char *resp)
{
    const char *p = strstr(resp, "\r\n\r\n");
    assert_non_null(p);
    return p + 4;
}

static void test_serve(void **state)
{
    (void)state;
    source s = { .n = 7 };
    pthread_mutex_init(&s.mu, NULL);
    char err[256];
    li_metrics *m = li_metrics_new("127.0.0.1:0", render, &s, err, sizeof err);
    assert_non_null(m);
    uint16_t port = li_metrics_port(m);
    assert_true(port != 0);

    static char resp[8192];
    assert_int_equal(http(AF_INET, port, "GET", "/metrics", resp, sizeof resp), 200);
    assert_non_null(strstr(resp, "Content-Type: text/plain; version=0.0.4\r\n"));
    assert_string_equal(body_of(resp), "# HELP limf_test_events_total Events seen by the test\n"
                                       "# TYPE limf_test_events_total counter\n"
                                       "limf_test_events_total 7\n"
                                       "# TYPE limf_test_errors_total counter\n"
                                       "limf_test_errors_total{kind=\"tls\"} 14\n");
    /* Each scrape renders afresh. */
    pthread_mutex_lock(&s.mu);
    s.n = 1000;
    pthread_mutex_unlock(&s.mu);
    assert_int_equal(http(AF_INET, port, "GET", "/metrics", resp, sizeof resp), 200);
    assert_non_null(strstr(body_of(resp), "\nlimf_test_events_total 1000\n"));
    assert_non_null(strstr(body_of(resp), "\nlimf_test_errors_total{kind=\"tls\"} 2000\n"));

    assert_int_equal(http(AF_INET, port, "GET", "/", resp, sizeof resp), 404);
    assert_int_equal(http(AF_INET, port, "GET", "/metricsx", resp, sizeof resp), 404);
    assert_int_equal(http(AF_INET, port, "POST", "/metrics", resp, sizeof resp), 405);
    assert_non_null(strstr(resp, "Allow: GET\r\n"));
    assert_int_equal(http(AF_INET, port, "DELETE", "/other", resp, sizeof resp), 405);
    assert_int_equal(http(AF_INET, port, "GET", "/healthz", resp, sizeof resp), 200);
    assert_string_equal(body_of(resp), "ok\n");
    /* Only the two GET /metrics called render. */
    pthread_mutex_lock(&s.mu);
    assert_int_equal(s.scrapes, 2);
    pthread_mutex_unlock(&s.mu);

    li_metrics_free(m);
    li_metrics_free(NULL);
    pthread_mutex_destroy(&s.mu);
}

static void render_private(void *ctx, li_buf *out)
{
    (void)ctx;
    li_metrics_put(out, "limf_test_tapped_total", "counter", "Tapped", 3);
}

/* curl's output (body, or "" when it failed) for url with the extra arguments. */
static void curl(const char *args, char *out, size_t size)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "curl -s -m 10 %s", args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, size - 1, p);
    out[got] = 0;
    pclose(p);
}

static void test_private_over_mtls(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_li_metrics.XXXXXX", cmd[1024], args[1024], err[256];
    static char body[8192];
    assert_non_null(mkdtemp(dir));
    /* The PKI of the POI and of the operator's monitoring; a second CA's "monitoring". */
    snprintf(cmd, sizeof cmd, "%s/deploy/pki.sh %s/pki monitoring >/dev/null && "
             "%s/deploy/pki.sh %s/rogue monitoring >/dev/null", SOURCE_DIR, dir, SOURCE_DIR, dir);
    assert_int_equal(system(cmd), 0);
    source s = { .n = 1 };
    pthread_mutex_init(&s.mu, NULL);

    /* Plain HTTP: the public series only, whatever a tap does. */
    li_config *cfg = li_config_new();
    assert_int_equal(li_config_set(cfg, "poi.metrics.listen", "127.0.0.1:0"), LI_OK);
    li_metrics *m = NULL;
    assert_int_equal(li_metrics_from_config_private(cfg, "poi.metrics", render, render_private,
                                                    &s, &m, err, sizeof err), LI_OK);
    assert_non_null(m);
    static char resp[8192];
    assert_int_equal(http(AF_INET, li_metrics_port(m), "GET", "/metrics", resp, sizeof resp), 200);
    assert_non_null(strstr(resp, "limf_test_events_total 1"));
    assert_null(strstr(resp, "tapped"));
    li_metrics_free(m);

    /* Mutual TLS: the operator's monitoring sees everything. */
    char path[3][512];
    snprintf(path[0], sizeof path[0], "%s/pki/relay-agw.pem", dir);
    snprintf(path[1], sizeof path[1], "%s/pki/relay-agw.key", dir);
    snprintf(path[2], sizeof path[2], "%s/pki/ca.pem", dir);
    assert_int_equal(li_config_set(cfg, "poi.metrics.tls.cert", path[0]), LI_OK);
    assert_int_equal(li_config_set(cfg, "poi.metrics.tls.key", path[1]), LI_OK);
    /* Without a CA there is no client verification: refused up front. */
    assert_int_equal(li_metrics_from_config_private(cfg, "poi.metrics", render, render_private,
                                                    &s, &m, err, sizeof err), LI_ERR_INVAL);
    assert_non_null(strstr(err, "poi.metrics.tls"));
    assert_int_equal(li_config_set(cfg, "poi.metrics.tls.ca", path[2]), LI_OK);
    assert_int_equal(li_metrics_from_config_private(cfg, "poi.metrics", render, render_private,
                                                    &s, &m, err, sizeof err), LI_OK);
    unsigned port = li_metrics_port(m);
    snprintf(args, sizeof args, "--cacert %s/pki/ca.pem --cert %s/pki/monitoring.pem "
             "--key %s/pki/monitoring.key https://127.0.0.1:%u/metrics", dir, dir, dir, port);
    curl(args, body, sizeof body);
    assert_non_null(strstr(body, "limf_test_events_total 1\n"));
    assert_non_null(strstr(body, "limf_test_tapped_total 3\n"));
    /* No client certificate, one of another CA, plain HTTP: nothing. */
    snprintf(args, sizeof args, "--cacert %s/pki/ca.pem https://127.0.0.1:%u/metrics", dir, port);
    curl(args, body, sizeof body);
    assert_string_equal(body, "");
    snprintf(args, sizeof args, "--cacert %s/pki/ca.pem --cert %s/rogue/monitoring.pem "
             "--key %s/rogue/monitoring.key https://127.0.0.1:%u/metrics", dir, dir, dir, port);
    curl(args, body, sizeof body);
    assert_string_equal(body, "");
    snprintf(args, sizeof args, "http://127.0.0.1:%u/metrics", port);
    curl(args, body, sizeof body);
    assert_null(strstr(body, "limf_test"));
    /* The server is still serving after the refusals. */
    snprintf(args, sizeof args, "--cacert %s/pki/ca.pem --cert %s/pki/monitoring.pem "
             "--key %s/pki/monitoring.key https://127.0.0.1:%u/healthz", dir, dir, dir, port);
    curl(args, body, sizeof body);
    assert_string_equal(body, "ok\n");
    li_metrics_free(m);
    li_config_free(cfg);
    pthread_mutex_destroy(&s.mu);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_ipv6(void **state)
{
    (void)state;
    source s = { .n = 3 };
    pthread_mutex_init(&s.mu, NULL);
    char err[256];
    li_metrics *m = li_metrics_new("[::1]:0", render, &s, err, sizeof err);
    if (!m) {   /* a host without IPv6 loopback */
        pthread_mutex_destroy(&s.mu);
        skip();
    }
    static char resp[8192];
    assert_int_equal(http(AF_INET6, li_metrics_port(m), "GET", "/metrics", resp, sizeof resp),
                     200);
    assert_non_null(strstr(body_of(resp), "\nlimf_test_events_total 3\n"));
    li_metrics_free(m);
    pthread_mutex_destroy(&s.mu);
}

static void test_bad_listen(void **state)
{
    (void)state;
    source s = { .n = 0 };
    char err[256];
    static const char *const bad[] = { "", "127.0.0.1", "127.0.0.1:", "127.0.0.1:http",
                                       "127.0.0.1:-1", "127.0.0.1:99999", "[::1]:65536" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_null(li_metrics_new(bad[i], render, &s, err, sizeof err));
        assert_true(err[0] != 0);
    }
    /* A port in use: the second server cannot bind it. */
    li_metrics *a = li_metrics_new("127.0.0.1:0", render, &s, err, sizeof err);
    assert_non_null(a);
    char where[64];
    snprintf(where, sizeof where, "127.0.0.1:%u", li_metrics_port(a));
    err[0] = 0;
    assert_null(li_metrics_new(where, render, &s, err, sizeof err));
    assert_non_null(strstr(err, "listen on port"));
    li_metrics_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writers),
        cmocka_unit_test(test_label),
        cmocka_unit_test(test_serve),
        cmocka_unit_test(test_private_over_mtls),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_bad_listen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
