/* limf-thirdparty-poi: a point of interception as other implementations of ETSI
 * TS 103 221-2 send X2/X3, for testing limf-ingest and the mediator against them
 * (issue 17). It does not use limf's sender: it writes PDUs itself, over blocking TLS.
 *
 *   limf-thirdparty-poi --to HOST:PORT --cert PEM --key PEM --ca PEM --xid UUID
 *       [--processes N] [--sessions N] [--per-session N] [--quiet S] [--target URI]
 *       [--manifest FILE]
 *
 * What it sends, on each of --processes connections (all with the same certificate:
 * several POI processes behind one identity), interleaved:
 *   - --sessions sessions of --per-session PDUs; session s has correlation ID s + 1, and
 *     every (XID, correlation ID) is numbered 0, 1, 2, ... by each connection on its own
 *     (clause 5.3.9), so the connections repeat each other's numbers; connection p
 *     stamps its PDUs p seconds earlier than connection 0 (capture times, not send
 *     times). Session s % 4 selects the form:
 *       0 the standard: version 00 05, 8-octet timestamp, X2 SIP
 *       1 the version swapped (05 00, as lippycat writes it)
 *       2 a 12-octet timestamp (u64 seconds + u32 ns, as lippycat writes it)
 *       3 X3 with payload format 17, "ETSI TS 102 232-1 PS-PDU.Payload" (V1.8.1)
 *   - on correlation ID 100: an X2 with payload direction 9 and an attribute of type 99,
 *     then a PDU of type 9: values from a later edition.
 * Every X2/X3 PDU carries NFID (6), IPID (7), sequence number (8), timestamp (9) and the
 * matched target (17) as the TargetIdentifier's content in XML, and a payload unique to
 * it: "tp-p<p>-s<cid>-k<seq>" (in a SIP MESSAGE's Call-ID for SIP).
 * No keepalives while sending. Then it stays quiet for --quiet seconds, sends one
 * keepalive per connection and waits for the answers on the same connections.
 *
 * Exit 0: every connection answered its keepalive (none was closed); 3: a connection was
 * closed or did not answer; 1: error; 2: usage. The manifest gets one line per X2/X3 PDU
 * sent: "<process> <correlation ID> <seq> <pdu type> <format> <marker>". */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "li_bytes.h"
#include "li_time.h"
#include "li_tls.h"
#include "x2x3_pdu.h"

#define MAX_PROCESSES 8
#define ODD_CID 100
#define ATTR_FUTURE 99            /* an attribute type no edition defines yet */
#define PDU_TYPE_FUTURE 9
#define DIR_FUTURE 9

typedef struct opts {
    const char *to, *cert, *key, *ca, *target, *manifest;
    uint8_t xid[16];
    int processes, sessions, per_session, quiet_s;
} opts;

typedef struct poi {
    int fd;
    SSL *ssl;
} poi;

static void die(const char *what)
{
    fprintf(stderr, "limf-thirdparty-poi: %s\n", what);
    exit(1);
}

static int tcp_connect(const char *to)
{
    char host[256];
    const char *colon = strrchr(to, ':');
    if (!colon || (size_t)(colon - to) >= sizeof host)
        die("--to must be host:port");
    memcpy(host, to, (size_t)(colon - to));
    host[colon - to] = '\0';
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
        die("cannot resolve --to");
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0)
        die("cannot connect");
    freeaddrinfo(res);
    return fd;
}

static void poi_open(poi *p, SSL_CTX *ctx, const char *to)
{
    p->fd = tcp_connect(to);
    p->ssl = SSL_new(ctx);
    SSL_set_fd(p->ssl, p->fd);
    if (SSL_connect(p->ssl) != 1)
        die("TLS handshake failed");
}

static int poi_write(poi *p, const li_buf *b)
{
    return SSL_write(p->ssl, b->data, (int)b->len) == (int)b->len ? 0 : -1;
}

/* One X2/X3 PDU of connection `proc` in the given form (see the header comment). */
static void build(li_buf *out, const opts *o, int proc, uint64_t cid, uint32_t seq, int form,
                  char *marker, size_t marker_size, uint16_t *type, uint16_t *format)
{
    li_buf a, payload;
    li_buf_init(&a, 0);
    li_buf_init(&payload, 0);
    char ipid[32], target[300];
    snprintf(ipid, sizeof ipid, "tp-poi-%d", proc);
    snprintf(marker, marker_size, "tp-p%d-s%llu-k%u", proc, (unsigned long long)cid, seq);
    snprintf(target, sizeof target, "<sipUri>%s</sipUri>", o->target);
    /* Capture time: connection p's clock is p seconds behind connection 0's. */
    uint64_t ns = li_now_ns() - (uint64_t)proc * 1000000000u;
    x2x3_attr_put(&a, X2X3_ATTR_NFID, "tp-nf", 5);
    x2x3_attr_put(&a, X2X3_ATTR_IPID, ipid, strlen(ipid));
    x2x3_attr_put_u32(&a, X2X3_ATTR_SEQ, seq);
    if (form == 2) {
        uint8_t ts[12];
        li_put_be64(ts, ns / 1000000000u);
        li_put_be32(ts + 8, (uint32_t)(ns % 1000000000u));
        x2x3_attr_put(&a, X2X3_ATTR_TIMESTAMP, ts, sizeof ts);
    } else {
        x2x3_attr_put_timestamp(&a, ns);
    }
    x2x3_attr_put(&a, X2X3_ATTR_MATCHED_TARGET, target, strlen(target));
    if (form == 4)
        x2x3_attr_put(&a, ATTR_FUTURE, "future", 6);
    x2x3_pdu p;
    memset(&p, 0, sizeof p);
    p.version = form == 1 ? 0x0500 : X2X3_VERSION;
    p.pdu_type = form == 3 ? X2X3_PDU_X3 : form == 5 ? PDU_TYPE_FUTURE : X2X3_PDU_X2;
    p.payload_format = form == 3 ? X2X3_FORMAT_ETSI_PS_PDU_PAYLOAD : X2X3_FORMAT_SIP;
    p.payload_direction = form == 4 ? DIR_FUTURE : X2X3_DIR_FROM_TARGET;
    memcpy(p.xid, o->xid, 16);
    p.correlation_id = cid;
    if (p.payload_format == X2X3_FORMAT_SIP) {
        char sip[512];
        int n = snprintf(sip, sizeof sip,
                         "MESSAGE sip:bob@example.com SIP/2.0\r\n"
                         "Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK%s\r\n"
                         "From: <%s>;tag=%d\r\nTo: <sip:bob@example.com>\r\n"
                         "Call-ID: %s\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
                         marker, o->target, proc, marker);
        li_buf_append(&payload, sip, (size_t)n);
    } else {
        li_buf_append(&payload, marker, strlen(marker));
    }
    p.attrs = a.data;
    p.attrs_len = a.len;
    p.payload = payload.data;
    p.payload_len = payload.len;
    li_buf_reset(out);
    if (x2x3_pdu_encode(out, &p) != LI_OK)
        die("encode");
    *type = p.pdu_type;
    *format = p.payload_format;
    li_buf_free(&a);
    li_buf_free(&payload);
}

/* Sends a keepalive and waits for its answer: 1 when it came on this connection. */
static int keepalive_answered(poi *p, uint32_t seq)
{
    li_buf b;
    li_buf_init(&b, 0);
    x2x3_keepalive_encode(&b, seq);
    int ok = poi_write(p, &b) == 0;
    li_buf_free(&b);
    uint8_t in[256];
    size_t have = 0;
    uint64_t deadline = li_mono_ns() + 10000000000ull;
    while (ok && li_mono_ns() < deadline) {
        struct pollfd pfd = { p->fd, POLLIN, 0 };
        if (SSL_pending(p->ssl) == 0 && poll(&pfd, 1, 200) <= 0)
            continue;
        int n = SSL_read(p->ssl, in + have, (int)(sizeof in - have));
        if (n <= 0)
            return 0;   /* closed */
        have += (size_t)n;
        x2x3_pdu ack;
        size_t used;
        while (x2x3_pdu_decode(in, have, 0, &ack, &used, NULL) == LI_OK) {
            if (ack.pdu_type == X2X3_PDU_KEEPALIVE_ACK && x2x3_pdu_has(&ack, X2X3_ATTR_SEQ) &&
                ack.seq == seq)
                return 1;
            memmove(in, in + used, have - used);
            have -= used;
        }
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: limf-thirdparty-poi --to HOST:PORT --cert PEM --key PEM --ca PEM "
                    "--xid UUID [--processes N] [--sessions N] [--per-session N] [--quiet S] "
                    "[--target URI] [--manifest FILE]\n");
    exit(2);
}

static void parse(int argc, char **argv, opts *o)
{
    static const struct option longs[] = {
        { "to", 1, 0, 't' },        { "cert", 1, 0, 'c' },      { "key", 1, 0, 'k' },
        { "ca", 1, 0, 'a' },        { "xid", 1, 0, 'x' },       { "processes", 1, 0, 'p' },
        { "sessions", 1, 0, 's' },  { "per-session", 1, 0, 'n' }, { "quiet", 1, 0, 'q' },
        { "target", 1, 0, 'g' },    { "manifest", 1, 0, 'm' },  { 0, 0, 0, 0 } };
    memset(o, 0, sizeof *o);
    o->processes = 1;
    o->sessions = 4;
    o->per_session = 5;
    o->target = "sip:alice@example.com";
    const char *xid = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 't': o->to = optarg; break;
        case 'c': o->cert = optarg; break;
        case 'k': o->key = optarg; break;
        case 'a': o->ca = optarg; break;
        case 'x': xid = optarg; break;
        case 'p': o->processes = atoi(optarg); break;
        case 's': o->sessions = atoi(optarg); break;
        case 'n': o->per_session = atoi(optarg); break;
        case 'q': o->quiet_s = atoi(optarg); break;
        case 'g': o->target = optarg; break;
        case 'm': o->manifest = optarg; break;
        default: usage();
        }
    }
    if (!o->to || !o->cert || !o->key || !o->ca || !xid || li_uuid_parse(xid, o->xid) != LI_OK ||
        o->processes < 1 || o->processes > MAX_PROCESSES || o->sessions < 0 ||
        o->sessions >= ODD_CID || o->per_session < 0 || o->quiet_s < 0)
        usage();
}

int main(int argc, char **argv)
{
    opts o;
    parse(argc, argv, &o);
    signal(SIGPIPE, SIG_IGN);
    char err[512];
    li_tls_opts t = { .server = 0, .cert_file = o.cert, .key_file = o.key, .ca_file = o.ca };
    SSL_CTX *ctx = li_tls_ctx_new(&t, err, sizeof err);
    if (!ctx)
        die(err);
    FILE *manifest = o.manifest ? fopen(o.manifest, "w") : NULL;
    if (o.manifest && !manifest)
        die("cannot write the manifest");
    poi pois[MAX_PROCESSES];
    for (int p = 0; p < o.processes; p++)
        poi_open(&pois[p], ctx, o.to);
    li_buf b;
    li_buf_init(&b, 0);
    int failed = 0;
    /* Sessions of the four forms, then the odd stream; connections interleaved. */
    for (int s = 0; s <= o.sessions; s++) {
        int odd = s == o.sessions;
        int n = odd ? 2 : o.per_session;
        for (int k = 0; k < n; k++) {
            for (int p = 0; p < o.processes; p++) {
                char marker[64];
                uint16_t type, format;
                uint64_t cid = odd ? ODD_CID : (uint64_t)s + 1;
                build(&b, &o, p, cid, (uint32_t)k, odd ? 4 + k : s % 4, marker, sizeof marker,
                      &type, &format);
                if (poi_write(&pois[p], &b) != 0)
                    failed = 1;
                if (manifest)
                    fprintf(manifest, "%d %llu %d %u %u %s\n", p, (unsigned long long)cid, k,
                            type, format, marker);
            }
        }
    }
    if (manifest)
        fclose(manifest);
    li_buf_free(&b);
    if (o.quiet_s)
        sleep((unsigned)o.quiet_s);   /* no keepalives: some POIs send none */
    for (int p = 0; p < o.processes; p++) {
        int ok = !failed && keepalive_answered(&pois[p], 0x7000u + (uint32_t)p);
        printf("connection %d: %s\n", p, ok ? "kept, keepalive answered" : "closed or silent");
        failed |= !ok;
        SSL_shutdown(pois[p].ssl);   /* a clean close: the ingest counts no error */
        SSL_free(pois[p].ssl);
        close(pois[p].fd);
    }
    SSL_CTX_free(ctx);
    return failed ? 3 : 0;
}
