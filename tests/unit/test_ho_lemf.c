/* limf-lemf's receiving core: sequence checks per (LIID, CIN) as a table of streams and
 * the counters they must leave; one connection served over a real socket (keep-alive
 * answered, connection and byte counters); the /metrics exposition of the counters; the
 * JSON line of a PDU, read back by jansson (a parser nobody here wrote). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ho_lemf.h"
#include "li_time.h"

#define S(text) li_slice_of(text, sizeof text - 1)

/* One PDU of a scenario: 'i' IRI, 'c' CC, 'k' keep-alive, 'x' undecodable; content
 * variant v (a repeat with another v is a conflict). */
typedef struct step {
    char kind;
    const char *liid;
    uint32_t cin, seq;
    int v;
} step;

static void encode(const step *s, li_buf *out)
{
    static const char *const contents[] = { "INVITE sip:a@b SIP/2.0\r\n\r\n", "other" };
    ho_pdu p;
    memset(&p, 0, sizeof p);
    p.ts_qualifier = -1;
    p.liid = li_slice_of(s->liid, strlen(s->liid));
    p.operator_id = S("OP");
    p.has_cin = 1;
    p.cin = s->cin;
    p.seq = s->seq;
    p.timestamp_ns = 1700000000000000000ull;
    p.content = li_slice_of(contents[s->v], strlen(contents[s->v]));
    if (s->kind == 'i') {
        p.payload = HO_PAYLOAD_IRI;
        p.iri_type = 1;
        p.iri_content = HO_IRI_SIP;
        p.src.family = p.dst.family = 4;
    } else if (s->kind == 'c') {
        p.payload = HO_PAYLOAD_CC;
        p.direction = HO_DIR_TO_TARGET;
    } else {
        p.payload = HO_PAYLOAD_KEEPALIVE;
        p.has_cin = 0;
    }
    li_buf_reset(out);
    assert_int_equal(ho_pdu_encode(&p, out), LI_OK);
    if (s->kind == 'x')
        out->data[0] = 0x04; /* an OCTET STRING, not a PS-PDU */
}

static FILE *sink(void)
{
    FILE *f = fopen("/dev/null", "w");
    assert_non_null(f);
    return f;
}

static const struct scenario {
    const char *name;
    step steps[8];
    ho_lemf_stats want; /* bytes, connections, open, refused, last_rx_ns not compared */
} scenarios[] = {
    /* HI2 and HI3 are numbered apart (docs/CONFORMANCE.md): CC 0 is neither a gap nor a
     * conflict after IRI 0. */
    { "in order", { { 'i', "L1", 1, 0, 0 }, { 'c', "L1", 1, 0, 0 }, { 'i', "L1", 1, 1, 0 } },
      { .iri = 2, .cc = 1, .streams = 2 } },
    { "gap then late fill",
      { { 'i', "L1", 1, 0, 0 }, { 'i', "L1", 1, 3, 0 }, { 'i', "L1", 1, 1, 0 } },
      { .iri = 3, .streams = 1, .gaps = 1, .missing = 1, .late = 1 } },
    { "identical repeat", { { 'i', "L1", 1, 0, 0 }, { 'i', "L1", 1, 0, 0 } },
      { .iri = 2, .streams = 1, .duplicates = 1 } },
    { "same number, other bytes", { { 'i', "L1", 1, 0, 0 }, { 'i', "L1", 1, 0, 1 } },
      { .iri = 2, .streams = 1, .conflicts = 1 } },
    { "streams apart by LIID, CIN and interface",
      { { 'i', "L1", 1, 0, 0 }, { 'i', "L2", 1, 5, 0 }, { 'i', "L1", 2, 7, 0 },
        { 'c', "L2", 1, 6, 0 } },
      { .iri = 3, .cc = 1, .streams = 4 } },
    { "keep-alives are not a stream, undecodable counted",
      { { 'k', "-", 0, 9, 0 }, { 'x', "L1", 1, 0, 0 }, { 'c', "L1", 1, 4, 0 } },
      { .cc = 1, .keepalives = 1, .errors = 1, .streams = 1 } },
};

static void test_sequence_checks(void **state)
{
    (void)state;
    li_buf b;
    li_buf_init(&b, 0);
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        const struct scenario *sc = &scenarios[i];
        FILE *out = sink();
        ho_lemf *l = ho_lemf_new(out, NULL);
        uint64_t bytes = 0;
        for (const step *s = sc->steps; s->kind; s++) {
            ho_pdu p;
            encode(s, &b);
            bytes += b.len;
            assert_int_equal(ho_lemf_pdu(l, b.data, b.len, 0, &p),
                             s->kind == 'x' ? LI_ERR_PROTO : LI_OK);
        }
        ho_lemf_stats st;
        ho_lemf_stats_get(l, &st);
        print_message("scenario: %s\n", sc->name);
        const ho_lemf_stats *w = &sc->want;
        assert_int_equal(st.iri, w->iri);
        assert_int_equal(st.cc, w->cc);
        assert_int_equal(st.keepalives, w->keepalives);
        assert_int_equal(st.errors, w->errors);
        assert_int_equal(st.streams, w->streams);
        assert_int_equal(st.gaps, w->gaps);
        assert_int_equal(st.missing, w->missing);
        assert_int_equal(st.late, w->late);
        assert_int_equal(st.duplicates, w->duplicates);
        assert_int_equal(st.conflicts, w->conflicts);
        assert_int_equal(st.bytes, bytes);
        assert_int_equal(st.last_rx_ns, 0); /* offline decoding gives no receipt time */
        assert_int_equal(ho_lemf_clean(l), !w->missing && !w->conflicts && !w->errors);
        ho_lemf_free(l);
        fclose(out);
    }
    li_buf_free(&b);
}

typedef struct server {
    ho_lemf *lemf;
    int fd;
    volatile int stop;
    li_err result;
} server;

static void *serve_main(void *arg)
{
    server *s = arg;
    ho_conn c;
    char err[128];
    ho_conn_init(&c);
    assert_int_equal(ho_conn_accept(&c, s->fd, NULL, 1000, err, sizeof err), LI_OK);
    s->result = ho_lemf_serve(s->lemf, &c, 1, 1 << 20, &s->stop);
    ho_conn_close(&c);
    return NULL;
}

static void test_serve_counts(void **state)
{
    (void)state;
    FILE *out = sink();
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    server s = { .lemf = ho_lemf_new(out, NULL), .fd = sv[1] };
    uint64_t t0 = li_now_ns();
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, serve_main, &s), 0);
    static const step steps[] = {
        { .kind = 'i', .liid = "L1", .cin = 7 },
        { .kind = 'c', .liid = "L1", .cin = 7, .seq = 1 },
        { .kind = 'k', .liid = "-", .seq = 3 }
    };
    li_buf b;
    li_buf_init(&b, 0);
    uint64_t bytes = 0;
    for (size_t i = 0; i < 3; i++) {
        encode(&steps[i], &b);
        assert_int_equal(write(sv[0], b.data, b.len), (ssize_t)b.len);
        bytes += b.len;
    }
    /* The keep-alive is answered once what came before it is counted. */
    uint8_t answer[256];
    size_t got = 0, len;
    while (ho_pdu_frame(answer, got, sizeof answer, &len) == LI_AGAIN) {
        ssize_t r = read(sv[0], answer + got, sizeof answer - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
    ho_pdu p;
    size_t used;
    assert_int_equal(ho_pdu_decode(answer, len, &p, &used), LI_OK);
    assert_int_equal(p.payload, HO_PAYLOAD_KEEPALIVE_RESPONSE);
    assert_int_equal(p.seq, 3);
    ho_lemf_stats st;
    ho_lemf_stats_get(s.lemf, &st);
    assert_int_equal(st.connections, 1);
    assert_int_equal(st.open, 1);
    assert_int_equal(st.iri + st.cc + st.keepalives, 3);
    assert_int_equal(st.bytes, bytes);
    assert_true(st.last_rx_ns >= t0 && st.last_rx_ns <= li_now_ns());
    close(sv[0]); /* the sender goes away: serve ends */
    pthread_join(t, NULL);
    assert_int_equal(s.result, LI_ERR_CLOSED);
    ho_lemf_refused(s.lemf);
    ho_lemf_stats_get(s.lemf, &st);
    assert_int_equal(st.open, 0);
    assert_int_equal(st.connections, 1);
    assert_int_equal(st.refused, 1);
    assert_int_equal(st.errors, 0);

    /* A second connection whose bytes are no PS-PDU: a decode error, connection closed. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    s.fd = sv[1];
    assert_int_equal(pthread_create(&t, NULL, serve_main, &s), 0);
    assert_int_equal(write(sv[0], "GET / HTTP/1.0\r\n\r\n", 18), 18);
    pthread_join(t, NULL);
    close(sv[0]);
    assert_int_equal(s.result, LI_ERR_PROTO);
    ho_lemf_stats_get(s.lemf, &st);
    assert_int_equal(st.connections, 2);
    assert_int_equal(st.open, 0);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.bytes, bytes); /* nothing of it was a PDU */
    li_buf_free(&b);
    ho_lemf_free(s.lemf);
    fclose(out);
}

static void test_render(void **state)
{
    (void)state;
    FILE *out = sink();
    ho_lemf *l = ho_lemf_new(out, NULL);
    static const step steps[] = {
        { .kind = 'i', .liid = "L1", .cin = 1 },
        { .kind = 'i', .liid = "L1", .cin = 1, .seq = 2 },
        { .kind = 'c', .liid = "L1", .cin = 1 },
        { .kind = 'c', .liid = "L1", .cin = 1, .v = 1 },
        { .kind = 'k', .liid = "-", .seq = 1 },
        { .kind = 'x', .liid = "L1", .cin = 1, .seq = 9 }
    };
    li_buf b, m;
    li_buf_init(&b, 0);
    li_buf_init(&m, 0);
    uint64_t bytes = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        ho_pdu p;
        encode(&steps[i], &b);
        bytes += b.len;
        ho_lemf_pdu(l, b.data, b.len, 1700000000500000000ull, &p);
    }
    ho_lemf_render(l, &m);
    li_buf_append(&m, "", 1);
    const char *text = (const char *)m.data;
    char want[128];
    snprintf(want, sizeof want, "\nlimf_lemf_received_bytes_total %llu\n",
             (unsigned long long)bytes);
    const char *const lines[] = {
        "# TYPE limf_lemf_pdus_total counter\n",
        "\nlimf_lemf_pdus_total{type=\"iri\"} 2\n",
        "\nlimf_lemf_pdus_total{type=\"cc\"} 2\n",
        "\nlimf_lemf_pdus_total{type=\"keepalive\"} 1\n",
        "\nlimf_lemf_decode_errors_total 1\n",
        "\nlimf_lemf_streams 2\n",
        "\nlimf_lemf_gaps_total 1\n",
        "\nlimf_lemf_missing 1\n",
        "\nlimf_lemf_duplicates_total 0\n",
        "\nlimf_lemf_conflicts_total 1\n",
        "\nlimf_lemf_connections_total{result=\"accepted\"} 0\n",
        "\nlimf_lemf_connections_open 0\n",
        "\nlimf_lemf_last_receipt_seconds 1700000000.5\n",
        want,
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        if (!strstr(text, lines[i]))
            fail_msg("missing %s in:\n%s", lines[i], text);
    }
    li_buf_free(&b);
    li_buf_free(&m);
    ho_lemf_free(l);
    fclose(out);
}

/* Content that needs escaping, and content that is not UTF-8 (an overlong encoding, a
 * surrogate, a truncated sequence): the line parses, the text comes back exactly, and
 * the octets that are not UTF-8 come back in hex under "<key>_hex". */
static void test_json_line(void **state)
{
    (void)state;
    static const struct {
        const char *content;
        size_t len;
        int utf8;
    } cases[] = {
#define C(text, utf8) { text, sizeof text - 1, utf8 }
        C("MESSAGE \"q\" \\ back\r\n\t\x01\x1f\x7f caf\xc3\xa9 \xf0\x9f\x98\x80", 1),
        C("nul\0inside", 1),
        C("\xc0\xaf", 0),
        C("\xed\xa0\x80", 0),
        C("ok \xe2\x82", 0),
        C("\xf4\x90\x80\x80", 0),
#undef C
    };
    li_buf b;
    li_buf_init(&b, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = NULL;
        size_t text_len = 0;
        FILE *out = open_memstream(&text, &text_len);
        assert_non_null(out);
        ho_lemf *l = ho_lemf_new(out, NULL);
        ho_pdu p;
        memset(&p, 0, sizeof p);
        p.ts_qualifier = -1;
        p.liid = S("LIID-1");
        p.operator_id = S("OP");
        p.has_cin = 1;
        p.cin = 7;
        p.seq = 0;
        p.payload = HO_PAYLOAD_CC;
        p.direction = HO_DIR_TO_TARGET;
        p.content = li_slice_of(cases[i].content, cases[i].len);
        li_buf_reset(&b);
        assert_int_equal(ho_pdu_encode(&p, &b), LI_OK);
        ho_pdu got;
        assert_int_equal(ho_lemf_pdu(l, b.data, b.len, 42, &got), LI_OK);
        ho_lemf_free(l);
        fclose(out);
        json_error_t err;
        json_t *o = json_loadb(text, text_len, JSON_ALLOW_NUL, &err);
        if (!o)
            print_message("case %zu: %s: %s\n", i, err.text, text);
        assert_non_null(o);
        assert_int_equal(json_integer_value(json_object_get(o, "cin")), 7);
        assert_int_equal(json_integer_value(json_object_get(o, "rx_ns")), 42);
        assert_string_equal(json_string_value(json_object_get(o, "liid")), "LIID-1");
        json_t *msrp = json_object_get(o, "msrp"), *hex = json_object_get(o, "msrp_hex");
        if (cases[i].utf8) {
            assert_null(hex);
            assert_int_equal(json_string_length(msrp), cases[i].len);
            assert_memory_equal(json_string_value(msrp), cases[i].content, cases[i].len);
        } else {
            assert_null(msrp);
            char want[64];
            li_hex_encode((const uint8_t *)cases[i].content, cases[i].len, want);
            assert_string_equal(json_string_value(hex), want);
        }
        json_decref(o);
        free(text);
    }
    li_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_checks),
        cmocka_unit_test(test_serve_counts),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_json_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
