/* Fuzz target: the HTTP/1.1 head parser (X1 and li_httpd) must stay inside its input and
 * report a head that lies within it. */
#include <stdint.h>
#include <stdlib.h>

#include "li_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int response = 0; response <= 1; response++) {
        li_http_head h;
        size_t head_len = 0;
        if (li_http_parse_head(data, size, response, &h, &head_len) == LI_OK &&
            (head_len == 0 || head_len > size || (h.has_length == 0 && h.content_length)))
            abort();
    }
    return 0;
}
