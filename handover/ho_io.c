#include "ho_io.h"

#include <stdio.h>
#include <string.h>

#include "ho_pdu.h"
#include "li_hostport.h"
#include "li_net.h"
#include "li_time.h"
#include "li_tls.h"

void ho_conn_init(ho_conn *c)
{
    li_conn_init(&c->io);
    li_buf_init(&c->rx, 0);
    c->taken = 0;
}

void ho_conn_close(ho_conn *c)
{
    li_conn_shutdown(&c->io);
    li_conn_close(&c->io);
    li_buf_free(&c->rx);
    li_buf_init(&c->rx, 0);
    c->taken = 0;
}

static uint64_t deadline_after(int timeout_ms)
{
    return li_mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000u;
}

/* Puts fd under c and, with a context, completes the handshake before deadline. */
static li_err start(ho_conn *c, int fd, SSL_CTX *ctx, int server, uint64_t deadline,
                    char *errstr, size_t errstr_size)
{
    li_err e = li_conn_attach(&c->io, fd, ctx, server);
    if (e != LI_OK) {
        snprintf(errstr, errstr_size, "connection set-up: %s", li_err_str(e));
        return e;
    }
    if (!ctx || (e = li_conn_handshake_until(&c->io, deadline)) == LI_OK)
        return LI_OK;
    char ossl[256];
    li_tls_error_string(ossl, sizeof ossl);
    long v = SSL_get_verify_result(c->io.ssl);
    snprintf(errstr, errstr_size, "TLS handshake: %s%s%s", li_err_str(e),
             v != X509_V_OK ? ", peer certificate: " : "",
             v != X509_V_OK ? X509_verify_cert_error_string(v) : ossl);
    ho_conn_close(c);
    return e == LI_ERR_TIMEOUT ? e : LI_ERR_TLS;
}

li_err ho_conn_connect(ho_conn *c, const char *hostport, SSL_CTX *ctx, int timeout_ms,
                       char *errstr, size_t errstr_size)
{
    uint64_t deadline = deadline_after(timeout_ms);
    li_hostport hp;
    int fd;
    ho_conn_close(c);
    if (li_hostport_parse(hostport, LI_HOSTPORT_NAME, &hp) != LI_OK) {
        snprintf(errstr, errstr_size, "bad address '%s'", hostport);
        return LI_ERR_INVAL;
    }
    li_err e = li_net_connect(hp.host, hp.port, deadline, NULL, &fd, errstr, errstr_size);
    if (e != LI_OK)
        return e;
    return start(c, fd, ctx, 0, deadline, errstr, errstr_size);
}

li_err ho_conn_accept(ho_conn *c, int fd, SSL_CTX *ctx, int timeout_ms, char *errstr,
                      size_t errstr_size)
{
    ho_conn_close(c);
    return start(c, fd, ctx, 1, deadline_after(timeout_ms), errstr, errstr_size);
}

li_err ho_conn_write(ho_conn *c, const void *p, size_t n, int timeout_ms)
{
    return li_conn_send_all(&c->io, p, n, deadline_after(timeout_ms));
}

/* Reads what is available into rx, waiting until the deadline for the first octet. */
static li_err fill(ho_conn *c, uint64_t deadline)
{
    if (li_buf_reserve(&c->rx, 16384) != LI_OK)
        return LI_ERR_NOMEM;
    size_t got = 0;
    li_err e = li_conn_recv_until(&c->io, c->rx.data + c->rx.len, c->rx.cap - c->rx.len, &got,
                                  deadline);
    if (e == LI_OK)
        c->rx.len += got;
    return e == LI_ERR_TIMEOUT ? LI_AGAIN : e;
}

li_err ho_conn_next_pdu(ho_conn *c, size_t max, int timeout_ms, const uint8_t **pdu, size_t *len)
{
    uint64_t deadline = deadline_after(timeout_ms);
    if (c->io.fd < 0)
        return LI_ERR_CLOSED;
    if (c->taken) {
        li_buf_consume(&c->rx, c->taken);
        c->taken = 0;
    }
    for (;;) {
        li_err e = ho_pdu_frame(c->rx.data, c->rx.len, max, len);
        if (e == LI_OK) {
            *pdu = c->rx.data;
            c->taken = *len;
            return LI_OK;
        }
        if (e != LI_AGAIN)
            return e;
        e = fill(c, deadline);
        if (e != LI_OK)
            return e;
    }
}
