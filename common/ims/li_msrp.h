/* MSRP (RFC 4975) framing: a pure, resumable parser of one message (request or
 * response) over a caller's buffer, MSRP URI and path parsing, and the two writers a
 * relay needs (RFC 4976 path rewriting and a bodiless response).
 *
 * Pure (docs/CODING.md 1, docs/PRINCIPLES.md 9): no I/O, no allocation, no logging in the parser.
 * Every li_msrp_str points into the caller's buffer, which must outlive the result.
 *
 * Liberal where the RFC leaves room, strict where framing depends on it:
 *   - lines end in CRLF (RFC 4975 section 9 ABNF); a bare LF is an error, because the
 *     end-line is recognised by its CRLF and a lax rule would let bodies be misframed;
 *   - header names are matched case-insensitively, the SP after ':' is optional;
 *   - a body ends at the first CRLF "-------" transact-id flag CRLF (flag $, + or #);
 *     "-------" + the transaction id followed by anything else is body content
 *     (RFC 4975 section 7.1 makes the sender choose a tid absent from the body);
 *   - To-Path and From-Path are required in requests and responses (section 7.1.1);
 *     a Byte-Range that is present must be well formed; other headers are kept raw. */
#ifndef LI_MSRP_H
#define LI_MSRP_H

#include <stddef.h>
#include <stdint.h>

#include "li_bytes.h"
#include "li_err.h"

#define LI_MSRP_MAX_HEADERS 32
/* Start line plus headers. RFC 4975 sets no limit; 16 KiB is far above any real
 * header block and lets a relay reject a non-MSRP stream early. */
#define LI_MSRP_MAX_HEAD_BYTES 16384
/* "*" in a Byte-Range (RFC 4975 section 8.8.4: end or total unknown). */
#define LI_MSRP_UNKNOWN UINT64_MAX
/* Transaction ids are 4 to 32 characters (ident, RFC 4975 section 9). */
#define LI_MSRP_TID_MIN 4
#define LI_MSRP_TID_MAX 32

typedef enum li_msrp_method {
    LI_MSRP_RESPONSE = 0,
    LI_MSRP_SEND = 1,
    LI_MSRP_REPORT = 2,
    LI_MSRP_AUTH = 3,      /* RFC 4976 */
    LI_MSRP_OTHER = 4      /* other-method (1*UPALPHA): relayed, not interpreted */
} li_msrp_method;

/* A view into the caller's buffer; p == NULL means absent. */
typedef struct li_msrp_str {
    const char *p;
    size_t len;
} li_msrp_str;

typedef struct li_msrp_header {
    li_msrp_str name;    /* as written */
    li_msrp_str value;   /* without leading whitespace and without the CRLF */
} li_msrp_header;

typedef struct li_msrp_msg {
    li_msrp_method method;        /* LI_MSRP_RESPONSE for a response */
    li_msrp_str tid;
    li_msrp_str method_name;      /* requests: the method token */
    int status;                   /* responses: 3-digit status code */
    li_msrp_str comment;          /* responses: text after the code (may be empty) */

    li_msrp_header headers[LI_MSRP_MAX_HEADERS];   /* every header, in order */
    size_t n_headers;

    /* Values of the well-known headers (p NULL when absent). */
    li_msrp_str to_path;
    li_msrp_str from_path;
    li_msrp_str message_id;
    li_msrp_str byte_range;
    li_msrp_str success_report;
    li_msrp_str failure_report;
    li_msrp_str status_header;    /* the Status header (REPORTs), e.g. "000 200 OK" */
    li_msrp_str content_type;

    /* Byte-Range parsed; when absent: 1, LI_MSRP_UNKNOWN, LI_MSRP_UNKNOWN. */
    uint64_t range_start;
    uint64_t range_end;
    uint64_t range_total;

    int has_body;                 /* a blank line introduced a data part */
    const uint8_t *body;          /* the data part (may be empty); NULL without one */
    size_t body_len;
    char flag;                    /* continuation flag: '$' complete, '+' more, '#' aborted */
    size_t end_line_offset;       /* offset of the end-line "-------tid?" */
    size_t len;                   /* bytes of the whole message, end-line included */
} li_msrp_msg;

/* Resumption state: lets a caller that appends to one buffer re-parse without
 * rescanning a large body from its start. Zero it (li_msrp_parser_init) before the
 * first call for each message; li_msrp_parse resets it after LI_OK or an error. */
typedef struct li_msrp_parser {
    size_t scan_from;
} li_msrp_parser;

static inline void li_msrp_parser_init(li_msrp_parser *p) { p->scan_from = 0; }

/* Parses the message at the start of buf[0..len).
 * Returns LI_OK with *out filled and *used = bytes of that one message (later bytes
 * are left for the next call), LI_AGAIN when the message is not complete yet,
 * LI_ERR_PROTO when it is malformed (including a start line + header block above
 * LI_MSRP_MAX_HEAD_BYTES). `state` may be NULL (then the body is rescanned each call);
 * when given, the caller must keep the same message at the start of buf between calls.
 * The caller bounds the total size (a LI_AGAIN with len above its maximum). */
li_err li_msrp_parse(li_msrp_parser *state, const uint8_t *buf, size_t len, li_msrp_msg *out,
                     size_t *used);

/* The value of the first header named `name` (case-insensitive), or NULL. */
const li_msrp_str *li_msrp_header_get(const li_msrp_msg *msg, const char *name);

/* A parsed MSRP URI (RFC 4975 section 9):
 *   msrp[s]://[userinfo@]host[:port][/session-id];transport*(;param) */
typedef struct li_msrp_uri {
    int secure;               /* 1 for msrps */
    li_msrp_str user;         /* userinfo, p NULL when absent */
    li_msrp_str host;         /* IPv6 literals without the brackets */
    int is_ipv6;
    uint16_t port;            /* 0 when absent */
    li_msrp_str session_id;   /* p NULL when absent (a relay URI may omit it) */
    li_msrp_str transport;    /* "tcp" or another token */
    li_msrp_str params;       /* the parameters after the transport, without the first ';' */
} li_msrp_uri;

/* Parses one URI text (no surrounding spaces). LI_ERR_PROTO when malformed. */
li_err li_msrp_uri_parse(const char *p, size_t len, li_msrp_uri *out);

/* The length of the scheme and "://" that p[0..len) starts with: 7 for msrp, 8 for msrps
 * (case-insensitive, RFC 4975 9), 0 for neither. */
static inline size_t li_msrp_uri_scheme_len(const char *p, size_t len)
{
    size_t i = 0;
    /* | 0x20 lower-cases a letter and maps no other octet onto one. */
    while (i < 4 && i < len && (p[i] | 0x20) == "msrp"[i])
        i++;
    if (i < 4)
        return 0;
    if (i < len && (p[i] | 0x20) == 's')
        i++;
    return len - i >= 3 && memcmp(p + i, "://", 3) == 0 ? i + 3 : 0;
}

/* The session-id of an MSRP URI read liberally, as a peer's SDP a=path may carry it
 * (RFC 4975 9: msrp[s]://[userinfo@]hostport/session-id;transport *(;param)): the text
 * between the first '/' after a non-empty authority and the next ';' or the end (a
 * missing transport is tolerated), not empty, without controls, spaces or angle
 * brackets; *session_id points into p. LI_ERR_PROTO when there is none.
 * li_msrp_uri_parse() reads the same text and holds it to session-id's ABNF. Inline so
 * that the SDP codec (li_sdp_msrp_session_id, library li_sip) shares it without
 * linking li_msrp. */
static inline li_err li_msrp_uri_session_id(const char *p, size_t len, li_msrp_str *session_id)
{
    size_t skip = li_msrp_uri_scheme_len(p, len);
    if (!skip)
        return LI_ERR_PROTO;
    /* The authority ends at the first '/'; an IPv6 reference "[..]" holds no '/'. */
    const char *slash = memchr(p + skip, '/', len - skip);
    if (!slash || slash == p + skip)
        return LI_ERR_PROTO;
    size_t start = (size_t)(slash - p) + 1, end = start;
    while (end < len && p[end] != ';')
        end++;
    if (end == start)
        return LI_ERR_PROTO;
    for (size_t i = start; i < end; i++)
        if ((unsigned char)p[i] <= ' ' || p[i] == '<' || p[i] == '>')
            return LI_ERR_PROTO;
    session_id->p = p + start;
    session_id->len = end - start;
    return LI_OK;
}

/* Splits a path value (MSRP-URI *(SP MSRP-URI)) one URI at a time: on LI_OK *uri is the
 * next URI text and *rest advanced past it; LI_ERR_NOT_FOUND when no URI is left. */
li_err li_msrp_path_next(li_msrp_str *rest, li_msrp_str *uri);

/* Two URIs denote the same hop when scheme, host (case-insensitive), port, session-id
 * and transport agree (RFC 4975 section 6.1 comparison rules). */
int li_msrp_uri_equal(const li_msrp_uri *a, const li_msrp_uri *b);

/* Appends to `out` the message msg (parsed from raw) with the To-Path and From-Path
 * values replaced by `to_path` and `from_path`; every other byte, body included, is
 * copied unchanged. */
li_err li_msrp_write_with_paths(li_buf *out, const uint8_t *raw, const li_msrp_msg *msg,
                                li_msrp_str to_path, li_msrp_str from_path);

/* Appends a bodiless response "MSRP tid code comment" with the given paths. */
li_err li_msrp_write_response(li_buf *out, li_msrp_str tid, int code, const char *comment,
                              li_msrp_str to_path, li_msrp_str from_path);

/* li_msrp_str of a NUL-terminated string. */
static inline li_msrp_str li_msrp_cstr(const char *s)
{
    li_msrp_str r = { s, s ? strlen(s) : 0 };
    return r;
}

#endif
