/* libFuzzer target for the PS-PDU decoder: any input must decode or be refused without
 * reading outside it; whatever decodes must re-encode and decode to the same fields. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ho_pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t frame, used;
    ho_pdu p, q;
    (void)ho_pdu_frame(data, size, 1 << 20, &frame);
    if (ho_pdu_decode(data, size, &p, &used) != LI_OK)
        return 0;
    if (used > size)
        __builtin_trap();
    li_buf b;
    li_buf_init(&b, 0);
    if (ho_pdu_encode(&p, &b) == LI_OK) {
        if (ho_pdu_decode(b.data, b.len, &q, &used) != LI_OK || used != b.len ||
            q.payload != p.payload || q.seq != p.seq || q.cin != p.cin ||
            q.content.len != p.content.len ||
            (p.content.len && memcmp(q.content.p, p.content.p, p.content.len) != 0))
            __builtin_trap();
    }
    li_buf_free(&b);
    return 0;
}
