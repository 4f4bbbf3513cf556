/* limf-x2x3: the operator's X2/X3 debugging tool (docs/X2X3.md).
 *   limf-x2x3 decode [FILE|-]     PDU byte stream -> one JSON object per line
 *   limf-x2x3 encode [FILE|-]     JSON objects -> PDU byte stream (decode's inverse)
 *   limf-x2x3 send --to HOST:PORT [--cert F --key F --ca F --poi-id ID] [-c FILE]
 *                  [-o x2x3.key=value]... [FILE|-]   JSON objects -> limf-ingest
 * JSON: version, pdu_type, header_length, payload_length, payload_format,
 * payload_direction, xid (UUID), correlation_id (16 hex digits), attributes [{type,
 * length, value (hex)}], typed seq, timestamp ("s.nnnnnnnnn"), poi_id, nf_id, src_addr,
 * dst_addr, src_port, dst_port, ip_protocol, matched_targets, sdp, variants, payload
 * (hex). encode takes the attributes list as is when present (so decode | encode is
 * the identity), otherwise builds attributes from the typed fields. */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "li_config.h"
#include "li_log.h"
#include "x2x3_pdu.h"
#include "x2x3_sender.h"

static FILE *open_input(const char *path)
{
    if (!path || strcmp(path, "-") == 0)
        return stdin;
    FILE *f = fopen(path, "rb");
    if (!f)
        perror(path);
    return f;
}

/* --- decode --- */

static json_t *hex_string(const uint8_t *p, size_t n)
{
    char *h = malloc(2 * n + 1);
    if (!h)
        return NULL;
    li_hex_encode(p, n, h);
    json_t *j = json_string(h);
    free(h);
    return j;
}

/* Text as a JSON string; bytes that are not UTF-8 as "hex:..." so nothing is lost. */
static json_t *text_or_hex(li_slice s)
{
    json_t *j = json_stringn((const char *)s.p, s.len);
    if (j && !memchr(s.p, 0, s.len))
        return j;
    json_decref(j);
    char *h = malloc(2 * s.len + 5);
    if (!h)
        return NULL;
    memcpy(h, "hex:", 4);
    li_hex_encode(s.p, s.len, h + 4);
    j = json_string(h);
    free(h);
    return j;
}

static json_t *addr_text(const uint8_t *a, size_t len)
{
    char t[INET6_ADDRSTRLEN];
    inet_ntop(len == 4 ? AF_INET : AF_INET6, a, t, sizeof t);
    return json_string(t);
}

/* The X2X3_FLAG_* bits in order: variants seen in the field, then values of later
 * editions (x2x3_pdu.h). */
static const char *const variant_names[] = { "version_swapped", "version_other",
                                             "timestamp_12", "target_text",
                                             "keepalive_no_seq", "duplicate_attribute",
                                             "unknown_pdu_type", "unknown_format",
                                             "unknown_direction", "unknown_attribute" };

static json_t *pdu_to_json(const x2x3_pdu *p)
{
    char uuid[37], corr[17], ts[40];
    li_uuid_format(p->xid, uuid);
    snprintf(corr, sizeof corr, "%016" PRIx64, p->correlation_id);
    json_t *o = json_object();
    json_object_set_new(o, "version", json_integer(p->version));
    json_object_set_new(o, "pdu_type", json_integer(p->pdu_type));
    json_object_set_new(o, "header_length", json_integer(p->header_length));
    json_object_set_new(o, "payload_length", json_integer(p->payload_length));
    json_object_set_new(o, "payload_format", json_integer(p->payload_format));
    json_object_set_new(o, "payload_direction", json_integer(p->payload_direction));
    json_object_set_new(o, "xid", json_string(uuid));
    json_object_set_new(o, "correlation_id", json_string(corr));
    json_t *attrs = json_array();
    size_t pos = 0;
    x2x3_attr a;
    while (x2x3_pdu_attr_next(p, &pos, &a) == LI_OK) {
        json_t *t = json_object();
        json_object_set_new(t, "type", json_integer(a.type));
        json_object_set_new(t, "length", json_integer(a.len));
        json_object_set_new(t, "value", hex_string(a.value, a.len));
        json_array_append_new(attrs, t);
    }
    json_object_set_new(o, "attributes", attrs);
    if (x2x3_pdu_has(p, X2X3_ATTR_SEQ))
        json_object_set_new(o, "seq", json_integer(p->seq));
    if (x2x3_pdu_has(p, X2X3_ATTR_TIMESTAMP)) {
        snprintf(ts, sizeof ts, "%" PRIu64 ".%09" PRIu32, p->ts_sec, p->ts_nsec);
        json_object_set_new(o, "timestamp", json_string(ts));
    }
    if (x2x3_pdu_has(p, X2X3_ATTR_IPID))
        json_object_set_new(o, "poi_id", text_or_hex(p->ipid));
    if (x2x3_pdu_has(p, X2X3_ATTR_NFID))
        json_object_set_new(o, "nf_id", text_or_hex(p->nfid));
    if (p->src_addr_len)
        json_object_set_new(o, "src_addr", addr_text(p->src_addr, p->src_addr_len));
    if (p->dst_addr_len)
        json_object_set_new(o, "dst_addr", addr_text(p->dst_addr, p->dst_addr_len));
    if (x2x3_pdu_has(p, X2X3_ATTR_SRC_PORT))
        json_object_set_new(o, "src_port", json_integer(p->src_port));
    if (x2x3_pdu_has(p, X2X3_ATTR_DST_PORT))
        json_object_set_new(o, "dst_port", json_integer(p->dst_port));
    if (x2x3_pdu_has(p, X2X3_ATTR_IP_PROTOCOL))
        json_object_set_new(o, "ip_protocol", json_integer(p->ip_protocol));
    json_t *targets = json_array();
    for (size_t i = 0; i < p->n_matched_targets; i++) {
        li_slice t;
        x2x3_pdu_matched_target(p, i, &t);
        json_array_append_new(targets, text_or_hex(t));
    }
    json_object_set_new(o, "matched_targets", targets);
    if (x2x3_pdu_has(p, X2X3_ATTR_SDP))
        json_object_set_new(o, "sdp", text_or_hex(p->sdp));
    json_t *variants = json_array();
    for (size_t i = 0; i < sizeof variant_names / sizeof variant_names[0]; i++)
        if (p->flags >> i & 1u)
            json_array_append_new(variants, json_string(variant_names[i]));
    json_object_set_new(o, "variants", variants);
    json_object_set_new(o, "payload", hex_string(p->payload, p->payload_len));
    return o;
}

static int cmd_decode(const char *path)
{
    FILE *in = open_input(path);
    if (!in)
        return 1;
    li_buf b;
    li_buf_init(&b, 0);
    uint64_t stream_off = 0;   /* offset of b.data[0] in the input */
    int eof = 0, rc = 0;
    size_t need = X2X3_HEADER_LEN;
    while (!rc) {
        while (!eof && b.len < need) {
            size_t want = need - b.len > 65536 ? need - b.len : 65536;
            if (li_buf_reserve(&b, want) != LI_OK) {
                fprintf(stderr, "limf-x2x3: out of memory\n");
                return 1;
            }
            size_t n = fread(b.data + b.len, 1, want, in);
            b.len += n;
            eof = n == 0;
        }
        size_t off = 0;
        for (;;) {
            x2x3_pdu p;
            size_t used;
            x2x3_decode_error err;
            li_err e = x2x3_pdu_decode(b.data + off, b.len - off, 0, &p, &used, &err);
            if (e == LI_AGAIN) {
                need = used;
                break;
            }
            if (e != LI_OK) {
                fprintf(stderr, "limf-x2x3: malformed PDU at byte %" PRIu64 ": %s\n",
                        stream_off + off + err.offset, err.reason);
                rc = 1;
                break;
            }
            json_t *j = pdu_to_json(&p);
            json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
            json_decref(j);
            off += used;
        }
        li_buf_consume(&b, off);
        stream_off += off;
        need = need > b.len ? need : b.len + 1;
        if (!rc && eof) {
            if (b.len > 0) {
                fprintf(stderr, "limf-x2x3: truncated PDU at byte %" PRIu64
                        " (%zu of %zu octets)\n", stream_off, b.len, need);
                rc = 1;
            }
            break;
        }
    }
    li_buf_free(&b);
    if (in != stdin)
        fclose(in);
    return rc;
}

/* --- JSON -> PDU fields --- */

static int get_uint(json_t *o, const char *key, uint64_t max, uint64_t def, uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max) {
        fprintf(stderr, "limf-x2x3: \"%s\" must be an integer 0..%" PRIu64 "\n", key, max);
        return -1;
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int get_hex(json_t *o, const char *key, li_buf *out)
{
    json_t *v = json_object_get(o, key);
    li_buf_reset(out);
    if (!v)
        return 0;
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0, got;
    if (!s || li_buf_reserve(out, n / 2 + 1) != LI_OK ||
        li_hex_decode(s, n, 0, out->data, n / 2 + 1, &got) != LI_OK) {
        fprintf(stderr, "limf-x2x3: \"%s\" must be hex\n", key);
        return -1;
    }
    out->len = got;
    return 0;
}

static int parse_addr(json_t *o, const char *key, x2x3_addr *a, const char *port_key)
{
    const char *s = json_string_value(json_object_get(o, key));
    uint64_t port;
    if (get_uint(o, port_key, 65535, 0, &port) != 0)
        return -1;
    if (!s)
        return 0;
    if (inet_pton(AF_INET, s, a->addr) == 1) {
        a->family = AF_INET;
    } else if (inet_pton(AF_INET6, s, a->addr) == 1) {
        a->family = AF_INET6;
    } else {
        fprintf(stderr, "limf-x2x3: \"%s\" is not an IP address\n", key);
        return -1;
    }
    a->port = (uint16_t)port;
    return 0;
}

static int parse_timestamp(json_t *o, uint64_t *ns)
{
    const char *s = json_string_value(json_object_get(o, "timestamp"));
    *ns = 0;
    if (!s)
        return 0;
    unsigned long long sec;
    char frac[16] = "";
    if (sscanf(s, "%llu.%15[0-9]", &sec, frac) < 1) {
        fprintf(stderr, "limf-x2x3: \"timestamp\" must be \"seconds.nanoseconds\"\n");
        return -1;
    }
    uint64_t nsec = 0;
    for (int i = 0; i < 9; i++)
        nsec = nsec * 10 + (uint64_t)(frac[i] && i < (int)strlen(frac) ? frac[i] - '0' : 0);
    *ns = (uint64_t)sec * 1000000000u + nsec;
    return 0;
}

/* The record fields shared by encode (typed attributes) and send. Strings point into o. */
typedef struct json_record {
    x2x3_record rec;
    const char *targets[64];
    const char *poi_id;
    uint16_t version;
    li_buf payload;
} json_record;

static int parse_record(json_t *o, json_record *jr)
{
    x2x3_record *r = &jr->rec;
    memset(r, 0, sizeof *r);
    uint64_t v;
    if (get_uint(o, "version", 65535, X2X3_VERSION, &v))
        return -1;
    jr->version = (uint16_t)v;
    if (get_uint(o, "pdu_type", 65535, X2X3_PDU_X2, &v))
        return -1;
    r->pdu_type = (uint16_t)v;
    if (get_uint(o, "payload_format", 65535, 0, &v))
        return -1;
    r->payload_format = (uint16_t)v;
    if (get_uint(o, "payload_direction", 65535, 0, &v))
        return -1;
    r->payload_direction = (uint16_t)v;
    const char *xid = json_string_value(json_object_get(o, "xid"));
    if (xid && li_uuid_parse(xid, r->xid) != LI_OK) {
        fprintf(stderr, "limf-x2x3: \"xid\" must be a UUID\n");
        return -1;
    }
    const char *corr = json_string_value(json_object_get(o, "correlation_id"));
    if (corr) {
        uint8_t c[8];
        size_t got;
        if (li_hex_decode(corr, strlen(corr), 0, c, 8, &got) != LI_OK || got != 8) {
            fprintf(stderr, "limf-x2x3: \"correlation_id\" must be 16 hex digits\n");
            return -1;
        }
        r->correlation_id = li_get_be64(c);
    }
    if (parse_timestamp(o, &r->timestamp_ns) || parse_addr(o, "src_addr", &r->src, "src_port") ||
        parse_addr(o, "dst_addr", &r->dst, "dst_port") ||
        get_uint(o, "ip_protocol", 255, 0, &v))
        return -1;
    r->ip_protocol = (uint8_t)v;
    json_t *t = json_object_get(o, "matched_targets");
    size_t i;
    json_t *e;
    r->n_matched_targets = 0;
    json_array_foreach(t, i, e) {
        if (json_string_value(e) && r->n_matched_targets < 64)
            jr->targets[r->n_matched_targets++] = json_string_value(e);
    }
    r->matched_targets = jr->targets;
    r->sdp = json_string_value(json_object_get(o, "sdp"));
    jr->poi_id = json_string_value(json_object_get(o, "poi_id"));
    if (get_hex(o, "payload", &jr->payload))
        return -1;
    r->payload = jr->payload.data;
    r->payload_len = jr->payload.len;
    return 0;
}

/* Attributes of a JSON object: its "attributes" list as is, or built from the typed
 * fields in type order. */
static int build_attrs(json_t *o, const json_record *jr, li_buf *out)
{
    li_buf_reset(out);
    json_t *list = json_object_get(o, "attributes");
    li_buf v;
    li_buf_init(&v, 0);
    if (list) {
        size_t i;
        json_t *a;
        json_array_foreach(list, i, a) {
            uint64_t type;
            if (get_uint(a, "type", 65535, 0, &type) || get_hex(a, "value", &v) ||
                x2x3_attr_put(out, (uint16_t)type, v.data, v.len) != LI_OK) {
                li_buf_free(&v);
                return -1;
            }
        }
        li_buf_free(&v);
        return 0;
    }
    li_buf_free(&v);
    const x2x3_record *r = &jr->rec;
    uint64_t seq;
    if (get_uint(o, "seq", UINT32_MAX, 0, &seq))
        return -1;
    li_err e = LI_OK;
    if (jr->poi_id)
        e = x2x3_attr_put(out, X2X3_ATTR_IPID, jr->poi_id, strlen(jr->poi_id));
    if (e == LI_OK && json_object_get(o, "seq"))
        e = x2x3_attr_put_u32(out, X2X3_ATTR_SEQ, (uint32_t)seq);
    if (e == LI_OK && r->timestamp_ns)
        e = x2x3_attr_put_timestamp(out, r->timestamp_ns);
    const x2x3_addr *ends[2] = { &r->src, &r->dst };
    for (int i = 0; i < 2 && e == LI_OK; i++)
        if (ends[i]->family)
            e = x2x3_attr_put(out, (uint16_t)((ends[i]->family == AF_INET ? X2X3_ATTR_SRC_IPV4
                                                                          : X2X3_ATTR_SRC_IPV6) + i),
                              ends[i]->addr, ends[i]->family == AF_INET ? 4 : 16);
    for (int i = 0; i < 2 && e == LI_OK; i++)
        if (ends[i]->family && ends[i]->port)
            e = x2x3_attr_put_u16(out, (uint16_t)(X2X3_ATTR_SRC_PORT + i), ends[i]->port);
    if (e == LI_OK && r->ip_protocol)
        e = x2x3_attr_put_u8(out, X2X3_ATTR_IP_PROTOCOL, r->ip_protocol);
    for (size_t i = 0; i < r->n_matched_targets && e == LI_OK; i++)
        e = x2x3_attr_put(out, X2X3_ATTR_MATCHED_TARGET, r->matched_targets[i],
                          strlen(r->matched_targets[i]));
    if (e == LI_OK && r->sdp)
        e = x2x3_attr_put(out, X2X3_ATTR_SDP, r->sdp, strlen(r->sdp));
    return e == LI_OK ? 0 : -1;
}

/* Calls fn for every JSON object of the input (one per line or concatenated). */
static int each_json(const char *path, int (*fn)(json_t *o, void *ctx), void *ctx)
{
    FILE *in = open_input(path);
    if (!in)
        return 1;
    int rc = 0;
    for (size_t n = 1; !rc; n++) {
        json_error_t je;
        json_t *o = json_loadf(in, JSON_DISABLE_EOF_CHECK, &je);
        if (!o) {
            int c;
            while ((c = fgetc(in)) == ' ' || c == '\n' || c == '\r' || c == '\t') {
            }
            if (c != EOF) {
                fprintf(stderr, "limf-x2x3: object %zu: %s (line %d)\n", n, je.text, je.line);
                rc = 1;
            }
            break;
        }
        if (!json_is_object(o)) {
            fprintf(stderr, "limf-x2x3: object %zu: not a JSON object\n", n);
            rc = 1;
        } else if (fn(o, ctx) != 0) {
            fprintf(stderr, "limf-x2x3: object %zu rejected\n", n);
            rc = 1;
        }
        json_decref(o);
    }
    if (in != stdin)
        fclose(in);
    return rc;
}

static int encode_one(json_t *o, void *ctx)
{
    li_buf *out = ctx;
    json_record jr;
    li_buf attrs;
    li_buf_init(&jr.payload, 0);
    li_buf_init(&attrs, 0);
    int rc = parse_record(o, &jr) || build_attrs(o, &jr, &attrs) ? -1 : 0;
    if (!rc) {
        x2x3_pdu p;
        memset(&p, 0, sizeof p);
        p.version = jr.version;
        p.pdu_type = jr.rec.pdu_type;
        p.payload_format = jr.rec.payload_format;
        p.payload_direction = jr.rec.payload_direction;
        memcpy(p.xid, jr.rec.xid, 16);
        p.correlation_id = jr.rec.correlation_id;
        p.attrs = attrs.data;
        p.attrs_len = attrs.len;
        p.payload = jr.rec.payload;
        p.payload_len = jr.rec.payload_len;
        li_buf_reset(out);
        rc = x2x3_pdu_encode(out, &p) == LI_OK && fwrite(out->data, 1, out->len, stdout) ==
             out->len ? 0 : -1;
    }
    li_buf_free(&jr.payload);
    li_buf_free(&attrs);
    return rc;
}

static int cmd_encode(const char *path)
{
    li_buf out;
    li_buf_init(&out, 0);
    int rc = each_json(path, encode_one, &out);
    li_buf_free(&out);
    return fflush(stdout) == 0 ? rc : 1;
}

/* --- send --- */

static int send_one(json_t *o, void *ctx)
{
    x2x3_sender *s = ctx;
    json_record jr;
    li_buf_init(&jr.payload, 0);
    int rc = parse_record(o, &jr);
    if (!rc) {
        li_err e = x2x3_sender_send(s, &jr.rec);
        if (e != LI_OK) {
            fprintf(stderr, "limf-x2x3: send: %s\n", li_err_str(e));
            rc = -1;
        }
    }
    li_buf_free(&jr.payload);
    return rc;
}

static int cmd_send(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "to", required_argument, NULL, 't' },  { "cert", required_argument, NULL, 'C' },
        { "key", required_argument, NULL, 'K' }, { "ca", required_argument, NULL, 'A' },
        { "poi-id", required_argument, NULL, 'P' },
        { "timeout", required_argument, NULL, 'T' }, { NULL, 0, NULL, 0 } };
    li_config *cfg = li_config_new();
    char err[512];
    int timeout_s = 30, opt, rc = 0;
    optind = 1;
    while (!rc && (opt = getopt_long(argc, argv, "c:o:", longopts, NULL)) != -1) {
        const char *key = NULL;
        switch (opt) {
        case 't': key = "x2x3.address"; break;
        case 'C': key = "x2x3.tls.cert"; break;
        case 'K': key = "x2x3.tls.key"; break;
        case 'A': key = "x2x3.tls.ca"; break;
        case 'P': key = "x2x3.poi_id"; break;
        case 'T': timeout_s = atoi(optarg); break;
        case 'c':
            if (li_config_load_file(cfg, optarg, err, sizeof err) != LI_OK) {
                fprintf(stderr, "limf-x2x3: %s\n", err);
                rc = 2;
            }
            break;
        case 'o':
            if (li_config_set_arg(cfg, optarg, err, sizeof err) != LI_OK) {
                fprintf(stderr, "limf-x2x3: %s\n", err);
                rc = 2;
            }
            break;
        default:
            rc = 2;
        }
        if (key)
            li_config_set(cfg, key, optarg);
    }
    x2x3_sender *s = NULL;
    if (!rc && !(s = x2x3_sender_new(cfg, "x2x3", err, sizeof err))) {
        fprintf(stderr, "limf-x2x3: %s\n", err);
        rc = 1;
    }
    if (!rc)
        rc = each_json(optind < argc ? argv[optind] : NULL, send_one, s);
    if (s) {
        li_err e = x2x3_sender_flush(s, timeout_s * 1000);
        x2x3_sender_stats st;
        x2x3_sender_stats_get(s, &st);
        fprintf(stderr, "limf-x2x3: %" PRIu64 " PDUs acknowledged, %" PRIu64 " dropped%s\n",
                st.acked_pdus, st.dropped_pdus, e == LI_OK ? "" : ", NOT all acknowledged");
        if (e != LI_OK)
            rc = 1;
        x2x3_sender_free(s);
    }
    li_config_free(cfg);
    return rc;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: limf-x2x3 decode [FILE|-]\n"
            "       limf-x2x3 encode [FILE|-]\n"
            "       limf-x2x3 send --to HOST:PORT [--cert F --key F --ca F] [--poi-id ID]\n"
            "                 [--timeout S] [-c FILE] [-o x2x3.KEY=VALUE]... [FILE|-]\n");
    return 2;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    li_log_init("limf-x2x3", LI_LOG_WARN, 0);
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "decode") == 0 && argc <= 3)
        return cmd_decode(argc == 3 ? argv[2] : NULL);
    if (strcmp(argv[1], "encode") == 0 && argc <= 3)
        return cmd_encode(argc == 3 ? argv[2] : NULL);
    if (strcmp(argv[1], "send") == 0)
        return cmd_send(argc - 1, argv + 1);
    return usage();
}
