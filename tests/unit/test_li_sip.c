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
    { "invite multipart", INVITE_MULTIPART, 1, LI_OK, 0, 1, "INVITE", 0,
      "a84b4c76e66710@pc33.example.net", 13 },
    { "200 ok", RESPONSE_200, 1, LI_OK, 0, 0, NULL, 200, "c1", 6 },
    { "keepalive crlf before message", "\r\n\r\n" RESPONSE_200, 1, LI_OK, 0, 0, NULL, 200,
      "c1", 6 },
    { "two messages in a stream", RESPONSE_200 RESPONSE_200, 1, LI_OK,
      sizeof RESPONSE_200 - 1, 0, NULL, 200, "c1", 6 },
    { "bare LF lines", "MESSAGE sip:b@x SIP/2.0\nCall-ID: lf1\nl: 5\n\nhello", 1, LI_OK, 0, 1,
      "MESSAGE", 0, "lf1", 2 },
    { "lower-case version, space before colon",
      "OPTIONS sip:x sip/2.0\r\nCall-ID : sp\r\n\r\n", 0, LI_OK, 0, 1, "OPTIONS", 0, "sp", 1 },
    { "reason phrase empty", "SIP/2.0 180\r\ni: r\r\n\r\n", 0, LI_OK, 0, 0, NULL, 180, "r", 1 },
    { "datagram body without content-length",
      "MESSAGE sip:b@x SIP/2.0\r\ni: d1\r\n\r\nbody bytes", 0, LI_OK, 0, 1, "MESSAGE", 0, "d1",
      1 },
    { "datagram without blank line", "BYE sip:b@x SIP/2.0\r\ni: nb", 0, LI_OK, 0, 1, "BYE", 0,
      "nb", 1 },
    { "datagram content-length shorter than body",
      "MESSAGE sip:b@x SIP/2.0\r\nl: 2\r\n\r\nhello", 0, LI_OK,
      sizeof "MESSAGE sip:b@x SIP/2.0\r\nl: 2\r\n\r\nhe" - 1, 1, "MESSAGE", 0, NULL, 1 },
    { "stream header incomplete", "INVITE sip:b@x SIP/2.0\r\nCall-ID: x\r\n", 1, LI_AGAIN,
      0, 0, NULL, 0, NULL, 0 },
    { "stream body incomplete", "MESSAGE sip:b@x SIP/2.0\r\nl: 10\r\n\r\nhello", 1, LI_AGAIN,
      0, 0, NULL, 0, NULL, 0 },
    { "only keepalive", "\r\n\r\n", 1, LI_AGAIN, 0, 0, NULL, 0, NULL, 0 },
    { "datagram content-length beyond end", "MESSAGE sip:b@x SIP/2.0\r\nl: 10\r\n\r\nhi", 0,
      LI_ERR_PROTO, 0, 0, NULL, 0, NULL, 0 },
    { "conflicting content-length",
      "MESSAGE sip:b@x SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab", 1, LI_ERR_PROTO, 0, 0,
      NULL, 0, NULL, 0 },
    { "content-length overflow",
      "MESSAGE sip:b@x SIP/2.0\r\nl: 99999999999999999999999\r\n\r\n", 1, LI_ERR_PROTO, 0, 0,
      NULL, 0, NULL, 0 },
    { "content-length not a number", "MESSAGE sip:b@x SIP/2.0\r\nl: -1\r\n\r\n", 1,
      LI_ERR_PROTO, 0, 0, NULL, 0, NULL, 0 },
    { "header without colon", "INVITE sip:b@x SIP/2.0\r\nCall-ID x\r\n\r\n", 1, LI_ERR_PROTO,
      0, 0, NULL, 0, NULL, 0 },
    { "fold before any header", "INVITE sip:b@x SIP/2.0\r\n folded\r\n\r\n", 1, LI_ERR_PROTO,
      0, 0, NULL, 0, NULL, 0 },
    { "bad status code", "SIP/2.0 2x0 OK\r\n\r\n", 1, LI_ERR_PROTO, 0, 0, NULL, 0, NULL, 0 },
    { "status code below 100", "SIP/2.0 099 Odd\r\n\r\n", 1, LI_ERR_PROTO, 0, 0, NULL, 0, NULL,
      0 },
    { "not SIP", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1, LI_ERR_PROTO, 0, 0, NULL, 0, NULL, 0 },
    { "request line without uri", "INVITE  SIP/2.0\r\n\r\n", 1, LI_ERR_PROTO, 0, 0, NULL, 0,
      NULL, 0 },
    { "bad cseq", "INVITE sip:b@x SIP/2.0\r\nCSeq: INVITE\r\n\r\n", 1, LI_ERR_PROTO, 0, 0,
      NULL, 0, NULL, 0 },
    { "cseq above 2^32", "INVITE sip:b@x SIP/2.0\r\nCSeq: 4294967296 INVITE\r\n\r\n", 1,
      LI_ERR_PROTO, 0, 0, NULL, 0, NULL, 0 },
    /* RFC 4475 3.1.1.3 (intmeth): a method of unusual token characters. */
    { "unusual method token",
      "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$"
      "/crazy?,;;*@example.com SIP/2.0\r\ni: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\n"
      "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n\r\n", 0, LI_OK, 0, 1,
      "!interesting-Method0123456789_*+`.%indeed'~", 0,
      "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{", 2 },
    /* RFC 4475 3.1.1.1 (wsinv): whitespace and folding everywhere it is allowed. */
    { "folded call-id and long whitespace",
      "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n"
      "Call-ID   :   \r\n   0ha0isndaksdj@192.0.2.1  \r\n"
      "CSeq: 0009\r\n  INVITE\r\nl:0\r\n\r\n", 1, LI_OK, 0, 1, "INVITE", 0,
      "0ha0isndaksdj@192.0.2.1", 3 },
    /* RFC 4475 3.1.2.1 (noreason): a status line without reason phrase text. */
    { "empty reason after space", "SIP/2.0 100 \r\ni: nr\r\n\r\n", 0, LI_OK, 0, 0, NULL,
      100, "nr", 1 },
    /* RFC 4475 3.1.2.6 (mcl01) is the conflicting content-length vector above. */
    { "content-length above the maximum", "MESSAGE sip:b@x SIP/2.0\r\nl: 16777217\r\n\r\n",
      1, LI_ERR_PROTO, 0, 0, NULL, 0, NULL, 0 },
    { "nul in method", "INV\0TE sip:b@x SIP/2.0\r\n\r\n", 1, LI_ERR_PROTO, 0, 0, NULL, 0, NULL,
      0 },
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
        { "Bob <sip:bob@x>;tag=a", LI_OK, "Bob", "sip:bob@x", "a" },
        { "  \"B;o,b\" <sip:bob@x;lr>  ;  TAG = q1 ;x", LI_OK, "B;o,b", "sip:bob@x;lr", "q1" },
        { "sip:bob@x;tag=t2;user=phone", LI_OK, "", "sip:bob@x", "t2" },
        { "<tel:+1234>", LI_OK, "", "tel:+1234", NULL },
        { "tel:+1234", LI_OK, "", "tel:+1234", NULL },
        { "<sip:x@y", LI_ERR_PROTO, NULL, NULL, NULL },
        { "\"unterminated <sip:x@y>", LI_ERR_PROTO, NULL, NULL, NULL },
        { "<>", LI_ERR_PROTO, NULL, NULL, NULL },
        { "", LI_ERR_PROTO, NULL, NULL, NULL },
        { "<sip:x@y> junk", LI_ERR_PROTO, NULL, NULL, NULL },
        { "Bob <sip:bob@x>;tag", LI_OK, "Bob", "sip:bob@x", "" },
        /* addr-spec: a ';' before any '<' starts the header parameters */
        { "sip:a@b;x=<y>;tag=7", LI_OK, "", "sip:a@b", "7" },
        { "sip:a@b;x=\"y", LI_OK, "", "sip:a@b", NULL },
        { "\"B\\\" <q>\" <sip:b@x>", LI_OK, "B\\\" <q>", "sip:b@x", NULL },
        { "\"unterminated sip:x@y", LI_ERR_PROTO, NULL, NULL, NULL },
        { "A\"B <sip:x@y>", LI_ERR_PROTO, NULL, NULL, NULL },
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
        { "i", LI_SIP_H_CALL_ID }, { "CALL-ID", LI_SIP_H_CALL_ID }, { "f", LI_SIP_H_FROM },
        { "T", LI_SIP_H_TO }, { "m", LI_SIP_H_CONTACT }, { "v", LI_SIP_H_VIA },
        { "l", LI_SIP_H_CONTENT_LENGTH }, { "c", LI_SIP_H_CONTENT_TYPE },
        { "k", LI_SIP_H_SUPPORTED }, { "s", LI_SIP_H_SUBJECT }, { "e", LI_SIP_H_CONTENT_ENCODING },
        { "o", LI_SIP_H_EVENT }, { "u", LI_SIP_H_ALLOW_EVENTS }, { "r", LI_SIP_H_REFER_TO },
        { "b", LI_SIP_H_REFERRED_BY }, { "x", LI_SIP_H_SESSION_EXPIRES },
        { "p-asserted-identity", LI_SIP_H_P_ASSERTED_IDENTITY }, { "q", LI_SIP_H_OTHER },
        { "X-Custom", LI_SIP_H_OTHER }, { "cseq", LI_SIP_H_CSEQ },
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
        { "--xx\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--xx--", "xx", LI_OK, "v=0" },
        { "--xx\nc: text/plain\n\nhi\n--xx\nc: Application/SDP ; a=b\n\nv=0\n\n--xx--\n", "xx",
          LI_OK, "v=0\n" },
        { "--xx\r\nc: text/plain\r\n\r\nhi\r\n--xx--\r\n", "xx", LI_ERR_NOT_FOUND, NULL },
        { "no delimiter at all", "xx", LI_ERR_PROTO, NULL },
        { "--xx\r\nc: application/sdp\r\n\r\nv=0 with no close", "xx", LI_ERR_PROTO, NULL },
        { "--xx\r\nc: application/sdp", "xx", LI_ERR_PROTO, NULL },
        { "--xx", "xx", LI_ERR_PROTO, NULL },
        { "--xx--", "xx", LI_ERR_NOT_FOUND, NULL },
        /* Found by libFuzzer: a delimiter right after the part's blank line (the CRLF
         * before the delimiter is the blank line's own) is an empty part. */
        { "--xx\r\nc: application/sdp\r\n\r\n--xx--", "xx", LI_OK, "" },
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
