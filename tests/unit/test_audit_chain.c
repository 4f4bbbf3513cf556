/* The audit chain (audit_chain.h): the MAC covers every field, the JSON export round-trips,
 * and the verifier names the first tampered, removed or reordered event; the forgeries of
 * an administrator who holds limf.audit but not the key (dropped head, dropped tail up to
 * a checkpoint, a chain recomputed under another key, a forged checkpoint) are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_chain.h"

#define N 5

static uint8_t hashes[N][32];
static uint8_t zero[32];
static audit_chain_key key, other_key;

static void set_keys(void)
{
    uint8_t k[32];
    for (int i = 0; i < 32; i++)
        k[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(audit_chain_key_set(&key, k, 32), LI_OK);
    k[0] ^= 1;
    assert_int_equal(audit_chain_key_set(&other_key, k, 32), LI_OK);
}

/* A chain of N events MACed under k. */
static void make_chain_with(Limf__AuditEvent ev[N], const audit_chain_key *k)
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
        ev[i].key_id = (char *)k->id;
        ev[i].prev_hash.data = i ? hashes[i - 1] : zero;
        ev[i].prev_hash.len = 32;
        assert_int_equal(audit_chain_hash(&ev[i], k, hashes[i]), LI_OK);
        ev[i].hash.data = hashes[i];
        ev[i].hash.len = 32;
    }
}

static void make_chain(Limf__AuditEvent ev[N])
{
    make_chain_with(ev, &key);
}

/* 1 when the run verifies under `key` with the anchors given (n_anchors of them). */
static int verify_anchored(Limf__AuditEvent *ev, int n, const audit_checkpoint *anchors,
                           size_t n_anchors, uint64_t *bad)
{
    audit_chain_verifier v;
    audit_chain_verifier_init(&v, &key, 1);
    for (size_t i = 0; i < n_anchors; i++)
        assert_int_equal(audit_chain_verifier_anchor(&v, &anchors[i]), LI_OK);
    for (int i = 0; i < n; i++)
        if (audit_chain_verifier_feed(&v, &ev[i]) != LI_OK) {
            *bad = v.broken_index;
            return 0;
        }
    if (audit_chain_verifier_finish(&v) != LI_OK) {
        *bad = v.broken_index;
        return 0;
    }
    return 1;
}

static int verify(Limf__AuditEvent *ev, int n, uint64_t *bad)
{
    return verify_anchored(ev, n, NULL, 0, bad);
}

/* A checkpoint of event i of the chain made by make_chain. */
static audit_checkpoint checkpoint_of(int i, const audit_chain_key *k)
{
    audit_checkpoint cp;
    memset(&cp, 0, sizeof cp);
    cp.index = (uint64_t)i;
    memcpy(cp.head, hashes[i], 32);
    cp.at_ms = 1790000000100LL;
    assert_int_equal(audit_checkpoint_sign(&cp, k), LI_OK);
    return cp;
}

static void test_intact(void **state)
{
    (void)state;
    Limf__AuditEvent ev[N];
    uint64_t bad = 99;
    make_chain(ev);
    assert_true(verify(ev, N, &bad));
    /* A run exported from the middle verifies from a checkpoint of the event before it. */
    audit_checkpoint cp = checkpoint_of(1, &key);
    assert_true(verify_anchored(ev + 2, N - 2, &cp, 1, &bad));
    cp = checkpoint_of(3, &key);
    assert_true(verify_anchored(ev, N, &cp, 1, &bad));
}

static void test_dropped_head_refused(void **state)
{
    (void)state;
    Limf__AuditEvent ev[N];
    uint64_t bad = 99;
    make_chain(ev);
    /* The oldest events dropped: the rest no longer starts at 0 and nothing anchors it. */
    assert_false(verify(ev + 2, N - 2, &bad));
    assert_int_equal(bad, 2);
    /* Nor does a checkpoint of another event make it start. */
    audit_checkpoint cp = checkpoint_of(0, &key);
    assert_false(verify_anchored(ev + 2, N - 2, &cp, 1, &bad));
    assert_int_equal(bad, 2);
}

static void test_dropped_tail_refused(void **state)
{
    (void)state;
    Limf__AuditEvent ev[N];
    uint64_t bad = 99;
    make_chain(ev);
    audit_checkpoint cp = checkpoint_of(4, &key);
    /* The newest events dropped: intact on their own, short of the checkpoint. */
    assert_true(verify(ev, N - 2, &bad));
    assert_false(verify_anchored(ev, N - 2, &cp, 1, &bad));
    assert_int_equal(bad, 3);
    assert_false(verify_anchored(ev, 0, &cp, 1, &bad));
    assert_int_equal(bad, 4);
}

static void test_recomputed_under_another_key_refused(void **state)
{
    (void)state;
    Limf__AuditEvent forged[N];
    uint64_t bad = 99;
    /* The trail rewritten and its chain recomputed, but not with the audit key: the first
     * event already fails its MAC. */
    make_chain_with(forged, &other_key);
    assert_false(verify(forged, N, &bad));
    assert_int_equal(bad, 0);
    /* Claiming the audit key's id does not help. */
    for (int i = 0; i < N; i++)
        forged[i].key_id = (char *)key.id;
    assert_false(verify(forged, N, &bad));
    assert_int_equal(bad, 0);
}

static void test_forged_checkpoint_refused(void **state)
{
    (void)state;
    Limf__AuditEvent ev[N];
    audit_chain_verifier v;
    make_chain(ev);
    audit_checkpoint cp = checkpoint_of(2, &other_key);
    audit_chain_verifier_init(&v, &key, 1);
    assert_int_equal(audit_chain_verifier_anchor(&v, &cp), LI_ERR_INVAL);
    cp = checkpoint_of(2, &key);
    cp.index = 1; /* moved to another event */
    assert_int_equal(audit_chain_verifier_anchor(&v, &cp), LI_ERR_INVAL);
    cp = checkpoint_of(2, &key);
    json_t *j = audit_checkpoint_to_json(&cp);
    audit_checkpoint back;
    assert_int_equal(audit_checkpoint_from_json(j, &back), LI_OK);
    assert_true(audit_checkpoint_valid(&back, &key));
    json_decref(j);
}

static void test_key_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_audit_key_XXXXXX", err[200];
    audit_chain_key k;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    assert_int_equal(write(fd, hex, strlen(hex)), (ssize_t)strlen(hex));
    close(fd);
    assert_int_equal(audit_chain_key_load(path, &k, err, sizeof err), LI_OK);
    assert_int_equal(k.len, 32);
    assert_int_equal(k.key[31], 0x1f);
    /* A key others may read is refused. */
    chmod(path, 0644);
    assert_int_equal(audit_chain_key_load(path, &k, err, sizeof err), LI_ERR_INVAL);
    assert_non_null(strstr(err, "chmod 600"));
    unlink(path);
}

static void test_each_field_is_covered(void **state)
{
    (void)state;
    for (int field = 0; field < 10; field++) {
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
        case 9: ev[3].key_id = (char *)other_key.id; break;
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
    assert_int_equal(audit_chain_hash(&ev[1], &key, h), LI_OK);
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
    assert_int_equal(audit_chain_hash(&ev[2], &key, h), LI_OK);
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
    set_keys();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intact),
        cmocka_unit_test(test_each_field_is_covered),
        cmocka_unit_test(test_moved_bytes_change_hash),
        cmocka_unit_test(test_rehashed_tamper_breaks_next_link),
        cmocka_unit_test(test_removed_and_reordered),
        cmocka_unit_test(test_json_roundtrip),
        cmocka_unit_test(test_dropped_head_refused),
        cmocka_unit_test(test_dropped_tail_refused),
        cmocka_unit_test(test_recomputed_under_another_key_refused),
        cmocka_unit_test(test_forged_checkpoint_refused),
        cmocka_unit_test(test_key_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
