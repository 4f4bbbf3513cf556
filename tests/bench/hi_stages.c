/* limf-hi-stages: reads a destination's HI topic (read_committed, from the beginning to
 * the end) and prints, per record, the times each stage of the chain stamped on it, as
 * JSON lines {"cin","seq","poi_ns","ingest_ns","mediated_ns","kafka_ms"}, for the
 * whole-chain benchmark's per-stage latency breakdown (joined with the LEMF's receipt
 * times by CIN and sequence number).
 *   limf-hi-stages -c common.conf -o hi.destination=ID */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hi.pb-c.h"
#include "li_kafka.h"
#include "li_log.h"
#include "li_time.h"

int main(int argc, char **argv)
{
    li_config *cfg = li_config_new();
    char errstr[512], topic[320] = "", base[200];
    if (!cfg || li_config_from_args(cfg, "limf-hi-stages", argc, argv, NULL) != LI_OK)
        return 2;
    /* The destination's topic is limf.hi.<id>.<suffix>, the suffix drawn by the ADMF: the
     * one topic of that id the broker lists. */
    snprintf(base, sizeof base, "limf.hi.%s.", li_config_get(cfg, "hi.destination", "lea1"));
    char want[256];
    li_kafka_topic(cfg, base, want, sizeof want);
    static const char *const props[] = { "isolation.level", "read_committed",
                                         "enable.partition.eof", "true",
                                         "enable.auto.commit", "false", NULL };
    /* A group of its own that never commits: assign() reads everything, every time. */
    char group[64];
    snprintf(group, sizeof group, "limf-hi-stages-%d", (int)getpid());
    rd_kafka_t *c = li_kafka_consumer_new(cfg, group, props, errstr, sizeof errstr);
    if (!c) {
        fprintf(stderr, "limf-hi-stages: %s\n", errstr);
        return 2;
    }
    const struct rd_kafka_metadata *md;
    if (rd_kafka_metadata(c, 1, NULL, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "limf-hi-stages: no metadata\n");
        return 2;
    }
    int parts = 0;
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strncmp(md->topics[i].topic, want, strlen(want)) && !md->topics[i].err &&
            strlen(md->topics[i].topic) == strlen(want) + LI_KAFKA_SUFFIX_LEN) {
            snprintf(topic, sizeof topic, "%s", md->topics[i].topic);
            parts = md->topics[i].partition_cnt;
        }
    if (!*topic) {
        fprintf(stderr, "limf-hi-stages: no topic %s<suffix>\n", want);
        return 2;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    rd_kafka_assign(c, l);
    rd_kafka_topic_partition_list_destroy(l);
    int at_end = 0;
    uint64_t deadline = li_mono_ns() + 120ull * 1000000000u;
    while (at_end < parts && li_mono_ns() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 5000);
        if (!m)
            break;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            at_end++;
        } else if (m->err) {
            fprintf(stderr, "limf-hi-stages: %s\n", rd_kafka_message_errstr(m));
        } else {
            Limf__HiRecord *r = limf__hi_record__unpack(NULL, m->len, m->payload);
            if (r) {
                /* HI2 and HI3 are numbered apart: the interface is part of the key. */
                printf("{\"cin\":%" PRIu64 ",\"hi\":%d,\"seq\":%" PRIu64 ",\"poi_ns\":%" PRIu64
                       ",\"ingest_ns\":%" PRIu64 ",\"mediated_ns\":%" PRIu64
                       ",\"kafka_ms\":%" PRId64 "}\n",
                       r->cin, r->kind == LIMF__HI_RECORD__KIND__CC ? 3 : 2, r->seq,
                       r->timestamp_ns, r->ingest_ns, r->mediated_ns,
                       rd_kafka_message_timestamp(m, NULL));
                limf__hi_record__free_unpacked(r, NULL);
            }
        }
        rd_kafka_message_destroy(m);
    }
    li_kafka_destroy(c, 0);
    li_config_free(cfg);
    return 0;
}
