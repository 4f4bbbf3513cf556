/* limf-siptap's Prometheus endpoint: GET /metrics on its own HTTP port (li_metrics,
 * its own thread). The capture thread publishes a snapshot of the counters about once a
 * second; the HTTP thread reads the snapshot, under a mutex, and the router's
 * per-destination series (x2x3_router_put_metrics). */
#ifndef SIPTAP_METRICS_H
#define SIPTAP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "li_config.h"
#include "li_err.h"
#include "x2x3_router.h"
#include "siptap.h"

typedef struct siptap_metrics siptap_metrics;

/* What one scrape shows. */
typedef struct siptap_snapshot {
    siptap_stats tap;
    x2x3_router_stats x2;
    uint64_t kernel_received, kernel_dropped;
    size_t tasks;
} siptap_snapshot;

/* Serves on `siptap.metrics.listen` (*out NULL when absent: LI_OK), with the series that
 * say whether anything is intercepted (matches, tasks, X2 traffic, the router's
 * per-destination series) only over mutual TLS (`siptap.metrics.tls.*`,
 * li_metrics_from_config_private). router (not owned, thread-safe, may be NULL) must
 * outlive the endpoint. An error with a reason in errstr. */
li_err siptap_metrics_new(const li_config *cfg, x2x3_router *router, siptap_metrics **out,
                          char *errstr, size_t errstr_size);
/* NULL is a no-op. */
void siptap_metrics_free(siptap_metrics *m);
uint16_t siptap_metrics_port(siptap_metrics *m);
/* Copies the snapshot (thread-safe). */
void siptap_metrics_publish(siptap_metrics *m, const siptap_snapshot *s);

#endif
