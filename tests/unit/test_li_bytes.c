#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "li_bytes.h"
#include "li_time.h"

static void test_be_roundtrip(void **state)
{
    (void)state;
    uint8_t b[8];
    li_put_be16(b, 0x0102);
    assert_int_equal(b[0], 1);
    assert_int_equal(b[1], 2);
    assert_int_equal(li_get_be16(b), 0x0102);
    li_put_be32(b, 0xdeadbeef);
    assert_int_equal(b[0], 0xde);
    assert_int_equal(li_get_be32(b), 0xdeadbeef);
    li_put_be64(b, 0x0102030405060708ull);
    assert_int_equal(b[7], 8);
    assert_true(li_get_be64(b) == 0x0102030405060708ull);
}

static void test_slice_bounds(void **state)
{
    (void)state;
    static const uint8_t data[] = { 0, 5, 0, 0, 0, 9, 0xff };
    li_slice s = li_slice_of(data, sizeof data);
    uint16_t v16;
    uint32_t v32;
    uint8_t v8;
    assert_int_equal(li_slice_be16(&s, &v16), LI_OK);
    assert_int_equal(v16, 5);
    assert_int_equal(li_slice_be32(&s, &v32), LI_OK);
    assert_int_equal(v32, 9);
    /* One byte left: a 16-bit read fails and leaves the slice as it was. */
    assert_int_equal(li_slice_be16(&s, &v16), LI_ERR_PROTO);
    assert_int_equal(s.len, 1);
    assert_int_equal(li_slice_u8(&s, &v8), LI_OK);
    assert_int_equal(v8, 0xff);
    li_slice t;
    assert_int_equal(li_slice_take(&s, 1, &t), LI_ERR_PROTO);
    assert_int_equal(li_slice_take(&s, 0, &t), LI_OK);
}

static void test_buf_growth_and_max(void **state)
{
    (void)state;
    li_buf b;
    li_buf_init(&b, 1000);
    for (int i = 0; i < 250; i++)
        assert_int_equal(li_buf_append_be32(&b, (uint32_t)i), LI_OK);
    assert_int_equal(b.len, 1000);
    assert_int_equal(li_buf_append_u8(&b, 1), LI_ERR_TOO_BIG);
    assert_int_equal(b.len, 1000);
    assert_int_equal(li_get_be32(b.data + 996), 249);
    li_buf_consume(&b, 996);
    assert_int_equal(b.len, 4);
    assert_int_equal(li_get_be32(b.data), 249);
    li_buf_reset(&b);
    assert_int_equal(li_buf_printf(&b, "%s-%d", "x", 42), LI_OK);
    assert_memory_equal(b.data, "x-42", 4);
    li_buf_free(&b);
    li_buf_free(NULL);
}

static const struct {
    const char *text;
    int colons;
    li_err err;
    size_t len;
} hex_vectors[] = {
    { .text = "00ff10", .err = LI_OK, .len = 3 },
    { .text = "00:FF:10", .colons = 1, .err = LI_OK, .len = 3 },
    { .text = "00:FF:10", .err = LI_ERR_PROTO },
    { .text = "0", .err = LI_ERR_PROTO },
    { .text = "zz", .err = LI_ERR_PROTO },
    { .text = "00:", .colons = 1, .err = LI_ERR_PROTO },
    { .text = "0011223344", .err = LI_ERR_TOO_BIG },
};

static void test_hex(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof hex_vectors / sizeof hex_vectors[0]; i++) {
        uint8_t out[4];
        size_t len = 0;
        li_err err = li_hex_decode(hex_vectors[i].text, strlen(hex_vectors[i].text),
                                   hex_vectors[i].colons, out, sizeof out, &len);
        assert_int_equal(err, hex_vectors[i].err);
        if (err == LI_OK)
            assert_int_equal(len, hex_vectors[i].len);
    }
    char text[7];
    li_hex_encode((const uint8_t *)"\x00\xff\x10", 3, text);
    assert_string_equal(text, "00ff10");
}

static void test_uuid(void **state)
{
    (void)state;
    uint8_t u[16], v[16];
    char text[37];
    assert_int_equal(li_uuid_random(u), LI_OK);
    assert_int_equal(u[6] >> 4, 4);
    li_uuid_format(u, text);
    assert_int_equal(li_uuid_parse(text, v), LI_OK);
    assert_memory_equal(u, v, 16);
    assert_int_equal(li_uuid_parse("12345678-1234-1234-1234-12345678901", v), LI_ERR_PROTO);
    assert_int_equal(li_uuid_parse("12345678x1234-1234-1234-123456789012", v), LI_ERR_PROTO);
}

static const struct {
    const char *text;
    li_err err;
    int64_t ns;
} time_vectors[] = {
    { .text = "1970-01-01T00:00:00Z", .err = LI_OK },
    { .text = "2026-11-27T20:57:02.5Z", .err = LI_OK, .ns = 1795813022500000000 },
    { .text = "2026-11-27T21:57:02.5+01:00", .err = LI_OK, .ns = 1795813022500000000 },
    { .text = "2026-11-27T20:57:02.123456789Z", .err = LI_OK, .ns = 1795813022123456789 },
    { .text = "2026-02-31T00:00:00Z", .err = LI_ERR_PROTO },
    { .text = "2026-11-27T20:57:02", .err = LI_ERR_PROTO },
    { .text = "2026-11-27 20:57:02Zx", .err = LI_ERR_PROTO },
    { .text = "2026-13-01T00:00:00Z", .err = LI_ERR_PROTO },
    { .text = "", .err = LI_ERR_PROTO },
    { .text = "9999-12-31T23:59:59Z", .err = LI_ERR_PROTO }, /* beyond int64 nanoseconds */
    { .text = "2262-04-11T23:47:16Z", .err = LI_OK, .ns = 9223372036000000000 },
};

static void test_rfc3339(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof time_vectors / sizeof time_vectors[0]; i++) {
        int64_t ns = -1;
        assert_int_equal(li_time_parse_rfc3339(time_vectors[i].text, &ns), time_vectors[i].err);
        if (time_vectors[i].err == LI_OK)
            assert_true(ns == time_vectors[i].ns);
    }
    char out[40];
    li_time_format_rfc3339(1795813022123456789ull, 6, out, sizeof out);
    assert_string_equal(out, "2026-11-27T20:57:02.123456Z");
    li_time_format_rfc3339(0, 0, out, sizeof out);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_be_roundtrip), cmocka_unit_test(test_slice_bounds),
        cmocka_unit_test(test_buf_growth_and_max), cmocka_unit_test(test_hex),
        cmocka_unit_test(test_uuid), cmocka_unit_test(test_rfc3339),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
