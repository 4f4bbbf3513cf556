/* limf-siptap's capture; see siptap_io.h. */
#include "siptap_io.h"

#include <errno.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "li_log.h"
#include "li_time.h"

#define NS 1000000000ull

struct siptap_capture {
    pcap_t *p;
    int is_file;
    int pace;
    int linktype;
    int nano;                   /* timestamps in ns (else us: no kernel support) */
    siptap *tap;
    uint64_t last_tick_ns;      /* capture time of the last engine tick */
    uint64_t pace_first_ts;     /* pacing: first frame's capture time */
    uint64_t pace_first_wall;   /* and the monotonic time it was replayed */
    int stop_fd;                /* readable when asked to stop */
};

siptap_capture *siptap_capture_open(const li_config *cfg, char *errstr,
                                              size_t errstr_size)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    int64_t snaplen, bufsize;
    int promisc, pace;
    if (li_config_get_int(cfg, "siptap.snaplen", 262144, 128, 262144, &snaplen, errstr,
                errstr_size) != LI_OK ||
        li_config_get_int(cfg, "siptap.buffer_bytes", 16 << 20, 65536, (int64_t)1 << 30, &bufsize,
                errstr, errstr_size) != LI_OK ||
        li_config_get_bool(cfg, "siptap.promisc", 0, &promisc, errstr, errstr_size) != LI_OK ||
        li_config_get_bool(cfg, "siptap.pace", 0, &pace, errstr, errstr_size) != LI_OK)
        return NULL;
    siptap_capture *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    c->pace = pace;
    const char *file = li_config_get(cfg, "siptap.pcap", NULL);
    if (file && *file) {
        c->is_file = 1;
        c->p = pcap_open_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, ebuf);
        if (!c->p) {
            snprintf(errstr, errstr_size, "siptap.pcap %s: %s", file, ebuf);
            free(c);
            return NULL;
        }
    } else {
        const char *ifname = li_config_get(cfg, "siptap.interface", "lo");
        c->p = pcap_create(ifname, ebuf);
        if (!c->p) {
            snprintf(errstr, errstr_size, "siptap.interface %s: %s", ifname, ebuf);
            free(c);
            return NULL;
        }
        pcap_set_snaplen(c->p, (int)snaplen);
        pcap_set_promisc(c->p, promisc);
        pcap_set_buffer_size(c->p, (int)bufsize);
        /* Deliver each frame as it arrives: SIP is small and latency matters more than
         * batching here. */
        pcap_set_immediate_mode(c->p, 1);
        pcap_set_tstamp_precision(c->p, PCAP_TSTAMP_PRECISION_NANO);
        int rc = pcap_activate(c->p);
        if (rc < 0) {
            snprintf(errstr, errstr_size, "capture on %s: %s (needs CAP_NET_RAW)", ifname,
                     pcap_geterr(c->p));
            siptap_capture_close(c);
            return NULL;
        }
        if (pcap_setnonblock(c->p, 1, ebuf) != 0) {
            snprintf(errstr, errstr_size, "capture on %s: %s", ifname, ebuf);
            siptap_capture_close(c);
            return NULL;
        }
    }
    const char *filter = li_config_get(cfg, "siptap.filter", SIPTAP_DEFAULT_FILTER);
    struct bpf_program prog;
    if (pcap_compile(c->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0 ||
        pcap_setfilter(c->p, &prog) != 0) {
        snprintf(errstr, errstr_size, "siptap.filter \"%s\": %s", filter, pcap_geterr(c->p));
        siptap_capture_close(c);
        return NULL;
    }
    pcap_freecode(&prog);
    c->linktype = pcap_datalink(c->p);
    c->nano = pcap_get_tstamp_precision(c->p) == PCAP_TSTAMP_PRECISION_NANO;
    return c;
}

void siptap_capture_close(siptap_capture *c)
{
    if (!c)
        return;
    if (c->p)
        pcap_close(c->p);
    free(c);
}

int siptap_capture_is_file(const siptap_capture *c)
{
    return c->is_file;
}

/* With nanosecond precision granted, tv_usec holds nanoseconds. */
static uint64_t frame_ns(const siptap_capture *c, const struct pcap_pkthdr *h)
{
    return (uint64_t)h->ts.tv_sec * NS + (uint64_t)h->ts.tv_usec * (c->nano ? 1u : 1000u);
}

static void pace_wait(siptap_capture *c, uint64_t ts)
{
    uint64_t now = li_mono_ns();
    if (!c->pace_first_wall) {
        c->pace_first_wall = now;
        c->pace_first_ts = ts;
        return;
    }
    if (ts <= c->pace_first_ts)
        return;
    uint64_t due = c->pace_first_wall + (ts - c->pace_first_ts);
    if (due <= now)
        return;
    /* Waiting on the stop descriptor: a long pause in the capture must not delay SIGTERM. */
    uint64_t ms = (due - now + 999999) / 1000000;
    struct pollfd pfd = { c->stop_fd, POLLIN, 0 };
    if (poll(&pfd, 1, ms > INT_MAX ? INT_MAX : (int)ms) > 0)
        pcap_breakloop(c->p);
}

static void on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    siptap_capture *c = (siptap_capture *)user;
    uint64_t ts = frame_ns(c, h);
    if (c->is_file) {
        if (c->pace)
            pace_wait(c, ts);
        /* A file is ticked by its own clock so that timeouts replay as they happened. */
        if (ts > c->last_tick_ns + NS) {
            if (c->last_tick_ns)
                siptap_tick(c->tap, ts);
            c->last_tick_ns = ts;
        }
    }
    /* Decoding errors are counted by the engine; nothing to do about them here. */
    (void)siptap_frame(c->tap, c->linktype, bytes, h->caplen, ts);
}

static int stop_requested(int stop_fd, int timeout_ms)
{
    struct pollfd pfd = { stop_fd, POLLIN, 0 };
    return poll(&pfd, 1, timeout_ms) > 0;
}

li_err siptap_capture_run(siptap_capture *c, siptap *tap, int stop_fd,
                               void (*on_second)(void *ctx), void *ctx, char *errstr,
                               size_t errstr_size)
{
    c->tap = tap;
    c->stop_fd = stop_fd;
    uint64_t next_second = li_mono_ns() + NS;
    int fd = c->is_file ? -1 : pcap_get_selectable_fd(c->p);
    for (;;) {
        int n;
        if (c->is_file) {
            if (stop_requested(stop_fd, 0))
                return LI_OK;
            /* Batches keep the stop check and the statistics timely. */
            n = pcap_dispatch(c->p, 4096, on_frame, (u_char *)c);
            if (n == 0 || n == PCAP_ERROR_BREAK)
                return LI_OK;  /* end of file, or stopped while pacing */
        } else {
            struct pollfd pfd[2] = { { stop_fd, POLLIN, 0 }, { fd, POLLIN, 0 } };
            if (poll(pfd, 2, 200) < 0 && errno != EINTR) {
                snprintf(errstr, errstr_size, "poll: %s", strerror(errno));
                return LI_ERR_IO;
            }
            if (pfd[0].revents)
                return LI_OK;
            n = pcap_dispatch(c->p, -1, on_frame, (u_char *)c);
        }
        if (n < 0) {
            snprintf(errstr, errstr_size, "capture: %s", pcap_geterr(c->p));
            return LI_ERR_IO;
        }
        uint64_t now = li_mono_ns();
        if (now >= next_second) {
            next_second = now + NS;
            if (!c->is_file)
                siptap_tick(tap, li_now_ns());
            if (on_second)
                on_second(ctx);
        }
    }
}

void siptap_capture_drops(siptap_capture *c, uint64_t *received, uint64_t *dropped)
{
    struct pcap_stat st;
    *received = *dropped = 0;
    if (c->is_file || pcap_stats(c->p, &st) != 0)
        return;
    *received = st.ps_recv;
    *dropped = (uint64_t)st.ps_drop + st.ps_ifdrop;
}
