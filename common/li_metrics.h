/* The Prometheus endpoint every daemon serves: GET /metrics in the text exposition format
 * 0.0.4 from a thread of its own (li_httpd.h), plus the writers for its lines. One
 * implementation for all daemons (docs/CODING.md 10); the daemon only renders its own values. */
#ifndef LI_METRICS_H
#define LI_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "li_bytes.h"
#include "li_config.h"

typedef struct li_metrics li_metrics;

/* Appends the exposition text of one scrape to out (owned by li_metrics, empty on entry,
 * freed after the answer is sent). Called on the HTTP thread, one scrape at a time: the
 * callee synchronizes access to its own data (a mutex, atomics or a published snapshot). */
typedef void (*li_metrics_render_fn)(void *ctx, li_buf *out);

/* Serves on listen: "host:port", IPv6 in brackets ("[::1]:9464"), an empty host for every
 * address (":9464"), port 0 for any free port. Answers GET /metrics (200, text/plain;
 * version=0.0.4, body from render(ctx, ...)), GET /healthz (200 "ok"), other paths 404,
 * other methods 405. ctx stays owned by the caller and must outlive the result. NULL with
 * a reason in errstr (bad address, cannot bind). Free with li_metrics_free(). */
li_metrics *li_metrics_new(const char *listen, li_metrics_render_fn render, void *ctx,
                           char *errstr, size_t errstr_size);
/* A point of interception's endpoint (docs/SECURITY.md, "Traces outside LI"): render as
 * above, and render_private for the series that say whether anything is being
 * intercepted (tapped messages, tasks, X2/X3 traffic per destination), appended only when
 * the endpoint is served over mutual TLS: `<prefix>.tls.cert`, `.key` and `.ca` set
 * (li_tls: the client must present a certificate that CA signed; any other is refused
 * at the handshake). Over plain HTTP those series are left out. Listens on
 * `<prefix>.listen` (none: *out NULL, LI_OK); LI_ERR_INVAL with "key: reason" in errstr
 * otherwise. */
li_err li_metrics_from_config_private(const li_config *cfg, const char *prefix,
                                      li_metrics_render_fn render,
                                      li_metrics_render_fn render_private, void *ctx,
                                      li_metrics **out, char *errstr, size_t errstr_size);
/* The daemons' way to start it: serves on the address of the configuration key `key`
 * (`<daemon>.metrics.listen`; def when absent) and logs the port bound. LI_OK with *out
 * NULL when the address is empty (the endpoint is off); LI_ERR_INVAL with "key: reason"
 * in errstr when it cannot serve there. */
li_err li_metrics_from_config(const li_config *cfg, const char *key, const char *def,
                              li_metrics_render_fn render, void *ctx, li_metrics **out,
                              char *errstr, size_t errstr_size);
/* The port actually bound (useful with port 0); 0 for NULL. */
uint16_t li_metrics_port(const li_metrics *m);
/* Stops the HTTP thread (waits for a scrape in progress, so render is not called once this
 * returns) and frees m. NULL is a no-op. */
void li_metrics_free(li_metrics *m);

/* Writers for render. name, type ("counter", "gauge"), help and labels are borrowed; help
 * may be NULL (no HELP line). Sample values in this format are float64; integer writers
 * print exactly. A failed append (out of memory) leaves the scrape short, not corrupt
 * beyond the last complete line. */

/* "# HELP name help" and "# TYPE name type": opens a family of labelled series; its
 * samples follow with li_metrics_put_labeled*() (exposition format: one group per name). */
void li_metrics_put_family(li_buf *b, const char *name, const char *type, const char *help);
/* A family with its single unlabelled sample: HELP, TYPE, "name value". */
void li_metrics_put(li_buf *b, const char *name, const char *type, const char *help,
                    uint64_t value);
/* Appends `name="value"` to the NUL-terminated label text in out (a comma first when out
 * is not empty), value escaped as the format requires (\\, \", \n), so that a value from
 * outside (a destination id read from Kafka) cannot end the series or forge another.
 * LI_ERR_TOO_BIG, out unchanged, when it does not fit in out_size. */
li_err li_metrics_label(char *out, size_t out_size, const char *name, const char *value);
/* One sample "name{labels} value"; labels is the text between the braces, built with
 * li_metrics_label() (`destination="A"`), NULL or "" for none. */
void li_metrics_put_labeled(li_buf *b, const char *name, const char *labels, uint64_t value);
/* As li_metrics_put_labeled for gauges that are negative or fractional (-1 "unknown",
 * Unix seconds), printed with up to 17 significant digits, enough to read back the same
 * double. */
void li_metrics_put_labeled_gauge(li_buf *b, const char *name, const char *labels,
                                  double value);

#endif
