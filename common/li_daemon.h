/* The skeleton every limf daemon shares: how it learns it must stop, and how it tells a
 * supervisor (or a test) that it serves and on which ports.
 *
 * Signals: SIGINT and SIGTERM are blocked in the calling thread, before any other thread
 * starts (threads inherit the mask), and read from a signalfd; SIGPIPE is ignored, so a
 * peer that vanishes mid-write gives EPIPE instead of killing the daemon.
 *
 * Ready file: when `daemon.ready_file` is set, the daemon writes there, once every
 * listener is bound, one JSON object naming each port it listens on (0 for a listener
 * that is disabled) and, when it has any, each Unix socket it listens on:
 *   {"pid":1234,"ports":{"x1":40001,"metrics":40002}}
 *   {"pid":1234,"ports":{"x1":40001,"metrics":40002},"sockets":{"control":"/run/r.ctl"}}
 * The file is written beside its final name and renamed, so a reader never sees it
 * half-written. */
#ifndef LI_DAEMON_H
#define LI_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "li_config.h"
#include "li_err.h"

/* The start of every daemon. First the hardening (docs/SECURITY.md, "Traces outside LI"):
 * umask 077, so that every file the daemon creates (LEMF output, ready files, keys) is
 * readable by its user only; no core dumps: RLIMIT_CORE 0 and PR_SET_DUMPABLE 0 (a dump
 * would hold keys, tokens and intercepted content; a non-dumpable process also cannot
 * be read through ptrace or /proc/<pid>/mem by another process of the same user).
 * Then blocks SIGINT and SIGTERM, ignores SIGPIPE and returns a non-blocking signalfd
 * that becomes readable when one of them arrives; -1 (errno set) when it cannot. Call
 * before any thread starts. The caller closes it. */
int li_daemon_signals(void);

/* The prologue of a daemon's main: its configuration from the command line (program and
 * usage as li_config_from_args takes them), then li_daemon_signals(). Returns the
 * configuration (the caller frees it) with the signalfd in *sfd, or NULL with the exit
 * status in *status: 2 for bad arguments, 1 when the signals cannot be set up (logged). */
li_config *li_daemon_start(const char *program, int argc, char **argv, const char *usage,
                           int *sfd, int *status);

/* Waits up to timeout_ms (0: not at all) for a stop signal on sfd; 1 when one arrived
 * (it is consumed and logged), 0 otherwise. */
int li_daemon_stop_requested(int sfd, int timeout_ms);

/* One listener of the ready file: its name and the port bound. */
typedef struct li_daemon_port {
    const char *name;
    uint16_t port;
} li_daemon_port;

/* A Unix socket listener of the ready file: its name and its path. */
typedef struct li_daemon_socket {
    const char *name;
    const char *path;
} li_daemon_socket;

/* Writes the ready file when `daemon.ready_file` is set (nothing otherwise). LI_ERR_IO
 * with a reason in errstr when it cannot. */
li_err li_daemon_ready(const li_config *cfg, const li_daemon_port *ports, size_t n_ports,
                       char *errstr, size_t errstr_size);
/* The same, naming Unix sockets too (the "sockets" object, left out when n_sockets is 0). */
li_err li_daemon_ready_sockets(const li_config *cfg, const li_daemon_port *ports,
                               size_t n_ports, const li_daemon_socket *sockets,
                               size_t n_sockets, char *errstr, size_t errstr_size);

#endif
