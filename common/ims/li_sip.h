/* SIP message codec (RFC 3261), picohttpparser style: pure, no allocation, no I/O.
 * Every li_sip_str produced here points into the caller's buffer, which must outlive
 * the results. Used by limf-siptap (to cut TCP streams into messages and read the
 * identities) and by limf-mediator (correlation).
 *
 * Liberal in what it accepts (RFC 3261 7.3.1, 7.3.3): header names are case-insensitive
 * and may be compact ("i" Call-ID, "f" From, ...), a header may repeat, a value may be
 * folded over several lines (the fold's CRLF and whitespace stay inside the value; the
 * helpers below treat CR, LF, SP and HT as linear whitespace), lines may end in bare LF.
 */
#ifndef LI_SIP_H
#define LI_SIP_H

#include <stddef.h>
#include <stdint.h>

#include "li_err.h"

/* A run of text inside the caller's buffer (not NUL-terminated). p is NULL when absent. */
typedef struct li_sip_str {
    const char *p;
    size_t len;
} li_sip_str;

/* Header identities; compact forms map to the same id (RFC 3261 7.3.3, RFC 3515,
 * RFC 3892, RFC 3841, RFC 4028, RFC 6665, RFC 8224). */
typedef enum li_sip_hdr {
    LI_SIP_H_OTHER = 0,
    LI_SIP_H_CALL_ID,            /* i */
    LI_SIP_H_FROM,               /* f */
    LI_SIP_H_TO,                 /* t */
    LI_SIP_H_VIA,                /* v */
    LI_SIP_H_CSEQ,
    LI_SIP_H_CONTACT,            /* m */
    LI_SIP_H_CONTENT_TYPE,       /* c */
    LI_SIP_H_CONTENT_LENGTH,     /* l */
    LI_SIP_H_CONTENT_ENCODING,   /* e */
    LI_SIP_H_SUBJECT,            /* s */
    LI_SIP_H_SUPPORTED,          /* k */
    LI_SIP_H_EVENT,              /* o */
    LI_SIP_H_ALLOW_EVENTS,       /* u */
    LI_SIP_H_REFER_TO,           /* r */
    LI_SIP_H_REFERRED_BY,        /* b */
    LI_SIP_H_ACCEPT_CONTACT,     /* a */
    LI_SIP_H_REJECT_CONTACT,     /* j */
    LI_SIP_H_REQUEST_DISPOSITION,/* d */
    LI_SIP_H_SESSION_EXPIRES,    /* x */
    LI_SIP_H_IDENTITY,           /* y */
    LI_SIP_H_P_ASSERTED_IDENTITY,
    LI_SIP_H_P_PREFERRED_IDENTITY,
    LI_SIP_H_RECORD_ROUTE,
    LI_SIP_H_ROUTE,
    LI_SIP_H_SECURITY_CLIENT,
    LI_SIP_H_MAX_FORWARDS
} li_sip_hdr;

typedef struct li_sip_header {
    li_sip_hdr id;
    li_sip_str name;             /* as written (may be compact) */
    li_sip_str value;            /* leading and trailing whitespace removed */
} li_sip_header;

#define LI_SIP_MAX_HEADERS 96
/* A header block (start line to blank line) longer than this is refused, so that a
 * stream reader never buffers without bound waiting for the blank line. */
#define LI_SIP_MAX_HEAD 65536
/* A Content-Length above this is refused, for the same reason on the body. */
#define LI_SIP_MAX_BODY (16u << 20)

typedef struct li_sip_msg {
    int is_request;
    /* request line */
    li_sip_str method;
    li_sip_str request_uri;
    /* status line */
    int status;
    li_sip_str reason;
    li_sip_header headers[LI_SIP_MAX_HEADERS];
    size_t n_headers;
    /* Shortcuts to the first occurrence (p NULL when absent). */
    li_sip_str call_id;
    li_sip_str from;
    li_sip_str to;
    li_sip_str contact;
    li_sip_str content_type;
    li_sip_str cseq_method;      /* from CSeq */
    uint32_t cseq;               /* from CSeq; 0 when absent */
    int has_content_length;
    size_t content_length;
    li_sip_str body;             /* the message body (len 0 when none) */
} li_sip_msg;

/* Parses one SIP message at the start of buf.
 * stream != 0 (TCP/TLS, RFC 3261 18.3): the body is Content-Length bytes (0 when the
 *   header is absent); returns LI_AGAIN while the header block or the body is
 *   incomplete. Leading CRLFs (RFC 5626 keep-alives) are skipped and counted in *used.
 * stream == 0 (one datagram or one X2 payload): the body is the rest of buf, cut to
 *   Content-Length when that is shorter; a Content-Length beyond buf is LI_ERR_PROTO;
 *   an incomplete header block is LI_ERR_PROTO.
 * On LI_OK, *used = bytes consumed (the message, with any leading CRLFs); out points
 * into buf. LI_ERR_PROTO on malformed input (also a header block above LI_SIP_MAX_HEAD, a
 * Content-Length above LI_SIP_MAX_BODY, or more than LI_SIP_MAX_HEADERS headers). */
li_err li_sip_parse(const char *buf, size_t len, int stream, li_sip_msg *out, size_t *used);

/* Next header with this id after index *iter (start with *iter = 0); returns its value
 * or a NULL li_sip_str when none is left. */
li_sip_str li_sip_header_next(const li_sip_msg *msg, li_sip_hdr id, size_t *iter);

/* Maps a header name (full or compact, any case) to its id. */
li_sip_hdr li_sip_header_id(const char *name, size_t len);

/* Splits a comma-separated header value (RFC 3261 7.3.1) into its elements, honouring
 * quoted strings and <...>: *rest is advanced past the element written to *elem.
 * Returns 0 when nothing is left. */
int li_sip_list_next(li_sip_str *rest, li_sip_str *elem);

/* name-addr / addr-spec with header parameters (From, To, Contact, P-Asserted-Identity,
 * Route, ...): `"Display" <uri;uparams>;tag=x` or `uri;tag=x`. */
typedef struct li_sip_addr {
    li_sip_str display;          /* without quotes; may be empty */
    li_sip_str uri;              /* inside <> when present */
    li_sip_str params;           /* header parameters after the address, from the first ';' */
    li_sip_str tag;              /* the tag parameter's value */
} li_sip_addr;
li_err li_sip_addr_parse(li_sip_str value, li_sip_addr *out);

/* The value of parameter `name` (case-insensitive) in a ";a=b;c" list; a parameter
 * without '=' gives an empty non-NULL value. Returns 0 when absent. */
int li_sip_param(li_sip_str params, const char *name, li_sip_str *value);

/* Content-Type: type/subtype (no parameters, trimmed) and the boundary parameter (quotes
 * removed) for multipart types. */
li_err li_sip_content_type(li_sip_str value, li_sip_str *media_type, li_sip_str *boundary);

/* Finds the first body part of `want_type` (e.g. "application/sdp", case-insensitive) in
 * a multipart body (RFC 2046 5.1) with the given boundary. Returns LI_ERR_NOT_FOUND when
 * no such part, LI_ERR_PROTO when the body is not well formed. */
li_err li_sip_multipart_find(li_sip_str body, li_sip_str boundary, const char *want_type,
                             li_sip_str *part);

/* The SDP of a message: its body when Content-Type is application/sdp, or the
 * application/sdp part of a multipart/mixed (or related/alternative) body.
 * LI_ERR_NOT_FOUND when there is none. */
li_err li_sip_sdp_body(const li_sip_msg *msg, li_sip_str *sdp);

/* Case-insensitive comparisons of a li_sip_str with a C string. */
int li_sip_str_eq(li_sip_str s, const char *lit);
int li_sip_str_eq_nocase(li_sip_str s, const char *lit);

#endif
