/* HI1 notifications of warrants (med_notify.h), table-driven: each step changes the task
 * table (a warrant put or withdrawn) or ticks the clock, and the exact records out are
 * compared, one line per record and destination:
 *   "<destination> <liid> <seq> <operation>"
 * A flush and restore into a fresh instance in the middle shows that the changelog
 * carries what was notified and the numbering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "admin.pb-c.h"
#include "med_map.h"
#include "med_notify.h"

#define SEC 1000000000ULL
#define T0 (1700000000ULL * SEC)

static const uint8_t XID[16] = { 0xa1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

typedef struct warrant_def {
    const char *id, *liid, *target, *state, *dest1, *dest2;
    int64_t start_s, end_s;    /* after T0; 0: unbounded */
} warrant_def;

enum { PUT = 1, WITHDRAW, TICK, RESTART };

typedef struct step {
    int what;
    uint64_t at_s;
    warrant_def w;
} step;

typedef struct out {
    char lines[64][96];
    size_t n;
} out;

static void on_record(void *ctx, const char *dest, const Limf__HiRecord *r)
{
    static const char *const ops[] = { "?", "activated", "deactivated", "modified", "alarm" };
    out *o = ctx;
    assert_true(o->n < 64);
    assert_int_equal(r->kind, LIMF__HI_RECORD__KIND__HI1);
    assert_int_equal(r->cin, 0);
    assert_string_equal(dest, r->destination_id);
    snprintf(o->lines[o->n++], sizeof o->lines[0], "%s %s %llu %s", dest, r->liid,
             (unsigned long long)r->seq, ops[r->hi1_operation]);
}

static void put(med_tasks *t, const warrant_def *d)
{
    Limf__Warrant w = LIMF__WARRANT__INIT;
    Limf__Target tg = LIMF__TARGET__INIT, *tgp = &tg;
    char *dests[2] = { (char *)d->dest1, (char *)d->dest2 };
    w.id = (char *)d->id;
    w.liid = (char *)d->liid;
    w.auth_country = "DE";
    w.delivery = "iri+cc";
    w.state = (char *)d->state;
    tg.type = "sip-uri";
    tg.value = (char *)d->target;
    w.targets = &tgp;
    w.n_targets = 1;
    w.destination_ids = dests;
    w.n_destination_ids = d->dest2 ? 2 : 1;
    w.start_ms = d->start_s ? (int64_t)(T0 / 1000000) + d->start_s * 1000 : 0;
    w.end_ms = d->end_s ? (int64_t)(T0 / 1000000) + d->end_s * 1000 : 0;
    w.xid.data = (uint8_t *)XID;
    w.xid.len = 16;
    static uint64_t version;
    w.version = ++version;        /* the ADMF's ETag: every write differs */
    w.legal_reference = version % 2 ? "court order A" : "court order A, amended";
    uint8_t buf[1024];
    size_t n = limf__warrant__pack(&w, buf);
    char key[64];
    snprintf(key, sizeof key, "warrant/%s", d->id);
    assert_int_equal(med_tasks_apply(t, key, strlen(key), buf, n), LI_OK);
}

/* The changelog as a map of key -> heap copy. */
typedef struct blob {
    size_t len;
    uint8_t data[];
} blob;

static void on_state(void *ctx, const char *key, const uint8_t *value, size_t len)
{
    med_map *m = ctx;
    free(med_map_del(m, key));
    assert_true(med_notify_owns(key));
    blob *b = malloc(sizeof *b + len);
    assert_non_null(b);
    b->len = len;
    memcpy(b->data, value, len);
    assert_int_equal(med_map_put(m, key, b), LI_OK);
}

#define A "sip:alice@ims.example.net"
#define B "sip:bob@ims.example.net"

static void test_notifications(void **state)
{
    (void)state;
    static const step steps[] = {
        /* Provisioned active: activated at the next tick, to both destinations. */
        { PUT, 0, { "w1", "LIID-1", A, "active", "lea1", "lea2", 0, 0 } },
        /* A window that opens later: nothing before, activated when it opens. */
        { PUT, 0, { "w2", "LIID-2", A, "active", "lea1", NULL, 10, 20 } },
        { .what = TICK, .at_s = 1 },
        { .what = TICK, .at_s = 2 },            /* nothing changed: nothing */
        /* Written again (another version and legal reference): no modification. */
        { PUT, 3, { "w1", "LIID-1", A, "active", "lea1", "lea2", 0, 0 } },
        { .what = TICK, .at_s = 3 },
        /* Another target while active: modified, also to the new destination set. */
        { PUT, 4, { "w1", "LIID-1", B, "active", "lea1", NULL, 0, 0 } },
        { .what = TICK, .at_s = 4 },
        { .what = RESTART, .at_s = 5 },
        { .what = TICK, .at_s = 11 },           /* w2's window opened */
        { PUT, 12, { "w1", "LIID-1", B, "deactivated", "lea1", NULL, 0, 0 } },
        { .what = TICK, .at_s = 12 },
        { PUT, 13, { "w1", "LIID-1", B, "active", "lea1", NULL, 0, 0 } },
        { .what = TICK, .at_s = 13 },
        { .what = TICK, .at_s = 21 },           /* w2's window closed */
        { .what = WITHDRAW, .at_s = 22, .w = { .id = "w1" } },
        { .what = TICK, .at_s = 22 },
        { .what = TICK, .at_s = 23 },           /* withdrawn once: nothing */
    };
    static const char *const want[] = {
        "lea1 LIID-1 0 activated", "lea2 LIID-1 0 activated",
        "lea1 LIID-1 1 modified",
        "lea1 LIID-2 0 activated",
        "lea1 LIID-1 2 deactivated",
        "lea1 LIID-1 3 activated",
        "lea1 LIID-2 1 deactivated",
        "lea1 LIID-1 4 deactivated", NULL,
    };
    med_tasks *tasks = med_tasks_new();
    static out o;
    med_map log;
    med_map_init(&log);
    med_notify *n = med_notify_new(tasks, on_record, &o);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const step *s = &steps[i];
        uint64_t now = T0 + s->at_s * SEC;
        if (s->what == PUT) {
            put(tasks, &s->w);
        } else if (s->what == WITHDRAW) {
            char key[64];
            snprintf(key, sizeof key, "warrant/%s", s->w.id);
            assert_int_equal(med_tasks_apply(tasks, key, strlen(key), NULL, 0), LI_OK);
        } else if (s->what == TICK) {
            assert_int_equal(med_notify_tick(n, now), LI_OK);
            assert_int_equal(med_notify_flush(n, on_state, &log), LI_OK);
        } else {
            /* A new owner of partition 0 starts from the changelog alone. */
            med_notify_free(n);
            n = med_notify_new(tasks, on_record, &o);
            size_t it = 0;
            const char *k;
            void *v;
            while (med_map_next(&log, &it, &k, &v)) {
                blob *b = v;
                assert_int_equal(med_notify_restore(n, k, b->data, b->len), LI_OK);
            }
        }
    }
    size_t nw = 0;
    while (want[nw])
        nw++;
    for (size_t i = 0; i < o.n || i < nw; i++) {
        const char *got = i < o.n ? o.lines[i] : "(none)", *exp = i < nw ? want[i] : "(none)";
        if (strcmp(got, exp) != 0) {
            for (size_t k = 0; k < o.n; k++)
                print_message("  got[%zu] %s\n", k, o.lines[k]);
            fail_msg("record %zu: got \"%s\" want \"%s\"", i, got, exp);
        }
    }
    assert_int_equal(med_notify_restore(n, "w/x", (const uint8_t *)"\xff", 1), LI_ERR_PROTO);
    med_notify_free(n);
    med_map_free_values(&log, free);
    med_tasks_free(tasks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notifications),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
