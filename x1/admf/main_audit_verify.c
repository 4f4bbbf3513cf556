/* limf-audit-verify: checks an exported audit file (GET /v1/audit?format=jsonl, one event
 * per line) offline under the audit keys, anchored at checkpoints the auditor kept
 * (GET /v1/audit/checkpoint), and names the first event that fails.
 *
 *   limf-audit-verify --key KEYFILE [--key OLDKEYFILE ...] [--anchor CHECKPOINT.json ...]
 *                     EXPORT.jsonl
 *
 * The file starts at event 0, or its first line is the ADMF's signed checkpoint of the
 * event before its first (exports of the newest events, or from a cursor). Without an
 * anchor nothing proves that the newest events are all there; with one, the file must
 * reach the checkpoint's event with the checkpoint's hash (or start right after it).
 * Exit status: 0 intact, 1 broken (first failing event printed), 2 usage or I/O error. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_chain.h"

static int usage(const char *prog)
{
    fprintf(stderr, "usage: %s --key KEYFILE [--key KEYFILE ...] [--anchor CHECKPOINT.json ...] "
            "AUDIT.jsonl\n", prog);
    return 2;
}

/* Reads a checkpoint file (the JSON of GET /v1/audit/checkpoint). */
static int load_anchor(const char *path, audit_checkpoint *cp)
{
    json_error_t jerr;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    int ok = j && audit_checkpoint_from_json(j, cp) == LI_OK;
    if (!ok)
        fprintf(stderr, "%s: not a checkpoint (%s)\n", path, j ? "missing or malformed field"
                                                               : jerr.text);
    json_decref(j);
    return ok;
}

/* Feeds the file's events; 0 intact so far, 1 broken, 2 I/O error. */
static int feed_file(FILE *f, const char *path, audit_chain_verifier *v)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (n == 0 || (n == 1 && line[0] == '\n'))
            continue;
        json_error_t jerr;
        json_t *j = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
        json_t *start = json_object_get(j, "checkpoint");
        Limf__AuditEvent ev;
        uint8_t prev[32], hash[32];
        audit_checkpoint cp;
        if (start && lineno == 1) {
            /* An export that does not start at event 0 opens with the ADMF's checkpoint
             * of the event before its first. */
            if (audit_checkpoint_from_json(start, &cp) != LI_OK ||
                audit_chain_verifier_anchor(v, &cp) != LI_OK) {
                printf("BROKEN at line 1: the export's start checkpoint is not valid\n");
                rc = 1;
            }
        } else if (!j || audit_chain_from_json(j, &ev, prev, hash) != LI_OK) {
            printf("BROKEN at line %" PRIu64 ": not an audit event (%s)\n", lineno,
                   j ? "missing or malformed field" : jerr.text);
            rc = 1;
        } else if (audit_chain_verifier_feed(v, &ev) != LI_OK) {
            printf("BROKEN at line %" PRIu64 ": first failing event index %" PRIu64 ": %s\n",
                   lineno, v->broken_index, v->reason);
            rc = 1;
        }
        json_decref(j);
    }
    free(line);
    if (ferror(f)) {
        perror(path);
        rc = 2;
    }
    return rc;
}

int main(int argc, char **argv)
{
    static audit_chain_key keys[AUDIT_CHAIN_MAX_KEYS];
    static audit_checkpoint anchors[AUDIT_CHAIN_MAX_ANCHORS];
    size_t n_keys = 0, n_anchors = 0;
    const char *file = NULL;
    char errstr[256];
    for (int i = 1; i < argc; i++) {
        int is_key = strcmp(argv[i], "--key") == 0, is_anchor = strcmp(argv[i], "--anchor") == 0;
        if ((is_key || is_anchor) && i + 1 < argc) {
            const char *path = argv[++i];
            if (is_key && n_keys < AUDIT_CHAIN_MAX_KEYS) {
                if (audit_chain_key_load(path, &keys[n_keys++], errstr, sizeof errstr) != LI_OK) {
                    fprintf(stderr, "%s\n", errstr);
                    return 2;
                }
            } else if (is_anchor && n_anchors < AUDIT_CHAIN_MAX_ANCHORS) {
                if (!load_anchor(path, &anchors[n_anchors++]))
                    return 2;
            } else {
                return usage(argv[0]);
            }
        } else if (argv[i][0] != '-' && !file) {
            file = argv[i];
        } else {
            return usage(argv[0]);
        }
    }
    if (!file || n_keys == 0)
        return usage(argv[0]);
    audit_chain_verifier v;
    audit_chain_verifier_init(&v, keys, n_keys);
    for (size_t i = 0; i < n_anchors; i++)
        if (audit_chain_verifier_anchor(&v, &anchors[i]) != LI_OK) {
            printf("BROKEN: %s\n", v.reason);
            return 1;
        }
    FILE *f = fopen(file, "r");
    if (!f) {
        perror(file);
        return 2;
    }
    int rc = feed_file(f, file, &v);
    fclose(f);
    if (rc == 0 && audit_chain_verifier_finish(&v) != LI_OK) {
        printf("BROKEN after the last line: first failing event index %" PRIu64 ": %s\n",
               v.broken_index, v.reason);
        rc = 1;
    }
    if (rc == 0) {
        char head[65] = "";
        if (v.count)
            for (int i = 0; i < 32; i++)
                snprintf(head + 2 * i, 3, "%02x", v.last_hash[i]);
        printf("OK: %" PRIu64 " events from index %" PRIu64 ", chain intact, %zu checkpoint(s) "
               "reached, head %s\n", v.count, v.first_index, n_anchors, head);
    }
    return rc;
}
