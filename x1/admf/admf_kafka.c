/* The ADMF's Kafka I/O (admf_internal.h): records produced with a delivery acknowledgement
 * the writer waits for (acks=all, idempotent), and topics read from the beginning to their
 * end offsets at start and for verification. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admf_internal.h"
#include "li_kafka.h"
#include "li_log.h"
#include "li_time.h"

/* ---- Kafka: producing and waiting for the delivery report ---- */

void admf_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    admf_ack *ack = m->_private;
    (void)rk;
    if (!ack) {
        if (m->err)
            admf_fail_store(opaque, "a record", m->err);
        return;
    }
    pthread_mutex_lock(&ack->mu);
    ack->err = m->err;
    ack->done = 1;
    pthread_cond_signal(&ack->cv);
    pthread_mutex_unlock(&ack->mu);
}

void *admf_poll_main(void *arg)
{
    admf_service *a = arg;
    while (!atomic_load(&a->stop))
        rd_kafka_poll(a->producer, 100);
    return NULL;
}

void admf_ack_init(admf_ack *ack)
{
    pthread_mutex_init(&ack->mu, NULL);
    pthread_cond_init(&ack->cv, NULL);
    ack->done = 0;
    ack->err = 0;
}

rd_kafka_resp_err_t admf_ack_wait(admf_ack *ack)
{
    pthread_mutex_lock(&ack->mu);
    while (!ack->done)
        pthread_cond_wait(&ack->cv, &ack->mu);
    rd_kafka_resp_err_t err = ack->err;
    pthread_mutex_unlock(&ack->mu);
    pthread_mutex_destroy(&ack->mu);
    pthread_cond_destroy(&ack->cv);
    return err;
}

li_err admf_produce(admf_service *a, const char *topic, const char *key, const void *value,
                    size_t len, admf_ack *ack)
{
    rd_kafka_resp_err_t e;
    if (ack)
        admf_ack_init(ack);
    for (int tries = 0;; tries++) {
        e = rd_kafka_producev(a->producer, RD_KAFKA_V_TOPIC(topic),
                              RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE((void *)value, value ? len : 0),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_OPAQUE(ack), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries > 100)
            break;
        struct timespec ts = { 0, 10 * 1000000 };
        nanosleep(&ts, NULL);
    }
    if (e) {
        li_log_error("produce to %s: %s", topic, rd_kafka_err2str(e));
        return LI_ERR_KAFKA;
    }
    return LI_OK;
}

/* A delivery failed after memory was updated: memory may now hold what Kafka does not.
 * Mutations stop; the daemon's main loop sees admf_healthy() == 0 and exits so that a
 * restart rebuilds the state from the topics (crash-only recovery). */
void admf_fail_store(admf_service *a, const char *what, rd_kafka_resp_err_t err)
{
    li_log_error("Kafka did not acknowledge %s: %s; refusing writes until restart", what,
                 rd_kafka_err2str(err));
    atomic_store(&a->failed, 1);
}

/* ---- reading a topic from the beginning to its end offsets ---- */

li_err admf_read_topic(const li_config *cfg, const char *topic, admf_record_fn fn, void *ctx,
                       int64_t *end, char *errstr, size_t errstr_size)
{
    static const char *const props[] = { "enable.partition.eof", "true",
                                         "enable.auto.commit", "false", NULL };
    /* librdkafka 2.0 wants a group.id even for assign(); nothing is ever committed. */
    char group[300];
    snprintf(group, sizeof group, "%s.reader", topic);
    rd_kafka_t *c = li_kafka_consumer_new(cfg, group, props, errstr, errstr_size);
    if (!c)
        return LI_ERR_KAFKA;
    li_err rc = LI_ERR_KAFKA;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c, topic, NULL);
    rd_kafka_topic_partition_list_t *parts = NULL;
    int64_t *high = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(c, 0, rkt, &md, 10000);
    if (err || md->topic_cnt != 1 || md->topics[0].err) {
        snprintf(errstr, errstr_size, "metadata of %s: %s", topic,
                 rd_kafka_err2str(err ? err : md->topic_cnt ? md->topics[0].err : err));
        goto out;
    }
    int np = md->topics[0].partition_cnt;
    parts = rd_kafka_topic_partition_list_new(np);
    high = calloc((size_t)np + 1, sizeof *high);
    int remaining = 0;
    for (int i = 0; i < np; i++) {
        int32_t p = md->topics[0].partitions[i].id;
        int64_t lo, hi;
        err = rd_kafka_query_watermark_offsets(c, topic, p, &lo, &hi, 10000);
        if (err) {
            snprintf(errstr, errstr_size, "offsets of %s: %s", topic, rd_kafka_err2str(err));
            goto out;
        }
        high[i] = hi;
        if (end)
            *end += hi;
        if (hi > lo) {
            rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
            remaining++;
        }
    }
    if (remaining && (err = rd_kafka_assign(c, parts))) {
        snprintf(errstr, errstr_size, "assign %s: %s", topic, rd_kafka_err2str(err));
        goto out;
    }
    uint64_t deadline = li_mono_ns() + 120ull * 1000000000u;
    while (remaining > 0) {
        if (li_mono_ns() > deadline) {
            snprintf(errstr, errstr_size, "reading %s timed out", topic);
            goto out;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 500);
        if (!m)
            continue;
        int idx = -1;
        for (int i = 0; i < np; i++)
            if (md->topics[0].partitions[i].id == m->partition)
                idx = i;
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            snprintf(errstr, errstr_size, "reading %s: %s", topic, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            goto out;
        }
        int at_end = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
        if (!m->err) {
            fn(ctx, m);
            at_end = idx >= 0 && m->offset + 1 >= high[idx];
        }
        if (at_end && idx >= 0 && high[idx] >= 0) {
            high[idx] = -1; /* done: later messages of this partition are past the end */
            remaining--;
        }
        rd_kafka_message_destroy(m);
    }
    rc = LI_OK;
out:
    free(high);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    li_kafka_destroy(c, 0);
    return rc;
}

/* ---- limf.audit's retention ---- */

/* Runs one admin request already issued on q and returns its result event (NULL on
 * timeout or error, with errstr filled). */
static rd_kafka_event_t *admin_result(rd_kafka_queue_t *q, const char *what, char *errstr,
                                      size_t errstr_size)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 17000);
    if (!ev) {
        snprintf(errstr, errstr_size, "%s timed out", what);
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(errstr, errstr_size, "%s: %s", what, rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

/* 1 when the topic's retention.ms and retention.bytes are both -1 (kept for ever), 0 when
 * not, -1 when the broker did not say. */
static int retention_unlimited(rd_kafka_t *rk, const char *topic, char *errstr,
                               size_t errstr_size)
{
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_AdminOptions_set_request_timeout(opt, 15000, NULL, 0);
    rd_kafka_DescribeConfigs(rk, &res, 1, opt, q);
    int unlimited = -1;
    rd_kafka_event_t *ev = admin_result(q, "describe limf.audit", errstr, errstr_size);
    const rd_kafka_DescribeConfigs_result_t *r = ev ? rd_kafka_event_DescribeConfigs_result(ev)
                                                    : NULL;
    size_t n = 0, nc = 0;
    const rd_kafka_ConfigResource_t **out = r ? rd_kafka_DescribeConfigs_result_resources(r, &n)
                                              : NULL;
    if (n == 1 && rd_kafka_ConfigResource_error(out[0]) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const rd_kafka_ConfigEntry_t **c = rd_kafka_ConfigResource_configs(out[0], &nc);
        int found = 0;
        unlimited = 1;
        for (size_t i = 0; i < nc; i++) {
            const char *name = rd_kafka_ConfigEntry_name(c[i]);
            const char *value = rd_kafka_ConfigEntry_value(c[i]);
            if (strcmp(name, "retention.ms") == 0 || strcmp(name, "retention.bytes") == 0) {
                found++;
                if (!value || strcmp(value, "-1") != 0)
                    unlimited = 0;
            }
        }
        if (found != 2)
            unlimited = 0;
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(res);
    return unlimited;
}

/* Sets unlimited retention on a topic nobody has written to yet (the one just created). */
static li_err set_unlimited(rd_kafka_t *rk, const char *topic, char *errstr, size_t errstr_size)
{
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    /* AlterConfigs replaces the topic's whole configuration: every key is restated. */
    rd_kafka_ConfigResource_set_config(res, "retention.ms", "-1");
    rd_kafka_ConfigResource_set_config(res, "retention.bytes", "-1");
    rd_kafka_ConfigResource_set_config(res, "max.message.bytes", LI_KAFKA_MAX_RECORD);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ALTERCONFIGS);
    rd_kafka_AdminOptions_set_request_timeout(opt, 15000, NULL, 0);
    rd_kafka_AlterConfigs(rk, &res, 1, opt, q);
    li_err e = LI_ERR_KAFKA;
    rd_kafka_event_t *ev = admin_result(q, "set limf.audit's retention", errstr, errstr_size);
    const rd_kafka_AlterConfigs_result_t *r = ev ? rd_kafka_event_AlterConfigs_result(ev) : NULL;
    size_t n = 0;
    const rd_kafka_ConfigResource_t **out = r ? rd_kafka_AlterConfigs_result_resources(r, &n)
                                              : NULL;
    if (n == 1 && rd_kafka_ConfigResource_error(out[0]) == RD_KAFKA_RESP_ERR_NO_ERROR)
        e = LI_OK;
    else if (n == 1)
        snprintf(errstr, errstr_size, "set limf.audit's retention: %s",
                 rd_kafka_err2str(rd_kafka_ConfigResource_error(out[0])));
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(res);
    return e;
}

li_err admf_audit_topic_ensure(admf_service *a, int *retention_ok, char *errstr,
                               size_t errstr_size)
{
    int64_t lo = 0, hi = 0;
    /* One partition: limf.audit's order is the chain's. */
    if (li_kafka_ensure_topic(a->producer, a->audit_topic, 1, 0, 15000, errstr,
                              errstr_size) != LI_OK)
        return LI_ERR_KAFKA;
    int unlimited = retention_unlimited(a->producer, a->audit_topic, errstr, errstr_size);
    if (unlimited == 0) {
        /* Only a trail nobody has written yet is given unlimited retention here: an
         * existing one with another retention stays an alarm for the operator. */
        rd_kafka_resp_err_t we = RD_KAFKA_RESP_ERR__TIMED_OUT;
        /* A topic just created may not answer offset queries yet. */
        for (int tries = 0; tries < 5 && we; tries++) {
            if (tries)
                sleep(1);
            we = rd_kafka_query_watermark_offsets(a->producer, a->audit_topic, 0, &lo, &hi,
                                                  5000);
        }
        if (we)
            li_log_warn("%s: end offset unknown (%s)", a->audit_topic, rd_kafka_err2str(we));
        else if (hi == 0 && set_unlimited(a->producer, a->audit_topic, errstr, errstr_size) !=
                                LI_OK)
            li_log_warn("%s: %s", a->audit_topic, errstr);
        else if (hi == 0)
            unlimited = retention_unlimited(a->producer, a->audit_topic, errstr, errstr_size);
    }
    if (unlimited < 0)
        return LI_ERR_KAFKA;
    *retention_ok = unlimited;
    return LI_OK;
}
