/* The POI's router (x2x3_router.h) with the real NE library tasked by the real X1
 * client over mutual TLS, and three in-process ingests that answer keepalives
 * (x2x3_test_ingest.h): records go to the sender of their DID's delivery address,
 * destinations sharing an address share a sender, a task's several destinations get
 * what their deliveryType accepts, a removed destination's sender stops
 * and disconnects, max_destinations bounds the senders, unknown DIDs are counted, and a
 * fixed route overrides the destinations. Runs under ASan/UBSan in CI, which watches
 * the X1 threads, the router's thread and the senders' threads meet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "li_time.h"
#include "x1_client.h"
#include "x1_ne.h"
#include "x2x3_router.h"
#include "x2x3_test_ingest.h"

static char dir[64];
static x1_ne *ne;
static x1_client *admf;
static char url[128];

/* --- three ingests that acknowledge everything --- */

/* ing[2] presents a certificate that names only elsewhere.example. */
static x2x3_test_ingest ing[3];

/* Waits up to 5 s for the ingest's PDU count to be exactly want. */
static int await_pdus(x2x3_test_ingest *g, size_t want)
{
    return x2x3_test_ingest_wait(g, &g->pdus, want, 1, 5000);
}

static size_t pdus(x2x3_test_ingest *g)
{
    return x2x3_test_ingest_get(g, &g->pdus);
}

/* --- the POI side --- */

static const uint8_t DID_A[16] = { 0xda, 1 }, DID_B[16] = { 0xdb, 2 },
                     DID_C[16] = { 0xdc, 3 }, DID_D[16] = { 0xdd, 4 },
                     DID_NONE[16] = { 0xee, 5 };

static void destination_for(const uint8_t did[16], uint16_t port, x1_delivery delivery)
{
    char addr[64], err[512];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    assert_int_equal(x1_client_create_destination(admf, url, "poi-1", did, addr, delivery,
                                                  err, sizeof err), LI_OK);
}

static void destination(const uint8_t did[16], uint16_t port)
{
    destination_for(did, port, X1_DELIVERY_X2_AND_X3);
}

/* <prefix>.cert/.key/.ca: the test PKI's certificate of role, trusting its CA. */
static void set_tls(li_config *cfg, const char *prefix, const char *role)
{
    static const char *const keys[3] = { "cert", "key", "ca" };
    for (int i = 0; i < 3; i++) {
        char key[64], v[128];
        snprintf(key, sizeof key, "%s.%s", prefix, keys[i]);
        if (i < 2)
            snprintf(v, sizeof v, "%s/%s.%s", dir, role, i ? "key" : "pem");
        else
            snprintf(v, sizeof v, "%s/ca.pem", dir);
        li_config_set(cfg, key, v);
    }
}

static li_config *poi_config(const char *fixed, const char *max_destinations)
{
    li_config *cfg = li_config_new();
    set_tls(cfg, "x2x3.tls", "poi-test");
    li_config_set(cfg, "x2x3.ack_interval_ms", "5");
    li_config_set(cfg, "x2x3.reconnect_max_s", "1");
    li_config_set(cfg, "x2x3.buffer_bytes", "1048576");
    if (fixed)
        li_config_set(cfg, "x2x3.address", fixed);
    if (max_destinations)
        li_config_set(cfg, "x2x3.max_destinations", max_destinations);
    return cfg;
}

/* An X2 (SIP) or X3 (MSRP) record of a task with these destinations. */
static li_err send_x(x2x3_router *r, uint16_t type, const uint8_t (*dids)[16], size_t n)
{
    static const char sip[] = "MESSAGE sip:b@example.org SIP/2.0\r\n\r\n";
    static const char msrp[] = "MSRP a1 SEND\r\nTo-Path: msrp://b\r\n-------a1$\r\n";
    x2x3_record rec;
    memset(&rec, 0, sizeof rec);
    rec.pdu_type = type;
    rec.payload_format = type == X2X3_PDU_X2 ? X2X3_FORMAT_SIP : X2X3_FORMAT_MSRP;
    rec.payload_direction = X2X3_DIR_TO_TARGET;
    memcpy(rec.xid, dids[0], 16);
    rec.payload = (const uint8_t *)(type == X2X3_PDU_X2 ? sip : msrp);
    rec.payload_len = type == X2X3_PDU_X2 ? sizeof sip - 1 : sizeof msrp - 1;
    return x2x3_router_send(r, dids, n, &rec);
}

static li_err send_to(x2x3_router *r, const uint8_t did[16])
{
    return send_x(r, X2X3_PDU_X2, (const uint8_t (*)[16])did, 1);
}

static size_t senders(x2x3_router *r)
{
    x2x3_router_stats st;
    x2x3_router_stats_get(r, &st);
    return st.senders;
}

static int await_senders(x2x3_router *r, size_t want)
{
    for (int i = 0; i < 500 && senders(r) != want; i++)
        usleep(10000);
    return senders(r) == want;
}

static void test_routes_follow_destinations(void **state)
{
    (void)state;
    char err[512];
    li_config *cfg = poi_config(NULL, "3");
    x2x3_router *r = x2x3_router_new(cfg, "x2x3", ne, err, sizeof err);
    li_config_free(cfg);   /* the router keeps its own copy */
    assert_non_null(r);
    assert_int_equal(senders(r), 0);

    /* Two destinations, two ingests: each DID's records reach its own. */
    destination(DID_A, ing[0].port);
    destination(DID_B, ing[1].port);
    assert_int_equal(senders(r), 2);   /* started before the NE answered */
    for (int i = 0; i < 10; i++)
        assert_int_equal(send_to(r, DID_A), LI_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(send_to(r, DID_B), LI_OK);
    assert_int_equal(x2x3_router_flush(r, 5000), LI_OK);
    assert_true(await_pdus(&ing[0], 10));
    assert_true(await_pdus(&ing[1], 5));

    /* A third destination at A's address shares A's sender (and connection). */
    destination(DID_C, ing[0].port);
    assert_int_equal(senders(r), 2);
    assert_int_equal(send_to(r, DID_C), LI_OK);
    assert_int_equal(x2x3_router_flush(r, 5000), LI_OK);
    assert_true(await_pdus(&ing[0], 11));
    assert_true(x2x3_test_ingest_wait(&ing[0], &ing[0].open, 1, 1, 5000));

    /* A DID the NE does not know: dropped and counted. */
    assert_int_equal(send_to(r, DID_NONE), LI_ERR_NOT_FOUND);

    /* Beyond max_destinations (3): the fourth address gets no sender. */
    uint16_t nobody = ing[1].port + 1;   /* any port: no sender is started for it */
    destination(DID_D, ing[1].port);     /* shares B's */
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", nobody);
    assert_int_equal(x1_client_create_destination(admf, url, "poi-1", DID_NONE, addr,
                                                  X1_DELIVERY_X2_AND_X3, err,
                                                  sizeof err), LI_OK);
    assert_int_equal(senders(r), 3);     /* A, B, and the third address */
    uint8_t did_e[16] = { 0xde, 6 };
    snprintf(addr, sizeof addr, "127.0.0.2:%u", nobody);
    assert_int_equal(x1_client_create_destination(admf, url, "poi-1", did_e, addr,
                                                  X1_DELIVERY_X2_AND_X3, err,
                                                  sizeof err), LI_OK);
    assert_int_equal(senders(r), 3);
    assert_int_equal(send_to(r, did_e), LI_ERR_NOT_FOUND);

    /* B's address loses both its destinations: its sender drains, stops, disconnects. */
    assert_int_equal(x1_client_remove_destination(admf, url, "poi-1", DID_B, err, sizeof err),
                     LI_OK);
    assert_int_equal(senders(r), 3);     /* DID_D still names it */
    assert_int_equal(x1_client_remove_destination(admf, url, "poi-1", DID_D, err, sizeof err),
                     LI_OK);
    assert_true(await_senders(r, 2));
    assert_true(x2x3_test_ingest_wait(&ing[1], &ing[1].open, 0, 1, 5000));
    assert_int_equal(send_to(r, DID_B), LI_ERR_NOT_FOUND);
    /* Room again: the destination beyond the bound gets its sender now. */
    assert_int_equal(x1_client_remove_destination(admf, url, "poi-1", did_e, err, sizeof err),
                     LI_OK);
    assert_int_equal(x1_client_create_destination(admf, url, "poi-1", did_e, addr,
                                                  X1_DELIVERY_X2_AND_X3, err,
                                                  sizeof err), LI_OK);
    assert_int_equal(senders(r), 3);

    x2x3_router_stats st;
    x2x3_router_stats_get(r, &st);
    assert_int_equal(st.unrouted, 3);
    assert_int_equal(st.x.acked_pdus, 16);
    /* One series per sender, labelled with its address. */
    li_buf m;
    li_buf_init(&m, 0);
    x2x3_router_put_metrics(r, &m, "t");
    li_buf_append(&m, "", 1);
    char want[128];
    snprintf(want, sizeof want, "t_destination_acked_pdus_total{address=\"127.0.0.1:%u\"} 11\n",
             ing[0].port);
    assert_non_null(strstr((const char *)m.data, want));
    snprintf(want, sizeof want, "t_destination_connected{address=\"127.0.0.1:%u\"}",
             ing[1].port);
    assert_null(strstr((const char *)m.data, want));   /* B's sender stopped */
    li_buf_free(&m);
    x1_ne_on_change(ne, NULL, NULL);   /* the router goes: nobody to tell */
    x2x3_router_free(r);
    for (size_t i = 0; i < 3; i++) {
        const uint8_t *d[] = { DID_A, DID_C, DID_NONE };
        assert_int_equal(x1_client_remove_destination(admf, url, "poi-1", d[i], err,
                                                      sizeof err), LI_OK);
    }
    assert_int_equal(x1_client_remove_destination(admf, url, "poi-1", did_e, err, sizeof err),
                     LI_OK);
}

/* A task with several destinations (listOfDIDs): each record goes to those whose
 * deliveryType accepts its type, once per address. */
static void test_several_destinations(void **state)
{
    (void)state;
    char err[512];
    li_config *cfg = poi_config(NULL, NULL);
    x2x3_router *r = x2x3_router_new(cfg, "x2x3", ne, err, sizeof err);
    li_config_free(cfg);
    assert_non_null(r);
    destination_for(DID_A, ing[0].port, X1_DELIVERY_X2_ONLY);
    destination_for(DID_B, ing[1].port, X1_DELIVERY_X3_ONLY);
    destination(DID_C, ing[1].port);   /* B's address, both types */
    size_t x2_0 = pdus(&ing[0]);
    size_t x3_1 = pdus(&ing[1]);
    const uint8_t ab[2][16] = { { 0xda, 1 }, { 0xdb, 2 } };
    const uint8_t bc[2][16] = { { 0xdb, 2 }, { 0xdc, 3 } };
    assert_int_equal(send_x(r, X2X3_PDU_X2, ab, 2), LI_OK);   /* to A only */
    assert_int_equal(send_x(r, X2X3_PDU_X3, ab, 2), LI_OK);   /* to B only */
    assert_int_equal(send_x(r, X2X3_PDU_X3, ab, 1), LI_ERR_NOT_FOUND);  /* A takes no X3 */
    assert_int_equal(send_x(r, X2X3_PDU_X3, bc, 2), LI_OK);   /* one copy at B's address */
    assert_int_equal(x2x3_router_flush(r, 5000), LI_OK);
    assert_true(await_pdus(&ing[0], x2_0 + 1));
    assert_true(await_pdus(&ing[1], x3_1 + 2));
    x2x3_router_stats st;
    x2x3_router_stats_get(r, &st);
    assert_int_equal(st.unrouted, 1);
    assert_int_equal(st.x.acked_pdus, 3);
    x1_ne_on_change(ne, NULL, NULL);
    x2x3_router_free(r);
    const uint8_t *d[] = { DID_A, DID_B, DID_C };
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(x1_client_remove_destination(admf, url, "poi-1", d[i], err,
                                                      sizeof err), LI_OK);
}

/* Verified by the CA, the ingest's certificate must name the address's host, or
 * x2x3.tls.peer_name. */
static void test_certificate_names(void **state)
{
    (void)state;
    char err[512];
    for (int named = 0; named < 2; named++) {
        li_config *cfg = poi_config(NULL, NULL);
        if (named)
            li_config_set(cfg, "x2x3.tls.peer_name", "elsewhere.example");
        x2x3_router *r = x2x3_router_new(cfg, "x2x3", ne, err, sizeof err);
        li_config_free(cfg);
        assert_non_null(r);
        destination(DID_A, ing[2].port);
        size_t before = pdus(&ing[2]);
        assert_int_equal(send_to(r, DID_A), LI_OK);
        if (named) {
            assert_int_equal(x2x3_router_flush(r, 5000), LI_OK);
            assert_true(await_pdus(&ing[2], before + 1));
        } else {
            /* 127.0.0.1 is not in its certificate: refused, the record waits. */
            assert_int_equal(x2x3_router_flush(r, 1500), LI_ERR_TIMEOUT);
            assert_int_equal(pdus(&ing[2]), before);
        }
        x1_ne_on_change(ne, NULL, NULL);
        x2x3_router_free(r);
        assert_int_equal(x1_client_remove_destination(admf, url, "poi-1", DID_A, err,
                                                      sizeof err), LI_OK);
    }
}

/* x2x3.address: every record to it, whatever the DID. */
static void test_fixed_route(void **state)
{
    (void)state;
    char fixed[64], err[512];
    snprintf(fixed, sizeof fixed, "127.0.0.1:%u", ing[1].port);
    li_config *cfg = poi_config(fixed, NULL);
    x2x3_router *r = x2x3_router_new(cfg, "x2x3", NULL, err, sizeof err);
    li_config_free(cfg);
    assert_non_null(r);
    size_t before = pdus(&ing[1]);
    assert_int_equal(send_to(r, DID_NONE), LI_OK);
    assert_int_equal(send_to(r, DID_A), LI_OK);
    assert_int_equal(x2x3_router_flush(r, 5000), LI_OK);
    assert_true(await_pdus(&ing[1], before + 2));
    assert_int_equal(senders(r), 1);
    x2x3_router_free(r);
}

/* Configuration errors fail the start, with the reason. */
static void test_bad_config(void **state)
{
    (void)state;
    char err[512] = "";
    li_config *cfg = poi_config(NULL, NULL);
    assert_null(x2x3_router_new(cfg, "x2x3", NULL, err, sizeof err));
    assert_non_null(strstr(err, "x2x3.address"));
    li_config_set(cfg, "x2x3.tls.cert", "/nonexistent/poi.pem");
    assert_null(x2x3_router_new(cfg, "x2x3", ne, err, sizeof err));
    assert_true(err[0]);
    li_config_free(cfg);
    cfg = poi_config(NULL, "0");
    assert_null(x2x3_router_new(cfg, "x2x3", ne, err, sizeof err));
    assert_non_null(strstr(err, "max_destinations"));
    li_config_free(cfg);
}

static int setup(void **state)
{
    (void)state;
    char cmd[1024], err[512];
    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof dir, "/tmp/limf-router-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    const char *src = getenv("LIMF_SOURCE_DIR") ? getenv("LIMF_SOURCE_DIR") : SOURCE_DIR;
    snprintf(cmd, sizeof cmd,
             "%s/deploy/pki.sh %s >/dev/null && cd %s && "
             "printf 'subjectAltName=DNS:elsewhere.example\\n' >misnamed.ext && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout misnamed.key -out misnamed.csr -subj /CN=elsewhere 2>/dev/null && "
             "openssl x509 -req -in misnamed.csr -CA ca.pem -CAkey ca.key -set_serial 7 "
             "-days 1 -out misnamed.pem -extfile misnamed.ext 2>/dev/null && "
             "chmod 600 misnamed.key", src, dir, dir);
    if (system(cmd) != 0 || x2x3_test_ingest_start(&ing[0], dir, "ingest", 1) != 0 ||
        x2x3_test_ingest_start(&ing[1], dir, "ingest", 1) != 0 ||
        x2x3_test_ingest_start(&ing[2], dir, "misnamed", 1) != 0)
        return -1;
    li_config *cfg = li_config_new();
    li_config_set(cfg, "poi.x1.listen", "127.0.0.1:0");
    set_tls(cfg, "poi.x1.tls", "poi-test");
    li_config_set(cfg, "poi.x1.ne_id", "poi-1");
    li_config_set(cfg, "poi.x1.allowed_clients", "admf");
    ne = x1_ne_new(cfg, "poi.x1", err, sizeof err);
    li_config_free(cfg);
    if (!ne) {
        print_message("x1_ne_new: %s\n", err);
        return -1;
    }
    snprintf(url, sizeof url, "https://127.0.0.1:%u/X1/NE", x1_ne_port(ne));
    cfg = li_config_new();
    set_tls(cfg, "x1.tls", "admf");
    admf = x1_client_new(cfg, "x1", err, sizeof err);
    li_config_free(cfg);
    return admf ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    x1_client_free(admf);
    x1_ne_free(ne);
    for (size_t i = 0; i < 3; i++)
        x2x3_test_ingest_stop(&ing[i]);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_follow_destinations),
        cmocka_unit_test(test_several_destinations),
        cmocka_unit_test(test_certificate_names),
        cmocka_unit_test(test_fixed_route),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
