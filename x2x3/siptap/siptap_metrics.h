/* limf-siptap's Prometheus endpoint: GET /metrics on its own HTTP port (li_metrics,
 * its own thread). The capture thread publishes a snapshot of the counters about once a
 * second; the HTTP thread reads the snapshot, under a mutex, and the router's
 * per-destination series (x2x3_router_put_metrics). */
#ifndef SIPTAP_METRICS_H
#define SIPTAP_METRICS_H

#include <stddef.h>
#include <stdint.h>

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

/* Listens on listen (li_metrics_new(): "host:port", IPv6 in brackets, port 0: any).
 * router (not owned, thread-safe, may be NULL) adds its per-destination series on each
 * scrape and must outlive the endpoint. NULL with a reason in errstr. */
siptap_metrics *siptap_metrics_new(const char *listen, x2x3_router *router,
                                             char *errstr, size_t errstr_size);
/* NULL is a no-op. */
void siptap_metrics_free(siptap_metrics *m);
uint16_t siptap_metrics_port(siptap_metrics *m);
/* Copies the snapshot (thread-safe). */
void siptap_metrics_publish(siptap_metrics *m, const siptap_snapshot *s);

#endif
