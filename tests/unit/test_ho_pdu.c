/* PS-PDU codec: byte-exact vectors derived by hand from LI-PS-PDU version 35 and the
 * TS 102 232-5 tags (IMPLICIT TAGS, CHOICE tags explicit), round trips, truncation and
 * hostile input. Every decoded input ends right before an unreadable page (guard.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "ho_ber.h"
#include "ho_pdu.h"

#define S(text) li_slice_of(text, sizeof text - 1)

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    while (*hex) {
        if (*hex == ' ') {
            hex++;
            continue;
        }
        unsigned v;
        sscanf(hex, "%2x", &v);
        out[n++] = (uint8_t)v;
        hex += 2;
    }
    return n;
}

static ho_pdu base(void)
{
    ho_pdu p;
    memset(&p, 0, sizeof p);
    p.ts_qualifier = -1;
    return p;
}

static ho_pdu vec_keepalive(void)
{
    ho_pdu p = base();
    p.payload = HO_PAYLOAD_KEEPALIVE;
    p.liid = S("-");
    p.operator_id = S("OP");
    p.ne_id = S("NE1");
    p.delivery_cc = S("DE");
    p.seq = 7;
    return p;
}

static ho_pdu vec_cc(void)
{
    ho_pdu p = base();
    p.payload = HO_PAYLOAD_CC;
    p.liid = S("LIID1");
    p.auth_cc = S("DE");
    p.operator_id = S("OP");
    p.has_cin = 1;
    p.cin = 300;
    p.seq = 128;
    p.timestamp_ns = 1700000000123456000ull;
    p.ts_qualifier = HO_TSQ_INTERCEPTION;
    p.direction = HO_DIR_TO_TARGET;
    p.stream_id = S("s1");
    p.content = S("MSRP");
    return p;
}

static ho_pdu vec_iri_sip(void)
{
    ho_pdu p = base();
    p.payload = HO_PAYLOAD_IRI;
    p.liid = S("L");
    p.operator_id = S("O");
    p.has_cin = 1;
    p.cin = 1;
    p.seq = 0;
    p.iri_type = HO_IRI_BEGIN;
    p.iri_content = HO_IRI_SIP;
    p.src.family = 4;
    memcpy(p.src.addr, "\x0a\x00\x00\x01", 4);
    p.dst.family = 6;
    p.dst.addr[15] = 1;
    p.content = S("INVITE");
    return p;
}

/* A limf event in its communication: HI1 alarms-indicator on HI2. */
static ho_pdu vec_alarm(void)
{
    ho_pdu p = base();
    p.payload = HO_PAYLOAD_HI1;
    p.liid = S("L");
    p.operator_id = S("O");
    p.has_cin = 1;
    p.cin = 1;
    p.seq = 3;
    p.timestamp_ns = 1700000000000000000ull;    /* 2023-11-14 22:13:20 UTC */
    p.hi1_op = HO_HI1_ALARM;
    p.content = S("gap");
    return p;
}

/* A warrant's activation: liActivated without a CIN; the operator identifier cut to the
 * 5 octets of HI2Operations' operator-Identifier. */
static ho_pdu vec_activated(void)
{
    ho_pdu p = base();
    p.payload = HO_PAYLOAD_HI1;
    p.liid = S("L");
    p.operator_id = S("OPERATOR1");
    p.seq = 0;
    p.timestamp_ns = 1700000000000000000ull;
    p.hi1_op = HO_HI1_ACTIVATED;
    return p;
}

static const struct vector {
    const char *name;
    ho_pdu (*make)(void);
    const char *hex;
} vectors[] = {
    { "keep-alive", vec_keepalive,
      "30 28 A1 20 80 07 04 00 02 02 05 01 23 81 01 2D A3 0F A0 09 80 02 4F 50 81 03 4E 45 31"
      " 82 02 44 45 84 01 07 A2 04 A2 02 83 00" },
    { "cc-msrp", vec_cc,
      "30 6E A1 49 80 07 04 00 02 02 05 01 23 81 05 4C 49 49 44 31 82 02 44 45"
      " A3 0A A0 04 80 02 4F 50 81 02 01 2C 84 02 00 80"
      " 85 13 32 30 32 33 31 31 31 34 32 32 31 33 32 30 2E 31 32 33 5A"
      " A7 0B 80 04 65 53 F1 00 81 03 01 E2 40 88 01 01"
      " A2 21 A1 1F 30 1D 80 01 01 A2 18 AC 16 80 04 05 05 10 02 81 04 4D 53 52 50"
      " 82 01 07 83 02 73 31 84 01 01" },
    { "iri-sip", vec_iri_sip,
      "30 64 A1 19 80 07 04 00 02 02 05 01 23 81 01 4C A3 08 A0 03 80 01 4F 81 01 01 84 01 00"
      " A2 47 A0 45 30 43 80 01 01 A2 3E AB 3C 80 04 05 05 10 01 A1 34 A1 32"
      " A0 0B 81 01 00 A2 06 81 04 0A 00 00 01"
      " A1 1B 81 01 01 A2 12 81 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 84 02 00 80"
      " 82 06 49 4E 56 49 54 45" },
    /* hI1-Operation [3] alarms-indicator [4] { communicationIdentifier [1]
     * { network-Identifier [1] { operator-Identifier [0] } }, timeStamp [2] { utcTime [1] },
     * alarm-information [3], lawfulInterceptionIdentifier [4] }; the GeneralizedTime of
     * a whole second has no fraction (DER). */
    { "hi1-alarm", vec_alarm,
      "30 5D A1 35 80 07 04 00 02 02 05 01 23 81 01 4C A3 08 A0 03 80 01 4F 81 01 01 84 01 03"
      " 85 0F 32 30 32 33 31 31 31 34 32 32 31 33 32 30 5A"
      " A7 09 80 04 65 53 F1 00 81 01 00"
      " A2 24 A3 22 A4 20 A1 05 A1 03 80 01 4F"
      " A2 0F 81 0D 32 33 31 31 31 34 32 32 31 33 32 30 5A 83 03 67 61 70 84 01 4C" },
    /* liActivated [1] Notification { lawfulInterceptionIdentifier [1],
     * communicationIdentifier [2], timeStamp [3] }; no communicationIdentityNumber. */
    { "hi1-activated", vec_activated,
      "30 61 A1 3A 80 07 04 00 02 02 05 01 23 81 01 4C"
      " A3 0D A0 0B 80 09 4F 50 45 52 41 54 4F 52 31 84 01 00"
      " 85 0F 32 30 32 33 31 31 31 34 32 32 31 33 32 30 5A"
      " A7 09 80 04 65 53 F1 00 81 01 00"
      " A2 23 A3 21 A1 1F 81 01 4C A2 09 A1 07 80 05 4F 50 45 52 41"
      " A3 0F 81 0D 32 33 31 31 31 34 32 32 31 33 32 30 5A" },
};

static int slice_eq(li_slice a, li_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static void assert_same(const ho_pdu *a, const ho_pdu *b)
{
    assert_int_equal(a->payload, b->payload);
    assert_true(slice_eq(a->liid, b->liid));
    assert_true(slice_eq(a->auth_cc, b->auth_cc));
    assert_true(slice_eq(a->operator_id, b->operator_id));
    assert_true(slice_eq(a->ne_id, b->ne_id));
    assert_true(slice_eq(a->delivery_cc, b->delivery_cc));
    assert_int_equal(a->has_cin, b->has_cin);
    assert_int_equal(a->cin, b->cin);
    assert_int_equal(a->seq, b->seq);
    /* Microsecond precision on the wire. */
    assert_int_equal(a->timestamp_ns / 1000, b->timestamp_ns / 1000);
    assert_int_equal(a->ts_qualifier, b->ts_qualifier);
    assert_true(slice_eq(a->content, b->content));
    if (a->payload == HO_PAYLOAD_IRI) {
        assert_int_equal(a->iri_type, b->iri_type);
        assert_int_equal(a->iri_content, b->iri_content);
        if (a->iri_content == HO_IRI_SIP) {
            assert_int_equal(a->src.family ? a->src.family : 4, b->src.family);
            assert_memory_equal(a->src.addr, b->src.addr, b->src.family == 6 ? 16 : 4);
            assert_int_equal(a->dst.family ? a->dst.family : 4, b->dst.family);
            assert_memory_equal(a->dst.addr, b->dst.addr, b->dst.family == 6 ? 16 : 4);
        }
    }
    if (a->payload == HO_PAYLOAD_HI1)
        assert_int_equal(a->hi1_op, b->hi1_op);
    if (a->payload == HO_PAYLOAD_CC) {
        assert_int_equal(a->direction, b->direction);
        assert_int_equal(b->frame_type, HO_FRAME_MSRP);
        assert_int_equal(b->mmcc_protocol, HO_MMCC_MSRP);
        assert_true(slice_eq(a->stream_id, b->stream_id));
    }
}

static void test_vectors(void **state)
{
    (void)state;
    li_buf b;
    li_buf_init(&b, 0);
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        uint8_t want[512];
        size_t n = unhex(vectors[i].hex, want);
        ho_pdu p = vectors[i].make();
        li_buf_reset(&b);
        assert_int_equal(ho_pdu_encode(&p, &b), LI_OK);
        if (b.len != n || memcmp(b.data, want, n) != 0) {
            fprintf(stderr, "vector %s: got ", vectors[i].name);
            for (size_t k = 0; k < b.len; k++)
                fprintf(stderr, "%02X ", b.data[k]);
            fprintf(stderr, "\n");
            fail();
        }
        ho_pdu d;
        size_t used = 0, frame = 0;
        guard g = guard_new(want, n);
        assert_int_equal(ho_pdu_decode(g.data, n, &d, &used), LI_OK);
        assert_int_equal(used, n);
        assert_int_equal(d.domain_version, HO_PS_DOMAIN_VERSION);
        assert_same(&p, &d);
        guard_free(&g);
        assert_int_equal(ho_pdu_frame(guarded(want, n), n, 4096, &frame), LI_OK);
        assert_int_equal(frame, n);
        /* Every strict prefix is "need more", never an error or a success. */
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(ho_pdu_frame(guarded(want, k), k, 4096, &frame), LI_AGAIN);
            assert_int_equal(ho_pdu_decode(guarded(want, k), k, &d, &used), LI_AGAIN);
        }
    }
    li_buf_free(&b);
}

static void test_keepalive_response_and_long_lengths(void **state)
{
    (void)state;
    li_buf b;
    li_buf_init(&b, 0);
    ho_pdu p = vec_keepalive();
    p.payload = HO_PAYLOAD_KEEPALIVE_RESPONSE;
    assert_int_equal(ho_pdu_encode(&p, &b), LI_OK);
    assert_int_equal(b.data[b.len - 2], 0x84); /* keep-aliveResponse [4] NULL */

    /* 70000 octets of MSRP: three-octet long-form lengths at every level. */
    static uint8_t big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)i;
    ho_pdu c = vec_cc();
    c.content = li_slice_of(big, sizeof big);
    li_buf_reset(&b);
    assert_int_equal(ho_pdu_encode(&c, &b), LI_OK);
    assert_int_equal(b.data[0], 0x30);
    assert_int_equal(b.data[1], 0x83);
    assert_int_equal((size_t)(b.data[2] << 16 | b.data[3] << 8 | b.data[4]), b.len - 5);
    ho_pdu d;
    size_t used, frame;
    guard g = guard_new(b.data, b.len);
    assert_int_equal(ho_pdu_decode(g.data, b.len, &d, &used), LI_OK);
    assert_same(&c, &d);
    guard_free(&g);
    assert_int_equal(ho_pdu_frame(b.data, b.len, 65536, &frame), LI_ERR_TOO_BIG);
    assert_int_equal(ho_pdu_frame(b.data, 5, 65536, &frame), LI_ERR_TOO_BIG);

    /* The buffer is reused: no reallocation once it has grown. */
    uint8_t *data = b.data;
    for (int i = 0; i < 1000; i++) {
        li_buf_reset(&b);
        c.seq = (uint32_t)i;
        assert_int_equal(ho_pdu_encode(&c, &b), LI_OK);
    }
    assert_ptr_equal(b.data, data);
    li_buf_free(&b);
}

static void test_encode_rejects(void **state)
{
    (void)state;
    li_buf b;
    li_buf_init(&b, 0);
    li_buf_append(&b, "xy", 2);
    ho_pdu p = vec_cc();
    p.liid = S("12345678901234567890123456"); /* 26 > LIID SIZE(1..25) */
    assert_int_equal(ho_pdu_encode(&p, &b), LI_ERR_INVAL);
    p = vec_cc();
    p.auth_cc = S("DEU");
    assert_int_equal(ho_pdu_encode(&p, &b), LI_ERR_INVAL);
    p = vec_cc();
    p.operator_id = S("");
    assert_int_equal(ho_pdu_encode(&p, &b), LI_ERR_INVAL);
    p = vec_cc();
    p.has_cin = 0;
    assert_int_equal(ho_pdu_encode(&p, &b), LI_ERR_INVAL);
    p = vec_iri_sip();
    p.iri_type = 5;
    assert_int_equal(ho_pdu_encode(&p, &b), LI_ERR_INVAL);
    /* A bounded buffer that is too small leaves what was there. */
    li_buf small;
    li_buf_init(&small, 40);
    li_buf_append(&small, "ab", 2);
    p = vec_cc();
    assert_int_equal(ho_pdu_encode(&p, &small), LI_ERR_TOO_BIG);
    assert_int_equal(small.len, 2);
    assert_int_equal(b.len, 2);
    li_buf_free(&small);
    li_buf_free(&b);
}

static void test_decode_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "31 00",                                   /* not a SEQUENCE */
        "30 80 00 00",                             /* indefinite length */
        "30 85 00 00 00 00 01 00",                 /* five length octets */
        "30 00",                                   /* no header, no payload */
        /* keep-alive with a wrong domain OID (0.4.0.2.2.5.2.35) */
        "30 28 A1 20 80 07 04 00 02 02 05 02 23 81 01 2D A3 0F A0 09 80 02 4F 50 81 03 4E 45 31"
        " 82 02 44 45 84 01 07 A2 04 A2 02 83 00",
        /* keep-alive whose header lacks sequenceNumber */
        "30 25 A1 1D 80 07 04 00 02 02 05 01 23 81 01 2D A3 0F A0 09 80 02 4F 50 81 03 4E 45 31"
        " 82 02 44 45 A2 04 A2 02 83 00",
        /* inner length overruns its parent */
        "30 28 A1 20 80 07 04 00 02 02 05 01 23 81 01 2D A3 1F A0 09 80 02 4F 50 81 03 4E 45 31"
        " 82 02 44 45 84 01 07 A2 04 A2 02 83 00",
        /* negative sequence number */
        "30 28 A1 20 80 07 04 00 02 02 05 01 23 81 01 2D A3 0F A0 09 80 02 4F 50 81 03 4E 45 31"
        " 82 02 44 45 84 01 F7 A2 04 A2 02 83 00",
        /* TRI testPDU [1]: not one limf handles */
        "30 28 A1 20 80 07 04 00 02 02 05 01 23 81 01 2D A3 0F A0 09 80 02 4F 50 81 03 4E 45 31"
        " 82 02 44 45 84 01 07 A2 04 A2 02 81 00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t buf[256];
        size_t n = unhex(bad[i], buf), used;
        ho_pdu d;
        li_err e = ho_pdu_decode(guarded(buf, n), n, &d, &used);
        if (e != LI_ERR_PROTO)
            fprintf(stderr, "bad[%zu] gave %d\n", i, e);
        assert_int_equal(e, LI_ERR_PROTO);
    }
}

static void test_ber_primitives(void **state)
{
    (void)state;
    static const struct { uint64_t v; const char *hex; } ints[] = {
        { .hex = "02 01 00" },
        { .v = 127, .hex = "02 01 7F" },
        { .v = 128, .hex = "02 02 00 80" },
        { .v = 256, .hex = "02 02 01 00" },
        { .v = UINT64_MAX, .hex = "02 09 00 FF FF FF FF FF FF FF FF" },
    };
    li_buf b;
    li_buf_init(&b, 0);
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        uint8_t want[16];
        size_t n = unhex(ints[i].hex, want);
        ho_ber_w w;
        li_buf_reset(&b);
        ho_ber_w_init(&w, &b);
        ho_ber_uint(&w, 0x02, ints[i].v);
        assert_int_equal(ho_ber_w_end(&w), LI_OK);
        assert_int_equal(b.len, n);
        assert_memory_equal(b.data, want, n);
        uint64_t back;
        assert_int_equal(ho_ber_get_uint(li_slice_of(want + 2, n - 2), UINT64_MAX, &back), LI_OK);
        assert_true(back == ints[i].v);
    }
    /* OID with a multi-octet arc, and its decoding. */
    static const uint32_t arcs[] = { 2, 999, 1 };
    ho_ber_w w;
    li_buf_reset(&b);
    ho_ber_w_init(&w, &b);
    ho_ber_oid(&w, 0x06, arcs, 3, 0);
    assert_int_equal(ho_ber_w_end(&w), LI_OK);
    uint8_t want[8];
    size_t n = unhex("06 03 88 37 01", want);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, want, n);
    uint32_t back[4];
    size_t nb;
    assert_int_equal(ho_ber_get_oid(li_slice_of(want + 2, 3), 0, back, 4, &nb), LI_OK);
    assert_int_equal(nb, 3);
    assert_int_equal(back[1], 999);
    /* An unclosed constructed value is an encoder bug, reported. */
    li_buf_reset(&b);
    ho_ber_w_init(&w, &b);
    ho_ber_open(&w, 0x30);
    assert_int_equal(ho_ber_w_end(&w), LI_ERR_INVAL);
    /* High tag numbers are read. */
    ho_ber_tlv t;
    n = unhex("9F 81 00 01 55", want);
    li_slice s = li_slice_of(want, n);
    assert_int_equal(ho_ber_next(&s, &t), LI_OK);
    assert_int_equal(t.tag, 128);
    assert_int_equal(t.content.len, 1);
    li_buf_free(&b);
}

/* DER GeneralizedTime (X.690 11.7.3): no trailing zeros in the fraction, no bare '.'. */
static void test_generalized_time(void **state)
{
    (void)state;
    static const struct {
        uint64_t ns;
        const char *want;
    } rows[] = {
        { .ns = 0, .want = "19700101000000Z" },
        { .ns = 951782400999000000ull, .want = "20000229000000.999Z" }, /* leap day 2000 */
        { .ns = 1700000000120000000ull, .want = "20231114221320.12Z" },
        { .ns = 1700000000100999999ull, .want = "20231114221320.1Z" },  /* ms: truncated */
        { .ns = 1700000000007000000ull, .want = "20231114221320.007Z" },
        { .ns = 1700000000000999999ull, .want = "20231114221320Z" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char gt[20];
        size_t n = ho_generalized_time(rows[i].ns, gt);
        assert_string_equal(gt, rows[i].want);
        assert_int_equal(n, strlen(rows[i].want));
    }
}

/* originalIPMMMessage [0] from another sender is read (limf itself never sends it). */
static void test_original_message(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t n = unhex("30 35 A1 19 80 07 04 00 02 02 05 01 23 81 01 4C A3 08 A0 03 80 01 4F 81 01"
                     " 00 84 01 02 A2 18 A0 16 30 14 80 01 04 A2 0F AB 0D 80 04 05 05 10 01 A1 05"
                     " 80 03 67 61 70", buf), used;
    ho_pdu d;
    assert_int_equal(ho_pdu_decode(buf, n, &d, &used), LI_OK);
    assert_int_equal(d.iri_content, HO_IRI_ORIGINAL);
    assert_int_equal(d.iri_type, HO_IRI_REPORT);
    assert_int_equal(d.content.len, 3);
    /* The encoder sends SIP messages only. */
    ho_pdu p = vec_iri_sip();
    p.iri_content = HO_IRI_ORIGINAL;
    li_buf b;
    li_buf_init(&b, 0);
    assert_int_equal(ho_pdu_encode(&p, &b), LI_ERR_INVAL);
    li_buf_free(&b);
}

/* HI1 fields out of their ASN.1 bounds are refused both ways. */
static void test_hi1_rejects(void **state)
{
    (void)state;
    li_buf b;
    li_buf_init(&b, 0);
    ho_pdu p = vec_alarm();
    p.content = S("");                            /* alarm-information SIZE (1..256) */
    assert_int_equal(ho_pdu_encode(&p, &b), LI_ERR_INVAL);
    static char big[HO_HI1_TEXT_MAX + 1];
    memset(big, 'x', sizeof big);
    p.content = li_slice_of(big, sizeof big);
    assert_int_equal(ho_pdu_encode(&p, &b), LI_ERR_INVAL);
    p = vec_alarm();
    p.timestamp_ns = 0;                           /* timeStamp is mandatory */
    assert_int_equal(ho_pdu_encode(&p, &b), LI_ERR_INVAL);
    p = vec_alarm();
    p.hi1_op = 5;                                 /* national parameters: not limf's */
    assert_int_equal(ho_pdu_encode(&p, &b), LI_ERR_INVAL);
    assert_int_equal(b.len, 0);
    /* A Notification whose LIID differs from the PSHeader's is not decoded. */
    uint8_t buf[128];
    size_t n = unhex("30 61 A1 3A 80 07 04 00 02 02 05 01 23 81 01 4C"
                     " A3 0D A0 0B 80 09 4F 50 45 52 41 54 4F 52 31 84 01 00"
                     " 85 0F 32 30 32 33 31 31 31 34 32 32 31 33 32 30 5A"
                     " A7 09 80 04 65 53 F1 00 81 01 00"
                     " A2 23 A3 21 A1 1F 81 01 4D A2 09 A1 07 80 05 4F 50 45 52 41"
                     " A3 0F 81 0D 32 33 31 31 31 34 32 32 31 33 32 30 5A", buf), used;
    ho_pdu d;
    assert_int_equal(ho_pdu_decode(buf, n, &d, &used), LI_ERR_PROTO);
    li_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_keepalive_response_and_long_lengths),
        cmocka_unit_test(test_encode_rejects),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_ber_primitives),
        cmocka_unit_test(test_generalized_time),
        cmocka_unit_test(test_original_message),
        cmocka_unit_test(test_hi1_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
