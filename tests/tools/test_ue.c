/* limf-test-ue: an MSRP endpoint (RFC 4975) over OpenSSL with a self-signed
 * certificate, for tests and benchmarks of limf-msrp-relay.
 *
 *   limf-test-ue --gen-cert PREFIX      writes PREFIX.pem / PREFIX.key (self-signed,
 *                                       P-256) and prints "sha-256 AB:CD:.."
 *   limf-test-ue [options]              runs one MSRP session:
 *     --connect HOST:PORT | --listen HOST:PORT   active or passive (port 0: any; prints
 *                                       "listening PORT" on stdout)
 *     --tcp                             plain TCP instead of TLS
 *     --cert F --key F                  own certificate (default: generated in memory)
 *     --peer-fingerprint "sha-256 .."   the peer must present this certificate
 *     --path URI                        own MSRP URI (From-Path)
 *     --to PATH                         To-Path of requests (the peer's a=path); "auto":
 *                                       the From-Path of the first SEND received (a
 *                                       passive endpoint speaks after the active one,
 *                                       RFC 4975 section 5.4); "@FILE": read
 *                                       from FILE once it exists
 *     --send SIZE[/CHUNK]               one message of SIZE body bytes, in chunks of CHUNK
 *                                       bytes (repeatable, sent in order)
 *     --count N                         send the --send list N times (default 1)
 *     --seed N                          body content seed (bodies hold CRLFs and dashes)
 *     --report                          ask for Success-Report; wait for the REPORTs
 *     --expect N                        wait for N complete messages from the peer
 *     --sent-log F / --recv-log F       every MSRP message sent / received, raw bytes
 *     --bodies F                        the bodies of received SENDs, concatenated
 *     --sent-bodies F                   the bodies of sent SENDs, concatenated
 *     --bench SECONDS                   send --send messages for SECONDS with a window of
 *                                       --window unanswered chunks; prints the rate
 *     --raw-first FILE                  send FILE's bytes first, as they are (hostile tests)
 *     --linger-ms N                     stay connected N ms after finishing
 *     --until-closed                    keep answering until the peer closes (exit 0)
 *     --timeout-ms N                    give up (exit 1) after N ms (default 30000)
 *     --sess-out F                      write the TLS session (PEM) to F at the end
 *     --sess-in F                       offer the TLS session in F for resumption
 *                                       (attack tests: the relay must not resume)
 * Answers every SEND with 200 (unless Failure-Report: no) and, when asked, sends a
 * REPORT for each complete message. Exit status: 0 done, 1 timeout or protocol error,
 * 3 TLS refused or connection closed before done. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "li_bytes.h"
#include "li_msrp.h"

#define MAX_SENDS 32

typedef struct send_spec {
    size_t size, chunk;
} send_spec;

typedef struct ue {
    /* options */
    const char *connect_to, *listen_on, *cert, *key, *peer_fp, *path, *to;
    int tcp, report, until_closed;
    send_spec sends[MAX_SENDS];
    size_t n_sends, count, expect, window;
    uint64_t seed;
    double bench_s;
    long linger_ms, timeout_ms;
    FILE *sent_log, *recv_log, *bodies, *sent_bodies;
    /* state */
    int fd;
    SSL *ssl;
    li_buf in, out;
    li_msrp_parser parser;
    size_t plan_index;          /* next message of the plan (index over count * n_sends) */
    size_t chunk_off;           /* progress in the current message */
    char mid[32];
    uint8_t *body;              /* current message body */
    size_t body_size;
    size_t outstanding;         /* chunks sent without a response */
    size_t sent_chunks, acked, complete_in, reports_in, reports_expected;
    uint64_t bytes_sent_body;
    int plan_done;
    unsigned tid_counter;
    char learned_to[2048];      /* --to auto: the From-Path of the first request */
    const char *raw_first;      /* --raw-first FILE: bytes sent before anything else */
    const char *sess_out, *sess_in;
} ue;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
    fprintf(stderr, "limf-test-ue: %s\n", what);
    exit(1);
}

/* ---------------------------------------------------------------- certificates */

static X509 *make_cert(EVP_PKEY **key_out)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (!key || !x)
        die("key generation failed");
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(time(NULL) & 0x7fffffff));
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"limf-test-ue",
                               -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (!X509_sign(x, key, EVP_sha256()))
        die("certificate signing failed");
    *key_out = key;
    return x;
}

static void print_fingerprint(X509 *x)
{
    uint8_t fp[32];
    unsigned int n = sizeof fp;
    X509_digest(x, EVP_sha256(), fp, &n);
    printf("sha-256 ");
    for (int i = 0; i < 32; i++)
        printf("%02X%s", fp[i], i < 31 ? ":" : "\n");
    fflush(stdout);
}

static int gen_cert(const char *prefix)
{
    EVP_PKEY *key;
    X509 *x = make_cert(&key);
    char path[4096];
    snprintf(path, sizeof path, "%s.pem", prefix);
    FILE *f = fopen(path, "w");
    if (!f || !PEM_write_X509(f, x))
        die("cannot write the certificate");
    fclose(f);
    snprintf(path, sizeof path, "%s.key", prefix);
    umask(077);
    f = fopen(path, "w");
    if (!f || !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL))
        die("cannot write the key");
    fclose(f);
    print_fingerprint(x);
    X509_free(x);
    EVP_PKEY_free(key);
    return 0;
}

/* The peer is checked by fingerprint only (RFC 8122: self-signed certificates). */
static int verify_cb(X509_STORE_CTX *store, void *arg)
{
    const uint8_t *want = arg;
    X509 *leaf = X509_STORE_CTX_get0_cert(store);
    uint8_t fp[32];
    unsigned int n = sizeof fp;
    if (!want) {
        X509_STORE_CTX_set_error(store, X509_V_OK);
        return 1;
    }
    if (leaf && X509_digest(leaf, EVP_sha256(), fp, &n) == 1 && memcmp(fp, want, 32) == 0) {
        X509_STORE_CTX_set_error(store, X509_V_OK);
        return 1;
    }
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
}

static SSL_CTX *make_ctx(ue *u, int server, uint8_t *peer_fp)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (u->cert) {
        if (SSL_CTX_use_certificate_chain_file(ctx, u->cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, u->key, SSL_FILETYPE_PEM) != 1)
            die("cannot load --cert/--key");
    } else {
        EVP_PKEY *key;
        X509 *x = make_cert(&key);
        SSL_CTX_use_certificate(ctx, x);
        SSL_CTX_use_PrivateKey(ctx, key);
        fprintf(stderr, "limf-test-ue: generated certificate ");
        print_fingerprint(x);
        X509_free(x);
        EVP_PKEY_free(key);
    }
    if (u->peer_fp) {
        const char *hex = strchr(u->peer_fp, ' ');
        size_t got;
        if (!hex || li_hex_decode(hex + 1, strlen(hex + 1), 1, peer_fp, 32, &got) != LI_OK ||
            got != 32)
            die("bad --peer-fingerprint");
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                       NULL);
    SSL_CTX_set_cert_verify_callback(ctx, verify_cb, u->peer_fp ? peer_fp : NULL);
    return ctx;
}

/* A session of an earlier connection offered for resumption (RFC 8446 2.2). */
static void offer_session(SSL *ssl, const char *file)
{
    FILE *f = fopen(file, "r");
    SSL_SESSION *sess = f ? PEM_read_SSL_SESSION(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!sess || SSL_set_session(ssl, sess) != 1)
        die("cannot use --sess-in");
    fprintf(stderr, "limf-test-ue: offering a session (%s)\n",
            SSL_SESSION_is_resumable(sess) ? "resumable" : "not resumable");
    SSL_SESSION_free(sess);
}

/* The session of this connection, with the tickets the server sent (TLS 1.3 sends them
 * after the handshake: saved at the end). */
static void save_session(SSL *ssl, const char *file)
{
    SSL_SESSION *sess = SSL_get1_session(ssl);
    FILE *f = fopen(file, "w");
    if (!sess || !f || PEM_write_SSL_SESSION(f, sess) != 1)
        fprintf(stderr, "limf-test-ue: cannot write --sess-out\n");
    if (f)
        fclose(f);
    SSL_SESSION_free(sess);
}

/* ---------------------------------------------------------------- transport */

static void split_host_port(const char *spec, char *host, size_t host_size, char *port)
{
    const char *colon = strrchr(spec, ':');
    if (!colon)
        die("HOST:PORT expected");
    size_t n = (size_t)(colon - spec);
    if (n >= 2 && spec[0] == '[') {
        spec++;
        n -= 2;
    }
    if (n >= host_size)
        die("host too long");
    memcpy(host, spec, n);
    host[n] = '\0';
    snprintf(port, 8, "%s", colon + 1);
}

static int open_socket(ue *u)
{
    char host[256], port[8];
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
    if (u->connect_to) {
        split_host_port(u->connect_to, host, sizeof host, port);
        if (getaddrinfo(host, port, &hints, &res) != 0)
            die("cannot resolve --connect");
        uint64_t deadline = now_ms() + (uint64_t)u->timeout_ms;
        for (;;) {
            int fd = socket(res->ai_family, SOCK_STREAM, 0);
            if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
                freeaddrinfo(res);
                return fd;
            }
            if (fd >= 0)
                close(fd);
            if (now_ms() > deadline)
                die("cannot connect");
            usleep(50 * 1000);
        }
    }
    split_host_port(u->listen_on, host, sizeof host, port);
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        die("cannot resolve --listen");
    int lfd = socket(res->ai_family, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, res->ai_addr, res->ai_addrlen) != 0 || listen(lfd, 4) != 0)
        die("cannot listen");
    freeaddrinfo(res);
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    getsockname(lfd, (struct sockaddr *)&sa, &len);
    printf("listening %u\n", ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                            : ((struct sockaddr_in *)&sa)->sin_port));
    fflush(stdout);
    struct pollfd p = { .fd = lfd, .events = POLLIN };
    if (poll(&p, 1, (int)u->timeout_ms) != 1)
        die("nobody connected");
    int fd = accept(lfd, NULL, NULL);
    close(lfd);
    if (fd < 0)
        die("accept failed");
    return fd;
}

/* Returns bytes, 0 at EOF, -1 would block, -2 error. */
static ssize_t ue_recv(ue *u, uint8_t *buf, size_t n)
{
    if (!u->ssl) {
        ssize_t k = recv(u->fd, buf, n, MSG_DONTWAIT);
        return k >= 0 ? k : (errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2);
    }
    int k = SSL_read(u->ssl, buf, (int)n);
    if (k > 0)
        return k;
    int e = SSL_get_error(u->ssl, k);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return -1;
    return e == SSL_ERROR_ZERO_RETURN ? 0 : -2;
}

static ssize_t ue_send(ue *u, const uint8_t *buf, size_t n)
{
    if (!u->ssl) {
        ssize_t k = send(u->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        return k >= 0 ? k : (errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2);
    }
    int k = SSL_write(u->ssl, buf, (int)(n > 16384 ? 16384 : n));
    if (k > 0)
        return k;
    int e = SSL_get_error(u->ssl, k);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? -1 : -2;
}

/* ---------------------------------------------------------------- MSRP */

static void next_tid(ue *u, char *out)
{
    /* Transaction ids are 4-32 characters (RFC 4975 section 9); a counter keeps them
     * unique within the session. */
    snprintf(out, 24, "t%05x%04x", (unsigned)getpid() & 0xfffff, u->tid_counter++);
}

/* Deterministic body with CRLFs, dashes and near-miss end-lines in it. */
static void fill_body(uint8_t *b, size_t n, uint64_t seed)
{
    uint64_t x = seed * 6364136223846793005ull + 1442695040888963407ull;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        unsigned r = (unsigned)(x >> 33);
        if (r % 97 == 0 && n - i > 12) {
            memcpy(b + i, "\r\n-------t0", 11);
            i += 10;
            continue;
        }
        b[i] = r % 5 == 0 ? (uint8_t)"\r\n-$+#"[r % 6] : (uint8_t)(0x20 + r % 95);
    }
}

static void log_msg(FILE *f, const uint8_t *p, size_t n)
{
    if (f && fwrite(p, 1, n, f) != n)
        die("log write failed");
}

static void queue(ue *u, const uint8_t *p, size_t n)
{
    if (li_buf_append(&u->out, p, n) != LI_OK)
        die("out of memory");
    log_msg(u->sent_log, p, n);
}

/* Appends the next chunk of the plan to the output buffer. */
static void produce(ue *u)
{
    size_t total = u->count * u->n_sends;
    if (u->bench_s > 0)
        total = SIZE_MAX;
    if (u->plan_index >= total) {
        u->plan_done = 1;
        return;
    }
    const send_spec *sp = &u->sends[u->plan_index % u->n_sends];
    if (u->chunk_off == 0) {
        if (u->body_size != sp->size) {
            free(u->body);
            u->body = malloc(sp->size ? sp->size : 1);
            if (!u->body)
                die("out of memory");
            u->body_size = sp->size;
        }
        if (u->bench_s <= 0 || u->plan_index < u->n_sends)
            fill_body(u->body, sp->size, u->seed + u->plan_index);
        snprintf(u->mid, sizeof u->mid, "m%lx-%zu", (unsigned long)getpid(), u->plan_index);
    }
    size_t chunk = sp->chunk && sp->chunk < sp->size ? sp->chunk : sp->size;
    size_t n = sp->size - u->chunk_off < chunk ? sp->size - u->chunk_off : chunk;
    int last = u->chunk_off + n == sp->size;
    char tid[24];
    next_tid(u, tid);
    li_buf head;
    li_buf_init(&head, 0);
    li_buf_printf(&head, "MSRP %s SEND\r\nTo-Path: %s\r\nFrom-Path: %s\r\nMessage-ID: %s\r\n"
                         "Byte-Range: %zu-%zu/%zu\r\n%sContent-Type: text/plain\r\n\r\n",
                  tid, u->learned_to[0] ? u->learned_to : u->to, u->path, u->mid, u->chunk_off + 1, u->chunk_off + n, sp->size,
                  u->report && last ? "Success-Report: yes\r\n" : "");
    li_buf_append(&head, u->body + u->chunk_off, n);
    li_buf_printf(&head, "\r\n-------%s%c\r\n", tid, last ? '$' : '+');
    queue(u, head.data, head.len);
    li_buf_free(&head);
    if (u->sent_bodies && fwrite(u->body + u->chunk_off, 1, n, u->sent_bodies) != n)
        die("write failed");
    u->bytes_sent_body += n;
    u->sent_chunks++;
    u->outstanding++;
    u->chunk_off += n;
    if (last) {
        u->chunk_off = 0;
        u->plan_index++;
        if (u->report)
            u->reports_expected++;
    }
}

static void handle(ue *u, const li_msrp_msg *m, const uint8_t *raw)
{
    log_msg(u->recv_log, raw, m->len);
    if (m->method == LI_MSRP_RESPONSE) {
        if (m->status != 200)
            fprintf(stderr, "limf-test-ue: response %d\n", m->status);
        if (u->outstanding)
            u->outstanding--;
        u->acked++;
        return;
    }
    if (m->method == LI_MSRP_REPORT) {
        u->reports_in++;
        return;
    }
    if (m->method != LI_MSRP_SEND)
        return;
    if (u->to && strcmp(u->to, "auto") == 0 && !u->learned_to[0] &&
        m->from_path.len < sizeof u->learned_to) {
        memcpy(u->learned_to, m->from_path.p, m->from_path.len);
        u->learned_to[m->from_path.len] = '\0';
    }
    if (u->bodies && m->body_len && fwrite(m->body, 1, m->body_len, u->bodies) != m->body_len)
        die("write failed");
    li_buf b;
    li_buf_init(&b, 0);
    /* RFC 4975 section 7.2: a response goes back along the request's From-Path. */
    if (!(m->failure_report.p && m->failure_report.len == 2 && memcmp(m->failure_report.p, "no", 2) == 0)) {
        li_buf_printf(&b, "MSRP %.*s 200 OK\r\nTo-Path: %.*s\r\nFrom-Path: %s\r\n-------%.*s$\r\n",
                      (int)m->tid.len, m->tid.p, (int)m->from_path.len, m->from_path.p, u->path,
                      (int)m->tid.len, m->tid.p);
    }
    if (m->flag == '$') {
        u->complete_in++;
        if (m->success_report.p && m->success_report.len == 3 &&
            memcmp(m->success_report.p, "yes", 3) == 0) {
            char tid[24];
            next_tid(u, tid);
            uint64_t total = m->range_total != LI_MSRP_UNKNOWN ? m->range_total : m->range_end;
            li_buf_printf(&b, "MSRP %s REPORT\r\nTo-Path: %.*s\r\nFrom-Path: %s\r\nMessage-ID: %.*s\r\n"
                              "Byte-Range: 1-%llu/%llu\r\nStatus: 000 200 OK\r\n-------%s$\r\n",
                          tid, (int)m->from_path.len, m->from_path.p, u->path,
                          (int)m->message_id.len, m->message_id.p, (unsigned long long)total,
                          (unsigned long long)total, tid);
        }
    }
    if (b.len) {
        /* Responses and REPORTs are logged one by one like every other message. */
        size_t off = 0;
        while (off < b.len) {
            li_msrp_msg r;
            size_t used;
            if (li_msrp_parse(NULL, b.data + off, b.len - off, &r, &used) != LI_OK)
                die("built a bad message");
            queue(u, b.data + off, used);
            off += used;
        }
    }
    li_buf_free(&b);
}

static int finished(const ue *u)
{
    if (u->bench_s > 0 || u->until_closed)
        return 0;
    return u->plan_done && u->outstanding == 0 && u->complete_in >= u->expect &&
           u->reports_in >= u->reports_expected && u->out.len == 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    ue u;
    memset(&u, 0, sizeof u);
    u.count = 1;
    u.window = 64;
    u.timeout_ms = 30000;
    u.fd = -1;
    static const struct option opts[] = {
        { "gen-cert", required_argument, 0, 'g' }, { "connect", required_argument, 0, 'C' },
        { "listen", required_argument, 0, 'L' },   { "tcp", no_argument, 0, 'T' },
        { "cert", required_argument, 0, 'c' },     { "key", required_argument, 0, 'k' },
        { "peer-fingerprint", required_argument, 0, 'f' },
        { "path", required_argument, 0, 'p' },     { "to", required_argument, 0, 't' },
        { "send", required_argument, 0, 's' },     { "count", required_argument, 0, 'n' },
        { "seed", required_argument, 0, 'S' },     { "report", no_argument, 0, 'r' },
        { "expect", required_argument, 0, 'e' },   { "sent-log", required_argument, 0, 'o' },
        { "recv-log", required_argument, 0, 'i' }, { "bodies", required_argument, 0, 'b' },
        { "sent-bodies", required_argument, 0, 'B' }, { "bench", required_argument, 0, 'x' },
        { "window", required_argument, 0, 'w' },   { "linger-ms", required_argument, 0, 'l' },
        { "timeout-ms", required_argument, 0, 'm' }, { "until-closed", no_argument, 0, 'u' },
        { "raw-first", required_argument, 0, 'R' },
        { "sess-out", required_argument, 0, 'O' }, { "sess-in", required_argument, 0, 'I' },
        { 0, 0, 0, 0 }
    };
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'g':
            return gen_cert(optarg);
        case 'C': u.connect_to = optarg; break;
        case 'L': u.listen_on = optarg; break;
        case 'T': u.tcp = 1; break;
        case 'c': u.cert = optarg; break;
        case 'k': u.key = optarg; break;
        case 'f': u.peer_fp = optarg; break;
        case 'p': u.path = optarg; break;
        case 't': u.to = optarg; break;
        case 's': {
            if (u.n_sends == MAX_SENDS)
                die("too many --send");
            char *end;
            u.sends[u.n_sends].size = strtoul(optarg, &end, 10);
            u.sends[u.n_sends].chunk = *end == '/' ? strtoul(end + 1, NULL, 10) : 0;
            u.n_sends++;
            break;
        }
        case 'n': u.count = strtoul(optarg, NULL, 10); break;
        case 'S': u.seed = strtoull(optarg, NULL, 10); break;
        case 'r': u.report = 1; break;
        case 'e': u.expect = strtoul(optarg, NULL, 10); break;
        case 'o': u.sent_log = fopen(optarg, "wb"); if (!u.sent_log) die(optarg); break;
        case 'i': u.recv_log = fopen(optarg, "wb"); if (!u.recv_log) die(optarg); break;
        case 'b': u.bodies = fopen(optarg, "wb"); if (!u.bodies) die(optarg); break;
        case 'B': u.sent_bodies = fopen(optarg, "wb"); if (!u.sent_bodies) die(optarg); break;
        case 'x': u.bench_s = strtod(optarg, NULL); break;
        case 'w': u.window = strtoul(optarg, NULL, 10); break;
        case 'l': u.linger_ms = strtol(optarg, NULL, 10); break;
        case 'm': u.timeout_ms = strtol(optarg, NULL, 10); break;
        case 'u': u.until_closed = 1; break;
        case 'R': u.raw_first = optarg; break;
        case 'O': u.sess_out = optarg; break;
        case 'I': u.sess_in = optarg; break;
        default:
            fprintf(stderr, "usage: see the comment at the top of tests/tools/test_ue.c\n");
            return 2;
        }
    }
    if ((!u.connect_to == !u.listen_on) || !u.path || (u.n_sends && !u.to))
        die("need one of --connect/--listen, --path, and --to when sending");
    if (u.n_sends == 0)
        u.plan_done = 1;
    li_buf_init(&u.in, 0);
    li_buf_init(&u.out, 0);
    li_msrp_parser_init(&u.parser);

    uint64_t start = now_ms();
    u.fd = open_socket(&u);
    int one = 1;
    setsockopt(u.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint8_t peer_fp[32];
    SSL_CTX *ctx = NULL;
    if (!u.tcp) {
        ctx = make_ctx(&u, u.listen_on != NULL, peer_fp);
        u.ssl = SSL_new(ctx);
        SSL_set_fd(u.ssl, u.fd);
        if (u.sess_in)
            offer_session(u.ssl, u.sess_in);
        struct timeval tv = { .tv_sec = u.timeout_ms / 1000, .tv_usec = 0 };
        setsockopt(u.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        int k = u.listen_on ? SSL_accept(u.ssl) : SSL_connect(u.ssl);
        if (k != 1) {
            unsigned long e = ERR_peek_error();
            fprintf(stderr, "limf-test-ue: TLS refused: %s\n",
                    e ? ERR_reason_error_string(e) : "connection closed");
            return 3;
        }
        fprintf(stderr, "limf-test-ue: TLS established (%s, %s)\n", SSL_get_version(u.ssl),
                SSL_session_reused(u.ssl) ? "resumed" : "full handshake");
    }
    if (u.raw_first) {
        /* Hostile-input tests: arbitrary bytes first, as they are. */
        FILE *rf = fopen(u.raw_first, "rb");
        if (!rf)
            die(u.raw_first);
        uint8_t chunk[4096];
        size_t k;
        while ((k = fread(chunk, 1, sizeof chunk, rf)) > 0)
            li_buf_append(&u.out, chunk, k);
        fclose(rf);
    }
    fcntl(u.fd, F_SETFL, fcntl(u.fd, F_GETFL) | O_NONBLOCK);
    uint64_t deadline = start + (uint64_t)u.timeout_ms;
    uint64_t bench_end = u.bench_s > 0 ? now_ms() + (uint64_t)(u.bench_s * 1000) : 0;
    uint64_t bench_start = now_ms();
    int rc = 0;
    while (!finished(&u)) {
        if (bench_end && now_ms() >= bench_end)
            break;
        if (now_ms() > deadline) {
            fprintf(stderr, "limf-test-ue: timeout (sent %zu chunks, %zu answered, %zu messages in, "
                    "%zu reports)\n", u.sent_chunks, u.acked, u.complete_in, u.reports_in);
            rc = 1;
            break;
        }
        if (u.to && u.to[0] == '@' && !u.learned_to[0]) {
            /* --to @FILE: the path is known only once the relay answered the
             * reservation, after this endpoint had to be listening. */
            FILE *tf = fopen(u.to + 1, "r");
            if (tf) {
                if (fgets(u.learned_to, sizeof u.learned_to, tf))
                    u.learned_to[strcspn(u.learned_to, "\r\n")] = '\0';
                fclose(tf);
            }
        }
        int may_send = (u.to && u.to[0] != '@' && strcmp(u.to, "auto") != 0) || u.learned_to[0];
        while (may_send && !u.plan_done && u.out.len < (256u << 10) && u.outstanding < u.window)
            produce(&u);
        struct pollfd p = { .fd = u.fd, .events = POLLIN | (u.out.len ? POLLOUT : 0) };
        if (!(u.ssl && SSL_pending(u.ssl)))
            poll(&p, 1, 50);
        size_t off = 0;
        while (off < u.out.len) {
            ssize_t k = ue_send(&u, u.out.data + off, u.out.len - off);
            if (k == -1)
                break;
            if (k < 0) {
                rc = 3;
                goto done;
            }
            off += (size_t)k;
        }
        li_buf_consume(&u.out, off);
        for (;;) {
            li_buf_reserve(&u.in, 65536);
            ssize_t k = ue_recv(&u, u.in.data + u.in.len, u.in.cap - u.in.len);
            if (k == -1)
                break;
            if (k <= 0) {
                /* Everything it waited for may have come with the peer's last bytes. */
                if ((u.until_closed || finished(&u)) && k == 0)
                    goto done;
                fprintf(stderr, "limf-test-ue: connection closed by the peer\n");
                rc = 3;
                goto done;
            }
            u.in.len += (size_t)k;
            size_t used_total = 0;
            for (;;) {
                li_msrp_msg m;
                size_t used;
                li_err err = li_msrp_parse(&u.parser, u.in.data + used_total,
                                           u.in.len - used_total, &m, &used);
                if (err == LI_AGAIN)
                    break;
                if (err != LI_OK) {
                    fprintf(stderr, "limf-test-ue: malformed MSRP received\n");
                    rc = 1;
                    goto done;
                }
                handle(&u, &m, u.in.data + used_total);
                used_total += used;
            }
            li_buf_consume(&u.in, used_total);
        }
    }
done:
    if (u.bench_s > 0 && rc == 0) {
        double secs = (double)(now_ms() - bench_start) / 1000.0;
        printf("bench messages %zu bytes %llu seconds %.3f msg_per_s %.1f mb_per_s %.2f\n",
               u.acked, (unsigned long long)u.bytes_sent_body, secs, (double)u.acked / secs,
               (double)u.bytes_sent_body / secs / 1e6);
    }
    if (rc == 0 && u.linger_ms > 0)
        usleep((useconds_t)u.linger_ms * 1000);
    fprintf(stderr, "limf-test-ue: sent %zu chunks (%zu answered), received %zu messages, %zu "
            "reports\n", u.sent_chunks, u.acked, u.complete_in, u.reports_in);
    printf("done %s\n", rc == 0 ? "ok" : "fail");
    if (u.ssl) {
        if (u.sess_out)
            save_session(u.ssl, u.sess_out);
        SSL_shutdown(u.ssl);
        SSL_free(u.ssl);
    }
    SSL_CTX_free(ctx);
    close(u.fd);
    if (u.sent_log) fclose(u.sent_log);
    if (u.recv_log) fclose(u.recv_log);
    if (u.bodies) fclose(u.bodies);
    if (u.sent_bodies) fclose(u.sent_bodies);
    li_buf_free(&u.in);
    li_buf_free(&u.out);
    free(u.body);
    return rc;
}
