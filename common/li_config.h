/* One configuration format for every daemon: a file of `key = value` lines, with
 * `[section]` headers that prefix the keys below them (`[kafka]` then
 * `bootstrap.servers = ...` is the key `kafka.bootstrap.servers`), `#` comments, and
 * command-line overrides `-o key=value` applied after the file. Later values win. */
#ifndef LI_CONFIG_H
#define LI_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "li_err.h"

typedef struct li_config li_config;

li_config *li_config_new(void);
void li_config_free(li_config *cfg);

/* Loads a file; on a syntax error writes "file:line: reason" into errstr. */
li_err li_config_load_file(li_config *cfg, const char *path, char *errstr, size_t errstr_size);
/* Applies one "key=value" override. */
li_err li_config_set_arg(li_config *cfg, const char *assignment, char *errstr, size_t errstr_size);
/* Sets a key (copies both strings). */
li_err li_config_set(li_config *cfg, const char *key, const char *value);

/* Returns the value (owned by cfg) or `def` when the key is absent. */
const char *li_config_get(const li_config *cfg, const char *key, const char *def);
/* Integer and boolean readers: LI_ERR_INVAL with a message when the value is malformed
 * or out of [min, max]; *out = def when the key is absent. */
li_err li_config_get_int(const li_config *cfg, const char *key, int64_t def, int64_t min,
                         int64_t max, int64_t *out, char *errstr, size_t errstr_size);
li_err li_config_get_bool(const li_config *cfg, const char *key, int def, int *out,
                          char *errstr, size_t errstr_size);

/* Calls fn for every key that starts with prefix, passing the key without the prefix;
 * stops and returns the first error fn returns. */
li_err li_config_each(const li_config *cfg, const char *prefix,
                      li_err (*fn)(void *ctx, const char *key, const char *value), void *ctx);

/* Common command line of every daemon: -c FILE, -o key=value (repeatable), -h.
 * Fills cfg; returns LI_ERR_INVAL after printing the usage on a bad option. Also applies
 * `log.level` and `log.json` to the logger. */
li_err li_config_from_args(li_config *cfg, const char *program, int argc, char **argv,
                           const char *usage_extra);

#endif
