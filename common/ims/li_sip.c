/* SIP message codec: see li_sip.h. Every index is checked against the end by
 * subtraction; nothing here allocates or reads past len. */
#include "li_sip.h"

#include <string.h>

static int is_lws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* token (RFC 3261 25.1): alphanum and -.!%*_+`'~ */
static int is_token(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("-.!%*_+`'~", c) != NULL;
}

static li_sip_str mk(const char *p, size_t len)
{
    li_sip_str s = { p, len };
    return s;
}

static li_sip_str trim(li_sip_str s)
{
    while (s.len && is_lws(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len && is_lws(s.p[s.len - 1]))
        s.len--;
    return s;
}

int li_sip_str_eq(li_sip_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p && s.len == n && memcmp(s.p, lit, n) == 0;
}

int li_sip_str_eq_nocase(li_sip_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (!s.p || s.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s.p[i]) != lower((unsigned char)lit[i]))
            return 0;
    return 1;
}

static const struct {
    const char *name;
    li_sip_hdr id;
} header_names[] = {
    { "call-id", LI_SIP_H_CALL_ID }, { "i", LI_SIP_H_CALL_ID },
    { "from", LI_SIP_H_FROM }, { "f", LI_SIP_H_FROM },
    { "to", LI_SIP_H_TO }, { "t", LI_SIP_H_TO },
    { "via", LI_SIP_H_VIA }, { "v", LI_SIP_H_VIA },
    { "cseq", LI_SIP_H_CSEQ },
    { "contact", LI_SIP_H_CONTACT }, { "m", LI_SIP_H_CONTACT },
    { "content-type", LI_SIP_H_CONTENT_TYPE }, { "c", LI_SIP_H_CONTENT_TYPE },
    { "content-length", LI_SIP_H_CONTENT_LENGTH }, { "l", LI_SIP_H_CONTENT_LENGTH },
    { "content-encoding", LI_SIP_H_CONTENT_ENCODING }, { "e", LI_SIP_H_CONTENT_ENCODING },
    { "subject", LI_SIP_H_SUBJECT }, { "s", LI_SIP_H_SUBJECT },
    { "supported", LI_SIP_H_SUPPORTED }, { "k", LI_SIP_H_SUPPORTED },
    { "event", LI_SIP_H_EVENT }, { "o", LI_SIP_H_EVENT },
    { "allow-events", LI_SIP_H_ALLOW_EVENTS }, { "u", LI_SIP_H_ALLOW_EVENTS },
    { "refer-to", LI_SIP_H_REFER_TO }, { "r", LI_SIP_H_REFER_TO },
    { "referred-by", LI_SIP_H_REFERRED_BY }, { "b", LI_SIP_H_REFERRED_BY },
    { "accept-contact", LI_SIP_H_ACCEPT_CONTACT }, { "a", LI_SIP_H_ACCEPT_CONTACT },
    { "reject-contact", LI_SIP_H_REJECT_CONTACT }, { "j", LI_SIP_H_REJECT_CONTACT },
    { "request-disposition", LI_SIP_H_REQUEST_DISPOSITION },
    { "d", LI_SIP_H_REQUEST_DISPOSITION },
    { "session-expires", LI_SIP_H_SESSION_EXPIRES }, { "x", LI_SIP_H_SESSION_EXPIRES },
    { "identity", LI_SIP_H_IDENTITY }, { "y", LI_SIP_H_IDENTITY },
    { "p-asserted-identity", LI_SIP_H_P_ASSERTED_IDENTITY },
    { "p-preferred-identity", LI_SIP_H_P_PREFERRED_IDENTITY },
    { "record-route", LI_SIP_H_RECORD_ROUTE },
    { "route", LI_SIP_H_ROUTE },
    { "security-client", LI_SIP_H_SECURITY_CLIENT },
    { "max-forwards", LI_SIP_H_MAX_FORWARDS },
};

li_sip_hdr li_sip_header_id(const char *name, size_t len)
{
    li_sip_str s = mk(name, len);
    for (size_t i = 0; i < sizeof header_names / sizeof header_names[0]; i++)
        if (li_sip_str_eq_nocase(s, header_names[i].name))
            return header_names[i].id;
    return LI_SIP_H_OTHER;
}

/* One line from pos: [*start, *start + *line_len) without its CR LF; *next after the
 * LF. Returns 0 when no LF is left. */
static int next_line(const char *buf, size_t len, size_t pos, size_t *line_len, size_t *next)
{
    const char *lf = memchr(buf + pos, '\n', len - pos);
    if (!lf)
        return 0;
    size_t end = (size_t)(lf - buf);
    *next = end + 1;
    if (end > pos && buf[end - 1] == '\r')
        end--;
    *line_len = end - pos;
    return 1;
}

/* Decimal without sign, at most max; 0 on success. */
static int parse_uint(li_sip_str s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (s.len == 0)
        return -1;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -1;
        unsigned d = (unsigned)(s.p[i] - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static li_err parse_start_line(li_sip_str line, li_sip_msg *m)
{
    static const char ver[] = "SIP/2.0";
    const size_t vlen = sizeof ver - 1;
    if (line.len > vlen && li_sip_str_eq_nocase(mk(line.p, vlen), ver) && line.p[vlen] == ' ') {
        /* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 7.2) */
        li_sip_str rest = mk(line.p + vlen + 1, line.len - vlen - 1);
        uint64_t code;
        if (rest.len < 3 || parse_uint(mk(rest.p, 3), 999, &code) != 0 || code < 100)
            return LI_ERR_PROTO;
        if (rest.len > 3 && rest.p[3] != ' ')
            return LI_ERR_PROTO;
        m->is_request = 0;
        m->status = (int)code;
        m->reason = rest.len > 4 ? mk(rest.p + 4, rest.len - 4) : mk(rest.p + 3, 0);
        return LI_OK;
    }
    /* Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 7.1) */
    size_t i = 0;
    while (i < line.len && is_token(line.p[i]))
        i++;
    if (i == 0 || i == line.len || line.p[i] != ' ')
        return LI_ERR_PROTO;
    m->method = mk(line.p, i);
    size_t uri_start = i + 1;
    const char *sp = memchr(line.p + uri_start, ' ', line.len - uri_start);
    if (!sp || sp == line.p + uri_start)
        return LI_ERR_PROTO;
    m->request_uri = mk(line.p + uri_start, (size_t)(sp - line.p) - uri_start);
    size_t vpos = (size_t)(sp - line.p) + 1;
    if (!li_sip_str_eq_nocase(mk(line.p + vpos, line.len - vpos), ver))
        return LI_ERR_PROTO;
    for (size_t k = 0; k < m->request_uri.len; k++)
        if ((unsigned char)m->request_uri.p[k] <= ' ')
            return LI_ERR_PROTO;
    m->is_request = 1;
    return LI_OK;
}

/* Adds one header line "name: value". */
static li_err add_header(li_sip_msg *m, li_sip_str line)
{
    size_t i = 0;
    while (i < line.len && is_token(line.p[i]))
        i++;
    if (i == 0)
        return LI_ERR_PROTO;
    size_t name_len = i;
    while (i < line.len && (line.p[i] == ' ' || line.p[i] == '\t'))
        i++;
    if (i == line.len || line.p[i] != ':')
        return LI_ERR_PROTO;
    if (m->n_headers == LI_SIP_MAX_HEADERS)
        return LI_ERR_PROTO;
    li_sip_header *h = &m->headers[m->n_headers++];
    h->name = mk(line.p, name_len);
    h->id = li_sip_header_id(line.p, name_len);
    h->value = trim(mk(line.p + i + 1, line.len - i - 1));
    return LI_OK;
}

/* Shortcuts and framing headers, once every (possibly folded) value is complete. */
static li_err index_headers(li_sip_msg *m)
{
    for (size_t i = 0; i < m->n_headers; i++) {
        li_sip_header *h = &m->headers[i];
        li_sip_str *slot = NULL;
        switch (h->id) {
        case LI_SIP_H_CALL_ID: slot = &m->call_id; break;
        case LI_SIP_H_FROM: slot = &m->from; break;
        case LI_SIP_H_TO: slot = &m->to; break;
        case LI_SIP_H_CONTACT: slot = &m->contact; break;
        case LI_SIP_H_CONTENT_TYPE: slot = &m->content_type; break;
        case LI_SIP_H_CONTENT_LENGTH: {
            uint64_t v;
            if (parse_uint(h->value, LI_SIP_MAX_BODY, &v) != 0)
                return LI_ERR_PROTO;
            /* Two different lengths make the framing ambiguous: refuse rather than
             * guess (the same smuggling concern as RFC 9112 6.3). */
            if (m->has_content_length && m->content_length != (size_t)v)
                return LI_ERR_PROTO;
            m->has_content_length = 1;
            m->content_length = (size_t)v;
            break;
        }
        case LI_SIP_H_CSEQ:
            if (!m->cseq_method.p) {
                /* CSeq = 1*DIGIT LWS Method (RFC 3261 20.16) */
                size_t k = 0;
                while (k < h->value.len && h->value.p[k] >= '0' && h->value.p[k] <= '9')
                    k++;
                uint64_t n;
                if (parse_uint(mk(h->value.p, k), UINT32_MAX, &n) != 0)
                    return LI_ERR_PROTO;
                li_sip_str meth = trim(mk(h->value.p + k, h->value.len - k));
                if (meth.len == 0 || k == h->value.len || !is_lws(h->value.p[k]))
                    return LI_ERR_PROTO;
                m->cseq = (uint32_t)n;
                m->cseq_method = meth;
            }
            break;
        default: break;
        }
        if (slot && !slot->p)
            *slot = h->value;
    }
    return LI_OK;
}

li_err li_sip_parse(const char *buf, size_t len, int stream, li_sip_msg *out, size_t *used)
{
    memset(out, 0, sizeof *out);
    size_t pos = 0;
    while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n'))
        pos++;
    const size_t start = pos;
    const li_err incomplete = stream ? LI_AGAIN : LI_ERR_PROTO;
    size_t line_len, next;
    /* The header block is searched only within LI_SIP_MAX_HEAD bytes. */
    size_t limit = len - start > LI_SIP_MAX_HEAD ? start + LI_SIP_MAX_HEAD : len;

    if (!next_line(buf, limit, pos, &line_len, &next))
        return limit < len ? LI_ERR_PROTO : incomplete;
    li_err err = parse_start_line(mk(buf + pos, line_len), out);
    if (err != LI_OK)
        return err;
    pos = next;

    size_t body_start = 0;
    for (;;) {
        if (!next_line(buf, limit, pos, &line_len, &next)) {
            if (limit < len)
                return LI_ERR_PROTO;
            if (stream)
                return LI_AGAIN;
            /* A datagram may end right after its last header line, without the blank
             * line; accept it with an empty body. */
            if (pos < len) {
                if (buf[pos] == ' ' || buf[pos] == '\t')
                    return LI_ERR_PROTO;
                err = add_header(out, mk(buf + pos, len - pos));
                if (err != LI_OK)
                    return err;
            }
            body_start = len;
            break;
        }
        if (line_len == 0) {
            body_start = next;
            break;
        }
        if (buf[pos] == ' ' || buf[pos] == '\t') {
            /* Folded continuation (RFC 3261 7.3.1): extend the previous value. */
            if (out->n_headers == 0)
                return LI_ERR_PROTO;
            li_sip_header *h = &out->headers[out->n_headers - 1];
            const char *vstart = h->value.len ? h->value.p : buf + pos;
            li_sip_str v = trim(mk(vstart, (size_t)(buf + pos + line_len - vstart)));
            if (v.len)
                h->value = v;
        } else {
            err = add_header(out, mk(buf + pos, line_len));
            if (err != LI_OK)
                return err;
        }
        pos = next;
    }
    err = index_headers(out);
    if (err != LI_OK)
        return err;

    size_t avail = len - body_start;
    size_t body_len;
    if (out->has_content_length) {
        if (out->content_length > avail)
            return incomplete;
        body_len = out->content_length;
    } else {
        /* RFC 3261 18.3: on a stream Content-Length is mandatory; a message without it
         * is taken as having no body, so that the stream stays in step. */
        body_len = stream ? 0 : avail;
    }
    out->body = mk(buf + body_start, body_len);
    *used = body_start + body_len;
    return LI_OK;
}

li_sip_str li_sip_header_next(const li_sip_msg *msg, li_sip_hdr id, size_t *iter)
{
    for (size_t i = *iter; i < msg->n_headers; i++) {
        if (msg->headers[i].id == id) {
            *iter = i + 1;
            return msg->headers[i].value;
        }
    }
    *iter = msg->n_headers;
    return mk(NULL, 0);
}

/* Index of the first `stop` character of s outside quoted strings and <...> (stop may be
 * '<' itself), or s.len; then *open_quote (when not NULL) tells whether s ends inside a
 * quoted string. */
static size_t scan_to(li_sip_str s, char stop, int *open_quote)
{
    int quoted = 0, angle = 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (quoted) {
            if (c == '\\' && i + 1 < s.len)
                i++;
            else if (c == '"')
                quoted = 0;
        } else if (c == '"') {
            quoted = 1;
        } else if (c == stop && !angle) {
            return i;
        } else if (c == '<') {
            angle = 1;
        } else if (c == '>') {
            angle = 0;
        }
    }
    if (open_quote)
        *open_quote = quoted;
    return s.len;
}

int li_sip_list_next(li_sip_str *rest, li_sip_str *elem)
{
    for (;;) {
        li_sip_str r = trim(*rest);
        if (r.len == 0 || !r.p) {
            rest->len = 0;
            return 0;
        }
        size_t i = scan_to(r, ',', NULL);
        li_sip_str e = trim(mk(r.p, i));
        *rest = i < r.len ? mk(r.p + i + 1, r.len - i - 1) : mk(r.p + r.len, 0);
        if (e.len) {
            *elem = e;
            return 1;
        }
    }
}

int li_sip_param(li_sip_str params, const char *name, li_sip_str *value)
{
    li_sip_str r = params;
    while (r.p && r.len) {
        size_t i = scan_to(r, ';', NULL);
        li_sip_str item = trim(mk(r.p, i));
        r = i < r.len ? mk(r.p + i + 1, r.len - i - 1) : mk(r.p + r.len, 0);
        if (item.len == 0)
            continue;
        const char *eq = memchr(item.p, '=', item.len);
        size_t nlen = eq ? (size_t)(eq - item.p) : item.len;
        if (li_sip_str_eq_nocase(trim(mk(item.p, nlen)), name)) {
            *value = eq ? trim(mk(eq + 1, item.len - nlen - 1)) : mk(item.p + item.len, 0);
            return 1;
        }
    }
    return 0;
}

li_err li_sip_addr_parse(li_sip_str value, li_sip_addr *out)
{
    memset(out, 0, sizeof *out);
    li_sip_str v = trim(value);
    if (!v.p || v.len == 0)
        return LI_ERR_PROTO;
    /* name-addr: a '<' outside a quoted display name, before any ';' (in the addr-spec
     * form a ';' starts the header parameters, RFC 3261 20.10, and no '<' may follow). */
    int open_quote = 0;
    size_t lt = scan_to(v, '<', &open_quote);
    if (scan_to(v, ';', NULL) < lt)
        lt = v.len;
    else if (lt == v.len && open_quote)
        return LI_ERR_PROTO; /* neither, and a display name's quote never closes */
    li_sip_str after;
    if (lt < v.len) {
        const char *gt = memchr(v.p + lt + 1, '>', v.len - lt - 1);
        if (!gt)
            return LI_ERR_PROTO;
        li_sip_str disp = trim(mk(v.p, lt));
        if (disp.len >= 2 && disp.p[0] == '"' && disp.p[disp.len - 1] == '"')
            disp = mk(disp.p + 1, disp.len - 2);
        out->display = disp.len ? disp : mk(v.p, 0);
        out->uri = trim(mk(v.p + lt + 1, (size_t)(gt - v.p) - lt - 1));
        after = mk(gt + 1, (size_t)(v.p + v.len - gt - 1));
    } else {
        /* addr-spec: its ';' parameters are header parameters (RFC 3261 20.10). */
        const char *semi = memchr(v.p, ';', v.len);
        size_t ulen = semi ? (size_t)(semi - v.p) : v.len;
        out->display = mk(v.p, 0);
        out->uri = trim(mk(v.p, ulen));
        after = mk(v.p + ulen, v.len - ulen);
    }
    if (out->uri.len == 0)
        return LI_ERR_PROTO;
    after = trim(after);
    if (after.len && after.p[0] != ';')
        return LI_ERR_PROTO;
    out->params = after;
    li_sip_str tag;
    if (li_sip_param(after, "tag", &tag))
        out->tag = tag;
    return LI_OK;
}

li_err li_sip_content_type(li_sip_str value, li_sip_str *media_type, li_sip_str *boundary)
{
    li_sip_str v = trim(value);
    if (!v.p || v.len == 0)
        return LI_ERR_PROTO;
    size_t semi = scan_to(v, ';', NULL);
    li_sip_str mt = trim(mk(v.p, semi));
    if (mt.len == 0 || !memchr(mt.p, '/', mt.len))
        return LI_ERR_PROTO;
    *media_type = mt;
    *boundary = mk(NULL, 0);
    li_sip_str b;
    if (li_sip_param(mk(v.p + semi, v.len - semi), "boundary", &b)) {
        if (b.len >= 2 && b.p[0] == '"' && b.p[b.len - 1] == '"')
            b = mk(b.p + 1, b.len - 2);
        /* RFC 2046 5.1.1: 1 to 70 characters. */
        if (b.len == 0 || b.len > 70)
            return LI_ERR_PROTO;
        *boundary = b;
    }
    return LI_OK;
}

/* Position of the next delimiter line "--boundary" that starts at `from` or right after
 * a LF at or after `from`; *line_start gets the index where the delimiter's preceding
 * CRLF (or LF) begins, which ends the previous part (RFC 2046 5.1.1). */
static int find_delim(li_sip_str body, li_sip_str boundary, size_t from, size_t *delim,
                      size_t *line_start)
{
    size_t need = boundary.len + 2;
    for (size_t i = from; i < body.len && body.len - i >= need; i++) {
        if (i != 0 && body.p[i - 1] != '\n')
            continue;
        if (body.p[i] != '-' || body.p[i + 1] != '-' ||
            memcmp(body.p + i + 2, boundary.p, boundary.len) != 0)
            continue;
        *delim = i;
        size_t ls = i;
        if (ls > 0 && body.p[ls - 1] == '\n') {
            ls--;
            if (ls > 0 && body.p[ls - 1] == '\r')
                ls--;
        }
        *line_start = ls;
        return 1;
    }
    return 0;
}

li_err li_sip_multipart_find(li_sip_str body, li_sip_str boundary, const char *want_type,
                             li_sip_str *part)
{
    if (!body.p || !boundary.p || boundary.len == 0)
        return LI_ERR_PROTO;
    size_t delim, ls;
    if (!find_delim(body, boundary, 0, &delim, &ls))
        return LI_ERR_PROTO;
    for (;;) {
        size_t after = delim + 2 + boundary.len;
        if (body.len - after >= 2 && body.p[after] == '-' && body.p[after + 1] == '-')
            return LI_ERR_NOT_FOUND;       /* close-delimiter */
        size_t line_len, pos;
        if (!next_line(body.p, body.len, after, &line_len, &pos))
            return LI_ERR_PROTO;
        /* Part headers up to a blank line. */
        li_sip_str ctype = mk(NULL, 0);
        for (;;) {
            size_t hl, nx;
            if (!next_line(body.p, body.len, pos, &hl, &nx))
                return LI_ERR_PROTO;
            if (hl == 0) {
                pos = nx;
                break;
            }
            li_sip_str line = mk(body.p + pos, hl);
            const char *colon = memchr(line.p, ':', line.len);
            if (colon) {
                li_sip_str name = trim(mk(line.p, (size_t)(colon - line.p)));
                if (li_sip_str_eq_nocase(name, "content-type") || li_sip_str_eq_nocase(name, "c"))
                    ctype = mk(colon + 1, line.len - (size_t)(colon - line.p) - 1);
            }
            pos = nx;
        }
        size_t next_delim, end;
        if (!find_delim(body, boundary, pos, &next_delim, &end))
            return LI_ERR_PROTO;
        /* A delimiter right after the blank line: the CRLF before it is the blank
         * line's, and the part is empty. */
        if (end < pos)
            end = pos;
        li_sip_str mt, b;
        if (ctype.p && li_sip_content_type(ctype, &mt, &b) == LI_OK &&
            li_sip_str_eq_nocase(mt, want_type)) {
            *part = mk(body.p + pos, end - pos);
            return LI_OK;
        }
        delim = next_delim;
    }
}

li_err li_sip_sdp_body(const li_sip_msg *msg, li_sip_str *sdp)
{
    li_sip_str mt, boundary;
    if (!msg->content_type.p || msg->body.len == 0 ||
        li_sip_content_type(msg->content_type, &mt, &boundary) != LI_OK)
        return LI_ERR_NOT_FOUND;
    if (li_sip_str_eq_nocase(mt, "application/sdp")) {
        *sdp = msg->body;
        return LI_OK;
    }
    if (mt.len > 10 && li_sip_str_eq_nocase(mk(mt.p, 10), "multipart/") && boundary.p) {
        li_err err = li_sip_multipart_find(msg->body, boundary, "application/sdp", sdp);
        return err == LI_OK ? LI_OK : LI_ERR_NOT_FOUND;
    }
    return LI_ERR_NOT_FOUND;
}
