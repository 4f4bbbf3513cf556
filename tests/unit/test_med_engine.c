/* Correlation scenarios, table-driven: a sequence of X2/X3 PDUs (and clock ticks) in,
 * the exact list of HI records out, one line per record and destination:
 *   "<destination> <liid> <cin>/<seq> <type> d<direction>[ <payload kind>][ <reason>]"
 * with type begin / continue / end / report (IRI, numbered on HI2), alarm (an HI1
 * alarms-indicator, numbered on HI2 with the IRI) or cc (numbered on HI3 alone). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "admin.pb-c.h"
#include "med_engine.h"
#include "med_map.h"

#define SEC 1000000000ULL
#define T0 (1700000000ULL * SEC)      /* event and processing times of the scenarios */

/* ---- SIP and MSRP texts ---- */

#define ALICE "<sip:alice@ims.example.net>"
#define BOB "<sip:bob@ims.example.net>"
#define SDP(sid)                                                                         \
    "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"             \
    "m=message 7394 TCP/MSRP *\r\na=accept-types:text/plain\r\n"                          \
    "a=path:msrp://10.0.0.1:7394/" sid ";tcp\r\n"
#define INVITE(cid, sid)                                                                 \
    "INVITE sip:bob@ims.example.net SIP/2.0\r\n"                                          \
    "Via: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK" cid "\r\n"                                \
    "f: Alice " ALICE ";tag=a" cid "\r\nt: " BOB "\r\ni: " cid "\r\n"                     \
    "CSeq: 1 INVITE\r\nc: application/sdp\r\n\r\n" SDP(sid)
#define RESP(code, cid, totag, cseq)                                                     \
    "SIP/2.0 " code "\r\nFrom: " ALICE ";tag=a" cid "\r\nTo: " BOB ";tag=" totag "\r\n"   \
    "Call-ID: " cid "\r\nCSeq: " cseq "\r\n\r\n"
#define RESP_SDP(code, cid, totag, sid)                                                  \
    "SIP/2.0 " code "\r\nFrom: " ALICE ";tag=a" cid "\r\nTo: " BOB ";tag=" totag "\r\n"   \
    "Call-ID: " cid "\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n\r\n" SDP(sid)
#define REQ(method, cseq, cid, totag)                                                    \
    method " sip:bob@10.0.0.2 SIP/2.0\r\nFrom: " ALICE ";tag=a" cid "\r\n"                \
    "To: " BOB ";tag=" totag "\r\nCall-ID: " cid "\r\nCSeq: " cseq " " method "\r\n\r\n"
#define BYE_FROM_BOB(cid, totag)                                                         \
    "BYE sip:alice@10.0.0.1 SIP/2.0\r\nFrom: " BOB ";tag=" totag "\r\n"                   \
    "To: " ALICE ";tag=a" cid "\r\nCall-ID: " cid "\r\nCSeq: 1 BYE\r\n\r\n"
#define RESP_TO_BOB(code, cid, totag, cseq)                                              \
    "SIP/2.0 " code "\r\nFrom: " BOB ";tag=" totag "\r\nTo: " ALICE ";tag=a" cid "\r\n"   \
    "Call-ID: " cid "\r\nCSeq: " cseq "\r\n\r\n"
#define INVITE_NO_SDP(cid)                                                               \
    "INVITE sip:bob@ims.example.net SIP/2.0\r\nf: " ALICE ";tag=a" cid "\r\nt: " BOB "\r\n"  \
    "i: " cid "\r\nCSeq: 1 INVITE\r\n\r\n"
#define MSRP_CHUNK(tid, to, from, range, body, flag)                                      \
    "MSRP " tid " SEND\r\nTo-Path: msrp://10.0.0.2:7394/" to ";tcp\r\n"                  \
    "From-Path: msrp://relay.example.net:2855/r1;tcp msrp://10.0.0.1:7394/" from ";tcp\r\n" \
    "Message-ID: big\r\nByte-Range: " range "\r\nContent-Type: text/plain\r\n\r\n" body    \
    "\r\n-------" tid flag "\r\n"
#define MSRP_200(tid, to, from)                                                           \
    "MSRP " tid " 200 OK\r\nTo-Path: msrp://10.0.0.1:7394/" to ";tcp\r\n"                \
    "From-Path: msrp://10.0.0.2:7394/" from ";tcp\r\n-------" tid "$\r\n"
#define MESSAGE(cid)                                                                     \
    "MESSAGE sip:bob@ims.example.net SIP/2.0\r\nFrom: " ALICE ";tag=m" cid "\r\n"         \
    "To: " BOB "\r\nCall-ID: " cid "\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\n"  \
    "\r\nhello pager"
#define REGISTER(cid)                                                                    \
    "REGISTER sip:ims.example.net SIP/2.0\r\nFrom: " ALICE ";tag=r" cid "\r\n"            \
    "To: " ALICE "\r\nCall-ID: " cid "\r\nCSeq: 1 REGISTER\r\n\r\n"
#define MSRP(tid, to, from, body)                                                        \
    "MSRP " tid " SEND\r\nTo-Path: msrp://10.0.0.2:7394/" to ";tcp\r\n"                  \
    "From-Path: msrp://10.0.0.1:7394/" from ";tcp\r\nMessage-ID: m" tid "\r\n"            \
    "Content-Type: text/plain\r\n\r\n" body "\r\n-------" tid "$\r\n"

/* ---- warrants ---- */

static const uint8_t XID_A[16] = { 0xa1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t XID_B[16] = { 0xb2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t XID_OLD[16] = { 0xc3, 1, 2, 3 };
static const uint8_t XID_NONE[16] = { 0xd4, 9 };

typedef struct warrant_def {
    const char *id, *liid, *delivery, *dest1, *dest2;
    const uint8_t *xid;
    const char *ttype, *tvalue;
    int64_t start_ms, end_ms;
    const char *poi;          /* the one POI that carries the task, or NULL: every POI */
} warrant_def;

static void put_warrant(med_tasks *t, const warrant_def *d)
{
    Limf__Warrant w = LIMF__WARRANT__INIT;
    Limf__Target tg = LIMF__TARGET__INIT, *tgp = &tg;
    char *dests[2] = { (char *)d->dest1, (char *)d->dest2 };
    w.id = (char *)d->id;
    w.liid = (char *)d->liid;
    w.auth_country = "DE";
    w.delivery = (char *)d->delivery;
    w.state = "active";
    tg.type = (char *)d->ttype;
    tg.value = (char *)d->tvalue;
    w.targets = &tgp;
    w.n_targets = 1;
    w.destination_ids = dests;
    w.n_destination_ids = d->dest2 ? 2 : 1;
    w.start_ms = d->start_ms;
    w.end_ms = d->end_ms;
    w.xid.data = (uint8_t *)d->xid;
    w.xid.len = 16;
    char *poi = (char *)d->poi;
    w.poi_ids = &poi;
    w.n_poi_ids = poi ? 1 : 0;
    uint8_t buf[1024];
    size_t n = limf__warrant__pack(&w, buf);
    char key[64];
    snprintf(key, sizeof key, "warrant/%s", d->id);
    assert_int_equal(med_tasks_apply(t, key, strlen(key), buf, n), LI_OK);
}

/* The certificate fingerprint the test POIs are registered with and send under. */
static uint8_t POI_FP[32] = { 0xf0, 0x0d };

/* Registers POI `id` (poi/<id> in limf.admin) with fingerprint fp. */
static void put_poi(med_tasks *t, const char *id, uint8_t *fp)
{
    Limf__InterceptPoint ip = LIMF__INTERCEPT_POINT__INIT;
    ip.id = (char *)id;
    ip.cert_sha256.data = fp;
    ip.cert_sha256.len = 32;
    uint8_t buf[256];
    size_t n = limf__intercept_point__pack(&ip, buf);
    char key[64];
    snprintf(key, sizeof key, "poi/%s", id);
    assert_int_equal(med_tasks_apply(t, key, strlen(key), buf, n), LI_OK);
}

static med_tasks *make_tasks(void)
{
    static const warrant_def defs[] = {
        /* Two LIIDs on one task: one with content, one IRI-only with two LEAs. */
        { .id = "w1", .liid = "LIID-A", .delivery = "iri+cc", .dest1 = "lea1", .xid = XID_A,
          .ttype = "sip-uri", .tvalue = "sip:Alice@IMS.example.net" },
        { .id = "w2", .liid = "LIID-B", .delivery = "iri", .dest1 = "lea2", .dest2 = "lea3",
          .xid = XID_A, .ttype = "impu", .tvalue = "sip:alice@ims.example.net" },
        /* A tel target matched through a SIP URI with user=phone. */
        { .id = "w3", .liid = "LIID-C", .delivery = "iri+cc", .dest1 = "lea1", .xid = XID_B,
          .ttype = "e164", .tvalue = "+49301234" },
        /* A warrant whose window ended before the scenarios' time. */
        { .id = "w4", .liid = "LIID-OLD", .delivery = "iri+cc", .dest1 = "lea1", .xid = XID_OLD,
          .ttype = "sip-uri", .tvalue = "sip:alice@ims.example.net", .start_ms = 1000,
          .end_ms = 2000 },
    };
    med_tasks *t = med_tasks_new();
    assert_non_null(t);
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        put_warrant(t, &defs[i]);
    static const char *const pois[] = { "poi-test", "relay-1", "relay-2", "vendor" };
    for (size_t i = 0; i < sizeof pois / sizeof pois[0]; i++)
        put_poi(t, pois[i], POI_FP);
    return t;
}

/* ---- scenario machinery ---- */

enum { X2_SIP = 1, X3_MSRP, X2_EVENT, TICK, X2_OTHER };

typedef struct step {
    int what;
    const uint8_t *xid;
    uint64_t at_s;            /* seconds after T0: event and processing time */
    const char *text;         /* payload */
    uint32_t pdu_dir;         /* TS 103 221-2 payload direction (0: absent) */
    uint64_t corr;            /* correlation ID */
    const char *sdp;          /* attribute 22 (X2), or NULL */
} step;

#define MAX_STEPS 16
#define MAX_LINES 48

typedef struct scenario {
    const char *name;
    step steps[MAX_STEPS];
    const char *want[MAX_LINES];
} scenario;

typedef struct out {
    char lines[256][160];
    size_t n;
} out;

static const char *type_name(const Limf__HiRecord *r)
{
    static const char *const iri[] = { "?", "begin", "end", "continue", "report" };
    static const char *const hi1[] = { "?", "activated", "deactivated", "modified", "alarm" };
    if (r->kind == LIMF__HI_RECORD__KIND__CC)
        return "cc";
    if (r->kind == LIMF__HI_RECORD__KIND__HI1)
        return r->hi1_operation <= 4 ? hi1[r->hi1_operation] : "?";
    return r->iri_type <= 4 ? iri[r->iri_type] : "?";
}

static void on_record(void *ctx, const char *dest, const Limf__HiRecord *r)
{
    out *o = ctx;
    assert_true(o->n < 256);
    assert_string_equal(dest, r->destination_id);
    snprintf(o->lines[o->n++], sizeof o->lines[0], "%s %s %llu/%llu %s d%u%s%s%s%s", dest,
             r->liid, (unsigned long long)r->cin, (unsigned long long)r->seq, type_name(r),
             r->direction, *r->payload_kind ? " " : "", r->payload_kind,
             *r->report_reason ? " " : "", r->report_reason);
}

static void run_step(med_engine *e, const step *s)
{
    uint64_t now = T0 + s->at_s * SEC;
    if (s->what == TICK) {
        assert_int_equal(med_engine_tick(e, now), LI_OK);
        return;
    }
    Limf__XPdu p = LIMF__XPDU__INIT;
    uint8_t corr[8];
    for (int i = 0; i < 8; i++)
        corr[i] = (uint8_t)(s->corr >> (56 - 8 * i));
    p.poi_id = "poi-test";
    p.poi_cert_sha256.data = POI_FP;
    p.poi_cert_sha256.len = 32;
    p.received_ns = now;
    p.timestamp_ns = now;
    p.pdu_type = s->what == X3_MSRP ? 2 : 1;
    p.payload_format = s->what == X2_SIP ? 9 : s->what == X3_MSRP ? 13
                     : s->what == X2_EVENT ? 4 : 15;
    p.payload_direction = s->pdu_dir;
    p.xid.data = (uint8_t *)s->xid;
    p.xid.len = 16;
    p.correlation_id.data = corr;
    p.correlation_id.len = 8;
    p.payload.data = (uint8_t *)s->text;
    p.payload.len = strlen(s->text);
    p.sdp = (char *)(s->sdp ? s->sdp : "");
    assert_int_equal(med_engine_process(e, &p, now), LI_OK);
}

static void check(const char *name, const out *o, const char *const *want)
{
    size_t nw = 0;
    while (nw < MAX_LINES && want[nw])
        nw++;
    for (size_t i = 0; i < o->n || i < nw; i++) {
        const char *got = i < o->n ? o->lines[i] : "(none)";
        const char *exp = i < nw ? want[i] : "(none)";
        if (strcmp(got, exp) != 0) {
            for (size_t k = 0; k < o->n; k++)
                print_message("  got[%zu] %s\n", k, o->lines[k]);
            fail_msg("%s: record %zu: got \"%s\" want \"%s\"", name, i, got, exp);
        }
    }
}

static med_config test_config(void)
{
    med_config c;
    med_config_defaults(&c);
    c.session_timeout_ns = 60 * SEC;
    c.linger_ns = 10 * SEC;
    c.x3_wait_ns = 5 * SEC;
    c.x3_wait_bytes = 4096;
    return c;
}

/* ---- the scenarios ---- */

static const scenario scenarios[] = {
    { .name = "BYE a CONTINUE, its 200 the END; IRI and CC numbered per interface",
      .steps = { { .what = X2_SIP, .xid = XID_A, .text = INVITE("c1", "sa"), .corr = 1 },
                 { .what = X2_SIP, .xid = XID_A, .at_s = 1, .text = RESP("180 Ringing", "c1", "b1", "1 INVITE"), .corr = 1 },
                 { .what = X2_SIP, .xid = XID_A, .at_s = 2, .text = RESP_SDP("200 OK", "c1", "b1", "sb"), .corr = 1 },
                 { .what = X2_SIP, .xid = XID_A, .at_s = 2, .text = REQ("ACK", "1", "c1", "b1"), .corr = 1 },
                 { .what = X3_MSRP, .xid = XID_A, .at_s = 3, .text = MSRP("tx001", "sb", "sa", "hi bob"), .corr = 9 },
                 { .what = X3_MSRP, .xid = XID_A, .at_s = 4, .text = MSRP("tx002", "sa", "sb", "hi alice -------tx002+ not the end"), .corr = 9 },
                 { .what = X2_SIP, .xid = XID_A, .at_s = 5, .text = BYE_FROM_BOB("c1", "b1"), .corr = 1 },
                 { .what = X2_SIP, .xid = XID_A, .at_s = 5, .text = RESP_TO_BOB("200 OK", "c1", "b1", "1 BYE"), .corr = 1 } },
      .want = { "lea1 LIID-A 1/0 begin d0 sip",
        "lea2 LIID-B 1/0 begin d0 sip",
        "lea3 LIID-B 1/0 begin d0 sip",
        "lea1 LIID-A 1/1 continue d1 sip",
        "lea2 LIID-B 1/1 continue d1 sip",
        "lea3 LIID-B 1/1 continue d1 sip",
        "lea1 LIID-A 1/2 continue d1 sip",
        "lea2 LIID-B 1/2 continue d1 sip",
        "lea3 LIID-B 1/2 continue d1 sip",
        "lea1 LIID-A 1/3 continue d0 sip",
        "lea2 LIID-B 1/3 continue d0 sip",
        "lea3 LIID-B 1/3 continue d0 sip",
        "lea1 LIID-A 1/0 cc d0 msrp",
        "lea1 LIID-A 1/1 cc d1 msrp",
        "lea1 LIID-A 1/4 continue d1 sip",
        "lea2 LIID-B 1/4 continue d1 sip",
        "lea3 LIID-B 1/4 continue d1 sip",
        "lea1 LIID-A 1/5 end d0 sip",
        "lea2 LIID-B 1/5 end d0 sip",
        "lea3 LIID-B 1/5 end d0 sip", NULL } },

    { .name = "retransmissions give one record each",
      .steps = { { .what = X2_SIP, .xid = XID_B, .text = INVITE("r1", "s1"), .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .text = INVITE("r1", "s1"), .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 1, .text = RESP_SDP("200 OK", "r1", "x", "s2"), .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 2, .text = RESP_SDP("200 OK", "r1", "x", "s2"), .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 2, .text = REQ("ACK", "1", "r1", "x"), .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 3, .text = INVITE("r1", "s1"), .corr = 1 } },
      .want = { "lea1 LIID-C 1/0 begin d2 sip",
        "lea1 LIID-C 1/1 continue d2 sip",
        "lea1 LIID-C 1/2 continue d2 sip", NULL } },

    { .name = "content before its signalling waits, then follows BEGIN",
      .steps = { { .what = X3_MSRP, .xid = XID_A, .text = MSRP("tx001", "sb", "sa", "early"), .corr = 7 },
                 { .what = X3_MSRP, .xid = XID_A, .at_s = 1, .text = MSRP("tx002", "sb", "sa", "early 2"), .corr = 7 },
                 { .what = X2_SIP, .xid = XID_A, .at_s = 2, .text = INVITE("c2", "sa"), .corr = 1 },
                 { .what = TICK, .at_s = 20 },
                 { .what = X3_MSRP, .xid = XID_A, .at_s = 21, .text = MSRP("tx003", "sb", "sa", "later"), .pdu_dir = 3, .corr = 7 } },
      .want = { "lea1 LIID-A 1/0 begin d0 sip",
        "lea2 LIID-B 1/0 begin d0 sip",
        "lea3 LIID-B 1/0 begin d0 sip",
        "lea1 LIID-A 1/0 cc d0 msrp",
        "lea1 LIID-A 1/1 cc d0 msrp",
        "lea1 LIID-A 1/2 cc d0 msrp", NULL } },

    { .name = "content without signalling goes under its own CIN after the wait",
      .steps = { { .what = X3_MSRP, .xid = XID_A, .text = MSRP("tx001", "zz", "yy", "orphan"), .pdu_dir = 2, .corr = 7 },
                 { .what = TICK, .at_s = 4 },
                 { .what = TICK, .at_s = 6 },
                 { .what = X3_MSRP, .xid = XID_A, .at_s = 7, .text = MSRP("tx002", "yy", "zz", "orphan 2"), .corr = 7 },
                 { .what = X2_SIP, .xid = XID_A, .at_s = 8, .text = INVITE("c3", "zz"), .corr = 1 } },
      .want = { "lea1 LIID-A 1/0 alarm d2 content-without-signalling",
        "lea2 LIID-B 1/0 alarm d2 content-without-signalling",
        "lea3 LIID-B 1/0 alarm d2 content-without-signalling",
        "lea1 LIID-A 1/0 cc d1 msrp",
        "lea1 LIID-A 1/1 cc d2 msrp",
        "lea1 LIID-A 2/0 begin d0 sip",
        "lea2 LIID-B 2/0 begin d0 sip",
        "lea3 LIID-B 2/0 begin d0 sip", NULL } },

    { .name = "pager MESSAGE and REGISTER are reports, retransmission once",
      .steps = { { .what = X2_SIP, .xid = XID_A, .text = MESSAGE("p1"), .corr = 1 },
                 { .what = X2_SIP, .xid = XID_A, .text = MESSAGE("p1"), .corr = 1 },
                 { .what = X2_SIP, .xid = XID_A, .at_s = 1, .text = RESP("200 OK", "p1", "q", "1 MESSAGE"), .corr = 1 },
                 { .what = X2_SIP, .xid = XID_A, .at_s = 2, .text = REGISTER("g1"), .corr = 1 } },
      .want = { "lea1 LIID-A 1/0 report d0 sip",
        "lea2 LIID-B 1/0 report d0 sip",
        "lea3 LIID-B 1/0 report d0 sip",
        "lea1 LIID-A 1/1 report d1 sip",
        "lea2 LIID-B 1/1 report d1 sip",
        "lea3 LIID-B 1/1 report d1 sip",
        "lea1 LIID-A 2/0 report d0 sip",
        "lea2 LIID-B 2/0 report d0 sip",
        "lea3 LIID-B 2/0 report d0 sip", NULL } },

    { .name = "final failure ends the attempt",
      .steps = { { .what = X2_SIP, .xid = XID_B, .text = INVITE("f1", "s1"), .pdu_dir = 3, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 1, .text = RESP("486 Busy Here", "f1", "x", "1 INVITE"), .pdu_dir = 2, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 1, .text = REQ("ACK", "1", "f1", "x"), .pdu_dir = 3, .corr = 1 } },
      .want = { "lea1 LIID-C 1/0 begin d0 sip",
        "lea1 LIID-C 1/1 end d1 sip",
        "lea1 LIID-C 1/2 report d0 sip", NULL } },

    { .name = "CANCEL: the 487 ends the attempt, the ACK after END is a report",
      .steps = { { .what = X2_SIP, .xid = XID_B, .text = INVITE("x1", "s1"), .pdu_dir = 3, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 1, .text = RESP("180 Ringing", "x1", "t1", "1 INVITE"), .pdu_dir = 2, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 2, .text = "CANCEL sip:bob@ims.example.net SIP/2.0\r\nf: " ALICE ";tag=ax1\r\n"
                            "t: " BOB "\r\ni: x1\r\nCSeq: 1 CANCEL\r\n\r\n", .pdu_dir = 3, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 2, .text = RESP("200 OK", "x1", "t1", "1 CANCEL"), .pdu_dir = 2, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 2, .text = RESP("487 Request Terminated", "x1", "t1", "1 INVITE"), .pdu_dir = 2, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 3, .text = REQ("ACK", "1", "x1", "t1"), .pdu_dir = 3, .corr = 1 } },
      .want = { "lea1 LIID-C 1/0 begin d0 sip",
        "lea1 LIID-C 1/1 continue d1 sip",
        "lea1 LIID-C 1/2 continue d0 sip",
        "lea1 LIID-C 1/3 continue d1 sip",
        "lea1 LIID-C 1/4 end d1 sip",
        "lea1 LIID-C 1/5 report d0 sip", NULL } },

    { .name = "a challenged BYE and a failed BYE do not end the dialog; the 2xx to the BYE does",
      .steps = { { .what = X2_SIP, .xid = XID_B, .text = INVITE("y1", "s1"), .pdu_dir = 3, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 1, .text = RESP("200 OK", "y1", "t1", "1 INVITE"), .pdu_dir = 2, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 2, .text = REQ("BYE", "2", "y1", "t1"), .pdu_dir = 3, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 2, .text = RESP("407 Proxy Authentication Required", "y1", "t1", "2 BYE"), .pdu_dir = 2, .corr = 1 },
                 { .what = X3_MSRP, .xid = XID_B, .at_s = 3, .text = MSRP("tx001", "x", "s1", "still up"), .corr = 3 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 4, .text = REQ("BYE", "3", "y1", "t1"), .pdu_dir = 3, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 4, .text = RESP("200 OK", "y1", "t1", "2 BYE"), .pdu_dir = 2, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 4, .text = RESP("500 Server Error", "y1", "t1", "3 BYE"), .pdu_dir = 2, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 5, .text = REQ("BYE", "4", "y1", "t1"), .pdu_dir = 3, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 5, .text = RESP("100 Trying", "y1", "t1", "4 BYE"), .pdu_dir = 2, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 6, .text = RESP("200 OK", "y1", "t1", "4 BYE"), .pdu_dir = 2, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 7, .text = RESP("200 OK", "y1", "t1", "4 BYE"), .pdu_dir = 2, .corr = 1 } },
      .want = { "lea1 LIID-C 1/0 begin d0 sip", "lea1 LIID-C 1/1 continue d1 sip",
        "lea1 LIID-C 1/2 continue d0 sip", "lea1 LIID-C 1/3 continue d1 sip",
        "lea1 LIID-C 1/0 cc d0 msrp",
        "lea1 LIID-C 1/4 continue d0 sip",
        /* a stray 200 with another CSeq than the BYE's ends nothing */
        "lea1 LIID-C 1/5 continue d1 sip", "lea1 LIID-C 1/6 continue d1 sip",
        "lea1 LIID-C 1/7 continue d0 sip", "lea1 LIID-C 1/8 continue d1 sip",
        "lea1 LIID-C 1/9 end d1 sip", NULL } },

    { .name = "no final response to the BYE: END by timeout alarm, a late 200 is a REPORT",
      .steps = { { .what = X2_SIP, .xid = XID_B, .text = INVITE("z1", "s1"), .pdu_dir = 3, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 1, .text = RESP("200 OK", "z1", "t1", "1 INVITE"), .pdu_dir = 2, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 2, .text = REQ("BYE", "2", "z1", "t1"), .pdu_dir = 3, .corr = 1 },
                 { .what = TICK, .at_s = 11 },
                 /* other traffic moves event time past the 10 s wait */
                 { .what = X2_SIP, .xid = XID_B, .at_s = 13, .text = MESSAGE("zz"), .pdu_dir = 3, .corr = 2 },
                 { .what = TICK, .at_s = 13 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 14, .text = RESP("200 OK", "z1", "t1", "2 BYE"), .pdu_dir = 2, .corr = 1 } },
      .want = { "lea1 LIID-C 1/0 begin d0 sip", "lea1 LIID-C 1/1 continue d1 sip",
        "lea1 LIID-C 1/2 continue d0 sip", "lea1 LIID-C 2/0 report d0 sip",
        "lea1 LIID-C 1/3 alarm d2 end-by-timeout: no final response to the BYE",
        "lea1 LIID-C 1/4 report d1 sip", NULL } },

    { .name = "forked early dialogs share the CIN; timeout ends it",
      .steps = { { .what = X2_SIP, .xid = XID_B, .text = INVITE("k1", "s1"), .pdu_dir = 3, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 1, .text = RESP("180 Ringing", "k1", "f1", "1 INVITE"), .pdu_dir = 2, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 1, .text = RESP("180 Ringing", "k1", "f2", "1 INVITE"), .pdu_dir = 2, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 2, .text = RESP("200 OK", "k1", "f2", "1 INVITE"), .pdu_dir = 2, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 2, .text = RESP("487 Request Terminated", "k1", "f1", "1 INVITE"), .pdu_dir = 2, .corr = 1 },
                 { .what = TICK, .at_s = 30 },
                 { .what = TICK, .at_s = 63 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 64, .text = REQ("ACK", "1", "k1", "f2"), .pdu_dir = 3, .corr = 1 } },
      .want = { "lea1 LIID-C 1/0 begin d0 sip",
        "lea1 LIID-C 1/1 continue d1 sip",
        "lea1 LIID-C 1/2 continue d1 sip",
        "lea1 LIID-C 1/3 continue d1 sip",
        "lea1 LIID-C 1/4 continue d1 sip",
        "lea1 LIID-C 1/5 alarm d2 end-by-timeout: no signalling within the session timeout",
        "lea1 LIID-C 2/0 begin d0 sip", NULL } },

    { .name = "interleaved communications get their own CINs",
      .steps = { { .what = X2_SIP, .xid = XID_B, .text = INVITE("i1", "s1"), .pdu_dir = 3, .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .text = INVITE("i2", "s2"), .pdu_dir = 3, .corr = 2 },
                 { .what = X3_MSRP, .xid = XID_B, .at_s = 1, .text = MSRP("tx001", "x", "s2", "two"), .corr = 3 },
                 { .what = X3_MSRP, .xid = XID_B, .at_s = 1, .text = MSRP("tx002", "x", "s1", "one"), .corr = 3 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 2, .text = REQ("BYE", "2", "i1", "b"), .pdu_dir = 3, .corr = 1 } },
      .want = { "lea1 LIID-C 1/0 begin d0 sip",
        "lea1 LIID-C 2/0 begin d0 sip",
        "lea1 LIID-C 2/0 cc d0 msrp",
        "lea1 LIID-C 1/0 cc d0 msrp",
        "lea1 LIID-C 1/1 continue d0 sip", NULL } },

    { .name = "outside the window and unknown tasks give nothing",
      .steps = { { .what = X2_SIP, .xid = XID_OLD, .text = INVITE("o1", "s1"), .corr = 1 },
                 { .what = X3_MSRP, .xid = XID_OLD, .text = MSRP("tx001", "x", "s1", "x"), .corr = 1 },
                 { .what = X2_SIP, .xid = XID_NONE, .text = INVITE("o2", "s1"), .corr = 1 },
                 { .what = X2_SIP, .xid = XID_B, .text = "this is not SIP", .corr = 1 } },
      .want = { "lea1 LIID-C 1/0 alarm d2 malformed-signalling", NULL } },

    { .name = "POI events: gap and passthrough reports, linked to the session",
      .steps = { { .what = X2_SIP, .xid = XID_B, .text = INVITE("e1", "s1"), .pdu_dir = 3, .corr = 1 },
                 { .what = X2_EVENT, .xid = XID_B, .at_s = 1, .text = "{\"limf_event\":\"session-reserved\",\"session\":\"s1\"}", .pdu_dir = 5, .corr = 42 },
                 { .what = X2_EVENT, .xid = XID_B, .at_s = 1, .text = "{\"limf_event\":\"tls-established\",\"leg\":\"ue\"}", .pdu_dir = 5, .corr = 42 },
                 { .what = X2_EVENT, .xid = XID_B, .at_s = 2, .text = "{\"limf_event\":\"passthrough\",\"exception_id\":\"x1\",\"fingerprint\":\"AB\","
          "\"peer\":\"conf.example\"}", .pdu_dir = 5, .corr = 42 },
                 { .what = X2_EVENT, .xid = XID_B, .at_s = 3, .text = "{\"limf_event\":\"gap\",\"dropped\":7}", .pdu_dir = 5 },
                 { .what = X2_EVENT, .xid = XID_B, .at_s = 4, .text = "{\"limf_event\":\"passthrough\",\"exception_id\":\"x2\"}", .pdu_dir = 5, .corr = 43 },
                 { .what = X2_EVENT, .xid = XID_B, .at_s = 4, .text = "{not json", .pdu_dir = 5, .corr = 43 } },
      .want = { "lea1 LIID-C 1/0 begin d0 sip",
        "lea1 LIID-C 1/1 alarm d2 poi-event content-not-available: cert-exception",
        "lea1 LIID-C 2/0 alarm d2 poi-event poi-gap",
        "lea1 LIID-C 3/0 alarm d2 poi-event content-not-available: cert-exception",
        "lea1 LIID-C 4/0 alarm d2 malformed-poi-event", NULL } },

    { .name = "SDP from attribute 22, chunked content through a relay, responses, two per PDU",
      .steps = { { .what = X2_SIP, .xid = XID_B, .text = INVITE_NO_SDP("a22"), .pdu_dir = 3, .corr = 1, .sdp = SDP("sx") },
                 { .what = X3_MSRP, .xid = XID_B, .at_s = 1, .text = MSRP_CHUNK("ch0001", "peer", "sx", "1-5/10", "hello", "+"), .corr = 4 },
                 { .what = X3_MSRP, .xid = XID_B, .at_s = 1, .text = MSRP_CHUNK("ch0002", "peer", "sx", "6-10/10", "world", "$")
                             MSRP_200("ch0001", "sx", "peer"), .corr = 4 },
                 { .what = X3_MSRP, .xid = XID_B, .at_s = 2, .text = MSRP_200("ch0002", "sx", "peer"), .corr = 4 } },
      .want = { "lea1 LIID-C 1/0 begin d0 sip",
        "lea1 LIID-C 1/0 cc d0 msrp",
        "lea1 LIID-C 1/1 cc d0 msrp",
        "lea1 LIID-C 1/2 cc d1 msrp",
        "lea1 LIID-C 1/3 cc d1 msrp", NULL } },

    { .name = "relay content linked through its session-reserved event",
      .steps = { { .what = X2_EVENT, .xid = XID_B, .text = "{\"limf_event\":\"session-reserved\",\"session\":\"rl1\"}", .pdu_dir = 5, .corr = 77 },
                 { .what = X3_MSRP, .xid = XID_B, .text = MSRP("tx001", "other1", "other2", "early via relay"), .pdu_dir = 3, .corr = 77 },
                 { .what = X2_SIP, .xid = XID_B, .at_s = 1, .text = INVITE("rl", "rl1"), .pdu_dir = 3, .corr = 1 },
                 { .what = X3_MSRP, .xid = XID_B, .at_s = 2, .text = MSRP("tx002", "other1", "other2", "later via relay"), .pdu_dir = 2, .corr = 77 },
                 { .what = X3_MSRP, .xid = XID_B, .at_s = 2, .text = MSRP("tx003", "zz1", "zz2", "other relay session"), .pdu_dir = 2, .corr = 78 },
                 { .what = TICK, .at_s = 10 } },
      .want = { "lea1 LIID-C 1/0 begin d0 sip",
        "lea1 LIID-C 1/0 cc d0 msrp",
        "lea1 LIID-C 1/1 cc d1 msrp",
        "lea1 LIID-C 2/0 alarm d2 content-without-signalling",
        "lea1 LIID-C 2/0 cc d1 msrp", NULL } },

    { .name = "unsupported payload format is reported, never dropped silently",
      .steps = { { .what = X2_OTHER, .xid = XID_B, .text = "MIME-Version: 1.0\r\n\r\n", .corr = 1 } },
      .want = { "lea1 LIID-C 1/0 alarm d2 unsupported-payload-format", NULL } },

};

static void test_scenarios(void **state)
{
    (void)state;
    med_tasks *tasks = make_tasks();
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        const scenario *sc = &scenarios[i];
        static out o;
        o.n = 0;
        med_config cfg = test_config();
        med_engine *e = med_engine_new(&cfg, tasks, on_record, &o);
        assert_non_null(e);
        for (size_t k = 0; k < MAX_STEPS && sc->steps[k].what; k++)
            run_step(e, &sc->steps[k]);
        check(sc->name, &o, sc->want);
        med_engine_free(e);
    }
    med_tasks_free(tasks);
}

/* ---- restore: the changelog rebuilds an engine that continues the numbering ---- */

typedef struct kv {
    med_map m;   /* key -> heap copy (len-prefixed) */
} kv;

typedef struct blob {
    size_t len;
    uint8_t data[];
} blob;

static void on_state(void *ctx, const char *key, const uint8_t *value, size_t len)
{
    kv *s = ctx;
    free(med_map_del(&s->m, key));
    if (!value)
        return;
    blob *b = malloc(sizeof *b + len);
    assert_non_null(b);
    b->len = len;
    memcpy(b->data, value, len);
    assert_int_equal(med_map_put(&s->m, key, b), LI_OK);
}

static void restore_into(med_engine *e, kv *s)
{
    size_t it = 0;
    const char *k;
    void *v;
    while (med_map_next(&s->m, &it, &k, &v)) {
        blob *b = v;
        assert_int_equal(med_engine_restore(e, k, b->data, b->len), LI_OK);
    }
}

static void test_restore(void **state)
{
    (void)state;
    med_tasks *tasks = make_tasks();
    med_config cfg = test_config();
    static out o;
    o.n = 0;
    kv st;
    med_map_init(&st.m);
    static const step first[] = {
        { .what = X2_SIP, .xid = XID_B, .text = INVITE("r1", "s1"), .pdu_dir = 3, .corr = 1 },
        { .what = X3_MSRP, .xid = XID_B, .at_s = 1,
          .text = MSRP("tx000", "nn", "mm", "orphan waits"), .pdu_dir = 2, .corr = 5 },
        { .what = X2_SIP, .xid = XID_B, .at_s = 1, .text = RESP_SDP("200 OK", "r1", "x", "s2"),
          .pdu_dir = 2, .corr = 1 },
        { .what = X3_MSRP, .xid = XID_B, .at_s = 2, .text = MSRP("tx001", "s2", "s1", "one"),
          .corr = 3 },
    };
    static const step second[] = {
        { .what = X2_SIP, .xid = XID_B, .at_s = 3, .text = RESP_SDP("200 OK", "r1", "x", "s2"),
          .pdu_dir = 2, .corr = 1 }, /* retransmission */
        { .what = X3_MSRP, .xid = XID_B, .at_s = 3, .text = MSRP("tx002", "s1", "s2", "two"),
          .corr = 3 },
        { .what = X2_SIP, .xid = XID_B, .at_s = 4, .text = INVITE("r2", "s9"), .pdu_dir = 3,
          .corr = 2 },
        { .what = TICK, .at_s = 7 },
        { .what = X2_SIP, .xid = XID_B, .at_s = 8, .text = REQ("BYE", "2", "r1", "x"), .pdu_dir = 3,
          .corr = 1 },
    };
    med_engine *e = med_engine_new(&cfg, tasks, on_record, &o);
    for (size_t i = 0; i < sizeof first / sizeof first[0]; i++)
        run_step(e, &first[i]);
    assert_int_equal(med_engine_state_flush(e, on_state, &st), LI_OK);
    med_stats before;
    med_engine_stats(e, &before);
    /* A crash after the commit: the new owner starts from the changelog alone. */
    med_engine_free(e);
    e = med_engine_new(&cfg, tasks, on_record, &o);
    restore_into(e, &st);
    med_stats after;
    med_engine_stats(e, &after);
    assert_int_equal(after.sessions, before.sessions);
    assert_int_equal(after.pending_bytes, before.pending_bytes);
    for (size_t i = 0; i < sizeof second / sizeof second[0]; i++)
        run_step(e, &second[i]);
    assert_int_equal(med_engine_state_flush(e, on_state, &st), LI_OK);
    med_engine_free(e);
    e = med_engine_new(&cfg, tasks, on_record, &o);
    restore_into(e, &st);
    run_step(e, &(step){ .what = X2_SIP, .xid = XID_B, .at_s = 9,
                         .text = RESP("200 OK", "r1", "x", "2 BYE"), .pdu_dir = 2, .corr = 1 });
    assert_int_equal(med_engine_state_flush(e, on_state, &st), LI_OK);
    static const char *const want[] = {
        "lea1 LIID-C 1/0 begin d0 sip", "lea1 LIID-C 1/1 continue d1 sip",
        "lea1 LIID-C 1/0 cc d0 msrp",
        /* after the restore: both counters continue */
        "lea1 LIID-C 1/1 cc d1 msrp", "lea1 LIID-C 2/0 begin d0 sip",
        "lea1 LIID-C 3/0 alarm d2 content-without-signalling",
        "lea1 LIID-C 3/0 cc d1 msrp", "lea1 LIID-C 1/2 continue d0 sip",
        /* the BYE's 200 after a second restore: the CSeq it waited for survived */
        "lea1 LIID-C 1/3 end d1 sip", NULL };
    check("restore", &o, want);
    med_engine_free(e);

    /* Restoring the final changelog again gives the same live state. */
    e = med_engine_new(&cfg, tasks, on_record, &o);
    restore_into(e, &st);
    med_stats again;
    med_engine_stats(e, &again);
    assert_int_equal(again.sessions, 3);   /* r1 lingering, r2, the released orphan */
    med_engine_free(e);

    med_map_free_values(&st.m, free);
    med_tasks_free(tasks);
}

/* ---- a POI's resends after a lost ingest connection are processed once ---- */

/* An X2 SIP (x3: X3 MSRP) PDU of task xid with correlation ID cid (written to corr) from
 * POI poi under the certificate with fingerprint fp, stamped ts by the POI and received
 * by the ingest at received. */
static void pdu_init(Limf__XPdu *p, uint8_t corr[8], uint8_t cid, const char *poi,
                     uint8_t *fp, const uint8_t *xid, uint64_t ts, uint64_t received, int x3,
                     const char *text)
{
    limf__xpdu__init(p);
    memset(corr, 0, 8);
    corr[7] = cid;
    p->poi_id = (char *)poi;
    p->poi_cert_sha256.data = fp;
    p->poi_cert_sha256.len = 32;
    p->timestamp_ns = ts;
    p->received_ns = received;
    p->pdu_type = x3 ? 2 : 1;
    p->payload_format = x3 ? 13 : 9;
    p->xid.data = (uint8_t *)xid;
    p->xid.len = 16;
    p->correlation_id.data = corr;
    p->correlation_id.len = 8;
    p->payload.data = (uint8_t *)text;
    p->payload.len = strlen(text);
    p->sdp = "";
}

/* One X2/X3 PDU as the POI numbered it: sequence number and timestamp (attribute 8, 9). */
static void process_in(med_engine *e, const char *poi, uint8_t cid, uint32_t seq, uint64_t ts,
                       int x3, const char *text)
{
    Limf__XPdu p;
    uint8_t corr[8];
    pdu_init(&p, corr, cid, poi, POI_FP, XID_A, ts, ts, x3, text);
    p.has_seq = 1;
    p.seq = seq;
    p.payload_direction = x3 ? 3 : 0;
    assert_int_equal(med_engine_process(e, &p, ts), LI_OK);
}

static void process_numbered(med_engine *e, const char *poi, uint32_t seq, uint64_t ts,
                             int x3, const char *text)
{
    process_in(e, poi, 7, seq, ts, x3, text);
}

/* Numbering per (XID, correlation ID) as TS 103 221-2 has it, two processes behind one
 * certificate, timestamps that do not grow: nothing that is not a byte-identical copy
 * of a recent PDU is dropped (issue 17: the old marks lost all of these). */
static void test_third_party_numbering(void **state)
{
    (void)state;
    med_tasks *tasks = make_tasks();
    med_config cfg = test_config();
    static out o;
    o.n = 0;
    med_engine *e = med_engine_new(&cfg, tasks, on_record, &o);
    process_in(e, "vendor", 7, 0, T0 + 10, 0, INVITE("d1", "s1"));
    process_in(e, "vendor", 7, 1, T0 + 11, 0, RESP_SDP("200 OK", "d1", "x", "s2"));
    size_t n = o.n;
    /* CID 9 numbers from 0 again, with earlier timestamps (its capture time). */
    process_in(e, "vendor", 9, 0, T0 + 5, 1, MSRP("tx001", "s2", "s1", "one"));
    process_in(e, "vendor", 9, 1, T0 + 6, 1, MSRP("tx002", "s2", "s1", "two"));
    assert_int_equal(o.n, n + 2);
    /* A second process behind the same certificate, same CID, same numbers. */
    process_in(e, "vendor", 7, 0, T0 + 3, 1, MSRP("tx003", "s2", "s1", "three"));
    process_in(e, "vendor", 7, 1, T0 + 11, 1, MSRP("tx004", "s2", "s1", "four"));
    assert_int_equal(o.n, n + 4);
    /* Only the exact copies go. */
    process_in(e, "vendor", 9, 1, T0 + 6, 1, MSRP("tx002", "s2", "s1", "two"));
    process_in(e, "vendor", 7, 1, T0 + 11, 1, MSRP("tx004", "s2", "s1", "four"));
    assert_int_equal(o.n, n + 4);
    med_stats stats;
    med_engine_stats(e, &stats);
    assert_int_equal(stats.resent_copies, 2);
    med_engine_free(e);
    med_tasks_free(tasks);
}

/* The window holds the last 1,024 PDUs of a POI's task, also through the changelog: a
 * copy of a recent one is dropped, a copy of an older one delivered again (a duplicate,
 * never a loss). */
static void test_resend_window(void **state)
{
    (void)state;
    med_tasks *tasks = make_tasks();
    med_config cfg = test_config();
    static out o;
    kv st;
    med_map_init(&st.m);
    med_engine *e = med_engine_new(&cfg, tasks, on_record, &o);
    for (uint32_t i = 0; i < 1100; i++) {
        o.n = 0;   /* only the records after the restore are looked at */
        process_in(e, "vendor", 3, i, T0 + i, 1, MSRP("tx1", "s2", "s1", "same text"));
    }
    assert_int_equal(med_engine_state_flush(e, on_state, &st), LI_OK);
    med_engine_free(e);
    e = med_engine_new(&cfg, tasks, on_record, &o);
    restore_into(e, &st);
    o.n = 0;
    /* The PDUs differ only in sequence number and timestamp. */
    process_in(e, "vendor", 3, 1099, T0 + 1099, 1, MSRP("tx1", "s2", "s1", "same text"));
    process_in(e, "vendor", 3, 76, T0 + 76, 1, MSRP("tx1", "s2", "s1", "same text"));
    assert_int_equal(o.n, 0);            /* both among the last 1,024: copies */
    process_in(e, "vendor", 3, 75, T0 + 75, 1, MSRP("tx1", "s2", "s1", "same text"));
    assert_true(o.n > 0);                /* beyond the window: delivered again */
    med_stats stats;
    med_engine_stats(e, &stats);
    assert_int_equal(stats.resent_copies, 2);
    med_engine_free(e);
    med_map_free_values(&st.m, free);
    med_tasks_free(tasks);
}

static void test_resent_copies(void **state)
{
    (void)state;
    static const char *const msgs[] = {
        INVITE("d1", "s1"), RESP_SDP("200 OK", "d1", "x", "s2"),
        MSRP("tx001", "s2", "s1", "one"), MSRP("tx002", "s2", "s1", "two"),
        MSRP("tx003", "s2", "s1", "three"),
    };
    med_tasks *tasks = make_tasks();
    med_config cfg = test_config();
    static out o;
    o.n = 0;
    kv st;
    med_map_init(&st.m);
    med_engine *e = med_engine_new(&cfg, tasks, on_record, &o);
    for (uint32_t i = 0; i < 5; i++)
        process_numbered(e, "relay-1", 100 + i, T0 + i, i >= 2, msgs[i]);
    size_t first = o.n;
    assert_true(first > 0);
    /* The ingest died before acknowledging 102-104: the POI resends them identically. */
    for (uint32_t i = 2; i < 5; i++)
        process_numbered(e, "relay-1", 100 + i, T0 + i, 1, msgs[i]);
    assert_int_equal(o.n, first);
    /* Another POI's numbering is its own. */
    process_numbered(e, "relay-2", 1, T0 + 1, 1, MSRP("tx004", "s2", "s1", "four"));
    assert_true(o.n > first);
    size_t second = o.n;
    /* The marks survive a restart through the changelog. */
    assert_int_equal(med_engine_state_flush(e, on_state, &st), LI_OK);
    med_engine_free(e);
    e = med_engine_new(&cfg, tasks, on_record, &o);
    restore_into(e, &st);
    process_numbered(e, "relay-1", 104, T0 + 4, 1, msgs[4]);
    assert_int_equal(o.n, second);
    /* A restarted POI numbers from 0 again, with later timestamps: processed. */
    process_numbered(e, "relay-1", 0, T0 + 10, 1, MSRP("tx005", "s2", "s1", "five"));
    assert_int_equal(o.n, second + 1);
    med_stats stats;
    med_engine_stats(e, &stats);
    assert_int_equal(stats.resent_copies, 1);
    med_engine_free(e);
    med_map_free_values(&st.m, free);
    med_tasks_free(tasks);
}

/* Processes one X2 PDU carrying an INVITE (dialog d9) of task xid from POI poi (certificate
 * fingerprint fp), stamped ts by the POI and received at received. */
static void process_invite(med_engine *e, const char *poi, uint8_t *fp, const uint8_t *xid,
                           uint64_t ts, uint64_t received, uint64_t now)
{
    Limf__XPdu p;
    uint8_t corr[8];
    pdu_init(&p, corr, 9, poi, fp, xid, ts, received, 0, INVITE("d9", "s9"));
    assert_int_equal(med_engine_process(e, &p, now), LI_OK);
}

/* The POI is part of the task: PDUs of a warrant's XID from a POI that is not registered,
 * from a registered POI's name under another certificate, or from a POI the warrant does
 * not name are dropped and counted; nothing reaches the agency. */
static void test_untasked_poi(void **state)
{
    (void)state;
    med_tasks *tasks = make_tasks();
    /* w5 is carried by relay-1 alone. */
    static const uint8_t XID_P[16] = { 0xd5, 5 };
    static const warrant_def w5 = { .id = "w5", .liid = "LIID-P", .delivery = "iri+cc",
                                    .dest1 = "lea1", .xid = XID_P, .ttype = "sip-uri",
                                    .tvalue = "sip:alice@ims.example.net", .poi = "relay-1" };
    put_warrant(tasks, &w5);
    uint8_t forged[32] = { 0xba, 0xd0 };
    struct {
        const char *poi;
        uint8_t *fp;
        const uint8_t *xid;
        int delivered;
    } rows[] = {
        { .poi = "stranger", .fp = POI_FP, .xid = XID_A, .delivered = 0 },
        { .poi = "poi-test", .fp = forged, .xid = XID_A, .delivered = 0 },
        { .poi = "relay-2", .fp = POI_FP, .xid = XID_P, .delivered = 0 },
        { .poi = "relay-1", .fp = POI_FP, .xid = XID_P, .delivered = 1 },
        { .poi = "poi-test", .fp = POI_FP, .xid = XID_A, .delivered = 1 },
    };
    med_config cfg = test_config();
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        static out o;
        o.n = 0;
        med_engine *e = med_engine_new(&cfg, tasks, on_record, &o);
        process_invite(e, rows[i].poi, rows[i].fp, rows[i].xid, T0, T0, T0);
        med_stats st;
        med_engine_stats(e, &st);
        if (rows[i].delivered) {
            assert_true(o.n > 0);
            assert_int_equal(st.dropped_untasked_poi, 0);
        } else {
            assert_int_equal(o.n, 0);
            assert_int_equal(st.dropped_untasked_poi, 1);
        }
        med_engine_free(e);
    }
    med_tasks_free(tasks);
}

/* The window by both clocks: content the POI stamps inside a warrant's window is delivered
 * only when limf-ingest received it within the skew (60 s) of that window; a POI clock
 * that is wrong (or a POI that re-dates what it sends) moves nothing across an edge. */
static void test_clock_skew(void **state)
{
    (void)state;
    med_tasks *tasks = make_tasks();
    static const uint8_t XID_W[16] = { 0xe6, 6 };
    const int64_t start_ms = (int64_t)(T0 / 1000000), end_ms = start_ms + 3600 * 1000;
    const warrant_def w6 = { .id = "w6", .liid = "LIID-W", .delivery = "iri+cc", .dest1 = "lea1",
                             .xid = XID_W, .ttype = "sip-uri",
                             .tvalue = "sip:alice@ims.example.net", .start_ms = start_ms,
                             .end_ms = end_ms };
    put_warrant(tasks, &w6);
    const uint64_t in = T0 + 600 * SEC, end = (uint64_t)end_ms * 1000000;
    struct {
        uint64_t ts, received;
        int delivered, clock, window;
    } rows[] = {
        { in, in + SEC, 1, 0, 0 },                   /* both clocks inside */
        { end - SEC, end + 30 * SEC, 1, 0, 0 },      /* late, within the skew */
        { in, 0, 1, 0, 0 },                          /* no receive time: the POI's */
        { end - SEC, end + 7200 * SEC, 0, 1, 0 },    /* backdated by two hours */
        { in, T0 - 7200 * SEC, 0, 1, 0 },            /* received before the start */
        { end + SEC, end - 10 * SEC, 0, 0, 1 },      /* the POI's clock says after */
    };
    med_config cfg = test_config();
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        static out o;
        o.n = 0;
        med_engine *e = med_engine_new(&cfg, tasks, on_record, &o);
        process_invite(e, "poi-test", POI_FP, XID_W, rows[i].ts, rows[i].received,
                       rows[i].received ? rows[i].received : in);
        med_stats st;
        med_engine_stats(e, &st);
        if (rows[i].delivered != (o.n > 0) || st.dropped_clock != (uint64_t)rows[i].clock ||
            st.dropped_window != (uint64_t)rows[i].window)
            fail_msg("row %zu: %zu records, dropped_clock %llu, dropped_window %llu", i, o.n,
                     (unsigned long long)st.dropped_clock, (unsigned long long)st.dropped_window);
        med_engine_free(e);
    }
    /* The rule itself, at the edges. */
    const med_warrant *w = med_tasks_get(tasks, "w6");
    assert_true(med_warrant_covers(w, in, end + 59 * SEC, 60 * SEC));
    assert_false(med_warrant_covers(w, in, end + 60 * SEC, 60 * SEC));
    assert_true(med_warrant_covers(w, in, T0 - 60 * SEC, 60 * SEC));
    assert_false(med_warrant_covers(w, in, T0 - 61 * SEC, 60 * SEC));
    med_tasks_free(tasks);
}

/* Hostile SDP: a path of 40 URIs links only the first 32 session-ids. */
static void test_sid_cap(void **state)
{
    (void)state;
    med_tasks *tasks = make_tasks();
    med_config cfg = test_config();
    static out o;
    o.n = 0;
    med_engine *e = med_engine_new(&cfg, tasks, on_record, &o);
    static char invite[8192];
    size_t n = (size_t)snprintf(invite, sizeof invite, "%s", INVITE_NO_SDP("cap"));
    invite[n - 2] = 0;   /* reopen the header block for a body */
    n = strlen(invite);
    n += (size_t)snprintf(invite + n, sizeof invite - n,
                          "c: application/sdp\r\n\r\nv=0\r\nm=message 9 TCP/MSRP *\r\na=path:");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(invite + n, sizeof invite - n, "msrp://h:1/cap%d;tcp ", i);
    snprintf(invite + n, sizeof invite - n, "\r\n");
    const step steps[] = {
        { .what = X2_SIP, .xid = XID_B, .text = invite, .pdu_dir = 3, .corr = 1 },
        { .what = X3_MSRP, .xid = XID_B, .at_s = 1, .text = MSRP("tx001", "cap31", "zz", "linked"),
          .corr = 2 },
        { .what = X3_MSRP, .xid = XID_B, .at_s = 1,
          .text = MSRP("tx002", "cap39", "zz", "not linked"), .corr = 2 },
    };
    for (size_t i = 0; i < 3; i++)
        run_step(e, &steps[i]);
    static const char *const want[] = { "lea1 LIID-C 1/0 begin d0 sip",
                                        "lea1 LIID-C 1/0 cc d1 msrp", NULL };
    check("sid cap", &o, want);
    med_stats st;
    med_engine_stats(e, &st);
    assert_int_equal(st.sessions, 2);     /* the dialog and the waiting content */
    med_engine_free(e);
    med_tasks_free(tasks);
}

/* streamIdentifier is one per MSRP session: both directions carry the same. */
static void on_stream(void *ctx, const char *dest, const Limf__HiRecord *r)
{
    out *o = ctx;
    (void)dest;
    if (r->kind == LIMF__HI_RECORD__KIND__CC)
        snprintf(o->lines[o->n++], sizeof o->lines[0], "d%u %s", r->direction, r->stream_id);
}

static void test_stream_id(void **state)
{
    (void)state;
    med_tasks *tasks = make_tasks();
    med_config cfg = test_config();
    static out o;
    o.n = 0;
    med_engine *e = med_engine_new(&cfg, tasks, on_stream, &o);
    static const step steps[] = {
        { .what = X2_SIP, .xid = XID_B, .text = INVITE("st", "sa"), .pdu_dir = 3, .corr = 1 },
        { .what = X2_SIP, .xid = XID_B, .at_s = 1, .text = RESP_SDP("200 OK", "st", "b1", "sb"),
          .pdu_dir = 2, .corr = 1 },
        { .what = X3_MSRP, .xid = XID_B, .at_s = 2, .text = MSRP("tx001", "sb", "sa", "to bob"),
          .corr = 9 },
        { .what = X3_MSRP, .xid = XID_B, .at_s = 3, .text = MSRP("tx002", "sa", "sb", "to alice"),
          .corr = 9 },
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        run_step(e, &steps[i]);
    static const char *const want[] = { "d0 sa", "d1 sa", NULL };
    check("stream id", &o, want);
    med_engine_free(e);
    med_tasks_free(tasks);
}

/* Warrant updates and tombstones change what is delivered. */
static void test_tasks(void **state)
{
    (void)state;
    med_tasks *t = make_tasks();
    med_warrant *const *ws;
    assert_int_equal(med_tasks_count(t), 4);
    assert_int_equal(med_tasks_find(t, XID_A, &ws), 2);
    assert_string_equal(ws[0]->targets[0], "sip:alice@ims.example.net");
    assert_int_equal(med_tasks_apply(t, "warrant/w2", 10, NULL, 0), LI_OK);
    assert_int_equal(med_tasks_find(t, XID_A, &ws), 1);
    assert_string_equal(ws[0]->liid, "LIID-A");
    assert_int_equal(med_tasks_apply(t, "warrant/w9", 10, (const uint8_t *)"\xff\xff", 2),
                     LI_ERR_PROTO);
    assert_int_equal(med_tasks_apply(t, "other/d1", 8, (const uint8_t *)"x", 1), LI_OK);
    /* destination/<id>: the topic suffix the mediator writes under; a tombstone or a
     * re-creation replaces it, an undecodable record is refused. */
    assert_null(med_tasks_topic_suffix(t, "d1"));
    Limf__Destination d = LIMF__DESTINATION__INIT;
    d.id = "d1";
    d.topic_suffix = "0123456789abcdef0123456789abcdef";
    uint8_t buf[256];
    size_t n = limf__destination__pack(&d, buf);
    assert_int_equal(med_tasks_apply(t, "destination/d1", 14, buf, n), LI_OK);
    assert_string_equal(med_tasks_topic_suffix(t, "d1"), d.topic_suffix);
    assert_int_equal(med_tasks_apply(t, "destination/d1", 14, NULL, 0), LI_OK);
    assert_null(med_tasks_topic_suffix(t, "d1"));
    d.topic_suffix = "fedcba9876543210fedcba9876543210";
    n = limf__destination__pack(&d, buf);
    assert_int_equal(med_tasks_apply(t, "destination/d1", 14, buf, n), LI_OK);
    assert_string_equal(med_tasks_topic_suffix(t, "d1"), d.topic_suffix);
    assert_int_equal(med_tasks_apply(t, "destination/d2", 14, (const uint8_t *)"\xff\xff", 2),
                     LI_ERR_PROTO);
    assert_int_equal(med_tasks_find(t, XID_NONE, &ws), 0);
    assert_int_equal(med_tasks_find(t, XID_B, &ws), 1);
    assert_true(med_warrant_in_window(ws[0], T0));
    assert_int_equal(med_tasks_find(t, XID_OLD, &ws), 1);
    assert_false(med_warrant_in_window(ws[0], T0));
    assert_true(med_warrant_in_window(ws[0], 1500 * 1000000ULL));
    assert_false(med_warrant_in_window(ws[0], 2000 * 1000000ULL));
    med_tasks_free(t);
}

static void test_map(void **state)
{
    (void)state;
    med_map m;
    med_map_init(&m);
    char k[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(med_map_put(&m, k, (void *)(intptr_t)(i + 1)), LI_OK);
    }
    for (int i = 0; i < 5000; i += 2) {
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal((intptr_t)med_map_del(&m, k), i + 1);
    }
    assert_int_equal(m.len, 2500);
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "k%d", i);
        intptr_t v = (intptr_t)med_map_get(&m, k);
        assert_int_equal(v, i % 2 ? i + 1 : 0);
    }
    med_map_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenarios), cmocka_unit_test(test_restore),
        cmocka_unit_test(test_resent_copies), cmocka_unit_test(test_third_party_numbering),
        cmocka_unit_test(test_resend_window),
        cmocka_unit_test(test_untasked_poi), cmocka_unit_test(test_clock_skew),
        cmocka_unit_test(test_tasks), cmocka_unit_test(test_map),
        cmocka_unit_test(test_sid_cap), cmocka_unit_test(test_stream_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
