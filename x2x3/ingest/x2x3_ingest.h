/* limf-ingest: the mediation side of X2/X3 (ETSI TS 103 221-2). One epoll thread serves
 * many POI connections over mutual TLS, validates every PDU, publishes X2 and X3 PDUs to
 * Kafka (`limf.xpdu`, key = XID, value = limf.XPdu) with an idempotent producer
 * (acks=all), and answers a keepalive only once Kafka has acknowledged every PDU that
 * connection sent before it (docs/PRINCIPLES.md 4). When the producer queue is
 * full it stops reading (back-pressure) instead of dropping. A malformed PDU closes only
 * its connection. Prometheus metrics at /metrics on a separate HTTP port.
 * Configuration keys: docs/X2X3.md. */
#ifndef X2X3_INGEST_H
#define X2X3_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "li_config.h"
#include "li_err.h"

typedef struct x2x3_ingest x2x3_ingest;

/* Binds the X2/X3 and metrics ports, builds the TLS context and the Kafka producer.
 * NULL with a reason in errstr. cfg must outlive the ingest. */
x2x3_ingest *x2x3_ingest_new(const li_config *cfg, char *errstr, size_t errstr_size);

/* Bound ports (useful when configured with port 0). */
uint16_t x2x3_ingest_port(const x2x3_ingest *ing);
uint16_t x2x3_ingest_metrics_port(const x2x3_ingest *ing);

/* Serves until stop_fd (e.g. a signalfd) becomes readable, then stops accepting, flushes
 * Kafka (ingest.flush_timeout_ms), answers the keepalives that became answerable and
 * closes every connection. LI_OK on a clean stop. */
li_err x2x3_ingest_run(x2x3_ingest *ing, int stop_fd);

/* Frees everything; NULL is a no-op. */
void x2x3_ingest_free(x2x3_ingest *ing);

#endif
