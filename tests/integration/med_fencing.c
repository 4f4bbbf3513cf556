/* A second limf-mediator with the same mediator.instance_id (a restarted pod while the
 * old one still runs) fences the first through its transactional id: the first must
 * stop with a fatal error (exit status 1) instead of committing anything more, and the
 * records of every session are present once, sequence numbers contiguous from 0 per
 * (LIID, CIN), read read_committed.
 *   med_fencing <path of limf-mediator> */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_med_gen.h"
#include "li_log.h"
#include "li_time.h"
#include "med_map.h"
#include "med_util.h"

#define CHECK MED_IT_CHECK
#define WARRANTS 4
#define SESSIONS 40
#define MSRP 2

static char topic_xpdu[256], topic_admin[256];
static const char *const dest[1] = { "lea-z" };

static void produce_sessions(rd_kafka_t *p, int from, int to)
{
    for (int k = 0; k < med_gen_phases(MSRP); k++)
        for (int s = from; s < to; s++) {
            uint8_t buf[2048], xid[16];
            size_t n = med_gen_pdu(s, k, WARRANTS, MSRP, li_now_ns(), buf, xid);
            med_it_produce(p, topic_xpdu, xid, 16, buf, n);
        }
    CHECK(rd_kafka_flush(p, 20000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush");
}

/* Per "<liid>/<cin>/<interface>": bit mask of the sequence numbers seen (all sessions are
 * short); each warrant's HI1 notifications (CIN 0) are a sequence of their own. */
typedef struct tally {
    med_map seqs;
    size_t records, duplicates;
} tally;

static void on_rec(void *ctx, const rd_kafka_message_t *m, const Limf__HiRecord *r)
{
    (void)m;
    tally *t = ctx;
    char key[64];
    snprintf(key, sizeof key, "%s/%" PRIu64 "/%d", r->liid, r->cin,
             r->kind == LIMF__HI_RECORD__KIND__CC ? 3 : 2);
    CHECK(r->seq < 60, "seq %" PRIu64 " out of range", r->seq);
    uintptr_t mask = (uintptr_t)med_map_get(&t->seqs, key);
    if (mask & ((uintptr_t)1 << r->seq))
        t->duplicates++;
    mask |= (uintptr_t)1 << r->seq;
    CHECK(med_map_put(&t->seqs, key, (void *)mask) == LI_OK, "out of memory");
    t->records++;
}

static size_t read_tally(li_config *cfg, tally *t)
{
    med_map_free(&t->seqs);
    med_map_init(&t->seqs);
    t->records = t->duplicates = 0;
    med_it_read_hi(cfg, dest, 1, on_rec, t);
    return t->records;
}

int main(int argc, char **argv)
{
    li_log_init("med_fencing", LI_LOG_WARN, 0);
    med_it_init(argc, argv, "med_fencing");
    li_config *cfg = med_it_client_config();
    li_kafka_topic(cfg, "limf.xpdu", topic_xpdu, sizeof topic_xpdu);
    li_kafka_topic(cfg, "limf.admin", topic_admin, sizeof topic_admin);
    rd_kafka_t *p = med_it_producer(cfg);
    med_it_topics(p, topic_xpdu, 2, topic_admin);
    uint8_t poi[256];
    char poi_key[32];
    size_t pn = med_gen_poi(poi, poi_key);
    med_it_produce(p, topic_admin, poi_key, strlen(poi_key), poi, pn);
    uint8_t dbuf[256];
    char dkey[160];
    size_t dn = med_gen_destination(dest[0], dbuf, dkey);
    med_it_produce(p, topic_admin, dkey, strlen(dkey), dbuf, dn);
    for (int w = 0; w < WARRANTS; w++) {
        uint8_t buf[512];
        char key[32];
        size_t n = med_gen_warrant(w, dest[0], 0, buf, key);
        med_it_produce(p, topic_admin, key, strlen(key), buf, n);
    }
    CHECK(rd_kafka_flush(p, 20000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush warrants");
    size_t want = WARRANTS;  /* each warrant's liActivated */
    for (int s = 0; s < SESSIONS; s++)
        want += (size_t)med_gen_records(s % WARRANTS, MSRP);

    med_it_start(0, NULL);
    produce_sessions(p, 0, SESSIONS / 2);
    long long r = -1;
    for (int i = 0; i < 300 && (r = med_it_metric(0, "limf_mediator_records")) <= 0; i++)
        usleep(100000);
    CHECK(r > 0, "the first instance produced nothing");

    /* The successor takes the same transactional id: the first one is fenced. */
    static const char *const same_id[] = { "mediator.instance_id=i0", NULL };
    med_it_start(1, same_id);
    /* A zombie that has nothing to do commits nothing and is not noticed: wait until
     * the successor is in the group and owns partitions, then give both work. */
    long long parts = -1;
    for (int i = 0; i < 600 && parts < 1; i++) {
        usleep(100000);
        parts = med_it_metric(1, "limf_mediator_partitions");
    }
    CHECK(parts >= 1, "the successor got no partition");
    produce_sessions(p, SESSIONS / 2, SESSIONS);
    /* Its next transaction (at the latest the commit on revocation when the successor
     * joins the group) is refused: a fatal error, exit status 1. */
    int status = -1;
    for (int i = 0; i < 600 && status < 0; i++) {
        usleep(100000);
        status = med_it_exit_status(0);
    }
    CHECK(status == 1, "the fenced instance: exit status %d, want 1", status);

    size_t got = 0;
    tally t;
    med_map_init(&t.seqs);
    for (int i = 0; i < 30 && (got = read_tally(cfg, &t)) < want; i++)
        sleep(1);
    sleep(2);
    got = read_tally(cfg, &t);
    CHECK(got == want && t.duplicates == 0, "%zu records (want %zu), %zu duplicates", got, want,
          t.duplicates);
    size_t it = 0;
    const char *k;
    void *v;
    while (med_map_next(&t.seqs, &it, &k, &v)) {
        uintptr_t mask = (uintptr_t)v;
        CHECK((mask & (mask + 1)) == 0, "%s: sequence numbers with a gap (mask %#lx)", k,
              (unsigned long)mask);
    }
    CHECK(med_it_term(1) == 0, "the successor did not exit cleanly");
    med_map_free(&t.seqs);
    li_kafka_destroy(p, 5000);
    li_config_free(cfg);
    printf("OK: the fenced instance stopped; %zu records once each, contiguous\n", got);
    return 0;
}
