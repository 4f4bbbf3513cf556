/* The ADMF's X1 side (docs/PRINCIPLES.md 6, ETSI TS 103 221-1): keeps every registered point of
 * interception in step with the warrants. One worker thread:
 *   - at each warrant's start and end time (and after every change) pushes ActivateTask /
 *     ModifyTask / DeactivateTask: one task per warrant, its XID the warrant's, carrying
 *     all its targets; CreateObject / DeleteObject for certificate exceptions (relays);
 *     CreateDestination for limf-ingest once per POI; Keepalive;
 *   - retries with exponential backoff while a POI is unreachable;
 *   - reconciles every x1.reconcile_interval_s and on request: GetAllDetails and
 *     GetTaskDetails, re-push what is missing or differs, deactivate what must not be
 *     there; the outcome goes to the audit trail and to the POI's last_audit. */
#ifndef ADMF_RECONCILE_H
#define ADMF_RECONCILE_H

#include "li_config.h"
#include "admf.h"

typedef struct admf_reconciler admf_reconciler;

/* Keys: x1.tls.* (the ADMF's client certificate and the POIs' trust), x1.admf_id,
 * x1.timeout_ms (x1_client.h); x1.ingest_address (host:port of limf-ingest; without it
 * no task is pushed), x1.ingest_did (UUID), x1.reconcile_interval_s (300),
 * x1.keepalive_interval_s (30), x1.retry_max_s (60), x1.tick_ms (1000), x1.min_pass_ms
 * (100).
 * Registers itself for admf's change notifications. NULL with a reason in errstr. */
admf_reconciler *admf_reconciler_new(const li_config *cfg, admf_service *admf, char *errstr,
                                 size_t errstr_size);
/* Stops the worker; NULL is a no-op. */
void admf_reconciler_free(admf_reconciler *r);

/* The REST callback of POST /v1/intercept-points/{id}/audit (ctx: the reconciler):
 * reconciles that POI now and answers with its outcome. */
void admf_reconciler_audit_now(void *ctx, const x1_principal *who, const char *poi_id,
                             x1_result *out);

#endif
