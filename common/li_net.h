/* Socket addresses, listeners and outgoing TCP connections from "host:port" text (parsed
 * by li_hostport under the caller's rules). */
#ifndef LI_NET_H
#define LI_NET_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "li_err.h"
#include "li_hostport.h"

/* hp's address into ss: a literal as is, a name through the resolver (its first
 * address), an empty host as every local address (passive, for a listener). */
li_err li_net_resolve(const li_hostport *hp, struct sockaddr_storage *ss, socklen_t *len);
/* Parses text under flags (LI_HOSTPORT_*) and resolves it. LI_ERR_INVAL with the reason
 * in errstr; what the message names is `what` (a configuration key, for example). */
li_err li_net_address(const char *text, unsigned flags, const char *what,
                      struct sockaddr_storage *ss, socklen_t *len, char *errstr,
                      size_t errstr_size);
/* The port of an IPv4 or IPv6 address, in host order. */
uint16_t li_net_port(const struct sockaddr_storage *ss);

enum { LI_NET_NONBLOCK = 1 };   /* li_net_listen option: a non-blocking socket */

/* A listening socket (SO_REUSEADDR, close-on-exec) on ss; *fd and *port (the bound one:
 * port 0 asks the system for one) on LI_OK, LI_ERR_IO otherwise. */
li_err li_net_listen_at(const struct sockaddr_storage *ss, socklen_t len, int backlog,
                        unsigned options, int *fd, uint16_t *port, char *errstr,
                        size_t errstr_size);
/* li_net_address() then li_net_listen_at(), with flags LI_HOSTPORT_PORT0 added. */
li_err li_net_listen(const char *text, unsigned flags, const char *what, int backlog,
                     unsigned options, int *fd, uint16_t *port, char *errstr,
                     size_t errstr_size);

/* A listening Unix stream socket (close-on-exec) at path, its file given `mode` before
 * it listens. A socket file left by a process that died is replaced; one that answers
 * (a running daemon's) or a file that is not a socket is refused. *fd on LI_OK (the
 * caller unlinks path when it closes it); LI_ERR_INVAL or LI_ERR_IO with the reason,
 * naming `what`, in errstr. */
li_err li_net_listen_unix(const char *path, mode_t mode, int backlog, unsigned options,
                          const char *what, int *fd, char *errstr, size_t errstr_size);

/* A non-blocking TCP connection (TCP_NODELAY) to host:port, trying each address of a
 * name in turn until deadline_ns (li_mono_ns() time). When cancel is not NULL and becomes
 * set, gives up within 250 ms with LI_ERR_CLOSED. LI_ERR_TIMEOUT, LI_ERR_IO (reason in
 * errstr) otherwise. */
li_err li_net_connect(const char *host, uint16_t port, uint64_t deadline_ns,
                      const atomic_int *cancel, int *fd, char *errstr, size_t errstr_size);

#endif
