#include "audit_chain.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "li_bytes.h"
#include "li_time.h"

#define N_TEXT 8

static const char *const text_fields[N_TEXT] = { "actor", "role", "action", "object",
                                                 "outcome", "reason", "detail", "key_id" };

static const char *text_of(const Limf__AuditEvent *ev, int i)
{
    const char *v[N_TEXT] = { ev->actor, ev->role, ev->action, ev->object, ev->outcome,
                              ev->reason, ev->detail, ev->key_id };
    return v[i] ? v[i] : "";
}

li_err audit_chain_key_set(audit_chain_key *k, const uint8_t *key, size_t len)
{
    uint8_t d[32];
    unsigned int n = 0;
    if (len < 32 || len > sizeof k->key)
        return LI_ERR_INVAL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(md, "limf-audit-key-id", 17) && EVP_DigestUpdate(md, key, len) &&
             EVP_DigestFinal_ex(md, d, &n);
    EVP_MD_CTX_free(md);
    if (!ok)
        return LI_ERR;
    memcpy(k->key, key, len);
    k->len = len;
    li_hex_encode(d, 8, k->id);
    OPENSSL_cleanse(d, sizeof d);
    return LI_OK;
}

li_err audit_chain_key_load(const char *path, audit_chain_key *k, char *errstr, size_t n)
{
    char text[160];
    uint8_t raw[64];
    size_t got, len = 0;
    struct stat st;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, n, "%s: %s", path, strerror(errno));
        return LI_ERR_IO;
    }
    /* A key others can read is a key the Kafka administrator may hold. */
    if (fstat(fileno(f), &st) != 0 || (st.st_mode & 077)) {
        fclose(f);
        snprintf(errstr, n, "%s: readable by group or others (chmod 600)", path);
        return LI_ERR_INVAL;
    }
    got = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    while (got && (text[got - 1] == '\n' || text[got - 1] == '\r'))
        got--;
    li_err e = LI_ERR_INVAL;
    if (got >= 64 && got <= 128 && got % 2 == 0 &&
        li_hex_decode(text, got, 0, raw, sizeof raw, &len) == LI_OK)
        e = audit_chain_key_set(k, raw, len);
    OPENSSL_cleanse(text, sizeof text);
    OPENSSL_cleanse(raw, sizeof raw);
    if (e != LI_OK)
        snprintf(errstr, n, "%s: not an audit key (64-128 hex digits)", path);
    return e;
}

/* One HMAC computation over a list of parts. */
typedef struct mac_part {
    const void *p;
    size_t n;
} mac_part;

static li_err mac(const audit_chain_key *k, const mac_part *parts, size_t n_parts,
                  uint8_t out[32])
{
    size_t len = 0;
    OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                            OSSL_PARAM_construct_end() };
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *h = m ? EVP_MAC_CTX_new(m) : NULL;
    int ok = h && EVP_MAC_init(h, k->key, k->len, params);
    for (size_t i = 0; ok && i < n_parts; i++)
        ok = EVP_MAC_update(h, parts[i].p, parts[i].n);
    ok = ok && EVP_MAC_final(h, out, &len, 32) && len == 32;
    EVP_MAC_CTX_free(h);
    EVP_MAC_free(m);
    return ok ? LI_OK : LI_ERR;
}

li_err audit_chain_hash(const Limf__AuditEvent *ev, const audit_chain_key *k, uint8_t out[32])
{
    uint8_t index[8], at[8], lens[N_TEXT][4];
    mac_part parts[4 + 2 * N_TEXT] = { { "limf-audit-v2", 13 } };
    size_t np = 1;
    if (ev->prev_hash.len != 32)
        return LI_ERR_PROTO;
    li_put_be64(index, ev->index);
    li_put_be64(at, (uint64_t)ev->at_ms);
    parts[np++] = (mac_part){ ev->prev_hash.data, 32 };
    parts[np++] = (mac_part){ index, 8 };
    parts[np++] = (mac_part){ at, 8 };
    for (int i = 0; i < N_TEXT; i++) {
        const char *t = text_of(ev, i);
        li_put_be32(lens[i], (uint32_t)strlen(t));
        parts[np++] = (mac_part){ lens[i], 4 };
        parts[np++] = (mac_part){ t, strlen(t) };
    }
    return mac(k, parts, np, out);
}

li_err audit_chain_pseudonym(const audit_chain_key *k, const char *what, const char *value,
                             char out[AUDIT_PSEUDONYM_SIZE])
{
    uint8_t m[32];
    mac_part parts[] = { { "limf-audit-pseudonym-v1", 23 }, { what, strlen(what) + 1 },
                         { value, strlen(value) } };
    if (mac(k, parts, sizeof parts / sizeof *parts, m) != LI_OK)
        return LI_ERR;
    memcpy(out, "hmac:", 5);
    li_hex_encode(m, 16, out + 5);
    return LI_OK;
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
    for (int i = 0; i < N_TEXT; i++)
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
    char **dst[N_TEXT];
    limf__audit_event__init(ev);
    dst[0] = &ev->actor, dst[1] = &ev->role, dst[2] = &ev->action, dst[3] = &ev->object;
    dst[4] = &ev->outcome, dst[5] = &ev->reason, dst[6] = &ev->detail, dst[7] = &ev->key_id;
    json_t *index = json_object_get(j, "index"), *at = json_object_get(j, "at_ms");
    if (!json_is_object(j) || !json_is_integer(index) || json_integer_value(index) < 0 ||
        !json_is_integer(at))
        return LI_ERR_PROTO;
    ev->index = (uint64_t)json_integer_value(index);
    ev->at_ms = json_integer_value(at);
    for (int i = 0; i < N_TEXT; i++) {
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

/* ---- checkpoints ---- */

static li_err checkpoint_mac(const audit_checkpoint *cp, const audit_chain_key *k,
                             uint8_t out[32])
{
    uint8_t index[8], at[8], len[4];
    li_put_be64(index, cp->index);
    li_put_be64(at, (uint64_t)cp->at_ms);
    li_put_be32(len, (uint32_t)strlen(cp->key_id));
    mac_part parts[] = { { "limf-audit-checkpoint-v1", 24 }, { index, 8 }, { cp->head, 32 },
                         { at, 8 }, { len, 4 }, { cp->key_id, strlen(cp->key_id) } };
    return mac(k, parts, sizeof parts / sizeof *parts, out);
}

li_err audit_checkpoint_sign(audit_checkpoint *cp, const audit_chain_key *k)
{
    memcpy(cp->key_id, k->id, sizeof cp->key_id);
    return checkpoint_mac(cp, k, cp->mac);
}

int audit_checkpoint_valid(const audit_checkpoint *cp, const audit_chain_key *k)
{
    uint8_t m[32];
    return strcmp(cp->key_id, k->id) == 0 && checkpoint_mac(cp, k, m) == LI_OK &&
           CRYPTO_memcmp(m, cp->mac, 32) == 0;
}

json_t *audit_checkpoint_to_json(const audit_checkpoint *cp)
{
    char at[40], head[65], m[65];
    li_time_format_rfc3339((uint64_t)cp->at_ms * 1000000u, 3, at, sizeof at);
    li_hex_encode(cp->head, 32, head);
    li_hex_encode(cp->mac, 32, m);
    return json_pack("{s:I,s:s,s:s,s:I,s:s,s:s}", "index", (json_int_t)cp->index, "head", head,
                     "at", at, "at_ms", (json_int_t)cp->at_ms, "key_id", cp->key_id, "mac", m);
}

li_err audit_checkpoint_from_json(const json_t *j, audit_checkpoint *cp)
{
    json_t *index = json_object_get(j, "index"), *at = json_object_get(j, "at_ms");
    json_t *kid = json_object_get(j, "key_id");
    memset(cp, 0, sizeof *cp);
    if (!json_is_integer(index) || json_integer_value(index) < 0 || !json_is_integer(at) ||
        !json_is_string(kid) || json_string_length(kid) != 16 ||
        strlen(json_string_value(kid)) != 16 ||
        hex32(j, "head", cp->head) != LI_OK || hex32(j, "mac", cp->mac) != LI_OK)
        return LI_ERR_PROTO;
    cp->index = (uint64_t)json_integer_value(index);
    cp->at_ms = json_integer_value(at);
    memcpy(cp->key_id, json_string_value(kid), 17);
    return LI_OK;
}

/* ---- the verifier ---- */

void audit_chain_verifier_init(audit_chain_verifier *v, const audit_chain_key *keys,
                               size_t n_keys)
{
    memset(v, 0, sizeof *v);
    v->keys = keys;
    v->n_keys = n_keys;
}

static const audit_chain_key *key_named(const audit_chain_verifier *v, const char *id)
{
    for (size_t i = 0; id && i < v->n_keys; i++)
        if (strcmp(v->keys[i].id, id) == 0)
            return &v->keys[i];
    return NULL;
}

__attribute__((format(printf, 3, 4))) static li_err broken(audit_chain_verifier *v,
                                                           uint64_t index, const char *fmt, ...)
{
    va_list ap;
    v->broken = 1;
    v->broken_index = index;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof v->reason, fmt, ap);
    va_end(ap);
    return LI_ERR_PROTO;
}

li_err audit_chain_verifier_anchor(audit_chain_verifier *v, const audit_checkpoint *cp)
{
    const audit_chain_key *k = key_named(v, cp->key_id);
    if (v->n_anchors == AUDIT_CHAIN_MAX_ANCHORS)
        return LI_ERR_FULL;
    if (!k || !audit_checkpoint_valid(cp, k)) {
        snprintf(v->reason, sizeof v->reason, "checkpoint of event %" PRIu64
                 " is not signed by a given key", cp->index);
        return LI_ERR_INVAL;
    }
    v->anchors[v->n_anchors++] = *cp;
    return LI_OK;
}

/* The anchor at `index`, or NULL. */
static const audit_checkpoint *anchor_at(const audit_chain_verifier *v, uint64_t index)
{
    for (size_t i = 0; i < v->n_anchors; i++)
        if (v->anchors[i].index == index)
            return &v->anchors[i];
    return NULL;
}

/* The run's first event: event 0, or the one after an anchor. */
static li_err check_start(audit_chain_verifier *v, const Limf__AuditEvent *ev)
{
    static const uint8_t zero[32];
    if (ev->index == 0) {
        if (memcmp(ev->prev_hash.data, zero, 32) != 0)
            return broken(v, 0, "the first event's prev_hash is not zero");
        return LI_OK;
    }
    const audit_checkpoint *a = anchor_at(v, ev->index - 1);
    if (!a)
        return broken(v, ev->index, "the trail starts at event %" PRIu64 ", not 0, and no "
                      "checkpoint anchors event %" PRIu64 ": earlier events are missing",
                      ev->index, ev->index - 1);
    if (memcmp(ev->prev_hash.data, a->head, 32) != 0)
        return broken(v, ev->index, "prev_hash differs from the checkpoint of event %" PRIu64,
                      a->index);
    return LI_OK;
}

li_err audit_chain_verifier_feed(audit_chain_verifier *v, const Limf__AuditEvent *ev)
{
    uint8_t h[32];
    if (v->broken)
        return LI_ERR_PROTO;
    if (ev->prev_hash.len != 32 || ev->hash.len != 32)
        return broken(v, ev->index, "hash fields are not 32 octets");
    if (v->count == 0) {
        if (check_start(v, ev) != LI_OK)
            return LI_ERR_PROTO;
        v->first_index = ev->index;
    } else {
        if (ev->index != v->next_index)
            return broken(v, v->next_index, "event missing or out of order (index gap)");
        if (memcmp(ev->prev_hash.data, v->last_hash, 32) != 0)
            return broken(v, ev->index, "prev_hash does not match the previous event's hash");
    }
    const audit_chain_key *k = key_named(v, ev->key_id);
    if (!k)
        return broken(v, ev->index, "MACed with key \"%.16s\", which is not a given key",
                      ev->key_id ? ev->key_id : "");
    if (audit_chain_hash(ev, k, h) != LI_OK || CRYPTO_memcmp(h, ev->hash.data, 32) != 0)
        return broken(v, ev->index, "MAC does not match the event's content");
    const audit_checkpoint *a = anchor_at(v, ev->index);
    if (a && memcmp(a->head, h, 32) != 0)
        return broken(v, ev->index, "hash differs from the checkpoint of this event");
    memcpy(v->last_hash, h, 32);
    v->next_index = ev->index + 1;
    v->count++;
    return LI_OK;
}

li_err audit_chain_verifier_finish(audit_chain_verifier *v)
{
    if (v->broken)
        return LI_ERR_PROTO;
    for (size_t i = 0; i < v->n_anchors; i++) {
        uint64_t want = v->anchors[i].index;
        if (v->count == 0 || want >= v->next_index)
            return broken(v, v->count ? v->next_index : want,
                          "the trail ends before event %" PRIu64 " of a checkpoint: its newest "
                          "events are missing", want);
        if (want + 1 < v->first_index)
            return broken(v, want, "the trail starts after event %" PRIu64 " of a checkpoint",
                          want);
    }
    return LI_OK;
}
