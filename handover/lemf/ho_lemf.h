/* The reference LEMF's receiving side (limf-lemf): every PS-PDU is decoded, checked for
 * sequence continuity per (LIID, CIN) and handover interface (HI2: IRI and HI1
 * notifications; HI3: CC) and written as one JSON line; keep-alives are answered. Shared by the live server and `limf-lemf decode FILE`. */
#ifndef HO_LEMF_H
#define HO_LEMF_H

#include <stdint.h>
#include <stdio.h>

#include "ho_io.h"
#include "ho_pdu.h"
#include "li_bytes.h"
#include "li_err.h"

typedef struct ho_lemf ho_lemf;

/* out receives the JSON lines, raw (or NULL) the exact bytes of every PDU received, in
 * order. Both stay owned by the caller and must outlive the ho_lemf. */
ho_lemf *ho_lemf_new(FILE *out, FILE *raw);
void ho_lemf_free(ho_lemf *l);

/* Handles one received PDU (thread-safe): writes it to raw, decodes it, checks the
 * sequence, writes its JSON line (rx_ns: receipt time, 0 to omit). *pdu receives the
 * decoded PDU (views into buf). LI_ERR_PROTO when it does not decode (counted). */
li_err ho_lemf_pdu(ho_lemf *l, const uint8_t *buf, size_t len, uint64_t rx_ns, ho_pdu *pdu);

/* Flushes out and raw (thread-safe). ho_lemf_pdu() does not flush by itself. */
void ho_lemf_flush(ho_lemf *l);

/* Serves one accepted connection until it closes or *stop becomes non-zero: answers each
 * keep-alive with a keep-aliveResponse carrying its sequenceNumber (unless answer_keepalive
 * is 0) after flushing everything received before it, hands every other PDU to
 * ho_lemf_pdu(), flushes whenever the stream pauses. Returns why it ended. */
li_err ho_lemf_serve(ho_lemf *l, ho_conn *c, int answer_keepalive, size_t max_pdu,
                     volatile int *stop);

/* Counts a connection whose TLS handshake failed or timed out (thread-safe); accepted
 * connections are counted by ho_lemf_serve(). */
void ho_lemf_refused(ho_lemf *l);

/* What the LEMF has received since ho_lemf_new(). */
typedef struct ho_lemf_stats {
    uint64_t iri, cc, hi1, keepalives; /* decoded PDUs by payload (keep-alive responses
                                        * too); hi1: notifications and alarms */
    uint64_t bytes;                /* octets of every PDU received, undecodable ones too */
    uint64_t errors;               /* PDUs that did not decode, and connections whose
                                    * stream could not be cut into PDUs (ho_lemf_serve) */
    uint64_t streams;              /* distinct (LIID, CIN, interface) */
    uint64_t gaps;                 /* events: a sequence number skipped one or more */
    uint64_t missing;              /* sequence numbers never received (falls as late ones
                                    * arrive) */
    uint64_t late, duplicates;
    uint64_t conflicts;            /* same LIID, CIN and seq with different bytes */
    uint64_t connections;          /* served by ho_lemf_serve() */
    uint64_t refused;              /* ho_lemf_refused() */
    uint64_t open;                 /* being served now */
    uint64_t last_rx_ns;           /* Unix time of the last PDU received, 0 for none */
} ho_lemf_stats;

/* A consistent copy of the counters (thread-safe). */
void ho_lemf_stats_get(ho_lemf *l, ho_lemf_stats *st);

/* The counters as one JSON object line (no newline) into out: pdus (IRI + CC + HI1), iri,
 * cc, hi1, keepalives, streams, gaps, missing, late, duplicates, conflicts, errors. */
void ho_lemf_summary(ho_lemf *l, li_buf *out);

/* A li_metrics_render_fn (ctx: the ho_lemf): the limf_lemf_* families of the Prometheus
 * exposition (docs/OBSERVABILITY.md). */
void ho_lemf_render(void *lemf, li_buf *out);
/* 1 when no sequence number is missing and no duplicate ever differed (an acceptance
 * verdict). */
int ho_lemf_clean(ho_lemf *l);

#endif
