/* A hash map from NUL-terminated string keys to pointers (open addressing, linear
 * probing, backward-shift deletion). The map copies each key; values are owned by the
 * caller. Not thread-safe. */
#ifndef MED_MAP_H
#define MED_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "li_err.h"

typedef struct med_map_slot {
    char *key;       /* NULL: empty */
    void *value;
    uint64_t hash;
} med_map_slot;

typedef struct med_map {
    med_map_slot *slots;
    size_t cap;      /* power of two, or 0 */
    size_t len;
} med_map;

void med_map_init(med_map *m);
/* Frees the keys and the table, not the values; NULL is a no-op. */
void med_map_free(med_map *m);
/* The same, after handing every value to value_free. */
void med_map_free_values(med_map *m, void (*value_free)(void *));
void *med_map_get(const med_map *m, const char *key);
/* Inserts or replaces; LI_ERR_NOMEM leaves the map unchanged. */
li_err med_map_put(med_map *m, const char *key, void *value);
/* Removes the key; returns its value or NULL. */
void *med_map_del(med_map *m, const char *key);
/* Iteration: for (size_t i = 0; med_map_next(m, &i, &k, &v); ) ... ; the map must not
 * change during the loop. */
int med_map_next(const med_map *m, size_t *iter, const char **key, void **value);
/* 64-bit FNV-1a, also used for fingerprints. */
uint64_t med_hash(const void *p, size_t len, uint64_t seed);

#endif
