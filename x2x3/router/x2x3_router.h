/* Where a POI's X2/X3 goes (ETSI TS 103 221-1: a task's listOfDIDs names its
 * destination, the destination's DestinationDetails give its deliveryAddress). The router keeps one
 * x2x3_sender per distinct delivery address among the NE's destinations, created when
 * the destination is created over X1 (before the NE answers, so a task activated next
 * finds it), and routes every record to the sender of its task's DID.
 *
 * A destination that is modified to another address, or removed, leaves its sender to
 * deliver what it already holds to the address it was queued for: the sender is stopped
 * once everything it held is acknowledged. Records are never moved between senders, so
 * each connection's sequence numbers stay whole (docs/PRINCIPLES.md 4).
 *
 * With <prefix>.address set the router is a fixed route: every record goes to that one
 * sender whatever the destinations say (a POI that reaches the ingest by another
 * address than the one the ADMF provisions, e.g. across NAT). */
#ifndef X2X3_ROUTER_H
#define X2X3_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "li_bytes.h"
#include "li_config.h"
#include "li_err.h"
#include "x1_ne.h"
#include "x2x3_sender.h"

typedef struct x2x3_router x2x3_router;

typedef struct x2x3_router_stats {
    x2x3_sender_stats x;   /* summed over the senders, stopped ones included (counters
                              never go backwards); x.connected counts those connected */
    size_t senders;        /* senders running, draining ones included */
    uint64_t unrouted;     /* records whose DID had no sender (dropped, counted) */
} x2x3_router_stats;

/* Keys: every key of x2x3_sender_new() under prefix (checked here, so a bad TLS file
 * fails the start), <prefix>.address optional (the fixed route), and
 * <prefix>.max_destinations (default 16, 1-1024): distinct delivery addresses with a
 * sender, draining ones included; each may hold up to <prefix>.buffer_bytes.
 * ne is not owned and must be freed before the router (x1_ne_free() stops the X1
 * threads that call the router); the router takes ne's change callback
 * (x1_ne_on_change). ne may be NULL only with a fixed route. NULL with a reason in
 * errstr. */
x2x3_router *x2x3_router_new(const li_config *cfg, const char *prefix, x1_ne *ne,
                             char *errstr, size_t errstr_size);

/* Queues rec (x2x3_sender_send()) to the senders of the task's destinations dids (at
 * most X1_MAX_DIDS) whose deliveryType accepts the record's type (X2Only: X2 records,
 * X3Only: X3, X2andX3: both); destinations sharing an address get one copy. Thread-safe,
 * never blocks on the network. LI_ERR_NOT_FOUND (counted as unrouted) when no
 * destination took it: none known, none accepting the type, max_destinations reached,
 * or the sender could not be created (logged when the destination was created); else
 * LI_OK or the last sender's error (LI_ERR_FULL: counted by that sender). */
li_err x2x3_router_send(x2x3_router *r, const uint8_t (*dids)[16], size_t n_dids,
                        const x2x3_record *rec);

/* Waits until every sender has every PDU acknowledged; LI_ERR_TIMEOUT when timeout_ms
 * passes first. */
li_err x2x3_router_flush(x2x3_router *r, int timeout_ms);

void x2x3_router_stats_get(x2x3_router *r, x2x3_router_stats *out);

/* Appends, for an operator's /metrics, one series per sender labelled with its
 * delivery address: <prefix>_destination_connected (1/0), _destination_buffered_bytes,
 * _destination_acked_pdus_total, _destination_dropped_pdus_total,
 * _destination_unacknowledged_mode (1/0) and _destination_unacknowledged_pdus_total.
 * Thread-safe. */
void x2x3_router_put_metrics(x2x3_router *r, li_buf *b, const char *prefix);

/* Stops and frees every sender (each flushes up to 2 s). NULL is a no-op. */
void x2x3_router_free(x2x3_router *r);

#endif
