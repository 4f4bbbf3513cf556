/* Contract test of limf-admf against the real daemon, the real Kafka broker (mutual TLS)
 * and the test PKI, over HTTPS with client certificates and bearer tokens: every
 * endpoint's success and validation errors, roles (401/403 audited), ETag/If-Match, two
 * and eight concurrent updates with the same ETag (exactly one wins), audit export
 * tampered and verified offline, GET /v1/audit/verify, kill -9 and restart with identical
 * state, warrants with validity windows of a few seconds, and the bounded in-memory audit
 * window. Run through ctest (admf_api). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admf_util.h"

#define DAY_MS (24LL * 3600 * 1000)

static admf_daemon d;
static admf_client *op, *aud, *adm, *tok_admin, *tok_aud, *anon;
static const char *year0, *year1; /* a window from yesterday to a year from now */
static json_t *dest, *w;

static int eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* The status and the error code of an answer are these. */
static int err_is(const admf_resp *r, int status, const char *code)
{
    return r->status == status && eq(jstr(r->body, "code"), code);
}

/* A list answer's "next" cursor as text (a string or an audit index), NULL when null. */
static const char *next_of(const admf_resp *r)
{
    json_t *n = jget(r->body, "next");
    if (json_is_integer(n))
        return admf_fmt("%lld", (long long)json_integer_value(n));
    return json_string_value(n);
}

/* Writes a file of the test's scratch directory; returns its path. */
static const char *scratch(const char *name, const char *text, size_t len)
{
    const char *path = admf_fmt("%s/%s", d.dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    return path;
}

/* limf-audit-verify --key KEY FILE: its exit status, its output into *out. */
static int verify_file(const char *path, const char **out)
{
    char *argv[] = { (char *)admf_fmt("%s/limf-audit-verify", admf_bin_dir()), "--key",
                     d.audit_key, (char *)path, NULL };
    return admf_run(argv, out);
}

static void health_openapi_metrics(void)
{
    admf_resp *r = admf_req(anon, "GET", "/healthz", NULL, NULL);
    check(r->status == 200 && json_equal(r->body, J("{s:s}", "status", "ok")),
          "GET /healthz without credentials: 200 ok");
    r = admf_req(anon, "GET", "/v1/openapi.json", NULL, NULL);
    const char *v = jstr(r->body, "openapi");
    check(r->status == 200 && v && strncmp(v, "3.", 2) == 0 &&
              json_object_get(jget(r->body, "paths"), "/v1/warrants"),
          "GET /v1/openapi.json: an OpenAPI 3 document with the resources");
    r = admf_req(anon, "GET", "/metrics", NULL, NULL);
    check(r->status == 401, "GET /metrics without credentials: 401");
    r = admf_req(aud, "GET", "/metrics", NULL, NULL);
    check(r->status == 200 && strstr(r->raw, "limf_admf_objects"),
          "GET /metrics as auditor: Prometheus text");
}

static void destinations(void)
{
    char pin[65];
    for (int i = 0; i < 32; i++)
        memcpy(pin + 2 * i, "AB", 2);
    pin[64] = 0;
    dest = J("{s:s, s:s, s:s, s:s, s:s, s:s, s:[s]}", "id", "lea1", "name", "LEA one",
             "hi2_address", "127.0.0.1:6000", "operator_id", "OP1", "network_element_id",
             "NE1", "delivery_country", "DE", "pinned_sha256", pin);
    admf_resp *r = admf_req(op, "POST", "/v1/destinations", dest, NULL);
    check(eq(admf_err(r), "400 reason_required X-Reason"),
          "POST destination without X-Reason: 400 reason_required (%s)", admf_err(r));
    r = admf_req(op, "POST", "/v1/destinations", dest, "X-Reason: ticket 100");
    check(r->status == 201 && eq(jstr(r->body, "id"), "lea1") &&
              eq(admf_header(r, "ETag"), "\"1\"") &&
              eq(admf_header(r, "Location"), "/v1/destinations/lea1"),
          "POST destination: 201, ETag 1");
    r = admf_req(op, "POST", "/v1/destinations", dest, "X-Reason: ticket 100");
    check(err_is(r, 409, "exists"), "POST destination with a taken id: 409");
    struct {
        json_t *body;
        const char *want;
    } bad[] = {
        { with(dest, "{s:s, s:s}", "id", "x", "hi2_address", "nohost"),
          "400 invalid_address hi2_address" },
        { with(dest, "{s:s, s:[s]}", "id", "x", "pinned_sha256", "12"),
          "400 invalid_fingerprint pinned_sha256" },
        { with(dest, "{s:s, s:s}", "id", "x", "delivery_country", "Germany"),
          "400 too_long delivery_country" },
        { with(dest, "{s:s, s:s}", "id", "x", "transport", "udp"),
          "400 invalid_transport transport" },
        { with(dest, "{s:s, s:[]}", "id", "x", "pinned_sha256"), "400 missing_trust ca_pem" },
        { with(dest, "{s:s}", "id", "bad id"), "400 invalid_id id" },
        { with(dest, "{s:s, s:i}", "id", "x", "extra", 1), "400 unknown_field extra" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = admf_req(op, "POST", "/v1/destinations", bad[i].body, "X-Reason: t");
        check(eq(admf_err(r), bad[i].want), "POST destination refused: %s (got %s %s)",
              bad[i].want, admf_err(r), r->raw);
    }
    r = admf_req_raw(op, "POST", "/v1/destinations", "{not json", 9, "X-Reason: t");
    check(err_is(r, 400, "invalid_json"), "POST malformed JSON: 400 invalid_json");
    const char *dup = "{\"id\":\"a\",\"id\":\"b\"}";
    r = admf_req_raw(op, "POST", "/v1/destinations", dup, strlen(dup), "X-Reason: t");
    check(err_is(r, 400, "invalid_json"), "POST with a duplicate key: 400");
    size_t big_len = (size_t)2 << 20;
    char *big = malloc(big_len);
    if (!big)
        abort();
    memset(big, 'x', big_len);
    r = admf_req_raw(op, "POST", "/v1/destinations", big, big_len, "X-Reason: t");
    free(big);
    check(r->status == 413, "POST of 2 MiB: 413 (got %d)", r->status);
    r = admf_req(op, "POST", "/v1/destinations", dest, "X-Reason: t\nContent-Type: text/plain");
    check(r->status == 415, "POST with Content-Type text/plain: 415");
    r = admf_req(op, "POST", "/v1/destinations",
                 with(dest, "{s:s, s:s, s:[]}", "id", "lea2", "transport", "tcp",
                      "pinned_sha256"),
                 "X-Reason: t2");
    check(r->status == 201 && eq(jstr(r->body, "transport"), "tcp"),
          "POST destination (tcp): 201");
    r = admf_req(op, "GET", "/v1/destinations/lea1", NULL, NULL);
    check(r->status == 200 && eq(jstr(r->body, "hi3_address"), "127.0.0.1:6000") &&
              jint(r->body, "version") == 1,
          "GET destination: defaults filled (hi3 = hi2)");
    r = admf_req(op, "GET", "/v1/destinations/nope", NULL, NULL);
    check(err_is(r, 404, "not_found"), "GET unknown destination: 404");
    /* The same address and trust (plain TCP, no pins): a change of them is a re-pointing. */
    r = admf_req(op, "PUT", "/v1/destinations/lea2",
                 with(dest, "{s:s, s:s, s:[]}", "name", "LEA two", "transport", "tcp",
                      "pinned_sha256"),
                 "If-Match: \"1\"\nX-Reason: t3");
    check(r->status == 200 && eq(jstr(r->body, "name"), "LEA two") &&
              jint(r->body, "version") == 2 && eq(jstr(r->body, "created.reason"), "t2") &&
              eq(jstr(r->body, "updated.reason"), "t3"),
          "PUT destination: version 2, creation provenance kept");
}

static json_t *poi;

static void intercept_points(void)
{
    poi = J("{s:s, s:s, s:s}", "id", "poi-down", "role", "as", "x1_url",
            "https://127.0.0.1:9/X1/NE");
    admf_resp *r = admf_req(op, "POST", "/v1/intercept-points", poi, "X-Reason: t");
    check(r->status == 201 && eq(jstr(r->body, "health"), "unknown"),
          "POST intercept point: 201, health unknown");
    r = admf_req(op, "POST", "/v1/intercept-points",
                 with(poi, "{s:s, s:s}", "id", "p2", "role", "pgw"), "X-Reason: t");
    check(err_is(r, 400, "invalid_role"), "POST intercept point, bad role: 400");
    r = admf_req(op, "POST", "/v1/intercept-points",
                 with(poi, "{s:s, s:s}", "id", "p2", "x1_url", "http://127.0.0.1:9/X1/NE"),
                 "X-Reason: t");
    check(err_is(r, 400, "invalid_url"), "POST intercept point, http URL: 400");
    r = admf_req(aud, "POST", "/v1/intercept-points/poi-down/audit", NULL, NULL);
    check(r->status == 200 && eq(jstr(r->body, "outcome"), "unreachable"),
          "POST .../audit on a POI that is down: outcome unreachable");
    r = admf_req(aud, "GET", "/v1/intercept-points/poi-down", NULL, NULL);
    check(r->status == 200 && eq(jstr(r->body, "health"), "unreachable") &&
              eq(jstr(r->body, "last_audit.outcome"), "unreachable"),
          "GET intercept point as auditor: health and last_audit recorded");
    r = admf_req(aud, "POST", "/v1/intercept-points/nope/audit", NULL, NULL);
    check(r->status == 404, "POST .../audit on an unknown POI: 404");
}

static void cert_exceptions(void)
{
    char fp[97], lower[65];
    for (int i = 0; i < 32; i++) {
        memcpy(fp + 3 * i, "0F:", 3);
        memcpy(lower + 2 * i, "0f", 2);
    }
    fp[95] = 0;
    lower[64] = 0;
    json_t *exc = J("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", "exc1",
                    "fingerprint_sha256", fp, "peer", "conf.example.net", "scope", "peer",
                    "reason", "ticket 7", "approver", "security officer", "expires", year1);
    admf_resp *r = admf_req(op, "POST", "/v1/cert-exceptions", exc, NULL);
    check(r->status == 201 && eq(jstr(r->body, "fingerprint_sha256"), lower),
          "POST cert exception (reason in body): 201, fingerprint normalised");
    r = admf_req(op, "POST", "/v1/cert-exceptions",
                 with(exc, "{s:s, s:s}", "id", "e2", "expires", year0), NULL);
    check(err_is(r, 400, "expires_in_past"), "POST expired exception: 400");
    r = admf_req(op, "POST", "/v1/cert-exceptions",
                 with(exc, "{s:s, s:s}", "id", "e2", "fingerprint_sha256", "00"), NULL);
    check(err_is(r, 400, "invalid_fingerprint"), "POST bad fingerprint: 400");

    r = admf_req(op, "GET", "/v1/cert-exceptions?scope=peer", NULL, NULL);
    check(r->status == 200 && eq(admf_list(r, "id"), "exc1"), "list cert exceptions");
    r = admf_req(op, "PATCH", "/v1/cert-exceptions/exc1",
                 J("{s:s}", "peer", "conf2.example.net"), "If-Match: \"1\"");
    check(err_is(r, 400, "reason_required"), "PATCH exception without a reason");
    r = admf_req(op, "PATCH", "/v1/cert-exceptions/exc1",
                 J("{s:s, s:s}", "peer", "conf2.example.net", "reason", "ticket 8"),
                 "If-Match: \"1\"");
    check(r->status == 200 && eq(jstr(r->body, "peer"), "conf2.example.net") &&
              eq(jstr(r->body, "reason"), "ticket 8") && jint(r->body, "version") == 2,
          "PATCH exception: 200, version 2");
    r = admf_req(op, "PUT", "/v1/cert-exceptions/exc1", J("{s:s, s:s}", "peer", "p", "reason", "r"),
                 "If-Match: \"2\"");
    check(eq(admf_err(r), "400 missing_field fingerprint_sha256"),
          "PUT exception with fields missing: 400 (%s)", admf_err(r));
    admf_req(op, "POST", "/v1/cert-exceptions", with(exc, "{s:s}", "id", "exc2"), NULL);
    r = admf_req(op, "DELETE", "/v1/cert-exceptions/exc2", NULL,
                 "If-Match: \"1\"\nX-Reason: no longer needed");
    check(r->status == 204, "DELETE exception: 204");
}

static void more_destinations_and_pois(void)
{
    admf_resp *r = admf_req(op, "GET", "/v1/destinations", NULL, NULL);
    check(r->status == 200 && eq(admf_list(r, "id"), "lea1,lea2") &&
              json_is_null(jget(r->body, "next")),
          "list destinations");
    r = admf_req(op, "PATCH", "/v1/destinations/lea2", J("{s:i}", "keepalive_interval_s", 5),
                 "If-Match: \"2\"\nX-Reason: faster keep-alive");
    check(r->status == 200 && jint(r->body, "keepalive_interval_s") == 5 &&
              eq(jstr(r->body, "name"), "LEA two"),
          "PATCH destination: one field changed, the others kept");
    r = admf_req(op, "PATCH", "/v1/destinations/lea2", J("{s:i}", "keepalive_interval_s", 0),
                 "If-Match: \"3\"\nX-Reason: t");
    check(err_is(r, 400, "invalid_value"), "PATCH destination, bad value: 400");
    admf_req(op, "POST", "/v1/intercept-points",
             with(poi, "{s:s, s:s}", "id", "poi-sip", "role", "sip"), "X-Reason: t");
    r = admf_req(op, "GET", "/v1/intercept-points?role=sip", NULL, NULL);
    check(eq(admf_list(r, "id"), "poi-sip"), "list intercept points by role");
    r = admf_req(anon, "GET", "/v1/nothing", NULL, NULL);
    check(r->status == 404, "unknown resource: 404");
    r = admf_req(op, "GET", "/v1/warrants/bad%20id", NULL, NULL);
    check(r->status == 404, "an invalid id in the path: 404");
}

/* Agencies (docs/SECURITY.md): a destination's topic suffix is the ADMF's, random, kept by
 * ordinary updates; its address or trust changes only by a re-pointing, its own audited
 * action, which draws a new suffix unless keep_backlog; re-created, the id gets a new one. */
static int is_suffix(const char *s)
{
    return s && strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

static void repointing(void)
{
    static const char zero[] = "00000000000000000000000000000000";
    char s1[33] = "", s2[33] = "";
    admf_resp *r = admf_req(op, "POST", "/v1/destinations",
                            with(dest, "{s:s, s:s}", "id", "lea-r", "topic_suffix", zero),
                            "X-Reason: t");
    snprintf(s1, sizeof s1, "%s", jstr(r->body, "topic_suffix") ? jstr(r->body, "topic_suffix") : "");
    check(r->status == 201 && is_suffix(s1) && !eq(s1, zero),
          "a new destination gets a random topic suffix, not one the client names (%s)", s1);
    r = admf_req(op, "PATCH", "/v1/destinations/lea-r", J("{s:s}", "hi2_address", "127.0.0.1:7001"),
                 "If-Match: \"1\"\nX-Reason: t");
    check(err_is(r, 409, "repoint_required") && eq(jstr(r->body, "field"), "hi2_address"),
          "PATCH of the HI address: 409 repoint_required (%s)", r->raw);
    r = admf_req(op, "PUT", "/v1/destinations/lea-r",
                 with(dest, "{s:s}", "peer_name", "other.lea.example"), "If-Match: \"1\"\nX-Reason: t");
    check(err_is(r, 409, "repoint_required") && eq(jstr(r->body, "field"), "peer_name"),
          "PUT with another peer name: 409 repoint_required");
    r = admf_req(op, "PATCH", "/v1/destinations/lea-r", J("{s:s}", "name", "renamed"),
                 "If-Match: \"1\"\nX-Reason: t");
    check(r->status == 200 && eq(jstr(r->body, "topic_suffix"), s1),
          "an ordinary update keeps the suffix");
    const char *path = "/v1/destinations/lea-r/repoint";
    r = admf_req(op, "POST", path, J("{s:s}", "hi2_address", "127.0.0.1:7001"), "If-Match: \"2\"");
    check(err_is(r, 400, "reason_required"), "re-pointing without a reason: 400");
    r = admf_req(op, "POST", path, J("{s:s, s:s}", "hi2_address", "127.0.0.1:7001", "name", "x"),
                 "If-Match: \"2\"\nX-Reason: t");
    check(err_is(r, 400, "unknown_field") && eq(jstr(r->body, "field"), "name"),
          "re-pointing with a field that is not address or trust: 400");
    r = admf_req(op, "POST", path, J("{s:s}", "hi2_address", "127.0.0.1:7001"),
                 "X-Reason: LEA moved");
    check(err_is(r, 428, "precondition_required"), "re-pointing without If-Match: 428");
    r = admf_req(op, "GET", path, NULL, NULL);
    check(r->status == 405, "GET on .../repoint: 405");
    r = admf_req(op, "POST", path, J("{s:s}", "hi2_address", "127.0.0.1:7001"),
                 "If-Match: \"2\"\nX-Reason: LEA moved");
    snprintf(s2, sizeof s2, "%s", jstr(r->body, "topic_suffix") ? jstr(r->body, "topic_suffix") : "");
    check(r->status == 200 && eq(jstr(r->body, "hi2_address"), "127.0.0.1:7001") &&
              is_suffix(s2) && !eq(s2, s1) && jint(r->body, "version") == 3,
          "re-pointed: the new address with a new suffix (empty backlog) (%s)", r->raw);
    r = admf_req(op, "POST", path,
                 J("{s:s, s:b}", "hi2_address", "127.0.0.1:7002", "keep_backlog", 1),
                 "If-Match: \"3\"\nX-Reason: same agency, new LEMF host");
    check(r->status == 200 && eq(jstr(r->body, "hi2_address"), "127.0.0.1:7002") &&
              eq(jstr(r->body, "topic_suffix"), s2),
          "re-pointed with keep_backlog: the suffix stays");
    r = admf_req(aud, "GET", "/v1/audit?object=destination/lea-r&limit=100", NULL, NULL);
    check(admf_count(r, "action", "destination.repoint", "outcome", "accepted", NULL) == 1 &&
              admf_count(r, "action", "destination.repoint-keep-backlog", "outcome", "accepted",
                         NULL) == 1 &&
              admf_count(r, "action", "destination.update", "outcome", "refused", NULL) >= 2 &&
              admf_count(r, "action", "destination.repoint", "outcome", "refused", NULL) >= 2,
          "audit: re-pointings (with and without the backlog) and the refusals recorded");
    r = admf_req(op, "DELETE", "/v1/destinations/lea-r", NULL, "If-Match: \"4\"\nX-Reason: t");
    check(r->status == 204, "DELETE lea-r: 204");
    r = admf_req(op, "POST", "/v1/destinations", with(dest, "{s:s}", "id", "lea-r"),
                 "X-Reason: another agency");
    const char *s3 = jstr(r->body, "topic_suffix");
    check(r->status == 201 && is_suffix(s3) && !eq(s3, s1) && !eq(s3, s2),
          "re-created with the same id: a suffix never used before");
    admf_req(op, "DELETE", "/v1/destinations/lea-r", NULL, "If-Match: *\nX-Reason: t");
}

static const char *xid; /* w1's */

static void warrants_create(void)
{
    w = J("{s:s, s:s, s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}], s:s, s:[s], s:s, s:s}", "id",
          "w1", "liid", "LIID-0001", "auth_country", "DE", "legal_reference",
          "AG Berlin 12/26", "targets", "type", "sip-uri", "value", "sip:alice@example.com",
          "type", "tel-uri", "value", "tel:+49-30-1234", "delivery", "iri+cc",
          "destination_ids", "lea1", "start", year0, "end", year1);
    admf_resp *r = admf_req(op, "POST", "/v1/warrants", w, NULL);
    xid = jstr(r->body, "xid");
    check(r->status == 201 && eq(jstr(r->body, "state"), "active") && xid &&
              strlen(xid) == 36 && eq(admf_header(r, "ETag"), "\"1\""),
          "POST warrant: 201, active, XID assigned");
    xid = admf_fmt("%s", xid ? xid : "");
    struct {
        json_t *body;
        const char *want;
    } bad[] = {
        { with(w, "{s:s}", "id", "w2"), "409 liid_taken liid" },
        { with(w, "{s:s, s:s}", "id", "w2", "liid", "xxxxxxxxxxxxxxxxxxxxxxxxxx"),
          "400 invalid_liid liid" },
        { with(w, "{s:s, s:s, s:s}", "id", "w2", "liid", "L2", "auth_country", "de"),
          "400 invalid_country auth_country" },
        { with(w, "{s:s, s:s, s:s}", "id", "w2", "liid", "L2", "legal_reference", ""),
          "400 reason_required legal_reference" },
        { with(w, "{s:s, s:s, s:[{s:s, s:s}]}", "id", "w2", "liid", "L2", "targets", "type",
               "sip-uri", "value", "alice"),
          "400 invalid_target targets[0]" },
        { with(w, "{s:s, s:s, s:[{s:s, s:s}]}", "id", "w2", "liid", "L2", "targets", "type",
               "tel-uri", "value", "tel:abc"),
          "400 invalid_target targets[0]" },
        { with(w, "{s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}]}", "id", "w2", "liid", "L2",
               "targets", "type", "e164", "value", "+49301", "type", "impu", "value",
               "tel:+49301"),
          "400 duplicate_target targets[1]" },
        { with(w, "{s:s, s:s, s:[{s:s, s:s}]}", "id", "w2", "liid", "L2", "targets", "type",
               "msisdn", "value", "1"),
          "400 invalid_target_type targets[0]" },
        { with(w, "{s:s, s:s, s:s}", "id", "w2", "liid", "L2", "delivery", "cc"),
          "400 invalid_delivery delivery" },
        { with(w, "{s:s, s:s, s:[s]}", "id", "w2", "liid", "L2", "destination_ids", "nope"),
          "400 unknown_destination destination_ids" },
        { with(w, "{s:s, s:s, s:[s]}", "id", "w2", "liid", "L2", "poi_ids", "nope"),
          "400 unknown_poi poi_ids" },
        { with(w, "{s:s, s:s, s:s}", "id", "w2", "liid", "L2", "start", "yesterday"),
          "400 invalid_time start" },
        { with(w, "{s:s, s:s, s:s, s:s}", "id", "w2", "liid", "L2", "start", year1, "end",
               year0),
          "400 end_before_start end" },
        { with(w, "{s:s, s:s, s:s}", "id", "w2", "liid", "L2", "end",
               admf_rfc3339(admf_now_ms() - 3600 * 1000)),
          "400 end_in_past end" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = admf_req(op, "POST", "/v1/warrants", bad[i].body, NULL);
        check(eq(admf_err(r), bad[i].want), "POST warrant refused: %s (got %s %s)", bad[i].want,
              admf_err(r), r->raw);
    }
    r = admf_req(op, "GET", "/v1/warrants/w2", NULL, NULL);
    check(r->status == 404, "nothing stored by the refused warrants");
    r = admf_req(op, "POST", "/v1/warrants",
                 with(w, "{s:s, s:s}", "id", "w1b", "auth_country", "FR"), NULL);
    check(r->status == 201, "same LIID in another authorization country: 201");
}

static void warrants_update(void)
{
    admf_resp *r = admf_req(op, "PATCH", "/v1/warrants/w1",
                            J("{s:s, s:s}", "legal_reference", "AG 13/26", "delivery", "iri"),
                            NULL);
    check(err_is(r, 428, "precondition_required"), "PATCH without If-Match: 428");
    r = admf_req(op, "PATCH", "/v1/warrants/w1", J("{s:s}", "delivery", "iri"),
                 "If-Match: \"1\"");
    check(eq(admf_err(r), "400 reason_required legal_reference"),
          "PATCH warrant without legal_reference: 400 (%s)", admf_err(r));
    r = admf_req(op, "PATCH", "/v1/warrants/w1",
                 J("{s:s, s:s}", "legal_reference", "AG 13/26", "delivery", "iri"),
                 "If-Match: \"1\"");
    check(r->status == 200 && eq(jstr(r->body, "delivery"), "iri") &&
              jint(r->body, "version") == 2 && eq(jstr(r->body, "xid"), xid) &&
              eq(admf_header(r, "ETag"), "\"2\""),
          "PATCH warrant: version 2, same XID");
    r = admf_req(op, "PUT", "/v1/warrants/w1", with(w, "{s:s}", "legal_reference", "AG 14"),
                 "If-Match: \"1\"");
    check(err_is(r, 412, "precondition_failed"), "PUT with a stale ETag: 412");
    r = admf_req(op, "GET", "/v1/warrants/w1", NULL, NULL);
    json_t *got = with(r->body ? r->body : J("{}"), "{s:s}", "legal_reference", "AG 15/26");
    r = admf_req(op, "PUT", "/v1/warrants/w1", got, "If-Match: \"2\"");
    check(r->status == 200 && jint(r->body, "version") == 3,
          "PUT back what GET returned (read-only fields ignored): 200");
    r = admf_req(op, "PATCH", "/v1/warrants/w1",
                 J("{s:s, s:s}", "legal_reference", "x", "xid", "forged"), "If-Match: \"3\"");
    check(r->status == 200 && eq(jstr(r->body, "xid"), xid), "the XID never changes");
}

/* ---- two (then eight) concurrent updates with the same ETag: exactly one wins ---- */

typedef struct racer {
    pthread_t thread;
    int round, i, status;
    const char *etag;
} racer;

static void *race(void *arg)
{
    racer *x = arg;
    admf_resp *r = admf_req(
        op, "PATCH", "/v1/warrants/w1",
        J("{s:s}", "legal_reference", admf_fmt("race %d %d", x->round, x->i)),
        admf_fmt("If-Match: %s", x->etag));
    x->status = r->status;
    return NULL;
}

static void warrants_race(void)
{
    long long version = -1;
    for (int round = 0; round < 5; round++) {
        admf_resp *cur = admf_req(op, "GET", "/v1/warrants/w1", NULL, NULL);
        const char *etag = admf_header(cur, "ETag");
        version = jint(cur->body, "version");
        int racers = round < 3 ? 2 : 8, won = 0, lost = 0;
        racer x[8];
        for (int i = 0; i < racers; i++) {
            x[i] = (racer){ .round = round, .i = i, .etag = etag };
            if (pthread_create(&x[i].thread, NULL, race, &x[i]) != 0)
                abort();
        }
        char got[64] = "";
        for (int i = 0; i < racers; i++) {
            pthread_join(x[i].thread, NULL);
            won += x[i].status == 200;
            lost += x[i].status == 412;
            snprintf(got + strlen(got), sizeof got - strlen(got), " %d", x[i].status);
        }
        check(won == 1 && lost == racers - 1,
              "%d PATCHes with ETag %s: exactly one wins (%s)", racers, etag, got);
    }
    admf_resp *r = admf_req(op, "GET", "/v1/warrants/w1", NULL, NULL);
    check(version >= 0 && jint(r->body, "version") == version + 1, "the loser changed nothing");
}

static void warrants_lists(void)
{
    for (int i = 0; i < 5; i++)
        admf_req(op, "POST", "/v1/warrants",
                 with(w, "{s:s, s:s}", "id", admf_fmt("p%d", i), "liid", admf_fmt("PAGE%d", i)),
                 NULL);
    admf_resp *r = admf_req(op, "GET", "/v1/warrants?limit=3", NULL, NULL);
    json_t *items = jget(r->body, "items");
    const char *last = jstr(json_array_get(items, 2), "id");
    const char *next = next_of(r);
    check(r->status == 200 && admf_n(r) == 3 && eq(next, last), "list: first page of 3");
    admf_resp *r2 =
        admf_req(op, "GET", admf_fmt("/v1/warrants?limit=3&after=%s", next ? next : ""), NULL,
                 NULL);
    json_t *items2 = jget(r2->body, "items");
    size_t n2 = json_array_size(items2);
    int ok = n2 > 0 && last && strcmp(last, jstr(json_array_get(items2, 0), "id")) < 0;
    for (size_t i = 0; ok && i < n2; i++) {
        const char *id = jstr(json_array_get(items2, i), "id");
        ok = id != NULL && (i == 0 || strcmp(jstr(json_array_get(items2, i - 1), "id"), id) < 0);
        for (size_t j = 0; ok && j < json_array_size(items); j++)
            ok = !eq(id, jstr(json_array_get(items, j), "id"));
    }
    check(ok, "list: second page follows the first (%s then %s)", admf_list(r, "id"),
          admf_list(r2, "id"));
    r = admf_req(op, "GET", "/v1/warrants?auth_country=FR", NULL, NULL);
    check(eq(admf_list(r, "id"), "w1b"), "list filter auth_country=FR");
    r = admf_req(op, "GET", "/v1/warrants?destination_ids=lea1&liid=PAGE3", NULL, NULL);
    check(eq(admf_list(r, "id"), "p3"), "list filter on array membership + field");
    r = admf_req(op, "GET",
                 "/v1/warrants?target=%3Csip%3AAlice%40EXAMPLE.com%3E%3Btag%3D1"
                 "&auth_country=DE&limit=1000",
                 NULL, NULL);
    check(r->status == 200 && eq(admf_set(r, "id"), "p0,p1,p2,p3,p4,w1"),
          "list by target: any form of the identity matches its canonical form (%s)",
          admf_set(r, "id"));
    r = admf_req(op, "GET", "/v1/warrants?target=%2B49301234", NULL, NULL);
    check(r->status == 200 && admf_n(r) == 7, "list by target: E.164 matches the tel URI");
    r = admf_req(op, "GET", "/v1/warrants?target=nobody", NULL, NULL);
    check(err_is(r, 400, "invalid_target"), "list by a non-identity: 400");
    r = admf_req(op, "GET", "/v1/warrants?bogus=1", NULL, NULL);
    check(err_is(r, 400, "invalid_filter"), "list with unknown filter: 400");
    char q[256] = "/v1/warrants?f0=1";
    for (int i = 1; i < 17; i++)
        snprintf(q + strlen(q), sizeof q - strlen(q), "&f%d=1", i);
    r = admf_req(op, "GET", q, NULL, NULL);
    check(err_is(r, 400, "too_many_parameters"), "17 query parameters: 400");
    r = admf_req(op, "GET", "/v1/warrants?limit=0", NULL, NULL);
    check(err_is(r, 400, "invalid_limit"), "list limit=0: 400");
}

static void deletion(void)
{
    admf_resp *r = admf_req(op, "DELETE", "/v1/destinations/lea1", NULL,
                            "If-Match: \"1\"\nX-Reason: t");
    check(err_is(r, 409, "in_use"), "DELETE a destination a warrant uses: 409");
    r = admf_req(op, "DELETE", "/v1/warrants/p4", NULL, "If-Match: \"1\"");
    check(err_is(r, 400, "reason_required"), "DELETE without X-Reason: 400");
    r = admf_req(op, "DELETE", "/v1/warrants/p4", NULL, "If-Match: \"1\"\nX-Reason: AG");
    check(r->status == 204, "DELETE warrant: 204");
    r = admf_req(op, "GET", "/v1/warrants/p4", NULL, NULL);
    check(r->status == 404, "deleted warrant is gone");
    r = admf_req(op, "PATCH", "/v1/warrants/p3",
                 J("{s:s, s:s}", "legal_reference", "stop", "state", "deactivated"),
                 "If-Match: \"1\"");
    check(r->status == 200 && eq(jstr(r->body, "state"), "deactivated"),
          "deactivate a warrant early");
    r = admf_req(op, "PATCH", "/v1/warrants/p3", J("{s:s}", "legal_reference", "again"),
                 "If-Match: \"2\"");
    check(err_is(r, 409, "deactivated"), "a deactivated warrant cannot change");
    r = admf_req(op, "GET", "/v1/warrants?state=deactivated", NULL, NULL);
    check(eq(admf_list(r, "id"), "p3"), "list filter state=deactivated");
    r = admf_req(op, "POST", "/v1/warrants/w1", w, NULL);
    check(r->status == 405, "POST on an item: 405");
    r = admf_req(op, "POST", "/v1/warrants",
                 with(w, "{s:s, s:s, s:[s]}", "id", "onsip", "liid", "ONSIP", "poi_ids",
                      "poi-sip"),
                 NULL);
    check(r->status == 201 && json_equal(jget(r->body, "poi_ids"), J("[s]", "poi-sip")),
          "warrant limited to one intercept point");
    r = admf_req(op, "DELETE", "/v1/intercept-points/poi-sip", NULL, "If-Match: *\nX-Reason: t");
    check(err_is(r, 409, "in_use"), "DELETE an intercept point a warrant names: 409");
    admf_req(op, "DELETE", "/v1/warrants/onsip", NULL, "If-Match: \"1\"\nX-Reason: t");
    r = admf_req(op, "GET", "/v1/intercept-points/poi-sip", NULL, NULL);
    r = admf_req(op, "DELETE", "/v1/intercept-points/poi-sip", NULL,
                 admf_fmt("If-Match: \"%lld\"\nX-Reason: decommissioned",
                          jint(r->body, "version")));
    check(r->status == 204, "DELETE intercept point: 204");
}

static void roles(void)
{
    struct {
        admf_client *client;
        const char *method, *path;
        json_t *body;
        int want;
        const char *what;
    } t[] = {
        { aud, "POST", "/v1/warrants", with(w, "{s:s, s:s}", "id", "r1", "liid", "R1"), 403,
          "auditor cannot create warrants" },
        { aud, "GET", "/v1/warrants", NULL, 403, "auditor cannot read warrants" },
        { aud, "GET", "/v1/destinations", NULL, 403, "auditor cannot read destinations" },
        { aud, "DELETE", "/v1/intercept-points/poi-down", NULL, 403,
          "auditor cannot delete intercept points" },
        { aud, "GET", "/v1/intercept-points", NULL, 200, "auditor reads intercept points" },
        { aud, "GET", "/v1/audit?limit=1", NULL, 200, "auditor reads the audit trail" },
        { op, "GET", "/v1/audit", NULL, 403, "operator cannot read the audit trail" },
        { op, "GET", "/v1/audit/verify", NULL, 403, "operator cannot verify the audit" },
        { op, "GET", "/v1/intercept-points", NULL, 200, "operator reads intercept points" },
        { adm, "GET", "/v1/audit?limit=1", NULL, 200, "admin reads the audit trail" },
        { adm, "GET", "/v1/warrants?limit=1", NULL, 200, "admin reads warrants" },
        { tok_admin, "POST", "/v1/destinations", with(dest, "{s:s}", "id", "lea3"), 201,
          "admin by bearer token creates a destination" },
        { tok_aud, "GET", "/v1/audit?limit=1", NULL, 200, "auditor by bearer token" },
        { admf_client_new(&d, NULL, "wrong-token-000000000"), "GET", "/v1/audit", NULL, 401,
          "unknown bearer token: 401" },
        { admf_client_new(&d, NULL, "adm1n-t0ken-01234567890"), "GET", "/v1/audit", NULL, 401,
          "the admin token and one more character: 401" },
        { admf_client_new(&d, NULL, "adm1n-t0ken-012345678"), "GET", "/v1/audit", NULL, 401,
          "the admin token less its last character: 401" },
        { anon, "GET", "/v1/warrants", NULL, 401, "no credentials: 401" },
        { admf_client_new(&d, "client", NULL), "GET", "/v1/warrants", NULL, 401,
          "a valid certificate of no role: 401" },
        { adm, "DELETE", "/v1/audit", NULL, 405, "nobody deletes audit events (405)" },
        { adm, "PUT", "/v1/audit/verify", J("{}"), 405, "nobody changes audit events (405)" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        admf_resp *r = admf_req(t[i].client, t[i].method, t[i].path, t[i].body,
                                "X-Reason: role test");
        check(r->status == t[i].want, "%s: %d %s", t[i].what, r->status,
              r->status != t[i].want ? r->raw : "");
    }
    admf_resp *r = admf_req(adm, "GET", "/v1/audit?action=audit.change", NULL, NULL);
    check(r->status == 200 && eq(admf_set(r, "object"), "DELETE /v1/audit,PUT /v1/audit/verify"),
          "attempts to change the audit trail are themselves audited (%s)",
          admf_set(r, "object"));
    r = admf_req(adm, "GET", "/v1/audit?action=auth.forbidden&limit=1000", NULL, NULL);
    check(r->status == 200 && admf_n(r) >= 5, "403s are audited (%zu)", admf_n(r));
    /* 401s are aggregated: one event per source, presented name and interval (1 s here),
     * with their count (issue 16: a flood cannot bury the trail). */
    admf_sleep_ms(2500);
    r = admf_req(adm, "GET", "/v1/audit?action=auth.fail&limit=1000", NULL, NULL);
    long long refused = 0;
    for (size_t i = 0; i < admf_n(r); i++) {
        json_t *dj = json_loads(jstr(json_array_get(jget(r->body, "items"), i), "detail"), 0,
                                NULL);
        refused += jint(dj, "count");
        json_decref(dj);
    }
    check(r->status == 200 && refused >= 4 &&
              admf_count(r, "actor", "token:unknown", NULL) > 0 &&
              admf_count(r, "actor", "cert:client", NULL) > 0,
          "401s are audited with who (%lld, aggregated)", refused);
}

/* limf-audit-verify on an export cut into lines: tampered, then with an event removed. */
static void audit_export_tampered(const admf_resp *exp)
{
    const char *out;
    size_t n = 0;
    char **lines = NULL;
    char *copy = strdup(exp->raw);
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lines = realloc(lines, (n + 1) * sizeof *lines);
        if (!lines)
            abort();
        lines[n++] = l;
    }
    const char *path = scratch("audit.jsonl", exp->raw, exp->raw_len);
    int rc = verify_file(path, &out);
    check(rc == 0 && strstr(out, admf_fmt("%zu events", n)),
          "limf-audit-verify on the export: intact (%s)", out);
    size_t k = n / 2;
    json_t *ev = n ? json_loads(lines[k], 0, NULL) : NULL;
    const char *reason = jstr(ev, "reason");
    long long index = jint(ev, "index");
    if (ev && reason) {
        json_object_set_new(ev, "reason", json_string(admf_fmt("%s (edited)", reason)));
        lines[k] = (char *)jdump(ev);
    }
    json_decref(ev);
    for (int drop = 0; drop < 2; drop++) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        for (size_t i = 0; i < n; i++)
            if (!(drop && i == k))
                fprintf(f, "%s\n", lines[i]);
        fclose(f);
        rc = verify_file(scratch("tampered.jsonl", text, len), &out);
        free(text);
        if (!drop)
            check(rc == 1 && reason && strstr(out, admf_fmt("index %lld:", index)),
                  "tampered event %lld named: %s", index, out);
        else
            check(rc == 1 && strstr(out, "index gap"), "removed event detected (%s)", out);
    }
    free(lines);
    free(copy);
}

static void audit_trail(void)
{
    admf_resp *r = admf_req(aud, "GET", "/v1/audit?object=warrant/w1&limit=1000", NULL, NULL);
    check(admf_count(r, "action", "warrant.create", "outcome", "accepted", NULL) > 0 &&
              admf_count(r, "action", "warrant.update", "outcome", "refused", NULL) > 0 &&
              admf_count(r, "action", "warrant.update", "outcome", "accepted", NULL) > 0,
          "audit by object: accepted and refused");
    check(admf_count(r, "object", "warrant/w1", NULL) == admf_n(r),
          "audit object filter exact");
    r = admf_req(aud, "GET", "/v1/audit?object=warrant/&outcome=refused&limit=1000", NULL, NULL);
    json_t *items = jget(r->body, "items"), *e;
    size_t i;
    int all = 1;
    json_array_foreach(items, i, e) {
        const char *o = jstr(e, "object");
        all = all && o && strncmp(o, "warrant/", 8) == 0 && eq(jstr(e, "outcome"), "refused");
    }
    check(r->status == 200 && admf_n(r) >= 15 && all,
          "audit: every refused warrant change is recorded (%zu)", admf_n(r));
    r = admf_req(aud, "GET", "/v1/audit?actor=cert:operator&limit=5", NULL, NULL);
    const char *next = next_of(r);
    check(admf_n(r) == 5 && admf_count(r, "actor", "cert:operator", NULL) == 5 && next,
          "audit by actor, paginated");
    admf_resp *r2 = admf_req(
        aud, "GET", admf_fmt("/v1/audit?actor=cert:operator&limit=5&after=%s", next ? next : ""),
        NULL, NULL);
    check(admf_n(r2) > 0 && admf_n(r) > 0 &&
              jint(json_array_get(jget(r2->body, "items"), 0), "index") >
                  jint(json_array_get(jget(r->body, "items"), admf_n(r) - 1), "index"),
          "audit: next page");
    r = admf_req(aud, "GET", "/v1/audit?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z",
                 NULL, NULL);
    check(r->status == 200 && json_is_array(jget(r->body, "items")) && admf_n(r) == 0,
          "audit time filter");
    r = admf_req(aud, "GET", "/v1/audit?from=yesterday", NULL, NULL);
    check(err_is(r, 400, "invalid_time"), "audit bad time: 400");
    r = admf_req(aud, "GET", "/v1/audit/verify", NULL, NULL);
    check(r->status == 200 && json_is_true(jget(r->body, "ok")) && jint(r->body, "events") > 50,
          "GET /v1/audit/verify: intact (%s)", r->raw);
    audit_export_tampered(admf_req(aud, "GET", "/v1/audit?format=jsonl", NULL, NULL));
}

static void validity_window(void)
{
    uint64_t t0 = admf_now_ms();
    admf_resp *r = admf_req(op, "POST", "/v1/warrants",
                            with(w, "{s:s, s:s, s:s, s:s}", "id", "short", "liid", "SHORT",
                                 "start", admf_rfc3339(t0 + 3000), "end",
                                 admf_rfc3339(t0 + 6000)),
                            NULL);
    check(r->status == 201 && eq(jstr(r->body, "state"), "pending"),
          "short warrant: pending before its start");
    if (admf_now_ms() < t0 + 3500)
        admf_sleep_ms((int)(t0 + 3500 - admf_now_ms()));
    r = admf_req(op, "GET", "/v1/warrants/short", NULL, NULL);
    check(eq(jstr(r->body, "state"), "active"), "short warrant: active inside its window");
    if (admf_now_ms() < t0 + 6800)
        admf_sleep_ms((int)(t0 + 6800 - admf_now_ms()));
    r = admf_req(op, "GET", "/v1/warrants/short", NULL, NULL);
    check(eq(jstr(r->body, "state"), "expired"), "short warrant: expired after its end");
    r = admf_req(aud, "GET", "/v1/audit?object=warrant/short", NULL, NULL);
    check(admf_count(r, "action", "warrant.activate", NULL) > 0 &&
              admf_count(r, "action", "warrant.expire", NULL) > 0,
          "activation and expiry recorded by the system in the audit trail");
}

/* Every object of every collection; of intercept points without their live state
 * (health is refreshed at start). */
static json_t *snapshot(void)
{
    static const char *const colls[] = { "warrants", "destinations", "cert-exceptions",
                                         "intercept-points" };
    json_t *state = J("{}");
    for (size_t c = 0; c < 4; c++) {
        admf_resp *r = admf_req(adm, "GET", admf_fmt("/v1/%s?limit=1000", colls[c]), NULL, NULL);
        json_t *items = json_deep_copy(jget(r->body, "items")), *x;
        size_t i;
        if (c == 3)
            json_array_foreach(items, i, x) {
                json_object_del(x, "health");
                json_object_del(x, "last_audit");
                json_object_del(x, "version");
                json_object_del(x, "updated");
            }
        json_object_set_new(state, colls[c], items ? items : json_null());
    }
    return state;
}

static size_t objects(const json_t *state)
{
    const char *k;
    json_t *v;
    size_t n = 0;
    json_object_foreach((json_t *)state, k, v)
        n += json_array_size(v);
    return n;
}

/* The audit events in memory are n consecutive indexes; *first and *last get the ends. */
static int window_of(const admf_resp *r, size_t n, long long *first, long long *last)
{
    json_t *items = jget(r->body, "items");
    if (json_array_size(items) != n || n == 0)
        return 0;
    *first = jint(json_array_get(items, 0), "index");
    for (size_t i = 0; i < n; i++)
        if (jint(json_array_get(items, i), "index") != *first + (long long)i)
            return 0;
    *last = *first + (long long)n - 1;
    return 1;
}

static void restart(void)
{
    json_t *before = snapshot();
    admf_resp *vb = admf_req(aud, "GET", "/v1/audit/verify", NULL, NULL);
    admf_daemon_kill9(&d);
    admf_daemon_start(&d);
    json_t *after = snapshot();
    check(json_equal(before, after) && objects(after) > 10,
          "kill -9 and restart: every object identical (%zu objects)", objects(after));
    admf_resp *r = admf_req(aud, "GET", "/v1/audit/verify", NULL, NULL);
    check(json_is_true(jget(r->body, "ok")) &&
              jint(r->body, "events") >= jint(vb->body, "events") && jint(vb->body, "events") >= 0,
          "audit chain intact after restart");
    long long w1_version = -1;
    json_t *x;
    size_t i;
    json_array_foreach(jget(before, "warrants"), i, x)
        if (eq(jstr(x, "id"), "w1"))
            w1_version = jint(x, "version");
    r = admf_req(op, "PATCH", "/v1/warrants/w1", J("{s:s}", "legal_reference", "after restart"),
                 admf_fmt("If-Match: \"%lld\"", w1_version));
    check(r->status == 200, "ETags survive the restart");
    r = admf_req(aud, "GET", "/v1/audit?object=warrant/w1&limit=1000", NULL, NULL);
    check(admf_n(r) > 0 &&
              eq(jstr(json_array_get(jget(r->body, "items"), admf_n(r) - 1), "reason"),
                 "after restart"),
          "the chain continues after restart");
    r = admf_req(aud, "GET", "/v1/audit/verify", NULL, NULL);
    check(json_is_true(jget(r->body, "ok")),
          "audit chain intact after writing on top of the restored chain");

    /* bounded memory: only the newest events stay queryable, all stay in Kafka */
    long long total = jint(r->body, "events"), first, last, last0;
    admf_daemon_stop(&d);
    admf_daemon_set(&d, "admf.audit_memory_events", "10");
    admf_daemon_start(&d);
    r = admf_req(aud, "GET", "/v1/audit?limit=1000", NULL, NULL);
    /* (the restart itself may add events: the POI's health and reconciliation) */
    int ok = window_of(r, 10, &first, &last);
    check(ok && total > 0 && first >= total - 10,
          "after restart with a window of 10: the newest 10 events in memory (%lld..%lld, "
          "%lld before)", ok ? first : -1, ok ? last : -1, total);
    last0 = ok ? last : -1;
    for (int k = 0; k < 3; k++)
        admf_req(op, "POST", "/v1/destinations", with(dest, "{s:s}", "id", admf_fmt("ring%d", k)),
                 "X-Reason: ring");
    r = admf_req(aud, "GET", "/v1/audit?limit=1000", NULL, NULL);
    ok = window_of(r, 10, &first, &last);
    check(ok && last0 >= 0 && last >= last0 + 3 &&
              eq(jstr(json_array_get(jget(r->body, "items"), 9), "object"), "destination/ring2"),
          "the window moves with new events");
    const char *out;
    admf_resp *exp = admf_req(aud, "GET", "/v1/audit?format=jsonl", NULL, NULL);
    int rc = verify_file(scratch("audit.jsonl", exp->raw, exp->raw_len), &out);
    check(rc == 0 && strstr(out, "10 events"), "the window's export verifies (%s)", out);
    r = admf_req(aud, "GET", "/v1/audit/verify", NULL, NULL);
    check(json_is_true(jget(r->body, "ok")) && jint(r->body, "events") >= total + 3 &&
              ok && jint(r->body, "events") >= last + 1,
          "the whole chain is still in Kafka");
}

/* A certificate whose CN is a role name has no role unless rest.role.<CN> maps it
 * (rest.cn_is_role is off by default); the tokens file holds SHA-256 digests, and a file
 * with a token in the clear is refused at start. */
static void credentials_at_rest(void)
{
    admf_daemon d2;
    admf_cert_roles = 0;
    admf_daemon_init(&d2, "admf-cred", NULL);
    admf_cert_roles = 1;
    admf_daemon_start(&d2);
    admf_resp *r = admf_req(admf_client_new(&d2, "admin", NULL), "GET", "/v1/audit?limit=1",
                            NULL, NULL);
    check(r->status == 401, "CN admin without rest.role.admin: 401 (%d)", r->status);
    r = admf_req(admf_client_new(&d2, "operator", NULL), "GET", "/v1/warrants", NULL, NULL);
    check(r->status == 401, "CN operator without rest.role.operator: 401 (%d)", r->status);
    r = admf_req(admf_client_new(&d2, NULL, "adm1n-t0ken-0123456789"), "GET",
                 "/v1/audit?limit=1", NULL, NULL);
    check(r->status == 200, "the admin token, stored as its SHA-256: 200 (%d)", r->status);
    admf_daemon_stop(&d2);
    FILE *f = fopen(admf_fmt("%s/tokens", d2.dir), "w");
    fprintf(f, "ci-admin admin adm1n-t0ken-0123456789\n");
    fclose(f);
    const char *out = NULL;
    char *argv[] = { (char *)admf_fmt("%s/limf-admf", admf_bin_dir()), "-c", d2.conf, NULL };
    int rc = admf_run(argv, &out);
    check(rc != 0 && out && strstr(out, "sha256:"),
          "a tokens file with a token in the clear: refused at start (exit %d)", rc);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    admf_daemon_init(&d, "admf-api", NULL);
    admf_daemon_start(&d);
    op = admf_client_new(&d, "operator", NULL);
    aud = admf_client_new(&d, "auditor", NULL);
    adm = admf_client_new(&d, "admin", NULL);
    tok_admin = admf_client_new(&d, NULL, "adm1n-t0ken-0123456789");
    tok_aud = admf_client_new(&d, NULL, "aud1t-t0ken-0123456789");
    anon = admf_client_new(&d, NULL, NULL);
    uint64_t now = admf_now_ms();
    year0 = admf_rfc3339(now - DAY_MS);
    year1 = admf_rfc3339(now + 365 * DAY_MS);

    health_openapi_metrics();
    destinations();
    intercept_points();
    cert_exceptions();
    more_destinations_and_pois();
    repointing();
    warrants_create();
    warrants_update();
    warrants_race();
    warrants_lists();
    deletion();
    roles();
    audit_trail();
    validity_window();
    restart();
    credentials_at_rest();

    int rc = admf_daemon_stop(&d);
    check(rc == 0, "SIGTERM: clean shutdown (exit 0, got %d)", rc);
    return admf_finish(&d);
}
