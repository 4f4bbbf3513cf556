/* The relay's control API admits only the local users it is configured for (their
 * peer credentials, SO_PEERCRED), whoever can reach its socket file:
 *  - relay A admits its own uid (the default). Its socket's mode is widened to 0666 as
 *    an operator might; a process that setuid's to nobody still cannot reserve, list,
 *    read or delete sessions, and the session reserved by the allowed user is intact;
 *  - relay B admits only nobody: the test's own user is refused everything and nobody
 *    is served (the list is the only gate, not the file mode).
 * Needs root for setuid; without it only the second relay's refusal is shown. */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "relay_util.h"
#include "x2x3_util.h"

static const char RESERVE[] =
    "{\"mode\":\"agw\",\"ue\":{\"transport\":\"tls\",\"fingerprint\":\"sha-256 "
    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:"
    "EE:FF\",\"path\":\"msrps://127.0.0.1:7/ue;tcp\"},\"network\":{\"next_hop\":"
    "\"msrp://127.0.0.1:9/net;tcp\"},\"target\":\"sip:victim@example.com\"}";

/* Every request of the API, as this process's user: the number answered at all. */
static int answered(const char *sock, const char *session_path)
{
    char resp[4096];
    int n = 0;
    n += rt_http(sock, "POST", "/v1/sessions", RESERVE, resp, sizeof resp) >= 0;
    n += rt_http(sock, "GET", "/v1/sessions", NULL, resp, sizeof resp) >= 0;
    n += rt_http(sock, "GET", session_path, NULL, resp, sizeof resp) >= 0;
    n += rt_http(sock, "DELETE", session_path, NULL, resp, sizeof resp) >= 0;
    n += rt_http(sock, "GET", "/v1/stats", NULL, resp, sizeof resp) >= 0;
    return n;
}

/* Runs fn's requests in a child that became uid/gid of nobody; its exit status is the
 * number of requests answered (or 100 when it could not drop to nobody). */
static int as_nobody(const char *sock, const char *session_path, int want_list)
{
    struct passwd *pw = getpwnam("nobody");
    RT_CHECK(pw, "no user nobody");
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0 ||
            getuid() != pw->pw_uid)
            _exit(100);
        if (want_list) {
            char resp[4096];
            _exit(rt_http(sock, "GET", "/v1/sessions", NULL, resp, sizeof resp) == 200 ? 1 : 0);
        }
        _exit(answered(sock, session_path));
    }
    RT_CHECK(pid > 0, "fork");
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int log_has(const char *log, const char *needle)
{
    char *text;
    size_t len;
    if (rt_read_file(log, &text, &len) != 0)
        return 0;
    int has = strstr(text, needle) != NULL;
    free(text);
    return has;
}

int main(void)
{
    rt_init("ctlauth");
    int root = geteuid() == 0;
    struct passwd *pw = getpwnam("nobody");
    RT_CHECK(pw, "no user nobody");
    char refused[128];

    /* Relay A: the default, its own uid only. */
    rt_relay a;
    rt_relay_start(&a, "relay-a", 0, 0, NULL);
    char resp[4096], id[64], path[128];
    RT_CHECK(rt_http(a.control, "POST", "/v1/sessions", RESERVE, resp, sizeof resp) == 201,
             "the allowed user cannot reserve: %s", resp);
    rt_json_str(resp, "session", id, sizeof id);
    snprintf(path, sizeof path, "/v1/sessions/%s", id);
    if (root) {
        /* The file mode let through, so that the peer credentials alone decide. */
        RT_CHECK(chmod(rt_dir(), 0711) == 0 && chmod(a.control, 0666) == 0,
                 "chmod the control socket");
        int n = as_nobody(a.control, path, 0);
        RT_CHECK(n == 0, "nobody got %d answers from the control API (100: no setuid)", n);
        snprintf(refused, sizeof refused, "uid %u gid %u refused", (unsigned)pw->pw_uid,
                 (unsigned)pw->pw_gid);
        RT_CHECK(log_has(a.log, refused), "no refusal of nobody logged (see %s)", a.log);
    } else {
        printf("relay_ctl_auth: not root, the setuid attack is skipped\n");
    }
    RT_CHECK(rt_http(a.control, "GET", "/v1/sessions", NULL, resp, sizeof resp) == 200 &&
                 strstr(resp, id) && !strchr(strchr(resp, '[') + 1, ','),
             "the sessions changed: %s", resp);
    RT_CHECK(rt_http(a.control, "GET", path, NULL, resp, sizeof resp) == 200,
             "the allowed user's session is gone");
    RT_CHECK(rt_http(a.control, "GET", "/v1/stats", NULL, resp, sizeof resp) == 200 &&
                 rt_json_int(resp, "sessions_reserved") == 1,
             "reservations counted: %s", resp);
    RT_CHECK(rt_http(a.control, "DELETE", path, NULL, NULL, 0) == 204, "allowed DELETE");
    RT_CHECK(rt_relay_stop(&a) == 0, "relay A exit (see %s)", a.log);

    /* Relay B: only nobody; this process's user is refused whatever it asks. */
    char conf[256];
    snprintf(conf, sizeof conf,
             "[relay]\ncontrol.allow_uids = nobody\nmetrics.listen = 127.0.0.1:0\n");
    rt_relay b;
    rt_relay_start(&b, "relay-b", 0, 0, conf);
    RT_CHECK(answered(b.control, "/v1/sessions/0123456789abcdef01234567") == 0,
             "a user not allowed got answers");
    snprintf(refused, sizeof refused, "uid %u gid %u refused", (unsigned)geteuid(),
             (unsigned)getegid());
    RT_CHECK(log_has(b.log, refused), "no refusal logged (see %s)", b.log);
    RT_CHECK(!log_has(b.log, "reserved ("), "a session was reserved (see %s)", b.log);
    char metrics[16384];
    RT_CHECK(x2x3t_http_get(b.metrics_port, "/metrics", metrics, sizeof metrics) == 200 &&
                 x2x3t_metric(metrics, "limf_relay_control_refused_total") == 5 &&
                 x2x3t_metric(metrics, "limf_relay_sessions_reserved_total") == 0,
             "refusals not counted, or a reservation made:\n%s", metrics);
    if (root) {
        RT_CHECK(chmod(b.control, 0666) == 0, "chmod the control socket");
        RT_CHECK(as_nobody(b.control, NULL, 1) == 1, "the allowed user nobody was not served");
    }
    RT_CHECK(rt_relay_stop(&b) == 0, "relay B exit (see %s)", b.log);
    rt_done();
    printf("relay_ctl_auth: users not allowed cannot reserve, list, read or delete sessions\n");
    return 0;
}
