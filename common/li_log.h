/* Logging: levels, plain or JSON lines on stderr, thread-safe.
 * Target identities, LIIDs and content never go to info level (docs/PRINCIPLES.md 7): log the
 * XID, or li_redact()'s short hash of an identity. */
#ifndef LI_LOG_H
#define LI_LOG_H

#include <stddef.h>

typedef enum li_log_level {
    LI_LOG_ERROR = 0,
    LI_LOG_WARN = 1,
    LI_LOG_INFO = 2,
    LI_LOG_DEBUG = 3
} li_log_level;

/* Sets the program name shown in every line, the threshold and the format. */
void li_log_init(const char *program, li_log_level level, int json);
/* Parses "error", "warn", "info" or "debug"; returns -1 when unknown. */
int li_log_level_parse(const char *text);
int li_log_enabled(li_log_level level);

void li_log(li_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define li_log_error(...) li_log(LI_LOG_ERROR, __VA_ARGS__)
#define li_log_warn(...) li_log(LI_LOG_WARN, __VA_ARGS__)
#define li_log_info(...) li_log(LI_LOG_INFO, __VA_ARGS__)
#define li_log_debug(...) do { if (li_log_enabled(LI_LOG_DEBUG)) li_log(LI_LOG_DEBUG, __VA_ARGS__); } while (0)

/* Writes into out (size >= LI_REDACT_LEN) "id:" followed by 12 hex digits of a keyed
 * SHA-256 of the identity, so that logs can be correlated without revealing it.
 * The key is random per process unless li_redact_set_key() fixed it. */
#define LI_REDACT_LEN 16
void li_redact(const char *identity, char out[LI_REDACT_LEN]);
void li_redact_set_key(const unsigned char *key, size_t len);

#endif
