/* See li_daemon.h. */
#include "li_daemon.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "li_log.h"

/* See li_daemon_signals(). The limit is lowered only when it is not 0 already: a
 * systemd unit sets LimitCORE=0 and may forbid setrlimit (SystemCallFilter=~@resources). */
static int harden(void)
{
    umask(077);
    struct rlimit rl;
    if (getrlimit(RLIMIT_CORE, &rl) != 0)
        return -1;
    if (rl.rlim_cur != 0 || rl.rlim_max != 0) {
        rl.rlim_cur = rl.rlim_max = 0;
        if (setrlimit(RLIMIT_CORE, &rl) != 0)
            return -1;
    }
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int li_daemon_signals(void)
{
    if (harden() != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    /* Blocked here, every thread started later inherits the mask: only the signalfd
     * sees the signals. */
    if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0)
        return -1;
    return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

int li_daemon_stop_requested(int sfd, int timeout_ms)
{
    struct pollfd p = { .fd = sfd, .events = POLLIN };
    if (poll(&p, 1, timeout_ms) <= 0)
        return 0;
    struct signalfd_siginfo si;
    if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
        return 0;
    li_log_info("signal %u: stopping", si.ssi_signo);
    return 1;
}

/* s as a JSON string (RFC 8259 section 7): quote, backslash and control characters
 * escaped. */
static void put_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

li_err li_daemon_ready(const li_config *cfg, const li_daemon_port *ports, size_t n_ports,
                       char *errstr, size_t errstr_size)
{
    return li_daemon_ready_sockets(cfg, ports, n_ports, NULL, 0, errstr, errstr_size);
}

li_err li_daemon_ready_sockets(const li_config *cfg, const li_daemon_port *ports,
                               size_t n_ports, const li_daemon_socket *sockets,
                               size_t n_sockets, char *errstr, size_t errstr_size)
{
    const char *path = li_config_get(cfg, "daemon.ready_file", NULL);
    if (!path || !*path)
        return LI_OK;
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        snprintf(errstr, errstr_size, "daemon.ready_file: path too long");
        return LI_ERR_IO;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(errstr, errstr_size, "daemon.ready_file %s: %s", tmp, strerror(errno));
        return LI_ERR_IO;
    }
    fprintf(f, "{\"pid\":%ld,\"ports\":{", (long)getpid());
    for (size_t i = 0; i < n_ports; i++)
        fprintf(f, "%s\"%s\":%u", i ? "," : "", ports[i].name, (unsigned)ports[i].port);
    if (n_sockets)
        fprintf(f, "},\"sockets\":{");
    for (size_t i = 0; i < n_sockets; i++) {
        fprintf(f, "%s\"%s\":", i ? "," : "", sockets[i].name);
        put_json_string(f, sockets[i].path);
    }
    fprintf(f, "}}\n");
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        snprintf(errstr, errstr_size, "daemon.ready_file %s: %s", path, strerror(errno));
        unlink(tmp);
        return LI_ERR_IO;
    }
    return LI_OK;
}

li_config *li_daemon_start(const char *program, int argc, char **argv, const char *usage,
                           int *sfd, int *status)
{
    li_config *cfg = li_config_new();
    if (!cfg || li_config_from_args(cfg, program, argc, argv, usage) != LI_OK) {
        li_config_free(cfg);
        *status = 2;
        return NULL;
    }
    /* Before any thread starts: every thread inherits the blocked signals. */
    if ((*sfd = li_daemon_signals()) < 0) {
        li_log_error("signalfd failed");
        li_config_free(cfg);
        *status = 1;
        return NULL;
    }
    return cfg;
}
