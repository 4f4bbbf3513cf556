/* siptap_tcpreasm: in-order, out-of-order, retransmitted, overlapping and lost segments,
 * sequence wrap, both directions, and every bound (flows, bytes, idle and hole timeouts).
 * The consumer takes whole lines, as the SIP framer takes whole messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "siptap_pkt.h"
#include "siptap_tcpreasm.h"

#define SEC 1000000000ull

typedef struct sink {
    char out[2][1 << 16];   /* consumed bytes per direction (sport 1 and 2) */
    size_t n[2];
    size_t calls;
    int take_nothing;
} sink;

static size_t take_lines(void *ctx, const x2x3_flow_key *key, const uint8_t *data,
                         size_t len, uint64_t ts_ns)
{
    (void)ts_ns;
    sink *s = ctx;
    s->calls++;
    if (s->take_nothing)
        return 0;
    size_t used = 0;
    for (size_t i = 0; i < len; i++)
        if (data[i] == '\n')
            used = i + 1;
    int d = key->sport == 2;
    assert_true(s->n[d] + used <= sizeof s->out[d]);
    memcpy(s->out[d] + s->n[d], data, used);
    s->n[d] += used;
    return used;
}

static x2x3_flow_key key_of(uint16_t sport)
{
    static const uint8_t a[16] = { 127, 0, 0, 1 };
    static const uint8_t b[16] = { 127, 0, 0, 2 };
    x2x3_flow_key k;
    x2x3_flow_key_set(&k, AF_INET, sport == 1 ? a : b, sport == 1 ? b : a, sport,
                      sport == 1 ? 2 : 1);
    return k;
}

static void seg(siptap_tcpreasm *r, uint16_t sport, uint32_t seq, uint8_t flags,
                const char *text, uint64_t ts)
{
    x2x3_flow_key k = key_of(sport);
    assert_int_equal(siptap_tcpreasm_segment(r, &k, seq, flags, (const uint8_t *)text,
                                           strlen(text), ts), LI_OK);
}

static void expect(const sink *s, int dir, const char *text)
{
    assert_int_equal(s->n[dir], strlen(text));
    assert_memory_equal(s->out[dir], text, strlen(text));
}

static void test_in_order_and_split(void **state)
{
    (void)state;
    sink s = { .n = { 0 } };
    siptap_tcpreasm *r = siptap_tcpreasm_new(NULL, take_lines, &s);
    seg(r, 1, 1000, X2X3_TCP_SYN, "", 1);
    seg(r, 1, 1001, 0, "INVITE a\r\nVia: x", 2);
    expect(&s, 0, "INVITE a\r\n");
    seg(r, 1, 1017, 0, "\r\n\r\nBYE b\r\n", 3);
    expect(&s, 0, "INVITE a\r\nVia: x\r\n\r\nBYE b\r\n");
    /* The other direction is its own stream, picked up without its SYN. */
    seg(r, 2, 5, 0, "SIP/2.0 200 OK\r\n", 4);
    expect(&s, 1, "SIP/2.0 200 OK\r\n");
    siptap_tcpreasm_stats st;
    siptap_tcpreasm_stats_get(r, &st);
    assert_int_equal(st.flows, 2);
    assert_int_equal(st.buffered_bytes, 0);
    assert_int_equal(st.gaps, 0);
    assert_int_equal(st.bytes_delivered, s.n[0] + s.n[1]);
    siptap_tcpreasm_free(r);
    siptap_tcpreasm_free(NULL);
}

static void test_out_of_order_and_retransmission(void **state)
{
    (void)state;
    sink s = { .n = { 0 } };
    siptap_tcpreasm *r = siptap_tcpreasm_new(NULL, take_lines, &s);
    seg(r, 1, 99, X2X3_TCP_SYN, "", 1);
    seg(r, 1, 110, 0, "cccc\n", 2);       /* third */
    seg(r, 1, 105, 0, "bbbbb", 2);        /* second */
    assert_int_equal(s.n[0], 0);
    seg(r, 1, 110, 0, "cccc\n", 2);       /* duplicate of a buffered segment */
    seg(r, 1, 100, 0, "aaaaa", 3);        /* first: everything flows */
    expect(&s, 0, "aaaaabbbbbcccc\n");
    seg(r, 1, 100, 0, "aaaaabbbbb", 3);   /* old retransmission */
    seg(r, 1, 112, 0, "cc\nddd\n", 3);    /* overlaps the end of what was received */
    expect(&s, 0, "aaaaabbbbbcccc\nddd\n");
    siptap_tcpreasm_stats st;
    siptap_tcpreasm_stats_get(r, &st);
    assert_int_equal(st.out_of_order, 2);
    assert_int_equal(st.retransmitted, 3);
    assert_int_equal(st.buffered_bytes, 0);
    siptap_tcpreasm_free(r);
}

static void test_sequence_wrap(void **state)
{
    (void)state;
    sink s = { .n = { 0 } };
    siptap_tcpreasm *r = siptap_tcpreasm_new(NULL, take_lines, &s);
    seg(r, 1, 0xfffffffau, X2X3_TCP_SYN, "", 1);
    seg(r, 1, 0x00000001u, 0, "world\n", 2);    /* after the wrap, early */
    seg(r, 1, 0xfffffffbu, 0, "hello ", 3);     /* 6 octets: ...fb to 00 */
    expect(&s, 0, "hello world\n");
    siptap_tcpreasm_free(r);
}

static void test_hole_timeout_skips_gap(void **state)
{
    (void)state;
    sink s = { .n = { 0 } };
    siptap_tcpreasm *r = siptap_tcpreasm_new(NULL, take_lines, &s);
    seg(r, 1, 0, X2X3_TCP_SYN, "", 0);
    seg(r, 1, 1, 0, "one\ntw", 1 * SEC);
    /* 3 octets ("o\nt") lost by the capture. */
    seg(r, 1, 10, 0, "hree\nfour\n", 1 * SEC);
    expect(&s, 0, "one\n");
    siptap_tcpreasm_expire(r, 2 * SEC);            /* not yet 2 s */
    expect(&s, 0, "one\n");
    siptap_tcpreasm_expire(r, 4 * SEC);
    /* The partial "tw" is discarded; the consumer resynchronises after the hole. */
    expect(&s, 0, "one\nhree\nfour\n");
    siptap_tcpreasm_stats st;
    siptap_tcpreasm_stats_get(r, &st);
    assert_int_equal(st.gaps, 1);
    assert_int_equal(st.buffered_bytes, 0);
    /* The same through a later segment of the flow rather than expire(). */
    seg(r, 1, 30, 0, "x\n", 5 * SEC);             /* hole at 20..29 */
    seg(r, 1, 32, 0, "y\n", 8 * SEC);
    expect(&s, 0, "one\nhree\nfour\nx\ny\n");
    siptap_tcpreasm_free(r);
}

static void test_flow_bytes_bound(void **state)
{
    (void)state;
    sink s = { .n = { 0 } };
    siptap_tcpreasm_limits lim = { .max_flow_bytes = 16 };
    siptap_tcpreasm *r = siptap_tcpreasm_new(&lim, take_lines, &s);
    seg(r, 1, 0, X2X3_TCP_SYN, "", 0);
    seg(r, 1, 1, 0, "a\n", 1);
    seg(r, 1, 10, 0, "01234\n", 1);              /* behind a hole at 3..9 */
    seg(r, 1, 16, 0, "abcdefghijk\n", 1);        /* would exceed 16: the hole is skipped */
    expect(&s, 0, "a\n01234\nabcdefghijk\n");
    siptap_tcpreasm_stats st;
    siptap_tcpreasm_stats_get(r, &st);
    assert_int_equal(st.gaps, 1);
    /* A line longer than the bound can never be consumed: it is dropped, not kept. */
    seg(r, 1, 28, 0, "0123456789012345678", 2);
    seg(r, 1, 47, 0, "z\n", 2);
    siptap_tcpreasm_stats_get(r, &st);
    assert_true(st.overflows >= 1);
    assert_true(st.buffered_bytes <= 16);
    siptap_tcpreasm_free(r);
}

static void test_total_bytes_bound(void **state)
{
    (void)state;
    sink s = { .take_nothing = 1 };
    siptap_tcpreasm_limits lim = { .max_total_bytes = 100 };
    siptap_tcpreasm *r = siptap_tcpreasm_new(&lim, take_lines, &s);
    char big[61];
    memset(big, 'q', 60);
    big[60] = 0;
    seg(r, 1, 1, 0, big, 1);
    seg(r, 2, 1, 0, big, 1);    /* does not fit: 120 > 100 */
    siptap_tcpreasm_stats st;
    siptap_tcpreasm_stats_get(r, &st);
    assert_int_equal(st.buffered_bytes, 60);
    assert_int_equal(st.overflows, 1);
    siptap_tcpreasm_free(r);
}

static void test_flow_eviction_and_expiry(void **state)
{
    (void)state;
    sink s = { .take_nothing = 1 };
    siptap_tcpreasm_limits lim = { .max_flows = 2, .idle_timeout_ns = 10 * SEC };
    siptap_tcpreasm *r = siptap_tcpreasm_new(&lim, take_lines, &s);
    static const uint8_t a[16] = { 10 }, b[16] = { 11 };
    for (uint16_t port = 1; port <= 3; port++) {
        x2x3_flow_key k;
        x2x3_flow_key_set(&k, AF_INET, a, b, port, 5060);
        assert_int_equal(siptap_tcpreasm_segment(r, &k, 1, 0, (const uint8_t *)"abc", 3,
                                               port * SEC), LI_OK);
    }
    siptap_tcpreasm_stats st;
    siptap_tcpreasm_stats_get(r, &st);
    assert_int_equal(st.flows, 2);
    assert_int_equal(st.evicted, 1);
    assert_int_equal(st.buffered_bytes, 6);
    siptap_tcpreasm_expire(r, 12 * SEC + 1);     /* port 2 idle for > 10 s, port 3 not */
    siptap_tcpreasm_stats_get(r, &st);
    assert_int_equal(st.flows, 1);
    assert_int_equal(st.expired, 1);
    siptap_tcpreasm_expire(r, 100 * SEC);
    siptap_tcpreasm_stats_get(r, &st);
    assert_int_equal(st.flows, 0);
    assert_int_equal(st.buffered_bytes, 0);
    siptap_tcpreasm_free(r);
}

static void test_fin_and_rst(void **state)
{
    (void)state;
    sink s = { .n = { 0 } };
    siptap_tcpreasm *r = siptap_tcpreasm_new(NULL, take_lines, &s);
    seg(r, 1, 0, X2X3_TCP_SYN, "", 1);
    seg(r, 1, 1, X2X3_TCP_FIN, "last\npartial", 2);
    expect(&s, 0, "last\n");
    siptap_tcpreasm_stats st;
    siptap_tcpreasm_stats_get(r, &st);
    assert_int_equal(st.buffered_bytes, 0);   /* the unfinished tail is gone */
    /* A retransmission after the FIN is not a new stream, nor is a late SYN. */
    seg(r, 1, 1, X2X3_TCP_FIN, "last\npartial", 3);
    seg(r, 1, 0, X2X3_TCP_SYN, "", 3);
    seg(r, 1, 1, 0, "last\n", 3);
    expect(&s, 0, "last\n");
    /* A new connection on the same ports (another ISN) is a new stream. */
    seg(r, 1, 900000, X2X3_TCP_SYN, "", 4);
    seg(r, 1, 900001, 0, "again\n", 4);
    expect(&s, 0, "last\nagain\n");
    /* RST forgets the flow. */
    seg(r, 2, 7, 0, "abc", 4);
    seg(r, 2, 10, X2X3_TCP_RST, "", 5);
    siptap_tcpreasm_stats_get(r, &st);
    assert_int_equal(st.flows, 1);
    assert_int_equal(st.buffered_bytes, 0);
    siptap_tcpreasm_free(r);
}

/* Property: any segmentation, shuffled within a window and with duplicates, yields the
 * stream exactly once and in order. */
static void test_shuffled_stream(void **state)
{
    (void)state;
    static char stream[20000];
    size_t len = 0;
    for (int i = 0; len + 40 < sizeof stream; i++)
        len += (size_t)snprintf(stream + len, sizeof stream - len, "line %d of the stream\n", i);
    srand(7);
    for (int round = 0; round < 20; round++) {
        static sink s;
        memset(&s, 0, sizeof s);
        siptap_tcpreasm *r = siptap_tcpreasm_new(NULL, take_lines, &s);
        uint32_t isn = (uint32_t)rand() * 2654435761u;
        x2x3_flow_key k = key_of(1);
        assert_int_equal(siptap_tcpreasm_segment(r, &k, isn, X2X3_TCP_SYN, NULL, 0, 1), LI_OK);
        typedef struct { size_t off, len; } piece;
        static piece pieces[4000];
        size_t np = 0;
        for (size_t off = 0; off < len;) {
            size_t n = 1 + (size_t)rand() % 700;
            if (n > len - off)
                n = len - off;
            pieces[np++] = (piece){ off, n };
            if (rand() % 5 == 0)
                pieces[np++] = (piece){ off, n };  /* duplicate */
            off += n;
        }
        /* Shuffle within windows of 8 pieces. */
        for (size_t i = 0; i < np; i++) {
            size_t j = i + (size_t)rand() % 8;
            if (j < np) {
                piece t = pieces[i];
                pieces[i] = pieces[j];
                pieces[j] = t;
            }
        }
        for (size_t i = 0; i < np; i++)
            assert_int_equal(siptap_tcpreasm_segment(r, &k, isn + 1 + (uint32_t)pieces[i].off, 0,
                                                   (const uint8_t *)stream + pieces[i].off,
                                                   pieces[i].len, 2), LI_OK);
        assert_int_equal(s.n[0], len);
        assert_memory_equal(s.out[0], stream, len);
        siptap_tcpreasm_stats st;
        siptap_tcpreasm_stats_get(r, &st);
        assert_int_equal(st.gaps, 0);
        assert_int_equal(st.buffered_bytes, 0);
        siptap_tcpreasm_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_and_split),
        cmocka_unit_test(test_out_of_order_and_retransmission),
        cmocka_unit_test(test_sequence_wrap),
        cmocka_unit_test(test_hole_timeout_skips_gap),
        cmocka_unit_test(test_flow_bytes_bound),
        cmocka_unit_test(test_total_bytes_bound),
        cmocka_unit_test(test_flow_eviction_and_expiry),
        cmocka_unit_test(test_fin_and_rst),
        cmocka_unit_test(test_shuffled_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
