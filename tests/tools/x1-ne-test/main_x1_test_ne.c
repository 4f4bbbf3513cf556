/* limf-x1-test-ne: a stand-alone X1 network element (the x1_ne library and nothing
 * else) for testing an ADMF: it holds whatever tasks, destinations and certificate
 * exceptions it is given over X1 and reports each change of its tables on stdout as
 * "generation <g> tasks <n>". Keys: the x1_ne keys under the prefix `x1`
 * (docs/X1.md), and daemon.ready_file (li_daemon.h: its port named "x1"). */
#include <stdio.h>
#include <unistd.h>

#include "li_config.h"
#include "li_daemon.h"
#include "li_log.h"
#include "x1_ne.h"

int main(int argc, char **argv)
{
    char err[512];
    li_config *cfg = li_config_new();
    if (li_config_from_args(cfg, "limf-x1-test-ne", argc, argv, "") != LI_OK) {
        li_config_free(cfg);
        return 2;
    }
    int sfd = li_daemon_signals();   /* before any thread starts */
    x1_ne *ne = sfd < 0 ? NULL : x1_ne_new(cfg, "x1", err, sizeof err);
    li_daemon_port port = { "x1", ne ? x1_ne_port(ne) : 0 };
    if (!ne || li_daemon_ready(cfg, &port, 1, err, sizeof err) != LI_OK) {
        li_log_error("%s", sfd < 0 ? "signalfd failed" : err);
        x1_ne_free(ne);
        if (sfd >= 0)
            close(sfd);
        li_config_free(cfg);
        return 1;
    }
    printf("listening %u\n", x1_ne_port(ne));
    fflush(stdout);
    uint64_t seen = x1_ne_generation(ne);
    while (!li_daemon_stop_requested(sfd, 100)) {
        uint64_t g = x1_ne_generation(ne);
        if (g != seen) {
            seen = g;
            printf("generation %llu tasks %zu\n", (unsigned long long)g, x1_ne_task_count(ne));
            fflush(stdout);
        }
    }
    li_log_info("stopping");
    x1_ne_free(ne);
    close(sfd);
    li_config_free(cfg);
    return 0;
}
