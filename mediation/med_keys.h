/* Keyed hashes for the mediator's Kafka keys (docs/MEDIATION.md, "Kafka keys"). A Kafka
 * key is visible wherever records are: broker logs and tooling, compaction, every
 * consumer's metrics. The mediator's keys would name LIIDs ("<liid>/<cin>" on
 * limf.hi.<dest>) and Call-IDs ("s/<xid>/<call-id>" in its changelog), so it writes
 * instead the first 128 bits of HMAC-SHA-256(key, clear key) in hex. The same clear key
 * always gives the same hash: partitioning, per-key ordering and compaction are
 * unchanged. Every instance of a deployment must use the same key (a partition moves
 * between instances). */
#ifndef MED_KEYS_H
#define MED_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "li_config.h"
#include "li_err.h"

/* 32 hex digits and the NUL. */
#define MED_KEY_HASH_LEN 33

typedef struct med_keys {
    uint8_t key[32];
} med_keys;

/* The key: SHA-256 of the contents of `mediator.key_file` (a secret of 16 to 4096
 * bytes, e.g. `head -c 32 /dev/urandom`, readable by the mediator's user only); without
 * that key, SHA-256 of the Kafka CA certificate (`kafka.ssl.ca.location`), the same for
 * every instance but not secret (logged as a warning). LI_ERR_INVAL with a reason in
 * errstr when the file cannot be read, is too short or too long, or is readable by
 * others. */
li_err med_keys_load(const li_config *cfg, med_keys *k, char *errstr, size_t errstr_size);
/* The hash of the NUL-terminated clear key into out. */
void med_keys_hash(const med_keys *k, const char *clear, char out[MED_KEY_HASH_LEN]);

#endif
