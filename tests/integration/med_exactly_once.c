/* limf-mediator exactly once on the real broker (docs/PRINCIPLES.md 4): three instances share
 * limf.xpdu as one consumer group; 200 concurrent SIP+MSRP sessions over 20 warrants are
 * produced as XPdu records; one instance is killed with SIGKILL mid-stream and a fourth
 * joins later. Then, read with isolation.level=read_committed from limf.hi.<dest>:
 * every expected record is present, and per (LIID, CIN) the sequence numbers run from 0
 * with no gap and no duplicate.
 *   med_exactly_once <path of limf-mediator> */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_med_gen.h"
#include "li_log.h"
#include "li_time.h"
#include "med_util.h"

#define WARRANTS 20
#define SESSIONS 200
#define MSRP_PER_SESSION 4
#define PARTITIONS 6
#define CHECK MED_IT_CHECK

static char topic_xpdu[256], topic_admin[256];
static const char *const dests[2] = { "lea-a", "lea-b" };

static void put_warrants(rd_kafka_t *p)
{
    uint8_t poi[256];
    char poi_key[32];
    size_t pn = med_gen_poi(poi, poi_key);
    med_it_produce(p, topic_admin, poi_key, strlen(poi_key), poi, pn);
    for (int d = 0; d < 2; d++) {
        uint8_t buf[256];
        char key[160];
        size_t n = med_gen_destination(dests[d], buf, key);
        med_it_produce(p, topic_admin, key, strlen(key), buf, n);
    }
    for (int w = 0; w < WARRANTS; w++) {
        uint8_t buf[512];
        char key[32];
        size_t n = med_gen_warrant(w, dests[w % 2], 0, buf, key);
        med_it_produce(p, topic_admin, key, strlen(key), buf, n);
    }
    CHECK(rd_kafka_flush(p, 20000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush warrants");
}

static void produce_phase(rd_kafka_t *p, int k)
{
    for (int s = 0; s < SESSIONS; s++) {
        uint8_t buf[2048], xid[16];
        size_t n = med_gen_pdu(s, k, WARRANTS, MSRP_PER_SESSION, li_now_ns(), buf, xid);
        med_it_produce(p, topic_xpdu, xid, 16, buf, n);
    }
    CHECK(rd_kafka_flush(p, 20000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush phase %d", k);
}

/* ---- verification ---- */

typedef struct rec {
    char liid[16];
    uint64_t cin, seq;
    int kind, iri;
    char tag[40];            /* session ("call-N") or MSRP body ("msg-N-M") */
} rec;

static rec *recs;
static size_t n_recs, cap_recs, n_hi1;

static void collect(void *ctx, const rd_kafka_message_t *m, const Limf__HiRecord *r)
{
    (void)ctx;
    if (r->kind == LIMF__HI_RECORD__KIND__HI1) {
        n_hi1++;             /* warrant notifications: med_notify's test checks them */
        return;
    }
    if (n_recs == cap_recs) {
        cap_recs = cap_recs ? cap_recs * 2 : 4096;
        recs = realloc(recs, cap_recs * sizeof *recs);
        CHECK(recs, "out of memory");
    }
    rec *x = &recs[n_recs++];
    memset(x, 0, sizeof *x);
    snprintf(x->liid, sizeof x->liid, "%s", r->liid);
    x->cin = r->cin;
    x->seq = r->seq;
    x->kind = r->kind;
    x->iri = (int)r->iri_type;
    const char *p = memmem(r->payload.data, r->payload.len, "call-", 5);
    if (r->kind == LIMF__HI_RECORD__KIND__CC)
        p = memmem(r->payload.data, r->payload.len, "msg-", 4);
    if (p) {
        size_t i = 0;
        while (i + 1 < sizeof x->tag && p + i < (const char *)r->payload.data + r->payload.len &&
               p[i] != '@' && p[i] != '\r')
            i++;
        memcpy(x->tag, p, i);
    }
    /* The key is the keyed hash of "<liid>/<cin>" (med_keys.h): the same for every
     * record of a session (its order is kept), and no LIID in the clear. */
    char clear[64], key[33];
    snprintf(clear, sizeof clear, "%s/%" PRIu64, r->liid, r->cin);
    med_it_key_hash(clear, key);
    CHECK(m->key_len == strlen(key) && memcmp(m->key, key, m->key_len) == 0, "record key");
    CHECK(!memmem(m->key, m->key_len, r->liid, strlen(r->liid)), "LIID in a Kafka key");
}

static void read_all(li_config *cfg)
{
    n_recs = n_hi1 = 0;
    med_it_read_hi(cfg, dests, 2, collect, NULL);
}

static int rec_cmp(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    int c = strcmp(x->liid, y->liid);
    if (c)
        return c;
    if (x->cin != y->cin)
        return x->cin < y->cin ? -1 : 1;
    /* HI2 before HI3: each is numbered on its own. */
    int cx = x->kind == LIMF__HI_RECORD__KIND__CC, cy = y->kind == LIMF__HI_RECORD__KIND__CC;
    if (cx != cy)
        return cx - cy;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static size_t expected_total(void)
{
    size_t n = 0;
    for (int s = 0; s < SESSIONS; s++)
        n += (size_t)med_gen_records(s % WARRANTS, MSRP_PER_SESSION);
    return n;
}

/* Per (LIID, CIN) and interface: seq 0..n-1 exactly once; each CIN is one session whose
 * HI2 records are BEGIN, CONTINUE x3 (INVITE's 200, ACK, BYE), END (the 200 to the BYE),
 * and HI3 records its CC (cc warrants); every session is present once. */
static void verify(void)
{
    qsort(recs, n_recs, sizeof *recs, rec_cmp);
    static int seen[SESSIONS];
    memset(seen, 0, sizeof seen);
    size_t i = 0;
    while (i < n_recs) {
        size_t j = i;
        while (j < n_recs && strcmp(recs[j].liid, recs[i].liid) == 0 && recs[j].cin == recs[i].cin)
            j++;
        size_t hi3 = i;      /* the first CC of the group */
        while (hi3 < j && recs[hi3].kind != LIMF__HI_RECORD__KIND__CC)
            hi3++;
        for (size_t k = i; k < j; k++)
            CHECK(recs[k].seq == k - (k < hi3 ? i : hi3), "%s cin %" PRIu64 ": seq %" PRIu64
                  " at position %zu (gap or duplicate)", recs[i].liid, recs[i].cin,
                  recs[k].seq, k - i);
        int s = -1;
        CHECK(sscanf(recs[i].tag, "call-%d", &s) == 1 && s >= 0 && s < SESSIONS,
              "%s cin %" PRIu64 ": first record is not a session's INVITE", recs[i].liid,
              recs[i].cin);
        char liid[16];
        snprintf(liid, sizeof liid, "LIID-%02d", s % WARRANTS);
        CHECK(strcmp(liid, recs[i].liid) == 0, "session %d under the wrong LIID", s);
        seen[s]++;
        size_t want = (size_t)med_gen_records(s % WARRANTS, MSRP_PER_SESSION);
        CHECK(j - i == want, "session %d: %zu records, want %zu", s, j - i, want);
        CHECK(hi3 - i == 5 && recs[i].iri == 1 && recs[i + 1].iri == 3 && recs[i + 2].iri == 3 &&
              recs[i + 3].iri == 3 && recs[i + 4].iri == 2,
              "session %d: BEGIN CONTINUE x3 END expected", s);
        for (size_t m = 0; m + 5 < want; m++) {
            char tag[40];
            snprintf(tag, sizeof tag, "msg-%d-%zu", s, m);
            CHECK(strcmp(recs[hi3 + m].tag, tag) == 0, "session %d: CC %zu is %s", s, m,
                  recs[hi3 + m].tag);
        }
        i = j;
    }
    for (int s = 0; s < SESSIONS; s++)
        CHECK(seen[s] == 1, "session %d delivered %d times", s, seen[s]);
}

int main(int argc, char **argv)
{
    li_log_init("med_exactly_once", LI_LOG_WARN, 0);
    med_it_init(argc, argv, "med_exactly_once");
    uint64_t t0 = li_mono_ns();
    li_config *cfg = med_it_client_config();
    li_kafka_topic(cfg, "limf.xpdu", topic_xpdu, sizeof topic_xpdu);
    li_kafka_topic(cfg, "limf.admin", topic_admin, sizeof topic_admin);
    rd_kafka_t *p = med_it_producer(cfg);
    med_it_topics(p, topic_xpdu, PARTITIONS, topic_admin);
    put_warrants(p);

    for (int i = 0; i < 3; i++)
        med_it_start(i, NULL);
    sleep(4);   /* let the group form, so the stream is shared from its start */

    const int phases = med_gen_phases(MSRP_PER_SESSION);
    for (int k = 0; k < phases; k++) {
        produce_phase(p, k);
        if (k == 3) {
            printf("kill -9 instance i1 (mid-stream)\n");
            med_it_kill(1);
        }
        if (k == 6) {
            printf("start instance i3 (rebalance)\n");
            med_it_start(3, NULL);
        }
        usleep(700000);
    }
    size_t want = expected_total();
    printf("produced %d sessions in %d phases; expecting %zu records\n", SESSIONS, phases,
           want);
    uint64_t deadline = li_mono_ns() + 50 * 1000000000ULL;
    do {
        sleep(2);
        read_all(cfg);
        printf("  read %zu committed records\n", n_recs);
    } while (n_recs < want && li_mono_ns() < deadline);
    /* Anything re-emitted after a late commit would show up now. */
    sleep(2);
    read_all(cfg);
    CHECK(n_recs == want, "%zu records, want %zu", n_recs, want);
    /* Each warrant's activation reached its agency once, through kills and rebalances. */
    CHECK(n_hi1 == WARRANTS, "%zu HI1 notifications, want %d (one liActivated per warrant)",
          n_hi1, WARRANTS);
    verify();
    /* Instance i0 lived through both rebalances; its counters are visible. */
    long long produced = med_it_metric(0, "limf_mediator_records");
    long long parts = med_it_metric(0, "limf_mediator_partitions");
    CHECK(produced > 0 && parts >= 1 && med_it_metric(0, "limf_mediator_warrants") == WARRANTS,
          "metrics of i0: records %lld partitions %lld", produced, parts);
    printf("i0 /metrics: %lld records, %lld partitions\n", produced, parts);

    for (int i = 0; i < 4; i++)
        if (i != 1)
            CHECK(med_it_term(i) == 0, "instance i%d did not exit cleanly", i);
    li_kafka_destroy(p, 5000);
    li_config_free(cfg);
    free(recs);
    printf("OK: %zu records, %d sessions, per (LIID, CIN) contiguous from 0, in %.1f s\n",
           want, SESSIONS, (double)(li_mono_ns() - t0) / 1e9);
    return 0;
}
