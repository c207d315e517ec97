/* predict.h: the expected outcome of each case, from the hosts' dossiers alone.
 *
 * No host is reached and no DB is read here: the caller hands over each host's dossier (the
 * facts `probe` or `probe --import` recorded). The rules are one table in predict.c, each
 * with the libvirt behaviour it encodes; where a rule needs CPU logic it asks libvirt's own
 * (cpumodel.h). A case whose verdict would depend on a missing or stale dossier, or on a fact
 * the dossier lacks, is predicted `unknown`, with the reason: never guessed. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "migmatrix/matrix.h"
#include "migmatrix/outcome.h"

typedef struct {
    char *host;
    GHashTable *facts;       /* owned; NULL when no dossier was recorded */
    gint64 run_id;           /* the probe or import run it came from */
    char *recorded_at;       /* ISO 8601, UTC */
    char *stale;             /* why it is not trusted (too old, libvirt changed since), or NULL */
} MmDossier;

void mm_dossier_free(MmDossier *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmDossier, mm_dossier_free)

typedef struct {
    bool unknown;            /* no verdict: REASON says what is missing */
    MmOutcome outcome;       /* when not unknown */
    const char *rule;        /* the rule that decided, e.g. "migrate/host-model-subset" */
    const char *stage;       /* start, migrate, reboot, migrate-back */
    char *reason;            /* short, for the cell */
    GPtrArray *lost;         /* cpu-changed: the features the guest would lose (char*), else NULL */
} MmPrediction;

void mm_prediction_clear(MmPrediction *p);

typedef struct _MmPredictor MmPredictor;

/* DOSSIERS: host name → MmDossier* (borrowed; hosts without one may be absent). */
MmPredictor *mm_predictor_new(GHashTable *dossiers);
void mm_predictor_free(MmPredictor *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmPredictor, mm_predictor_free)

void mm_predict_case(MmPredictor *p, const MmCase *c, MmPrediction *out);

/* Appends to OUT (once each, borrowed from C) the custom models whose live CPU on C's two hosts
 * (VT.live_cpu facts, mm_probe_live_cpus) a move of C is predicted from: under TCG, a plain
 * model the move's origin's QEMU blocks and its destination's does not (the first move, and the
 * move back after a hard reboot). Pure: the facts are the two hosts' just probed. */
void mm_predict_live_cpu_models(const MmCase *c, GHashTable *src_facts, GHashTable *dst_facts, GPtrArray *out);

/* The rules, in the order they are tried, for docs and `predict --rules`. */
typedef struct {
    const char *id;
    const char *says;        /* what it checks, one line */
    const char *source;      /* the libvirt / QEMU behaviour it encodes */
} MmPredictRule;
const MmPredictRule *mm_predict_rules(guint *n);
