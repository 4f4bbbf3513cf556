/* X1 round trip of limf-admf with two test points of interception built on the real NE
 * library (admf_test_ne, mutual TLS on loopback): activation with the delivery each role
 * gets, modification, reconciliation of drift both ways (a task removed behind the
 * ADMF's back, a task it never asked for), tasks limited to some POIs, certificate
 * exceptions and their use reported over X2, a validity window of a few seconds,
 * deletion, a POI that goes down and comes back, kill -9 of the ADMF, and a rogue writer
 * on limf.audit; first, a POI whose registered cert_sha256 is not the certificate its NE
 * presents. Run through ctest (admf_x1). */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admf_util.h"

/* The destination limf-admf creates at every NE for the ingest (x1.ingest_did's default). */
#define DID "6c696d66-0000-4000-8000-000000000001"
#define DAY_MS (24LL * 3600 * 1000)

static admf_daemon d;
static admf_client *op, *aud;

static int eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* ---- a test POI: admf_test_ne driven over its stdin/stdout ---- */

typedef struct ne {
    const char *id;
    pid_t pid;
    FILE *in, *out;
    const char *url;
} ne;

static void ne_start(ne *n, const char *id)
{
    int to[2], from[2];
    const char *path = admf_fmt("%s/admf_test_ne", admf_bin_dir());
    unsigned port = 0;
    char line[128];
    /* close-on-exec: no other child keeps this NE's stdin open (it quits on EOF) */
    if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0)
        abort();
    fflush(stdout);
    n->id = id;
    n->pid = fork();
    if (n->pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[1]);
        close(from[0]);
        execl(path, path, admf_pki(), id, (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    n->in = fdopen(to[1], "w");
    n->out = fdopen(from[0], "r");
    if (!fgets(line, sizeof line, n->out) || sscanf(line, "port %u", &port) != 1) {
        fprintf(stderr, "admf_test_ne %s did not start\n", id);
        exit(1);
    }
    n->url = admf_fmt("https://127.0.0.1:%u/X1/NE", port);
}

/* One line of the NE's answer, without its end ("" once it is gone). */
static const char *ne_line(ne *n)
{
    char line[512];
    if (!fgets(line, sizeof line, n->out))
        return "";
    line[strcspn(line, "\r\n")] = 0;
    return admf_fmt("%s", line);
}

static const char *ne_cmd(ne *n, const char *cmd)
{
    fprintf(n->in, "%s\n", cmd);
    fflush(n->in);
    return ne_line(n);
}

static void ne_stop(ne *n)
{
    if (n->pid <= 0)
        return;
    fprintf(n->in, "quit\n");
    fflush(n->in);
    int i = 0;
    while (waitpid(n->pid, NULL, WNOHANG) != n->pid && i++ < 100)
        admf_sleep_ms(100);
    if (i > 100) {
        kill(n->pid, SIGKILL);
        waitpid(n->pid, NULL, 0);
    }
    fclose(n->in);
    fclose(n->out);
    n->pid = 0;
}

/* The NE's tasks as listed over X1 GetAllDetails: "xid delivery n_targets did" lines,
 * sorted, joined by ';' ("" for none, also when the listing fails). */
static const char *tasks(ne *n)
{
    const char *v[256];
    size_t k = 0, len = 0;
    char *s = NULL;
    for (const char *l = ne_cmd(n, "tasks"); *l && strcmp(l, "end") != 0 &&
                                             strncmp(l, "error", 5) != 0 && k < 256;
         l = ne_line(n))
        v[k++] = l;
    for (size_t i = 1; i < k; i++) /* insertion sort: a handful of tasks */
        for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            const char *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    FILE *f = open_memstream(&s, &len);
    for (size_t i = 0; i < k; i++)
        fprintf(f, "%s%s", i ? ";" : "", v[i]);
    fclose(f);
    const char *out = admf_fmt("%s", s);
    free(s);
    return out;
}

/* The NE holds task xid with this delivery (1 X2Only, 3 X2andX3), n targets, the DID. */
static int has_task(ne *n, const char *xid, int delivery, int n_targets)
{
    const char *want = admf_fmt("%s %d %d %s", xid, delivery, n_targets, DID);
    const char *t = tasks(n);
    for (const char *p = t; (p = strstr(p, want)) != NULL; p++)
        if ((p == t || p[-1] == ';') && (p[strlen(want)] == 0 || p[strlen(want)] == ';'))
            return 1;
    return 0;
}

/* The set of the NE's task XIDs, sorted, joined by ','. */
static const char *xids(ne *n)
{
    char *s = NULL;
    size_t len = 0;
    const char *t = tasks(n);
    FILE *f = open_memstream(&s, &len);
    for (const char *p = t; *p;) {
        fprintf(f, "%s%.36s", p == t ? "" : ",", p);
        p += strcspn(p, ";");
        p += *p == ';';
    }
    fclose(f);
    const char *out = admf_fmt("%s", s);
    free(s);
    return out;
}

static int holds(ne *n, const char *xid)
{
    return strstr(tasks(n), xid) != NULL;
}

static const char *health(const char *poi)
{
    admf_resp *r = admf_req(aud, "GET", admf_fmt("/v1/intercept-points/%s", poi), NULL, NULL);
    return jstr(r->body, "health");
}

static void xpdu(const char *a, const char *b, const char *c, const char *e)
{
    char *argv[] = { (char *)admf_fmt("%s/admf_test_xpdu", admf_bin_dir()), (char *)a,
                     (char *)b, (char *)c, (char *)e, NULL };
    const char *out;
    if (admf_run(argv, &out) != 0) {
        fprintf(stderr, "admf_test_xpdu %s failed: %s\n", a, out);
        exit(1);
    }
}

/* Audit uses of exc1 by the relay, naming the task. */
static size_t uses(const char *xid)
{
    admf_resp *r =
        admf_req(aud, "GET", "/v1/audit?action=exception.use&object=exception/exc1", NULL, NULL);
    json_t *e;
    size_t i, n = 0;
    json_array_foreach(jget(r->body, "items"), i, e) {
        const char *detail = jstr(e, "detail");
        n += eq(jstr(e, "actor"), "poi:poi-as") && detail && strstr(detail, xid);
    }
    return n;
}

/* An x1.reconcile event of poi/<poi> in the audit trail by actor (NULL: anyone) whose
 * detail contains every one of the NULL-terminated strings. */
static int reconcile_event(const char *poi, const char *actor, ...)
{
    admf_resp *r = admf_req(aud, "GET",
                            admf_fmt("/v1/audit?action=x1.reconcile&object=poi/%s&limit=1000", poi),
                            NULL, NULL);
    json_t *e;
    size_t i;
    json_array_foreach(jget(r->body, "items"), i, e) {
        const char *detail = jstr(e, "detail");
        int all = detail && (!actor || eq(jstr(e, "actor"), actor));
        va_list ap;
        va_start(ap, actor);
        for (const char *s = va_arg(ap, const char *); s && all; s = va_arg(ap, const char *))
            all = strstr(detail, s) != NULL;
        va_end(ap);
        if (all)
            return 1;
    }
    return 0;
}

static long long poi_version(const char *poi)
{
    admf_resp *r = admf_req(op, "GET", admf_fmt("/v1/intercept-points/%s", poi), NULL, NULL);
    return jint(r->body, "version");
}

/* PUT of poi-pin (role agw) at url with cert_sha256 fp (NULL: none); the status. */
static int put_pin(const char *url, const char *fp)
{
    json_t *body = fp ? J("{s:s, s:s, s:s}", "role", "agw", "x1_url", url, "cert_sha256", fp)
                      : J("{s:s, s:s}", "role", "agw", "x1_url", url);
    admf_resp *r = admf_req(op, "PUT", "/v1/intercept-points/poi-pin", body,
                            admf_fmt("If-Match: \"%lld\"\nX-Reason: pin", poi_version("poi-pin")));
    return r->status;
}

/* A POI registered with cert_sha256 (REST.md): every X1 request the ADMF sends it checks
 * the NE's certificate first. Registered with another NE's fingerprint (a certificate the
 * same CA signed: the CA alone would accept it), the POI is told nothing; corrected by a
 * PUT, it is repaired; the NE here presents poi-test.pem, like every admf_test_ne. */
static void pinning(ne *pin_ne, const char *year0, const char *year1)
{
    int ok;
    const char *right = admf_cert_sha256("poi-test"), *wrong = admf_cert_sha256("siptap");
    const char *mismatch = admf_fmt("certificate of poi-pin does not match its registered "
                                    "cert_sha256: got %s, want %s", right, wrong);
    admf_resp *r = admf_req(op, "POST", "/v1/intercept-points",
                            J("{s:s, s:s, s:s, s:s}", "id", "poi-pin", "role", "agw", "x1_url",
                              pin_ne->url, "cert_sha256", wrong),
                            "X-Reason: t");
    check(r->status == 201, "register poi-pin with another NE's cert_sha256 (%s)", r->raw);
    /* no poi_ids: every POI gets it (poi-as and poi-sip are registered after this part) */
    r = admf_req(op, "POST", "/v1/warrants",
                 J("{s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:s, s:[s], s:s, s:s}", "id", "w-pin",
                   "liid", "LIID-PIN", "auth_country", "DE", "legal_reference", "AG P",
                   "targets", "type", "sip-uri", "value", "sip:pinned@example.com", "delivery",
                   "iri+cc", "destination_ids", "lea1", "start", year0, "end", year1),
                 NULL);
    check(r->status == 201, "an active warrant for every POI");
    const char *xid = admf_fmt("%s", jstr(r->body, "xid") ? jstr(r->body, "xid") : "none");
    WAIT_UNTIL(ok, 8, eq(health("poi-pin"), "unreachable"));
    check(ok, "a POI presenting another certificate than its cert_sha256 turns unreachable");
    r = admf_req(aud, "POST", "/v1/intercept-points/poi-pin/audit", NULL, NULL);
    check(r->status == 200 && eq(jstr(r->body, "outcome"), "unreachable") &&
              jstr(r->body, "detail") && strstr(jstr(r->body, "detail"), mismatch),
          "POST .../audit: unreachable, the detail names both fingerprints (%s)", r->raw);
    /* after that synchronous attempt (and the worker's retries) */
    check(eq(ne_cmd(pin_ne, "tasks"), "end"), "its NE holds no task: the activation never reached it");
    check(strncmp(ne_cmd(pin_ne, "forget-destination"), "error", 5) == 0,
          "nor the ingest's destination: no CreateDestination reached it");
    r = admf_req(aud, "GET", "/v1/intercept-points/poi-pin", NULL, NULL);
    check(eq(jstr(r->body, "health"), "unreachable") &&
              eq(jstr(r->body, "last_audit.outcome"), "unreachable") &&
              jstr(r->body, "last_audit.detail") &&
              strstr(jstr(r->body, "last_audit.detail"), mismatch),
          "recorded on the intercept point: health and last_audit (%s)", r->raw);
    check(reconcile_event("poi-pin", "cert:auditor", "\"outcome\":\"unreachable\"", mismatch,
                          NULL),
          "and in the audit trail");
    check(admf_file_line_has(d.log, " warn: ", mismatch) ||
              admf_file_line_has(d.log, "\"level\":\"warn\"", mismatch),
          "the mismatch is logged at warn");

    check(put_pin(pin_ne->url, right) == 200, "PUT the right cert_sha256");
    WAIT_UNTIL(ok, 8, holds(pin_ne, xid) && eq(health("poi-pin"), "ok"));
    r = admf_req(aud, "POST", "/v1/intercept-points/poi-pin/audit", NULL, NULL);
    /* The ADMF reconciles a POI that answers again by itself: that pass, or this one,
     * repairs it. */
    check(ok && r->status == 200 &&
              (eq(jstr(r->body, "outcome"), "repaired") ||
               (eq(jstr(r->body, "outcome"), "in-sync") &&
                reconcile_event("poi-pin", NULL, "\"outcome\":\"repaired\"", "\"missing\":1",
                                NULL))),
          "a reconciliation repairs it: the task arrives, healthy (%s)", r->raw);
    check(has_task(pin_ne, xid, 3, 1), "the task as an agw relay gets it: X2andX3, the DID");

    /* A change holds from the next request on, whichever way. */
    check(put_pin(pin_ne->url, wrong) == 200, "PUT another NE's cert_sha256 again");
    WAIT_UNTIL(ok, 8, eq(health("poi-pin"), "unreachable"));
    check(ok, "unreachable again");
    r = admf_req(op, "GET", "/v1/warrants/w-pin", NULL, NULL);
    r = admf_req(op, "DELETE", "/v1/warrants/w-pin", NULL,
                 admf_fmt("If-Match: \"%lld\"\nX-Reason: end", jint(r->body, "version")));
    check(r->status == 204, "DELETE the warrant");
    r = admf_req(aud, "POST", "/v1/intercept-points/poi-pin/audit", NULL, NULL);
    check(eq(jstr(r->body, "outcome"), "unreachable") && holds(pin_ne, xid),
          "its DeactivateTask is not sent to the mismatching NE either (%s)", r->raw);
    check(put_pin(pin_ne->url, NULL) == 200, "PUT without cert_sha256");
    WAIT_UNTIL(ok, 8, eq(health("poi-pin"), "ok") && !holds(pin_ne, xid));
    check(ok, "without a pin, the CA and the name suffice as before: deactivated, healthy");
    r = admf_req(op, "DELETE", "/v1/intercept-points/poi-pin", NULL,
                 admf_fmt("If-Match: \"%lld\"\nX-Reason: end", poi_version("poi-pin")));
    check(r->status == 204, "DELETE poi-pin");
}

/* Audit events of this action on poi/<poi>, with this outcome ("ok", "failed"). */
static size_t audit_count(const char *action, const char *poi, const char *outcome)
{
    admf_resp *r = admf_req(aud, "GET",
                            admf_fmt("/v1/audit?action=%s&object=poi/%s&limit=1000", action, poi),
                            NULL, NULL);
    return admf_count(r, "outcome", outcome, NULL);
}

/* A POI that answers but refuses everything: registered under another neIdentifier than
 * its NE's (TS 103 221-1 error 1060 to every request). Its listing fails, so it is
 * degraded (alarm metric, audit), never "in-sync"; the refused CreateDestination is
 * retried on a backoff and audited once, not re-sent at every round. */
static void misnamed(ne *other_ne)
{
    int ok;
    admf_resp *r = admf_req(op, "POST", "/v1/intercept-points",
                            J("{s:s, s:s, s:s}", "id", "poi-misnamed", "role", "agw", "x1_url",
                              other_ne->url),
                            "X-Reason: t");
    check(r->status == 201, "register poi-misnamed at the NE of another neIdentifier");
    WAIT_UNTIL(ok, 8, eq(health("poi-misnamed"), "degraded"));
    check(ok, "its tables cannot be read: health degraded, not ok");
    r = admf_req(aud, "GET", "/metrics", NULL, NULL);
    check(r->status == 200 &&
              strstr(r->raw, "limf_admf_intercept_points_alarmed{health=\"degraded\"} 1\n"),
          "the alarm metric counts it");
    admf_sleep_ms(5000); /* 25 rounds of x1.tick_ms = 200 */
    check(audit_count("x1.create_destination", "poi-misnamed", "failed") == 1,
          "the refused CreateDestination is audited once (%zu)",
          audit_count("x1.create_destination", "poi-misnamed", "failed"));
    check(reconcile_event("poi-misnamed", "limf-admf", "\"outcome\":\"degraded\"", "1060",
                          NULL) &&
              audit_count("x1.reconcile", "poi-misnamed", "failed") == 1 &&
              audit_count("x1.reconcile", "poi-misnamed", "ok") == 0,
          "the reconciliation is audited as degraded, once, naming the NE's error");
    check(admf_file_line_has(d.log, "poi-misnamed", "1060"), "and logged");
    r = admf_req(aud, "POST", "/v1/intercept-points/poi-misnamed/audit", NULL, NULL);
    check(r->status == 200 && eq(jstr(r->body, "outcome"), "degraded") &&
              jstr(r->body, "detail") && strstr(jstr(r->body, "detail"), "X1 error 1060"),
          "POST .../audit: degraded, with the NE's error (%s)", r->raw);
    r = admf_req(op, "DELETE", "/v1/intercept-points/poi-misnamed", NULL,
                 admf_fmt("If-Match: \"%lld\"\nX-Reason: end", poi_version("poi-misnamed")));
    check(r->status == 204, "DELETE poi-misnamed");
}

static void run(ne *as_ne, ne *sip_ne, ne *pin_ne)
{
    int ok;
    uint64_t now = admf_now_ms();
    const char *year0 = admf_rfc3339(now - DAY_MS), *year1 = admf_rfc3339(now + 365 * DAY_MS);
    admf_req(op, "POST", "/v1/destinations",
             J("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", "lea1", "hi2_address", "127.0.0.1:6000",
               "operator_id", "OP", "network_element_id", "NE", "delivery_country", "DE",
               "transport", "tcp"),
             "X-Reason: t");
    pinning(pin_ne, year0, year1);
    misnamed(pin_ne);
    ne *nes[2] = { as_ne, sip_ne };
    const char *role[2] = { "as", "sip" };
    for (int i = 0; i < 2; i++) {
        admf_resp *r = admf_req(op, "POST", "/v1/intercept-points",
                                J("{s:s, s:s, s:s}", "id", nes[i]->id, "role", role[i],
                                  "x1_url", nes[i]->url),
                                "X-Reason: t");
        check(r->status == 201, "register %s", nes[i]->id);
    }
    WAIT_UNTIL(ok, 8, eq(health("poi-as"), "ok") && eq(health("poi-sip"), "ok"));
    check(ok, "both POIs reached over X1: health ok");

    json_t *w = J("{s:s, s:s, s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}], s:s, s:[s], s:s, s:s}",
                  "id", "w1", "liid", "LIID-X1", "auth_country", "DE", "legal_reference",
                  "AG 1", "targets", "type", "sip-uri", "value", "sip:alice@example.com",
                  "type", "e164", "value", "+4930123456", "delivery", "iri+cc",
                  "destination_ids", "lea1", "start", year0, "end", year1);
    admf_resp *r = admf_req(op, "POST", "/v1/warrants", w, NULL);
    const char *xid = admf_fmt("%s", jstr(r->body, "xid") ? jstr(r->body, "xid") : "none");
    WAIT_UNTIL(ok, 8, has_task(as_ne, xid, 3, 2));
    check(ok, "ActivateTask at the relay: the warrant's XID, X2andX3, both targets, ingest DID");
    WAIT_UNTIL(ok, 8, has_task(sip_ne, xid, 1, 2));
    check(ok, "ActivateTask at the SIP tap: same XID, X2Only");

    json_t *targets3 = json_deep_copy(jget(w, "targets"));
    json_array_append(targets3, J("{s:s, s:s}", "type", "tel-uri", "value", "tel:+49-40-99"));
    r = admf_req(op, "PATCH", "/v1/warrants/w1",
                 J("{s:s, s:o}", "legal_reference", "AG 2", "targets", targets3),
                 "If-Match: \"1\"");
    check(r->status == 200, "PATCH warrant: one more target");
    WAIT_UNTIL(ok, 8, has_task(as_ne, xid, 3, 3) && has_task(sip_ne, xid, 1, 3));
    check(ok, "ModifyTask: both POIs carry the three targets under the same XID");

    /* drift both ways at the relay, then an on-demand reconciliation */
    const char *extra = "11111111-2222-4333-8444-555555555555";
    check(eq(ne_cmd(as_ne, admf_fmt("inject %s", extra)), "ok"),
          "drift: a task the ADMF never asked for");
    check(eq(ne_cmd(as_ne, admf_fmt("drop %s", xid)), "ok"),
          "drift: the warrant's task removed at the POI");
    check(eq(xids(as_ne), extra), "the relay now holds only the foreign task");
    r = admf_req(aud, "POST", "/v1/intercept-points/poi-as/audit", NULL, NULL);
    check(r->status == 200 && eq(jstr(r->body, "outcome"), "repaired") &&
              jint(r->body, "missing") == 1 && jint(r->body, "extra") == 1,
          "POST .../audit: repaired, 1 missing re-pushed, 1 extra removed (%s)", r->raw);
    check(eq(tasks(as_ne), admf_fmt("%s 3 3 %s", xid, DID)),
          "after reconciliation the relay holds exactly the warrant's task");
    r = admf_req(aud, "GET", "/v1/intercept-points/poi-as", NULL, NULL);
    check(eq(jstr(r->body, "last_audit.outcome"), "repaired") &&
              jint(r->body, "last_audit.missing") == 1 && jint(r->body, "last_audit.extra") == 1,
          "the outcome is recorded on the intercept point");
    r = admf_req(aud, "GET", "/v1/audit?action=x1.reconcile&object=poi/poi-as", NULL, NULL);
    json_t *e;
    size_t i, asked = 0;
    json_array_foreach(jget(r->body, "items"), i, e) {
        const char *detail = jstr(e, "detail");
        asked += eq(jstr(e, "actor"), "cert:auditor") && detail &&
                 strstr(detail, "\"outcome\":\"repaired\"");
    }
    check(asked > 0, "and in the audit trail, with who asked");
    r = admf_req(aud, "POST", "/v1/intercept-points/poi-as/audit", NULL, NULL);
    check(eq(jstr(r->body, "outcome"), "in-sync"), "a second reconciliation finds it in sync");

    /* Issue 15: state planted behind the ADMF's back (a destination to an attacker's
     * server, an exception letting a target's traffic through) is removed too. */
    const char *rogue_did = "0badd1d0-0000-4000-8000-00000000000e";
    check(eq(ne_cmd(as_ne, admf_fmt("inject-destination %s", rogue_did)), "ok") &&
              eq(ne_cmd(as_ne, "inject-exception rogue-exc"), "ok"),
          "drift: a destination and a certificate exception the ADMF never created");
    r = admf_req(aud, "POST", "/v1/intercept-points/poi-as/audit", NULL, NULL);
    check(r->status == 200 && eq(jstr(r->body, "outcome"), "repaired") &&
              jint(r->body, "extra") == 2 && jint(r->body, "missing") == 0,
          "POST .../audit: repaired, 2 extra removed (%s)", r->raw);
    check(eq(ne_cmd(as_ne, "dids"), "dids " DID), "only the ingest's destination is left");
    check(eq(ne_cmd(as_ne, "exception rogue.example"), "exception none"),
          "the planted exception is gone");
    r = admf_req(aud, "GET", admf_fmt("/v1/audit?action=x1.remove_destination&object=poi/poi-as"),
                 NULL, NULL);
    check(admf_n(r) == 1 && r->raw && strstr(r->raw, rogue_did), "its removal is audited (%s)",
          r->raw);

    /* the NE loses its tables behind the ADMF's back (as after a quick restart) */
    check(eq(ne_cmd(as_ne, admf_fmt("drop %s", xid)), "ok") &&
              eq(ne_cmd(as_ne, "forget-destination"), "ok"),
          "drift: the relay forgets its task and the ingest DID");
    r = admf_req(op, "POST", "/v1/warrants", with(w, "{s:s, s:s}", "id", "w4", "liid", "LIID-DID"),
                 NULL);
    const char *xid4 = admf_fmt("%s", jstr(r->body, "xid") ? jstr(r->body, "xid") : "none");
    WAIT_UNTIL(ok, 8, has_task(as_ne, xid4, 3, 2));
    check(ok, "ActivateTask refused for the unknown DID: destination re-created, task active");
    r = admf_req(aud, "POST", "/v1/intercept-points/poi-as/audit", NULL, NULL);
    check(eq(jstr(r->body, "outcome"), "repaired") && jint(r->body, "missing") == 1 &&
              eq(xids(as_ne), strcmp(xid, xid4) < 0 ? admf_fmt("%s,%s", xid, xid4)
                                                    : admf_fmt("%s,%s", xid4, xid)),
          "and the lost task is back after reconciliation");

    /* a task limited to one POI */
    r = admf_req(op, "POST", "/v1/warrants",
                 with(w, "{s:s, s:s, s:[s]}", "id", "w2", "liid", "LIID-SIP", "poi_ids",
                      "poi-sip"),
                 NULL);
    const char *xid2 = admf_fmt("%s", jstr(r->body, "xid") ? jstr(r->body, "xid") : "none");
    WAIT_UNTIL(ok, 8, holds(sip_ne, xid2));
    check(ok, "poi_ids: the SIP tap gets w2");
    check(!holds(as_ne, xid2), "poi_ids: the relay does not");

    /* certificate exceptions go to the relays */
    char fp[65];
    for (int k = 0; k < 32; k++)
        memcpy(fp + 2 * k, "ab", 2);
    fp[64] = 0;
    admf_req(op, "POST", "/v1/cert-exceptions",
             J("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", "exc1", "fingerprint_sha256", fp,
               "peer", "conf.example.net", "scope", "peer", "reason", "ticket 9", "approver",
               "CISO", "expires", year1),
             NULL);
    WAIT_UNTIL(ok, 8, eq(ne_cmd(as_ne, "exception conf.example.net"), "exception exc1"));
    check(ok, "CreateObject: the relay knows the exception");
    check(eq(ne_cmd(sip_ne, "exception conf.example.net"), "exception none"),
          "the SIP tap gets no exception");
    /* the relay reports a pass-through over X2; the ingest writes it to limf.xpdu */
    xpdu("passthrough", "poi-as", "exc1", xid);
    WAIT_UNTIL(ok, 20, uses(xid) > 0);
    check(ok, "a use of the exception is recorded in the audit trail");
    admf_req(op, "DELETE", "/v1/cert-exceptions/exc1", NULL, "If-Match: \"1\"\nX-Reason: end");
    WAIT_UNTIL(ok, 8, eq(ne_cmd(as_ne, "exception conf.example.net"), "exception none"));
    check(ok, "DeleteObject: the exception is gone from the relay");

    /* a validity window of a few seconds */
    uint64_t t0 = admf_now_ms();
    r = admf_req(op, "POST", "/v1/warrants",
                 with(w, "{s:s, s:s, s:s, s:s}", "id", "w3", "liid", "LIID-SHORT", "start",
                      admf_rfc3339(t0 + 3000), "end", admf_rfc3339(t0 + 7000)),
                 NULL);
    const char *xid3 = admf_fmt("%s", jstr(r->body, "xid") ? jstr(r->body, "xid") : "none");
    check(r->status == 201 && !holds(as_ne, xid3), "a pending warrant is not tasked");
    WAIT_UNTIL(ok, 6, holds(as_ne, xid3));
    check(ok, "tasked at its start time");
    check(admf_now_ms() >= t0 + 2900, "not before its start");
    WAIT_UNTIL(ok, 6, !holds(as_ne, xid3));
    check(ok, "deactivated at its end time");
    check(admf_now_ms() >= t0 + 6900, "not before its end");

    /* deletion */
    r = admf_req(op, "GET", "/v1/warrants/w1", NULL, NULL);
    admf_req(op, "DELETE", "/v1/warrants/w1", NULL,
             admf_fmt("If-Match: \"%lld\"\nX-Reason: AG 3", jint(r->body, "version")));
    WAIT_UNTIL(ok, 8, !holds(as_ne, xid) && !holds(sip_ne, xid));
    check(ok, "DELETE warrant: DeactivateTask at both POIs");

    /* a POI that goes down and comes back */
    ne_stop(sip_ne);
    WAIT_UNTIL(ok, 8, eq(health("poi-sip"), "unreachable"));
    check(ok, "a stopped POI turns unreachable");
    ne_start(sip_ne, "poi-sip");
    r = admf_req(op, "GET", "/v1/intercept-points/poi-sip", NULL, NULL);
    r = admf_req(op, "PUT", "/v1/intercept-points/poi-sip",
                 J("{s:s, s:s}", "role", "sip", "x1_url", sip_ne->url),
                 admf_fmt("If-Match: \"%lld\"\nX-Reason: moved", jint(r->body, "version")));
    check(r->status == 200, "PUT the POI's new X1 address");
    WAIT_UNTIL(ok, 8, eq(health("poi-sip"), "ok") && holds(sip_ne, xid2));
    check(ok, "back: healthy, and its task re-pushed by reconciliation");
    r = admf_req(aud, "GET", "/v1/audit?action=x1.activate&limit=1000", NULL, NULL);
    check(admf_n(r) >= 4 && admf_count(r, "actor", "limf-admf", NULL) == admf_n(r),
          "every push is in the audit trail (%zu)", admf_n(r));

    /* the ADMF dies and comes back: the POIs keep their tasks and are found in sync */
    const char *before = tasks(as_ne);
    check(*before != 0, "the relay holds tasks before the ADMF is killed");
    admf_daemon_kill9(&d);
    admf_daemon_start(&d);
    r = admf_req(aud, "POST", "/v1/intercept-points/poi-as/audit", NULL, NULL);
    check(r->status == 200 && eq(jstr(r->body, "outcome"), "in-sync") &&
              eq(tasks(as_ne), before),
          "after kill -9 and restart the relay is in sync, nothing re-pushed or removed (%s)",
          r->raw);

    /* the ingest moves: restarted with another x1.ingest_address, the ADMF modifies the
     * destination at every POI (they send X2/X3 to it) */
    check(eq(ne_cmd(as_ne, "destination"), "destination 127.0.0.1:9"),
          "the POI's destination is the ingest's address");
    admf_daemon_stop(&d);
    admf_daemon_set(&d, "x1.ingest_address", "127.0.0.1:10");
    admf_daemon_start(&d);
    WAIT_UNTIL(ok, 8, eq(ne_cmd(as_ne, "destination"), "destination 127.0.0.1:10") &&
                          eq(ne_cmd(sip_ne, "destination"), "destination 127.0.0.1:10"));
    check(ok, "a changed x1.ingest_address reaches the POIs (ModifyDestination)");
    check(eq(tasks(as_ne), before), "and their tasks stay as they were");

    /* a rogue writer appends to limf.audit behind the daemon's back */
    r = admf_req(aud, "GET", "/v1/audit/verify", NULL, NULL);
    check(r->status == 200 && json_is_true(jget(r->body, "ok")), "the chain in Kafka is intact");
    long long n = jint(r->body, "events");
    xpdu("forge-audit", admf_fmt("%lld", n), NULL, NULL);
    r = admf_req(aud, "GET", "/v1/audit/verify", NULL, NULL);
    long long broken = jint(r->body, "first_broken.index");
    check(r->status == 200 && json_is_false(jget(r->body, "ok")) && n >= 0 &&
              broken >= n - 1 && broken <= n + 5,
          "GET /v1/audit/verify names the first broken link (%s)", r->raw);
}

int main(void)
{
    static const char *const extra[] = { "x1.tick_ms = 200", "x1.keepalive_interval_s = 1",
                                         "x1.reconcile_interval_s = 3600",
                                         "x1.retry_max_s = 1", NULL };
    signal(SIGPIPE, SIG_IGN);
    xpdu("create-topic", NULL, NULL, NULL); /* what the first ingest does */
    admf_daemon_init(&d, "admf-x1", extra);
    admf_daemon_start(&d);
    op = admf_client_new(&d, "operator", NULL);
    aud = admf_client_new(&d, "auditor", NULL);
    ne as_ne, sip_ne, pin_ne;
    ne_start(&as_ne, "poi-as");
    ne_start(&sip_ne, "poi-sip");
    ne_start(&pin_ne, "poi-pin");

    run(&as_ne, &sip_ne, &pin_ne);

    ne_stop(&as_ne);
    ne_stop(&sip_ne);
    ne_stop(&pin_ne);
    admf_daemon_stop(&d);
    return admf_finish(&d);
}
