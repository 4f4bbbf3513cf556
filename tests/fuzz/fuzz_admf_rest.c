/* Fuzzes the JSON inputs of limf-admf: REST bodies parsed as the daemon does (duplicate
 * keys refused) and validated as each of the four kinds of object, the packed record
 * (what would go to limf.admin) must unpack again; and a line of an exported audit file
 * as limf-audit-verify reads it, and a checkpoint (a file of GET /v1/audit/checkpoint, or
 * an export's start line) must round-trip. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "audit_chain.h"
#include "admf_validate.h"

static int yes(void *ctx, const char *id)
{
    (void)ctx;
    return id[0] != 'x';
}

static int taken(void *ctx, const char *liid, const char *country, const char *self)
{
    (void)ctx, (void)country, (void)self;
    return liid[0] == 'T';
}

static void roundtrip(const ProtobufCMessage *m)
{
    static uint8_t buf[1 << 20];
    size_t n = protobuf_c_message_get_packed_size(m);
    if (n > sizeof buf)
        __builtin_trap();
    protobuf_c_message_pack(m, buf);
    ProtobufCMessage *u = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
    if (!u)
        __builtin_trap();
    protobuf_c_message_free_unpacked(u, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    admf_validate_env env = { NULL, yes, taken, yes, 1790000000000LL, 1, NULL };
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!body)
        return 0;
    x1_verr err;
    Limf__Warrant w;
    x1_warrant_scratch ws;
    if (admf_validate_warrant(body, &env, &w, &ws, &err) == LI_OK)
        roundtrip(&w.base);
    Limf__Destination d;
    x1_destination_scratch ds;
    if (admf_validate_destination(body, &env, &d, &ds, &err) == LI_OK)
        roundtrip(&d.base);
    Limf__CertException x;
    x1_exception_scratch xs;
    if (admf_validate_exception(body, &env, &x, &xs, &err) == LI_OK)
        roundtrip(&x.base);
    Limf__InterceptPoint p;
    x1_poi_scratch ps;
    if (admf_validate_poi(body, &env, &p, &ps, &err) == LI_OK)
        roundtrip(&p.base);
    Limf__AuditEvent ev;
    uint8_t prev[32], hash[32];
    if (audit_chain_from_json(body, &ev, prev, hash) == LI_OK) {
        audit_chain_verifier v;
        audit_chain_verifier_init(&v, NULL, 0);
        audit_chain_verifier_feed(&v, &ev);
        json_t *again = audit_chain_to_json(&ev);
        if (!again)
            __builtin_trap();
        json_decref(again);
    }
    audit_checkpoint cp;
    if (audit_checkpoint_from_json(body, &cp) == LI_OK) {
        json_t *again = audit_checkpoint_to_json(&cp);
        audit_checkpoint back;
        if (!again || audit_checkpoint_from_json(again, &back) != LI_OK ||
            memcmp(&back, &cp, sizeof cp) != 0)
            __builtin_trap();
        json_decref(again);
    }
    json_t *start = json_object_get(body, "checkpoint");
    if (start && audit_checkpoint_from_json(start, &cp) == LI_OK) {
        audit_chain_verifier v;
        audit_chain_verifier_init(&v, NULL, 0);
        audit_chain_verifier_anchor(&v, &cp);
    }
    if (json_is_string(body))
        x1_valid_text(json_string_value(body), json_string_length(body), 0);
    json_decref(body);
    return 0;
}
