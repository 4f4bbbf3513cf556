/* The ADMF's operator REST API over HTTPS (libmicrohttpd with GnuTLS; docs/REST.md):
 * authentication by client certificate (CN mapped to a role) or bearer token, the role
 * checks of docs/PRINCIPLES.md 6, routing to admf, errors as {"error":{code,message,field}}.
 * Every authentication or authorization failure is recorded in the audit trail. */
#ifndef ADMF_REST_H
#define ADMF_REST_H

#include <stdint.h>

#include "li_config.h"
#include "admf.h"

typedef struct admf_rest admf_rest;

/* POST /v1/intercept-points/{id}/audit runs a reconciliation through this callback. */
typedef void (*admf_rest_reconcile_fn)(void *ctx, const x1_principal *who, const char *poi_id,
                                     x1_result *out);

/* Starts the HTTPS server. Keys (docs/REST.md): rest.listen, rest.tls.cert, rest.tls.key,
 * rest.tls.ca, rest.role.<CN>, rest.cn_is_role, rest.tokens_file, rest.max_body_bytes,
 * rest.max_connections, rest.max_connections_per_address, rest.idle_timeout_s. A client
 * is authenticated from the request's head, before any body is read. admf (not owned)
 * must outlive the server. NULL with a reason in errstr. */
admf_rest *admf_rest_new(const li_config *cfg, admf_service *admf, admf_rest_reconcile_fn reconcile,
                     void *reconcile_ctx, char *errstr, size_t errstr_size);
/* The bound TCP port. */
uint16_t admf_rest_port(const admf_rest *r);
/* Stops accepting, waits for the requests in progress; NULL is a no-op. */
void admf_rest_free(admf_rest *r);

#endif
