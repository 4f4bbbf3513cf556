/* The tap of limf-msrp-relay (docs/PRINCIPLES.md 2): for a session whose served user matches
 * active X1 tasks, copies every MSRP message to X3 (payload format 13) and reports
 * session events over X2 (format 4, x2x3_event.h), one correlation ID per session.
 * The senders copy and never block, so tapping never delays the relayed bytes; a
 * refused record is counted, never retried on the relay's time. */
#ifndef MSRP_RELAY_TAP_H
#define MSRP_RELAY_TAP_H

#include <stddef.h>
#include <stdint.h>

#include "li_ident.h"
#include "x1_ne.h"
#include "msrp_relay_req.h"
#include "x2x3_router.h"

#define MSRP_RELAY_TAP_MAX_MATCHES 16

typedef struct msrp_relay_tap {
    x1_ne *ne;                 /* not owned; NULL: never tapped */
    x2x3_router *router;       /* not owned; NULL: never tapped */
    char session_id[64];
    uint64_t correlation_id;
    char targets[MSRP_RELAY_MAX_TARGETS][LI_IDENT_MAX];
    size_t n_targets;
    uint64_t generation;       /* x1_ne_generation() at the last match */
    int matched_once;
    x1_ne_match matches[MSRP_RELAY_TAP_MAX_MATCHES];
    size_t n_matches;
    x2x3_addr ue, relay;       /* the UE leg: the target's end and the relay's end */
    /* Events already reported, replayed to a task activated later in the session. */
    char ue_fingerprint[96];
    char network_fingerprint[96];
    int passthrough;
    char exception_id[64];
    char exception_fingerprint[96];
    char exception_peer[256];
    uint64_t x3_records;       /* X3 records handed to the router */
    uint64_t refused;          /* records refused (full, invalid or unrouted) */
} msrp_relay_tap;

/* Initialises the tap of one session: copies the targets, draws the correlation ID,
 * matches the tasks and reports "session-reserved" to the tasks that want X2. */
void msrp_relay_tap_init(msrp_relay_tap *tap, x1_ne *ne, x2x3_router *router,
                         const char *session_id, const char (*targets)[LI_IDENT_MAX],
                         size_t n_targets);

/* Matches again when the NE's tasks changed; a newly matching task is told the events
 * reported so far. Cheap when nothing changed. */
void msrp_relay_tap_refresh(msrp_relay_tap *tap);

/* 1 when at least one task matches (the caller then frames messages for X3). */
static inline int msrp_relay_tap_active(const msrp_relay_tap *tap) { return tap->n_matches > 0; }

/* Sets the UE leg's addresses (attributes 10-16 of every later record). */
void msrp_relay_tap_set_addrs(msrp_relay_tap *tap, const x2x3_addr *ue, const x2x3_addr *relay);

/* One MSRP message in the clear as the target sent (from_target 1) or received it. */
void msrp_relay_tap_msrp(msrp_relay_tap *tap, int from_target, const uint8_t *msg, size_t len);

/* TLS established on a leg ("ue" or "network") with the peer's certificate. */
void msrp_relay_tap_tls(msrp_relay_tap *tap, const char *leg, const uint8_t fingerprint[32]);

/* The session passes through under a certificate exception (docs/PRINCIPLES.md 6). */
void msrp_relay_tap_passthrough(msrp_relay_tap *tap, const x1_cert_exception *exc);

/* The session is released: "session-released" to the tasks that want X2. */
void msrp_relay_tap_released(msrp_relay_tap *tap);

/* Fills an x2x3_addr from a socket address (AF_INET or AF_INET6). */
void msrp_relay_addr_from_sockaddr(x2x3_addr *out, const void *sockaddr);

#endif
