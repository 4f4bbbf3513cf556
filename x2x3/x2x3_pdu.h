/* ETSI TS 103 221-2 X2/X3 PDU codec: encode, and a resumable decoder over a caller's
 * buffer. Pure (docs/CODING.md 1): no I/O, no allocation in decode, no logging. A decoded PDU
 * points into the caller's buffer, which must outlive it.
 *
 * Wire format (TS 103 221-2 clause 5): a 40-octet big-endian header (version, PDU type,
 * header length, payload length, payload format, payload direction, XID, correlation ID),
 * conditional attributes as {u16 type, u16 length, value} TLVs up to the header length,
 * then the payload. PDUs follow each other on the stream. */
#ifndef X2X3_PDU_H
#define X2X3_PDU_H

#include <stddef.h>
#include <stdint.h>

#include "li_bytes.h"
#include "li_err.h"

#define X2X3_HEADER_LEN 40
#define X2X3_VERSION 0x0005          /* the form we send (clause 5.2.2, major 0 minor 5) */
#define X2X3_MAX_PDU_DEFAULT (16u * 1024 * 1024)

/* PDU types (clause 5.2.3). */
#define X2X3_PDU_X2 1
#define X2X3_PDU_X3 2
#define X2X3_PDU_KEEPALIVE 3
#define X2X3_PDU_KEEPALIVE_ACK 4

/* Payload formats (clause 5.3, table 4). */
#define X2X3_FORMAT_KEEPALIVE 0
#define X2X3_FORMAT_ETSI_102232 1
#define X2X3_FORMAT_3GPP_33128 2
#define X2X3_FORMAT_3GPP_33108 3
#define X2X3_FORMAT_PROPRIETARY 4
#define X2X3_FORMAT_IPV4 5
#define X2X3_FORMAT_IPV6 6
#define X2X3_FORMAT_ETHERNET 7
#define X2X3_FORMAT_RTP 8
#define X2X3_FORMAT_SIP 9
#define X2X3_FORMAT_DHCP 10
#define X2X3_FORMAT_RADIUS 11
#define X2X3_FORMAT_GTPU 12
#define X2X3_FORMAT_MSRP 13
#define X2X3_FORMAT_EPS_IRI 14
#define X2X3_FORMAT_MIME 15
#define X2X3_FORMAT_3GPP_UNSTRUCTURED 16
#define X2X3_FORMAT_ETSI_PS_PDU_PAYLOAD 17 /* TS 102 232-1 PS-PDU.Payload, V1.8.1 on */

/* Payload direction (clause 5.2.6). */
#define X2X3_DIR_RESERVED 0          /* keepalives */
#define X2X3_DIR_UNKNOWN 1
#define X2X3_DIR_TO_TARGET 2
#define X2X3_DIR_FROM_TARGET 3
#define X2X3_DIR_MULTIPLE 4
#define X2X3_DIR_NA 5

/* Conditional attribute types (clause 5.3, table 5). */
#define X2X3_ATTR_ETSI_102232 1
#define X2X3_ATTR_3GPP_33128 2
#define X2X3_ATTR_3GPP_33108 3
#define X2X3_ATTR_PROPRIETARY 4
#define X2X3_ATTR_DID 5
#define X2X3_ATTR_NFID 6
#define X2X3_ATTR_IPID 7
#define X2X3_ATTR_SEQ 8
#define X2X3_ATTR_TIMESTAMP 9
#define X2X3_ATTR_SRC_IPV4 10
#define X2X3_ATTR_DST_IPV4 11
#define X2X3_ATTR_SRC_IPV6 12
#define X2X3_ATTR_DST_IPV6 13
#define X2X3_ATTR_SRC_PORT 14
#define X2X3_ATTR_DST_PORT 15
#define X2X3_ATTR_IP_PROTOCOL 16
#define X2X3_ATTR_MATCHED_TARGET 17
#define X2X3_ATTR_OTHER_TARGET 18
#define X2X3_ATTR_MIME_TYPE 19
#define X2X3_ATTR_MIME_ENCODING 20
#define X2X3_ATTR_XID_INFO 21
#define X2X3_ATTR_SDP 22
#define X2X3_ATTR_LAST X2X3_ATTR_SDP  /* the highest type TS 103 221-2 V1.10.1 defines */

/* Variants seen in the field, accepted and reported (reference/README.md). */
#define X2X3_FLAG_VERSION_SWAPPED 0x01u  /* version written 05 00 */
#define X2X3_FLAG_VERSION_OTHER 0x02u    /* any other version number */
#define X2X3_FLAG_TIMESTAMP_12 0x04u     /* 12-octet timestamp: u64 seconds + u32 ns */
#define X2X3_FLAG_TARGET_TEXT 0x08u      /* a matched target not in the standard XML form
                                            (x2x3_target_decode) */
#define X2X3_FLAG_KEEPALIVE_NO_SEQ 0x10u /* keepalive without a sequence number */
#define X2X3_FLAG_DUPLICATE_ATTR 0x20u   /* a non-repeatable attribute repeated: first wins */
/* Values this codec does not know, from a later edition of the standard or a vendor: the
 * header still frames the PDU (clause 5.2), so it is decoded, not refused, and the
 * receiver decides (limf-ingest passes it on and reports it, docs/X2X3.md). */
#define X2X3_FLAG_UNKNOWN_PDU_TYPE 0x40u   /* not 1-4 */
#define X2X3_FLAG_UNKNOWN_FORMAT 0x80u     /* not allowed for the PDU type by table 4 */
#define X2X3_FLAG_UNKNOWN_DIRECTION 0x100u /* above 5 */
#define X2X3_FLAG_UNKNOWN_ATTR 0x200u      /* an attribute type 0 or above 22 */
#define X2X3_FLAG_UNKNOWN_ANY (X2X3_FLAG_UNKNOWN_PDU_TYPE | X2X3_FLAG_UNKNOWN_FORMAT | \
                               X2X3_FLAG_UNKNOWN_DIRECTION | X2X3_FLAG_UNKNOWN_ATTR)

/* One conditional attribute; value points into the decoded buffer. */
typedef struct x2x3_attr {
    uint16_t type;
    uint16_t len;
    const uint8_t *value;
} x2x3_attr;

/* A decoded PDU. Header fields as on the wire; the typed fields are set when their
 * attribute is present (bit `1u << type` of `present`, types 1-31). */
typedef struct x2x3_pdu {
    uint16_t version;
    uint16_t pdu_type;
    uint32_t header_length;
    uint32_t payload_length;
    uint16_t payload_format;
    uint16_t payload_direction;
    uint8_t xid[16];
    uint64_t correlation_id;
    const uint8_t *attrs;      /* every conditional attribute TLV as received */
    size_t attrs_len;
    const uint8_t *payload;
    size_t payload_len;
    uint32_t flags;            /* X2X3_FLAG_* */
    uint32_t present;          /* 1u << attribute type, for types below 32 */
    li_slice ipid;             /* 7 */
    li_slice nfid;             /* 6 */
    uint32_t seq;              /* 8 */
    uint64_t ts_sec;           /* 9: seconds since the Unix epoch */
    uint32_t ts_nsec;          /* 9: nanoseconds, below 10^9 */
    uint8_t src_addr[16];      /* 10 or 12 */
    uint8_t src_addr_len;      /* 0, 4 or 16 */
    uint8_t dst_addr[16];      /* 11 or 13 */
    uint8_t dst_addr_len;
    uint16_t src_port;         /* 14 */
    uint16_t dst_port;         /* 15 */
    uint8_t ip_protocol;       /* 16 */
    size_t n_matched_targets;  /* 17 (repeatable): read with x2x3_pdu_matched_target() */
    li_slice sdp;              /* 22 */
} x2x3_pdu;

static inline int x2x3_pdu_has(const x2x3_pdu *pdu, unsigned type)
{
    return type < 32 && (pdu->present >> type & 1u);
}

/* Why a decode failed and where (offset from the start of the PDU's first byte). */
typedef struct x2x3_decode_error {
    const char *reason;        /* static text */
    size_t offset;
} x2x3_decode_error;

/* Decodes one PDU from the start of buf.
 * LI_OK: *out is filled (pointing into buf) and *used is the PDU's size.
 * LI_AGAIN: buf holds only part of the PDU; *used is the number of bytes needed to make
 *   progress (40 until the header is complete, then the whole PDU's size), already
 *   checked against max_pdu, so a caller may reserve that much.
 * LI_ERR_PROTO: malformed (the stream cannot be framed or a known field is wrong); err
 *   (may be NULL) says why and at which offset. Unknown values are not malformed: they
 *   set X2X3_FLAG_UNKNOWN_* (X2 and X3 carry format 0 or an unknown format; a PDU of an
 *   unknown type has its attributes parsed like X2/X3 ones).
 * LI_ERR_TOO_BIG: header + payload above max_pdu (0: X2X3_MAX_PDU_DEFAULT), detected
 *   from the header alone, before the caller buffers anything more. */
li_err x2x3_pdu_decode(const uint8_t *buf, size_t len, size_t max_pdu, x2x3_pdu *out,
                       size_t *used, x2x3_decode_error *err);

/* Iterates over the attributes of a decoded PDU: *pos starts at 0. LI_OK with *out
 * filled, LI_ERR_NOT_FOUND after the last one. */
li_err x2x3_pdu_attr_next(const x2x3_pdu *pdu, size_t *pos, x2x3_attr *out);

/* The index-th matched target identifier (attribute 17) as received. */
li_err x2x3_pdu_matched_target(const x2x3_pdu *pdu, size_t index, li_slice *out);

/* Timestamp (attribute 9) as ns since the epoch; 0 when absent. */
uint64_t x2x3_pdu_timestamp_ns(const x2x3_pdu *pdu);

/* Is this payload format allowed in this PDU type (clause 5.3 table 4)? The sender's
 * check; the decoder only flags a format that is not. */
int x2x3_format_allowed(uint16_t pdu_type, uint16_t payload_format);

/* Encoding. Attributes go into a caller's li_buf with the x2x3_attr_put* helpers (they
 * fail with LI_ERR_TOO_BIG above 65535 octets); x2x3_pdu_encode() then appends the
 * header (header length = 40 + attrs_len), the attributes and the payload to out, taking
 * version, pdu_type, payload_format, payload_direction, xid, correlation_id, attrs,
 * attrs_len, payload and payload_len from pdu (the other fields are ignored). */
li_err x2x3_attr_put(li_buf *b, uint16_t type, const void *value, size_t len);
li_err x2x3_attr_put_u8(li_buf *b, uint16_t type, uint8_t v);
li_err x2x3_attr_put_u16(li_buf *b, uint16_t type, uint16_t v);
li_err x2x3_attr_put_u32(li_buf *b, uint16_t type, uint32_t v);
/* Attribute 9, standard 8-octet form, from ns since the epoch. */
li_err x2x3_attr_put_timestamp(li_buf *b, uint64_t ns);
li_err x2x3_pdu_encode(li_buf *out, const x2x3_pdu *pdu);
/* The same without the payload: the header (announcing payload_len octets) and the
 * attributes, for a caller that places the payload right behind them itself. */
li_err x2x3_pdu_encode_head(li_buf *out, const x2x3_pdu *pdu);

/* Matched and Other Target Identifier (attributes 17, 18; clauses 5.3.18/5.3.19): the
 * content of the X1 TargetIdentifier element (TS 103 221-1) without the element itself,
 * UTF-8, e.g. "<sipUri>sip:alice@example.com</sipUri>". limf names identities
 * "type:value" (x1_msg.h: sip-uri, tel-uri, impu, e164).
 *
 * x2x3_target_encode: limf's "type:value" into the standard form, the value escaped for
 * XML (an e164 value loses a leading '+': InternationalE164 is digits only); text that
 * already starts with '<' is copied. NUL-terminated; *len (may be NULL) without the NUL.
 * LI_ERR_TOO_BIG when out is too small, LI_ERR_INVAL for an unknown type.
 *
 * x2x3_target_decode: limf's "type:value" back from any form seen in the field: the
 * standard one (1), or (0) limf's own "type:value" of before, a bare URI (lippycat), or
 * an element name in another case (sipgate's "<E164Number>"). -1 when none of these. */
li_err x2x3_target_encode(const char *ident, char *out, size_t out_size, size_t *len);
int x2x3_target_decode(li_slice raw, char *out, size_t out_size);

/* A keepalive (type 3) carrying sequence number seq, appended to out (clause 5.4). */
li_err x2x3_keepalive_encode(li_buf *out, uint32_t seq);
/* The answer (type 4) to a decoded keepalive: nil XID, correlation 0, format 0,
 * direction 0, and the keepalive's sequence number echoed when it had one. */
li_err x2x3_keepalive_ack_encode(li_buf *out, const x2x3_pdu *keepalive);

#endif
