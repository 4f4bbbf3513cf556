/* limf-lemf: a reference LEMF. Accepts HI2/HI3 connections (mutual TLS, or TCP when
 * lemf.transport = tcp), answers keep-alives, writes one JSON line per PDU, keeps the raw
 * bytes on request, reports sequence gaps and duplicates, and serves Prometheus /metrics
 * when lemf.metrics.listen is set.
 *   limf-lemf [-c FILE] [-o key=value]... [--listen ADDR] [--out FILE] [--raw FILE]
 *             [--summary FILE] [--ready-file FILE] [--tcp]
 *   limf-lemf decode FILE     decodes a saved raw stream offline (JSON lines on stdout) */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ho_lemf.h"
#include "li_config.h"
#include "li_daemon.h"
#include "li_log.h"
#include "li_net.h"
#include "li_metrics.h"
#include "li_tls.h"

static volatile int stopping;
static atomic_int active; /* connection threads still running */

typedef struct conn_job {
    ho_lemf *lemf;
    SSL_CTX *ctx;
    int fd, answer;
    size_t max_pdu;
} conn_job;

static void *conn_main(void *arg)
{
    conn_job *j = arg;
    ho_conn c;
    char err[256];
    ho_conn_init(&c);
    if (ho_conn_accept(&c, j->fd, j->ctx, 10000, err, sizeof err) != LI_OK) {
        ho_lemf_refused(j->lemf);
        li_log_warn("connection refused: %s", err);
    } else {
        li_log_info("connection ended: %s",
                    li_err_str(ho_lemf_serve(j->lemf, &c, j->answer, j->max_pdu, &stopping)));
    }
    ho_conn_close(&c);
    free(j);
    atomic_fetch_sub(&active, 1);
    return NULL;
}

static int decode_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    li_buf b, s;
    li_buf_init(&b, 0);
    li_buf_init(&s, 0);
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        li_buf_append(&b, chunk, n);
    fclose(f);
    ho_lemf *l = ho_lemf_new(stdout, NULL);
    size_t at = 0, len;
    ho_pdu p;
    li_err e = LI_OK;
    while (at < b.len && (e = ho_pdu_frame(b.data + at, b.len - at, b.len, &len)) == LI_OK) {
        ho_lemf_pdu(l, b.data + at, len, 0, &p);
        at += len;
    }
    if (at < b.len)
        fprintf(stderr, "limf-lemf: %zu trailing octets: %s\n", b.len - at, li_err_str(e));
    ho_lemf_summary(l, &s);
    fprintf(stderr, "%.*s\n", (int)s.len, (const char *)s.data);
    int rc = ho_lemf_clean(l) && at == b.len ? 0 : 3;
    ho_lemf_free(l);
    li_buf_free(&b);
    li_buf_free(&s);
    return rc;
}

/* Turns the long options into -o overrides for li_config_from_args. The strings made
 * here are listed in owned[] (argc entries at most) for the caller to free. */
static char **rewrite_args(int argc, char **argv, int *out_argc, char **owned)
{
    static const struct { const char *opt, *key; } map[] = {
        { "--listen", "lemf.listen" }, { "--out", "lemf.out" }, { "--raw", "lemf.raw" },
        { "--summary", "lemf.summary" }, { "--ready-file", "daemon.ready_file" },
    };
    char **v = calloc((size_t)argc * 2 + 1, sizeof *v);
    int n = 0, n_owned = 0;
    if (!v)
        exit(1);
    for (int i = 0; i < argc; i++) {
        int done = 0;
        for (size_t k = 0; k < sizeof map / sizeof map[0] && !done; k++) {
            if (!strcmp(argv[i], map[k].opt) && i + 1 < argc) {
                size_t sz = strlen(map[k].key) + strlen(argv[i + 1]) + 2;
                char *o = malloc(sz);
                if (!o)
                    exit(1);
                snprintf(o, sz, "%s=%s", map[k].key, argv[++i]);
                v[n++] = "-o";
                v[n++] = owned[n_owned++] = o;
                done = 1;
            }
        }
        if (!done && !strcmp(argv[i], "--tcp")) {
            v[n++] = "-o";
            v[n++] = "lemf.transport=tcp";
            done = 1;
        }
        if (!done)
            v[n++] = argv[i];
    }
    *out_argc = n;
    return v;
}

static FILE *open_out(const char *path)
{
    if (!path || !*path)
        return NULL;
    if (!strcmp(path, "-"))
        return stdout;
    FILE *f = fopen(path, "ab");
    if (!f)
        li_log_error("%s: %s", path, strerror(errno));
    return f;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "decode"))
        return decode_file(argv[2]);
    int nargc;
    char **owned = calloc((size_t)argc + 1, sizeof *owned);
    if (!owned)
        return 1;
    char **nargv = rewrite_args(argc, argv, &nargc, owned);
    li_config *cfg = li_config_new();
    if (li_config_from_args(cfg, "limf-lemf", nargc, nargv,
                            "  --listen ADDR --out FILE --raw FILE --summary FILE "
                            "--ready-file FILE --tcp\n"
                            "  limf-lemf decode FILE\n") != LI_OK)
        return 2;
    char err[512];
    int64_t max_pdu;
    int answer;
    /* As large as the largest HI record limf produces (LI_KAFKA_MAX_RECORD). */
    if (li_config_get_int(cfg, "lemf.max_pdu", 1 << 24, 64, 1 << 30, &max_pdu, err, sizeof err) ||
        li_config_get_bool(cfg, "lemf.answer_keepalive", 1, &answer, err, sizeof err)) {
        li_log_error("%s", err);
        return 2;
    }
    SSL_CTX *ctx = NULL;
    if (strcmp(li_config_get(cfg, "lemf.transport", "tls"), "tcp") != 0) {
        li_tls_opts o = { .server = 1 };
        li_tls_opts_from_config(cfg, "lemf.tls", &o);
        if (!(ctx = li_tls_ctx_new(&o, err, sizeof err))) {
            li_log_error("lemf.tls: %s", err);
            return 2;
        }
    } else {
        li_log_warn("plain TCP (lemf.transport = tcp): HI2/HI3 unencrypted and unauthenticated");
    }
    FILE *out = open_out(li_config_get(cfg, "lemf.out", "-"));
    FILE *raw = open_out(li_config_get(cfg, "lemf.raw", NULL));
    int lfd;
    uint16_t port;
    if (!out || li_net_listen(li_config_get(cfg, "lemf.listen", "127.0.0.1:0"),
                              LI_HOSTPORT_NAME, "lemf.listen", 64, 0, &lfd, &port, err,
                              sizeof err) != LI_OK) {
        li_log_error("%s", out ? err : "cannot open lemf.out");
        return 1;
    }
    int sfd = li_daemon_signals();   /* before any thread starts */
    ho_lemf *lemf = sfd < 0 ? NULL : ho_lemf_new(out, raw);
    li_metrics *metrics;
    if (!lemf || li_metrics_from_config(cfg, "lemf.metrics.listen", NULL, ho_lemf_render, lemf,
                                        &metrics, err, sizeof err) != LI_OK) {
        li_log_error("%s", err);
        return 1;
    }
    /* The ready file says "ready": written once everything serves. */
    const li_daemon_port ports[] = { { "hi", port }, { "metrics", li_metrics_port(metrics) } };
    if (li_daemon_ready(cfg, ports, 2, err, sizeof err) != LI_OK) {
        li_log_error("%s", err);
        return 1;
    }
    li_log_info("listening on port %u (%s)", port, ctx ? "TLS" : "TCP");

    while (!stopping) {
        struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
        if (poll(p, 2, -1) < 0)
            continue;
        if (p[1].revents)
            stopping = 1;
        else if (p[0].revents) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            conn_job *j = fd >= 0 ? malloc(sizeof *j) : NULL;
            pthread_t t;
            if (!j) {
                if (fd >= 0)
                    close(fd);
                continue;
            }
            *j = (conn_job){ lemf, ctx, fd, answer, (size_t)max_pdu };
            atomic_fetch_add(&active, 1);
            if (pthread_create(&t, NULL, conn_main, j) == 0) {
                pthread_detach(t);
            } else {
                atomic_fetch_sub(&active, 1);
                close(fd);
                free(j);
            }
        }
    }
    /* Connection threads notice `stopping` within 200 ms (one still in its handshake may
     * take longer: then the process exits without freeing what it shares). */
    for (int i = 0; i < 50 && atomic_load(&active); i++)
        usleep(50000);
    li_metrics_free(metrics);   /* before the ho_lemf it reads */
    li_buf s;
    li_buf_init(&s, 0);
    ho_lemf_summary(lemf, &s);
    fprintf(stderr, "%.*s\n", (int)s.len, (const char *)s.data);
    const char *summary = li_config_get(cfg, "lemf.summary", NULL);
    FILE *sf = summary ? fopen(summary, "w") : NULL;
    if (sf) {
        fprintf(sf, "%.*s\n", (int)s.len, (const char *)s.data);
        fclose(sf);
    }
    if (raw)
        fclose(raw);
    fflush(out);
    li_buf_free(&s);
    close(lfd);
    close(sfd);
    if (!atomic_load(&active)) {
        ho_lemf_free(lemf);
        SSL_CTX_free(ctx);
    }
    li_config_free(cfg);
    for (int i = 0; owned[i]; i++)
        free(owned[i]);
    free(owned);
    free(nargv);
    return 0;
}
