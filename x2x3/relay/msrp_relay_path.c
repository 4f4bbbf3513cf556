#include "msrp_relay_path.h"

#include <string.h>

/* Is uri_text a URI of this relay (same session-id)? -1 when malformed. */
static int is_relay_uri(const msrp_relay_hop *hop, li_msrp_str uri_text)
{
    li_msrp_uri uri;
    if (li_msrp_uri_parse(uri_text.p, uri_text.len, &uri) != LI_OK)
        return -1;
    return uri.session_id.p && uri.session_id.len == hop->session_id.len &&
           memcmp(uri.session_id.p, hop->session_id.p, uri.session_id.len) == 0;
}

li_err msrp_relay_paths(const msrp_relay_hop *hop, const li_msrp_msg *msg, li_buf *scratch,
                        li_msrp_str *to_path, li_msrp_str *from_path)
{
    li_buf_reset(scratch);
    li_msrp_str rest = msg->to_path, uri;
    if (li_msrp_path_next(&rest, &uri) != LI_OK)
        return LI_ERR_PROTO;
    int own = is_relay_uri(hop, uri);
    if (own < 0)
        return LI_ERR_PROTO;
    if (!own)
        return LI_ERR_NOT_FOUND;
    /* Further URIs of the relay itself (a path that loops through it) are popped too. */
    li_msrp_str after = rest;
    while (li_msrp_path_next(&after, &uri) == LI_OK) {
        own = is_relay_uri(hop, uri);
        if (own < 0)
            return LI_ERR_PROTO;
        if (!own)
            break;
        rest = after;
    }
    while (rest.len && (rest.p[0] == ' ' || rest.p[0] == '\t')) {
        rest.p++;
        rest.len--;
    }
    while (rest.len && (rest.p[rest.len - 1] == ' ' || rest.p[rest.len - 1] == '\t'))
        rest.len--;
    li_msrp_str to = hop->mode == MSRP_RELAY_PATHS_B2BUA || rest.len == 0 ? hop->peer_path : rest;

    li_err err = li_buf_append(scratch, to.p, to.len);
    size_t from_off = scratch->len;
    if (err == LI_OK)
        err = li_buf_append(scratch, hop->own_out.p, hop->own_out.len);
    if (err == LI_OK && hop->mode == MSRP_RELAY_PATHS_RFC4976) {
        err = li_buf_append_u8(scratch, ' ');
        if (err == LI_OK)
            err = li_buf_append(scratch, msg->from_path.p, msg->from_path.len);
    }
    if (err != LI_OK)
        return err;
    to_path->p = (const char *)scratch->data;
    to_path->len = from_off;
    from_path->p = (const char *)scratch->data + from_off;
    from_path->len = scratch->len - from_off;
    return LI_OK;
}
