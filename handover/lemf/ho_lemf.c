#include "ho_lemf.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "li_log.h"
#include "li_metrics.h"
#include "li_time.h"

#define BUCKETS 4096
/* A stream's record of which sequence numbers arrived, and a hash of each PDU's bytes
 * (so that a repeat can be told from a conflicting reuse of a number). A stream is one
 * (LIID, CIN) on one handover interface: HI2 (IRI and HI1) and HI3 (CC) are numbered
 * apart (docs/CONFORMANCE.md); HI1 notifications without a CIN form a stream of their own. */
typedef struct stream {
    struct stream *next;
    uint32_t cin;
    uint8_t hi;         /* 2 or 3 */
    uint8_t has_cin;
    char liid[26];
    uint32_t base;      /* first sequence number seen */
    uint32_t expected;  /* one past the highest seen */
    uint64_t *hash;     /* by seq - base; 0 = not received */
    size_t cap;
    uint64_t distinct;
} stream;

struct ho_lemf {
    pthread_mutex_t mu;
    FILE *out, *raw;
    stream *buckets[BUCKETS];
    ho_lemf_stats st;   /* missing is computed when read */
};

/* Window of sequence numbers a stream remembers; a jump beyond it is a gap whose numbers
 * are counted missing without being tracked. */
#define MAX_WINDOW (1u << 24)

static uint64_t fnv1a(const uint8_t *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

ho_lemf *ho_lemf_new(FILE *out, FILE *raw)
{
    ho_lemf *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    pthread_mutex_init(&l->mu, NULL);
    l->out = out;
    l->raw = raw;
    return l;
}

void ho_lemf_free(ho_lemf *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < BUCKETS; i++) {
        for (stream *s = l->buckets[i], *n; s; s = n) {
            n = s->next;
            free(s->hash);
            free(s);
        }
    }
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* The handover interface a PDU belongs to. */
static uint8_t interface_of(const ho_pdu *p)
{
    return p->payload == HO_PAYLOAD_CC ? 3 : 2;
}

static stream *find_stream(ho_lemf *l, const ho_pdu *p)
{
    li_slice liid = p->liid;
    uint8_t hi = interface_of(p), has_cin = p->has_cin != 0;
    uint64_t h = (fnv1a(liid.p, liid.len, 0xcbf29ce484222325ull) ^ p->cin) * 4 + hi + has_cin;
    stream **b = &l->buckets[h % BUCKETS];
    for (stream *s = *b; s; s = s->next)
        if (s->cin == p->cin && s->hi == hi && s->has_cin == has_cin &&
            strlen(s->liid) == liid.len && memcmp(s->liid, liid.p, liid.len) == 0)
            return s;
    stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    memcpy(s->liid, liid.p, liid.len);
    s->cin = p->cin;
    s->hi = hi;
    s->has_cin = has_cin;
    uint32_t seq = p->seq;
    s->base = s->expected = seq;
    s->next = *b;
    *b = s;
    l->st.streams++;
    return s;
}

/* Classifies one PDU of a stream: "new", "gap" (numbers were skipped), "late" (fills a
 * gap), "duplicate" (identical repeat) or "conflict" (a number reused for other bytes). */
static const char *check_seq(ho_lemf *l, stream *s, uint32_t seq, uint64_t h, uint32_t *missing_from)
{
    h |= 1;
    if (seq < s->base) {
        /* Older than the first one seen (the LEMF started mid-stream): not tracked. */
        l->st.late++;
        return "late";
    }
    uint64_t idx = (uint64_t)seq - s->base;
    if (idx >= MAX_WINDOW) {
        l->st.gaps++;
        *missing_from = s->expected;
        s->expected = seq + 1;
        return "gap";
    }
    if (idx >= s->cap) {
        /* Most communications are short (a session's IRI and a few messages): start
         * small, so that memory follows the records received, not the CINs seen. */
        size_t cap = s->cap ? s->cap : 16;
        while (cap <= idx)
            cap *= 2;
        uint64_t *n = realloc(s->hash, cap * sizeof *n);
        if (!n)
            return "error";
        memset(n + s->cap, 0, (cap - s->cap) * sizeof *n);
        s->hash = n;
        s->cap = cap;
    }
    const char *verdict = "new";
    if (s->hash[idx]) {
        if (s->hash[idx] == h) {
            l->st.duplicates++;
            return "duplicate";
        }
        l->st.conflicts++;
        return "conflict";
    }
    s->hash[idx] = h;
    s->distinct++;
    if (seq > s->expected) {
        l->st.gaps++;
        *missing_from = s->expected;
        verdict = "gap";
    } else if (seq < s->expected) {
        l->st.late++;
        verdict = "late";
    }
    if (seq >= s->expected)
        s->expected = seq + 1;
    return verdict;
}

/* ---- one JSON line per PDU (RFC 8259), written straight to the file: building a
 * jansson object per PDU cost the reference LEMF more CPU than decoding the PDU ---- */

typedef struct jline {
    FILE *f;
    int fields;
} jline;

/* Length of the well-formed UTF-8 sequence at p (RFC 3629 table 3), 0 if there is none. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
    uint8_t c = p[0], lo = 0x80, hi = 0xbf;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

static int is_utf8(li_slice v)
{
    for (size_t i = 0, k; i < v.len; i += k)
        if (!(k = utf8_seq(v.p + i, v.len - i)))
            return 0;
    return 1;
}

static void put_key(jline *j, const char *key, const char *suffix)
{
    fprintf(j->f, "%s\"%s%s\":", j->fields++ ? "," : "{", key, suffix);
}

/* A JSON string of valid UTF-8: quotes, backslashes and control characters escaped. */
static void put_escaped(FILE *f, li_slice v)
{
    size_t run = 0;
    fputc('"', f);
    for (size_t i = 0; i < v.len; i++) {
        uint8_t c = v.p[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        fwrite(v.p + run, 1, i - run, f);
        run = i + 1;
        if (c == '\n')
            fputs("\\n", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fprintf(f, "\\%c", c);
    }
    fwrite(v.p + run, 1, v.len - run, f);
    fputc('"', f);
}

/* Text as a string; octets that are not UTF-8 in hex under "<key>_hex". */
static void put_text(jline *j, const char *key, li_slice v)
{
    if (is_utf8(v)) {
        put_key(j, key, "");
        put_escaped(j->f, v);
        return;
    }
    put_key(j, key, "_hex");
    fputc('"', j->f);
    char hex[129];
    for (size_t i = 0; i < v.len; i += 64) {
        size_t n = v.len - i < 64 ? v.len - i : 64;
        li_hex_encode(v.p + i, n, hex);
        fputs(hex, j->f);
    }
    fputc('"', j->f);
}

/* A string from limf's own tables or formatting (ASCII, nothing to escape). */
static void put_word(jline *j, const char *key, const char *word)
{
    put_key(j, key, "");
    fprintf(j->f, "\"%s\"", word);
}

static void put_uint(jline *j, const char *key, uint64_t v)
{
    put_key(j, key, "");
    fprintf(j->f, "%" PRIu64, v);
}

static void put_addr(jline *j, const char *key, const ho_addr *a)
{
    char text[INET6_ADDRSTRLEN];
    inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->addr, text, sizeof text);
    put_word(j, key, text);
}

static const char *const iri_names[] = { "", "begin", "end", "continue", "report" };
static const char *const hi1_names[] = { "", "liActivated", "liDeactivated", "liModified",
                                         "alarms-indicator" };
static const char *const dir_names[] = { "fromTarget", "toTarget", "indeterminate", "combined",
                                         "notApplicable" };

/* The PDU as one line; check is the sequence verdict, NULL when the PDU is new. */
static void put_pdu(FILE *f, const ho_pdu *p, uint64_t rx_ns, const char *check)
{
    jline j = { f, 0 };
    char ts[48];
    put_uint(&j, "hi", interface_of(p));
    put_text(&j, "liid", p->liid);
    if (p->auth_cc.len)
        put_text(&j, "auth_cc", p->auth_cc);
    put_text(&j, "operator_id", p->operator_id);
    if (p->ne_id.len)
        put_text(&j, "ne_id", p->ne_id);
    if (p->delivery_cc.len)
        put_text(&j, "delivery_cc", p->delivery_cc);
    if (p->has_cin)
        put_uint(&j, "cin", p->cin);
    put_uint(&j, "seq", p->seq);
    if (p->timestamp_ns) {
        li_time_format_rfc3339(p->timestamp_ns, 6, ts, sizeof ts);
        put_word(&j, "timestamp", ts);
    }
    if (p->payload == HO_PAYLOAD_IRI) {
        put_word(&j, "iri_type", iri_names[p->iri_type]);
        if (p->iri_content == HO_IRI_SIP) {
            put_addr(&j, "src", &p->src);
            put_addr(&j, "dst", &p->dst);
            put_text(&j, "sip", p->content);
        } else {
            put_text(&j, "original", p->content);
        }
    } else if (p->payload == HO_PAYLOAD_HI1) {
        /* TS 101 671 HI1 notification: what limf means by each is in docs/HANDOVER.md. */
        put_word(&j, "hi1", hi1_names[p->hi1_op]);
        if (p->content.len)
            put_text(&j, p->hi1_op == HO_HI1_ALARM ? "alarm" : "target_info", p->content);
    } else {
        if (p->direction <= 4)
            put_word(&j, "direction", dir_names[p->direction]);
        else
            put_uint(&j, "direction", p->direction);
        if (p->stream_id.len)
            put_text(&j, "stream_id", p->stream_id);
        put_text(&j, "msrp", p->content);
    }
    if (rx_ns)
        put_uint(&j, "rx_ns", rx_ns);
    if (check)
        put_word(&j, "check", check);
    fputs("}\n", f);
}

li_err ho_lemf_pdu(ho_lemf *l, const uint8_t *buf, size_t len, uint64_t rx_ns, ho_pdu *p)
{
    size_t used;
    li_err e = ho_pdu_decode(buf, len, p, &used);
    pthread_mutex_lock(&l->mu);
    l->st.bytes += len;
    if (rx_ns)
        l->st.last_rx_ns = rx_ns;
    if (l->raw)
        fwrite(buf, 1, len, l->raw);
    if (e != LI_OK || used != len) {
        l->st.errors++;
        fprintf(stderr, "limf-lemf: undecodable PDU of %zu octets\n", len);
        pthread_mutex_unlock(&l->mu);
        return LI_ERR_PROTO;
    }
    if (p->payload == HO_PAYLOAD_KEEPALIVE || p->payload == HO_PAYLOAD_KEEPALIVE_RESPONSE) {
        l->st.keepalives++;
        pthread_mutex_unlock(&l->mu);
        return LI_OK;
    }
    if (p->payload == HO_PAYLOAD_IRI)
        l->st.iri++;
    else if (p->payload == HO_PAYLOAD_HI1)
        l->st.hi1++;
    else
        l->st.cc++;
    stream *s = find_stream(l, p);
    uint32_t missing_from = 0;
    const char *verdict = s ? check_seq(l, s, p->seq, fnv1a(buf, len, 0xcbf29ce484222325ull),
                                        &missing_from)
                            : "error";
    if (strcmp(verdict, "new") != 0) {
        /* Gaps and repeats also go to the log for the operator watching the run; the
         * LIID only as li_redact()'s hash (the output file names it in the clear). */
        char liid[LI_REDACT_LEN];
        li_redact(s ? s->liid : "?", liid);
        if (!strcmp(verdict, "gap"))
            li_log_warn("gap on LIID %s CIN %u HI%u: %u..%u missing", liid, p->cin, s->hi,
                        missing_from, p->seq - 1);
        else
            li_log_warn("%s on LIID %s CIN %u HI%u seq %u", verdict, liid, p->cin,
                        interface_of(p), p->seq);
    }
    put_pdu(l->out, p, rx_ns, strcmp(verdict, "new") != 0 ? verdict : NULL);
    pthread_mutex_unlock(&l->mu);
    return LI_OK;
}

void ho_lemf_flush(ho_lemf *l)
{
    pthread_mutex_lock(&l->mu);
    fflush(l->out);
    if (l->raw)
        fflush(l->raw);
    pthread_mutex_unlock(&l->mu);
}

li_err ho_lemf_serve(ho_lemf *l, ho_conn *c, int answer_keepalive, size_t max_pdu,
                     volatile int *stop)
{
    pthread_mutex_lock(&l->mu);
    l->st.connections++;
    l->st.open++;
    pthread_mutex_unlock(&l->mu);
    li_buf answer;
    li_buf_init(&answer, 0);
    li_err e = LI_OK;
    while (!*stop) {
        const uint8_t *buf;
        size_t len;
        /* Output is flushed whenever the stream pauses, not per PDU. */
        e = ho_conn_next_pdu(c, max_pdu, 0, &buf, &len);
        if (e == LI_AGAIN) {
            ho_lemf_flush(l);
            e = ho_conn_next_pdu(c, max_pdu, 200, &buf, &len);
        }
        if (e == LI_AGAIN)
            continue;
        if (e == LI_ERR_PROTO || e == LI_ERR_TOO_BIG) {
            /* Not PS-PDUs (not BER, or above max_pdu): undecodable as well. */
            pthread_mutex_lock(&l->mu);
            l->st.errors++;
            pthread_mutex_unlock(&l->mu);
        }
        if (e != LI_OK)
            break;
        ho_pdu p;
        if (ho_lemf_pdu(l, buf, len, li_now_ns(), &p) != LI_OK) {
            e = LI_ERR_PROTO;
            break;
        }
        if (p.payload != HO_PAYLOAD_KEEPALIVE || !answer_keepalive)
            continue;
        /* The response echoes the keep-alive's header, sequenceNumber included, so that the
         * sender knows which keep-alive (and so which PDUs) it acknowledges; what it
         * acknowledges is written out first, so that it survives a crash of the LEMF. */
        ho_lemf_flush(l);
        p.payload = HO_PAYLOAD_KEEPALIVE_RESPONSE;
        li_buf_reset(&answer);
        if (ho_pdu_encode(&p, &answer) != LI_OK ||
            (e = ho_conn_write(c, answer.data, answer.len, 5000)) != LI_OK)
            break;
    }
    li_buf_free(&answer);
    pthread_mutex_lock(&l->mu);
    l->st.open--;
    pthread_mutex_unlock(&l->mu);
    return e;
}

/* Sequence numbers never received, between each stream's first and highest (mu held). */
static uint64_t missing_locked(ho_lemf *l)
{
    uint64_t missing = 0;
    for (size_t i = 0; i < BUCKETS; i++)
        for (stream *s = l->buckets[i]; s; s = s->next)
            missing += (uint64_t)(s->expected - s->base) - s->distinct;
    return missing;
}

void ho_lemf_refused(ho_lemf *l)
{
    pthread_mutex_lock(&l->mu);
    l->st.refused++;
    pthread_mutex_unlock(&l->mu);
}

void ho_lemf_stats_get(ho_lemf *l, ho_lemf_stats *st)
{
    pthread_mutex_lock(&l->mu);
    *st = l->st;
    st->missing = missing_locked(l);
    pthread_mutex_unlock(&l->mu);
}

void ho_lemf_summary(ho_lemf *l, li_buf *out)
{
    ho_lemf_stats st;
    ho_lemf_stats_get(l, &st);
    li_buf_printf(out,
                  "{\"summary\":true,\"pdus\":%llu,\"iri\":%llu,\"cc\":%llu,\"hi1\":%llu,"
                  "\"keepalives\":%llu,"
                  "\"streams\":%llu,\"gaps\":%llu,\"missing\":%llu,\"late\":%llu,"
                  "\"duplicates\":%llu,\"conflicts\":%llu,\"errors\":%llu}",
                  (unsigned long long)(st.iri + st.cc + st.hi1), (unsigned long long)st.iri,
                  (unsigned long long)st.cc, (unsigned long long)st.hi1,
                  (unsigned long long)st.keepalives,
                  (unsigned long long)st.streams, (unsigned long long)st.gaps,
                  (unsigned long long)st.missing, (unsigned long long)st.late,
                  (unsigned long long)st.duplicates, (unsigned long long)st.conflicts,
                  (unsigned long long)st.errors);
}

void ho_lemf_render(void *lemf, li_buf *b)
{
    ho_lemf_stats st;
    ho_lemf_stats_get(lemf, &st);
    /* Families with a label: every series of one name together (exposition format). */
    li_metrics_put_family(b, "limf_lemf_pdus_total", "counter",
                          "PS-PDUs received and decoded, by payload.");
    li_metrics_put_labeled(b, "limf_lemf_pdus_total", "type=\"iri\"", st.iri);
    li_metrics_put_labeled(b, "limf_lemf_pdus_total", "type=\"cc\"", st.cc);
    li_metrics_put_labeled(b, "limf_lemf_pdus_total", "type=\"hi1\"", st.hi1);
    li_metrics_put_labeled(b, "limf_lemf_pdus_total", "type=\"keepalive\"", st.keepalives);
    li_metrics_put_family(b, "limf_lemf_connections_total", "counter",
                          "HI2/HI3 connections served, and refused at the TLS handshake.");
    li_metrics_put_labeled(b, "limf_lemf_connections_total", "result=\"accepted\"",
                           st.connections);
    li_metrics_put_labeled(b, "limf_lemf_connections_total", "result=\"refused\"", st.refused);
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } fams[] = {
        { "limf_lemf_received_bytes_total", "counter",
          "Octets of every PDU received, undecodable ones included.",
          offsetof(ho_lemf_stats, bytes) },
        { "limf_lemf_decode_errors_total", "counter",
          "PDUs that did not decode, or streams not cut into PDUs (the connection is closed).",
          offsetof(ho_lemf_stats, errors) },
        { "limf_lemf_streams", "gauge", "Distinct (LIID, CIN, handover interface) seen.",
          offsetof(ho_lemf_stats, streams) },
        { "limf_lemf_gaps_total", "counter",
          "Times a stream's sequence number skipped one or more.",
          offsetof(ho_lemf_stats, gaps) },
        { "limf_lemf_missing", "gauge",
          "Sequence numbers never received (below each stream's highest).",
          offsetof(ho_lemf_stats, missing) },
        { "limf_lemf_late_total", "counter", "PDUs that filled a gap or came before the first.",
          offsetof(ho_lemf_stats, late) },
        { "limf_lemf_duplicates_total", "counter", "Identical repeats of a PDU.",
          offsetof(ho_lemf_stats, duplicates) },
        { "limf_lemf_conflicts_total", "counter",
          "Sequence numbers received again with different bytes.",
          offsetof(ho_lemf_stats, conflicts) },
        { "limf_lemf_connections_open", "gauge", "HI2/HI3 connections being served.",
          offsetof(ho_lemf_stats, open) },
    };
    for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++) {
        uint64_t v;
        memcpy(&v, (const char *)&st + fams[f].off, sizeof v);
        li_metrics_put(b, fams[f].name, fams[f].type, fams[f].help, v);
    }
    li_metrics_put_family(b, "limf_lemf_last_receipt_seconds", "gauge",
                          "Unix time of the last PDU received (0: none yet).");
    li_metrics_put_labeled_gauge(b, "limf_lemf_last_receipt_seconds", NULL,
                                 (double)st.last_rx_ns / 1e9);
}

int ho_lemf_clean(ho_lemf *l)
{
    ho_lemf_stats st;
    ho_lemf_stats_get(l, &st);
    return st.missing == 0 && st.conflicts == 0 && st.errors == 0;
}
