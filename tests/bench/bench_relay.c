/* bench_relay: what tapping costs limf-msrp-relay. The UE leg is TLS (limf-test-ue,
 * self-signed certificate), the network leg TCP; one session per run sends SENDs for
 * `seconds` with 32 unanswered in flight and the network side answers each with 200.
 * Tap off: an untasked target. Tap on: the target is tasked over X1 (X2andX3), and every
 * message in both directions goes as X3 through the relay's X2/X3 sender (mutual TLS)
 * to a real limf-ingest and on to Kafka.
 *
 * The tap's cost is measured in the relay process: its CPU time per relayed SEND+200
 * pair, from /proc/PID/task/TID/stat, split into the relaying thread and the X2/X3
 * sender thread ("x2x3-sender"), besides the wall-clock rates and what the two test
 * endpoints (the load) took. The sink, limf-ingest (with its librdkafka threads) and this
 * build's Kafka broker, stands for the mediation function's hosts: it runs under
 * SCHED_IDLE (LIMF_BENCH_SINK=shared: as the relay's equal instead); its CPU is printed
 * separately, and every run waits until the sender's buffer is empty (everything
 * acknowledged, i.e. in Kafka) before the next one starts. The sender's buffer is warmed up first (its pages are touched once
 * in the process's life, as it first fills), and large enough that nothing is dropped.
 *
 *   LIMF_BUILD_DIR=$PWD LIMF_SOURCE_DIR=.. ../tests/integration/with_kafka.sh bench \
 *     x2x3/bench_relay [seconds=5] [rounds=3] [message sizes...=1024 65536]
 * `bench_relay send` measures the tap's own work on the relaying thread alone (CPU time
 * per x2x3_sender_send() of a tapped message). LIMF_BENCH_PERF=DIR also records
 * `perf record -g` of the relay for each run into DIR/relay-<size>-<off|on>.data. */
#include <dirent.h>
#include <netinet/in.h>
#include <sched.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "relay_util.h"
#include "x2x3_util.h"

static const uint8_t XID[16] = { 0xbe, 0x4c, 0x90, 0x01, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 9 };
static const uint8_t DID[16] = { 0xbe, 0xd1, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 9 };

#define SENDER_COMM "x2x3-sender"

typedef struct cpu {
    double relaying, sender, other;   /* seconds: relay threads by role */
    double ingest;                    /* seconds: limf-ingest, every thread */
    double broker;                    /* seconds: the Kafka broker (JVM), every thread */
    double endpoints;                 /* seconds: the UE and the network side (the load) */
    double sender_sleeps;             /* voluntary context switches of the sender thread */
    double relaying_sleeps;           /* of the relaying thread (epoll_wait slept) */
    double relaying_preempted;        /* involuntary ones (another task took its core) */
} cpu;

typedef struct result {
    double msg_per_s, mb_per_s, seconds;
    long messages;                    /* SENDs answered (each is a SEND and a 200) */
    cpu us_per_msg;                   /* CPU microseconds per SEND+200 pair */
    long long tapped, dropped, reconnects;
    double drain_s;                   /* after the UE stopped, until all acknowledged */
} result;

/* Context switches of one task (/proc/.../status): how often it slept (voluntary) and
 * how often another task took its core (involuntary). */
static double task_switches(const char *stat_path, int voluntary)
{
    char path[700], line[256];
    snprintf(path, sizeof path, "%.*s/status", (int)(strlen(stat_path) - 5), stat_path);
    FILE *f = fopen(path, "r");
    double v = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (voluntary ? sscanf(line, "voluntary_ctxt_switches: %lf", &v) == 1
                      : sscanf(line, "nonvoluntary_ctxt_switches: %lf", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* utime + stime of one task in seconds (/proc/.../stat fields 14 and 15). */
static double task_cpu(const char *stat_path, char *comm, size_t comm_size)
{
    char buf[2048];
    FILE *f = fopen(stat_path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    long long ut = 0, st = 0;
    if (!open || !close || close < open ||
        sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &ut, &st) != 2)
        return 0;
    if (comm) {
        size_t len = (size_t)(close - open - 1) < comm_size - 1 ? (size_t)(close - open - 1)
                                                                 : comm_size - 1;
        memcpy(comm, open + 1, len);
        comm[len] = '\0';
    }
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Calls fn for every thread of pid. */
static void each_task(pid_t pid, void (*fn)(pid_t tid, const char *stat_path, void *ctx),
                      void *ctx)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char stat_path[600];
        snprintf(stat_path, sizeof stat_path, "%s/%s/stat", path, e->d_name);
        fn((pid_t)atoi(e->d_name), stat_path, ctx);
    }
    closedir(d);
}

typedef struct relay_sample {
    pid_t pid;
    cpu *out;
} relay_sample;

static void relay_task(pid_t tid, const char *stat_path, void *ctx)
{
    relay_sample *rs = ctx;
    char comm[32];
    double t = task_cpu(stat_path, comm, sizeof comm);
    if (tid == rs->pid) {                     /* msrp_relay_run runs in the main thread */
        rs->out->relaying += t;
        rs->out->relaying_sleeps += task_switches(stat_path, 1);
        rs->out->relaying_preempted += task_switches(stat_path, 0);
    } else if (strcmp(comm, SENDER_COMM) == 0) {
        rs->out->sender += t;
        rs->out->sender_sleeps += task_switches(stat_path, 1);
    } else
        rs->out->other += t;                  /* X1 NE, control API, metrics */
}

static void ingest_task(pid_t tid, const char *stat_path, void *ctx)
{
    (void)tid;
    *(double *)ctx += task_cpu(stat_path, NULL, 0);
}

static void sched_task(pid_t tid, const char *stat_path, void *ctx)
{
    (void)stat_path;
    /* SCHED_IDLE: runs only on a core nobody else wants; SCHED_OTHER at nice 0: an equal. */
    struct sched_param sp = { 0 };
    sched_setscheduler(tid, *(const int *)ctx ? SCHED_IDLE : SCHED_OTHER, &sp);
}

static pid_t broker_pid;   /* this build's test broker ($LIMF_KAFKA_DIR/kafka.pid), or 0 */
static pid_t ingest_pid;

static cpu sample(pid_t relay, pid_t ingest)
{
    cpu c;
    memset(&c, 0, sizeof c);
    relay_sample rs = { relay, &c };
    each_task(relay, relay_task, &rs);
    each_task(ingest, ingest_task, &c.ingest);
    if (broker_pid > 0)
        each_task(broker_pid, ingest_task, &c.broker);
    return c;
}

/* Where the sink (limf-ingest and the broker) runs: `elsewhere` (the default) stands for
 * the mediation function's own hosts, where a POI's X2/X3 goes: the sink runs under
 * SCHED_IDLE, on cycles the relay and the test endpoints leave, and its lag waits in the
 * sender's buffer (the drain column). `shared` puts it beside the relay as an equal: one
 * 2-core box that is POI, ingest and Kafka at once. */
static int sink_elsewhere(void)
{
    const char *v = getenv("LIMF_BENCH_SINK");
    return !v || strcmp(v, "shared") != 0;
}

static void place_sink(pid_t ingest, int idle)
{
    each_task(ingest, sched_task, &idle);
    if (broker_pid > 0)
        each_task(broker_pid, sched_task, &idle);
}

/* The broker outlives the benchmark (it is the build's test fixture): at exit, failed
 * checks included, it gets its priority back. */
static void unplace_sink(void)
{
    place_sink(ingest_pid, 0);
}

/* CPU seconds of this process's reaped children: the test endpoints of a run once both
 * are waited for (with LIMF_BENCH_PERF, perf's own too). */
static double children_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long relay_metric(const rt_relay *r, const char *name)
{
    char text[16384];
    if (x2x3t_http_get(r->metrics_port, "/metrics", text, sizeof text) != 200)
        return -1;
    return x2x3t_metric(text, name);
}

static pid_t perf_start(pid_t relay, const char *size, int on)
{
    const char *dir = getenv("LIMF_BENCH_PERF");
    if (!dir || !*dir)
        return 0;
    char out[600], pid[16];
    snprintf(out, sizeof out, "%s/relay-%s-%s.data", dir, size, on ? "on" : "off");
    snprintf(pid, sizeof pid, "%d", (int)relay);
    pid_t p = fork();
    if (p == 0) {
        execlp("perf", "perf", "record", "-q", "-g", "-F", "999", "-p", pid, "-o", out,
               (char *)NULL);
        _exit(127);
    }
    usleep(300000);   /* attached before the load starts */
    return p;
}

static void perf_stop(pid_t p)
{
    if (p <= 0)
        return;
    kill(p, SIGINT);
    waitpid(p, NULL, 0);
}

static result run(const rt_relay *r, pid_t ingest, const char *target, const char *size,
                  const char *secs, int index, int on)
{
    char name[32], fp[128], cert[700], key[700];
    snprintf(name, sizeof name, "b%d", index);
    rt_ue_cert(name, fp, sizeof fp);
    snprintf(cert, sizeof cert, "%s/%s.pem", rt_dir(), name);
    snprintf(key, sizeof key, "%s/%s.key", rt_dir(), name);
    char nname[40], uname[40];
    snprintf(nname, sizeof nname, "%s-net", name);
    snprintf(uname, sizeof uname, "%s-ue", name);
    uint16_t net_port;
    const char *net_args[] = { "--listen", "127.0.0.1:0", "--tcp", "--path",
                               "msrp://127.0.0.1:9/benchnet;tcp", "--until-closed",
                               "--timeout-ms", "600000", NULL };
    pid_t net = rt_ue_start(nname, net_args, &net_port);
    char body[1024], resp[4096];
    snprintf(body, sizeof body,
             "{\"mode\":\"agw\",\"ue\":{\"transport\":\"tls\",\"fingerprint\":\"%s\","
             "\"path\":\"msrps://127.0.0.1:7/benchue;tcp\"},\"network\":{\"next_hop\":"
             "\"msrp://127.0.0.1:%u/benchnet;tcp\"},\"target\":\"%s\"}",
             fp, net_port, target);
    RT_CHECK(rt_http(r->control, "POST", "/v1/sessions", body, resp, sizeof resp) == 201,
             "reserve: %s", resp);
    char to[512], relay_fp[128], port[32];
    rt_json_str(resp, "ue_path", to, sizeof to);
    rt_json_str(resp, "fingerprint", relay_fp, sizeof relay_fp);
    snprintf(port, sizeof port, "127.0.0.1:%ld", rt_json_int(resp, "ue_port"));
    const char *ue_args[] = { "--connect", port, "--cert", cert, "--key", key,
                              "--peer-fingerprint", relay_fp, "--path",
                              "msrps://127.0.0.1:7/benchue;tcp", "--to", to, "--send", size,
                              "--bench", secs, "--window", "32", "--timeout-ms", "600000", NULL };
    long long tapped0 = relay_metric(r, "limf_relay_messages_tapped_total");
    long long dropped0 = relay_metric(r, "limf_relay_x2x3_dropped_pdus_total");
    long long reconn0 = relay_metric(r, "limf_relay_x2x3_reconnects_total");
    pid_t perf = perf_start(r->pid, size, on);
    cpu c0 = sample(r->pid, ingest);
    c0.endpoints = children_cpu();
    pid_t ue = rt_ue_start(uname, ue_args, NULL);
    RT_CHECK(rt_wait(ue, 600000) == 0, "bench UE failed");
    cpu c1 = sample(r->pid, ingest);
    perf_stop(perf);
    /* The tap's backlog is part of its cost: wait until the ingest acknowledged it all
     * (in Kafka), so that it does not run into the next measurement. */
    double t0 = now_s(), drain = 0;
    long long buffered;
    while ((buffered = relay_metric(r, "limf_relay_x2x3_buffered_bytes")) != 0 &&
           (drain = now_s() - t0) < 300)
        usleep(10000);
    RT_CHECK(buffered == 0, "the tap's backlog was not acknowledged (%lld bytes)", buffered);
    cpu c2 = sample(r->pid, ingest);
    rt_wait(net, 10000);
    c2.endpoints = children_cpu();
    char out[700], *text;
    size_t len;
    snprintf(out, sizeof out, "%s/%s.out", rt_dir(), uname);
    RT_CHECK(rt_read_file(out, &text, &len) == 0, "no output");
    result res;
    memset(&res, 0, sizeof res);
    const char *p = strstr(text, "bench messages ");
    RT_CHECK(p && sscanf(p, "bench messages %ld bytes %*s seconds %lf msg_per_s %lf mb_per_s %lf",
                         &res.messages, &res.seconds, &res.msg_per_s, &res.mb_per_s) == 4,
             "bench output: %s", text);
    free(text);
    RT_CHECK(res.messages > 0, "no message relayed");
    double per = 1e6 / (double)res.messages;
    res.us_per_msg.relaying = (c1.relaying - c0.relaying) * per;
    /* The sender's and the ingest's shares include the backlog worked off after the UE
     * stopped: all of the tap's work for these messages. */
    res.us_per_msg.sender = (c2.sender - c0.sender) * per;
    res.us_per_msg.other = (c1.other - c0.other) * per;
    res.us_per_msg.ingest = (c2.ingest - c0.ingest) * per;
    res.us_per_msg.broker = (c2.broker - c0.broker) * per;
    res.us_per_msg.endpoints = (c2.endpoints - c0.endpoints) * per;
    res.us_per_msg.sender_sleeps = (c2.sender_sleeps - c0.sender_sleeps) * 1000.0 /
                                   (double)res.messages;
    res.us_per_msg.relaying_sleeps = (c1.relaying_sleeps - c0.relaying_sleeps) * 1000.0 /
                                     (double)res.messages;
    res.us_per_msg.relaying_preempted = (c1.relaying_preempted - c0.relaying_preempted) *
                                        1000.0 / (double)res.messages;
    res.tapped = relay_metric(r, "limf_relay_messages_tapped_total") - tapped0;
    res.dropped = relay_metric(r, "limf_relay_x2x3_dropped_pdus_total") - dropped0;
    res.reconnects = relay_metric(r, "limf_relay_x2x3_reconnects_total") - reconn0;
    res.drain_s = drain;
    return res;
}

static double relay_total(const result *r)
{
    return r->us_per_msg.relaying + r->us_per_msg.sender + r->us_per_msg.other;
}

static void print_row(const char *size, const char *tap, const result *r)
{
    printf("| %s B | %s | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | "
           "%.0f / %.0f | %.1f | %lld / %lld / %lld | %.1f |\n",
           size, tap, r->msg_per_s, r->mb_per_s, r->us_per_msg.relaying, r->us_per_msg.sender,
           r->us_per_msg.other, relay_total(r), r->us_per_msg.endpoints, r->us_per_msg.ingest,
           r->us_per_msg.broker,
           r->us_per_msg.relaying_sleeps, r->us_per_msg.relaying_preempted,
           r->us_per_msg.sender_sleeps, r->tapped, r->dropped, r->reconnects, r->drain_s);
    fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define MAX_ROUNDS 15
#define BUFFER_BYTES (4096ull << 20)  /* x2x3.buffer_bytes of the relay */

/* The median over rounds of one field (offset into result, a double). */
static double median(const result *rs, size_t n, size_t offset)
{
    double v[MAX_ROUNDS];
    for (size_t i = 0; i < n; i++)
        v[i] = *(const double *)((const char *)&rs[i] + offset);
    qsort(v, n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static result medians(const result *rs, size_t n)
{
    result m;
    memset(&m, 0, sizeof m);
    m.msg_per_s = median(rs, n, offsetof(result, msg_per_s));
    m.mb_per_s = median(rs, n, offsetof(result, mb_per_s));
    m.us_per_msg.relaying = median(rs, n, offsetof(result, us_per_msg.relaying));
    m.us_per_msg.sender = median(rs, n, offsetof(result, us_per_msg.sender));
    m.us_per_msg.other = median(rs, n, offsetof(result, us_per_msg.other));
    m.us_per_msg.ingest = median(rs, n, offsetof(result, us_per_msg.ingest));
    m.us_per_msg.broker = median(rs, n, offsetof(result, us_per_msg.broker));
    m.us_per_msg.endpoints = median(rs, n, offsetof(result, us_per_msg.endpoints));
    m.us_per_msg.sender_sleeps = median(rs, n, offsetof(result, us_per_msg.sender_sleeps));
    m.us_per_msg.relaying_sleeps = median(rs, n, offsetof(result, us_per_msg.relaying_sleeps));
    m.us_per_msg.relaying_preempted =
        median(rs, n, offsetof(result, us_per_msg.relaying_preempted));
    m.drain_s = median(rs, n, offsetof(result, drain_s));
    for (size_t i = 0; i < n; i++) {
        m.tapped += rs[i].tapped;
        m.dropped += rs[i].dropped;
        m.reconnects += rs[i].reconnects;
    }
    return m;
}

/* `bench_relay send`: the tap's own work on the relaying thread, alone: the calling
 * thread's CPU time (CLOCK_THREAD_CPUTIME_ID) per x2x3_sender_send() of an X3 record as
 * the relay's tap makes it (addresses, ports, one matched target), with the sender's
 * default 64 MiB buffer warm (filled once) and a real limf-ingest draining it. */
static double thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench_send(void)
{
    x2x3t_ingest ing;
    memset(&ing, 0, sizeof ing);
    x2x3t_ingest_start(&ing, 0, NULL);
    x2x3_sender *s = x2x3t_sender(ing.port, "relay-agw", NULL);
    static uint8_t payload[65536];
    memset(payload, 'm', sizeof payload);
    const char *target = "sip:tapped@example.com";
    x2x3_record r;
    memset(&r, 0, sizeof r);
    r.pdu_type = X2X3_PDU_X3;
    r.payload_format = X2X3_FORMAT_MSRP;
    r.payload_direction = X2X3_DIR_FROM_TARGET;
    memcpy(r.xid, XID, 16);
    r.correlation_id = 7;
    r.src = (x2x3_addr){ .family = AF_INET, .addr = { 127, 0, 0, 1 }, .port = 50000 };
    r.dst = (x2x3_addr){ .family = AF_INET, .addr = { 127, 0, 0, 1 }, .port = 2855 };
    r.ip_protocol = 6;
    r.matched_targets = &target;
    r.n_matched_targets = 1;
    r.payload = payload;
    const size_t sizes[] = { 200, 1024, 65536 };
    enum { N_SIZES = 3, PASSES = 7 };
    const uint64_t half = 32u << 20;   /* stay below half of the 64 MiB buffer */
    double per[N_SIZES][PASSES];
    /* Pass 0 touches the buffer; then each size in turn, PASSES times: medians. */
    for (int pass = 0; pass <= PASSES; pass++) {
        for (size_t k = 0; k < N_SIZES; k++) {
            r.payload_len = sizes[k];
            size_t n = (size_t)(pass ? 24u << 20 : 80u << 20) / (sizes[k] + 120);
            /* The thread's CPU over the whole pass: the occasional buffer check is part
             * of the figure (a few ns per record), a wait for the ingest is not (the
             * thread sleeps); no clock read per record, which would cost more than
             * what is measured. */
            double t0 = thread_cpu_ns();
            for (size_t i = 0; i < n; i++) {
                x2x3_sender_stats st;
                if (i % 64 == 0) {
                    x2x3_sender_stats_get(s, &st);
                    if (st.buffered_bytes > half)
                        RT_CHECK(x2x3_sender_flush(s, 60000) == LI_OK, "flush");
                }
                RT_CHECK(x2x3_sender_send(s, &r) == LI_OK, "send refused");
            }
            if (pass)
                per[k][pass - 1] = (thread_cpu_ns() - t0) / (double)n;
        }
    }
    printf("x2x3_sender_send on the calling thread (CPU time; median of %d passes of 24 MiB; "
           "64 MiB buffer warm):\n", PASSES);
    for (size_t k = 0; k < N_SIZES; k++) {
        qsort(per[k], PASSES, sizeof per[k][0], cmp_double);
        printf("  payload %5zu octets: %.0f ns per record (passes from %.0f to %.0f)\n",
               sizes[k], per[k][PASSES / 2], per[k][0], per[k][PASSES - 1]);
    }
    x2x3_sender_free(s);
    x2x3t_ingest_stop(&ing, 15);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "send") == 0)
        return bench_send();
    const char *secs = argc > 1 ? argv[1] : "5";
    size_t rounds = argc > 2 ? (size_t)atoi(argv[2]) : 3;
    const char *def_sizes[] = { "1024", "65536" };
    const char *const *sizes = argc > 3 ? (const char *const *)argv + 3 : def_sizes;
    size_t n_sizes = argc > 3 ? (size_t)argc - 3 : 2;
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: bench_relay [seconds] [rounds 1-%d] [message sizes...]\n",
                MAX_ROUNDS);
        return 2;
    }
    rt_init("bench");
    x2x3t_ingest ing;
    memset(&ing, 0, sizeof ing);
    x2x3t_ingest_start(&ing, 0, NULL);
    rt_adopt(ing.pid);
    char pidfile[600];
    snprintf(pidfile, sizeof pidfile, "%s/kafka.pid", x2x3t_env("LIMF_KAFKA_DIR"));
    FILE *pf = fopen(pidfile, "r");
    int bp = 0;
    if (pf && fscanf(pf, "%d", &bp) == 1)
        broker_pid = (pid_t)bp;
    if (pf)
        fclose(pf);
    ingest_pid = ing.pid;
    atexit(unplace_sink);
    place_sink(ing.pid, sink_elsewhere());
    rt_relay r;
    /* A buffer large enough for the ingest's lag behind a run at full speed: every tapped
     * message is encrypted and sent (none dropped), so the tap's whole cost is measured.
     * The default keepalive interval (the tests' 1 s would end a connection whose ingest
     * waits more than 3 s for the broker while a backlog drains). */
    char conf[256];
    snprintf(conf, sizeof conf, "[log]\nlevel = info\n[relay]\nmetrics.listen = 127.0.0.1:0\n"
             "[x2x3]\nbuffer_bytes = %llu\nkeepalive_s = 5\n", (unsigned long long)BUFFER_BYTES);
    rt_relay_start(&r, "relay", 1, 0, conf);
    RT_CHECK(r.metrics_port, "the relay has no metrics port");
    rt_x1_task(r.x1_port, XID, DID, ing.port, "sip-uri", "sip:tapped@example.com",
               X1_DELIVERY_X2_AND_X3);
    printf("bench_relay: UE leg TLS 1.3 (limf-test-ue), network leg TCP, %s s per run, "
           "window 32, %zu rounds of tap off/on; limf-ingest and the Kafka broker %s\n", secs,
           rounds, sink_elsewhere() ? "under SCHED_IDLE (standing for the MF's hosts)"
                                    : "beside the relay as equals (LIMF_BENCH_SINK=shared)");
    printf("CPU columns: microseconds of CPU per relayed SEND+200 pair (2 MSRP messages, "
           "2 X3 PDUs when tapped); context switches per 1000 pairs\n");
    printf("| message size | tap | SENDs/s | MB/s | relaying thread | sender thread | other "
           "threads | relay total | test endpoints | limf-ingest | Kafka broker | relaying thread "
           "sleeps / preempted | sender sleeps | X3 tapped / dropped / reconnects | drain s |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    int index = 0;
    /* The sender's buffer is touched as it first fills: until then the relaying thread
     * takes a page fault per 4 KiB tapped, once in the process's life. Measure warm. */
    double warm_mb = 0;
    while (warm_mb < 1.2 * (double)BUFFER_BYTES / 1e6) {
        result w = run(&r, ing.pid, "sip:tapped@example.com", "65536", "3", index++, 1);
        print_row("65536", "on (warm-up)", &w);
        warm_mb += w.mb_per_s * w.seconds;
    }
    result off[MAX_ROUNDS], on[MAX_ROUNDS];
    for (size_t i = 0; i < n_sizes; i++) {
        for (size_t k = 0; k < rounds; k++) {
            off[k] = run(&r, ing.pid, "sip:untapped@example.com", sizes[i], secs, index++, 0);
            print_row(sizes[i], "off", &off[k]);
            on[k] = run(&r, ing.pid, "sip:tapped@example.com", sizes[i], secs, index++, 1);
            print_row(sizes[i], "on", &on[k]);
            /* Two X3 per answered SEND, plus those still in flight (window 32) at the end. */
            RT_CHECK(on[k].tapped >= 2 * on[k].messages &&
                     on[k].tapped <= 2 * on[k].messages + 128 && on[k].dropped == 0,
                     "%lld X3 records (%lld dropped) for %ld SENDs", on[k].tapped,
                     on[k].dropped, on[k].messages);
        }
        result moff = medians(off, rounds), mon = medians(on, rounds);
        print_row(sizes[i], "off median", &moff);
        print_row(sizes[i], "on median", &mon);
        double thr = mon.msg_per_s / moff.msg_per_s;
        double cpu_ratio = relay_total(&mon) / relay_total(&moff);
        double thread_ratio = mon.us_per_msg.relaying / moff.us_per_msg.relaying;
        printf("%s B: SENDs/s on/off %.3f (off/on %.3f): with the tap the relay carries "
               "%.1f%% fewer messages per second on this machine\n",
               sizes[i], thr, 1.0 / thr, 100.0 * (1.0 - thr));
        printf("%s B: relaying thread CPU per message on/off %.3f (off/on %.3f): tapping "
               "adds %.1f%% to the relaying path\n",
               sizes[i], thread_ratio, 1.0 / thread_ratio, 100.0 * (thread_ratio - 1.0));
        printf("%s B: relay process CPU per message (X2/X3 sender included) on/off %.3f "
               "(off/on %.3f): tapping adds %.1f%%\n",
               sizes[i], cpu_ratio, 1.0 / cpu_ratio, 100.0 * (cpu_ratio - 1.0));
        fflush(stdout);
    }
    char stats[2048];
    rt_http(r.control, "GET", "/v1/stats", NULL, stats, sizeof stats);
    printf("relay stats: %s\n", stats);
    rt_relay_stop(&r);
    x2x3t_ingest_stop(&ing, 15);
    rt_disown(ing.pid);
    rt_done();
    return 0;
}
