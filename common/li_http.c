#include "li_http.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* End of the head: the offset just past the first empty line, or 0. */
static size_t find_head_end(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* Next line of [*p, end) without its line end; NULL when none is left. */
static const char *next_line(const char **p, const char *end, size_t *line_len)
{
    const char *start = *p;
    const char *nl = memchr(start, '\n', (size_t)(end - start));
    if (!nl)
        return NULL;
    *p = nl + 1;
    *line_len = (size_t)(nl - start);
    if (*line_len && start[*line_len - 1] == '\r')
        (*line_len)--;
    return start;
}

static int parse_version(const char *s, size_t len, int *minor)
{
    if (len != 8 || memcmp(s, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)s[7]))
        return -1;
    *minor = s[7] - '0';
    return 0;
}

static int copy_token(const char *s, size_t len, char *out, size_t out_size)
{
    if (len == 0 || len >= out_size)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] == 0x7f)
            return -1;
    }
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

static int parse_start_line(const char *l, size_t len, int response, li_http_head *h)
{
    const char *sp1 = memchr(l, ' ', len);
    if (!sp1)
        return -1;
    size_t first = (size_t)(sp1 - l);
    const char *rest = sp1 + 1;
    size_t rest_len = len - first - 1;
    if (response) {
        if (parse_version(l, first, &h->minor_version) != 0 || rest_len < 3)
            return -1;
        int status = 0;
        for (int i = 0; i < 3; i++) {
            if (!isdigit((unsigned char)rest[i]))
                return -1;
            status = status * 10 + (rest[i] - '0');
        }
        if (status < 100 || (rest_len > 3 && rest[3] != ' '))
            return -1;
        h->status = status;
        return 0;
    }
    const char *sp2 = memchr(rest, ' ', rest_len);
    if (!sp2)
        return -1;
    size_t target_len = (size_t)(sp2 - rest);
    return copy_token(l, first, h->method, sizeof h->method) == 0 &&
                   copy_token(rest, target_len, h->path, sizeof h->path) == 0 &&
                   parse_version(sp2 + 1, rest_len - target_len - 1, &h->minor_version) == 0
               ? 0
               : -1;
}

static int header_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* 1 when the comma-separated value list contains token (case-insensitive). */
static int has_token(const char *v, size_t len, const char *token)
{
    size_t tlen = strlen(token);
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        while (i < len && v[i] != ',')
            i++;
        size_t end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (end - start == tlen && strncasecmp(v + start, token, tlen) == 0)
            return 1;
    }
    return 0;
}

static int parse_length(const char *v, size_t len, size_t *out)
{
    size_t n = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)v[i]))
            return -1;
        size_t d = (size_t)(v[i] - '0');
        if (n > (SIZE_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    *out = n;
    return 0;
}

li_err li_http_parse_head(const uint8_t *buf, size_t len, int response, li_http_head *out,
                          size_t *head_len)
{
    size_t end_off = find_head_end(buf, len < LI_HTTP_MAX_HEAD ? len : LI_HTTP_MAX_HEAD);
    if (!end_off)
        return len < LI_HTTP_MAX_HEAD ? LI_AGAIN : LI_ERR_PROTO;
    memset(out, 0, sizeof *out);
    const char *p = (const char *)buf, *end = (const char *)buf + end_off;
    size_t llen;
    const char *line = next_line(&p, end, &llen);
    if (!line || parse_start_line(line, llen, response, out) != 0)
        return LI_ERR_PROTO;
    int keep_alive = 0;
    while ((line = next_line(&p, end, &llen)) && llen > 0) {
        const char *colon = memchr(line, ':', llen);
        if (!colon || colon == line)
            return LI_ERR_PROTO;
        size_t nlen = (size_t)(colon - line);
        const char *v = colon + 1;
        size_t vlen = llen - nlen - 1;
        while (vlen && (*v == ' ' || *v == '\t'))
            v++, vlen--;
        while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            vlen--;
        if (header_is(line, nlen, "Content-Length")) {
            size_t n;
            /* Two different lengths would let a proxy and limf disagree on framing. */
            if (parse_length(v, vlen, &n) != 0 || (out->has_length && n != out->content_length))
                return LI_ERR_PROTO;
            out->has_length = 1;
            out->content_length = n;
        } else if (header_is(line, nlen, "Transfer-Encoding")) {
            out->chunked = 1;
        } else if (header_is(line, nlen, "Connection")) {
            out->close |= has_token(v, vlen, "close");
            keep_alive |= has_token(v, vlen, "keep-alive");
        } else if (header_is(line, nlen, "Expect")) {
            out->expect_continue |= has_token(v, vlen, "100-continue");
        }
    }
    if (out->minor_version == 0 && !keep_alive)
        out->close = 1;
    *head_len = end_off;
    return LI_OK;
}
