/* li_sip: table-driven vectors. Every input is placed right before an unreadable page
 * (as picohttpparser's tests do), so any read past the end crashes the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "guard.h"

#include "li_sip.h"

static int eq(li_sip_str s, const char *lit)
{
    return li_sip_str_eq(s, lit);
}

#define INVITE_MULTIPART                                                                  \
    "INVITE sip:bob@ims.example.net;transport=tcp SIP/2.0\r\n"                             \
    "v: SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK776asdhds\r\n"                             \
    "Via: SIP/2.0/TCP 10.0.0.2:5060;branch=z9hG4bK2\r\n"                                   \
    "Max-Forwards: 70\r\n"                                                                 \
    "t: Bob <sip:bob@ims.example.net>\r\n"                                                 \
    "f: \"Alice, \\\"A\\\" <x>\" <sip:alice@ims.example.net;user=phone>;tag=1928301774\r\n" \
    "i: a84b4c76e66710@pc33.example.net\r\n"                                               \
    "CSeq:   314159   INVITE\r\n"                                                          \
    "P-Asserted-Identity: <sip:alice@ims.example.net>,\r\n"                                \
    "  <tel:+49-30-1234>\r\n"                                                              \
    "P-Asserted-Identity: \"Second\" <sip:alice2@ims.example.net>\r\n"                     \
    "m: <sip:alice@10.0.0.1:5060;transport=tcp>;+g.3gpp.icsi-ref=\"urn%3Aurn-7\"\r\n"      \
    "Subject: folded\r\n"                                                                  \
    "\tsubject line\r\n"                                                                   \
    "c: multipart/mixed;boundary=\"b1\"\r\n"                                               \
    "l: 238\r\n"                                                                           \
    "\r\n"                                                                                 \
    "preamble\r\n"                                                                         \
    "--b1\r\n"                                                                             \
    "Content-Type: application/resource-lists+xml\r\n"                                     \
    "\r\n"                                                                                 \
    "<list>--b1x</list>\r\n"                                                               \
    "--b1\r\n"                                                                             \
    "Content-Type: application/sdp\r\n"                                                    \
    "\r\n"                                                                                 \
    "v=0\r\n"                                                                              \
    "o=- 1 1 IN IP4 10.0.0.1\r\n"                                                          \
    "s=-\r\n"                                                                              \
    "m=message 7394 TCP/TLS/MSRP *\r\n"                                                    \
    "a=path:msrps://10.0.0.1:7394/s111;tcp\r\n"                                            \
    "\r\n"                                                                                 \
    "--b1--\r\n"

#define RESPONSE_200                                                                      \
    "SIP/2.0 200 OK\r\n"                                                                   \
    "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"                                        \
    "To: <sip:bob@example.net>;tag=xyz\r\n"                                                \
    "From: sip:alice@example.net;tag=abc\r\n"                                              \
    "Call-ID: c1\r\n"                                                                      \
    "CSeq: 1 INVITE\r\n"                                                                   \
    "Content-Length: 0\r\n"                                                                \
    "\r\n"

/* Header and framing vectors: input, stream flag, expected result and (on LI_OK) the
 * bytes consumed, whether a request, the method or status and the Call-ID. */
typedef struct vector {
    const char *name;
    const char *in;
    int stream;
    li_err err;
    size_t used;           /* 0: the whole input */
    int is_request;
    const char *method;
    int status;
    const char *call_id;
    size_t n_headers;
} vector;

static const vector vectors[] = {
    { .name = "invite multipart", .in = INVITE_MULTIPART, .stream = 1, .err = LI_OK,
      .is_request = 1, .method = "INVITE", .call_id = "a84b4c76e66710@pc33.example.net",
      .n_headers = 13 },
    { .name = "200 ok", .in = RESPONSE_200, .stream = 1, .err = LI_OK, .status = 200,
      .call_id = "c1", .n_headers = 6 },
    { .name = "keepalive crlf before message", .in = "\r\n\r\n" RESPONSE_200, .stream = 1,
      .err = LI_OK, .status = 200, .call_id = "c1", .n_headers = 6 },
    { .name = "two messages in a stream", .in = RESPONSE_200 RESPONSE_200, .stream = 1,
      .err = LI_OK, .used = sizeof RESPONSE_200 - 1, .status = 200, .call_id = "c1",
      .n_headers = 6 },
    { .name = "bare LF lines", .in = "MESSAGE sip:b@x SIP/2.0\nCall-ID: lf1\nl: 5\n\nhello",
      .stream = 1, .err = LI_OK, .is_request = 1, .method = "MESSAGE", .call_id = "lf1",
      .n_headers = 2 },
    { .name = "lower-case version, space before colon",
      .in = "OPTIONS sip:x sip/2.0\r\nCall-ID : sp\r\n\r\n", .err = LI_OK, .is_request = 1,
      .method = "OPTIONS", .call_id = "sp", .n_headers = 1 },
    { .name = "reason phrase empty", .in = "SIP/2.0 180\r\ni: r\r\n\r\n", .err = LI_OK,
      .status = 180, .call_id = "r", .n_headers = 1 },
    { .name = "datagram body without content-length",
      .in = "MESSAGE sip:b@x SIP/2.0\r\ni: d1\r\n\r\nbody bytes", .err = LI_OK, .is_request = 1,
      .method = "MESSAGE", .call_id = "d1", .n_headers = 1 },
    { .name = "datagram without blank line", .in = "BYE sip:b@x SIP/2.0\r\ni: nb", .err = LI_OK,
      .is_request = 1, .method = "BYE", .call_id = "nb", .n_headers = 1 },
    { .name = "datagram content-length shorter than body",
      .in = "MESSAGE sip:b@x SIP/2.0\r\nl: 2\r\n\r\nhello", .err = LI_OK,
      .used = sizeof "MESSAGE sip:b@x SIP/2.0\r\nl: 2\r\n\r\nhe" - 1, .is_request = 1,
      .method = "MESSAGE", .n_headers = 1 },
    { .name = "stream header incomplete", .in = "INVITE sip:b@x SIP/2.0\r\nCall-ID: x\r\n",
      .stream = 1, .err = LI_AGAIN },
    { .name = "stream body incomplete", .in = "MESSAGE sip:b@x SIP/2.0\r\nl: 10\r\n\r\nhello",
      .stream = 1, .err = LI_AGAIN },
    { .name = "only keepalive", .in = "\r\n\r\n", .stream = 1, .err = LI_AGAIN },
    { .name = "datagram content-length beyond end",
      .in = "MESSAGE sip:b@x SIP/2.0\r\nl: 10\r\n\r\nhi", .err = LI_ERR_PROTO },
    { .name = "conflicting content-length",
      .in = "MESSAGE sip:b@x SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab", .stream = 1,
      .err = LI_ERR_PROTO },
    { .name = "content-length overflow",
      .in = "MESSAGE sip:b@x SIP/2.0\r\nl: 99999999999999999999999\r\n\r\n", .stream = 1,
      .err = LI_ERR_PROTO },
    { .name = "content-length not a number", .in = "MESSAGE sip:b@x SIP/2.0\r\nl: -1\r\n\r\n",
      .stream = 1, .err = LI_ERR_PROTO },
    { .name = "header without colon", .in = "INVITE sip:b@x SIP/2.0\r\nCall-ID x\r\n\r\n",
      .stream = 1, .err = LI_ERR_PROTO },
    { .name = "fold before any header", .in = "INVITE sip:b@x SIP/2.0\r\n folded\r\n\r\n",
      .stream = 1, .err = LI_ERR_PROTO },
    { .name = "bad status code", .in = "SIP/2.0 2x0 OK\r\n\r\n", .stream = 1, .err = LI_ERR_PROTO },
    { .name = "status code below 100", .in = "SIP/2.0 099 Odd\r\n\r\n", .stream = 1,
      .err = LI_ERR_PROTO },
    { .name = "not SIP", .in = "GET / HTTP/1.1\r\nHost: x\r\n\r\n", .stream = 1,
      .err = LI_ERR_PROTO },
    { .name = "request line without uri", .in = "INVITE  SIP/2.0\r\n\r\n", .stream = 1,
      .err = LI_ERR_PROTO },
    { .name = "bad cseq", .in = "INVITE sip:b@x SIP/2.0\r\nCSeq: INVITE\r\n\r\n", .stream = 1,
      .err = LI_ERR_PROTO },
    { .name = "cseq above 2^32", .in = "INVITE sip:b@x SIP/2.0\r\nCSeq: 4294967296 INVITE\r\n\r\n",
      .stream = 1, .err = LI_ERR_PROTO },
    /* RFC 4475 3.1.1.3 (intmeth): a method of unusual token characters. */
    { .name = "unusual method token",
      .in = "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$"
            "/crazy?,;;*@example.com SIP/2.0\r\ni: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\n"
            "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n\r\n",
      .err = LI_OK, .is_request = 1, .method = "!interesting-Method0123456789_*+`.%indeed'~",
      .call_id = "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{", .n_headers = 2 },
    /* RFC 4475 3.1.1.1 (wsinv): whitespace and folding everywhere it is allowed. */
    { .name = "folded call-id and long whitespace",
      .in = "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n"
            "Call-ID   :   \r\n   0ha0isndaksdj@192.0.2.1  \r\n"
            "CSeq: 0009\r\n  INVITE\r\nl:0\r\n\r\n",
      .stream = 1, .err = LI_OK, .is_request = 1, .method = "INVITE",
      .call_id = "0ha0isndaksdj@192.0.2.1", .n_headers = 3 },
    /* RFC 4475 3.1.2.1 (noreason): a status line without reason phrase text. */
    { .name = "empty reason after space", .in = "SIP/2.0 100 \r\ni: nr\r\n\r\n", .err = LI_OK,
      .status = 100, .call_id = "nr", .n_headers = 1 },
    /* RFC 4475 3.1.2.6 (mcl01) is the conflicting content-length vector above. */
    { .name = "content-length above the maximum",
      .in = "MESSAGE sip:b@x SIP/2.0\r\nl: 16777217\r\n\r\n", .stream = 1, .err = LI_ERR_PROTO },
    { .name = "nul in method", .in = "INV\0TE sip:b@x SIP/2.0\r\n\r\n", .stream = 1,
      .err = LI_ERR_PROTO },
};

static size_t vec_len(const vector *v)
{
    /* "nul in method" holds a NUL: measure to the end of its literal. */
    if (strcmp(v->name, "nul in method") == 0)
        return sizeof "INV\0TE sip:b@x SIP/2.0\r\n\r\n" - 1;
    return strlen(v->in);
}

static void test_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const vector *v = &vectors[i];
        size_t len = vec_len(v);
        const char *in = guarded(v->in, len);
        li_sip_msg m;
        size_t used = 0;
        li_err err = li_sip_parse(in, len, v->stream, &m, &used);
        if (err != v->err)
            fail_msg("%s: got %d want %d", v->name, err, v->err);
        if (err != LI_OK)
            continue;
        if (used != (v->used ? v->used : len))
            fail_msg("%s: used %zu want %zu", v->name, used, v->used ? v->used : len);
        assert_int_equal(m.is_request, v->is_request);
        if (v->method)
            assert_true(eq(m.method, v->method));
        assert_int_equal(m.status, v->status);
        if (v->call_id)
            assert_true(eq(m.call_id, v->call_id));
        else
            assert_null(m.call_id.p);
        if (m.n_headers != v->n_headers)
            fail_msg("%s: %zu headers want %zu", v->name, m.n_headers, v->n_headers);
    }
}

/* Every proper prefix of a stream message needs more input; never an error. */
static void test_stream_prefixes(void **state)
{
    (void)state;
    static const char *const msgs[] = { INVITE_MULTIPART, RESPONSE_200 };
    for (size_t k = 0; k < 2; k++) {
        size_t len = strlen(msgs[k]);
        for (size_t n = 0; n < len; n++) {
            const char *in = guarded(msgs[k], n);
            li_sip_msg m;
            size_t used;
            li_err err = li_sip_parse(in, n, 1, &m, &used);
            if (err != LI_AGAIN)
                fail_msg("msg %zu prefix %zu: %d", k, n, err);
        }
    }
}

static void test_invite_fields(void **state)
{
    (void)state;
    size_t len = strlen(INVITE_MULTIPART);
    const char *in = guarded(INVITE_MULTIPART, len);
    li_sip_msg m;
    size_t used;
    assert_int_equal(li_sip_parse(in, len, 1, &m, &used), LI_OK);
    assert_true(eq(m.request_uri, "sip:bob@ims.example.net;transport=tcp"));
    assert_int_equal(m.cseq, 314159);
    assert_true(eq(m.cseq_method, "INVITE"));
    assert_int_equal(m.content_length, 238);
    assert_int_equal(m.body.len, 238);

    li_sip_addr from, to;
    assert_int_equal(li_sip_addr_parse(m.from, &from), LI_OK);
    assert_true(eq(from.display, "Alice, \\\"A\\\" <x>"));
    assert_true(eq(from.uri, "sip:alice@ims.example.net;user=phone"));
    assert_true(eq(from.tag, "1928301774"));
    assert_int_equal(li_sip_addr_parse(m.to, &to), LI_OK);
    assert_true(eq(to.uri, "sip:bob@ims.example.net"));
    assert_null(to.tag.p);

    /* Two P-Asserted-Identity headers, the first a folded list of two. */
    const char *want[] = { "sip:alice@ims.example.net", "tel:+49-30-1234",
                           "sip:alice2@ims.example.net" };
    size_t n = 0, iter = 0;
    li_sip_str v;
    while ((v = li_sip_header_next(&m, LI_SIP_H_P_ASSERTED_IDENTITY, &iter)).p) {
        li_sip_str elem;
        while (li_sip_list_next(&v, &elem)) {
            li_sip_addr a;
            assert_int_equal(li_sip_addr_parse(elem, &a), LI_OK);
            assert_true(n < 3);
            assert_true(eq(a.uri, want[n]));
            n++;
        }
    }
    assert_int_equal(n, 3);

    /* Folded Subject keeps its fold inside the value. */
    iter = 0;
    v = li_sip_header_next(&m, LI_SIP_H_SUBJECT, &iter);
    assert_true(eq(v, "folded\r\n\tsubject line"));
    /* Via: compact and full forms are the same header. */
    iter = 0;
    assert_non_null(li_sip_header_next(&m, LI_SIP_H_VIA, &iter).p);
    assert_non_null(li_sip_header_next(&m, LI_SIP_H_VIA, &iter).p);
    assert_null(li_sip_header_next(&m, LI_SIP_H_VIA, &iter).p);

    li_sip_addr contact;
    assert_int_equal(li_sip_addr_parse(m.contact, &contact), LI_OK);
    assert_true(eq(contact.uri, "sip:alice@10.0.0.1:5060;transport=tcp"));

    li_sip_str sdp;
    assert_int_equal(li_sip_sdp_body(&m, &sdp), LI_OK);
    assert_true(sdp.len > 4 && memcmp(sdp.p, "v=0\r\n", 5) == 0);
    assert_true(eq(sdp, "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nm=message 7394 TCP/TLS/MSRP "
                        "*\r\na=path:msrps://10.0.0.1:7394/s111;tcp\r\n"));
}

typedef struct addr_vector {
    const char *in;
    li_err err;
    const char *display, *uri, *tag;
} addr_vector;

static void test_addr(void **state)
{
    (void)state;
    static const addr_vector av[] = {
        { .in = "Bob <sip:bob@x>;tag=a", .err = LI_OK, .display = "Bob", .uri = "sip:bob@x",
          .tag = "a" },
        { .in = "  \"B;o,b\" <sip:bob@x;lr>  ;  TAG = q1 ;x", .err = LI_OK, .display = "B;o,b",
          .uri = "sip:bob@x;lr", .tag = "q1" },
        { .in = "sip:bob@x;tag=t2;user=phone", .err = LI_OK, .display = "", .uri = "sip:bob@x",
          .tag = "t2" },
        { .in = "<tel:+1234>", .err = LI_OK, .display = "", .uri = "tel:+1234" },
        { .in = "tel:+1234", .err = LI_OK, .display = "", .uri = "tel:+1234" },
        { .in = "<sip:x@y", .err = LI_ERR_PROTO },
        { .in = "\"unterminated <sip:x@y>", .err = LI_ERR_PROTO },
        { .in = "<>", .err = LI_ERR_PROTO },
        { .in = "", .err = LI_ERR_PROTO },
        { .in = "<sip:x@y> junk", .err = LI_ERR_PROTO },
        { .in = "Bob <sip:bob@x>;tag", .err = LI_OK, .display = "Bob", .uri = "sip:bob@x",
          .tag = "" },
        /* addr-spec: a ';' before any '<' starts the header parameters */
        { .in = "sip:a@b;x=<y>;tag=7", .err = LI_OK, .display = "", .uri = "sip:a@b", .tag = "7" },
        { .in = "sip:a@b;x=\"y", .err = LI_OK, .display = "", .uri = "sip:a@b" },
        { .in = "\"B\\\" <q>\" <sip:b@x>", .err = LI_OK, .display = "B\\\" <q>", .uri = "sip:b@x" },
        { .in = "\"unterminated sip:x@y", .err = LI_ERR_PROTO },
        { .in = "A\"B <sip:x@y>", .err = LI_ERR_PROTO },
    };
    for (size_t i = 0; i < sizeof av / sizeof av[0]; i++) {
        size_t len = strlen(av[i].in);
        li_sip_str s = { guarded(av[i].in, len), len };
        li_sip_addr a;
        li_err err = li_sip_addr_parse(s, &a);
        if (err != av[i].err)
            fail_msg("addr %zu (%s): %d", i, av[i].in, err);
        if (err != LI_OK)
            continue;
        assert_true(eq(a.display, av[i].display) || (a.display.len == 0 && !*av[i].display));
        assert_true(eq(a.uri, av[i].uri));
        if (av[i].tag)
            assert_true(eq(a.tag, av[i].tag));
        else
            assert_null(a.tag.p);
    }
}

static void test_list(void **state)
{
    (void)state;
    const char *in = " <sip:a@x;p=\"1,2\">, \"c, d\" <tel:+1> ,, sip:e@x ";
    li_sip_str rest = { guarded(in, strlen(in)), strlen(in) };
    const char *want[] = { "<sip:a@x;p=\"1,2\">", "\"c, d\" <tel:+1>", "sip:e@x" };
    li_sip_str e;
    size_t n = 0;
    while (li_sip_list_next(&rest, &e)) {
        assert_true(n < 3);
        assert_true(eq(e, want[n]));
        n++;
    }
    assert_int_equal(n, 3);
}

static void test_header_ids(void **state)
{
    (void)state;
    static const struct { const char *name; li_sip_hdr id; } t[] = {
        { .name = "i", .id = LI_SIP_H_CALL_ID },
        { .name = "CALL-ID", .id = LI_SIP_H_CALL_ID },
        { .name = "f", .id = LI_SIP_H_FROM },
        { .name = "T", .id = LI_SIP_H_TO },
        { .name = "m", .id = LI_SIP_H_CONTACT },
        { .name = "v", .id = LI_SIP_H_VIA },
        { .name = "l", .id = LI_SIP_H_CONTENT_LENGTH },
        { .name = "c", .id = LI_SIP_H_CONTENT_TYPE },
        { .name = "k", .id = LI_SIP_H_SUPPORTED },
        { .name = "s", .id = LI_SIP_H_SUBJECT },
        { .name = "e", .id = LI_SIP_H_CONTENT_ENCODING },
        { .name = "o", .id = LI_SIP_H_EVENT },
        { .name = "u", .id = LI_SIP_H_ALLOW_EVENTS },
        { .name = "r", .id = LI_SIP_H_REFER_TO },
        { .name = "b", .id = LI_SIP_H_REFERRED_BY },
        { .name = "x", .id = LI_SIP_H_SESSION_EXPIRES },
        { .name = "p-asserted-identity", .id = LI_SIP_H_P_ASSERTED_IDENTITY },
        { .name = "q", .id = LI_SIP_H_OTHER },
        { .name = "X-Custom", .id = LI_SIP_H_OTHER },
        { .name = "cseq", .id = LI_SIP_H_CSEQ },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        assert_int_equal(li_sip_header_id(t[i].name, strlen(t[i].name)), t[i].id);
}

static void test_multipart(void **state)
{
    (void)state;
    static const struct {
        const char *body, *boundary;
        li_err err;
        const char *part;
    } t[] = {
        { .body = "--xx\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--xx--", .boundary = "xx",
          .err = LI_OK, .part = "v=0" },
        { .body = "--xx\nc: text/plain\n\nhi\n--xx\nc: Application/SDP ; a=b\n\nv=0\n\n--xx--\n",
          .boundary = "xx", .err = LI_OK, .part = "v=0\n" },
        { .body = "--xx\r\nc: text/plain\r\n\r\nhi\r\n--xx--\r\n", .boundary = "xx",
          .err = LI_ERR_NOT_FOUND },
        { .body = "no delimiter at all", .boundary = "xx", .err = LI_ERR_PROTO },
        { .body = "--xx\r\nc: application/sdp\r\n\r\nv=0 with no close", .boundary = "xx",
          .err = LI_ERR_PROTO },
        { .body = "--xx\r\nc: application/sdp", .boundary = "xx", .err = LI_ERR_PROTO },
        { .body = "--xx", .boundary = "xx", .err = LI_ERR_PROTO },
        { .body = "--xx--", .boundary = "xx", .err = LI_ERR_NOT_FOUND },
        /* Found by libFuzzer: a delimiter right after the part's blank line (the CRLF
         * before the delimiter is the blank line's own) is an empty part. */
        { .body = "--xx\r\nc: application/sdp\r\n\r\n--xx--", .boundary = "xx", .err = LI_OK,
          .part = "" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t len = strlen(t[i].body);
        li_sip_str body = { guarded(t[i].body, len), len };
        li_sip_str b = { t[i].boundary, strlen(t[i].boundary) };
        li_sip_str part;
        li_err err = li_sip_multipart_find(body, b, "application/sdp", &part);
        if (err != t[i].err)
            fail_msg("multipart %zu: %d", i, err);
        if (err == LI_OK)
            assert_true(eq(part, t[i].part));
    }
}

static void test_content_type(void **state)
{
    (void)state;
    li_sip_str mt, b;
    const char *in = "multipart/mixed ; charset=x; BOUNDARY=\"a b\"";
    li_sip_str v = { in, strlen(in) };
    assert_int_equal(li_sip_content_type(v, &mt, &b), LI_OK);
    assert_true(eq(mt, "multipart/mixed"));
    assert_true(eq(b, "a b"));
    const char *bad = "nothing";
    li_sip_str vb = { bad, strlen(bad) };
    assert_int_equal(li_sip_content_type(vb, &mt, &b), LI_ERR_PROTO);
}

static void test_too_many_headers(void **state)
{
    (void)state;
    static char buf[8192];
    size_t n = (size_t)snprintf(buf, sizeof buf, "MESSAGE sip:x SIP/2.0\r\n");
    for (int i = 0; i < LI_SIP_MAX_HEADERS + 1; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "X-H%d: v\r\n", i);
    n += (size_t)snprintf(buf + n, sizeof buf - n, "\r\n");
    li_sip_msg m;
    size_t used;
    assert_int_equal(li_sip_parse(guarded(buf, n), n, 1, &m, &used), LI_ERR_PROTO);
}

static void test_head_limit(void **state)
{
    (void)state;
    /* A header block that never ends must be refused once above the limit. */
    static char buf[LI_SIP_MAX_HEAD + 100];
    memcpy(buf, "MESSAGE sip:x SIP/2.0\r\nX: ", 26);
    memset(buf + 26, 'a', sizeof buf - 26);
    li_sip_msg m;
    size_t used;
    assert_int_equal(li_sip_parse(guarded(buf, sizeof buf), sizeof buf, 1, &m, &used),
                     LI_ERR_PROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),        cmocka_unit_test(test_stream_prefixes),
        cmocka_unit_test(test_invite_fields),  cmocka_unit_test(test_addr),
        cmocka_unit_test(test_list),           cmocka_unit_test(test_header_ids),
        cmocka_unit_test(test_multipart),      cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_too_many_headers), cmocka_unit_test(test_head_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
