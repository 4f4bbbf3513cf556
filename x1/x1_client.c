#include "x1_client.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "li_net.h"
#include "li_time.h"
#include "li_tls.h"
#include "li_http.h"
#include "li_http.h"
#include "x1_io.h"
#include "x1_xml.h"

/* The registered certificate of one NE (x1_client_pin). */
typedef struct ne_pin {
    char *ne_id;
    uint8_t sha256[32];
} ne_pin;

struct x1_client {
    SSL_CTX *ctx;
    int check_url_host; /* no tls.peer_name: the NE certificate must name the URL's host */
    char admf_id[256];
    int timeout_ms;
    size_t max_response;
    pthread_mutex_t pins_mu; /* pins may change while other threads call */
    ne_pin *pins;
    size_t n_pins, cap_pins;
};

x1_client *x1_client_new(const li_config *cfg, const char *prefix, char *errstr,
                         size_t errstr_size)
{
    char key[256];
    int64_t v;
    x1_client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->pins_mu, NULL);
    snprintf(key, sizeof key, "%s.timeout_ms", prefix);
    if (li_config_get_int(cfg, key, 5000, 1, 3600000, &v, errstr, errstr_size) != LI_OK)
        goto fail;
    c->timeout_ms = (int)v;
    snprintf(key, sizeof key, "%s.max_response_bytes", prefix);
    if (li_config_get_int(cfg, key, 16 << 20, 1024, 1LL << 32, &v, errstr, errstr_size) != LI_OK)
        goto fail;
    c->max_response = (size_t)v;
    snprintf(key, sizeof key, "%s.admf_id", prefix);
    snprintf(c->admf_id, sizeof c->admf_id, "%s", li_config_get(cfg, key, "limf-admf"));
    li_tls_opts opts;
    snprintf(key, sizeof key, "%s.tls", prefix);
    li_tls_opts_from_config(cfg, key, &opts);
    opts.server = 0;
    c->check_url_host = !(opts.peer_name && *opts.peer_name);
    if (!(c->ctx = li_tls_ctx_new(&opts, errstr, errstr_size)))
        goto fail;
    x1_xml_init();
    return c;
fail:
    pthread_mutex_destroy(&c->pins_mu);
    free(c);
    return NULL;
}

void x1_client_free(x1_client *c)
{
    if (!c)
        return;
    SSL_CTX_free(c->ctx);
    for (size_t i = 0; i < c->n_pins; i++)
        free(c->pins[i].ne_id);
    free(c->pins);
    pthread_mutex_destroy(&c->pins_mu);
    free(c);
}

/* A linear table: one entry per registered POI, and each lookup precedes a TCP connect
 * and a TLS handshake, which cost far more than the scan. */
static ne_pin *pin_find(x1_client *c, const char *ne_id)
{
    for (size_t i = 0; i < c->n_pins; i++)
        if (strcmp(c->pins[i].ne_id, ne_id) == 0)
            return &c->pins[i];
    return NULL;
}

li_err x1_client_pin(x1_client *c, const char *ne_id, const uint8_t cert_sha256[32])
{
    if (!c || !ne_id)
        return LI_ERR_INVAL;
    li_err err = LI_OK;
    pthread_mutex_lock(&c->pins_mu);
    ne_pin *p = pin_find(c, ne_id);
    if (p && cert_sha256) {
        memcpy(p->sha256, cert_sha256, 32);
    } else if (p) {
        free(p->ne_id);
        *p = c->pins[--c->n_pins];
    } else if (cert_sha256) {
        if (c->n_pins == c->cap_pins) {
            size_t cap = c->cap_pins ? c->cap_pins * 2 : 8;
            ne_pin *v = realloc(c->pins, cap * sizeof *v);
            if (!v) {
                err = LI_ERR_NOMEM;
                goto out;
            }
            c->pins = v;
            c->cap_pins = cap;
        }
        char *id = strdup(ne_id);
        if (!id) {
            err = LI_ERR_NOMEM;
            goto out;
        }
        c->pins[c->n_pins].ne_id = id;
        memcpy(c->pins[c->n_pins].sha256, cert_sha256, 32);
        c->n_pins++;
    }
out:
    pthread_mutex_unlock(&c->pins_mu);
    return err;
}

/* Copies ne_id's pin into out; 0 when the NE has none. */
static int pin_get(x1_client *c, const char *ne_id, uint8_t out[32])
{
    pthread_mutex_lock(&c->pins_mu);
    const ne_pin *p = pin_find(c, ne_id);
    if (p)
        memcpy(out, p->sha256, 32);
    pthread_mutex_unlock(&c->pins_mu);
    return p != NULL;
}

/* The one place a pin is enforced: the SHA-256 of the NE's leaf certificate (DER), as the
 * handshake (CA or x1.tls.pins, host name) accepted it, against the registered one. */
static li_err check_pin(SSL *ssl, const char *ne_id, const uint8_t want[32], char *errstr,
                        size_t errstr_size)
{
    uint8_t got[32];
    char got_text[96] = "none", want_text[96];
    if (li_tls_peer_fingerprint(ssl, got) == LI_OK) {
        if (memcmp(got, want, 32) == 0)
            return LI_OK;
        li_tls_fingerprint_format(got, got_text);
    }
    li_tls_fingerprint_format(want, want_text);
    snprintf(errstr, errstr_size,
             "certificate of %s does not match its registered cert_sha256: got %s, want %s",
             ne_id, got_text, want_text);
    return LI_ERR_TLS;
}

typedef struct url_parts {
    char host[256];
    char port[8];
    uint16_t nport;
    char path[256];
    char authority[272]; /* for the Host header */
} url_parts;

/* https://host[:port][/path]; the port defaults to 443, the path to "/". */
static li_err parse_url(const char *url, url_parts *u)
{
    if (strncmp(url, "https://", 8) != 0)
        return LI_ERR_INVAL;
    const char *p = url + 8;
    const char *slash = strchr(p, '/');
    size_t alen = slash ? (size_t)(slash - p) : strlen(p);
    if (alen == 0 || alen >= sizeof u->authority)
        return LI_ERR_INVAL;
    memcpy(u->authority, p, alen);
    u->authority[alen] = '\0';
    snprintf(u->path, sizeof u->path, "%s", slash ? slash : "/");
    li_hostport hp = { .port = 443 };
    if (li_hostport_parse(u->authority, LI_HOSTPORT_NAME | LI_HOSTPORT_OPT_PORT, &hp) != LI_OK)
        return LI_ERR_INVAL;
    snprintf(u->host, sizeof u->host, "%s", hp.host);
    u->nport = hp.port;
    snprintf(u->port, sizeof u->port, "%u", hp.port);
    for (const char *q = u->path; *q; q++) {
        if ((unsigned char)*q <= ' ')
            return LI_ERR_INVAL;
    }
    return LI_OK;
}

/* Demands that the NE's certificate names the host of the URL (unless pinned). */
static li_err expect_host(SSL *ssl, const char *host)
{
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1)
        return LI_OK;
    if (SSL_set1_host(ssl, host) != 1 || SSL_set_tlsext_host_name(ssl, host) != 1)
        return LI_ERR_INVAL;
    return LI_OK;
}

/* One HTTPS POST: sends body, returns the status and the answer's body in resp_buf
 * (body at resp_buf->data[*body_off ..]). With pin (NE ne_id's registered certificate),
 * nothing is sent unless the NE's certificate matches it. */
static li_err post(x1_client *c, const char *ne_url, const char *ne_id, const uint8_t *pin,
                   const li_buf *body, li_buf *resp_buf, int *status, size_t *body_off,
                   char *errstr, size_t errstr_size)
{
    url_parts u;
    if (parse_url(ne_url, &u) != LI_OK) {
        snprintf(errstr, errstr_size, "bad NE URL '%s' (https://host:port/path)", ne_url);
        return LI_ERR_INVAL;
    }
    uint64_t deadline = li_mono_ns() + (uint64_t)c->timeout_ms * 1000000;
    int fd;
    li_err err = li_net_connect(u.host, u.nport, deadline, NULL, &fd, errstr, errstr_size);
    if (err != LI_OK)
        return err;
    li_conn conn;
    li_conn_init(&conn);
    if ((err = li_conn_attach(&conn, fd, c->ctx, 0)) != LI_OK) {
        snprintf(errstr, errstr_size, "TLS setup: %s", li_err_str(err));
        return err;
    }
    if (c->check_url_host && expect_host(conn.ssl, u.host) != LI_OK) {
        snprintf(errstr, errstr_size, "cannot check the NE certificate against '%s'", u.host);
        err = LI_ERR_INVAL;
        goto out;
    }
    if ((err = li_conn_handshake_until(&conn, deadline)) != LI_OK) {
        long v = SSL_get_verify_result(conn.ssl);
        snprintf(errstr, errstr_size, "TLS handshake with %s:%s: %s%s%s", u.host, u.port,
                 li_err_str(err), v != X509_V_OK ? ": " : "",
                 v != X509_V_OK ? X509_verify_cert_error_string(v) : "");
        goto out;
    }
    if (pin && (err = check_pin(conn.ssl, ne_id, pin, errstr, errstr_size)) != LI_OK)
        goto out;
    /* Head and body in one write: one TLS record, no wait for an ACK in between. */
    li_buf msg;
    li_buf_init(&msg, 0);
    err = li_buf_printf(&msg,
                        "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/xml; "
                        "charset=utf-8\r\nAccept: application/xml\r\nContent-Length: %zu\r\n"
                        "Connection: close\r\n\r\n",
                        u.path, u.authority, body->len);
    if (err == LI_OK)
        err = li_buf_append(&msg, body->data, body->len);
    if (err == LI_OK)
        err = li_conn_send_all(&conn, msg.data, msg.len, deadline);
    li_buf_free(&msg);
    if (err != LI_OK) {
        snprintf(errstr, errstr_size, "send to %s:%s: %s", u.host, u.port, li_err_str(err));
        goto out;
    }
    li_http_head h;
    size_t msg_len;
    err = x1_conn_read_message(&conn, resp_buf, 1, c->max_response, &h, &msg_len, deadline);
    /* A closed connection is an unreachable NE too (x1_client.h): retry later. */
    if (err == LI_ERR_CLOSED)
        err = LI_ERR_IO;
    if (err != LI_OK) {
        if (err == LI_ERR_PROTO || err == LI_ERR_TOO_BIG)
            err = LI_ERR_PROTO;
        snprintf(errstr, errstr_size, "answer from %s:%s: %s", u.host, u.port,
                 err == LI_ERR_PROTO ? "not a usable HTTP response"
                 : err == LI_ERR_IO  ? "connection closed without an answer"
                                     : li_err_str(err));
        goto out;
    }
    *status = h.status;
    *body_off = msg_len - h.content_length;
    resp_buf->len = msg_len;
out:
    li_conn_shutdown(&conn);
    li_conn_close(&conn);
    return err == LI_ERR_CLOSED ? LI_ERR_IO : err;
}

/* Maps an ErrorResponse's errorCode to limf's error (x1_client.h). */
static li_err error_of(int code)
{
    switch (code) {
    case X1_ERR_XID_NOT_FOUND:
    case X1_ERR_DID_NOT_FOUND:
    case X1_ERR_OBJECT_NOT_FOUND:
        return LI_ERR_NOT_FOUND;
    case X1_ERR_XID_EXISTS:
    case X1_ERR_DID_EXISTS:
    case X1_ERR_OBJECT_EXISTS:
        return LI_ERR_CONFLICT;
    default:
        return LI_ERR_PROTO;
    }
}

/* Sends req (type and body set by the caller; the header is filled here) and decodes
 * the answer into resp (list storage set by the caller). */
static li_err call(x1_client *c, const char *ne_url, const char *ne_id, x1_request *req,
                   x1_response *resp, char *errstr, size_t errstr_size)
{
    char scratch[8];
    if (!errstr || !errstr_size) {
        errstr = scratch;
        errstr_size = sizeof scratch;
    }
    errstr[0] = '\0';
    if (!ne_url || !ne_id || x1_header_init(&req->hdr, c->admf_id, ne_id) != LI_OK) {
        snprintf(errstr, errstr_size, "missing NE URL or bad NE identifier");
        return LI_ERR_INVAL;
    }
    li_buf body, answer;
    li_buf_init(&body, 0);
    li_buf_init(&answer, c->max_response + LI_HTTP_MAX_HEAD);
    li_err err = x1_xml_request_encode(req, 1, &body);
    if (err != LI_OK) {
        snprintf(errstr, errstr_size, "cannot encode the %s request: %s",
                 x1_msg_type_name(req->type), li_err_str(err));
        goto out;
    }
    int status = 0;
    size_t off = 0;
    uint8_t pin[32];
    int pinned = pin_get(c, ne_id, pin);
    if ((err = post(c, ne_url, ne_id, pinned ? pin : NULL, &body, &answer, &status, &off,
                    errstr, errstr_size)) != LI_OK)
        goto out;
    err = x1_xml_response_decode(answer.data + off, answer.len - off, resp);
    if (err != LI_OK && resp->top_level_error) {
        snprintf(errstr, errstr_size, "NE answered HTTP %d with an X1TopLevelErrorResponse "
                 "(it could not parse the request)", status);
        err = LI_ERR_PROTO;
        goto out;
    }
    if (err != LI_OK) {
        snprintf(errstr, errstr_size, "NE answered HTTP %d without a usable X1Response%s",
                 status, status == 400 ? " (it could not parse the request)" : "");
        err = LI_ERR_PROTO;
        goto out;
    }
    if (memcmp(resp->hdr.transaction_id, req->hdr.transaction_id, 16) != 0) {
        snprintf(errstr, errstr_size, "X1Response answers another x1TransactionId");
        err = LI_ERR_PROTO;
    } else if (resp->error_code) {
        snprintf(errstr, errstr_size, "X1 error %d: %s", resp->error_code,
                 resp->error_desc[0] ? resp->error_desc : "(no errorDescription)");
        err = error_of(resp->error_code);
    } else if (resp->type != req->type) {
        snprintf(errstr, errstr_size, "X1Response of another type (%s)", resp->type_name);
        err = LI_ERR_PROTO;
    } else if (status != 200) {
        snprintf(errstr, errstr_size, "NE answered HTTP %d", status);
        err = LI_ERR_PROTO;
    }
out:
    li_buf_free(&body);
    li_buf_free(&answer);
    return err;
}

/* One request with a heap-allocated request/response pair (a task is ~4 KiB). */
typedef struct exchange {
    x1_request req;
    x1_response resp;
} exchange;

static exchange *exchange_new(x1_msg_type type, char *errstr, size_t errstr_size)
{
    exchange *x = calloc(1, sizeof *x);
    if (x)
        x->req.type = type;
    else if (errstr && errstr_size)
        snprintf(errstr, errstr_size, "out of memory");
    return x;
}

static li_err simple(x1_client *c, const char *url, const char *ne_id, x1_msg_type type,
                     const uint8_t id[16], const x1_task *task, char *errstr,
                     size_t errstr_size)
{
    exchange *x = exchange_new(type, errstr, errstr_size);
    if (!x)
        return LI_ERR_NOMEM;
    if (id)
        memcpy(x->req.id, id, 16);
    if (task)
        x->req.task = *task;
    li_err err = call(c, url, ne_id, &x->req, &x->resp, errstr, errstr_size);
    free(x);
    return err;
}

li_err x1_client_activate(x1_client *c, const char *ne_url, const char *ne_id,
                          const x1_task *task, char *errstr, size_t errstr_size)
{
    return simple(c, ne_url, ne_id, X1_MSG_ACTIVATE_TASK, NULL, task, errstr, errstr_size);
}

li_err x1_client_modify(x1_client *c, const char *ne_url, const char *ne_id,
                        const x1_task *task, char *errstr, size_t errstr_size)
{
    return simple(c, ne_url, ne_id, X1_MSG_MODIFY_TASK, NULL, task, errstr, errstr_size);
}

li_err x1_client_deactivate(x1_client *c, const char *ne_url, const char *ne_id,
                            const uint8_t xid[16], char *errstr, size_t errstr_size)
{
    return simple(c, ne_url, ne_id, X1_MSG_DEACTIVATE_TASK, xid, NULL, errstr, errstr_size);
}

li_err x1_client_remove_destination(x1_client *c, const char *ne_url, const char *ne_id,
                                    const uint8_t did[16], char *errstr, size_t errstr_size)
{
    return simple(c, ne_url, ne_id, X1_MSG_REMOVE_DESTINATION, did, NULL, errstr,
                  errstr_size);
}

li_err x1_client_keepalive(x1_client *c, const char *ne_url, const char *ne_id,
                           char *errstr, size_t errstr_size)
{
    return simple(c, ne_url, ne_id, X1_MSG_KEEPALIVE, NULL, NULL, errstr, errstr_size);
}

li_err x1_client_ping(x1_client *c, const char *ne_url, const char *ne_id, char *errstr,
                      size_t errstr_size)
{
    return simple(c, ne_url, ne_id, X1_MSG_PING, NULL, NULL, errstr, errstr_size);
}

li_err x1_client_list_all(x1_client *c, const char *ne_url, const char *ne_id,
                          x1_listing *out, char *errstr, size_t errstr_size)
{
    /* ListAllDetails carries only the IDs (about 70 bytes per task, where GetAllDetails
     * carries every task whole); GetAllDetails serves NEs that do not implement it. */
    static const x1_msg_type tries[] = { X1_MSG_LIST_ALL_DETAILS, X1_MSG_GET_ALL_DETAILS };
    li_err err = LI_ERR;
    out->n_xids = out->n_dids = out->n_object_ids = 0;
    /* The decoder fills whole destinations and objects; only their IDs are kept. */
    x1_destination *dests = out->dids_max ? calloc(out->dids_max, sizeof *dests) : NULL;
    x1_cert_exception *objs =
        out->object_ids_max ? calloc(out->object_ids_max, sizeof *objs) : NULL;
    if ((out->dids_max && !dests) || (out->object_ids_max && !objs)) {
        free(dests);
        free(objs);
        return LI_ERR_NOMEM;
    }
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        exchange *x = exchange_new(tries[i], errstr, errstr_size);
        if (!x) {
            err = LI_ERR_NOMEM;
            break;
        }
        x->resp.xids = out->xids;
        x->resp.xids_cap = out->xids_max;
        x->resp.dests = dests;
        x->resp.dests_cap = out->dids_max;
        x->resp.objects = objs;
        x->resp.objects_cap = out->object_ids_max;
        err = call(c, ne_url, ne_id, &x->req, &x->resp, errstr, errstr_size);
        /* 1080 "unsupported request" is the standard's answer; some NEs say 1000. */
        int unsupported = err == LI_ERR_PROTO &&
                          (x->resp.error_code == X1_ERR_UNSUPPORTED_REQUEST ||
                           x->resp.error_code == X1_ERR_GENERIC) &&
                          x->resp.type == X1_MSG_LIST_ALL_DETAILS;
        if (err == LI_OK) {
            out->n_xids = x->resp.n_tasks;
            out->n_dids = x->resp.n_dests;
            out->n_object_ids = x->resp.n_objects;
        }
        free(x);
        if (!unsupported)
            break;
    }
    for (size_t i = 0; err == LI_OK && i < out->n_dids && i < out->dids_max; i++)
        memcpy(out->dids[i], dests[i].did, 16);
    for (size_t i = 0; err == LI_OK && i < out->n_object_ids && i < out->object_ids_max; i++)
        memcpy(out->object_ids[i], objs[i].id, 64);
    free(dests);
    free(objs);
    return err;
}

li_err x1_client_list_tasks(x1_client *c, const char *ne_url, const char *ne_id,
                            uint8_t (*xids)[16], size_t max, size_t *n, char *errstr,
                            size_t errstr_size)
{
    x1_listing l = { .xids = xids, .xids_max = max };
    li_err err = x1_client_list_all(c, ne_url, ne_id, &l, errstr, errstr_size);
    *n = l.n_xids;
    return err;
}

li_err x1_client_get_task(x1_client *c, const char *ne_url, const char *ne_id,
                          const uint8_t xid[16], x1_task *out, char *errstr,
                          size_t errstr_size)
{
    exchange *x = exchange_new(X1_MSG_GET_TASK_DETAILS, errstr, errstr_size);
    if (!x)
        return LI_ERR_NOMEM;
    memcpy(x->req.id, xid, 16);
    li_err err = call(c, ne_url, ne_id, &x->req, &x->resp, errstr, errstr_size);
    if (err == LI_OK && memcmp(x->resp.task.xid, xid, 16) != 0) {
        if (errstr && errstr_size)
            snprintf(errstr, errstr_size, "NE answered with another task");
        err = LI_ERR_PROTO;
    }
    if (err == LI_OK)
        *out = x->resp.task;
    free(x);
    return err;
}

/* CreateDestination or ModifyDestination: the same DestinationDetails. */
static li_err put_destination(x1_client *c, x1_msg_type type, const char *ne_url,
                              const char *ne_id, const uint8_t did[16], const char *address,
                              x1_delivery delivery, char *errstr, size_t errstr_size)
{
    exchange *x = exchange_new(type, errstr, errstr_size);
    if (!x)
        return LI_ERR_NOMEM;
    memcpy(x->req.dest.did, did, 16);
    x->req.dest.delivery = delivery;
    li_err err = LI_ERR_INVAL;
    if (strlen(address) < sizeof x->req.dest.address) {
        strcpy(x->req.dest.address, address);
        err = call(c, ne_url, ne_id, &x->req, &x->resp, errstr, errstr_size);
    } else if (errstr && errstr_size) {
        snprintf(errstr, errstr_size, "destination address too long");
    }
    free(x);
    return err;
}

li_err x1_client_create_destination(x1_client *c, const char *ne_url, const char *ne_id,
                                    const uint8_t did[16], const char *address,
                                    x1_delivery delivery, char *errstr, size_t errstr_size)
{
    return put_destination(c, X1_MSG_CREATE_DESTINATION, ne_url, ne_id, did, address,
                           delivery, errstr, errstr_size);
}

li_err x1_client_modify_destination(x1_client *c, const char *ne_url, const char *ne_id,
                                    const uint8_t did[16], const char *address,
                                    x1_delivery delivery, char *errstr, size_t errstr_size)
{
    return put_destination(c, X1_MSG_MODIFY_DESTINATION, ne_url, ne_id, did, address,
                           delivery, errstr, errstr_size);
}

li_err x1_client_create_exception(x1_client *c, const char *ne_url, const char *ne_id,
                                  const x1_cert_exception *exc, char *errstr,
                                  size_t errstr_size)
{
    exchange *x = exchange_new(X1_MSG_CREATE_OBJECT, errstr, errstr_size);
    if (!x)
        return LI_ERR_NOMEM;
    x->req.object = *exc;
    li_err err = call(c, ne_url, ne_id, &x->req, &x->resp, errstr, errstr_size);
    free(x);
    return err;
}

li_err x1_client_delete_exception(x1_client *c, const char *ne_url, const char *ne_id,
                                  const char *id, char *errstr, size_t errstr_size)
{
    exchange *x = exchange_new(X1_MSG_DELETE_OBJECT, errstr, errstr_size);
    if (!x)
        return LI_ERR_NOMEM;
    li_err err = LI_ERR_INVAL;
    if (strlen(id) < sizeof x->req.object.id) {
        strcpy(x->req.object.id, id);
        err = call(c, ne_url, ne_id, &x->req, &x->resp, errstr, errstr_size);
    } else if (errstr && errstr_size) {
        snprintf(errstr, errstr_size, "exception id too long");
    }
    free(x);
    return err;
}
