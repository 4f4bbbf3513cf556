#include "admf_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.pb-c.h"

typedef struct entry {
    struct entry *next;
    ProtobufCMessage *msg;
    char id[];
} entry;

typedef struct table {
    entry **buckets;
    size_t n_buckets;          /* power of two */
    size_t count;
    entry **sorted;            /* ids in ascending order, rebuilt when dirty */
    int dirty;
} table;

/* (authorization country, LIID) -> warrant id. */
typedef struct liid_entry {
    struct liid_entry *next;
    char *owner;
    char key[];                /* "<country>/<liid>" */
} liid_entry;

#define LIID_BUCKETS 65536

/* "<kind>/<id>" -> the last version of a deleted object. */
typedef struct retired_entry {
    struct retired_entry *next;
    uint64_t version;
    char key[];
} retired_entry;

#define RETIRED_BUCKETS 4096

struct admf_store {
    table t[X1_KIND_COUNT];
    liid_entry **liids;
    retired_entry *retired[RETIRED_BUCKETS];
};

static const char *const kind_names[X1_KIND_COUNT] = { "warrant", "destination", "exception",
                                                       "poi" };

const char *x1_kind_name(x1_kind kind)
{
    return kind_names[kind];
}

const ProtobufCMessageDescriptor *x1_kind_descriptor(x1_kind kind)
{
    static const ProtobufCMessageDescriptor *const d[X1_KIND_COUNT] = {
        &limf__warrant__descriptor, &limf__destination__descriptor,
        &limf__cert_exception__descriptor, &limf__intercept_point__descriptor };
    return d[kind];
}

li_err x1_key_parse(const char *key, size_t key_len, x1_kind *kind, const char **id,
                    size_t *id_len)
{
    for (int k = 0; k < X1_KIND_COUNT; k++) {
        size_t n = strlen(kind_names[k]);
        if (key_len > n + 1 && memcmp(key, kind_names[k], n) == 0 && key[n] == '/') {
            *kind = (x1_kind)k;
            *id = key + n + 1;
            *id_len = key_len - n - 1;
            return memchr(*id, 0, *id_len) ? LI_ERR_PROTO : LI_OK;
        }
    }
    return LI_ERR_PROTO;
}

/* FNV-1a: ids are short and chosen by operators, not by attackers who see the table. */
static size_t hash_id(const char *id, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)id[i]) * 1099511628211ull;
    return (size_t)h;
}

static size_t liid_bucket(const char *country, const char *liid)
{
    return (hash_id(country, strlen(country)) ^ hash_id(liid, strlen(liid))) &
           (LIID_BUCKETS - 1);
}

static liid_entry **liid_find(const admf_store *st, const char *country, const char *liid)
{
    liid_entry **pp = &st->liids[liid_bucket(country, liid)];
    size_t cl = strlen(country);
    for (; *pp; pp = &(*pp)->next)
        if (strncmp((*pp)->key, country, cl) == 0 && (*pp)->key[cl] == '/' &&
            strcmp((*pp)->key + cl + 1, liid) == 0)
            return pp;
    return pp;
}

const char *admf_store_liid_owner(const admf_store *st, const char *country, const char *liid)
{
    liid_entry **pp = liid_find(st, country, liid);
    return *pp ? (*pp)->owner : NULL;
}

static void liid_index(admf_store *st, const Limf__Warrant *w, int add, const char *id)
{
    if (!w || !w->auth_country || !w->liid)
        return;
    liid_entry **pp = liid_find(st, w->auth_country, w->liid);
    if (!add) {
        if (*pp && strcmp((*pp)->owner, id) == 0) {
            liid_entry *e = *pp;
            *pp = e->next;
            free(e->owner);
            free(e);
        }
        return;
    }
    if (*pp)
        return; /* validation keeps pairs unique; the first holder stays the owner */
    size_t n = strlen(w->auth_country) + 1 + strlen(w->liid) + 1;
    liid_entry *e = malloc(sizeof *e + n);
    if (!e || !(e->owner = strdup(id))) {
        free(e);
        return;
    }
    snprintf(e->key, n, "%s/%s", w->auth_country, w->liid);
    e->next = NULL;
    *pp = e;
}

admf_store *admf_store_new(void)
{
    admf_store *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    if (!(st->liids = calloc(LIID_BUCKETS, sizeof *st->liids))) {
        free(st);
        return NULL;
    }
    for (int k = 0; k < X1_KIND_COUNT; k++) {
        st->t[k].n_buckets = 64;
        st->t[k].buckets = calloc(64, sizeof(entry *));
        if (!st->t[k].buckets) {
            admf_store_free(st);
            return NULL;
        }
    }
    return st;
}

void admf_store_free(admf_store *st)
{
    if (!st)
        return;
    for (int k = 0; k < X1_KIND_COUNT; k++) {
        table *t = &st->t[k];
        for (size_t b = 0; t->buckets && b < t->n_buckets; b++) {
            for (entry *e = t->buckets[b], *next; e; e = next) {
                next = e->next;
                protobuf_c_message_free_unpacked(e->msg, NULL);
                free(e);
            }
        }
        free(t->buckets);
        free(t->sorted);
    }
    for (size_t b = 0; st->liids && b < LIID_BUCKETS; b++) {
        for (liid_entry *e = st->liids[b], *next; e; e = next) {
            next = e->next;
            free(e->owner);
            free(e);
        }
    }
    free(st->liids);
    for (size_t b = 0; b < RETIRED_BUCKETS; b++) {
        for (retired_entry *e = st->retired[b], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(st);
}

uint64_t admf_store_version(x1_kind kind, const ProtobufCMessage *msg)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(x1_kind_descriptor(kind), "version");
    return f ? *(const uint64_t *)((const char *)msg + f->offset) : 0;
}

static retired_entry **retired_find(const admf_store *st, x1_kind kind, const char *id)
{
    size_t h = hash_id(kind_names[kind], strlen(kind_names[kind])) ^ hash_id(id, strlen(id));
    retired_entry **pp = (retired_entry **)&st->retired[h & (RETIRED_BUCKETS - 1)];
    size_t kl = strlen(kind_names[kind]);
    for (; *pp; pp = &(*pp)->next)
        if (strncmp((*pp)->key, kind_names[kind], kl) == 0 && (*pp)->key[kl] == '/' &&
            strcmp((*pp)->key + kl + 1, id) == 0)
            return pp;
    return pp;
}

uint64_t admf_store_retired(const admf_store *st, x1_kind kind, const char *id)
{
    retired_entry **pp = retired_find(st, kind, id);
    return *pp ? (*pp)->version : 0;
}

li_err admf_store_retire(admf_store *st, x1_kind kind, const char *id, uint64_t version)
{
    retired_entry **pp = retired_find(st, kind, id);
    if (*pp) {
        if ((*pp)->version < version)
            (*pp)->version = version;
        return LI_OK;
    }
    size_t n = strlen(kind_names[kind]) + 1 + strlen(id) + 1;
    retired_entry *e = malloc(sizeof *e + n);
    if (!e)
        return LI_ERR_NOMEM;
    snprintf(e->key, n, "%s/%s", kind_names[kind], id);
    e->version = version;
    e->next = NULL;
    *pp = e;
    return LI_OK;
}

static entry **find(table *t, const char *id, size_t len)
{
    entry **pp = &t->buckets[hash_id(id, len) & (t->n_buckets - 1)];
    for (; *pp; pp = &(*pp)->next)
        if (strlen((*pp)->id) == len && memcmp((*pp)->id, id, len) == 0)
            return pp;
    return pp;
}

static li_err grow(table *t)
{
    size_t n = t->n_buckets * 2;
    entry **b = calloc(n, sizeof *b);
    if (!b)
        return LI_ERR_NOMEM;
    for (size_t i = 0; i < t->n_buckets; i++) {
        for (entry *e = t->buckets[i], *next; e; e = next) {
            next = e->next;
            size_t h = hash_id(e->id, strlen(e->id)) & (n - 1);
            e->next = b[h];
            b[h] = e;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->n_buckets = n;
    return LI_OK;
}

li_err admf_store_apply(admf_store *st, const char *key, size_t key_len, const uint8_t *value,
                      size_t len)
{
    x1_kind kind;
    const char *id;
    size_t id_len;
    ProtobufCMessage *msg = NULL;
    if (x1_key_parse(key, key_len, &kind, &id, &id_len) != LI_OK)
        return LI_ERR_PROTO;
    table *t = &st->t[kind];
    if (value && len) {
        msg = protobuf_c_message_unpack(x1_kind_descriptor(kind), NULL, len, value);
        if (!msg)
            return LI_ERR_PROTO;
    }
    entry **pp = find(t, id, id_len);
    if (*pp) {
        entry *e = *pp;
        if (kind == X1_KIND_WARRANT) {
            liid_index(st, (const Limf__Warrant *)e->msg, 0, e->id);
            liid_index(st, (const Limf__Warrant *)msg, 1, e->id);
        }
        uint64_t version = admf_store_version(kind, e->msg);
        protobuf_c_message_free_unpacked(e->msg, NULL);
        if (msg) {
            e->msg = msg;
            return LI_OK;
        }
        admf_store_retire(st, kind, e->id, version);
        *pp = e->next;
        free(e);
        t->count--;
        t->dirty = 1;
        return LI_OK;
    }
    if (!msg)
        return LI_OK;
    if (t->count >= t->n_buckets && grow(t) == LI_OK)
        pp = find(t, id, id_len);
    entry *e = malloc(sizeof *e + id_len + 1);
    if (!e) {
        protobuf_c_message_free_unpacked(msg, NULL);
        return LI_ERR_NOMEM;
    }
    memcpy(e->id, id, id_len);
    e->id[id_len] = 0;
    e->msg = msg;
    e->next = NULL;
    *pp = e;
    if (kind == X1_KIND_WARRANT)
        liid_index(st, (const Limf__Warrant *)msg, 1, e->id);
    t->count++;
    t->dirty = 1;
    return LI_OK;
}

const ProtobufCMessage *admf_store_get(const admf_store *st, x1_kind kind, const char *id)
{
    entry **pp = find((table *)&st->t[kind], id, strlen(id));
    return *pp ? (*pp)->msg : NULL;
}

size_t admf_store_count(const admf_store *st, x1_kind kind)
{
    return st->t[kind].count;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp((*(entry *const *)a)->id, (*(entry *const *)b)->id);
}

static li_err sort_table(table *t)
{
    if (!t->dirty)
        return LI_OK;
    entry **s = realloc(t->sorted, (t->count ? t->count : 1) * sizeof *s);
    if (!s)
        return LI_ERR_NOMEM;
    size_t n = 0;
    for (size_t b = 0; b < t->n_buckets; b++)
        for (entry *e = t->buckets[b]; e; e = e->next)
            s[n++] = e;
    qsort(s, n, sizeof *s, cmp_entry);
    t->sorted = s;
    t->dirty = 0;
    return LI_OK;
}

void admf_store_each(admf_store *st, x1_kind kind, const char *after,
                   int (*fn)(void *ctx, const ProtobufCMessage *msg), void *ctx)
{
    table *t = &st->t[kind];
    if (sort_table(t) != LI_OK)
        return;
    size_t lo = 0, hi = t->count;
    if (after) {
        /* first id greater than `after` */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(t->sorted[mid]->id, after) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    for (size_t i = lo; i < t->count; i++)
        if (fn(ctx, t->sorted[i]->msg))
            return;
}
