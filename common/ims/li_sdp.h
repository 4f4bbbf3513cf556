/* SDP codec (RFC 8866) for the MSRP attributes limf correlates on: pure, no allocation;
 * every li_sip_str points into the caller's buffer.
 *   m=message <port> TCP/MSRP|TCP/TLS/MSRP *       (RFC 4975 8.1)
 *   a=path:<msrp-uri> [<msrp-uri> ...]              (RFC 4975 8.2; relays first, RFC 4976)
 *   a=accept-types:, a=setup: (RFC 4145), a=fingerprint:<hash> <hex> (RFC 8122),
 *   a=msrp-cema (RFC 6714), a=3ge2ae:requested|applied (TS 24.229).
 * Lines may end in CRLF or bare LF; unknown lines and attributes are skipped. Session-level
 * a=fingerprint / a=setup are inherited by media sections that have none (RFC 8122 5). */
#ifndef LI_SDP_H
#define LI_SDP_H

#include <stddef.h>
#include <stdint.h>

#include "li_err.h"
#include "li_sip.h"

#define LI_SDP_MAX_MEDIA 16

typedef struct li_sdp_media {
    li_sip_str media;            /* "message", "audio", ... */
    uint16_t port;
    li_sip_str proto;            /* "TCP/MSRP", "TCP/TLS/MSRP", "RTP/AVP", ... */
    li_sip_str fmt;              /* the format list ("*" for MSRP) */
    int is_msrp;                 /* proto is TCP/MSRP or TCP/TLS/MSRP (case-insensitive) */
    int is_tls;                  /* proto is TCP/TLS/MSRP */
    li_sip_str connection;       /* media-level c= value, or the session's */
    li_sip_str path;             /* a=path value: space-separated MSRP URIs */
    li_sip_str accept_types;
    li_sip_str accept_wrapped_types;
    li_sip_str setup;            /* "active", "passive", "actpass", "holdconn" */
    li_sip_str fingerprint_hash; /* e.g. "sha-256" */
    li_sip_str fingerprint;      /* "AB:CD:..." */
    li_sip_str e2ae;             /* a=3ge2ae value ("requested", "applied") */
    int msrp_cema;               /* a=msrp-cema present */
    li_sip_str direction;        /* sendrecv / sendonly / recvonly / inactive, if given */
} li_sdp_media;

typedef struct li_sdp {
    li_sip_str origin;           /* o= value */
    li_sip_str session_name;     /* s= value */
    li_sip_str connection;       /* session-level c= value */
    li_sip_str fingerprint_hash; /* session level */
    li_sip_str fingerprint;
    li_sip_str setup;
    li_sdp_media media[LI_SDP_MAX_MEDIA];
    size_t n_media;
} li_sdp;

/* Parses a session description. LI_ERR_PROTO when it does not start with v=0, a line is
 * not "<letter>=", an m= line is malformed, or there are more than LI_SDP_MAX_MEDIA
 * media sections. */
li_err li_sdp_parse(const char *buf, size_t len, li_sdp *out);

/* Iterates the URIs of an a=path value: *rest advances past the URI written to *uri.
 * Returns 0 when none is left. */
int li_sdp_path_next(li_sip_str *rest, li_sip_str *uri);

/* The session-id of an MSRP URI (RFC 4975 9: msrp[s]://[userinfo@]hostport/session-id;
 * transport *(;param)): the text between the '/' after the authority and the first ';'.
 * Scheme compared case-insensitively; the session-id is compared as is (it is
 * case-sensitive, RFC 4975 6.1). LI_ERR_PROTO when uri is not such a URI. The reading
 * is li_msrp_uri_session_id()'s (li_msrp.h), the one the MSRP codec also uses. */
li_err li_sdp_msrp_session_id(li_sip_str uri, li_sip_str *session_id);

#endif
