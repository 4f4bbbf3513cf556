#include "admf_rest.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "li_log.h"
#include "li_net.h"
#include "li_metrics.h"
#include "admf_rest_openapi.h"
#include "admf_validate.h"

#define MAX_TOKENS 64

/* A bearer token as the file stores it: its SHA-256, never the token itself. */
typedef struct token {
    char name[128];
    char role[16];
    uint8_t digest[SHA256_DIGEST_LENGTH];
} token;

struct admf_rest {
    const li_config *cfg;
    admf_service *admf;
    admf_rest_reconcile_fn reconcile;
    void *reconcile_ctx;
    struct MHD_Daemon *mhd;
    char *cert_pem, *key_pem, *ca_pem;
    token tokens[MAX_TOKENS];
    size_t n_tokens;
    int cn_is_role;
    size_t max_body;
    unsigned max_connections, max_per_address, idle_timeout_s;
    uint16_t port;
    atomic_uint_fast64_t by_class[6]; /* requests by status class 1xx..5xx */
    atomic_uint_fast64_t auth_failures;
};

/* Per-request state across libmicrohttpd's calls. */
typedef struct request {
    li_buf body;
    int too_big;
} request;

static const char *const roles[] = { "admin", "operator", "auditor", NULL };

static int known_role(const char *r)
{
    for (const char *const *p = roles; *p; p++)
        if (strcmp(*p, r) == 0)
            return 1;
    return 0;
}

static char *read_file(const char *path, int secret, char *errstr, size_t n)
{
    struct stat st;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, n, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) != 0 || st.st_size > (1 << 20)) {
        snprintf(errstr, n, "%s: unreadable or too large", path);
        fclose(f);
        return NULL;
    }
    /* Secrets must not be readable by group or others (docs/PRINCIPLES.md 7). */
    if (secret && (st.st_mode & 077)) {
        snprintf(errstr, n, "%s: readable by group or others (chmod 600)", path);
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!buf || got != (size_t)st.st_size) {
        free(buf);
        snprintf(errstr, n, "%s: read failed", path);
        return NULL;
    }
    buf[got] = 0;
    return buf;
}

/* Token file: one "<name> <role> sha256:<64 hex digits>" per line, '#' comments: the
 * SHA-256 of each token, so that the file (or a copy of it) does not hand out the tokens.
 * A line with the token itself is refused. */
static li_err load_tokens(admf_rest *r, const char *path, char *errstr, size_t n)
{
    char *text = read_file(path, 1, errstr, n);
    if (!text)
        return LI_ERR_INVAL;
    char *save = NULL;
    int lineno = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char name[128], role[16], hashed[256];
        size_t len = 0;
        if (line[0] == '#' || line[strspn(line, " \t\r")] == 0)
            continue;
        token *t = &r->tokens[r->n_tokens];
        if (r->n_tokens == MAX_TOKENS ||
            sscanf(line, "%127s %15s %255s", name, role, hashed) != 3 || !known_role(role) ||
            strncmp(hashed, "sha256:", 7) != 0 ||
            li_hex_decode(hashed + 7, strlen(hashed + 7), 0, t->digest, sizeof t->digest,
                          &len) != LI_OK || len != sizeof t->digest) {
            snprintf(errstr, n, "%s:%d: expected \"name role sha256:HEX\" (role admin, operator "
                     "or auditor; HEX the SHA-256 of a token of 16+ characters, e.g. printf "
                     "%%s TOKEN | sha256sum; at most %d tokens)", path, lineno, MAX_TOKENS);
            OPENSSL_cleanse(text, strlen(text));
            free(text);
            return LI_ERR_INVAL;
        }
        r->n_tokens++;
        snprintf(t->name, sizeof t->name, "%s", name);
        snprintf(t->role, sizeof t->role, "%s", role);
    }
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    return LI_OK;
}

/* ---- authentication ---- */

/* The verified client certificate's CN, or 0 when there is none or it does not verify. */
static int client_cn(struct MHD_Connection *c, char *cn, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session)
        return 0;
    gnutls_session_t s = (gnutls_session_t)ci->tls_session;
    unsigned int status = 0, count = 0;
    if (gnutls_certificate_verify_peers2(s, &status) != 0 || status != 0)
        return 0;
    const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &count);
    if (!certs || count == 0)
        return 0;
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init(&crt) != 0)
        return 0;
    size_t len = n;
    int ok = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0 &&
             gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &len) == 0;
    gnutls_x509_crt_deinit(crt);
    return ok && len > 0;
}

/* The token whose digest is the presented token's, or NULL. Every stored digest is
 * compared, each in constant time over its 32 octets: the time depends neither on where
 * a guess first differs nor on any token's length (only on the presented one's). */
static const token *find_token(const admf_rest *r, const char *presented)
{
    uint8_t h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)presented, strlen(presented), h);
    const token *found = NULL;
    for (size_t i = 0; i < r->n_tokens; i++) {
        int same = CRYPTO_memcmp(h, r->tokens[i].digest, sizeof h) == 0;
        if (same && !found)
            found = &r->tokens[i];
    }
    OPENSSL_cleanse(h, sizeof h);
    return found;
}

/* Fills who from a bearer token or the client certificate. 0 when neither identifies a
 * known principal (who->name then says what was presented, for the audit). */
static int authenticate(admf_rest *r, struct MHD_Connection *c, x1_principal *who)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    memset(who, 0, sizeof *who);
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        const token *t = find_token(r, auth + 7);
        if (t) {
            snprintf(who->name, sizeof who->name, "token:%.100s", t->name);
            snprintf(who->role, sizeof who->role, "%s", t->role);
            return 1;
        }
        snprintf(who->name, sizeof who->name, "token:unknown");
        return 0;
    }
    char cn[101];
    if (!client_cn(c, cn, sizeof cn)) {
        snprintf(who->name, sizeof who->name, "anonymous");
        return 0;
    }
    snprintf(who->name, sizeof who->name, "cert:%.100s", cn);
    char key[160];
    snprintf(key, sizeof key, "rest.role.%s", cn);
    const char *role = li_config_get(r->cfg, key, NULL);
    if (!role && r->cn_is_role && known_role(cn))
        role = cn;
    if (!role || !known_role(role))
        return 0;
    snprintf(who->role, sizeof who->role, "%.15s", role);
    return 1;
}

/* The peer's address as text, for aggregating refusals per source. */
static void peer_address(struct MHD_Connection *c, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, n, "unknown");
    if (!ci || !ci->client_addr)
        return;
    socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                           : sizeof(struct sockaddr_in);
    getnameinfo(ci->client_addr, len, out, (socklen_t)n, NULL, 0, NI_NUMERICHOST);
}

/* ---- request hygiene ---- */

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* MHD's unescaping of the path and arguments, except that %00 and %2F stay as written: a
 * NUL would cut the path short in C strings and an escaped slash would move a segment
 * boundary (/v1/warrants/keep%00/../../audit). The path check then refuses them. */
static size_t unescape_path(void *cls, struct MHD_Connection *c, char *s)
{
    char *out = s;
    (void)cls, (void)c;
    for (const char *in = s; *in; in++) {
        int hi, lo;
        if (in[0] == '%' && (hi = hex_digit(in[1])) >= 0 && (lo = hex_digit(in[2])) >= 0 &&
            hi * 16 + lo != 0 && hi * 16 + lo != '/') {
            *out++ = (char)(hi * 16 + lo);
            in += 2;
        } else {
            *out++ = *in;
        }
    }
    *out = 0;
    return (size_t)(out - s);
}

/* 1 when no segment of the path is empty, "." or "..", and no '%' (an escape left by
 * unescape_path) or control character is in it. "/" alone is plain. */
static int path_is_plain(const char *url)
{
    if (url[0] != '/')
        return 0;
    if (url[1] == 0)
        return 1;
    for (const char *seg = url + 1;;) {
        size_t n = strcspn(seg, "/");
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return 0;
        for (size_t i = 0; i < n; i++)
            if (seg[i] == '%' || (unsigned char)seg[i] < 0x20 || seg[i] == 0x7f)
                return 0;
        if (!seg[n])
            return 1;
        seg += n + 1;
    }
}

/* X-Reason (RFC 9110 field value): printable UTF-8, at most X1_MAX_TEXT bytes; no control
 * characters (no terminal escapes in anything that shows the trail). NULL when fine,
 * else what is wrong. */
static const char *bad_reason(const char *reason)
{
    if (!reason)
        return NULL;
    size_t n = strlen(reason);
    if (n > X1_MAX_TEXT)
        return "X-Reason is longer than 1024 bytes";
    if (!x1_valid_text(reason, n, 0))
        return "X-Reason must be printable UTF-8 text (no control characters)";
    return NULL;
}

/* The body's media type: application/json, and for PATCH also
 * application/merge-patch+json (RFC 7396); parameters other than charset=utf-8 are not
 * accepted. A missing Content-Type is refused as well. */
static int json_media_type(const char *ctype, int patch)
{
    if (!ctype)
        return 0;
    size_t n = strcspn(ctype, ";");
    while (n && (ctype[n - 1] == ' ' || ctype[n - 1] == '\t'))
        n--;
    int ok = (n == 16 && strncasecmp(ctype, "application/json", 16) == 0) ||
             (patch && n == 28 && strncasecmp(ctype, "application/merge-patch+json", 28) == 0);
    for (const char *p = strchr(ctype, ';'); ok && p; p = strchr(p + 1, ';')) {
        const char *v = p + 1 + strspn(p + 1, " \t");
        ok = strncasecmp(v, "charset=utf-8", 13) == 0 && (v[13] == 0 || v[13] == ';' ||
                                                         v[13] == ' ');
    }
    return ok;
}

/* ---- responses ---- */

static enum MHD_Result send_text(admf_rest *r, struct MHD_Connection *c, int status,
                                 const char *type, const char *text, size_t len,
                                 uint64_t etag, const char *location, const char *allow)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    if (type)
        MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (etag) {
        char e[32];
        snprintf(e, sizeof e, "\"%llu\"", (unsigned long long)etag);
        MHD_add_response_header(resp, "ETag", e);
    }
    if (location)
        MHD_add_response_header(resp, "Location", location);
    if (allow)
        MHD_add_response_header(resp, "Allow", allow);
    if (status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"limf-admf\"");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    if (status >= 100 && status < 600)
        atomic_fetch_add(&r->by_class[status / 100], 1);
    return ret;
}

static ssize_t export_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    ssize_t n = admf_audit_export_read(cls, buf, max);
    /* An incomplete export ends with an error: the client sees a truncated transfer,
     * not a short file that looks whole. */
    return n < 0 ? MHD_CONTENT_READER_END_WITH_ERROR : n == 0 ? MHD_CONTENT_READER_END_OF_STREAM
                                                            : n;
}

static void export_done(void *cls)
{
    admf_audit_export_free(cls);
}

/* Streams an export (chunked): memory stays bounded by one block and one batch. */
static enum MHD_Result send_export(admf_rest *r, struct MHD_Connection *c, admf_export *e)
{
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
                                                                  export_reader, e,
                                                                  export_done);
    if (!resp) {
        admf_audit_export_free(e);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/x-ndjson");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    atomic_fetch_add(&r->by_class[2], 1);
    return ret;
}

static enum MHD_Result send_result(admf_rest *r, struct MHD_Connection *c, x1_result *res,
                                   const char *location)
{
    char *text = res->body ? json_dumps(res->body, JSON_COMPACT) : NULL;
    const char *type = res->status >= 400 ? "application/problem+json" : "application/json";
    enum MHD_Result ret = send_text(r, c, res->status, text ? type : NULL,
                                    text ? text : "", text ? strlen(text) : 0, res->etag,
                                    location, NULL);
    free(text);
    x1_result_clear(res);
    return ret;
}

static enum MHD_Result send_error(admf_rest *r, struct MHD_Connection *c, int status,
                                  const char *code, const char *field, const char *message,
                                  const char *allow)
{
    x1_result res = { 0 };
    x1_result_error(&res, status, code, field, message);
    char *text = json_dumps(res.body, JSON_COMPACT);
    enum MHD_Result ret = send_text(r, c, status, "application/problem+json", text,
                                    strlen(text), 0, NULL, allow);
    free(text);
    x1_result_clear(&res);
    return ret;
}

/* ---- routing ---- */

typedef struct route {
    const char *collection;
    x1_kind kind;
} route;

static const route routes[] = {
    { "warrants", X1_KIND_WARRANT },
    { "destinations", X1_KIND_DESTINATION },
    { "cert-exceptions", X1_KIND_EXCEPTION },
    { "intercept-points", X1_KIND_POI },
};

/* Who may do what (docs/PRINCIPLES.md 6): admin everything; operator the four collections;
 * auditor reads the audit trail and the intercept points and may run their audit. */
static int allowed(const char *role, const char *area, int write)
{
    if (strcmp(role, "admin") == 0)
        return 1;
    if (strcmp(area, "metrics") == 0)
        return 1;
    if (strcmp(role, "operator") == 0)
        return strcmp(area, "audit") != 0;
    if (strcmp(role, "auditor") == 0)
        return strcmp(area, "audit") == 0 || strcmp(area, "poi-audit") == 0 ||
               (strcmp(area, "intercept-points") == 0 && !write);
    return 0;
}

typedef struct query_args {
    x1_query q;
    int overflow;
} query_args;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    query_args *qa = cls;
    x1_query *q = &qa->q;
    (void)kind;
    if (q->n == sizeof q->keys / sizeof *q->keys) {
        qa->overflow = 1;
        return MHD_NO;
    }
    q->keys[q->n] = key;
    q->values[q->n++] = value ? value : "";
    return MHD_YES;
}

static int is_write(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* Audits a request that was refused before reaching the store (authentication,
 * authorization, malformed body). */
static void audit_refusal(admf_rest *r, const x1_principal *who, const char *action,
                          const char *object, const char *reason)
{
    if (admf_audit(r->admf, who, action, object, "refused", reason, NULL) != LI_OK)
        li_log_error("audit trail unavailable: a refusal was not recorded");
}

/* The Prometheus text of GET /metrics: the HTTP layer's counters, then the service's
 * (admf_metrics). */
static void render_metrics(admf_rest *r, li_buf *out)
{
    li_metrics_put_family(out, "limf_admf_http_requests_total", "counter",
                          "Answers by status class");
    for (int k = 1; k < 6; k++) {
        char label[32];
        snprintf(label, sizeof label, "class=\"%dxx\"", k);
        li_metrics_put_labeled(out, "limf_admf_http_requests_total", label,
                               atomic_load(&r->by_class[k]));
    }
    li_metrics_put(out, "limf_admf_auth_failures_total", "counter",
                   "Requests refused by authentication", atomic_load(&r->auth_failures));
    admf_metrics(r->admf, out);
}

/* req is NULL for a client that did not authenticate (no body was read): every path
 * that reads it lies behind authenticate(). */
static enum MHD_Result handle(admf_rest *r, struct MHD_Connection *c, const char *url,
                              const char *method, request *req)
{
    x1_principal who;
    x1_result res = { 0 };
    x1_query q = { .n = 0 };
    char path[256], object[128] = "";

    if (strcmp(url, "/healthz") == 0) {
        int ok = admf_healthy(r->admf);
        const char *t = ok ? "{\"status\":\"ok\"}" : "{\"status\":\"store_unavailable\"}";
        return send_text(r, c, ok ? 200 : 503, "application/json", t, strlen(t), 0, NULL,
                         NULL);
    }
    if (strcmp(url, "/v1/openapi.json") == 0)
        return send_text(r, c, 200, "application/json", (const char *)admf_rest_openapi_json,
                         admf_rest_openapi_json_len, 0, NULL, NULL);

    /* Paths are refused whole when they could mean two things: empty or dot segments
     * (RFC 3986 5.2.4 would remove them, a proxy may have), and NUL or '/' written as
     * %00 / %2F (left escaped by unescape_path, so they reach here as '%'). */
    if (!path_is_plain(url))
        return send_error(r, c, 400, "invalid_path", "", "the path has an empty or dot "
                          "segment, or an escaped NUL or slash", NULL);

    /* Split /v1/<collection>[/<id>[/audit|/repoint]] */
    snprintf(path, sizeof path, "%s", url);
    const char *area = NULL, *id = NULL, *sub = NULL;
    if (strcmp(path, "/metrics") == 0) {
        area = "metrics";
    } else if (strncmp(path, "/v1/", 4) == 0) {
        char *save = NULL;
        area = strtok_r(path + 4, "/", &save);
        id = area ? strtok_r(NULL, "/", &save) : NULL;
        sub = id ? strtok_r(NULL, "/", &save) : NULL;
        if (sub && strtok_r(NULL, "/", &save))
            area = NULL;
    }
    const route *rt = NULL;
    for (size_t i = 0; area && i < sizeof routes / sizeof *routes; i++)
        if (strcmp(area, routes[i].collection) == 0)
            rt = &routes[i];
    int audit_area = area && strcmp(area, "audit") == 0;
    int poi_audit = rt && rt->kind == X1_KIND_POI && id && sub && strcmp(sub, "audit") == 0;
    int repoint = rt && rt->kind == X1_KIND_DESTINATION && id && sub &&
                  strcmp(sub, "repoint") == 0;
    if (!area || (!rt && !audit_area && strcmp(area, "metrics") != 0) ||
        (audit_area && id && strcmp(id, "verify") != 0 && strcmp(id, "checkpoint") != 0 &&
         strcmp(id, "acknowledge") != 0) || (audit_area && sub) ||
        (sub && !poi_audit && !repoint) || (id && !x1_valid_id(id)))
        return send_error(r, c, 404, "not_found", "", "no such resource", NULL);

    if (!authenticate(r, c, &who)) {
        char source[64];
        atomic_fetch_add(&r->auth_failures, 1);
        snprintf(object, sizeof object, "%s %.100s", method, url);
        peer_address(c, source, sizeof source);
        admf_auth_refused(r->admf, &who, source, object);
        return send_error(r, c, 401, "unauthenticated", "",
                          "a client certificate or bearer token of a known principal is "
                          "required", NULL);
    }
    const char *authz_area = poi_audit ? "poi-audit" : area;
    if (!allowed(who.role, authz_area, is_write(method))) {
        atomic_fetch_add(&r->auth_failures, 1);
        snprintf(object, sizeof object, "%s %.100s", method, url);
        audit_refusal(r, &who, "auth.forbidden", object, "the role does not allow this");
        return send_error(r, c, 403, "forbidden", "", "your role does not allow this", NULL);
    }
    query_args qa = { .q = { .n = 0 }, .overflow = 0 };
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &qa);
    if (qa.overflow)
        return send_error(r, c, 400, "too_many_parameters", "",
                          "at most 16 query parameters", NULL);
    q = qa.q;

    if (strcmp(area, "metrics") == 0) {
        li_buf out;
        li_buf_init(&out, 0);
        render_metrics(r, &out);
        enum MHD_Result ret = send_text(r, c, 200, "text/plain; version=0.0.4",
                                        (const char *)out.data, out.len, 0, NULL, NULL);
        li_buf_free(&out);
        return ret;
    }
    if (audit_area) {
        if (id && strcmp(id, "acknowledge") == 0 && strcmp(method, "POST") == 0) {
            if (strcmp(who.role, "admin") != 0) {
                snprintf(object, sizeof object, "%s %.100s", method, url);
                audit_refusal(r, &who, "auth.forbidden", object, "the role does not allow this");
                return send_error(r, c, 403, "forbidden", "", "your role does not allow this",
                                  NULL);
            }
            const char *reason = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Reason");
            if (bad_reason(reason))
                return send_error(r, c, 400, "invalid_reason", "X-Reason", bad_reason(reason),
                                  NULL);
            admf_audit_acknowledge(r->admf, &who, reason, &res);
            return send_result(r, c, &res, NULL);
        }
        if (is_write(method)) {
            /* An attempt to change the audit trail is itself recorded. */
            snprintf(object, sizeof object, "%s %.100s", method, url);
            audit_refusal(r, &who, "audit.change", object, "the audit trail is append-only");
            return send_error(r, c, 405, "method_not_allowed", "",
                              "the audit trail is append-only", "GET");
        }
        if (id && strcmp(id, "verify") == 0) {
            admf_audit_verify(r->admf, &res);
            return send_result(r, c, &res, NULL);
        }
        if (id && strcmp(id, "checkpoint") == 0) {
            admf_audit_checkpoint(r->admf, &res);
            return send_result(r, c, &res, NULL);
        }
        if (id)
            return send_error(r, c, 405, "method_not_allowed", "", "use POST", "POST");
        const char *format = x1_query_get(&q, "format");
        int jsonl = format && strcmp(format, "jsonl") == 0;
        if (format && !jsonl && strcmp(format, "json") != 0)
            return send_error(r, c, 400, "invalid_format", "format",
                              "format is json or jsonl", NULL);
        if (!jsonl) {
            admf_audit_list(r->admf, &q, &res);
            return send_result(r, c, &res, NULL);
        }
        admf_export *e = admf_audit_export_new(r->admf, &q, &res);
        if (!e)
            return send_result(r, c, &res, NULL);
        return send_export(r, c, e);
    }
    if (poi_audit) {
        if (strcmp(method, "POST") != 0)
            return send_error(r, c, 405, "method_not_allowed", "", "use POST", "POST");
        r->reconcile(r->reconcile_ctx, &who, id, &res);
        return send_result(r, c, &res, NULL);
    }

    /* The four collections. */
    const char *allow = repoint ? "POST" : id ? "GET, PUT, PATCH, DELETE" : "GET, POST";
    int patch = strcmp(method, "PATCH") == 0;
    if (strcmp(method, "GET") == 0 && !repoint) {
        if (id)
            admf_get(r->admf, rt->kind, id, &res);
        else
            admf_list(r->admf, rt->kind, &q, &res);
        if (rt->kind == X1_KIND_WARRANT)
            admf_audit_read(r->admf, &who, id, &q, res.status);
        return send_result(r, c, &res, NULL);
    }
    int create = !id && strcmp(method, "POST") == 0;
    int update = id && !repoint && (patch || strcmp(method, "PUT") == 0);
    int del = id && !repoint && strcmp(method, "DELETE") == 0;
    int move = repoint && strcmp(method, "POST") == 0;
    if (!create && !update && !del && !move) {
        if (is_write(method)) {
            snprintf(object, sizeof object, "%s %.100s", method, url);
            audit_refusal(r, &who, "http.method", object, "method not allowed");
        }
        return send_error(r, c, 405, "method_not_allowed", "", "method not allowed", allow);
    }
    const char *reason = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Reason");
    const char *if_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Match");
    const char *why_bad = bad_reason(reason);
    if (why_bad) {
        snprintf(object, sizeof object, "%s %.100s", method, url);
        audit_refusal(r, &who, "http.reason", object, why_bad);
        return send_error(r, c, 400, "invalid_reason", "X-Reason", why_bad, NULL);
    }
    if (del) {
        admf_delete(r->admf, rt->kind, &who, id, if_match, reason, &res);
        return send_result(r, c, &res, NULL);
    }
    char action[40];
    snprintf(action, sizeof action, "%s.%s", x1_kind_name(rt->kind),
             create ? "create" : move ? "repoint" : "update");
    snprintf(object, sizeof object, "%s/%s", x1_kind_name(rt->kind), id ? id : "");
    if (req->too_big) {
        audit_refusal(r, &who, action, object, "body too large");
        return send_error(r, c, 413, "too_large", "", "the body exceeds rest.max_body_bytes",
                          NULL);
    }
    const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (!json_media_type(ctype, patch)) {
        audit_refusal(r, &who, action, object, "unsupported content type");
        return send_error(r, c, 415, "unsupported_media_type", "Content-Type",
                          patch ? "the body must be application/json or "
                                  "application/merge-patch+json"
                                : "the body must be application/json", NULL);
    }
    json_error_t jerr;
    json_t *body = json_loadb(req->body.data ? (const char *)req->body.data : "", req->body.len,
                              JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        char msg[200];
        snprintf(msg, sizeof msg, "not JSON: %s (offset %d)", jerr.text, jerr.position);
        audit_refusal(r, &who, action, object, msg);
        return send_error(r, c, 400, "invalid_json", "", msg, NULL);
    }
    if (create)
        admf_create(r->admf, rt->kind, &who, body, reason, &res);
    else if (move)
        admf_repoint(r->admf, &who, id, if_match, body, reason, &res);
    else
        admf_update(r->admf, rt->kind, &who, id, if_match, body, patch, reason, &res);
    json_decref(body);
    char location[160] = "";
    if (create && res.status == 201 && res.body) {
        json_t *jid = json_object_get(res.body, "id");
        snprintf(location, sizeof location, "/v1/%s/%s", rt->collection,
                 json_is_string(jid) ? json_string_value(jid) : "");
    }
    return send_result(r, c, &res, location[0] ? location : NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    admf_rest *r = cls;
    request *req = *con_cls;
    (void)version;
    if (!req) {
        /* The head is complete, nothing of a body read yet: a client that does not
         * authenticate is answered now (401, or what needs no principal) and its body
         * is never read (issue 15 item 6: 1 MiB was buffered before the check). */
        x1_principal who;
        if (!authenticate(r, c, &who))
            return handle(r, c, url, method, NULL);
        if (!(req = calloc(1, sizeof *req)))
            return MHD_NO;
        li_buf_init(&req->body, r->max_body);
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (li_buf_append(&req->body, upload_data, *upload_data_size) != LI_OK)
            req->too_big = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return handle(r, c, url, method, req);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    request *req = *con_cls;
    (void)cls, (void)c, (void)toe;
    if (req) {
        li_buf_free(&req->body);
        free(req);
        *con_cls = NULL;
    }
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt,
                                                          va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = 0;
    li_log_debug("http: %s", msg);
}

admf_rest *admf_rest_new(const li_config *cfg, admf_service *admf, admf_rest_reconcile_fn reconcile,
                     void *reconcile_ctx, char *errstr, size_t errstr_size)
{
    admf_rest *r = calloc(1, sizeof *r);
    int64_t max_body, max_conn, per_address, idle_s;
    const char *listen_addr = li_config_get(cfg, "rest.listen", "127.0.0.1:8443");
    struct sockaddr_storage ss;
    socklen_t len;
    if (!r) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    r->cfg = cfg;
    r->admf = admf;
    r->reconcile = reconcile;
    r->reconcile_ctx = reconcile_ctx;
    const char *cert = li_config_get(cfg, "rest.tls.cert", NULL);
    const char *key = li_config_get(cfg, "rest.tls.key", NULL);
    const char *ca = li_config_get(cfg, "rest.tls.ca", NULL);
    const char *tokens = li_config_get(cfg, "rest.tokens_file", NULL);
    if (!cert || !key || !ca) {
        snprintf(errstr, errstr_size, "rest.tls.cert, rest.tls.key and rest.tls.ca are required "
                 "(the API is HTTPS only)");
        goto fail;
    }
    if (li_config_get_bool(cfg, "rest.cn_is_role", 0, &r->cn_is_role, errstr, errstr_size) ||
        li_config_get_int(cfg, "rest.max_body_bytes", 1 << 20, 1024, 64 << 20, &max_body,
                          errstr, errstr_size) ||
        li_config_get_int(cfg, "rest.max_connections", 1024, 1, 16384, &max_conn, errstr,
                          errstr_size) ||
        li_config_get_int(cfg, "rest.max_connections_per_address", 8, 1, 16384, &per_address,
                          errstr, errstr_size) ||
        li_config_get_int(cfg, "rest.idle_timeout_s", 10, 1, 3600, &idle_s, errstr,
                          errstr_size) ||
        li_net_address(listen_addr, LI_HOSTPORT_PORT0,
                       "rest.listen", &ss, &len, errstr, errstr_size))
        goto fail;
    r->max_body = (size_t)max_body;
    r->max_connections = (unsigned)max_conn;
    r->max_per_address = (unsigned)per_address;
    r->idle_timeout_s = (unsigned)idle_s;
    if (!(r->cert_pem = read_file(cert, 0, errstr, errstr_size)) ||
        !(r->key_pem = read_file(key, 1, errstr, errstr_size)) ||
        !(r->ca_pem = read_file(ca, 0, errstr, errstr_size)))
        goto fail;
    if (tokens && load_tokens(r, tokens, errstr, errstr_size) != LI_OK)
        goto fail;
    /* poll(), not select(): a thousand connections take descriptors above FD_SETSIZE. */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_TLS | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    r->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, r, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_HTTPS_MEM_CERT, r->cert_pem, MHD_OPTION_HTTPS_MEM_KEY, r->key_pem,
        MHD_OPTION_HTTPS_MEM_TRUST, r->ca_pem,
        /* TLS 1.2 minimum, 1.3 preferred (docs/PRINCIPLES.md 7). */
        MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, r, MHD_OPTION_UNESCAPE_CALLBACK,
        unescape_path, NULL,
        /* Before authentication a client holds a thread and a connection; one address
         * holds max_per_address at most, so the rest of max_connections stays for
         * the others, and a silent one (TLS handshake included) goes after
         * idle_timeout_s (issue 15 item 6). */
        MHD_OPTION_CONNECTION_TIMEOUT, r->idle_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        r->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, r->max_per_address,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, r, MHD_OPTION_END);
    if (!r->mhd) {
        snprintf(errstr, errstr_size, "cannot start HTTPS on %s (address in use, or bad "
                 "certificate/key)", listen_addr);
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(r->mhd, MHD_DAEMON_INFO_BIND_PORT);
    r->port = di ? di->port : 0;
    return r;
fail:
    admf_rest_free(r);
    return NULL;
}

uint16_t admf_rest_port(const admf_rest *r)
{
    return r->port;
}

void admf_rest_free(admf_rest *r)
{
    if (!r)
        return;
    if (r->mhd)
        MHD_stop_daemon(r->mhd);
    free(r->cert_pem);
    if (r->key_pem) {
        OPENSSL_cleanse(r->key_pem, strlen(r->key_pem));
        free(r->key_pem);
    }
    free(r->ca_pem);
    OPENSSL_cleanse(r->tokens, sizeof r->tokens);
    free(r);
}
