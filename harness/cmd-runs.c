/* cmd-runs.c: `migmatrix runs`: list the runs stored in a results DB, newest first. */
#include <stdio.h>

#include "migmatrix/cli.h"
#include "migmatrix/report.h"
#include "migmatrix/store.h"

int
mm_cmd_runs(int argc, char **argv)
{
    g_autofree char *db = NULL;
    g_autofree char *scenario = NULL;
    GOptionEntry entries[] = {
        { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Results DB (default: $MIGMATRIX_DB, the --scenario's [run] db, "
          MM_DEFAULT_DB ")", "PATH" },
        { "scenario", 0, 0, G_OPTION_ARG_FILENAME, &scenario, "Take the DB from this scenario's [run] db", "FILE" },
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) store = NULL;
    g_autoptr(GPtrArray) runs = NULL;
    int rc = 0;

    if (!mm_cli_parse("runs", "", "List the runs stored in a results DB, newest first.", entries, &argc, &argv))
        return MM_EXIT_USAGE;
    if (argc != 1) {
        mm_cli_usage_error("runs", "unexpected argument '%s'", argv[1]);
        return MM_EXIT_USAGE;
    }
    /* Listing must not create a DB as a side effect of a typo in --db. */
    if (!(store = mm_cli_open_results("runs", db, scenario, &rc)))
        return rc;
    if (!(runs = mm_store_runs_list(store, &err))) {
        fprintf(stderr, "migmatrix runs: %s\n", err->message);
        return MM_EXIT_INFRA;
    }
    if (runs->len == 0) {
        printf("%s: no runs stored\n", mm_store_path(store));
        return MM_EXIT_OK;
    }
    /* KIND: run (a matrix run: diff and report take it), probe or import (host facts only). */
    printf("%-5s %-6s %-12s %-24s %-24s %6s %7s %10s  %s\n", "RUN", "KIND", "STATUS", "STARTED", "ENDED", "CASES",
           "NOT-RUN", "UNEXPECTED", "SCENARIO");
    for (guint i = 0; i < runs->len; i++) {
        const MmRunRecord *r = runs->pdata[i];
        g_autofree char *origin = mm_run_origin_text(r);

        printf("%-5" G_GINT64_FORMAT " %-6s %-12s %-24s %-24s %6" G_GINT64_FORMAT " %7" G_GINT64_FORMAT
               " %10" G_GINT64_FORMAT "  %s%s%s%s%s%s%s%s%s%s\n",
               r->id, r->kind, r->status, r->started_at, r->ended_at ? r->ended_at : "-", r->n_cases, r->n_not_run,
               r->n_unexpected, r->scenario_path, r->name ? " (" : "", r->name ? r->name : "", r->name ? ")" : "",
               r->filter ? " [filtered: --filter " : "", r->filter ? r->filter : "", r->filter ? "]" : "",
               origin ? " [" : "", origin ? origin : "", origin ? "]" : "");
    }
    return MM_EXIT_OK;
}
