/* The mediator's state changelog, limf.mediator.state (docs/ARCHITECTURE.md, Kafka
 * topics): compacted, one record per key (mediation/proto/med_state.proto), written to
 * the partition number of the limf.xpdu partition it belongs to, in the same Kafka
 * transaction as the HI records and input offsets it accounts for (med_service); read
 * back here when an instance takes partitions over. Its Kafka keys are keyed hashes,
 * the clear key in the value (med_keys.h). In partition 0 the "w/" keys are
 * med_notify's; every other key is its partition's engine's. */
#ifndef MED_CHANGELOG_H
#define MED_CHANGELOG_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "li_err.h"
#include "med_engine.h"
#include "med_notify.h"

/* Reads partitions of a topic from the beginning up to their end (the last stable offset
 * for a read_committed reader), handing each record to fn; rk is left assigned to them.
 * LI_ERR_TIMEOUT when not every partition reached its end within timeout_ms. Also how
 * the mediator loads limf.admin. */
li_err med_read_to_end(rd_kafka_t *rk, const char *topic, const int32_t *parts, int n,
                       void (*fn)(void *ctx, const rd_kafka_message_t *m), void *ctx,
                       int timeout_ms);

/* Loads the changelog of parts (read with reader, which is unassigned afterwards) into
 * engines[part], and into notify for partition 0 (NULL when partition 0 is not among
 * them); the caller created them empty. *records: how many were read. LI_ERR_PROTO when
 * a record does not decode (the engines are then incomplete: the caller drops them). */
li_err med_changelog_restore(rd_kafka_t *reader, const char *topic, const int32_t *parts,
                             int n, med_engine *const *engines, int32_t n_engines,
                             med_notify *notify, size_t *records);

#endif
