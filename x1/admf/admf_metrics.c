/* The ADMF service's Prometheus text (admf.h): one function, so the daemon's metrics
 * registry can take its place. */
#include <inttypes.h>

#include "admf_internal.h"

void admf_metrics(admf_service *a, li_buf *out)
{
    static const char *const names[X1_KIND_COUNT] = { "warrants", "destinations",
                                                      "cert_exceptions", "intercept_points" };
    pthread_mutex_lock(&a->state_mu);
    for (int k = 0; k < X1_KIND_COUNT; k++)
        li_buf_printf(out, "limf_admf_objects{kind=\"%s\"} %zu\n", names[k],
                      admf_store_count(a->store, (x1_kind)k));
    size_t n_audit = a->n_audit;
    pthread_mutex_unlock(&a->state_mu);
    li_buf_printf(out, "# TYPE limf_admf_audit_events gauge\nlimf_admf_audit_events %zu\n",
                  n_audit);
    li_buf_printf(out, "# TYPE limf_admf_writes_total counter\n");
    li_buf_printf(out, "limf_admf_writes_total{outcome=\"accepted\"} %" PRIuFAST64 "\n",
                  atomic_load(&a->writes_ok));
    li_buf_printf(out, "limf_admf_writes_total{outcome=\"refused\"} %" PRIuFAST64 "\n",
                  atomic_load(&a->writes_refused));
    li_buf_printf(out, "limf_admf_writes_total{outcome=\"failed\"} %" PRIuFAST64 "\n",
                  atomic_load(&a->writes_failed));
    li_buf_printf(out, "limf_admf_write_seconds_sum %.6f\n",
                  (double)atomic_load(&a->write_ns_sum) / 1e9);
    li_buf_printf(out, "limf_admf_store_healthy %d\n", admf_healthy(a));
    /* Alarms of the audit trail: a chain found broken at start (read-only until an admin
     * acknowledges), a limf.audit that does not keep its events for ever. */
    li_buf_printf(out, "limf_admf_read_only %d\n", admf_read_only(a));
    li_buf_printf(out, "limf_admf_audit_retention_ok %d\n", atomic_load(&a->retention_ok));
    li_buf_printf(out, "# TYPE limf_admf_auth_refused_total counter\n"
                  "limf_admf_auth_refused_total %" PRIuFAST64 "\n", atomic_load(&a->auth_refused));
}
