/* cli.c: what the subcommands share: option parsing, scenario loading, error printing. */
#include "migmatrix/cli.h"

#include <stdio.h>

#include "migmatrix/predict.h"
#include "migmatrix/store.h"

static const MmCommand commands[] = {
    { "validate", mm_cmd_validate, "check a scenario file without running anything",
      "0 valid (warnings allowed), 2 errors in the scenario (with --hosts: or on the hosts), 3 a host could not be "
      "reached (--hosts)." },
    { "plan", mm_cmd_plan, "print every case the scenario's matrix expands to",
      "0 printed, 2 errors in the scenario or usage." },
    { "run", mm_cmd_run, "run the matrix against the hosts and store every result",
      "0 all as expected, 1 unexpected results, 2 usage or input error (nothing was run), 3 infrastructure error "
      "(a host, the lab or the DB), 130 interrupted." },
    { "report", mm_cmd_report, "render a stored run as md, html, csv, json or junit",
      "0 written, 2 usage error, no such DB or run, or not a matrix run, 3 the DB cannot be read or the file written." },
    { "diff", mm_cmd_diff, "compare two runs: new failures, fixes, host drift (the nightly gate)",
      "0 no new failure and nothing unexpected in RUN_B, 1 a new failure or an unexpected result in RUN_B, 2 usage "
      "error, no such DB or run, or not a matrix run, 3 the DB cannot be read, 4 a run is unfinished (running, "
      "interrupted, or cases without an outcome): the comparison is incomplete." },
    { "probe", mm_cmd_probe, "record and print what each host's CPU and libvirt offer",
      "0 every host probed, 2 usage or input error, 3 a host could not be probed (the others are stored)." },
    { "merge", mm_cmd_merge, "combine the DBs of run --shard K/N into one run (reports and diff see one run)",
      "0 merged, 2 usage error, or shards that do not belong together (another scenario, hash or split, a shard "
      "twice or missing), 3 a DB cannot be read or written." },
    { "predict", mm_cmd_predict, "foresee every case's outcome from the hosts' recorded dossiers (no host touched)",
      "0 predicted (cells without a dossier say unknown), 2 usage or input error, 3 the DB cannot be read." },
    { "baseline", mm_cmd_baseline, "the custom CPU every named host can run, from their dossiers (libvirt's baseline)",
      "0 printed, 2 usage error, a host without a dossier, or hosts with no common model (arch or vendor differ), "
      "3 the DB cannot be read." },
    { "runs", mm_cmd_runs, "list the runs stored in a results DB",
      "0 listed, 2 usage error or no such DB, 3 the DB cannot be read." },
    { "explain", mm_cmd_explain, "classify an error message or QEMU log as a run would (triage)",
      "0 classified, 1 the reason is other (no rule matched), 2 usage error." },
    { NULL, NULL, NULL, NULL },
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

    g_autofree char *exits = NULL;

    for (const MmCommand *c = commands; c->name; c++)
        if (g_str_equal(c->name, name))
            exits = g_strdup_printf("Exit codes: %s", c->exits);
    g_set_prgname(prog);
    g_option_context_set_summary(ctx, summary);
    if (exits)
        g_option_context_set_description(ctx, exits);
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
    const char *env = g_getenv("MIGMATRIX_DB");

    if (option)
        return option;
    if (env && *env)
        return env;
    if (sc && sc->db)
        return sc->db;
    return MM_DEFAULT_DB;
}

guint
mm_cli_preflight(const char *name, const MmScenario *sc, const MmMatrix *m, MmHostPool *pool,
                 MmPreflightStats *stats)
{
    g_autoptr(GPtrArray) problems = mm_problems_new();
    g_autoptr(GString) text = g_string_new(NULL);
    guint errors;

    mm_preflight(sc, m, pool, problems, stats);
    mm_problems_format(problems, text);
    fputs(text->str, stderr);
    errors = mm_problems_count(problems, MM_PROBLEM_ERROR);
    {
        g_autofree char *hosts = mm_count(stats->hosts_checked, "host", "hosts");
        g_autofree char *files = mm_count(stats->files_checked, "file", "files");
        g_autofree char *models = mm_count(stats->models_checked, "model use", "model uses");

        fprintf(stderr, "migmatrix %s: preflight: %s checked (%u unreachable), %s, %s: %u error%s, %u warning%s\n",
                name, hosts, stats->hosts_unreachable, files, models, errors, errors == 1 ? "" : "s",
                mm_problems_count(problems, MM_PROBLEM_WARNING),
                mm_problems_count(problems, MM_PROBLEM_WARNING) == 1 ? "" : "s");
    }
    return errors;
}

MmStore *
mm_cli_open_results(const char *name, const char *option, const char *scenario, int *rc)
{
    g_autoptr(MmScenario) sc = NULL;
    g_autoptr(GError) err = NULL;
    const char *path;
    MmStore *store;

    if (scenario && !option && !(sc = mm_cli_load_scenario(scenario))) {
        *rc = MM_EXIT_USAGE;
        return NULL;
    }
    path = mm_cli_db_path(option, sc);
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        fprintf(stderr,
                "migmatrix %s: no results DB at %s (%s); run a scenario first, or name the DB with --db PATH, "
                "MIGMATRIX_DB or --scenario FILE\n",
                name, path,
                option ? "--db" : g_getenv("MIGMATRIX_DB") && *g_getenv("MIGMATRIX_DB") ? "from MIGMATRIX_DB"
                : sc && sc->db                                                       ? "the scenario's [run] db"
                                                                                     : "the default");
        *rc = MM_EXIT_USAGE;
        return NULL;
    }
    if (!(store = mm_store_open(path, &err))) {
        fprintf(stderr, "migmatrix %s: %s\n", name, err->message);
        *rc = MM_EXIT_INFRA;
        return NULL;
    }
    return store;
}

MmRunRecord *
mm_cli_matrix_run(const char *name, MmStore *store, gint64 run_id, int *rc)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(MmRunRecord) run = mm_store_run_get(store, run_id, &err);

    if (!run) {
        fprintf(stderr, "migmatrix %s: %s\n", name, err->message);
        *rc = err->code == MM_ERROR_INPUT ? MM_EXIT_USAGE : MM_EXIT_INFRA;
        return NULL;
    }
    if (g_strcmp0(run->kind, "run") != 0) {
        fprintf(stderr,
                "migmatrix %s: run %" G_GINT64_FORMAT " is %s %s record of %s, not a matrix run: it has host facts "
                "and no cases; `migmatrix runs` lists the matrix runs (KIND run)\n",
                name, run_id, strchr("aeiou", run->kind[0]) ? "an" : "a", run->kind, run->scenario_path);
        *rc = MM_EXIT_USAGE;
        return NULL;
    }
    return g_steal_pointer(&run);
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

/* Each scenario host's newest dossier in STORE (NULL: there is no DB yet), judged stale when
 * older than MAX_AGE_DAYS or when the host has since reported another libvirt version. */
GHashTable *
mm_cli_load_dossiers(MmStore *store, const MmScenario *sc, guint max_age_days, GError **error)
{
    g_autoptr(GHashTable) out = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                                      (GDestroyNotify)mm_dossier_free);
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();

    for (guint i = 0; i < sc->hosts->len; i++) {
        const MmHost *h = sc->hosts->pdata[i];
        g_autoptr(MmDossier) d = g_new0(MmDossier, 1);
        g_autofree char *lv_now = NULL;
        gint64 lv_run = 0;

        d->host = g_strdup(h->name);
        /* A dossier is a record with the host's CPU in it (a probe, an import, a run's snapshot). */
        if (store && !mm_store_host_latest(store, h->name, "arch", &d->run_id, &d->recorded_at, NULL, error))
            return NULL;
        if (d->run_id) {
            g_autoptr(GDateTime) when = g_date_time_new_from_iso8601(d->recorded_at, NULL);
            const char *lv;

            if (!(d->facts = mm_store_host_facts(store, d->run_id, h->name, error)) ||
                !mm_store_host_latest(store, h->name, "libvirt_version", &lv_run, NULL, &lv_now, error))
                return NULL;
            lv = g_hash_table_lookup(d->facts, "libvirt_version");
            if (when && g_date_time_difference(now, when) > (GTimeSpan)max_age_days * G_TIME_SPAN_DAY)
                d->stale = g_strdup_printf("recorded %.10s, more than %u days ago (--max-age)", d->recorded_at,
                                           max_age_days);
            else if (lv && lv_now && lv_run != d->run_id && strcmp(lv, lv_now) != 0)
                d->stale = g_strdup_printf("recorded with libvirt %s; run %" G_GINT64_FORMAT " saw %s since", lv,
                                           lv_run, lv_now);
        }
        {
            MmDossier *done = g_steal_pointer(&d);
            g_hash_table_insert(out, done->host, done);
        }
    }
    return g_steal_pointer(&out);
}
