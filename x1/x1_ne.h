/* X1 network-element library (the POI side of ETSI TS 103 221-1): an HTTPS server with
 * mutual TLS that answers X1Requests from the ADMF and keeps the NE's table of tasks,
 * destinations and certificate exceptions. The POI asks it which tasks match an identity
 * and whether a certificate exception covers a peer; every function is thread-safe.
 *
 * Requests are validated whole before anything changes (TS 103 221-1 clause 6.3: an
 * ActivateTask naming an unknown DID, an existing XID, or a target that is not an
 * identity is refused with an ErrorResponse carrying the standard's error code, table
 * 6.7-3; see docs/X1.md). */
#ifndef X1_NE_H
#define X1_NE_H

#include <stddef.h>
#include <stdint.h>

#include "li_config.h"
#include "li_err.h"
#include "x1_msg.h"

typedef struct x1_ne x1_ne;

/* One task that matched an identity. target is the task's target that matched, as
 * "type:value" text (for X2/X3 attribute 17), e.g. "sip-uri:sip:alice@example.com". */
typedef struct x1_ne_match {
    uint8_t xid[16];
    uint8_t dids[X1_MAX_DIDS][16]; /* the task's destinations: where its X2/X3 goes */
    size_t n_dids;
    x1_delivery delivery;
    char target[272];
} x1_ne_match;

/* Starts the server. Keys:
 *   <prefix>.listen   host:port to listen on (port 0: any free port; default
 *                     127.0.0.1:0; IPv6 hosts in brackets);
 *   <prefix>.tls.cert/.key/.ca/.pins  own certificate (roles relay-agw, siptap,
 *                     poi-test) and the trust for the ADMF's client certificate, which
 *                     is demanded (li_tls_opts_from_config);
 *   <prefix>.allowed_clients  comma-separated certificate names (CN, else first DNS
 *                     SAN) that may task this NE, normally "admf". Required unless the
 *                     ADMF is pinned by fingerprint alone (.tls.pins without .tls.ca):
 *                     the NE refuses to start when any certificate of a CA could task it;
 *   <prefix>.ne_id    this NE's neIdentifier (default "limf-ne"); requests naming
 *                     another NE are refused;
 *   <prefix>.admf_id  the admfIdentifier accepted (default: any);
 *   <prefix>.max_request_bytes  largest request body (default 1 MiB);
 *   <prefix>.max_tasks, .max_destinations, .max_exceptions  table sizes (default 65536,
 *                     1024, 65536);
 *   <prefix>.max_connections  connections served at once, each by a thread of its own,
 *                     once their TLS handshake is done (default 16);
 *   <prefix>.idle_timeout_ms  a connection silent this long is closed (default 30000);
 *   <prefix>.handshake_timeout_ms  a connection whose TLS handshake (the client
 *                     certificate included) is not done by then is closed (default 5000);
 *   <prefix>.max_handshakes  connections in their handshake at once, driven by one
 *                     thread without a slot each; when full, the oldest is dropped for
 *                     the new one (default 256);
 *   <prefix>.max_handshakes_per_address  of which from one IP address (default 8).
 * Connections that have not authenticated thus never hold a connection slot: the slots
 * are the ADMF's (allowed_clients), which keeps them while a flood of idle or slow
 * connections is dropped (issue 15 item 6).
 * Returns NULL with a reason in errstr. The caller frees it with x1_ne_free(). */
x1_ne *x1_ne_new(const li_config *cfg, const char *prefix, char *errstr, size_t errstr_size);
/* Stops the server (closes every connection) and frees the tables. NULL is a no-op. */
void x1_ne_free(x1_ne *ne);

/* The TCP port the server listens on. */
uint16_t x1_ne_port(x1_ne *ne);

/* Writes up to max tasks whose targets match canon_identity (a canonical identity from
 * li_ident_canon()) into out (caller-owned); returns how many matched, which may exceed
 * max. Each task is reported once, with the first target that matched. */
size_t x1_ne_match_identity(x1_ne *ne, const char *canon_identity, x1_ne_match *out,
                            size_t max);

/* 1 when an unexpired certificate exception covers the peer certificate fingerprint
 * and the peer (host or URI, compared case-insensitively). A NULL argument is not
 * compared, every other one must match; both NULL never match; an exception with an
 * empty peer covers any peer with its fingerprint. The exception is copied into *out when out is not
 * NULL. Expired exceptions are dropped by themselves. */
int x1_ne_find_exception(x1_ne *ne, const uint8_t fingerprint[32], const char *peer,
                         x1_cert_exception *out);

/* A counter that changes whenever a task, destination or exception is added, changed,
 * removed or expires: POIs cache their matches and look again when it moves. */
uint64_t x1_ne_generation(x1_ne *ne);

/* What changed, for the optional change callback. */
typedef enum x1_ne_change_kind {
    X1_NE_TASK_ACTIVATED = 1,
    X1_NE_TASK_MODIFIED,
    X1_NE_TASK_DEACTIVATED,
    X1_NE_DESTINATION_CHANGED, /* created, modified or removed */
    X1_NE_EXCEPTION_CREATED,
    X1_NE_EXCEPTION_MODIFIED,
    X1_NE_EXCEPTION_DELETED,
    X1_NE_EXCEPTION_EXPIRED
} x1_ne_change_kind;

typedef struct x1_ne_change {
    x1_ne_change_kind kind;
    uint8_t id[16];          /* the XID of a task change, the DID of a destination change */
    char object_id[64];      /* the exception's id of an exception change */
    uint64_t generation;     /* x1_ne_generation() after the change */
} x1_ne_change;

/* Registers fn (NULL: none) to be called after every change, from the X1 server's
 * threads and outside its locks, so fn may call the functions above; ctx is passed
 * through. Polling x1_ne_generation() is the alternative. */
void x1_ne_on_change(x1_ne *ne, void (*fn)(void *ctx, const x1_ne_change *change),
                     void *ctx);

/* Counters since x1_ne_new(), for a POI's /metrics. */
typedef struct x1_ne_stats {
    uint64_t messages;          /* X1 request messages answered */
    uint64_t error_responses;   /* of which answered with an ErrorResponse */
    uint64_t bad_documents;     /* documents answered with an X1TopLevelErrorResponse */
    uint64_t tls_failures;      /* connections that failed the TLS handshake */
    uint64_t refused_clients;   /* trusted certificates not in allowed_clients (403) */
    uint64_t refused_connections; /* turned away: every connection slot busy, too many
                                   * handshakes from one address, or the oldest
                                   * handshake dropped for a newer one */
    uint64_t handshake_timeouts;  /* handshakes not done within handshake_timeout_ms */
    size_t tasks, destinations, exceptions; /* table sizes now */
} x1_ne_stats;

void x1_ne_stats_get(x1_ne *ne, x1_ne_stats *out);

/* Copies the task with this XID into *out; LI_ERR_NOT_FOUND when there is none. */
li_err x1_ne_get_task(x1_ne *ne, const uint8_t xid[16], x1_task *out);
/* Copies the destination with this DID into *out; LI_ERR_NOT_FOUND when there is none. */
li_err x1_ne_get_destination(x1_ne *ne, const uint8_t did[16], x1_destination *out);
/* Writes up to max destinations into out (caller-owned); returns how many the NE holds,
 * which may exceed max. */
size_t x1_ne_list_destinations(x1_ne *ne, x1_destination *out, size_t max);
/* Number of tasks held. */
size_t x1_ne_task_count(x1_ne *ne);

#endif
