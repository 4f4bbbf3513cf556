/* limf-mediator's Kafka side (docs/PRINCIPLES.md 3, 4): consume-transform-produce with Kafka
 * transactions. Consumes limf.xpdu in a consumer group (read_committed), materializes
 * limf.admin (every partition, from the beginning, then followed), runs one med_engine
 * per assigned limf.xpdu partition, and in one transaction per batch writes the HI
 * records to limf.hi.<destination-id>, the changed state to limf.mediator.state (same
 * partition number as the input) and the input offsets. On partition assignment the
 * engine of each partition is rebuilt from limf.mediator.state, so a crash loses
 * nothing and re-emits nothing. Everything runs in med_service_poll's thread except the
 * sending of offsets and the commit of a transaction, which a committer thread does
 * while the next batch is processed (docs/MEDIATION.md "Pipelining"). */
#ifndef MED_SERVICE_H
#define MED_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "li_config.h"
#include "li_err.h"

typedef struct med_service med_service;

/* Reads the configuration (docs/MEDIATION.md), creates the topics that are missing,
 * loads limf.admin to its end, initializes the transactional producer and subscribes.
 * cfg is borrowed and must outlive the service. NULL with a reason in errstr. */
med_service *med_service_new(const li_config *cfg, char *errstr, size_t errstr_size);

/* Runs for up to about timeout_ms: polls, and commits a transaction when the batch is
 * full, old enough, or the timers are due. LI_ERR_KAFKA on a fatal error (fenced by a
 * newer instance with the same transactional id, or a fatal producer error): the caller
 * exits, and the partitions move to the other instances. */
li_err med_service_poll(med_service *s, int timeout_ms);

/* Commits what is pending, leaves the group, closes the clients. NULL is a no-op. */
void med_service_free(med_service *s);

/* The port of /metrics (mediator.metrics.listen); 0 when it is not served. */
uint16_t med_service_metrics_port(const med_service *s);

#endif
