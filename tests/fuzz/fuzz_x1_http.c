/* Fuzz target: the X1 HTTP head parser must stay inside its input and report a head
 * that lies within it; the host:port splitter must stay inside its string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "li_http.h"
#include "x1_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int response = 0; response <= 1; response++) {
        li_http_head h;
        size_t head_len = 0;
        if (li_http_parse_head(data, size, response, &h, &head_len) == LI_OK &&
            (head_len == 0 || head_len > size || (h.has_length == 0 && h.content_length)))
            abort();
    }
    char text[300], host[256];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    uint16_t port;
    if (x1_hostport_split(text, 443, host, sizeof host, &port) == LI_OK && !host[0])
        abort();
    return 0;
}
