#include "audit_chain.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "li_bytes.h"
#include "li_time.h"

static const char *const text_fields[7] = { "actor", "role", "action", "object", "outcome",
                                             "reason", "detail" };

static const char *text_of(const Limf__AuditEvent *ev, int i)
{
    const char *v[7] = { ev->actor, ev->role, ev->action, ev->object, ev->outcome,
                         ev->reason, ev->detail };
    return v[i] ? v[i] : "";
}

li_err audit_chain_hash(const Limf__AuditEvent *ev, uint8_t out[32])
{
    uint8_t num[8];
    unsigned int n = 0;
    if (ev->prev_hash.len != 32)
        return LI_ERR_PROTO;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return LI_ERR_NOMEM;
    int ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(md, "limf-audit-v1", 13) &&
             EVP_DigestUpdate(md, ev->prev_hash.data, 32);
    li_put_be64(num, ev->index);
    ok = ok && EVP_DigestUpdate(md, num, 8);
    li_put_be64(num, (uint64_t)ev->at_ms);
    ok = ok && EVP_DigestUpdate(md, num, 8);
    for (int i = 0; i < 7 && ok; i++) {
        const char *t = text_of(ev, i);
        size_t len = strlen(t);
        li_put_be32(num, (uint32_t)len);
        ok = EVP_DigestUpdate(md, num, 4) && EVP_DigestUpdate(md, t, len);
    }
    ok = ok && EVP_DigestFinal_ex(md, out, &n) && n == 32;
    EVP_MD_CTX_free(md);
    return ok ? LI_OK : LI_ERR;
}

json_t *audit_chain_to_json(const Limf__AuditEvent *ev)
{
    char at[40], prev[65] = "", hash[65] = "";
    li_time_format_rfc3339((uint64_t)ev->at_ms * 1000000u, 3, at, sizeof at);
    if (ev->prev_hash.len == 32)
        li_hex_encode(ev->prev_hash.data, 32, prev);
    if (ev->hash.len == 32)
        li_hex_encode(ev->hash.data, 32, hash);
    json_t *j = json_pack("{s:I,s:s,s:I}", "index", (json_int_t)ev->index, "at", at, "at_ms",
                          (json_int_t)ev->at_ms);
    for (int i = 0; i < 7; i++)
        json_object_set_new(j, text_fields[i], json_string(text_of(ev, i)));
    json_object_set_new(j, "prev_hash", json_string(prev));
    json_object_set_new(j, "hash", json_string(hash));
    return j;
}

static li_err hex32(const json_t *j, const char *key, uint8_t out[32])
{
    json_t *v = json_object_get(j, key);
    size_t n = 0;
    if (!json_is_string(v) || json_string_length(v) != 64 ||
        li_hex_decode(json_string_value(v), 64, 0, out, 32, &n) != LI_OK || n != 32)
        return LI_ERR_PROTO;
    return LI_OK;
}

li_err audit_chain_from_json(const json_t *j, Limf__AuditEvent *ev, uint8_t prev[32],
                          uint8_t hash[32])
{
    char **dst[7];
    limf__audit_event__init(ev);
    dst[0] = &ev->actor, dst[1] = &ev->role, dst[2] = &ev->action, dst[3] = &ev->object;
    dst[4] = &ev->outcome, dst[5] = &ev->reason, dst[6] = &ev->detail;
    json_t *index = json_object_get(j, "index"), *at = json_object_get(j, "at_ms");
    if (!json_is_object(j) || !json_is_integer(index) || json_integer_value(index) < 0 ||
        !json_is_integer(at))
        return LI_ERR_PROTO;
    ev->index = (uint64_t)json_integer_value(index);
    ev->at_ms = json_integer_value(at);
    for (int i = 0; i < 7; i++) {
        json_t *v = json_object_get(j, text_fields[i]);
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
            return LI_ERR_PROTO;
        *dst[i] = (char *)json_string_value(v);
    }
    if (hex32(j, "prev_hash", prev) != LI_OK || hex32(j, "hash", hash) != LI_OK)
        return LI_ERR_PROTO;
    ev->prev_hash.data = prev;
    ev->prev_hash.len = 32;
    ev->hash.data = hash;
    ev->hash.len = 32;
    return LI_OK;
}

void audit_chain_verifier_init(audit_chain_verifier *v)
{
    memset(v, 0, sizeof *v);
}

static li_err broken(audit_chain_verifier *v, uint64_t index, const char *reason)
{
    v->broken = 1;
    v->broken_index = index;
    snprintf(v->reason, sizeof v->reason, "%s", reason);
    return LI_ERR_PROTO;
}

li_err audit_chain_verifier_feed(audit_chain_verifier *v, const Limf__AuditEvent *ev)
{
    static const uint8_t zero[32];
    uint8_t h[32];
    if (v->broken)
        return LI_ERR_PROTO;
    if (ev->prev_hash.len != 32 || ev->hash.len != 32)
        return broken(v, ev->index, "hash fields are not 32 octets");
    if (v->count == 0) {
        if (ev->index == 0 && memcmp(ev->prev_hash.data, zero, 32) != 0)
            return broken(v, ev->index, "the first event's prev_hash is not zero");
    } else {
        if (ev->index != v->next_index)
            return broken(v, v->next_index, "event missing or out of order (index gap)");
        if (memcmp(ev->prev_hash.data, v->last_hash, 32) != 0)
            return broken(v, ev->index, "prev_hash does not match the previous event's hash");
    }
    if (audit_chain_hash(ev, h) != LI_OK || memcmp(h, ev->hash.data, 32) != 0)
        return broken(v, ev->index, "hash does not match the event's content");
    memcpy(v->last_hash, h, 32);
    v->next_index = ev->index + 1;
    v->count++;
    return LI_OK;
}
