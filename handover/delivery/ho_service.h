/* limf-handover as a whole: follows limf.admin (destination/<id> records, tombstones) and
 * keeps one ho_dest per destination, started, restarted when its record changes and
 * stopped when it is removed; serves /metrics (Prometheus text) when
 * handover.metrics.listen is set. */
#ifndef HO_SERVICE_H
#define HO_SERVICE_H

#include <stdint.h>

#include "li_config.h"
#include "li_err.h"

typedef struct ho_service ho_service;

/* cfg must outlive the service. NULL with a reason in errstr. */
ho_service *ho_service_new(const li_config *cfg, char *errstr, size_t errstr_size);
/* Applies limf.admin records arriving within timeout_ms. */
li_err ho_service_poll(ho_service *s, int timeout_ms);
/* Stops every destination (nothing unacknowledged is committed) and the metrics server.
 * NULL is a no-op. */
void ho_service_free(ho_service *s);

/* The port of /metrics (handover.metrics.listen); 0 when it is not served. */
uint16_t ho_service_metrics_port(const ho_service *s);

#endif
