/* The registry of intercept points the ingest admits (docs/SECURITY.md, "X2/X3"): the
 * ADMF publishes every registered POI, its id (the CN of its X2/X3 client certificate)
 * and the SHA-256 of that certificate, to the compacted topic limf.pois; the ingest
 * follows it on a thread of its own and admits a POI only when both match. A CA-signed
 * certificate alone, another POI's name on another certificate, or a POI removed from
 * the ADMF is refused. The registry holds no warrant, target or task. */
#ifndef INGEST_POIS_H
#define INGEST_POIS_H

#include <stddef.h>
#include <stdint.h>

#include "li_config.h"

typedef struct ingest_pois ingest_pois;

/* Starts following `topics.prefix`limf.pois with the configuration's Kafka client
 * settings. NULL with a reason in errstr when the consumer cannot be made. */
ingest_pois *ingest_pois_new(const li_config *cfg, char *errstr, size_t errstr_size);

/* Stops the thread and frees everything; NULL is a no-op. */
void ingest_pois_free(ingest_pois *p);

/* 1 once the topic has been read to its end (until then every POI is refused). */
int ingest_pois_ready(ingest_pois *p);

/* 1 when a registered POI is named `cn` and its certificate's SHA-256 is `fp`. */
int ingest_pois_admits(ingest_pois *p, const char *cn, const uint8_t fp[32]);

/* How many POIs are registered (for /metrics). */
size_t ingest_pois_count(ingest_pois *p);

#endif
