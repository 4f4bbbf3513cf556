#include "msrp_relay_req.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "li_bytes.h"
#include "li_msrp.h"

/* MSRP has no default port in its URI scheme; 2855 is the IANA port of msrp and msrps. */
#define MSRP_DEFAULT_PORT 2855

li_err msrp_relay_fingerprint_parse(const char *text, uint8_t out[32])
{
    while (*text == ' ')
        text++;
    if (strncasecmp(text, "sha-256", 7) != 0 || (text[7] != ' ' && text[7] != '\t'))
        return LI_ERR_PROTO;
    const char *hex = text + 8;
    while (*hex == ' ' || *hex == '\t')
        hex++;
    size_t n = strlen(hex);
    while (n && (hex[n - 1] == ' ' || hex[n - 1] == '\t'))
        n--;
    size_t got;
    if (li_hex_decode(hex, n, 1, out, 32, &got) != LI_OK || got != 32)
        return LI_ERR_PROTO;
    return LI_OK;
}

static const char *get_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Validates every URI of a path and returns the first one's host, port and scheme. */
static li_err parse_path(const char *text, char *out, char *host, size_t host_size,
                         uint16_t *port, int *secure)
{
    size_t len = strlen(text);
    if (len == 0 || len >= MSRP_RELAY_PATH_MAX)
        return LI_ERR_PROTO;
    li_msrp_str rest = { text, len }, uri_text;
    int first = 1;
    while (li_msrp_path_next(&rest, &uri_text) == LI_OK) {
        li_msrp_uri uri;
        if (li_msrp_uri_parse(uri_text.p, uri_text.len, &uri) != LI_OK)
            return LI_ERR_PROTO;
        if (first) {
            if (uri.host.len >= host_size)
                return LI_ERR_PROTO;
            memcpy(host, uri.host.p, uri.host.len);
            host[uri.host.len] = '\0';
            *port = uri.port ? uri.port : MSRP_DEFAULT_PORT;
            *secure = uri.secure;
            first = 0;
        }
    }
    if (first)
        return LI_ERR_PROTO;
    memcpy(out, text, len + 1);
    return LI_OK;
}

static li_err fail(char *errstr, size_t errstr_size, const char *why)
{
    snprintf(errstr, errstr_size, "%s", why);
    return LI_ERR_INVAL;
}

static li_err add_target(msrp_relay_req *out, json_t *v, char *errstr, size_t errstr_size)
{
    if (!json_is_string(v))
        return fail(errstr, errstr_size, "target must be a string");
    if (out->n_targets == MSRP_RELAY_MAX_TARGETS)
        return fail(errstr, errstr_size, "too many targets");
    const char *t = json_string_value(v);
    if (li_ident_canon(t, strlen(t), out->targets[out->n_targets], LI_IDENT_MAX) != LI_OK)
        return fail(errstr, errstr_size, "target is not a SIP URI, tel URI or E.164 number");
    out->n_targets++;
    return LI_OK;
}

static li_err parse_obj(json_t *root, int tls_only_policy, msrp_relay_req *out, char *errstr,
                        size_t errstr_size)
{
    if (!json_is_object(root))
        return fail(errstr, errstr_size, "body must be a JSON object");
    const char *mode = get_str(root, "mode");
    if (!mode || strcmp(mode, "agw") == 0)
        out->mode = MSRP_RELAY_AGW;
    else if (strcmp(mode, "as") == 0)
        out->mode = MSRP_RELAY_AS;
    else
        return fail(errstr, errstr_size, "mode must be \"agw\" or \"as\"");
    json_t *v = json_object_get(root, "cema");
    if (v && !json_is_boolean(v))
        return fail(errstr, errstr_size, "cema must be a boolean");
    out->cema = json_is_true(v);
    v = json_object_get(root, "tls_only");
    if (v && !json_is_boolean(v))
        return fail(errstr, errstr_size, "tls_only must be a boolean");
    out->tls_only = tls_only_policy || json_is_true(v);
    const char *paths = get_str(root, "paths");
    if (!paths || strcmp(paths, "rfc4976") == 0)
        out->paths = MSRP_RELAY_PATHS_RFC4976;
    else if (strcmp(paths, "b2bua") == 0)
        out->paths = MSRP_RELAY_PATHS_B2BUA;
    else
        return fail(errstr, errstr_size, "paths must be \"rfc4976\" or \"b2bua\"");
    const char *responses = get_str(root, "responses");
    if (!responses || strcmp(responses, "end-to-end") == 0)
        out->hop_responses = 0;
    else if (strcmp(responses, "hop-by-hop") == 0)
        out->hop_responses = 1;
    else
        return fail(errstr, errstr_size, "responses must be \"end-to-end\" or \"hop-by-hop\"");

    json_t *ue = json_object_get(root, "ue");
    if (!json_is_object(ue))
        return fail(errstr, errstr_size, "ue object required");
    const char *transport = get_str(ue, "transport");
    if (!transport || strcmp(transport, "tls") == 0)
        out->ue.tls = 1;
    else if (strcmp(transport, "tcp") == 0)
        out->ue.tls = 0;
    else
        return fail(errstr, errstr_size, "ue.transport must be \"tls\" or \"tcp\"");
    const char *fp = get_str(ue, "fingerprint");
    if (fp) {
        if (msrp_relay_fingerprint_parse(fp, out->ue.fingerprint) != LI_OK)
            return fail(errstr, errstr_size, "ue.fingerprint must be \"sha-256 XX:XX:...\" (32 octets)");
        out->ue.has_fingerprint = 1;
    }
    const char *setup = get_str(ue, "setup");
    /* RFC 4145: actpass leaves the choice to the answerer; the relay answers active
     * towards nobody, so it treats actpass like active (the UE connects). */
    if (!setup || strcmp(setup, "active") == 0 || strcmp(setup, "actpass") == 0)
        out->ue.passive = 0;
    else if (strcmp(setup, "passive") == 0)
        out->ue.passive = 1;
    else
        return fail(errstr, errstr_size, "ue.setup must be active, passive or actpass");
    const char *ue_path = get_str(ue, "path");
    int ue_secure;
    if (!ue_path || parse_path(ue_path, out->ue.path, out->ue.host, sizeof out->ue.host,
                               &out->ue.port, &ue_secure) != LI_OK)
        return fail(errstr, errstr_size, "ue.path must be one or more MSRP URIs");
    if (ue_secure != out->ue.tls)
        return fail(errstr, errstr_size, "ue.path scheme does not match ue.transport");

    json_t *net = json_object_get(root, "network");
    if (!json_is_object(net))
        return fail(errstr, errstr_size, "network object required");
    const char *next_hop = get_str(net, "next_hop");
    if (!next_hop || parse_path(next_hop, out->network.path, out->network.host,
                                sizeof out->network.host, &out->network.port,
                                &out->network.tls) != LI_OK)
        return fail(errstr, errstr_size, "network.next_hop must be one or more MSRP URIs");
    fp = get_str(net, "fingerprint");
    if (fp) {
        if (msrp_relay_fingerprint_parse(fp, out->network.fingerprint) != LI_OK)
            return fail(errstr, errstr_size, "network.fingerprint must be \"sha-256 XX:XX:...\"");
        out->network.has_fingerprint = 1;
    }

    json_t *targets = json_object_get(root, "targets");
    json_t *target = json_object_get(root, "target");
    if (targets) {
        if (!json_is_array(targets))
            return fail(errstr, errstr_size, "targets must be an array of strings");
        size_t i;
        json_array_foreach(targets, i, v) {
            li_err err = add_target(out, v, errstr, errstr_size);
            if (err != LI_OK)
                return err;
        }
    }
    if (target) {
        li_err err = add_target(out, target, errstr, errstr_size);
        if (err != LI_OK)
            return err;
    }

    /* Policies (docs/PRINCIPLES.md 2): the IMS-AGW terminates the UE's TLS (TS 33.328 e2m), so
     * its UE leg is TLS; a TLS-only focus refuses every TCP leg. */
    if (out->mode == MSRP_RELAY_AGW && !out->ue.tls)
        return fail(errstr, errstr_size, "agw mode: the UE leg must be TLS");
    if (out->tls_only && (!out->ue.tls || !out->network.tls))
        return fail(errstr, errstr_size, "TLS-only policy: every leg must be TLS (msrps)");
    if (out->hop_responses && out->cema)
        return fail(errstr, errstr_size, "hop-by-hop responses need a relay that is not CEMA");
    if (out->ue.tls && !out->ue.has_fingerprint)
        return fail(errstr, errstr_size, "ue.fingerprint required for a TLS UE leg (RFC 8122)");
    return LI_OK;
}

li_err msrp_relay_req_parse(const char *json, size_t len, int tls_only_policy,
                            msrp_relay_req *out, char *errstr, size_t errstr_size)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(errstr, errstr_size, "invalid JSON: %s", jerr.text);
        return LI_ERR_INVAL;
    }
    li_err err = parse_obj(root, tls_only_policy, out, errstr, errstr_size);
    json_decref(root);
    return err;
}
