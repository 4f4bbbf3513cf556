/* See siptap_metrics.h. */
#include "siptap_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "li_metrics.h"

struct siptap_metrics {
    li_metrics *http;
    x2x3_router *router;   /* not owned; read on each scrape (thread-safe) */
    pthread_mutex_t mu;
    siptap_snapshot snap;
};

typedef struct metric {
    const char *name;
    const char *type;   /* counter or gauge */
    const char *help;
    uint64_t value;
} metric;

/* On the HTTP thread: a copy of the last published snapshot. */
static void snapshot(siptap_metrics *m, siptap_snapshot *out)
{
    pthread_mutex_lock(&m->mu);
    *out = m->snap;
    pthread_mutex_unlock(&m->mu);
}

static void put_all(li_buf *b, const metric *ms, size_t n)
{
    for (size_t i = 0; i < n; i++)
        li_metrics_put(b, ms[i].name, ms[i].type, ms[i].help, ms[i].value);
}

/* What the capture sees, for every scrape. */
static void render(void *ctx, li_buf *b)
{
    siptap_snapshot snap;
    snapshot(ctx, &snap);
    const siptap_snapshot *s = &snap;
    const metric ms[] = {
        { "limf_siptap_packets_total", "counter", "Frames captured", s->tap.packets },
        { "limf_siptap_decode_errors_total", "counter", "Frames that could not be decoded",
          s->tap.decode_errors },
        { "limf_siptap_kernel_drops_total", "counter", "Frames dropped by the kernel",
          s->kernel_dropped },
        { "limf_siptap_fragments_total", "counter", "IP fragments", s->tap.fragments },
        { "limf_siptap_reassembled_total", "counter", "Datagrams rebuilt from fragments",
          s->tap.reassembled },
        { "limf_siptap_sip_messages_total", "counter", "SIP messages parsed",
          s->tap.sip_messages },
        { "limf_siptap_parse_errors_total", "counter", "Datagrams or stream bytes that were "
          "not SIP", s->tap.parse_errors },
        { "limf_siptap_tcp_flows", "gauge", "TCP directions tracked", s->tap.tcp.flows },
        { "limf_siptap_tcp_buffered_bytes", "gauge", "Bytes held by TCP reassembly",
          s->tap.tcp.buffered_bytes },
        { "limf_siptap_tcp_gaps_total", "counter", "TCP holes given up",
          s->tap.tcp.gaps },
        { "limf_siptap_tcp_retransmitted_total", "counter", "TCP segments already received",
          s->tap.tcp.retransmitted },
        { "limf_siptap_tcp_out_of_order_total", "counter", "TCP segments out of order",
          s->tap.tcp.out_of_order },
        { "limf_siptap_tcp_overflows_total", "counter", "TCP data discarded at a bound",
          s->tap.tcp.overflows },
        { "limf_siptap_tcp_evicted_total", "counter", "TCP flows dropped for room",
          s->tap.tcp.evicted },
    };
    put_all(b, ms, sizeof ms / sizeof ms[0]);
}

/* What says whether anything is intercepted: only over mutual TLS, to the operator's
 * monitoring (siptap.metrics.tls; docs/SECURITY.md, "Traces outside LI"). */
static void render_private(void *ctx, li_buf *b)
{
    siptap_metrics *m = ctx;
    siptap_snapshot snap;
    snapshot(m, &snap);
    const siptap_snapshot *s = &snap;
    const metric ms[] = {
        { "limf_siptap_matched_total", "counter", "SIP messages of a tasked target or dialog",
          s->tap.matched },
        { "limf_siptap_exported_total", "counter", "X2 records handed to the sender",
          s->tap.exported },
        { "limf_siptap_dialogs", "gauge", "Dialogs of tasked targets tracked", s->tap.dialogs },
        { "limf_siptap_dialogs_evicted_total", "counter", "Dialogs dropped for room",
          s->tap.dialogs_evicted },
        { "limf_siptap_tasks", "gauge", "X1 tasks held", s->tasks },
        { "limf_siptap_x2_sent_pdus_total", "counter", "X2 PDUs written (resends too)",
          s->x2.x.sent_pdus },
        { "limf_siptap_x2_acked_pdus_total", "counter", "X2 PDUs acknowledged by the ingest",
          s->x2.x.acked_pdus },
        { "limf_siptap_x2_dropped_pdus_total", "counter", "X2 PDUs dropped, buffer full",
          s->x2.x.dropped_pdus },
        { "limf_siptap_x2_buffered_bytes", "gauge", "X2 bytes held until acknowledged",
          s->x2.x.buffered_bytes },
        { "limf_siptap_x2_reconnects_total", "counter", "X2 reconnections", s->x2.x.reconnects },
        { "limf_siptap_x2_connected", "gauge", "X2 delivery addresses connected",
          (uint64_t)s->x2.x.connected },
        { "limf_siptap_x2_destinations", "gauge", "X2 delivery addresses with a sender",
          (uint64_t)s->x2.senders },
        { "limf_siptap_x2_unrouted_total", "counter",
          "X2 records whose destination had no sender", s->x2.unrouted },
    };
    put_all(b, ms, sizeof ms / sizeof ms[0]);
    if (m->router)
        x2x3_router_put_metrics(m->router, b, "limf_siptap_x2");
}

li_err siptap_metrics_new(const li_config *cfg, x2x3_router *router, siptap_metrics **out,
                          char *errstr, size_t errstr_size)
{
    *out = NULL;
    const char *listen = li_config_get(cfg, "siptap.metrics.listen", NULL);
    if (!listen || !*listen)
        return LI_OK;
    siptap_metrics *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(errstr, errstr_size, "out of memory");
        return LI_ERR_NOMEM;
    }
    m->router = router;
    pthread_mutex_init(&m->mu, NULL);
    li_err err = li_metrics_from_config_private(cfg, "siptap.metrics", render, render_private,
                                                m, &m->http, errstr, errstr_size);
    if (err != LI_OK) {
        siptap_metrics_free(m);
        return err;
    }
    *out = m;
    return LI_OK;
}

void siptap_metrics_free(siptap_metrics *m)
{
    if (!m)
        return;
    li_metrics_free(m->http);   /* first: no scrape runs once it returns */
    pthread_mutex_destroy(&m->mu);
    free(m);
}

uint16_t siptap_metrics_port(siptap_metrics *m)
{
    return li_metrics_port(m->http);
}

void siptap_metrics_publish(siptap_metrics *m, const siptap_snapshot *s)
{
    pthread_mutex_lock(&m->mu);
    m->snap = *s;
    pthread_mutex_unlock(&m->mu);
}
