/* One LEA destination of limf-handover: a thread that consumes limf.hi.<id> (read
 * committed, manual commits), delivers each HiRecord as a PS-PDU on HI2 (IRI) or HI3 (CC),
 * sends keep-alives and commits offsets only when a keep-alive sent after those PDUs has
 * been answered on every connection (docs/PRINCIPLES.md 4). After any failure it reconnects with
 * backoff and resends from the committed offsets, so the LEMF sees every record at least
 * once, in order, a repeat always byte-identical. */
#ifndef HO_DEST_H
#define HO_DEST_H

#include <stdint.h>

#include "admin.pb-c.h"
#include "hi.pb-c.h"
#include "ho_pdu.h"
#include "li_bytes.h"
#include "li_config.h"
#include "li_err.h"

/* handover.group's default: the prefix of every consumer group limf-handover uses. */
#define HO_GROUP_DEFAULT "limf-handover"

typedef struct ho_dest ho_dest;

/* Counters shown at /metrics. */
typedef struct ho_dest_stats {
    int connected;
    uint64_t delivered;          /* PDUs written (a resent one counts again) */
    uint64_t acknowledged;       /* PDUs covered by answered keep-alives */
    uint64_t reconnects;         /* successful connections after the first */
    uint64_t keepalive_timeouts;
    uint64_t record_errors;      /* records that cannot be a PS-PDU (skipped, logged) */
    int64_t lag;                 /* records in limf.hi.<id> not yet acknowledged; -1 unknown */
    uint64_t last_ack_ns;        /* wall clock of the last acknowledgement, 0 never */
} ho_dest_stats;

/* The topic destination d is read from (limf.hi.<id>.<topic_suffix> under topics.prefix)
 * and the consumer group that reads it (<handover.group>.<id>.<topic_suffix>).
 * LI_ERR_INVAL when d has no valid topic_suffix: such a destination is never served, so
 * that no backlog is read under a name another destination had (docs/SECURITY.md,
 * "Agencies"). */
li_err ho_dest_names(const li_config *cfg, const Limf__Destination *d, char *topic,
                     size_t topic_size, char *group, size_t group_size);

/* Starts delivering to destination d (copied; cfg's kafka.*, topics.prefix and handover.*
 * keys are read here only). NULL with a reason when d is unusable (no address, no topic
 * suffix, no trust for TLS, bad identifiers, transport tcp without
 * handover.allow_plain_tcp). In CA mode (no pins) the LEMF's certificate must name the
 * destination's peer_name, or else the host of each HI address. The caller stops it with
 * ho_dest_stop(). */
ho_dest *ho_dest_start(const li_config *cfg, const Limf__Destination *d, char *errstr,
                       size_t errstr_size);
/* Stops the thread (waits for it), closes the connections and the consumer without
 * committing anything not acknowledged. NULL is a no-op. */
void ho_dest_stop(ho_dest *dst);
const char *ho_dest_id(const ho_dest *dst);
void ho_dest_stats_get(ho_dest *dst, ho_dest_stats *out);

/* The PS-PDU of one HiRecord with the destination's identifiers (operator, network
 * element, delivery country). An HI1 record becomes hI1-Operation, its text "<reason>:
 * <POI event>" cut to 256 octets; without a CIN (0) the PSHeader carries none. Views
 * point into r, the identifier strings, and scratch (reused; holds the HI1 text).
 * LI_ERR_INVAL when r cannot be expressed (CIN or sequence number above 2^32-1, LIID of
 * more than 25 octets, empty content or alarm text). */
li_err ho_record_to_pdu(const Limf__HiRecord *r, const char *operator_id, const char *ne_id,
                        const char *delivery_cc, li_buf *scratch, ho_pdu *out);

#endif
