/* libFuzzer target for limf-lemf's receiving path: a byte stream cut into PS-PDUs, each
 * decoded, sequence-checked and written as a JSON line (non-UTF-8 text, odd numbers,
 * repeats and gaps included). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ho_lemf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    ho_lemf *l = ho_lemf_new(sink, NULL);
    size_t at = 0, len;
    ho_pdu p;
    /* Twice, so that every PDU is also seen as a repeat. */
    for (int pass = 0; pass < 2; pass++) {
        for (at = 0; at < size && ho_pdu_frame(data + at, size - at, 1 << 20, &len) == LI_OK;
             at += len)
            ho_lemf_pdu(l, data + at, len, 0, &p);
    }
    li_buf s;
    li_buf_init(&s, 0);
    ho_lemf_summary(l, &s);
    li_buf_free(&s);
    ho_lemf_free(l);
    return 0;
}
