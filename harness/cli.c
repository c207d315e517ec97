/* cli.c: what the subcommands share: option parsing, scenario loading, error printing. */
#include "migmatrix/cli.h"

#include <stdio.h>

#include "migmatrix/store.h"

static const MmCommand commands[] = {
    { "validate", mm_cmd_validate, "check a scenario file without running anything" },
    { "plan", mm_cmd_plan, "print every case the scenario's matrix expands to" },
    { "run", mm_cmd_run, "run the matrix against the hosts and store every result" },
    { "report", mm_cmd_report, "render a stored run as md, html, csv, json or junit" },
    { "diff", mm_cmd_diff, "compare two runs: new failures, fixes, host drift (the nightly gate)" },
    { "probe", mm_cmd_probe, "record and print what each host's CPU and libvirt offer" },
    { "runs", mm_cmd_runs, "list the runs stored in a results DB" },
    { "explain", mm_cmd_explain, "classify an error message or QEMU log as a run would (triage)" },
    { NULL, NULL, NULL },
};

const MmCommand *
mm_commands(void)
{
    return commands;
}

void
mm_cli_usage_error(const char *name, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "migmatrix %s: %s\nTry 'migmatrix %s --help'.\n", name, msg, name);
}

bool
mm_cli_parse(const char *name, const char *params, const char *summary, GOptionEntry *entries, int *argc,
             char ***argv)
{
    g_autofree char *prog = g_strdup_printf("migmatrix %s", name);
    g_autoptr(GOptionContext) ctx = g_option_context_new(params);
    g_autoptr(GError) err = NULL;

    g_set_prgname(prog);
    g_option_context_set_summary(ctx, summary);
    g_option_context_set_description(ctx, "Exit codes: 0 all as expected, 1 unexpected results, "
                                          "2 usage or input error, 3 infrastructure error.");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, argc, argv, &err)) {
        mm_cli_usage_error(name, "%s", err->message);
        return false;
    }
    return true;
}

MmScenario *
mm_cli_load_scenario(const char *path)
{
    g_autoptr(GPtrArray) problems = mm_problems_new();
    g_autoptr(GString) text = g_string_new(NULL);
    MmScenario *sc = mm_scenario_load(path, problems);

    mm_problems_format(problems, text);
    fputs(text->str, stderr);
    if (!sc)
        fprintf(stderr, "%s: %u error(s); nothing was run\n", path, mm_problems_count(problems, MM_PROBLEM_ERROR));
    return sc;
}

const char *
mm_cli_db_path(const char *option, const MmScenario *sc)
{
    if (option)
        return option;
    if (sc && sc->db)
        return sc->db;
    return MM_DEFAULT_DB;
}

bool
mm_cli_load_matrix(const char *path, const char *filter, MmScenario **sc, MmMatrix **m)
{
    g_autoptr(GPtrArray) problems = mm_problems_new();
    g_autoptr(GString) text = g_string_new(NULL);

    if (!(*sc = mm_cli_load_scenario(path)))
        return false;
    *m = mm_matrix_expand(*sc, filter);
    mm_matrix_check(*sc, *m, filter != NULL, problems);
    mm_problems_format(problems, text);
    fputs(text->str, stderr);
    return mm_problems_count(problems, MM_PROBLEM_ERROR) == 0;
}
