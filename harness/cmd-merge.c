/* cmd-merge.c: `migmatrix merge --db OUT.db IN.db…`: the shard DBs of one split (run --shard
 * K/N on several runners) become one run in OUT, in plan order, so report and diff treat it as
 * one run. Works on stores alone: no scenario, no host. No row is written into the inputs. */
#include <stdio.h>

#include "migmatrix/cli.h"

int
mm_cmd_merge(int argc, char **argv)
{
    g_autofree char *db = NULL;
    GOptionEntry entries[] = {
        { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "The DB to merge into (created if missing; required)", "OUT" },
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) store = NULL;
    g_autoptr(MmRunRecord) rec = NULL;
    g_autoptr(GPtrArray) inputs = g_ptr_array_new();
    gint64 run;

    if (!mm_cli_parse("merge", "IN.db…", "Combine shard DBs (run --shard K/N) into one run of --db OUT.", entries,
                      &argc, &argv))
        return MM_EXIT_USAGE;
    if (!db) {
        mm_cli_usage_error("merge", "give the DB to merge into with --db OUT.db");
        return MM_EXIT_USAGE;
    }
    if (argc < 2) {
        mm_cli_usage_error("merge", "give the shard DBs to merge");
        return MM_EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        g_autofree char *a = g_canonicalize_filename(argv[i], NULL);
        g_autofree char *b = g_canonicalize_filename(db, NULL);

        if (g_strcmp0(a, b) == 0) {
            mm_cli_usage_error("merge", "%s is both an input and --db: merge into a new DB", argv[i]);
            return MM_EXIT_USAGE;
        }
    }
    for (int i = 1; i < argc; i++)
        g_ptr_array_add(inputs, argv[i]);
    g_ptr_array_add(inputs, NULL);
    if (!(store = mm_store_open(db, &err)) || !(run = mm_store_merge(store, (const char *const *)inputs->pdata, &err)) ||
        !(rec = mm_store_run_get(store, run, &err))) {
        fprintf(stderr, "migmatrix merge: %s\n", err->message);
        return mm_exit_for_error(err);
    }
    printf("run %" G_GINT64_FORMAT " in %s: %" G_GINT64_FORMAT " cases of %s from %d shards (%s)\n", run, db,
           rec->n_cases, rec->scenario_path, argc - 1, rec->status);
    return MM_EXIT_OK;
}
