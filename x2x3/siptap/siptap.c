/* limf-siptap's engine; see siptap.h. */
#include "siptap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "li_ident.h"
#include "li_sip.h"
#include "siptap_pkt.h"
#include "siptap_frag.h"

/* Most tasks one message or dialog is exported for, and identities looked at in one
 * message (From, To and the P-Asserted-Identity elements: 3GPP TS 24.229 allows one sip:
 * and one tel: URI there, so a handful is plenty). */
#define MAX_TASKS 16
#define MAX_IDENTITIES 8

/* Sides of a message an identity sits on: the sender's (P-Asserted-Identity, the From of
 * a request, the To of a response) or the receiver's. */
enum { SIDE_SENDER = 1, SIDE_RECEIVER = 2 };

typedef struct task_ref {
    uint8_t xid[16];
    uint8_t dids[X1_MAX_DIDS][16]; /* its destinations, where its records go */
    size_t n_dids;
    x1_delivery delivery;
    char target[272];           /* attribute 17 text */
    char canon[LI_IDENT_MAX];   /* the identity that matched, to check it again */
    int sides;                  /* in the current message; 0: not seen there */
    int party;                  /* in its dialog: PARTY_A, PARTY_B or 0 (unknown) */
} task_ref;

/* The two parties of a dialog: A is the From party of the message that opened the
 * dialog (the caller, for an INVITE), B the other. Every message of the dialog names
 * A's tag in From or in To (RFC 3261 12.2.1.1: a request from B swaps From and To), so
 * a target seen once on one side is placed on every later message by its tag. */
enum { PARTY_A = 1, PARTY_B = 2 };
#define MAX_TAG 64

typedef struct dialog {
    struct dialog *hnext;
    struct dialog *older, *newer;   /* activity list, oldest first */
    uint64_t hash;
    uint64_t last_ns;
    uint64_t end_ns;                /* 0, or when the linger after BYE/failure ends */
    uint64_t generation;            /* of the tasks when last checked */
    char tag_a[MAX_TAG];            /* party A's tag; empty when unknown */
    size_t tag_a_len;
    size_t n_tasks;
    task_ref *tasks;
    size_t call_id_len;
    char call_id[];
} dialog;

struct siptap {
    siptap_opts o;
    siptap_tcpreasm *tcp;
    x2x3_frag *frag;
    dialog **table;
    size_t table_mask;
    dialog *oldest, *newest;
    siptap_stats st;
};

uint64_t siptap_correlation_id(const char *call_id, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)call_id[i];
        h *= 1099511628211ull;
    }
    return h ? h : 1;
}

static size_t tcp_deliver(void *ctx, const x2x3_flow_key *key, const uint8_t *data,
                          size_t len, uint64_t ts_ns);

siptap *siptap_new(const siptap_opts *opts)
{
    if (!opts->match || !opts->export_record)
        return NULL;
    siptap *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->o = *opts;
    if (!t->o.max_dialogs)
        t->o.max_dialogs = 16384;
    if (!t->o.dialog_idle_ns)
        t->o.dialog_idle_ns = 7200ull * 1000000000ull;
    if (!t->o.dialog_linger_ns)
        t->o.dialog_linger_ns = 32ull * 1000000000ull;
    if (!t->o.max_fragment_bytes)
        t->o.max_fragment_bytes = 4u << 20;
    if (!t->o.fragment_timeout_ns)
        t->o.fragment_timeout_ns = 30ull * 1000000000ull;
    size_t n = 64;
    while (n < t->o.max_dialogs && n < ((size_t)1 << 24))
        n <<= 1;
    t->table = calloc(n, sizeof *t->table);
    t->table_mask = n - 1;
    t->tcp = siptap_tcpreasm_new(&t->o.tcp, tcp_deliver, t);
    t->frag = x2x3_frag_new(t->o.max_fragment_bytes, t->o.fragment_timeout_ns);
    if (!t->table || !t->tcp || !t->frag) {
        siptap_free(t);
        return NULL;
    }
    return t;
}

static void dialog_unlink(siptap *t, dialog *d)
{
    dialog **pp = &t->table[d->hash & t->table_mask];
    while (*pp != d)
        pp = &(*pp)->hnext;
    *pp = d->hnext;
    if (d->older)
        d->older->newer = d->newer;
    else
        t->oldest = d->newer;
    if (d->newer)
        d->newer->older = d->older;
    else
        t->newest = d->older;
}

static void dialog_free(siptap *t, dialog *d)
{
    dialog_unlink(t, d);
    free(d->tasks);
    free(d);
    t->st.dialogs--;
}

static void dialog_push_newest(siptap *t, dialog *d)
{
    d->older = t->newest;
    d->newer = NULL;
    if (t->newest)
        t->newest->newer = d;
    else
        t->oldest = d;
    t->newest = d;
}

void siptap_free(siptap *t)
{
    if (!t)
        return;
    while (t->oldest)
        dialog_free(t, t->oldest);
    free(t->table);
    siptap_tcpreasm_free(t->tcp);
    x2x3_frag_free(t->frag);
    free(t);
}

static dialog *dialog_find(siptap *t, li_sip_str call_id, uint64_t hash)
{
    for (dialog *d = t->table[hash & t->table_mask]; d; d = d->hnext)
        if (d->hash == hash && d->call_id_len == call_id.len &&
            memcmp(d->call_id, call_id.p, call_id.len) == 0)
            return d;
    return NULL;
}

static dialog *dialog_create(siptap *t, li_sip_str call_id, uint64_t hash)
{
    if (t->st.dialogs >= t->o.max_dialogs) {
        dialog_free(t, t->oldest);
        t->st.dialogs_evicted++;
    }
    dialog *d = calloc(1, sizeof *d + call_id.len);
    if (!d)
        return NULL;
    d->hash = hash;
    d->call_id_len = call_id.len;
    memcpy(d->call_id, call_id.p, call_id.len);
    size_t h = hash & t->table_mask;
    d->hnext = t->table[h];
    t->table[h] = d;
    dialog_push_newest(t, d);
    t->st.dialogs++;
    return d;
}

static void dialog_touch(siptap *t, dialog *d, uint64_t ts_ns)
{
    d->last_ns = ts_ns;
    if (t->newest == d)
        return;
    if (d->older)
        d->older->newer = d->newer;
    else
        t->oldest = d->newer;
    d->newer->older = d->older;
    dialog_push_newest(t, d);
}

static task_ref *task_find(task_ref *tasks, size_t n, const uint8_t xid[16])
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(tasks[i].xid, xid, 16) == 0)
            return &tasks[i];
    return NULL;
}

/* Looks one header value up in the tasks and folds the matches into tasks[]. */
static void match_identity(siptap *t, li_sip_str value, int side, task_ref *tasks,
                           size_t *n_tasks)
{
    char canon[LI_IDENT_MAX];
    if (!value.p || li_ident_canon(value.p, value.len, canon, sizeof canon) != LI_OK)
        return;
    x1_ne_match m[MAX_TASKS];
    size_t n = t->o.match(t->o.match_ctx, canon, m, MAX_TASKS);
    if (n > MAX_TASKS)
        n = MAX_TASKS;
    for (size_t i = 0; i < n; i++) {
        task_ref *r = task_find(tasks, *n_tasks, m[i].xid);
        if (!r) {
            if (*n_tasks == MAX_TASKS)
                continue;
            r = &tasks[(*n_tasks)++];
            memset(r, 0, sizeof *r);
            memcpy(r->xid, m[i].xid, 16);
            memcpy(r->dids, m[i].dids, sizeof r->dids);
            r->n_dids = m[i].n_dids;
            r->delivery = m[i].delivery;
            memcpy(r->target, m[i].target, sizeof r->target);
            r->target[sizeof r->target - 1] = 0;
            strcpy(r->canon, canon);
        }
        r->sides |= side;
    }
}

/* Drops the dialog's tasks that no longer match their identity (deactivated or modified
 * tasks) and takes up changed delivery types, so that a dialog never outlives its
 * warrant. */
static void dialog_recheck(siptap *t, dialog *d)
{
    uint64_t gen = t->o.generation ? t->o.generation(t->o.match_ctx) : 0;
    if (gen == d->generation)
        return;
    d->generation = gen;
    size_t keep = 0;
    for (size_t i = 0; i < d->n_tasks; i++) {
        x1_ne_match m[MAX_TASKS];
        size_t n = t->o.match(t->o.match_ctx, d->tasks[i].canon, m, MAX_TASKS);
        for (size_t j = 0; j < n && j < MAX_TASKS; j++) {
            if (memcmp(m[j].xid, d->tasks[i].xid, 16) != 0)
                continue;
            /* Still tasked; a ModifyTask may have changed its delivery or destination. */
            d->tasks[i].delivery = m[j].delivery;
            memcpy(d->tasks[i].dids, m[j].dids, sizeof d->tasks[i].dids);
            d->tasks[i].n_dids = m[j].n_dids;
            d->tasks[keep++] = d->tasks[i];
            break;
        }
    }
    d->n_tasks = keep;
}

/* The From header's tag (NULL p when absent or unparsable). */
static li_sip_str from_tag(const li_sip_msg *msg)
{
    li_sip_addr a;
    li_sip_str none = { NULL, 0 };
    if (!msg->from.p || li_sip_addr_parse(msg->from, &a) != LI_OK || !a.tag.len)
        return none;
    return a.tag;
}

/* Whether a target on these sides of the message is its From party: the sender of a
 * request, the receiver of a response. -1 when it is on both sides or neither. */
static int target_is_from_party(int is_request, int sides)
{
    if (sides == SIDE_SENDER)
        return is_request;
    if (sides == SIDE_RECEIVER)
        return !is_request;
    return -1;
}

/* Places the dialog's tasks on the message's sides: learns the party of a task seen in
 * the message, and gives a task not seen there the sides of its known party. */
static void dialog_sides(const dialog *d, const li_sip_msg *msg, task_ref *dt, task_ref *mt)
{
    li_sip_str tag = from_tag(msg);
    if (!tag.p || !d->tag_a_len)
        return;
    int from_is_a = tag.len == d->tag_a_len && memcmp(tag.p, d->tag_a, tag.len) == 0;
    int req = msg->is_request;
    if (mt->sides) {
        int is_from = target_is_from_party(req, mt->sides);
        if (is_from >= 0 && !dt->party)
            dt->party = is_from == from_is_a ? PARTY_A : PARTY_B;
        return;
    }
    if (!dt->party)
        return;
    int is_from = (dt->party == PARTY_A) == from_is_a;
    mt->sides = is_from == req ? SIDE_SENDER : SIDE_RECEIVER;
}

/* Adds the message's matched tasks to its dialog's (creating the dialog on a first
 * match), then adds the dialog's other tasks to the message's list. */
static void dialog_merge(siptap *t, const li_sip_msg *msg, task_ref *tasks,
                         size_t *n_tasks, uint64_t ts_ns)
{
    if (!msg->call_id.p || !msg->call_id.len)
        return;
    uint64_t hash = siptap_correlation_id(msg->call_id.p, msg->call_id.len);
    dialog *d = dialog_find(t, msg->call_id, hash);
    if (!d && !*n_tasks)
        return;
    if (!d) {
        d = dialog_create(t, msg->call_id, hash);
        if (!d)
            return;
        d->generation = t->o.generation ? t->o.generation(t->o.match_ctx) : 0;
        li_sip_str tag = from_tag(msg);
        if (tag.p && tag.len <= MAX_TAG) {
            memcpy(d->tag_a, tag.p, tag.len);
            d->tag_a_len = tag.len;
        }
    } else {
        dialog_recheck(t, d);
    }
    dialog_touch(t, d, ts_ns);
    for (size_t i = 0; i < *n_tasks; i++) {
        if (task_find(d->tasks, d->n_tasks, tasks[i].xid) || d->n_tasks == MAX_TASKS)
            continue;
        task_ref *n = realloc(d->tasks, (d->n_tasks + 1) * sizeof *n);
        if (!n)
            break;
        d->tasks = n;
        d->tasks[d->n_tasks] = tasks[i];
        d->tasks[d->n_tasks].sides = 0;
        d->tasks[d->n_tasks++].party = 0;
    }
    for (size_t i = 0; i < d->n_tasks; i++) {
        task_ref *mt = task_find(tasks, *n_tasks, d->tasks[i].xid);
        if (!mt) {
            if (*n_tasks == MAX_TASKS)
                continue;
            mt = &tasks[(*n_tasks)++];
            *mt = d->tasks[i];
            mt->sides = 0;
        }
        dialog_sides(d, msg, &d->tasks[i], mt);
    }
    /* The dialog ends with BYE (RFC 3261 15) or a final failure to the INVITE (13.2.2.3);
     * it lingers for the last transaction (the 200 to the BYE, the ACK). A new request
     * in the dialog revives it (a re-INVITE after a CANCELled one). */
    int is_invite = li_sip_str_eq_nocase(msg->cseq_method, "INVITE");
    if (msg->is_request && li_sip_str_eq_nocase(msg->method, "BYE"))
        d->end_ns = ts_ns + t->o.dialog_linger_ns;
    else if (!msg->is_request && msg->status >= 300 && is_invite)
        d->end_ns = ts_ns + t->o.dialog_linger_ns;
    else if (msg->is_request && is_invite)
        d->end_ns = 0;
}

static void fill_addr(x2x3_addr *a, int family, const uint8_t *addr, uint16_t port)
{
    a->family = family;
    memcpy(a->addr, addr, family == AF_INET ? 4 : 16);
    a->port = port;
}

/* The other party of a task that matched on one side only (attribute 18, Other Target
 * Identifier): the identity of the header on the other side, as limf's "type:value"
 * (the sender turns it into the TargetIdentifier XML). 0 when there is none. */
static int other_party(const li_sip_msg *msg, int sides, char *out, size_t out_size)
{
    int req = msg->is_request;
    li_sip_str h = sides == SIDE_SENDER     ? (req ? msg->to : msg->from)
                 : sides == SIDE_RECEIVER   ? (req ? msg->from : msg->to)
                                            : (li_sip_str){ NULL, 0 };
    char canon[LI_IDENT_MAX];
    if (!h.p || li_ident_canon(h.p, h.len, canon, sizeof canon) != LI_OK)
        return 0;
    return snprintf(out, out_size, "%s:%s", strncmp(canon, "tel:", 4) == 0 ? "tel-uri"
                                                                             : "sip-uri",
                    canon) < (int)out_size;
}

/* One SIP message (bytes `raw`) from the current frame or flow. */
static void on_message(siptap *t, const li_sip_msg *msg, const uint8_t *raw, size_t len,
                       int family, const uint8_t *src, const uint8_t *dst, uint16_t sport,
                       uint16_t dport, uint8_t proto, uint64_t ts_ns)
{
    t->st.sip_messages++;
    task_ref tasks[MAX_TASKS];
    size_t n_tasks = 0;
    int req = msg->is_request;
    size_t iter = 0;
    size_t seen = 0;
    for (li_sip_str v; (v = li_sip_header_next(msg, LI_SIP_H_P_ASSERTED_IDENTITY, &iter)).p;) {
        li_sip_str rest = v, elem;
        while (seen < MAX_IDENTITIES && li_sip_list_next(&rest, &elem)) {
            match_identity(t, elem, SIDE_SENDER, tasks, &n_tasks);
            seen++;
        }
    }
    match_identity(t, msg->from, req ? SIDE_SENDER : SIDE_RECEIVER, tasks, &n_tasks);
    match_identity(t, msg->to, req ? SIDE_RECEIVER : SIDE_SENDER, tasks, &n_tasks);
    dialog_merge(t, msg, tasks, &n_tasks, ts_ns);
    if (!n_tasks)
        return;
    t->st.matched++;
    x2x3_record rec;
    memset(&rec, 0, sizeof rec);
    rec.pdu_type = X2X3_PDU_X2;
    rec.payload_format = X2X3_FORMAT_SIP;
    rec.correlation_id = msg->call_id.p
                             ? siptap_correlation_id(msg->call_id.p, msg->call_id.len)
                             : 0;
    rec.timestamp_ns = ts_ns;
    fill_addr(&rec.src, family, src, sport);
    fill_addr(&rec.dst, family, dst, dport);
    rec.ip_protocol = proto;
    rec.payload = raw;
    rec.payload_len = len;
    for (size_t i = 0; i < n_tasks; i++) {
        /* siptap is an X2 source: tasks that want X3 only get nothing from it. */
        if (tasks[i].delivery == X1_DELIVERY_X3_ONLY)
            continue;
        memcpy(rec.xid, tasks[i].xid, 16);
        switch (tasks[i].sides) {
        case SIDE_SENDER:
            rec.payload_direction = X2X3_DIR_FROM_TARGET;
            break;
        case SIDE_RECEIVER:
            rec.payload_direction = X2X3_DIR_TO_TARGET;
            break;
        case SIDE_SENDER | SIDE_RECEIVER:
            rec.payload_direction = X2X3_DIR_MULTIPLE;
            break;
        default:
            rec.payload_direction = X2X3_DIR_UNKNOWN;
            break;
        }
        const char *target = tasks[i].target;
        rec.matched_targets = &target;
        rec.n_matched_targets = 1;
        char other[LI_IDENT_MAX + 16];
        const char *other_p = other;
        rec.other_targets = &other_p;
        rec.n_other_targets = (size_t)other_party(msg, tasks[i].sides, other, sizeof other);
        t->o.export_record(t->o.export_ctx, (const uint8_t (*)[16])tasks[i].dids,
                           tasks[i].n_dids, &rec);
        t->st.exported++;
    }
}

static int is_crlf(uint8_t c)
{
    return c == '\r' || c == '\n';
}

static void on_datagram(siptap *t, const siptap_pkt *p, uint64_t ts_ns)
{
    size_t skip = 0;
    while (skip < p->payload_len && is_crlf(p->payload[skip]))
        skip++;
    if (skip == p->payload_len)
        return;  /* empty, or a CRLF keep-alive (RFC 5626 4.4.1) */
    li_sip_msg msg;
    size_t used;
    const uint8_t *m = p->payload + skip;
    if (li_sip_parse((const char *)m, p->payload_len - skip, 0, &msg, &used) != LI_OK) {
        t->st.parse_errors++;
        return;
    }
    on_message(t, &msg, m, used, p->family, p->src, p->dst, p->sport, p->dport, 17, ts_ns);
}

/* After bytes that are not SIP (a capture that started mid-message, a gap), the next
 * message starts at the beginning of a line holding a request line or a status line. */
static int looks_like_start_line(const uint8_t *p, size_t len)
{
    if (len >= 8 && memcmp(p, "SIP/2.0 ", 8) == 0)
        return 1;
    const uint8_t *eol = memchr(p, '\n', len);
    size_t n = eol ? (size_t)(eol - p) : len;
    if (n && p[n - 1] == '\r')
        n--;
    return n > 8 && memcmp(p + n - 8, " SIP/2.0", 8) == 0 && p[0] >= 'A' && p[0] <= 'Z';
}

static size_t resync(const uint8_t *data, size_t len)
{
    size_t off = 0;
    for (;;) {
        const uint8_t *nl = memchr(data + off, '\n', len - off);
        if (!nl)
            return off;
        off = (size_t)(nl - data) + 1;
        const uint8_t *next_nl = memchr(data + off, '\n', len - off);
        if (!next_nl)
            return off;  /* the candidate line is incomplete: decide when it is */
        if (looks_like_start_line(data + off, (size_t)(next_nl - (data + off)) + 1))
            return off;
    }
}

static size_t tcp_deliver(void *ctx, const x2x3_flow_key *key, const uint8_t *data,
                          size_t len, uint64_t ts_ns)
{
    siptap *t = ctx;
    size_t off = 0;
    while (off < len) {
        while (off < len && is_crlf(data[off]))
            off++;  /* CRLF keep-alives between messages (RFC 5626 4.4.1) */
        if (off == len)
            break;
        li_sip_msg msg;
        size_t used;
        li_err err = li_sip_parse((const char *)data + off, len - off, 1, &msg, &used);
        if (err == LI_AGAIN)
            break;
        if (err != LI_OK) {
            t->st.parse_errors++;
            size_t skip = resync(data + off, len - off);
            if (!skip)
                break;
            off += skip;
            continue;
        }
        on_message(t, &msg, data + off, used, key->family, key->src, key->dst, key->sport,
                   key->dport, 6, ts_ns);
        off += used;
    }
    return off;
}

static li_err on_packet(siptap *t, const siptap_pkt *p, uint64_t ts_ns)
{
    if (p->kind == SIPTAP_PKT_UDP) {
        on_datagram(t, p, ts_ns);
        return LI_OK;
    }
    if (p->kind == SIPTAP_PKT_TCP) {
        x2x3_flow_key key;
        x2x3_flow_key_set(&key, p->family, p->src, p->dst, p->sport, p->dport);
        return siptap_tcpreasm_segment(t->tcp, &key, p->tcp_seq, p->tcp_flags, p->payload,
                                     p->payload_len, ts_ns);
    }
    return LI_OK;
}

li_err siptap_frame(siptap *t, int linktype, const uint8_t *frame, size_t caplen,
                         uint64_t ts_ns)
{
    t->st.packets++;
    siptap_pkt p;
    if (siptap_pkt_decode(linktype, frame, caplen, &p) != LI_OK) {
        t->st.decode_errors++;
        return LI_ERR_PROTO;
    }
    if (p.kind != SIPTAP_PKT_FRAGMENT)
        return on_packet(t, &p, ts_ns);
    t->st.fragments++;
    siptap_pkt whole;
    li_err err = x2x3_frag_add(t->frag, &p, ts_ns, &whole);
    if (err == LI_AGAIN)
        return LI_OK;
    if (err != LI_OK)
        return err;
    t->st.reassembled++;
    return on_packet(t, &whole, ts_ns);
}

void siptap_tick(siptap *t, uint64_t now_ns)
{
    siptap_tcpreasm_expire(t->tcp, now_ns);
    x2x3_frag_expire(t->frag, now_ns);
    while (t->oldest && now_ns > t->oldest->last_ns &&
           now_ns - t->oldest->last_ns > t->o.dialog_idle_ns)
        dialog_free(t, t->oldest);
    /* Lingering dialogs are few (those that just ended): a walk finds them. */
    for (dialog *d = t->oldest, *next; d; d = next) {
        next = d->newer;
        if (d->end_ns && now_ns > d->end_ns)
            dialog_free(t, d);
    }
}

void siptap_stats_get(const siptap *t, siptap_stats *out)
{
    *out = t->st;
    siptap_tcpreasm_stats_get(t->tcp, &out->tcp);
}
