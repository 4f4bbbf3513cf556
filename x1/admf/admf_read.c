/* Reads of the store of record (admf.h): one object, and lists with filters and cursors. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admf_internal.h"
#include "admf_json.h"
#include "li_ident.h"

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
        out->body = x1_json_render(kind, m, admf_now_ms());
        out->etag = admf_store_version(kind, m);
    }
    pthread_mutex_unlock(&a->state_mu);
    if (!m)
        x1_result_error(out, 404, "not_found", "", "no such object");
}

int admf_parse_limit(const x1_query *q, size_t *limit, x1_result *out)
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
/* 1 when one of the warrant's targets is the identity `canon` (canonical form, docs/PRINCIPLES.md
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
    list_ctx l = { kind, q, 0, admf_now_ms(), json_array(), NULL, 0, NULL, NULL };
    char canon[LI_IDENT_MAX];
    const char *target = x1_query_get(q, "target");
    memset(out, 0, sizeof *out);
    if (!admf_parse_limit(q, &l.limit, out)) {
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

