/* The reference LEMF's receiving side (limf-lemf): every PS-PDU is decoded, checked for
 * sequence continuity per (LIID, CIN) and written as one JSON line; keep-alives are
 * answered. Shared by the live server and `limf-lemf decode FILE`. */
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

/* The counters as one JSON object line (no newline) into out: pdus, iri, cc, keepalives,
 * streams, gaps (events), missing (sequence numbers never received), late, duplicates,
 * conflicts (same LIID, CIN and seq with different bytes), errors. */
void ho_lemf_summary(ho_lemf *l, li_buf *out);
/* 1 when no sequence number is missing and no duplicate ever differed (an acceptance
 * verdict). */
int ho_lemf_clean(ho_lemf *l);

#endif
