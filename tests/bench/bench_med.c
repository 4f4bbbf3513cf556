/* limf-mediator benchmark (docs/BENCHMARKS.md).
 *   bench_med engine [sessions]   correlation engine alone: PDUs/s and records/s, state
 *                                 bytes per active session, RSS with `sessions` active
 *                                 (default 100000) dialogs.
 *   bench_med kafka <limf-mediator> <instances> [sessions [key=value...]]
 *                                 the daemon on a real broker with transactions on:
 *                                 starts the instances in one group, waits until the group
 *                                 has settled, produces the workload to limf.xpdu, reads
 *                                 limf.hi.* read_committed until every record is there;
 *                                 key=value are extra options of the instances. Needs
 *                                 LIMF_KAFKA_TLS_BOOTSTRAP, LIMF_PKI_DIR, LIMF_TOPIC_PREFIX
 *                                 (the environment of deploy/kafka.sh's env file). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_med_gen.h"
#include "hi.pb-c.h"
#include "li_kafka.h"
#include "li_log.h"
#include "li_time.h"
#include "med_engine.h"
#include "med_util.h"
#include "xpdu.pb-c.h"

#define MSRP 4

static long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0)
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static uint64_t records;

static void count_record(void *ctx, const char *dest, const Limf__HiRecord *r)
{
    (void)ctx, (void)dest;
    /* What the daemon does per record besides producing it. */
    uint8_t buf[4096];
    if (limf__hi_record__get_packed_size(r) <= sizeof buf)
        limf__hi_record__pack(r, buf);
    records++;
}

static uint64_t state_bytes, state_records;

static void count_state(void *ctx, const char *key, const uint8_t *value, size_t len)
{
    (void)ctx, (void)value;
    if (key[0] != 's')
        return;                  /* the per-task CIN counters are not per session */
    state_bytes += strlen(key) + len;
    state_records++;
}

static med_tasks *bench_tasks(int warrants)
{
    med_tasks *t = med_tasks_new();
    uint8_t poi[256];
    char poi_key[32];
    size_t pn = med_gen_poi(poi, poi_key);
    med_tasks_apply(t, poi_key, strlen(poi_key), poi, pn);
    for (int w = 0; w < warrants; w++) {
        uint8_t buf[512];
        char key[32];
        size_t n = med_gen_warrant(w, "lea-a", 0, buf, key);
        med_tasks_apply(t, key, strlen(key), buf, n);
    }
    return t;
}

/* Unpacks and processes phases [k0, k1) of sessions [s0, s1). */
static void feed(med_engine *e, int s0, int s1, int k0, int k1, int warrants, uint8_t *pool,
                 size_t *lens, double *busy_s)
{
    uint64_t now = li_now_ns();
    size_t n = 0;
    for (int k = k0; k < k1; k++)
        for (int s = s0; s < s1; s++) {
            uint8_t xid[16];
            lens[n] = med_gen_pdu(s, k, warrants, MSRP, now, pool + n * 2048, xid);
            n++;
        }
    uint64_t t0 = li_mono_ns();
    for (size_t i = 0; i < n; i++) {
        Limf__XPdu *p = limf__xpdu__unpack(NULL, lens[i], pool + i * 2048);
        med_engine_process(e, p, now);
        limf__xpdu__free_unpacked(p, NULL);
    }
    med_engine_state_flush(e, count_state, NULL);
    *busy_s += (double)(li_mono_ns() - t0) / 1e9;
}

static int bench_engine(int sessions)
{
    const int warrants = 1000, chunk = 1000;
    med_config cfg;
    med_config_defaults(&cfg);
    med_tasks *tasks = bench_tasks(warrants);
    uint8_t *pool = malloc((size_t)chunk * 9 * 2048);
    size_t *lens = malloc((size_t)chunk * 9 * sizeof *lens);

    /* 1. Throughput: whole sessions, chunk by chunk (state flushed per chunk as the
     *    daemon flushes per transaction). */
    med_engine *e = med_engine_new(&cfg, tasks, count_record, NULL);
    double busy = 0;
    int tp_sessions = sessions < 50000 ? sessions : 50000;
    for (int s = 0; s < tp_sessions; s += chunk)
        feed(e, s, s + chunk, 0, med_gen_phases(MSRP), warrants, pool, lens, &busy);
    uint64_t pdus = (uint64_t)tp_sessions * (uint64_t)med_gen_phases(MSRP);
    printf("engine throughput: %d sessions, %" PRIu64 " PDUs, %" PRIu64 " records in %.3f s: "
           "%.0f PDUs/s, %.0f records/s (unpack + correlate + HiRecord pack + state)\n",
           tp_sessions, pdus, records, busy, (double)pdus / busy, (double)records / busy);
    med_engine_free(e);

    /* 2. Active sessions: INVITE, 200, ACK and one MSRP message each, never ended. Each
     *    chunk's flush holds the latest state of each of its sessions once. */
    long rss0 = status_kb("VmRSS:");
    e = med_engine_new(&cfg, tasks, count_record, NULL);
    busy = 0;
    for (int s = 0; s < sessions; s += chunk) {
        state_bytes = state_records = 0;
        feed(e, s, s + chunk, 0, 4, warrants, pool, lens, &busy);
    }
    med_stats st;
    med_engine_stats(e, &st);
    long rss1 = status_kb("VmRSS:");
    printf("active sessions: %" PRIu64 "; changelog per session (key + latest value): "
           "%.0f bytes (%" PRIu64 " records in the last chunk of %d)\n", st.sessions,
           (double)state_bytes / chunk, state_records, chunk);
    printf("RSS: %ld kB before, %ld kB with %d active sessions: %.0f bytes per session; "
           "peak RSS (VmHWM) %ld kB\n", rss0, rss1, sessions,
           (double)(rss1 - rss0) * 1024.0 / sessions, status_kb("VmHWM:"));
    med_engine_free(e);
    med_tasks_free(tasks);
    free(pool);
    free(lens);
    return 0;
}

/* ---- on the broker ---- */

static int partitions_assigned(int instances)
{
    int sum = 0;
    for (int i = 0; i < instances; i++) {
        long long p = med_it_metric(i, "limf_mediator_partitions");
        if (p < 0)
            return -1;
        sum += (int)p;
    }
    return sum;
}

static int bench_kafka(int instances, int sessions, const char *const *extra)
{
    const int warrants = 60, partitions = 6;
    li_config *cfg = med_it_client_config();
    char errstr[512], t_xpdu[256], t_admin[256], t_hi[256], suffix[33];
    li_kafka_topic(cfg, "limf.xpdu", t_xpdu, sizeof t_xpdu);
    li_kafka_topic(cfg, "limf.admin", t_admin, sizeof t_admin);
    med_gen_suffix("lea-a", suffix);
    li_kafka_hi_topic(cfg, "lea-a", suffix, t_hi, sizeof t_hi);
    rd_kafka_t *p = med_it_producer(cfg);
    if (li_kafka_ensure_topic(p, t_xpdu, partitions, 0, 15000, errstr, sizeof errstr) != LI_OK ||
        li_kafka_ensure_topic(p, t_admin, 1, 1, 15000, errstr, sizeof errstr) != LI_OK) {
        fprintf(stderr, "setup: %s\n", errstr);
        return 1;
    }
    uint8_t poi[256];
    char poi_key[32];
    size_t pn = med_gen_poi(poi, poi_key);
    med_it_produce(p, t_admin, poi_key, strlen(poi_key), poi, pn);
    uint8_t dbuf[256];
    char dkey[160];
    size_t dn = med_gen_destination("lea-a", dbuf, dkey);
    med_it_produce(p, t_admin, dkey, strlen(dkey), dbuf, dn);
    for (int w = 0; w < warrants; w++) {
        uint8_t buf[512];
        char key[32];
        size_t n = med_gen_warrant(w, "lea-a", 0, buf, key);
        med_it_produce(p, t_admin, key, strlen(key), buf, n);
    }
    rd_kafka_flush(p, 30000);

    /* The group first, so that no rebalance falls inside the measurement. */
    for (int i = 0; i < instances; i++)
        med_it_start(i, extra);
    int stable = 0;
    for (int t = 0; t < 600 && stable < 20; t++) {
        stable = partitions_assigned(instances) == partitions ? stable + 1 : 0;
        usleep(100000);
    }
    if (stable < 20) {
        fprintf(stderr, "the group did not settle\n");
        med_it_stop_all();
        return 1;
    }
    uint64_t want = 0;
    for (int s = 0; s < sessions; s++)
        want += (uint64_t)med_gen_records(s % warrants, MSRP);
    uint64_t t0 = li_mono_ns();
    for (int k = 0; k < med_gen_phases(MSRP); k++)
        for (int s = 0; s < sessions; s++) {
            uint8_t buf[2048], xid[16];
            size_t n = med_gen_pdu(s, k, warrants, MSRP, li_now_ns(), buf, xid);
            med_it_produce(p, t_xpdu, xid, 16, buf, n);
        }
    rd_kafka_flush(p, 60000);
    double produce_s = (double)(li_mono_ns() - t0) / 1e9;

    /* Count committed records; the rate is taken between the first and the last
     * record's mediated_ns. */
    static const char *const cprops[] = { "isolation.level", "read_committed",
                                          "fetch.wait.max.ms", "50", NULL };
    rd_kafka_t *c = li_kafka_consumer_new(cfg, "bench-med-reader", cprops, errstr,
                                          sizeof errstr);
    uint64_t got = 0, first = UINT64_MAX, last = 0;
    int assigned = 0;
    uint64_t deadline = li_mono_ns() + 300 * 1000000000ULL;
    while (c && got < want && li_mono_ns() < deadline) {
        if (!assigned) {
            rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(64);
            const rd_kafka_metadata_t *md;
            rd_kafka_topic_t *t = rd_kafka_topic_new(c, t_hi, NULL);
            if (rd_kafka_metadata(c, 0, t, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                if (md->topics[0].err == 0)
                    for (int i = 0; i < md->topics[0].partition_cnt; i++)
                        rd_kafka_topic_partition_list_add(l, t_hi, i)->offset =
                            RD_KAFKA_OFFSET_BEGINNING;
                rd_kafka_metadata_destroy(md);
            }
            rd_kafka_topic_destroy(t);
            if (l->cnt) {
                rd_kafka_assign(c, l);
                assigned = 1;
            } else {
                usleep(200000);
            }
            rd_kafka_topic_partition_list_destroy(l);
            continue;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        if (!m)
            continue;
        if (!m->err) {
            Limf__HiRecord *r = limf__hi_record__unpack(NULL, m->len, m->payload);
            if (r) {
                first = r->mediated_ns < first ? r->mediated_ns : first;
                last = r->mediated_ns > last ? r->mediated_ns : last;
                limf__hi_record__free_unpacked(r, NULL);
            }
            got++;
        }
        rd_kafka_message_destroy(m);
    }
    double span = last > first ? (double)(last - first) / 1e9 : 0;
    printf("instances %d: %d sessions, %d PDUs produced in %.2f s; %" PRIu64 "/%" PRIu64
           " records committed; first to last record %.2f s: %.0f records/s total, %.0f "
           "records/s per instance\n", instances, sessions, sessions * med_gen_phases(MSRP),
           produce_s, got, want, span, span > 0 ? (double)got / span : 0,
           span > 0 ? (double)got / span / instances : 0);
    for (int i = 0; i < instances; i++)
        med_it_term(i);
    li_kafka_destroy(c, 0);
    li_kafka_destroy(p, 1000);
    li_config_free(cfg);
    return got == want ? 0 : 1;
}

int main(int argc, char **argv)
{
    li_log_init("bench_med", LI_LOG_WARN, 0);
    if (argc >= 2 && strcmp(argv[1], "engine") == 0)
        return bench_engine(argc > 2 ? atoi(argv[2]) : 100000);
    if (argc >= 4 && strcmp(argv[1], "kafka") == 0) {
        char *it_argv[2] = { argv[0], argv[2] };
        med_it_init(2, it_argv, "bench_med");
        int instances = atoi(argv[3]);
        if (instances < 1 || instances > MED_IT_MAX_INSTANCES) {
            fprintf(stderr, "bench_med: 1 to %d instances\n", MED_IT_MAX_INSTANCES);
            return 2;
        }
        return bench_kafka(instances, argc > 4 ? atoi(argv[4]) : 20000,
                           (const char *const *)(argc > 5 ? argv + 5 : NULL));
    }
    fprintf(stderr, "usage: bench_med engine [sessions] | bench_med kafka <limf-mediator> "
                    "<instances> [sessions [key=value...]]\n");
    return 2;
}
