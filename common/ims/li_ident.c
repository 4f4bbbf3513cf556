#include "li_ident.h"

#include <string.h>

#include "li_bytes.h"

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_visual_separator(int c)
{
    return c == '-' || c == '.' || c == '(' || c == ')'; /* RFC 3966 5.1.1 */
}

static int starts_with_ci(const char *p, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    if (len < n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)p[i]) != prefix[i])
            return 0;
    return 1;
}

static int is_unreserved(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static int hex_value(int c)
{
    c = lower(c);
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Writes "tel:" and the number in p[0..len) without visual separators (RFC 3966 5.1.1),
 * hex digits lower-cased (comparison is case-insensitive, section 4). A global number is
 * '+' and digits; a local one (allow_local) is hex digits, '*' and '#' (section 3). */
static li_err put_tel(const char *p, size_t len, int allow_local, char *out, size_t out_size)
{
    int global = len && p[0] == '+';
    size_t n = 4, digits = 0;
    if (!global && !allow_local)
        return LI_ERR_PROTO;
    if (out_size < 6)
        return LI_ERR_TOO_BIG;
    memcpy(out, global ? "tel:+" : "tel:", 5);
    n += (size_t)global;
    for (size_t i = (size_t)global; i < len; i++) {
        int c = (unsigned char)p[i];
        if (is_visual_separator(c))
            continue;
        if (!is_digit(c) && (global || (c != '*' && c != '#' && hex_value(c) < 0)))
            return LI_ERR_PROTO;
        if (n + 1 >= out_size)
            return LI_ERR_TOO_BIG;
        out[n++] = (char)lower(c);
        digits++;
    }
    if (digits == 0)
        return LI_ERR_PROTO;
    out[n] = '\0';
    return LI_OK;
}

/* Appends the canonical form of a phone-context descriptor (RFC 3966 3: domainname or
 * global-number-digits) at out[*n]: a domain lower-cased without a trailing dot (compared
 * as a host name), a number without visual separators (section 4). */
static li_err put_context(const char *d, size_t len, char *out, size_t out_size, size_t *n)
{
    if (len && d[0] == '+') {
        char num[LI_IDENT_MAX];
        li_err err = put_tel(d, len, 0, num, sizeof num);
        if (err != LI_OK)
            return err;
        size_t k = strlen(num + 4);
        if (k >= out_size - *n)
            return LI_ERR_TOO_BIG;
        memcpy(out + *n, num + 4, k);
        *n += k;
        return LI_OK;
    }
    if (len && d[len - 1] == '.')
        len--;
    /* domainlabel = alphanum / alphanum *( alphanum / "-" ) alphanum; the toplabel starts
     * with a letter. */
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        int c = i < len ? (unsigned char)d[i] : '.';
        if (c == '.') {
            if (i == label || d[i - 1] == '-')
                return LI_ERR_PROTO;
            if (i == len && is_digit((unsigned char)d[label]))
                return LI_ERR_PROTO;
            label = i + 1;
        } else if (c == '-') {
            if (i == label)
                return LI_ERR_PROTO;
        } else if (!is_digit(c) && !(lower(c) >= 'a' && lower(c) <= 'z')) {
            return LI_ERR_PROTO;
        }
        if (i < len) {
            if (*n + 1 >= out_size)
                return LI_ERR_TOO_BIG;
            out[(*n)++] = (char)lower(c);
        }
    }
    return LI_OK;
}

/* A telephone-subscriber (RFC 3966 3) in p[0..len): "tel:" and the number; a local
 * number keeps its phone-context, which it must have (section 5.1.5: it is only a number
 * within that context), as ";phone-context=" and the canonical descriptor. Other
 * parameters, and a phone-context on a global number, are dropped. */
static li_err canon_tel(const char *p, size_t len, char *out, size_t out_size)
{
    const char *semi = memchr(p, ';', len);
    size_t nlen = semi ? (size_t)(semi - p) : len;
    li_err err = put_tel(p, nlen, 1, out, out_size);
    if (err != LI_OK || out[4] == '+')
        return err;
    static const char key[] = ";phone-context=";
    for (size_t i = nlen; i < len; i++) {
        if (p[i] != ';' || !starts_with_ci(p + i, len - i, key))
            continue;
        const char *d = p + i + sizeof key - 1;
        const char *end = memchr(d, ';', len - (size_t)(d - p));
        size_t n = strlen(out);
        if (sizeof key - 1 >= out_size - n)
            return LI_ERR_TOO_BIG;
        memcpy(out + n, key, sizeof key - 1);
        n += sizeof key - 1;
        err = put_context(d, end ? (size_t)(end - d) : len - (size_t)(d - p), out, out_size, &n);
        if (err == LI_OK)
            out[n] = '\0';
        return err;
    }
    return LI_ERR_PROTO;
}

/* A user part that is a telephone number: '+' followed by digits and separators. */
static int is_global_number(const char *p, size_t len)
{
    if (len < 2 || p[0] != '+')
        return 0;
    int digits = 0;
    for (size_t i = 1; i < len; i++) {
        if (is_digit((unsigned char)p[i]))
            digits++;
        else if (!is_visual_separator((unsigned char)p[i]))
            return 0;
    }
    return digits > 0;
}

/* Looks for the URI parameter user=phone in p[0..len) (';'-separated). */
static int has_user_phone(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] == ';' && starts_with_ci(p + i + 1, len - i - 1, "user=phone"))
            return 1;
    return 0;
}

static li_err canon_sip(const char *p, size_t len, char *out, size_t out_size)
{
    /* p points after "sip:" or "sips:"; headers ('?') end the URI proper. */
    const char *q = memchr(p, '?', len);
    if (q)
        len = (size_t)(q - p);
    const char *at = NULL;
    for (size_t i = 0; i < len; i++)
        if (p[i] == '@')
            at = p + i; /* the last '@' separates userinfo from the host */
    const char *host = at ? at + 1 : p;
    size_t host_len = len - (size_t)(host - p);
    size_t params_at = host_len;
    for (size_t i = 0; i < host_len; i++) {
        if (host[i] == ';') {
            params_at = i;
            break;
        }
    }
    int phone = has_user_phone(host + params_at, host_len - params_at);
    size_t hlen = params_at;
    /* Drop the port, keeping IPv6 references intact. */
    if (hlen && host[0] == '[') {
        const char *close = memchr(host, ']', hlen);
        if (!close)
            return LI_ERR_PROTO;
        hlen = (size_t)(close - host) + 1;
    } else {
        const char *colon = memchr(host, ':', hlen);
        if (colon)
            hlen = (size_t)(colon - host);
    }
    if (hlen == 0)
        return LI_ERR_PROTO;

    /* RFC 3261 19.1.6: with user=phone the user part is a telephone-subscriber; a local
     * number with its phone-context is that tel: identity (a global one is made below,
     * once its escapes are decoded). */
    if (phone && at) {
        li_err err = canon_tel(p, (size_t)(at - p), out, out_size);
        if (err == LI_ERR_TOO_BIG || (err == LI_OK && out[4] != '+'))
            return err;
    }
    /* The user part: up to ':' (password) and, for telephone-subscribers, ';'. */
    const char *user = at ? p : NULL;
    size_t ulen = 0;
    if (user) {
        size_t end = (size_t)(at - p);
        for (size_t i = 0; i < end; i++) {
            if (p[i] == ':' || (p[i] == ';')) {
                if (p[i] == ';' && !phone)
                    continue; /* ';' is legal in a user part; only numbers stop there */
                end = i;
                break;
            }
        }
        ulen = end;
        if (ulen == 0)
            return LI_ERR_PROTO;
    }

    size_t n = 0;
    if (out_size < 5)
        return LI_ERR_TOO_BIG;
    memcpy(out, "sip:", 4);
    n = 4;
    for (size_t i = 0; i < ulen; i++) {
        int c = (unsigned char)user[i];
        char esc[4] = "";
        if (c == '%') {
            /* RFC 3986 2.3/6.2.2: an escaped unreserved character is the character;
             * anything else stays escaped (lower-case hex), and a '%' that starts no
             * escape is written %25, so that the canonical form is stable. */
            int hi = ulen - i >= 3 ? hex_value(user[i + 1]) : -1;
            int lo = ulen - i >= 3 ? hex_value(user[i + 2]) : -1;
            int d = hi >= 0 && lo >= 0 ? hi * 16 + lo : -1;
            if (d >= 0 && is_unreserved(d)) {
                c = d;
            } else if (d >= 0) {
                uint8_t octet = (uint8_t)d;
                esc[0] = '%';
                li_hex_encode(&octet, 1, esc + 1);
            } else {
                memcpy(esc, "%25", 4);
            }
            if (d >= 0)
                i += 2;
        }
        if (!esc[0] && (c <= ' ' || c == '<' || c == '>' || c == '"'))
            return LI_ERR_PROTO;
        size_t put = esc[0] ? 3 : 1;
        if (n + put >= out_size)
            return LI_ERR_TOO_BIG;
        if (esc[0]) {
            memcpy(out + n, esc, 3);
            n += 3;
        } else {
            out[n++] = (char)lower(c);
        }
    }
    /* A telephone-number user part (judged once decoded) makes a tel: identity. */
    size_t cu_len = n - 4;
    if (ulen && (phone || is_global_number(out + 4, cu_len))) {
        char num[LI_IDENT_MAX];
        if (cu_len >= sizeof num)
            return LI_ERR_TOO_BIG;
        memcpy(num, out + 4, cu_len);
        li_err err = put_tel(num, cu_len, 0, out, out_size);
        if (err != LI_ERR_PROTO || !phone)
            return err;
        /* user=phone on a local number: keep the SIP form. */
        memcpy(out, "sip:", 4);
        memcpy(out + 4, num, cu_len);
    }
    if (ulen) {
        if (n + 1 >= out_size)
            return LI_ERR_TOO_BIG;
        out[n++] = '@';
    }
    for (size_t i = 0; i < hlen; i++) {
        int c = (unsigned char)host[i];
        if (c <= ' ' || c == '<' || c == '>' || c == '@' || c == '"')
            return LI_ERR_PROTO;
        if (n + 1 >= out_size)
            return LI_ERR_TOO_BIG;
        out[n++] = (char)lower(c);
    }
    out[n] = '\0';
    return LI_OK;
}

li_err li_ident_canon(const char *text, size_t len, char *out, size_t out_size)
{
    const char *p = text;
    /* Trim, then take the URI out of a name-addr ("Name" <uri>;params). */
    while (len && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r' ||
                   p[len - 1] == '\n'))
        len--;
    const char *lt = NULL;
    int quoted = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '"' && (i == 0 || p[i - 1] != '\\'))
            quoted = !quoted;
        else if (p[i] == '<' && !quoted) {
            lt = p + i;
            break;
        }
    }
    if (lt) {
        const char *gt = memchr(lt, '>', len - (size_t)(lt - p));
        if (!gt)
            return LI_ERR_PROTO;
        len = (size_t)(gt - lt - 1);
        p = lt + 1;
    }
    /* Without brackets, what follows ';' may be header parameters (RFC 3261 20.10);
     * the parsers below drop every parameter but look at user=phone either way. */
    if (len == 0)
        return LI_ERR_PROTO;
    if (starts_with_ci(p, len, "sips:"))
        return canon_sip(p + 5, len - 5, out, out_size);
    if (starts_with_ci(p, len, "sip:"))
        return canon_sip(p + 4, len - 4, out, out_size);
    if (starts_with_ci(p, len, "tel:"))
        return canon_tel(p + 4, len - 4, out, out_size);
    /* A bare number: E.164, with or without '+'. */
    if (p[0] == '+' || is_digit((unsigned char)p[0])) {
        char tmp[LI_IDENT_MAX];
        if (len + 1 >= sizeof tmp)
            return LI_ERR_TOO_BIG;
        size_t n = 0;
        if (p[0] != '+')
            tmp[n++] = '+';
        memcpy(tmp + n, p, len);
        return put_tel(tmp, n + len, 0, out, out_size);
    }
    return LI_ERR_PROTO;
}

li_err li_ident_canon_target(const char *type, const char *value, char *out, size_t out_size)
{
    size_t len = strlen(value);
    if (len == 0 || len >= LI_IDENT_MAX)
        return LI_ERR_PROTO;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)value[i] <= ' ' || value[i] == '<' || value[i] == '>' ||
            value[i] == '"')
            return LI_ERR_PROTO;
    if (strcmp(type, "sip-uri") == 0) {
        if (!starts_with_ci(value, len, "sip:") && !starts_with_ci(value, len, "sips:"))
            return LI_ERR_PROTO;
    } else if (strcmp(type, "tel-uri") == 0) {
        if (!starts_with_ci(value, len, "tel:"))
            return LI_ERR_PROTO;
    } else if (strcmp(type, "impu") == 0) {
        if (!starts_with_ci(value, len, "sip:") && !starts_with_ci(value, len, "sips:") &&
            !starts_with_ci(value, len, "tel:"))
            return LI_ERR_PROTO;
    } else if (strcmp(type, "e164") == 0) {
        size_t start = value[0] == '+';
        if (len - start < 1 || len - start > 15)
            return LI_ERR_PROTO;
        for (size_t i = start; i < len; i++)
            if (!is_digit((unsigned char)value[i]))
                return LI_ERR_PROTO;
    } else {
        return LI_ERR_INVAL;
    }
    li_err err = li_ident_canon(value, len, out, out_size);
    /* A sip: target must name a user at a host. */
    if (err == LI_OK && strcmp(type, "sip-uri") == 0 && strncmp(out, "sip:", 4) == 0 &&
        !strchr(out, '@'))
        return LI_ERR_PROTO;
    return err;
}
