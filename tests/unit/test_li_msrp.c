/* li_msrp: table of MSRP vectors (RFC 4975), each parsed from a copy placed right
 * before an unreadable page so that any over-read crashes; every proper prefix of a
 * valid message must give LI_AGAIN (never a wrong LI_OK), with and without the
 * resumption state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "guard.h"

#include "li_msrp.h"

typedef struct vector {
    const char *name;
    const char *input;
    size_t input_len;       /* 0: strlen(input) */
    li_err result;
    size_t used;            /* LI_OK: bytes consumed (0: the whole input) */
    li_msrp_method method;
    const char *tid;
    int status;
    const char *body;       /* NULL: no data part */
    size_t body_len;        /* 0 with body != NULL: strlen(body) */
    char flag;
} vector;

#define SEND_HDR(tid) "MSRP " tid " SEND\r\nTo-Path: msrp://b.example.com:7654/jshA7we;tcp\r\n" \
                      "From-Path: msrp://a.example.com:12763/kjhd37s2s20w2a;tcp\r\n"

static const vector vectors[] = {
    /* RFC 4975 section 7.1.1 example, whole. */
    { .name = "rfc example",
      .input = SEND_HDR("a786hjs2") "Message-ID: 87652491\r\nByte-Range: 1-25/25\r\n"
               "Content-Type: text/plain\r\n\r\nHey Bob, are you there?\r\n-------a786hjs2$\r\n",
      .result = LI_OK, .method = LI_MSRP_SEND, .tid = "a786hjs2", .body = "Hey Bob, are you there?",
      .flag = '$' },
    { .name = "response 200 OK",
      .input = "MSRP a786hjs2 200 OK\r\nTo-Path: msrp://a.example.com:12763/kjhd37s2s20w2a;tcp\r\n"
               "From-Path: msrp://b.example.com:7654/jshA7we;tcp\r\n-------a786hjs2$\r\n",
      .result = LI_OK, .method = LI_MSRP_RESPONSE, .tid = "a786hjs2", .status = 200, .flag = '$' },
    { .name = "response without comment",
      .input = "MSRP abcd 481\r\nTo-Path: msrp://a/x;tcp\r\nFrom-Path: msrp://b/y;tcp\r\n"
               "-------abcd$\r\n",
      .result = LI_OK, .method = LI_MSRP_RESPONSE, .tid = "abcd", .status = 481, .flag = '$' },
    { .name = "body with dashes and CRLFs",
      .input = SEND_HDR("dkei38sd") "Message-ID: 4564dpWd\r\nByte-Range: 1-*/*\r\n"
               "Content-Type: text/plain\r\n\r\n-------\r\n-------dkei38s\r\n-------dkei38sdX\r\n\r\n-------\r\n-------dkei38sd+\r\n",
      .result = LI_OK, .method = LI_MSRP_SEND, .tid = "dkei38sd",
      .body = "-------\r\n-------dkei38s\r\n-------dkei38sdX\r\n\r\n-------", .flag = '+' },
    { .name = "tid flag not followed by CRLF stays body",
      .input = SEND_HDR("tid1") "Content-Type: text/plain\r\n\r\n"
               "a\r\n-------tid1$x\r\n-------tid1#\r\n",
      .result = LI_OK, .method = LI_MSRP_SEND, .tid = "tid1", .body = "a\r\n-------tid1$x",
      .flag = '#' },
    { .name = "empty body",
      .input = SEND_HDR("abcd") "Content-Type: text/plain\r\n\r\n\r\n-------abcd$\r\n",
      .result = LI_OK, .method = LI_MSRP_SEND, .tid = "abcd", .body = "", .flag = '$' },
    { .name = "empty body without its CRLF",
      .input = SEND_HDR("abcd") "Content-Type: text/plain\r\n\r\n-------abcd$\r\n", .result = LI_OK,
      .method = LI_MSRP_SEND, .tid = "abcd", .body = "", .flag = '$' },
    { .name = "bodyless SEND (keep-alive / bind)",
      .input = SEND_HDR("abcd") "Message-ID: 1\r\nByte-Range: 1-0/0\r\n-------abcd$\r\n",
      .result = LI_OK, .method = LI_MSRP_SEND, .tid = "abcd", .flag = '$' },
    { .name = "REPORT",
      .input = "MSRP dkei38sd REPORT\r\nTo-Path: msrp://a/x;tcp\r\nFrom-Path: msrp://b/y;tcp\r\n"
               "Message-ID: 12339sdqwer\r\nByte-Range: 1-106/106\r\nStatus: 000 200 OK\r\n-------dkei38sd$\r\n",
      .result = LI_OK, .method = LI_MSRP_REPORT, .tid = "dkei38sd", .flag = '$' },
    { .name = "AUTH",
      .input = "MSRP 49fh AUTH\r\nTo-Path: msrps://alice@intra.example.com;tcp\r\n"
               "From-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n-------49fh$\r\n",
      .result = LI_OK, .method = LI_MSRP_AUTH, .tid = "49fh", .flag = '$' },
    { .name = "other method",
      .input = "MSRP abcd NICKNAME\r\nTo-Path: msrp://a/x;tcp\r\nFrom-Path: msrp://b/y;tcp\r\n-------abcd$\r\n",
      .result = LI_OK, .method = LI_MSRP_OTHER, .tid = "abcd", .flag = '$' },
    { .name = "binary body with NUL",
      .input = SEND_HDR("bin0") "Content-Type: application/octet-stream\r\n\r\n\0\x01\xff\r\n\r\n-------bin0$\r\n",
      .input_len = sizeof(SEND_HDR("bin0") "Content-Type: application/octet-stream\r\n\r\n\0\x01\xff\r\n\r\n-------bin0$\r\n") - 1,
      .result = LI_OK, .method = LI_MSRP_SEND, .tid = "bin0", .body = "\0\x01\xff\r\n",
      .body_len = 5, .flag = '$' },
    { .name = "two messages: first consumed",
      .input = SEND_HDR("abcd") "-------abcd$\r\nMSRP efgh 200 OK\r\n", .result = LI_OK,
      .used = sizeof(SEND_HDR("abcd") "-------abcd$\r\n") - 1, .method = LI_MSRP_SEND,
      .tid = "abcd", .flag = '$' },
    { .name = "lower-case header names, no SP",
      .input = "MSRP abcd SEND\r\nto-path:msrp://a/x;tcp\r\nFROM-PATH:msrp://b/y;tcp\r\n-------abcd$\r\n",
      .result = LI_OK, .method = LI_MSRP_SEND, .tid = "abcd", .flag = '$' },
    { .name = "32-char tid",
      .input = "MSRP abcdefghijklmnopqrstuvwxyz012345 SEND\r\nTo-Path: msrp://a/x;tcp\r\nFrom-Path: msrp://b/y;tcp\r\n"
               "-------abcdefghijklmnopqrstuvwxyz012345$\r\n",
      .result = LI_OK, .method = LI_MSRP_SEND, .tid = "abcdefghijklmnopqrstuvwxyz012345",
      .flag = '$' },
    { .name = "tid with ident chars",
      .input = "MSRP a.-+%= SEND\r\nTo-Path: msrp://a/x;tcp\r\nFrom-Path: msrp://b/y;tcp\r\n-------a.-+%=$\r\n",
      .result = LI_OK, .method = LI_MSRP_SEND, .tid = "a.-+%=", .flag = '$' },

    /* incomplete */
    { .name = "empty input", .input = "", .result = LI_AGAIN },
    { .name = "partial start", .input = "MSRP ab", .result = LI_AGAIN },
    { .name = "headers only", .input = SEND_HDR("abcd"), .result = LI_AGAIN },
    { .name = "end-line without CRLF", .input = SEND_HDR("abcd") "-------abcd$",
      .result = LI_AGAIN },
    { .name = "body not ended",
      .input = SEND_HDR("abcd") "Content-Type: t/p\r\n\r\nhello\r\n-------abc", .result = LI_AGAIN },
    { .name = "body end with other tid",
      .input = SEND_HDR("abcd") "Content-Type: t/p\r\n\r\nhello\r\n-------abce$\r\n",
      .result = LI_AGAIN },

    /* malformed */
    { .name = "not MSRP", .input = "GET / HTTP/1.1\r\n", .result = LI_ERR_PROTO },
    { .name = "TLS ClientHello", .input = "\x16\x03\x01\x02\x00\x01", .result = LI_ERR_PROTO },
    { .name = "lower-case msrp", .input = "msrp abcd SEND\r\n", .result = LI_ERR_PROTO },
    { .name = "tid too short", .input = "MSRP abc SEND\r\n", .result = LI_ERR_PROTO },
    { .name = "tid too long", .input = "MSRP abcdefghijklmnopqrstuvwxyz0123456 SEND\r\n",
      .result = LI_ERR_PROTO },
    { .name = "tid bad char", .input = "MSRP ab/cd SEND\r\n", .result = LI_ERR_PROTO },
    { .name = "tid starts with dash", .input = "MSRP -abcd SEND\r\n", .result = LI_ERR_PROTO },
    { .name = "lower-case method", .input = "MSRP abcd send\r\n", .result = LI_ERR_PROTO },
    { .name = "junk after method", .input = "MSRP abcd SEND x\r\n", .result = LI_ERR_PROTO },
    { .name = "4-digit status", .input = "MSRP abcd 2000\r\n", .result = LI_ERR_PROTO },
    { .name = "bare LF", .input = "MSRP abcd SEND\n", .result = LI_ERR_PROTO },
    { .name = "CR inside a line", .input = "MSRP abcd SE\rND\r\n", .result = LI_ERR_PROTO },
    { .name = "missing From-Path",
      .input = "MSRP abcd SEND\r\nTo-Path: msrp://a/x;tcp\r\n-------abcd$\r\n",
      .result = LI_ERR_PROTO },
    { .name = "two To-Paths",
      .input = SEND_HDR("abcd") "To-Path: msrp://c/z;tcp\r\n-------abcd$\r\n",
      .result = LI_ERR_PROTO },
    { .name = "header without colon", .input = SEND_HDR("abcd") "Message-ID 1\r\n",
      .result = LI_ERR_PROTO },
    { .name = "header name starts with digit", .input = SEND_HDR("abcd") "1x: y\r\n",
      .result = LI_ERR_PROTO },
    { .name = "control char in value", .input = SEND_HDR("abcd") "X: a\x01" "b\r\n",
      .result = LI_ERR_PROTO },
    { .name = "end-line with wrong tid", .input = SEND_HDR("abcd") "-------abce$\r\n",
      .result = LI_ERR_PROTO },
    { .name = "end-line with bad flag", .input = SEND_HDR("abcd") "-------abcd!\r\n",
      .result = LI_ERR_PROTO },
    { .name = "end-line wrong already in its prefix", .input = SEND_HDR("abcd") "------x",
      .result = LI_ERR_PROTO },
    { .name = "Byte-Range start 0",
      .input = SEND_HDR("abcd") "Byte-Range: 0-1/1\r\n-------abcd$\r\n", .result = LI_ERR_PROTO },
    { .name = "Byte-Range overflow",
      .input = SEND_HDR("abcd") "Byte-Range: 1-99999999999999999999/*\r\n-------abcd$\r\n",
      .result = LI_ERR_PROTO },
    { .name = "Byte-Range no slash",
      .input = SEND_HDR("abcd") "Byte-Range: 1-5\r\n-------abcd$\r\n", .result = LI_ERR_PROTO },
    { .name = "Byte-Range slash before dash",
      .input = SEND_HDR("abcd") "Byte-Range: 1/5-5\r\n-------abcd$\r\n", .result = LI_ERR_PROTO },
};

static void check_vector(const vector *v)
{
    size_t len = v->input_len ? v->input_len : strlen(v->input);
    guard g = guard_new(v->input, len);
    li_msrp_msg msg;
    size_t used = 0;
    li_err err = li_msrp_parse(NULL, g.data, len, &msg, &used);
    if (err != v->result)
        fail_msg("%s: got %d, want %d", v->name, err, v->result);
    if (err == LI_OK) {
        assert_int_equal(used, v->used ? v->used : len);
        assert_int_equal(msg.len, used);
        assert_int_equal(msg.method, v->method);
        assert_int_equal(msg.tid.len, strlen(v->tid));
        assert_memory_equal(msg.tid.p, v->tid, msg.tid.len);
        assert_int_equal(msg.flag, v->flag);
        if (v->method == LI_MSRP_RESPONSE)
            assert_int_equal(msg.status, v->status);
        if (v->body) {
            size_t blen = v->body_len ? v->body_len : strlen(v->body);
            assert_true(msg.has_body);
            assert_int_equal(msg.body_len, blen);
            assert_memory_equal(msg.body, v->body, blen);
        } else {
            assert_false(msg.has_body);
            assert_null(msg.body);
        }
        assert_non_null(msg.to_path.p);
        assert_non_null(msg.from_path.p);
        /* Every proper prefix is incomplete, never an error or a shorter message. */
        for (size_t n = 0; n < used; n++) {
            guard p = guard_new(v->input, n);
            li_msrp_msg m;
            size_t u;
            li_err e = li_msrp_parse(NULL, p.data, n, &m, &u);
            if (e != LI_AGAIN)
                fail_msg("%s: prefix %zu gave %d", v->name, n, e);
            guard_free(&p);
        }
    }
    guard_free(&g);
}

static void test_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++)
        check_vector(&vectors[i]);
}

static void test_rfc_headers(void **state)
{
    (void)state;
    const char *in = vectors[0].input;
    li_msrp_msg msg;
    size_t used;
    assert_int_equal(li_msrp_parse(NULL, (const uint8_t *)in, strlen(in), &msg, &used), LI_OK);
    assert_int_equal(msg.n_headers, 5);
    assert_int_equal(msg.to_path.len, strlen("msrp://b.example.com:7654/jshA7we;tcp"));
    assert_memory_equal(msg.to_path.p, "msrp://b.example.com:7654/jshA7we;tcp", msg.to_path.len);
    assert_memory_equal(msg.message_id.p, "87652491", 8);
    assert_memory_equal(msg.content_type.p, "text/plain", 10);
    assert_int_equal(msg.range_start, 1);
    assert_int_equal(msg.range_end, 25);
    assert_int_equal(msg.range_total, 25);
    const li_msrp_str *ct = li_msrp_header_get(&msg, "content-type");
    assert_non_null(ct);
    assert_ptr_equal(ct->p, msg.content_type.p);
    assert_null(li_msrp_header_get(&msg, "Status"));

    const char *star = SEND_HDR("abcd") "Byte-Range: 26-*/*\r\n-------abcd$\r\n";
    assert_int_equal(li_msrp_parse(NULL, (const uint8_t *)star, strlen(star), &msg, &used), LI_OK);
    assert_int_equal(msg.range_start, 26);
    assert_int_equal(msg.range_end, LI_MSRP_UNKNOWN);
    assert_int_equal(msg.range_total, LI_MSRP_UNKNOWN);
}

/* Feeding a large message one piece at a time with the resumption state gives the
 * same result as parsing it whole; the pieces end at every awkward place (inside the
 * marker, inside the tid, between flag and CRLF). */
static void test_resumable(void **state)
{
    (void)state;
    size_t body_len = 1 << 20;
    li_buf b;
    li_buf_init(&b, 0);
    assert_int_equal(li_buf_printf(&b, SEND_HDR("Zq9x") "Content-Type: application/octet-stream\r\n\r\n"), LI_OK);
    size_t body_off = b.len;
    for (size_t i = 0; i < body_len; i++) {
        /* Body full of near-misses of the end-line. */
        static const char pat[] = "\r\n-------Zq9\r\n-------Zq9x!";
        assert_int_equal(li_buf_append_u8(&b, (uint8_t)pat[i % (sizeof pat - 1)]), LI_OK);
    }
    assert_int_equal(li_buf_printf(&b, "\r\n-------Zq9x$\r\n"), LI_OK);
    size_t steps[] = { 1, 3, 7, 9, 4093, 16384 };
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        li_msrp_parser p;
        li_msrp_parser_init(&p);
        li_msrp_msg msg;
        size_t used = 0, n = 0;
        li_err err = LI_AGAIN;
        /* Small steps only around the head and the end, to keep the test fast. */
        while (err == LI_AGAIN && n < b.len) {
            size_t step = steps[s];
            if (step < 4093 && n > body_off + 64 && n + 64 < b.len)
                step = b.len - 64 - n;
            n = n + step > b.len ? b.len : n + step;
            err = li_msrp_parse(&p, b.data, n, &msg, &used);
        }
        assert_int_equal(err, LI_OK);
        assert_int_equal(n, b.len);
        assert_int_equal(used, b.len);
        assert_int_equal(msg.body_len, body_len);
        assert_ptr_equal(msg.body, b.data + body_off);
        assert_int_equal(p.scan_from, 0);
    }
    li_buf_free(&b);
}

static void test_head_limit(void **state)
{
    (void)state;
    li_buf b;
    li_buf_init(&b, 0);
    assert_int_equal(li_buf_printf(&b, SEND_HDR("abcd")), LI_OK);
    while (b.len <= LI_MSRP_MAX_HEAD_BYTES)
        assert_int_equal(li_buf_printf(&b, "X-Pad: 0123456789\r\n"), LI_OK);
    li_msrp_msg msg;
    size_t used;
    assert_int_equal(li_msrp_parse(NULL, b.data, b.len, &msg, &used), LI_ERR_PROTO);
    li_buf_free(&b);

    li_buf_init(&b, 0);
    assert_int_equal(li_buf_printf(&b, SEND_HDR("abcd")), LI_OK);
    for (int i = 0; i <= LI_MSRP_MAX_HEADERS; i++)
        assert_int_equal(li_buf_printf(&b, "X-H%d: v\r\n", i), LI_OK);
    assert_int_equal(li_buf_printf(&b, "-------abcd$\r\n"), LI_OK);
    assert_int_equal(li_msrp_parse(NULL, b.data, b.len, &msg, &used), LI_ERR_PROTO);
    li_buf_free(&b);
}

typedef struct uri_vector {
    const char *text;
    li_err result;
    int secure;
    const char *user, *host;
    uint16_t port;
    const char *session_id, *transport, *params;
    int is_ipv6;
} uri_vector;

static const uri_vector uris[] = {
    { .text = "msrp://b.example.com:7654/jshA7we;tcp", .result = LI_OK, .host = "b.example.com",
      .port = 7654, .session_id = "jshA7we", .transport = "tcp" },
    { .text = "MSRPS://alice@intra.example.com;tcp", .result = LI_OK, .secure = 1, .user = "alice",
      .host = "intra.example.com", .transport = "tcp" },
    { .text = "msrps://[2001:db8::1]:2855/s+/=9;tcp;foo=bar", .result = LI_OK, .secure = 1,
      .host = "2001:db8::1", .port = 2855, .session_id = "s+/=9", .transport = "tcp",
      .params = "foo=bar", .is_ipv6 = 1 },
    { .text = "msrp://127.0.0.1:1/a;ws", .result = LI_OK, .host = "127.0.0.1", .port = 1,
      .session_id = "a", .transport = "ws" },
    { .text = "msrp://host/sid", .result = LI_ERR_PROTO },
    { .text = "msrp://host:0/sid;tcp", .result = LI_ERR_PROTO },
    { .text = "msrp://host:65536/sid;tcp", .result = LI_ERR_PROTO },
    { .text = "msrp://host:/sid;tcp", .result = LI_ERR_PROTO },
    { .text = "msrp:///sid;tcp", .result = LI_ERR_PROTO },
    { .text = "msrp://[::1/sid;tcp", .result = LI_ERR_PROTO },
    { .text = "msrp://h/;tcp", .result = LI_ERR_PROTO },
    { .text = "msrp://h/s;", .result = LI_ERR_PROTO },
    { .text = "msrp://h/s;tcp;", .result = LI_ERR_PROTO },
    { .text = "sip://h/s;tcp", .result = LI_ERR_PROTO },
    { .text = "msrp://h:12x/s;tcp", .result = LI_ERR_PROTO },
    { .text = "msrp://h/s?x;tcp", .result = LI_ERR_PROTO },
};

static void assert_str(li_msrp_str s, const char *want)
{
    if (!want) {
        assert_null(s.p);
        return;
    }
    assert_non_null(s.p);
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.p, want, s.len);
}

static void test_uris(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof uris / sizeof uris[0]; i++) {
        const uri_vector *v = &uris[i];
        guard g = guard_new(v->text, strlen(v->text));
        li_msrp_uri u;
        li_err err = li_msrp_uri_parse((const char *)g.data, strlen(v->text), &u);
        if (err != v->result)
            fail_msg("%s: got %d want %d", v->text, err, v->result);
        if (err == LI_OK) {
            assert_int_equal(u.secure, v->secure);
            assert_str(u.user, v->user);
            assert_str(u.host, v->host);
            assert_int_equal(u.port, v->port);
            assert_str(u.session_id, v->session_id);
            assert_str(u.transport, v->transport);
            assert_str(u.params, v->params);
            assert_int_equal(u.is_ipv6, v->is_ipv6);
        }
        guard_free(&g);
    }
}

/* The liberal session-id reading (what the mediator takes from a peer's SDP a=path) and
 * the strict parser agree wherever the strict one accepts a session-id. */
static const struct {
    const char *text;
    li_err result;
    const char *session_id;
} session_ids[] = {
    { .text = "msrp://h:1/jshA7we;tcp", .result = LI_OK, .session_id = "jshA7we" },
    { .text = "MsRpS://u@h/a+b/=c;tcp;x=y", .result = LI_OK, .session_id = "a+b/=c" },
    { .text = "msrp://[2001:db8::1]:2855/s;tcp", .result = LI_OK, .session_id = "s" },
    /* a missing transport is tolerated */
    { .text = "msrp://host/sid", .result = LI_OK, .session_id = "sid" },
    /* outside session-id's ABNF: tolerated */
    { .text = "msrp://h/s?x;tcp", .result = LI_OK, .session_id = "s?x" },
    /* the first '/' ends the authority */
    { .text = "msrp://h;tcp/s", .result = LI_OK, .session_id = "s" },
    { .text = "msrp://h;tcp", .result = LI_ERR_PROTO },   /* a relay's URI: no session-id */
    { .text = "msrp:///s;tcp", .result = LI_ERR_PROTO },
    { .text = "msrp://h/;tcp", .result = LI_ERR_PROTO },
    { .text = "msrp://h/a b;tcp", .result = LI_ERR_PROTO },
    { .text = "msrp://h/a>;tcp", .result = LI_ERR_PROTO },
    { .text = "msrp:/h/s;tcp", .result = LI_ERR_PROTO },
    { .text = "msrpx://h/s;tcp", .result = LI_ERR_PROTO },
    { .text = "msrp://", .result = LI_ERR_PROTO },
    { .text = "msr", .result = LI_ERR_PROTO },
};

static void test_session_id_readings(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof session_ids / sizeof session_ids[0]; i++) {
        size_t len = strlen(session_ids[i].text);
        guard g = guard_new(session_ids[i].text, len);
        li_msrp_str sid = { NULL, 0 };
        li_err err = li_msrp_uri_session_id((const char *)g.data, len, &sid);
        if (err != session_ids[i].result)
            fail_msg("%s: got %d", session_ids[i].text, err);
        if (err == LI_OK)
            assert_str(sid, session_ids[i].session_id);
        guard_free(&g);
    }
    for (size_t i = 0; i < sizeof uris / sizeof uris[0]; i++) {
        size_t len = strlen(uris[i].text);
        li_msrp_uri u;
        li_msrp_str sid = { NULL, 0 };
        if (li_msrp_uri_parse(uris[i].text, len, &u) != LI_OK || !u.session_id.p)
            continue;
        assert_int_equal(li_msrp_uri_session_id(uris[i].text, len, &sid), LI_OK);
        assert_true(sid.p == u.session_id.p && sid.len == u.session_id.len);
        assert_int_equal(li_msrp_uri_scheme_len(uris[i].text, len), u.secure ? 8 : 7);
    }
}

static void test_path_and_equal(void **state)
{
    (void)state;
    li_msrp_str rest = li_msrp_cstr("  msrps://r.example:1/a;tcp \tmsrp://B.example:2/b;tcp ");
    li_msrp_str uri;
    li_msrp_uri u[2];
    assert_int_equal(li_msrp_path_next(&rest, &uri), LI_OK);
    assert_int_equal(li_msrp_uri_parse(uri.p, uri.len, &u[0]), LI_OK);
    assert_int_equal(li_msrp_path_next(&rest, &uri), LI_OK);
    assert_int_equal(li_msrp_uri_parse(uri.p, uri.len, &u[1]), LI_OK);
    assert_int_equal(li_msrp_path_next(&rest, &uri), LI_ERR_NOT_FOUND);
    assert_int_equal(u[1].port, 2);

    li_msrp_uri x;
    li_msrp_str t = li_msrp_cstr("msrp://user@b.EXAMPLE:2/b;TCP");
    assert_int_equal(li_msrp_uri_parse(t.p, t.len, &x), LI_OK);
    assert_true(li_msrp_uri_equal(&u[1], &x));
    t = li_msrp_cstr("msrp://b.example:2/B;tcp");
    assert_int_equal(li_msrp_uri_parse(t.p, t.len, &x), LI_OK);
    assert_false(li_msrp_uri_equal(&u[1], &x));
    assert_false(li_msrp_uri_equal(&u[0], &u[1]));
}

static void test_writers(void **state)
{
    (void)state;
    const char *in = vectors[0].input;
    li_msrp_msg msg;
    size_t used;
    assert_int_equal(li_msrp_parse(NULL, (const uint8_t *)in, strlen(in), &msg, &used), LI_OK);
    li_buf out;
    li_buf_init(&out, 0);
    assert_int_equal(li_msrp_write_with_paths(&out, (const uint8_t *)in, &msg,
                                              li_msrp_cstr("msrp://n/1;tcp"),
                                              li_msrp_cstr("msrp://r/2;tcp msrp://a/3;tcp")), LI_OK);
    const char *want = "MSRP a786hjs2 SEND\r\nTo-Path: msrp://n/1;tcp\r\n"
                       "From-Path: msrp://r/2;tcp msrp://a/3;tcp\r\nMessage-ID: 87652491\r\n"
                       "Byte-Range: 1-25/25\r\nContent-Type: text/plain\r\n\r\n"
                       "Hey Bob, are you there?\r\n-------a786hjs2$\r\n";
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);

    /* From-Path first: still each value in its place. */
    const char *rev = "MSRP abcd SEND\r\nFrom-Path: msrp://b/y;tcp\r\nTo-Path: msrp://a/x;tcp\r\n-------abcd$\r\n";
    assert_int_equal(li_msrp_parse(NULL, (const uint8_t *)rev, strlen(rev), &msg, &used), LI_OK);
    li_buf_reset(&out);
    assert_int_equal(li_msrp_write_with_paths(&out, (const uint8_t *)rev, &msg, li_msrp_cstr("T"),
                                              li_msrp_cstr("F")), LI_OK);
    want = "MSRP abcd SEND\r\nFrom-Path: F\r\nTo-Path: T\r\n-------abcd$\r\n";
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);

    li_buf_reset(&out);
    assert_int_equal(li_msrp_write_response(&out, li_msrp_cstr("abcd"), 200, "OK",
                                            li_msrp_cstr("msrp://a/x;tcp"),
                                            li_msrp_cstr("msrp://b/y;tcp")), LI_OK);
    assert_int_equal(li_msrp_parse(NULL, out.data, out.len, &msg, &used), LI_OK);
    assert_int_equal(used, out.len);
    assert_int_equal(msg.status, 200);
    assert_str(msg.comment, "OK");
    assert_str(msg.to_path, "msrp://a/x;tcp");
    li_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_rfc_headers),
        cmocka_unit_test(test_resumable),
        cmocka_unit_test(test_head_limit),
        cmocka_unit_test(test_uris),
        cmocka_unit_test(test_session_id_readings),
        cmocka_unit_test(test_path_and_equal),
        cmocka_unit_test(test_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
