/* Bounded TCP stream reassembly for limf-siptap: each direction of a TCP connection is
 * one byte stream; segments arrive in capture order (possibly out of order, duplicated,
 * overlapping or missing) and the stream's bytes are handed, in order, to a consumer (the
 * SIP framer), which takes whole messages off the front and leaves the rest buffered
 * until more bytes arrive.
 *
 * Bounds: a number of flows (the least recently active one is evicted for a new one),
 * buffered bytes per flow and in total, an idle timeout per flow, and a hole timeout:
 * bytes that never arrive (a capture drop) are skipped after it, the partial data before
 * the hole is discarded and counted as a gap, and the consumer sees the bytes after the
 * hole as a fresh stream (it resynchronises on the next message start).
 * Time is capture time (ns), so a pcap file replays the same way however fast it is read.
 * Not thread-safe: one reassembler per capture thread. */
#ifndef SIPTAP_TCPREASM_H
#define SIPTAP_TCPREASM_H

#include <stddef.h>
#include <stdint.h>

#include "li_err.h"

/* One direction of a TCP connection. Build it with x2x3_flow_key_set so that padding
 * and unused address octets are zero (keys are hashed and compared as bytes). */
typedef struct x2x3_flow_key {
    uint8_t src[16], dst[16];  /* IPv4 in the first 4 octets */
    uint16_t sport, dport;
    uint8_t family;            /* AF_INET or AF_INET6 */
    uint8_t pad[3];
} x2x3_flow_key;

void x2x3_flow_key_set(x2x3_flow_key *key, int family, const uint8_t src[16],
                       const uint8_t dst[16], uint16_t sport, uint16_t dport);

typedef struct siptap_tcpreasm_limits {
    size_t max_flows;          /* 0: 16384 */
    size_t max_flow_bytes;     /* buffered per direction (in order + out of order); 0: 256 KiB */
    size_t max_total_bytes;    /* across all flows; 0: 64 MiB */
    uint64_t idle_timeout_ns;  /* 0: 300 s */
    uint64_t hole_timeout_ns;  /* 0: 2 s */
} siptap_tcpreasm_limits;

typedef struct siptap_tcpreasm_stats {
    uint64_t segments;          /* segments with payload or SYN/FIN/RST seen */
    uint64_t bytes_delivered;   /* stream bytes handed to the consumer (once each) */
    uint64_t retransmitted;     /* segments wholly or partly already received */
    uint64_t out_of_order;      /* segments that arrived before a hole was filled */
    uint64_t gaps;              /* holes skipped (timeout or buffer bound) */
    uint64_t overflows;         /* data discarded because a bound was reached */
    uint64_t evicted;           /* flows evicted to make room for new ones */
    uint64_t expired;           /* flows dropped after the idle timeout */
    size_t flows;               /* flows now */
    size_t buffered_bytes;      /* bytes buffered now */
} siptap_tcpreasm_stats;

/* The consumer: `data` (len > 0) are the stream's in-order bytes not yet consumed, `ts_ns`
 * the capture time of the segment that just extended them. Returns how many bytes it
 * consumed from the front (0..len); the rest is offered again, extended, next time.
 * It must not call back into the reassembler. */
typedef size_t (*siptap_tcpreasm_deliver_fn)(void *ctx, const x2x3_flow_key *key,
                                          const uint8_t *data, size_t len, uint64_t ts_ns);

typedef struct siptap_tcpreasm siptap_tcpreasm;

/* limits may be NULL (all defaults). Returns NULL when out of memory. Free with
 * siptap_tcpreasm_free. */
siptap_tcpreasm *siptap_tcpreasm_new(const siptap_tcpreasm_limits *limits,
                                 siptap_tcpreasm_deliver_fn deliver, void *ctx);
/* Frees every flow without delivering buffered bytes. NULL is a no-op. */
void siptap_tcpreasm_free(siptap_tcpreasm *r);

/* Feeds one captured segment (payload copied when it has to be buffered). Calls the
 * consumer zero or more times before returning. LI_OK, or LI_ERR_NOMEM. */
li_err siptap_tcpreasm_segment(siptap_tcpreasm *r, const x2x3_flow_key *key, uint32_t seq,
                             uint8_t tcp_flags, const uint8_t *payload, size_t len,
                             uint64_t ts_ns);

/* Applies the idle and hole timeouts as of capture time now_ns (call it about once a
 * second of capture time; siptap_tcpreasm_segment also applies the hole timeout of the
 * flow it touches). */
void siptap_tcpreasm_expire(siptap_tcpreasm *r, uint64_t now_ns);

void siptap_tcpreasm_stats_get(const siptap_tcpreasm *r, siptap_tcpreasm_stats *out);

#endif
