/* The one "host:port" parser of limf: every listen and peer address in configuration,
 * X1 and the REST API goes through it. Pure (no I/O, no name resolution): it only says
 * whether the text is well formed under the caller's rules. */
#ifndef LI_HOSTPORT_H
#define LI_HOSTPORT_H

#include <stdint.h>

#include "li_err.h"

/* What a caller allows beyond "IPv4:port" and "[IPv6]:port" with a port of 1..65535. */
enum {
    LI_HOSTPORT_NAME = 1,     /* a host name (RFC 1123 2.1 letters, digits, '-', '.') */
    LI_HOSTPORT_ANY = 2,      /* ":port", an empty host: every local address (listeners) */
    LI_HOSTPORT_PORT0 = 4,    /* port 0: the system picks one (listeners) */
    LI_HOSTPORT_OPT_PORT = 8  /* the ":port" may be left out; out->port is then kept */
};

typedef struct li_hostport {
    char host[256];  /* without brackets (an IPv6 literal may carry a "%zone"); "" = any */
    uint16_t port;
} li_hostport;

/* Parses text under flags into out. An IPv6 literal must be bracketed (RFC 3986 3.2.2),
 * a host of digits and dots must be a dotted-quad IPv4 address, a name (when allowed) is
 * at most 253 octets of labels of 1..63; the port is decimal without sign or spaces.
 * LI_ERR_PROTO otherwise (out->host is then ""). */
li_err li_hostport_parse(const char *text, unsigned flags, li_hostport *out);

#endif
