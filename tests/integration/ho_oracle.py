#!/usr/bin/env python3
"""Independent check of limf's HI2/HI3 encoder: asn1tools (PyPI, nobody here wrote it)
compiles ETSI's LI-PS-PDU version 35 module (LIMF_REFERENCE_DIR) plus a minimal
IPMultimediaPDU module written here from the TS 102 232-5 tag table, then decodes the
PS-PDUs that ho_oracle_dump wrote and compares them with the fields it was given.

Usage: ho_oracle.py DUMP_DIR ASN_FILE
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

# TS 102 232-5 IPMMIRI / IPMMCC, from the tag table (ipmm-ts102232-5-tags.txt): only what
# limf sends, with the extension markers that let other alternatives be added. asn1tools has
# no RELATIVE-OID type, so the object identifiers are read as their content octets
# (implicitly tagged, the octets are the same) and compared with X.690 8.20 by hand.
IPMM = """
IPMultimediaPDU DEFINITIONS IMPLICIT TAGS ::=
BEGIN
IMPORTS IPAddress FROM LI-PS-PDU;
IPMMIRI ::= SEQUENCE {
    iPMMIRIObjId     [0] OCTET STRING,
    iPMMIRIContents  [1] IPMMIRIContents,
    ...
}
IPMMIRIContents ::= CHOICE {
    originalIPMMMessage [0] OCTET STRING,
    sIPMessage          [1] SIPMessage,
    ...
}
SIPMessage ::= SEQUENCE {
    iPSourceAddress       [0] IPAddress,
    iPDestinationAddress  [1] IPAddress,
    sIPContent            [2] OCTET STRING,
    ...
}
IPMMCC ::= SEQUENCE {
    iPMMCCObjId       [0] OCTET STRING,
    mMCCContents      [1] OCTET STRING,
    frameType         [2] FrameType,
    streamIdentifier  [3] OCTET STRING OPTIONAL,
    mMCCprotocol      [4] MMCCProtocol OPTIONAL,
    ...
}
FrameType ::= ENUMERATED { ipFrame(0), udpFrame(1), rtpFrame(2), audioFrame(3), tcpFrame(4),
    artificialRtpFrame(5), udptlFrame(6), msrpFrame(7), ... }
MMCCProtocol ::= ENUMERATED { rTP(0), mSRP(1), uDPTL(2), ... }
END
"""


def prepare(asn_text):
    """The reference module as asn1tools can compile it, transformed in memory (the file
    itself is neither changed nor copied): comments dropped, its IMPORTS replaced by the two
    limf needs, `Module.Type` references to modules limf does not use replaced by OCTET
    STRING placeholders (asn1tools does not resolve dotted references), and Common-Parameters
    with LIID (TS 103 280: UTF8String (SIZE (1..25)))."""
    text_ = re.sub(r"--[^\n]*", "", asn_text)
    head, rest = text_.split("IMPORTS", 1)
    rest = rest[rest.index(";") + 1:]
    rest = rest.replace("Common-Parameters.LIID", "LIID")
    rest = rest.replace("IPMultimediaPDU.IPMMIRI", "IPMMIRI").replace("IPMultimediaPDU.IPMMCC", "IPMMCC")
    rest = re.sub(r"\b[A-Za-z][\w-]*\.[A-Za-z][\w-]*", "OCTET STRING", rest)
    module = (head + "IMPORTS LIID FROM Common-Parameters IPMMCC, IPMMIRI FROM IPMultimediaPDU;\n"
              + rest)
    common = "Common-Parameters DEFINITIONS IMPLICIT TAGS ::=\nBEGIN\nLIID ::= UTF8String (SIZE (1..25))\nEND\n"
    return "\n".join([module, common, IPMM])


def text(v):
    return v.decode() if isinstance(v, (bytes, bytearray)) else v


def check(spec, pdu_bytes, want):
    d = spec.decode("PS-PDU", pdu_bytes)
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
            got["report"] = text(iv)
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
    dump_dir, asn_file = sys.argv[1], sys.argv[2]
    with open(asn_file) as f:
        asn_text = f.read()
    spec = asn1tools.compile_string(prepare(asn_text), "ber")
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
