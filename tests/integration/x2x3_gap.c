/* Sender buffer overflow (docs/PRINCIPLES.md 4): with the ingest down and a small
 * buffer, records are refused with LI_ERR_FULL and counted per XID; once the ingest is
 * up and the buffer drains, a POI event {"limf_event":"gap","dropped":N} is sent for each
 * XID, before any later record, and everything else arrives. */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "li_log.h"
#include "x2x3_pdu.h"
#include "x2x3_util.h"

typedef struct result {
    int records[2];          /* real records per XID */
    long long gap[2];        /* dropped count of the gap event per XID, -1: none */
    uint32_t gap_seq[2];
    uint32_t max_record_seq_a;
    int bad;
} result;

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    socklen_t sl = sizeof sa;
    X2X3T_CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
                getsockname(fd, (struct sockaddr *)&sa, &sl) == 0, "bind");
    close(fd);
    return ntohs(sa.sin_port);
}

static void send_one(x2x3_sender *s, int xid, int i, int *full)
{
    static char payload[1000];
    memset(payload, 'x', sizeof payload);
    const char *target = xid ? "tel:+4930999" : "sip:alice@example.org";
    x2x3_record r;
    memset(&r, 0, sizeof r);
    r.pdu_type = X2X3_PDU_X3;
    r.payload_format = X2X3_FORMAT_MSRP;
    r.payload_direction = X2X3_DIR_FROM_TARGET;
    r.xid[0] = 0x6a;
    r.xid[15] = (uint8_t)xid;
    r.correlation_id = 42;
    r.matched_targets = &target;
    r.n_matched_targets = 1;
    r.payload = (const uint8_t *)payload;
    r.payload_len = sizeof payload;
    (void)i;
    li_err e = x2x3_sender_send(s, &r);
    X2X3T_CHECK(e == LI_OK || e == LI_ERR_FULL, "send: %s", li_err_str(e));
    if (e == LI_ERR_FULL)
        full[xid]++;
}

static void on_record(const Limf__XPdu *x, void *ctx)
{
    result *res = ctx;
    int xid = x->xid.data[15];
    if (xid > 1) {
        res->bad++;
        return;
    }
    if (x->payload_format == X2X3_FORMAT_PROPRIETARY) {
        json_t *j = json_loadb((const char *)x->payload.data, x->payload.len, 0, NULL);
        const char *ev = json_string_value(json_object_get(j, "limf_event"));
        if (!ev || strcmp(ev, "gap") != 0 || x->pdu_type != X2X3_PDU_X2 ||
            x->n_matched_targets != 1 || res->gap[xid] != -1)
            res->bad++;
        res->gap[xid] = json_integer_value(json_object_get(j, "dropped"));
        res->gap_seq[xid] = x->seq;
        json_decref(j);
        return;
    }
    res->records[xid]++;
    if (xid == 0 && x->seq > res->max_record_seq_a)
        res->max_record_seq_a = x->seq;
}

int main(void)
{
    li_log_init("x2x3_gap", LI_LOG_ERROR, 0);
    uint16_t port = free_port();
    static const char *const opts[] = { "x2x3.buffer_bytes=65536", "x2x3.reconnect_max_s=1",
                                        NULL };
    x2x3_sender *s = x2x3t_sender(port, "poi-test", opts);
    int full[2] = { 0, 0 };
    for (int i = 0; i < 100; i++)
        send_one(s, 0, i, full);
    for (int i = 0; i < 5; i++)
        send_one(s, 1, i, full);
    x2x3_sender_stats st;
    x2x3_sender_stats_get(s, &st);
    printf("ingest down: %d + %d records refused, %llu buffered bytes\n", full[0], full[1],
           (unsigned long long)st.buffered_bytes);
    X2X3T_CHECK(full[0] > 0 && full[1] == 5 && st.dropped_pdus == (uint64_t)(full[0] + full[1]),
                "drops not counted");

    x2x3t_ingest ing = { 0 };
    x2x3t_ingest_start(&ing, port, NULL);
    X2X3T_CHECK(x2x3_sender_flush(s, 30000) == LI_OK, "flush");
    for (int i = 0; i < 3; i++)
        send_one(s, 0, 100 + i, full);
    X2X3T_CHECK(x2x3_sender_flush(s, 30000) == LI_OK, "flush");
    x2x3_sender_free(s);

    result res = { { 0, 0 }, { -1, -1 }, { 0, 0 }, 0, 0 };
    int expect = 100 - full[0] + 3 + 2;
    size_t n = x2x3t_consume((size_t)expect, 60, 1000, on_record, &res);
    printf("consumed %zu: %d + %d records, gap events: xid A dropped %lld, xid B dropped %lld\n",
           n, res.records[0], res.records[1], res.gap[0], res.gap[1]);
    X2X3T_CHECK(res.bad == 0, "unexpected records");
    X2X3T_CHECK(res.gap[0] == full[0] && res.gap[1] == full[1], "gap counts wrong");
    X2X3T_CHECK(res.records[0] == 100 - full[0] + 3 && res.records[1] == 0, "records missing");
    /* The later records of XID A come after its gap event. */
    X2X3T_CHECK(res.gap_seq[0] < res.max_record_seq_a, "gap event after later records");
    int rc = x2x3t_ingest_stop(&ing, SIGTERM);
    X2X3T_CHECK(rc == 0, "limf-ingest exit %d", rc);
    return 0;
}
