#include "li_time.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

uint64_t li_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t li_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct timespec li_deadline(clockid_t clock, int ms)
{
    struct timespec t;
    clock_gettime(clock, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

void li_time_format_rfc3339(uint64_t ns, int digits, char *out, size_t out_size)
{
    time_t sec = (time_t)(ns / 1000000000u);
    uint32_t frac = (uint32_t)(ns % 1000000000u);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(out, out_size, "%Y-%m-%dT%H:%M:%S", &tm);
    if (digits > 9)
        digits = 9;
    if (digits > 0) {
        for (int i = digits; i < 9; i++)
            frac /= 10;
        n += (size_t)snprintf(out + n, out_size - n, ".%0*u", digits, frac);
    }
    snprintf(out + n, out_size - n, "Z");
}

static int read_digits(const char **p, int count, int *value)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *value = v;
    return 0;
}

li_err li_time_parse_rfc3339(const char *text, int64_t *ns)
{
    const char *p = text;
    int year, mon, day, hour, min, sec;
    if (read_digits(&p, 4, &year) || *p++ != '-' || read_digits(&p, 2, &mon) || *p++ != '-' ||
        read_digits(&p, 2, &day) || (*p != 'T' && *p != 't' && *p != ' '))
        return LI_ERR_PROTO;
    p++;
    if (read_digits(&p, 2, &hour) || *p++ != ':' || read_digits(&p, 2, &min) || *p++ != ':' ||
        read_digits(&p, 2, &sec))
        return LI_ERR_PROTO;
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
        return LI_ERR_PROTO;
    int64_t frac_ns = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        int64_t scale = 100000000;
        while (isdigit((unsigned char)*p)) {
            if (digits < 9)
                frac_ns += (*p - '0') * scale;
            scale /= 10;
            digits++;
            p++;
        }
        if (digits == 0)
            return LI_ERR_PROTO;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int oh, om;
        p++;
        if (read_digits(&p, 2, &oh) || *p++ != ':' || read_digits(&p, 2, &om) || oh > 23 ||
            om > 59)
            return LI_ERR_PROTO;
        offset_min = sign * (oh * 60 + om);
    } else {
        return LI_ERR_PROTO;
    }
    if (*p != '\0')
        return LI_ERR_PROTO;
    struct tm tm = { 0 };
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    /* timegm normalises 31 February into March: reject dates it had to move. */
    struct tm check;
    gmtime_r(&t, &check);
    if (check.tm_mday != day && sec != 60)
        return LI_ERR_PROTO;
    /* Nanoseconds in an int64 reach the year 2262: refuse what does not fit. */
    int64_t secs = (int64_t)t - (int64_t)offset_min * 60;
    int64_t whole;
    if (__builtin_mul_overflow(secs, (int64_t)1000000000, &whole) ||
        __builtin_add_overflow(whole, frac_ns, ns))
        return LI_ERR_PROTO;
    return LI_OK;
}
