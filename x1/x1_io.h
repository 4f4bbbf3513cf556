/* The X1 client's and NE's side of a connection (li_conn, deadline-driven): reading one
 * whole HTTP message, and closing after an early error answer. */
#ifndef X1_IO_H
#define X1_IO_H

#include <stddef.h>
#include <stdint.h>

#include "li_bytes.h"
#include "li_conn.h"
#include "li_err.h"
#include "li_http.h"
#include "li_http.h"

/* Reads one HTTP message into in (bytes already in it count first): on LI_OK, *head is
 * parsed and the message occupies in->data[0..*msg_len), the body being the last
 * head->content_length bytes. A message without Content-Length, chunked, or with a body
 * above max_body fails with LI_ERR_PROTO or LI_ERR_TOO_BIG. LI_ERR_CLOSED when the peer
 * closed before sending anything. */
li_err x1_conn_read_message(li_conn *c, li_buf *in, int response, size_t max_body,
                            li_http_head *head, size_t *msg_len, uint64_t deadline_ns);
/* Closes after an error answer sent before the request was read whole: sends
 * close_notify, stops writing, and discards what the peer still sends (until it closes,
 * 1 MiB or the deadline), so that the kernel does not reset the connection and destroy
 * the answer before the peer read it. Then closes with li_conn_close(). */
void x1_conn_linger_close(li_conn *c, uint64_t deadline_ns);

#endif
