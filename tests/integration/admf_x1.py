#!/usr/bin/env python3
"""X1 round trip of limf-admf with two test points of interception built on the real NE
library (admf_test_ne, mutual TLS on loopback): activation with the delivery each role
gets, modification, reconciliation of drift both ways (a task removed behind the ADMF's
back, a task it never asked for), tasks limited to some POIs, certificate exceptions,
a validity window of a few seconds, deletion, and a POI that goes down and comes back."""
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admf_api import PKI, BUILD, Client, Daemon, check, failures, rfc3339  # noqa: E402

NE = os.path.join(BUILD, "x1", "admf_test_ne")
XPDU = os.path.join(BUILD, "x1", "admf_test_xpdu")
DID = "6c696d66-0000-4000-8000-000000000001"


class Ne:
    def __init__(self, ne_id):
        self.id = ne_id
        self.p = subprocess.Popen([NE, PKI, ne_id], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, bufsize=1)
        self.port = int(self.p.stdout.readline().split()[1])
        self.url = f"https://127.0.0.1:{self.port}/X1/NE"

    def cmd(self, c):
        self.p.stdin.write(c + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def tasks(self):
        first = self.cmd("tasks")
        out = {}
        line = first
        while line and line != "end" and not line.startswith("error"):
            xid, delivery, n, did = line.split()
            out[xid] = (int(delivery), int(n), did)
            line = self.p.stdout.readline().strip()
        return out

    def stop(self):
        if self.p.poll() is None:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
            self.p.wait(timeout=10)


def wait_until(pred, timeout=8.0):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return pred()


def main():
    work = tempfile.mkdtemp(prefix="admf-x1-")
    subprocess.run([XPDU, "create-topic"], check=True)  # what the first ingest does
    d = Daemon(work, ["x1.tick_ms = 200", "x1.keepalive_interval_s = 1",
                      "x1.reconcile_interval_s = 3600", "x1.retry_max_s = 1"])
    d.start()
    nes = [Ne("poi-as"), Ne("poi-sip")]
    try:
        run(d, nes)
    finally:
        for ne in nes:
            ne.stop()
        d.stop()
        if failures:
            d.dump_log()
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


def run(d, nes):
    op = Client(d, "operator")
    aud = Client(d, "auditor")
    as_ne, sip_ne = nes
    now = datetime.now(timezone.utc)
    year = (rfc3339(now - timedelta(days=1)), rfc3339(now + timedelta(days=365)))
    op.req("POST", "/v1/destinations", {"id": "lea1", "hi2_address": "127.0.0.1:6000",
                                        "operator_id": "OP", "network_element_id": "NE",
                                        "delivery_country": "DE", "transport": "tcp"},
           {"X-Reason": "t"})
    for ne, role in ((as_ne, "as"), (sip_ne, "sip")):
        s, b, _ = op.req("POST", "/v1/intercept-points",
                         {"id": ne.id, "role": role, "x1_url": ne.url}, {"X-Reason": "t"})
        check(s == 201, f"register {ne.id}")

    def health(poi):
        return aud.req("GET", f"/v1/intercept-points/{poi}")[1].get("health")
    check(wait_until(lambda: health("poi-as") == "ok" and health("poi-sip") == "ok"),
          "both POIs reached over X1: health ok")

    w = {"id": "w1", "liid": "LIID-X1", "auth_country": "DE", "legal_reference": "AG 1",
         "targets": [{"type": "sip-uri", "value": "sip:alice@example.com"},
                     {"type": "e164", "value": "+4930123456"}],
         "delivery": "iri+cc", "destination_ids": ["lea1"], "start": year[0], "end": year[1]}
    s, b, _ = op.req("POST", "/v1/warrants", w)
    xid = b["xid"]
    check(wait_until(lambda: as_ne.tasks().get(xid) == (3, 2, DID)),
          "ActivateTask at the relay: the warrant's XID, X2andX3, both targets, ingest DID")
    check(wait_until(lambda: sip_ne.tasks().get(xid) == (1, 2, DID)),
          "ActivateTask at the SIP tap: same XID, X2Only")

    s, b, _ = op.req("PATCH", "/v1/warrants/w1", {
        "legal_reference": "AG 2", "targets": w["targets"] + [
            {"type": "tel-uri", "value": "tel:+49-40-99"}]}, {"If-Match": '"1"'})
    check(s == 200, "PATCH warrant: one more target")
    check(wait_until(lambda: as_ne.tasks().get(xid) == (3, 3, DID) and
                     sip_ne.tasks().get(xid) == (1, 3, DID)),
          "ModifyTask: both POIs carry the three targets under the same XID")

    # drift both ways at the relay, then an on-demand reconciliation
    extra = "11111111-2222-4333-8444-555555555555"
    check(as_ne.cmd(f"inject {extra}") == "ok", "drift: a task the ADMF never asked for")
    check(as_ne.cmd(f"drop {xid}") == "ok", "drift: the warrant's task removed at the POI")
    check(set(as_ne.tasks()) == {extra}, "the relay now holds only the foreign task")
    s, b, _ = aud.req("POST", "/v1/intercept-points/poi-as/audit")
    check(s == 200 and b["outcome"] == "repaired" and b["missing"] == 1 and b["extra"] == 1,
          f"POST .../audit: repaired, 1 missing re-pushed, 1 extra removed ({b})")
    check(as_ne.tasks() == {xid: (3, 3, DID)}, "after reconciliation the relay holds exactly "
          "the warrant's task")
    s, b, _ = aud.req("GET", "/v1/intercept-points/poi-as")
    check(b["last_audit"]["outcome"] == "repaired" and b["last_audit"]["missing"] == 1 and
          b["last_audit"]["extra"] == 1, "the outcome is recorded on the intercept point")
    s, b, _ = aud.req("GET", "/v1/audit?action=x1.reconcile&object=poi/poi-as")
    check(any(e["actor"] == "cert:auditor" and '"outcome":"repaired"' in e["detail"]
              for e in b["items"]), "and in the audit trail, with who asked")
    s, b, _ = aud.req("POST", "/v1/intercept-points/poi-as/audit")
    check(b["outcome"] == "in-sync", "a second reconciliation finds it in sync")

    # the NE loses its tables behind the ADMF's back (as after a quick restart)
    check(as_ne.cmd(f"drop {xid}") == "ok" and as_ne.cmd("forget-destination") == "ok",
          "drift: the relay forgets its task and the ingest DID")
    s, b, _ = op.req("POST", "/v1/warrants", dict(w, id="w4", liid="LIID-DID"))
    xid4 = b["xid"]
    check(wait_until(lambda: as_ne.tasks().get(xid4) == (3, 2, DID)),
          "ActivateTask refused for the unknown DID: destination re-created, task active")
    s, b, _ = aud.req("POST", "/v1/intercept-points/poi-as/audit")
    check(b["outcome"] == "repaired" and b["missing"] == 1 and
          set(as_ne.tasks()) == {xid, xid4}, "and the lost task is back after reconciliation")

    # a task limited to one POI
    s, b, _ = op.req("POST", "/v1/warrants", dict(w, id="w2", liid="LIID-SIP",
                                                  poi_ids=["poi-sip"]))
    xid2 = b["xid"]
    check(wait_until(lambda: xid2 in sip_ne.tasks()), "poi_ids: the SIP tap gets w2")
    check(xid2 not in as_ne.tasks(), "poi_ids: the relay does not")

    # certificate exceptions go to the relays
    exc = {"id": "exc1", "fingerprint_sha256": "ab" * 32, "peer": "conf.example.net",
           "scope": "peer", "reason": "ticket 9", "approver": "CISO", "expires": year[1]}
    s, b, _ = op.req("POST", "/v1/cert-exceptions", exc)
    check(wait_until(lambda: as_ne.cmd("exception conf.example.net") == "exception exc1"),
          "CreateObject: the relay knows the exception")
    check(sip_ne.cmd("exception conf.example.net") == "exception none",
          "the SIP tap gets no exception")
    # the relay reports a pass-through over X2; the ingest writes it to limf.xpdu
    subprocess.run([XPDU, "passthrough", "poi-as", "exc1", xid], check=True)

    def uses():
        s, b, _ = aud.req("GET", "/v1/audit?action=exception.use&object=exception/exc1")
        return [e for e in b["items"] if e["actor"] == "poi:poi-as" and xid in e["detail"]]
    check(wait_until(uses, 20), "a use of the exception is recorded in the audit trail")
    op.req("DELETE", "/v1/cert-exceptions/exc1", None, {"If-Match": '"1"', "X-Reason": "end"})
    check(wait_until(lambda: as_ne.cmd("exception conf.example.net") == "exception none"),
          "DeleteObject: the exception is gone from the relay")

    # a validity window of a few seconds
    t0 = datetime.now(timezone.utc)
    s, b, _ = op.req("POST", "/v1/warrants", dict(
        w, id="w3", liid="LIID-SHORT", start=rfc3339(t0 + timedelta(seconds=3)),
        end=rfc3339(t0 + timedelta(seconds=7))))
    xid3 = b["xid"]
    check(xid3 not in as_ne.tasks(), "a pending warrant is not tasked")
    check(wait_until(lambda: xid3 in as_ne.tasks(), 6), "tasked at its start time")
    got = datetime.now(timezone.utc)
    check(got >= t0 + timedelta(seconds=2.9), "not before its start")
    check(wait_until(lambda: xid3 not in as_ne.tasks(), 6), "deactivated at its end time")
    check(datetime.now(timezone.utc) >= t0 + timedelta(seconds=6.9), "not before its end")

    # deletion
    s, b, _ = op.req("GET", "/v1/warrants/w1")
    op.req("DELETE", "/v1/warrants/w1", None, {"If-Match": f'"{b["version"]}"',
                                               "X-Reason": "AG 3"})
    check(wait_until(lambda: xid not in as_ne.tasks() and xid not in sip_ne.tasks()),
          "DELETE warrant: DeactivateTask at both POIs")

    # a POI that goes down and comes back
    sip_ne.stop()
    check(wait_until(lambda: health("poi-sip") == "unreachable"),
          "a stopped POI turns unreachable")
    new_sip = Ne("poi-sip")
    nes[1] = new_sip
    s, b, _ = op.req("GET", "/v1/intercept-points/poi-sip")
    s, b, _ = op.req("PUT", "/v1/intercept-points/poi-sip",
                     {"role": "sip", "x1_url": new_sip.url},
                     {"If-Match": f'"{b["version"]}"', "X-Reason": "moved"})
    check(s == 200, "PUT the POI's new X1 address")
    check(wait_until(lambda: health("poi-sip") == "ok" and xid2 in new_sip.tasks()),
          "back: healthy, and its task re-pushed by reconciliation")
    s, b, _ = aud.req("GET", "/v1/audit?action=x1.activate&limit=1000")
    check(len(b["items"]) >= 4 and all(e["actor"] == "limf-admf" for e in b["items"]),
          "every push is in the audit trail")

    # the ADMF dies and comes back: the POIs keep their tasks and are found in sync
    before = as_ne.tasks()
    check(len(before) >= 1, "the relay holds tasks before the ADMF is killed")
    d.kill9()
    d.start()
    s, b, _ = aud.req("POST", "/v1/intercept-points/poi-as/audit")
    check(s == 200 and b["outcome"] == "in-sync" and as_ne.tasks() == before,
          f"after kill -9 and restart the relay is in sync, nothing re-pushed or removed ({b})")

    # a rogue writer appends to limf.audit behind the daemon's back
    s, b, _ = aud.req("GET", "/v1/audit/verify")
    check(s == 200 and b["ok"] is True, "the chain in Kafka is intact")
    n = b["events"]
    subprocess.run([XPDU, "forge-audit", str(n)], check=True)
    s, b, _ = aud.req("GET", "/v1/audit/verify")
    check(s == 200 and b["ok"] is False and b["first_broken"]["index"] >= n - 1 and
          b["first_broken"]["index"] <= n + 5,
          f"GET /v1/audit/verify names the first broken link ({b.get('first_broken')})")


if __name__ == "__main__":
    sys.exit(main())
