/* Pure decoding of captured frames down to UDP/TCP payloads (limf-siptap's first stage).
 * Link layers: Ethernet (with 802.1Q/802.1ad tags), Linux cooked capture v1 (SLL) and
 * v2 (SLL2), BSD loopback (DLT_NULL / DLT_LOOP, either byte order) and raw IP. Network
 * layers: IPv4 (options; fragments detected and described for reassembly) and IPv6
 * (hop-by-hop, routing, destination options, fragment and AH extension headers).
 * Transport: UDP and TCP (options skipped, sequence number and flags kept).
 * No I/O, no allocation, no logging (docs/CODING.md 1); results point into the caller's frame. */
#ifndef SIPTAP_PKT_H
#define SIPTAP_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "li_err.h"

/* Link-layer types, as libpcap's pcap_datalink() reports them (DLT_* values) and as
 * pcap files store them (LINKTYPE_* values); both spellings of raw IP are accepted. */
enum {
    SIPTAP_DLT_NULL = 0,
    SIPTAP_DLT_EN10MB = 1,
    SIPTAP_DLT_RAW = 12,        /* DLT_RAW on Linux */
    SIPTAP_DLT_RAW_BSD = 14,    /* DLT_RAW on OpenBSD */
    X2X3_LINKTYPE_RAW = 101,  /* LINKTYPE_RAW in pcap files */
    SIPTAP_DLT_LOOP = 108,      /* OpenBSD loopback: family in network byte order */
    SIPTAP_DLT_LINUX_SLL = 113,
    SIPTAP_DLT_IPV4 = 228,
    SIPTAP_DLT_IPV6 = 229,
    SIPTAP_DLT_LINUX_SLL2 = 276
};

/* TCP flags (RFC 9293 3.1). */
enum {
    X2X3_TCP_FIN = 0x01,
    X2X3_TCP_SYN = 0x02,
    X2X3_TCP_RST = 0x04,
    X2X3_TCP_PSH = 0x08,
    X2X3_TCP_ACK = 0x10
};

/* What a decoded frame carries. */
typedef enum siptap_pkt_kind {
    SIPTAP_PKT_OTHER = 0,    /* not IP, or an IP protocol other than UDP/TCP: skip it */
    SIPTAP_PKT_UDP = 1,
    SIPTAP_PKT_TCP = 2,
    SIPTAP_PKT_FRAGMENT = 3  /* an IP fragment: the `frag` fields describe it and
                              `payload` is the fragment's data (after the IP headers) */
} siptap_pkt_kind;

typedef struct siptap_pkt {
    siptap_pkt_kind kind;
    int family;              /* AF_INET or AF_INET6 for any IP datagram, else 0 */
    uint8_t src[16], dst[16]; /* IPv4 addresses in the first 4 octets */
    uint8_t ip_protocol;     /* upper-layer protocol (6 TCP, 17 UDP, ...) */
    uint16_t sport, dport;   /* UDP/TCP only */
    uint32_t tcp_seq;        /* TCP only */
    uint8_t tcp_flags;       /* TCP only */
    /* Fragments (kind FRAGMENT): identification (IPv4 16 bits, IPv6 32 bits), offset of
     * this fragment's data in octets, whether more fragments follow. */
    uint32_t frag_id;
    uint32_t frag_offset;
    int frag_more;
    const uint8_t *payload;  /* points into the frame */
    size_t payload_len;
} siptap_pkt;

/* Decodes one captured frame of link type `linktype` (caplen octets at `frame`).
 * LI_OK: *out describes it (kind OTHER for what limf-siptap does not look at, including
 * the outgoing copy of a loopback frame in a Linux cooked capture, seen again incoming).
 * LI_ERR_PROTO: malformed or truncated (a header or the IP payload runs past caplen,
 * bad version, bad header length, UDP length beyond the IP payload, ...).
 * Ethernet padding after the IP datagram is ignored (the IP length rules). */
li_err siptap_pkt_decode(int linktype, const uint8_t *frame, size_t caplen, siptap_pkt *out);

/* Decodes the UDP or TCP header at `l4` (len octets) for protocol out->ip_protocol and
 * completes *out (kind, ports, payload): used on a reassembled fragmented datagram. */
li_err siptap_pkt_decode_l4(const uint8_t *l4, size_t len, siptap_pkt *out);

#endif
