/* limf-msrp-relay's engine: an MSRP relay (RFC 4975/4976) that anchors sessions
 * reserved through its control API (msrp_relay_ctl.h, docs/POI-RELAY.md), terminates the
 * UE's TLS with its own certificate, admits the UE only when its certificate matches
 * the reserved SDP fingerprint (RFC 8122), relays MSRP both ways without touching a
 * body, passes TLS through untouched for peers covered by a certificate exception,
 * and taps the sessions of tasked targets over X2/X3 (msrp_relay_tap.h).
 *
 * One thread runs everything (epoll, non-blocking sockets, the control API's sockets
 * through msrp_relay_watch), so session state needs no locks; the X1 NE and the X2/X3
 * senders run their own threads behind thread-safe calls. */
#ifndef MSRP_RELAY_H
#define MSRP_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "li_config.h"
#include "li_err.h"
#include "msrp_relay_req.h"
#include "x1_ne.h"
#include "x2x3_router.h"

typedef struct msrp_relay msrp_relay;

typedef struct msrp_relay_stats {
    uint64_t sessions_reserved;
    uint64_t sessions_active;
    uint64_t sessions_refused;      /* reservations refused (400/503) */
    uint64_t tls_refused;           /* UE or network handshakes refused (fingerprint) */
    uint64_t messages_relayed;      /* MSRP messages (or chunks) forwarded */
    uint64_t bytes_relayed;         /* bytes written to either leg, passthrough included */
    uint64_t messages_tapped;       /* X3 records handed to the router */
    uint64_t tap_refused;           /* records refused (buffer full, or no route) */
    uint64_t passthrough_sessions;
} msrp_relay_stats;

/* One leg of a session as the control API reports it. */
typedef struct msrp_relay_leg_info {
    const char *state;              /* "idle", "connecting", "handshake", "open", "closed" */
    uint64_t messages_in, bytes_in;
} msrp_relay_leg_info;

/* A session as the control API reports it: what the IMS-ALG writes into the SDP. It
 * never tells whether the session is tapped (interception stays invisible to the
 * signalling side). */
typedef struct msrp_relay_session_info {
    char id[32];                    /* also the relay's MSRP session-id */
    char relay_uri[MSRP_RELAY_PATH_MAX / 2];     /* the relay's URI towards the UE */
    char ue_path[2 * MSRP_RELAY_PATH_MAX];       /* a=path for the SDP towards the UE */
    char network_path[2 * MSRP_RELAY_PATH_MAX];  /* a=path for the SDP towards the network */
    char fingerprint[112];          /* "sha-256 AB:..": a=fingerprint for the UE's SDP */
    uint16_t ue_port;
    int passthrough, cema;
    msrp_relay_mode mode;
    msrp_relay_leg_info ue, network;
} msrp_relay_session_info;

/* Creates the relay and its TLS contexts. ne and router are not owned and may be NULL
 * (then nothing is tapped and no exception applies). Keys (docs/POI-RELAY.md):
 * relay.ue.listen_host,
 * relay.ue.advertise_host, relay.network.advertise_host, relay.ue.tls.cert/.key,
 * relay.network.tls.cert/.key/.ca, relay.tls_only, relay.max_message_bytes,
 * relay.max_sessions, relay.reserve_timeout_s, relay.connect_timeout_ms.
 * NULL with a reason in errstr. cfg must outlive the relay. */
msrp_relay *msrp_relay_new(const li_config *cfg, x1_ne *ne, x2x3_router *router,
                           char *errstr, size_t errstr_size);

/* Reserves a session from the JSON body of a reservation (msrp_relay_req.h) and
 * describes it into out. LI_ERR_INVAL: malformed or refused by policy (errstr says why);
 * LI_ERR_FULL: relay.max_sessions reached; LI_ERR_IO / LI_ERR_NOMEM: no resources. */
li_err msrp_relay_reserve(msrp_relay *r, const char *body, size_t len,
                          msrp_relay_session_info *out, char *errstr, size_t errstr_size);
/* Describes a reserved session. LI_ERR_NOT_FOUND when there is none by that id. */
li_err msrp_relay_session_get(const msrp_relay *r, const char *id, msrp_relay_session_info *out);
/* Calls fn with the id of every reserved session. */
void msrp_relay_session_each(const msrp_relay *r, void (*fn)(const char *id, void *ctx),
                             void *ctx);
/* Releases a session (both legs closed, the release reported). LI_ERR_NOT_FOUND. */
li_err msrp_relay_release(msrp_relay *r, const char *id);

/* Has the relay's loop call run(ctx) whenever fd is readable and on every tick (100 ms:
 * the timers of whatever owns fd). fd stays the caller's; at most 4 are watched.
 * LI_ERR_FULL, LI_ERR_IO (epoll). */
li_err msrp_relay_watch(msrp_relay *r, int fd, void (*run)(void *ctx), void *ctx);
/* Stops watching fd (before the caller closes it). */
void msrp_relay_unwatch(msrp_relay *r, int fd);

/* Runs the event loop until stop_fd becomes readable (a signalfd or eventfd, not read
 * here). LI_ERR_IO when epoll itself fails. */
li_err msrp_relay_run(msrp_relay *r, int stop_fd);

void msrp_relay_stats_get(const msrp_relay *r, msrp_relay_stats *out);

/* Releases every session (reporting them released), closes everything. NULL no-op. */
void msrp_relay_free(msrp_relay *r);

#endif
