/* limf-mediator: correlates X2/X3 PDUs from limf.xpdu into IRI and CC records for each
 * warrant, exactly once, scaling out as a Kafka consumer group (docs/MEDIATION.md).
 *   limf-mediator [-c FILE] [-o key=value]... */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "li_config.h"
#include "li_log.h"
#include "med_service.h"

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    li_config *cfg = li_config_new();
    if (!cfg || li_config_from_args(cfg, "limf-mediator", argc, argv, NULL) != LI_OK)
        return 2;
    /* Signals are read from a descriptor; block them before librdkafka starts threads. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (sfd < 0) {
        li_log_error("signalfd failed");
        li_config_free(cfg);
        return 1;
    }

    char err[512];
    med_service *s = med_service_new(cfg, err, sizeof err);
    if (!s) {
        li_log_error("mediator: %s", err);
        close(sfd);
        li_config_free(cfg);
        return 1;
    }
    li_log_info("mediator: running");
    int rc = 0;
    for (;;) {
        struct pollfd p = { .fd = sfd, .events = POLLIN };
        if (poll(&p, 1, 0) > 0)
            break;
        if (med_service_poll(s, 200) != LI_OK) {
            li_log_error("mediator: fatal Kafka error, exiting so that the group rebalances");
            rc = 1;
            break;
        }
    }
    li_log_info("mediator: stopping");
    med_service_free(s);
    close(sfd);
    li_config_free(cfg);
    return rc;
}
