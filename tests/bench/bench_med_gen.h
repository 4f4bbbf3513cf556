/* Synthetic mediator workload shared by the exactly-once test and the benchmark:
 * warrants (one XID each, target sip:user<w>@ims.example.net, iri+cc for even w), and
 * sessions s = 0.. on warrant s % warrants, each a SIP dialog with an MSRP session:
 *   phase 0 INVITE (SDP a=path .../sa<s>), 1 200 OK (SDP .../sb<s>), 2 ACK,
 *   3 .. 2+msrp MSRP SEND "msg-<s>-<m>" alternately from each side, then BYE, 200 OK. */
#ifndef BENCH_MED_GEN_H
#define BENCH_MED_GEN_H

#include <stddef.h>
#include <stdint.h>

void med_gen_xid(int w, uint8_t xid[16]);
int med_gen_cc(int w);
/* Packs warrant w (destination dest, window [0, end_ms), 0 = open) into buf (>= 512
 * bytes); key "warrant/w<w>" into key (>= 32 bytes). Returns the packed length. */
size_t med_gen_warrant(int w, const char *dest, int64_t end_ms, uint8_t *buf, char *key);
/* Packs the registration of the POI every generated PDU comes from ("poi-test", with the
 * certificate fingerprint the PDUs carry) into buf (>= 256 bytes); key "poi/poi-test"
 * into key (>= 32 bytes): the mediator processes only PDUs of a registered POI. */
size_t med_gen_poi(uint8_t *buf, char *key);
/* The topic_suffix of the generated destination dest (its first 16 octets in hex, padded
 * with '0': deterministic, so that readers name the topic without limf.admin). */
void med_gen_suffix(const char *dest, char out[33]);
/* Packs destination dest with that suffix into buf (>= 256 bytes); key
 * "destination/<dest>" into key (>= 160 bytes): the mediator writes only to destinations
 * limf.admin holds. Returns the packed length. */
size_t med_gen_destination(const char *dest, uint8_t *buf, char *key);
/* Number of phases of a session with `msrp` MSRP messages. */
int med_gen_phases(int msrp);
/* Records one session yields for one LIID. */
int med_gen_records(int w, int msrp);
/* Packs phase k of session s as an XPdu (received and event time now_ns) into buf
 * (>= 2048 bytes); xid receives the record key. Returns the packed length. */
size_t med_gen_pdu(int s, int k, int warrants, int msrp, uint64_t now_ns, uint8_t *buf,
                   uint8_t xid[16]);

#endif
