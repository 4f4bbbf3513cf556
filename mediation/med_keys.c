/* See med_keys.h. */
#include "med_keys.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "li_log.h"

/* Reads the whole of path (at most max bytes) into buf; -1 when it cannot or is longer. */
static long read_all(const char *path, uint8_t *buf, size_t max, char *errstr, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, n, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t got = fread(buf, 1, max, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    if (more) {
        snprintf(errstr, n, "%s: longer than %zu bytes", path, max);
        return -1;
    }
    return (long)got;
}

li_err med_keys_load(const li_config *cfg, med_keys *k, char *errstr, size_t errstr_size)
{
    uint8_t buf[65536];
    const char *path = li_config_get(cfg, "mediator.key_file", NULL);
    if (path && *path) {
        struct stat st;
        if (stat(path, &st) == 0 && (st.st_mode & S_IRWXO)) {
            snprintf(errstr, errstr_size, "mediator.key_file %s: accessible to others", path);
            return LI_ERR_INVAL;
        }
        long n = read_all(path, buf, 4096, errstr, errstr_size);
        if (n >= 0 && n < 16)
            snprintf(errstr, errstr_size, "mediator.key_file %s: shorter than 16 bytes", path);
        if (n < 16)
            return LI_ERR_INVAL;
        SHA256(buf, (size_t)n, k->key);
        OPENSSL_cleanse(buf, (size_t)n);
        return LI_OK;
    }
    const char *ca = li_config_get(cfg, "kafka.ssl.ca.location", NULL);
    long n = ca && *ca ? read_all(ca, buf, sizeof buf, errstr, errstr_size) : -1;
    if (n <= 0) {
        if (n == 0 || !ca || !*ca)
            snprintf(errstr, errstr_size, "mediator.key_file: not set, and no "
                     "kafka.ssl.ca.location to derive a key from");
        return LI_ERR_INVAL;
    }
    SHA256(buf, (size_t)n, k->key);
    li_log_warn("mediator.key_file not set: Kafka keys are hashed with a key derived from "
                "the Kafka CA certificate, which its holders can recompute");
    return LI_OK;
}

void med_keys_hash(const med_keys *k, const char *clear, char out[MED_KEY_HASH_LEN])
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), k->key, sizeof k->key, (const uint8_t *)clear, strlen(clear), mac,
         &len);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}
