/* A third-party POI against the real chain (issue 17): limf-thirdparty-poi sends X2/X3 as
 * other implementations of TS 103 221-2 do - two connections behind one certificate,
 * numbering per (XID, correlation ID) so that they repeat each other's numbers, capture
 * timestamps that do not grow across connections, payload format 17, the version
 * swapped, 12-octet timestamps, the matched target in XML, no keepalives, a direction,
 * an attribute type and a PDU type of later editions - to a real limf-ingest (default
 * configuration) with a real Kafka broker and a real limf-mediator. Then:
 *   - after a quiet period longer than the old 60 s idle timeout, each connection still
 *     answers a keepalive: nothing was cut, not for the quiet, not for unknown values;
 *   - limf.xpdu holds every PDU the POI sent exactly once, byte for byte, plus one
 *     unknown-value POI event per connection and value;
 *   - limf.hi.<destination> holds every X2/X3 PDU's content exactly once: the mediator
 *     dropped none of them as a "resend";
 *   - the ingest counted the unknown values and the variants, and closed nothing.
 *   x2x3_thirdparty <limf-mediator> <limf-thirdparty-poi> [quiet seconds, default 65] */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin.pb-c.h"
#include "bench_med_gen.h"
#include "li_bytes.h"
#include "li_log.h"
#include "li_time.h"
#include "li_tls.h"
#include "med_util.h"
#include "x2x3_pdu.h"
#include "x2x3_util.h"

#define PROCESSES 2
#define SESSIONS 8
#define PER_SESSION 5
#define MAX_PDUS (PROCESSES * (SESSIONS * PER_SESSION + 2))
#define CHECK MED_IT_CHECK

typedef struct sent {
    int proc, seq;
    unsigned type, format;
    unsigned long long cid;
    char marker[64];
    int in_kafka, in_hi;
} sent;

static sent pdus[MAX_PDUS];
static size_t n_pdus;
static size_t events, strangers;

static void read_manifest(const char *path)
{
    FILE *f = fopen(path, "r");
    CHECK(f, "no manifest");
    while (n_pdus < MAX_PDUS) {
        sent *s = &pdus[n_pdus];
        if (fscanf(f, "%d %llu %d %u %u %63s", &s->proc, &s->cid, &s->seq, &s->type, &s->format,
                   s->marker) != 6)
            break;
        n_pdus++;
    }
    fclose(f);
    CHECK(n_pdus == MAX_PDUS, "manifest holds %zu PDUs, want %d", n_pdus, MAX_PDUS);
}

/* The sent PDU whose marker the bytes hold, or NULL. */
static sent *find(const uint8_t *p, size_t len)
{
    sent *found = NULL;
    for (size_t i = 0; i < n_pdus; i++) {
        size_t m = strlen(pdus[i].marker);
        for (size_t j = 0; j + m <= len && !found; j++)
            if (memcmp(p + j, pdus[i].marker, m) == 0 && (j + m == len || p[j + m] < '0' ||
                                                          p[j + m] > '9'))
                found = &pdus[i];
        if (found)
            return found;
    }
    return NULL;
}

static void on_xpdu(const Limf__XPdu *x, void *ctx)
{
    (void)ctx;
    if (x->pdu_type == X2X3_PDU_X2 && x->payload_format == X2X3_FORMAT_PROPRIETARY) {
        events += memmem(x->payload.data, x->payload.len, "unknown-value", 13) != NULL;
        return;
    }
    sent *s = find(x->payload.data, x->payload.len);
    uint64_t cid = x->correlation_id.len == 8 ? li_get_be64(x->correlation_id.data) : 0;
    if (!s || !x->has_seq || x->seq != (uint32_t)s->seq || cid != s->cid ||
        x->pdu_type != s->type || x->payload_format != s->format ||
        x->n_matched_targets != 1 || strstr(x->matched_targets[0], "<sipUri>") == NULL) {
        strangers++;
        return;
    }
    s->in_kafka++;
}

/* Whether the mediator can mediate what the PDU carries: SIP on X2, MSRP on X3, POI
 * events. Anything else (format 17, a PDU type of a later edition) reaches the agency as
 * an HI1 alarm naming the reason, not as content. */
static int mediated(const sent *s)
{
    return (s->type == X2X3_PDU_X2 && (s->format == X2X3_FORMAT_SIP ||
                                       s->format == X2X3_FORMAT_PROPRIETARY)) ||
           (s->type == X2X3_PDU_X3 && s->format == X2X3_FORMAT_MSRP);
}

static size_t alarms;   /* HI1 alarms "unsupported-payload-format" / "-pdu-type" */

static void on_hi(void *ctx, const rd_kafka_message_t *m, const Limf__HiRecord *r)
{
    (void)ctx;
    (void)m;
    if (r->kind == LIMF__HI_RECORD__KIND__HI1 && r->report_reason &&
        strncmp(r->report_reason, "unsupported-p", 13) == 0)
        alarms++;
    sent *s = find(r->payload.data, r->payload.len);
    if (s)
        s->in_hi++;
}

static pid_t run_poi(const char *bin, uint16_t port, const char *manifest, const char *xid,
                     const char *quiet)
{
    const char *pki = x2x3t_env("LIMF_PKI_DIR");
    char to[64], cert[512], key[512], ca[512], procs[8], sess[8], per[8];
    snprintf(to, sizeof to, "127.0.0.1:%u", port);
    snprintf(cert, sizeof cert, "%s/poi-test.pem", pki);
    snprintf(key, sizeof key, "%s/poi-test.key", pki);
    snprintf(ca, sizeof ca, "%s/ca.pem", pki);
    snprintf(procs, sizeof procs, "%d", PROCESSES);
    snprintf(sess, sizeof sess, "%d", SESSIONS);
    snprintf(per, sizeof per, "%d", PER_SESSION);
    pid_t pid = fork();
    if (pid == 0) {
        execl(bin, bin, "--to", to, "--cert", cert, "--key", key, "--ca", ca, "--xid", xid,
              "--processes", procs, "--sessions", sess, "--per-session", per, "--quiet", quiet,
              "--target", "sip:user0@ims.example.net", "--manifest", manifest, (char *)NULL);
        _exit(127);
    }
    return pid;
}

int main(int argc, char **argv)
{
    li_log_init("x2x3_thirdparty", LI_LOG_WARN, 0);
    CHECK(argc >= 3, "usage: x2x3_thirdparty <limf-mediator> <limf-thirdparty-poi> [quiet]");
    med_it_init(2, argv, "x2x3_thirdparty");   /* argv[1]: the mediator; the rest is ours */
    const char *quiet = argc > 3 ? argv[3] : "65";

    /* The warrant: XID of med_gen warrant 0 (iri+cc), destination lea-tp. */
    li_config *cfg = med_it_client_config();
    char topic_xpdu[256], topic_admin[256];
    li_kafka_topic(cfg, "limf.xpdu", topic_xpdu, sizeof topic_xpdu);
    li_kafka_topic(cfg, "limf.admin", topic_admin, sizeof topic_admin);
    rd_kafka_t *p = med_it_producer(cfg);
    med_it_topics(p, topic_xpdu, 8, topic_admin);
    uint8_t buf[512], xid[16];
    char key[160], xid_text[40];
    size_t n = med_gen_destination("lea-tp", buf, key);
    med_it_produce(p, topic_admin, key, strlen(key), buf, n);
    n = med_gen_warrant(0, "lea-tp", 0, buf, key);
    med_it_produce(p, topic_admin, key, strlen(key), buf, n);
    /* The third-party POI is registered with its certificate, as the ADMF does. */
    Limf__InterceptPoint ip = LIMF__INTERCEPT_POINT__INIT;
    uint8_t fp[32];
    char pem[512];
    snprintf(pem, sizeof pem, "%s/poi-test.pem", x2x3t_env("LIMF_PKI_DIR"));
    CHECK(li_tls_file_fingerprint(pem, fp) == LI_OK, "fingerprint of %s", pem);
    ip.id = "poi-test";
    ip.cert_sha256.data = fp;
    ip.cert_sha256.len = sizeof fp;
    n = limf__intercept_point__pack(&ip, buf);
    med_it_produce(p, topic_admin, "poi/poi-test", strlen("poi/poi-test"), buf, n);
    CHECK(rd_kafka_flush(p, 20000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush warrant");
    med_gen_xid(0, xid);
    li_uuid_format(xid, xid_text);
    med_it_start(0, NULL);

    /* The ingest as deployed: no timeout settings of the test's own. */
    x2x3t_ingest ing = { 0 };
    x2x3t_ingest_start(&ing, 0, NULL);
    char manifest[512];
    snprintf(manifest, sizeof manifest, "%s/manifest.txt", ing.dir);
    uint64_t t0 = li_mono_ns();
    pid_t poi = run_poi(argv[2], ing.port, manifest, xid_text, quiet);
    int status;
    CHECK(waitpid(poi, &status, 0) == poi, "waitpid");
    printf("third-party POI done after %.0f s, exit %d\n", (double)(li_mono_ns() - t0) / 1e9,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "a connection was closed or its keepalive not answered");
    read_manifest(manifest);

    /* limf.xpdu: every PDU once, plus the unknown-value events. */
    size_t got = x2x3t_consume(n_pdus + 2 * PROCESSES, 60, 2000, on_xpdu, NULL);
    size_t missing = 0, twice = 0;
    for (size_t i = 0; i < n_pdus; i++) {
        missing += pdus[i].in_kafka == 0;
        twice += pdus[i].in_kafka > 1;
    }
    printf("limf.xpdu: %zu records: %zu PDUs missing, %zu twice, %zu unexpected, %zu "
           "unknown-value events\n", got, missing, twice, strangers, events);
    CHECK(missing == 0 && twice == 0 && strangers == 0, "limf.xpdu is not what the POI sent");
    /* Per connection: PDU type 9 and payload direction 9 (attribute 99 rides with the
     * direction, reported by its first unknown value). */
    CHECK(events == 2 * PROCESSES, "%zu unknown-value events, want %d", events, 2 * PROCESSES);

    char text[16384];
    CHECK(x2x3t_http_get(ing.metrics_port, "/metrics", text, sizeof text) == 200, "metrics");
    long long per_conn[] = {
        x2x3t_metric(text, "limf_ingest_unknown_total{field=\"pdu_type\"}"),
        x2x3t_metric(text, "limf_ingest_unknown_total{field=\"payload_direction\"}"),
        x2x3t_metric(text, "limf_ingest_unknown_total{field=\"attribute\"}"),
    };
    for (size_t i = 0; i < 3; i++)
        CHECK(per_conn[i] == PROCESSES, "unknown value %zu counted %lld times", i, per_conn[i]);
    CHECK(x2x3t_metric(text, "limf_ingest_variants_total{variant=\"version_swapped\"}") ==
              PROCESSES * (SESSIONS / 4) * PER_SESSION &&
          x2x3t_metric(text, "limf_ingest_variants_total{variant=\"timestamp_12\"}") ==
              PROCESSES * (SESSIONS / 4) * PER_SESSION &&
          x2x3t_metric(text, "limf_ingest_variants_total{variant=\"target_text\"}") == 0,
          "variants miscounted");
    CHECK(x2x3t_metric(text, "limf_ingest_connections_total") == PROCESSES &&
          strstr(text, "limf_ingest_errors_total{") == NULL,
          "the ingest closed or refused a connection");

    /* limf.hi.lea-tp: every mediated PDU's content once, one alarm for each of the others;
     * no PDU taken for a resend. */
    size_t unmediated = 0;
    for (size_t i = 0; i < n_pdus; i++)
        unmediated += !mediated(&pdus[i]);
    uint64_t deadline = li_mono_ns() + 60 * 1000000000ULL;
    const char *dests[] = { "lea-tp" };
    size_t in_hi;
    do {
        sleep(2);
        for (size_t i = 0; i < n_pdus; i++)
            pdus[i].in_hi = 0;
        alarms = 0;
        med_it_read_hi(cfg, dests, 1, on_hi, NULL);
        in_hi = 0;
        for (size_t i = 0; i < n_pdus; i++)
            in_hi += pdus[i].in_hi > 0;
    } while ((in_hi < n_pdus - unmediated || alarms < unmediated) && li_mono_ns() < deadline);
    missing = twice = 0;
    for (size_t i = 0; i < n_pdus; i++) {
        if (!mediated(&pdus[i]))
            continue;
        if (pdus[i].in_hi != 1)
            fprintf(stderr, "  %s: %d HI records\n", pdus[i].marker, pdus[i].in_hi);
        missing += pdus[i].in_hi == 0;
        twice += pdus[i].in_hi > 1;
    }
    long long resent = med_it_metric(0, "limf_mediator_resent_copies");
    printf("limf.hi.lea-tp: %zu of %zu mediated PDUs delivered, %zu twice; %zu alarms for %zu "
           "others; mediator resent copies %lld\n",
           n_pdus - unmediated - missing, n_pdus - unmediated, twice, alarms, unmediated, resent);
    CHECK(missing == 0 && twice == 0, "the mediator lost or repeated third-party PDUs");
    CHECK(alarms == unmediated, "%zu alarms for %zu PDUs the mediator cannot mediate", alarms,
          unmediated);
    CHECK(resent == 0, "the mediator dropped %lld PDUs as resends", resent);

    CHECK(med_it_term(0) == 0, "limf-mediator did not exit cleanly");
    CHECK(x2x3t_ingest_stop(&ing, SIGTERM) == 0, "limf-ingest exit");
    li_kafka_destroy(p, 5000);
    li_config_free(cfg);
    printf("OK: %zu third-party PDUs delivered once each through ingest, Kafka and mediator\n",
           n_pdus);
    return 0;
}
