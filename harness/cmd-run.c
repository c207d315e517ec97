/* cmd-run.c: `migmatrix run SCENARIO`: every case of the matrix against the real hosts, each
 * phase and outcome stored; exit 0 when every outcome is as [expect] says, 1 otherwise,
 * 3 on infrastructure failure, 130 when interrupted.
 *
 * Which cases: the whole matrix, a shard of it (--shard K/N), the failed or unexpected cases
 * of an earlier run (--rerun … --from RUN), or what an interrupted run did not finish
 * (--resume RUN). How: up to --jobs cases at once, handed out by the scheduler (scheduler.h),
 * each in a worker thread with its own DB connection; the outcomes are written here, in the
 * main thread, which also draws the progress. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "migmatrix/cli.h"
#include "migmatrix/engine.h"
#include "migmatrix/predict.h"
#include "migmatrix/probe.h"
#include "migmatrix/dossier.h"
#include "migmatrix/scheduler.h"

/* One case handed to a worker. */
typedef struct {
    struct _Runner *rn;
    guint slot;              /* index into Runner.work */
    const MmCase *c;
    gint64 row;
    guint plan_index;
    MmCaseResult result;
    const char *phase;       /* the phase now running, for the status display */
    gint64 t_start, t_phase;
} Job;

typedef struct _Runner {
    const char *dbpath;
    MmEngineOptions o;       /* shared by the workers; each puts its own store in a copy */
    bool tty, verbose;
    guint jobs;
    bool leases;             /* shards share hosts: lease both hosts for each case */
    GHashTable *released;    /* host name → when this runner last gave its lease back (µs) */
    gint64 lease_secs;       /* how long a lease may be held: a case's longest possible life */
    GMutex lock;             /* guards everything below, and stderr */
    GCond changed;           /* a job finished, or a phase changed */
    GQueue finished;         /* Job*, handed back by workers */
    GPtrArray *running;      /* Job*, in the order they started */
    guint status_lines;      /* lines of live status drawn below the last finished line */
    /* For the ETA: the sum of finished cases' durations, and when the first started. */
    gint64 busy_ms;
    guint n_timed;
    gint64 t_first;
} Runner;

static void
on_signal(int sig)
{
    (void)sig;
    mm_interrupt_request();
}

static bool
is_expected(const MmCase *c, MmOutcome outcome)
{
    return c->expected_flaky || c->expected == outcome;
}

/* ---- progress -------------------------------------------------------------------------------- */

static void
on_phase(const MmCase *c, const char *phase, gpointer data)
{
    Job *j = data;
    Runner *rn = j->rn;

    g_mutex_lock(&rn->lock);
    j->phase = phase;
    j->t_phase = g_get_monotonic_time();
    if (rn->verbose)
        fprintf(stderr, "%s: %s started\n", c->id, phase);
    g_cond_signal(&rn->changed);
    g_mutex_unlock(&rn->lock);
}

/* With --verbose, a line as each phase ends: its result and its own duration. */
static void
on_phase_end(const MmCase *c, const char *phase, bool ok, gint64 ms, gpointer data)
{
    Job *j = data;

    if (!j->rn->verbose)
        return;
    g_mutex_lock(&j->rn->lock);
    fprintf(stderr, "%s: %s %s in %.2f s\n", c->id, phase, ok ? "ok" : "failed", ms / 1000.0);
    g_mutex_unlock(&j->rn->lock);
}

static char *
format_secs(double s)
{
    if (s < 90)
        return g_strdup_printf("%.0f s", s);
    if (s < 5400)
        return g_strdup_printf("%.0f min", s / 60);
    return g_strdup_printf("%.1f h", s / 3600);
}

/* Erases the live status (lock held). */
static void
status_clear(Runner *rn)
{
    if (rn->status_lines)
        fprintf(stderr, "\033[%uA\r\033[J", rn->status_lines);
    rn->status_lines = 0;
}

/* The live status below the finished lines, on a TTY only (lock held): cases done of all,
 * each running case with its phase, and an ETA from the case times measured so far: the
 * mean case time, over the parallelism reached so far (busy time / wall time). */
static void
status_draw(Runner *rn, guint done, guint total, guint queued)
{
    gint64 now = g_get_monotonic_time();
    g_autofree char *eta = NULL;

    if (!rn->tty || rn->verbose)
        return;
    status_clear(rn);
    if (rn->n_timed && now > rn->t_first) {
        double mean = rn->busy_ms / 1e3 / rn->n_timed;
        double parallel = MAX(1.0, MIN((double)rn->jobs, rn->busy_ms * 1e3 / (double)(now - rn->t_first)));
        eta = format_secs(mean * (queued + rn->running->len * 0.5) / parallel);
    }
    fprintf(stderr, "[%u/%u done, %u running%s%s]\n", done, total, rn->running->len, eta ? ", ETA " : "",
            eta ? eta : "");
    rn->status_lines = 1;
    for (guint i = 0; i < rn->running->len; i++) {
        const Job *j = rn->running->pdata[i];

        fprintf(stderr, "  %s  %s (%.0f s, case %.0f s)\n", j->c->id, j->phase ? j->phase : "waiting",
                (now - j->t_phase) / 1e6, (now - j->t_start) / 1e6);
        rn->status_lines++;
    }
    fflush(stderr);
}

/* ---- the work list --------------------------------------------------------------------------- */

/* The cases this invocation runs, each with its stored row; RESULTS holds the outcome of every
 * case of the run (kept ones too), for the summary. */
typedef struct {
    GPtrArray *cases;        /* const MmCase*, borrowed from the matrix, in plan order */
    GArray *plan;            /* guint: each case's index in the whole plan */
    GArray *rows;            /* gint64: its row in the store */
    GPtrArray *results;      /* MmCaseResult* or NULL (not run): beside cases */
    GArray *to_run;          /* guint: indexes into cases that still need running */
    GArray *reset;           /* gint64: rows a resume clears before running them again */
} Work;

static void
result_free(gpointer p)
{
    if (p) {
        mm_case_result_clear(p);
        g_free(p);
    }
}

static void
work_clear(Work *w)
{
    g_clear_pointer(&w->cases, g_ptr_array_unref);
    g_clear_pointer(&w->plan, g_array_unref);
    g_clear_pointer(&w->rows, g_array_unref);
    g_clear_pointer(&w->results, g_ptr_array_unref);
    g_clear_pointer(&w->to_run, g_array_unref);
    g_clear_pointer(&w->reset, g_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Work, work_clear)

static void
work_init(Work *w)
{
    w->cases = g_ptr_array_new();
    w->plan = g_array_new(FALSE, FALSE, sizeof(guint));
    w->rows = g_array_new(FALSE, FALSE, sizeof(gint64));
    w->results = g_ptr_array_new_with_free_func(result_free);
    w->to_run = g_array_new(FALSE, FALSE, sizeof(guint));
    w->reset = g_array_new(FALSE, FALSE, sizeof(gint64));
}

static void
work_add(Work *w, const MmCase *c, guint plan_index)
{
    gint64 none = 0;

    g_ptr_array_add(w->cases, (gpointer)c);
    g_array_append_val(w->plan, plan_index);
    g_array_append_val(w->rows, none);
    g_ptr_array_add(w->results, NULL);
}

/* A stored outcome, as the summary counts it. */
static MmCaseResult *
result_from_record(const MmCaseRecord *r)
{
    MmCaseResult *res = g_new0(MmCaseResult, 1);

    mm_outcome_parse(r->outcome, &res->outcome);
    res->reason = g_strdup(r->reason);
    res->error_text = g_strdup(r->error_text);
    res->duration_ms = r->duration_ms;
    return res;
}

/* Every case of W stored as planned before the first runs: an interrupted run still shows
 * what it did not reach. N/A cases are final at once. One transaction. */
static bool
store_planned(MmStore *store, gint64 run, Work *w, GError **error)
{
    if (!mm_store_begin(store, error))
        return false;
    for (guint i = 0; i < w->cases->len; i++) {
        const MmCase *c = w->cases->pdata[i];
        MmCaseRecord rec = {
            .run_id = run, .case_id = c->id, .src = c->src->name, .dst = c->dst->name, .guest = c->guest->name,
            .mode = c->mode_text, .repeat = c->repeat, .matrix = (char *)c->matrix,
            .state = (char *)(c->na_reason ? "done" : "planned"),
            .expected = (char *)(c->expected_flaky ? "flaky" : mm_outcome_name(c->expected)),
            .expected_reason = (char *)c->expected_reason,
            .outcome = (char *)(c->na_reason ? "na" : NULL), .reason = c->na_reason, .duration_ms = -1,
            .plan_index = g_array_index(w->plan, guint, i),
        };
        gint64 row = mm_store_case_add(store, &rec, error);

        if (!row) {
            mm_store_rollback(store);
            return false;
        }
        g_array_index(w->rows, gint64, i) = row;
        if (c->na_reason) {
            MmCaseResult *r = g_new0(MmCaseResult, 1);
            r->outcome = MM_OUTCOME_NA;
            r->reason = g_strdup(c->na_reason);
            w->results->pdata[i] = r;
        } else {
            g_array_append_val(w->to_run, i);
        }
    }
    return mm_store_commit(store, error);
}

/* ---- host facts ------------------------------------------------------------------------------ */

/* Host facts for the run's snapshot, probed in parallel; hosts that fail are reported. */
static void
probe_job(gpointer data, gpointer user)
{
    GHashTable *facts = g_hash_table_lookup(user, data);
    g_autoptr(GError) err = NULL;

    if (!mm_probe_host(data, facts, &err))
        mm_facts_set(facts, "error", err->message);
}

static bool
snapshot_hosts(MmScenario *sc, const Work *w, MmStore *store, gint64 run, GError **error)
{
    g_autoptr(GHashTable) facts = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)g_hash_table_unref);
    GThreadPool *pool = g_thread_pool_new(probe_job, facts, 8, FALSE, NULL);
    GHashTableIter it;
    gpointer host, f;

    for (guint i = 0; i < w->cases->len; i++) {
        const MmCase *c = w->cases->pdata[i];
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
    /* The live CPUs the cases' predictions need (few: a model one host blocks and the other not). */
    {
        g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);

        mm_probe_live_cpus_for_plan(w->cases, facts, warnings);
        for (guint i = 0; i < warnings->len; i++)
            fprintf(stderr, "warning: %s\n", (char *)warnings->pdata[i]);
    }
    /* Stored with their place in the scenario, so reports list hosts as the scenario does
     * (shards merged too). */
    for (guint i = 0; i < sc->hosts->len; i++) {
        const MmHost *h = sc->hosts->pdata[i];
        GHashTableIter fi;
        gpointer k, v;

        if (!(f = g_hash_table_lookup(facts, h)))
            continue;
        mm_facts_set(f, "virt_type", h->virt_type);
        mm_facts_set(f, "cpu_label", h->cpu);
        if (!mm_store_host_set_position(store, run, h->name, i, error))
            return false;
        g_hash_table_iter_init(&fi, f);
        while (g_hash_table_iter_next(&fi, &k, &v))
            if (!mm_store_host_fact_set(store, run, h->name, k, v, error))
                return false;
        if (mm_facts_get(f, "error"))
            fprintf(stderr, "warning: %s\n", mm_facts_get(f, "error"));
    }
    return true;
}

/* What predict foresees for each case, from the dossiers just recorded, stored before any case
 * runs: a report then sets each outcome beside its prediction. One transaction. */
static bool
store_predictions(MmScenario *sc, const Work *w, MmStore *store, GError **error)
{
    g_autoptr(GHashTable) dossiers = mm_cli_load_dossiers(store, sc, MM_DOSSIER_MAX_AGE_DAYS, error);
    g_autoptr(MmPredictor) p = NULL;

    if (!dossiers || !mm_store_begin(store, error))
        return false;
    p = mm_predictor_new(dossiers);
    for (guint i = 0; i < w->cases->len; i++) {
        MmPrediction pr;
        g_autofree char *rule = NULL;
        bool ok;

        mm_predict_case(p, w->cases->pdata[i], &pr);
        rule = g_strdup_printf("%s/%s", pr.stage, pr.rule);
        ok = mm_store_case_set_prediction(store, g_array_index(w->rows, gint64, i),
                                          pr.unknown ? "unknown" : mm_outcome_name(pr.outcome), rule, pr.reason,
                                          error);
        mm_prediction_clear(&pr);
        if (!ok) {
            mm_store_rollback(store);
            return false;
        }
    }
    return mm_store_commit(store, error);
}

/* ---- the workers ----------------------------------------------------------------------------- */

static void
set_phase(Job *j, const char *phase)
{
    g_mutex_lock(&j->rn->lock);
    j->phase = phase;
    j->t_phase = g_get_monotonic_time();
    g_cond_signal(&j->rn->changed);
    g_mutex_unlock(&j->rn->lock);
}

/* Both hosts' leases, in host-name order (two runners never wait on each other crosswise), or
 * none: a runner holding one host while it waits for the other would stall that host for
 * everyone. Waits while another runner holds one. False when interrupted or on an error (set
 * in the job's result). */
/* Runners that share a host poll for its lease once a second; one that just gave it back waits
 * a little longer before taking it again, so the others get their turn instead of starving. */
#define LEASE_TURN (1500 * G_TIME_SPAN_MILLISECOND)

static void
wait_turn(Runner *rn, const MmHost *host)
{
    gint64 last, wait;

    g_mutex_lock(&rn->lock);
    last = GPOINTER_TO_SIZE(g_hash_table_lookup(rn->released, host->name));
    g_mutex_unlock(&rn->lock);
    wait = last ? last + LEASE_TURN - g_get_monotonic_time() : 0;
    if (wait > 0)
        g_usleep(wait);
}

static void
give_back(Runner *rn, const MmHost *host, const char *what)
{
    mm_host_lease_release(rn->o.pool, host, rn->o.owner, what);
    g_mutex_lock(&rn->lock);
    g_hash_table_insert(rn->released, (gpointer)host->name, GSIZE_TO_POINTER(g_get_monotonic_time()));
    g_mutex_unlock(&rn->lock);
}

static bool
take_leases(Job *j, const MmHost **hosts)
{
    Runner *rn = j->rn;

    wait_turn(rn, hosts[0]);
    if (hosts[1] != hosts[0])
        wait_turn(rn, hosts[1]);
    for (guint tries = 0;; tries++) {
        g_autofree char *held_by = NULL;
        g_autoptr(GError) err = NULL;
        /* Counted from now, every try: a lease taken after a long wait is good for a whole case. */
        gint64 until = g_get_real_time() / G_USEC_PER_SEC + rn->lease_secs;
        int got = 0;
        guint i;

        for (i = 0; i < 2; i++) {
            if (i == 1 && hosts[1] == hosts[0])
                break;
            if ((got = mm_host_lease_acquire(rn->o.pool, hosts[i], rn->o.owner, j->c->id, until, &held_by, &err)) != 1)
                break;
        }
        if (got == 1)
            return true;
        if (i == 1)
            mm_host_lease_release(rn->o.pool, hosts[0], rn->o.owner, j->c->id);
        if (got < 0) {
            j->result.outcome = MM_OUTCOME_INFRA_ERROR;
            /* The same reason as an unleased run's prepare gives for a host that is down. */
            j->result.reason = g_strdup(g_str_has_prefix(err->message, "host down") ? "host down" : "host lease");
            j->result.error_text = g_strdup(err->message);
            return false;
        }
        if (tries == 0) {
            g_mutex_lock(&rn->lock);
            if (rn->verbose)
                fprintf(stderr, "%s: waiting for %s, leased by %s\n", j->c->id, hosts[i]->name, held_by);
            g_mutex_unlock(&rn->lock);
            set_phase(j, "lease-wait");
        }
        if (mm_interrupted()) {
            j->result.interrupted = true;
            return false;
        }
        g_usleep(G_USEC_PER_SEC);
    }
}

/* One case, in a pool thread, with a DB connection of its own (SQLite connections are not
 * shared between threads here). A DB that cannot be opened or written ends the case as
 * infra-error with SQLite's message. */
static void
worker(gpointer data, gpointer user)
{
    Job *j = data;
    Runner *rn = user;
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) store = NULL;
    const MmHost *hosts[2] = { j->c->src, j->c->dst };

    if (strcmp(hosts[0]->name, hosts[1]->name) > 0) {
        hosts[0] = j->c->dst;
        hosts[1] = j->c->src;
    }
    if (rn->leases && !take_leases(j, hosts))
        goto done;
    store = mm_store_open(rn->dbpath, &err);
    if (!store || !mm_store_case_set_running(store, j->row, &err)) {
        j->result.outcome = MM_OUTCOME_INFRA_ERROR;
        j->result.reason = g_strdup("results DB write failed");
        j->result.error_text = g_strdup(err->message);
        j->result.db_failed = true;
    } else {
        MmEngineOptions o = rn->o;

        o.store = store;
        o.data = j;
        mm_engine_run_case(&o, j->c, j->row, j->plan_index + 1, &j->result);
    }
    if (rn->leases) {
        give_back(rn, hosts[0], j->c->id);
        if (hosts[1] != hosts[0])
            give_back(rn, hosts[1], j->c->id);
    }
done:
    g_mutex_lock(&rn->lock);
    g_queue_push_tail(&rn->finished, j);
    g_cond_signal(&rn->changed);
    g_mutex_unlock(&rn->lock);
}

/* The outcome of a finished job, written and printed here; false when the DB took no write
 * (the run then stops: exit 3). */
static bool
finish_job(Runner *rn, MmStore *store, Work *w, Job *j, guint done, guint total, GError **error)
{
    MmCaseResult *r = g_new0(MmCaseResult, 1);
    bool ok;

    *r = j->result;
    w->results->pdata[j->slot] = r;
    if (r->interrupted)
        return mm_store_case_set_state(store, j->row, "interrupted", error);
    ok = is_expected(j->c, r->outcome);
    if (!mm_store_case_finish(store, j->row, mm_outcome_name(r->outcome), r->reason, r->error_text, !ok,
                              r->duration_ms, error))
        return false;
    g_mutex_lock(&rn->lock);
    status_clear(rn);
    fprintf(stderr, "[%u/%u] %s: %s%s%s%s (%.1f s)\n", done, total, j->c->id, mm_outcome_name(r->outcome),
            r->reason ? ": " : "", r->reason ? r->reason : "", ok ? "" : "  UNEXPECTED", r->duration_ms / 1e3);
    rn->busy_ms += r->duration_ms;
    rn->n_timed++;
    g_mutex_unlock(&rn->lock);
    return true;
}

/* Runs W's cases, up to JOBS at once. Returns false when the DB broke (ERROR set). */
static bool
run_cases(Runner *rn, const MmScenario *sc, MmStore *store, Work *w, GError **error)
{
    g_autoptr(MmSched) sched = mm_sched_new();
    GThreadPool *pool = g_thread_pool_new(worker, rn, rn->jobs, FALSE, NULL);
    guint done = 0, total = w->to_run->len;
    bool db_ok = true;

    mm_sched_set_plan_order(sched, rn->jobs == 1);
    for (guint i = 0; i < sc->hosts->len; i++) {
        const MmHost *h = sc->hosts->pdata[i];
        mm_sched_set_capacity(sched, h->name, h->max_cases ? h->max_cases : 1);
    }
    for (guint i = 0; i < w->to_run->len; i++) {
        guint slot = g_array_index(w->to_run, guint, i);
        const MmCase *c = w->cases->pdata[slot];
        mm_sched_add(sched, slot, c->src->name, c->dst->name, mm_case_weight(c));
    }
    rn->running = g_ptr_array_new();
    rn->t_first = g_get_monotonic_time();
    g_mutex_lock(&rn->lock);
    for (;;) {
        gint next;
        Job *j;

        if (mm_interrupted() || !db_ok)
            mm_sched_drain(sched);
        while (rn->running->len < rn->jobs && (next = mm_sched_next(sched)) >= 0) {
            j = g_new0(Job, 1);
            j->rn = rn;
            j->slot = next;
            j->c = w->cases->pdata[next];
            j->row = g_array_index(w->rows, gint64, next);
            j->plan_index = g_array_index(w->plan, guint, next);
            j->t_start = j->t_phase = g_get_monotonic_time();
            g_ptr_array_add(rn->running, j);
            g_thread_pool_push(pool, j, NULL);
        }
        if (!rn->running->len && !mm_sched_queued(sched))
            break;
        /* Woken by a finished case or a phase change; otherwise the clock in the status
         * moves once a second. */
        if (g_queue_is_empty(&rn->finished))
            g_cond_wait_until(&rn->changed, &rn->lock, g_get_monotonic_time() + G_TIME_SPAN_SECOND);
        while ((j = g_queue_pop_head(&rn->finished))) {
            g_autoptr(GError) err = NULL;

            g_ptr_array_remove(rn->running, j);
            mm_sched_done(sched, j->slot);
            g_mutex_unlock(&rn->lock);
            done += !j->result.interrupted;
            if (db_ok && (!finish_job(rn, store, w, j, done, total, &err) || j->result.db_failed)) {
                /* The DB itself is broken when the run's own connection cannot write the outcome,
                 * or a worker could not open or write it: no further case is started. */
                db_ok = false;
                g_propagate_error(error, err ? g_steal_pointer(&err)
                                             : g_error_new_literal(MM_ERROR, MM_ERROR_INFRA,
                                                                   j->result.error_text ? j->result.error_text : ""));
            } else if (!db_ok) {
                w->results->pdata[j->slot] = g_memdup2(&j->result, sizeof(j->result));
            }
            g_free(j);
            g_mutex_lock(&rn->lock);
        }
        status_draw(rn, done, total, mm_sched_queued(sched));
    }
    status_clear(rn);
    g_mutex_unlock(&rn->lock);
    g_thread_pool_free(pool, FALSE, TRUE);
    g_clear_pointer(&rn->running, g_ptr_array_unref);
    return db_ok;
}

/* ---- summary --------------------------------------------------------------------------------- */

static void
summary(const Work *w, const char *db, gint64 run, bool interrupted, double secs)
{
    guint counts[MM_OUTCOME_LAST] = { 0 };
    guint unexpected = 0, done = 0;

    for (guint i = 0; i < w->results->len; i++) {
        const MmCaseResult *r = w->results->pdata[i];
        const MmCase *c = w->cases->pdata[i];

        if (!r || r->interrupted)
            continue;
        done++;
        counts[r->outcome]++;
        unexpected += !is_expected(c, r->outcome);
    }
    {
        g_autofree char *total = mm_count(w->cases->len, "case", "cases");
        printf("\n%s: %u of %s in %.0f s%s\n", interrupted ? "interrupted" : "done", done, total, secs,
               interrupted ? " (the rest not run)" : "");
    }
    for (int o = 0; o < MM_OUTCOME_LAST; o++)
        if (counts[o])
            printf("  %-22s %u\n", mm_outcome_name(o), counts[o]);
    if (unexpected) {
        printf("\n%u unexpected:\n", unexpected);
        for (guint i = 0; i < w->results->len; i++) {
            const MmCaseResult *r = w->results->pdata[i];
            const MmCase *c = w->cases->pdata[i];

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

/* ---- choosing the cases ---------------------------------------------------------------------- */

/* A fresh run: the matrix, or shard K of N of it. */
/* The shard's cases, when W is not NULL; whether its hosts are shared with other shards (and
 * must be leased for each case). */
static bool
shard_select(MmMatrix *m, guint k, guint n, Work *w)
{
    MmShardInfo info;
    g_autoptr(GArray) mine = mm_shard_cases(m->cases, k, n, &info);

    if (w) {
        g_autofree char *what = mm_shard_describe(k, n, mine->len, m->cases->len, &info);

        for (guint i = 0; i < mine->len; i++) {
            guint idx = g_array_index(mine, guint, i);
            work_add(w, m->cases->pdata[idx], idx);
        }
        fprintf(stderr, "%s\n", what);
    }
    return info.by_pair;
}

/* A fresh run: the matrix, or shard K of N of it. Returns whether hosts must be leased. */
static bool
select_fresh(MmMatrix *m, guint k, guint n, Work *w)
{
    if (!n) {
        for (guint i = 0; i < m->cases->len; i++)
            work_add(w, m->cases->pdata[i], i);
        return false;
    }
    return shard_select(m, k, n, w);
}

static GHashTable *
cases_by_id(MmMatrix *m)
{
    GHashTable *t = g_hash_table_new(g_str_hash, g_str_equal);

    for (guint i = 0; i < m->cases->len; i++)
        g_hash_table_insert(t, ((MmCase *)m->cases->pdata[i])->id, GUINT_TO_POINTER(i + 1));
    return t;
}

/* --rerun failed|unexpected --from RUN: those cases of RUN that the scenario still has. */
static bool
select_rerun(MmStore *store, gint64 from, const char *what, MmMatrix *m, Work *w)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) old = mm_store_cases_list(store, from, &err);
    g_autoptr(GHashTable) by_id = cases_by_id(m);
    g_autoptr(GString) gone = g_string_new(NULL);
    guint n_gone = 0;

    if (!old) {
        fprintf(stderr, "migmatrix run: %s\n", err->message);
        return false;
    }
    for (guint i = 0; i < old->len; i++) {
        const MmCaseRecord *r = old->pdata[i];
        bool take = strcmp(what, "unexpected") == 0
                        ? r->unexpected
                        : r->outcome && strcmp(r->outcome, "pass") != 0 && strcmp(r->outcome, "na") != 0;
        guint idx;

        if (!take)
            continue;
        if (!(idx = GPOINTER_TO_UINT(g_hash_table_lookup(by_id, r->case_id)))) {
            if (n_gone++ < 5)
                g_string_append_printf(gone, "%s%s", gone->len ? ", " : "", r->case_id);
            continue;
        }
        work_add(w, m->cases->pdata[idx - 1], idx - 1);
    }
    if (n_gone)
        fprintf(stderr, "warning: %u %s case%s of run %" G_GINT64_FORMAT " no longer in the scenario (or left out "
                        "by --filter), not rerun: %s%s\n",
                n_gone, what, n_gone == 1 ? "" : "s", from, gone->str, n_gone > 5 ? ", …" : "");
    return true;
}

/* --resume RUN: the run's stored cases; finished ones are kept, the rest are reset (later,
 * once nothing can refuse the resume any more) and run. */
static bool
select_resume(MmStore *store, gint64 run, MmMatrix *m, Work *w, GError **error)
{
    g_autoptr(GPtrArray) rows = mm_store_cases_list(store, run, error);
    g_autoptr(GHashTable) by_id = cases_by_id(m);

    if (!rows)
        return false;
    for (guint i = 0; i < rows->len; i++) {
        const MmCaseRecord *r = rows->pdata[i];
        guint idx = GPOINTER_TO_UINT(g_hash_table_lookup(by_id, r->case_id));
        guint slot = w->cases->len;

        if (!idx) {
            g_set_error(error, MM_ERROR, MM_ERROR_INPUT,
                        "case %s of run %" G_GINT64_FORMAT " is not in the scenario any more; resume it with the "
                        "scenario it began with",
                        r->case_id, run);
            return false;
        }
        work_add(w, m->cases->pdata[idx - 1], r->plan_index);
        g_array_index(w->rows, gint64, slot) = r->id;
        if (r->outcome && strcmp(r->state, "done") == 0) {
            w->results->pdata[slot] = result_from_record(r);
            continue;
        }
        g_array_append_val(w->reset, r->id);
        g_array_append_val(w->to_run, slot);
    }
    return true;
}

/* ---- the command ----------------------------------------------------------------------------- */

typedef struct {
    char *db;
    char *filter;
    gboolean verbose;
    gboolean no_preflight;
    int jobs;
    gint64 resume;
    gboolean force;
    char *rerun;
    gint64 from;
    char *shard;
} RunOptions;

static void
run_options_clear(RunOptions *o)
{
    g_free(o->db);
    g_free(o->filter);
    g_free(o->rerun);
    g_free(o->shard);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(RunOptions, run_options_clear)

/* Usage rules between the options; false after printing the error (exit 2). */
static bool
check_options(const RunOptions *o, int argc, guint *k, guint *n)
{
    g_autoptr(GError) err = NULL;

    if (o->resume || o->rerun) {
        if (argc > 2) {
            mm_cli_usage_error("run", "give at most one SCENARIO (the run's own is the default)");
            return false;
        }
    } else if (argc != 2) {
        mm_cli_usage_error("run", "expected exactly one SCENARIO file");
        return false;
    }
    if (o->resume && (o->rerun || o->from || o->shard || o->filter)) {
        mm_cli_usage_error("run", "--resume continues a run as it began: it takes no --rerun, --from, --shard "
                                  "or --filter");
        return false;
    }
    if (o->rerun && o->shard) {
        mm_cli_usage_error("run", "--rerun takes the cases of one run, whatever shard ran them: give no --shard "
                                  "(rerun each shard's DB, or the merged one)");
        return false;
    }
    if (o->force && !o->resume) {
        mm_cli_usage_error("run", "--force only goes with --resume");
        return false;
    }
    if (!o->rerun != !o->from) {
        mm_cli_usage_error("run", "--rerun failed|unexpected and --from RUN_ID go together");
        return false;
    }
    if (o->rerun && strcmp(o->rerun, "failed") != 0 && strcmp(o->rerun, "unexpected") != 0) {
        mm_cli_usage_error("run", "--rerun %s: use failed (every outcome but pass and na) or unexpected", o->rerun);
        return false;
    }
    if (o->jobs < 0 || o->jobs > 256) {
        mm_cli_usage_error("run", "--jobs %d: give 1 to 256", o->jobs);
        return false;
    }
    if (o->shard && !mm_shard_parse(o->shard, k, n, &err)) {
        mm_cli_usage_error("run", "--shard %s", err->message);
        return false;
    }
    return true;
}

int
mm_cmd_run(int argc, char **argv)
{
    g_auto(RunOptions) opt = { 0 };
    GOptionEntry entries[] = {
        { "db", 0, 0, G_OPTION_ARG_FILENAME, &opt.db,
          "Results DB (default: $MIGMATRIX_DB, the scenario's [run] db, " MM_DEFAULT_DB ")", "PATH" },
        { "filter", 'f', 0, G_OPTION_ARG_STRING, &opt.filter, "Only cases whose ID matches GLOB", "GLOB" },
        { "jobs", 'j', 0, G_OPTION_ARG_INT, &opt.jobs,
          "Cases at once, on disjoint hosts (default: the scenario's [run] jobs, 1)", "N" },
        { "shard", 0, 0, G_OPTION_ARG_STRING, &opt.shard,
          "Run shard K of N (by host group, or by host pair with hosts leased per case)", "K/N" },
        { "resume", 0, 0, G_OPTION_ARG_INT64, &opt.resume,
          "Continue run RUN_ID after its runner died: keep finished cases, run the rest", "RUN_ID" },
        { "force", 0, 0, G_OPTION_ARG_NONE, &opt.force, "With --resume: even though the scenario changed", NULL },
        { "rerun", 0, 0, G_OPTION_ARG_STRING, &opt.rerun,
          "Run the failed or unexpected cases of --from again, as a new run linked to it", "failed|unexpected" },
        { "from", 0, 0, G_OPTION_ARG_INT64, &opt.from, "The run whose cases --rerun takes", "RUN_ID" },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt.verbose,
          "A line as each phase starts and ends, with its own duration (without a TTY too)", NULL },
        { "no-preflight", 0, 0, G_OPTION_ARG_NONE, &opt.no_preflight,
          "Skip the check of files, models and modes on the hosts before running", NULL },
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(MmScenario) sc = NULL;
    g_autoptr(MmMatrix) m = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) store = NULL;
    g_autoptr(MmHostPool) pool = NULL;
    g_autoptr(MmRunRecord) old = NULL;
    g_auto(Work) w = { 0 };
    g_autofree char *token = NULL;
    g_autofree char *owner = NULL;
    g_autofree char *scenario_path = NULL;
    struct sigaction sa = { .sa_handler = on_signal };
    Runner rn = { .tty = isatty(STDERR_FILENO) };
    gint64 t_run = g_get_monotonic_time();
    guint unexpected = 0, infra = 0, k = 0, n = 0;
    const char *dbpath;
    gint64 run = 0;
    bool db_ok;

    if (!mm_cli_parse("run", "[SCENARIO]",
                      "Run every case of the matrix (or a shard, a rerun, the rest of a resumed run) against the "
                      "hosts and store the results.",
                      entries, &argc, &argv))
        return MM_EXIT_USAGE;
    if (!check_options(&opt, argc, &k, &n))
        return MM_EXIT_USAGE;
    rn.verbose = opt.verbose;

    /* A resume or rerun starts from a stored run: its DB first, then its scenario. */
    if (opt.resume || opt.rerun) {
        gint64 id = opt.resume ? opt.resume : opt.from;
        int rc;

        /* A SCENARIO given here names the DB (its [run] db) and is checked by the open. */
        if (!(store = mm_cli_open_results("run", opt.db, argc == 2 ? argv[1] : NULL, &rc)) ||
            !(old = mm_cli_matrix_run("run", store, id, &rc)))
            return rc;
        scenario_path = g_strdup(argc == 2 ? argv[1] : old->scenario_path);
        if (opt.resume && strcmp(old->status, "running") != 0 && strcmp(old->status, "interrupted") != 0) {
            fprintf(stderr, "migmatrix run: run %" G_GINT64_FORMAT " is %s: nothing to resume (to repeat its "
                            "failures, use --rerun failed --from %" G_GINT64_FORMAT ")\n",
                    id, old->status, id);
            return MM_EXIT_USAGE;
        }
        /* A run whose runner is alive is not resumed under it: its cases would run twice. */
        if (opt.resume && strcmp(old->status, "running") == 0 && old->owner && mm_owner_alive(old->owner) &&
            !opt.force) {
            fprintf(stderr, "migmatrix run: run %" G_GINT64_FORMAT " is still running (migmatrix %s); wait for it, "
                            "or stop it; --force resumes it anyway (if that process is not a migmatrix)\n",
                    id, old->owner);
            return MM_EXIT_USAGE;
        }
        if (opt.resume && old->merged_from) {
            fprintf(stderr, "migmatrix run: run %" G_GINT64_FORMAT " was merged from shards: resume each shard in "
                            "its own DB, then merge again\n", id);
            return MM_EXIT_USAGE;
        }
    } else {
        scenario_path = g_strdup(argv[1]);
    }
    if (!mm_cli_load_matrix(scenario_path, opt.resume ? old->filter : opt.filter, &sc, &m))
        return MM_EXIT_USAGE;
    if (opt.resume && g_strcmp0(sc->sha256, old->scenario_hash) != 0) {
        if (!opt.force) {
            fprintf(stderr,
                    "migmatrix run: %s changed since run %" G_GINT64_FORMAT " began (sha256 %.12s then, %.12s now): "
                    "its cases would not be what the run planned; restore the file, start a new run, or resume "
                    "anyway with --force\n",
                    scenario_path, opt.resume, old->scenario_hash ? old->scenario_hash : "-", sc->sha256);
            return MM_EXIT_USAGE;
        }
        fprintf(stderr, "warning: %s changed since run %" G_GINT64_FORMAT " began; resuming anyway (--force)\n",
                scenario_path, opt.resume);
    }
    rn.jobs = opt.jobs ? (guint)opt.jobs : sc->jobs ? sc->jobs : 1;

    dbpath = opt.resume || opt.rerun ? mm_store_path(store) : mm_cli_db_path(opt.db, sc);
    work_init(&w);
    if (opt.resume) {
        run = opt.resume;
        if (!select_resume(store, run, m, &w, &err)) {
            fprintf(stderr, "migmatrix run: %s\n", err->message);
            return mm_exit_for_error(err);
        }
    } else if (opt.rerun) {
        if (!select_rerun(store, opt.from, opt.rerun, m, &w))
            return MM_EXIT_INFRA;
        if (!w.cases->len) {
            fprintf(stderr, "migmatrix run: run %" G_GINT64_FORMAT " has no %s case to rerun\n", opt.from, opt.rerun);
            return MM_EXIT_OK;
        }
    } else {
        rn.leases = select_fresh(m, k, n, &w);
    }
    /* A resumed shard takes turns on shared hosts as it did. */
    if (opt.resume && old->shard && mm_shard_parse(old->shard, &k, &n, NULL))
        rn.leases = shard_select(m, k, n, NULL);

    /* What can be known on the hosts is checked before a night is spent: all of it at once,
     * and nothing is run (nor stored) while any of it is wrong. */
    pool = mm_host_pool_new();
    if (!opt.no_preflight) {
        MmMatrix view = { .cases = w.cases };
        MmPreflightStats stats;

        if (mm_cli_preflight("run", sc, &view, pool, &stats) > 0) {
            fprintf(stderr, "migmatrix run: the preflight found errors; nothing was run (fix them, or skip the "
                            "check with --no-preflight)\n");
            return MM_EXIT_USAGE;
        }
    }

    if (!store && !(store = mm_store_open(dbpath, &err)))
        goto db_error;
    mm_engine_identity(&token, &owner);
    if (opt.resume) {
        if (!mm_store_cases_reset(store, (const gint64 *)(void *)w.reset->data, w.reset->len, &err) ||
            !mm_store_run_resume(store, run, &err) || !mm_store_run_set_owner(store, run, owner, &err))
            goto db_error;
    } else {
        if (!(run = mm_store_run_begin(store, "run", sc->name, sc->path, sc->sha256, &err)) ||
            (opt.filter && !mm_store_run_set_filter(store, run, opt.filter, &err)) ||
            (opt.shard && !mm_store_run_set_shard(store, run, opt.shard, &err)) ||
            (opt.rerun && !mm_store_run_set_rerun(store, run, opt.from, opt.rerun, &err)) ||
            !mm_store_run_set_owner(store, run, owner, &err) ||
            !store_planned(store, run, &w, &err))
            goto db_error;
    }

    {
        g_autofree char *cases_text = mm_count(w.cases->len, "case", "cases");
        g_autofree char *left = mm_count(w.to_run->len, "case", "cases");

        if (opt.resume)
            fprintf(stderr, "run %" G_GINT64_FORMAT " resumed: %s to run of %s from %s; results in %s\n", run, left,
                    cases_text, sc->path, dbpath);
        else
            fprintf(stderr, "run %" G_GINT64_FORMAT ": %s from %s%s; results in %s\n", run, cases_text, sc->path,
                    opt.rerun ? " (a rerun)" : "", dbpath);
        if (rn.jobs > 1)
            fprintf(stderr, "up to %u cases at once\n", rn.jobs);
    }
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!snapshot_hosts(sc, &w, store, run, &err) || !store_predictions(sc, &w, store, &err))
        goto db_error;

    g_mutex_init(&rn.lock);
    g_cond_init(&rn.changed);
    rn.dbpath = dbpath;
    rn.released = g_hash_table_new(g_str_hash, g_str_equal);
    /* A lease outlives no case: every wait of the cycle at its longest, twice over, and 10 min. */
    rn.lease_secs = 2 * (2 * (gint64)sc->boot_timeout + 2 * (gint64)sc->migrate_timeout + 4 * (gint64)sc->alive_timeout) + 600;
    rn.o = (MmEngineOptions){ .sc = sc, .pool = pool, .run_id = run, .token = token, .owner = owner,
                              .on_phase = on_phase, .on_phase_end = on_phase_end };
    db_ok = run_cases(&rn, sc, store, &w, &err);
    g_mutex_clear(&rn.lock);
    g_cond_clear(&rn.changed);
    g_hash_table_unref(rn.released);
    if (!db_ok) {
        fprintf(stderr, "migmatrix run: the results DB failed, no further case was started: %s\n", err->message);
        /* Best effort on a DB that just failed: if it cannot take this either, the run stays
         * "running", which --resume accepts the same. */
        mm_store_run_end(store, run, "interrupted", NULL);
        fprintf(stderr, "after fixing the DB, continue with: migmatrix run --resume %" G_GINT64_FORMAT " --db %s\n",
                run, dbpath);
        return MM_EXIT_INFRA;
    }

    for (guint i = 0; i < w.results->len; i++) {
        const MmCaseResult *r = w.results->pdata[i];

        if (!r || r->interrupted)
            continue;
        unexpected += !is_expected(w.cases->pdata[i], r->outcome);
        infra += r->outcome == MM_OUTCOME_INFRA_ERROR;
    }
    if (!mm_store_run_end(store, run, mm_interrupted() ? "interrupted" : "done", &err))
        goto db_error;
    summary(&w, dbpath, run, mm_interrupted(), (g_get_monotonic_time() - t_run) / 1e6);
    if (mm_interrupted()) {
        fprintf(stderr, "continue it with: migmatrix run --resume %" G_GINT64_FORMAT " --db %s\n", run, dbpath);
        return MM_EXIT_INTERRUPTED;
    }
    if (infra)
        return MM_EXIT_INFRA;
    return unexpected ? MM_EXIT_UNEXPECTED : MM_EXIT_OK;

db_error:
    fprintf(stderr, "migmatrix run: %s\n", err->message);
    /* Once the run is stored, it can be finished later rather than started again. */
    if (run)
        fprintf(stderr, "after fixing the DB, continue with: migmatrix run --resume %" G_GINT64_FORMAT " --db %s\n",
                run, dbpath);
    return MM_EXIT_INFRA;
}
