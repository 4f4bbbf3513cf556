/* The limf.xpdu encoder (x2x3_xpdu.h) against protobuf-c, the library every reader of
 * the topic decodes with: byte-identical output for the empty message, a full one, and
 * 20,000 random messages (every field present or zero at random, lengths that need one
 * to three length octets, values at the varint boundaries), and each decodes back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "x2x3_xpdu.h"

/* Both encoders on x: same size, same octets; protobuf-c reads ours back. */
static void check_same(const Limf__XPdu *x)
{
    size_t want = limf__xpdu__get_packed_size(x);
    assert_int_equal(x2x3_xpdu_size(x), want);
    uint8_t *a = malloc(want + 1), *b = malloc(want + 1);
    assert_non_null(a);
    assert_non_null(b);
    a[want] = b[want] = 0xa5;   /* neither writes past the size */
    assert_int_equal(limf__xpdu__pack(x, a), want);
    assert_int_equal(x2x3_xpdu_pack(x, b), want);
    assert_memory_equal(a, b, want + 1);
    Limf__XPdu *back = limf__xpdu__unpack(NULL, want, b);
    assert_non_null(back);
    assert_int_equal(back->received_ns, x->received_ns);
    assert_int_equal(back->n_matched_targets, x->n_matched_targets);
    assert_int_equal(back->payload.len, x->payload.len);
    limf__xpdu__free_unpacked(back, NULL);
    free(a);
    free(b);
}

/* A new field in xpdu.proto must reach the encoder: this count changes with it. */
static void test_field_count(void **state)
{
    (void)state;
    assert_int_equal(limf__xpdu__descriptor.n_fields, 23);
}

static void test_empty(void **state)
{
    (void)state;
    Limf__XPdu x = LIMF__XPDU__INIT;
    assert_int_equal(x2x3_xpdu_size(&x), 0);
    check_same(&x);
}

static uint8_t blob[70000];

static void test_full(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (uint8_t)(i * 31 + 7);
    char *targets[] = { "sip:alice@example.com", "", "tel:+15551234567" };
    Limf__XPdu x = LIMF__XPDU__INIT;
    x.poi_id = "relay-agw";
    x.poi_cert_sha256 = (ProtobufCBinaryData){ 32, blob };
    x.received_ns = 1795000000123456789ull;
    x.version = 5;
    x.pdu_type = 2;
    x.payload_format = 13;
    x.payload_direction = 3;
    x.xid = (ProtobufCBinaryData){ 16, blob + 40 };
    x.correlation_id = (ProtobufCBinaryData){ 8, blob + 60 };
    x.has_seq = 1;
    x.seq = 4294967295u;
    x.timestamp_ns = 18446744073709551615ull;
    x.matched_targets = targets;
    x.n_matched_targets = 3;
    x.src_addr = (ProtobufCBinaryData){ 16, blob + 80 };
    x.dst_addr = (ProtobufCBinaryData){ 4, blob + 100 };
    x.src_port = 65535;
    x.dst_port = 2855;
    x.ip_protocol = 6;
    x.sdp = "v=0\r\nm=message 2855 TCP/TLS/MSRP *\r\n";
    x.attributes = (ProtobufCBinaryData){ 300, blob + 200 };
    x.payload = (ProtobufCBinaryData){ 65536, blob + 1000 };
    x.ingest_id = "ingest-1";
    x.poi_address = "[2001:db8::1]:40000";
    check_same(&x);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* 0, a boundary of the varint lengths (127/128, 16383/16384, ...), or anything. */
static uint64_t value(unsigned bits)
{
    uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
    switch (next() % 4) {
    case 0:
        return 0;
    case 1: {
        unsigned k = (unsigned)(next() % ((bits + 6) / 7)) * 7 + 7;
        uint64_t edge = k >= 64 ? ~0ull : (1ull << k);
        return (edge - (next() % 2)) & mask;
    }
    default:
        return next() & mask;
    }
}

static size_t length(void)
{
    static const size_t edges[] = { 0, 1, 127, 128, 16383, 16384, 65536 };
    return next() % 3 ? next() % 300 : edges[next() % 7];
}

static ProtobufCBinaryData bytes(void)
{
    size_t n = length();
    return (ProtobufCBinaryData){ n, blob + next() % (sizeof blob - n) };
}

static char *string(char *buf, size_t cap)
{
    if (next() % 4 == 0)
        return next() % 2 ? NULL : "";
    size_t n = next() % (cap - 1);
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)(0x20 + next() % 95);
    buf[n] = '\0';
    return buf;
}

static void test_random(void **state)
{
    (void)state;
    static char s[6][400], tbuf[8][200];
    for (int round = 0; round < 20000; round++) {
        Limf__XPdu x = LIMF__XPDU__INIT;
        char *targets[8];
        x.poi_id = string(s[0], sizeof s[0]);
        x.poi_cert_sha256 = bytes();
        x.received_ns = value(64);
        x.version = (uint32_t)value(32);
        x.pdu_type = (uint32_t)value(32);
        x.payload_format = (uint32_t)value(32);
        x.payload_direction = (uint32_t)value(32);
        x.xid = bytes();
        x.correlation_id = bytes();
        x.has_seq = (protobuf_c_boolean)(next() % 2);
        x.seq = (uint32_t)value(32);
        x.timestamp_ns = value(64);
        x.n_matched_targets = next() % 9;
        for (size_t i = 0; i < x.n_matched_targets; i++) {
            char *t = string(tbuf[i], sizeof tbuf[i]);
            targets[i] = t ? t : "";   /* a repeated string has no NULL elements */
        }
        x.matched_targets = targets;
        x.src_addr = bytes();
        x.dst_addr = bytes();
        x.src_port = (uint32_t)value(32);
        x.dst_port = (uint32_t)value(32);
        x.ip_protocol = (uint32_t)value(32);
        x.sdp = string(s[1], sizeof s[1]);
        x.attributes = bytes();
        x.payload = bytes();
        x.ingest_id = string(s[2], sizeof s[2]);
        x.poi_address = string(s[3], sizeof s[3]);
        check_same(&x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_count),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
