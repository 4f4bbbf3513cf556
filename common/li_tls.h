/* OpenSSL 3 TLS contexts for every link of limf: mutual TLS, TLS 1.2 minimum (1.3
 * preferred), the peer pinned by SHA-256 certificate fingerprint or by CA + name
 * (docs/PRINCIPLES.md 7). */
#ifndef LI_TLS_H
#define LI_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "li_config.h"
#include "li_err.h"

typedef struct li_tls_opts {
    int server;              /* 1: server context, 0: client context */
    const char *cert_file;   /* own certificate chain (PEM); required for mutual TLS */
    const char *key_file;    /* own private key (PEM); a regular file not accessible to
                              * group or others (checked on the opened file) */
    const char *ca_file;     /* CA bundle the peer's chain must verify against, or NULL */
    const char *pins;        /* comma-separated SHA-256 fingerprints of accepted peer
                              * certificates (hex, ':' optional), or NULL. A pinned peer is
                              * accepted by fingerprint alone, so self-signed certificates work. */
    const char *peer_name;   /* client only: host name or IP the server certificate must
                              * name when verified by CA; NULL skips the name check */
    int optional_peer_cert;  /* server only: ask for but do not demand a client certificate */
    const char *keylog_file; /* append NSS key-log lines here (oracle tests only), or NULL;
                              * refused unless built with LIMF_INSECURE_KEYLOG */
    /* The same from memory (NUL-terminated PEM text), used instead of the file when set:
     * what arrives through an API (an agency's CA) never has to be written to disk. */
    const char *cert_pem;    /* own certificate chain, leaf first */
    const char *key_pem;     /* own private key */
    const char *ca_pem;      /* CA bundle */
} li_tls_opts;

/* Reads `<prefix>.cert`, `.key`, `.ca`, `.pins`, `.peer_name`, `.keylog` from cfg into
 * opts (the PEM texts set to NULL); the strings stay owned by cfg. */
void li_tls_opts_from_config(const li_config *cfg, const char *prefix, li_tls_opts *opts);

/* Builds a context. Every connection made with it is a full handshake (no session
 * cache, no tickets), so the peer is verified on every connection; a server accepts
 * only client certificates fit for TLS client authentication (li_tls_cert_may_be_client).
 * Returns NULL with a reason in errstr when a file is missing or unreadable, a PEM text
 * does not parse, the key does not match the certificate, the key file is readable by
 * others, a key log is asked of a build without one, or neither a CA nor pins are given
 * (no peer would ever be verified). The caller frees it with SSL_CTX_free(). */
SSL_CTX *li_tls_ctx_new(const li_tls_opts *opts, char *errstr, size_t errstr_size);

/* 1 when cert may authenticate a TLS client: its extendedKeyUsage (if any) holds
 * clientAuth and its keyUsage (if any) allows signing (RFC 5280 4.2.1.3, 4.2.1.12). */
int li_tls_cert_may_be_client(X509 *cert);
/* 1 when this build honours `<prefix>.keylog` (configured with LIMF_INSECURE_KEYLOG). */
int li_tls_keylog_available(void);

/* SHA-256 of the peer's leaf certificate (DER). LI_ERR_NOT_FOUND without one. */
li_err li_tls_peer_fingerprint(SSL *ssl, uint8_t out[32]);
/* The peer certificate's subject CN (or first DNS SAN when there is no CN) into out. */
li_err li_tls_peer_name(SSL *ssl, char *out, size_t out_size);
/* SHA-256 of the first certificate in a PEM file. */
li_err li_tls_file_fingerprint(const char *pem_file, uint8_t out[32]);
/* Formats a fingerprint as upper-case hex pairs separated by ':' (RFC 8122 form);
 * out needs 96 bytes. */
void li_tls_fingerprint_format(const uint8_t fp[32], char out[96]);

/* Text of the OpenSSL error queue (and clears it), for logs. */
void li_tls_error_string(char *out, size_t out_size);

#endif
