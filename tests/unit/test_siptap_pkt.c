/* siptap_pkt: a table of frames over every link layer, IPv4/IPv6 (with extension
 * headers), UDP/TCP, fragments, and hostile or truncated headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "guard.h"
#include "siptap_pkt_build.h"
#include "siptap_pkt.h"

static const char SIP[] = "OPTIONS sip:bob@example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n";

/* Decodes from a copy placed right before an unreadable page (guard.h). */
static li_err decode_guarded(int linktype, const uint8_t *frame, size_t len, siptap_pkt *out)
{
    guard g = guard_new(frame, len);
    li_err err = siptap_pkt_decode(linktype, g.data, len, out);
    if (err == LI_OK && out->payload_len) {
        /* Results point into the frame: copy the payload out before unmapping. */
        static uint8_t keep[4096];
        assert_true(out->payload_len <= sizeof keep);
        memcpy(keep, out->payload, out->payload_len);
        out->payload = keep;
    }
    guard_free(&g);
    return err;
}

typedef struct vec {
    const char *name;
    pb_spec spec;
} vec;

static void test_table(void **state)
{
    (void)state;
    const uint8_t *p = (const uint8_t *)SIP;
    size_t n = sizeof SIP - 1;
    const vec vecs[] = {
        { .name = "eth udp4",
          .spec = { .linktype = SIPTAP_DLT_EN10MB, .src = "10.0.0.1", .dst = "10.0.0.2",
                    .sport = 5060, .dport = 5062, .proto = 17, .payload = p, .len = n } },
        { .name = "eth vlan tcp4",
          .spec = { .linktype = SIPTAP_DLT_EN10MB, .src = "10.0.0.1", .dst = "10.0.0.2",
                    .sport = 40000, .dport = 5060, .proto = 6, .seq = 77, .payload = p, .len = n,
                    .vlan = 1 } },
        { .name = "eth udp6",
          .spec = { .linktype = SIPTAP_DLT_EN10MB, .src = "2001:db8::1", .dst = "2001:db8::2",
                    .sport = 5060, .dport = 5060, .proto = 17, .payload = p, .len = n } },
        { .name = "eth tcp6 ext",
          .spec = { .linktype = SIPTAP_DLT_EN10MB, .src = "2001:db8::1", .dst = "::1",
                    .sport = 5060, .dport = 1234, .proto = 6, .seq = 0xfffffff0u, .payload = p,
                    .len = n, .v6_ext = 1 } },
        { .name = "null udp4",
          .spec = { .linktype = SIPTAP_DLT_NULL, .src = "127.0.0.1", .dst = "127.0.0.1",
                    .sport = 5060, .dport = 5061, .proto = 17, .payload = p, .len = n } },
        { .name = "null tcp6",
          .spec = { .linktype = SIPTAP_DLT_NULL, .src = "::1", .dst = "::1", .sport = 5060,
                    .dport = 5061, .proto = 6, .seq = 1, .payload = p, .len = n } },
        { .name = "sll udp4",
          .spec = { .linktype = SIPTAP_DLT_LINUX_SLL, .src = "192.0.2.1", .dst = "192.0.2.2",
                    .sport = 1, .dport = 2, .proto = 17, .payload = p, .len = n } },
        { .name = "sll2 tcp4",
          .spec = { .linktype = SIPTAP_DLT_LINUX_SLL2, .src = "192.0.2.1", .dst = "192.0.2.2",
                    .sport = 1, .dport = 2, .proto = 6, .seq = 5, .payload = p, .len = n } },
        { .name = "sll2 udp6 ext",
          .spec = { .linktype = SIPTAP_DLT_LINUX_SLL2, .src = "fe80::1", .dst = "fe80::2",
                    .sport = 1, .dport = 2, .proto = 17, .payload = p, .len = n, .v6_ext = 1 } },
        { .name = "raw tcp4 empty",
          .spec = { .linktype = SIPTAP_DLT_RAW, .src = "192.0.2.1", .dst = "192.0.2.2", .sport = 1,
                    .dport = 2, .proto = 6, .seq = 9, .payload = p } },
        { .name = "raw udp6",
          .spec = { .linktype = SIPTAP_DLT_RAW, .src = "::1", .dst = "::2", .sport = 1, .dport = 2,
                    .proto = 17, .payload = p, .len = n } },
    };
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        const pb_spec *s = &vecs[i].spec;
        uint8_t frame[2048];
        size_t len = pb_frame(frame, sizeof frame, s);
        assert_true(len > 0);
        siptap_pkt pkt;
        li_err err = decode_guarded(s->linktype, frame, len, &pkt);
        if (err != LI_OK)
            fail_msg("%s: %d", vecs[i].name, err);
        int v6 = strchr(s->src, ':') != NULL;
        uint8_t a[16] = { 0 };
        assert_int_equal(pkt.family, v6 ? AF_INET6 : AF_INET);
        inet_pton(pkt.family, s->src, a);
        assert_memory_equal(pkt.src, a, v6 ? 16 : 4);
        inet_pton(pkt.family, s->dst, a);
        assert_memory_equal(pkt.dst, a, v6 ? 16 : 4);
        assert_int_equal(pkt.kind, s->proto == 17 ? SIPTAP_PKT_UDP : SIPTAP_PKT_TCP);
        assert_int_equal(pkt.ip_protocol, s->proto);
        assert_int_equal(pkt.sport, s->sport);
        assert_int_equal(pkt.dport, s->dport);
        if (s->proto == 6) {
            assert_int_equal(pkt.tcp_seq, s->seq);
            assert_int_equal(pkt.tcp_flags, X2X3_TCP_ACK | X2X3_TCP_PSH);
        }
        assert_int_equal(pkt.payload_len, s->len);
        assert_memory_equal(pkt.payload, s->payload, s->len);
        /* Every strict prefix that cuts into the headers or the payload is refused. */
        for (size_t cut = 0; cut < len; cut++) {
            siptap_pkt t;
            if (decode_guarded(s->linktype, frame, cut, &t) != LI_ERR_PROTO)
                fail_msg("%s: prefix of %zu octets accepted", vecs[i].name, cut);
        }
    }
}

static void test_ethernet_padding_ignored(void **state)
{
    (void)state;
    pb_spec s = { SIPTAP_DLT_EN10MB, "10.0.0.1", "10.0.0.2", 1, 2, 17, 0, 0,
                  (const uint8_t *)"x", 1, 0, 0 };
    uint8_t frame[256];
    size_t len = pb_frame(frame, sizeof frame, &s);
    memset(frame + len, 0xee, 60 - len);  /* padded to the Ethernet minimum */
    siptap_pkt pkt;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_EN10MB, frame, 60, &pkt), LI_OK);
    assert_int_equal(pkt.payload_len, 1);
    assert_int_equal(pkt.payload[0], 'x');
}

/* Frames that are not UDP/TCP over IP are skipped, not errors. */
static void test_other(void **state)
{
    (void)state;
    siptap_pkt pkt;
    uint8_t arp[42] = { 0 };
    arp[12] = 0x08;
    arp[13] = 0x06;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_EN10MB, arp, sizeof arp, &pkt), LI_OK);
    assert_int_equal(pkt.kind, SIPTAP_PKT_OTHER);
    uint8_t icmp[28] = { 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1 };
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_RAW, icmp, sizeof icmp, &pkt), LI_OK);
    assert_int_equal(pkt.kind, SIPTAP_PKT_OTHER);
    assert_int_equal(pkt.ip_protocol, 1);
    /* The outgoing copy of a loopback frame in a cooked capture of "any": skipped; the
     * incoming copy, and outgoing frames of other interfaces, are decoded. */
    pb_spec s = { SIPTAP_DLT_LINUX_SLL2, "127.0.0.1", "127.0.0.1", 1, 5060, 17, 0, 0,
                  (const uint8_t *)SIP, sizeof SIP - 1, 0, 0 };
    uint8_t f2[512];
    size_t n2 = pb_frame(f2, sizeof f2, &s);
    f2[8] = 772 >> 8;
    f2[9] = 772 & 0xff;
    f2[10] = 4;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_LINUX_SLL2, f2, n2, &pkt), LI_OK);
    assert_int_equal(pkt.kind, SIPTAP_PKT_OTHER);
    f2[10] = 0;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_LINUX_SLL2, f2, n2, &pkt), LI_OK);
    assert_int_equal(pkt.kind, SIPTAP_PKT_UDP);
    f2[8] = 0;
    f2[9] = 1;  /* ARPHRD_ETHER */
    f2[10] = 4;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_LINUX_SLL2, f2, n2, &pkt), LI_OK);
    assert_int_equal(pkt.kind, SIPTAP_PKT_UDP);
    s.linktype = SIPTAP_DLT_LINUX_SLL;
    n2 = pb_frame(f2, sizeof f2, &s);
    f2[1] = 4;
    f2[2] = 772 >> 8;
    f2[3] = 772 & 0xff;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_LINUX_SLL, f2, n2, &pkt), LI_OK);
    assert_int_equal(pkt.kind, SIPTAP_PKT_OTHER);
    uint8_t null_other[8] = { 17, 0, 0, 0 };  /* AF_DECnet-ish family */
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_NULL, null_other, sizeof null_other, &pkt), LI_OK);
    assert_int_equal(pkt.kind, SIPTAP_PKT_OTHER);
}

static void test_hostile(void **state)
{
    (void)state;
    siptap_pkt pkt;
    uint8_t frame[256];
    pb_spec s = { SIPTAP_DLT_RAW, "10.0.0.1", "10.0.0.2", 1, 2, 17, 0, 0,
                  (const uint8_t *)SIP, 10, 0, 0 };
    size_t len = pb_frame(frame, sizeof frame, &s);
    uint8_t bad[256];
    /* IHL below 5 words. */
    memcpy(bad, frame, len);
    bad[0] = 0x44;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_RAW, bad, len, &pkt), LI_ERR_PROTO);
    /* Total length beyond the capture. */
    memcpy(bad, frame, len);
    bad[3] += 1;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_RAW, bad, len, &pkt), LI_ERR_PROTO);
    /* UDP length beyond the IP payload, and below its own header. */
    memcpy(bad, frame, len);
    bad[25] += 1;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_RAW, bad, len, &pkt), LI_ERR_PROTO);
    memcpy(bad, frame, len);
    bad[24] = 0;
    bad[25] = 7;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_RAW, bad, len, &pkt), LI_ERR_PROTO);
    /* IP version 5, unknown link type. */
    memcpy(bad, frame, len);
    bad[0] = 0x55;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_RAW, bad, len, &pkt), LI_ERR_PROTO);
    assert_int_equal(siptap_pkt_decode(9999, frame, len, &pkt), LI_ERR_PROTO);
    /* TCP data offset below 5 words, and beyond the segment. */
    pb_spec t = s;
    t.proto = 6;
    len = pb_frame(frame, sizeof frame, &t);
    memcpy(bad, frame, len);
    bad[32] = 4 << 4;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_RAW, bad, len, &pkt), LI_ERR_PROTO);
    memcpy(bad, frame, len);
    bad[32] = 15 << 4;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_RAW, bad, 20 + 40, &pkt), LI_ERR_PROTO);
    /* VLAN tags nested without end. */
    uint8_t vl[64] = { 0 };
    for (size_t off = 12; off + 2 <= sizeof vl; off += 4) {
        vl[off] = 0x81;
        vl[off + 1] = 0x00;
    }
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_EN10MB, vl, sizeof vl, &pkt), LI_ERR_PROTO);
    /* An IPv6 chain of extension headers that never ends. */
    uint8_t v6[40 + 8 * 20] = { 0x60 };
    v6[4] = 0;
    v6[5] = 8 * 20;
    v6[6] = 60;
    for (int i = 0; i < 20; i++)
        v6[40 + 8 * i] = 60;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_RAW, v6, sizeof v6, &pkt), LI_ERR_PROTO);
    /* An extension header longer than the payload. */
    v6[5] = 8;
    v6[41] = 3;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_RAW, v6, 48, &pkt), LI_ERR_PROTO);
}

typedef struct frags {
    siptap_pkt pkt[8];
    uint8_t frame[8][2048];
    int n;
} frags;

static void keep_fragment(void *ctx, const uint8_t *frame, size_t len)
{
    frags *f = ctx;
    memcpy(f->frame[f->n], frame, len);
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_RAW, f->frame[f->n], len, &f->pkt[f->n]), LI_OK);
    f->n++;
}

static void test_ipv4_fragments(void **state)
{
    (void)state;
    uint8_t body[3000];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)('a' + i % 26);
    pb_spec s = { SIPTAP_DLT_RAW, "10.0.0.1", "10.0.0.2", 5060, 5060, 17, 0, 0, body,
                  sizeof body, 0, 0 };
    frags f = { .n = 0 };
    pb_ipv4_fragments(&s, 1480, 0x1234, keep_fragment, &f);
    assert_int_equal(f.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(f.pkt[i].kind, SIPTAP_PKT_FRAGMENT);
        assert_int_equal(f.pkt[i].frag_id, 0x1234);
        assert_int_equal(f.pkt[i].frag_offset, 1480u * (unsigned)i);
        assert_int_equal(f.pkt[i].frag_more, i < 2);
        assert_int_equal(f.pkt[i].ip_protocol, 17);
    }
    /* The first fragment holds the UDP header: decode_l4 over the reassembled payload. */
    uint8_t whole[4000];
    size_t n = 0;
    for (int i = 0; i < 3; i++) {
        memcpy(whole + n, f.pkt[i].payload, f.pkt[i].payload_len);
        n += f.pkt[i].payload_len;
    }
    siptap_pkt out = f.pkt[0];
    assert_int_equal(siptap_pkt_decode_l4(whole, n, &out), LI_OK);
    assert_int_equal(out.kind, SIPTAP_PKT_UDP);
    assert_int_equal(out.payload_len, sizeof body);
    assert_memory_equal(out.payload, body, sizeof body);
}

static void test_ipv6_fragment_header(void **state)
{
    (void)state;
    /* IPv6 + fragment header (offset 8, more) + 8 octets of data. */
    uint8_t v6[40 + 8 + 8] = { 0x60 };
    v6[5] = 16;
    v6[6] = 44;
    v6[40] = 17;
    v6[42] = 0;
    v6[43] = 8 | 1;
    v6[44] = 0xde;
    v6[45] = 0xad;
    v6[46] = 0xbe;
    v6[47] = 0xef;
    siptap_pkt pkt;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_RAW, v6, sizeof v6, &pkt), LI_OK);
    assert_int_equal(pkt.kind, SIPTAP_PKT_FRAGMENT);
    assert_int_equal(pkt.ip_protocol, 17);
    assert_int_equal(pkt.frag_offset, 8);
    assert_int_equal(pkt.frag_more, 1);
    assert_true(pkt.frag_id == 0xdeadbeefu);
    assert_int_equal(pkt.payload_len, 8);
    /* An atomic fragment (offset 0, no more; RFC 6946) is a whole datagram. */
    v6[43] = 0;
    uint8_t *udp = v6 + 48;
    udp[0] = 0;
    udp[1] = 1;
    udp[2] = 0;
    udp[3] = 2;
    udp[4] = 0;
    udp[5] = 8;
    assert_int_equal(siptap_pkt_decode(SIPTAP_DLT_RAW, v6, sizeof v6, &pkt), LI_OK);
    assert_int_equal(pkt.kind, SIPTAP_PKT_UDP);
    assert_int_equal(pkt.dport, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_ethernet_padding_ignored),
        cmocka_unit_test(test_other),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_ipv4_fragments),
        cmocka_unit_test(test_ipv6_fragment_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
