/* Big-endian helpers, a growable write buffer and a bounds-checked read slice.
 * Lengths are checked by subtraction in size_t so that no sum can wrap (docs/CODING.md 3). */
#ifndef LI_BYTES_H
#define LI_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "li_err.h"

static inline uint16_t li_get_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t li_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t li_get_be64(const uint8_t *p)
{
    return (uint64_t)li_get_be32(p) << 32 | li_get_be32(p + 4);
}

static inline void li_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void li_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void li_put_be64(uint8_t *p, uint64_t v)
{
    li_put_be32(p, (uint32_t)(v >> 32));
    li_put_be32(p + 4, (uint32_t)v);
}

/* Read-only view of caller-owned bytes. Readers return LI_ERR_PROTO when fewer bytes
 * remain than asked for and then leave the slice unchanged. */
typedef struct li_slice {
    const uint8_t *p;
    size_t len;
} li_slice;

static inline li_slice li_slice_of(const void *p, size_t len)
{
    li_slice s = { (const uint8_t *)p, len };
    return s;
}

static inline li_err li_slice_take(li_slice *s, size_t n, li_slice *out)
{
    if (n > s->len)
        return LI_ERR_PROTO;
    out->p = s->p;
    out->len = n;
    s->p += n;
    s->len -= n;
    return LI_OK;
}

static inline li_err li_slice_u8(li_slice *s, uint8_t *v)
{
    if (s->len < 1)
        return LI_ERR_PROTO;
    *v = s->p[0];
    s->p++;
    s->len--;
    return LI_OK;
}

static inline li_err li_slice_be16(li_slice *s, uint16_t *v)
{
    if (s->len < 2)
        return LI_ERR_PROTO;
    *v = li_get_be16(s->p);
    s->p += 2;
    s->len -= 2;
    return LI_OK;
}

static inline li_err li_slice_be32(li_slice *s, uint32_t *v)
{
    if (s->len < 4)
        return LI_ERR_PROTO;
    *v = li_get_be32(s->p);
    s->p += 4;
    s->len -= 4;
    return LI_OK;
}

static inline li_err li_slice_be64(li_slice *s, uint64_t *v)
{
    if (s->len < 8)
        return LI_ERR_PROTO;
    *v = li_get_be64(s->p);
    s->p += 8;
    s->len -= 8;
    return LI_OK;
}

/* Growable write buffer. `max` bounds its size (0: no bound); appends beyond it fail
 * with LI_ERR_TOO_BIG and leave the buffer as it was. A buffer is reused across
 * messages with li_buf_reset(), which keeps the allocation. */
typedef struct li_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max;
} li_buf;

/* Initialises an empty buffer (no allocation yet). */
void li_buf_init(li_buf *b, size_t max);
/* Frees the storage; the buffer may be reused after li_buf_init(). NULL is a no-op. */
void li_buf_free(li_buf *b);
static inline void li_buf_reset(li_buf *b) { b->len = 0; }
/* Ensures room for `n` more bytes. */
li_err li_buf_reserve(li_buf *b, size_t n);
li_err li_buf_append(li_buf *b, const void *p, size_t n);
li_err li_buf_append_u8(li_buf *b, uint8_t v);
li_err li_buf_append_be16(li_buf *b, uint16_t v);
li_err li_buf_append_be32(li_buf *b, uint32_t v);
li_err li_buf_append_be64(li_buf *b, uint64_t v);
/* Appends formatted text (no terminating NUL counted in len; one is kept after it). */
li_err li_buf_printf(li_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Removes the first n bytes, moving the rest to the front. */
void li_buf_consume(li_buf *b, size_t n);

/* Hex helpers. li_hex_encode writes 2*len chars plus NUL into out (size >= 2*len+1).
 * li_hex_decode accepts upper or lower case, optional ':' separators between octets
 * when `colons` is set; returns LI_ERR_PROTO on bad input, LI_ERR_TOO_BIG when out is
 * too small; *out_len receives the octet count. */
void li_hex_encode(const uint8_t *in, size_t len, char *out);
li_err li_hex_decode(const char *in, size_t in_len, int colons, uint8_t *out, size_t out_size,
                     size_t *out_len);

/* UUID text (8-4-4-4-12, lower case) <-> 16 octets. */
void li_uuid_format(const uint8_t uuid[16], char out[37]);
li_err li_uuid_parse(const char *text, uint8_t uuid[16]);
/* A random version-4 UUID from the OS random source. */
li_err li_uuid_random(uint8_t uuid[16]);

#endif
