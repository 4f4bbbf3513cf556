/* Prometheus text on GET /metrics for limf-mediator (mediator.metrics.listen), served by
 * the li_metrics thread from a snapshot the Kafka loop refreshes. */
#ifndef MED_METRICS_H
#define MED_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct med_metrics_values {
    uint64_t pdus, records, transactions, aborts, unroutable; /* counters */
    uint64_t iri, cc, dropped_no_task, dropped_untasked_poi, dropped_window, dropped_clock,
             dropped_iri_only, retransmissions,
             resent_copies, malformed, orphans_expired;      /* counters */
    uint64_t sessions, pending_bytes, partitions, warrants;  /* gauges */
} med_metrics_values;

typedef struct med_metrics med_metrics;

/* listen: "host:port" (numeric; IPv6 in brackets; port 0 picks one). NULL with a reason
 * in errstr. */
med_metrics *med_metrics_new(const char *listen, char *errstr, size_t errstr_size);
/* Copies v (thread-safe). */
void med_metrics_set(med_metrics *m, const med_metrics_values *v);
/* The port actually bound. */
uint16_t med_metrics_port(const med_metrics *m);
void med_metrics_free(med_metrics *m);   /* NULL is a no-op */

#endif
