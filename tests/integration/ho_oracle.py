#!/usr/bin/env python3
"""Independent check of limf's HI2/HI3 encoder: asn1tools (PyPI, nobody here wrote it)
compiles ETSI's LI-PS-PDU version 35 module and the modules it needs from tests/asn1
(README.md there says what each is), then decodes the PS-PDUs that ho_oracle_dump wrote
and compares them with the fields it was given.

Usage: ho_oracle.py DUMP_DIR ASN_DIR
Exit 0: every PDU decoded with the expected fields; 1: a mismatch; 77: asn1tools unavailable."""
import json
import os
import re
import sys

try:
    import asn1tools
except ImportError:
    print("SKIP: asn1tools not installed", file=sys.stderr)
    sys.exit(77)

def prepare(asn_dir):
    """The modules of tests/asn1 as asn1tools can compile them. LI-PS-PDU (ETSI's text) is
    transformed in memory: comments dropped, its IMPORTS replaced by the three limf uses
    (LIID, IPMMCC/IPMMIRI, HI1-Operation), and `Module.Type` references to modules limf
    does not use replaced by OCTET STRING placeholders (asn1tools does not resolve dotted
    references)."""
    def read(name):
        with open(os.path.join(asn_dir, name)) as f:
            return f.read()
    text_ = re.sub(r"--[^\n]*", "", read("LI-PS-PDU.asn"))
    head, rest = text_.split("IMPORTS", 1)
    rest = rest[rest.index(";") + 1:]
    for module, name in (("Common-Parameters", "LIID"), ("IPMultimediaPDU", "IPMMIRI"),
                         ("IPMultimediaPDU", "IPMMCC"), ("HI1NotificationOperations", "HI1-Operation")):
        rest = rest.replace(f"{module}.{name}", name)
    rest = re.sub(r"\b[A-Za-z][\w-]*\.[A-Za-z][\w-]*", "OCTET STRING", rest)
    module = (head + "IMPORTS LIID FROM Common-Parameters IPMMCC, IPMMIRI FROM IPMultimediaPDU"
              " HI1-Operation FROM HI1NotificationOperations;\n" + rest)
    others = [read(n) for n in ("Common-Parameters.asn", "IPMultimediaPDU.asn",
                                "HI1NotificationOperations.asn", "HI2Operations.asn")]
    return "\n".join([module] + others)


def text(v):
    return v.decode() if isinstance(v, (bytes, bytearray)) else v


def der_time_ok(pdu_bytes):
    """The PSHeader timeStamp [5] in DER form (X.690 11.7.3): a fraction, if any, without
    trailing zeros. asn1tools reads any BER form, so this looks at the octets."""
    m = re.search(rb"\x85[\x0f-\x13]\d{14}(?:\.(\d*))?Z", pdu_bytes)
    return m is None or m.group(1) is None or (m.group(1) != b"" and not m.group(1).endswith(b"0"))


def check(spec, pdu_bytes, want):
    d = spec.decode("PS-PDU", pdu_bytes)
    if not der_time_ok(pdu_bytes):
        return "timeStamp is not DER (trailing zeros in the fraction)"
    h = d["pSHeader"]
    got = {
        "domain": h["li-psDomainId"],
        "liid": h["lawfulInterceptionIdentifier"],
        "operator_id": text(h["communicationIdentifier"]["networkIdentifier"]["operatorIdentifier"]),
        "seq": h["sequenceNumber"],
    }
    ni = h["communicationIdentifier"]["networkIdentifier"]
    if "networkElementIdentifier" in ni:
        got["ne_id"] = text(ni["networkElementIdentifier"])
    for k, f in (("auth_cc", "authorizationCountryCode"),):
        if f in h:
            got[k] = h[f]
    ci = h["communicationIdentifier"]
    if "communicationIdentityNumber" in ci:
        got["cin"] = ci["communicationIdentityNumber"]
    if "deliveryCountryCode" in ci:
        got["delivery_cc"] = ci["deliveryCountryCode"]
    if "microSecondTimeStamp" in h:
        m = h["microSecondTimeStamp"]
        got["timestamp_us"] = m["seconds"] * 1000000 + m["microSeconds"]
        # GeneralizedTime and microSecondTimeStamp must agree to the millisecond.
        ts = h["timeStamp"]
        epoch_ms = int(ts.timestamp() * 1000 + 0.5)
        if epoch_ms != got["timestamp_us"] // 1000:
            return f"timeStamp {ts} disagrees with microSecondTimeStamp {m}"
    kind, payload = d["payload"]
    if kind == "iRIPayloadSequence":
        (iri,) = payload
        got["payload"] = "iri"
        got["iri_type"] = iri["iRIType"]
        ck, ipmm = iri["iRIContents"]
        if ck != "iPMMIRI":
            return f"iRIContents is {ck}"
        got["objid"] = ipmm["iPMMIRIObjId"].hex()
        ik, iv = ipmm["iPMMIRIContents"]
        if ik == "sIPMessage":
            got["sip"] = text(iv["sIPContent"])
            for k, f in (("src", "iPSourceAddress"), ("dst", "iPDestinationAddress")):
                a = iv[f]
                got[k] = [a["iP-type"], a["iP-value"][1].hex()]
        else:
            return f"iPMMIRIContents is {ik}: limf sends sIPMessage only"
    elif kind == "hI1-Operation":
        op, body = payload
        got["payload"] = "hi1"
        got["hi1"] = op
        ci = body["communicationIdentifier"]["network-Identifier"]
        got["hi1_operator_id"] = text(ci["operator-Identifier"])
        ts_kind, ts = body["timeStamp"]
        if ts_kind != "utcTime":
            return f"HI1 timeStamp is {ts_kind}"
        # The HI1 time and the PSHeader's agree to the second.
        if "microSecondTimeStamp" in h and int(ts.timestamp()) != h["microSecondTimeStamp"]["seconds"]:
            return f"HI1 timeStamp {ts} disagrees with the PSHeader"
        got["hi1_liid"] = text(body.get("lawfulInterceptionIdentifier", b""))
        if op == "alarms-indicator":
            got["alarm"] = text(body["alarm-information"])
        elif "target-Information" in body:
            got["target_info"] = text(body["target-Information"])
    elif kind == "cCPayloadSequence":
        (cc,) = payload
        got["payload"] = "cc"
        got["direction"] = cc["payloadDirection"]
        ck, ipmm = cc["cCContents"]
        if ck != "iPMMCC":
            return f"cCContents is {ck}"
        got["objid"] = ipmm["iPMMCCObjId"].hex()
        got["msrp"] = text(ipmm["mMCCContents"])
        got["frame_type"] = ipmm["frameType"]
        got["protocol"] = ipmm.get("mMCCprotocol")
        if "streamIdentifier" in ipmm:
            got["stream_id"] = text(ipmm["streamIdentifier"])
    elif kind == "tRIPayload":
        got["payload"] = payload[0]
    else:
        return f"payload {kind}"
    for k, v in want.items():
        if got.get(k) != v:
            return f"{k}: decoded {got.get(k)!r}, expected {v!r}"
    return None


def main():
    dump_dir, asn_dir = sys.argv[1], sys.argv[2]
    spec = asn1tools.compile_string(prepare(asn_dir), "ber")
    with open(os.path.join(dump_dir, "expected.jsonl")) as f:
        cases = [json.loads(line) for line in f if line.strip()]
    failures = 0
    for case in cases:
        with open(os.path.join(dump_dir, case["file"]), "rb") as f:
            pdu = f.read()
        err = check(spec, pdu, case["want"])
        print(f"{case['file']}: {'OK' if err is None else 'FAIL: ' + err}")
        failures += err is not None
    print(f"{len(cases)} PDUs decoded by asn1tools {asn1tools.__version__}, {failures} failures")
    return 1 if failures or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
