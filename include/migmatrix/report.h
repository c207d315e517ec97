/* report.h: a stored run, as the reports need it. Reads only the store (so a copied DB file
 * renders anywhere, no lab needed); each format is its own file (report-*.c). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

#include "migmatrix/hosttable.h"
#include "migmatrix/outcome.h"
#include "migmatrix/store.h"

typedef struct {
    MmCaseRecord *rec;       /* owned */
    GPtrArray *features;     /* "kind:feature" (kinds: missing, extra, required, forbidden, lost, gained) */
    GPtrArray *migrations;   /* MmMigrationRecord*: job statistics of each attempt, in order */
    char *xml_diff;          /* migration's XML changes, NULL if none */
    char *reboot_mode;       /* the node's mode the guest took at hard reboot */
    char *reboot_diff;
    char *precheck;          /* the CPU compare verdict, if any */
    char *console_tail;
    int footnote;            /* 1-based, 0 when the cell needs none */
    guint hist_runs;         /* with --history: runs in which the case ran */
    guint hist_passes;
    guint hist_flips;        /* outcome changes between consecutive runs */
    bool asymmetric;         /* the reverse pair passed/failed the other way */
} MmReportCase;

typedef struct {
    char *guest;
    char *mode;
    GPtrArray *cases;        /* MmReportCase* (borrowed) of this guest and mode */
} MmReportGrid;

typedef struct {
    MmRunRecord *run;
    GPtrArray *hosts;        /* host names in order of first appearance (src, then dst) */
    GPtrArray *host_rows;    /* MmHostRow*, with facts from the run's snapshot */
    GPtrArray *cases;        /* MmReportCase*, plan order */
    GPtrArray *grids;        /* MmReportGrid*, in order of first appearance */
    GHashTable *by_id;       /* case_id → MmReportCase* */
    guint counts[MM_OUTCOME_LAST]; /* per outcome */
    guint unexpected;
    guint expected;
    guint not_run;
    guint mispredicted;      /* cases whose outcome went against their stored prediction */
    guint history;           /* N of --history, 0 when off */
    FILE *sink;              /* set: the formats write out in chunks as they go (large runs) */
    MmStore *store;          /* borrowed, for steps read while writing */
    struct _MmStepCursor *steps_cursor;
    gint64 steps_last_row;
    GError *steps_error;     /* the first read of steps that failed: the report is incomplete */
    bool prediction;         /* `predict`: outcomes foreseen from dossiers, nothing ran; no store */
} MmReport;

/* STORE must outlive the report: JSON and HTML read each case's steps from it as they write. */
MmReport *mm_report_load(MmStore *store, gint64 run_id, GError **error);
/* A prediction, for the same renderers: RUN and RECS (MmCaseRecord*, their outcomes predicted;
 * outcome NULL with state "unknown" when there is no verdict) are taken; FEATURES maps a case
 * row (gint64) to its "kind:feature" strings, HOST_FACTS a host to its dossier's facts (both
 * borrowed, may lack entries). */
MmReport *mm_report_new_prediction(MmRunRecord *run, GPtrArray *recs, GHashTable *features, GHashTable *host_facts);
/* C's steps. Cases must be asked for in report order (a cursor walks the steps once). */
GPtrArray *mm_report_steps(MmReport *r, const MmReportCase *c);
/* False, with the error, when a read of steps failed while the report was written: the
 * output then lacks steps and must not be taken as complete. */
bool mm_report_check(const MmReport *r, GError **error);

/* Where a run came from, for every output that names it: "rerun of run 12 (its failed
 * cases)", "shard 2/4 of the matrix", "merged from 4 shard DBs", "resumed 1 time after its
 * runner stopped"; NULL for a plain run. */
char *mm_run_origin_text(const MmRunRecord *run);
/* Moves OUT's text to r->sink once it holds a chunk's worth (no-op without a sink). */
void mm_report_flush(const MmReport *r, GString *out, bool all);
void mm_report_free(MmReport *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmReport, mm_report_free)

/* Pass rates and flips over the last N runs of the same scenario. */
bool mm_report_load_history(MmReport *r, MmStore *store, guint n, GError **error);
/* Flipped at least once in the history window. */
bool mm_report_case_flaky(const MmReportCase *c);
/* [expect] said flaky. */
bool mm_report_case_known_flaky(const MmReportCase *c);

/* The case SRC>DST in GRID, or NULL. */
MmReportCase *mm_report_cell(const MmReportGrid *grid, const char *src, const char *dst);
/* Short cell text: "✓", "✗ reason", "hang", "N/A: reason", "not run". */
char *mm_report_cell_text(const MmReportCase *c);
/* "0.92 s, downtime 225 ms": the case's first migration attempt; NULL when nothing was measured. */
char *mm_report_timing(const MmReportCase *c);
/* Every attempt: "migrate: ok, 0.92 s, downtime 225 ms, 89 MiB, post-copy after 608 ms
 * (completed statistics); migrate-back: …"; NULL when there was none. */
char *mm_report_migrations_text(const MmReportCase *c);
/* The features of KIND ("lost", "gained", …), joined with ", "; NULL when none. */
char *mm_report_features_of(const MmReportCase *c, const char *kind);
/* pass, fail, hang, na, notrun, unknown (a prediction without a verdict): for colours and filters. */
const char *mm_report_cell_class(const MmReportCase *c);

void mm_report_markdown(const MmReport *r, GString *out);
void mm_report_csv(const MmReport *r, GString *out);
void mm_report_json(MmReport *r, GString *out);
bool mm_report_junit(const MmReport *r, GString *out, GError **error);
void mm_report_html(MmReport *r, GString *out);
