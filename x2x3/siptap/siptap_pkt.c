/* Frame decoding for limf-siptap; see siptap_pkt.h. Every length is checked by
 * subtraction against what remains (docs/CODING.md 3); nothing is cast onto the frame. */
#include "siptap_pkt.h"

#include <string.h>
#include <sys/socket.h>

#include "li_bytes.h"

enum {
    ETHERTYPE_IPV4 = 0x0800,
    ETHERTYPE_IPV6 = 0x86dd,
    ETHERTYPE_VLAN = 0x8100,   /* IEEE 802.1Q */
    ETHERTYPE_QINQ = 0x88a8,   /* IEEE 802.1ad */
    ETHERTYPE_VLAN_OLD = 0x9100,
    MAX_VLAN_TAGS = 4,
    MAX_IPV6_EXT = 16          /* more extension headers than this is hostile */
};

static li_err decode_ip(const uint8_t *ip, size_t len, siptap_pkt *out);

/* BSD loopback stores the address family in the capturing host's byte order (DLT_NULL)
 * or in network order (DLT_LOOP); IPv6 has a different value on every BSD. */
static int null_family_is(uint32_t fam, int v6)
{
    if (!v6)
        return fam == 2;
    return fam == 10 || fam == 24 || fam == 28 || fam == 30;
}

static li_err decode_null(const uint8_t *f, size_t len, int network_order, siptap_pkt *out)
{
    if (len < 4)
        return LI_ERR_PROTO;
    uint32_t be = li_get_be32(f);
    uint32_t le = (uint32_t)f[0] | (uint32_t)f[1] << 8 | (uint32_t)f[2] << 16 |
                  (uint32_t)f[3] << 24;
    int is_ip = null_family_is(be, 0) || null_family_is(be, 1);
    if (!network_order)
        is_ip = is_ip || null_family_is(le, 0) || null_family_is(le, 1);
    if (!is_ip)
        return LI_OK;
    return decode_ip(f + 4, len - 4, out);
}

static li_err decode_ethertype(uint16_t type, const uint8_t *p, size_t len, siptap_pkt *out)
{
    if (type != ETHERTYPE_IPV4 && type != ETHERTYPE_IPV6)
        return LI_OK;
    return decode_ip(p, len, out);
}

static li_err decode_ethernet(const uint8_t *f, size_t len, siptap_pkt *out)
{
    if (len < 14)
        return LI_ERR_PROTO;
    size_t off = 12;
    uint16_t type = li_get_be16(f + off);
    off += 2;
    for (int tags = 0; type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ ||
                       type == ETHERTYPE_VLAN_OLD; tags++) {
        if (tags == MAX_VLAN_TAGS || len - off < 4)
            return LI_ERR_PROTO;
        type = li_get_be16(f + off + 2);
        off += 4;
    }
    return decode_ethertype(type, f + off, len - off, out);
}

/* On a cooked capture of several interfaces ("any") the kernel hands every loopback
 * frame over twice, going out and coming in. libpcap drops the outgoing copy of a live
 * capture itself; a file written by another capturer may hold both, so the outgoing copy
 * (packet type PACKET_OUTGOING on an ARPHRD_LOOPBACK interface) is skipped here too. */
static int loopback_copy(unsigned packet_type, unsigned arphrd)
{
    return packet_type == 4 && arphrd == 772;
}

li_err siptap_pkt_decode(int linktype, const uint8_t *frame, size_t caplen, siptap_pkt *out)
{
    memset(out, 0, sizeof *out);
    switch (linktype) {
    case SIPTAP_DLT_NULL:
        return decode_null(frame, caplen, 0, out);
    case SIPTAP_DLT_LOOP:
        return decode_null(frame, caplen, 1, out);
    case SIPTAP_DLT_EN10MB:
        return decode_ethernet(frame, caplen, out);
    case SIPTAP_DLT_RAW:
    case SIPTAP_DLT_RAW_BSD:
    case X2X3_LINKTYPE_RAW:
    case SIPTAP_DLT_IPV4:
    case SIPTAP_DLT_IPV6:
        return decode_ip(frame, caplen, out);
    case SIPTAP_DLT_LINUX_SLL:
        /* 16-octet header: packet type, ARPHRD type, ..., protocol type last. */
        if (caplen < 16)
            return LI_ERR_PROTO;
        if (loopback_copy(li_get_be16(frame), li_get_be16(frame + 2)))
            return LI_OK;
        return decode_ethertype(li_get_be16(frame + 14), frame + 16, caplen - 16, out);
    case SIPTAP_DLT_LINUX_SLL2:
        /* 20-octet header: protocol type first, ARPHRD type at 8, packet type at 10. */
        if (caplen < 20)
            return LI_ERR_PROTO;
        if (loopback_copy(frame[10], li_get_be16(frame + 8)))
            return LI_OK;
        return decode_ethertype(li_get_be16(frame), frame + 20, caplen - 20, out);
    default:
        return LI_ERR_PROTO;
    }
}

/* RFC 791 3.1. */
static li_err decode_ipv4(const uint8_t *ip, size_t len, siptap_pkt *out)
{
    if (len < 20)
        return LI_ERR_PROTO;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    size_t total = li_get_be16(ip + 2);
    if (ihl < 20 || total < ihl || total > len)
        return LI_ERR_PROTO;
    out->family = AF_INET;
    out->ip_protocol = ip[9];
    memcpy(out->src, ip + 12, 4);
    memcpy(out->dst, ip + 16, 4);
    uint16_t frag = li_get_be16(ip + 6);
    uint32_t offset = (uint32_t)(frag & 0x1fff) * 8;
    int more = (frag & 0x2000) != 0;
    if (offset != 0 || more) {
        out->kind = SIPTAP_PKT_FRAGMENT;
        out->frag_id = li_get_be16(ip + 4);
        out->frag_offset = offset;
        out->frag_more = more;
        out->payload = ip + ihl;
        out->payload_len = total - ihl;
        return LI_OK;
    }
    return siptap_pkt_decode_l4(ip + ihl, total - ihl, out);
}

/* RFC 8200 4: walk the extension headers to the upper-layer header. */
static li_err decode_ipv6(const uint8_t *ip, size_t len, siptap_pkt *out)
{
    if (len < 40)
        return LI_ERR_PROTO;
    size_t plen = li_get_be16(ip + 4);
    if (plen > len - 40)
        return LI_ERR_PROTO;  /* jumbograms (payload length 0 + option) do not carry SIP */
    out->family = AF_INET6;
    memcpy(out->src, ip + 8, 16);
    memcpy(out->dst, ip + 24, 16);
    uint8_t next = ip[6];
    const uint8_t *p = ip + 40;
    size_t left = plen;
    int fragment = 0;
    for (int n = 0;; n++) {
        size_t hlen;
        switch (next) {
        case 0:    /* hop-by-hop options */
        case 43:   /* routing */
        case 60:   /* destination options */
        case 135:  /* mobility */
        case 139:  /* HIP */
        case 140:  /* shim6 */
            if (left < 8)
                return LI_ERR_PROTO;
            hlen = ((size_t)p[1] + 1) * 8;
            break;
        case 51:   /* AH (RFC 4302 2.2): length in 4-octet units, minus 2 */
            if (left < 8)
                return LI_ERR_PROTO;
            hlen = ((size_t)p[1] + 2) * 4;
            break;
        case 44:   /* fragment (RFC 8200 4.5) */
            if (left < 8)
                return LI_ERR_PROTO;
            hlen = 8;
            {
                uint16_t fo = li_get_be16(p + 2);
                out->frag_offset = (uint32_t)(fo & 0xfff8);
                out->frag_more = fo & 1;
                out->frag_id = li_get_be32(p + 4);
                /* An atomic fragment (offset 0, no more) is a whole datagram (RFC 6946). */
                fragment = out->frag_offset != 0 || out->frag_more;
            }
            break;
        default:
            out->ip_protocol = next;
            if (fragment) {
                out->kind = SIPTAP_PKT_FRAGMENT;
                out->payload = p;
                out->payload_len = left;
                return LI_OK;
            }
            return siptap_pkt_decode_l4(p, left, out);
        }
        if (n == MAX_IPV6_EXT || hlen > left)
            return LI_ERR_PROTO;
        next = p[0];
        p += hlen;
        left -= hlen;
        if (fragment) {
            /* Everything after the fragment header is the fragmentable part: hand it to
             * reassembly whole, the upper-layer protocol being the fragment header's
             * next header. */
            out->ip_protocol = next;
            out->kind = SIPTAP_PKT_FRAGMENT;
            out->payload = p;
            out->payload_len = left;
            return LI_OK;
        }
    }
}

static li_err decode_ip(const uint8_t *ip, size_t len, siptap_pkt *out)
{
    if (len < 1)
        return LI_ERR_PROTO;
    switch (ip[0] >> 4) {
    case 4:
        return decode_ipv4(ip, len, out);
    case 6:
        return decode_ipv6(ip, len, out);
    default:
        return LI_ERR_PROTO;
    }
}

li_err siptap_pkt_decode_l4(const uint8_t *l4, size_t len, siptap_pkt *out)
{
    switch (out->ip_protocol) {
    case 17: {  /* RFC 768 */
        if (len < 8)
            return LI_ERR_PROTO;
        size_t ulen = li_get_be16(l4 + 4);
        /* A UDP length of 0 is legal only for IPv6 jumbograms (RFC 2675); otherwise
         * the datagram must hold its header and fit in the IP payload. */
        if (ulen < 8 || ulen > len)
            return LI_ERR_PROTO;
        out->kind = SIPTAP_PKT_UDP;
        out->sport = li_get_be16(l4);
        out->dport = li_get_be16(l4 + 2);
        out->payload = l4 + 8;
        out->payload_len = ulen - 8;
        return LI_OK;
    }
    case 6: {  /* RFC 9293 3.1 */
        if (len < 20)
            return LI_ERR_PROTO;
        size_t doff = (size_t)(l4[12] >> 4) * 4;
        if (doff < 20 || doff > len)
            return LI_ERR_PROTO;
        out->kind = SIPTAP_PKT_TCP;
        out->sport = li_get_be16(l4);
        out->dport = li_get_be16(l4 + 2);
        out->tcp_seq = li_get_be32(l4 + 4);
        out->tcp_flags = l4[13];
        out->payload = l4 + doff;
        out->payload_len = len - doff;
        return LI_OK;
    }
    default:
        out->kind = SIPTAP_PKT_OTHER;
        return LI_OK;
    }
}
