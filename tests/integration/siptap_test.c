/* limf-siptap end to end on loopback: real sipp calls (UDP and TCP), a real libpcap
 * capture on lo, tasking over real X1 (mutual TLS, x1_client), X2 over real mutual TLS
 * to a real limf-ingest, which writes each PDU to the real Kafka broker (limf.xpdu);
 * the test reads the records back from Kafka.
 *
 *   1. live: alice (tasked) calls bob over UDP/IPv4, TCP/IPv4 and TCP/IPv6; mallory
 *      (untasked) calls bob over UDP and TCP on IPv4 and UDP on IPv6. Every SIP message
 *      of alice's calls - INVITE, 200, ACK, BYE and the 200 to the BYE, exactly the
 *      bytes sipp says it sent - arrives as X2 format 9 with the task's XID, the matched
 *      target, the direction, addresses, ports, protocol, a capture timestamp and one
 *      correlation ID per dialog; nothing of mallory's calls arrives.
 *      After DeactivateTask over X1, alice's next call yields nothing either.
 *   2. file: the same calls, written to a pcap by dumpcap during step 1, replayed by a
 *      second limf-siptap (siptap.pcap) give the same X2.
 * Needs root or CAP_NET_RAW (live capture on lo), sipp and dumpcap: exits 77 (skipped)
 * with the reason otherwise.
 *
 * With the argument "pcap" (test siptap_pcap): a crafted capture (Linux cooked v2) of two
 * tasked dialogs and an untasked one among hostile frames - garbage, truncated frames,
 * non-SIP on port 5060, a large INVITE in IPv4 fragments written last first, SIP over
 * TCP/IPv6 split out of order with a duplicate, a stream picked up mid-message, two
 * messages in one segment, overlapping fragments that disagree - replayed at its own
 * pace (siptap.pace) through the default BPF filter: exactly the tasked dialogs' messages
 * arrive, byte-exact, and the replay takes the capture's duration. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "li_bytes.h"
#include "li_config.h"
#include "li_log.h"
#include "li_time.h"
#include "li_tls.h"
#include "siptap_pkt_build.h"
#include "x1_client.h"
#include "siptap_pkt.h"
#include "ready_port.h"
#include "x2x3_util.h"

#define MAX_PDUS 256
#define LATE 4   /* the index of the call made after DeactivateTask */

static char work[256];
static const char *pki, *build, *src;
/* Every process started, so that a failing test leaves none behind. */
static pid_t children[32];
static size_t n_children;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "siptap_sipp: FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (work directory %s kept)\n", work);
    va_end(ap);
    for (size_t i = 0; i < n_children; i++)
        if (children[i] > 0 && kill(children[i], SIGKILL) == 0)
            waitpid(children[i], NULL, 0);
    exit(1);
}

static void skip(const char *why)
{
    printf("siptap_sipp: SKIP: %s\n", why);
    exit(77);
}

/* ---- what arrived in Kafka (limf.xpdu), one entry per XPdu ---- */

typedef struct got {
    Limf__XPdu *x;
} got;

typedef struct received {
    got pdus[MAX_PDUS];
    size_t n;
} received;

static void keep_xpdu(const Limf__XPdu *x, void *ctx)
{
    received *r = ctx;
    if (r->n == MAX_PDUS)
        return;
    /* x is freed by the reader after this call: keep a copy. */
    size_t len = limf__xpdu__get_packed_size(x);
    uint8_t *buf = malloc(len);
    limf__xpdu__pack(x, buf);
    r->pdus[r->n++].x = limf__xpdu__unpack(NULL, len, buf);
    free(buf);
}

static void received_free(received *r)
{
    for (size_t i = 0; i < r->n; i++)
        limf__xpdu__free_unpacked(r->pdus[i].x, NULL);
    r->n = 0;
}

/* ---- processes ---- */

static void forget(pid_t pid)
{
    for (size_t i = 0; i < n_children; i++)
        if (children[i] == pid)
            children[i] = 0;
}

static pid_t spawn(const char *log, char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        setpgid(0, 0);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (n_children < sizeof children / sizeof children[0])
        children[n_children++] = pid;
    return pid;
}

/* Waits for pid up to timeout_ms; returns its exit status, or -1 on timeout (then it is
 * killed). */
static int wait_exit(pid_t pid, int timeout_ms)
{
    for (int waited = 0;; waited += 20) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid || waited >= timeout_ms) {
            if (w != pid) {
                kill(pid, SIGKILL);
                waitpid(pid, &st, 0);
            }
            forget(pid);
            if (w != pid)
                return -1;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        usleep(20000);
    }
}

static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n + 1);
    *len = fread(*out, 1, (size_t)n, f);
    (*out)[*len] = 0;
    fclose(f);
    return 0;
}

/* A loopback socket address (127.0.0.1 or ::1) with this port. */
static socklen_t loopback(int v6, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        a->sin6_addr = in6addr_loopback;
        return sizeof *a;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof *a;
}

/* 1 when the port can be bound (for this socket type) on loopback. */
static int port_free(int v6, int type, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t len = loopback(v6, port, &ss);
    int s = socket(v6 ? AF_INET6 : AF_INET, type, 0);
    int ok = bind(s, (struct sockaddr *)&ss, len) == 0;
    close(s);
    return ok;
}

/* A port free for both UDP and TCP on loopback (sipp binds both kinds). */
static uint16_t free_port(int v6)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = loopback(v6, 0, &ss);
        int u = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
        bind(u, (struct sockaddr *)&ss, len);
        getsockname(u, (struct sockaddr *)&ss, &len);
        uint16_t port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                 : ((struct sockaddr_in *)&ss)->sin_port);
        int ok = port_free(v6, SOCK_STREAM, port);
        close(u);
        if (ok)
            return port;
    }
}

/* ---- limf-siptap and X1 ---- */

typedef struct siptap_proc {
    pid_t pid;
    uint16_t x1_port;
    uint16_t metrics_port;
    char log[512];
} siptap_proc;

/* x2_port 0: X2 to the destination tasked over X1, else a fixed route to that port;
 * filter NULL: limf-siptap's default; extra: more [siptap] lines or "". */
static void siptap_start(siptap_proc *p, const char *name, uint16_t x2_port,
                         const char *filter, const char *pcap_file, const char *extra)
{
    char conf[512], ready[512], fixed[64] = "";
    if (x2_port)
        snprintf(fixed, sizeof fixed, "address = 127.0.0.1:%u\n", x2_port);
    snprintf(conf, sizeof conf, "%s/%s.conf", work, name);
    snprintf(ready, sizeof ready, "%s/%s.ready", work, name);
    snprintf(p->log, sizeof p->log, "%s/%s.log", work, name);
    FILE *f = fopen(conf, "w");
    fprintf(f,
            "daemon.ready_file = %s\n"
            "[x1]\nlisten = 127.0.0.1:0\nne_id = siptap-test\nadmf_id = admf-test\n"
            "allowed_clients = admf\n"
            "tls.cert = %s/siptap.pem\ntls.key = %s/siptap.key\ntls.ca = %s/ca.pem\n"
            "[x2x3]\n%spoi_id = siptap-test\nkeepalive_s = 1\n"
            "tls.cert = %s/siptap.pem\ntls.key = %s/siptap.key\ntls.ca = %s/ca.pem\n"
            "tls.peer_name = ingest\n"
            "[siptap]\ninterface = lo\n%s%s%sstats_interval_s = 0\n"
            "pcap_wait_tasks = 1\nmetrics.listen = 127.0.0.1:0\n"
            "metrics.tls.cert = %s/siptap.pem\nmetrics.tls.key = %s/siptap.key\n"
            "metrics.tls.ca = %s/ca.pem\n%s%s\n%s[log]\nlevel = debug\n",
            ready, pki, pki, pki, fixed, pki, pki, pki, filter ? "filter = " : "",
            filter ? filter : "", filter ? "\n" : "", pki, pki, pki, pcap_file ? "pcap = " : "",
            pcap_file ? pcap_file : "", extra);
    fclose(f);
    char bin[512];
    snprintf(bin, sizeof bin, "%s/bin/limf-siptap", build);
    char *argv[] = { bin, "-c", conf, NULL };
    p->pid = spawn(p->log, argv);
    for (int i = 0; i < 200; i++) {
        if (ready_port(ready, "x1") >= 0) {
            p->x1_port = (uint16_t)ready_port(ready, "x1");
            p->metrics_port = (uint16_t)ready_port(ready, "metrics");
            return;
        }
        if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            forget(p->pid);
            break;
        }
        usleep(50000);
    }
    die("limf-siptap %s did not become ready (see %s)", name, p->log);
}

static const uint8_t XID[16] = { 0x51, 0x7a, 0x90, 0x01, 0x22, 0x33, 0x44, 0x55,
                                 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd };
static const uint8_t DID[16] = { 0xd1, 0xd1, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 1 };

/* Tasks the NE over X1 as the ADMF would: the destination, then alice's task. */
/* An X1 client with the ADMF's certificate, and the NE's URL. */
static x1_client *admf_client(const siptap_proc *p, char *url, size_t url_size)
{
    li_config *cfg = li_config_new();
    char v[512], err[512];
    snprintf(v, sizeof v, "%s/admf.pem", pki);
    li_config_set(cfg, "x1c.tls.cert", v);
    snprintf(v, sizeof v, "%s/admf.key", pki);
    li_config_set(cfg, "x1c.tls.key", v);
    snprintf(v, sizeof v, "%s/ca.pem", pki);
    li_config_set(cfg, "x1c.tls.ca", v);
    li_config_set(cfg, "x1c.admf_id", "admf-test");
    x1_client *c = x1_client_new(cfg, "x1c", err, sizeof err);
    li_config_free(cfg);
    if (!c)
        die("x1 client: %s", err);
    snprintf(url, url_size, "https://127.0.0.1:%u/X1/NE", p->x1_port);
    return c;
}

/* Tasks the NE over X1 as the ADMF would: the destination, then alice's task. */
static void task_alice(const siptap_proc *p, uint16_t x2_port)
{
    char url[128], err[512], addr[64];
    x1_client *c = admf_client(p, url, sizeof url);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", x2_port);
    if (x1_client_create_destination(c, url, "siptap-test", DID, addr, X1_DELIVERY_X2_AND_X3, err,
                                     sizeof err) != LI_OK)
        die("CreateDestination: %s", err);
    x1_task t;
    memset(&t, 0, sizeof t);
    memcpy(t.xid, XID, 16);
    snprintf(t.targets[0].type, sizeof t.targets[0].type, "sip-uri");
    snprintf(t.targets[0].value, sizeof t.targets[0].value, "sip:Alice@LIMF.test");
    t.n_targets = 1;
    t.delivery = X1_DELIVERY_X2_AND_X3;
    memcpy(t.dids[0], DID, 16);
    t.n_dids = 1;
    if (x1_client_activate(c, url, "siptap-test", &t, err, sizeof err) != LI_OK)
        die("ActivateTask: %s", err);
    x1_client_free(c);
}

static void untask_alice(const siptap_proc *p)
{
    char url[128], err[512];
    x1_client *c = admf_client(p, url, sizeof url);
    if (x1_client_deactivate(c, url, "siptap-test", XID, err, sizeof err) != LI_OK)
        die("DeactivateTask: %s", err);
    x1_client_free(c);
}

/* ---- sipp calls ---- */

typedef struct call {
    const char *caller;
    const char *transport;   /* sipp -t: u1 or t1 */
    int v6;                  /* over ::1 instead of 127.0.0.1 */
    int tasked;
    uint16_t uas_port, uac_port;
    char call_id[128];
    /* What sipp says it sent, both sides: the oracle for byte-exactness. */
    char *sent[16];
    size_t sent_len[16];
    size_t n_sent;
} call;

static void run_call(call *c, int index)
{
    char scen_uas[512], scen_uac[512], log_uas[512], log_uac[512], out_uas[512], out_uac[512];
    char port_uas[16], port_uac[16], remote[64];
    snprintf(scen_uas, sizeof scen_uas, "%s/tests/integration/siptap/uas.xml", src);
    snprintf(scen_uac, sizeof scen_uac, "%s/tests/integration/siptap/uac.xml", src);
    snprintf(log_uas, sizeof log_uas, "%s/call%d-uas-messages.log", work, index);
    snprintf(log_uac, sizeof log_uac, "%s/call%d-uac-messages.log", work, index);
    snprintf(out_uas, sizeof out_uas, "%s/call%d-uas.out", work, index);
    snprintf(out_uac, sizeof out_uac, "%s/call%d-uac.out", work, index);
    snprintf(port_uas, sizeof port_uas, "%u", c->uas_port);
    snprintf(port_uac, sizeof port_uac, "%u", c->uac_port);
    snprintf(remote, sizeof remote, c->v6 ? "[::1]:%u" : "127.0.0.1:%u", c->uas_port);
    char *ip = c->v6 ? "::1" : "127.0.0.1";
    char *uas[] = { "sipp", "-sf", scen_uas, "-i", ip, "-p", port_uas, "-t",
                    (char *)c->transport, "-m", "1", "-nostdin", "-trace_msg", "-message_file",
                    log_uas, "-timeout", "20s", NULL };
    pid_t ps = spawn(out_uas, uas);
    /* The UAS is ready when its port is taken. */
    int type = c->transport[0] == 't' ? SOCK_STREAM : SOCK_DGRAM;
    for (int i = 0; i < 100 && port_free(c->v6, type, c->uas_port); i++)
        usleep(50000);
    char *uac[] = { "sipp", "-sf", scen_uac, "-i", ip, "-p", port_uac, "-t",
                    (char *)c->transport, "-s", "bob", "-key", "caller", (char *)c->caller,
                    "-m", "1", "-nostdin", "-trace_msg", "-message_file", log_uac,
                    "-timeout", "20s", remote, NULL };
    pid_t pc = spawn(out_uac, uac);
    int rc_uac = wait_exit(pc, 30000);
    int rc_uas = wait_exit(ps, 10000);
    if (rc_uac != 0 || rc_uas != 0)
        die("sipp call %d (%s over %s): uac %d uas %d (see %s, %s)", index, c->caller,
            c->transport, rc_uac, rc_uas, out_uac, out_uas);
    /* "<UDP|TCP> message sent (N bytes):\n\n" then exactly the N bytes sipp wrote. */
    const char *logs[2] = { log_uac, log_uas };
    for (int l = 0; l < 2; l++) {
        char *text;
        size_t len;
        if (read_file(logs[l], &text, &len) != 0)
            die("no sipp message log %s", logs[l]);
        for (char *p = text; (p = strstr(p, " message sent (")) != NULL;) {
            size_t n = strtoul(p + 15, &p, 10);
            p = strstr(p, "):\n\n");
            if (!p || c->n_sent == 16)
                die("sipp message log %s not understood", logs[l]);
            p += 4;
            c->sent[c->n_sent] = malloc(n);
            memcpy(c->sent[c->n_sent], p, n);
            c->sent_len[c->n_sent++] = n;
            p += n;
        }
        free(text);
    }
    /* The Call-ID of the call, from the INVITE sipp sent. */
    const char *cid = strstr(c->sent[0], "Call-ID: ");
    if (!cid)
        die("no Call-ID in the INVITE of call %d", index);
    cid += 9;
    size_t n = strcspn(cid, "\r\n");
    snprintf(c->call_id, sizeof c->call_id, "%.*s", (int)n, cid);
}

static void calls_free(call *calls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < calls[i].n_sent; j++)
            free(calls[i].sent[j]);
        calls[i].n_sent = 0;
    }
}

static int starts_with(const uint8_t *p, size_t len, const char *lit)
{
    return len >= strlen(lit) && memcmp(p, lit, strlen(lit)) == 0;
}

/* Reads limf.xpdu of this step and asserts what the user would check. */
static size_t check(call *calls, size_t n_calls, uint64_t t0, const char *mode)
{
    size_t want = 0;
    for (size_t i = 0; i < n_calls; i++)
        if (calls[i].tasked)
            want += calls[i].n_sent;
    /* Everything expected, then 2 s more for anything unexpected. */
    received r = { .n = 0 };
    x2x3t_consume(want, 60, 2000, keep_xpdu, &r);
    if (r.n != want)
        die("%s: %zu records in Kafka, %zu expected", mode, r.n, want);
    for (size_t i = 0; i < n_calls; i++) {
        call *c = &calls[i];
        if (!c->n_sent)
            continue;  /* not made yet */
        int seen_invite = 0, seen_200 = 0, seen_ack = 0, seen_bye = 0;
        uint64_t corr = 0;
        for (size_t k = 0; k < r.n; k++) {
            const Limf__XPdu *x = r.pdus[k].x;
            const uint8_t *pl = x->payload.data;
            size_t plen = x->payload.len;
            if (!memmem(pl, plen, c->call_id, strlen(c->call_id)))
                continue;
            if (!c->tasked)
                die("%s: a message of untasked %s's call was exported", mode, c->caller);
            /* Byte-exact: the payload is one of the messages sipp sent, whole. */
            size_t j;
            for (j = 0; j < c->n_sent; j++)
                if (c->sent_len[j] == plen && memcmp(c->sent[j], pl, plen) == 0)
                    break;
            if (j == c->n_sent)
                die("%s: exported payload is not a message sipp sent:\n%.*s", mode, (int)plen,
                    (const char *)pl);
            if (x->pdu_type != X2X3_PDU_X2 || x->payload_format != X2X3_FORMAT_SIP ||
                x->xid.len != 16 || memcmp(x->xid.data, XID, 16) != 0)
                die("%s: wrong PDU type, format or XID", mode);
            /* alice calls: her requests come from her, bob's responses go to her. */
            uint32_t dir = starts_with(pl, plen, "SIP/2.0 ") ? X2X3_DIR_TO_TARGET
                                                             : X2X3_DIR_FROM_TARGET;
            if (x->payload_direction != dir)
                die("%s: direction %u, not %u, for:\n%.*s", mode, x->payload_direction, dir,
                    (int)plen, (const char *)pl);
            if (strcmp(x->poi_id, "siptap") != 0)
                die("%s: POI identity %s, not the siptap certificate's", mode, x->poi_id);
            if (x->n_matched_targets != 1 ||
                strcmp(x->matched_targets[0], "<sipUri>sip:Alice@LIMF.test</sipUri>") != 0)
                die("%s: matched target attribute missing or wrong", mode);
            uint8_t lo[16] = { 127, 0, 0, 1 };
            size_t alen = c->v6 ? 16 : 4;
            if (c->v6)
                memcpy(lo, &in6addr_loopback, 16);
            int tcp = c->transport[0] == 't';
            if (x->src_addr.len != alen || memcmp(x->src_addr.data, lo, alen) != 0 ||
                x->dst_addr.len != alen || memcmp(x->dst_addr.data, lo, alen) != 0 ||
                x->ip_protocol != (tcp ? 6u : 17u) ||
                (x->src_port != c->uas_port && x->dst_port != c->uas_port))
                die("%s: address, port or protocol attributes wrong", mode);
            if (x->timestamp_ns < t0 || x->timestamp_ns > x->received_ns)
                die("%s: timestamp is not the capture time", mode);
            if (x->correlation_id.len != 8)
                die("%s: correlation ID missing", mode);
            uint64_t cid = li_get_be64(x->correlation_id.data);
            if (corr && cid != corr)
                die("%s: correlation ID changes within a dialog", mode);
            corr = cid;
            seen_invite |= starts_with(pl, plen, "INVITE ");
            seen_ack |= starts_with(pl, plen, "ACK ");
            seen_bye |= starts_with(pl, plen, "BYE ");
            seen_200 |= starts_with(pl, plen, "SIP/2.0 200 ") &&
                        memmem(pl, plen, "1 INVITE", 8) != NULL;
        }
        if (c->tasked && !(seen_invite && seen_200 && seen_ack && seen_bye))
            die("%s: %s's call over %s: INVITE %d, 200 %d, ACK %d, BYE %d", mode, c->caller,
                c->transport, seen_invite, seen_200, seen_ack, seen_bye);
    }
    received_free(&r);
    printf("siptap_sipp: %s: %zu X2 PDUs in Kafka, byte-exact, nothing of the untasked "
           "calls\n", mode, want);
    return want;
}

/* limf-ingest for one step, writing under its own topic prefix. */
static void ingest_start(x2x3t_ingest *ing, const char *base_prefix, const char *step)
{
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s%s-", base_prefix, step);
    setenv("LIMF_TOPIC_PREFIX", prefix, 1);
    memset(ing, 0, sizeof *ing);
    snprintf(ing->dir, sizeof ing->dir, "%.200s/ingest-%.8s", work, step);
    mkdir(ing->dir, 0700);
    x2x3t_ingest_start(ing, 0, NULL);
    if (n_children < sizeof children / sizeof children[0])
        children[n_children++] = ing->pid;
}

/* ---- the crafted capture of the "pcap" mode ---- */

typedef struct writer {
    FILE *f;
    uint64_t ts;
} writer;

/* Writes one frame 100 ms after the previous one. */
static void put_frame(writer *w, const uint8_t *frame, size_t len)
{
    pb_pcap_write(w->f, w->ts, frame, len);
    w->ts += 100000000ull;
}

static void put(writer *w, const pb_spec *spec)
{
    uint8_t frame[8192];
    size_t n = pb_frame(frame, sizeof frame, spec);
    if (!n)
        die("frame too large");
    put_frame(w, frame, n);
}

static void keep_sent(call *c, const char *m, int n)
{
    c->sent[c->n_sent] = malloc((size_t)n);
    memcpy(c->sent[c->n_sent], m, (size_t)n);
    c->sent_len[c->n_sent++] = (size_t)n;
}

/* The five messages of a dialog, caller -> bob: INVITE (with a body of body_len octets;
 * the caller's identity only in P-Asserted-Identity when anonymous), 200, ACK, BYE, 200. */
static void make_dialog(call *c, const char *call_id, int anonymous, size_t body_len)
{
    char from[128], body[8192], m[8192 + 512];
    if (anonymous)
        snprintf(from, sizeof from, "\"Anonymous\" <sip:anonymous@anonymous.invalid>");
    else
        snprintf(from, sizeof from, "<sip:%s@limf.test>", c->caller);
    memset(body, 'm', body_len);
    body[body_len] = 0;
    snprintf(c->call_id, sizeof c->call_id, "%s", call_id);
    c->n_sent = 0;
    keep_sent(c, m, snprintf(m, sizeof m,
        "INVITE sip:bob@limf.test SIP/2.0\r\nFrom: %s;tag=1\r\nTo: <sip:bob@limf.test>\r\n"
        "P-Asserted-Identity: <sip:%s@limf.test>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
        "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
        from, c->caller, call_id, body_len, body));
    keep_sent(c, m, snprintf(m, sizeof m,
        "SIP/2.0 200 OK\r\nFrom: %s;tag=1\r\nTo: <sip:bob@limf.test>;tag=2\r\nCall-ID: %s\r\n"
        "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n", from, call_id));
    keep_sent(c, m, snprintf(m, sizeof m,
        "ACK sip:bob@limf.test SIP/2.0\r\nFrom: %s;tag=1\r\nTo: <sip:bob@limf.test>;tag=2\r\n"
        "Call-ID: %s\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n", from, call_id));
    keep_sent(c, m, snprintf(m, sizeof m,
        "BYE sip:bob@limf.test SIP/2.0\r\nFrom: %s;tag=1\r\nTo: <sip:bob@limf.test>;tag=2\r\n"
        "Call-ID: %s\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n", from, call_id));
    keep_sent(c, m, snprintf(m, sizeof m,
        "SIP/2.0 200 OK\r\nFrom: %s;tag=1\r\nTo: <sip:bob@limf.test>;tag=2\r\nCall-ID: %s\r\n"
        "CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n", from, call_id));
}

/* IPv4 fragments collected with a Linux cooked v2 header, to be written in any order. */
typedef struct frag_set {
    uint8_t frame[8][2048];
    size_t len[8];
    int n;
} frag_set;

static void keep_fragment(void *ctx, const uint8_t *ip, size_t len)
{
    frag_set *fs = ctx;
    uint8_t *f = fs->frame[fs->n];
    memset(f, 0, 20);
    li_put_be16(f, 0x0800);
    memcpy(f + 20, ip, len);
    fs->len[fs->n++] = 20 + len;
}

/* Returns the capture time of the last frame. */
static uint64_t write_hostile_pcap(const char *path, call *calls, uint64_t t0)
{
    writer w = { pb_pcap_open(path, SIPTAP_DLT_LINUX_SLL2), t0 };
    if (!w.f)
        die("cannot write %s", path);
    call *a = &calls[0], *b = &calls[1], *m = &calls[2];
    make_dialog(a, "hostile-a@limf.test", 1, 4000);
    make_dialog(b, "hostile-b@limf.test", 0, 100);
    make_dialog(m, "hostile-m@limf.test", 0, 50);
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    put_frame(&w, junk, sizeof junk);

    /* A: UDP/IPv4; the 4 kB INVITE in fragments, last first; the rest of the dialog
     * carries alice in no header (the INVITE had her only in P-Asserted-Identity). */
    pb_spec sa = { SIPTAP_DLT_LINUX_SLL2, "127.0.0.1", "127.0.0.1", 40000, 5060, 17, 0, 0,
                   (const uint8_t *)a->sent[0], a->sent_len[0], 0, 0 };
    static frag_set fs;
    fs.n = 0;
    pb_ipv4_fragments(&sa, 1480, 0x4242, keep_fragment, &fs);
    for (int i = fs.n - 1; i >= 0; i--)
        put_frame(&w, fs.frame[i], fs.len[i]);
    pb_spec ra = sa;
    ra.sport = 5060;
    ra.dport = 40000;
    for (int i = 1; i < 5; i++) {
        pb_spec *sp = i % 2 ? &ra : &sa;   /* 200s from bob, ACK and BYE from the caller */
        sp->payload = (const uint8_t *)a->sent[i];
        sp->len = a->sent_len[i];
        if (i == 2) {
            /* Not SIP, on the SIP port; and a frame cut short by the capture. */
            pb_spec http = sa;
            http.payload = (const uint8_t *)"GET / HTTP/1.0\r\n\r\n";
            http.len = 18;
            put(&w, &http);
            uint8_t frame[4096];
            size_t n = pb_frame(frame, sizeof frame, sp);
            put_frame(&w, frame, n / 2);
        }
        put(&w, sp);
    }

    /* B: TCP/IPv6; the INVITE in three segments, out of order, one duplicated. */
    pb_spec sb = { SIPTAP_DLT_LINUX_SLL2, "::1", "::1", 40001, 5060, 6, 7000, X2X3_TCP_SYN,
                   (const uint8_t *)"", 0, 0, 0 };
    put(&w, &sb);
    sb.flags = 0;
    size_t len = b->sent_len[0], cut1 = len / 3, cut2 = 2 * len / 3;
    const struct { size_t off, end; } order[4] = { { cut2, len }, { 0, cut1 }, { 0, cut1 },
                                                   { cut1, cut2 } };
    for (int i = 0; i < 4; i++) {
        sb.seq = 7001 + (uint32_t)order[i].off;
        sb.payload = (const uint8_t *)b->sent[0] + order[i].off;
        sb.len = order[i].end - order[i].off;
        put(&w, &sb);
    }
    /* Bob's direction, picked up mid-message: the tail of an earlier message, then 200. */
    static char rb[4096];
    int n = snprintf(rb, sizeof rb, "ength: 0\r\n\r\n%.*s", (int)b->sent_len[1], b->sent[1]);
    pb_spec bb = { SIPTAP_DLT_LINUX_SLL2, "::1", "::1", 5060, 40001, 6, 99000, 0,
                   (const uint8_t *)rb, (size_t)n, 0, 0 };
    put(&w, &bb);
    /* ACK and BYE in one segment. */
    static char ab[4096];
    n = snprintf(ab, sizeof ab, "%.*s%.*s", (int)b->sent_len[2], b->sent[2],
                 (int)b->sent_len[3], b->sent[3]);
    sb.seq = 7001 + (uint32_t)len;
    sb.payload = (const uint8_t *)ab;
    sb.len = (size_t)n;
    put(&w, &sb);
    bb.seq += (uint32_t)bb.len;
    bb.payload = (const uint8_t *)b->sent[4];
    bb.len = b->sent_len[4];
    put(&w, &bb);

    /* M: mallory, untasked, plain UDP. */
    pb_spec sm = { SIPTAP_DLT_LINUX_SLL2, "127.0.0.1", "127.0.0.1", 40002, 5060, 17, 0, 0,
                   NULL, 0, 0, 0 };
    for (int i = 0; i < 5; i++) {
        sm.payload = (const uint8_t *)m->sent[i];
        sm.len = m->sent_len[i];
        put(&w, &sm);
    }
    /* Alice's INVITE again in fragments, the first one twice with different contents:
     * the datagram must be dropped whole (RFC 5722), not rebuilt from either copy. */
    fs.n = 0;
    sa.sport = 40003;
    sa.payload = (const uint8_t *)a->sent[0];
    sa.len = a->sent_len[0];
    pb_ipv4_fragments(&sa, 1480, 0x4343, keep_fragment, &fs);
    put_frame(&w, fs.frame[0], fs.len[0]);
    fs.frame[0][20 + 20 + 100] ^= 0x20;
    for (int i = 0; i < fs.n; i++)
        put_frame(&w, fs.frame[i], fs.len[i]);
    put_frame(&w, junk, 3);
    fclose(w.f);
    return w.ts - 100000000ull;
}

static int run_pcap_mode(const char *base)
{
    snprintf(work, sizeof work, "/tmp/limf-siptap-test-XXXXXX");
    if (!mkdtemp(work))
        die("mkdtemp");
    call calls[3] = {
        { .caller = "alice", .transport = "u1", .tasked = 1, .uas_port = 5060 },
        { .caller = "alice", .transport = "t1", .v6 = 1, .tasked = 1, .uas_port = 5060 },
        { .caller = "mallory", .transport = "u1", .tasked = 0, .uas_port = 5060 },
    };
    char path[512];
    snprintf(path, sizeof path, "%s/hostile.pcap", work);
    uint64_t t0 = li_now_ns();
    uint64_t capture_end = write_hostile_pcap(path, calls, t0);
    x2x3t_ingest ing;
    ingest_start(&ing, base, "pcap");
    siptap_proc p;
    siptap_start(&p, "pcap", ing.port, NULL, path, "pace = true\n");
    task_alice(&p, ing.port);
    uint64_t start = li_mono_ns();
    int rc = wait_exit(p.pid, 60000);
    double secs = (double)(li_mono_ns() - start) / 1e9;
    if (rc != 0)
        die("limf-siptap on the crafted capture exited with %d (see %s)", rc, p.log);
    /* Frames 100 ms apart: at its own pace the replay takes the capture's duration. */
    double span = (double)(capture_end - t0) / 1e9;
    if (secs < span - 0.3)
        die("siptap.pace: the replay took %.2f s, the capture lasts %.2f s", secs, span);
    check(calls, 3, t0, "pcap");
    calls_free(calls, 3);
    forget(ing.pid);
    x2x3t_ingest_stop(&ing, SIGTERM);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", work);
    if (system(cmd) != 0)
        return 1;
    printf("siptap_pcap: PASS (paced replay %.2f s)\n", secs);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    li_log_init("siptap_sipp", LI_LOG_WARN, 0);
    pki = getenv("LIMF_PKI_DIR");
    build = getenv("LIMF_BUILD_DIR");
    src = getenv("LIMF_SOURCE_DIR");
    const char *base_prefix = getenv("LIMF_TOPIC_PREFIX");
    if (!pki || !build || !src || !base_prefix || !getenv("LIMF_KAFKA_DIR"))
        skip("run through ctest (the Kafka and PKI fixtures)");
    char base[200];
    snprintf(base, sizeof base, "%s", base_prefix);
    if (argc > 1 && strcmp(argv[1], "pcap") == 0)
        return run_pcap_mode(base);
    char ebuf[PCAP_ERRBUF_SIZE];
    pcap_t *probe = pcap_open_live("lo", 128, 0, 10, ebuf);
    if (!probe)
        skip("no live capture on lo (needs root or CAP_NET_RAW)");
    pcap_close(probe);
    if (system("command -v sipp >/dev/null 2>&1") != 0)
        skip("sipp (Debian package sip-tester) is not installed");
    if (system("command -v dumpcap >/dev/null 2>&1") != 0)
        skip("dumpcap (Debian package wireshark-common) is not installed");
    snprintf(work, sizeof work, "/tmp/limf-siptap-test-XXXXXX");
    if (!mkdtemp(work))
        die("mkdtemp");

    x2x3t_ingest ing;
    call calls[] = {
        { .caller = "alice", .transport = "u1", .tasked = 1 },
        { .caller = "mallory", .transport = "u1", .tasked = 0 },
        { .caller = "alice", .transport = "t1", .tasked = 1 },
        { .caller = "mallory", .transport = "t1", .tasked = 0 },
        /* LATE: alice again, after her task is deactivated. */
        { .caller = "alice", .transport = "u1", .tasked = 0 },
        { .caller = "alice", .transport = "t1", .v6 = 1, .tasked = 1 },
        { .caller = "mallory", .transport = "u1", .v6 = 1, .tasked = 0 },
    };
    size_t n_calls = sizeof calls / sizeof calls[0];
    /* Containers sometimes have no ::1: the IPv6 calls (last) are left out then. */
    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_storage ss6;
    socklen_t l6 = loopback(1, 0, &ss6);
    if (s6 < 0 || bind(s6, (struct sockaddr *)&ss6, l6) != 0) {
        printf("siptap_sipp: no IPv6 loopback, IPv6 calls left out\n");
        n_calls -= 2;
    }
    if (s6 >= 0)
        close(s6);
    char filter[1024] = "";
    for (size_t i = 0; i < n_calls; i++) {
        calls[i].uas_port = free_port(calls[i].v6);
        calls[i].uac_port = free_port(calls[i].v6);
        snprintf(filter + strlen(filter), sizeof filter - strlen(filter), "%sport %u",
                 i ? " or " : "", calls[i].uas_port);
    }

    /* 1. Live capture, with dumpcap writing the same traffic to a file for step 2. */
    uint64_t t0 = li_now_ns();
    ingest_start(&ing, base, "live");
    siptap_proc live;
    siptap_start(&live, "live", 0, filter, NULL, "");   /* routed by its destination */
    task_alice(&live, ing.port);
    char pcap_file[512], dumpcap_out[512];
    snprintf(pcap_file, sizeof pcap_file, "%s/calls.pcap", work);
    snprintf(dumpcap_out, sizeof dumpcap_out, "%s/dumpcap.out", work);
    char *dc[] = { "dumpcap", "-q", "-P", "-i", "lo", "-f", filter, "-w", pcap_file, NULL };
    pid_t dpid = spawn(dumpcap_out, dc);
    struct stat st;
    for (int i = 0; i < 100 && (stat(pcap_file, &st) != 0 || st.st_size < 24); i++)
        usleep(50000);
    usleep(300000);
    for (size_t i = 0; i < n_calls; i++)
        if (i != LATE)
            run_call(&calls[i], (int)i);
    long long want = (long long)check(calls, n_calls, t0, "live");
    /* /metrics counts what happened (published once a second). */
    usleep(1200000);
    char text[16384];
    if (x2x3t_https_get(live.metrics_port, "/metrics", pki, "monitoring", text, sizeof text) != 200)
        die("GET /metrics failed");
    long long exported = x2x3t_metric(text, "limf_siptap_exported_total");
    long long sip = x2x3t_metric(text, "limf_siptap_sip_messages_total");
    long long acked = x2x3t_metric(text, "limf_siptap_x2_acked_pdus_total");
    if (exported != want || sip < 2 * want || acked != want ||
        x2x3t_metric(text, "limf_siptap_tasks") != 1)
        die("metrics: exported %lld, sip %lld, acked %lld\n%s", exported, sip, acked, text);
    kill(dpid, SIGTERM);
    wait_exit(dpid, 10000);
    /* Once the task is deactivated over X1, alice's next call yields nothing. */
    untask_alice(&live);
    run_call(&calls[LATE], LATE);
    check(calls, n_calls, t0, "live, after DeactivateTask");
    /* ...although siptap did see it. */
    if (x2x3t_https_get(live.metrics_port, "/metrics", pki, "monitoring", text, sizeof text) != 200 ||
        x2x3t_metric(text, "limf_siptap_sip_messages_total") < sip + (long long)calls[LATE].n_sent ||
        x2x3t_metric(text, "limf_siptap_exported_total") != want ||
        x2x3t_metric(text, "limf_siptap_tasks") != 0)
        die("metrics after DeactivateTask:\n%s", text);
    kill(live.pid, SIGTERM);
    if (wait_exit(live.pid, 15000) != 0)
        die("limf-siptap did not exit cleanly on SIGTERM (see %s)", live.log);

    /* 2. The same calls from the pcap file. */
    forget(ing.pid);
    if (x2x3t_ingest_stop(&ing, SIGTERM) != 0)
        die("limf-ingest did not exit cleanly");
    ingest_start(&ing, base, "file");
    siptap_proc file;
    siptap_start(&file, "file", ing.port, filter, pcap_file, "");
    task_alice(&file, ing.port);
    int rc = wait_exit(file.pid, 30000);
    if (rc != 0)
        die("limf-siptap on a file exited with %d (see %s)", rc, file.log);
    check(calls, n_calls, t0, "file");
    calls_free(calls, sizeof calls / sizeof calls[0]);
    forget(ing.pid);
    x2x3t_ingest_stop(&ing, SIGTERM);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", work);
    if (system(cmd) != 0)
        return 1;
    printf("siptap_sipp: PASS\n");
    return 0;
}
