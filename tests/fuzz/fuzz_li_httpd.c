/* Fuzz target: li_httpd's request framing must stay inside its input, report a request
 * that lies within it, and give an error answer for every refusal. */
#include <stdint.h>
#include <stdlib.h>

#include "li_httpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    li_http_head h;
    size_t total = 0;
    int status = 0;
    li_err err = li_httpd_parse_request(data, size, 4096, &h, &total, &status);
    if (err == LI_OK && (total > size || h.content_length > 4096 || h.chunked))
        abort();
    if (err != LI_OK && err != LI_AGAIN && status != 400 && status != 413 && status != 501)
        abort();
    return 0;
}
