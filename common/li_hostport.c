#include "li_hostport.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

/* RFC 1123 2.1: labels of letters, digits and hyphens, not starting or ending with one. */
static int valid_name(const char *h, size_t n)
{
    size_t label = 0;
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || h[i] == '.') {
            if (label == 0 || label > 63 || h[i - 1] == '-')
                return 0;
            label = 0;
        } else if (isalnum((unsigned char)h[i]) || (h[i] == '-' && label > 0)) {
            label++;
        } else {
            return 0;
        }
    }
    return 1;
}

static int all_digits_and_dots(const char *h)
{
    return strspn(h, "0123456789.") == strlen(h);
}

/* An IPv6 literal, with an optional "%zone" (RFC 6874) of interface-name characters. */
static int valid_ipv6(const char *h)
{
    char addr[64];
    const char *zone = strchr(h, '%');
    size_t n = zone ? (size_t)(zone - h) : strlen(h);
    struct in6_addr a;
    if (n >= sizeof addr)
        return 0;
    memcpy(addr, h, n);
    addr[n] = '\0';
    if (inet_pton(AF_INET6, addr, &a) != 1)
        return 0;
    if (!zone)
        return 1;
    size_t zn = strlen(zone + 1);
    return zn > 0 && zn < 16 && strspn(zone + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                 "0123456789-_.") == zn;
}

static int valid_port(const char *p, unsigned flags, uint16_t *port)
{
    size_t n = strlen(p);
    unsigned v = 0;
    if (n == 0 || n > 5 || strspn(p, "0123456789") != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(p[i] - '0');
    if (v > 65535 || (v == 0 && !(flags & LI_HOSTPORT_PORT0)))
        return 0;
    *port = (uint16_t)v;
    return 1;
}

/* Splits text into host (copied without brackets) and the text after its ':' (NULL
 * without one); 0 when malformed. */
static int split(const char *text, char *host, size_t host_size, const char **port_text,
                 int *bracketed)
{
    const char *end;
    *bracketed = text[0] == '[';
    if (*bracketed) {
        end = strchr(text, ']');
        if (!end || (end[1] && end[1] != ':'))
            return 0;
        text++;
        *port_text = end[1] ? end + 2 : NULL;
    } else {
        const char *colon = strchr(text, ':');
        if (colon && strchr(colon + 1, ':'))
            return 0;   /* an IPv6 literal without brackets */
        end = colon ? colon : text + strlen(text);
        *port_text = colon ? colon + 1 : NULL;
    }
    size_t n = (size_t)(end - text);
    if (n >= host_size)
        return 0;
    memcpy(host, text, n);
    host[n] = '\0';
    return 1;
}

static int valid_host(const char *h, int bracketed, int has_port, unsigned flags)
{
    struct in_addr v4;
    if (bracketed)
        return valid_ipv6(h);
    if (!*h)
        return (flags & LI_HOSTPORT_ANY) && has_port;
    if (all_digits_and_dots(h))
        return inet_pton(AF_INET, h, &v4) == 1;
    return (flags & LI_HOSTPORT_NAME) && valid_name(h, strlen(h));
}

li_err li_hostport_parse(const char *text, unsigned flags, li_hostport *out)
{
    const char *port_text;
    int bracketed;
    int ok = split(text, out->host, sizeof out->host, &port_text, &bracketed) &&
             valid_host(out->host, bracketed, port_text != NULL, flags) &&
             (port_text ? valid_port(port_text, flags, &out->port)
                        : (flags & LI_HOSTPORT_OPT_PORT) != 0);
    if (!ok)
        out->host[0] = '\0';
    return ok ? LI_OK : LI_ERR_PROTO;
}
