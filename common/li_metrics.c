/* See li_metrics.h. */
#include "li_metrics.h"

#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "li_net.h"

struct li_metrics {
    struct MHD_Daemon *mhd;
    li_metrics_render_fn render;
    void *ctx;
    uint16_t port;
};

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned code, const char *type,
                              const void *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    /* RFC 9110 15.5.6: a 405 names the methods the resource supports. */
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET");
    enum MHD_Result ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_http(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **state)
{
    (void)version, (void)upload, (void)upload_size, (void)state;
    li_metrics *m = cls;
    static const char text[] = "text/plain; charset=utf-8";
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
        return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, "method not allowed\n", 19);
    if (strcmp(url, "/healthz") == 0)
        return answer(conn, MHD_HTTP_OK, text, "ok\n", 3);
    if (strcmp(url, "/metrics") != 0)
        return answer(conn, MHD_HTTP_NOT_FOUND, text, "not found\n", 10);
    li_buf b;
    li_buf_init(&b, 0);
    m->render(m->ctx, &b);
    enum MHD_Result ret = answer(conn, MHD_HTTP_OK, "text/plain; version=0.0.4", b.data, b.len);
    li_buf_free(&b);
    return ret;
}

li_metrics *li_metrics_new(const char *listen, li_metrics_render_fn render, void *ctx,
                           char *errstr, size_t errstr_size)
{
    struct sockaddr_storage ss;
    socklen_t len;
    /* "host:port", "[v6]:port" or ":port" (every address) */
    if (li_net_address(listen ? listen : "", LI_HOSTPORT_NAME | LI_HOSTPORT_ANY | LI_HOSTPORT_PORT0,
                       "metrics listen", &ss, &len, errstr, errstr_size) != LI_OK)
        return NULL;
    li_metrics *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    m->render = render;
    m->ctx = ctx;
    /* AUTO picks epoll/poll, not select(): a daemon with many peers has descriptors above
     * FD_SETSIZE. One internal thread: scrapes never run concurrently. */
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    m->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_http, m, MHD_OPTION_SOCK_ADDR,
                              (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, 16u,
                              MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!m->mhd) {
        snprintf(errstr, errstr_size, "cannot listen on %s", listen);
        free(m);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info ? info->port : 0;
    return m;
}

uint16_t li_metrics_port(const li_metrics *m)
{
    return m ? m->port : 0;
}

void li_metrics_free(li_metrics *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->mhd);
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
