/* x2x3_xpdu: the limf.xpdu record (common/proto/xpdu.proto) encoded for limf-ingest's hot
 * path. protobuf-c packs by walking the message descriptor field by field, twice (size,
 * then bytes): that was a fifth of the ingest's CPU per PDU. This encoder knows the one
 * message and writes the same bytes protobuf-c writes (fields in number order, proto3
 * zero values left out, every element of a repeated field kept), which the unit test
 * checks byte for byte against protobuf-c. Decoding stays with protobuf-c. Pure: no
 * allocation, no I/O. A field added to XPdu must be added here too: the test counts
 * the descriptor's fields and fails until it is. */
#ifndef X2X3_XPDU_H
#define X2X3_XPDU_H

#include <stddef.h>
#include <stdint.h>

#include "xpdu.pb-c.h"

/* The exact encoded size of x. */
size_t x2x3_xpdu_size(const Limf__XPdu *x);

/* Writes x into out, which holds at least x2x3_xpdu_size(x) octets; returns that size. */
size_t x2x3_xpdu_pack(const Limf__XPdu *x, uint8_t *out);

#endif
