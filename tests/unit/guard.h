/* Inputs placed right before an unreadable page, for every decoder's unit test: a decoder
 * that reads one byte past the input it was given faults at once instead of reading
 * whatever follows in memory (picohttpparser's tests do the same; docs/CODING.md 2).
 * Test-only: failures are cmocka assertions. */
#ifndef LIMF_TESTS_GUARD_H
#define LIMF_TESTS_GUARD_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A copy of some bytes whose last byte is the last readable byte of its mapping. */
typedef struct guard {
    uint8_t *map;    /* the mapping: whole pages, the last one PROT_NONE */
    size_t map_len;
    uint8_t *data;   /* the copy, ending where the unreadable page begins */
} guard;

/* Copies len bytes of data before a fresh unreadable page. The copy (and whatever a
 * decoder returned pointing into it) lives until guard_free(). */
static inline guard guard_new(const void *data, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (len + page - 1) / page + 1;
    guard g;
    g.map_len = pages * page;
    g.map = mmap(NULL, g.map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g.map != MAP_FAILED);
    assert_int_equal(mprotect(g.map + (pages - 1) * page, page, PROT_NONE), 0);
    g.data = g.map + (pages - 1) * page - len;
    if (len)
        memcpy(g.data, data, len);
    return g;
}

/* Unmaps the copy; g->map NULL (or a guard freed already) is a no-op. */
static inline void guard_free(guard *g)
{
    if (g->map)
        munmap(g->map, g->map_len);
    g->map = NULL;
    g->data = NULL;
}

/* The one-at-a-time form for tables: copies p before an unreadable page and returns the
 * copy, which stays valid until the next call (the previous copy is unmapped then). */
static inline const void *guarded(const void *p, size_t n)
{
    static guard last;
    guard_free(&last);
    last = guard_new(p, n);
    return last.data;
}

#endif
