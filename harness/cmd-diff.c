/* cmd-diff.c: `migmatrix diff RUN_A RUN_B`: what changed since last night. Exit 1 when any
 * case newly fails or any outcome in B is unexpected: that is the nightly gate. A run that is
 * unfinished (running, interrupted, cases without an outcome) never passes it: exit 4. */
#include <stdio.h>
#include <string.h>

#include "migmatrix/cli.h"
#include "migmatrix/rundiff.h"

int
mm_cmd_diff(int argc, char **argv)
{
    g_autofree char *db = NULL;
    g_autofree char *scenario = NULL;
    g_autofree char *format = NULL;
    GOptionEntry entries[] = {
        { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Results DB (default: $MIGMATRIX_DB, the --scenario's [run] db, "
          MM_DEFAULT_DB ")", "PATH" },
        { "scenario", 0, 0, G_OPTION_ARG_FILENAME, &scenario, "Take the DB from this scenario's [run] db", "FILE" },
        { "format", 0, 0, G_OPTION_ARG_STRING, &format, "text (default), md or json", "FORMAT" },
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) store = NULL;
    g_autoptr(MmRunDiff) d = NULL;
    g_autoptr(MmRunRecord) ra = NULL;
    g_autoptr(MmRunRecord) rb = NULL;
    g_autoptr(GString) out = g_string_new(NULL);
    gint64 a, b;
    int rc = 0;
    char *end;

    if (!mm_cli_parse("diff", "RUN_A RUN_B",
                      "Compare two runs: new-fail, fixed, still-failing, new-case, gone, and host drift.", entries,
                      &argc, &argv))
        return MM_EXIT_USAGE;
    if (argc != 3) {
        mm_cli_usage_error("diff", "expected two run IDs (see `migmatrix runs`)");
        return MM_EXIT_USAGE;
    }
    a = g_ascii_strtoll(argv[1], &end, 10);
    if (*end || a <= 0 || (b = g_ascii_strtoll(argv[2], &end, 10), *end) || b <= 0) {
        mm_cli_usage_error("diff", "run IDs are positive numbers, as `migmatrix runs` lists them");
        return MM_EXIT_USAGE;
    }
    if (format && strcmp(format, "text") && strcmp(format, "md") && strcmp(format, "json")) {
        mm_cli_usage_error("diff", "--format %s: use text, md or json", format);
        return MM_EXIT_USAGE;
    }
    if (!(store = mm_cli_open_results("diff", db, scenario, &rc)) || !(ra = mm_cli_matrix_run("diff", store, a, &rc)) ||
        !(rb = mm_cli_matrix_run("diff", store, b, &rc)))
        return rc;
    if (!(d = mm_run_diff(store, a, b, &err))) {
        fprintf(stderr, "migmatrix diff: %s\n", err->message);
        return MM_EXIT_INFRA;
    }
    if (format && strcmp(format, "json") == 0)
        mm_run_diff_json(d, out);
    else
        mm_run_diff_text(d, format && strcmp(format, "md") == 0, out);
    fwrite(out->str, 1, out->len, stdout);
    if (d->incomplete) {
        g_autofree char *why = mm_run_diff_incomplete_text(d);
        fprintf(stderr, "migmatrix diff: %s (exit 4)\n", why);
        return MM_EXIT_INCOMPLETE;
    }
    return d->counts[MM_DIFF_NEW_FAIL] || d->unexpected_b ? MM_EXIT_UNEXPECTED : MM_EXIT_OK;
}
