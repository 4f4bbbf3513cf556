/* The relay's TLS next hop, verified by CA when the SDP gives no fingerprint, must be
 * named by its certificate (RFC 6125 section 6): the same CA-signed peer (its
 * certificate names 127.0.0.1, ::1 and localhost) is accepted at 127.0.0.1 and refused
 * at 127.0.0.2, where a CA-signed certificate of another host would sit; nothing of the
 * UE's reaches it there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "li_tls.h"
#include "relay_util.h"

/* One session towards a TLS peer listening on host; returns the peer's exit status. */
static int session_to(const rt_relay *r, const char *name, const char *host, int *ue_rc)
{
    char ue_fp[128], relay_fp[128], hex[96], pem[700], key[700], f[2][700];
    rt_ue_cert(name, ue_fp, sizeof ue_fp);
    uint8_t raw[32];
    snprintf(pem, sizeof pem, "%s/relay-agw.pem", rt_pki());
    RT_CHECK(li_tls_file_fingerprint(pem, raw) == LI_OK, "relay certificate");
    li_tls_fingerprint_format(raw, hex);
    snprintf(relay_fp, sizeof relay_fp, "sha-256 %s", hex);
    for (int i = 0; i < 2; i++)
        snprintf(f[i], sizeof f[i], "%s/%s.bodies.%d", rt_dir(), name, i);
    snprintf(pem, sizeof pem, "%s/lemf.pem", rt_pki());
    snprintf(key, sizeof key, "%s/lemf.key", rt_pki());
    char listen[64], netname[64], net_path[128];
    snprintf(listen, sizeof listen, "%s:0", host);
    snprintf(netname, sizeof netname, "%s-net", name);
    snprintf(net_path, sizeof net_path, "msrps://%s:9/%snet;tcp", host, name);
    const char *net_args[] = { "--listen", listen, "--cert", pem, "--key", key,
                               "--peer-fingerprint", relay_fp, "--path", net_path, "--to",
                               "auto", "--send", "1000", "--expect", "1", "--bodies", f[0],
                               "--timeout-ms", "10000", "--linger-ms", "300", NULL };
    uint16_t net_port;
    pid_t net = rt_ue_start(netname, net_args, &net_port);
    char body[2048], resp[4096];
    snprintf(body, sizeof body,
             "{\"mode\":\"as\",\"ue\":{\"transport\":\"tls\",\"fingerprint\":\"%s\","
             "\"path\":\"msrps://127.0.0.1:7/%sue;tcp\"},\"network\":{\"next_hop\":"
             "\"msrps://%s:%u/%snet;tcp\"},\"target\":\"sip:%s@example.com\"}",
             ue_fp, name, host, net_port, name, name);
    RT_CHECK(rt_http(r->control, "POST", "/v1/sessions", body, resp, sizeof resp) == 201,
             "reserve %s: %s", name, resp);
    char to[512], port[32], cert[700], ukey[700], fp[128];
    rt_json_str(resp, "ue_path", to, sizeof to);
    rt_json_str(resp, "fingerprint", fp, sizeof fp);
    snprintf(port, sizeof port, "127.0.0.1:%ld", rt_json_int(resp, "ue_port"));
    snprintf(cert, sizeof cert, "%s/%s.pem", rt_dir(), name);
    snprintf(ukey, sizeof ukey, "%s/%s.key", rt_dir(), name);
    char uename[64], own[128];
    snprintf(uename, sizeof uename, "%s-ue", name);
    snprintf(own, sizeof own, "msrps://127.0.0.1:7/%sue;tcp", name);
    const char *ue_args[] = { "--connect", port, "--cert", cert, "--key", ukey,
                              "--peer-fingerprint", fp, "--path", own, "--to", to, "--send",
                              "2000", "--expect", "1", "--bodies", f[1], "--timeout-ms",
                              "10000", "--linger-ms", "300", NULL };
    pid_t ue = rt_ue_start(uename, ue_args, NULL);
    *ue_rc = rt_wait(ue, 20000);
    return rt_wait(net, 20000);
}

static long file_size(const char *path)
{
    char *text;
    size_t len;
    if (rt_read_file(path, &text, &len) != 0)
        return 0;
    free(text);
    return (long)len;
}

int main(void)
{
    rt_init("nexthop");
    char conf[700];
    snprintf(conf, sizeof conf, "[relay]\nnetwork.tls.ca = %s/ca.pem\nconnect_timeout_ms = 1500\n",
             rt_pki());
    rt_relay r;
    rt_relay_start(&r, "relay", 0, 0, conf);
    int ue_rc;
    int net_rc = session_to(&r, "named", "127.0.0.1", &ue_rc);
    RT_CHECK(net_rc == 0 && ue_rc == 0, "the named next hop was not reached (ue %d, peer %d)",
             ue_rc, net_rc);
    net_rc = session_to(&r, "unnamed", "127.0.0.2", &ue_rc);
    RT_CHECK(net_rc != 0, "a next hop its certificate does not name was accepted");
    RT_CHECK(ue_rc != 0, "the UE's session went through to an unnamed next hop");
    char f[700];
    snprintf(f, sizeof f, "%s/unnamed.bodies.0", rt_dir());
    RT_CHECK(file_size(f) == 0, "the unnamed next hop received the UE's message");
    RT_CHECK(rt_relay_stop(&r) == 0, "relay exit (see %s)", r.log);
    char *log;
    size_t len;
    RT_CHECK(rt_read_file(r.log, &log, &len) == 0 && strstr(log, "network leg refused") &&
                 strstr(log, "IP address mismatch"),
             "the refusal is not the host-name check (see %s)", r.log);
    free(log);
    rt_done();
    printf("relay_nexthop: the TLS next hop must be named by its certificate\n");
    return 0;
}
