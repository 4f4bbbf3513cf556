/* See siptap_pkt_build.h. */
#include "siptap_pkt_build.h"

#include <arpa/inet.h>
#include <string.h>

#include "li_bytes.h"
#include "siptap_pkt.h"

static size_t put_l4(uint8_t *o, const pb_spec *s)
{
    li_put_be16(o, s->sport);
    li_put_be16(o + 2, s->dport);
    if (s->proto == 17) {
        li_put_be16(o + 4, (uint16_t)(8 + s->len));
        li_put_be16(o + 6, 0);
        if (s->len)
            memcpy(o + 8, s->payload, s->len);
        return 8 + s->len;
    }
    li_put_be32(o + 4, s->seq);
    li_put_be32(o + 8, 1);
    o[12] = 6 << 4;  /* 24-octet header: one option word (MSS-like NOPs) */
    o[13] = s->flags ? s->flags : (X2X3_TCP_ACK | X2X3_TCP_PSH);
    li_put_be16(o + 14, 65535);
    li_put_be32(o + 16, 0);
    memset(o + 20, 1, 4);
    if (s->len)
        memcpy(o + 24, s->payload, s->len);
    return 24 + s->len;
}

static size_t l4_len(const pb_spec *s)
{
    return (s->proto == 17 ? 8 : 24) + s->len;
}

static size_t put_ip(uint8_t *o, const pb_spec *s)
{
    size_t l4 = l4_len(s);
    if (strchr(s->src, ':')) {
        size_t ext = s->v6_ext ? 16 : 0;
        memset(o, 0, 40);
        o[0] = 0x60;
        li_put_be16(o + 4, (uint16_t)(ext + l4));
        o[6] = s->v6_ext ? 0 : s->proto;
        o[7] = 64;
        inet_pton(AF_INET6, s->src, o + 8);
        inet_pton(AF_INET6, s->dst, o + 24);
        if (s->v6_ext) {
            /* Hop-by-hop (8 octets, PadN) then destination options (8 octets, PadN). */
            uint8_t *e = o + 40;
            memset(e, 0, 16);
            e[0] = 60;
            e[2] = 1;
            e[3] = 4;
            e[8] = s->proto;
            e[10] = 1;
            e[11] = 4;
        }
        return 40 + ext + put_l4(o + 40 + ext, s);
    }
    memset(o, 0, 20);
    o[0] = 0x45;
    li_put_be16(o + 2, (uint16_t)(20 + l4));
    o[8] = 64;
    o[9] = s->proto;
    inet_pton(AF_INET, s->src, o + 12);
    inet_pton(AF_INET, s->dst, o + 16);
    return 20 + put_l4(o + 20, s);
}

size_t pb_frame(uint8_t *out, size_t cap, const pb_spec *s)
{
    int v6 = strchr(s->src, ':') != NULL;
    size_t need = 20 + 24 + 40 + 16 + l4_len(s) + 8;
    if (cap < need)
        return 0;
    size_t off = 0;
    uint16_t et = v6 ? 0x86dd : 0x0800;
    switch (s->linktype) {
    case SIPTAP_DLT_EN10MB:
        memset(out, 0, 12);
        out[0] = 2;
        out[6] = 2;
        off = 12;
        if (s->vlan) {
            li_put_be16(out + off, 0x8100);
            li_put_be16(out + off + 2, 42);
            off += 4;
        }
        li_put_be16(out + off, et);
        off += 2;
        break;
    case SIPTAP_DLT_NULL: {
        uint32_t fam = v6 ? 10 : 2;  /* host order, as Linux writes DLT_NULL */
        memcpy(out, &fam, 4);
        off = 4;
        break;
    }
    case SIPTAP_DLT_LINUX_SLL:
        memset(out, 0, 16);
        li_put_be16(out + 14, et);
        off = 16;
        break;
    case SIPTAP_DLT_LINUX_SLL2:
        memset(out, 0, 20);
        li_put_be16(out, et);
        off = 20;
        break;
    default:
        break;  /* raw IP */
    }
    return off + put_ip(out + off, s);
}

void pb_ipv4_fragments(const pb_spec *s, size_t mtu, uint16_t id,
                       void (*emit)(void *ctx, const uint8_t *frame, size_t len), void *ctx)
{
    uint8_t whole[70000];
    size_t n = put_ip(whole, s);
    const uint8_t *data = whole + 20;
    size_t dlen = n - 20;
    for (size_t off = 0; off < dlen; off += mtu) {
        size_t chunk = dlen - off < mtu ? dlen - off : mtu;
        uint8_t f[70000];
        memcpy(f, whole, 20);
        li_put_be16(f + 2, (uint16_t)(20 + chunk));
        li_put_be16(f + 4, id);
        li_put_be16(f + 6, (uint16_t)((off + chunk < dlen ? 0x2000 : 0) | (off / 8)));
        memcpy(f + 20, data + off, chunk);
        emit(ctx, f, 20 + chunk);
    }
}

static void put_le32(FILE *f, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    fwrite(b, 1, 4, f);
}

FILE *pb_pcap_open(const char *path, int linktype)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return NULL;
    put_le32(f, 0xa1b2c3d4);
    put_le32(f, 2 | 4u << 16);  /* version 2.4 */
    put_le32(f, 0);
    put_le32(f, 0);
    put_le32(f, 262144);
    put_le32(f, linktype == SIPTAP_DLT_RAW ? X2X3_LINKTYPE_RAW : (uint32_t)linktype);
    return f;
}

void pb_pcap_write(FILE *f, uint64_t ts_ns, const uint8_t *frame, size_t len)
{
    put_le32(f, (uint32_t)(ts_ns / 1000000000u));
    put_le32(f, (uint32_t)(ts_ns % 1000000000u / 1000u));
    put_le32(f, (uint32_t)len);
    put_le32(f, (uint32_t)len);
    fwrite(frame, 1, len, f);
}
