/* MSRP path handling of limf-msrp-relay for one relayed hop (RFC 4976 section 7,
 * RFC 4975 section 7.1.1): what To-Path and From-Path a message carries when the relay
 * forwards it from one leg to the other. Pure: no I/O, no logging. */
#ifndef MSRP_RELAY_PATH_H
#define MSRP_RELAY_PATH_H

#include "li_bytes.h"
#include "li_msrp.h"

typedef enum msrp_relay_paths_mode {
    /* RFC 4976: pop the relay's URI from the front of To-Path, push the relay's URI of
     * the outgoing leg onto the front of From-Path. */
    MSRP_RELAY_PATHS_RFC4976 = 0,
    /* Back-to-back (an IMS-ALG that gives each endpoint only the relay's URI): To-Path
     * becomes the reserved path of the far endpoint, From-Path the relay's own URI. */
    MSRP_RELAY_PATHS_B2BUA = 1
} msrp_relay_paths_mode;

/* One direction of a relayed session. Every string is owned by the caller. */
typedef struct msrp_relay_hop {
    msrp_relay_paths_mode mode;
    li_msrp_str session_id;  /* the relay's session-id: a To-Path URI with it is the relay */
    li_msrp_str own_out;     /* the relay's URI on the leg the message leaves by */
    li_msrp_str peer_path;   /* the reserved path of the endpoint on that leg */
} msrp_relay_hop;

/* Writes the new To-Path and From-Path values of msg into scratch (reset first) and
 * points *to_path and *from_path into it (valid until scratch changes).
 * LI_ERR_NOT_FOUND when the first To-Path URI is not the relay's (RFC 4976 section
 * 7.3: the relay answers such a request with 481); LI_ERR_PROTO when a To-Path URI is
 * malformed. In RFC 4976 mode a To-Path that names only the relay is completed with
 * the far endpoint's reserved path, so that endpoints given the relay's URI alone work. */
li_err msrp_relay_paths(const msrp_relay_hop *hop, const li_msrp_msg *msg, li_buf *scratch,
                        li_msrp_str *to_path, li_msrp_str *from_path);

#endif
