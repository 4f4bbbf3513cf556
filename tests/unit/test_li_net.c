/* The one host:port parser (li_hostport) under each caller's rules, addresses and
 * listeners (li_net), and li_conn's mapping of a plain socket's outcomes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>

#include "li_conn.h"
#include "li_hostport.h"
#include "li_net.h"
#include "li_time.h"
#include "li_tls.h"

static char pki[256];

enum {
    NAME = LI_HOSTPORT_NAME,
    ANY = LI_HOSTPORT_ANY,
    PORT0 = LI_HOSTPORT_PORT0,
    OPT = LI_HOSTPORT_OPT_PORT,
    LISTEN = NAME | ANY | PORT0,  /* a daemon's listen address */
    URL = NAME | OPT              /* the authority of an X1 URL (default port kept) */
};

static void test_hostport_table(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned flags;
        li_err err;
        const char *host;
        unsigned port;   /* 443 stays when the port is left out */
    } v[] = {
        { .text = "127.0.0.1:4443", .flags = 0, .err = LI_OK, .host = "127.0.0.1", .port = 4443 },
        { .text = "[::1]:0", .flags = PORT0, .err = LI_OK, .host = "::1", .port = 0 },
        { .text = "[::1]:0", .flags = NAME, .err = LI_ERR_PROTO },
        { .text = "[fe80::1%eth0]:65535", .flags = 0, .err = LI_OK, .host = "fe80::1%eth0",
          .port = 65535 },
        { .text = "ingest.example.net:1", .flags = NAME, .err = LI_OK,
          .host = "ingest.example.net", .port = 1 },
        { .text = "ingest.example.net:1", .flags = 0, .err = LI_ERR_PROTO },
        { .text = "a.b-c:1", .flags = NAME, .err = LI_OK, .host = "a.b-c", .port = 1 },
        { .text = "ne.example.net", .flags = URL, .err = LI_OK, .host = "ne.example.net",
          .port = 443 },
        { .text = "[2001:db8::2]", .flags = URL, .err = LI_OK, .host = "2001:db8::2", .port = 443 },
        { .text = "ne.example.net", .flags = NAME, .err = LI_ERR_PROTO },
        { .text = "ne.example.net:", .flags = URL, .err = LI_ERR_PROTO },
        { .text = ":8080", .flags = LISTEN, .err = LI_OK, .host = "", .port = 8080 },
        { .text = ":8080", .flags = NAME | PORT0, .err = LI_ERR_PROTO },
        { .text = ":", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "", .flags = LISTEN | OPT, .err = LI_ERR_PROTO },
        { .text = "2001:db8::2:443", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "[::1:443", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "[::1]443", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "[]:80", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "[zz::1]:80", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "[::1%]:80", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "[127.0.0.1]:80", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "host:65536", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "host:099999", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "host:0", .flags = NAME, .err = LI_ERR_PROTO },
        { .text = "host:", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "host:+80", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "host: 80", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "host:8x", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "bad host:80", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "under_score:80", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "-lead.example:80", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "trail-.example:80", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "a..b:80", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "1.2.3.999:80", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "1.2.3:80", .flags = LISTEN, .err = LI_ERR_PROTO },
        { .text = "127.0.0.1:port", .flags = LISTEN, .err = LI_ERR_PROTO },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        li_hostport hp = { .port = 443 };
        print_message("hostport '%s' flags %u\n", v[i].text, v[i].flags);
        assert_int_equal(li_hostport_parse(v[i].text, v[i].flags, &hp), v[i].err);
        if (v[i].err == LI_OK) {
            assert_string_equal(hp.host, v[i].host);
            assert_int_equal(hp.port, v[i].port);
        } else {
            assert_string_equal(hp.host, "");
        }
    }
    /* Names end at 253 octets and labels at 63 (RFC 1123 2.1). */
    char text[300];
    li_hostport hp;
    memset(text, 'a', 63);
    snprintf(text + 63, sizeof text - 63, ".x:1");
    assert_int_equal(li_hostport_parse(text, NAME, &hp), LI_OK);
    memset(text, 'a', 64);
    snprintf(text + 64, sizeof text - 64, ".x:1");
    assert_int_equal(li_hostport_parse(text, NAME, &hp), LI_ERR_PROTO);
    for (int i = 0; i < 254; i++)
        text[i] = i % 2 ? '.' : 'a';
    snprintf(text + 253, sizeof text - 253, ":1");
    assert_int_equal(li_hostport_parse(text, NAME, &hp), LI_OK);
    snprintf(text + 253, sizeof text - 253, "b:1");
    assert_int_equal(li_hostport_parse(text, NAME, &hp), LI_ERR_PROTO);
}

static void test_address_listen_connect(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    socklen_t len;
    char err[256];
    assert_int_equal(li_net_address("[::1]:4000", NAME, "t", &ss, &len, err, sizeof err), LI_OK);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(li_net_port(&ss), 4000);
    assert_int_equal(li_net_address("localhost:4000", NAME, "t", &ss, &len, err, sizeof err),
                     LI_OK);
    assert_int_equal(li_net_address("localhost:4000", 0, "t", &ss, &len, err, sizeof err),
                     LI_ERR_INVAL);
    assert_non_null(strstr(err, "t: bad address"));

    int lfd, fd = -1;
    uint16_t port = 0;
    assert_int_equal(li_net_listen("127.0.0.1:0", 0, "t", 4, 0, &lfd, &port, err, sizeof err),
                     LI_OK);
    assert_true(port != 0);
    /* The port is taken: a second listener on it fails with the reason. */
    char addr[32];
    int lfd2;
    uint16_t port2;
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    assert_int_equal(li_net_listen(addr, 0, "t", 4, 0, &lfd2, &port2, err, sizeof err),
                     LI_ERR_IO);
    assert_non_null(strstr(err, "in use"));

    uint64_t deadline = li_mono_ns() + 2000000000ull;
    assert_int_equal(li_net_connect("127.0.0.1", port, deadline, NULL, &fd, err, sizeof err),
                     LI_OK);
    close(fd);
    close(lfd);
    /* Nobody listens there now: refused within the deadline, not a hang. */
    assert_int_equal(li_net_connect("127.0.0.1", port, deadline, NULL, &fd, err, sizeof err),
                     LI_ERR_IO);
    assert_non_null(strstr(err, "refused"));
}

/* A plain connection's outcomes: bytes, would-block with what to wait for, the peer's
 * end of stream, and a closed connection. */
static void test_conn_plain(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    li_conn a, b;
    li_conn_init(&a);
    li_conn_init(&b);
    assert_int_equal(li_conn_attach(&a, sv[0], NULL, 0), LI_OK);
    assert_int_equal(li_conn_attach(&b, sv[1], NULL, 1), LI_OK);
    char buf[16];
    size_t got = 0;
    assert_int_equal(li_conn_recv(&a, buf, sizeof buf, &got), LI_AGAIN);
    assert_int_equal(a.want, POLLIN);
    uint64_t soon = li_mono_ns() + 50000000ull;
    assert_int_equal(li_conn_recv_until(&a, buf, sizeof buf, &got, soon), LI_ERR_TIMEOUT);
    assert_int_equal(li_conn_send_all(&b, "hello", 5, soon + 1000000000ull), LI_OK);
    assert_int_equal(li_conn_recv_until(&a, buf, sizeof buf, &got, soon + 1000000000ull), LI_OK);
    assert_int_equal(got, 5);
    assert_memory_equal(buf, "hello", 5);
    li_conn_close(&b);
    assert_int_equal(li_conn_recv(&a, buf, sizeof buf, &got), LI_ERR_CLOSED);
    li_conn_close(&a);
    assert_int_equal(li_conn_recv(&a, buf, sizeof buf, &got), LI_ERR_CLOSED);
    assert_int_equal(li_conn_send(&a, "x", 1, &got), LI_ERR_CLOSED);
}

static SSL_CTX *tls_ctx(int server, const char *role, const char *pins)
{
    char cert[512], key[512], ca[512], err[512];
    snprintf(cert, sizeof cert, "%s/%s.pem", pki, role);
    snprintf(key, sizeof key, "%s/%s.key", pki, role);
    snprintf(ca, sizeof ca, "%s/ca.pem", pki);
    li_tls_opts o = { .server = server, .cert_file = cert, .key_file = key,
                      .ca_file = pins ? NULL : ca, .pins = pins };
    SSL_CTX *ctx = li_tls_ctx_new(&o, err, sizeof err);
    if (!ctx)
        print_message("li_tls_ctx_new: %s\n", err);
    assert_non_null(ctx);
    return ctx;
}

/* Both ends of a socketpair driven in one thread: each handshake step until neither
 * would block. Returns the last results through sv and cv. */
static void handshake_both(li_conn *s, li_conn *c, li_err *sv, li_err *cv)
{
    *sv = *cv = LI_AGAIN;
    for (int i = 0; i < 100 && (*sv == LI_AGAIN || *cv == LI_AGAIN); i++) {
        if (*cv == LI_AGAIN)
            *cv = li_conn_handshake(c);
        if (*sv == LI_AGAIN)
            *sv = li_conn_handshake(s);
    }
}

static void pair(li_conn *s, li_conn *c, SSL_CTX *sctx, SSL_CTX *cctx)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    li_conn_init(s);
    li_conn_init(c);
    assert_int_equal(li_conn_attach(s, sv[0], sctx, 1), LI_OK);
    assert_int_equal(li_conn_attach(c, sv[1], cctx, 0), LI_OK);
}

/* The TLS outcomes, mapped once: data, would-block, the peer's close_notify, a refused
 * certificate, and a peer that speaks no TLS. */
static void test_conn_tls(void **state)
{
    (void)state;
    SSL_CTX *sctx = tls_ctx(1, "ingest", NULL), *cctx = tls_ctx(0, "poi-test", NULL);
    li_conn s, c;
    li_err se, ce;
    pair(&s, &c, sctx, cctx);
    handshake_both(&s, &c, &se, &ce);
    assert_int_equal(se, LI_OK);
    assert_int_equal(ce, LI_OK);
    char buf[64];
    size_t n = 0;
    assert_int_equal(li_conn_recv(&s, buf, sizeof buf, &n), LI_AGAIN);
    assert_int_equal(s.want, POLLIN);
    assert_int_equal(li_conn_send(&c, "hello", 5, &n), LI_OK);
    assert_int_equal(n, 5);
    uint64_t deadline = li_mono_ns() + 2000000000ull;
    assert_int_equal(li_conn_recv_until(&s, buf, sizeof buf, &n, deadline), LI_OK);
    assert_memory_equal(buf, "hello", 5);
    li_conn_shutdown(&c);   /* close_notify: an orderly end for the reader */
    assert_int_equal(li_conn_recv_until(&s, buf, sizeof buf, &n, deadline), LI_ERR_CLOSED);
    li_conn_close(&c);
    li_conn_close(&s);

    /* A client the server has not pinned is refused: a TLS failure, not a close. */
    SSL_CTX *pinned = tls_ctx(1, "ingest", "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                                           "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF");
    pair(&s, &c, pinned, cctx);
    handshake_both(&s, &c, &se, &ce);
    assert_int_equal(se, LI_ERR_TLS);
    li_conn_close(&s);
    /* TLS 1.3: the server verifies last, so the client learns it at its first read. */
    if (ce == LI_OK)
        ce = li_conn_recv_until(&c, buf, sizeof buf, &n, deadline);
    assert_int_equal(ce, LI_ERR_TLS);
    li_conn_close(&c);

    /* A peer that sends something other than TLS. */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    li_conn_init(&s);
    assert_int_equal(li_conn_attach(&s, sv[0], sctx, 1), LI_OK);
    assert_int_equal(write(sv[1], "GET / HTTP/1.0\r\n\r\n", 18), 18);
    assert_int_equal(li_conn_handshake_until(&s, deadline), LI_ERR_TLS);
    li_conn_close(&s);
    close(sv[1]);

    /* A peer that goes away during the handshake refused us. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    li_conn_init(&c);
    assert_int_equal(li_conn_attach(&c, sv[0], cctx, 0), LI_OK);
    close(sv[1]);
    assert_int_equal(li_conn_handshake_until(&c, deadline), LI_ERR_TLS);
    li_conn_close(&c);

    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    SSL_CTX_free(pinned);
}

static int setup(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(pki, sizeof pki, "/tmp/limf-test-net-XXXXXX");
    if (!mkdtemp(pki))
        return -1;
    snprintf(cmd, sizeof cmd, "%s/deploy/pki.sh %s >/dev/null",
             getenv("LIMF_SOURCE_DIR") ? getenv("LIMF_SOURCE_DIR") : SOURCE_DIR, pki);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", pki);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* a refused handshake closes the pair under a writer */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostport_table),
        cmocka_unit_test(test_address_listen_connect),
        cmocka_unit_test(test_conn_plain),
        cmocka_unit_test(test_conn_tls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
