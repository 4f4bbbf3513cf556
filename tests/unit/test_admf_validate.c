/* Table-driven tests of the REST body validation (admf_validate.h): every rule of
 * docs/PRINCIPLES.md 6 / docs/REST.md refuses what it should, with the right code and field, and
 * accepts valid bodies with every field carried into the protobuf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "admf_validate.h"

#define NOW_MS 1790000000000LL /* 2026-09-21 */

static int dest_exists(void *ctx, const char *id)
{
    (void)ctx;
    return strcmp(id, "d1") == 0 || strcmp(id, "d2") == 0;
}

static int poi_exists(void *ctx, const char *id)
{
    (void)ctx;
    return strcmp(id, "p1") == 0;
}

static int liid_taken(void *ctx, const char *liid, const char *country, const char *self)
{
    (void)ctx;
    return strcmp(liid, "TAKEN1") == 0 && strcmp(country, "DE") == 0 &&
           !(self && strcmp(self, "w-owner") == 0);
}

static const admf_validate_env env_create = { NULL, dest_exists, liid_taken, poi_exists, NOW_MS,
                                            1, NULL };

/* A valid warrant body with one field replaced: "%s" is spliced in place of the field. */
#define W_OK "{\"liid\":\"LIID-1.a_b\",\"auth_country\":\"DE\",\"legal_reference\":\"AG Berlin 1/26\"," \
             "\"targets\":[{\"type\":\"sip-uri\",\"value\":\"sip:alice@example.com\"}," \
             "{\"type\":\"tel-uri\",\"value\":\"tel:+49-30-1234\"},{\"type\":\"e164\",\"value\":\"+4930999\"}," \
             "{\"type\":\"impu\",\"value\":\"sip:bob@ims.example\"}]," \
             "\"delivery\":\"iri+cc\",\"destination_ids\":[\"d1\",\"d2\"]," \
             "\"start\":\"2026-09-01T00:00:00Z\",\"end\":\"2027-01-01T00:00:00.5+01:00\"}"

typedef struct vector {
    const char *body;
    int status;                /* 0: accepted */
    const char *code;
    const char *field;
} vector;

static const vector warrant_vectors[] = {
    { .body = W_OK },
    { .body = "[]", .status = 400, .code = "invalid_body", .field = "" },
    { .body = "{\"liid\":\"X\",\"bogus\":1}", .status = 400, .code = "unknown_field",
      .field = "bogus" },
    { .body = "{\"auth_country\":\"DE\"}", .status = 400, .code = "missing_field", .field = "liid" },
    { .body = "{\"liid\":\"\"}", .status = 400, .code = "missing_field", .field = "liid" },
    { .body = "{\"liid\":\"12345678901234567890123456\"}", .status = 400, .code = "invalid_liid",
      .field = "liid" },
    { .body = "{\"liid\":\"has space\"}", .status = 400, .code = "invalid_liid", .field = "liid" },
    { .body = "{\"liid\":\"a/b\"}", .status = 400, .code = "invalid_liid", .field = "liid" },
    { .body = "{\"liid\":7}", .status = 400, .code = "invalid_type", .field = "liid" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"de\"}", .status = 400, .code = "invalid_country",
      .field = "auth_country" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DEU\"}", .status = 400, .code = "too_long",
      .field = "auth_country" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\"}", .status = 400, .code = "missing_field",
      .field = "legal_reference" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"a\\u0001\"}",
      .status = 400, .code = "invalid_value", .field = "legal_reference" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\"}", .status = 400,
      .code = "missing_field", .field = "targets" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[]}",
      .status = 400, .code = "invalid_type", .field = "targets" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"imsi\",\"value\":\"1\"}]}",
      .status = 400, .code = "invalid_target_type", .field = "targets[0]" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"sip-uri\",\"value\":\"alice\"}]}",
      .status = 400, .code = "invalid_target", .field = "targets[0]" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"tel-uri\",\"value\":\"sip:a@b\"}]}",
      .status = 400, .code = "invalid_target", .field = "targets[0]" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"tel-uri\",\"value\":\"tel:abc\"}]}",
      .status = 400, .code = "invalid_target", .field = "targets[0]" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"tel-uri\",\"value\":\"tel:1234;phone-context=+49\"},{\"type\":\"e164\",\"value\":\"+4930\"}],\"delivery\":\"x\"}",
      .status = 400, .code = "invalid_delivery", .field = "delivery" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\",\"value\":\"+12345678901234567\"}]}",
      .status = 400, .code = "invalid_target", .field = "targets[0]" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\",\"value\":\"+4930\"},{\"type\":\"tel-uri\",\"value\":\"tel:+49-30\"}]}",
      .status = 400, .code = "duplicate_target", .field = "targets[1]" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\",\"value\":\"+4930\",\"x\":1}]}",
      .status = 400, .code = "unknown_field", .field = "targets[0].x" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\"}]}",
      .status = 400, .code = "missing_field", .field = "targets[0].value" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\",\"value\":\"+4930\"}],\"delivery\":\"cc\"}",
      .status = 400, .code = "invalid_delivery", .field = "delivery" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\",\"value\":\"+4930\"}],\"delivery\":\"iri\"}",
      .status = 400, .code = "missing_field", .field = "destination_ids" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\",\"value\":\"+4930\"}],\"delivery\":\"iri\",\"destination_ids\":[\"d1\",\"d1\"]}",
      .status = 400, .code = "duplicate", .field = "destination_ids" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\",\"value\":\"+4930\"}],\"delivery\":\"iri\",\"destination_ids\":[\"a b\"]}",
      .status = 400, .code = "invalid_id", .field = "destination_ids" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\",\"value\":\"+4930\"}],\"delivery\":\"iri\",\"destination_ids\":[\"d1\"]}",
      .status = 400, .code = "missing_field", .field = "start" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\",\"value\":\"+4930\"}],\"delivery\":\"iri\",\"destination_ids\":[\"d1\"],\"start\":\"2026-13-01T00:00:00Z\",\"end\":\"2027-01-01T00:00:00Z\"}",
      .status = 400, .code = "invalid_time", .field = "start" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\",\"value\":\"+4930\"}],\"delivery\":\"iri\",\"destination_ids\":[\"d1\"],\"start\":\"2026-10-01\",\"end\":\"2027-01-01T00:00:00Z\"}",
      .status = 400, .code = "invalid_time", .field = "start" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\",\"value\":\"+4930\"}],\"delivery\":\"iri\",\"destination_ids\":[\"d1\"],\"start\":\"2027-01-01T00:00:00Z\",\"end\":\"2027-01-01T00:00:00Z\"}",
      .status = 400, .code = "end_before_start", .field = "end" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\",\"value\":\"+4930\"}],\"delivery\":\"iri\",\"destination_ids\":[\"d1\"],\"start\":\"2026-01-01T00:00:00Z\",\"end\":\"2026-02-01T00:00:00Z\"}",
      .status = 400, .code = "end_in_past", .field = "end" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\",\"value\":\"+4930\"}],\"delivery\":\"iri\",\"destination_ids\":[\"d9\"],\"start\":\"2026-01-01T00:00:00Z\",\"end\":\"2027-02-01T00:00:00Z\"}",
      .status = 400, .code = "unknown_destination", .field = "destination_ids" },
    /* RFC 3966 5.1.5 (li_ident_canon_target): a local number needs its phone-context, */
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"tel-uri\",\"value\":\"tel:1234\"}]}",
      .status = 400, .code = "invalid_target", .field = "targets[0]" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"impu\",\"value\":\"tel:1234;ext=5\"}]}",
      .status = 400, .code = "invalid_target", .field = "targets[0]" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"tel-uri\",\"value\":\"tel:1234;phone-context=exa_mple\"}]}",
      .status = 400, .code = "invalid_target", .field = "targets[0]" },
    /* which is part of its identity: the same number in two contexts is two targets, */
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"tel-uri\",\"value\":\"tel:1234;phone-context=+49\"},{\"type\":\"tel-uri\",\"value\":\"tel:1234;phone-context=+33\"}],\"delivery\":\"iri\",\"destination_ids\":[\"d1\"],\"start\":\"2026-01-01T00:00:00Z\",\"end\":\"2027-02-01T00:00:00Z\"}" },
    /* the same context spelled twice is one. */
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"tel-uri\",\"value\":\"tel:1234;phone-context=+49\"},{\"type\":\"impu\",\"value\":\"tel:12-34;phone-context=+4-9\"}]}",
      .status = 400, .code = "duplicate_target", .field = "targets[1]" },
    { .body = "{\"liid\":\"TAKEN1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\",\"value\":\"+4930\"}],\"delivery\":\"iri\",\"destination_ids\":[\"d1\"],\"start\":\"2026-01-01T00:00:00Z\",\"end\":\"2027-02-01T00:00:00Z\"}",
      .status = 409, .code = "liid_taken", .field = "liid" },
    { .body = "{\"liid\":\"TAKEN1\",\"auth_country\":\"FR\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\",\"value\":\"+4930\"}],\"delivery\":\"iri\",\"destination_ids\":[\"d1\"],\"start\":\"2026-01-01T00:00:00Z\",\"end\":\"2027-02-01T00:00:00Z\"}" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\",\"value\":\"+4930\"}],\"delivery\":\"iri\",\"destination_ids\":[\"d1\"],\"poi_ids\":[\"p2\"],\"start\":\"2026-01-01T00:00:00Z\",\"end\":\"2027-02-01T00:00:00Z\"}",
      .status = 400, .code = "unknown_poi", .field = "poi_ids" },
    { .body = "{\"liid\":\"L1\",\"auth_country\":\"DE\",\"legal_reference\":\"r\",\"targets\":[{\"type\":\"e164\",\"value\":\"+4930\"}],\"delivery\":\"iri\",\"destination_ids\":[\"d1\"],\"state\":\"bogus\",\"start\":\"2026-01-01T00:00:00Z\",\"end\":\"2027-02-01T00:00:00Z\"}",
      .status = 400, .code = "invalid_state", .field = "state" },
};

static void check(const vector *v, li_err e, const x1_verr *err, size_t i)
{
    if (v->status == 0) {
        if (e != LI_OK)
            fail_msg("vector %zu: refused %d %s %s: %s", i, err->status, err->code, err->field,
                     err->message);
        return;
    }
    if (e == LI_OK)
        fail_msg("vector %zu: accepted, expected %s", i, v->code);
    assert_int_equal(err->status, v->status);
    if (strcmp(err->code, v->code) != 0 || strcmp(err->field, v->field) != 0)
        fail_msg("vector %zu: got %s/%s, expected %s/%s", i, err->code, err->field, v->code,
                 v->field);
}

static void test_warrant_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof warrant_vectors / sizeof *warrant_vectors; i++) {
        json_error_t jerr;
        json_t *body = json_loads(warrant_vectors[i].body, JSON_REJECT_DUPLICATES, &jerr);
        if (!body)
            fail_msg("vector %zu: bad JSON: %s", i, jerr.text);
        Limf__Warrant w;
        x1_warrant_scratch s;
        x1_verr err;
        check(&warrant_vectors[i], admf_validate_warrant(body, &env_create, &w, &s, &err), &err, i);
        json_decref(body);
    }
}

static void test_warrant_fields(void **state)
{
    (void)state;
    json_t *body = json_loads(W_OK, 0, NULL);
    Limf__Warrant w;
    x1_warrant_scratch s;
    x1_verr err;
    assert_int_equal(admf_validate_warrant(body, &env_create, &w, &s, &err), LI_OK);
    assert_string_equal(w.liid, "LIID-1.a_b");
    assert_string_equal(w.auth_country, "DE");
    assert_string_equal(w.legal_reference, "AG Berlin 1/26");
    assert_int_equal(w.n_targets, 4);
    assert_string_equal(w.targets[1]->type, "tel-uri");
    assert_string_equal(w.targets[1]->value, "tel:+49-30-1234");
    assert_string_equal(w.delivery, "iri+cc");
    assert_int_equal(w.n_destination_ids, 2);
    assert_string_equal(w.destination_ids[1], "d2");
    assert_int_equal(w.start_ms, 1788220800000LL);
    /* 2027-01-01T00:00:00.5+01:00 is 2026-12-31T23:00:00.5Z */
    assert_int_equal(w.end_ms, 1798758000500LL);
    assert_true(w.state == NULL || w.state[0] == 0);
    /* The packed record round-trips. */
    uint8_t buf[2048];
    size_t n = limf__warrant__pack(&w, buf);
    Limf__Warrant *u = limf__warrant__unpack(NULL, n, buf);
    assert_non_null(u);
    assert_string_equal(u->targets[3]->value, "sip:bob@ims.example");
    limf__warrant__free_unpacked(u, NULL);

    /* The owner of a LIID may keep it on update; "deactivated" is the settable state. */
    admf_validate_env upd = env_create;
    upd.creating = 0;
    upd.self_id = "w-owner";
    json_object_set_new(body, "liid", json_string("TAKEN1"));
    json_object_set_new(body, "state", json_string("deactivated"));
    json_object_set_new(body, "xid", json_string("ignored"));
    assert_int_equal(admf_validate_warrant(body, &upd, &w, &s, &err), LI_OK);
    assert_string_equal(w.state, "deactivated");
    upd.self_id = "w-other";
    assert_int_equal(admf_validate_warrant(body, &upd, &w, &s, &err), LI_ERR_CONFLICT);
    json_decref(body);
}

#define D_BASE "\"hi2_address\":\"127.0.0.1:6000\",\"operator_id\":\"OP1\",\"network_element_id\":\"NE1\",\"delivery_country\":\"DE\""
#define FP "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"

static const vector destination_vectors[] = {
    { .body = "{" D_BASE ",\"pinned_sha256\":[\"" FP "\"]}" },
    { .body = "{" D_BASE ",\"ca_pem\":\"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n\"}" },
    { .body = "{" D_BASE ",\"transport\":\"tcp\",\"hi3_address\":\"[::1]:6001\"}" },
    { .body = "{" D_BASE "}", .status = 400, .code = "missing_trust", .field = "ca_pem" },
    { .body = "{" D_BASE ",\"ca_pem\":\"hello\"}", .status = 400, .code = "invalid_ca",
      .field = "ca_pem" },
    { .body = "{" D_BASE ",\"pinned_sha256\":[\"abcd\"]}", .status = 400,
      .code = "invalid_fingerprint", .field = "pinned_sha256" },
    { .body = "{" D_BASE ",\"transport\":\"udp\"}", .status = 400, .code = "invalid_transport",
      .field = "transport" },
    { .body = "{\"hi2_address\":\"host\",\"operator_id\":\"OP1\",\"network_element_id\":\"NE1\",\"delivery_country\":\"DE\"}",
      .status = 400, .code = "invalid_address", .field = "hi2_address" },
    { .body = "{\"hi2_address\":\"host:70000\",\"operator_id\":\"OP1\",\"network_element_id\":\"NE1\",\"delivery_country\":\"DE\"}",
      .status = 400, .code = "invalid_address", .field = "hi2_address" },
    { .body = "{\"hi2_address\":\"h:1\",\"operator_id\":\"12345678901234567\",\"network_element_id\":\"NE1\",\"delivery_country\":\"DE\"}",
      .status = 400, .code = "too_long", .field = "operator_id" },
    { .body = "{\"hi2_address\":\"h:1\",\"operator_id\":\"OP\",\"delivery_country\":\"DE\"}",
      .status = 400, .code = "missing_field", .field = "network_element_id" },
    { .body = "{" D_BASE ",\"transport\":\"tcp\",\"keepalive_interval_s\":0}", .status = 400,
      .code = "invalid_value", .field = "keepalive_interval_s" },
    { .body = "{" D_BASE ",\"transport\":\"tcp\",\"keepalive_timeout_s\":\"5\"}", .status = 400,
      .code = "invalid_value", .field = "keepalive_timeout_s" },
};

static void test_destination_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof destination_vectors / sizeof *destination_vectors; i++) {
        json_t *body = json_loads(destination_vectors[i].body, 0, NULL);
        assert_non_null(body);
        Limf__Destination d;
        x1_destination_scratch s;
        x1_verr err;
        li_err e = admf_validate_destination(body, &env_create, &d, &s, &err);
        check(&destination_vectors[i], e, &err, i);
        if (i == 2) {
            assert_string_equal(d.transport, "tcp");
            assert_string_equal(d.hi3_address, "[::1]:6001");
            assert_int_equal(d.keepalive_interval_s, 30);
        }
        json_decref(body);
    }
}

#define X_BASE "\"peer\":\"conf.example.net\",\"scope\":\"peer\",\"reason\":\"ticket 7\",\"approver\":\"CISO\""

static const vector exception_vectors[] = {
    { .body = "{\"fingerprint_sha256\":\"" FP "\"," X_BASE ",\"expires\":\"2027-01-01T00:00:00Z\"}" },
    { .body = "{\"fingerprint_sha256\":\"abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd\"," X_BASE ",\"expires\":\"2027-01-01T00:00:00Z\"}" },
    { .body = "{\"fingerprint_sha256\":\"abcdef\"," X_BASE ",\"expires\":\"2027-01-01T00:00:00Z\"}",
      .status = 400, .code = "invalid_fingerprint", .field = "fingerprint_sha256" },
    { .body = "{\"fingerprint_sha256\":\"zzcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd\"," X_BASE ",\"expires\":\"2027-01-01T00:00:00Z\"}",
      .status = 400, .code = "invalid_fingerprint", .field = "fingerprint_sha256" },
    { .body = "{\"fingerprint_sha256\":\"" FP "\"," X_BASE ",\"expires\":\"2026-01-01T00:00:00Z\"}",
      .status = 400, .code = "expires_in_past", .field = "expires" },
    { .body = "{\"fingerprint_sha256\":\"" FP "\",\"peer\":\"p\",\"scope\":\"world\",\"reason\":\"r\",\"approver\":\"a\",\"expires\":\"2027-01-01T00:00:00Z\"}",
      .status = 400, .code = "invalid_scope", .field = "scope" },
    { .body = "{\"fingerprint_sha256\":\"" FP "\",\"peer\":\"p\",\"scope\":\"peer\",\"approver\":\"a\",\"expires\":\"2027-01-01T00:00:00Z\"}",
      .status = 400, .code = "missing_field", .field = "reason" },
    { .body = "{\"fingerprint_sha256\":\"" FP "\",\"peer\":\"p\",\"scope\":\"peer\",\"reason\":\"r\",\"expires\":\"2027-01-01T00:00:00Z\"}",
      .status = 400, .code = "missing_field", .field = "approver" },
};

static void test_exception_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof exception_vectors / sizeof *exception_vectors; i++) {
        json_t *body = json_loads(exception_vectors[i].body, 0, NULL);
        assert_non_null(body);
        Limf__CertException x;
        x1_exception_scratch s;
        x1_verr err;
        li_err e = admf_validate_exception(body, &env_create, &x, &s, &err);
        check(&exception_vectors[i], e, &err, i);
        if (i == 0) {
            assert_int_equal(x.fingerprint_sha256.len, 32);
            assert_int_equal(x.fingerprint_sha256.data[0], 0xab);
            assert_int_equal(x.fingerprint_sha256.data[31], 0x89);
        }
        json_decref(body);
    }
}

static const vector poi_vectors[] = {
    { .body = "{\"role\":\"as\",\"x1_url\":\"https://127.0.0.1:9443/X1/NE\"}" },
    { .body = "{\"role\":\"sip\",\"x1_url\":\"https://[::1]:9443/X1/NE\",\"cert_sha256\":\"" FP "\",\"health\":\"ok\"}" },
    { .body = "{\"role\":\"pgw\",\"x1_url\":\"https://h:1/\"}", .status = 400,
      .code = "invalid_role", .field = "role" },
    { .body = "{\"role\":\"agw\",\"x1_url\":\"http://h:1/X1/NE\"}", .status = 400,
      .code = "invalid_url", .field = "x1_url" },
    { .body = "{\"role\":\"agw\",\"x1_url\":\"https://h/X1/NE\"}", .status = 400,
      .code = "invalid_url", .field = "x1_url" },
    { .body = "{\"role\":\"agw\",\"x1_url\":\".1:9\"}", .status = 400, .code = "invalid_url",
      .field = "x1_url" },
    { .body = "{\"role\":\"agw\",\"x1_url\":\"https://\"}", .status = 400, .code = "invalid_url",
      .field = "x1_url" },
    { .body = "{\"role\":\"agw\",\"x1_url\":\"https://h:1/X1/NE\",\"cert_sha256\":\"00\"}",
      .status = 400, .code = "invalid_fingerprint", .field = "cert_sha256" },
};

static void test_poi_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof poi_vectors / sizeof *poi_vectors; i++) {
        json_t *body = json_loads(poi_vectors[i].body, 0, NULL);
        assert_non_null(body);
        Limf__InterceptPoint p;
        x1_poi_scratch s;
        x1_verr err;
        check(&poi_vectors[i], admf_validate_poi(body, &env_create, &p, &s, &err), &err, i);
        json_decref(body);
    }
}

static void test_helpers(void **state)
{
    (void)state;
    assert_true(x1_valid_id("w-1.a_B"));
    assert_true(x1_valid_id("..."));
    assert_false(x1_valid_id(".."));
    assert_false(x1_valid_id("."));
    assert_false(x1_valid_id(""));
    assert_false(x1_valid_id("a/b"));
    assert_true(x1_valid_id("123456789012345678901234567890123456789012345678901234567890123"));
    assert_false(x1_valid_id("1234567890123456789012345678901234567890123456789012345678901234"));
    /* printable UTF-8: no C0, DEL or C1 controls, no malformed sequences */
    assert_true(x1_valid_text("AG Berlin 12/26 \xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80", 25, 0));
    assert_false(x1_valid_text("a\x1b[2Jb", 7, 0));
    assert_false(x1_valid_text("a\x7f", 2, 0));
    assert_false(x1_valid_text("a\xc2\x9b" "31m", 6, 0)); /* C1 CSI */
    assert_false(x1_valid_text("\xc0\xaf", 2, 0));        /* overlong '/' */
    assert_false(x1_valid_text("\xed\xa0\x80", 3, 0));    /* surrogate */
    assert_false(x1_valid_text("\xe2\x82", 2, 0));        /* truncated */
    assert_false(x1_valid_text("\xff", 1, 0));
    assert_false(x1_valid_text("a\nb", 3, 0));
    assert_true(x1_valid_text("a\r\nb", 4, 1));
    assert_true(x1_valid_liid("A"));
    assert_true(x1_valid_liid("1234567890123456789012345"));
    assert_false(x1_valid_liid("12345678901234567890123456"));
    assert_false(x1_valid_liid(""));
    assert_false(x1_valid_liid("ä"));
    assert_true(x1_valid_hostport("a.b-c:1"));
    assert_true(x1_valid_hostport("[fe80::1]:65535"));
    assert_false(x1_valid_hostport(":1"));
    assert_false(x1_valid_hostport("a:0"));
    assert_false(x1_valid_hostport("a:"));
    assert_false(x1_valid_hostport("a b:1"));
    assert_false(x1_valid_hostport("[]:1"));
    uint8_t fp[32];
    assert_int_equal(x1_parse_sha256(FP, fp), LI_OK);
    assert_int_equal(x1_parse_sha256(FP "0", fp), LI_ERR_PROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warrant_vectors), cmocka_unit_test(test_warrant_fields),
        cmocka_unit_test(test_destination_vectors), cmocka_unit_test(test_exception_vectors),
        cmocka_unit_test(test_poi_vectors), cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
