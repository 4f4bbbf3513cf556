/* Uses of certificate exceptions in the audit trail (docs/PRINCIPLES.md 6: the audit trail
 * records each use). A relay that passes a tasked session through under an exception
 * reports it over X2 as a POI event ({"limf_event":"passthrough","exception_id",...},
 * payload format 4); limf-ingest writes POI events to limf.poi.events as well as to
 * limf.xpdu, so that the ADMF never reads intercepted content. This consumer (its own
 * group) follows limf.poi.events and appends one `exception.use` event per report to
 * limf.audit, committing its offset only after the event was acknowledged: at least once. */
#ifndef ADMF_USES_H
#define ADMF_USES_H

#include "li_config.h"
#include "admf.h"

typedef struct admf_uses admf_uses;

/* Keys: admf.uses_group (consumer group, default "limf-admf-exception-uses"). admf (not
 * owned) must outlive it. NULL with a reason in errstr. */
admf_uses *admf_uses_new(const li_config *cfg, admf_service *admf, char *errstr,
                               size_t errstr_size);
/* Stops the consumer (commits what was recorded); NULL is a no-op. */
void admf_uses_free(admf_uses *u);

/* Pure: if an XPdu record is a pass-through report, fills the audit object
 * ("exception/<id>") and detail JSON (xid, fingerprint, peer, poi) and returns 1. */
int admf_uses_parse(const uint8_t *value, size_t len, char *object, size_t object_size,
                       char *actor, size_t actor_size, char **detail);

#endif
