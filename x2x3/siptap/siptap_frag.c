/* See siptap_frag.h. Few datagrams are ever in flight, so they sit in a short list;
 * coverage is a bitmap of 8-octet blocks (fragment offsets are multiples of 8). */
#include "siptap_frag.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DGRAM 65535u
#define BLOCKS ((MAX_DGRAM + 7) / 8)

typedef struct dgram {
    struct dgram *next;
    int family;
    uint8_t src[16], dst[16];
    uint8_t proto;
    uint32_t id;
    uint64_t first_ns;
    size_t total;           /* known once the last fragment arrived; 0 before */
    size_t cap;
    uint8_t *data;
    uint8_t have[(BLOCKS + 7) / 8];
} dgram;

struct x2x3_frag {
    size_t max_bytes;
    uint64_t timeout_ns;
    size_t held;
    dgram *list;
    uint8_t *done;          /* the last completed datagram, returned to the caller */
};

x2x3_frag *x2x3_frag_new(size_t max_bytes, uint64_t timeout_ns)
{
    x2x3_frag *fr = calloc(1, sizeof *fr);
    if (!fr)
        return NULL;
    fr->max_bytes = max_bytes;
    fr->timeout_ns = timeout_ns;
    return fr;
}

static void dgram_drop(x2x3_frag *fr, dgram **pp)
{
    dgram *d = *pp;
    *pp = d->next;
    fr->held -= d->cap;
    free(d->data);
    free(d);
}

void x2x3_frag_free(x2x3_frag *fr)
{
    if (!fr)
        return;
    while (fr->list)
        dgram_drop(fr, &fr->list);
    free(fr->done);
    free(fr);
}

void x2x3_frag_expire(x2x3_frag *fr, uint64_t now_ns)
{
    for (dgram **pp = &fr->list; *pp;) {
        if (now_ns > (*pp)->first_ns && now_ns - (*pp)->first_ns > fr->timeout_ns)
            dgram_drop(fr, pp);
        else
            pp = &(*pp)->next;
    }
}

static int complete(const dgram *d)
{
    if (!d->total)
        return 0;
    for (size_t b = 0; b < (d->total + 7) / 8; b++)
        if (!(d->have[b / 8] & (1u << (b % 8))))
            return 0;
    return 1;
}

li_err x2x3_frag_add(x2x3_frag *fr, const siptap_pkt *pkt, uint64_t ts_ns, siptap_pkt *out)
{
    size_t off = pkt->frag_offset;
    size_t len = pkt->payload_len;
    dgram **pp = &fr->list;
    while (*pp && !((*pp)->id == pkt->frag_id && (*pp)->proto == pkt->ip_protocol &&
                    (*pp)->family == pkt->family && !memcmp((*pp)->src, pkt->src, 16) &&
                    !memcmp((*pp)->dst, pkt->dst, 16)))
        pp = &(*pp)->next;
    dgram *d = *pp;
    if (!d) {
        d = calloc(1, sizeof *d);
        if (!d)
            return LI_ERR_NOMEM;
        d->family = pkt->family;
        memcpy(d->src, pkt->src, 16);
        memcpy(d->dst, pkt->dst, 16);
        d->proto = pkt->ip_protocol;
        d->id = pkt->frag_id;
        d->first_ns = ts_ns;
        d->next = fr->list;
        fr->list = d;
        pp = &fr->list;
    }
    /* Every fragment but the last carries a multiple of 8 octets (RFC 791, RFC 8200). */
    if (off > MAX_DGRAM || len > MAX_DGRAM - off || (pkt->frag_more && len % 8) ||
        (!pkt->frag_more && d->total && d->total != off + len) ||
        (d->total && off + len > d->total)) {
        dgram_drop(fr, pp);
        return LI_ERR_PROTO;
    }
    if (off + len > d->cap) {
        size_t cap = off + len;
        if (cap - d->cap > fr->max_bytes - fr->held) {
            dgram_drop(fr, pp);
            return LI_ERR_PROTO;
        }
        uint8_t *n = realloc(d->data, cap);
        if (!n)
            return LI_ERR_NOMEM;
        fr->held += cap - d->cap;
        d->data = n;
        d->cap = cap;
    }
    if (!pkt->frag_more)
        d->total = off + len;
    for (size_t b = off / 8; b < (off + len + 7) / 8; b++) {
        if (d->have[b / 8] & (1u << (b % 8))) {
            /* Overlap: accept an identical retransmission, drop anything else. */
            size_t s = b * 8, e = s + 8 < off + len ? s + 8 : off + len;
            if (s < off)
                s = off;
            if (memcmp(d->data + s, pkt->payload + (s - off), e - s) != 0) {
                dgram_drop(fr, pp);
                return LI_ERR_PROTO;
            }
        }
        d->have[b / 8] |= (uint8_t)(1u << (b % 8));
    }
    if (len)
        memcpy(d->data + off, pkt->payload, len);
    if (!complete(d))
        return LI_AGAIN;
    free(fr->done);
    fr->done = d->data;
    fr->held -= d->cap;
    size_t total = d->total;
    *pp = d->next;
    free(d);
    *out = *pkt;
    out->frag_offset = 0;
    out->frag_more = 0;
    return siptap_pkt_decode_l4(fr->done, total, out);
}
