/* Handover benchmarks (run through tests/integration/with_kafka.sh so that a broker and the
 * test PKI exist; see docs/BENCHMARKS.md):
 *   1. PS-PDU encoding rate on one core (ho_pdu_encode, 200 B CC);
 *   2. delivered PDUs/s through limf-handover to limf-lemf over mutual TLS, for 200 B and
 *      2 KB content, against the raw TLS write rate of the same sizes measured in this run
 *      (one TLS connection on loopback to a reading thread), ratio printed;
 *   3. latency from the Kafka record (its timestamp, set when produced) to the LEMF's
 *      receipt, at a paced 500 records/s: p50, p99, max.
 * Usage: bench_ho [records]   (default 20000 per size) */
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hi.pb-c.h"
#include "admin.pb-c.h"
#include "ho_io.h"
#include "ho_pdu.h"
#include "li_kafka.h"
#include "li_log.h"
#include "li_net.h"
#include "li_time.h"
#include "li_tls.h"

static char dir[256], pki[256], bin[256];
static li_config *cfg;
static rd_kafka_t *producer;

static double secs(uint64_t ns)
{
    return (double)ns / 1e9;
}

static void bench_encode(void)
{
    static uint8_t content[200];
    memset(content, 'm', sizeof content);
    ho_pdu p;
    memset(&p, 0, sizeof p);
    p.payload = HO_PAYLOAD_CC;
    p.liid = li_slice_of("LIID-BENCH-0001", 15);
    p.auth_cc = li_slice_of("DE", 2);
    p.operator_id = li_slice_of("OPERATOR-1", 10);
    p.ne_id = li_slice_of("limf-ho-1", 9);
    p.delivery_cc = li_slice_of("DE", 2);
    p.has_cin = 1;
    p.cin = 123456;
    p.ts_qualifier = 1;
    p.direction = 1;
    p.stream_id = li_slice_of("a786hjs2", 8);
    p.content = li_slice_of(content, sizeof content);
    li_buf b;
    li_buf_init(&b, 0);
    const int n = 2000000;
    struct timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    uint64_t t0 = li_mono_ns();
    size_t bytes = 0;
    for (int i = 0; i < n; i++) {
        li_buf_reset(&b);
        p.seq = (uint32_t)i;
        p.timestamp_ns = 1700000000000000000ull + (uint64_t)i * 1000;
        if (ho_pdu_encode(&p, &b) != LI_OK)
            abort();
        bytes += b.len;
    }
    uint64_t dt = li_mono_ns() - t0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    /* CPU time as well as wall time: on a shared machine the wall rate understates it. */
    double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
    printf("encode: %d PS-PDUs (CC, 200 B content, %zu B each): %.0f PDUs/s per CPU-second "
           "(%.0f/s wall clock on this shared machine)\n",
           n, bytes / n, n / cpu, n / secs(dt));
    li_buf_free(&b);
}

/* ---- raw TLS baseline ---- */

typedef struct sink {
    int lfd;
    SSL_CTX *ctx;
} sink;

static void *sink_main(void *arg)
{
    sink *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    ho_conn c;
    char err[256];
    ho_conn_init(&c);
    if (ho_conn_accept(&c, fd, s->ctx, 5000, err, sizeof err) != LI_OK)
        return NULL;
    uint8_t buf[65536];
    size_t got;
    while (li_conn_recv_until(&c.io, buf, sizeof buf, &got, UINT64_MAX) == LI_OK)
        continue;
    ho_conn_close(&c);
    return NULL;
}

static double raw_tls_rate(size_t size, int n)
{
    char err[256], cert[300], key[300], ca[300];
    snprintf(cert, sizeof cert, "%s/lemf.pem", pki);
    snprintf(key, sizeof key, "%s/lemf.key", pki);
    snprintf(ca, sizeof ca, "%s/ca.pem", pki);
    li_tls_opts so = { .server = 1, .cert_file = cert, .key_file = key, .ca_file = ca };
    sink s = { .ctx = li_tls_ctx_new(&so, err, sizeof err) };
    uint16_t port;
    li_net_listen("127.0.0.1:0", 0, "sink", 64, 0, &s.lfd, &port, err, sizeof err);
    pthread_t t;
    pthread_create(&t, NULL, sink_main, &s);
    snprintf(cert, sizeof cert, "%s/handover.pem", pki);
    snprintf(key, sizeof key, "%s/handover.key", pki);
    li_tls_opts co = { .cert_file = cert, .key_file = key, .ca_file = ca };
    SSL_CTX *cctx = li_tls_ctx_new(&co, err, sizeof err);
    ho_conn c;
    ho_conn_init(&c);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    if (ho_conn_connect(&c, addr, cctx, 5000, err, sizeof err) != LI_OK) {
        fprintf(stderr, "raw TLS: %s\n", err);
        exit(1);
    }
    uint8_t *buf = calloc(1, size);
    uint64_t t0 = li_mono_ns();
    for (int i = 0; i < n; i++)
        ho_conn_write(&c, buf, size, 10000);
    uint64_t dt = li_mono_ns() - t0;
    ho_conn_close(&c);
    pthread_join(t, NULL);
    close(s.lfd);
    SSL_CTX_free(s.ctx);
    SSL_CTX_free(cctx);
    free(buf);
    return n / secs(dt);
}

/* ---- through limf-handover ---- */

static pid_t spawn(const char *log, char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, log);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void produce_hi(const char *topic, int i, size_t size, uint64_t ts)
{
    static uint8_t content[4096];
    memset(content, 'x', size);
    Limf__HiRecord r = LIMF__HI_RECORD__INIT;
    r.liid = "LIID-BENCH";
    r.auth_country = "DE";
    r.cin = (uint64_t)(i % 16);
    r.seq = (uint64_t)(i / 16);
    r.kind = LIMF__HI_RECORD__KIND__CC;
    r.direction = 1;
    r.timestamp_ns = ts;
    r.payload_kind = "msrp";
    r.payload.data = content;
    r.payload.len = size;
    r.stream_id = "a786hjs2";
    uint8_t buf[8192];
    size_t len = limf__hi_record__pack(&r, buf);
    char key[32];
    snprintf(key, sizeof key, "LIID-BENCH/%d", i % 16);
    while (rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                             RD_KAFKA_V_VALUE(buf, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(producer, 10);
    rd_kafka_poll(producer, 0);
}

/* The benchmark's destinations all have this topic suffix (the ADMF draws one each). */
#define BENCH_SUFFIX "0123456789abcdef0123456789abcdef"

static void put_destination(const char *id, int port)
{
    Limf__Destination d = LIMF__DESTINATION__INIT;
    char addr[64], pin[65], path[300], *pins[1] = { pin };
    uint8_t fp[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    snprintf(path, sizeof path, "%s/lemf.pem", pki);
    li_tls_file_fingerprint(path, fp);
    li_hex_encode(fp, 32, pin);
    d.id = (char *)id;
    d.topic_suffix = BENCH_SUFFIX;
    d.hi2_address = addr;
    d.operator_id = "OPERATOR-1";
    d.network_element_id = "limf-ho-1";
    d.delivery_country = "DE";
    d.n_pinned_sha256 = 1;
    d.pinned_sha256 = pins;
    uint8_t buf[4096];
    size_t len = limf__destination__pack(&d, buf);
    char key[64], topic[256];
    snprintf(key, sizeof key, "destination/%s", id);
    li_kafka_topic(cfg, "limf.admin", topic, sizeof topic);
    rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                      RD_KAFKA_V_VALUE(buf, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                      RD_KAFKA_V_END);
    rd_kafka_flush(producer, 10000);
}

/* Reads the LEMF's JSON lines: count, first/last rx_ns, and latencies rx_ns - timestamp. */
static int read_lemf(const char *path, uint64_t *first, uint64_t *last, uint64_t *lat, int max)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    static char line[16384];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        const char *rx = strstr(line, "\"rx_ns\":"), *ts = strstr(line, "\"timestamp\":\"");
        if (!rx || !ts)
            continue;
        uint64_t r = strtoull(rx + 8, NULL, 10);
        int64_t t;
        char tsbuf[40];
        const char *q = strchr(ts + 13, '"');
        snprintf(tsbuf, sizeof tsbuf, "%.*s", (int)(q - ts - 13), ts + 13);
        li_time_parse_rfc3339(tsbuf, &t);
        if (n == 0)
            *first = r;
        *last = r;
        if (lat && n < max)
            lat[n] = r - (uint64_t)t;
        n++;
    }
    fclose(f);
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &len);
    close(s);
    return ntohs(a.sin_port);
}

/* One run: n records of `size` pre-produced, then the destination appears; rate = records
 * over the span from the first to the last receipt. Then `paced` records at 500/s for the
 * latency. */
static void bench_delivery(size_t size, int n, int paced, pid_t ho)
{
    (void)ho;
    char id[32], topic[256], out[300], listen[64], cert[300], key[300], ca[300], outo[320],
        path[300];
    snprintf(id, sizeof id, "bench%zu", size);
    li_kafka_hi_topic(cfg, id, BENCH_SUFFIX, topic, sizeof topic);
    char err[256];
    li_kafka_ensure_topic(producer, topic, 1, 0, 10000, err, sizeof err);
    for (int i = 0; i < n; i++)
        produce_hi(topic, i, size, li_now_ns());
    rd_kafka_flush(producer, 30000);
    int port = free_port();
    snprintf(out, sizeof out, "%s/lemf-%zu.jsonl", dir, size);
    snprintf(outo, sizeof outo, "lemf.out=%s", out);
    unlink(out);
    snprintf(listen, sizeof listen, "lemf.listen=127.0.0.1:%d", port);
    snprintf(cert, sizeof cert, "lemf.tls.cert=%s/lemf.pem", pki);
    snprintf(key, sizeof key, "lemf.tls.key=%s/lemf.key", pki);
    snprintf(ca, sizeof ca, "lemf.tls.ca=%s/ca.pem", pki);
    snprintf(path, sizeof path, "%s/bin/limf-lemf", bin);
    char *argv[] = { path, "-o", listen, "-o", outo, "-o", cert, "-o", key, "-o", ca,
                     "-o", "log.level=warn", NULL };
    pid_t lemf = spawn("lemf.log", argv);
    usleep(300000);
    put_destination(id, port);
    uint64_t first = 0, last = 0, deadline = li_mono_ns() + 300000000000ull;
    int got;
    while ((got = read_lemf(out, &first, &last, NULL, 0)) < n && li_mono_ns() < deadline)
        usleep(200000);
    double rate = got > 1 ? (got - 1) / secs(last - first) : 0;
    double raw = raw_tls_rate(size, n);
    printf("delivery %4zu B: %d PDUs through limf-handover -> limf-lemf (TLS) at %.0f PDUs/s; "
           "raw TLS writes of %zu B: %.0f/s; ratio %.2f\n",
           size, got, rate, size, raw, raw > 0 ? rate / raw : 0);
    /* Latency at a paced rate. */
    for (int i = 0; i < paced; i++) {
        produce_hi(topic, n + i, size, li_now_ns());
        rd_kafka_poll(producer, 0);
        usleep(2000);
    }
    rd_kafka_flush(producer, 10000);
    static uint64_t lat[200000];
    deadline = li_mono_ns() + 60000000000ull;
    while ((got = read_lemf(out, &first, &last, lat, 200000)) < n + paced && li_mono_ns() < deadline)
        usleep(200000);
    int m = got - n;
    if (m > 0) {
        qsort(lat + n, (size_t)m, sizeof lat[0], cmp_u64);
        printf("latency %4zu B at 500 records/s (%d records, Kafka record -> LEMF receipt): "
               "p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
               size, m, lat[n + m / 2] / 1e6, lat[n + (m * 99) / 100] / 1e6, lat[n + m - 1] / 1e6);
    }
    kill(lemf, SIGTERM);
    waitpid(lemf, NULL, 0);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    li_log_init("bench_ho", LI_LOG_WARN, 0);
    signal(SIGPIPE, SIG_IGN);
    const char *p = getenv("LIMF_PKI_DIR"), *b = getenv("LIMF_BUILD_DIR");
    if (!p || !b || !getenv("LIMF_KAFKA_DIR")) {
        fprintf(stderr, "run through tests/integration/with_kafka.sh (see docs/BENCHMARKS.md)\n");
        return 2;
    }
    snprintf(pki, sizeof pki, "%s", p);
    snprintf(bin, sizeof bin, "%s", b);
    snprintf(dir, sizeof dir, "%s/ho-bench", b);
    mkdir(dir, 0700);
    bench_encode();

    cfg = li_config_new();
    char err[256], conf[300], topic[256], kconf[600];
    snprintf(kconf, sizeof kconf, "%s/clients/kafka-admin.conf", getenv("LIMF_KAFKA_DIR"));
    li_config_load_file(cfg, kconf, err, sizeof err);
    li_config_set(cfg, "topics.prefix", getenv("LIMF_TOPIC_PREFIX"));
    static const char *const props[] = { "linger.ms", "5", NULL };
    producer = li_kafka_producer_new(cfg, props, NULL, NULL, err, sizeof err);
    li_kafka_topic(cfg, "limf.admin", topic, sizeof topic);
    li_kafka_ensure_topic(producer, topic, 1, 1, 15000, err, sizeof err);
    snprintf(conf, sizeof conf, "%s/handover.conf", dir);
    FILE *f = fopen(conf, "w");
    fprintf(f,
            "log.level = warn\ntopics.prefix = %s\n[kafka]\nbootstrap.servers = %s\n"
            "security.protocol = ssl\nssl.ca.location = %s/ca.pem\n"
            "ssl.certificate.location = %s/handover.pem\nssl.key.location = %s/handover.key\n"
            "[handover]\ngroup = %slimf-handover\n"
            "tls.cert = %s/handover.pem\ntls.key = %s/handover.key\n",
            getenv("LIMF_TOPIC_PREFIX"), getenv("LIMF_KAFKA_TLS_BOOTSTRAP"), pki, pki, pki,
            getenv("LIMF_TOPIC_PREFIX"), pki, pki);
    fclose(f);
    char path[300];
    snprintf(path, sizeof path, "%s/bin/limf-handover", bin);
    char *hargv[] = { path, "-c", conf, NULL };
    pid_t ho = spawn("handover.log", hargv);
    bench_delivery(200, n, 1000, ho);
    bench_delivery(2048, n, 1000, ho);
    kill(ho, SIGTERM);
    waitpid(ho, NULL, 0);
    li_kafka_destroy(producer, 1000);
    li_config_free(cfg);
    return 0;
}
