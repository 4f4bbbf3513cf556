#include "li_err.h"

const char *li_err_str(li_err err)
{
    switch (err) {
    case LI_OK: return "ok";
    case LI_AGAIN: return "again";
    case LI_ERR: return "error";
    case LI_ERR_PROTO: return "protocol error";
    case LI_ERR_NOMEM: return "out of memory";
    case LI_ERR_IO: return "i/o error";
    case LI_ERR_INVAL: return "invalid argument";
    case LI_ERR_TOO_BIG: return "too big";
    case LI_ERR_NOT_FOUND: return "not found";
    case LI_ERR_CONFLICT: return "conflict";
    case LI_ERR_TLS: return "tls error";
    case LI_ERR_KAFKA: return "kafka error";
    case LI_ERR_TIMEOUT: return "timeout";
    case LI_ERR_CLOSED: return "closed";
    case LI_ERR_FULL: return "full";
    }
    return "unknown error";
}
