#include "msrp_relay.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "li_log.h"
#include "li_net.h"
#include "li_time.h"
#include "li_tls.h"
#include "msrp_relay_int.h"

/* A leg stops reading while the other leg has this much unwritten (back-pressure: the
 * relay never buffers without bound, and a slow reader slows its sender). */
#define RELAY_HIGH_WATER (1u << 20)
#define RELAY_READ_CHUNK (64u * 1024)
#define RELAY_RETRY_NS (200ull * 1000 * 1000)
#define RELAY_TICK_MS 100

static void relay_session_release(msrp_relay *r, relay_session *s);

static relay_conn *peer_of(relay_conn *c) { return &c->s->conn[!c->leg]; }

static size_t backlog(const relay_conn *c) { return c->out.len; }

/* ---------------------------------------------------------------- TLS contexts */

/* RFC 8122 section 5: a self-signed certificate is accepted when its fingerprint is the
 * one the SDP announced. The expected fingerprint is per connection (the reservation's),
 * so li_tls's per-context pins are replaced by this callback; a peer without an
 * expected fingerprint (a network peer verified by CA) goes through the CA check. A UE
 * that connects (the relay is TLS server) must hold a certificate fit for client
 * authentication. */
static int verify_peer(X509_STORE_CTX *store, void *arg)
{
    const int *have_ca = arg;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    relay_conn *c = ssl ? SSL_get_app_data(ssl) : NULL;
    X509 *leaf = X509_STORE_CTX_get0_cert(store);
    if (ssl && SSL_is_server(ssl) && !li_tls_cert_may_be_client(leaf)) {
        X509_STORE_CTX_set_error(store, X509_V_ERR_INVALID_PURPOSE);
        return 0;
    }
    if (c && c->has_expected_fp) {
        uint8_t fp[32];
        unsigned int n = sizeof fp;
        if (leaf && X509_digest(leaf, EVP_sha256(), fp, &n) == 1 && n == 32 &&
            memcmp(fp, c->expected_fp, 32) == 0) {
            X509_STORE_CTX_set_error(store, X509_V_OK);
            return 1;
        }
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    if (have_ca && *have_ca)
        return X509_verify_cert(store);
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_UNTRUSTED);
    return 0;
}

/* Builds a context with li_tls (certificate, key permissions, TLS 1.2 minimum, key log)
 * and installs verify_peer. li_tls demands a CA or pins; without a CA the relay's own
 * fingerprint stands in as the pin, which verify_peer never consults. */
static SSL_CTX *make_ctx(msrp_relay *r, const char *prefix, const char *def_prefix,
                         int server, int *have_ca, char *errstr, size_t errstr_size)
{
    li_tls_opts opts;
    li_tls_opts_from_config(r->cfg, prefix, &opts);
    if ((!opts.cert_file || !opts.key_file) && def_prefix) {
        li_tls_opts def;
        li_tls_opts_from_config(r->cfg, def_prefix, &def);
        opts.cert_file = def.cert_file;
        opts.key_file = def.key_file;
    }
    opts.server = server;
    opts.pins = NULL;
    opts.peer_name = NULL;
    opts.optional_peer_cert = 0;
    char own_pin[96];
    if (!opts.ca_file && opts.cert_file) {
        uint8_t fp[32];
        if (li_tls_file_fingerprint(opts.cert_file, fp) != LI_OK) {
            snprintf(errstr, errstr_size, "%s.cert: cannot read %s", prefix, opts.cert_file);
            return NULL;
        }
        li_tls_fingerprint_format(fp, own_pin);
        opts.pins = own_pin;
    }
    char why[512];
    SSL_CTX *ctx = li_tls_ctx_new(&opts, why, sizeof why);
    if (!ctx) {
        snprintf(errstr, errstr_size, "%s: %s", prefix, why);
        return NULL;
    }
    if (have_ca)
        *have_ca = opts.ca_file != NULL;
    SSL_CTX_set_cert_verify_callback(ctx, verify_peer, have_ca);
    return ctx;
}

/* ---------------------------------------------------------------- sockets */

/* host (an address or a name from an SDP or the configuration) and port as a socket
 * address. */
static li_err resolve(const char *host, uint16_t port, struct sockaddr_storage *out,
                      socklen_t *out_len)
{
    li_hostport hp = { .port = port };
    if (!*host || snprintf(hp.host, sizeof hp.host, "%s", host) >= (int)sizeof hp.host)
        return LI_ERR_NOT_FOUND;
    return li_net_resolve(&hp, out, out_len);
}

/* A session's own listening socket, on a port the system picks. */
static int listen_on(const char *host, uint16_t *port)
{
    struct sockaddr_storage sa;
    socklen_t len;
    char err[256];
    int fd = -1;
    if (resolve(host, 0, &sa, &len) != LI_OK ||
        li_net_listen_at(&sa, len, 16, LI_NET_NONBLOCK, &fd, port, err, sizeof err) != LI_OK)
        return -1;
    return fd;
}

/* ---------------------------------------------------------------- connections */

static void conn_update(msrp_relay *r, relay_conn *c);
static void conn_read(msrp_relay *r, relay_conn *c);
static void conn_flush(msrp_relay *r, relay_conn *c);
static void conn_connect(msrp_relay *r, relay_conn *c);
static void session_end(msrp_relay *r, relay_session *s);

static void conn_close(msrp_relay *r, relay_conn *c)
{
    if (c->io.fd >= 0) {
        epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->io.fd, NULL);
        if (c->state == CONN_OPEN)
            li_conn_shutdown(&c->io);
    }
    li_conn_close(&c->io);
    c->events = 0;
    c->state = CONN_CLOSED;
    li_buf_reset(&c->in);
    li_msrp_parser_init(&c->parser);
}

static int conn_established(const relay_conn *c) { return c->messages_in || c->bytes_in || c->state == CONN_OPEN; }

/* A leg failed or ended. Before it was ever open, a UE may try again (a peer with the
 * wrong certificate must not cost the real UE its reservation) and the network leg is
 * retried until its deadline; afterwards the session is over (RFC 4975 section 5.4:
 * the session ends with its connection). */
static void conn_fail(msrp_relay *r, relay_conn *c, const char *why)
{
    int was_open = c->state == CONN_OPEN;
    relay_session *s = c->s;
    li_log_debug("session %s: %s leg %s", s->id, c->leg == RELAY_LEG_UE ? "ue" : "network", why);
    conn_close(r, c);
    if (!was_open && !s->ended) {
        uint64_t now = li_mono_ns();
        if (c->leg == RELAY_LEG_UE && !c->active) {
            c->state = CONN_IDLE;
            return;
        }
        if (now < c->connect_deadline_ns) {
            c->state = CONN_IDLE;
            c->retry_at_ns = now + RELAY_RETRY_NS;
            return;
        }
        li_log_warn("session %s: %s leg could not be established: %s", s->id,
                    c->leg == RELAY_LEG_UE ? "ue" : "network", why);
    }
    session_end(r, s);
}

static void conn_update(msrp_relay *r, relay_conn *c)
{
    if (c->io.fd < 0)
        return;
    uint32_t ev = 0;
    switch (c->state) {
    case CONN_CONNECTING:
        ev = EPOLLOUT;
        break;
    case CONN_HANDSHAKE:
        ev = c->want_write_for_read ? EPOLLOUT : EPOLLIN;
        break;
    case CONN_OPEN:
        if (!c->close_after_flush && backlog(peer_of(c)) < RELAY_HIGH_WATER)
            ev |= EPOLLIN;
        if (c->out.len || c->want_write_for_read)
            ev |= EPOLLOUT;
        if (c->want_read_for_write)
            ev |= EPOLLIN;
        break;
    default:
        return;
    }
    if (ev == c->events)
        return;
    struct epoll_event e = { .events = ev, .data.ptr = &c->ev };
    epoll_ctl(r->epfd, EPOLL_CTL_MOD, c->io.fd, &e);
    c->events = ev;
}

static void conn_register(msrp_relay *r, relay_conn *c, uint32_t ev)
{
    struct epoll_event e = { .events = ev, .data.ptr = &c->ev };
    epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->io.fd, &e);
    c->events = ev;
}

/* >0 bytes, 0 end of stream, -1 would block, -2 error. */
static ssize_t conn_recv(relay_conn *c, uint8_t *buf, size_t n)
{
    size_t got;
    li_err e = li_conn_recv(&c->io, buf, n, &got);
    c->want_write_for_read = e == LI_AGAIN && c->io.want == POLLOUT;
    return e == LI_OK ? (ssize_t)got : e == LI_AGAIN ? -1 : e == LI_ERR_CLOSED ? 0 : -2;
}

/* >0 bytes, -1 would block, -2 error. */
static ssize_t conn_send(relay_conn *c, const uint8_t *buf, size_t n)
{
    size_t sent;
    li_err e = li_conn_send(&c->io, buf, n, &sent);
    c->want_read_for_write = e == LI_AGAIN && c->io.want == POLLIN;
    return e == LI_OK ? (ssize_t)sent : e == LI_AGAIN ? -1 : -2;
}

static void conn_flush(msrp_relay *r, relay_conn *c)
{
    if (c->state != CONN_OPEN)
        return;
    size_t off = 0;
    int failed = 0;
    while (off < c->out.len) {
        /* TLS records carry at most 16 KiB; larger writes only move more memory. */
        size_t n = c->out.len - off;
        ssize_t k = conn_send(c, c->out.data + off, c->io.ssl && n > 16384 ? 16384 : n);
        if (k == -1)
            break;
        if (k < 0) {
            failed = 1;
            break;
        }
        off += (size_t)k;
        r->stats.bytes_relayed += (uint64_t)k;
    }
    if (off)
        li_buf_consume(&c->out, off);
    if (failed) {
        conn_fail(r, c, "write failed");
        return;
    }
    if (!c->out.len && c->close_after_flush) {
        conn_close(r, c);
        session_end(r, c->s);
        return;
    }
    conn_update(r, c);
    /* Room again on this leg: the other leg may read (it may hold TLS data already
     * decrypted, which epoll would not report). */
    relay_conn *p = peer_of(c);
    if (off && p->state == CONN_OPEN && !p->close_after_flush &&
        backlog(c) < RELAY_HIGH_WATER && (p->events & EPOLLIN) == 0)
        conn_read(r, p);
}

/* ---------------------------------------------------------------- MSRP relaying */

static int failure_report_no(const li_msrp_msg *msg)
{
    return msg->failure_report.p && msg->failure_report.len == 2 &&
           memcmp(msg->failure_report.p, "no", 2) == 0;
}

/* One complete message received on c: rewrite its paths for the other leg (RFC 4976
 * section 7.3), copy it there byte for byte otherwise, and tap it. */
static void relay_message(msrp_relay *r, relay_conn *c, const li_msrp_msg *msg,
                          const uint8_t *raw)
{
    relay_session *s = c->s;
    relay_conn *out = peer_of(c);
    li_msrp_str to, from;
    li_err err = msrp_relay_paths(&s->hop[out->leg], msg, &r->scratch, &to, &from);
    if (err != LI_OK) {
        /* Not addressed to this relay's session: RFC 4975 section 7.3.1 answers a
         * request with 481; responses and REPORTs are never answered. */
        li_log_debug("session %s: message not for this session, 481", s->id);
        if (msg->method != LI_MSRP_RESPONSE && msg->method != LI_MSRP_REPORT &&
            !failure_report_no(msg)) {
            li_msrp_write_response(&c->out, msg->tid, 481, "No such session", msg->from_path,
                                   s->hop[c->leg].own_out);
            conn_update(r, c);
        }
        return;
    }
    if (s->req.hop_responses && msg->method == LI_MSRP_RESPONSE) {
        /* RFC 4976: the next hop's answer ends at the relay, which answered already;
         * the target's own answers are still what it sent. */
        if (c->leg == RELAY_LEG_UE && msrp_relay_tap_active(&s->tap))
            msrp_relay_tap_msrp(&s->tap, 1, raw, msg->len);
        return;
    }
    size_t before = out->out.len;
    if (li_msrp_write_with_paths(&out->out, raw, msg, to, from) != LI_OK) {
        conn_fail(r, c, "out of memory");
        return;
    }
    r->stats.messages_relayed++;
    if (s->req.hop_responses && msg->method == LI_MSRP_SEND && !failure_report_no(msg) &&
        !(msg->failure_report.p && msg->failure_report.len == 7 &&
          memcmp(msg->failure_report.p, "partial", 7) == 0)) {
        /* RFC 4976: a SEND is answered by each hop; the answer goes to the previous hop
         * only (the first From-Path URI) and comes from the relay's URI on that leg. */
        li_msrp_str rest = msg->from_path, prev;
        li_msrp_path_next(&rest, &prev);
        size_t at = c->out.len;
        if (li_msrp_write_response(&c->out, msg->tid, 200, "OK", prev,
                                   s->hop[c->leg].own_out) == LI_OK) {
            if (c->leg == RELAY_LEG_UE && msrp_relay_tap_active(&s->tap))
                msrp_relay_tap_msrp(&s->tap, 0, c->out.data + at, c->out.len - at);
            conn_update(r, c);
        }
    }
    if (msrp_relay_tap_active(&s->tap)) {
        /* The cleartext the target exchanged: as the UE sent it, or as it receives it. */
        if (c->leg == RELAY_LEG_UE)
            msrp_relay_tap_msrp(&s->tap, 1, raw, msg->len);
        else
            msrp_relay_tap_msrp(&s->tap, 0, out->out.data + before, out->out.len - before);
    }
}

/* Frames what c->in holds. In CEMA mode the bytes were forwarded already and the
 * framing only feeds the tap; a framing error there stops tapping that leg and never
 * the relaying (RFC 6714: the relay is transparent). */
static void frame_input(msrp_relay *r, relay_conn *c)
{
    relay_session *s = c->s;
    int cema = s->req.cema;
    size_t off = 0;
    while (off < c->in.len && c->state == CONN_OPEN) {
        li_msrp_msg msg;
        size_t used;
        li_err err = li_msrp_parse(&c->parser, c->in.data + off, c->in.len - off, &msg, &used);
        if (err == LI_AGAIN) {
            if (c->in.len - off > r->max_message_bytes) {
                if (cema) {
                    c->tap_broken = 1;
                    li_buf_reset(&c->in);
                    return;
                }
                conn_fail(r, c, "message above relay.max_message_bytes");
                return;
            }
            break;
        }
        if (err != LI_OK) {
            if (cema) {
                li_log_warn("session %s: unframeable MSRP in CEMA mode, leg no longer tapped",
                            s->id);
                c->tap_broken = 1;
                li_buf_reset(&c->in);
                return;
            }
            conn_fail(r, c, "malformed MSRP");
            return;
        }
        c->messages_in++;
        if (cema) {
            r->stats.messages_relayed++;
            msrp_relay_tap_msrp(&s->tap, c->leg == RELAY_LEG_UE, c->in.data + off, used);
        } else {
            relay_message(r, c, &msg, c->in.data + off);
        }
        off += used;
    }
    if (off && c->state == CONN_OPEN)
        li_buf_consume(&c->in, off);
}

static void conn_read(msrp_relay *r, relay_conn *c)
{
    relay_session *s = c->s;
    relay_conn *p = peer_of(c);
    /* Passthrough and CEMA forward what arrives at once; otherwise MSRP is framed. */
    int raw = s->passthrough || s->req.cema;
    msrp_relay_tap_refresh(&s->tap);
    int tap = !s->passthrough && msrp_relay_tap_active(&s->tap) && !c->tap_broken;
    int got = 0;
    while (c->state == CONN_OPEN && backlog(p) < RELAY_HIGH_WATER) {
        li_buf *dst = raw ? &p->out : &c->in;
        if (li_buf_reserve(dst, RELAY_READ_CHUNK) != LI_OK) {
            conn_fail(r, c, "out of memory");
            return;
        }
        ssize_t k = conn_recv(c, dst->data + dst->len, dst->cap - dst->len);
        if (k == -1)
            break;
        if (k <= 0) {
            conn_fail(r, c, k == 0 ? "closed by peer" : "read failed");
            if (p->state == CONN_OPEN)
                conn_flush(r, p);
            return;
        }
        /* CEMA: a copy of what was forwarded, framed for the tap only. */
        int frame_copy = raw && tap && !c->tap_broken;
        if (frame_copy && li_buf_append(&c->in, dst->data + dst->len, (size_t)k) != LI_OK)
            c->tap_broken = 1;
        dst->len += (size_t)k;
        c->bytes_in += (uint64_t)k;
        got = 1;
        if (!raw || (frame_copy && !c->tap_broken))
            frame_input(r, c);
    }
    if (c->state == CONN_OPEN)
        conn_update(r, c);
    if (got && p->state == CONN_OPEN)
        conn_flush(r, p);
}

/* ---------------------------------------------------------------- leg set-up */

/* The peer of an established TLS leg, checked once more whatever the handshake was:
 * the contexts never resume a session (li_tls.h), and should one be resumed all the
 * same it would carry the identity of the connection it was cut from, not of this
 * reservation. A leg with an expected fingerprint must present exactly that
 * certificate now; any other leg must have passed verification. */
static int peer_is_expected(const relay_conn *c)
{
    if (SSL_session_reused(c->io.ssl) || SSL_get_verify_result(c->io.ssl) != X509_V_OK)
        return 0;
    if (!c->has_expected_fp)
        return 1;
    uint8_t fp[32];
    return li_tls_peer_fingerprint(c->io.ssl, fp) == LI_OK && memcmp(fp, c->expected_fp, 32) == 0;
}

static void on_open(msrp_relay *r, relay_conn *c)
{
    relay_session *s = c->s;
    if (c->io.ssl && !peer_is_expected(c)) {
        r->stats.tls_refused++;
        li_log_warn("session %s: %s leg refused: the peer of the established connection is "
                    "not the reserved one%s", s->id, c->leg == RELAY_LEG_UE ? "ue" : "network",
                    SSL_session_reused(c->io.ssl) ? " (resumed session)" : "");
        conn_fail(r, c, "peer not the reserved one");
        return;
    }
    c->state = CONN_OPEN;
    if (c->io.ssl) {
        uint8_t fp[32];
        if (li_tls_peer_fingerprint(c->io.ssl, fp) == LI_OK)
            msrp_relay_tap_tls(&s->tap, c->leg == RELAY_LEG_UE ? "ue" : "network", fp);
    }
    if (c->leg == RELAY_LEG_UE) {
        /* The UE is in: stop listening for others, then reach the network side. */
        if (s->listen_fd >= 0) {
            epoll_ctl(r->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
            close(s->listen_fd);
            s->listen_fd = -1;
        }
        relay_conn *net = &s->conn[RELAY_LEG_NET];
        if (net->state == CONN_IDLE) {
            net->connect_deadline_ns = li_mono_ns() + r->connect_timeout_ns;
            conn_connect(r, net);
        }
    }
    conn_update(r, c);
    conn_read(r, c);
    conn_flush(r, c);
}

static void conn_handshake(msrp_relay *r, relay_conn *c)
{
    li_err e = li_conn_handshake(&c->io);
    c->want_write_for_read = e == LI_AGAIN && c->io.want == POLLOUT;
    if (e == LI_OK) {
        on_open(r, c);
        return;
    }
    if (e == LI_AGAIN) {
        conn_update(r, c);
        return;
    }
    long v = SSL_get_verify_result(c->io.ssl);
    ERR_clear_error();
    if (v != X509_V_OK) {
        r->stats.tls_refused++;
        li_log_warn("session %s: %s leg refused: %s (%s)", c->s->id,
                    c->leg == RELAY_LEG_UE ? "ue" : "network",
                    c->has_expected_fp ? "certificate does not match the reserved fingerprint"
                                       : "certificate not verified for the next hop",
                    X509_verify_cert_error_string(v));
    }
    conn_fail(r, c, "TLS handshake failed");
}

static void start_tls(msrp_relay *r, relay_conn *c, SSL_CTX *ctx)
{
    relay_session *s = c->s;
    if (li_conn_start_tls(&c->io, ctx, !c->active) != LI_OK) {
        conn_fail(r, c, "SSL_new failed");
        return;
    }
    SSL_set_app_data(c->io.ssl, c);
    if (c->leg == RELAY_LEG_NET && !c->has_expected_fp) {
        /* Verified by CA: the certificate must name the next hop's host (RFC 6125
         * section 6: an IP literal against the IP SANs, a name against the DNS SANs,
         * no partial wildcards). Without a name to check, no connection. */
        SSL_set_hostflags(c->io.ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (SSL_set1_host(c->io.ssl, s->req.network.host) != 1) {
            conn_fail(r, c, "next hop host name unusable for the certificate check");
            return;
        }
    }
    c->state = CONN_HANDSHAKE;
    conn_handshake(r, c);
}

static void conn_attach(relay_conn *c, int fd)
{
    /* fd is an open non-blocking socket already: attaching it only adds TCP_NODELAY. */
    (void)li_conn_attach(&c->io, fd, NULL, 0);
    socklen_t len = sizeof c->local;
    getsockname(fd, (struct sockaddr *)&c->local, &len);
    len = sizeof c->peer;
    getpeername(fd, (struct sockaddr *)&c->peer, &len);
    if (c->leg == RELAY_LEG_UE) {
        x2x3_addr ue, relay;
        msrp_relay_addr_from_sockaddr(&ue, &c->peer);
        msrp_relay_addr_from_sockaddr(&relay, &c->local);
        msrp_relay_tap_set_addrs(&c->s->tap, &ue, &relay);
    }
}

/* The transport of a leg is up: TLS or not, by the reservation. */
static void conn_connected(msrp_relay *r, relay_conn *c)
{
    relay_session *s = c->s;
    int tls = !s->passthrough &&
              (c->leg == RELAY_LEG_UE ? s->req.ue.tls : s->req.network.tls);
    if (!tls) {
        on_open(r, c);
        return;
    }
    SSL_CTX *ctx = c->leg == RELAY_LEG_NET ? r->net_ctx
                   : c->active              ? r->ue_client_ctx
                                            : r->ue_server_ctx;
    start_tls(r, c, ctx);
}

static void conn_connect(msrp_relay *r, relay_conn *c)
{
    relay_session *s = c->s;
    const char *host = c->leg == RELAY_LEG_UE ? s->req.ue.host : s->req.network.host;
    uint16_t port = c->leg == RELAY_LEG_UE ? s->req.ue.port : s->req.network.port;
    struct sockaddr_storage sa;
    socklen_t len;
    c->active = 1;
    c->retry_at_ns = 0;
    if (resolve(host, port, &sa, &len) != LI_OK) {
        c->state = CONN_CLOSED;
        li_log_warn("session %s: cannot resolve the %s leg's host", s->id,
                    c->leg == RELAY_LEG_UE ? "ue" : "network");
        session_end(r, s);
        return;
    }
    int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        c->state = CONN_CONNECTING;
        conn_fail(r, c, "socket failed");
        return;
    }
    c->io.fd = fd;
    c->state = CONN_CONNECTING;
    if (connect(fd, (struct sockaddr *)&sa, len) != 0 && errno != EINPROGRESS) {
        conn_fail(r, c, "connect failed");
        return;
    }
    conn_register(r, c, EPOLLOUT);
}

static void conn_event(msrp_relay *r, relay_conn *c, uint32_t events)
{
    switch (c->state) {
    case CONN_CONNECTING: {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            conn_fail(r, c, "connect refused");
            return;
        }
        conn_attach(c, c->io.fd);
        conn_connected(r, c);
        return;
    }
    case CONN_HANDSHAKE:
        conn_handshake(r, c);
        return;
    case CONN_OPEN:
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            conn_flush(r, c);
        if (c->state == CONN_OPEN && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
            conn_read(r, c);
        return;
    default:
        return;
    }
}

static void listen_event(msrp_relay *r, relay_session *s)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    int fd = accept4(s->listen_fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    relay_conn *c = &s->conn[RELAY_LEG_UE];
    /* One UE connection per session (RFC 4975 section 5.4 connection per session);
     * a UE that the relay connects to (setup:passive) is not accepted. */
    if (s->ended || c->state != CONN_IDLE || s->req.ue.passive) {
        close(fd);
        return;
    }
    c->active = 0;
    conn_attach(c, fd);
    conn_register(r, c, EPOLLIN);
    conn_connected(r, c);
}

/* ---------------------------------------------------------------- sessions */

static void session_end(msrp_relay *r, relay_session *s)
{
    if (s->ended)
        return;
    int open = 0;
    for (int i = 0; i < 2; i++) {
        relay_conn *c = &s->conn[i];
        if (c->state == CONN_OPEN && c->out.len) {
            /* Deliver what was already relayed before closing (byte-exact relaying). */
            c->close_after_flush = 1;
            conn_update(r, c);
            open++;
        } else if (c->state != CONN_IDLE && c->state != CONN_CLOSED) {
            conn_close(r, c);
        }
    }
    if (!open)
        relay_session_release(r, s);
}

static void build_uri(char *out, size_t size, int tls, const char *host, uint16_t port,
                      const char *id)
{
    int v6 = strchr(host, ':') != NULL;
    snprintf(out, size, "%s://%s%s%s:%u/%s;tcp", tls ? "msrps" : "msrp", v6 ? "[" : "", host,
             v6 ? "]" : "", port, id);
}

static relay_session *relay_session_find(const msrp_relay *r, const char *id)
{
    for (relay_session *s = r->sessions; s; s = s->next)
        if (!s->ended && strcmp(s->id, id) == 0)
            return s;
    return NULL;
}

/* LI_ERR_INVAL: refused by policy (errstr says why); LI_ERR_FULL: max_sessions
 * reached; LI_ERR_IO: no listening socket. */
static li_err relay_session_reserve(msrp_relay *r, const msrp_relay_req *req,
                                    relay_session **out, char *errstr, size_t errstr_size)
{
    if (r->n_sessions >= r->max_sessions) {
        snprintf(errstr, errstr_size, "relay.max_sessions reached");
        return LI_ERR_FULL;
    }
    relay_session *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(errstr, errstr_size, "out of memory");
        return LI_ERR_NOMEM;
    }
    s->req = *req;
    uint8_t rnd[16];
    if (li_uuid_random(rnd) != LI_OK) {
        free(s);
        snprintf(errstr, errstr_size, "no random source");
        return LI_ERR_IO;
    }
    li_hex_encode(rnd, 12, s->id);

    /* A certificate exception covering the network peer (by its fingerprint and its
     * host or URI, docs/PRINCIPLES.md 6) passes the TLS through untouched. */
    if (r->ne && req->network.tls) {
        const uint8_t *fp = req->network.has_fingerprint ? req->network.fingerprint : NULL;
        s->passthrough = x1_ne_find_exception(r->ne, fp, req->network.host, &s->exception) ||
                         x1_ne_find_exception(r->ne, fp, req->network.path, &s->exception);
    }
    if (s->passthrough && req->ue.passive) {
        /* The relay connects to the far peer (TLS server) and cannot also connect to a
         * UE that waits as TLS server: the UE's TLS client would be missing. */
        free(s);
        snprintf(errstr, errstr_size, "passthrough under a certificate exception needs "
                 "ue.setup active (the UE connects)");
        return LI_ERR_INVAL;
    }
    if (!s->passthrough && req->network.tls && !req->network.has_fingerprint && !r->net_have_ca) {
        free(s);
        snprintf(errstr, errstr_size, "network.fingerprint required for an msrps next hop "
                 "(no relay.network.tls.ca configured)");
        return LI_ERR_INVAL;
    }

    s->listen_fd = listen_on(r->ue_listen_host, &s->port);
    if (s->listen_fd < 0) {
        free(s);
        snprintf(errstr, errstr_size, "cannot listen on %s", r->ue_listen_host);
        return LI_ERR_IO;
    }
    s->listen_ev.kind = RELAY_EV_LISTEN;
    struct epoll_event e = { .events = EPOLLIN, .data.ptr = &s->listen_ev };
    epoll_ctl(r->epfd, EPOLL_CTL_ADD, s->listen_fd, &e);

    build_uri(s->own_ue, sizeof s->own_ue, req->ue.tls, r->ue_advertise_host, s->port, s->id);
    build_uri(s->own_net, sizeof s->own_net, req->network.tls, r->net_advertise_host, s->port,
              s->id);
    /* The a=path each side is given: RFC 4976 puts the relay in front of the far path;
     * back-to-back gives the relay alone; CEMA (RFC 6714 section 4) and passthrough
     * leave the paths as the endpoints wrote them. */
    if (req->cema || s->passthrough) {
        snprintf(s->ue_sdp_path, sizeof s->ue_sdp_path, "%s", req->network.path);
        snprintf(s->net_sdp_path, sizeof s->net_sdp_path, "%s", req->ue.path);
    } else if (req->paths == MSRP_RELAY_PATHS_B2BUA) {
        snprintf(s->ue_sdp_path, sizeof s->ue_sdp_path, "%s", s->own_ue);
        snprintf(s->net_sdp_path, sizeof s->net_sdp_path, "%s", s->own_net);
    } else {
        snprintf(s->ue_sdp_path, sizeof s->ue_sdp_path, "%s %s", s->own_ue, req->network.path);
        snprintf(s->net_sdp_path, sizeof s->net_sdp_path, "%s %s", s->own_net, req->ue.path);
    }
    li_msrp_str sid = { s->id, strlen(s->id) };
    s->hop[RELAY_LEG_NET] = (msrp_relay_hop){ req->paths, sid, li_msrp_cstr(s->own_net),
                                              li_msrp_cstr(s->req.network.path) };
    s->hop[RELAY_LEG_UE] = (msrp_relay_hop){ req->paths, sid, li_msrp_cstr(s->own_ue),
                                             li_msrp_cstr(s->req.ue.path) };
    for (int i = 0; i < 2; i++) {
        relay_conn *c = &s->conn[i];
        c->ev.kind = RELAY_EV_CONN;
        c->s = s;
        c->leg = (relay_leg)i;
        li_conn_init(&c->io);
        li_buf_init(&c->in, 0);
        li_buf_init(&c->out, 0);
        li_msrp_parser_init(&c->parser);
    }
    if (req->ue.tls && !s->passthrough) {
        s->conn[RELAY_LEG_UE].has_expected_fp = 1;
        memcpy(s->conn[RELAY_LEG_UE].expected_fp, req->ue.fingerprint, 32);
    }
    if (req->network.has_fingerprint) {
        s->conn[RELAY_LEG_NET].has_expected_fp = 1;
        memcpy(s->conn[RELAY_LEG_NET].expected_fp, req->network.fingerprint, 32);
    }
    s->reserved_ns = li_mono_ns();
    s->ue_deadline_ns = s->reserved_ns + r->reserve_timeout_ns;

    s->next = r->sessions;
    if (r->sessions)
        r->sessions->prev = s;
    r->sessions = s;
    r->n_sessions++;
    r->stats.sessions_reserved++;
    r->stats.sessions_active++;

    msrp_relay_tap_init(&s->tap, r->ne, r->router, s->id, req->targets, req->n_targets);
    if (s->passthrough) {
        r->stats.passthrough_sessions++;
        li_log_info("session %s: passthrough under certificate exception %s", s->id,
                    s->exception.id);
        msrp_relay_tap_passthrough(&s->tap, &s->exception);
    }
    if (req->ue.passive) {
        s->conn[RELAY_LEG_UE].connect_deadline_ns = s->ue_deadline_ns;
        conn_connect(r, &s->conn[RELAY_LEG_UE]);
    }
    li_log_info("session %s reserved (%s%s%s), UE port %u", s->id,
                req->mode == MSRP_RELAY_AGW ? "agw" : "as", req->cema ? ", cema" : "",
                s->passthrough ? ", passthrough" : "", s->port);
    *out = s;
    return LI_OK;
}

/* Closes both legs, reports the release, frees the session after the epoll batch. */
static void relay_session_release(msrp_relay *r, relay_session *s)
{
    if (s->ended)
        return;
    s->ended = 1;
    for (int i = 0; i < 2; i++)
        if (s->conn[i].io.fd >= 0)
            conn_close(r, &s->conn[i]);
    if (s->listen_fd >= 0) {
        epoll_ctl(r->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    msrp_relay_tap_released(&s->tap);
    r->stats.messages_tapped += s->tap.x3_records;
    r->stats.tap_refused += s->tap.refused;
    li_log_info("session %s released (ue %llu bytes in, network %llu bytes in)", s->id,
                (unsigned long long)s->conn[0].bytes_in, (unsigned long long)s->conn[1].bytes_in);
    if (s->prev)
        s->prev->next = s->next;
    else
        r->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    r->n_sessions--;
    r->stats.sessions_active--;
    /* Freed after the current batch of epoll events, which may still point at it. */
    s->prev = NULL;
    s->next = r->graveyard;
    r->graveyard = s;
}

static void bury(msrp_relay *r)
{
    while (r->graveyard) {
        relay_session *s = r->graveyard;
        r->graveyard = s->next;
        for (int i = 0; i < 2; i++) {
            li_buf_free(&s->conn[i].in);
            li_buf_free(&s->conn[i].out);
        }
        free(s);
    }
}

static void tick(msrp_relay *r)
{
    uint64_t now = li_mono_ns();
    relay_session *next;
    for (relay_session *s = r->sessions; s; s = next) {
        next = s->next;
        relay_conn *ue = &s->conn[RELAY_LEG_UE];
        if (!conn_established(ue) && ue->state != CONN_HANDSHAKE && now > s->ue_deadline_ns) {
            li_log_info("session %s: the UE never connected, released", s->id);
            relay_session_release(r, s);
            continue;
        }
        for (int i = 0; i < 2; i++) {
            relay_conn *c = &s->conn[i];
            if (c->state == CONN_IDLE && c->retry_at_ns && now >= c->retry_at_ns)
                conn_connect(r, c);
        }
        if (!s->ended)
            msrp_relay_tap_refresh(&s->tap);
    }
    for (int i = 0; i < RELAY_MAX_WATCH; i++)
        if (r->watch[i].fd >= 0)
            r->watch[i].run(r->watch[i].ctx);
}

/* ---------------------------------------------------------------- the control interface */

static const char *conn_state_name(relay_conn_state st)
{
    static const char *const names[] = { "idle", "connecting", "handshake", "open", "closed" };
    return names[st];
}

static void describe(const msrp_relay *r, const relay_session *s, msrp_relay_session_info *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", s->id);
    snprintf(out->relay_uri, sizeof out->relay_uri, "%s", s->own_ue);
    snprintf(out->ue_path, sizeof out->ue_path, "%s", s->ue_sdp_path);
    snprintf(out->network_path, sizeof out->network_path, "%s", s->net_sdp_path);
    /* The SDP answer to the UE carries the fingerprint of whoever ends its TLS: the
     * relay, or under passthrough the far peer itself (RFC 8122 section 5). */
    if (s->passthrough && s->req.network.has_fingerprint) {
        char hex[96];
        li_tls_fingerprint_format(s->req.network.fingerprint, hex);
        snprintf(out->fingerprint, sizeof out->fingerprint, "sha-256 %s", hex);
    } else {
        snprintf(out->fingerprint, sizeof out->fingerprint, "sha-256 %s", r->fingerprint);
    }
    out->ue_port = s->port;
    out->passthrough = s->passthrough;
    out->cema = s->req.cema;
    out->mode = s->req.mode;
    msrp_relay_leg_info *legs[2] = { &out->ue, &out->network };
    for (int i = 0; i < 2; i++) {
        const relay_conn *c = &s->conn[i];
        *legs[i] = (msrp_relay_leg_info){ conn_state_name(c->state), c->messages_in,
                                          c->bytes_in };
    }
}

li_err msrp_relay_reserve(msrp_relay *r, const char *body, size_t len,
                          msrp_relay_session_info *out, char *errstr, size_t errstr_size)
{
    msrp_relay_req rq;
    if (msrp_relay_req_parse(body, len, r->tls_only, &rq, errstr, errstr_size) != LI_OK) {
        r->stats.sessions_refused++;
        return LI_ERR_INVAL;
    }
    relay_session *s;
    li_err err = relay_session_reserve(r, &rq, &s, errstr, errstr_size);
    if (err != LI_OK) {
        r->stats.sessions_refused++;
        return err;
    }
    describe(r, s, out);
    return LI_OK;
}

li_err msrp_relay_session_get(const msrp_relay *r, const char *id, msrp_relay_session_info *out)
{
    const relay_session *s = relay_session_find(r, id);
    if (!s)
        return LI_ERR_NOT_FOUND;
    describe(r, s, out);
    return LI_OK;
}

void msrp_relay_session_each(const msrp_relay *r, void (*fn)(const char *id, void *ctx),
                             void *ctx)
{
    for (const relay_session *s = r->sessions; s; s = s->next)
        fn(s->id, ctx);
}

li_err msrp_relay_release(msrp_relay *r, const char *id)
{
    relay_session *s = relay_session_find(r, id);
    if (!s)
        return LI_ERR_NOT_FOUND;
    relay_session_release(r, s);
    return LI_OK;
}

li_err msrp_relay_watch(msrp_relay *r, int fd, void (*run)(void *ctx), void *ctx)
{
    for (int i = 0; i < RELAY_MAX_WATCH; i++) {
        relay_watch *w = &r->watch[i];
        if (w->fd >= 0)
            continue;
        struct epoll_event e = { .events = EPOLLIN, .data.ptr = &w->ev };
        if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &e) != 0)
            return LI_ERR_IO;
        *w = (relay_watch){ { RELAY_EV_WATCH }, fd, run, ctx };
        return LI_OK;
    }
    return LI_ERR_FULL;
}

void msrp_relay_unwatch(msrp_relay *r, int fd)
{
    for (int i = 0; i < RELAY_MAX_WATCH; i++) {
        if (r->watch[i].fd == fd) {
            epoll_ctl(r->epfd, EPOLL_CTL_DEL, fd, NULL);
            r->watch[i].fd = -1;
        }
    }
}

/* ---------------------------------------------------------------- lifecycle */

msrp_relay *msrp_relay_new(const li_config *cfg, x1_ne *ne, x2x3_router *router,
                           char *errstr, size_t errstr_size)
{
    msrp_relay *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    r->cfg = cfg;
    r->ne = ne;
    r->router = router;
    for (int i = 0; i < RELAY_MAX_WATCH; i++)
        r->watch[i].fd = -1;
    li_buf_init(&r->scratch, 0);
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (r->epfd < 0) {
        snprintf(errstr, errstr_size, "epoll_create1: %s", strerror(errno));
        free(r);
        return NULL;
    }
    r->stop_ev.kind = RELAY_EV_STOP;

    int64_t v;
    int b;
    if (li_config_get_int(cfg, "relay.max_message_bytes", 4 << 20, 1024, 1ll << 30, &v, errstr,
                          errstr_size) != LI_OK)
        goto fail;
    r->max_message_bytes = (size_t)v;
    if (li_config_get_int(cfg, "relay.max_sessions", 10000, 1, 1000000, &v, errstr,
                          errstr_size) != LI_OK)
        goto fail;
    r->max_sessions = (size_t)v;
    if (li_config_get_int(cfg, "relay.reserve_timeout_s", 120, 1, 86400, &v, errstr,
                          errstr_size) != LI_OK)
        goto fail;
    r->reserve_timeout_ns = (uint64_t)v * 1000000000ull;
    if (li_config_get_int(cfg, "relay.connect_timeout_ms", 10000, 100, 600000, &v, errstr,
                          errstr_size) != LI_OK)
        goto fail;
    r->connect_timeout_ns = (uint64_t)v * 1000000ull;
    if (li_config_get_bool(cfg, "relay.tls_only", 0, &b, errstr, errstr_size) != LI_OK)
        goto fail;
    r->tls_only = b;
    r->ue_listen_host = li_config_get(cfg, "relay.ue.listen_host", "127.0.0.1");
    r->ue_advertise_host = li_config_get(cfg, "relay.ue.advertise_host", r->ue_listen_host);
    r->net_advertise_host = li_config_get(cfg, "relay.network.advertise_host",
                                          r->ue_advertise_host);

    r->ue_server_ctx = make_ctx(r, "relay.ue.tls", NULL, 1, NULL, errstr, errstr_size);
    if (!r->ue_server_ctx)
        goto fail;
    r->ue_client_ctx = make_ctx(r, "relay.ue.tls", NULL, 0, NULL, errstr, errstr_size);
    if (!r->ue_client_ctx)
        goto fail;
    r->net_ctx = make_ctx(r, "relay.network.tls", "relay.ue.tls", 0, &r->net_have_ca, errstr,
                          errstr_size);
    if (!r->net_ctx)
        goto fail;
    uint8_t fp[32];
    if (li_tls_file_fingerprint(li_config_get(cfg, "relay.ue.tls.cert", ""), fp) != LI_OK) {
        snprintf(errstr, errstr_size, "relay.ue.tls.cert: unreadable");
        goto fail;
    }
    li_tls_fingerprint_format(fp, r->fingerprint);
    return r;
fail:
    msrp_relay_free(r);
    return NULL;
}

void msrp_relay_stats_get(const msrp_relay *r, msrp_relay_stats *out)
{
    *out = r->stats;
    for (relay_session *s = r->sessions; s; s = s->next) {
        out->messages_tapped += s->tap.x3_records;
        out->tap_refused += s->tap.refused;
    }
}

li_err msrp_relay_run(msrp_relay *r, int stop_fd)
{
    struct epoll_event e = { .events = EPOLLIN, .data.ptr = &r->stop_ev };
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, stop_fd, &e) != 0)
        return LI_ERR_IO;
    uint64_t next_tick = li_mono_ns();
    li_err result = LI_OK;
    for (;;) {
        struct epoll_event events[64];
        int n = epoll_wait(r->epfd, events, 64, RELAY_TICK_MS);
        if (n < 0 && errno != EINTR) {
            result = LI_ERR_IO;
            break;
        }
        int stop = 0;
        for (int i = 0; i < n; i++) {
            relay_ev *ev = events[i].data.ptr;
            switch (ev->kind) {
            case RELAY_EV_STOP:
                stop = 1;
                break;
            case RELAY_EV_WATCH: {
                relay_watch *w = (relay_watch *)ev;
                if (w->fd >= 0)
                    w->run(w->ctx);
                break;
            }
            case RELAY_EV_LISTEN: {
                relay_session *s = (relay_session *)((char *)ev - offsetof(relay_session, listen_ev));
                if (!s->ended)
                    listen_event(r, s);
                break;
            }
            case RELAY_EV_CONN: {
                relay_conn *c = (relay_conn *)ev;
                if (!c->s->ended)
                    conn_event(r, c, events[i].events);
                break;
            }
            }
        }
        uint64_t now = li_mono_ns();
        if (now >= next_tick) {
            tick(r);
            next_tick = now + RELAY_TICK_MS * 1000000ull;
        }
        bury(r);
        if (stop)
            break;
    }
    epoll_ctl(r->epfd, EPOLL_CTL_DEL, stop_fd, NULL);
    return result;
}

void msrp_relay_free(msrp_relay *r)
{
    if (!r)
        return;
    while (r->sessions)
        relay_session_release(r, r->sessions);
    bury(r);
    SSL_CTX_free(r->ue_server_ctx);
    SSL_CTX_free(r->ue_client_ctx);
    SSL_CTX_free(r->net_ctx);
    li_buf_free(&r->scratch);
    if (r->epfd >= 0)
        close(r->epfd);
    free(r);
}
