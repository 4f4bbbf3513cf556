#include "x2x3_ingest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "li_conn.h"
#include "li_kafka.h"
#include "li_log.h"
#include "li_metrics.h"
#include "li_net.h"
#include "li_time.h"
#include "li_tls.h"
#include "x2x3_event.h"
#include "x2x3_pdu.h"
#include "x2x3_xpdu.h"
#include "ingest_pois.h"

#define READ_CHUNK 16384
#define WINDOW 65536              /* PDUs per connection in flight to Kafka */
#define MAX_ERROR_KINDS 48
#define MAX_REPORTED 16           /* unknown values reported per connection */
#define TIME_P2_S 180             /* TS 103 221-2 clause 6.2.4: a POI's keepalive answer wait */

/* Fields whose unknown values are counted and reported (X2X3_FLAG_UNKNOWN_*). */
enum { UNK_PDU_TYPE, UNK_FORMAT, UNK_DIRECTION, UNK_ATTR, N_UNK };
static const char *const unknown_names[N_UNK] = { "pdu_type", "payload_format",
                                                  "payload_direction", "attribute" };

enum { CONN_HANDSHAKE, CONN_OPEN, CONN_CLOSED };
enum { PAUSE_NONE, PAUSE_KAFKA, PAUSE_WINDOW };

typedef struct ka_wait {          /* a keepalive waiting for Kafka */
    uint32_t seq;
    int has_seq;
    uint64_t after;               /* answer once every PDU below this index is delivered */
} ka_wait;

typedef struct conn {
    struct conn *prev, *next;
    li_conn io;                   /* TLS, server side */
    int state;
    int paused;
    int failed;                   /* a Kafka delivery failed: close, the POI resends */
    uint32_t events;              /* registered epoll events */
    unsigned refs;                /* messages in flight to Kafka */
    char poi_id[256];
    uint8_t fp[32];
    char addr[64];
    struct sockaddr_storage ss;   /* the peer's address */
    li_buf rbuf, wbuf;
    size_t need;                  /* bytes the decoder asked for */
    uint64_t last_rx_ns;
    uint64_t partial_since_ns;    /* a PDU has been incomplete since; 0: none */
    uint64_t next_idx, done_low;  /* PDU indexes: produced, all delivered below */
    uint64_t *done_bits;          /* WINDOW bits, allocated at the first PDU */
    ka_wait *kas;
    size_t n_kas, kas_cap;
    uint32_t reported[MAX_REPORTED];  /* (field << 16 | value) already reported */
    size_t n_reported;
} conn;

typedef struct msg_ref {          /* Kafka message opaque: which PDU of which connection */
    conn *c;
    uint64_t idx;
    struct msg_ref *next_free;
} msg_ref;

typedef struct error_count {
    const char *kind;
    const char *reason;           /* static text, or NULL */
    uint64_t n;
} error_count;

struct x2x3_ingest {
    const li_config *cfg;
    SSL_CTX *ctx;
    rd_kafka_t *rk;
    char topic[256];
    char events_topic[256];       /* limf.poi.events: the POI events alone */
    char ingest_id[128];
    char allow[1024];             /* ",cn1,cn2," or empty: any authenticated POI */
    ingest_pois *pois;            /* the POIs the ADMF registered; NULL: registry off */
    size_t max_pdu;
    uint64_t idle_ns;
    int tcp_keepalive_s;          /* TCP keepalive idle time on POI connections; 0: off */
    uint64_t handshake_ns;
    size_t max_handshakes_per_address;
    uint64_t pdu_ns;
    int flush_ms;
    int listen_fd;
    uint16_t port;
    int epfd;
    int kafka_pipe[2];            /* librdkafka writes here when reports are ready */
    li_metrics *metrics;          /* NULL: ingest.metrics.listen is empty */
    conn *conns;
    msg_ref *free_refs;
    int kafka_blocked;
    li_buf strs;
    char **target_ptrs;
    size_t target_ptrs_cap;

    /* counters: written by the loop thread, read by the metrics thread (relaxed) */
    uint64_t pdus_x2, pdus_x3, bytes_in, keepalives, keepalives_answered;
    uint64_t conns_accepted, conns_open, delivered, backpressure;
    uint64_t variants[6];
    uint64_t unknowns[N_UNK];
    pthread_mutex_t errors_mu;
    error_count errors[MAX_ERROR_KINDS];
    size_t n_errors;
};

#define COUNT(field, n) __atomic_add_fetch(&(field), (n), __ATOMIC_RELAXED)
#define READ(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

static void count_error(x2x3_ingest *ing, const char *kind, const char *reason)
{
    pthread_mutex_lock(&ing->errors_mu);
    size_t i = 0;
    while (i < ing->n_errors && !(ing->errors[i].kind == kind && ing->errors[i].reason == reason))
        i++;
    if (i == ing->n_errors && i < MAX_ERROR_KINDS) {
        ing->errors[i].kind = kind;
        ing->errors[i].reason = reason;
        ing->n_errors++;
    }
    if (i < ing->n_errors)
        ing->errors[i].n++;
    pthread_mutex_unlock(&ing->errors_mu);
}

/* --- connections --- */

static void conn_set_events(x2x3_ingest *ing, conn *c, uint32_t events)
{
    if (c->state == CONN_CLOSED || events == c->events)
        return;
    struct epoll_event ev = { .events = events, .data.ptr = c };
    epoll_ctl(ing->epfd, EPOLL_CTL_MOD, c->io.fd, &ev);
    c->events = events;
}

static void conn_release(x2x3_ingest *ing, conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        ing->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    li_buf_free(&c->rbuf);
    li_buf_free(&c->wbuf);
    free(c->done_bits);
    free(c->kas);
    free(c);
}

/* Closes the socket. The structure lives on until reap() frees it once Kafka has
 * reported on all of its PDUs, so callers up the stack may still look at it. */
static void conn_close(x2x3_ingest *ing, conn *c, const char *kind, const char *reason)
{
    if (c->state != CONN_CLOSED) {
        if (kind) {
            count_error(ing, kind, reason);
            li_log_warn("ingest: closing connection of %s from %s: %s%s%s",
                        c->poi_id[0] ? c->poi_id : "(unauthenticated)", c->addr, kind,
                        reason ? ": " : "", reason ? reason : "");
        } else {
            li_log_info("ingest: %s from %s disconnected", c->poi_id, c->addr);
        }
        epoll_ctl(ing->epfd, EPOLL_CTL_DEL, c->io.fd, NULL);
        li_conn_close(&c->io);
        c->state = CONN_CLOSED;
        COUNT(ing->conns_open, (uint64_t)-1);
        li_buf_free(&c->rbuf);
        li_buf_free(&c->wbuf);
    }
}

static void reap(x2x3_ingest *ing)
{
    for (conn *c = ing->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == CONN_CLOSED && c->refs == 0)
            conn_release(ing, c);
    }
}

static void conn_flush(x2x3_ingest *ing, conn *c)
{
    while (c->wbuf.len > 0) {
        size_t n;
        li_err e = li_conn_send(&c->io, c->wbuf.data, c->wbuf.len, &n);
        if (e == LI_AGAIN)
            break;
        if (e != LI_OK) {
            conn_close(ing, c, "io", "write failed");
            return;
        }
        li_buf_consume(&c->wbuf, n);
    }
    uint32_t ev = (c->paused ? 0 : EPOLLIN) | (c->wbuf.len ? EPOLLOUT : 0);
    conn_set_events(ing, c, ev);
}

/* Answers the keepalives whose earlier PDUs are all in Kafka (docs/PRINCIPLES.md 4). */
static void answer_keepalives(x2x3_ingest *ing, conn *c)
{
    size_t i = 0;
    while (i < c->n_kas && c->kas[i].after <= c->done_low) {
        x2x3_pdu ka;
        memset(&ka, 0, sizeof ka);
        ka.seq = c->kas[i].seq;
        ka.present = c->kas[i].has_seq ? 1u << X2X3_ATTR_SEQ : 0;
        if (x2x3_keepalive_ack_encode(&c->wbuf, &ka) != LI_OK) {
            conn_close(ing, c, "io", "out of memory");
            return;
        }
        COUNT(ing->keepalives_answered, 1);
        i++;
    }
    if (i == 0)
        return;
    memmove(c->kas, c->kas + i, (c->n_kas - i) * sizeof *c->kas);
    c->n_kas -= i;
    conn_flush(ing, c);
}

static li_err queue_keepalive(conn *c, const x2x3_pdu *p)
{
    if (c->n_kas == c->kas_cap) {
        size_t cap = c->kas_cap ? c->kas_cap * 2 : 4;
        if (cap > 4096)
            return LI_ERR_FULL;   /* a POI that never waits for answers */
        ka_wait *k = realloc(c->kas, cap * sizeof *k);
        if (!k)
            return LI_ERR_NOMEM;
        c->kas = k;
        c->kas_cap = cap;
    }
    ka_wait *k = &c->kas[c->n_kas++];
    k->seq = p->seq;
    k->has_seq = x2x3_pdu_has(p, X2X3_ATTR_SEQ);
    k->after = c->next_idx;
    return LI_OK;
}

/* Builds the limf.XPdu record (common/proto/xpdu.proto) into a new heap buffer that
 * becomes librdkafka's (RD_KAFKA_MSG_F_FREE), saving a copy of the payload. */
static li_err pack_xpdu(x2x3_ingest *ing, const conn *c, const x2x3_pdu *p, uint8_t **value,
                        size_t *value_len)
{
    Limf__XPdu x = LIMF__XPDU__INIT;
    uint8_t corr[8];
    li_put_be64(corr, p->correlation_id);
    x.poi_id = (char *)c->poi_id;
    x.poi_cert_sha256.data = (uint8_t *)c->fp;
    x.poi_cert_sha256.len = 32;
    x.received_ns = li_now_ns();
    x.version = p->version;
    x.pdu_type = p->pdu_type;
    x.payload_format = p->payload_format;
    x.payload_direction = p->payload_direction;
    x.xid.data = (uint8_t *)p->xid;
    x.xid.len = 16;
    x.correlation_id.data = corr;
    x.correlation_id.len = 8;
    x.has_seq = x2x3_pdu_has(p, X2X3_ATTR_SEQ);
    x.seq = p->seq;
    x.timestamp_ns = x2x3_pdu_timestamp_ns(p);
    x.src_addr.data = (uint8_t *)p->src_addr;
    x.src_addr.len = p->src_addr_len;
    x.dst_addr.data = (uint8_t *)p->dst_addr;
    x.dst_addr.len = p->dst_addr_len;
    x.src_port = p->src_port;
    x.dst_port = p->dst_port;
    x.ip_protocol = p->ip_protocol;
    x.attributes.data = (uint8_t *)p->attrs;
    x.attributes.len = p->attrs_len;
    x.payload.data = (uint8_t *)p->payload;
    x.payload.len = p->payload_len;
    x.ingest_id = ing->ingest_id;
    x.poi_address = (char *)c->addr;

    /* Strings of the record need a NUL: copied into ing->strs (SDP first, then the
     * matched targets), pointers taken once the buffer no longer moves. */
    li_buf_reset(&ing->strs);
    if (p->n_matched_targets > ing->target_ptrs_cap) {
        char **t = realloc(ing->target_ptrs, p->n_matched_targets * sizeof *t);
        if (!t)
            return LI_ERR_NOMEM;
        ing->target_ptrs = t;
        ing->target_ptrs_cap = p->n_matched_targets;
    }
    li_err e = li_buf_append(&ing->strs, p->sdp.p, p->sdp.len);
    if (e == LI_OK)
        e = li_buf_append_u8(&ing->strs, 0);
    for (size_t i = 0; i < p->n_matched_targets && e == LI_OK; i++) {
        li_slice t;
        x2x3_pdu_matched_target(p, i, &t);
        e = li_buf_append(&ing->strs, t.p, t.len);
        if (e == LI_OK)
            e = li_buf_append_u8(&ing->strs, 0);
    }
    if (e != LI_OK)
        return e;
    char *s = (char *)ing->strs.data;
    x.sdp = s;
    s += strlen(s) + 1;
    for (size_t i = 0; i < p->n_matched_targets; i++) {
        ing->target_ptrs[i] = s;
        s += strlen(s) + 1;
    }
    x.matched_targets = ing->target_ptrs;
    x.n_matched_targets = p->n_matched_targets;

    size_t n = x2x3_xpdu_size(&x);
    if (!(*value = malloc(n ? n : 1)))
        return LI_ERR_NOMEM;
    *value_len = x2x3_xpdu_pack(&x, *value);
    return LI_OK;
}

/* Produces one record of c's PDU stream (flags: RD_KAFKA_MSG_F_FREE or _COPY).
 * LI_ERR_FULL when the producer queue is full (nothing done). */
static li_err produce(x2x3_ingest *ing, conn *c, const char *topic, const uint8_t *xid,
                      uint8_t *value, size_t value_len, int flags)
{
    msg_ref *r = ing->free_refs;
    if (r) {
        ing->free_refs = r->next_free;
    } else if (!(r = malloc(sizeof *r))) {
        return LI_ERR_NOMEM;
    }
    r->c = c;
    r->idx = c->next_idx;
    rd_kafka_resp_err_t ke = rd_kafka_producev(
        ing->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(xid, 16),
        RD_KAFKA_V_VALUE(value, value_len), RD_KAFKA_V_MSGFLAGS(flags),
        RD_KAFKA_V_OPAQUE(r), RD_KAFKA_V_END);
    if (ke != RD_KAFKA_RESP_ERR_NO_ERROR) {
        r->next_free = ing->free_refs;
        ing->free_refs = r;
        if (ke == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return LI_ERR_FULL;
        li_log_error("ingest: produce: %s", rd_kafka_err2str(ke));
        return LI_ERR_KAFKA;
    }
    c->refs++;
    c->next_idx++;
    return LI_OK;
}

/* Publishes one X2/X3 PDU to limf.xpdu; a POI event (X2, format 4) also, first, to
 * limf.poi.events, so that the ADMF audits uses of certificate exceptions without
 * reading intercepted content. Either record is acknowledged to the POI only with the
 * other; a retry after LI_ERR_FULL may repeat the event record (audited at least once).
 * LI_ERR_FULL when the producer queue is full. */
static li_err publish(x2x3_ingest *ing, conn *c, const x2x3_pdu *p)
{
    uint8_t *value = NULL;
    size_t value_len = 0;
    li_err e = pack_xpdu(ing, c, p, &value, &value_len);
    if (e == LI_OK && p->pdu_type == X2X3_PDU_X2 && p->payload_format == X2X3_FORMAT_PROPRIETARY)
        e = produce(ing, c, ing->events_topic, p->xid, value, value_len, RD_KAFKA_MSG_F_COPY);
    if (e == LI_OK)
        e = produce(ing, c, ing->topic, p->xid, value, value_len, RD_KAFKA_MSG_F_FREE);
    if (e != LI_OK)
        free(value);   /* not taken on failure */
    return e;
}

static void pause_conn(x2x3_ingest *ing, conn *c, int why)
{
    if (!c->paused)
        COUNT(ing->backpressure, 1);
    c->paused = why;
    if (why == PAUSE_KAFKA)
        ing->kafka_blocked = 1;
    conn_set_events(ing, c, c->wbuf.len ? EPOLLOUT : 0);
}

static void count_variants(x2x3_ingest *ing, uint32_t flags)
{
    for (int i = 0; i < 6; i++)
        if (flags >> i & 1u)
            COUNT(ing->variants[i], 1);
}

/* The first unknown value of a PDU (X2X3_FLAG_UNKNOWN_*): which field and its value. */
static int first_unknown(const x2x3_pdu *p, uint16_t *value)
{
    if (p->flags & X2X3_FLAG_UNKNOWN_PDU_TYPE) {
        *value = p->pdu_type;
        return UNK_PDU_TYPE;
    }
    if (p->flags & X2X3_FLAG_UNKNOWN_FORMAT) {
        *value = p->payload_format;
        return UNK_FORMAT;
    }
    if (p->flags & X2X3_FLAG_UNKNOWN_DIRECTION) {
        *value = p->payload_direction;
        return UNK_DIRECTION;
    }
    size_t pos = 0;
    x2x3_attr a;
    while (x2x3_pdu_attr_next(p, &pos, &a) == LI_OK)
        if (a.type == 0 || a.type > X2X3_ATTR_LAST)
            break;
    *value = a.type;
    return UNK_ATTR;
}

/* A PDU with a value this ingest does not know (a later edition of TS 103 221-2, a
 * vendor's extension): the connection is kept (closing it would make the POI send the
 * same PDU again and again), the PDU is published as received by the caller, every one
 * is counted, and each (field, value) is reported once per connection to the mediator as
 * a POI event {"limf_event":"unknown-value",...} of the PDU's XID and correlation ID,
 * published before the PDU (X2, format 4: limf.xpdu and limf.poi.events). LI_ERR_FULL:
 * the producer queue is full, nothing recorded; the caller retries the whole PDU. */
static li_err report_unknown(x2x3_ingest *ing, conn *c, const x2x3_pdu *p)
{
    uint16_t value;
    int field = first_unknown(p, &value);
    uint32_t tag = (uint32_t)field << 16 | value;
    for (size_t i = 0; i < c->n_reported; i++)
        if (c->reported[i] == tag)
            return LI_OK;
    char num[8], type[8], json[256];
    size_t len;
    snprintf(num, sizeof num, "%u", value);
    snprintf(type, sizeof type, "%u", p->pdu_type);
    const char *kv[] = { "field", unknown_names[field], "value", num, "pdu_type", type, NULL };
    if (x2x3_event_format(json, sizeof json, &len, X2X3_EVENT_UNKNOWN_VALUE, kv) != LI_OK)
        return LI_ERR_INVAL;
    x2x3_pdu ev;
    memset(&ev, 0, sizeof ev);
    ev.version = X2X3_VERSION;
    ev.pdu_type = X2X3_PDU_X2;
    ev.payload_format = X2X3_FORMAT_PROPRIETARY;
    ev.payload_direction = X2X3_DIR_NA;
    memcpy(ev.xid, p->xid, 16);
    ev.correlation_id = p->correlation_id;
    ev.payload = (const uint8_t *)json;
    ev.payload_len = len;
    li_err e = publish(ing, c, &ev);
    if (e != LI_OK)
        return e;
    li_log_warn("ingest: %s sent %s %u, which this ingest does not know: passed on, reported",
                c->poi_id, unknown_names[field], value);
    if (c->n_reported < MAX_REPORTED)
        c->reported[c->n_reported++] = tag;
    return LI_OK;
}

static void count_unknowns(x2x3_ingest *ing, uint32_t flags)
{
    for (int f = 0; f < N_UNK; f++)
        if (flags & (X2X3_FLAG_UNKNOWN_PDU_TYPE << f))
            COUNT(ing->unknowns[f], 1);
}

/* Handles every complete PDU in c->rbuf. Returns 0 when the connection was closed. */
static int process(x2x3_ingest *ing, conn *c)
{
    size_t off = 0;
    int open = 1;
    while (!c->paused) {
        x2x3_pdu p;
        size_t used;
        x2x3_decode_error err;
        li_err e = x2x3_pdu_decode(c->rbuf.data + off, c->rbuf.len - off, ing->max_pdu, &p,
                                   &used, &err);
        if (e == LI_AGAIN) {
            c->need = used;
            break;
        }
        if (e != LI_OK) {
            /* The reason and offset only: never the payload (docs/PRINCIPLES.md 7). */
            li_log_warn("ingest: malformed PDU from %s at stream offset +%zu: %s (PDU offset %zu)",
                        c->poi_id, off, err.reason, err.offset);
            conn_close(ing, c, e == LI_ERR_TOO_BIG ? "too_big" : "malformed", err.reason);
            return 0;
        }
        count_variants(ing, p.flags);
        if ((p.flags & X2X3_FLAG_UNKNOWN_ANY) && (e = report_unknown(ing, c, &p)) != LI_OK) {
            if (e == LI_ERR_FULL) {
                pause_conn(ing, c, PAUSE_KAFKA);
                break;
            }
            conn_close(ing, c, "kafka_produce", li_err_str(e));
            return 0;
        }
        if (p.pdu_type == X2X3_PDU_KEEPALIVE) {
            COUNT(ing->keepalives, 1);
            if (queue_keepalive(c, &p) != LI_OK) {
                conn_close(ing, c, "keepalive_flood", NULL);
                return 0;
            }
        } else if (p.pdu_type != X2X3_PDU_KEEPALIVE_ACK) {
            /* X2, X3, and a type this ingest does not know: published as received, so
             * nothing a POI sends is lost and the mediator reports what it cannot
             * mediate (docs/X2X3.md). */
            if (c->next_idx - c->done_low >= WINDOW) {
                pause_conn(ing, c, PAUSE_WINDOW);
                break;
            }
            e = publish(ing, c, &p);
            if (e == LI_ERR_FULL) {
                pause_conn(ing, c, PAUSE_KAFKA);
                break;
            }
            if (e != LI_OK) {
                conn_close(ing, c, "kafka_produce", li_err_str(e));
                return 0;
            }
            if (p.pdu_type == X2X3_PDU_X2 || p.pdu_type == X2X3_PDU_X3)
                COUNT(*(p.pdu_type == X2X3_PDU_X2 ? &ing->pdus_x2 : &ing->pdus_x3), 1);
        }   /* keepalive answers from a POI: nothing to do */
        count_unknowns(ing, p.flags);
        off += used;
        c->need = 0;
    }
    li_buf_consume(&c->rbuf, off);
    if (c->rbuf.len == 0)
        c->partial_since_ns = 0;
    else if (off > 0 || c->partial_since_ns == 0)
        c->partial_since_ns = li_mono_ns();
    answer_keepalives(ing, c);
    open = c->state != CONN_CLOSED;
    return open;
}

static void on_readable(x2x3_ingest *ing, conn *c)
{
    for (;;) {
        if (!process(ing, c) || c->paused)
            return;
        size_t want = READ_CHUNK;
        if (c->need > c->rbuf.len && c->need - c->rbuf.len > want)
            want = c->need - c->rbuf.len;
        if (li_buf_reserve(&c->rbuf, want) != LI_OK) {
            conn_close(ing, c, "io", "out of memory");
            return;
        }
        size_t n;
        li_err e = li_conn_recv(&c->io, c->rbuf.data + c->rbuf.len, want, &n);
        if (e == LI_AGAIN)
            return;
        if (e != LI_OK) {
            if (c->rbuf.len > 0)   /* the POI left in the middle of a PDU */
                conn_close(ing, c, "truncated", "connection closed inside a PDU");
            else
                conn_close(ing, c, e == LI_ERR_CLOSED ? NULL : "io",
                           e == LI_ERR_CLOSED ? NULL : "read failed");
            return;
        }
        c->rbuf.len += n;
        c->last_rx_ns = li_mono_ns();
        COUNT(ing->bytes_in, (uint64_t)n);
    }
}

static void on_handshake(x2x3_ingest *ing, conn *c)
{
    li_err e = li_conn_handshake(&c->io);
    if (e != LI_OK) {
        if (e == LI_AGAIN) {
            conn_set_events(ing, c, c->io.want == POLLIN ? EPOLLIN : EPOLLOUT);
            return;
        }
        char ossl[256];
        li_tls_error_string(ossl, sizeof ossl);
        li_log_debug("ingest: handshake with %s failed: %s", c->addr, ossl);
        conn_close(ing, c, "tls_handshake", NULL);
        return;
    }
    if (li_tls_peer_name(c->io.ssl, c->poi_id, sizeof c->poi_id) != LI_OK ||
        li_tls_peer_fingerprint(c->io.ssl, c->fp) != LI_OK) {
        conn_close(ing, c, "not_allowed", "no client certificate");
        return;
    }
    if (ing->allow[0]) {
        char item[300];
        snprintf(item, sizeof item, ",%s,", c->poi_id);
        if (!strstr(ing->allow, item)) {
            conn_close(ing, c, "not_allowed", "POI not in ingest.allow");
            return;
        }
    }
    if (ing->pois && !ingest_pois_admits(ing->pois, c->poi_id, c->fp)) {
        conn_close(ing, c, "not_allowed", "POI not registered");
        return;
    }
    c->state = CONN_OPEN;
    li_log_info("ingest: POI %s connected from %s", c->poi_id, c->addr);
    conn_set_events(ing, c, EPOLLIN);
    on_readable(ing, c);
}

/* TCP keepalive: a POI that vanished (power, network) is found after idle_s + 4 probes
 * 15 s apart, however long ingest.idle_timeout_s is. 0: off. */
static void set_tcp_keepalive(int fd, int idle_s)
{
    if (idle_s <= 0)
        return;
    int one = 1, intvl = 15, cnt = 4;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof idle_s);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

/* One address may hold only ingest.max_handshakes_per_address connections in their TLS
 * handshake, so that a flood of idle or slow sockets from one host costs that many
 * descriptors at most (issue 15 item 6). At the limit the oldest of them makes way for
 * the new one rather than the new one being refused: a POI behind the same address as
 * the flood still gets its handshake (milliseconds) done. */
static void limit_handshakes(x2x3_ingest *ing, const struct sockaddr_storage *ss)
{
    size_t n = 0;
    conn *oldest = NULL;
    for (conn *c = ing->conns; c; c = c->next) {
        if (c->state != CONN_HANDSHAKE || !li_net_same_host(&c->ss, ss))
            continue;
        n++;
        if (!oldest || c->last_rx_ns < oldest->last_rx_ns)
            oldest = c;
    }
    if (n >= ing->max_handshakes_per_address)
        conn_close(ing, oldest, "too_many_handshakes", NULL);
}

static void on_accept(x2x3_ingest *ing)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(ing->listen_fd, (struct sockaddr *)&ss, &sl,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                count_error(ing, "accept", NULL);
            return;
        }
        limit_handshakes(ing, &ss);
        conn *c = calloc(1, sizeof *c);
        if (c)
            li_conn_init(&c->io);
        if (!c || li_conn_attach(&c->io, fd, ing->ctx, 1) != LI_OK) {
            if (!c)
                close(fd);
            free(c);
            count_error(ing, "accept", "out of memory");
            continue;
        }
        set_tcp_keepalive(fd, ing->tcp_keepalive_s);
        /* Thousands of mostly idle POIs: OpenSSL's record buffers only while busy. */
        SSL_set_mode(c->io.ssl, SSL_MODE_RELEASE_BUFFERS);
        li_buf_init(&c->rbuf, ing->max_pdu + READ_CHUNK);
        li_buf_init(&c->wbuf, 1 << 20);
        c->ss = ss;
        char host[INET6_ADDRSTRLEN] = "?";
        uint16_t port = 0;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
            port = ntohs(in->sin_port);
            snprintf(c->addr, sizeof c->addr, "%s:%u", host, port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
            port = ntohs(in6->sin6_port);
            snprintf(c->addr, sizeof c->addr, "[%s]:%u", host, port);
        }
        c->last_rx_ns = li_mono_ns();
        c->events = EPOLLIN;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(ing->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            li_conn_close(&c->io);
            free(c);
            continue;
        }
        c->next = ing->conns;
        if (ing->conns)
            ing->conns->prev = c;
        ing->conns = c;
        COUNT(ing->conns_accepted, 1);
        COUNT(ing->conns_open, 1);
    }
}

/* --- Kafka delivery reports (served by rd_kafka_poll in the loop thread) --- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    x2x3_ingest *ing = opaque;
    msg_ref *r = m->_private;
    conn *c = r->c;
    uint64_t idx = r->idx;
    r->next_free = ing->free_refs;
    ing->free_refs = r;
    c->refs--;
    if (m->err) {
        li_log_error("ingest: Kafka delivery failed: %s", rd_kafka_err2str(m->err));
        c->failed = 1;
    } else {
        COUNT(ing->delivered, 1);
        if (c->done_bits || (c->done_bits = calloc(WINDOW / 64, sizeof(uint64_t)))) {
            size_t bit = (size_t)(idx % WINDOW);
            c->done_bits[bit / 64] |= 1ull << (bit % 64);
            for (;;) {
                size_t b = (size_t)(c->done_low % WINDOW);
                if (!(c->done_bits[b / 64] >> (b % 64) & 1u))
                    break;
                c->done_bits[b / 64] &= ~(1ull << (b % 64));
                c->done_low++;
            }
        } else {
            c->failed = 1;
        }
    }
    if (c->state == CONN_CLOSED)
        return;
    if (c->failed) {
        /* Never acknowledge past a lost PDU: the POI resends after reconnecting. */
        conn_close(ing, c, "kafka_delivery", NULL);
        return;
    }
    answer_keepalives(ing, c);
    if (c->state != CONN_CLOSED && c->paused == PAUSE_WINDOW &&
        c->next_idx - c->done_low < WINDOW / 2) {
        c->paused = PAUSE_NONE;
        conn_set_events(ing, c, EPOLLIN | (c->wbuf.len ? EPOLLOUT : 0));
        on_readable(ing, c);
    }
}

static void resume_kafka_paused(x2x3_ingest *ing)
{
    ing->kafka_blocked = 0;
    for (conn *c = ing->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == CONN_OPEN && c->paused == PAUSE_KAFKA) {
            c->paused = PAUSE_NONE;
            conn_set_events(ing, c, EPOLLIN | (c->wbuf.len ? EPOLLOUT : 0));
            on_readable(ing, c);
            if (ing->kafka_blocked)
                return;   /* still full: the others wait their turn */
        }
    }
}

static void expire_idle(x2x3_ingest *ing, uint64_t now)
{
    for (conn *c = ing->conns, *next; c; c = next) {
        next = c->next;
        /* Thousands of mostly quiet POIs: a read buffer only while data flows. */
        if (c->state == CONN_OPEN && c->rbuf.len == 0 && c->rbuf.cap &&
            now - c->last_rx_ns > 1000000000u) {
            size_t max = c->rbuf.max;
            li_buf_free(&c->rbuf);
            li_buf_init(&c->rbuf, max);
        }
        if (c->state == CONN_HANDSHAKE && now - c->last_rx_ns > ing->handshake_ns)
            conn_close(ing, c, "handshake_timeout", NULL);
        else if (c->state == CONN_OPEN && ing->idle_ns && !c->paused &&
                 now - c->last_rx_ns > ing->idle_ns)
            conn_close(ing, c, "idle_timeout", NULL);
        /* A PDU trickling in byte by byte holds up to ingest.max_pdu of memory. */
        else if (c->state == CONN_OPEN && ing->pdu_ns && !c->paused && c->partial_since_ns &&
                 now - c->partial_since_ns > ing->pdu_ns)
            conn_close(ing, c, "pdu_timeout", NULL);
    }
}

li_err x2x3_ingest_run(x2x3_ingest *ing, int stop_fd)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &ing->listen_fd };
    epoll_ctl(ing->epfd, EPOLL_CTL_ADD, ing->listen_fd, &ev);
    ev.data.ptr = &ing->kafka_pipe[0];
    epoll_ctl(ing->epfd, EPOLL_CTL_ADD, ing->kafka_pipe[0], &ev);
    ev.data.ptr = &stop_fd;
    if (stop_fd >= 0)
        epoll_ctl(ing->epfd, EPOLL_CTL_ADD, stop_fd, &ev);
    li_log_info("ingest: serving X2/X3 on port %u, metrics on port %u, topic %s", ing->port,
                x2x3_ingest_metrics_port(ing), ing->topic);
    uint64_t last_scan = li_mono_ns();
    int stop = 0;
    while (!stop) {
        struct epoll_event evs[64];
        int n = epoll_wait(ing->epfd, evs, 64, ing->kafka_blocked ? 5 : 500);
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &ing->listen_fd) {
                on_accept(ing);
            } else if (p == &ing->kafka_pipe[0]) {
                char drain[256];
                while (read(ing->kafka_pipe[0], drain, sizeof drain) > 0) {
                }
            } else if (p == &stop_fd) {
                stop = 1;
            } else {
                conn *c = p;
                if (c->state == CONN_HANDSHAKE)
                    on_handshake(ing, c);
                else if (c->state == CONN_OPEN && c->paused &&
                         (evs[i].events & (EPOLLERR | EPOLLHUP)))
                    conn_close(ing, c, "io", "connection reset");   /* nothing acked */
                else if (c->state == CONN_OPEN) {
                    if (evs[i].events & EPOLLOUT)
                        conn_flush(ing, c);
                    if (c->state == CONN_OPEN && !c->paused &&
                        (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                        on_readable(ing, c);
                }
            }
        }
        rd_kafka_poll(ing->rk, 0);
        if (ing->kafka_blocked)
            resume_kafka_paused(ing);
        uint64_t now = li_mono_ns();
        if (now - last_scan > 1000000000u) {
            expire_idle(ing, now);
            last_scan = now;
        }
        reap(ing);
    }
    /* SIGTERM: no new connections or PDUs; what Kafka accepted is flushed and the
     * keepalives it makes answerable are answered, so POIs resend as little as possible. */
    li_log_info("ingest: stopping, flushing Kafka");
    epoll_ctl(ing->epfd, EPOLL_CTL_DEL, ing->listen_fd, NULL);
    close(ing->listen_fd);
    ing->listen_fd = -1;
    uint64_t deadline = li_mono_ns() + (uint64_t)ing->flush_ms * 1000000u;
    while (rd_kafka_outq_len(ing->rk) > 0 && li_mono_ns() < deadline)
        rd_kafka_poll(ing->rk, 50);
    for (conn *c = ing->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == CONN_OPEN)
            conn_flush(ing, c);
        if (c->state == CONN_OPEN)
            li_conn_shutdown(&c->io);
        conn_close(ing, c, NULL, NULL);
    }
    reap(ing);
    return rd_kafka_outq_len(ing->rk) == 0 ? LI_OK : LI_ERR_TIMEOUT;
}

/* --- metrics --- */

static const char *const variant_names[6] = { "version_swapped", "version_other",
                                              "timestamp_12", "target_text",
                                              "keepalive_no_seq", "duplicate_attribute" };

/* On the metrics thread: counters are read relaxed, error kinds under their mutex. */
static void render(void *ctx, li_buf *b)
{
    x2x3_ingest *ing = ctx;
    li_metrics_put_family(b, "limf_ingest_pdus_total", "counter",
                          "PDUs received (X2/X3: handed to Kafka)");
    li_metrics_put_labeled(b, "limf_ingest_pdus_total", "type=\"x2\"", READ(ing->pdus_x2));
    li_metrics_put_labeled(b, "limf_ingest_pdus_total", "type=\"x3\"", READ(ing->pdus_x3));
    li_metrics_put_labeled(b, "limf_ingest_pdus_total", "type=\"keepalive\"",
                           READ(ing->keepalives));
    li_metrics_put(b, "limf_ingest_bytes_total", "counter", "Octets received from POIs",
                   READ(ing->bytes_in));
    li_metrics_put(b, "limf_ingest_keepalives_answered_total", "counter",
                   "Keepalives answered", READ(ing->keepalives_answered));
    li_metrics_put(b, "limf_ingest_kafka_delivered_total", "counter",
                   "Records acknowledged by Kafka", READ(ing->delivered));
    li_metrics_put(b, "limf_ingest_connections_total", "counter", "Connections accepted",
                   READ(ing->conns_accepted));
    li_metrics_put(b, "limf_ingest_connections", "gauge", "Connections open",
                   READ(ing->conns_open));
    li_metrics_put(b, "limf_ingest_backpressure_pauses_total", "counter",
                   "Times a connection stopped being read", READ(ing->backpressure));
    li_metrics_put(b, "limf_ingest_producer_queue", "gauge",
                   "Records waiting in the Kafka producer",
                   (uint64_t)rd_kafka_outq_len(ing->rk));
    char labels[512];
    li_metrics_put_family(b, "limf_ingest_variants_total", "counter",
                          "Field variants accepted");
    for (int i = 0; i < 6; i++) {
        labels[0] = 0;
        li_metrics_label(labels, sizeof labels, "variant", variant_names[i]);
        li_metrics_put_labeled(b, "limf_ingest_variants_total", labels,
                               READ(ing->variants[i]));
    }
    li_metrics_put_family(b, "limf_ingest_unknown_total", "counter",
                          "PDUs with a value this ingest does not know, passed on");
    for (int i = 0; i < N_UNK; i++) {
        labels[0] = 0;
        li_metrics_label(labels, sizeof labels, "field", unknown_names[i]);
        li_metrics_put_labeled(b, "limf_ingest_unknown_total", labels, READ(ing->unknowns[i]));
    }
    li_metrics_put_family(b, "limf_ingest_errors_total", "counter",
                          "Connections closed, by cause");
    pthread_mutex_lock(&ing->errors_mu);
    for (size_t i = 0; i < ing->n_errors; i++) {
        labels[0] = 0;
        li_metrics_label(labels, sizeof labels, "kind", ing->errors[i].kind);
        if (ing->errors[i].reason)
            li_metrics_label(labels, sizeof labels, "reason", ing->errors[i].reason);
        li_metrics_put_labeled(b, "limf_ingest_errors_total", labels, ing->errors[i].n);
    }
    pthread_mutex_unlock(&ing->errors_mu);
}

/* --- life cycle --- */

static li_err open_listener(x2x3_ingest *ing, const char *where, char *errstr,
                            size_t errstr_size)
{
    return li_net_listen(where, LI_HOSTPORT_NAME | LI_HOSTPORT_ANY, "x2x3 listen", 1024,
                         LI_NET_NONBLOCK, &ing->listen_fd, &ing->port, errstr, errstr_size);
}

/* ingest.poi_registry: "kafka" admits only the POIs the ADMF registered (limf.pois);
 * "off" admits any certificate the CA signed, for a lab without an ADMF, and says so. */
static li_err open_registry(x2x3_ingest *ing, const li_config *cfg, char *errstr,
                            size_t errstr_size)
{
    const char *mode = li_config_get(cfg, "ingest.poi_registry", "kafka");
    if (strcmp(mode, "off") == 0) {
        li_log_warn("ingest: ingest.poi_registry is off: any POI certificate the CA signed "
                    "may send X2/X3");
        return LI_OK;
    }
    if (strcmp(mode, "kafka") != 0) {
        snprintf(errstr, errstr_size, "ingest.poi_registry: \"%s\" is neither kafka nor off",
                 mode);
        return LI_ERR_INVAL;
    }
    if (!(ing->pois = ingest_pois_new(cfg, errstr, errstr_size)))
        return LI_ERR_IO;
    /* Serve once the registry is read (a POI that connects before is refused anyway). */
    for (int i = 0; i < 300 && !ingest_pois_ready(ing->pois); i++)
        usleep(100000);
    if (!ingest_pois_ready(ing->pois))
        li_log_warn("ingest: POI registry not loaded yet; every POI is refused until it is");
    return LI_OK;
}

x2x3_ingest *x2x3_ingest_new(const li_config *cfg, char *errstr, size_t errstr_size)
{
    x2x3_ingest *ing = calloc(1, sizeof *ing);
    if (!ing) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    ing->cfg = cfg;
    ing->listen_fd = -1;
    ing->kafka_pipe[0] = ing->kafka_pipe[1] = -1;
    pthread_mutex_init(&ing->errors_mu, NULL);
    li_buf_init(&ing->strs, 0);
    if ((ing->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        snprintf(errstr, errstr_size, "epoll: %s", strerror(errno));
        goto fail;
    }
    int64_t max_pdu, idle_s, flush_ms, partitions, handshake_s, pdu_s, tcp_ka_s, hs_per_addr;
    /* A conformant POI sends a keepalive every TIME_P1 (60 s by default) and may wait
     * TIME_P2 (180 s) for its answer (TS 103 221-2 clause 6.2.4); some POIs send none.
     * So quiet connections are kept well past TIME_P2, and dead peers are found by TCP
     * keepalive instead. */
    if (li_config_get_int(cfg, "ingest.max_pdu", 4 << 20, 1024, 1 << 30, &max_pdu, errstr,
                          errstr_size) != LI_OK ||
        li_config_get_int(cfg, "ingest.idle_timeout_s", 3 * TIME_P2_S + 60, 0, 86400, &idle_s,
                          errstr, errstr_size) != LI_OK ||
        li_config_get_int(cfg, "ingest.tcp_keepalive_s", 60, 0, 7200, &tcp_ka_s, errstr,
                          errstr_size) != LI_OK ||
        li_config_get_int(cfg, "ingest.flush_timeout_ms", 10000, 0, 600000, &flush_ms, errstr,
                          errstr_size) != LI_OK ||
        li_config_get_int(cfg, "ingest.handshake_timeout_s", 5, 1, 3600, &handshake_s, errstr,
                          errstr_size) != LI_OK ||
        li_config_get_int(cfg, "ingest.max_handshakes_per_address", 16, 1, 65536, &hs_per_addr,
                          errstr, errstr_size) != LI_OK ||
        li_config_get_int(cfg, "ingest.pdu_timeout_s", 30, 0, 86400, &pdu_s, errstr,
                          errstr_size) != LI_OK ||
        li_config_get_int(cfg, "ingest.partitions", 8, 0, 10000, &partitions, errstr,
                          errstr_size) != LI_OK)
        goto fail;
    ing->max_pdu = (size_t)max_pdu;
    ing->idle_ns = (uint64_t)idle_s * 1000000000u;
    ing->tcp_keepalive_s = (int)tcp_ka_s;
    if (idle_s > 0 && idle_s <= TIME_P2_S)
        li_log_warn("ingest: ingest.idle_timeout_s %lld is not above TIME_P2 (%d s): a POI "
                    "that keeps its link alive only every TIME_P1 may be cut",
                    (long long)idle_s, TIME_P2_S);
    ing->handshake_ns = (uint64_t)handshake_s * 1000000000u;
    ing->max_handshakes_per_address = (size_t)hs_per_addr;
    ing->pdu_ns = (uint64_t)pdu_s * 1000000000u;
    ing->flush_ms = (int)flush_ms;
    char host[100] = "ingest";
    gethostname(host, sizeof host - 1);
    snprintf(ing->ingest_id, sizeof ing->ingest_id, "%s", li_config_get(cfg, "ingest.id", host));
    const char *allow = li_config_get(cfg, "ingest.allow", "");
    if (*allow)
        snprintf(ing->allow, sizeof ing->allow, ",%s,", allow);
    for (char *p = ing->allow; *p; p++)   /* "a, b" is "a,b" */
        if (*p == ' ')
            memmove(p, p + 1, strlen(p)), p--;

    li_tls_opts opts;
    memset(&opts, 0, sizeof opts);
    li_tls_opts_from_config(cfg, "ingest.tls", &opts);
    opts.server = 1;
    if (!(ing->ctx = li_tls_ctx_new(&opts, errstr, errstr_size)))
        goto fail;

    /* Nothing lost (docs/PRINCIPLES.md 4): idempotent, acks=all. A linger of 10 ms batches a
     * loaded partition's PDUs into few produce requests (the broker's cost is per
     * request as much as per byte) and adds little to the keepalive answers, unless
     * configured otherwise. */
    const char *props[] = { "enable.idempotence", "true", "acks", "all", NULL, NULL, NULL };
    if (!li_config_get(cfg, "kafka.linger.ms", NULL)) {
        props[4] = "linger.ms";
        props[5] = "10";
    }
    if (!(ing->rk = li_kafka_producer_new(cfg, props, on_delivery, ing, errstr, errstr_size)))
        goto fail;
    li_kafka_topic(cfg, "limf.xpdu", ing->topic, sizeof ing->topic);
    li_kafka_topic(cfg, "limf.poi.events", ing->events_topic, sizeof ing->events_topic);
    if (li_kafka_ensure_topic(ing->rk, ing->events_topic, 1, 0, 10000, errstr, errstr_size) !=
        LI_OK)
        li_log_warn("ingest: cannot ensure topic %s: %s", ing->events_topic, errstr);
    if (partitions > 0 && li_kafka_ensure_topic(ing->rk, ing->topic, (int)partitions, 0, 10000,
                                                errstr, errstr_size) != LI_OK)
        li_log_warn("ingest: cannot ensure topic %s: %s", ing->topic, errstr);
    if (pipe2(ing->kafka_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(errstr, errstr_size, "pipe: %s", strerror(errno));
        goto fail;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_get_main(ing->rk);
    rd_kafka_queue_io_event_enable(q, ing->kafka_pipe[1], "1", 1);
    rd_kafka_queue_destroy(q);

    if (open_listener(ing, li_config_get(cfg, "ingest.listen", "0.0.0.0:7443"), errstr,
                      errstr_size) != LI_OK)
        goto fail;
    if (li_metrics_from_config(cfg, "ingest.metrics.listen", "127.0.0.1:9464", render, ing,
                               &ing->metrics, errstr, errstr_size) != LI_OK)
        goto fail;
    if (open_registry(ing, cfg, errstr, errstr_size) != LI_OK)
        goto fail;
    return ing;
fail:
    x2x3_ingest_free(ing);
    return NULL;
}

uint16_t x2x3_ingest_port(const x2x3_ingest *ing)
{
    return ing->port;
}

uint16_t x2x3_ingest_metrics_port(const x2x3_ingest *ing)
{
    return ing->metrics ? li_metrics_port(ing->metrics) : 0;
}

void x2x3_ingest_free(x2x3_ingest *ing)
{
    if (!ing)
        return;
    li_metrics_free(ing->metrics);
    ingest_pois_free(ing->pois);
    /* Kafka first: its last delivery reports still refer to the connections. */
    if (ing->rk) {
        int left = li_kafka_destroy(ing->rk, ing->flush_ms);
        if (left)
            li_log_error("ingest: %d PDUs not confirmed by Kafka at exit (the POIs resend them)",
                         left);
    }
    while (ing->conns) {
        conn *c = ing->conns;
        conn_close(ing, c, NULL, NULL);
        conn_release(ing, c);
    }
    while (ing->free_refs) {
        msg_ref *r = ing->free_refs;
        ing->free_refs = r->next_free;
        free(r);
    }
    if (ing->listen_fd >= 0)
        close(ing->listen_fd);
    for (int i = 0; i < 2; i++)
        if (ing->kafka_pipe[i] >= 0)
            close(ing->kafka_pipe[i]);
    if (ing->epfd >= 0)
        close(ing->epfd);
    SSL_CTX_free(ing->ctx);
    li_buf_free(&ing->strs);
    free(ing->target_ptrs);
    pthread_mutex_destroy(&ing->errors_mu);
    free(ing);
}
