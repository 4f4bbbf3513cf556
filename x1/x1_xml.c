#include "x1_xml.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "li_hostport.h"
#include "li_time.h"

/* ---- names ---- */

static const char *const msg_names[X1_MSG_COUNT] = {
    [X1_MSG_UNKNOWN] = "",
    [X1_MSG_ACTIVATE_TASK] = "ActivateTask",
    [X1_MSG_MODIFY_TASK] = "ModifyTask",
    [X1_MSG_DEACTIVATE_TASK] = "DeactivateTask",
    [X1_MSG_GET_TASK_DETAILS] = "GetTaskDetails",
    [X1_MSG_GET_ALL_DETAILS] = "GetAllDetails",
    [X1_MSG_LIST_ALL_DETAILS] = "ListAllDetails",
    [X1_MSG_CREATE_DESTINATION] = "CreateDestination",
    [X1_MSG_MODIFY_DESTINATION] = "ModifyDestination",
    [X1_MSG_REMOVE_DESTINATION] = "RemoveDestination",
    [X1_MSG_GET_DESTINATION_DETAILS] = "GetDestinationDetails",
    [X1_MSG_CREATE_OBJECT] = "CreateObject",
    [X1_MSG_MODIFY_OBJECT] = "ModifyObject",
    [X1_MSG_DELETE_OBJECT] = "DeleteObject",
    [X1_MSG_GET_OBJECT] = "GetObject",
    [X1_MSG_PING] = "Ping",
    [X1_MSG_KEEPALIVE] = "Keepalive",
    [X1_MSG_GET_NE_STATUS] = "GetNEStatus",
};

/* The rest of the RequestMessageType enumeration: limf answers them with an
 * ErrorResponse that names them. */
static const char *const other_request_names[] = {
    "DeactivateAllTasks", "RemoveAllDestinations", "GetAllTaskDetails",
    "GetAllDestinationDetails", "GetAllGenericObjectDetails", "ReportTaskIssue",
    "ReportDestinationIssue", "ReportNEIssue", "ListObjectsOfType", "DeleteAllObjects",
};

/* limf's target type names and their TargetIdentifier choice elements. */
static const struct {
    const char *type;
    const char *element;
} target_kinds[] = {
    { "sip-uri", "sipUri" },
    { "tel-uri", "telUri" },
    { "impu", "impu" },
    { "e164", "e164Number" },
};

static const char *const delivery_names[] = { NULL, "X2Only", "X3Only", "X2andX3" };

const char *x1_msg_type_name(x1_msg_type type)
{
    return type > X1_MSG_UNKNOWN && type < X1_MSG_COUNT ? msg_names[type] : "";
}

/* Type from an xsi:type local name with its suffix ("Request" or "Response"), or from
 * a bare RequestMessageType value (suffix ""). */
static x1_msg_type msg_type_of(const char *local, const char *suffix)
{
    size_t len = strlen(local), slen = strlen(suffix);
    if (len <= slen || strcmp(local + len - slen, suffix) != 0)
        return X1_MSG_UNKNOWN;
    for (int t = X1_MSG_UNKNOWN + 1; t < X1_MSG_COUNT; t++) {
        if (strlen(msg_names[t]) == len - slen && memcmp(msg_names[t], local, len - slen) == 0)
            return (x1_msg_type)t;
    }
    return X1_MSG_UNKNOWN;
}

li_err x1_header_init(x1_header *hdr, const char *admf_id, const char *ne_id)
{
    memset(hdr, 0, sizeof *hdr);
    if (strlen(admf_id) >= sizeof hdr->admf_id || strlen(ne_id) >= sizeof hdr->ne_id)
        return LI_ERR_INVAL;
    strcpy(hdr->admf_id, admf_id);
    strcpy(hdr->ne_id, ne_id);
    hdr->timestamp_ns = (int64_t)li_now_ns();
    strcpy(hdr->version, X1_VERSION);
    return li_uuid_random(hdr->transaction_id);
}

/* ---- encoding ---- */

#define TRY(expr)                   \
    do {                            \
        li_err err_ = (expr);       \
        if (err_ != LI_OK)          \
            return err_;            \
    } while (0)

static li_err put(li_buf *b, const char *s)
{
    return li_buf_append(b, s, strlen(s));
}

/* Character data with the five XML special characters escaped. */
static li_err put_escaped(li_buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        default: continue;
        }
        TRY(li_buf_append(b, run, (size_t)(s - run)));
        TRY(put(b, rep));
        run = s + 1;
    }
    return li_buf_append(b, run, (size_t)(s - run));
}

static li_err put_elem(li_buf *b, const char *name, const char *text)
{
    TRY(li_buf_printf(b, "<%s>", name));
    TRY(put_escaped(b, text));
    return li_buf_printf(b, "</%s>", name);
}

static li_err put_uuid(li_buf *b, const char *name, const uint8_t id[16])
{
    char text[37];
    li_uuid_format(id, text);
    return li_buf_printf(b, "<%s>%s</%s>", name, text, name);
}

static li_err put_time(li_buf *b, const char *name, int64_t ns)
{
    char text[64];
    if (ns < 0)
        return LI_ERR_INVAL;
    li_time_format_rfc3339((uint64_t)ns, 6, text, sizeof text);
    return put_elem(b, name, text);
}

static li_err open_doc(li_buf *b, const char *root)
{
    return li_buf_printf(b,
                         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                         "<%s xmlns=\"" X1_NS "\" xmlns:x1=\"" X1_NS "\" xmlns:xsi=\"" X1_NS_XSI
                         "\" xmlns:etsi280=\"" X1_NS_COMMON "\" xmlns:limf=\"" X1_NS_LIMF "\">",
                         root);
}

static li_err put_header(li_buf *b, const x1_header *h, int with_transaction)
{
    if (!h->admf_id[0] || !h->ne_id[0])
        return LI_ERR_INVAL;
    TRY(put_elem(b, "admfIdentifier", h->admf_id));
    TRY(put_elem(b, "neIdentifier", h->ne_id));
    TRY(put_time(b, "messageTimestamp", h->timestamp_ns));
    TRY(put_elem(b, "version", h->version[0] ? h->version : X1_VERSION));
    return with_transaction ? put_uuid(b, "x1TransactionId", h->transaction_id) : LI_OK;
}

static const char *target_element(const char *type)
{
    for (size_t i = 0; i < sizeof target_kinds / sizeof target_kinds[0]; i++) {
        if (strcmp(target_kinds[i].type, type) == 0)
            return target_kinds[i].element;
    }
    return NULL;
}

static li_err put_task(li_buf *b, const x1_task *t)
{
    if (t->n_targets == 0 || t->n_targets > X1_MAX_TARGETS || t->delivery < X1_DELIVERY_X2_ONLY ||
        t->delivery > X1_DELIVERY_X2_AND_X3)
        return LI_ERR_INVAL;
    TRY(put(b, "<taskDetails>"));
    TRY(put_uuid(b, "xId", t->xid));
    TRY(put(b, "<targetIdentifiers>"));
    for (size_t i = 0; i < t->n_targets; i++) {
        const char *el = target_element(t->targets[i].type);
        if (!el || !t->targets[i].value[0])
            return LI_ERR_INVAL;
        const char *value = t->targets[i].value;
        /* TS 103 280 InternationalE164 is the digits alone: no '+'. */
        if (strcmp(el, "e164Number") == 0 && value[0] == '+')
            value++;
        TRY(put(b, "<targetIdentifier>"));
        TRY(put_elem(b, el, value));
        TRY(put(b, "</targetIdentifier>"));
    }
    TRY(put(b, "</targetIdentifiers>"));
    TRY(put_elem(b, "deliveryType", delivery_names[t->delivery]));
    if (t->n_dids == 0 || t->n_dids > X1_MAX_DIDS)
        return LI_ERR_INVAL;
    TRY(put(b, "<listOfDIDs>"));
    for (size_t i = 0; i < t->n_dids; i++)
        TRY(put_uuid(b, "dId", t->dids[i]));
    TRY(put(b, "</listOfDIDs>"));
    /* Only what was provisioned: GetTaskDetails reports the task as the ADMF sent it. */
    if (t->n_service_types > X1_MAX_SERVICE_TYPES)
        return LI_ERR_INVAL;
    if (t->n_service_types) {
        TRY(put(b, "<listOfServiceTypes>"));
        for (size_t i = 0; i < t->n_service_types; i++)
            TRY(put_elem(b, "serviceType", t->service_types[i]));
        TRY(put(b, "</listOfServiceTypes>"));
    }
    return put(b, "</taskDetails>");
}

/* A destination address: host:port with a port other than 0. */
static int split_address(const char *addr, char *host, size_t host_size, uint16_t *port)
{
    li_hostport hp;
    if (li_hostport_parse(addr, LI_HOSTPORT_NAME, &hp) != LI_OK || strlen(hp.host) >= host_size)
        return -1;
    memcpy(host, hp.host, strlen(hp.host) + 1);
    *port = hp.port;
    return 0;
}

static int is_ipv4(const char *s)
{
    int parts = 0;
    while (*s) {
        unsigned v = 0;
        int digits = 0;
        while (isdigit((unsigned char)*s)) {
            v = v * 10 + (unsigned)(*s++ - '0');
            if (++digits > 3 || v > 255)
                return 0;
        }
        if (!digits || ++parts > 4)
            return 0;
        if (*s == '.' && s[1])
            s++;
        else if (*s)
            return 0;
    }
    return parts == 4;
}

/* TS 103 280 IPv6Address: the full form, eight groups of four lower-case hex digits. */
static int ipv6_full(const char *host, char out[40])
{
    uint8_t a[16];
    if (inet_pton(AF_INET6, host, a) != 1)
        return -1;
    for (int i = 0; i < 8; i++)
        snprintf(out + i * 5, 6, "%02x%02x%s", a[2 * i], a[2 * i + 1], i < 7 ? ":" : "");
    return 0;
}

/* DeliveryAddress: an IP literal as ipAddressAndPort (TCP), a host name as a tls:// URI. */
static li_err put_destination(li_buf *b, const x1_destination *d)
{
    char host[256], v6[40];
    uint16_t port;
    if (d->delivery < X1_DELIVERY_X2_ONLY || d->delivery > X1_DELIVERY_X2_AND_X3 ||
        split_address(d->address, host, sizeof host, &port) != 0)
        return LI_ERR_INVAL;
    int is_v6 = strchr(host, ':') != NULL;
    if (is_v6 && ipv6_full(host, v6) != 0)
        return LI_ERR_INVAL;
    TRY(put(b, "<destinationDetails>"));
    TRY(put_uuid(b, "dId", d->did));
    if (d->friendly_name[0])
        TRY(put_elem(b, "friendlyName", d->friendly_name));
    TRY(put_elem(b, "deliveryType", delivery_names[d->delivery]));
    TRY(put(b, "<deliveryAddress>"));
    if (is_v6 || is_ipv4(host)) {
        const char *kind = is_v6 ? "IPv6Address" : "IPv4Address";
        TRY(li_buf_printf(b, "<ipAddressAndPort><etsi280:address><etsi280:%s>", kind));
        TRY(put_escaped(b, is_v6 ? v6 : host));
        TRY(li_buf_printf(b, "</etsi280:%s></etsi280:address><etsi280:port><etsi280:TCPPort>%u"
                             "</etsi280:TCPPort></etsi280:port></ipAddressAndPort>", kind, (unsigned)port));
    } else {
        TRY(put(b, "<uri>tls://"));
        TRY(put_escaped(b, d->address));
        TRY(put(b, "</uri>"));
    }
    TRY(put(b, "</deliveryAddress>"));
    return put(b, "</destinationDetails>");
}

/* The certificate exception as a GenericObject extension (docs/X1.md). */
static li_err put_object(li_buf *b, const char *name, const x1_cert_exception *o)
{
    char fp[65];
    if (!o->id[0] || o->expires_ms < 0 || o->expires_ms > INT64_MAX / 1000000)
        return LI_ERR_INVAL;
    li_hex_encode(o->fingerprint, 32, fp);
    TRY(li_buf_printf(b, "<%s xsi:type=\"limf:CertificateException\">", name));
    TRY(put_elem(b, "objectId", o->id));
    TRY(put_elem(b, "limf:fingerprint", fp));
    TRY(put_elem(b, "limf:peer", o->peer));
    TRY(put_time(b, "limf:expiry", o->expires_ms * 1000000));
    return li_buf_printf(b, "</%s>", name);
}

static li_err put_request(li_buf *b, const x1_request *r)
{
    if (r->type <= X1_MSG_UNKNOWN || r->type >= X1_MSG_COUNT)
        return LI_ERR_INVAL;
    TRY(li_buf_printf(b, "<x1RequestMessage xsi:type=\"x1:%sRequest\">", msg_names[r->type]));
    TRY(put_header(b, &r->hdr, 1));
    switch (r->type) {
    case X1_MSG_ACTIVATE_TASK:
    case X1_MSG_MODIFY_TASK:
        TRY(put_task(b, &r->task));
        break;
    case X1_MSG_DEACTIVATE_TASK:
    case X1_MSG_GET_TASK_DETAILS:
        TRY(put_uuid(b, "xId", r->id));
        break;
    case X1_MSG_CREATE_DESTINATION:
    case X1_MSG_MODIFY_DESTINATION:
        TRY(put_destination(b, &r->dest));
        break;
    case X1_MSG_REMOVE_DESTINATION:
    case X1_MSG_GET_DESTINATION_DETAILS:
        TRY(put_uuid(b, "dId", r->id));
        break;
    case X1_MSG_CREATE_OBJECT:
        TRY(put_object(b, "createObject", &r->object));
        break;
    case X1_MSG_MODIFY_OBJECT:
        TRY(put_object(b, "modifyObject", &r->object));
        break;
    case X1_MSG_DELETE_OBJECT:
    case X1_MSG_GET_OBJECT:
        if (!r->object.id[0])
            return LI_ERR_INVAL;
        TRY(put_elem(b, "objectId", r->object.id));
        break;
    default:
        break;
    }
    return put(b, "</x1RequestMessage>");
}

li_err x1_xml_request_encode(const x1_request *req, size_t n, li_buf *out)
{
    if (n == 0 || n > X1_MAX_MESSAGES)
        return LI_ERR_INVAL;
    TRY(open_doc(out, "X1Request"));
    for (size_t i = 0; i < n; i++)
        TRY(put_request(out, &req[i]));
    return put(out, "</X1Request>\n");
}

static const char *const empty_faults = "<listOfFaults/>";

static li_err put_task_response(li_buf *b, const x1_task *t)
{
    TRY(put(b, "<taskResponseDetails>"));
    TRY(put_task(b, t));
    TRY(li_buf_printf(b, "<taskStatus><provisioningStatus>complete</provisioningStatus>%s"
                         "</taskStatus>", empty_faults));
    return put(b, "</taskResponseDetails>");
}

static li_err put_destination_response(li_buf *b, const x1_destination *d)
{
    TRY(put(b, "<destinationResponseDetails>"));
    TRY(put_destination(b, d));
    TRY(li_buf_printf(b, "<destinationStatus><destinationDeliveryStatus>activeAndWorking"
                         "</destinationDeliveryStatus>%s</destinationStatus>", empty_faults));
    return put(b, "</destinationResponseDetails>");
}

static li_err put_object_response(li_buf *b, const x1_cert_exception *o)
{
    TRY(put(b, "<genericObjectResponseDetails>"));
    TRY(put_object(b, "object", o));
    return put(b, "</genericObjectResponseDetails>");
}

static li_err put_ne_status(li_buf *b)
{
    return li_buf_printf(b, "<neStatusDetails><neStatus>OK</neStatus>%s</neStatusDetails>",
                         empty_faults);
}

/* requestMessageType of an ErrorResponse: the request's type, or for a type limf does
 * not implement the enumeration value it named (ExtendedRequestMessageType otherwise). */
static const char *request_type_value(const x1_response *r)
{
    if (r->type > X1_MSG_UNKNOWN && r->type < X1_MSG_COUNT)
        return msg_names[r->type];
    size_t len = strlen(r->type_name);
    if (len > 7 && strcmp(r->type_name + len - 7, "Request") == 0) {
        for (size_t i = 0; i < sizeof other_request_names / sizeof other_request_names[0]; i++) {
            if (strlen(other_request_names[i]) == len - 7 &&
                memcmp(other_request_names[i], r->type_name, len - 7) == 0)
                return other_request_names[i];
        }
    }
    return "ExtendedRequestMessageType";
}

static li_err put_response(li_buf *b, const x1_response *r)
{
    if (r->error_code) {
        TRY(put(b, "<x1ResponseMessage xsi:type=\"x1:ErrorResponse\">"));
        TRY(put_header(b, &r->hdr, 1));
        TRY(put_elem(b, "requestMessageType", request_type_value(r)));
        TRY(li_buf_printf(b, "<errorInformation><errorCode>%d</errorCode>", r->error_code));
        TRY(put_elem(b, "errorDescription", r->error_desc));
        return put(b, "</errorInformation></x1ResponseMessage>");
    }
    if (r->type <= X1_MSG_UNKNOWN || r->type >= X1_MSG_COUNT)
        return LI_ERR_INVAL;
    TRY(li_buf_printf(b, "<x1ResponseMessage xsi:type=\"x1:%sResponse\">", msg_names[r->type]));
    TRY(put_header(b, &r->hdr, 1));
    switch (r->type) {
    case X1_MSG_GET_TASK_DETAILS:
        TRY(put_task_response(b, &r->task));
        break;
    case X1_MSG_GET_ALL_DETAILS:
        TRY(put_ne_status(b));
        TRY(put(b, "<listOfTaskResponseDetails>"));
        for (size_t i = 0; i < r->n_tasks; i++)
            TRY(put_task_response(b, &r->tasks[i]));
        TRY(put(b, "</listOfTaskResponseDetails><listOfDestinationResponseDetails>"));
        for (size_t i = 0; i < r->n_dests; i++)
            TRY(put_destination_response(b, &r->dests[i]));
        TRY(put(b, "</listOfDestinationResponseDetails><listOfGenericObjectResponseDetails>"));
        for (size_t i = 0; i < r->n_objects; i++)
            TRY(put_object_response(b, &r->objects[i]));
        TRY(put(b, "</listOfGenericObjectResponseDetails>"));
        break;
    case X1_MSG_LIST_ALL_DETAILS:
        TRY(put(b, "<ListOfXIDs>"));
        for (size_t i = 0; i < r->n_tasks; i++)
            TRY(put_uuid(b, "xId", r->tasks[i].xid));
        TRY(put(b, "</ListOfXIDs><ListOfDIDs>"));
        for (size_t i = 0; i < r->n_dests; i++)
            TRY(put_uuid(b, "dId", r->dests[i].did));
        TRY(put(b, "</ListOfDIDs><ListOfGenericObjectIDs>"));
        for (size_t i = 0; i < r->n_objects; i++)
            TRY(put_elem(b, "objectId", r->objects[i].id));
        TRY(put(b, "</ListOfGenericObjectIDs>"));
        break;
    case X1_MSG_GET_DESTINATION_DETAILS:
        TRY(put_destination_response(b, &r->dest));
        break;
    case X1_MSG_GET_OBJECT:
        TRY(put_object_response(b, &r->object));
        break;
    case X1_MSG_GET_NE_STATUS:
        TRY(put_ne_status(b));
        break;
    default:
        TRY(put(b, "<oK>AcknowledgedAndCompleted</oK>"));
        break;
    }
    return put(b, "</x1ResponseMessage>");
}

li_err x1_xml_response_encode(const x1_response *resp, size_t n, li_buf *out)
{
    if (n == 0 || n > X1_MAX_MESSAGES)
        return LI_ERR_INVAL;
    TRY(open_doc(out, "X1Response"));
    for (size_t i = 0; i < n; i++)
        TRY(put_response(out, &resp[i]));
    return put(out, "</X1Response>\n");
}

li_err x1_xml_top_error_encode(const x1_header *hdr, li_buf *out)
{
    /* The element is X1TopLevelErrorResponse (its type is TopLevelErrorResponse). */
    TRY(open_doc(out, "X1TopLevelErrorResponse"));
    TRY(put_header(out, hdr, 0));
    return put(out, "</X1TopLevelErrorResponse>\n");
}

/* ---- decoding ---- */

typedef struct perr {
    int code;
    char *desc;
    size_t desc_size;
} perr;

/* Records the first error of a message; always returns -1 so callers can `return fail()`. */
static int fail(perr *e, int code, const char *what)
{
    if (!e->code) {
        e->code = code;
        snprintf(e->desc, e->desc_size, "%s", what);
    }
    return -1;
}

static int ns_is(const xmlNode *n, const char *href)
{
    return n->ns && n->ns->href && strcmp((const char *)n->ns->href, href) == 0;
}

/* An element of the X1 or the TS 103 280 common namespace with this local name: the
 * XSDs put locally declared elements in their own target namespace. */
static int is_elem(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0 &&
           (ns_is(n, X1_NS) || ns_is(n, X1_NS_COMMON));
}

static const xmlNode *next_elem(const xmlNode *n, const char *name)
{
    for (; n; n = n->next) {
        if (is_elem(n, name))
            return n;
    }
    return NULL;
}

static const xmlNode *child(const xmlNode *parent, const char *name)
{
    return parent ? next_elem(parent->children, name) : NULL;
}

static const xmlNode *child_ns(const xmlNode *parent, const char *href, const char *name)
{
    for (const xmlNode *n = parent ? parent->children : NULL; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && ns_is(n, href) &&
            strcmp((const char *)n->name, name) == 0)
            return n;
    }
    return NULL;
}

/* The element's character data with surrounding white space removed (the XSD simple
 * types limf reads all collapse white space). -1 when absent, too long or mixed with
 * child elements. */
static int text_of(const xmlNode *n, char *out, size_t size)
{
    size_t len = 0;
    if (!n)
        return -1;
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            return -1;
        if ((c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) || !c->content)
            continue;
        size_t clen = strlen((const char *)c->content);
        if (clen >= size - len)
            return -1;
        memcpy(out + len, c->content, clen);
        len += clen;
    }
    out[len] = '\0';
    size_t start = 0;
    while (start < len && isspace((unsigned char)out[start]))
        start++;
    while (len > start && isspace((unsigned char)out[len - 1]))
        len--;
    memmove(out, out + start, len - start);
    out[len - start] = '\0';
    return 0;
}

static int uuid_of(const xmlNode *n, uint8_t out[16])
{
    char text[64];
    return text_of(n, text, sizeof text) == 0 && li_uuid_parse(text, out) == LI_OK ? 0 : -1;
}

static int time_of(const xmlNode *n, int64_t *ns)
{
    char text[64];
    /* Times before 1970 cannot be written back (li_time_format_rfc3339) and mean nothing
     * in X1. */
    return text_of(n, text, sizeof text) == 0 && li_time_parse_rfc3339(text, ns) == LI_OK &&
                   *ns >= 0
               ? 0
               : -1;
}

enum { NS_OTHER = 0, NS_X1 = 1, NS_LIMF = 2 };

/* Resolves the xsi:type QName of n: its local name into local, and which namespace it
 * names (NS_X1, NS_LIMF or NS_OTHER). -1 without an xsi:type. */
static int xsi_type(const xmlNode *n, char *local, size_t local_size, int *ns_out)
{
    xmlChar *value = xmlGetNsProp(n, (const xmlChar *)"type", (const xmlChar *)X1_NS_XSI);
    if (!value)
        return -1;
    const char *v = (const char *)value;
    while (isspace((unsigned char)*v))
        v++;
    const char *colon = strchr(v, ':');
    const char *name = colon ? colon + 1 : v;
    char prefix[64] = "";
    int rc = -1;
    if (colon && (size_t)(colon - v) < sizeof prefix) {
        memcpy(prefix, v, (size_t)(colon - v));
        prefix[colon - v] = '\0';
    } else if (colon) {
        goto out;
    }
    size_t nlen = strlen(name);
    while (nlen && isspace((unsigned char)name[nlen - 1]))
        nlen--;
    if (nlen == 0 || nlen >= local_size)
        goto out;
    memcpy(local, name, nlen);
    local[nlen] = '\0';
    xmlNs *ns = xmlSearchNs(n->doc, (xmlNode *)n, colon ? (const xmlChar *)prefix : NULL);
    *ns_out = NS_OTHER;
    if (ns && ns->href && strcmp((const char *)ns->href, X1_NS) == 0)
        *ns_out = NS_X1;
    else if (ns && ns->href && strcmp((const char *)ns->href, X1_NS_LIMF) == 0)
        *ns_out = NS_LIMF;
    rc = 0;
out:
    xmlFree(value);
    return rc;
}

static int parse_header(const xmlNode *msg, x1_header *h, perr *e)
{
    /* The transaction ID first: an ErrorResponse about the rest still echoes it. */
    if (uuid_of(child(msg, "x1TransactionId"), h->transaction_id) != 0)
        return fail(e, X1_ERR_SYNTAX, "missing or malformed x1TransactionId");
    if (text_of(child(msg, "admfIdentifier"), h->admf_id, sizeof h->admf_id) != 0 ||
        !h->admf_id[0])
        return fail(e, X1_ERR_SYNTAX, "missing or malformed admfIdentifier");
    if (text_of(child(msg, "neIdentifier"), h->ne_id, sizeof h->ne_id) != 0 || !h->ne_id[0])
        return fail(e, X1_ERR_SYNTAX, "missing or malformed neIdentifier");
    if (time_of(child(msg, "messageTimestamp"), &h->timestamp_ns) != 0)
        return fail(e, X1_ERR_SYNTAX, "missing or malformed messageTimestamp");
    if (text_of(child(msg, "version"), h->version, sizeof h->version) != 0 || !h->version[0])
        return fail(e, X1_ERR_SYNTAX, "missing or malformed version");
    return 0;
}

static int parse_delivery(const xmlNode *n, x1_delivery *d, perr *e)
{
    char text[32];
    if (text_of(n, text, sizeof text) != 0)
        return fail(e, X1_ERR_SYNTAX, "missing or malformed deliveryType");
    for (int i = X1_DELIVERY_X2_ONLY; i <= X1_DELIVERY_X2_AND_X3; i++) {
        if (strcmp(text, delivery_names[i]) == 0) {
            *d = (x1_delivery)i;
            return 0;
        }
    }
    /* An enumeration value outside DeliveryType is a schema violation. */
    return fail(e, X1_ERR_SYNTAX, "unknown deliveryType");
}

static int parse_target(const xmlNode *ti, x1_target *t, perr *e)
{
    for (const xmlNode *c = ti->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        for (size_t k = 0; k < sizeof target_kinds / sizeof target_kinds[0]; k++) {
            if (!is_elem(c, target_kinds[k].element))
                continue;
            strcpy(t->type, target_kinds[k].type);
            if (text_of(c, t->value, sizeof t->value) != 0 || !t->value[0])
                return fail(e, X1_ERR_SYNTAX, "malformed target identifier");
            /* InternationalE164 is digits alone; a peer's '+' is tolerated and dropped,
             * so that the task reads back as the standard form. */
            if (strcmp(t->type, "e164") == 0 && t->value[0] == '+')
                memmove(t->value, t->value + 1, strlen(t->value));
            return 0;
        }
        /* Any other choice (imsi, ipv4Address, ...) is not an identity limf intercepts. */
        return fail(e, X1_ERR_TARGET_NOT_SUPPORTED, "target identifier type not supported");
    }
    return fail(e, X1_ERR_SYNTAX, "empty targetIdentifier");
}

static int parse_task(const xmlNode *td, x1_task *t, perr *e)
{
    memset(t, 0, sizeof *t);
    if (!td)
        return fail(e, X1_ERR_SYNTAX, "missing taskDetails");
    if (uuid_of(child(td, "xId"), t->xid) != 0)
        return fail(e, X1_ERR_SYNTAX, "missing or malformed xId");
    const xmlNode *list = child(td, "targetIdentifiers");
    for (const xmlNode *ti = child(list, "targetIdentifier"); ti;
         ti = next_elem(ti->next, "targetIdentifier")) {
        if (t->n_targets == X1_MAX_TARGETS)
            return fail(e, X1_ERR_SYNTAX, "too many target identifiers");
        if (parse_target(ti, &t->targets[t->n_targets], e) != 0)
            return -1;
        t->n_targets++;
    }
    if (t->n_targets == 0)
        return fail(e, X1_ERR_SYNTAX, "no target identifier");
    if (parse_delivery(child(td, "deliveryType"), &t->delivery, e) != 0)
        return -1;
    const xmlNode *did = child(child(td, "listOfDIDs"), "dId");
    if (!did)
        return fail(e, X1_ERR_SYNTAX, "listOfDIDs names no dId");
    for (t->n_dids = 0; did; did = next_elem(did->next, "dId")) {
        if (t->n_dids == X1_MAX_DIDS)
            return fail(e, X1_ERR_MULTIPLE_DESTINATIONS, "more than 8 dIds in listOfDIDs");
        if (uuid_of(did, t->dids[t->n_dids]) != 0)
            return fail(e, X1_ERR_SYNTAX, "malformed dId");
        for (size_t i = 0; i < t->n_dids; i++)
            if (memcmp(t->dids[i], t->dids[t->n_dids], 16) == 0)
                return fail(e, X1_ERR_SYNTAX, "a dId listed twice");
        t->n_dids++;
    }
    const xmlNode *st = child(child(td, "listOfServiceTypes"), "serviceType");
    for (; st; st = next_elem(st->next, "serviceType")) {
        char *v = t->service_types[t->n_service_types];
        if (t->n_service_types == X1_MAX_SERVICE_TYPES)
            return fail(e, X1_ERR_SYNTAX, "more than 4 serviceType entries");
        if (text_of(st, v, sizeof t->service_types[0]) != 0 || !v[0])
            return fail(e, X1_ERR_SYNTAX, "malformed serviceType");
        t->n_service_types++;
    }
    return 0;
}

/* The ipAddressAndPort arm (TS 103 280 IPAddressPort): a valid IPv4 or IPv6 literal
 * (a host name in IPv4Address is a schema violation) and a TCP port; a UDP port is a
 * delivery address limf does not support (X2/X3 run over TLS/TCP). */
static int parse_ip_port(const xmlNode *ipp, x1_destination *d, perr *e)
{
    const xmlNode *addr = child(ipp, "address"), *p = child(ipp, "port");
    const xmlNode *v4 = child(addr, "IPv4Address"), *v6 = child(addr, "IPv6Address");
    char host[256], port[16];
    uint8_t bin[16];
    if (!child(p, "TCPPort") && child(p, "UDPPort"))
        return fail(e, X1_ERR_ADDRESS_NOT_SUPPORTED, "UDP delivery address (TCP expected)");
    if (text_of(v4 ? v4 : v6, host, sizeof host) != 0 ||
        text_of(child(p, "TCPPort"), port, sizeof port) != 0)
        return fail(e, X1_ERR_SYNTAX, "malformed ipAddressAndPort");
    if (v4 ? !is_ipv4(host) : inet_pton(AF_INET6, host, bin) != 1)
        return fail(e, X1_ERR_SYNTAX, v4 ? "IPv4Address is not an IPv4 address"
                                         : "IPv6Address is not an IPv6 address");
    snprintf(d->address, sizeof d->address, v4 ? "%s:%s" : "[%s]:%s", host, port);
    return 0;
}

static int parse_destination(const xmlNode *dd, x1_destination *d, perr *e)
{
    memset(d, 0, sizeof *d);
    if (!dd)
        return fail(e, X1_ERR_SYNTAX, "missing destinationDetails");
    if (uuid_of(child(dd, "dId"), d->did) != 0)
        return fail(e, X1_ERR_SYNTAX, "missing or malformed dId");
    const xmlNode *fn = child(dd, "friendlyName");
    if (fn && text_of(fn, d->friendly_name, sizeof d->friendly_name) != 0)
        return fail(e, X1_ERR_SYNTAX, "malformed or too long friendlyName");
    if (parse_delivery(child(dd, "deliveryType"), &d->delivery, e) != 0)
        return -1;
    const xmlNode *da = child(dd, "deliveryAddress");
    const xmlNode *ipp = child(da, "ipAddressAndPort");
    const xmlNode *uri = child(da, "uri");
    char host[256];
    uint16_t pnum;
    if (ipp) {
        if (parse_ip_port(ipp, d, e) != 0)
            return -1;
    } else if (uri) {
        char text[300];
        if (text_of(uri, text, sizeof text) != 0 || strlen(text) >= 6 + sizeof d->address)
            return fail(e, X1_ERR_SYNTAX, "malformed deliveryAddress uri");
        if (strncmp(text, "tls://", 6) != 0)
            return fail(e, X1_ERR_ADDRESS_NOT_SUPPORTED, "deliveryAddress uri must be tls://");
        strcpy(d->address, text + 6);
    } else if (child(da, "e164Number") || child(da, "emailAddress")) {
        return fail(e, X1_ERR_ADDRESS_NOT_SUPPORTED, "e164Number or emailAddress delivery "
                                                     "address (TCP host:port expected)");
    } else {
        return fail(e, X1_ERR_SYNTAX, "deliveryAddress must be ipAddressAndPort or uri");
    }
    uint8_t bin[16];
    if (split_address(d->address, host, sizeof host, &pnum) != 0 ||
        (strchr(host, ':') && inet_pton(AF_INET6, host, bin) != 1))
        return fail(e, X1_ERR_SYNTAX, "malformed delivery address");
    return 0;
}

static int parse_object_id(const xmlNode *n, char *id, size_t size, perr *e)
{
    if (text_of(n, id, size) != 0 || !id[0])
        return fail(e, X1_ERR_SYNTAX, "missing or malformed objectId");
    for (const char *p = id; *p; p++) {
        if (!isalnum((unsigned char)*p) && !strchr("-_.:", *p))
            return fail(e, X1_ERR_SYNTAX, "malformed objectId");
    }
    return 0;
}

/* unsupported: the code for a GenericObject of another type (the request's generic
 * failure). */
static int parse_object(const xmlNode *go, x1_cert_exception *o, int unsupported, perr *e)
{
    char local[64], fp[128];
    int ns;
    size_t got;
    int64_t ns_time;
    memset(o, 0, sizeof *o);
    if (!go)
        return fail(e, X1_ERR_SYNTAX, "missing object");
    if (parse_object_id(child(go, "objectId"), o->id, sizeof o->id, e) != 0)
        return -1;
    if (xsi_type(go, local, sizeof local, &ns) != 0 || ns != NS_LIMF ||
        strcmp(local, "CertificateException") != 0)
        return fail(e, unsupported, "object type not supported");
    if (text_of(child_ns(go, X1_NS_LIMF, "fingerprint"), fp, sizeof fp) != 0 ||
        li_hex_decode(fp, strlen(fp), 1, o->fingerprint, 32, &got) != LI_OK || got != 32)
        return fail(e, X1_ERR_SYNTAX, "missing or malformed fingerprint (SHA-256)");
    if (text_of(child_ns(go, X1_NS_LIMF, "peer"), o->peer, sizeof o->peer) != 0)
        return fail(e, X1_ERR_SYNTAX, "missing or malformed peer");
    if (time_of(child_ns(go, X1_NS_LIMF, "expiry"), &ns_time) != 0 || ns_time < 0)
        return fail(e, X1_ERR_SYNTAX, "missing or malformed expiry");
    o->expires_ms = ns_time / 1000000;
    return 0;
}

static void parse_request(const xmlNode *msg, x1_request *r)
{
    perr e = { 0, r->error_desc, sizeof r->error_desc };
    int ns = NS_OTHER;
    memset(r, 0, sizeof *r);
    if (xsi_type(msg, r->type_name, sizeof r->type_name, &ns) != 0) {
        fail(&e, X1_ERR_SYNTAX, "x1RequestMessage without xsi:type");
    } else if (ns == NS_X1) {
        r->type = msg_type_of(r->type_name, "Request");
    }
    if (parse_header(msg, &r->hdr, &e) != 0 || e.code)
        goto out;
    switch (r->type) {
    case X1_MSG_UNKNOWN:
        fail(&e, X1_ERR_UNSUPPORTED_REQUEST, "request message type not supported");
        break;
    case X1_MSG_ACTIVATE_TASK:
    case X1_MSG_MODIFY_TASK:
        parse_task(child(msg, "taskDetails"), &r->task, &e);
        break;
    case X1_MSG_DEACTIVATE_TASK:
    case X1_MSG_GET_TASK_DETAILS:
        if (uuid_of(child(msg, "xId"), r->id) != 0)
            fail(&e, X1_ERR_SYNTAX, "missing or malformed xId");
        break;
    case X1_MSG_CREATE_DESTINATION:
    case X1_MSG_MODIFY_DESTINATION:
        parse_destination(child(msg, "destinationDetails"), &r->dest, &e);
        break;
    case X1_MSG_REMOVE_DESTINATION:
    case X1_MSG_GET_DESTINATION_DETAILS:
        if (uuid_of(child(msg, "dId"), r->id) != 0)
            fail(&e, X1_ERR_SYNTAX, "missing or malformed dId");
        break;
    case X1_MSG_CREATE_OBJECT:
        parse_object(child(msg, "createObject"), &r->object, X1_ERR_CREATE_OBJECT_FAILED, &e);
        break;
    case X1_MSG_MODIFY_OBJECT:
        parse_object(child(msg, "modifyObject"), &r->object, X1_ERR_MODIFY_OBJECT_FAILED, &e);
        break;
    case X1_MSG_DELETE_OBJECT:
    case X1_MSG_GET_OBJECT:
        parse_object_id(child(msg, "objectId"), r->object.id, sizeof r->object.id, &e);
        break;
    default:
        break;
    }
out:
    r->error_code = e.code;
}

/* libxml2 reports some errors (encoding conversion) through its generic handler even
 * with XML_PARSE_NOERROR; a peer's bad bytes must not reach stderr. */
static void silent(void *ctx, const char *msg, ...)
{
    (void)ctx, (void)msg;
}

void x1_xml_init(void)
{
    xmlInitParser();
    xmlThrDefSetGenericErrorFunc(NULL, silent);
    xmlSetGenericErrorFunc(NULL, silent);
}

/* Parses a document whose root must be one of roots (NULL-terminated) in the X1
 * namespace. */
static xmlDoc *read_doc(const uint8_t *buf, size_t len, const char *const *roots,
                        const xmlNode **out)
{
    if (len == 0 || len > INT_MAX)
        return NULL;
    xmlInitParser();
    /* The handler is per thread: set it for whichever thread decodes. */
    xmlSetGenericErrorFunc(NULL, silent);
    /* No network, no entity substitution (XXE), no error printing on stderr. */
    xmlDoc *doc = xmlReadMemory((const char *)buf, (int)len, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return NULL;
    const xmlNode *r = xmlDocGetRootElement(doc);
    /* A DTD could declare entities; X1 never carries one. */
    int named = 0;
    for (size_t i = 0; r && roots[i] && !named; i++)
        named = strcmp((const char *)r->name, roots[i]) == 0;
    if (doc->intSubset || doc->extSubset || !r || !ns_is(r, X1_NS) || !named) {
        xmlFreeDoc(doc);
        return NULL;
    }
    *out = r;
    return doc;
}

li_err x1_xml_request_decode(const uint8_t *buf, size_t len, x1_request *out, size_t max,
                             size_t *n)
{
    const xmlNode *root;
    static const char *const roots[] = { "X1Request", NULL };
    xmlDoc *doc = read_doc(buf, len, roots, &root);
    *n = 0;
    if (!doc)
        return LI_ERR_PROTO;
    li_err err = LI_OK;
    for (const xmlNode *m = child(root, "x1RequestMessage"); m;
         m = next_elem(m->next, "x1RequestMessage")) {
        if (*n == max) {
            err = LI_ERR_PROTO;
            break;
        }
        parse_request(m, &out[(*n)++]);
    }
    if (*n == 0)
        err = LI_ERR_PROTO;
    xmlFreeDoc(doc);
    return err;
}

/* Walks list/item/inner and hands each inner element to fn. */
static int each_item(const xmlNode *list, const char *item, const char *inner,
                     int (*fn)(const xmlNode *n, x1_response *r, perr *e), x1_response *r,
                     perr *e)
{
    for (const xmlNode *it = child(list, item); it; it = next_elem(it->next, item)) {
        if (fn(inner ? child(it, inner) : it, r, e) != 0)
            return -1;
    }
    return 0;
}

static int add_task(const xmlNode *n, x1_response *r, perr *e)
{
    x1_task t;
    if (parse_task(n, &t, e) != 0)
        return -1;
    if (r->tasks && r->n_tasks < r->tasks_cap)
        r->tasks[r->n_tasks] = t;
    if (r->xids && r->n_tasks < r->xids_cap)
        memcpy(r->xids[r->n_tasks], t.xid, 16);
    r->n_tasks++;
    return 0;
}

static int add_xid(const xmlNode *n, x1_response *r, perr *e)
{
    uint8_t xid[16];
    if (uuid_of(n, xid) != 0)
        return fail(e, X1_ERR_SYNTAX, "malformed xId");
    if (r->xids && r->n_tasks < r->xids_cap)
        memcpy(r->xids[r->n_tasks], xid, 16);
    r->n_tasks++;
    return 0;
}

static int add_destination(const xmlNode *n, x1_response *r, perr *e)
{
    x1_destination d;
    if (parse_destination(n, &d, e) != 0)
        return -1;
    if (r->dests && r->n_dests < r->dests_cap)
        r->dests[r->n_dests] = d;
    r->n_dests++;
    return 0;
}

static int add_did(const xmlNode *n, x1_response *r, perr *e)
{
    x1_destination d = { .delivery = X1_DELIVERY_X2_AND_X3 };
    if (uuid_of(n, d.did) != 0)
        return fail(e, X1_ERR_SYNTAX, "malformed dId");
    if (r->dests && r->n_dests < r->dests_cap)
        r->dests[r->n_dests] = d;
    r->n_dests++;
    return 0;
}

static int add_object(const xmlNode *n, x1_response *r, perr *e)
{
    x1_cert_exception o;
    if (parse_object(n, &o, X1_ERR_GENERIC, e) != 0)
        return -1;
    if (r->objects && r->n_objects < r->objects_cap)
        r->objects[r->n_objects] = o;
    r->n_objects++;
    return 0;
}

static int add_object_id(const xmlNode *n, x1_response *r, perr *e)
{
    x1_cert_exception o = { .expires_ms = 0 };
    if (parse_object_id(n, o.id, sizeof o.id, e) != 0)
        return -1;
    if (r->objects && r->n_objects < r->objects_cap)
        r->objects[r->n_objects] = o;
    r->n_objects++;
    return 0;
}

static int parse_response(const xmlNode *msg, x1_response *r, perr *e)
{
    int ns = NS_OTHER;
    if (xsi_type(msg, r->type_name, sizeof r->type_name, &ns) != 0 || ns != NS_X1)
        return fail(e, X1_ERR_SYNTAX, "x1ResponseMessage without X1 xsi:type");
    if (parse_header(msg, &r->hdr, e) != 0)
        return -1;
    if (strcmp(r->type_name, "ErrorResponse") == 0) {
        char rtype[64], code[24];
        const xmlNode *info = child(msg, "errorInformation");
        const xmlNode *desc = child(info, "errorDescription");
        if (text_of(child(msg, "requestMessageType"), rtype, sizeof rtype) != 0 ||
            text_of(child(info, "errorCode"), code, sizeof code) != 0)
            return fail(e, X1_ERR_SYNTAX, "malformed ErrorResponse");
        /* The schema makes errorDescription mandatory; an NE that leaves it out (or sends
         * one too long to keep) still gets its code read. */
        if (!desc || text_of(desc, r->error_desc, sizeof r->error_desc) != 0)
            r->error_desc[0] = '\0';
        char *end;
        long v = strtol(code, &end, 10);
        if (*end || end == code || v <= 0 || v > INT_MAX)
            return fail(e, X1_ERR_SYNTAX, "malformed errorCode");
        r->error_code = (int)v;
        /* requestMessageType is the enumeration value itself ("ActivateTask"). */
        r->type = msg_type_of(rtype, "");
        return 0;
    }
    r->type = msg_type_of(r->type_name, "Response");
    switch (r->type) {
    case X1_MSG_UNKNOWN:
        return fail(e, X1_ERR_SYNTAX, "unknown response type");
    case X1_MSG_GET_TASK_DETAILS:
        return parse_task(child(child(msg, "taskResponseDetails"), "taskDetails"), &r->task, e);
    case X1_MSG_GET_ALL_DETAILS:
        r->n_tasks = r->n_dests = r->n_objects = 0;
        if (!child(msg, "listOfTaskResponseDetails"))
            return fail(e, X1_ERR_SYNTAX, "missing listOfTaskResponseDetails");
        if (each_item(child(msg, "listOfTaskResponseDetails"), "taskResponseDetails",
                      "taskDetails", add_task, r, e) != 0 ||
            each_item(child(msg, "listOfDestinationResponseDetails"),
                      "destinationResponseDetails", "destinationDetails", add_destination, r,
                      e) != 0 ||
            each_item(child(msg, "listOfGenericObjectResponseDetails"),
                      "genericObjectResponseDetails", "object", add_object, r, e) != 0)
            return -1;
        return 0;
    case X1_MSG_LIST_ALL_DETAILS:
        r->n_tasks = r->n_dests = r->n_objects = 0;
        if (each_item(child(msg, "ListOfXIDs"), "xId", NULL, add_xid, r, e) != 0 ||
            each_item(child(msg, "ListOfDIDs"), "dId", NULL, add_did, r, e) != 0 ||
            each_item(child(msg, "ListOfGenericObjectIDs"), "objectId", NULL, add_object_id, r,
                      e) != 0)
            return -1;
        return 0;
    case X1_MSG_GET_DESTINATION_DETAILS:
        return parse_destination(child(child(msg, "destinationResponseDetails"),
                                       "destinationDetails"), &r->dest, e);
    case X1_MSG_GET_OBJECT:
        return parse_object(child(child(msg, "genericObjectResponseDetails"), "object"),
                            &r->object, X1_ERR_GENERIC, e);
    case X1_MSG_GET_NE_STATUS: {
        char status[32];
        if (text_of(child(child(msg, "neStatusDetails"), "neStatus"), status, sizeof status) != 0)
            return fail(e, X1_ERR_SYNTAX, "missing neStatus");
        return 0;
    }
    default: {
        char ok[64];
        if (text_of(child(msg, "oK"), ok, sizeof ok) != 0 ||
            (strcmp(ok, "AcknowledgedAndCompleted") != 0 && strcmp(ok, "Acknowledged") != 0))
            return fail(e, X1_ERR_SYNTAX, "missing or malformed oK");
        return 0;
    }
    }
}

li_err x1_xml_response_decode(const uint8_t *buf, size_t len, x1_response *out)
{
    /* X1TopLevelErrorResponse is the schema's element; TopLevelErrorResponse (its type's
     * name) is what limf sent before and some peers still send. */
    static const char *const roots[] = { "X1Response", "X1TopLevelErrorResponse",
                                         "TopLevelErrorResponse", NULL };
    const xmlNode *root;
    xmlDoc *doc = read_doc(buf, len, roots, &root);
    if (!doc)
        return LI_ERR_PROTO;
    /* Keep the caller's list storage, clear everything else. */
    x1_response keep = *out;
    memset(out, 0, sizeof *out);
    out->tasks = keep.tasks;
    out->tasks_cap = keep.tasks_cap;
    out->xids = keep.xids;
    out->xids_cap = keep.xids_cap;
    out->dests = keep.dests;
    out->dests_cap = keep.dests_cap;
    out->objects = keep.objects;
    out->objects_cap = keep.objects_cap;
    char desc[128];
    perr e = { 0, desc, sizeof desc };
    if (strcmp((const char *)root->name, "X1Response") != 0) {
        /* Its header has no x1TransactionId: read what it has, for the caller's report. */
        out->top_level_error = 1;
        text_of(child(root, "neIdentifier"), out->hdr.ne_id, sizeof out->hdr.ne_id);
        text_of(child(root, "admfIdentifier"), out->hdr.admf_id, sizeof out->hdr.admf_id);
        xmlFreeDoc(doc);
        return LI_ERR_PROTO;
    }
    const xmlNode *m = child(root, "x1ResponseMessage");
    li_err err = m && parse_response(m, out, &e) == 0 ? LI_OK : LI_ERR_PROTO;
    xmlFreeDoc(doc);
    return err;
}
