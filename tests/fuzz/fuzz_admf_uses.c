/* Fuzzes what limf-admf reads from limf.poi.events: an XPdu record whose payload may be a
 * POI's pass-through report (JSON). A report found must name an exception object and
 * carry a detail that parses as JSON again. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admf_uses.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char object[96], actor[128], *detail = NULL;
    if (admf_uses_parse(data, size, object, sizeof object, actor, sizeof actor, &detail)) {
        json_t *d = detail ? json_loads(detail, 0, NULL) : NULL;
        if (!d || strncmp(object, "exception/", 10) != 0 || strncmp(actor, "poi:", 4) != 0)
            __builtin_trap();
        json_decref(d);
    }
    free(detail);
    return 0;
}
