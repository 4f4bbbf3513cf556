/* The audit trail's hash chain (docs/DESIGN.md 6, limf.audit): the canonical serialization an
 * event's hash covers, its JSON form (the export format, one object per line), and a
 * chain verifier shared by GET /v1/audit/verify and the offline limf-audit-verify.
 *
 * Canonical serialization (version 1), the input of SHA-256:
 *   "limf-audit-v1" (13 octets) || prev_hash (32 octets) || index (8 octets, big endian)
 *   || at_ms (8 octets, big endian two's complement)
 *   || for actor, role, action, object, outcome, reason, detail in this order:
 *        length (4 octets, big endian) || the UTF-8 bytes
 * Length prefixes make the encoding injective: no two different events serialize alike,
 * so moving bytes from one field to the next changes the hash. */
#ifndef AUDIT_CHAIN_H
#define AUDIT_CHAIN_H

#include <jansson.h>
#include <stdint.h>

#include "audit.pb-c.h"
#include "li_err.h"

/* hash = SHA-256 of the canonical serialization of ev with ev->prev_hash (which must be
 * 32 octets; anything else gives LI_ERR_PROTO). */
li_err audit_chain_hash(const Limf__AuditEvent *ev, uint8_t out[32]);

/* JSON object of an event (a new reference): index, at (RFC 3339), at_ms, actor, role,
 * action, object, outcome, reason, detail (text), prev_hash and hash (hex). */
json_t *audit_chain_to_json(const Limf__AuditEvent *ev);

/* Fills ev from such an object. Strings are BORROWED from j; the hashes are decoded into
 * the caller's prev/hash arrays. LI_ERR_PROTO when a field is missing or malformed. */
li_err audit_chain_from_json(const json_t *j, Limf__AuditEvent *ev, uint8_t prev[32],
                          uint8_t hash[32]);

/* Verifies a contiguous run of events fed in order. The first event's prev_hash anchors
 * the run (an export may start anywhere); when it is index 0 its prev_hash must be zero. */
typedef struct audit_chain_verifier {
    uint8_t last_hash[32];
    uint64_t next_index;
    uint64_t count;            /* events checked */
    int broken;                /* 1 once a link failed; later events are not checked */
    uint64_t broken_index;     /* index of the first event that fails */
    char reason[128];
} audit_chain_verifier;

void audit_chain_verifier_init(audit_chain_verifier *v);
/* Checks one event; returns LI_OK, or LI_ERR_PROTO for the first broken link (filling
 * broken_index and reason) and for every event after it. */
li_err audit_chain_verifier_feed(audit_chain_verifier *v, const Limf__AuditEvent *ev);

#endif
