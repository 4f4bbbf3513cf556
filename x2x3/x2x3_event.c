#include "x2x3_event.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef struct out_buf {
    char *p;
    size_t size;
    size_t len;
    int overflow;
} out_buf;

static void put(out_buf *o, const char *s, size_t n)
{
    if (o->overflow || n >= o->size - o->len) {
        o->overflow = 1;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates, at
 * most U+10FFFF), 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    unsigned min;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)   /* also stops at the NUL */
            return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static void put_string(out_buf *o, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    put(o, "\"", 1);
    while (*s) {
        char esc[8];
        if (*s == '"' || *s == '\\') {
            esc[0] = '\\', esc[1] = (char)*s;
            put(o, esc, 2);
            s++;
        } else if (*s < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *s);
            put(o, esc, 6);
            s++;
        } else {
            size_t n = utf8_len(s);
            if (n == 0) {
                put(o, "\\ufffd", 6);
                n = 1;
            } else {
                put(o, (const char *)s, n);
            }
            s += n;
        }
    }
    put(o, "\"", 1);
}

static li_err finish(out_buf *o, size_t *len)
{
    if (o->overflow) {
        if (o->size)
            o->p[0] = '\0';
        return LI_ERR_TOO_BIG;
    }
    o->p[o->len] = '\0';
    if (len)
        *len = o->len;
    return LI_OK;
}

static void put_head(out_buf *o, const char *event)
{
    put(o, "{", 1);
    put_string(o, X2X3_EVENT_KEY);
    put(o, ":", 1);
    put_string(o, event);
}

x2x3_event_type x2x3_event_type_of(const char *name)
{
    static const struct {
        const char *name;
        x2x3_event_type type;
    } names[] = {
        { X2X3_EVENT_GAP, X2X3_EV_GAP },
        { X2X3_EVENT_SESSION_RESERVED, X2X3_EV_SESSION_RESERVED },
        { X2X3_EVENT_TLS_ESTABLISHED, X2X3_EV_TLS_ESTABLISHED },
        { X2X3_EVENT_PASSTHROUGH, X2X3_EV_PASSTHROUGH },
        { X2X3_EVENT_SESSION_RELEASED, X2X3_EV_SESSION_RELEASED },
    };
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0)
            return names[i].type;
    return X2X3_EV_UNKNOWN;
}

li_err x2x3_event_format(char *out, size_t out_size, size_t *len, const char *event,
                         const char *const *kv)
{
    out_buf o = { out, out_size, 0, out_size == 0 };
    put_head(&o, event);
    for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2) {
        put(&o, ",", 1);
        put_string(&o, kv[i]);
        put(&o, ":", 1);
        put_string(&o, kv[i + 1]);
    }
    put(&o, "}", 1);
    return finish(&o, len);
}

li_err x2x3_event_gap(char *out, size_t out_size, size_t *len, uint64_t dropped)
{
    out_buf o = { out, out_size, 0, out_size == 0 };
    char num[48];
    int n = snprintf(num, sizeof num, ",\"dropped\":%" PRIu64 "}", dropped);
    put_head(&o, X2X3_EVENT_GAP);
    put(&o, num, (size_t)n);
    return finish(&o, len);
}
