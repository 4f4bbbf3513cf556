/* siptap engine: SIP over UDP, TCP (split, coalesced, out of order, mid-stream) and
 * IPv6 and IPv4 fragments, matched against tasks by P-Asserted-Identity, From and To;
 * dialog inheritance, dialog end, task removal, untasked traffic, X3-only tasks. The
 * exported records are checked as the ingest would see them: XID, format 9, byte-exact
 * payload, addresses, ports, protocol, timestamp, matched target, correlation ID. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "li_ident.h"
#include "siptap_pkt_build.h"
#include "siptap_pkt.h"
#include "siptap.h"

#define SEC 1000000000ull

/* The tasks: a table of (canonical target, XID, delivery, DID), as the NE keeps them. */
typedef struct task {
    const char *type, *value;
    uint8_t xid;
    x1_delivery delivery;
    int active;
    uint8_t did;
} task;

static task tasks[] = {
    { .type = "sip-uri", .value = "sip:Alice@Example.com", .xid = 0xa1,
      .delivery = X1_DELIVERY_X2_AND_X3, .active = 1, .did = 0xd1 },
    { .type = "e164", .value = "+4930123456", .xid = 0xa1, .delivery = X1_DELIVERY_X2_AND_X3,
      .active = 1, .did = 0xd1 },   /* alice's number */
    { .type = "tel-uri", .value = "tel:+1-555-0100", .xid = 0xc3, .delivery = X1_DELIVERY_X2_ONLY,
      .active = 1, .did = 0xd3 },
    { .type = "sip-uri", .value = "sip:carol@example.com", .xid = 0xc4,
      .delivery = X1_DELIVERY_X3_ONLY, .active = 1, .did = 0xd4 },
};
static uint64_t generation = 1;

static size_t match(void *ctx, const char *canon, x1_ne_match *out, size_t max)
{
    (void)ctx;
    size_t n = 0;
    for (size_t i = 0; i < sizeof tasks / sizeof tasks[0]; i++) {
        char c[LI_IDENT_MAX];
        assert_int_equal(li_ident_canon_target(tasks[i].type, tasks[i].value, c, sizeof c),
                         LI_OK);
        if (!tasks[i].active || strcmp(c, canon) != 0)
            continue;
        if (n < max) {
            memset(&out[n], 0, sizeof out[n]);
            memset(out[n].xid, tasks[i].xid, 16);
            /* Two destinations per task: the second is the first's complement. */
            memset(out[n].dids[0], tasks[i].did, 16);
            memset(out[n].dids[1], tasks[i].did ^ 0xff, 16);
            out[n].n_dids = 2;
            out[n].delivery = tasks[i].delivery;
            snprintf(out[n].target, sizeof out[n].target, "%s:%s", tasks[i].type,
                     tasks[i].value);
        }
        n++;
    }
    return n;
}

static uint64_t get_generation(void *ctx)
{
    (void)ctx;
    return generation;
}

/* What the export callback received (deep copies). */
typedef struct rec {
    x2x3_record r;
    uint8_t dids[2][16];
    size_t n_dids;
    char target[300];
    char other[300];             /* attribute 18, "" when none */
    uint8_t payload[8192];
} rec;
static rec got[32];
static size_t n_got;

static void export_record(void *ctx, const uint8_t (*dids)[16], size_t n_dids,
                          const x2x3_record *r)
{
    (void)ctx;
    assert_true(n_got < 32);
    rec *g = &got[n_got++];
    g->r = *r;
    assert_int_equal(n_dids, 2);
    g->n_dids = n_dids;
    memcpy(g->dids, dids, sizeof g->dids);
    assert_int_equal(r->n_matched_targets, 1);
    snprintf(g->target, sizeof g->target, "%s", r->matched_targets[0]);
    assert_true(r->n_other_targets <= 1);
    snprintf(g->other, sizeof g->other, "%s", r->n_other_targets ? r->other_targets[0] : "");
    g->r.other_targets = NULL;
    assert_true(r->payload_len <= sizeof g->payload);
    memcpy(g->payload, r->payload, r->payload_len);
    g->r.payload = g->payload;
    g->r.matched_targets = NULL;
}

static siptap *new_tap(void)
{
    n_got = 0;
    generation = 1;
    for (size_t i = 0; i < sizeof tasks / sizeof tasks[0]; i++)
        tasks[i].active = 1;
    siptap_opts o = { .match = match, .generation = get_generation,
                           .export_record = export_record };
    siptap *t = siptap_new(&o);
    assert_non_null(t);
    return t;
}

static void feed(siptap *t, const pb_spec *s, uint64_t ts)
{
    uint8_t frame[8192];
    size_t n = pb_frame(frame, sizeof frame, s);
    assert_true(n > 0);
    assert_int_equal(siptap_frame(t, s->linktype, frame, n, ts), LI_OK);
}

static void udp(siptap *t, const char *src, const char *dst, const char *msg, uint64_t ts)
{
    pb_spec s = { SIPTAP_DLT_EN10MB, src, dst, 5060, 5062, 17, 0, 0, (const uint8_t *)msg,
                  strlen(msg), 0, 0 };
    feed(t, &s, ts);
}

static void expect_rec(size_t i, uint8_t xid, const char *payload, uint16_t dir,
                       const char *target)
{
    assert_true(i < n_got);
    const x2x3_record *r = &got[i].r;
    uint8_t x[16], d[16];
    memset(x, xid, 16);
    assert_memory_equal(r->xid, x, 16);
    /* Routed to the task's destination as it stands now. */
    for (size_t k = 0; k < sizeof tasks / sizeof tasks[0]; k++)
        if (tasks[k].xid == xid)
            memset(d, tasks[k].did, 16);
    assert_int_equal(got[i].n_dids, 2);
    assert_memory_equal(got[i].dids[0], d, 16);
    for (size_t k = 0; k < 16; k++)
        d[k] ^= 0xff;
    assert_memory_equal(got[i].dids[1], d, 16);
    assert_int_equal(r->pdu_type, X2X3_PDU_X2);
    assert_int_equal(r->payload_format, X2X3_FORMAT_SIP);
    assert_int_equal(r->payload_len, strlen(payload));
    assert_memory_equal(r->payload, payload, strlen(payload));
    assert_int_equal(r->payload_direction, dir);
    assert_string_equal(got[i].target, target);
}

#define INVITE_ALICE \
    "INVITE sip:bob@example.net SIP/2.0\r\n" \
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n" \
    "From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=a1\r\n" \
    "To: <sip:bob@example.net>\r\n" \
    "P-Asserted-Identity: <sip:alice@example.com>, <tel:+49-30-123456>\r\n" \
    "Call-ID: dlg-1@10.0.0.1\r\n" \
    "CSeq: 1 INVITE\r\n" \
    "Content-Type: application/sdp\r\n" \
    "Content-Length: 62\r\n\r\n" \
    "v=0\r\nm=message 7394 TCP/TLS/MSRP *\r\na=path:msrps://x/1;tcp\r\n\r\n"
#define OK_BOB \
    "SIP/2.0 200 OK\r\n" \
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n" \
    "From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=a1\r\n" \
    "To: <sip:bob@example.net>;tag=b1\r\n" \
    "Call-ID: dlg-1@10.0.0.1\r\n" \
    "CSeq: 1 INVITE\r\n" \
    "Content-Length: 0\r\n\r\n"
#define BYE_BOB \
    "BYE sip:alice@10.0.0.1 SIP/2.0\r\n" \
    "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK9\r\n" \
    "From: <sip:bob@example.net>;tag=b1\r\n" \
    "To: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=a1\r\n" \
    "Call-ID: dlg-1@10.0.0.1\r\n" \
    "CSeq: 1 BYE\r\n" \
    "Content-Length: 0\r\n\r\n"
#define OK_BYE \
    "SIP/2.0 200 OK\r\n" \
    "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK9\r\n" \
    "From: <sip:bob@example.net>;tag=b1\r\n" \
    "To: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=a1\r\n" \
    "Call-ID: dlg-1@10.0.0.1\r\n" \
    "CSeq: 1 BYE\r\n" \
    "Content-Length: 0\r\n\r\n"
#define MESSAGE_DAVE \
    "MESSAGE sip:erin@example.net SIP/2.0\r\n" \
    "From: <sip:dave@example.com>;tag=d\r\n" \
    "To: <sip:erin@example.net>\r\n" \
    "Call-ID: dave-1\r\n" \
    "CSeq: 1 MESSAGE\r\n" \
    "Content-Length: 2\r\n\r\nhi"

/* The target only in P-Asserted-Identity of the INVITE; the rest of the dialog follows
 * by its Call-ID. */
static void test_udp_dialog(void **state)
{
    (void)state;
    siptap *t = new_tap();
    udp(t, "10.0.0.1", "10.0.0.2", INVITE_ALICE, 100 * SEC + 5);
    udp(t, "10.0.0.3", "10.0.0.4", MESSAGE_DAVE, 100 * SEC + 6);  /* untasked */
    udp(t, "10.0.0.2", "10.0.0.1", OK_BOB, 101 * SEC);
    udp(t, "10.0.0.2", "10.0.0.1", BYE_BOB, 102 * SEC);
    udp(t, "10.0.0.1", "10.0.0.2", OK_BYE, 103 * SEC);
    udp(t, "10.0.0.1", "10.0.0.2", "\r\n\r\n", 103 * SEC);            /* keep-alive */
    assert_int_equal(n_got, 4);
    /* Both PAI elements match task a1: one record, the first target that matched. */
    expect_rec(0, 0xa1, INVITE_ALICE, X2X3_DIR_FROM_TARGET, "sip-uri:sip:Alice@Example.com");
    /* None of these names alice: her party in the dialog (the caller, tag a1) gives
     * the direction: bob's 200 and BYE go to her, her 200 to the BYE comes from her. */
    expect_rec(1, 0xa1, OK_BOB, X2X3_DIR_TO_TARGET, "sip-uri:sip:Alice@Example.com");
    expect_rec(2, 0xa1, BYE_BOB, X2X3_DIR_TO_TARGET, "sip-uri:sip:Alice@Example.com");
    expect_rec(3, 0xa1, OK_BYE, X2X3_DIR_FROM_TARGET, "sip-uri:sip:Alice@Example.com");
    const x2x3_record *r = &got[0].r;
    assert_true(r->timestamp_ns == 100 * SEC + 5);
    assert_int_equal(r->ip_protocol, 17);
    assert_int_equal(r->src.family, AF_INET);
    uint8_t a[4];
    inet_pton(AF_INET, "10.0.0.1", a);
    assert_memory_equal(r->src.addr, a, 4);
    inet_pton(AF_INET, "10.0.0.2", a);
    assert_memory_equal(r->dst.addr, a, 4);
    assert_int_equal(r->src.port, 5060);
    assert_int_equal(r->dst.port, 5062);
    uint64_t cid = siptap_correlation_id("dlg-1@10.0.0.1", 14);
    for (size_t i = 0; i < n_got; i++)
        assert_true(got[i].r.correlation_id == cid);
    /* The other party (attribute 18) is bob in every direction. */
    for (size_t i = 0; i < n_got; i++)
        assert_string_equal(got[i].other, "sip-uri:sip:bob@example.net");
    siptap_stats st;
    siptap_stats_get(t, &st);
    assert_int_equal(st.sip_messages, 5);
    assert_int_equal(st.matched, 4);
    assert_int_equal(st.exported, 4);
    assert_int_equal(st.dialogs, 1);
    /* After the BYE's linger the dialog is gone: a stray message is not exported. */
    siptap_tick(t, 103 * SEC + 33 * SEC);
    siptap_stats_get(t, &st);
    assert_int_equal(st.dialogs, 0);
    udp(t, "10.0.0.2", "10.0.0.1", OK_BYE, 140 * SEC);
    assert_int_equal(n_got, 4);
    siptap_free(t);
    siptap_free(NULL);
}

/* Direction comes from the side the target is on; an X3-only task gets no X2; a tel:
 * target matches a SIP URI with user=phone; two tasks on one message give two records. */
static void test_direction_and_delivery(void **state)
{
    (void)state;
    siptap *t = new_tap();
    const char *msg =
        "MESSAGE sip:carol@example.com SIP/2.0\r\n"
        "From: <sip:+15550100@ims.example;user=phone>;tag=1\r\n"
        "To: \"Alice\" <sips:ALICE@example.com>\r\n"
        "Call-ID: m-2\r\nCSeq: 7 MESSAGE\r\nContent-Length: 0\r\n\r\n";
    udp(t, "::1", "::2", msg, 5);
    assert_int_equal(n_got, 2);
    expect_rec(0, 0xc3, msg, X2X3_DIR_FROM_TARGET, "tel-uri:tel:+1-555-0100");
    expect_rec(1, 0xa1, msg, X2X3_DIR_TO_TARGET, "sip-uri:sip:Alice@Example.com");
    assert_int_equal(got[0].r.src.family, AF_INET6);
    /* carol (X3 only) in To of a response: nothing. */
    const char *resp =
        "SIP/2.0 200 OK\r\nFrom: <sip:dave@example.com>;tag=1\r\n"
        "To: <sip:carol@example.com>;tag=2\r\nCall-ID: m-3\r\nCSeq: 1 MESSAGE\r\n"
        "Content-Length: 0\r\n\r\n";
    udp(t, "::2", "::1", resp, 6);
    assert_int_equal(n_got, 2);
    /* The target called (To of the INVITE, party B); the call is answered under another
     * name (retargeted): the 200 names her nowhere, yet comes from her side. */
    const char *inv =
        "INVITE sip:x@example.com SIP/2.0\r\nFrom: <sip:dave@example.com>;tag=d1\r\n"
        "To: <tel:+15550100>\r\nCall-ID: m-4\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    const char *ok =
        "SIP/2.0 200 OK\r\nFrom: <sip:dave@example.com>;tag=d1\r\n"
        "To: <sip:voicemail@example.com>;tag=v9\r\nCall-ID: m-4\r\nCSeq: 1 INVITE\r\n"
        "Content-Length: 0\r\n\r\n";
    udp(t, "::3", "::4", inv, 7);
    udp(t, "::4", "::3", ok, 8);
    assert_int_equal(n_got, 4);
    expect_rec(2, 0xc3, inv, X2X3_DIR_TO_TARGET, "tel-uri:tel:+1-555-0100");
    expect_rec(3, 0xc3, ok, X2X3_DIR_FROM_TARGET, "tel-uri:tel:+1-555-0100");
    siptap_free(t);
}

/* A task modified or removed while its dialog is up: the rest of the dialog follows. */
static void test_task_removed(void **state)
{
    (void)state;
    siptap *t = new_tap();
    udp(t, "10.0.0.1", "10.0.0.2", INVITE_ALICE, 1);
    assert_int_equal(n_got, 1);
    /* Modified to X3 only: the dialog's next message gets no X2. */
    tasks[0].delivery = X1_DELIVERY_X3_ONLY;
    tasks[1].delivery = X1_DELIVERY_X3_ONLY;
    generation++;
    udp(t, "10.0.0.2", "10.0.0.1", OK_BOB, 2);
    assert_int_equal(n_got, 1);
    tasks[0].delivery = X1_DELIVERY_X2_AND_X3;
    tasks[1].delivery = X1_DELIVERY_X2_AND_X3;
    generation++;
    udp(t, "10.0.0.2", "10.0.0.1", OK_BOB, 3);
    assert_int_equal(n_got, 2);
    expect_rec(1, 0xa1, OK_BOB, X2X3_DIR_TO_TARGET, "sip-uri:sip:Alice@Example.com");
    /* Moved to another destination: the dialog's next message goes there. */
    tasks[0].did = tasks[1].did = 0xd9;
    generation++;
    udp(t, "10.0.0.2", "10.0.0.1", OK_BOB, 3);
    assert_int_equal(n_got, 3);
    expect_rec(2, 0xa1, OK_BOB, X2X3_DIR_TO_TARGET, "sip-uri:sip:Alice@Example.com");
    tasks[0].did = tasks[1].did = 0xd1;
    /* Deactivated. */
    tasks[0].active = 0;
    tasks[1].active = 0;
    generation++;
    udp(t, "10.0.0.2", "10.0.0.1", OK_BOB, 4);
    assert_int_equal(n_got, 3);
    siptap_free(t);
}

typedef struct tcp_seg {
    uint32_t off;
    size_t len;
} tcp_seg;

/* SIP over TCP: a message split over segments that arrive out of order, two messages in
 * one segment, a retransmission; and a stream picked up in the middle of a message. */
static void test_tcp_stream(void **state)
{
    (void)state;
    siptap *t = new_tap();
    static char stream[4096];
    const char *msgs[] = { INVITE_ALICE, OK_BOB, BYE_BOB };
    size_t n = 0;
    size_t starts[4];
    for (int i = 0; i < 3; i++) {
        starts[i] = n;
        n += (size_t)snprintf(stream + n, sizeof stream - n, "%s", msgs[i]);
    }
    starts[3] = n;
    /* All three messages flow one way here (a B2BUA's connection), for the framing. */
    const tcp_seg segs[] = {
        { .off = 0, .len = 100 },
        /* rest of INVITE + start of 200 */
        { .off = 200, .len = (uint32_t)starts[1] - 200 + 10 },
        { .off = 100, .len = 100 }, /* late: fills the hole */
        { .off = 100, .len = 100 }, /* retransmission */
        /* end of 200 and whole BYE */
        { .off = (uint32_t)starts[1] + 10, .len = n - starts[1] - 10 },
    };
    pb_spec s = { SIPTAP_DLT_LINUX_SLL2, "192.0.2.1", "192.0.2.2", 40000, 5060, 6, 1000,
                  X2X3_TCP_SYN, NULL, 0, 0, 0 };
    feed(t, &s, 1);
    s.flags = 0;
    for (size_t i = 0; i < sizeof segs / sizeof segs[0]; i++) {
        s.seq = 1001 + segs[i].off;
        s.payload = (const uint8_t *)stream + segs[i].off;
        s.len = segs[i].len;
        feed(t, &s, 10 + i);
    }
    assert_int_equal(n_got, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(got[i].r.payload_len, starts[i + 1] - starts[i]);
        assert_memory_equal(got[i].r.payload, stream + starts[i], starts[i + 1] - starts[i]);
        assert_int_equal(got[i].r.ip_protocol, 6);
        assert_int_equal(got[i].r.src.port, 40000);
        assert_int_equal(got[i].r.dst.port, 5060);
    }
    /* The segment that completed the INVITE (the late one, i = 2) gives its time. */
    assert_true(got[0].r.timestamp_ns == 12);

    /* Picked up mid-message on another connection: the tail of a message, then a whole
     * INVITE: the tail is skipped, the INVITE found. */
    char mid[4096];
    int m = snprintf(mid, sizeof mid, "%s%s", "ontent-Length: 0\r\n\r\n", INVITE_ALICE);
    pb_spec s2 = { SIPTAP_DLT_RAW, "::1", "::1", 5060, 5061, 6, 77, 0, (const uint8_t *)mid,
                   (size_t)m, 0, 1 };
    feed(t, &s2, 20);
    assert_int_equal(n_got, 4);
    expect_rec(3, 0xa1, INVITE_ALICE, X2X3_DIR_FROM_TARGET, "sip-uri:sip:Alice@Example.com");
    siptap_stats st;
    siptap_stats_get(t, &st);
    assert_true(st.parse_errors >= 1);
    siptap_free(t);
}

static siptap *frag_tap;

static void feed_fragment(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx;
    assert_int_equal(siptap_frame(frag_tap, SIPTAP_DLT_RAW, frame, len, 3), LI_OK);
}

/* A UDP INVITE larger than the MTU, in IPv4 fragments. */
static void test_udp_fragments(void **state)
{
    (void)state;
    frag_tap = new_tap();
    static char big[6000];
    int head = snprintf(big, sizeof big,
                        "INVITE sip:bob@example.net SIP/2.0\r\n"
                        "From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.net>\r\n"
                        "Call-ID: big\r\nCSeq: 1 INVITE\r\nContent-Type: text/plain\r\n"
                        "Content-Length: 4000\r\n\r\n");
    memset(big + head, 'z', 4000);
    size_t len = (size_t)head + 4000;
    pb_spec s = { SIPTAP_DLT_RAW, "10.0.0.1", "10.0.0.2", 5060, 5060, 17, 0, 0,
                  (const uint8_t *)big, len, 0, 0 };
    pb_ipv4_fragments(&s, 1480, 77, feed_fragment, NULL);
    assert_int_equal(n_got, 1);
    assert_int_equal(got[0].r.payload_len, len);
    assert_memory_equal(got[0].payload, big, len);
    siptap_stats st;
    siptap_stats_get(frag_tap, &st);
    assert_int_equal(st.fragments, (len + 8 + 1479) / 1480);
    assert_int_equal(st.reassembled, 1);
    siptap_free(frag_tap);
}

/* A message announcing a body that never comes (Content-Length of 1 GB) cannot hold the
 * stream hostage: the flow's bound drops it and the next message is found again. */
static void test_tcp_hostile_length(void **state)
{
    (void)state;
    n_got = 0;
    generation = 1;
    siptap_opts o = { .match = match, .generation = get_generation,
                           .export_record = export_record,
                           .tcp = { .max_flow_bytes = 8192 } };
    siptap *t = siptap_new(&o);
    assert_non_null(t);
    const char *liar = "MESSAGE sip:bob@example.net SIP/2.0\r\n"
                       "From: <sip:alice@example.com>;tag=9\r\nCall-ID: liar\r\n"
                       "CSeq: 1 MESSAGE\r\nContent-Length: 1000000000\r\n\r\n";
    pb_spec s = { SIPTAP_DLT_RAW, "10.9.0.1", "10.9.0.2", 40000, 5060, 6, 1, X2X3_TCP_SYN,
                  (const uint8_t *)"", 0, 0, 0 };
    feed(t, &s, 1);
    s.flags = 0;
    uint32_t seq = 2;
    s.payload = (const uint8_t *)liar;
    s.len = strlen(liar);
    s.seq = seq;
    feed(t, &s, 2);
    seq += (uint32_t)s.len;
    static char filler[1000];
    memset(filler, 'f', sizeof filler);
    for (int i = 0; i < 12; i++) {   /* 12 kB of "body": beyond the 8 kB bound */
        s.payload = (const uint8_t *)filler;
        s.len = sizeof filler;
        s.seq = seq;
        feed(t, &s, 3);
        seq += (uint32_t)s.len;
    }
    assert_int_equal(n_got, 0);
    s.payload = (const uint8_t *)"\r\n" INVITE_ALICE;
    s.len = strlen((const char *)s.payload);
    s.seq = seq;
    feed(t, &s, 4);
    assert_int_equal(n_got, 1);
    expect_rec(0, 0xa1, INVITE_ALICE, X2X3_DIR_FROM_TARGET, "sip-uri:sip:Alice@Example.com");
    siptap_stats st;
    siptap_stats_get(t, &st);
    assert_true(st.tcp.overflows >= 1);
    assert_true(st.tcp.buffered_bytes <= 8192);
    siptap_free(t);
}

/* Not SIP, not IP, truncated: counted, nothing exported, nothing crashes. */
static void test_noise(void **state)
{
    (void)state;
    siptap *t = new_tap();
    udp(t, "10.0.0.1", "10.0.0.2", "GET / HTTP/1.1\r\n\r\n", 1);
    udp(t, "10.0.0.1", "10.0.0.2", "INVITE sip:x\r\nFrom: <sip:alice@example.com>\r\n\r\n", 1);
    uint8_t junk[3] = { 1, 2, 3 };
    assert_int_equal(siptap_frame(t, SIPTAP_DLT_EN10MB, junk, 3, 1), LI_ERR_PROTO);
    assert_int_equal(n_got, 0);
    siptap_stats st;
    siptap_stats_get(t, &st);
    assert_int_equal(st.packets, 3);
    assert_int_equal(st.decode_errors, 1);
    assert_int_equal(st.parse_errors, 2);
    siptap_free(t);
}

int main(void)
{
    const struct CMUnitTest tests_[] = {
        cmocka_unit_test(test_udp_dialog),
        cmocka_unit_test(test_direction_and_delivery),
        cmocka_unit_test(test_task_removed),
        cmocka_unit_test(test_tcp_stream),
        cmocka_unit_test(test_udp_fragments),
        cmocka_unit_test(test_tcp_hostile_length),
        cmocka_unit_test(test_noise),
    };
    return cmocka_run_group_tests(tests_, NULL, NULL);
}
