/* HI1 notifications of warrants (TS 101 671 HI1NotificationOperations, carried on HI2 as
 * PS-PDU hI1-Operation; docs/HANDOVER.md): for each warrant of the task table,
 *   liActivated   when its interception starts: provisioned active within its window, or
 *                 its window opens, or it is activated again;
 *   liDeactivated when it stops: its window ends, it is deactivated, or it is withdrawn;
 *   liModified    when, while active, what it intercepts or where it delivers changes
 *                 (med_warrant.fingerprint).
 * HiRecords of kind HI1 without a CIN, numbered per LIID on HI2 from 0, to every
 * destination of the warrant. One instance per mediator group: the owner of limf.xpdu
 * partition 0 runs it, its state goes to that partition's changelog (keys "w/<id>") in
 * the same transaction as the records, so that each notification is sent exactly once.
 * Pure of Kafka, like med_engine. */
#ifndef MED_NOTIFY_H
#define MED_NOTIFY_H

#include <stdint.h>

#include "li_err.h"
#include "med_engine.h"
#include "med_tasks.h"

typedef struct med_notify med_notify;

/* tasks is borrowed (must outlive it). */
med_notify *med_notify_new(const med_tasks *tasks, med_emit_fn emit, void *emit_ctx);
void med_notify_free(med_notify *n);   /* NULL is a no-op */

/* Compares the task table at now_ns with what was notified and emits the differences. */
li_err med_notify_tick(med_notify *n, uint64_t now_ns);

/* Hands every state record changed since the last flush to fn (med_engine's contract). */
li_err med_notify_flush(med_notify *n, med_state_fn fn, void *ctx);

/* Whether a changelog key is one of med_notify's. */
int med_notify_owns(const char *key);

/* Loads one changelog record of its own (len 0 deletes). */
li_err med_notify_restore(med_notify *n, const char *key, const uint8_t *value, size_t len);

#endif
