#include "x2x3_pdu.h"

#include <string.h>

/* Payload formats allowed per PDU type (TS 103 221-2 clause 5.3 table 4): bit f set
 * when format f may be carried. 17 (PS-PDU.Payload, both types) was added by CR019r2 in
 * V1.8.1. */
#define F(n) (1u << (n))
static const uint32_t x2_formats = F(1) | F(2) | F(3) | F(4) | F(5) | F(6) | F(9) | F(10) |
                                   F(11) | F(14) | F(15) | F(17);
static const uint32_t x3_formats = F(1) | F(2) | F(3) | F(4) | F(5) | F(6) | F(7) | F(8) |
                                   F(12) | F(13) | F(15) | F(16) | F(17);
#undef F

int x2x3_format_allowed(uint16_t pdu_type, uint16_t payload_format)
{
    if (payload_format > 31)
        return 0;
    switch (pdu_type) {
    case X2X3_PDU_X2:
        return x2_formats >> payload_format & 1u;
    case X2X3_PDU_X3:
        return x3_formats >> payload_format & 1u;
    case X2X3_PDU_KEEPALIVE:
    case X2X3_PDU_KEEPALIVE_ACK:
        return payload_format == X2X3_FORMAT_KEEPALIVE;
    default:
        return 0;
    }
}

static li_err fail(x2x3_decode_error *err, const char *reason, size_t offset, li_err code)
{
    if (err) {
        err->reason = reason;
        err->offset = offset;
    }
    return code;
}

/* Fixed sizes of the typed attributes (clause 5.3 table 5); 0: variable. */
static size_t fixed_len(uint16_t type)
{
    switch (type) {
    case X2X3_ATTR_SEQ:
        return 4;
    case X2X3_ATTR_SRC_IPV4:
    case X2X3_ATTR_DST_IPV4:
        return 4;
    case X2X3_ATTR_SRC_IPV6:
    case X2X3_ATTR_DST_IPV6:
        return 16;
    case X2X3_ATTR_SRC_PORT:
    case X2X3_ATTR_DST_PORT:
        return 2;
    case X2X3_ATTR_IP_PROTOCOL:
        return 1;
    default:
        return 0;
    }
}

/* Fills the typed field of one attribute. off is the attribute's offset in the PDU. */
static li_err take_attr(x2x3_pdu *pdu, const x2x3_attr *a, size_t off, x2x3_decode_error *err)
{
    size_t want = fixed_len(a->type);
    if (want && a->len != want)
        return fail(err, "attribute has the wrong length for its type", off, LI_ERR_PROTO);
    if (a->type == X2X3_ATTR_MATCHED_TARGET) {
        /* Repeatable (OpenLI sends several). Forms other than the standard XML one are
         * accepted and flagged (x2x3_target_decode). */
        pdu->n_matched_targets++;
        if (x2x3_target_decode(li_slice_of(a->value, a->len), NULL, 0) != 1)
            pdu->flags |= X2X3_FLAG_TARGET_TEXT;
        return LI_OK;
    }
    if (a->type == 0 || a->type > X2X3_ATTR_LAST)
        pdu->flags |= X2X3_FLAG_UNKNOWN_ATTR;   /* kept opaque, passed on as received */
    if (a->type >= 32)
        return LI_OK;
    int repeatable = a->type == X2X3_ATTR_OTHER_TARGET || a->type == X2X3_ATTR_XID_INFO ||
                     a->type <= X2X3_ATTR_PROPRIETARY;
    if (x2x3_pdu_has(pdu, a->type)) {
        if (!repeatable)
            pdu->flags |= X2X3_FLAG_DUPLICATE_ATTR;
        return LI_OK;
    }
    /* Source and destination addresses: v4 and v6 of one side are exclusive. */
    if ((a->type == X2X3_ATTR_SRC_IPV4 || a->type == X2X3_ATTR_SRC_IPV6) && pdu->src_addr_len) {
        pdu->flags |= X2X3_FLAG_DUPLICATE_ATTR;
        return LI_OK;
    }
    if ((a->type == X2X3_ATTR_DST_IPV4 || a->type == X2X3_ATTR_DST_IPV6) && pdu->dst_addr_len) {
        pdu->flags |= X2X3_FLAG_DUPLICATE_ATTR;
        return LI_OK;
    }
    switch (a->type) {
    case X2X3_ATTR_NFID:
        pdu->nfid = li_slice_of(a->value, a->len);
        break;
    case X2X3_ATTR_IPID:
        pdu->ipid = li_slice_of(a->value, a->len);
        break;
    case X2X3_ATTR_SEQ:
        pdu->seq = li_get_be32(a->value);
        break;
    case X2X3_ATTR_TIMESTAMP:
        /* Standard: u32 seconds + u32 nanoseconds. lippycat sends 12 octets, u64 seconds
         * + u32 nanoseconds: accepted and flagged. */
        if (a->len == 8) {
            pdu->ts_sec = li_get_be32(a->value);
            pdu->ts_nsec = li_get_be32(a->value + 4);
        } else if (a->len == 12) {
            pdu->ts_sec = li_get_be64(a->value);
            pdu->ts_nsec = li_get_be32(a->value + 8);
            pdu->flags |= X2X3_FLAG_TIMESTAMP_12;
        } else {
            return fail(err, "timestamp attribute is neither 8 nor 12 octets", off,
                        LI_ERR_PROTO);
        }
        if (pdu->ts_nsec >= 1000000000u)
            return fail(err, "timestamp nanoseconds above 999999999", off, LI_ERR_PROTO);
        break;
    case X2X3_ATTR_SRC_IPV4:
    case X2X3_ATTR_SRC_IPV6:
        memcpy(pdu->src_addr, a->value, a->len);
        pdu->src_addr_len = (uint8_t)a->len;
        break;
    case X2X3_ATTR_DST_IPV4:
    case X2X3_ATTR_DST_IPV6:
        memcpy(pdu->dst_addr, a->value, a->len);
        pdu->dst_addr_len = (uint8_t)a->len;
        break;
    case X2X3_ATTR_SRC_PORT:
        pdu->src_port = li_get_be16(a->value);
        break;
    case X2X3_ATTR_DST_PORT:
        pdu->dst_port = li_get_be16(a->value);
        break;
    case X2X3_ATTR_IP_PROTOCOL:
        pdu->ip_protocol = a->value[0];
        break;
    case X2X3_ATTR_SDP:
        pdu->sdp = li_slice_of(a->value, a->len);
        break;
    default:
        break;   /* opaque: kept in attrs, passed on as received */
    }
    pdu->present |= 1u << a->type;
    return LI_OK;
}

li_err x2x3_pdu_decode(const uint8_t *buf, size_t len, size_t max_pdu, x2x3_pdu *out,
                       size_t *used, x2x3_decode_error *err)
{
    if (max_pdu == 0)
        max_pdu = X2X3_MAX_PDU_DEFAULT;
    if (len < X2X3_HEADER_LEN) {
        *used = X2X3_HEADER_LEN;
        return LI_AGAIN;
    }
    memset(out, 0, sizeof *out);
    out->version = li_get_be16(buf);
    out->pdu_type = li_get_be16(buf + 2);
    out->header_length = li_get_be32(buf + 4);
    out->payload_length = li_get_be32(buf + 8);
    out->payload_format = li_get_be16(buf + 12);
    out->payload_direction = li_get_be16(buf + 14);
    memcpy(out->xid, buf + 16, 16);
    out->correlation_id = li_get_be64(buf + 32);

    /* Clause 5.2.2: version 0.5 is 00 05; one implementation writes 05 00. Others are
     * accepted and reported, since the rest of the header still frames the stream. */
    if (out->version == 0x0500)
        out->flags |= X2X3_FLAG_VERSION_SWAPPED;
    else if (out->version != X2X3_VERSION)
        out->flags |= X2X3_FLAG_VERSION_OTHER;
    if (out->pdu_type < X2X3_PDU_X2 || out->pdu_type > X2X3_PDU_KEEPALIVE_ACK)
        out->flags |= X2X3_FLAG_UNKNOWN_PDU_TYPE;
    if (out->header_length < X2X3_HEADER_LEN)
        return fail(err, "header length below 40", 4, LI_ERR_PROTO);
    /* Size checks by subtraction, before anything else is read or buffered. */
    if (out->header_length > max_pdu)
        return fail(err, "header length above the maximum PDU size", 4, LI_ERR_TOO_BIG);
    if (out->payload_length > max_pdu - out->header_length)
        return fail(err, "PDU size above the maximum", 8, LI_ERR_TOO_BIG);
    int keepalive = out->pdu_type == X2X3_PDU_KEEPALIVE ||
                    out->pdu_type == X2X3_PDU_KEEPALIVE_ACK;
    if (keepalive && out->payload_length != 0)
        return fail(err, "keepalive with payload", 8, LI_ERR_PROTO);
    /* Keepalives carry format 0 (reserved); X2 and X3 a format of table 4 allowed for
     * their type. Keepalive format/direction are not checked: they carry nothing. A
     * format or direction a later edition added (17 came with V1.8.1) is flagged, not
     * refused: refusing it would block the POI, which sends the PDU again and again. */
    if (out->pdu_type == X2X3_PDU_X2 || out->pdu_type == X2X3_PDU_X3) {
        if (!x2x3_format_allowed(out->pdu_type, out->payload_format))
            out->flags |= X2X3_FLAG_UNKNOWN_FORMAT;
        if (out->payload_direction > X2X3_DIR_NA)
            out->flags |= X2X3_FLAG_UNKNOWN_DIRECTION;
    }

    size_t total = (size_t)out->header_length + out->payload_length;
    if (len < total) {
        *used = total;
        return LI_AGAIN;
    }
    out->attrs = buf + X2X3_HEADER_LEN;
    out->attrs_len = out->header_length - X2X3_HEADER_LEN;
    out->payload = buf + out->header_length;
    out->payload_len = out->payload_length;

    size_t pos = 0;
    while (pos < out->attrs_len) {
        size_t off = X2X3_HEADER_LEN + pos;
        if (out->attrs_len - pos < 4)
            return fail(err, "attribute header overruns the header length", off, LI_ERR_PROTO);
        x2x3_attr a;
        a.type = li_get_be16(out->attrs + pos);
        a.len = li_get_be16(out->attrs + pos + 2);
        if (a.len > out->attrs_len - pos - 4)
            return fail(err, "attribute value overruns the header length", off, LI_ERR_PROTO);
        a.value = out->attrs + pos + 4;
        li_err e = take_attr(out, &a, off, err);
        if (e != LI_OK)
            return e;
        pos += 4 + (size_t)a.len;
    }
    /* OpenLI ignores a keepalive without a sequence number; lippycat sends one. We
     * accept it (and answer it without one), flagged. */
    if (out->pdu_type == X2X3_PDU_KEEPALIVE && !x2x3_pdu_has(out, X2X3_ATTR_SEQ))
        out->flags |= X2X3_FLAG_KEEPALIVE_NO_SEQ;
    *used = total;
    return LI_OK;
}

li_err x2x3_pdu_attr_next(const x2x3_pdu *pdu, size_t *pos, x2x3_attr *out)
{
    /* The decoder validated the TLV chain, so only the end needs checking. */
    if (*pos >= pdu->attrs_len || pdu->attrs_len - *pos < 4)
        return LI_ERR_NOT_FOUND;
    out->type = li_get_be16(pdu->attrs + *pos);
    out->len = li_get_be16(pdu->attrs + *pos + 2);
    if (out->len > pdu->attrs_len - *pos - 4)
        return LI_ERR_NOT_FOUND;
    out->value = pdu->attrs + *pos + 4;
    *pos += 4 + (size_t)out->len;
    return LI_OK;
}

li_err x2x3_pdu_matched_target(const x2x3_pdu *pdu, size_t index, li_slice *out)
{
    size_t pos = 0;
    x2x3_attr a;
    while (x2x3_pdu_attr_next(pdu, &pos, &a) == LI_OK) {
        if (a.type != X2X3_ATTR_MATCHED_TARGET)
            continue;
        if (index-- == 0) {
            *out = li_slice_of(a.value, a.len);
            return LI_OK;
        }
    }
    return LI_ERR_NOT_FOUND;
}

uint64_t x2x3_pdu_timestamp_ns(const x2x3_pdu *pdu)
{
    if (!x2x3_pdu_has(pdu, X2X3_ATTR_TIMESTAMP))
        return 0;
    return pdu->ts_sec * 1000000000u + pdu->ts_nsec;
}

li_err x2x3_attr_put(li_buf *b, uint16_t type, const void *value, size_t len)
{
    if (len > UINT16_MAX)
        return LI_ERR_TOO_BIG;
    li_err e = li_buf_reserve(b, 4 + len);
    if (e != LI_OK)
        return e;
    li_put_be16(b->data + b->len, type);
    li_put_be16(b->data + b->len + 2, (uint16_t)len);
    if (len)
        memcpy(b->data + b->len + 4, value, len);
    b->len += 4 + len;
    return LI_OK;
}

li_err x2x3_attr_put_u8(li_buf *b, uint16_t type, uint8_t v)
{
    return x2x3_attr_put(b, type, &v, 1);
}

li_err x2x3_attr_put_u16(li_buf *b, uint16_t type, uint16_t v)
{
    uint8_t p[2];
    li_put_be16(p, v);
    return x2x3_attr_put(b, type, p, sizeof p);
}

li_err x2x3_attr_put_u32(li_buf *b, uint16_t type, uint32_t v)
{
    uint8_t p[4];
    li_put_be32(p, v);
    return x2x3_attr_put(b, type, p, sizeof p);
}

li_err x2x3_attr_put_timestamp(li_buf *b, uint64_t ns)
{
    uint8_t p[8];
    li_put_be32(p, (uint32_t)(ns / 1000000000u));
    li_put_be32(p + 4, (uint32_t)(ns % 1000000000u));
    return x2x3_attr_put(b, X2X3_ATTR_TIMESTAMP, p, sizeof p);
}

/* Header and attributes, with room reserved for payload_room octets behind them. */
static li_err encode_head(li_buf *out, const x2x3_pdu *pdu, size_t payload_room)
{
    if (pdu->attrs_len > UINT32_MAX - X2X3_HEADER_LEN || pdu->payload_len > UINT32_MAX)
        return LI_ERR_TOO_BIG;
    size_t hl = X2X3_HEADER_LEN + pdu->attrs_len;
    if (pdu->payload_len > SIZE_MAX - hl)
        return LI_ERR_TOO_BIG;
    li_err e = li_buf_reserve(out, hl + payload_room);
    if (e != LI_OK)
        return e;
    uint8_t *h = out->data + out->len;
    li_put_be16(h, pdu->version);
    li_put_be16(h + 2, pdu->pdu_type);
    li_put_be32(h + 4, (uint32_t)hl);
    li_put_be32(h + 8, (uint32_t)pdu->payload_len);
    li_put_be16(h + 12, pdu->payload_format);
    li_put_be16(h + 14, pdu->payload_direction);
    memcpy(h + 16, pdu->xid, 16);
    li_put_be64(h + 32, pdu->correlation_id);
    if (pdu->attrs_len)
        memcpy(h + X2X3_HEADER_LEN, pdu->attrs, pdu->attrs_len);
    out->len += hl;
    return LI_OK;
}

li_err x2x3_pdu_encode_head(li_buf *out, const x2x3_pdu *pdu)
{
    return encode_head(out, pdu, 0);
}

li_err x2x3_pdu_encode(li_buf *out, const x2x3_pdu *pdu)
{
    li_err e = encode_head(out, pdu, pdu->payload_len);
    if (e == LI_OK && pdu->payload_len) {
        memcpy(out->data + out->len, pdu->payload, pdu->payload_len);
        out->len += pdu->payload_len;
    }
    return e;
}

/* Keepalive and its answer (clause 5.4): header only, nil XID, correlation 0, format and
 * direction 0, sequence number as attribute 8 (header length 48). */
static li_err keepalive(li_buf *out, uint16_t type, const uint32_t *seq)
{
    uint8_t attr[8];
    x2x3_pdu p;
    memset(&p, 0, sizeof p);
    p.version = X2X3_VERSION;
    p.pdu_type = type;
    if (seq) {
        li_put_be16(attr, X2X3_ATTR_SEQ);
        li_put_be16(attr + 2, 4);
        li_put_be32(attr + 4, *seq);
        p.attrs = attr;
        p.attrs_len = sizeof attr;
    }
    return x2x3_pdu_encode(out, &p);
}

li_err x2x3_keepalive_encode(li_buf *out, uint32_t seq)
{
    return keepalive(out, X2X3_PDU_KEEPALIVE, &seq);
}

li_err x2x3_keepalive_ack_encode(li_buf *out, const x2x3_pdu *ka)
{
    return keepalive(out, X2X3_PDU_KEEPALIVE_ACK,
                     x2x3_pdu_has(ka, X2X3_ATTR_SEQ) ? &ka->seq : NULL);
}

/* --- target identifiers (attributes 17, 18) --- */

/* limf's identity types and their TS 103 221-1 TargetIdentifier elements. */
static const struct {
    const char *type, *element;
} target_types[] = {
    { "sip-uri", "sipUri" }, { "tel-uri", "telUri" }, { "impu", "impu" },
    { "e164", "e164Number" },
};
#define N_TARGET_TYPES (sizeof target_types / sizeof target_types[0])

/* The other TargetIdentifier choices of TS 103 221-1 (no limf type of their own). */
static const char *const other_elements[] = {
    "imsi", "imei", "macAddress", "ipv4Address", "ipv6Address", "ipv4Cidr", "ipv6Cidr",
    "tcpPort", "tcpPortRange", "udpPort", "udpPortRange", "emailAddress",
    "internationalizedEmailAddress", "h323Uri", "impi", "nai", "radiusAttribute",
    "gtpuTunnelId", "gtpcTunnelId", "callPartyRole", "nonLocalIdentifier", "supiimsi",
    "supinai", "suci", "peiImei", "peiImeiCheckDigit", "peiImeisv", "gpsiMsisdn", "gpsiNai",
    "eui64", "serviceAccessIdentifier", "hashedIdentifier", "targetIdentifierExtension",
};

static int put(char *out, size_t size, size_t *n, const char *p, size_t len)
{
    if (*n + len >= size)
        return 0;
    memcpy(out + *n, p, len);
    *n += len;
    out[*n] = '\0';
    return 1;
}

li_err x2x3_target_encode(const char *ident, char *out, size_t out_size, size_t *len)
{
    size_t n = 0;
    if (out_size)
        out[0] = '\0';
    if (ident[0] == '<') {
        if (!put(out, out_size, &n, ident, strlen(ident)))
            return LI_ERR_TOO_BIG;
        goto done;
    }
    const char *colon = strchr(ident, ':');
    size_t i = 0;
    while (colon && i < N_TARGET_TYPES &&
           !(strlen(target_types[i].type) == (size_t)(colon - ident) &&
             memcmp(target_types[i].type, ident, (size_t)(colon - ident)) == 0))
        i++;
    if (!colon || i == N_TARGET_TYPES)
        return LI_ERR_INVAL;
    const char *el = target_types[i].element, *v = colon + 1;
    if (strcmp(el, "e164Number") == 0 && *v == '+')
        v++;
    int ok = put(out, out_size, &n, "<", 1) && put(out, out_size, &n, el, strlen(el)) &&
             put(out, out_size, &n, ">", 1);
    for (; ok && *v; v++) {
        const char *esc = *v == '&' ? "&amp;" : *v == '<' ? "&lt;" : *v == '>' ? "&gt;" : NULL;
        ok = esc ? put(out, out_size, &n, esc, strlen(esc)) : put(out, out_size, &n, v, 1);
    }
    ok = ok && put(out, out_size, &n, "</", 2) && put(out, out_size, &n, el, strlen(el)) &&
         put(out, out_size, &n, ">", 1);
    if (!ok) {
        if (out_size)
            out[0] = '\0';
        return LI_ERR_TOO_BIG;
    }
done:
    if (len)
        *len = n;
    return LI_OK;
}

static int ieq(const char *a, const uint8_t *b, size_t n)
{
    if (strlen(a) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((a[i] | 0x20) != (b[i] | 0x20))
            return 0;
    return 1;
}

/* Writes "type:" and the value (XML entities of the standard form undone) into out. */
static int emit(char *out, size_t size, const char *type, const uint8_t *v, size_t len,
                int unescape)
{
    size_t n = 0;
    if (!size)
        return 1;
    out[0] = '\0';
    if (!put(out, size, &n, type, strlen(type)) || !put(out, size, &n, ":", 1))
        return 0;
    for (size_t i = 0; i < len; i++) {
        static const struct { const char *ent; char c; } ents[] = {
            { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' },
            { "&apos;", '\'' } };
        size_t k = 0;
        while (unescape && v[i] == '&' && k < 5 &&
               !(len - i >= strlen(ents[k].ent) &&
                 memcmp(v + i, ents[k].ent, strlen(ents[k].ent)) == 0))
            k++;
        if (unescape && v[i] == '&' && k < 5) {
            if (!put(out, size, &n, &ents[k].c, 1))
                return 0;
            i += strlen(ents[k].ent) - 1;
        } else if (!put(out, size, &n, (const char *)v + i, 1)) {
            return 0;
        }
    }
    return 1;
}

int x2x3_target_decode(li_slice raw, char *out, size_t out_size)
{
    const uint8_t *p = raw.p;
    size_t len = raw.len;
    if (len > 2 && p[0] == '<') {
        /* <element>value</element>, the element named the same both times. */
        const uint8_t *gt = memchr(p, '>', len);
        if (!gt)
            return -1;
        size_t el = (size_t)(gt - p) - 1;
        size_t vstart = el + 2;
        if (len < vstart + el + 3 || p[len - 1] != '>' || p[len - el - 3] != '<' ||
            p[len - el - 2] != '/' || memcmp(p + 1, p + len - el - 1, el) != 0)
            return -1;
        size_t vlen = len - vstart - el - 3;
        for (size_t i = 0; i < N_TARGET_TYPES; i++) {
            if (!ieq(target_types[i].element, p + 1, el))
                continue;
            int exact = memcmp(target_types[i].element, p + 1, el) == 0;
            if (!emit(out, out_size, target_types[i].type, p + vstart, vlen, 1))
                return -1;
            return exact ? 1 : 0;
        }
        /* Another identity of the schema (imsi, nai, ...): standard, named as the element. */
        for (size_t i = 0; i < sizeof other_elements / sizeof other_elements[0]; i++) {
            if (strlen(other_elements[i]) != el || memcmp(other_elements[i], p + 1, el) != 0)
                continue;
            return emit(out, out_size, other_elements[i], p + vstart, vlen, 1) ? 1 : -1;
        }
        return -1;
    }
    for (size_t i = 0; i < N_TARGET_TYPES; i++) {   /* limf's "type:value" */
        size_t tl = strlen(target_types[i].type);
        if (len > tl && p[tl] == ':' && memcmp(p, target_types[i].type, tl) == 0)
            return emit(out, out_size, target_types[i].type, p + tl + 1, len - tl - 1, 0) ? 0
                                                                                      : -1;
    }
    if (len > 4 && (memcmp(p, "sip:", 4) == 0 || (len > 5 && memcmp(p, "sips:", 5) == 0)))
        return emit(out, out_size, "sip-uri", p, len, 0) ? 0 : -1;
    if (len > 4 && memcmp(p, "tel:", 4) == 0)
        return emit(out, out_size, "tel-uri", p, len, 0) ? 0 : -1;
    return -1;
}
