#include "x2x3_router.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "li_log.h"
#include "li_metrics.h"
#include "li_time.h"

typedef struct route {
    uint8_t did[16];
    x1_delivery delivery;      /* the destination's deliveryType: what it accepts */
    x2x3_sender *sender;
} route;

typedef struct dest_sender {
    char address[sizeof ((x1_destination *)0)->address];
    x2x3_sender *sender;
    int retired;       /* no destination names its address: drains, then stops */
} dest_sender;

struct x2x3_router {
    li_config *cfg;                /* private copy of the <prefix>.* keys */
    x1_ne *ne;                     /* not owned; NULL with a fixed route */
    char prefix[64];
    size_t max_senders;
    int fixed;                     /* <prefix>.address: senders[0] takes every record, and
                                      the senders never change */
    /* routes and senders change under both locks and are read under either:
     * rebuild_mu serialises the X1 threads and the reaper (and is held while a sender
     * is created, which takes milliseconds), mu is what every send takes. */
    pthread_mutex_t rebuild_mu;
    pthread_mutex_t mu;
    route *routes;
    size_t n_routes;
    dest_sender *senders;
    size_t n_senders;
    atomic_uint_fast64_t unrouted;
    x2x3_sender_stats stopped;     /* counters of the senders stopped so far (mu), so
                                      that the sums never go backwards */
    pthread_t reaper;
    int reaper_started;
    pthread_cond_t stop_cond;      /* with mu */
    int stop;
};

static dest_sender *sender_at(x2x3_router *r, const char *address)
{
    for (size_t i = 0; i < r->n_senders; i++)
        if (strcmp(r->senders[i].address, address) == 0)
            return &r->senders[i];
    return NULL;
}

/* Starts a sender for every delivery address that has none; the caller holds rebuild_mu.
 * A sender that cannot be created is logged: its destination stays unrouted until the
 * next change. */
static void start_senders(x2x3_router *r, const x1_destination *dests, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (sender_at(r, dests[i].address))
            continue;
        if (r->n_senders == r->max_senders) {
            li_log_warn("x2x3: %s.max_destinations (%zu) reached: no sender for %s, its "
                        "X2/X3 is not delivered", r->prefix, r->max_senders, dests[i].address);
            continue;
        }
        char errstr[512];
        x2x3_sender *s = x2x3_sender_new_to(r->cfg, r->prefix, dests[i].address, errstr,
                                            sizeof errstr);
        if (!s) {
            li_log_warn("x2x3: no sender for a destination: %s", errstr);
            continue;
        }
        pthread_mutex_lock(&r->mu);
        dest_sender *d = &r->senders[r->n_senders++];
        snprintf(d->address, sizeof d->address, "%s", dests[i].address);
        d->sender = s;
        d->retired = 0;
        pthread_mutex_unlock(&r->mu);
    }
}

/* Routes every DID of the NE to the sender of its address and retires the senders no
 * destination names any more; the caller holds rebuild_mu. */
static void rebuild(x2x3_router *r)
{
    size_t cap = 16, n;
    x1_destination *dests = NULL;
    for (;;) {
        x1_destination *grown = realloc(dests, cap * sizeof *dests);
        if (!grown) {
            li_log_error("x2x3: out of memory routing destinations");
            free(dests);
            return;
        }
        dests = grown;
        if ((n = x1_ne_list_destinations(r->ne, dests, cap)) <= cap)
            break;
        cap = n;
    }
    start_senders(r, dests, n);
    route *routes = n ? calloc(n, sizeof *routes) : NULL;
    if (n && !routes) {
        li_log_error("x2x3: out of memory routing destinations");
        free(dests);
        return;
    }
    size_t n_routes = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n_senders; i++)
        r->senders[i].retired = 1;
    for (size_t i = 0; i < n; i++) {
        dest_sender *d = sender_at(r, dests[i].address);
        if (!d)
            continue;
        d->retired = 0;
        memcpy(routes[n_routes].did, dests[i].did, 16);
        routes[n_routes].delivery = dests[i].delivery;
        routes[n_routes++].sender = d->sender;
    }
    route *old = r->routes;
    r->routes = routes;
    r->n_routes = n_routes;
    pthread_mutex_unlock(&r->mu);
    free(old);
    free(dests);
}

static void add_stats(x2x3_sender_stats *sum, const x2x3_sender_stats *x)
{
    sum->sent_pdus += x->sent_pdus;
    sum->sent_bytes += x->sent_bytes;
    sum->dropped_pdus += x->dropped_pdus;
    sum->reconnects += x->reconnects;
    sum->buffered_bytes += x->buffered_bytes;
    sum->connected += x->connected;
    sum->acked_pdus += x->acked_pdus;
    sum->unacknowledged_mode += x->unacknowledged_mode;
    sum->unacked_pdus += x->unacked_pdus;
}

/* Stops the retired senders that hold nothing more; the caller holds rebuild_mu. */
static void reap(x2x3_router *r)
{
    for (size_t i = 0; i < r->n_senders;) {
        x2x3_sender_stats st;
        x2x3_sender_stats_get(r->senders[i].sender, &st);
        pthread_mutex_lock(&r->mu);
        /* Retired means no route leads to it, so nothing can be queued after this. */
        int done = r->senders[i].retired && st.buffered_bytes == 0;
        x2x3_sender *s = r->senders[i].sender;
        if (done) {
            st.connected = 0;
            add_stats(&r->stopped, &st);
            r->senders[i] = r->senders[--r->n_senders];
        }
        pthread_mutex_unlock(&r->mu);
        if (done)
            x2x3_sender_free(s);
        else
            i++;
    }
}

static void *reaper_thread(void *arg)
{
    x2x3_router *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        while (!r->stop && pthread_cond_timedwait(&r->stop_cond, &r->mu, &until) != ETIMEDOUT) {
        }
        int stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            return NULL;
        pthread_mutex_lock(&r->rebuild_mu);
        reap(r);
        pthread_mutex_unlock(&r->rebuild_mu);
    }
}

/* Runs on the X1 thread that made the change, before the NE answers the request. */
static void on_change(void *ctx, const x1_ne_change *change)
{
    x2x3_router *r = ctx;
    if (change->kind != X1_NE_DESTINATION_CHANGED)
        return;
    pthread_mutex_lock(&r->rebuild_mu);
    rebuild(r);
    reap(r);
    pthread_mutex_unlock(&r->rebuild_mu);
}

typedef struct copy_ctx {
    li_config *to;
    const char *prefix;
} copy_ctx;

static li_err copy_key(void *ctx, const char *key, const char *value)
{
    const copy_ctx *c = ctx;
    char full[256];
    if ((size_t)snprintf(full, sizeof full, "%s.%s", c->prefix, key) >= sizeof full)
        return LI_ERR_INVAL;
    return li_config_set(c->to, full, value);
}

x2x3_router *x2x3_router_new(const li_config *cfg, const char *prefix, x1_ne *ne,
                             char *errstr, size_t errstr_size)
{
    char key[256];
    x2x3_router *r = calloc(1, sizeof *r);
    if (!r || strlen(prefix) >= sizeof r->prefix) {
        snprintf(errstr, errstr_size, r ? "prefix too long" : "out of memory");
        free(r);
        return NULL;
    }
    snprintf(r->prefix, sizeof r->prefix, "%s", prefix);
    pthread_mutex_init(&r->rebuild_mu, NULL);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->stop_cond, NULL);

    snprintf(key, sizeof key, "%s.address", prefix);
    const char *fixed = li_config_get(cfg, key, NULL);
    if (fixed) {
        if (strlen(fixed) >= sizeof r->senders[0].address) {
            snprintf(errstr, errstr_size, "%s too long", key);
            goto fail;
        }
        if (!(r->senders = calloc(1, sizeof *r->senders))) {
            snprintf(errstr, errstr_size, "out of memory");
            goto fail;
        }
        if (!(r->senders[0].sender = x2x3_sender_new(cfg, prefix, errstr, errstr_size)))
            goto fail;
        strcpy(r->senders[0].address, fixed);
        r->n_senders = 1;
        r->fixed = 1;
        return r;
    }
    if (!ne) {
        snprintf(errstr, errstr_size, "%s.address is required without X1", prefix);
        goto fail;
    }
    int64_t max;
    snprintf(key, sizeof key, "%s.max_destinations", prefix);
    if (li_config_get_int(cfg, key, 16, 1, 1024, &max, errstr, errstr_size) != LI_OK ||
        x2x3_sender_check(cfg, prefix, errstr, errstr_size) != LI_OK)
        goto fail;
    r->max_senders = (size_t)max;
    r->senders = calloc(r->max_senders, sizeof *r->senders);
    r->cfg = li_config_new();
    snprintf(key, sizeof key, "%s.", prefix);
    copy_ctx cc = { r->cfg, prefix };
    if (!r->senders || !r->cfg || li_config_each(cfg, key, copy_key, &cc) != LI_OK) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    if (pthread_create(&r->reaper, NULL, reaper_thread, r) != 0) {
        snprintf(errstr, errstr_size, "cannot start the router's thread");
        goto fail;
    }
    r->reaper_started = 1;
    r->ne = ne;
    pthread_mutex_lock(&r->rebuild_mu);
    rebuild(r);
    pthread_mutex_unlock(&r->rebuild_mu);
    x1_ne_on_change(ne, on_change, r);
    return r;
fail:
    x2x3_router_free(r);
    return NULL;
}

static int accepts(x1_delivery delivery, uint16_t pdu_type)
{
    return delivery == X1_DELIVERY_X2_AND_X3 ||
           (delivery == X1_DELIVERY_X2_ONLY && pdu_type == X2X3_PDU_X2) ||
           (delivery == X1_DELIVERY_X3_ONLY && pdu_type == X2X3_PDU_X3);
}

li_err x2x3_router_send(x2x3_router *r, const uint8_t (*dids)[16], size_t n_dids,
                        const x2x3_record *rec)
{
    if (r->fixed)
        return x2x3_sender_send(r->senders[0].sender, rec);
    li_err e = LI_OK;
    x2x3_sender *sent[X1_MAX_DIDS];
    size_t n_sent = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t d = 0; d < n_dids && d < X1_MAX_DIDS; d++) {
        size_t i = 0;
        while (i < r->n_routes && memcmp(r->routes[i].did, dids[d], 16) != 0)
            i++;
        if (i == r->n_routes || !accepts(r->routes[i].delivery, rec->pdu_type))
            continue;
        /* Two destinations at one address: one copy on its one connection. */
        size_t k = 0;
        while (k < n_sent && sent[k] != r->routes[i].sender)
            k++;
        if (k < n_sent)
            continue;
        sent[n_sent++] = r->routes[i].sender;
        li_err one = x2x3_sender_send(r->routes[i].sender, rec);
        if (one != LI_OK)
            e = one;
    }
    pthread_mutex_unlock(&r->mu);
    if (n_sent == 0) {
        atomic_fetch_add(&r->unrouted, 1);
        return LI_ERR_NOT_FOUND;
    }
    return e;
}

li_err x2x3_router_flush(x2x3_router *r, int timeout_ms)
{
    uint64_t until = li_mono_ns() + (uint64_t)timeout_ms * 1000000u;
    li_err e = LI_OK;
    pthread_mutex_lock(&r->rebuild_mu);   /* the senders stay while they are flushed */
    for (size_t i = 0; i < r->n_senders && e == LI_OK; i++) {
        uint64_t now = li_mono_ns();
        int left = now < until ? (int)((until - now) / 1000000u) : 0;
        e = x2x3_sender_flush(r->senders[i].sender, left);
    }
    pthread_mutex_unlock(&r->rebuild_mu);
    return e;
}

void x2x3_router_stats_get(x2x3_router *r, x2x3_router_stats *out)
{
    memset(out, 0, sizeof *out);
    out->unrouted = atomic_load(&r->unrouted);
    pthread_mutex_lock(&r->mu);
    out->x = r->stopped;
    for (size_t i = 0; i < r->n_senders; i++) {
        x2x3_sender_stats x;
        x2x3_sender_stats_get(r->senders[i].sender, &x);
        add_stats(&out->x, &x);
    }
    out->senders = r->n_senders;
    pthread_mutex_unlock(&r->mu);
}

void x2x3_router_put_metrics(x2x3_router *r, li_buf *b, const char *prefix)
{
    static const struct { const char *suffix, *type, *help; } fam[] = {
        { "destination_connected", "gauge", "1 while connected to this delivery address" },
        { "destination_buffered_bytes", "gauge", "Bytes held until acknowledged" },
        { "destination_acked_pdus_total", "counter", "PDUs acknowledged by the ingest" },
        { "destination_dropped_pdus_total", "counter", "PDUs dropped, buffer full" },
        { "destination_unacknowledged_mode", "gauge",
          "1 when this address is served in unacknowledged mode (x2x3.unacknowledged)" },
        { "destination_unacknowledged_pdus_total", "counter",
          "PDUs released once written, without an acknowledgement" },
    };
    pthread_mutex_lock(&r->mu);
    for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
        char name[128];
        snprintf(name, sizeof name, "%s_%s", prefix, fam[f].suffix);
        li_metrics_put_family(b, name, fam[f].type, fam[f].help);
        for (size_t i = 0; i < r->n_senders; i++) {
            x2x3_sender_stats st;
            x2x3_sender_stats_get(r->senders[i].sender, &st);
            char labels[320] = "";
            li_metrics_label(labels, sizeof labels, "address", r->senders[i].address);
            const uint64_t v[] = { (uint64_t)st.connected, st.buffered_bytes, st.acked_pdus,
                                   st.dropped_pdus, (uint64_t)st.unacknowledged_mode,
                                   st.unacked_pdus };
            li_metrics_put_labeled(b, name, labels, v[f]);
        }
    }
    pthread_mutex_unlock(&r->mu);
}

void x2x3_router_free(x2x3_router *r)
{
    if (!r)
        return;
    if (r->reaper_started) {
        pthread_mutex_lock(&r->mu);
        r->stop = 1;
        pthread_cond_signal(&r->stop_cond);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->reaper, NULL);
    }
    for (size_t i = 0; i < r->n_senders; i++)
        x2x3_sender_free(r->senders[i].sender);
    free(r->senders);
    free(r->routes);
    li_config_free(r->cfg);
    pthread_cond_destroy(&r->stop_cond);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->rebuild_mu);
    free(r);
}
