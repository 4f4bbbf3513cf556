/* The audit trail against an administrator who holds limf.audit but not the audit key
 * (issue 16), on the real daemon and broker:
 * - limf-audit-verify --key --anchor on an export refuses a dropped head, a dropped tail up
 *   to a checkpoint, a deleted event, an edited event and a chain recomputed under another
 *   key, and passes the genuine export;
 * - an event written to limf.audit under another key is named by GET /v1/audit/verify; at
 *   restart the broken chain puts the ADMF in read-only mode (metric, 503) until an admin
 *   acknowledges it, an audited action that survives the next restart;
 * - the oldest events deleted from limf.audit: after restart (and acknowledgement) the
 *   next index follows the last event and the export verifies from a checkpoint;
 * - refused authentications become one aggregated event per source and interval;
 * - a stale ETag after delete and re-create is refused (412);
 * - the auditor's view holds no target or LIID (pseudonyms), warrant reads and target
 *   look-ups are audited;
 * - paths with NUL, dot segments or encoded slashes, X-Reason with control characters or
 *   too long, and bodies of another media type are refused; errors are RFC 9457;
 * - the OpenAPI document's rules are the server's (contract);
 * - limf.audit is created with unlimited retention, and another retention is an alarm. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admf_util.h"
#include "audit_chain.h"
#include "li_bytes.h"
#include "li_kafka.h"

static admf_daemon d;
static admf_client *op, *aud, *adm, *anon;
static json_t *dest;

static int eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

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

/* limf-audit-verify --key KEY [--anchor CP] FILE: exit status, output into *out. */
static int verify(const char *anchor, const char *path, const char **out)
{
    const char *bin = admf_fmt("%s/limf-audit-verify", admf_bin_dir());
    char *with_anchor[] = { (char *)bin, "--key", d.audit_key, "--anchor", (char *)anchor,
                            (char *)path, NULL };
    char *plain[] = { (char *)bin, "--key", d.audit_key, (char *)path, NULL };
    return admf_run(anchor ? with_anchor : plain, out);
}

/* JSON text parsed into a document the helpers own (NULL when not JSON). */
static json_t *parse(const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    return j ? J("o", j) : NULL;
}

/* The export's lines, pointing into a copy the helpers own; n set. The array is the
 * caller's to free. */
static char **lines_of(const admf_resp *r, size_t *n)
{
    char **lines = NULL, *copy = (char *)admf_fmt("%s", r->raw);
    *n = 0;
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lines = realloc(lines, (*n + 1) * sizeof *lines);
        if (!lines)
            abort();
        lines[(*n)++] = l;
    }
    return lines;
}

/* Writes lines [from, to) except `skip` (-1: none) into a scratch file. */
static const char *cut(char **lines, size_t from, size_t to, long skip, const char *name)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    for (size_t i = from; i < to; i++)
        if ((long)i != skip)
            fprintf(f, "%s\n", lines[i]);
    fclose(f);
    const char *path = scratch(name, text, len);
    free(text);
    return path;
}

/* The whole export recomputed under a key the forger made up, after renaming an actor:
 * what an administrator of Kafka could do without the audit key. */
static const char *rekeyed(char **lines, size_t n)
{
    audit_chain_key forger;
    uint8_t raw[32], prev[32] = { 0 };
    memset(raw, 0x42, sizeof raw);
    audit_chain_key_set(&forger, raw, sizeof raw);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    const char *real_id = NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_loads(lines[i], 0, NULL);
        Limf__AuditEvent ev;
        uint8_t p[32], h[32];
        if (!j || audit_chain_from_json(j, &ev, p, h) != LI_OK)
            abort();
        real_id = real_id ? real_id : admf_fmt("%s", ev.key_id);
        if (strcmp(ev.actor, "cert:operator") == 0)
            ev.actor = "cert:somebody-else";
        ev.key_id = (char *)real_id; /* claims the audit key */
        memcpy(p, prev, 32);
        ev.prev_hash.data = p;
        audit_chain_hash(&ev, &forger, h);
        ev.hash.data = h;
        memcpy(prev, h, 32);
        json_t *out = audit_chain_to_json(&ev);
        fprintf(f, "%s\n", jdump(out));
        json_decref(out);
        json_decref(j);
    }
    fclose(f);
    const char *path = scratch("rekeyed.jsonl", text, len);
    free(text);
    return path;
}

/* The latest checkpoint after the daemon wrote one covering the newest events. */
static admf_resp *fresh_checkpoint(void)
{
    admf_sleep_ms(1500); /* admf.audit_checkpoint_seconds = 1 in the test configuration */
    return admf_req(aud, "GET", "/v1/audit/checkpoint", NULL, NULL);
}

static void forgeries_offline(void)
{
    for (int i = 0; i < 6; i++)
        admf_req(op, "POST", "/v1/destinations", with(dest, "{s:s}", "id", admf_fmt("d%d", i)),
                 "X-Reason: ticket 1");
    admf_resp *r = fresh_checkpoint();
    long long cp_index = jint(r->body, "index");
    check(r->status == 200 && cp_index >= 5 && strlen(jstr(r->body, "mac")) == 64 &&
              strlen(jstr(r->body, "head")) == 64,
          "GET /v1/audit/checkpoint: index, head and MAC (%s)", r->raw);
    const char *cp = scratch("checkpoint.json", r->raw, r->raw_len);
    r = admf_req(op, "GET", "/v1/audit/checkpoint", NULL, NULL);
    check(r->status == 403, "the operator cannot read checkpoints");

    admf_resp *exp = admf_req(aud, "GET", "/v1/audit?format=jsonl", NULL, NULL);
    size_t n;
    char **lines = lines_of(exp, &n);
    const char *out;
    check(n > (size_t)cp_index && jint(parse(lines[0]), "index") == 0,
          "the export starts at event 0 and reaches the checkpoint (%zu lines)", n);
    int rc = verify(cp, scratch("audit.jsonl", exp->raw, exp->raw_len), &out);
    check(rc == 0 && strstr(out, "OK:"), "the genuine export verifies with the anchor (%s)", out);

    rc = verify(cp, cut(lines, 3, n, -1, "head.jsonl"), &out);
    check(rc == 1 && strstr(out, "index 3:"), "dropped head refused, event named (%s)", out);
    rc = verify(cp, cut(lines, 0, (size_t)cp_index, -1, "tail.jsonl"), &out);
    check(rc == 1 && strstr(out, admf_fmt("index %lld:", cp_index)),
          "dropped tail up to the checkpoint refused (%s)", out);
    rc = verify(cp, cut(lines, 0, n, 4, "deleted.jsonl"), &out);
    check(rc == 1 && strstr(out, "index 4:"), "deleted event refused (%s)", out);
    json_t *ev = parse(lines[5]);
    json_object_set_new(ev, "actor", json_string("cert:somebody-else"));
    lines[5] = (char *)jdump(ev);
    rc = verify(cp, cut(lines, 0, n, -1, "edited.jsonl"), &out);
    check(rc == 1 && strstr(out, "index 5:"), "edited event refused (%s)", out);
    rc = verify(cp, rekeyed(lines, n), &out);
    check(rc == 1 && strstr(out, "index 0:"), "chain recomputed under another key refused (%s)",
          out);

    /* An export from a cursor opens with the ADMF's checkpoint of the event before. */
    exp = admf_req(aud, "GET", "/v1/audit?format=jsonl&after=2", NULL, NULL);
    char **part = lines_of(exp, &n);
    rc = verify(cp, scratch("after.jsonl", exp->raw, exp->raw_len), &out);
    check(rc == 0 && n > 2 && strstr(part[0], "\"checkpoint\"") && strstr(out, "from index 3"),
          "an export from a cursor verifies from its start checkpoint (%s)", out);
    rc = verify(cp, cut(part, 2, n, -1, "after-cut.jsonl"), &out);
    check(rc == 1, "...and its first events cannot be dropped (%s)", out);

    r = admf_req(aud, "GET", "/v1/audit/verify", NULL, NULL);
    check(json_is_true(jget(r->body, "ok")), "GET /v1/audit/verify: intact (%s)", r->raw);
    free(lines);
    free(part);
}

/* The auditor sees who did what to which warrant, never whom it intercepts; reads and
 * target look-ups are audited with the target's pseudonym. Also: a PATCH without
 * legal_reference keeps it, and a PUT echoing it is no reason. */
static void least_knowledge(void)
{
    uint64_t now = admf_now_ms();
    json_t *w = J("{s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:s, s:[s], s:s, s:s}", "id", "w1",
                  "liid", "LIID-SECRET-7", "auth_country", "DE", "legal_reference",
                  "AG Berlin 12/26", "targets", "type", "sip-uri", "value",
                  "sip:alice.target@example.com", "delivery", "iri", "destination_ids", "d0",
                  "start", admf_rfc3339(now - 3600000), "end", admf_rfc3339(now + 86400000));
    admf_resp *r = admf_req(op, "POST", "/v1/warrants", w, NULL);
    check(r->status == 201, "warrant created (%s)", r->raw);
    r = admf_req(op, "PATCH", "/v1/warrants/w1", J("{s:s}", "delivery", "iri+cc"),
                 "If-Match: \"1\"\nX-Reason: ticket 42");
    check(r->status == 200 && eq(jstr(r->body, "legal_reference"), "AG Berlin 12/26"),
          "PATCH with a ticket keeps the legal reference (%s)", r->raw);
    r = admf_req(op, "PUT", "/v1/warrants/w1", w, "If-Match: \"2\"");
    check(r->status == 400 && eq(jstr(r->body, "code"), "reason_required"),
          "PUT echoing the stored legal reference is no reason (%s)", r->raw);
    admf_req(op, "GET", "/v1/warrants/w1", NULL, NULL);
    admf_req(op, "GET", "/v1/warrants?target=sip:Alice.Target@EXAMPLE.com", NULL, NULL);
    admf_req(op, "GET", "/v1/warrants?target=sip:nobody@example.com", NULL, NULL);

    admf_resp *exp = admf_req(aud, "GET", "/v1/audit?format=jsonl", NULL, NULL);
    check(exp->status == 200 && !strstr(exp->raw, "alice") && !strstr(exp->raw, "Alice") &&
              !strstr(exp->raw, "LIID-SECRET"),
          "the auditor's view of the trail holds no target and no LIID");
    r = admf_req(aud, "GET", "/v1/audit?action=warrant.create&limit=1000", NULL, NULL);
    json_t *created = parse(jstr(json_array_get(jget(r->body, "items"), 0), "detail"));
    const char *pseudonym = jstr(json_array_get(jget(created, "targets"), 0), "value");
    check(pseudonym && strncmp(pseudonym, "hmac:", 5) == 0 &&
              strncmp(jstr(created, "liid"), "hmac:", 5) == 0,
          "warrant.create names target and LIID by pseudonym (%s)", pseudonym);
    r = admf_req(aud, "GET", "/v1/audit?action=warrant.read&limit=1000", NULL, NULL);
    check(admf_count(r, "actor", "cert:operator", "object", "warrant/w1", NULL) == 1,
          "reading a warrant is audited (who, which)");
    r = admf_req(aud, "GET", "/v1/audit?action=warrant.lookup&limit=1000", NULL, NULL);
    json_t *first = parse(jstr(json_array_get(jget(r->body, "items"), 0), "detail"));
    json_t *second = parse(jstr(json_array_get(jget(r->body, "items"), 1), "detail"));
    check(admf_n(r) == 2 && eq(jstr(first, "target"), pseudonym) &&
              jstr(second, "target") && !eq(jstr(second, "target"), pseudonym),
          "target look-ups are audited with the pseudonym of the identity looked up");
    admf_resp *bad = admf_req(aud, "GET", "/v1/warrants/w1", NULL, NULL);
    check(bad->status == 403, "the auditor cannot read the warrant itself");
}

/* Requests that could mean two things, or carry what a terminal would obey, are refused;
 * errors are RFC 9457 problems. */
static void request_hygiene(void)
{
    static const char *const paths[] = { "/v1/destinations/d0%00/../../audit",
                                         "/v1/destinations/d0%2F..%2F..%2Faudit",
                                         "/v1//destinations", "/v1/destinations/./d0",
                                         "/v1/destinations/d0/..", "/v1/destinations/" };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        admf_resp *r = admf_req(op, "PATCH", paths[i], J("{s:s}", "name", "x"),
                                "If-Match: *\nX-Reason: t");
        check(r->status == 400 && eq(jstr(r->body, "code"), "invalid_path"),
              "%s: 400 invalid_path (%d)", paths[i], r->status);
    }
    admf_resp *r = admf_req(op, "GET", "/v1/destinations/d0", NULL, NULL);
    check(r->status == 200 && !eq(jstr(r->body, "name"), "x"), "...and d0 is unchanged");
    r = admf_req(op, "PATCH", "/v1/destinations/d0", J("{s:s}", "name", "x"),
                 "If-Match: *\nX-Reason: ok\x1b[2J\x1b[1;1Hforged");
    check(r->status == 400 && eq(jstr(r->body, "code"), "invalid_reason") &&
              eq(jstr(r->body, "field"), "X-Reason"),
          "X-Reason with terminal escapes: 400 invalid_reason (%s)", r->raw);
    char long_reason[1100];
    memset(long_reason, 'a', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = 0;
    r = admf_req(op, "PATCH", "/v1/destinations/d0", J("{s:s}", "name", "x"),
                 admf_fmt("If-Match: *\nX-Reason: %s", long_reason));
    check(r->status == 400 && eq(jstr(r->body, "code"), "invalid_reason"),
          "X-Reason of 1099 bytes: 400 invalid_reason");
    r = admf_req(op, "PATCH", "/v1/destinations/d0", J("{s:s}", "name", "merged"),
                 "If-Match: *\nX-Reason: t\nContent-Type: application/merge-patch+json");
    check(r->status == 200 && eq(jstr(r->body, "name"), "merged"),
          "PATCH as application/merge-patch+json: 200 (%d)", r->status);
    static const char *const types[] = { "application/merge-patch+json", "application/jsonx",
                                         "text/plain", "", "application/json; charset=latin1" };
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        r = admf_req(op, "POST", "/v1/destinations", with(dest, "{s:s}", "id", "ct"),
                     admf_fmt("X-Reason: t\nContent-Type: %s", types[i]));
        check(r->status == 415, "POST with Content-Type \"%s\": 415 (%d)", types[i], r->status);
    }
    r = admf_req(op, "POST", "/v1/destinations", with(dest, "{s:s}", "id", "ct"),
                 "X-Reason: t\nContent-Type: application/json; charset=utf-8");
    check(r->status == 201, "POST with application/json; charset=utf-8: 201 (%d)", r->status);
    r = admf_req(op, "GET", "/v1/destinations/nope", NULL, NULL);
    check(r->status == 404 && eq(admf_header(r, "Content-Type"), "application/problem+json") &&
              eq(jstr(r->body, "type"), "urn:limf:problem:not_found") &&
              jint(r->body, "status") == 404 && jstr(r->body, "detail"),
          "errors are application/problem+json (RFC 9457): %s", r->raw);
}

/* The OpenAPI document and the server agree: for every writable top-level field of each
 * resource, a value that breaks the document's rule (maxLength, pattern, enum, minimum/
 * maximum, required) is refused by the server with 400 naming that field, and the base
 * body the violations start from is accepted. */
static json_t *violation(const json_t *rule)
{
    json_t *items = json_object_get(rule, "items");
    if (json_object_get(rule, "maxLength") &&
        json_integer_value(json_object_get(rule, "maxLength")) < 4096) {
        size_t n = (size_t)json_integer_value(json_object_get(rule, "maxLength")) + 1;
        char *t = malloc(n + 1);
        memset(t, 'a', n);
        t[n] = 0;
        json_t *v = json_string(t);
        free(t);
        return v;
    }
    if (json_object_get(rule, "pattern"))
        return json_string("\x01");
    if (json_object_get(rule, "enum"))
        return json_string("nonsense");
    if (json_object_get(rule, "maximum"))
        return json_integer(json_integer_value(json_object_get(rule, "maximum")) + 1);
    if (json_object_get(items, "pattern"))
        return json_pack("[s]", "\x01");
    return NULL;
}

static void contract_of(const json_t *doc, const char *schema, const char *collection,
                        const json_t *base)
{
    json_t *sch = jget(jget(jget(doc, "components"), "schemas"), schema);
    json_t *props = json_object_get(sch, "properties"), *rule, *req;
    const char *name;
    size_t i, checked = 0;
    admf_resp *r = admf_req(op, "POST", admf_fmt("/v1/%s", collection), (json_t *)base,
                            "X-Reason: contract");
    check(r->status == 201, "contract %s: the base body is accepted (%s)", schema, r->raw);
    json_object_foreach(props, name, rule) {
        json_t *v = json_is_true(json_object_get(rule, "readOnly")) ? NULL : violation(rule);
        if (!v)
            continue;
        json_t *body = json_deep_copy(base);
        json_object_del(body, "id");
        json_object_set_new(body, name, v);
        r = admf_req(op, "POST", admf_fmt("/v1/%s", collection), body, "X-Reason: contract");
        check(r->status == 400 && eq(jstr(r->body, "field"), name),
              "contract %s.%s: the document's rule is enforced (%d %s)", schema, name,
              r->status, jstr(r->body, "field"));
        json_decref(body);
        checked++;
    }
    json_array_foreach(json_object_get(sch, "required"), i, req) {
        json_t *body = json_deep_copy(base);
        json_object_del(body, "id");
        json_object_del(body, json_string_value(req));
        r = admf_req(op, "POST", admf_fmt("/v1/%s", collection), body, "X-Reason: contract");
        check(r->status == 400 && eq(jstr(r->body, "field"), json_string_value(req)),
              "contract %s: %s is required (%d %s)", schema, json_string_value(req), r->status,
              jstr(r->body, "field"));
        json_decref(body);
        checked++;
    }
    check(checked >= 3, "contract %s: %zu rules checked", schema, checked);
}

static void contract(void)
{
    admf_resp *doc = admf_req(anon, "GET", "/v1/openapi.json", NULL, NULL);
    uint64_t now = admf_now_ms();
    contract_of(doc->body, "Destination", "destinations", with(dest, "{s:s}", "id", "c-dest"));
    contract_of(doc->body, "InterceptPoint", "intercept-points",
                J("{s:s, s:s, s:s}", "id", "c-poi", "role", "sip", "x1_url",
                  "https://127.0.0.1:9/X1/NE"));
    contract_of(doc->body, "CertException", "cert-exceptions",
                J("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", "c-exc", "fingerprint_sha256",
                  "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:"
                  "cd:ef:01:23:45:67:89", "peer", "conf.example.net", "scope", "peer", "reason",
                  "CR 1", "approver", "cert:admin", "expires", admf_rfc3339(now + 86400000)));
    contract_of(doc->body, "Warrant", "warrants",
                J("{s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:s, s:[s], s:s, s:s}", "id", "c-w",
                  "liid", "C-1", "auth_country", "DE", "legal_reference", "AG 1/1", "targets",
                  "type", "e164", "value", "+4930999", "delivery", "iri", "destination_ids",
                  "d0", "start", admf_rfc3339(now - 1000), "end", admf_rfc3339(now + 86400000)));
}

/* ---- writing to limf.audit behind the daemon's back ---- */

/* As the Kafka administrator (kafka-admin, a super user of the broker): the insider the
 * keyed chain is there against. */

static rd_kafka_t *kafka_admin(char *topic, size_t n)
{
    char errstr[512], path[600], errbuf[256];
    li_config *cfg = li_config_new();
    /* The broker's administrator, as deploy/kafka.sh configures it for this broker. */
    snprintf(path, sizeof path, "%s/clients/kafka-admin.conf", getenv("LIMF_KAFKA_DIR"));
    if (li_config_load_file(cfg, path, errbuf, sizeof errbuf) != LI_OK) {
        fprintf(stderr, "%s\n", errbuf);
        exit(1);
    }
    li_config_set(cfg, "topics.prefix", getenv("LIMF_TOPIC_PREFIX"));
    li_kafka_topic(cfg, "limf.audit", topic, n);
    rd_kafka_t *p = li_kafka_producer_new(cfg, NULL, NULL, NULL, errstr, sizeof errstr);
    li_config_free(cfg);
    if (!p) {
        fprintf(stderr, "kafka: %s\n", errstr);
        exit(2);
    }
    return p;
}

/* Appends an event that continues the chain (index and prev_hash right) but is MACed
 * under a made-up key while claiming the audit key's id. */
static void append_rekeyed(long long index, const char *prev_hex, const char *key_id)
{
    char topic[256];
    rd_kafka_t *p = kafka_admin(topic, sizeof topic);
    audit_chain_key forger;
    uint8_t raw[32], prev[32], hash[32], buf[1024];
    size_t got;
    memset(raw, 0x42, sizeof raw);
    audit_chain_key_set(&forger, raw, sizeof raw);
    li_hex_decode(prev_hex, 64, 0, prev, 32, &got);
    Limf__AuditEvent ev;
    limf__audit_event__init(&ev);
    ev.index = (uint64_t)index;
    ev.at_ms = (int64_t)admf_now_ms();
    ev.actor = "cert:admin";
    ev.role = "admin";
    ev.action = "warrant.delete";
    ev.object = "warrant/w1";
    ev.outcome = "accepted";
    ev.key_id = (char *)key_id;
    ev.prev_hash.data = prev;
    ev.prev_hash.len = 32;
    audit_chain_hash(&ev, &forger, hash);
    ev.hash.data = hash;
    ev.hash.len = 32;
    size_t n = limf__audit_event__pack(&ev, buf);
    rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(buf, n),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    check(li_kafka_destroy(p, 10000) == 0, "a rekeyed event written to limf.audit");
}

/* Deletes limf.audit's records before `offset` (what retention or an administrator does). */
static void delete_before(long long offset)
{
    char topic[256];
    rd_kafka_t *p = kafka_admin(topic, sizeof topic);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, 0)->offset = offset;
    rd_kafka_DeleteRecords_t *del = rd_kafka_DeleteRecords_new(l);
    rd_kafka_queue_t *q = rd_kafka_queue_new(p);
    rd_kafka_DeleteRecords(p, &del, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    const rd_kafka_DeleteRecords_result_t *res = ev ? rd_kafka_event_DeleteRecords_result(ev) : NULL;
    const rd_kafka_topic_partition_list_t *offs =
        res ? rd_kafka_DeleteRecords_result_offsets(res) : NULL;
    check(ev && !rd_kafka_event_error(ev) && offs && offs->cnt == 1 && !offs->elems[0].err,
          "limf.audit's records before offset %lld deleted", offset);
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteRecords_destroy(del);
    rd_kafka_topic_partition_list_destroy(l);
    li_kafka_destroy(p, 1000);
}

/* Sets limf.audit's retention to 7 days, as a broker default or an administrator would. */
static void shorten_retention(void)
{
    char topic[256];
    rd_kafka_t *p = kafka_admin(topic, sizeof topic);
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_ConfigResource_set_config(res, "retention.ms", "604800000");
    rd_kafka_queue_t *q = rd_kafka_queue_new(p);
    rd_kafka_AlterConfigs(p, &res, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    check(ev && !rd_kafka_event_error(ev), "limf.audit's retention shortened to 7 days");
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(res);
    li_kafka_destroy(p, 1000);
}

static int metric(const char *name)
{
    admf_resp *r = admf_req(aud, "GET", "/metrics", NULL, NULL);
    const char *at = r->raw ? strstr(r->raw, admf_fmt("\n%s ", name)) : NULL;
    return at ? atoi(at + strlen(name) + 2) : -1;
}

/* The newest event held by the daemon. */
static json_t *newest_event(void)
{
    admf_resp *r = admf_req(aud, "GET", "/v1/audit?limit=1000", NULL, NULL);
    json_t *items = jget(r->body, "items");
    json_t *last = json_array_get(items, json_array_size(items) - 1);
    return J("o", last ? json_incref(last) : json_object());
}

static void acknowledge(const char *what)
{
    admf_resp *r = admf_req(op, "POST", "/v1/audit/acknowledge", NULL, "X-Reason: t");
    check(r->status == 403, "%s: the operator cannot acknowledge (%d)", what, r->status);
    r = admf_req(adm, "POST", "/v1/audit/acknowledge", NULL, NULL);
    check(r->status == 400, "%s: acknowledging needs a reason (%d)", what, r->status);
    r = admf_req(adm, "POST", "/v1/audit/acknowledge", NULL, "X-Reason: incident 7");
    check(r->status == 200, "%s: the admin acknowledges (%s)", what, r->raw);
    check(metric("limf_admf_read_only") == 0, "%s: read-only mode left", what);
    r = admf_req(aud, "GET", "/v1/audit?action=audit.acknowledge&limit=1000", NULL, NULL);
    check(admf_count(r, "actor", "cert:admin", "reason", "incident 7", NULL) > 0,
          "%s: the acknowledgement is audited", what);
}

static void forgery_in_kafka(void)
{
    fresh_checkpoint(); /* nothing left for the daemon to write meanwhile */
    json_t *last = newest_event();
    long long n = jint(last, "index") + 1;
    append_rekeyed(n, jstr(last, "hash"), jstr(last, "key_id"));
    admf_resp *r = admf_req(aud, "GET", "/v1/audit/verify", NULL, NULL);
    check(json_is_false(jget(r->body, "ok")) && jint(r->body, "first_broken.index") == n &&
              strstr(r->raw, "MAC"),
          "GET /v1/audit/verify names the rekeyed event %lld (%s)", n, r->raw);

    admf_daemon_stop(&d);
    admf_daemon_start(&d);
    check(metric("limf_admf_read_only") == 1, "restart on a broken chain: read-only (metric)");
    check(admf_file_line_has(d.log, "ALARM", "read-only"), "restart on a broken chain: alarm");
    r = admf_req(op, "POST", "/v1/destinations", with(dest, "{s:s}", "id", "ro"), "X-Reason: t");
    check(r->status == 503 && eq(jstr(r->body, "code"), "read_only"),
          "read-only: a change is refused (%s)", r->raw);
    acknowledge("broken chain");
    r = admf_req(op, "POST", "/v1/destinations", with(dest, "{s:s}", "id", "ro"), "X-Reason: t");
    check(r->status == 201, "after the acknowledgement changes are accepted (%d)", r->status);
    admf_daemon_stop(&d);
    admf_daemon_start(&d);
    check(metric("limf_admf_read_only") == 0, "the acknowledgement holds across a restart");
}

static void head_deleted(void)
{
    admf_resp *r = fresh_checkpoint();
    long long c = jint(r->body, "index");
    const char *cp = scratch("checkpoint2.json", r->raw, r->raw_len);
    json_t *before = newest_event();
    long long last = jint(before, "index");
    /* Offsets run ahead of indices (the rekeyed record of forgery_in_kafka): this keeps
     * at least event c. */
    delete_before(c);
    admf_daemon_stop(&d);
    admf_daemon_start(&d);
    check(metric("limf_admf_read_only") == 1,
          "restart without the oldest events (checkpoint %lld, last %lld): read-only", c, last);
    r = admf_req(aud, "GET", "/v1/audit/verify", NULL, NULL);
    check(json_is_false(jget(r->body, "ok")) && strstr(r->raw, "earlier events are missing"),
          "GET /v1/audit/verify: the dropped head is named (%s)", r->raw);
    acknowledge("head deleted");
    r = admf_req(op, "POST", "/v1/destinations", with(dest, "{s:s}", "id", "after-cut"),
                 "X-Reason: t");
    check(r->status == 201, "changes go on after the acknowledgement");
    r = admf_req(aud, "GET", "/v1/audit?limit=1000", NULL, NULL);
    json_t *items = jget(r->body, "items");
    long long first_new = -1;
    const char *prev = NULL;
    for (size_t i = 0; i < json_array_size(items); i++)
        if (jint(json_array_get(items, i), "index") == last + 1) {
            first_new = last + 1;
            prev = jstr(json_array_get(items, i), "prev_hash");
        }
    check(first_new == last + 1 && eq(prev, jstr(before, "hash")),
          "the next index follows the last event (%lld) and chains to it", last);
    admf_resp *exp = admf_req(aud, "GET", "/v1/audit?format=jsonl", NULL, NULL);
    const char *out;
    int rc = verify(cp, scratch("cut.jsonl", exp->raw, exp->raw_len), &out);
    const char *from = strstr(out, "from index ");
    long long first = from ? atoll(from + 11) : -1;
    check(rc == 0 && first > 0 && first <= c + 1,
          "the remaining trail (from event %lld) verifies with the auditor's checkpoint of "
          "event %lld (%s)", first, c, out);
}

static void refusals_aggregated(void)
{
    uint64_t t0 = admf_now_ms();
    for (int i = 0; i < 30; i++)
        admf_req(anon, "GET", "/v1/warrants", NULL, NULL);
    /* One event per source and started interval (admf.auth_refusal_interval_seconds = 1):
     * at most one more than the whole seconds the 30 refusals took. */
    size_t most = (size_t)((admf_now_ms() - t0) / 1000) + 2;
    admf_sleep_ms(2500);
    admf_resp *r = admf_req(aud, "GET", "/v1/audit?action=auth.fail&limit=1000", NULL, NULL);
    long long total = 0;
    for (size_t i = 0; i < admf_n(r); i++) {
        json_t *dj = json_loads(jstr(json_array_get(jget(r->body, "items"), i), "detail"), 0,
                                NULL);
        total += jint(dj, "count");
        json_decref(dj);
    }
    check(admf_n(r) >= 1 && admf_n(r) <= most && admf_n(r) < 30 && total == 30,
          "30 refused authentications: %zu aggregated event(s) counting %lld", admf_n(r), total);
    check(admf_count(r, "actor", "anonymous", "object", "127.0.0.1", NULL) > 0,
          "...per source, with what was presented");
}

static void etag_across_recreation(void)
{
    admf_resp *r = admf_req(op, "POST", "/v1/destinations", with(dest, "{s:s}", "id", "re"),
                            "X-Reason: t");
    const char *etag_a = admf_header(r, "ETag");
    etag_a = admf_fmt("%s", etag_a ? etag_a : "");
    r = admf_req(op, "DELETE", "/v1/destinations/re", NULL,
                 admf_fmt("If-Match: %s\nX-Reason: t", etag_a));
    check(r->status == 204, "delete: 204");
    r = admf_req(op, "POST", "/v1/destinations",
                 with(dest, "{s:s, s:s}", "id", "re", "hi2_address", "127.0.0.1:6001"), "X-Reason: t");
    check(r->status == 201 && !eq(admf_header(r, "ETag"), etag_a),
          "re-created: a new ETag (%s, was %s)", admf_header(r, "ETag"), etag_a);
    r = admf_req(op, "PATCH", "/v1/destinations/re", J("{s:s}", "hi2_address", "127.0.0.1:6002"),
                 admf_fmt("If-Match: %s\nX-Reason: stale", etag_a));
    check(r->status == 412, "the stale ETag of the deleted incarnation: 412 (%d)", r->status);
    admf_daemon_stop(&d);
    admf_daemon_start(&d);
    r = admf_req(op, "DELETE", "/v1/destinations/re", NULL, "If-Match: *\nX-Reason: t");
    r = admf_req(op, "POST", "/v1/destinations", with(dest, "{s:s}", "id", "re"), "X-Reason: t");
    check(r->status == 201 && !eq(admf_header(r, "ETag"), etag_a) &&
              !eq(admf_header(r, "ETag"), "\"1\""),
          "after restart, re-created again: still a new ETag (%s)", admf_header(r, "ETag"));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    admf_daemon_init(&d, "admf-audit", NULL);
    admf_daemon_start(&d);
    op = admf_client_new(&d, "operator", NULL);
    aud = admf_client_new(&d, "auditor", NULL);
    adm = admf_client_new(&d, "admin", NULL);
    anon = admf_client_new(&d, NULL, NULL);
    char pin[65];
    for (int i = 0; i < 32; i++)
        memcpy(pin + 2 * i, "AB", 2);
    pin[64] = 0;
    dest = J("{s:s, s:s, s:s, s:s, s:s, s:s, s:[s]}", "id", "d", "name", "LEA",
             "hi2_address", "127.0.0.1:6000", "operator_id", "OP1", "network_element_id",
             "NE1", "delivery_country", "DE", "pinned_sha256", pin);

    check(metric("limf_admf_audit_retention_ok") == 1 && metric("limf_admf_read_only") == 0,
          "limf.audit created with unlimited retention; not read-only");
    forgeries_offline();
    least_knowledge();
    request_hygiene();
    contract();
    refusals_aggregated();
    etag_across_recreation();
    forgery_in_kafka();
    head_deleted();
    admf_daemon_stop(&d);
    shorten_retention();
    admf_daemon_start(&d);
    check(metric("limf_admf_audit_retention_ok") == 0 &&
              admf_file_line_has(d.log, "ALARM", "retention"),
          "a limf.audit with a limited retention: alarm and metric at start");

    int rc = admf_daemon_stop(&d);
    check(rc == 0, "SIGTERM: clean shutdown (exit 0, got %d)", rc);
    return admf_finish(&d);
}
