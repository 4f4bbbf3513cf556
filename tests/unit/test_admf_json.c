/* The JSON views (admf_json.h) are what clients GET and PUT back: for every kind of
 * object, validating the rendered view of a stored object gives the same record again, and
 * the derived warrant state follows the clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "admf_json.h"
#include "admf_validate.h"

#define NOW 1790000000000LL

static int yes(void *ctx, const char *id)
{
    (void)ctx, (void)id;
    return 1;
}

static const admf_validate_env env = { NULL, yes, NULL, yes, NOW, 0, "self" };

/* One valid body per kind (parenthesized: each element is a concatenation). */
static const char *const bodies[X1_KIND_COUNT] = {
    ("{\"liid\":\"L-1\",\"auth_country\":\"DE\",\"legal_reference\":\"AG 1\",\"targets\":["
     "{\"type\":\"sip-uri\",\"value\":\"sip:alice@example.com\"},{\"type\":\"e164\",\"value\":"
     "\"+4930123\"}],\"delivery\":\"iri+cc\",\"destination_ids\":[\"d1\",\"d2\"],\"poi_ids\":"
     "[\"p1\"],\"start\":\"2026-09-01T00:00:00.250Z\",\"end\":\"2027-09-01T00:00:00Z\"}"),
    ("{\"name\":\"LEA\",\"hi2_address\":\"127.0.0.1:6000\",\"hi3_address\":\"[::1]:6001\","
     "\"ca_pem\":\"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n\","
     "\"pinned_sha256\":[\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
     "\"],\"peer_name\":\"lemf\",\"operator_id\":\"OP\",\"network_element_id\":\"NE\","
     "\"delivery_country\":\"FR\",\"keepalive_interval_s\":7,\"keepalive_timeout_s\":3}"),
    ("{\"fingerprint_sha256\":\"AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:"
     "45:67:89:AB:CD:EF:01:23:45:67:89\",\"peer\":\"conf.example.net\",\"scope\":\"session\","
     "\"reason\":\"ticket\",\"approver\":\"CISO\",\"expires\":\"2027-01-01T00:00:00Z\"}"),
    ("{\"role\":\"agw\",\"x1_url\":\"https://127.0.0.1:9443/X1/NE\",\"cert_sha256\":\""
     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}"),
};

typedef union msg {
    ProtobufCMessage base;
    Limf__Warrant w;
    Limf__Destination d;
    Limf__CertException x;
    Limf__InterceptPoint p;
} msg;

typedef union scratch {
    x1_warrant_scratch w;
    x1_destination_scratch d;
    x1_exception_scratch x;
    x1_poi_scratch p;
} scratch;

static li_err validate(x1_kind k, const json_t *body, msg *m, scratch *s, x1_verr *err)
{
    switch (k) {
    case X1_KIND_WARRANT:
        return admf_validate_warrant(body, &env, &m->w, &s->w, err);
    case X1_KIND_DESTINATION:
        return admf_validate_destination(body, &env, &m->d, &s->d, err);
    case X1_KIND_EXCEPTION:
        return admf_validate_exception(body, &env, &m->x, &s->x, err);
    default:
        return admf_validate_poi(body, &env, &m->p, &s->p, err);
    }
}

static void test_put_back_what_get_shows(void **state)
{
    (void)state;
    for (int k = 0; k < X1_KIND_COUNT; k++) {
        static msg m1, m2;
        static scratch s1, s2;
        static uint8_t b1[8192], b2[8192];
        x1_verr err;
        json_t *body = json_loads(bodies[k], JSON_REJECT_DUPLICATES, NULL);
        assert_non_null(body);
        if (validate((x1_kind)k, body, &m1, &s1, &err) != LI_OK)
            fail_msg("kind %d: %s %s", k, err.code, err.field);
        size_t n1 = protobuf_c_message_pack(&m1.base, b1);
        ProtobufCMessage *stored = protobuf_c_message_unpack(x1_kind_descriptor((x1_kind)k),
                                                             NULL, n1, b1);
        assert_non_null(stored);
        json_t *view = x1_json_render((x1_kind)k, stored, NOW);
        assert_non_null(view);
        assert_non_null(json_object_get(view, "version"));
        if (validate((x1_kind)k, view, &m2, &s2, &err) != LI_OK)
            fail_msg("kind %d: the view does not validate: %s %s", k, err.code, err.field);
        size_t n2 = protobuf_c_message_pack(&m2.base, b2);
        assert_int_equal(n1, n2);
        assert_memory_equal(b1, b2, n1);
        protobuf_c_message_free_unpacked(stored, NULL);
        json_decref(view);
        json_decref(body);
    }
}

static void test_warrant_state(void **state)
{
    (void)state;
    Limf__Warrant w;
    limf__warrant__init(&w);
    w.start_ms = 1000;
    w.end_ms = 2000;
    assert_string_equal(x1_warrant_state(&w, 999), "pending");
    assert_string_equal(x1_warrant_state(&w, 1000), "active");
    assert_string_equal(x1_warrant_state(&w, 1999), "active");
    assert_string_equal(x1_warrant_state(&w, 2000), "expired");
    w.state = "deactivated";
    assert_string_equal(x1_warrant_state(&w, 1500), "deactivated");
    w.state = "active"; /* the state of the record is history; the clock decides */
    assert_string_equal(x1_warrant_state(&w, 2500), "expired");
    char t[40];
    x1_json_time(1790000000123LL, t, sizeof t);
    assert_string_equal(t, "2026-09-21T14:13:20.123Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_put_back_what_get_shows),
                                        cmocka_unit_test(test_warrant_state) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
