/* Validation of the REST JSON bodies of limf-admf (docs/PRINCIPLES.md 6) into the protobuf objects
 * of common/proto/admin.proto. A body is checked whole: either every field is valid and
 * the object is filled, or nothing is and `err` names the first offending field.
 *
 * Pure: no I/O, no allocation. The filled object BORROWS its strings from `body` (the
 * json_t must outlive it) and its arrays from the caller's scratch struct; the caller
 * copies it by packing it (limf__*__pack) before either goes away. Read-only fields of
 * the representation (id, state, xid, version, created, updated, health, last_audit) are
 * accepted and ignored so that a client can PUT back what it GOT; any other unknown field
 * is refused. */
#ifndef ADMF_VALIDATE_H
#define ADMF_VALIDATE_H

#include <jansson.h>
#include <stdint.h>

#include "admin.pb-c.h"
#include "li_err.h"

#define X1_MAX_TARGETS_PER_WARRANT 16 /* = X1_MAX_TARGETS of the X1 task */
#define X1_MAX_DESTINATIONS_PER_WARRANT 8
#define X1_MAX_POIS_PER_WARRANT 32
#define X1_MAX_PINS 8
#define X1_MAX_ID 63           /* object ids: 1-63 of [A-Za-z0-9._-] (fits X1 objectId) */
#define X1_MAX_LIID 25         /* TS 102 232-1 LawfulInterceptionIdentifier SIZE(1..25) */
#define X1_MAX_TEXT 1024       /* free text: legal references, reasons, names */

/* 1 when s[0..n) is well-formed UTF-8 (RFC 3629) without control characters (C0, DEL,
 * C1; CR and LF allowed when multiline): text that cannot move a terminal's cursor or
 * hide what follows when the trail is shown. */
int x1_valid_text(const char *s, size_t n, int multiline);

/* A refusal: HTTP status, machine code, human message, offending JSON field. */
typedef struct x1_verr {
    int status;
    char code[40];
    char message[200];
    char field[64];
} x1_verr;

/* Sets err and returns LI_ERR_INVAL (or LI_ERR_CONFLICT for status 409). */
li_err x1_verr_set(x1_verr *err, int status, const char *code, const char *field,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* What validation needs to know about the rest of the store, as callbacks so that it stays
 * pure. Any callback may be NULL (the check is then skipped). */
typedef struct admf_validate_env {
    void *ctx;
    /* 1 when a destination with this id exists. */
    int (*destination_exists)(void *ctx, const char *id);
    /* 1 when a warrant other than `self_id` (NULL on creation) already holds this LIID for
     * this authorization country. */
    int (*liid_taken)(void *ctx, const char *liid, const char *country, const char *self_id);
    /* 1 when an intercept point with this id exists. */
    int (*poi_exists)(void *ctx, const char *id);
    int64_t now_ms;            /* creation refuses an end (expiry) already in the past */
    int creating;              /* 1 for POST, 0 for PUT/PATCH */
    const char *self_id;       /* the object being updated, NULL on creation */
} admf_validate_env;

/* Object ids (path segments and "id" fields): 1-63 of [A-Za-z0-9._-], not "." or "..". */
int x1_valid_id(const char *id);
/* LIID: 1-25 of [A-Za-z0-9._-] (see docs/REST.md for why this subset of OCTET STRING). */
int x1_valid_liid(const char *liid);
/* host:port or [v6]:port with a port 1-65535 (li_hostport with names). */
int x1_valid_hostport(const char *text);
/* A SHA-256 fingerprint as 64 hex digits, optionally as 32 ':'-separated pairs. */
li_err x1_parse_sha256(const char *text, uint8_t out[32]);

typedef struct x1_warrant_scratch {
    Limf__Target target_msgs[X1_MAX_TARGETS_PER_WARRANT];
    Limf__Target *targets[X1_MAX_TARGETS_PER_WARRANT];
    char *destination_ids[X1_MAX_DESTINATIONS_PER_WARRANT];
    char *poi_ids[X1_MAX_POIS_PER_WARRANT];
} x1_warrant_scratch;

/* Fills w (initialised by the callee) from body. Sets liid, auth_country,
 * legal_reference, targets, delivery, destination_ids, start_ms, end_ms, poi_ids, and
 * state = "deactivated" when the body asks for it (else state is left empty: the caller
 * derives it from the times). */
li_err admf_validate_warrant(const json_t *body, const admf_validate_env *env, Limf__Warrant *w,
                           x1_warrant_scratch *s, x1_verr *err);

typedef struct x1_destination_scratch {
    char *pins[X1_MAX_PINS];
} x1_destination_scratch;

li_err admf_validate_destination(const json_t *body, const admf_validate_env *env,
                               Limf__Destination *d, x1_destination_scratch *s, x1_verr *err);

typedef struct x1_exception_scratch {
    uint8_t fingerprint[32];
} x1_exception_scratch;

li_err admf_validate_exception(const json_t *body, const admf_validate_env *env,
                             Limf__CertException *e, x1_exception_scratch *s, x1_verr *err);

typedef struct x1_poi_scratch {
    uint8_t cert_sha256[32];
    uint8_t x2x3_cert_sha256[32];
} x1_poi_scratch;

li_err admf_validate_poi(const json_t *body, const admf_validate_env *env,
                       Limf__InterceptPoint *p, x1_poi_scratch *s, x1_verr *err);

#endif
