/* cmd-report.c: `migmatrix report`: render a stored run as Markdown, HTML, CSV, JSON or JUnit.
 * Reads only the DB: it works on a copied file with no lab anywhere. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "migmatrix/cli.h"
#include "migmatrix/report.h"

/* The newest run of kind "run" (probe and import runs have no cases). */
static gint64
latest_run(MmStore *store, GError **error)
{
    g_autoptr(GPtrArray) runs = mm_store_runs_list(store, error);

    for (guint i = 0; runs && i < runs->len; i++)
        if (g_strcmp0(((MmRunRecord *)runs->pdata[i])->kind, "run") == 0)
            return ((MmRunRecord *)runs->pdata[i])->id;
    if (runs)
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "%s holds no matrix run yet; `migmatrix run` makes one",
                    mm_store_path(store));
    return 0;
}

int
mm_cmd_report(int argc, char **argv)
{
    g_autofree char *db = NULL;
    g_autofree char *scenario = NULL;
    g_autofree char *format = NULL;
    g_autofree char *outpath = NULL;
    gint64 run = 0;
    gboolean latest = FALSE;
    int history = 0;
    GOptionEntry entries[] = {
        { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Results DB (default: $MIGMATRIX_DB, the --scenario's [run] db, "
          MM_DEFAULT_DB ")", "PATH" },
        { "scenario", 0, 0, G_OPTION_ARG_FILENAME, &scenario, "Take the DB from this scenario's [run] db", "FILE" },
        { "run", 0, 0, G_OPTION_ARG_INT64, &run, "The run to report (see `migmatrix runs`)", "ID" },
        { "latest", 0, 0, G_OPTION_ARG_NONE, &latest, "The newest matrix run (the default)", NULL },
        { "format", 0, 0, G_OPTION_ARG_STRING, &format, "md (default), html, csv, json or junit", "FORMAT" },
        { "out", 'o', 0, G_OPTION_ARG_FILENAME, &outpath, "Write to FILE instead of standard output", "FILE" },
        { "history", 0, 0, G_OPTION_ARG_INT, &history,
          "Add each cell's pass rate over the last N runs of the same scenario, and mark flaky cells", "N" },
        G_OPTION_ENTRY_NULL,
    };
    static const char *const formats[] = { "md", "html", "csv", "json", "junit", NULL };
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) store = NULL;
    g_autoptr(MmReport) r = NULL;
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(MmRunRecord) rec = NULL;
    int rc = 0;

    if (!mm_cli_parse("report", "", "Render a stored run: host table, migration matrix per guest and mode, notes.",
                      entries, &argc, &argv))
        return MM_EXIT_USAGE;
    if (argc != 1) {
        mm_cli_usage_error("report", "unexpected argument '%s'", argv[1]);
        return MM_EXIT_USAGE;
    }
    if (!format)
        format = g_strdup("md");
    if (!g_strv_contains(formats, format)) {
        mm_cli_usage_error("report", "--format %s: use md, html, csv, json or junit", format);
        return MM_EXIT_USAGE;
    }
    if (run && latest) {
        mm_cli_usage_error("report", "give --run ID or --latest, not both");
        return MM_EXIT_USAGE;
    }
    if (history < 0 || history > 1000) {
        mm_cli_usage_error("report", "--history %d: give a number of runs from 1 to 1000", history);
        return MM_EXIT_USAGE;
    }
    if (!(store = mm_cli_open_results("report", db, scenario, &rc)))
        return rc;
    if (!run && !(run = latest_run(store, &err))) {
        fprintf(stderr, "migmatrix report: %s\n", err->message);
        return mm_exit_for_error(err);
    }
    /* A probe or import record has host facts and no cases: not a report. */
    if (!(rec = mm_cli_matrix_run("report", store, run, &rc)))
        return rc;
    if (!(r = mm_report_load(store, run, &err)) || (history && !mm_report_load_history(r, store, history, &err))) {
        fprintf(stderr, "migmatrix report: %s\n", err->message);
        return mm_exit_for_error(err);
    }
    {
        g_autofree char *tmp = outpath ? g_strdup_printf("%s.tmp", outpath) : NULL;
        FILE *f = outpath ? fopen(tmp, "w") : stdout;

        if (!f) {
            fprintf(stderr, "migmatrix report: cannot write %s: %s\n", tmp, g_strerror(errno));
            return MM_EXIT_INFRA;
        }
        r->sink = f;
        if (strcmp(format, "md") == 0)
            mm_report_markdown(r, out);
        else if (strcmp(format, "html") == 0)
            mm_report_html(r, out);
        else if (strcmp(format, "csv") == 0)
            mm_report_csv(r, out);
        else if (strcmp(format, "json") == 0)
            mm_report_json(r, out);
        else if (!mm_report_junit(r, out, &err)) {
            fprintf(stderr, "migmatrix report: %s\n", err->message);
            return MM_EXIT_INFRA;
        }
        mm_report_flush(r, out, true);
        if (!mm_report_check(r, &err)) {
            fprintf(stderr, "migmatrix report: %s\n", err->message);
            if (outpath) {
                fclose(f);
                unlink(tmp);
            }
            return MM_EXIT_INFRA;
        }
        /* Written in full, then renamed: a reader (Jenkins, a browser) never sees half a file. */
        if (outpath) {
            if (fclose(f) != 0 || rename(tmp, outpath) != 0) {
                fprintf(stderr, "migmatrix report: cannot write %s: %s\n", outpath, g_strerror(errno));
                return MM_EXIT_INFRA;
            }
            fprintf(stderr, "wrote %s (run %" G_GINT64_FORMAT ", %s)\n", outpath, run, format);
        }
    }
    return MM_EXIT_OK;
}
