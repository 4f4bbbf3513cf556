/* HiRecord -> PS-PDU mapping of limf-handover, and the reference LEMF's checks: JSON
 * lines, sequence gaps, repeats and conflicts, keep-alive answers over a real socket. */
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

#include "ho_dest.h"
#include "ho_lemf.h"
#include "li_net.h"

static Limf__HiRecord record(void)
{
    Limf__HiRecord r = LIMF__HI_RECORD__INIT;
    static uint8_t src[4] = { 10, 0, 0, 1 }, dst[16] = { 0x20, 0x01, [15] = 9 };
    r.liid = "LIID-7";
    r.auth_country = "DE";
    r.cin = 42;
    r.seq = 5;
    r.kind = LIMF__HI_RECORD__KIND__IRI;
    r.iri_type = 1;
    r.timestamp_ns = 1700000000000000000ull;
    r.payload_kind = "sip";
    r.payload.data = (uint8_t *)"INVITE sip:x SIP/2.0\r\n\r\n";
    r.payload.len = strlen((char *)r.payload.data);
    r.src_addr.data = src;
    r.src_addr.len = 4;
    r.dst_addr.data = dst;
    r.dst_addr.len = 16;
    return r;
}

static int eq(li_slice s, const char *t)
{
    return s.len == strlen(t) && memcmp(s.p, t, s.len) == 0;
}

static void test_record_mapping(void **state)
{
    (void)state;
    li_buf scratch;
    li_buf_init(&scratch, 0);
    ho_pdu p;
    Limf__HiRecord r = record();
    assert_int_equal(ho_record_to_pdu(&r, "OP", "NE", "FR", &scratch, &p), LI_OK);
    assert_int_equal(p.payload, HO_PAYLOAD_IRI);
    assert_true(eq(p.liid, "LIID-7") && eq(p.auth_cc, "DE") && eq(p.operator_id, "OP") &&
                eq(p.ne_id, "NE") && eq(p.delivery_cc, "FR"));
    assert_int_equal(p.cin, 42);
    assert_int_equal(p.seq, 5);
    assert_int_equal(p.iri_type, HO_IRI_BEGIN);
    assert_int_equal(p.iri_content, HO_IRI_SIP);
    assert_int_equal(p.ts_qualifier, HO_TSQ_INTERCEPTION);
    assert_int_equal(p.src.family, 4);
    assert_int_equal(p.dst.family, 6);
    assert_int_equal(p.dst.addr[15], 9);
    assert_true(eq(p.content, "INVITE sip:x SIP/2.0\r\n\r\n"));

    /* A limf event: an HI1 alarm, reason and POI event together in alarm-information. */
    r.kind = LIMF__HI_RECORD__KIND__HI1;
    r.iri_type = LIMF__HI_RECORD__IRI_TYPE__IRI_NONE;
    r.hi1_operation = LIMF__HI_RECORD__HI1_OPERATION__ALARM;
    r.payload_kind = "poi-event";
    r.report_reason = "content-not-available: cert-exception";
    r.payload.data = (uint8_t *)"{\"exception_id\":\"ex-1\"}";
    r.payload.len = strlen((char *)r.payload.data);
    assert_int_equal(ho_record_to_pdu(&r, "OP", "", "", &scratch, &p), LI_OK);
    assert_int_equal(p.payload, HO_PAYLOAD_HI1);
    assert_int_equal(p.hi1_op, HO_HI1_ALARM);
    assert_true(p.has_cin);
    assert_true(eq(p.content,
                   "content-not-available: cert-exception: {\"exception_id\":\"ex-1\"}"));
    assert_int_equal(p.ne_id.len, 0);
    r.payload.len = 0;
    assert_int_equal(ho_record_to_pdu(&r, "OP", "", "", &scratch, &p), LI_OK);
    assert_true(eq(p.content, "content-not-available: cert-exception"));
    /* alarm-information is at most 256 octets: cut, never inside a UTF-8 sequence. */
    static char long_event[400];
    memset(long_event, 'x', sizeof long_event - 1);
    memcpy(long_event + 255 - 39, "\xc3\xa9", 2); /* octets 256 and 257 of the text */
    r.payload.data = (uint8_t *)long_event;
    r.payload.len = strlen(long_event);
    assert_int_equal(ho_record_to_pdu(&r, "OP", "", "", &scratch, &p), LI_OK);
    assert_int_equal(p.content.len, 255);
    li_buf enc;
    li_buf_init(&enc, 0);
    assert_int_equal(ho_pdu_encode(&p, &enc), LI_OK);
    li_buf_free(&enc);
    /* A warrant notification has no CIN; without an event time, the mediation's. */
    r = record();
    r.kind = LIMF__HI_RECORD__KIND__HI1;
    r.hi1_operation = LIMF__HI_RECORD__HI1_OPERATION__LI_DEACTIVATED;
    r.cin = 0;
    r.timestamp_ns = 0;
    r.mediated_ns = 1700000001000000000ull;
    r.payload.len = 0;
    assert_int_equal(ho_record_to_pdu(&r, "OP", "", "", &scratch, &p), LI_OK);
    assert_int_equal(p.hi1_op, HO_HI1_DEACTIVATED);
    assert_false(p.has_cin);
    assert_int_equal(p.content.len, 0);
    assert_true(p.timestamp_ns == 1700000001000000000ull);
    /* An older mediator's IRI report record in the topic becomes an alarm as well. */
    r = record();
    r.iri_type = 4;
    r.payload_kind = "report";
    r.report_reason = "poi-gap";
    assert_int_equal(ho_record_to_pdu(&r, "OP", "", "", &scratch, &p), LI_OK);
    assert_int_equal(p.payload, HO_PAYLOAD_HI1);
    assert_int_equal(p.hi1_op, HO_HI1_ALARM);

    /* CC. */
    r = record();
    r.kind = LIMF__HI_RECORD__KIND__CC;
    r.direction = 0;
    r.stream_id = "abc";
    r.auth_country = "DEU"; /* not a 2-letter code: left out */
    assert_int_equal(ho_record_to_pdu(&r, "OP", "NE", "FR", &scratch, &p), LI_OK);
    assert_int_equal(p.payload, HO_PAYLOAD_CC);
    assert_int_equal(p.direction, HO_DIR_FROM_TARGET);
    assert_true(eq(p.stream_id, "abc"));
    assert_int_equal(p.auth_cc.len, 0);

    /* What a PS-PDU cannot carry. */
    r = record();
    r.cin = 1ull << 32;
    assert_int_equal(ho_record_to_pdu(&r, "OP", "NE", "FR", &scratch, &p), LI_ERR_INVAL);
    r = record();
    r.seq = 1ull << 32;
    assert_int_equal(ho_record_to_pdu(&r, "OP", "NE", "FR", &scratch, &p), LI_ERR_INVAL);
    r = record();
    r.payload.len = 0;
    assert_int_equal(ho_record_to_pdu(&r, "OP", "NE", "FR", &scratch, &p), LI_ERR_INVAL);
    li_buf_free(&scratch);
}

/* Encodes the record with seq and content into b. */
static void encode(uint32_t seq, const char *content, li_buf *b)
{
    li_buf scratch;
    li_buf_init(&scratch, 0);
    Limf__HiRecord r = record();
    r.seq = seq;
    r.payload.data = (uint8_t *)content;
    r.payload.len = strlen(content);
    ho_pdu p;
    assert_int_equal(ho_record_to_pdu(&r, "OP", "NE", "FR", &scratch, &p), LI_OK);
    li_buf_reset(b);
    assert_int_equal(ho_pdu_encode(&p, b), LI_OK);
    li_buf_free(&scratch);
}

/* HI2 and HI3 are numbered apart: IRI 0,1 and CC 0,1 of one (LIID, CIN) are no gap, no
 * conflict; HI1 notifications are decoded and counted on HI2 (without a CIN: a stream
 * of their own). */
static void test_lemf_interfaces(void **state)
{
    (void)state;
    FILE *out = tmpfile();
    ho_lemf *l = ho_lemf_new(out, NULL);
    li_buf scratch, b, s;
    li_buf_init(&scratch, 0);
    li_buf_init(&b, 0);
    li_buf_init(&s, 0);
    static const struct {
        int kind;               /* 0 IRI, 1 CC, 2 HI1 alarm, 3 HI1 activated (no CIN) */
        uint32_t seq;
        const char *want_key, *want_value;
    } feed[] = {
        { 0, 0, "iri_type", "begin" }, { 1, 0, "direction", "fromTarget" },
        { 1, 1, "direction", "fromTarget" }, { 0, 1, "iri_type", "begin" },
        { 2, 2, "alarm", "end-by-timeout: no final response to the BYE" },
        { 3, 0, "hi1", "liActivated" }, { 3, 1, "hi1", "liActivated" },
    };
    ho_pdu p;
    for (size_t i = 0; i < sizeof feed / sizeof feed[0]; i++) {
        Limf__HiRecord r = record();
        r.seq = feed[i].seq;
        if (feed[i].kind == 1)
            r.kind = LIMF__HI_RECORD__KIND__CC;
        if (feed[i].kind >= 2) {
            r.kind = LIMF__HI_RECORD__KIND__HI1;
            r.hi1_operation = feed[i].kind == 2 ? LIMF__HI_RECORD__HI1_OPERATION__ALARM
                                                : LIMF__HI_RECORD__HI1_OPERATION__LI_ACTIVATED;
            r.report_reason = feed[i].kind == 2 ? "end-by-timeout: no final response to the BYE"
                                                : "";
            r.payload.len = 0;
            r.cin = feed[i].kind == 2 ? r.cin : 0;
        }
        assert_int_equal(ho_record_to_pdu(&r, "OP", "NE", "FR", &scratch, &p), LI_OK);
        li_buf_reset(&b);
        assert_int_equal(ho_pdu_encode(&p, &b), LI_OK);
        assert_int_equal(ho_lemf_pdu(l, b.data, b.len, 0, &p), LI_OK);
    }
    ho_lemf_summary(l, &s);
    assert_non_null(strstr((char *)s.data, "\"pdus\":7,\"iri\":2,\"cc\":2,\"hi1\":3,"));
    assert_non_null(strstr((char *)s.data, "\"streams\":3,\"gaps\":0,\"missing\":0,\"late\":0,"
                                           "\"duplicates\":0,\"conflicts\":0,\"errors\":0"));
    assert_int_equal(ho_lemf_clean(l), 1);
    rewind(out);
    char line[1024];
    for (size_t n = 0; fgets(line, sizeof line, out); n++) {
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        assert_non_null(o);
        assert_int_equal(json_integer_value(json_object_get(o, "hi")), feed[n].kind == 1 ? 3 : 2);
        assert_string_equal(json_string_value(json_object_get(o, feed[n].want_key)),
                            feed[n].want_value);
        assert_int_equal(json_object_get(o, "cin") != NULL, feed[n].kind != 3);
        assert_null(json_object_get(o, "check"));
        json_decref(o);
    }
    ho_lemf_free(l);
    fclose(out);
    li_buf_free(&scratch);
    li_buf_free(&b);
    li_buf_free(&s);
}

static void test_lemf_checks(void **state)
{
    (void)state;
    FILE *out = tmpfile();
    ho_lemf *l = ho_lemf_new(out, NULL);
    li_buf b, s;
    li_buf_init(&b, 0);
    li_buf_init(&s, 0);
    static const struct { uint32_t seq; const char *content, *check; } feed[] = {
        { .seq = 0, .content = "a" },
        { .seq = 1, .content = "b" },
        { .seq = 3, .content = "d", .check = "gap" },
        { .seq = 1, .content = "b", .check = "duplicate" },
        { .seq = 1, .content = "B", .check = "conflict" },
        { .seq = 2, .content = "c", .check = "late" },
        { .seq = 4, .content = "e" },
    };
    ho_pdu p;
    for (size_t i = 0; i < sizeof feed / sizeof feed[0]; i++) {
        encode(feed[i].seq, feed[i].content, &b);
        assert_int_equal(ho_lemf_pdu(l, b.data, b.len, 123, &p), LI_OK);
    }
    assert_int_equal(ho_lemf_pdu(l, (const uint8_t *)"\x30\x01\x00", 3, 0, &p), LI_ERR_PROTO);
    ho_lemf_summary(l, &s);
    assert_non_null(strstr((char *)s.data, "\"pdus\":7"));
    assert_non_null(strstr((char *)s.data, "\"gaps\":1,\"missing\":0,\"late\":1,"
                                           "\"duplicates\":1,\"conflicts\":1,\"errors\":1"));
    assert_int_equal(ho_lemf_clean(l), 0); /* a conflict and an error */

    rewind(out);
    char line[1024];
    size_t n = 0;
    while (fgets(line, sizeof line, out)) {
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        assert_non_null(o);
        assert_int_equal(json_integer_value(json_object_get(o, "hi")), 2);
        assert_string_equal(json_string_value(json_object_get(o, "liid")), "LIID-7");
        assert_string_equal(json_string_value(json_object_get(o, "auth_cc")), "DE");
        assert_string_equal(json_string_value(json_object_get(o, "operator_id")), "OP");
        assert_string_equal(json_string_value(json_object_get(o, "ne_id")), "NE");
        assert_int_equal(json_integer_value(json_object_get(o, "cin")), 42);
        assert_int_equal(json_integer_value(json_object_get(o, "seq")), feed[n].seq);
        assert_string_equal(json_string_value(json_object_get(o, "timestamp")),
                            "2023-11-14T22:13:20.000000Z");
        assert_string_equal(json_string_value(json_object_get(o, "iri_type")), "begin");
        assert_string_equal(json_string_value(json_object_get(o, "sip")), feed[n].content);
        assert_string_equal(json_string_value(json_object_get(o, "src")), "10.0.0.1");
        assert_string_equal(json_string_value(json_object_get(o, "dst")), "2001::9");
        const char *check = json_string_value(json_object_get(o, "check"));
        if (feed[n].check)
            assert_string_equal(check, feed[n].check);
        else
            assert_null(check);
        json_decref(o);
        n++;
    }
    assert_int_equal(n, 7);
    ho_lemf_free(l);
    fclose(out);
    li_buf_free(&b);
    li_buf_free(&s);
}

typedef struct serve_arg {
    ho_lemf *l;
    ho_conn c;
    volatile int stop;
} serve_arg;

static void *serve(void *arg)
{
    serve_arg *a = arg;
    ho_lemf_serve(a->l, &a->c, 1, 1 << 20, &a->stop);
    return NULL;
}

/* The LEMF answers a keep-alive with the same sequenceNumber over a real socket (TCP
 * framing: the PDUs arrive in one write, and split mid-PDU). */
static void test_lemf_keepalive_answer(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    FILE *out = tmpfile();
    serve_arg a = { .l = ho_lemf_new(out, NULL) };
    char err[128];
    ho_conn_init(&a.c);
    assert_int_equal(ho_conn_accept(&a.c, sv[1], NULL, 1000, err, sizeof err), LI_OK);
    pthread_t t;
    pthread_create(&t, NULL, serve, &a);

    ho_conn c;
    ho_conn_init(&c);
    assert_int_equal(ho_conn_accept(&c, sv[0], NULL, 1000, err, sizeof err), LI_OK);
    li_buf b;
    li_buf_init(&b, 0);
    encode(0, "x", &b);
    ho_pdu ka;
    memset(&ka, 0, sizeof ka);
    ka.payload = HO_PAYLOAD_KEEPALIVE;
    ka.liid = li_slice_of("-", 1);
    ka.operator_id = li_slice_of("OP", 2);
    ka.seq = 77;
    ka.ts_qualifier = -1;
    assert_int_equal(ho_pdu_encode(&ka, &b), LI_OK);
    size_t half = b.len / 2;
    assert_int_equal(ho_conn_write(&c, b.data, half, 1000), LI_OK);
    usleep(20000);
    assert_int_equal(ho_conn_write(&c, b.data + half, b.len - half, 1000), LI_OK);
    const uint8_t *pdu;
    size_t len, used;
    assert_int_equal(ho_conn_next_pdu(&c, 4096, 2000, &pdu, &len), LI_OK);
    ho_pdu r;
    assert_int_equal(ho_pdu_decode(pdu, len, &r, &used), LI_OK);
    assert_int_equal(r.payload, HO_PAYLOAD_KEEPALIVE_RESPONSE);
    assert_int_equal(r.seq, 77);
    /* Nothing else is sent back. */
    assert_int_equal(ho_conn_next_pdu(&c, 4096, 100, &pdu, &len), LI_AGAIN);
    a.stop = 1;
    pthread_join(t, NULL);
    li_buf s;
    li_buf_init(&s, 0);
    ho_lemf_summary(a.l, &s);
    assert_non_null(strstr((char *)s.data, "\"pdus\":1,\"iri\":1,\"cc\":0,\"hi1\":0,\"keepalives\":1"));
    assert_int_equal(ho_lemf_clean(a.l), 1);
    ho_conn_close(&c);
    ho_conn_close(&a.c);
    ho_lemf_free(a.l);
    fclose(out);
    li_buf_free(&b);
    li_buf_free(&s);
}

static void test_connect_refused(void **state)
{
    (void)state;
    char err[256];
    /* A refused connection is an error within the timeout, not a hang. */
    int fd;
    uint16_t port;
    assert_int_equal(li_net_listen("127.0.0.1:0", 0, "hi", 64, 0, &fd, &port, err, sizeof err),
                     LI_OK);
    close(fd); /* nobody listens there now */
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    ho_conn c;
    ho_conn_init(&c);
    assert_int_equal(ho_conn_connect(&c, addr, NULL, 1000, err, sizeof err), LI_ERR_IO);
    assert_int_equal(c.io.fd, -1);
    assert_int_equal(ho_conn_write(&c, "x", 1, 100), LI_ERR_CLOSED);
    ho_conn_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_record_mapping),
        cmocka_unit_test(test_lemf_checks),
        cmocka_unit_test(test_lemf_interfaces),
        cmocka_unit_test(test_lemf_keepalive_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
