/* The relay's pure parts as tables: RFC 4976 path rewriting for one hop, and the
 * control API's reservation validation (policies of agw / as / TLS-only, RFC 8122
 * fingerprints, canonical targets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "msrp_relay_path.h"
#include "msrp_relay_req.h"

#define SID "a1b2c3d4e5f6a7b8c9d0e1f2"
#define OWN_NET "msrp://10.0.0.1:2855/" SID ";tcp"
#define OWN_UE "msrps://192.0.2.1:2855/" SID ";tcp"
#define PEER "msrp://198.51.100.7:7000/peer1;tcp"

typedef struct path_vector {
    const char *name;
    msrp_relay_paths_mode mode;
    const char *to_path, *from_path;
    li_err result;
    const char *want_to, *want_from;
} path_vector;

static const path_vector path_vectors[] = {
    { .name = "rfc4976: pop the relay, push it on From-Path", .mode = MSRP_RELAY_PATHS_RFC4976,
      .to_path = OWN_UE " " PEER, .from_path = "msrps://ue.example:1/u1;tcp", .result = LI_OK,
      .want_to = PEER, .want_from = OWN_NET " msrps://ue.example:1/u1;tcp" },
    { .name = "rfc4976: relay alone in To-Path gets the reserved path",
      .mode = MSRP_RELAY_PATHS_RFC4976, .to_path = OWN_UE,
      .from_path = "msrps://ue.example:1/u1;tcp", .result = LI_OK, .want_to = PEER,
      .want_from = OWN_NET " msrps://ue.example:1/u1;tcp" },
    { .name = "rfc4976: the relay twice (other host, same session-id)",
      .mode = MSRP_RELAY_PATHS_RFC4976,
      .to_path = OWN_UE " msrp://relay.internal:9/" SID ";tcp msrp://far/x;tcp  ",
      .from_path = "msrp://a/b;tcp", .result = LI_OK, .want_to = "msrp://far/x;tcp",
      .want_from = OWN_NET " msrp://a/b;tcp" },
    { .name = "rfc4976: a response along a longer path", .mode = MSRP_RELAY_PATHS_RFC4976,
      .to_path = OWN_NET " msrps://ue.example:1/u1;tcp", .from_path = PEER, .result = LI_OK,
      .want_to = "msrps://ue.example:1/u1;tcp", .want_from = OWN_NET " " PEER },
    { .name = "b2bua: always the reserved path and the relay alone", .mode = MSRP_RELAY_PATHS_B2BUA,
      .to_path = OWN_UE " msrp://elsewhere/x;tcp", .from_path = "msrps://ue.example:1/u1;tcp",
      .result = LI_OK, .want_to = PEER, .want_from = OWN_NET },
    { .name = "not addressed to the relay", .mode = MSRP_RELAY_PATHS_RFC4976, .to_path = PEER,
      .from_path = "msrp://a/b;tcp", .result = LI_ERR_NOT_FOUND },
    { .name = "session-id prefix is not the relay", .mode = MSRP_RELAY_PATHS_RFC4976,
      .to_path = "msrp://10.0.0.1:2855/" SID "0;tcp", .from_path = "msrp://a/b;tcp",
      .result = LI_ERR_NOT_FOUND },
    { .name = "malformed first URI", .mode = MSRP_RELAY_PATHS_RFC4976, .to_path = "http://x/y",
      .from_path = "msrp://a/b;tcp", .result = LI_ERR_PROTO },
    { .name = "malformed later URI after the relay", .mode = MSRP_RELAY_PATHS_RFC4976,
      .to_path = OWN_UE " msrp:/bad", .from_path = "msrp://a/b;tcp", .result = LI_ERR_PROTO },
};

static void test_paths(void **state)
{
    (void)state;
    li_buf scratch;
    li_buf_init(&scratch, 0);
    for (size_t i = 0; i < sizeof path_vectors / sizeof path_vectors[0]; i++) {
        const path_vector *v = &path_vectors[i];
        msrp_relay_hop hop = { v->mode, li_msrp_cstr(SID), li_msrp_cstr(OWN_NET),
                               li_msrp_cstr(PEER) };
        li_msrp_msg msg;
        memset(&msg, 0, sizeof msg);
        msg.to_path = li_msrp_cstr(v->to_path);
        msg.from_path = li_msrp_cstr(v->from_path);
        li_msrp_str to, from;
        li_err err = msrp_relay_paths(&hop, &msg, &scratch, &to, &from);
        if (err != v->result)
            fail_msg("%s: got %d want %d", v->name, err, v->result);
        if (err != LI_OK)
            continue;
        if (to.len != strlen(v->want_to) || memcmp(to.p, v->want_to, to.len) != 0)
            fail_msg("%s: To-Path '%.*s'", v->name, (int)to.len, to.p);
        if (from.len != strlen(v->want_from) || memcmp(from.p, v->want_from, from.len) != 0)
            fail_msg("%s: From-Path '%.*s'", v->name, (int)from.len, from.p);
    }
    li_buf_free(&scratch);
}

#define FPHEX "4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3D:21:A1:70:5C:67:E2:8F:2B:A9:5A:D0"
#define FP "sha-256 " FPHEX
#define UE_TLS "\"ue\":{\"transport\":\"tls\",\"fingerprint\":\"" FP "\",\"setup\":\"active\",\"path\":\"msrps://ue.example:4000/u1;tcp\"}"
#define NET_TCP "\"network\":{\"next_hop\":\"msrp://198.51.100.7:7000/peer1;tcp\"}"
#define NET_TLS "\"network\":{\"next_hop\":\"msrps://conf.example/c1;tcp msrps://x.example:5/y;tcp\",\"fingerprint\":\"" FP "\"}"

typedef struct req_vector {
    const char *name;
    const char *json;
    int tls_only_policy;
    li_err result;
} req_vector;

static const req_vector req_vectors[] = {
    { .name = "agw, TLS UE, TCP network",
      .json = "{\"mode\":\"agw\"," UE_TLS "," NET_TCP ",\"target\":\"sip:a@b.c\"}",
      .result = LI_OK },
    { .name = "as, TCP UE, TLS network",
      .json = "{\"mode\":\"as\",\"ue\":{\"transport\":\"tcp\",\"path\":\"msrp://ue/u;tcp\"}," NET_TLS "}",
      .result = LI_OK },
    { .name = "defaults to agw", .json = "{" UE_TLS "," NET_TCP "}", .result = LI_OK },
    { .name = "agw refuses a TCP UE leg",
      .json = "{\"mode\":\"agw\",\"ue\":{\"transport\":\"tcp\",\"path\":\"msrp://ue/u;tcp\"}," NET_TCP "}",
      .result = LI_ERR_INVAL },
    { .name = "TLS-only request refuses a TCP next hop",
      .json = "{\"mode\":\"as\",\"tls_only\":true," UE_TLS "," NET_TCP "}", .result = LI_ERR_INVAL },
    { .name = "TLS-only policy refuses a TCP next hop",
      .json = "{\"mode\":\"as\"," UE_TLS "," NET_TCP "}", .tls_only_policy = 1,
      .result = LI_ERR_INVAL },
    { .name = "TLS-only policy accepts TLS legs",
      .json = "{\"mode\":\"as\"," UE_TLS "," NET_TLS "}", .tls_only_policy = 1, .result = LI_OK },
    { .name = "TLS UE without fingerprint",
      .json = "{\"ue\":{\"transport\":\"tls\",\"path\":\"msrps://ue/u;tcp\"}," NET_TCP "}",
      .result = LI_ERR_INVAL },
    { .name = "sha-1 fingerprint",
      .json = "{\"ue\":{\"fingerprint\":\"sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB\",\"path\":\"msrps://ue/u;tcp\"}," NET_TCP "}",
      .result = LI_ERR_INVAL },
    { .name = "short fingerprint",
      .json = "{\"ue\":{\"fingerprint\":\"sha-256 4A:AD\",\"path\":\"msrps://ue/u;tcp\"}," NET_TCP "}",
      .result = LI_ERR_INVAL },
    { .name = "UE path scheme does not match its transport",
      .json = "{\"ue\":{\"fingerprint\":\"" FP "\",\"path\":\"msrp://ue/u;tcp\"}," NET_TCP "}",
      .result = LI_ERR_INVAL },
    { .name = "bad next hop", .json = "{" UE_TLS ",\"network\":{\"next_hop\":\"sip:x@y\"}}",
      .result = LI_ERR_INVAL },
    { .name = "missing network", .json = "{" UE_TLS "}", .result = LI_ERR_INVAL },
    { .name = "bad mode", .json = "{\"mode\":\"sbc\"," UE_TLS "," NET_TCP "}",
      .result = LI_ERR_INVAL },
    { .name = "bad setup",
      .json = "{\"ue\":{\"fingerprint\":\"" FP "\",\"setup\":\"holdconn\",\"path\":\"msrps://ue/u;tcp\"}," NET_TCP "}",
      .result = LI_ERR_INVAL },
    { .name = "hop-by-hop responses",
      .json = "{\"responses\":\"hop-by-hop\"," UE_TLS "," NET_TCP "}", .result = LI_OK },
    { .name = "hop-by-hop responses with CEMA",
      .json = "{\"cema\":true,\"responses\":\"hop-by-hop\"," UE_TLS "," NET_TCP "}",
      .result = LI_ERR_INVAL },
    { .name = "bad responses", .json = "{\"responses\":\"none\"," UE_TLS "," NET_TCP "}",
      .result = LI_ERR_INVAL },
    { .name = "cema not a boolean", .json = "{\"cema\":1," UE_TLS "," NET_TCP "}",
      .result = LI_ERR_INVAL },
    { .name = "target not an identity",
      .json = "{" UE_TLS "," NET_TCP ",\"target\":\"not an identity\"}", .result = LI_ERR_INVAL },
    { .name = "duplicate keys", .json = "{" UE_TLS "," UE_TLS "," NET_TCP "}",
      .result = LI_ERR_INVAL },
    { .name = "not JSON", .json = "{\"ue\":", .result = LI_ERR_INVAL },
    { .name = "not an object", .json = "[1,2]", .result = LI_ERR_INVAL },
};

static void test_requests(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof req_vectors / sizeof req_vectors[0]; i++) {
        const req_vector *v = &req_vectors[i];
        msrp_relay_req req;
        char err[256] = "";
        size_t len = strlen(v->json);
        li_err e = msrp_relay_req_parse(guarded(v->json, len), len, v->tls_only_policy, &req, err,
                                        sizeof err);
        if (e != v->result)
            fail_msg("%s: got %d want %d (%s)", v->name, e, v->result, err);
        if (e != LI_OK)
            assert_true(err[0] != '\0');
    }
}

static void test_request_fields(void **state)
{
    (void)state;
    const char *json = "{\"mode\":\"as\",\"cema\":true,\"paths\":\"b2bua\",\"ue\":{\"transport\":"
                       "\"tls\",\"fingerprint\":\"" FP "\",\"setup\":\"passive\",\"path\":"
                       "\"msrps://[2001:db8::5]:4000/u1;tcp\"}," NET_TLS ",\"targets\":"
                       "[\"Alice <sip:Alice@Example.COM>;tag=9\",\"tel:+49-30-1234\"]}";
    msrp_relay_req req;
    char err[256];
    assert_int_equal(
        msrp_relay_req_parse(guarded(json, strlen(json)), strlen(json), 0, &req, err, sizeof err),
        LI_OK);
    assert_int_equal(req.mode, MSRP_RELAY_AS);
    assert_true(req.cema);
    assert_int_equal(req.paths, MSRP_RELAY_PATHS_B2BUA);
    assert_true(req.ue.tls && req.ue.passive && req.ue.has_fingerprint);
    assert_int_equal(req.ue.fingerprint[0], 0x4a);
    assert_int_equal(req.ue.fingerprint[31], 0xd0);
    assert_string_equal(req.ue.host, "2001:db8::5");
    assert_int_equal(req.ue.port, 4000);
    assert_true(req.network.tls && req.network.has_fingerprint);
    assert_string_equal(req.network.host, "conf.example");
    assert_int_equal(req.network.port, 2855);  /* no port in the URI: the IANA port */
    assert_string_equal(req.network.path, "msrps://conf.example/c1;tcp msrps://x.example:5/y;tcp");
    assert_int_equal(req.n_targets, 2);
    assert_string_equal(req.targets[0], "sip:alice@example.com");
    assert_string_equal(req.targets[1], "tel:+49301234");
}

static void test_fingerprint(void **state)
{
    (void)state;
    uint8_t fp[32];
    assert_int_equal(msrp_relay_fingerprint_parse(FP, fp), LI_OK);
    assert_int_equal(msrp_relay_fingerprint_parse("SHA-256  " FPHEX " ", fp), LI_OK);
    assert_int_equal(msrp_relay_fingerprint_parse("sha-2564A:AD", fp), LI_ERR_PROTO);
    assert_int_equal(msrp_relay_fingerprint_parse("", fp), LI_ERR_PROTO);
    assert_int_equal(msrp_relay_fingerprint_parse(FP ":00", fp), LI_ERR_PROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_request_fields),
        cmocka_unit_test(test_fingerprint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
