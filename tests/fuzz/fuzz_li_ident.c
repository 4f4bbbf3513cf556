/* Fuzz target: identity canonicalization must never read outside its input and must be
 * idempotent on what it accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "li_ident.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[LI_IDENT_MAX], again[LI_IDENT_MAX];
    if (li_ident_canon((const char *)data, size, out, sizeof out) != LI_OK)
        return 0;
    if (li_ident_canon(out, strlen(out), again, sizeof again) != LI_OK || strcmp(out, again))
        abort();
    return 0;
}
