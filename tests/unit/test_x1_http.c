/* HTTP/1.1 head parser of the X1 transport: a table of heads and what must come out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "li_http.h"
#include "x1_http.h"

typedef struct head_vector {
    const char *text;
    int response;
    li_err err;
    int status;
    const char *method, *path;
    int has_length;
    size_t length;
    int chunked, close;
    size_t head_len; /* 0: the whole text */
} head_vector;

static const head_vector vectors[] = {
    { "POST /X1/NE HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", 0, LI_OK, 0, "POST",
      "/X1/NE", 1, 12, 0, 0, 0 },
    { "POST /X1/NE HTTP/1.1\nContent-Length:7\n\nbodybod", 0, LI_OK, 0, "POST", "/X1/NE", 1, 7,
      0, 0, 39 },
    { "POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n", 0, LI_OK, 0, "POST", "/", 1, 0, 0, 1, 0 },
    { "POST / HTTP/1.0\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", 0, LI_OK, 0,
      "POST", "/", 1, 0, 0, 0, 0 },
    { "POST / HTTP/1.1\r\nconnection: foo, close\r\ncontent-length: 3\r\n\r\n", 0, LI_OK, 0,
      "POST", "/", 1, 3, 0, 1, 0 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0, LI_OK, 0, "POST", "/", 0, 0,
      1, 0, 0 },
    { "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 1, LI_OK, 200, NULL, NULL, 1, 5, 0, 0, 0 },
    { "HTTP/1.1 404\r\n\r\n", 1, LI_OK, 404, NULL, NULL, 0, 0, 0, 0, 0 },
    /* Incomplete: wait for more. */
    { "POST /X1/NE HTTP/1.1\r\nContent-Len", 0, LI_AGAIN, .status = 0 },
    { "", 0, LI_AGAIN, .status = 0 },
    /* Malformed. */
    { "POST /X1/NE\r\n\r\n", 0, LI_ERR_PROTO, .status = 0 },
    { "POST /X1/NE HTTP/2.0\r\n\r\n", 0, LI_ERR_PROTO, .status = 0 },
    { "POST  HTTP/1.1\r\n\r\n", 0, LI_ERR_PROTO, .status = 0 },
    { "POST / HTTP/1.1\r\nNoColon\r\n\r\n", 0, LI_ERR_PROTO, .status = 0 },
    { "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 0, LI_ERR_PROTO, .status = 0 },
    { "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 0, LI_ERR_PROTO, .status = 0 },
    { "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 0, LI_ERR_PROTO, .status = 0 },
    { "HTTP/1.1 20 OK\r\n\r\n", 1, LI_ERR_PROTO, .status = 0 },
    { "HTTP/1.1 200OK\r\n\r\n", 1, LI_ERR_PROTO, .status = 0 },
    { "POST / HTTP/1.1\r\n\r\n", 1, LI_ERR_PROTO, .status = 0 },
};

static void test_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const head_vector *v = &vectors[i];
        size_t len = strlen(v->text);
        /* Exact-size heap copy: any read past the input trips ASan. */
        uint8_t *buf = malloc(len ? len : 1);
        memcpy(buf, v->text, len);
        li_http_head h;
        size_t head_len = 0;
        li_err err = li_http_parse_head(buf, len, v->response, &h, &head_len);
        free(buf);
        print_message("vector %zu\n", i);
        assert_int_equal(err, v->err);
        if (err != LI_OK)
            continue;
        assert_int_equal(head_len, v->head_len ? v->head_len : len);
        assert_int_equal(h.status, v->status);
        if (v->method) {
            assert_string_equal(h.method, v->method);
            assert_string_equal(h.path, v->path);
        }
        assert_int_equal(h.has_length, v->has_length);
        assert_int_equal(h.content_length, v->length);
        assert_int_equal(h.chunked, v->chunked);
        assert_int_equal(h.close, v->close);
    }
}

static void test_head_too_long(void **state)
{
    (void)state;
    size_t len = LI_HTTP_MAX_HEAD + 10;
    char *buf = malloc(len);
    memset(buf, 'a', len);
    memcpy(buf, "POST / HTTP/1.1\r\nX: ", 20);
    li_http_head h;
    size_t head_len;
    assert_int_equal(li_http_parse_head((uint8_t *)buf, len, 0, &h, &head_len), LI_ERR_PROTO);
    assert_int_equal(li_http_parse_head((uint8_t *)buf, 100, 0, &h, &head_len), LI_AGAIN);
    free(buf);
}

static void test_hostport(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int def;
        li_err err;
        const char *host;
        unsigned port;
    } v[] = {
        { "127.0.0.1:4443", -1, LI_OK, "127.0.0.1", 4443 },
        { "[::1]:0", -1, LI_OK, "::1", 0 },
        { "[fe80::1%eth0]:65535", -1, LI_OK, "fe80::1%eth0", 65535 },
        { "ingest.example.net:1", -1, LI_OK, "ingest.example.net", 1 },
        { "ne.example.net", 443, LI_OK, "ne.example.net", 443 },
        { "[2001:db8::2]", 443, LI_OK, "2001:db8::2", 443 },
        { "ne.example.net", -1, LI_ERR_PROTO, NULL, 0 },
        { "2001:db8::2:443", -1, LI_ERR_PROTO, NULL, 0 },
        { "[::1:443", -1, LI_ERR_PROTO, NULL, 0 },
        { "[::1]443", -1, LI_ERR_PROTO, NULL, 0 },
        { "host:65536", -1, LI_ERR_PROTO, NULL, 0 },
        { "host:", -1, LI_ERR_PROTO, NULL, 0 },
        { ":80", -1, LI_ERR_PROTO, NULL, 0 },
        { "bad host:80", -1, LI_ERR_PROTO, NULL, 0 },
        { "host:8x", -1, LI_ERR_PROTO, NULL, 0 },
        { "[]:80", -1, LI_ERR_PROTO, NULL, 0 },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char host[64] = "";
        uint16_t port = 7;
        print_message("hostport %s\n", v[i].text);
        assert_int_equal(x1_hostport_split(v[i].text, v[i].def, host, sizeof host, &port),
                         v[i].err);
        if (v[i].err == LI_OK) {
            assert_string_equal(host, v[i].host);
            assert_int_equal(port, v[i].port);
        }
    }
    char small[4];
    uint16_t port;
    assert_int_equal(x1_hostport_split("toolong:1", -1, small, sizeof small, &port),
                     LI_ERR_PROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_head_too_long),
        cmocka_unit_test(test_hostport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
