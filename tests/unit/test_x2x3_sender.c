/* The POI sender's delivery rule against a minimal in-process ingest (real TLS over
 * loopback, the test PKI): PDUs stay buffered while keepalives go unanswered, are resent
 * byte-identical after the connection drops, and are released once a keepalive sent
 * after them is answered; bad records are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "li_log.h"
#include "x2x3_pdu.h"
#include "x2x3_sender.h"
#include "x2x3_test_ingest.h"

static char tmpdir[64];

/* The ingest: starts without answering keepalives. */
static x2x3_test_ingest srv;

static x2x3_sender *make_sender_with(const char *key, const char *value)
{
    li_config *cfg = li_config_new();
    if (key)
        li_config_set(cfg, key, value);
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

static x2x3_sender *make_sender(void)
{
    return make_sender_with(NULL, NULL);
}

static void assert_slice_eq(li_slice s, const char *text)
{
    assert_int_equal(s.len, strlen(text));
    assert_memory_equal(s.p, text, s.len);
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
    assert_true(x2x3_test_ingest_wait(&srv, &srv.stream_pdus[0], 10, 0, 5000));
    assert_int_equal(x2x3_sender_flush(s, 200), LI_ERR_TIMEOUT);
    x2x3_sender_stats st;
    x2x3_sender_stats_get(s, &st);
    assert_int_equal(st.acked_pdus, 0);
    assert_true(st.buffered_bytes > 0);
    assert_int_equal(st.connected, 1);
    assert_true(x2x3_test_ingest_wait(&srv, &srv.keepalives, 1, 0, 2000));

    /* The link drops: everything is resent on the next connection, byte for byte. */
    x2x3_test_ingest_set(&srv, &srv.drop, 1);
    assert_true(x2x3_test_ingest_wait(&srv, &srv.stream_pdus[1], 10, 0, 8000));
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

    /* Each XID its own stream numbered from 0 (TS 103 221-2 numbers per XID and
     * correlation ID; issue 17), the same on both connections; attributes 6-9. */
    size_t off = 0, used;
    for (uint32_t i = 0; i < 10; i++) {
        x2x3_pdu p;
        assert_int_equal(x2x3_pdu_decode(srv.stream[1].data + off, srv.stream[1].len - off, 0,
                                         &p, &used, NULL), LI_OK);
        assert_int_equal(p.seq, 0);
        assert_slice_eq(p.nfid, "unit");      /* x2x3.nf_id defaults to x2x3.poi_id */
        assert_int_equal(p.xid[0], i);
        assert_int_equal(p.ipid.len, 4);
        assert_memory_equal(p.ipid.p, "unit", 4);
        assert_true(x2x3_pdu_timestamp_ns(&p) > 1700000000000000000ull);
        off += used;
    }
    x2x3_sender_free(s);
}

/* Sequence numbers per (XID, correlation ID), matched and other targets in the standard
 * XML form, interleaved streams each counting 0, 1, 2, ... */
static void test_numbering_per_stream(void **state)
{
    (void)state;
    x2x3_test_ingest_set(&srv, &srv.answer, 1);
    x2x3_sender *s = make_sender();
    assert_non_null(s);
    const char *target = "sip-uri:sip:alice@example.com", *other = "tel-uri:tel:+4930";
    for (int i = 0; i < 12; i++) {
        x2x3_record r = record(i % 2, "MESSAGE sip:b@example.org SIP/2.0\r\n\r\n");
        r.correlation_id = (uint64_t)(i % 3);
        r.matched_targets = &target;
        r.n_matched_targets = 1;
        r.other_targets = &other;
        r.n_other_targets = 1;
        assert_int_equal(x2x3_sender_send(s, &r), LI_OK);
    }
    assert_int_equal(x2x3_sender_flush(s, 5000), LI_OK);
    pthread_mutex_lock(&srv.mu);
    assert_true(srv.conns <= X2X3_TEST_CONNS);   /* kept byte for byte */
    const li_buf *b = &srv.stream[srv.conns - 1];
    uint32_t next[2][3] = { { 0 } };
    size_t off = 0, used, n = 0;
    x2x3_pdu p;
    while (off < b->len &&
           x2x3_pdu_decode(b->data + off, b->len - off, 0, &p, &used, NULL) == LI_OK) {
        off += used;
        n++;
        assert_true(p.xid[0] < 2 && p.correlation_id < 3);
        assert_int_equal(p.seq, next[p.xid[0]][p.correlation_id]++);
        li_slice t;
        assert_int_equal(x2x3_pdu_matched_target(&p, 0, &t), LI_OK);
        assert_slice_eq(t, "<sipUri>sip:alice@example.com</sipUri>");
        assert_false(p.flags & X2X3_FLAG_TARGET_TEXT);
        size_t pos = 0;
        x2x3_attr a;
        int others = 0;
        while (x2x3_pdu_attr_next(&p, &pos, &a) == LI_OK)
            if (a.type == X2X3_ATTR_OTHER_TARGET) {
                assert_slice_eq(li_slice_of(a.value, a.len), "<telUri>tel:+4930</telUri>");
                others++;
            }
        assert_int_equal(others, 1);
    }
    pthread_mutex_unlock(&srv.mu);
    assert_int_equal(n, 12);
    for (int x = 0; x < 2; x++)
        for (int c = 0; c < 3; c++)
            assert_int_equal(next[x][c], 2);   /* 12 records over 6 streams */
    x2x3_sender_free(s);
    x2x3_test_ingest_set(&srv, &srv.answer, 0);
}

/* A peer that closes every connection at once is retried with a growing, jittered
 * backoff (x2x3.reconnect_max_s = 1: 50-100, 100-200, 200-400, 400-800, then 500-1000
 * ms), not in a loop (issue 17: 272 reconnections in 5 s). */
static void test_reconnect_backoff(void **state)
{
    (void)state;
    x2x3_test_ingest_set(&srv, &srv.refuse, 1);
    size_t before = x2x3_test_ingest_get(&srv, &srv.conns);
    x2x3_sender *s = make_sender();
    assert_non_null(s);
    x2x3_record r = record(1, "MESSAGE sip:b@example.org SIP/2.0\r\n\r\n");
    assert_int_equal(x2x3_sender_send(s, &r), LI_OK);
    usleep(3000000);
    size_t n = x2x3_test_ingest_get(&srv, &srv.conns) - before;
    print_message("connections in 3 s: %zu\n", n);
    assert_true(n >= 3 && n <= 9);
    x2x3_test_ingest_set(&srv, &srv.refuse, 0);
    /* Once the peer serves again the record is delivered. */
    x2x3_test_ingest_set(&srv, &srv.answer, 1);
    assert_int_equal(x2x3_sender_flush(s, 5000), LI_OK);
    x2x3_sender_free(s);
    x2x3_test_ingest_set(&srv, &srv.answer, 0);
}

/* Unacknowledged mode for an MDF that never answers keepalives: records are released
 * once written, counted as such, keepalives still go out. */
static void test_unacknowledged_mode(void **state)
{
    (void)state;
    char addr[64];
    snprintf(addr, sizeof addr, "10.0.0.1:1, 127.0.0.1:%u", srv.port);
    x2x3_sender *s = make_sender_with("x2x3.unacknowledged", addr);
    assert_non_null(s);
    size_t pdus = x2x3_test_ingest_get(&srv, &srv.pdus);
    size_t kas = x2x3_test_ingest_get(&srv, &srv.keepalives);
    for (int i = 0; i < 5; i++) {
        x2x3_record r = record(i, "MESSAGE sip:b@example.org SIP/2.0\r\n\r\n");
        assert_int_equal(x2x3_sender_send(s, &r), LI_OK);
    }
    assert_int_equal(x2x3_sender_flush(s, 5000), LI_OK);   /* no answer needed */
    assert_true(x2x3_test_ingest_wait(&srv, &srv.pdus, pdus + 5, 1, 5000));
    x2x3_sender_stats st;
    x2x3_sender_stats_get(s, &st);
    assert_int_equal(st.unacknowledged_mode, 1);
    assert_int_equal(st.unacked_pdus, 5);
    assert_int_equal(st.buffered_bytes, 0);
    assert_true(x2x3_test_ingest_wait(&srv, &srv.keepalives, kas + 1, 0, 5000));
    assert_int_equal(st.reconnects, 0);
    x2x3_sender_free(s);
    /* Another address is not in the list: the default mode. */
    s = make_sender_with("x2x3.unacknowledged", "127.0.0.1:1");
    assert_non_null(s);
    x2x3_record r = record(9, "x");
    assert_int_equal(x2x3_sender_send(s, &r), LI_OK);
    assert_int_equal(x2x3_sender_flush(s, 300), LI_ERR_TIMEOUT);
    x2x3_sender_stats_get(s, &st);
    assert_int_equal(st.unacknowledged_mode, 0);
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
    return x2x3_test_ingest_start(&srv, tmpdir, "ingest", 0);
}

int main(void)
{
    li_log_init("test_x2x3_sender", LI_LOG_ERROR, 0);
    signal(SIGPIPE, SIG_IGN);   /* the test ingest writes to connections the sender drops */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retained_resent_released),
        cmocka_unit_test(test_numbering_per_stream),
        cmocka_unit_test(test_reconnect_backoff),
        cmocka_unit_test(test_unacknowledged_mode),
        cmocka_unit_test(test_bad_records_refused),
        cmocka_unit_test(test_thread_nice),
        cmocka_unit_test(test_config_errors),
    };
    if (setup(NULL) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    x2x3_test_ingest_stop(&srv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
