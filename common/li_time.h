/* Clocks. Wall-clock time for timestamps on the wire; monotonic time for timers. */
#ifndef LI_TIME_H
#define LI_TIME_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>

#include "li_err.h"

/* Nanoseconds since the Unix epoch (CLOCK_REALTIME). */
uint64_t li_now_ns(void);
/* Nanoseconds of CLOCK_MONOTONIC. */
uint64_t li_mono_ns(void);
/* The time of `clock` ms milliseconds from now, for pthread_cond_timedwait (whose
 * condition variable must use that clock). */
struct timespec li_deadline(clockid_t clock, int ms);
/* Formats ns since the epoch as RFC 3339 UTC with `digits` fraction digits (0-9). */
void li_time_format_rfc3339(uint64_t ns, int digits, char *out, size_t out_size);
/* Parses RFC 3339 (any fraction, "Z" or +hh:mm offset) to ns since the epoch. */
li_err li_time_parse_rfc3339(const char *text, int64_t *ns);

#endif
