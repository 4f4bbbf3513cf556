/* X1 client (the ADMF side of ETSI TS 103 221-1): each call sends one X1Request over
 * HTTPS POST with mutual TLS to an NE and waits for its X1Response.
 *
 * ne_url is "https://host:port/path" (the path is /X1/NE for limf's POIs; IPv6 hosts in
 * brackets); ne_id is the neIdentifier the request names. A client may be shared by
 * threads: each call opens its own connection.
 *
 * Every call returns:
 *   LI_OK             the NE answered OK (or with the details asked for);
 *   LI_ERR_IO, LI_ERR_TLS, LI_ERR_TIMEOUT
 *                     the NE was not reachable, refused the TLS session (certificates),
 *                     closed the connection or did not answer in time: retry later;
 *                     LI_ERR_TLS also when the NE's certificate does not match the one
 *                     pinned for it with x1_client_pin() (the request was not sent);
 *   LI_ERR_NOT_FOUND  the NE does not know the XID, DID or object named (TS 103 221-1
 *                     error 2020, 2040, 2060);
 *   LI_ERR_CONFLICT   the NE already has that XID, DID or object (2010, 2030, 2050;
 *                     ActivateTask of an existing XID, ...): a ModifyTask brings it in
 *                     line;
 *   LI_ERR_PROTO      any other ErrorResponse, or an answer that is not X1;
 *   LI_ERR_INVAL      a bad argument (malformed URL, task without targets, ...).
 * errstr receives a human-readable reason on failure; for an ErrorResponse it holds
 * "X1 error <errorCode>: <errorDescription>". 512 bytes hold every reason (a pin mismatch
 * quotes two fingerprints). */
#ifndef X1_CLIENT_H
#define X1_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "li_config.h"
#include "li_err.h"
#include "x1_msg.h"

typedef struct x1_client x1_client;

/* Creates a client from configuration:
 *   <prefix>.tls.cert/.key/.ca/.pins/.peer_name  own certificate (role admf) and the
 *       trust for the NEs (li_tls_opts_from_config); without .peer_name the NE's
 *       certificate must name the URL's host when it is verified by the CA;
 *   <prefix>.admf_id     admfIdentifier sent in every request (default "limf-admf");
 *   <prefix>.timeout_ms  connect + TLS + request + answer budget (default 5000);
 *   <prefix>.max_response_bytes  largest answer accepted (default 16 MiB).
 * Returns NULL with a reason in errstr. The caller frees it with x1_client_free(). */
x1_client *x1_client_new(const li_config *cfg, const char *prefix, char *errstr,
                         size_t errstr_size);
/* NULL is a no-op. */
void x1_client_free(x1_client *c);

/* Pins the X1 server certificate of the NE named ne_id (the neIdentifier the calls
 * below pass; the ADMF: the POI's id and its registered cert_sha256). From then on every
 * call naming ne_id, after the TLS handshake (which still verifies the certificate by
 * <prefix>.tls.ca or .pins and the name, as without a pin) and before anything is sent,
 * checks that the SHA-256 of the NE's leaf certificate (DER) equals cert_sha256; on a
 * mismatch the call sends nothing and fails with LI_ERR_TLS and "certificate of <ne_id>
 * does not match its registered cert_sha256: got <AB:..>, want <CD:..>" in errstr.
 * cert_sha256 NULL removes the pin (the NE is then checked by CA/pins and name only).
 * Safe while other threads call (a call in progress keeps the pin it started with); ids
 * are copied. LI_ERR_INVAL without ne_id, LI_ERR_NOMEM. */
li_err x1_client_pin(x1_client *c, const char *ne_id, const uint8_t cert_sha256[32]);

/* ActivateTaskRequest / ModifyTaskRequest with the task (read only). */
li_err x1_client_activate(x1_client *c, const char *ne_url, const char *ne_id,
                          const x1_task *task, char *errstr, size_t errstr_size);
li_err x1_client_modify(x1_client *c, const char *ne_url, const char *ne_id,
                        const x1_task *task, char *errstr, size_t errstr_size);
/* DeactivateTaskRequest. */
li_err x1_client_deactivate(x1_client *c, const char *ne_url, const char *ne_id,
                            const uint8_t xid[16], char *errstr, size_t errstr_size);
/* The XIDs of every task the NE holds: ListAllDetailsRequest, or GetAllDetailsRequest
 * when the NE answers that it does not implement ListAllDetails. Up to max XIDs are
 * written to xids (caller-owned); *n receives the number the NE listed, which may
 * exceed max (then only the first max are stored). */
li_err x1_client_list_tasks(x1_client *c, const char *ne_url, const char *ne_id,
                            uint8_t (*xids)[16], size_t max, size_t *n, char *errstr,
                            size_t errstr_size);
/* What an NE holds, by identifier (x1_client_list_all). The caller sets the arrays
 * (NULL with max 0 when not wanted) and their max; n_* receive the numbers the NE
 * listed, which may exceed max (then only the first max are stored). */
typedef struct x1_listing {
    uint8_t (*xids)[16];
    size_t xids_max, n_xids;
    uint8_t (*dids)[16];
    size_t dids_max, n_dids;
    char (*object_ids)[64];
    size_t object_ids_max, n_object_ids;
} x1_listing;
/* The XIDs, DIDs and GenericObject IDs the NE holds, as x1_client_list_tasks asks for
 * them: for an ADMF's reconciliation, which removes what it did not create. */
li_err x1_client_list_all(x1_client *c, const char *ne_url, const char *ne_id,
                          x1_listing *out, char *errstr, size_t errstr_size);
/* GetTaskDetailsRequest: the task as the NE holds it, into *out (caller-owned). */
li_err x1_client_get_task(x1_client *c, const char *ne_url, const char *ne_id,
                          const uint8_t xid[16], x1_task *out, char *errstr,
                          size_t errstr_size);
/* CreateDestinationRequest: X2/X3 of the given delivery type (what the destination
 * accepts) to address ("host:port" of limf-ingest). */
li_err x1_client_create_destination(x1_client *c, const char *ne_url, const char *ne_id,
                                    const uint8_t did[16], const char *address,
                                    x1_delivery delivery, char *errstr, size_t errstr_size);
/* ModifyDestinationRequest: the destination did now delivers to address. */
li_err x1_client_modify_destination(x1_client *c, const char *ne_url, const char *ne_id,
                                    const uint8_t did[16], const char *address,
                                    x1_delivery delivery, char *errstr, size_t errstr_size);
/* RemoveDestinationRequest. */
li_err x1_client_remove_destination(x1_client *c, const char *ne_url, const char *ne_id,
                                    const uint8_t did[16], char *errstr, size_t errstr_size);
/* CreateObjectRequest / DeleteObjectRequest for a certificate exception. */
li_err x1_client_create_exception(x1_client *c, const char *ne_url, const char *ne_id,
                                  const x1_cert_exception *exc, char *errstr,
                                  size_t errstr_size);
li_err x1_client_delete_exception(x1_client *c, const char *ne_url, const char *ne_id,
                                  const char *id, char *errstr, size_t errstr_size);
/* KeepaliveRequest / PingRequest. */
li_err x1_client_keepalive(x1_client *c, const char *ne_url, const char *ne_id,
                           char *errstr, size_t errstr_size);
li_err x1_client_ping(x1_client *c, const char *ne_url, const char *ne_id, char *errstr,
                      size_t errstr_size);

#endif
