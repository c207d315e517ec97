/* engine.h: one case = one state machine of named phases (engine.c):
 *
 *   prepare → define → start → wait-alive → snapshot → [precheck] → migrate → verify
 *     → [reboot] → [migrate-back → verify-back] → cleanup
 *   a failed migration goes to rollback-check; every path ends in cleanup.
 *
 * Each phase is timed and stored as a step. All per-case state lives in one struct, and the
 * engine keeps no globals, so disjoint host pairs can later run in parallel. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "migmatrix/hosts.h"
#include "migmatrix/matrix.h"
#include "migmatrix/store.h"

/* Everything a case needs from its run, in one options struct. */
typedef struct {
    const MmScenario *sc;
    MmStore *store;
    MmHostPool *pool;
    gint64 run_id;
    /* The run's identity on the hosts (mm_engine_identity): TOKEN names its domains, OWNER
     * ("HOST:PID") is recorded in their metadata. */
    const char *token;
    const char *owner;
    /* Called at the start of every phase, and at its end with its result and duration
     * (progress display); either may be NULL. */
    void (*on_phase)(const MmCase *c, const char *phase, gpointer data);
    void (*on_phase_end)(const MmCase *c, const char *phase, bool ok, gint64 duration_ms, gpointer data);
    gpointer data;
} MmEngineOptions;

typedef struct {
    MmOutcome outcome;
    char *reason;
    char *error_text;
    bool interrupted;        /* stopped by Ctrl-C / SIGTERM: no outcome */
    bool db_failed;          /* a write to the results DB failed (infra-error, SQLite's message) */
    gint64 duration_ms;
} MmCaseResult;

void mm_case_result_clear(MmCaseResult *r);

/* Runs case C (row CASE_ROW in the store) and stores its steps, artifacts and features.
 * The caller stores the final outcome. */
void mm_engine_run_case(const MmEngineOptions *o, const MmCase *c, gint64 case_row, guint index,
                        MmCaseResult *result);

/* A fresh run identity: a random TOKEN (8 hex digits), so runs from different DBs or machines
 * never share a domain name, and OWNER, "HOST:PID" of this process. */
void mm_engine_identity(char **token, char **owner);

/* The libvirt domain name of a case: MM_DOMAIN_PREFIX TOKEN-INDEX-GUEST. */
char *mm_engine_domain_name(const char *token, guint index, const MmCase *c);


