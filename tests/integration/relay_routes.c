/* Where limf-msrp-relay sends X2/X3 (TS 103 221-1: a task names its destination, the
 * destination its delivery address), through two real limf-ingest processes (ids
 * "ingest-a" and "ingest-b", told apart in the records they write to Kafka) and real X1:
 * - two tasks with two destinations: each task's events reach its own ingest only;
 * - a task naming both destinations (listOfDIDs): its events reach both ingests;
 * - ModifyTask moves a task to the other destination: its next session goes there;
 * - ModifyDestination moves that destination to the first ingest: the next session
 *   goes there, and the sender no destination names any more stops (relay metrics) and
 *   its ingest sees the connection close;
 * - RemoveDestination of a destination no task uses leaves the shared sender running;
 * - a fixed route (x2x3.address) sends everything to one ingest whatever the
 *   destination says.
 * Sessions are reserved and released over the control API: each gives the task a
 * "session-reserved" and a "session-released" X2 event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "li_config.h"
#include "li_err.h"
#include "relay_util.h"
#include "x1_client.h"
#include "x2x3_pdu.h"
#include "x2x3_util.h"

static const uint8_t XID_ALICE[16] = { 0x7e, 0x1a, 0x90, 0x03, 0x22, 0x33, 0x44, 0x55,
                                       0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0x0a };
static const uint8_t XID_BOB[16] = { 0x7e, 0x1a, 0x90, 0x03, 0x22, 0x33, 0x44, 0x55,
                                     0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0x0b };
static const uint8_t XID_CAROL[16] = { 0x7e, 0x1a, 0x90, 0x03, 0x22, 0x33, 0x44, 0x55,
                                       0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0x0c };
static const uint8_t DID_A[16] = { 0xd3, 0xd3, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 0xa };
static const uint8_t DID_B[16] = { 0xd3, 0xd3, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 0xb };
static const uint8_t DID_C[16] = { 0xd3, 0xd3, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 0xc };

static char ue_fp[128];

/* Reserves a session of target and releases it. */
static void session(const rt_relay *r, const char *target)
{
    char body[1024], resp[4096], id[128], path[256];
    snprintf(body, sizeof body,
             "{\"ue\":{\"fingerprint\":\"%s\",\"path\":\"msrps://127.0.0.1:7/ue;tcp\"},"
             "\"network\":{\"next_hop\":\"msrp://127.0.0.1:9/net;tcp\"},"
             "\"target\":\"%s\"}", ue_fp, target);
    RT_CHECK(rt_http(r->control, "POST", "/v1/sessions", body, resp, sizeof resp) == 201,
             "reserve: %s", resp);
    rt_json_str(resp, "session", id, sizeof id);
    RT_CHECK(id[0], "no session in %s", resp);
    snprintf(path, sizeof path, "/v1/sessions/%s", id);
    int st = rt_http(r->control, "DELETE", path, NULL, resp, sizeof resp);
    RT_CHECK(st == 204, "release: %d %s", st, resp);
}

/* The relay's /metrics over mutual TLS (its X2/X3 series are shown to the operator's
 * monitoring only), the ingests' over plain HTTP. */
static uint16_t relay_metrics_port;

static long long metric(uint16_t port, const char *series)
{
    char text[32768];
    int st = port == relay_metrics_port
           ? x2x3t_https_get(port, "/metrics", rt_pki(), "monitoring", text, sizeof text)
           : x2x3t_http_get(port, "/metrics", text, sizeof text);
    return st == 200 ? x2x3t_metric(text, series) : -1;
}

/* Waits until the metric equals want; returns its last value. */
static long long await_metric(uint16_t port, const char *series, long long want)
{
    long long v = -1;
    for (int i = 0; i < 200 && (v = metric(port, series)) != want; i++)
        usleep(50000);
    return v;
}

#define X2_PDUS "limf_ingest_pdus_total{type=\"x2\"}"

/* The relay's per-destination series for the ingest on port. */
static const char *dest_series(const char *what, uint16_t port)
{
    static char s[2][160];
    static int k;
    k ^= 1;
    snprintf(s[k], sizeof s[k], "limf_relay_x2x3_destination_%s{address=\"127.0.0.1:%u\"}",
             what, port);
    return s[k];
}

/* Records per (ingest, task) in Kafka, each (sequence, correlation, event) once. */
typedef struct tally {
    size_t alice_a, alice_b, bob_a, bob_b, carol_a, carol_b, other;
    char keys[64][96];
    size_t n_keys;
} tally;

static void on_record(const Limf__XPdu *x, void *ctx)
{
    tally *t = ctx;
    char json[1024], ev[64], key[96];
    snprintf(json, sizeof json, "%.*s", (int)x->payload.len, (const char *)x->payload.data);
    rt_json_str(json, "limf_event", ev, sizeof ev);
    uint64_t corr = 0;
    for (size_t i = 0; i < x->correlation_id.len && i < 8; i++)
        corr = corr << 8 | x->correlation_id.data[i];
    snprintf(key, sizeof key, "%s/%llx/%s", x->ingest_id ? x->ingest_id : "",
             (unsigned long long)corr, ev);
    for (size_t i = 0; i < t->n_keys; i++)
        if (strcmp(t->keys[i], key) == 0)
            return;   /* a resent copy */
    if (t->n_keys < 64)
        snprintf(t->keys[t->n_keys++], sizeof t->keys[0], "%s", key);
    int a = x->ingest_id && strcmp(x->ingest_id, "ingest-a") == 0;
    int b = x->ingest_id && strcmp(x->ingest_id, "ingest-b") == 0;
    int alice = x->xid.len == 16 && memcmp(x->xid.data, XID_ALICE, 16) == 0;
    int bob = x->xid.len == 16 && memcmp(x->xid.data, XID_BOB, 16) == 0;
    int carol = x->xid.len == 16 && memcmp(x->xid.data, XID_CAROL, 16) == 0;
    if (x->pdu_type != X2X3_PDU_X2 || (!a && !b) || (!alice && !bob && !carol))
        t->other++;
    else if (alice)
        *(a ? &t->alice_a : &t->alice_b) += 1;
    else if (bob)
        *(a ? &t->bob_a : &t->bob_b) += 1;
    else
        *(a ? &t->carol_a : &t->carol_b) += 1;
}

int main(void)
{
    rt_init("routes");
    x2x3t_ingest a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    const char *ia[] = { "ingest.id=ingest-a", NULL }, *ib[] = { "ingest.id=ingest-b", NULL };
    x2x3t_ingest_start(&a, 0, ia);
    rt_adopt(a.pid);
    x2x3t_ingest_start(&b, 0, ib);
    rt_adopt(b.pid);
    rt_ue_cert("ue", ue_fp, sizeof ue_fp);

    /* Routed by destination: no x2x3.address. */
    rt_relay r;
    char mconf[2048];
    snprintf(mconf, sizeof mconf, "[relay]\nmetrics.listen = 127.0.0.1:0\n"
             "metrics.tls.cert = %s/relay-agw.pem\nmetrics.tls.key = %s/relay-agw.key\n"
             "metrics.tls.ca = %s/ca.pem\n", rt_pki(), rt_pki(), rt_pki());
    rt_relay_start(&r, "relay", 1, 0, mconf);
    relay_metrics_port = r.metrics_port;
    char plain[32768];
    RT_CHECK(x2x3t_http_get(r.metrics_port, "/metrics", plain, sizeof plain) == -1,
             "the relay's /metrics answered plain HTTP");
    rt_x1_task(r.x1_port, XID_ALICE, DID_A, a.port, "sip-uri", "sip:alice@example.com",
               X1_DELIVERY_X2_AND_X3);
    rt_x1_task(r.x1_port, XID_BOB, DID_B, b.port, "sip-uri", "sip:bob@example.com",
               X1_DELIVERY_X2_AND_X3);
    RT_CHECK(metric(r.metrics_port, "limf_relay_x2x3_destinations") == 2,
             "two destinations, two senders");
    session(&r, "sip:alice@example.com");
    session(&r, "sip:bob@example.com");
    RT_CHECK(await_metric(a.metrics_port, X2_PDUS, 2) == 2, "ingest A: alice's 2 events");
    RT_CHECK(await_metric(b.metrics_port, X2_PDUS, 2) == 2, "ingest B: bob's 2 events");
    RT_CHECK(await_metric(r.metrics_port, dest_series("connected", a.port), 1) == 1 &&
                 await_metric(r.metrics_port, dest_series("connected", b.port), 1) == 1 &&
                 await_metric(r.metrics_port, dest_series("acked_pdus_total", b.port), 2) == 2,
             "per-destination series of the relay");

    /* carol's task names both destinations: her events go to both ingests. */
    li_config *cfg;
    x1_client *c = rt_x1_client(&cfg);
    char url[128], err[512];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/X1/NE", r.x1_port);
    x1_task t;
    uint8_t both[2][16];
    memcpy(both[0], DID_A, 16);
    memcpy(both[1], DID_B, 16);
    rt_task(&t, XID_CAROL, "sip-uri", "sip:carol@example.com", X1_DELIVERY_X2_ONLY,
            (const uint8_t (*)[16])both, 2);
    RT_CHECK(x1_client_activate(c, url, "relay-test", &t, err, sizeof err) == LI_OK,
             "ActivateTask with two DIDs: %s", err);
    session(&r, "sip:carol@example.com");
    RT_CHECK(await_metric(a.metrics_port, X2_PDUS, 4) == 4 &&
                 await_metric(b.metrics_port, X2_PDUS, 4) == 4,
             "carol's 2 events at each ingest");
    RT_CHECK(x1_client_deactivate(c, url, "relay-test", XID_CAROL, err, sizeof err) == LI_OK,
             "DeactivateTask: %s", err);

    /* ModifyTask: alice's task now names bob's destination. */
    rt_task(&t, XID_ALICE, "sip-uri", "sip:alice@example.com", X1_DELIVERY_X2_AND_X3,
            (const uint8_t (*)[16])DID_B, 1);
    RT_CHECK(x1_client_modify(c, url, "relay-test", &t, err, sizeof err) == LI_OK,
             "ModifyTask: %s", err);
    session(&r, "sip:alice@example.com");
    RT_CHECK(await_metric(b.metrics_port, X2_PDUS, 6) == 6, "ingest B: alice's 2 more events");

    /* ModifyDestination: B now delivers to ingest A; B's sender has nothing left to do. */
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", a.port);
    RT_CHECK(x1_client_modify_destination(c, url, "relay-test", DID_B, addr,
                                          X1_DELIVERY_X2_AND_X3, err, sizeof err) == LI_OK,
             "ModifyDestination: %s", err);
    session(&r, "sip:alice@example.com");
    RT_CHECK(await_metric(a.metrics_port, X2_PDUS, 6) == 6, "ingest A: alice's 2 more events");
    RT_CHECK(await_metric(r.metrics_port, "limf_relay_x2x3_destinations", 1) == 1,
             "the sender to ingest B still runs");
    RT_CHECK(await_metric(b.metrics_port, "limf_ingest_connections", 0) == 0,
             "ingest B still has the relay connected");
    RT_CHECK(metric(r.metrics_port, dest_series("connected", b.port)) == -1,
             "a series for the stopped sender");

    /* Destination A is named by no task: removed; its address's sender serves B. */
    RT_CHECK(x1_client_remove_destination(c, url, "relay-test", DID_A, err, sizeof err) ==
                 LI_OK, "RemoveDestination: %s", err);
    session(&r, "sip:alice@example.com");
    RT_CHECK(await_metric(a.metrics_port, X2_PDUS, 8) == 8, "ingest A: alice's 2 more events");
    RT_CHECK(metric(r.metrics_port, "limf_relay_x2x3_destinations") == 1, "senders");
    RT_CHECK(metric(b.metrics_port, X2_PDUS) == 6, "ingest B got more than its 6");
    RT_CHECK(metric(r.metrics_port, "limf_relay_x2x3_unrouted_total") == 0, "unrouted records");
    x1_client_free(c);
    li_config_free(cfg);
    RT_CHECK(rt_relay_stop(&r) == 0, "relay exit (see %s)", r.log);

    /* A fixed route: everything to ingest A, although the destination says B. */
    rt_relay fixed;
    rt_relay_start(&fixed, "fixed", 1, a.port, NULL);
    rt_x1_task(fixed.x1_port, XID_ALICE, DID_C, b.port, "sip-uri", "sip:alice@example.com",
               X1_DELIVERY_X2_AND_X3);
    session(&fixed, "sip:alice@example.com");
    RT_CHECK(await_metric(a.metrics_port, X2_PDUS, 10) == 10, "fixed route: ingest A");
    RT_CHECK(rt_relay_stop(&fixed) == 0, "relay exit (see %s)", fixed.log);
    RT_CHECK(metric(b.metrics_port, X2_PDUS) == 6, "fixed route: ingest B got records");

    /* What Kafka holds says the same, per ingest and task. */
    tally k;
    memset(&k, 0, sizeof k);
    x2x3t_consume(16, 30, 2000, on_record, &k);
    RT_CHECK(k.alice_a == 8 && k.alice_b == 2 && k.bob_a == 0 && k.bob_b == 2 &&
                 k.carol_a == 2 && k.carol_b == 2 && k.other == 0,
             "Kafka: alice A %zu B %zu, bob A %zu B %zu, carol A %zu B %zu, other %zu",
             k.alice_a, k.alice_b, k.bob_a, k.bob_b, k.carol_a, k.carol_b, k.other);
    x2x3t_ingest_stop(&a, 15);
    rt_disown(a.pid);
    x2x3t_ingest_stop(&b, 15);
    rt_disown(b.pid);
    rt_done();
    printf("relay_routes: X2/X3 went to each task's destination, followed ModifyTask, "
           "ModifyDestination and RemoveDestination, and the fixed route\n");
    return 0;
}
