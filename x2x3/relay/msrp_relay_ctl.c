/* The relay's control API (msrp_relay_ctl.h, docs/POI-RELAY.md). Every connection is
 * admitted or refused by its peer credentials when it is accepted (ctl_admit), before
 * the HTTP server sees it; libmicrohttpd then serves the admitted connections in
 * external epoll mode inside the relay's own loop. It never tells whether a session is
 * tapped: interception stays invisible to the signalling side. */
#include "msrp_relay_ctl.h"

#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "li_bytes.h"
#include "li_log.h"

#define CTL_MAX_BODY (64 * 1024)
#define SESSIONS_PREFIX "/v1/sessions"
#define CTL_MAX_IDS 32

struct msrp_relay_ctl {
    msrp_relay *relay;
    const char *path;
    int listen_fd;
    struct MHD_Daemon *mhd;
    int mhd_fd;                 /* libmicrohttpd's epoll fd, watched by the relay */
    int bound;                  /* the socket file is this relay's */
    uint32_t uids[CTL_MAX_IDS];
    size_t n_uids;
    uint32_t gids[CTL_MAX_IDS];
    size_t n_gids;
    _Atomic uint64_t refused;   /* connections refused by ctl_admit */
};

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

static enum MHD_Result handle_reserve(msrp_relay *r, struct MHD_Connection *con,
                                      const ctl_request *req)
{
    if (req->too_big)
        return reply_error(con, MHD_HTTP_CONTENT_TOO_LARGE, "body too large");
    msrp_relay_session_info info;
    char why[256];
    li_err err = msrp_relay_reserve(r, (const char *)req->body.data, req->body.len, &info, why,
                                    sizeof why);
    if (err != LI_OK)
        return reply_error(con, err == LI_ERR_INVAL  ? MHD_HTTP_BAD_REQUEST
                                : err == LI_ERR_FULL ? MHD_HTTP_SERVICE_UNAVAILABLE
                                                     : MHD_HTTP_INTERNAL_SERVER_ERROR,
                           why);
    return reply_json(con, MHD_HTTP_CREATED, describe(&info));
}

static void list_one(const char *id, void *ctx)
{
    json_array_append_new(ctx, json_string(id));
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
    msrp_relay *r = ((msrp_relay_ctl *)cls)->relay;
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
            msrp_relay_session_each(r, list_one, list);
            return reply_json(con, MHD_HTTP_OK, json_pack("{s:o}", "sessions", list));
        }
        return reply_error(con, MHD_HTTP_METHOD_NOT_ALLOWED, "POST or GET");
    }
    if (strncmp(url, SESSIONS_PREFIX "/", sizeof SESSIONS_PREFIX) == 0) {
        const char *id = url + sizeof SESSIONS_PREFIX;
        msrp_relay_session_info info;
        if (strcmp(method, "GET") == 0)
            return msrp_relay_session_get(r, id, &info) == LI_OK
                       ? reply_json(con, MHD_HTTP_OK, describe(&info))
                       : reply_error(con, MHD_HTTP_NOT_FOUND, "no such session");
        if (strcmp(method, "DELETE") == 0)
            return msrp_relay_release(r, id) == LI_OK
                       ? reply_json(con, MHD_HTTP_NO_CONTENT, NULL)
                       : reply_error(con, MHD_HTTP_NOT_FOUND, "no such session");
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

/* The connection-level check: the kernel's record of who connected (SO_PEERCRED, the
 * credentials of the process at connect()), never anything the peer says. A peer is
 * admitted when its uid or its gid is allowed. */
static int ctl_admit(const msrp_relay_ctl *ctl, int fd)
{
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

static void ctl_accept(void *arg)
{
    msrp_relay_ctl *ctl = arg;
    for (;;) {
        struct sockaddr_un peer;
        socklen_t len = sizeof peer;
        int fd = accept4(ctl->listen_fd, (struct sockaddr *)&peer, &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (!ctl_admit(ctl, fd)) {
            ctl->refused++;
            close(fd);
            continue;
        }
        /* libmicrohttpd owns (and closes) the socket from here, whatever it answers. */
        if (MHD_add_connection(ctl->mhd, fd, (struct sockaddr *)&peer, len) != MHD_YES)
            li_log_warn("control API: connection dropped (%s)", strerror(errno));
        MHD_run(ctl->mhd);
    }
}

static void ctl_run(void *arg)
{
    msrp_relay_ctl *ctl = arg;
    MHD_run(ctl->mhd);
}

/* ---------------------------------------------------------------- the socket */

/* A socket file left by a relay that died is replaced; one that answers belongs to a
 * running relay and is not taken over. */
static li_err clear_stale(const char *path, char *errstr, size_t errstr_size)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return LI_OK;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(errstr, errstr_size, "relay.control.socket %s: exists and is not a socket",
                 path);
        return LI_ERR_INVAL;
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int live = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
        close(fd);
    if (live) {
        snprintf(errstr, errstr_size, "relay.control.socket %s: in use by a running relay",
                 path);
        return LI_ERR_INVAL;
    }
    unlink(path);
    return LI_OK;
}

static li_err ctl_listen(msrp_relay_ctl *ctl, char *errstr, size_t errstr_size)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(ctl->path) >= sizeof sa.sun_path) {
        snprintf(errstr, errstr_size, "relay.control.socket: path longer than %zu bytes",
                 sizeof sa.sun_path - 1);
        return LI_ERR_INVAL;
    }
    if (clear_stale(ctl->path, errstr, errstr_size) != LI_OK)
        return LI_ERR_INVAL;
    memcpy(sa.sun_path, ctl->path, strlen(ctl->path) + 1);
    ctl->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* 0660: the file mode already keeps others out; the peer credentials decide among
     * those it lets through (and when an operator widens the mode). */
    if (ctl->listen_fd >= 0 && bind(ctl->listen_fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        ctl->bound = 1;
    if (!ctl->bound || chmod(ctl->path, 0660) != 0 || listen(ctl->listen_fd, 32) != 0) {
        snprintf(errstr, errstr_size, "relay.control.socket %s: %s", ctl->path,
                 strerror(errno));
        return LI_ERR_IO;
    }
    return LI_OK;
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
    ctl->listen_fd = -1;
    ctl->mhd_fd = -1;
    if (ctl_config(ctl, cfg, errstr, errstr_size) != LI_OK ||
        ctl_listen(ctl, errstr, errstr_size) != LI_OK)
        goto fail;
    ctl->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL,
                                handler, ctl, MHD_OPTION_NOTIFY_COMPLETED, completed, ctl,
                                MHD_OPTION_CONNECTION_LIMIT, 64, MHD_OPTION_CONNECTION_TIMEOUT,
                                30, MHD_OPTION_END);
    const union MHD_DaemonInfo *info =
        ctl->mhd ? MHD_get_daemon_info(ctl->mhd, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
    if (!info) {
        snprintf(errstr, errstr_size, "libmicrohttpd failed to start");
        goto fail;
    }
    ctl->mhd_fd = info->epoll_fd;
    if (msrp_relay_watch(relay, ctl->listen_fd, ctl_accept, ctl) != LI_OK ||
        msrp_relay_watch(relay, ctl->mhd_fd, ctl_run, ctl) != LI_OK) {
        snprintf(errstr, errstr_size, "control API: cannot watch its sockets");
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

uint64_t msrp_relay_ctl_refused(const msrp_relay_ctl *ctl) { return ctl->refused; }

void msrp_relay_ctl_free(msrp_relay_ctl *ctl)
{
    if (!ctl)
        return;
    if (ctl->mhd_fd >= 0)
        msrp_relay_unwatch(ctl->relay, ctl->mhd_fd);
    if (ctl->mhd)
        MHD_stop_daemon(ctl->mhd);
    if (ctl->listen_fd >= 0) {
        msrp_relay_unwatch(ctl->relay, ctl->listen_fd);
        close(ctl->listen_fd);
    }
    if (ctl->bound)
        unlink(ctl->path);
    free(ctl);
}
