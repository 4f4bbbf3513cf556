/* X1 XML codec: round trips of every message limf sends, and a table of hand-written
 * documents (foreign prefixes, 3-digit timestamps, hostile and malformed input). Every
 * document is decoded from a copy right before an unreadable page (guard.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "x1_xml.h"

static const uint8_t XID[16] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47, 0x88,
                                 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01 };
static const uint8_t DID[16] = { 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0x47, 0xd8,
                                 0x89, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xd0 };

static void sample_task(x1_task *t)
{
    memset(t, 0, sizeof *t);
    memcpy(t->xid, XID, 16);
    memcpy(t->dids[0], DID, 16);
    t->n_dids = 1;
    t->delivery = X1_DELIVERY_X2_AND_X3;
    t->n_targets = 3;
    strcpy(t->targets[0].type, "sip-uri");
    strcpy(t->targets[0].value, "sip:Alice@Example.COM;user=phone&x=<y>");
    strcpy(t->targets[1].type, "tel-uri");
    strcpy(t->targets[1].value, "tel:+49-30-1234");
    strcpy(t->targets[2].type, "e164");
    strcpy(t->targets[2].value, "+49301234");
    strcpy(t->service_types[0], "messaging");
    t->n_service_types = 1;
}

/* An e164 value travels as the digits alone (TS 103 280 InternationalE164). */
static const char *e164_digits(const x1_target *t)
{
    return strcmp(t->type, "e164") == 0 && t->value[0] == '+' ? t->value + 1 : t->value;
}

static void sample_exception(x1_cert_exception *o)
{
    memset(o, 0, sizeof *o);
    strcpy(o->id, "0f8fad5b-d9cb-469f-a165-70867728950e");
    for (int i = 0; i < 32; i++)
        o->fingerprint[i] = (uint8_t)(i * 7);
    strcpy(o->peer, "conf.example.net");
    o->expires_ms = 1900000000123;
}

static void assert_task_equal(const x1_task *a, const x1_task *b)
{
    assert_memory_equal(a->xid, b->xid, 16);
    assert_int_equal(a->n_dids, b->n_dids);
    assert_memory_equal(a->dids, b->dids, a->n_dids * 16);
    assert_int_equal(a->delivery, b->delivery);
    assert_int_equal(a->n_targets, b->n_targets);
    for (size_t i = 0; i < a->n_targets; i++) {
        assert_string_equal(a->targets[i].type, b->targets[i].type);
        assert_string_equal(e164_digits(&a->targets[i]), e164_digits(&b->targets[i]));
    }
    assert_int_equal(a->n_service_types, b->n_service_types);
    for (size_t i = 0; i < a->n_service_types; i++)
        assert_string_equal(a->service_types[i], b->service_types[i]);
}

static void assert_exception_equal(const x1_cert_exception *a, const x1_cert_exception *b)
{
    assert_string_equal(a->id, b->id);
    assert_memory_equal(a->fingerprint, b->fingerprint, 32);
    assert_string_equal(a->peer, b->peer);
    assert_int_equal(a->expires_ms, b->expires_ms);
}

/* Encodes one request, decodes it, and checks the header survived. */
static void request_round_trip(const x1_request *in, x1_request *out)
{
    li_buf b;
    size_t n;
    li_buf_init(&b, 0);
    assert_int_equal(x1_xml_request_encode(in, 1, &b), LI_OK);
    assert_int_equal(x1_xml_request_decode(guarded(b.data, b.len), b.len, out, 1, &n), LI_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out->error_code, 0);
    assert_int_equal(out->type, in->type);
    assert_string_equal(out->hdr.admf_id, in->hdr.admf_id);
    assert_string_equal(out->hdr.ne_id, in->hdr.ne_id);
    assert_string_equal(out->hdr.version, X1_VERSION);
    assert_memory_equal(out->hdr.transaction_id, in->hdr.transaction_id, 16);
    /* Sent with 6 fraction digits: microseconds survive, nanoseconds do not. */
    assert_int_equal(out->hdr.timestamp_ns / 1000, in->hdr.timestamp_ns / 1000);
    assert_non_null(strstr((const char *)b.data, "<messageTimestamp>"));
    li_buf_free(&b);
}

static void test_request_round_trips(void **state)
{
    (void)state;
    static x1_request in, out;
    for (int t = X1_MSG_UNKNOWN + 1; t < X1_MSG_COUNT; t++) {
        memset(&in, 0, sizeof in);
        assert_int_equal(x1_header_init(&in.hdr, "admf & co", "ne<1>"), LI_OK);
        in.type = (x1_msg_type)t;
        sample_task(&in.task);
        if (t % 2) {   /* and a listOfDIDs of three */
            for (int k = 1; k < 3; k++) {
                memcpy(in.task.dids[k], DID, 16);
                in.task.dids[k][15] = (uint8_t)k;
            }
            in.task.n_dids = 3;
        }
        memcpy(in.id, XID, 16);
        memcpy(in.dest.did, DID, 16);
        in.dest.delivery = X1_DELIVERY_X2_ONLY;
        strcpy(in.dest.address, t % 2 ? "192.0.2.7:4443" : "[2001:db8::1]:4443");
        strcpy(in.dest.friendly_name, t % 2 ? "agency & <ingest>" : "");
        sample_exception(&in.object);
        request_round_trip(&in, &out);
        switch (in.type) {
        case X1_MSG_ACTIVATE_TASK:
        case X1_MSG_MODIFY_TASK:
            assert_task_equal(&in.task, &out.task);
            break;
        case X1_MSG_DEACTIVATE_TASK:
        case X1_MSG_GET_TASK_DETAILS:
        case X1_MSG_REMOVE_DESTINATION:
        case X1_MSG_GET_DESTINATION_DETAILS:
            assert_memory_equal(in.id, out.id, 16);
            break;
        case X1_MSG_CREATE_DESTINATION:
        case X1_MSG_MODIFY_DESTINATION:
            assert_memory_equal(in.dest.did, out.dest.did, 16);
            assert_int_equal(in.dest.delivery, out.dest.delivery);
            /* IPv6 is sent in TS 103 280's full form and read back as such. */
            assert_string_equal(out.dest.address, t % 2 ? "192.0.2.7:4443"
                                : "[2001:0db8:0000:0000:0000:0000:0000:0001]:4443");
            assert_string_equal(in.dest.friendly_name, out.dest.friendly_name);
            break;
        case X1_MSG_CREATE_OBJECT:
        case X1_MSG_MODIFY_OBJECT:
            assert_exception_equal(&in.object, &out.object);
            break;
        case X1_MSG_DELETE_OBJECT:
        case X1_MSG_GET_OBJECT:
            assert_string_equal(in.object.id, out.object.id);
            break;
        default:
            break;
        }
    }
    /* A host name travels as a tls:// URI. */
    memset(&in, 0, sizeof in);
    x1_header_init(&in.hdr, "a", "n");
    in.type = X1_MSG_CREATE_DESTINATION;
    in.dest.delivery = X1_DELIVERY_X2_AND_X3;
    strcpy(in.dest.address, "ingest.example.net:4443");
    request_round_trip(&in, &out);
    assert_string_equal(out.dest.address, "ingest.example.net:4443");
}

/* The encoded document as a C string (the encoder keeps no NUL after it). */
static const char *doc_text(li_buf *b)
{
    assert_int_equal(li_buf_append(b, "", 1), LI_OK);
    return (const char *)b->data;
}

/* What goes on the wire for the values the standard types narrowly. */
static void test_request_wire_forms(void **state)
{
    (void)state;
    static x1_request in;
    li_buf b;
    li_buf_init(&b, 0);
    memset(&in, 0, sizeof in);
    x1_header_init(&in.hdr, "a", "n");
    in.type = X1_MSG_ACTIVATE_TASK;
    sample_task(&in.task);
    assert_int_equal(x1_xml_request_encode(&in, 1, &b), LI_OK);
    /* e164Number without '+', and only the service types provisioned. */
    assert_non_null(strstr(doc_text(&b), "<e164Number>49301234</e164Number>"));
    assert_non_null(strstr((const char *)b.data,
                           "<listOfServiceTypes><serviceType>messaging</serviceType>"));
    in.task.n_service_types = 0;
    li_buf_reset(&b);
    assert_int_equal(x1_xml_request_encode(&in, 1, &b), LI_OK);
    assert_null(strstr(doc_text(&b), "listOfServiceTypes"));
    /* friendlyName right after dId, as the DestinationDetails sequence orders it. */
    in.type = X1_MSG_CREATE_DESTINATION;
    in.dest.delivery = X1_DELIVERY_X2_ONLY;
    strcpy(in.dest.address, "192.0.2.7:4443");
    strcpy(in.dest.friendly_name, "ingest-1");
    li_buf_reset(&b);
    assert_int_equal(x1_xml_request_encode(&in, 1, &b), LI_OK);
    assert_non_null(strstr(doc_text(&b), "</dId><friendlyName>ingest-1</friendlyName>"
                                                 "<deliveryType>"));
    li_buf_free(&b);
}

static void test_encode_refuses_bad_input(void **state)
{
    (void)state;
    static x1_request r;
    li_buf b;
    li_buf_init(&b, 0);
    memset(&r, 0, sizeof r);
    x1_header_init(&r.hdr, "a", "n");
    r.type = X1_MSG_ACTIVATE_TASK;
    sample_task(&r.task);
    r.task.n_targets = 0;
    assert_int_equal(x1_xml_request_encode(&r, 1, &b), LI_ERR_INVAL);
    sample_task(&r.task);
    strcpy(r.task.targets[1].type, "imsi");
    li_buf_reset(&b);
    assert_int_equal(x1_xml_request_encode(&r, 1, &b), LI_ERR_INVAL);
    r.type = X1_MSG_CREATE_DESTINATION;
    strcpy(r.dest.address, "no-port");
    r.dest.delivery = X1_DELIVERY_X2_ONLY;
    li_buf_reset(&b);
    assert_int_equal(x1_xml_request_encode(&r, 1, &b), LI_ERR_INVAL);
    r.type = X1_MSG_UNKNOWN;
    li_buf_reset(&b);
    assert_int_equal(x1_xml_request_encode(&r, 1, &b), LI_ERR_INVAL);
    assert_int_equal(x1_header_init(&r.hdr, "", "n"), LI_OK);
    r.type = X1_MSG_PING;
    li_buf_reset(&b);
    assert_int_equal(x1_xml_request_encode(&r, 1, &b), LI_ERR_INVAL);
    li_buf_free(&b);
}

static void test_response_round_trips(void **state)
{
    (void)state;
    static x1_response in[6], out;
    static x1_task tasks[2], got_tasks[1];
    static x1_destination dests[1];
    static x1_cert_exception objs[1], got_objs[2];
    uint8_t xids[4][16];
    li_buf b;
    li_buf_init(&b, 0);

    memset(in, 0, sizeof in);
    for (int i = 0; i < 6; i++)
        x1_header_init(&in[i].hdr, "admf", "ne");
    in[0].type = X1_MSG_ACTIVATE_TASK;
    in[1].type = X1_MSG_DEACTIVATE_TASK;
    in[1].error_code = X1_ERR_XID_NOT_FOUND;
    strcpy(in[1].error_desc, "no such XID <here>");
    sample_task(&tasks[0]);
    sample_task(&tasks[1]);
    tasks[1].xid[0] = 0x77;
    tasks[1].n_targets = 1;
    memcpy(tasks[1].dids[1], XID, 16);
    tasks[1].n_dids = 2;
    sample_exception(&objs[0]);
    memcpy(dests[0].did, DID, 16);
    dests[0].delivery = X1_DELIVERY_X2_AND_X3;
    strcpy(dests[0].address, "127.0.0.1:9");
    in[2].type = X1_MSG_GET_ALL_DETAILS;
    in[2].tasks = tasks;
    in[2].n_tasks = 2;
    in[2].dests = dests;
    in[2].n_dests = 1;
    in[2].objects = objs;
    in[2].n_objects = 1;
    in[3] = in[2];
    in[3].type = X1_MSG_LIST_ALL_DETAILS;
    in[4].type = X1_MSG_GET_TASK_DETAILS;
    in[4].task = tasks[1];
    in[5].type = X1_MSG_UNKNOWN;
    in[5].error_code = X1_ERR_GENERIC;
    strcpy(in[5].type_name, "DeleteAllObjectsRequest");

    for (int i = 0; i < 6; i++) {
        li_buf_reset(&b);
        assert_int_equal(x1_xml_response_encode(&in[i], 1, &b), LI_OK);
        memset(&out, 0, sizeof out);
        out.tasks = got_tasks;
        out.tasks_cap = 1;
        out.xids = xids;
        out.xids_cap = 4;
        out.objects = got_objs;
        out.objects_cap = 2;
        assert_int_equal(x1_xml_response_decode(guarded(b.data, b.len), b.len, &out), LI_OK);
        assert_int_equal(out.error_code, in[i].error_code);
        assert_memory_equal(out.hdr.transaction_id, in[i].hdr.transaction_id, 16);
        switch (i) {
        case 0:
            assert_int_equal(out.type, X1_MSG_ACTIVATE_TASK);
            break;
        case 1:
            assert_int_equal(out.type, X1_MSG_DEACTIVATE_TASK);
            assert_string_equal(out.error_desc, "no such XID <here>");
            break;
        case 2:
            assert_int_equal(out.n_tasks, 2);
            assert_task_equal(&got_tasks[0], &tasks[0]); /* only one stored: cap 1 */
            assert_memory_equal(xids[1], tasks[1].xid, 16);
            assert_int_equal(out.n_dests, 1);
            assert_int_equal(out.n_objects, 1);
            assert_exception_equal(&got_objs[0], &objs[0]);
            break;
        case 3:
            assert_int_equal(out.type, X1_MSG_LIST_ALL_DETAILS);
            assert_int_equal(out.n_tasks, 2);
            assert_memory_equal(xids[0], tasks[0].xid, 16);
            assert_memory_equal(xids[1], tasks[1].xid, 16);
            assert_int_equal(out.n_objects, 1);
            assert_string_equal(got_objs[0].id, objs[0].id);
            break;
        case 4:
            assert_task_equal(&out.task, &tasks[1]);
            break;
        case 5:
            assert_int_equal(out.type, X1_MSG_UNKNOWN);
            assert_non_null(strstr((const char *)b.data,
                                   "<requestMessageType>DeleteAllObjects<"));
            break;
        }
    }
    /* A top-level error is not an answer to the request; its element is the schema's. */
    li_buf_reset(&b);
    assert_int_equal(x1_xml_top_error_encode(&in[0].hdr, &b), LI_OK);
    assert_non_null(strstr(doc_text(&b), "<X1TopLevelErrorResponse "));
    assert_null(strstr(doc_text(&b), "x1TransactionId"));
    assert_int_equal(x1_xml_response_decode(guarded(b.data, b.len - 2), b.len - 2, &out), LI_ERR_PROTO);
    assert_int_equal(out.top_level_error, 1);
    li_buf_free(&b);
}

/* ---- hand-written request documents ---- */

#define HDR(ts)                                                                        \
    "<admfIdentifier>admf</admfIdentifier><neIdentifier>ne</neIdentifier>"             \
    "<messageTimestamp>" ts "</messageTimestamp><version>v1.6.1</version>"             \
    "<x1TransactionId>3fa85f64-5717-4562-b3fc-2c963f66afa6</x1TransactionId>"
#define TASK(targets, delivery, dids)                                                  \
    "<taskDetails><xId>11223344-5566-4788-99aa-bbccddeeff01</xId>"                     \
    "<targetIdentifiers>" targets "</targetIdentifiers>"                               \
    "<deliveryType>" delivery "</deliveryType><listOfDIDs>" dids "</listOfDIDs>"       \
    "</taskDetails>"
#define ONE_DID "<dId>d1d2d3d4-d5d6-47d8-89da-dbdcdddedfd0</dId>"
#define DID_N(n) "<dId>d1d2d3d4-d5d6-47d8-89da-dbdcdddedfd" #n "</dId>"
#define EIGHT_DIDS DID_N(1) DID_N(2) DID_N(3) DID_N(4) DID_N(5) DID_N(6) DID_N(7) DID_N(8)
#define SIP "<targetIdentifier><sipUri>sip:alice@example.com</sipUri></targetIdentifier>"
#define DEST(addr)                                                                     \
    "<destinationDetails><dId>d1d2d3d4-d5d6-47d8-89da-dbdcdddedfd0</dId>"              \
    "<deliveryType>X2andX3</deliveryType><deliveryAddress>" addr "</deliveryAddress>"  \
    "</destinationDetails>"
#define IPP(kind, host, port)                                                          \
    "<ipAddressAndPort><address><" kind ">" host "</" kind "></address><port><" port   \
    ">4443</" port "></port></ipAddressAndPort>"
#define DOC(msgs)                                                                      \
    "<?xml version=\"1.0\"?><X1Request xmlns=\"" X1_NS "\" xmlns:xsi=\"" X1_NS_XSI      \
    "\" xmlns:x=\"" X1_NS "\">" msgs "</X1Request>"
#define MSG(type, body) "<x1RequestMessage xsi:type=\"x:" type "\">" HDR(                 \
        "2026-11-27T10:00:00.123Z") body "</x1RequestMessage>"

typedef struct req_vector {
    const char *name;
    const char *xml;
    li_err err;           /* of the document */
    size_t n;             /* messages */
    x1_msg_type type;     /* of the first */
    int code;             /* error_code of the first */
} req_vector;

static const req_vector req_vectors[] = {
    { .name = "plain activate",
      .xml = DOC(MSG("ActivateTaskRequest", TASK(SIP, "X2andX3", ONE_DID))),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_ACTIVATE_TASK },
    { .name = "foreign prefixes everywhere",
      .xml = "<p:X1Request xmlns:p=\"" X1_NS "\" xmlns:i=\"" X1_NS_XSI "\">"
          "<p:x1RequestMessage i:type=\"p:ActivateTaskRequest\">"
          "<p:admfIdentifier>admf</p:admfIdentifier><p:neIdentifier>ne</p:neIdentifier>"
          "<p:messageTimestamp>2026-11-27T10:00:00.123456Z</p:messageTimestamp>"
          "<p:version>v1</p:version>"
          "<p:x1TransactionId> 3fa85f64-5717-4562-b3fc-2c963f66afa6 </p:x1TransactionId>"
          "<p:taskDetails><p:xId>11223344-5566-4788-99aa-bbccddeeff01</p:xId>"
          "<p:targetIdentifiers><p:targetIdentifier><p:telUri><![CDATA[tel:+4930]]></p:telUri>"
          "</p:targetIdentifier></p:targetIdentifiers><p:deliveryType>X2Only</p:deliveryType>"
          "<p:listOfDIDs><p:dId>d1d2d3d4-d5d6-47d8-89da-dbdcdddedfd0</p:dId></p:listOfDIDs>"
          "<ext:foo xmlns:ext=\"urn:other\">ignored</ext:foo>"
          "</p:taskDetails></p:x1RequestMessage></p:X1Request>",
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_ACTIVATE_TASK },
    { .name = "unprefixed xsi:type in the default namespace",
      .xml = "<X1Request xmlns=\"" X1_NS "\" xmlns:xsi=\"" X1_NS_XSI "\">"
          "<x1RequestMessage xsi:type=\"PingRequest\">" HDR("2026-11-27T10:00:00Z")
          "</x1RequestMessage></X1Request>",
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_PING },
    { .name = "pretty-printed, with mediation details and 3GPP-style extensions",
      .xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<X1Request xmlns=\"" X1_NS "\" xmlns:xsi=\"" X1_NS_XSI "\" xmlns:c=\"" X1_NS_COMMON "\">\n"
          "  <x1RequestMessage xsi:type=\"ActivateTaskRequest\">\n"
          "    <admfIdentifier>admf</admfIdentifier>\n    <neIdentifier>ne</neIdentifier>\n"
          "    <messageTimestamp>2026-10-01T08:30:00.000000Z</messageTimestamp>\n"
          "    <version>v1.23.1</version>\n"
          "    <x1TransactionId>3fa85f64-5717-4562-b3fc-2c963f66afa6</x1TransactionId>\n"
          "    <taskDetails>\n      <xId>aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee</xId>\n"
          "      <targetIdentifiers>\n        <targetIdentifier>\n"
          "          <impu>sip:+4930123@ims.example</impu>\n        </targetIdentifier>\n"
          "      </targetIdentifiers>\n      <deliveryType>X2andX3</deliveryType>\n"
          "      <listOfDIDs>\n        <dId>d1d2d3d4-d5d6-47d8-89da-dbdcdddedfd0</dId>\n"
          "      </listOfDIDs>\n      <listOfMediationDetails><mediationDetails><LIID>L1</LIID>"
          "<deliveryType>HI2andHI3</deliveryType></mediationDetails></listOfMediationDetails>\n"
          "      <taskDetailsExtensions><Owner>3GPP</Owner><e:Whatever xmlns:e=\"urn:3GPP:x\">1"
          "</e:Whatever></taskDetailsExtensions>\n    </taskDetails>\n"
          "  </x1RequestMessage>\n</X1Request>\n",
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_ACTIVATE_TASK },
    { .name = "two messages",
      .xml = DOC(MSG("PingRequest", "") MSG("KeepaliveRequest", "")),
      .err = LI_OK,
      .n = 2,
      .type = X1_MSG_PING },
    { .name = "not implemented type",
      .xml = DOC(MSG("DeactivateAllTasksRequest", "")),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_UNKNOWN,
      .code = X1_ERR_UNSUPPORTED_REQUEST },
    { .name = "type in a foreign namespace",
      .xml = "<X1Request xmlns=\"" X1_NS "\" xmlns:xsi=\"" X1_NS_XSI "\" xmlns:o=\"urn:o\">"
          "<x1RequestMessage xsi:type=\"o:PingRequest\">" HDR("2026-11-27T10:00:00Z")
          "</x1RequestMessage></X1Request>",
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_UNKNOWN,
      .code = X1_ERR_UNSUPPORTED_REQUEST },
    { .name = "no xsi:type",
      .xml = DOC("<x1RequestMessage>" HDR("2026-11-27T10:00:00Z") "</x1RequestMessage>"),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_UNKNOWN,
      .code = X1_ERR_SYNTAX },
    { .name = "imsi target",
      .xml = DOC(MSG("ActivateTaskRequest", TASK("<targetIdentifier><imsi>262011234567890</imsi>"
          "</targetIdentifier>", "X2Only", ONE_DID))),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_ACTIVATE_TASK,
      .code = X1_ERR_TARGET_NOT_SUPPORTED },
    { .name = "no target",
      .xml = DOC(MSG("ActivateTaskRequest", TASK("", "X2Only", ONE_DID))),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_ACTIVATE_TASK,
      .code = X1_ERR_SYNTAX },
    { .name = "target in no namespace",
      .xml = DOC(MSG("ActivateTaskRequest", TASK("<targetIdentifier><sipUri xmlns=\"\">sip:a@b"
          "</sipUri></targetIdentifier>", "X2Only", ONE_DID))),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_ACTIVATE_TASK,
      .code = X1_ERR_TARGET_NOT_SUPPORTED },
    { .name = "bad delivery type",
      .xml = DOC(MSG("ActivateTaskRequest", TASK(SIP, "X4Only", ONE_DID))),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_ACTIVATE_TASK,
      .code = X1_ERR_SYNTAX },
    { .name = "a DID listed twice",
      .xml = DOC(MSG("ActivateTaskRequest", TASK(SIP, "X2Only", ONE_DID ONE_DID))),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_ACTIVATE_TASK,
      .code = X1_ERR_SYNTAX },
    { .name = "eight DIDs",
      .xml = DOC(MSG("ActivateTaskRequest", TASK(SIP, "X2Only", EIGHT_DIDS))),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_ACTIVATE_TASK },
    { .name = "nine DIDs",
      .xml = DOC(MSG("ActivateTaskRequest", TASK(SIP, "X2Only", EIGHT_DIDS ONE_DID))),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_ACTIVATE_TASK,
      .code = X1_ERR_MULTIPLE_DESTINATIONS },
    { .name = "a host name in IPv4Address",
      .xml = DOC(MSG("CreateDestinationRequest", DEST(IPP("IPv4Address", "ingest.example", "TCPPort")))),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_CREATE_DESTINATION,
      .code = X1_ERR_SYNTAX },
    { .name = "an IPv4 address in IPv6Address",
      .xml = DOC(MSG("CreateDestinationRequest", DEST(IPP("IPv6Address", "192.0.2.1", "TCPPort")))),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_CREATE_DESTINATION,
      .code = X1_ERR_SYNTAX },
    { .name = "IPv4 and TCP port",
      .xml = DOC(MSG("CreateDestinationRequest", DEST(IPP("IPv4Address", "192.0.2.1", "TCPPort")))),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_CREATE_DESTINATION },
    { .name = "compressed IPv6 accepted",
      .xml = DOC(MSG("CreateDestinationRequest", DEST(IPP("IPv6Address", "2001:db8::1", "TCPPort")))),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_CREATE_DESTINATION },
    { .name = "a UDP port",
      .xml = DOC(MSG("CreateDestinationRequest", DEST(IPP("IPv4Address", "192.0.2.1", "UDPPort")))),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_CREATE_DESTINATION,
      .code = X1_ERR_ADDRESS_NOT_SUPPORTED },
    { .name = "an e164Number delivery address",
      .xml = DOC(MSG("CreateDestinationRequest", DEST("<e164Number>4930123</e164Number>"))),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_CREATE_DESTINATION,
      .code = X1_ERR_ADDRESS_NOT_SUPPORTED },
    { .name = "a tls uri whose bracketed host is no IPv6 address",
      .xml = DOC(MSG("CreateDestinationRequest", DEST("<uri>tls://[::1%eth0]:4443</uri>"))),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_CREATE_DESTINATION,
      .code = X1_ERR_SYNTAX },
    { .name = "an http uri",
      .xml = DOC(MSG("CreateDestinationRequest", DEST("<uri>http://192.0.2.1:80</uri>"))),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_CREATE_DESTINATION,
      .code = X1_ERR_ADDRESS_NOT_SUPPORTED },
    { .name = "no DID",
      .xml = DOC(MSG("ActivateTaskRequest", TASK(SIP, "X2Only", ""))),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_ACTIVATE_TASK,
      .code = X1_ERR_SYNTAX },
    { .name = "bad xId",
      .xml = DOC(MSG("DeactivateTaskRequest", "<xId>not-a-uuid</xId>")),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_DEACTIVATE_TASK,
      .code = X1_ERR_SYNTAX },
    { .name = "bad timestamp",
      .xml = DOC("<x1RequestMessage xsi:type=\"x:PingRequest\">" HDR("yesterday")
          "</x1RequestMessage>"),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_PING,
      .code = X1_ERR_SYNTAX },
    { .name = "timestamp before 1970",
      .xml = DOC("<x1RequestMessage xsi:type=\"x:PingRequest\">" HDR("1728-11-27T10:00:00Z")
          "</x1RequestMessage>"),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_PING,
      .code = X1_ERR_SYNTAX },
    { .name = "timestamp beyond int64 nanoseconds",
      .xml = DOC("<x1RequestMessage xsi:type=\"x:PingRequest\">" HDR("9999-12-31T23:59:59Z")
          "</x1RequestMessage>"),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_PING,
      .code = X1_ERR_SYNTAX },
    { .name = "missing transaction id",
      .xml = DOC("<x1RequestMessage xsi:type=\"x:PingRequest\"><admfIdentifier>a</admfIdentifier>"
          "</x1RequestMessage>"),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_PING,
      .code = X1_ERR_SYNTAX },
    { .name = "object of a foreign type",
      .xml = DOC(MSG("CreateObjectRequest", "<createObject xsi:type=\"x:HashContext\"><objectId>"
          "abc</objectId></createObject>")),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_CREATE_OBJECT,
      .code = X1_ERR_CREATE_OBJECT_FAILED },
    { .name = "object with a short fingerprint",
      .xml = DOC(MSG("CreateObjectRequest",
          "<createObject xmlns:l=\"" X1_NS_LIMF "\" xsi:type=\"l:CertificateException\">"
          "<objectId>abc</objectId><l:fingerprint>AB:CD</l:fingerprint><l:peer>p</l:peer>"
          "<l:expiry>2030-01-01T00:00:00Z</l:expiry></createObject>")),
      .err = LI_OK,
      .n = 1,
      .type = X1_MSG_CREATE_OBJECT,
      .code = X1_ERR_SYNTAX },
    { .name = "empty document", .xml = "", .err = LI_ERR_PROTO },
    { .name = "not XML", .xml = "X1Request please", .err = LI_ERR_PROTO },
    { .name = "truncated", .xml = DOC("<x1RequestMessage"), .err = LI_ERR_PROTO },
    { .name = "wrong root namespace",
      .xml = "<X1Request xmlns=\"http://uri.etsi.org/03221/X1/2016/01\"><x1RequestMessage/>"
          "</X1Request>",
      .err = LI_ERR_PROTO },
    { .name = "response instead of request",
      .xml = "<X1Response xmlns=\"" X1_NS "\"/>",
      .err = LI_ERR_PROTO },
    { .name = "no message", .xml = DOC(""), .err = LI_ERR_PROTO },
    { .name = "entity expansion",
      .xml = "<?xml version=\"1.0\"?><!DOCTYPE X1Request [<!ENTITY a \"aaaaaaaaaa\">"
          "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
          "<X1Request xmlns=\"" X1_NS "\">&b;</X1Request>",
      .err = LI_ERR_PROTO },
    { .name = "external entity",
      .xml = "<?xml version=\"1.0\"?><!DOCTYPE X1Request [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
          "<X1Request xmlns=\"" X1_NS "\">&e;</X1Request>",
      .err = LI_ERR_PROTO },
};

static void test_request_vectors(void **state)
{
    (void)state;
    static x1_request out[3];
    for (size_t i = 0; i < sizeof req_vectors / sizeof req_vectors[0]; i++) {
        const req_vector *v = &req_vectors[i];
        size_t n = 99;
        print_message("vector: %s\n", v->name);
        size_t len = strlen(v->xml);
        li_err err = x1_xml_request_decode(guarded(v->xml, len), len, out, 3, &n);
        assert_int_equal(err, v->err);
        if (err != LI_OK)
            continue;
        assert_int_equal(n, v->n);
        assert_int_equal(out[0].type, v->type);
        assert_int_equal(out[0].error_code, v->code);
        if (v->code == 0 && v->type != X1_MSG_UNKNOWN) {
            assert_string_equal(out[0].hdr.admf_id, "admf");
            assert_int_equal(out[0].hdr.transaction_id[0], 0x3f);
        }
        if (strcmp(v->name, "eight DIDs") == 0) {
            assert_int_equal(out[0].task.n_dids, 8);
            assert_int_equal(out[0].task.dids[7][15], 0xd8);
        }
    }
    /* More messages than the caller has room for. */
    const char *two = DOC(MSG("PingRequest", "") MSG("PingRequest", ""));
    size_t n;
    assert_int_equal(x1_xml_request_decode(guarded(two, strlen(two)), strlen(two), out, 1,
                                           &n),
                     LI_ERR_PROTO);
    /* 3 fraction digits are accepted. */
    const char *ping = DOC(MSG("PingRequest", ""));
    assert_int_equal(x1_xml_request_decode(guarded(ping, strlen(ping)), strlen(ping), out, 1,
                                           &n),
                     LI_OK);
    assert_int_equal(out[0].hdr.timestamp_ns % 1000000000, 123000000);
}

static void test_response_vectors(void **state)
{
    (void)state;
    static x1_response r;
    const char *err =
        "<R:X1Response xmlns:R=\"" X1_NS "\" xmlns:s=\"" X1_NS_XSI "\">"
        "<R:x1ResponseMessage s:type=\"R:ErrorResponse\">"
        "<R:admfIdentifier>a</R:admfIdentifier><R:neIdentifier>n</R:neIdentifier>"
        "<R:messageTimestamp>2026-01-01T00:00:00.000Z</R:messageTimestamp>"
        "<R:version>v1</R:version>"
        "<R:x1TransactionId>3fa85f64-5717-4562-b3fc-2c963f66afa6</R:x1TransactionId>"
        "<R:requestMessageType>ActivateTask</R:requestMessageType>"
        "<R:errorInformation><R:errorCode>2040</R:errorCode>"
        "<R:errorDescription>unknown DID</R:errorDescription></R:errorInformation>"
        "</R:x1ResponseMessage></R:X1Response>";
    memset(&r, 0, sizeof r);
    assert_int_equal(x1_xml_response_decode(guarded(err, strlen(err)), strlen(err), &r), LI_OK);
    assert_int_equal(r.error_code, X1_ERR_DID_NOT_FOUND);
    assert_int_equal(r.type, X1_MSG_ACTIVATE_TASK);
    assert_string_equal(r.error_desc, "unknown DID");

    /* errorDescription left out (the schema demands it; some NEs omit it): the code is
     * still read. */
    const char *no_desc =
        "<X1Response xmlns=\"" X1_NS "\" xmlns:xsi=\"" X1_NS_XSI "\"><x1ResponseMessage "
        "xsi:type=\"ErrorResponse\">" HDR("2026-11-27T10:00:00Z")
        "<requestMessageType>ActivateTask</requestMessageType><errorInformation>"
        "<errorCode>2010</errorCode></errorInformation></x1ResponseMessage></X1Response>";
    memset(&r, 0, sizeof r);
    assert_int_equal(x1_xml_response_decode((const uint8_t *)no_desc, strlen(no_desc), &r),
                     LI_OK);
    assert_int_equal(r.error_code, X1_ERR_XID_EXISTS);
    assert_int_equal(r.type, X1_MSG_ACTIVATE_TASK);
    assert_string_equal(r.error_desc, "");

    /* Both names of the top-level error root are recognised as such. */
    const char *tops[] = { "<X1TopLevelErrorResponse xmlns=\"" X1_NS "\"><admfIdentifier>a"
                           "</admfIdentifier><neIdentifier>ne-7</neIdentifier>"
                           "</X1TopLevelErrorResponse>",
                           "<TopLevelErrorResponse xmlns=\"" X1_NS "\"><admfIdentifier>a"
                           "</admfIdentifier><neIdentifier>ne-7</neIdentifier>"
                           "</TopLevelErrorResponse>" };
    for (size_t i = 0; i < 2; i++) {
        memset(&r, 0, sizeof r);
        assert_int_equal(x1_xml_response_decode((const uint8_t *)tops[i], strlen(tops[i]), &r),
                         LI_ERR_PROTO);
        assert_int_equal(r.top_level_error, 1);
        assert_string_equal(r.hdr.ne_id, "ne-7");
    }

    const char *bad[] = {
        "<X1Response xmlns=\"" X1_NS "\"/>",
        "<X1Response xmlns=\"" X1_NS "\" xmlns:xsi=\"" X1_NS_XSI "\"><x1ResponseMessage "
        "xsi:type=\"PingResponse\">" HDR("2026-11-27T10:00:00Z") "<oK>Maybe</oK>"
        "</x1ResponseMessage></X1Response>",
        "<X1Response xmlns=\"" X1_NS "\" xmlns:xsi=\"" X1_NS_XSI "\"><x1ResponseMessage "
        "xsi:type=\"ErrorResponse\">" HDR("2026-11-27T10:00:00Z")
        "<requestMessageType>Ping</requestMessageType><errorInformation><errorCode>x"
        "</errorCode><errorDescription/></errorInformation></x1ResponseMessage></X1Response>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(
            x1_xml_response_decode(guarded(bad[i], strlen(bad[i])), strlen(bad[i]), &r),
            LI_ERR_PROTO);
}

/* Issue 15 item 4: an ErrorResponse whose requestMessageType fills the 63 characters
 * limf reads of it once overflowed the decoder's stack buffer (ASan: stack-buffer-
 * overflow). It must decode as an answer to an unknown request type, from 1 to 63
 * characters, and one of 64 (too long to keep) as a malformed answer. The fuzz seed
 * tests/fuzz/fuzz_x1_xml/regress_long_request_type.xml carries the 63-character case. */
static size_t read_seed(const char *name, char *buf, size_t size);

static void test_error_response_long_request_type(void **state)
{
    (void)state;
    static x1_response r;
    char rtype[80];
    li_buf b;
    li_buf_init(&b, 0);
    for (size_t len = 1; len <= 64; len++) {
        memset(rtype, 'A', len);
        rtype[len] = '\0';
        li_buf_reset(&b);
        li_buf_printf(&b, "<X1Response xmlns=\"%s\" xmlns:xsi=\"%s\"><x1ResponseMessage "
                          "xsi:type=\"ErrorResponse\">%s<requestMessageType>%s"
                          "</requestMessageType><errorInformation><errorCode>1080</errorCode>"
                          "<errorDescription>no</errorDescription></errorInformation>"
                          "</x1ResponseMessage></X1Response>",
                      X1_NS, X1_NS_XSI, HDR("2026-11-27T10:00:00Z"), rtype);
        memset(&r, 0, sizeof r);
        li_err err = x1_xml_response_decode(b.data, b.len, &r);
        if (len < 64) {
            assert_int_equal(err, LI_OK);
            assert_int_equal(r.error_code, X1_ERR_UNSUPPORTED_REQUEST);
            assert_int_equal(r.type, X1_MSG_UNKNOWN);
        } else {
            assert_int_equal(err, LI_ERR_PROTO);
        }
    }
    char seed[4096];
    size_t n = read_seed("regress_long_request_type.xml", seed, sizeof seed);
    memset(&r, 0, sizeof r);
    assert_int_equal(x1_xml_response_decode((const uint8_t *)seed, n, &r), LI_OK);
    assert_int_equal(r.error_code, X1_ERR_UNSUPPORTED_REQUEST);
    li_buf_free(&b);
}

/* Documents built by repetition: too deep, too many messages, too many targets. */
static void test_hostile_sizes(void **state)
{
    (void)state;
    static x1_request out[X1_MAX_MESSAGES];
    size_t n;
    li_buf b;
    li_buf_init(&b, 0);
    /* 100000 nested elements: libxml2's depth limit refuses it. */
    li_buf_printf(&b, "<X1Request xmlns=\"%s\">", X1_NS);
    for (int i = 0; i < 100000; i++)
        li_buf_printf(&b, "<a>");
    li_buf_printf(&b, "</X1Request>");
    assert_int_equal(
        x1_xml_request_decode(guarded(b.data, b.len), b.len, out, X1_MAX_MESSAGES, &n),
                     LI_ERR_PROTO);

    /* X1_MAX_MESSAGES + 1 messages. */
    li_buf_reset(&b);
    li_buf_printf(&b, "<X1Request xmlns=\"%s\" xmlns:xsi=\"%s\">", X1_NS, X1_NS_XSI);
    for (int i = 0; i <= X1_MAX_MESSAGES; i++)
        li_buf_printf(&b, "<x1RequestMessage xsi:type=\"PingRequest\">%s</x1RequestMessage>",
                      HDR("2026-11-27T10:00:00Z"));
    li_buf_printf(&b, "</X1Request>");
    assert_int_equal(
        x1_xml_request_decode(guarded(b.data, b.len), b.len, out, X1_MAX_MESSAGES, &n),
                     LI_ERR_PROTO);

    /* X1_MAX_TARGETS + 1 targets in one task. */
    li_buf_reset(&b);
    li_buf_printf(&b, "<X1Request xmlns=\"%s\" xmlns:xsi=\"%s\"><x1RequestMessage "
                      "xsi:type=\"ActivateTaskRequest\">%s<taskDetails><xId>"
                      "11223344-5566-4788-99aa-bbccddeeff01</xId><targetIdentifiers>",
                  X1_NS, X1_NS_XSI, HDR("2026-11-27T10:00:00Z"));
    for (int i = 0; i <= X1_MAX_TARGETS; i++)
        li_buf_printf(&b, "%s", SIP);
    li_buf_printf(&b, "</targetIdentifiers><deliveryType>X2Only</deliveryType><listOfDIDs>"
                      ONE_DID "</listOfDIDs></taskDetails></x1RequestMessage></X1Request>");
    assert_int_equal(
        x1_xml_request_decode(guarded(b.data, b.len), b.len, out, X1_MAX_MESSAGES, &n), LI_OK);
    assert_int_equal(out[0].error_code, X1_ERR_SYNTAX);
    assert_non_null(strstr(out[0].error_desc, "too many"));

    /* A value longer than its field. */
    li_buf_reset(&b);
    li_buf_printf(&b, "<X1Request xmlns=\"%s\" xmlns:xsi=\"%s\"><x1RequestMessage "
                      "xsi:type=\"PingRequest\"><admfIdentifier>", X1_NS, X1_NS_XSI);
    for (int i = 0; i < 300; i++)
        li_buf_printf(&b, "a");
    li_buf_printf(&b, "</admfIdentifier></x1RequestMessage></X1Request>");
    assert_int_equal(
        x1_xml_request_decode(guarded(b.data, b.len), b.len, out, X1_MAX_MESSAGES, &n), LI_OK);
    assert_int_equal(out[0].error_code, X1_ERR_SYNTAX);
    li_buf_free(&b);
}

static size_t read_seed(const char *name, char *buf, size_t size)
{
    char path[512];
    const char *src = getenv("LIMF_SOURCE_DIR") ? getenv("LIMF_SOURCE_DIR") : SOURCE_DIR;
    snprintf(path, sizeof path, "%s/tests/fuzz/fuzz_x1_xml/%s", src, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, size, f);
    fclose(f);
    return n;
}

/* The fuzzer's seeds are valid messages, so that fuzzing starts deep in the decoder. */
static void test_seeds_are_valid(void **state)
{
    (void)state;
    static char buf[16384];
    static x1_request req[4];
    static x1_response resp;
    const char *requests[] = { "activate.xml", "modify_deactivate.xml", "destination.xml",
                               "object.xml", "ping_prefixes.xml",
                               "destination_friendly_v6.xml" };
    const char *responses[] = { "regress_long_request_type.xml", "resp_all.xml",
                                "resp_error.xml", "resp_ok.xml" };
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        size_t len = read_seed(requests[i], buf, sizeof buf), n;
        assert_int_equal(x1_xml_request_decode(guarded(buf, len), len, req, 4, &n), LI_OK);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(req[k].error_code, 0);
    }
    for (size_t i = 0; i < sizeof responses / sizeof responses[0]; i++) {
        size_t len = read_seed(responses[i], buf, sizeof buf);
        memset(&resp, 0, sizeof resp);
        assert_int_equal(x1_xml_response_decode(guarded(buf, len), len, &resp), LI_OK);
    }
    assert_int_equal(resp.type, X1_MSG_ACTIVATE_TASK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_round_trips),
        cmocka_unit_test(test_encode_refuses_bad_input),
        cmocka_unit_test(test_response_round_trips),
        cmocka_unit_test(test_request_vectors),
        cmocka_unit_test(test_response_vectors),
        cmocka_unit_test(test_error_response_long_request_type),
        cmocka_unit_test(test_request_wire_forms),
        cmocka_unit_test(test_hostile_sizes),
        cmocka_unit_test(test_seeds_are_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
