/* limf-handover against the real broker, real limf-lemf processes and mutual TLS:
 *   ho_delivery outage   LEMF killed mid-stream, down 10 s (CI-shortened from 30 s), back:
 *                        every record delivered, in order
 *   ho_delivery kill9    limf-handover killed with SIGKILL mid-stream and restarted:
 *                        nothing lost, a repeat only with identical seq and bytes
 *   ho_delivery silent   a LEMF that never answers keep-alives is dropped and retried,
 *                        nothing is acknowledged until one answers
 *   ho_delivery two      two destinations, one down: the other (HI2 and HI3 on separate
 *                        connections to two LEMFs, pinned) keeps flowing; the down one (CA +
 *                        peer name) catches up when its LEMF appears; removal via tombstone
 *   ho_delivery halfsilent  HI2 answers keep-alives, HI3 does not: nothing acknowledged
 *                        until both answer
 *   ho_delivery trust    a LEMF whose certificate is not the pinned one is refused; with
 *                        handover.allow_plain_tcp a destination with transport tcp is
 *                        served over TCP, with a warning
 *   ho_delivery agencies the attacks on agency separation (docs/SECURITY.md, "Agencies"): a
 *                        destination deleted and re-created with the same id, and one
 *                        re-pointed to another LEMF, deliver none of the old backlog to the
 *                        new LEMF (whose topic and group are gone); re-pointed with the
 *                        backlog kept, the new LEMF gets it; a tcp destination without
 *                        handover.allow_plain_tcp delivers nothing and is alarmed; by CA
 *                        without peer_name, a certificate that does not name the HI host
 *                        is refused
 * The test produces HiRecords and Destination records itself, and checks the LEMFs' raw
 * byte streams with the PS-PDU decoder: for every (LIID, CIN), sequence numbers 0..n-1 all
 * present, first arrivals in order, repeats byte-identical, contents as produced. */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin.pb-c.h"
#include "hi.pb-c.h"
#include "ho_pdu.h"
#include "li_kafka.h"
#include "li_log.h"
#include "li_time.h"
#include "li_tls.h"
#include "ready_port.h"

#define STREAMS 3
#define MAX_SEQ 1000

static char dir[256], bin[512], pki[512];
static const char *prefix;
static li_config *cfg;
static rd_kafka_t *producer;

/* Children still running, killed when the test fails so that nothing is left behind. */
static pid_t children[16];

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
        if (children[i] > 0)
            kill(children[i], SIGKILL);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void msleep(int ms)
{
    usleep((useconds_t)ms * 1000);
}

/* ---- processes ---- */

static pid_t spawn(const char *log, char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, log);
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
        if (children[i] <= 0) {
            children[i] = pid;
            break;
        }
    return pid;
}

static void stop(pid_t pid, int sig)
{
    if (pid <= 0)
        return;
    kill(pid, sig);
    waitpid(pid, NULL, 0);
    for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
        if (children[i] == pid)
            children[i] = 0;
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &len);
    close(s);
    return ntohs(a.sin_port);
}

/* A LEMF on a fixed port (so that it can come back where it was), raw bytes to raw_name;
 * TLS with the certificate of role, or plain TCP when role is NULL. */
static const char *lemf_host = "127.0.0.1";   /* where LEMFs listen and destinations point */

static pid_t start_lemf(const char *role, int port, const char *raw_name, int answer)
{
    char listen[64], raw[512], cert[600], key[600], ca[600], ans[64], log[128];
    snprintf(listen, sizeof listen, "lemf.listen=%s:%d", lemf_host, port);
    snprintf(raw, sizeof raw, "lemf.raw=%s/%s", dir, raw_name);
    snprintf(cert, sizeof cert, "lemf.tls.cert=%s/%s.pem", pki, role ? role : "lemf");
    snprintf(key, sizeof key, "lemf.tls.key=%s/%s.key", pki, role ? role : "lemf");
    snprintf(ca, sizeof ca, "lemf.tls.ca=%s/ca.pem", pki);
    snprintf(ans, sizeof ans, "lemf.answer_keepalive=%s", answer ? "true" : "false");
    snprintf(log, sizeof log, "%s.log", raw_name);
    char path[600];
    snprintf(path, sizeof path, "%s/bin/limf-lemf", bin);
    char *argv[] = { path, "-o", listen, "-o", raw, "-o", ans, "-o", "lemf.out=/dev/null",
                     "-o", cert, "-o", key, "-o", ca, NULL };
    if (!role) /* plain TCP */
        argv[9] = "--tcp", argv[10] = NULL;
    pid_t pid = spawn(log, argv);
    /* Ready when the port accepts. */
    for (int i = 0; i < 100; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        inet_pton(AF_INET, lemf_host, &a.sin_addr);
        int ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
        close(s);
        if (ok)
            return pid;
        msleep(50);
    }
    die("limf-lemf did not start on port %d", port);
}

static int metrics_port;

static pid_t start_handover(const char *log)
{
    char conf[512], path[600];
    snprintf(conf, sizeof conf, "%s/handover.conf", dir);
    snprintf(path, sizeof path, "%s/bin/limf-handover", bin);
    char *argv[] = { path, "-c", conf, NULL };
    char ready[600];
    snprintf(ready, sizeof ready, "%s/handover.ready", dir);
    unlink(ready);
    pid_t pid = spawn(log, argv);
    for (int i = 0; i < 200; i++) {
        if ((metrics_port = (int)ready_port(ready, "metrics")) >= 0)
            return pid;
        msleep(50);
    }
    die("limf-handover did not start (see %s/%s)", dir, log);
}

/* One metric of one destination from /metrics; -1 when absent. */
static double metric(const char *name, const char *dest)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)metrics_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return -1;
    }
    static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
    if (write(s, req, sizeof req - 1) < 0) {
        close(s);
        return -1;
    }
    static char resp[65536];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof resp - 1 && (r = read(s, resp + n, sizeof resp - 1 - n)) > 0)
        n += (size_t)r;
    resp[n] = 0;
    close(s);
    char needle[256];
    snprintf(needle, sizeof needle, "\n%s{destination=\"%s\"} ", name, dest);
    const char *p = strstr(resp, needle);
    return p ? atof(p + strlen(needle)) : -1;
}

/* ---- Kafka ---- */

static void produce_to(const char *topic, const char *key, const void *value, size_t len)
{
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic),
                                  RD_KAFKA_V_KEY(key, strlen(key)),
                                  RD_KAFKA_V_VALUE((void *)value, len),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(producer, 10);
    if (e)
        die("produce: %s", rd_kafka_err2str(e));
    rd_kafka_poll(producer, 0);
}

static void produce(const char *base, const char *key, const void *value, size_t len)
{
    char topic[256];
    li_kafka_topic(cfg, base, topic, sizeof topic);
    produce_to(topic, key, value, len);
}

static void flush(void)
{
    if (rd_kafka_flush(producer, 10000))
        die("producer flush timed out");
}

/* Destination <id> to the LEMF(s) on port (HI2) and port3 (HI3): pinned by fingerprint, or
 * by CA and name (by_ca 2: by CA, without a name). */
static const char *transport = "tls";

/* The topic suffix each destination id has now, as the ADMF would assign it: a fresh one
 * per put unless keep_suffix is set. */
static struct {
    char id[32], suffix[33];
} suffixes[16];
static int keep_suffix;

static const char *suffix_of(const char *id, int fresh)
{
    size_t i = 0;
    while (i < 16 && suffixes[i].id[0] && strcmp(suffixes[i].id, id) != 0)
        i++;
    if (i == 16)
        die("too many destinations");
    if (fresh || !suffixes[i].id[0]) {
        static unsigned n;
        snprintf(suffixes[i].id, sizeof suffixes[i].id, "%s", id);
        snprintf(suffixes[i].suffix, sizeof suffixes[i].suffix, "%08x%08x%016x", (unsigned)getpid(),
                 ++n, 0xd0u);
    }
    return suffixes[i].suffix;
}

static void hi_topic(const char *id, const char *suffix, char *out, size_t n)
{
    if (li_kafka_hi_topic(cfg, id, suffix, out, n) != LI_OK)
        die("hi topic of %s", id);
}

static void put_destination_split(const char *id, int port, int port3, const char *role,
                                  int by_ca)
{
    Limf__Destination d = LIMF__DESTINATION__INIT;
    char addr[64], addr3[64], pin[65], path[600], *pins[1] = { pin };
    static char ca_pem[16384];
    snprintf(addr, sizeof addr, "%s:%d", lemf_host, port);
    snprintf(addr3, sizeof addr3, "%s:%d", lemf_host, port3);
    d.id = (char *)id;
    d.topic_suffix = (char *)suffix_of(id, !keep_suffix);
    d.hi2_address = addr;
    d.hi3_address = addr3;
    d.transport = (char *)transport;
    d.operator_id = "OPERATOR-1";
    d.network_element_id = "limf-ho-test";
    d.delivery_country = "FR";
    if (!strcmp(transport, "tcp")) {
        /* no trust settings: plain TCP */
    } else if (by_ca) {
        snprintf(path, sizeof path, "%s/ca.pem", pki);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(ca_pem, 1, sizeof ca_pem - 1, f) : 0;
        if (f)
            fclose(f);
        ca_pem[n] = 0;
        d.ca_pem = ca_pem;
        d.peer_name = by_ca == 2 ? "" : (char *)role;
    } else {
        uint8_t fp[32];
        snprintf(path, sizeof path, "%s/%s.pem", pki, role);
        if (li_tls_file_fingerprint(path, fp) != LI_OK)
            die("fingerprint of %s", path);
        li_hex_encode(fp, 32, pin);
        d.n_pinned_sha256 = 1;
        d.pinned_sha256 = pins;
    }
    uint8_t buf[32768];
    size_t len = limf__destination__pack(&d, buf);
    char key[160];
    snprintf(key, sizeof key, "destination/%s", id);
    produce("limf.admin", key, buf, len);
    flush();
}

static void put_destination(const char *id, int port, const char *role, int by_ca)
{
    put_destination_split(id, port, port, role, by_ca);
}

static void remove_destination(const char *id)
{
    char key[160];
    snprintf(key, sizeof key, "destination/%s", id);
    produce("limf.admin", key, NULL, 0);
    flush();
}

/* The content of record idx of a stream: IRI (SIP) on even, CC (MSRP) on odd indexes. */
static void expected_content(const char *dest, int stream, uint32_t seq, char *out, size_t n)
{
    if (seq % 2 == 0)
        snprintf(out, n, "MESSAGE sip:target@example.com SIP/2.0\r\nX-Test: %s/%d/%u\r\n\r\n",
                 dest, stream, seq);
    else
        snprintf(out, n, "MSRP tr%u SEND\r\nMessage-ID: %s/%d/%u\r\n-------tr%u$\r\n", seq, dest,
                 stream, seq, seq);
}

static uint32_t next_seq[8][STREAMS];

/* n records for destination slot/id: IRI (SIP) and CC (MSRP) alternately, spread over
 * STREAMS (LIID, CIN) pairs; record idx of a stream has sequenceNumber idx / 2 on its
 * interface (HI2 and HI3 are numbered apart, TS 102 232-1). */
static void produce_records(int slot, const char *dest, int n, int gap_ms)
{
    char topic[256];
    hi_topic(dest, suffix_of(dest, 0), topic, sizeof topic);
    for (int i = 0; i < n; i++) {
        int stream = i % STREAMS;
        uint32_t idx = next_seq[slot][stream]++;
        char liid[32], key[64], content[256];
        snprintf(liid, sizeof liid, "LIID-%s", dest);
        snprintf(key, sizeof key, "%s/%d", liid, 100 + stream);
        expected_content(dest, stream, idx, content, sizeof content);
        Limf__HiRecord r = LIMF__HI_RECORD__INIT;
        r.liid = liid;
        r.auth_country = "DE";
        r.cin = 100 + (uint64_t)stream;
        r.seq = idx / 2;
        r.kind = idx % 2 ? LIMF__HI_RECORD__KIND__CC : LIMF__HI_RECORD__KIND__IRI;
        r.iri_type = idx == 0 ? 1 : 3;
        r.direction = 1;
        r.timestamp_ns = li_now_ns();
        r.payload_kind = idx % 2 ? "msrp" : "sip";
        r.payload.data = (uint8_t *)content;
        r.payload.len = strlen(content);
        uint8_t src[4] = { 192, 0, 2, 1 }, dst[4] = { 198, 51, 100, 7 };
        r.src_addr.data = src;
        r.src_addr.len = 4;
        r.dst_addr.data = dst;
        r.dst_addr.len = 4;
        r.stream_id = "sess-1";
        r.destination_id = (char *)dest;
        uint8_t buf[1024];
        produce_to(topic, key, buf, limf__hi_record__pack(&r, buf));
        if (gap_ms)
            msleep(gap_ms);
    }
    flush();
}

/* ---- checking what the LEMFs received ---- */

typedef struct seen {
    uint8_t *bytes[STREAMS][MAX_SEQ];
    size_t len[STREAMS][MAX_SEQ];
    uint32_t next[STREAMS];
    uint32_t next_kind[STREAMS][2]; /* split mode: next IRI (even) and CC (odd) index */
    int repeats, pdus;
} seen;

/* HI2 and HI3 on separate connections (files): order holds per connection, i.e. per kind,
 * and each file must carry only its kind (-1: any). */
static int split_kind[8];

static void seen_free(seen *s)
{
    for (int i = 0; i < STREAMS; i++)
        for (int k = 0; k < MAX_SEQ; k++)
            free(s->bytes[i][k]);
    memset(s, 0, sizeof *s);
}

/* A LEMF's raw file of the work directory into a static buffer; its length (0 when the
 * file does not exist yet). */
static size_t read_raw(const char *file, const uint8_t **data)
{
    static uint8_t buf[8 << 20];
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *fp = fopen(path, "rb");
    size_t len = fp ? fread(buf, 1, sizeof buf, fp) : 0;
    if (fp)
        fclose(fp);
    *data = buf;
    return len;
}

/* The next whole PS-PDU of a raw stream at *at, decoded into p (its bytes and length in
 * *raw, *pl); advances *at. 0 at the end (or before a PDU not yet complete). */
static int next_pdu(const char *file, const uint8_t *data, size_t len, size_t *at, ho_pdu *p,
                    const uint8_t **raw, size_t *pl)
{
    size_t used;
    if (*at >= len || ho_pdu_frame(data + *at, len - *at, len, pl) != LI_OK)
        return 0;
    if (ho_pdu_decode(data + *at, *pl, p, &used) != LI_OK)
        die("%s: undecodable PDU at %zu", file, *at);
    *raw = data + *at;
    *at += *pl;
    return 1;
}

/* Reads raw files in order; dies on any violation. Returns the PDUs seen per stream. */
static void check_raw(const char *dest, const char *const *files, size_t n_files, seen *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < STREAMS; i++)
        s->next_kind[i][1] = 1;
    for (size_t f = 0; f < n_files; f++) {
        const uint8_t *data, *raw;
        size_t len = read_raw(files[f], &data), at = 0, pl;
        ho_pdu p;
        while (next_pdu(files[f], data, len, &at, &p, &raw, &pl)) {
            if (p.payload == HO_PAYLOAD_IRI || p.payload == HO_PAYLOAD_CC) {
                int stream = (int)p.cin - 100, kind = p.payload == HO_PAYLOAD_CC;
                uint32_t idx = p.seq * 2 + (uint32_t)kind;
                char liid[32], want[256];
                snprintf(liid, sizeof liid, "LIID-%s", dest);
                if (stream < 0 || stream >= STREAMS || p.seq >= MAX_SEQ / 2 ||
                    p.liid.len != strlen(liid) || memcmp(p.liid.p, liid, p.liid.len))
                    die("%s: unexpected LIID/CIN %u", files[f], p.cin);
                expected_content(dest, stream, idx, want, sizeof want);
                if (p.content.len != strlen(want) || memcmp(p.content.p, want, p.content.len) ||
                    p.operator_id.len != 10 || memcmp(p.operator_id.p, "OPERATOR-1", 10) ||
                    p.delivery_cc.len != 2 || memcmp(p.delivery_cc.p, "FR", 2))
                    die("%s: CIN %u seq %u: content or identifiers differ from the record",
                        files[f], p.cin, p.seq);
                s->pdus++;
                if (split_kind[f] >= 0 && kind != split_kind[f])
                    die("%s: %s PDU on the %s connection", files[f], kind ? "CC" : "IRI",
                        split_kind[f] ? "HI3" : "HI2");
                if (s->bytes[stream][idx]) {
                    if (s->len[stream][idx] != pl ||
                        memcmp(s->bytes[stream][idx], raw, pl) != 0)
                        die("%s: CIN %u HI%d seq %u repeated with different bytes", files[f],
                            p.cin, 2 + kind, p.seq);
                    s->repeats++;
                } else {
                    uint32_t due = split_kind[f] >= 0 ? s->next_kind[stream][kind] : s->next[stream];
                    if (idx != due)
                        die("%s: CIN %u: record %u arrived when %u was due (out of order or "
                            "lost)", files[f], p.cin, idx, due);
                    s->next[stream]++;
                    s->next_kind[stream][kind] += 2;
                    s->bytes[stream][idx] = malloc(pl);
                    memcpy(s->bytes[stream][idx], raw, pl);
                    s->len[stream][idx] = pl;
                }
            }
        }
    }
}

static int delivered(const seen *s)
{
    int n = 0;
    for (int i = 0; i < STREAMS; i++)
        n += (int)s->next[i];
    return n;
}

/* Waits until `want` distinct records of dest are in the raw files, checking them. */
static void wait_delivered(const char *dest, const char *const *files, size_t n_files, int want,
                           int timeout_s, seen *s)
{
    uint64_t deadline = li_mono_ns() + (uint64_t)timeout_s * 1000000000u;
    for (;;) {
        check_raw(dest, files, n_files, s);
        if (delivered(s) >= want)
            return;
        if (li_mono_ns() > deadline)
            die("%s: %d of %d records delivered after %d s", dest, delivered(s), want, timeout_s);
        seen_free(s);
        msleep(200);
    }
}

/* ---- set-up ---- */

static int allow_plain_tcp;

static void write_config(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/handover.conf", dir);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "log.level = %s\n"
            "daemon.ready_file = %s/handover.ready\n"
            "topics.prefix = %s\n"
            "[kafka]\nbootstrap.servers = %s\nsecurity.protocol = ssl\n"
            "ssl.ca.location = %s/ca.pem\nssl.certificate.location = %s/handover.pem\n"
            "ssl.key.location = %s/handover.key\n"
            "session.timeout.ms = 6000\nheartbeat.interval.ms = 1000\n"
            "[handover]\n"
            /* Groups under the test's prefix, like its topics (the broker's grants). */
            "group = %slimf-handover\n"
            "tls.cert = %s/handover.pem\ntls.key = %s/handover.key\n"
            /* A fallback CA that signs every LEMF certificate: it must not weaken the pins
             * or the CA and name of destinations that have their own (trust scenario). */
            "tls.ca = %s/ca.pem\n"
            "keepalive_interval_s = 1\nkeepalive_timeout_s = 2\nack_interval_ms = 100\n"
            "reconnect_min_ms = 200\nreconnect_max_ms = 1000\nconnect_timeout_ms = 1000\n"
            "hi_partitions = 2\n"
            "metrics.listen = 127.0.0.1:0\n"
            "allow_plain_tcp = %s\n",
            getenv("HO_TEST_LOG_LEVEL") ? getenv("HO_TEST_LOG_LEVEL") : "info", dir, prefix,
            getenv("LIMF_KAFKA_TLS_BOOTSTRAP"), pki, pki, pki, prefix, pki, pki, pki,
            allow_plain_tcp ? "true" : "false");
    fclose(f);
}

static void setup(void)
{
    const char *p = getenv("LIMF_PKI_DIR"), *b = getenv("LIMF_BUILD_DIR");
    prefix = getenv("LIMF_TOPIC_PREFIX");
    if (!p || !b || !prefix || !getenv("LIMF_KAFKA_DIR"))
        die("run through ctest (LIMF_PKI_DIR, LIMF_BUILD_DIR, LIMF_TOPIC_PREFIX unset)");
    snprintf(pki, sizeof pki, "%s", p);
    snprintf(bin, sizeof bin, "%s", b);
    snprintf(dir, sizeof dir, "%s/ho-test-%s", b, prefix);
    mkdir(dir, 0700);
    /* The test writes limf.admin and limf.hi.* as the broker's administrator. */
    cfg = li_config_new();
    char err[512], kconf[600];
    snprintf(kconf, sizeof kconf, "%s/clients/kafka-admin.conf", getenv("LIMF_KAFKA_DIR"));
    if (li_config_load_file(cfg, kconf, err, sizeof err) != LI_OK)
        die("%s", err);
    li_config_set(cfg, "topics.prefix", prefix);
    static const char *const props[] = { "enable.idempotence", "true", "acks", "all",
                                         "linger.ms", "1", NULL };
    producer = li_kafka_producer_new(cfg, props, NULL, NULL, err, sizeof err);
    if (!producer)
        die("producer: %s", err);
    char topic[256];
    li_kafka_topic(cfg, "limf.admin", topic, sizeof topic);
    if (li_kafka_ensure_topic(producer, topic, 1, 1, 15000, err, sizeof err) != LI_OK)
        die("%s: %s", topic, err);
    write_config();
    signal(SIGPIPE, SIG_IGN);
    printf("work directory %s\n", dir);
}

/* ---- scenarios ---- */

static void *produce_outage(void *arg)
{
    (void)arg;
    produce_records(0, "A", 240, 20);
    return NULL;
}

static int scenario_outage(void)
{
    int port = free_port();
    pid_t lemf = start_lemf("lemf", port, "a1.raw", 1);
    pid_t ho = start_handover("handover.log");
    put_destination("A", port, "lemf", 0);
    const char *files[] = { "a1.raw", "a2.raw" };
    seen s;
    /* Records keep coming (50/s) while the LEMF is killed: whatever was in flight must be
     * resent, so an offset committed before the LEMF answered would show as a loss. */
    pthread_t producer_thread;
    pthread_create(&producer_thread, NULL, produce_outage, NULL);
    wait_delivered("A", files, 1, 60, 30, &s);
    seen_free(&s);
    /* The LEMF hangs first (records pile up unread in its socket buffer), then dies: those
     * records were written but never received, and must come again. */
    kill(lemf, SIGSTOP);
    msleep(1500);
    stop(lemf, SIGKILL);
    uint64_t down = li_mono_ns();
    printf("LEMF hung for 1.5 s then killed mid-stream after at least 60 records\n");
    msleep(3000);
    double lag = metric("limf_handover_lag_records", "A");
    double connected = metric("limf_handover_connected", "A");
    printf("during the outage: lag %.0f, connected %.0f\n", lag, connected);
    if (connected != 0 || lag < 100)
        die("expected a disconnected destination with a backlog");
    /* 10 s instead of the 30 s of the requirement, to keep CI short: the mechanism (backoff,
     * rewind to the committed offsets) does not depend on the length. */
    while (li_mono_ns() - down < 10000000000ull)
        msleep(100);
    lemf = start_lemf("lemf", port, "a2.raw", 1);
    pthread_join(producer_thread, NULL);
    produce_records(0, "A", 60, 5);
    wait_delivered("A", files, 2, 300, 40, &s);
    printf("all 300 records delivered in order after a 10 s outage; %d repeats (identical)\n",
           s.repeats);
    uint64_t t0 = li_mono_ns();
    while (metric("limf_handover_lag_records", "A") != 0 && li_mono_ns() - t0 < 10000000000ull)
        msleep(200);
    printf("reconnects %.0f, lag %.0f\n", metric("limf_handover_reconnects_total", "A"),
           metric("limf_handover_lag_records", "A"));
    if (metric("limf_handover_lag_records", "A") != 0 ||
        metric("limf_handover_reconnects_total", "A") < 1)
        die("lag did not drain or no reconnect counted");
    seen_free(&s);
    stop(ho, SIGTERM);
    stop(lemf, SIGTERM);
    return 0;
}

static int scenario_kill9(void)
{
    int port = free_port();
    pid_t lemf = start_lemf("lemf", port, "k.raw", 1);
    pid_t ho = start_handover("handover1.log");
    put_destination("K", port, "lemf", 0);
    const char *files[] = { "k.raw" };
    seen s;
    produce_records(1, "K", 60, 10);
    wait_delivered("K", files, 1, 60, 30, &s);
    seen_free(&s);
    /* Kill it while records keep flowing. */
    produce_records(1, "K", 30, 10);
    stop(ho, SIGKILL);
    printf("limf-handover killed with SIGKILL mid-stream\n");
    produce_records(1, "K", 60, 10);
    ho = start_handover("handover2.log");
    produce_records(1, "K", 50, 5);
    wait_delivered("K", files, 1, 200, 45, &s);
    printf("all 200 records delivered after SIGKILL; %d repeats, all byte-identical\n", s.repeats);
    /* The saved raw stream decodes offline to one JSON line per PDU, verdict clean. */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s/bin/limf-lemf decode %s/k.raw > %s/k.jsonl 2>%s/decode.err",
             bin, dir, dir, dir);
    int rc = system(cmd);
    snprintf(cmd, sizeof cmd, "%s/k.jsonl", dir);
    FILE *f = fopen(cmd, "r");
    int lines = 0, ch;
    while (f && (ch = fgetc(f)) != EOF)
        lines += ch == '\n';
    if (f)
        fclose(f);
    printf("limf-lemf decode k.raw: exit %d, %d JSON lines\n", WEXITSTATUS(rc), lines);
    if (rc != 0 || lines != s.pdus)
        die("offline decode: exit %d, %d lines for %d PDUs", WEXITSTATUS(rc), lines, s.pdus);
    seen_free(&s);
    stop(ho, SIGTERM);
    stop(lemf, SIGTERM);
    return 0;
}

static int scenario_silent(void)
{
    int port = free_port();
    pid_t lemf = start_lemf("lemf", port, "s1.raw", 0);
    pid_t ho = start_handover("handover.log");
    put_destination("S", port, "lemf", 0);
    produce_records(2, "S", 30, 0);
    const char *files[] = { "s1.raw", "s2.raw" };
    seen s;
    wait_delivered("S", files, 1, 30, 30, &s);
    seen_free(&s);
    /* Keep-alive timeout 2 s: within 8 s it must have given up at least twice. */
    uint64_t t0 = li_mono_ns();
    while (metric("limf_handover_keepalive_timeouts_total", "S") < 2 &&
           li_mono_ns() - t0 < 15000000000ull)
        msleep(200);
    double timeouts = metric("limf_handover_keepalive_timeouts_total", "S");
    double reconnects = metric("limf_handover_reconnects_total", "S");
    double acked = metric("limf_handover_acknowledged_total", "S");
    double lag = metric("limf_handover_lag_records", "S");
    check_raw("S", files, 1, &s);
    printf("silent LEMF: %.0f keep-alive timeouts, %.0f reconnects, %.0f acknowledged, lag %.0f, "
           "%d repeats received\n",
           timeouts, reconnects, acked, lag, s.repeats);
    if (timeouts < 2 || reconnects < 1 || acked != 0 || lag != 30 || s.repeats < 30)
        die("a LEMF that never answers must be dropped, retried, and nothing acknowledged");
    seen_free(&s);
    stop(lemf, SIGKILL);
    lemf = start_lemf("lemf", port, "s2.raw", 1);
    t0 = li_mono_ns();
    while (metric("limf_handover_lag_records", "S") != 0 && li_mono_ns() - t0 < 20000000000ull)
        msleep(200);
    wait_delivered("S", files, 2, 30, 5, &s);
    printf("answering LEMF: lag %.0f, acknowledged %.0f\n",
           metric("limf_handover_lag_records", "S"), metric("limf_handover_acknowledged_total", "S"));
    if (metric("limf_handover_lag_records", "S") != 0)
        die("records not acknowledged once the LEMF answers");
    seen_free(&s);
    stop(ho, SIGTERM);
    stop(lemf, SIGTERM);
    return 0;
}

static int scenario_two(void)
{
    /* A: HI2 and HI3 at two addresses (two LEMF processes), pinned. B: CA + name. */
    int port_a = free_port(), port_a3 = free_port(), port_b = free_port();
    pid_t lemf_a = start_lemf("lemf", port_a, "two-a2.raw", 1);
    pid_t lemf_a3 = start_lemf("lemf", port_a3, "two-a3.raw", 1);
    pid_t ho = start_handover("handover.log");
    put_destination_split("TA", port_a, port_a3, "lemf", 0);
    put_destination("TB", port_b, "lemf2", 1);  /* nobody listening yet */
    const char *fa[] = { "two-a2.raw", "two-a3.raw" }, *fb[] = { "two-b.raw" };
    seen s;
    produce_records(3, "TB", 100, 0);
    produce_records(4, "TA", 100, 10);
    split_kind[0] = 0;
    split_kind[1] = 1;
    wait_delivered("TA", fa, 2, 100, 30, &s);
    split_kind[0] = split_kind[1] = -1;
    seen_free(&s);
    printf("A: IRI on HI2 and CC on HI3, each in order\n");
    double b_connected = metric("limf_handover_connected", "TB");
    double b_lag = metric("limf_handover_lag_records", "TB");
    printf("A delivered 100 while B is down (B connected %.0f, lag %.0f)\n", b_connected, b_lag);
    if (b_connected != 0 || b_lag != 100)
        die("destination B should be down with 100 records waiting");
    pid_t lemf_b = start_lemf("lemf2", port_b, "two-b.raw", 1);
    wait_delivered("TB", fb, 1, 100, 30, &s);
    seen_free(&s);
    printf("B caught up once its LEMF appeared\n");
    remove_destination("TB");
    uint64_t t0 = li_mono_ns();
    while (metric("limf_handover_connected", "TB") != -1 && li_mono_ns() - t0 < 10000000000ull)
        msleep(200);
    if (metric("limf_handover_connected", "TB") != -1)
        die("removed destination still present");
    printf("B removed by tombstone; A still served: connected %.0f\n",
           metric("limf_handover_connected", "TA"));
    stop(ho, SIGTERM);
    stop(lemf_a, SIGTERM);
    stop(lemf_a3, SIGTERM);
    stop(lemf_b, SIGTERM);
    return 0;
}

static int log_has(const char *log, const char *text)
{
    char path[600], line[1024];
    snprintf(path, sizeof path, "%s/%s", dir, log);
    FILE *f = fopen(path, "r");
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* HI2 and HI3 at two LEMFs of which only the HI2 one answers keep-alives: nothing may be
 * acknowledged (the CC on HI3 has no proof of receipt), the links are dropped and retried;
 * once HI3 answers too, everything is acknowledged. */
static int scenario_halfsilent(void)
{
    int port2 = free_port(), port3 = free_port();
    pid_t lemf2 = start_lemf("lemf", port2, "h2.raw", 1);
    pid_t lemf3 = start_lemf("lemf", port3, "h3a.raw", 0);
    pid_t ho = start_handover("handover.log");
    put_destination_split("H", port2, port3, "lemf", 0);
    produce_records(7, "H", 40, 0);
    seen s;
    uint64_t t0 = li_mono_ns();
    while (metric("limf_handover_keepalive_timeouts_total", "H") < 1 &&
           li_mono_ns() - t0 < 15000000000ull)
        msleep(200);
    double timeouts = metric("limf_handover_keepalive_timeouts_total", "H");
    double acked = metric("limf_handover_acknowledged_total", "H");
    double lag = metric("limf_handover_lag_records", "H");
    printf("HI3 silent: %.0f keep-alive timeouts, %.0f acknowledged, lag %.0f\n", timeouts, acked,
           lag);
    if (timeouts < 1 || acked != 0 || lag != 40)
        die("an answer on HI2 alone must not acknowledge anything");
    stop(lemf3, SIGKILL);
    lemf3 = start_lemf("lemf", port3, "h3b.raw", 1);
    t0 = li_mono_ns();
    while (metric("limf_handover_lag_records", "H") != 0 && li_mono_ns() - t0 < 20000000000ull)
        msleep(200);
    /* The silent LEMF's h3a.raw got CC that were never acknowledged: all of them come
     * again, in order, to the answering one. */
    const char *files[] = { "h2.raw", "h3b.raw" };
    split_kind[0] = 0;
    split_kind[1] = 1;
    wait_delivered("H", files, 2, 40, 5, &s);
    printf("HI3 answering: lag %.0f, %d repeats (identical)\n",
           metric("limf_handover_lag_records", "H"), s.repeats);
    if (metric("limf_handover_lag_records", "H") != 0)
        die("records not acknowledged once both connections answer");
    seen_free(&s);
    stop(ho, SIGTERM);
    stop(lemf2, SIGTERM);
    stop(lemf3, SIGTERM);
    return 0;
}

/* Trust: a LEMF whose certificate is not the pinned one is refused; plain TCP only when the
 * destination says so, with a warning. */
static int scenario_trust(void)
{
    int port_p = free_port(), port_t = free_port();
    pid_t lemf_p = start_lemf("lemf", port_p, "trust-p.raw", 1);
    pid_t lemf_t = start_lemf(NULL, port_t, "trust-t.raw", 1);
    allow_plain_tcp = 1;    /* the daemon-level switch plain TCP needs */
    write_config();
    pid_t ho = start_handover("handover.log");
    put_destination("P", port_p, "lemf2", 0);  /* pinned to lemf2, but lemf answers */
    transport = "tcp";
    put_destination("T", port_t, NULL, 0);
    transport = "tls";
    produce_records(5, "P", 20, 0);
    produce_records(6, "T", 20, 0);
    const char *ft[] = { "trust-t.raw" }, *fp[] = { "trust-p.raw" };
    seen s;
    wait_delivered("T", ft, 1, 20, 30, &s);
    seen_free(&s);
    msleep(1000);
    check_raw("P", fp, 1, &s);
    double p_connected = metric("limf_handover_connected", "P");
    printf("TCP destination delivered 20; wrongly pinned destination: connected %.0f, %d PDUs "
           "received\n",
           p_connected, s.pdus);
    if (p_connected != 0 || s.pdus != 0)
        die("a LEMF with a certificate that is not pinned must be refused");
    if (!log_has("handover.log", "destination T: plain TCP") ||
        !log_has("handover.log", "destination P: HI2/3: TLS handshake"))
        die("missing the plain-TCP warning or the refused-handshake warning in handover.log");
    seen_free(&s);
    stop(ho, SIGTERM);
    stop(lemf_p, SIGTERM);
    stop(lemf_t, SIGTERM);
    return 0;
}

/* ---- agency separation ---- */

/* IRI and CC PDUs in a raw file, and the lowest record index among them (INT32_MAX none). */
static int pdus_in(const char *file, int *min_idx)
{
    const uint8_t *data, *raw;
    size_t len = read_raw(file, &data), at = 0, pl;
    ho_pdu p;
    int n = 0;
    *min_idx = INT32_MAX;
    while (next_pdu(file, data, len, &at, &p, &raw, &pl)) {
        if (p.payload == HO_PAYLOAD_IRI || p.payload == HO_PAYLOAD_CC) {
            int idx = (int)p.seq * 2 + (p.payload == HO_PAYLOAD_CC);
            n++;
            if (idx < *min_idx)
                *min_idx = idx;
        }
    }
    return n;
}

/* Whether the broker lists the topic (all topics: asking for one could create it). */
static int topic_exists(const char *topic)
{
    const rd_kafka_metadata_t *md;
    if (rd_kafka_metadata(producer, 1, NULL, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        die("metadata");
    int found = 0;
    for (int i = 0; i < md->topic_cnt; i++)
        found |= !strcmp(md->topics[i].topic, topic);
    rd_kafka_metadata_destroy(md);
    return found;
}

/* Whether the group still exists (with or without members). */
static int group_exists(const char *group)
{
    const struct rd_kafka_group_list *gl;
    if (rd_kafka_list_groups(producer, group, &gl, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        die("list groups");
    int found = gl->group_cnt == 1 && !gl->groups[0].err && strcmp(gl->groups[0].state, "Dead");
    rd_kafka_group_list_destroy(gl);
    return found;
}

static void wait_metric(const char *name, const char *dest, double want, int timeout_s)
{
    uint64_t t0 = li_mono_ns();
    while (metric(name, dest) != want && li_mono_ns() - t0 < (uint64_t)timeout_s * 1000000000u)
        msleep(200);
    if (metric(name, dest) != want)
        die("%s{destination=%s} is %.0f, expected %.0f", name, dest, metric(name, dest), want);
}

/* The LEMF writing `file` gets exactly `want` records, every one of the new ones (record
 * index >= first) and none of the backlog before. */
static void expect_only_new(const char *file, int want, int first)
{
    int min_idx, n = 0;
    uint64_t t0 = li_mono_ns();
    while ((n = pdus_in(file, &min_idx)) < want && li_mono_ns() - t0 < 30000000000ull)
        msleep(200);
    msleep(2000);   /* anything still on its way arrives */
    n = pdus_in(file, &min_idx);
    printf("%s: %d records, lowest index %d (backlog below %d)\n", file, n, min_idx, first);
    if (n != want || min_idx < first)
        die("%s: %d records (want %d), lowest index %d: the old backlog reached the new LEMF",
            file, n, want, min_idx);
}

/* An agency's destination that waits with 30 records (its LEMF at port_down is down). */
static void backlog(int slot, const char *id, int port_down, char *topic, char *group)
{
    put_destination(id, port_down, "lemf", 0);
    hi_topic(id, suffix_of(id, 0), topic, 256);
    snprintf(group, 300, "%slimf-handover.%s.%s", prefix, id, suffix_of(id, 0));
    produce_records(slot, id, 30, 0);
    wait_metric("limf_handover_lag_records", id, 30, 30);
}

static int scenario_agencies(void)
{
    int down = free_port(), port_b = free_port(), port_c = free_port(), port_d = free_port();
    int port_t = free_port(), port_e = free_port();
    pid_t lemf_b = start_lemf("lemf2", port_b, "ag-b.raw", 1);
    pid_t lemf_c = start_lemf("lemf2", port_c, "ag-c.raw", 1);
    pid_t lemf_d = start_lemf("lemf2", port_d, "ag-d.raw", 1);
    pid_t lemf_t = start_lemf(NULL, port_t, "ag-t.raw", 1);
    pid_t ho = start_handover("handover.log");
    char topic[256], group[300];

    /* 1. Agency A's destination R is deleted with 30 records undelivered; agency B gets a
     * destination with the same id. 3 streams x 10 records: new records start at 10. */
    backlog(0, "R", down, topic, group);
    remove_destination("R");
    wait_metric("limf_handover_connected", "R", -1, 10);
    put_destination("R", port_b, "lemf2", 0);
    produce_records(0, "R", 12, 0);
    expect_only_new("ag-b.raw", 12, 10);
    uint64_t t0 = li_mono_ns();
    while ((topic_exists(topic) || group_exists(group)) && li_mono_ns() - t0 < 20000000000ull)
        msleep(500);
    if (topic_exists(topic) || group_exists(group))
        die("the deleted destination's topic %s or group %s is still there", topic, group);
    printf("re-created R: none of the old backlog delivered; old topic and group deleted\n");

    /* 2. Destination Q re-pointed to another LEMF (a new suffix, as the ADMF's change of
     * address gives unless the backlog is kept). */
    backlog(1, "Q", down, topic, group);
    put_destination("Q", port_c, "lemf2", 0);
    produce_records(1, "Q", 12, 0);
    expect_only_new("ag-c.raw", 12, 10);
    if (topic_exists(topic))
        die("the re-pointed destination's old topic %s is still there", topic);
    printf("re-pointed Q: none of the old backlog delivered\n");

    /* 3. Re-pointed with the backlog kept (same suffix): the new LEMF gets all of it. */
    backlog(2, "K", down, topic, group);
    keep_suffix = 1;
    put_destination("K", port_d, "lemf2", 0);
    keep_suffix = 0;
    seen s;
    const char *fd[] = { "ag-d.raw" };
    wait_delivered("K", fd, 1, 30, 30, &s);
    seen_free(&s);
    printf("re-pointed K with its backlog kept: all 30 delivered\n");

    /* 4. transport tcp without handover.allow_plain_tcp: refused, alarmed, nothing sent. */
    transport = "tcp";
    put_destination("T", port_t, NULL, 0);
    transport = "tls";
    produce_records(3, "T", 10, 0);
    wait_metric("limf_handover_refused", "T", 1, 10);
    msleep(3000);
    int min_idx, n = pdus_in("ag-t.raw", &min_idx);
    printf("tcp destination without the switch: refused %.0f, %d records at its LEMF\n",
           metric("limf_handover_refused", "T"), n);
    if (n != 0 || !log_has("handover.log", "destination T: refused"))
        die("a tcp destination without handover.allow_plain_tcp must deliver nothing, alarmed");

    /* 5. By CA without peer_name at 127.0.0.2, which the LEMF's certificate does not name
     * (it names 127.0.0.1, ::1, localhost and its role): refused. Named "lemf": served. */
    lemf_host = "127.0.0.2";
    pid_t lemf_e = start_lemf("lemf", port_e, "ag-e.raw", 1);
    put_destination("E", port_e, "lemf", 2);
    produce_records(4, "E", 6, 0);
    msleep(3000);
    n = pdus_in("ag-e.raw", &min_idx);
    printf("by CA, no peer_name, host not in the certificate: connected %.0f, %d records\n",
           metric("limf_handover_connected", "E"), n);
    if (n != 0 || metric("limf_handover_connected", "E") != 0 ||
        !log_has("handover.log", "destination E: HI2/3: TLS handshake"))
        die("a certificate that does not name the HI host must be refused by default");
    keep_suffix = 1;
    put_destination("E", port_e, "lemf", 1);
    keep_suffix = 0;
    const char *fe[] = { "ag-e.raw" };
    wait_delivered("E", fe, 1, 6, 30, &s);
    seen_free(&s);
    printf("with peer_name lemf: delivered\n");
    lemf_host = "127.0.0.1";

    stop(ho, SIGTERM);
    stop(lemf_b, SIGTERM);
    stop(lemf_c, SIGTERM);
    stop(lemf_d, SIGTERM);
    stop(lemf_e, SIGTERM);
    stop(lemf_t, SIGTERM);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        die("usage: ho_delivery outage|kill9|silent|two|trust|halfsilent|agencies");
    li_log_init("ho_delivery", LI_LOG_WARN, 0);
    for (size_t i = 0; i < sizeof split_kind / sizeof split_kind[0]; i++)
        split_kind[i] = -1;
    setup();
    int rc;
    if (!strcmp(argv[1], "outage"))
        rc = scenario_outage();
    else if (!strcmp(argv[1], "kill9"))
        rc = scenario_kill9();
    else if (!strcmp(argv[1], "silent"))
        rc = scenario_silent();
    else if (!strcmp(argv[1], "two"))
        rc = scenario_two();
    else if (!strcmp(argv[1], "trust"))
        rc = scenario_trust();
    else if (!strcmp(argv[1], "halfsilent"))
        rc = scenario_halfsilent();
    else if (!strcmp(argv[1], "agencies"))
        rc = scenario_agencies();
    else
        die("unknown scenario %s", argv[1]);
    li_kafka_destroy(producer, 5000);
    li_config_free(cfg);
    printf("PASS %s\n", argv[1]);
    return rc;
}
