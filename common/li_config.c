#include "li_config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "li_log.h"

typedef struct entry {
    char *key;
    char *value;
} entry;

struct li_config {
    entry *entries;
    size_t count;
    size_t cap;
};

li_config *li_config_new(void)
{
    return calloc(1, sizeof(li_config));
}

void li_config_free(li_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->count; i++) {
        free(cfg->entries[i].key);
        free(cfg->entries[i].value);
    }
    free(cfg->entries);
    free(cfg);
}

static entry *find(const li_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->count; i++)
        if (strcmp(cfg->entries[i].key, key) == 0)
            return &cfg->entries[i];
    return NULL;
}

li_err li_config_set(li_config *cfg, const char *key, const char *value)
{
    char *v = strdup(value);
    if (!v)
        return LI_ERR_NOMEM;
    entry *e = find(cfg, key);
    if (e) {
        free(e->value);
        e->value = v;
        return LI_OK;
    }
    if (cfg->count == cfg->cap) {
        size_t cap = cfg->cap ? cfg->cap * 2 : 32;
        entry *p = realloc(cfg->entries, cap * sizeof *p);
        if (!p) {
            free(v);
            return LI_ERR_NOMEM;
        }
        cfg->entries = p;
        cfg->cap = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return LI_ERR_NOMEM;
    }
    cfg->entries[cfg->count].key = k;
    cfg->entries[cfg->count].value = v;
    cfg->count++;
    return LI_OK;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

li_err li_config_load_file(li_config *cfg, const char *path, char *errstr, size_t errstr_size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return LI_ERR_IO;
    }
    char line[4096];
    char section[256] = "";
    int lineno = 0;
    li_err err = LI_OK;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(errstr, errstr_size, "%s:%d: line too long", path, lineno);
            err = LI_ERR_INVAL;
            break;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end || end[1] != '\0' || end == s + 1) {
                snprintf(errstr, errstr_size, "%s:%d: bad section header", path, lineno);
                err = LI_ERR_INVAL;
                break;
            }
            *end = '\0';
            snprintf(section, sizeof section, "%s", trim(s + 1));
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(errstr, errstr_size, "%s:%d: expected key = value", path, lineno);
            err = LI_ERR_INVAL;
            break;
        }
        *eq = '\0';
        char *key = trim(s);
        char *value = trim(eq + 1);
        if (*key == '\0') {
            snprintf(errstr, errstr_size, "%s:%d: empty key", path, lineno);
            err = LI_ERR_INVAL;
            break;
        }
        char full[512];
        if (section[0])
            snprintf(full, sizeof full, "%s.%s", section, key);
        else
            snprintf(full, sizeof full, "%s", key);
        err = li_config_set(cfg, full, value);
        if (err != LI_OK) {
            snprintf(errstr, errstr_size, "%s:%d: %s", path, lineno, li_err_str(err));
            break;
        }
    }
    fclose(f);
    return err;
}

li_err li_config_set_arg(li_config *cfg, const char *assignment, char *errstr, size_t errstr_size)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) {
        snprintf(errstr, errstr_size, "override '%s' is not key=value", assignment);
        return LI_ERR_INVAL;
    }
    char key[512];
    size_t klen = (size_t)(eq - assignment);
    if (klen >= sizeof key) {
        snprintf(errstr, errstr_size, "override key too long");
        return LI_ERR_INVAL;
    }
    memcpy(key, assignment, klen);
    key[klen] = '\0';
    return li_config_set(cfg, key, eq + 1);
}

const char *li_config_get(const li_config *cfg, const char *key, const char *def)
{
    entry *e = find(cfg, key);
    return e ? e->value : def;
}

li_err li_config_get_int(const li_config *cfg, const char *key, int64_t def, int64_t min,
                         int64_t max, int64_t *out, char *errstr, size_t errstr_size)
{
    const char *v = li_config_get(cfg, key, NULL);
    if (!v) {
        *out = def;
        return LI_OK;
    }
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < min || n > max) {
        snprintf(errstr, errstr_size, "%s: '%s' is not an integer in [%lld, %lld]", key, v,
                 (long long)min, (long long)max);
        return LI_ERR_INVAL;
    }
    *out = n;
    return LI_OK;
}

li_err li_config_get_bool(const li_config *cfg, const char *key, int def, int *out,
                          char *errstr, size_t errstr_size)
{
    const char *v = li_config_get(cfg, key, NULL);
    if (!v) {
        *out = def;
        return LI_OK;
    }
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1") || !strcmp(v, "on")) {
        *out = 1;
        return LI_OK;
    }
    if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0") || !strcmp(v, "off")) {
        *out = 0;
        return LI_OK;
    }
    snprintf(errstr, errstr_size, "%s: '%s' is not a boolean", key, v);
    return LI_ERR_INVAL;
}

li_err li_config_each(const li_config *cfg, const char *prefix,
                      li_err (*fn)(void *ctx, const char *key, const char *value), void *ctx)
{
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < cfg->count; i++) {
        if (strncmp(cfg->entries[i].key, prefix, plen) != 0)
            continue;
        li_err err = fn(ctx, cfg->entries[i].key + plen, cfg->entries[i].value);
        if (err != LI_OK)
            return err;
    }
    return LI_OK;
}

static void usage(const char *program, const char *extra)
{
    fprintf(stderr,
            "usage: %s [-c FILE]... [-o key=value]...\n"
            "  -c FILE        configuration file (key = value, [section] prefixes);\n"
            "                 several files load in order, later keys win\n"
            "  -o key=value   override one key after the file (repeatable)\n"
            "  -h             this help\n%s",
            program, extra ? extra : "");
}

li_err li_config_from_args(li_config *cfg, const char *program, int argc, char **argv,
                           const char *usage_extra)
{
    char errstr[512];
    /* Files load in order (later keys win); overrides apply after every file, whatever
     * their order on the line. */
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    const char **overrides = calloc((size_t)argc + 1, sizeof *overrides);
    if (!files || !overrides) {
        free(files);
        free(overrides);
        return LI_ERR_NOMEM;
    }
    size_t n_files = 0, n_overrides = 0;
    int opt;
    optind = 1;
    while ((opt = getopt(argc, argv, "c:o:h")) != -1) {
        switch (opt) {
        case 'c':
            files[n_files++] = optarg;
            break;
        case 'o':
            overrides[n_overrides++] = optarg;
            break;
        default:
            usage(program, usage_extra);
            free(files);
            free(overrides);
            return LI_ERR_INVAL;
        }
    }
    li_err err = LI_OK;
    for (size_t i = 0; err == LI_OK && i < n_files; i++)
        if ((err = li_config_load_file(cfg, files[i], errstr, sizeof errstr)) != LI_OK)
            fprintf(stderr, "%s: %s\n", program, errstr);
    for (size_t i = 0; err == LI_OK && i < n_overrides; i++)
        if ((err = li_config_set_arg(cfg, overrides[i], errstr, sizeof errstr)) != LI_OK)
            fprintf(stderr, "%s: %s\n", program, errstr);
    free(files);
    free(overrides);
    if (err != LI_OK)
        return err;
    int level = li_log_level_parse(li_config_get(cfg, "log.level", "info"));
    int json = 0;
    if (level < 0 || li_config_get_bool(cfg, "log.json", 0, &json, errstr, sizeof errstr)) {
        fprintf(stderr, "%s: log.level must be error|warn|info|debug, log.json a boolean\n",
                program);
        return LI_ERR_INVAL;
    }
    li_log_init(program, (li_log_level)level, json);
    return LI_OK;
}
