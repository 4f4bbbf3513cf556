/* The relay's control API (docs/POI-RELAY.md): HTTP/JSON on loopback, playing the
 * IMS-ALG's role. libmicrohttpd runs in external epoll mode inside the relay's own
 * loop, so handlers touch sessions without locks. It never tells whether a session is
 * tapped: interception stays invisible to the signalling side (docs/DESIGN.md 7). */
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "li_log.h"
#include "li_net.h"
#include "li_tls.h"
#include "msrp_relay_int.h"

#define CTL_MAX_BODY (64 * 1024)
#define SESSIONS_PREFIX "/v1/sessions"

typedef struct ctl_request {
    li_buf body;
    int too_big;
} ctl_request;

static enum MHD_Result reply_json(struct MHD_Connection *con, unsigned int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    struct MHD_Response *resp =
        text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    if (text)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ret = MHD_queue_response(con, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *con, unsigned int status,
                                   const char *why)
{
    return reply_json(con, status, json_pack("{s:s}", "error", why));
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

static enum MHD_Result handle_reserve(msrp_relay *r, struct MHD_Connection *con,
                                      const ctl_request *req)
{
    if (req->too_big)
        return reply_error(con, MHD_HTTP_CONTENT_TOO_LARGE, "body too large");
    msrp_relay_req rq;
    char why[256];
    if (msrp_relay_req_parse((const char *)req->body.data, req->body.len, r->tls_only, &rq, why,
                             sizeof why) != LI_OK) {
        r->stats.sessions_refused++;
        return reply_error(con, MHD_HTTP_BAD_REQUEST, why);
    }
    relay_session *s;
    li_err err = relay_session_reserve(r, &rq, &s, why, sizeof why);
    if (err != LI_OK) {
        r->stats.sessions_refused++;
        return reply_error(con, err == LI_ERR_INVAL  ? MHD_HTTP_BAD_REQUEST
                                : err == LI_ERR_FULL ? MHD_HTTP_SERVICE_UNAVAILABLE
                                                     : MHD_HTTP_INTERNAL_SERVER_ERROR,
                           why);
    }
    return reply_json(con, MHD_HTTP_CREATED, describe(r, s));
}

static enum MHD_Result handle_stats(msrp_relay *r, struct MHD_Connection *con)
{
    msrp_relay_stats st;
    msrp_relay_stats_get(r, &st);
    return reply_json(con, MHD_HTTP_OK,
                      json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "sessions_reserved",
                                (json_int_t)st.sessions_reserved, "sessions_active",
                                (json_int_t)st.sessions_active, "sessions_refused",
                                (json_int_t)st.sessions_refused, "tls_refused",
                                (json_int_t)st.tls_refused, "messages_relayed",
                                (json_int_t)st.messages_relayed, "bytes_relayed",
                                (json_int_t)st.bytes_relayed, "passthrough_sessions",
                                (json_int_t)st.passthrough_sessions));
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *con, const char *url,
                               const char *method, const char *version,
                               const char *upload_data, size_t *upload_data_size,
                               void **con_cls)
{
    (void)version;
    msrp_relay *r = cls;
    ctl_request *req = *con_cls;
    if (!req) {
        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        li_buf_init(&req->body, CTL_MAX_BODY);
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (li_buf_append(&req->body, upload_data, *upload_data_size) != LI_OK)
            req->too_big = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/healthz") == 0 && strcmp(method, "GET") == 0)
        return reply_json(con, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
    if (strcmp(url, "/v1/stats") == 0 && strcmp(method, "GET") == 0)
        return handle_stats(r, con);
    if (strcmp(url, SESSIONS_PREFIX) == 0) {
        if (strcmp(method, "POST") == 0)
            return handle_reserve(r, con, req);
        if (strcmp(method, "GET") == 0) {
            json_t *list = json_array();
            for (relay_session *s = r->sessions; s; s = s->next)
                json_array_append_new(list, json_string(s->id));
            return reply_json(con, MHD_HTTP_OK, json_pack("{s:o}", "sessions", list));
        }
        return reply_error(con, MHD_HTTP_METHOD_NOT_ALLOWED, "POST or GET");
    }
    if (strncmp(url, SESSIONS_PREFIX "/", sizeof SESSIONS_PREFIX) == 0) {
        relay_session *s = relay_session_find(r, url + sizeof SESSIONS_PREFIX);
        if (!s)
            return reply_error(con, MHD_HTTP_NOT_FOUND, "no such session");
        if (strcmp(method, "GET") == 0)
            return reply_json(con, MHD_HTTP_OK, describe(r, s));
        if (strcmp(method, "DELETE") == 0) {
            relay_session_release(r, s);
            return reply_json(con, MHD_HTTP_NO_CONTENT, NULL);
        }
        return reply_error(con, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or DELETE");
    }
    return reply_error(con, MHD_HTTP_NOT_FOUND, "unknown resource");
}

static void completed(void *cls, struct MHD_Connection *con, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)con, (void)toe;
    ctl_request *req = *con_cls;
    if (req) {
        li_buf_free(&req->body);
        free(req);
        *con_cls = NULL;
    }
}

/* The control API has no authentication of its own: it listens on loopback only, where
 * the co-located IMS-ALG (or a local proxy that authenticates) reaches it. */
static int is_loopback(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return 0;
}

li_err relay_ctl_start(msrp_relay *r, const char *listen_spec, char *errstr, size_t errstr_size)
{
    struct sockaddr_storage sa;
    socklen_t len;
    int fd;
    if (li_net_address(listen_spec, LI_HOSTPORT_PORT0, "relay.control.listen", &sa, &len, errstr,
                       errstr_size) != LI_OK)
        return LI_ERR_INVAL;
    if (!is_loopback(&sa)) {
        snprintf(errstr, errstr_size, "relay.control.listen: must be a loopback address");
        return LI_ERR_INVAL;
    }
    if (li_net_listen_at(&sa, len, 32, 0, &fd, &r->control_port, errstr, errstr_size) != LI_OK)
        return LI_ERR_IO;
    r->control_fd = fd;
    r->mhd = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, handler, r,
                              MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
                              completed, r, MHD_OPTION_CONNECTION_LIMIT, 64,
                              MHD_OPTION_CONNECTION_TIMEOUT, 30, MHD_OPTION_END);
    const union MHD_DaemonInfo *info =
        r->mhd ? MHD_get_daemon_info(r->mhd, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
    if (!info) {
        snprintf(errstr, errstr_size, "libmicrohttpd failed to start");
        return LI_ERR_IO;
    }
    struct epoll_event e = { .events = EPOLLIN, .data.ptr = &r->control_ev };
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, info->epoll_fd, &e) != 0) {
        snprintf(errstr, errstr_size, "epoll_ctl: %s", strerror(errno));
        return LI_ERR_IO;
    }
    li_log_info("control API on %s (port %u)", listen_spec, r->control_port);
    return LI_OK;
}

void relay_ctl_run(msrp_relay *r)
{
    if (r->mhd)
        MHD_run(r->mhd);
}

void relay_ctl_stop(msrp_relay *r)
{
    if (r->mhd)
        MHD_stop_daemon(r->mhd);
    r->mhd = NULL;
    if (r->control_fd >= 0)
        close(r->control_fd);
    r->control_fd = -1;
}
