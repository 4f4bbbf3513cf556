/* Bounded TCP reassembly; see siptap_tcpreasm.h.
 * Sequence numbers compare modulo 2^32 (RFC 9293 3.4): a is before b when
 * (int32_t)(a - b) < 0. */
#include "siptap_tcpreasm.h"

#include <stdlib.h>
#include <string.h>

#include "li_bytes.h"
#include "siptap_pkt.h"

/* An out-of-order segment waiting for the hole before it to fill. */
typedef struct seg {
    struct seg *next;
    uint32_t seq;
    size_t len;
    uint8_t data[];
} seg;

typedef struct flow {
    x2x3_flow_key key;
    struct flow *hnext;              /* hash chain */
    struct flow *older, *newer;      /* activity list, oldest first */
    uint64_t last_ns;
    uint64_t hole_since_ns;          /* when the first out-of-order segment arrived */
    uint32_t next_seq;               /* next in-order sequence number expected */
    int fin_seen;
    uint32_t fin_seq;                /* sequence number after the last byte */
    li_buf inorder;                  /* in-order bytes not yet consumed */
    seg *ooo;                        /* sorted by seq */
    size_t ooo_bytes;
} flow;

struct siptap_tcpreasm {
    siptap_tcpreasm_limits lim;
    siptap_tcpreasm_deliver_fn deliver;
    void *ctx;
    flow **table;
    size_t table_mask;
    flow *oldest, *newest;
    siptap_tcpreasm_stats st;
};

static int seq_before(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

void x2x3_flow_key_set(x2x3_flow_key *key, int family, const uint8_t src[16],
                       const uint8_t dst[16], uint16_t sport, uint16_t dport)
{
    memset(key, 0, sizeof *key);
    size_t alen = family == 2 ? 4 : 16;  /* AF_INET is 2 on every system limf runs on */
    memcpy(key->src, src, alen);
    memcpy(key->dst, dst, alen);
    key->sport = sport;
    key->dport = dport;
    key->family = (uint8_t)family;
}

static size_t key_hash(const x2x3_flow_key *k)
{
    /* FNV-1a over the key's bytes. */
    const uint8_t *p = (const uint8_t *)k;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof *k; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return (size_t)(h ^ h >> 32);
}

siptap_tcpreasm *siptap_tcpreasm_new(const siptap_tcpreasm_limits *limits,
                                 siptap_tcpreasm_deliver_fn deliver, void *ctx)
{
    siptap_tcpreasm *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (limits)
        r->lim = *limits;
    if (!r->lim.max_flows)
        r->lim.max_flows = 16384;
    if (!r->lim.max_flow_bytes)
        r->lim.max_flow_bytes = 256 * 1024;
    if (!r->lim.max_total_bytes)
        r->lim.max_total_bytes = 64 * 1024 * 1024;
    if (!r->lim.idle_timeout_ns)
        r->lim.idle_timeout_ns = 300ull * 1000000000ull;
    if (!r->lim.hole_timeout_ns)
        r->lim.hole_timeout_ns = 2ull * 1000000000ull;
    size_t n = 64;
    while (n < r->lim.max_flows && n < ((size_t)1 << 24))
        n <<= 1;
    r->table = calloc(n, sizeof *r->table);
    if (!r->table) {
        free(r);
        return NULL;
    }
    r->table_mask = n - 1;
    r->deliver = deliver;
    r->ctx = ctx;
    return r;
}

static void ooo_clear(siptap_tcpreasm *r, flow *f)
{
    while (f->ooo) {
        seg *s = f->ooo;
        f->ooo = s->next;
        free(s);
    }
    r->st.buffered_bytes -= f->ooo_bytes;
    f->ooo_bytes = 0;
    f->hole_since_ns = 0;
}

static void inorder_discard(siptap_tcpreasm *r, flow *f)
{
    r->st.buffered_bytes -= f->inorder.len;
    li_buf_reset(&f->inorder);
}

static void flow_unlink(siptap_tcpreasm *r, flow *f)
{
    flow **pp = &r->table[key_hash(&f->key) & r->table_mask];
    while (*pp != f)
        pp = &(*pp)->hnext;
    *pp = f->hnext;
    if (f->older)
        f->older->newer = f->newer;
    else
        r->oldest = f->newer;
    if (f->newer)
        f->newer->older = f->older;
    else
        r->newest = f->older;
}

static void flow_free(siptap_tcpreasm *r, flow *f)
{
    flow_unlink(r, f);
    ooo_clear(r, f);
    inorder_discard(r, f);
    li_buf_free(&f->inorder);
    free(f);
    r->st.flows--;
}

void siptap_tcpreasm_free(siptap_tcpreasm *r)
{
    if (!r)
        return;
    while (r->oldest)
        flow_free(r, r->oldest);
    free(r->table);
    free(r);
}

static flow *flow_find(siptap_tcpreasm *r, const x2x3_flow_key *key)
{
    for (flow *f = r->table[key_hash(key) & r->table_mask]; f; f = f->hnext)
        if (memcmp(&f->key, key, sizeof *key) == 0)
            return f;
    return NULL;
}

static void flow_touch(siptap_tcpreasm *r, flow *f, uint64_t ts_ns)
{
    f->last_ns = ts_ns;
    if (r->newest == f)
        return;
    /* Move to the newest end of the activity list. */
    if (f->older)
        f->older->newer = f->newer;
    else
        r->oldest = f->newer;
    f->newer->older = f->older;
    f->older = r->newest;
    f->newer = NULL;
    r->newest->newer = f;
    r->newest = f;
}

static flow *flow_create(siptap_tcpreasm *r, const x2x3_flow_key *key, uint32_t next_seq,
                         uint64_t ts_ns)
{
    if (r->st.flows >= r->lim.max_flows) {
        flow_free(r, r->oldest);
        r->st.evicted++;
    }
    flow *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->key = *key;
    f->next_seq = next_seq;
    f->last_ns = ts_ns;
    li_buf_init(&f->inorder, r->lim.max_flow_bytes);
    size_t h = key_hash(key) & r->table_mask;
    f->hnext = r->table[h];
    r->table[h] = f;
    f->older = r->newest;
    if (r->newest)
        r->newest->newer = f;
    else
        r->oldest = f;
    r->newest = f;
    r->st.flows++;
    return f;
}

/* Appends in-order bytes; when a bound forbids it, the partial data is discarded and the
 * stream restarts after these bytes (the consumer resynchronises). */
static void inorder_append(siptap_tcpreasm *r, flow *f, const uint8_t *p, size_t len)
{
    f->next_seq += (uint32_t)len;
    if (len > r->lim.max_flow_bytes - f->ooo_bytes - f->inorder.len ||
        len > r->lim.max_total_bytes - r->st.buffered_bytes ||
        li_buf_append(&f->inorder, p, len) != LI_OK) {
        r->st.overflows++;
        inorder_discard(r, f);
        return;
    }
    r->st.buffered_bytes += len;
}

/* Moves the out-of-order segments that have become contiguous to the in-order buffer. */
static void ooo_drain(siptap_tcpreasm *r, flow *f)
{
    while (f->ooo && !seq_before(f->next_seq, f->ooo->seq)) {
        seg *s = f->ooo;
        f->ooo = s->next;
        f->ooo_bytes -= s->len;
        r->st.buffered_bytes -= s->len;
        uint32_t skip = f->next_seq - s->seq;
        if (skip < s->len)
            inorder_append(r, f, s->data + skip, s->len - skip);
        free(s);
    }
    f->hole_since_ns = f->ooo ? f->hole_since_ns : 0;
}

/* Gives up on the hole before the first out-of-order segment (RFC-free policy: the
 * bytes are lost to the capture, so the message they belonged to cannot be exported). */
static void skip_hole(siptap_tcpreasm *r, flow *f, uint64_t ts_ns)
{
    r->st.gaps++;
    inorder_discard(r, f);
    f->next_seq = f->ooo->seq;
    ooo_drain(r, f);
    if (f->ooo)
        f->hole_since_ns = ts_ns;
}

static void deliver(siptap_tcpreasm *r, flow *f, uint64_t ts_ns)
{
    if (!f->inorder.len)
        return;
    size_t used = r->deliver(r->ctx, &f->key, f->inorder.data, f->inorder.len, ts_ns);
    if (used > f->inorder.len)
        used = f->inorder.len;
    r->st.bytes_delivered += used;
    r->st.buffered_bytes -= used;
    li_buf_consume(&f->inorder, used);
}

static li_err ooo_insert(siptap_tcpreasm *r, flow *f, uint32_t seq, const uint8_t *p,
                         size_t len, uint64_t ts_ns)
{
    seg **pp = &f->ooo;
    while (*pp && seq_before((*pp)->seq, seq))
        pp = &(*pp)->next;
    if (*pp && (*pp)->seq == seq && (*pp)->len >= len) {
        r->st.retransmitted++;
        return LI_OK;
    }
    while (len > r->lim.max_flow_bytes - f->ooo_bytes - f->inorder.len ||
           len > r->lim.max_total_bytes - r->st.buffered_bytes) {
        if (!f->ooo) {
            r->st.overflows++;
            return LI_OK;
        }
        /* The buffer is full of data waiting behind a hole: skip the hole, and let the
         * consumer take what became contiguous before adding more. */
        skip_hole(r, f, ts_ns);
        deliver(r, f, ts_ns);
        if (!seq_before(f->next_seq, seq)) {
            uint32_t skip = f->next_seq - seq;
            if (skip < len) {
                inorder_append(r, f, p + skip, len - skip);
                ooo_drain(r, f);
            }
            return LI_OK;
        }
        pp = &f->ooo;
        while (*pp && seq_before((*pp)->seq, seq))
            pp = &(*pp)->next;
    }
    seg *s = malloc(sizeof *s + len);
    if (!s)
        return LI_ERR_NOMEM;
    s->seq = seq;
    s->len = len;
    memcpy(s->data, p, len);
    s->next = *pp;
    *pp = s;
    f->ooo_bytes += len;
    r->st.buffered_bytes += len;
    r->st.out_of_order++;
    if (!f->hole_since_ns)
        f->hole_since_ns = ts_ns ? ts_ns : 1;
    return LI_OK;
}

li_err siptap_tcpreasm_segment(siptap_tcpreasm *r, const x2x3_flow_key *key, uint32_t seq,
                             uint8_t tcp_flags, const uint8_t *payload, size_t len,
                             uint64_t ts_ns)
{
    flow *f = flow_find(r, key);
    if (tcp_flags & X2X3_TCP_RST) {
        r->st.segments++;
        if (f)
            flow_free(r, f);
        return LI_OK;
    }
    if (!len && !(tcp_flags & (X2X3_TCP_SYN | X2X3_TCP_FIN)))
        return LI_OK;  /* a bare ACK says nothing about this direction's bytes */
    r->st.segments++;
    if ((tcp_flags & X2X3_TCP_SYN) && f && !seq_before(f->next_seq, seq + 1) &&
        f->next_seq - (seq + 1) < (1u << 30)) {
        /* A retransmitted SYN of the stream already known: its ISN lies just behind what
         * was received. A new connection on the same ports has an unrelated ISN
         * (RFC 9293 3.4.1). */
        flow_touch(r, f, ts_ns);
        seq++;
    } else if (tcp_flags & X2X3_TCP_SYN) {
        /* A SYN starts a new stream: the first data octet is ISN + 1 (RFC 9293 3.4). */
        if (f)
            flow_free(r, f);
        f = flow_create(r, key, seq + 1, ts_ns);
        if (!f)
            return LI_ERR_NOMEM;
        seq++;
    } else if (!f) {
        /* Picked up mid-stream (the capture started after the handshake). */
        f = flow_create(r, key, seq, ts_ns);
        if (!f)
            return LI_ERR_NOMEM;
    } else {
        flow_touch(r, f, ts_ns);
    }
    if (tcp_flags & X2X3_TCP_FIN) {
        f->fin_seen = 1;
        f->fin_seq = seq + (uint32_t)len;
    }
    li_err err = LI_OK;
    if (len) {
        if (!seq_before(f->next_seq, seq) && seq_before(f->next_seq, seq + (uint32_t)len)) {
            /* In order, possibly overlapping what was already received. */
            uint32_t skip = f->next_seq - seq;
            if (skip)
                r->st.retransmitted++;
            inorder_append(r, f, payload + skip, len - skip);
            ooo_drain(r, f);
        } else if (seq_before(f->next_seq, seq)) {
            err = ooo_insert(r, f, seq, payload, len, ts_ns);
        } else {
            r->st.retransmitted++;
        }
    }
    if (f->ooo && ts_ns > f->hole_since_ns &&
        ts_ns - f->hole_since_ns > r->lim.hole_timeout_ns)
        skip_hole(r, f, ts_ns);
    deliver(r, f, ts_ns);
    if (f->fin_seen && f->next_seq == f->fin_seq && !f->ooo && f->inorder.cap) {
        /* Closed: what the consumer left is an incomplete message that never ends. The
         * flow stays (until the idle timeout) so that retransmissions after the FIN
         * are recognised as such rather than taken for a new stream. */
        inorder_discard(r, f);
        li_buf_free(&f->inorder);
    }
    return err;
}

void siptap_tcpreasm_expire(siptap_tcpreasm *r, uint64_t now_ns)
{
    while (r->oldest && now_ns - r->oldest->last_ns > r->lim.idle_timeout_ns &&
           now_ns > r->oldest->last_ns) {
        flow_free(r, r->oldest);
        r->st.expired++;
    }
    for (flow *f = r->oldest; f; f = f->newer) {
        if (f->ooo && now_ns > f->hole_since_ns &&
            now_ns - f->hole_since_ns > r->lim.hole_timeout_ns) {
            skip_hole(r, f, now_ns);
            deliver(r, f, now_ns);
        }
    }
}

void siptap_tcpreasm_stats_get(const siptap_tcpreasm *r, siptap_tcpreasm_stats *out)
{
    *out = r->st;
}
