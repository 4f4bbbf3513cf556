/* Fuzzes the correlation engine with hostile PDU sequences. Input: records of
 * [op u8][len u16 big-endian][payload]; op % 6: 0 X2 SIP, 1 X3 MSRP, 2 X2 POI event,
 * 3 clock +len seconds and tick, 4 state flush and restore into a fresh engine,
 * 5 X2 SIP with the payload's direction byte. Every emitted record must be well formed
 * and numbered contiguously per (LIID, CIN) and handover interface (HI2: IRI and HI1,
 * HI3: CC); nothing may crash or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.pb-c.h"
#include "med_engine.h"
#include "med_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t XID[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t POI_FP[32] = { 0x0f, 0xf0 };
static med_map seqs;             /* "<liid>/<cin>/<interface>" -> next seq + 1 */

static void on_record(void *ctx, const char *dest, const Limf__HiRecord *r)
{
    (void)ctx;
    if (!dest || !r->liid || !r->payload_kind || (r->payload.len && !r->payload.data) ||
        r->cin == 0 || (r->kind == LIMF__HI_RECORD__KIND__IRI &&
                        (r->iri_type < 1 || r->iri_type > 4)) ||
        (r->kind == LIMF__HI_RECORD__KIND__HI1 &&
         (r->hi1_operation < 1 || r->hi1_operation > 4 || !*r->report_reason)) ||
        r->kind > LIMF__HI_RECORD__KIND__HI1 || r->direction > 2)
        abort();
    if (strcmp(dest, "lea2") == 0)
        return;                  /* the same record again, for the second destination */
    char k[64];
    snprintf(k, sizeof k, "%s/%llu/%d", r->liid, (unsigned long long)r->cin,
             r->kind == LIMF__HI_RECORD__KIND__CC ? 3 : 2);
    /* The map holds the next expected seq + 1 (0: a CIN not seen yet). */
    uintptr_t stored = (uintptr_t)med_map_get(&seqs, k);
    uint64_t expected = stored ? stored - 1 : 0;
    if (r->seq != expected)
        abort();
    if (med_map_put(&seqs, k, (void *)(uintptr_t)(r->seq + 2)) != LI_OK)
        abort();
}

typedef struct kv {
    med_map m;
} kv;

static void on_state(void *ctx, const char *key, const uint8_t *value, size_t len)
{
    kv *s = ctx;
    free(med_map_del(&s->m, key));
    if (!value)
        return;
    uint8_t *b = malloc(len + sizeof(size_t));
    if (!b)
        abort();
    memcpy(b, &len, sizeof len);
    memcpy(b + sizeof len, value, len);
    med_map_put(&s->m, key, b);
}

static med_tasks *tasks(void)
{
    static med_tasks *t;
    if (t)
        return t;
    t = med_tasks_new();
    Limf__Warrant w = LIMF__WARRANT__INIT;
    Limf__Target tg = LIMF__TARGET__INIT, *tgp = &tg;
    char *dests[2] = { "lea1", "lea2" };
    w.id = "w";
    w.liid = "L";
    w.auth_country = "DE";
    w.delivery = "iri+cc";
    w.state = "active";
    tg.type = "sip-uri";
    tg.value = "sip:alice@example.net";
    w.targets = &tgp;
    w.n_targets = 1;
    w.destination_ids = dests;
    w.n_destination_ids = 2;
    w.xid.data = (uint8_t *)XID;
    w.xid.len = 16;
    uint8_t buf[512];
    size_t n = limf__warrant__pack(&w, buf);
    med_tasks_apply(t, "warrant/w", 9, buf, n);
    /* The fuzzed PDUs come from a registered POI, so that they reach the engine. */
    Limf__InterceptPoint ip = LIMF__INTERCEPT_POINT__INIT;
    ip.id = "poi";
    ip.cert_sha256.data = (uint8_t *)POI_FP;
    ip.cert_sha256.len = 32;
    n = limf__intercept_point__pack(&ip, buf);
    med_tasks_apply(t, "poi/poi", 7, buf, n);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    med_config cfg;
    med_config_defaults(&cfg);
    cfg.x3_wait_bytes = 2048;
    cfg.x3_wait_total_bytes = 8192;
    cfg.session_timeout_ns = 100ULL * 1000000000ULL;
    med_map_init(&seqs);
    kv st;
    med_map_init(&st.m);
    med_engine *e = med_engine_new(&cfg, tasks(), on_record, NULL);
    uint64_t now = 1700000000ULL * 1000000000ULL;
    size_t pos = 0;
    while (size - pos >= 3) {
        uint8_t op = data[pos] % 6;
        size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        const uint8_t *p = data + pos;
        pos += len;
        if (op == 3) {
            now += len * 1000000000ULL;
            med_engine_tick(e, now);
            continue;
        }
        if (op == 4) {
            med_engine_state_flush(e, on_state, &st);
            med_engine_free(e);
            e = med_engine_new(&cfg, tasks(), on_record, NULL);
            size_t it = 0;
            const char *k;
            void *v;
            while (med_map_next(&st.m, &it, &k, &v)) {
                size_t l;
                memcpy(&l, v, sizeof l);
                med_engine_restore(e, k, (uint8_t *)v + sizeof l, l);
            }
            continue;
        }
        Limf__XPdu x = LIMF__XPDU__INIT;
        uint8_t corr[8] = { 0, 0, 0, 0, 0, 0, 0, (uint8_t)(len & 3) };
        x.poi_id = "poi";
        x.poi_cert_sha256.data = (uint8_t *)POI_FP;
        x.poi_cert_sha256.len = 32;
        x.pdu_type = op == 1 ? 2 : 1;
        x.payload_format = op == 1 ? 13 : op == 2 ? 4 : 9;
        x.payload_direction = op == 5 && len ? p[0] % 6 : 0;
        x.xid.data = (uint8_t *)XID;
        x.xid.len = 16;
        x.correlation_id.data = corr;
        x.correlation_id.len = 8;
        x.payload.data = (uint8_t *)p;
        x.payload.len = len;
        x.received_ns = now;
        if (med_engine_process(e, &x, now) != LI_OK)
            abort();
    }
    med_engine_state_flush(e, on_state, &st);
    med_engine_free(e);
    med_map_free_values(&st.m, free);
    med_map_free(&seqs);
    return 0;
}
