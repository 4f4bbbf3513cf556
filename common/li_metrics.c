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

#include "li_net.h"

struct li_metrics {
    li_httpd *http;
    li_metrics_render_fn render;
    void *ctx;
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

li_metrics *li_metrics_new(const char *listen, li_metrics_render_fn render, void *ctx,
                           char *errstr, size_t errstr_size)
{
    li_metrics *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    m->render = render;
    m->ctx = ctx;
    /* A scrape is one GET: no body, a few seconds, a handful of scrapers. */
    const li_httpd_opts o = { .handler = on_request, .ctx = m, .max_body = 0,
                              .timeout_ms = 10000, .max_connections = 16 };
    m->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (m->stop_fd < 0 || !(m->http = li_httpd_new(listen, &o, errstr, errstr_size)) ||
        pthread_create(&m->thread, NULL, serve, m) != 0) {
        if (m->stop_fd >= 0 && m->http)
            snprintf(errstr, errstr_size, "cannot start the metrics thread");
        li_httpd_free(m->http);
        if (m->stop_fd >= 0)
            close(m->stop_fd);
        free(m);
        return NULL;
    }
    return m;
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
