/* A slowloris on loopback for the pre-authentication denial-of-service tests (issue 15
 * item 6): a thread that holds n connections to 127.0.0.1:port and opens each again as
 * soon as the server drops it, for as long as it runs. Connections come from source
 * addresses src (host order, in 127.0.0.0/8) up, per_address to each, so that a
 * per-address limit alone cannot turn them away. Half of them stay silent after
 * connecting (idle TCP); the other half send one byte every slow_ms: the bytes of a TLS ClientHello when tls is NULL (a
 * handshake that never ends), else, after completing a TLS handshake with tls as client,
 * the bytes of an HTTP request head (a request that never ends). */
#ifndef DOS_UTIL_H
#define DOS_UTIL_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dos_attack dos_attack;

typedef struct dos_stats {
    uint64_t opened;  /* connections made, the first ones included */
    uint64_t dropped; /* connections the server closed (each was opened again) */
    uint64_t bytes;   /* slow bytes sent */
    size_t open_now;  /* connections open when dos_attack_stop() was called */
} dos_stats;

/* Starts the attack (tls is borrowed until dos_attack_stop); NULL when the thread or the
 * connections cannot be set up (the reason on stderr). */
dos_attack *dos_attack_start(uint16_t port, size_t n, uint32_t src, size_t per_address,
                             SSL_CTX *tls, int slow_ms);
/* Stops, closes every connection and frees; *out gets the counters. */
void dos_attack_stop(dos_attack *a, dos_stats *out);

/* Raises the open-file limit to what the test needs (soft to hard, at most want). */
void dos_raise_nofile(size_t want);

#endif
