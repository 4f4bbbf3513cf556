/* The one host:port parser (li_hostport) under each caller's rules, addresses and
 * listeners (li_net), and li_conn's mapping of a plain socket's outcomes (its TLS
 * outcomes are in test_li_common, beside the test PKI). */
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

#include "li_conn.h"
#include "li_hostport.h"
#include "li_net.h"
#include "li_time.h"

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
    static const struct {
        const char *text;
        unsigned flags;
        li_err err;
        int family;
    } v[] = {
        { .text = "127.0.0.1:4000", .flags = NAME, .err = LI_OK, .family = AF_INET },
        { .text = "[::1]:4000", .flags = NAME, .err = LI_OK, .family = AF_INET6 },
        { .text = "localhost:4000", .flags = NAME, .err = LI_OK },
        { .text = "localhost:4000", .flags = 0, .err = LI_ERR_INVAL },
        { .text = "127.0.0.1", .flags = NAME, .err = LI_ERR_INVAL },
        { .text = ":4000", .flags = NAME, .err = LI_ERR_INVAL },
        { .text = "127.0.0.1:port", .flags = NAME, .err = LI_ERR_INVAL },
        { .text = "[::1]", .flags = NAME, .err = LI_ERR_INVAL },
        { .text = "", .flags = NAME, .err = LI_ERR_INVAL },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        print_message("address '%s'\n", v[i].text);
        err[0] = '\0';
        assert_int_equal(li_net_address(v[i].text, v[i].flags, "t", &ss, &len, err, sizeof err),
                         v[i].err);
        if (v[i].err == LI_OK)
            assert_int_equal(li_net_port(&ss), 4000);
        else
            assert_non_null(strstr(err, "t: bad address"));
        if (v[i].family)
            assert_int_equal(ss.ss_family, v[i].family);
    }

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostport_table),
        cmocka_unit_test(test_address_listen_connect),
        cmocka_unit_test(test_conn_plain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
