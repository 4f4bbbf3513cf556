#include "med_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "li_metrics.h"

struct med_metrics {
    li_metrics *http;
    pthread_mutex_t mu;
    med_metrics_values v;
};

/* Runs on the metrics thread for each scrape. */
static void render(void *ctx, li_buf *b)
{
    med_metrics *m = ctx;
    pthread_mutex_lock(&m->mu);
    med_metrics_values v = m->v;
    pthread_mutex_unlock(&m->mu);
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } rows[] = {
#define ROW(f, t, h) { "limf_mediator_" #f, t, h, offsetof(med_metrics_values, f) }
        ROW(pdus, "counter", "XPdu records processed"),
        ROW(records, "counter", "HI records produced (per destination)"),
        ROW(transactions, "counter", "Kafka transactions committed"),
        ROW(aborts, "counter", "Kafka transactions aborted (engines rebuilt)"),
        ROW(unroutable, "counter",
            "HI records dropped: their destination is unknown or has no topic_suffix"),
        ROW(iri, "counter", "IRI records (per LIID)"),
        ROW(cc, "counter", "CC records (per LIID)"),
        ROW(dropped_no_task, "counter", "PDUs of an XID without warrant"),
        ROW(dropped_untasked_poi, "counter",
            "PDUs from a POI not registered with that certificate, or not carrying the XID"),
        ROW(dropped_window, "counter", "PDUs outside every warrant's window"),
        ROW(dropped_clock, "counter",
            "PDUs inside a window by the POI's clock only, received beyond the skew"),
        ROW(dropped_iri_only, "counter", "X3 PDUs of tasks whose warrants are IRI-only"),
        ROW(retransmissions, "counter", "SIP retransmissions suppressed"),
        ROW(resent_copies, "counter", "PDUs a POI resent after a reconnect, dropped"),
        ROW(malformed, "counter", "malformed PDUs (reported to the LEA)"),
        ROW(orphans_expired, "counter", "X3 delivered under its own CIN after the wait"),
        ROW(sessions, "gauge", "live communications"),
        ROW(pending_bytes, "gauge", "X3 bytes waiting for signalling"),
        ROW(partitions, "gauge", "assigned limf.xpdu partitions"),
        ROW(warrants, "gauge", "warrants in the task table"),
#undef ROW
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint64_t x;
        memcpy(&x, (const char *)&v + rows[i].off, sizeof x);
        li_metrics_put(b, rows[i].name, rows[i].type, rows[i].help, x);
    }
}

med_metrics *med_metrics_new(const char *listen, char *errstr, size_t errstr_size)
{
    med_metrics *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    char err[256];
    if (!(m->http = li_metrics_new(listen, render, m, err, sizeof err))) {
        snprintf(errstr, errstr_size, "mediator.metrics.listen: %s", err);
        med_metrics_free(m);
        return NULL;
    }
    return m;
}

void med_metrics_set(med_metrics *m, const med_metrics_values *v)
{
    pthread_mutex_lock(&m->mu);
    m->v = *v;
    pthread_mutex_unlock(&m->mu);
}

uint16_t med_metrics_port(const med_metrics *m)
{
    return li_metrics_port(m->http);
}

void med_metrics_free(med_metrics *m)
{
    if (!m)
        return;
    li_metrics_free(m->http);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
