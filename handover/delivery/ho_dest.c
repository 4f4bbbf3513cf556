#include "ho_dest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ho_io.h"
#include "li_hostport.h"
#include "li_kafka.h"
#include "li_log.h"
#include "li_time.h"
#include "li_tls.h"

/* Partitions of limf.hi.<id> one destination tracks offsets for. */
#define MAX_PARTS 64
/* PDUs are gathered per connection and written when this much is waiting or when no
 * further record is ready, so that a backlog goes out in large TLS records. */
#define FLUSH_BYTES 32768
/* Keep-alives awaiting their answer; more are not sent until older ones are answered. */
#define MAX_PENDING 128

typedef struct pending_ka {
    uint32_t seq;
    uint64_t sent_ns;
    unsigned answered;             /* bit per connection */
    uint64_t delivered;            /* PDUs written before it */
    int64_t offsets[MAX_PARTS];    /* next offset per partition written before it; -1 none */
} pending_ka;

struct ho_dest {
    char id[128], topic[256], group[256];
    char hi_addr[2][256];
    int n_conns;                  /* 1 when HI2 and HI3 share an address */
    char operator_id[17], ne_id[17], delivery_cc[3];
    SSL_CTX *ctx[2];              /* HI2's and HI3's (each checks its own host name);
                                     NULL: plain TCP (transport = tcp) */
    uint64_t ka_interval_ns, ka_timeout_ns, ack_interval_ns;
    int connect_timeout_ms, write_timeout_ms;
    uint64_t backoff_min_ns, backoff_max_ns;
    int64_t hi_partitions, max_pdu;

    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t mu;
    ho_dest_stats stats;

    /* Thread state. */
    rd_kafka_t *rk;
    ho_conn conns[2];
    int connected, ever_connected;
    unsigned failures;            /* connection attempts failed in a row */
    int64_t sent[MAX_PARTS];      /* next offset written per partition; -1 none */
    int64_t committed[MAX_PARTS];
    pending_ka pending[MAX_PENDING];
    size_t n_pending, head;       /* ring */
    uint32_t ka_seq;
    uint64_t last_ka_ns, delivered_since_ka, delivered;
    li_buf out[2];                /* encoded, not yet written, per connection */
    li_buf scratch;
};

/* ---- HiRecord -> PS-PDU ---- */

/* The HiRecord enums (the Kafka contract) carry the ASN.1 values themselves. */
_Static_assert((int)LIMF__HI_RECORD__IRI_TYPE__IRI_BEGIN == (int)HO_IRI_BEGIN &&
               (int)LIMF__HI_RECORD__IRI_TYPE__IRI_END == (int)HO_IRI_END &&
               (int)LIMF__HI_RECORD__IRI_TYPE__IRI_CONTINUE == (int)HO_IRI_CONTINUE &&
               (int)LIMF__HI_RECORD__IRI_TYPE__IRI_REPORT == (int)HO_IRI_REPORT,
               "IRIType values");
_Static_assert((int)LIMF__HI_RECORD__DIRECTION__FROM_TARGET == (int)HO_DIR_FROM_TARGET &&
               (int)LIMF__HI_RECORD__DIRECTION__TO_TARGET == (int)HO_DIR_TO_TARGET &&
               (int)LIMF__HI_RECORD__DIRECTION__INDETERMINATE == (int)HO_DIR_INDETERMINATE,
               "PayloadDirection values");
_Static_assert((int)LIMF__HI_RECORD__HI1_OPERATION__LI_ACTIVATED == (int)HO_HI1_ACTIVATED &&
               (int)LIMF__HI_RECORD__HI1_OPERATION__LI_DEACTIVATED == (int)HO_HI1_DEACTIVATED &&
               (int)LIMF__HI_RECORD__HI1_OPERATION__LI_MODIFIED == (int)HO_HI1_MODIFIED &&
               (int)LIMF__HI_RECORD__HI1_OPERATION__ALARM == (int)HO_HI1_ALARM,
               "HI1-Operation tags");

static li_slice text(const char *s)
{
    return li_slice_of(s, s ? strlen(s) : 0);
}

/* n octets of p, or fewer so that a UTF-8 sequence is not cut (RFC 3629). */
static size_t utf8_cut(const uint8_t *p, size_t len, size_t n)
{
    if (len <= n)
        return len;
    while (n > 0 && (p[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* alarm-information / target-Information: the reason, then what the POI reported,
 * within the 256 octets of the ASN.1 type. */
static li_err hi1_text(const Limf__HiRecord *r, li_buf *scratch, li_slice *out)
{
    li_buf_reset(scratch);
    if (li_buf_append(scratch, r->report_reason, strlen(r->report_reason)) ||
        (r->payload.len && (li_buf_append(scratch, ": ", 2) ||
                            li_buf_append(scratch, r->payload.data, r->payload.len))))
        return LI_ERR_NOMEM;
    *out = li_slice_of(scratch->data, utf8_cut(scratch->data, scratch->len, HO_HI1_TEXT_MAX));
    return LI_OK;
}

static void set_addr(ho_addr *a, ProtobufCBinaryData b)
{
    a->family = b.len == 4 ? 4 : b.len == 16 ? 6 : 0;
    if (a->family)
        memcpy(a->addr, b.data, b.len);
}

li_err ho_record_to_pdu(const Limf__HiRecord *r, const char *operator_id, const char *ne_id,
                        const char *delivery_cc, li_buf *scratch, ho_pdu *p)
{
    memset(p, 0, sizeof *p);
    if (r->cin > UINT32_MAX || r->seq > UINT32_MAX)
        return LI_ERR_INVAL; /* CommunicationIdentifier and sequenceNumber are 32-bit */
    p->liid = text(r->liid);
    p->auth_cc = strlen(r->auth_country) == 2 ? text(r->auth_country) : li_slice_of(NULL, 0);
    p->operator_id = text(operator_id);
    p->ne_id = text(ne_id);
    p->delivery_cc = text(delivery_cc);
    p->has_cin = r->kind != LIMF__HI_RECORD__KIND__HI1 || r->cin != 0;
    p->cin = (uint32_t)r->cin;
    p->seq = (uint32_t)r->seq;
    p->timestamp_ns = r->timestamp_ns;
    /* The record's time is the event time at the POI (clause 5.2.6). */
    p->ts_qualifier = r->timestamp_ns ? HO_TSQ_INTERCEPTION : -1;
    p->content = li_slice_of(r->payload.data, r->payload.len);
    if (r->kind == LIMF__HI_RECORD__KIND__CC) {
        p->payload = HO_PAYLOAD_CC;
        p->direction = (int)r->direction <= HO_DIR_INDETERMINATE ? (uint32_t)r->direction
                                                            : HO_DIR_INDETERMINATE;
        p->stream_id = text(r->stream_id);
    } else if (r->kind == LIMF__HI_RECORD__KIND__HI1 || !strcmp(r->payload_kind, "report")) {
        /* A notification or limf's own event (an IRI "report" record of an older
         * mediator, still in the topic after an upgrade, is one too): HI1 on HI2. */
        p->payload = HO_PAYLOAD_HI1;
        p->hi1_op = r->kind == LIMF__HI_RECORD__KIND__HI1 ? (ho_hi1_op)r->hi1_operation
                                                          : HO_HI1_ALARM;
        /* timeStamp is mandatory in HI1: the mediation's time when the event has none. */
        if (!p->timestamp_ns)
            p->timestamp_ns = r->mediated_ns;
        li_err e = hi1_text(r, scratch, &p->content);
        if (e != LI_OK)
            return e;
        return p->hi1_op == HO_HI1_ALARM && !p->content.len ? LI_ERR_INVAL : LI_OK;
    } else {
        p->payload = HO_PAYLOAD_IRI;
        p->iri_type = r->iri_type;
        p->iri_content = HO_IRI_SIP;
        set_addr(&p->src, r->src_addr);
        set_addr(&p->dst, r->dst_addr);
    }
    return p->content.len ? LI_OK : LI_ERR_INVAL;
}

/* ---- the destination thread ---- */

static void disconnect(ho_dest *d, const char *why)
{
    if (d->connected)
        li_log(atomic_load(&d->stop) ? LI_LOG_INFO : LI_LOG_WARN,
               "destination %s: disconnected: %s", d->id, why);
    for (int i = 0; i < d->n_conns; i++) {
        ho_conn_close(&d->conns[i]);
        li_buf_reset(&d->out[i]); /* resent after the rewind */
    }
    d->connected = 0;
    d->n_pending = 0;
    pthread_mutex_lock(&d->mu);
    d->stats.connected = 0;
    pthread_mutex_unlock(&d->mu);
}

/* Rewinds every assigned partition to its committed offset: whatever was written but not
 * acknowledged is sent again, in order (docs/PRINCIPLES.md 4). */
static void rewind_to_committed(ho_dest *d)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(d->rk, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a && a->cnt) {
        rd_kafka_committed(d->rk, a, 10000);
        for (int i = 0; i < a->cnt; i++)
            if (a->elems[i].offset < 0)
                a->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_error_t *err = rd_kafka_seek_partitions(d->rk, a, 10000);
        if (err) {
            li_log_warn("destination %s: seek: %s", d->id, rd_kafka_error_string(err));
            rd_kafka_error_destroy(err);
        }
    }
    if (a)
        rd_kafka_topic_partition_list_destroy(a);
    for (int i = 0; i < MAX_PARTS; i++)
        d->sent[i] = -1;
}

static int try_connect(ho_dest *d)
{
    char err[512];
    for (int i = 0; i < d->n_conns; i++) {
        if (ho_conn_connect(&d->conns[i], d->hi_addr[i], d->ctx[i], d->connect_timeout_ms, err,
                            sizeof err) != LI_OK) {
            /* The first failure of an outage is a warning, repeats are debug. */
            li_log(d->failures++ ? LI_LOG_DEBUG : LI_LOG_WARN, "destination %s: HI%s: %s", d->id,
                   d->n_conns == 1 ? "2/3" : i ? "3" : "2", err);
            for (int k = 0; k < i; k++)
                ho_conn_close(&d->conns[k]);
            return 0;
        }
    }
    rewind_to_committed(d);
    d->failures = 0;
    d->connected = 1;
    d->last_ka_ns = li_mono_ns();
    d->delivered_since_ka = 0;
    pthread_mutex_lock(&d->mu);
    d->stats.connected = 1;
    if (d->ever_connected)
        d->stats.reconnects++;
    pthread_mutex_unlock(&d->mu);
    li_log_info("destination %s: connected (%s)", d->id, d->ctx[0] ? "TLS" : "TCP");
    d->ever_connected = 1;
    return 1;
}

static li_err flush_out(ho_dest *d)
{
    for (int i = 0; i < d->n_conns; i++) {
        if (!d->out[i].len)
            continue;
        li_err e = ho_conn_write(&d->conns[i], d->out[i].data, d->out[i].len, d->write_timeout_ms);
        li_buf_reset(&d->out[i]);
        if (e != LI_OK)
            return e;
    }
    return LI_OK;
}

static li_err send_keepalive(ho_dest *d)
{
    if (d->n_pending == MAX_PENDING)
        return LI_OK; /* wait for answers first */
    ho_pdu p;
    memset(&p, 0, sizeof p);
    p.payload = HO_PAYLOAD_KEEPALIVE;
    p.liid = li_slice_of("-", 1); /* a keep-alive belongs to no interception */
    p.operator_id = text(d->operator_id);
    p.ne_id = text(d->ne_id);
    p.delivery_cc = text(d->delivery_cc);
    p.seq = ++d->ka_seq;
    p.timestamp_ns = li_now_ns();
    p.ts_qualifier = -1;
    /* Behind every PDU already gathered on each connection. */
    li_err e = LI_OK;
    for (int i = 0; e == LI_OK && i < d->n_conns; i++)
        e = ho_pdu_encode(&p, &d->out[i]);
    if (e == LI_OK)
        e = flush_out(d);
    if (e != LI_OK)
        return e;
    pending_ka *k = &d->pending[(d->head + d->n_pending++) % MAX_PENDING];
    k->seq = p.seq;
    k->sent_ns = li_mono_ns();
    k->answered = 0;
    k->delivered = d->delivered;
    memcpy(k->offsets, d->sent, sizeof k->offsets);
    d->last_ka_ns = k->sent_ns;
    d->delivered_since_ka = 0;
    return LI_OK;
}

/* A keep-alive answered on every connection: commit what was written before it. */
static void acknowledge(ho_dest *d, const pending_ka *k)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    for (int i = 0; i < MAX_PARTS; i++)
        if (k->offsets[i] > d->committed[i])
            rd_kafka_topic_partition_list_add(l, d->topic, i)->offset = k->offsets[i];
    if (l->cnt) {
        /* Asynchronous: delivery goes on during the broker round trip. A commit that fails
         * is covered by the next one; until then the offsets stay where they were, which
         * only means a larger repeat after a crash, never a loss. */
        rd_kafka_resp_err_t err = rd_kafka_commit(d->rk, l, 1);
        if (err)
            li_log_warn("destination %s: commit: %s", d->id, rd_kafka_err2str(err));
        else
            for (int i = 0; i < l->cnt; i++)
                d->committed[l->elems[i].partition] = l->elems[i].offset;
    }
    rd_kafka_topic_partition_list_destroy(l);
    pthread_mutex_lock(&d->mu);
    d->stats.acknowledged = k->delivered;
    d->stats.last_ack_ns = li_now_ns();
    pthread_mutex_unlock(&d->mu);
}

static void answered(ho_dest *d, int conn, uint32_t seq)
{
    unsigned all = (1u << d->n_conns) - 1;
    size_t newest = SIZE_MAX;
    for (size_t i = 0; i < d->n_pending; i++) {
        pending_ka *k = &d->pending[(d->head + i) % MAX_PENDING];
        if (k->seq == seq)
            k->answered |= 1u << conn;
        if ((k->answered & all) == all)
            newest = i;
    }
    if (newest == SIZE_MAX)
        return;
    /* The newest fully answered keep-alive covers every older one: its snapshot of offsets
     * is the larger, and TCP delivered what preceded it. */
    acknowledge(d, &d->pending[(d->head + newest) % MAX_PENDING]);
    d->head = (d->head + newest + 1) % MAX_PENDING;
    d->n_pending -= newest + 1;
}

/* Reads whatever the LEMF sent: keep-alive answers, and its own keep-alives (answered). */
static li_err read_answers(ho_dest *d)
{
    for (int i = 0; i < d->n_conns; i++) {
        const uint8_t *buf;
        size_t len, used;
        li_err e;
        while ((e = ho_conn_next_pdu(&d->conns[i], (size_t)d->max_pdu, 0, &buf, &len)) == LI_OK) {
            ho_pdu p;
            if (ho_pdu_decode(buf, len, &p, &used) != LI_OK)
                return LI_ERR_PROTO;
            if (p.payload == HO_PAYLOAD_KEEPALIVE_RESPONSE) {
                answered(d, i, p.seq);
            } else if (p.payload == HO_PAYLOAD_KEEPALIVE) {
                p.payload = HO_PAYLOAD_KEEPALIVE_RESPONSE;
                if (ho_pdu_encode(&p, &d->out[i]) != LI_OK || flush_out(d) != LI_OK)
                    return LI_ERR_IO;
            }
        }
        if (e != LI_AGAIN)
            return e;
    }
    return LI_OK;
}

static li_err deliver(ho_dest *d, const rd_kafka_message_t *m)
{
    if (m->partition < 0 || m->partition >= MAX_PARTS) {
        li_log_error("destination %s: partition %d above %d: not delivered", d->id,
                     (int)m->partition, MAX_PARTS);
        return LI_OK;
    }
    Limf__HiRecord *r = limf__hi_record__unpack(NULL, m->len, m->payload);
    ho_pdu p;
    li_err e = r ? ho_record_to_pdu(r, d->operator_id, d->ne_id, d->delivery_cc, &d->scratch, &p)
                 : LI_ERR_PROTO;
    li_buf *out = &d->out[e == LI_OK && p.payload == HO_PAYLOAD_CC ? d->n_conns - 1 : 0];
    if (e == LI_OK)
        e = ho_pdu_encode(&p, out); /* appended behind what waits; undone on failure */
    if (e != LI_OK) {
        /* Cannot become a PS-PDU: nothing to retry; counted and logged with its position. */
        li_log_error("destination %s: record at partition %d offset %lld unusable: %s", d->id,
                     (int)m->partition, (long long)m->offset, li_err_str(e));
        pthread_mutex_lock(&d->mu);
        d->stats.record_errors++;
        pthread_mutex_unlock(&d->mu);
        d->sent[m->partition] = m->offset + 1;
        limf__hi_record__free_unpacked(r, NULL);
        return LI_OK;
    }
    limf__hi_record__free_unpacked(r, NULL);
    d->sent[m->partition] = m->offset + 1;
    d->delivered++;
    d->delivered_since_ka++;
    pthread_mutex_lock(&d->mu);
    d->stats.delivered++;
    pthread_mutex_unlock(&d->mu);
    return out->len >= FLUSH_BYTES ? flush_out(d) : LI_OK;
}

static void update_lag(ho_dest *d)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    int64_t lag = -1;
    if (rd_kafka_assignment(d->rk, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a) {
        for (int i = 0; i < a->cnt; i++) {
            int64_t lo, hi;
            int32_t part = a->elems[i].partition;
            if (part >= MAX_PARTS ||
                rd_kafka_get_watermark_offsets(d->rk, d->topic, part, &lo, &hi) ||
                hi < 0)
                continue;
            int64_t from = d->committed[part] > lo ? d->committed[part] : lo;
            lag = (lag < 0 ? 0 : lag) + (hi > from ? hi - from : 0);
        }
        rd_kafka_topic_partition_list_destroy(a);
    }
    pthread_mutex_lock(&d->mu);
    d->stats.lag = lag;
    pthread_mutex_unlock(&d->mu);
}

static void *dest_main(void *arg)
{
    ho_dest *d = arg;
    uint64_t backoff = d->backoff_min_ns, next_attempt = 0, next_lag = 0;
    while (!atomic_load(&d->stop)) {
        uint64_t now = li_mono_ns();
        if (now >= next_lag) {
            update_lag(d);
            next_lag = now + 1000000000u;
        }
        if (!d->connected) {
            if (now >= next_attempt) {
                if (try_connect(d)) {
                    backoff = d->backoff_min_ns;
                } else {
                    next_attempt = now + backoff;
                    backoff = backoff * 2 > d->backoff_max_ns ? d->backoff_max_ns : backoff * 2;
                }
            }
            if (!d->connected) {
                /* Keep the group membership alive; what is read now is read again after
                 * the rewind that follows the next connection. */
                rd_kafka_message_t *m = rd_kafka_consumer_poll(d->rk, 100);
                if (m)
                    rd_kafka_message_destroy(m);
                continue;
            }
        }
        li_err e = LI_OK;
        int waiting = d->out[0].len || d->out[1].len;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(d->rk, waiting ? 0 : 10);
        if (m) {
            if (!m->err)
                e = deliver(d, m);
            else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                li_log_debug("destination %s: consume: %s", d->id, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
        } else if (waiting) {
            e = flush_out(d); /* nothing more ready: send what was gathered */
        }
        now = li_mono_ns();
        if (e == LI_OK && ((d->delivered_since_ka && now - d->last_ka_ns >= d->ack_interval_ns) ||
                           now - d->last_ka_ns >= d->ka_interval_ns))
            e = send_keepalive(d);
        if (e == LI_OK)
            e = read_answers(d);
        if (e != LI_OK) {
            disconnect(d, li_err_str(e));
            next_attempt = li_mono_ns() + backoff;
            continue;
        }
        now = li_mono_ns();
        if (d->n_pending && now > d->pending[d->head].sent_ns &&
            now - d->pending[d->head].sent_ns > d->ka_timeout_ns) {
            pthread_mutex_lock(&d->mu);
            d->stats.keepalive_timeouts++;
            pthread_mutex_unlock(&d->mu);
            disconnect(d, "keep-alive not answered in time");
            next_attempt = li_mono_ns() + backoff;
        }
    }
    disconnect(d, "stopping");
    return NULL;
}

/* ---- set-up ---- */

/* The TLS context of the connection to hostport. */
static SSL_CTX *dest_tls(const li_config *cfg, const Limf__Destination *dd,
                         const char *hostport, char *errstr, size_t errstr_size)
{
    li_tls_opts o = { .server = 0 };
    li_tls_opts_from_config(cfg, "handover.tls", &o);
    /* The daemon's own trust settings are only a fallback: a destination that names its
     * pins or CA is verified by those alone (a global CA would otherwise let any of its
     * certificates pass a pinned destination), and the name is always the destination's. */
    if (dd->n_pinned_sha256 || (dd->ca_pem && *dd->ca_pem)) {
        o.ca_file = NULL;
        o.pins = NULL;
    }
    o.peer_name = NULL;
    char pins[MAX_PARTS * 100] = "";
    for (size_t i = 0; i < dd->n_pinned_sha256; i++) {
        size_t at = strlen(pins);
        snprintf(pins + at, sizeof pins - at, "%s%s", i ? "," : "", dd->pinned_sha256[i]);
    }
    if (*pins)
        o.pins = pins;
    if (dd->ca_pem && *dd->ca_pem)
        o.ca_pem = dd->ca_pem;   /* loaded from memory: the agency's CA never touches disk */
    /* Verified by a CA, a certificate proves only that the CA issued it: it must also name
     * the LEMF, by the destination's peer_name or else by the host it is reached at
     * (RFC 6125 6.4), so that another agency's certificate from the same CA is refused. */
    li_hostport hp;
    if (dd->peer_name && *dd->peer_name)
        o.peer_name = dd->peer_name;
    else if (!o.pins && li_hostport_parse(hostport, LI_HOSTPORT_NAME, &hp) == LI_OK)
        o.peer_name = hp.host;
    return li_tls_ctx_new(&o, errstr, errstr_size);
}

static int copy_id(char *out, size_t size, const char *in)
{
    size_t n = in ? strlen(in) : 0;
    if (n >= size)
        return 0;
    memcpy(out, in ? in : "", n + 1);
    return 1;
}

li_err ho_dest_names(const li_config *cfg, const Limf__Destination *dd, char *topic,
                     size_t topic_size, char *group, size_t group_size)
{
    li_err e = li_kafka_hi_topic(cfg, dd->id, dd->topic_suffix, topic, topic_size);
    if (e != LI_OK)
        return e;
    int n = snprintf(group, group_size, "%s.%s.%s",
                     li_config_get(cfg, "handover.group", HO_GROUP_DEFAULT), dd->id,
                     dd->topic_suffix);
    return n > 0 && (size_t)n < group_size ? LI_OK : LI_ERR_INVAL;
}

ho_dest *ho_dest_start(const li_config *cfg, const Limf__Destination *dd, char *errstr,
                       size_t errstr_size)
{
    char err[256];
    ho_dest *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&d->mu, NULL);
    ho_conn_init(&d->conns[0]);
    ho_conn_init(&d->conns[1]);
    li_buf_init(&d->out[0], 0);
    li_buf_init(&d->out[1], 0);
    li_buf_init(&d->scratch, 0);
    for (int i = 0; i < MAX_PARTS; i++)
        d->sent[i] = d->committed[i] = -1;
    d->stats.lag = -1;
    const char *hi3 = dd->hi3_address && *dd->hi3_address ? dd->hi3_address : dd->hi2_address;
    if (!copy_id(d->id, sizeof d->id, dd->id) || !*d->id ||
        !copy_id(d->hi_addr[0], sizeof d->hi_addr[0], dd->hi2_address) || !*d->hi_addr[0] ||
        !copy_id(d->hi_addr[1], sizeof d->hi_addr[1], hi3) ||
        !copy_id(d->operator_id, sizeof d->operator_id, dd->operator_id) || !*d->operator_id ||
        !copy_id(d->ne_id, sizeof d->ne_id, dd->network_element_id) ||
        !copy_id(d->delivery_cc, sizeof d->delivery_cc, dd->delivery_country) ||
        (*d->delivery_cc && strlen(d->delivery_cc) != 2)) {
        snprintf(errstr, errstr_size,
                 "destination needs an id, hi2_address, operator_id (1..16), "
                 "network_element_id (0..16) and a 2-letter delivery_country");
        goto fail;
    }
    d->n_conns = strcmp(d->hi_addr[0], d->hi_addr[1]) == 0 ? 1 : 2;
    const char *transport = dd->transport && *dd->transport ? dd->transport : "tls";
    int plain_ok = 0;
    if (li_config_get_bool(cfg, "handover.allow_plain_tcp", 0, &plain_ok, err, sizeof err)) {
        snprintf(errstr, errstr_size, "%s", err);
        goto fail;
    }
    if (!strcmp(transport, "tcp")) {
        /* An operator's REST call alone must not strip an agency's HI of encryption and
         * authentication: the daemon's own configuration has to allow it. */
        if (!plain_ok) {
            snprintf(errstr, errstr_size, "transport tcp refused: plain TCP needs "
                                          "handover.allow_plain_tcp = true");
            goto fail;
        }
        li_log_warn("destination %s: plain TCP (transport = tcp): HI2/HI3 unencrypted and "
                    "unauthenticated",
                    d->id);
    } else if (strcmp(transport, "tls") != 0) {
        snprintf(errstr, errstr_size, "transport must be tls or tcp");
        goto fail;
    } else if (!(d->ctx[0] = dest_tls(cfg, dd, d->hi_addr[0], err, sizeof err)) ||
               !(d->ctx[1] = dest_tls(cfg, dd, d->hi_addr[1], err, sizeof err))) {
        snprintf(errstr, errstr_size, "TLS: %s", err);
        goto fail;
    }
    int64_t ka_i, ka_t, ack, ct, bmin, bmax;
    if (li_config_get_int(cfg, "handover.keepalive_interval_s", 10, 1, 3600, &ka_i, err, sizeof err) ||
        li_config_get_int(cfg, "handover.keepalive_timeout_s", 5, 1, 3600, &ka_t, err, sizeof err) ||
        li_config_get_int(cfg, "handover.ack_interval_ms", 200, 1, 60000, &ack, err, sizeof err) ||
        li_config_get_int(cfg, "handover.connect_timeout_ms", 5000, 100, 600000, &ct, err, sizeof err) ||
        li_config_get_int(cfg, "handover.reconnect_min_ms", 500, 10, 600000, &bmin, err, sizeof err) ||
        li_config_get_int(cfg, "handover.reconnect_max_ms", 30000, 10, 3600000, &bmax, err, sizeof err) ||
        li_config_get_int(cfg, "handover.hi_partitions", 1, 1, MAX_PARTS, &d->hi_partitions, err, sizeof err) ||
        li_config_get_int(cfg, "handover.max_pdu", 1 << 20, 1024, 1 << 30, &d->max_pdu, err, sizeof err)) {
        snprintf(errstr, errstr_size, "%s", err);
        goto fail;
    }
    /* The destination's own timers win over the daemon's defaults. */
    if (dd->keepalive_interval_s)
        ka_i = dd->keepalive_interval_s;
    if (dd->keepalive_timeout_s)
        ka_t = dd->keepalive_timeout_s;
    d->ka_interval_ns = (uint64_t)ka_i * 1000000000u;
    d->ka_timeout_ns = (uint64_t)ka_t * 1000000000u;
    d->ack_interval_ns = (uint64_t)ack * 1000000u;
    d->connect_timeout_ms = (int)ct;
    d->write_timeout_ms = (int)(ka_t * 1000);
    d->backoff_min_ns = (uint64_t)bmin * 1000000u;
    d->backoff_max_ns = (uint64_t)(bmax > bmin ? bmax : bmin) * 1000000u;

    if (ho_dest_names(cfg, dd, d->topic, sizeof d->topic, d->group, sizeof d->group) !=
        LI_OK) {
        snprintf(errstr, errstr_size, "no valid topic_suffix (32 lowercase hex digits)");
        goto fail;
    }
    static const char *const props[] = { "isolation.level", "read_committed",
                                         "enable.auto.commit", "false",
                                         "enable.auto.offset.store", "false",
                                         "auto.offset.reset", "earliest",
                                         "topic.metadata.refresh.interval.ms", "5000",
                                         /* Few large fetches under load (the broker's
                                          * cost is per request as much as per byte). */
                                         "fetch.min.bytes", "65536",
                                         "fetch.wait.max.ms", "20", NULL };
    d->rk = li_kafka_consumer_new(cfg, d->group, props, err, sizeof err);
    if (!d->rk) {
        snprintf(errstr, errstr_size, "consumer: %s", err);
        goto fail;
    }
    if (li_kafka_ensure_topic(d->rk, d->topic, (int)d->hi_partitions, 0, 10000, err, sizeof err))
        li_log_warn("destination %s: topic: %s", d->id, err);
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, d->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t se = rd_kafka_subscribe(d->rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (se) {
        snprintf(errstr, errstr_size, "subscribe: %s", rd_kafka_err2str(se));
        goto fail;
    }
    if (pthread_create(&d->thread, NULL, dest_main, d) != 0) {
        snprintf(errstr, errstr_size, "cannot start a thread");
        goto fail;
    }
    li_log_info("destination %s: delivering %s (%d connection%s)", d->id, d->topic, d->n_conns,
                d->n_conns == 1 ? "" : "s");
    return d;
fail:
    if (d->rk)
        li_kafka_destroy(d->rk, 0);
    SSL_CTX_free(d->ctx[0]);
    SSL_CTX_free(d->ctx[1]);
    li_buf_free(&d->out[0]);
    li_buf_free(&d->out[1]);
    li_buf_free(&d->scratch);
    pthread_mutex_destroy(&d->mu);
    free(d);
    return NULL;
}

void ho_dest_stop(ho_dest *d)
{
    if (!d)
        return;
    atomic_store(&d->stop, 1);
    pthread_join(d->thread, NULL);
    rd_kafka_consumer_close(d->rk);
    li_kafka_destroy(d->rk, 0);
    SSL_CTX_free(d->ctx[0]);
    SSL_CTX_free(d->ctx[1]);
    for (int i = 0; i < 2; i++)
        ho_conn_close(&d->conns[i]);
    li_buf_free(&d->out[0]);
    li_buf_free(&d->out[1]);
    li_buf_free(&d->scratch);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

const char *ho_dest_id(const ho_dest *d)
{
    return d->id;
}

void ho_dest_stats_get(ho_dest *d, ho_dest_stats *out)
{
    pthread_mutex_lock(&d->mu);
    *out = d->stats;
    pthread_mutex_unlock(&d->mu);
}
