/* The X1 objects limf exchanges between the ADMF and its network elements (ETSI TS 103
 * 221-1): tasks, destinations and limf's certificate exceptions (a GenericObject).
 * Plain values, no pointers: copy them freely. Shared by the codec (x1_xml.h), the
 * client (x1_client.h, limf-admf) and the NE library (x1_ne.h, the POIs). */
#ifndef X1_MSG_H
#define X1_MSG_H

#include <stddef.h>
#include <stdint.h>

/* Most target identifiers one task carries (one warrant, one person). */
#define X1_MAX_TARGETS 16
/* Most destinations one task names (listOfDIDs). */
#define X1_MAX_DIDS 8
/* Most entries of a task's listOfServiceTypes kept. */
#define X1_MAX_SERVICE_TYPES 4

/* TS 103 221-1 DeliveryType: which X interfaces the NE feeds for the task. The values
 * are bit sets (X2 1, X3 2): code may combine them with | and &. */
typedef enum x1_delivery {
    X1_DELIVERY_X2_ONLY = 1,
    X1_DELIVERY_X3_ONLY = 2,
    X1_DELIVERY_X2_AND_X3 = 3
} x1_delivery;

/* One target identifier. type is limf's REST/X1 name: "sip-uri" (X1 sipUri), "tel-uri"
 * (telUri), "impu" (impu), "e164" (e164Number). value is the text as provisioned (an
 * e164 value with or without its '+': the codec sends the digits alone, TS 103 280
 * InternationalE164). */
typedef struct x1_target {
    char type[16];
    char value[256];
} x1_target;

/* TS 103 221-1 TaskDetails as limf uses them: one XID, its targets, the delivery type,
 * its X2/X3 destinations (listOfDIDs: one to X1_MAX_DIDS distinct dIds) and the
 * listOfServiceTypes as provisioned (none: the element is left out). */
typedef struct x1_task {
    uint8_t xid[16];
    x1_target targets[X1_MAX_TARGETS];
    size_t n_targets;
    x1_delivery delivery;
    uint8_t dids[X1_MAX_DIDS][16];
    size_t n_dids;
    char service_types[X1_MAX_SERVICE_TYPES][32];
    size_t n_service_types;
} x1_task;

/* limf's self-signed-certificate exception (docs/PRINCIPLES.md 6), carried as a GenericObject of
 * type limf:CertificateException (docs/X1.md). id is the objectId (a UUID in text form
 * when it comes from limf-admf); expires_ms is milliseconds since the Unix epoch. */
typedef struct x1_cert_exception {
    char id[64];
    uint8_t fingerprint[32];
    char peer[256];
    int64_t expires_ms;
} x1_cert_exception;

/* TS 103 221-1 DestinationDetails as limf uses them: the DID, its optional
 * friendlyName ("" when none) and where limf-ingest listens, "host:port" (IPv6 hosts in
 * brackets). */
typedef struct x1_destination {
    uint8_t did[16];
    char friendly_name[256];
    x1_delivery delivery;
    char address[272];
} x1_destination;

#endif
