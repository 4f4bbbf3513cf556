/* X1 round trip: the real client against the real NE library over mutual TLS on
 * loopback, with the test PKI (deploy/pki.sh): tasks, destinations, certificate
 * exceptions with expiry, ErrorResponses, refused certificates, an NE's pinned
 * certificate (x1_client_pin), raw HTTP misuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "li_config.h"
#include "li_ident.h"
#include "li_time.h"
#include "li_tls.h"
#include "x1_client.h"
#include "x1_io.h"
#include "x1_ne.h"
#include "x1_xml.h"

static char dir[256];
static x1_ne *ne;
static x1_client *admf;
static char url[128];
static li_config *ne_cfg;

/* Changes reported through x1_ne_on_change. */
static pthread_mutex_t change_lock = PTHREAD_MUTEX_INITIALIZER;
static x1_ne_change changes[64];
static size_t n_changes;

static void on_change(void *ctx, const x1_ne_change *c)
{
    assert_ptr_equal(ctx, &n_changes);
    /* The callback may use the NE (no lock is held). */
    assert_true(x1_ne_generation(ne) >= c->generation);
    pthread_mutex_lock(&change_lock);
    if (n_changes < 64)
        changes[n_changes++] = *c;
    pthread_mutex_unlock(&change_lock);
}

/* The last change of this kind, or NULL. */
static const x1_ne_change *last_change(x1_ne_change_kind kind)
{
    const x1_ne_change *found = NULL;
    pthread_mutex_lock(&change_lock);
    for (size_t i = 0; i < n_changes; i++) {
        if (changes[i].kind == kind)
            found = &changes[i];
    }
    pthread_mutex_unlock(&change_lock);
    return found;
}

static void path_of(char *out, size_t n, const char *file)
{
    snprintf(out, n, "%s/%s", dir, file);
}

static x1_client *client_as(const char *role, const char *ca)
{
    char cert[512], key[512], cafile[512], err[512];
    path_of(cert, sizeof cert, role);
    strcat(cert, ".pem");
    path_of(key, sizeof key, role);
    strcat(key, ".key");
    path_of(cafile, sizeof cafile, ca);
    li_config *cfg = li_config_new();
    li_config_set(cfg, "x1.tls.cert", cert);
    li_config_set(cfg, "x1.tls.key", key);
    li_config_set(cfg, "x1.tls.ca", cafile);
    li_config_set(cfg, "x1.admf_id", "limf-admf");
    li_config_set(cfg, "x1.timeout_ms", "3000");
    x1_client *c = x1_client_new(cfg, "x1", err, sizeof err);
    if (!c)
        print_message("x1_client_new: %s\n", err);
    li_config_free(cfg);
    return c;
}

static int setup(void **state)
{
    (void)state;
    char cmd[1024], p[512], err[512];
    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof dir, "/tmp/limf-x1-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    const char *src = getenv("LIMF_SOURCE_DIR") ? getenv("LIMF_SOURCE_DIR") : SOURCE_DIR;
    snprintf(cmd, sizeof cmd,
             "%s/deploy/pki.sh %s >/dev/null && cd %s && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout rogue.key -out rogue.pem -days 1 -subj /CN=admf "
             "-addext subjectAltName=IP:127.0.0.1 2>/dev/null && chmod 600 rogue.key",
             src, dir, dir);
    if (system(cmd) != 0)
        return -1;
    ne_cfg = li_config_new();
    li_config_set(ne_cfg, "poi.x1.listen", "127.0.0.1:0");
    path_of(p, sizeof p, "poi-test.pem");
    li_config_set(ne_cfg, "poi.x1.tls.cert", p);
    path_of(p, sizeof p, "poi-test.key");
    li_config_set(ne_cfg, "poi.x1.tls.key", p);
    path_of(p, sizeof p, "ca.pem");
    li_config_set(ne_cfg, "poi.x1.tls.ca", p);
    li_config_set(ne_cfg, "poi.x1.ne_id", "poi-1");
    li_config_set(ne_cfg, "poi.x1.admf_id", "limf-admf");
    li_config_set(ne_cfg, "poi.x1.allowed_clients", "admf");
    li_config_set(ne_cfg, "poi.x1.idle_timeout_ms", "2000");
    ne = x1_ne_new(ne_cfg, "poi.x1", err, sizeof err);
    if (!ne) {
        print_message("x1_ne_new: %s\n", err);
        return -1;
    }
    snprintf(url, sizeof url, "https://127.0.0.1:%u/X1/NE", x1_ne_port(ne));
    x1_ne_on_change(ne, on_change, &n_changes);
    admf = client_as("admf", "ca.pem");
    return admf ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    x1_client_free(admf);
    x1_ne_free(ne);
    li_config_free(ne_cfg);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const uint8_t DID[16] = { 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0x47, 0xd8,
                                 0x89, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xd0 };

static void make_task(x1_task *t, uint8_t tag, const char *sip, const char *tel)
{
    memset(t, 0, sizeof *t);
    li_uuid_random(t->xid);
    t->xid[15] = tag;
    memcpy(t->dids[0], DID, 16);
    t->n_dids = 1;
    t->delivery = X1_DELIVERY_X2_AND_X3;
    strcpy(t->targets[0].type, "sip-uri");
    strcpy(t->targets[0].value, sip);
    t->n_targets = 1;
    if (tel) {
        strcpy(t->targets[1].type, "tel-uri");
        strcpy(t->targets[1].value, tel);
        t->n_targets = 2;
    }
}

static size_t matches(const char *identity, x1_ne_match *out, size_t max)
{
    char canon[LI_IDENT_MAX];
    assert_int_equal(li_ident_canon(identity, strlen(identity), canon, sizeof canon), LI_OK);
    return x1_ne_match_identity(ne, canon, out, max);
}

static void test_tasks(void **state)
{
    (void)state;
    char err[512];
    x1_task a, b, got;
    x1_ne_match m[4];

    assert_int_equal(x1_client_ping(admf, url, "poi-1", err, sizeof err), LI_OK);
    assert_int_equal(x1_client_keepalive(admf, url, "poi-1", err, sizeof err), LI_OK);

    /* A task naming a destination the NE does not know is refused (TS 103 221-1). */
    make_task(&a, 1, "sip:Alice@Example.COM;transport=tcp", "tel:+49-30-1234");
    assert_int_equal(x1_client_activate(admf, url, "poi-1", &a, err, sizeof err),
                     LI_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "2040")); /* TS 103 221-1: DID does not exist */
    assert_int_equal(x1_ne_task_count(ne), 0);

    assert_int_equal(x1_client_create_destination(admf, url, "poi-1", DID, "127.0.0.1:4443",
                                                  X1_DELIVERY_X2_AND_X3,
                                                  err, sizeof err), LI_OK);
    assert_int_equal(x1_client_create_destination(admf, url, "poi-1", DID, "127.0.0.1:4443",
                                                  X1_DELIVERY_X2_AND_X3,
                                                  err, sizeof err), LI_ERR_CONFLICT);
    x1_destination d;
    assert_int_equal(x1_ne_get_destination(ne, DID, &d), LI_OK);
    assert_string_equal(d.address, "127.0.0.1:4443");

    uint64_t gen = x1_ne_generation(ne);
    assert_int_equal(x1_client_activate(admf, url, "poi-1", &a, err, sizeof err), LI_OK);
    assert_true(x1_ne_generation(ne) > gen);
    assert_non_null(last_change(X1_NE_TASK_ACTIVATED));
    assert_memory_equal(last_change(X1_NE_TASK_ACTIVATED)->id, a.xid, 16);
    assert_int_equal(matches("\"Alice\" <sip:alice@example.com>;tag=9", m, 4), 1);
    assert_memory_equal(m[0].xid, a.xid, 16);
    assert_int_equal(m[0].delivery, X1_DELIVERY_X2_AND_X3);
    assert_string_equal(m[0].target, "sip-uri:sip:Alice@Example.COM;transport=tcp");
    assert_int_equal(matches("tel:+49301234", m, 4), 1);
    assert_string_equal(m[0].target, "tel-uri:tel:+49-30-1234");
    assert_int_equal(matches("sip:bob@example.com", m, 4), 0);

    /* Duplicate XID, malformed target, target type limf does not intercept. */
    assert_int_equal(x1_client_activate(admf, url, "poi-1", &a, err, sizeof err),
                     LI_ERR_CONFLICT);
    assert_non_null(strstr(err, "2010")); /* XID already exists */
    make_task(&b, 2, "not an identity", NULL);
    assert_int_equal(x1_client_activate(admf, url, "poi-1", &b, err, sizeof err), LI_ERR_PROTO);
    assert_non_null(strstr(err, "1010")); /* syntax error */
    assert_int_equal(x1_ne_task_count(ne), 1);

    assert_int_equal(x1_client_get_task(admf, url, "poi-1", a.xid, &got, err, sizeof err),
                     LI_OK);
    assert_int_equal(got.n_service_types, 0); /* none provisioned, none reported */
    assert_int_equal(got.n_targets, 2);
    assert_string_equal(got.targets[0].value, a.targets[0].value);
    assert_string_equal(got.targets[1].type, "tel-uri");

    /* ModifyTask replaces the targets. */
    a.n_targets = 1;
    strcpy(a.targets[0].value, "sip:bob@example.com");
    a.delivery = X1_DELIVERY_X2_ONLY;
    gen = x1_ne_generation(ne);
    assert_int_equal(x1_client_modify(admf, url, "poi-1", &a, err, sizeof err), LI_OK);
    assert_true(x1_ne_generation(ne) > gen);
    assert_int_equal(matches("sip:alice@example.com", m, 4), 0);
    assert_int_equal(matches("tel:+49301234", m, 4), 0);
    assert_int_equal(matches("sip:BOB@example.com", m, 4), 1);
    assert_int_equal(m[0].delivery, X1_DELIVERY_X2_ONLY);
    make_task(&b, 3, "sip:carol@example.com", NULL);
    assert_int_equal(x1_client_modify(admf, url, "poi-1", &b, err, sizeof err),
                     LI_ERR_NOT_FOUND);

    /* A second task on the same person: both are reported. */
    make_task(&b, 4, "sip:bob@example.com", "tel:+4930999");
    assert_int_equal(x1_client_activate(admf, url, "poi-1", &b, err, sizeof err), LI_OK);
    assert_int_equal(matches("sip:bob@example.com", m, 4), 2);
    assert_int_equal(matches("sip:bob@example.com", m, 1), 2);

    /* Several destinations (listOfDIDs): every one must exist, and none can go while a
     * task names it. */
    static const uint8_t DID2[16] = { 0xd2, 2 };
    x1_task c;
    make_task(&c, 5, "sip:carol@example.com", NULL);
    memcpy(c.dids[1], DID2, 16);
    c.n_dids = 2;
    assert_int_equal(x1_client_activate(admf, url, "poi-1", &c, err, sizeof err),
                     LI_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "entry 2"));
    assert_int_equal(x1_client_create_destination(admf, url, "poi-1", DID2, "127.0.0.2:4443",
                                                  X1_DELIVERY_X3_ONLY, err, sizeof err), LI_OK);
    assert_int_equal(x1_ne_get_destination(ne, DID2, &d), LI_OK);
    assert_int_equal(d.delivery, X1_DELIVERY_X3_ONLY);
    /* A deliveryType its destinations cannot carry: 3040. DID2 takes X3 only, so a task
     * with X2 (alone or with X3) naming only DID2 is refused; nothing changes. */
    x1_task x3;
    make_task(&x3, 6, "sip:dave@example.com", NULL);
    memcpy(x3.dids[0], DID2, 16);
    gen = x1_ne_generation(ne);
    assert_int_equal(x1_client_activate(admf, url, "poi-1", &x3, err, sizeof err), LI_ERR_PROTO);
    assert_non_null(strstr(err, "X1 error 3040"));
    x3.delivery = X1_DELIVERY_X2_ONLY;
    assert_int_equal(x1_client_activate(admf, url, "poi-1", &x3, err, sizeof err), LI_ERR_PROTO);
    assert_non_null(strstr(err, "X1 error 3040"));
    assert_int_equal(x1_ne_generation(ne), gen);
    /* X3Only to DID2 is carried, and GetTaskDetails reports the service types as
     * provisioned: here one. */
    x3.delivery = X1_DELIVERY_X3_ONLY;
    strcpy(x3.service_types[0], "messaging");
    x3.n_service_types = 1;
    assert_int_equal(x1_client_activate(admf, url, "poi-1", &x3, err, sizeof err), LI_OK);
    assert_int_equal(x1_client_get_task(admf, url, "poi-1", x3.xid, &got, err, sizeof err),
                     LI_OK);
    assert_int_equal(got.n_service_types, 1);
    assert_string_equal(got.service_types[0], "messaging");
    /* A ModifyDestination that would leave that task uncarried is refused (6001). */
    assert_int_equal(x1_client_modify_destination(admf, url, "poi-1", DID2, "127.0.0.2:4443",
                                                  X1_DELIVERY_X2_ONLY, err, sizeof err),
                     LI_ERR_PROTO);
    assert_non_null(strstr(err, "X1 error 6001"));
    assert_int_equal(x1_client_deactivate(admf, url, "poi-1", x3.xid, err, sizeof err), LI_OK);
    assert_int_equal(x1_client_activate(admf, url, "poi-1", &c, err, sizeof err), LI_OK);
    assert_int_equal(matches("sip:carol@example.com", m, 4), 1);
    assert_int_equal(m[0].n_dids, 2);
    assert_memory_equal(m[0].dids[1], DID2, 16);
    assert_int_equal(x1_client_get_task(admf, url, "poi-1", c.xid, &got, err, sizeof err),
                     LI_OK);
    assert_int_equal(got.n_dids, 2);
    assert_memory_equal(got.dids, c.dids, 32);
    assert_int_equal(x1_client_remove_destination(admf, url, "poi-1", DID2, err, sizeof err),
                     LI_ERR_PROTO);
    assert_int_equal(x1_client_deactivate(admf, url, "poi-1", c.xid, err, sizeof err), LI_OK);
    assert_int_equal(x1_client_remove_destination(admf, url, "poi-1", DID2, err, sizeof err),
                     LI_OK);

    uint8_t xids[4][16];
    size_t n = 0;
    assert_int_equal(x1_client_list_tasks(admf, url, "poi-1", xids, 4, &n, err, sizeof err),
                     LI_OK);
    assert_int_equal(n, 2);
    assert_true((memcmp(xids[0], a.xid, 16) == 0 && memcmp(xids[1], b.xid, 16) == 0) ||
                (memcmp(xids[0], b.xid, 16) == 0 && memcmp(xids[1], a.xid, 16) == 0));
    assert_int_equal(x1_client_list_tasks(admf, url, "poi-1", xids, 1, &n, err, sizeof err),
                     LI_OK);
    assert_int_equal(n, 2);

    /* The destination cannot go while tasks use it. */
    assert_int_equal(x1_client_remove_destination(admf, url, "poi-1", DID, err, sizeof err),
                     LI_ERR_PROTO);
    assert_non_null(strstr(err, "7010")); /* destination in use */

    assert_int_equal(x1_client_deactivate(admf, url, "poi-1", a.xid, err, sizeof err), LI_OK);
    assert_memory_equal(last_change(X1_NE_TASK_DEACTIVATED)->id, a.xid, 16);
    assert_int_equal(x1_client_deactivate(admf, url, "poi-1", a.xid, err, sizeof err),
                     LI_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "2020")); /* XID does not exist */
    assert_int_equal(x1_client_get_task(admf, url, "poi-1", a.xid, &got, err, sizeof err),
                     LI_ERR_NOT_FOUND);
    assert_int_equal(matches("sip:bob@example.com", m, 4), 1);
    assert_memory_equal(m[0].xid, b.xid, 16);
    assert_int_equal(x1_client_deactivate(admf, url, "poi-1", b.xid, err, sizeof err), LI_OK);
    assert_int_equal(matches("sip:bob@example.com", m, 4), 0);
    assert_int_equal(x1_client_list_tasks(admf, url, "poi-1", xids, 4, &n, err, sizeof err),
                     LI_OK);
    assert_int_equal(n, 0);
    assert_int_equal(x1_client_remove_destination(admf, url, "poi-1", DID, err, sizeof err),
                     LI_OK);
    assert_int_equal(x1_client_remove_destination(admf, url, "poi-1", DID, err, sizeof err),
                     LI_ERR_NOT_FOUND);

    /* A request for another NE, or from an unexpected ADMF identifier. */
    assert_int_equal(x1_client_ping(admf, url, "poi-2", err, sizeof err), LI_ERR_PROTO);
    assert_non_null(strstr(err, "another NE"));
}

static void test_exceptions_expire(void **state)
{
    (void)state;
    char err[512];
    x1_cert_exception e, got;
    memset(&e, 0, sizeof e);
    strcpy(e.id, "0f8fad5b-d9cb-469f-a165-70867728950e");
    for (int i = 0; i < 32; i++)
        e.fingerprint[i] = (uint8_t)(0xa0 + i);
    strcpy(e.peer, "conf.example.net");
    e.expires_ms = (int64_t)(li_now_ns() / 1000000) + 1500;
    uint8_t other[32] = { 1 };

    /* Already expired: refused. */
    x1_cert_exception old = e;
    old.expires_ms -= 10000;
    assert_int_equal(x1_client_create_exception(admf, url, "poi-1", &old, err, sizeof err),
                     LI_ERR_PROTO);

    assert_int_equal(x1_client_create_exception(admf, url, "poi-1", &e, err, sizeof err), LI_OK);
    assert_int_equal(x1_client_create_exception(admf, url, "poi-1", &e, err, sizeof err),
                     LI_ERR_CONFLICT);
    assert_int_equal(x1_ne_find_exception(ne, e.fingerprint, "Conf.Example.NET", &got), 1);
    assert_string_equal(got.id, e.id);
    assert_int_equal(got.expires_ms, e.expires_ms);
    assert_int_equal(x1_ne_find_exception(ne, e.fingerprint, NULL, NULL), 1);
    assert_int_equal(x1_ne_find_exception(ne, NULL, "conf.example.net", NULL), 1);
    assert_int_equal(x1_ne_find_exception(ne, other, "conf.example.net", NULL), 0);
    assert_int_equal(x1_ne_find_exception(ne, e.fingerprint, "evil.example.net", NULL), 0);
    assert_int_equal(x1_ne_find_exception(ne, NULL, NULL, NULL), 0);

    /* It expires by itself: no request needed, and the generation moves. */
    uint64_t gen = x1_ne_generation(ne);
    uint64_t give_up = li_mono_ns() + 5000000000ull;
    while (x1_ne_generation(ne) == gen && li_mono_ns() < give_up)
        usleep(50000);
    assert_true(x1_ne_generation(ne) > gen);
    assert_int_equal(x1_ne_find_exception(ne, e.fingerprint, "conf.example.net", NULL), 0);
    give_up = li_mono_ns() + 2000000000ull;
    while (!last_change(X1_NE_EXCEPTION_EXPIRED) && li_mono_ns() < give_up)
        usleep(20000);
    assert_non_null(last_change(X1_NE_EXCEPTION_EXPIRED));
    assert_string_equal(last_change(X1_NE_EXCEPTION_EXPIRED)->object_id, e.id);
    assert_int_equal(x1_client_delete_exception(admf, url, "poi-1", e.id, err, sizeof err),
                     LI_ERR_NOT_FOUND);

    /* Delete before expiry. */
    e.expires_ms = (int64_t)(li_now_ns() / 1000000) + 600000;
    assert_int_equal(x1_client_create_exception(admf, url, "poi-1", &e, err, sizeof err), LI_OK);
    assert_int_equal(x1_ne_find_exception(ne, e.fingerprint, NULL, NULL), 1);
    assert_int_equal(x1_client_delete_exception(admf, url, "poi-1", e.id, err, sizeof err), LI_OK);
    assert_int_equal(x1_ne_find_exception(ne, e.fingerprint, NULL, NULL), 0);
}

static void test_refused_peers(void **state)
{
    (void)state;
    char err[512];
    /* A certificate of the CA but not of the ADMF (allowed_clients = admf). */
    x1_client *poi = client_as("siptap", "ca.pem");
    assert_non_null(poi);
    li_err r = x1_client_ping(poi, url, "poi-1", err, sizeof err);
    print_message("siptap as ADMF: %s (%s)\n", li_err_str(r), err);
    assert_int_equal(r, LI_ERR_PROTO);
    assert_non_null(strstr(err, "HTTP 403"));
    x1_client_free(poi);

    /* Issue 15 item 1, as an attacker holding an agency's LEMF certificate (the same
     * CA): reading every task (GetAllDetails/ListAllDetails), planting a destination and
     * tasking a subscriber are all refused with 403, and nothing changes at the NE. */
    x1_client *lemf = client_as("lemf", "ca.pem");
    assert_non_null(lemf);
    x1_ne_stats before, after;
    x1_ne_stats_get(ne, &before);
    uint64_t gen = x1_ne_generation(ne);
    uint8_t xids[4][16];
    size_t n_listed = 99;
    static const uint8_t EVIL_DID[16] = { 0xe7, 0x11 };
    x1_task evil;
    make_task(&evil, 9, "sip:victim@example.com", NULL);
    x1_ne_match m[2];
    assert_int_equal(x1_client_list_tasks(lemf, url, "poi-1", xids, 4, &n_listed, err,
                                          sizeof err), LI_ERR_PROTO);
    assert_non_null(strstr(err, "HTTP 403"));
    assert_int_equal(n_listed, 0);
    assert_int_equal(x1_client_create_destination(lemf, url, "poi-1", EVIL_DID,
                                                  "127.0.0.1:9", X1_DELIVERY_X2_AND_X3, err,
                                                  sizeof err), LI_ERR_PROTO);
    assert_non_null(strstr(err, "HTTP 403"));
    assert_int_equal(x1_client_activate(lemf, url, "poi-1", &evil, err, sizeof err),
                     LI_ERR_PROTO);
    assert_non_null(strstr(err, "HTTP 403"));
    x1_ne_stats_get(ne, &after);
    assert_int_equal(x1_ne_generation(ne), gen);
    assert_int_equal(after.messages, before.messages); /* not one request was read */
    assert_int_equal(after.refused_clients, before.refused_clients + 3);
    assert_int_equal(after.tasks, before.tasks);
    assert_int_equal(after.destinations, before.destinations);
    x1_destination got_dest;
    assert_int_equal(x1_ne_get_destination(ne, EVIL_DID, &got_dest), LI_ERR_NOT_FOUND);
    assert_int_equal(matches("sip:victim@example.com", m, 2), 0);
    x1_client_free(lemf);

    /* A self-signed certificate claiming to be the ADMF. */
    x1_client *rogue = client_as("rogue", "ca.pem");
    assert_non_null(rogue);
    r = x1_client_ping(rogue, url, "poi-1", err, sizeof err);
    print_message("rogue: %s (%s)\n", li_err_str(r), err);
    assert_true(r == LI_ERR_TLS || r == LI_ERR_IO);
    x1_client_free(rogue);

    /* The ADMF refuses an NE its CA did not sign. */
    x1_client *strict = client_as("admf", "rogue.pem");
    assert_non_null(strict);
    r = x1_client_ping(strict, url, "poi-1", err, sizeof err);
    assert_int_equal(r, LI_ERR_TLS);
    assert_non_null(strstr(err, "TLS handshake"));
    x1_client_free(strict);

    /* Nobody listening: retry later. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    char dead[128];
    snprintf(dead, sizeof dead, "https://127.0.0.1:%u/X1/NE", ntohs(sa.sin_port));
    assert_int_equal(x1_client_ping(admf, dead, "poi-1", err, sizeof err), LI_ERR_IO);
    close(fd);
    assert_int_equal(x1_client_ping(admf, "http://127.0.0.1/X1/NE", "poi-1", err, sizeof err),
                     LI_ERR_INVAL);
    assert_int_equal(x1_client_ping(admf, NULL, "poi-1", err, sizeof err), LI_ERR_INVAL);
    assert_int_equal(x1_client_ping(admf, url, NULL, NULL, 0), LI_ERR_INVAL);
    assert_int_equal(x1_client_ping(admf, "https://[::1/X1/NE", "poi-1", err, sizeof err),
                     LI_ERR_INVAL);

    /* The ADMF still works after all that. */
    assert_int_equal(x1_client_ping(admf, url, "poi-1", err, sizeof err), LI_OK);
    x1_ne_stats st;
    x1_ne_stats_get(ne, &st);
    assert_true(st.tls_failures >= 2); /* the rogue client and the strict ADMF */
    assert_int_equal(st.refused_clients, 4); /* siptap's once, the LEMF's three times */
    assert_true(st.messages > 20);
    assert_true(st.error_responses >= 8);
}

/* Issue 15 item 1: an NE whose trust would admit any certificate of its CA does not
 * start; the ADMF is pinned by name (allowed_clients) or by fingerprint alone. */
static void test_admf_must_be_pinned(void **state)
{
    (void)state;
    char err[512], p[512], fp_hex[65];
    uint8_t fp[32];
    const char *keys[] = { "poi.x1.tls.cert", "poi.x1.tls.key" };
    li_config *cfg = li_config_new();
    for (size_t i = 0; i < 2; i++)
        li_config_set(cfg, keys[i], li_config_get(ne_cfg, keys[i], NULL));
    li_config_set(cfg, "poi.x1.ne_id", "poi-pin");
    li_config_set(cfg, "poi.x1.tls.ca", li_config_get(ne_cfg, "poi.x1.tls.ca", NULL));
    assert_null(x1_ne_new(cfg, "poi.x1", err, sizeof err));
    assert_non_null(strstr(err, "poi.x1.allowed_clients"));
    /* A pin next to the CA adds to the CA's trust, it does not narrow it. */
    path_of(p, sizeof p, "admf.pem");
    assert_int_equal(li_tls_file_fingerprint(p, fp), LI_OK);
    li_hex_encode(fp, 32, fp_hex);
    li_config_set(cfg, "poi.x1.tls.pins", fp_hex);
    assert_null(x1_ne_new(cfg, "poi.x1", err, sizeof err));
    li_config_free(cfg);

    /* The ADMF's fingerprint alone: it is served, the LEMF (same CA) is not. */
    cfg = li_config_new();
    for (size_t i = 0; i < 2; i++)
        li_config_set(cfg, keys[i], li_config_get(ne_cfg, keys[i], NULL));
    li_config_set(cfg, "poi.x1.ne_id", "poi-pin");
    li_config_set(cfg, "poi.x1.tls.pins", fp_hex);
    x1_ne *pinned = x1_ne_new(cfg, "poi.x1", err, sizeof err);
    if (!pinned)
        print_message("x1_ne_new: %s\n", err);
    assert_non_null(pinned);
    char pin_url[128];
    snprintf(pin_url, sizeof pin_url, "https://127.0.0.1:%u/X1/NE", x1_ne_port(pinned));
    assert_int_equal(x1_client_ping(admf, pin_url, "poi-pin", err, sizeof err), LI_OK);
    x1_client *lemf = client_as("lemf", "ca.pem");
    assert_non_null(lemf);
    li_err r = x1_client_ping(lemf, pin_url, "poi-pin", err, sizeof err);
    assert_true(r == LI_ERR_TLS || r == LI_ERR_IO);
    x1_ne_stats st;
    /* The NE counts the failed handshake as it sees it, maybe after the client did. */
    for (int i = 0; i < 100; i++) {
        x1_ne_stats_get(pinned, &st);
        if (st.tls_failures >= 1)
            break;
        usleep(20000);
    }
    assert_int_equal(st.messages, 1);
    assert_true(st.tls_failures >= 1);
    x1_client_free(lemf);
    x1_ne_free(pinned);
    li_config_free(cfg);
}

/* The NE's requests answered so far (x1_ne_stats.messages). */
static uint64_t ne_messages(void)
{
    x1_ne_stats st;
    x1_ne_stats_get(ne, &st);
    return st.messages;
}

/* Every request kind to poi-1 through c fails with the pin mismatch, and the NE answers
 * none of them: nothing reached it. */
static void expect_refused_by_pin(x1_client *c, const char *want_msg)
{
    x1_task t, got;
    x1_cert_exception e;
    uint8_t xids[2][16];
    size_t n = 99;
    make_task(&t, 0x61, "sip:pinned@example.com", NULL);
    memset(&e, 0, sizeof e);
    strcpy(e.id, "pin-exc");
    e.fingerprint[0] = 1;
    strcpy(e.peer, "conf.example.net");
    e.expires_ms = (int64_t)(li_now_ns() / 1000000) + 60000;
    uint64_t before = ne_messages();
    size_t tasks = x1_ne_task_count(ne);
    li_err r[11];
    char errs[11][512];
    r[0] = x1_client_ping(c, url, "poi-1", errs[0], sizeof errs[0]);
    r[1] = x1_client_keepalive(c, url, "poi-1", errs[1], sizeof errs[1]);
    r[2] = x1_client_create_destination(c, url, "poi-1", DID, "127.0.0.1:4443",
                                        X1_DELIVERY_X2_AND_X3, errs[2],
                                        sizeof errs[2]);
    r[3] = x1_client_activate(c, url, "poi-1", &t, errs[3], sizeof errs[3]);
    r[4] = x1_client_modify(c, url, "poi-1", &t, errs[4], sizeof errs[4]);
    r[5] = x1_client_deactivate(c, url, "poi-1", t.xid, errs[5], sizeof errs[5]);
    r[6] = x1_client_list_tasks(c, url, "poi-1", xids, 2, &n, errs[6], sizeof errs[6]);
    r[7] = x1_client_get_task(c, url, "poi-1", t.xid, &got, errs[7], sizeof errs[7]);
    r[8] = x1_client_create_exception(c, url, "poi-1", &e, errs[8], sizeof errs[8]);
    r[9] = x1_client_delete_exception(c, url, "poi-1", e.id, errs[9], sizeof errs[9]);
    r[10] = x1_client_remove_destination(c, url, "poi-1", DID, errs[10], sizeof errs[10]);
    for (size_t i = 0; i < 11; i++) {
        if (r[i] != LI_ERR_TLS || strcmp(errs[i], want_msg) != 0)
            print_message("request %zu: %s (%s)\n", i, li_err_str(r[i]), errs[i]);
        assert_int_equal(r[i], LI_ERR_TLS);
        assert_string_equal(errs[i], want_msg);
    }
    assert_int_equal(n, 0);
    assert_int_equal(ne_messages(), before);
    assert_int_equal(x1_ne_task_count(ne), tasks);
    assert_int_equal(x1_ne_get_task(ne, t.xid, &got), LI_ERR_NOT_FOUND);
    x1_destination d;
    assert_int_equal(x1_ne_get_destination(ne, DID, &d), LI_ERR_NOT_FOUND);
    assert_int_equal(x1_ne_find_exception(ne, e.fingerprint, NULL, NULL), 0);
}

/* The ADMF's pin of a POI's registered certificate (x1_client_pin): checked after the
 * handshake, before anything is sent, in addition to the CA and the name. */
static void test_pinned_certificate(void **state)
{
    (void)state;
    char err[512], p[512], want_msg[512], right_text[96], wrong_text[96];
    uint8_t right[32], wrong[32];
    x1_task t, got;
    path_of(p, sizeof p, "poi-test.pem"); /* the NE's certificate */
    assert_int_equal(li_tls_file_fingerprint(p, right), LI_OK);
    path_of(p, sizeof p, "siptap.pem");   /* signed by the same CA, another NE's */
    assert_int_equal(li_tls_file_fingerprint(p, wrong), LI_OK);
    assert_memory_not_equal(right, wrong, 32);
    li_tls_fingerprint_format(right, right_text);
    li_tls_fingerprint_format(wrong, wrong_text);
    snprintf(want_msg, sizeof want_msg,
             "certificate of poi-1 does not match its registered cert_sha256: got %s, want %s",
             right_text, wrong_text);

    x1_client *c = client_as("admf", "ca.pem");
    assert_non_null(c);
    assert_int_equal(x1_client_pin(c, NULL, right), LI_ERR_INVAL);
    assert_int_equal(x1_client_pin(NULL, "poi-1", right), LI_ERR_INVAL);

    /* The right fingerprint: every request goes through as without a pin. */
    assert_int_equal(x1_client_pin(c, "poi-1", right), LI_OK);
    uint64_t before = ne_messages();
    assert_int_equal(x1_client_ping(c, url, "poi-1", err, sizeof err), LI_OK);
    assert_int_equal(x1_client_create_destination(c, url, "poi-1", DID, "127.0.0.1:4443",
                                                  X1_DELIVERY_X2_AND_X3, err,
                                                  sizeof err), LI_OK);
    make_task(&t, 0x60, "sip:pinned@example.com", NULL);
    assert_int_equal(x1_client_activate(c, url, "poi-1", &t, err, sizeof err), LI_OK);
    assert_int_equal(x1_ne_get_task(ne, t.xid, &got), LI_OK);
    assert_int_equal(x1_client_deactivate(c, url, "poi-1", t.xid, err, sizeof err), LI_OK);
    assert_int_equal(x1_client_remove_destination(c, url, "poi-1", DID, err, sizeof err), LI_OK);
    assert_int_equal(ne_messages(), before + 5);

    /* Another NE's fingerprint: no request kind reaches the NE. */
    assert_int_equal(x1_client_pin(c, "poi-1", wrong), LI_OK);
    expect_refused_by_pin(c, want_msg);
    print_message("mismatch: %s\n", want_msg);

    /* A pin concerns the NE it names only; a client without pins is unchanged. */
    assert_int_equal(x1_client_pin(c, "poi-2", right), LI_OK);
    assert_int_equal(x1_client_ping(admf, url, "poi-1", err, sizeof err), LI_OK);

    /* Changed back (an operator's PUT): the next request already uses the new pin. */
    assert_int_equal(x1_client_pin(c, "poi-1", right), LI_OK);
    assert_int_equal(x1_client_ping(c, url, "poi-1", err, sizeof err), LI_OK);
    assert_int_equal(x1_client_pin(c, "poi-1", wrong), LI_OK);
    assert_int_equal(x1_client_ping(c, url, "poi-1", err, sizeof err), LI_ERR_TLS);
    /* Removed: CA and name only, as before. */
    assert_int_equal(x1_client_pin(c, "poi-1", NULL), LI_OK);
    assert_int_equal(x1_client_pin(c, "poi-1", NULL), LI_OK); /* absent: a no-op */
    assert_int_equal(x1_client_ping(c, url, "poi-1", err, sizeof err), LI_OK);
    x1_client_free(c);

    /* The pin is in addition to the CA, not instead: the right fingerprint does not make
     * an NE acceptable that the configured CA did not sign. */
    x1_client *strict = client_as("admf", "rogue.pem");
    assert_non_null(strict);
    assert_int_equal(x1_client_pin(strict, "poi-1", right), LI_OK);
    before = ne_messages();
    assert_int_equal(x1_client_ping(strict, url, "poi-1", err, sizeof err), LI_ERR_TLS);
    assert_non_null(strstr(err, "TLS handshake"));
    assert_int_equal(ne_messages(), before);
    x1_client_free(strict);

    /* Many pins: each NE keeps its own through growth and removals. */
    x1_client *many = client_as("admf", "ca.pem");
    assert_non_null(many);
    for (int i = 0; i < 40; i++) {
        char id[16];
        snprintf(id, sizeof id, "ne-%d", i);
        assert_int_equal(x1_client_pin(many, id, wrong), LI_OK);
    }
    assert_int_equal(x1_client_pin(many, "poi-1", right), LI_OK);
    for (int i = 0; i < 40; i += 2) {
        char id[16];
        snprintf(id, sizeof id, "ne-%d", i);
        assert_int_equal(x1_client_pin(many, id, NULL), LI_OK);
    }
    assert_int_equal(x1_client_ping(many, url, "poi-1", err, sizeof err), LI_OK);
    assert_int_equal(x1_client_pin(many, "poi-1", wrong), LI_OK);
    expect_refused_by_pin(many, want_msg);
    x1_client_free(many);
}

/* Pins change while other threads call through the same client (the ADMF's writers set
 * pins while its worker talks X1): the table grows and shrinks under the lookups. */
typedef struct pin_race {
    x1_client *c;
    const uint8_t *right, *wrong;
    atomic_int stop;
    atomic_int failures;
} pin_race;

static void *pin_churn(void *arg)
{
    pin_race *pr = arg;
    for (unsigned i = 0; !atomic_load(&pr->stop); i++) {
        char id[16];
        snprintf(id, sizeof id, "other-%u", i % 64);
        x1_client_pin(pr->c, id, i % 3 ? pr->wrong : NULL);
        x1_client_pin(pr->c, "poi-1", pr->right); /* the same pin again: no change */
    }
    return NULL;
}

static void *pin_caller(void *arg)
{
    pin_race *pr = arg;
    char err[512];
    for (int i = 0; i < 8; i++)
        if (x1_client_ping(pr->c, url, "poi-1", err, sizeof err) != LI_OK)
            atomic_fetch_add(&pr->failures, 1);
    return NULL;
}

static void test_pins_concurrent(void **state)
{
    (void)state;
    char p[512];
    uint8_t right[32], wrong[32];
    path_of(p, sizeof p, "poi-test.pem");
    assert_int_equal(li_tls_file_fingerprint(p, right), LI_OK);
    path_of(p, sizeof p, "siptap.pem");
    assert_int_equal(li_tls_file_fingerprint(p, wrong), LI_OK);
    pin_race pr = { client_as("admf", "ca.pem"), right, wrong, 0, 0 };
    assert_non_null(pr.c);
    assert_int_equal(x1_client_pin(pr.c, "poi-1", right), LI_OK);
    pthread_t churn, callers[3];
    pthread_create(&churn, NULL, pin_churn, &pr);
    for (int i = 0; i < 3; i++)
        pthread_create(&callers[i], NULL, pin_caller, &pr);
    for (int i = 0; i < 3; i++)
        pthread_join(callers[i], NULL);
    atomic_store(&pr.stop, 1);
    pthread_join(churn, NULL);
    assert_int_equal(atomic_load(&pr.failures), 0);
    x1_client_free(pr.c);
}

/* Sends one raw HTTP request over mutual TLS as the ADMF; returns the status. */
static int raw_request(const char *request, li_buf *answer)
{
    char cert[512], key[512], ca[512], err[256];
    path_of(cert, sizeof cert, "admf.pem");
    path_of(key, sizeof key, "admf.key");
    path_of(ca, sizeof ca, "ca.pem");
    li_tls_opts o = { .cert_file = cert, .key_file = key, .ca_file = ca };
    SSL_CTX *ctx = li_tls_ctx_new(&o, err, sizeof err);
    assert_non_null(ctx);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(x1_ne_port(ne)),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    li_conn c;
    uint64_t deadline = li_mono_ns() + 3000000000ull;
    li_conn_init(&c);
    assert_int_equal(li_conn_attach(&c, fd, ctx, 0), LI_OK);
    assert_int_equal(li_conn_handshake_until(&c, deadline), LI_OK);
    assert_int_equal(li_conn_send_all(&c, request, strlen(request), deadline), LI_OK);
    li_http_head h;
    size_t len;
    li_buf_reset(answer);
    assert_int_equal(x1_conn_read_message(&c, answer, 1, 1 << 20, &h, &len, deadline), LI_OK);
    li_buf_append_u8(answer, 0);
    li_conn_shutdown(&c);
    li_conn_close(&c);
    SSL_CTX_free(ctx);
    return h.status;
}

static void test_raw_http(void **state)
{
    (void)state;
    li_buf a;
    li_buf_init(&a, 0);
    assert_int_equal(raw_request("GET /X1/NE HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                                 "Connection: close\r\n\r\n", &a), 405);
    assert_int_equal(raw_request("POST /other HTTP/1.1\r\nContent-Length: 0\r\n"
                                 "Connection: close\r\n\r\n", &a), 404);
    assert_int_equal(raw_request("POST /X1/NE HTTP/1.1\r\nContent-Length: 5\r\n"
                                 "Connection: close\r\n\r\nhello", &a), 200);
    assert_non_null(strstr((const char *)a.data, "<X1TopLevelErrorResponse "));
    assert_int_equal(raw_request("POST /X1/NE HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", &a),
                     413);
    assert_int_equal(raw_request("POST /X1/NE HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                                 &a), 400);

    /* A message type limf does not implement gets an ErrorResponse naming it, and the
     * Ping in the same document is still answered. */
    char req[2048];
    const char *hdr = "<admfIdentifier>limf-admf</admfIdentifier><neIdentifier>poi-1"
                      "</neIdentifier><messageTimestamp>2026-11-27T10:00:00.123Z"
                      "</messageTimestamp><version>v1</version><x1TransactionId>"
                      "3fa85f64-5717-4562-b3fc-2c963f66afa6</x1TransactionId>";
    char body[1536];
    snprintf(body, sizeof body,
             "<q:X1Request xmlns=\"" X1_NS "\" xmlns:q=\"" X1_NS "\" xmlns:i=\"" X1_NS_XSI "\">"
             "<q:x1RequestMessage i:type=\"q:DeactivateAllTasksRequest\">%s"
             "</q:x1RequestMessage><q:x1RequestMessage i:type=\"q:PingRequest\">%s"
             "</q:x1RequestMessage></q:X1Request>",
             hdr, hdr);
    snprintf(req, sizeof req, "POST /X1/NE HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    assert_int_equal(raw_request(req, &a), 200);
    const char *text = (const char *)a.data;
    assert_non_null(strstr(text, "<requestMessageType>DeactivateAllTasks</requestMessageType>"));
    assert_non_null(strstr(text, "<errorCode>1080</errorCode>")); /* unsupported request */
    assert_non_null(strstr(text, "x1:PingResponse"));
    assert_non_null(strstr(text, "3fa85f64-5717-4562-b3fc-2c963f66afa6"));
    x1_ne_stats st;
    x1_ne_stats_get(ne, &st);
    assert_int_equal(st.bad_documents, 1);

    /* A destination's friendlyName is kept and reported (GetDestinationDetails). */
    static const char fdid[] = "fe000000-0000-4000-8000-0000000000f1";
    snprintf(body, sizeof body,
             "<X1Request xmlns=\"" X1_NS "\" xmlns:i=\"" X1_NS_XSI "\">"
             "<x1RequestMessage i:type=\"CreateDestinationRequest\">%s<destinationDetails>"
             "<dId>%s</dId><friendlyName>agency A &amp; co</friendlyName>"
             "<deliveryType>X2andX3</deliveryType><deliveryAddress><ipAddressAndPort><address>"
             "<IPv4Address>127.0.0.1</IPv4Address></address><port><TCPPort>4443</TCPPort>"
             "</port></ipAddressAndPort></deliveryAddress></destinationDetails>"
             "</x1RequestMessage><x1RequestMessage i:type=\"GetDestinationDetailsRequest\">"
             "%s<dId>%s</dId></x1RequestMessage></X1Request>",
             hdr, fdid, hdr, fdid);
    snprintf(req, sizeof req, "POST /X1/NE HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    assert_int_equal(raw_request(req, &a), 200);
    text = (const char *)a.data;
    assert_non_null(strstr(text, "x1:CreateDestinationResponse"));
    assert_non_null(strstr(text, "<friendlyName>agency A &amp; co</friendlyName>"));
    uint8_t fd[16];
    x1_destination kept;
    li_uuid_parse(fdid, fd);
    assert_int_equal(x1_ne_get_destination(ne, fd, &kept), LI_OK);
    assert_string_equal(kept.friendly_name, "agency A & co");
    char err[512];
    assert_int_equal(x1_client_remove_destination(admf, url, "poi-1", fd, err, sizeof err),
                     LI_OK);
    li_buf_free(&a);
}

/* A second NE with one connection slot and a short idle timeout: a silent TCP peer
 * holds the slot (others are turned away at once) only until the timeout. */
static void test_connection_limits(void **state)
{
    (void)state;
    char err[512];
    li_config *cfg = li_config_new();
    const char *keys[] = { "poi.x1.tls.cert", "poi.x1.tls.key", "poi.x1.tls.ca",
                           "poi.x1.allowed_clients" };
    for (size_t i = 0; i < 4; i++)
        li_config_set(cfg, keys[i], li_config_get(ne_cfg, keys[i], NULL));
    li_config_set(cfg, "poi.x1.ne_id", "poi-small");
    li_config_set(cfg, "poi.x1.max_connections", "1");
    li_config_set(cfg, "poi.x1.idle_timeout_ms", "1500");
    li_config_set(cfg, "poi.x1.handshake_timeout_ms", "1500");
    li_config_set(cfg, "poi.x1.max_request_bytes", "2000");
    x1_ne *small = x1_ne_new(cfg, "poi.x1", err, sizeof err);
    assert_non_null(small);
    char small_url[128];
    snprintf(small_url, sizeof small_url, "https://127.0.0.1:%u/X1/NE", x1_ne_port(small));
    assert_int_equal(x1_client_ping(admf, small_url, "poi-small", err, sizeof err), LI_OK);

    /* A silent connection holds no slot (issue 15 item 6: before, it held the only one
     * and the ADMF was turned away): the ADMF is served while it stays open, and it is
     * dropped at the handshake timeout. */
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(x1_ne_port(small)),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    uint64_t t0 = li_mono_ns();
    assert_int_equal(x1_client_ping(admf, small_url, "poi-small", err, sizeof err), LI_OK);
    assert_int_equal(x1_client_ping(admf, small_url, "poi-small", err, sizeof err), LI_OK);
    char c;
    assert_true(read(fd, &c, 1) <= 0);
    uint64_t held_ms = (li_mono_ns() - t0) / 1000000;
    assert_true(held_ms >= 1000 && held_ms < 3000);
    close(fd);
    x1_ne_stats st;
    x1_ne_stats_get(small, &st);
    assert_int_equal(st.handshake_timeouts, 1);
    usleep(300000);
    assert_int_equal(x1_client_ping(admf, small_url, "poi-small", err, sizeof err), LI_OK);

    /* A request above max_request_bytes is refused before it is read. */
    x1_task t;
    make_task(&t, 9, "sip:somebody.with.a.longer.name@example.com", NULL);
    for (size_t i = 1; i < X1_MAX_TARGETS; i++) {
        t.targets[i] = t.targets[0];
        t.n_targets = i + 1;
    }
    li_err big = x1_client_activate(admf, small_url, "poi-small", &t, err, sizeof err);
    print_message("oversized request: %s (%s)\n", li_err_str(big), err);
    assert_int_equal(big, LI_ERR_PROTO);
    assert_non_null(strstr(err, "413"));
    x1_ne_free(small);
    li_config_free(cfg);
}

/* An NE on IPv6 loopback, named by an IPv6 URL (the certificate has IP:::1). */
static void test_ipv6(void **state)
{
    (void)state;
    char err[512];
    li_config *cfg = li_config_new();
    const char *keys[] = { "poi.x1.tls.cert", "poi.x1.tls.key", "poi.x1.tls.ca",
                           "poi.x1.allowed_clients" };
    for (size_t i = 0; i < 4; i++)
        li_config_set(cfg, keys[i], li_config_get(ne_cfg, keys[i], NULL));
    li_config_set(cfg, "poi.x1.listen", "[::1]:0");
    li_config_set(cfg, "poi.x1.ne_id", "poi-v6");
    x1_ne *v6 = x1_ne_new(cfg, "poi.x1", err, sizeof err);
    if (!v6) {
        print_message("no IPv6 loopback here (%s): skipped\n", err);
        li_config_free(cfg);
        skip();
    }
    char v6_url[128];
    snprintf(v6_url, sizeof v6_url, "https://[::1]:%u/X1/NE", x1_ne_port(v6));
    assert_int_equal(x1_client_ping(admf, v6_url, "poi-v6", err, sizeof err), LI_OK);
    /* A URL without the X1 path reaches no X1 service: HTTP 404. */
    char wrong[128];
    snprintf(wrong, sizeof wrong, "https://[::1]:%u", x1_ne_port(v6));
    assert_int_equal(x1_client_keepalive(admf, wrong, "poi-v6", err, sizeof err), LI_ERR_PROTO);
    assert_non_null(strstr(err, "HTTP 404"));
    x1_ne_free(v6);
    li_config_free(cfg);
}

/* A peer NE that, like some implementations, knows GetAllDetails but not
 * ListAllDetails: built from limf's own TLS and codec pieces, answering two requests. */
typedef struct old_ne {
    int listen_fd;
    SSL_CTX *ctx;
    x1_msg_type seen[2];
} old_ne;

static void *old_ne_main(void *arg)
{
    old_ne *o = arg;
    static x1_request q;
    static x1_response r;
    static x1_task tasks[3];
    for (int i = 0; i < 3; i++) {
        memset(&tasks[i], 0, sizeof tasks[i]);
        make_task(&tasks[i], (uint8_t)(0x70 + i), "sip:old@example.com", NULL);
    }
    for (int k = 0; k < 2; k++) {
        int fd = accept(o->listen_fd, NULL, NULL);
        li_conn c;
        li_conn_init(&c);
        uint64_t deadline = li_mono_ns() + 3000000000ull;
        li_buf in, out;
        li_buf_init(&in, 0);
        li_buf_init(&out, 0);
        li_http_head h;
        size_t len, n;
        if (li_conn_attach(&c, fd, o->ctx, 1) == LI_OK &&
            li_conn_handshake_until(&c, deadline) == LI_OK &&
            x1_conn_read_message(&c, &in, 0, 1 << 20, &h, &len, deadline) == LI_OK &&
            x1_xml_request_decode(in.data + len - h.content_length, h.content_length, &q, 1,
                                  &n) == LI_OK) {
            o->seen[k] = q.type;
            memset(&r, 0, sizeof r);
            r.hdr = q.hdr;
            r.type = q.type;
            if (q.type == X1_MSG_GET_ALL_DETAILS) {
                r.tasks = tasks;
                r.n_tasks = 3;
            } else {
                r.error_code = X1_ERR_GENERIC;
                strcpy(r.error_desc, "unsupported");
            }
            li_buf_printf(&out, "HTTP/1.1 200 OK\r\nContent-Length: ");
            li_buf body;
            li_buf_init(&body, 0);
            x1_xml_response_encode(&r, 1, &body);
            li_buf_printf(&out, "%zu\r\n\r\n", body.len);
            li_buf_append(&out, body.data, body.len);
            li_buf_free(&body);
            li_conn_send_all(&c, out.data, out.len, deadline);
        }
        li_conn_shutdown(&c);
        li_conn_close(&c);
        li_buf_free(&in);
        li_buf_free(&out);
    }
    return NULL;
}

static void test_list_falls_back_to_get_all_details(void **state)
{
    (void)state;
    char cert[512], key[512], ca[512], err[512];
    path_of(cert, sizeof cert, "relay-as.pem");
    path_of(key, sizeof key, "relay-as.key");
    path_of(ca, sizeof ca, "ca.pem");
    li_tls_opts opts = { .server = 1, .cert_file = cert, .key_file = key, .ca_file = ca };
    old_ne o = { .ctx = li_tls_ctx_new(&opts, err, sizeof err) };
    assert_non_null(o.ctx);
    o.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(o.listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(o.listen_fd, 4), 0);
    getsockname(o.listen_fd, (struct sockaddr *)&sa, &sl);
    pthread_t t;
    pthread_create(&t, NULL, old_ne_main, &o);
    char old_url[128];
    snprintf(old_url, sizeof old_url, "https://127.0.0.1:%u/X1/NE", ntohs(sa.sin_port));
    uint8_t xids[2][16];
    size_t n = 0;
    assert_int_equal(x1_client_list_tasks(admf, old_url, "old-ne", xids, 2, &n, err, sizeof err),
                     LI_OK);
    pthread_join(t, NULL);
    assert_int_equal(o.seen[0], X1_MSG_LIST_ALL_DETAILS);
    assert_int_equal(o.seen[1], X1_MSG_GET_ALL_DETAILS);
    assert_int_equal(n, 3);
    assert_int_equal(xids[1][15], 0x71);
    close(o.listen_fd);
    SSL_CTX_free(o.ctx);
}

/* Several ADMF threads at once, while POI threads match. */
typedef struct worker {
    int id;
    int ok;
} worker;

static void *activator(void *arg)
{
    worker *w = arg;
    char err[256];
    x1_task t;
    char sip[64];
    snprintf(sip, sizeof sip, "sip:user%d@example.com", w->id);
    make_task(&t, (uint8_t)(0x40 + w->id), sip, NULL);
    w->ok = x1_client_activate(admf, url, "poi-1", &t, err, sizeof err) == LI_OK &&
            x1_client_deactivate(admf, url, "poi-1", t.xid, err, sizeof err) == LI_OK &&
            x1_client_activate(admf, url, "poi-1", &t, err, sizeof err) == LI_OK;
    return NULL;
}

static atomic_int stop_matching;

static void *matcher(void *arg)
{
    (void)arg;
    x1_ne_match m[2];
    while (!atomic_load(&stop_matching))
        x1_ne_match_identity(ne, "sip:user1@example.com", m, 2);
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(x1_client_create_destination(admf, url, "poi-1", DID, "[::1]:4443",
                                                  X1_DELIVERY_X2_AND_X3, err,
                                                  sizeof err), LI_OK);
    enum { N = 6 };
    pthread_t t[N], mt;
    worker w[N];
    pthread_create(&mt, NULL, matcher, NULL);
    for (int i = 0; i < N; i++) {
        w[i].id = i;
        pthread_create(&t[i], NULL, activator, &w[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_true(w[i].ok);
    }
    atomic_store(&stop_matching, 1);
    pthread_join(mt, NULL);
    assert_int_equal(x1_ne_task_count(ne), N);
    x1_ne_stats st;
    x1_ne_stats_get(ne, &st);
    assert_int_equal(st.tasks, N);
    assert_int_equal(st.destinations, 1);
    x1_ne_match m[2];
    assert_int_equal(x1_ne_match_identity(ne, "sip:user3@example.com", m, 2), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tasks),
        cmocka_unit_test(test_exceptions_expire),
        cmocka_unit_test(test_refused_peers),
        cmocka_unit_test(test_admf_must_be_pinned),
        cmocka_unit_test(test_pinned_certificate),
        cmocka_unit_test(test_pins_concurrent),
        cmocka_unit_test(test_raw_http),
        cmocka_unit_test(test_connection_limits),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_list_falls_back_to_get_all_details),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
