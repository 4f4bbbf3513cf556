/* X1 benchmark: codec throughput, ADMF -> NE request rate over mutual TLS (one
 * connection per request, as limf-admf does), and POI identity matching with many tasks.
 *   bench_x1 [tasks]   (default 10000; needs openssl and deploy/pki.sh) */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "li_config.h"
#include "li_ident.h"
#include "li_log.h"
#include "li_time.h"
#include "x1_client.h"
#include "x1_ne.h"
#include "x1_xml.h"

static double secs_since(uint64_t t0)
{
    return (double)(li_mono_ns() - t0) / 1e9;
}

static void make_task(x1_task *t, unsigned i, const uint8_t did[16])
{
    memset(t, 0, sizeof *t);
    li_uuid_random(t->xid);
    memcpy(t->dids[0], did, 16);
    t->n_dids = 1;
    t->delivery = X1_DELIVERY_X2_AND_X3;
    t->n_targets = 2;
    strcpy(t->targets[0].type, "sip-uri");
    snprintf(t->targets[0].value, sizeof t->targets[0].value, "sip:user%u@example.com", i);
    strcpy(t->targets[1].type, "e164");
    snprintf(t->targets[1].value, sizeof t->targets[1].value, "+4930%07u", i);
}

static void bench_codec(void)
{
    static x1_request req, out;
    uint8_t did[16] = { 1 };
    x1_header_init(&req.hdr, "limf-admf", "poi-1");
    req.type = X1_MSG_ACTIVATE_TASK;
    make_task(&req.task, 1, did);
    li_buf b;
    li_buf_init(&b, 0);
    enum { N = 20000 };
    uint64_t t0 = li_mono_ns();
    for (int i = 0; i < N; i++) {
        li_buf_reset(&b);
        x1_xml_request_encode(&req, 1, &b);
    }
    double enc = secs_since(t0);
    size_t n;
    t0 = li_mono_ns();
    for (int i = 0; i < N; i++)
        x1_xml_request_decode(b.data, b.len, &out, 1, &n);
    double dec = secs_since(t0);
    printf("codec: ActivateTask (%zu bytes) encode %.0f/s, decode %.0f/s\n", b.len, N / enc,
           N / dec);
    li_buf_free(&b);
}

int main(int argc, char **argv)
{
    unsigned tasks = argc > 1 ? (unsigned)atoi(argv[1]) : 10000;
    char dir[] = "/tmp/limf-bench-x1-XXXXXX", cmd[512], p[512], err[512];
    signal(SIGPIPE, SIG_IGN);
    li_log_init("bench_x1", LI_LOG_ERROR, 0);
    if (!mkdtemp(dir))
        return 1;
    const char *src = getenv("LIMF_SOURCE_DIR") ? getenv("LIMF_SOURCE_DIR") : SOURCE_DIR;
    snprintf(cmd, sizeof cmd, "%s/deploy/pki.sh %s >/dev/null", src, dir);
    if (system(cmd) != 0)
        return 1;
    bench_codec();

    li_config *cfg = li_config_new();
    snprintf(p, sizeof p, "%s/poi-test.pem", dir);
    li_config_set(cfg, "ne.tls.cert", p);
    snprintf(p, sizeof p, "%s/poi-test.key", dir);
    li_config_set(cfg, "ne.tls.key", p);
    snprintf(p, sizeof p, "%s/ca.pem", dir);
    li_config_set(cfg, "ne.tls.ca", p);
    li_config_set(cfg, "ne.allowed_clients", "admf");
    li_config_set(cfg, "admf.tls.ca", p);
    snprintf(p, sizeof p, "%s/admf.pem", dir);
    li_config_set(cfg, "admf.tls.cert", p);
    snprintf(p, sizeof p, "%s/admf.key", dir);
    li_config_set(cfg, "admf.tls.key", p);
    li_config_set(cfg, "admf.max_response_bytes", "1000000000");
    x1_ne *ne = x1_ne_new(cfg, "ne", err, sizeof err);
    x1_client *c = ne ? x1_client_new(cfg, "admf", err, sizeof err) : NULL;
    if (!c) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    char url[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/X1/NE", x1_ne_port(ne));
    uint8_t did[16];
    li_uuid_random(did);
    x1_client_create_destination(c, url, "limf-ne", did, "127.0.0.1:4443", X1_DELIVERY_X2_AND_X3,
                                 err, sizeof err);

    /* ActivateTask round trips, each on a fresh mutual-TLS connection. */
    x1_task t;
    uint64_t t0 = li_mono_ns();
    for (unsigned i = 0; i < tasks; i++) {
        make_task(&t, i, did);
        if (x1_client_activate(c, url, "limf-ne", &t, err, sizeof err) != LI_OK) {
            fprintf(stderr, "activate: %s\n", err);
            return 1;
        }
    }
    double s = secs_since(t0);
    printf("client: %u ActivateTask over mutual TLS (new connection each) in %.2f s: %.0f/s, "
           "%.2f ms each\n", tasks, s, tasks / s, 1000 * s / tasks);

    /* Reconciliation's question: every XID (ListAllDetails). */
    uint8_t (*xids)[16] = malloc((size_t)tasks * 16);
    size_t n = 0;
    t0 = li_mono_ns();
    li_err e = x1_client_list_tasks(c, url, "limf-ne", xids, tasks, &n, err, sizeof err);
    printf("client: list_tasks (ListAllDetails) of %zu tasks: %s in %.3f s\n", n,
           li_err_str(e), secs_since(t0));
    free(xids);

    /* The POI's question, per SIP message: which tasks match this identity? */
    enum { LOOKUPS = 1000000 };
    char canon[LI_IDENT_MAX];
    x1_ne_match m[4];
    size_t hits = 0;
    t0 = li_mono_ns();
    for (unsigned i = 0; i < LOOKUPS; i++) {
        char ident[64];
        snprintf(ident, sizeof ident, "sip:user%u@example.com", i % (2 * tasks));
        li_ident_canon(ident, strlen(ident), canon, sizeof canon);
        hits += x1_ne_match_identity(ne, canon, m, 4);
    }
    s = secs_since(t0);
    printf("NE: %d identity matches (canonicalise + lookup) against %u tasks in %.2f s: "
           "%.2f M/s (%zu hits)\n", LOOKUPS, tasks, s, LOOKUPS / s / 1e6, hits);

    x1_client_free(c);
    x1_ne_free(ne);
    li_config_free(cfg);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
