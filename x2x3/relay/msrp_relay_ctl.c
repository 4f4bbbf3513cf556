/* The relay's control API (docs/POI-RELAY.md): HTTP/JSON on loopback, playing the
 * IMS-ALG's role. li_httpd runs inside the relay's own loop (its descriptor is in the
 * relay's epoll set), so handlers touch sessions without locks. It never tells whether a session is
 * tapped: interception stays invisible to the signalling side (docs/DESIGN.md 7). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "li_httpd.h"
#include "li_log.h"
#include "li_net.h"
#include "li_tls.h"
#include "msrp_relay_int.h"

#define CTL_MAX_BODY (64 * 1024)
#define SESSIONS_PREFIX "/v1/sessions"

/* The answer: status and a JSON body (j is consumed; NULL for none). */
static void reply_json(li_httpd_response *resp, int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    resp->status = status;
    if (text) {
        resp->content_type = "application/json";
        li_buf_append(&resp->body, text, strlen(text));
    }
    free(text);
}

static void reply_error(li_httpd_response *resp, int status, const char *why)
{
    reply_json(resp, status, json_pack("{s:s}", "error", why));
}

static const char *conn_state_name(relay_conn_state st)
{
    static const char *const names[] = { "idle", "connecting", "handshake", "open", "closed" };
    return names[st];
}

static json_t *describe(const msrp_relay *r, const relay_session *s)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:s}", "session", s->id, "relay_uri",
                          s->own_ue, "ue_path", s->ue_sdp_path, "network_path",
                          s->net_sdp_path, "passthrough", s->passthrough, "cema", s->req.cema,
                          "mode", s->req.mode == MSRP_RELAY_AGW ? "agw" : "as");
    /* The SDP answer to the UE carries the fingerprint of whoever ends its TLS: the
     * relay, or under passthrough the far peer itself (RFC 8122 section 5). */
    char fp[96 + 8];
    if (s->passthrough && s->req.network.has_fingerprint) {
        char hex[96];
        li_tls_fingerprint_format(s->req.network.fingerprint, hex);
        snprintf(fp, sizeof fp, "sha-256 %s", hex);
    } else {
        snprintf(fp, sizeof fp, "sha-256 %s", r->fingerprint);
    }
    json_object_set_new(j, "fingerprint", json_string(fp));
    json_object_set_new(j, "ue_port", json_integer(s->port));
    for (int i = 0; i < 2; i++) {
        const relay_conn *c = &s->conn[i];
        json_object_set_new(j, i == RELAY_LEG_UE ? "ue" : "network",
                            json_pack("{s:s,s:I,s:I}", "state", conn_state_name(c->state),
                                      "messages_in", (json_int_t)c->messages_in, "bytes_in",
                                      (json_int_t)c->bytes_in));
    }
    return j;
}

static void handle_reserve(msrp_relay *r, const li_httpd_request *req,
                           li_httpd_response *resp)
{
    msrp_relay_req rq;
    char why[256];
    if (msrp_relay_req_parse((const char *)req->body, req->body_len, r->tls_only, &rq, why,
                             sizeof why) != LI_OK) {
        r->stats.sessions_refused++;
        reply_error(resp, 400, why);
        return;
    }
    relay_session *s;
    li_err err = relay_session_reserve(r, &rq, &s, why, sizeof why);
    if (err != LI_OK) {
        r->stats.sessions_refused++;
        reply_error(resp, err == LI_ERR_INVAL ? 400 : err == LI_ERR_FULL ? 503 : 500, why);
        return;
    }
    reply_json(resp, 201, describe(r, s));
}

static void handle_stats(msrp_relay *r, li_httpd_response *resp)
{
    msrp_relay_stats st;
    msrp_relay_stats_get(r, &st);
    reply_json(resp, 200,
               json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "sessions_reserved",
                         (json_int_t)st.sessions_reserved, "sessions_active",
                         (json_int_t)st.sessions_active, "sessions_refused",
                         (json_int_t)st.sessions_refused, "tls_refused",
                         (json_int_t)st.tls_refused, "messages_relayed",
                         (json_int_t)st.messages_relayed, "bytes_relayed",
                         (json_int_t)st.bytes_relayed, "passthrough_sessions",
                         (json_int_t)st.passthrough_sessions));
}

static void handle_sessions(msrp_relay *r, const li_httpd_request *req,
                            li_httpd_response *resp)
{
    if (strcmp(req->method, "POST") == 0) {
        handle_reserve(r, req, resp);
    } else if (strcmp(req->method, "GET") == 0) {
        json_t *list = json_array();
        for (relay_session *s = r->sessions; s; s = s->next)
            json_array_append_new(list, json_string(s->id));
        reply_json(resp, 200, json_pack("{s:o}", "sessions", list));
    } else {
        resp->allow = "POST, GET";
        reply_error(resp, 405, "POST or GET");
    }
}

static void handle_session(msrp_relay *r, const li_httpd_request *req,
                           li_httpd_response *resp)
{
    relay_session *s = relay_session_find(r, req->path + sizeof SESSIONS_PREFIX);
    if (!s) {
        reply_error(resp, 404, "no such session");
    } else if (strcmp(req->method, "GET") == 0) {
        reply_json(resp, 200, describe(r, s));
    } else if (strcmp(req->method, "DELETE") == 0) {
        relay_session_release(r, s);
        reply_json(resp, 204, NULL);
    } else {
        resp->allow = "GET, DELETE";
        reply_error(resp, 405, "GET or DELETE");
    }
}

/* The whole API: (method, path, body) in, (status, JSON body) out. */
static void handler(void *ctx, const li_httpd_request *req, li_httpd_response *resp)
{
    msrp_relay *r = ctx;
    int get = strcmp(req->method, "GET") == 0;
    if (strcmp(req->path, "/healthz") == 0 && get)
        reply_json(resp, 200, json_pack("{s:s}", "status", "ok"));
    else if (strcmp(req->path, "/v1/stats") == 0 && get)
        handle_stats(r, resp);
    else if (strcmp(req->path, SESSIONS_PREFIX) == 0)
        handle_sessions(r, req, resp);
    else if (strncmp(req->path, SESSIONS_PREFIX "/", sizeof SESSIONS_PREFIX) == 0)
        handle_session(r, req, resp);
    else
        reply_error(resp, 404, "unknown resource");
}

/* The control API has no authentication of its own: it listens on loopback only, where
 * the co-located IMS-ALG (or a local proxy that authenticates) reaches it. */
li_err relay_ctl_start(msrp_relay *r, const char *listen_spec, char *errstr, size_t errstr_size)
{
    char why[256];
    const li_httpd_opts o = { .handler = handler, .ctx = r, .max_body = CTL_MAX_BODY,
                              .timeout_ms = 30000, .max_connections = 64,
                              .loopback_only = 1 };
    if (!(r->ctl = li_httpd_new(listen_spec, &o, why, sizeof why))) {
        snprintf(errstr, errstr_size, "relay.control.listen: %s", why);
        return LI_ERR_INVAL;
    }
    r->control_port = li_httpd_port(r->ctl);
    struct epoll_event e = { .events = EPOLLIN, .data.ptr = &r->control_ev };
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, li_httpd_fd(r->ctl), &e) != 0) {
        snprintf(errstr, errstr_size, "epoll_ctl: %s", strerror(errno));
        return LI_ERR_IO;
    }
    li_log_info("control API on %s (port %u)", listen_spec, r->control_port);
    return LI_OK;
}

void relay_ctl_run(msrp_relay *r)
{
    if (r->ctl)
        li_httpd_run(r->ctl, 0);
}

void relay_ctl_stop(msrp_relay *r)
{
    li_httpd_free(r->ctl);
    r->ctl = NULL;
}
