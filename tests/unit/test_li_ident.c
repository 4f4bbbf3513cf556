#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "guard.h"
#include "li_ident.h"

static const struct {
    const char *in;
    li_err err;
    const char *out;
} canon_vectors[] = {
    { .in = "sip:alice@example.com", .err = LI_OK, .out = "sip:alice@example.com" },
    { .in = "SIP:Alice@Example.COM", .err = LI_OK, .out = "sip:alice@example.com" },
    { .in = "sips:alice@example.com:5061;transport=tls", .err = LI_OK,
      .out = "sip:alice@example.com" },
    { .in = "\"Alice <x>\" <sip:alice@example.com;lr>;tag=1928301774", .err = LI_OK,
      .out = "sip:alice@example.com" },
    { .in = "Alice <sip:alice:secret@example.com?Subject=hi>", .err = LI_OK,
      .out = "sip:alice@example.com" },
    { .in = "<sip:al%69ce@example.com>", .err = LI_OK, .out = "sip:alice@example.com" },
    /* found by fuzz_li_ident */
    { .in = "sip:sa%a%41@[::1]:5", .err = LI_OK, .out = "sip:sa%25aa@[::1]" },
    { .in = "sip:a%25b@x", .err = LI_OK, .out = "sip:a%25b@x" },
    /* an escaped ':' is no password separator */
    { .in = "sip:a%3Ab@x", .err = LI_OK, .out = "sip:a%3ab@x" },
    { .in = "sip:a%20b@x", .err = LI_OK, .out = "sip:a%20b@x" },
    { .in = "sip:alice@example.com;tag=abc", .err = LI_OK, .out = "sip:alice@example.com" },
    { .in = "sip:alice@[2001:db8::1]:5060", .err = LI_OK, .out = "sip:alice@[2001:db8::1]" },
    { .in = "sip:+49-30-1234@ims.example;user=phone", .err = LI_OK, .out = "tel:+49301234" },
    { .in = "sip:+49301234;npdi@ims.example;user=phone", .err = LI_OK, .out = "tel:+49301234" },
    { .in = "<sip:+4930.1234@ims.example>", .err = LI_OK, .out = "tel:+49301234" },
    { .in = "tel:+49-30-(1234)", .err = LI_OK, .out = "tel:+49301234" },
    { .in = "<tel:+49301234;phone-context=+49>;tag=9", .err = LI_OK, .out = "tel:+49301234" },
    /* RFC 3966 5.1.5: a local number is one only within its phone-context. */
    { .in = "tel:7042;phone-context=example.com", .err = LI_OK,
      .out = "tel:7042;phone-context=example.com" },
    { .in = "tel:7042;isub=1;Phone-Context=Example.COM.;ext=2", .err = LI_OK,
      .out = "tel:7042;phone-context=example.com" },
    { .in = "<tel:70-42;phone-context=+49-30>;tag=1", .err = LI_OK,
      .out = "tel:7042;phone-context=+4930" },
    { .in = "tel:*70#A;phone-context=pbx.example.com", .err = LI_OK,
      .out = "tel:*70#a;phone-context=pbx.example.com" },
    { .in = "tel:7042", .err = LI_ERR_PROTO },
    { .in = "tel:7042;ext=1", .err = LI_ERR_PROTO },
    { .in = "tel:7042;phone-context=", .err = LI_ERR_PROTO },
    { .in = "tel:7042;phone-context=+", .err = LI_ERR_PROTO },
    { .in = "tel:7042;phone-context=exa_mple.com", .err = LI_ERR_PROTO },
    { .in = "tel:7042;phone-context=-example.com", .err = LI_ERR_PROTO },
    { .in = "tel:7042;phone-context=example-.com", .err = LI_ERR_PROTO },
    { .in = "tel:7042;phone-context=example..com", .err = LI_ERR_PROTO },
    { .in = "tel:7042;phone-context=example.123", .err = LI_ERR_PROTO },
    { .in = "tel:+4930;phone-context=example.com", .err = LI_OK, .out = "tel:+4930" },
    { .in = "tel:+49ab", .err = LI_ERR_PROTO }, /* global numbers are digits only */
    { .in = "tel:-+49", .err = LI_ERR_PROTO },
    /* RFC 3261 19.1.6: user=phone makes the user part a telephone-subscriber. */
    { .in = "sip:7042;phone-context=Example.com@ims.example;user=phone", .err = LI_OK,
      .out = "tel:7042;phone-context=example.com" },
    { .in = "sip:7042@ims.example;user=phone", .err = LI_OK, .out = "sip:7042@ims.example" },
    { .in = "sip:7042;phone-context=example.com@ims.example", .err = LI_OK,
      .out = "sip:7042;phone-context=example.com@ims.example" },
    { .in = "+49 30", .err = LI_ERR_PROTO },
    { .in = "+49301234", .err = LI_OK, .out = "tel:+49301234" },
    { .in = "49301234", .err = LI_OK, .out = "tel:+49301234" },
    { .in = "sip:example.com", .err = LI_OK, .out = "sip:example.com" },
    { .in = "  <sip:bob@biloxi.example.com>  ", .err = LI_OK, .out = "sip:bob@biloxi.example.com" },
    { .in = "sip:", .err = LI_ERR_PROTO },
    { .in = "sip:@host", .err = LI_ERR_PROTO },
    { .in = "<sip:alice@example.com", .err = LI_ERR_PROTO },
    { .in = "mailto:alice@example.com", .err = LI_ERR_PROTO },
    { .in = "tel:", .err = LI_ERR_PROTO },
    { .in = "tel:+", .err = LI_ERR_PROTO },
    { .in = "", .err = LI_ERR_PROTO },
    { .in = "sip:al ice@example.com", .err = LI_ERR_PROTO },
    { .in = "sip:alice@[2001:db8::1", .err = LI_ERR_PROTO },
};

static void test_canon(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof canon_vectors / sizeof canon_vectors[0]; i++) {
        char out[LI_IDENT_MAX] = "";
        size_t len = strlen(canon_vectors[i].in);
        li_err err = li_ident_canon(guarded(canon_vectors[i].in, len), len, out, sizeof out);
        if (err != canon_vectors[i].err || (err == LI_OK && strcmp(out, canon_vectors[i].out)))
            fail_msg("vector %zu '%s': got %d '%s'", i, canon_vectors[i].in, err, out);
    }
}

static void test_canon_small_output(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(li_ident_canon("sip:alice@example.com", 21, out, sizeof out),
                     LI_ERR_TOO_BIG);
    static const char local[] = "tel:7042;phone-context=example.com";
    assert_int_equal(li_ident_canon(local, sizeof local - 1, out, sizeof out), LI_ERR_TOO_BIG);
    /* A context longer than any canonical identity. */
    char big[LI_IDENT_MAX + 64], canon[LI_IDENT_MAX];
    int n = snprintf(big, sizeof big, "tel:1;phone-context=+");
    memset(big + n, '9', sizeof big - (size_t)n - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(li_ident_canon(big, strlen(big), canon, sizeof canon), LI_ERR_TOO_BIG);
    memcpy(big + n - 1, "a.", 2);
    memset(big + n + 1, 'b', sizeof big - (size_t)n - 2);
    assert_int_equal(li_ident_canon(big, strlen(big), canon, sizeof canon), LI_ERR_TOO_BIG);
}

static const struct {
    const char *type;
    const char *value;
    li_err err;
    const char *out;
} target_vectors[] = {
    { .type = "sip-uri", .value = "sip:alice@example.com", .err = LI_OK,
      .out = "sip:alice@example.com" },
    { .type = "sip-uri", .value = "tel:+4930", .err = LI_ERR_PROTO },
    { .type = "sip-uri", .value = "sip:example.com", .err = LI_ERR_PROTO },
    { .type = "sip-uri", .value = "<sip:alice@example.com>", .err = LI_ERR_PROTO },
    { .type = "tel-uri", .value = "tel:+49-30-1234", .err = LI_OK, .out = "tel:+49301234" },
    { .type = "tel-uri", .value = "sip:alice@example.com", .err = LI_ERR_PROTO },
    { .type = "tel-uri", .value = "tel:7042;phone-context=example.com", .err = LI_OK,
      .out = "tel:7042;phone-context=example.com" },
    { .type = "tel-uri", .value = "tel:7042", .err = LI_ERR_PROTO },
    { .type = "tel-uri", .value = "tel:7042;phone-context=+49", .err = LI_OK,
      .out = "tel:7042;phone-context=+49" },
    { .type = "impu", .value = "tel:7042", .err = LI_ERR_PROTO },
    { .type = "impu", .value = "sip:7042;phone-context=+49@ims.example;user=phone", .err = LI_OK,
      .out = "tel:7042;phone-context=+49" },
    { .type = "impu", .value = "sip:+49301234@ims.example;user=phone", .err = LI_OK,
      .out = "tel:+49301234" },
    { .type = "impu", .value = "tel:+49301234", .err = LI_OK, .out = "tel:+49301234" },
    { .type = "impu", .value = "alice@example.com", .err = LI_ERR_PROTO },
    { .type = "e164", .value = "+49301234", .err = LI_OK, .out = "tel:+49301234" },
    { .type = "e164", .value = "49301234", .err = LI_OK, .out = "tel:+49301234" },
    { .type = "e164", .value = "+4930123456789012", .err = LI_ERR_PROTO },
    { .type = "e164", .value = "+49-30", .err = LI_ERR_PROTO },
    { .type = "e164", .value = "", .err = LI_ERR_PROTO },
    { .type = "imsi", .value = "262011234567890", .err = LI_ERR_INVAL },
};

static void test_canon_target(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof target_vectors / sizeof target_vectors[0]; i++) {
        char out[LI_IDENT_MAX] = "";
        li_err err = li_ident_canon_target(target_vectors[i].type, target_vectors[i].value, out,
                                           sizeof out);
        if (err != target_vectors[i].err || (err == LI_OK && strcmp(out, target_vectors[i].out)))
            fail_msg("vector %zu %s '%s': got %d '%s'", i, target_vectors[i].type,
                     target_vectors[i].value, err, out);
    }
}

/* A provisioned target and the identities a POI sees for the same person match. */
static void test_target_matches_header(void **state)
{
    (void)state;
    char a[LI_IDENT_MAX], b[LI_IDENT_MAX];
    assert_int_equal(li_ident_canon_target("e164", "+49301234", a, sizeof a), LI_OK);
    const char *hdr = "\"Bob\" <sip:+49-30-1234@ims.mnc001.mcc262.3gppnetwork.org;user=phone>";
    assert_int_equal(li_ident_canon(hdr, strlen(hdr), b, sizeof b), LI_OK);
    assert_string_equal(a, b);
    /* A local number: the same in the same context, another number in another one. */
    assert_int_equal(li_ident_canon_target("tel-uri", "tel:70-42;phone-context=Corp.Example",
                                           a, sizeof a), LI_OK);
    hdr = "<sip:7042;phone-context=corp.example.@pbx.corp.example;user=phone>;tag=x";
    assert_int_equal(li_ident_canon(hdr, strlen(hdr), b, sizeof b), LI_OK);
    assert_string_equal(a, b);
    assert_int_equal(li_ident_canon_target("tel-uri", "tel:7042;phone-context=+4930", b,
                                           sizeof b), LI_OK);
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canon), cmocka_unit_test(test_canon_small_output),
        cmocka_unit_test(test_canon_target), cmocka_unit_test(test_target_matches_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
