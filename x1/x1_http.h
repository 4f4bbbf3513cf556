/* The host:port syntax of X1 addresses (DeliveryAddress, the NE's listen key). The
 * HTTP/1.1 framing X1 travels in (TS 103 221-1 clause 5) is common/li_http.h. */
#ifndef X1_HTTP_H
#define X1_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "li_err.h"

/* Splits "host:port", "[v6]:port" (and "host" alone when default_port >= 0) into host
 * (without brackets; an IPv6 host is the one containing ':') and port. The host may
 * hold letters, digits and ". - _ : %"; the port is 0-65535. LI_ERR_PROTO otherwise. */
li_err x1_hostport_split(const char *text, int default_port, char *host, size_t host_size,
                         uint16_t *port);

#endif
