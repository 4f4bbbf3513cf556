/* See x2x3_siptap_metrics.h. */
#include "x2x3_siptap_metrics.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "li_bytes.h"

struct x2x3_siptap_metrics {
    struct MHD_Daemon *mhd;
    pthread_mutex_t mu;
    x2x3_siptap_snapshot snap;
};

typedef struct metric {
    const char *name;
    const char *type;   /* counter or gauge */
    const char *help;
    uint64_t value;
} metric;

static void render(const x2x3_siptap_snapshot *s, li_buf *b)
{
    const metric ms[] = {
        { "limf_siptap_packets_total", "counter", "Frames captured", s->tap.packets },
        { "limf_siptap_decode_errors_total", "counter", "Frames that could not be decoded",
          s->tap.decode_errors },
        { "limf_siptap_kernel_drops_total", "counter", "Frames dropped by the kernel",
          s->kernel_dropped },
        { "limf_siptap_fragments_total", "counter", "IP fragments", s->tap.fragments },
        { "limf_siptap_reassembled_total", "counter", "Datagrams rebuilt from fragments",
          s->tap.reassembled },
        { "limf_siptap_sip_messages_total", "counter", "SIP messages parsed",
          s->tap.sip_messages },
        { "limf_siptap_parse_errors_total", "counter", "Datagrams or stream bytes that were "
          "not SIP", s->tap.parse_errors },
        { "limf_siptap_matched_total", "counter", "SIP messages of a tasked target or dialog",
          s->tap.matched },
        { "limf_siptap_exported_total", "counter", "X2 records handed to the sender",
          s->tap.exported },
        { "limf_siptap_dialogs", "gauge", "Dialogs of tasked targets tracked", s->tap.dialogs },
        { "limf_siptap_dialogs_evicted_total", "counter", "Dialogs dropped for room",
          s->tap.dialogs_evicted },
        { "limf_siptap_tcp_flows", "gauge", "TCP directions tracked", s->tap.tcp.flows },
        { "limf_siptap_tcp_buffered_bytes", "gauge", "Bytes held by TCP reassembly",
          s->tap.tcp.buffered_bytes },
        { "limf_siptap_tcp_gaps_total", "counter", "TCP holes given up",
          s->tap.tcp.gaps },
        { "limf_siptap_tcp_retransmitted_total", "counter", "TCP segments already received",
          s->tap.tcp.retransmitted },
        { "limf_siptap_tcp_out_of_order_total", "counter", "TCP segments out of order",
          s->tap.tcp.out_of_order },
        { "limf_siptap_tcp_overflows_total", "counter", "TCP data discarded at a bound",
          s->tap.tcp.overflows },
        { "limf_siptap_tcp_evicted_total", "counter", "TCP flows dropped for room",
          s->tap.tcp.evicted },
        { "limf_siptap_tasks", "gauge", "X1 tasks held", s->tasks },
        { "limf_siptap_x2_sent_pdus_total", "counter", "X2 PDUs written (resends too)",
          s->x2.sent_pdus },
        { "limf_siptap_x2_acked_pdus_total", "counter", "X2 PDUs acknowledged by the ingest",
          s->x2.acked_pdus },
        { "limf_siptap_x2_dropped_pdus_total", "counter", "X2 PDUs dropped, buffer full",
          s->x2.dropped_pdus },
        { "limf_siptap_x2_buffered_bytes", "gauge", "X2 bytes held until acknowledged",
          s->x2.buffered_bytes },
        { "limf_siptap_x2_reconnects_total", "counter", "X2 reconnections", s->x2.reconnects },
        { "limf_siptap_x2_connected", "gauge", "1 while connected to the ingest",
          (uint64_t)s->x2.connected },
    };
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        li_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", ms[i].name, ms[i].help,
                      ms[i].name, ms[i].type, ms[i].name, (unsigned long long)ms[i].value);
}

static enum MHD_Result on_http(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version,
                               const char *upload_data, size_t *upload_data_size,
                               void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    x2x3_siptap_metrics *m = cls;
    li_buf b;
    li_buf_init(&b, 0);
    unsigned code = MHD_HTTP_OK;
    if (strcmp(method, "GET") != 0) {
        code = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else if (strcmp(url, "/metrics") != 0) {
        code = MHD_HTTP_NOT_FOUND;
    } else {
        x2x3_siptap_snapshot s;
        pthread_mutex_lock(&m->mu);
        s = m->snap;
        pthread_mutex_unlock(&m->mu);
        render(&s, &b);
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
    enum MHD_Result ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    li_buf_free(&b);
    return ret;
}

/* "host:port" or "[v6]:port" with a numeric host. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host)
        return -1;
    const char *h = listen;
    size_t hlen = (size_t)(colon - listen);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    memcpy(host, h, hlen);
    host[hlen] = 0;
    struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
    struct addrinfo *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        return -1;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

x2x3_siptap_metrics *x2x3_siptap_metrics_new(const char *listen, char *errstr,
                                             size_t errstr_size)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (parse_listen(listen, &ss) != 0) {
        snprintf(errstr, errstr_size, "siptap.metrics_listen: bad address '%s'", listen);
        return NULL;
    }
    x2x3_siptap_metrics *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    m->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
                                  (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                              0, NULL, NULL, on_http, m, MHD_OPTION_SOCK_ADDR, &ss,
                              MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!m->mhd) {
        snprintf(errstr, errstr_size, "siptap.metrics_listen: cannot listen on %s", listen);
        x2x3_siptap_metrics_free(m);
        return NULL;
    }
    return m;
}

void x2x3_siptap_metrics_free(x2x3_siptap_metrics *m)
{
    if (!m)
        return;
    if (m->mhd)
        MHD_stop_daemon(m->mhd);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

uint16_t x2x3_siptap_metrics_port(x2x3_siptap_metrics *m)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

void x2x3_siptap_metrics_publish(x2x3_siptap_metrics *m, const x2x3_siptap_snapshot *s)
{
    pthread_mutex_lock(&m->mu);
    m->snap = *s;
    pthread_mutex_unlock(&m->mu);
}
