/* The ADMF service's lifecycle and the mutations of the store of record (admf.h,
 * admf_internal.h for how the service is split across files). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admf_internal.h"
#include "admin.pb-c.h"
#include "admf_json.h"
#include "admf_validate.h"
#include "li_ident.h"
#include "li_kafka.h"
#include "li_log.h"
#include "li_metrics.h"
#include "li_time.h"

static const x1_principal system_principal = { "limf-admf", "system" };

const x1_principal *admf_system(void)
{
    return &system_principal;
}

int64_t admf_now_ms(void)
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
    /* RFC 9457 problem details; "code" and "field" are extension members (9457 3.2). */
    char type[80];
    snprintf(type, sizeof type, "urn:limf:problem:%s", code);
    r->body = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "type", type, "title", code, "status",
                        status, "detail", message, "code", code, "field", field ? field : "");
}

int admf_healthy(admf_service *a)
{
    return !atomic_load(&a->failed);
}

/* ---- lifecycle ---- */

static void restore_admin(void *ctx, const rd_kafka_message_t *m)
{
    admf_service *a = ctx;
    if (admf_store_apply(a->store, m->key, m->key_len, m->payload, m->len) != LI_OK)
        li_log_warn("limf.admin offset %" PRId64 ": unparsable record skipped", m->offset);
}

admf_service *admf_new(const li_config *cfg, char *errstr, size_t errstr_size)
{
    /* Each write waits for its acknowledgement: no batching delay, no Nagle delay. */
    static const char *const props[] = { "enable.idempotence", "true", "acks", "all",
                                         "linger.ms", "0", "socket.nagle.disable", "true",
                                         NULL };
    admf_service *a = calloc(1, sizeof *a);
    int64_t timeout_ms;
    int threads = 0;
    if (!a) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    a->cfg = cfg;
    pthread_mutex_init(&a->write_mu, NULL);
    pthread_mutex_init(&a->state_mu, NULL);
    pthread_mutex_init(&a->audit_mu, NULL);
    pthread_mutex_init(&a->refusal_mu, NULL);
    pthread_mutex_init(&a->hk_mu, NULL);
    pthread_cond_init(&a->hk_cv, NULL);
    li_kafka_topic(cfg, "limf.admin", a->admin_topic, sizeof a->admin_topic);
    li_kafka_topic(cfg, "limf.audit", a->audit_topic, sizeof a->audit_topic);
    if (li_config_get_int(cfg, "admf.write_timeout_ms", 10000, 1000, 600000, &timeout_ms,
                          errstr, errstr_size) != LI_OK ||
        admf_audit_setup(a, errstr, errstr_size) != LI_OK)
        goto fail;
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%" PRId64, timeout_ms);
    const char *extra[] = { props[0], props[1], props[2], props[3], props[4], props[5],
                            props[6], props[7], "message.timeout.ms", timeout, NULL };
    a->producer = li_kafka_producer_new(cfg, extra, admf_on_delivery, a, errstr, errstr_size);
    if (!a->producer)
        goto fail;
    /* One partition: limf.admin's order is the order of decisions (limf.audit's, the
     * chain's: admf_audit_topic_ensure). */
    if (li_kafka_ensure_topic(a->producer, a->admin_topic, 1, 1, 15000, errstr,
                              errstr_size) != LI_OK)
        goto fail;
    if (!(a->store = admf_store_new())) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    if (admf_read_topic(cfg, a->admin_topic, restore_admin, a, NULL, errstr, errstr_size) != LI_OK ||
        admf_pois_setup(a, errstr, errstr_size) != LI_OK)
        goto fail;
    /* The poller signals deliveries, which the start-up checkpoint may wait for. */
    if (pthread_create(&a->poller, NULL, admf_poll_main, a) != 0) {
        snprintf(errstr, errstr_size, "cannot start the Kafka poller");
        goto fail;
    }
    threads = 1;
    if (admf_audit_restore(a, errstr, errstr_size) != LI_OK)
        goto fail;
    li_log_info("state rebuilt: %zu warrants, %zu destinations, %zu exceptions, %zu intercept "
                "points, %zu audit events",
                admf_store_count(a->store, X1_KIND_WARRANT),
                admf_store_count(a->store, X1_KIND_DESTINATION),
                admf_store_count(a->store, X1_KIND_EXCEPTION),
                admf_store_count(a->store, X1_KIND_POI), a->n_audit);
    if (pthread_create(&a->housekeeper, NULL, admf_housekeeper_main, a) != 0) {
        snprintf(errstr, errstr_size, "cannot start the audit housekeeper");
        goto fail;
    }
    return a;
fail:
    if (threads) {
        atomic_store(&a->stop, 1);
        pthread_join(a->poller, NULL);
    }
    admf_store_free(a->store);
    li_kafka_destroy(a->producer, 0);
    admf_audit_free(a);
    free(a);
    return NULL;
}

void admf_free(admf_service *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->hk_mu);
    atomic_store(&a->stop, 1);
    pthread_cond_signal(&a->hk_cv);
    pthread_mutex_unlock(&a->hk_mu);
    pthread_join(a->housekeeper, NULL);
    /* Take the writer lock so that no mutation is half-done when the producer goes. */
    pthread_mutex_lock(&a->write_mu);
    pthread_join(a->poller, NULL);
    li_kafka_destroy(a->producer, 10000);
    pthread_mutex_unlock(&a->write_mu);
    admf_store_free(a->store);
    admf_audit_free(a);
    pthread_mutex_destroy(&a->write_mu);
    pthread_mutex_destroy(&a->state_mu);
    pthread_mutex_destroy(&a->audit_mu);
    pthread_mutex_destroy(&a->refusal_mu);
    pthread_mutex_destroy(&a->hk_mu);
    pthread_cond_destroy(&a->hk_cv);
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
    char suffix[LI_KAFKA_SUFFIX_LEN + 1];   /* a destination's topic_suffix */
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

/* The "why" of a change (docs/REST.md): the X-Reason header, else a warrant's legal
 * reference or an exception's reason when the request sets it to a new value: echoing the
 * stored value explains nothing. */
static const char *reason_of(x1_kind kind, const json_t *body, const ProtobufCMessage *cur,
                             const char *header)
{
    if (header && *header)
        return header;
    const char *field = kind == X1_KIND_WARRANT ? "legal_reference"
                        : kind == X1_KIND_EXCEPTION ? "reason" : NULL;
    json_t *v = field && body ? json_object_get(body, field) : NULL;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return NULL;
    const char *stored = !cur ? NULL : kind == X1_KIND_WARRANT
                             ? ((const Limf__Warrant *)cur)->legal_reference
                             : ((const Limf__CertException *)cur)->reason;
    if (stored && strcmp(stored, json_string_value(v)) == 0)
        return NULL;
    return json_string_value(v);
}

static void action_name(x1_kind kind, const char *verb, char *out, size_t n)
{
    snprintf(out, n, "%s.%s", x1_kind_name(kind), verb);
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

/* A destination's topic suffix (docs/SECURITY.md, "Agencies"): 16 random octets in hex,
 * drawn when the destination is created and when it is re-pointed without its backlog;
 * otherwise the current one is kept. A destination stored before suffixes existed gets
 * its first one at its next change. */
static void destination_suffix(built *b, const Limf__Destination *cur, int fresh)
{
    uint8_t r[LI_KAFKA_SUFFIX_LEN / 2];
    if (!fresh && cur && cur->topic_suffix && strlen(cur->topic_suffix) == LI_KAFKA_SUFFIX_LEN) {
        snprintf(b->suffix, sizeof b->suffix, "%s", cur->topic_suffix);
    } else {
        li_uuid_random(r);   /* 122 random bits; the name need only never repeat */
        li_hex_encode(r, sizeof r, b->suffix);
    }
    b->m.d.topic_suffix = b->suffix;
}

/* Finishes a built object for storage: kind-specific fields kept or derived. `cur` is
 * the current object on update (NULL on creation); fresh_suffix: a re-pointing that does
 * not keep the destination's backlog. */
static void finish(x1_kind kind, built *b, const ProtobufCMessage *cur, int64_t now,
                   int fresh_suffix)
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
    } else if (kind == X1_KIND_DESTINATION) {
        destination_suffix(b, (const Limf__Destination *)cur, fresh_suffix);
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

/* Audits a refusal and fills out. Called without the writer lock. */
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

/* One decision of the writer: a refusal, or a change sent to Kafka and applied to memory
 * whose acknowledgements are still to come. */
typedef struct decision {
    /* the refusal (sent == 0); copies: validation's verdict lives in the validator's frame */
    int status;
    char code[40], field[64];
    char message[200];
    /* the change (sent == 1) */
    int sent;
    x1_kind kind;
    uint64_t version;
    uint8_t *packed;           /* the record; NULL for a tombstone */
    size_t n;
    json_t *view;
    admf_ack rec_ack, audit_ack;
    li_err audit_err;
    uint64_t t0;
} decision;

__attribute__((format(printf, 5, 6))) static void refusal(decision *d, int status,
                                                          const char *code, const char *field,
                                                          const char *fmt, ...)
{
    va_list ap;
    d->status = status;
    snprintf(d->code, sizeof d->code, "%s", code);
    snprintf(d->field, sizeof d->field, "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof d->message, fmt, ap);
    va_end(ap);
}

/* Sends the record (msg, or a tombstone when NULL) and its audit event and applies the
 * record to memory, so that the next writer validates against it. The caller holds the
 * writer lock; commit_wait then waits for Kafka without it. */
static void commit_send(admf_service *a, x1_kind kind, const char *key,
                        const ProtobufCMessage *msg, uint64_t version, const char *action,
                        const x1_principal *who, const char *reason, int status, decision *d)
{
    char *detail = NULL;
    d->t0 = li_mono_ns();
    d->kind = kind;
    d->version = version;
    if (msg) {
        d->n = protobuf_c_message_get_packed_size(msg);
        d->packed = malloc(d->n ? d->n : 1);
        d->view = x1_json_render(kind, msg, admf_now_ms());
        if (!d->packed || !d->view) {
            free(d->packed), d->packed = NULL;
            json_decref(d->view), d->view = NULL;
            refusal(d, 500, "internal", "", "out of memory");
            return;
        }
        protobuf_c_message_pack(msg, d->packed);
        /* The trail names a warrant's targets and LIID only by pseudonym. */
        json_t *recorded = json_deep_copy(d->view);
        if (recorded && kind == X1_KIND_WARRANT)
            admf_audit_pseudonymize(a, recorded);
        detail = recorded ? json_dumps(recorded, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(recorded);
    } else {
        /* The deleted version: a re-creation continues after it (admf_store_retired). */
        json_t *j = json_pack("{s:b,s:I}", "deleted", 1, "version", (json_int_t)version);
        detail = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
    }
    if (admf_produce(a, a->admin_topic, key, d->packed, d->n, &d->rec_ack) != LI_OK) {
        free(detail);
        free(d->packed), d->packed = NULL;
        json_decref(d->view), d->view = NULL;
        atomic_fetch_add(&a->writes_failed, 1);
        refusal(d, 503, "store_unavailable", "", "the store of record is unavailable");
        return;
    }
    if (kind == X1_KIND_POI)
        admf_pois_publish(a, key, d->packed, d->n);
    Limf__AuditEvent ev;
    admf_audit_event_init(&ev, who, action, key, "accepted", reason, detail);
    d->audit_err = admf_audit_enqueue(a, &ev, &d->audit_ack);
    free(detail);
    pthread_mutex_lock(&a->state_mu);
    admf_store_apply(a->store, key, strlen(key), d->packed, d->n);
    if (!msg)
        admf_store_retire(a->store, kind, strchr(key, '/') + 1, version);
    pthread_mutex_unlock(&a->state_mu);
    atomic_fetch_add(&a->generation, 1);
    d->status = status;
    d->sent = 1;
}

/* Waits for both acknowledgements of a sent change and fills out; if Kafka failed, the
 * store fails for good (admf_fail_store). */
static void commit_wait(admf_service *a, decision *d, x1_result *out)
{
    rd_kafka_resp_err_t e1 = admf_ack_wait(&d->rec_ack);
    rd_kafka_resp_err_t e2 = d->audit_err == LI_OK ? admf_ack_wait(&d->audit_ack)
                                                   : RD_KAFKA_RESP_ERR__FAIL;
    if (e1 || e2) {
        admf_fail_store(a, e1 ? "a limf.admin record" : "an audit event", e1 ? e1 : e2);
        atomic_fetch_add(&a->writes_failed, 1);
        json_decref(d->view);
        x1_result_error(out, 503, "store_unavailable", "",
                        "Kafka did not acknowledge the change; the service restarts");
    } else {
        atomic_fetch_add(&a->writes_ok, 1);
        atomic_fetch_add(&a->write_ns_sum, li_mono_ns() - d->t0);
        out->status = d->status;
        out->body = d->view;
        out->etag = d->packed ? d->version : 0;
        if (a->on_change) {
            /* The callback gets its own copy, decoded from the record: the X1 side reads a
             * POI's cert_sha256 from it. NULL when the copy cannot be made: the callback
             * still learns that something changed. */
            ProtobufCMessage *copy =
                d->packed ? protobuf_c_message_unpack(x1_kind_descriptor(d->kind), NULL, d->n,
                                                      d->packed)
                          : NULL;
            a->on_change(a->on_change_ctx, d->kind, copy);
            if (copy)
                protobuf_c_message_free_unpacked(copy, NULL);
        }
    }
    free(d->packed);
}

/* A request for a change, as the REST layer gives it. */
typedef struct change {
    x1_kind kind;
    const x1_principal *who;
    const char *path_id;       /* NULL on creation */
    const char *if_match;
    const json_t *body;        /* NULL on deletion */
    int patch;
    const char *header_reason; /* X-Reason or NULL */
    int repoint;               /* POST /v1/destinations/{id}/repoint */
    char action[40];
    char key[X1_MAX_ID + 16];
    const char *reason;        /* the change's "why", once decided */
} change;

/* The object's id: the path's, the body's on creation, or a new UUID. 0 when the body's
 * id is invalid. */
static int pick_id(const change *c, built *b)
{
    json_t *jid = c->body ? json_object_get(c->body, "id") : NULL;
    if (c->path_id) {
        snprintf(b->id, sizeof b->id, "%s", c->path_id);
    } else if (json_is_string(jid) && x1_valid_id(json_string_value(jid))) {
        snprintf(b->id, sizeof b->id, "%s", json_string_value(jid));
    } else if (jid && !json_is_null(jid)) {
        return 0;
    } else {
        uint8_t u[16];
        li_uuid_random(u);
        li_uuid_format(u, b->id);
    }
    return 1;
}

/* RFC 7396 merge of a PATCH body over the current representation (NULL without memory). */
static json_t *merge_patch(x1_kind kind, const ProtobufCMessage *cur, const json_t *body,
                           int64_t now)
{
    json_t *merged = x1_json_render(kind, cur, now);
    if (!merged)
        return NULL;
    json_object_update(merged, (json_t *)body);
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(merged, tmp, k, v) {
        if (json_is_null(v))
            json_object_del(merged, k); /* RFC 7396: null removes */
    }
    return merged;
}

/* Checks a deletion and sends it. The caller holds the writer lock. */
static void decide_delete(admf_service *a, change *c, built *b, const ProtobufCMessage *cur,
                          decision *d)
{
    if (c->kind == X1_KIND_DESTINATION || c->kind == X1_KIND_POI) {
        /* Nothing may still refer to the object. state_mu: the ordered walk may rebuild
         * the index readers use. */
        struct ref r = { b->id, c->kind == X1_KIND_POI, NULL };
        pthread_mutex_lock(&a->state_mu);
        admf_store_each(a->store, X1_KIND_WARRANT, NULL, refers, &r);
        pthread_mutex_unlock(&a->state_mu);
        if (r.user) {
            refusal(d, 409, "in_use", "", "warrant %.63s refers to it", r.user);
            return;
        }
    }
    commit_send(a, c->kind, c->key, NULL, admf_store_version(c->kind, cur), c->action, c->who,
                c->reason, 204, d);
}

/* The fields of a destination that say where its HI goes and whom it trusts: changed only
 * by a re-pointing (docs/SECURITY.md, "Agencies"). */
static const char *const trust_fields[] = { "hi2_address", "hi3_address", "transport",
                                            "ca_pem", "pinned_sha256", "peer_name", NULL };

static int same_text(const char *x, const char *y)
{
    return strcmp(x ? x : "", y ? y : "") == 0;
}

/* The first address or trust field in which two destinations differ, or NULL. */
static const char *trust_change(const Limf__Destination *x, const Limf__Destination *y)
{
    const char *xs[] = { x->hi2_address, x->hi3_address, x->transport, x->ca_pem };
    const char *ys[] = { y->hi2_address, y->hi3_address, y->transport, y->ca_pem };
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        if (!same_text(xs[i], ys[i]))
            return trust_fields[i];
    int pins_differ = x->n_pinned_sha256 != y->n_pinned_sha256;
    for (size_t i = 0; !pins_differ && i < x->n_pinned_sha256; i++)
        pins_differ = !same_text(x->pinned_sha256[i], y->pinned_sha256[i]);
    if (pins_differ)
        return "pinned_sha256";
    return same_text(x->peer_name, y->peer_name) ? NULL : "peer_name";
}

/* A re-pointing's body: only address and trust fields, and keep_backlog (a boolean). The
 * patch to merge (without keep_backlog) into *patch, or 0 after a refusal. */
static int repoint_body(const json_t *body, json_t **patch, int *keep, decision *d)
{
    const char *k;
    json_t *v;
    if (!json_is_object(body)) {
        refusal(d, 400, "invalid_body", "", "the body must be a JSON object");
        return 0;
    }
    json_object_foreach((json_t *)body, k, v) {
        int known = strcmp(k, "keep_backlog") == 0;
        for (size_t i = 0; !known && trust_fields[i]; i++)
            known = strcmp(k, trust_fields[i]) == 0;
        if (!known) {
            refusal(d, 400, "unknown_field", k, "a re-pointing changes only the address and "
                    "trust fields (and says keep_backlog)");
            return 0;
        }
    }
    json_t *kb = json_object_get(body, "keep_backlog");
    if (kb && !json_is_boolean(kb)) {
        refusal(d, 400, "invalid_type", "keep_backlog", "must be true or false");
        return 0;
    }
    *keep = json_is_true(kb);
    if (!(*patch = json_deep_copy(body))) {
        refusal(d, 500, "internal", "", "out of memory");
        return 0;
    }
    json_object_del(*patch, "keep_backlog");
    return 1;
}

/* Validates a creation or update and sends it. The caller holds the writer lock. */
static void decide_write(admf_service *a, change *c, built *b, const ProtobufCMessage *cur,
                         int64_t now, decision *d)
{
    x1_verr verr;
    json_t *merged = NULL, *repoint_patch = NULL;
    const json_t *body = c->body;
    int keep = 0;
    if (c->repoint) {
        if (!repoint_body(c->body, &repoint_patch, &keep, d))
            return;
        /* The trail says whether the backlog went with the old address. */
        snprintf(c->action, sizeof c->action, "destination.%s",
                 keep ? "repoint-keep-backlog" : "repoint");
    }
    const json_t *patch = repoint_patch ? repoint_patch : c->body;
    if ((c->patch || c->repoint) && !(body = merged = merge_patch(c->kind, cur, patch, now))) {
        json_decref(repoint_patch);
        refusal(d, 500, "internal", "", "out of memory");
        return;
    }
    json_decref(repoint_patch);
    admf_validate_env env = { a, env_destination_exists, env_liid_taken, env_poi_exists, now,
                              !c->path_id, c->path_id };
    if (validate(c->kind, body, &env, b, &verr) != LI_OK) {
        refusal(d, verr.status, verr.code, verr.field, "%s", verr.message);
        json_decref(merged);
        return;
    }
    const char *moved = c->kind == X1_KIND_DESTINATION && cur && !c->repoint
                            ? trust_change((const Limf__Destination *)cur, &b->m.d)
                            : NULL;
    if (moved) {
        /* Sending one agency's HI elsewhere is its own audited action, which starts the
         * new address from an empty backlog unless the operator keeps it. */
        refusal(d, 409, "repoint_required", moved, "changing a destination's address or "
                "trust is a re-pointing: POST /v1/destinations/%.63s/repoint", b->id);
        json_decref(merged);
        return;
    }
    limf__provenance__init(&b->created);
    b->created.actor = (char *)c->who->name;
    b->created.at_ms = now;
    b->created.reason = (char *)c->reason;
    b->updated = b->created;
    Limf__Provenance *created = &b->created;
    /* Versions continue across deletion and re-creation: an ETag never names two
     * incarnations of an id. */
    uint64_t version = admf_store_retired(a->store, c->kind, b->id) + 1;
    if (cur) {
        version = admf_store_version(c->kind, cur) + 1;
        /* the creation provenance stays as first recorded */
        Limf__Provenance *const *p = c->kind == X1_KIND_WARRANT ? &((Limf__Warrant *)cur)->created
            : c->kind == X1_KIND_DESTINATION ? &((Limf__Destination *)cur)->created
            : c->kind == X1_KIND_EXCEPTION ? &((Limf__CertException *)cur)->created
            : &((Limf__InterceptPoint *)cur)->created;
        if (*p)
            created = *p;
    }
    set_meta(c->kind, b, version, created);
    finish(c->kind, b, cur, now, c->repoint && !keep);
    commit_send(a, c->kind, c->key, &b->m.base, version, c->action, c->who, c->reason,
                cur ? 200 : 201, d);
    json_decref(merged);
}

/* Everything the writer decides under its lock. */
static void decide(admf_service *a, change *c, built *b, int64_t now, decision *d)
{
    if (atomic_load(&a->failed)) {
        refusal(d, 503, "store_unavailable", "", "the store of record is unavailable");
        return;
    }
    if (admf_read_only(a)) {
        refusal(d, 503, "read_only", "", "read-only: the audit trail was found broken at "
                "start; an admin must acknowledge it (POST /v1/audit/acknowledge)");
        return;
    }
    if (!pick_id(c, b)) {
        refusal(d, 400, "invalid_id", "id", "an id is 1-63 characters of [A-Za-z0-9._-]");
        return;
    }
    snprintf(c->key, sizeof c->key, "%s/%s", x1_kind_name(c->kind), b->id);
    const ProtobufCMessage *cur = admf_store_get(a->store, c->kind, b->id);
    if (c->path_id && !cur) {
        refusal(d, 404, "not_found", "", "no such %s", x1_kind_name(c->kind));
        return;
    }
    if (!c->path_id && cur) {
        refusal(d, 409, "exists", "id", "a %s with this id exists", x1_kind_name(c->kind));
        return;
    }
    const char *code;
    if (c->path_id && !precondition(c->if_match, admf_store_version(c->kind, cur), &d->status,
                                    &code, d->message, sizeof d->message)) {
        snprintf(d->code, sizeof d->code, "%s", code);
        snprintf(d->field, sizeof d->field, "If-Match");
        return;
    }
    c->reason = reason_of(c->kind, c->body, cur, c->header_reason);
    if (!c->reason) {
        const char *field = c->kind == X1_KIND_WARRANT && c->body ? "legal_reference"
                                                                  : "X-Reason";
        refusal(d, 400, "reason_required", field,
                "every change needs a reason: X-Reason, or a new %s", field);
        return;
    }
    if (strlen(c->reason) > X1_MAX_TEXT) {
        refusal(d, 400, "too_long", c->header_reason ? "X-Reason" : "legal_reference",
                "the reason is longer than %d bytes", X1_MAX_TEXT);
        return;
    }
    if (c->kind == X1_KIND_WARRANT && cur && c->body &&
        strcmp(x1_warrant_state((const Limf__Warrant *)cur, now), "deactivated") == 0) {
        refusal(d, 409, "deactivated", "state", "a deactivated warrant cannot change");
        return;
    }
    if (!c->body)
        decide_delete(a, c, b, cur, d);
    else
        decide_write(a, c, b, cur, now, d);
}

static void mutation(admf_service *a, change *c, x1_result *out)
{
    const char *verb = !c->body      ? "delete"
                       : c->repoint  ? "repoint"
                       : c->path_id  ? "update"
                                     : "create";
    decision d;
    memset(&d, 0, sizeof d);
    memset(out, 0, sizeof *out);
    action_name(c->kind, verb, c->action, sizeof c->action);
    built *b = calloc(1, sizeof *b);
    if (!b) {
        x1_result_error(out, 500, "internal", "", "out of memory");
        return;
    }
    pthread_mutex_lock(&a->write_mu);
    decide(a, c, b, admf_now_ms(), &d);
    pthread_mutex_unlock(&a->write_mu);
    free(b);
    if (d.sent)
        commit_wait(a, &d, out);
    else
        refuse(a, c->who, c->action, c->key, c->reason ? c->reason : c->header_reason,
               d.status, d.code, d.field, d.message, out);
}

void admf_create(admf_service *a, x1_kind kind, const x1_principal *who, const json_t *body,
                 const char *reason, x1_result *out)
{
    change c = { .kind = kind, .who = who, .body = body, .header_reason = reason };
    mutation(a, &c, out);
}

void admf_update(admf_service *a, x1_kind kind, const x1_principal *who, const char *id,
                 const char *if_match, const json_t *body, int patch, const char *reason,
                 x1_result *out)
{
    change c = { .kind = kind, .who = who, .path_id = id, .if_match = if_match, .body = body,
                 .patch = patch, .header_reason = reason };
    mutation(a, &c, out);
}

void admf_repoint(admf_service *a, const x1_principal *who, const char *id,
                  const char *if_match, const json_t *body, const char *reason, x1_result *out)
{
    change c = { .kind = X1_KIND_DESTINATION, .who = who, .path_id = id, .if_match = if_match,
                 .body = body, .header_reason = reason, .repoint = 1 };
    mutation(a, &c, out);
}

void admf_delete(admf_service *a, x1_kind kind, const x1_principal *who, const char *id,
                 const char *if_match, const char *reason, x1_result *out)
{
    change c = { .kind = kind, .who = who, .path_id = id, .if_match = if_match,
                 .header_reason = reason };
    mutation(a, &c, out);
}

/* The daemon's own bookkeeping on an intercept point (health, last reconciliation): not
 * a change of the operator's object, so its version (ETag) stays. */
static void decide_poi_status(admf_service *a, const char *poi_id, const x1_poi_status *st,
                              decision *d, li_err *found)
{
    char key[X1_MAX_ID + 16];
    snprintf(key, sizeof key, "poi/%s", poi_id);
    const Limf__InterceptPoint *cur =
        (const Limf__InterceptPoint *)admf_store_get(a->store, X1_KIND_POI, poi_id);
    *found = cur ? LI_OK : LI_ERR_NOT_FOUND;
    if (!cur || atomic_load(&a->failed) ||
        (!st->has_audit && cur->health && strcmp(cur->health, st->health) == 0))
        return;
    /* A shallow copy: the current object stays alive while the writer lock is held. */
    Limf__InterceptPoint p = *cur;
    Limf__PoiAudit audit;
    p.health = (char *)st->health;
    if (st->has_audit) {
        limf__poi_audit__init(&audit);
        audit.at_ms = st->at_ms;
        audit.outcome = (char *)st->outcome;
        audit.missing = st->missing;
        audit.extra = st->extra;
        audit.detail = (char *)(st->detail ? st->detail : "");
        p.last_audit = &audit;
    }
    commit_send(a, X1_KIND_POI, key, &p.base, p.version, "poi.status", &system_principal,
                st->has_audit ? "reconciliation" : "health", 200, d);
}

li_err admf_poi_status(admf_service *a, const char *poi_id, const x1_poi_status *st)
{
    decision d;
    li_err found;
    x1_result out = { 0 };
    memset(&d, 0, sizeof d);
    pthread_mutex_lock(&a->write_mu);
    decide_poi_status(a, poi_id, st, &d, &found);
    pthread_mutex_unlock(&a->write_mu);
    if (!d.sent)
        return found == LI_OK && d.status >= 500 ? LI_ERR_KAFKA : found;
    commit_wait(a, &d, &out);
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
