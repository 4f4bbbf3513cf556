/* The X2/X3 sender of limf-msrp-relay writes PDUs straight from its ring buffer, which
 * wraps: with a 64 KiB buffer, 1,500 records of 1 to 6,000 octets (about 70 laps, PDUs
 * split at the end of the ring on the way in and on the way out) go to a real
 * limf-ingest and Kafka; the ingest is killed (SIGKILL) while 60 KiB are unacknowledged,
 * and restarted. Every record must be in Kafka with its sequence number and payload
 * exactly as sent, a record found twice must be an identical copy (resent byte for
 * byte), and nothing may be dropped. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "li_log.h"
#include "x2x3_pdu.h"
#include "x2x3_util.h"

#define RECORDS 1500
#define BUFFER 65536
#define MAX_PAYLOAD 6000
#define KILL_AT 700


static x2x3t_copies records[RECORDS];
static size_t mismatches, strangers, wrong_payloads;

/* Record i's payload: its length and bytes follow from i alone. */
static size_t payload_of(unsigned i, uint8_t *out)
{
    size_t len = 1 + (size_t)(i * 2654435761u % MAX_PAYLOAD);
    for (size_t j = 0; j < len; j++)
        out[j] = (uint8_t)(i * 7u + j * 13u + (j >> 8));
    return len;
}

static void on_record(const Limf__XPdu *x, void *ctx)
{
    (void)ctx;
    if (!x->has_seq || x->correlation_id.len != 8 ||
        li_get_be64(x->correlation_id.data) >= RECORDS) {
        strangers++;
        return;
    }
    /* The correlation ID carries the record's index; each is its own stream, numbered
     * from 0 (TS 103 221-2 numbers per XID and correlation ID). */
    uint64_t index = li_get_be64(x->correlation_id.data);
    uint8_t want[MAX_PAYLOAD];
    size_t want_len = payload_of((unsigned)index, want);
    if (x->seq != 0 || x->payload.len != want_len ||
        memcmp(x->payload.data, want, want_len) != 0)
        wrong_payloads++;
    if (!x2x3t_copy_seen(&records[index], x))
        mismatches++;
}

static void send_record(x2x3_sender *s, unsigned i)
{
    static uint8_t payload[MAX_PAYLOAD];
    static const char *const target = "sip:ring@example.org";
    x2x3_record r;
    memset(&r, 0, sizeof r);
    r.pdu_type = X2X3_PDU_X3;
    r.payload_format = X2X3_FORMAT_MSRP;
    r.payload_direction = i % 2 ? X2X3_DIR_FROM_TARGET : X2X3_DIR_TO_TARGET;
    r.xid[0] = 0x72;
    r.xid[15] = 0x19;
    r.correlation_id = i;
    r.matched_targets = &target;
    r.n_matched_targets = 1;
    r.payload = payload;
    r.payload_len = payload_of(i, payload);
    li_err e = x2x3_sender_send(s, &r);
    X2X3T_CHECK(e == LI_OK, "record %u refused: %s", i, li_err_str(e));
}

int main(void)
{
    li_log_init("relay_sender_ring", LI_LOG_WARN, 0);
    x2x3t_ingest ing = { 0 };
    x2x3t_ingest_start(&ing, 0, NULL);
    uint16_t port = ing.port;
    char buffer_opt[64];
    snprintf(buffer_opt, sizeof buffer_opt, "x2x3.buffer_bytes=%d", BUFFER);
    const char *const opts[] = { buffer_opt, "x2x3.keepalive_s=1", "x2x3.reconnect_max_s=1",
                                 "x2x3.ack_interval_ms=2", NULL };
    x2x3_sender *s = x2x3t_sender(port, "poi-test", opts);
    int frozen = 0, killed = 0;
    for (unsigned i = 0; i < RECORDS; i++) {
        if (i == KILL_AT) {
            /* From here the ingest acknowledges nothing (its socket still takes bytes),
             * so what the sender writes until the buffer is full stays unacknowledged. */
            kill(ing.pid, SIGSTOP);
            frozen = 1;
        }
        /* Never more than the buffer holds, so that nothing is dropped: wait for the
         * acknowledgements when the next record might not fit. */
        x2x3_sender_stats st;
        x2x3_sender_stats_get(s, &st);
        if (st.buffered_bytes + MAX_PAYLOAD + 200 > BUFFER) {
            if (frozen && !killed) {
                /* About 60 KiB written and unacknowledged: the ingest dies with them. */
                for (int w = 0; w < 500 && st.sent_pdus < i; w++) {
                    usleep(10000);
                    x2x3_sender_stats_get(s, &st);
                }
                X2X3T_CHECK(st.sent_pdus >= i, "the sender did not write to the frozen ingest");
                x2x3t_ingest_stop(&ing, SIGKILL);
                x2x3t_ingest_start(&ing, port, NULL);
                killed = 1;
                printf("ingest killed and restarted at record %u, %llu bytes unacknowledged\n",
                       i, (unsigned long long)st.buffered_bytes);
            }
            X2X3T_CHECK(x2x3_sender_flush(s, 30000) == LI_OK, "flush at record %u", i);
        }
        send_record(s, i);
    }
    X2X3T_CHECK(x2x3_sender_flush(s, 30000) == LI_OK, "final flush");
    x2x3_sender_stats st;
    x2x3_sender_stats_get(s, &st);
    printf("sender: %llu PDUs written (%llu bytes, resends included), %llu acknowledged, "
           "%llu dropped, %llu reconnects\n",
           (unsigned long long)st.sent_pdus, (unsigned long long)st.sent_bytes,
           (unsigned long long)st.acked_pdus, (unsigned long long)st.dropped_pdus,
           (unsigned long long)st.reconnects);
    X2X3T_CHECK(killed, "the ingest was never killed");
    X2X3T_CHECK(st.dropped_pdus == 0 && st.acked_pdus == RECORDS, "records dropped or unacked");
    X2X3T_CHECK(st.reconnects >= 1 && st.sent_pdus > RECORDS, "nothing was resent");
    X2X3T_CHECK(st.sent_bytes > 60u * BUFFER, "the ring did not wrap often enough");
    x2x3_sender_free(s);

    x2x3t_consume(RECORDS, 60, 2000, on_record, NULL);
    size_t missing = 0, dup = 0;
    for (unsigned i = 0; i < RECORDS; i++) {
        missing += records[i].n == 0;
        dup += records[i].n > 1;
        free(records[i].bytes);
    }
    printf("Kafka: %d records, %zu missing, %zu resent copies, %zu copies differing, "
           "%zu wrong payloads, %zu strangers\n",
           RECORDS, missing, dup, mismatches, wrong_payloads, strangers);
    X2X3T_CHECK(missing == 0, "%zu records missing", missing);
    X2X3T_CHECK(mismatches == 0 && wrong_payloads == 0 && strangers == 0,
                "records altered");
    int rc = x2x3t_ingest_stop(&ing, SIGTERM);
    X2X3T_CHECK(rc == 0, "limf-ingest exit %d", rc);
    return 0;
}
