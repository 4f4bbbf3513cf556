/* Reads a daemon's ready file (common/li_daemon.h: {"pid":N,"ports":{"name":port,...}},
 * and "sockets":{"name":"/path",...} when it has Unix sockets) the way a supervisor
 * would: by the name of the port or socket. Header-only, for every test that
 * starts a daemon. */
#ifndef READY_PORT_H
#define READY_PORT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The port named `name` in the ready file at path; -1 while the file does not exist (the
 * daemon renames it into place once every listener is bound) or does not name it. */
static inline long ready_port(const char *path, const char *name)
{
    char text[4096], pat[128];
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *ports = strstr(text, "\"ports\":{");
    char *end = ports ? strchr(ports, '}') : NULL;
    if (!end)
        return -1;
    *end = '\0';   /* the names of "ports" only, not those of "sockets" */
    snprintf(pat, sizeof pat, "\"%s\":", name);
    const char *p = strstr(ports, pat);
    return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

/* The path of the Unix socket named `name` in the ready file at path ("sockets":
 * {"name":"/path"}; the daemons write no escapes into the paths the tests give them)
 * into out; -1 while the file does not exist or does not name it. */
static inline int ready_socket(const char *path, const char *name, char *out, size_t size)
{
    char text[4096], pat[128];
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *socks = strstr(text, "\"sockets\":{");
    snprintf(pat, sizeof pat, "\"%s\":\"", name);
    const char *p = socks ? strstr(socks, pat) : NULL;
    const char *q = p ? strchr(p + strlen(pat), '"') : NULL;
    if (!q || (size_t)(q - p - strlen(pat)) >= size)
        return -1;
    snprintf(out, size, "%.*s", (int)(q - p - strlen(pat)), p + strlen(pat));
    return 0;
}

#endif
