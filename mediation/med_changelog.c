/* The mediator's state changelog: see med_changelog.h. */
#include "med_changelog.h"

#include <string.h>

#include "li_log.h"
#include "li_time.h"

li_err med_read_to_end(rd_kafka_t *rk, const char *topic, const int32_t *parts, int n,
                       void (*fn)(void *ctx, const rd_kafka_message_t *m), void *ctx,
                       int timeout_ms)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    for (int i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, topic, parts[i])->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        return LI_ERR_KAFKA;
    int left = n;
    uint64_t deadline = li_mono_ns() + (uint64_t)timeout_ms * 1000000ULL;
    while (left > 0 && li_mono_ns() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            left--;
        else if (!m->err)
            fn(ctx, m);
        else
            li_log_warn("mediator: reading %s: %s", topic, rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
    }
    return left == 0 ? LI_OK : LI_ERR_TIMEOUT;
}

typedef struct restore_ctx {
    med_engine *const *engines;
    int32_t n_engines;
    med_notify *notify;
    size_t records;
    int failed;
} restore_ctx;

static void apply(void *ctx, const rd_kafka_message_t *m)
{
    restore_ctx *r = ctx;
    char key[1024];
    med_engine *e = m->partition >= 0 && m->partition < r->n_engines
                  ? r->engines[m->partition] : NULL;
    if (!e || !m->key || m->key_len >= sizeof key)
        return;
    memcpy(key, m->key, m->key_len);
    key[m->key_len] = 0;
    li_err err = m->partition == 0 && r->notify && med_notify_owns(key)
               ? med_notify_restore(r->notify, key, m->payload, m->len)
               : med_engine_restore(e, key, m->payload, m->len);
    if (err != LI_OK)
        r->failed = 1;
    r->records++;
}

li_err med_changelog_restore(rd_kafka_t *reader, const char *topic, const int32_t *parts,
                             int n, med_engine *const *engines, int32_t n_engines,
                             med_notify *notify, size_t *records)
{
    restore_ctx r = { engines, n_engines, notify, 0, 0 };
    /* A restore may take long on a large changelog: two minutes before giving up. */
    li_err err = med_read_to_end(reader, topic, parts, n, apply, &r, 120000);
    rd_kafka_assign(reader, NULL);
    *records = r.records;
    if (err != LI_OK)
        return err;
    return r.failed ? LI_ERR_PROTO : LI_OK;
}
