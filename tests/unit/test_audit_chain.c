/* The audit chain (audit_chain.h): the hash covers every field, the JSON export round-trips,
 * and the verifier names the first tampered, removed or reordered event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "audit_chain.h"

#define N 5

static uint8_t hashes[N][32];
static uint8_t zero[32];

static void make_chain(Limf__AuditEvent ev[N])
{
    static char *actors[N] = { "admin", "operator", "operator", "system", "auditor" };
    for (int i = 0; i < N; i++) {
        limf__audit_event__init(&ev[i]);
        ev[i].index = (uint64_t)i;
        ev[i].at_ms = 1790000000000LL + i;
        ev[i].actor = actors[i];
        ev[i].role = "operator";
        ev[i].action = "warrant.create";
        ev[i].object = "warrant/w1";
        ev[i].outcome = "accepted";
        ev[i].reason = "AG 1/26";
        ev[i].detail = "{}";
        ev[i].prev_hash.data = i ? hashes[i - 1] : zero;
        ev[i].prev_hash.len = 32;
        assert_int_equal(audit_chain_hash(&ev[i], hashes[i]), LI_OK);
        ev[i].hash.data = hashes[i];
        ev[i].hash.len = 32;
    }
}

static int verify(Limf__AuditEvent *ev, int n, uint64_t *bad)
{
    audit_chain_verifier v;
    audit_chain_verifier_init(&v);
    for (int i = 0; i < n; i++)
        if (audit_chain_verifier_feed(&v, &ev[i]) != LI_OK) {
            *bad = v.broken_index;
            return 0;
        }
    return 1;
}

static void test_intact(void **state)
{
    (void)state;
    Limf__AuditEvent ev[N];
    uint64_t bad = 99;
    make_chain(ev);
    assert_true(verify(ev, N, &bad));
    /* A run exported from the middle verifies on its own anchor. */
    assert_true(verify(ev + 2, N - 2, &bad));
}

static void test_each_field_is_covered(void **state)
{
    (void)state;
    for (int field = 0; field < 9; field++) {
        Limf__AuditEvent ev[N];
        uint64_t bad = 99;
        make_chain(ev);
        switch (field) {
        case 0: ev[3].at_ms++; break;
        case 1: ev[3].actor = "mallory"; break;
        case 2: ev[3].role = "admin"; break;
        case 3: ev[3].action = "warrant.delete"; break;
        case 4: ev[3].object = "warrant/w2"; break;
        case 5: ev[3].outcome = "refused"; break;
        case 6: ev[3].reason = "AG 1/27"; break;
        case 7: ev[3].detail = "{ }"; break;
        case 8: ev[3].index = 7; break;
        }
        assert_false(verify(ev, N, &bad));
        if (bad != 3)
            fail_msg("field %d: first broken %llu, expected 3", field, (unsigned long long)bad);
    }
}

static void test_moved_bytes_change_hash(void **state)
{
    (void)state;
    Limf__AuditEvent ev[N];
    uint8_t h[32];
    make_chain(ev);
    ev[1].action = "warrant.createwarrant";
    ev[1].object = "/w1";
    assert_int_equal(audit_chain_hash(&ev[1], h), LI_OK);
    assert_memory_not_equal(h, hashes[1], 32);
}

static void test_rehashed_tamper_breaks_next_link(void **state)
{
    (void)state;
    Limf__AuditEvent ev[N];
    uint8_t h[32];
    uint64_t bad = 99;
    make_chain(ev);
    ev[2].actor = "mallory";
    assert_int_equal(audit_chain_hash(&ev[2], h), LI_OK);
    ev[2].hash.data = h;
    assert_false(verify(ev, N, &bad));
    assert_int_equal(bad, 3);
}

static void test_removed_and_reordered(void **state)
{
    (void)state;
    Limf__AuditEvent ev[N], cut[N - 1];
    uint64_t bad = 99;
    make_chain(ev);
    memcpy(cut, ev, 2 * sizeof *ev);
    memcpy(cut + 2, ev + 3, 2 * sizeof *ev);
    assert_false(verify(cut, N - 1, &bad));
    assert_int_equal(bad, 2);
    Limf__AuditEvent first = ev[0];
    first.prev_hash.data = hashes[4];
    assert_false(verify(&first, 1, &bad));
    assert_int_equal(bad, 0);
}

static void test_json_roundtrip(void **state)
{
    (void)state;
    Limf__AuditEvent ev[N], back;
    uint8_t prev[32], hash[32];
    make_chain(ev);
    json_t *j = audit_chain_to_json(&ev[2]);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    j = json_loads(text, 0, NULL);
    free(text);
    assert_int_equal(audit_chain_from_json(j, &back, prev, hash), LI_OK);
    assert_int_equal(back.index, 2);
    assert_int_equal(back.at_ms, ev[2].at_ms);
    assert_string_equal(back.actor, "operator");
    assert_memory_equal(hash, hashes[2], 32);
    assert_memory_equal(prev, hashes[1], 32);
    json_object_set_new(j, "hash", json_string("00"));
    assert_int_equal(audit_chain_from_json(j, &back, prev, hash), LI_ERR_PROTO);
    json_object_del(j, "actor");
    assert_int_equal(audit_chain_from_json(j, &back, prev, hash), LI_ERR_PROTO);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intact),
        cmocka_unit_test(test_each_field_is_covered),
        cmocka_unit_test(test_moved_bytes_change_hash),
        cmocka_unit_test(test_rehashed_tamper_breaks_next_link),
        cmocka_unit_test(test_removed_and_reordered),
        cmocka_unit_test(test_json_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
