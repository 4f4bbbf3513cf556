/* See li_metrics.h. */
#include "li_metrics.h"

#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "li_httpd.h"
#include "li_log.h"
#include "li_tls.h"

#include "li_net.h"

struct li_metrics {
    li_httpd *http;
    li_metrics_render_fn render, render_private;
    void *ctx;
    SSL_CTX *tls;         /* owned; NULL over plain HTTP */
    int stop_fd;          /* eventfd: li_metrics_free() wakes the thread */
    pthread_t thread;
};

static void on_request(void *ctx, const li_httpd_request *req, li_httpd_response *resp)
{
    li_metrics *m = ctx;
    resp->content_type = "text/plain; charset=utf-8";
    if (strcmp(req->method, "GET") != 0) {
        /* RFC 9110 15.5.6: a 405 names the methods the resource supports. */
        resp->status = 405;
        resp->allow = "GET";
        li_buf_printf(&resp->body, "method not allowed\n");
    } else if (strcmp(req->path, "/healthz") == 0) {
        li_buf_printf(&resp->body, "ok\n");
    } else if (strcmp(req->path, "/metrics") != 0) {
        resp->status = 404;
        li_buf_printf(&resp->body, "not found\n");
    } else {
        resp->content_type = "text/plain; version=0.0.4";
        m->render(m->ctx, &resp->body);
        if (m->render_private && req->peer_verified)
            m->render_private(m->ctx, &resp->body);
    }
}

/* One thread serves every scrape: they never run concurrently. */
static void *serve(void *arg)
{
    li_metrics *m = arg;
    for (;;) {
        struct pollfd p[2] = { { li_httpd_fd(m->http), POLLIN, 0 }, { m->stop_fd, POLLIN, 0 } };
        /* The timeout lets li_httpd expire a connection that sends nothing. */
        if (poll(p, 2, 1000) > 0 && p[1].revents)
            return NULL;
        li_httpd_run(m->http, 0);
    }
}

/* tls (owned by the result, freed on failure) NULL for plain HTTP. */
static li_metrics *metrics_new(const char *listen, li_metrics_render_fn render,
                               li_metrics_render_fn render_private, void *ctx, SSL_CTX *tls,
                               char *errstr, size_t errstr_size)
{
    li_metrics *m = calloc(1, sizeof *m);
    if (!m) {
        SSL_CTX_free(tls);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    m->render = render;
    m->render_private = render_private;
    m->ctx = ctx;
    m->tls = tls;
    /* A scrape is one GET: no body, a few seconds, a handful of scrapers. */
    const li_httpd_opts o = { .handler = on_request, .ctx = m, .max_body = 0,
                              .timeout_ms = 10000, .max_connections = 16, .tls = tls };
    m->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (m->stop_fd < 0 || !(m->http = li_httpd_new(listen, &o, errstr, errstr_size)) ||
        pthread_create(&m->thread, NULL, serve, m) != 0) {
        if (m->stop_fd >= 0 && m->http)
            snprintf(errstr, errstr_size, "cannot start the metrics thread");
        li_httpd_free(m->http);
        if (m->stop_fd >= 0)
            close(m->stop_fd);
        SSL_CTX_free(m->tls);
        free(m);
        return NULL;
    }
    return m;
}

li_metrics *li_metrics_new(const char *listen, li_metrics_render_fn render, void *ctx,
                           char *errstr, size_t errstr_size)
{
    return metrics_new(listen, render, NULL, ctx, NULL, errstr, errstr_size);
}

li_err li_metrics_from_config_private(const li_config *cfg, const char *prefix,
                                      li_metrics_render_fn render,
                                      li_metrics_render_fn render_private, void *ctx,
                                      li_metrics **out, char *errstr, size_t errstr_size)
{
    char key[128], why[256];
    *out = NULL;
    snprintf(key, sizeof key, "%s.listen", prefix);
    const char *listen = li_config_get(cfg, key, NULL);
    if (!listen || !*listen)
        return LI_OK;
    SSL_CTX *tls = NULL;
    snprintf(key, sizeof key, "%s.tls", prefix);
    li_tls_opts o = { 0 };
    li_tls_opts_from_config(cfg, key, &o);
    if (o.cert_file || o.key_file || o.ca_file) {
        o.server = 1;
        o.pins = NULL;   /* the operator's monitoring is known by its CA only */
        if (!o.ca_file || !(tls = li_tls_ctx_new(&o, why, sizeof why))) {
            snprintf(errstr, errstr_size, "%s: %s", key,
                     o.ca_file ? why : "cert, key and ca are needed for mutual TLS");
            return LI_ERR_INVAL;
        }
    }
    if (!(*out = metrics_new(listen, render, render_private, ctx, tls, why, sizeof why))) {
        snprintf(errstr, errstr_size, "%s.listen: %s", prefix, why);
        return LI_ERR_INVAL;
    }
    li_log_info("/metrics on port %u (%s)", li_metrics_port(*out),
                tls ? "mutual TLS, every series" : "plain HTTP, no interception series");
    return LI_OK;
}

li_err li_metrics_from_config(const li_config *cfg, const char *key, const char *def,
                              li_metrics_render_fn render, void *ctx, li_metrics **out,
                              char *errstr, size_t errstr_size)
{
    const char *listen = li_config_get(cfg, key, def);
    char why[256];
    *out = NULL;
    if (!listen || !*listen)
        return LI_OK;
    if (!(*out = li_metrics_new(listen, render, ctx, why, sizeof why))) {
        snprintf(errstr, errstr_size, "%s: %s", key, why);
        return LI_ERR_INVAL;
    }
    li_log_info("/metrics on port %u", li_metrics_port(*out));
    return LI_OK;
}

uint16_t li_metrics_port(const li_metrics *m)
{
    return m ? li_httpd_port(m->http) : 0;
}

void li_metrics_free(li_metrics *m)
{
    if (!m)
        return;
    uint64_t one = 1;
    if (write(m->stop_fd, &one, sizeof one) != (ssize_t)sizeof one)
        abort();   /* an eventfd write of 1 cannot fail short of a bug */
    pthread_join(m->thread, NULL);
    li_httpd_free(m->http);
    close(m->stop_fd);
    SSL_CTX_free(m->tls);
    free(m);
}

void li_metrics_put_family(li_buf *b, const char *name, const char *type, const char *help)
{
    if (help)
        li_buf_printf(b, "# HELP %s %s\n", name, help);
    li_buf_printf(b, "# TYPE %s %s\n", name, type);
}

void li_metrics_put(li_buf *b, const char *name, const char *type, const char *help,
                    uint64_t value)
{
    li_metrics_put_family(b, name, type, help);
    li_metrics_put_labeled(b, name, NULL, value);
}

li_err li_metrics_label(char *out, size_t out_size, const char *name, const char *value)
{
    size_t len = strnlen(out, out_size);
    if (len == out_size)
        return LI_ERR_TOO_BIG;
    size_t n = len;
#define PUT(c)                      \
    do {                            \
        if (out_size - n < 2)       \
            goto too_big;           \
        out[n++] = (c);             \
    } while (0)
    if (len)
        PUT(',');
    for (const char *p = name; *p; p++)
        PUT(*p);
    PUT('=');
    PUT('"');
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"') {
            PUT('\\');
            PUT(*p);
        } else if (*p == '\n') {
            PUT('\\');
            PUT('n');
        } else {
            PUT(*p);
        }
    }
    PUT('"');
#undef PUT
    out[n] = 0;
    return LI_OK;
too_big:
    out[len] = 0;
    return LI_ERR_TOO_BIG;
}

void li_metrics_put_labeled(li_buf *b, const char *name, const char *labels, uint64_t value)
{
    if (labels && *labels)
        li_buf_printf(b, "%s{%s} %llu\n", name, labels, (unsigned long long)value);
    else
        li_buf_printf(b, "%s %llu\n", name, (unsigned long long)value);
}

void li_metrics_put_labeled_gauge(li_buf *b, const char *name, const char *labels,
                                  double value)
{
    char num[40];
    if (isnan(value)) {
        snprintf(num, sizeof num, "NaN");
    } else if (isinf(value)) {
        snprintf(num, sizeof num, "%sInf", value > 0 ? "+" : "-");
    } else {
        /* Shortest of %.15g..%.17g that reads back as the same double (17 always does). */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(num, sizeof num, "%.*g", prec, value);
            if (strtod(num, NULL) == value)
                break;
        }
    }
    if (labels && *labels)
        li_buf_printf(b, "%s{%s} %s\n", name, labels, num);
    else
        li_buf_printf(b, "%s %s\n", name, num);
}
