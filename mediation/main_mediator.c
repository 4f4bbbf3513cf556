/* limf-mediator: correlates X2/X3 PDUs from limf.xpdu into IRI and CC records for each
 * warrant, exactly once, scaling out as a Kafka consumer group (docs/MEDIATION.md).
 *   limf-mediator [-c FILE] [-o key=value]... */
#include <unistd.h>

#include "li_config.h"
#include "li_daemon.h"
#include "li_log.h"
#include "med_service.h"

int main(int argc, char **argv)
{
    int sfd, status;
    li_config *cfg = li_daemon_start("limf-mediator", argc, argv, NULL, &sfd, &status);
    if (!cfg)
        return status;

    char err[512];
    med_service *s = med_service_new(cfg, err, sizeof err);
    li_daemon_port port = { "metrics", s ? med_service_metrics_port(s) : 0 };
    if (!s || li_daemon_ready(cfg, &port, 1, err, sizeof err) != LI_OK) {
        li_log_error("mediator: %s", err);
        med_service_free(s);
        close(sfd);
        li_config_free(cfg);
        return 1;
    }
    li_log_info("mediator: running");
    int rc = 0;
    while (!li_daemon_stop_requested(sfd, 0)) {
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
