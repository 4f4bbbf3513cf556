/* Sequence numbers per (XID, correlation ID): TS 103 221-2 numbers the PDUs of one
 * XID and correlation ID (clause 5.3.9, the Sequence Number attribute), so a receiver
 * sees each stream count 0, 1, 2, ... whatever else the POI sends. Pure bookkeeping, no
 * locking (the sender holds its mutex), no I/O.
 *
 * A POI does not know when a stream ends, so a stream unused for `idle_ns` may be
 * forgotten when the table needs room: should it go on later it numbers from 0 again
 * (receivers tell streams apart by XID, correlation ID and timestamp, docs/X2X3.md). */
#ifndef X2X3_SEQ_H
#define X2X3_SEQ_H

#include <stddef.h>
#include <stdint.h>

#include "li_err.h"

typedef struct x2x3_seq_entry {
    uint8_t xid[16];
    uint64_t correlation_id;
    uint64_t last_ns;            /* last use; 0: free slot */
    uint32_t next;               /* the stream's next sequence number */
} x2x3_seq_entry;

typedef struct x2x3_seq {
    x2x3_seq_entry *slots;       /* open addressing, linear probing; owned */
    size_t cap, count;           /* cap is a power of two */
    uint64_t idle_ns;
} x2x3_seq;

/* Starts an empty table (no allocation until the first stream). */
void x2x3_seq_init(x2x3_seq *t, uint64_t idle_ns);
void x2x3_seq_free(x2x3_seq *t);

/* The stream's next sequence number, creating the stream at 0. now_ns (monotonic) marks
 * it used. NULL when out of memory. The caller increments *result once the PDU holding
 * it is queued. */
uint32_t *x2x3_seq_next(x2x3_seq *t, const uint8_t xid[16], uint64_t correlation_id,
                        uint64_t now_ns);

#endif
