/* cli.h: subcommand entry points (harness/cmd-*.c) and what they share. */
#pragma once

#include <glib.h>

#include "migmatrix/matrix.h"
#include "migmatrix/scenario.h"
#include "migmatrix/store.h"
#include "migmatrix/preflight.h"
#include "migmatrix/util.h"

typedef int (*MmCommandFunc)(int argc, char **argv);

typedef struct {
    const char *name;
    MmCommandFunc run;
    const char *summary;
    const char *exits;       /* its exit codes, for --help */
} MmCommand;

int mm_cmd_validate(int argc, char **argv);
int mm_cmd_plan(int argc, char **argv);
int mm_cmd_runs(int argc, char **argv);
int mm_cmd_probe(int argc, char **argv);
int mm_cmd_run(int argc, char **argv);
int mm_cmd_report(int argc, char **argv);
int mm_cmd_diff(int argc, char **argv);
int mm_cmd_explain(int argc, char **argv);
int mm_cmd_merge(int argc, char **argv);
int mm_cmd_predict(int argc, char **argv);
int mm_cmd_baseline(int argc, char **argv);

/* NULL-terminated table, in the order `migmatrix --help` lists them. */
const MmCommand *mm_commands(void);

/* Parses ARGV with ENTRIES for "migmatrix NAME PARAMS"; prints the error and returns
 * false on bad usage. */
bool mm_cli_parse(const char *name, const char *params, const char *summary, GOptionEntry *entries,
                  int *argc, char ***argv);

/* Loads SCENARIO and prints every problem to stderr. NULL means exit 2. */
MmScenario *mm_cli_load_scenario(const char *path);
/* Loads SCENARIO, expands its matrix (FILTER may be NULL) and prints every problem, the
 * plan-level ones too. False means exit 2. */
bool mm_cli_load_matrix(const char *path, const char *filter, MmScenario **sc, MmMatrix **m);

/* The preflight against the hosts (preflight.h), every problem printed to stderr with a
 * summary line. Returns the number of errors; STATS says what was checked. */
guint mm_cli_preflight(const char *name, const MmScenario *sc, const MmMatrix *m, struct _MmHostPool *pool,
                       MmPreflightStats *stats);

/* The results DB, by one chain: --db OPTION, then $MIGMATRIX_DB, then SC's [run] db, then
 * results/migmatrix.db. */
const char *mm_cli_db_path(const char *option, const MmScenario *sc);
/* For the commands that only read a DB (report, runs, diff): the chain above, with SCENARIO
 * the --scenario file (may be NULL) for its [run] db. Refuses a DB that does not exist (a typo
 * must not create one). NULL with the error printed and *RC set to the exit code. */
MmStore *mm_cli_open_results(const char *name, const char *option, const char *scenario, int *rc);
/* Run RUN_ID of STORE if it is a matrix run; a probe or import record is refused (exit 2). */
MmRunRecord *mm_cli_matrix_run(const char *name, MmStore *store, gint64 run_id, int *rc);

/* Each scenario host's newest dossier in STORE (NULL: no DB yet), as host name → MmDossier*:
 * stale when older than MAX_AGE_DAYS or when the host has since reported another libvirt. */
/* The age past which a dossier is stale, unless `predict --max-age` says otherwise; `run` stores
 * its predictions with it. */
#define MM_DOSSIER_MAX_AGE_DAYS 30

GHashTable *mm_cli_load_dossiers(MmStore *store, const MmScenario *sc, guint max_age_days, GError **error);
void mm_cli_usage_error(const char *name, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
