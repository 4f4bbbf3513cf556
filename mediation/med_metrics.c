#include "med_metrics.h"

#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "li_bytes.h"

struct med_metrics {
    struct MHD_Daemon *mhd;
    pthread_mutex_t mu;
    med_metrics_values v;
};

static enum MHD_Result on_http(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version,
                               const char *upload_data, size_t *upload_data_size,
                               void **con_cls)
{
    (void)version, (void)upload_data, (void)upload_data_size, (void)con_cls;
    med_metrics *m = cls;
    if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0) {
        struct MHD_Response *r = MHD_create_response_from_buffer(
            10, (void *)"not found\n", MHD_RESPMEM_PERSISTENT);
        enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, r);
        MHD_destroy_response(r);
        return ret;
    }
    pthread_mutex_lock(&m->mu);
    med_metrics_values v = m->v;
    pthread_mutex_unlock(&m->mu);
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } rows[] = {
#define ROW(f, t, h) { "limf_mediator_" #f, t, h, offsetof(med_metrics_values, f) }
        ROW(pdus, "counter", "XPdu records processed"),
        ROW(records, "counter", "HI records produced (per destination)"),
        ROW(transactions, "counter", "Kafka transactions committed"),
        ROW(aborts, "counter", "Kafka transactions aborted (engines rebuilt)"),
        ROW(iri, "counter", "IRI records (per LIID)"),
        ROW(cc, "counter", "CC records (per LIID)"),
        ROW(dropped_no_task, "counter", "PDUs of an XID without warrant"),
        ROW(dropped_window, "counter", "PDUs outside every warrant's window"),
        ROW(dropped_iri_only, "counter", "X3 PDUs of tasks whose warrants are IRI-only"),
        ROW(retransmissions, "counter", "SIP retransmissions suppressed"),
        ROW(resent_copies, "counter", "PDUs a POI resent after a reconnect, dropped"),
        ROW(malformed, "counter", "malformed PDUs (reported to the LEA)"),
        ROW(orphans_expired, "counter", "X3 delivered under its own CIN after the wait"),
        ROW(sessions, "gauge", "live communications"),
        ROW(pending_bytes, "gauge", "X3 bytes waiting for signalling"),
        ROW(partitions, "gauge", "assigned limf.xpdu partitions"),
        ROW(warrants, "gauge", "warrants in the task table"),
#undef ROW
    };
    li_buf b;
    li_buf_init(&b, 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint64_t x;
        memcpy(&x, (const char *)&v + rows[i].off, sizeof x);
        li_buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", rows[i].name, rows[i].help,
                      rows[i].name, rows[i].type, rows[i].name, (unsigned long long)x);
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(b.len, b.data,
                                                             MHD_RESPMEM_MUST_COPY);
    li_buf_free(&b);
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss)
{
    const char *colon = strrchr(listen, ':');
    char host[128];
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

med_metrics *med_metrics_new(const char *listen, char *errstr, size_t errstr_size)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (parse_listen(listen, &ss) != 0) {
        snprintf(errstr, errstr_size, "mediator.metrics_listen: bad address '%s'", listen);
        return NULL;
    }
    med_metrics *m = calloc(1, sizeof *m);
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
        snprintf(errstr, errstr_size, "mediator.metrics_listen: cannot listen on %s", listen);
        med_metrics_free(m);
        return NULL;
    }
    return m;
}

void med_metrics_set(med_metrics *m, const med_metrics_values *v)
{
    pthread_mutex_lock(&m->mu);
    m->v = *v;
    pthread_mutex_unlock(&m->mu);
}

uint16_t med_metrics_port(const med_metrics *m)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : 0;
}

void med_metrics_free(med_metrics *m)
{
    if (!m)
        return;
    if (m->mhd)
        MHD_stop_daemon(m->mhd);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
