#include "x1_io.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

li_err x1_conn_read_message(li_conn *c, li_buf *in, int response, size_t max_body,
                            li_http_head *head, size_t *msg_len, uint64_t deadline_ns)
{
    size_t head_len = 0;
    int have_head = 0;
    for (;;) {
        if (!have_head) {
            li_err err = li_http_parse_head(in->data, in->len, response, head, &head_len);
            if (err == LI_OK) {
                have_head = 1;
                if (head->chunked || !head->has_length)
                    return LI_ERR_PROTO;
                if (head->content_length > max_body)
                    return LI_ERR_TOO_BIG;
            } else if (err != LI_AGAIN) {
                return err;
            }
        }
        if (have_head && in->len - head_len >= head->content_length) {
            *msg_len = head_len + head->content_length;
            return LI_OK;
        }
        uint8_t chunk[16384];
        size_t got = 0;
        li_err err = li_conn_recv_until(c, chunk, sizeof chunk, &got, deadline_ns);
        if (err == LI_OK)
            err = li_buf_append(in, chunk, got);
        else if (err == LI_ERR_CLOSED && in->len > 0)
            return LI_ERR_PROTO; /* cut off in the middle of a message */
        if (err != LI_OK)
            return err;
    }
}

void x1_conn_linger_close(li_conn *c, uint64_t deadline_ns)
{
    li_conn_shutdown(c);
    if (c->fd >= 0) {
        shutdown(c->fd, SHUT_WR);
        size_t drained = 0;
        char sink[4096];
        while (drained < (1u << 20) && li_conn_wait(c, POLLIN, deadline_ns) == LI_OK) {
            ssize_t n = recv(c->fd, sink, sizeof sink, 0);
            if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR)))
                break;
            if (n > 0)
                drained += (size_t)n;
        }
    }
    li_conn_close(c);
}
