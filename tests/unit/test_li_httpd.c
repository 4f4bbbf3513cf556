/* li_httpd: its request framing as a table, and the real server on loopback attacked the
 * way a hostile local client would (oversized head and body, chunked body, a request
 * that never ends, more connections than allowed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "li_httpd.h"

typedef struct parse_row {
    const char *text;
    li_err err;
    int status;       /* the answer when err is neither LI_OK nor LI_AGAIN */
    size_t total;     /* LI_OK: head and body octets */
} parse_row;

static const parse_row parse_rows[] = {
    { .text = "GET /metrics HTTP/1.1\r\n\r\n", .err = LI_OK, .total = 25 },
    { .text = "POST /v1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", .err = LI_OK, .total = 43 },
    { .text = "POST /v1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nab", .err = LI_AGAIN },
    { .text = "GET /metrics HTTP/1.1\r\n", .err = LI_AGAIN },
    { .text = "POST /v1 HTTP/1.1\r\nContent-Length: 17\r\n\r\n", .err = LI_ERR_TOO_BIG,
      .status = 413 },
    { .text = "POST /v1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", .err = LI_ERR_PROTO,
      .status = 501 },
    { .text = "GET /metrics HTTP/2.0\r\n\r\n", .err = LI_ERR_PROTO, .status = 400 },
    { .text = "GET\r\n\r\n", .err = LI_ERR_PROTO, .status = 400 },
    { .text = "POST /v1 HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      .err = LI_ERR_PROTO, .status = 400 },
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_rows / sizeof parse_rows[0]; i++) {
        const parse_row *r = &parse_rows[i];
        li_http_head h;
        size_t total = 0;
        int status = 0;
        li_err err = li_httpd_parse_request((const uint8_t *)r->text, strlen(r->text), 16, &h,
                                            &total, &status);
        assert_int_equal(err, r->err);
        if (err == LI_OK)
            assert_int_equal(total, r->total);
        else if (err != LI_AGAIN)
            assert_int_equal(status, r->status);
    }
}

/* The server under test, run by a thread of the test. */
typedef struct server {
    li_httpd *h;
    pthread_t thread;
    atomic_int stop;
    atomic_int calls;
    atomic_int admit;     /* what the admission hook answers (Unix socket test) */
    atomic_int admitted;  /* connections the hook saw with their request still unread */
} server;

static void echo(void *ctx, const li_httpd_request *req, li_httpd_response *resp)
{
    server *s = ctx;
    atomic_fetch_add(&s->calls, 1);
    resp->content_type = "text/plain";
    if (!strcmp(req->path, "/empty")) {
        resp->status = 204;
        return;
    }
    li_buf_printf(&resp->body, "%s %s ", req->method, req->path);
    li_buf_append(&resp->body, req->body, req->body_len);
}

static void *serve(void *arg)
{
    server *s = arg;
    while (!atomic_load(&s->stop))
        li_httpd_run(s->h, 20);
    return NULL;
}

static void start(server *s, size_t max_conns)
{
    char err[256];
    memset(s, 0, sizeof *s);
    li_httpd_opts o = { .handler = echo, .ctx = s, .max_body = 64, .timeout_ms = 300,
                        .max_connections = max_conns, .loopback_only = 1 };
    s->h = li_httpd_new("127.0.0.1:0", &o, err, sizeof err);
    assert_non_null(s->h);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void stop(server *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    li_httpd_free(s->h);
}

static int dial(uint16_t port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Reads until the server closes (or 3 s pass); returns the octets read. */
static size_t read_all(int fd, char *out, size_t size)
{
    size_t got = 0;
    for (;;) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 3000) <= 0)
            break;
        ssize_t n = read(fd, out + got, size - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    out[got] = 0;
    return got;
}

/* Sends text on a new connection; the whole answer in resp, the status returned. */
static int exchange(uint16_t port, const char *text, char *resp, size_t size)
{
    int fd = dial(port);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    read_all(fd, resp, size);
    close(fd);
    int code = 0;
    if (sscanf(resp, "HTTP/1.1 %d", &code) != 1)
        return 0;
    return code;
}

static void test_serve(void **state)
{
    (void)state;
    server s;
    start(&s, 8);
    uint16_t port = li_httpd_port(s.h);
    char resp[4096];
    assert_int_equal(exchange(port, "POST /v1/x HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody",
                              resp, sizeof resp), 200);
    assert_non_null(strstr(resp, "\r\nConnection: close\r\n"));
    assert_non_null(strstr(resp, "\r\nContent-Length: 15\r\n"));
    assert_non_null(strstr(resp, "\r\n\r\nPOST /v1/x body"));
    /* 204: no body, no length (RFC 9110 6.4.1). */
    assert_int_equal(exchange(port, "DELETE /empty HTTP/1.1\r\n\r\n", resp, sizeof resp), 204);
    assert_null(strstr(resp, "Content-Length"));
    /* Expect: 100-continue gets its interim answer, then the final one. */
    int fd = dial(port);
    const char *head = "POST /c HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
    char interim[64] = "";
    assert_true(read(fd, interim, sizeof interim - 1) > 0);
    assert_non_null(strstr(interim, "HTTP/1.1 100 Continue\r\n\r\n"));
    assert_int_equal(write(fd, "hi", 2), 2);
    read_all(fd, resp, sizeof resp);
    close(fd);
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK"));
    assert_non_null(strstr(resp, "POST /c hi"));
    assert_int_equal(atomic_load(&s.calls), 3);
    stop(&s);
}

/* Every hostile request is answered with an error or dropped; none reaches the handler. */
static void test_refused(void **state)
{
    (void)state;
    server s;
    start(&s, 8);
    uint16_t port = li_httpd_port(s.h);
    char resp[4096];
    assert_int_equal(exchange(port, "POST /v1 HTTP/1.1\r\nContent-Length: 65\r\n\r\n", resp,
                              sizeof resp), 413);
    assert_int_equal(exchange(port, "POST /v1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                                    "4\r\nbody\r\n0\r\n\r\n", resp, sizeof resp), 501);
    assert_int_equal(exchange(port, "GET / HTTP/9.9\r\n\r\n", resp, sizeof resp), 400);
    /* A head longer than LI_HTTP_MAX_HEAD. */
    static char big[LI_HTTP_MAX_HEAD + 64];
    int n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nX-Pad: ");
    memset(big + n, 'a', sizeof big - (size_t)n - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(exchange(port, big, resp, sizeof resp), 400);
    /* A request that never completes is dropped at the deadline (300 ms), unanswered. */
    int fd = dial(port);
    assert_int_equal(write(fd, "GET / HTTP/1.1\r\n", 16), 16);
    assert_int_equal(read_all(fd, resp, sizeof resp), 0);
    close(fd);
    assert_int_equal(atomic_load(&s.calls), 0);
    stop(&s);
}

static void test_connection_limit(void **state)
{
    (void)state;
    server s;
    start(&s, 2);
    uint16_t port = li_httpd_port(s.h);
    int idle[2] = { dial(port), dial(port) };
    usleep(100000);   /* both accepted */
    char resp[256];
    /* The third is closed as it is accepted. */
    int fd = dial(port);
    (void)!write(fd, "GET / HTTP/1.1\r\n\r\n", 18);
    assert_int_equal(read_all(fd, resp, sizeof resp), 0);
    close(fd);
    close(idle[0]);
    close(idle[1]);
    assert_int_equal(atomic_load(&s.calls), 0);
    stop(&s);
}

static void test_listen(void **state)
{
    (void)state;
    char err[256];
    li_httpd_opts o = { .handler = echo, .max_body = 0, .timeout_ms = 100,
                        .max_connections = 1, .loopback_only = 1 };
    static const char *const bad[] = { "0.0.0.0:0", "[::]:0", "localhost:0", "127.0.0.1",
                                       "127.0.0.1:99999", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_null(li_httpd_new(bad[i], &o, err, sizeof err));
        assert_true(err[0] != 0);
    }
}

/* The admission hook sees each connection before the server reads from it: the
 * client's request is still waiting in the socket, and the peer's credentials are the
 * kernel's (SO_PEERCRED). */
static int admit_hook(void *ctx, int fd)
{
    server *s = ctx;
    struct ucred cred;
    socklen_t len = sizeof cred;
    char peek[4];
    struct pollfd p = { fd, POLLIN, 0 };
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == getuid() &&
        poll(&p, 1, 2000) == 1 && recv(fd, peek, sizeof peek, MSG_PEEK) == (ssize_t)sizeof peek)
        atomic_fetch_add(&s->admitted, 1);
    return atomic_load(&s->admit);
}

static int dial_unix(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static int exchange_unix(const char *path, const char *text, char *resp, size_t size)
{
    int fd = dial_unix(path);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    read_all(fd, resp, size);
    close(fd);
    int code = 0;
    return sscanf(resp, "HTTP/1.1 %d", &code) == 1 ? code : 0;
}

/* On a Unix socket: the file's mode, the admission hook (a refused connection is closed
 * unanswered, counted, and never reaches the handler), a live socket never taken over, a
 * stale one replaced, the file removed at the end. */
static void test_unix_admission(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_li_httpd.XXXXXX", path[64], err[256], resp[1024];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ctl.sock", dir);
    server s;
    memset(&s, 0, sizeof s);
    atomic_store(&s.admit, 1);
    li_httpd_opts o = { .handler = echo, .ctx = &s, .max_body = 64, .timeout_ms = 300,
                        .max_connections = 8, .admit = admit_hook };
    s.h = li_httpd_new_unix(path, 0600, "test.socket", &o, err, sizeof err);
    assert_non_null(s.h);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(li_httpd_port(s.h), 0);
    assert_int_equal(pthread_create(&s.thread, NULL, serve, &s), 0);
    assert_int_equal(exchange_unix(path, "GET /x HTTP/1.1\r\n\r\n", resp, sizeof resp), 200);
    assert_int_equal(atomic_load(&s.admitted), 1);
    assert_int_equal(li_httpd_refused(s.h), 0);
    /* Refused: no answer, the handler never called, the refusal counted. */
    atomic_store(&s.admit, 0);
    assert_int_equal(exchange_unix(path, "GET /x HTTP/1.1\r\n\r\n", resp, sizeof resp), 0);
    assert_int_equal(resp[0], 0);
    assert_int_equal(atomic_load(&s.calls), 1);
    assert_int_equal(atomic_load(&s.admitted), 2);
    assert_int_equal(li_httpd_refused(s.h), 1);
    /* A second server cannot take the live socket over. */
    err[0] = 0;
    assert_null(li_httpd_new_unix(path, 0600, "test.socket", &o, err, sizeof err));
    assert_non_null(strstr(err, "in use"));
    atomic_store(&s.stop, 1);
    pthread_join(s.thread, NULL);
    li_httpd_free(s.h);
    assert_int_equal(access(path, F_OK), -1);
    /* A socket file nobody listens on (its daemon died) is replaced. */
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int dead = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(dead, (struct sockaddr *)&a, sizeof a), 0);
    close(dead);
    li_httpd *h = li_httpd_new_unix(path, 0600, "test.socket", &o, err, sizeof err);
    assert_non_null(h);
    li_httpd_free(h);
    /* Anything else at the path is left alone. */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    assert_null(li_httpd_new_unix(path, 0600, "test.socket", &o, err, sizeof err));
    assert_non_null(strstr(err, "not a socket"));
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_serve),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_listen),
        cmocka_unit_test(test_unix_admission),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
