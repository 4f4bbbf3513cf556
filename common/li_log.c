#include "li_log.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "li_bytes.h"

static struct {
    char program[32];
    li_log_level level;
    int json;
    unsigned char key[32];
    int have_key;
    pthread_mutex_t lock;
} log_state = { "limf", LI_LOG_INFO, 0, { 0 }, 0, PTHREAD_MUTEX_INITIALIZER };

static const char *level_names[] = { "error", "warn", "info", "debug" };

void li_log_init(const char *program, li_log_level level, int json)
{
    snprintf(log_state.program, sizeof log_state.program, "%s", program);
    log_state.level = level;
    log_state.json = json;
}

int li_log_level_parse(const char *text)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(text, level_names[i]) == 0)
            return i;
    return -1;
}

int li_log_enabled(li_log_level level)
{
    return level <= log_state.level;
}

/* JSON string escaping for the message field of JSON lines. */
static void put_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void li_log(li_log_level level, const char *fmt, ...)
{
    if (!li_log_enabled(level))
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);

    pthread_mutex_lock(&log_state.lock);
    if (log_state.json) {
        fprintf(stderr, "{\"ts\":\"%s\",\"program\":\"%s\",\"level\":\"%s\",\"msg\":", when,
                log_state.program, level_names[level]);
        put_json_string(stderr, msg);
        fputs("}\n", stderr);
    } else {
        fprintf(stderr, "%s %s %s: %s\n", when, log_state.program, level_names[level], msg);
    }
    fflush(stderr);
    pthread_mutex_unlock(&log_state.lock);
}

void li_redact_set_key(const unsigned char *key, size_t len)
{
    pthread_mutex_lock(&log_state.lock);
    memset(log_state.key, 0, sizeof log_state.key);
    memcpy(log_state.key, key, len < sizeof log_state.key ? len : sizeof log_state.key);
    log_state.have_key = 1;
    pthread_mutex_unlock(&log_state.lock);
}

void li_redact(const char *identity, char out[LI_REDACT_LEN])
{
    pthread_mutex_lock(&log_state.lock);
    if (!log_state.have_key) {
        RAND_bytes(log_state.key, sizeof log_state.key);
        log_state.have_key = 1;
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), log_state.key, sizeof log_state.key, (const unsigned char *)identity,
         strlen(identity), mac, &mac_len);
    pthread_mutex_unlock(&log_state.lock);
    memcpy(out, "id:", 3);
    li_hex_encode(mac, 6, out + 3);
}
