/* li_sdp: table-driven vectors (inputs end right before an unreadable page). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "guard.h"

#include "li_sdp.h"

static int eq(li_sip_str s, const char *lit)
{
    if (!lit)
        return s.p == NULL;
    return li_sip_str_eq(s, lit);
}

/* An e2m offer from an IMS-AGW: session-level fingerprint, two m= lines (audio and
 * MSRP over TLS through a relay path), LF-only line endings on some lines. */
static const char offer[] =
    "v=0\r\n"
    "o=alice 2890844526 2890844527 IN IP4 10.0.0.1\r\n"
    "s= \r\n"
    "c=IN IP4 10.0.0.1\r\n"
    "t=0 0\r\n"
    "a=fingerprint:SHA-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:"
    "4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF\r\n"
    "a=setup:actpass\r\n"
    "m=audio 49170 RTP/AVP 0 8\r\n"
    "a=sendrecv\r\n"
    "m=message 7394 TCP/TLS/MSRP *\n"
    "c=IN IP4 192.0.2.5\r\n"
    "a=accept-types:message/cpim text/plain\r\n"
    "a=accept-wrapped-types:*\r\n"
    "a=path:msrps://agw.example.net:7394/relay1;tcp  msrps://10.0.0.1:7394/u2s3x;tcp\r\n"
    "a=setup:active\r\n"
    "a=3ge2ae:applied\r\n"
    "a=msrp-cema\r\n"
    "m=message 0 TCP/MSRP *\r\n"
    "a=path:msrp://[2001:db8::1]:9/ab+c=/d;tcp\r\n"
    "a=fingerprint:sha-1 00:11\r\n";

static void test_offer(void **state)
{
    (void)state;
    li_sdp sdp;
    assert_int_equal(li_sdp_parse(guarded(offer, sizeof offer - 1), sizeof offer - 1, &sdp),
                     LI_OK);
    assert_int_equal(sdp.n_media, 3);
    assert_true(eq(sdp.origin, "alice 2890844526 2890844527 IN IP4 10.0.0.1"));
    assert_true(eq(sdp.setup, "actpass"));
    const li_sdp_media *a = &sdp.media[0], *m = &sdp.media[1], *m2 = &sdp.media[2];
    assert_true(eq(a->media, "audio"));
    assert_int_equal(a->port, 49170);
    assert_false(a->is_msrp);
    assert_true(eq(a->direction, "sendrecv"));
    assert_true(eq(a->connection, "IN IP4 10.0.0.1"));

    assert_true(eq(m->media, "message"));
    assert_int_equal(m->port, 7394);
    assert_true(m->is_msrp);
    assert_true(m->is_tls);
    assert_true(eq(m->fmt, "*"));
    assert_true(eq(m->connection, "IN IP4 192.0.2.5"));
    assert_true(eq(m->accept_types, "message/cpim text/plain"));
    assert_true(eq(m->accept_wrapped_types, "*"));
    assert_true(eq(m->setup, "active"));
    assert_true(eq(m->e2ae, "applied"));
    assert_true(m->msrp_cema);
    assert_true(eq(m->fingerprint_hash, "SHA-256"));     /* inherited from session level */
    assert_int_equal(m->fingerprint.len, 32 * 3 - 1);

    /* Every path URI yields its session-id. */
    const char *want[] = { "relay1", "u2s3x" };
    li_sip_str rest = m->path, uri, sid;
    size_t n = 0;
    while (li_sdp_path_next(&rest, &uri)) {
        assert_true(n < 2);
        assert_int_equal(li_sdp_msrp_session_id(uri, &sid), LI_OK);
        assert_true(eq(sid, want[n]));
        n++;
    }
    assert_int_equal(n, 2);

    assert_true(m2->is_msrp);
    assert_false(m2->is_tls);
    assert_int_equal(m2->port, 0);
    assert_false(m2->msrp_cema);
    assert_true(eq(m2->fingerprint_hash, "sha-1"));
    assert_true(eq(m2->setup, "actpass"));
    rest = m2->path;
    assert_true(li_sdp_path_next(&rest, &uri));
    assert_int_equal(li_sdp_msrp_session_id(uri, &sid), LI_OK);
    assert_true(eq(sid, "ab+c=/d"));
}

static void test_bad_sdp(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",                                     /* nothing */
        "o=- 1 1 IN IP4 x\r\n",                 /* does not start with v=0 */
        "v=1\r\n",                              /* unknown version */
        "v=0\r\nthis is no sdp\r\n",            /* not <letter>= */
        "v=0\r\nm=message\r\n",                 /* m= too short */
        "v=0\r\nm=message 70000 TCP/MSRP *\r\n",/* port out of range */
        "v=0\r\nm=message x TCP/MSRP *\r\n",    /* port not a number */
        "v=0\r\nm=message 9 \r\n",              /* no proto */
        "v=0\r\nX=y\r\n",                       /* upper-case type */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        li_sdp sdp;
        size_t len = strlen(bad[i]);
        if (li_sdp_parse(guarded(bad[i], len), len, &sdp) != LI_ERR_PROTO)
            fail_msg("bad sdp %zu accepted", i);
    }
    /* More than LI_SDP_MAX_MEDIA m= lines. */
    char buf[2048];
    size_t n = (size_t)snprintf(buf, sizeof buf, "v=0\r\n");
    for (int i = 0; i <= LI_SDP_MAX_MEDIA; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "m=message 9 TCP/MSRP *\r\n");
    li_sdp sdp;
    assert_int_equal(li_sdp_parse(guarded(buf, n), n, &sdp), LI_ERR_PROTO);
}

static void test_minimal(void **state)
{
    (void)state;
    /* No trailing newline, port with a count, missing a=path. */
    const char *in = "v=0\nm=message 9/2 tcp/msrp *";
    li_sdp sdp;
    assert_int_equal(li_sdp_parse(guarded(in, strlen(in)), strlen(in), &sdp), LI_OK);
    assert_int_equal(sdp.n_media, 1);
    assert_true(sdp.media[0].is_msrp);
    assert_int_equal(sdp.media[0].port, 9);
    assert_null(sdp.media[0].path.p);
    assert_null(sdp.media[0].fingerprint.p);
}

static void test_session_ids(void **state)
{
    (void)state;
    static const struct { const char *uri; li_err err; const char *sid; } t[] = {
        { .uri = "msrp://host:1/abc;tcp", .err = LI_OK, .sid = "abc" },
        { .uri = "MSRPS://user@host/xY9;tcp;x=1", .err = LI_OK, .sid = "xY9" },
        { .uri = "msrp://host/abc", .err = LI_OK, .sid = "abc" },
        { .uri = "msrp://host:1/;tcp", .err = LI_ERR_PROTO },
        { .uri = "msrp://host:1", .err = LI_ERR_PROTO },
        { .uri = "msrp:///abc;tcp", .err = LI_ERR_PROTO },
        { .uri = "sip:host/abc;tcp", .err = LI_ERR_PROTO },
        { .uri = "msrp://", .err = LI_ERR_PROTO },
        { .uri = "msrp://h/a b;tcp", .err = LI_ERR_PROTO },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t len = strlen(t[i].uri);
        li_sip_str uri = { guarded(t[i].uri, len), len }, sid;
        li_err err = li_sdp_msrp_session_id(uri, &sid);
        if (err != t[i].err)
            fail_msg("%s: %d", t[i].uri, err);
        if (err == LI_OK)
            assert_true(eq(sid, t[i].sid));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offer), cmocka_unit_test(test_bad_sdp),
        cmocka_unit_test(test_minimal), cmocka_unit_test(test_session_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
