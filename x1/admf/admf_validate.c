#include "admf_validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "li_bytes.h"
#include "li_hostport.h"
#include "li_ident.h"
#include "li_time.h"

li_err x1_verr_set(x1_verr *err, int status, const char *code, const char *field,
                   const char *fmt, ...)
{
    va_list ap;
    err->status = status;
    snprintf(err->code, sizeof err->code, "%s", code);
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return status == 409 ? LI_ERR_CONFLICT : LI_ERR_INVAL;
}

static int is_id_char(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

static int valid_charset(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= max || !is_id_char((unsigned char)s[n]))
            return 0;
    return n > 0;
}

int x1_valid_id(const char *id)
{
    /* "." and ".." would be rewritten by URL normalization in clients and proxies. */
    return valid_charset(id, X1_MAX_ID) && strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

int x1_valid_liid(const char *liid)
{
    return valid_charset(liid, X1_MAX_LIID);
}

int x1_valid_hostport(const char *text)
{
    li_hostport hp;
    return li_hostport_parse(text, LI_HOSTPORT_NAME, &hp) == LI_OK;
}

li_err x1_parse_sha256(const char *text, uint8_t out[32])
{
    size_t n = 0, len = strlen(text);
    int colons = len == 95;
    if (len != 64 && len != 95)
        return LI_ERR_PROTO;
    if (li_hex_decode(text, len, colons, out, 32, &n) != LI_OK || n != 32)
        return LI_ERR_PROTO;
    return LI_OK;
}

/* ---- JSON field readers; each returns LI_OK or fills err ---- */

static li_err check_fields(const json_t *body, const char *const *allowed,
                           const char *const *ignored, x1_verr *err)
{
    const char *key;
    json_t *value;
    if (!json_is_object(body))
        return x1_verr_set(err, 400, "invalid_body", "", "the body must be a JSON object");
    json_object_foreach((json_t *)body, key, value) {
        int known = 0;
        (void)value;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, key) == 0;
        for (const char *const *a = ignored; *a && !known; a++)
            known = strcmp(*a, key) == 0;
        if (!known)
            return x1_verr_set(err, 400, "unknown_field", key, "unknown field");
    }
    return LI_OK;
}

int x1_valid_text(const char *s, size_t n, int multiline)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len;
        if (u[i] < 0x80)
            cp = u[i], len = 1;
        else if ((u[i] & 0xe0) == 0xc0)
            cp = u[i] & 0x1f, len = 2;
        else if ((u[i] & 0xf0) == 0xe0)
            cp = u[i] & 0x0f, len = 3;
        else if ((u[i] & 0xf8) == 0xf0)
            cp = u[i] & 0x07, len = 4;
        else
            return 0;
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((u[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (u[i + k] & 0x3f);
        }
        /* overlong forms, surrogates and beyond U+10FFFF are not UTF-8 (RFC 3629 3) */
        static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < min[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return 0;
        int control = cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
        if (control && !(multiline && (cp == '\n' || cp == '\r')))
            return 0;
        i += len;
    }
    return 1;
}

/* A string of 1..max bytes without control characters; NULL in *out when absent and
 * not required. */
static li_err get_text_ml(const json_t *body, const char *key, int required, size_t max,
                          int multiline, const char **out, x1_verr *err)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return x1_verr_set(err, 400, "missing_field", key, "required field is missing");
        return LI_OK;
    }
    if (!json_is_string(v))
        return x1_verr_set(err, 400, "invalid_type", key, "must be a string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0) {
        /* An empty optional string is the same as an absent one (what GET shows). */
        if (required)
            return x1_verr_set(err, 400, "missing_field", key, "must not be empty");
        return LI_OK;
    }
    if (n > max)
        return x1_verr_set(err, 400, "too_long", key, "longer than %zu bytes", max);
    if (!x1_valid_text(s, n, multiline))
        return x1_verr_set(err, 400, "invalid_value", key, "control characters");
    *out = s;
    return LI_OK;
}

static li_err get_text(const json_t *body, const char *key, int required, size_t max,
                       const char **out, x1_verr *err)
{
    return get_text_ml(body, key, required, max, 0, out, err);
}

static li_err get_time(const json_t *body, const char *key, int required, int64_t *ms,
                       x1_verr *err)
{
    const char *s;
    int64_t ns;
    li_err e = get_text(body, key, required, 64, &s, err);
    if (e != LI_OK || !s)
        return e;
    if (li_time_parse_rfc3339(s, &ns) != LI_OK)
        return x1_verr_set(err, 400, "invalid_time", key, "not an RFC 3339 date-time");
    *ms = ns / 1000000;
    return LI_OK;
}

static li_err get_country(const json_t *body, const char *key, int required, const char **out,
                          x1_verr *err)
{
    li_err e = get_text(body, key, required, 2, out, err);
    if (e != LI_OK || !*out)
        return e;
    /* ISO 3166-1 alpha-2 (TS 102 232-1 authorizationCountryCode / deliveryCountryCode). */
    const char *c = *out;
    if (strlen(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z')
        return x1_verr_set(err, 400, "invalid_country", key,
                           "must be an ISO 3166-1 alpha-2 code (two capital letters)");
    return LI_OK;
}

/* An array of 1..max distinct valid ids into ids[]; count into *n. */
static li_err get_id_array(const json_t *body, const char *key, int required, size_t max,
                           char **ids, size_t *n, x1_verr *err)
{
    json_t *v = json_object_get(body, key);
    *n = 0;
    if (!v || json_is_null(v)) {
        if (required)
            return x1_verr_set(err, 400, "missing_field", key, "required field is missing");
        return LI_OK;
    }
    if (!json_is_array(v))
        return x1_verr_set(err, 400, "invalid_type", key, "must be an array of ids");
    if (json_array_size(v) > max)
        return x1_verr_set(err, 400, "too_many", key, "at most %zu entries", max);
    if (required && json_array_size(v) == 0)
        return x1_verr_set(err, 400, "missing_field", key, "must not be empty");
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *item = json_array_get(v, i);
        if (!json_is_string(item) || !x1_valid_id(json_string_value(item)))
            return x1_verr_set(err, 400, "invalid_id", key,
                               "entry %zu is not an id of 1-63 [A-Za-z0-9._-]", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(ids[j], json_string_value(item)) == 0)
                return x1_verr_set(err, 400, "duplicate", key, "entry %zu repeats entry %zu",
                                   i, j);
        ids[i] = (char *)json_string_value(item);
        *n = i + 1;
    }
    return LI_OK;
}

/* ---- warrants ---- */

static const char *const ignored_common[] = { "id", "version", "created", "updated", NULL };

static li_err get_targets(const json_t *body, Limf__Warrant *w, x1_warrant_scratch *s,
                          x1_verr *err)
{
    json_t *v = json_object_get(body, "targets");
    char canon[X1_MAX_TARGETS_PER_WARRANT][LI_IDENT_MAX];
    if (!v || json_is_null(v))
        return x1_verr_set(err, 400, "missing_field", "targets", "required field is missing");
    if (!json_is_array(v) || json_array_size(v) == 0)
        return x1_verr_set(err, 400, "invalid_type", "targets",
                           "must be a non-empty array of {type, value}");
    if (json_array_size(v) > X1_MAX_TARGETS_PER_WARRANT)
        return x1_verr_set(err, 400, "too_many", "targets", "at most %d targets",
                           X1_MAX_TARGETS_PER_WARRANT);
    for (size_t i = 0; i < json_array_size(v); i++) {
        static const char *const allowed[] = { "type", "value", NULL };
        static const char *const none[] = { NULL };
        json_t *t = json_array_get(v, i);
        const char *type, *value;
        char field[32];
        snprintf(field, sizeof field, "targets[%zu]", i);
        li_err e = check_fields(t, allowed, none, err);
        if (e == LI_OK)
            e = get_text(t, "type", 1, 15, &type, err);
        if (e == LI_OK)
            e = get_text(t, "value", 1, 255, &value, err);
        if (e != LI_OK) {
            char inner[sizeof err->field];
            memcpy(inner, err->field, sizeof inner);
            snprintf(err->field, sizeof err->field, "%s.%.20s", field, inner);
            return e;
        }
        /* What a target may be is li_ident's rule, shared with every component that
         * matches identities (a local tel: number needs its phone-context, RFC 3966). */
        e = li_ident_canon_target(type, value, canon[i], sizeof canon[i]);
        if (e == LI_ERR_INVAL)
            return x1_verr_set(err, 400, "invalid_target_type", field,
                               "type must be sip-uri, tel-uri, impu or e164");
        if (e != LI_OK)
            return x1_verr_set(err, 400, "invalid_target", field,
                               "value is not a valid %s", type);
        for (size_t j = 0; j < i; j++)
            if (strcmp(canon[j], canon[i]) == 0)
                return x1_verr_set(err, 400, "duplicate_target", field,
                                   "same identity as targets[%zu]", j);
        limf__target__init(&s->target_msgs[i]);
        s->target_msgs[i].type = (char *)type;
        s->target_msgs[i].value = (char *)value;
        s->targets[i] = &s->target_msgs[i];
    }
    w->targets = s->targets;
    w->n_targets = json_array_size(v);
    return LI_OK;
}

li_err admf_validate_warrant(const json_t *body, const admf_validate_env *env, Limf__Warrant *w,
                           x1_warrant_scratch *s, x1_verr *err)
{
    static const char *const allowed[] = { "liid", "auth_country", "legal_reference",
                                           "targets", "delivery", "destination_ids",
                                           "start", "end", "poi_ids", "state", NULL };
    static const char *const ignored[] = { "id", "version", "created", "updated", "xid",
                                           NULL };
    const char *liid, *country, *legal, *delivery, *state;
    li_err e;
    limf__warrant__init(w);
    if ((e = check_fields(body, allowed, ignored, err)) != LI_OK)
        return e;
    if ((e = get_text(body, "liid", 1, 64, &liid, err)) != LI_OK)
        return e;
    if (!x1_valid_liid(liid))
        return x1_verr_set(err, 400, "invalid_liid", "liid",
                           "the LIID must be 1-25 characters of [A-Za-z0-9._-]");
    if ((e = get_country(body, "auth_country", 1, &country, err)) != LI_OK)
        return e;
    if ((e = get_text(body, "legal_reference", 1, X1_MAX_TEXT, &legal, err)) != LI_OK)
        return e;
    if ((e = get_targets(body, w, s, err)) != LI_OK)
        return e;
    if ((e = get_text(body, "delivery", 1, 16, &delivery, err)) != LI_OK)
        return e;
    if (strcmp(delivery, "iri") != 0 && strcmp(delivery, "iri+cc") != 0)
        return x1_verr_set(err, 400, "invalid_delivery", "delivery",
                           "delivery must be \"iri\" or \"iri+cc\"");
    if ((e = get_id_array(body, "destination_ids", 1, X1_MAX_DESTINATIONS_PER_WARRANT,
                          s->destination_ids, &w->n_destination_ids, err)) != LI_OK)
        return e;
    w->destination_ids = s->destination_ids;
    if ((e = get_id_array(body, "poi_ids", 0, X1_MAX_POIS_PER_WARRANT, s->poi_ids,
                          &w->n_poi_ids, err)) != LI_OK)
        return e;
    w->poi_ids = s->poi_ids;
    if ((e = get_time(body, "start", 1, &w->start_ms, err)) != LI_OK)
        return e;
    if ((e = get_time(body, "end", 1, &w->end_ms, err)) != LI_OK)
        return e;
    if (w->end_ms <= w->start_ms)
        return x1_verr_set(err, 400, "end_before_start", "end", "end must be after start");
    if (env->creating && w->end_ms <= env->now_ms)
        return x1_verr_set(err, 400, "end_in_past", "end", "end is already past");
    if ((e = get_text(body, "state", 0, 16, &state, err)) != LI_OK)
        return e;
    /* The state is derived from the times; the only state a client sets is the final
     * early stop. Other values are the read-only representation and are ignored. */
    if (state && strcmp(state, "deactivated") == 0)
        w->state = "deactivated";
    else if (state && strcmp(state, "pending") != 0 && strcmp(state, "active") != 0 &&
             strcmp(state, "expired") != 0)
        return x1_verr_set(err, 400, "invalid_state", "state",
                           "the only state a client sets is \"deactivated\"");
    for (size_t i = 0; i < w->n_destination_ids; i++)
        if (env->destination_exists && !env->destination_exists(env->ctx,
                                                                 w->destination_ids[i]))
            return x1_verr_set(err, 400, "unknown_destination", "destination_ids",
                               "destination %s does not exist", w->destination_ids[i]);
    if (env->liid_taken && env->liid_taken(env->ctx, liid, country, env->self_id))
        return x1_verr_set(err, 409, "liid_taken", "liid",
                           "another warrant holds this LIID for this authorization country");
    for (size_t i = 0; i < w->n_poi_ids; i++)
        if (env->poi_exists && !env->poi_exists(env->ctx, w->poi_ids[i]))
            return x1_verr_set(err, 400, "unknown_poi", "poi_ids",
                               "intercept point %s does not exist", w->poi_ids[i]);
    w->liid = (char *)liid;
    w->auth_country = (char *)country;
    w->legal_reference = (char *)legal;
    w->delivery = (char *)delivery;
    return LI_OK;
}

/* ---- destinations ---- */

li_err admf_validate_destination(const json_t *body, const admf_validate_env *env,
                               Limf__Destination *d, x1_destination_scratch *s, x1_verr *err)
{
    static const char *const allowed[] = {
        "name", "hi2_address", "hi3_address", "transport", "ca_pem", "pinned_sha256",
        "peer_name", "operator_id", "network_element_id", "delivery_country",
        "keepalive_interval_s", "keepalive_timeout_s", NULL };
    /* topic_suffix is the ADMF's own (read-only), like the common metadata. */
    static const char *const ignored[] = { "id", "version", "created", "updated",
                                           "topic_suffix", NULL };
    const char *name, *hi2, *hi3, *transport, *ca, *peer, *op, *ne, *country;
    li_err e;
    (void)env;
    limf__destination__init(d);
    if ((e = check_fields(body, allowed, ignored, err)) != LI_OK)
        return e;
    if ((e = get_text(body, "name", 0, 255, &name, err)) != LI_OK ||
        (e = get_text(body, "hi2_address", 1, 300, &hi2, err)) != LI_OK ||
        (e = get_text(body, "hi3_address", 0, 300, &hi3, err)) != LI_OK ||
        (e = get_text(body, "transport", 0, 8, &transport, err)) != LI_OK ||
        (e = get_text_ml(body, "ca_pem", 0, 65536, 1, &ca, err)) != LI_OK ||
        (e = get_text(body, "peer_name", 0, 255, &peer, err)) != LI_OK ||
        (e = get_text(body, "operator_id", 1, 16, &op, err)) != LI_OK ||
        (e = get_text(body, "network_element_id", 1, 16, &ne, err)) != LI_OK ||
        (e = get_country(body, "delivery_country", 1, &country, err)) != LI_OK)
        return e;
    if (!x1_valid_hostport(hi2))
        return x1_verr_set(err, 400, "invalid_address", "hi2_address", "must be host:port");
    if (hi3 && !x1_valid_hostport(hi3))
        return x1_verr_set(err, 400, "invalid_address", "hi3_address", "must be host:port");
    if (transport && strcmp(transport, "tls") != 0 && strcmp(transport, "tcp") != 0)
        return x1_verr_set(err, 400, "invalid_transport", "transport",
                           "transport must be \"tls\" or \"tcp\"");
    json_t *v = json_object_get(body, "pinned_sha256");
    if (v && !json_is_null(v)) {
        if (!json_is_array(v) || json_array_size(v) > X1_MAX_PINS)
            return x1_verr_set(err, 400, "invalid_type", "pinned_sha256",
                               "must be an array of at most %d fingerprints", X1_MAX_PINS);
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *item = json_array_get(v, i);
            uint8_t fp[32];
            if (!json_is_string(item) || x1_parse_sha256(json_string_value(item), fp) != LI_OK)
                return x1_verr_set(err, 400, "invalid_fingerprint", "pinned_sha256",
                                   "entry %zu is not a SHA-256 fingerprint (64 hex digits)", i);
            s->pins[i] = (char *)json_string_value(item);
        }
        d->pinned_sha256 = s->pins;
        d->n_pinned_sha256 = json_array_size(v);
    }
    int tls = !transport || strcmp(transport, "tls") == 0;
    if (ca && !strstr(ca, "-----BEGIN CERTIFICATE-----"))
        return x1_verr_set(err, 400, "invalid_ca", "ca_pem", "not a PEM certificate");
    if (tls && !ca && d->n_pinned_sha256 == 0)
        return x1_verr_set(err, 400, "missing_trust", "ca_pem",
                           "TLS needs a CA (ca_pem) or pinned fingerprints (pinned_sha256)");
    int64_t vals[2] = { 30, 10 };
    static const char *const timer_keys[2] = { "keepalive_interval_s", "keepalive_timeout_s" };
    for (int i = 0; i < 2; i++) {
        json_t *t = json_object_get(body, timer_keys[i]);
        if (!t || json_is_null(t))
            continue;
        if (!json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > 3600)
            return x1_verr_set(err, 400, "invalid_value", timer_keys[i],
                               "must be an integer 1-3600 (seconds)");
        vals[i] = json_integer_value(t);
    }
    d->name = (char *)(name ? name : "");
    d->hi2_address = (char *)hi2;
    d->hi3_address = (char *)(hi3 ? hi3 : hi2);
    d->transport = (char *)(transport ? transport : "tls");
    d->ca_pem = (char *)(ca ? ca : "");
    d->peer_name = (char *)(peer ? peer : "");
    d->operator_id = (char *)op;
    d->network_element_id = (char *)ne;
    d->delivery_country = (char *)country;
    d->keepalive_interval_s = (uint32_t)vals[0];
    d->keepalive_timeout_s = (uint32_t)vals[1];
    return LI_OK;
}

/* ---- certificate exceptions ---- */

li_err admf_validate_exception(const json_t *body, const admf_validate_env *env,
                             Limf__CertException *x, x1_exception_scratch *s, x1_verr *err)
{
    static const char *const allowed[] = { "fingerprint_sha256", "peer", "scope", "reason",
                                           "approver", "expires", NULL };
    const char *fp, *peer, *scope, *reason, *approver;
    li_err e;
    limf__cert_exception__init(x);
    if ((e = check_fields(body, allowed, ignored_common, err)) != LI_OK)
        return e;
    if ((e = get_text(body, "fingerprint_sha256", 1, 95, &fp, err)) != LI_OK)
        return e;
    if (x1_parse_sha256(fp, s->fingerprint) != LI_OK)
        return x1_verr_set(err, 400, "invalid_fingerprint", "fingerprint_sha256",
                           "not a SHA-256 fingerprint (64 hex digits, ':' optional)");
    if ((e = get_text(body, "peer", 1, 255, &peer, err)) != LI_OK ||
        (e = get_text(body, "scope", 1, 16, &scope, err)) != LI_OK)
        return e;
    if (strcmp(scope, "session") != 0 && strcmp(scope, "peer") != 0)
        return x1_verr_set(err, 400, "invalid_scope", "scope",
                           "scope must be \"session\" or \"peer\"");
    if ((e = get_text(body, "reason", 1, X1_MAX_TEXT, &reason, err)) != LI_OK ||
        (e = get_text(body, "approver", 1, 255, &approver, err)) != LI_OK ||
        (e = get_time(body, "expires", 1, &x->expires_ms, err)) != LI_OK)
        return e;
    if (x->expires_ms <= env->now_ms)
        return x1_verr_set(err, 400, "expires_in_past", "expires", "expiry is already past");
    x->fingerprint_sha256.data = s->fingerprint;
    x->fingerprint_sha256.len = 32;
    x->peer = (char *)peer;
    x->scope = (char *)scope;
    x->reason = (char *)reason;
    x->approver = (char *)approver;
    return LI_OK;
}

/* ---- intercept points ---- */

/* An optional SHA-256 fingerprint member into out (storage: buf). */
static li_err get_fingerprint(const json_t *body, const char *name, uint8_t buf[32],
                              ProtobufCBinaryData *out, x1_verr *err)
{
    const char *fp;
    li_err e = get_text(body, name, 0, 95, &fp, err);
    if (e != LI_OK || !fp)
        return e;
    if (x1_parse_sha256(fp, buf) != LI_OK)
        return x1_verr_set(err, 400, "invalid_fingerprint", name,
                           "not a SHA-256 fingerprint (64 hex digits, ':' optional)");
    out->data = buf;
    out->len = 32;
    return LI_OK;
}

li_err admf_validate_poi(const json_t *body, const admf_validate_env *env,
                       Limf__InterceptPoint *p, x1_poi_scratch *s, x1_verr *err)
{
    static const char *const allowed[] = { "role", "x1_url", "cert_sha256", "x2x3_cert_sha256",
                                           NULL };
    static const char *const ignored[] = { "id", "version", "created", "updated", "health",
                                           "last_audit", NULL };
    const char *role, *url;
    li_err e;
    (void)env;
    limf__intercept_point__init(p);
    if ((e = check_fields(body, allowed, ignored, err)) != LI_OK)
        return e;
    if ((e = get_text(body, "role", 1, 8, &role, err)) != LI_OK)
        return e;
    if (strcmp(role, "agw") != 0 && strcmp(role, "as") != 0 && strcmp(role, "sip") != 0)
        return x1_verr_set(err, 400, "invalid_role", "role",
                           "role must be \"agw\", \"as\" or \"sip\"");
    if ((e = get_text(body, "x1_url", 1, 512, &url, err)) != LI_OK)
        return e;
    /* X1 runs over HTTPS with mutual TLS only (TS 103 221-1 7.2, docs/PRINCIPLES.md 7). */
    if (strncmp(url, "https://", 8) != 0)
        return x1_verr_set(err, 400, "invalid_url", "x1_url",
                           "must be https://host:port/path");
    const char *rest = url + 8;
    const char *slash = strchr(rest, '/');
    char hostport[300];
    size_t hp = slash ? (size_t)(slash - rest) : strlen(rest);
    if (hp == 0 || hp >= sizeof hostport)
        return x1_verr_set(err, 400, "invalid_url", "x1_url",
                           "must be https://host:port/path");
    memcpy(hostport, rest, hp);
    hostport[hp] = 0;
    if (!x1_valid_hostport(hostport))
        return x1_verr_set(err, 400, "invalid_url", "x1_url",
                           "must be https://host:port/path");
    if ((e = get_fingerprint(body, "cert_sha256", s->cert_sha256, &p->cert_sha256, err)) != LI_OK ||
        (e = get_fingerprint(body, "x2x3_cert_sha256", s->x2x3_cert_sha256,
                             &p->x2x3_cert_sha256, err)) != LI_OK)
        return e;
    p->role = (char *)role;
    p->x1_url = (char *)url;
    return LI_OK;
}
