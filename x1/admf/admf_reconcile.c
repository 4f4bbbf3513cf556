#include "admf_reconcile.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.pb-c.h"
#include "li_bytes.h"
#include "li_ident.h"
#include "li_log.h"
#include "li_time.h"
#include "admf_json.h"
#include "x1_client.h"
#include "admf_validate.h"

#define MAX_LISTED 65536
/* Destinations and GenericObjects read from a POI per reconciliation: what lies beyond
 * is found at the next one, after these were removed. */
#define MAX_LISTED_DIDS 1024
#define MAX_LISTED_OBJECTS 4096

/* What a POI holds as far as the ADMF knows: XID (or exception id) and a hash of the
 * content pushed, sorted by key. */
typedef struct held {
    uint8_t xid[16];
    char id[X1_MAX_ID + 1];    /* exceptions */
    uint64_t hash;
} held;

typedef struct held_set {
    held *v;
    size_t n, cap;
} held_set;

typedef struct poi_state {
    char id[X1_MAX_ID + 1];
    char url[520];
    char role[8];
    int seen;
    int dest_ok;               /* CreateDestination accepted */
    int dest_refused;          /* the POI refused it with an X1 error (audited once) */
    unsigned dest_backoff_s;   /* delay before the refused destination is tried again */
    uint64_t next_dest_ns;
    int degraded;              /* answers, but its table could not be read (audited once) */
    unsigned degraded_backoff_s;
    held_set tasks, excs;
    uint64_t next_try_ns, next_keepalive_ns, next_reconcile_ns;
    unsigned backoff_s;
    int need_reconcile;        /* the POI's table is unknown (new, or was unreachable) */
    int pin_ok;                /* the client holds the POI's registered cert_sha256 (or its
                                * absence); 0: it could not be set, the POI is left alone */
    int pinned;                /* the POI has a cert_sha256, pin, as last applied */
    uint8_t pin[32];
    uint64_t synced_gen;       /* store generation and time epoch of the last full sync */
    uint64_t synced_epoch;
} poi_state;

struct admf_reconciler {
    admf_service *admf;
    x1_client *client;
    char ingest_address[272];
    uint8_t did[16];
    int64_t reconcile_s, keepalive_s, retry_max_s, tick_ms;

    pthread_t thread;
    pthread_mutex_t mu;        /* kicked, stop, next_boundary */
    pthread_cond_t cv;
    int kicked, stop, started;
    int64_t next_boundary;     /* earliest start, end or expiry still ahead (ms) */
    atomic_uint_fast64_t epoch; /* bumps each time such a time passes */
    int64_t min_pass_ms;

    pthread_mutex_t x1_mu;     /* one X1 conversation at a time; guards pois */
    poi_state *pois;
    size_t n_pois, cap_pois;
    int64_t prev_now_ms;
};

typedef struct outcome {
    unsigned missing, extra, modified, failed;
    int unreachable;
    int degraded;              /* the POI's listing failed with an X1 error */
    char detail[512];          /* a pin mismatch quotes two fingerprints */
} outcome;

static int64_t now_ms(void)
{
    return (int64_t)(li_now_ns() / 1000000u);
}

static int unreachable(li_err e)
{
    return e == LI_ERR_IO || e == LI_ERR_TLS || e == LI_ERR_TIMEOUT || e == LI_ERR_CLOSED;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* ---- desired state, read from the store ---- */

/* The task a POI of `role` must hold for warrant w (docs/PRINCIPLES.md 5: one XID per warrant with
 * all its targets). The SIP tap only ever produces X2; relays give X3 for iri+cc. */
static void task_of(const admf_reconciler *r, const Limf__Warrant *w, const char *role,
                    x1_task *t)
{
    memset(t, 0, sizeof *t);
    if (w->xid.len == 16)
        memcpy(t->xid, w->xid.data, 16);
    for (size_t i = 0; i < w->n_targets && i < X1_MAX_TARGETS; i++) {
        snprintf(t->targets[i].type, sizeof t->targets[i].type, "%s", w->targets[i]->type);
        snprintf(t->targets[i].value, sizeof t->targets[i].value, "%s", w->targets[i]->value);
        t->n_targets++;
    }
    int cc = w->delivery && strcmp(w->delivery, "iri+cc") == 0;
    t->delivery = strcmp(role, "sip") == 0 || !cc ? X1_DELIVERY_X2_ONLY : X1_DELIVERY_X2_AND_X3;
    memcpy(t->dids[0], r->did, 16);
    t->n_dids = 1;
    /* Session-based messaging is what limf intercepts (TS 103 221-1 ServiceType). */
    snprintf(t->service_types[0], sizeof t->service_types[0], "messaging");
    t->n_service_types = 1;
}

static uint64_t task_hash(const x1_task *t)
{
    uint64_t h = fnv(1469598103934665603ull, t->xid, 16);
    for (size_t i = 0; i < t->n_targets; i++) {
        h = fnv(h, t->targets[i].type, strlen(t->targets[i].type) + 1);
        h = fnv(h, t->targets[i].value, strlen(t->targets[i].value) + 1);
    }
    h = fnv(h, &t->delivery, sizeof t->delivery);
    return fnv(h, t->dids, t->n_dids * 16);
}

static void exception_of(const Limf__CertException *x, x1_cert_exception *e)
{
    memset(e, 0, sizeof *e);
    snprintf(e->id, sizeof e->id, "%s", x->id);
    if (x->fingerprint_sha256.len == 32)
        memcpy(e->fingerprint, x->fingerprint_sha256.data, 32);
    snprintf(e->peer, sizeof e->peer, "%s", x->peer);
    e->expires_ms = x->expires_ms;
}

static uint64_t exception_hash(const x1_cert_exception *e)
{
    uint64_t h = fnv(1469598103934665603ull, e->id, strlen(e->id) + 1);
    h = fnv(h, e->fingerprint, 32);
    h = fnv(h, e->peer, strlen(e->peer) + 1);
    return fnv(h, &e->expires_ms, sizeof e->expires_ms);
}

static int cmp_held_xid(const void *a, const void *b)
{
    return memcmp(((const held *)a)->xid, ((const held *)b)->xid, 16);
}

static int cmp_held_id(const void *a, const void *b)
{
    return strcmp(((const held *)a)->id, ((const held *)b)->id);
}

static li_err held_add(held_set *s, const held *h)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        held *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return LI_ERR_NOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = *h;
    return LI_OK;
}

static held *held_find(held_set *s, const held *key, int by_id)
{
    if (!s->n)
        return NULL;
    return bsearch(key, s->v, s->n, sizeof *s->v, by_id ? cmp_held_id : cmp_held_xid);
}

typedef struct want_ctx {
    const admf_reconciler *r;
    const poi_state *poi;
    int64_t now;
    held_set *out;
} want_ctx;

static int want_task(void *ctx, const ProtobufCMessage *m)
{
    want_ctx *c = ctx;
    const Limf__Warrant *w = (const Limf__Warrant *)m;
    if (strcmp(x1_warrant_state(w, c->now), "active") != 0 || w->xid.len != 16)
        return 0;
    int here = w->n_poi_ids == 0;
    for (size_t i = 0; i < w->n_poi_ids && !here; i++)
        here = strcmp(w->poi_ids[i], c->poi->id) == 0;
    if (!here)
        return 0;
    x1_task t;
    held h = { { 0 }, "", 0 };
    task_of(c->r, w, c->poi->role, &t);
    memcpy(h.xid, t.xid, 16);
    snprintf(h.id, sizeof h.id, "%s", w->id);
    h.hash = task_hash(&t);
    return held_add(c->out, &h) != LI_OK;
}

static int want_exception(void *ctx, const ProtobufCMessage *m)
{
    want_ctx *c = ctx;
    const Limf__CertException *x = (const Limf__CertException *)m;
    if (x->expires_ms <= c->now)
        return 0;
    x1_cert_exception e;
    held h = { { 0 }, "", 0 };
    exception_of(x, &e);
    snprintf(h.id, sizeof h.id, "%s", x->id);
    h.hash = exception_hash(&e);
    return held_add(c->out, &h) != LI_OK;
}

/* What the POI must hold now: tasks sorted by XID (id = the warrant), exceptions by id. */
static void desired(admf_reconciler *r, const poi_state *poi, int64_t now, held_set *tasks,
                    held_set *excs)
{
    want_ctx c = { r, poi, now, tasks };
    admf_lock(r->admf);
    admf_store_each((admf_store *)admf_get_store(r->admf), X1_KIND_WARRANT, NULL, want_task, &c);
    /* Exceptions concern the relays, which terminate TLS (docs/PRINCIPLES.md 6). */
    if (strcmp(poi->role, "sip") != 0) {
        c.out = excs;
        admf_store_each((admf_store *)admf_get_store(r->admf), X1_KIND_EXCEPTION, NULL,
                      want_exception, &c);
    }
    admf_unlock(r->admf);
    if (tasks->n)
        qsort(tasks->v, tasks->n, sizeof *tasks->v, cmp_held_xid);
    if (excs->n)
        qsort(excs->v, excs->n, sizeof *excs->v, cmp_held_id);
}

/* The current task of a warrant for this POI; 0 when the warrant is gone. */
static int current_task(admf_reconciler *r, const char *warrant_id, const char *role,
                        x1_task *t)
{
    admf_lock(r->admf);
    const Limf__Warrant *w = (const Limf__Warrant *)admf_store_get(admf_get_store(r->admf),
                                                                 X1_KIND_WARRANT, warrant_id);
    if (w)
        task_of(r, w, role, t);
    admf_unlock(r->admf);
    return w != NULL;
}

static int current_exception(admf_reconciler *r, const char *id, x1_cert_exception *e)
{
    admf_lock(r->admf);
    const Limf__CertException *x =
        (const Limf__CertException *)admf_store_get(admf_get_store(r->admf), X1_KIND_EXCEPTION, id);
    if (x)
        exception_of(x, e);
    admf_unlock(r->admf);
    return x != NULL;
}

/* ---- pushing ---- */

static void audit_push(admf_reconciler *r, const poi_state *poi, const char *action,
                       const uint8_t *xid, const char *what, li_err e, const char *errstr)
{
    char object[96], detail[1024], xid_text[37] = "";
    if (xid)
        li_uuid_format(xid, xid_text);
    snprintf(object, sizeof object, "poi/%s", poi->id);
    json_t *d = json_pack("{s:s,s:s,s:s}", "xid", xid_text, "object", what ? what : "",
                          "error", e == LI_OK ? "" : errstr);
    char *text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(detail, sizeof detail, "%s", text ? text : "{}");
    free(text);
    json_decref(d);
    admf_audit(r->admf, admf_system(), action, object, e == LI_OK ? "ok" : "failed",
                  "X1", detail);
}

/* Makes the POI hold the ingest's destination at x1.ingest_address: created, or
 * modified when it exists (the address may have changed since it was created, and the
 * POIs send X2/X3 to it). LI_OK when the POI holds it. */
static li_err push_destination(admf_reconciler *r, poi_state *poi, char *err, size_t err_size)
{
    li_err e = x1_client_create_destination(r->client, poi->url, poi->id, r->did,
                                            r->ingest_address, X1_DELIVERY_X2_AND_X3, err,
                                            err_size);
    if (e == LI_ERR_CONFLICT)
        e = x1_client_modify_destination(r->client, poi->url, poi->id, r->did,
                                         r->ingest_address, X1_DELIVERY_X2_AND_X3, err,
                                         err_size);
    return e;
}

/* Makes the POI hold task `want` (activate, or modify when it exists). */
static li_err push_task(admf_reconciler *r, poi_state *poi, const held *want, int exists)
{
    x1_task t;
    char err[512] = "";
    if (!current_task(r, want->id, poi->role, &t))
        return LI_OK; /* deleted meanwhile: the next pass deactivates */
    li_err e = exists ? x1_client_modify(r->client, poi->url, poi->id, &t, err, sizeof err)
                      : x1_client_activate(r->client, poi->url, poi->id, &t, err, sizeof err);
    if (e == LI_ERR_CONFLICT && !exists) {
        exists = 1;
        e = x1_client_modify(r->client, poi->url, poi->id, &t, err, sizeof err);
    } else if (e == LI_ERR_NOT_FOUND && exists) {
        exists = 0;
        e = x1_client_activate(r->client, poi->url, poi->id, &t, err, sizeof err);
    }
    if (e == LI_ERR_NOT_FOUND && !exists && !poi->dest_refused) {
        /* An ActivateTask naming an unknown DID: the NE lost its destinations (restarted
         * between two keepalives). Create it again and retry once (not when the POI
         * refuses the destination: that is retried on its own backoff, in visit()). */
        e = push_destination(r, poi, err, sizeof err);
        if (e == LI_OK)
            e = x1_client_activate(r->client, poi->url, poi->id, &t, err, sizeof err);
    }
    if (unreachable(e))
        return e;
    audit_push(r, poi, exists ? "x1.modify" : "x1.activate", t.xid, want->id, e, err);
    if (e != LI_OK) {
        /* The NE's description may quote a target: details go to debug and the audit. */
        char x[37];
        li_uuid_format(t.xid, x);
        li_log_warn("X1 %s of task %s at %s refused (%s)", exists ? "modify" : "activate", x,
                    poi->id, li_err_str(e));
        li_log_debug("X1 refusal from %s: %s", poi->id, err);
    }
    return e;
}

static li_err drop_task(admf_reconciler *r, poi_state *poi, const uint8_t xid[16])
{
    char err[512] = "";
    li_err e = x1_client_deactivate(r->client, poi->url, poi->id, xid, err, sizeof err);
    if (e == LI_ERR_NOT_FOUND)
        e = LI_OK;
    if (unreachable(e))
        return e;
    audit_push(r, poi, "x1.deactivate", xid, NULL, e, err);
    return e;
}

/* Brings the POI's exceptions in line (no X1 listing of generic objects is used: the
 * ADMF's record of what it pushed is the reference). */
static li_err sync_exceptions(admf_reconciler *r, poi_state *poi, held_set *want)
{
    char err[512] = "";
    held_set next = { 0 };
    li_err rc = LI_OK;
    for (size_t i = 0; i < poi->excs.n; i++) {
        held *w = held_find(want, &poi->excs.v[i], 1);
        if (w && w->hash == poi->excs.v[i].hash)
            continue;
        li_err e = x1_client_delete_exception(r->client, poi->url, poi->id, poi->excs.v[i].id,
                                              err, sizeof err);
        if (unreachable(e)) {
            rc = e;
            break;
        }
        audit_push(r, poi, "x1.delete_object", NULL, poi->excs.v[i].id,
                   e == LI_ERR_NOT_FOUND ? LI_OK : e, err);
    }
    for (size_t i = 0; i < want->n && rc == LI_OK; i++) {
        held *have = held_find(&poi->excs, &want->v[i], 1);
        x1_cert_exception x;
        if (have && have->hash == want->v[i].hash) {
            held_add(&next, &want->v[i]);
            continue;
        }
        if (!current_exception(r, want->v[i].id, &x))
            continue;
        li_err e = x1_client_create_exception(r->client, poi->url, poi->id, &x, err, sizeof err);
        if (unreachable(e)) {
            rc = e;
            break;
        }
        audit_push(r, poi, "x1.create_object", NULL, x.id, e == LI_ERR_CONFLICT ? LI_OK : e,
                   err);
        held_add(&next, &want->v[i]);
    }
    if (rc == LI_OK) {
        free(poi->excs.v);
        poi->excs = next;
    } else {
        free(next.v);
    }
    return rc;
}

/* Incremental sync against what the ADMF pushed before. */
static li_err sync_tasks(admf_reconciler *r, poi_state *poi, held_set *want)
{
    for (size_t i = 0; i < poi->tasks.n; i++) {
        if (held_find(want, &poi->tasks.v[i], 0))
            continue;
        li_err e = drop_task(r, poi, poi->tasks.v[i].xid);
        if (unreachable(e))
            return e;
    }
    for (size_t i = 0; i < want->n; i++) {
        held *have = held_find(&poi->tasks, &want->v[i], 0);
        if (have && have->hash == want->v[i].hash)
            continue;
        li_err e = push_task(r, poi, &want->v[i], have != NULL);
        if (unreachable(e))
            return e;
    }
    /* What failed with an X1 error stays recorded as wanted; the next reconciliation
     * finds it missing and tries again, so a refusing POI is not hammered. */
    held_set copy = { 0 };
    for (size_t i = 0; i < want->n; i++)
        held_add(&copy, &want->v[i]);
    free(poi->tasks.v);
    poi->tasks = copy;
    return LI_OK;
}

/* The same identity: an e164Number comes back from the POI as digits alone (TS 103 280
 * InternationalE164) where the warrant may carry a '+'. */
static int same_target(const x1_target *a, const x1_target *b)
{
    char ca[LI_IDENT_MAX], cb[LI_IDENT_MAX];
    if (strcmp(a->type, b->type) != 0)
        return 0;
    if (strcmp(a->value, b->value) == 0)
        return 1;
    return li_ident_canon_target(a->type, a->value, ca, sizeof ca) == LI_OK &&
           li_ident_canon_target(b->type, b->value, cb, sizeof cb) == LI_OK &&
           strcmp(ca, cb) == 0;
}

static int same_task(const x1_task *a, const x1_task *b)
{
    if (a->n_targets != b->n_targets || a->delivery != b->delivery || a->n_dids != b->n_dids)
        return 0;
    for (size_t i = 0; i < a->n_dids; i++) {
        size_t j = 0;
        while (j < b->n_dids && memcmp(a->dids[i], b->dids[j], 16) != 0)
            j++;
        if (j == b->n_dids)
            return 0;
    }
    for (size_t i = 0; i < a->n_targets; i++) {
        int found = 0;
        for (size_t j = 0; j < b->n_targets && !found; j++)
            found = same_target(&a->targets[i], &b->targets[j]);
        if (!found)
            return 0;
    }
    return 1;
}

static int cmp_xid(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

/* Destinations and GenericObjects the ADMF did not create (issue 15: a certificate of
 * the CA once tasked POIs) are removed, after the tasks that may name them; wanted
 * exceptions the POI lost are forgotten, so that sync_exceptions() creates them again. */
static li_err drop_foreign(admf_reconciler *r, poi_state *poi, const x1_listing *l,
                           held_set *want_excs, outcome *o)
{
    char err[512] = "", text[64];
    for (size_t i = 0; i < l->n_dids && i < l->dids_max; i++) {
        if (memcmp(l->dids[i], r->did, 16) == 0)
            continue;
        li_err e = x1_client_remove_destination(r->client, poi->url, poi->id, l->dids[i], err,
                                                sizeof err);
        if (unreachable(e))
            return e;
        li_uuid_format(l->dids[i], text);
        audit_push(r, poi, "x1.remove_destination", NULL, text,
                   e == LI_ERR_NOT_FOUND ? LI_OK : e, err);
        if (e == LI_OK || e == LI_ERR_NOT_FOUND)
            o->extra++;
        else
            o->failed++;
    }
    for (size_t i = 0; i < l->n_object_ids && i < l->object_ids_max; i++) {
        held key = { { 0 }, "", 0 };
        snprintf(key.id, sizeof key.id, "%s", l->object_ids[i]);
        if (held_find(want_excs, &key, 1))
            continue;
        li_err e = x1_client_delete_exception(r->client, poi->url, poi->id, l->object_ids[i],
                                              err, sizeof err);
        if (unreachable(e))
            return e;
        audit_push(r, poi, "x1.delete_object", NULL, l->object_ids[i],
                   e == LI_ERR_NOT_FOUND ? LI_OK : e, err);
        if (e == LI_OK || e == LI_ERR_NOT_FOUND)
            o->extra++;
        else
            o->failed++;
    }
    if (l->n_object_ids > l->object_ids_max)
        return LI_OK; /* the listing was cut: what it lacks proves nothing */
    held_set kept = { 0 };
    for (size_t i = 0; i < poi->excs.n; i++) {
        size_t j = 0;
        while (j < l->n_object_ids && strcmp(l->object_ids[j], poi->excs.v[i].id) != 0)
            j++;
        if (j < l->n_object_ids)
            held_add(&kept, &poi->excs.v[i]);
    }
    free(poi->excs.v);
    poi->excs = kept;
    return LI_OK;
}

/* Reconciliation: the POI's own list against the warrants (TS 103 221-1 ListAllDetails /
 * GetAllDetails and GetTaskDetails). A listing refused with an X1 error leaves the POI's
 * state unknown: o->degraded, and the error is returned. */
static li_err reconcile_tasks(admf_reconciler *r, poi_state *poi, held_set *want,
                              held_set *want_excs, outcome *o)
{
    char err[512] = "";
    x1_listing l = { .xids_max = MAX_LISTED, .dids_max = MAX_LISTED_DIDS,
                     .object_ids_max = MAX_LISTED_OBJECTS };
    l.xids = malloc(MAX_LISTED * sizeof *l.xids);
    l.dids = malloc(MAX_LISTED_DIDS * sizeof *l.dids);
    l.object_ids = malloc(MAX_LISTED_OBJECTS * sizeof *l.object_ids);
    li_err e = LI_ERR_NOMEM;
    if (!l.xids || !l.dids || !l.object_ids) {
        snprintf(o->detail, sizeof o->detail, "out of memory for the POI's listing");
        o->degraded = 1;
        goto out;
    }
    e = x1_client_list_all(r->client, poi->url, poi->id, &l, err, sizeof err);
    if (e != LI_OK) {
        snprintf(o->detail, sizeof o->detail, "GetAllDetails: %s", err);
        o->degraded = !unreachable(e);
        goto out;
    }
    uint8_t(*xids)[16] = l.xids;
    size_t n = l.n_xids < MAX_LISTED ? l.n_xids : MAX_LISTED;
    if (n)
        qsort(xids, n, 16, cmp_xid);
    for (size_t i = 0; i < n; i++) {
        held key;
        memcpy(key.xid, xids[i], 16);
        if (held_find(want, &key, 0))
            continue;
        e = drop_task(r, poi, xids[i]);
        if (unreachable(e))
            goto out;
        if (e == LI_OK)
            o->extra++;
        else
            o->failed++;
    }
    if ((e = drop_foreign(r, poi, &l, want_excs, o)) != LI_OK)
        goto out;
    for (size_t i = 0; i < want->n; i++) {
        int listed = bsearch(want->v[i].xid, xids, n, 16, cmp_xid) != NULL;
        if (listed) {
            x1_task have, should;
            e = x1_client_get_task(r->client, poi->url, poi->id, want->v[i].xid, &have, err,
                                   sizeof err);
            if (unreachable(e))
                goto out;
            if (e == LI_OK && current_task(r, want->v[i].id, poi->role, &should) &&
                same_task(&have, &should))
                continue;
        }
        e = push_task(r, poi, &want->v[i], listed);
        if (unreachable(e))
            goto out;
        if (e != LI_OK)
            o->failed++;
        else if (listed)
            o->modified++;
        else
            o->missing++;
    }
    e = LI_OK;
    held_set copy = { 0 };
    for (size_t i = 0; i < want->n; i++)
        held_add(&copy, &want->v[i]);
    free(poi->tasks.v);
    poi->tasks = copy;
out:
    free(l.xids);
    free(l.dids);
    free(l.object_ids);
    return e;
}

static void set_health(admf_reconciler *r, poi_state *poi, const char *health)
{
    x1_poi_status st = { health, 0, 0, NULL, 0, 0, NULL };
    admf_poi_status(r->admf, poi->id, &st);
}

static void record_reconcile(admf_reconciler *r, poi_state *poi, const x1_principal *who,
                             const outcome *o, const char *result)
{
    char object[96], detail[1024];
    int64_t at = now_ms();
    json_t *d = json_pack("{s:s,s:i,s:i,s:i,s:i,s:s}", "outcome", result, "missing",
                          o->missing, "extra", o->extra, "modified", o->modified, "failed",
                          o->failed, "detail", o->detail);
    char *text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(detail, sizeof detail, "%s", text ? text : "{}");
    free(text);
    json_decref(d);
    x1_poi_status st = { o->unreachable ? "unreachable" : o->degraded ? "degraded" : "ok", 1,
                         at, result,
                         o->missing + o->modified, o->extra, o->detail };
    admf_poi_status(r->admf, poi->id, &st);
    snprintf(object, sizeof object, "poi/%s", poi->id);
    admf_audit(r->admf, who, "x1.reconcile", object,
                  strcmp(result, "in-sync") == 0 || strcmp(result, "repaired") == 0 ? "ok"
                                                                                    : "failed",
                  "reconciliation", detail);
    li_log_info("reconciliation of %s: %s (missing %u, extra %u, modified %u, failed %u)",
                poi->id, result, o->missing, o->extra, o->modified, o->failed);
}

static void mark_unreachable(admf_reconciler *r, poi_state *poi, uint64_t now_ns,
                             const char *why)
{
    if (!poi->backoff_s)
        li_log_warn("intercept point %s unreachable over X1: %s", poi->id, why);
    poi->backoff_s = poi->backoff_s ? poi->backoff_s * 2 : 1;
    if (poi->backoff_s > (unsigned)r->retry_max_s)
        poi->backoff_s = (unsigned)r->retry_max_s;
    poi->next_try_ns = now_ns + (uint64_t)poi->backoff_s * 1000000000u;
    poi->need_reconcile = 1; /* what it holds is unknown until it answers again */
    poi->dest_ok = 0;        /* and so is its destination table */
    poi->next_dest_ns = 0;   /* tried again as soon as it answers */
    set_health(r, poi, "unreachable");
}

/* Exponential backoff on the reconciliation schedule: 1 s, doubling, at most
 * x1.reconcile_interval_s. Returns the delay in ns. */
static uint64_t backoff_step(const admf_reconciler *r, unsigned *backoff_s)
{
    *backoff_s = *backoff_s ? *backoff_s * 2 : 1;
    if (*backoff_s > (unsigned)r->reconcile_s)
        *backoff_s = (unsigned)r->reconcile_s;
    return (uint64_t)*backoff_s * 1000000000u;
}

/* The outcome of a Create/ModifyDestination that was answered. A refusal is retried on
 * the backoff (and at every forced reconciliation), not at every round, and is audited
 * when the POI starts refusing and when it accepts again, not at every retry. */
static void note_destination(admf_reconciler *r, poi_state *poi, uint64_t now_ns, li_err e,
                             const char *err)
{
    char did[37];
    li_uuid_format(r->did, did);
    if (e == LI_OK) {
        if (poi->dest_refused)
            audit_push(r, poi, "x1.create_destination", NULL, did, LI_OK, "");
        poi->dest_ok = 1;
        poi->dest_refused = 0;
        poi->dest_backoff_s = 0;
        poi->next_dest_ns = 0;
        return;
    }
    if (!poi->dest_refused) {
        li_log_warn("X1 Create/ModifyDestination at %s refused: %s", poi->id, err);
        audit_push(r, poi, "x1.create_destination", NULL, did, e, err);
    }
    poi->dest_refused = 1;
    poi->next_dest_ns = now_ns + backoff_step(r, &poi->dest_backoff_s);
}

/* One round for one POI; with `force` (and who) a reconciliation now. Returns the
 * reconciliation's result text when one ran, else NULL. */
static const char *visit(admf_reconciler *r, poi_state *poi, int force, const x1_principal *who,
                         outcome *o)
{
    uint64_t now_ns = li_mono_ns();
    int64_t now = now_ms();
    char err[512] = "";
    const char *result = NULL;
    li_err e = LI_OK;
    int first_degraded = 0;
    memset(o, 0, sizeof *o);
    if (!poi->pin_ok) {
        snprintf(o->detail, sizeof o->detail, "its cert_sha256 could not be applied (out of memory)");
        return NULL;
    }
    if (!force && now_ns < poi->next_try_ns)
        return NULL;
    /* The wanted state is recomputed only when the store changed, a start, end or expiry
     * passed, or a reconciliation is due: with many warrants that walk is the cost. */
    uint64_t gen = admf_generation(r->admf), epoch = atomic_load(&r->epoch);
    int reconcile = force || poi->need_reconcile || now_ns >= poi->next_reconcile_ns;
    int dest_due = !poi->dest_ok && (force || now_ns >= poi->next_dest_ns);
    int stale = reconcile || dest_due || poi->synced_gen != gen || poi->synced_epoch != epoch;
    held_set tasks = { 0 }, excs = { 0 };
    if (stale)
        desired(r, poi, now, &tasks, &excs);
    if (dest_due) {
        e = push_destination(r, poi, err, sizeof err);
        if (!unreachable(e)) {
            note_destination(r, poi, now_ns, e, err);
            e = LI_OK; /* tasks may still be accepted; the reconciliation reports drift */
        } else {
            snprintf(o->detail, sizeof o->detail, "destination: %s", err);
        }
    }
    if (e == LI_OK && stale)
        e = reconcile ? reconcile_tasks(r, poi, &tasks, &excs, o) : sync_tasks(r, poi, &tasks);
    if (e == LI_OK && stale)
        e = sync_exceptions(r, poi, &excs);
    if (e == LI_OK && now_ns >= poi->next_keepalive_ns) {
        e = x1_client_keepalive(r->client, poi->url, poi->id, err, sizeof err);
        li_log_debug("X1 keepalive to %s: %s %s", poi->id, li_err_str(e), err);
        if (!unreachable(e))
            e = LI_OK;
        poi->next_keepalive_ns = now_ns + (uint64_t)r->keepalive_s * 1000000000u;
    }
    if (unreachable(e)) {
        o->unreachable = 1;
        if (!o->detail[0])
            snprintf(o->detail, sizeof o->detail, "unreachable: %s", err[0] ? err : li_err_str(e));
        mark_unreachable(r, poi, now_ns, o->detail);
        if (reconcile)
            result = "unreachable";
    } else {
        if (stale && !o->degraded)
            poi->synced_gen = gen, poi->synced_epoch = epoch;
        poi->backoff_s = 0;
        poi->next_try_ns = 0;
        if (reconcile && o->degraded) {
            /* The POI answers but its tables cannot be read: nothing is known to be in
             * sync. Alarmed (health "degraded"), retried on the backoff. */
            if (!poi->degraded)
                li_log_warn("intercept point %s: its X1 tables cannot be read: %s", poi->id,
                            o->detail);
            first_degraded = !poi->degraded;
            poi->degraded = 1;
            poi->need_reconcile = 0;
            poi->next_reconcile_ns = now_ns + backoff_step(r, &poi->degraded_backoff_s);
            result = "degraded";
        } else if (reconcile) {
            poi->degraded = 0;
            poi->degraded_backoff_s = 0;
            poi->need_reconcile = 0;
            poi->next_reconcile_ns = now_ns + (uint64_t)r->reconcile_s * 1000000000u;
            result = o->failed ? "error" : o->missing || o->extra || o->modified ? "repaired"
                                                                                 : "in-sync";
        }
        set_health(r, poi, poi->degraded ? "degraded" : "ok");
    }
    /* An unreachable or degraded POI is recorded when asked, and once when it turns so,
     * not at every retry of the backoff. */
    int quiet = (o->unreachable && poi->backoff_s != 1) || (o->degraded && !first_degraded);
    if (result && (!quiet || force))
        record_reconcile(r, poi, who ? who : admf_system(), o, result);
    free(tasks.v);
    free(excs.v);
    return result;
}

/* Follows the registered POIs: new ones get a state, removed ones are forgotten. */
typedef struct poi_list_ctx {
    admf_reconciler *r;
} poi_list_ctx;

/* The registered cert_sha256 (REST.md) is enforced by the client on every X1 request to
 * the POI, in addition to the CA and the name. Set at every refresh, not only on a
 * change: kick() sets it too, from the writers' threads, and two of those may land out
 * of order; the store read here under its lock is the truth. A changed pin retries at
 * once (an operator has just corrected it, or a mismatch is to be found now, not after
 * the backoff). Until the client holds it (out of memory), the POI is not contacted. */
static void track_pin(admf_reconciler *r, poi_state *s, const Limf__InterceptPoint *p)
{
    int pinned = p->cert_sha256.len == 32;
    if (x1_client_pin(r->client, p->id, pinned ? p->cert_sha256.data : NULL) != LI_OK) {
        li_log_error("cannot pin the X1 certificate of %s: out of memory", p->id);
        s->pin_ok = 0;
        return;
    }
    if (!s->pin_ok || pinned != s->pinned ||
        (pinned && memcmp(s->pin, p->cert_sha256.data, 32) != 0))
        s->next_try_ns = 0;
    s->pin_ok = 1;
    s->pinned = pinned;
    if (pinned)
        memcpy(s->pin, p->cert_sha256.data, 32);
}

static int track_poi(void *ctx, const ProtobufCMessage *m)
{
    admf_reconciler *r = ((poi_list_ctx *)ctx)->r;
    const Limf__InterceptPoint *p = (const Limf__InterceptPoint *)m;
    for (size_t i = 0; i < r->n_pois; i++) {
        if (strcmp(r->pois[i].id, p->id) == 0) {
            r->pois[i].seen = 1;
            if (strcmp(r->pois[i].url, p->x1_url) != 0) {
                snprintf(r->pois[i].url, sizeof r->pois[i].url, "%s", p->x1_url);
                r->pois[i].need_reconcile = 1, r->pois[i].dest_ok = 0;
            }
            snprintf(r->pois[i].role, sizeof r->pois[i].role, "%s", p->role);
            track_pin(r, &r->pois[i], p);
            return 0;
        }
    }
    if (r->n_pois == r->cap_pois) {
        size_t cap = r->cap_pois ? r->cap_pois * 2 : 8;
        poi_state *v = realloc(r->pois, cap * sizeof *v);
        if (!v)
            return 1;
        r->pois = v;
        r->cap_pois = cap;
    }
    poi_state *s = &r->pois[r->n_pois++];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", p->id);
    snprintf(s->url, sizeof s->url, "%s", p->x1_url);
    snprintf(s->role, sizeof s->role, "%s", p->role);
    s->seen = 1;
    s->need_reconcile = 1;
    track_pin(r, s, p);
    return 0;
}

static void refresh_pois(admf_reconciler *r)
{
    poi_list_ctx c = { r };
    for (size_t i = 0; i < r->n_pois; i++)
        r->pois[i].seen = 0;
    admf_lock(r->admf);
    admf_store_each((admf_store *)admf_get_store(r->admf), X1_KIND_POI, NULL, track_poi, &c);
    admf_unlock(r->admf);
    for (size_t i = 0; i < r->n_pois;) {
        if (r->pois[i].seen) {
            i++;
            continue;
        }
        x1_client_pin(r->client, r->pois[i].id, NULL); /* removing needs no memory */
        free(r->pois[i].tasks.v);
        free(r->pois[i].excs.v);
        r->pois[i] = r->pois[--r->n_pois];
    }
}

/* Warrants whose start or end passed since the last round: audited as the system's
 * activation and expiry; returns the next start or end to wake up for. */
typedef struct transition_ctx {
    int64_t prev, now, next;
    json_t *activated, *expired;
} transition_ctx;

static int transition(void *ctx, const ProtobufCMessage *m)
{
    transition_ctx *c = ctx;
    const Limf__Warrant *w = (const Limf__Warrant *)m;
    if (w->state && strcmp(w->state, "deactivated") == 0)
        return 0;
    if (w->start_ms > c->prev && w->start_ms <= c->now)
        json_array_append_new(c->activated, json_string(w->id));
    if (w->end_ms > c->prev && w->end_ms <= c->now)
        json_array_append_new(c->expired, json_string(w->id));
    if (w->start_ms > c->now && w->start_ms < c->next)
        c->next = w->start_ms;
    if (w->end_ms > c->now && w->end_ms < c->next)
        c->next = w->end_ms;
    return 0;
}

static int expiry(void *ctx, const ProtobufCMessage *m)
{
    transition_ctx *c = ctx;
    const Limf__CertException *x = (const Limf__CertException *)m;
    if (x->expires_ms > c->now && x->expires_ms < c->next)
        c->next = x->expires_ms;
    return 0;
}

static int64_t transitions(admf_reconciler *r)
{
    transition_ctx c = { r->prev_now_ms, now_ms(), INT64_MAX, json_array(), json_array() };
    admf_lock(r->admf);
    admf_store_each((admf_store *)admf_get_store(r->admf), X1_KIND_WARRANT, NULL, transition, &c);
    admf_store_each((admf_store *)admf_get_store(r->admf), X1_KIND_EXCEPTION, NULL, expiry, &c);
    admf_unlock(r->admf);
    atomic_fetch_add(&r->epoch, 1);
    r->prev_now_ms = c.now;
    size_t i;
    json_t *id;
    json_array_foreach(c.activated, i, id) {
        char object[96];
        snprintf(object, sizeof object, "warrant/%s", json_string_value(id));
        admf_audit(r->admf, admf_system(), "warrant.activate", object, "ok",
                      "start time reached", NULL);
    }
    json_array_foreach(c.expired, i, id) {
        char object[96];
        snprintf(object, sizeof object, "warrant/%s", json_string_value(id));
        admf_audit(r->admf, admf_system(), "warrant.expire", object, "ok",
                      "end time reached", NULL);
    }
    json_decref(c.activated);
    json_decref(c.expired);
    return c.next;
}

/* Lowers the next wake-up to the start or end of a warrant that was just written. */
static void note_boundary(admf_reconciler *r, const Limf__Warrant *w)
{
    int64_t now = now_ms();
    if (w->start_ms > now && w->start_ms < r->next_boundary)
        r->next_boundary = w->start_ms;
    if (w->end_ms > now && w->end_ms < r->next_boundary)
        r->next_boundary = w->end_ms;
}

static void *worker(void *arg)
{
    admf_reconciler *r = arg;
    for (;;) {
        /* The whole-store scan for starts and ends runs only when one is due. */
        pthread_mutex_lock(&r->mu);
        int due = now_ms() >= r->next_boundary;
        if (due)
            r->next_boundary = INT64_MAX; /* writes during the scan lower it again */
        pthread_mutex_unlock(&r->mu);
        if (due) {
            int64_t next = transitions(r);
            pthread_mutex_lock(&r->mu);
            if (next < r->next_boundary)
                r->next_boundary = next;
            pthread_mutex_unlock(&r->mu);
        }
        pthread_mutex_lock(&r->x1_mu);
        refresh_pois(r);
        for (size_t i = 0; i < r->n_pois; i++) {
            outcome o;
            visit(r, &r->pois[i], 0, NULL, &o);
        }
        pthread_mutex_unlock(&r->x1_mu);

        /* Changes come in bursts: a pass at most every min_pass_ms. */
        struct timespec gap = { 0, (long)r->min_pass_ms * 1000000L };
        nanosleep(&gap, NULL);
        /* Sleep a tick, or until the next start/end, or until a change. */
        pthread_mutex_lock(&r->mu);
        int64_t now = now_ms(), wait_ms = r->tick_ms;
        if (r->next_boundary != INT64_MAX && r->next_boundary - now < wait_ms)
            wait_ms = r->next_boundary > now ? r->next_boundary - now : 0;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += wait_ms / 1000;
        ts.tv_nsec += (wait_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        while (wait_ms > 0 && !r->kicked && !r->stop &&
               pthread_cond_timedwait(&r->cv, &r->mu, &ts) == 0)
            ;
        int stop = r->stop;
        r->kicked = 0;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            return NULL;
    }
}

static void kick(void *ctx, x1_kind kind, const ProtobufCMessage *msg)
{
    admf_reconciler *r = ctx;
    /* A changed cert_sha256 holds from the next X1 request on, even one of a pass that
     * is under way (the next refresh_pois records it in the POI's state). */
    if (kind == X1_KIND_POI && msg) {
        const Limf__InterceptPoint *p = (const Limf__InterceptPoint *)msg;
        x1_client_pin(r->client, p->id, p->cert_sha256.len == 32 ? p->cert_sha256.data : NULL);
    }
    pthread_mutex_lock(&r->mu);
    if (kind == X1_KIND_WARRANT && msg) {
        note_boundary(r, (const Limf__Warrant *)msg);
    } else if (kind == X1_KIND_EXCEPTION && msg) {
        const Limf__CertException *x = (const Limf__CertException *)msg;
        if (x->expires_ms < r->next_boundary)
            r->next_boundary = x->expires_ms;
    }
    r->kicked = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void admf_reconciler_audit_now(void *ctx, const x1_principal *who, const char *poi_id,
                             x1_result *out)
{
    admf_reconciler *r = ctx;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&r->x1_mu);
    refresh_pois(r);
    poi_state *poi = NULL;
    for (size_t i = 0; i < r->n_pois; i++)
        if (strcmp(r->pois[i].id, poi_id) == 0)
            poi = &r->pois[i];
    if (!poi) {
        pthread_mutex_unlock(&r->x1_mu);
        x1_result_error(out, 404, "not_found", "", "no such intercept point");
        return;
    }
    outcome o;
    const char *result = visit(r, poi, 1, who, &o);
    pthread_mutex_unlock(&r->x1_mu);
    out->status = 200;
    out->body = json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:s}", "intercept_point", poi_id,
                          "outcome", result ? result : "error", "missing", o.missing, "extra",
                          o.extra, "modified", o.modified, "failed", o.failed, "detail",
                          o.detail);
}

admf_reconciler *admf_reconciler_new(const li_config *cfg, admf_service *admf, char *errstr,
                                 size_t errstr_size)
{
    admf_reconciler *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    r->admf = admf;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    pthread_mutex_init(&r->x1_mu, NULL);
    const char *did = li_config_get(cfg, "x1.ingest_did", "6c696d66-0000-4000-8000-000000000001");
    const char *addr = li_config_get(cfg, "x1.ingest_address", NULL);
    if (li_config_get_int(cfg, "x1.reconcile_interval_s", 300, 1, 86400, &r->reconcile_s,
                          errstr, errstr_size) ||
        li_config_get_int(cfg, "x1.keepalive_interval_s", 30, 1, 3600, &r->keepalive_s, errstr,
                          errstr_size) ||
        li_config_get_int(cfg, "x1.retry_max_s", 60, 1, 3600, &r->retry_max_s, errstr,
                          errstr_size) ||
        li_config_get_int(cfg, "x1.tick_ms", 1000, 10, 60000, &r->tick_ms, errstr,
                          errstr_size) ||
        li_config_get_int(cfg, "x1.min_pass_ms", 100, 0, 10000, &r->min_pass_ms, errstr,
                          errstr_size))
        goto fail;
    if (li_uuid_parse(did, r->did) != LI_OK) {
        snprintf(errstr, errstr_size, "x1.ingest_did: not a UUID");
        goto fail;
    }
    if (!addr || !x1_valid_hostport(addr)) {
        snprintf(errstr, errstr_size, "x1.ingest_address (host:port of limf-ingest) is required");
        goto fail;
    }
    snprintf(r->ingest_address, sizeof r->ingest_address, "%s", addr);
    if (!(r->client = x1_client_new(cfg, "x1", errstr, errstr_size)))
        goto fail;
    r->prev_now_ms = now_ms();
    r->next_boundary = 0; /* the first round scans */
    if (pthread_create(&r->thread, NULL, worker, r) != 0) {
        snprintf(errstr, errstr_size, "cannot start the X1 worker");
        goto fail;
    }
    r->started = 1;
    admf_on_change(admf, kick, r);
    return r;
fail:
    admf_reconciler_free(r);
    return NULL;
}

void admf_reconciler_free(admf_reconciler *r)
{
    if (!r)
        return;
    if (r->started) {
        admf_on_change(r->admf, NULL, NULL);
        pthread_mutex_lock(&r->mu);
        r->stop = 1;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
    }
    x1_client_free(r->client);
    for (size_t i = 0; i < r->n_pois; i++) {
        free(r->pois[i].tasks.v);
        free(r->pois[i].excs.v);
    }
    free(r->pois);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->x1_mu);
    free(r);
}
