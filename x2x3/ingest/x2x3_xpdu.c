#include "x2x3_xpdu.h"

#include <string.h>

/* Protocol Buffers encoding (protobuf.dev, "Encoding"): a key is the varint
 * (field number << 3 | wire type); wire type 0 is a varint, 2 a varint length and the
 * octets. */
enum { WT_VARINT = 0, WT_LEN = 2 };

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static size_t key_size(unsigned field)
{
    return varint_size((uint64_t)field << 3);
}

/* proto3: a zero scalar, an empty string or empty bytes are not written. */
static size_t uint_size(unsigned field, uint64_t v)
{
    return v ? key_size(field) + varint_size(v) : 0;
}

static size_t len_size(unsigned field, size_t len)
{
    return key_size(field) + varint_size(len) + len;
}

static size_t bytes_size(unsigned field, ProtobufCBinaryData b)
{
    return b.len ? len_size(field, b.len) : 0;
}

static size_t str_size(unsigned field, const char *s)
{
    return s && *s ? len_size(field, strlen(s)) : 0;
}

static uint8_t *put_uint(uint8_t *p, unsigned field, uint64_t v)
{
    if (!v)
        return p;
    p = put_varint(p, (uint64_t)field << 3 | WT_VARINT);
    return put_varint(p, v);
}

static uint8_t *put_len(uint8_t *p, unsigned field, const void *data, size_t len)
{
    p = put_varint(p, (uint64_t)field << 3 | WT_LEN);
    p = put_varint(p, len);
    memcpy(p, data, len);
    return p + len;
}

static uint8_t *put_bytes(uint8_t *p, unsigned field, ProtobufCBinaryData b)
{
    return b.len ? put_len(p, field, b.data, b.len) : p;
}

static uint8_t *put_str(uint8_t *p, unsigned field, const char *s)
{
    return s && *s ? put_len(p, field, s, strlen(s)) : p;
}

size_t x2x3_xpdu_size(const Limf__XPdu *x)
{
    size_t n = str_size(1, x->poi_id) + bytes_size(2, x->poi_cert_sha256) +
               uint_size(3, x->received_ns) + uint_size(4, x->version) +
               uint_size(5, x->pdu_type) + uint_size(6, x->payload_format) +
               uint_size(7, x->payload_direction) + bytes_size(8, x->xid) +
               bytes_size(9, x->correlation_id) + uint_size(10, x->has_seq != 0) +
               uint_size(11, x->seq) + uint_size(12, x->timestamp_ns);
    /* Repeated: every element, empty ones too. */
    for (size_t i = 0; i < x->n_matched_targets; i++)
        n += len_size(13, strlen(x->matched_targets[i]));
    return n + bytes_size(14, x->src_addr) + bytes_size(15, x->dst_addr) +
           uint_size(16, x->src_port) + uint_size(17, x->dst_port) +
           uint_size(18, x->ip_protocol) + str_size(19, x->sdp) +
           bytes_size(20, x->attributes) + bytes_size(21, x->payload) +
           str_size(22, x->ingest_id) + str_size(23, x->poi_address);
}

size_t x2x3_xpdu_pack(const Limf__XPdu *x, uint8_t *out)
{
    uint8_t *p = out;
    p = put_str(p, 1, x->poi_id);
    p = put_bytes(p, 2, x->poi_cert_sha256);
    p = put_uint(p, 3, x->received_ns);
    p = put_uint(p, 4, x->version);
    p = put_uint(p, 5, x->pdu_type);
    p = put_uint(p, 6, x->payload_format);
    p = put_uint(p, 7, x->payload_direction);
    p = put_bytes(p, 8, x->xid);
    p = put_bytes(p, 9, x->correlation_id);
    p = put_uint(p, 10, x->has_seq != 0);
    p = put_uint(p, 11, x->seq);
    p = put_uint(p, 12, x->timestamp_ns);
    for (size_t i = 0; i < x->n_matched_targets; i++)
        p = put_len(p, 13, x->matched_targets[i], strlen(x->matched_targets[i]));
    p = put_bytes(p, 14, x->src_addr);
    p = put_bytes(p, 15, x->dst_addr);
    p = put_uint(p, 16, x->src_port);
    p = put_uint(p, 17, x->dst_port);
    p = put_uint(p, 18, x->ip_protocol);
    p = put_str(p, 19, x->sdp);
    p = put_bytes(p, 20, x->attributes);
    p = put_bytes(p, 21, x->payload);
    p = put_str(p, 22, x->ingest_id);
    p = put_str(p, 23, x->poi_address);
    return (size_t)(p - out);
}
