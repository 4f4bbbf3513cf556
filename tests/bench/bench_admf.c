/* Benchmark of limf-admf over its real HTTPS API (keep-alive connections, operator client
 * certificate), against a running daemon on the real broker (bench_admf.sh sets it up):
 *   1. warrant creations per second with 1 client, then with 16 concurrent clients
 *      (each creation answered only after Kafka acknowledged record and audit event);
 *   2. GET /v1/warrants/{id} latency (p50/p99/max) with 10,000 warrants stored;
 *   3. peak RSS of the daemon (VmHWM) once 100,000 warrants are stored.
 * Usage: bench_admf PKI_DIR PORT DAEMON_PID [SCALE_PERCENT]  (100: the sizes above) */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "li_time.h"
#include "li_tls.h"

static SSL_CTX *ctx;
static uint16_t port;

typedef struct conn {
    SSL *ssl;
    int fd;
} conn;

static int conn_open(conn *c)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return -1;
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    return SSL_connect(c->ssl) == 1 ? 0 : -1;
}

static void conn_close(conn *c)
{
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
}

/* One request on a keep-alive connection; returns the status or -1. */
static int request(conn *c, const char *method, const char *path, const char *body)
{
    char req[4096], buf[16384];
    size_t blen = body ? strlen(body) : 0;
    /* One write: a separate body write would wait for the delayed ACK (Nagle). */
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nX-Reason: bench\r\n\r\n%s", method, path, blen,
                     body ? body : "");
    if (n <= 0 || (size_t)n >= sizeof req || SSL_write(c->ssl, req, n) != n)
        return -1;
    size_t len = 0;
    char *end = NULL;
    while (!(end = memmem(buf, len, "\r\n\r\n", 4))) {
        int r = SSL_read(c->ssl, buf + len, (int)(sizeof buf - 1 - len));
        if (r <= 0)
            return -1;
        len += (size_t)r;
        if (len >= sizeof buf - 1)
            return -1;
    }
    buf[len] = 0;
    int status = atoi(buf + 9);
    char *cl = strcasestr(buf, "Content-Length:");
    size_t want = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
    size_t have = len - (size_t)(end + 4 - buf);
    while (have < want) {
        int r = SSL_read(c->ssl, buf, (int)(want - have < sizeof buf ? want - have : sizeof buf));
        if (r <= 0)
            return -1;
        have += (size_t)r;
    }
    return status;
}

typedef struct job {
    const char *kind;          /* "create" or "get" */
    atomic_long *next;
    long end;                  /* create: indices [*next, end); get: count */
    long id_space;             /* get: ids b0..b<id_space-1> */
    uint64_t *lat;             /* per request, indexed by request number */
    atomic_long *errors;
    unsigned seed;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    conn c = { NULL, -1 };
    char path[64], body[1024];
    if (conn_open(&c) != 0) {
        atomic_fetch_add(j->errors, 1);
        return NULL;
    }
    for (;;) {
        long i = atomic_fetch_add(j->next, 1);
        if (i >= j->end)
            break;
        uint64_t t0 = li_mono_ns();
        int st;
        if (j->kind[0] == 'c') {
            snprintf(body, sizeof body,
                     "{\"id\":\"b%ld\",\"liid\":\"BENCH%ld\",\"auth_country\":\"DE\","
                     "\"legal_reference\":\"bench order %ld\",\"targets\":["
                     "{\"type\":\"sip-uri\",\"value\":\"sip:user%ld@bench.example\"},"
                     "{\"type\":\"e164\",\"value\":\"+4930%09ld\"}],\"delivery\":\"iri+cc\","
                     "\"destination_ids\":[\"bench-d\"],\"start\":\"2026-01-01T00:00:00Z\","
                     "\"end\":\"2036-01-01T00:00:00Z\"}", i, i, i, i, i);
            st = request(&c, "POST", "/v1/warrants", body);
            if (st != 201)
                atomic_fetch_add(j->errors, 1);
        } else {
            snprintf(path, sizeof path, "/v1/warrants/b%ld", (long)(rand_r(&j->seed) % j->id_space));
            st = request(&c, "GET", path, NULL);
            if (st != 200)
                atomic_fetch_add(j->errors, 1);
        }
        j->lat[i] = li_mono_ns() - t0;
        if (st < 0) {
            conn_close(&c);
            if (conn_open(&c) != 0)
                break;
        }
    }
    conn_close(&c);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Runs `count` requests from index `first` with `clients` threads; prints the rate and
 * latency percentiles. */
static void run(const char *what, const char *kind, long first, long count, int clients,
                long id_space)
{
    atomic_long next = first, errors = 0;
    uint64_t *lat = calloc((size_t)(first + count), sizeof *lat);
    pthread_t th[64];
    job jobs[64];
    uint64_t t0 = li_mono_ns();
    for (int i = 0; i < clients; i++) {
        jobs[i] = (job){ kind, &next, first + count, id_space, lat, &errors, (unsigned)i + 1 };
        pthread_create(&th[i], NULL, worker, &jobs[i]);
    }
    for (int i = 0; i < clients; i++)
        pthread_join(th[i], NULL);
    double secs = (double)(li_mono_ns() - t0) / 1e9;
    qsort(lat + first, (size_t)count, sizeof *lat, cmp_u64);
    printf("%-44s %7ld requests %2d clients %8.1f /s  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms"
           "  errors %ld\n", what, count, clients, (double)count / secs,
           (double)lat[first + count / 2] / 1e6, (double)lat[first + count * 99 / 100] / 1e6,
           (double)lat[first + count - 1] / 1e6, (long)errors);
    fflush(stdout);
    free(lat);
}

static void rss(const char *when, long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0 || strncmp(line, "VmRSS:", 6) == 0)
            printf("%-44s %s", when, line);
    fclose(f);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    char errstr[256], cert[512], key[512], ca[512];
    if (argc < 4) {
        fprintf(stderr, "usage: %s PKI_DIR PORT DAEMON_PID [SCALE_PERCENT]\n", argv[0]);
        return 2;
    }
    port = (uint16_t)atoi(argv[2]);
    long pid = atol(argv[3]);
    long scale = argc > 4 ? atol(argv[4]) : 100;
    snprintf(cert, sizeof cert, "%s/operator.pem", argv[1]);
    snprintf(key, sizeof key, "%s/operator.key", argv[1]);
    snprintf(ca, sizeof ca, "%s/ca.pem", argv[1]);
    li_tls_opts o = { .server = 0, .cert_file = cert, .key_file = key, .ca_file = ca,
                      .peer_name = "127.0.0.1" };
    if (!(ctx = li_tls_ctx_new(&o, errstr, sizeof errstr))) {
        fprintf(stderr, "tls: %s\n", errstr);
        return 1;
    }
    conn c = { NULL, -1 };
    if (conn_open(&c) != 0) {
        fprintf(stderr, "cannot connect to 127.0.0.1:%u\n", port);
        return 1;
    }
    int st = request(&c, "POST", "/v1/destinations",
                     "{\"id\":\"bench-d\",\"hi2_address\":\"127.0.0.1:6000\",\"transport\":"
                     "\"tcp\",\"operator_id\":\"OP\",\"network_element_id\":\"NE\","
                     "\"delivery_country\":\"DE\"}");
    conn_close(&c);
    if (st != 201 && st != 409) {
        fprintf(stderr, "destination: HTTP %d\n", st);
        return 1;
    }
    long n1 = 2000 * scale / 100, n16 = 8000 * scale / 100, n_all = 100000 * scale / 100;
    rss("daemon at start", pid);
    run("POST /v1/warrants (create)", "create", 0, n1, 1, 0);
    run("POST /v1/warrants (create)", "create", n1, n16, 16, 0);
    run("GET /v1/warrants/{id} with 10k stored", "get", 0, 5000 * scale / 100, 1, n1 + n16);
    run("GET /v1/warrants/{id} with 10k stored", "get", 0, 16000 * scale / 100, 16, n1 + n16);
    rss("daemon with 10k warrants", pid);
    run("POST /v1/warrants (create, up to 100k)", "create", n1 + n16, n_all - n1 - n16, 16, 0);
    run("GET /v1/warrants/{id} with 100k stored", "get", 0, 5000 * scale / 100, 1, n_all);
    rss("daemon with 100k warrants", pid);
    SSL_CTX_free(ctx);
    return 0;
}
