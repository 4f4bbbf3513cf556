/* The audit trail's keyed hash chain (docs/REST.md, "Audit trail"): the canonical
 * serialization an event's MAC covers, its JSON form (the export format, one object per
 * line), signed checkpoints, and a verifier shared by GET /v1/audit/verify, the ADMF's
 * start-up check and the offline limf-audit-verify.
 *
 * Why a key: an unkeyed hash can be recomputed by anyone who can write limf.audit (the
 * Kafka administrator). Each event's `hash` is HMAC-SHA-256 (RFC 2104, FIPS 198-1) under
 * an audit key kept in a file outside Kafka; without the key an edited, removed or
 * reordered event cannot be re-chained.
 *
 * Canonical serialization (version 2), the MAC's input:
 *   "limf-audit-v2" (13 octets) || prev_hash (32 octets) || index (8 octets, big endian)
 *   || at_ms (8 octets, big endian two's complement)
 *   || for actor, role, action, object, outcome, reason, detail, key_id in this order:
 *        length (4 octets, big endian) || the UTF-8 bytes
 * Length prefixes make the encoding injective: moving bytes from one field to the next
 * changes the MAC.
 *
 * A checkpoint says "event `index` has hash `head`, seen at `at_ms`", MACed under the key:
 *   MAC("limf-audit-checkpoint-v1" (24 octets) || index (8) || head (32) || at_ms (8)
 *       || key_id length (4) || key_id).
 * Kept outside the operator's reach, a checkpoint anchors the trail: an export must reach
 * its event with exactly that hash, so the newest events cannot be dropped unseen. */
#ifndef AUDIT_CHAIN_H
#define AUDIT_CHAIN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.pb-c.h"
#include "li_err.h"

/* An audit key: 32-64 octets; its id is the hex of the first 8 octets of
 * SHA-256("limf-audit-key-id" || key), which names it in events and checkpoints without
 * revealing it. */
typedef struct audit_chain_key {
    uint8_t key[64];
    size_t len;
    char id[17];
} audit_chain_key;

/* Loads a key file: 64-128 hex digits (the key's octets) and an optional final newline.
 * The file must not be readable by group or others. LI_ERR_* with a reason in errstr. */
li_err audit_chain_key_load(const char *path, audit_chain_key *k, char *errstr, size_t n);
/* Sets k from raw octets (32-64); LI_ERR_INVAL otherwise. */
li_err audit_chain_key_set(audit_chain_key *k, const uint8_t *key, size_t len);

/* out = HMAC-SHA-256 under k of the canonical serialization of ev (ev->prev_hash must be
 * 32 octets, else LI_ERR_PROTO). ev->key_id is part of the input; the caller sets it. */
li_err audit_chain_hash(const Limf__AuditEvent *ev, const audit_chain_key *k, uint8_t out[32]);

/* The keyed pseudonym under which the trail names a target identity or an LIID (least
 * knowledge: the trail says which warrant changed, not whom it intercepts):
 * "hmac:" and the hex of the first 16 octets of HMAC-SHA-256 under k of
 * "limf-audit-pseudonym-v1" || what (e.g. "target", "liid") || 0x00 || value.
 * Equal values give equal pseudonyms under one key, so an entitled holder of the key can
 * tell whether a given identity is the one named. */
#define AUDIT_PSEUDONYM_SIZE 38
li_err audit_chain_pseudonym(const audit_chain_key *k, const char *what, const char *value,
                             char out[AUDIT_PSEUDONYM_SIZE]);

/* JSON object of an event (a new reference): index, at (RFC 3339), at_ms, actor, role,
 * action, object, outcome, reason, detail (text), key_id, prev_hash and hash (hex). */
json_t *audit_chain_to_json(const Limf__AuditEvent *ev);

/* Fills ev from such an object. Strings are BORROWED from j; the hashes are decoded into
 * the caller's prev/hash arrays. LI_ERR_PROTO when a field is missing or malformed. */
li_err audit_chain_from_json(const json_t *j, Limf__AuditEvent *ev, uint8_t prev[32],
                             uint8_t hash[32]);

typedef struct audit_checkpoint {
    uint64_t index;
    uint8_t head[32];
    int64_t at_ms;
    char key_id[17];
    uint8_t mac[32];
} audit_checkpoint;

/* Sets cp->key_id from k and cp->mac over the other fields. */
li_err audit_checkpoint_sign(audit_checkpoint *cp, const audit_chain_key *k);
/* 1 when cp->mac is the MAC of cp under k (and cp names k), compared in constant time. */
int audit_checkpoint_valid(const audit_checkpoint *cp, const audit_chain_key *k);
/* {"index","head","at","at_ms","key_id","mac"} (a new reference). */
json_t *audit_checkpoint_to_json(const audit_checkpoint *cp);
/* LI_ERR_PROTO when a field is missing or malformed (the MAC is not checked here). */
li_err audit_checkpoint_from_json(const json_t *j, audit_checkpoint *cp);

/* Verifies a contiguous run of events fed in order, then audit_chain_verifier_finish.
 * - every event's MAC is checked under the key its key_id names (keys: the caller's array,
 *   borrowed; a run signed by an unknown key is broken);
 * - the run starts at event 0 (prev_hash zero) or right after an anchor (index
 *   anchor+1, prev_hash the anchor's head): a run that starts elsewhere lost its head;
 * - the event of each anchor must be in the run with the anchor's hash: a run that ends
 *   before an anchor lost its tail. */
#define AUDIT_CHAIN_MAX_ANCHORS 16
#define AUDIT_CHAIN_MAX_KEYS 8
typedef struct audit_chain_verifier {
    const audit_chain_key *keys;
    size_t n_keys;
    audit_checkpoint anchors[AUDIT_CHAIN_MAX_ANCHORS];
    size_t n_anchors;
    uint8_t last_hash[32];
    uint64_t first_index;      /* index of the run's first event */
    uint64_t next_index;
    uint64_t count;            /* events checked */
    int broken;                /* 1 once a check failed; later events are not checked */
    uint64_t broken_index;     /* index of the first event that fails */
    char reason[160];
} audit_chain_verifier;

void audit_chain_verifier_init(audit_chain_verifier *v, const audit_chain_key *keys,
                               size_t n_keys);
/* Adds an anchor; LI_ERR_INVAL when its MAC does not verify under the key it names
 * (reason filled), LI_ERR_FULL beyond AUDIT_CHAIN_MAX_ANCHORS. Before the first feed. */
li_err audit_chain_verifier_anchor(audit_chain_verifier *v, const audit_checkpoint *cp);
/* Checks one event; LI_OK, or LI_ERR_PROTO for the first failure (filling broken_index
 * and reason) and for every event after it. */
li_err audit_chain_verifier_feed(audit_chain_verifier *v, const Limf__AuditEvent *ev);
/* After the last event: LI_ERR_PROTO when an anchor's event was not reached. */
li_err audit_chain_verifier_finish(audit_chain_verifier *v);

#endif
