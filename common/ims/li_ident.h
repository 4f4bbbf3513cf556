/* Canonical target identities, so that every component matches them the same way
 * (docs/PRINCIPLES.md 5: case, tel-URI digits, URI parameters). Pure: no allocation, no I/O.
 * Two identities match when their canonical forms are equal (strcmp). */
#ifndef LI_IDENT_H
#define LI_IDENT_H

#include <stddef.h>

#include "li_err.h"

/* Longest canonical identity, including the NUL. */
#define LI_IDENT_MAX 256

/* Canonicalizes a SIP header value (name-addr or addr-spec, with or without a display
 * name and header parameters such as ;tag=), a sip:, sips: or tel: URI, or a bare
 * E.164 number, into `out`:
 *   - "sip:user@host": scheme, user and host lower-cased, %XX decoded in the user part,
 *     password, port, URI parameters and headers dropped, sips: treated as sip:;
 *   - "tel:+4930123": tel URIs, bare numbers, and SIP URIs whose user part is a
 *     telephone number (user=phone, or a user part of '+' and digits), with the visual
 *     separators - . ( ) removed and parameters dropped;
 *   - "tel:7042;phone-context=example.com": a local number (RFC 3966 5.1.5) is one only
 *     with its phone-context, which stays in the identity (a domain lower-cased without a
 *     trailing dot, or '+' and digits); a local tel: URI without one is LI_ERR_PROTO, a
 *     user=phone SIP URI without one keeps its sip: form.
 * Returns LI_ERR_PROTO when the text is not an identity, LI_ERR_TOO_BIG when out is too
 * small. */
li_err li_ident_canon(const char *text, size_t len, char *out, size_t out_size);

/* Validates and canonicalizes a provisioned target of the REST/X1 type "sip-uri"
 * (RFC 3261 sip: or sips: URI), "tel-uri" (RFC 3966 tel: URI; a local number needs its
 * phone-context), "impu" (a sip: or tel: URI) or "e164" (1-15 digits, optional leading
 * '+'). The one rule for what a target may be: the ADMF's validator calls it. LI_ERR_INVAL
 * for an unknown type, LI_ERR_PROTO for a value that does not fit its type. */
li_err li_ident_canon_target(const char *type, const char *value, char *out, size_t out_size);

#endif
