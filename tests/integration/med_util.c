#include "med_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_med_gen.h"
#include "li_time.h"
#include "ready_port.h"

static const char *pki, *bootstrap, *prefix, *bin, *test_name;
static pid_t pids[MED_IT_MAX_INSTANCES];

void med_it_init(int argc, char **argv, const char *name)
{
    pki = getenv("LIMF_PKI_DIR");
    bootstrap = getenv("LIMF_KAFKA_TLS_BOOTSTRAP");
    prefix = getenv("LIMF_TOPIC_PREFIX");
    if (argc != 2 || !pki || !bootstrap || !prefix) {
        fprintf(stderr, "usage: run through ctest: %s <limf-mediator>\n", name);
        exit(2);
    }
    bin = argv[1];
    test_name = name;
}

li_config *med_it_client_config(void)
{
    li_config *cfg = li_config_new();
    char path[512], errbuf[256];
    /* The broker's administrator, as deploy/kafka.sh configures it for this broker. */
    snprintf(path, sizeof path, "%s/clients/kafka-admin.conf", getenv("LIMF_KAFKA_DIR"));
    if (li_config_load_file(cfg, path, errbuf, sizeof errbuf) != LI_OK) {
        fprintf(stderr, "%s\n", errbuf);
        exit(1);
    }
    li_config_set(cfg, "topics.prefix", prefix);
    return cfg;
}

rd_kafka_t *med_it_producer(li_config *cfg)
{
    static const char *const props[] = { "enable.idempotence", "true", "acks", "all",
                                         "linger.ms", "5", NULL };
    char errstr[512];
    rd_kafka_t *p = li_kafka_producer_new(cfg, props, NULL, NULL, errstr, sizeof errstr);
    MED_IT_CHECK(p, "producer: %s", errstr);
    return p;
}

void med_it_topics(rd_kafka_t *p, const char *xpdu, int xpdu_partitions, const char *admin)
{
    char errstr[512];
    MED_IT_CHECK(li_kafka_ensure_topic(p, xpdu, xpdu_partitions, 0, 15000, errstr,
                                       sizeof errstr) == LI_OK, "%s", errstr);
    MED_IT_CHECK(li_kafka_ensure_topic(p, admin, 1, 1, 15000, errstr, sizeof errstr) == LI_OK,
                 "%s", errstr);
}

void med_it_produce(rd_kafka_t *p, const char *topic, const void *key, size_t klen,
                    const void *val, size_t vlen)
{
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, klen),
                                  RD_KAFKA_V_VALUE((void *)val, vlen),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(p, 10);
    MED_IT_CHECK(!e, "produce: %s", rd_kafka_err2str(e));
}

static const char *log_dir(void)
{
    return getenv("LIMF_LOG_DIR") ? getenv("LIMF_LOG_DIR") : ".";
}

/* The secret of the mediators' Kafka key hashes (mediator.key_file). */
static const char hash_secret[] = "med-it key-hash secret, 32 bytes";

const char *med_it_key_file(void)
{
    static char path[400];   /* fits an option line (OPT, 512) */
    /* Written once: rewriting it while another instance starts would let that one read
     * a truncated file. */
    if (path[0])
        return path;
    snprintf(path, sizeof path, "%s/%s.mediator.key", log_dir(), test_name);
    FILE *f = fopen(path, "w");
    MED_IT_CHECK(f && fputs(hash_secret, f) >= 0 && fclose(f) == 0 && chmod(path, 0600) == 0,
                 "cannot write %s", path);
    return path;
}

void med_it_key_hash(const char *clear, char out[33])
{
    /* The oracle of med_keys.h, from OpenSSL's primitives: HMAC-SHA-256 keyed with the
     * SHA-256 of the file, first 16 bytes in hex. */
    uint8_t key[32], mac[32];
    unsigned int len = 0;
    SHA256((const uint8_t *)hash_secret, strlen(hash_secret), key);
    HMAC(EVP_sha256(), key, sizeof key, (const uint8_t *)clear, strlen(clear), mac, &len);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

void med_it_start(int i, const char *const *extra)
{
    char opts[32][512];
    char *args[72];
    int n = 0, o = 0;
    args[n++] = (char *)bin;
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
    OPT("topics.prefix=%s", prefix);
    /* The group and the transactional ids under the test's prefix: tests running at
     * the same time on the fixture broker must not fence each other's "i0". */
    OPT("mediator.group_id=%slimf-mediator", prefix);
    OPT("mediator.instance_id=i%d", i);
    OPT("mediator.group_session_timeout_ms=6000");
    OPT("mediator.transaction_timeout_ms=6000");
    OPT("mediator.batch_ms=20");
    OPT("mediator.tick_ms=500");
    OPT("mediator.stats_s=5");
    OPT("mediator.metrics.listen=127.0.0.1:0");
    OPT("mediator.key_file=%s", med_it_key_file());
    OPT("daemon.ready_file=%s/%s.i%d.ready", log_dir(), test_name, i);
    OPT("log.level=info");
    for (size_t k = 0; extra && extra[k] && o < 32; k++)
        OPT("%s", extra[k]);
#undef OPT
    args[n] = NULL;
    char logpath[512], portpath[512];
    snprintf(logpath, sizeof logpath, "%s/%s.i%d.log", log_dir(), test_name, i);
    snprintf(portpath, sizeof portpath, "%s/%s.i%d.ready", log_dir(), test_name, i);
    unlink(portpath);
    pid_t pid = fork();
    MED_IT_CHECK(pid >= 0, "fork");
    if (pid == 0) {
        if (!freopen(logpath, "w", stderr))
            _exit(126);
        dup2(2, 1);
        execv(bin, args);
        _exit(127);
    }
    pids[i] = pid;
}

void med_it_kill(int i)
{
    if (pids[i] > 0) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
        pids[i] = 0;
    }
}

int med_it_term(int i)
{
    if (pids[i] <= 0)
        return -1;
    int st;
    kill(pids[i], SIGTERM);
    waitpid(pids[i], &st, 0);
    pids[i] = 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int med_it_exit_status(int i)
{
    int st;
    if (pids[i] <= 0 || waitpid(pids[i], &st, WNOHANG) != pids[i])
        return -1;
    pids[i] = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void med_it_stop_all(void)
{
    for (int i = 0; i < MED_IT_MAX_INSTANCES; i++)
        med_it_kill(i);
}

long long med_it_metric(int i, const char *name)
{
    char path[512], buf[8192];
    snprintf(path, sizeof path, "%s/%s.i%d.ready", log_dir(), test_name, i);
    long port = ready_port(path, "metrics");
    int fd = port > 0 ? socket(AF_INET, SOCK_STREAM, 0) : -1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
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

size_t med_it_read_hi(li_config *cfg, const char *const *dests, size_t n_dests,
                      med_it_rec_fn fn, void *ctx)
{
    static const char *const props[] = { "isolation.level", "read_committed",
                                         "enable.partition.eof", "true",
                                         "fetch.wait.max.ms", "10", NULL };
    char errstr[256];
    /* assign() needs a group id; this reader never joins or commits. */
    rd_kafka_t *c = li_kafka_consumer_new(cfg, "med-it-reader", props, errstr, sizeof errstr);
    MED_IT_CHECK(c, "consumer: %s", errstr);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    int parts = 0;
    for (size_t d = 0; d < n_dests; d++) {
        char suffix[33], topic[256];
        med_gen_suffix(dests[d], suffix);
        li_kafka_hi_topic(cfg, dests[d], suffix, topic, sizeof topic);
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
    size_t count = 0;
    if (parts) {
        rd_kafka_assign(c, l);
        int eof = 0;
        uint64_t deadline = li_mono_ns() + 20 * 1000000000ULL;
        while (eof < parts && li_mono_ns() < deadline) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
            if (!m)
                continue;
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                eof++;
            } else if (!m->err) {
                Limf__HiRecord *r = limf__hi_record__unpack(NULL, m->len, m->payload);
                MED_IT_CHECK(r, "undecodable HiRecord");
                if (fn)
                    fn(ctx, m, r);
                limf__hi_record__free_unpacked(r, NULL);
                count++;
            }
            rd_kafka_message_destroy(m);
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    li_kafka_destroy(c, 0);
    return count;
}
