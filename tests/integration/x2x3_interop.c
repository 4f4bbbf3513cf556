/* Other implementations' PDUs (reference/interop: sipgate's X2 REGISTER with an XML
 * matched target, lippycat's version-05-00 X2 INVITE and X3 RTP with 12-octet timestamps,
 * lippycat's keepalive without a sequence number) sent as they are over mutual TLS to a
 * real limf-ingest: the keepalive is answered (only after Kafka took the PDUs before it),
 * all three PDUs are in Kafka with their fields, and the variants are counted.
 * The captures are other projects' and are not shipped with limf: skipped (77) with the
 * reason on a "SKIP:" line when their folder is absent. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "li_log.h"
#include "x2x3_pdu.h"
#include "x2x3_util.h"

static size_t read_hex(const char *dir, const char *name, uint8_t *out, size_t max)
{
    char path[1100], line[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        for (char *p = line; p[0] && p[1] && p[0] != '\n' && n < max; p += 2) {
            unsigned v;
            if (sscanf(p, "%2x", &v) != 1)
                break;
            out[n++] = (uint8_t)v;
        }
    }
    fclose(f);
    return n;
}

/* The TCP payload of the only packet of sipgate's capture (Ethernet, IPv4, TCP). */
static size_t read_sipgate(const char *dir, uint8_t *out, size_t max)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/sipgate-x2-demo-01.pcap", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    uint8_t file[4096];
    size_t n = fread(file, 1, sizeof file, f);
    fclose(f);
    X2X3T_CHECK(n > 94, "short pcap");
    size_t incl = (size_t)file[32] | (size_t)file[33] << 8;
    const uint8_t *ip = file + 40 + 14;
    size_t ihl = (size_t)(ip[0] & 15) * 4;
    size_t doff = (size_t)(ip[ihl + 12] >> 4) * 4;
    size_t hdrs = 14 + ihl + doff;
    X2X3T_CHECK(incl <= n - 40 && hdrs < incl && incl - hdrs <= max, "pcap layout");
    memcpy(out, ip + ihl + doff, incl - hdrs);
    return incl - hdrs;
}

typedef struct seen {
    int sipgate, invite, rtp, bad;
} seen;

static void on_record(const Limf__XPdu *x, void *ctx)
{
    seen *s = ctx;
    if (x->payload_format == X2X3_FORMAT_SIP && x->version == 5) {
        s->sipgate++;
        if (x->n_matched_targets != 1 ||
            strcmp(x->matched_targets[0], "<E164Number>494012345678</E164Number>") != 0 ||
            x->payload.len != 539 || memcmp(x->payload.data, "REGISTER ", 9) != 0)
            s->bad++;
    } else if (x->payload_format == X2X3_FORMAT_SIP && x->version == 0x0500) {
        s->invite++;
        if (x->timestamp_ns != 1700000000000000000ull || !x->has_seq || x->seq != 1 ||
            x->src_port != 5060 || x->src_addr.len != 4 ||
            strcmp(x->matched_targets[0], "sip:alice@example.com") != 0)
            s->bad++;
    } else if (x->payload_format == X2X3_FORMAT_RTP) {
        s->rtp++;
        if (x->pdu_type != X2X3_PDU_X3 || x->payload.len != 16 || x->seq != 4)
            s->bad++;
    } else {
        s->bad++;
    }
}

int main(void)
{
    li_log_init("x2x3_interop", LI_LOG_WARN, 0);
    const char *ref = getenv("LIMF_REFERENCE_DIR");
    if (!ref || !*ref) {
        printf("LIMF_REFERENCE_DIR not set: skipped\n");
        return 77;
    }
    char dir[512];
    snprintf(dir, sizeof dir, "%s/interop", ref);
    static uint8_t stream[8192];
    size_t n = read_sipgate(dir, stream, sizeof stream);
    if (n == 0) {
        printf("SKIP: other implementations' X2/X3 captures not found in %s (not shipped with "
               "limf)\n", dir);
        return 77;
    }
    n += read_hex(dir, "lippycat-x2_sip_invite.hex", stream + n, sizeof stream - n);
    n += read_hex(dir, "lippycat-x3_rtp.hex", stream + n, sizeof stream - n);
    size_t before_ka = n;
    n += read_hex(dir, "lippycat-keepalive.hex", stream + n, sizeof stream - n);
    X2X3T_CHECK(n - before_ka == 40, "keepalive vector");

    x2x3t_ingest ing = { 0 };
    x2x3t_ingest_start(&ing, 0, NULL);
    x2x3t_tls *t = x2x3t_tls_connect(ing.port, "poi-test");
    X2X3T_CHECK(t, "handshake");
    X2X3T_CHECK(x2x3t_tls_write(t, stream, n) == 0, "write");
    uint8_t ack[64];
    int got = x2x3t_tls_read(t, ack, sizeof ack, 20000);
    X2X3T_CHECK(got == 40 && li_get_be16(ack + 2) == X2X3_PDU_KEEPALIVE_ACK &&
                li_get_be32(ack + 4) == 40, "keepalive answer: %d octets", got);
    printf("keepalive without sequence number answered (header length 40)\n");

    seen s = { 0, 0, 0, 0 };
    size_t records = x2x3t_consume(3, 30, 500, on_record, &s);
    printf("Kafka: %zu records (sipgate %d, lippycat INVITE %d, RTP %d, wrong %d)\n", records,
           s.sipgate, s.invite, s.rtp, s.bad);
    X2X3T_CHECK(records == 3 && s.sipgate == 1 && s.invite == 1 && s.rtp == 1 && s.bad == 0,
                "interop PDUs not as expected in Kafka");

    char text[16384];
    X2X3T_CHECK(x2x3t_http_get(ing.metrics_port, "/metrics", text, sizeof text) == 200, "metrics");
    long long swapped = x2x3t_metric(text, "limf_ingest_variants_total{variant=\"version_swapped\"}");
    long long ts12 = x2x3t_metric(text, "limf_ingest_variants_total{variant=\"timestamp_12\"}");
    /* sipgate's "<E164Number>" and lippycat's bare URI are not the standard form. */
    long long xml = x2x3t_metric(text, "limf_ingest_variants_total{variant=\"target_text\"}");
    long long noseq = x2x3t_metric(text, "limf_ingest_variants_total{variant=\"keepalive_no_seq\"}");
    printf("variants: version_swapped %lld, timestamp_12 %lld, target_text %lld, "
           "keepalive_no_seq %lld\n", swapped, ts12, xml, noseq);
    X2X3T_CHECK(swapped == 3 && ts12 == 2 && xml >= 2 && noseq == 1, "variants miscounted");
    x2x3t_tls_close(t);
    int rc = x2x3t_ingest_stop(&ing, SIGTERM);
    X2X3T_CHECK(rc == 0, "limf-ingest exit %d", rc);
    return 0;
}
