#include "med_map.h"

#include <stdlib.h>
#include <string.h>

uint64_t med_hash(const void *p, size_t len, uint64_t seed)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    /* Finalizer (splitmix64) so that the low bits used for the slot index mix well. */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

void med_map_init(med_map *m)
{
    memset(m, 0, sizeof *m);
}

void med_map_free(med_map *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

void med_map_free_values(med_map *m, void (*value_free)(void *))
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            value_free(m->slots[i].value);
    med_map_free(m);
}

static size_t find(const med_map *m, const char *key, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const med_map_slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && strcmp(s->key, key) == 0))
            return i;
    }
}

void *med_map_get(const med_map *m, const char *key)
{
    if (!m->cap)
        return NULL;
    size_t i = find(m, key, med_hash(key, strlen(key), 0));
    return m->slots[i].key ? m->slots[i].value : NULL;
}

static li_err grow(med_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    med_map_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return LI_ERR_NOMEM;
    med_map old = *m;
    m->slots = ns;
    m->cap = ncap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            m->slots[find(m, old.slots[i].key, old.slots[i].hash)] = old.slots[i];
    free(old.slots);
    return LI_OK;
}

li_err med_map_put(med_map *m, const char *key, void *value)
{
    /* Keep the load factor at or below 1/2. */
    if ((m->len + 1) * 2 > m->cap && grow(m) != LI_OK)
        return LI_ERR_NOMEM;
    uint64_t h = med_hash(key, strlen(key), 0);
    med_map_slot *s = &m->slots[find(m, key, h)];
    if (s->key) {
        s->value = value;
        return LI_OK;
    }
    char *k = strdup(key);
    if (!k)
        return LI_ERR_NOMEM;
    s->key = k;
    s->value = value;
    s->hash = h;
    m->len++;
    return LI_OK;
}

void *med_map_del(med_map *m, const char *key)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    size_t i = find(m, key, med_hash(key, strlen(key), 0));
    if (!m->slots[i].key)
        return NULL;
    void *v = m->slots[i].value;
    free(m->slots[i].key);
    m->slots[i].key = NULL;
    m->len--;
    /* Backward shift: move later entries of the probe run into the hole. */
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        int movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            m->slots[i] = m->slots[j];
            m->slots[j].key = NULL;
            i = j;
        }
    }
    return v;
}

int med_map_next(const med_map *m, size_t *iter, const char **key, void **value)
{
    for (size_t i = *iter; i < m->cap; i++) {
        if (m->slots[i].key) {
            *key = m->slots[i].key;
            *value = m->slots[i].value;
            *iter = i + 1;
            return 1;
        }
    }
    return 0;
}
