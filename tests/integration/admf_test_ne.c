/* A test point of interception for the ADMF's X1 tests (admf_x1.c): the real X1 NE
 * library (x1_ne.h) on loopback with mutual TLS, driven by line commands on stdin:
 *   tasks               "<xid> <delivery> <n_targets> <did>" per task (listed over X1
 *                       GetAllDetails, details from the NE's table), then "end"
 *   inject XID          activates a task the ADMF never asked for (drift: extra)
 *   drop XID            deactivates a task behind the ADMF's back (drift: missing)
 *   inject-destination DID   creates a destination the ADMF never asked for (drift)
 *   inject-exception ID      creates a certificate exception for rogue.example (drift)
 *   dids                "dids <did>,<did>..." of the destinations the NE holds
 *   forget-destination  removes the ADMF's destination (as if the NE had restarted)
 *   destination         "destination <address>" of the ADMF's destination, or
 *                       "destination none"
 *   exception PEER      "exception <id>" when an unexpired exception covers PEER, else
 *                       "exception none"
 *   quit
 * Usage: admf_test_ne PKI_DIR NE_ID. Prints "port N" once listening. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "li_bytes.h"
#include "li_log.h"
#include "li_time.h"
#include "x1_client.h"
#include "x1_ne.h"

static li_config *config(const char *pki, const char *ne_id)
{
    li_config *cfg = li_config_new();
    char path[600];
    static const char *const roles[2][2] = { { "ne", "poi-test" }, { "self", "admf" } };
    for (int i = 0; i < 2; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s.tls.cert", roles[i][0]);
        snprintf(path, sizeof path, "%s/%s.pem", pki, roles[i][1]);
        li_config_set(cfg, key, path);
        snprintf(key, sizeof key, "%s.tls.key", roles[i][0]);
        snprintf(path, sizeof path, "%s/%s.key", pki, roles[i][1]);
        li_config_set(cfg, key, path);
        snprintf(key, sizeof key, "%s.tls.ca", roles[i][0]);
        snprintf(path, sizeof path, "%s/ca.pem", pki);
        li_config_set(cfg, key, path);
    }
    li_config_set(cfg, "ne.listen", "127.0.0.1:0");
    li_config_set(cfg, "ne.ne_id", ne_id);
    li_config_set(cfg, "ne.allowed_clients", "admf");
    return cfg;
}

int main(int argc, char **argv)
{
    char errstr[512], url[128], line[512];
    if (argc != 3) {
        fprintf(stderr, "usage: %s PKI_DIR NE_ID\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* a peer that closes first must not kill the POI */
    li_log_init("admf_test_ne", LI_LOG_WARN, 0);
    li_config *cfg = config(argv[1], argv[2]);
    x1_ne *ne = x1_ne_new(cfg, "ne", errstr, sizeof errstr);
    x1_client *self = ne ? x1_client_new(cfg, "self", errstr, sizeof errstr) : NULL;
    if (!ne || !self) {
        fprintf(stderr, "admf_test_ne: %s\n", errstr);
        return 1;
    }
    /* the destination the ADMF creates (x1.ingest_did's default) */
    uint8_t admf_did[16];
    li_uuid_parse("6c696d66-0000-4000-8000-000000000001", admf_did);
    snprintf(url, sizeof url, "https://127.0.0.1:%u/X1/NE", x1_ne_port(ne));
    printf("port %u\n", x1_ne_port(ne));
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
        char cmd[32] = "", arg[400] = "";
        uint8_t xid[16];
        sscanf(line, "%31s %399s", cmd, arg);
        if (strcmp(cmd, "quit") == 0)
            break;
        if (strcmp(cmd, "tasks") == 0) {
            static uint8_t xids[4096][16];
            size_t n = 0;
            if (x1_client_list_tasks(self, url, argv[2], xids, 4096, &n, errstr,
                                     sizeof errstr) != LI_OK) {
                printf("error %s\n", errstr);
            } else {
                for (size_t i = 0; i < n && i < 4096; i++) {
                    x1_task t;
                    char x[37], d[37];
                    if (x1_ne_get_task(ne, xids[i], &t) != LI_OK)
                        continue;
                    li_uuid_format(t.xid, x);
                    li_uuid_format(t.dids[0], d);   /* the ADMF names one */
                    printf("%s %d %zu %s\n", x, (int)t.delivery, t.n_targets, d);
                }
                printf("end\n");
            }
        } else if ((strcmp(cmd, "inject") == 0 || strcmp(cmd, "drop") == 0) &&
                   li_uuid_parse(arg, xid) == LI_OK) {
            li_err e;
            if (cmd[0] == 'i') {
                x1_task t;
                memset(&t, 0, sizeof t);
                memcpy(t.xid, xid, 16);
                snprintf(t.targets[0].type, sizeof t.targets[0].type, "sip-uri");
                snprintf(t.targets[0].value, sizeof t.targets[0].value, "sip:intruder@example.org");
                t.n_targets = 1;
                t.delivery = X1_DELIVERY_X2_ONLY;
                memcpy(t.dids[0], admf_did, 16);
                t.n_dids = 1;
                e = x1_client_activate(self, url, argv[2], &t, errstr, sizeof errstr);
            } else {
                e = x1_client_deactivate(self, url, argv[2], xid, errstr, sizeof errstr);
            }
            if (e == LI_OK)
                printf("ok\n");
            else
                printf("error %s\n", errstr);
        } else if (strcmp(cmd, "inject-destination") == 0 && li_uuid_parse(arg, xid) == LI_OK) {
            /* a destination the ADMF never created (arg: its DID) */
            if (x1_client_create_destination(self, url, argv[2], xid, "127.0.0.1:9",
                                             X1_DELIVERY_X2_AND_X3, errstr,
                                             sizeof errstr) == LI_OK)
                printf("ok\n");
            else
                printf("error %s\n", errstr);
        } else if (strcmp(cmd, "inject-exception") == 0 && arg[0]) {
            /* a certificate exception the ADMF never created (arg: its id), for the peer
             * rogue.example */
            x1_cert_exception x;
            memset(&x, 0, sizeof x);
            snprintf(x.id, sizeof x.id, "%.63s", arg);
            snprintf(x.peer, sizeof x.peer, "rogue.example");
            x.expires_ms = (int64_t)(li_now_ns() / 1000000) + 3600000;
            if (x1_client_create_exception(self, url, argv[2], &x, errstr, sizeof errstr) ==
                LI_OK)
                printf("ok\n");
            else
                printf("error %s\n", errstr);
        } else if (strcmp(cmd, "dids") == 0) {
            /* the DIDs the NE holds, joined by ',' */
            x1_destination ds[16];
            size_t n = x1_ne_list_destinations(ne, ds, 16);
            printf("dids");
            for (size_t i = 0; i < n && i < 16; i++) {
                char t[37];
                li_uuid_format(ds[i].did, t);
                printf("%s%s", i ? "," : " ", t);
            }
            printf("\n");
        } else if (strcmp(cmd, "forget-destination") == 0) {
            if (x1_client_remove_destination(self, url, argv[2], admf_did, errstr,
                                             sizeof errstr) == LI_OK)
                printf("ok\n");
            else
                printf("error %s\n", errstr);
        } else if (strcmp(cmd, "destination") == 0) {
            x1_destination d;
            if (x1_ne_get_destination(ne, admf_did, &d) == LI_OK)
                printf("destination %s\n", d.address);
            else
                printf("destination none\n");
        } else if (strcmp(cmd, "exception") == 0) {
            x1_cert_exception x;
            if (x1_ne_find_exception(ne, NULL, arg, &x))
                printf("exception %s\n", x.id);
            else
                printf("exception none\n");
        } else {
            printf("error unknown command\n");
        }
        fflush(stdout);
    }
    x1_client_free(self);
    x1_ne_free(ne);
    li_config_free(cfg);
    return 0;
}
