#include "bench_med_gen.h"

#include <stdio.h>
#include <string.h>

#include "admin.pb-c.h"
#include "xpdu.pb-c.h"

void med_gen_xid(int w, uint8_t xid[16])
{
    for (int i = 0; i < 16; i++)
        xid[i] = (uint8_t)(0x40 + w * 7 + i);
    xid[0] = (uint8_t)(w >> 8);
    xid[1] = (uint8_t)w;
}

int med_gen_cc(int w)
{
    return w % 2 == 0;
}

/* The generated POI's certificate fingerprint (any 32 octets: the mediator compares). */
static uint8_t gen_poi_fp[32] = { 0x5e, 0x11, 0xaa, 0x01 };

size_t med_gen_poi(uint8_t *buf, char *key)
{
    Limf__InterceptPoint ip = LIMF__INTERCEPT_POINT__INIT;
    ip.id = "poi-test";
    ip.role = "agw";
    ip.cert_sha256.data = gen_poi_fp;
    ip.cert_sha256.len = sizeof gen_poi_fp;
    sprintf(key, "poi/%s", ip.id);
    return limf__intercept_point__pack(&ip, buf);
}

size_t med_gen_warrant(int w, const char *dest, int64_t end_ms, uint8_t *buf, char *key)
{
    char id[32], liid[32], target[64];
    uint8_t xid[16];
    snprintf(id, sizeof id, "w%d", w);
    snprintf(liid, sizeof liid, "LIID-%02d", w);
    snprintf(target, sizeof target, "sip:user%d@ims.example.net", w);
    med_gen_xid(w, xid);
    Limf__Warrant m = LIMF__WARRANT__INIT;
    Limf__Target t = LIMF__TARGET__INIT, *tp = &t;
    char *d = (char *)dest;
    m.id = id;
    m.liid = liid;
    m.auth_country = "DE";
    m.delivery = med_gen_cc(w) ? "iri+cc" : "iri";
    m.state = "active";
    t.type = "sip-uri";
    t.value = target;
    m.targets = &tp;
    m.n_targets = 1;
    m.destination_ids = &d;
    m.n_destination_ids = 1;
    m.xid.data = xid;
    m.xid.len = 16;
    m.end_ms = end_ms;
    sprintf(key, "warrant/%s", id);
    return limf__warrant__pack(&m, buf);
}

void med_gen_suffix(const char *dest, char out[33])
{
    memset(out, '0', 32);
    out[32] = 0;
    for (size_t i = 0; i < 16 && dest[i]; i++)
        snprintf(out + 2 * i, 3, "%02x", (unsigned char)dest[i]);
    out[strlen(out)] = '0';   /* the NUL snprintf left after the last octet */
    out[32] = 0;
}

size_t med_gen_destination(const char *dest, uint8_t *buf, char *key)
{
    char suffix[33];
    med_gen_suffix(dest, suffix);
    Limf__Destination d = LIMF__DESTINATION__INIT;
    d.id = (char *)dest;
    d.hi2_address = "127.0.0.1:1";
    d.operator_id = "OPERATOR-1";
    d.topic_suffix = suffix;
    snprintf(key, 160, "destination/%s", dest);
    return limf__destination__pack(&d, buf);
}

int med_gen_phases(int msrp)
{
    return 5 + msrp;
}

int med_gen_records(int w, int msrp)
{
    return 5 + (med_gen_cc(w) ? msrp : 0);
}

#define SDP_FMT                                                                           \
    "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"            \
    "m=message 7394 TCP/MSRP *\r\na=path:msrp://10.0.0.1:7394/%s%d;tcp\r\n"

/* The text of phase k of session s; *x3 set for MSRP. */
static size_t session_text(int s, int k, int warrants, int msrp, char *buf, size_t n, int *x3)
{
    int w = s % warrants;
    char a[80], b[80], cid[32], sdp[256];
    snprintf(a, sizeof a, "<sip:user%d@ims.example.net>;tag=a%d", w, s);
    snprintf(b, sizeof b, "<sip:peer%d@example.org>", s);
    snprintf(cid, sizeof cid, "call-%d@test", s);
    *x3 = 0;
    int len;
    if (k == 0) {
        snprintf(sdp, sizeof sdp, SDP_FMT, "sa", s);
        len = snprintf(buf, n, "INVITE sip:peer%d@example.org SIP/2.0\r\nFrom: %s\r\nTo: %s\r\n"
                       "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n\r\n%s",
                       s, a, b, cid, sdp);
    } else if (k == 1) {
        snprintf(sdp, sizeof sdp, SDP_FMT, "sb", s);
        len = snprintf(buf, n, "SIP/2.0 200 OK\r\nFrom: %s\r\nTo: %s;tag=b%d\r\nCall-ID: %s\r\n"
                       "CSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n\r\n%s",
                       a, b, s, cid, sdp);
    } else if (k == 2) {
        len = snprintf(buf, n, "ACK sip:peer%d@10.0.0.2 SIP/2.0\r\nFrom: %s\r\nTo: %s;tag=b%d\r\n"
                       "Call-ID: %s\r\nCSeq: 1 ACK\r\n\r\n", s, a, b, s, cid);
    } else if (k == 3 + msrp) {
        len = snprintf(buf, n, "BYE sip:peer%d@10.0.0.2 SIP/2.0\r\nFrom: %s\r\nTo: %s;tag=b%d\r\n"
                       "Call-ID: %s\r\nCSeq: 2 BYE\r\n\r\n", s, a, b, s, cid);
    } else if (k == 4 + msrp) {
        len = snprintf(buf, n, "SIP/2.0 200 OK\r\nFrom: %s\r\nTo: %s;tag=b%d\r\nCall-ID: %s\r\n"
                       "CSeq: 2 BYE\r\n\r\n", a, b, s, cid);
    } else {
        int m = k - 3;
        const char *to = m % 2 ? "sa" : "sb", *from = m % 2 ? "sb" : "sa";
        *x3 = 1;
        len = snprintf(buf, n, "MSRP tx%06d%d SEND\r\nTo-Path: msrp://10.0.0.2:7394/%s%d;tcp\r\n"
                       "From-Path: msrp://10.0.0.1:7394/%s%d;tcp\r\nMessage-ID: m%d\r\n"
                       "Content-Type: text/plain\r\n\r\nmsg-%d-%d\r\n-------tx%06d%d$\r\n",
                       s, m, to, s, from, s, m, s, m, s, m);
    }
    return len < 0 ? 0 : (size_t)len;
}

size_t med_gen_pdu(int s, int k, int warrants, int msrp, uint64_t now_ns, uint8_t *buf,
                   uint8_t xid[16])
{
    char text[1024];
    int x3;
    size_t len = session_text(s, k, warrants, msrp, text, sizeof text, &x3);
    uint8_t corr[8] = { 0, 0, 0, 0, (uint8_t)(s >> 24), (uint8_t)(s >> 16), (uint8_t)(s >> 8),
                        (uint8_t)s };
    med_gen_xid(s % warrants, xid);
    Limf__XPdu x = LIMF__XPDU__INIT;
    x.poi_id = "poi-test";
    x.poi_cert_sha256.data = gen_poi_fp;
    x.poi_cert_sha256.len = sizeof gen_poi_fp;
    x.received_ns = now_ns;
    x.timestamp_ns = now_ns;
    x.version = 5;
    x.pdu_type = x3 ? 2 : 1;
    x.payload_format = x3 ? 13 : 9;
    x.payload_direction = 1;
    x.xid.data = xid;
    x.xid.len = 16;
    x.correlation_id.data = corr;
    x.correlation_id.len = 8;
    x.payload.data = (uint8_t *)text;
    x.payload.len = len;
    return limf__xpdu__pack(&x, buf);
}
