/* JSON representations of the limf.admin objects for the REST API (docs/REST.md). */
#ifndef ADMF_JSON_H
#define ADMF_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "admin.pb-c.h"
#include "admf_store.h"

/* The state a warrant is in at now_ms: "deactivated" when stopped early, else "pending"
 * before start, "active" in [start, end), "expired" from end on. */
const char *x1_warrant_state(const Limf__Warrant *w, int64_t now_ms);

/* A new JSON object for msg (a Limf__Warrant *, ... per kind); NULL on allocation
 * failure. Warrants show their state as of now_ms. */
json_t *x1_json_render(x1_kind kind, const ProtobufCMessage *msg, int64_t now_ms);

/* RFC 3339 UTC with milliseconds into out (size >= 32). */
void x1_json_time(int64_t ms, char *out, size_t out_size);

#endif
