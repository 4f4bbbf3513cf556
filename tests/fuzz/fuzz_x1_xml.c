/* Fuzz target: the X1 XML decoders must never read outside their input, and whatever
 * request they accept as valid must encode again and decode to the same message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "x1_xml.h"

static x1_request req[X1_MAX_MESSAGES], again[X1_MAX_MESSAGES];
static x1_response resp;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n, m;
    if (x1_xml_request_decode(data, size, req, X1_MAX_MESSAGES, &n) == LI_OK) {
        for (size_t i = 0; i < n; i++) {
            if (req[i].error_code || req[i].type == X1_MSG_UNKNOWN)
                continue;
            li_buf b;
            li_buf_init(&b, 0);
            if (x1_xml_request_encode(&req[i], 1, &b) != LI_OK ||
                x1_xml_request_decode(b.data, b.len, again, 1, &m) != LI_OK || m != 1 ||
                again[0].error_code || again[0].type != req[i].type ||
                memcmp(&again[0].task, &req[i].task, sizeof req[i].task) != 0 ||
                memcmp(again[0].hdr.transaction_id, req[i].hdr.transaction_id, 16) != 0)
                abort();
            li_buf_free(&b);
        }
    }
    uint8_t xids[4][16];
    memset(&resp, 0, sizeof resp);
    resp.xids = xids;
    resp.xids_cap = 4;
    (void)x1_xml_response_decode(data, size, &resp);
    return 0;
}
