/* limf-ingest: receives X2/X3 from the POIs and publishes every PDU to Kafka
 * (x2x3_ingest.h, docs/X2X3.md). */
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "li_config.h"
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
    /* A POI that vanishes mid-write must not kill the daemon. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);   /* before any thread starts */
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

    char errstr[512];
    x2x3_ingest *ing = x2x3_ingest_new(cfg, errstr, sizeof errstr);
    if (!ing || sfd < 0) {
        li_log_error("limf-ingest: %s", ing ? "signalfd failed" : errstr);
        x2x3_ingest_free(ing);
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
