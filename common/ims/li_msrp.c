#include "li_msrp.h"

#include <string.h>

/* "-------" (seven dashes) opens the end-line (RFC 4975 section 7.1). */
#define DASHES "-------"
#define NDASHES 7
/* CRLF + dashes: what precedes the transaction id when a body ends. */
#define BODY_END "\r\n-------"
#define NBODY_END 9

static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alnum(int c) { return is_alpha(c) || is_digit(c); }
static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* ident-char (RFC 4975 section 9). */
static int is_ident_char(int c)
{
    return is_alnum(c) || c == '.' || c == '-' || c == '+' || c == '%' || c == '=';
}

/* token characters of a header name (RFC 3261 token, as RFC 4975 borrows it). */
static int is_token_char(int c)
{
    return is_alnum(c) || (c != 0 && strchr("-.!%*_+`'~", c) != NULL);
}

/* utf8text: HTAB, printable ASCII and any non-ASCII octet (UTF-8 is not re-validated:
 * a relay must pass what it cannot interpret). */
static int is_text(int c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int eq_nocase(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

static int valid_tid(const char *p, size_t len)
{
    if (len < LI_MSRP_TID_MIN || len > LI_MSRP_TID_MAX || !is_alnum((unsigned char)p[0]))
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!is_ident_char((unsigned char)p[i]))
            return 0;
    return 1;
}

/* Finds the CRLF ending the line that starts at `pos`. Returns the offset of the CR,
 * or len when the line is not complete; -1 (as SIZE_MAX) on a bare LF or CR. */
static size_t line_end(const uint8_t *buf, size_t len, size_t pos)
{
    const uint8_t *lf = memchr(buf + pos, '\n', len - pos);
    if (!lf) {
        /* A lone CR may only be the last byte (its LF not arrived yet). */
        const uint8_t *cr = memchr(buf + pos, '\r', len - pos);
        if (cr && (size_t)(cr - buf) != len - 1)
            return SIZE_MAX;
        return len;
    }
    size_t at = (size_t)(lf - buf);
    if (at == pos || buf[at - 1] != '\r')
        return SIZE_MAX;
    const uint8_t *cr = memchr(buf + pos, '\r', at - 1 - pos);
    return cr ? SIZE_MAX : at - 1;
}

static int parse_u64(const char *p, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 20)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit((unsigned char)p[i]))
            return 0;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

/* Byte-Range = range-start "-" range-end "/" total (RFC 4975 section 8.8.4);
 * range-end and total may be "*"; range-start counts from 1. */
static int parse_byte_range(li_msrp_str v, li_msrp_msg *out)
{
    const char *dash = memchr(v.p, '-', v.len);
    const char *slash = memchr(v.p, '/', v.len);
    if (!dash || !slash || slash < dash)
        return 0;
    const char *end = v.p + v.len;
    while (end > slash + 1 && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t n_start = (size_t)(dash - v.p);
    size_t n_end = (size_t)(slash - dash - 1);
    size_t n_total = (size_t)(end - slash - 1);
    if (!parse_u64(v.p, n_start, &out->range_start) || out->range_start == 0)
        return 0;
    if (n_end == 1 && dash[1] == '*')
        out->range_end = LI_MSRP_UNKNOWN;
    else if (!parse_u64(dash + 1, n_end, &out->range_end))
        return 0;
    if (n_total == 1 && slash[1] == '*')
        out->range_total = LI_MSRP_UNKNOWN;
    else if (!parse_u64(slash + 1, n_total, &out->range_total))
        return 0;
    return 1;
}

/* Checks what has arrived of an incomplete start line, so that a stream that is not
 * MSRP at all (a TLS ClientHello on a TCP leg, HTTP) is refused at once. */
static li_err check_partial_start(const uint8_t *buf, size_t len)
{
    static const char prefix[] = "MSRP ";
    size_t n = len < 5 ? len : 5;
    if (memcmp(buf, prefix, n) != 0)
        return LI_ERR_PROTO;
    for (size_t i = 0; i < len; i++)
        if (!is_text(buf[i]) && !(buf[i] == '\r' && i == len - 1))
            return LI_ERR_PROTO;
    return len > LI_MSRP_MAX_HEAD_BYTES ? LI_ERR_PROTO : LI_AGAIN;
}

/* req-start / resp-start (RFC 4975 section 9). `eol` is the offset of the CR. */
static li_err parse_start_line(const uint8_t *buf, size_t eol, li_msrp_msg *out)
{
    const char *line = (const char *)buf;
    if (eol < 5 || memcmp(line, "MSRP ", 5) != 0)
        return LI_ERR_PROTO;
    size_t pos = 5;
    const char *sp = memchr(line + pos, ' ', eol - pos);
    if (!sp)
        return LI_ERR_PROTO;
    size_t tid_len = (size_t)(sp - (line + pos));
    if (!valid_tid(line + pos, tid_len))
        return LI_ERR_PROTO;
    out->tid.p = line + pos;
    out->tid.len = tid_len;
    pos += tid_len + 1;
    size_t rest = eol - pos;
    const char *r = line + pos;
    if (rest >= 3 && is_digit((unsigned char)r[0]) && is_digit((unsigned char)r[1]) &&
        is_digit((unsigned char)r[2]) && (rest == 3 || r[3] == ' ')) {
        out->method = LI_MSRP_RESPONSE;
        out->status = (r[0] - '0') * 100 + (r[1] - '0') * 10 + (r[2] - '0');
        out->comment.p = r + (rest > 3 ? 4 : 3);
        out->comment.len = rest > 3 ? rest - 4 : 0;
        for (size_t i = 0; i < out->comment.len; i++)
            if (!is_text((unsigned char)out->comment.p[i]))
                return LI_ERR_PROTO;
        return LI_OK;
    }
    /* method = 1*UPALPHA and nothing after it. */
    if (rest == 0)
        return LI_ERR_PROTO;
    for (size_t i = 0; i < rest; i++)
        if (r[i] < 'A' || r[i] > 'Z')
            return LI_ERR_PROTO;
    out->method_name.p = r;
    out->method_name.len = rest;
    if (rest == 4 && memcmp(r, "SEND", 4) == 0)
        out->method = LI_MSRP_SEND;
    else if (rest == 6 && memcmp(r, "REPORT", 6) == 0)
        out->method = LI_MSRP_REPORT;
    else if (rest == 4 && memcmp(r, "AUTH", 4) == 0)
        out->method = LI_MSRP_AUTH;
    else
        out->method = LI_MSRP_OTHER;
    return LI_OK;
}

/* Records a well-known header; a second To-Path or From-Path is an error, since a
 * relay could not tell which one routes the message. */
static li_err note_header(li_msrp_msg *out, const li_msrp_header *h)
{
    static const struct {
        const char *name;
        size_t offset;
        int unique;
    } known[] = {
        { "To-Path", offsetof(li_msrp_msg, to_path), 1 },
        { "From-Path", offsetof(li_msrp_msg, from_path), 1 },
        { "Message-ID", offsetof(li_msrp_msg, message_id), 0 },
        { "Byte-Range", offsetof(li_msrp_msg, byte_range), 1 },
        { "Success-Report", offsetof(li_msrp_msg, success_report), 0 },
        { "Failure-Report", offsetof(li_msrp_msg, failure_report), 0 },
        { "Status", offsetof(li_msrp_msg, status_header), 0 },
        { "Content-Type", offsetof(li_msrp_msg, content_type), 0 },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (!eq_nocase(h->name.p, h->name.len, known[i].name))
            continue;
        li_msrp_str *slot = (li_msrp_str *)((char *)out + known[i].offset);
        if (slot->p) {
            if (known[i].unique)
                return LI_ERR_PROTO;
            return LI_OK;
        }
        *slot = h->value;
        return LI_OK;
    }
    return LI_OK;
}

/* header = hname ":" SP hval CRLF, hname = ALPHA *token (RFC 4975 section 9). */
static li_err parse_header(const uint8_t *buf, size_t pos, size_t eol, li_msrp_msg *out)
{
    const char *line = (const char *)buf + pos;
    size_t n = eol - pos;
    if (!is_alpha((unsigned char)line[0]))
        return LI_ERR_PROTO;
    size_t i = 1;
    while (i < n && is_token_char((unsigned char)line[i]))
        i++;
    if (i == n || line[i] != ':')
        return LI_ERR_PROTO;
    if (out->n_headers == LI_MSRP_MAX_HEADERS)
        return LI_ERR_PROTO;
    li_msrp_header *h = &out->headers[out->n_headers++];
    h->name.p = line;
    h->name.len = i;
    i++;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    h->value.p = line + i;
    h->value.len = n - i;
    for (size_t k = i; k < n; k++)
        if (!is_text((unsigned char)line[k]))
            return LI_ERR_PROTO;
    return note_header(out, h);
}

/* Does buf[pos..) hold "-------" tid flag CRLF? 1 yes, 0 no, -1 not enough bytes. */
static int match_end_line(const uint8_t *buf, size_t len, size_t pos, li_msrp_str tid,
                          char *flag)
{
    size_t need = NDASHES + tid.len + 3;
    size_t avail = len - pos;
    size_t cmp = avail < need ? avail : need;
    /* Compare what is there: a mismatch is final even before the whole line arrived. */
    for (size_t i = 0; i < cmp; i++) {
        uint8_t c = buf[pos + i];
        int ok;
        if (i < NDASHES)
            ok = c == '-';
        else if (i < NDASHES + tid.len)
            ok = c == (uint8_t)tid.p[i - NDASHES];
        else if (i == NDASHES + tid.len)
            ok = c == '$' || c == '+' || c == '#';
        else if (i == need - 2)
            ok = c == '\r';
        else
            ok = c == '\n';
        if (!ok)
            return 0;
    }
    if (avail < need)
        return -1;
    *flag = (char)buf[pos + NDASHES + tid.len];
    return 1;
}

static li_err finish(li_msrp_msg *out, size_t end_line, size_t total, size_t *used)
{
    if (!out->to_path.p || !out->from_path.p)
        return LI_ERR_PROTO;
    if (out->byte_range.p && !parse_byte_range(out->byte_range, out))
        return LI_ERR_PROTO;
    out->end_line_offset = end_line;
    out->len = total;
    *used = total;
    return LI_OK;
}

static li_err parse(li_msrp_parser *state, const uint8_t *buf, size_t len, li_msrp_msg *out,
                    size_t *used)
{
    memset(out, 0, sizeof *out);
    out->range_start = 1;
    out->range_end = LI_MSRP_UNKNOWN;
    out->range_total = LI_MSRP_UNKNOWN;
    if (len == 0)
        return LI_AGAIN;

    size_t eol = line_end(buf, len, 0);
    if (eol == SIZE_MAX)
        return LI_ERR_PROTO;
    if (eol == len)
        return check_partial_start(buf, len);
    li_err err = parse_start_line(buf, eol, out);
    if (err != LI_OK)
        return err;

    size_t pos = eol + 2;
    for (;;) {
        if (pos > LI_MSRP_MAX_HEAD_BYTES)
            return LI_ERR_PROTO;
        if (pos == len)
            return LI_AGAIN;
        if (buf[pos] == '-') {
            /* The end-line of a message without a body. */
            int m = match_end_line(buf, len, pos, out->tid, &out->flag);
            if (m == 0)
                return LI_ERR_PROTO;
            if (m < 0)
                return LI_AGAIN;
            return finish(out, pos, pos + NDASHES + out->tid.len + 3, used);
        }
        eol = line_end(buf, len, pos);
        if (eol == SIZE_MAX)
            return LI_ERR_PROTO;
        if (eol == len) {
            /* Incomplete header line: refuse at once what can never become one. */
            for (size_t i = pos; i < len; i++)
                if (!is_text(buf[i]) && !(buf[i] == '\r' && i == len - 1))
                    return LI_ERR_PROTO;
            return len - pos > LI_MSRP_MAX_HEAD_BYTES ? LI_ERR_PROTO : LI_AGAIN;
        }
        if (eol == pos) {
            pos += 2;
            break;  /* blank line: the data part follows */
        }
        err = parse_header(buf, pos, eol, out);
        if (err != LI_OK)
            return err;
        pos = eol + 2;
    }

    /* content-stuff: data CRLF end-line. An empty data part written without its own
     * CRLF ("\r\n\r\n-------") is accepted too, hence the scan starts at the blank line. */
    size_t body_start = pos;
    size_t from = body_start - 2;
    if (state && state->scan_from > from && state->scan_from <= len)
        from = state->scan_from;
    while (from < len) {
        const uint8_t *hit = memmem(buf + from, len - from, BODY_END, NBODY_END);
        size_t at;
        if (!hit) {
            /* The marker may straddle the end: resume within its length. */
            at = len - from >= NBODY_END ? len - (NBODY_END - 1) : from;
            if (state)
                state->scan_from = at;
            return LI_AGAIN;
        }
        at = (size_t)(hit - buf);
        int m = match_end_line(buf, len, at + 2, out->tid, &out->flag);
        if (m < 0) {
            if (state)
                state->scan_from = at;
            return LI_AGAIN;
        }
        if (m > 0) {
            out->has_body = 1;
            out->body = buf + body_start;
            out->body_len = at > body_start ? at - body_start : 0;
            return finish(out, at + 2, at + 2 + NDASHES + out->tid.len + 3, used);
        }
        from = at + 1;
    }
    if (state)
        state->scan_from = from;
    return LI_AGAIN;
}

li_err li_msrp_parse(li_msrp_parser *state, const uint8_t *buf, size_t len, li_msrp_msg *out,
                     size_t *used)
{
    li_err err = parse(state, buf, len, out, used);
    if (state && err != LI_AGAIN)
        state->scan_from = 0;
    return err;
}

const li_msrp_str *li_msrp_header_get(const li_msrp_msg *msg, const char *name)
{
    for (size_t i = 0; i < msg->n_headers; i++)
        if (eq_nocase(msg->headers[i].name.p, msg->headers[i].name.len, name))
            return &msg->headers[i].value;
    return NULL;
}

/* unreserved / "+" / "=" / "/" (session-id, RFC 4975 section 9). */
static int is_session_char(int c)
{
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
           c == '=' || c == '/';
}

/* reg-name / IPv4 characters of RFC 3986 that MSRP hosts use. */
static int is_host_char(int c)
{
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '%';
}

li_err li_msrp_uri_parse(const char *p, size_t len, li_msrp_uri *out)
{
    memset(out, 0, sizeof *out);
    size_t pos = li_msrp_uri_scheme_len(p, len);
    if (!pos)
        return LI_ERR_PROTO;
    out->secure = pos == 8;
    /* authority ends at the first '/' or ';' */
    size_t auth_end = pos;
    while (auth_end < len && p[auth_end] != '/' && p[auth_end] != ';')
        auth_end++;
    const char *at = memchr(p + pos, '@', auth_end - pos);
    if (at) {
        out->user.p = p + pos;
        out->user.len = (size_t)(at - (p + pos));
        for (size_t i = 0; i < out->user.len; i++)
            if (!is_text((unsigned char)out->user.p[i]) || out->user.p[i] == ' ')
                return LI_ERR_PROTO;
        pos = (size_t)(at - p) + 1;
    }
    if (pos < auth_end && p[pos] == '[') {
        const char *close = memchr(p + pos, ']', auth_end - pos);
        if (!close || close == p + pos + 1)
            return LI_ERR_PROTO;
        out->is_ipv6 = 1;
        out->host.p = p + pos + 1;
        out->host.len = (size_t)(close - (p + pos + 1));
        for (size_t i = 0; i < out->host.len; i++) {
            int c = (unsigned char)out->host.p[i];
            if (!(is_alnum(c) || c == ':' || c == '.'))
                return LI_ERR_PROTO;
        }
        pos = (size_t)(close - p) + 1;
    } else {
        size_t h = pos;
        while (h < auth_end && is_host_char((unsigned char)p[h]))
            h++;
        if (h == pos)
            return LI_ERR_PROTO;
        out->host.p = p + pos;
        out->host.len = h - pos;
        pos = h;
    }
    if (pos < auth_end) {
        if (p[pos] != ':')
            return LI_ERR_PROTO;
        uint64_t port;
        if (!parse_u64(p + pos + 1, auth_end - pos - 1, &port) || port == 0 || port > 65535)
            return LI_ERR_PROTO;
        out->port = (uint16_t)port;
    }
    pos = auth_end;
    if (pos < len && p[pos] == '/') {
        /* The authority holds no '/', so this is the liberal reader's slash: its text up
         * to the ';' must be all session-id characters. */
        if (li_msrp_uri_session_id(p, len, &out->session_id) != LI_OK)
            return LI_ERR_PROTO;
        for (size_t i = 0; i < out->session_id.len; i++)
            if (!is_session_char((unsigned char)out->session_id.p[i]))
                return LI_ERR_PROTO;
        pos = (size_t)(out->session_id.p - p) + out->session_id.len;
    }
    /* ";" transport is mandatory. */
    if (pos >= len || p[pos] != ';')
        return LI_ERR_PROTO;
    size_t t = ++pos;
    while (pos < len && is_alnum((unsigned char)p[pos]))
        pos++;
    if (pos == t)
        return LI_ERR_PROTO;
    out->transport.p = p + t;
    out->transport.len = pos - t;
    if (pos < len) {
        if (p[pos] != ';' || pos + 1 == len)
            return LI_ERR_PROTO;
        for (size_t i = pos + 1; i < len; i++)
            if (!is_text((unsigned char)p[i]) || p[i] == ' ' || p[i] == '\t')
                return LI_ERR_PROTO;
        out->params.p = p + pos + 1;
        out->params.len = len - pos - 1;
    }
    return LI_OK;
}

li_err li_msrp_path_next(li_msrp_str *rest, li_msrp_str *uri)
{
    while (rest->len && (rest->p[0] == ' ' || rest->p[0] == '\t')) {
        rest->p++;
        rest->len--;
    }
    if (rest->len == 0)
        return LI_ERR_NOT_FOUND;
    size_t n = 0;
    while (n < rest->len && rest->p[n] != ' ' && rest->p[n] != '\t')
        n++;
    uri->p = rest->p;
    uri->len = n;
    rest->p += n;
    rest->len -= n;
    return LI_OK;
}

static int str_eq(li_msrp_str a, li_msrp_str b, int nocase)
{
    if (a.len != b.len)
        return 0;
    for (size_t i = 0; i < a.len; i++) {
        int x = (unsigned char)a.p[i], y = (unsigned char)b.p[i];
        if (nocase ? lower(x) != lower(y) : x != y)
            return 0;
    }
    return 1;
}

int li_msrp_uri_equal(const li_msrp_uri *a, const li_msrp_uri *b)
{
    /* Scheme and host compare case-insensitively, session-id case-sensitively, and
     * the userinfo is ignored (RFC 4975 section 6.1). */
    return a->secure == b->secure && a->port == b->port && str_eq(a->host, b->host, 1) &&
           str_eq(a->session_id, b->session_id, 0) && str_eq(a->transport, b->transport, 1);
}

li_err li_msrp_write_with_paths(li_buf *out, const uint8_t *raw, const li_msrp_msg *msg,
                                li_msrp_str to_path, li_msrp_str from_path)
{
    /* Replace in the order the two values appear in the message. */
    const li_msrp_str *first = &msg->to_path, *second = &msg->from_path;
    li_msrp_str first_new = to_path, second_new = from_path;
    if ((const uint8_t *)msg->from_path.p < (const uint8_t *)msg->to_path.p) {
        first = &msg->from_path;
        second = &msg->to_path;
        first_new = from_path;
        second_new = to_path;
    }
    size_t a = (size_t)((const uint8_t *)first->p - raw);
    size_t a_end = a + first->len;
    size_t b = (size_t)((const uint8_t *)second->p - raw);
    size_t b_end = b + second->len;
    size_t before = out->len;
    li_err err = li_buf_reserve(out, msg->len - first->len - second->len + first_new.len +
                                         second_new.len);
    if (err == LI_OK)
        err = li_buf_append(out, raw, a);
    if (err == LI_OK)
        err = li_buf_append(out, first_new.p, first_new.len);
    if (err == LI_OK)
        err = li_buf_append(out, raw + a_end, b - a_end);
    if (err == LI_OK)
        err = li_buf_append(out, second_new.p, second_new.len);
    if (err == LI_OK)
        err = li_buf_append(out, raw + b_end, msg->len - b_end);
    if (err != LI_OK)
        out->len = before;
    return err;
}

li_err li_msrp_write_response(li_buf *out, li_msrp_str tid, int code, const char *comment,
                              li_msrp_str to_path, li_msrp_str from_path)
{
    size_t before = out->len;
    li_err err = li_buf_printf(out, "MSRP %.*s %03d%s%s\r\nTo-Path: %.*s\r\nFrom-Path: %.*s\r\n"
                               "-------%.*s$\r\n",
                               (int)tid.len, tid.p, code, comment && *comment ? " " : "",
                               comment ? comment : "", (int)to_path.len, to_path.p,
                               (int)from_path.len, from_path.p, (int)tid.len, tid.p);
    if (err != LI_OK)
        out->len = before;
    return err;
}
