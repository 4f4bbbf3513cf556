#!/usr/bin/env python3
"""Contract test of limf-admf against the real daemon, the real Kafka broker (mutual TLS)
and the test PKI, over HTTPS with client certificates and bearer tokens:
every endpoint's success and validation errors, roles (401/403 audited), ETag/If-Match,
two concurrent updates with the same ETag (exactly one wins), audit export tampered and
verified offline, GET /v1/audit/verify, kill -9 and restart with identical state, and
warrants with validity windows of a few seconds. Run through ctest (admf_api)."""
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

PKI = os.environ["LIMF_PKI_DIR"]
BUILD = os.environ["LIMF_BUILD_DIR"]
ADMF = os.path.join(BUILD, "x1", "limf-admf")
VERIFY = os.path.join(BUILD, "x1", "limf-audit-verify")
failures = []


def check(cond, what):
    if cond:
        print("ok   ", what)
    else:
        print("FAIL ", what)
        failures.append(what)


def rfc3339(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Daemon:
    def __init__(self, workdir, extra=()):
        self.dir = workdir
        self.port_file = os.path.join(workdir, "port")
        tokens = os.path.join(workdir, "tokens")
        with open(tokens, "w") as f:
            f.write("# name role token\nci-admin admin adm1n-t0ken-0123456789\n"
                    "ci-auditor auditor aud1t-t0ken-0123456789\n")
        os.chmod(tokens, 0o600)
        self.conf = os.path.join(workdir, "admf.conf")
        with open(self.conf, "w") as f:
            # extra keys first: below a [section] they would get its prefix
            for line in extra:
                f.write(line + "\n")
            f.write(f"""topics.prefix = {os.environ['LIMF_TOPIC_PREFIX']}
[kafka]
bootstrap.servers = {os.environ['LIMF_KAFKA_TLS_BOOTSTRAP']}
security.protocol = ssl
ssl.ca.location = {PKI}/ca.pem
ssl.certificate.location = {PKI}/admf.pem
ssl.key.location = {PKI}/admf.key
[rest]
listen = 127.0.0.1:0
port_file = {self.port_file}
tls.cert = {PKI}/admf.pem
tls.key = {PKI}/admf.key
tls.ca = {PKI}/ca.pem
tokens_file = {tokens}
[x1]
tls.cert = {PKI}/admf.pem
tls.key = {PKI}/admf.key
tls.ca = {PKI}/ca.pem
ingest_address = 127.0.0.1:9
timeout_ms = 1000
""")
        self.proc = None

    def set(self, key, value):
        """Adds a top-level key for the next start."""
        text = open(self.conf).read()
        with open(self.conf, "w") as f:
            f.write(f"{key} = {value}\n" + text)

    def start(self):
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        self.log = open(os.path.join(self.dir, "admf.log"), "a")
        self.proc = subprocess.Popen([ADMF, "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        for _ in range(300):
            if os.path.exists(self.port_file) and os.path.getsize(self.port_file) > 0:
                self.port = int(open(self.port_file).read())
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.dump_log()
        raise SystemExit("limf-admf did not start")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return -1
        return self.proc.returncode if self.proc else 0

    def dump_log(self):
        self.log.flush()
        print(open(os.path.join(self.dir, "admf.log")).read()[-4000:])


class Client:
    def __init__(self, daemon, role=None, token=None):
        self.daemon = daemon
        self.ctx = ssl.create_default_context(cafile=os.path.join(PKI, "ca.pem"))
        if role:
            self.ctx.load_cert_chain(os.path.join(PKI, role + ".pem"),
                                     os.path.join(PKI, role + ".key"))
        self.token = token

    def req(self, method, path, body=None, headers=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.daemon.port, context=self.ctx,
                                           timeout=30)
        h = dict(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        raw = r.read()
        conn.close()
        try:
            parsed = json.loads(raw) if raw and r.getheader("Content-Type", "").startswith(
                "application/json") else raw
        except ValueError:
            parsed = raw
        return r.status, parsed, r


def err_code(body):
    return body.get("error", {}).get("code") if isinstance(body, dict) else None


def main():
    work = tempfile.mkdtemp(prefix="admf-api-")
    d = Daemon(work)
    d.start()
    try:
        run(d, work)
    finally:
        rc = d.stop()
        check(rc == 0, "SIGTERM: clean shutdown (exit 0)")
        if failures:
            d.dump_log()
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


def run(d, work):
    op = Client(d, "operator")
    aud = Client(d, "auditor")
    adm = Client(d, "admin")
    tok_admin = Client(d, token="adm1n-t0ken-0123456789")
    tok_aud = Client(d, token="aud1t-t0ken-0123456789")
    anon = Client(d)
    now = datetime.now(timezone.utc)
    year = (rfc3339(now - timedelta(days=1)), rfc3339(now + timedelta(days=365)))

    # ---- health, openapi, metrics ----
    s, b, _ = anon.req("GET", "/healthz")
    check(s == 200 and b == {"status": "ok"}, "GET /healthz without credentials: 200 ok")
    s, b, _ = anon.req("GET", "/v1/openapi.json")
    check(s == 200 and b.get("openapi", "").startswith("3.") and "/v1/warrants" in b["paths"],
          "GET /v1/openapi.json: an OpenAPI 3 document with the resources")
    s, b, _ = anon.req("GET", "/metrics")
    check(s == 401, "GET /metrics without credentials: 401")
    s, b, _ = aud.req("GET", "/metrics")
    check(s == 200 and b"limf_admf_objects" in b, "GET /metrics as auditor: Prometheus text")

    # ---- destinations ----
    dest = {"id": "lea1", "name": "LEA one", "hi2_address": "127.0.0.1:6000",
            "operator_id": "OP1", "network_element_id": "NE1", "delivery_country": "DE",
            "pinned_sha256": ["AB" * 32]}
    s, b, _ = op.req("POST", "/v1/destinations", dest)
    check(s == 400 and err_code(b) == "reason_required" and b["error"]["field"] == "X-Reason",
          "POST destination without X-Reason: 400 reason_required")
    s, b, r = op.req("POST", "/v1/destinations", dest, {"X-Reason": "ticket 100"})
    check(s == 201 and b["id"] == "lea1" and r.getheader("ETag") == '"1"' and
          r.getheader("Location") == "/v1/destinations/lea1", "POST destination: 201, ETag 1")
    s, b, _ = op.req("POST", "/v1/destinations", dest, {"X-Reason": "ticket 100"})
    check(s == 409 and err_code(b) == "exists", "POST destination with a taken id: 409")
    for body, code, field in [
            (dict(dest, id="x", hi2_address="nohost"), "invalid_address", "hi2_address"),
            (dict(dest, id="x", pinned_sha256=["12"]), "invalid_fingerprint", "pinned_sha256"),
            (dict(dest, id="x", delivery_country="Germany"), "too_long", "delivery_country"),
            (dict(dest, id="x", transport="udp"), "invalid_transport", "transport"),
            (dict(dest, id="x", pinned_sha256=[]), "missing_trust", "ca_pem"),
            (dict(dest, id="bad id"), "invalid_id", "id"),
            (dict(dest, id="x", extra=1), "unknown_field", "extra")]:
        s, b, _ = op.req("POST", "/v1/destinations", body, {"X-Reason": "t"})
        check(s == 400 and err_code(b) == code and b["error"]["field"] == field,
              f"POST destination refused: {code} on {field} (got {s} {b})")
    s, b, _ = op.req("POST", "/v1/destinations", "{not json", {"X-Reason": "t"})
    check(s == 400 and err_code(b) == "invalid_json", "POST malformed JSON: 400 invalid_json")
    s, b, _ = op.req("POST", "/v1/destinations", '{"id":"a","id":"b"}', {"X-Reason": "t"})
    check(s == 400 and err_code(b) == "invalid_json", "POST with a duplicate key: 400")
    s, b, _ = op.req("POST", "/v1/destinations", "x" * (2 << 20), {"X-Reason": "t"})
    check(s == 413, "POST of 2 MiB: 413")
    s, b, _ = op.req("POST", "/v1/destinations", dest,
                     {"X-Reason": "t", "Content-Type": "text/plain"})
    check(s == 415, "POST with Content-Type text/plain: 415")
    s, b, _ = op.req("POST", "/v1/destinations", dict(dest, id="lea2", transport="tcp",
                                                     pinned_sha256=[]), {"X-Reason": "t2"})
    check(s == 201 and b["transport"] == "tcp", "POST destination (tcp): 201")
    s, b, _ = op.req("GET", "/v1/destinations/lea1")
    check(s == 200 and b["hi3_address"] == "127.0.0.1:6000" and b["version"] == 1,
          "GET destination: defaults filled (hi3 = hi2)")
    s, b, _ = op.req("GET", "/v1/destinations/nope")
    check(s == 404 and err_code(b) == "not_found", "GET unknown destination: 404")
    s, b, _ = op.req("PUT", "/v1/destinations/lea2", dict(dest, name="LEA two"),
                     {"If-Match": '"1"', "X-Reason": "t3"})
    check(s == 200 and b["name"] == "LEA two" and b["version"] == 2 and
          b["created"]["reason"] == "t2" and b["updated"]["reason"] == "t3",
          "PUT destination: version 2, creation provenance kept")

    # ---- intercept points ----
    poi = {"id": "poi-down", "role": "as", "x1_url": "https://127.0.0.1:9/X1/NE"}
    s, b, _ = op.req("POST", "/v1/intercept-points", poi, {"X-Reason": "t"})
    check(s == 201 and b["health"] == "unknown", "POST intercept point: 201, health unknown")
    s, b, _ = op.req("POST", "/v1/intercept-points", dict(poi, id="p2", role="pgw"),
                     {"X-Reason": "t"})
    check(s == 400 and err_code(b) == "invalid_role", "POST intercept point, bad role: 400")
    s, b, _ = op.req("POST", "/v1/intercept-points",
                     dict(poi, id="p2", x1_url="http://127.0.0.1:9/X1/NE"), {"X-Reason": "t"})
    check(s == 400 and err_code(b) == "invalid_url", "POST intercept point, http URL: 400")
    s, b, _ = aud.req("POST", "/v1/intercept-points/poi-down/audit")
    check(s == 200 and b["outcome"] == "unreachable",
          "POST .../audit on a POI that is down: outcome unreachable")
    s, b, _ = aud.req("GET", "/v1/intercept-points/poi-down")
    check(s == 200 and b["health"] == "unreachable" and
          b["last_audit"]["outcome"] == "unreachable",
          "GET intercept point as auditor: health and last_audit recorded")
    s, b, _ = aud.req("POST", "/v1/intercept-points/nope/audit")
    check(s == 404, "POST .../audit on an unknown POI: 404")

    # ---- cert exceptions ----
    exc = {"id": "exc1", "fingerprint_sha256": ":".join(["0F"] * 32),
           "peer": "conf.example.net", "scope": "peer", "reason": "ticket 7",
           "approver": "security officer", "expires": year[1]}
    s, b, _ = op.req("POST", "/v1/cert-exceptions", exc)
    check(s == 201 and b["fingerprint_sha256"] == "0f" * 32,
          "POST cert exception (reason in body): 201, fingerprint normalised")
    s, b, _ = op.req("POST", "/v1/cert-exceptions", dict(exc, id="e2", expires=year[0]))
    check(s == 400 and err_code(b) == "expires_in_past", "POST expired exception: 400")
    s, b, _ = op.req("POST", "/v1/cert-exceptions", dict(exc, id="e2", fingerprint_sha256="00"))
    check(s == 400 and err_code(b) == "invalid_fingerprint", "POST bad fingerprint: 400")

    s, b, _ = op.req("GET", "/v1/cert-exceptions?scope=peer")
    check(s == 200 and [x["id"] for x in b["items"]] == ["exc1"], "list cert exceptions")
    s, b, _ = op.req("PATCH", "/v1/cert-exceptions/exc1", {"peer": "conf2.example.net"},
                     {"If-Match": '"1"'})
    check(s == 400 and err_code(b) == "reason_required", "PATCH exception without a reason")
    s, b, _ = op.req("PATCH", "/v1/cert-exceptions/exc1",
                     {"peer": "conf2.example.net", "reason": "ticket 8"}, {"If-Match": '"1"'})
    check(s == 200 and b["peer"] == "conf2.example.net" and b["reason"] == "ticket 8" and
          b["version"] == 2, "PATCH exception: 200, version 2")
    s, b, _ = op.req("PUT", "/v1/cert-exceptions/exc1", {"peer": "p", "reason": "r"},
                     {"If-Match": '"2"'})
    check(s == 400 and err_code(b) == "missing_field" and
          b["error"]["field"] == "fingerprint_sha256", "PUT exception with fields missing: 400")
    s, b, _ = op.req("POST", "/v1/cert-exceptions", dict(exc, id="exc2"))
    s, b, _ = op.req("DELETE", "/v1/cert-exceptions/exc2", None,
                     {"If-Match": '"1"', "X-Reason": "no longer needed"})
    check(s == 204, "DELETE exception: 204")

    # ---- more on destinations and intercept points ----
    s, b, _ = op.req("GET", "/v1/destinations")
    check(s == 200 and [x["id"] for x in b["items"]] == ["lea1", "lea2"] and b["next"] is None,
          "list destinations")
    s, b, _ = op.req("PATCH", "/v1/destinations/lea2", {"keepalive_interval_s": 5},
                     {"If-Match": '"2"', "X-Reason": "faster keep-alive"})
    check(s == 200 and b["keepalive_interval_s"] == 5 and b["name"] == "LEA two",
          "PATCH destination: one field changed, the others kept")
    s, b, _ = op.req("PATCH", "/v1/destinations/lea2", {"keepalive_interval_s": 0},
                     {"If-Match": '"3"', "X-Reason": "t"})
    check(s == 400 and err_code(b) == "invalid_value", "PATCH destination, bad value: 400")
    s, b, _ = op.req("POST", "/v1/intercept-points", dict(poi, id="poi-sip", role="sip"),
                     {"X-Reason": "t"})
    s, b, _ = op.req("GET", "/v1/intercept-points?role=sip")
    check([x["id"] for x in b["items"]] == ["poi-sip"], "list intercept points by role")
    s, b, _ = anon.req("GET", "/v1/nothing")
    check(s == 404, "unknown resource: 404")
    s, b, _ = op.req("GET", "/v1/warrants/bad%20id")
    check(s == 404, "an invalid id in the path: 404")

    # ---- warrants ----
    w = {"id": "w1", "liid": "LIID-0001", "auth_country": "DE",
         "legal_reference": "AG Berlin 12/26",
         "targets": [{"type": "sip-uri", "value": "sip:alice@example.com"},
                     {"type": "tel-uri", "value": "tel:+49-30-1234"}],
         "delivery": "iri+cc", "destination_ids": ["lea1"], "start": year[0], "end": year[1]}
    s, b, r = op.req("POST", "/v1/warrants", w)
    check(s == 201 and b["state"] == "active" and len(b["xid"]) == 36 and
          r.getheader("ETag") == '"1"', "POST warrant: 201, active, XID assigned")
    xid = b["xid"]
    for body, status, code, field in [
            (dict(w, id="w2"), 409, "liid_taken", "liid"),
            (dict(w, id="w2", liid="x" * 26), 400, "invalid_liid", "liid"),
            (dict(w, id="w2", liid="L2", auth_country="de"), 400, "invalid_country",
             "auth_country"),
            (dict(w, id="w2", liid="L2", legal_reference=""), 400, "reason_required",
             "legal_reference"),
            (dict(w, id="w2", liid="L2", targets=[{"type": "sip-uri", "value": "alice"}]),
             400, "invalid_target", "targets[0]"),
            (dict(w, id="w2", liid="L2", targets=[{"type": "tel-uri", "value": "tel:abc"}]),
             400, "invalid_target", "targets[0]"),
            (dict(w, id="w2", liid="L2", targets=[{"type": "e164", "value": "+49301"},
                                                  {"type": "impu", "value": "tel:+49301"}]),
             400, "duplicate_target", "targets[1]"),
            (dict(w, id="w2", liid="L2", targets=[{"type": "msisdn", "value": "1"}]), 400,
             "invalid_target_type", "targets[0]"),
            (dict(w, id="w2", liid="L2", delivery="cc"), 400, "invalid_delivery", "delivery"),
            (dict(w, id="w2", liid="L2", destination_ids=["nope"]), 400,
             "unknown_destination", "destination_ids"),
            (dict(w, id="w2", liid="L2", poi_ids=["nope"]), 400, "unknown_poi", "poi_ids"),
            (dict(w, id="w2", liid="L2", start="yesterday"), 400, "invalid_time", "start"),
            (dict(w, id="w2", liid="L2", start=year[1], end=year[0]), 400, "end_before_start",
             "end"),
            (dict(w, id="w2", liid="L2", end=rfc3339(now - timedelta(hours=1))), 400,
             "end_in_past", "end")]:
        s, b, _ = op.req("POST", "/v1/warrants", body)
        check(s == status and err_code(b) == code and b["error"]["field"] == field,
              f"POST warrant refused: {status} {code} on {field} (got {s} {b})")
    s, b, _ = op.req("GET", "/v1/warrants/w2")
    check(s == 404, "nothing stored by the refused warrants")
    s, b, _ = op.req("POST", "/v1/warrants", dict(w, id="w1b", auth_country="FR"))
    check(s == 201, "same LIID in another authorization country: 201")

    # updates, ETags
    s, b, _ = op.req("PATCH", "/v1/warrants/w1", {"legal_reference": "AG 13/26",
                                                  "delivery": "iri"})
    check(s == 428 and err_code(b) == "precondition_required", "PATCH without If-Match: 428")
    s, b, _ = op.req("PATCH", "/v1/warrants/w1", {"delivery": "iri"}, {"If-Match": '"1"'})
    check(s == 400 and err_code(b) == "reason_required" and
          b["error"]["field"] == "legal_reference",
          "PATCH warrant without legal_reference: 400")
    s, b, r = op.req("PATCH", "/v1/warrants/w1", {"legal_reference": "AG 13/26",
                                                  "delivery": "iri"}, {"If-Match": '"1"'})
    check(s == 200 and b["delivery"] == "iri" and b["version"] == 2 and b["xid"] == xid and
          r.getheader("ETag") == '"2"', "PATCH warrant: version 2, same XID")
    s, b, _ = op.req("PUT", "/v1/warrants/w1", dict(w, legal_reference="AG 14"),
                     {"If-Match": '"1"'})
    check(s == 412 and err_code(b) == "precondition_failed", "PUT with a stale ETag: 412")
    s, got, _ = op.req("GET", "/v1/warrants/w1")
    got["legal_reference"] = "AG 15/26"
    s, b, _ = op.req("PUT", "/v1/warrants/w1", got, {"If-Match": '"2"'})
    check(s == 200 and b["version"] == 3, "PUT back what GET returned (read-only fields "
          "ignored): 200")
    s, b, _ = op.req("PATCH", "/v1/warrants/w1", {"legal_reference": "x", "xid": "forged"},
                     {"If-Match": '"3"'})
    check(s == 200 and b["xid"] == xid, "the XID never changes")

    # two concurrent updates with the same ETag: exactly one wins
    for round_ in range(5):
        s, cur, r = op.req("GET", "/v1/warrants/w1")
        etag = r.getheader("ETag")
        results = []

        def patch(i):
            st, _, _ = op.req("PATCH", "/v1/warrants/w1",
                              {"legal_reference": f"race {round_} {i}"}, {"If-Match": etag})
            results.append(st)
        racers = 2 if round_ < 3 else 8
        ts = [threading.Thread(target=patch, args=(i,)) for i in range(racers)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        check(sorted(results) == [200] + [412] * (racers - 1),
              f"{racers} PATCHes with ETag {etag}: exactly one wins ({sorted(results)})")
    s, b, _ = op.req("GET", "/v1/warrants/w1")
    check(b["version"] == cur["version"] + 1, "the loser changed nothing")

    # lists, filters, pagination
    for i in range(5):
        op.req("POST", "/v1/warrants", dict(w, id=f"p{i}", liid=f"PAGE{i}"))
    s, b, _ = op.req("GET", "/v1/warrants?limit=3")
    ids = [x["id"] for x in b["items"]]
    check(s == 200 and len(ids) == 3 and b["next"] == ids[-1], "list: first page of 3")
    s, b2, _ = op.req("GET", f"/v1/warrants?limit=3&after={b['next']}")
    ids2 = [x["id"] for x in b2["items"]]
    check(not set(ids) & set(ids2) and ids2 == sorted(ids2) and ids[-1] < ids2[0],
          "list: second page follows the first")
    s, b, _ = op.req("GET", "/v1/warrants?auth_country=FR")
    check([x["id"] for x in b["items"]] == ["w1b"], "list filter auth_country=FR")
    s, b, _ = op.req("GET", "/v1/warrants?destination_ids=lea1&liid=PAGE3")
    check([x["id"] for x in b["items"]] == ["p3"], "list filter on array membership + field")
    s, b, _ = op.req("GET", "/v1/warrants?target=%3Csip%3AAlice%40EXAMPLE.com%3E%3Btag%3D1"
                     "&auth_country=DE&limit=1000")
    check(s == 200 and {x["id"] for x in b["items"]} == {"w1", "p0", "p1", "p2", "p3", "p4"},
          "list by target: any form of the identity matches its canonical form")
    s, b, _ = op.req("GET", "/v1/warrants?target=%2B49301234")
    check(s == 200 and len(b["items"]) == 7, "list by target: E.164 matches the tel URI")
    s, b, _ = op.req("GET", "/v1/warrants?target=nobody")
    check(s == 400 and err_code(b) == "invalid_target", "list by a non-identity: 400")
    s, b, _ = op.req("GET", "/v1/warrants?bogus=1")
    check(s == 400 and err_code(b) == "invalid_filter", "list with unknown filter: 400")
    s, b, _ = op.req("GET", "/v1/warrants?" + "&".join(f"f{i}=1" for i in range(17)))
    check(s == 400 and err_code(b) == "too_many_parameters", "17 query parameters: 400")
    s, b, _ = op.req("GET", "/v1/warrants?limit=0")
    check(s == 400 and err_code(b) == "invalid_limit", "list limit=0: 400")

    # deletion and references
    s, b, _ = op.req("DELETE", "/v1/destinations/lea1", None,
                     {"If-Match": '"1"', "X-Reason": "t"})
    check(s == 409 and err_code(b) == "in_use", "DELETE a destination a warrant uses: 409")
    s, b, _ = op.req("DELETE", "/v1/warrants/p4", None, {"If-Match": '"1"'})
    check(s == 400 and err_code(b) == "reason_required", "DELETE without X-Reason: 400")
    s, b, _ = op.req("DELETE", "/v1/warrants/p4", None, {"If-Match": '"1"', "X-Reason": "AG"})
    check(s == 204, "DELETE warrant: 204")
    s, b, _ = op.req("GET", "/v1/warrants/p4")
    check(s == 404, "deleted warrant is gone")
    s, b, _ = op.req("PATCH", "/v1/warrants/p3", {"legal_reference": "stop",
                                                  "state": "deactivated"}, {"If-Match": '"1"'})
    check(s == 200 and b["state"] == "deactivated", "deactivate a warrant early")
    s, b, _ = op.req("PATCH", "/v1/warrants/p3", {"legal_reference": "again"},
                     {"If-Match": '"2"'})
    check(s == 409 and err_code(b) == "deactivated", "a deactivated warrant cannot change")
    s, b, _ = op.req("GET", "/v1/warrants?state=deactivated")
    check([x["id"] for x in b["items"]] == ["p3"], "list filter state=deactivated")
    s, b, _ = op.req("POST", "/v1/warrants/w1", w)
    check(s == 405, "POST on an item: 405")
    s, b, _ = op.req("POST", "/v1/warrants", dict(w, id="onsip", liid="ONSIP",
                                                  poi_ids=["poi-sip"]))
    check(s == 201 and b["poi_ids"] == ["poi-sip"], "warrant limited to one intercept point")
    s, b, _ = op.req("DELETE", "/v1/intercept-points/poi-sip", None,
                     {"If-Match": "*", "X-Reason": "t"})
    check(s == 409 and err_code(b) == "in_use", "DELETE an intercept point a warrant names: 409")
    op.req("DELETE", "/v1/warrants/onsip", None, {"If-Match": '"1"', "X-Reason": "t"})
    s, b, _ = op.req("GET", "/v1/intercept-points/poi-sip")
    s, b, _ = op.req("DELETE", "/v1/intercept-points/poi-sip", None,
                     {"If-Match": f'"{b["version"]}"', "X-Reason": "decommissioned"})
    check(s == 204, "DELETE intercept point: 204")

    # ---- roles ----
    for client, method, path, body, want, what in [
            (aud, "POST", "/v1/warrants", dict(w, id="r1", liid="R1"), 403,
             "auditor cannot create warrants"),
            (aud, "GET", "/v1/warrants", None, 403, "auditor cannot read warrants"),
            (aud, "GET", "/v1/destinations", None, 403, "auditor cannot read destinations"),
            (aud, "DELETE", "/v1/intercept-points/poi-down", None, 403,
             "auditor cannot delete intercept points"),
            (aud, "GET", "/v1/intercept-points", None, 200, "auditor reads intercept points"),
            (aud, "GET", "/v1/audit?limit=1", None, 200, "auditor reads the audit trail"),
            (op, "GET", "/v1/audit", None, 403, "operator cannot read the audit trail"),
            (op, "GET", "/v1/audit/verify", None, 403, "operator cannot verify the audit"),
            (op, "GET", "/v1/intercept-points", None, 200, "operator reads intercept points"),
            (adm, "GET", "/v1/audit?limit=1", None, 200, "admin reads the audit trail"),
            (adm, "GET", "/v1/warrants?limit=1", None, 200, "admin reads warrants"),
            (tok_admin, "POST", "/v1/destinations",
             dict(dest, id="lea3"), 201, "admin by bearer token creates a destination"),
            (tok_aud, "GET", "/v1/audit?limit=1", None, 200, "auditor by bearer token"),
            (Client(d, token="wrong-token-000000000"), "GET", "/v1/audit", None, 401,
             "unknown bearer token: 401"),
            (anon, "GET", "/v1/warrants", None, 401, "no credentials: 401"),
            (Client(d, "client"), "GET", "/v1/warrants", None, 401,
             "a valid certificate of no role: 401"),
            (adm, "DELETE", "/v1/audit", None, 405, "nobody deletes audit events (405)"),
            (adm, "PUT", "/v1/audit/verify", {}, 405, "nobody changes audit events (405)")]:
        h = {"X-Reason": "role test"}
        s, b, _ = client.req(method, path, body, h)
        check(s == want, f"{what}: {s} {b if s != want else ''}")
    s, b, _ = adm.req("GET", "/v1/audit?action=audit.change")
    check(s == 200 and {e["object"] for e in b["items"]} ==
          {"DELETE /v1/audit", "PUT /v1/audit/verify"},
          "attempts to change the audit trail are themselves audited")
    s, b, _ = adm.req("GET", "/v1/audit?action=auth.forbidden&limit=1000")
    check(s == 200 and len(b["items"]) >= 5, f"403s are audited ({len(b['items'])})")
    s, b, _ = adm.req("GET", "/v1/audit?action=auth.fail&limit=1000")
    check(s == 200 and len(b["items"]) >= 4 and
          any(e["actor"] == "token:unknown" for e in b["items"]) and
          any(e["actor"] == "cert:client" for e in b["items"]), "401s are audited with who")

    # ---- audit trail ----
    s, b, _ = aud.req("GET", "/v1/audit?object=warrant/w1&limit=1000")
    acts = [(e["action"], e["outcome"]) for e in b["items"]]
    check(("warrant.create", "accepted") in acts and ("warrant.update", "refused") in acts and
          ("warrant.update", "accepted") in acts, "audit by object: accepted and refused")
    check(all(e["object"] == "warrant/w1" for e in b["items"]), "audit object filter exact")
    s, b, _ = aud.req("GET", "/v1/audit?object=warrant/&outcome=refused&limit=1000")
    check(s == 200 and len(b["items"]) >= 15 and
          all(e["object"].startswith("warrant/") and e["outcome"] == "refused"
              for e in b["items"]), "audit: every refused warrant change is recorded")
    s, b, _ = aud.req("GET", "/v1/audit?actor=cert:operator&limit=5")
    check(len(b["items"]) == 5 and all(e["actor"] == "cert:operator" for e in b["items"]) and
          b["next"] is not None, "audit by actor, paginated")
    s, b2, _ = aud.req("GET", f"/v1/audit?actor=cert:operator&limit=5&after={b['next']}")
    check(b2["items"][0]["index"] > b["items"][-1]["index"], "audit: next page")
    s, b, _ = aud.req("GET", "/v1/audit?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z")
    check(s == 200 and b["items"] == [], "audit time filter")
    s, b, _ = aud.req("GET", "/v1/audit?from=yesterday")
    check(s == 400 and err_code(b) == "invalid_time", "audit bad time: 400")
    s, b, _ = aud.req("GET", "/v1/audit/verify")
    check(s == 200 and b["ok"] is True and b["events"] > 50, "GET /v1/audit/verify: intact")
    s, raw, _ = aud.req("GET", "/v1/audit?format=jsonl")
    export = os.path.join(work, "audit.jsonl")
    with open(export, "wb") as f:
        f.write(raw)
    lines = raw.decode().splitlines()
    out = subprocess.run([VERIFY, export], capture_output=True, text=True)
    check(out.returncode == 0 and f"{len(lines)} events" in out.stdout,
          f"limf-audit-verify on the export: intact ({out.stdout.strip()})")
    k = len(lines) // 2
    ev = json.loads(lines[k])
    ev["reason"] = ev["reason"] + " (edited)"
    lines[k] = json.dumps(ev, separators=(",", ":"))
    tampered = os.path.join(work, "tampered.jsonl")
    with open(tampered, "w") as f:
        f.write("\n".join(lines) + "\n")
    out = subprocess.run([VERIFY, tampered], capture_output=True, text=True)
    check(out.returncode == 1 and f"index {ev['index']}:" in out.stdout,
          f"tampered event {ev['index']} named: {out.stdout.strip()}")
    del lines[k]
    with open(tampered, "w") as f:
        f.write("\n".join(lines) + "\n")
    out = subprocess.run([VERIFY, tampered], capture_output=True, text=True)
    check(out.returncode == 1 and "index gap" in out.stdout, "removed event detected")

    # ---- validity windows of a few seconds ----
    t0 = datetime.now(timezone.utc)
    s, b, _ = op.req("POST", "/v1/warrants", dict(w, id="short", liid="SHORT",
                                                  start=rfc3339(t0 + timedelta(seconds=3)),
                                                  end=rfc3339(t0 + timedelta(seconds=6))))
    check(s == 201 and b["state"] == "pending", "short warrant: pending before its start")
    time.sleep(max(0, (t0 + timedelta(seconds=3.5) - datetime.now(timezone.utc))
                   .total_seconds()))
    s, b, _ = op.req("GET", "/v1/warrants/short")
    check(b["state"] == "active", "short warrant: active inside its window")
    time.sleep(max(0, (t0 + timedelta(seconds=6.8) - datetime.now(timezone.utc))
                   .total_seconds()))
    s, b, _ = op.req("GET", "/v1/warrants/short")
    check(b["state"] == "expired", "short warrant: expired after its end")
    s, b, _ = aud.req("GET", "/v1/audit?object=warrant/short")
    acts = [e["action"] for e in b["items"]]
    check("warrant.activate" in acts and "warrant.expire" in acts,
          "activation and expiry recorded by the system in the audit trail")

    # ---- kill -9 and restart: identical state ----
    def snapshot():
        state = {}
        for coll in ("warrants", "destinations", "cert-exceptions", "intercept-points"):
            s, b, _ = adm.req("GET", f"/v1/{coll}?limit=1000")
            items = b["items"]
            if coll == "intercept-points":  # health is live state, refreshed at start
                items = [{k: v for k, v in x.items()
                          if k not in ("health", "last_audit", "version", "updated")}
                         for x in items]
            state[coll] = items
        return state
    before = snapshot()
    s, vb, _ = aud.req("GET", "/v1/audit/verify")
    d.kill9()
    d.start()
    after = snapshot()
    check(before == after and sum(len(v) for v in after.values()) > 10,
          "kill -9 and restart: every object identical")
    s, b, _ = aud.req("GET", "/v1/audit/verify")
    check(b["ok"] is True and b["events"] >= vb["events"], "audit chain intact after restart")
    s, b, _ = op.req("PATCH", "/v1/warrants/w1", {"legal_reference": "after restart"},
                     {"If-Match": f'"{before["warrants"][[x["id"] for x in before["warrants"]].index("w1")]["version"]}"'})
    check(s == 200, "ETags survive the restart")
    s, b, _ = aud.req("GET", "/v1/audit?object=warrant/w1&limit=1000")
    check(b["items"][-1]["reason"] == "after restart", "the chain continues after restart")
    s, b, _ = aud.req("GET", "/v1/audit/verify")
    check(b["ok"] is True, "audit chain intact after writing on top of the restored chain")

    # bounded memory: only the newest events stay queryable, all stay in Kafka
    total = b["events"]
    d.stop()
    d.set("admf.audit_memory_events", 10)
    d.start()
    s, b, _ = aud.req("GET", "/v1/audit?limit=1000")
    idx = [e["index"] for e in b["items"]]
    # (the restart itself may add events: the POI's health and reconciliation)
    check(len(idx) == 10 and idx == list(range(idx[0], idx[0] + 10)) and
          idx[0] >= total - 10, f"after restart with a window of 10: the newest 10 events "
          f"in memory ({idx[0]}..{idx[-1]}, {total} before)")
    last = idx[-1]
    for i in range(3):
        op.req("POST", "/v1/destinations", dict(dest, id=f"ring{i}"), {"X-Reason": "ring"})
    s, b, _ = aud.req("GET", "/v1/audit?limit=1000")
    idx = [e["index"] for e in b["items"]]
    check(len(idx) == 10 and idx == list(range(idx[0], idx[0] + 10)) and idx[-1] >= last + 3 and
          b["items"][-1]["object"] == "destination/ring2", "the window moves with new events")
    s, raw, _ = aud.req("GET", "/v1/audit?format=jsonl")
    with open(export, "wb") as f:
        f.write(raw)
    out = subprocess.run([VERIFY, export], capture_output=True, text=True)
    check(out.returncode == 0 and "10 events" in out.stdout, "the window's export verifies")
    s, b, _ = aud.req("GET", "/v1/audit/verify")
    check(b["ok"] is True and b["events"] >= total + 3 and b["events"] >= idx[-1] + 1,
          "the whole chain is still in Kafka")


if __name__ == "__main__":
    sys.exit(main())
