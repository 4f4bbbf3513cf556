/* The POI side of X2/X3 (ETSI TS 103 221-2): one mutual-TLS connection to limf-ingest,
 * driven by the sender's own I/O thread ("x2x3-sender"). Taps hand it records with
 * x2x3_sender_send(), which encodes the PDU straight into the buffer (the payload copied
 * once, no allocation, no system call unless the I/O thread sleeps) and never waits for
 * the network; the I/O thread writes the buffer as it lies, in 16 KiB TLS records.
 *
 * Delivery (docs/PRINCIPLES.md 4): every PDU stays in a bounded in-memory buffer until it is
 * acknowledged, i.e. until the ingest has answered (type 4) a keepalive (type 3) sent
 * after it; the ingest answers only once Kafka holds every earlier PDU of the connection.
 * After a reconnect the unacknowledged PDUs are resent byte-identical (same sequence
 * numbers), so a duplicate downstream is always an identical copy. When the buffer is
 * full a record is dropped, counted per XID, and reported once room returns as a POI
 * event {"limf_event":"gap","dropped":N} (x2x3_event.h) for that XID. */
#ifndef X2X3_SENDER_H
#define X2X3_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include "li_config.h"
#include "li_err.h"
#include "x2x3_pdu.h"

typedef struct x2x3_sender x2x3_sender;

typedef struct x2x3_addr {
    int family;            /* 0 absent, AF_INET, AF_INET6 */
    uint8_t addr[16];      /* network order; the first 4 octets for AF_INET */
    uint16_t port;         /* host order; 0 absent */
} x2x3_addr;

/* One X2 or X3 record. Every pointer is only read during x2x3_sender_send(). */
typedef struct x2x3_record {
    uint16_t pdu_type;           /* X2X3_PDU_X2 (1) or X2X3_PDU_X3 (2) */
    uint16_t payload_format;     /* X2X3_FORMAT_SIP 9, X2X3_FORMAT_MSRP 13,
                                    X2X3_FORMAT_PROPRIETARY 4 (POI events) */
    uint16_t payload_direction;  /* X2X3_DIR_UNKNOWN 1, _TO_TARGET 2, _FROM_TARGET 3,
                                    _MULTIPLE 4, _NA 5 */
    uint8_t xid[16];
    uint64_t correlation_id;     /* one per session / SIP dialog at the POI */
    uint64_t timestamp_ns;       /* 0: now */
    x2x3_addr src, dst;          /* attributes 10/12 + 14, 11/13 + 15 */
    uint8_t ip_protocol;         /* 0 absent, 6 TCP, 17 UDP (attribute 16) */
    /* Attributes 17 and 18, one per entry: limf's "type:value" identities (x1_msg.h),
     * sent in the standard form, the TargetIdentifier's content as XML (x2x3_pdu.h
     * x2x3_target_encode); text of another form is sent as it is. */
    const char *const *matched_targets;
    size_t n_matched_targets;
    const char *const *other_targets;   /* the other party's identities, when known */
    size_t n_other_targets;
    const char *sdp;             /* attribute 22 or NULL */
    const uint8_t *payload;
    size_t payload_len;
} x2x3_record;

typedef struct x2x3_sender_stats {
    uint64_t sent_pdus;          /* X2/X3 PDUs handed to the connection (resends too;
                                    counted per batch of up to 256 KiB as it is taken) */
    uint64_t sent_bytes;
    uint64_t dropped_pdus;       /* records refused with LI_ERR_FULL */
    uint64_t reconnects;         /* connections established after the first */
    uint64_t buffered_bytes;     /* PDUs held until acknowledged, or not yet sent */
    int connected;
    uint64_t acked_pdus;         /* PDUs acknowledged by the ingest (unacknowledged mode:
                                    released once written) */
    int unacknowledged_mode;     /* <prefix>.unacknowledged names this sender's address */
    uint64_t unacked_pdus;       /* PDUs released without an acknowledgement */
} x2x3_sender_stats;

/* Creates a sender and starts its I/O thread, which connects (and reconnects) by itself.
 * Keys (prefix e.g. "x2x3"):
 *   <prefix>.address          host:port of limf-ingest (required)
 *   <prefix>.tls.cert/.key/.ca/.pins/.peer_name   mutual TLS (li_tls)
 *   <prefix>.poi_id           interception point ID, attribute 7 (default: none)
 *   <prefix>.nf_id            network function ID, attribute 6 (default: poi_id)
 *   <prefix>.buffer_bytes     bound of the in-memory buffer (default 64 MiB)
 *   <prefix>.keepalive_s      keepalive interval (default 5); a keepalive unanswered
 *                             for 3 intervals, with no PDU written meanwhile, ends the
 *                             connection (a draining backlog delays answers)
 *   <prefix>.reconnect_max_s  maximum reconnect backoff (default 5): the wait before a
 *                             reconnection doubles from 100 ms, with jitter, and starts
 *                             over only after a connection whose keepalive was answered
 *   <prefix>.unacknowledged   comma-separated addresses (host:port) whose MDF never
 *                             answers keepalives: for these a PDU is released once
 *                             written whole to the connection, keepalives are still
 *                             sent every keepalive_s but no answer is awaited, and a dead
 *                             link is found only when a write fails. Gives up
 *                             the delivery guarantee (what a broken connection carried
 *                             is lost); counted (stats unacked_pdus) and logged
 *   <prefix>.max_pdu          largest PDU sent, as limf-ingest's ingest.max_pdu (4 MiB)
 *   <prefix>.ack_interval_ms  keepalive after new data at most this often (default 20)
 *   <prefix>.thread_nice      nice value of the sender's thread, 0-19 (default 5): below
 *                             the POI's own threads when cores are contended
 * NULL with a reason in errstr on a configuration error. cfg is read only here. */
x2x3_sender *x2x3_sender_new(const li_config *cfg, const char *prefix, char *errstr,
                             size_t errstr_size);
/* The same, connecting to address (host:port, IPv6 hosts in brackets) instead of
 * <prefix>.address: one sender per X1 destination (x2x3_router.h). */
x2x3_sender *x2x3_sender_new_to(const li_config *cfg, const char *prefix,
                                const char *address, char *errstr, size_t errstr_size);
/* Checks every key above but the address (the TLS files are loaded and freed) without
 * starting anything: a POI fails at start, not at its first destination. */
li_err x2x3_sender_check(const li_config *cfg, const char *prefix, char *errstr,
                         size_t errstr_size);

/* Queues one record: thread-safe, never blocks on the network, copies everything. Fills
 * the sequence number (attribute 8: 0, 1, 2, ... per XID and correlation ID, clause
 * 5.3.9) and the timestamp (attribute 9, now when timestamp_ns is 0). LI_ERR_INVAL for a bad record (type, format not allowed for the
 * type, attribute above 65535 octets, PDU above max_pdu); LI_ERR_FULL when the buffer is full: the record
 * is dropped and counted for its XID. */
li_err x2x3_sender_send(x2x3_sender *s, const x2x3_record *rec);

/* Waits until every PDU queued so far is acknowledged by the ingest. LI_ERR_TIMEOUT
 * when timeout_ms passes first. */
li_err x2x3_sender_flush(x2x3_sender *s, int timeout_ms);

void x2x3_sender_stats_get(x2x3_sender *s, x2x3_sender_stats *out);

/* Flushes briefly (up to 2 s), stops the thread, closes TLS and frees. NULL is a no-op. */
void x2x3_sender_free(x2x3_sender *s);

#endif
