/* The in-memory store (admf_store.h) that mirrors limf.admin: records replace, tombstones
 * remove, bad keys and values change nothing, ids come back in order after a cursor, and
 * the (country, LIID) index follows updates and deletions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "admin.pb-c.h"
#include "admf_store.h"

static size_t warrant(const char *id, const char *liid, const char *country, uint64_t version,
                      uint8_t *buf)
{
    Limf__Warrant w;
    limf__warrant__init(&w);
    w.id = (char *)id;
    w.liid = (char *)liid;
    w.auth_country = (char *)country;
    w.version = version;
    return limf__warrant__pack(&w, buf);
}

static li_err put(admf_store *st, const char *id, const char *liid, const char *country,
                  uint64_t version)
{
    uint8_t buf[512];
    char key[128];
    snprintf(key, sizeof key, "warrant/%s", id);
    size_t n = warrant(id, liid, country, version, buf);
    return admf_store_apply(st, key, strlen(key), buf, n);
}

static void test_apply_and_get(void **state)
{
    (void)state;
    admf_store *st = admf_store_new();
    assert_int_equal(put(st, "w1", "L1", "DE", 1), LI_OK);
    assert_int_equal(put(st, "w1", "L1", "DE", 2), LI_OK);
    const Limf__Warrant *w = (const Limf__Warrant *)admf_store_get(st, X1_KIND_WARRANT, "w1");
    assert_non_null(w);
    assert_int_equal(w->version, 2);
    assert_int_equal(admf_store_count(st, X1_KIND_WARRANT), 1);
    assert_null(admf_store_get(st, X1_KIND_DESTINATION, "w1"));
    /* tombstone; a second one is harmless */
    assert_int_equal(admf_store_apply(st, "warrant/w1", 10, NULL, 0), LI_OK);
    assert_int_equal(admf_store_apply(st, "warrant/w1", 10, NULL, 0), LI_OK);
    assert_null(admf_store_get(st, X1_KIND_WARRANT, "w1"));
    assert_int_equal(admf_store_count(st, X1_KIND_WARRANT), 0);
    admf_store_free(st);
    admf_store_free(NULL);
}

/* A deleted object's last version is remembered (from the tombstone, or told), the higher
 * kept: a re-created object's versions continue after it. */
static void test_retired_versions(void **state)
{
    (void)state;
    admf_store *st = admf_store_new();
    assert_int_equal(admf_store_retired(st, X1_KIND_WARRANT, "w1"), 0);
    assert_int_equal(put(st, "w1", "L1", "DE", 7), LI_OK);
    assert_int_equal(admf_store_apply(st, "warrant/w1", 10, NULL, 0), LI_OK);
    assert_int_equal(admf_store_retired(st, X1_KIND_WARRANT, "w1"), 7);
    assert_int_equal(admf_store_retire(st, X1_KIND_WARRANT, "w1", 3), LI_OK);
    assert_int_equal(admf_store_retired(st, X1_KIND_WARRANT, "w1"), 7);
    assert_int_equal(admf_store_retire(st, X1_KIND_WARRANT, "w1", 9), LI_OK);
    assert_int_equal(admf_store_retired(st, X1_KIND_WARRANT, "w1"), 9);
    /* per kind and id */
    assert_int_equal(admf_store_retired(st, X1_KIND_DESTINATION, "w1"), 0);
    assert_int_equal(admf_store_retired(st, X1_KIND_WARRANT, "w10"), 0);
    admf_store_free(st);
}

static void test_bad_records(void **state)
{
    (void)state;
    static const uint8_t junk[] = { 0x0a, 0xff, 0xff };
    admf_store *st = admf_store_new();
    assert_int_equal(put(st, "w1", "L1", "DE", 1), LI_OK);
    assert_int_equal(admf_store_apply(st, "warrant/w1", 10, junk, sizeof junk), LI_ERR_PROTO);
    assert_non_null(admf_store_get(st, X1_KIND_WARRANT, "w1")); /* unchanged */
    static const char *const bad_keys[] = { "warrant/", "warrant", "wrnt/x", "", "poi" };
    for (size_t i = 0; i < sizeof bad_keys / sizeof *bad_keys; i++)
        assert_int_equal(admf_store_apply(st, bad_keys[i], strlen(bad_keys[i]), NULL, 0),
                         LI_ERR_PROTO);
    assert_int_equal(admf_store_apply(st, "poi/a\0b", 7, NULL, 0), LI_ERR_PROTO);
    x1_kind k;
    const char *id;
    size_t n;
    assert_int_equal(x1_key_parse("exception/e-1", 13, &k, &id, &n), LI_OK);
    assert_int_equal(k, X1_KIND_EXCEPTION);
    assert_int_equal(n, 3);
    admf_store_free(st);
}

typedef struct walk {
    char ids[4][16];
    int n;
} walk;

static int collect(void *ctx, const ProtobufCMessage *m)
{
    walk *w = ctx;
    snprintf(w->ids[w->n++], 16, "%s", ((const Limf__Warrant *)m)->id);
    return w->n == 4;
}

static void test_order_and_cursor(void **state)
{
    (void)state;
    admf_store *st = admf_store_new();
    char id[16];
    /* enough to grow the table several times */
    for (int i = 999; i >= 0; i--) {
        snprintf(id, sizeof id, "w%04d", i);
        assert_int_equal(put(st, id, id, "DE", 1), LI_OK);
    }
    assert_int_equal(admf_store_count(st, X1_KIND_WARRANT), 1000);
    walk w = { .n = 0 };
    admf_store_each(st, X1_KIND_WARRANT, NULL, collect, &w);
    assert_string_equal(w.ids[0], "w0000");
    assert_string_equal(w.ids[3], "w0003");
    w.n = 0;
    admf_store_each(st, X1_KIND_WARRANT, "w0500", collect, &w);
    assert_string_equal(w.ids[0], "w0501");
    w.n = 0;
    /* a cursor that was deleted still pages correctly */
    assert_int_equal(admf_store_apply(st, "warrant/w0700", 13, NULL, 0), LI_OK);
    admf_store_each(st, X1_KIND_WARRANT, "w0699", collect, &w);
    assert_string_equal(w.ids[0], "w0701");
    w.n = 0;
    admf_store_each(st, X1_KIND_WARRANT, "w0999", collect, &w);
    assert_int_equal(w.n, 0);
    admf_store_free(st);
}

static void test_liid_index(void **state)
{
    (void)state;
    admf_store *st = admf_store_new();
    assert_int_equal(put(st, "w1", "L1", "DE", 1), LI_OK);
    assert_int_equal(put(st, "w2", "L1", "FR", 1), LI_OK);
    assert_string_equal(admf_store_liid_owner(st, "DE", "L1"), "w1");
    assert_string_equal(admf_store_liid_owner(st, "FR", "L1"), "w2");
    assert_null(admf_store_liid_owner(st, "DE", "L2"));
    /* "D" + "E/L1" must not collide with "DE" + "L1" */
    assert_null(admf_store_liid_owner(st, "D", "E/L1"));
    assert_int_equal(put(st, "w1", "L9", "DE", 2), LI_OK); /* LIID changed */
    assert_null(admf_store_liid_owner(st, "DE", "L1"));
    assert_string_equal(admf_store_liid_owner(st, "DE", "L9"), "w1");
    assert_int_equal(admf_store_apply(st, "warrant/w1", 10, NULL, 0), LI_OK);
    assert_null(admf_store_liid_owner(st, "DE", "L9"));
    assert_string_equal(admf_store_liid_owner(st, "FR", "L1"), "w2");
    admf_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply_and_get), cmocka_unit_test(test_bad_records),
        cmocka_unit_test(test_retired_versions),
        cmocka_unit_test(test_order_and_cursor), cmocka_unit_test(test_liid_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
