/* libFuzzer target for li_msrp: parses a stream of messages whole and fed in pieces
 * with the resumption state (both must agree), parses every path URI, and checks that
 * rewriting the paths keeps the message parseable with the same body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "li_msrp.h"

static void check_paths(li_msrp_str path)
{
    li_msrp_str uri;
    while (li_msrp_path_next(&path, &uri) == LI_OK) {
        li_msrp_uri u;
        if (li_msrp_uri_parse(uri.p, uri.len, &u) == LI_OK && !li_msrp_uri_equal(&u, &u))
            abort();
    }
}

static void check_rewrite(const uint8_t *raw, const li_msrp_msg *msg)
{
    li_buf out;
    li_buf_init(&out, 0);
    if (li_msrp_write_with_paths(&out, raw, msg, li_msrp_cstr("msrp://n.example:1/s1;tcp"),
                                 li_msrp_cstr("msrps://r.example:2/s2;tcp")) != LI_OK)
        abort();
    li_msrp_msg again;
    size_t used;
    if (li_msrp_parse(NULL, out.data, out.len, &again, &used) != LI_OK || used != out.len ||
        again.body_len != msg->body_len ||
        (msg->body_len && memcmp(again.body, msg->body, msg->body_len) != 0))
        abort();
    li_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (off < size) {
        li_msrp_msg msg;
        size_t used = 0;
        li_err whole = li_msrp_parse(NULL, data + off, size - off, &msg, &used);
        /* The same bytes in pieces of 7 with the resumption state. */
        li_msrp_parser p;
        li_msrp_parser_init(&p);
        li_msrp_msg piece;
        size_t piece_used = 0, n = 0;
        li_err err = LI_AGAIN;
        while (err == LI_AGAIN && n < size - off) {
            n = size - off - n > 7 ? n + 7 : size - off;
            err = li_msrp_parse(&p, data + off, n, &piece, &piece_used);
        }
        if (err != whole || (err == LI_OK && (piece_used != used || piece.body_len != msg.body_len)))
            abort();
        if (whole != LI_OK)
            break;
        if (used == 0 || used > size - off)
            abort();
        check_paths(msg.to_path);
        check_paths(msg.from_path);
        check_rewrite(data + off, &msg);
        off += used;
    }
    return 0;
}
