/* See admf_util.h. */
#include "admf_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ready_port.h"

/* ---- what the helpers own ---- */

typedef struct kept {
    void *p;
    void (*release)(void *);
} kept;

static pthread_mutex_t keep_lock = PTHREAD_MUTEX_INITIALIZER;
static kept *keep_list;
static size_t keep_n, keep_cap;
static atomic_int failures;

static void *keep(void *p, void (*release)(void *))
{
    if (!p) {
        fprintf(stderr, "admf test: out of memory or bad JSON format\n");
        exit(1);
    }
    pthread_mutex_lock(&keep_lock);
    if (keep_n == keep_cap) {
        keep_cap = keep_cap ? keep_cap * 2 : 256;
        keep_list = realloc(keep_list, keep_cap * sizeof *keep_list);
        if (!keep_list)
            abort();
    }
    keep_list[keep_n++] = (kept){ p, release };
    pthread_mutex_unlock(&keep_lock);
    return p;
}

static void release_json(void *p)
{
    json_decref(p);
}

static void release_resp(void *p)
{
    admf_resp *r = p;
    free(r->head);
    free(r->raw);
    json_decref(r->body);
    free(r);
}

void admf_release(void)
{
    for (size_t i = keep_n; i-- > 0;)
        keep_list[i].release(keep_list[i].p);
    free(keep_list);
    keep_list = NULL;
    keep_n = keep_cap = 0;
}

void check(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s", cond ? "ok    " : "FAIL  ");
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
    va_end(ap);
    if (!cond)
        atomic_fetch_add(&failures, 1);
}

int admf_failures(void)
{
    return atomic_load(&failures);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "%s is not set: run this test through ctest\n", name);
        exit(2);
    }
    return v;
}

const char *admf_pki(void)
{
    return env("LIMF_PKI_DIR");
}

const char *admf_bin_dir(void)
{
    static char dir[512];
    if (!dir[0])
        snprintf(dir, sizeof dir, "%s/bin", env("LIMF_BUILD_DIR"));
    return dir;
}

uint64_t admf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void admf_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

const char *admf_fmt(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return keep(n < 0 ? NULL : s, free);
}

const char *admf_rfc3339(uint64_t ms)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    char s[40];
    gmtime_r(&sec, &tm);
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    return admf_fmt("%s.%03dZ", s, (int)(ms % 1000));
}

/* ---- the daemon ---- */

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    size_t n = strlen(text);
    if (fd < 0 || write(fd, text, n) != (ssize_t)n) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(2);
    }
    close(fd);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *s = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 8192;
            s = realloc(s, cap);
            if (!s)
                abort();
        }
        got = fread(s + n, 1, cap - n - 1, f);
        n += got;
    } while (got > 0);
    s[n] = 0;
    fclose(f);
    return s;
}

int admf_cert_roles = 1;

void admf_daemon_init(admf_daemon *d, const char *prefix, const char *const *extra)
{
    const char *pki = admf_pki();
    char tokens[300];
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "/tmp/%s-XXXXXX", prefix);
    if (!mkdtemp(d->dir)) {
        perror("mkdtemp");
        exit(2);
    }
    snprintf(d->conf, sizeof d->conf, "%s/admf.conf", d->dir);
    snprintf(d->port_file, sizeof d->port_file, "%s/ready", d->dir);
    snprintf(d->log, sizeof d->log, "%s/admf.log", d->dir);
    snprintf(tokens, sizeof tokens, "%s/tokens", d->dir);
    snprintf(d->audit_key, sizeof d->audit_key, "%s/audit.key", d->dir);
    write_file(d->audit_key,
               "6c696d662d746573742d61756469742d6b65792d3031323334353637383961626364\n", 0600);
    /* The tokens adm1n-t0ken-0123456789 and aud1t-t0ken-0123456789, stored hashed. */
    write_file(tokens,
               "# name role sha256:<SHA-256 of the token>\n"
               "ci-admin admin "
               "sha256:40537792dc8479f008c35dbe858b764df6b98e992b038ce02b5db863ba5048df\n"
               "ci-auditor auditor "
               "sha256:41377243a92ca8647b36409c8adf7fe9fbee353de7eb32aaaceef299e71a9220\n",
               0600);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    /* extra keys first: below a [section] they would get its prefix */
    for (size_t i = 0; extra && extra[i]; i++)
        fprintf(f, "%s\n", extra[i]);
    fprintf(f,
            "daemon.ready_file = %s\n"
            "topics.prefix = %s\n[kafka]\nbootstrap.servers = %s\nsecurity.protocol = ssl\n"
            "ssl.ca.location = %s/ca.pem\nssl.certificate.location = %s/admf.pem\n"
            "ssl.key.location = %s/admf.key\n"
            "[rest]\nlisten = 127.0.0.1:0\ntls.cert = %s/admf.pem\n"
            "tls.key = %s/admf.key\ntls.ca = %s/ca.pem\ntokens_file = %s\n%s"
            "[x1]\ntls.cert = %s/admf.pem\ntls.key = %s/admf.key\ntls.ca = %s/ca.pem\n"
            "ingest_address = 127.0.0.1:9\ntimeout_ms = 1000\n"
            "[admf]\naudit_key_file = %s\naudit_checkpoint_seconds = 1\n"
            "auth_refusal_interval_seconds = 1\n",
            d->port_file, env("LIMF_TOPIC_PREFIX"), env("LIMF_KAFKA_TLS_BOOTSTRAP"), pki, pki,
            pki, pki, pki, pki, tokens,
            admf_cert_roles ? "role.admin = admin\nrole.operator = operator\n"
                              "role.auditor = auditor\n" : "",
            pki, pki, pki, d->audit_key);
    fclose(f);
    write_file(d->conf, text, 0644);
    free(text);
}

void admf_daemon_set(admf_daemon *d, const char *key, const char *value)
{
    /* Appended under its own section, so that it overrides the same key above. */
    char *old = read_file(d->conf);
    const char *dot = strchr(key, '.');
    if (!dot)
        abort();
    const char *text = admf_fmt("%s[%.*s]\n%s = %s\n", old ? old : "", (int)(dot - key), key,
                                dot + 1, value);
    free(old);
    write_file(d->conf, text, 0644);
}

static void dump_log(const admf_daemon *d)
{
    char *log = read_file(d->log);
    if (!log)
        return;
    size_t n = strlen(log);
    printf("---- %s (end) ----\n%s\n", d->log, n > 4000 ? log + n - 4000 : log);
    free(log);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int admf_finish(const admf_daemon *d)
{
    int n = admf_failures();
    if (n)
        dump_log(d);
    else
        nftw(d->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    printf("%d failure(s)\n", n);
    admf_release();
    return n ? 1 : 0;
}

void admf_daemon_start(admf_daemon *d)
{
    char path[600];
    unlink(d->port_file);
    snprintf(path, sizeof path, "%s/limf-admf", admf_bin_dir());
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* a test that dies (an exit on a failed step, a ctest timeout) takes it along */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(path, path, "-c", d->conf, (char *)NULL);
        _exit(127);
    }
    d->pid = pid;
    for (int i = 0; i < 300; i++) {
        long port = ready_port(d->port_file, "rest");
        if (port >= 0) {
            d->port = (uint16_t)port;
            return;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            d->pid = 0;
            break;
        }
        admf_sleep_ms(100);
    }
    dump_log(d);
    fprintf(stderr, "limf-admf did not start\n");
    if (d->pid)
        kill(d->pid, SIGKILL);
    exit(1);
}

void admf_daemon_kill9(admf_daemon *d)
{
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
}

int admf_daemon_stop(admf_daemon *d)
{
    int st;
    if (d->pid <= 0)
        return 0;
    kill(d->pid, SIGTERM);
    for (int i = 0; i < 200; i++) {
        if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
            d->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
        admf_sleep_ms(100);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
    return -1;
}

/* ---- the REST client ---- */

struct admf_client {
    const admf_daemon *d;
    SSL_CTX *ctx;
    char token[128];
};

static void release_client(void *p)
{
    admf_client *c = p;
    SSL_CTX_free(c->ctx);
    free(c);
}

admf_client *admf_client_new(const admf_daemon *d, const char *role, const char *token)
{
    const char *pki = admf_pki();
    char path[600], key[600];
    admf_client *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->d = d;
    c->ctx = SSL_CTX_new(TLS_client_method());
    snprintf(path, sizeof path, "%s/ca.pem", pki);
    if (!c->ctx || SSL_CTX_load_verify_locations(c->ctx, path, NULL) != 1)
        goto fail;
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    if (role) {
        snprintf(path, sizeof path, "%s/%s.pem", pki, role);
        snprintf(key, sizeof key, "%s/%s.key", pki, role);
        if (SSL_CTX_use_certificate_chain_file(c->ctx, path) != 1 ||
            SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1)
            goto fail;
    }
    if (token)
        snprintf(c->token, sizeof c->token, "%s", token);
    return keep(c, release_client);
fail:
    ERR_print_errors_fp(stderr);
    fprintf(stderr, "client TLS context for %s failed\n", role ? role : "(no role)");
    exit(2);
}

static int ssl_write_all(SSL *ssl, const char *p, size_t n)
{
    while (n > 0) {
        size_t done = 0;
        if (SSL_write_ex(ssl, p, n, &done) != 1)
            return -1;
        p += done;
        n -= done;
    }
    return 0;
}

/* The body's Content-Type is application/json, or application/problem+json (errors,
 * RFC 9457). */
static int is_json(const char *head)
{
    const char *h = strcasestr(head, "\r\nContent-Type:");
    if (!h)
        return 0;
    h += strlen("\r\nContent-Type:");
    while (*h == ' ')
        h++;
    return strncasecmp(h, "application/json", 16) == 0 ||
           strncasecmp(h, "application/problem+json", 24) == 0;
}

/* Decodes a chunked body (RFC 9112 7.1) in place; returns its length. A truncated one
 * keeps what arrived whole. */
static size_t dechunk(char *body, size_t len)
{
    size_t in = 0, out = 0;
    while (in < len) {
        char *end;
        unsigned long n = strtoul(body + in, &end, 16);
        char *crlf = strstr(body + in, "\r\n");
        if (!crlf || end == body + in || n == 0)
            break;
        in = (size_t)(crlf - body) + 2;
        if (in + n > len)
            break;
        memmove(body + out, body + in, n);
        out += n;
        in += n + 2;
    }
    body[out] = 0;
    return out;
}

admf_resp *admf_req_raw(admf_client *c, const char *method, const char *path,
                        const char *body, size_t body_len, const char *headers)
{
    admf_resp *r = keep(calloc(1, sizeof *r), release_resp);
    char *req = NULL, *in = NULL;
    size_t req_len = 0, in_len = 0, in_cap = 0;
    SSL *ssl = NULL;
    FILE *f = open_memstream(&req, &req_len);
    fprintf(f, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n", method, path,
            c->d->port);
    for (const char *h = headers; h && *h;) {
        size_t n = strcspn(h, "\n");
        fprintf(f, "%.*s\r\n", (int)n, h);
        h += n + (h[n] == '\n');
    }
    if (body && !(headers && strcasestr(headers, "Content-Type:")))
        fprintf(f, "Content-Type: application/json\r\n");
    if (body)
        fprintf(f, "Content-Length: %zu\r\n", body_len);
    if (c->token[0])
        fprintf(f, "Authorization: Bearer %s\r\n", c->token);
    fprintf(f, "\r\n");
    fclose(f);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->d->port) };
    struct timeval tv = { 30, 0 };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        goto out;
    ssl = SSL_new(c->ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1 || ssl_write_all(ssl, req, req_len) != 0 ||
        (body && ssl_write_all(ssl, body, body_len) != 0))
        goto out;
    for (;;) { /* Connection: close: the answer ends where the stream does */
        if (in_cap - in_len < 16384) {
            in_cap = in_cap ? in_cap * 2 : 65536;
            in = realloc(in, in_cap);
            if (!in)
                abort();
        }
        size_t got = 0;
        if (SSL_read_ex(ssl, in + in_len, in_cap - in_len - 1, &got) != 1)
            break;
        in_len += got;
    }
    if (!in)
        goto out;
    in[in_len] = 0;
    char *end = strstr(in, "\r\n\r\n");
    if (!end || sscanf(in, "HTTP/1.%*d %d", &r->status) != 1)
        goto out;
    r->head = strndup(in, (size_t)(end - in) + 2);
    r->raw_len = in_len - (size_t)(end + 4 - in);
    r->raw = malloc(r->raw_len + 1);
    if (!r->head || !r->raw)
        abort();
    memcpy(r->raw, end + 4, r->raw_len + 1);
    if (strcasestr(r->head, "\r\nTransfer-Encoding: chunked"))
        r->raw_len = dechunk(r->raw, r->raw_len);
    if (is_json(r->head))
        r->body = json_loadb(r->raw, r->raw_len, 0, NULL);
out:
    if (r->status == 0) {
        fprintf(stderr, "%s %s: no HTTP answer\n", method, path);
        ERR_print_errors_fp(stderr);
    }
    if (!r->raw)
        r->raw = strdup("");
    if (!r->head)
        r->head = strdup("");
    SSL_free(ssl);
    close(fd);
    free(req);
    free(in);
    return r;
}

admf_resp *admf_req(admf_client *c, const char *method, const char *path, json_t *body,
                    const char *headers)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    admf_resp *r = admf_req_raw(c, method, path, text, text ? strlen(text) : 0, headers);
    free(text);
    return r;
}

const char *admf_header(const admf_resp *r, const char *name)
{
    size_t n = strlen(name);
    for (const char *h = strstr(r->head, "\r\n"); h && h[2]; h = strstr(h + 2, "\r\n")) {
        if (strncasecmp(h + 2, name, n) == 0 && h[2 + n] == ':') {
            const char *v = h + 3 + n;
            while (*v == ' ')
                v++;
            return admf_fmt("%.*s", (int)strcspn(v, "\r"), v);
        }
    }
    return "";
}

/* ---- JSON ---- */

json_t *J(const char *fmt, ...)
{
    va_list ap;
    json_error_t err;
    va_start(ap, fmt);
    json_t *j = json_vpack_ex(&err, 0, fmt, ap);
    va_end(ap);
    if (!j)
        fprintf(stderr, "json_pack(%s): %s\n", fmt, err.text);
    return keep(j, release_json);
}

json_t *with(const json_t *base, const char *fmt, ...)
{
    va_list ap;
    json_error_t err;
    va_start(ap, fmt);
    json_t *over = json_vpack_ex(&err, 0, fmt, ap);
    va_end(ap);
    json_t *j = json_deep_copy(base);
    if (!over || !j || json_object_update(j, over) != 0) {
        fprintf(stderr, "with(%s): %s\n", fmt, over ? "not an object" : err.text);
        exit(2);
    }
    json_decref(over);
    return keep(j, release_json);
}

json_t *jget(const json_t *j, const char *path)
{
    char key[128];
    while (j && *path) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        j = json_object_get(j, key);
        path += n + (path[n] == '.');
    }
    return (json_t *)j;
}

const char *jstr(const json_t *j, const char *path)
{
    return json_string_value(jget(j, path));
}

long long jint(const json_t *j, const char *path)
{
    json_t *v = jget(j, path);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

const char *admf_err(const admf_resp *r)
{
    const char *code = jstr(r->body, "code"), *field = jstr(r->body, "field");
    return admf_fmt("%d %s %s", r->status, code ? code : "-", field ? field : "");
}

size_t admf_n(const admf_resp *r)
{
    return json_array_size(jget(r->body, "items"));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The members key of the items, sorted and deduplicated when set. */
static const char *join_items(const admf_resp *r, const char *key, int set)
{
    json_t *items = jget(r->body, "items");
    size_t n = json_array_size(items), m = 0, len = 0;
    const char **v = calloc(n + 1, sizeof *v);
    char *s = NULL;
    if (!v)
        abort();
    for (size_t i = 0; i < n; i++) {
        const char *x = jstr(json_array_get(items, i), key);
        v[i] = x ? x : "?";
    }
    if (set)
        qsort(v, n, sizeof *v, cmp_str);
    FILE *f = open_memstream(&s, &len);
    for (size_t i = 0; i < n; i++) {
        if (set && i > 0 && strcmp(v[i], v[i - 1]) == 0)
            continue;
        fprintf(f, "%s%s", m++ ? "," : "", v[i]);
    }
    fclose(f);
    free(v);
    return keep(s, free);
}

const char *admf_list(const admf_resp *r, const char *key)
{
    return join_items(r, key, 0);
}

const char *admf_set(const admf_resp *r, const char *key)
{
    return join_items(r, key, 1);
}

size_t admf_count(const admf_resp *r, ...)
{
    json_t *items = jget(r->body, "items"), *it;
    size_t i, n = 0;
    json_array_foreach(items, i, it) {
        va_list ap;
        const char *key, *want;
        int all = 1;
        va_start(ap, r);
        while ((key = va_arg(ap, const char *)) != NULL) {
            want = va_arg(ap, const char *);
            const char *got = jstr(it, key);
            all = all && got && strcmp(got, want) == 0;
        }
        va_end(ap);
        n += (size_t)all;
    }
    return n;
}

const char *jdump(const json_t *j)
{
    if (!j)
        return "(none)";
    return keep(json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY), free);
}

int admf_run(char *const argv[], const char **out)
{
    char path[300];
    snprintf(path, sizeof path, "/tmp/admf-run-%d.out", (int)getpid());
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    char *text = read_file(path);
    unlink(path);
    if (out)
        *out = text ? keep(text, free) : "";
    else
        free(text);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

const char *admf_cert_sha256(const char *role)
{
    const char *path = admf_fmt("%s/%s.pem", admf_pki(), role);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!x || X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32) {
        fprintf(stderr, "cannot read the certificate %s\n", path);
        exit(1);
    }
    X509_free(x);
    char text[96];
    for (unsigned int i = 0; i < n; i++)
        snprintf(text + 3 * i, sizeof text - 3 * i, "%02X%s", md[i], i + 1 < n ? ":" : "");
    return admf_fmt("%s", text);
}

int admf_file_line_has(const char *path, const char *a, const char *b)
{
    char *line = NULL;
    size_t cap = 0;
    int found = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    while (!found && getline(&line, &cap, f) >= 0)
        found = strstr(line, a) && strstr(line, b);
    free(line);
    fclose(f);
    return found;
}
