/* SDP codec: see li_sdp.h. */
#include "li_sdp.h"

#include <string.h>

#include "li_msrp.h"

static li_sip_str mk(const char *p, size_t len)
{
    li_sip_str s = { p, len };
    return s;
}

static li_sip_str trim_ws(li_sip_str s)
{
    while (s.len && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.len--;
    }
    while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t' || s.p[s.len - 1] == '\r'))
        s.len--;
    return s;
}

/* Next space-separated field of *rest; 0 when none is left. */
static int next_field(li_sip_str *rest, li_sip_str *field)
{
    li_sip_str r = trim_ws(*rest);
    if (!r.p || r.len == 0)
        return 0;
    size_t i = 0;
    while (i < r.len && r.p[i] != ' ' && r.p[i] != '\t')
        i++;
    *field = mk(r.p, i);
    *rest = mk(r.p + i, r.len - i);
    return 1;
}

/* m=<media> <port>[/<count>] <proto> <fmt> ... (RFC 8866 5.14) */
static li_err parse_m(li_sip_str v, li_sdp_media *m)
{
    li_sip_str port, rest = v;
    if (!next_field(&rest, &m->media) || !next_field(&rest, &port) ||
        !next_field(&rest, &m->proto))
        return LI_ERR_PROTO;
    m->fmt = trim_ws(rest);
    uint32_t p = 0;
    size_t i = 0;
    for (; i < port.len && port.p[i] >= '0' && port.p[i] <= '9'; i++) {
        p = p * 10 + (uint32_t)(port.p[i] - '0');
        if (p > 65535)
            return LI_ERR_PROTO;
    }
    if (i == 0 || (i < port.len && port.p[i] != '/'))
        return LI_ERR_PROTO;
    m->port = (uint16_t)p;
    m->is_tls = li_sip_str_eq_nocase(m->proto, "TCP/TLS/MSRP");
    m->is_msrp = m->is_tls || li_sip_str_eq_nocase(m->proto, "TCP/MSRP");
    return LI_OK;
}

/* a=<name>[:<value>]: *name and *value (value p NULL when there is no ':'). */
static void split_attr(li_sip_str v, li_sip_str *name, li_sip_str *value)
{
    const char *colon = memchr(v.p, ':', v.len);
    if (!colon) {
        *name = trim_ws(v);
        *value = mk(NULL, 0);
        return;
    }
    *name = trim_ws(mk(v.p, (size_t)(colon - v.p)));
    *value = trim_ws(mk(colon + 1, v.len - (size_t)(colon - v.p) - 1));
}

static void fingerprint(li_sip_str value, li_sip_str *hash, li_sip_str *fp)
{
    li_sip_str rest = value;
    if (next_field(&rest, hash) && next_field(&rest, fp))
        return;
    *hash = mk(NULL, 0);
    *fp = mk(NULL, 0);
}

static void media_attr(li_sdp_media *m, li_sip_str name, li_sip_str value)
{
    if (li_sip_str_eq_nocase(name, "path") && value.p)
        m->path = value;
    else if (li_sip_str_eq_nocase(name, "accept-types") && value.p)
        m->accept_types = value;
    else if (li_sip_str_eq_nocase(name, "accept-wrapped-types") && value.p)
        m->accept_wrapped_types = value;
    else if (li_sip_str_eq_nocase(name, "setup") && value.p)
        m->setup = value;
    else if (li_sip_str_eq_nocase(name, "fingerprint") && value.p)
        fingerprint(value, &m->fingerprint_hash, &m->fingerprint);
    else if (li_sip_str_eq_nocase(name, "3ge2ae") && value.p)
        m->e2ae = value;
    else if (li_sip_str_eq_nocase(name, "msrp-cema"))
        m->msrp_cema = 1;
    else if (li_sip_str_eq_nocase(name, "sendrecv") || li_sip_str_eq_nocase(name, "sendonly") ||
             li_sip_str_eq_nocase(name, "recvonly") || li_sip_str_eq_nocase(name, "inactive"))
        m->direction = name;
}

li_err li_sdp_parse(const char *buf, size_t len, li_sdp *out)
{
    memset(out, 0, sizeof *out);
    size_t pos = 0;
    int first = 1;
    li_sdp_media *cur = NULL;
    while (pos < len) {
        const char *lf = memchr(buf + pos, '\n', len - pos);
        size_t end = lf ? (size_t)(lf - buf) : len;
        li_sip_str line = mk(buf + pos, end - pos);
        pos = lf ? end + 1 : len;
        if (line.len && line.p[line.len - 1] == '\r')
            line.len--;
        if (line.len == 0)
            continue;           /* tolerate blank lines (e.g. a trailing CRLF pair) */
        if (line.len < 2 || line.p[1] != '=' || line.p[0] < 'a' || line.p[0] > 'z')
            return LI_ERR_PROTO;
        char type = line.p[0];
        li_sip_str v = mk(line.p + 2, line.len - 2);
        if (first) {
            /* RFC 8866 5: a session description starts with v=0. */
            if (type != 'v' || !li_sip_str_eq(trim_ws(v), "0"))
                return LI_ERR_PROTO;
            first = 0;
            continue;
        }
        li_sip_str name, value;
        switch (type) {
        case 'o':
            if (!cur)
                out->origin = v;
            break;
        case 's':
            if (!cur)
                out->session_name = v;
            break;
        case 'c':
            if (cur)
                cur->connection = v;
            else
                out->connection = v;
            break;
        case 'm':
            if (out->n_media == LI_SDP_MAX_MEDIA)
                return LI_ERR_PROTO;
            cur = &out->media[out->n_media++];
            if (parse_m(v, cur) != LI_OK)
                return LI_ERR_PROTO;
            break;
        case 'a':
            split_attr(v, &name, &value);
            if (cur) {
                media_attr(cur, name, value);
            } else if (li_sip_str_eq_nocase(name, "fingerprint") && value.p) {
                fingerprint(value, &out->fingerprint_hash, &out->fingerprint);
            } else if (li_sip_str_eq_nocase(name, "setup") && value.p) {
                out->setup = value;
            }
            break;
        default:
            break;
        }
    }
    if (first)
        return LI_ERR_PROTO;
    for (size_t i = 0; i < out->n_media; i++) {
        li_sdp_media *m = &out->media[i];
        if (!m->connection.p)
            m->connection = out->connection;
        if (!m->fingerprint.p) {
            m->fingerprint = out->fingerprint;
            m->fingerprint_hash = out->fingerprint_hash;
        }
        if (!m->setup.p)
            m->setup = out->setup;
    }
    return LI_OK;
}

int li_sdp_path_next(li_sip_str *rest, li_sip_str *uri)
{
    return next_field(rest, uri);
}

li_err li_sdp_msrp_session_id(li_sip_str uri, li_sip_str *session_id)
{
    li_msrp_str sid;
    li_err err = li_msrp_uri_session_id(uri.p, uri.len, &sid);
    if (err == LI_OK)
        *session_id = mk(sid.p, sid.len);
    return err;
}
