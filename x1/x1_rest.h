/* The ADMF's operator REST API over HTTPS (libmicrohttpd with GnuTLS; docs/REST.md):
 * authentication by client certificate (CN mapped to a role) or bearer token, the role
 * checks of DESIGN.md 6, routing to x1_admf, errors as {"error":{code,message,field}}.
 * Every authentication or authorization failure is recorded in the audit trail. */
#ifndef X1_REST_H
#define X1_REST_H

#include <stdint.h>

#include "li_config.h"
#include "x1_admf.h"

typedef struct x1_rest x1_rest;

/* POST /v1/intercept-points/{id}/audit runs a reconciliation through this callback. */
typedef void (*x1_rest_reconcile_fn)(void *ctx, const x1_principal *who, const char *poi_id,
                                     x1_result *out);

/* Starts the HTTPS server. Keys (docs/REST.md): rest.listen, rest.tls.cert, rest.tls.key,
 * rest.tls.ca, rest.role.<CN>, rest.cn_is_role, rest.tokens_file, rest.max_body_bytes,
 * rest.max_connections, rest.port_file. admf (not owned) must outlive the server. NULL with a reason in
 * errstr. */
x1_rest *x1_rest_new(const li_config *cfg, x1_admf *admf, x1_rest_reconcile_fn reconcile,
                     void *reconcile_ctx, char *errstr, size_t errstr_size);
/* The bound TCP port. */
uint16_t x1_rest_port(const x1_rest *r);
/* Stops accepting, waits for the requests in progress; NULL is a no-op. */
void x1_rest_free(x1_rest *r);

#endif
