/* An in-process X2/X3 ingest for the POI-side unit tests (test_x2x3_sender,
 * test_x2x3_router): real TLS on 127.0.0.1 with a certificate of the test PKI, one
 * connection at a time on its own thread. It counts what it receives, keeps the PDUs of
 * its first X2X3_TEST_CONNS connections byte for byte, and answers keepalives while
 * `answer` is set. Every field below `port` is shared with that thread: read and write
 * it under `mu`, or with the functions below. */
#ifndef X2X3_TEST_INGEST_H
#define X2X3_TEST_INGEST_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "li_bytes.h"
#include "li_tls.h"

#define X2X3_TEST_CONNS 4

typedef struct x2x3_test_ingest {
    pthread_t thread;
    SSL_CTX *ctx;
    int listen_fd;
    uint16_t port;
    pthread_mutex_t mu;
    int answer;                         /* answer keepalives */
    int drop;                           /* close the current connection */
    int refuse;                         /* close every connection after the handshake */
    int stop;
    size_t conns;                       /* connections accepted */
    size_t open;                        /* connections open now */
    size_t pdus;                        /* X2/X3 PDUs received, every connection */
    size_t keepalives;
    li_buf stream[X2X3_TEST_CONNS];     /* the X2/X3 PDUs of connection i, as received */
    size_t stream_pdus[X2X3_TEST_CONNS];
} x2x3_test_ingest;

/* Listens with <pki_dir>/<role>.pem/.key, trusting <pki_dir>/ca.pem, and starts the
 * thread; answer: the initial `answer`. 0 on success. */
int x2x3_test_ingest_start(x2x3_test_ingest *g, const char *pki_dir, const char *role,
                           int answer);
/* Stops the thread and frees everything. */
void x2x3_test_ingest_stop(x2x3_test_ingest *g);

/* Reads or sets one of g's fields under its lock. */
size_t x2x3_test_ingest_get(x2x3_test_ingest *g, const size_t *field);
void x2x3_test_ingest_set(x2x3_test_ingest *g, int *field, int value);

/* Waits up to timeout_ms for *field to reach want: exactly (1), or at least (0).
 * 1 when it did. */
int x2x3_test_ingest_wait(x2x3_test_ingest *g, const size_t *field, size_t want, int exactly,
                          int timeout_ms);

#endif
