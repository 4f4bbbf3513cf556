/* libFuzzer target for the X2/X3 decoder: decodes a stream of PDUs as the ingest does,
 * walks every attribute, and re-encodes each PDU, which must reproduce its bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "x2x3_pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    li_buf b;
    li_buf_init(&b, 0);
    while (size > 0) {
        x2x3_pdu p;
        size_t used = 0;
        x2x3_decode_error err;
        li_err rc = x2x3_pdu_decode(data, size, 1u << 16, &p, &used, &err);
        if (rc != LI_OK)
            break;
        if (used == 0 || used > size)
            abort();
        size_t pos = 0;
        x2x3_attr a;
        size_t n17 = 0;
        while (x2x3_pdu_attr_next(&p, &pos, &a) == LI_OK)
            n17 += a.type == X2X3_ATTR_MATCHED_TARGET;
        li_slice t;
        if (n17 != p.n_matched_targets ||
            (n17 && x2x3_pdu_matched_target(&p, n17 - 1, &t) != LI_OK))
            abort();
        li_buf_reset(&b);
        if (x2x3_pdu_encode(&b, &p) != LI_OK || b.len != used || memcmp(b.data, data, used))
            abort();
        data += used;
        size -= used;
    }
    li_buf_free(&b);
    return 0;
}
