/* Fuzzes li_sdp: parse, then walk every a=path URI to its session-id. */
#include <stddef.h>
#include <stdint.h>

#include "li_sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    li_sdp s;
    if (li_sdp_parse((const char *)data, size, &s) != LI_OK)
        return 0;
    if (s.n_media > LI_SDP_MAX_MEDIA)
        __builtin_trap();
    for (size_t i = 0; i < s.n_media; i++) {
        li_sip_str rest = s.media[i].path, uri, sid;
        while (li_sdp_path_next(&rest, &uri))
            if (li_sdp_msrp_session_id(uri, &sid) == LI_OK &&
                (sid.p < uri.p || sid.p + sid.len > uri.p + uri.len))
                __builtin_trap();
    }
    return 0;
}
