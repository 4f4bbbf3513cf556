/* bench_relay: relayed MSRP messages/s and MB/s through limf-msrp-relay, UE leg over
 * TLS (limf-test-ue, self-signed certificate), network leg over TCP, with the tap off
 * (untasked target) and on (tasked over X1, X3 of every message to a real limf-ingest
 * and Kafka), and the ratio. Run it with the test broker of a build dir:
 *   LIMF_BUILD_DIR=$PWD LIMF_SOURCE_DIR=.. ../tests/integration/with_kafka.sh bench \
 *     x2x3/bench_relay [seconds=5]
 * Each run: one session, the UE sends for `seconds` with 32 unanswered chunks in flight,
 * the network side answers every SEND with 200. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay_util.h"
#include "x2x3_util.h"

static const uint8_t XID[16] = { 0xbe, 0x4c, 0x90, 0x01, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 9 };
static const uint8_t DID[16] = { 0xbe, 0xd1, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 9 };

typedef struct result {
    double msg_per_s, mb_per_s;
    long messages;
    double relay_cpu_us_per_msg;   /* the relay process, every thread (sender included) */
} result;

/* utime + stime of a process in clock ticks (/proc/PID/stat fields 14 and 15). */
static long long cpu_ticks(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &ut, &st) != 2)
        return -1;
    return ut + st;
}

static result run(const rt_relay *r, const char *target, const char *size, const char *secs,
                  int index)
{
    char name[32], fp[128], cert[700], key[700];
    snprintf(name, sizeof name, "b%d", index);
    rt_ue_cert(name, fp, sizeof fp);
    snprintf(cert, sizeof cert, "%s/%s.pem", rt_dir(), name);
    snprintf(key, sizeof key, "%s/%s.key", rt_dir(), name);
    char nname[40], uname[40];
    snprintf(nname, sizeof nname, "%s-net", name);
    snprintf(uname, sizeof uname, "%s-ue", name);
    uint16_t net_port;
    const char *net_args[] = { "--listen", "127.0.0.1:0", "--tcp", "--path",
                               "msrp://127.0.0.1:9/benchnet;tcp", "--until-closed",
                               "--timeout-ms", "600000", NULL };
    pid_t net = rt_ue_start(nname, net_args, &net_port);
    char body[1024], resp[4096];
    snprintf(body, sizeof body,
             "{\"mode\":\"agw\",\"ue\":{\"transport\":\"tls\",\"fingerprint\":\"%s\","
             "\"path\":\"msrps://127.0.0.1:7/benchue;tcp\"},\"network\":{\"next_hop\":"
             "\"msrp://127.0.0.1:%u/benchnet;tcp\"},\"target\":\"%s\"}",
             fp, net_port, target);
    RT_CHECK(rt_http(r->control_port, "POST", "/v1/sessions", body, resp, sizeof resp) == 201,
             "reserve: %s", resp);
    char to[512], relay_fp[128], port[32];
    rt_json_str(resp, "ue_path", to, sizeof to);
    rt_json_str(resp, "fingerprint", relay_fp, sizeof relay_fp);
    snprintf(port, sizeof port, "127.0.0.1:%ld", rt_json_int(resp, "ue_port"));
    const char *ue_args[] = { "--connect", port, "--cert", cert, "--key", key,
                              "--peer-fingerprint", relay_fp, "--path",
                              "msrps://127.0.0.1:7/benchue;tcp", "--to", to, "--send", size,
                              "--bench", secs, "--window", "32", "--timeout-ms", "600000", NULL };
    long long cpu0 = cpu_ticks(r->pid);
    pid_t ue = rt_ue_start(uname, ue_args, NULL);
    RT_CHECK(rt_wait(ue, 600000) == 0, "bench UE failed");
    long long cpu1 = cpu_ticks(r->pid);
    rt_wait(net, 10000);
    char out[700], *text;
    size_t len;
    snprintf(out, sizeof out, "%s/%s.out", rt_dir(), uname);
    RT_CHECK(rt_read_file(out, &text, &len) == 0, "no output");
    result res = { 0, 0, 0, 0 };
    const char *p = strstr(text, "bench messages ");
    RT_CHECK(p && sscanf(p, "bench messages %ld bytes %*s seconds %*s msg_per_s %lf mb_per_s %lf",
                         &res.messages, &res.msg_per_s, &res.mb_per_s) == 3,
             "bench output: %s", text);
    free(text);
    res.relay_cpu_us_per_msg = res.messages ? (double)(cpu1 - cpu0) * 1e6 /
                                                  (double)sysconf(_SC_CLK_TCK) / (double)res.messages
                                            : 0;
    return res;
}

int main(int argc, char **argv)
{
    const char *secs = argc > 1 ? argv[1] : "5";
    rt_init("bench");
    x2x3t_ingest ing;
    memset(&ing, 0, sizeof ing);
    x2x3t_ingest_start(&ing, 0, NULL);
    rt_adopt(ing.pid);
    rt_relay r;
    rt_relay_start(&r, "relay", 1, ing.port, "[log]\nlevel = info\n");
    rt_x1_task(r.x1_port, XID, DID, ing.port, "sip-uri", "sip:tapped@example.com",
               X1_DELIVERY_X2_AND_X3);
    const char *sizes[] = { "1024", "65536" };
    printf("bench_relay: UE leg TLS (limf-test-ue), network leg TCP, %s s per run, window 32\n", secs);
    printf("| message size | tap | messages/s | MB/s | relay CPU us/message |\n|---|---|---|---|---|\n");
    int index = 0;
    for (size_t i = 0; i < 2; i++) {
        result off = run(&r, "sip:untapped@example.com", sizes[i], secs, index++);
        printf("| %s B | off | %.0f | %.2f | %.1f |\n", sizes[i], off.msg_per_s, off.mb_per_s,
               off.relay_cpu_us_per_msg);
        result on = run(&r, "sip:tapped@example.com", sizes[i], secs, index++);
        printf("| %s B | on | %.0f | %.2f | %.1f |\n", sizes[i], on.msg_per_s, on.mb_per_s,
               on.relay_cpu_us_per_msg);
        printf("| %s B | on/off | %.3f | throughput cost %.1f%% | CPU ratio %.2f |\n", sizes[i],
               on.msg_per_s / off.msg_per_s, 100.0 * (1.0 - on.msg_per_s / off.msg_per_s),
               on.relay_cpu_us_per_msg / off.relay_cpu_us_per_msg);
        fflush(stdout);
    }
    char stats[2048];
    rt_http(r.control_port, "GET", "/v1/stats", NULL, stats, sizeof stats);
    printf("relay stats: %s\n", stats);
    rt_relay_stop(&r);
    x2x3t_ingest_stop(&ing, 15);
    rt_disown(ing.pid);
    rt_done();
    return 0;
}
