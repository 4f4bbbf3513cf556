#include "admf_json.h"

#include <string.h>

#include "li_bytes.h"
#include "li_time.h"

void x1_json_time(int64_t ms, char *out, size_t out_size)
{
    li_time_format_rfc3339((uint64_t)(ms < 0 ? 0 : ms) * 1000000u, 3, out, out_size);
}

const char *x1_warrant_state(const Limf__Warrant *w, int64_t now_ms)
{
    if (w->state && strcmp(w->state, "deactivated") == 0)
        return "deactivated";
    if (now_ms < w->start_ms)
        return "pending";
    return now_ms < w->end_ms ? "active" : "expired";
}

static void set_time(json_t *j, const char *key, int64_t ms)
{
    char t[40];
    x1_json_time(ms, t, sizeof t);
    json_object_set_new(j, key, json_string(t));
}

static void set_str(json_t *j, const char *key, const char *v)
{
    json_object_set_new(j, key, json_string(v ? v : ""));
}

static void set_strings(json_t *j, const char *key, char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    json_object_set_new(j, key, a);
}

static void set_hex(json_t *j, const char *key, ProtobufCBinaryData b)
{
    char hex[65];
    if (b.len != 32) {
        set_str(j, key, "");
        return;
    }
    li_hex_encode(b.data, 32, hex);
    set_str(j, key, hex);
}

static void set_provenance(json_t *j, const char *key, const Limf__Provenance *p)
{
    if (!p)
        return;
    char t[40];
    x1_json_time(p->at_ms, t, sizeof t);
    json_object_set_new(j, key, json_pack("{s:s,s:s,s:s}", "actor", p->actor ? p->actor : "",
                                          "at", t, "reason", p->reason ? p->reason : ""));
}

static json_t *warrant(const Limf__Warrant *w, int64_t now_ms)
{
    char xid[37] = "";
    json_t *j = json_object(), *targets = json_array();
    set_str(j, "id", w->id);
    set_str(j, "liid", w->liid);
    set_str(j, "auth_country", w->auth_country);
    set_str(j, "legal_reference", w->legal_reference);
    for (size_t i = 0; i < w->n_targets; i++)
        json_array_append_new(targets, json_pack("{s:s,s:s}", "type", w->targets[i]->type,
                                                 "value", w->targets[i]->value));
    json_object_set_new(j, "targets", targets);
    set_str(j, "delivery", w->delivery);
    set_strings(j, "destination_ids", w->destination_ids, w->n_destination_ids);
    set_strings(j, "poi_ids", w->poi_ids, w->n_poi_ids);
    set_time(j, "start", w->start_ms);
    set_time(j, "end", w->end_ms);
    set_str(j, "state", x1_warrant_state(w, now_ms));
    if (w->xid.len == 16)
        li_uuid_format(w->xid.data, xid);
    set_str(j, "xid", xid);
    json_object_set_new(j, "version", json_integer((json_int_t)w->version));
    set_provenance(j, "created", w->created);
    set_provenance(j, "updated", w->updated);
    return j;
}

static json_t *destination(const Limf__Destination *d)
{
    json_t *j = json_object();
    set_str(j, "id", d->id);
    set_str(j, "name", d->name);
    set_str(j, "hi2_address", d->hi2_address);
    set_str(j, "hi3_address", d->hi3_address);
    set_str(j, "transport", d->transport);
    set_str(j, "ca_pem", d->ca_pem);
    set_strings(j, "pinned_sha256", d->pinned_sha256, d->n_pinned_sha256);
    set_str(j, "peer_name", d->peer_name);
    set_str(j, "topic_suffix", d->topic_suffix);
    set_str(j, "operator_id", d->operator_id);
    set_str(j, "network_element_id", d->network_element_id);
    set_str(j, "delivery_country", d->delivery_country);
    json_object_set_new(j, "keepalive_interval_s", json_integer(d->keepalive_interval_s));
    json_object_set_new(j, "keepalive_timeout_s", json_integer(d->keepalive_timeout_s));
    json_object_set_new(j, "version", json_integer((json_int_t)d->version));
    set_provenance(j, "created", d->created);
    set_provenance(j, "updated", d->updated);
    return j;
}

static json_t *exception(const Limf__CertException *x)
{
    json_t *j = json_object();
    set_str(j, "id", x->id);
    set_hex(j, "fingerprint_sha256", x->fingerprint_sha256);
    set_str(j, "peer", x->peer);
    set_str(j, "scope", x->scope);
    set_str(j, "reason", x->reason);
    set_str(j, "approver", x->approver);
    set_time(j, "expires", x->expires_ms);
    json_object_set_new(j, "version", json_integer((json_int_t)x->version));
    set_provenance(j, "created", x->created);
    set_provenance(j, "updated", x->updated);
    return j;
}

static json_t *poi(const Limf__InterceptPoint *p)
{
    json_t *j = json_object();
    set_str(j, "id", p->id);
    set_str(j, "role", p->role);
    set_str(j, "x1_url", p->x1_url);
    if (p->cert_sha256.len == 32)
        set_hex(j, "cert_sha256", p->cert_sha256);
    if (p->x2x3_cert_sha256.len == 32)
        set_hex(j, "x2x3_cert_sha256", p->x2x3_cert_sha256);
    set_str(j, "health", p->health && *p->health ? p->health : "unknown");
    if (p->last_audit) {
        char t[40];
        x1_json_time(p->last_audit->at_ms, t, sizeof t);
        json_object_set_new(j, "last_audit",
                            json_pack("{s:s,s:s,s:i,s:i,s:s}", "at", t, "outcome",
                                      p->last_audit->outcome ? p->last_audit->outcome : "",
                                      "missing", (int)p->last_audit->missing, "extra",
                                      (int)p->last_audit->extra, "detail",
                                      p->last_audit->detail ? p->last_audit->detail : ""));
    } else {
        json_object_set_new(j, "last_audit", json_null());
    }
    json_object_set_new(j, "version", json_integer((json_int_t)p->version));
    set_provenance(j, "created", p->created);
    set_provenance(j, "updated", p->updated);
    return j;
}

json_t *x1_json_render(x1_kind kind, const ProtobufCMessage *msg, int64_t now_ms)
{
    switch (kind) {
    case X1_KIND_WARRANT:
        return warrant((const Limf__Warrant *)msg, now_ms);
    case X1_KIND_DESTINATION:
        return destination((const Limf__Destination *)msg);
    case X1_KIND_EXCEPTION:
        return exception((const Limf__CertException *)msg);
    case X1_KIND_POI:
        return poi((const Limf__InterceptPoint *)msg);
    default:
        return NULL;
    }
}
