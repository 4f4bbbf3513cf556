/* Fault test (docs/PRINCIPLES.md 4): a POI streams 100,000 PDUs; limf-ingest is killed with
 * SIGKILL in the middle and restarted on the same port. Every PDU must be in Kafka, and
 * a PDU found twice must be an identical copy (same sequence number, same bytes). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "li_log.h"
#include "li_time.h"
#include "x2x3_pdu.h"
#include "x2x3_util.h"

#define RECORDS 100000


static x2x3t_copies records[RECORDS];
static size_t mismatches, strangers;

/* Record i has XID i % 8 and correlation ID i / 16: each stream holds records i and
 * i + 8, numbered 0 and 1 (TS 103 221-2 numbers per XID and correlation ID). */
static void on_record(const Limf__XPdu *x, void *ctx)
{
    (void)ctx;
    uint64_t cid = x->correlation_id.len == 8 ? li_get_be64(x->correlation_id.data) : 0;
    uint64_t i = x->has_seq && x->seq < 2 && x->xid.len == 16
                     ? cid * 16 + x->seq * 8 + (x->xid.data[15] & 7) : RECORDS;
    if (i >= RECORDS) {
        strangers++;
        return;
    }
    if (!x2x3t_copy_seen(&records[i], x))
        mismatches++;
}

int main(void)
{
    li_log_init("x2x3_kill9", LI_LOG_WARN, 0);
    x2x3t_ingest ing = { 0 };
    x2x3t_ingest_start(&ing, 0, NULL);
    uint16_t port = ing.port;
    static const char *const opts[] = { "x2x3.keepalive_s=1", "x2x3.reconnect_max_s=1", NULL };
    x2x3_sender *s = x2x3t_sender(port, "poi-test", opts);
    uint64_t t0 = li_mono_ns();
    for (int i = 0; i < RECORDS; i++) {
        char payload[160];
        int n = snprintf(payload, sizeof payload,
                         "MESSAGE sip:b@example.org SIP/2.0\r\nCSeq: %d MESSAGE\r\n"
                         "Content-Length: 0\r\n\r\n", i);
        x2x3_record r;
        memset(&r, 0, sizeof r);
        r.pdu_type = X2X3_PDU_X2;
        r.payload_format = X2X3_FORMAT_SIP;
        r.payload_direction = X2X3_DIR_FROM_TARGET;
        r.xid[0] = 0x77;
        r.xid[15] = (uint8_t)(i % 8);
        r.correlation_id = (uint64_t)i / 16;
        r.payload = (const uint8_t *)payload;
        r.payload_len = (size_t)n;
        X2X3T_CHECK(x2x3_sender_send(s, &r) == LI_OK, "send %d refused", i);
        if (i == RECORDS * 3 / 10) {
            int rc = x2x3t_ingest_stop(&ing, SIGKILL);
            printf("killed limf-ingest (status %d) after %d PDUs queued\n", rc, i + 1);
        } else if (i == RECORDS * 6 / 10) {
            x2x3t_ingest_start(&ing, port, NULL);
            printf("restarted limf-ingest on port %u\n", ing.port);
        } else if (i % 2000 == 0) {
            usleep(2000);   /* a POI's pace, so that the kill lands mid-stream */
        }
    }
    li_err fe = x2x3_sender_flush(s, 90000);
    x2x3_sender_stats st;
    x2x3_sender_stats_get(s, &st);
    printf("flush %s after %.1f s: sent %" PRIu64 " (with resends), acked %" PRIu64
           ", dropped %" PRIu64 ", reconnects %" PRIu64 "\n", li_err_str(fe),
           (double)(li_mono_ns() - t0) / 1e9, st.sent_pdus, st.acked_pdus, st.dropped_pdus,
           st.reconnects);
    X2X3T_CHECK(fe == LI_OK && st.acked_pdus == RECORDS && st.dropped_pdus == 0,
                "not everything acknowledged");
    X2X3T_CHECK(st.reconnects >= 1, "the sender never reconnected");
    x2x3_sender_free(s);

    size_t n = x2x3t_consume(RECORDS, 120, 3000, on_record, NULL);
    size_t missing = 0, dups = 0;
    for (int i = 0; i < RECORDS; i++) {
        missing += records[i].n == 0;
        dups += records[i].n > 1 ? records[i].n - 1 : 0;
        free(records[i].bytes);
    }
    printf("consumed %zu records: %zu missing, %zu duplicates (%zu not identical), "
           "%zu unexpected\n", n, missing, dups, mismatches, strangers);
    int rc = x2x3t_ingest_stop(&ing, SIGTERM);
    X2X3T_CHECK(rc == 0, "limf-ingest exit status %d", rc);
    return missing == 0 && mismatches == 0 && strangers == 0 ? 0 : 1;
}
