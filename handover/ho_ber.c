#include "ho_ber.h"

void ho_ber_w_init(ho_ber_w *w, li_buf *buf)
{
    w->buf = buf;
    w->depth = 0;
    w->err = LI_OK;
}

static void put(ho_ber_w *w, const void *p, size_t n)
{
    if (w->err == LI_OK)
        w->err = li_buf_append(w->buf, p, n);
}

/* Length octets (X.690 8.1.3): short form below 128, else long form. */
static size_t len_octets(size_t len, uint8_t out[9])
{
    if (len < 128) {
        out[0] = (uint8_t)len;
        return 1;
    }
    size_t n = 0;
    for (size_t v = len; v; v >>= 8)
        n++;
    out[0] = (uint8_t)(0x80 | n);
    for (size_t i = 0; i < n; i++)
        out[n - i] = (uint8_t)(len >> (8 * i));
    return n + 1;
}

void ho_ber_open(ho_ber_w *w, uint8_t identifier)
{
    if (w->err != LI_OK)
        return;
    if (w->depth == HO_BER_MAX_DEPTH) {
        w->err = LI_ERR_INVAL;
        return;
    }
    uint8_t hdr[2] = { identifier, 0 };
    put(w, hdr, 2);
    if (w->err == LI_OK)
        w->open[w->depth++] = w->buf->len - 1;
}

void ho_ber_close(ho_ber_w *w)
{
    if (w->err != LI_OK)
        return;
    if (w->depth == 0) {
        w->err = LI_ERR_INVAL;
        return;
    }
    size_t at = w->open[--w->depth];
    size_t content = w->buf->len - at - 1;
    uint8_t lo[9];
    size_t n = len_octets(content, lo);
    if (n > 1) {
        w->err = li_buf_reserve(w->buf, n - 1);
        if (w->err != LI_OK)
            return;
        memmove(w->buf->data + at + n, w->buf->data + at + 1, content);
        w->buf->len += n - 1;
    }
    memcpy(w->buf->data + at, lo, n);
}

void ho_ber_bytes(ho_ber_w *w, uint8_t identifier, const void *p, size_t n)
{
    uint8_t hdr[10];
    hdr[0] = identifier;
    size_t h = 1 + len_octets(n, hdr + 1);
    put(w, hdr, h);
    if (n)
        put(w, p, n);
}

void ho_ber_uint(ho_ber_w *w, uint8_t identifier, uint64_t v)
{
    uint8_t c[9];
    size_t n = 0;
    /* Most significant octet first; a leading zero keeps values with the top bit set
     * positive (X.690 8.3.2). */
    do {
        c[8 - n++] = (uint8_t)v;
        v >>= 8;
    } while (v);
    if (c[9 - n] & 0x80)
        c[8 - n++] = 0;
    ho_ber_bytes(w, identifier, c + 9 - n, n);
}

void ho_ber_null(ho_ber_w *w, uint8_t identifier)
{
    ho_ber_bytes(w, identifier, NULL, 0);
}

/* Base-128 subidentifier, most significant group first (X.690 8.19.2). */
static size_t subid(uint64_t v, uint8_t out[10])
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)(v & 0x7f);
        v >>= 7;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(tmp[n - 1 - i] | (i + 1 < n ? 0x80 : 0));
    return n;
}

void ho_ber_oid(ho_ber_w *w, uint8_t identifier, const uint32_t *arcs, size_t n, int relative)
{
    uint8_t c[128];
    size_t len = 0, i = 0;
    if (!relative) {
        /* The first two arcs share one subidentifier (X.690 8.19.4). */
        if (n < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39)) {
            if (w->err == LI_OK)
                w->err = LI_ERR_INVAL;
            return;
        }
        len = subid((uint64_t)arcs[0] * 40 + arcs[1], c);
        i = 2;
    }
    for (; i < n; i++) {
        if (len > sizeof c - 10) {
            if (w->err == LI_OK)
                w->err = LI_ERR_INVAL;
            return;
        }
        len += subid(arcs[i], c + len);
    }
    ho_ber_bytes(w, identifier, c, len);
}

li_err ho_ber_w_end(ho_ber_w *w)
{
    if (w->err == LI_OK && w->depth != 0)
        w->err = LI_ERR_INVAL;
    return w->err;
}

li_err ho_ber_next(li_slice *s, ho_ber_tlv *out)
{
    li_slice r = *s;
    uint8_t id, b;
    if (li_slice_u8(&r, &id) != LI_OK)
        return LI_AGAIN;
    out->cls = id & 0xc0;
    out->constructed = (id & HO_BER_CONSTRUCTED) != 0;
    out->tag = id & 0x1f;
    if (out->tag == 0x1f) {
        /* High tag number form (X.690 8.1.2.4). */
        out->tag = 0;
        do {
            if (li_slice_u8(&r, &b) != LI_OK)
                return LI_AGAIN;
            if (out->tag >> 21)
                return LI_ERR_PROTO;
            out->tag = out->tag << 7 | (b & 0x7f);
        } while (b & 0x80);
    }
    if (li_slice_u8(&r, &b) != LI_OK)
        return LI_AGAIN;
    size_t len = b;
    if (b == 0x80 || b == 0xff)
        return LI_ERR_PROTO; /* indefinite form or reserved (X.690 8.1.3.6, 8.1.3.5 c) */
    if (b & 0x80) {
        size_t n = b & 0x7f;
        if (n > 4)
            return LI_ERR_PROTO;
        len = 0;
        for (size_t i = 0; i < n; i++) {
            if (li_slice_u8(&r, &b) != LI_OK)
                return LI_AGAIN;
            len = len << 8 | b;
        }
    }
    if (li_slice_take(&r, len, &out->content) != LI_OK)
        return LI_AGAIN;
    *s = r;
    return LI_OK;
}

li_err ho_ber_next_in(li_slice *s, ho_ber_tlv *out)
{
    li_err e = ho_ber_next(s, out);
    return e == LI_AGAIN ? LI_ERR_PROTO : e;
}

li_err ho_ber_get_uint(li_slice c, uint64_t max, uint64_t *v)
{
    if (c.len == 0 || (c.p[0] & 0x80))
        return LI_ERR_PROTO; /* empty, or negative */
    if (c.len > 1 && c.p[0] == 0) {
        c.p++;
        c.len--;
    }
    if (c.len > 8)
        return LI_ERR_PROTO;
    uint64_t x = 0;
    for (size_t i = 0; i < c.len; i++)
        x = x << 8 | c.p[i];
    if (x > max)
        return LI_ERR_PROTO;
    *v = x;
    return LI_OK;
}

li_err ho_ber_get_oid(li_slice c, int relative, uint32_t *arcs, size_t max, size_t *n)
{
    size_t k = 0;
    uint64_t v = 0;
    int pending = 0;
    if (c.len == 0)
        return LI_ERR_PROTO;
    for (size_t i = 0; i < c.len; i++) {
        if (!pending && c.p[i] == 0x80)
            return LI_ERR_PROTO; /* non-minimal subidentifier (X.690 8.19.2) */
        v = v << 7 | (c.p[i] & 0x7f);
        pending = 1;
        if (v > UINT32_MAX && !(k == 0 && !relative && v <= (uint64_t)UINT32_MAX + 80))
            return LI_ERR_PROTO;
        if (c.p[i] & 0x80)
            continue;
        pending = 0;
        if (k == 0 && !relative) {
            if (max < 2)
                return LI_ERR_PROTO;
            arcs[0] = v < 40 ? 0 : v < 80 ? 1 : 2;
            arcs[1] = (uint32_t)(v - (uint64_t)arcs[0] * 40);
            k = 2;
        } else {
            if (k == max)
                return LI_ERR_PROTO;
            arcs[k++] = (uint32_t)v;
        }
        v = 0;
    }
    if (pending)
        return LI_ERR_PROTO;
    *n = k;
    return LI_OK;
}
