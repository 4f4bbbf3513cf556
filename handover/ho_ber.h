/* Minimal BER (ITU-T X.690) for the HI2/HI3 PS-PDU: definite lengths only, tags below 31
 * on the writing side, any tag number on the reading side. Pure: no I/O, no logging, no
 * allocation but the caller's li_buf growing. */
#ifndef HO_BER_H
#define HO_BER_H

#include <stddef.h>
#include <stdint.h>

#include "li_bytes.h"
#include "li_err.h"

/* Identifier octet classes (X.690 8.1.2). */
#define HO_BER_UNIVERSAL 0x00
#define HO_BER_CONTEXT 0x80
#define HO_BER_CONSTRUCTED 0x20

/* Deepest nesting the writer accepts; limf's PS-PDUs need 10 (an IPv6 address in an IRI). */
#define HO_BER_MAX_DEPTH 16

/* A writer appends to a caller-owned li_buf. Errors are sticky: after the first failure
 * every call is a no-op and ho_ber_w_end() returns that error, so encoders read as a flat
 * list of fields. Constructed values are opened with a one-octet length placeholder and
 * closed by patching it; a long length shifts the content once (X.690 8.1.3.5). */
typedef struct ho_ber_w {
    li_buf *buf;
    size_t open[HO_BER_MAX_DEPTH]; /* offsets of the length placeholders */
    int depth;
    li_err err;
} ho_ber_w;

void ho_ber_w_init(ho_ber_w *w, li_buf *buf);
/* identifier: class | constructed | tag number (< 31). */
void ho_ber_open(ho_ber_w *w, uint8_t identifier);
void ho_ber_close(ho_ber_w *w);
/* A primitive value with the given identifier and content octets. */
void ho_ber_bytes(ho_ber_w *w, uint8_t identifier, const void *p, size_t n);
/* INTEGER / ENUMERATED content of a non-negative value (X.690 8.3: minimal two's complement). */
void ho_ber_uint(ho_ber_w *w, uint8_t identifier, uint64_t v);
/* NULL (X.690 8.8). */
void ho_ber_null(ho_ber_w *w, uint8_t identifier);
/* OBJECT IDENTIFIER (relative = 0) or RELATIVE-OID (relative = 1) from its arcs (X.690 8.19, 8.20). */
void ho_ber_oid(ho_ber_w *w, uint8_t identifier, const uint32_t *arcs, size_t n, int relative);
/* LI_OK, or the first error; also LI_ERR_INVAL when a constructed value was left open. */
li_err ho_ber_w_end(ho_ber_w *w);

/* One decoded TLV; content points into the caller's buffer. */
typedef struct ho_ber_tlv {
    uint8_t cls;          /* HO_BER_UNIVERSAL, HO_BER_CONTEXT, 0x40 application, 0xC0 private */
    int constructed;
    uint32_t tag;
    li_slice content;
} ho_ber_tlv;

/* Reads the next TLV from s and advances it. LI_AGAIN when s ends inside the TLV (more
 * stream bytes may complete it), LI_ERR_PROTO for indefinite lengths, lengths over 2^32,
 * or tags over 2^28. */
li_err ho_ber_next(li_slice *s, ho_ber_tlv *out);
/* Like ho_ber_next, but a truncated TLV is LI_ERR_PROTO (inside a complete outer value). */
li_err ho_ber_next_in(li_slice *s, ho_ber_tlv *out);

/* Content readers; LI_ERR_PROTO when the content does not fit. */
li_err ho_ber_get_uint(li_slice content, uint64_t max, uint64_t *v);
/* Decodes the arcs of an OBJECT IDENTIFIER (relative = 0) or RELATIVE-OID into arcs[max]. */
li_err ho_ber_get_oid(li_slice content, int relative, uint32_t *arcs, size_t max, size_t *n);

#endif
