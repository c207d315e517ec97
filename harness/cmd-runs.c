/* cmd-runs.c: `migmatrix runs`: list the runs stored in a results DB, newest first. */
#include <stdio.h>

#include "migmatrix/cli.h"
#include "migmatrix/store.h"

int
mm_cmd_runs(int argc, char **argv)
{
    g_autofree char *db = NULL;
    GOptionEntry entries[] = {
        { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Results DB (default " MM_DEFAULT_DB ")", "PATH" },
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) store = NULL;
    g_autoptr(GPtrArray) runs = NULL;
    const char *path;

    if (!mm_cli_parse("runs", "", "List the runs stored in a results DB, newest first.", entries, &argc, &argv))
        return MM_EXIT_USAGE;
    if (argc != 1) {
        mm_cli_usage_error("runs", "unexpected argument '%s'", argv[1]);
        return MM_EXIT_USAGE;
    }
    path = db ? db : MM_DEFAULT_DB;
    /* Listing must not create a DB as a side effect of a typo in --db. */
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        fprintf(stderr, "migmatrix runs: no results DB at %s; run a scenario first or pass --db PATH\n", path);
        return MM_EXIT_USAGE;
    }
    if (!(store = mm_store_open(path, &err)) || !(runs = mm_store_runs_list(store, &err))) {
        fprintf(stderr, "migmatrix runs: %s\n", err->message);
        return MM_EXIT_INFRA;
    }
    if (runs->len == 0) {
        printf("%s: no runs stored\n", path);
        return MM_EXIT_OK;
    }
    printf("%-5s %-6s %-12s %-24s %-24s %6s %10s  %s\n", "RUN", "KIND", "STATUS", "STARTED", "ENDED", "CASES",
           "UNEXPECTED", "SCENARIO");
    for (guint i = 0; i < runs->len; i++) {
        const MmRunRecord *r = runs->pdata[i];

        printf("%-5" G_GINT64_FORMAT " %-6s %-12s %-24s %-24s %6" G_GINT64_FORMAT " %10" G_GINT64_FORMAT "  %s%s%s%s\n",
               r->id, r->kind, r->status, r->started_at, r->ended_at ? r->ended_at : "-", r->n_cases, r->n_unexpected,
               r->scenario_path, r->name ? " (" : "", r->name ? r->name : "", r->name ? ")" : "");
    }
    return MM_EXIT_OK;
}
