/* limf-msrp-relay: the MSRP relay point of interception (msrp_relay.h,
 * docs/POI-RELAY.md), an X1 network element that sends X2/X3 to its tasks' destinations. */
#include <stdio.h>
#include <unistd.h>

#include "li_config.h"
#include "li_daemon.h"
#include "li_log.h"
#include "li_metrics.h"
#include "x1_ne.h"
#include "msrp_relay.h"
#include "msrp_relay_ctl.h"
#include "x2x3_router.h"

typedef struct relay_metrics_ctx {
    msrp_relay *relay;
    msrp_relay_ctl *ctl;
    x2x3_router *router;
} relay_metrics_ctx;

/* Prometheus text for the operator, on its own listener (relay.metrics.listen), unlike
 * the control API, which the IMS-ALG uses: what the relay relays, for every scrape. */
static void render_metrics(void *ctx, li_buf *b)
{
    const relay_metrics_ctx *m = ctx;
    msrp_relay_stats st;
    msrp_relay_stats_get(m->relay, &st);
    li_metrics_put(b, "limf_relay_sessions_reserved_total", "counter", "Sessions reserved",
                   st.sessions_reserved);
    li_metrics_put(b, "limf_relay_sessions_active", "gauge", "Sessions reserved now",
                   st.sessions_active);
    li_metrics_put(b, "limf_relay_sessions_refused_total", "counter",
                   "Reservations refused", st.sessions_refused);
    li_metrics_put(b, "limf_relay_tls_refused_total", "counter",
                   "Handshakes refused (fingerprint)", st.tls_refused);
    li_metrics_put(b, "limf_relay_messages_relayed_total", "counter",
                   "MSRP messages or chunks forwarded", st.messages_relayed);
    li_metrics_put(b, "limf_relay_bytes_relayed_total", "counter", "Bytes written to either leg",
                   st.bytes_relayed);
    /* Says nothing of interception: whom the control API turned away. */
    li_metrics_put(b, "limf_relay_control_refused_total", "counter",
                   "Control API connections refused by their peer credentials",
                   msrp_relay_ctl_refused(m->ctl));
}

/* What says whether anything is intercepted: only over mutual TLS, to the operator's
 * monitoring (relay.metrics.tls; docs/SECURITY.md, "Traces outside LI"). */
static void render_private(void *ctx, li_buf *b)
{
    const relay_metrics_ctx *m = ctx;
    msrp_relay_stats st;
    msrp_relay_stats_get(m->relay, &st);
    li_metrics_put(b, "limf_relay_messages_tapped_total", "counter",
                   "X3 records handed to the sender", st.messages_tapped);
    li_metrics_put(b, "limf_relay_tap_refused_total", "counter",
                   "Records the sender refused (buffer full)", st.tap_refused);
    li_metrics_put(b, "limf_relay_passthrough_sessions_total", "counter",
                   "Sessions passed through under a certificate exception",
                   st.passthrough_sessions);
    if (m->router) {
        x2x3_router_stats rs;
        x2x3_router_stats_get(m->router, &rs);
        const x2x3_sender_stats x = rs.x;
        li_metrics_put(b, "limf_relay_x2x3_destinations", "gauge",
                       "X2/X3 delivery addresses with a sender", (uint64_t)rs.senders);
        li_metrics_put(b, "limf_relay_x2x3_connected", "gauge",
                       "X2/X3 delivery addresses connected", (uint64_t)x.connected);
        li_metrics_put(b, "limf_relay_x2x3_unrouted_total", "counter",
                       "X2/X3 records whose destination had no sender", rs.unrouted);
        li_metrics_put(b, "limf_relay_x2x3_buffered_bytes", "gauge",
                       "X2/X3 bytes held until acknowledged", x.buffered_bytes);
        li_metrics_put(b, "limf_relay_x2x3_dropped_pdus_total", "counter",
                       "X2/X3 PDUs dropped, buffer full", x.dropped_pdus);
        li_metrics_put(b, "limf_relay_x2x3_reconnects_total", "counter", "X2/X3 reconnections",
                       x.reconnects);
        x2x3_router_put_metrics(m->router, b, "limf_relay_x2x3");
    }
}

int main(int argc, char **argv)
{
    li_config *cfg = li_config_new();
    if (!cfg || li_config_from_args(cfg, "limf-msrp-relay", argc, argv, "") != LI_OK) {
        li_config_free(cfg);
        return 2;
    }
    int sfd = li_daemon_signals();   /* before the X1 and X2/X3 threads start */

    char errstr[512] = "signalfd failed";
    x1_ne *ne = NULL;
    x2x3_router *router = NULL;
    msrp_relay *relay = NULL;
    msrp_relay_ctl *ctl = NULL;
    li_metrics *metrics = NULL;
    relay_metrics_ctx mctx = { NULL, NULL, NULL };
    int rc = 1;
    if (sfd < 0)
        goto out;
    /* Without X1 or X2/X3 the relay still relays, and taps nothing. */
    if (li_config_get(cfg, "x1.tls.cert", NULL)) {
        ne = x1_ne_new(cfg, "x1", errstr, sizeof errstr);
        if (!ne)
            goto out;
    } else {
        li_log_warn("no x1.tls.cert: not an X1 network element, nothing will be tapped");
    }
    if (li_config_get(cfg, "x2x3.address", NULL) ||
        (ne && li_config_get(cfg, "x2x3.tls.cert", NULL))) {
        router = x2x3_router_new(cfg, "x2x3", ne, errstr, sizeof errstr);
        if (!router)
            goto out;
    } else {
        li_log_warn("no x2x3.tls.cert: nothing will be tapped");
    }
    relay = msrp_relay_new(cfg, ne, router, errstr, sizeof errstr);
    if (!relay)
        goto out;
    ctl = msrp_relay_ctl_new(relay, cfg, errstr, sizeof errstr);
    if (!ctl)
        goto out;
    mctx.relay = relay;
    mctx.ctl = ctl;
    mctx.router = router;
    if (li_metrics_from_config_private(cfg, "relay.metrics", render_metrics, render_private,
                                       &mctx, &metrics, errstr, sizeof errstr) != LI_OK)
        goto out;
    /* The control API is a Unix socket: the ready file names its path. */
    const li_daemon_port ports[] = { { "x1", ne ? x1_ne_port(ne) : 0 },
                                     { "metrics", li_metrics_port(metrics) } };
    const li_daemon_socket control = { "control", msrp_relay_ctl_path(ctl) };
    if (li_daemon_ready_sockets(cfg, ports, 2, &control, 1, errstr, sizeof errstr) != LI_OK)
        goto out;
    li_log_info("limf-msrp-relay: running");
    rc = msrp_relay_run(relay, sfd) == LI_OK ? 0 : 1;
    errstr[0] = '\0';
out:
    if (rc != 0 && errstr[0])
        li_log_error("limf-msrp-relay: %s", errstr);
    li_metrics_free(metrics);    /* before the relay it reads */
    msrp_relay_ctl_free(ctl);    /* before the relay it drives */
    msrp_relay_free(relay);      /* reports every session released ... */
    x1_ne_free(ne);              /* (no X1 thread calls the router after this) */
    x2x3_router_free(router);    /* ... and flushes those events */
    if (sfd >= 0)
        close(sfd);
    li_config_free(cfg);
    return rc;
}
