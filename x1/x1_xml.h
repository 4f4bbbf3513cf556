/* X1 XML codec (ETSI TS 103 221-1 clause 6 and its XSD, namespace
 * http://uri.etsi.org/03221/X1/2017/10): builds and parses X1Request and X1Response
 * documents. Pure: no sockets, no logging; decoding parses with libxml2 (network access,
 * DTDs and entity expansion off), so it allocates inside libxml2 only.
 *
 * Decoding is namespace-aware: elements are recognised by namespace and local name,
 * whatever prefixes the peer chose, and xsi:type QNames are resolved against the
 * in-scope namespace declarations. Children of other namespaces (extensions) are
 * skipped. Timestamps are accepted with any number of fraction digits; limf sends 6. */
#ifndef X1_XML_H
#define X1_XML_H

#include <stddef.h>
#include <stdint.h>

#include "li_bytes.h"
#include "li_err.h"
#include "x1_msg.h"

#define X1_NS "http://uri.etsi.org/03221/X1/2017/10"
#define X1_NS_COMMON "http://uri.etsi.org/03280/common/2017/07"
#define X1_NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
/* Namespace of limf's own GenericObject types (the certificate exception). */
#define X1_NS_LIMF "urn:limf:x1:2026"
/* The version element limf sends (TS 103 221-1 version its messages follow). */
#define X1_VERSION "v1.13.1"
/* Most x1RequestMessage / x1ResponseMessage elements limf handles in one document. */
#define X1_MAX_MESSAGES 16

/* The request message types limf implements (RequestMessageType, TS 103 221-1). */
typedef enum x1_msg_type {
    X1_MSG_UNKNOWN = 0, /* any other type: answered with an ErrorResponse */
    X1_MSG_ACTIVATE_TASK,
    X1_MSG_MODIFY_TASK,
    X1_MSG_DEACTIVATE_TASK,
    X1_MSG_GET_TASK_DETAILS,
    X1_MSG_GET_ALL_DETAILS,
    X1_MSG_LIST_ALL_DETAILS,
    X1_MSG_CREATE_DESTINATION,
    X1_MSG_MODIFY_DESTINATION,
    X1_MSG_REMOVE_DESTINATION,
    X1_MSG_GET_DESTINATION_DETAILS,
    X1_MSG_CREATE_OBJECT,
    X1_MSG_MODIFY_OBJECT,
    X1_MSG_DELETE_OBJECT,
    X1_MSG_GET_OBJECT,
    X1_MSG_PING,
    X1_MSG_KEEPALIVE,
    X1_MSG_GET_NE_STATUS,
    X1_MSG_COUNT
} x1_msg_type;

/* errorCode values of ErrorResponse: ETSI TS 103 221-1 table 6.7-3 "Error codes"
 * (Table 46 in older versions). The values are the standard's; docs/CONFORMANCE.md
 * names the public implementations they were checked against. */
enum {
    X1_ERR_GENERIC = 1000,                 /* generic error */
    X1_ERR_SYNTAX = 1010,                  /* syntax / schema error */
    X1_ERR_UNEXPECTED_ADMF = 1040,         /* unexpected ADMF identifier */
    X1_ERR_UNEXPECTED_NE = 1060,           /* unexpected NE identifier */
    X1_ERR_UNSUPPORTED_REQUEST = 1080,     /* unsupported request */
    X1_ERR_XID_EXISTS = 2010,              /* XID already exists */
    X1_ERR_XID_NOT_FOUND = 2020,           /* XID does not exist on the NE */
    X1_ERR_DID_EXISTS = 2030,              /* DID already exists on the NE */
    X1_ERR_DID_NOT_FOUND = 2040,           /* DID does not exist on the NE */
    X1_ERR_OBJECT_EXISTS = 2050,           /* generic object ID already exists */
    X1_ERR_OBJECT_NOT_FOUND = 2060,        /* generic object ID does not exist */
    X1_ERR_ACTIVATE_FAILED = 3000,         /* generic ActivateTask failure */
    X1_ERR_MODIFY_FAILED = 3001,           /* generic ModifyTask failure */
    X1_ERR_TARGET_NOT_SUPPORTED = 3010,    /* unsupported TargetIdentifier type */
    X1_ERR_MULTIPLE_DESTINATIONS = 3030,   /* multiple destinations not supported */
    X1_ERR_DELIVERY_COMBINATION = 3040,    /* invalid DeliveryType / Destinations combination */
    X1_ERR_DEACTIVATE_FAILED = 4000,       /* generic DeactivateTask failure */
    X1_ERR_CREATE_DEST_FAILED = 6000,      /* generic CreateDestination failure */
    X1_ERR_MODIFY_DEST_FAILED = 6001,      /* generic ModifyDestination failure */
    X1_ERR_ADDRESS_NOT_SUPPORTED = 6020,   /* unsupported DeliveryAddress type */
    X1_ERR_REMOVE_DEST_FAILED = 7000,      /* generic RemoveDestination failure */
    X1_ERR_DID_IN_USE = 7010,              /* destination in use */
    X1_ERR_CREATE_OBJECT_FAILED = 8500,    /* generic CreateObject failure */
    X1_ERR_MODIFY_OBJECT_FAILED = 8510,    /* generic ModifyObject failure */
    X1_ERR_DELETE_OBJECT_FAILED = 8530     /* generic DeleteObject failure */
};

/* The common header of every X1 message (X1RequestMessage / X1ResponseMessage). */
typedef struct x1_header {
    char admf_id[256];
    char ne_id[256];
    int64_t timestamp_ns;     /* messageTimestamp, ns since the Unix epoch */
    char version[32];
    uint8_t transaction_id[16];
} x1_header;

/* One decoded (or to be encoded) request message. Only the fields of its type count. */
typedef struct x1_request {
    x1_header hdr;
    x1_msg_type type;
    /* The xsi:type local name as received, e.g. "DeactivateAllTasksRequest". */
    char type_name[64];
    /* Decoding: 0 when the message is valid; otherwise the errorCode to answer with
     * (X1_ERR_SYNTAX, X1_ERR_TARGET_NOT_SUPPORTED, ...) and a reason. */
    int error_code;
    char error_desc[128];
    x1_task task;              /* ActivateTask, ModifyTask */
    uint8_t id[16];            /* xId: DeactivateTask, GetTaskDetails;
                                * dId: RemoveDestination, GetDestinationDetails */
    x1_destination dest;       /* CreateDestination, ModifyDestination */
    x1_cert_exception object;  /* CreateObject, ModifyObject; object.id alone for
                                * DeleteObject, GetObject */
} x1_request;

/* One response message. error_code != 0 makes it an ErrorResponse. */
typedef struct x1_response {
    x1_header hdr;
    x1_msg_type type;          /* the request type answered */
    char type_name[64];        /* for X1_MSG_UNKNOWN: the request's xsi:type name */
    int error_code;
    char error_desc[256];      /* "" when the peer sent none */
    int top_level_error;       /* decoding: the answer was an X1TopLevelErrorResponse */
    x1_task task;              /* GetTaskDetails */
    x1_destination dest;       /* GetDestinationDetails */
    x1_cert_exception object;  /* GetObject */
    /* GetAllDetails and ListAllDetails lists, arrays owned by the caller.
     * Encoding writes n_tasks / n_dests / n_objects entries.
     * Decoding counts every listed entry in n_*, and stores the first *_cap of them in
     * the arrays that are not NULL; xids receives the XIDs of the listed tasks. */
    x1_task *tasks;
    size_t n_tasks, tasks_cap;
    uint8_t (*xids)[16];
    size_t xids_cap;
    x1_destination *dests;
    size_t n_dests, dests_cap;
    x1_cert_exception *objects;
    size_t n_objects, objects_cap;
} x1_response;

/* Initialises libxml2. Call once from the main thread before threads decode
 * (x1_client_new() and x1_ne_new() do); harmless to repeat. */
void x1_xml_init(void);

/* "ActivateTask", ... (the RequestMessageType enumeration value); "" for unknown. */
const char *x1_msg_type_name(x1_msg_type type);

/* Fills a header with the identifiers, the current time, X1_VERSION and a fresh random
 * x1TransactionId. */
li_err x1_header_init(x1_header *hdr, const char *admf_id, const char *ne_id);

/* Appends one X1Request document holding n (1..X1_MAX_MESSAGES) request messages to
 * out. LI_ERR_INVAL for a message that cannot be written (unknown type, a task without
 * targets, a target of an unknown type, an address that is not host:port, an empty
 * identifier); out then holds a partial document. */
li_err x1_xml_request_encode(const x1_request *req, size_t n, li_buf *out);
/* Parses an X1Request document into out[0..*n) (caller-owned, up to max messages).
 * LI_ERR_PROTO when it is not well-formed XML, not an X1Request of the X1 namespace,
 * carries a DTD, or holds no message or more than max; a single malformed message
 * does not fail the document but sets that message's error_code. */
li_err x1_xml_request_decode(const uint8_t *buf, size_t len, x1_request *out, size_t max,
                             size_t *n);

/* Appends one X1Response document holding n response messages to out. */
li_err x1_xml_response_encode(const x1_response *resp, size_t n, li_buf *out);
/* Parses the first response message of an X1Response document into *out (the list
 * arrays and caps set by the caller are kept). LI_ERR_PROTO when the document is not an
 * X1Response with a response message; for an X1TopLevelErrorResponse (or a
 * TopLevelErrorResponse root, as older peers send) out->top_level_error is set as well.
 * An ErrorResponse without errorDescription is read with error_desc "". */
li_err x1_xml_response_decode(const uint8_t *buf, size_t len, x1_response *out);

/* Appends an X1TopLevelErrorResponse document (TS 103 221-1 schema element, type
 * TopLevelErrorResponse): the answer to a request document that could not be parsed at
 * all (no message to answer). Its header carries no x1TransactionId. */
li_err x1_xml_top_error_encode(const x1_header *hdr, li_buf *out);

#endif
