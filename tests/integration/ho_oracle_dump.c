/* Writes PS-PDUs made by limf's encoder (ho_pdu_encode) into DIR/<n>.ber and, in
 * DIR/expected.jsonl, the fields an independent decoder must find in each (in asn1tools'
 * naming), for ho_oracle.py. Contents are ASCII without quotes so that the JSON is plain. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ho_dest.h"
#include "ho_pdu.h"

#define S(text) li_slice_of(text, strlen(text))

static FILE *expected;
static int count;

static void emit(const char *dir, const ho_pdu *p, const char *want_extra)
{
    li_buf b;
    li_buf_init(&b, 0);
    if (ho_pdu_encode(p, &b) != LI_OK) {
        fprintf(stderr, "encode %d failed\n", count);
        exit(1);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%d.ber", dir, count);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b.data, 1, b.len, f) != b.len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    fprintf(expected,
            "{\"file\":\"%d.ber\",\"want\":{\"domain\":\"0.4.0.2.2.5.1.35\",\"liid\":\"%.*s\","
            "\"operator_id\":\"%.*s\",\"seq\":%u",
            count, (int)p->liid.len, (const char *)p->liid.p, (int)p->operator_id.len,
            (const char *)p->operator_id.p, p->seq);
    if (p->ne_id.len)
        fprintf(expected, ",\"ne_id\":\"%.*s\"", (int)p->ne_id.len, (const char *)p->ne_id.p);
    if (p->auth_cc.len)
        fprintf(expected, ",\"auth_cc\":\"%.*s\"", (int)p->auth_cc.len, (const char *)p->auth_cc.p);
    if (p->delivery_cc.len)
        fprintf(expected, ",\"delivery_cc\":\"%.*s\"", (int)p->delivery_cc.len,
                (const char *)p->delivery_cc.p);
    if (p->has_cin)
        fprintf(expected, ",\"cin\":%u", p->cin);
    if (p->timestamp_ns)
        fprintf(expected, ",\"timestamp_us\":%llu", (unsigned long long)(p->timestamp_ns / 1000));
    fprintf(expected, ",%s}}\n", want_extra);
    count++;
    li_buf_free(&b);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/expected.jsonl", argv[1]);
    expected = fopen(path, "w");
    if (!expected) {
        perror(path);
        return 1;
    }
    static const char invite[] = "INVITE sip:bob@example.net SIP/2.0\r\nCall-ID: a1\r\n\r\n";
    ho_pdu p;
    memset(&p, 0, sizeof p);
    p.ts_qualifier = HO_TSQ_INTERCEPTION;
    p.liid = S("LIID-0001");
    p.auth_cc = S("DE");
    p.operator_id = S("OPERATOR1");
    p.ne_id = S("limf-med-1");
    p.delivery_cc = S("FR");
    p.has_cin = 1;
    p.cin = 4000000000u;
    p.seq = 0;
    p.timestamp_ns = 1767225599999999000ull; /* 2025-12-31T23:59:59.999999Z */

    p.payload = HO_PAYLOAD_IRI;
    p.iri_type = HO_IRI_BEGIN;
    p.iri_content = HO_IRI_SIP;
    p.src.family = 4;
    memcpy(p.src.addr, "\xc0\x00\x02\x01", 4);
    p.dst.family = 6;
    memcpy(p.dst.addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02", 16);
    p.content = S(invite);
    emit(argv[1], &p,
         "\"payload\":\"iri\",\"iri_type\":\"iRI-Begin\",\"objid\":\"05051001\","
         "\"src\":[\"iPV4\",\"c0000201\"],\"dst\":[\"iPV6\",\"20010db8000000000000000000000002\"],"
         "\"sip\":\"INVITE sip:bob@example.net SIP/2.0\\r\\nCall-ID: a1\\r\\n\\r\\n\"");

    p.seq = 1;
    p.iri_type = HO_IRI_CONTINUE;
    p.src.family = 0; /* unknown: sent as 0.0.0.0 */
    p.dst.family = 0;
    p.ts_qualifier = -1;
    emit(argv[1], &p,
         "\"payload\":\"iri\",\"iri_type\":\"iRI-Continue\",\"src\":[\"iPV4\",\"00000000\"],"
         "\"dst\":[\"iPV4\",\"00000000\"]");

    /* limf's own event in the communication: hI1-Operation alarms-indicator on HI2; the
     * GeneralizedTime of .120 s is DER ".12". */
    p.seq = 2;
    p.payload = HO_PAYLOAD_HI1;
    p.hi1_op = HO_HI1_ALARM;
    p.timestamp_ns = 1767225599120000000ull;
    p.content = S("content-not-available: cert-exception");
    emit(argv[1], &p,
         "\"payload\":\"hi1\",\"hi1\":\"alarms-indicator\",\"hi1_liid\":\"LIID-0001\","
         "\"hi1_operator_id\":\"OPERA\",\"alarm\":\"content-not-available: cert-exception\"");
    p.timestamp_ns = 1767225599999999000ull;

    /* CC with 2 KB of MSRP: long-form lengths at every level. */
    static char msrp[2049];
    memset(msrp, 'm', 2048);
    memcpy(msrp, "MSRP a786hjs2 SEND\r\n", 20);
    p.seq = 3;
    p.payload = HO_PAYLOAD_CC;
    p.direction = HO_DIR_FROM_TARGET;
    p.stream_id = S("sess-42");
    p.content = S(msrp);
    char want[2300];
    snprintf(want, sizeof want,
             "\"payload\":\"cc\",\"direction\":\"fromTarget\",\"objid\":\"05051002\","
             "\"frame_type\":\"msrpFrame\",\"protocol\":\"mSRP\",\"stream_id\":\"sess-42\","
             "\"msrp\":\"MSRP a786hjs2 SEND\\r\\n%s\"", msrp + 20);
    emit(argv[1], &p, want);

    p.seq = 4;
    p.direction = HO_DIR_INDETERMINATE;
    p.stream_id = S("");
    p.content = S("x");
    emit(argv[1], &p, "\"payload\":\"cc\",\"direction\":\"indeterminate\"");

    /* HiRecords as the mediator writes them, through limf-handover's own mapping: a POI
     * event as an alarm with its reason, the identifiers from the destination; then a
     * warrant's activation, a notification without a CIN. */
    Limf__HiRecord r = LIMF__HI_RECORD__INIT;
    r.liid = "LIID-0002";
    r.auth_country = "NL";
    r.cin = 7;
    r.seq = 12;
    r.kind = LIMF__HI_RECORD__KIND__HI1;
    r.hi1_operation = LIMF__HI_RECORD__HI1_OPERATION__ALARM;
    r.timestamp_ns = 1767225600000001000ull;
    r.payload_kind = "poi-event";
    r.report_reason = "poi-gap";
    r.payload.data = (uint8_t *)"{\"limf_event\":\"gap\",\"dropped\":3}";
    r.payload.len = strlen((const char *)r.payload.data);
    li_buf scratch;
    li_buf_init(&scratch, 0);
    if (ho_record_to_pdu(&r, "OPERATOR2", "ne-2", "BE", &scratch, &p) != LI_OK) {
        fprintf(stderr, "mapping failed\n");
        return 1;
    }
    emit(argv[1], &p,
         "\"payload\":\"hi1\",\"hi1\":\"alarms-indicator\",\"hi1_liid\":\"LIID-0002\","
         "\"alarm\":\"poi-gap: {\\\"limf_event\\\":\\\"gap\\\",\\\"dropped\\\":3}\"");
    r.cin = 0;
    r.seq = 0;
    r.hi1_operation = LIMF__HI_RECORD__HI1_OPERATION__LI_ACTIVATED;
    r.payload_kind = "";
    r.report_reason = "";
    r.payload.len = 0;
    if (ho_record_to_pdu(&r, "OPERATOR2", "ne-2", "BE", &scratch, &p) != LI_OK) {
        fprintf(stderr, "mapping failed\n");
        return 1;
    }
    emit(argv[1], &p,
         "\"payload\":\"hi1\",\"hi1\":\"liActivated\",\"hi1_liid\":\"LIID-0002\","
         "\"hi1_operator_id\":\"OPERA\"");
    li_buf_free(&scratch);

    memset(&p, 0, sizeof p);
    p.ts_qualifier = -1;
    p.liid = S("-");
    p.operator_id = S("OPERATOR1");
    p.seq = 99;
    p.payload = HO_PAYLOAD_KEEPALIVE;
    emit(argv[1], &p, "\"payload\":\"keep-alive\"");
    p.payload = HO_PAYLOAD_KEEPALIVE_RESPONSE;
    emit(argv[1], &p, "\"payload\":\"keep-aliveResponse\"");
    fclose(expected);
    printf("wrote %d PDUs to %s\n", count, argv[1]);
    return 0;
}
