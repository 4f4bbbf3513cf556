/* Configuration, redaction and TLS contexts (a real handshake over a socketpair). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "li_config.h"
#include "li_conn.h"
#include "li_log.h"
#include "li_time.h"
#include "li_tls.h"

static char tmpdir[256];

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_config_file_and_overrides(void **state)
{
    (void)state;
    write_file("a.conf", "# comment\nname = top\n[kafka]\nbootstrap.servers = 127.0.0.1:9\n"
                         "[x2x3]\n  max_pdu = 65536  \n");
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/a.conf", tmpdir);
    li_config *cfg = li_config_new();
    assert_int_equal(li_config_load_file(cfg, path, err, sizeof err), LI_OK);
    assert_string_equal(li_config_get(cfg, "name", NULL), "top");
    assert_string_equal(li_config_get(cfg, "kafka.bootstrap.servers", NULL), "127.0.0.1:9");
    assert_int_equal(li_config_set_arg(cfg, "x2x3.max_pdu=1024", err, sizeof err), LI_OK);
    int64_t v;
    assert_int_equal(li_config_get_int(cfg, "x2x3.max_pdu", 0, 0, 1 << 30, &v, err, sizeof err),
                     LI_OK);
    assert_int_equal(v, 1024);
    assert_int_equal(li_config_get_int(cfg, "missing", 7, 0, 10, &v, err, sizeof err), LI_OK);
    assert_int_equal(v, 7);
    assert_int_equal(li_config_set_arg(cfg, "bad", err, sizeof err), LI_ERR_INVAL);
    li_config_set(cfg, "n", "12x");
    assert_int_equal(li_config_get_int(cfg, "n", 0, 0, 100, &v, err, sizeof err), LI_ERR_INVAL);
    int b;
    li_config_set(cfg, "flag", "yes");
    assert_int_equal(li_config_get_bool(cfg, "flag", 0, &b, err, sizeof err), LI_OK);
    assert_int_equal(b, 1);
    li_config_free(cfg);

    write_file("bad.conf", "[kafka\nx=1\n");
    snprintf(path, sizeof path, "%s/bad.conf", tmpdir);
    cfg = li_config_new();
    assert_int_equal(li_config_load_file(cfg, path, err, sizeof err), LI_ERR_INVAL);
    assert_non_null(strstr(err, ":1:"));
    li_config_free(cfg);
    li_config_free(NULL);
}

static void test_config_from_args(void **state)
{
    (void)state;
    write_file("one.conf", "a = 1\nb = 1\n[log]\nlevel = warn\n");
    write_file("two.conf", "b = 2\nc = 2\n");
    char one[512], two[512];
    snprintf(one, sizeof one, "%s/one.conf", tmpdir);
    snprintf(two, sizeof two, "%s/two.conf", tmpdir);
    /* The override comes first on the line but applies after both files. */
    char *argv[] = { "prog", "-o", "c=3", "-c", one, "-c", two, NULL };
    li_config *cfg = li_config_new();
    assert_int_equal(li_config_from_args(cfg, "prog", 7, argv, NULL), LI_OK);
    assert_string_equal(li_config_get(cfg, "a", NULL), "1");
    assert_string_equal(li_config_get(cfg, "b", NULL), "2");
    assert_string_equal(li_config_get(cfg, "c", NULL), "3");
    assert_false(li_log_enabled(LI_LOG_INFO));
    li_config_free(cfg);

    char *bad[] = { "prog", "-c", "/nonexistent/limf.conf", NULL };
    cfg = li_config_new();
    assert_int_equal(li_config_from_args(cfg, "prog", 3, bad, NULL), LI_ERR_IO);
    li_config_free(cfg);
}

static void test_redact_hides_identity(void **state)
{
    (void)state;
    char a[LI_REDACT_LEN], b[LI_REDACT_LEN], c[LI_REDACT_LEN];
    li_redact("sip:alice@example.com", a);
    li_redact("sip:alice@example.com", b);
    li_redact("sip:bob@example.com", c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_null(strstr(a, "alice"));
    assert_int_equal(strlen(a), LI_REDACT_LEN - 1);
}

/* --- TLS: a handshake between two contexts over a socketpair --- */

typedef struct side {
    SSL_CTX *ctx;
    int fd;
    int server;
    int ok;
    SSL_SESSION *offer;     /* client: offered for resumption, or NULL */
    SSL_SESSION *kept;      /* client: the session after the exchange (caller frees) */
    int reused;
} side;

static void *handshake(void *arg)
{
    side *s = arg;
    SSL *ssl = SSL_new(s->ctx);
    SSL_set_fd(ssl, s->fd);
    if (s->offer)
        SSL_set_session(ssl, s->offer);
    int rc = s->server ? SSL_accept(ssl) : SSL_connect(ssl);
    s->ok = rc == 1;
    if (s->ok) {
        char c = 'x';
        if (s->server)
            s->ok = SSL_write(ssl, &c, 1) == 1;
        else
            s->ok = SSL_read(ssl, &c, 1) == 1 && c == 'x';
        s->reused = SSL_session_reused(ssl);
        if (!s->server)
            s->kept = SSL_get1_session(ssl);   /* with any ticket read before the data */
    }
    SSL_shutdown(ssl);
    SSL_free(ssl);
    shutdown(s->fd, SHUT_RDWR);
    return NULL;
}

/* A handshake; the client offers *session (when not NULL) and keeps the session it
 * ends with in *session. *reused: whether the server resumed. */
static int handshake_pair(SSL_CTX *server, SSL_CTX *client, SSL_SESSION **session, int *reused)
{
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    side a = { server, fds[0], 1, 0, NULL, NULL, 0 };
    side b = { client, fds[1], 0, 0, session ? *session : NULL, NULL, 0 };
    pthread_t t;
    pthread_create(&t, NULL, handshake, &a);
    handshake(&b);
    pthread_join(t, NULL);
    close(fds[0]);
    close(fds[1]);
    if (session) {
        SSL_SESSION_free(*session);
        *session = b.kept;
    } else {
        SSL_SESSION_free(b.kept);
    }
    if (reused)
        *reused = a.reused || b.reused;
    return a.ok && b.ok;
}

static int try_handshake(SSL_CTX *server, SSL_CTX *client)
{
    return handshake_pair(server, client, NULL, NULL);
}

static void run(const char *cmd)
{
    assert_int_equal(system(cmd), 0);
}

static SSL_CTX *make_ctx(int server, const char *cert, const char *ca, const char *pins,
                         const char *peer_name)
{
    char c[512], k[512], a[512], err[512];
    snprintf(c, sizeof c, "%s/%s.pem", tmpdir, cert);
    snprintf(k, sizeof k, "%s/%s.key", tmpdir, cert);
    snprintf(a, sizeof a, "%s/%s.pem", tmpdir, ca ? ca : "");
    li_tls_opts o = { .server = server, .cert_file = c, .key_file = k,
                      .ca_file = ca ? a : NULL, .pins = pins, .peer_name = peer_name };
    SSL_CTX *ctx = li_tls_ctx_new(&o, err, sizeof err);
    if (!ctx)
        print_message("li_tls_ctx_new: %s\n", err);
    return ctx;
}

/* A file of tmpdir as a NUL-terminated string (the caller frees it). */
static char *read_text(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *text = calloc(1, 65536);
    assert_non_null(text);
    size_t n = fread(text, 1, 65535, f);
    fclose(f);
    assert_true(n > 0 && n < 65535);
    return text;
}

static void test_tls_ca_and_pins(void **state)
{
    (void)state;
    char cmd[1024];
    /* A self-signed certificate outside the CA, as a UE would present. */
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
             "-nodes -keyout self.key -out self.pem -days 1 -subj /CN=self 2>/dev/null && "
             "chmod 600 self.key", tmpdir);
    run(cmd);

    SSL_CTX *srv = make_ctx(1, "ingest", "ca", NULL, NULL);
    SSL_CTX *cli = make_ctx(0, "poi-test", "ca", NULL, "127.0.0.1");
    assert_non_null(srv);
    assert_non_null(cli);
    assert_true(try_handshake(srv, cli));

    /* Wrong server name: the client refuses. */
    SSL_CTX *cli_badname = make_ctx(0, "poi-test", "ca", NULL, "10.9.9.9");
    assert_false(try_handshake(srv, cli_badname));

    /* A self-signed client is refused by CA, accepted when pinned. */
    SSL_CTX *cli_self = make_ctx(0, "self", "ca", NULL, NULL);
    assert_false(try_handshake(srv, cli_self));
    char path[512], pin[96];
    uint8_t fp[32];
    snprintf(path, sizeof path, "%s/self.pem", tmpdir);
    assert_int_equal(li_tls_file_fingerprint(path, fp), LI_OK);
    li_tls_fingerprint_format(fp, pin);
    SSL_CTX *srv_pinned = make_ctx(1, "ingest", NULL, pin, NULL);
    assert_true(try_handshake(srv_pinned, cli_self));
    /* The pinned server refuses a CA-signed client it has not pinned. */
    assert_false(try_handshake(srv_pinned, cli));

    /* Missing trust configuration and world-readable keys are refused up front. */
    assert_null(make_ctx(1, "ingest", NULL, NULL, NULL));
    snprintf(cmd, sizeof cmd, "chmod 644 %s/self.key", tmpdir);
    run(cmd);
    assert_null(make_ctx(0, "self", "ca", NULL, NULL));
    /* Group-readable is accepted only for the daemon's own group (a Kubernetes Secret
     * mounted root:<fsGroup> 0440); group-writable never; another group's never. */
    SSL_CTX *ok;
    snprintf(cmd, sizeof cmd, "chgrp %ld %s/self.key && chmod 440 %s/self.key",
             (long)getegid(), tmpdir, tmpdir);
    run(cmd);
    assert_non_null(ok = make_ctx(0, "self", "ca", NULL, NULL));
    SSL_CTX_free(ok);
    snprintf(cmd, sizeof cmd, "chmod 460 %s/self.key", tmpdir);
    run(cmd);
    assert_null(make_ctx(0, "self", "ca", NULL, NULL));
    if (geteuid() == 0) {   /* only root can give the file a group it is not in */
        snprintf(cmd, sizeof cmd, "chgrp %ld %s/self.key && chmod 440 %s/self.key",
                 (long)getegid() + 4242, tmpdir, tmpdir);
        run(cmd);
        assert_null(make_ctx(0, "self", "ca", NULL, NULL));
    }

    /* The same trust from memory (an agency's CA arriving over the API): the CA-signed
     * client still passes, the self-signed one is still refused, text that is no PEM is
     * refused up front. */
    char *ca_pem = read_text("ca.pem"), *cert_pem = read_text("ingest.pem");
    char *key_pem = read_text("ingest.key");
    li_tls_opts mem = { .server = 1, .cert_pem = cert_pem, .key_pem = key_pem, .ca_pem = ca_pem };
    char err[512];
    SSL_CTX *srv_mem = li_tls_ctx_new(&mem, err, sizeof err);
    assert_non_null(srv_mem);
    assert_true(try_handshake(srv_mem, cli));
    assert_false(try_handshake(srv_mem, cli_self));
    mem.ca_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
    assert_null(li_tls_ctx_new(&mem, err, sizeof err));
    mem.ca_pem = ca_pem;
    mem.key_pem = cert_pem;   /* a certificate where the key belongs */
    assert_null(li_tls_ctx_new(&mem, err, sizeof err));
    free(ca_pem);
    free(cert_pem);
    free(key_pem);

    SSL_CTX *all[] = { srv, cli, cli_badname, cli_self, srv_pinned, srv_mem };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        SSL_CTX_free(all[i]);
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

/* li_conn's TLS outcomes, mapped once: data, would-block, the peer's close_notify, a refused
 * certificate, and a peer that speaks no TLS. */
static void test_conn_tls(void **state)
{
    (void)state;
    SSL_CTX *sctx = make_ctx(1, "ingest", "ca", NULL, NULL);
    SSL_CTX *cctx = make_ctx(0, "poi-test", "ca", NULL, NULL);
    assert_non_null(sctx);
    assert_non_null(cctx);
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
    SSL_CTX *pinned = make_ctx(1, "ingest", NULL, "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:"
                               "EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF", NULL);
    assert_non_null(pinned);
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

/* A certificate of the test CA (deploy/pki.sh, already in tmpdir) with this
 * extendedKeyUsage, or self-signed when ca is 0. */
static void make_eku_cert(const char *name, const char *eku, int ca)
{
    char cmd[2048];
    if (ca)
        snprintf(cmd, sizeof cmd,
                 "cd %s && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                 "-keyout %s.key -out %s.csr -subj /CN=%s 2>/dev/null && "
                 "printf 'extendedKeyUsage=%s\nsubjectAltName=IP:127.0.0.1\n' > %s.ext && "
                 "openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -set_serial 77 -days 1 "
                 "-extfile %s.ext -out %s.pem 2>/dev/null && chmod 600 %s.key",
                 tmpdir, name, name, name, eku, name, name, name, name, name);
    else
        snprintf(cmd, sizeof cmd,
                 "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                 "-nodes -keyout %s.key -out %s.pem -days 1 -subj /CN=%s "
                 "-addext extendedKeyUsage=%s 2>/dev/null && chmod 600 %s.key",
                 tmpdir, name, name, name, eku, name);
    run(cmd);
}

static void pki(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/deploy/pki.sh %s >/dev/null", getenv("LIMF_SOURCE_DIR") ?
             getenv("LIMF_SOURCE_DIR") : SOURCE_DIR, tmpdir);
    run(cmd);
}

static void file_pin(const char *name, char pin[96])
{
    char path[512];
    uint8_t fp[32];
    snprintf(path, sizeof path, "%s/%s.pem", tmpdir, name);
    assert_int_equal(li_tls_file_fingerprint(path, fp), LI_OK);
    li_tls_fingerprint_format(fp, pin);
}

/* A server takes only clients whose certificate allows TLS client authentication
 * (RFC 5280 4.2.1.12), verified by CA or pinned: a server-only certificate of the
 * same CA, or pinned, is refused. */
static void test_tls_client_eku(void **state)
{
    (void)state;
    pki();
    make_eku_cert("srvonly", "serverAuth", 1);
    make_eku_cert("cliok", "clientAuth", 1);
    make_eku_cert("selfsrv", "serverAuth", 0);
    SSL_CTX *srv = make_ctx(1, "ingest", "ca", NULL, NULL);
    SSL_CTX *good = make_ctx(0, "cliok", "ca", NULL, NULL);
    SSL_CTX *bad = make_ctx(0, "srvonly", "ca", NULL, NULL);
    SSL_CTX *selfsrv = make_ctx(0, "selfsrv", "ca", NULL, NULL);
    assert_non_null(srv);
    assert_non_null(good);
    assert_non_null(bad);
    assert_non_null(selfsrv);
    assert_true(try_handshake(srv, good));
    assert_false(try_handshake(srv, bad));
    char pin[96];
    file_pin("selfsrv", pin);
    SSL_CTX *srv_pinned = make_ctx(1, "ingest", NULL, pin, NULL);
    assert_non_null(srv_pinned);
    assert_false(try_handshake(srv_pinned, selfsrv));
    SSL_CTX *all[] = { srv, good, bad, selfsrv, srv_pinned };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        SSL_CTX_free(all[i]);
}

/* No connection resumes an earlier one (TLS 1.3 and 1.2): the server sends no ticket
 * and keeps no cache, so a session offered again is answered with a full handshake, in
 * which the peer is verified again. */
static void test_tls_no_resumption(void **state)
{
    (void)state;
    pki();
    SSL_CTX *srv = make_ctx(1, "ingest", "ca", NULL, NULL);
    SSL_CTX *cli = make_ctx(0, "poi-test", "ca", NULL, "127.0.0.1");
    assert_non_null(srv);
    assert_non_null(cli);
    for (int v = 0; v < 2; v++) {
        int max = v ? TLS1_2_VERSION : TLS1_3_VERSION;
        SSL_CTX_set_max_proto_version(cli, max);
        SSL_SESSION *sess = NULL;
        int reused = 1;
        assert_true(handshake_pair(srv, cli, &sess, &reused));
        assert_false(reused);
        assert_non_null(sess);
        assert_false(SSL_SESSION_is_resumable(sess) && SSL_SESSION_has_ticket(sess));
        reused = 1;
        assert_true(handshake_pair(srv, cli, &sess, &reused));
        assert_false(reused);
        SSL_SESSION_free(sess);
    }
    SSL_CTX_free(srv);
    SSL_CTX_free(cli);
}

/* The key's permissions are those of the file opened: a symlink to a key others may
 * read, or something that is not a regular file, is refused. */
static void test_tls_key_file_checks(void **state)
{
    (void)state;
    pki();
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd %s && cp poi-test.key open.key && chmod 644 open.key && "
             "cp poi-test.pem link.pem && ln -sf open.key link.key && "
             "cp poi-test.pem dir.pem && mkdir -m 700 -p dir.key", tmpdir);
    run(cmd);
    SSL_CTX *ok = make_ctx(0, "poi-test", "ca", NULL, NULL);
    assert_non_null(ok);
    SSL_CTX_free(ok);
    assert_null(make_ctx(0, "link", "ca", NULL, NULL));
    char c[512], k[512], a[512], err[512];
    snprintf(c, sizeof c, "%s/dir.pem", tmpdir);
    snprintf(k, sizeof k, "%s/dir.key", tmpdir);
    snprintf(a, sizeof a, "%s/ca.pem", tmpdir);
    li_tls_opts o = { .server = 0, .cert_file = c, .key_file = k, .ca_file = a };
    assert_null(li_tls_ctx_new(&o, err, sizeof err));
    assert_non_null(strstr(err, "regular file"));
}

/* The TLS key log writes every session's secrets: only a build configured with
 * LIMF_INSECURE_KEYLOG honours it; any other refuses the setting. */
static void test_tls_keylog_build_flag(void **state)
{
    (void)state;
    pki();
    char c[512], k[512], a[512], log[512], err[512];
    snprintf(c, sizeof c, "%s/ingest.pem", tmpdir);
    snprintf(k, sizeof k, "%s/ingest.key", tmpdir);
    snprintf(a, sizeof a, "%s/ca.pem", tmpdir);
    snprintf(log, sizeof log, "%s/keys.log", tmpdir);
    li_tls_opts o = { .server = 1, .cert_file = c, .key_file = k, .ca_file = a,
                      .keylog_file = log };
    SSL_CTX *srv = li_tls_ctx_new(&o, err, sizeof err);
#ifdef LIMF_INSECURE_KEYLOG
    assert_true(li_tls_keylog_available());
    assert_non_null(srv);
    SSL_CTX *cli = make_ctx(0, "poi-test", "ca", NULL, NULL);
    assert_true(try_handshake(srv, cli));
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char line[512];
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    SSL_CTX_free(cli);
    SSL_CTX_free(srv);
#else
    assert_false(li_tls_keylog_available());
    assert_null(srv);
    assert_non_null(strstr(err, "LIMF_INSECURE_KEYLOG"));
#endif
}

static int setup(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(tmpdir, sizeof tmpdir, "/tmp/limf-test-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(cmd, sizeof cmd, "%s/deploy/pki.sh %s >/dev/null", getenv("LIMF_SOURCE_DIR") ?
             getenv("LIMF_SOURCE_DIR") : SOURCE_DIR, tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* a refused handshake closes the pair under a writer */
    li_log_init("test", LI_LOG_WARN, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_file_and_overrides),
        cmocka_unit_test(test_config_from_args),
        cmocka_unit_test(test_redact_hides_identity),
        cmocka_unit_test(test_tls_ca_and_pins),
        cmocka_unit_test(test_conn_tls),
        cmocka_unit_test(test_tls_client_eku),
        cmocka_unit_test(test_tls_no_resumption),
        cmocka_unit_test(test_tls_key_file_checks),
        cmocka_unit_test(test_tls_keylog_build_flag),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
