/* cmd-plan.c: `migmatrix plan SCENARIO`: print the cases in run order, with IDs, expectations and
 * N/A reasons. The order printed is the order `run` executes. */
#include <stdio.h>
#include <string.h>

#include "migmatrix/cli.h"
#include "migmatrix/scheduler.h"

int
mm_cmd_plan(int argc, char **argv)
{
    g_autofree char *filter = NULL;
    g_autofree char *format = NULL;
    g_autofree char *shard = NULL;
    guint k = 0, n = 0;
    GOptionEntry entries[] = {
        { "shard", 0, 0, G_OPTION_ARG_STRING, &shard, "Only the cases run --shard K/N would run", "K/N" },
        { "filter", 'f', 0, G_OPTION_ARG_STRING, &filter, "Only cases whose ID matches GLOB", "GLOB" },
        { "format", 0, 0, G_OPTION_ARG_STRING, &format, "Output format: text (default) or json", "FORMAT" },
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(MmScenario) sc = NULL;
    g_autoptr(MmMatrix) m = NULL;
    g_autoptr(GString) out = NULL;

    if (!mm_cli_parse("plan", "SCENARIO", "Print every case the matrix expands to, in run order.", entries, &argc,
                      &argv))
        return MM_EXIT_USAGE;
    if (argc != 2) {
        mm_cli_usage_error("plan", "expected exactly one SCENARIO file");
        return MM_EXIT_USAGE;
    }
    if (format && strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
        mm_cli_usage_error("plan", "--format %s: use text or json", format);
        return MM_EXIT_USAGE;
    }
    if (shard) {
        g_autoptr(GError) err = NULL;

        if (!mm_shard_parse(shard, &k, &n, &err)) {
            mm_cli_usage_error("plan", "--shard %s", err->message);
            return MM_EXIT_USAGE;
        }
    }
    if (!mm_cli_load_matrix(argv[1], filter, &sc, &m))
        return MM_EXIT_USAGE;
    if (shard) {
        guint all = m->cases->len;
        MmShardInfo info;
        g_autoptr(GArray) mine = mm_shard_cases(m->cases, k, n, &info);
        g_autofree bool *keep = g_new0(bool, all);
        g_autofree char *what = NULL;

        for (guint i = 0; i < mine->len; i++)
            keep[g_array_index(mine, guint, i)] = true;
        for (guint i = all; i-- > 0;)
            if (!keep[i])
                g_ptr_array_remove_index(m->cases, i);
        what = mm_shard_describe(k, n, m->cases->len, all, &info);
        fprintf(stderr, "%s\n", what);
    }

    out = g_string_sized_new(64 * m->cases->len + 256);
    if (format && strcmp(format, "json") == 0)
        mm_matrix_format_json(sc, m, out);
    else
        mm_matrix_format_text(m, out);
    fwrite(out->str, 1, out->len, stdout);
    return MM_EXIT_OK;
}
