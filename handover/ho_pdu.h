/* ETSI TS 102 232-1 PS-PDU (module LI-PS-PDU version 35) carrying TS 102 232-5 IPMMIRI and
 * IPMMCC, and the TRI keep-alive pair: the HI2/HI3 record of limf. Pure codec: the encoder
 * appends to a caller's reusable li_buf, the decoder points into the caller's buffer.
 *
 * What limf sends (docs/HANDOVER.md has the full table):
 *   IRI  (HI2): IRIPayload { iRIType, timeStamp, iRIContents.iPMMIRI { iPMMIRIObjId,
 *               iPMMIRIContents.sIPMessage { iPSourceAddress, iPDestinationAddress, sIPContent } } }
 *   HI1  (HI2): hI1-Operation [3] (TS 101 671 HI1NotificationOperations version 7):
 *               liActivated [1] / liDeactivated [2] / liModified [3] Notification
 *               { lawfulInterceptionIdentifier [1], communicationIdentifier [2], timeStamp [3] },
 *               or alarms-indicator [4] Alarm-Indicator { communicationIdentifier [1],
 *               timeStamp [2], alarm-information [3] (limf's event, 1..256 octets),
 *               lawfulInterceptionIdentifier [4] }; the PSHeader's CIN only when the
 *               notification belongs to a communication (LI-PS-PDU: "in case of
 *               transport of HI1 messages not required").
 *   CC   (HI3): CCPayload { payloadDirection, timeStamp, cCContents.iPMMCC { iPMMCCObjId,
 *               mMCCContents (MSRP bytes), frameType msrpFrame(7), streamIdentifier,
 *               mMCCprotocol mSRP(1) } }
 *   TRI:        tRIPayload keep-alive [3] / keep-aliveResponse [4] */
#ifndef HO_PDU_H
#define HO_PDU_H

#include <stddef.h>
#include <stdint.h>

#include "li_bytes.h"
#include "li_err.h"

/* Last arc of li-psDomainId {0 4 0 2 2 5 1 35} (LI-PS-PDU module version 35). */
#define HO_PS_DOMAIN_VERSION 35
/* Version arc of the IPMultimediaPDU module imported by LI-PS-PDU version 35. */
#define HO_IPMM_VERSION 16

typedef enum ho_payload {
    HO_PAYLOAD_IRI = 1,
    HO_PAYLOAD_CC = 2,
    HO_PAYLOAD_KEEPALIVE = 3,
    HO_PAYLOAD_KEEPALIVE_RESPONSE = 4,
    HO_PAYLOAD_HI1 = 5
} ho_payload;

/* IRIType (TS 102 232-1 clause 5.2.10); the values the HiRecord enum of hi.proto also has
 * (the Kafka contract; ho_dest.c checks that they agree). */
enum { HO_IRI_BEGIN = 1, HO_IRI_END = 2, HO_IRI_CONTINUE = 3, HO_IRI_REPORT = 4 };
/* What an IRI carries: a SIP message (what limf sends), or, from other senders,
 * originalIPMMMessage (read only). */
typedef enum ho_iri_content { HO_IRI_SIP = 1, HO_IRI_ORIGINAL = 2 } ho_iri_content;
/* HI1-Operation alternatives (TS 101 671 HI1NotificationOperations), their CHOICE tags. */
typedef enum ho_hi1_op {
    HO_HI1_ACTIVATED = 1,
    HO_HI1_DEACTIVATED = 2,
    HO_HI1_MODIFIED = 3,
    HO_HI1_ALARM = 4
} ho_hi1_op;
/* Alarm-Indicator alarm-information and Notification target-Information: SIZE (1..256). */
#define HO_HI1_TEXT_MAX 256
/* Network-Identifier operator-Identifier of HI2Operations: SIZE (1..5). */
#define HO_HI1_OPERATOR_MAX 5
/* PayloadDirection. */
enum { HO_DIR_FROM_TARGET = 0, HO_DIR_TO_TARGET = 1, HO_DIR_INDETERMINATE = 2 };
/* TS 102 232-5 FrameType msrpFrame and MMCCProtocol mSRP. */
enum { HO_FRAME_MSRP = 7, HO_MMCC_MSRP = 1 };
/* TimeStampQualifier. */
enum { HO_TSQ_UNKNOWN = 0, HO_TSQ_INTERCEPTION = 1, HO_TSQ_MEDIATION = 2 };

typedef struct ho_addr {
    int family;           /* 0 unknown (sent as 0.0.0.0), 4 or 6 */
    uint8_t addr[16];
} ho_addr;

/* One PS-PDU. Byte fields are views (pointer + length) the caller owns; an empty view is
 * an absent OPTIONAL field. */
typedef struct ho_pdu {
    ho_payload payload;
    uint32_t domain_version;     /* decode: last arc of li-psDomainId; encode: ignored */
    li_slice liid;               /* lawfulInterceptionIdentifier (1..25 octets) */
    li_slice auth_cc;            /* authorizationCountryCode, 2 letters, optional */
    li_slice operator_id;        /* networkIdentifier.operatorIdentifier (1..16) */
    li_slice ne_id;              /* networkIdentifier.networkElementIdentifier (0..16) */
    int has_cin;                 /* optional for HI1 only */
    uint32_t cin;                /* communicationIdentityNumber */
    li_slice delivery_cc;        /* deliveryCountryCode, optional */
    uint32_t seq;                /* sequenceNumber */
    uint64_t timestamp_ns;       /* timeStamp and microSecondTimeStamp; 0 absent */
    int ts_qualifier;            /* timeStampQualifier, -1 absent */
    /* IRI */
    uint32_t iri_type;
    ho_iri_content iri_content;
    ho_addr src, dst;            /* sIPMessage addresses */
    /* CC */
    uint32_t direction;
    uint32_t frame_type;         /* decode only; the encoder sends msrpFrame */
    uint32_t mmcc_protocol;      /* decode only (0 when absent); the encoder sends mSRP */
    li_slice stream_id;          /* streamIdentifier, optional */
    /* HI1 (needs timestamp_ns: its timeStamp is mandatory); the notification's LIID and
     * network identifier are the PSHeader's (operator id cut to HO_HI1_OPERATOR_MAX) */
    ho_hi1_op hi1_op;
    /* The SIP message, the MSRP bytes, or (HI1) alarm-information / target-Information
     * (at most HO_HI1_TEXT_MAX; optional for notifications). */
    li_slice content;
} ho_pdu;

/* Appends the BER of pdu to out (which the caller resets and reuses: no allocation once
 * it has grown to the largest PDU). LI_ERR_INVAL when a mandatory field is missing or a
 * size constraint of the ASN.1 module is violated; out is then restored. */
li_err ho_pdu_encode(const ho_pdu *pdu, li_buf *out);

/* Length of the first complete PS-PDU in a stream: LI_OK and *pdu_len, LI_AGAIN when
 * more bytes are needed, LI_ERR_TOO_BIG above max, LI_ERR_PROTO when it is not a PS-PDU. */
li_err ho_pdu_frame(const uint8_t *buf, size_t len, size_t max, size_t *pdu_len);

/* Decodes one PS-PDU from the start of buf: LI_OK with *used, LI_AGAIN when buf ends inside
 * it, LI_ERR_PROTO when malformed or not one limf can read (other payload types).
 * Views in out point into buf. Unknown extension fields are skipped (X.680 extensibility). */
li_err ho_pdu_decode(const uint8_t *buf, size_t len, ho_pdu *out, size_t *used);

/* Formats ns since the epoch as a DER GeneralizedTime (X.690 11.7): "YYYYMMDDhhmmss[.f]Z"
 * with milliseconds at most, trailing zeros of the fraction and a bare '.' left out.
 * Returns its length (out >= 20 bytes, NUL-terminated). */
size_t ho_generalized_time(uint64_t ns, char out[20]);

#endif
