#include "li_tls.h"

#include <fcntl.h>
#include <pthread.h>
#include <openssl/pem.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "li_bytes.h"

#define MAX_PINS 64

typedef struct pin_set {
    size_t count;
    uint8_t fp[MAX_PINS][32];
    int have_ca;
} pin_set;

static int pin_index = -1;
static pthread_once_t pin_once = PTHREAD_ONCE_INIT;

static void pin_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    OPENSSL_free(ptr);
}

static void pin_index_init(void)
{
    pin_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, pin_free);
}

void li_tls_error_string(char *out, size_t out_size)
{
    size_t n = 0;
    out[0] = '\0';
    unsigned long e;
    while ((e = ERR_get_error()) != 0 && n + 2 < out_size) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        n += (size_t)snprintf(out + n, out_size - n, "%s%s", n ? "; " : "", buf);
    }
}

void li_tls_opts_from_config(const li_config *cfg, const char *prefix, li_tls_opts *opts)
{
    char key[256];
#define GET(field, name)                                   \
    snprintf(key, sizeof key, "%s.%s", prefix, name);      \
    opts->field = li_config_get(cfg, key, NULL)
    GET(cert_file, "cert");
    GET(key_file, "key");
    GET(ca_file, "ca");
    GET(pins, "pins");
    GET(peer_name, "peer_name");
    GET(keylog_file, "keylog");
#undef GET
    opts->cert_pem = opts->key_pem = opts->ca_pem = NULL;   /* configuration names files */
}

static li_err cert_fingerprint(X509 *cert, uint8_t out[32])
{
    unsigned int len = 32;
    return X509_digest(cert, EVP_sha256(), out, &len) == 1 && len == 32 ? LI_OK : LI_ERR_TLS;
}

int li_tls_cert_may_be_client(X509 *cert)
{
    /* X509_check_purpose: an extendedKeyUsage, keyUsage or nsCertType present must
     * allow TLS client authentication (RFC 5280 4.2.1.12); absent, any use is allowed. */
    return cert && X509_check_purpose(cert, X509_PURPOSE_SSL_CLIENT, 0) == 1;
}

/* The SSL object whose handshake is verifying this chain. */
static const SSL *store_ssl(X509_STORE_CTX *store_ctx)
{
    return X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx());
}

/* Accepts a chain when its leaf is pinned, otherwise when it verifies against the CA.
 * A server accepts a client only with a certificate fit for TLS client authentication,
 * pinned or not. */
static int verify_chain(X509_STORE_CTX *store_ctx, void *arg)
{
    const pin_set *pins = arg;
    X509 *leaf = X509_STORE_CTX_get0_cert(store_ctx);
    const SSL *ssl = store_ssl(store_ctx);
    if (ssl && SSL_is_server(ssl) && !li_tls_cert_may_be_client(leaf)) {
        X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_INVALID_PURPOSE);
        return 0;
    }
    uint8_t fp[32];
    if (leaf && pins->count && cert_fingerprint(leaf, fp) == LI_OK) {
        for (size_t i = 0; i < pins->count; i++) {
            if (memcmp(fp, pins->fp[i], 32) == 0) {
                X509_STORE_CTX_set_error(store_ctx, X509_V_OK);
                return 1;
            }
        }
    }
    if (!pins->have_ca) {
        X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_CERT_UNTRUSTED);
        return 0;
    }
    return X509_verify_cert(store_ctx);
}

static li_err parse_pins(const char *text, pin_set *pins, char *errstr, size_t errstr_size)
{
    const char *p = text;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        if (!*p)
            break;
        const char *end = p;
        while (*end && *end != ',' && *end != ' ')
            end++;
        size_t got;
        if (pins->count == MAX_PINS ||
            li_hex_decode(p, (size_t)(end - p), 1, pins->fp[pins->count], 32, &got) != LI_OK ||
            got != 32) {
            snprintf(errstr, errstr_size, "bad SHA-256 pin '%.*s'", (int)(end - p), p);
            return LI_ERR_INVAL;
        }
        pins->count++;
        p = end;
    }
    return LI_OK;
}

#ifdef LIMF_INSECURE_KEYLOG
static void keylog_cb(const SSL *ssl, const char *line)
{
    const char *path = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    FILE *f = path ? fopen(path, "a") : NULL;
    if (!f)
        return;
    fprintf(f, "%s\n", line);
    fclose(f);
}
#endif

/* The key log writes every session's secrets to a file: only a build configured with
 * LIMF_INSECURE_KEYLOG (test builds, for decrypting captures) has it; any other build
 * refuses the setting rather than ignore it. */
static li_err set_keylog(SSL_CTX *ctx, const char *path, char *errstr, size_t errstr_size)
{
    if (!path || !*path)
        return LI_OK;
#ifdef LIMF_INSECURE_KEYLOG
    SSL_CTX_set_app_data(ctx, (void *)path);
    SSL_CTX_set_keylog_callback(ctx, keylog_cb);
    (void)errstr, (void)errstr_size;
    return LI_OK;
#else
    (void)ctx;
    snprintf(errstr, errstr_size, "keylog %s: this build has no TLS key log "
             "(a test build configures -DLIMF_INSECURE_KEYLOG=ON)", path);
    return LI_ERR_INVAL;
#endif
}

/* 1 when gid is the process's effective group or one of its supplementary groups. */
static int own_group(gid_t gid)
{
    if (gid == getegid())
        return 1;
    gid_t groups[256];
    int n = getgroups(256, groups);
    for (int i = 0; i < n; i++)
        if (groups[i] == gid)
            return 1;
    return 0;
}

int li_tls_keylog_available(void)
{
#ifdef LIMF_INSECURE_KEYLOG
    return 1;
#else
    return 0;
#endif
}

/* Loads the private key from the file it checks: the permissions are those of the
 * opened file (fstat), so a path swapped between check and use cannot slip a
 * world-readable key, or another key, past the check. */
static li_err load_key(SSL_CTX *ctx, const char *path, char *errstr, size_t errstr_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(errstr, errstr_size, "%s: cannot open key file", path);
        if (fd >= 0)
            close(fd);
        return LI_ERR_IO;
    }
    /* Nobody but the daemon may read or change it; group read only for the daemon's own
     * group, which is how Kubernetes mounts a Secret for a non-root container (files
     * root:<fsGroup>, mode 0440: docs/SECURITY.md, "Traces outside LI"). */
    if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IWGRP | S_IXGRP | S_IRWXO)) ||
        ((st.st_mode & S_IRGRP) && !own_group(st.st_gid))) {
        snprintf(errstr, errstr_size, "%s: key file must be a regular file not accessible "
                 "to others or to a group other than the daemon's own", path);
        close(fd);
        return LI_ERR_INVAL;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        snprintf(errstr, errstr_size, "%s: cannot read key file", path);
        return LI_ERR_IO;
    }
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    li_err err = key && SSL_CTX_use_PrivateKey(ctx, key) == 1 ? LI_OK : LI_ERR_TLS;
    EVP_PKEY_free(key);
    if (err != LI_OK) {
        char ossl[256];
        li_tls_error_string(ossl, sizeof ossl);
        snprintf(errstr, errstr_size, "%s: %s", path, ossl);
    }
    return err;
}

/* Own certificate chain and key, each from memory when given, else from its file (the
 * key's by load_key); errstr says which failed. */
static li_err load_own(SSL_CTX *ctx, const li_tls_opts *opts, char *errstr, size_t errstr_size)
{
    li_err err = LI_OK;
    if (opts->cert_pem) {
        BIO *bio = BIO_new_mem_buf(opts->cert_pem, -1);
        X509 *leaf = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        if (!leaf || SSL_CTX_use_certificate(ctx, leaf) != 1)
            err = LI_ERR_TLS;
        X509 *extra;
        while (err == LI_OK && (extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
            if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
                X509_free(extra);
                err = LI_ERR_TLS;
            }
        ERR_clear_error();   /* the end of the PEM text reads as an error */
        X509_free(leaf);
        BIO_free(bio);
    } else if (SSL_CTX_use_certificate_chain_file(ctx, opts->cert_file) != 1) {
        err = LI_ERR_TLS;
    }
    if (err == LI_OK && opts->key_pem) {
        BIO *bio = BIO_new_mem_buf(opts->key_pem, -1);
        EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
        if (!key || SSL_CTX_use_PrivateKey(ctx, key) != 1)
            err = LI_ERR_TLS;
        EVP_PKEY_free(key);
        BIO_free(bio);
    } else if (err == LI_OK) {
        /* A key given in memory has no file whose permissions could expose it. */
        li_err key_err = load_key(ctx, opts->key_file, errstr, errstr_size);
        if (key_err != LI_OK)
            return key_err;
    }
    if (err == LI_OK && SSL_CTX_check_private_key(ctx) == 1)
        return LI_OK;
    char ossl[512];
    li_tls_error_string(ossl, sizeof ossl);
    snprintf(errstr, errstr_size, "certificate %s / key %s: %s",
             opts->cert_pem ? "(PEM)" : opts->cert_file,
             opts->key_pem ? "(PEM)" : opts->key_file, ossl);
    return LI_ERR_TLS;
}

/* Trust anchors (and, on a server, the CA names it asks clients for) from PEM text. */
static li_err load_ca_pem(SSL_CTX *ctx, const char *pem, int server)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    size_t n = 0;
    X509 *cert;
    li_err err = bio ? LI_OK : LI_ERR_NOMEM;
    while (err == LI_OK && (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
        if (X509_STORE_add_cert(store, cert) != 1 ||
            (server && SSL_CTX_add_client_CA(ctx, cert) != 1))
            err = LI_ERR_TLS;
        X509_free(cert);
        n++;
    }
    BIO_free(bio);
    if (err == LI_OK && n == 0)
        return LI_ERR_TLS;
    ERR_clear_error();   /* the end of the PEM text reads as an error */
    return err;
}

static li_err load_ca(SSL_CTX *ctx, const li_tls_opts *opts)
{
    if (opts->ca_pem)
        return load_ca_pem(ctx, opts->ca_pem, opts->server);
    if (SSL_CTX_load_verify_locations(ctx, opts->ca_file, NULL) != 1)
        return LI_ERR_TLS;
    if (opts->server) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(opts->ca_file);
        if (names)
            SSL_CTX_set_client_CA_list(ctx, names);
    }
    return LI_OK;
}

SSL_CTX *li_tls_ctx_new(const li_tls_opts *opts, char *errstr, size_t errstr_size)
{
    char ossl[512];
    pthread_once(&pin_once, pin_index_init);
    if ((!opts->cert_file && !opts->cert_pem) || (!opts->key_file && !opts->key_pem)) {
        snprintf(errstr, errstr_size, "a certificate and a key are required (mutual TLS)");
        return NULL;
    }
    if (!opts->ca_file && !opts->ca_pem && !(opts->pins && *opts->pins)) {
        snprintf(errstr, errstr_size, "a CA file or certificate pins are required");
        return NULL;
    }
    SSL_CTX *ctx = SSL_CTX_new(opts->server ? TLS_server_method() : TLS_client_method());
    pin_set *pins = OPENSSL_zalloc(sizeof *pins);
    if (!ctx || !pins) {
        snprintf(errstr, errstr_size, "out of memory");
        SSL_CTX_free(ctx);
        OPENSSL_free(pins);
        return NULL;
    }
    SSL_CTX_set_ex_data(ctx, pin_index, pins);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    /* Every connection is a full handshake, so every peer check (the pins, the CA and
     * name, the callbacks that replace them such as the relay's per-reservation
     * fingerprint) runs on every connection: a resumed session would skip them and
     * carry the identity of whatever connection it was cut from (RFC 8446 2.2). No
     * session cache, no TLS 1.2 tickets, no TLS 1.3 tickets. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    if (load_own(ctx, opts, errstr, errstr_size) != LI_OK)
        goto fail;
    if (opts->ca_file || opts->ca_pem) {
        if (load_ca(ctx, opts) != LI_OK) {
            li_tls_error_string(ossl, sizeof ossl);
            snprintf(errstr, errstr_size, "CA %s: %s", opts->ca_pem ? "(PEM)" : opts->ca_file,
                     *ossl ? ossl : "no certificate");
            goto fail;
        }
        pins->have_ca = 1;
    }
    if (opts->pins && parse_pins(opts->pins, pins, errstr, errstr_size) != LI_OK)
        goto fail;
    if (!opts->server && opts->peer_name && *opts->peer_name) {
        X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        /* An IP literal is checked against IP SANs, anything else against DNS names. */
        if (X509_VERIFY_PARAM_set1_ip_asc(param, opts->peer_name) != 1 &&
            X509_VERIFY_PARAM_set1_host(param, opts->peer_name, 0) != 1) {
            snprintf(errstr, errstr_size, "bad peer name '%s'", opts->peer_name);
            goto fail;
        }
    }
    int mode = SSL_VERIFY_PEER;
    if (opts->server && !opts->optional_peer_cert)
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, NULL);
    SSL_CTX_set_cert_verify_callback(ctx, verify_chain, pins);
    if (set_keylog(ctx, opts->keylog_file, errstr, errstr_size) != LI_OK)
        goto fail;
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

li_err li_tls_peer_fingerprint(SSL *ssl, uint8_t out[32])
{
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (!cert)
        return LI_ERR_NOT_FOUND;
    li_err err = cert_fingerprint(cert, out);
    X509_free(cert);
    return err;
}

li_err li_tls_peer_name(SSL *ssl, char *out, size_t out_size)
{
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (!cert)
        return LI_ERR_NOT_FOUND;
    li_err err = LI_ERR_NOT_FOUND;
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, out,
                                  (int)out_size) > 0) {
        err = LI_OK;
    } else {
        GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
        for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
            GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
            if (gn->type == GEN_DNS) {
                snprintf(out, out_size, "%s", (const char *)ASN1_STRING_get0_data(gn->d.dNSName));
                err = LI_OK;
                break;
            }
        }
        GENERAL_NAMES_free(sans);
    }
    X509_free(cert);
    return err;
}

li_err li_tls_file_fingerprint(const char *pem_file, uint8_t out[32])
{
    FILE *f = fopen(pem_file, "r");
    if (!f)
        return LI_ERR_IO;
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!cert)
        return LI_ERR_PROTO;
    li_err err = cert_fingerprint(cert, out);
    X509_free(cert);
    return err;
}

void li_tls_fingerprint_format(const uint8_t fp[32], char out[96])
{
    static const char digits[] = "0123456789ABCDEF";
    for (int i = 0; i < 32; i++) {
        out[3 * i] = digits[fp[i] >> 4];
        out[3 * i + 1] = digits[fp[i] & 15];
        out[3 * i + 2] = i == 31 ? '\0' : ':';
    }
}
