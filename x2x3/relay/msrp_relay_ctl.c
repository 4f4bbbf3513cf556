/* The relay's control API (msrp_relay_ctl.h, docs/POI-RELAY.md). li_httpd serves it on a
 * Unix socket inside the relay's own loop (its descriptor watched through
 * msrp_relay_watch); every connection is admitted or refused by its peer credentials
 * when it is accepted (ctl_admit, li_httpd's admission hook), before a byte of it is
 * read. It never tells whether a session is tapped: interception stays invisible to the
 * signalling side. */
#include "msrp_relay_ctl.h"

#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "li_httpd.h"
#include "li_log.h"

#define CTL_MAX_BODY (64 * 1024)
#define SESSIONS_PREFIX "/v1/sessions"
#define CTL_MAX_IDS 32
/* The file mode already keeps others out; the peer credentials decide among those it
 * lets through (and when an operator widens the mode). */
#define CTL_SOCKET_MODE 0660

struct msrp_relay_ctl {
    msrp_relay *relay;
    const char *path;
    li_httpd *httpd;
    uint32_t uids[CTL_MAX_IDS];
    size_t n_uids;
    uint32_t gids[CTL_MAX_IDS];
    size_t n_gids;
};

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

static json_t *describe(const msrp_relay_session_info *in)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:s,s:s,s:i}", "session", in->id,
                          "relay_uri", in->relay_uri, "ue_path", in->ue_path, "network_path",
                          in->network_path, "passthrough", in->passthrough, "cema", in->cema,
                          "mode", in->mode == MSRP_RELAY_AGW ? "agw" : "as", "fingerprint",
                          in->fingerprint, "ue_port", (int)in->ue_port);
    const msrp_relay_leg_info *legs[2] = { &in->ue, &in->network };
    for (int i = 0; i < 2; i++)
        json_object_set_new(j, i == 0 ? "ue" : "network",
                            json_pack("{s:s,s:I,s:I}", "state", legs[i]->state, "messages_in",
                                      (json_int_t)legs[i]->messages_in, "bytes_in",
                                      (json_int_t)legs[i]->bytes_in));
    return j;
}

static void handle_reserve(msrp_relay *r, const li_httpd_request *req,
                           li_httpd_response *resp)
{
    msrp_relay_session_info info;
    char why[256];
    li_err err = msrp_relay_reserve(r, (const char *)req->body, req->body_len, &info, why,
                                    sizeof why);
    if (err != LI_OK)
        reply_error(resp, err == LI_ERR_INVAL ? 400 : err == LI_ERR_FULL ? 503 : 500, why);
    else
        reply_json(resp, 201, describe(&info));
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

static void list_one(const char *id, void *ctx)
{
    json_array_append_new(ctx, json_string(id));
}

static void handle_sessions(msrp_relay *r, const li_httpd_request *req,
                            li_httpd_response *resp)
{
    if (strcmp(req->method, "POST") == 0) {
        handle_reserve(r, req, resp);
    } else if (strcmp(req->method, "GET") == 0) {
        json_t *list = json_array();
        msrp_relay_session_each(r, list_one, list);
        reply_json(resp, 200, json_pack("{s:o}", "sessions", list));
    } else {
        resp->allow = "POST, GET";
        reply_error(resp, 405, "POST or GET");
    }
}

static void handle_session(msrp_relay *r, const li_httpd_request *req,
                           li_httpd_response *resp)
{
    const char *id = req->path + sizeof SESSIONS_PREFIX;
    msrp_relay_session_info info;
    if (strcmp(req->method, "GET") == 0) {
        if (msrp_relay_session_get(r, id, &info) == LI_OK)
            reply_json(resp, 200, describe(&info));
        else
            reply_error(resp, 404, "no such session");
    } else if (strcmp(req->method, "DELETE") == 0) {
        if (msrp_relay_release(r, id) == LI_OK)
            reply_json(resp, 204, NULL);
        else
            reply_error(resp, 404, "no such session");
    } else {
        resp->allow = "GET, DELETE";
        reply_error(resp, 405, "GET or DELETE");
    }
}

/* The whole API: (method, path, body) in, (status, JSON body) out. */
static void handler(void *ctx, const li_httpd_request *req, li_httpd_response *resp)
{
    msrp_relay *r = ((msrp_relay_ctl *)ctx)->relay;
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

/* ---------------------------------------------------------------- who may connect */

/* "name,1001,..." into ids: user (or group) names resolved once at start-up. */
static li_err parse_ids(const char *key, const char *text, int groups, uint32_t *ids,
                        size_t *n, char *errstr, size_t errstr_size)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", text);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        char *end;
        unsigned long v = strtoul(tok, &end, 10);
        if (*end || end == tok) {
            struct passwd *pw = groups ? NULL : getpwnam(tok);
            struct group *gr = groups ? getgrnam(tok) : NULL;
            if (!pw && !gr) {
                snprintf(errstr, errstr_size, "%s: no %s '%s'", key, groups ? "group" : "user",
                         tok);
                return LI_ERR_INVAL;
            }
            v = pw ? pw->pw_uid : gr->gr_gid;
        }
        if (*n == CTL_MAX_IDS) {
            snprintf(errstr, errstr_size, "%s: at most %d entries", key, CTL_MAX_IDS);
            return LI_ERR_INVAL;
        }
        ids[(*n)++] = (uint32_t)v;
    }
    return LI_OK;
}

/* li_httpd's admission hook: the kernel's record of who connected (SO_PEERCRED, the
 * credentials of the process at connect()), never anything the peer says. A peer is
 * admitted when its uid or its gid is allowed. */
static int ctl_admit(void *arg, int fd)
{
    const msrp_relay_ctl *ctl = arg;
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
        li_log_warn("control API: no peer credentials, connection refused");
        return 0;
    }
    for (size_t i = 0; i < ctl->n_uids; i++)
        if (ctl->uids[i] == cred.uid)
            return 1;
    for (size_t i = 0; i < ctl->n_gids; i++)
        if (ctl->gids[i] == cred.gid)
            return 1;
    li_log_warn("control API: connection of pid %d uid %u gid %u refused (not in "
                "relay.control.allow_uids / allow_gids)", (int)cred.pid, (unsigned)cred.uid,
                (unsigned)cred.gid);
    return 0;
}

/* The relay's loop calls this when the server's descriptor is readable and on every
 * tick (li_httpd's deadlines). */
static void ctl_run(void *arg)
{
    msrp_relay_ctl *ctl = arg;
    li_httpd_run(ctl->httpd, 0);
}

static li_err ctl_config(msrp_relay_ctl *ctl, const li_config *cfg, char *errstr,
                         size_t errstr_size)
{
    if (li_config_get(cfg, "relay.control.listen", NULL)) {
        snprintf(errstr, errstr_size, "relay.control.listen is gone: the control API listens "
                 "on relay.control.socket, a Unix socket (docs/POI-RELAY.md)");
        return LI_ERR_INVAL;
    }
    ctl->path = li_config_get(cfg, "relay.control.socket", NULL);
    if (!ctl->path || !*ctl->path) {
        snprintf(errstr, errstr_size, "relay.control.socket is required");
        return LI_ERR_INVAL;
    }
    const char *uids = li_config_get(cfg, "relay.control.allow_uids", NULL);
    const char *gids = li_config_get(cfg, "relay.control.allow_gids", "");
    if (!uids) {
        ctl->uids[0] = (uint32_t)geteuid();
        ctl->n_uids = 1;
    } else if (parse_ids("relay.control.allow_uids", uids, 0, ctl->uids, &ctl->n_uids, errstr,
                         errstr_size) != LI_OK) {
        return LI_ERR_INVAL;
    }
    return parse_ids("relay.control.allow_gids", gids, 1, ctl->gids, &ctl->n_gids, errstr,
                     errstr_size);
}

msrp_relay_ctl *msrp_relay_ctl_new(msrp_relay *relay, const li_config *cfg, char *errstr,
                                   size_t errstr_size)
{
    msrp_relay_ctl *ctl = calloc(1, sizeof *ctl);
    if (!ctl) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    ctl->relay = relay;
    if (ctl_config(ctl, cfg, errstr, errstr_size) != LI_OK)
        goto fail;
    const li_httpd_opts o = { .handler = handler, .ctx = ctl, .max_body = CTL_MAX_BODY,
                              .timeout_ms = 30000, .max_connections = 64,
                              .admit = ctl_admit };
    ctl->httpd = li_httpd_new_unix(ctl->path, CTL_SOCKET_MODE, "relay.control.socket", &o,
                                   errstr, errstr_size);
    if (!ctl->httpd)
        goto fail;
    if (msrp_relay_watch(relay, li_httpd_fd(ctl->httpd), ctl_run, ctl) != LI_OK) {
        snprintf(errstr, errstr_size, "control API: cannot watch its socket");
        goto fail;
    }
    li_log_info("control API on %s (uids %zu, gids %zu allowed)", ctl->path, ctl->n_uids,
                ctl->n_gids);
    return ctl;
fail:
    msrp_relay_ctl_free(ctl);
    return NULL;
}

const char *msrp_relay_ctl_path(const msrp_relay_ctl *ctl) { return ctl->path; }

uint64_t msrp_relay_ctl_refused(const msrp_relay_ctl *ctl)
{
    return li_httpd_refused(ctl->httpd);
}

void msrp_relay_ctl_free(msrp_relay_ctl *ctl)
{
    if (!ctl)
        return;
    if (ctl->httpd) {
        msrp_relay_unwatch(ctl->relay, li_httpd_fd(ctl->httpd));
        li_httpd_free(ctl->httpd);
    }
    free(ctl);
}
