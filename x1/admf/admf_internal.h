/* The ADMF service's private parts, shared by its files (admf.h is the public face):
 *   admf.c          lifecycle and mutations of the store of record
 *   admf_kafka.c    producing with delivery acknowledgements, reading a topic to its end
 *   admf_audit.c    the keyed audit chain: appending, checkpoints, query, verification,
 *                   start-up check and read-only mode, aggregated refusals
 *   admf_read.c     reads and lists of the store
 *   admf_metrics.c  the Prometheus text
 * Lock order: write_mu, then audit_mu, then state_mu. Each lock is taken and released in
 * one function. */
#ifndef ADMF_INTERNAL_H
#define ADMF_INTERNAL_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>

#include "admf.h"
#include "audit.pb-c.h"
#include "audit_chain.h"

/* One Kafka delivery the writer waits for. */
typedef struct admf_ack {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    rd_kafka_resp_err_t err;
} admf_ack;

/* Refused authentications from one source within the current interval. */
typedef struct admf_refusals {
    char source[64];
    char actor[128];           /* what was presented: "token:unknown", "anonymous", ... */
    char sample[128];          /* the first request refused */
    uint64_t count;
    int64_t first_ms, last_ms;
} admf_refusals;
#define ADMF_REFUSAL_SOURCES 64

struct admf_service {
    const li_config *cfg;
    rd_kafka_t *producer;
    pthread_t poller, housekeeper;
    atomic_int stop;
    atomic_int failed;         /* a delivery failed: memory may be ahead of Kafka */
    char admin_topic[256];
    char audit_topic[256];
    char pois_topic[256];         /* limf.pois: the ingest's registry (admf_pois.c) */

    /* write_mu serializes mutations from validation to the in-memory apply, so that the
     * order of the records in limf.admin is the order of the decisions. */
    pthread_mutex_t write_mu;
    /* state_mu guards the store and the in-memory audit trail for readers. */
    pthread_mutex_t state_mu;
    /* audit_mu orders the audit chain: index, prev_hash and produce order agree; it also
     * guards the checkpoint and the read-only state. */
    pthread_mutex_t audit_mu;
    admf_store *store;

    /* The audit trail. The newest events, a ring of at most max_audit: event i is
     * audit[i % max_audit] while i >= n_audit - held_audit; older ones are in limf.audit
     * only. n_audit is the next event's index. */
    Limf__AuditEvent **audit;
    size_t n_audit, cap_audit, held_audit, max_audit;
    uint8_t audit_head[32];
    audit_chain_key keys[AUDIT_CHAIN_MAX_KEYS]; /* keys[0] MACs new events */
    size_t n_keys;
    audit_checkpoint checkpoint; /* the latest, valid when has_checkpoint */
    int has_checkpoint;
    uint64_t checkpoint_every, since_checkpoint;
    int64_t checkpoint_ms, last_checkpoint_ms;
    /* Read-only: the chain was found broken at start; mutations are refused until an
     * admin acknowledges (admf_audit_acknowledge). */
    atomic_int read_only;
    char read_only_reason[200];
    uint64_t read_only_index;  /* the first broken event */
    atomic_int retention_ok;   /* limf.audit keeps its events for ever */

    /* Refused authentications, aggregated per source and interval (refusal_mu). */
    pthread_mutex_t refusal_mu;
    admf_refusals refusals[ADMF_REFUSAL_SOURCES];
    size_t n_refusals;
    uint64_t refusals_overflow; /* refusals from sources beyond the table this interval */
    int64_t refusal_interval_ms;

    /* The housekeeper's sleep (checkpoints by time, refusal flushes). */
    pthread_mutex_t hk_mu;
    pthread_cond_t hk_cv;

    void (*on_change)(void *ctx, x1_kind kind, const ProtobufCMessage *msg);
    void *on_change_ctx;

    atomic_uint_fast64_t writes_ok, writes_refused, writes_failed, audit_events;
    atomic_uint_fast64_t auth_refused;
    atomic_uint_fast64_t write_ns_sum;
    atomic_uint_fast64_t generation; /* bumps with every change applied */
};

int64_t admf_now_ms(void);

/* ---- admf_kafka.c ---- */
void admf_ack_init(admf_ack *ack);
rd_kafka_resp_err_t admf_ack_wait(admf_ack *ack);
/* The producer's delivery callback: signals the record's ack, or for a record sent
 * without one (ack NULL) fails the store when Kafka refused it. */
void admf_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
void *admf_poll_main(void *arg);
/* Enqueues one record; value NULL is a tombstone. ack NULL: nobody waits (a failure
 * fails the store). On LI_OK a non-NULL ack will be signalled. */
li_err admf_produce(admf_service *a, const char *topic, const char *key, const void *value,
                    size_t len, admf_ack *ack);
/* A delivery failed after memory was updated: writes stop until a restart. */
void admf_fail_store(admf_service *a, const char *what, rd_kafka_resp_err_t err);
typedef void (*admf_record_fn)(void *ctx, const rd_kafka_message_t *m);
/* Reads every record of a topic from the beginning to its end offsets at the call; adds
 * the end offsets of its partitions to *end (NULL: not wanted). */
li_err admf_read_topic(const li_config *cfg, const char *topic, admf_record_fn fn, void *ctx,
                       int64_t *end, char *errstr, size_t errstr_size);
/* Creates limf.audit (one partition) with unlimited retention unless it exists, and
 * sets *retention_ok to whether the topic's retention is unlimited. */
li_err admf_audit_topic_ensure(admf_service *a, int *retention_ok, char *errstr,
                               size_t errstr_size);

/* ---- admf_read.c ---- */
/* The `limit` query parameter (1-1000, default 100); 0 with out filled when invalid. */
int admf_parse_limit(const x1_query *q, size_t *limit, x1_result *out);

/* ---- admf_audit.c ---- */
/* Keys and checkpoint settings from the configuration (admf.audit_*). */
li_err admf_audit_setup(admf_service *a, char *errstr, size_t errstr_size);
/* Rebuilds the trail from limf.audit and checks its chain; a broken chain puts the
 * service in read-only mode. Then writes a checkpoint of the head found. */
li_err admf_audit_restore(admf_service *a, char *errstr, size_t errstr_size);
void admf_audit_free(admf_service *a);
/* Chains and enqueues one event (ev's index, prev_hash, key_id and hash are set here);
 * the caller waits on ack. */
li_err admf_audit_enqueue(admf_service *a, Limf__AuditEvent *ev, admf_ack *ack);
void admf_audit_event_init(Limf__AuditEvent *ev, const x1_principal *who, const char *action,
                           const char *object, const char *outcome, const char *reason,
                           const char *detail);
void *admf_housekeeper_main(void *arg);

/* limf.pois (admf_pois.c): the registry of intercept points limf-ingest admits. Setup
 * ensures the topic and republishes every registration; publish writes the registry view
 * of one poi/<id> record (a tombstone when n is 0). */
li_err admf_pois_setup(admf_service *a, char *errstr, size_t errstr_size);
void admf_pois_publish(admf_service *a, const char *key, const uint8_t *packed, size_t n);

#endif
