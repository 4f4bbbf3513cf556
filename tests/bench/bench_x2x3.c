/* X2/X3 benchmark (docs/BENCHMARKS.md):
 *  1. decode: PDUs/s of x2x3_pdu_decode on one core, 200-octet payloads;
 *  2. POI sender -> limf-ingest (TLS) -> Kafka, PDUs/s and MB/s for 200 B and 2 KB
 *     payloads, against a raw librdkafka producer (same broker, same settings, records
 *     of the same size) measured in the same run: the ratio;
 *  3. latency from send to acknowledgement (the ingest's keepalive answer, given only
 *     after Kafka acknowledged the PDU): p50 / p99, one PDU at a time;
 *  4. ingest peak RSS with 1,000 connected POIs.
 * Needs the broker environment of with_kafka.sh (see docs/BENCHMARKS.md); with
 * `decode` as the only argument it runs part 1 alone. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "li_kafka.h"
#include "li_log.h"
#include "li_time.h"
#include "x2x3_pdu.h"
#include "x2x3_util.h"

static void make_record(x2x3_record *r, const uint8_t *payload, size_t len, int i,
                        const char **target)
{
    memset(r, 0, sizeof *r);
    r->pdu_type = X2X3_PDU_X3;
    r->payload_format = X2X3_FORMAT_MSRP;
    r->payload_direction = X2X3_DIR_TO_TARGET;
    r->xid[0] = 0xbe;
    r->xid[15] = (uint8_t)(i % 8);
    r->correlation_id = (uint64_t)i / 64;
    r->src.family = AF_INET;
    r->src.addr[0] = 10, r->src.addr[3] = 1;
    r->src.port = 2855;
    r->dst.family = AF_INET;
    r->dst.addr[0] = 10, r->dst.addr[3] = 2;
    r->dst.port = 2855;
    r->ip_protocol = 6;
    *target = "sip:alice@example.org";
    r->matched_targets = target;
    r->n_matched_targets = 1;
    r->payload = payload;
    r->payload_len = len;
}

/* --- 1. decode --- */

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void bench_decode(void)
{
    enum { N = 10000, PAYLOAD = 200 };
    li_buf stream, attrs;
    li_buf_init(&stream, 0);
    li_buf_init(&attrs, 0);
    uint8_t payload[PAYLOAD];
    memset(payload, 'm', sizeof payload);
    for (int i = 0; i < N; i++) {
        li_buf_reset(&attrs);
        x2x3_attr_put(&attrs, X2X3_ATTR_IPID, "relay-agw-1", 11);
        x2x3_attr_put_u32(&attrs, X2X3_ATTR_SEQ, (uint32_t)i);
        x2x3_attr_put_timestamp(&attrs, li_now_ns());
        x2x3_attr_put(&attrs, X2X3_ATTR_SRC_IPV4, "\x0a\x00\x00\x01", 4);
        x2x3_attr_put(&attrs, X2X3_ATTR_DST_IPV4, "\x0a\x00\x00\x02", 4);
        x2x3_attr_put_u16(&attrs, X2X3_ATTR_SRC_PORT, 2855);
        x2x3_attr_put_u16(&attrs, X2X3_ATTR_DST_PORT, 2855);
        x2x3_attr_put_u8(&attrs, X2X3_ATTR_IP_PROTOCOL, 6);
        x2x3_attr_put(&attrs, X2X3_ATTR_MATCHED_TARGET, "sip:alice@example.org", 21);
        x2x3_pdu p;
        memset(&p, 0, sizeof p);
        p.version = X2X3_VERSION;
        p.pdu_type = X2X3_PDU_X3;
        p.payload_format = X2X3_FORMAT_MSRP;
        p.payload_direction = X2X3_DIR_TO_TARGET;
        p.attrs = attrs.data;
        p.attrs_len = attrs.len;
        p.payload = payload;
        p.payload_len = PAYLOAD;
        x2x3_pdu_encode(&stream, &p);
    }
    /* Thread CPU time as well as wall time: the machine is shared, and "one core" means
     * the CPU time this thread actually got. */
    uint64_t pdus = 0, t0 = li_mono_ns(), c0 = cpu_ns(), t;
    volatile uint32_t sink = 0;
    do {
        size_t off = 0;
        while (off < stream.len) {
            x2x3_pdu p;
            size_t used;
            if (x2x3_pdu_decode(stream.data + off, stream.len - off, 0, &p, &used, NULL) != LI_OK)
                abort();
            sink += p.seq;
            off += used;
            pdus++;
        }
        t = li_mono_ns();
    } while (t - t0 < 2000000000u);
    double s = (double)(cpu_ns() - c0) / 1e9, wall = (double)(t - t0) / 1e9;
    printf("decode: %.2f million PDUs/s per CPU-second, %.0f MB/s (PDU of %zu octets, "
           "200-octet payload, 9 attributes; wall clock on the shared machine: %.2f million/s)\n",
           (double)pdus / s / 1e6, (double)pdus * (double)(stream.len / N) / s / 1e6,
           stream.len / N, (double)pdus / wall / 1e6);
    (void)sink;
    li_buf_free(&stream);
    li_buf_free(&attrs);
}

/* --- 2. throughput --- */

static int raw_delivered, raw_failed;

static void raw_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk, (void)opaque;
    if (m->err)
        raw_failed++;
    else
        raw_delivered++;
}

/* The baseline: the same records (packed XPdu of the same size) through librdkafka
 * straight, with the ingest's producer settings. */
static double process_cpu_s(pid_t pid);

static double bench_raw(size_t payload_len, int n, double *cpu_us)
{
    li_config *cfg = x2x3t_kafka_config();
    char err[512], topic[300];
    snprintf(topic, sizeof topic, "%sbench.raw.%zu", x2x3t_env("LIMF_TOPIC_PREFIX"),
             payload_len);
    static const char *const props[] = { "enable.idempotence", "true", "acks", "all",
                                         "linger.ms", "10", NULL };   /* as limf-ingest */
    rd_kafka_t *rk = li_kafka_producer_new(cfg, props, raw_dr, NULL, err, sizeof err);
    X2X3T_CHECK(rk, "%s", err);
    X2X3T_CHECK(li_kafka_ensure_topic(rk, topic, 4, 0, 10000, err, sizeof err) == LI_OK, "%s",
                err);
    uint8_t *payload = malloc(payload_len);
    memset(payload, 'p', payload_len);
    Limf__XPdu x = LIMF__XPDU__INIT;
    uint8_t xid[16] = { 0xbe }, corr[8] = { 0 }, fp[32] = { 0 }, attrs[80] = { 0 };
    x.poi_id = "poi-test";
    x.poi_cert_sha256.data = fp;
    x.poi_cert_sha256.len = 32;
    x.received_ns = li_now_ns();
    x.version = 5;
    x.pdu_type = 2;
    x.payload_format = 13;
    x.payload_direction = 2;
    x.xid.data = xid;
    x.xid.len = 16;
    x.correlation_id.data = corr;
    x.correlation_id.len = 8;
    x.has_seq = 1;
    x.seq = 12345;
    x.timestamp_ns = li_now_ns();
    x.attributes.data = attrs;
    x.attributes.len = sizeof attrs;
    x.payload.data = payload;
    x.payload.len = payload_len;
    x.ingest_id = "bench";
    x.poi_address = "127.0.0.1:40000";
    size_t len = limf__xpdu__get_packed_size(&x);
    uint8_t *value = malloc(len);
    limf__xpdu__pack(&x, value);
    /* Warm up (producer id, metadata, connections), as the ingest's producer is. */
    for (int i = 0; i < 1000; i++)
        while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(xid, 16),
                                 RD_KAFKA_V_VALUE(value, len),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 5);
    rd_kafka_flush(rk, 60000);
    raw_delivered = raw_failed = 0;
    double c0 = process_cpu_s(getpid());
    uint64_t t0 = li_mono_ns();
    for (int i = 0; i < n; i++) {
        xid[15] = (uint8_t)(i % 8);
        while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(xid, 16),
                                 RD_KAFKA_V_VALUE(value, len),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 5);
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 120000);
    double s = (double)(li_mono_ns() - t0) / 1e9;
    *cpu_us = (process_cpu_s(getpid()) - c0) / n * 1e6;
    X2X3T_CHECK(raw_delivered == n && raw_failed == 0, "raw: %d of %d delivered",
                raw_delivered, n);
    li_kafka_destroy(rk, 1000);
    li_config_free(cfg);
    free(payload);
    free(value);
    return (double)n / s;
}

static double bench_ingest(x2x3_sender *s, size_t payload_len, int n, double *mbps)
{
    uint8_t *payload = malloc(payload_len);
    memset(payload, 'p', payload_len);
    x2x3_sender_stats before, after;
    x2x3_sender_stats_get(s, &before);
    uint64_t t0 = li_mono_ns();
    for (int i = 0; i < n; i++) {
        x2x3_record r;
        const char *target;
        make_record(&r, payload, payload_len, i, &target);
        li_err e;
        while ((e = x2x3_sender_send(s, &r)) == LI_ERR_FULL)
            usleep(1000);   /* never reached with the default buffer; kept honest */
        X2X3T_CHECK(e == LI_OK, "send");
    }
    X2X3T_CHECK(x2x3_sender_flush(s, 180000) == LI_OK, "flush");
    double secs = (double)(li_mono_ns() - t0) / 1e9;
    x2x3_sender_stats_get(s, &after);
    X2X3T_CHECK(after.dropped_pdus == before.dropped_pdus, "dropped PDUs in the benchmark");
    *mbps = (double)(after.sent_bytes - before.sent_bytes) / secs / 1e6;
    free(payload);
    return (double)n / secs;
}

/* CPU seconds (user + system) a process has used so far. */
static double process_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    /* fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime */
    if (p)
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* --- 3. latency --- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void bench_latency(x2x3_sender *s, int n)
{
    uint64_t *lat = malloc((size_t)n * sizeof *lat);
    uint8_t payload[200];
    memset(payload, 'l', sizeof payload);
    for (int i = 0; i < n; i++) {
        x2x3_record r;
        const char *target;
        make_record(&r, payload, sizeof payload, i, &target);
        uint64_t t0 = li_mono_ns();
        X2X3T_CHECK(x2x3_sender_send(s, &r) == LI_OK, "send");
        X2X3T_CHECK(x2x3_sender_flush(s, 10000) == LI_OK, "flush");
        lat[i] = li_mono_ns() - t0;
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
    printf("latency send -> Kafka ack -> POI acknowledged (%d PDUs, one at a time): "
           "p50 %.2f ms, p99 %.2f ms\n", n, (double)lat[n / 2] / 1e6,
           (double)lat[n * 99 / 100] / 1e6);
    free(lat);
}

/* --- 4. RSS with 1,000 POIs --- */

static long status_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, strlen(field)) == 0)
            kb = atol(line + strlen(field) + 1);
    if (f)
        fclose(f);
    return kb;
}

static void bench_rss(x2x3t_ingest *ing, int n)
{
    x2x3t_tls **conns = calloc((size_t)n, sizeof *conns);
    li_buf ka;
    li_buf_init(&ka, 0);
    x2x3_keepalive_encode(&ka, 1);
    int ok = 0;
    for (int i = 0; i < n; i++) {
        conns[i] = x2x3t_tls_connect(ing->port, "poi-test");
        uint8_t ack[64];
        if (conns[i] && x2x3t_tls_write(conns[i], ka.data, ka.len) == 0 &&
            x2x3t_tls_read(conns[i], ack, sizeof ack, 10000) == 48)
            ok++;
    }
    char text[16384];
    x2x3t_http_get(ing->metrics_port, "/metrics", text, sizeof text);
    printf("ingest with %d POI connections (%d answered a keepalive, %lld open): "
           "peak RSS %.1f MB, RSS %.1f MB\n", n, ok,
           x2x3t_metric(text, "limf_ingest_connections"),
           (double)status_kb(ing->pid, "VmHWM:") / 1024, (double)status_kb(ing->pid, "VmRSS:") / 1024);
    for (int i = 0; i < n; i++)
        x2x3t_tls_close(conns[i]);
    free(conns);
    li_buf_free(&ka);
}

int main(int argc, char **argv)
{
    li_log_init("bench_x2x3", LI_LOG_ERROR, 0);
    bench_decode();
    if (argc > 1 && strcmp(argv[1], "decode") == 0)
        return 0;
    int n200 = argc > 1 ? atoi(argv[1]) : 100000;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    x2x3t_ingest ing = { 0 };
    static const char *const opts[] = { "log.level=error", NULL };
    x2x3t_ingest_start(&ing, 0, opts);
    /* A buffer that holds every run, so that nothing is dropped while the bench
     * outpaces the pipeline. */
    static const char *const sender_opts[] = { "x2x3.buffer_bytes=536870912", NULL };
    x2x3_sender *s = x2x3t_sender(ing.port, "poi-test", sender_opts);
    bench_latency(s, 200);   /* also warms up the connection and the producer */
    /* Three rounds per size, raw and ingest alternating, medians reported: the machine
     * is shared, so single runs are noisy. */
    static const struct { size_t len; int div; } sizes[] = { { 200, 1 }, { 2048, 4 } };
    for (size_t k = 0; k < 2; k++) {
        int n = n200 / sizes[k].div;
        double raw[3], got[3], mbps[3], cpu[3], poi_cpu[3], raw_cpu[3];
        for (int round = 0; round < 3; round++) {
            raw[round] = bench_raw(sizes[k].len, n, &raw_cpu[round]);
            double c0 = process_cpu_s(ing.pid), p0 = process_cpu_s(getpid());
            got[round] = bench_ingest(s, sizes[k].len, n, &mbps[round]);
            cpu[round] = (process_cpu_s(ing.pid) - c0) / n * 1e6;
            poi_cpu[round] = (process_cpu_s(getpid()) - p0) / n * 1e6;
        }
        qsort(raw, 3, sizeof raw[0], cmp_double);
        qsort(got, 3, sizeof got[0], cmp_double);
        qsort(mbps, 3, sizeof mbps[0], cmp_double);
        qsort(cpu, 3, sizeof cpu[0], cmp_double);
        qsort(poi_cpu, 3, sizeof poi_cpu[0], cmp_double);
        qsort(raw_cpu, 3, sizeof raw_cpu[0], cmp_double);
        printf("%zu-octet payloads, %d PDUs x 3 rounds (medians): sender->ingest->Kafka %.0f "
               "PDUs/s (%.1f MB/s of PDUs), raw librdkafka producer %.0f records/s: ratio "
               "%.0f%%; CPU per PDU: ingest %.1f us, POI sender %.1f us, raw producer %.1f us\n",
               sizes[k].len, n, got[1], mbps[1], raw[1], 100.0 * got[1] / raw[1], cpu[1],
               poi_cpu[1], raw_cpu[1]);
    }
    x2x3_sender_free(s);
    x2x3t_ingest_stop(&ing, SIGTERM);
    /* A fresh ingest, so that its peak RSS is that of the connections, not of the
     * producer queue of the throughput runs. */
    x2x3t_ingest fresh = { 0 };
    x2x3t_ingest_start(&fresh, 0, opts);
    bench_rss(&fresh, 1000);
    x2x3t_ingest_stop(&fresh, SIGTERM);
    return 0;
}
