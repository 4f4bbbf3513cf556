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
    uint64_t generation;
};

med_tasks *med_tasks_new(void)
{
    med_tasks *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    med_map_init(&t->by_id);
    med_map_init(&t->by_xid);
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
    if (!w->id || !w->liid || !w->auth_country || !w->destinations || !w->targets)
        goto fail;
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

li_err med_tasks_apply(med_tasks *t, const char *key, size_t key_len, const uint8_t *value,
                       size_t value_len)
{
    static const char prefix[] = "warrant/";
    const size_t plen = sizeof prefix - 1;
    if (key_len <= plen || memcmp(key, prefix, plen) != 0)
        return LI_OK;
    char id[256];
    if (key_len - plen >= sizeof id)
        return LI_ERR_PROTO;
    memcpy(id, key + plen, key_len - plen);
    id[key_len - plen] = 0;

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
