/* limf-handover: delivers every destination's limf.hi.<id> records to its LEMF as ETSI
 * TS 102 232-1/-5 PS-PDUs over HI2/HI3 (docs/HANDOVER.md).
 *   limf-handover [-c FILE] [-o key=value]... */
#include <unistd.h>

#include "ho_service.h"
#include "li_config.h"
#include "li_daemon.h"
#include "li_log.h"

int main(int argc, char **argv)
{
    int sfd, status;
    li_config *cfg = li_daemon_start("limf-handover", argc, argv, NULL, &sfd, &status);
    if (!cfg)
        return status;

    char err[512];
    ho_service *s = ho_service_new(cfg, err, sizeof err);
    li_daemon_port port = { "metrics", s ? ho_service_metrics_port(s) : 0 };
    if (!s || li_daemon_ready(cfg, &port, 1, err, sizeof err) != LI_OK) {
        li_log_error("%s", err);
        ho_service_free(s);
        close(sfd);
        li_config_free(cfg);
        return 1;
    }
    li_log_info("running");
    while (!li_daemon_stop_requested(sfd, 0))
        ho_service_poll(s, 200);
    li_log_info("stopping");
    ho_service_free(s);
    close(sfd);
    li_config_free(cfg);
    return 0;
}
