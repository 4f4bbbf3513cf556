/* One error type for the whole project (docs/CODING.md 5). */
#ifndef LI_ERR_H
#define LI_ERR_H

typedef enum li_err {
    LI_OK = 0,
    LI_AGAIN = 1,            /* need more input (codecs) or would block (I/O) */
    LI_ERR = -1,             /* unspecified failure */
    LI_ERR_PROTO = -2,       /* malformed input on a wire or in a file */
    LI_ERR_NOMEM = -3,
    LI_ERR_IO = -4,          /* socket, file or system call failure */
    LI_ERR_INVAL = -5,       /* invalid argument or configuration */
    LI_ERR_TOO_BIG = -6,     /* input above a configured maximum */
    LI_ERR_NOT_FOUND = -7,
    LI_ERR_CONFLICT = -8,    /* optimistic concurrency or duplicate */
    LI_ERR_TLS = -9,
    LI_ERR_KAFKA = -10,
    LI_ERR_TIMEOUT = -11,
    LI_ERR_CLOSED = -12,     /* peer closed the connection */
    LI_ERR_FULL = -13        /* a bounded buffer or queue is full */
} li_err;

/* Static text for an error code; never NULL. */
const char *li_err_str(li_err err);

#endif
