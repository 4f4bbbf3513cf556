/* Which limf.xpdu records are uses of a certificate exception (admf_uses_parse): only
 * X2 POI events of payload format 4 saying "passthrough" with a valid exception id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "admf_uses.h"
#include "xpdu.pb-c.h"

static size_t pack(uint32_t pdu_type, uint32_t format, const char *payload, uint8_t *buf)
{
    static uint8_t xid[16] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47, 0x77,
                               0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
    Limf__XPdu x;
    limf__xpdu__init(&x);
    x.poi_id = "relay-as";
    x.pdu_type = pdu_type;
    x.payload_format = format;
    x.xid.data = xid;
    x.xid.len = 16;
    x.payload.data = (uint8_t *)payload;
    x.payload.len = strlen(payload);
    return limf__xpdu__pack(&x, buf);
}

static const struct {
    uint32_t pdu_type, format;
    const char *payload;
    int use;
} vectors[] = {
    { .pdu_type = 1, .format = 4,
      .payload = "{\"limf_event\":\"passthrough\",\"exception_id\":\"exc-1\",\"fingerprint\":\"AB\","
                 "\"peer\":\"conf.example.net\"}",
      .use = 1 },
    { .pdu_type = 1, .format = 4,
      .payload = "{\"limf_event\":\"passthrough\",\"exception_id\":\"a b\"}" },
    { .pdu_type = 1, .format = 4, .payload = "{\"limf_event\":\"passthrough\"}" },
    { .pdu_type = 1, .format = 4,
      .payload = "{\"limf_event\":\"gap\",\"dropped\":3,\"note\":\"passthrough\"}" },
    { .pdu_type = 1, .format = 4,
      .payload = "{\"limf_event\":\"passthrough\",\"limf_event\":\"passthrough\",\"exception_id\":\"e\"}" },
    { .pdu_type = 1, .format = 4, .payload = "passthrough but not JSON" },
    { .pdu_type = 1, .format = 9,
      .payload = "{\"limf_event\":\"passthrough\",\"exception_id\":\"exc-1\"}" },
    { .pdu_type = 2, .format = 4,
      .payload = "{\"limf_event\":\"passthrough\",\"exception_id\":\"exc-1\"}" },
};

static void test_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof *vectors; i++) {
        uint8_t buf[1024];
        char object[96] = "", actor[128] = "", *detail = NULL;
        size_t n = pack(vectors[i].pdu_type, vectors[i].format, vectors[i].payload, buf);
        int got = admf_uses_parse(buf, n, object, sizeof object, actor, sizeof actor, &detail);
        if (got != vectors[i].use)
            fail_msg("vector %zu: %d, expected %d", i, got, vectors[i].use);
        if (got) {
            assert_string_equal(object, "exception/exc-1");
            assert_string_equal(actor, "poi:relay-as");
            assert_non_null(strstr(detail, "\"xid\":\"11223344-5566-4777-8899-aabbccddeeff\""));
            assert_non_null(strstr(detail, "\"peer\":\"conf.example.net\""));
        }
        free(detail);
    }
}

static void test_not_a_record(void **state)
{
    (void)state;
    static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0x0f, 0x01 };
    char object[96], actor[128], *detail = NULL;
    assert_int_equal(admf_uses_parse(junk, sizeof junk, object, sizeof object, actor,
                                        sizeof actor, &detail), 0);
    assert_null(detail);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_vectors),
                                        cmocka_unit_test(test_not_a_record) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
