/* The ADMF's audit trail on limf.audit (admf_internal.h, docs/REST.md "Audit trail"):
 * events chained under the audit key, signed checkpoints, the in-memory window for
 * queries and exports, verification, the start-up check with its read-only mode, and
 * refused authentications aggregated per source and interval. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admf_internal.h"
#include "admf_validate.h"
#include "li_ident.h"
#include "li_log.h"
#include "li_time.h"

/* ---- configuration ---- */

/* admf.audit_key_file: the key new events are MACed with; admf.audit_previous_key_files:
 * space-separated files of keys retired by rotation, still needed to verify old events. */
static li_err load_keys(admf_service *a, char *errstr, size_t errstr_size)
{
    const char *cur = li_config_get(a->cfg, "admf.audit_key_file", NULL);
    if (!cur || !*cur) {
        snprintf(errstr, errstr_size, "admf.audit_key_file is required (the audit key)");
        return LI_ERR_INVAL;
    }
    if (audit_chain_key_load(cur, &a->keys[0], errstr, errstr_size) != LI_OK)
        return LI_ERR_INVAL;
    a->n_keys = 1;
    char list[1024];
    snprintf(list, sizeof list, "%s", li_config_get(a->cfg, "admf.audit_previous_key_files", ""));
    char *save = NULL;
    for (char *p = strtok_r(list, " ,", &save); p; p = strtok_r(NULL, " ,", &save)) {
        if (a->n_keys == AUDIT_CHAIN_MAX_KEYS) {
            snprintf(errstr, errstr_size, "at most %d audit keys", AUDIT_CHAIN_MAX_KEYS);
            return LI_ERR_INVAL;
        }
        if (audit_chain_key_load(p, &a->keys[a->n_keys++], errstr, errstr_size) != LI_OK)
            return LI_ERR_INVAL;
    }
    return LI_OK;
}

li_err admf_audit_setup(admf_service *a, char *errstr, size_t errstr_size)
{
    int64_t max_audit, every, seconds, refusal_s;
    if (li_config_get_int(a->cfg, "admf.audit_memory_events", 250000, 10, 100000000,
                          &max_audit, errstr, errstr_size) != LI_OK ||
        li_config_get_int(a->cfg, "admf.audit_checkpoint_events", 1000, 1, 1000000, &every,
                          errstr, errstr_size) != LI_OK ||
        li_config_get_int(a->cfg, "admf.audit_checkpoint_seconds", 60, 1, 86400, &seconds,
                          errstr, errstr_size) != LI_OK ||
        li_config_get_int(a->cfg, "admf.auth_refusal_interval_seconds", 60, 1, 3600,
                          &refusal_s, errstr, errstr_size) != LI_OK)
        return LI_ERR_INVAL;
    a->max_audit = (size_t)max_audit;
    a->checkpoint_every = (uint64_t)every;
    a->checkpoint_ms = seconds * 1000;
    a->refusal_interval_ms = refusal_s * 1000;
    return load_keys(a, errstr, errstr_size);
}

/* ---- the in-memory window ---- */

/* Frees the events held in memory (they stay in limf.audit). */
static void audit_forget(admf_service *a)
{
    for (size_t i = a->n_audit - a->held_audit; i < a->n_audit; i++)
        limf__audit_event__free_unpacked(a->audit[i % a->max_audit], NULL);
    a->held_audit = 0;
}

/* Keeps ev, event n_audit, in memory (ev is owned from now on) and counts it. The caller
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

void admf_audit_free(admf_service *a)
{
    audit_forget(a);
    free(a->audit);
    a->audit = NULL;
}

/* ---- appending ---- */

void admf_audit_event_init(Limf__AuditEvent *ev, const x1_principal *who, const char *action,
                           const char *object, const char *outcome, const char *reason,
                           const char *detail)
{
    limf__audit_event__init(ev);
    ev->at_ms = admf_now_ms();
    ev->actor = (char *)(who ? who->name : "");
    ev->role = (char *)(who ? who->role : "");
    ev->action = (char *)action;
    ev->object = (char *)(object ? object : "");
    ev->outcome = (char *)outcome;
    ev->reason = (char *)(reason ? reason : "");
    ev->detail = (char *)(detail ? detail : "");
}

/* Chains ev as the next event, sends it and keeps it in memory. The caller holds audit_mu.
 * Kafka keeps the order of one producer's records to one partition (idempotent producer),
 * so the chain's order is the topic's. */
static li_err append_locked(admf_service *a, Limf__AuditEvent *ev, admf_ack *ack)
{
    uint8_t hash[32], *packed;
    li_err e = LI_ERR_NOMEM;
    ev->index = a->n_audit;
    ev->prev_hash.data = a->audit_head;
    ev->prev_hash.len = 32;
    ev->key_id = a->keys[0].id;
    if (audit_chain_hash(ev, &a->keys[0], hash) != LI_OK)
        return LI_ERR;
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
        e = admf_produce(a, a->audit_topic, "audit", packed, n, ack);
        if (e == LI_OK) {
            /* Sent: the chain moves on even if memory cannot keep the copy. */
            memcpy(a->audit_head, hash, 32);
            audit_keep(a, copy);
            copy = NULL;
        }
    }
    pthread_mutex_unlock(&a->state_mu);
    limf__audit_event__free_unpacked(copy, NULL);
    free(packed);
    if (e == LI_OK) {
        atomic_fetch_add(&a->audit_events, 1);
        a->since_checkpoint++;
    }
    return e;
}

/* Signs a checkpoint of the head (the last event) and appends it as an event
 * "audit.checkpoint" whose detail is the checkpoint: exports then carry the anchors an
 * auditor may pick. Nobody waits for its acknowledgement (a failure fails the store).
 * The caller holds audit_mu. */
static void checkpoint_locked(admf_service *a)
{
    audit_checkpoint cp;
    Limf__AuditEvent ev;
    char object[40];
    if (a->n_audit == 0)
        return;
    memset(&cp, 0, sizeof cp);
    cp.index = a->n_audit - 1;
    memcpy(cp.head, a->audit_head, 32);
    cp.at_ms = admf_now_ms();
    if (audit_checkpoint_sign(&cp, &a->keys[0]) != LI_OK)
        return;
    json_t *j = audit_checkpoint_to_json(&cp);
    char *detail = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    snprintf(object, sizeof object, "audit/%" PRIu64, cp.index);
    admf_audit_event_init(&ev, admf_system(), "audit.checkpoint", object, "ok", NULL, detail);
    if (detail && append_locked(a, &ev, NULL) == LI_OK) {
        a->checkpoint = cp;
        a->has_checkpoint = 1;
        a->since_checkpoint = 0;
        a->last_checkpoint_ms = cp.at_ms;
    }
    free(detail);
}

li_err admf_audit_enqueue(admf_service *a, Limf__AuditEvent *ev, admf_ack *ack)
{
    pthread_mutex_lock(&a->audit_mu);
    li_err e = append_locked(a, ev, ack);
    if (e == LI_OK && a->since_checkpoint >= a->checkpoint_every)
        checkpoint_locked(a);
    pthread_mutex_unlock(&a->audit_mu);
    return e;
}

li_err admf_audit(admf_service *a, const x1_principal *who, const char *action,
                  const char *object, const char *outcome, const char *reason,
                  const char *detail)
{
    Limf__AuditEvent ev;
    admf_ack ack;
    admf_audit_event_init(&ev, who, action, object, outcome, reason, detail);
    li_err e = admf_audit_enqueue(a, &ev, &ack);
    if (e != LI_OK)
        return e;
    rd_kafka_resp_err_t err = admf_ack_wait(&ack);
    if (err) {
        admf_fail_store(a, "an audit event", err);
        return LI_ERR_KAFKA;
    }
    return LI_OK;
}

void admf_audit_checkpoint(admf_service *a, x1_result *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&a->audit_mu);
    if (a->has_checkpoint) {
        out->status = 200;
        out->body = audit_checkpoint_to_json(&a->checkpoint);
    }
    pthread_mutex_unlock(&a->audit_mu);
    if (!out->body)
        x1_result_error(out, 404, "not_found", "", "no checkpoint yet (the trail is empty)");
}

/* ---- least knowledge ---- */

/* The pseudonym of a target identity: of its canonical form, so that every spelling of
 * one identity (and a ?target= look-up of it) gets the same pseudonym. */
static void target_pseudonym(admf_service *a, const char *type, const char *value,
                             char out[AUDIT_PSEUDONYM_SIZE])
{
    char canon[LI_IDENT_MAX];
    if (!type || li_ident_canon_target(type, value, canon, sizeof canon) != LI_OK)
        snprintf(canon, sizeof canon, "%s", value ? value : "");
    if (audit_chain_pseudonym(&a->keys[0], "target", canon, out) != LI_OK)
        snprintf(out, AUDIT_PSEUDONYM_SIZE, "hmac:?");
}

void admf_audit_pseudonymize(admf_service *a, json_t *warrant)
{
    char p[AUDIT_PSEUDONYM_SIZE];
    json_t *liid = json_object_get(warrant, "liid"), *t;
    size_t i;
    if (json_is_string(liid) &&
        audit_chain_pseudonym(&a->keys[0], "liid", json_string_value(liid), p) == LI_OK)
        json_object_set_new(warrant, "liid", json_string(p));
    json_array_foreach(json_object_get(warrant, "targets"), i, t) {
        target_pseudonym(a, json_string_value(json_object_get(t, "type")),
                         json_string_value(json_object_get(t, "value")), p);
        json_object_set_new(t, "value", json_string(p));
    }
}

void admf_audit_read(admf_service *a, const x1_principal *who, const char *id,
                     const x1_query *q, int status)
{
    char p[AUDIT_PSEUDONYM_SIZE], object[X1_MAX_ID + 16];
    const char *target = id ? NULL : x1_query_get(q, "target");
    json_t *d = json_object();
    if (target) {
        char canon[LI_IDENT_MAX];
        if (li_ident_canon(target, strlen(target), canon, sizeof canon) != LI_OK)
            snprintf(canon, sizeof canon, "%s", target);
        if (audit_chain_pseudonym(&a->keys[0], "target", canon, p) == LI_OK)
            json_object_set_new(d, "target", json_string(p));
    }
    json_object_set_new(d, "status", json_integer(status));
    char *detail = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    snprintf(object, sizeof object, "warrant/%s", id ? id : "");
    if (admf_audit(a, who, id ? "warrant.read" : target ? "warrant.lookup" : "warrant.list",
                   object, status < 400 ? "ok" : "refused", NULL, detail) != LI_OK)
        li_log_error("audit trail unavailable: a read of warrants was not recorded");
    free(detail);
}

/* ---- refused authentications, aggregated ---- */

void admf_auth_refused(admf_service *a, const x1_principal *who, const char *source,
                       const char *request)
{
    int64_t now = admf_now_ms();
    atomic_fetch_add(&a->auth_refused, 1);
    pthread_mutex_lock(&a->refusal_mu);
    admf_refusals *r = NULL;
    for (size_t i = 0; i < a->n_refusals && !r; i++)
        if (strcmp(a->refusals[i].source, source) == 0 &&
            strcmp(a->refusals[i].actor, who->name) == 0)
            r = &a->refusals[i];
    if (!r && a->n_refusals < ADMF_REFUSAL_SOURCES) {
        r = &a->refusals[a->n_refusals++];
        snprintf(r->source, sizeof r->source, "%s", source);
        snprintf(r->actor, sizeof r->actor, "%s", who->name);
        snprintf(r->sample, sizeof r->sample, "%s", request);
        r->count = 0;
        r->first_ms = now;
    }
    if (r) {
        r->count++;
        r->last_ms = now;
    } else {
        a->refusals_overflow++;
    }
    pthread_mutex_unlock(&a->refusal_mu);
}

/* Writes one "auth.fail" event per source refused during the interval that ended. */
static void flush_refusals(admf_service *a)
{
    admf_refusals batch[ADMF_REFUSAL_SOURCES];
    size_t n;
    uint64_t overflow;
    pthread_mutex_lock(&a->refusal_mu);
    n = a->n_refusals;
    memcpy(batch, a->refusals, n * sizeof *batch);
    overflow = a->refusals_overflow;
    a->n_refusals = 0;
    a->refusals_overflow = 0;
    pthread_mutex_unlock(&a->refusal_mu);
    for (size_t i = 0; i <= n; i++) {
        x1_principal who = { "", "" };
        if (i == n && !overflow)
            break;
        if (i < n)
            snprintf(who.name, sizeof who.name, "%s", batch[i].actor);
        json_t *d = i < n ? json_pack("{s:I,s:I,s:I,s:s}", "count", (json_int_t)batch[i].count,
                                      "first_ms", (json_int_t)batch[i].first_ms, "last_ms",
                                      (json_int_t)batch[i].last_ms, "first_request",
                                      batch[i].sample)
                          : json_pack("{s:I}", "count", (json_int_t)overflow);
        char *detail = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(d);
        if (admf_audit(a, &who, "auth.fail", i < n ? batch[i].source : "other-sources",
                       "refused", "no valid client certificate or token", detail) != LI_OK)
            li_log_error("audit trail unavailable: refused authentications not recorded");
        free(detail);
    }
}

/* Checkpoints by time and refusal flushes, until the service stops (then the pending
 * refusals are written: the poller still runs). */
void *admf_housekeeper_main(void *arg)
{
    admf_service *a = arg;
    int64_t next_flush = admf_now_ms() + a->refusal_interval_ms;
    while (!atomic_load(&a->stop)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L)
            ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_mutex_lock(&a->hk_mu);
        if (!atomic_load(&a->stop))
            pthread_cond_timedwait(&a->hk_cv, &a->hk_mu, &ts);
        pthread_mutex_unlock(&a->hk_mu);
        if (atomic_load(&a->stop) || atomic_load(&a->failed))
            continue;
        int64_t now = admf_now_ms();
        if (now >= next_flush) {
            flush_refusals(a);
            next_flush = now + a->refusal_interval_ms;
        }
        pthread_mutex_lock(&a->audit_mu);
        if (a->since_checkpoint && now - a->last_checkpoint_ms >= a->checkpoint_ms)
            checkpoint_locked(a);
        pthread_mutex_unlock(&a->audit_mu);
    }
    if (!atomic_load(&a->failed))
        flush_refusals(a);
    return NULL;
}

/* ---- start-up: rebuilding and checking the trail ---- */

typedef struct restore_ctx {
    admf_service *a;
    audit_chain_verifier v;
    uint64_t unparsable;
} restore_ctx;

/* 1 when ev is an admin's acknowledgement of this break (the same first broken event),
 * MACed under one of our keys (so not forged by whoever broke the chain). */
static int acknowledges(const admf_service *a, const Limf__AuditEvent *ev,
                        const audit_chain_verifier *v)
{
    uint8_t h[32];
    if (!ev->action || strcmp(ev->action, "audit.acknowledge") != 0 || !ev->key_id)
        return 0;
    json_t *d = json_loads(ev->detail ? ev->detail : "", 0, NULL);
    json_t *idx = json_object_get(d, "broken_index");
    int same = json_is_integer(idx) && (uint64_t)json_integer_value(idx) == v->broken_index;
    json_decref(d);
    if (!same)
        return 0;
    for (size_t i = 0; i < a->n_keys; i++)
        if (strcmp(a->keys[i].id, ev->key_id) == 0)
            return audit_chain_hash(ev, &a->keys[i], h) == LI_OK &&
                   memcmp(h, ev->hash.data, 32) == 0;
    return 0;
}

/* The break before an acknowledgement was accepted by an admin (and stays visible to
 * GET /v1/audit/verify): the start-up check goes on from the acknowledgement. */
static void restart_verifier(admf_service *a, audit_chain_verifier *v,
                             const Limf__AuditEvent *ack)
{
    audit_checkpoint cp;
    memset(&cp, 0, sizeof cp);
    cp.index = ack->index;
    memcpy(cp.head, ack->hash.data, 32);
    audit_chain_verifier_init(v, a->keys, a->n_keys);
    if (audit_checkpoint_sign(&cp, &a->keys[0]) == LI_OK)
        audit_chain_verifier_anchor(v, &cp);
}

static void restore_one(void *ctx, const rd_kafka_message_t *m)
{
    restore_ctx *r = ctx;
    admf_service *a = r->a;
    Limf__AuditEvent *ev = limf__audit_event__unpack(NULL, m->len, m->payload);
    if (!ev || ev->hash.len != 32) {
        li_log_error("limf.audit offset %" PRId64 ": unparsable event", m->offset);
        if (!r->v.broken) {
            r->v.broken = 1;
            r->v.broken_index = a->n_audit;
            snprintf(r->v.reason, sizeof r->v.reason, "unparsable event at offset %" PRId64,
                     m->offset);
        }
        limf__audit_event__free_unpacked(ev, NULL);
        return;
    }
    if (audit_chain_verifier_feed(&r->v, ev) != LI_OK && acknowledges(a, ev, &r->v))
        restart_verifier(a, &r->v, ev);
    /* The next event follows the last stored one, whatever came before (events lost
     * to retention or deleted): indices never repeat. */
    if (ev->index != a->n_audit) {
        audit_forget(a);
        a->n_audit = (size_t)ev->index;
    }
    memcpy(a->audit_head, ev->hash.data, 32);
    a->since_checkpoint++;
    if (ev->action && strcmp(ev->action, "audit.checkpoint") == 0) {
        a->since_checkpoint = 0;
        audit_checkpoint cp;
        json_t *j = json_loads(ev->detail ? ev->detail : "", 0, NULL);
        if (j && audit_checkpoint_from_json(j, &cp) == LI_OK &&
            audit_checkpoint_valid(&cp, &a->keys[0])) {
            a->checkpoint = cp;
            a->has_checkpoint = 1;
            a->last_checkpoint_ms = cp.at_ms;
        }
        json_decref(j);
    }
    audit_keep(a, ev);
}

li_err admf_audit_restore(admf_service *a, char *errstr, size_t errstr_size)
{
    restore_ctx r = { .a = a };
    int retention_ok = 0;
    if (admf_audit_topic_ensure(a, &retention_ok, errstr, errstr_size) != LI_OK)
        return LI_ERR_KAFKA;
    atomic_store(&a->retention_ok, retention_ok);
    if (!retention_ok)
        li_log_error("ALARM: %s does not keep its events for ever (retention.ms and "
                     "retention.bytes must be -1): the audit trail will lose events",
                     a->audit_topic);
    audit_chain_verifier_init(&r.v, a->keys, a->n_keys);
    int64_t end = 0;
    if (admf_read_topic(a->cfg, a->audit_topic, restore_one, &r, &end, errstr, errstr_size) !=
        LI_OK)
        return LI_ERR_KAFKA;
    if (r.v.count == 0 && !r.v.broken && end > 0) {
        /* Records were written but none is left: every event was deleted. The last index
         * is unknown; the topic's end offset is at least one past it (each event took an
         * offset), so indices still never repeat. */
        a->n_audit = (size_t)end;
        r.v.broken = 1;
        r.v.broken_index = (uint64_t)end;
        snprintf(r.v.reason, sizeof r.v.reason, "every event was deleted from the topic");
    }
    if (r.v.broken) {
        a->read_only_index = r.v.broken_index;
        snprintf(a->read_only_reason, sizeof a->read_only_reason,
                 "chain broken at event %" PRIu64 ": %s", r.v.broken_index, r.v.reason);
        atomic_store(&a->read_only, 1);
        li_log_error("ALARM: limf.audit %s; read-only until an admin acknowledges "
                     "(POST /v1/audit/acknowledge)", a->read_only_reason);
    }
    pthread_mutex_lock(&a->audit_mu);
    if (a->since_checkpoint || !a->has_checkpoint)
        checkpoint_locked(a); /* anchors the head found, under the current key */
    pthread_mutex_unlock(&a->audit_mu);
    return LI_OK;
}

void admf_audit_acknowledge(admf_service *a, const x1_principal *who, const char *reason,
                            x1_result *out)
{
    char was[200];
    uint64_t index;
    memset(out, 0, sizeof *out);
    if (!reason || !*reason) {
        x1_result_error(out, 400, "reason_required", "X-Reason",
                        "acknowledging a broken chain needs a reason (X-Reason)");
        return;
    }
    pthread_mutex_lock(&a->audit_mu);
    snprintf(was, sizeof was, "%s", a->read_only_reason);
    index = a->read_only_index;
    int ro = atomic_load(&a->read_only);
    pthread_mutex_unlock(&a->audit_mu);
    if (!ro) {
        x1_result_error(out, 409, "not_read_only", "", "the service is not in read-only mode");
        return;
    }
    /* broken_index: the break this acknowledges, so that at the next start it covers that
     * break and no other. */
    json_t *d = json_pack("{s:s,s:I}", "read_only_reason", was, "broken_index",
                          (json_int_t)index);
    char *detail = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    li_err e = admf_audit(a, who, "audit.acknowledge", "audit", "accepted", reason, detail);
    free(detail);
    if (e != LI_OK) {
        x1_result_error(out, 503, "audit_unavailable", "", "the audit trail is unavailable");
        return;
    }
    atomic_store(&a->read_only, 0);
    li_log_warn("read-only mode acknowledged by %s: %s", who->name, was);
    out->status = 200;
    out->body = json_pack("{s:b,s:s}", "read_only", 0, "acknowledged", was);
}

int admf_read_only(admf_service *a)
{
    return atomic_load(&a->read_only);
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

/* Appends j as one line and drops the reference. */
static void jsonl_append(li_buf *out, json_t *j)
{
    char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (line) {
        li_buf_append(out, line, strlen(line));
        li_buf_append_u8(out, '\n');
    }
    free(line);
    json_decref(j);
}

/* {"checkpoint": ...} of the event before `first`, the line an export that does not start
 * at event 0 opens with: the ADMF attests, under the audit key, where the export starts,
 * so that dropping the file's first lines is still seen (limf-audit-verify accepts such a
 * line only first). */
static json_t *start_checkpoint(admf_service *a, const Limf__AuditEvent *first)
{
    audit_checkpoint cp;
    memset(&cp, 0, sizeof cp);
    cp.index = first->index - 1;
    memcpy(cp.head, first->prev_hash.data, 32);
    cp.at_ms = admf_now_ms();
    if (first->prev_hash.len != 32 || audit_checkpoint_sign(&cp, &a->keys[0]) != LI_OK)
        return NULL;
    return json_pack("{s:o}", "checkpoint", audit_checkpoint_to_json(&cp));
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

/* A query of the trail: its filters and where it stands. */
typedef struct audit_query {
    const x1_query *q;
    int64_t from, to;
    size_t limit, count;
    uint64_t next;             /* the next index to look at */
} audit_query;

static int audit_query_parse(const x1_query *q, int jsonl_format, audit_query *f,
                             x1_result *out)
{
    static const char *const known[] = { "from", "to", "actor", "action", "outcome", "role",
                                         "object", "after", "limit", "format", NULL };
    memset(f, 0, sizeof *f);
    f->q = q;
    for (size_t i = 0; i < q->n; i++) {
        int ok = 0;
        for (const char *const *k = known; *k; k++)
            ok |= strcmp(*k, q->keys[i]) == 0;
        if (!ok) {
            x1_result_error(out, 400, "invalid_filter", q->keys[i], "unknown query parameter");
            return 0;
        }
    }
    if (!query_time(q, "from", INT64_MIN, &f->from, out) ||
        !query_time(q, "to", INT64_MAX, &f->to, out) || !admf_parse_limit(q, &f->limit, out))
        return 0;
    if (jsonl_format && !x1_query_get(q, "limit"))
        f->limit = SIZE_MAX;
    const char *after = x1_query_get(q, "after");
    if (after) {
        char *end;
        f->next = strtoull(after, &end, 10) + 1;
        if (*end || !*after || *after == '-') {
            x1_result_error(out, 400, "invalid_cursor", "after", "after is an event index");
            return 0;
        }
    }
    return 1;
}

void admf_audit_list(admf_service *a, const x1_query *q, x1_result *out)
{
    audit_query f;
    memset(out, 0, sizeof *out);
    if (!audit_query_parse(q, 0, &f, out))
        return;
    json_t *items = json_array();
    uint64_t last = 0;
    int more = 0;
    pthread_mutex_lock(&a->state_mu);
    if (f.next < a->n_audit - a->held_audit)
        f.next = a->n_audit - a->held_audit; /* older events are in limf.audit only */
    for (uint64_t i = f.next; i < a->n_audit; i++) {
        const Limf__AuditEvent *ev = a->audit[i % a->max_audit];
        if (!audit_matches(ev, q, f.from, f.to))
            continue;
        if (f.count == f.limit) {
            more = 1;
            break;
        }
        json_array_append_new(items, audit_chain_to_json(ev));
        f.count++;
        last = i;
    }
    pthread_mutex_unlock(&a->state_mu);
    out->status = 200;
    out->body = json_pack("{s:o,s:o}", "items", items, "next",
                          more ? json_integer((json_int_t)last) : json_null());
}

/* ---- the JSON-lines export, streamed ---- */

struct admf_export {
    admf_service *a;
    x1_query q;                /* a copy, its strings in `strings` */
    char *strings;
    audit_query f;
    li_buf pending;            /* rendered lines not yet handed out */
    int at_end;
};

/* Events rendered per lock: the writers wait for state_mu at most this long. */
#define EXPORT_BATCH 256

admf_export *admf_audit_export_new(admf_service *a, const x1_query *q, x1_result *out)
{
    size_t total = 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < q->n; i++)
        total += strlen(q->keys[i]) + strlen(q->values[i]) + 2;
    admf_export *e = calloc(1, sizeof *e);
    char *p = e ? (e->strings = malloc(total + 1)) : NULL;
    if (!p) {
        admf_audit_export_free(e);
        x1_result_error(out, 500, "internal", "", "out of memory");
        return NULL;
    }
    e->a = a;
    for (size_t i = 0; i < q->n; i++) {
        e->q.keys[i] = strcpy(p, q->keys[i]);
        p += strlen(p) + 1;
        e->q.values[i] = strcpy(p, q->values[i]);
        p += strlen(p) + 1;
    }
    e->q.n = q->n;
    li_buf_init(&e->pending, 0);
    if (!audit_query_parse(&e->q, 1, &e->f, out)) {
        admf_audit_export_free(e);
        return NULL;
    }
    return e;
}

/* Renders the next batch of matching events into e->pending. -1 when the window moved
 * past the export (its next events are in limf.audit only). */
static int export_batch(admf_export *e)
{
    admf_service *a = e->a;
    int rc = 0;
    pthread_mutex_lock(&a->state_mu);
    uint64_t first = a->n_audit - a->held_audit;
    if (e->f.next < first) {
        if (e->f.count)
            rc = -1;
        e->f.next = first;
    }
    for (int n = 0; rc == 0 && n < EXPORT_BATCH && e->f.next < a->n_audit; n++) {
        const Limf__AuditEvent *ev = a->audit[e->f.next++ % a->max_audit];
        if (!audit_matches(ev, &e->q, e->f.from, e->f.to))
            continue;
        if (e->f.count == e->f.limit) {
            e->at_end = 1;
            break;
        }
        if (e->f.count == 0 && ev->index > 0)
            jsonl_append(&e->pending, start_checkpoint(a, ev));
        jsonl_append(&e->pending, audit_chain_to_json(ev));
        e->f.count++;
    }
    if (e->f.next >= a->n_audit)
        e->at_end = 1;
    pthread_mutex_unlock(&a->state_mu);
    return rc;
}

ssize_t admf_audit_export_read(admf_export *e, char *buf, size_t max)
{
    while (e->pending.len < max && !e->at_end)
        if (export_batch(e) != 0)
            return -1;
    size_t n = e->pending.len < max ? e->pending.len : max;
    memcpy(buf, e->pending.data, n);
    li_buf_consume(&e->pending, n);
    return (ssize_t)n;
}

void admf_audit_export_free(admf_export *e)
{
    if (!e)
        return;
    li_buf_free(&e->pending);
    free(e->strings);
    free(e);
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
    audit_chain_verifier_init(&c.v, a->keys, a->n_keys);
    pthread_mutex_lock(&a->audit_mu);
    if (a->has_checkpoint)
        audit_chain_verifier_anchor(&c.v, &a->checkpoint);
    pthread_mutex_unlock(&a->audit_mu);
    c.broken_offset = -1;
    if (admf_read_topic(a->cfg, a->audit_topic, verify_one, &c, NULL, errstr, sizeof errstr) != LI_OK) {
        x1_result_error(out, 503, "store_unavailable", "", errstr);
        return;
    }
    audit_chain_verifier_finish(&c.v);
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
