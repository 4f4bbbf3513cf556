/* POI sender: producers encode records straight into a byte ring under a mutex (the
 * payload is copied once); one I/O thread owns the TLS connection, hands the ring's bytes
 * to SSL_write where they lie, many PDUs at a time (full 16 KiB TLS records), and
 * releases ring space only when the ingest answers a keepalive sent after those bytes
 * (docs/PRINCIPLES.md 4).
 *
 * Positions in the ring are absolute byte counts (uint64, never wrap in practice):
 *   tail <= copied <= limit <= head
 *   [tail, copied): written to the connection, waiting for an acknowledgement
 *   [copied, limit): the batch being written (ends on a PDU boundary)
 *   [limit, head): queued, not yet taken by the I/O thread
 * Producers write only at [head, tail + cap), so the I/O thread reads [tail, limit)
 * without the mutex. After a reconnect, copied = limit = tail: everything unacknowledged
 * is resent as it was.
 *
 * Wake-ups: a producer writes the eventfd only when the I/O thread sleeps. After writing
 * the I/O thread lingers (a short timed poll, no wake-up needed) before it sleeps, so
 * under a steady flow of records it wakes on its own about once per LINGER_NS, never
 * once per record. */
#include "x2x3_sender.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "li_conn.h"
#include "li_hostport.h"
#include "li_log.h"
#include "li_time.h"
#include "li_tls.h"
#include "x2x3_event.h"
#include "x2x3_seq.h"

#define MAX_MARKERS 64            /* keepalives in flight */
#define WRITE_BATCH (256 * 1024)  /* PDU bytes between keepalive opportunities */
#define LINGER_NS 1000000u        /* 1 ms: see the wake-ups note above */
#define CONNECT_TIMEOUT_MS 5000
#define BACKOFF_MIN_NS 100000000u  /* 100 ms: the first retry after a healthy connection */
#define MAX_GAP_TARGETS 4
#define SEQ_IDLE_NS (3600ULL * 1000000000ULL)   /* a stream quiet this long may restart at 0 */
#define MAX_TARGET_XML 1024                     /* attribute 17/18 value, standard form */

typedef struct marker {           /* a keepalive in flight and what it acknowledges */
    uint32_t seq;
    uint64_t pos;                 /* ring position the keepalive follows */
    uint64_t pdus;                /* PDU count the keepalive follows */
    uint64_t sent_ns;
} marker;

typedef struct gap {              /* records dropped for one XID, not yet reported */
    uint8_t xid[16];
    uint64_t correlation_id;
    uint64_t dropped;
    char *targets[MAX_GAP_TARGETS];
    size_t n_targets;
} gap;

struct x2x3_sender {
    pthread_mutex_t mu;
    pthread_cond_t acked_cond;
    pthread_t thread;
    int thread_started;
    int wake_fd;

    /* configuration (read-only after _new) */
    char host[256];
    char port[16];
    char poi_id[256];
    char nf_id[256];
    uint64_t cap;
    size_t max_pdu;
    uint64_t keepalive_ns;
    uint64_t ack_interval_ns;
    int thread_nice;
    uint64_t reconnect_max_ns;
    int no_ack;                   /* the peer never answers keepalives: see x2x3_sender.h */
    char address[300];            /* host:port as configured */
    SSL_CTX *ctx;

    /* under mu */
    int stop;
    int sleeping;                 /* the I/O thread waits in poll() for a wake-up */
    int flush_waiters;
    uint8_t *ring;
    uint64_t head, tail;
    uint64_t queued_pdus, acked_pdus;
    x2x3_seq seqs;                /* per (XID, correlation ID), TS 103 221-2 clause 5.3.9 */
    li_buf attrs, scratch;
    gap *gaps;
    size_t n_gaps, gaps_cap;
    x2x3_sender_stats stats;

    /* I/O thread only */
    li_conn io;                  /* to the ingest (TLS client); io.fd is -1 when down */
    uint64_t copied, limit, limit_pdus;
    uint64_t last_data_ns;        /* when PDU bytes were last written */
    li_buf wbuf, rbuf;            /* keepalives and answers; what the ingest sent */
    size_t wbuf_off;
    marker markers[MAX_MARKERS];
    size_t n_markers;
    uint32_t ka_seq;
    uint64_t last_ka_ns;
    uint64_t last_ka_pos;
    int ever_connected;
    int healthy;                  /* this connection was answered (no_ack: lasted) */
    uint64_t connected_ns;
    uint64_t backoff_ns;          /* the wait before the next connection attempt */
    uint64_t rng;                 /* xorshift state for the backoff's jitter */
};

/* --- the ring --- */

static void ring_write(x2x3_sender *s, uint64_t pos, const uint8_t *p, size_t n)
{
    size_t at = (size_t)(pos % s->cap);
    size_t first = (size_t)s->cap - at < n ? (size_t)s->cap - at : n;
    memcpy(s->ring + at, p, first);
    memcpy(s->ring, p + first, n - first);
}

static void ring_read(const x2x3_sender *s, uint64_t pos, uint8_t *p, size_t n)
{
    size_t at = (size_t)(pos % s->cap);
    size_t first = (size_t)s->cap - at < n ? (size_t)s->cap - at : n;
    memcpy(p, s->ring + at, first);
    memcpy(p + first, s->ring, n - first);
}

/* Attribute 17 or 18 in the standard form (the TargetIdentifier's content as XML,
 * clauses 5.3.18/5.3.19) from limf's "type:value"; text of another type as it is. */
static li_err put_target(li_buf *a, uint16_t type, const char *ident)
{
    char xml[MAX_TARGET_XML];
    size_t len;
    li_err e = x2x3_target_encode(ident, xml, sizeof xml, &len);
    if (e == LI_ERR_INVAL)
        return x2x3_attr_put(a, type, ident, strlen(ident));
    return e == LI_OK ? x2x3_attr_put(a, type, xml, len) : LI_ERR_INVAL;
}

/* Encodes rec's header and attributes into s->scratch (under mu) with the next sequence
 * number; ring_push() appends them and the payload, which is copied only there. */
static li_err encode_record(x2x3_sender *s, const x2x3_record *rec, uint32_t seq)
{
    li_buf *a = &s->attrs;
    li_buf_reset(a);
    li_buf_reset(&s->scratch);
    li_err e = LI_OK;
    /* Attributes in type order (TS 103 221-2 clause 5.3 table 5). */
    if (s->nf_id[0])
        e = x2x3_attr_put(a, X2X3_ATTR_NFID, s->nf_id, strlen(s->nf_id));
    if (e == LI_OK && s->poi_id[0])
        e = x2x3_attr_put(a, X2X3_ATTR_IPID, s->poi_id, strlen(s->poi_id));
    if (e == LI_OK)
        e = x2x3_attr_put_u32(a, X2X3_ATTR_SEQ, seq);
    if (e == LI_OK)
        e = x2x3_attr_put_timestamp(a, rec->timestamp_ns ? rec->timestamp_ns : li_now_ns());
    const x2x3_addr *ends[2] = { &rec->src, &rec->dst };
    for (int i = 0; i < 2 && e == LI_OK; i++) {
        if (ends[i]->family == AF_INET)
            e = x2x3_attr_put(a, (uint16_t)(X2X3_ATTR_SRC_IPV4 + i), ends[i]->addr, 4);
        else if (ends[i]->family == AF_INET6)
            e = x2x3_attr_put(a, (uint16_t)(X2X3_ATTR_SRC_IPV6 + i), ends[i]->addr, 16);
    }
    for (int i = 0; i < 2 && e == LI_OK; i++)
        if (ends[i]->family && ends[i]->port)
            e = x2x3_attr_put_u16(a, (uint16_t)(X2X3_ATTR_SRC_PORT + i), ends[i]->port);
    if (e == LI_OK && rec->ip_protocol)
        e = x2x3_attr_put_u8(a, X2X3_ATTR_IP_PROTOCOL, rec->ip_protocol);
    for (size_t i = 0; i < rec->n_matched_targets && e == LI_OK; i++)
        e = put_target(a, X2X3_ATTR_MATCHED_TARGET, rec->matched_targets[i]);
    for (size_t i = 0; i < rec->n_other_targets && e == LI_OK; i++)
        e = put_target(a, X2X3_ATTR_OTHER_TARGET, rec->other_targets[i]);
    if (e == LI_OK && rec->sdp)
        e = x2x3_attr_put(a, X2X3_ATTR_SDP, rec->sdp, strlen(rec->sdp));
    if (e != LI_OK)
        return e == LI_ERR_TOO_BIG ? LI_ERR_INVAL : e;
    x2x3_pdu p;
    memset(&p, 0, sizeof p);
    p.version = X2X3_VERSION;
    p.pdu_type = rec->pdu_type;
    p.payload_format = rec->payload_format;
    p.payload_direction = rec->payload_direction;
    memcpy(p.xid, rec->xid, 16);
    p.correlation_id = rec->correlation_id;
    p.attrs = a->data;
    p.attrs_len = a->len;
    p.payload_len = rec->payload_len;   /* ring_push() writes the payload behind the head */
    e = x2x3_pdu_encode_head(&s->scratch, &p);
    return e == LI_ERR_TOO_BIG ? LI_ERR_INVAL : e;
}

/* Appends s->scratch and the payload to the ring when they fit (under mu); the stream's
 * sequence number is then used up. */
static int ring_push(x2x3_sender *s, uint32_t *seq, const uint8_t *payload, size_t payload_len)
{
    if (s->scratch.len + payload_len > s->cap - (s->head - s->tail))
        return 0;
    ring_write(s, s->head, s->scratch.data, s->scratch.len);
    if (payload_len)
        ring_write(s, s->head + s->scratch.len, payload, payload_len);
    s->head += s->scratch.len + payload_len;
    s->queued_pdus++;
    (*seq)++;
    return 1;
}

static void gap_free(gap *g)
{
    for (size_t i = 0; i < g->n_targets; i++)
        free(g->targets[i]);
    g->n_targets = 0;
}

/* Queues a gap event for every XID with drops (under mu) once a quarter of the buffer is
 * free again, so that one period of overflow gives one event per XID. The event goes
 * before any later record, so the LEA learns of the gap where it happened. */
static void push_gaps(x2x3_sender *s)
{
    if (s->n_gaps > 0 && s->cap - (s->head - s->tail) < s->cap / 4)
        return;
    while (s->n_gaps > 0) {
        gap *g = &s->gaps[0];
        char json[96];
        size_t len;
        x2x3_event_gap(json, sizeof json, &len, g->dropped);
        x2x3_record r;
        memset(&r, 0, sizeof r);
        r.pdu_type = X2X3_PDU_X2;
        r.payload_format = X2X3_FORMAT_PROPRIETARY;
        r.payload_direction = X2X3_DIR_NA;
        memcpy(r.xid, g->xid, 16);
        r.correlation_id = g->correlation_id;
        r.matched_targets = (const char *const *)g->targets;
        r.n_matched_targets = g->n_targets;
        r.payload = (const uint8_t *)json;
        r.payload_len = len;
        uint32_t *seq = x2x3_seq_next(&s->seqs, r.xid, r.correlation_id, li_mono_ns());
        if (!seq || encode_record(s, &r, *seq) != LI_OK ||
            !ring_push(s, seq, r.payload, r.payload_len))
            return;
        li_log_warn("x2x3 sender: reported a gap of %llu PDUs", (unsigned long long)g->dropped);
        gap_free(g);
        memmove(s->gaps, s->gaps + 1, (s->n_gaps - 1) * sizeof *s->gaps);
        s->n_gaps--;
    }
}

static void count_drop(x2x3_sender *s, const x2x3_record *rec)
{
    s->stats.dropped_pdus++;
    for (size_t i = 0; i < s->n_gaps; i++) {
        if (memcmp(s->gaps[i].xid, rec->xid, 16) == 0) {
            s->gaps[i].dropped++;
            return;
        }
    }
    if (s->n_gaps == s->gaps_cap) {
        size_t cap = s->gaps_cap ? s->gaps_cap * 2 : 8;
        gap *g = realloc(s->gaps, cap * sizeof *g);
        if (!g)
            return;   /* still counted in stats.dropped_pdus */
        s->gaps = g;
        s->gaps_cap = cap;
    }
    gap *g = &s->gaps[s->n_gaps++];
    memset(g, 0, sizeof *g);
    memcpy(g->xid, rec->xid, 16);
    g->correlation_id = rec->correlation_id;
    g->dropped = 1;
    for (size_t i = 0; i < rec->n_matched_targets && g->n_targets < MAX_GAP_TARGETS; i++)
        if ((g->targets[g->n_targets] = strdup(rec->matched_targets[i])) != NULL)
            g->n_targets++;
    li_log_warn("x2x3 sender: buffer full, dropping PDUs");
}

static void wake(x2x3_sender *s)
{
    uint64_t one = 1;
    if (write(s->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        li_log_error("x2x3 sender: eventfd: %s", strerror(errno));
}

li_err x2x3_sender_send(x2x3_sender *s, const x2x3_record *rec)
{
    if ((rec->pdu_type != X2X3_PDU_X2 && rec->pdu_type != X2X3_PDU_X3) ||
        !x2x3_format_allowed(rec->pdu_type, rec->payload_format) ||
        rec->payload_direction < X2X3_DIR_UNKNOWN || rec->payload_direction > X2X3_DIR_NA ||
        (rec->payload_len && !rec->payload))
        return LI_ERR_INVAL;
    pthread_mutex_lock(&s->mu);
    push_gaps(s);
    uint32_t *seq = x2x3_seq_next(&s->seqs, rec->xid, rec->correlation_id, li_mono_ns());
    li_err e = seq ? encode_record(s, rec, *seq) : LI_ERR_NOMEM;
    /* A PDU the ingest would refuse would be resent forever: refuse it here. */
    if (e == LI_OK &&
        (s->scratch.len > s->max_pdu || rec->payload_len > s->max_pdu - s->scratch.len))
        e = LI_ERR_INVAL;
    if (e == LI_OK && (s->n_gaps > 0 || !ring_push(s, seq, rec->payload, rec->payload_len))) {
        /* While a gap is unreported, later records of any XID wait behind it. */
        count_drop(s, rec);
        e = LI_ERR_FULL;
    }
    int need_wake = e == LI_OK && s->sleeping;
    if (need_wake)
        s->sleeping = 0;
    pthread_mutex_unlock(&s->mu);
    if (need_wake)
        wake(s);
    return e;
}

li_err x2x3_sender_flush(x2x3_sender *s, int timeout_ms)
{
    struct timespec until = li_deadline(CLOCK_REALTIME, timeout_ms);
    pthread_mutex_lock(&s->mu);
    uint64_t target = s->head;
    li_err e = LI_OK;
    s->flush_waiters++;
    s->sleeping = 0;
    wake(s);
    while (s->tail < target && e == LI_OK)
        if (pthread_cond_timedwait(&s->acked_cond, &s->mu, &until) == ETIMEDOUT)
            e = s->tail < target ? LI_ERR_TIMEOUT : LI_OK;
    s->flush_waiters--;
    pthread_mutex_unlock(&s->mu);
    return e;
}

void x2x3_sender_stats_get(x2x3_sender *s, x2x3_sender_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    out->buffered_bytes = s->head - s->tail;
    out->acked_pdus = s->acked_pdus;
    pthread_mutex_unlock(&s->mu);
}

/* --- the I/O thread --- */

/* Drops the connection (why: logged when an established one is lost, else NULL). */
static void disconnect(x2x3_sender *s, const char *why)
{
    if (s->io.ssl && s->stats.connected && why)
        li_log_warn("x2x3 sender: connection to %s:%s lost: %s", s->host, s->port, why);
    li_conn_close(&s->io);
    pthread_mutex_lock(&s->mu);
    s->stats.connected = 0;
    s->copied = s->limit = s->tail;     /* resend everything unacknowledged */
    s->limit_pdus = s->acked_pdus;
    pthread_mutex_unlock(&s->mu);
    li_buf_reset(&s->wbuf);
    li_buf_reset(&s->rbuf);
    s->wbuf_off = 0;
    s->n_markers = 0;
}

/* Waits for fd to become ready for `events`, or the wake-up fd, up to timeout_ms.
 * Returns >0 when fd is ready, 0 on timeout or wake-up. */
static int wait_fd(x2x3_sender *s, int fd, short events, int timeout_ms)
{
    struct pollfd p[2] = { { fd, events, 0 }, { s->wake_fd, POLLIN, 0 } };
    int n = poll(p, 2, timeout_ms);
    if (n > 0 && (p[1].revents & POLLIN)) {
        uint64_t v;
        if (read(s->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
            return -1;
    }
    return n > 0 ? (p[0].revents != 0) : n;
}

static int stopping(x2x3_sender *s)
{
    pthread_mutex_lock(&s->mu);
    int stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

static li_err try_connect(x2x3_sender *s, char *why, size_t why_size)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(s->host, s->port, &hints, &res);
    if (gai != 0) {
        snprintf(why, why_size, "resolve: %s", gai_strerror(gai));
        return LI_ERR_IO;
    }
    li_err e = LI_ERR_IO;
    snprintf(why, why_size, "no address");
    for (struct addrinfo *ai = res; ai && e != LI_OK; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
            snprintf(why, why_size, "connect: %s", strerror(errno));
            close(fd);
            continue;
        }
        int err = 0;
        socklen_t len = sizeof err;
        if (wait_fd(s, fd, POLLOUT, CONNECT_TIMEOUT_MS) <= 0 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            snprintf(why, why_size, "connect: %s", err ? strerror(err) : "timed out");
            close(fd);
            continue;
        }
        e = li_conn_attach(&s->io, fd, s->ctx, 0);
        if (e != LI_OK)
            snprintf(why, why_size, "TLS set-up: %s", li_err_str(e));
    }
    freeaddrinfo(res);
    if (e != LI_OK)
        return e;
    struct in6_addr ignored;
    if (inet_pton(AF_INET, s->host, &ignored) != 1 && inet_pton(AF_INET6, s->host, &ignored) != 1)
        SSL_set_tlsext_host_name(s->io.ssl, s->host);
    uint64_t deadline = li_mono_ns() + (uint64_t)CONNECT_TIMEOUT_MS * 1000000u;
    for (;;) {
        li_err he = li_conn_handshake(&s->io);
        if (he == LI_OK)
            return LI_OK;
        uint64_t now = li_mono_ns();
        if (he != LI_AGAIN || now >= deadline || stopping(s)) {
            char ossl[256];
            li_tls_error_string(ossl, sizeof ossl);
            long v = SSL_get_verify_result(s->io.ssl);   /* e.g. the name does not match */
            snprintf(why, why_size, "TLS handshake: %s%s%s", now >= deadline ? "timed out"
                     : *ossl ? ossl : "connection closed by the peer",
                     v != X509_V_OK ? ": " : "",
                     v != X509_V_OK ? X509_verify_cert_error_string(v) : "");
            return LI_ERR_TLS;
        }
        wait_fd(s, s->io.fd, s->io.want, (int)((deadline - now) / 1000000u) + 1);
    }
}

/* Takes the next batch for writing: the PDUs queued after limit, up to about
 * WRITE_BATCH bytes and always whole, so that a keepalive can follow it. 0 when nothing
 * is queued. The PDU headers are read without the mutex (see the ring note above). */
static int take_batch(x2x3_sender *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t head = s->head, head_pdus = s->queued_pdus;
    pthread_mutex_unlock(&s->mu);
    if (head == s->limit)
        return 0;
    uint64_t end = s->limit, pdus = s->limit_pdus;
    if (head - end <= WRITE_BATCH) {
        end = head;
        pdus = head_pdus;
    } else {
        while (end < head && end - s->limit < WRITE_BATCH) {
            uint8_t h[12];
            ring_read(s, end, h, sizeof h);
            end += (uint64_t)li_get_be32(h + 4) + li_get_be32(h + 8);
            pdus++;
        }
    }
    pthread_mutex_lock(&s->mu);
    s->stats.sent_pdus += pdus - s->limit_pdus;
    s->stats.sent_bytes += end - s->limit;
    pthread_mutex_unlock(&s->mu);
    s->limit = end;
    s->limit_pdus = pdus;
    return 1;
}

/* Appends a keepalive when one is due: after new data once ack_interval has passed (or
 * at once for a flush), and every keepalive interval on an idle link. */
static void maybe_keepalive(x2x3_sender *s, uint64_t now)
{
    if (s->no_ack) {
        /* Sent so that the peer sees a live link (TIME_P1); no answer is awaited. */
        if (now - s->last_ka_ns >= s->keepalive_ns &&
            x2x3_keepalive_encode(&s->wbuf, ++s->ka_seq) == LI_OK)
            s->last_ka_ns = now;
        return;
    }
    if (s->n_markers == MAX_MARKERS)
        return;
    pthread_mutex_lock(&s->mu);
    int flush = s->flush_waiters > 0;
    pthread_mutex_unlock(&s->mu);
    int new_data = s->copied > s->last_ka_pos;
    if (!(new_data && (flush || now - s->last_ka_ns >= s->ack_interval_ns)) &&
        now - s->last_ka_ns < s->keepalive_ns)
        return;
    if (x2x3_keepalive_encode(&s->wbuf, ++s->ka_seq) != LI_OK)
        return;
    marker *m = &s->markers[s->n_markers++];
    m->seq = s->ka_seq;
    m->pos = s->copied;
    m->pdus = s->limit_pdus;          /* called only at the end of a batch */
    m->sent_ns = now;
    s->last_ka_ns = now;
    s->last_ka_pos = s->copied;
}

static void on_ack(x2x3_sender *s, const x2x3_pdu *p)
{
    if (!x2x3_pdu_has(p, X2X3_ATTR_SEQ))
        return;
    for (size_t i = 0; i < s->n_markers; i++) {
        if (s->markers[i].seq != p->seq)
            continue;
        /* TCP keeps order: this answer acknowledges every earlier keepalive too. */
        s->healthy = 1;
        pthread_mutex_lock(&s->mu);
        if (s->markers[i].pos > s->tail) {
            s->tail = s->markers[i].pos;
            s->acked_pdus = s->markers[i].pdus;
        }
        push_gaps(s);
        pthread_cond_broadcast(&s->acked_cond);
        pthread_mutex_unlock(&s->mu);
        memmove(s->markers, s->markers + i + 1, (s->n_markers - i - 1) * sizeof *s->markers);
        s->n_markers -= i + 1;
        return;
    }
}

/* Reads what the ingest sent: keepalive answers, and keepalives (answered). */
static li_err do_read(x2x3_sender *s)
{
    for (;;) {
        if (li_buf_reserve(&s->rbuf, 16384) != LI_OK)
            return LI_ERR_NOMEM;
        size_t n;
        li_err rd = li_conn_recv(&s->io, s->rbuf.data + s->rbuf.len, 16384, &n);
        if (rd != LI_OK)
            return rd == LI_AGAIN ? LI_OK : rd;
        s->rbuf.len += n;
        size_t off = 0;
        for (;;) {
            x2x3_pdu p;
            size_t used;
            x2x3_decode_error err;
            li_err e = x2x3_pdu_decode(s->rbuf.data + off, s->rbuf.len - off, 65536, &p, &used,
                                       &err);
            if (e == LI_AGAIN)
                break;
            if (e != LI_OK) {
                li_log_warn("x2x3 sender: bad PDU from the ingest: %s at %zu", err.reason,
                            err.offset);
                return LI_ERR_PROTO;
            }
            if (p.pdu_type == X2X3_PDU_KEEPALIVE_ACK)
                on_ack(s, &p);
            else if (p.pdu_type == X2X3_PDU_KEEPALIVE)
                x2x3_keepalive_ack_encode(&s->wbuf, &p);
            off += used;
        }
        li_buf_consume(&s->rbuf, off);
    }
}

/* Unacknowledged mode: a batch is released once written whole to the connection (a
 * batch ends on a PDU boundary, so a resend after a reconnect starts on one). What the
 * connection held when it broke is lost: counted as released unacknowledged. */
static void release_written(x2x3_sender *s)
{
    pthread_mutex_lock(&s->mu);
    s->stats.unacked_pdus += s->limit_pdus - s->acked_pdus;
    s->last_ka_pos = s->limit;    /* nothing awaits an answer */
    s->tail = s->limit;
    s->acked_pdus = s->limit_pdus;
    push_gaps(s);
    pthread_cond_broadcast(&s->acked_cond);
    pthread_mutex_unlock(&s->mu);
}

/* Writes the current batch straight from the ring, then (at the PDU boundary) the
 * keepalives and answers of wbuf, then takes the next batch. With partial writes enabled
 * (li_tls) SSL_write returns after each 16 KiB record; a retry after WANT_WRITE passes
 * the same bytes again, at least as many (OpenSSL's rule for a pending write). */
static li_err do_write(x2x3_sender *s, int *want_out)
{
    *want_out = 0;
    for (;;) {
        const uint8_t *p;
        size_t n;
        int from_ring = s->copied < s->limit;
        if (from_ring) {
            size_t at = (size_t)(s->copied % s->cap);
            n = (size_t)(s->limit - s->copied);
            if (n > (size_t)s->cap - at)
                n = (size_t)s->cap - at;         /* up to the end of the ring */
            if (n > WRITE_BATCH)
                n = WRITE_BATCH;
            p = s->ring + at;
        } else {
            if (s->wbuf_off == s->wbuf.len) {
                li_buf_reset(&s->wbuf);
                s->wbuf_off = 0;
                maybe_keepalive(s, li_mono_ns());
            }
            if (s->wbuf_off == s->wbuf.len) {
                if (!take_batch(s))
                    return LI_OK;
                continue;
            }
            p = s->wbuf.data + s->wbuf_off;
            n = s->wbuf.len - s->wbuf_off;
        }
        size_t k;
        li_err e = li_conn_send(&s->io, p, n, &k);
        if (e == LI_AGAIN) {
            *want_out = 1;    /* retried after a wait (POLLIN ends it early) */
            return LI_OK;
        }
        if (e != LI_OK)
            return e;
        if (from_ring) {
            s->copied += (uint64_t)k;
            s->last_data_ns = li_mono_ns();
            if (s->no_ack && s->copied == s->limit)
                release_written(s);
        } else {
            s->wbuf_off += k;
        }
    }
}

/* Waits the current backoff with jitter (uniformly between half and all of it, so that
 * POIs cut off together do not come back together), then doubles it up to
 * reconnect_max. A wake-up (new data) does not cut the wait short. */
static void back_off(x2x3_sender *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    uint64_t half = s->backoff_ns / 2;
    uint64_t until = li_mono_ns() + half + (half ? s->rng % (half + 1) : 0);
    for (uint64_t now = li_mono_ns(); now < until && !stopping(s); now = li_mono_ns())
        wait_fd(s, -1, 0, (int)((until - now) / 1000000u) + 1);
    s->backoff_ns = s->backoff_ns * 2 > s->reconnect_max_ns ? s->reconnect_max_ns
                                                             : s->backoff_ns * 2;
}

static void *io_thread(void *arg)
{
    x2x3_sender *s = arg;
    /* Named so that an operator (top -H) or a benchmark can tell its CPU apart. */
    pthread_setname_np(pthread_self(), "x2x3-sender");
    /* Below the POI's own work (relaying, capturing) when the cores are contended: the
     * tap catches up from its buffer when they are not, and never delays the target's
     * traffic. Raising nice needs no privilege; only this thread is affected. */
    if (s->thread_nice &&
        setpriority(PRIO_PROCESS, (id_t)gettid(), s->thread_nice) != 0)
        li_log_warn("x2x3 sender: cannot set nice %d: %s", s->thread_nice, strerror(errno));
    /* A write to a connection the ingest closed raises SIGPIPE in this thread: keep it
     * blocked here, so that a POI that did not ignore SIGPIPE does not die of it. */
    sigset_t pipe_mask;
    sigemptyset(&pipe_mask);
    sigaddset(&pipe_mask, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_mask, NULL);
    char why[512];
    int logged_down = 0;
    s->backoff_ns = BACKOFF_MIN_NS;
    while (!stopping(s)) {
        if (!s->io.ssl) {
            if (try_connect(s, why, sizeof why) != LI_OK) {
                if (!logged_down)
                    li_log_warn("x2x3 sender: cannot connect to %s:%s: %s", s->host, s->port,
                                why);
                logged_down = 1;
                disconnect(s, NULL);
                back_off(s);
                continue;
            }
            li_log_info("x2x3 sender: connected to %s:%s%s", s->host, s->port,
                        s->no_ack ? " (unacknowledged mode)" : "");
            logged_down = 0;
            s->healthy = 0;
            s->connected_ns = li_mono_ns();
            pthread_mutex_lock(&s->mu);
            s->stats.connected = 1;
            if (s->ever_connected)
                s->stats.reconnects++;
            pthread_mutex_unlock(&s->mu);
            s->ever_connected = 1;
            s->last_ka_ns = li_mono_ns();
            s->last_ka_pos = s->copied;
        }
        int want_out = 0;
        li_err e = do_write(s, &want_out);
        if (e == LI_OK)
            e = do_read(s);
        if (e == LI_OK && want_out == 0)
            e = do_write(s, &want_out);   /* answers written by do_read */
        uint64_t now = li_mono_ns();
        /* An unanswered keepalive means the link or the ingest is dead, unless the ingest
         * still takes the PDUs written after it: it answers only once Kafka holds
         * everything before the keepalive, which may take longer while a backlog drains,
         * and reconnecting would only send the backlog again. */
        if (e == LI_OK && s->n_markers && now - s->markers[0].sent_ns > 3 * s->keepalive_ns &&
            now - s->last_data_ns > 3 * s->keepalive_ns)
            e = LI_ERR_TIMEOUT;
        if (e != LI_OK) {
            disconnect(s, e == LI_ERR_TIMEOUT ? "keepalive unanswered" : li_err_str(e));
            /* A peer that closes every connection at once (or never answers) is not
             * hammered: the backoff restarts only after a connection that worked. */
            if (s->healthy || (s->no_ack && now - s->connected_ns >= s->reconnect_max_ns))
                s->backoff_ns = BACKOFF_MIN_NS;
            back_off(s);
            continue;
        }
        /* Sleep until the socket, new data (wake-up) or the next keepalive. Right after
         * writing, linger first: records queued meanwhile need no wake-up. */
        uint64_t due = s->last_ka_ns + s->keepalive_ns;
        if (s->copied > s->last_ka_pos && s->last_ka_ns + s->ack_interval_ns < due)
            due = s->last_ka_ns + s->ack_interval_ns;
        if (s->n_markers == MAX_MARKERS)   /* the next keepalive waits for an answer */
            due = now + s->keepalive_ns;
        /* At least 1 ms: a keepalive that is due but cannot go yet never makes a spin. */
        int timeout = due > now + 1000000u ? (int)((due - now) / 1000000u) + 1 : 1;
        int linger_ms = (int)(LINGER_NS / 1000000u);
        pthread_mutex_lock(&s->mu);
        int idle = s->copied == s->head && !s->stop;
        int linger = idle && now - s->last_data_ns < LINGER_NS;
        s->sleeping = idle && !linger;
        pthread_mutex_unlock(&s->mu);
        if (want_out) {
            /* The socket is full: the ingest reads slower than this thread writes. Let
             * it drain for LINGER_NS and write then in large pieces: POLLOUT would report
             * every little room, and each would cost a wake-up and a write of a piece of
             * one TLS record. An answer (POLLIN) ends the wait early. */
            wait_fd(s, s->io.fd, POLLIN, linger_ms);
        } else if (idle) {
            wait_fd(s, s->io.fd, POLLIN, linger && timeout > linger_ms ? linger_ms : timeout);
        }
        pthread_mutex_lock(&s->mu);
        s->sleeping = 0;
        pthread_mutex_unlock(&s->mu);
    }
    li_conn_shutdown(&s->io);
    disconnect(s, NULL);
    return NULL;
}

/* --- life cycle --- */

/* The ingest's address (names allowed: resolved at every connect) into host and port. */
static li_err parse_host_port(const char *text, char *host, size_t host_size, char *port,
                              size_t port_size)
{
    li_hostport hp;
    if (li_hostport_parse(text, LI_HOSTPORT_NAME, &hp) != LI_OK || strlen(hp.host) >= host_size)
        return LI_ERR_INVAL;
    snprintf(host, host_size, "%s", hp.host);
    snprintf(port, port_size, "%u", hp.port);
    return LI_OK;
}

/* Reads every setting but the address into s, and its TLS context for host (NULL: a
 * check without an address). */
static li_err read_settings(x2x3_sender *s, const li_config *cfg, const char *prefix,
                            const char *host, char *errstr, size_t errstr_size)
{
    char key[256];
    snprintf(key, sizeof key, "%s.poi_id", prefix);
    snprintf(s->poi_id, sizeof s->poi_id, "%s", li_config_get(cfg, key, ""));
    /* Network Function ID (attribute 6, mandatory on LI_X2/LI_X3 in TS 33.128): the POI's
     * own name by default. */
    snprintf(key, sizeof key, "%s.nf_id", prefix);
    snprintf(s->nf_id, sizeof s->nf_id, "%s", li_config_get(cfg, key, s->poi_id));
    int64_t buffer_bytes, keepalive_s, reconnect_max_s, ack_ms, max_pdu, thread_nice;
    snprintf(key, sizeof key, "%s.buffer_bytes", prefix);
    if (li_config_get_int(cfg, key, 64 << 20, 65536, INT64_C(1) << 40, &buffer_bytes, errstr,
                          errstr_size) != LI_OK)
        return LI_ERR_INVAL;
    snprintf(key, sizeof key, "%s.keepalive_s", prefix);
    if (li_config_get_int(cfg, key, 5, 1, 3600, &keepalive_s, errstr, errstr_size) != LI_OK)
        return LI_ERR_INVAL;
    snprintf(key, sizeof key, "%s.reconnect_max_s", prefix);
    if (li_config_get_int(cfg, key, 5, 1, 3600, &reconnect_max_s, errstr, errstr_size) !=
        LI_OK)
        return LI_ERR_INVAL;
    snprintf(key, sizeof key, "%s.max_pdu", prefix);
    if (li_config_get_int(cfg, key, 4 << 20, 1024, 1 << 30, &max_pdu, errstr, errstr_size) !=
        LI_OK)
        return LI_ERR_INVAL;
    snprintf(key, sizeof key, "%s.ack_interval_ms", prefix);
    if (li_config_get_int(cfg, key, 20, 1, 60000, &ack_ms, errstr, errstr_size) != LI_OK)
        return LI_ERR_INVAL;
    snprintf(key, sizeof key, "%s.thread_nice", prefix);
    if (li_config_get_int(cfg, key, 5, 0, 19, &thread_nice, errstr, errstr_size) != LI_OK)
        return LI_ERR_INVAL;
    s->thread_nice = (int)thread_nice;
    /* Destinations whose MDF never answers keepalives (docs/X2X3.md, unacknowledged
     * mode): listed by address, as X1 names them or x2x3.address. */
    snprintf(key, sizeof key, "%s.unacknowledged", prefix);
    const char *list = li_config_get(cfg, key, "");
    size_t al = strlen(s->address);
    for (const char *p = list; al && *p;) {
        p += strspn(p, ", ");
        size_t n = strcspn(p, ", ");
        if (n == al && memcmp(p, s->address, al) == 0)
            s->no_ack = 1;
        p += n;
    }
    s->cap = (uint64_t)buffer_bytes;
    s->max_pdu = (size_t)(max_pdu < buffer_bytes ? max_pdu : buffer_bytes);
    s->keepalive_ns = (uint64_t)keepalive_s * 1000000000u;
    s->reconnect_max_ns = (uint64_t)reconnect_max_s * 1000000000u;
    s->ack_interval_ns = (uint64_t)ack_ms * 1000000u;

    li_tls_opts opts;
    memset(&opts, 0, sizeof opts);
    snprintf(key, sizeof key, "%s.tls", prefix);
    li_tls_opts_from_config(cfg, key, &opts);
    opts.server = 0;
    /* Verified by a CA, the ingest's certificate must name the host it is reached at
     * (RFC 6125), unless tls.peer_name says another name; pins alone name no host. */
    if (!opts.peer_name && opts.ca_file && !opts.pins)
        opts.peer_name = host;
    s->ctx = li_tls_ctx_new(&opts, errstr, errstr_size);
    return s->ctx ? LI_OK : LI_ERR_INVAL;
}

li_err x2x3_sender_check(const li_config *cfg, const char *prefix, char *errstr,
                         size_t errstr_size)
{
    x2x3_sender *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(errstr, errstr_size, "out of memory");
        return LI_ERR_NOMEM;
    }
    li_err e = read_settings(s, cfg, prefix, NULL, errstr, errstr_size);
    SSL_CTX_free(s->ctx);
    free(s);
    return e;
}

x2x3_sender *x2x3_sender_new(const li_config *cfg, const char *prefix, char *errstr,
                             size_t errstr_size)
{
    return x2x3_sender_new_to(cfg, prefix, NULL, errstr, errstr_size);
}

x2x3_sender *x2x3_sender_new_to(const li_config *cfg, const char *prefix,
                                const char *address, char *errstr, size_t errstr_size)
{
    char key[256];
    x2x3_sender *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    li_conn_init(&s->io);
    s->wake_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->acked_cond, NULL);
    li_buf_init(&s->attrs, 0);
    li_buf_init(&s->scratch, 0);
    x2x3_seq_init(&s->seqs, SEQ_IDLE_NS);
    li_buf_init(&s->wbuf, 0);
    li_buf_init(&s->rbuf, 0);

    snprintf(key, sizeof key, "%s.address", prefix);
    const char *addr = address ? address : li_config_get(cfg, key, NULL);
    if (addr)
        snprintf(s->address, sizeof s->address, "%s", addr);
    if (!addr || parse_host_port(addr, s->host, sizeof s->host, s->port, sizeof s->port)) {
        if (address)
            snprintf(errstr, errstr_size, "%s is not host:port", address);
        else
            snprintf(errstr, errstr_size, "%s must be host:port of limf-ingest", key);
        goto fail;
    }
    if (read_settings(s, cfg, prefix, s->host, errstr, errstr_size) != LI_OK)
        goto fail;
    /* Pages are touched only as the buffer fills, and in huge pages where the kernel has
     * them (transparent huge pages in madvise mode): the POI's thread that first fills
     * the buffer takes one page fault per 2 MiB instead of one per 4 KiB. */
    void *ring = mmap(NULL, (size_t)s->cap, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ring == MAP_FAILED) {
        snprintf(errstr, errstr_size, "cannot allocate %llu buffer bytes: %s",
                 (unsigned long long)s->cap, strerror(errno));
        goto fail;
    }
    s->ring = ring;
    madvise(ring, (size_t)s->cap, MADV_HUGEPAGE);
    s->rng = (li_now_ns() ^ (uint64_t)(uintptr_t)s) | 1;
    if (s->no_ack) {
        li_log_warn("x2x3 sender: %s in unacknowledged mode: PDUs are released once written, "
                    "not once the peer holds them; a broken connection loses what it carried",
                    s->address);
        s->stats.unacknowledged_mode = 1;
    }
    if ((s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        snprintf(errstr, errstr_size, "eventfd: %s", strerror(errno));
        goto fail;
    }
    if (pthread_create(&s->thread, NULL, io_thread, s) != 0) {
        snprintf(errstr, errstr_size, "cannot start the sender thread");
        goto fail;
    }
    s->thread_started = 1;
    return s;
fail:
    x2x3_sender_free(s);
    return NULL;
}

void x2x3_sender_free(x2x3_sender *s)
{
    if (!s)
        return;
    if (s->thread_started) {
        if (x2x3_sender_flush(s, 2000) != LI_OK)
            li_log_warn("x2x3 sender: closing with %llu bytes unacknowledged",
                        (unsigned long long)(s->head - s->tail));
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_mutex_unlock(&s->mu);
        wake(s);
        pthread_join(s->thread, NULL);
    }
    for (size_t i = 0; i < s->n_gaps; i++)
        gap_free(&s->gaps[i]);
    free(s->gaps);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    SSL_CTX_free(s->ctx);
    if (s->ring)
        munmap(s->ring, (size_t)s->cap);
    li_buf_free(&s->attrs);
    li_buf_free(&s->scratch);
    x2x3_seq_free(&s->seqs);
    li_buf_free(&s->wbuf);
    li_buf_free(&s->rbuf);
    pthread_cond_destroy(&s->acked_cond);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
