/* Oracle test: PDUs from our encoder (through the POI sender's record shapes and the
 * keepalive helpers) are written to a pcap file, one PDU per TCP segment, and decoded by
 * Wireshark's independent X2/X3 dissector (`tshark -d tcp.port==N,5gli`). Every header
 * field and every attribute tshark shows must equal what we encoded.
 * Skipped (exit 77) when tshark is not installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "li_bytes.h"
#include "x2x3_pdu.h"

#define PORT 47555
#define MAX_PDUS 8

typedef struct sample {
    x2x3_pdu p;                /* header fields and typed values, as encoded */
    li_buf attrs;
    li_buf wire;
    const char *targets[2];
    size_t n_targets;
    const char *payload;
} sample;

static sample samples[MAX_PDUS];
static size_t n_samples;
static int failures;

static void add(uint16_t type, uint16_t format, uint16_t dir, uint32_t seq, int v6,
                const char *t1, const char *t2, const char *payload)
{
    sample *s = &samples[n_samples++];
    li_buf_init(&s->attrs, 0);
    li_buf_init(&s->wire, 0);
    x2x3_pdu *p = &s->p;
    memset(p, 0, sizeof *p);
    p->version = X2X3_VERSION;
    p->pdu_type = type;
    p->payload_format = format;
    p->payload_direction = dir;
    for (int i = 0; i < 16; i++)
        p->xid[i] = (uint8_t)(0x10 * (n_samples % 16) + i);
    p->correlation_id = 0x0102030405060700ull + n_samples;
    x2x3_attr_put(&s->attrs, X2X3_ATTR_IPID, "poi-oracle", 10);
    x2x3_attr_put_u32(&s->attrs, X2X3_ATTR_SEQ, seq);
    x2x3_attr_put_timestamp(&s->attrs, 1700000000123456789ull + n_samples);
    static const uint8_t a4[2][4] = { { 192, 0, 2, 1 }, { 198, 51, 100, 7 } };
    static const uint8_t a6[2][16] = { { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
                                       { 0x20, 0x01, 0x0d, 0xb8, [14] = 0xab, [15] = 2 } };
    if (v6) {
        x2x3_attr_put(&s->attrs, X2X3_ATTR_SRC_IPV6, a6[0], 16);
        x2x3_attr_put(&s->attrs, X2X3_ATTR_DST_IPV6, a6[1], 16);
    } else {
        x2x3_attr_put(&s->attrs, X2X3_ATTR_SRC_IPV4, a4[0], 4);
        x2x3_attr_put(&s->attrs, X2X3_ATTR_DST_IPV4, a4[1], 4);
    }
    x2x3_attr_put_u16(&s->attrs, X2X3_ATTR_SRC_PORT, 5060);
    x2x3_attr_put_u16(&s->attrs, X2X3_ATTR_DST_PORT, (uint16_t)(2855 + n_samples));
    x2x3_attr_put_u8(&s->attrs, X2X3_ATTR_IP_PROTOCOL, v6 ? 6 : 17);
    s->targets[0] = t1;
    s->targets[1] = t2;
    for (size_t i = 0; i < 2; i++)
        if (s->targets[i]) {
            x2x3_attr_put(&s->attrs, X2X3_ATTR_MATCHED_TARGET, s->targets[i],
                          strlen(s->targets[i]));
            s->n_targets = i + 1;
        }
    s->payload = payload;
    p->attrs = s->attrs.data;
    p->attrs_len = s->attrs.len;
    p->payload = (const uint8_t *)payload;
    p->payload_len = strlen(payload);
    x2x3_pdu_encode(&s->wire, p);
    /* Decode our own bytes for the typed values to compare with. */
    size_t used;
    x2x3_pdu d;
    if (x2x3_pdu_decode(s->wire.data, s->wire.len, 0, &d, &used, NULL) != LI_OK) {
        fprintf(stderr, "our own PDU %zu does not decode\n", n_samples);
        exit(1);
    }
    *p = d;
}

static void add_keepalive(uint32_t seq, int ack)
{
    sample *s = &samples[n_samples++];
    li_buf_init(&s->attrs, 0);
    li_buf_init(&s->wire, 0);
    x2x3_keepalive_encode(&s->wire, seq);
    size_t used;
    x2x3_pdu_decode(s->wire.data, s->wire.len, 0, &s->p, &used, NULL);
    if (ack) {
        x2x3_pdu ka = s->p;
        li_buf b;
        li_buf_init(&b, 0);
        x2x3_keepalive_ack_encode(&b, &ka);
        li_buf_free(&s->wire);
        s->wire = b;
        x2x3_pdu_decode(s->wire.data, s->wire.len, 0, &s->p, &used, NULL);
    }
    s->payload = "";
}

/* A classic pcap file: Ethernet, IPv4, TCP, one PDU per segment. */
static void write_pcap(const char *path)
{
    FILE *f = fopen(path, "wb");
    uint8_t gh[24] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, [16] = 0xff, 0xff, 0, 0, 1, 0, 0, 0 };
    fwrite(gh, 1, sizeof gh, f);
    uint32_t seq = 1000;
    for (size_t i = 0; i < n_samples; i++) {
        size_t n = samples[i].wire.len;
        size_t frame = 14 + 20 + 20 + n;
        uint8_t rh[16] = { 0 };
        rh[0] = (uint8_t)i;   /* ts seconds */
        for (int k = 0; k < 4; k++) {
            rh[8 + k] = (uint8_t)(frame >> (8 * k));
            rh[12 + k] = (uint8_t)(frame >> (8 * k));
        }
        fwrite(rh, 1, sizeof rh, f);
        uint8_t h[54] = { 0 };
        h[12] = 0x08;                            /* IPv4 */
        uint8_t *ip = h + 14;
        ip[0] = 0x45;
        li_put_be16(ip + 2, (uint16_t)(20 + 20 + n));
        ip[8] = 64;
        ip[9] = 6;
        ip[12] = 127, ip[15] = 1, ip[16] = 127, ip[19] = 1;
        uint32_t sum = 0;
        for (int k = 0; k < 20; k += 2)
            sum += li_get_be16(ip + k);
        while (sum >> 16)
            sum = (sum & 0xffff) + (sum >> 16);
        li_put_be16(ip + 10, (uint16_t)~sum);
        uint8_t *tcp = ip + 20;
        li_put_be16(tcp, 40001);
        li_put_be16(tcp + 2, PORT);
        li_put_be32(tcp + 4, seq);
        li_put_be32(tcp + 8, 1);
        tcp[12] = 5 << 4;
        tcp[13] = 0x18;                          /* PSH, ACK */
        li_put_be16(tcp + 14, 65535);
        fwrite(h, 1, sizeof h, f);
        fwrite(samples[i].wire.data, 1, n, f);
        seq += (uint32_t)n;
    }
    fclose(f);
}

static void expect(size_t i, const char *field, const char *got, const char *want)
{
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "PDU %zu %s: tshark says '%s', we encoded '%s'\n", i, field, got, want);
        failures++;
    }
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    li_hex_encode(p, n, out);
}

/* tshark 4.0 shows the value of every attribute twice ("v|v"; "a|a|b|b" for two
 * matched targets): keeps the first of each identical pair, leaves anything else. */
static void halve(char *list)
{
    char *tok[64];
    size_t n = 0;
    char copy[8192];
    snprintf(copy, sizeof copy, "%s", list);
    for (char *save, *t = strtok_r(copy, "|", &save); t && n < 64; t = strtok_r(NULL, "|", &save))
        tok[n++] = t;
    if (n % 2)
        return;
    for (size_t i = 0; i < n; i += 2)
        if (strcmp(tok[i], tok[i + 1]) != 0)
            return;
    list[0] = '\0';
    for (size_t i = 0; i < n; i += 2)
        sprintf(list + strlen(list), "%s%s", i ? "|" : "", tok[i]);
}

int main(void)
{
    if (system("command -v tshark >/dev/null 2>&1") != 0) {
        printf("tshark not installed: skipped\n");
        return 77;
    }
    add(X2X3_PDU_X2, X2X3_FORMAT_SIP, X2X3_DIR_TO_TARGET, 1, 0, "sip:alice@example.org", NULL,
        "MESSAGE sip:bob@example.org SIP/2.0\r\nCall-ID: oracle-1\r\nCSeq: 1 MESSAGE\r\n"
        "Content-Length: 0\r\n\r\n");
    add(X2X3_PDU_X3, X2X3_FORMAT_MSRP, X2X3_DIR_FROM_TARGET, 2, 1, "sip:alice@example.org",
        "tel:+4930123456", "MSRP a786hjs2 SEND\r\nTo-Path: msrp://b.example.org:2855/s1;tcp\r\n"
        "From-Path: msrp://a.example.org:2855/s2;tcp\r\nMessage-ID: 87652\r\n"
        "Byte-Range: 1-5/5\r\nContent-Type: text/plain\r\n\r\nhello\r\n-------a786hjs2$\r\n");
    add(X2X3_PDU_X2, X2X3_FORMAT_PROPRIETARY, X2X3_DIR_NA, 3, 0, "tel:+4930123456", NULL,
        "{\"limf_event\":\"gap\",\"dropped\":3}");
    add(X2X3_PDU_X3, X2X3_FORMAT_MSRP, X2X3_DIR_TO_TARGET, 65000, 1, NULL, NULL,
        "MSRP a786hjs3 200 OK\r\nTo-Path: msrp://a.example.org:2855/s2;tcp\r\n"
        "From-Path: msrp://b.example.org:2855/s1;tcp\r\n-------a786hjs3$\r\n");
    add_keepalive(7, 0);
    add_keepalive(7, 1);

    char dir[] = "/tmp/x2x3-oracle-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char pcap[128], out[128], cmd[1024];
    snprintf(pcap, sizeof pcap, "%s/our.pcap", dir);
    snprintf(out, sizeof out, "%s/tshark.txt", dir);
    write_pcap(pcap);
    snprintf(cmd, sizeof cmd,
             "TZ=UTC tshark -r %s -d tcp.port==%d,5gli -T fields -E separator=/t "
             "-E occurrence=a -E aggregator='|' -e frame.protocols -e li5g.ver -e li5g.type "
             "-e li5g.hl -e li5g.pl -e li5g.pf -e li5g.pd -e li5g.xid -e li5g.cid "
             "-e li5g.attrType -e li5g.ipid -e li5g.sq -e li5g.ts -e li5g.srcip -e li5g.dstip "
             "-e li5g.srcipv6 -e li5g.dstipv6 -e li5g.srcport -e li5g.dstport -e li5g.ipproto "
             "-e li5g.mti -e li5g.pld > %s 2>/dev/null",
             pcap, PORT, out);
    if (system(cmd) != 0) {
        fprintf(stderr, "tshark failed: %s\n", cmd);
        return 1;
    }
    FILE *f = fopen(out, "r");
    char line[16384];
    size_t i = 0;
    while (f && fgets(line, sizeof line, f) && i < n_samples) {
        line[strcspn(line, "\n")] = '\0';
        char *col[32] = { 0 };
        int nc = 0;
        for (char *p = line; nc < 32;) {
            col[nc++] = p;
            char *tab = strchr(p, '\t');
            if (!tab)
                break;
            *tab = '\0';
            p = tab + 1;
        }
        for (int k = nc; k < 32; k++)
            col[k] = "";
        for (int k = 10; k < nc; k++)
            halve(col[k]);
        const x2x3_pdu *p = &samples[i].p;
        char want[8192], tmp[4096];
        if (!strstr(col[0], "5gli")) {
            fprintf(stderr, "PDU %zu: not dissected as 5gli (%s)\n", i, col[0]);
            failures++;
        }
        snprintf(want, sizeof want, "%u", p->version);
        expect(i, "version", col[1], want);
        snprintf(want, sizeof want, "%u", p->pdu_type);
        expect(i, "pdu type", col[2], want);
        snprintf(want, sizeof want, "%u", p->header_length);
        expect(i, "header length", col[3], want);
        snprintf(want, sizeof want, "%u", p->payload_length);
        expect(i, "payload length", col[4], want);
        snprintf(want, sizeof want, "%u", p->payload_format);
        expect(i, "payload format", col[5], want);
        snprintf(want, sizeof want, "%u", p->payload_direction);
        expect(i, "payload direction", col[6], want);
        li_uuid_format(p->xid, want);
        expect(i, "xid", col[7], want);
        uint8_t c[8];
        li_put_be64(c, p->correlation_id);
        hex(c, 8, want);
        expect(i, "correlation id", col[8], want);
        /* Attribute types in order: tshark skips types 1-4 and 19+ (reference/README). */
        want[0] = '\0';
        size_t pos = 0;
        x2x3_attr a;
        while (x2x3_pdu_attr_next(p, &pos, &a) == LI_OK)
            if (a.type >= 5 && a.type <= 18)
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%u",
                         want[0] ? "|" : "", a.type);
        expect(i, "attribute types", col[9], want);
        if (x2x3_pdu_has(p, X2X3_ATTR_IPID)) {
            hex(p->ipid.p, p->ipid.len, want);
            expect(i, "interception point id", col[10], want);
        }
        if (x2x3_pdu_has(p, X2X3_ATTR_SEQ)) {
            /* tshark declares it FT_UINT16 but reads the 4 octets (values kept < 2^16). */
            snprintf(want, sizeof want, "%u", p->seq);
            expect(i, "sequence number", col[11], want);
        }
        if (x2x3_pdu_has(p, X2X3_ATTR_TIMESTAMP)) {
            time_t t = (time_t)p->ts_sec;
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(tmp, sizeof tmp, "%b %e, %Y %H:%M:%S", &tm);
            snprintf(want, sizeof want, "%s.%09u UTC", tmp, p->ts_nsec);
            char *sp = strstr(want, "  ");   /* %e pads the day with a space */
            if (sp)
                memmove(sp, sp + 1, strlen(sp));
            expect(i, "timestamp", col[12], want);
        }
        char addr[64];
        if (p->src_addr_len == 4) {
            snprintf(addr, sizeof addr, "%u.%u.%u.%u", p->src_addr[0], p->src_addr[1],
                     p->src_addr[2], p->src_addr[3]);
            expect(i, "source IPv4", col[13], addr);
            snprintf(addr, sizeof addr, "%u.%u.%u.%u", p->dst_addr[0], p->dst_addr[1],
                     p->dst_addr[2], p->dst_addr[3]);
            expect(i, "destination IPv4", col[14], addr);
        } else if (p->src_addr_len == 16) {
            expect(i, "source IPv6", col[15], "2001:db8::1");
            expect(i, "destination IPv6", col[16], "2001:db8::ab02");
        }
        if (x2x3_pdu_has(p, X2X3_ATTR_SRC_PORT)) {
            snprintf(want, sizeof want, "%u", p->src_port);
            expect(i, "source port", col[17], want);
            snprintf(want, sizeof want, "%u", p->dst_port);
            expect(i, "destination port", col[18], want);
            snprintf(want, sizeof want, "%u", p->ip_protocol);
            expect(i, "ip protocol", col[19], want);
        }
        want[0] = '\0';
        for (size_t k = 0; k < samples[i].n_targets; k++) {
            hex((const uint8_t *)samples[i].targets[k], strlen(samples[i].targets[k]), tmp);
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", k ? "|" : "", tmp);
        }
        expect(i, "matched targets", col[20], want);
        if (p->payload_len) {
            hex(p->payload, p->payload_len, want);
            /* tshark hands SIP and MSRP to their dissectors instead of showing bytes. */
            if (col[21][0] || (p->payload_format != X2X3_FORMAT_SIP &&
                               p->payload_format != X2X3_FORMAT_MSRP))
                expect(i, "payload", col[21], want);
            else if (!strstr(col[0], p->payload_format == X2X3_FORMAT_SIP ? "sip" : "msrp")) {
                fprintf(stderr, "PDU %zu: payload not handed to the SIP/MSRP dissector (%s)\n",
                        i, col[0]);
                failures++;
            }
        }
        i++;
    }
    if (f)
        fclose(f);
    if (i != n_samples) {
        fprintf(stderr, "tshark showed %zu PDUs of %zu\n", i, n_samples);
        failures++;
    }
    printf("tshark decoded %zu PDUs, %d field mismatches\n", i, failures);
    for (size_t k = 0; k < n_samples; k++) {
        li_buf_free(&samples[k].attrs);
        li_buf_free(&samples[k].wire);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (failures == 0 && system(cmd) != 0)
        return 1;
    return failures ? 1 : 0;
}
