/* The ADMF's in-memory copy of the store of record, limf.admin (docs/PRINCIPLES.md 3, 6): one table
 * per kind of object, keyed by id, holding the unpacked protobuf of the latest record.
 * It is filled only from record bytes (admf_store_apply), the same bytes that are in Kafka,
 * so the memory always equals what a reader of the topic rebuilds.
 * Not thread-safe: the caller (admf) holds its lock. */
#ifndef ADMF_STORE_H
#define ADMF_STORE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "li_err.h"

typedef enum x1_kind {
    X1_KIND_WARRANT = 0,
    X1_KIND_DESTINATION,
    X1_KIND_EXCEPTION,
    X1_KIND_POI,
    X1_KIND_COUNT
} x1_kind;

/* "warrant", "destination", "exception", "poi": the record key prefix. */
const char *x1_kind_name(x1_kind kind);
const ProtobufCMessageDescriptor *x1_kind_descriptor(x1_kind kind);
/* Splits a record key "<kind>/<id>"; LI_ERR_PROTO when it is not one. *id points into key
 * (not NUL-terminated: *id_len). */
li_err x1_key_parse(const char *key, size_t key_len, x1_kind *kind, const char **id,
                    size_t *id_len);

typedef struct admf_store admf_store;

admf_store *admf_store_new(void);
void admf_store_free(admf_store *st);

/* Applies one limf.admin record: value NULL/len 0 removes the object (tombstone), else
 * the value is unpacked and replaces it. LI_ERR_PROTO for an unparsable key or value
 * (the store is then unchanged). */
li_err admf_store_apply(admf_store *st, const char *key, size_t key_len, const uint8_t *value,
                      size_t len);

/* The object (a Limf__Warrant *, ... per kind, owned by the store, valid until the next
 * apply of the same key) or NULL. */
const ProtobufCMessage *admf_store_get(const admf_store *st, x1_kind kind, const char *id);
size_t admf_store_count(const admf_store *st, x1_kind kind);

/* The object's version (its ETag). */
uint64_t admf_store_version(x1_kind kind, const ProtobufCMessage *msg);
/* The last version of a deleted object (0: none known): a re-created object's versions
 * continue after it, so that an ETag never names two incarnations of an id. A tombstone
 * applied over an object retires its version; admf_store_retire records one learnt
 * elsewhere (the audit trail, when compaction removed the object's records) and keeps
 * the higher. */
uint64_t admf_store_retired(const admf_store *st, x1_kind kind, const char *id);
li_err admf_store_retire(admf_store *st, x1_kind kind, const char *id, uint64_t version);

/* The id of the warrant that holds this LIID for this authorization country, or NULL
 * (docs/PRINCIPLES.md 6: one LIID per authorization country). Owned by the store. */
const char *admf_store_liid_owner(const admf_store *st, const char *country, const char *liid);

/* Calls fn for every object of a kind in ascending id order starting after `after`
 * (NULL: from the first); stops when fn returns non-zero. */
void admf_store_each(admf_store *st, x1_kind kind, const char *after,
                   int (*fn)(void *ctx, const ProtobufCMessage *msg), void *ctx);

#endif
