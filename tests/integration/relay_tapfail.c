/* A failing tap never breaks the relayed session (docs/PRINCIPLES.md 7): the relay is tasked for
 * the session's target, but its X2/X3 destination is down and its buffer is tiny, so
 * every X3 record is refused; the session must still relay 1 MiB both ways
 * byte-identical, and the relay must stay healthy. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay_util.h"

static const uint8_t XID[16] = { 0x7e, 0x1a, 0x90, 0x03, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 3 };
static const uint8_t DID[16] = { 0xd3, 0xd3, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 3 };

/* A loopback port nobody listens on. */
static uint16_t dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

int main(void)
{
    rt_init("tapfail");
    uint16_t dead = dead_port();
    rt_relay r;
    rt_relay_start(&r, "relay", 1, 0, "[x2x3]\nbuffer_bytes = 65536\nreconnect_max_s = 1\n");
    rt_x1_task(r.x1_port, XID, DID, dead, "sip-uri", "sip:alice@example.com",
               X1_DELIVERY_X2_AND_X3);
    char fp[128];
    rt_ue_cert("ue", fp, sizeof fp);
    char f[4][700];
    for (int i = 0; i < 4; i++)
        snprintf(f[i], sizeof f[i], "%s/body.%d", rt_dir(), i);
    uint16_t net_port;
    const char *net_args[] = { "--listen", "127.0.0.1:0", "--tcp", "--path",
                               "msrp://127.0.0.1:9/net;tcp", "--to", "auto", "--send",
                               "1048576", "--send", "200000/10000", "--expect", "2",
                               "--bodies", f[0], "--sent-bodies", f[1], "--timeout-ms",
                               "30000", "--linger-ms", "300", NULL };
    pid_t net = rt_ue_start("net", net_args, &net_port);
    char body[1024], resp[4096];
    snprintf(body, sizeof body,
             "{\"ue\":{\"fingerprint\":\"%s\",\"path\":\"msrps://127.0.0.1:7/ue;tcp\"},"
             "\"network\":{\"next_hop\":\"msrp://127.0.0.1:%u/net;tcp\"},"
             "\"target\":\"sip:alice@example.com\"}", fp, net_port);
    RT_CHECK(rt_http(r.control, "POST", "/v1/sessions", body, resp, sizeof resp) == 201,
             "reserve: %s", resp);
    char to[512], relay_fp[128], port[32], cert[700], key[700];
    rt_json_str(resp, "ue_path", to, sizeof to);
    rt_json_str(resp, "fingerprint", relay_fp, sizeof relay_fp);
    snprintf(port, sizeof port, "127.0.0.1:%ld", rt_json_int(resp, "ue_port"));
    snprintf(cert, sizeof cert, "%s/ue.pem", rt_dir());
    snprintf(key, sizeof key, "%s/ue.key", rt_dir());
    const char *ue_args[] = { "--connect", port, "--cert", cert, "--key", key,
                              "--peer-fingerprint", relay_fp, "--path",
                              "msrps://127.0.0.1:7/ue;tcp", "--to", to, "--send", "1048576",
                              "--send", "300000/4096", "--report", "--expect", "2", "--bodies",
                              f[2], "--sent-bodies", f[3], "--timeout-ms", "30000",
                              "--linger-ms", "300", NULL };
    pid_t ue = rt_ue_start("ue", ue_args, NULL);
    RT_CHECK(rt_wait(ue, 40000) == 0, "UE failed while the tap was failing");
    RT_CHECK(rt_wait(net, 40000) == 0, "network side failed while the tap was failing");
    RT_CHECK(rt_same_file(f[3], f[0]) && rt_same_file(f[1], f[2]),
             "bodies differ while the tap was failing");
    RT_CHECK(rt_http(r.control, "GET", "/healthz", NULL, resp, sizeof resp) == 200,
             "relay unhealthy");
    RT_CHECK(rt_relay_stop(&r) == 0, "relay exit (see %s)", r.log);
    /* The session was tapped and the sender did refuse its records. */
    char *log;
    size_t len;
    RT_CHECK(rt_read_file(r.log, &log, &len) == 0 && strstr(log, "tapped for task") &&
                 strstr(log, "record refused"),
             "the tap did not fail as arranged (see %s)", r.log);
    free(log);
    rt_done();
    printf("relay_tapfail: X2/X3 down and full, the session relayed byte-identical\n");
    return 0;
}
