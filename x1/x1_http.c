#include "x1_http.h"

#include <ctype.h>
#include <string.h>

li_err x1_hostport_split(const char *text, int default_port, char *host, size_t host_size,
                         uint16_t *port)
{
    const char *h = text, *rest;
    size_t hlen;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close)
            return LI_ERR_PROTO;
        h = text + 1;
        hlen = (size_t)(close - h);
        rest = close + 1;
    } else {
        const char *colon = strchr(text, ':');
        /* An unbracketed host cannot hold a ':' of its own. */
        if (colon && strchr(colon + 1, ':'))
            return LI_ERR_PROTO;
        hlen = colon ? (size_t)(colon - text) : strlen(text);
        rest = text + hlen;
    }
    if (hlen == 0 || hlen >= host_size)
        return LI_ERR_PROTO;
    for (size_t i = 0; i < hlen; i++) {
        if (!isalnum((unsigned char)h[i]) && !strchr(".-_:%", h[i]))
            return LI_ERR_PROTO;
    }
    if (*rest == '\0') {
        if (default_port < 0)
            return LI_ERR_PROTO;
        *port = (uint16_t)default_port;
    } else {
        unsigned v = 0;
        if (*rest != ':' || !rest[1])
            return LI_ERR_PROTO;
        for (const char *p = rest + 1; *p; p++) {
            if (!isdigit((unsigned char)*p) || (v = v * 10 + (unsigned)(*p - '0')) > 65535)
                return LI_ERR_PROTO;
        }
        *port = (uint16_t)v;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    return LI_OK;
}
