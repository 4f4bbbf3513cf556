/* siptap_frag: IPv4 and IPv6 fragment reassembly, in any order, with identical
 * duplicates; inconsistent overlaps (RFC 5722), oversize datagrams, the memory bound and
 * the timeout drop the datagram. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>

#include "li_bytes.h"
#include "siptap_pkt.h"
#include "siptap_frag.h"

/* A UDP datagram of n payload octets: 8-octet UDP header then a pattern. */
static size_t udp_datagram(uint8_t *out, size_t n)
{
    li_put_be16(out, 5060);
    li_put_be16(out + 2, 5062);
    li_put_be16(out + 4, (uint16_t)(8 + n));
    li_put_be16(out + 6, 0);
    for (size_t i = 0; i < n; i++)
        out[8 + i] = (uint8_t)(i * 7 + 1);
    return 8 + n;
}

/* An IPv6 fragment carrying `bytes` (len octets) at offset off of its datagram. */
static size_t v6_fragment(uint8_t *f, const uint8_t *bytes, size_t off, size_t len, int more,
                          uint32_t id)
{
    memset(f, 0, 48);
    f[0] = 0x60;
    li_put_be16(f + 4, (uint16_t)(8 + len));
    f[6] = 44;
    f[7] = 64;
    f[8] = 0x20;
    f[39] = 1;
    f[40] = 17;
    li_put_be16(f + 42, (uint16_t)(off | (more ? 1 : 0)));
    li_put_be32(f + 44, id);
    memcpy(f + 48, bytes, len);
    return 48 + len;
}

/* An IPv4 fragment, same idea. */
static size_t v4_fragment(uint8_t *f, const uint8_t *bytes, size_t off, size_t len, int more,
                          uint16_t id)
{
    memset(f, 0, 20);
    f[0] = 0x45;
    li_put_be16(f + 2, (uint16_t)(20 + len));
    li_put_be16(f + 4, id);
    li_put_be16(f + 6, (uint16_t)((more ? 0x2000 : 0) | off / 8));
    f[8] = 64;
    f[9] = 17;
    f[12] = 10;
    f[15] = 1;
    f[16] = 10;
    f[19] = 2;
    memcpy(f + 20, bytes, len);
    return 20 + len;
}

typedef size_t (*frag_fn)(uint8_t *, const uint8_t *, size_t, size_t, int, uint32_t);

static size_t v4_adapter(uint8_t *f, const uint8_t *d, size_t off, size_t len, int more,
                         uint32_t id)
{
    return v4_fragment(f, d, off, len, more, (uint16_t)id);
}

static li_err add(x2x3_frag *fr, frag_fn make, const uint8_t *dgram, size_t off, size_t len,
                  int more, uint32_t id, uint64_t ts, siptap_pkt *out)
{
    uint8_t frame[2048];
    /* Offsets beyond the test's datagram (the oversize case) carry its first bytes. */
    size_t n = make(frame, off < 3000 ? dgram + off : dgram, off, len, more, id);
    siptap_pkt p;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_RAW, frame, n, &p), LI_OK);
    assert_int_equal(p.kind, SIPTAP_PKT_FRAGMENT);
    return x2x3_frag_add(fr, &p, ts, out);
}

static void reassemble_any_order(frag_fn make)
{
    uint8_t d[3000];
    size_t n = udp_datagram(d, 2992);
    assert_int_equal(n, 3000);
    x2x3_frag *fr = x2x3_frag_new(1 << 20, 1000);
    siptap_pkt out;
    /* Last first, a duplicate of the middle, then the first. */
    assert_int_equal(add(fr, make, d, 2000, 1000, 0, 9, 1, &out), LI_AGAIN);
    assert_int_equal(add(fr, make, d, 1000, 1000, 1, 9, 1, &out), LI_AGAIN);
    assert_int_equal(add(fr, make, d, 1000, 1000, 1, 9, 1, &out), LI_AGAIN);
    /* Another datagram interleaved. */
    assert_int_equal(add(fr, make, d, 0, 1000, 1, 10, 1, &out), LI_AGAIN);
    assert_int_equal(add(fr, make, d, 0, 1000, 1, 9, 2, &out), LI_OK);
    assert_int_equal(out.kind, SIPTAP_PKT_UDP);
    assert_int_equal(out.sport, 5060);
    assert_int_equal(out.dport, 5062);
    assert_int_equal(out.payload_len, 2992);
    assert_memory_equal(out.payload, d + 8, 2992);
    x2x3_frag_free(fr);
    x2x3_frag_free(NULL);
}

static void test_ipv4(void **state)
{
    (void)state;
    reassemble_any_order(v4_adapter);
}

static void test_ipv6(void **state)
{
    (void)state;
    reassemble_any_order(v6_fragment);
}

static void test_refused(void **state)
{
    (void)state;
    uint8_t d[3000];
    udp_datagram(d, 2992);
    uint8_t other[3000];
    memcpy(other, d, sizeof other);
    other[1500] ^= 0xff;
    siptap_pkt out;
    x2x3_frag *fr = x2x3_frag_new(4096, 1000);
    /* An overlap with different bytes drops the datagram (RFC 5722). */
    assert_int_equal(add(fr, v6_fragment, d, 0, 1600, 1, 1, 1, &out), LI_AGAIN);
    assert_int_equal(add(fr, v6_fragment, other, 1496, 1504, 0, 1, 1, &out), LI_ERR_PROTO);
    /* ...and the rest of it then never completes anything. */
    assert_int_equal(add(fr, v6_fragment, d, 1600, 1400, 0, 1, 1, &out), LI_AGAIN);
    /* A non-final fragment whose length is not a multiple of 8. */
    assert_int_equal(add(fr, v6_fragment, d, 0, 1001, 1, 2, 1, &out), LI_ERR_PROTO);
    x2x3_frag_free(fr);
    /* Beyond the memory bound (4096 held in all): 1480 + 2960 octets. */
    fr = x2x3_frag_new(4096, 1000);
    assert_int_equal(add(fr, v4_adapter, d, 0, 1480, 1, 3, 1, &out), LI_AGAIN);
    assert_int_equal(add(fr, v4_adapter, d, 1480, 1480, 1, 4, 1, &out), LI_ERR_PROTO);
    /* A datagram beyond 65535 octets. */
    assert_int_equal(add(fr, v4_adapter, d, 65528, 16, 0, 5, 1, &out), LI_ERR_PROTO);
    x2x3_frag_free(fr);
}

static void test_timeout(void **state)
{
    (void)state;
    uint8_t d[2000];
    udp_datagram(d, 1992);
    siptap_pkt out;
    x2x3_frag *fr = x2x3_frag_new(1 << 20, 1000);
    assert_int_equal(add(fr, v4_adapter, d, 0, 1000, 1, 7, 100, &out), LI_AGAIN);
    x2x3_frag_expire(fr, 1099);
    assert_int_equal(add(fr, v4_adapter, d, 1000, 1000, 0, 7, 1099, &out), LI_OK);
    assert_int_equal(add(fr, v4_adapter, d, 0, 1000, 1, 8, 2000, &out), LI_AGAIN);
    x2x3_frag_expire(fr, 3001);
    /* The first half was dropped: the second alone cannot complete. */
    assert_int_equal(add(fr, v4_adapter, d, 1000, 1000, 0, 8, 3001, &out), LI_AGAIN);
    x2x3_frag_free(fr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
