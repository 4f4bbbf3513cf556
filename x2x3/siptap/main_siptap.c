/* limf-siptap: the SIP point of interception (docs/PRINCIPLES.md 2). Captures SIP with libpcap
 * (live or from a file), exports the messages of tasked targets as X2 (ETSI TS 103 221-2
 * format 9) to limf-ingest, and is tasked over X1 (an NE). docs/POI-SIPTAP.md. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "li_config.h"
#include "li_daemon.h"
#include "li_log.h"
#include "x1_ne.h"
#include "x2x3_router.h"
#include "siptap.h"
#include "siptap_io.h"
#include "siptap_metrics.h"

#define NS 1000000000ll

typedef struct daemon_ctx {
    x1_ne *ne;
    x2x3_router *router;
    siptap *tap;
    siptap_capture *cap;
    siptap_metrics *metrics;   /* NULL without siptap.metrics.listen */
    int64_t stats_interval_s;
    int64_t seconds;
} daemon_ctx;

static size_t match(void *ctx, const char *canon, x1_ne_match *out, size_t max)
{
    return x1_ne_match_identity(((daemon_ctx *)ctx)->ne, canon, out, max);
}

static uint64_t generation(void *ctx)
{
    return x1_ne_generation(((daemon_ctx *)ctx)->ne);
}

static void export_record(void *ctx, const uint8_t (*dids)[16], size_t n_dids,
                          const x2x3_record *rec)
{
    /* LI_ERR_FULL is counted per XID by the sender and reported as a gap event; a
     * record without a route is counted by the router. */
    (void)x2x3_router_send(((daemon_ctx *)ctx)->router, dids, n_dids, rec);
}

static void snapshot(daemon_ctx *d, siptap_snapshot *s)
{
    siptap_stats_get(d->tap, &s->tap);
    x2x3_router_stats_get(d->router, &s->x2);
    siptap_capture_drops(d->cap, &s->kernel_received, &s->kernel_dropped);
    s->tasks = x1_ne_task_count(d->ne);
}

/* What the capture sees goes to info; whether anything is being tapped (matches, tasks,
 * X2 traffic) only to debug: the log of a POI must not tell its readers that someone is
 * intercepted (docs/SECURITY.md, "Traces outside LI"). */
static void log_stats(const siptap_snapshot *s)
{
    li_log_info("packets=%llu decode_errors=%llu sip=%llu parse_errors=%llu tcp_flows=%zu "
                "tcp_gaps=%llu fragments=%llu kernel_drops=%llu connected=%d",
                (unsigned long long)s->tap.packets, (unsigned long long)s->tap.decode_errors,
                (unsigned long long)s->tap.sip_messages,
                (unsigned long long)s->tap.parse_errors, s->tap.tcp.flows,
                (unsigned long long)s->tap.tcp.gaps, (unsigned long long)s->tap.fragments,
                (unsigned long long)s->kernel_dropped, s->x2.x.connected);
    li_log_debug("matched=%llu exported=%llu dialogs=%zu tasks=%zu x2_sent=%llu "
                 "x2_acked=%llu x2_dropped=%llu",
                 (unsigned long long)s->tap.matched, (unsigned long long)s->tap.exported,
                 s->tap.dialogs, s->tasks, (unsigned long long)s->x2.x.sent_pdus,
                 (unsigned long long)s->x2.x.acked_pdus, (unsigned long long)s->x2.x.dropped_pdus);
}

static void on_second(void *ctx)
{
    daemon_ctx *d = ctx;
    siptap_snapshot s;
    snapshot(d, &s);
    if (d->metrics)
        siptap_metrics_publish(d->metrics, &s);
    if (d->stats_interval_s && ++d->seconds % d->stats_interval_s == 0)
        log_stats(&s);
}

/* Engine bounds from siptap.* keys (docs/CONFIGURATION.md), each read into its own
 * variable by name. */
static li_err engine_opts(const li_config *cfg, daemon_ctx *d, siptap_opts *o,
                          char *err, size_t n)
{
    int64_t max_dialogs, dialog_idle_s, dialog_linger_s, max_fragment_bytes,
        fragment_timeout_s, tcp_max_flows, tcp_max_flow_bytes, tcp_max_total_bytes,
        tcp_idle_timeout_s, tcp_hole_timeout_ms;
    const struct { const char *key; int64_t def, min, max; int64_t *out; } keys[] = {
        { "siptap.max_dialogs", 16384, 16, 1 << 24, &max_dialogs },
        { "siptap.dialog_idle_s", 7200, 1, 7 * 86400, &dialog_idle_s },
        { "siptap.dialog_linger_s", 32, 1, 3600, &dialog_linger_s },
        { "siptap.max_fragment_bytes", 4 << 20, 65536, 1 << 30, &max_fragment_bytes },
        { "siptap.fragment_timeout_s", 30, 1, 600, &fragment_timeout_s },
        { "siptap.tcp.max_flows", 16384, 16, 1 << 24, &tcp_max_flows },
        { "siptap.tcp.max_flow_bytes", 256 << 10, 4096, 64 << 20, &tcp_max_flow_bytes },
        { "siptap.tcp.max_total_bytes", 64 << 20, 65536, (int64_t)1 << 34,
          &tcp_max_total_bytes },
        { "siptap.tcp.idle_timeout_s", 300, 1, 86400, &tcp_idle_timeout_s },
        { "siptap.tcp.hole_timeout_ms", 2000, 1, 600000, &tcp_hole_timeout_ms },
        { "siptap.stats_interval_s", 60, 0, 86400, &d->stats_interval_s },
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (li_config_get_int(cfg, keys[i].key, keys[i].def, keys[i].min, keys[i].max,
                              keys[i].out, err, n) != LI_OK)
            return LI_ERR_INVAL;
    *o = (siptap_opts){
        .match = match, .generation = generation, .match_ctx = d,
        .export_record = export_record, .export_ctx = d,
        .max_dialogs = (size_t)max_dialogs,
        .dialog_idle_ns = (uint64_t)(dialog_idle_s * NS),
        .dialog_linger_ns = (uint64_t)(dialog_linger_s * NS),
        .max_fragment_bytes = (size_t)max_fragment_bytes,
        .fragment_timeout_ns = (uint64_t)(fragment_timeout_s * NS),
        .tcp = { .max_flows = (size_t)tcp_max_flows,
                 .max_flow_bytes = (size_t)tcp_max_flow_bytes,
                 .max_total_bytes = (size_t)tcp_max_total_bytes,
                 .idle_timeout_ns = (uint64_t)(tcp_idle_timeout_s * NS),
                 .hole_timeout_ns = (uint64_t)tcp_hole_timeout_ms * 1000000u },
    };
    return LI_OK;
}

/* File mode: replaying before the tasks arrive would find nothing to match. */
static int wait_for_tasks(daemon_ctx *d, int64_t want, int sfd)
{
    while ((int64_t)x1_ne_task_count(d->ne) < want) {
        if (li_daemon_stop_requested(sfd, 100))
            return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    int sfd, status;
    li_config *cfg = li_daemon_start("limf-siptap", argc, argv,
                                     "main keys: siptap.interface or siptap.pcap, "
                                     "siptap.filter, x1.listen, x1.tls.*, x2x3.tls.*, "
                                     "x2x3.address (docs/POI-SIPTAP.md)\n",
                                     &sfd, &status);
    if (!cfg)
        return status;

    daemon_ctx d = { 0 };
    siptap_opts opts;
    char err[512] = "";
    int64_t wait_tasks = 0, flush_ms = 10000;
    int rc = 1;
    if (engine_opts(cfg, &d, &opts, err, sizeof err) != LI_OK ||
        li_config_get_int(cfg, "siptap.pcap_wait_tasks", 0, 0, 1 << 20, &wait_tasks, err,
                          sizeof err) != LI_OK ||
        li_config_get_int(cfg, "siptap.flush_timeout_ms", 10000, 0, 3600000, &flush_ms, err,
                          sizeof err) != LI_OK)
        goto out;
    d.tap = siptap_new(&opts);
    if (!d.tap) {
        snprintf(err, sizeof err, "out of memory");
        goto out;
    }
    if (!(d.ne = x1_ne_new(cfg, "x1", err, sizeof err)) ||
        !(d.router = x2x3_router_new(cfg, "x2x3", d.ne, err, sizeof err)) ||
        !(d.cap = siptap_capture_open(cfg, err, sizeof err)))
        goto out;
    if (siptap_metrics_new(cfg, d.router, &d.metrics, err, sizeof err) != LI_OK)
        goto out;
    on_second(&d);  /* a first snapshot for /metrics */
    const li_daemon_port ports[] = {
        { "x1", x1_ne_port(d.ne) },
        { "metrics", d.metrics ? siptap_metrics_port(d.metrics) : 0 },
    };
    if (li_daemon_ready(cfg, ports, 2, err, sizeof err) != LI_OK)
        goto out;
    li_log_info("X1 on port %u, capturing %s", x1_ne_port(d.ne),
                siptap_capture_is_file(d.cap) ? "from a file" : "live");
    if (siptap_capture_is_file(d.cap) && !wait_for_tasks(&d, wait_tasks, sfd)) {
        rc = 0;
        goto out;
    }
    if (siptap_capture_run(d.cap, d.tap, sfd, on_second, &d, err, sizeof err) != LI_OK)
        goto out;
    rc = 0;
    if (x2x3_router_flush(d.router, (int)flush_ms) != LI_OK) {
        snprintf(err, sizeof err, "X2 not all acknowledged within %lld ms",
                 (long long)flush_ms);
        rc = 1;
    }
out:
    if (rc)
        li_log_error("%s", err);
    if (d.tap && d.router && d.ne && d.cap) {
        siptap_snapshot s;
        snapshot(&d, &s);
        log_stats(&s);
    }
    siptap_metrics_free(d.metrics);
    siptap_capture_close(d.cap);
    x1_ne_free(d.ne);           /* before the router its X1 threads call */
    x2x3_router_free(d.router);
    siptap_free(d.tap);
    li_config_free(cfg);
    close(sfd);
    return rc;
}
