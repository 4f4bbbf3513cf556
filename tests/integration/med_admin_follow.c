/* limf-mediator follows limf.admin while it runs (docs/PRINCIPLES.md 3, 4), on the real broker:
 *   1. PDUs of an XID without a warrant give nothing (and change no state);
 *   2. the warrant appears: the next session gives its 9 records (5 IRI, 4 CC), seq 0..8;
 *   3. the warrant's end moves into the past: the mediator drops what follows;
 *   4. the warrant is deleted (tombstone): the task table is empty again;
 *   5. SIGTERM: clean exit.
 *   med_admin_follow <path of limf-mediator> */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_med_gen.h"
#include "li_log.h"
#include "li_time.h"
#include "med_util.h"

#define CHECK MED_IT_CHECK
#define MSRP 4

static char topic_xpdu[256], topic_admin[256];
static const char *const dest[1] = { "lea-f" };

static void session(rd_kafka_t *p, int s)
{
    for (int k = 0; k < med_gen_phases(MSRP); k++) {
        uint8_t buf[2048], xid[16];
        size_t n = med_gen_pdu(s, k, 1, MSRP, li_now_ns(), buf, xid);
        med_it_produce(p, topic_xpdu, xid, 16, buf, n);
    }
    CHECK(rd_kafka_flush(p, 20000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush");
}

static void put_warrant(rd_kafka_t *p, int64_t end_ms, int tombstone)
{
    uint8_t buf[512];
    char key[160];
    size_t n = med_gen_poi(buf, key);
    med_it_produce(p, topic_admin, key, strlen(key), buf, n);
    n = med_gen_destination(dest[0], buf, key);
    med_it_produce(p, topic_admin, key, strlen(key), buf, n);
    n = med_gen_warrant(0, dest[0], end_ms, buf, key);
    med_it_produce(p, topic_admin, key, strlen(key), tombstone ? NULL : buf, tombstone ? 0 : n);
    CHECK(rd_kafka_flush(p, 20000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush");
}

/* Waits up to 30 s for a metric of instance 0 to reach want. */
static long long wait_metric(const char *name, long long want)
{
    long long v = -1;
    for (int i = 0; i < 300 && (v = med_it_metric(0, name)) < want; i++)
        usleep(100000);
    return v;
}

typedef struct seen {
    uint64_t hi2, hi3;        /* bit per seq, per interface */
    uint64_t cin;
    char hi1[8];              /* the warrant's notifications: A(ctivated) D(eactivated) */
    size_t n;
} seen;

static void on_rec(void *ctx, const rd_kafka_message_t *m, const Limf__HiRecord *r)
{
    (void)m;
    seen *s = ctx;
    CHECK(strcmp(r->liid, "LIID-00") == 0 && r->seq < 64, "unexpected record");
    s->n++;
    if (r->kind == LIMF__HI_RECORD__KIND__HI1) {
        size_t k = strlen(s->hi1);
        CHECK(r->cin == 0 && r->seq == k && k + 1 < sizeof s->hi1, "HI1 %zu: cin %" PRIu64
              " seq %" PRIu64, k, r->cin, r->seq);
        s->hi1[k] = r->hi1_operation == LIMF__HI_RECORD__HI1_OPERATION__LI_ACTIVATED ? 'A'
                  : r->hi1_operation == LIMF__HI_RECORD__HI1_OPERATION__LI_DEACTIVATED ? 'D' : '?';
        return;
    }
    CHECK(s->hi2 == 0 && s->hi3 == 0 ? 1 : s->cin == r->cin, "records of two communications");
    s->cin = r->cin;
    if (r->kind == LIMF__HI_RECORD__KIND__CC)
        s->hi3 |= 1ULL << r->seq;
    else
        s->hi2 |= 1ULL << r->seq;
}

int main(int argc, char **argv)
{
    li_log_init("med_admin_follow", LI_LOG_WARN, 0);
    med_it_init(argc, argv, "med_admin_follow");
    li_config *cfg = med_it_client_config();
    li_kafka_topic(cfg, "limf.xpdu", topic_xpdu, sizeof topic_xpdu);
    li_kafka_topic(cfg, "limf.admin", topic_admin, sizeof topic_admin);
    rd_kafka_t *p = med_it_producer(cfg);
    med_it_topics(p, topic_xpdu, 2, topic_admin);
    med_it_start(0, NULL);
    CHECK(wait_metric("limf_mediator_partitions", 2) == 2, "instance did not get its partitions");

    /* 1. No warrant yet. */
    session(p, 0);
    CHECK(wait_metric("limf_mediator_dropped_no_task", 9) == 9, "PDUs without task not dropped");
    CHECK(med_it_metric(0, "limf_mediator_sessions") == 0, "state kept for a task-less XID");

    /* 2. The warrant appears while the mediator runs. */
    put_warrant(p, 0, 0);
    CHECK(wait_metric("limf_mediator_warrants", 1) == 1, "warrant not followed");
    session(p, 1);
    /* The session's records, and the warrant's liActivated (HI1, no CIN). */
    const long long cc = med_gen_records(0, MSRP) - 5, want = med_gen_records(0, MSRP) + 1;
    CHECK(wait_metric("limf_mediator_records", want) == want, "records of the tasked session");
    seen s = { 0 };
    CHECK(med_it_read_hi(cfg, dest, 1, on_rec, &s) == (size_t)want && s.hi2 == 0x1f &&
          s.hi3 == (1ULL << cc) - 1 && strcmp(s.hi1, "A") == 0,
          "want HI2 0..4, HI3 0..%lld of one CIN and liActivated, got %zu records (masks %#"
          PRIx64 " %#" PRIx64 ", HI1 %s)", cc - 1, s.n, s.hi2, s.hi3, s.hi1);

    /* 3. The window closes. */
    put_warrant(p, (int64_t)(li_now_ns() / 1000000) - 1000, 0);
    usleep(1500000);          /* the admin reader catches up */
    session(p, 2);
    CHECK(wait_metric("limf_mediator_dropped_window", 9) == 9, "PDUs outside the window");
    /* Only the warrant's liDeactivated. */
    CHECK(wait_metric("limf_mediator_records", want + 1) == want + 1,
          "records outside the window, or no liDeactivated");

    /* 4. The destination is removed, then its warrant is open again: nothing is written
     * for that destination (no backlog waits for a later one with its id), not even the
     * notifications (docs/SECURITY.md, "Agencies"). */
    uint8_t buf[512];
    char key[160];
    med_gen_destination(dest[0], buf, key);   /* for its key */
    med_it_produce(p, topic_admin, key, strlen(key), NULL, 0);
    size_t n = med_gen_warrant(0, dest[0], 0, buf, key);
    med_it_produce(p, topic_admin, key, strlen(key), buf, n);
    CHECK(rd_kafka_flush(p, 20000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush");
    usleep(1500000);
    session(p, 3);
    CHECK(wait_metric("limf_mediator_unroutable", 6) >= 6,
          "records of a removed destination not dropped");
    CHECK(med_it_metric(0, "limf_mediator_records") == want + 1,
          "records written for a removed destination");

    /* 5. Tombstone (the destination stays removed). */
    med_gen_warrant(0, dest[0], 0, buf, key);
    med_it_produce(p, topic_admin, key, strlen(key), NULL, 0);
    CHECK(rd_kafka_flush(p, 20000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush");
    long long w = -1;
    for (int i = 0; i < 300 && (w = med_it_metric(0, "limf_mediator_warrants")) != 0; i++)
        usleep(100000);
    CHECK(w == 0, "tombstone not followed");

    /* 6. Clean stop; nothing more was delivered. */
    CHECK(med_it_term(0) == 0, "unclean exit");
    memset(&s, 0, sizeof s);
    CHECK(med_it_read_hi(cfg, dest, 1, on_rec, &s) == (size_t)want + 1 &&
          strcmp(s.hi1, "AD") == 0, "records after the warrant ended (HI1 %s)", s.hi1);
    li_kafka_destroy(p, 5000);
    li_config_free(cfg);
    printf("OK: admin followed live (create, window, tombstone)\n");
    return 0;
}
