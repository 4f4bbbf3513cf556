#include "ho_pdu.h"

#include <string.h>
#include <time.h>

#include "ho_ber.h"

/* Identifier octets of context-specific tags: primitive and constructed. */
#define P(n) ((uint8_t)(HO_BER_CONTEXT | (n)))
#define C(n) ((uint8_t)(HO_BER_CONTEXT | HO_BER_CONSTRUCTED | (n)))
#define SEQ ((uint8_t)(HO_BER_UNIVERSAL | HO_BER_CONSTRUCTED | 16))

/* li-psDomainId (LI-PS-PDU): {itu-t(0) identified-organization(4) etsi(0)
 * securityDomain(2) lawfulIntercept(2) li-ps(5) genHeader(1) version35(35)}. */
static const uint32_t ps_domain_id[] = { 0, 4, 0, 2, 2, 5, 1, HO_PS_DOMAIN_VERSION };
/* iPMMIRIObjId / iPMMCCObjId: {li-ps(5) iPMultimedia(5) version16(16) iRI(1) | cC(2)},
 * relative to lawfulIntercept (TS 102 232-5). */
static const uint32_t ipmm_iri_oid[] = { 5, 5, HO_IPMM_VERSION, 1 };
static const uint32_t ipmm_cc_oid[] = { 5, 5, HO_IPMM_VERSION, 2 };

static char *digits(char *out, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        out[i] = (char)('0' + v % 10);
    return out + n;
}

size_t ho_generalized_time(uint64_t ns, char out[20])
{
    /* The calendar part changes once a second: each thread keeps the last one. */
    static _Thread_local time_t cached_secs = -1;
    static _Thread_local char cached[14];
    time_t secs = (time_t)(ns / 1000000000u);
    if (secs != cached_secs) {
        struct tm tm;
        gmtime_r(&secs, &tm);
        /* X.680 46.3 b): UTC, "Z", milliseconds (microseconds go in microSecondTimeStamp). */
        int year = tm.tm_year + 1900;
        char *c = digits(cached, (unsigned)(year > 9999 ? 9999 : year), 4);
        c = digits(c, (unsigned)tm.tm_mon + 1, 2);
        c = digits(c, (unsigned)tm.tm_mday, 2);
        c = digits(c, (unsigned)tm.tm_hour, 2);
        c = digits(c, (unsigned)tm.tm_min, 2);
        digits(c, (unsigned)tm.tm_sec, 2);
        cached_secs = secs;
    }
    memcpy(out, cached, 14);
    char *o = out + 14;
    unsigned ms = (unsigned)(ns / 1000000u % 1000u);
    if (ms) {
        /* DER (X.690 11.7.3): no trailing zeros in the fraction, no '.' without one. */
        int width = 3;
        for (; ms % 10 == 0; ms /= 10)
            width--;
        *o++ = '.';
        o = digits(o, ms, width);
    }
    *o++ = 'Z';
    *o = 0;
    return (size_t)(o - out);
}

/* UTCTime "YYMMDDhhmmssZ" (X.680 47; DER X.690 11.8: seconds present, "Z"), the
 * HI2Operations TimeStamp utcTime alternative that HI1 notifications carry. */
static void utc_time(uint64_t ns, char out[13])
{
    time_t secs = (time_t)(ns / 1000000000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char *c = digits(out, (unsigned)tm.tm_year % 100, 2);
    c = digits(c, (unsigned)tm.tm_mon + 1, 2);
    c = digits(c, (unsigned)tm.tm_mday, 2);
    c = digits(c, (unsigned)tm.tm_hour, 2);
    c = digits(c, (unsigned)tm.tm_min, 2);
    c = digits(c, (unsigned)tm.tm_sec, 2);
    *c = 'Z';
}

static void put_slice(ho_ber_w *w, uint8_t id, li_slice s)
{
    ho_ber_bytes(w, id, s.p, s.len);
}

/* IPAddress (TS 102 232-1 annex A): iP-type [1], iP-value [2] (a CHOICE, so its tag is
 * explicit) iPBinaryAddress [1]; an IPv6 binary address carries iPv6PrefixLength [4]. */
static void put_addr(ho_ber_w *w, uint8_t id, const ho_addr *a)
{
    static const uint8_t unknown[4];
    int v6 = a->family == 6;
    ho_ber_open(w, id);
    ho_ber_uint(w, P(1), v6 ? 1 : 0);
    ho_ber_open(w, C(2));
    ho_ber_bytes(w, P(1), a->family ? a->addr : unknown, v6 ? 16 : 4);
    ho_ber_close(w);
    if (v6)
        ho_ber_uint(w, P(4), 128);
    ho_ber_close(w);
}

static int valid(const ho_pdu *p)
{
    int tri = p->payload == HO_PAYLOAD_KEEPALIVE || p->payload == HO_PAYLOAD_KEEPALIVE_RESPONSE;
    if (p->liid.len < 1 || p->liid.len > 25 || p->operator_id.len < 1 ||
        p->operator_id.len > 16 || p->ne_id.len > 16 ||
        (p->auth_cc.len != 0 && p->auth_cc.len != 2) ||
        (p->delivery_cc.len != 0 && p->delivery_cc.len != 2) ||
        (!tri && p->payload != HO_PAYLOAD_HI1 && !p->has_cin) || p->ts_qualifier > 3)
        return 0;
    switch (p->payload) {
    case HO_PAYLOAD_IRI:
        return p->iri_type >= HO_IRI_BEGIN && p->iri_type <= HO_IRI_REPORT &&
               p->iri_content == HO_IRI_SIP;
    case HO_PAYLOAD_HI1:
        return p->hi1_op >= HO_HI1_ACTIVATED && p->hi1_op <= HO_HI1_ALARM &&
               p->timestamp_ns && p->content.len <= HO_HI1_TEXT_MAX &&
               (p->hi1_op != HO_HI1_ALARM || p->content.len);
    case HO_PAYLOAD_CC:
        return p->direction <= 4;
    case HO_PAYLOAD_KEEPALIVE:
    case HO_PAYLOAD_KEEPALIVE_RESPONSE:
        return 1;
    }
    return 0;
}

static void put_header(ho_ber_w *w, const ho_pdu *p)
{
    ho_ber_open(w, C(1));
    ho_ber_oid(w, P(0), ps_domain_id, sizeof ps_domain_id / sizeof ps_domain_id[0], 0);
    put_slice(w, P(1), p->liid);
    if (p->auth_cc.len)
        put_slice(w, P(2), p->auth_cc);
    ho_ber_open(w, C(3));             /* communicationIdentifier */
    ho_ber_open(w, C(0));             /* networkIdentifier */
    put_slice(w, P(0), p->operator_id);
    if (p->ne_id.len)
        put_slice(w, P(1), p->ne_id);
    ho_ber_close(w);
    if (p->has_cin)
        ho_ber_uint(w, P(1), p->cin);
    if (p->delivery_cc.len)
        put_slice(w, P(2), p->delivery_cc);
    ho_ber_close(w);
    ho_ber_uint(w, P(4), p->seq);
    if (p->timestamp_ns) {
        char gt[20];
        ho_ber_bytes(w, P(5), gt, ho_generalized_time(p->timestamp_ns, gt));
        ho_ber_open(w, C(7));         /* microSecondTimeStamp */
        ho_ber_uint(w, P(0), p->timestamp_ns / 1000000000u);
        ho_ber_uint(w, P(1), p->timestamp_ns / 1000u % 1000000u);
        ho_ber_close(w);
    }
    if (p->ts_qualifier >= 0)
        ho_ber_uint(w, P(8), (uint64_t)p->ts_qualifier);
    ho_ber_close(w);
}

/* HI2Operations CommunicationIdentifier { network-Identifier [1] { operator-Identifier
 * [0] OCTET STRING (SIZE (1..5)) } } and TimeStamp utcTime [1] (a CHOICE: explicit). */
static void put_hi1_ids(ho_ber_w *w, uint8_t ci_tag, uint8_t ts_tag, const ho_pdu *p)
{
    char utc[13];
    size_t n = p->operator_id.len < HO_HI1_OPERATOR_MAX ? p->operator_id.len
                                                         : HO_HI1_OPERATOR_MAX;
    ho_ber_open(w, C(ci_tag));
    ho_ber_open(w, C(1));
    ho_ber_bytes(w, P(0), p->operator_id.p, n);
    ho_ber_close(w);
    ho_ber_close(w);
    utc_time(p->timestamp_ns, utc);
    ho_ber_open(w, C(ts_tag));
    ho_ber_bytes(w, P(1), utc, sizeof utc);
    ho_ber_close(w);
}

/* hI1-Operation [3]: a CHOICE, so constructed; the chosen SEQUENCE is implicitly tagged. */
static void put_hi1(ho_ber_w *w, const ho_pdu *p)
{
    ho_ber_open(w, C(3));
    ho_ber_open(w, C(p->hi1_op));
    if (p->hi1_op == HO_HI1_ALARM) {
        put_hi1_ids(w, 1, 2, p);                  /* Alarm-Indicator */
        put_slice(w, P(3), p->content);           /* alarm-information */
        put_slice(w, P(4), p->liid);              /* lawfulInterceptionIdentifier */
    } else {
        put_slice(w, P(1), p->liid);              /* Notification */
        put_hi1_ids(w, 2, 3, p);
        if (p->content.len)
            put_slice(w, P(6), p->content);       /* target-Information */
    }
    ho_ber_close(w);
    ho_ber_close(w);
}

li_err ho_pdu_encode(const ho_pdu *p, li_buf *out)
{
    if (!valid(p))
        return LI_ERR_INVAL;
    size_t start = out->len;
    ho_ber_w w;
    ho_ber_w_init(&w, out);
    ho_ber_open(&w, SEQ);
    put_header(&w, p);
    ho_ber_open(&w, C(2));            /* payload: a CHOICE, explicit tag */
    switch (p->payload) {
    case HO_PAYLOAD_IRI:
        ho_ber_open(&w, C(0));        /* iRIPayloadSequence */
        ho_ber_open(&w, SEQ);         /* IRIPayload */
        ho_ber_uint(&w, P(0), p->iri_type);
        ho_ber_open(&w, C(2));        /* iRIContents (CHOICE) */
        ho_ber_open(&w, C(11));       /* iPMMIRI */
        ho_ber_oid(&w, P(0), ipmm_iri_oid, 4, 1);
        ho_ber_open(&w, C(1));        /* iPMMIRIContents (CHOICE) */
        ho_ber_open(&w, C(1));        /* sIPMessage */
        put_addr(&w, C(0), &p->src);
        put_addr(&w, C(1), &p->dst);
        put_slice(&w, P(2), p->content);
        ho_ber_close(&w);
        ho_ber_close(&w);
        ho_ber_close(&w);
        ho_ber_close(&w);
        ho_ber_close(&w);
        ho_ber_close(&w);
        break;
    case HO_PAYLOAD_CC:
        ho_ber_open(&w, C(1));        /* cCPayloadSequence */
        ho_ber_open(&w, SEQ);         /* CCPayload */
        ho_ber_uint(&w, P(0), p->direction);
        ho_ber_open(&w, C(2));        /* cCContents (CHOICE) */
        ho_ber_open(&w, C(12));       /* iPMMCC */
        ho_ber_oid(&w, P(0), ipmm_cc_oid, 4, 1);
        put_slice(&w, P(1), p->content);
        ho_ber_uint(&w, P(2), HO_FRAME_MSRP);
        if (p->stream_id.len)
            put_slice(&w, P(3), p->stream_id);
        ho_ber_uint(&w, P(4), HO_MMCC_MSRP);
        ho_ber_close(&w);
        ho_ber_close(&w);
        ho_ber_close(&w);
        ho_ber_close(&w);
        break;
    case HO_PAYLOAD_HI1:
        put_hi1(&w, p);
        break;
    case HO_PAYLOAD_KEEPALIVE:
    case HO_PAYLOAD_KEEPALIVE_RESPONSE:
        ho_ber_open(&w, C(2));        /* tRIPayload (CHOICE) */
        ho_ber_null(&w, P(p->payload == HO_PAYLOAD_KEEPALIVE ? 3 : 4));
        ho_ber_close(&w);
        break;
    }
    ho_ber_close(&w);
    ho_ber_close(&w);
    li_err e = ho_ber_w_end(&w);
    if (e != LI_OK)
        out->len = start;
    return e;
}

/* ---- decoding ---- */

#define TRY(x)                                                                                  \
    do {                                                                                        \
        li_err e_ = (x);                                                                        \
        if (e_ != LI_OK)                                                                        \
            return e_;                                                                          \
    } while (0)

/* The single element inside an explicitly tagged CHOICE. */
static li_err choice(li_slice c, ho_ber_tlv *t)
{
    TRY(ho_ber_next_in(&c, t));
    return c.len == 0 && t->cls == HO_BER_CONTEXT ? LI_OK : LI_ERR_PROTO;
}

static li_err get_u32(li_slice c, uint32_t max, uint32_t *v)
{
    uint64_t x;
    TRY(ho_ber_get_uint(c, max, &x));
    *v = (uint32_t)x;
    return LI_OK;
}

static li_err get_addr(li_slice c, ho_addr *a)
{
    ho_ber_tlv t, v;
    uint32_t type = 0;
    int have_value = 0;
    while (c.len) {
        TRY(ho_ber_next_in(&c, &t));
        if (t.cls != HO_BER_CONTEXT)
            return LI_ERR_PROTO;
        if (t.tag == 1 && !t.constructed) {
            TRY(get_u32(t.content, 1, &type));
        } else if (t.tag == 2 && t.constructed) {
            TRY(choice(t.content, &v));
            if (v.tag != 1 || v.constructed || (v.content.len != 4 && v.content.len != 16))
                return LI_ERR_PROTO; /* limf reads binary addresses only */
            a->family = v.content.len == 16 ? 6 : 4;
            memcpy(a->addr, v.content.p, v.content.len);
            have_value = 1;
        }
    }
    if (!have_value || type != (a->family == 6 ? 1u : 0u))
        return LI_ERR_PROTO;
    return LI_OK;
}

/* Parses "YYYYMMDDhhmmss[.f...]Z". */
static li_err get_time(li_slice c, uint64_t *ns)
{
    const uint8_t *s = c.p;
    if (c.len < 15 || s[c.len - 1] != 'Z')
        return LI_ERR_PROTO;
    int f[6];
    static const int width[6] = { 4, 2, 2, 2, 2, 2 };
    size_t at = 0;
    for (int i = 0; i < 6; i++) {
        f[i] = 0;
        for (int k = 0; k < width[i]; k++, at++) {
            if (s[at] < '0' || s[at] > '9')
                return LI_ERR_PROTO;
            f[i] = f[i] * 10 + (s[at] - '0');
        }
    }
    uint64_t frac = 0, scale = 1000000000u;
    if (at < c.len - 1) {
        if (s[at] != '.' && s[at] != ',')
            return LI_ERR_PROTO;
        for (at++; at < c.len - 1; at++) {
            if (s[at] < '0' || s[at] > '9')
                return LI_ERR_PROTO;
            if (scale > 1) {
                scale /= 10;
                frac += (uint64_t)(s[at] - '0') * scale;
            }
        }
    }
    if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60 ||
        f[0] < 1970)
        return LI_ERR_PROTO;
    struct tm tm = { .tm_year = f[0] - 1900, .tm_mon = f[1] - 1, .tm_mday = f[2],
                     .tm_hour = f[3], .tm_min = f[4], .tm_sec = f[5] };
    time_t t = timegm(&tm);
    if (t < 0)
        return LI_ERR_PROTO;
    *ns = (uint64_t)t * 1000000000u + frac;
    return LI_OK;
}

static li_err get_header(li_slice c, ho_pdu *p)
{
    ho_ber_tlv t, u, v;
    int have_oid = 0, have_liid = 0, have_ci = 0, have_seq = 0;
    uint64_t gt_ns = 0, us_ns = 0;
    while (c.len) {
        TRY(ho_ber_next_in(&c, &t));
        if (t.cls != HO_BER_CONTEXT)
            return LI_ERR_PROTO;
        switch (t.tag) {
        case 0: {
            uint32_t arcs[16];
            size_t n;
            TRY(ho_ber_get_oid(t.content, 0, arcs, 16, &n));
            if (n != 8 || memcmp(arcs, ps_domain_id, 7 * sizeof arcs[0]) != 0)
                return LI_ERR_PROTO;
            p->domain_version = arcs[7];
            have_oid = 1;
            break;
        }
        case 1:
            if (t.content.len < 1 || t.content.len > 25)
                return LI_ERR_PROTO;
            p->liid = t.content;
            have_liid = 1;
            break;
        case 2:
            p->auth_cc = t.content;
            break;
        case 3: {
            li_slice ci = t.content;
            while (ci.len) {
                TRY(ho_ber_next_in(&ci, &u));
                if (u.cls != HO_BER_CONTEXT)
                    return LI_ERR_PROTO;
                if (u.tag == 0) {
                    li_slice ni = u.content;
                    while (ni.len) {
                        TRY(ho_ber_next_in(&ni, &v));
                        if (v.cls == HO_BER_CONTEXT && v.tag == 0)
                            p->operator_id = v.content;
                        else if (v.cls == HO_BER_CONTEXT && v.tag == 1)
                            p->ne_id = v.content;
                    }
                    if (!p->operator_id.len || p->operator_id.len > 16 || p->ne_id.len > 16)
                        return LI_ERR_PROTO;
                    have_ci = 1;
                } else if (u.tag == 1) {
                    TRY(get_u32(u.content, UINT32_MAX, &p->cin));
                    p->has_cin = 1;
                } else if (u.tag == 2) {
                    p->delivery_cc = u.content;
                }
            }
            break;
        }
        case 4:
            TRY(get_u32(t.content, UINT32_MAX, &p->seq));
            have_seq = 1;
            break;
        case 5:
            TRY(get_time(t.content, &gt_ns));
            break;
        case 7: {
            li_slice m = t.content;
            uint64_t secs = 0, usecs = 0;
            int have_s = 0;
            while (m.len) {
                TRY(ho_ber_next_in(&m, &u));
                if (u.cls == HO_BER_CONTEXT && u.tag == 0) {
                    TRY(ho_ber_get_uint(u.content, UINT64_MAX / 1000000000u - 1, &secs));
                    have_s = 1;
                } else if (u.cls == HO_BER_CONTEXT && u.tag == 1) {
                    TRY(ho_ber_get_uint(u.content, 999999, &usecs));
                }
            }
            if (!have_s)
                return LI_ERR_PROTO;
            us_ns = secs * 1000000000u + usecs * 1000u;
            break;
        }
        case 8: {
            uint32_t q;
            TRY(get_u32(t.content, 255, &q));
            p->ts_qualifier = (int)q;
            break;
        }
        default:
            break; /* extensions limf does not use */
        }
    }
    if (!have_oid || !have_liid || !have_ci || !have_seq)
        return LI_ERR_PROTO;
    /* microSecondTimeStamp is the precise one (clause 5.2.6); GeneralizedTime otherwise. */
    p->timestamp_ns = us_ns ? us_ns : gt_ns;
    return LI_OK;
}

static li_err get_ipmmiri(li_slice c, ho_pdu *p)
{
    ho_ber_tlv t, u, v;
    int have_contents = 0;
    while (c.len) {
        TRY(ho_ber_next_in(&c, &t));
        if (t.cls != HO_BER_CONTEXT || t.tag != 1)
            continue; /* iPMMIRIObjId [0], targetLocation, additionalSignalling */
        TRY(choice(t.content, &u));
        if (u.tag == 1 && u.constructed) {
            li_slice s = u.content;
            int have = 0;
            while (s.len) {
                TRY(ho_ber_next_in(&s, &v));
                if (v.cls != HO_BER_CONTEXT)
                    return LI_ERR_PROTO;
                if (v.tag == 0) {
                    TRY(get_addr(v.content, &p->src));
                    have |= 1;
                } else if (v.tag == 1) {
                    TRY(get_addr(v.content, &p->dst));
                    have |= 2;
                } else if (v.tag == 2) {
                    p->content = v.content;
                    have |= 4;
                }
            }
            if (have != 7)
                return LI_ERR_PROTO;
            p->iri_content = HO_IRI_SIP;
        } else if (u.tag == 0 && !u.constructed) {
            p->content = u.content;
            p->iri_content = HO_IRI_ORIGINAL;
        } else {
            return LI_ERR_PROTO; /* H.323, national or XCAP: not limf's */
        }
        have_contents = 1;
    }
    return have_contents ? LI_OK : LI_ERR_PROTO;
}

static li_err get_ipmmcc(li_slice c, ho_pdu *p)
{
    ho_ber_tlv t;
    int have = 0;
    while (c.len) {
        TRY(ho_ber_next_in(&c, &t));
        if (t.cls != HO_BER_CONTEXT)
            return LI_ERR_PROTO;
        switch (t.tag) {
        case 1:
            p->content = t.content;
            have |= 1;
            break;
        case 2:
            TRY(get_u32(t.content, 255, &p->frame_type));
            have |= 2;
            break;
        case 3:
            p->stream_id = t.content;
            break;
        case 4:
            TRY(get_u32(t.content, 255, &p->mmcc_protocol));
            break;
        default:
            break;
        }
    }
    return have == 3 ? LI_OK : LI_ERR_PROTO;
}

/* One IRIPayload or CCPayload from a SEQUENCE OF that must hold exactly one (limf never
 * aggregates, clause 6.2.3). */
static li_err get_payload_seq(li_slice c, ho_pdu *p)
{
    ho_ber_tlv item, t, u;
    TRY(ho_ber_next_in(&c, &item));
    if (c.len || item.cls != HO_BER_UNIVERSAL || item.tag != 16 || !item.constructed)
        return LI_ERR_PROTO;
    li_slice s = item.content;
    int have_contents = 0, have_type = 0;
    while (s.len) {
        TRY(ho_ber_next_in(&s, &t));
        if (t.cls != HO_BER_CONTEXT)
            return LI_ERR_PROTO;
        if (t.tag == 0) {
            if (p->payload == HO_PAYLOAD_IRI)
                TRY(get_u32(t.content, 4, &p->iri_type));
            else
                TRY(get_u32(t.content, 255, &p->direction));
            have_type = 1;
        } else if (t.tag == 2) {
            TRY(choice(t.content, &u));
            if (p->payload == HO_PAYLOAD_IRI && u.tag == 11 && u.constructed)
                TRY(get_ipmmiri(u.content, p));
            else if (p->payload == HO_PAYLOAD_CC && u.tag == 12 && u.constructed)
                TRY(get_ipmmcc(u.content, p));
            else
                return LI_ERR_PROTO;
            have_contents = 1;
        }
    }
    if (!have_contents || (p->payload == HO_PAYLOAD_IRI && (!have_type || p->iri_type == 0)))
        return LI_ERR_PROTO;
    if (p->payload == HO_PAYLOAD_CC && !have_type)
        p->direction = HO_DIR_INDETERMINATE;
    return LI_OK;
}

/* hI1-Operation: the alternative, the LIID (which must be the PSHeader's), a timeStamp,
 * and alarm-information or target-Information. Other fields are skipped. */
static li_err get_hi1(li_slice c, ho_pdu *p)
{
    ho_ber_tlv op, t;
    TRY(choice(c, &op));
    if (!op.constructed || op.tag < HO_HI1_ACTIVATED || op.tag > HO_HI1_ALARM)
        return LI_ERR_PROTO; /* national-HI1-ASN1parameters: not limf's */
    int alarm = op.tag == HO_HI1_ALARM, have_time = 0, have_liid = 0;
    uint32_t liid_tag = alarm ? 4 : 1, time_tag = alarm ? 2 : 3, text_tag = alarm ? 3 : 6;
    li_slice s = op.content;
    while (s.len) {
        TRY(ho_ber_next_in(&s, &t));
        if (t.cls != HO_BER_CONTEXT)
            return LI_ERR_PROTO;
        if (t.tag == liid_tag) {
            if (t.content.len != p->liid.len || memcmp(t.content.p, p->liid.p, p->liid.len))
                return LI_ERR_PROTO;
            have_liid = 1;
        } else if (t.tag == time_tag) {
            have_time = t.constructed;
        } else if (t.tag == text_tag) {
            if (t.content.len < 1 || t.content.len > HO_HI1_TEXT_MAX)
                return LI_ERR_PROTO;
            p->content = t.content;
        }
    }
    /* Alarm-Indicator's LIID is an extension (OPTIONAL); a Notification's is not. */
    if (!have_time || (!alarm && !have_liid) || (alarm && !p->content.len))
        return LI_ERR_PROTO;
    p->hi1_op = (ho_hi1_op)op.tag;
    return LI_OK;
}

li_err ho_pdu_frame(const uint8_t *buf, size_t len, size_t max, size_t *pdu_len)
{
    li_slice s = li_slice_of(buf, len);
    ho_ber_tlv t;
    /* Look at the header alone first so that a huge announced length is refused before
     * waiting for it. */
    li_slice h = s;
    uint8_t b;
    if (li_slice_u8(&h, &b) != LI_OK)
        return LI_AGAIN;
    if (b != SEQ)
        return LI_ERR_PROTO;
    if (li_slice_u8(&h, &b) != LI_OK)
        return LI_AGAIN;
    size_t hl = 2, cl = b;
    if (b & 0x80) {
        size_t n = b & 0x7f;
        if (n == 0 || n > 4)
            return LI_ERR_PROTO;
        if (h.len < n)
            return LI_AGAIN;
        cl = 0;
        for (size_t i = 0; i < n; i++)
            cl = cl << 8 | h.p[i];
        hl += n;
    }
    if (cl > max || hl > max - cl)
        return LI_ERR_TOO_BIG;
    li_err e = ho_ber_next(&s, &t);
    if (e != LI_OK)
        return e;
    *pdu_len = len - s.len;
    return LI_OK;
}

li_err ho_pdu_decode(const uint8_t *buf, size_t len, ho_pdu *p, size_t *used)
{
    li_slice s = li_slice_of(buf, len);
    ho_ber_tlv pdu, t, u, v;
    TRY(ho_ber_next(&s, &pdu));
    if (pdu.cls != HO_BER_UNIVERSAL || pdu.tag != 16 || !pdu.constructed)
        return LI_ERR_PROTO;
    memset(p, 0, sizeof *p);
    p->ts_qualifier = -1;
    li_slice c = pdu.content;
    int have_header = 0;
    while (c.len) {
        TRY(ho_ber_next_in(&c, &t));
        if (t.cls != HO_BER_CONTEXT || !t.constructed)
            return LI_ERR_PROTO;
        if (t.tag == 1) {
            TRY(get_header(t.content, p));
            have_header = 1;
        } else if (t.tag == 2) {
            TRY(choice(t.content, &u));
            if (u.tag == 0 && u.constructed) {
                p->payload = HO_PAYLOAD_IRI;
                TRY(get_payload_seq(u.content, p));
            } else if (u.tag == 1 && u.constructed) {
                p->payload = HO_PAYLOAD_CC;
                TRY(get_payload_seq(u.content, p));
            } else if (u.tag == 2 && u.constructed) {
                TRY(choice(u.content, &v));
                if (v.constructed || v.content.len || (v.tag != 3 && v.tag != 4))
                    return LI_ERR_PROTO;
                p->payload = v.tag == 3 ? HO_PAYLOAD_KEEPALIVE : HO_PAYLOAD_KEEPALIVE_RESPONSE;
            } else if (u.tag == 3 && u.constructed && have_header) {
                TRY(get_hi1(u.content, p));
                p->payload = HO_PAYLOAD_HI1;
            } else {
                return LI_ERR_PROTO;
            }
        }
    }
    if (!have_header || !p->payload)
        return LI_ERR_PROTO;
    *used = len - s.len;
    return LI_OK;
}
