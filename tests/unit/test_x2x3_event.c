/* POI event JSON (x2x3_event.h): every event of the contract parsed back with jansson,
 * as the mediator does; escaping, invalid UTF-8, and a buffer that is too small. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "x2x3_event.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
    if (!j)
        fail_msg("'%s': %s", text, e.text);
    return j;
}

static void test_gap(void **state)
{
    (void)state;
    char out[128];
    size_t len;
    assert_int_equal(x2x3_event_gap(out, sizeof out, &len, 18446744073709551615ull), LI_OK);
    assert_string_equal(out, "{\"limf_event\":\"gap\",\"dropped\":18446744073709551615}");
    assert_int_equal(len, strlen(out));
    assert_int_equal(x2x3_event_gap(out, sizeof out, NULL, 3), LI_OK);
    json_t *j = parse(out);
    assert_string_equal(json_string_value(json_object_get(j, "limf_event")), "gap");
    assert_int_equal(json_integer_value(json_object_get(j, "dropped")), 3);
    json_decref(j);
}

typedef struct event_vector {
    const char *event;
    const char *kv[8];
} event_vector;

static const event_vector events[] = {
    { .event = X2X3_EVENT_SESSION_RESERVED, .kv = { "session", "s-1", NULL } },
    { .event = X2X3_EVENT_TLS_ESTABLISHED, .kv = { "leg", "ue", "fingerprint", "AB:CD:EF", NULL } },
    { .event = X2X3_EVENT_PASSTHROUGH,
      .kv = { "exception_id", "ex-9", "fingerprint", "01:02",
              "peer", "conf.example.org", NULL } },
    { .event = X2X3_EVENT_SESSION_RELEASED, .kv = { "session", "s-1", NULL } },
    { .event = "odd",
      .kv = { "quote\"back\\slash", "line\nfeed\ttab\x01", "utf8", "caf\xc3\xa9 \xe2\x82\xac",
              NULL } },
};

static void test_events_parse_back(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        char out[512];
        size_t len;
        assert_int_equal(x2x3_event_format(out, sizeof out, &len, events[i].event,
                                           events[i].kv), LI_OK);
        assert_int_equal(len, strlen(out));
        json_t *j = parse(out);
        assert_string_equal(json_string_value(json_object_get(j, "limf_event")),
                            events[i].event);
        size_t n = 0;
        for (; events[i].kv[n]; n += 2)
            assert_string_equal(json_string_value(json_object_get(j, events[i].kv[n])),
                                events[i].kv[n + 1]);
        assert_int_equal(json_object_size(j), 1 + n / 2);
        json_decref(j);
    }
}

static void test_invalid_utf8_replaced(void **state)
{
    (void)state;
    static const char *const kv[] = { "peer", "a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x82",
                                      NULL };
    char out[256];
    assert_int_equal(x2x3_event_format(out, sizeof out, NULL, "passthrough", kv), LI_OK);
    json_t *j = parse(out);
    const char *peer = json_string_value(json_object_get(j, "peer"));
    assert_non_null(peer);
    assert_int_equal(peer[0], 'a');
    assert_non_null(strstr(peer, "\xef\xbf\xbd" "b"));
    assert_non_null(strchr(peer, 'd'));
    json_decref(j);
}

static void test_too_small(void **state)
{
    (void)state;
    static const char *const kv[] = { "session", "0123456789", NULL };
    char out[40];
    assert_int_equal(x2x3_event_format(out, sizeof out, NULL, "session-reserved", kv),
                     LI_ERR_TOO_BIG);
    assert_string_equal(out, "");
    char exact[64];
    size_t len;
    assert_int_equal(x2x3_event_format(exact, sizeof exact, &len, "session-reserved", kv),
                     LI_OK);
    /* exactly len + 1 bytes suffice, len do not */
    assert_int_equal(x2x3_event_format(exact, len + 1, NULL, "session-reserved", kv), LI_OK);
    assert_int_equal(x2x3_event_format(exact, len, NULL, "session-reserved", kv),
                     LI_ERR_TOO_BIG);
    char small[8];
    assert_int_equal(x2x3_event_gap(small, sizeof small, NULL, 1), LI_ERR_TOO_BIG);
}

/* The mediator names what a POI wrote with the same table the POIs write from. */
static void test_type_of(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        x2x3_event_type type;
    } rows[] = {
        { .name = X2X3_EVENT_GAP, .type = X2X3_EV_GAP },
        { .name = X2X3_EVENT_SESSION_RESERVED, .type = X2X3_EV_SESSION_RESERVED },
        { .name = X2X3_EVENT_TLS_ESTABLISHED, .type = X2X3_EV_TLS_ESTABLISHED },
        { .name = X2X3_EVENT_PASSTHROUGH, .type = X2X3_EV_PASSTHROUGH },
        { .name = X2X3_EVENT_SESSION_RELEASED, .type = X2X3_EV_SESSION_RELEASED },
        { .name = "gap ", .type = X2X3_EV_UNKNOWN },
        { .name = "future-event", .type = X2X3_EV_UNKNOWN },
        { .name = NULL, .type = X2X3_EV_UNKNOWN },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char out[128];
        if (rows[i].name) {
            /* Through the wire form: written, parsed back, named. */
            assert_int_equal(x2x3_event_format(out, sizeof out, NULL, rows[i].name, NULL), LI_OK);
            json_t *j = parse(out);
            assert_int_equal(x2x3_event_type_of(json_string_value(json_object_get(j, X2X3_EVENT_KEY))),
                             rows[i].type);
            json_decref(j);
        } else {
            assert_int_equal(x2x3_event_type_of(NULL), X2X3_EV_UNKNOWN);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gap),
        cmocka_unit_test(test_events_parse_back),
        cmocka_unit_test(test_invalid_utf8_replaced),
        cmocka_unit_test(test_too_small),
        cmocka_unit_test(test_type_of),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
