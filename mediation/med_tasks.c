#include "med_tasks.h"

#include <stdlib.h>
#include <string.h>

#include "admin.pb-c.h"
#include "li_bytes.h"
#include "med_map.h"

/* The warrants of one XID. */
typedef struct xid_entry {
    med_warrant **w;
    size_t n;
} xid_entry;

struct med_tasks {
    med_map by_id;   /* warrant id -> med_warrant */
    med_map by_xid;  /* xid hex -> xid_entry */
    med_map pois;    /* intercept point id -> its X2/X3 certificate's SHA-256 (32 octets) */
    med_map dests;   /* destination id -> its topic_suffix (a string) */
    uint64_t generation;
};

med_tasks *med_tasks_new(void)
{
    med_tasks *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    med_map_init(&t->by_id);
    med_map_init(&t->by_xid);
    med_map_init(&t->pois);
    med_map_init(&t->dests);
    return t;
}

static void warrant_free(med_warrant *w)
{
    if (!w)
        return;
    free(w->id);
    free(w->liid);
    free(w->auth_country);
    for (size_t i = 0; i < w->n_destinations; i++)
        free(w->destinations[i]);
    free(w->destinations);
    free(w->targets);
    for (size_t i = 0; i < w->n_poi_ids; i++)
        free(w->poi_ids[i]);
    free(w->poi_ids);
    free(w);
}

void med_tasks_free(med_tasks *t)
{
    if (!t)
        return;
    size_t it = 0;
    const char *k;
    void *v;
    while (med_map_next(&t->by_id, &it, &k, &v))
        warrant_free(v);
    it = 0;
    while (med_map_next(&t->by_xid, &it, &k, &v)) {
        free(((xid_entry *)v)->w);
        free(v);
    }
    med_map_free_values(&t->pois, free);
    med_map_free_values(&t->dests, free);
    med_map_free(&t->by_id);
    med_map_free(&t->by_xid);
    free(t);
}

static void xid_key(const uint8_t xid[16], char out[33])
{
    li_hex_encode(xid, 16, out);
}

static li_err xid_remove(med_tasks *t, const med_warrant *w)
{
    char k[33];
    xid_key(w->xid, k);
    xid_entry *e = med_map_get(&t->by_xid, k);
    if (!e)
        return LI_OK;
    for (size_t i = 0; i < e->n; i++) {
        if (e->w[i] == w) {
            memmove(&e->w[i], &e->w[i + 1], (e->n - i - 1) * sizeof e->w[0]);
            e->n--;
            break;
        }
    }
    if (e->n == 0) {
        med_map_del(&t->by_xid, k);
        free(e->w);
        free(e);
    }
    return LI_OK;
}

static li_err xid_add(med_tasks *t, med_warrant *w)
{
    char k[33];
    xid_key(w->xid, k);
    xid_entry *e = med_map_get(&t->by_xid, k);
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e || med_map_put(&t->by_xid, k, e) != LI_OK) {
            free(e);
            return LI_ERR_NOMEM;
        }
    }
    med_warrant **nw = realloc(e->w, (e->n + 1) * sizeof *nw);
    if (!nw)
        return LI_ERR_NOMEM;
    e->w = nw;
    e->w[e->n++] = w;
    return LI_OK;
}

static uint64_t hash_str(const char *s, uint64_t h)
{
    return med_hash(s, strlen(s) + 1, h);   /* the NUL separates fields */
}

static uint64_t fingerprint(const med_warrant *w)
{
    uint64_t h = hash_str(w->liid, 0);
    h = med_hash(&w->deliver_cc, sizeof w->deliver_cc, h);
    h = med_hash(&w->start_ms, sizeof w->start_ms, h);
    h = med_hash(&w->end_ms, sizeof w->end_ms, h);
    h = med_hash(w->xid, sizeof w->xid, h);
    for (size_t i = 0; i < w->n_targets; i++)
        h = hash_str(w->targets[i], h);
    h = med_hash("|", 1, h);
    for (size_t i = 0; i < w->n_destinations; i++)
        h = hash_str(w->destinations[i], h);
    return h;
}

static med_warrant *warrant_from_proto(const Limf__Warrant *p)
{
    med_warrant *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->id = strdup(p->id);
    w->liid = strdup(p->liid);
    w->auth_country = strdup(p->auth_country);
    w->deliver_cc = strcmp(p->delivery, "iri+cc") == 0;
    w->start_ms = p->start_ms;
    w->end_ms = p->end_ms;
    w->deactivated = strcmp(p->state, "deactivated") == 0;
    memcpy(w->xid, p->xid.data, 16);
    w->destinations = calloc(p->n_destination_ids + 1, sizeof *w->destinations);
    w->targets = calloc(p->n_targets + 1, sizeof *w->targets);
    w->poi_ids = calloc(p->n_poi_ids + 1, sizeof *w->poi_ids);
    if (!w->id || !w->liid || !w->auth_country || !w->destinations || !w->targets ||
        !w->poi_ids)
        goto fail;
    for (size_t i = 0; i < p->n_poi_ids; i++) {
        if (!(w->poi_ids[i] = strdup(p->poi_ids[i])))
            goto fail;
        w->n_poi_ids++;
    }
    for (size_t i = 0; i < p->n_destination_ids; i++) {
        if (!(w->destinations[i] = strdup(p->destination_ids[i])))
            goto fail;
        w->n_destinations++;
    }
    for (size_t i = 0; i < p->n_targets; i++) {
        /* A target that does not canonicalize cannot match anything; the ADMF
         * validated it, so skipping it only guards against a schema drift. */
        if (li_ident_canon_target(p->targets[i]->type, p->targets[i]->value,
                                  w->targets[w->n_targets], LI_IDENT_MAX) == LI_OK)
            w->n_targets++;
    }
    w->fingerprint = fingerprint(w);
    return w;
fail:
    warrant_free(w);
    return NULL;
}

/* poi/<id>: the certificate a registered POI sends X2/X3 with, or its removal. */
static li_err apply_poi(med_tasks *t, const char *id, const uint8_t *value, size_t value_len)
{
    uint8_t *fp = NULL;
    if (value_len) {
        Limf__InterceptPoint *p = limf__intercept_point__unpack(NULL, value_len, value);
        if (!p)
            return LI_ERR_PROTO;
        const ProtobufCBinaryData *c = p->x2x3_cert_sha256.len == 32 ? &p->x2x3_cert_sha256
                                                                      : &p->cert_sha256;
        if (c->len == 32 && (fp = malloc(32)))
            memcpy(fp, c->data, 32);
        limf__intercept_point__free_unpacked(p, NULL);
    }
    t->generation++;
    free(med_map_del(&t->pois, id));
    if (fp && med_map_put(&t->pois, id, fp) != LI_OK) {
        free(fp);
        return LI_ERR_NOMEM;
    }
    return LI_OK;
}

int med_tasks_poi_carries(const med_tasks *t, med_warrant *const *ws, size_t nw,
                          const char *poi_id, const uint8_t *fp, size_t fp_len)
{
    const uint8_t *registered = poi_id ? med_map_get(&t->pois, poi_id) : NULL;
    if (!registered || fp_len != 32 || memcmp(registered, fp, 32) != 0)
        return 0;
    for (size_t i = 0; i < nw; i++) {
        if (ws[i]->n_poi_ids == 0)
            return 1;
        for (size_t j = 0; j < ws[i]->n_poi_ids; j++)
            if (strcmp(ws[i]->poi_ids[j], poi_id) == 0)
                return 1;
    }
    return 0;
}

/* destination/<id>: the suffix of its topic, or its removal. */
static li_err apply_destination(med_tasks *t, const char *id, const uint8_t *value,
                                size_t value_len)
{
    char *suffix = NULL;
    if (value_len) {
        Limf__Destination *d = limf__destination__unpack(NULL, value_len, value);
        if (!d)
            return LI_ERR_PROTO;
        suffix = strdup(d->topic_suffix);
        limf__destination__free_unpacked(d, NULL);
        if (!suffix)
            return LI_ERR_NOMEM;
    }
    free(med_map_del(&t->dests, id));
    if (suffix && med_map_put(&t->dests, id, suffix) != LI_OK) {
        free(suffix);
        return LI_ERR_NOMEM;
    }
    return LI_OK;
}

const char *med_tasks_topic_suffix(const med_tasks *t, const char *id)
{
    return med_map_get(&t->dests, id);
}

/* The id of a limf.admin key "<prefix><id>" into id: 1, or 0 when the key has another
 * prefix, -1 when the id does not fit. */
static int key_id(const char *key, size_t key_len, const char *prefix, char id[256])
{
    size_t plen = strlen(prefix);
    if (key_len <= plen || memcmp(key, prefix, plen) != 0)
        return 0;
    if (key_len - plen >= 256)
        return -1;
    memcpy(id, key + plen, key_len - plen);
    id[key_len - plen] = 0;
    return 1;
}

li_err med_tasks_apply(med_tasks *t, const char *key, size_t key_len, const uint8_t *value,
                       size_t value_len)
{
    char id[256];
    int k;
    if ((k = key_id(key, key_len, "destination/", id)) != 0)
        return k < 0 ? LI_ERR_PROTO : apply_destination(t, id, value, value_len);
    if ((k = key_id(key, key_len, "poi/", id)) != 0)
        return k < 0 ? LI_ERR_PROTO : apply_poi(t, id, value, value_len);
    if ((k = key_id(key, key_len, "warrant/", id)) <= 0)
        return k < 0 ? LI_ERR_PROTO : LI_OK;

    med_warrant *nw = NULL;
    if (value_len) {
        Limf__Warrant *p = limf__warrant__unpack(NULL, value_len, value);
        if (!p)
            return LI_ERR_PROTO;
        if (p->xid.len != 16) {
            limf__warrant__free_unpacked(p, NULL);
            return LI_ERR_PROTO;
        }
        nw = warrant_from_proto(p);
        limf__warrant__free_unpacked(p, NULL);
        if (!nw)
            return LI_ERR_NOMEM;
    }
    t->generation++;
    med_warrant *old = med_map_del(&t->by_id, id);
    if (old) {
        xid_remove(t, old);
        warrant_free(old);
    }
    if (!nw)
        return LI_OK;
    if (med_map_put(&t->by_id, id, nw) != LI_OK) {
        warrant_free(nw);
        return LI_ERR_NOMEM;
    }
    if (xid_add(t, nw) != LI_OK) {
        med_map_del(&t->by_id, id);
        warrant_free(nw);
        return LI_ERR_NOMEM;
    }
    return LI_OK;
}

size_t med_tasks_find(const med_tasks *t, const uint8_t xid[16], med_warrant *const **out)
{
    char k[33];
    xid_key(xid, k);
    const xid_entry *e = med_map_get(&t->by_xid, k);
    if (!e)
        return 0;
    *out = e->w;
    return e->n;
}

int med_warrant_in_window(const med_warrant *w, uint64_t ts_ns)
{
    if (w->deactivated)
        return 0;
    int64_t ms = (int64_t)(ts_ns / 1000000);
    if (w->start_ms && ms < w->start_ms)
        return 0;
    if (w->end_ms && ms >= w->end_ms)
        return 0;
    return 1;
}

int med_warrant_covers(const med_warrant *w, uint64_t ts_ns, uint64_t received_ns,
                       uint64_t skew_ns)
{
    if (!med_warrant_in_window(w, ts_ns))
        return 0;
    if (!received_ns)
        return 1;
    int64_t ms = (int64_t)(received_ns / 1000000), skew_ms = (int64_t)(skew_ns / 1000000);
    if (w->start_ms && ms < w->start_ms - skew_ms)
        return 0;
    if (w->end_ms && ms >= w->end_ms + skew_ms)
        return 0;
    return 1;
}

size_t med_tasks_count(const med_tasks *t)
{
    return t->by_id.len;
}

uint64_t med_tasks_generation(const med_tasks *t)
{
    return t->generation;
}

int med_tasks_next(const med_tasks *t, size_t *iter, const med_warrant **w)
{
    const char *k;
    void *v;
    if (!med_map_next(&t->by_id, iter, &k, &v))
        return 0;
    *w = v;
    return 1;
}

const med_warrant *med_tasks_get(const med_tasks *t, const char *id)
{
    return med_map_get(&t->by_id, id);
}
