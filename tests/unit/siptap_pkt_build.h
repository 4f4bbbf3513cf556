/* Test helper: builds captured frames (link layer + IPv4/IPv6 + UDP/TCP) and writes
 * classic pcap files, for limf-siptap's unit tests, integration test and benchmark. */
#ifndef SIPTAP_PKT_BUILD_H
#define SIPTAP_PKT_BUILD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct pb_spec {
    int linktype;           /* SIPTAP_DLT_* */
    const char *src, *dst;  /* numeric addresses; IPv6 when they contain ':' */
    uint16_t sport, dport;
    uint8_t proto;          /* 6 or 17 */
    uint32_t seq;           /* TCP */
    uint8_t flags;          /* TCP; 0 means ACK|PSH */
    const uint8_t *payload;
    size_t len;
    int vlan;               /* Ethernet: add an 802.1Q tag */
    int v6_ext;             /* IPv6: add hop-by-hop and destination-options headers */
} pb_spec;

/* Writes the frame into out (room for cap octets); returns its length (0 if too small). */
size_t pb_frame(uint8_t *out, size_t cap, const pb_spec *s);

/* Splits the UDP datagram of spec into IPv4 fragments of at most `mtu` octets of IP
 * payload (a multiple of 8) and calls emit for each frame (raw IP link type). */
void pb_ipv4_fragments(const pb_spec *s, size_t mtu, uint16_t id,
                       void (*emit)(void *ctx, const uint8_t *frame, size_t len), void *ctx);

/* A classic pcap file (microsecond timestamps, little-endian). */
FILE *pb_pcap_open(const char *path, int linktype);
void pb_pcap_write(FILE *f, uint64_t ts_ns, const uint8_t *frame, size_t len);

#endif
