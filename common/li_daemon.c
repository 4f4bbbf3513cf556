/* See li_daemon.h. */
#include "li_daemon.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "li_log.h"

int li_daemon_signals(void)
{
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
