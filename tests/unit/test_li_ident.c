#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "li_ident.h"

static const struct {
    const char *in;
    li_err err;
    const char *out;
} canon_vectors[] = {
    { "sip:alice@example.com", LI_OK, "sip:alice@example.com" },
    { "SIP:Alice@Example.COM", LI_OK, "sip:alice@example.com" },
    { "sips:alice@example.com:5061;transport=tls", LI_OK, "sip:alice@example.com" },
    { "\"Alice <x>\" <sip:alice@example.com;lr>;tag=1928301774", LI_OK, "sip:alice@example.com" },
    { "Alice <sip:alice:secret@example.com?Subject=hi>", LI_OK, "sip:alice@example.com" },
    { "<sip:al%69ce@example.com>", LI_OK, "sip:alice@example.com" },
    { "sip:sa%a%41@[::1]:5", LI_OK, "sip:sa%25aa@[::1]" }, /* found by fuzz_li_ident */
    { "sip:a%25b@x", LI_OK, "sip:a%25b@x" },
    { "sip:a%3Ab@x", LI_OK, "sip:a%3ab@x" }, /* an escaped ':' is no password separator */
    { "sip:a%20b@x", LI_OK, "sip:a%20b@x" },
    { "sip:alice@example.com;tag=abc", LI_OK, "sip:alice@example.com" },
    { "sip:alice@[2001:db8::1]:5060", LI_OK, "sip:alice@[2001:db8::1]" },
    { "sip:+49-30-1234@ims.example;user=phone", LI_OK, "tel:+49301234" },
    { "sip:+49301234;npdi@ims.example;user=phone", LI_OK, "tel:+49301234" },
    { "<sip:+4930.1234@ims.example>", LI_OK, "tel:+49301234" },
    { "tel:+49-30-(1234)", LI_OK, "tel:+49301234" },
    { "<tel:+49301234;phone-context=+49>;tag=9", LI_OK, "tel:+49301234" },
    /* RFC 3966 5.1.5: a local number is one only within its phone-context. */
    { "tel:7042;phone-context=example.com", LI_OK, "tel:7042;phone-context=example.com" },
    { "tel:7042;isub=1;Phone-Context=Example.COM.;ext=2", LI_OK,
      "tel:7042;phone-context=example.com" },
    { "<tel:70-42;phone-context=+49-30>;tag=1", LI_OK, "tel:7042;phone-context=+4930" },
    { "tel:*70#A;phone-context=pbx.example.com", LI_OK, "tel:*70#a;phone-context=pbx.example.com" },
    { "tel:7042", LI_ERR_PROTO, NULL },
    { "tel:7042;ext=1", LI_ERR_PROTO, NULL },
    { "tel:7042;phone-context=", LI_ERR_PROTO, NULL },
    { "tel:7042;phone-context=+", LI_ERR_PROTO, NULL },
    { "tel:7042;phone-context=exa_mple.com", LI_ERR_PROTO, NULL },
    { "tel:7042;phone-context=-example.com", LI_ERR_PROTO, NULL },
    { "tel:7042;phone-context=example-.com", LI_ERR_PROTO, NULL },
    { "tel:7042;phone-context=example..com", LI_ERR_PROTO, NULL },
    { "tel:7042;phone-context=example.123", LI_ERR_PROTO, NULL },
    { "tel:+4930;phone-context=example.com", LI_OK, "tel:+4930" },
    { "tel:+49ab", LI_ERR_PROTO, NULL }, /* global numbers are digits only */
    { "tel:-+49", LI_ERR_PROTO, NULL },
    /* RFC 3261 19.1.6: user=phone makes the user part a telephone-subscriber. */
    { "sip:7042;phone-context=Example.com@ims.example;user=phone", LI_OK,
      "tel:7042;phone-context=example.com" },
    { "sip:7042@ims.example;user=phone", LI_OK, "sip:7042@ims.example" },
    { "sip:7042;phone-context=example.com@ims.example", LI_OK,
      "sip:7042;phone-context=example.com@ims.example" },
    { "+49 30", LI_ERR_PROTO, NULL },
    { "+49301234", LI_OK, "tel:+49301234" },
    { "49301234", LI_OK, "tel:+49301234" },
    { "sip:example.com", LI_OK, "sip:example.com" },
    { "  <sip:bob@biloxi.example.com>  ", LI_OK, "sip:bob@biloxi.example.com" },
    { "sip:", LI_ERR_PROTO, NULL },
    { "sip:@host", LI_ERR_PROTO, NULL },
    { "<sip:alice@example.com", LI_ERR_PROTO, NULL },
    { "mailto:alice@example.com", LI_ERR_PROTO, NULL },
    { "tel:", LI_ERR_PROTO, NULL },
    { "tel:+", LI_ERR_PROTO, NULL },
    { "", LI_ERR_PROTO, NULL },
    { "sip:al ice@example.com", LI_ERR_PROTO, NULL },
    { "sip:alice@[2001:db8::1", LI_ERR_PROTO, NULL },
};

static void test_canon(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof canon_vectors / sizeof canon_vectors[0]; i++) {
        char out[LI_IDENT_MAX] = "";
        li_err err = li_ident_canon(canon_vectors[i].in, strlen(canon_vectors[i].in), out,
                                    sizeof out);
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
    { "sip-uri", "sip:alice@example.com", LI_OK, "sip:alice@example.com" },
    { "sip-uri", "tel:+4930", LI_ERR_PROTO, NULL },
    { "sip-uri", "sip:example.com", LI_ERR_PROTO, NULL },
    { "sip-uri", "<sip:alice@example.com>", LI_ERR_PROTO, NULL },
    { "tel-uri", "tel:+49-30-1234", LI_OK, "tel:+49301234" },
    { "tel-uri", "sip:alice@example.com", LI_ERR_PROTO, NULL },
    { "tel-uri", "tel:7042;phone-context=example.com", LI_OK,
      "tel:7042;phone-context=example.com" },
    { "tel-uri", "tel:7042", LI_ERR_PROTO, NULL },
    { "tel-uri", "tel:7042;phone-context=+49", LI_OK, "tel:7042;phone-context=+49" },
    { "impu", "tel:7042", LI_ERR_PROTO, NULL },
    { "impu", "sip:7042;phone-context=+49@ims.example;user=phone", LI_OK,
      "tel:7042;phone-context=+49" },
    { "impu", "sip:+49301234@ims.example;user=phone", LI_OK, "tel:+49301234" },
    { "impu", "tel:+49301234", LI_OK, "tel:+49301234" },
    { "impu", "alice@example.com", LI_ERR_PROTO, NULL },
    { "e164", "+49301234", LI_OK, "tel:+49301234" },
    { "e164", "49301234", LI_OK, "tel:+49301234" },
    { "e164", "+4930123456789012", LI_ERR_PROTO, NULL },
    { "e164", "+49-30", LI_ERR_PROTO, NULL },
    { "e164", "", LI_ERR_PROTO, NULL },
    { "imsi", "262011234567890", LI_ERR_INVAL, NULL },
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
