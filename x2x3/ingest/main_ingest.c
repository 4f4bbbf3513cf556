/* limf-ingest: receives X2/X3 from the POIs and publishes every PDU to Kafka
 * (x2x3_ingest.h, docs/X2X3.md). */
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "li_config.h"
#include "li_daemon.h"
#include "li_log.h"
#include "x2x3_ingest.h"

int main(int argc, char **argv)
{
    li_config *cfg = li_config_new();
    if (!cfg || li_config_from_args(cfg, "limf-ingest", argc, argv, "") != LI_OK) {
        li_config_free(cfg);
        return 2;
    }
    /* One descriptor per POI: allow as many as the hard limit does. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int sfd = li_daemon_signals();   /* before any thread starts */
    char errstr[512] = "signalfd failed";
    x2x3_ingest *ing = sfd < 0 ? NULL : x2x3_ingest_new(cfg, errstr, sizeof errstr);
    li_daemon_port ports[2] = { { "x2x3", 0 }, { "metrics", 0 } };
    if (ing) {
        ports[0].port = x2x3_ingest_port(ing);
        ports[1].port = x2x3_ingest_metrics_port(ing);
    }
    if (!ing || li_daemon_ready(cfg, ports, 2, errstr, sizeof errstr) != LI_OK) {
        li_log_error("limf-ingest: %s", errstr);
        x2x3_ingest_free(ing);
        if (sfd >= 0)
            close(sfd);
        li_config_free(cfg);
        return 1;
    }
    li_err err = x2x3_ingest_run(ing, sfd);
    x2x3_ingest_free(ing);
    close(sfd);
    li_config_free(cfg);
    li_log_info("limf-ingest: stopped%s", err == LI_OK ? "" : " (Kafka not fully flushed)");
    return err == LI_OK ? 0 : 1;
}
