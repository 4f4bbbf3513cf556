/* X2/X3 PDU codec (TS 103 221-2): a table of good and bad PDUs with the expected
 * fields or error and offset, PDUs from other implementations (reference/interop),
 * every prefix of a PDU (LI_AGAIN), and encode -> decode round trips. Every input is
 * placed right before an unreadable page, so an over-read crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "guard.h"
#include "x2x3_pdu.h"
#include "x2x3_seq.h"

static size_t unhex(const char *hex, uint8_t *out, size_t max)
{
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (*p == ' ' || *p == '\n') {
            p++;
            continue;
        }
        unsigned v;
        assert_int_equal(sscanf(p, "%2x", &v), 1);
        assert_true(n < max);
        out[n++] = (uint8_t)v;
        p += 2;
    }
    return n;
}

/* Header fields as hex: version type hlen plen format dir, then XID and correlation. */
#define XID "00112233445566778899aabbccddeeff"
#define CORR "0000000000000001"

typedef struct bad_vector {
    const char *name;
    const char *hex;
    li_err err;
    size_t offset;
} bad_vector;

static const bad_vector bad[] = {
    { .name = "header length 0", .hex = "0005 0001 00000000 00000000 0009 0002" XID CORR,
      .err = LI_ERR_PROTO, .offset = 4 },
    { .name = "header length 39", .hex = "0005 0001 00000027 00000000 0009 0002" XID CORR,
      .err = LI_ERR_PROTO, .offset = 4 },
    { .name = "keepalive with payload",
      .hex = "0005 0003 00000028 00000001 0000 0000" XID CORR "00", .err = LI_ERR_PROTO,
      .offset = 8 },
    { .name = "4 GiB payload", .hex = "0005 0001 00000028 ffffffff 0009 0002" XID CORR,
      .err = LI_ERR_TOO_BIG, .offset = 8 },
    { .name = "4 GiB header", .hex = "0005 0001 ffffffff 00000000 0009 0002" XID CORR,
      .err = LI_ERR_TOO_BIG, .offset = 4 },
    { .name = "sum wraps 32 bits", .hex = "0005 0001 00000100 ffffff00 0009 0002" XID CORR,
      .err = LI_ERR_TOO_BIG, .offset = 8 },
    { .name = "attribute header overrun",
      .hex = "0005 0001 0000002a 00000000 0009 0002" XID CORR "0008", .err = LI_ERR_PROTO,
      .offset = 40 },
    { .name = "attribute value overrun",
      .hex = "0005 0001 00000030 00000000 0009 0002" XID CORR
             "0007000a41424344",
      .err = LI_ERR_PROTO, .offset = 40 },
    { .name = "second attribute overrun",
      .hex = "0005 0001 00000034 00000000 0009 0002" XID CORR
             "0008000400000001 0016ffff",
      .err = LI_ERR_PROTO, .offset = 48 },
    { .name = "sequence number of 2 octets",
      .hex = "0005 0001 0000002e 00000000 0009 0002" XID CORR
             "000800020001",
      .err = LI_ERR_PROTO, .offset = 40 },
    { .name = "IPv4 address of 16 octets",
      .hex = "0005 0001 0000003c 00000000 0009 0002" XID CORR
             "000a0010 00000000000000000000000000000000",
      .err = LI_ERR_PROTO, .offset = 40 },
    { .name = "port of 1 octet",
      .hex = "0005 0001 0000002d 00000000 0009 0002" XID CORR "000e000105", .err = LI_ERR_PROTO,
      .offset = 40 },
    { .name = "timestamp of 10 octets",
      .hex = "0005 0001 00000032 00000000 0009 0002" XID CORR
             "0009000a 00000001000000010000",
      .err = LI_ERR_PROTO, .offset = 40 },
    { .name = "timestamp ns 10^9",
      .hex = "0005 0001 00000030 00000000 0009 0002" XID CORR
             "00090008 000000013b9aca00",
      .err = LI_ERR_PROTO, .offset = 40 },
};

static void test_bad_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t raw[256];
        size_t n = unhex(bad[i].hex, raw, sizeof raw);
        x2x3_pdu pdu;
        size_t used = 0;
        x2x3_decode_error err = { NULL, 0 };
        li_err rc = x2x3_pdu_decode(guarded(raw, n), n, 1u << 20, &pdu, &used, &err);
        if (rc != bad[i].err || err.offset != bad[i].offset || !err.reason)
            fail_msg("%s: rc %d offset %zu (%s), want %d at %zu", bad[i].name, rc, err.offset,
                     err.reason ? err.reason : "-", bad[i].err, bad[i].offset);
    }
}

/* Values the codec does not know (a later edition, a vendor): decoded and flagged, never
 * refused, so that a receiver can keep the connection (issue 17). Format 17 (PS-PDU
 * payload, TS 103 221-2 V1.8.1) is known. */
typedef struct odd_vector {
    const char *name;
    const char *hex;
    uint32_t flags;
} odd_vector;

static const odd_vector odd[] = {
    { "unknown PDU type", "0005 0007 00000030 00000002 0009 0002" XID CORR
      "0008000400000005 abcd", X2X3_FLAG_UNKNOWN_PDU_TYPE },
    { "PDU type 0", "0005 0000 00000028 00000000 0009 0002" XID CORR,
      X2X3_FLAG_UNKNOWN_PDU_TYPE },
    { "X2 with MSRP (X3 only)", "0005 0001 00000028 00000000 000d 0002" XID CORR,
      X2X3_FLAG_UNKNOWN_FORMAT },
    { "X3 with SIP (X2 only)", "0005 0002 00000028 00000000 0009 0002" XID CORR,
      X2X3_FLAG_UNKNOWN_FORMAT },
    { "X2 with format 0", "0005 0001 00000028 00000000 0000 0002" XID CORR,
      X2X3_FLAG_UNKNOWN_FORMAT },
    { "X3 with format 18", "0005 0002 00000028 00000000 0012 0002" XID CORR,
      X2X3_FLAG_UNKNOWN_FORMAT },
    { "X2 with format 17", "0005 0001 00000028 00000000 0011 0002" XID CORR, 0 },
    { "X3 with format 17", "0005 0002 00000028 00000000 0011 0002" XID CORR, 0 },
    { "direction 6", "0005 0001 00000028 00000000 0009 0006" XID CORR,
      X2X3_FLAG_UNKNOWN_DIRECTION },
    { "attribute type 23", "0005 0001 00000030 00000000 0009 0002" XID CORR
      "0017000441424344", X2X3_FLAG_UNKNOWN_ATTR },
    { "attribute type 0", "0005 0001 0000002c 00000000 0009 0002" XID CORR "00000000",
      X2X3_FLAG_UNKNOWN_ATTR },
    { "attribute type 40000", "0005 0001 0000002d 00000000 0009 0002" XID CORR "9c40000107",
      X2X3_FLAG_UNKNOWN_ATTR },
};

/* Attribute 17 in the standard form (TS 103 221-2 clause 5.3.18: the X1 TargetIdentifier's
 * content as XML), and every form seen in the field read back. */
static void test_target_forms(void **state)
{
    (void)state;
    char out[128];
    size_t len;
    assert_int_equal(x2x3_target_encode("sip-uri:sip:alice@example.com;x=a&b", out, sizeof out,
                                        &len), LI_OK);
    assert_string_equal(out, "<sipUri>sip:alice@example.com;x=a&amp;b</sipUri>");
    assert_int_equal(len, strlen(out));
    assert_int_equal(x2x3_target_encode("e164:+494012345678", out, sizeof out, NULL), LI_OK);
    assert_string_equal(out, "<e164Number>494012345678</e164Number>");
    assert_int_equal(x2x3_target_encode("tel-uri:tel:+4930", out, sizeof out, NULL), LI_OK);
    assert_string_equal(out, "<telUri>tel:+4930</telUri>");
    assert_int_equal(x2x3_target_encode("<imsi>1</imsi>", out, sizeof out, NULL), LI_OK);
    assert_string_equal(out, "<imsi>1</imsi>");
    assert_int_equal(x2x3_target_encode("imsi:1", out, sizeof out, NULL), LI_ERR_INVAL);
    assert_int_equal(x2x3_target_encode("sip-uri:sip:a@b", out, 20, NULL), LI_ERR_TOO_BIG);
    assert_string_equal(out, "");

    static const struct {
        const char *raw, *ident;
        int standard;
    } forms[] = {
        { "<sipUri>sip:alice@example.com;x=a&amp;b</sipUri>",
          "sip-uri:sip:alice@example.com;x=a&b", 1 },
        { "<e164Number>494012345678</e164Number>", "e164:494012345678", 1 },
        { "<E164Number>4930123</E164Number>", "e164:4930123", 0 },   /* sipgate */
        { "sip-uri:sip:alice@example.com", "sip-uri:sip:alice@example.com", 0 }, /* limf < 17 */
        { "sip:alice@example.com", "sip-uri:sip:alice@example.com", 0 },       /* lippycat */
        { "tel:+4930", "tel-uri:tel:+4930", 0 },
        { "<sipUri>sip:a@b</telUri>", NULL, -1 },
        { "<imsi>204081234567890</imsi>", "imsi:204081234567890", 1 },
        { "<IMSI>1</IMSI>", NULL, -1 },
        { "<sipUri>", NULL, -1 },
        { "alice", NULL, -1 },
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        int got = x2x3_target_decode(li_slice_of(forms[i].raw, strlen(forms[i].raw)), out,
                                     sizeof out);
        if (got != forms[i].standard || (forms[i].ident && strcmp(out, forms[i].ident) != 0))
            fail_msg("%s: %d '%s'", forms[i].raw, got, out);
    }
}

/* Numbering per (XID, correlation ID): streams count on their own, survive the table's
 * growth, and only streams idle for idle_ns are forgotten (then start at 0 again). */
static void test_seq_streams(void **state)
{
    (void)state;
    x2x3_seq t;
    x2x3_seq_init(&t, 1000);
    uint8_t xid[16] = { 0x5e };
    for (uint64_t round = 0; round < 3; round++)
        for (uint64_t cid = 0; cid < 500; cid++) {
            xid[15] = (uint8_t)(cid % 7);
            uint32_t *n = x2x3_seq_next(&t, xid, cid, 10 + round);
            assert_non_null(n);
            assert_int_equal(*n, round);
            (*n)++;
        }
    assert_int_equal(t.count, 500);
    /* Much later: a rebuild forgets all 500 idle streams, and the busy one survives. */
    xid[15] = 0;
    uint32_t *busy = x2x3_seq_next(&t, xid, 0, 5000);
    assert_int_equal(*busy, 3);
    (*busy)++;
    for (uint64_t cid = 1000; cid < 1400; cid++) {
        uint32_t *n = x2x3_seq_next(&t, xid, cid, 5000);
        assert_non_null(n);
        assert_int_equal(*n, 0);
    }
    assert_int_equal(*x2x3_seq_next(&t, xid, 0, 5000), 4);
    xid[15] = 1;
    assert_int_equal(*x2x3_seq_next(&t, xid, 1, 5000), 0);   /* idle, forgotten */
    assert_true(t.count < 500 + 400 + 2);
    x2x3_seq_free(&t);
}

static void test_unknown_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        uint8_t raw[256];
        size_t n = unhex(odd[i].hex, raw, sizeof raw);
        x2x3_pdu pdu;
        size_t used = 0;
        x2x3_decode_error err = { NULL, 0 };
        li_err rc = x2x3_pdu_decode(guarded(raw, n), n, 1u << 20, &pdu, &used, &err);
        if (rc != LI_OK || used != n || pdu.flags != odd[i].flags)
            fail_msg("%s: rc %d (%s) used %zu of %zu flags %#x, want flags %#x", odd[i].name,
                     rc, err.reason ? err.reason : "-", used, n, pdu.flags, odd[i].flags);
    }
    /* The sender still refuses what the standard does not allow. */
    assert_false(x2x3_format_allowed(X2X3_PDU_X2, X2X3_FORMAT_MSRP));
    assert_true(x2x3_format_allowed(X2X3_PDU_X3, X2X3_FORMAT_ETSI_PS_PDU_PAYLOAD));
    assert_false(x2x3_format_allowed(7, X2X3_FORMAT_SIP));
}

/* The size limit is checked from the header alone, before the payload is there. */
static void test_max_pdu_from_header(void **state)
{
    (void)state;
    uint8_t raw[64];
    size_t n = unhex("0005 0002 00000028 00001000 000d 0002" XID CORR, raw, sizeof raw);
    x2x3_pdu pdu;
    size_t used;
    x2x3_decode_error err;
    assert_int_equal(x2x3_pdu_decode(guarded(raw, n), n, 4096, &pdu, &used, &err),
                     LI_ERR_TOO_BIG);
    assert_int_equal(err.offset, 8);
    assert_int_equal(x2x3_pdu_decode(guarded(raw, n), n, 4096 + 40, &pdu, &used, &err),
                     LI_AGAIN);
    assert_int_equal(used, 4096 + 40);
}

/* --- PDUs of other implementations --- */

static size_t read_hex_file(const char *name, uint8_t *out, size_t max)
{
    char path[512], line[4096];
    snprintf(path, sizeof path, "%s/interop/%s", REFERENCE_DIR, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        line[strcspn(line, "\r\n")] = '\0';
        n += unhex(line, out + n, max - n);
    }
    fclose(f);
    return n;
}

static void decode_ok(const uint8_t *raw, size_t n, x2x3_pdu *pdu)
{
    size_t used = 0;
    x2x3_decode_error err = { NULL, 0 };
    li_err rc = x2x3_pdu_decode(raw, n, 0, pdu, &used, &err);
    if (rc != LI_OK)
        fail_msg("decode: %d %s at %zu", rc, err.reason ? err.reason : "-", err.offset);
    assert_int_equal(used, n);
}

static void assert_slice(li_slice s, const char *text)
{
    assert_int_equal(s.len, strlen(text));
    assert_memory_equal(s.p, text, s.len);
}

static void test_lippycat_sip_invite(void **state)
{
    (void)state;
    static uint8_t raw[4096];
    size_t n = read_hex_file("lippycat-x2_sip_invite.hex", raw, sizeof raw);
    if (n == 0)
        skip();
    static const uint8_t xid[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                     0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
    x2x3_pdu p;
    decode_ok(guarded(raw, n), n, &p);
    assert_int_equal(p.version, 0x0500);
    assert_true(p.flags & X2X3_FLAG_VERSION_SWAPPED);
    assert_int_equal(p.pdu_type, X2X3_PDU_X2);
    assert_int_equal(p.header_length, 141);
    assert_int_equal(p.payload_length, 155);
    assert_int_equal(p.payload_format, X2X3_FORMAT_SIP);
    assert_int_equal(p.payload_direction, X2X3_DIR_FROM_TARGET);
    assert_memory_equal(p.xid, xid, 16);
    assert_true(p.correlation_id == 0x1111111111111111ull);
    assert_true(p.flags & X2X3_FLAG_TIMESTAMP_12);
    assert_true(p.ts_sec == 1700000000u);
    assert_int_equal(p.ts_nsec, 0);
    assert_true(x2x3_pdu_timestamp_ns(&p) == 1700000000000000000ull);
    assert_int_equal(p.seq, 1);
    assert_int_equal(p.src_addr_len, 4);
    assert_memory_equal(p.src_addr, "\xc0\xa8\x01\x0a", 4);
    assert_int_equal(p.dst_addr_len, 4);
    assert_memory_equal(p.dst_addr, "\x0a\x00\x00\x05", 4);
    assert_int_equal(p.src_port, 5060);
    assert_int_equal(p.dst_port, 5060);
    assert_false(x2x3_pdu_has(&p, X2X3_ATTR_IP_PROTOCOL));
    assert_slice(p.nfid, "proc-01");
    assert_slice(p.ipid, "hunter-01");
    assert_int_equal(p.n_matched_targets, 1);
    li_slice t;
    assert_int_equal(x2x3_pdu_matched_target(&p, 0, &t), LI_OK);
    assert_slice(t, "sip:alice@example.com");
    assert_true(p.flags & X2X3_FLAG_TARGET_TEXT);   /* a bare URI */
    assert_int_equal(x2x3_pdu_matched_target(&p, 1, &t), LI_ERR_NOT_FOUND);
    assert_int_equal(p.payload_len, 155);
    assert_memory_equal(p.payload, "INVITE sip:bob@example.com SIP/2.0\r\n", 36);
}

static void test_lippycat_rtp_and_keepalive(void **state)
{
    (void)state;
    static uint8_t raw[4096];
    size_t n = read_hex_file("lippycat-x3_rtp.hex", raw, sizeof raw);
    if (n == 0)
        skip();
    x2x3_pdu p;
    decode_ok(guarded(raw, n), n, &p);
    assert_int_equal(p.pdu_type, X2X3_PDU_X3);
    assert_int_equal(p.payload_format, X2X3_FORMAT_RTP);
    assert_int_equal(p.seq, 4);
    assert_int_equal(p.payload_len, 16);
    assert_memory_equal(p.payload, "\x80\x00\x00\x01", 4);

    n = read_hex_file("lippycat-keepalive.hex", raw, sizeof raw);
    decode_ok(guarded(raw, n), n, &p);
    assert_int_equal(p.pdu_type, X2X3_PDU_KEEPALIVE);
    assert_int_equal(p.header_length, 40);
    assert_true(p.flags & X2X3_FLAG_KEEPALIVE_NO_SEQ);
    /* Answered without a sequence number: header length 40. */
    li_buf b;
    li_buf_init(&b, 0);
    assert_int_equal(x2x3_keepalive_ack_encode(&b, &p), LI_OK);
    assert_int_equal(b.len, 40);
    assert_int_equal(li_get_be16(b.data + 2), X2X3_PDU_KEEPALIVE_ACK);
    li_buf_free(&b);
}

/* sipgate's capture: the TCP payload of the only packet of a classic pcap file. */
static size_t sipgate_payload(uint8_t *out, size_t max)
{
    char path[512];
    snprintf(path, sizeof path, "%s/interop/sipgate-x2-demo-01.pcap", REFERENCE_DIR);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    static uint8_t file[4096];
    size_t n = fread(file, 1, sizeof file, f);
    fclose(f);
    assert_true(n > 24 + 16 + 14 + 20);
    assert_int_equal(li_get_be32(file), 0xd4c3b2a1);   /* little-endian pcap */
    size_t incl = (size_t)file[32] | (size_t)file[33] << 8;
    const uint8_t *pkt = file + 40;
    assert_true(incl <= n - 40);
    const uint8_t *ip = pkt + 14;                    /* Ethernet II */
    size_t ihl = (size_t)(ip[0] & 15) * 4;
    const uint8_t *tcp = ip + ihl;
    size_t doff = (size_t)(tcp[12] >> 4) * 4;
    size_t hdrs = 14 + ihl + doff;
    assert_true(hdrs < incl && incl - hdrs <= max);
    memcpy(out, tcp + doff, incl - hdrs);
    return incl - hdrs;
}

static void test_sipgate_register(void **state)
{
    (void)state;
    static uint8_t raw[4096];
    size_t n = sipgate_payload(raw, sizeof raw);
    if (n == 0)
        skip();
    x2x3_pdu p;
    decode_ok(guarded(raw, n), n, &p);
    assert_int_equal(p.version, X2X3_VERSION);
    assert_int_equal(p.flags, X2X3_FLAG_TARGET_TEXT);   /* "<E164Number>": not the schema's */
    assert_int_equal(p.pdu_type, X2X3_PDU_X2);
    assert_int_equal(p.header_length, 81);
    assert_int_equal(p.payload_length, 539);
    assert_int_equal(p.payload_format, X2X3_FORMAT_SIP);
    assert_int_equal(p.payload_direction, X2X3_DIR_FROM_TARGET);
    assert_true(p.correlation_id == 1);
    assert_int_equal(p.n_matched_targets, 1);
    li_slice t;
    assert_int_equal(x2x3_pdu_matched_target(&p, 0, &t), LI_OK);
    assert_slice(t, "<E164Number>494012345678</E164Number>");
    assert_memory_equal(p.payload, "REGISTER sip:sipgate.de SIP/2.0\n", 32);
}

/* --- streaming: every prefix of two back-to-back PDUs --- */

static void test_every_prefix_is_again(void **state)
{
    (void)state;
    static uint8_t raw[8192];
    size_t n1 = read_hex_file("lippycat-x2_sip_invite.hex", raw, sizeof raw);
    if (n1 == 0)
        skip();
    size_t n2 = read_hex_file("lippycat-keepalive.hex", raw + n1, sizeof raw - n1);
    for (size_t len = 0; len < n1; len++) {
        x2x3_pdu p;
        size_t used = 0;
        assert_int_equal(x2x3_pdu_decode(guarded(raw, len), len, 0, &p, &used, NULL), LI_AGAIN);
        assert_int_equal(used, len < 40 ? 40 : n1);
    }
    x2x3_pdu p;
    size_t used;
    const uint8_t *both = guarded(raw, n1 + n2);
    assert_int_equal(x2x3_pdu_decode(both, n1 + n2, 0, &p, &used, NULL), LI_OK);
    assert_int_equal(used, n1);
    assert_int_equal(x2x3_pdu_decode(both + used, n2, 0, &p, &used, NULL), LI_OK);
    assert_int_equal(p.pdu_type, X2X3_PDU_KEEPALIVE);
}

/* --- encoder --- */

static void test_encode_decode_round_trip(void **state)
{
    (void)state;
    li_buf attrs, out;
    li_buf_init(&attrs, 0);
    li_buf_init(&out, 0);
    static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
    assert_int_equal(x2x3_attr_put(&attrs, X2X3_ATTR_IPID, "poi-7", 5), LI_OK);
    assert_int_equal(x2x3_attr_put_u32(&attrs, X2X3_ATTR_SEQ, 0xfffffffe), LI_OK);
    assert_int_equal(x2x3_attr_put_timestamp(&attrs, 1700000001123456789ull), LI_OK);
    assert_int_equal(x2x3_attr_put(&attrs, X2X3_ATTR_SRC_IPV6, v6, 16), LI_OK);
    assert_int_equal(x2x3_attr_put(&attrs, X2X3_ATTR_DST_IPV6, v6, 16), LI_OK);
    assert_int_equal(x2x3_attr_put_u16(&attrs, X2X3_ATTR_SRC_PORT, 2855), LI_OK);
    assert_int_equal(x2x3_attr_put_u16(&attrs, X2X3_ATTR_DST_PORT, 443), LI_OK);
    assert_int_equal(x2x3_attr_put_u8(&attrs, X2X3_ATTR_IP_PROTOCOL, 6), LI_OK);
    assert_int_equal(x2x3_attr_put(&attrs, X2X3_ATTR_MATCHED_TARGET, "<sipUri>sip:a@x</sipUri>",
                                   24), LI_OK);
    assert_int_equal(x2x3_attr_put(&attrs, X2X3_ATTR_MATCHED_TARGET, "<telUri>tel:+49301</telUri>",
                                   27), LI_OK);
    assert_int_equal(x2x3_attr_put(&attrs, X2X3_ATTR_SDP, "v=0\r\n", 5), LI_OK);
    assert_int_equal(x2x3_attr_put(&attrs, 4242, "\x01\x02", 2), LI_OK);   /* unknown */
    static uint8_t big[70000];
    assert_int_equal(x2x3_attr_put(&attrs, X2X3_ATTR_SDP, big, sizeof big), LI_ERR_TOO_BIG);

    x2x3_pdu in;
    memset(&in, 0, sizeof in);
    in.version = X2X3_VERSION;
    in.pdu_type = X2X3_PDU_X3;
    in.payload_format = X2X3_FORMAT_MSRP;
    in.payload_direction = X2X3_DIR_TO_TARGET;
    memset(in.xid, 0xab, 16);
    in.correlation_id = 0x0102030405060708ull;
    in.attrs = attrs.data;
    in.attrs_len = attrs.len;
    in.payload = (const uint8_t *)"MSRP a SEND\r\n";
    in.payload_len = 13;
    assert_int_equal(x2x3_pdu_encode(&out, &in), LI_OK);
    assert_int_equal(out.len, 40 + attrs.len + 13);

    x2x3_pdu p;
    decode_ok(guarded(out.data, out.len), out.len, &p);
    assert_int_equal(p.flags, X2X3_FLAG_UNKNOWN_ATTR);   /* type 4242, passed on */
    assert_int_equal(p.header_length, 40 + attrs.len);
    assert_memory_equal(p.xid, in.xid, 16);
    assert_true(p.correlation_id == in.correlation_id);
    assert_slice(p.ipid, "poi-7");
    assert_true(p.seq == 0xfffffffe);
    assert_true(x2x3_pdu_timestamp_ns(&p) == 1700000001123456789ull);
    assert_int_equal(p.src_addr_len, 16);
    assert_memory_equal(p.dst_addr, v6, 16);
    assert_int_equal(p.src_port, 2855);
    assert_int_equal(p.dst_port, 443);
    assert_int_equal(p.ip_protocol, 6);
    assert_int_equal(p.n_matched_targets, 2);
    li_slice t;
    assert_int_equal(x2x3_pdu_matched_target(&p, 1, &t), LI_OK);
    assert_slice(t, "<telUri>tel:+49301</telUri>");
    assert_slice(p.sdp, "v=0\r\n");
    assert_memory_equal(p.attrs, attrs.data, attrs.len);   /* unknown kept as received */
    size_t pos = 0, count = 0;
    x2x3_attr a;
    while (x2x3_pdu_attr_next(&p, &pos, &a) == LI_OK)
        count++;
    assert_int_equal(count, 12);
    assert_memory_equal(p.payload, "MSRP a SEND\r\n", 13);
    li_buf_free(&attrs);
    li_buf_free(&out);
}

static void test_keepalive_and_ack(void **state)
{
    (void)state;
    li_buf b;
    li_buf_init(&b, 0);
    assert_int_equal(x2x3_keepalive_encode(&b, 77), LI_OK);
    x2x3_pdu ka;
    decode_ok(guarded(b.data, b.len), b.len, &ka);
    assert_int_equal(ka.pdu_type, X2X3_PDU_KEEPALIVE);
    assert_int_equal(ka.header_length, 48);
    assert_int_equal(ka.seq, 77);
    li_buf ack;
    li_buf_init(&ack, 0);
    assert_int_equal(x2x3_keepalive_ack_encode(&ack, &ka), LI_OK);
    uint8_t want[48];
    size_t n = unhex("0005 0004 00000030 00000000 0000 0000"
                     "00000000000000000000000000000000 0000000000000000 0008 0004 0000004d",
                     want, sizeof want);
    assert_int_equal(ack.len, n);
    assert_memory_equal(ack.data, want, n);
    li_buf_free(&b);
    li_buf_free(&ack);
}

static void test_duplicate_attribute_first_wins(void **state)
{
    (void)state;
    uint8_t raw[128];
    size_t n = unhex("0005 0001 00000038 00000000 0009 0002" XID CORR
                     "0008000400000001 0008000400000002", raw, sizeof raw);
    x2x3_pdu p;
    decode_ok(guarded(raw, n), n, &p);
    assert_int_equal(p.seq, 1);
    assert_true(p.flags & X2X3_FLAG_DUPLICATE_ATTR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_vectors),
        cmocka_unit_test(test_unknown_values),
        cmocka_unit_test(test_target_forms),
        cmocka_unit_test(test_seq_streams),
        cmocka_unit_test(test_max_pdu_from_header),
        cmocka_unit_test(test_lippycat_sip_invite),
        cmocka_unit_test(test_lippycat_rtp_and_keepalive),
        cmocka_unit_test(test_sipgate_register),
        cmocka_unit_test(test_every_prefix_is_again),
        cmocka_unit_test(test_encode_decode_round_trip),
        cmocka_unit_test(test_keepalive_and_ack),
        cmocka_unit_test(test_duplicate_attribute_first_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
