#include "li_bytes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

void li_buf_init(li_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void li_buf_free(li_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

li_err li_buf_reserve(li_buf *b, size_t n)
{
    if (n <= b->cap - b->len)
        return LI_OK;
    if (b->max && (n > b->max || b->len > b->max - n))
        return LI_ERR_TOO_BIG;
    if (n > SIZE_MAX / 2 - b->len)
        return LI_ERR_TOO_BIG;
    size_t want = b->len + n;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < want)
        cap *= 2;
    if (b->max && cap > b->max)
        cap = b->max;
    uint8_t *p = realloc(b->data, cap + 1); /* +1 keeps room for printf's NUL */
    if (!p)
        return LI_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return LI_OK;
}

li_err li_buf_append(li_buf *b, const void *p, size_t n)
{
    li_err err = li_buf_reserve(b, n);
    if (err != LI_OK)
        return err;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return LI_OK;
}

li_err li_buf_append_u8(li_buf *b, uint8_t v)
{
    return li_buf_append(b, &v, 1);
}

li_err li_buf_append_be16(li_buf *b, uint16_t v)
{
    uint8_t t[2];
    li_put_be16(t, v);
    return li_buf_append(b, t, sizeof t);
}

li_err li_buf_append_be32(li_buf *b, uint32_t v)
{
    uint8_t t[4];
    li_put_be32(t, v);
    return li_buf_append(b, t, sizeof t);
}

li_err li_buf_append_be64(li_buf *b, uint64_t v)
{
    uint8_t t[8];
    li_put_be64(t, v);
    return li_buf_append(b, t, sizeof t);
}

li_err li_buf_printf(li_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return LI_ERR_INVAL;
    li_err err = li_buf_reserve(b, (size_t)n);
    if (err != LI_OK)
        return err;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return LI_OK;
}

void li_buf_consume(li_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void li_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

li_err li_hex_decode(const char *in, size_t in_len, int colons, uint8_t *out, size_t out_size,
                     size_t *out_len)
{
    size_t n = 0;
    size_t i = 0;
    while (i < in_len) {
        if (n > 0 && colons && in[i] == ':') {
            i++;
            if (i >= in_len)
                return LI_ERR_PROTO;
        }
        if (in_len - i < 2)
            return LI_ERR_PROTO;
        int hi = hex_value(in[i]);
        int lo = hex_value(in[i + 1]);
        if (hi < 0 || lo < 0)
            return LI_ERR_PROTO;
        if (n >= out_size)
            return LI_ERR_TOO_BIG;
        out[n++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    *out_len = n;
    return LI_OK;
}

void li_uuid_format(const uint8_t uuid[16], char out[37])
{
    char hex[33];
    li_hex_encode(uuid, 16, hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

li_err li_uuid_parse(const char *text, uint8_t uuid[16])
{
    static const size_t dash[] = { 8, 13, 18, 23 };
    if (strlen(text) != 36)
        return LI_ERR_PROTO;
    char hex[32];
    size_t n = 0;
    for (size_t i = 0, d = 0; i < 36; i++) {
        if (d < 4 && i == dash[d]) {
            if (text[i] != '-')
                return LI_ERR_PROTO;
            d++;
            continue;
        }
        hex[n++] = text[i];
    }
    size_t got;
    return li_hex_decode(hex, sizeof hex, 0, uuid, 16, &got);
}

li_err li_uuid_random(uint8_t uuid[16])
{
    if (getrandom(uuid, 16, 0) != 16)
        return LI_ERR_IO;
    uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40); /* RFC 4122 version 4 */
    uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    return LI_OK;
}
