/* The ADMF service (docs/PRINCIPLES.md 6): the objects of limf.admin, their validation and
 * optimistic concurrency, and the audit trail on limf.audit. Independent of HTTP: the REST
 * layer (admf_rest.h) maps requests to these calls and their x1_result to responses.
 *
 * Durability: a mutation is answered only after Kafka acknowledged both its limf.admin
 * record and its limf.audit event (idempotent producer, acks=all). Mutations are
 * serialized (one writer), so of two updates carrying the same ETag exactly one wins. */
#ifndef ADMF_H
#define ADMF_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "li_bytes.h"
#include "li_config.h"
#include "li_err.h"
#include "admf_store.h"

typedef struct admf_service admf_service;

/* Who acts: the certificate CN or token name, and its role ("admin", "operator",
 * "auditor"; "system" for the ADMF's own actions; "" when not authenticated). */
typedef struct x1_principal {
    char name[128];
    char role[16];
} x1_principal;

/* An answer: HTTP status, JSON body (owned by the result; x1_result_clear frees it) and
 * the object's version for the ETag (0: none). */
typedef struct x1_result {
    int status;
    json_t *body;
    uint64_t etag;
} x1_result;

void x1_result_clear(x1_result *r);
/* Fills r with an RFC 9457 problem: {"type":"urn:limf:problem:<code>","title":code,
 * "status","detail":message,"code","field"} (served as application/problem+json). */
void x1_result_error(x1_result *r, int status, const char *code, const char *field,
                     const char *message);

/* Connects to Kafka (`kafka.*` keys), makes sure limf.admin (compacted) and limf.audit
 * (unlimited retention) exist, and rebuilds the state by reading both from the beginning
 * to their end offsets; checks the audit chain (a broken one: read-only mode). Keys:
 * admf.write_timeout_ms (default 10000), admf.audit_key_file (required),
 * admf.audit_previous_key_files, admf.audit_checkpoint_events (1000),
 * admf.audit_checkpoint_seconds (60), admf.audit_memory_events (250000),
 * admf.auth_refusal_interval_seconds (60). NULL with a reason in errstr. */
admf_service *admf_new(const li_config *cfg, char *errstr, size_t errstr_size);
/* Flushes and closes; NULL is a no-op. */
void admf_free(admf_service *a);

/* 1 while the store is usable (a failed Kafka delivery makes it 0 for good: the daemon
 * then exits and rebuilds from the topics at restart). */
int admf_healthy(admf_service *a);

/* Mutations. body is read only. `reason` is the X-Reason header or NULL. if_match is
 * the If-Match header or NULL. The result's body is the object (or the error). */
void admf_create(admf_service *a, x1_kind kind, const x1_principal *who, const json_t *body,
                    const char *reason, x1_result *out);
void admf_update(admf_service *a, x1_kind kind, const x1_principal *who, const char *id,
                    const char *if_match, const json_t *body, int patch, const char *reason,
                    x1_result *out);
/* Re-points destination id (POST /v1/destinations/{id}/repoint, docs/REST.md): body holds
 * only address and trust fields (merged as in PATCH) and keep_backlog; without
 * keep_backlog true the destination gets a new topic_suffix, so its HI starts from an
 * empty backlog. An ordinary update of these fields is refused (409 repoint_required). */
void admf_repoint(admf_service *a, const x1_principal *who, const char *id,
                  const char *if_match, const json_t *body, const char *reason, x1_result *out);
void admf_delete(admf_service *a, x1_kind kind, const x1_principal *who, const char *id,
                    const char *if_match, const char *reason, x1_result *out);

/* Reads. */
void admf_get(admf_service *a, x1_kind kind, const char *id, x1_result *out);
/* Query parameters of a list: `after` (cursor: the last id of the previous page), `limit`
 * (1-1000, default 100) and filters field=value on the representation's top-level fields
 * (for array fields: membership). */
typedef struct x1_query {
    const char *keys[16];
    const char *values[16];
    size_t n;
} x1_query;
const char *x1_query_get(const x1_query *q, const char *key);
void admf_list(admf_service *a, x1_kind kind, const x1_query *q, x1_result *out);

/* Appends one event to the audit trail and waits for Kafka's acknowledgement. detail is
 * JSON text or NULL. */
li_err admf_audit(admf_service *a, const x1_principal *who, const char *action,
                     const char *object, const char *outcome, const char *reason,
                     const char *detail);
/* GET /v1/audit: filters from, to (RFC 3339), actor, action, object (exact, or a prefix
 * ending in '/'), outcome; after (index), limit. A page of the events held in memory. */
void admf_audit_list(admf_service *a, const x1_query *q, x1_result *out);
/* GET /v1/audit?format=jsonl, streamed in bounded memory: the matching events as JSON
 * lines (all unless `limit`), preceded by the start checkpoint when the first is not event
 * 0. _new copies q; NULL with out filled for a bad query. _read fills buf with up to max
 * bytes: their count, 0 at the end, -1 when the in-memory window moved past the export
 * (the rest is in limf.audit only: the export cannot be completed and must be retried). */
typedef struct admf_export admf_export;
admf_export *admf_audit_export_new(admf_service *a, const x1_query *q, x1_result *out);
ssize_t admf_audit_export_read(admf_export *e, char *buf, size_t max);
void admf_audit_export_free(admf_export *e);
/* GET /v1/audit/verify: re-reads limf.audit from Kafka and checks the whole chain under
 * the audit keys, anchored at the latest checkpoint. */
void admf_audit_verify(admf_service *a, x1_result *out);
/* GET /v1/audit/checkpoint: the latest signed checkpoint (audit_chain.h), 404 before the
 * first event. */
void admf_audit_checkpoint(admf_service *a, x1_result *out);
/* 1 while mutations are refused because the chain was found broken at start. */
int admf_read_only(admf_service *a);
/* POST /v1/audit/acknowledge (admin): leaves read-only mode, recorded as the audited
 * action "audit.acknowledge" with the reason (required). */
void admf_audit_acknowledge(admf_service *a, const x1_principal *who, const char *reason,
                            x1_result *out);
/* Counts a refused authentication from `source` (the peer's address) presenting who->name;
 * the refusals of one source and presented name are written as one "auth.fail" event per
 * interval (admf.auth_refusal_interval_seconds) with their count, so that a flood cannot
 * bury the trail. request: "METHOD path" of the first. */
void admf_auth_refused(admf_service *a, const x1_principal *who, const char *source,
                       const char *request);
/* Records a read of warrants (least knowledge: who looked at which warrant, or checked
 * whether an identity is a target): "warrant.read" with the id, or "warrant.lookup" with
 * the target's pseudonym (audit_chain_pseudonym), or "warrant.list". */
void admf_audit_read(admf_service *a, const x1_principal *who, const char *id,
                     const x1_query *q, int status);
/* Replaces a warrant representation's LIID and target values by their pseudonyms: what
 * the trail records of a warrant. */
void admf_audit_pseudonymize(admf_service *a, json_t *warrant);

/* Prometheus text of the store and audit metrics, appended to out. */
void admf_metrics(admf_service *a, li_buf *out);

/* ---- for the X1 side (admf_reconcile.c) ---- */

/* The store, read under admf_lock (writers apply records under the same lock). */
void admf_lock(admf_service *a);
void admf_unlock(admf_service *a);
const admf_store *admf_get_store(admf_service *a);
/* A counter that changes whenever the store changes. */
uint64_t admf_generation(admf_service *a);
/* Records an intercept point's health, and its reconciliation outcome when `audit` is
 * given, as a system write to limf.admin (skipped when nothing changes). */
typedef struct x1_poi_status {
    const char *health;        /* "ok", "unreachable", "degraded" */
    int has_audit;
    int64_t at_ms;
    const char *outcome;       /* "in-sync", "repaired", "unreachable", "error" */
    uint32_t missing, extra;
    const char *detail;
} x1_poi_status;
li_err admf_poi_status(admf_service *a, const char *poi_id, const x1_poi_status *st);
/* fn is called after every accepted change, from the writer's thread, with a copy of
 * the object as written (valid during the call only; NULL for a deletion, or when the
 * copy could not be made for lack of memory). */
void admf_on_change(admf_service *a,
                       void (*fn)(void *ctx, x1_kind kind, const ProtobufCMessage *msg),
                       void *ctx);
/* The system principal ("limf-admf", role "system"). */
const x1_principal *admf_system(void);

#endif
