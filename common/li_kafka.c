#include "li_kafka.h"

#include <stdio.h>
#include <string.h>

#include "li_log.h"

typedef struct conf_ctx {
    rd_kafka_conf_t *conf;
    char *errstr;
    size_t errstr_size;
} conf_ctx;

static li_err set_one(void *arg, const char *key, const char *value)
{
    conf_ctx *c = arg;
    if (rd_kafka_conf_set(c->conf, key, value, c->errstr, c->errstr_size) != RD_KAFKA_CONF_OK)
        return LI_ERR_INVAL;
    return LI_OK;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug */
    li_log_level l = level <= 3 ? LI_LOG_ERROR : level == 4 ? LI_LOG_WARN
                   : level <= 6 ? LI_LOG_INFO : LI_LOG_DEBUG;
    li_log(l, "kafka %s: %s", fac, buf);
}

/* defaults: set before the `kafka.*` keys (which may change them); extra: after them. */
static rd_kafka_conf_t *build_conf(const li_config *cfg, const char *const *defaults,
                                   const char *const *extra, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    conf_ctx c = { conf, errstr, errstr_size };
    rd_kafka_conf_set_log_cb(conf, log_cb);
    /* One record carries one X2/X3 PDU or one HI record, up to the PDU size limit of
     * the ingest (4 MiB by default) plus headers: librdkafka's 1 MB default would
     * refuse a large MSRP chunk, and a refused record is resent for ever. */
    if (rd_kafka_conf_set(conf, "message.max.bytes", LI_KAFKA_MAX_RECORD, errstr,
                          errstr_size) != RD_KAFKA_CONF_OK)
        goto fail;
    for (size_t i = 0; defaults && defaults[i]; i += 2)
        if (set_one(&c, defaults[i], defaults[i + 1]) != LI_OK)
            goto fail;
    if (li_config_each(cfg, "kafka.", set_one, &c) != LI_OK)
        goto fail;
    for (size_t i = 0; extra && extra[i]; i += 2)
        if (set_one(&c, extra[i], extra[i + 1]) != LI_OK)
            goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

rd_kafka_t *li_kafka_producer_new(const li_config *cfg, const char *const *extra,
                                  void (*dr_msg_cb)(rd_kafka_t *, const rd_kafka_message_t *,
                                                    void *),
                                  void *dr_opaque, char *errstr, size_t errstr_size)
{
    /* LZ4 batches: SIP and MSRP compress well, and every octet saved is an octet the
     * broker and each consumer need not encrypt or decrypt on TLS, which on a small
     * machine costs more than compressing (tests/bench/bench_chain.sh, docs/BENCHMARKS.md). */
    static const char *const defaults[] = { "compression.type", "lz4", NULL };
    rd_kafka_conf_t *conf = build_conf(cfg, defaults, extra, errstr, errstr_size);
    if (!conf)
        return NULL;
    if (dr_msg_cb)
        rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    rd_kafka_conf_set_opaque(conf, dr_opaque);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
    if (!rk)
        rd_kafka_conf_destroy(conf);
    return rk;
}

rd_kafka_t *li_kafka_consumer_new(const li_config *cfg, const char *group_id,
                                  const char *const *extra, char *errstr, size_t errstr_size)
{
    return li_kafka_consumer_new_cb(cfg, group_id, extra, NULL, NULL, errstr, errstr_size);
}

rd_kafka_t *li_kafka_consumer_new_cb(const li_config *cfg, const char *group_id,
                                     const char *const *extra, li_kafka_rebalance_fn rebalance,
                                     void *opaque, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = build_conf(cfg, NULL, extra, errstr, errstr_size);
    if (!conf)
        return NULL;
    if (group_id && rd_kafka_conf_set(conf, "group.id", group_id, errstr, errstr_size) !=
                        RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (rebalance)
        rd_kafka_conf_set_rebalance_cb(conf, rebalance);
    rd_kafka_conf_set_opaque(conf, opaque);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

void li_kafka_topic(const li_config *cfg, const char *base, char *out, size_t out_size)
{
    snprintf(out, out_size, "%s%s", li_config_get(cfg, "topics.prefix", ""), base);
}

/* A topic just created is not served until its partitions have leaders; callers read or
 * write it right away, so wait for that in the metadata. */
static li_err wait_for_leaders(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                               size_t errstr_size)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt) {
        snprintf(errstr, errstr_size, "%s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        return LI_ERR_KAFKA;
    }
    li_err err = LI_ERR_TIMEOUT;
    for (int waited = 0; waited <= timeout_ms && err != LI_OK; waited += 100) {
        const struct rd_kafka_metadata *md = NULL;
        if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                md->topics[0].partition_cnt > 0) {
                err = LI_OK;
                for (int i = 0; i < md->topics[0].partition_cnt; i++)
                    if (md->topics[0].partitions[i].leader < 0)
                        err = LI_ERR_TIMEOUT;
            }
            rd_kafka_metadata_destroy(md);
        }
        if (err != LI_OK)
            rd_kafka_poll(rk, 100);
    }
    rd_kafka_topic_destroy(rkt);
    if (err != LI_OK)
        snprintf(errstr, errstr_size, "%s: no partition leaders after %d ms", topic, timeout_ms);
    return err;
}

li_err li_kafka_ensure_topic(rd_kafka_t *rk, const char *topic, int partitions, int compacted,
                             int timeout_ms, char *errstr, size_t errstr_size)
{
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, -1, errstr,
                                                    errstr_size);
    if (!nt)
        return LI_ERR_INVAL;
    if (compacted)
        rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    rd_kafka_NewTopic_set_config(nt, "max.message.bytes", LI_KAFKA_MAX_RECORD);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(opt, timeout_ms, NULL, 0);
    rd_kafka_AdminOptions_set_request_timeout(opt, timeout_ms, NULL, 0);
    rd_kafka_CreateTopics(rk, &nt, 1, opt, q);
    li_err err = LI_ERR_TIMEOUT;
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 2000);
    if (ev) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        if (rd_kafka_event_error(ev)) {
            snprintf(errstr, errstr_size, "%s", rd_kafka_event_error_string(ev));
            err = LI_ERR_KAFKA;
        } else if (res) {
            size_t n;
            const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
            rd_kafka_resp_err_t e = n ? rd_kafka_topic_result_error(tr[0]) : RD_KAFKA_RESP_ERR_NO_ERROR;
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                err = LI_OK;
            } else {
                snprintf(errstr, errstr_size, "%s: %s", topic, rd_kafka_err2str(e));
                err = LI_ERR_KAFKA;
            }
        }
        rd_kafka_event_destroy(ev);
    } else {
        snprintf(errstr, errstr_size, "%s: create timed out", topic);
    }
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    if (err == LI_OK)
        err = wait_for_leaders(rk, topic, timeout_ms, errstr, errstr_size);
    return err;
}

int li_kafka_destroy(rd_kafka_t *rk, int flush_ms)
{
    if (!rk)
        return 0;
    int left = 0;
    if (rd_kafka_type(rk) == RD_KAFKA_PRODUCER) {
        rd_kafka_flush(rk, flush_ms);
        left = rd_kafka_outq_len(rk);
    } else {
        rd_kafka_consumer_close(rk);
    }
    rd_kafka_destroy(rk);
    return left;
}

li_err li_kafka_assign_from_start(rd_kafka_t *rk, const char *topic, char *errstr,
                                  size_t errstr_size)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t me = rd_kafka_metadata(rk, 0, t, &md, 10000);
    if (!me && (md->topic_cnt != 1 || md->topics[0].err))
        me = md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    if (me || md->topics[0].partition_cnt < 1) {
        snprintf(errstr, errstr_size, "%s: no metadata: %s", topic,
                 rd_kafka_err2str(me ? me : RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION));
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(t);
        return LI_ERR_IO;
    }
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    rd_kafka_resp_err_t ae = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (ae) {
        snprintf(errstr, errstr_size, "%s: assign: %s", topic, rd_kafka_err2str(ae));
        return LI_ERR_IO;
    }
    return LI_OK;
}

li_err li_kafka_hi_topic(const li_config *cfg, const char *id, const char *suffix, char *out,
                         size_t out_size)
{
    size_t n = suffix ? strlen(suffix) : 0;
    if (n != LI_KAFKA_SUFFIX_LEN || strspn(suffix, "0123456789abcdef") != n || !id || !*id)
        return LI_ERR_INVAL;
    int w = snprintf(out, out_size, "%slimf.hi.%s.%s", li_config_get(cfg, "topics.prefix", ""),
                     id, suffix);
    return w > 0 && (size_t)w < out_size ? LI_OK : LI_ERR_INVAL;
}

/* Waits for the result event of one admin request sent to q and hands it to check, which
 * returns the per-resource error. */
typedef rd_kafka_resp_err_t (*admin_check_fn)(rd_kafka_event_t *ev);

static li_err admin_wait(rd_kafka_queue_t *q, const char *what, int timeout_ms,
                         admin_check_fn check, rd_kafka_resp_err_t absent, char *errstr,
                         size_t errstr_size)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 2000);
    if (!ev) {
        snprintf(errstr, errstr_size, "%s: delete timed out", what);
        return LI_ERR_TIMEOUT;
    }
    rd_kafka_resp_err_t e = rd_kafka_event_error(ev) ? rd_kafka_event_error(ev) : check(ev);
    rd_kafka_event_destroy(ev);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == absent)
        return LI_OK;
    snprintf(errstr, errstr_size, "%s: %s", what, rd_kafka_err2str(e));
    return LI_ERR_KAFKA;
}

static rd_kafka_resp_err_t topic_deleted(rd_kafka_event_t *ev)
{
    const rd_kafka_DeleteTopics_result_t *res = rd_kafka_event_DeleteTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t **tr = res ? rd_kafka_DeleteTopics_result_topics(res, &n) : NULL;
    return n ? rd_kafka_topic_result_error(tr[0]) : RD_KAFKA_RESP_ERR_NO_ERROR;
}

static rd_kafka_resp_err_t group_deleted(rd_kafka_event_t *ev)
{
    const rd_kafka_DeleteGroups_result_t *res = rd_kafka_event_DeleteGroups_result(ev);
    size_t n = 0;
    const rd_kafka_group_result_t **gr = res ? rd_kafka_DeleteGroups_result_groups(res, &n) : NULL;
    const rd_kafka_error_t *err = n ? rd_kafka_group_result_error(gr[0]) : NULL;
    return err ? rd_kafka_error_code(err) : RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* Deletes one topic (topic set) or consumer group: a missing one is not an error. */
static li_err admin_delete(rd_kafka_t *rk, const char *name, int topic, int timeout_ms,
                           char *errstr, size_t errstr_size)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(
        rk, topic ? RD_KAFKA_ADMIN_OP_DELETETOPICS : RD_KAFKA_ADMIN_OP_DELETEGROUPS);
    rd_kafka_AdminOptions_set_request_timeout(opt, timeout_ms, NULL, 0);
    rd_kafka_DeleteTopic_t *dt = NULL;
    rd_kafka_DeleteGroup_t *dg = NULL;
    if (topic) {
        rd_kafka_AdminOptions_set_operation_timeout(opt, timeout_ms, NULL, 0);
        dt = rd_kafka_DeleteTopic_new(name);
        rd_kafka_DeleteTopics(rk, &dt, 1, opt, q);
    } else {
        dg = rd_kafka_DeleteGroup_new(name);
        rd_kafka_DeleteGroups(rk, &dg, 1, opt, q);
    }
    li_err err = admin_wait(q, name, timeout_ms, topic ? topic_deleted : group_deleted,
                            topic ? RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                                  : RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND,
                            errstr, errstr_size);
    rd_kafka_AdminOptions_destroy(opt);
    if (dt)
        rd_kafka_DeleteTopic_destroy(dt);
    if (dg)
        rd_kafka_DeleteGroup_destroy(dg);
    rd_kafka_queue_destroy(q);
    return err;
}

li_err li_kafka_delete_topic(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                             size_t errstr_size)
{
    return admin_delete(rk, topic, 1, timeout_ms, errstr, errstr_size);
}

li_err li_kafka_delete_group(rd_kafka_t *rk, const char *group, int timeout_ms, char *errstr,
                             size_t errstr_size)
{
    return admin_delete(rk, group, 0, timeout_ms, errstr, errstr_size);
}
