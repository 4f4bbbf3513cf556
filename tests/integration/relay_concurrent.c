/* 100 sessions at once through one limf-msrp-relay: 200 limf-test-ue processes, the UEs
 * over TLS (each with its own self-signed certificate), the network sides over TCP,
 * messages both ways, whole and chunked; every body must arrive byte-identical and
 * every session must be released when its endpoints hang up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay_util.h"

#define SESSIONS 100

typedef struct sess {
    pid_t ue, net;
    char f[4][700];
} sess;

static sess all[SESSIONS];

int main(void)
{
    rt_init("concurrent");
    rt_relay r;
    rt_relay_start(&r, "relay", 0, 0, "[log]\nlevel = info\n");
    for (int i = 0; i < SESSIONS; i++) {
        sess *s = &all[i];
        char name[32], fp[128], net_path[96], ue_path[96];
        snprintf(name, sizeof name, "c%d", i);
        rt_ue_cert(name, fp, sizeof fp);
        for (int k = 0; k < 4; k++)
            snprintf(s->f[k], sizeof s->f[k], "%s/%s.%d", rt_dir(), name, k);
        snprintf(net_path, sizeof net_path, "msrp://127.0.0.1:9/n%d;tcp", i);
        snprintf(ue_path, sizeof ue_path, "msrps://127.0.0.1:7/u%d;tcp", i);
        char nname[40], uname[40];
        snprintf(nname, sizeof nname, "%s-net", name);
        snprintf(uname, sizeof uname, "%s-ue", name);
        uint16_t net_port;
        const char *net_args[] = { "--listen", "127.0.0.1:0", "--tcp", "--path", net_path,
                                   "--to", "auto", "--send", "3000", "--send", "20000/1500",
                                   "--expect", "2", "--bodies", s->f[0], "--sent-bodies",
                                   s->f[1], "--timeout-ms", "60000", "--linger-ms", "200",
                                   NULL };
        s->net = rt_ue_start(nname, net_args, &net_port);
        char body[1024], resp[4096];
        snprintf(body, sizeof body,
                 "{\"mode\":\"as\",\"ue\":{\"transport\":\"tls\",\"fingerprint\":\"%s\","
                 "\"path\":\"%s\"},\"network\":{\"next_hop\":\"msrp://127.0.0.1:%u/n%d;tcp\"},"
                 "\"target\":\"sip:user%d@example.com\"}",
                 fp, ue_path, net_port, i, i);
        int st = rt_http(r.control, "POST", "/v1/sessions", body, resp, sizeof resp);
        RT_CHECK(st == 201, "reserve %d: %d %s", i, st, resp);
        char to[512], relay_fp[128], port[32], cert[700], key[700];
        rt_json_str(resp, "ue_path", to, sizeof to);
        rt_json_str(resp, "fingerprint", relay_fp, sizeof relay_fp);
        snprintf(port, sizeof port, "127.0.0.1:%ld", rt_json_int(resp, "ue_port"));
        snprintf(cert, sizeof cert, "%s/%s.pem", rt_dir(), name);
        snprintf(key, sizeof key, "%s/%s.key", rt_dir(), name);
        const char *ue_args[] = { "--connect", port, "--cert", cert, "--key", key,
                                  "--peer-fingerprint", relay_fp, "--path", ue_path, "--to", to,
                                  "--send", "2000", "--send", "30000/4000", "--expect", "2",
                                  "--bodies", s->f[2], "--sent-bodies", s->f[3],
                                  "--timeout-ms", "60000", "--linger-ms", "200", NULL };
        s->ue = rt_ue_start(uname, ue_args, NULL);
    }
    int failed = 0;
    for (int i = 0; i < SESSIONS; i++) {
        int a = rt_wait(all[i].ue, 90000), b = rt_wait(all[i].net, 30000);
        if (a != 0 || b != 0 || !rt_same_file(all[i].f[3], all[i].f[0]) ||
            !rt_same_file(all[i].f[1], all[i].f[2])) {
            fprintf(stderr, "session %d: ue %d net %d or bodies differ\n", i, a, b);
            failed++;
        }
    }
    RT_CHECK(failed == 0, "%d of %d sessions failed", failed, SESSIONS);
    char stats[2048];
    for (int i = 0; i < 50; i++) {
        RT_CHECK(rt_http(r.control, "GET", "/v1/stats", NULL, stats, sizeof stats) == 200,
                 "stats");
        if (rt_json_int(stats, "sessions_active") == 0)
            break;
        usleep(100000);
    }
    RT_CHECK(rt_json_int(stats, "sessions_reserved") == SESSIONS, "stats: %s", stats);
    RT_CHECK(rt_json_int(stats, "sessions_active") == 0, "sessions not released: %s", stats);
    /* Per session: the UE sends 1 + 8 SEND chunks, the network side 1 + 14, each answered. */
    RT_CHECK(rt_json_int(stats, "messages_relayed") == SESSIONS * 2 * (9 + 15),
             "messages relayed: %s", stats);
    RT_CHECK(rt_relay_stop(&r) == 0, "relay exit (see %s)", r.log);
    rt_done();
    printf("relay_concurrent: %d sessions, every body byte-identical\n", SESSIONS);
    return 0;
}
