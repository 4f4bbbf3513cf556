/* POI events: the JSON payload of an X2 PDU with payload format 4 (proprietary), by
 * which a POI tells the mediation what it cannot show as SIP or MSRP (docs/X2X3.md):
 *   {"limf_event":"gap","dropped":N}
 *   {"limf_event":"session-reserved","session":"<id>"}
 *   {"limf_event":"tls-established","leg":"ue"|"network","fingerprint":"AB:CD:.."}
 *   {"limf_event":"passthrough","exception_id":"..","fingerprint":"..","peer":".."}
 *   {"limf_event":"session-released","session":"<id>"}
 *   {"limf_event":"unknown-value","field":"pdu_type"|"payload_format"|
 *    "payload_direction"|"attribute","value":"<n>"}   (written by limf-ingest)
 * A tiny encoder (no allocation) so that POIs need no JSON library; the mediator parses
 * the JSON with jansson and names the event with x2x3_event_type_of(), so that both
 * sides take the names from here. */
#ifndef X2X3_EVENT_H
#define X2X3_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "li_err.h"

#define X2X3_EVENT_GAP "gap"
#define X2X3_EVENT_SESSION_RESERVED "session-reserved"
#define X2X3_EVENT_TLS_ESTABLISHED "tls-established"
#define X2X3_EVENT_PASSTHROUGH "passthrough"
#define X2X3_EVENT_SESSION_RELEASED "session-released"
/* The member that names the event, and the members the mediator reads. */
#define X2X3_EVENT_KEY "limf_event"
#define X2X3_EVENT_KEY_SESSION "session"

typedef enum x2x3_event_type {
    X2X3_EV_UNKNOWN = 0,         /* a name this version does not know: informational */
    X2X3_EV_GAP,
    X2X3_EV_SESSION_RESERVED,
    X2X3_EV_TLS_ESTABLISHED,
    X2X3_EV_PASSTHROUGH,
    X2X3_EV_SESSION_RELEASED
} x2x3_event_type;

/* The event named name (the value of X2X3_EVENT_KEY); X2X3_EV_UNKNOWN for NULL or any
 * other name. */
x2x3_event_type x2x3_event_type_of(const char *name);
#define X2X3_EVENT_UNKNOWN_VALUE "unknown-value"

/* Writes {"limf_event":"<event>","<k1>":"<v1>",...} into out (NUL-terminated) from kv, a
 * NULL-terminated list of key, value strings (kv may be NULL). Strings are escaped for
 * JSON; bytes that are not valid UTF-8 become U+FFFD. *len (may be NULL) receives the
 * length without the NUL. LI_ERR_TOO_BIG when out is too small (out then holds ""). */
li_err x2x3_event_format(char *out, size_t out_size, size_t *len, const char *event,
                         const char *const *kv);

/* {"limf_event":"gap","dropped":N}: N PDUs of this XID were dropped by the sender. */
li_err x2x3_event_gap(char *out, size_t out_size, size_t *len, uint64_t dropped);

#endif
