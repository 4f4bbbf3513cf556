/* limf-mediator exactly once on the real broker (DESIGN.md 4): three instances share
 * limf.xpdu as one consumer group; 200 concurrent SIP+MSRP sessions over 20 warrants are
 * produced as XPdu records; one instance is killed with SIGKILL mid-stream and a fourth
 * joins later. Then, read with isolation.level=read_committed from limf.hi.<dest>:
 * every expected record is present, and per (LIID, CIN) the sequence numbers run from 0
 * with no gap and no duplicate.
 *   med_exactly_once <path of limf-mediator> */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "bench_med_gen.h"
#include "hi.pb-c.h"
#include "li_kafka.h"
#include "li_log.h"
#include "li_time.h"

#define WARRANTS 20
#define SESSIONS 200
#define MSRP_PER_SESSION 4
#define PARTITIONS 6
#define INSTANCES 4

static const char *pki, *bootstrap, *prefix, *mediator_bin;
static char topic_xpdu[256], topic_admin[256];
static const char *const dests[2] = { "lea-a", "lea-b" };
static pid_t pids[INSTANCES];

#define CHECK(cond, ...)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                         \
            fprintf(stderr, __VA_ARGS__);                                                \
            fprintf(stderr, "\n");                                                       \
            stop_all();                                                                  \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

static void stop_all(void)
{
    for (int i = 0; i < INSTANCES; i++) {
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
            pids[i] = 0;
        }
    }
}

static li_config *client_config(void)
{
    li_config *cfg = li_config_new();
    char path[512];
    li_config_set(cfg, "kafka.bootstrap.servers", bootstrap);
    li_config_set(cfg, "kafka.security.protocol", "ssl");
    snprintf(path, sizeof path, "%s/ca.pem", pki);
    li_config_set(cfg, "kafka.ssl.ca.location", path);
    snprintf(path, sizeof path, "%s/client.pem", pki);
    li_config_set(cfg, "kafka.ssl.certificate.location", path);
    snprintf(path, sizeof path, "%s/client.key", pki);
    li_config_set(cfg, "kafka.ssl.key.location", path);
    li_config_set(cfg, "topics.prefix", prefix);
    return cfg;
}

static void produce(rd_kafka_t *p, const char *topic, const void *key, size_t klen,
                    const void *val, size_t vlen)
{
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, klen),
                                  RD_KAFKA_V_VALUE((void *)val, vlen),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(p, 10);
    CHECK(!e, "produce: %s", rd_kafka_err2str(e));
}

static void put_warrants(rd_kafka_t *p)
{
    for (int w = 0; w < WARRANTS; w++) {
        uint8_t buf[512];
        char key[32];
        size_t n = med_gen_warrant(w, dests[w % 2], buf, key);
        produce(p, topic_admin, key, strlen(key), buf, n);
    }
    CHECK(rd_kafka_flush(p, 20000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush warrants");
}

static void produce_phase(rd_kafka_t *p, int k)
{
    for (int s = 0; s < SESSIONS; s++) {
        uint8_t buf[2048], xid[16];
        size_t n = med_gen_pdu(s, k, WARRANTS, MSRP_PER_SESSION, li_now_ns(), buf, xid);
        produce(p, topic_xpdu, xid, 16, buf, n);
    }
    CHECK(rd_kafka_flush(p, 20000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush phase %d", k);
}

static void start_instance(int i)
{
    char *args[64];
    char opts[24][512];
    int n = 0, o = 0;
    args[n++] = (char *)mediator_bin;
#define OPT(...)                                                                         \
    do {                                                                                 \
        snprintf(opts[o], sizeof opts[o], __VA_ARGS__);                                  \
        args[n++] = "-o";                                                                \
        args[n++] = opts[o++];                                                           \
    } while (0)
    OPT("kafka.bootstrap.servers=%s", bootstrap);
    OPT("kafka.security.protocol=ssl");
    OPT("kafka.ssl.ca.location=%s/ca.pem", pki);
    OPT("kafka.ssl.certificate.location=%s/mediator.pem", pki);
    OPT("kafka.ssl.key.location=%s/mediator.key", pki);
    OPT("mediator.group_session_timeout_ms=6000");
    OPT("topics.prefix=%s", prefix);
    OPT("mediator.instance_id=i%d", i);
    OPT("mediator.transaction_timeout_ms=6000");
    OPT("mediator.partitions=%d", PARTITIONS);
    OPT("mediator.batch_ms=20");
    OPT("mediator.tick_ms=500");
    OPT("mediator.stats_s=5");
    OPT("log.level=info");
    if (i == 0) {
        OPT("mediator.metrics_listen=127.0.0.1:0");
        OPT("mediator.metrics_port_file=%s/med_exactly_once.port",
            getenv("LIMF_LOG_DIR") ? getenv("LIMF_LOG_DIR") : ".");
    }
    args[n] = NULL;
    char logpath[512];
    snprintf(logpath, sizeof logpath, "%s/med_exactly_once.i%d.log",
             getenv("LIMF_LOG_DIR") ? getenv("LIMF_LOG_DIR") : ".", i);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        FILE *f = freopen(logpath, "w", stderr);
        (void)f;
        dup2(2, 1);
        execv(mediator_bin, args);
        _exit(127);
    }
    pids[i] = pid;
}

/* GET /metrics of instance i0; the value of one metric, or -1. */
static long long metric(const char *name)
{
    char path[512], buf[8192];
    snprintf(path, sizeof path, "%s/med_exactly_once.port",
             getenv("LIMF_LOG_DIR") ? getenv("LIMF_LOG_DIR") : ".");
    FILE *f = fopen(path, "r");
    int port = 0;
    if (!f || fscanf(f, "%d", &port) != 1)
        port = 0;
    if (f)
        fclose(f);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (port <= 0 || fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
    if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
        close(fd);
        return -1;
    }
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    close(fd);
    buf[n] = 0;
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(buf, key);
    return p ? atoll(p + strlen(key)) : -1;
}

/* ---- verification ---- */

typedef struct rec {
    char liid[16];
    uint64_t cin, seq;
    int kind, iri;
    char tag[40];            /* session ("call-N") or MSRP body ("msg-N-M") */
} rec;

static rec *recs;
static size_t n_recs, cap_recs;

static void collect(const rd_kafka_message_t *m)
{
    Limf__HiRecord *r = limf__hi_record__unpack(NULL, m->len, m->payload);
    CHECK(r, "undecodable HiRecord");
    if (n_recs == cap_recs) {
        cap_recs = cap_recs ? cap_recs * 2 : 4096;
        recs = realloc(recs, cap_recs * sizeof *recs);
    }
    rec *x = &recs[n_recs++];
    memset(x, 0, sizeof *x);
    snprintf(x->liid, sizeof x->liid, "%s", r->liid);
    x->cin = r->cin;
    x->seq = r->seq;
    x->kind = r->kind;
    x->iri = (int)r->iri_type;
    const char *p = memmem(r->payload.data, r->payload.len, "call-", 5);
    if (r->kind == LIMF__HI_RECORD__KIND__CC)
        p = memmem(r->payload.data, r->payload.len, "msg-", 4);
    if (p) {
        size_t i = 0;
        while (i + 1 < sizeof x->tag && p + i < (const char *)r->payload.data + r->payload.len &&
               p[i] != '@' && p[i] != '\r')
            i++;
        memcpy(x->tag, p, i);
    }
    char key[64];
    snprintf(key, sizeof key, "%s/%" PRIu64, r->liid, r->cin);
    CHECK(m->key_len == strlen(key) && memcmp(m->key, key, m->key_len) == 0, "record key");
    limf__hi_record__free_unpacked(r, NULL);
}

static void read_all(li_config *cfg)
{
    static const char *const props[] = { "isolation.level", "read_committed",
                                         "enable.partition.eof", "true",
                                         "fetch.wait.max.ms", "10", NULL };
    char errstr[256];
    /* assign() needs a group id; this reader never joins or commits. */
    rd_kafka_t *c = li_kafka_consumer_new(cfg, "med-exactly-once-reader", props, errstr,
                                          sizeof errstr);
    CHECK(c, "consumer: %s", errstr);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    int parts = 0;
    for (int d = 0; d < 2; d++) {
        char base[64], topic[256];
        snprintf(base, sizeof base, "limf.hi.%s", dests[d]);
        li_kafka_topic(cfg, base, topic, sizeof topic);
        const rd_kafka_metadata_t *md;
        rd_kafka_topic_t *t = rd_kafka_topic_new(c, topic, NULL);
        if (rd_kafka_metadata(c, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (md->topics[0].err == 0)
                for (int p = 0; p < md->topics[0].partition_cnt; p++) {
                    rd_kafka_topic_partition_list_add(l, topic, p)->offset =
                        RD_KAFKA_OFFSET_BEGINNING;
                    parts++;
                }
            rd_kafka_metadata_destroy(md);
        }
        rd_kafka_topic_destroy(t);
    }
    n_recs = 0;
    if (parts) {
        rd_kafka_assign(c, l);
        int eof = 0;
        uint64_t deadline = li_mono_ns() + 20 * 1000000000ULL;
        while (eof < parts && li_mono_ns() < deadline) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
            if (!m)
                continue;
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                eof++;
            else if (!m->err)
                collect(m);
            rd_kafka_message_destroy(m);
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    li_kafka_destroy(c, 0);
}

static int rec_cmp(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    int c = strcmp(x->liid, y->liid);
    if (c)
        return c;
    if (x->cin != y->cin)
        return x->cin < y->cin ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static size_t expected_total(void)
{
    size_t n = 0;
    for (int s = 0; s < SESSIONS; s++)
        n += (size_t)med_gen_records(s % WARRANTS, MSRP_PER_SESSION);
    return n;
}

/* Per (LIID, CIN): seq 0..n-1 exactly once; each CIN is one session whose records are
 * BEGIN, CONTINUE x2, its CC (cc warrants), END, REPORT; every session is present once. */
static void verify(void)
{
    qsort(recs, n_recs, sizeof *recs, rec_cmp);
    static int seen[SESSIONS];
    memset(seen, 0, sizeof seen);
    size_t i = 0;
    while (i < n_recs) {
        size_t j = i;
        while (j < n_recs && strcmp(recs[j].liid, recs[i].liid) == 0 && recs[j].cin == recs[i].cin)
            j++;
        for (size_t k = i; k < j; k++)
            CHECK(recs[k].seq == k - i, "%s cin %" PRIu64 ": seq %" PRIu64 " at position %zu "
                  "(gap or duplicate)", recs[i].liid, recs[i].cin, recs[k].seq, k - i);
        int s = -1;
        CHECK(sscanf(recs[i].tag, "call-%d", &s) == 1 && s >= 0 && s < SESSIONS,
              "%s cin %" PRIu64 ": first record is not a session's INVITE", recs[i].liid,
              recs[i].cin);
        char liid[16];
        snprintf(liid, sizeof liid, "LIID-%02d", s % WARRANTS);
        CHECK(strcmp(liid, recs[i].liid) == 0, "session %d under the wrong LIID", s);
        seen[s]++;
        size_t want = (size_t)med_gen_records(s % WARRANTS, MSRP_PER_SESSION);
        CHECK(j - i == want, "session %d: %zu records, want %zu", s, j - i, want);
        CHECK(recs[i].iri == 1 && recs[i + 1].iri == 3 && recs[i + 2].iri == 3,
              "session %d: BEGIN CONTINUE CONTINUE expected", s);
        for (size_t m = 0; m + 5 < want; m++) {
            char tag[40];
            snprintf(tag, sizeof tag, "msg-%d-%zu", s, m);
            CHECK(recs[i + 3 + m].kind == LIMF__HI_RECORD__KIND__CC &&
                  strcmp(recs[i + 3 + m].tag, tag) == 0, "session %d: CC %zu is %s", s, m,
                  recs[i + 3 + m].tag);
        }
        CHECK(recs[j - 2].iri == 2 && recs[j - 1].iri == 4, "session %d: END REPORT expected",
              s);
        i = j;
    }
    for (int s = 0; s < SESSIONS; s++)
        CHECK(seen[s] == 1, "session %d delivered %d times", s, seen[s]);
}

int main(int argc, char **argv)
{
    li_log_init("med_exactly_once", LI_LOG_WARN, 0);
    pki = getenv("LIMF_PKI_DIR");
    bootstrap = getenv("LIMF_KAFKA_TLS_BOOTSTRAP");
    prefix = getenv("LIMF_TOPIC_PREFIX");
    if (argc != 2 || !pki || !bootstrap || !prefix) {
        fprintf(stderr, "usage: run through ctest: med_exactly_once <limf-mediator>\n");
        return 2;
    }
    mediator_bin = argv[1];
    uint64_t t0 = li_mono_ns();
    li_config *cfg = client_config();
    li_kafka_topic(cfg, "limf.xpdu", topic_xpdu, sizeof topic_xpdu);
    li_kafka_topic(cfg, "limf.admin", topic_admin, sizeof topic_admin);
    char errstr[512];
    static const char *const pprops[] = { "enable.idempotence", "true", "acks", "all",
                                          "linger.ms", "5", NULL };
    rd_kafka_t *p = li_kafka_producer_new(cfg, pprops, NULL, NULL, errstr, sizeof errstr);
    CHECK(p, "producer: %s", errstr);
    CHECK(li_kafka_ensure_topic(p, topic_xpdu, PARTITIONS, 0, 15000, errstr, sizeof errstr) ==
          LI_OK, "%s", errstr);
    CHECK(li_kafka_ensure_topic(p, topic_admin, 1, 1, 15000, errstr, sizeof errstr) == LI_OK,
          "%s", errstr);
    put_warrants(p);

    for (int i = 0; i < 3; i++)
        start_instance(i);
    sleep(4);   /* let the group form, so the stream is shared from its start */

    const int phases = med_gen_phases(MSRP_PER_SESSION);
    for (int k = 0; k < phases; k++) {
        produce_phase(p, k);
        if (k == 3) {
            printf("kill -9 instance i1 (mid-stream)\n");
            kill(pids[1], SIGKILL);
            waitpid(pids[1], NULL, 0);
            pids[1] = 0;
        }
        if (k == 6) {
            printf("start instance i3 (rebalance)\n");
            start_instance(3);
        }
        usleep(700000);
    }
    size_t want = expected_total();
    printf("produced %d sessions in %d phases; expecting %zu records\n", SESSIONS, phases,
           want);
    uint64_t deadline = li_mono_ns() + 50 * 1000000000ULL;
    do {
        sleep(2);
        read_all(cfg);
        printf("  read %zu committed records\n", n_recs);
    } while (n_recs < want && li_mono_ns() < deadline);
    /* Anything re-emitted after a late commit would show up now. */
    sleep(2);
    read_all(cfg);
    CHECK(n_recs == want, "%zu records, want %zu", n_recs, want);
    verify();
    /* Instance i0 lived through both rebalances; its counters are visible. */
    sleep(1);
    long long produced = metric("limf_mediator_records"), parts = metric("limf_mediator_partitions");
    CHECK(produced > 0 && parts >= 1 && metric("limf_mediator_warrants") == WARRANTS,
          "metrics of i0: records %lld partitions %lld", produced, parts);
    printf("i0 /metrics: %lld records, %lld partitions\n", produced, parts);

    for (int i = 0; i < INSTANCES; i++) {
        if (pids[i] <= 0)
            continue;
        kill(pids[i], SIGTERM);
        int st;
        waitpid(pids[i], &st, 0);
        pids[i] = 0;
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "instance i%d exit status %d", i, st);
    }
    li_kafka_destroy(p, 5000);
    li_config_free(cfg);
    free(recs);
    printf("OK: %zu records, %d sessions, per (LIID, CIN) contiguous from 0, in %.1f s\n",
           want, SESSIONS, (double)(li_mono_ns() - t0) / 1e9);
    return 0;
}
