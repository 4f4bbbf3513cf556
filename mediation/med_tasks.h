/* The task table: XID -> warrants, materialized from limf.admin Warrant records
 * (common/proto/admin.proto). docs/PRINCIPLES.md 5: one warrant is one task (one XID); the map
 * still allows several warrants (LIIDs) per XID, each with its own copy of the records.
 * Not thread-safe: the mediator applies admin records and looks tasks up from one
 * thread. */
#ifndef MED_TASKS_H
#define MED_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include "li_err.h"
#include "li_ident.h"

typedef struct med_warrant {
    char *id;
    char *liid;
    char *auth_country;
    int deliver_cc;              /* delivery "iri+cc"; "iri" gets no CC */
    char **destinations;         /* destination ids */
    size_t n_destinations;
    int64_t start_ms;            /* 0: no start bound */
    int64_t end_ms;              /* 0: no end bound */
    int deactivated;             /* state "deactivated": nothing is delivered */
    uint8_t xid[16];
    char (*targets)[LI_IDENT_MAX];  /* canonical identities (li_ident_canon_target) */
    size_t n_targets;
    uint64_t fingerprint;        /* of what it intercepts and where it delivers: LIID,
                                    targets, delivery, destinations, window, XID (not its
                                    state or provenance) */
    char **poi_ids;              /* the POIs that carry the task (none: every registered) */
    size_t n_poi_ids;
} med_warrant;

typedef struct med_tasks med_tasks;

med_tasks *med_tasks_new(void);
void med_tasks_free(med_tasks *t);   /* NULL is a no-op */

/* Applies one limf.admin record: key "warrant/<id>" with a Warrant value, "poi/<id>" with
 * an InterceptPoint or "destination/<id>" with a Destination, or an empty value (tombstone) that removes it; other keys are
 * ignored (LI_OK). LI_ERR_PROTO when the value does not decode or a warrant's xid is not
 * 16 octets (the record is then ignored). */
li_err med_tasks_apply(med_tasks *t, const char *key, size_t key_len, const uint8_t *value,
                       size_t value_len);

/* The warrants of an XID: *out points at an array owned by the table, valid until the
 * next med_tasks_apply. Returns the count (0 when none). */
size_t med_tasks_find(const med_tasks *t, const uint8_t xid[16], med_warrant *const **out);

/* Whether the warrant covers an event at ts_ns (window and state; docs/PRINCIPLES.md 4: the
 * mediator drops anything outside the window). */
int med_warrant_in_window(const med_warrant *w, uint64_t ts_ns);

/* Whether the warrant covers content the POI stamped ts_ns and limf-ingest received at
 * received_ns (0: unknown): the POI's clock must put it inside the window, and limf's own
 * clock inside the window widened by skew_ns at both edges. A POI whose clock is wrong, or
 * that backdates or postdates what it sends, cannot move content across a window edge by
 * more than the skew (docs/MEDIATION.md, "The warrant's window"). */
int med_warrant_covers(const med_warrant *w, uint64_t ts_ns, uint64_t received_ns,
                       uint64_t skew_ns);

/* The topic_suffix of destination id (destination/<id> records of limf.admin), or NULL
 * when the destination is unknown; valid until the next med_tasks_apply. */
const char *med_tasks_topic_suffix(const med_tasks *t, const char *id);

/* Whether the POI `poi_id` (its X2/X3 certificate's CN), whose certificate has SHA-256
 * `fp`, carries the task of the warrants ws: it is registered with that certificate
 * (poi/<id>: x2x3_cert_sha256, else cert_sha256), and one of the warrants names it in
 * poi_ids or names none. A PDU from any other source is not evidence of that task. */
int med_tasks_poi_carries(const med_tasks *t, med_warrant *const *ws, size_t nw,
                          const char *poi_id, const uint8_t *fp, size_t fp_len);

/* Bumps on every change, so that a caller may cache med_tasks_find results. */
uint64_t med_tasks_generation(const med_tasks *t);

/* Number of warrants. */
size_t med_tasks_count(const med_tasks *t);

/* The warrant with this id, or NULL; valid until the next med_tasks_apply. */
const med_warrant *med_tasks_get(const med_tasks *t, const char *id);

/* Iteration over every warrant: for (size_t i = 0; med_tasks_next(t, &i, &w); ) ...; the
 * table must not change during the loop. */
int med_tasks_next(const med_tasks *t, size_t *iter, const med_warrant **w);

#endif
