/* limf-mediator benchmark (docs/BENCHMARKS.md).
 *   bench_med engine [sessions]   correlation engine alone: PDUs/s and records/s, state
 *                                 bytes per active session, RSS with `sessions` active
 *                                 (default 100000) dialogs.
 *   bench_med kafka <limf-mediator> <instances> [sessions]
 *                                 the daemon on a real broker with transactions on:
 *                                 preloads limf.xpdu, starts the instances in one group,
 *                                 reads limf.hi.* read_committed until every record is
 *                                 there. Needs LIMF_KAFKA_TLS_BOOTSTRAP, LIMF_PKI_DIR,
 *                                 LIMF_TOPIC_PREFIX (as ctest gives integration tests). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_med_gen.h"
#include "hi.pb-c.h"
#include "li_kafka.h"
#include "li_log.h"
#include "li_time.h"
#include "med_engine.h"
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

static li_config *client_config(void)
{
    const char *pki = getenv("LIMF_PKI_DIR");
    li_config *cfg = li_config_new();
    char path[512];
    li_config_set(cfg, "kafka.bootstrap.servers", getenv("LIMF_KAFKA_TLS_BOOTSTRAP"));
    li_config_set(cfg, "kafka.security.protocol", "ssl");
    snprintf(path, sizeof path, "%s/ca.pem", pki);
    li_config_set(cfg, "kafka.ssl.ca.location", path);
    snprintf(path, sizeof path, "%s/client.pem", pki);
    li_config_set(cfg, "kafka.ssl.certificate.location", path);
    snprintf(path, sizeof path, "%s/client.key", pki);
    li_config_set(cfg, "kafka.ssl.key.location", path);
    li_config_set(cfg, "topics.prefix", getenv("LIMF_TOPIC_PREFIX"));
    return cfg;
}

static pid_t start_instance(const char *bin, int i)
{
    const char *pki = getenv("LIMF_PKI_DIR");
    char o[12][512];
    snprintf(o[0], 512, "kafka.bootstrap.servers=%s", getenv("LIMF_KAFKA_TLS_BOOTSTRAP"));
    snprintf(o[1], 512, "kafka.security.protocol=ssl");
    snprintf(o[2], 512, "kafka.ssl.ca.location=%s/ca.pem", pki);
    snprintf(o[3], 512, "kafka.ssl.certificate.location=%s/mediator.pem", pki);
    snprintf(o[4], 512, "kafka.ssl.key.location=%s/mediator.key", pki);
    snprintf(o[5], 512, "topics.prefix=%s", getenv("LIMF_TOPIC_PREFIX"));
    snprintf(o[6], 512, "mediator.instance_id=b%d", i);
    snprintf(o[7], 512, "log.level=warn");
    char *args[20];
    int n = 0;
    args[n++] = (char *)bin;
    for (int k = 0; k < 8; k++) {
        args[n++] = "-o";
        args[n++] = o[k];
    }
    args[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        execv(bin, args);
        _exit(127);
    }
    return pid;
}

static int bench_kafka(const char *bin, int instances, int sessions)
{
    if (!getenv("LIMF_KAFKA_TLS_BOOTSTRAP") || !getenv("LIMF_PKI_DIR") ||
        !getenv("LIMF_TOPIC_PREFIX")) {
        fprintf(stderr, "bench_med kafka: LIMF_KAFKA_TLS_BOOTSTRAP, LIMF_PKI_DIR and "
                        "LIMF_TOPIC_PREFIX must be set\n");
        return 2;
    }
    const int warrants = 60;
    li_config *cfg = client_config();
    char errstr[512], t_xpdu[256], t_admin[256], t_hi[256];
    li_kafka_topic(cfg, "limf.xpdu", t_xpdu, sizeof t_xpdu);
    li_kafka_topic(cfg, "limf.admin", t_admin, sizeof t_admin);
    li_kafka_topic(cfg, "limf.hi.lea-a", t_hi, sizeof t_hi);
    static const char *const pprops[] = { "enable.idempotence", "true", "acks", "all",
                                          "linger.ms", "20", NULL };
    rd_kafka_t *p = li_kafka_producer_new(cfg, pprops, NULL, NULL, errstr, sizeof errstr);
    if (!p || li_kafka_ensure_topic(p, t_xpdu, 6, 0, 15000, errstr, sizeof errstr) != LI_OK ||
        li_kafka_ensure_topic(p, t_admin, 1, 1, 15000, errstr, sizeof errstr) != LI_OK) {
        fprintf(stderr, "setup: %s\n", errstr);
        return 1;
    }
    for (int w = 0; w < warrants; w++) {
        uint8_t buf[512];
        char key[32];
        size_t n = med_gen_warrant(w, "lea-a", 0, buf, key);
        rd_kafka_producev(p, RD_KAFKA_V_TOPIC(t_admin), RD_KAFKA_V_KEY(key, strlen(key)),
                          RD_KAFKA_V_VALUE(buf, n), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_END);
    }
    uint64_t want = 0;
    for (int s = 0; s < sessions; s++)
        want += (uint64_t)med_gen_records(s % warrants, MSRP);
    for (int k = 0; k < med_gen_phases(MSRP); k++)
        for (int s = 0; s < sessions; s++) {
            uint8_t buf[2048], xid[16];
            size_t n = med_gen_pdu(s, k, warrants, MSRP, li_now_ns(), buf, xid);
            while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(t_xpdu), RD_KAFKA_V_KEY(xid, 16),
                                     RD_KAFKA_V_VALUE(buf, n),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                     RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(p, 10);
        }
    rd_kafka_flush(p, 60000);
    li_kafka_destroy(p, 1000);
    printf("preloaded %d sessions (%d PDUs); expecting %" PRIu64 " records\n", sessions,
           sessions * med_gen_phases(MSRP), want);

    pid_t pids[16];
    uint64_t t0 = li_mono_ns();
    for (int i = 0; i < instances && i < 16; i++)
        pids[i] = start_instance(bin, i);
    /* Count committed records as they appear; the rate is taken between the first and
     * the last record's mediated_ns, so that start-up is not counted. */
    static const char *const cprops[] = { "isolation.level", "read_committed",
                                          "fetch.wait.max.ms", "50", NULL };
    rd_kafka_t *c = li_kafka_consumer_new(cfg, "bench-med-reader", cprops, errstr,
                                          sizeof errstr);
    uint64_t got = 0, first = UINT64_MAX, last = 0;
    int assigned = 0;
    uint64_t deadline = li_mono_ns() + 300 * 1000000000ULL;
    int alive = instances;
    while (got < want && alive && li_mono_ns() < deadline) {
        for (int i = 0; i < instances && i < 16; i++)
            if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == pids[i]) {
                fprintf(stderr, "instance %d exited\n", i);
                pids[i] = 0;
                alive--;
            }
        if (!assigned) {
            int32_t np = -1;
            const rd_kafka_metadata_t *md;
            rd_kafka_topic_t *t = rd_kafka_topic_new(c, t_hi, NULL);
            if (rd_kafka_metadata(c, 0, t, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                if (md->topics[0].err == 0)
                    np = md->topics[0].partition_cnt;
                rd_kafka_metadata_destroy(md);
            }
            rd_kafka_topic_destroy(t);
            if (np <= 0) {
                usleep(200000);
                continue;
            }
            rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(np);
            for (int i = 0; i < np; i++)
                rd_kafka_topic_partition_list_add(l, t_hi, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
            rd_kafka_assign(c, l);
            rd_kafka_topic_partition_list_destroy(l);
            assigned = 1;
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
    double wall = (double)(li_mono_ns() - t0) / 1e9;
    double span = last > first ? (double)(last - first) / 1e9 : 0;
    printf("instances %d: %" PRIu64 "/%" PRIu64 " records committed; %.1f s from start "
           "(start-up included); between first and last record %.2f s: %.0f records/s total, "
           "%.0f records/s per instance\n", instances, got, want, wall, span,
           span > 0 ? (double)got / span : 0, span > 0 ? (double)got / span / instances : 0);
    for (int i = 0; i < instances && i < 16; i++) {
        if (pids[i] <= 0)
            continue;
        kill(pids[i], SIGTERM);
        waitpid(pids[i], NULL, 0);
    }
    li_kafka_destroy(c, 0);
    li_config_free(cfg);
    return got == want ? 0 : 1;
}

int main(int argc, char **argv)
{
    li_log_init("bench_med", LI_LOG_WARN, 0);
    if (argc >= 2 && strcmp(argv[1], "engine") == 0)
        return bench_engine(argc > 2 ? atoi(argv[2]) : 100000);
    if (argc >= 4 && strcmp(argv[1], "kafka") == 0)
        return bench_kafka(argv[2], atoi(argv[3]), argc > 4 ? atoi(argv[4]) : 20000);
    fprintf(stderr, "usage: bench_med engine [sessions] | bench_med kafka <limf-mediator> "
                    "<instances> [sessions]\n");
    return 2;
}
