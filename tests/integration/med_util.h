/* Helpers of limf-mediator's integration tests: broker settings from the environment
 * (ctest's Kafka and PKI fixtures), limf-mediator instances as child processes (logs in
 * $LIMF_LOG_DIR or the working directory), limf.hi.* read back read_committed, /metrics. */
#ifndef MED_UTIL_H
#define MED_UTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "hi.pb-c.h"
#include "li_kafka.h"

#define MED_IT_MAX_INSTANCES 8

/* Stops every instance, then exits 1 with a message when cond is false. */
#define MED_IT_CHECK(cond, ...)                                                          \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                         \
            fprintf(stderr, __VA_ARGS__);                                                \
            fprintf(stderr, "\n");                                                       \
            med_it_stop_all();                                                           \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

/* argv[1] is the limf-mediator binary; name prefixes the log files. Exits 2 on misuse. */
void med_it_init(int argc, char **argv, const char *name);
/* Client configuration (mutual TLS, `client` certificate, the test's topic prefix);
 * the caller frees it. */
li_config *med_it_client_config(void);
/* An idempotent producer (exits on failure). */
rd_kafka_t *med_it_producer(li_config *cfg);
/* Creates limf.xpdu with xpdu_partitions and the compacted limf.admin, as named (exits on
 * failure). */
void med_it_topics(rd_kafka_t *p, const char *xpdu, int xpdu_partitions, const char *admin);
void med_it_produce(rd_kafka_t *p, const char *topic, const void *key, size_t klen,
                    const void *val, size_t vlen);
/* Starts instance i with the test's broker and PKI (`mediator` certificate), a short
 * group session and transaction timeout, /metrics on an ephemeral port, plus `extra`
 * "key=value" options (NULL-terminated, may be NULL). */
void med_it_start(int i, const char *const *extra);
/* The mediator.key_file every instance started by med_it_start is given (written on each
 * call), and the hash med_keys.h makes of a clear key with it (32 hex digits). */
const char *med_it_key_file(void);
void med_it_key_hash(const char *clear, char out[33]);
void med_it_kill(int i);          /* SIGKILL */
int med_it_term(int i);           /* SIGTERM; returns 0 when it exited with status 0 */
void med_it_stop_all(void);
/* Exit status of instance i once it has ended by itself (128 + signal when killed), -1
 * while it runs. */
int med_it_exit_status(int i);
/* The value of a metric of instance i, or -1. */
long long med_it_metric(int i, const char *name);

/* Reads every partition of limf.hi.<dest> for each dest, read_committed, to its end,
 * calling fn per record. Returns the number of records. */
typedef void (*med_it_rec_fn)(void *ctx, const rd_kafka_message_t *m, const Limf__HiRecord *r);
size_t med_it_read_hi(li_config *cfg, const char *const *dests, size_t n_dests,
                      med_it_rec_fn fn, void *ctx);

#endif
