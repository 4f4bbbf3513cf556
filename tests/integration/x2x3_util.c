#include "x2x3_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin.pb-c.h"
#include "li_kafka.h"
#include "li_time.h"
#include "li_tls.h"
#include "ready_port.h"

const char *x2x3t_env(const char *name)
{
    const char *v = getenv(name);
    X2X3T_CHECK(v && *v, "%s unset: run through ctest (with_kafka.sh)", name);
    return v;
}

li_config *x2x3t_kafka_config(void)
{
    /* The test reads and checks topics as the broker's administrator (kafka.sh). */
    li_config *cfg = li_config_new();
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/clients/kafka-admin.conf", x2x3t_env("LIMF_KAFKA_DIR"));
    X2X3T_CHECK(li_config_load_file(cfg, path, err, sizeof err) == LI_OK, "%s", err);
    li_config_set(cfg, "topics.prefix", x2x3t_env("LIMF_TOPIC_PREFIX"));
    return cfg;
}

void x2x3t_topic(char *out, size_t out_size)
{
    snprintf(out, out_size, "%slimf.xpdu", x2x3t_env("LIMF_TOPIC_PREFIX"));
}

void x2x3t_register_poi(const char *cn, const char *role)
{
    li_config *cfg = x2x3t_kafka_config();
    char err[512], topic[300], key[300], pem[512];
    li_kafka_topic(cfg, "limf.pois", topic, sizeof topic);
    static const char *const props[] = { "acks", "all", NULL };
    rd_kafka_t *p = li_kafka_producer_new(cfg, props, NULL, NULL, err, sizeof err);
    X2X3T_CHECK(p, "registry producer: %s", err);
    X2X3T_CHECK(li_kafka_ensure_topic(p, topic, 1, 1, 15000, err, sizeof err) == LI_OK, "%s", err);
    Limf__InterceptPoint ip = LIMF__INTERCEPT_POINT__INIT;
    uint8_t fp[32], value[512];
    size_t len = 0;
    if (role) {
        snprintf(pem, sizeof pem, "%s/%s.pem", x2x3t_env("LIMF_PKI_DIR"), role);
        X2X3T_CHECK(li_tls_file_fingerprint(pem, fp) == LI_OK, "fingerprint of %s", pem);
        ip.id = (char *)cn;
        ip.x2x3_cert_sha256.data = fp;
        ip.x2x3_cert_sha256.len = 32;
        len = limf__intercept_point__pack(&ip, value);
    }
    snprintf(key, sizeof key, "poi/%s", cn);
    X2X3T_CHECK(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                  RD_KAFKA_V_VALUE(len ? value : NULL, len),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == 0,
                "produce %s", key);
    X2X3T_CHECK(li_kafka_destroy(p, 15000) == 0, "registry record %s not delivered", key);
    li_config_free(cfg);
}

void x2x3t_ingest_start(x2x3t_ingest *ing, uint16_t port, const char *const *extra)
{
    static const char *const pois[] = { "poi-test", "relay-agw", "relay-as", "siptap" };
    for (size_t i = 0; i < sizeof pois / sizeof pois[0]; i++)
        x2x3t_register_poi(pois[i], pois[i]);
    if (!ing->dir[0]) {
        snprintf(ing->dir, sizeof ing->dir, "/tmp/x2x3t-XXXXXX");
        X2X3T_CHECK(mkdtemp(ing->dir), "mkdtemp");
    }
    const char *pki = x2x3t_env("LIMF_PKI_DIR");
    char bin[512], portfile[300];
    snprintf(bin, sizeof bin, "%s/bin/limf-ingest", x2x3t_env("LIMF_BUILD_DIR"));
    snprintf(portfile, sizeof portfile, "%s/ready", ing->dir);
    unlink(portfile);
    char opts[16][600];
    int n = 0;
    snprintf(opts[n++], 600, "ingest.listen=127.0.0.1:%u", port);
    snprintf(opts[n++], 600, "ingest.metrics.listen=127.0.0.1:0");
    snprintf(opts[n++], 600, "daemon.ready_file=%s", portfile);
    snprintf(opts[n++], 600, "ingest.tls.cert=%s/ingest.pem", pki);
    snprintf(opts[n++], 600, "ingest.tls.key=%s/ingest.key", pki);
    snprintf(opts[n++], 600, "ingest.tls.ca=%s/ca.pem", pki);
    snprintf(opts[n++], 600, "topics.prefix=%s", x2x3t_env("LIMF_TOPIC_PREFIX"));
    snprintf(opts[n++], 600, "ingest.partitions=4");
    snprintf(opts[n++], 600, "log.level=%s", getenv("X2X3T_LOG") ? getenv("X2X3T_LOG") : "warn");
    char *argv[64];
    int a = 0;
    argv[a++] = bin;
    /* The ingest's own Kafka identity: it may write limf.xpdu and limf.poi.events only. */
    char kafka_conf[512];
    snprintf(kafka_conf, sizeof kafka_conf, "%s/clients/ingest.conf", x2x3t_env("LIMF_KAFKA_DIR"));
    argv[a++] = "-c";
    argv[a++] = kafka_conf;
    for (int i = 0; i < n; i++) {
        argv[a++] = "-o";
        argv[a++] = opts[i];
    }
    for (size_t i = 0; extra && extra[i] && a < 60; i++) {
        argv[a++] = "-o";
        argv[a++] = (char *)extra[i];
    }
    argv[a] = NULL;
    pid_t pid = fork();
    X2X3T_CHECK(pid >= 0, "fork");
    if (pid == 0) {
        /* Dies with the test, even when the test exits on a failed check. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execv(bin, argv);
        perror(bin);
        _exit(127);
    }
    ing->pid = pid;
    uint64_t deadline = li_mono_ns() + 30ull * 1000000000u;
    for (;;) {
        if (ready_port(portfile, "x2x3") >= 0) {
            ing->port = (uint16_t)ready_port(portfile, "x2x3");
            ing->metrics_port = (uint16_t)ready_port(portfile, "metrics");
            return;
        }
        int status;
        X2X3T_CHECK(waitpid(pid, &status, WNOHANG) == 0, "limf-ingest exited at start");
        X2X3T_CHECK(li_mono_ns() < deadline, "limf-ingest did not start");
        usleep(20000);
    }
}

int x2x3t_ingest_stop(x2x3t_ingest *ing, int sig)
{
    int status = 0;
    kill(ing->pid, sig);
    waitpid(ing->pid, &status, 0);
    ing->pid = 0;
    char portfile[300];
    snprintf(portfile, sizeof portfile, "%s/ports", ing->dir);
    unlink(portfile);
    rmdir(ing->dir);
    ing->dir[0] = '\0';
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

x2x3_sender *x2x3t_sender(uint16_t port, const char *role, const char *const *extra)
{
    const char *pki = x2x3t_env("LIMF_PKI_DIR");
    li_config *cfg = li_config_new();
    char v[512];
    snprintf(v, sizeof v, "127.0.0.1:%u", port);
    li_config_set(cfg, "x2x3.address", v);
    snprintf(v, sizeof v, "%s/%s.pem", pki, role);
    li_config_set(cfg, "x2x3.tls.cert", v);
    snprintf(v, sizeof v, "%s/%s.key", pki, role);
    li_config_set(cfg, "x2x3.tls.key", v);
    snprintf(v, sizeof v, "%s/ca.pem", pki);
    li_config_set(cfg, "x2x3.tls.ca", v);
    li_config_set(cfg, "x2x3.tls.peer_name", "127.0.0.1");
    li_config_set(cfg, "x2x3.poi_id", role);
    char err[512];
    for (size_t i = 0; extra && extra[i]; i++)
        X2X3T_CHECK(li_config_set_arg(cfg, extra[i], err, sizeof err) == LI_OK, "%s", err);
    x2x3_sender *s = x2x3_sender_new(cfg, "x2x3", err, sizeof err);
    X2X3T_CHECK(s, "sender: %s", err);
    li_config_free(cfg);
    return s;
}

size_t x2x3t_consume(size_t expect, int timeout_s, int quiet_ms,
                     void (*fn)(const Limf__XPdu *x, void *ctx), void *ctx)
{
    li_config *cfg = x2x3t_kafka_config();
    char err[512], topic[300], group[300];
    x2x3t_topic(topic, sizeof topic);
    snprintf(group, sizeof group, "%sreader-%d-%llu", x2x3t_env("LIMF_TOPIC_PREFIX"), getpid(),
             (unsigned long long)li_mono_ns());
    static const char *const props[] = { "auto.offset.reset", "earliest", "enable.auto.commit",
                                         "false", "fetch.wait.max.ms", "50", NULL };
    rd_kafka_t *c = li_kafka_consumer_new(cfg, group, props, err, sizeof err);
    X2X3T_CHECK(c, "consumer: %s", err);
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(c, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    size_t n = 0;
    uint64_t deadline = li_mono_ns() + (uint64_t)timeout_s * 1000000000u;
    uint64_t last = 0;
    while (li_mono_ns() < deadline) {
        if (n >= expect && li_mono_ns() - last > (uint64_t)quiet_ms * 1000000u)
            break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (!m)
            continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        Limf__XPdu *x = limf__xpdu__unpack(NULL, m->len, m->payload);
        X2X3T_CHECK(x, "record at offset %lld is not an XPdu", (long long)m->offset);
        X2X3T_CHECK(m->key_len == 16 && x->xid.len == 16 &&
                    memcmp(m->key, x->xid.data, 16) == 0, "key is not the XID");
        fn(x, ctx);
        limf__xpdu__free_unpacked(x, NULL);
        rd_kafka_message_destroy(m);
        n++;
        last = li_mono_ns();
    }
    li_kafka_destroy(c, 0);
    li_config_free(cfg);
    return n;
}

int x2x3t_http_get(uint16_t port, const char *path, char *out, size_t out_size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t len = 0;
    ssize_t r;
    while (len + 1 < out_size && (r = read(fd, out + len, out_size - len - 1)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(fd);
    int status = -1;
    if (sscanf(out, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    char *body = strstr(out, "\r\n\r\n");
    if (body)
        memmove(out, body + 4, strlen(body + 4) + 1);
    return status;
}

int x2x3t_https_get(uint16_t port, const char *path, const char *pki, const char *role,
                    char *out, size_t out_size)
{
    char cert[512], key[512], ca[512], err[256];
    snprintf(cert, sizeof cert, "%s/%s.pem", pki, role);
    snprintf(key, sizeof key, "%s/%s.key", pki, role);
    snprintf(ca, sizeof ca, "%s/ca.pem", pki);
    li_tls_opts o = { .cert_file = cert, .key_file = key, .ca_file = ca };
    SSL_CTX *ctx = li_tls_ctx_new(&o, err, sizeof err);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    SSL *ssl = ctx ? SSL_new(ctx) : NULL;
    int status = -1;
    if (!ssl || fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1)
        goto out;
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (SSL_write(ssl, req, n) != n)
        goto out;
    size_t len = 0;
    int r;
    while (len + 1 < out_size && (r = SSL_read(ssl, out + len, (int)(out_size - len - 1))) > 0)
        len += (size_t)r;
    out[len] = '\0';
    if (sscanf(out, "HTTP/1.%*d %d", &status) != 1)
        status = -1;
    char *body = strstr(out, "\r\n\r\n");
    if (body)
        memmove(out, body + 4, strlen(body + 4) + 1);
out:
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0)
        close(fd);
    return status;
}

long long x2x3t_metric(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return atoll(p + n + 1);
    }
    return -1;
}

struct x2x3t_tls {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
};

x2x3t_tls *x2x3t_tls_connect(uint16_t port, const char *role)
{
    signal(SIGPIPE, SIG_IGN);   /* the ingest closes hostile connections under our writes */
    const char *pki = x2x3t_env("LIMF_PKI_DIR");
    char cert[512], key[512], ca[512], err[512];
    snprintf(cert, sizeof cert, "%s/%s.pem", pki, role);
    snprintf(key, sizeof key, "%s/%s.key", pki, role);
    snprintf(ca, sizeof ca, "%s/ca.pem", pki);
    li_tls_opts o = { .server = 0, .cert_file = cert, .key_file = key, .ca_file = ca };
    x2x3t_tls *t = calloc(1, sizeof *t);
    t->ctx = li_tls_ctx_new(&o, err, sizeof err);
    X2X3T_CHECK(t->ctx, "tls: %s", err);
    t->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    X2X3T_CHECK(connect(t->fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect: %s",
                strerror(errno));
    t->ssl = SSL_new(t->ctx);
    SSL_set_fd(t->ssl, t->fd);
    if (SSL_connect(t->ssl) != 1) {
        x2x3t_tls_close(t);
        return NULL;
    }
    return t;
}

int x2x3t_tls_write(x2x3t_tls *t, const void *p, size_t n)
{
    return SSL_write(t->ssl, p, (int)n) == (int)n ? 0 : -1;
}

int x2x3t_tls_read(x2x3t_tls *t, void *p, size_t n, int timeout_ms)
{
    if (SSL_pending(t->ssl) == 0) {
        struct pollfd pfd = { t->fd, POLLIN, 0 };
        if (poll(&pfd, 1, timeout_ms) <= 0)
            return -1;
    }
    int r = SSL_read(t->ssl, p, (int)n);
    if (r > 0)
        return r;
    /* A close (with or without close_notify) or a reset: the peer is gone. */
    return SSL_get_error(t->ssl, r) == SSL_ERROR_WANT_READ ? -1 : 0;
}

void x2x3t_tls_close(x2x3t_tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    if (t->fd >= 0)
        close(t->fd);
    SSL_CTX_free(t->ctx);
    free(t);
}

int x2x3t_copy_seen(x2x3t_copies *c, const Limf__XPdu *x)
{
    size_t len = x->attributes.len + x->payload.len;
    if (c->n++ == 0) {
        c->bytes = malloc(len ? len : 1);
        memcpy(c->bytes, x->attributes.data, x->attributes.len);
        memcpy(c->bytes + x->attributes.len, x->payload.data, x->payload.len);
        c->len = len;
        return 1;
    }
    return len == c->len && memcmp(c->bytes, x->attributes.data, x->attributes.len) == 0 &&
           memcmp(c->bytes + x->attributes.len, x->payload.data, x->payload.len) == 0;
}
