/* Fuzz target: the relay's reservation body (control API, JSON from the IMS-ALG) is
 * parsed and validated whole; anything it accepts names TLS legs consistently. */
#include <stdint.h>
#include <stdlib.h>

#include "msrp_relay_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msrp_relay_req req;
    char err[256];
    for (int policy = 0; policy < 2; policy++) {
        if (msrp_relay_req_parse((const char *)data, size, policy, &req, err, sizeof err) !=
            LI_OK)
            continue;
        /* A TLS-only policy never lets a TCP leg through (docs/PRINCIPLES.md 2). */
        if (policy && (!req.ue.tls || !req.network.tls))
            abort();
    }
    return 0;
}
