/* HTTP/1.1 message framing (RFC 9112): a pure parser for request and status lines and
 * the headers limf needs, shared by X1 (TS 103 221-1 clause 5: XML in HTTP POST bodies)
 * and the small servers of li_httpd.h. No I/O, no allocation; the caller keeps the
 * bytes. */
#ifndef LI_HTTP_H
#define LI_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "li_err.h"

/* Longest message head accepted (request or status line plus headers). */
#define LI_HTTP_MAX_HEAD 8192

typedef struct li_http_head {
    char method[16];       /* requests: "POST", ... */
    char path[256];        /* requests: the request target, query included */
    int status;            /* responses: the status code */
    int minor_version;     /* HTTP/1.<minor> */
    int has_length;        /* a Content-Length header was present */
    size_t content_length;
    int chunked;           /* Transfer-Encoding present (limf does not take it) */
    int close;             /* Connection: close, or HTTP/1.0 without keep-alive */
    int expect_continue;   /* Expect: 100-continue (RFC 9110 10.1.1) */
} li_http_head;

/* Parses the head at the start of buf[0..len). response selects a status line (1) or a
 * request line (0). Returns LI_OK with *head_len = bytes of the head including the empty
 * line; LI_AGAIN when the empty line has not arrived yet; LI_ERR_PROTO for a malformed
 * head or one longer than LI_HTTP_MAX_HEAD. Line ends may be CRLF or LF. */
li_err li_http_parse_head(const uint8_t *buf, size_t len, int response, li_http_head *out,
                          size_t *head_len);

#endif
