/* The mediator's state changelog: see med_changelog.h. */
#include "med_changelog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "li_log.h"
#include "li_time.h"
#include "med_map.h"
#include "med_state.pb-c.h"

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
    med_map clear;               /* Kafka key (a hash) -> the clear key its value named */
    size_t records;
    int failed;
} restore_ctx;

/* The clear key of a record into key (med_keys.h): State.key of its value, remembered for
 * the tombstone that may follow, which has no value; the Kafka key itself for records
 * written before keys were hashed. 0 when out of memory or undecodable. */
static int clear_key(restore_ctx *r, const rd_kafka_message_t *m, char *key, size_t size)
{
    memcpy(key, m->key, m->key_len);
    key[m->key_len] = 0;
    if (m->len == 0) {
        char *named = med_map_del(&r->clear, key);
        if (named) {
            snprintf(key, size, "%s", named);
            free(named);
        }
        return 1;
    }
    Limf__Med__State *st = limf__med__state__unpack(NULL, m->len, m->payload);
    if (!st)
        return 0;
    int ok = 1;
    if (st->key && *st->key && strlen(st->key) < size) {
        char *named = strdup(st->key);
        char *old = med_map_get(&r->clear, key);
        ok = named && med_map_put(&r->clear, key, named) == LI_OK;
        if (ok) {
            free(old);
            snprintf(key, size, "%s", named);
        } else {
            free(named);
        }
    }
    limf__med__state__free_unpacked(st, NULL);
    return ok;
}

static void apply(void *ctx, const rd_kafka_message_t *m)
{
    restore_ctx *r = ctx;
    char key[1024];
    med_engine *e = m->partition >= 0 && m->partition < r->n_engines
                  ? r->engines[m->partition] : NULL;
    if (!e || !m->key || m->key_len >= sizeof key)
        return;
    if (!clear_key(r, m, key, sizeof key)) {
        r->failed = 1;
        return;
    }
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
    restore_ctx r = { engines, n_engines, notify, { 0 }, 0, 0 };
    med_map_init(&r.clear);
    /* A restore may take long on a large changelog: two minutes before giving up. */
    li_err err = med_read_to_end(reader, topic, parts, n, apply, &r, 120000);
    med_map_free_values(&r.clear, free);
    rd_kafka_assign(reader, NULL);
    *records = r.records;
    if (err != LI_OK)
        return err;
    return r.failed ? LI_ERR_PROTO : LI_OK;
}
