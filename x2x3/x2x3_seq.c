#include "x2x3_seq.h"

#include <stdlib.h>
#include <string.h>

#include "li_bytes.h"

void x2x3_seq_init(x2x3_seq *t, uint64_t idle_ns)
{
    memset(t, 0, sizeof *t);
    t->idle_ns = idle_ns;
}

void x2x3_seq_free(x2x3_seq *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->count = 0;
}

static size_t slot_of(const x2x3_seq *t, const uint8_t xid[16], uint64_t cid)
{
    /* XIDs are random UUIDs; the correlation ID spreads the streams of one XID. */
    uint64_t h = li_get_be64(xid) ^ li_get_be64(xid + 8) ^ (cid * 0x9e3779b97f4a7c15ULL);
    h ^= h >> 29;
    return (size_t)(h * 0xbf58476d1ce4e5b9ULL >> 7) & (t->cap - 1);
}

static x2x3_seq_entry *find(x2x3_seq *t, const uint8_t xid[16], uint64_t cid)
{
    for (size_t i = slot_of(t, xid, cid);; i = (i + 1) & (t->cap - 1)) {
        x2x3_seq_entry *s = &t->slots[i];
        if (!s->last_ns || (s->correlation_id == cid && memcmp(s->xid, xid, 16) == 0))
            return s;
    }
}

/* Rebuilds the table without the streams idle for idle_ns, twice as large when more
 * than half of it stays in use. */
static li_err rebuild(x2x3_seq *t, uint64_t now_ns)
{
    size_t live = 0;
    for (size_t i = 0; i < t->cap; i++)
        live += t->slots[i].last_ns && now_ns - t->slots[i].last_ns < t->idle_ns;
    size_t cap = t->cap ? t->cap : 64;
    while (live >= cap / 2)
        cap *= 2;
    x2x3_seq n = { calloc(cap, sizeof *n.slots), cap, 0, t->idle_ns };
    if (!n.slots)
        return LI_ERR_NOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        const x2x3_seq_entry *s = &t->slots[i];
        if (s->last_ns && now_ns - s->last_ns < t->idle_ns) {
            *find(&n, s->xid, s->correlation_id) = *s;
            n.count++;
        }
    }
    free(t->slots);
    *t = n;
    return LI_OK;
}

uint32_t *x2x3_seq_next(x2x3_seq *t, const uint8_t xid[16], uint64_t correlation_id,
                        uint64_t now_ns)
{
    if (now_ns == 0)
        now_ns = 1;   /* 0 marks a free slot */
    if (t->cap) {
        x2x3_seq_entry *s = find(t, xid, correlation_id);
        if (s->last_ns) {
            s->last_ns = now_ns;
            return &s->next;
        }
    }
    if ((t->count + 1) * 4 > t->cap * 3 && rebuild(t, now_ns) != LI_OK)
        return NULL;
    x2x3_seq_entry *s = find(t, xid, correlation_id);
    memcpy(s->xid, xid, 16);
    s->correlation_id = correlation_id;
    s->last_ns = now_ns;
    s->next = 0;
    t->count++;
    return &s->next;
}
