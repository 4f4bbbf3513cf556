/* Fuzz target: the host:port parser must stay inside its string under every set of
 * rules, and what it accepts must keep to them (a non-empty host unless ANY, a port
 * other than 0 unless PORT0, no ':' in an unbracketed host). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "li_hostport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[300];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    for (unsigned flags = 0; flags < 16; flags++) {
        li_hostport hp;
        hp.port = 443;
        if (li_hostport_parse(text, flags, &hp) != LI_OK)
            continue;
        if ((!hp.host[0] && !(flags & LI_HOSTPORT_ANY)) ||
            (hp.port == 0 && !(flags & LI_HOSTPORT_PORT0)) ||
            (strchr(hp.host, ':') && text[0] != '['))
            abort();
    }
    return 0;
}
