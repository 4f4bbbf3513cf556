/* Reads a daemon's ready file (common/li_daemon.h: {"pid":N,"ports":{"name":port,...}})
 * the way a supervisor would: by the name of the port. Header-only, for every test that
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
    const char *ports = strstr(text, "\"ports\":{");
    snprintf(pat, sizeof pat, "\"%s\":", name);
    const char *p = ports ? strstr(ports, pat) : NULL;
    return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

#endif
