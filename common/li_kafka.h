/* Kafka clients configured from a daemon's configuration: every `kafka.<property>` key is
 * passed to librdkafka as `<property>` (so `kafka.security.protocol = ssl` and
 * `kafka.ssl.certificate.location = ...` give TLS to the broker). Topic names get the
 * optional `topics.prefix`, which lets tests and several deployments share a broker. */
#ifndef LI_KAFKA_H
#define LI_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "li_config.h"
#include "li_err.h"

/* The largest record limf writes (a PDU of the ingest's maximum size and its envelope):
 * producers are configured for it, topics limf creates accept it, and a broker or cluster
 * must too (message.max.bytes, replica.fetch.max.bytes; deploy/kafka.sh sets them). */
#define LI_KAFKA_MAX_RECORD "16777216"

/* Extra properties: NULL-terminated list of key, value pairs applied after the
 * configuration's (the caller's requirements win, e.g. enable.idempotence). */

/* A producer (compression.type lz4 unless `kafka.compression.type` says otherwise); its
 * delivery reports go to dr_msg_cb when given (opaque = dr_opaque).
 * The caller destroys it with li_kafka_destroy(). NULL with a reason in errstr. */
rd_kafka_t *li_kafka_producer_new(const li_config *cfg, const char *const *extra,
                                  void (*dr_msg_cb)(rd_kafka_t *, const rd_kafka_message_t *,
                                                    void *),
                                  void *dr_opaque, char *errstr, size_t errstr_size);

/* A consumer in group `group_id` (NULL: no group, for assign()-only readers), with the
 * poll queue redirected to the consumer queue. */
rd_kafka_t *li_kafka_consumer_new(const li_config *cfg, const char *group_id,
                                  const char *const *extra, char *errstr, size_t errstr_size);

/* The group's rebalance callback (librdkafka's rebalance_cb: it must assign or
 * unassign) and the opaque every callback of the client receives. */
typedef void (*li_kafka_rebalance_fn)(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                      rd_kafka_topic_partition_list_t *parts, void *opaque);

/* As li_kafka_consumer_new, with a rebalance callback (NULL: librdkafka's default) and
 * the opaque passed to it. */
rd_kafka_t *li_kafka_consumer_new_cb(const li_config *cfg, const char *group_id,
                                     const char *const *extra, li_kafka_rebalance_fn rebalance,
                                     void *opaque, char *errstr, size_t errstr_size);

/* Writes `topics.prefix` + base into out. */
void li_kafka_topic(const li_config *cfg, const char *base, char *out, size_t out_size);

/* The HI topic of a destination: `topics.prefix` + "limf.hi.<id>.<suffix>", with the
 * destination's topic_suffix (common/proto/admin.proto). LI_ERR_INVAL when the suffix is not
 * LI_KAFKA_SUFFIX_LEN lowercase hex digits or the name does not fit: a destination without
 * its own suffix has no topic (docs/SECURITY.md, "Agencies"). */
#define LI_KAFKA_SUFFIX_LEN 32
li_err li_kafka_hi_topic(const li_config *cfg, const char *id, const char *suffix, char *out,
                         size_t out_size);

/* Deletes a topic, or a consumer group (which must have no members), waiting up to
 * timeout_ms. One that does not exist is LI_OK (deleting is idempotent). */
li_err li_kafka_delete_topic(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                             size_t errstr_size);
li_err li_kafka_delete_group(rd_kafka_t *rk, const char *group, int timeout_ms, char *errstr,
                             size_t errstr_size);

/* Creates a topic unless it exists (partitions, and cleanup.policy=compact when
 * `compacted`) and waits, up to timeout_ms, until every partition has a leader. */
li_err li_kafka_ensure_topic(rd_kafka_t *rk, const char *topic, int partitions, int compacted,
                             int timeout_ms, char *errstr, size_t errstr_size);

/* Assigns every partition of `topic` to the (group-less) consumer rk from its beginning:
 * how a daemon reads a compacted store (limf.admin, limf.pois) whole, then follows it. */
li_err li_kafka_assign_from_start(rd_kafka_t *rk, const char *topic, char *errstr,
                                  size_t errstr_size);

/* Flushes (up to flush_ms) and destroys; NULL is a no-op. Returns the number of
 * messages still undelivered. */
int li_kafka_destroy(rd_kafka_t *rk, int flush_ms);

#endif
