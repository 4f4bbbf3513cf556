/* limf-x1-test-ne: a stand-alone X1 network element (the x1_ne library and nothing
 * else) for testing an ADMF: it holds whatever tasks, destinations and certificate
 * exceptions it is given over X1 and reports each change of its tables on stdout as
 * "generation <g> tasks <n>". Keys: the x1_ne keys under the prefix `x1`
 * (docs/X1.md), and x1.port_file (write the listening port there). */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "li_config.h"
#include "li_log.h"
#include "x1_ne.h"

int main(int argc, char **argv)
{
    char err[512];
    signal(SIGPIPE, SIG_IGN);
    li_config *cfg = li_config_new();
    if (li_config_from_args(cfg, "limf-x1-test-ne", argc, argv, "") != LI_OK) {
        li_config_free(cfg);
        return 2;
    }
    /* Block the stop signals before any thread starts, so that only signalfd sees them. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    x1_ne *ne = x1_ne_new(cfg, "x1", err, sizeof err);
    if (!ne || sfd < 0) {
        li_log_error("%s", ne ? "signalfd failed" : err);
        x1_ne_free(ne);
        li_config_free(cfg);
        return 1;
    }
    const char *port_file = li_config_get(cfg, "x1.port_file", NULL);
    FILE *pf = port_file ? fopen(port_file, "w") : NULL;
    if (pf) {
        fprintf(pf, "%u\n", x1_ne_port(ne));
        fclose(pf);
    }
    printf("listening %u\n", x1_ne_port(ne));
    fflush(stdout);
    uint64_t seen = x1_ne_generation(ne);
    for (;;) {
        struct pollfd p = { .fd = sfd, .events = POLLIN };
        if (poll(&p, 1, 100) > 0)
            break;
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
