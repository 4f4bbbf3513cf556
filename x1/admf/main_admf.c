/* limf-admf: the administration function (docs/PRINCIPLES.md 6). Operators' REST API over HTTPS,
 * store of record on limf.admin, audit trail on limf.audit, X1 towards the POIs. */
#include <unistd.h>

#include "li_config.h"
#include "li_daemon.h"
#include "li_log.h"
#include "admf.h"
#include "admf_uses.h"
#include "admf_reconcile.h"
#include "admf_rest.h"

static void no_reconciler(void *ctx, const x1_principal *who, const char *poi_id,
                          x1_result *out)
{
    (void)ctx, (void)who, (void)poi_id;
    x1_result_error(out, 503, "x1_disabled", "", "X1 is disabled (x1.enabled = false)");
}

int main(int argc, char **argv)
{
    char errstr[512];
    int rc = 1, x1_enabled = 1, uses_enabled = 1;
    li_config *cfg = li_config_new();
    admf_service *admf = NULL;
    admf_reconciler *rec = NULL;
    admf_uses *uses = NULL;
    admf_rest *rest = NULL;

    /* Before any thread starts. */
    int sfd = li_daemon_signals();

    if (!cfg || sfd < 0 ||
        li_config_from_args(cfg, "limf-admf", argc, argv,
                            "  keys: docs/REST.md (rest.*, admf.*, x1.*, kafka.*)\n") != LI_OK)
        goto out;
    if (li_config_get_bool(cfg, "x1.enabled", 1, &x1_enabled, errstr, sizeof errstr) != LI_OK ||
        li_config_get_bool(cfg, "admf.exception_uses", 1, &uses_enabled, errstr,
                           sizeof errstr) != LI_OK)
        goto fail;
    if (!(admf = admf_new(cfg, errstr, sizeof errstr)))
        goto fail;
    if (uses_enabled && !(uses = admf_uses_new(cfg, admf, errstr, sizeof errstr)))
        goto fail;
    if (x1_enabled && !(rec = admf_reconciler_new(cfg, admf, errstr, sizeof errstr)))
        goto fail;
    if (!(rest = admf_rest_new(cfg, admf, rec ? admf_reconciler_audit_now : no_reconciler, rec,
                             errstr, sizeof errstr)))
        goto fail;
    li_log_info("limf-admf listening on port %u (HTTPS), X1 %s", admf_rest_port(rest),
                rec ? "enabled" : "disabled");
    const li_daemon_port port = { "rest", admf_rest_port(rest) };
    if (li_daemon_ready(cfg, &port, 1, errstr, sizeof errstr) != LI_OK)
        goto fail;

    for (;;) {
        if (li_daemon_stop_requested(sfd, 1000)) {
            rc = 0;
            break;
        }
        /* A lost Kafka acknowledgement leaves memory ahead of the store of record: exit
         * so that a restart rebuilds the state from the topics. */
        if (!admf_healthy(admf)) {
            li_log_error("store of record failed; exiting for a clean restart");
            rc = 3;
            break;
        }
    }
    goto out;
fail:
    li_log_error("%s", errstr);
out:
    admf_rest_free(rest);
    admf_reconciler_free(rec);
    admf_uses_free(uses);
    admf_free(admf);
    li_config_free(cfg);
    if (sfd >= 0)
        close(sfd);
    return rc;
}
