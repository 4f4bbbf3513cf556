/* HTTP/1.1 head parser of the X1 transport: a table of heads and what must come out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "li_http.h"

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
    { .text = "POST /X1/NE HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", .err = LI_OK,
      .method = "POST", .path = "/X1/NE", .has_length = 1, .length = 12 },
    { .text = "POST /X1/NE HTTP/1.1\nContent-Length:7\n\nbodybod", .err = LI_OK, .method = "POST",
      .path = "/X1/NE", .has_length = 1, .length = 7, .head_len = 39 },
    { .text = "POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n", .err = LI_OK, .method = "POST",
      .path = "/", .has_length = 1, .close = 1 },
    { .text = "POST / HTTP/1.0\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
      .err = LI_OK, .method = "POST", .path = "/", .has_length = 1 },
    { .text = "POST / HTTP/1.1\r\nconnection: foo, close\r\ncontent-length: 3\r\n\r\n",
      .err = LI_OK, .method = "POST", .path = "/", .has_length = 1, .length = 3, .close = 1 },
    { .text = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", .err = LI_OK,
      .method = "POST", .path = "/", .chunked = 1 },
    { .text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", .response = 1, .err = LI_OK,
      .status = 200, .has_length = 1, .length = 5 },
    { .text = "HTTP/1.1 404\r\n\r\n", .response = 1, .err = LI_OK, .status = 404 },
    /* Incomplete: wait for more. */
    { .text = "POST /X1/NE HTTP/1.1\r\nContent-Len", .err = LI_AGAIN },
    { .text = "", .err = LI_AGAIN },
    /* Malformed. */
    { .text = "POST /X1/NE\r\n\r\n", .err = LI_ERR_PROTO },
    { .text = "POST /X1/NE HTTP/2.0\r\n\r\n", .err = LI_ERR_PROTO },
    { .text = "POST  HTTP/1.1\r\n\r\n", .err = LI_ERR_PROTO },
    { .text = "POST / HTTP/1.1\r\nNoColon\r\n\r\n", .err = LI_ERR_PROTO },
    { .text = "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", .err = LI_ERR_PROTO },
    { .text = "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
      .err = LI_ERR_PROTO },
    { .text = "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      .err = LI_ERR_PROTO },
    { .text = "HTTP/1.1 20 OK\r\n\r\n", .response = 1, .err = LI_ERR_PROTO },
    { .text = "HTTP/1.1 200OK\r\n\r\n", .response = 1, .err = LI_ERR_PROTO },
    { .text = "POST / HTTP/1.1\r\n\r\n", .response = 1, .err = LI_ERR_PROTO },
};

static void test_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const head_vector *v = &vectors[i];
        size_t len = strlen(v->text);
        /* Before an unreadable page: any read past the input faults (guard.h). */
        guard g = guard_new(v->text, len);
        li_http_head h;
        size_t head_len = 0;
        li_err err = li_http_parse_head(g.data, len, v->response, &h, &head_len);
        guard_free(&g);
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
    assert_int_equal(li_http_parse_head(guarded(buf, len), len, 0, &h, &head_len), LI_ERR_PROTO);
    assert_int_equal(li_http_parse_head(guarded(buf, 100), 100, 0, &h, &head_len), LI_AGAIN);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_head_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
