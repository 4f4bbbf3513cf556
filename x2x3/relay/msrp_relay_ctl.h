/* The relay's control API (docs/POI-RELAY.md): HTTP/JSON over a Unix socket, for the
 * IMS-ALG that reserves the relay's sessions. Only local processes whose peer
 * credentials (SO_PEERCRED: uid, gid of the connecting process) are allowed by
 * configuration are served; any other connection is closed before a byte is read.
 * It drives the engine through msrp_relay.h only and runs inside the engine's loop
 * (msrp_relay_watch), so it needs no locks. */
#ifndef MSRP_RELAY_CTL_H
#define MSRP_RELAY_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "li_config.h"
#include "msrp_relay.h"

typedef struct msrp_relay_ctl msrp_relay_ctl;

/* Listens on relay.control.socket (required; a stale socket file is replaced, a live
 * one refused), mode 0660, admitting relay.control.allow_uids and
 * relay.control.allow_gids (comma-separated names or numbers; default: the relay's own
 * uid). relay is not owned and must outlive the control API; cfg too.
 * NULL with a reason in errstr. */
msrp_relay_ctl *msrp_relay_ctl_new(msrp_relay *relay, const li_config *cfg, char *errstr,
                                   size_t errstr_size);

/* The socket's path (owned by the configuration). */
const char *msrp_relay_ctl_path(const msrp_relay_ctl *ctl);

/* Connections refused by their peer credentials since start (an operator's alarm: a
 * local process tried to drive the relay). Any thread (the /metrics one): an atomic
 * counter. */
uint64_t msrp_relay_ctl_refused(const msrp_relay_ctl *ctl);

/* Closes every control connection and removes the socket file. NULL no-op. */
void msrp_relay_ctl_free(msrp_relay_ctl *ctl);

#endif
