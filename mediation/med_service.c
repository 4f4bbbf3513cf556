/* limf-mediator's Kafka loop: see med_service.h. */
#include "med_service.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "li_kafka.h"
#include "li_log.h"
#include "li_time.h"
#include "med_changelog.h"
#include "med_engine.h"
#include "med_keys.h"
#include "med_map.h"
#include "med_metrics.h"
#include "med_notify.h"
#include "med_tasks.h"

#define MAX_PARTITIONS 256

typedef struct out_rec out_rec;

/* The output of one processed batch: its HI records and state changes, and the input
 * offsets that its transaction commits. */
typedef struct txn_out {
    out_rec *recs;
    size_t n, cap;
    int64_t next_offset[MAX_PARTITIONS];   /* -1: none */
    int ready;                   /* processed, waiting for its transaction */
    int failed;                  /* out of memory while collecting: abort, rewind */
} txn_out;

/* The thread that finishes transactions: sending the offsets and committing take
 * round trips to the transaction and group coordinators (tens of milliseconds on a
 * loaded broker), which would otherwise stall consumption. While it commits transaction
 * k, the main thread processes batch k+1 into a txn_out, produced once k is decided. */
typedef struct committer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int started, busy, stop, decided;
    rd_kafka_topic_partition_list_t *offsets;
    rd_kafka_consumer_group_metadata_t *group;
    li_err result;               /* of the last transaction, once decided */
} committer;

struct med_service {
    const li_config *cfg;
    rd_kafka_t *consumer;        /* limf.xpdu, group, read_committed */
    rd_kafka_t *producer;        /* transactional */
    rd_kafka_t *admin_reader;    /* limf.admin, no group */
    rd_kafka_t *state_reader;    /* limf.mediator.state, no group, read_committed */
    char t_xpdu[256], t_state[256], t_admin[256];
    int32_t partitions;          /* of limf.xpdu (and limf.mediator.state) */
    int hi_partitions;
    int group_session_timeout_ms;
    med_tasks *tasks;
    med_config mcfg;
    med_engine *engines[MAX_PARTITIONS];
    med_notify *notify;          /* HI1 notifications of warrants: with partition 0 */
    rd_kafka_message_t **batch;  /* consumed, not yet processed */
    size_t n_batch, max_batch, batch_bytes, max_batch_bytes;
    uint64_t batch_started_ns;
    uint64_t batch_ns, tick_ns, last_tick_ns, stats_ns, last_stats_ns;
    int tick_due;
    txn_out out;
    committer com;
    med_map hi_topics;           /* destination topics known to exist */
    atomic_int fatal;            /* set by either thread */
    atomic_int produce_failed;   /* a delivery of the open transaction failed */
    uint64_t txns, aborts, records_out, pdus_in;
    uint64_t unroutable;         /* HI records of destinations without a topic */
    med_stats retired;           /* counters of engines dropped since the start */
    med_metrics *metrics;        /* NULL without mediator.metrics.listen */
    med_keys keys;               /* of the Kafka keys written (med_keys.h) */
};

typedef struct state_ctx {
    med_service *s;
    int32_t partition;
} state_ctx;

/* ---- Kafka client configuration ---- */

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque);

/* The group consumer of limf.xpdu, with the rebalance callback that hands partitions
 * to engines. */
static rd_kafka_t *group_consumer_new(med_service *s, const char *group, char *errstr,
                                      size_t errstr_size)
{
    /* How fast the group notices a dead instance (it then waits for its transaction to
     * time out too: mediator.transaction_timeout_ms). */
    char st[32], hb[32];
    snprintf(st, sizeof st, "%d", s->group_session_timeout_ms);
    snprintf(hb, sizeof hb, "%d", s->group_session_timeout_ms / 5);
    /* Fetches of at least 256 KiB or 20 ms: under load few large responses (the
     * broker's cost is per request as much as per byte), at low load 20 ms more. */
    const char *const props[] = { "enable.auto.commit", "false",
                                  "enable.auto.offset.store", "false",
                                  "isolation.level", "read_committed",
                                  "auto.offset.reset", "earliest",
                                  "fetch.min.bytes", "262144",
                                  "fetch.wait.max.ms", "20",
                                  "session.timeout.ms", st,
                                  "heartbeat.interval.ms", hb, NULL };
    return li_kafka_consumer_new_cb(s->cfg, group, props, rebalance_cb, s, errstr,
                                    errstr_size);
}

static int32_t partition_count_once(rd_kafka_t *rk, const char *topic)
{
    const rd_kafka_metadata_t *md;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    int32_t n = -1;
    if (t && rd_kafka_metadata(rk, 0, t, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    if (t)
        rd_kafka_topic_destroy(t);
    return n;
}

/* A topic just created may take a moment to show in the metadata. */
static int32_t partition_count(rd_kafka_t *rk, const char *topic)
{
    int32_t n = -1;
    for (int i = 0; i < 50 && n <= 0; i++) {
        if (i)
            usleep(200000);
        n = partition_count_once(rk, topic);
    }
    return n;
}

/* ---- limf.admin ---- */

static void apply_admin(void *ctx, const rd_kafka_message_t *m)
{
    med_service *s = ctx;
    if (!m->key)
        return;
    if (med_tasks_apply(s->tasks, m->key, m->key_len, m->payload, m->len) != LI_OK)
        li_log_warn("mediator: limf.admin offset %" PRId64 ": undecodable record ignored",
                    m->offset);
}

static void follow_admin(med_service *s)
{
    rd_kafka_message_t *m;
    while ((m = rd_kafka_consumer_poll(s->admin_reader, 0))) {
        if (!m->err)
            apply_admin(s, m);
        rd_kafka_message_destroy(m);
    }
}

/* ---- output: what one processed batch puts into its transaction ---- */

/* One record to produce. One allocation holds the value, then the key and the topic
 * name, so that librdkafka's RD_KAFKA_MSG_F_FREE releases all of it with the value. */
typedef struct out_rec {
    uint8_t *block;
    size_t len;                  /* of the value at block */
    const char *key, *topic;     /* inside block */
    int32_t partition;           /* RD_KAFKA_PARTITION_UA: by key (HI records) */
    int tombstone;               /* a state deletion: produced with a null value */
} out_rec;

/* Appends a record whose value (len bytes) the caller writes at the returned pointer;
 * NULL when out of memory, which fails the transaction. */
static uint8_t *out_push(txn_out *o, const char *topic, int32_t partition, const char *key,
                         size_t len)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 1024;
        out_rec *r = realloc(o->recs, cap * sizeof *r);
        if (!r) {
            o->failed = 1;
            return NULL;
        }
        o->recs = r;
        o->cap = cap;
    }
    size_t kl = strlen(key) + 1, tl = strlen(topic) + 1;
    uint8_t *b = malloc(len + kl + tl);
    if (!b) {
        o->failed = 1;
        return NULL;
    }
    memcpy(b + len, key, kl);
    memcpy(b + len + kl, topic, tl);
    o->recs[o->n++] = (out_rec){ b, len, (char *)b + len, (char *)b + len + kl, partition, 0 };
    return b;
}

static void out_clear(txn_out *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->recs[i].block);
    o->n = 0;
    o->ready = o->failed = 0;
    for (int i = 0; i < MAX_PARTITIONS; i++)
        o->next_offset[i] = -1;
}

/* A record goes to the topic named by its destination's topic_suffix: a destination that
 * limf.admin does not hold (removed, or recorded without a suffix) gets nothing, so that
 * nothing waits under a name a later destination could be given (docs/SECURITY.md,
 * "Agencies"). */
static void on_hi(void *ctx, const char *dest, const Limf__HiRecord *r)
{
    med_service *s = ctx;
    char topic[400];
    if (li_kafka_hi_topic(s->cfg, dest, med_tasks_topic_suffix(s->tasks, dest), topic,
                          sizeof topic) != LI_OK) {
        if (!s->unroutable++)
            li_log_error("mediator: destination %s unknown or without topic_suffix: its "
                         "records are dropped", dest);
        return;
    }
    char clear[400], key[MED_KEY_HASH_LEN];
    snprintf(clear, sizeof clear, "%s/%" PRIu64, r->liid, r->cin);
    med_keys_hash(&s->keys, clear, key);   /* the LIID is not a Kafka key (med_keys.h) */
    uint8_t *v = out_push(&s->out, topic, RD_KAFKA_PARTITION_UA, key,
                          limf__hi_record__get_packed_size(r));
    if (v)
        limf__hi_record__pack(r, v);
}

/* The Kafka key is the keyed hash of the engine's key, which names Call-IDs (med_keys.h);
 * the clear key travels in the value as State.key (a field appended to the packed
 * message: protobuf merges concatenated encodings), so that a restore rebuilds the
 * engine under it. A tombstone has no value: its hash is the key it deletes. */
static void on_state(void *ctx, const char *key, const uint8_t *value, size_t len)
{
    const state_ctx *c = ctx;
    txn_out *o = &c->s->out;
    char hashed[MED_KEY_HASH_LEN];
    med_keys_hash(&c->s->keys, key, hashed);
    size_t kl = strlen(key), extra = 0;
    uint8_t field[1 + 10];
    if (value) {
        field[extra++] = 6 << 3 | 2;   /* State.key: field 6, length-delimited */
        for (size_t v = kl; ; v >>= 7) {
            field[extra++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
            if (v <= 0x7f)
                break;
        }
    }
    /* The changelog is co-partitioned by partition number with limf.xpdu (docs/PRINCIPLES.md 3). */
    uint8_t *v = out_push(o, c->s->t_state, c->partition, hashed,
                          value ? len + extra + kl : 0);
    if (!v)
        return;
    if (value) {
        memcpy(v, value, len);
        memcpy(v + len, field, extra);
        memcpy(v + len + extra, key, kl);
    } else {
        o->recs[o->n - 1].tombstone = 1;
    }
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    if (m->err) {
        med_service *s = opaque;
        li_log_warn("mediator: delivery failed: %s", rd_kafka_err2str(m->err));
        s->produce_failed = 1;
    }
}

/* Creates a destination's topic the first time records go to it. */
static int hi_topic_ready(med_service *s, const char *topic)
{
    if (med_map_get(&s->hi_topics, topic))
        return 1;
    char err[256];
    if (li_kafka_ensure_topic(s->producer, topic, s->hi_partitions, 0, 10000, err,
                              sizeof err) != LI_OK) {
        li_log_error("mediator: %s", err);
        return 0;
    }
    return med_map_put(&s->hi_topics, topic, s) == LI_OK;
}

/* Hands every record of s->out to the producer (inside the open transaction); their
 * memory goes with them. 0, or -1 when one could not be produced. */
static int produce_out(med_service *s)
{
    txn_out *o = &s->out;
    int failed = o->failed;
    size_t i;
    for (i = 0; i < o->n && !failed; i++) {
        out_rec *r = &o->recs[i];
        if (r->partition == RD_KAFKA_PARTITION_UA && !hi_topic_ready(s, r->topic)) {
            failed = 1;
            break;
        }
        /* A tombstone is a null value (not an empty one); its block holds only the key. */
        void *value = r->tombstone ? NULL : r->block;
        size_t len = r->tombstone ? 0 : r->len;
        int flags = r->tombstone ? RD_KAFKA_MSG_F_COPY : RD_KAFKA_MSG_F_FREE;
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(s->producer, RD_KAFKA_V_TOPIC(r->topic),
                                      RD_KAFKA_V_PARTITION(r->partition),
                                      RD_KAFKA_V_KEY(r->key, strlen(r->key)),
                                      RD_KAFKA_V_VALUE(value, len), RD_KAFKA_V_MSGFLAGS(flags),
                                      RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(s->producer, 10);
        if (e) {
            li_log_error("mediator: produce to %s: %s", r->topic, rd_kafka_err2str(e));
            failed = 1;
            break;
        }
        if (r->tombstone)
            free(r->block);
        else if (r->partition == RD_KAFKA_PARTITION_UA)
            s->records_out++;
        r->block = NULL;
    }
    out_clear(o);                /* frees what was not handed over */
    return failed ? -1 : 0;
}

/* ---- engines and their state ---- */

static void add_counters(med_stats *sum, const med_stats *st)
{
    sum->pdus += st->pdus;
    sum->iri += st->iri;
    sum->cc += st->cc;
    sum->dropped_no_task += st->dropped_no_task;
    sum->dropped_untasked_poi += st->dropped_untasked_poi;
    sum->dropped_window += st->dropped_window;
    sum->dropped_clock += st->dropped_clock;
    sum->retransmissions += st->retransmissions;
    sum->resent_copies += st->resent_copies;
    sum->dropped_iri_only += st->dropped_iri_only;
    sum->malformed += st->malformed;
    sum->orphans_expired += st->orphans_expired;
}

static void engine_drop(med_service *s, int32_t p)
{
    if (s->engines[p]) {
        med_stats st;
        med_engine_stats(s->engines[p], &st);
        add_counters(&s->retired, &st);
    }
    med_engine_free(s->engines[p]);
    s->engines[p] = NULL;
    if (p == 0) {
        med_notify_free(s->notify);
        s->notify = NULL;
    }
}

/* Rebuilds the engines of these partitions from limf.mediator.state, all partitions
 * read at once. */
static li_err engines_restore(med_service *s, const int32_t *parts, int n)
{
    for (int i = 0; i < n; i++) {
        engine_drop(s, parts[i]);
        if (!(s->engines[parts[i]] = med_engine_new(&s->mcfg, s->tasks, on_hi, s)))
            return LI_ERR_NOMEM;
        if (parts[i] == 0 && !(s->notify = med_notify_new(s->tasks, on_hi, s)))
            return LI_ERR_NOMEM;
    }
    uint64_t t0 = li_mono_ns();
    size_t records = 0;
    li_err err = med_changelog_restore(s->state_reader, s->t_state, parts, n, s->engines,
                                       s->partitions, s->notify, &records);
    if (err != LI_OK) {
        for (int i = 0; i < n; i++)
            engine_drop(s, parts[i]);
        li_log_error("mediator: state restore failed");
        return err;
    }
    uint64_t sessions = 0;
    for (int i = 0; i < n; i++) {
        med_stats st;
        med_engine_stats(s->engines[parts[i]], &st);
        sessions += st.sessions;
    }
    li_log_info("mediator: %d partitions: restored %zu state records, %" PRIu64
                " sessions in %" PRIu64 " ms", n, records, sessions,
                (li_mono_ns() - t0) / 1000000);
    return LI_OK;
}

/* The committed input offsets of parts, once stable: with read_committed the group
 * coordinator holds them back while a transaction that carries offsets for them is
 * undecided (KIP-447), so afterwards that transaction's state records are decided too
 * and the changelog read next matches the offsets. */
static li_err committed_offsets(med_service *s, rd_kafka_topic_partition_list_t *parts)
{
    /* A coordinator that is loading (after a broker restart) or an offset that is not
     * yet stable answers per partition with an error and no offset. Only "no error and
     * no offset" means nothing was ever committed; starting an erring partition from
     * the beginning would re-emit communications already delivered, so wait instead. */
    uint64_t deadline = li_mono_ns() + 120ull * 1000000000u;
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_committed(s->consumer, parts, 30000);
        int unstable = 0;
        for (int i = 0; !e && i < parts->cnt; i++)
            if (parts->elems[i].err)
                unstable = 1;
        if (!e && !unstable)
            break;
        if (li_mono_ns() > deadline) {
            li_log_error("mediator: committed offsets: %s",
                         rd_kafka_err2str(e ? e : RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT));
            return LI_ERR_KAFKA;
        }
        for (int i = 0; i < parts->cnt; i++) {
            parts->elems[i].err = RD_KAFKA_RESP_ERR_NO_ERROR;
            parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
        }
        usleep(200 * 1000);
    }
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].offset == RD_KAFKA_OFFSET_INVALID)
            parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    return LI_OK;
}

/* Offsets first, then the engines rebuilt from the changelog. */
static li_err take_over(med_service *s, rd_kafka_topic_partition_list_t *parts)
{
    li_err err = committed_offsets(s, parts);
    int32_t ps[MAX_PARTITIONS];
    int n = 0;
    for (int i = 0; i < parts->cnt && err == LI_OK; i++) {
        ps[n] = parts->elems[i].partition;
        if (ps[n] < 0 || ps[n] >= s->partitions)
            err = LI_ERR_INVAL;
        n++;
    }
    return err == LI_OK && n ? engines_restore(s, ps, n) : err;
}

/* After an aborted transaction every engine is ahead of what Kafka holds: rebuild them
 * from the changelog and rewind the input to the committed offsets. */
static li_err rewind_all(med_service *s)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(s->consumer, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return LI_ERR_KAFKA;
    li_err err = a->cnt ? take_over(s, a) : LI_OK;
    if (err == LI_OK && a->cnt) {
        rd_kafka_error_t *e = rd_kafka_seek_partitions(s->consumer, a, 30000);
        if (e) {
            li_log_error("mediator: rewind: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            err = LI_ERR_KAFKA;
        }
    }
    rd_kafka_topic_partition_list_destroy(a);
    if (err != LI_OK)
        s->fatal = 1;
    return err;
}

/* ---- the transactions ---- */

static void batch_clear(med_service *s)
{
    for (size_t i = 0; i < s->n_batch; i++)
        rd_kafka_message_destroy(s->batch[i]);
    s->n_batch = 0;
    s->batch_bytes = 0;
}

static int txn_check(med_service *s, rd_kafka_error_t *e, const char *what)
{
    if (!e)
        return 0;
    li_log_warn("mediator: %s: %s", what, rd_kafka_error_string(e));
    if (rd_kafka_error_is_fatal(e))
        s->fatal = 1;
    rd_kafka_error_destroy(e);
    return -1;
}

/* Runs the engines over the batch, and the timers when tick, into s->out with the
 * input offsets its transaction will commit. */
static void process_batch(med_service *s, int tick)
{
    txn_out *o = &s->out;
    uint64_t now = li_now_ns();
    for (size_t i = 0; i < s->n_batch; i++) {
        rd_kafka_message_t *m = s->batch[i];
        med_engine *e = m->partition < s->partitions ? s->engines[m->partition] : NULL;
        if (!e)
            continue;            /* revoked meanwhile: the new owner reprocesses it */
        Limf__XPdu *pdu = limf__xpdu__unpack(NULL, m->len, m->payload);
        if (pdu) {
            if (med_engine_process(e, pdu, now) != LI_OK)
                o->failed = 1;
            limf__xpdu__free_unpacked(pdu, NULL);
        } else {
            li_log_warn("mediator: limf.xpdu %" PRId32 "/%" PRId64 ": undecodable, skipped",
                        m->partition, m->offset);
        }
        o->next_offset[m->partition] = m->offset + 1;
        s->pdus_in++;
    }
    batch_clear(s);
    for (int32_t p = 0; p < s->partitions; p++) {
        if (!s->engines[p])
            continue;
        if (tick && med_engine_tick(s->engines[p], now) != LI_OK)
            o->failed = 1;
        state_ctx c = { s, p };
        if (med_engine_state_flush(s->engines[p], on_state, &c) != LI_OK)
            o->failed = 1;
    }
    if (s->notify) {
        state_ctx c = { s, 0 };
        if ((tick && med_notify_tick(s->notify, now) != LI_OK) ||
            med_notify_flush(s->notify, on_state, &c) != LI_OK)
            o->failed = 1;
    }
    o->ready = 1;
}

/* Committer thread: sends the offsets and commits, or aborts. LI_ERR when aborted (the
 * main thread rewinds), LI_ERR_KAFKA when fatal. */
static li_err finish_txn(med_service *s, rd_kafka_topic_partition_list_t *offs,
                         rd_kafka_consumer_group_metadata_t *group)
{
    int failed = s->produce_failed;
    if (!failed && offs->cnt)
        failed = txn_check(s, rd_kafka_send_offsets_to_transaction(s->producer, offs, group,
                                                                   -1), "send offsets");
    for (int attempt = 0; !failed; attempt++) {
        rd_kafka_error_t *e = rd_kafka_commit_transaction(s->producer, -1);
        if (!e)
            break;
        int retry = rd_kafka_error_is_retriable(e) && attempt < 10;
        failed = txn_check(s, e, "commit");
        if (!retry)
            break;
        failed = 0;
    }
    if (s->fatal)
        return LI_ERR_KAFKA;
    if (failed || s->produce_failed)
        return txn_check(s, rd_kafka_abort_transaction(s->producer, -1), "abort")
             ? LI_ERR_KAFKA : LI_ERR;
    return LI_OK;
}

static void *committer_main(void *arg)
{
    med_service *s = arg;
    committer *c = &s->com;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->busy && !c->stop)
            pthread_cond_wait(&c->cv, &c->mu);
        if (!c->busy)
            break;
        pthread_mutex_unlock(&c->mu);
        li_err r = finish_txn(s, c->offsets, c->group);
        pthread_mutex_lock(&c->mu);
        rd_kafka_topic_partition_list_destroy(c->offsets);
        rd_kafka_consumer_group_metadata_destroy(c->group);
        c->result = r;
        c->busy = 0;
        c->decided = 1;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Waits up to wait_ms (-1: until decided) for the transaction handed to the committer.
 * LI_AGAIN while it is undecided; otherwise its outcome (LI_OK also when there was
 * none). */
static li_err txn_wait(med_service *s, int wait_ms)
{
    committer *c = &s->com;
    pthread_mutex_lock(&c->mu);
    if (wait_ms < 0) {
        while (c->busy)
            pthread_cond_wait(&c->cv, &c->mu);
    } else if (wait_ms > 0 && c->busy) {
        struct timespec until = li_deadline(CLOCK_MONOTONIC, wait_ms);
        while (c->busy && pthread_cond_timedwait(&c->cv, &c->mu, &until) == 0)
            ;
    }
    li_err r = c->busy ? LI_AGAIN : c->decided ? c->result : LI_OK;
    if (!c->busy && c->decided) {
        c->decided = 0;
        if (r == LI_OK)
            s->txns++;
        else if (r == LI_ERR)
            s->aborts++;
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

/* Begins the transaction of s->out, produces its records and hands the rest to the
 * committer. The committer must be idle. LI_ERR: aborted here, the caller rewinds. */
static li_err start_txn(med_service *s)
{
    txn_out *o = &s->out;
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(8);
    for (int32_t p = 0; p < s->partitions; p++)
        if (s->engines[p] && o->next_offset[p] >= 0)
            rd_kafka_topic_partition_list_add(offs, s->t_xpdu, p)->offset = o->next_offset[p];
    if (o->n == 0 && offs->cnt == 0 && !o->failed) {
        rd_kafka_topic_partition_list_destroy(offs);   /* a tick that changed nothing */
        out_clear(o);
        return LI_OK;
    }
    s->produce_failed = 0;
    if (o->failed || txn_check(s, rd_kafka_begin_transaction(s->producer), "begin transaction")) {
        rd_kafka_topic_partition_list_destroy(offs);
        out_clear(o);
        return s->fatal ? LI_ERR_KAFKA : LI_ERR;
    }
    if (produce_out(s) != 0) {
        rd_kafka_topic_partition_list_destroy(offs);
        s->aborts++;
        return txn_check(s, rd_kafka_abort_transaction(s->producer, -1), "abort")
             ? LI_ERR_KAFKA : LI_ERR;
    }
    committer *c = &s->com;
    pthread_mutex_lock(&c->mu);
    c->offsets = offs;
    /* The group generation of now: a rebalance since fences this transaction (KIP-447). */
    c->group = rd_kafka_consumer_group_metadata(s->consumer);
    c->busy = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return LI_OK;
}

/* Commits everything consumed so far: the transaction in flight, the processed batch
 * and the batch not yet processed. On failure drops what was not committed: it is
 * read again from the committed offsets. */
static li_err drain(med_service *s)
{
    for (;;) {
        li_err r = txn_wait(s, -1);
        if (r == LI_OK && !s->out.ready && s->n_batch)
            process_batch(s, 0);
        if (r == LI_OK && !s->out.ready)
            return LI_OK;
        if (r == LI_OK)
            r = start_txn(s);
        if (r != LI_OK) {
            out_clear(&s->out);
            batch_clear(s);
            return r;
        }
    }
}

/* After an aborted transaction: drop what was processed past it and rewind. */
static li_err rewind_after_abort(med_service *s)
{
    out_clear(&s->out);
    batch_clear(s);
    return rewind_all(s);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    med_service *s = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        /* Without its state a partition must not be processed: on failure stop, so
         * that another instance takes it over. */
        if (take_over(s, parts) != LI_OK)
            s->fatal = 1;
        li_log_info("mediator: assigned %d partitions", parts->cnt);
        rd_kafka_assign(rk, parts);
    } else {
        /* Commit what was read from these partitions while they are still ours; if
         * that fails the next owner reprocesses it from the committed offsets. */
        drain(s);
        for (int i = 0; i < parts->cnt; i++)
            if (parts->elems[i].partition >= 0 && parts->elems[i].partition < s->partitions)
                engine_drop(s, parts->elems[i].partition);
        li_log_info("mediator: revoked %d partitions", parts->cnt);
        rd_kafka_assign(rk, NULL);
    }
}

/* ---- life cycle ---- */

static li_err get_uint(const li_config *cfg, const char *key, int64_t def, int64_t max,
                       int64_t *out, char *errstr, size_t n)
{
    return li_config_get_int(cfg, key, def, 0, max, out, errstr, n);
}

static li_err read_config(med_service *s, char *errstr, size_t n)
{
    int64_t v;
    med_config_defaults(&s->mcfg);
#define GET(key, def, max) \
    if (get_uint(s->cfg, key, def, max, &v, errstr, n) != LI_OK) return LI_ERR_INVAL
    GET("mediator.session_timeout_s", 1800, 7 * 86400);
    s->mcfg.session_timeout_ns = (uint64_t)v * 1000000000ULL;
    GET("mediator.linger_s", 32, 3600);
    s->mcfg.linger_ns = (uint64_t)v * 1000000000ULL;
    GET("mediator.x3_wait_ms", 5000, 3600000);
    s->mcfg.x3_wait_ns = (uint64_t)v * 1000000ULL;
    GET("mediator.window_skew_ms", 60000, 86400000);
    s->mcfg.window_skew_ns = (uint64_t)v * 1000000ULL;
    GET("mediator.x3_wait_bytes", 1 << 20, (int64_t)1 << 32);
    s->mcfg.x3_wait_bytes = (size_t)v;
    GET("mediator.x3_wait_total_bytes", 64 << 20, (int64_t)1 << 40);
    s->mcfg.x3_wait_total_bytes = (size_t)v;
    GET("mediator.batch_max", 10000, 100000);
    s->max_batch = v ? (size_t)v : 1;
    GET("mediator.batch_bytes", 16 << 20, (int64_t)1 << 32);
    s->max_batch_bytes = v ? (size_t)v : 1;
    GET("mediator.batch_ms", 50, 60000);
    s->batch_ns = (uint64_t)v * 1000000ULL;
    GET("mediator.tick_ms", 1000, 60000);
    s->tick_ns = (uint64_t)(v ? v : 1) * 1000000ULL;
    GET("mediator.stats_s", 30, 86400);
    s->stats_ns = (uint64_t)v * 1000000000ULL;
    GET("mediator.group_session_timeout_ms", 10000, 3600000);
    s->group_session_timeout_ms = v < 1000 ? 1000 : (int)v;
    GET("mediator.hi_partitions", 4, 1024);
    s->hi_partitions = v ? (int)v : 1;
#undef GET
    return LI_OK;
}

med_service *med_service_new(const li_config *cfg, char *errstr, size_t errstr_size)
{
    med_service *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    s->cfg = cfg;
    med_map_init(&s->hi_topics);
    out_clear(&s->out);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->com.mu, NULL);
    pthread_cond_init(&s->com.cv, &ca);
    pthread_condattr_destroy(&ca);
    if (read_config(s, errstr, errstr_size) != LI_OK ||
        med_keys_load(cfg, &s->keys, errstr, errstr_size) != LI_OK)
        goto fail;
    s->batch = calloc(s->max_batch, sizeof *s->batch);
    s->tasks = med_tasks_new();
    if (!s->batch || !s->tasks) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    li_kafka_topic(cfg, "limf.xpdu", s->t_xpdu, sizeof s->t_xpdu);
    li_kafka_topic(cfg, "limf.mediator.state", s->t_state, sizeof s->t_state);
    li_kafka_topic(cfg, "limf.admin", s->t_admin, sizeof s->t_admin);

    /* One transactional id per instance: a restarted instance fences its predecessor;
     * zombies of a rebalance are fenced by the group generation in
     * send_offsets_to_transaction (KIP-447). */
    char host[128], tid[400];
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    char def_id[160];
    snprintf(def_id, sizeof def_id, "%s-%d", host, (int)getpid());
    const char *group_id = li_config_get(cfg, "mediator.group_id", "limf-mediator");
    snprintf(tid, sizeof tid, "%s-%s", group_id,
             li_config_get(cfg, "mediator.instance_id", def_id));
    const char *ttimeout = li_config_get(cfg, "mediator.transaction_timeout_ms", "10000");
    const char *pprops[] = { "transactional.id", tid, "transaction.timeout.ms", ttimeout,
                             "enable.idempotence", "true", "acks", "all", "linger.ms", "5",
                             NULL };
    s->producer = li_kafka_producer_new(cfg, pprops, on_delivery, s, errstr, errstr_size);
    if (!s->producer)
        goto fail;

    static const char *const rprops[] = { "enable.partition.eof", "true",
                                          "enable.auto.commit", "false",
                                          "fetch.wait.max.ms", "100",
                                          "isolation.level", "read_committed", NULL };
    /* librdkafka's assign() needs a group id; these readers never join or commit. */
    char rgroup[440];
    snprintf(rgroup, sizeof rgroup, "%s-reader", tid);
    s->admin_reader = li_kafka_consumer_new(cfg, rgroup, rprops, errstr, errstr_size);
    s->state_reader = s->admin_reader ? li_kafka_consumer_new(cfg, rgroup, rprops, errstr,
                                                              errstr_size) : NULL;
    if (!s->state_reader)
        goto fail;

    int64_t nparts;
    if (li_config_get_int(cfg, "mediator.partitions", 6, 1, MAX_PARTITIONS, &nparts, errstr,
                          errstr_size) != LI_OK)
        goto fail;
    if (li_kafka_ensure_topic(s->producer, s->t_xpdu, (int)nparts, 0, 15000, errstr,
                              errstr_size) != LI_OK ||
        li_kafka_ensure_topic(s->producer, s->t_admin, 1, 1, 15000, errstr, errstr_size) !=
            LI_OK)
        goto fail;
    s->partitions = partition_count(s->producer, s->t_xpdu);
    if (s->partitions <= 0 || s->partitions > MAX_PARTITIONS) {
        snprintf(errstr, errstr_size, "%s: no usable partition count", s->t_xpdu);
        goto fail;
    }
    if (li_kafka_ensure_topic(s->producer, s->t_state, s->partitions, 1, 15000, errstr,
                              errstr_size) != LI_OK)
        goto fail;
    if (partition_count(s->producer, s->t_state) != s->partitions) {
        snprintf(errstr, errstr_size, "%s must have the %" PRId32 " partitions of %s",
                 s->t_state, s->partitions, s->t_xpdu);
        goto fail;
    }

    /* The task table before the first PDU (docs/PRINCIPLES.md 3: materialize, then follow). */
    int32_t nadmin = partition_count(s->producer, s->t_admin);
    int32_t aparts[MAX_PARTITIONS];
    for (int32_t i = 0; i < nadmin && i < MAX_PARTITIONS; i++)
        aparts[i] = i;
    if (nadmin <= 0 || med_read_to_end(s->admin_reader, s->t_admin, aparts,
                                       nadmin < MAX_PARTITIONS ? nadmin : MAX_PARTITIONS,
                                       apply_admin, s, 60000) != LI_OK) {
        snprintf(errstr, errstr_size, "%s: could not be read to its end", s->t_admin);
        goto fail;
    }
    li_log_info("mediator: %zu warrants loaded; %" PRId32 " input partitions",
                med_tasks_count(s->tasks), s->partitions);

    rd_kafka_error_t *e = rd_kafka_init_transactions(s->producer, 60000);
    if (e) {
        snprintf(errstr, errstr_size, "init transactions: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        goto fail;
    }
    if (pthread_create(&s->com.thread, NULL, committer_main, s) != 0) {
        snprintf(errstr, errstr_size, "cannot start the committer thread");
        goto fail;
    }
    s->com.started = 1;
    s->consumer = group_consumer_new(s, group_id, errstr, errstr_size);
    if (!s->consumer)
        goto fail;
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, s->t_xpdu, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t se = rd_kafka_subscribe(s->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (se) {
        snprintf(errstr, errstr_size, "subscribe: %s", rd_kafka_err2str(se));
        goto fail;
    }
    const char *listen = li_config_get(cfg, "mediator.metrics.listen", NULL);
    if (listen && *listen) {
        if (!(s->metrics = med_metrics_new(listen, errstr, errstr_size)))
            goto fail;
        li_log_info("mediator: metrics on port %u", med_metrics_port(s->metrics));
    }
    s->last_tick_ns = s->last_stats_ns = li_mono_ns();
    return s;
fail:
    med_service_free(s);
    return NULL;
}

/* Totals over the live engines and the dropped ones: to /metrics, and to the log every
 * stats_s. */
static void publish_stats(med_service *s, uint64_t mono)
{
    med_stats sum = s->retired;
    uint64_t sessions = 0, pending = 0, parts = 0;
    for (int32_t p = 0; p < s->partitions; p++) {
        if (!s->engines[p])
            continue;
        med_stats st;
        med_engine_stats(s->engines[p], &st);
        add_counters(&sum, &st);
        sessions += st.sessions;
        pending += st.pending_bytes;
        parts++;
    }
    if (s->metrics) {
        med_metrics_values v = { s->pdus_in, s->records_out, s->txns, s->aborts, s->unroutable,
                                 sum.iri, sum.cc,
                                 sum.dropped_no_task, sum.dropped_untasked_poi,
                                 sum.dropped_window, sum.dropped_clock, sum.dropped_iri_only,
                                 sum.retransmissions,
                                 sum.resent_copies, sum.malformed, sum.orphans_expired,
                                 sessions, pending, parts, med_tasks_count(s->tasks) };
        med_metrics_set(s->metrics, &v);
    }
    if (s->stats_ns && mono - s->last_stats_ns >= s->stats_ns) {
        s->last_stats_ns = mono;
        li_log_info("mediator: partitions %" PRIu64 " pdus %" PRIu64 " records %" PRIu64
                    " transactions %" PRIu64 " aborts %" PRIu64 " sessions %" PRIu64
                    " dropped (no task %" PRIu64 ", untasked POI %" PRIu64 ", window %" PRIu64
                    ") malformed %" PRIu64,
                    parts, s->pdus_in, s->records_out, s->txns, s->aborts, sessions,
                    sum.dropped_no_task, sum.dropped_untasked_poi, sum.dropped_window,
                    sum.malformed);
    }
}

static int batch_full(const med_service *s)
{
    return s->n_batch == s->max_batch || s->batch_bytes >= s->max_batch_bytes;
}

li_err med_service_poll(med_service *s, int timeout_ms)
{
    uint64_t end = li_mono_ns() + (uint64_t)timeout_ms * 1000000ULL;
    do {
        follow_admin(s);
        rd_kafka_message_t *m = NULL;
        if (!batch_full(s))
            m = rd_kafka_consumer_poll(s->consumer, s->out.ready ? 0 : 20);
        if (s->fatal) {
            if (m)
                rd_kafka_message_destroy(m);
            return LI_ERR_KAFKA;
        }
        if (m && m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                li_log_warn("mediator: consume: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
        } else if (m) {
            if (s->n_batch == 0)
                s->batch_started_ns = li_mono_ns();
            s->batch[s->n_batch++] = m;
            s->batch_bytes += m->len;
        }
        int full = batch_full(s);
        uint64_t mono = li_mono_ns();
        if (mono - s->last_tick_ns >= s->tick_ns) {
            s->last_tick_ns = mono;
            s->tick_due = 1;
            publish_stats(s, mono);
        }
        if (!s->out.ready && (s->tick_due || full ||
                              (s->n_batch && mono - s->batch_started_ns >= s->batch_ns))) {
            process_batch(s, s->tick_due);
            s->tick_due = 0;
        }
        if (s->out.ready) {
            /* Block only when there is nothing else to do meanwhile. */
            li_err r = txn_wait(s, full ? 20 : m ? 0 : 10);
            if (r == LI_OK)
                r = start_txn(s);
            if (r == LI_ERR_KAFKA || s->fatal)
                return LI_ERR_KAFKA;
            if (r == LI_ERR && rewind_after_abort(s) != LI_OK)
                return LI_ERR_KAFKA;
        }
    } while (li_mono_ns() < end);
    return LI_OK;
}

void med_service_free(med_service *s)
{
    if (!s)
        return;
    if (s->consumer) {
        if (!s->fatal && drain(s) != LI_OK)
            li_log_warn("mediator: final commit failed; the next owner reprocesses");
        rd_kafka_consumer_close(s->consumer);   /* revokes: the callback commits */
        rd_kafka_destroy(s->consumer);
    }
    if (s->com.started) {
        txn_wait(s, -1);
        pthread_mutex_lock(&s->com.mu);
        s->com.stop = 1;
        pthread_cond_broadcast(&s->com.cv);
        pthread_mutex_unlock(&s->com.mu);
        pthread_join(s->com.thread, NULL);
    }
    pthread_mutex_destroy(&s->com.mu);
    pthread_cond_destroy(&s->com.cv);
    batch_clear(s);
    out_clear(&s->out);
    free(s->out.recs);
    for (int32_t p = 0; p < MAX_PARTITIONS; p++)
        med_engine_free(s->engines[p]);
    med_notify_free(s->notify);
    li_kafka_destroy(s->admin_reader, 0);
    li_kafka_destroy(s->state_reader, 0);
    li_kafka_destroy(s->producer, 5000);
    med_metrics_free(s->metrics);
    med_tasks_free(s->tasks);
    med_map_free(&s->hi_topics);
    free(s->batch);
    free(s);
}

uint16_t med_service_metrics_port(const med_service *s)
{
    return s->metrics ? med_metrics_port(s->metrics) : 0;
}
