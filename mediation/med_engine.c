/* Correlation engine: see med_engine.h. */
#include "med_engine.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "li_bytes.h"
#include "li_ident.h"
#include "li_msrp.h"
#include "li_sdp.h"
#include "li_sip.h"
#include "med_map.h"
#include "med_state.pb-c.h"
#include "x2x3_event.h"
#include "x2x3_pdu.h"

/* The HiRecord values (common/proto/hi.proto), under short names. */
#define IRI_BEGIN LIMF__HI_RECORD__IRI_TYPE__IRI_BEGIN
#define IRI_END LIMF__HI_RECORD__IRI_TYPE__IRI_END
#define IRI_CONTINUE LIMF__HI_RECORD__IRI_TYPE__IRI_CONTINUE
#define IRI_REPORT LIMF__HI_RECORD__IRI_TYPE__IRI_REPORT
#define DIR_FROM_TARGET LIMF__HI_RECORD__DIRECTION__FROM_TARGET
#define DIR_TO_TARGET LIMF__HI_RECORD__DIRECTION__TO_TARGET
#define DIR_INDETERMINATE LIMF__HI_RECORD__DIRECTION__INDETERMINATE
#define KIND_IRI LIMF__HI_RECORD__KIND__IRI
#define KIND_CC LIMF__HI_RECORD__KIND__CC
#define KIND_HI1 LIMF__HI_RECORD__KIND__HI1

enum { KIND_DIALOG = 1, KIND_PAGER = 2, KIND_ORPHAN = 3 };
/* PHASE_CLOSING: a BYE was seen, its final response not yet (med_state.proto). */
enum { PHASE_EARLY = 0, PHASE_CONFIRMED = 1, PHASE_ENDED = 2, PHASE_CLOSING = 3 };

/* An ended dialog lingers until input with later event times shows that its last
 * messages are in; on a partition that stays idle, this long after (processing time). */
#define LINGER_IDLE_NS (600ULL * 1000000000ULL)
/* Whose SDP announced an MSRP session-id. */
enum { SIDE_OTHER = 0, SIDE_TARGET = 1, SIDE_UNKNOWN = 2 };

#define RECENT 16            /* SIP message hashes kept per communication */
#define MAX_ID 512           /* longest Call-ID or MSRP session-id handled */
#define MAX_SIDS 32          /* MSRP session-ids linked to one communication */

typedef struct msid {
    char *id;
    uint8_t side;
} msid;

/* The next sequenceNumber of one LIID in one CIN, per handover interface: HI2 (IRI
 * and HI1 records) and HI3 (CC) are separate deliveries, each contiguous from 0. */
typedef struct lseq {
    char *liid;
    uint64_t next_hi2, next_hi3;
} lseq;

typedef struct pend {
    uint8_t *p;              /* a serialized XPdu holding one MSRP message */
    size_t len;
} pend;

typedef struct session {
    char *key;
    uint8_t xid[16];
    uint8_t kind, phase, dirty;
    uint64_t cin;
    char *call_id;
    msid *msrp;
    uint32_t n_msrp;
    lseq *seqs;
    uint32_t n_seqs;
    uint64_t recent[RECENT];
    uint32_t n_recent;
    uint64_t last_ns, deadline_ns;
    uint32_t bye_cseq;       /* PHASE_CLOSING: the CSeq whose 2xx ends the dialog */
    pend *pending;
    uint32_t n_pending;
    size_t pending_bytes;
} session;

typedef struct task_state {
    uint8_t xid[16];
    uint64_t next_cin;
    uint8_t dirty;
} task_state;

/* Per (POI, task): digests of the last RESEND_WINDOW X2/X3 PDUs processed, to drop the
 * byte-identical copies a POI resends after a reconnect (see resent_copy). */
#define RESEND_WINDOW 1024
#define RESEND_FILTER 4096             /* slots of the window's filter, a power of two */
typedef struct poi_window {
    uint8_t xid[16];
    char *poi_id;
    uint64_t digests[RESEND_WINDOW];   /* ring; 0: empty */
    uint32_t next;                     /* slot of the next digest */
    uint16_t filter[RESEND_FILTER];    /* digests in the ring per low bits: 0 = surely new */
    uint64_t last_ns;
    uint8_t dirty;
} poi_window;

typedef struct link_state {
    uint8_t xid[16];
    char *sid;
    uint64_t last_ns;
    uint8_t dirty;
} link_state;

struct med_engine {
    med_config cfg;
    const med_tasks *tasks;
    med_emit_fn emit;
    void *emit_ctx;
    med_map sessions;        /* "s/<xid>/<call-id>", "o/<xid>/<sid>" -> session */
    med_map sid_index;       /* "<xid>/<sid>" -> session */
    med_map task_states;     /* "t/<xid>" -> task_state */
    med_map links;           /* "l/<xid>/<poi>/<corr>" -> link_state */
    med_map windows;         /* "p/<xid>/<poi>" -> poi_window */
    char **dirty;            /* changed keys since the last flush */
    size_t n_dirty, cap_dirty;
    size_t pending_total;
    med_stats st;
    uint64_t watermark_ns;   /* the latest event time (POI timestamp) processed */
    li_sip_msg sip;          /* scratch, too large for the stack of every call */
    /* The last med_tasks_find, valid while the table's generation is unchanged. */
    uint8_t cache_xid[16];
    uint64_t cache_gen;
    med_warrant *const *cache_ws;
    size_t cache_nw;
    int cache_valid;
};

/* What one emitted record needs besides its type. */
typedef struct rec_args {
    const Limf__XPdu *pdu;   /* source PDU, or NULL (timer records) */
    uint64_t ts_ns;
    Limf__HiRecord__Kind kind;
    Limf__HiRecord__IriType iri_type;
    Limf__HiRecord__Direction direction;
    const char *payload_kind;
    const uint8_t *payload;
    size_t payload_len;
    const char *report_reason;
    const char *stream_id;
} rec_args;

void med_config_defaults(med_config *cfg)
{
    cfg->session_timeout_ns = 1800ULL * 1000000000ULL;
    cfg->linger_ns = 32ULL * 1000000000ULL;
    cfg->x3_wait_ns = 5ULL * 1000000000ULL;
    cfg->x3_wait_bytes = 1u << 20;
    cfg->x3_wait_total_bytes = 64u << 20;
    cfg->window_skew_ns = 60ULL * 1000000000ULL;
}

static void xid_hex(const uint8_t xid[16], char out[33])
{
    li_hex_encode(xid, 16, out);
}

/* med_tasks_find through a one-entry cache: consecutive PDUs are mostly of one task. */
static size_t find_warrants(med_engine *e, const uint8_t xid[16], med_warrant *const **out)
{
    uint64_t gen = med_tasks_generation(e->tasks);
    if (!e->cache_valid || e->cache_gen != gen || memcmp(e->cache_xid, xid, 16) != 0) {
        e->cache_nw = med_tasks_find(e->tasks, xid, &e->cache_ws);
        memcpy(e->cache_xid, xid, 16);
        e->cache_gen = gen;
        e->cache_valid = 1;
    }
    *out = e->cache_ws;
    return e->cache_nw;
}

/* ---- change tracking ---- */

static li_err mark(med_engine *e, const char *key, uint8_t *flag)
{
    if (flag && *flag)
        return LI_OK;
    if (e->n_dirty == e->cap_dirty) {
        size_t ncap = e->cap_dirty ? e->cap_dirty * 2 : 64;
        char **nd = realloc(e->dirty, ncap * sizeof *nd);
        if (!nd)
            return LI_ERR_NOMEM;
        e->dirty = nd;
        e->cap_dirty = ncap;
    }
    char *k = strdup(key);
    if (!k)
        return LI_ERR_NOMEM;
    e->dirty[e->n_dirty++] = k;
    if (flag)
        *flag = 1;
    return LI_OK;
}

/* ---- sessions ---- */

static void session_free(session *s)
{
    if (!s)
        return;
    free(s->key);
    free(s->call_id);
    for (uint32_t i = 0; i < s->n_msrp; i++)
        free(s->msrp[i].id);
    free(s->msrp);
    for (uint32_t i = 0; i < s->n_seqs; i++)
        free(s->seqs[i].liid);
    free(s->seqs);
    for (uint32_t i = 0; i < s->n_pending; i++)
        free(s->pending[i].p);
    free(s->pending);
    free(s);
}

static session *session_new(med_engine *e, const char *key, const uint8_t xid[16], int kind)
{
    session *s = calloc(1, sizeof *s);
    if (!s || !(s->key = strdup(key)) || med_map_put(&e->sessions, key, s) != LI_OK) {
        session_free(s);
        return NULL;
    }
    memcpy(s->xid, xid, 16);
    s->kind = (uint8_t)kind;
    e->st.sessions++;
    return s;
}

static void sid_key(const uint8_t xid[16], const char *sid, char *out, size_t n)
{
    char x[33];
    xid_hex(xid, x);
    snprintf(out, n, "%s/%s", x, sid);
}

/* Adds an MSRP session-id to s and points the index at s. */
static li_err session_add_sid(med_engine *e, session *s, const char *sid, uint8_t side)
{
    for (uint32_t i = 0; i < s->n_msrp; i++) {
        if (strcmp(s->msrp[i].id, sid) == 0) {
            if (s->msrp[i].side == SIDE_UNKNOWN)
                s->msrp[i].side = side;
            goto index;
        }
    }
    /* An SDP may list any number of path URIs; a communication keeps a bounded
     * number of linkage keys so that hostile signalling cannot grow it without end. */
    if (s->n_msrp >= MAX_SIDS)
        return LI_OK;
    msid *nm = realloc(s->msrp, (s->n_msrp + 1) * sizeof *nm);
    if (!nm)
        return LI_ERR_NOMEM;
    s->msrp = nm;
    if (!(nm[s->n_msrp].id = strdup(sid)))
        return LI_ERR_NOMEM;
    nm[s->n_msrp++].side = side;
index:;
    char k[MAX_ID + 40];
    sid_key(s->xid, sid, k, sizeof k);
    return med_map_put(&e->sid_index, k, s);
}

/* Forgets a communication: index entries that point at it, then the record. */
static li_err session_delete(med_engine *e, session *s)
{
    char k[MAX_ID + 40];
    for (uint32_t i = 0; i < s->n_msrp; i++) {
        sid_key(s->xid, s->msrp[i].id, k, sizeof k);
        if (med_map_get(&e->sid_index, k) == s)
            med_map_del(&e->sid_index, k);
    }
    li_err err = mark(e, s->key, &s->dirty);
    med_map_del(&e->sessions, s->key);
    e->pending_total -= s->pending_bytes;
    e->st.sessions--;
    session_free(s);
    return err;
}

static lseq *seq_slot(lseq **seqs, uint32_t *n, const char *liid)
{
    for (uint32_t i = 0; i < *n; i++)
        if (strcmp((*seqs)[i].liid, liid) == 0)
            return &(*seqs)[i];
    lseq *ns = realloc(*seqs, (*n + 1) * sizeof *ns);
    if (!ns)
        return NULL;
    *seqs = ns;
    if (!(ns[*n].liid = strdup(liid)))
        return NULL;
    ns[*n].next_hi2 = ns[*n].next_hi3 = 0;
    return &ns[(*n)++];
}

/* The task's state record, created on first use; its key goes into k (size >= 40). */
static task_state *task_get(med_engine *e, const uint8_t xid[16], char *k)
{
    char x[33];
    xid_hex(xid, x);
    snprintf(k, 40, "t/%s", x);
    task_state *t = med_map_get(&e->task_states, k);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t || med_map_put(&e->task_states, k, t) != LI_OK) {
            free(t);
            return NULL;
        }
        memcpy(t->xid, xid, 16);
        t->next_cin = 1;
    }
    return t;
}

static li_err alloc_cin(med_engine *e, const uint8_t xid[16], uint64_t *cin)
{
    char k[40];
    task_state *t = task_get(e, xid, k);
    if (!t)
        return LI_ERR_NOMEM;
    /* communicationIdentityNumber is INTEGER (0..4294967295) (TS 102 232-1); wrap
     * past 0, which the record format keeps for "none". */
    *cin = t->next_cin;
    t->next_cin = t->next_cin >= 0xFFFFFFFFULL ? 1 : t->next_cin + 1;
    return mark(e, k, &t->dirty);
}

/* The digest of everything a PDU carries that its POI wrote: a resent copy has the
 * same; any other PDU differs at least in sequence number, timestamp, correlation ID,
 * attributes or payload. Never 0 (the empty slot). */
static uint64_t pdu_digest(const Limf__XPdu *pdu)
{
    uint32_t hdr[5] = { pdu->pdu_type, pdu->payload_format, pdu->payload_direction, pdu->seq,
                        pdu->version };
    uint64_t h = med_hash(hdr, sizeof hdr, 0);
    h = med_hash(&pdu->timestamp_ns, sizeof pdu->timestamp_ns, h);
    h = med_hash(pdu->correlation_id.data, pdu->correlation_id.len, h ^ 1);
    h = med_hash(pdu->attributes.data, pdu->attributes.len, h ^ 2);
    h = med_hash(pdu->payload.data, pdu->payload.len, h ^ 3);
    return h ? h : 1;
}

/* Appends d to the ring, the oldest giving way. */
static void window_push(poi_window *w, uint64_t d)
{
    uint64_t old = w->digests[w->next];
    if (old)
        w->filter[old % RESEND_FILTER]--;
    w->digests[w->next] = d;
    w->filter[d % RESEND_FILTER]++;
    w->next = (w->next + 1) % RESEND_WINDOW;
}

static void window_free(void *v)
{
    poi_window *w = v;
    if (w)
        free(w->poi_id);
    free(w);
}

static poi_window *window_new(med_engine *e, const char *key, const uint8_t xid[16],
                              const char *poi_id)
{
    poi_window *w = calloc(1, sizeof *w);
    if (!w || !(w->poi_id = strdup(poi_id)) || med_map_put(&e->windows, key, w) != LI_OK) {
        window_free(w);
        return NULL;
    }
    memcpy(w->xid, xid, 16);
    return w;
}

/* A POI resends the PDUs its ingest had not acknowledged, byte-identical (same
 * correlation ID, sequence number, timestamp, attributes and payload), so limf.xpdu may
 * hold a copy, after the original in the same partition (key XID). A PDU is dropped as
 * such a copy only when its digest equals one of the last RESEND_WINDOW PDUs of the same
 * POI (certificate name) for the same task: 1, else 0. Nothing is inferred from the
 * numbering, so however a POI numbers (per XID and correlation ID as TS 103 221-2 has
 * it, per process, restarting), and however many processes share its certificate, no
 * PDU that differs from every recent one is dropped. A copy of an older PDU (a resend of
 * more than RESEND_WINDOW PDUs of one task) is delivered again: a duplicate, never a
 * loss. PDUs without a sequence number are never taken for copies. */
static int resent_copy(med_engine *e, const Limf__XPdu *pdu, uint64_t now, li_err *err)
{
    *err = LI_OK;
    if (!pdu->has_seq || !pdu->poi_id || !*pdu->poi_id)
        return 0;
    char x[33], k[320];
    xid_hex(pdu->xid.data, x);
    snprintf(k, sizeof k, "p/%s/%.255s", x, pdu->poi_id);
    poi_window *w = med_map_get(&e->windows, k);
    if (!w && !(w = window_new(e, k, pdu->xid.data, pdu->poi_id))) {
        *err = LI_ERR_NOMEM;
        return 0;
    }
    uint64_t d = pdu_digest(pdu);
    /* Most PDUs are new: the filter spares them the walk of the ring. */
    for (uint32_t i = 0; w->filter[d % RESEND_FILTER] && i < RESEND_WINDOW; i++)
        if (w->digests[i] == d)
            return 1;
    window_push(w, d);
    w->last_ns = now;
    *err = mark(e, k, &w->dirty);
    return 0;
}

/* ---- emission ---- */

static void fill_addr(ProtobufCBinaryData *dst, ProtobufCBinaryData src)
{
    *dst = src;
}

/* Emits one record for every warrant of the task in its window (CC only for iri+cc),
 * to each of its destinations, numbering per (LIID, cin) through seqs. Returns how many
 * LIIDs got it. */
static size_t emit(med_engine *e, const uint8_t xid[16], uint64_t cin, lseq **seqs,
                   uint32_t *n_seqs, const rec_args *a, uint64_t now_ns)
{
    med_warrant *const *ws;
    size_t nw = find_warrants(e, xid, &ws);
    size_t sent = 0;
    for (size_t i = 0; i < nw; i++) {
        const med_warrant *w = ws[i];
        if (!med_warrant_covers(w, a->ts_ns, a->pdu ? a->pdu->received_ns : 0,
                                e->cfg.window_skew_ns))
            continue;
        if (a->kind == KIND_CC && !w->deliver_cc)
            continue;
        lseq *sl = seq_slot(seqs, n_seqs, w->liid);
        if (!sl)
            continue;
        /* HI3 carries CC, HI2 the IRI and the HI1 notifications (docs/HANDOVER.md). */
        uint64_t *next = a->kind == KIND_CC ? &sl->next_hi3 : &sl->next_hi2;
        Limf__HiRecord r = LIMF__HI_RECORD__INIT;
        r.liid = w->liid;
        r.auth_country = w->auth_country;
        r.cin = cin;
        r.seq = (*next)++;
        r.kind = a->kind;
        r.iri_type = a->kind == KIND_IRI ? a->iri_type : LIMF__HI_RECORD__IRI_TYPE__IRI_NONE;
        r.hi1_operation = a->kind == KIND_HI1 ? LIMF__HI_RECORD__HI1_OPERATION__ALARM
                                              : LIMF__HI_RECORD__HI1_OPERATION__HI1_NONE;
        r.direction = a->direction;
        r.timestamp_ns = a->ts_ns;
        r.mediated_ns = now_ns;
        r.payload_kind = (char *)a->payload_kind;
        r.payload.data = (uint8_t *)a->payload;
        r.payload.len = a->payload_len;
        r.report_reason = (char *)(a->report_reason ? a->report_reason : "");
        r.stream_id = (char *)(a->stream_id ? a->stream_id : "");
        r.warrant_id = w->id;
        r.xid.data = (uint8_t *)w->xid;
        r.xid.len = 16;
        if (a->pdu) {
            fill_addr(&r.src_addr, a->pdu->src_addr);
            fill_addr(&r.dst_addr, a->pdu->dst_addr);
            r.src_port = a->pdu->src_port;
            r.dst_port = a->pdu->dst_port;
            r.ip_protocol = a->pdu->ip_protocol;
            r.ingest_ns = a->pdu->received_ns;
        }
        for (size_t d = 0; d < w->n_destinations; d++) {
            r.destination_id = w->destinations[d];
            e->emit(e->emit_ctx, w->destinations[d], &r);
        }
        if (a->kind == KIND_CC)
            e->st.cc++;
        else
            e->st.iri++;
        sent++;
    }
    return sent;
}

/* A record with a CIN of its own (a REPORT that belongs to no communication). */
static li_err emit_standalone(med_engine *e, const uint8_t xid[16], const rec_args *a,
                              uint64_t now_ns)
{
    uint64_t cin;
    li_err err = alloc_cin(e, xid, &cin);
    if (err != LI_OK)
        return err;
    lseq *seqs = NULL;
    uint32_t n = 0;
    emit(e, xid, cin, &seqs, &n, a, now_ns);
    for (uint32_t i = 0; i < n; i++)
        free(seqs[i].liid);
    free(seqs);
    return LI_OK;
}

static li_err emit_in(med_engine *e, session *s, const rec_args *a, uint64_t now_ns)
{
    emit(e, s->xid, s->cin, &s->seqs, &s->n_seqs, a, now_ns);
    return mark(e, s->key, &s->dirty);
}

/* Whether any warrant of the task covers content stamped ts and received at received (0:
 * by the POI's clock alone), and delivers CC when cc is set. */
static int task_wants(med_engine *e, const uint8_t xid[16], uint64_t ts, uint64_t received,
                      int cc)
{
    med_warrant *const *ws;
    size_t nw = find_warrants(e, xid, &ws);
    for (size_t i = 0; i < nw; i++)
        if (med_warrant_covers(ws[i], ts, received, e->cfg.window_skew_ns) &&
            (!cc || ws[i]->deliver_cc))
            return 1;
    return 0;
}

/* ---- target matching ---- */

static int ident_is_target(med_engine *e, const uint8_t xid[16], li_sip_str text)
{
    char canon[LI_IDENT_MAX];
    if (!text.p || li_ident_canon(text.p, text.len, canon, sizeof canon) != LI_OK)
        return 0;
    med_warrant *const *ws;
    size_t nw = find_warrants(e, xid, &ws);
    for (size_t i = 0; i < nw; i++)
        for (size_t t = 0; t < ws[i]->n_targets; t++)
            if (strcmp(ws[i]->targets[t], canon) == 0)
                return 1;
    return 0;
}

/* Whether any element of any header `id` is the target. */
static int header_is_target(med_engine *e, const uint8_t xid[16], const li_sip_msg *m,
                            li_sip_hdr id)
{
    size_t it = 0;
    li_sip_str v;
    while ((v = li_sip_header_next(m, id, &it)).p) {
        li_sip_str elem;
        while (li_sip_list_next(&v, &elem)) {
            li_sip_addr a;
            if (li_sip_addr_parse(elem, &a) == LI_OK && ident_is_target(e, xid, a.uri))
                return 1;
        }
    }
    return 0;
}

/* Direction of a SIP message: the POI's word when it gave one (TS 103 221-2 payload
 * direction), else whether the sender or the receiver is a target identity (From and
 * P-Asserted-Identity name the sender of a request, To and the Request-URI its
 * receiver; a response travels the other way). */
static Limf__HiRecord__Direction sip_direction(med_engine *e, const Limf__XPdu *pdu,
                                               const li_sip_msg *m)
{
    if (pdu->payload_direction == X2X3_DIR_FROM_TARGET)
        return DIR_FROM_TARGET;
    if (pdu->payload_direction == X2X3_DIR_TO_TARGET)
        return DIR_TO_TARGET;
    const uint8_t *xid = pdu->xid.data;
    int from = header_is_target(e, xid, m, LI_SIP_H_FROM) ||
               header_is_target(e, xid, m, LI_SIP_H_P_ASSERTED_IDENTITY);
    int to = header_is_target(e, xid, m, LI_SIP_H_TO) ||
             (m->is_request && ident_is_target(e, xid, m->request_uri));
    /* When both are the target (REGISTER, a call to oneself) the sender wins. */
    int sender = m->is_request ? from : to, receiver = m->is_request ? to : from;
    return sender ? DIR_FROM_TARGET : receiver ? DIR_TO_TARGET : DIR_INDETERMINATE;
}

/* ---- SIP (X2, format 9) ---- */

static li_err copy_str(li_sip_str s, char *out, size_t n)
{
    if (!s.p || s.len == 0 || s.len >= n)
        return LI_ERR_PROTO;
    memcpy(out, s.p, s.len);
    out[s.len] = 0;
    return LI_OK;
}

static li_sip_str tag_of(li_sip_str v)
{
    li_sip_addr a;
    li_sip_str none = { NULL, 0 };
    return v.p && li_sip_addr_parse(v, &a) == LI_OK ? a.tag : none;
}

/* A SIP message's identity for retransmission detection: the same request or response
 * of the same transaction on the same dialog or fork (RFC 3261 17: CSeq and method;
 * to-tag tells forks apart). Via is left out so that the same message seen on two hops
 * of the POI also gives one record. */
static uint64_t sip_fingerprint(const li_sip_msg *m)
{
    li_sip_str ft = tag_of(m->from), tt = tag_of(m->to);
    uint64_t h = med_hash(&m->is_request, sizeof m->is_request, 0);
    h = med_hash(&m->status, sizeof m->status, h);
    h = med_hash(m->method.p, m->method.len, h);
    h = med_hash(&m->cseq, sizeof m->cseq, h);
    h = med_hash(m->cseq_method.p, m->cseq_method.len, h);
    h = med_hash(ft.p, ft.len, h ^ 1);
    h = med_hash(tt.p, tt.len, h ^ 2);
    return med_hash(m->body.p, m->body.len, h);
}

static int seen_recently(const session *s, uint64_t h)
{
    uint32_t n = s->n_recent < RECENT ? s->n_recent : RECENT;
    for (uint32_t i = 0; i < n; i++)
        if (s->recent[i] == h)
            return 1;
    return 0;
}

static void remember(session *s, uint64_t h)
{
    s->recent[s->n_recent % RECENT] = h;
    s->n_recent++;
    if (s->n_recent == 2 * RECENT)
        s->n_recent = RECENT;
}

/* An alarm (HI1 alarms-indicator on HI2) without intercepted content: limf's own
 * event, its meaning in reason (docs/HANDOVER.md). */
static rec_args alarm(const Limf__XPdu *pdu, uint64_t ts, const char *reason)
{
    rec_args a = { pdu, ts, KIND_HI1, LIMF__HI_RECORD__IRI_TYPE__IRI_NONE, DIR_INDETERMINATE,
                   "", NULL, 0, reason, NULL };
    return a;
}

/* Input that cannot be read: the LEA learns that something was lost, not the bytes
 * (an alarm carries no intercepted content). */
static li_err report_malformed(med_engine *e, const Limf__XPdu *pdu, uint64_t ts,
                               const char *reason, uint64_t now)
{
    e->st.malformed++;
    rec_args a = alarm(pdu, ts, reason);
    return emit_standalone(e, pdu->xid.data, &a, now);
}

static li_err deliver_msrp(med_engine *e, session *s, const Limf__XPdu *pdu, uint64_t ts,
                           const uint8_t *msg, size_t len, const li_msrp_msg *mm,
                           const char *sid, uint64_t now);
static li_err drain_orphan(med_engine *e, session *orphan, session *into, uint64_t now);

/* Indexes the MSRP session-ids of every m=message section of the message's SDP. */
static li_err link_sdp(med_engine *e, session *s, const Limf__XPdu *pdu, const li_sip_msg *m,
                       Limf__HiRecord__Direction dir, uint64_t now)
{
    li_sip_str body;
    if (li_sip_sdp_body(m, &body) != LI_OK) {
        if (!pdu->sdp || !*pdu->sdp)
            return LI_OK;
        body.p = pdu->sdp;       /* attribute 22 when the payload carries none */
        body.len = strlen(pdu->sdp);
    }
    li_sdp sdp;
    if (li_sdp_parse(body.p, body.len, &sdp) != LI_OK)
        return LI_OK;            /* the IRI carries the SDP as it is; nothing to link */
    uint8_t side = dir == DIR_FROM_TARGET ? SIDE_TARGET
                 : dir == DIR_TO_TARGET   ? SIDE_OTHER : SIDE_UNKNOWN;
    for (size_t i = 0; i < sdp.n_media; i++) {
        if (!sdp.media[i].is_msrp)
            continue;
        li_sip_str rest = sdp.media[i].path, uri, sid_s;
        while (li_sdp_path_next(&rest, &uri)) {
            char sid[MAX_ID], k[MAX_ID + 40];
            if (li_sdp_msrp_session_id(uri, &sid_s) != LI_OK ||
                copy_str(sid_s, sid, sizeof sid) != LI_OK)
                continue;
            sid_key(s->xid, sid, k, sizeof k);
            session *prev = med_map_get(&e->sid_index, k);
            li_err err = session_add_sid(e, s, sid, side);
            if (err != LI_OK)
                return err;
            if (prev && prev != s && prev->kind == KIND_ORPHAN) {
                err = drain_orphan(e, prev, s, now);
                if (err != LI_OK)
                    return err;
            }
        }
    }
    return LI_OK;
}

/* The dialog's phase after message m; 1 when m ends the communication (its IRI is the
 * END). Practice of TS 102 232-5 IRI for SIP (OpenLI does the same): a BYE is a
 * CONTINUE, the 2xx with the BYE's CSeq the END; a challenged (401/407) or failed BYE
 * leaves the dialog up. A final failure of the initial INVITE ends the attempt. */
static int dialog_step(session *s, const li_sip_msg *m)
{
    if (m->is_request) {
        if (li_sip_str_eq(m->method, "BYE")) {
            s->phase = PHASE_CLOSING;
            s->bye_cseq = m->cseq;
        }
        return 0;
    }
    if (m->status < 200)
        return 0;
    if (li_sip_str_eq(m->cseq_method, "BYE")) {
        if (s->phase != PHASE_CLOSING || m->cseq != s->bye_cseq)
            return 0;
        s->phase = m->status < 300 ? PHASE_ENDED : PHASE_CONFIRMED;
        return s->phase == PHASE_ENDED;
    }
    if (!li_sip_str_eq(m->cseq_method, "INVITE"))
        return 0;
    if (m->status < 300 && s->phase == PHASE_EARLY) {
        s->phase = PHASE_CONFIRMED;
    } else if (m->status >= 300 && s->phase == PHASE_EARLY) {
        s->phase = PHASE_ENDED;
        return 1;
    }
    return 0;
}

/* Methods that are sent outside any dialog (RFC 3428 pager mode, RFC 3261 REGISTER and
 * OPTIONS, RFC 3903 PUBLISH): their responses alone also make a report. */
static int is_out_of_dialog(li_sip_str method)
{
    return li_sip_str_eq(method, "MESSAGE") || li_sip_str_eq(method, "REGISTER") ||
           li_sip_str_eq(method, "OPTIONS") || li_sip_str_eq(method, "PUBLISH");
}

static li_err process_sip(med_engine *e, const Limf__XPdu *pdu, uint64_t ts, uint64_t now)
{
    li_sip_msg *m = &e->sip;
    size_t used;
    char call_id[MAX_ID];
    if (li_sip_parse((const char *)pdu->payload.data, pdu->payload.len, 0, m, &used) != LI_OK ||
        copy_str(m->call_id, call_id, sizeof call_id) != LI_OK)
        return report_malformed(e, pdu, ts, "malformed-signalling", now);

    char key[MAX_ID + 40], x[33];
    xid_hex(pdu->xid.data, x);
    snprintf(key, sizeof key, "s/%s/%s", x, call_id);
    session *s = med_map_get(&e->sessions, key);
    uint64_t fp = sip_fingerprint(m);
    if (s && seen_recently(s, fp)) {
        e->st.retransmissions++;
        s->last_ns = now;
        return LI_OK;
    }
    int has_to_tag = tag_of(m->to).p != NULL;
    Limf__HiRecord__IriType iri;
    li_err err;
    if (!s) {
        /* A new communication. A request outside a dialog other than INVITE (MESSAGE
         * in pager mode, REGISTER, OPTIONS, ...) or a response to one is reported on
         * its own (TS 102 232-5 REPORT); anything else opens a dialog, also when the
         * POI's view starts in the middle of one. */
        int pager = m->is_request ? !has_to_tag && !li_sip_str_eq(m->method, "INVITE")
                                  : is_out_of_dialog(m->cseq_method);
        s = session_new(e, key, pdu->xid.data, pager ? KIND_PAGER : KIND_DIALOG);
        if (!s || !(s->call_id = strdup(call_id)))
            return LI_ERR_NOMEM;
        if ((err = alloc_cin(e, pdu->xid.data, &s->cin)) != LI_OK)
            return err;
        iri = pager ? IRI_REPORT : IRI_BEGIN;
    } else if (s->kind == KIND_PAGER || s->phase == PHASE_ENDED) {
        iri = IRI_REPORT;
    } else {
        iri = IRI_CONTINUE;
    }
    if (s->kind == KIND_DIALOG && s->phase != PHASE_ENDED && dialog_step(s, m) &&
        iri == IRI_CONTINUE)
        iri = IRI_END;
    if (s->phase == PHASE_ENDED || s->phase == PHASE_CLOSING)
        /* In event time: after an outage of Kafka or of the mediator the rest of the
         * dialog is processed late, and must still find it (see med_engine_tick). For
         * PHASE_CLOSING this is how long the BYE's final response may take. */
        s->deadline_ns = ts + e->cfg.linger_ns;
    remember(s, fp);
    s->last_ns = now;
    Limf__HiRecord__Direction dir = sip_direction(e, pdu, m);
    rec_args a = { pdu, ts, KIND_IRI, iri, dir, "sip", pdu->payload.data,
                   pdu->payload.len, NULL, NULL };
    if ((err = emit_in(e, s, &a, now)) != LI_OK)
        return err;
    /* Linking after the IRI so that content that waited follows its BEGIN. */
    return link_sdp(e, s, pdu, m, dir, now);
}

/* ---- MSRP (X3, format 13) ---- */

static Limf__HiRecord__Direction msrp_direction(const session *s, const Limf__XPdu *pdu,
                                                const char *from_sid, const char *to_sid)
{
    if (pdu->payload_direction == X2X3_DIR_FROM_TARGET)
        return DIR_FROM_TARGET;
    if (pdu->payload_direction == X2X3_DIR_TO_TARGET)
        return DIR_TO_TARGET;
    for (uint32_t i = 0; s && i < s->n_msrp; i++) {
        uint8_t side = s->msrp[i].side;
        if (side == SIDE_UNKNOWN)
            continue;
        /* The sender's own URI ends the From-Path, the receiver's ends the To-Path
         * (RFC 4975 7.1.1). */
        if (from_sid && strcmp(s->msrp[i].id, from_sid) == 0)
            return side == SIDE_TARGET ? DIR_FROM_TARGET : DIR_TO_TARGET;
        if (to_sid && strcmp(s->msrp[i].id, to_sid) == 0)
            return side == SIDE_TARGET ? DIR_TO_TARGET : DIR_FROM_TARGET;
    }
    return DIR_INDETERMINATE;
}

/* Session-id of the last URI of an MSRP path into out; 0 when none. */
static int last_sid(li_msrp_str path, char *out, size_t n)
{
    li_sip_str rest = { path.p, path.len }, uri, sid, last = { NULL, 0 };
    while (rest.p && li_sdp_path_next(&rest, &uri))
        if (li_sdp_msrp_session_id(uri, &sid) == LI_OK)
            last = sid;
    return copy_str(last, out, n) == LI_OK;
}

/* One CC record for one MSRP message; mm is its parse when the caller has it (NULL:
 * parsed here, e.g. content replayed from a wait). */
static li_err deliver_msrp(med_engine *e, session *s, const Limf__XPdu *pdu, uint64_t ts,
                           const uint8_t *msg, size_t len, const li_msrp_msg *mm,
                           const char *sid, uint64_t now)
{
    char from_sid[MAX_ID] = "", to_sid[MAX_ID] = "";
    li_msrp_msg parsed;
    size_t used;
    if (!mm && li_msrp_parse(NULL, msg, len, &parsed, &used) == LI_OK)
        mm = &parsed;
    if (mm) {
        if (!last_sid(mm->from_path, from_sid, sizeof from_sid))
            from_sid[0] = 0;
        if (!last_sid(mm->to_path, to_sid, sizeof to_sid))
            to_sid[0] = 0;
    }
    Limf__HiRecord__Direction dir = msrp_direction(s, pdu, from_sid[0] ? from_sid : NULL,
                                                   to_sid[0] ? to_sid : NULL);
    /* streamIdentifier names the MSRP session, not the hop: both directions carry the
     * communication's first linked session-id (the one each message matched differs by
     * direction: each end's own path URI). */
    rec_args a = { pdu, ts, KIND_CC, LIMF__HI_RECORD__IRI_TYPE__IRI_NONE, dir, "msrp", msg,
                   len, NULL, s->n_msrp ? s->msrp[0].id : sid };
    s->last_ns = now;
    return emit_in(e, s, &a, now);
}

/* Buffers one MSRP message (as a serialized XPdu of its own) in an orphan. */
static li_err orphan_hold(med_engine *e, session *o, const Limf__XPdu *pdu, const uint8_t *msg,
                          size_t len)
{
    Limf__XPdu copy = *pdu;
    copy.payload.data = (uint8_t *)msg;
    copy.payload.len = len;
    size_t n = limf__xpdu__get_packed_size(&copy);
    pend *np = realloc(o->pending, (o->n_pending + 1) * sizeof *np);
    if (!np)
        return LI_ERR_NOMEM;
    o->pending = np;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return LI_ERR_NOMEM;
    limf__xpdu__pack(&copy, buf);
    np[o->n_pending].p = buf;
    np[o->n_pending++].len = n;
    o->pending_bytes += n;
    e->pending_total += n;
    return LI_OK;
}

/* Replays an orphan's buffered messages into `into` (a communication with a CIN). */
static li_err replay_pending(med_engine *e, session *o, session *into, uint64_t now)
{
    li_err err = LI_OK;
    for (uint32_t i = 0; i < o->n_pending; i++) {
        Limf__XPdu *p = limf__xpdu__unpack(NULL, o->pending[i].len, o->pending[i].p);
        if (p) {
            uint64_t ts = p->timestamp_ns ? p->timestamp_ns : p->received_ns;
            const char *sid = o->n_msrp ? o->msrp[0].id : NULL;
            if (err == LI_OK)
                err = deliver_msrp(e, into, p, ts, p->payload.data, p->payload.len, NULL, sid,
                                   now);
            limf__xpdu__free_unpacked(p, NULL);
        }
        free(o->pending[i].p);
    }
    free(o->pending);
    o->pending = NULL;
    o->n_pending = 0;
    e->pending_total -= o->pending_bytes;
    o->pending_bytes = 0;
    return err;
}

/* Signalling arrived for content that waited: deliver it under the dialog's CIN and
 * move the orphan's session-ids to the dialog. */
static li_err drain_orphan(med_engine *e, session *orphan, session *into, uint64_t now)
{
    li_err err = LI_OK;
    if (orphan->cin == 0)
        err = replay_pending(e, orphan, into, now);
    for (uint32_t i = 0; err == LI_OK && i < orphan->n_msrp; i++)
        err = session_add_sid(e, into, orphan->msrp[i].id, SIDE_UNKNOWN);
    if (orphan->cin == 0) {
        li_err derr = session_delete(e, orphan);
        if (err == LI_OK)
            err = derr;
    }
    return err;
}

/* The wait for signalling is over: the content becomes a communication of its own,
 * announced by an alarm in its CIN (docs/PRINCIPLES.md 5). */
static li_err orphan_release(med_engine *e, session *o, uint64_t now)
{
    li_err err = alloc_cin(e, o->xid, &o->cin);
    if (err != LI_OK)
        return err;
    rec_args a = alarm(NULL, now, "content-without-signalling");
    a.stream_id = o->n_msrp ? o->msrp[0].id : NULL;
    if ((err = emit_in(e, o, &a, now)) != LI_OK)
        return err;
    e->st.orphans_expired++;
    o->deadline_ns = 0;
    o->last_ns = now;
    return replay_pending(e, o, o, now);
}

static void link_key(const Limf__XPdu *pdu, char *out, size_t n)
{
    char x[33], c[17];
    xid_hex(pdu->xid.data, x);
    li_hex_encode(pdu->correlation_id.data,
                  pdu->correlation_id.len > 8 ? 8 : pdu->correlation_id.len, c);
    snprintf(out, n, "l/%s/%s/%s", x, pdu->poi_id ? pdu->poi_id : "", c);
}

static li_err process_msrp_one(med_engine *e, const Limf__XPdu *pdu, uint64_t ts,
                               const uint8_t *msg, size_t len, const li_msrp_msg *mm,
                               uint64_t now)
{
    /* The linkage keys: every session-id on both paths (relays included). */
    char sids[8][MAX_ID];
    size_t n = 0;
    li_msrp_str paths[2] = { mm ? mm->to_path : li_msrp_cstr(NULL),
                             mm ? mm->from_path : li_msrp_cstr(NULL) };
    for (int p = 0; p < 2; p++) {
        li_sip_str rest = { paths[p].p, paths[p].len }, uri, sid;
        while (rest.p && n < 8 && li_sdp_path_next(&rest, &uri))
            if (li_sdp_msrp_session_id(uri, &sid) == LI_OK &&
                copy_str(sid, sids[n], MAX_ID) == LI_OK)
                n++;
    }
    /* The relay announced its session-id for this correlation ID (session-reserved):
     * it links content whose paths name only other hops. */
    char lk[MAX_ID + 80];
    link_key(pdu, lk, sizeof lk);
    const link_state *l = med_map_get(&e->links, lk);
    if (l && n < 8 && strlen(l->sid) < MAX_ID)
        strcpy(sids[n++], l->sid);
    if (n == 0) {
        /* Unparsable content still reaches the LEA: grouped by the POI's correlation
         * ID, which is one per session at the POI. */
        char hex[17];
        li_hex_encode(pdu->correlation_id.data,
                      pdu->correlation_id.len > 8 ? 8 : pdu->correlation_id.len, hex);
        snprintf(sids[0], MAX_ID, "x3-correlation-%s", hex);
        n = 1;
    }
    session *s = NULL;
    const char *sid = sids[0];
    char k[MAX_ID + 40];
    for (size_t i = 0; i < n && !s; i++) {
        sid_key(pdu->xid.data, sids[i], k, sizeof k);
        if ((s = med_map_get(&e->sid_index, k)))
            sid = sids[i];
    }
    li_err err;
    if (!s) {
        char key[MAX_ID + 40], x[33];
        xid_hex(pdu->xid.data, x);
        snprintf(key, sizeof key, "o/%s/%s", x, sids[0]);
        if (!(s = session_new(e, key, pdu->xid.data, KIND_ORPHAN)))
            return LI_ERR_NOMEM;
        s->deadline_ns = now + e->cfg.x3_wait_ns;
        s->last_ns = now;
        for (size_t i = 0; i < n; i++)
            if ((err = session_add_sid(e, s, sids[i], SIDE_UNKNOWN)) != LI_OK)
                return err;
    }
    if (s->kind == KIND_ORPHAN && s->cin == 0) {
        /* Bounded wait (docs/PRINCIPLES.md 5): past its byte budget the content goes now. */
        if (s->pending_bytes + len > e->cfg.x3_wait_bytes ||
            e->pending_total + len > e->cfg.x3_wait_total_bytes) {
            if ((err = orphan_release(e, s, now)) != LI_OK)
                return err;
        } else {
            if ((err = orphan_hold(e, s, pdu, msg, len)) != LI_OK)
                return err;
            return mark(e, s->key, &s->dirty);
        }
    }
    return deliver_msrp(e, s, pdu, ts, msg, len, mm, sid, now);
}

static li_err process_msrp(med_engine *e, const Limf__XPdu *pdu, uint64_t ts, uint64_t now)
{
    const uint8_t *p = pdu->payload.data;
    size_t left = pdu->payload.len;
    /* One CC per MSRP message or chunk; a PDU normally holds one. */
    while (left) {
        li_msrp_msg mm;
        size_t used;
        if (li_msrp_parse(NULL, p, left, &mm, &used) != LI_OK || used == 0 || used > left) {
            e->st.malformed++;
            return process_msrp_one(e, pdu, ts, p, left, NULL, now);
        }
        li_err err = process_msrp_one(e, pdu, ts, p, used, &mm, now);
        if (err != LI_OK)
            return err;
        p += used;
        left -= used;
        /* CRLF between messages is not part of either. */
        while (left && (*p == '\r' || *p == '\n')) {
            p++;
            left--;
        }
    }
    return LI_OK;
}

/* ---- POI events (X2, format 4, x2x3_event.h) ---- */

static li_err process_event(med_engine *e, const Limf__XPdu *pdu, uint64_t ts, uint64_t now)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)pdu->payload.data, pdu->payload.len, 0, &jerr);
    const char *ev = j ? json_string_value(json_object_get(j, X2X3_EVENT_KEY)) : NULL;
    if (!ev) {
        json_decref(j);
        return report_malformed(e, pdu, ts, "malformed-poi-event", now);
    }
    char lk[MAX_ID + 80];
    link_key(pdu, lk, sizeof lk);
    li_err err = LI_OK;
    x2x3_event_type type = x2x3_event_type_of(ev);
    if (type == X2X3_EV_SESSION_RESERVED) {
        const char *sid = json_string_value(json_object_get(j, X2X3_EVENT_KEY_SESSION));
        link_state *l = med_map_get(&e->links, lk);
        if (sid && strlen(sid) < MAX_ID) {
            if (!l) {
                l = calloc(1, sizeof *l);
                if (!l || med_map_put(&e->links, lk, l) != LI_OK) {
                    free(l);
                    err = LI_ERR_NOMEM;
                    goto out;
                }
                memcpy(l->xid, pdu->xid.data, 16);
            }
            free(l->sid);
            if (!(l->sid = strdup(sid))) {
                err = LI_ERR_NOMEM;
                goto out;
            }
            l->last_ns = now;
            err = mark(e, lk, &l->dirty);
        }
    } else if (type == X2X3_EV_SESSION_RELEASED) {
        link_state *l = med_map_del(&e->links, lk);
        if (l) {
            err = mark(e, lk, &l->dirty);
            free(l->sid);
            free(l);
        }
    } else if (type == X2X3_EV_GAP || type == X2X3_EV_PASSTHROUGH) {
        int gap = type == X2X3_EV_GAP;
        /* The alarm carries the event as the POI wrote it, so the LEA sees the count
         * or the exception, fingerprint and peer. */
        rec_args a = alarm(pdu, ts, gap ? "poi-gap" : "content-not-available: cert-exception");
        a.payload_kind = "poi-event";
        a.payload = pdu->payload.data;
        a.payload_len = pdu->payload.len;
        session *s = NULL;
        link_state *l = med_map_get(&e->links, lk);
        if (!gap && l) {
            char k[MAX_ID + 40];
            sid_key(pdu->xid.data, l->sid, k, sizeof k);
            s = med_map_get(&e->sid_index, k);
            a.stream_id = l->sid;
        }
        if (s && s->cin)
            err = emit_in(e, s, &a, now);
        else
            err = emit_standalone(e, pdu->xid.data, &a, now);
    }
    /* tls-established and unknown events: informational, nothing for the LEA. */
out:
    json_decref(j);
    return err;
}

/* ---- entry points ---- */

med_engine *med_engine_new(const med_config *cfg, const med_tasks *tasks, med_emit_fn emit_fn,
                           void *emit_ctx)
{
    med_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->cfg = *cfg;
    e->tasks = tasks;
    e->emit = emit_fn;
    e->emit_ctx = emit_ctx;
    med_map_init(&e->sessions);
    med_map_init(&e->sid_index);
    med_map_init(&e->task_states);
    med_map_init(&e->links);
    med_map_init(&e->windows);
    return e;
}

void med_engine_free(med_engine *e)
{
    if (!e)
        return;
    size_t it = 0;
    const char *k;
    void *v;
    while (med_map_next(&e->sessions, &it, &k, &v))
        session_free(v);
    it = 0;
    while (med_map_next(&e->links, &it, &k, &v)) {
        free(((link_state *)v)->sid);
        free(v);
    }
    med_map_free(&e->sessions);
    med_map_free(&e->sid_index);
    med_map_free_values(&e->task_states, free);
    med_map_free_values(&e->windows, window_free);
    med_map_free(&e->links);
    for (size_t i = 0; i < e->n_dirty; i++)
        free(e->dirty[i]);
    free(e->dirty);
    free(e);
}

li_err med_engine_process(med_engine *e, const Limf__XPdu *pdu, uint64_t now_ns)
{
    e->st.pdus++;
    if (pdu->xid.len != 16) {
        e->st.malformed++;
        return LI_OK;
    }
    uint64_t ts = pdu->timestamp_ns ? pdu->timestamp_ns
                : pdu->received_ns  ? pdu->received_ns : now_ns;
    med_warrant *const *ws;
    size_t nw = find_warrants(e, pdu->xid.data, &ws);
    if (nw == 0) {
        e->st.dropped_no_task++;
        return LI_OK;
    }
    if (!med_tasks_poi_carries(e->tasks, ws, nw, pdu->poi_id, pdu->poi_cert_sha256.data,
                               pdu->poi_cert_sha256.len)) {
        e->st.dropped_untasked_poi++;
        return LI_OK;
    }
    if (ts > e->watermark_ns)
        e->watermark_ns = ts;
    int x3 = pdu->pdu_type == X2X3_PDU_X3;
    if (!task_wants(e, pdu->xid.data, ts, pdu->received_ns, x3)) {
        if (x3 && task_wants(e, pdu->xid.data, ts, pdu->received_ns, 0))
            e->st.dropped_iri_only++;      /* content of IRI-only warrants */
        else if (task_wants(e, pdu->xid.data, ts, 0, x3))
            e->st.dropped_clock++;         /* only the POI's clock says it is inside */
        else
            e->st.dropped_window++;
        return LI_OK;
    }
    li_err err;
    if (resent_copy(e, pdu, now_ns, &err)) {
        e->st.resent_copies++;
        return LI_OK;
    }
    if (err != LI_OK)
        return err;
    if (!x3 && pdu->pdu_type != X2X3_PDU_X2)   /* a PDU type limf-ingest passed on unknown */
        return report_malformed(e, pdu, ts, "unsupported-pdu-type", now_ns);
    if (x3 && pdu->payload_format == X2X3_FORMAT_MSRP)
        return process_msrp(e, pdu, ts, now_ns);
    if (!x3 && pdu->payload_format == X2X3_FORMAT_SIP)
        return process_sip(e, pdu, ts, now_ns);
    if (pdu->payload_format == X2X3_FORMAT_PROPRIETARY)
        return process_event(e, pdu, ts, now_ns);
    return report_malformed(e, pdu, ts, "unsupported-payload-format", now_ns);
}

/* A POI's resend window of a task without PDUs for a session timeout is forgotten: its
 * resends come within its reconnect time (a copy arriving later is delivered again). */
static li_err expire_windows(med_engine *e, uint64_t now)
{
    size_t it = 0;
    const char *k;
    void *v;
    while (med_map_next(&e->windows, &it, &k, &v)) {
        poi_window *w = v;
        if (now < w->last_ns || now - w->last_ns < e->cfg.session_timeout_ns)
            continue;
        char key[320];
        snprintf(key, sizeof key, "%s", k);
        li_err err = mark(e, key, &w->dirty);   /* flushed as a tombstone */
        window_free(med_map_del(&e->windows, key));
        if (err != LI_OK)
            return err;
        it = 0;   /* the map changed under the walk */
    }
    return LI_OK;
}

li_err med_engine_tick(med_engine *e, uint64_t now)
{
    /* Collect first: the timers below delete entries of the map being walked. */
    size_t it = 0, n = 0;
    const char *k;
    void *v;
    session **due = malloc((e->sessions.len + 1) * sizeof *due);
    if (!due)
        return LI_ERR_NOMEM;
    while (med_map_next(&e->sessions, &it, &k, &v)) {
        session *s = v;
        int is_due = 0;
        if (s->kind == KIND_ORPHAN && s->cin == 0)
            is_due = now >= s->deadline_ns;
        else if (s->phase == PHASE_ENDED || s->phase == PHASE_CLOSING)
            is_due = e->watermark_ns >= s->deadline_ns || now >= s->deadline_ns + LINGER_IDLE_NS;
        else if (s->kind == KIND_PAGER)
            is_due = now - s->last_ns >= e->cfg.linger_ns;
        else
            is_due = now - s->last_ns >= e->cfg.session_timeout_ns;
        if (is_due && now >= s->last_ns)
            due[n++] = s;
    }
    li_err err = LI_OK;
    for (size_t i = 0; i < n && err == LI_OK; i++) {
        session *s = due[i];
        if (s->kind == KIND_ORPHAN && s->cin == 0) {
            err = orphan_release(e, s, now);
        } else if (s->kind == KIND_DIALOG && s->phase == PHASE_CLOSING) {
            /* No final response to the BYE within 64*T1: the communication ends by
             * timeout; it lingers once more for a late response (a REPORT). */
            rec_args a = alarm(NULL, now, "end-by-timeout: no final response to the BYE");
            s->phase = PHASE_ENDED;
            s->deadline_ns += e->cfg.linger_ns;
            err = emit_in(e, s, &a, now);
        } else if (s->kind == KIND_DIALOG && s->phase != PHASE_ENDED) {
            rec_args a = alarm(NULL, now,
                               "end-by-timeout: no signalling within the session timeout");
            if ((err = emit_in(e, s, &a, now)) == LI_OK)
                err = session_delete(e, s);
        } else {
            err = session_delete(e, s);
        }
    }
    free(due);
    /* Relay links without activity for a session timeout are forgotten. */
    char **gone = NULL;
    size_t ng = 0;
    it = 0;
    while (err == LI_OK && med_map_next(&e->links, &it, &k, &v)) {
        link_state *l = v;
        if (now >= l->last_ns && now - l->last_ns >= e->cfg.session_timeout_ns) {
            char **ngone = realloc(gone, (ng + 1) * sizeof *ngone);
            if (!ngone || !(ngone[ng] = strdup(k))) {
                gone = ngone ? ngone : gone;
                err = LI_ERR_NOMEM;
                break;
            }
            gone = ngone;
            ng++;
        }
    }
    for (size_t i = 0; i < ng; i++) {
        link_state *l = med_map_del(&e->links, gone[i]);
        if (l && err == LI_OK)
            err = mark(e, gone[i], &l->dirty);
        if (l) {
            free(l->sid);
            free(l);
        }
        free(gone[i]);
    }
    free(gone);
    return err == LI_OK ? expire_windows(e, now) : err;
}

/* ---- state changelog ---- */

static li_err pack_state(const Limf__Med__State *st, med_state_fn fn, void *ctx,
                         const char *key)
{
    size_t n = limf__med__state__get_packed_size(st);
    uint8_t stackbuf[1024];
    uint8_t *buf = n <= sizeof stackbuf ? stackbuf : malloc(n);
    if (!buf)
        return LI_ERR_NOMEM;
    limf__med__state__pack(st, buf);
    fn(ctx, key, buf, n);
    if (buf != stackbuf)
        free(buf);
    return LI_OK;
}

static li_err flush_session(session *s, med_state_fn fn, void *ctx)
{
    Limf__Med__Session ps = LIMF__MED__SESSION__INIT;
    Limf__Med__State st = LIMF__MED__STATE__INIT;
    ps.xid.data = s->xid;
    ps.xid.len = 16;
    ps.kind = s->kind;
    ps.phase = s->phase;
    ps.cin = s->cin;
    ps.call_id = s->call_id ? s->call_id : (char *)"";
    ps.last_ns = s->last_ns;
    ps.deadline_ns = s->deadline_ns;
    ps.bye_cseq = s->bye_cseq;
    uint32_t nr = s->n_recent < RECENT ? s->n_recent : RECENT;
    ps.recent = s->recent;
    ps.n_recent = nr;
    Limf__Med__MsrpSession *ms = calloc(s->n_msrp + 1, sizeof *ms);
    Limf__Med__MsrpSession **msp = calloc(s->n_msrp + 1, sizeof *msp);
    Limf__Med__LiidSeq *ls = calloc(s->n_seqs + 1, sizeof *ls);
    Limf__Med__LiidSeq **lsp = calloc(s->n_seqs + 1, sizeof *lsp);
    ProtobufCBinaryData *pb = calloc(s->n_pending + 1, sizeof *pb);
    li_err err = LI_ERR_NOMEM;
    if (!ms || !msp || !ls || !lsp || !pb)
        goto out;
    for (uint32_t i = 0; i < s->n_msrp; i++) {
        limf__med__msrp_session__init(&ms[i]);
        ms[i].id = s->msrp[i].id;
        ms[i].side = s->msrp[i].side;
        msp[i] = &ms[i];
    }
    for (uint32_t i = 0; i < s->n_seqs; i++) {
        limf__med__liid_seq__init(&ls[i]);
        ls[i].liid = s->seqs[i].liid;
        ls[i].next_seq = s->seqs[i].next_hi2;
        ls[i].next_hi3_seq = s->seqs[i].next_hi3;
        lsp[i] = &ls[i];
    }
    for (uint32_t i = 0; i < s->n_pending; i++) {
        pb[i].data = s->pending[i].p;
        pb[i].len = s->pending[i].len;
    }
    ps.msrp = msp;
    ps.n_msrp = s->n_msrp;
    ps.seqs = lsp;
    ps.n_seqs = s->n_seqs;
    ps.pending = pb;
    ps.n_pending = s->n_pending;
    st.session = &ps;
    err = pack_state(&st, fn, ctx, s->key);
out:
    free(ms);
    free(msp);
    free(ls);
    free(lsp);
    free(pb);
    return err;
}

static li_err flush_window(const poi_window *w, med_state_fn fn, void *ctx, const char *key)
{
    uint8_t d[RESEND_WINDOW * 8];
    size_t n = 0;
    for (uint32_t i = 0; i < RESEND_WINDOW; i++) {   /* oldest first */
        uint64_t v = w->digests[(w->next + i) % RESEND_WINDOW];
        if (v) {
            li_put_be64(d + n, v);
            n += 8;
        }
    }
    Limf__Med__PoiWindow pw = LIMF__MED__POI_WINDOW__INIT;
    Limf__Med__State st = LIMF__MED__STATE__INIT;
    pw.xid.data = (uint8_t *)w->xid;
    pw.xid.len = 16;
    pw.poi_id = w->poi_id;
    pw.digests.data = d;
    pw.digests.len = n;
    pw.last_ns = w->last_ns;
    st.window = &pw;
    return pack_state(&st, fn, ctx, key);
}

li_err med_engine_state_flush(med_engine *e, med_state_fn fn, void *ctx)
{
    li_err err = LI_OK;
    for (size_t i = 0; i < e->n_dirty; i++) {
        const char *key = e->dirty[i];
        void *obj = NULL;
        if (err != LI_OK)
            goto next;
        if (key[0] == 's' || key[0] == 'o') {
            session *s = obj = med_map_get(&e->sessions, key);
            if (s && s->dirty) {
                s->dirty = 0;
                err = flush_session(s, fn, ctx);
            }
        } else if (key[0] == 't') {
            task_state *t = obj = med_map_get(&e->task_states, key);
            if (t && t->dirty) {
                Limf__Med__Task pt = LIMF__MED__TASK__INIT;
                Limf__Med__State st = LIMF__MED__STATE__INIT;
                pt.xid.data = t->xid;
                pt.xid.len = 16;
                pt.next_cin = t->next_cin;
                st.task = &pt;
                t->dirty = 0;
                err = pack_state(&st, fn, ctx, key);
            }
        } else if (key[0] == 'p') {
            poi_window *w = obj = med_map_get(&e->windows, key);
            if (w && w->dirty) {
                w->dirty = 0;
                err = flush_window(w, fn, ctx, key);
            }
        } else if (key[0] == 'l') {
            link_state *l = obj = med_map_get(&e->links, key);
            if (l && l->dirty) {
                Limf__Med__Link pl = LIMF__MED__LINK__INIT;
                Limf__Med__State st = LIMF__MED__STATE__INIT;
                pl.xid.data = l->xid;
                pl.xid.len = 16;
                pl.msrp_session_id = l->sid;
                pl.last_ns = l->last_ns;
                st.link = &pl;
                l->dirty = 0;
                err = pack_state(&st, fn, ctx, key);
            }
        }
        if (!obj && err == LI_OK)
            fn(ctx, key, NULL, 0);
    next:
        free(e->dirty[i]);
    }
    e->n_dirty = 0;
    return err;
}

static session *session_from_proto(med_engine *e, const char *key, const Limf__Med__Session *p)
{
    if (p->xid.len != 16)
        return NULL;
    session *s = session_new(e, key, p->xid.data, (int)p->kind);
    if (!s)
        return NULL;
    s->phase = (uint8_t)p->phase;
    s->cin = p->cin;
    s->last_ns = p->last_ns;
    s->deadline_ns = p->deadline_ns;
    s->bye_cseq = p->bye_cseq;
    if (p->call_id && *p->call_id && !(s->call_id = strdup(p->call_id)))
        return NULL;
    for (size_t i = 0; i < p->n_recent && i < RECENT; i++)
        remember(s, p->recent[i]);
    for (size_t i = 0; i < p->n_msrp; i++)
        if (session_add_sid(e, s, p->msrp[i]->id, (uint8_t)p->msrp[i]->side) != LI_OK)
            return NULL;
    for (size_t i = 0; i < p->n_seqs; i++) {
        lseq *slot = seq_slot(&s->seqs, &s->n_seqs, p->seqs[i]->liid);
        if (!slot)
            return NULL;
        slot->next_hi2 = p->seqs[i]->next_seq;
        slot->next_hi3 = p->seqs[i]->next_hi3_seq;
    }
    if (p->n_pending) {
        s->pending = calloc(p->n_pending, sizeof *s->pending);
        if (!s->pending)
            return NULL;
        for (size_t i = 0; i < p->n_pending; i++) {
            uint8_t *b = malloc(p->pending[i].len ? p->pending[i].len : 1);
            if (!b)
                return NULL;
            memcpy(b, p->pending[i].data, p->pending[i].len);
            s->pending[s->n_pending].p = b;
            s->pending[s->n_pending++].len = p->pending[i].len;
            s->pending_bytes += p->pending[i].len;
        }
        e->pending_total += s->pending_bytes;
    }
    return s;
}

li_err med_engine_restore(med_engine *e, const char *key, const uint8_t *value, size_t len)
{
    /* Replace whatever the key held. */
    session *old = med_map_get(&e->sessions, key);
    if (old) {
        old->dirty = 1;          /* a restore records no change */
        session_delete(e, old);
    }
    task_state *ot = med_map_del(&e->task_states, key);
    free(ot);
    window_free(med_map_del(&e->windows, key));
    link_state *ol = med_map_del(&e->links, key);
    if (ol) {
        free(ol->sid);
        free(ol);
    }
    if (len == 0)
        return LI_OK;
    Limf__Med__State *st = limf__med__state__unpack(NULL, len, value);
    if (!st)
        return LI_ERR_PROTO;
    li_err err = LI_OK;
    if (st->session) {
        if (!session_from_proto(e, key, st->session))
            err = LI_ERR_PROTO;
    } else if (st->task && st->task->xid.len == 16) {
        task_state *t = calloc(1, sizeof *t);
        if (!t || med_map_put(&e->task_states, key, t) != LI_OK) {
            free(t);
            err = LI_ERR_NOMEM;
        } else {
            memcpy(t->xid, st->task->xid.data, 16);
            t->next_cin = st->task->next_cin;
        }
    } else if (st->window && st->window->xid.len == 16 && st->window->poi_id) {
        poi_window *w = window_new(e, key, st->window->xid.data, st->window->poi_id);
        if (!w) {
            err = LI_ERR_NOMEM;
        } else {
            size_t n = st->window->digests.len / 8;
            const uint8_t *d = st->window->digests.data;
            if (n > RESEND_WINDOW) {   /* the newest */
                d += (n - RESEND_WINDOW) * 8;
                n = RESEND_WINDOW;
            }
            for (size_t i = 0; i < n; i++)
                if (li_get_be64(d + 8 * i))
                    window_push(w, li_get_be64(d + 8 * i));
            w->last_ns = st->window->last_ns;
        }
    } else if (st->link && st->link->xid.len == 16) {
        link_state *l = calloc(1, sizeof *l);
        if (!l || !(l->sid = strdup(st->link->msrp_session_id)) ||
            med_map_put(&e->links, key, l) != LI_OK) {
            if (l)
                free(l->sid);
            free(l);
            err = LI_ERR_NOMEM;
        } else {
            memcpy(l->xid, st->link->xid.data, 16);
            l->last_ns = st->link->last_ns;
        }
    }
    limf__med__state__free_unpacked(st, NULL);
    return err;
}

void med_engine_stats(const med_engine *e, med_stats *out)
{
    *out = e->st;
    out->pending_bytes = e->pending_total;
}
