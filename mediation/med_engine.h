/* Correlation engine (docs/PRINCIPLES.md 5): X2/X3 PDUs (limf.xpdu XPdu records) in, HI records
 * (HiRecord) out, for the PDUs of one limf.xpdu partition. Pure of Kafka: the daemon
 * feeds it PDUs and the clock, collects the records through the emit callback, and
 * persists the changed state through med_engine_state_flush in the same transaction;
 * med_engine_restore rebuilds an engine from that changelog.
 *
 * Rules implemented (docs/MEDIATION.md has the full list):
 * - A communication is one SIP Call-ID of one task (XID): one CIN per communication
 *   (shared by the LIIDs of the task, so unique within each LIID's CIN space), sequence
 *   numbers per (LIID, CIN) and per handover interface from 0, contiguous: HI2 (IRI and
 *   HI1 records) and HI3 (CC) each count their own.
 * - IRI BEGIN on the first SIP message of a dialog, CONTINUE for the later ones (the BYE
 *   too), END on the 2xx to the BYE (same CSeq) or on a final failure of the initial
 *   INVITE; messages after END are REPORTs in the same CIN. Out-of-dialog requests
 *   (MESSAGE, REGISTER, OPTIONS, ...) and their responses are REPORTs with their own CIN.
 *   A retransmitted SIP message gives no second record.
 * - limf's own events are HI1 records (alarms-indicator, on HI2), never IRI text: no
 *   final response to a BYE within linger, or no signalling within the session timeout
 *   (the communication ends by timeout); content without signalling; malformed input;
 *   POI events "gap" and "passthrough" (content not available).
 * - CC: each MSRP message of an X3 PDU, linked to its dialog by the MSRP session-ids of
 *   the SDP a=path URIs found in To-Path / From-Path. X3 without known signalling waits
 *   (bounded time and bytes), then goes under its own CIN after an alarm.
 * - Warrants outside their window get nothing; IRI-only warrants get no CC. The window is
 *   judged by the POI's timestamp and by limf-ingest's receive time within a skew
 *   (med_warrant_covers). */
#ifndef MED_ENGINE_H
#define MED_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "hi.pb-c.h"
#include "li_err.h"
#include "med_tasks.h"
#include "xpdu.pb-c.h"

typedef struct med_config {
    uint64_t session_timeout_ns;   /* inactivity before IRI END (default 1800 s) */
    uint64_t linger_ns;            /* how long an ended or pager communication keeps its
                                      CIN for late messages, and how long a BYE waits for
                                      its final response (default 32 s, RFC 3261 64*T1) */
    uint64_t x3_wait_ns;           /* how long X3 waits for its X2 (default 5 s) */
    size_t x3_wait_bytes;          /* per MSRP session (default 1 MiB) */
    size_t x3_wait_total_bytes;    /* per engine (default 64 MiB) */
    uint64_t window_skew_ns;       /* how far limf-ingest's receive time may lie outside a
                                      warrant's window (default 60 s; med_warrant_covers) */
} med_config;

/* Fills the defaults above. */
void med_config_defaults(med_config *cfg);

/* Called once per HI record per destination. rec and its strings are valid only during
 * the call. */
typedef void (*med_emit_fn)(void *ctx, const char *destination_id, const Limf__HiRecord *rec);

/* Called by med_engine_state_flush for each changed state record: value NULL and
 * len 0 for a deletion (tombstone). key and value are valid only during the call. */
typedef void (*med_state_fn)(void *ctx, const char *key, const uint8_t *value, size_t len);

typedef struct med_stats {
    uint64_t pdus;
    uint64_t iri;                  /* IRI records (per LIID, before destinations) */
    uint64_t cc;
    uint64_t dropped_no_task;      /* XID without warrant */
    uint64_t dropped_untasked_poi; /* from a POI not registered, or not carrying the XID */
    uint64_t dropped_window;       /* outside every warrant's window */
    uint64_t dropped_clock;        /* inside a window by the POI's clock only (received
                                      beyond the skew from the window) */
    uint64_t retransmissions;
    uint64_t resent_copies;        /* PDUs a POI resent after a reconnect, dropped */
    uint64_t malformed;
    uint64_t orphans_expired;      /* X3 delivered under its own CIN */
    uint64_t sessions;             /* live communications */
    uint64_t pending_bytes;        /* X3 waiting for signalling */
    uint64_t dropped_iri_only;     /* X3 of tasks whose warrants are all IRI-only */
} med_stats;

typedef struct med_engine med_engine;

/* tasks is borrowed (must outlive the engine); cfg is copied. */
med_engine *med_engine_new(const med_config *cfg, const med_tasks *tasks, med_emit_fn emit,
                           void *emit_ctx);
void med_engine_free(med_engine *e);   /* NULL is a no-op */

/* Processes one PDU at processing time now_ns. LI_ERR_NOMEM on allocation failure (the
 * engine is then unchanged for that PDU); malformed PDUs are counted, reported to the
 * LEA where a warrant applies, and return LI_OK. */
li_err med_engine_process(med_engine *e, const Limf__XPdu *pdu, uint64_t now_ns);

/* Runs the timers up to now_ns: orphan X3 whose wait expired, session timeouts,
 * lingering communications that can be forgotten. */
li_err med_engine_tick(med_engine *e, uint64_t now_ns);

/* Hands every state record changed since the last flush to fn, then clears the
 * change set. */
li_err med_engine_state_flush(med_engine *e, med_state_fn fn, void *ctx);

/* Loads one changelog record (the latest value of its key; len 0 deletes). */
li_err med_engine_restore(med_engine *e, const char *key, const uint8_t *value, size_t len);

void med_engine_stats(const med_engine *e, med_stats *out);

#endif
