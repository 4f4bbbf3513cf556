#include "msrp_relay_tap.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "li_log.h"
#include "li_tls.h"
#include "x2x3_event.h"

static int wants_x2(const x1_ne_match *m)
{
    return m->delivery == X1_DELIVERY_X2_ONLY || m->delivery == X1_DELIVERY_X2_AND_X3;
}

static int wants_x3(const x1_ne_match *m)
{
    return m->delivery == X1_DELIVERY_X3_ONLY || m->delivery == X1_DELIVERY_X2_AND_X3;
}

static void send_record(msrp_relay_tap *tap, const x1_ne_match *m, uint16_t type,
                        uint16_t format, uint16_t direction, const uint8_t *payload,
                        size_t len)
{
    const char *target = m->target;
    x2x3_record rec;
    memset(&rec, 0, sizeof rec);
    rec.pdu_type = type;
    rec.payload_format = format;
    rec.payload_direction = direction;
    memcpy(rec.xid, m->xid, 16);
    rec.correlation_id = tap->correlation_id;
    /* Addresses in the direction of the message: the target's end first when it sent. */
    if (direction == X2X3_DIR_TO_TARGET) {
        rec.src = tap->relay;
        rec.dst = tap->ue;
    } else {
        rec.src = tap->ue;
        rec.dst = tap->relay;
    }
    rec.ip_protocol = tap->ue.family ? 6 : 0;
    rec.matched_targets = &target;
    rec.n_matched_targets = 1;
    rec.payload = payload;
    rec.payload_len = len;
    li_err err = x2x3_router_send(tap->router, m->dids, m->n_dids, &rec);
    if (err != LI_OK) {
        tap->refused++;
        li_log_debug("tap: record refused (%s)", li_err_str(err));
    }
}

/* Sends one POI event to every matched task that wants X2, or to one when only. */
static void send_event(msrp_relay_tap *tap, const x1_ne_match *only, const char *event,
                       const char *const *kv)
{
    char json[1024];
    size_t len;
    if (x2x3_event_format(json, sizeof json, &len, event, kv) != LI_OK)
        return;
    for (size_t i = 0; i < tap->n_matches; i++) {
        const x1_ne_match *m = &tap->matches[i];
        if ((only && m != only) || !wants_x2(m))
            continue;
        send_record(tap, m, X2X3_PDU_X2, X2X3_FORMAT_PROPRIETARY, X2X3_DIR_NA,
                    (const uint8_t *)json, len);
    }
}

static void event_reserved(msrp_relay_tap *tap, const x1_ne_match *only)
{
    const char *kv[] = { "session", tap->session_id, NULL };
    send_event(tap, only, X2X3_EVENT_SESSION_RESERVED, kv);
}

static void event_tls(msrp_relay_tap *tap, const x1_ne_match *only, const char *leg,
                      const char *fingerprint)
{
    const char *kv[] = { "leg", leg, "fingerprint", fingerprint, NULL };
    send_event(tap, only, X2X3_EVENT_TLS_ESTABLISHED, kv);
}

static void event_passthrough(msrp_relay_tap *tap, const x1_ne_match *only)
{
    const char *kv[] = { "exception_id", tap->exception_id, "fingerprint",
                         tap->exception_fingerprint, "peer", tap->exception_peer, NULL };
    send_event(tap, only, X2X3_EVENT_PASSTHROUGH, kv);
}

/* Tells a task that matched late what the session reported before it. */
static void replay_events(msrp_relay_tap *tap, const x1_ne_match *m)
{
    event_reserved(tap, m);
    if (tap->passthrough)
        event_passthrough(tap, m);
    if (tap->ue_fingerprint[0])
        event_tls(tap, m, "ue", tap->ue_fingerprint);
    if (tap->network_fingerprint[0])
        event_tls(tap, m, "network", tap->network_fingerprint);
}

static void match(msrp_relay_tap *tap)
{
    x1_ne_match old[MSRP_RELAY_TAP_MAX_MATCHES];
    size_t n_old = tap->n_matches;
    memcpy(old, tap->matches, n_old * sizeof old[0]);
    tap->generation = x1_ne_generation(tap->ne);
    tap->n_matches = 0;
    for (size_t t = 0; t < tap->n_targets; t++) {
        x1_ne_match found[MSRP_RELAY_TAP_MAX_MATCHES];
        size_t n = x1_ne_match_identity(tap->ne, tap->targets[t], found,
                                        MSRP_RELAY_TAP_MAX_MATCHES);
        if (n > MSRP_RELAY_TAP_MAX_MATCHES)
            n = MSRP_RELAY_TAP_MAX_MATCHES;
        /* One entry per XID: a task matching two identities of the user reports once. */
        for (size_t i = 0; i < n && tap->n_matches < MSRP_RELAY_TAP_MAX_MATCHES; i++) {
            size_t k = 0;
            while (k < tap->n_matches && memcmp(tap->matches[k].xid, found[i].xid, 16) != 0)
                k++;
            if (k == tap->n_matches)
                tap->matches[tap->n_matches++] = found[i];
        }
    }
    for (size_t i = 0; i < tap->n_matches; i++) {
        size_t k = 0;
        while (k < n_old && memcmp(old[k].xid, tap->matches[i].xid, 16) != 0)
            k++;
        if (k == n_old || (!wants_x2(&old[k]) && wants_x2(&tap->matches[i]))) {
            char xid[37];
            li_uuid_format(tap->matches[i].xid, xid);
            /* debug only: a POI's log must not say that someone is intercepted
             * (docs/SECURITY.md, "Traces outside LI"). */
            li_log_debug("session %s: tapped for task %s", tap->session_id, xid);
            if (tap->matched_once || k < n_old)
                replay_events(tap, &tap->matches[i]);
            else
                event_reserved(tap, &tap->matches[i]);
        }
    }
    tap->matched_once = 1;
}

void msrp_relay_tap_init(msrp_relay_tap *tap, x1_ne *ne, x2x3_router *router,
                         const char *session_id, const char (*targets)[LI_IDENT_MAX],
                         size_t n_targets)
{
    memset(tap, 0, sizeof *tap);
    tap->ne = ne;
    tap->router = router;
    snprintf(tap->session_id, sizeof tap->session_id, "%s", session_id);
    uint8_t rnd[16];
    if (li_uuid_random(rnd) == LI_OK)
        tap->correlation_id = li_get_be64(rnd);
    if (n_targets > MSRP_RELAY_MAX_TARGETS)
        n_targets = MSRP_RELAY_MAX_TARGETS;
    memcpy(tap->targets, targets, n_targets * sizeof tap->targets[0]);
    tap->n_targets = n_targets;
    if (ne && router && n_targets)
        match(tap);
}

void msrp_relay_tap_refresh(msrp_relay_tap *tap)
{
    if (tap->ne && tap->router && tap->n_targets && x1_ne_generation(tap->ne) != tap->generation)
        match(tap);
}

void msrp_relay_tap_set_addrs(msrp_relay_tap *tap, const x2x3_addr *ue, const x2x3_addr *relay)
{
    tap->ue = *ue;
    tap->relay = *relay;
}

void msrp_relay_tap_msrp(msrp_relay_tap *tap, int from_target, const uint8_t *msg, size_t len)
{
    for (size_t i = 0; i < tap->n_matches; i++) {
        if (!wants_x3(&tap->matches[i]))
            continue;
        send_record(tap, &tap->matches[i], X2X3_PDU_X3, X2X3_FORMAT_MSRP,
                    from_target ? X2X3_DIR_FROM_TARGET : X2X3_DIR_TO_TARGET, msg, len);
        tap->x3_records++;
    }
}

void msrp_relay_tap_tls(msrp_relay_tap *tap, const char *leg, const uint8_t fingerprint[32])
{
    int ue = strcmp(leg, "ue") == 0;
    char *slot = ue ? tap->ue_fingerprint : tap->network_fingerprint;
    li_tls_fingerprint_format(fingerprint, slot);
    event_tls(tap, NULL, leg, slot);
}

void msrp_relay_tap_passthrough(msrp_relay_tap *tap, const x1_cert_exception *exc)
{
    tap->passthrough = 1;
    snprintf(tap->exception_id, sizeof tap->exception_id, "%s", exc->id);
    li_tls_fingerprint_format(exc->fingerprint, tap->exception_fingerprint);
    snprintf(tap->exception_peer, sizeof tap->exception_peer, "%s", exc->peer);
    event_passthrough(tap, NULL);
}

void msrp_relay_tap_released(msrp_relay_tap *tap)
{
    const char *kv[] = { "session", tap->session_id, NULL };
    send_event(tap, NULL, X2X3_EVENT_SESSION_RELEASED, kv);
}

void msrp_relay_addr_from_sockaddr(x2x3_addr *out, const void *sockaddr)
{
    const struct sockaddr *sa = sockaddr;
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = sockaddr;
        out->family = AF_INET;
        memcpy(out->addr, &in->sin_addr, 4);
        out->port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = sockaddr;
        out->family = AF_INET6;
        memcpy(out->addr, &in6->sin6_addr, 16);
        out->port = ntohs(in6->sin6_port);
    }
}
