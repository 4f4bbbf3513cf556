/* The ADMF service's Prometheus text (admf.h), written with li_metrics' writers. */
#include <string.h>

#include "admf_internal.h"
#include "admin.pb-c.h"
#include "li_metrics.h"

/* Intercept points whose health is an alarm (admf_reconcile.c): unreachable over X1, or
 * answering but with tables the ADMF cannot read (degraded). */
typedef struct poi_alarms {
    size_t unreachable, degraded;
} poi_alarms;

static int count_alarm(void *ctx, const ProtobufCMessage *m)
{
    poi_alarms *c = ctx;
    const Limf__InterceptPoint *p = (const Limf__InterceptPoint *)m;
    if (p->health && strcmp(p->health, "unreachable") == 0)
        c->unreachable++;
    else if (p->health && strcmp(p->health, "degraded") == 0)
        c->degraded++;
    return 0;
}

static void put_store(li_buf *out, const size_t counts[X1_KIND_COUNT], const poi_alarms *alarms,
                      size_t n_audit)
{
    static const char *const names[X1_KIND_COUNT] = { "warrants", "destinations",
                                                      "cert_exceptions", "intercept_points" };
    li_metrics_put_family(out, "limf_admf_objects", "gauge", "Objects in the store");
    for (int k = 0; k < X1_KIND_COUNT; k++) {
        char label[64] = "";
        li_metrics_label(label, sizeof label, "kind", names[k]);
        li_metrics_put_labeled(out, "limf_admf_objects", label, counts[k]);
    }
    li_metrics_put_family(out, "limf_admf_intercept_points_alarmed", "gauge",
                          "Intercept points unreachable over X1, or degraded");
    li_metrics_put_labeled(out, "limf_admf_intercept_points_alarmed", "health=\"unreachable\"",
                           alarms->unreachable);
    li_metrics_put_labeled(out, "limf_admf_intercept_points_alarmed", "health=\"degraded\"",
                           alarms->degraded);
    li_metrics_put(out, "limf_admf_audit_events", "gauge", "Events in the audit trail",
                   n_audit);
}

static void put_writes(admf_service *a, li_buf *out)
{
    li_metrics_put_family(out, "limf_admf_writes_total", "counter", "Writes by outcome");
    li_metrics_put_labeled(out, "limf_admf_writes_total", "outcome=\"accepted\"",
                           atomic_load(&a->writes_ok));
    li_metrics_put_labeled(out, "limf_admf_writes_total", "outcome=\"refused\"",
                           atomic_load(&a->writes_refused));
    li_metrics_put_labeled(out, "limf_admf_writes_total", "outcome=\"failed\"",
                           atomic_load(&a->writes_failed));
    li_metrics_put_family(out, "limf_admf_write_seconds_sum", "counter",
                          "Seconds spent in writes");
    li_metrics_put_labeled_gauge(out, "limf_admf_write_seconds_sum", NULL,
                                 (double)atomic_load(&a->write_ns_sum) / 1e9);
    li_metrics_put(out, "limf_admf_store_healthy", "gauge", "1 while the store of record works",
                   (uint64_t)admf_healthy(a));
}

void admf_metrics(admf_service *a, li_buf *out)
{
    size_t counts[X1_KIND_COUNT];
    poi_alarms alarms = { 0, 0 };
    pthread_mutex_lock(&a->state_mu);
    for (int k = 0; k < X1_KIND_COUNT; k++)
        counts[k] = admf_store_count(a->store, (x1_kind)k);
    admf_store_each(a->store, X1_KIND_POI, NULL, count_alarm, &alarms);
    size_t n_audit = a->n_audit;
    pthread_mutex_unlock(&a->state_mu);
    put_store(out, counts, &alarms, n_audit);
    put_writes(a, out);
    /* Alarms of the audit trail: a chain found broken at start (read-only until an admin
     * acknowledges), a limf.audit that does not keep its events for ever. */
    li_metrics_put(out, "limf_admf_read_only", "gauge",
                   "1 while the ADMF refuses changes: its audit chain was found broken",
                   (uint64_t)admf_read_only(a));
    li_metrics_put(out, "limf_admf_audit_retention_ok", "gauge",
                   "0 when limf.audit does not keep its events for ever",
                   (uint64_t)atomic_load(&a->retention_ok));
    li_metrics_put(out, "limf_admf_auth_refused_total", "counter",
                   "Requests refused by authentication (aggregated in the trail)",
                   (uint64_t)atomic_load(&a->auth_refused));
}
