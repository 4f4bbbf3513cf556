/* Fuzzes li_sip: stream framing over the whole input, then every helper on every
 * header value, then the SDP body. Nothing may crash or read out of bounds. */
#include <stddef.h>
#include <stdint.h>

#include "li_sdp.h"
#include "li_sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const li_sip_msg *m)
{
    for (size_t i = 0; i < m->n_headers; i++) {
        li_sip_str v = m->headers[i].value, e, p, mt, b;
        li_sip_addr a;
        while (li_sip_list_next(&v, &e))
            if (li_sip_addr_parse(e, &a) == LI_OK)
                (void)li_sip_param(a.params, "tag", &p);
        (void)li_sip_content_type(m->headers[i].value, &mt, &b);
    }
    li_sip_str sdp;
    li_sdp s;
    if (li_sip_sdp_body(m, &sdp) == LI_OK && li_sdp_parse(sdp.p, sdp.len, &s) == LI_OK) {
        for (size_t i = 0; i < s.n_media; i++) {
            li_sip_str rest = s.media[i].path, uri, sid;
            while (li_sdp_path_next(&rest, &uri))
                (void)li_sdp_msrp_session_id(uri, &sid);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static li_sip_msg m;
    const char *p = (const char *)data;
    size_t left = size, used;
    while (left && li_sip_parse(p, left, 1, &m, &used) == LI_OK) {
        walk(&m);
        if (used == 0 || used > left)
            __builtin_trap();
        p += used;
        left -= used;
    }
    if (li_sip_parse((const char *)data, size, 0, &m, &used) == LI_OK) {
        if (used > size)
            __builtin_trap();
        walk(&m);
    }
    return 0;
}
