/* HI1 notifications of warrants: see med_notify.h. */
#include "med_notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "med_map.h"
#include "med_state.pb-c.h"

#define KEY_PREFIX "w/"

/* What was last notified about one warrant. */
typedef struct note {
    char *liid, *auth_country;
    char **dests;
    size_t n_dests;
    uint8_t xid[16];
    int active;
    uint64_t fingerprint;
    uint64_t next_seq;
    int dirty;
} note;

struct med_notify {
    const med_tasks *tasks;
    med_emit_fn emit;
    void *emit_ctx;
    med_map notes;           /* "w/<warrant-id>" -> note */
};

static void note_clear(note *t)
{
    free(t->liid);
    free(t->auth_country);
    for (size_t i = 0; i < t->n_dests; i++)
        free(t->dests[i]);
    free(t->dests);
    t->liid = t->auth_country = NULL;
    t->dests = NULL;
    t->n_dests = 0;
}

static void note_free(void *p)
{
    note_clear(p);
    free(p);
}

/* Replaces the note's identifiers and destinations with ones given (copied). */
static li_err note_set(note *t, const char *liid, const char *cc, char *const *dests,
                       size_t n_dests, const uint8_t xid[16])
{
    note_clear(t);
    t->liid = strdup(liid);
    t->auth_country = strdup(cc);
    t->dests = calloc(n_dests + 1, sizeof *t->dests);
    if (!t->liid || !t->auth_country || !t->dests)
        return LI_ERR_NOMEM;
    for (; t->n_dests < n_dests; t->n_dests++)
        if (!(t->dests[t->n_dests] = strdup(dests[t->n_dests])))
            return LI_ERR_NOMEM;
    memcpy(t->xid, xid, 16);
    return LI_OK;
}

med_notify *med_notify_new(const med_tasks *tasks, med_emit_fn emit, void *emit_ctx)
{
    med_notify *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->tasks = tasks;
    n->emit = emit;
    n->emit_ctx = emit_ctx;
    med_map_init(&n->notes);
    return n;
}

void med_notify_free(med_notify *n)
{
    if (!n)
        return;
    med_map_free_values(&n->notes, note_free);
    free(n);
}

/* One HI1 record of the warrant to each of its destinations. */
static void notify(med_notify *n, const char *warrant_id, note *t,
                   Limf__HiRecord__Hi1Operation op, uint64_t now)
{
    Limf__HiRecord r = LIMF__HI_RECORD__INIT;
    r.liid = t->liid;
    r.auth_country = t->auth_country;
    r.cin = 0; /* of no communication: LI-PS-PDU leaves the CIN out for HI1 messages */
    r.seq = t->next_seq++;
    r.kind = LIMF__HI_RECORD__KIND__HI1;
    r.hi1_operation = op;
    r.timestamp_ns = now;
    r.mediated_ns = now;
    r.payload_kind = "";
    r.report_reason = "";
    r.stream_id = "";
    r.warrant_id = (char *)warrant_id;
    r.xid.data = t->xid;
    r.xid.len = 16;
    for (size_t d = 0; d < t->n_dests; d++) {
        r.destination_id = t->dests[d];
        n->emit(n->emit_ctx, t->dests[d], &r);
    }
    t->dirty = 1;
}

/* One warrant of the table: a new note, or the difference to the last notification. */
static li_err check_warrant(med_notify *n, const med_warrant *w, uint64_t now)
{
    char key[300];
    snprintf(key, sizeof key, KEY_PREFIX "%s", w->id);
    note *t = med_map_get(&n->notes, key);
    if (!t) {
        if (!(t = calloc(1, sizeof *t)) || med_map_put(&n->notes, key, t) != LI_OK) {
            free(t);
            return LI_ERR_NOMEM;
        }
        t->fingerprint = w->fingerprint;
        t->dirty = 1;
    }
    int active = med_warrant_in_window(w, now);
    int modified = active && t->active && w->fingerprint != t->fingerprint;
    if (active == t->active && !modified && t->liid)
        return LI_OK;
    /* The warrant's current LIID and destinations: a modification reaches where the
     * warrant now delivers. */
    if (note_set(t, w->liid, w->auth_country, w->destinations, w->n_destinations, w->xid) !=
        LI_OK)
        return LI_ERR_NOMEM;
    if (active != t->active)
        notify(n, w->id, t, active ? LIMF__HI_RECORD__HI1_OPERATION__LI_ACTIVATED
                                   : LIMF__HI_RECORD__HI1_OPERATION__LI_DEACTIVATED, now);
    else if (modified)
        notify(n, w->id, t, LIMF__HI_RECORD__HI1_OPERATION__LI_MODIFIED, now);
    t->active = active;
    t->fingerprint = w->fingerprint;
    t->dirty = 1;
    return LI_OK;
}

li_err med_notify_tick(med_notify *n, uint64_t now_ns)
{
    size_t it = 0;
    const med_warrant *w;
    while (med_tasks_next(n->tasks, &it, &w))
        if (check_warrant(n, w, now_ns) != LI_OK)
            return LI_ERR_NOMEM;
    /* Withdrawn warrants: their last destinations hear that interception stopped. */
    const char *k;
    void *v;
    it = 0;
    while (med_map_next(&n->notes, &it, &k, &v)) {
        note *t = v;
        if (t->active && !med_tasks_get(n->tasks, k + strlen(KEY_PREFIX))) {
            notify(n, k + strlen(KEY_PREFIX), t, LIMF__HI_RECORD__HI1_OPERATION__LI_DEACTIVATED,
                   now_ns);
            t->active = 0;
        }
    }
    return LI_OK;
}

li_err med_notify_flush(med_notify *n, med_state_fn fn, void *ctx)
{
    size_t it = 0;
    const char *k;
    void *v;
    while (med_map_next(&n->notes, &it, &k, &v)) {
        note *t = v;
        if (!t->dirty)
            continue;
        Limf__Med__WarrantNote pn = LIMF__MED__WARRANT_NOTE__INIT;
        Limf__Med__State st = LIMF__MED__STATE__INIT;
        pn.liid = t->liid ? t->liid : (char *)"";
        pn.auth_country = t->auth_country ? t->auth_country : (char *)"";
        pn.destinations = t->dests;
        pn.n_destinations = t->n_dests;
        pn.active = t->active;
        pn.fingerprint = t->fingerprint;
        pn.next_seq = t->next_seq;
        pn.xid.data = t->xid;
        pn.xid.len = 16;
        st.warrant = &pn;
        size_t len = limf__med__state__get_packed_size(&st);
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf)
            return LI_ERR_NOMEM;
        limf__med__state__pack(&st, buf);
        fn(ctx, k, buf, len);
        free(buf);
        t->dirty = 0;
    }
    return LI_OK;
}

int med_notify_owns(const char *key)
{
    return strncmp(key, KEY_PREFIX, strlen(KEY_PREFIX)) == 0;
}

li_err med_notify_restore(med_notify *n, const char *key, const uint8_t *value, size_t len)
{
    note *old = med_map_del(&n->notes, key);
    if (old)
        note_free(old);
    if (len == 0)
        return LI_OK;
    Limf__Med__State *st = limf__med__state__unpack(NULL, len, value);
    if (!st)
        return LI_ERR_PROTO;
    li_err err = LI_OK;
    const Limf__Med__WarrantNote *p = st->warrant;
    note *t = p && p->xid.len == 16 ? calloc(1, sizeof *t) : NULL;
    if (!p || p->xid.len != 16) {
        err = LI_ERR_PROTO;
    } else if (!t || note_set(t, p->liid, p->auth_country, p->destinations, p->n_destinations,
                              p->xid.data) != LI_OK ||
               med_map_put(&n->notes, key, t) != LI_OK) {
        if (t)
            note_free(t);
        err = LI_ERR_NOMEM;
    } else {
        t->active = p->active;
        t->fingerprint = p->fingerprint;
        t->next_seq = p->next_seq;
    }
    limf__med__state__free_unpacked(st, NULL);
    return err;
}
