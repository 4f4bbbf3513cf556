/* limf-siptap's capture (libpcap): live from an interface or from a pcap file, feeding
 * every frame to the engine (siptap.h). */
#ifndef SIPTAP_IO_H
#define SIPTAP_IO_H

#include <stddef.h>
#include <stdint.h>

#include "li_config.h"
#include "li_err.h"
#include "siptap.h"

typedef struct siptap_capture siptap_capture;

/* SIP's port, and every IP fragment: a port filter alone sees only the first fragment of
 * a datagram (the others carry no UDP header), so reassembly would never complete.
 * IPv4: a non-zero fragment offset; IPv6: a fragment header first (RFC 8200 4.5). */
#define SIPTAP_DEFAULT_FILTER \
    "port 5060 or (ip and ip[6:2] & 0x1fff != 0) or (ip6 and ip6[6] == 44)"

/* Opens the capture. Keys:
 *   siptap.pcap          a pcap or pcapng file to read instead of a live capture;
 *   siptap.interface     interface to capture on (default "lo");
 *   siptap.filter        BPF filter (default SIPTAP_DEFAULT_FILTER), applied in both
 *                        modes;
 *   siptap.snaplen       bytes kept per frame (default 262144);
 *   siptap.promisc       promiscuous mode (default false);
 *   siptap.buffer_bytes  kernel capture buffer (default 16 MiB);
 *   siptap.pace          file mode: replay at the capture's own pace instead of as fast
 *                        as possible (default false).
 * Needs CAP_NET_RAW for a live capture. NULL with a reason in errstr. */
siptap_capture *siptap_capture_open(const li_config *cfg, char *errstr,
                                              size_t errstr_size);
/* NULL is a no-op. */
void siptap_capture_close(siptap_capture *c);
/* 1 when reading a file. */
int siptap_capture_is_file(const siptap_capture *c);

/* Captures into the engine until stop_fd becomes readable (a signalfd) or, for a file,
 * its end. Calls siptap_tick about once a second (capture time for a file, wall
 * time live) and on_second(ctx) once a second of wall time (statistics). LI_OK at the
 * end or on stop; LI_ERR_IO when the capture fails (errstr). */
li_err siptap_capture_run(siptap_capture *c, siptap *tap, int stop_fd,
                               void (*on_second)(void *ctx), void *ctx, char *errstr,
                               size_t errstr_size);

/* Frames received and dropped by the kernel (live capture), 0 for a file. */
void siptap_capture_drops(siptap_capture *c, uint64_t *received, uint64_t *dropped);

#endif
