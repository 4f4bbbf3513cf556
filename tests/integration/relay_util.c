#include "relay_util.h"

#include "ready_port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "li_config.h"
#include "x1_client.h"

#define MAX_CHILDREN 1024

static char dir[512];
static pid_t children[MAX_CHILDREN];
static size_t n_children;

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

const char *rt_dir(void) { return dir; }
const char *rt_pki(void) { return env_or("LIMF_PKI_DIR", "test-pki"); }
const char *rt_build(void) { return env_or("LIMF_BUILD_DIR", "."); }

void rt_init(const char *name)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof dir, "%s/relay-test-%s-%d", rt_build(), name, (int)getpid());
    mkdir(dir, 0700);
}

static void forget(pid_t pid)
{
    for (size_t i = 0; i < n_children; i++)
        if (children[i] == pid)
            children[i] = 0;
}

void rt_cleanup(void)
{
    for (size_t i = 0; i < n_children; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    }
}

void rt_adopt(pid_t pid)
{
    if (n_children < MAX_CHILDREN)
        children[n_children++] = pid;
}

void rt_disown(pid_t pid)
{
    forget(pid);
}

void rt_done(void)
{
    rt_cleanup();
    char *argv[] = { "/bin/rm", "-rf", dir, NULL };
    rt_wait(rt_spawn(NULL, argv), 60000);
}

pid_t rt_spawn(const char *log, char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    RT_CHECK(pid > 0, "fork failed");
    RT_CHECK(n_children < MAX_CHILDREN, "too many children");
    children[n_children++] = pid;
    return pid;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int rt_wait(pid_t pid, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            forget(pid);
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        if (now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            forget(pid);
            return -1;
        }
        usleep(10000);
    }
}

int rt_read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n + 1);
    *len = fread(*out, 1, (size_t)n, f);
    (*out)[*len] = '\0';
    fclose(f);
    return 0;
}

int rt_same_file(const char *a, const char *b)
{
    char *x, *y;
    size_t xl, yl;
    if (rt_read_file(a, &x, &xl) != 0)
        return 0;
    if (rt_read_file(b, &y, &yl) != 0) {
        free(x);
        return 0;
    }
    int eq = xl == yl && xl > 0 && memcmp(x, y, xl) == 0;
    free(x);
    free(y);
    return eq;
}

void rt_json_str(const char *json, const char *key, char *out, size_t out_size)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    out[0] = '\0';
    if (!p)
        return;
    p += strlen(pat);
    const char *e = strchr(p, '"');
    if (!e)
        return;
    snprintf(out, out_size, "%.*s", (int)(e - p), p);
}

long rt_json_int(const char *json, const char *key)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

void rt_relay_start(rt_relay *r, const char *name, int with_x1, uint16_t x2x3_port,
                    const char *extra_conf)
{
    char conf[600], ready[600];
    snprintf(conf, sizeof conf, "%s/%s.conf", dir, name);
    snprintf(ready, sizeof ready, "%s/%s.ready", dir, name);
    snprintf(r->log, sizeof r->log, "%s/%s.log", dir, name);
    snprintf(r->control, sizeof r->control, "%s/%s.ctl", dir, name);
    RT_CHECK(strlen(r->control) < sizeof((struct sockaddr_un *)0)->sun_path,
             "control socket path too long: %s", r->control);
    unlink(ready);
    const char *pki = rt_pki();
    FILE *f = fopen(conf, "w");
    RT_CHECK(f, "cannot write %s", conf);
    fprintf(f, "daemon.ready_file = %s\n[relay]\ncontrol.socket = %s\n"
               "ue.tls.cert = %s/relay-agw.pem\n"
               "ue.tls.key = %s/relay-agw.key\n",
            ready, r->control, pki, pki);
    if (with_x1)
        fprintf(f, "[x1]\nlisten = 127.0.0.1:0\nne_id = relay-test\nadmf_id = admf-test\n"
                   "allowed_clients = admf\n"
                   "tls.cert = %s/relay-agw.pem\ntls.key = %s/relay-agw.key\ntls.ca = %s/ca.pem\n",
                pki, pki, pki);
    if (with_x1 || x2x3_port)
        fprintf(f, "[x2x3]\npoi_id = relay-test\nkeepalive_s = 1\n"
                   "tls.cert = %s/relay-agw.pem\ntls.key = %s/relay-agw.key\ntls.ca = %s/ca.pem\n"
                   "tls.peer_name = 127.0.0.1\n",
                pki, pki, pki);
    if (x2x3_port)
        fprintf(f, "address = 127.0.0.1:%u\n", x2x3_port);
    fprintf(f, "[log]\nlevel = debug\n%s\n", extra_conf ? extra_conf : "");
    fclose(f);
    char bin[512];
    snprintf(bin, sizeof bin, "%s/bin/limf-msrp-relay", rt_build());
    char *argv[] = { bin, "-c", conf, NULL };
    r->pid = rt_spawn(r->log, argv);
    for (int i = 0; i < 200; i++) {
        /* The control socket as the ready file names it: the one the relay bound. */
        if (ready_socket(ready, "control", r->control, sizeof r->control) == 0) {
            r->x1_port = (uint16_t)ready_port(ready, "x1");
            r->metrics_port = (uint16_t)ready_port(ready, "metrics");
            return;
        }
        int st;
        if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
            forget(r->pid);
            break;
        }
        usleep(50000);
    }
    RT_CHECK(0, "limf-msrp-relay did not start (see %s)", r->log);
}

int rt_relay_stop(rt_relay *r)
{
    kill(r->pid, SIGTERM);
    return rt_wait(r->pid, 10000);
}

int rt_http(const char *sock, const char *method, const char *path, const char *body,
            char *out, size_t out_size)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    size_t blen = body ? strlen(body) : 0;
    char head[512];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     method, path, blen);
    if (write(fd, head, (size_t)n) != n || (blen && write(fd, body, blen) != (ssize_t)blen)) {
        close(fd);
        return -1;
    }
    char buf[65536];
    size_t got = 0;
    ssize_t k;
    while (got < sizeof buf - 1 && (k = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)k;
    close(fd);
    buf[got] = '\0';
    int status = -1;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    const char *b = strstr(buf, "\r\n\r\n");
    if (out)
        snprintf(out, out_size, "%s", b ? b + 4 : "");
    return status;
}

x1_client *rt_x1_client(li_config **cfg_out)
{
    li_config *cfg = li_config_new();
    char v[512], err[512];
    snprintf(v, sizeof v, "%s/admf.pem", rt_pki());
    li_config_set(cfg, "x1c.tls.cert", v);
    snprintf(v, sizeof v, "%s/admf.key", rt_pki());
    li_config_set(cfg, "x1c.tls.key", v);
    snprintf(v, sizeof v, "%s/ca.pem", rt_pki());
    li_config_set(cfg, "x1c.tls.ca", v);
    li_config_set(cfg, "x1c.admf_id", "admf-test");
    x1_client *c = x1_client_new(cfg, "x1c", err, sizeof err);
    RT_CHECK(c, "x1 client: %s", err);
    *cfg_out = cfg;
    return c;
}

void rt_task(x1_task *t, const uint8_t xid[16], const char *target_type, const char *target,
             x1_delivery delivery, const uint8_t (*dids)[16], size_t n_dids)
{
    memset(t, 0, sizeof *t);
    memcpy(t->xid, xid, 16);
    snprintf(t->targets[0].type, sizeof t->targets[0].type, "%s", target_type);
    snprintf(t->targets[0].value, sizeof t->targets[0].value, "%s", target);
    t->n_targets = 1;
    t->delivery = delivery;
    memcpy(t->dids, dids, n_dids * 16);
    t->n_dids = n_dids;
}

void rt_x1_task(uint16_t x1_port, const uint8_t xid[16], const uint8_t did[16],
                uint16_t ingest_port, const char *target_type, const char *target,
                x1_delivery delivery)
{
    li_config *cfg;
    x1_client *c = rt_x1_client(&cfg);
    char url[128], addr[64], err[512];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/X1/NE", x1_port);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", ingest_port);
    li_err e = x1_client_create_destination(c, url, "relay-test", did, addr, X1_DELIVERY_X2_AND_X3,
                                            err, sizeof err);
    RT_CHECK(e == LI_OK || e == LI_ERR_PROTO, "CreateDestination: %s", err);
    x1_task t;
    rt_task(&t, xid, target_type, target, delivery, (const uint8_t (*)[16])did, 1);
    RT_CHECK(x1_client_activate(c, url, "relay-test", &t, err, sizeof err) == LI_OK,
             "ActivateTask: %s", err);
    x1_client_free(c);
    li_config_free(cfg);
}

void rt_x1_exception(uint16_t x1_port, const char *id, const uint8_t fingerprint[32],
                     const char *peer, int64_t expires_ms)
{
    li_config *cfg;
    x1_client *c = rt_x1_client(&cfg);
    char url[128], err[512];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/X1/NE", x1_port);
    x1_cert_exception exc;
    memset(&exc, 0, sizeof exc);
    snprintf(exc.id, sizeof exc.id, "%s", id);
    memcpy(exc.fingerprint, fingerprint, 32);
    snprintf(exc.peer, sizeof exc.peer, "%s", peer);
    exc.expires_ms = expires_ms;
    RT_CHECK(x1_client_create_exception(c, url, "relay-test", &exc, err, sizeof err) == LI_OK,
             "CreateObject (exception): %s", err);
    x1_client_free(c);
    li_config_free(cfg);
}

static const char *ue_bin(void)
{
    static char bin[512];
    snprintf(bin, sizeof bin, "%s/bin/limf-test-ue", rt_build());
    return bin;
}

void rt_ue_cert(const char *name, char *fp, size_t fp_size)
{
    char prefix[600], out[600];
    snprintf(prefix, sizeof prefix, "%s/%s", dir, name);
    snprintf(out, sizeof out, "%s/%s.fp", dir, name);
    char *argv[] = { (char *)ue_bin(), "--gen-cert", prefix, NULL };
    pid_t pid = rt_spawn(out, argv);
    RT_CHECK(rt_wait(pid, 10000) == 0, "limf-test-ue --gen-cert failed");
    char *text;
    size_t len;
    RT_CHECK(rt_read_file(out, &text, &len) == 0, "no fingerprint");
    text[strcspn(text, "\n")] = '\0';
    snprintf(fp, fp_size, "%s", text);
    free(text);
}

pid_t rt_ue_start(const char *name, const char *const *args, uint16_t *port)
{
    char *argv[64];
    size_t n = 0;
    argv[n++] = (char *)ue_bin();
    for (size_t i = 0; args[i] && n < 62; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    char out[600], err[600];
    snprintf(out, sizeof out, "%s/%s.out", dir, name);
    snprintf(err, sizeof err, "%s/%s.err", dir, name);
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    RT_CHECK(pid > 0 && n_children < MAX_CHILDREN, "fork failed");
    children[n_children++] = pid;
    if (port) {
        *port = 0;
        for (int i = 0; i < 400 && !*port; i++) {
            char *text;
            size_t len;
            if (rt_read_file(out, &text, &len) == 0) {
                const char *p = strstr(text, "listening ");
                if (p)
                    *port = (uint16_t)atoi(p + 10);
                free(text);
            }
            if (!*port)
                usleep(10000);
        }
        RT_CHECK(*port, "UE %s did not listen", name);
    }
    return pid;
}
