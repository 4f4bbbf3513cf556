/* Writes records to the real broker (mutual TLS) for admf_x1.c:
 *   admf_test_xpdu create-topic                  limf.poi.events, as the first ingest would
 *   admf_test_xpdu passthrough POI EXC XID       the X2 POI event of a relay that passed a
 *                                                session through under exception EXC
 *   admf_test_xpdu forge-audit INDEX             a rogue writer's event appended to
 *                                                limf.audit, claiming index INDEX */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "li_bytes.h"
#include "li_kafka.h"
#include "audit.pb-c.h"
#include "xpdu.pb-c.h"

int main(int argc, char **argv)
{
    char errstr[512], topic[256], path[600];
    const char *pki = getenv("LIMF_PKI_DIR");
    if (argc < 2 || !pki || !getenv("LIMF_KAFKA_TLS_BOOTSTRAP")) {
        fprintf(stderr, "usage: %s create-topic | passthrough POI EXCEPTION XID (under ctest)\n",
                argv[0]);
        return 2;
    }
    li_config *cfg = li_config_new();
    li_config_set(cfg, "kafka.bootstrap.servers", getenv("LIMF_KAFKA_TLS_BOOTSTRAP"));
    li_config_set(cfg, "kafka.security.protocol", "ssl");
    snprintf(path, sizeof path, "%s/ca.pem", pki);
    li_config_set(cfg, "kafka.ssl.ca.location", path);
    snprintf(path, sizeof path, "%s/ingest.pem", pki);
    li_config_set(cfg, "kafka.ssl.certificate.location", path);
    snprintf(path, sizeof path, "%s/ingest.key", pki);
    li_config_set(cfg, "kafka.ssl.key.location", path);
    li_config_set(cfg, "topics.prefix", getenv("LIMF_TOPIC_PREFIX"));
    li_kafka_topic(cfg, "limf.poi.events", topic, sizeof topic);
    static const char *const props[] = { "enable.idempotence", "true", "acks", "all", NULL };
    rd_kafka_t *p = li_kafka_producer_new(cfg, props, NULL, NULL, errstr, sizeof errstr);
    if (!p || li_kafka_ensure_topic(p, topic, 2, 0, 15000, errstr, sizeof errstr) != LI_OK) {
        fprintf(stderr, "kafka: %s\n", errstr);
        li_kafka_destroy(p, 1000);
        li_config_free(cfg);
        return 1;
    }
    int rc = 0;
    if (strcmp(argv[1], "forge-audit") == 0 && argc == 3) {
        uint8_t prev[32], hash[32], buf[1024];
        memset(prev, 0x5a, sizeof prev);
        memset(hash, 0xa5, sizeof hash);
        Limf__AuditEvent ev;
        limf__audit_event__init(&ev);
        ev.index = strtoull(argv[2], NULL, 10);
        ev.at_ms = 1;
        ev.actor = "mallory";
        ev.action = "warrant.delete";
        ev.object = "warrant/w1";
        ev.outcome = "accepted";
        ev.prev_hash.data = prev;
        ev.prev_hash.len = 32;
        ev.hash.data = hash;
        ev.hash.len = 32;
        size_t n = limf__audit_event__pack(&ev, buf);
        li_kafka_topic(cfg, "limf.audit", topic, sizeof topic);
        if (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(buf, n),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END))
            rc = 1;
    } else if (strcmp(argv[1], "passthrough") == 0 && argc == 5) {
        uint8_t xid[16], buf[2048];
        char payload[512];
        if (li_uuid_parse(argv[4], xid) != LI_OK)
            return 2;
        snprintf(payload, sizeof payload,
                 "{\"limf_event\":\"passthrough\",\"exception_id\":\"%s\",\"fingerprint\":"
                 "\"AB:CD\",\"peer\":\"conf.example.net\"}", argv[3]);
        Limf__XPdu x;
        limf__xpdu__init(&x);
        x.poi_id = argv[2];
        x.pdu_type = 1;
        x.payload_format = 4;
        x.payload_direction = 5;
        x.xid.data = xid;
        x.xid.len = 16;
        x.payload.data = (uint8_t *)payload;
        x.payload.len = strlen(payload);
        size_t n = limf__xpdu__pack(&x, buf);
        if (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(xid, 16),
                              RD_KAFKA_V_VALUE(buf, n), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_END))
            rc = 1;
    }
    if (li_kafka_destroy(p, 10000) != 0)
        rc = 1;
    li_config_free(cfg);
    return rc;
}
