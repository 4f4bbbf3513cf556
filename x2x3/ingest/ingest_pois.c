#include "ingest_pois.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "admin.pb-c.h"
#include "li_kafka.h"
#include "li_log.h"

typedef struct registered {
    char id[256];
    uint8_t fp[32];
} registered;

struct ingest_pois {
    rd_kafka_t *rk;
    char topic[256];
    pthread_t thread;
    int running;                  /* cleared by ingest_pois_free to stop the thread */
    pthread_mutex_t mu;           /* guards everything below */
    registered *pois;
    size_t n, cap;
    int ready;
};

/* The POI's X2/X3 certificate: its own when registered, else the one it uses on X1. */
static const ProtobufCBinaryData *x2x3_fingerprint(const Limf__InterceptPoint *ip)
{
    if (ip->x2x3_cert_sha256.len == 32)
        return &ip->x2x3_cert_sha256;
    return ip->cert_sha256.len == 32 ? &ip->cert_sha256 : NULL;
}

static void forget(ingest_pois *p, const char *id)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->pois[i].id, id) == 0) {
            p->pois[i] = p->pois[--p->n];
            return;
        }
}

static void learn(ingest_pois *p, const char *id, const uint8_t fp[32])
{
    forget(p, id);
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        registered *grown = realloc(p->pois, cap * sizeof *grown);
        if (!grown) {
            li_log_error("ingest: out of memory for the POI registry; %s not admitted", id);
            return;
        }
        p->pois = grown;
        p->cap = cap;
    }
    snprintf(p->pois[p->n].id, sizeof p->pois[p->n].id, "%s", id);
    memcpy(p->pois[p->n].fp, fp, 32);
    p->n++;
}

/* One record of limf.pois: key poi/<id>, an InterceptPoint or a tombstone. */
static void apply(ingest_pois *p, const rd_kafka_message_t *m)
{
    if (m->key_len <= 4 || m->key_len > 250 || memcmp(m->key, "poi/", 4) != 0)
        return;
    char id[256];
    memcpy(id, (const char *)m->key + 4, m->key_len - 4);
    id[m->key_len - 4] = '\0';
    pthread_mutex_lock(&p->mu);
    Limf__InterceptPoint *ip =
        m->len ? limf__intercept_point__unpack(NULL, m->len, m->payload) : NULL;
    const ProtobufCBinaryData *fp = ip ? x2x3_fingerprint(ip) : NULL;
    if (fp)
        learn(p, id, fp->data);
    else
        forget(p, id);   /* tombstone, or a record the ingest cannot use: not admitted */
    pthread_mutex_unlock(&p->mu);
    if (m->len && !fp)
        li_log_warn("ingest: registry record for %s has no certificate fingerprint", id);
    if (ip)
        limf__intercept_point__free_unpacked(ip, NULL);
}

static void *follow(void *arg)
{
    ingest_pois *p = arg;
    while (__atomic_load_n(&p->running, __ATOMIC_ACQUIRE)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(p->rk, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            pthread_mutex_lock(&p->mu);
            if (!p->ready)
                li_log_info("ingest: POI registry loaded (%zu registered)", p->n);
            p->ready = 1;
            pthread_mutex_unlock(&p->mu);
        } else if (m->err) {
            li_log_warn("ingest: POI registry: %s", rd_kafka_message_errstr(m));
        } else {
            apply(p, m);
        }
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

ingest_pois *ingest_pois_new(const li_config *cfg, char *errstr, size_t errstr_size)
{
    ingest_pois *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    li_kafka_topic(cfg, "limf.pois", p->topic, sizeof p->topic);
    /* librdkafka's assign() needs a group id although nothing joins or commits. */
    static const char *const props[] = { "enable.partition.eof", "true",
                                         "enable.auto.commit", "false", NULL };
    char group[300], err[512];
    snprintf(group, sizeof group, "%s.reader", p->topic);
    p->rk = li_kafka_consumer_new(cfg, group, props, err, sizeof err);
    if (!p->rk) {
        snprintf(errstr, errstr_size, "POI registry consumer: %s", err);
        goto fail;
    }
    /* The ingest may start before the ADMF has published anything: the topic it will. */
    if (li_kafka_ensure_topic(p->rk, p->topic, 1, 1, 15000, err, sizeof err) != LI_OK)
        li_log_warn("ingest: %s: %s", p->topic, err);
    if (li_kafka_assign_from_start(p->rk, p->topic, errstr, errstr_size) != LI_OK)
        goto fail;
    p->running = 1;
    if (pthread_create(&p->thread, NULL, follow, p) != 0) {
        p->running = 0;
        snprintf(errstr, errstr_size, "POI registry: cannot start its thread");
        goto fail;
    }
    return p;
fail:
    ingest_pois_free(p);
    return NULL;
}

void ingest_pois_free(ingest_pois *p)
{
    if (!p)
        return;
    if (p->running) {
        __atomic_store_n(&p->running, 0, __ATOMIC_RELEASE);
        pthread_join(p->thread, NULL);
    }
    if (p->rk)
        li_kafka_destroy(p->rk, 0);
    pthread_mutex_destroy(&p->mu);
    free(p->pois);
    free(p);
}

int ingest_pois_ready(ingest_pois *p)
{
    pthread_mutex_lock(&p->mu);
    int ready = p->ready;
    pthread_mutex_unlock(&p->mu);
    return ready;
}

int ingest_pois_admits(ingest_pois *p, const char *cn, const uint8_t fp[32])
{
    int ok = 0;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; p->ready && i < p->n && !ok; i++)
        ok = strcmp(p->pois[i].id, cn) == 0 && memcmp(p->pois[i].fp, fp, 32) == 0;
    pthread_mutex_unlock(&p->mu);
    return ok;
}

size_t ingest_pois_count(ingest_pois *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->n;
    pthread_mutex_unlock(&p->mu);
    return n;
}
