/* Proves the Kafka fixture end to end: 10,000 records produced through li_kafka over
 * mutual TLS to the real broker, consumed back in a consumer group, every record present
 * exactly once and in order within its partition. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "li_kafka.h"
#include "li_log.h"
#include "li_time.h"

#define RECORDS 10000
#define PARTITIONS 4

static int delivered, failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk, (void)opaque;
    if (m->err)
        failed++;
    else
        delivered++;
}

static li_config *tls_config(void)
{
    const char *pki = getenv("LIMF_PKI_DIR");
    const char *bootstrap = getenv("LIMF_KAFKA_TLS_BOOTSTRAP");
    if (!pki || !bootstrap) {
        fprintf(stderr, "run through ctest: LIMF_PKI_DIR / LIMF_KAFKA_TLS_BOOTSTRAP unset\n");
        exit(1);
    }
    li_config *cfg = li_config_new();
    char path[512], errbuf[256];
    /* The broker's administrator, as deploy/kafka.sh configures it for this broker. */
    snprintf(path, sizeof path, "%s/clients/kafka-admin.conf", getenv("LIMF_KAFKA_DIR"));
    if (li_config_load_file(cfg, path, errbuf, sizeof errbuf) != LI_OK) {
        fprintf(stderr, "%s\n", errbuf);
        exit(1);
    }
    li_config_set(cfg, "topics.prefix", getenv("LIMF_TOPIC_PREFIX"));
    return cfg;
}

int main(void)
{
    li_log_init("test_kafka_roundtrip", LI_LOG_WARN, 0);
    printf("broker: Apache Kafka %s at %s (mutual TLS)\n", getenv("LIMF_KAFKA_VERSION"),
           getenv("LIMF_KAFKA_TLS_BOOTSTRAP"));
    li_config *cfg = tls_config();
    char errstr[512], topic[256];
    li_kafka_topic(cfg, "roundtrip", topic, sizeof topic);

    static const char *const producer_props[] = { "enable.idempotence", "true", "acks", "all",
                                                  "linger.ms", "5", NULL };
    rd_kafka_t *p = li_kafka_producer_new(cfg, producer_props, on_delivery, NULL, errstr,
                                          sizeof errstr);
    if (!p) {
        fprintf(stderr, "producer: %s\n", errstr);
        return 1;
    }
    if (li_kafka_ensure_topic(p, topic, PARTITIONS, 0, 10000, errstr, sizeof errstr) != LI_OK) {
        fprintf(stderr, "topic: %s\n", errstr);
        return 1;
    }
    for (int i = 0; i < RECORDS; i++) {
        char key[16], value[32];
        snprintf(key, sizeof key, "k%d", i % 37);
        snprintf(value, sizeof value, "%d", i);
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic),
                                      RD_KAFKA_V_KEY(key, strlen(key)),
                                      RD_KAFKA_V_VALUE(value, strlen(value)),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                      RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(p, 10);
        if (e) {
            fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
            return 1;
        }
        rd_kafka_poll(p, 0);
    }
    if (li_kafka_destroy(p, 30000) != 0 || delivered != RECORDS || failed) {
        fprintf(stderr, "delivered %d of %d, %d failed\n", delivered, RECORDS, failed);
        return 1;
    }

    char group[300];
    snprintf(group, sizeof group, "%sgroup", getenv("LIMF_TOPIC_PREFIX"));
    static const char *const consumer_props[] = { "auto.offset.reset", "earliest",
                                                  "enable.auto.commit", "true", NULL };
    rd_kafka_t *c = li_kafka_consumer_new(cfg, group, consumer_props, errstr, sizeof errstr);
    if (!c) {
        fprintf(stderr, "consumer: %s\n", errstr);
        return 1;
    }
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(c, subs);
    rd_kafka_topic_partition_list_destroy(subs);

    static unsigned char seen[RECORDS];
    int last_by_key[37];
    int64_t last_offset[PARTITIONS];
    for (int i = 0; i < 37; i++)
        last_by_key[i] = -1;
    for (int i = 0; i < PARTITIONS; i++)
        last_offset[i] = -1;
    int received = 0, errors = 0;
    uint64_t deadline = li_mono_ns() + 60ull * 1000000000u;
    while (received < RECORDS && li_mono_ns() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 500);
        if (!m)
            continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        char value[32] = { 0 };
        memcpy(value, m->payload, m->len < 31 ? m->len : 31);
        int v = atoi(value);
        int k = atoi((const char *)m->key + 1);
        if (v < 0 || v >= RECORDS || seen[v]) {
            fprintf(stderr, "unexpected or duplicate record %d\n", v);
            errors++;
        } else {
            seen[v] = 1;
        }
        /* Order per partition: offsets grow, and each key's values grow. */
        if (m->offset <= last_offset[m->partition] || v <= last_by_key[k]) {
            fprintf(stderr, "out of order: partition %" PRId32 " value %d\n", m->partition, v);
            errors++;
        }
        last_offset[m->partition] = m->offset;
        last_by_key[k] = v;
        received++;
        rd_kafka_message_destroy(m);
    }
    li_kafka_destroy(c, 0);
    li_config_free(cfg);
    printf("produced %d, consumed %d in group %s, %d errors\n", RECORDS, received, group, errors);
    return received == RECORDS && errors == 0 ? 0 : 1;
}
