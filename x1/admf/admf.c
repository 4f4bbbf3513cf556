#include "admf.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.pb-c.h"
#include "audit.pb-c.h"
#include "li_ident.h"
#include "li_kafka.h"
#include "li_log.h"
#include "li_metrics.h"
#include "li_time.h"
#include "admf_json.h"
#include "audit_chain.h"
#include "admf_validate.h"

/* One Kafka delivery the writer waits for. */
typedef struct x1_ack {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    rd_kafka_resp_err_t err;
} x1_ack;

struct admf_service {
    const li_config *cfg;
    rd_kafka_t *producer;
    pthread_t poller;
    atomic_int stop;
    atomic_int failed;         /* a delivery failed: memory may be ahead of Kafka */
    char admin_topic[256];
    char audit_topic[256];

    /* write_mu serializes mutations from validation to the in-memory apply, so that the
     * order of the records in limf.admin is the order of the decisions. */
    pthread_mutex_t write_mu;
    /* state_mu guards the store and the in-memory audit trail for readers. */
    pthread_mutex_t state_mu;
    /* audit_mu orders the audit chain: index, prev_hash and produce order agree. */
    pthread_mutex_t audit_mu;
    admf_store *store;
    Limf__AuditEvent **audit;
    /* The newest events, a ring of at most max_audit: event i is audit[i % max_audit]
     * while i >= n_audit - held_audit. Older ones stay in limf.audit only. */
    size_t n_audit, cap_audit, held_audit, max_audit;
    uint8_t audit_head[32];

    void (*on_change)(void *ctx, x1_kind kind, const ProtobufCMessage *msg);
    void *on_change_ctx;

    atomic_uint_fast64_t writes_ok, writes_refused, writes_failed, audit_events;
    atomic_uint_fast64_t write_ns_sum;
    atomic_uint_fast64_t generation; /* bumps with every change applied */
};

static const x1_principal system_principal = { "limf-admf", "system" };

const x1_principal *admf_system(void)
{
    return &system_principal;
}

static int64_t now_ms(void)
{
    return (int64_t)(li_now_ns() / 1000000u);
}

void x1_result_clear(x1_result *r)
{
    json_decref(r->body);
    memset(r, 0, sizeof *r);
}

void x1_result_error(x1_result *r, int status, const char *code, const char *field,
                     const char *message)
{
    r->status = status;
    r->etag = 0;
    json_decref(r->body);
    r->body = json_pack("{s:{s:s,s:s,s:s}}", "error", "code", code, "message", message,
                        "field", field ? field : "");
}

/* ---- Kafka: producing and waiting for the delivery report ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    x1_ack *ack = m->_private;
    (void)rk, (void)opaque;
    if (!ack)
        return;
    pthread_mutex_lock(&ack->mu);
    ack->err = m->err;
    ack->done = 1;
    pthread_cond_signal(&ack->cv);
    pthread_mutex_unlock(&ack->mu);
}

static void *poll_main(void *arg)
{
    admf_service *a = arg;
    while (!atomic_load(&a->stop))
        rd_kafka_poll(a->producer, 100);
    return NULL;
}

static void ack_init(x1_ack *ack)
{
    pthread_mutex_init(&ack->mu, NULL);
    pthread_cond_init(&ack->cv, NULL);
    ack->done = 0;
    ack->err = 0;
}

static rd_kafka_resp_err_t ack_wait(x1_ack *ack)
{
    pthread_mutex_lock(&ack->mu);
    while (!ack->done)
        pthread_cond_wait(&ack->cv, &ack->mu);
    rd_kafka_resp_err_t err = ack->err;
    pthread_mutex_unlock(&ack->mu);
    pthread_mutex_destroy(&ack->mu);
    pthread_cond_destroy(&ack->cv);
    return err;
}

/* Enqueues one record; value NULL is a tombstone. On LI_OK the ack will be signalled. */
static li_err produce(admf_service *a, const char *topic, const char *key, const void *value,
                      size_t len, x1_ack *ack)
{
    rd_kafka_resp_err_t e;
    ack_init(ack);
    for (int tries = 0;; tries++) {
        e = rd_kafka_producev(a->producer, RD_KAFKA_V_TOPIC(topic),
                              RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE((void *)value, value ? len : 0),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_OPAQUE(ack), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries > 100)
            break;
        struct timespec ts = { 0, 10 * 1000000 };
        nanosleep(&ts, NULL);
    }
    if (e) {
        li_log_error("produce to %s: %s", topic, rd_kafka_err2str(e));
        return LI_ERR_KAFKA;
    }
    return LI_OK;
}

/* A delivery failed after memory was updated: memory may now hold what Kafka does not.
 * Mutations stop; the daemon's main loop sees admf_healthy() == 0 and exits so that a
 * restart rebuilds the state from the topics (crash-only recovery). */
static void fail_store(admf_service *a, const char *what, rd_kafka_resp_err_t err)
{
    li_log_error("Kafka did not acknowledge %s: %s; refusing writes until restart", what,
                 rd_kafka_err2str(err));
    atomic_store(&a->failed, 1);
}

int admf_healthy(admf_service *a)
{
    return !atomic_load(&a->failed);
}

/* ---- the audit trail ---- */

/* Frees the events held in memory (they stay in limf.audit). */
static void audit_forget(admf_service *a)
{
    for (size_t i = a->n_audit - a->held_audit; i < a->n_audit; i++)
        limf__audit_event__free_unpacked(a->audit[i % a->max_audit], NULL);
    a->held_audit = 0;
}

/* Counts ev as event n_audit and keeps it in memory (ev is owned from now on). The caller
 * holds state_mu or is alone. Without memory the window restarts empty: the events are
 * in limf.audit all the same. */
static void audit_keep(admf_service *a, Limf__AuditEvent *ev)
{
    size_t pos = a->n_audit % a->max_audit;
    if (pos >= a->cap_audit) {
        size_t cap = a->cap_audit ? a->cap_audit * 2 : 1024;
        while (cap <= pos)
            cap *= 2;
        if (cap > a->max_audit)
            cap = a->max_audit;
        Limf__AuditEvent **grown = realloc(a->audit, cap * sizeof *grown);
        if (!grown) {
            audit_forget(a);
            limf__audit_event__free_unpacked(ev, NULL);
            a->n_audit++;
            return;
        }
        a->audit = grown;
        a->cap_audit = cap;
    }
    if (a->held_audit == a->max_audit)
        limf__audit_event__free_unpacked(a->audit[pos], NULL); /* the oldest leaves memory */
    else
        a->held_audit++;
    a->audit[pos] = ev;
    a->n_audit++;
}

static void audit_free_all(admf_service *a)
{
    audit_forget(a);
    free(a->audit);
}

/* Chains, enqueues and remembers one event; the caller waits on ack. */
static li_err audit_enqueue(admf_service *a, Limf__AuditEvent *ev, x1_ack *ack)
{
    uint8_t hash[32], *packed;
    li_err e = LI_ERR_NOMEM;
    pthread_mutex_lock(&a->audit_mu);
    ev->index = a->n_audit;
    ev->prev_hash.data = a->audit_head;
    ev->prev_hash.len = 32;
    if (audit_chain_hash(ev, hash) != LI_OK) {
        pthread_mutex_unlock(&a->audit_mu);
        return LI_ERR;
    }
    ev->hash.data = hash;
    ev->hash.len = 32;
    size_t n = limf__audit_event__get_packed_size(ev);
    Limf__AuditEvent *copy = NULL;
    if ((packed = malloc(n))) {
        limf__audit_event__pack(ev, packed);
        /* Memory keeps the unpacked copy of exactly the bytes sent. */
        copy = limf__audit_event__unpack(NULL, n, packed);
    }
    pthread_mutex_lock(&a->state_mu);
    if (copy) {
        e = produce(a, a->audit_topic, ev->actor && ev->actor[0] ? ev->actor : "-", packed, n,
                    ack);
        if (e == LI_OK) {
            /* Sent: the chain moves on even if memory cannot keep the copy. */
            memcpy(a->audit_head, hash, 32);
            audit_keep(a, copy);
            copy = NULL;
        }
    }
    pthread_mutex_unlock(&a->state_mu);
    pthread_mutex_unlock(&a->audit_mu);
    limf__audit_event__free_unpacked(copy, NULL);
    free(packed);
    if (e == LI_OK)
        atomic_fetch_add(&a->audit_events, 1);
    return e;
}

static void audit_event_init(Limf__AuditEvent *ev, const x1_principal *who,
                             const char *action, const char *object, const char *outcome,
                             const char *reason, const char *detail)
{
    limf__audit_event__init(ev);
    ev->at_ms = now_ms();
    ev->actor = (char *)(who ? who->name : "");
    ev->role = (char *)(who ? who->role : "");
    ev->action = (char *)action;
    ev->object = (char *)(object ? object : "");
    ev->outcome = (char *)outcome;
    ev->reason = (char *)(reason ? reason : "");
    ev->detail = (char *)(detail ? detail : "");
}

li_err admf_audit(admf_service *a, const x1_principal *who, const char *action,
                     const char *object, const char *outcome, const char *reason,
                     const char *detail)
{
    Limf__AuditEvent ev;
    x1_ack ack;
    audit_event_init(&ev, who, action, object, outcome, reason, detail);
    li_err e = audit_enqueue(a, &ev, &ack);
    if (e != LI_OK)
        return e;
    rd_kafka_resp_err_t err = ack_wait(&ack);
    if (err) {
        fail_store(a, "an audit event", err);
        return LI_ERR_KAFKA;
    }
    return LI_OK;
}

/* ---- reading a topic from the beginning to its end offsets ---- */

typedef void (*record_fn)(void *ctx, const rd_kafka_message_t *m);

static li_err read_topic(const li_config *cfg, const char *topic, record_fn fn, void *ctx,
                         char *errstr, size_t errstr_size)
{
    static const char *const props[] = { "enable.partition.eof", "true",
                                         "enable.auto.commit", "false", NULL };
    /* librdkafka 2.0 wants a group.id even for assign(); nothing is ever committed. */
    char group[300];
    snprintf(group, sizeof group, "%s.reader", topic);
    rd_kafka_t *c = li_kafka_consumer_new(cfg, group, props, errstr, errstr_size);
    if (!c)
        return LI_ERR_KAFKA;
    li_err rc = LI_ERR_KAFKA;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c, topic, NULL);
    rd_kafka_topic_partition_list_t *parts = NULL;
    int64_t *high = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(c, 0, rkt, &md, 10000);
    if (err || md->topic_cnt != 1 || md->topics[0].err) {
        snprintf(errstr, errstr_size, "metadata of %s: %s", topic,
                 rd_kafka_err2str(err ? err : md->topic_cnt ? md->topics[0].err : err));
        goto out;
    }
    int np = md->topics[0].partition_cnt;
    parts = rd_kafka_topic_partition_list_new(np);
    high = calloc((size_t)np + 1, sizeof *high);
    int remaining = 0;
    for (int i = 0; i < np; i++) {
        int32_t p = md->topics[0].partitions[i].id;
        int64_t lo, hi;
        err = rd_kafka_query_watermark_offsets(c, topic, p, &lo, &hi, 10000);
        if (err) {
            snprintf(errstr, errstr_size, "offsets of %s: %s", topic, rd_kafka_err2str(err));
            goto out;
        }
        high[i] = hi;
        if (hi > lo) {
            rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
            remaining++;
        }
    }
    if (remaining && (err = rd_kafka_assign(c, parts))) {
        snprintf(errstr, errstr_size, "assign %s: %s", topic, rd_kafka_err2str(err));
        goto out;
    }
    uint64_t deadline = li_mono_ns() + 120ull * 1000000000u;
    while (remaining > 0) {
        if (li_mono_ns() > deadline) {
            snprintf(errstr, errstr_size, "reading %s timed out", topic);
            goto out;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 500);
        if (!m)
            continue;
        int idx = -1;
        for (int i = 0; i < np; i++)
            if (md->topics[0].partitions[i].id == m->partition)
                idx = i;
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            snprintf(errstr, errstr_size, "reading %s: %s", topic, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            goto out;
        }
        int at_end = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
        if (!m->err) {
            fn(ctx, m);
            at_end = idx >= 0 && m->offset + 1 >= high[idx];
        }
        if (at_end && idx >= 0 && high[idx] >= 0) {
            high[idx] = -1; /* done: later messages of this partition are past the end */
            remaining--;
        }
        rd_kafka_message_destroy(m);
    }
    rc = LI_OK;
out:
    free(high);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    li_kafka_destroy(c, 0);
    return rc;
}

static void restore_admin(void *ctx, const rd_kafka_message_t *m)
{
    admf_service *a = ctx;
    if (admf_store_apply(a->store, m->key, m->key_len, m->payload, m->len) != LI_OK)
        li_log_warn("limf.admin offset %" PRId64 ": unparsable record skipped", m->offset);
}

typedef struct restore_audit_ctx {
    admf_service *a;
    audit_chain_verifier v;
} restore_audit_ctx;

static void restore_audit(void *ctx, const rd_kafka_message_t *m)
{
    restore_audit_ctx *r = ctx;
    admf_service *a = r->a;
    Limf__AuditEvent *ev = limf__audit_event__unpack(NULL, m->len, m->payload);
    if (!ev || ev->hash.len != 32) {
        li_log_error("limf.audit offset %" PRId64 ": unparsable event", m->offset);
        limf__audit_event__free_unpacked(ev, NULL);
        return;
    }
    if (!r->v.broken && audit_chain_verifier_feed(&r->v, ev) != LI_OK)
        li_log_error("limf.audit: chain broken at event %" PRIu64 ": %s", r->v.broken_index,
                     r->v.reason);
    /* New events continue the chain from the last stored one, whatever its index says. */
    memcpy(a->audit_head, ev->hash.data, 32);
    audit_keep(a, ev);
}

admf_service *admf_new(const li_config *cfg, char *errstr, size_t errstr_size)
{
    /* Each write waits for its acknowledgement: no batching delay, no Nagle delay. */
    static const char *const props[] = { "enable.idempotence", "true", "acks", "all",
                                         "linger.ms", "0", "socket.nagle.disable", "true",
                                         NULL };
    admf_service *a = calloc(1, sizeof *a);
    int64_t timeout_ms;
    if (!a) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    a->cfg = cfg;
    pthread_mutex_init(&a->write_mu, NULL);
    pthread_mutex_init(&a->state_mu, NULL);
    pthread_mutex_init(&a->audit_mu, NULL);
    li_kafka_topic(cfg, "limf.admin", a->admin_topic, sizeof a->admin_topic);
    li_kafka_topic(cfg, "limf.audit", a->audit_topic, sizeof a->audit_topic);
    int64_t max_audit;
    if (li_config_get_int(cfg, "admf.write_timeout_ms", 10000, 1000, 600000, &timeout_ms,
                          errstr, errstr_size) != LI_OK ||
        li_config_get_int(cfg, "admf.audit_memory_events", 250000, 10, 100000000,
                          &max_audit, errstr, errstr_size) != LI_OK)
        goto fail;
    a->max_audit = (size_t)max_audit;
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%" PRId64, timeout_ms);
    const char *extra[] = { props[0], props[1], props[2], props[3], props[4], props[5],
                            props[6], props[7], "message.timeout.ms", timeout, NULL };
    a->producer = li_kafka_producer_new(cfg, extra, on_delivery, a, errstr, errstr_size);
    if (!a->producer)
        goto fail;
    /* One partition each: limf.admin's order is the order of decisions, and limf.audit's
     * order is the chain's. */
    if (li_kafka_ensure_topic(a->producer, a->admin_topic, 1, 1, 15000, errstr,
                              errstr_size) != LI_OK ||
        li_kafka_ensure_topic(a->producer, a->audit_topic, 1, 0, 15000, errstr,
                              errstr_size) != LI_OK)
        goto fail;
    if (!(a->store = admf_store_new())) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    restore_audit_ctx r = { a, { { 0 }, 0, 0, 0, 0, "" } };
    audit_chain_verifier_init(&r.v);
    if (read_topic(cfg, a->admin_topic, restore_admin, a, errstr, errstr_size) != LI_OK ||
        read_topic(cfg, a->audit_topic, restore_audit, &r, errstr, errstr_size) != LI_OK)
        goto fail;
    li_log_info("state rebuilt: %zu warrants, %zu destinations, %zu exceptions, %zu intercept "
                "points, %zu audit events",
                admf_store_count(a->store, X1_KIND_WARRANT),
                admf_store_count(a->store, X1_KIND_DESTINATION),
                admf_store_count(a->store, X1_KIND_EXCEPTION),
                admf_store_count(a->store, X1_KIND_POI), a->n_audit);
    if (pthread_create(&a->poller, NULL, poll_main, a) != 0) {
        snprintf(errstr, errstr_size, "cannot start the Kafka poller");
        goto fail;
    }
    return a;
fail:
    admf_store_free(a->store);
    a->store = NULL;
    li_kafka_destroy(a->producer, 0);
    a->producer = NULL;
    audit_free_all(a);
    free(a);
    return NULL;
}

void admf_free(admf_service *a)
{
    if (!a)
        return;
    /* Take the writer lock so that no mutation is half-done when the producer goes. */
    pthread_mutex_lock(&a->write_mu);
    atomic_store(&a->stop, 1);
    pthread_join(a->poller, NULL);
    li_kafka_destroy(a->producer, 10000);
    pthread_mutex_unlock(&a->write_mu);
    admf_store_free(a->store);
    audit_free_all(a);
    pthread_mutex_destroy(&a->write_mu);
    pthread_mutex_destroy(&a->state_mu);
    pthread_mutex_destroy(&a->audit_mu);
    free(a);
}

/* ---- mutations ---- */

typedef struct built {
    union {
        ProtobufCMessage base;
        Limf__Warrant w;
        Limf__Destination d;
        Limf__CertException x;
        Limf__InterceptPoint p;
    } m;
    union {
        x1_warrant_scratch w;
        x1_destination_scratch d;
        x1_exception_scratch x;
        x1_poi_scratch p;
    } s;
    Limf__Provenance created, updated;
    uint8_t xid[16];
    char id[X1_MAX_ID + 1];
} built;

static int env_destination_exists(void *ctx, const char *id)
{
    return admf_store_get(((admf_service *)ctx)->store, X1_KIND_DESTINATION, id) != NULL;
}

static int env_poi_exists(void *ctx, const char *id)
{
    return admf_store_get(((admf_service *)ctx)->store, X1_KIND_POI, id) != NULL;
}

static int env_liid_taken(void *ctx, const char *liid, const char *country, const char *self)
{
    const char *owner = admf_store_liid_owner(((admf_service *)ctx)->store, country, liid);
    return owner && !(self && strcmp(owner, self) == 0);
}

static li_err validate(x1_kind kind, const json_t *body, const admf_validate_env *env,
                       built *b, x1_verr *err)
{
    switch (kind) {
    case X1_KIND_WARRANT:
        return admf_validate_warrant(body, env, &b->m.w, &b->s.w, err);
    case X1_KIND_DESTINATION:
        return admf_validate_destination(body, env, &b->m.d, &b->s.d, err);
    case X1_KIND_EXCEPTION:
        return admf_validate_exception(body, env, &b->m.x, &b->s.x, err);
    default:
        return admf_validate_poi(body, env, &b->m.p, &b->s.p, err);
    }
}

/* Sets id, version and provenance of the built object. */
static void set_meta(x1_kind kind, built *b, uint64_t version, Limf__Provenance *created)
{
    switch (kind) {
    case X1_KIND_WARRANT:
        b->m.w.id = b->id, b->m.w.version = version;
        b->m.w.created = created, b->m.w.updated = &b->updated;
        break;
    case X1_KIND_DESTINATION:
        b->m.d.id = b->id, b->m.d.version = version;
        b->m.d.created = created, b->m.d.updated = &b->updated;
        break;
    case X1_KIND_EXCEPTION:
        b->m.x.id = b->id, b->m.x.version = version;
        b->m.x.created = created, b->m.x.updated = &b->updated;
        break;
    default:
        b->m.p.id = b->id, b->m.p.version = version;
        b->m.p.created = created, b->m.p.updated = &b->updated;
        break;
    }
}

static uint64_t version_of(x1_kind kind, const ProtobufCMessage *m)
{
    switch (kind) {
    case X1_KIND_WARRANT:
        return ((const Limf__Warrant *)m)->version;
    case X1_KIND_DESTINATION:
        return ((const Limf__Destination *)m)->version;
    case X1_KIND_EXCEPTION:
        return ((const Limf__CertException *)m)->version;
    default:
        return ((const Limf__InterceptPoint *)m)->version;
    }
}

/* The "why" of a change (docs/DESIGN.md 6): a warrant's legal reference, an exception's reason,
 * else the X-Reason header. */
static const char *reason_of(x1_kind kind, const json_t *body, const char *header)
{
    const char *field = kind == X1_KIND_WARRANT ? "legal_reference"
                        : kind == X1_KIND_EXCEPTION ? "reason" : NULL;
    json_t *v = field && body ? json_object_get(body, field) : NULL;
    if (json_is_string(v) && json_string_length(v) > 0)
        return json_string_value(v);
    return header && *header ? header : NULL;
}

static void action_name(x1_kind kind, const char *verb, char *out, size_t n)
{
    snprintf(out, n, "%s.%s", x1_kind_name(kind), verb);
}

/* Audits a refusal (after the writer lock is released) and fills out. */
static void refuse(admf_service *a, const x1_principal *who, const char *action, const char *key,
                   const char *reason, int status, const char *code, const char *field,
                   const char *message, x1_result *out)
{
    x1_result_error(out, status, code, field, message);
    atomic_fetch_add(&a->writes_refused, 1);
    json_t *d = json_pack("{s:i,s:s,s:s,s:s}", "status", status, "code", code, "field",
                          field ? field : "", "request_reason", reason ? reason : "");
    char *detail = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    if (admf_audit(a, who, action, key, "refused", message, detail) != LI_OK) {
        x1_result_error(out, 503, "audit_unavailable", "",
                        "the refusal could not be recorded in the audit trail");
    }
    free(detail);
}

/* Writes the record (msg, or a tombstone when NULL) and its audit event, applies it to
 * memory, releases the writer lock and waits for both acknowledgements. */
static void commit(admf_service *a, x1_kind kind, const char *key, const ProtobufCMessage *msg,
                   uint64_t version, const char *action, const x1_principal *who,
                   const char *reason, int status, x1_result *out)
{
    uint64_t t0 = li_mono_ns();
    uint8_t *packed = NULL;
    size_t n = 0;
    json_t *view = NULL;
    char *detail = NULL;
    x1_ack rec_ack, audit_ack;
    if (msg) {
        n = protobuf_c_message_get_packed_size(msg);
        packed = malloc(n ? n : 1);
        view = x1_json_render(kind, msg, now_ms());
        if (!packed || !view) {
            pthread_mutex_unlock(&a->write_mu);
            free(packed);
            json_decref(view);
            x1_result_error(out, 500, "internal", "", "out of memory");
            return;
        }
        protobuf_c_message_pack(msg, packed);
        detail = json_dumps(view, JSON_COMPACT | JSON_SORT_KEYS);
    } else {
        detail = strdup("{\"deleted\":true}");
    }
    if (produce(a, a->admin_topic, key, packed, n, &rec_ack) != LI_OK) {
        pthread_mutex_unlock(&a->write_mu);
        free(packed);
        free(detail);
        json_decref(view);
        atomic_fetch_add(&a->writes_failed, 1);
        admf_audit(a, who, action, key, "failed", "Kafka refused the record", NULL);
        x1_result_error(out, 503, "store_unavailable", "", "the store of record is unavailable");
        return;
    }
    Limf__AuditEvent ev;
    audit_event_init(&ev, who, action, key, "accepted", reason, detail);
    li_err audit_err = audit_enqueue(a, &ev, &audit_ack);
    /* Memory follows the record at once so that the next writer validates against it; if
     * Kafka then fails to acknowledge, the store fails for good (fail_store). */
    pthread_mutex_lock(&a->state_mu);
    admf_store_apply(a->store, key, strlen(key), packed, n);
    pthread_mutex_unlock(&a->state_mu);
    atomic_fetch_add(&a->generation, 1);
    pthread_mutex_unlock(&a->write_mu);
    free(detail);
    rd_kafka_resp_err_t e1 = ack_wait(&rec_ack);
    rd_kafka_resp_err_t e2 = audit_err == LI_OK ? ack_wait(&audit_ack) : RD_KAFKA_RESP_ERR__FAIL;
    if (e1 || e2) {
        fail_store(a, e1 ? "a limf.admin record" : "an audit event", e1 ? e1 : e2);
        atomic_fetch_add(&a->writes_failed, 1);
        free(packed);
        json_decref(view);
        x1_result_error(out, 503, "store_unavailable", "",
                        "Kafka did not acknowledge the change; the service restarts");
        return;
    }
    atomic_fetch_add(&a->writes_ok, 1);
    atomic_fetch_add(&a->write_ns_sum, li_mono_ns() - t0);
    out->status = status;
    out->body = view;
    out->etag = msg ? version : 0;
    if (a->on_change) {
        /* The callback gets its own copy, decoded from the record: msg may borrow from
         * the object the store has just replaced and freed (admf_poi_status copies it
         * shallowly), and the X1 side reads a POI's cert_sha256 from it. NULL when the
         * copy cannot be made: the callback still learns that something changed. */
        ProtobufCMessage *copy =
            msg ? protobuf_c_message_unpack(msg->descriptor, NULL, n, packed) : NULL;
        a->on_change(a->on_change_ctx, kind, copy);
        if (copy)
            protobuf_c_message_free_unpacked(copy, NULL);
    }
    free(packed);
}

static int parse_if_match(const char *h, uint64_t *version, int *any)
{
    char *end;
    *any = 0;
    if (!h)
        return 0;
    while (*h == ' ')
        h++;
    if (strcmp(h, "*") == 0) {
        *any = 1;
        return 1;
    }
    if (h[0] == 'W' && h[1] == '/')
        h += 2;
    if (*h == '"')
        h++;
    if (*h < '0' || *h > '9')
        return 0;
    *version = strtoull(h, &end, 10);
    return *end == '"' || *end == 0;
}

/* Checks If-Match against the current version; fills code/message when it fails. */
static int precondition(const char *if_match, uint64_t current, int *status,
                        const char **code, char *message, size_t n)
{
    uint64_t v = 0;
    int any;
    if (!if_match) {
        *status = 428, *code = "precondition_required";
        snprintf(message, n, "If-Match with the object's ETag is required");
        return 0;
    }
    if (!parse_if_match(if_match, &v, &any) || (!any && v != current)) {
        *status = 412, *code = "precondition_failed";
        snprintf(message, n, "the object changed: its ETag is now \"%" PRIu64 "\"", current);
        return 0;
    }
    return 1;
}

/* Finishes a built object for storage: kind-specific fields kept or derived. `cur` is
 * the current object on update (NULL on creation). */
static void finish(x1_kind kind, built *b, const ProtobufCMessage *cur, int64_t now)
{
    if (kind == X1_KIND_WARRANT) {
        const Limf__Warrant *c = (const Limf__Warrant *)cur;
        if (c && c->xid.len == 16)
            memcpy(b->xid, c->xid.data, 16);
        else
            li_uuid_random(b->xid); /* the warrant's one X1 task, for its whole life */
        b->m.w.xid.data = b->xid;
        b->m.w.xid.len = 16;
        b->m.w.state = (char *)x1_warrant_state(&b->m.w, now);
    } else if (kind == X1_KIND_POI) {
        const Limf__InterceptPoint *c = (const Limf__InterceptPoint *)cur;
        b->m.p.health = c && c->health ? c->health : "unknown";
        b->m.p.last_audit = c ? c->last_audit : NULL;
    }
}

/* Which warrant still refers to a destination or intercept point. */
struct ref {
    const char *id;
    int poi;
    const char *user;
};

static int refers(void *ctx, const ProtobufCMessage *m)
{
    struct ref *r = ctx;
    const Limf__Warrant *w = (const Limf__Warrant *)m;
    char **ids = r->poi ? w->poi_ids : w->destination_ids;
    size_t n = r->poi ? w->n_poi_ids : w->n_destination_ids;
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], r->id) == 0) {
            r->user = w->id;
            return 1;
        }
    return 0;
}

static void mutation(admf_service *a, x1_kind kind, const x1_principal *who, const char *path_id,
                     const char *if_match, const json_t *body, int patch, const char *hdr,
                     x1_result *out)
{
    const char *verb = !body ? "delete" : path_id ? "update" : "create";
    char action[40], key[X1_MAX_ID + 16] = "", message[200];
    const char *code = NULL, *field = "";
    int status = 400;
    built *b = calloc(1, sizeof *b);
    json_t *merged = NULL;
    const ProtobufCMessage *cur = NULL;
    const char *reason = reason_of(kind, body, hdr);
    int64_t now = now_ms();
    x1_verr verr;
    action_name(kind, verb, action, sizeof action);
    memset(out, 0, sizeof *out);
    if (!b) {
        x1_result_error(out, 500, "internal", "", "out of memory");
        return;
    }
    pthread_mutex_lock(&a->write_mu);
    if (atomic_load(&a->failed)) {
        status = 503, code = "store_unavailable";
        snprintf(message, sizeof message, "the store of record is unavailable");
        goto refused;
    }
    /* The object's id: the path's, the body's on creation, or a new UUID. */
    json_t *jid = body ? json_object_get(body, "id") : NULL;
    if (path_id) {
        snprintf(b->id, sizeof b->id, "%s", path_id);
    } else if (json_is_string(jid) && x1_valid_id(json_string_value(jid))) {
        snprintf(b->id, sizeof b->id, "%s", json_string_value(jid));
    } else if (jid && !json_is_null(jid)) {
        code = "invalid_id", field = "id";
        snprintf(message, sizeof message, "an id is 1-63 characters of [A-Za-z0-9._-]");
        goto refused;
    } else {
        uint8_t u[16];
        li_uuid_random(u);
        li_uuid_format(u, b->id);
    }
    snprintf(key, sizeof key, "%s/%s", x1_kind_name(kind), b->id);
    cur = admf_store_get(a->store, kind, b->id);
    if (path_id && !cur) {
        status = 404, code = "not_found";
        snprintf(message, sizeof message, "no such %s", x1_kind_name(kind));
        goto refused;
    }
    if (!path_id && cur) {
        status = 409, code = "exists", field = "id";
        snprintf(message, sizeof message, "a %s with this id exists", x1_kind_name(kind));
        goto refused;
    }
    if (path_id && !precondition(if_match, version_of(kind, cur), &status, &code, message,
                                 sizeof message)) {
        field = "If-Match";
        goto refused;
    }
    if (!reason || (kind == X1_KIND_WARRANT && body && patch &&
                    !json_is_string(json_object_get(body, "legal_reference")))) {
        code = "reason_required";
        field = kind == X1_KIND_WARRANT && body ? "legal_reference" : "X-Reason";
        snprintf(message, sizeof message, "every change needs a legal reference or ticket (%s)",
                 field);
        goto refused;
    }
    if (strlen(reason) > X1_MAX_TEXT) {
        code = "too_long", field = "X-Reason";
        snprintf(message, sizeof message, "the reason is longer than %d bytes", X1_MAX_TEXT);
        goto refused;
    }
    if (kind == X1_KIND_WARRANT && cur && body &&
        strcmp(x1_warrant_state((const Limf__Warrant *)cur, now), "deactivated") == 0) {
        status = 409, code = "deactivated", field = "state";
        snprintf(message, sizeof message, "a deactivated warrant cannot change");
        goto refused;
    }
    if (!body) {
        /* Deletion: nothing may still refer to the object. */
        if (kind == X1_KIND_DESTINATION || kind == X1_KIND_POI) {
            struct ref r = { b->id, kind == X1_KIND_POI, NULL };
            /* state_mu: the ordered walk may rebuild the index readers use */
            pthread_mutex_lock(&a->state_mu);
            admf_store_each(a->store, X1_KIND_WARRANT, NULL, refers, &r);
            pthread_mutex_unlock(&a->state_mu);
            if (r.user) {
                status = 409, code = "in_use";
                snprintf(message, sizeof message, "warrant %s refers to it", r.user);
                goto refused;
            }
        }
        commit(a, kind, key, NULL, 0, action, who, reason, 204, out);
        free(b);
        return;
    }
    if (patch) {
        merged = x1_json_render(kind, cur, now);
        json_object_update(merged, (json_t *)body);
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(merged, tmp, k, v) {
            if (json_is_null(v))
                json_object_del(merged, k); /* RFC 7396: null removes */
        }
        body = merged;
    }
    admf_validate_env env = { a, env_destination_exists, env_liid_taken, env_poi_exists, now,
                            !path_id, path_id };
    if (validate(kind, body, &env, b, &verr) != LI_OK) {
        pthread_mutex_unlock(&a->write_mu);
        refuse(a, who, action, key, reason, verr.status, verr.code, verr.field, verr.message,
               out);
        json_decref(merged);
        free(b);
        return;
    }
    limf__provenance__init(&b->created);
    b->created.actor = (char *)who->name;
    b->created.at_ms = now;
    b->created.reason = (char *)reason;
    limf__provenance__init(&b->updated);
    b->updated.actor = (char *)who->name;
    b->updated.at_ms = now;
    b->updated.reason = (char *)reason;
    Limf__Provenance *created = &b->created;
    uint64_t version = 1;
    if (cur) {
        version = version_of(kind, cur) + 1;
        /* the creation provenance stays as first recorded */
        Limf__Provenance *const *c = kind == X1_KIND_WARRANT ? &((Limf__Warrant *)cur)->created
            : kind == X1_KIND_DESTINATION ? &((Limf__Destination *)cur)->created
            : kind == X1_KIND_EXCEPTION ? &((Limf__CertException *)cur)->created
            : &((Limf__InterceptPoint *)cur)->created;
        if (*c)
            created = *c;
    }
    set_meta(kind, b, version, created);
    finish(kind, b, cur, now);
    commit(a, kind, key, &b->m.base, version, action, who, reason, cur ? 200 : 201, out);
    json_decref(merged);
    free(b);
    return;
refused:
    pthread_mutex_unlock(&a->write_mu);
    refuse(a, who, action, key, reason, status, code, field, message, out);
    free(b);
}

void admf_create(admf_service *a, x1_kind kind, const x1_principal *who, const json_t *body,
                    const char *reason, x1_result *out)
{
    mutation(a, kind, who, NULL, NULL, body, 0, reason, out);
}

void admf_update(admf_service *a, x1_kind kind, const x1_principal *who, const char *id,
                    const char *if_match, const json_t *body, int patch, const char *reason,
                    x1_result *out)
{
    mutation(a, kind, who, id, if_match, body, patch, reason, out);
}

void admf_delete(admf_service *a, x1_kind kind, const x1_principal *who, const char *id,
                    const char *if_match, const char *reason, x1_result *out)
{
    mutation(a, kind, who, id, if_match, NULL, 0, reason, out);
}

li_err admf_poi_status(admf_service *a, const char *poi_id, const x1_poi_status *st)
{
    char key[X1_MAX_ID + 16];
    x1_result out = { 0 };
    snprintf(key, sizeof key, "poi/%s", poi_id);
    pthread_mutex_lock(&a->write_mu);
    const Limf__InterceptPoint *cur =
        (const Limf__InterceptPoint *)admf_store_get(a->store, X1_KIND_POI, poi_id);
    if (!cur || atomic_load(&a->failed) ||
        (!st->has_audit && cur->health && strcmp(cur->health, st->health) == 0)) {
        pthread_mutex_unlock(&a->write_mu);
        return cur ? LI_OK : LI_ERR_NOT_FOUND;
    }
    /* A shallow copy: the current object stays alive while the writer lock is held. */
    Limf__InterceptPoint p = *cur;
    Limf__Provenance updated;
    Limf__PoiAudit audit;
    limf__provenance__init(&updated);
    updated.actor = (char *)system_principal.name;
    updated.at_ms = now_ms();
    updated.reason = st->has_audit ? "reconciliation" : "health";
    p.updated = &updated;
    p.health = (char *)st->health;
    p.version = cur->version + 1;
    if (st->has_audit) {
        limf__poi_audit__init(&audit);
        audit.at_ms = st->at_ms;
        audit.outcome = (char *)st->outcome;
        audit.missing = st->missing;
        audit.extra = st->extra;
        audit.detail = (char *)(st->detail ? st->detail : "");
        p.last_audit = &audit;
    }
    commit(a, X1_KIND_POI, key, &p.base, p.version, "poi.status", &system_principal,
           updated.reason, 200, &out);
    li_err e = out.status == 200 ? LI_OK : LI_ERR_KAFKA;
    x1_result_clear(&out);
    return e;
}

void admf_on_change(admf_service *a,
                       void (*fn)(void *ctx, x1_kind kind, const ProtobufCMessage *msg),
                       void *ctx)
{
    a->on_change = fn;
    a->on_change_ctx = ctx;
}

void admf_lock(admf_service *a)
{
    pthread_mutex_lock(&a->state_mu);
}

void admf_unlock(admf_service *a)
{
    pthread_mutex_unlock(&a->state_mu);
}

const admf_store *admf_get_store(admf_service *a)
{
    return a->store;
}

uint64_t admf_generation(admf_service *a)
{
    return atomic_load(&a->generation);
}

/* ---- reads ---- */

const char *x1_query_get(const x1_query *q, const char *key)
{
    for (size_t i = 0; q && i < q->n; i++)
        if (strcmp(q->keys[i], key) == 0)
            return q->values[i];
    return NULL;
}

void admf_get(admf_service *a, x1_kind kind, const char *id, x1_result *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&a->state_mu);
    const ProtobufCMessage *m = admf_store_get(a->store, kind, id);
    if (m) {
        out->status = 200;
        out->body = x1_json_render(kind, m, now_ms());
        out->etag = version_of(kind, m);
    }
    pthread_mutex_unlock(&a->state_mu);
    if (!m)
        x1_result_error(out, 404, "not_found", "", "no such object");
}

static int parse_limit(const x1_query *q, size_t *limit, x1_result *out)
{
    const char *l = x1_query_get(q, "limit");
    char *end;
    *limit = 100;
    if (!l)
        return 1;
    unsigned long v = strtoul(l, &end, 10);
    if (*end || !*l || v < 1 || v > 1000) {
        x1_result_error(out, 400, "invalid_limit", "limit", "limit must be 1-1000");
        return 0;
    }
    *limit = v;
    return 1;
}

typedef struct list_ctx {
    x1_kind kind;
    const x1_query *q;
    size_t limit;
    int64_t now;
    json_t *items;
    const char *last_id;
    int more;
    const char *bad_filter;
    const char *target;        /* canonical identity of ?target= (warrants), or NULL */
} list_ctx;

/* Filters compare the representation's top-level fields: strings and numbers by their
 * text, arrays by membership of a string. */
/* 1 when one of the warrant's targets is the identity `canon` (canonical form, docs/DESIGN.md
 * 5: identities match when their canonical forms are equal). */
static int has_target(const json_t *view, const char *canon)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(view, "targets"), i, t) {
        char c[LI_IDENT_MAX];
        if (li_ident_canon_target(json_string_value(json_object_get(t, "type")),
                                  json_string_value(json_object_get(t, "value")), c,
                                  sizeof c) == LI_OK &&
            strcmp(c, canon) == 0)
            return 1;
    }
    return 0;
}

static int matches(const json_t *view, const x1_query *q, const char *target_canon,
                   const char **bad)
{
    for (size_t i = 0; i < q->n; i++) {
        const char *k = q->keys[i], *want = q->values[i];
        if (strcmp(k, "limit") == 0 || strcmp(k, "after") == 0)
            continue;
        if (target_canon && strcmp(k, "target") == 0) {
            if (!has_target(view, target_canon))
                return 0;
            continue;
        }
        json_t *v = json_object_get(view, k);
        if (!v) {
            *bad = k;
            return 0;
        }
        if (json_is_string(v)) {
            if (strcmp(json_string_value(v), want) != 0)
                return 0;
        } else if (json_is_integer(v)) {
            char t[32];
            snprintf(t, sizeof t, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            if (strcmp(t, want) != 0)
                return 0;
        } else if (json_is_array(v)) {
            size_t j;
            json_t *e;
            int found = 0;
            json_array_foreach(v, j, e) {
                found |= json_is_string(e) && strcmp(json_string_value(e), want) == 0;
            }
            if (!found)
                return 0;
        } else {
            *bad = k;
            return 0;
        }
    }
    return 1;
}

static int list_one(void *ctx, const ProtobufCMessage *m)
{
    list_ctx *l = ctx;
    json_t *view = x1_json_render(l->kind, m, l->now);
    if (!view)
        return 1;
    if (!matches(view, l->q, l->target, &l->bad_filter)) {
        json_decref(view);
        return l->bad_filter != NULL;
    }
    if (json_array_size(l->items) == l->limit) {
        l->more = 1;
        json_decref(view);
        return 1;
    }
    l->last_id = json_string_value(json_object_get(view, "id"));
    json_array_append_new(l->items, view);
    return 0;
}

void admf_list(admf_service *a, x1_kind kind, const x1_query *q, x1_result *out)
{
    list_ctx l = { kind, q, 0, now_ms(), json_array(), NULL, 0, NULL, NULL };
    char canon[LI_IDENT_MAX];
    const char *target = x1_query_get(q, "target");
    memset(out, 0, sizeof *out);
    if (!parse_limit(q, &l.limit, out)) {
        json_decref(l.items);
        return;
    }
    if (kind == X1_KIND_WARRANT && target) {
        /* ?target= takes any form of an identity (SIP URI, tel URI, E.164 number). */
        if (li_ident_canon(target, strlen(target), canon, sizeof canon) != LI_OK) {
            json_decref(l.items);
            x1_result_error(out, 400, "invalid_target", "target", "not a target identity");
            return;
        }
        l.target = canon;
    }
    pthread_mutex_lock(&a->state_mu);
    admf_store_each(a->store, kind, x1_query_get(q, "after"), list_one, &l);
    pthread_mutex_unlock(&a->state_mu);
    if (l.bad_filter) {
        char msg[128];
        snprintf(msg, sizeof msg, "no filter on %.60s", l.bad_filter);
        json_decref(l.items);
        x1_result_error(out, 400, "invalid_filter", l.bad_filter, msg);
        return;
    }
    out->status = 200;
    out->body = json_pack("{s:o,s:o}", "items", l.items, "next",
                          l.more && l.last_id ? json_string(l.last_id) : json_null());
}

/* ---- the audit trail: query, export, verification ---- */

static int audit_matches(const Limf__AuditEvent *ev, const x1_query *q, int64_t from,
                         int64_t to)
{
    static const char *const exact[] = { "actor", "action", "outcome", "role" };
    if (ev->at_ms < from || ev->at_ms >= to)
        return 0;
    for (size_t i = 0; i < 4; i++) {
        const char *want = x1_query_get(q, exact[i]);
        const char *have = i == 0 ? ev->actor : i == 1 ? ev->action : i == 2 ? ev->outcome
                                                                          : ev->role;
        if (want && strcmp(want, have) != 0)
            return 0;
    }
    const char *obj = x1_query_get(q, "object");
    if (obj) {
        size_t n = strlen(obj);
        if (n && obj[n - 1] == '/' ? strncmp(ev->object, obj, n) != 0
                                   : strcmp(ev->object, obj) != 0)
            return 0;
    }
    return 1;
}

static int query_time(const x1_query *q, const char *key, int64_t def, int64_t *ms,
                      x1_result *out)
{
    const char *t = x1_query_get(q, key);
    int64_t ns;
    *ms = def;
    if (!t)
        return 1;
    if (li_time_parse_rfc3339(t, &ns) != LI_OK) {
        x1_result_error(out, 400, "invalid_time", key, "not an RFC 3339 date-time");
        return 0;
    }
    *ms = ns / 1000000;
    return 1;
}

void admf_audit_list(admf_service *a, const x1_query *q, int jsonl_format, li_buf *jsonl,
                        x1_result *out)
{
    int64_t from, to;
    size_t limit;
    memset(out, 0, sizeof *out);
    static const char *const known[] = { "from", "to", "actor", "action", "outcome", "role",
                                         "object", "after", "limit", "format", NULL };
    for (size_t i = 0; i < q->n; i++) {
        int ok = 0;
        for (const char *const *k = known; *k; k++)
            ok |= strcmp(*k, q->keys[i]) == 0;
        if (!ok) {
            x1_result_error(out, 400, "invalid_filter", q->keys[i], "unknown query parameter");
            return;
        }
    }
    if (!query_time(q, "from", INT64_MIN, &from, out) ||
        !query_time(q, "to", INT64_MAX, &to, out) || !parse_limit(q, &limit, out))
        return;
    if (jsonl_format && !x1_query_get(q, "limit"))
        limit = SIZE_MAX;
    const char *after = x1_query_get(q, "after");
    uint64_t start = 0;
    if (after) {
        char *end;
        start = strtoull(after, &end, 10) + 1;
        if (*end || !*after) {
            x1_result_error(out, 400, "invalid_cursor", "after", "after is an event index");
            return;
        }
    }
    json_t *items = jsonl_format ? NULL : json_array();
    size_t count = 0;
    uint64_t last = 0;
    int more = 0;
    pthread_mutex_lock(&a->state_mu);
    if (start < a->n_audit - a->held_audit)
        start = a->n_audit - a->held_audit; /* older events are in limf.audit only */
    for (uint64_t i = start; i < a->n_audit; i++) {
        const Limf__AuditEvent *ev = a->audit[i % a->max_audit];
        if (!audit_matches(ev, q, from, to))
            continue;
        if (count == limit) {
            more = 1;
            break;
        }
        json_t *j = audit_chain_to_json(ev);
        if (jsonl_format) {
            char *line = json_dumps(j, JSON_COMPACT);
            if (line) {
                li_buf_append(jsonl, line, strlen(line));
                li_buf_append_u8(jsonl, '\n');
            }
            free(line);
            json_decref(j);
        } else {
            json_array_append_new(items, j);
        }
        count++;
        last = i;
    }
    pthread_mutex_unlock(&a->state_mu);
    out->status = 200;
    if (!jsonl_format)
        out->body = json_pack("{s:o,s:o}", "items", items, "next",
                              more ? json_integer((json_int_t)last) : json_null());
}

typedef struct verify_ctx {
    audit_chain_verifier v;
    uint64_t records;
    int64_t broken_offset;
} verify_ctx;

static void verify_one(void *ctx, const rd_kafka_message_t *m)
{
    verify_ctx *c = ctx;
    c->records++;
    if (c->v.broken)
        return;
    Limf__AuditEvent *ev = limf__audit_event__unpack(NULL, m->len, m->payload);
    if (!ev) {
        c->v.broken = 1;
        c->v.broken_index = c->v.next_index;
        snprintf(c->v.reason, sizeof c->v.reason, "unparsable event at offset %" PRId64,
                 m->offset);
    } else if (audit_chain_verifier_feed(&c->v, ev) != LI_OK) {
        c->broken_offset = m->offset;
    }
    if (c->v.broken && c->broken_offset < 0)
        c->broken_offset = m->offset;
    limf__audit_event__free_unpacked(ev, NULL);
}

void admf_audit_verify(admf_service *a, x1_result *out)
{
    verify_ctx c;
    char errstr[256], head[65] = "";
    memset(&c, 0, sizeof c);
    memset(out, 0, sizeof *out);
    audit_chain_verifier_init(&c.v);
    c.broken_offset = -1;
    if (read_topic(a->cfg, a->audit_topic, verify_one, &c, errstr, sizeof errstr) != LI_OK) {
        x1_result_error(out, 503, "store_unavailable", "", errstr);
        return;
    }
    out->status = 200;
    if (c.v.broken) {
        out->body = json_pack("{s:b,s:I,s:{s:I,s:I,s:s}}", "ok", 0, "events",
                              (json_int_t)c.records, "first_broken", "index",
                              (json_int_t)c.v.broken_index, "offset",
                              (json_int_t)c.broken_offset, "reason", c.v.reason);
        return;
    }
    if (c.v.count)
        li_hex_encode(c.v.last_hash, 32, head);
    out->body = json_pack("{s:b,s:I,s:s}", "ok", 1, "events", (json_int_t)c.v.count, "head",
                          head);
}

/* Intercept points whose health is an alarm (admf_reconcile.c): unreachable over X1, or
 * answering but with tables the ADMF cannot read (degraded). */
typedef struct poi_alarms {
    size_t unreachable, degraded;
} poi_alarms;

static int count_alarm(void *ctx, const ProtobufCMessage *m)
{
    poi_alarms *c = ctx;
    const Limf__InterceptPoint *p = (const Limf__InterceptPoint *)m;
    if (p->health && strcmp(p->health, "unreachable") == 0)
        c->unreachable++;
    else if (p->health && strcmp(p->health, "degraded") == 0)
        c->degraded++;
    return 0;
}

void admf_metrics(admf_service *a, li_buf *out)
{
    static const char *const names[X1_KIND_COUNT] = { "warrants", "destinations",
                                                      "cert_exceptions", "intercept_points" };
    size_t counts[X1_KIND_COUNT];
    pthread_mutex_lock(&a->state_mu);
    for (int k = 0; k < X1_KIND_COUNT; k++)
        counts[k] = admf_store_count(a->store, (x1_kind)k);
    size_t n_audit = a->n_audit;
    poi_alarms alarms = { 0, 0 };
    admf_store_each(a->store, X1_KIND_POI, NULL, count_alarm, &alarms);
    pthread_mutex_unlock(&a->state_mu);
    li_metrics_put_family(out, "limf_admf_objects", "gauge", "Objects in the store");
    for (int k = 0; k < X1_KIND_COUNT; k++) {
        char label[64] = "";
        li_metrics_label(label, sizeof label, "kind", names[k]);
        li_metrics_put_labeled(out, "limf_admf_objects", label, counts[k]);
    }
    li_metrics_put_family(out, "limf_admf_intercept_points_alarmed", "gauge",
                          "Intercept points unreachable over X1, or degraded");
    li_metrics_put_labeled(out, "limf_admf_intercept_points_alarmed", "health=\"unreachable\"",
                           alarms.unreachable);
    li_metrics_put_labeled(out, "limf_admf_intercept_points_alarmed", "health=\"degraded\"",
                           alarms.degraded);
    li_metrics_put(out, "limf_admf_audit_events", "gauge", "Events in the audit trail",
                   n_audit);
    li_metrics_put_family(out, "limf_admf_writes_total", "counter", "Writes by outcome");
    li_metrics_put_labeled(out, "limf_admf_writes_total", "outcome=\"accepted\"",
                           atomic_load(&a->writes_ok));
    li_metrics_put_labeled(out, "limf_admf_writes_total", "outcome=\"refused\"",
                           atomic_load(&a->writes_refused));
    li_metrics_put_labeled(out, "limf_admf_writes_total", "outcome=\"failed\"",
                           atomic_load(&a->writes_failed));
    li_metrics_put_family(out, "limf_admf_write_seconds_sum", "counter",
                          "Seconds spent in writes");
    li_metrics_put_labeled_gauge(out, "limf_admf_write_seconds_sum", NULL,
                                 (double)atomic_load(&a->write_ns_sum) / 1e9);
    li_metrics_put(out, "limf_admf_store_healthy", "gauge", "1 while the store of record works",
                   (uint64_t)admf_healthy(a));
}
