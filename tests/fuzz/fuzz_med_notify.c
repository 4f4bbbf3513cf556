/* libFuzzer target for med_notify's changelog decoder: any bytes as the value of a "w/"
 * record must load or be refused (LI_ERR_PROTO), and a tick and a flush after it must
 * neither crash nor leak; a loaded record flushes back and loads again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "med_notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_record(void *ctx, const char *dest, const Limf__HiRecord *r)
{
    (void)ctx;
    if (!dest || !r->liid || r->kind != LIMF__HI_RECORD__KIND__HI1)
        abort();
}

typedef struct last {
    uint8_t *value;
    size_t len;
} last;

static void on_state(void *ctx, const char *key, const uint8_t *value, size_t len)
{
    last *l = ctx;
    if (!med_notify_owns(key))
        abort();
    free(l->value);
    l->value = malloc(len ? len : 1);
    if (!l->value)
        abort();
    memcpy(l->value, value, len);
    l->len = len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    med_tasks *tasks = med_tasks_new();
    med_notify *n = med_notify_new(tasks, on_record, NULL);
    last l = { NULL, 0 };
    if (med_notify_restore(n, "w/fuzz", data, size) == LI_OK) {
        /* The warrant is gone from the (empty) table: an active note is deactivated. */
        med_notify_tick(n, 1700000000000000000ull);
        med_notify_flush(n, on_state, &l);
        if (l.value && med_notify_restore(n, "w/fuzz", l.value, l.len) != LI_OK)
            abort();
    }
    free(l.value);
    med_notify_free(n);
    med_tasks_free(tasks);
    return 0;
}
