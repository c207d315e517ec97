/* rundiff.h: what changed between two stored runs: per case ID a label, per host the facts
 * that drifted (versions, microcode, CPU model, host-model expansion: often the cause). */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "migmatrix/store.h"

typedef enum {
    MM_DIFF_SAME_PASS,       /* passed in both: not listed */
    MM_DIFF_NEW_FAIL,        /* passed in A, fails in B */
    MM_DIFF_FIXED,           /* failed in A, passes in B */
    MM_DIFF_STILL_SAME,      /* still-failing, same reason */
    MM_DIFF_STILL_CHANGED,   /* still-failing, reason changed */
    MM_DIFF_NEW_CASE,
    MM_DIFF_GONE,
    MM_DIFF_NOT_RUN,         /* no outcome in B: the run is unfinished */
} MmDiffLabel;

const char *mm_diff_label_name(MmDiffLabel l);

typedef struct {
    char *case_id;
    MmDiffLabel label;
    char *a;                 /* "outcome: reason" in A, NULL if absent */
    char *b;
    bool b_unexpected;
} MmCaseDiff;

typedef struct {
    char *host;
    char *fact;
    char *a;
    char *b;
} MmHostDrift;

/* A case B got otherwise than predicted, and A did not (or A had no prediction). */
typedef struct {
    char *case_id;
    char *predicted;         /* B's prediction, with its rule: "pass (migrate/host-model-subset)" */
    char *got;               /* B's "outcome: reason" */
} MmMisprediction;

typedef struct {
    gint64 run_a, run_b;
    GPtrArray *mispredictions; /* MmMisprediction*, new in B: findings, not gated */
    GPtrArray *cases;        /* MmCaseDiff*, B's order, then cases gone */
    GPtrArray *drift;        /* MmHostDrift* */
    guint counts[MM_DIFF_NOT_RUN + 1];
    guint unexpected_b;
    /* An unfinished run cannot pass the gate: running or interrupted, or cases without an
     * outcome (in A: the baseline is incomplete; in B: MM_DIFF_NOT_RUN). */
    MmRunRecord *a, *b;
    guint not_run_a;
    bool incomplete;
    /* Both runs name their scenario's hash (files and includes) and the hashes differ: a case ID
     * may stand for another CPU or guest than it did (a rewritten [cpu:BASELINE]). Told, not
     * gated: a changed matrix is what new-case and gone are for. */
    bool scenario_changed;
} MmRunDiff;

void mm_run_diff_free(MmRunDiff *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmRunDiff, mm_run_diff_free)

MmRunDiff *mm_run_diff(MmStore *store, gint64 a, gint64 b, GError **error);
/* "run 3 is running, 5 of its 8 cases have no outcome; …", or NULL when both runs are finished. */
char *mm_run_diff_incomplete_text(const MmRunDiff *d);
/* NULL unless the scenario's hash changed between the runs. */
char *mm_run_diff_scenario_text(const MmRunDiff *d);
void mm_run_diff_text(const MmRunDiff *d, bool markdown, GString *out);
void mm_run_diff_json(const MmRunDiff *d, GString *out);
