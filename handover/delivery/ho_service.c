#include "ho_service.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ho_dest.h"
#include "ho_io.h"
#include "li_kafka.h"
#include "li_log.h"
#include "li_metrics.h"
#include "li_time.h"

typedef struct entry {
    struct entry *next;
    char id[128];
    uint8_t *record;   /* the Destination as last seen, to ignore unchanged rewrites */
    size_t record_len;
    ho_dest *dest;     /* NULL when the record is unusable */
} entry;

struct ho_service {
    const li_config *cfg;
    rd_kafka_t *rk;
    char topic[256];
    pthread_mutex_t mu;   /* guards the list against the metrics thread */
    entry *list;
    li_metrics *metrics;
};

static void entry_free(entry *e)
{
    ho_dest_stop(e->dest);
    free(e->record);
    free(e);
}

/* The topic suffix of a packed Destination into out (empty when it has none). */
static void record_suffix(const uint8_t *record, size_t len, char *out, size_t out_size)
{
    Limf__Destination *d = limf__destination__unpack(NULL, len, record);
    snprintf(out, out_size, "%s", d ? d->topic_suffix : "");
    limf__destination__free_unpacked(d, NULL);
}

/* A destination removed, or given a new suffix (its address or trust changed without its
 * backlog kept): its topic and its group go, so that what was not delivered to that
 * agency is never delivered anywhere (docs/SECURITY.md, "Agencies"). Runs after the
 * destination's consumer left the group; a topic or group already gone is fine. */
static void drop_backlog(ho_service *s, const uint8_t *record, size_t len)
{
    Limf__Destination *d = limf__destination__unpack(NULL, len, record);
    char topic[400], group[400], err[512];
    if (!d || ho_dest_names(s->cfg, d, topic, sizeof topic, group, sizeof group) != LI_OK) {
        limf__destination__free_unpacked(d, NULL);
        return;
    }
    if (li_kafka_delete_topic(s->rk, topic, 10000, err, sizeof err) != LI_OK)
        li_log_error("destination %s: deleting its old topic: %s", d->id, err);
    /* The group is empty once the consumer has left; the broker may take a moment. */
    li_err e = LI_ERR_KAFKA;
    for (int i = 0; i < 10 && e != LI_OK; i++) {
        if (i)
            usleep(500 * 1000);
        e = li_kafka_delete_group(s->rk, group, 10000, err, sizeof err);
    }
    if (e != LI_OK)
        li_log_error("destination %s: deleting its old group: %s", d->id, err);
    else
        li_log_info("destination %s: old topic and group deleted", d->id);
    limf__destination__free_unpacked(d, NULL);
}

static void apply(ho_service *s, const char *id, const uint8_t *value, size_t len)
{
    entry **pp = &s->list, *e;
    for (; (e = *pp); pp = &e->next)
        if (!strcmp(e->id, id))
            break;
    if (e && len && e->record_len == len && memcmp(e->record, value, len) == 0)
        return; /* unchanged */
    if (e) {
        pthread_mutex_lock(&s->mu);
        *pp = e->next;
        pthread_mutex_unlock(&s->mu);
        char old_suffix[64] = "", new_suffix[64] = "";
        record_suffix(e->record, e->record_len, old_suffix, sizeof old_suffix);
        if (len)
            record_suffix(value, len, new_suffix, sizeof new_suffix);
        int moved = strcmp(old_suffix, new_suffix) != 0;
        li_log_info("destination %s: %s", id,
                    !len ? "removed" : moved ? "changed with a new topic, restarting"
                                             : "changed, restarting");
        ho_dest_stop(e->dest);
        e->dest = NULL;
        if (moved)
            drop_backlog(s, e->record, e->record_len);
        entry_free(e);
    }
    if (!len)
        return;
    Limf__Destination *d = limf__destination__unpack(NULL, len, value);
    e = calloc(1, sizeof *e);
    if (!d || !e || !(e->record = malloc(len))) {
        li_log_error("destination %s: unreadable record", id);
        limf__destination__free_unpacked(d, NULL);
        free(e);
        return;
    }
    snprintf(e->id, sizeof e->id, "%s", id);
    memcpy(e->record, value, len);
    e->record_len = len;
    char err[512];
    if (strcmp(d->id, id) != 0)
        li_log_error("destination %s: record id '%s' differs from its key", id, d->id);
    else if (!(e->dest = ho_dest_start(s->cfg, d, err, sizeof err)))
        li_log_error("destination %s: refused, nothing delivered: %s", id, err);
    limf__destination__free_unpacked(d, NULL);
    pthread_mutex_lock(&s->mu);
    e->next = s->list;
    s->list = e;
    pthread_mutex_unlock(&s->mu);
}

li_err ho_service_poll(ho_service *s, int timeout_ms)
{
    uint64_t deadline = li_mono_ns() + (uint64_t)timeout_ms * 1000000u;
    do {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, timeout_ms);
        if (!m)
            break;
        if (m->err) {
            /* Broker trouble: librdkafka retries by itself; wait for the next call rather
             * than spin on a stream of error events. */
            li_log_debug("%s: %s", s->topic, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            break;
        }
        static const char prefix[] = "destination/";
        if (m->key && m->key_len > sizeof prefix - 1 && m->key_len < 128 &&
            memcmp(m->key, prefix, sizeof prefix - 1) == 0) {
            char id[128];
            size_t n = m->key_len - (sizeof prefix - 1);
            memcpy(id, (const char *)m->key + sizeof prefix - 1, n);
            id[n] = 0;
            apply(s, id, m->payload, m->payload ? m->len : 0);
        }
        rd_kafka_message_destroy(m);
        timeout_ms = 0;
    } while (li_mono_ns() < deadline);
    return LI_OK;
}

/* On the metrics thread: the destinations' counters are copied under the list mutex, then
 * written one family at a time (the exposition format groups all series of a name). */
static void render(void *ctx, li_buf *b)
{
    ho_service *s = ctx;
    typedef struct row {
        char labels[300];   /* destination="<id>", the id (< 128) escaped */
        ho_dest_stats st;
        int refused;
    } row;
    pthread_mutex_lock(&s->mu);
    size_t n = 0;
    for (entry *e = s->list; e; e = e->next)
        n++;
    row *r = n ? calloc(n, sizeof *r) : NULL;
    if (n && !r) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    size_t i = 0;
    for (entry *e = s->list; e; e = e->next, i++) {
        li_metrics_label(r[i].labels, sizeof r[i].labels, "destination", e->id);
        r[i].st.lag = -1;
        r[i].refused = !e->dest;
        if (e->dest)
            ho_dest_stats_get(e->dest, &r[i].st);
    }
    pthread_mutex_unlock(&s->mu);

    /* One family per counter, each a value of the destination's stats (as a double for
     * the gauges, which may be -1 or fractional seconds). */
    enum { GAUGE_LAG, GAUGE_LAST_ACK, GAUGE_CONNECTED, GAUGE_REFUSED, COUNTER };
    static const struct {
        const char *name, *type, *help;
        int kind;
        size_t off;           /* of the uint64_t counter, for kind COUNTER */
    } fams[] = {
        { "limf_handover_lag_records", "gauge",
          "Records of limf.hi.<id> not yet acknowledged by the LEMF.", GAUGE_LAG, 0 },
        { "limf_handover_last_ack_seconds", "gauge",
          "Unix time of the last keep-alive answer that acknowledged PDUs.", GAUGE_LAST_ACK, 0 },
        { "limf_handover_connected", "gauge", "1 while the HI2/HI3 connections are up.",
          GAUGE_CONNECTED, 0 },
        { "limf_handover_refused", "gauge",
          "1 when the destination's record cannot be served (see the log): an alarm.",
          GAUGE_REFUSED, 0 },
        { "limf_handover_reconnects_total", "counter",
          "Connections established after the first.", COUNTER,
          offsetof(ho_dest_stats, reconnects) },
        { "limf_handover_delivered_total", "counter",
          "PDUs sent towards the LEMF (a resent PDU counts again).", COUNTER,
          offsetof(ho_dest_stats, delivered) },
        { "limf_handover_acknowledged_total", "counter",
          "PDUs written before the last answered keep-alive.", COUNTER,
          offsetof(ho_dest_stats, acknowledged) },
        { "limf_handover_keepalive_timeouts_total", "counter",
          "Links dropped for an unanswered keep-alive.", COUNTER,
          offsetof(ho_dest_stats, keepalive_timeouts) },
        { "limf_handover_record_errors_total", "counter",
          "Records that could not become a PS-PDU.", COUNTER,
          offsetof(ho_dest_stats, record_errors) },
    };
    for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++) {
        li_metrics_put_family(b, fams[f].name, fams[f].type, fams[f].help);
        for (i = 0; i < n; i++) {
            const ho_dest_stats *st = &r[i].st;
            if (fams[f].kind == COUNTER) {
                uint64_t v;
                memcpy(&v, (const char *)st + fams[f].off, sizeof v);
                li_metrics_put_labeled(b, fams[f].name, r[i].labels, v);
            } else {
                double v = fams[f].kind == GAUGE_LAG        ? (double)st->lag
                         : fams[f].kind == GAUGE_LAST_ACK   ? (double)st->last_ack_ns / 1e9
                         : fams[f].kind == GAUGE_REFUSED    ? r[i].refused
                                                            : st->connected;
                li_metrics_put_labeled_gauge(b, fams[f].name, r[i].labels, v);
            }
        }
    }
    free(r);
}

ho_service *ho_service_new(const li_config *cfg, char *errstr, size_t errstr_size)
{
    char err[512];
    ho_service *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    s->cfg = cfg;
    pthread_mutex_init(&s->mu, NULL);
    li_kafka_topic(cfg, "limf.admin", s->topic, sizeof s->topic);
    /* librdkafka's assign() needs a group id although nothing joins or commits. */
    static const char *const props[] = { "enable.partition.eof", "false",
                                         "enable.auto.commit", "false", NULL };
    char group[256];
    snprintf(group, sizeof group, "%s.admin-reader",
             li_config_get(cfg, "handover.group", HO_GROUP_DEFAULT));
    s->rk = li_kafka_consumer_new(cfg, group, props, err, sizeof err);
    if (!s->rk) {
        snprintf(errstr, errstr_size, "admin consumer: %s", err);
        goto fail;
    }
    if (li_kafka_ensure_topic(s->rk, s->topic, 1, 1, 15000, err, sizeof err) != LI_OK)
        li_log_warn("%s: %s", s->topic, err);
    /* Read every partition of the compacted store from its beginning (no group). */
    if (li_kafka_assign_from_start(s->rk, s->topic, errstr, errstr_size) != LI_OK)
        goto fail;
    if (li_metrics_from_config(cfg, "handover.metrics.listen", NULL, render, s, &s->metrics,
                               errstr, errstr_size) != LI_OK)
        goto fail;
    return s;
fail:
    ho_service_free(s);
    return NULL;
}

void ho_service_free(ho_service *s)
{
    if (!s)
        return;
    li_metrics_free(s->metrics);   /* first: render reads the list */
    while (s->list) {
        entry *e = s->list;
        s->list = e->next;
        entry_free(e);
    }
    if (s->rk)
        li_kafka_destroy(s->rk, 0);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

uint16_t ho_service_metrics_port(const ho_service *s)
{
    return li_metrics_port(s->metrics);
}
