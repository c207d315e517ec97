/* cmd-run.c: `migmatrix run SCENARIO`: every case of the matrix against the real hosts, each
 * phase and outcome stored; exit 0 when every outcome is as [expect] says, 1 otherwise,
 * 3 on infrastructure failure, 130 when interrupted. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "migmatrix/cli.h"
#include "migmatrix/engine.h"
#include "migmatrix/probe.h"
#include "migmatrix/dossier.h"

typedef struct {
    bool tty;
    bool verbose;
    guint index;
    guint total;
    gint64 t_case;
} Progress;

static void
on_signal(int sig)
{
    (void)sig;
    mm_interrupt_request();
}

/* Progress goes to stderr, the summary to stdout: `run … > summary.txt` keeps the summary. */
static void
on_phase(const MmCase *c, const char *phase, gpointer data)
{
    Progress *p = data;
    double secs = (g_get_monotonic_time() - p->t_case) / 1e6;

    if (p->tty && !p->verbose) {
        /* One status line, rewritten in place: the phase, and how long the case has run. */
        fprintf(stderr, "\r\033[K[%u/%u] %s  %s  (case at %.1f s)", p->index, p->total, c->id, phase, secs);
        fflush(stderr);
    } else if (p->verbose) {
        fprintf(stderr, "[%u/%u] %s: %s started\n", p->index, p->total, c->id, phase);
    }
}

/* With --verbose, a line as each phase ends: its result and its own duration. */
static void
on_phase_end(const MmCase *c, const char *phase, bool ok, gint64 ms, gpointer data)
{
    Progress *p = data;

    if (p->verbose)
        fprintf(stderr, "[%u/%u] %s: %s %s in %.2f s\n", p->index, p->total, c->id, phase, ok ? "ok" : "failed",
                ms / 1000.0);
}

static bool
is_expected(const MmCase *c, MmOutcome outcome)
{
    return c->expected_flaky || c->expected == outcome;
}

/* Host facts for the run's snapshot, probed in parallel; hosts that fail are reported. */
static void
probe_job(gpointer data, gpointer user)
{
    GHashTable *facts = g_hash_table_lookup(user, data);
    g_autoptr(GError) err = NULL;

    if (!mm_probe_host(data, facts, &err))
        mm_facts_set(facts, "error", err->message);
}

static void
snapshot_hosts(MmScenario *sc, MmMatrix *m, MmStore *store, gint64 run)
{
    g_autoptr(GHashTable) facts = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)g_hash_table_unref);
    GThreadPool *pool = g_thread_pool_new(probe_job, facts, 8, FALSE, NULL);
    GHashTableIter it;
    gpointer host, f;

    for (guint i = 0; i < m->cases->len; i++) {
        const MmCase *c = m->cases->pdata[i];
        const MmHost *hs[] = { c->src, c->dst };

        if (c->na_reason)
            continue;
        for (int k = 0; k < 2; k++)
            if (!g_hash_table_contains(facts, hs[k]))
                g_hash_table_insert(facts, (gpointer)hs[k], mm_facts_new());
    }
    g_hash_table_iter_init(&it, facts);
    while (g_hash_table_iter_next(&it, &host, NULL))
        g_thread_pool_push(pool, host, NULL);
    g_thread_pool_free(pool, FALSE, TRUE);
    /* Stored in scenario order, so reports list hosts as the scenario does. */
    for (guint i = 0; i < sc->hosts->len; i++) {
        const MmHost *h = sc->hosts->pdata[i];
        GHashTableIter fi;
        gpointer k, v;

        if (!(f = g_hash_table_lookup(facts, h)))
            continue;
        mm_facts_set(f, "virt_type", h->virt_type);
        mm_facts_set(f, "cpu_label", h->cpu);
        g_hash_table_iter_init(&fi, f);
        while (g_hash_table_iter_next(&fi, &k, &v))
            mm_store_host_fact_set(store, run, h->name, k, v, NULL);
        if (mm_facts_get(f, "error"))
            fprintf(stderr, "warning: %s\n", mm_facts_get(f, "error"));
    }
}

static void
summary(MmScenario *sc, MmMatrix *m, GPtrArray *results, const char *db, gint64 run, bool interrupted,
        double secs)
{
    guint counts[MM_OUTCOME_LAST] = { 0 };
    guint unexpected = 0, done = 0;

    (void)sc;
    for (guint i = 0; i < results->len; i++) {
        const MmCaseResult *r = results->pdata[i];
        const MmCase *c = m->cases->pdata[i];

        if (!r || r->interrupted)
            continue;
        done++;
        counts[r->outcome]++;
        unexpected += !is_expected(c, r->outcome);
    }
    {
        g_autofree char *total = mm_count(m->cases->len, "case", "cases");
        printf("\n%s: %u of %s in %.0f s%s\n", interrupted ? "interrupted" : "done", done, total, secs,
               interrupted ? " (the rest not run)" : "");
    }
    for (int o = 0; o < MM_OUTCOME_LAST; o++)
        if (counts[o])
            printf("  %-22s %u\n", mm_outcome_name(o), counts[o]);
    if (unexpected) {
        printf("\n%u unexpected:\n", unexpected);
        for (guint i = 0; i < results->len; i++) {
            const MmCaseResult *r = results->pdata[i];
            const MmCase *c = m->cases->pdata[i];

            if (!r || r->interrupted || is_expected(c, r->outcome))
                continue;
            printf("  %s: %s%s%s (expected %s%s%s)\n", c->id, mm_outcome_name(r->outcome), r->reason ? ": " : "",
                   r->reason ? r->reason : "", mm_outcome_name(c->expected), c->expected_reason ? ": " : "",
                   c->expected_reason ? c->expected_reason : "");
            if (r->error_text)
                printf("      %s\n", r->error_text);
        }
    }
    printf("\nresults: run %" G_GINT64_FORMAT " in %s\n", run, db);
}

static void
result_free(gpointer p)
{
    if (p) {
        mm_case_result_clear(p);
        g_free(p);
    }
}

int
mm_cmd_run(int argc, char **argv)
{
    g_autofree char *db = NULL;
    g_autofree char *filter = NULL;
    g_autofree char *token = NULL;
    g_autofree char *owner = NULL;
    gboolean verbose = FALSE;
    gboolean no_preflight = FALSE;
    GOptionEntry entries[] = {
        { "db", 0, 0, G_OPTION_ARG_FILENAME, &db,
          "Results DB (default: $MIGMATRIX_DB, the scenario's [run] db, " MM_DEFAULT_DB ")", "PATH" },
        { "filter", 'f', 0, G_OPTION_ARG_STRING, &filter, "Only cases whose ID matches GLOB", "GLOB" },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
          "A line as each phase starts and ends, with its own duration (without a TTY too)", NULL },
        { "no-preflight", 0, 0, G_OPTION_ARG_NONE, &no_preflight,
          "Skip the check of files, models and modes on the hosts before running", NULL },
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(MmScenario) sc = NULL;
    g_autoptr(MmMatrix) m = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) store = NULL;
    g_autoptr(MmHostPool) pool = NULL;
    g_autoptr(GArray) case_rows = g_array_new(FALSE, TRUE, sizeof(gint64));
    g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func(result_free);
    struct sigaction sa = { .sa_handler = on_signal };
    Progress progress = { .tty = isatty(STDERR_FILENO) };
    MmEngineOptions o = { 0 };
    gint64 t_run = g_get_monotonic_time();
    guint unexpected = 0, infra = 0;
    const char *dbpath;
    gint64 run;

    if (!mm_cli_parse("run", "SCENARIO", "Run every case of the matrix against the hosts and store the results.",
                      entries, &argc, &argv))
        return MM_EXIT_USAGE;
    if (argc != 2) {
        mm_cli_usage_error("run", "expected exactly one SCENARIO file");
        return MM_EXIT_USAGE;
    }
    progress.verbose = verbose;
    if (!mm_cli_load_matrix(argv[1], filter, &sc, &m))
        return MM_EXIT_USAGE;

    /* What can be known on the hosts is checked before a night is spent: all of it at once,
     * and nothing is run (nor stored) while any of it is wrong. */
    pool = mm_host_pool_new();
    if (!no_preflight) {
        MmPreflightStats stats;

        if (mm_cli_preflight("run", sc, m, pool, &stats) > 0) {
            fprintf(stderr, "migmatrix run: the preflight found errors; nothing was run (fix them, or skip the "
                            "check with --no-preflight)\n");
            return MM_EXIT_USAGE;
        }
    }

    dbpath = mm_cli_db_path(db, sc);
    if (!(store = mm_store_open(dbpath, &err)) ||
        !(run = mm_store_run_begin(store, "run", sc->name, sc->path, sc->sha256, &err)) ||
        (filter && !mm_store_run_set_filter(store, run, filter, &err))) {
        fprintf(stderr, "migmatrix run: %s\n", err->message);
        return MM_EXIT_INFRA;
    }
    /* Every case is stored as planned before the first runs: an interrupted run still shows
     * what it did not reach. N/A cases are final at once. */
    if (!mm_store_begin(store, &err)) {
        fprintf(stderr, "migmatrix run: %s\n", err->message);
        return MM_EXIT_INFRA;
    }
    for (guint i = 0; i < m->cases->len; i++) {
        const MmCase *c = m->cases->pdata[i];
        MmCaseRecord rec = {
            .run_id = run, .case_id = c->id, .src = c->src->name, .dst = c->dst->name, .guest = c->guest->name,
            .mode = c->mode_text, .repeat = c->repeat, .matrix = (char *)c->matrix,
            .state = (char *)(c->na_reason ? "done" : "planned"),
            .expected = (char *)(c->expected_flaky ? "flaky" : mm_outcome_name(c->expected)),
            .expected_reason = (char *)c->expected_reason,
            .outcome = (char *)(c->na_reason ? "na" : NULL), .reason = c->na_reason, .duration_ms = -1,
        };
        gint64 row = mm_store_case_add(store, &rec, &err);

        if (!row) {
            fprintf(stderr, "migmatrix run: %s\n", err->message);
            mm_store_rollback(store);
            return MM_EXIT_INFRA;
        }
        g_array_append_val(case_rows, row);
        g_ptr_array_add(results, NULL);
    }
    if (!mm_store_commit(store, &err)) {
        fprintf(stderr, "migmatrix run: %s\n", err->message);
        return MM_EXIT_INFRA;
    }

    g_autofree char *cases_text = mm_count(m->cases->len, "case", "cases");

    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    fprintf(stderr, "run %" G_GINT64_FORMAT ": %s from %s; results in %s\n", run, cases_text, sc->path,
            dbpath);
    snapshot_hosts(sc, m, store, run);

    mm_engine_identity(&token, &owner);
    o = (MmEngineOptions){ .sc = sc, .store = store, .pool = pool, .run_id = run, .token = token, .owner = owner,
                           .on_phase = on_phase, .on_phase_end = on_phase_end,
                           .data = &progress };
    progress.total = m->cases->len;
    for (guint i = 0; i < m->cases->len && !mm_interrupted(); i++) {
        const MmCase *c = m->cases->pdata[i];
        gint64 row = g_array_index(case_rows, gint64, i);
        MmCaseResult *r = g_new0(MmCaseResult, 1);
        bool ok;

        progress.index = i + 1;
        progress.t_case = g_get_monotonic_time();
        if (c->na_reason) {
            r->outcome = MM_OUTCOME_NA;
            r->reason = g_strdup(c->na_reason);
            results->pdata[i] = r;
            continue;
        }
        mm_store_case_set_running(store, row, NULL);
        mm_engine_run_case(&o, c, row, i + 1, r);
        results->pdata[i] = r;
        if (r->interrupted) {
            mm_store_case_set_state(store, row, "interrupted", NULL);
            break;
        }
        ok = is_expected(c, r->outcome);
        unexpected += !ok;
        infra += r->outcome == MM_OUTCOME_INFRA_ERROR;
        if (!mm_store_case_finish(store, row, mm_outcome_name(r->outcome), r->reason, r->error_text, !ok,
                                  r->duration_ms, &err)) {
            fprintf(stderr, "migmatrix run: %s\n", err->message);
            return MM_EXIT_INFRA;
        }
        if (progress.tty)
            fprintf(stderr, "\r\033[K");
        fprintf(stderr, "[%u/%u] %s: %s%s%s%s (%.1f s)\n", i + 1, m->cases->len, c->id, mm_outcome_name(r->outcome),
                r->reason ? ": " : "", r->reason ? r->reason : "", ok ? "" : "  UNEXPECTED", r->duration_ms / 1e3);
    }

    mm_store_run_end(store, run, mm_interrupted() ? "interrupted" : "done", NULL);
    summary(sc, m, results, dbpath, run, mm_interrupted(), (g_get_monotonic_time() - t_run) / 1e6);
    if (mm_interrupted())
        return MM_EXIT_INTERRUPTED;
    if (infra)
        return MM_EXIT_INFRA;
    return unexpected ? MM_EXIT_UNEXPECTED : MM_EXIT_OK;
}
