/* IP fragment reassembly for limf-siptap (RFC 791 3.2, RFC 8200 4.5): a large SIP
 * message over UDP (an INVITE with SDP beyond the path MTU) arrives as fragments.
 * Bounded: bytes held in total, and a timeout per datagram; a datagram whose fragments
 * overlap inconsistently, exceed 65535 octets or exceed the bound is dropped (RFC 5722
 * policy for overlaps). Time is capture time. Not thread-safe. */
#ifndef SIPTAP_FRAG_H
#define SIPTAP_FRAG_H

#include <stddef.h>
#include <stdint.h>

#include "li_err.h"
#include "siptap_pkt.h"

typedef struct x2x3_frag x2x3_frag;

/* NULL when out of memory. */
x2x3_frag *x2x3_frag_new(size_t max_bytes, uint64_t timeout_ns);
/* NULL is a no-op. */
void x2x3_frag_free(x2x3_frag *fr);

/* Adds one fragment (pkt->kind FRAGMENT). When it completes its datagram, returns LI_OK
 * and sets *out to the whole datagram decoded (siptap_pkt_decode_l4 over the reassembled
 * payload; out->payload points into storage owned by fr, valid until the next call);
 * LI_AGAIN while fragments are missing; LI_ERR_PROTO when the datagram is dropped. */
li_err x2x3_frag_add(x2x3_frag *fr, const siptap_pkt *pkt, uint64_t ts_ns, siptap_pkt *out);

/* Drops datagrams older than the timeout. */
void x2x3_frag_expire(x2x3_frag *fr, uint64_t now_ns);

#endif
