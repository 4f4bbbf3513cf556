#include "admf_uses.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "li_bytes.h"
#include "li_kafka.h"
#include "li_log.h"
#include "admf_validate.h"
#include "xpdu.pb-c.h"

#define POI_EVENT_FORMAT 4  /* TS 103 221-2 payload format 4: proprietary (limf's events) */

struct admf_uses {
    admf_service *admf;
    rd_kafka_t *consumer;
    pthread_t thread;
    atomic_int stop;
};

int admf_uses_parse(const uint8_t *value, size_t len, char *object, size_t object_size,
                       char *actor, size_t actor_size, char **detail)
{
    int found = 0;
    Limf__XPdu *p = limf__xpdu__unpack(NULL, len, value);
    if (!p)
        return 0;
    json_t *ev = NULL;
    if (p->pdu_type == 1 && p->payload_format == POI_EVENT_FORMAT && p->payload.len &&
        memmem(p->payload.data, p->payload.len, "passthrough", 11))
        ev = json_loadb((const char *)p->payload.data, p->payload.len, JSON_REJECT_DUPLICATES,
                        NULL);
    json_t *kind = json_object_get(ev, "limf_event"), *id = json_object_get(ev, "exception_id");
    if (json_is_string(kind) && strcmp(json_string_value(kind), "passthrough") == 0 &&
        json_is_string(id) && x1_valid_id(json_string_value(id))) {
        char xid[37] = "";
        if (p->xid.len == 16)
            li_uuid_format(p->xid.data, xid);
        json_t *fp = json_object_get(ev, "fingerprint"), *peer = json_object_get(ev, "peer");
        json_t *d = json_pack("{s:s,s:s,s:s,s:s}", "xid", xid, "fingerprint",
                              json_is_string(fp) ? json_string_value(fp) : "", "peer",
                              json_is_string(peer) ? json_string_value(peer) : "", "poi",
                              p->poi_id ? p->poi_id : "");
        *detail = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(d);
        snprintf(object, object_size, "exception/%s", json_string_value(id));
        snprintf(actor, actor_size, "poi:%.100s", p->poi_id ? p->poi_id : "");
        found = *detail != NULL;
    }
    json_decref(ev);
    limf__xpdu__free_unpacked(p, NULL);
    return found;
}

static void *consume(void *arg)
{
    admf_uses *u = arg;
    while (!atomic_load(&u->stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(u->consumer, 200);
        if (!m)
            continue;
        if (m->err) {
            /* limf.poi.events may not exist before the first ingest runs: keep waiting. */
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF &&
                m->err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
                li_log_warn("limf.poi.events: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        x1_principal who = { "", "poi" };
        char object[96], *detail = NULL;
        if (admf_uses_parse(m->payload, m->len, object, sizeof object, who.name,
                               sizeof who.name, &detail)) {
            if (admf_audit(u->admf, &who, "exception.use", object, "ok",
                              "session passed through under a certificate exception",
                              detail) != LI_OK) {
                /* Not recorded: do not commit; the record is read again after restart. */
                free(detail);
                rd_kafka_message_destroy(m);
                break;
            }
            free(detail);
        }
        /* Marks it done; the automatic commit sends the marks every few seconds. A
         * commit per record would be one request to the group coordinator per PDU of
         * the whole X2/X3 stream. */
        rd_kafka_offset_store(m->rkt, m->partition, m->offset);
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

admf_uses *admf_uses_new(const li_config *cfg, admf_service *admf, char *errstr,
                               size_t errstr_size)
{
    /* A limf.poi.events created after the start (by the first ingest) is noticed within
     * 10 s. */
    static const char *const props[] = { "enable.auto.commit", "true",
                                         "enable.auto.offset.store", "false",
                                         "auto.commit.interval.ms", "2000",
                                         "auto.offset.reset", "earliest",
                                         "topic.metadata.refresh.interval.ms", "10000",
                                         NULL };
    char topic[256], group[300];
    admf_uses *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    u->admf = admf;
    li_kafka_topic(cfg, "limf.poi.events", topic, sizeof topic);
    li_kafka_topic(cfg, li_config_get(cfg, "admf.uses_group", "limf-admf-exception-uses"),
                   group, sizeof group);
    if (!(u->consumer = li_kafka_consumer_new(cfg, group, props, errstr, errstr_size))) {
        free(u);
        return NULL;
    }
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(u->consumer, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (err || pthread_create(&u->thread, NULL, consume, u) != 0) {
        snprintf(errstr, errstr_size, "subscribe %s: %s", topic, rd_kafka_err2str(err));
        li_kafka_destroy(u->consumer, 0);
        free(u);
        return NULL;
    }
    return u;
}

void admf_uses_free(admf_uses *u)
{
    if (!u)
        return;
    atomic_store(&u->stop, 1);
    pthread_join(u->thread, NULL);
    rd_kafka_consumer_close(u->consumer);
    li_kafka_destroy(u->consumer, 0);
    free(u);
}
