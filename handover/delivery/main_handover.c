/* limf-handover: delivers every destination's limf.hi.<id> records to its LEMF as ETSI
 * TS 102 232-1/-5 PS-PDUs over HI2/HI3 (docs/HANDOVER.md).
 *   limf-handover [-c FILE] [-o key=value]... */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ho_service.h"
#include "li_config.h"
#include "li_log.h"

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    li_config *cfg = li_config_new();
    if (li_config_from_args(cfg, "limf-handover", argc, argv, NULL) != LI_OK)
        return 2;
    /* Signals are read from a descriptor; block them before any thread starts. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);

    char err[512];
    ho_service *s = ho_service_new(cfg, err, sizeof err);
    if (!s) {
        li_log_error("%s", err);
        li_config_free(cfg);
        return 1;
    }
    li_log_info("running");
    for (;;) {
        struct pollfd p = { .fd = sfd, .events = POLLIN };
        if (poll(&p, 1, 0) > 0)
            break;
        ho_service_poll(s, 200);
    }
    li_log_info("stopping");
    ho_service_free(s);
    close(sfd);
    li_config_free(cfg);
    return 0;
}
