/* cli.h: subcommand entry points (harness/cmd-*.c) and what they share. */
#pragma once

#include <glib.h>

#include "migmatrix/matrix.h"
#include "migmatrix/scenario.h"
#include "migmatrix/util.h"

typedef int (*MmCommandFunc)(int argc, char **argv);

typedef struct {
    const char *name;
    MmCommandFunc run;
    const char *summary;
} MmCommand;

int mm_cmd_validate(int argc, char **argv);
int mm_cmd_plan(int argc, char **argv);
int mm_cmd_runs(int argc, char **argv);
int mm_cmd_probe(int argc, char **argv);
int mm_cmd_run(int argc, char **argv);
int mm_cmd_report(int argc, char **argv);
int mm_cmd_diff(int argc, char **argv);
int mm_cmd_explain(int argc, char **argv);

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

/* --db if given, else the scenario's [run] db, else results/migmatrix.db. */
const char *mm_cli_db_path(const char *option, const MmScenario *sc);

void mm_cli_usage_error(const char *name, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
