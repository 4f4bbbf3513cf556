/* The POI sender's delivery rule against a minimal in-process ingest (real TLS over
 * loopback, the test PKI): PDUs stay buffered while keepalives go unanswered, are resent
 * byte-identical after the connection drops, and are released once a keepalive sent
 * after them is answered; bad records are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "li_log.h"
#include "li_time.h"
#include "li_tls.h"
#include "x2x3_pdu.h"
#include "x2x3_sender.h"

static char tmpdir[64];

/* --- a minimal ingest: records the X2/X3 bytes of each connection --- */

static struct {
    pthread_mutex_t mu;
    SSL_CTX *ctx;
    int listen_fd;
    uint16_t port;
    int answer;          /* answer keepalives */
    int drop;            /* close the current connection */
    int stop;
    int conns;
    li_buf stream[4];    /* X2/X3 PDUs received on connection i */
    size_t pdus[4];
    size_t keepalives;
} srv;

static int flag(int *f)
{
    pthread_mutex_lock(&srv.mu);
    int v = *f;
    pthread_mutex_unlock(&srv.mu);
    return v;
}

static void serve_one(SSL *ssl, int fd, int idx)
{
    li_buf in;
    li_buf_init(&in, 0);
    while (!flag(&srv.stop) && !flag(&srv.drop)) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (SSL_pending(ssl) == 0 && poll(&p, 1, 20) <= 0)
            continue;
        uint8_t buf[16384];
        int n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0)
            break;
        li_buf_append(&in, buf, (size_t)n);
        size_t off = 0, used;
        x2x3_pdu pdu;
        while (x2x3_pdu_decode(in.data + off, in.len - off, 0, &pdu, &used, NULL) == LI_OK) {
            pthread_mutex_lock(&srv.mu);
            if (pdu.pdu_type == X2X3_PDU_KEEPALIVE) {
                srv.keepalives++;
                if (srv.answer) {
                    li_buf ack;
                    li_buf_init(&ack, 0);
                    x2x3_keepalive_ack_encode(&ack, &pdu);
                    SSL_write(ssl, ack.data, (int)ack.len);
                    li_buf_free(&ack);
                }
            } else if (idx < 4) {
                li_buf_append(&srv.stream[idx], in.data + off, used);
                srv.pdus[idx]++;
            }
            pthread_mutex_unlock(&srv.mu);
            off += used;
        }
        li_buf_consume(&in, off);
    }
    li_buf_free(&in);
}

static void *server(void *arg)
{
    (void)arg;
    while (!flag(&srv.stop)) {
        struct pollfd p = { srv.listen_fd, POLLIN, 0 };
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(srv.listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        SSL *ssl = SSL_new(srv.ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) == 1) {
            pthread_mutex_lock(&srv.mu);
            int idx = srv.conns++;
            srv.drop = 0;
            pthread_mutex_unlock(&srv.mu);
            serve_one(ssl, fd, idx);
        }
        SSL_free(ssl);
        close(fd);
    }
    return NULL;
}

static int wait_until(size_t *counter, size_t want, int timeout_ms)
{
    uint64_t deadline = li_mono_ns() + (uint64_t)timeout_ms * 1000000u;
    while (li_mono_ns() < deadline) {
        pthread_mutex_lock(&srv.mu);
        size_t v = *counter;
        pthread_mutex_unlock(&srv.mu);
        if (v >= want)
            return 1;
        usleep(10000);
    }
    return 0;
}

static x2x3_sender *make_sender(void)
{
    li_config *cfg = li_config_new();
    char v[256], err[512];
    snprintf(v, sizeof v, "127.0.0.1:%u", srv.port);
    li_config_set(cfg, "x2x3.address", v);
    snprintf(v, sizeof v, "%s/poi-test.pem", tmpdir);
    li_config_set(cfg, "x2x3.tls.cert", v);
    snprintf(v, sizeof v, "%s/poi-test.key", tmpdir);
    li_config_set(cfg, "x2x3.tls.key", v);
    snprintf(v, sizeof v, "%s/ca.pem", tmpdir);
    li_config_set(cfg, "x2x3.tls.ca", v);
    li_config_set(cfg, "x2x3.poi_id", "unit");
    li_config_set(cfg, "x2x3.keepalive_s", "2");
    li_config_set(cfg, "x2x3.reconnect_max_s", "1");
    li_config_set(cfg, "x2x3.ack_interval_ms", "5");
    li_config_set(cfg, "x2x3.max_pdu", "8192");
    x2x3_sender *s = x2x3_sender_new(cfg, "x2x3", err, sizeof err);
    if (!s)
        print_message("sender: %s\n", err);
    li_config_free(cfg);
    return s;
}

static x2x3_record record(int i, const char *payload)
{
    x2x3_record r;
    memset(&r, 0, sizeof r);
    r.pdu_type = X2X3_PDU_X2;
    r.payload_format = X2X3_FORMAT_SIP;
    r.payload_direction = X2X3_DIR_TO_TARGET;
    r.xid[0] = (uint8_t)i;
    r.payload = (const uint8_t *)payload;
    r.payload_len = strlen(payload);
    return r;
}

static void test_retained_resent_released(void **state)
{
    (void)state;
    x2x3_sender *s = make_sender();
    assert_non_null(s);
    for (int i = 0; i < 10; i++) {
        x2x3_record r = record(i, "MESSAGE sip:b@example.org SIP/2.0\r\n\r\n");
        assert_int_equal(x2x3_sender_send(s, &r), LI_OK);
    }
    /* Delivered but never acknowledged: still buffered. */
    assert_true(wait_until(&srv.pdus[0], 10, 5000));
    assert_int_equal(x2x3_sender_flush(s, 200), LI_ERR_TIMEOUT);
    x2x3_sender_stats st;
    x2x3_sender_stats_get(s, &st);
    assert_int_equal(st.acked_pdus, 0);
    assert_true(st.buffered_bytes > 0);
    assert_int_equal(st.connected, 1);
    assert_true(wait_until(&srv.keepalives, 1, 2000));

    /* The link drops: everything is resent on the next connection, byte for byte. */
    pthread_mutex_lock(&srv.mu);
    srv.drop = 1;
    pthread_mutex_unlock(&srv.mu);
    assert_true(wait_until(&srv.pdus[1], 10, 8000));
    pthread_mutex_lock(&srv.mu);
    assert_int_equal(srv.stream[1].len, srv.stream[0].len);
    assert_memory_equal(srv.stream[1].data, srv.stream[0].data, srv.stream[0].len);
    srv.answer = 1;
    pthread_mutex_unlock(&srv.mu);

    /* Answers release the buffer. */
    assert_int_equal(x2x3_sender_flush(s, 5000), LI_OK);
    x2x3_sender_stats_get(s, &st);
    assert_int_equal(st.acked_pdus, 10);
    assert_int_equal(st.buffered_bytes, 0);
    assert_int_equal(st.dropped_pdus, 0);
    assert_true(st.reconnects >= 1);
    assert_int_equal(st.sent_pdus, 20);

    /* Sequence numbers 0..9 on both connections, attributes 7, 8, 9 in order. */
    size_t off = 0, used;
    for (uint32_t i = 0; i < 10; i++) {
        x2x3_pdu p;
        assert_int_equal(x2x3_pdu_decode(srv.stream[1].data + off, srv.stream[1].len - off, 0,
                                         &p, &used, NULL), LI_OK);
        assert_int_equal(p.seq, i);
        assert_int_equal(p.xid[0], i);
        assert_int_equal(p.ipid.len, 4);
        assert_memory_equal(p.ipid.p, "unit", 4);
        assert_true(x2x3_pdu_timestamp_ns(&p) > 1700000000000000000ull);
        off += used;
    }
    x2x3_sender_free(s);
}

static void test_bad_records_refused(void **state)
{
    (void)state;
    x2x3_sender *s = make_sender();
    assert_non_null(s);
    x2x3_record r = record(1, "MSRP x SEND\r\n");
    r.payload_format = X2X3_FORMAT_MSRP;     /* X3 only */
    assert_int_equal(x2x3_sender_send(s, &r), LI_ERR_INVAL);
    r = record(1, "x");
    r.payload_direction = 0;
    assert_int_equal(x2x3_sender_send(s, &r), LI_ERR_INVAL);
    r = record(1, "x");
    r.pdu_type = X2X3_PDU_KEEPALIVE;
    assert_int_equal(x2x3_sender_send(s, &r), LI_ERR_INVAL);
    static char big[9000];
    memset(big, 'b', sizeof big - 1);
    r = record(1, big);                      /* above x2x3.max_pdu */
    assert_int_equal(x2x3_sender_send(s, &r), LI_ERR_INVAL);
    x2x3_sender_stats st;
    x2x3_sender_stats_get(s, &st);
    assert_int_equal(st.dropped_pdus, 0);
    assert_int_equal(st.buffered_bytes, 0);
    x2x3_sender_free(s);
    x2x3_sender_free(NULL);
}

/* The nice value of this process's thread named `comm`, or -100 when there is none. */
static int thread_nice(const char *comm)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -100;
    int nice = -100;
    struct dirent *e;
    while (nice == -100 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], line[1024];
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        line[n] = '\0';
        /* pid (comm) state ...: field 19 is nice, counted after the comm's ')'. */
        char *open = strchr(line, '('), *close = strrchr(line, ')');
        if (!open || !close || (size_t)(close - open - 1) != strlen(comm) ||
            strncmp(open + 1, comm, strlen(comm)) != 0)
            continue;
        char *p = close + 2;
        for (int field = 3; field < 19 && p; field++)
            if ((p = strchr(p, ' ')) != NULL)
                p++;
        if (p)
            nice = atoi(p);
    }
    closedir(d);
    return nice;
}

/* The sender's thread yields to the POI's own (x2x3.thread_nice, default 5). */
static void test_thread_nice(void **state)
{
    (void)state;
    x2x3_sender *s = make_sender();
    assert_non_null(s);
    int nice = -100;
    for (int i = 0; i < 100 && nice != 5; i++, usleep(10000))
        nice = thread_nice("x2x3-sender");
    assert_int_equal(nice, 5);
    assert_int_equal(thread_nice("test_x2x3_sende"), 0);   /* the caller's untouched */
    x2x3_sender_free(s);
}

static void test_config_errors(void **state)
{
    (void)state;
    li_config *cfg = li_config_new();
    char err[512];
    assert_null(x2x3_sender_new(cfg, "x2x3", err, sizeof err));
    assert_non_null(strstr(err, "x2x3.address"));
    li_config_set(cfg, "x2x3.address", "127.0.0.1:1");
    assert_null(x2x3_sender_new(cfg, "x2x3", err, sizeof err));   /* no certificate */
    li_config_set(cfg, "x2x3.thread_nice", "20");
    assert_null(x2x3_sender_new(cfg, "x2x3", err, sizeof err));
    assert_non_null(strstr(err, "x2x3.thread_nice"));
    li_config_free(cfg);
}

static int setup(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(tmpdir, sizeof tmpdir, "/tmp/x2x3-sender-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(cmd, sizeof cmd, "%s/deploy/pki.sh %s >/dev/null", SOURCE_DIR, tmpdir);
    if (system(cmd) != 0)
        return -1;
    char c[300], k[300], a[300], err[512];
    snprintf(c, sizeof c, "%s/ingest.pem", tmpdir);
    snprintf(k, sizeof k, "%s/ingest.key", tmpdir);
    snprintf(a, sizeof a, "%s/ca.pem", tmpdir);
    li_tls_opts o = { .server = 1, .cert_file = c, .key_file = k, .ca_file = a };
    pthread_mutex_init(&srv.mu, NULL);
    if (!(srv.ctx = li_tls_ctx_new(&o, err, sizeof err)))
        return -1;
    srv.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    socklen_t sl = sizeof sa;
    if (bind(srv.listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(srv.listen_fd, 8) != 0 ||
        getsockname(srv.listen_fd, (struct sockaddr *)&sa, &sl) != 0)
        return -1;
    srv.port = ntohs(sa.sin_port);
    for (int i = 0; i < 4; i++)
        li_buf_init(&srv.stream[i], 0);
    return 0;
}

int main(void)
{
    li_log_init("test_x2x3_sender", LI_LOG_ERROR, 0);
    signal(SIGPIPE, SIG_IGN);   /* the test ingest writes to connections the sender drops */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retained_resent_released),
        cmocka_unit_test(test_bad_records_refused),
        cmocka_unit_test(test_thread_nice),
        cmocka_unit_test(test_config_errors),
    };
    if (setup(NULL) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    pthread_t t;
    pthread_create(&t, NULL, server, NULL);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pthread_mutex_lock(&srv.mu);
    srv.stop = 1;
    pthread_mutex_unlock(&srv.mu);
    pthread_join(t, NULL);
    close(srv.listen_fd);
    SSL_CTX_free(srv.ctx);
    for (int i = 0; i < 4; i++)
        li_buf_free(&srv.stream[i]);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
