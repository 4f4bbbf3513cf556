/* POI sender -> limf-ingest (mutual TLS) -> Kafka -> consumer: every record comes back
 * exactly once as an XPdu whose fields, raw attributes and payload rebuild the PDU we
 * expect byte for byte (built here independently from the record); the POI identity is
 * its certificate's; /metrics counts what happened; SIGTERM exits cleanly. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "li_log.h"
#include "li_tls.h"
#include "x2x3_pdu.h"
#include "x2x3_util.h"

#define RECORDS 3000

typedef struct expected {
    li_buf pdu;          /* the PDU bytes the sender must have produced */
    int seen;
} expected;

static expected want[RECORDS];
static int errors;
static uint8_t poi_fp[32];

static void make_record(int i, x2x3_record *r, char *payload, size_t size,
                        const char **targets)
{
    memset(r, 0, sizeof *r);
    int x3 = i % 3 == 2;
    r->pdu_type = x3 ? X2X3_PDU_X3 : X2X3_PDU_X2;
    r->payload_format = x3 ? X2X3_FORMAT_MSRP : (i % 7 == 0 ? X2X3_FORMAT_PROPRIETARY
                                                            : X2X3_FORMAT_SIP);
    r->payload_direction = (uint16_t)(X2X3_DIR_TO_TARGET + i % 2);
    memset(r->xid, 0, 16);
    r->xid[0] = 0x5a;
    r->xid[15] = (uint8_t)(i % 5);   /* five tasks */
    r->correlation_id = 1000 + (uint64_t)(i / 10);
    r->timestamp_ns = 1700000000000000000ull + (uint64_t)i * 1000u + 7;
    if (i % 2) {
        r->src.family = AF_INET;
        inet_pton(AF_INET, "192.0.2.1", r->src.addr);
        r->src.port = 5060;
        r->dst.family = AF_INET;
        inet_pton(AF_INET, "192.0.2.2", r->dst.addr);
        r->dst.port = (uint16_t)(5061 + i % 100);
        r->ip_protocol = 17;
    } else {
        r->src.family = AF_INET6;
        inet_pton(AF_INET6, "2001:db8::1", r->src.addr);
        r->src.port = 2855;
        r->dst.family = AF_INET6;
        inet_pton(AF_INET6, "2001:db8::2", r->dst.addr);
        r->ip_protocol = 6;
    }
    targets[0] = "sip:alice@example.org";
    targets[1] = "tel:+4930123456";
    r->matched_targets = targets;
    r->n_matched_targets = (size_t)(i % 3);
    r->sdp = i % 4 == 0 ? "v=0\r\nm=message 2855 TCP/MSRP *\r\n" : NULL;
    int n = snprintf(payload, size, x3 ? "MSRP t%d SEND\r\nTo-Path: msrp://a/s;tcp\r\n\r\n"
                                         "body %d\r\n-------t%d$\r\n"
                                       : "MESSAGE sip:bob@example.org SIP/2.0\r\nCSeq: %d "
                                         "MESSAGE\r\nContent-Length: %d\r\n\r\n", i, i, i);
    r->payload = (const uint8_t *)payload;
    r->payload_len = (size_t)n;
}

/* Record i's sequence number: TS 103 221-2 numbers per (XID, correlation ID); record i
 * has XID i % 5 and correlation ID 1000 + i / 10, so each block of ten holds five
 * streams of two records. And back: the record of (XID, correlation ID, seq). */
static uint32_t seq_of(int i)
{
    return (uint32_t)(i % 10 / 5);
}

static int index_of(uint8_t xid15, uint64_t cid, uint32_t seq)
{
    if (xid15 >= 5 || seq > 1 || cid < 1000 || cid >= 1000 + RECORDS / 10)
        return -1;
    return (int)(cid - 1000) * 10 + xid15 + 5 * (int)seq;
}

/* The wire form TS 103 221-2 prescribes for a record with sequence number seq. */
static void expected_pdu(const x2x3_record *r, uint32_t seq, li_buf *out)
{
    li_buf a;
    li_buf_init(&a, 0);
    x2x3_attr_put(&a, X2X3_ATTR_NFID, "poi-test", 8);   /* x2x3.nf_id: the poi_id */
    x2x3_attr_put(&a, X2X3_ATTR_IPID, "poi-test", 8);
    x2x3_attr_put_u32(&a, X2X3_ATTR_SEQ, seq);
    x2x3_attr_put_timestamp(&a, r->timestamp_ns);
    int v6 = r->src.family == AF_INET6;
    x2x3_attr_put(&a, v6 ? X2X3_ATTR_SRC_IPV6 : X2X3_ATTR_SRC_IPV4, r->src.addr, v6 ? 16 : 4);
    x2x3_attr_put(&a, v6 ? X2X3_ATTR_DST_IPV6 : X2X3_ATTR_DST_IPV4, r->dst.addr, v6 ? 16 : 4);
    if (r->src.port)
        x2x3_attr_put_u16(&a, X2X3_ATTR_SRC_PORT, r->src.port);
    if (r->dst.port)
        x2x3_attr_put_u16(&a, X2X3_ATTR_DST_PORT, r->dst.port);
    x2x3_attr_put_u8(&a, X2X3_ATTR_IP_PROTOCOL, r->ip_protocol);
    for (size_t i = 0; i < r->n_matched_targets; i++)
        x2x3_attr_put(&a, X2X3_ATTR_MATCHED_TARGET, r->matched_targets[i],
                      strlen(r->matched_targets[i]));
    if (r->sdp)
        x2x3_attr_put(&a, X2X3_ATTR_SDP, r->sdp, strlen(r->sdp));
    x2x3_pdu p;
    memset(&p, 0, sizeof p);
    p.version = X2X3_VERSION;
    p.pdu_type = r->pdu_type;
    p.payload_format = r->payload_format;
    p.payload_direction = r->payload_direction;
    memcpy(p.xid, r->xid, 16);
    p.correlation_id = r->correlation_id;
    p.attrs = a.data;
    p.attrs_len = a.len;
    p.payload = r->payload;
    p.payload_len = r->payload_len;
    li_buf_init(out, 0);
    x2x3_pdu_encode(out, &p);
    li_buf_free(&a);
}

#define EXPECT(cond, ...)                                       \
    do {                                                        \
        if (!(cond)) {                                          \
            if (errors++ < 10) {                                \
                fprintf(stderr, "record: " __VA_ARGS__);        \
                fputc('\n', stderr);                            \
            }                                                   \
        }                                                       \
    } while (0)

static void check(const Limf__XPdu *x, void *ctx)
{
    (void)ctx;
    /* Rebuild the PDU from the record's header fields, raw attributes and payload. */
    x2x3_pdu p;
    memset(&p, 0, sizeof p);
    p.version = (uint16_t)x->version;
    p.pdu_type = (uint16_t)x->pdu_type;
    p.payload_format = (uint16_t)x->payload_format;
    p.payload_direction = (uint16_t)x->payload_direction;
    memcpy(p.xid, x->xid.data, 16);
    EXPECT(x->correlation_id.len == 8, "correlation id of %zu octets", x->correlation_id.len);
    p.correlation_id = li_get_be64(x->correlation_id.data);
    p.attrs = x->attributes.data;
    p.attrs_len = x->attributes.len;
    p.payload = x->payload.data;
    p.payload_len = x->payload.len;
    li_buf b;
    li_buf_init(&b, 0);
    x2x3_pdu_encode(&b, &p);
    int idx = x->has_seq ? index_of(p.xid[15], p.correlation_id, x->seq) : -1;
    EXPECT(idx >= 0, "sequence number %u", x->seq);
    if (idx >= 0) {
        expected *e = &want[idx];
        EXPECT(!e->seen, "record %d twice", idx);
        e->seen = 1;
        EXPECT(b.len == e->pdu.len && memcmp(b.data, e->pdu.data, b.len) == 0,
               "record %d: PDU differs", idx);
        /* The typed fields agree with the PDU. */
        x2x3_pdu d;
        size_t used;
        if (x2x3_pdu_decode(e->pdu.data, e->pdu.len, 0, &d, &used, NULL) == LI_OK) {
            EXPECT(x->timestamp_ns == x2x3_pdu_timestamp_ns(&d), "timestamp");
            EXPECT(x->src_addr.len == d.src_addr_len &&
                   memcmp(x->src_addr.data, d.src_addr, d.src_addr_len) == 0, "src addr");
            EXPECT(x->dst_addr.len == d.dst_addr_len &&
                   memcmp(x->dst_addr.data, d.dst_addr, d.dst_addr_len) == 0, "dst addr");
            EXPECT(x->src_port == d.src_port && x->dst_port == d.dst_port, "ports");
            EXPECT(x->ip_protocol == d.ip_protocol, "protocol");
            EXPECT(x->n_matched_targets == d.n_matched_targets, "targets");
            for (size_t i = 0; i < x->n_matched_targets; i++) {
                li_slice t;
                x2x3_pdu_matched_target(&d, i, &t);
                EXPECT(strlen(x->matched_targets[i]) == t.len &&
                       memcmp(x->matched_targets[i], t.p, t.len) == 0, "target %zu", i);
            }
            EXPECT(strlen(x->sdp) == d.sdp.len &&
                   (d.sdp.len == 0 || memcmp(x->sdp, d.sdp.p, d.sdp.len) == 0), "sdp");
        }
    }
    EXPECT(strcmp(x->poi_id, "poi-test") == 0, "poi_id '%s'", x->poi_id);
    EXPECT(x->poi_cert_sha256.len == 32 && memcmp(x->poi_cert_sha256.data, poi_fp, 32) == 0,
           "POI certificate fingerprint");
    EXPECT(strncmp(x->poi_address, "127.0.0.1:", 10) == 0, "poi_address '%s'", x->poi_address);
    EXPECT(x->received_ns > 1700000000000000000ull, "received_ns");
    EXPECT(strcmp(x->ingest_id, "ingest-rt") == 0, "ingest_id '%s'", x->ingest_id);
    li_buf_free(&b);
}

int main(void)
{
    li_log_init("x2x3_roundtrip", LI_LOG_WARN, 0);
    char fp_file[512];
    snprintf(fp_file, sizeof fp_file, "%s/poi-test.pem", x2x3t_env("LIMF_PKI_DIR"));
    X2X3T_CHECK(li_tls_file_fingerprint(fp_file, poi_fp) == LI_OK, "fingerprint");

    x2x3t_ingest ing = { 0 };
    static const char *const opts[] = { "ingest.id=ingest-rt", "ingest.allow=poi-test, relay-as",
                                        NULL };
    x2x3t_ingest_start(&ing, 0, opts);
    x2x3_sender *s = x2x3t_sender(ing.port, "poi-test", NULL);
    for (int i = 0; i < RECORDS; i++) {
        x2x3_record r;
        char payload[512];
        const char *targets[2];
        make_record(i, &r, payload, sizeof payload, targets);
        expected_pdu(&r, seq_of(i), &want[i].pdu);
        X2X3T_CHECK(x2x3_sender_send(s, &r) == LI_OK, "send %d", i);
    }
    X2X3T_CHECK(x2x3_sender_flush(s, 30000) == LI_OK, "flush: not acknowledged");
    x2x3_sender_stats st;
    x2x3_sender_stats_get(s, &st);
    X2X3T_CHECK(st.acked_pdus == RECORDS && st.dropped_pdus == 0 && st.buffered_bytes == 0 &&
                st.connected == 1, "stats: acked %" PRIu64 " dropped %" PRIu64,
                st.acked_pdus, st.dropped_pdus);

    /* A POI outside ingest.allow is refused. */
    x2x3t_tls *stranger = x2x3t_tls_connect(ing.port, "siptap");
    if (stranger) {
        char c;
        X2X3T_CHECK(x2x3t_tls_read(stranger, &c, 1, 5000) == 0, "stranger not closed");
        x2x3t_tls_close(stranger);
    }

    size_t n = x2x3t_consume(RECORDS, 60, 1000, check, NULL);
    for (int i = 0; i < RECORDS; i++)
        EXPECT(want[i].seen, "record %d missing", i);
    printf("sent %d, consumed %zu, %d errors\n", RECORDS, n, errors);

    char text[16384];
    X2X3T_CHECK(x2x3t_http_get(ing.metrics_port, "/metrics", text, sizeof text) == 200,
                "GET /metrics");
    long long x2 = x2x3t_metric(text, "limf_ingest_pdus_total{type=\"x2\"}");
    long long x3 = x2x3t_metric(text, "limf_ingest_pdus_total{type=\"x3\"}");
    long long delivered = x2x3t_metric(text, "limf_ingest_kafka_delivered_total");
    long long refused = x2x3t_metric(text, "limf_ingest_errors_total{kind=\"not_allowed\","
                                           "reason=\"POI not in ingest.allow\"}");
    printf("metrics: x2 %lld x3 %lld delivered %lld refused %lld\n", x2, x3, delivered, refused);
    /* A POI event (X2, format 4) is delivered twice: to limf.xpdu and limf.poi.events. */
    long long events = 0;
    for (int i = 0; i < RECORDS; i++)
        events += i % 3 != 2 && i % 7 == 0;
    X2X3T_CHECK(x2 + x3 == RECORDS && x3 == RECORDS / 3 && delivered == RECORDS + events &&
                refused == 1, "metrics disagree:\n%s", text);

    x2x3_sender_free(s);
    int rc = x2x3t_ingest_stop(&ing, SIGTERM);
    X2X3T_CHECK(rc == 0, "limf-ingest exit status %d after SIGTERM", rc);
    for (int i = 0; i < RECORDS; i++)
        li_buf_free(&want[i].pdu);
    return n == RECORDS && errors == 0 ? 0 : 1;
}
