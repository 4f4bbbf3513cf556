/* limf-audit-verify: checks an exported audit file (GET /v1/audit?format=jsonl, one event
 * per line) offline and names the first event whose hash chain link is broken.
 * Exit status: 0 intact, 1 broken (first tampered event printed), 2 usage or I/O error. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_chain.h"

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: %s AUDIT.jsonl   (\"-\" for stdin is not accepted: name a file)\n",
                argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    audit_chain_verifier v;
    audit_chain_verifier_init(&v);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (n == 0 || (n == 1 && line[0] == '\n'))
            continue;
        json_error_t jerr;
        json_t *j = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
        Limf__AuditEvent ev;
        uint8_t prev[32], hash[32];
        if (!j || audit_chain_from_json(j, &ev, prev, hash) != LI_OK) {
            printf("BROKEN at line %" PRIu64 ": not an audit event (%s)\n", lineno,
                   j ? "missing or malformed field" : jerr.text);
            json_decref(j);
            rc = 1;
            break;
        }
        if (audit_chain_verifier_feed(&v, &ev) != LI_OK) {
            printf("BROKEN at line %" PRIu64 ": first tampered event index %" PRIu64 ": %s\n",
                   lineno, v.broken_index, v.reason);
            json_decref(j);
            rc = 1;
            break;
        }
        json_decref(j);
    }
    free(line);
    if (ferror(f)) {
        perror(argv[1]);
        rc = 2;
    }
    fclose(f);
    if (rc == 0) {
        char head[65] = "";
        if (v.count)
            for (int i = 0; i < 32; i++)
                snprintf(head + 2 * i, 3, "%02x", v.last_hash[i]);
        printf("OK: %" PRIu64 " events, chain intact, head %s\n", v.count, head);
    }
    return rc;
}
