/* The control API's session reservation (docs/POI-RELAY.md): the JSON body of
 * POST /v1/sessions, validated whole into a plain struct before the relay acts on it.
 * Parsing only: no sockets, no TLS. */
#ifndef MSRP_RELAY_REQ_H
#define MSRP_RELAY_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "li_err.h"
#include "li_ident.h"
#include "msrp_relay_path.h"

#define MSRP_RELAY_MAX_TARGETS 8
#define MSRP_RELAY_PATH_MAX 1024

typedef enum msrp_relay_mode {
    MSRP_RELAY_AGW = 0,   /* IMS access gateway: UE leg TLS, network leg as its URI says */
    MSRP_RELAY_AS = 1     /* application server: each leg TLS or TCP */
} msrp_relay_mode;

typedef struct msrp_relay_req {
    msrp_relay_mode mode;
    int cema;                        /* RFC 6714: relay transparently, paths untouched */
    msrp_relay_paths_mode paths;
    int hop_responses;               /* RFC 4976: answer SENDs per hop, absorb the next
                                        hop's answers (default: relay them end to end) */
    int tls_only;                    /* refuse any leg that is not TLS */
    struct {
        int tls;
        int has_fingerprint;
        uint8_t fingerprint[32];     /* SHA-256 of the UE's certificate (SDP a=fingerprint) */
        int passive;                 /* a=setup:passive: the relay connects to the UE */
        char path[MSRP_RELAY_PATH_MAX];   /* the UE's a=path */
        char host[256];              /* first URI of path: where a passive UE listens */
        uint16_t port;
    } ue;
    struct {
        char path[MSRP_RELAY_PATH_MAX];   /* next hop and beyond (the far a=path) */
        char host[256];              /* first URI of path: where the relay connects */
        uint16_t port;
        int tls;                     /* msrps: */
        int has_fingerprint;
        uint8_t fingerprint[32];     /* the far peer's a=fingerprint, when TLS */
    } network;
    char targets[MSRP_RELAY_MAX_TARGETS][LI_IDENT_MAX];   /* canonical (li_ident_canon) */
    size_t n_targets;
} msrp_relay_req;

/* Parses and validates a reservation. tls_only_policy forces tls_only (the relay's own
 * configuration). LI_ERR_INVAL with the reason in errstr (for a 400 answer). */
li_err msrp_relay_req_parse(const char *json, size_t len, int tls_only_policy,
                            msrp_relay_req *out, char *errstr, size_t errstr_size);

/* Parses an SDP fingerprint value "sha-256 AB:CD:..." (RFC 8122 section 5; only
 * sha-256, the hash limf's TLS pins use). LI_ERR_PROTO when malformed or another hash. */
li_err msrp_relay_fingerprint_parse(const char *text, uint8_t out[32]);

#endif
