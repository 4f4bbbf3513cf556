/* Back-pressure: limf-ingest's producer queue is made tiny (50 records), so a POI
 * streaming 20,000 PDUs fills it again and again. The ingest must stop reading that
 * connection instead of dropping (metrics count the pauses), and every PDU must reach
 * Kafka once the queue drains. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "li_log.h"
#include "x2x3_pdu.h"
#include "x2x3_util.h"

#define RECORDS 20000

static unsigned char seen[RECORDS];
static size_t unexpected;

/* Record i goes to XID i % 4, numbered per XID (TS 103 221-2): record 4 * seq + XID. */
static void on_record(const Limf__XPdu *x, void *ctx)
{
    (void)ctx;
    size_t i = x->has_seq && x->xid.len == 16 ? (size_t)x->seq * 4 + x->xid.data[15] : RECORDS;
    if (i >= RECORDS)
        unexpected++;
    else
        seen[i]++;
}

int main(void)
{
    li_log_init("x2x3_backpressure", LI_LOG_WARN, 0);
    x2x3t_ingest ing = { 0 };
    static const char *const opts[] = { "kafka.queue.buffering.max.messages=50",
                                        "kafka.linger.ms=20", NULL };
    x2x3t_ingest_start(&ing, 0, opts);
    /* The ingest stops reading while Kafka holds it back, keepalives included: a POI's
     * keepalive patience (3 intervals) longer than the longest pause, so that the test
     * sees back-pressure, not a reconnect and its resends. */
    static const char *const sender_opts[] = { "x2x3.keepalive_s=20", NULL };
    x2x3_sender *s = x2x3t_sender(ing.port, "poi-test", sender_opts);
    char payload[200];
    memset(payload, 'q', sizeof payload);
    for (int i = 0; i < RECORDS; i++) {
        x2x3_record r;
        memset(&r, 0, sizeof r);
        r.pdu_type = X2X3_PDU_X3;
        r.payload_format = X2X3_FORMAT_MSRP;
        r.payload_direction = X2X3_DIR_TO_TARGET;
        r.xid[0] = 0xbb;
        r.xid[15] = (uint8_t)(i % 4);
        r.payload = (const uint8_t *)payload;
        r.payload_len = sizeof payload;
        X2X3T_CHECK(x2x3_sender_send(s, &r) == LI_OK, "send %d", i);
    }
    X2X3T_CHECK(x2x3_sender_flush(s, 120000) == LI_OK, "not all acknowledged");
    x2x3_sender_stats st;
    x2x3_sender_stats_get(s, &st);
    X2X3T_CHECK(st.dropped_pdus == 0 && st.acked_pdus == RECORDS, "sender dropped");

    char text[16384];
    X2X3T_CHECK(x2x3t_http_get(ing.metrics_port, "/metrics", text, sizeof text) == 200, "metrics");
    long long pauses = x2x3t_metric(text, "limf_ingest_backpressure_pauses_total");
    long long delivered = x2x3t_metric(text, "limf_ingest_kafka_delivered_total");
    printf("back-pressure pauses %lld, delivered %lld\n", pauses, delivered);
    X2X3T_CHECK(pauses > 0, "the producer queue never filled: the test proves nothing");
    X2X3T_CHECK(delivered == RECORDS, "ingest delivered %lld", delivered);

    size_t n = x2x3t_consume(RECORDS, 60, 1000, on_record, NULL);
    size_t missing = 0, twice = 0;
    for (int i = 0; i < RECORDS; i++) {
        missing += seen[i] == 0;
        twice += seen[i] > 1;
    }
    printf("consumed %zu: %zu missing, %zu twice, %zu unexpected\n", n, missing, twice,
           unexpected);
    x2x3_sender_free(s);
    int rc = x2x3t_ingest_stop(&ing, SIGTERM);
    X2X3T_CHECK(rc == 0, "limf-ingest exit %d", rc);
    return missing == 0 && twice == 0 && unexpected == 0 ? 0 : 1;
}
