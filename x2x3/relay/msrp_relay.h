/* limf-msrp-relay's engine: an MSRP relay (RFC 4975/4976) that anchors sessions
 * reserved over a loopback HTTP/JSON control API (docs/POI-RELAY.md), terminates the
 * UE's TLS with its own certificate, admits the UE only when its certificate matches
 * the reserved SDP fingerprint (RFC 8122), relays MSRP both ways without touching a
 * body, passes TLS through untouched for peers covered by a certificate exception,
 * and taps the sessions of tasked targets over X2/X3 (msrp_relay_tap.h).
 *
 * One thread runs everything (epoll, non-blocking sockets, the control API's li_httpd
 * server), so session state needs no locks; the X1 NE
 * and the X2/X3 senders run their own threads behind thread-safe calls. */
#ifndef MSRP_RELAY_H
#define MSRP_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "li_config.h"
#include "li_err.h"
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

/* Creates the relay: the control API listener, the TLS contexts. ne and router are not
 * owned and may be NULL (then nothing is tapped and no exception applies). Keys
 * (docs/POI-RELAY.md): relay.control.listen, relay.ue.listen_host,
 * relay.ue.advertise_host, relay.network.advertise_host, relay.ue.tls.cert/.key,
 * relay.network.tls.cert/.key/.ca, relay.tls_only, relay.max_message_bytes,
 * relay.max_sessions, relay.reserve_timeout_s, relay.connect_timeout_ms.
 * NULL with a reason in errstr. cfg must outlive the relay. */
msrp_relay *msrp_relay_new(const li_config *cfg, x1_ne *ne, x2x3_router *router,
                           char *errstr, size_t errstr_size);

/* The control API's TCP port. */
uint16_t msrp_relay_control_port(const msrp_relay *r);

/* Runs the event loop until stop_fd becomes readable (a signalfd or eventfd, not read
 * here). LI_ERR_IO when epoll itself fails. */
li_err msrp_relay_run(msrp_relay *r, int stop_fd);

void msrp_relay_stats_get(const msrp_relay *r, msrp_relay_stats *out);

/* Releases every session (reporting them released), closes everything. NULL no-op. */
void msrp_relay_free(msrp_relay *r);

#endif
