#include "x1_ne.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netinet/in.h>

#include "li_ident.h"
#include "li_log.h"
#include "li_net.h"
#include "li_time.h"
#include "li_tls.h"
#include "li_http.h"
#include "li_http.h"
#include "x1_io.h"
#include "x1_xml.h"

#define XID_BUCKETS 4096
#define IDENT_BUCKETS 16384
/* How often the acceptor wakes to drop expired exceptions and reap connections. */
#define SWEEP_MS 250

typedef struct task_entry {
    x1_task task;
    struct task_entry *next; /* XID bucket chain */
    /* Canonical form of each target (li_ident_canon_target), pointing into blob. */
    const char *canon[X1_MAX_TARGETS];
    char blob[];
} task_entry;

/* Identity index: one node per task and distinct canonical target. */
typedef struct ident_node {
    struct ident_node *next;
    task_entry *task;
    size_t target;
    uint32_t hash;
} ident_node;

typedef struct conn_slot {
    pthread_t thread;
    li_conn c; /* handshake done; handed to the connection thread, which owns it */
    int state; /* 0 free, 1 running, 2 finished (to be joined) */
    struct x1_ne *ne;
} conn_slot;

/* A connection still in its TLS handshake. Until the handshake ends nothing is known of
 * the peer, so it gets no thread and no connection slot: the acceptor drives every
 * handshake with non-blocking steps (issue 15 item 6: idle sockets held every slot). */
typedef struct pending_conn {
    li_conn c;
    struct sockaddr_storage addr;
    uint64_t deadline_ns; /* the handshake's end; the earliest is the oldest */
    size_t peers;         /* pending connections from addr, this one included */
} pending_conn;

struct x1_ne {
    SSL_CTX *ctx;
    int listen_fd;
    uint16_t port;
    char ne_id[256];
    char admf_id[256];
    char path[256];
    char *allowed_clients; /* comma-separated certificate names, or NULL for any */
    size_t max_request;
    size_t max_tasks, max_dests, max_exceptions;
    int idle_timeout_ms;
    uint64_t handshake_ns;       /* a handshake not done by then is dropped */
    size_t max_per_address;      /* handshakes at once from one IP address */

    pthread_rwlock_t lock; /* the tables below */
    task_entry *xid_buckets[XID_BUCKETS];
    ident_node *ident_buckets[IDENT_BUCKETS];
    size_t n_tasks;
    x1_destination *dests;
    size_t n_dests;
    x1_cert_exception *exceptions;
    size_t n_exceptions;
    atomic_uint_fast64_t generation;
    atomic_uint_fast64_t n_messages, n_error_responses, n_bad_documents, n_tls_failures,
        n_refused_clients, n_refused_connections, n_handshake_timeouts;
    void (*change_fn)(void *ctx, const x1_ne_change *change); /* under lock */
    void *change_ctx;

    pthread_t acceptor;
    atomic_int stop;
    pthread_mutex_t conn_lock;
    pthread_cond_t slot_freed; /* CLOCK_MONOTONIC */
    conn_slot *slots;
    size_t n_slots;
    pending_conn *pending; /* the acceptor's alone */
    struct pollfd *pfds;   /* the listener, then one per pending connection */
    size_t n_pending, max_pending;
};

static uint32_t fnv1a(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static int64_t now_ms(void)
{
    return (int64_t)(li_now_ns() / 1000000);
}

static void bump(x1_ne *ne)
{
    atomic_fetch_add(&ne->generation, 1);
}

/* Calls the change callback; the caller holds no lock. */
static void notify(x1_ne *ne, x1_ne_change_kind kind, const uint8_t id[16], const char *object_id)
{
    pthread_rwlock_rdlock(&ne->lock);
    void (*fn)(void *, const x1_ne_change *) = ne->change_fn;
    void *ctx = ne->change_ctx;
    pthread_rwlock_unlock(&ne->lock);
    if (!fn)
        return;
    x1_ne_change c = { .kind = kind, .generation = atomic_load(&ne->generation) };
    if (id)
        memcpy(c.id, id, 16);
    if (object_id)
        snprintf(c.object_id, sizeof c.object_id, "%s", object_id);
    fn(ctx, &c);
}

void x1_ne_on_change(x1_ne *ne, void (*fn)(void *ctx, const x1_ne_change *change), void *ctx)
{
    pthread_rwlock_wrlock(&ne->lock);
    ne->change_fn = fn;
    ne->change_ctx = ctx;
    pthread_rwlock_unlock(&ne->lock);
}

/* ---- tables (callers hold the lock) ---- */

static task_entry **xid_slot(x1_ne *ne, const uint8_t xid[16])
{
    task_entry **pp = &ne->xid_buckets[fnv1a(xid, 16) % XID_BUCKETS];
    while (*pp && memcmp((*pp)->task.xid, xid, 16) != 0)
        pp = &(*pp)->next;
    return pp;
}

static x1_destination *find_dest(x1_ne *ne, const uint8_t did[16])
{
    for (size_t i = 0; i < ne->n_dests; i++) {
        if (memcmp(ne->dests[i].did, did, 16) == 0)
            return &ne->dests[i];
    }
    return NULL;
}

static x1_cert_exception *find_object(x1_ne *ne, const char *id)
{
    for (size_t i = 0; i < ne->n_exceptions; i++) {
        if (strcmp(ne->exceptions[i].id, id) == 0)
            return &ne->exceptions[i];
    }
    return NULL;
}

/* 1 when target i repeats the canonical form of an earlier target of the task. */
static int canon_repeats(const task_entry *e, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (strcmp(e->canon[j], e->canon[i]) == 0)
            return 1;
    }
    return 0;
}

static void index_task(x1_ne *ne, task_entry *e)
{
    for (size_t i = 0; i < e->task.n_targets; i++) {
        if (canon_repeats(e, i))
            continue;
        ident_node *n = malloc(sizeof *n);
        if (!n)
            abort(); /* a task half indexed would silently miss interceptions */
        n->hash = fnv1a(e->canon[i], strlen(e->canon[i]));
        n->task = e;
        n->target = i;
        ident_node **head = &ne->ident_buckets[n->hash % IDENT_BUCKETS];
        n->next = *head;
        *head = n;
    }
}

static void unindex_task(x1_ne *ne, task_entry *e)
{
    for (size_t i = 0; i < e->task.n_targets; i++) {
        if (canon_repeats(e, i))
            continue;
        uint32_t h = fnv1a(e->canon[i], strlen(e->canon[i]));
        ident_node **pp = &ne->ident_buckets[h % IDENT_BUCKETS];
        while (*pp) {
            if ((*pp)->task == e) {
                ident_node *dead = *pp;
                *pp = dead->next;
                free(dead);
            } else {
                pp = &(*pp)->next;
            }
        }
    }
}

/* 1 when the destinations task t names accept, together, every X interface of its
 * deliveryType, and each of them accepts one at least (TS 103 221-1 error 3040
 * otherwise: with one destination, it must be X2andX3 or the task's own type); with `as`
 * (not NULL), the destination of as->did is taken as `as` (a ModifyDestination under
 * way). X1_DELIVERY_* are bit sets: X2 1, X3 2. */
static int carried(x1_ne *ne, const x1_task *t, const x1_destination *as)
{
    unsigned have = 0, want = (unsigned)t->delivery;
    for (size_t i = 0; i < t->n_dids; i++) {
        const x1_destination *d =
            as && memcmp(as->did, t->dids[i], 16) == 0 ? as : find_dest(ne, t->dids[i]);
        if (d && !((unsigned)d->delivery & want))
            return 0;
        if (d)
            have |= (unsigned)d->delivery;
    }
    return (have & want) == want;
}

/* A table entry for task t, with its targets canonicalised, in one allocation; NULL
 * with an X1 error code and reason when t cannot be accepted. */
static task_entry *entry_new(x1_ne *ne, const x1_task *t, int *code, char *desc,
                             size_t desc_size)
{
    char canon[X1_MAX_TARGETS][LI_IDENT_MAX];
    size_t total = 0;
    for (size_t i = 0; i < t->n_targets; i++) {
        if (li_ident_canon_target(t->targets[i].type, t->targets[i].value, canon[i],
                                  LI_IDENT_MAX) != LI_OK) {
            snprintf(desc, desc_size, "target identifier %zu is not a valid %s", i + 1,
                     t->targets[i].type);
            *code = X1_ERR_SYNTAX;
            return NULL;
        }
        total += strlen(canon[i]) + 1;
    }
    if (t->n_dids == 0 || t->n_dids > X1_MAX_DIDS) {
        snprintf(desc, desc_size, "listOfDIDs must name 1 to %d dIds", X1_MAX_DIDS);
        *code = X1_ERR_SYNTAX;
        return NULL;
    }
    for (size_t i = 0; i < t->n_dids; i++) {
        if (!find_dest(ne, t->dids[i])) {
            snprintf(desc, desc_size, "unknown dId (listOfDIDs entry %zu)", i + 1);
            *code = X1_ERR_DID_NOT_FOUND;
            return NULL;
        }
    }
    if (!carried(ne, t, NULL)) {
        snprintf(desc, desc_size, "the destinations of listOfDIDs cannot carry deliveryType %s",
                 t->delivery == X1_DELIVERY_X3_ONLY ? "X3Only"
                 : t->delivery == X1_DELIVERY_X2_ONLY ? "X2Only" : "X2andX3");
        *code = X1_ERR_DELIVERY_COMBINATION;
        return NULL;
    }
    task_entry *e = malloc(sizeof *e + total);
    if (!e) {
        snprintf(desc, desc_size, "out of memory");
        *code = X1_ERR_ACTIVATE_FAILED;
        return NULL;
    }
    e->task = *t;
    e->next = NULL;
    char *p = e->blob;
    for (size_t i = 0; i < t->n_targets; i++) {
        size_t len = strlen(canon[i]) + 1;
        memcpy(p, canon[i], len);
        e->canon[i] = p;
        p += len;
    }
    return e;
}

/* ---- request handling ---- */

static void set_error(x1_response *r, int code, const char *desc)
{
    r->error_code = code;
    snprintf(r->error_desc, sizeof r->error_desc, "%s", desc);
}

static void handle_task(x1_ne *ne, const x1_request *q, x1_response *r)
{
    char desc[128];
    int code = 0;
    task_entry *fresh = entry_new(ne, &q->task, &code, desc, sizeof desc);
    if (!fresh) {
        if (code == X1_ERR_ACTIVATE_FAILED && q->type == X1_MSG_MODIFY_TASK)
            code = X1_ERR_MODIFY_FAILED;
        set_error(r, code, desc);
        return;
    }
    task_entry **slot = xid_slot(ne, q->task.xid);
    if (q->type == X1_MSG_ACTIVATE_TASK) {
        if (*slot) {
            set_error(r, X1_ERR_XID_EXISTS, "xId already exists");
        } else if (ne->n_tasks >= ne->max_tasks) {
            set_error(r, X1_ERR_ACTIVATE_FAILED, "task table full");
        } else {
            *slot = fresh;
            index_task(ne, fresh);
            ne->n_tasks++;
            bump(ne);
            return;
        }
        free(fresh);
        return;
    }
    if (!*slot) {
        set_error(r, X1_ERR_XID_NOT_FOUND, "unknown xId");
        free(fresh);
        return;
    }
    /* ModifyTask: replace the entry whole, so matching never sees half a change. */
    task_entry *old = *slot;
    unindex_task(ne, old);
    fresh->next = old->next;
    *slot = fresh;
    index_task(ne, fresh);
    free(old);
    bump(ne);
}

static void handle_deactivate(x1_ne *ne, const x1_request *q, x1_response *r)
{
    task_entry **slot = xid_slot(ne, q->id);
    if (!*slot) {
        set_error(r, X1_ERR_XID_NOT_FOUND, "unknown xId");
        return;
    }
    task_entry *e = *slot;
    unindex_task(ne, e);
    *slot = e->next;
    free(e);
    ne->n_tasks--;
    bump(ne);
}

static int dest_in_use(x1_ne *ne, const uint8_t did[16])
{
    for (size_t b = 0; b < XID_BUCKETS; b++) {
        for (task_entry *e = ne->xid_buckets[b]; e; e = e->next) {
            for (size_t i = 0; i < e->task.n_dids; i++)
                if (memcmp(e->task.dids[i], did, 16) == 0)
                    return 1;
        }
    }
    return 0;
}

/* 1 when every task naming d->did is still carried with d in its place. */
static int dest_change_carried(x1_ne *ne, const x1_destination *d)
{
    for (size_t b = 0; b < XID_BUCKETS; b++) {
        for (task_entry *e = ne->xid_buckets[b]; e; e = e->next) {
            size_t i = 0;
            while (i < e->task.n_dids && memcmp(e->task.dids[i], d->did, 16) != 0)
                i++;
            if (i < e->task.n_dids && !carried(ne, &e->task, d))
                return 0;
        }
    }
    return 1;
}

static void handle_destination(x1_ne *ne, const x1_request *q, x1_response *r)
{
    x1_destination *d = find_dest(ne, q->type == X1_MSG_CREATE_DESTINATION ||
                                              q->type == X1_MSG_MODIFY_DESTINATION
                                          ? q->dest.did
                                          : q->id);
    switch (q->type) {
    case X1_MSG_CREATE_DESTINATION:
        if (d) {
            set_error(r, X1_ERR_DID_EXISTS, "dId already exists");
        } else if (ne->n_dests >= ne->max_dests) {
            set_error(r, X1_ERR_CREATE_DEST_FAILED, "destination table full");
        } else {
            x1_destination *grown = realloc(ne->dests, (ne->n_dests + 1) * sizeof *grown);
            if (!grown) {
                set_error(r, X1_ERR_CREATE_DEST_FAILED, "out of memory");
                return;
            }
            ne->dests = grown;
            ne->dests[ne->n_dests++] = q->dest;
            bump(ne);
        }
        return;
    case X1_MSG_MODIFY_DESTINATION:
        if (!d) {
            set_error(r, X1_ERR_DID_NOT_FOUND, "unknown dId");
            return;
        }
        if (!dest_change_carried(ne, &q->dest)) {
            set_error(r, X1_ERR_MODIFY_DEST_FAILED,
                      "the new deliveryType would leave a task's deliveryType uncarried");
            return;
        }
        *d = q->dest;
        bump(ne);
        return;
    case X1_MSG_REMOVE_DESTINATION:
        if (!d) {
            set_error(r, X1_ERR_DID_NOT_FOUND, "unknown dId");
        } else if (dest_in_use(ne, q->id)) {
            set_error(r, X1_ERR_DID_IN_USE, "dId is used by a task");
        } else {
            *d = ne->dests[--ne->n_dests];
            bump(ne);
        }
        return;
    default: /* GetDestinationDetails */
        if (!d)
            set_error(r, X1_ERR_DID_NOT_FOUND, "unknown dId");
        else
            r->dest = *d;
        return;
    }
}

static void handle_object(x1_ne *ne, const x1_request *q, x1_response *r)
{
    x1_cert_exception *o = find_object(ne, q->object.id);
    if ((q->type == X1_MSG_CREATE_OBJECT || q->type == X1_MSG_MODIFY_OBJECT) &&
        q->object.expires_ms <= now_ms()) {
        set_error(r, q->type == X1_MSG_CREATE_OBJECT ? X1_ERR_CREATE_OBJECT_FAILED
                                                     : X1_ERR_MODIFY_OBJECT_FAILED,
                  "expiry is in the past");
        return;
    }
    switch (q->type) {
    case X1_MSG_CREATE_OBJECT:
        if (o) {
            set_error(r, X1_ERR_OBJECT_EXISTS, "objectId already exists");
        } else if (ne->n_exceptions >= ne->max_exceptions) {
            set_error(r, X1_ERR_CREATE_OBJECT_FAILED, "exception table full");
        } else {
            x1_cert_exception *grown =
                realloc(ne->exceptions, (ne->n_exceptions + 1) * sizeof *grown);
            if (!grown) {
                set_error(r, X1_ERR_CREATE_OBJECT_FAILED, "out of memory");
                return;
            }
            ne->exceptions = grown;
            ne->exceptions[ne->n_exceptions++] = q->object;
            bump(ne);
        }
        return;
    case X1_MSG_MODIFY_OBJECT:
        if (!o) {
            set_error(r, X1_ERR_OBJECT_NOT_FOUND, "unknown objectId");
            return;
        }
        *o = q->object;
        bump(ne);
        return;
    case X1_MSG_DELETE_OBJECT:
        if (!o) {
            set_error(r, X1_ERR_OBJECT_NOT_FOUND, "unknown objectId");
            return;
        }
        *o = ne->exceptions[--ne->n_exceptions];
        bump(ne);
        return;
    default: /* GetObject */
        if (!o)
            set_error(r, X1_ERR_OBJECT_NOT_FOUND, "unknown objectId");
        else
            r->object = *o;
        return;
    }
}

/* GetAllDetails / ListAllDetails: snapshot the tables into arrays owned by r. */
static void handle_all(x1_ne *ne, x1_response *r)
{
    r->tasks = malloc((ne->n_tasks ? ne->n_tasks : 1) * sizeof *r->tasks);
    r->dests = malloc((ne->n_dests ? ne->n_dests : 1) * sizeof *r->dests);
    r->objects = malloc((ne->n_exceptions ? ne->n_exceptions : 1) * sizeof *r->objects);
    if (!r->tasks || !r->dests || !r->objects) {
        set_error(r, X1_ERR_GENERIC, "out of memory");
        return;
    }
    for (size_t b = 0; b < XID_BUCKETS; b++) {
        for (task_entry *e = ne->xid_buckets[b]; e; e = e->next)
            r->tasks[r->n_tasks++] = e->task;
    }
    for (size_t i = 0; i < ne->n_dests; i++)
        r->dests[r->n_dests++] = ne->dests[i];
    for (size_t i = 0; i < ne->n_exceptions; i++)
        r->objects[r->n_objects++] = ne->exceptions[i];
}

/* The change a successful modifying request made. */
static void notify_request(x1_ne *ne, const x1_request *q)
{
    switch (q->type) {
    case X1_MSG_ACTIVATE_TASK:
        notify(ne, X1_NE_TASK_ACTIVATED, q->task.xid, NULL);
        break;
    case X1_MSG_MODIFY_TASK:
        notify(ne, X1_NE_TASK_MODIFIED, q->task.xid, NULL);
        break;
    case X1_MSG_DEACTIVATE_TASK:
        notify(ne, X1_NE_TASK_DEACTIVATED, q->id, NULL);
        break;
    case X1_MSG_CREATE_DESTINATION:
    case X1_MSG_MODIFY_DESTINATION:
        notify(ne, X1_NE_DESTINATION_CHANGED, q->dest.did, NULL);
        break;
    case X1_MSG_REMOVE_DESTINATION:
        notify(ne, X1_NE_DESTINATION_CHANGED, q->id, NULL);
        break;
    case X1_MSG_CREATE_OBJECT:
        notify(ne, X1_NE_EXCEPTION_CREATED, NULL, q->object.id);
        break;
    case X1_MSG_MODIFY_OBJECT:
        notify(ne, X1_NE_EXCEPTION_MODIFIED, NULL, q->object.id);
        break;
    case X1_MSG_DELETE_OBJECT:
        notify(ne, X1_NE_EXCEPTION_DELETED, NULL, q->object.id);
        break;
    default:
        break;
    }
}

static int is_read_only(x1_msg_type t)
{
    switch (t) {
    case X1_MSG_GET_TASK_DETAILS:
    case X1_MSG_GET_ALL_DETAILS:
    case X1_MSG_LIST_ALL_DETAILS:
    case X1_MSG_GET_DESTINATION_DETAILS:
    case X1_MSG_GET_OBJECT:
    case X1_MSG_PING:
    case X1_MSG_KEEPALIVE:
    case X1_MSG_GET_NE_STATUS:
    case X1_MSG_UNKNOWN:
        return 1;
    default:
        return 0;
    }
}

/* Answers one request message into r (its list arrays are freed by the caller). */
static void handle_message(x1_ne *ne, const x1_request *q, x1_response *r)
{
    memset(r, 0, sizeof *r);
    r->hdr = q->hdr;
    r->hdr.timestamp_ns = (int64_t)li_now_ns();
    snprintf(r->hdr.version, sizeof r->hdr.version, "%s", X1_VERSION);
    r->type = q->type;
    snprintf(r->type_name, sizeof r->type_name, "%s", q->type_name);
    if (!r->hdr.admf_id[0])
        snprintf(r->hdr.admf_id, sizeof r->hdr.admf_id, "%s", ne->admf_id[0] ? ne->admf_id : "-");
    snprintf(r->hdr.ne_id, sizeof r->hdr.ne_id, "%s", ne->ne_id);
    if (q->error_code) {
        set_error(r, q->error_code, q->error_desc);
        return;
    }
    if (strcmp(q->hdr.ne_id, ne->ne_id) != 0) {
        set_error(r, X1_ERR_UNEXPECTED_NE, "neIdentifier names another NE");
        return;
    }
    if (ne->admf_id[0] && strcmp(q->hdr.admf_id, ne->admf_id) != 0) {
        set_error(r, X1_ERR_UNEXPECTED_ADMF, "admfIdentifier not accepted");
        return;
    }
    int ro = is_read_only(q->type);
    if (ro)
        pthread_rwlock_rdlock(&ne->lock);
    else
        pthread_rwlock_wrlock(&ne->lock);
    switch (q->type) {
    case X1_MSG_ACTIVATE_TASK:
    case X1_MSG_MODIFY_TASK:
        handle_task(ne, q, r);
        break;
    case X1_MSG_DEACTIVATE_TASK:
        handle_deactivate(ne, q, r);
        break;
    case X1_MSG_GET_TASK_DETAILS: {
        task_entry *e = *xid_slot(ne, q->id);
        if (e)
            r->task = e->task;
        else
            set_error(r, X1_ERR_XID_NOT_FOUND, "unknown xId");
        break;
    }
    case X1_MSG_GET_ALL_DETAILS:
    case X1_MSG_LIST_ALL_DETAILS:
        handle_all(ne, r);
        break;
    case X1_MSG_CREATE_DESTINATION:
    case X1_MSG_MODIFY_DESTINATION:
    case X1_MSG_REMOVE_DESTINATION:
    case X1_MSG_GET_DESTINATION_DETAILS:
        handle_destination(ne, q, r);
        break;
    case X1_MSG_CREATE_OBJECT:
    case X1_MSG_MODIFY_OBJECT:
    case X1_MSG_DELETE_OBJECT:
    case X1_MSG_GET_OBJECT:
        handle_object(ne, q, r);
        break;
    case X1_MSG_UNKNOWN:
        set_error(r, X1_ERR_UNSUPPORTED_REQUEST, "request message type not supported");
        break;
    default: /* Ping, Keepalive, GetNEStatus: nothing to change */
        break;
    }
    pthread_rwlock_unlock(&ne->lock);
    if (!ro && !r->error_code)
        notify_request(ne, q);
}

static void log_message(const x1_request *q, const x1_response *r)
{
    char xid[37] = "-";
    if (q->type == X1_MSG_ACTIVATE_TASK || q->type == X1_MSG_MODIFY_TASK)
        li_uuid_format(q->task.xid, xid);
    else if (q->type == X1_MSG_DEACTIVATE_TASK || q->type == X1_MSG_GET_TASK_DETAILS)
        li_uuid_format(q->id, xid);
    if (r->error_code)
        li_log_warn("X1 %s xid=%s: error %d (%s)",
                    q->type ? x1_msg_type_name(q->type) : q->type_name, xid, r->error_code,
                    r->error_desc);
    else if (!is_read_only(q->type))
        li_log_info("X1 %s xid=%s: ok", x1_msg_type_name(q->type), xid);
}

/* Answers one request document; *status is the HTTP status. */
static li_err handle_document(x1_ne *ne, const uint8_t *body, size_t len, li_buf *out,
                              int *status)
{
    x1_request *reqs = malloc(X1_MAX_MESSAGES * sizeof *reqs);
    x1_response *resps = calloc(X1_MAX_MESSAGES, sizeof *resps);
    size_t n = 0;
    li_err err = LI_ERR_NOMEM;
    if (!reqs || !resps)
        goto out;
    if (x1_xml_request_decode(body, len, reqs, X1_MAX_MESSAGES, &n) != LI_OK) {
        /* Nothing to answer message by message: an X1TopLevelErrorResponse, in HTTP 200
         * like every X1 answer (TS 103 221-1 clause 7.2.2.2). */
        x1_header hdr;
        li_log_warn("X1: request document refused (not an X1Request limf can parse)");
        atomic_fetch_add(&ne->n_bad_documents, 1);
        *status = 200;
        if (x1_header_init(&hdr, ne->admf_id[0] ? ne->admf_id : "-", ne->ne_id) == LI_OK)
            err = x1_xml_top_error_encode(&hdr, out);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        handle_message(ne, &reqs[i], &resps[i]);
        log_message(&reqs[i], &resps[i]);
        atomic_fetch_add(&ne->n_messages, 1);
        if (resps[i].error_code)
            atomic_fetch_add(&ne->n_error_responses, 1);
    }
    *status = 200;
    err = x1_xml_response_encode(resps, n, out);
out:
    for (size_t i = 0; resps && i < n; i++) {
        free(resps[i].tasks);
        free(resps[i].dests);
        free(resps[i].objects);
    }
    free(reqs);
    free(resps);
    return err;
}

/* ---- HTTPS server ---- */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 403: return "Forbidden";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    default: return "Internal Server Error";
    }
}

static li_err send_response(li_conn *c, int status, const li_buf *body, int close_after,
                            uint64_t deadline)
{
    /* Head and body in one write, like the client. */
    li_buf msg;
    li_buf_init(&msg, 0);
    li_err err = li_buf_printf(&msg,
                               "HTTP/1.1 %d %s\r\nContent-Type: application/xml; "
                               "charset=utf-8\r\nContent-Length: %zu\r\n%s\r\n",
                               status, reason(status), body ? body->len : 0,
                               close_after ? "Connection: close\r\n" : "");
    if (err == LI_OK && body && body->len)
        err = li_buf_append(&msg, body->data, body->len);
    if (err == LI_OK)
        err = li_conn_send_all(c, msg.data, msg.len, deadline);
    li_buf_free(&msg);
    return err;
}

/* 1 when the client certificate's name is in allowed (comma-separated). */
static int client_allowed(const char *allowed, SSL *ssl)
{
    char name[256];
    if (li_tls_peer_name(ssl, name, sizeof name) != LI_OK)
        return 0;
    size_t nlen = strlen(name);
    for (const char *p = allowed; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *end = p;
        while (*end && *end != ',' && *end != ' ')
            end++;
        if ((size_t)(end - p) == nlen && nlen && memcmp(p, name, nlen) == 0)
            return 1;
        p = end;
    }
    return 0;
}

/* Serves one connection whose handshake is done; owns c. */
static void serve(x1_ne *ne, li_conn *cp)
{
    li_conn c = *cp;
    uint64_t idle_ns = (uint64_t)ne->idle_timeout_ms * 1000000;
    li_err err;
    if (ne->allowed_clients && !client_allowed(ne->allowed_clients, c.ssl)) {
        /* Trusted but not an ADMF: say so, so that the operator sees a refusal rather
         * than an NE that looks down. */
        li_log_warn("X1: client certificate not among x1 allowed_clients; refused");
        atomic_fetch_add(&ne->n_refused_clients, 1);
        uint64_t deadline = li_mono_ns() + 1000000000ull;
        send_response(&c, 403, NULL, 1, deadline);
        x1_conn_linger_close(&c, deadline);
        return;
    }
    li_buf in, out;
    li_buf_init(&in, ne->max_request + LI_HTTP_MAX_HEAD);
    li_buf_init(&out, 0);
    while (!atomic_load(&ne->stop)) {
        li_http_head head;
        size_t msg_len;
        uint64_t deadline = li_mono_ns() + idle_ns;
        err = x1_conn_read_message(&c, &in, 0, ne->max_request, &head, &msg_len, deadline);
        if (err == LI_ERR_TOO_BIG || err == LI_ERR_PROTO) {
            send_response(&c, err == LI_ERR_TOO_BIG ? 413 : 400, NULL, 1, deadline);
            li_buf_free(&in);
            li_buf_free(&out);
            x1_conn_linger_close(&c, li_mono_ns() + 1000000000ull);
            return;
        }
        if (err != LI_OK)
            break;
        int status;
        li_buf_reset(&out);
        if (strcmp(head.method, "POST") != 0) {
            status = 405;
        } else if (strcmp(head.path, ne->path) != 0) {
            status = 404;
        } else if (handle_document(ne, in.data + msg_len - head.content_length,
                                   head.content_length, &out, &status) != LI_OK) {
            status = 500;
            li_buf_reset(&out);
        }
        li_buf_consume(&in, msg_len);
        if (send_response(&c, status, &out, head.close, deadline) != LI_OK || head.close)
            break;
    }
    li_buf_free(&in);
    li_buf_free(&out);
    li_conn_shutdown(&c);
    li_conn_close(&c);
}

static void *conn_main(void *arg)
{
    conn_slot *s = arg;
    serve(s->ne, &s->c);
    pthread_mutex_lock(&s->ne->conn_lock);
    s->state = 2;
    pthread_cond_signal(&s->ne->slot_freed);
    pthread_mutex_unlock(&s->ne->conn_lock);
    return NULL;
}

/* Joins finished connection threads; the caller holds conn_lock. */
static void join_finished(x1_ne *ne)
{
    for (size_t i = 0; i < ne->n_slots; i++) {
        if (ne->slots[i].state == 2) {
            pthread_join(ne->slots[i].thread, NULL);
            ne->slots[i].state = 0;
        }
    }
}

/* A free slot, waiting up to a second for one (the previous request's thread is
 * usually just closing); NULL when all stay busy. The caller holds conn_lock. */
static conn_slot *take_slot(x1_ne *ne)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 1;
    for (;;) {
        join_finished(ne);
        for (size_t i = 0; i < ne->n_slots; i++) {
            if (ne->slots[i].state == 0)
                return &ne->slots[i];
        }
        if (atomic_load(&ne->stop) ||
            pthread_cond_timedwait(&ne->slot_freed, &ne->conn_lock, &until) == ETIMEDOUT)
            return NULL;
    }
}

static void sweep_exceptions(x1_ne *ne)
{
    int64_t now = now_ms();
    int expired = 0;
    pthread_rwlock_rdlock(&ne->lock);
    for (size_t i = 0; i < ne->n_exceptions && !expired; i++)
        expired = ne->exceptions[i].expires_ms <= now;
    pthread_rwlock_unlock(&ne->lock);
    if (!expired)
        return;
    char (*gone)[64] = NULL;
    size_t n_gone = 0;
    pthread_rwlock_wrlock(&ne->lock);
    gone = malloc(ne->n_exceptions * sizeof *gone);
    for (size_t i = 0; i < ne->n_exceptions;) {
        if (ne->exceptions[i].expires_ms <= now) {
            li_log_info("X1: certificate exception %s expired", ne->exceptions[i].id);
            if (gone)
                memcpy(gone[n_gone++], ne->exceptions[i].id, 64);
            ne->exceptions[i] = ne->exceptions[--ne->n_exceptions];
            bump(ne);
        } else {
            i++;
        }
    }
    pthread_rwlock_unlock(&ne->lock);
    for (size_t i = 0; i < n_gone; i++)
        notify(ne, X1_NE_EXCEPTION_EXPIRED, NULL, gone[i]);
    free(gone);
}

/* Gives a connection whose handshake is done to a thread of its own. */
static void hand_over(x1_ne *ne, li_conn *c)
{
    pthread_mutex_lock(&ne->conn_lock);
    conn_slot *s = take_slot(ne);
    if (s) {
        s->c = *c;
        s->ne = ne;
        s->state = 1;
        if (pthread_create(&s->thread, NULL, conn_main, s) != 0) {
            s->state = 0;
            s = NULL;
        }
    }
    pthread_mutex_unlock(&ne->conn_lock);
    if (!s) {
        li_log_warn("X1: too many connections; refusing one");
        atomic_fetch_add(&ne->n_refused_connections, 1);
        li_conn_close(c);
    }
}

/* Takes pending connection i out of the set (its li_conn is the caller's). */
static void remove_pending(x1_ne *ne, size_t i)
{
    for (size_t k = 0; k < ne->n_pending; k++) {
        if (k != i && li_net_same_host(&ne->pending[k].addr, &ne->pending[i].addr))
            ne->pending[k].peers--;
    }
    ne->pending[i] = ne->pending[--ne->n_pending];
}

static void drop_pending(x1_ne *ne, size_t i)
{
    li_conn_close(&ne->pending[i].c);
    remove_pending(ne, i);
}

/* One non-blocking step of pending connection i's handshake. */
static void step_pending(x1_ne *ne, size_t i)
{
    li_err err = li_conn_handshake(&ne->pending[i].c);
    if (err == LI_AGAIN)
        return;
    if (err == LI_OK) {
        li_conn c = ne->pending[i].c;
        remove_pending(ne, i);
        hand_over(ne, &c);
        return;
    }
    li_log_warn("X1: TLS handshake with a client failed: %s", li_err_str(err));
    atomic_fetch_add(&ne->n_tls_failures, 1);
    drop_pending(ne, i);
}

/* The handshake to drop for a new one when the set is full: the oldest of the address
 * holding the most. A flood that reconnects at once would otherwise push out, oldest
 * first, a legitimate peer's handshake (milliseconds, one connection from its address)
 * too; now it is dropped only when no address holds two. */
static size_t victim(const x1_ne *ne)
{
    size_t v = 0;
    for (size_t i = 1; i < ne->n_pending; i++) {
        const pending_conn *p = &ne->pending[i], *best = &ne->pending[v];
        if (p->peers > best->peers ||
            (p->peers == best->peers && p->deadline_ns < best->deadline_ns))
            v = i;
    }
    return v;
}

/* The oldest handshake from addr (which holds one at least). */
static size_t oldest_from(const x1_ne *ne, const struct sockaddr_storage *addr)
{
    size_t v = ne->n_pending;
    for (size_t i = 0; i < ne->n_pending; i++) {
        if (li_net_same_host(&ne->pending[i].addr, addr) &&
            (v == ne->n_pending || ne->pending[i].deadline_ns < ne->pending[v].deadline_ns))
            v = i;
    }
    return v;
}

/* Takes a new connection into the handshake set. One address may hold only
 * max_per_address handshakes: at the limit its oldest makes way for the new one, as the
 * set's victim does when the set is full (refusing the new one would let a flood from
 * the ADMF's own address lock it out). */
static void admit(x1_ne *ne, int fd, const struct sockaddr_storage *addr)
{
    size_t same = 0;
    for (size_t i = 0; i < ne->n_pending; i++)
        same += li_net_same_host(&ne->pending[i].addr, addr);
    if (same >= ne->max_per_address || ne->n_pending == ne->max_pending) {
        atomic_fetch_add(&ne->n_refused_connections, 1);
        size_t v = same >= ne->max_per_address ? oldest_from(ne, addr) : victim(ne);
        same -= li_net_same_host(&ne->pending[v].addr, addr);
        drop_pending(ne, v);
    }
    pending_conn *p = &ne->pending[ne->n_pending];
    li_conn_init(&p->c);
    p->c.cancel = &ne->stop;
    if (li_conn_attach(&p->c, fd, ne->ctx, 1) != LI_OK)
        return;
    p->addr = *addr;
    p->deadline_ns = li_mono_ns() + ne->handshake_ns;
    p->peers = same + 1;
    for (size_t i = 0; i < ne->n_pending; i++)
        ne->pending[i].peers += li_net_same_host(&ne->pending[i].addr, addr);
    ne->n_pending++;
    step_pending(ne, ne->n_pending - 1); /* sets what to poll for */
}

/* Accepts what the listener holds, a bounded batch at a time. */
static void accept_batch(x1_ne *ne)
{
    for (int k = 0; k < 64; k++) {
        struct sockaddr_storage addr;
        socklen_t len = sizeof addr;
        int fd = accept4(ne->listen_fd, (struct sockaddr *)&addr, &len, SOCK_CLOEXEC);
        if (fd < 0)
            return;
        admit(ne, fd, &addr);
    }
}

static void expire_pending(x1_ne *ne)
{
    uint64_t now = li_mono_ns();
    for (size_t i = ne->n_pending; i-- > 0;) {
        if (ne->pending[i].deadline_ns <= now) {
            atomic_fetch_add(&ne->n_handshake_timeouts, 1);
            drop_pending(ne, i);
        }
    }
}

static void *acceptor_main(void *arg)
{
    x1_ne *ne = arg;
    while (!atomic_load(&ne->stop)) {
        struct pollfd *p = ne->pfds;
        p[0] = (struct pollfd){ .fd = ne->listen_fd, .events = POLLIN };
        size_t n = ne->n_pending;
        for (size_t i = 0; i < n; i++)
            p[i + 1] = (struct pollfd){ .fd = ne->pending[i].c.fd,
                                        .events = ne->pending[i].c.want };
        if (poll(p, n + 1, SWEEP_MS) > 0) {
            /* Backwards: removing i moves the last entry, already stepped, into i. */
            for (size_t i = n; i-- > 0;) {
                if (p[i + 1].revents)
                    step_pending(ne, i);
            }
            if (p[0].revents & POLLIN)
                accept_batch(ne);
        }
        expire_pending(ne);
        pthread_mutex_lock(&ne->conn_lock);
        join_finished(ne);
        pthread_mutex_unlock(&ne->conn_lock);
        sweep_exceptions(ne);
    }
    return NULL;
}

static int open_listener(const char *listen_addr, uint16_t *port, char *errstr,
                         size_t errstr_size)
{
    int fd = -1;
    /* A deep backlog: a flood of connections must not crowd out the ADMF's SYN. */
    li_net_listen(listen_addr, LI_HOSTPORT_NAME, "x1 listen", 1024, LI_NET_NONBLOCK, &fd, port,
                  errstr, errstr_size);
    return fd;
}

static li_err read_size(const li_config *cfg, const char *prefix, const char *name,
                        int64_t def, int64_t max, size_t *out, char *errstr, size_t errstr_size)
{
    char key[256];
    int64_t v;
    snprintf(key, sizeof key, "%s.%s", prefix, name);
    li_err err = li_config_get_int(cfg, key, def, 1, max, &v, errstr, errstr_size);
    *out = (size_t)v;
    return err;
}

x1_ne *x1_ne_new(const li_config *cfg, const char *prefix, char *errstr, size_t errstr_size)
{
    char key[256];
    size_t idle, conns, handshake_ms;
    x1_ne *ne = calloc(1, sizeof *ne);
    if (!ne) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    ne->listen_fd = -1;
    pthread_rwlock_init(&ne->lock, NULL);
    pthread_mutex_init(&ne->conn_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ne->slot_freed, &ca);
    pthread_condattr_destroy(&ca);
    if (read_size(cfg, prefix, "max_request_bytes", 1 << 20, 64 << 20, &ne->max_request, errstr,
                  errstr_size) != LI_OK ||
        read_size(cfg, prefix, "max_tasks", 65536, 1 << 24, &ne->max_tasks, errstr,
                  errstr_size) != LI_OK ||
        read_size(cfg, prefix, "max_destinations", 1024, 1 << 20, &ne->max_dests, errstr,
                  errstr_size) != LI_OK ||
        read_size(cfg, prefix, "max_exceptions", 65536, 1 << 24, &ne->max_exceptions, errstr,
                  errstr_size) != LI_OK ||
        read_size(cfg, prefix, "max_connections", 16, 1024, &conns, errstr, errstr_size) != LI_OK ||
        read_size(cfg, prefix, "idle_timeout_ms", 30000, 3600000, &idle, errstr, errstr_size) !=
            LI_OK ||
        read_size(cfg, prefix, "handshake_timeout_ms", 5000, 600000, &handshake_ms, errstr,
                  errstr_size) != LI_OK ||
        read_size(cfg, prefix, "max_handshakes", 256, 65536, &ne->max_pending, errstr,
                  errstr_size) != LI_OK ||
        read_size(cfg, prefix, "max_handshakes_per_address", 8, 65536, &ne->max_per_address,
                  errstr, errstr_size) != LI_OK)
        goto fail;
    ne->idle_timeout_ms = (int)idle;
    ne->handshake_ns = (uint64_t)handshake_ms * 1000000;
    snprintf(key, sizeof key, "%s.ne_id", prefix);
    snprintf(ne->ne_id, sizeof ne->ne_id, "%s", li_config_get(cfg, key, "limf-ne"));
    snprintf(key, sizeof key, "%s.admf_id", prefix);
    snprintf(ne->admf_id, sizeof ne->admf_id, "%s", li_config_get(cfg, key, ""));
    snprintf(key, sizeof key, "%s.path", prefix);
    snprintf(ne->path, sizeof ne->path, "%s", li_config_get(cfg, key, "/X1/NE"));
    snprintf(key, sizeof key, "%s.allowed_clients", prefix);
    const char *allowed = li_config_get(cfg, key, NULL);
    if (allowed && *allowed && !(ne->allowed_clients = strdup(allowed))) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    li_tls_opts opts;
    snprintf(key, sizeof key, "%s.tls", prefix);
    li_tls_opts_from_config(cfg, key, &opts);
    opts.server = 1;
    /* Trust by CA alone would let any certificate the CA signed (an agency's LEMF,
     * another POI) task this NE: the ADMF must be named, or pinned with nothing else. */
    if (!ne->allowed_clients && !(opts.pins && *opts.pins && !opts.ca_file)) {
        snprintf(errstr, errstr_size,
                 "%s.allowed_clients (the ADMF's certificate name) or %s.tls.pins without "
                 "%s.tls.ca is required: the ADMF must be pinned", prefix, prefix, prefix);
        goto fail;
    }
    if (!(ne->ctx = li_tls_ctx_new(&opts, errstr, errstr_size)))
        goto fail;
    /* The ADMF opens a connection per request and never resumes: no session tickets. */
    SSL_CTX_set_num_tickets(ne->ctx, 0);
    ne->n_slots = conns;
    ne->pending = calloc(ne->max_pending, sizeof *ne->pending);
    ne->pfds = calloc(ne->max_pending + 1, sizeof *ne->pfds);
    if (!(ne->slots = calloc(conns, sizeof *ne->slots)) || !ne->pending || !ne->pfds) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    snprintf(key, sizeof key, "%s.listen", prefix);
    ne->listen_fd = open_listener(li_config_get(cfg, key, "127.0.0.1:0"), &ne->port, errstr,
                                  errstr_size);
    if (ne->listen_fd < 0)
        goto fail;
    x1_xml_init();
    if (pthread_create(&ne->acceptor, NULL, acceptor_main, ne) != 0) {
        snprintf(errstr, errstr_size, "cannot start the X1 server thread");
        close(ne->listen_fd);
        ne->listen_fd = -1;
        goto fail;
    }
    li_log_info("X1 NE %s listening on port %u", ne->ne_id, ne->port);
    return ne;
fail:
    SSL_CTX_free(ne->ctx);
    free(ne->slots);
    free(ne->pending);
    free(ne->pfds);
    free(ne->allowed_clients);
    pthread_rwlock_destroy(&ne->lock);
    pthread_mutex_destroy(&ne->conn_lock);
    pthread_cond_destroy(&ne->slot_freed);
    free(ne);
    return NULL;
}

void x1_ne_free(x1_ne *ne)
{
    if (!ne)
        return;
    atomic_store(&ne->stop, 1);
    pthread_join(ne->acceptor, NULL);
    close(ne->listen_fd);
    while (ne->n_pending)
        drop_pending(ne, ne->n_pending - 1);
    /* Connection threads see stop within 250 ms (li_conn cancel). */
    for (size_t i = 0; i < ne->n_slots; i++) {
        /* state is written by the slot's thread as it ends, under conn_lock; the join
         * itself must not hold it (that thread takes it last). */
        pthread_mutex_lock(&ne->conn_lock);
        int running = ne->slots[i].state != 0;
        pthread_mutex_unlock(&ne->conn_lock);
        if (running)
            pthread_join(ne->slots[i].thread, NULL);
    }
    for (size_t b = 0; b < XID_BUCKETS; b++) {
        for (task_entry *e = ne->xid_buckets[b], *next; e; e = next) {
            next = e->next;
            unindex_task(ne, e);
            free(e);
        }
    }
    free(ne->dests);
    free(ne->exceptions);
    free(ne->slots);
    free(ne->pending);
    free(ne->pfds);
    free(ne->allowed_clients);
    SSL_CTX_free(ne->ctx);
    pthread_rwlock_destroy(&ne->lock);
    pthread_mutex_destroy(&ne->conn_lock);
    pthread_cond_destroy(&ne->slot_freed);
    free(ne);
}

uint16_t x1_ne_port(x1_ne *ne)
{
    return ne->port;
}

size_t x1_ne_match_identity(x1_ne *ne, const char *canon_identity, x1_ne_match *out,
                            size_t max)
{
    size_t n = 0;
    uint32_t h = fnv1a(canon_identity, strlen(canon_identity));
    pthread_rwlock_rdlock(&ne->lock);
    for (ident_node *node = ne->ident_buckets[h % IDENT_BUCKETS]; node; node = node->next) {
        const task_entry *e = node->task;
        if (node->hash != h || strcmp(e->canon[node->target], canon_identity) != 0)
            continue;
        if (n < max) {
            memcpy(out[n].xid, e->task.xid, 16);
            memcpy(out[n].dids, e->task.dids, sizeof out[n].dids);
            out[n].n_dids = e->task.n_dids;
            out[n].delivery = e->task.delivery;
            snprintf(out[n].target, sizeof out[n].target, "%s:%s",
                     e->task.targets[node->target].type, e->task.targets[node->target].value);
        }
        n++;
    }
    pthread_rwlock_unlock(&ne->lock);
    return n;
}

int x1_ne_find_exception(x1_ne *ne, const uint8_t fingerprint[32], const char *peer,
                         x1_cert_exception *out)
{
    if (!fingerprint && !peer)
        return 0;
    int64_t now = now_ms();
    int found = 0;
    pthread_rwlock_rdlock(&ne->lock);
    for (size_t i = 0; i < ne->n_exceptions && !found; i++) {
        const x1_cert_exception *x = &ne->exceptions[i];
        /* Expired ones no longer count even before the sweeper removes them. */
        if (x->expires_ms <= now)
            continue;
        if (fingerprint && memcmp(x->fingerprint, fingerprint, 32) != 0)
            continue;
        if (peer && x->peer[0] && strcasecmp(x->peer, peer) != 0)
            continue;
        if (!fingerprint && !x->peer[0])
            continue; /* a fingerprint-only exception says nothing about a bare peer */
        found = 1;
        if (out)
            *out = *x;
    }
    pthread_rwlock_unlock(&ne->lock);
    return found;
}

uint64_t x1_ne_generation(x1_ne *ne)
{
    return atomic_load(&ne->generation);
}

li_err x1_ne_get_task(x1_ne *ne, const uint8_t xid[16], x1_task *out)
{
    pthread_rwlock_rdlock(&ne->lock);
    task_entry *e = *xid_slot(ne, xid);
    if (e)
        *out = e->task;
    pthread_rwlock_unlock(&ne->lock);
    return e ? LI_OK : LI_ERR_NOT_FOUND;
}

li_err x1_ne_get_destination(x1_ne *ne, const uint8_t did[16], x1_destination *out)
{
    pthread_rwlock_rdlock(&ne->lock);
    x1_destination *d = find_dest(ne, did);
    if (d)
        *out = *d;
    pthread_rwlock_unlock(&ne->lock);
    return d ? LI_OK : LI_ERR_NOT_FOUND;
}

size_t x1_ne_list_destinations(x1_ne *ne, x1_destination *out, size_t max)
{
    pthread_rwlock_rdlock(&ne->lock);
    size_t n = ne->n_dests;
    if (n && max)
        memcpy(out, ne->dests, (n < max ? n : max) * sizeof *out);
    pthread_rwlock_unlock(&ne->lock);
    return n;
}

void x1_ne_stats_get(x1_ne *ne, x1_ne_stats *out)
{
    out->messages = atomic_load(&ne->n_messages);
    out->error_responses = atomic_load(&ne->n_error_responses);
    out->bad_documents = atomic_load(&ne->n_bad_documents);
    out->tls_failures = atomic_load(&ne->n_tls_failures);
    out->refused_clients = atomic_load(&ne->n_refused_clients);
    out->refused_connections = atomic_load(&ne->n_refused_connections);
    out->handshake_timeouts = atomic_load(&ne->n_handshake_timeouts);
    pthread_rwlock_rdlock(&ne->lock);
    out->tasks = ne->n_tasks;
    out->destinations = ne->n_dests;
    out->exceptions = ne->n_exceptions;
    pthread_rwlock_unlock(&ne->lock);
}

size_t x1_ne_task_count(x1_ne *ne)
{
    pthread_rwlock_rdlock(&ne->lock);
    size_t n = ne->n_tasks;
    pthread_rwlock_unlock(&ne->lock);
    return n;
}
