/* limf.pois, the registry of intercept points limf-ingest follows (docs/SECURITY.md,
 * "X2/X3: the POI is part of the task"): for each POI only its id, role and certificate
 * fingerprints, so that the ingest learns nothing of warrants, targets or tasks. The
 * topic is compacted; the ADMF republishes every registration at start, which repairs a
 * record that a crash between limf.admin and limf.pois left out. */
#include <stdlib.h>
#include <string.h>

#include "admf_internal.h"
#include "admin.pb-c.h"
#include "li_kafka.h"
#include "li_log.h"

/* The registry's view of an intercept point record (value of limf.admin's poi/<id>), or a
 * tombstone when n is 0. */
void admf_pois_publish(admf_service *a, const char *key, const uint8_t *packed, size_t n)
{
    Limf__InterceptPoint *full = n ? limf__intercept_point__unpack(NULL, n, packed) : NULL;
    uint8_t *value = NULL;
    size_t len = 0;
    if (full) {
        Limf__InterceptPoint reg = LIMF__INTERCEPT_POINT__INIT;
        reg.id = full->id;
        reg.role = full->role;
        reg.cert_sha256 = full->cert_sha256;
        reg.x2x3_cert_sha256 = full->x2x3_cert_sha256;
        len = limf__intercept_point__get_packed_size(&reg);
        if ((value = malloc(len ? len : 1)))
            limf__intercept_point__pack(&reg, value);
        limf__intercept_point__free_unpacked(full, NULL);
        if (!value) {
            li_log_error("admf: out of memory publishing %s to %s", key, a->pois_topic);
            return;
        }
    }
    /* Not acknowledged here: a lost record is republished at the next start. */
    if (admf_produce(a, a->pois_topic, key, value, len, NULL) != LI_OK)
        li_log_error("admf: %s not published to %s; republished at the next start", key,
                     a->pois_topic);
    free(value);
}

static int republish(void *ctx, const ProtobufCMessage *m)
{
    admf_service *a = ctx;
    const Limf__InterceptPoint *p = (const Limf__InterceptPoint *)m;
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *packed = malloc(n ? n : 1);
    if (!packed)
        return 0;
    protobuf_c_message_pack(m, packed);
    char key[300];
    snprintf(key, sizeof key, "poi/%s", p->id);
    admf_pois_publish(a, key, packed, n);
    free(packed);
    return 0;
}

li_err admf_pois_setup(admf_service *a, char *errstr, size_t errstr_size)
{
    li_kafka_topic(a->cfg, "limf.pois", a->pois_topic, sizeof a->pois_topic);
    if (li_kafka_ensure_topic(a->producer, a->pois_topic, 1, 1, 15000, errstr, errstr_size) !=
        LI_OK)
        return LI_ERR_KAFKA;
    pthread_mutex_lock(&a->state_mu);
    admf_store_each(a->store, X1_KIND_POI, NULL, republish, a);
    pthread_mutex_unlock(&a->state_mu);
    return LI_OK;
}
