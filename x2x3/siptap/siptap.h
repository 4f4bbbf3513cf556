/* limf-siptap's engine: captured frames in, X2 records (ETSI TS 103 221-2 payload
 * format 9, SIP message) out. No capture and no network here: the daemon (main_siptap.c)
 * feeds frames from libpcap and hands the records to the X2/X3 sender; tests and the
 * benchmark feed frames directly.
 *
 * For every SIP message (UDP datagrams; TCP streams through siptap_tcpreasm, cut into
 * messages by Content-Length, RFC 3261 18.3):
 *   - each identity in P-Asserted-Identity (every element), From and To is put in
 *     canonical form (li_ident_canon) and looked up in the active tasks (the match
 *     callback, x1_ne_match_identity in the daemon);
 *   - a message whose Call-ID belongs to a dialog that matched earlier is exported for
 *     that dialog's tasks too, even when it carries the target in none of those headers
 *     (a bounded dialog table keyed by Call-ID, idle timeout; BYE and final failures end
 *     a dialog after a linger for the last transaction);
 *   - one record per task (XID) whose delivery includes X2: payload = the exact bytes of
 *     the SIP message, addresses and ports (attributes 10-15), IP protocol (16), capture
 *     timestamp, matched target (17), correlation ID = a 64-bit hash of the Call-ID, the
 *     same for every message of the dialog; direction from where the target appears
 *     (sender side: P-Asserted-Identity and From of a request, To of a response), or,
 *     in a message of the dialog that does not name the target, from the target's party
 *     in the dialog (known by its tag).
 * Messages of untasked identities produce nothing. Not thread-safe: one engine per
 * capture thread (the callbacks may be thread-safe functions such as the NE's). */
#ifndef SIPTAP_H
#define SIPTAP_H

#include <stddef.h>
#include <stdint.h>

#include "li_err.h"
#include "x1_ne.h"
#include "x2x3_sender.h"
#include "siptap_tcpreasm.h"

typedef struct siptap siptap;

/* Looks up a canonical identity among the active tasks; same contract as
 * x1_ne_match_identity (returns the number of matches, writes up to max). */
typedef size_t (*siptap_match_fn)(void *ctx, const char *canon, x1_ne_match *out,
                                       size_t max);
/* Returns a counter that changes whenever the tasks change (x1_ne_generation), so that
 * dialogs are checked again against the tasks before their next export; may be NULL. */
typedef uint64_t (*siptap_generation_fn)(void *ctx);
/* Receives one record for the task's destinations (x1_ne_match.dids); every pointer in
 * it is valid only during the call. */
typedef void (*siptap_export_fn)(void *ctx, const uint8_t (*dids)[16], size_t n_dids,
                                      const x2x3_record *rec);

typedef struct siptap_opts {
    siptap_match_fn match;
    siptap_generation_fn generation;
    void *match_ctx;
    siptap_export_fn export_record;
    void *export_ctx;
    size_t max_dialogs;            /* 0: 16384 */
    uint64_t dialog_idle_ns;       /* 0: 2 hours */
    uint64_t dialog_linger_ns;     /* after BYE or a final failure; 0: 32 s (64*T1) */
    size_t max_fragment_bytes;     /* IP fragments held for reassembly; 0: 4 MiB */
    uint64_t fragment_timeout_ns;  /* 0: 30 s */
    siptap_tcpreasm_limits tcp;      /* zeros: siptap_tcpreasm's defaults */
} siptap_opts;

typedef struct siptap_stats {
    uint64_t packets;         /* frames seen */
    uint64_t decode_errors;   /* frames siptap_pkt refused */
    uint64_t fragments;       /* IP fragments seen */
    uint64_t reassembled;     /* datagrams rebuilt from fragments */
    uint64_t sip_messages;    /* SIP messages parsed */
    uint64_t parse_errors;    /* datagrams or stream bytes that were not SIP */
    uint64_t matched;         /* messages of a tasked identity or dialog */
    uint64_t exported;        /* records handed to the export callback */
    size_t dialogs;           /* dialogs tracked now */
    uint64_t dialogs_evicted; /* dialogs dropped for room before their timeout */
    siptap_tcpreasm_stats tcp;
} siptap_stats;

/* opts is copied; match and export_record are required. NULL when out of memory or
 * a required callback is missing. */
siptap *siptap_new(const siptap_opts *opts);
/* NULL is a no-op. */
void siptap_free(siptap *t);

/* Processes one captured frame of link type `linktype` (SIPTAP_DLT_*) captured at ts_ns
 * (ns since the epoch). Exports happen inside this call. LI_OK, LI_ERR_PROTO for a frame
 * that could not be decoded (counted, harmless), LI_ERR_NOMEM. */
li_err siptap_frame(siptap *t, int linktype, const uint8_t *frame, size_t caplen,
                         uint64_t ts_ns);

/* Applies timeouts (TCP flows, IP fragments, dialogs) as of capture time now_ns; call it
 * about once a second. */
void siptap_tick(siptap *t, uint64_t now_ns);

void siptap_stats_get(const siptap *t, siptap_stats *out);

/* The correlation ID of a dialog: FNV-1a 64 of its Call-ID bytes (never 0). */
uint64_t siptap_correlation_id(const char *call_id, size_t len);

#endif
