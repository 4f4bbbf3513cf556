/* Internals of the relay engine (msrp_relay.c); the control API sees only the
 * interface of msrp_relay.h. Everything here is touched only by the relay's one thread. */
#ifndef MSRP_RELAY_INT_H
#define MSRP_RELAY_INT_H

#include <openssl/ssl.h>
#include <stdint.h>
#include <sys/socket.h>

#include "li_bytes.h"
#include "li_conn.h"
#include "li_msrp.h"
#include "msrp_relay.h"
#include "msrp_relay_path.h"
#include "msrp_relay_req.h"
#include "msrp_relay_tap.h"

/* What an epoll event points at. */
typedef enum relay_kind {
    RELAY_EV_STOP = 1,
    RELAY_EV_WATCH,
    RELAY_EV_LISTEN,
    RELAY_EV_CONN
} relay_kind;

typedef struct relay_ev {
    relay_kind kind;
} relay_ev;

typedef enum relay_leg { RELAY_LEG_UE = 0, RELAY_LEG_NET = 1 } relay_leg;

typedef enum relay_conn_state {
    CONN_IDLE = 0,       /* no socket yet */
    CONN_CONNECTING,     /* non-blocking connect() in progress */
    CONN_HANDSHAKE,      /* TLS handshake */
    CONN_OPEN,
    CONN_CLOSED
} relay_conn_state;

typedef struct relay_session relay_session;

typedef struct relay_conn {
    relay_ev ev;
    relay_session *s;
    relay_leg leg;
    relay_conn_state state;
    li_conn io;                 /* io.ssl is NULL for TCP and for passthrough */
    int active;                 /* the relay connected (TLS client) */
    uint32_t events;            /* epoll interest registered */
    int want_read_for_write;    /* SSL_write needs the socket readable */
    int want_write_for_read;    /* SSL_read needs the socket writable */
    int close_after_flush;      /* the other leg ended: close once out is written */
    int tap_broken;             /* CEMA: unframeable bytes, this leg is no longer tapped */
    int has_expected_fp;
    uint8_t expected_fp[32];    /* the peer must present this certificate */
    li_buf in;                  /* received, not yet framed */
    li_buf out;                 /* to write */
    li_msrp_parser parser;
    struct sockaddr_storage local, peer;
    uint64_t connect_deadline_ns;
    uint64_t retry_at_ns;       /* next connect attempt while the peer is not up */
    uint64_t messages_in, bytes_in;
} relay_conn;

struct relay_session {
    relay_ev listen_ev;
    relay_session *next, *prev;
    char id[32];                /* also the relay's MSRP session-id */
    msrp_relay_req req;
    int listen_fd;
    uint16_t port;
    int passthrough;
    x1_cert_exception exception;
    char own_ue[MSRP_RELAY_PATH_MAX / 2];    /* the relay's URI towards the UE */
    char own_net[MSRP_RELAY_PATH_MAX / 2];   /* the relay's URI towards the network */
    char ue_sdp_path[2 * MSRP_RELAY_PATH_MAX];   /* a=path for the SDP towards the UE */
    char net_sdp_path[2 * MSRP_RELAY_PATH_MAX];  /* a=path for the SDP towards the network */
    relay_conn conn[2];
    msrp_relay_hop hop[2];      /* hop[leg]: messages leaving by that leg */
    msrp_relay_tap tap;
    uint64_t reserved_ns;       /* CLOCK_MONOTONIC */
    uint64_t ue_deadline_ns;    /* the UE must be connected by then */
    int ended;
};

#define RELAY_MAX_WATCH 4

/* A file descriptor of another part of the daemon (msrp_relay_watch). */
typedef struct relay_watch {
    relay_ev ev;
    int fd;                     /* -1: free slot */
    void (*run)(void *ctx);
    void *ctx;
} relay_watch;

struct msrp_relay {
    const li_config *cfg;
    x1_ne *ne;
    x2x3_router *router;
    int epfd;
    relay_ev stop_ev;
    relay_watch watch[RELAY_MAX_WATCH];
    SSL_CTX *ue_server_ctx, *ue_client_ctx, *net_ctx;
    int net_have_ca;
    char fingerprint[96];       /* the UE-facing certificate, RFC 8122 form */
    const char *ue_listen_host, *ue_advertise_host, *net_advertise_host;
    int tls_only;
    size_t max_message_bytes;
    size_t max_sessions;
    uint64_t reserve_timeout_ns, connect_timeout_ns;
    relay_session *sessions;
    size_t n_sessions;
    relay_session *graveyard;   /* released, freed after the current epoll batch */
    li_buf scratch;             /* path rewriting */
    msrp_relay_stats stats;
};

#endif
