/* store.c: SQLite persistence. Every statement is prepared with bound parameters.
 *
 * The schema version lives in PRAGMA user_version; migrations[] takes a DB from version
 * i to i+1 and never changes once released, so any older DB file opens and upgrades. */
#include "migmatrix/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "migmatrix/util.h"
#include "migmatrix/version.h"

struct _MmStore {
    sqlite3 *db;
    char *path;
    GHashTable *stmts;       /* SQL text → prepared statement, reused */
    int bind_rc;             /* the first failed bind since the last prepare, or SQLITE_OK */
};

static const char *const migrations[] = {
    /* 0 → 1: the first schema. */
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT,"
    "  scenario_path TEXT NOT NULL,"
    "  scenario_hash TEXT,"
    "  started_at TEXT NOT NULL,"
    "  ended_at TEXT,"
    "  status TEXT NOT NULL,"
    "  harness_version TEXT NOT NULL);"
    "CREATE TABLE hosts ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  UNIQUE (run_id, name));"
    "CREATE TABLE host_facts ("
    "  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  value TEXT,"
    "  PRIMARY KEY (host_id, name));"
    "CREATE TABLE cases ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  case_id TEXT NOT NULL,"
    "  src TEXT NOT NULL, dst TEXT NOT NULL, guest TEXT NOT NULL, mode TEXT NOT NULL,"
    "  repeat INTEGER NOT NULL DEFAULT 1,"
    "  state TEXT NOT NULL,"
    "  expected TEXT,"
    "  outcome TEXT, reason TEXT, error_text TEXT,"
    "  started_at TEXT, ended_at TEXT, duration_ms INTEGER,"
    "  UNIQUE (run_id, case_id));"
    "CREATE TABLE steps ("
    "  id INTEGER PRIMARY KEY,"
    "  case_row INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,"
    "  phase TEXT NOT NULL, started_at TEXT NOT NULL, duration_ms INTEGER NOT NULL,"
    "  ok INTEGER NOT NULL, message TEXT);"
    "CREATE TABLE artifacts ("
    "  id INTEGER PRIMARY KEY,"
    "  case_row INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL, name TEXT, content TEXT);",

    /* 1 → 2: what kind of run (run, probe, import); where a case came from, why it was
     * expected, whether it surprised us, and the CPU features a failure named (one row each,
     * so reports can count them). */
    "ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'run';"
    "ALTER TABLE cases ADD COLUMN matrix TEXT;"
    "ALTER TABLE cases ADD COLUMN expected_reason TEXT;"
    "ALTER TABLE cases ADD COLUMN unexpected INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE case_features ("
    "  case_row INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,"
    "  feature TEXT NOT NULL, kind TEXT NOT NULL,"
    "  PRIMARY KEY (case_row, feature, kind));"
    "CREATE INDEX steps_by_case ON steps(case_row);"
    "CREATE INDEX artifacts_by_case ON artifacts(case_row);",

    /* 2 → 3: job statistics of every migration attempt (failed and aborted ones too), per leg,
     * as columns a report can show; NULL where libvirt did not say. */
    "CREATE TABLE migrations ("
    "  id INTEGER PRIMARY KEY,"
    "  case_row INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,"
    "  leg TEXT NOT NULL,"
    "  ok INTEGER NOT NULL,"
    "  stats TEXT NOT NULL,"
    "  total_ms INTEGER, downtime_ms INTEGER,"
    "  data_total INTEGER, data_processed INTEGER, data_remaining INTEGER,"
    "  memory_iterations INTEGER, dirty_rate INTEGER,"
    "  postcopy INTEGER NOT NULL DEFAULT 0, postcopy_after_ms INTEGER);"
    "CREATE INDEX migrations_by_case ON migrations(case_row);",

    /* 3 → 4: a run limited to part of its matrix (run --filter) says so, with what. */
    "ALTER TABLE runs ADD COLUMN filter TEXT;",

    /* 4 → 5: runs at lab scale. A rerun names the run it repeats and what it took from it; a
     * shard says which (K/N); a merged run, the shard DBs it came from; a resumed run, how many
     * times it was resumed. A case keeps its place in the plan (shards hold part of it, merge
     * puts them back in order), a host its place in the scenario. */
    "ALTER TABLE runs ADD COLUMN parent_id INTEGER;"
    "ALTER TABLE runs ADD COLUMN rerun TEXT;"
    "ALTER TABLE runs ADD COLUMN shard TEXT;"
    "ALTER TABLE runs ADD COLUMN merged_from TEXT;"
    "ALTER TABLE runs ADD COLUMN resumed INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE runs ADD COLUMN owner TEXT;"
    "ALTER TABLE cases ADD COLUMN plan_index INTEGER;"
    "ALTER TABLE hosts ADD COLUMN position INTEGER;"
    "UPDATE cases SET plan_index = x.rn FROM (SELECT id, row_number() OVER (PARTITION BY run_id ORDER BY id) - 1"
    " AS rn FROM cases) AS x WHERE x.id = cases.id;",

    /* 5 → 6: a run's case counts (runs, and every command that names a run) come from an
     * index alone; read through the table, a 1e5-case run took 0.3 s. */
    "CREATE INDEX cases_by_run_state ON cases(run_id, unexpected, outcome);",

    /* 6 → 7: what `predict` foresaw for the case before it ran (an outcome name or "unknown"),
     * by which rule and why; a misprediction is a finding. */
    "ALTER TABLE cases ADD COLUMN predicted TEXT;"
    "ALTER TABLE cases ADD COLUMN predicted_rule TEXT;"
    "ALTER TABLE cases ADD COLUMN predicted_reason TEXT;",
};

G_STATIC_ASSERT(G_N_ELEMENTS(migrations) == MM_STORE_SCHEMA_VERSION);

/* The path, what was being done, SQLite's message, and the system's reason where there is one
 * ("disk I/O error (No space left on device)"): enough to fix it without a debugger. */
static bool
fail(MmStore *store, GError **error, const char *what)
{
    int sys = sqlite3_system_errno(store->db);

    g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: %s: %s%s%s%s", store->path, what, sqlite3_errmsg(store->db),
                sys ? " (" : "", sys ? g_strerror(sys) : "", sys ? ")" : "");
    return false;
}

static bool
exec(MmStore *store, const char *sql, GError **error)
{
    char *msg = NULL;

    if (sqlite3_exec(store->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: %s", store->path, msg ? msg : "sqlite error");
        sqlite3_free(msg);
        return false;
    }
    return true;
}

/* A cached prepared statement, reset and cleared for new bindings. */
static sqlite3_stmt *
prepare(MmStore *store, const char *sql, GError **error)
{
    sqlite3_stmt *st = g_hash_table_lookup(store->stmts, sql);

    store->bind_rc = SQLITE_OK;
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
    }
    if (sqlite3_prepare_v2(store->db, sql, -1, &st, NULL) != SQLITE_OK) {
        fail(store, error, "prepare");
        return NULL;
    }
    g_hash_table_insert(store->stmts, (gpointer)sql, st);
    return st;
}

/* Binds remember their first failure (out of memory, a bad index), and the statement's step
 * reports it: a value that was not bound is never silently written as NULL. */
static void
bound(MmStore *store, int rc)
{
    if (rc != SQLITE_OK && store->bind_rc == SQLITE_OK)
        store->bind_rc = rc;
}

static void
bind_text(MmStore *store, sqlite3_stmt *st, int i, const char *s)
{
    bound(store, s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i));
}

static void
bind_int64(MmStore *store, sqlite3_stmt *st, int i, gint64 v)
{
    bound(store, sqlite3_bind_int64(st, i, v));
}

static bool
bind_failed(MmStore *store, GError **error)
{
    if (store->bind_rc == SQLITE_OK)
        return false;
    g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: bind: %s", store->path, sqlite3_errstr(store->bind_rc));
    return true;
}

static bool
step_done(MmStore *store, sqlite3_stmt *st, GError **error)
{
    int rc;

    if (bind_failed(store, error))
        return false;
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fail(store, error, "write");
        sqlite3_reset(st);
        return false;
    }
    sqlite3_reset(st);
    return true;
}

/* A row loop ends at SQLITE_DONE; anything else (busy, I/O error, corruption) is an error,
 * never a short result. Resets ST either way. */
static bool
rows_done(MmStore *store, sqlite3_stmt *st, int rc, const char *what, GError **error)
{
    bool ok = rc == SQLITE_DONE;

    if (!ok)
        fail(store, error, what);
    sqlite3_reset(st);
    return ok;
}

/* The first row of a query (its first column as an integer), for single-value reads. */
static bool
step_row(MmStore *store, sqlite3_stmt *st, const char *what, gint64 *value, GError **error)
{
    int rc;

    if (bind_failed(store, error))
        return false;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE)
            g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: %s: no row", store->path, what);
        else
            fail(store, error, what);
        sqlite3_reset(st);
        return false;
    }
    *value = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return true;
}

static char *
col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? g_strdup((const char *)s) : NULL;
}

static bool
migrate(MmStore *store, GError **error)
{
    int version;
    gint64 v;
    sqlite3_stmt *st;

    /* IMMEDIATE: two processes opening a new DB at once must not both migrate it. */
    if (!exec(store, "BEGIN IMMEDIATE", error))
        return false;
    if (!(st = prepare(store, "PRAGMA user_version", error)) || !step_row(store, st, "schema version", &v, error))
        goto rollback;
    version = (int)v;
    if (version > MM_STORE_SCHEMA_VERSION) {
        g_set_error(error, MM_ERROR, MM_ERROR_INFRA,
                    "%s: schema version %d is newer than this migmatrix knows (%d); use a newer migmatrix "
                    "or another --db",
                    store->path, version, MM_STORE_SCHEMA_VERSION);
        goto rollback;
    }
    for (; version < MM_STORE_SCHEMA_VERSION; version++) {
        g_autofree char *set = g_strdup_printf("PRAGMA user_version = %d", version + 1);

        if (!exec(store, migrations[version], error) || !exec(store, set, error))
            goto rollback;
    }
    return exec(store, "COMMIT", error);

rollback:
    exec(store, "ROLLBACK", NULL);
    return false;
}

static void
finalize_stmt(gpointer st)
{
    sqlite3_finalize(st);
}

MmStore *
mm_store_open(const char *path, GError **error)
{
    g_autoptr(MmStore) store = g_new0(MmStore, 1);
    g_autofree char *dir = g_path_get_dirname(path);

    store->path = g_strdup(path);
    store->stmts = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, finalize_stmt);
    if (g_mkdir_with_parents(dir, 0755) != 0) {
        g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: cannot create directory %s: %s", path, dir,
                    g_strerror(errno));
        return NULL;
    }
    if (sqlite3_open_v2(path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        fail(store, error, "open");
        return NULL;
    }
    /* Another writer (a second shard on this runner, a report) holds the lock for
     * milliseconds at a time: wait for it rather than fail. */
    if (sqlite3_busy_timeout(store->db, 15000) != SQLITE_OK) {
        fail(store, error, "busy timeout");
        return NULL;
    }
    if (!exec(store, "PRAGMA journal_mode = WAL", error) || !exec(store, "PRAGMA foreign_keys = ON", error) ||
        !exec(store, "PRAGMA synchronous = NORMAL", error) || !migrate(store, error))
        return NULL;
    return g_steal_pointer(&store);
}

void
mm_store_close(MmStore *store)
{
    if (!store)
        return;
    g_clear_pointer(&store->stmts, g_hash_table_unref);
    /* _v2: a statement still open elsewhere (a report's step cursor) keeps the connection
     * until it is finalised, instead of leaking it with SQLITE_BUSY. */
    if (store->db)
        sqlite3_close_v2(store->db);
    g_free(store->path);
    g_free(store);
}

int
mm_store_schema_version(MmStore *store)
{
    sqlite3_stmt *st = prepare(store, "PRAGMA user_version", NULL);
    gint64 v;

    if (!st || !step_row(store, st, "schema version", &v, NULL))
        return -1;
    return (int)v;
}

const char *
mm_store_path(MmStore *store)
{
    return store->path;
}

bool mm_store_begin(MmStore *store, GError **error) { return exec(store, "BEGIN IMMEDIATE", error); }
bool mm_store_commit(MmStore *store, GError **error) { return exec(store, "COMMIT", error); }
void mm_store_rollback(MmStore *store) { exec(store, "ROLLBACK", NULL); }

char *
mm_store_now(void)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *base = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S");

    return g_strdup_printf("%s.%03dZ", base, g_date_time_get_microsecond(now) / 1000);
}

/* ---- runs --------------------------------------------------------------------------------- */

void
mm_run_record_free(MmRunRecord *r)
{
    if (!r)
        return;
    g_free(r->name);
    g_free(r->scenario_path);
    g_free(r->scenario_hash);
    g_free(r->started_at);
    g_free(r->ended_at);
    g_free(r->status);
    g_free(r->harness_version);
    g_free(r->kind);
    g_free(r->filter);
    g_free(r->rerun);
    g_free(r->shard);
    g_free(r->merged_from);
    g_free(r->owner);
    g_free(r);
}

gint64
mm_store_run_begin(MmStore *store, const char *kind, const char *name, const char *scenario_path,
                   const char *scenario_hash, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "INSERT INTO runs (name, scenario_path, scenario_hash, started_at, status, "
                               "harness_version, kind) VALUES (?, ?, ?, ?, 'running', ?, ?)",
                               error);
    g_autofree char *now = mm_store_now();

    if (!st)
        return 0;
    bind_text(store, st, 1, name);
    bind_text(store, st, 2, scenario_path);
    bind_text(store, st, 3, scenario_hash);
    bind_text(store, st, 4, now);
    bind_text(store, st, 5, MM_VERSION);
    bind_text(store, st, 6, kind);
    if (!step_done(store, st, error))
        return 0;
    return sqlite3_last_insert_rowid(store->db);
}

bool
mm_store_run_end(MmStore *store, gint64 run_id, const char *status, GError **error)
{
    sqlite3_stmt *st = prepare(store, "UPDATE runs SET status = ?, ended_at = ? WHERE id = ?", error);
    g_autofree char *now = mm_store_now();

    if (!st)
        return false;
    bind_text(store, st, 1, status);
    bind_text(store, st, 2, now);
    bind_int64(store, st, 3, run_id);
    return step_done(store, st, error);
}

/* The runs, newest first; only RUN_ID's when it is not 0. Each run's cases are counted in one
 * pass (three correlated counts read a 1e5-case run three times). */
static GPtrArray *
runs_read(MmStore *store, gint64 run_id, GError **error)
{
#define RUNS_SELECT                                                                                          \
    "SELECT r.id, r.name, r.scenario_path, r.scenario_hash, r.started_at, r.ended_at, r.status,"            \
    " r.harness_version, r.kind, coalesce(c.n, 0), coalesce(c.u, 0), coalesce(c.nr, 0),"                     \
    " r.filter, r.parent_id, r.rerun, r.shard, r.merged_from, r.resumed, r.owner FROM runs r LEFT JOIN"      \
    " (SELECT run_id, count(*) AS n, sum(unexpected != 0) AS u, sum(outcome IS NULL) AS nr FROM cases"
    sqlite3_stmt *st = prepare(store,
                               run_id ? RUNS_SELECT " WHERE run_id = ?1 GROUP BY run_id) c ON c.run_id = r.id"
                                                    " WHERE r.id = ?1"
                                      : RUNS_SELECT " GROUP BY run_id) c ON c.run_id = r.id ORDER BY r.id DESC",
                               error);
#undef RUNS_SELECT
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)mm_run_record_free);
    int rc;

    if (!st)
        return NULL;
    if (run_id)
        bind_int64(store, st, 1, run_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        MmRunRecord *r = g_new0(MmRunRecord, 1);

        r->id = sqlite3_column_int64(st, 0);
        r->name = col_text(st, 1);
        r->scenario_path = col_text(st, 2);
        r->scenario_hash = col_text(st, 3);
        r->started_at = col_text(st, 4);
        r->ended_at = col_text(st, 5);
        r->status = col_text(st, 6);
        r->harness_version = col_text(st, 7);
        r->kind = col_text(st, 8);
        r->n_cases = sqlite3_column_int64(st, 9);
        r->n_unexpected = sqlite3_column_int64(st, 10);
        r->n_not_run = sqlite3_column_int64(st, 11);
        r->filter = col_text(st, 12);
        r->parent_id = sqlite3_column_int64(st, 13);
        r->rerun = col_text(st, 14);
        r->shard = col_text(st, 15);
        r->merged_from = col_text(st, 16);
        r->resumed = sqlite3_column_int64(st, 17);
        r->owner = col_text(st, 18);
        g_ptr_array_add(out, r);
    }
    if (!rows_done(store, st, rc, "read runs", error))
        return NULL;
    return g_steal_pointer(&out);
}

GPtrArray *
mm_store_runs_list(MmStore *store, GError **error)
{
    return runs_read(store, 0, error);
}

MmRunRecord *
mm_store_run_get(MmStore *store, gint64 run_id, GError **error)
{
    g_autoptr(GPtrArray) runs = run_id > 0 ? runs_read(store, run_id, error) : NULL;

    if (runs && runs->len)
        return g_ptr_array_steal_index(runs, 0);
    if (runs || run_id <= 0)
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "%s has no run %" G_GINT64_FORMAT "; `migmatrix runs` lists them",
                    store->path, run_id);
    return NULL;
}

/* SQL of the form "UPDATE … SET one = ? WHERE id = ?", with VALUE and ID. */
static bool
update_text(MmStore *store, const char *sql, const char *value, gint64 id, GError **error)
{
    sqlite3_stmt *st = prepare(store, sql, error);

    if (!st)
        return false;
    bind_text(store, st, 1, value);
    bind_int64(store, st, 2, id);
    return step_done(store, st, error);
}

bool
mm_store_run_set_filter(MmStore *store, gint64 run_id, const char *filter, GError **error)
{
    return update_text(store, "UPDATE runs SET filter = ? WHERE id = ?", filter, run_id, error);
}

bool
mm_store_run_set_shard(MmStore *store, gint64 run_id, const char *shard, GError **error)
{
    return update_text(store, "UPDATE runs SET shard = ? WHERE id = ?", shard, run_id, error);
}

bool
mm_store_run_set_rerun(MmStore *store, gint64 run_id, gint64 parent_id, const char *what, GError **error)
{
    sqlite3_stmt *st = prepare(store, "UPDATE runs SET parent_id = ?, rerun = ? WHERE id = ?", error);

    if (!st)
        return false;
    bind_int64(store, st, 1, parent_id);
    bind_text(store, st, 2, what);
    bind_int64(store, st, 3, run_id);
    return step_done(store, st, error);
}

bool
mm_store_run_resume(MmStore *store, gint64 run_id, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "UPDATE runs SET status = 'running', ended_at = NULL, resumed = resumed + 1"
                               " WHERE id = ?",
                               error);

    if (!st)
        return false;
    bind_int64(store, st, 1, run_id);
    return step_done(store, st, error);
}

bool
mm_store_run_set_owner(MmStore *store, gint64 run_id, const char *owner, GError **error)
{
    return update_text(store, "UPDATE runs SET owner = ? WHERE id = ?", owner, run_id, error);
}

/* ---- cases ---------------------------------------------------------------------------------- */

void
mm_case_record_free(MmCaseRecord *r)
{
    if (!r)
        return;
    g_free(r->case_id);
    g_free(r->src);
    g_free(r->dst);
    g_free(r->guest);
    g_free(r->mode);
    g_free(r->matrix);
    g_free(r->state);
    g_free(r->expected);
    g_free(r->expected_reason);
    g_free(r->outcome);
    g_free(r->reason);
    g_free(r->error_text);
    g_free(r->started_at);
    g_free(r->ended_at);
    g_free(r->predicted);
    g_free(r->predicted_rule);
    g_free(r->predicted_reason);
    g_free(r);
}

gint64
mm_store_case_add(MmStore *store, const MmCaseRecord *rec, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "INSERT INTO cases (run_id, case_id, src, dst, guest, mode, repeat, matrix, state,"
                               " expected, expected_reason, outcome, reason, error_text, unexpected, started_at,"
                               " ended_at, duration_ms, plan_index)"
                               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               error);
    if (!st)
        return 0;
    bind_int64(store, st, 1, rec->run_id);
    bind_text(store, st, 2, rec->case_id);
    bind_text(store, st, 3, rec->src);
    bind_text(store, st, 4, rec->dst);
    bind_text(store, st, 5, rec->guest);
    bind_text(store, st, 6, rec->mode);
    bind_int64(store, st, 7, rec->repeat ? rec->repeat : 1);
    bind_text(store, st, 8, rec->matrix);
    bind_text(store, st, 9, rec->state ? rec->state : "planned");
    bind_text(store, st, 10, rec->expected);
    bind_text(store, st, 11, rec->expected_reason);
    bind_text(store, st, 12, rec->outcome);
    bind_text(store, st, 13, rec->reason);
    bind_text(store, st, 14, rec->error_text);
    bind_int64(store, st, 15, rec->unexpected);
    bind_text(store, st, 16, rec->started_at);
    bind_text(store, st, 17, rec->ended_at);
    if (rec->duration_ms >= 0 && rec->ended_at)
        bind_int64(store, st, 18, rec->duration_ms);
    bind_int64(store, st, 19, rec->plan_index);
    if (!step_done(store, st, error))
        return 0;
    return sqlite3_last_insert_rowid(store->db);
}

bool
mm_store_case_set_running(MmStore *store, gint64 case_row, GError **error)
{
    sqlite3_stmt *st = prepare(store, "UPDATE cases SET state = 'running', started_at = ? WHERE id = ?", error);
    g_autofree char *now = mm_store_now();

    if (!st)
        return false;
    bind_text(store, st, 1, now);
    bind_int64(store, st, 2, case_row);
    return step_done(store, st, error);
}

bool
mm_store_case_finish(MmStore *store, gint64 case_row, const char *outcome, const char *reason,
                     const char *error_text, bool unexpected, gint64 duration_ms, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "UPDATE cases SET state = 'done', outcome = ?, reason = ?, error_text = ?,"
                               " unexpected = ?, ended_at = ?, duration_ms = ? WHERE id = ?",
                               error);
    g_autofree char *now = mm_store_now();

    if (!st)
        return false;
    bind_text(store, st, 1, outcome);
    bind_text(store, st, 2, reason);
    bind_text(store, st, 3, error_text);
    bind_int64(store, st, 4, unexpected);
    bind_text(store, st, 5, now);
    bind_int64(store, st, 6, duration_ms);
    bind_int64(store, st, 7, case_row);
    return step_done(store, st, error);
}

bool
mm_store_cases_reset(MmStore *store, const gint64 *rows, guint n_rows, GError **error)
{
    /* What a case left when its runner died goes with it: resumed, it is run as if for the
     * first time, and its rows are only the new attempt's. */
    static const char *const sql[] = {
        "DELETE FROM steps WHERE case_row = ?",
        "DELETE FROM artifacts WHERE case_row = ?",
        "DELETE FROM case_features WHERE case_row = ?",
        "DELETE FROM migrations WHERE case_row = ?",
        ("UPDATE cases SET state = 'planned', outcome = NULL, reason = NULL, error_text = NULL, unexpected = 0,"
         " started_at = NULL, ended_at = NULL, duration_ms = NULL WHERE id = ?"),
    };

    if (!mm_store_begin(store, error))
        return false;
    for (guint r = 0; r < n_rows; r++)
        for (guint i = 0; i < G_N_ELEMENTS(sql); i++) {
            sqlite3_stmt *st = prepare(store, sql[i], error);

            if (!st)
                goto rollback;
            bind_int64(store, st, 1, rows[r]);
            if (!step_done(store, st, error))
                goto rollback;
        }
    return mm_store_commit(store, error);

rollback:
    mm_store_rollback(store);
    return false;
}

bool
mm_store_case_set_state(MmStore *store, gint64 case_row, const char *state, GError **error)
{
    return update_text(store, "UPDATE cases SET state = ? WHERE id = ?", state, case_row, error);
}

GPtrArray *
mm_store_cases_list(MmStore *store, gint64 run_id, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "SELECT id, run_id, case_id, src, dst, guest, mode, repeat, matrix, state, expected,"
                               " expected_reason, outcome, reason, error_text, unexpected, started_at, ended_at,"
                               " duration_ms, plan_index, predicted, predicted_rule, predicted_reason"
                               " FROM cases WHERE run_id = ? ORDER BY id",
                               error);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)mm_case_record_free);
    int rc;

    if (!st)
        return NULL;
    bind_int64(store, st, 1, run_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        MmCaseRecord *r = g_new0(MmCaseRecord, 1);

        r->id = sqlite3_column_int64(st, 0);
        r->run_id = sqlite3_column_int64(st, 1);
        r->case_id = col_text(st, 2);
        r->src = col_text(st, 3);
        r->dst = col_text(st, 4);
        r->guest = col_text(st, 5);
        r->mode = col_text(st, 6);
        r->repeat = sqlite3_column_int(st, 7);
        r->matrix = col_text(st, 8);
        r->state = col_text(st, 9);
        r->expected = col_text(st, 10);
        r->expected_reason = col_text(st, 11);
        r->outcome = col_text(st, 12);
        r->reason = col_text(st, 13);
        r->error_text = col_text(st, 14);
        r->unexpected = sqlite3_column_int(st, 15);
        r->started_at = col_text(st, 16);
        r->ended_at = col_text(st, 17);
        r->duration_ms = sqlite3_column_type(st, 18) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 18);
        r->plan_index = sqlite3_column_int64(st, 19);
        r->predicted = col_text(st, 20);
        r->predicted_rule = col_text(st, 21);
        r->predicted_reason = col_text(st, 22);
        g_ptr_array_add(out, r);
    }
    if (!rows_done(store, st, rc, "read cases", error))
        return NULL;
    return g_steal_pointer(&out);
}

bool
mm_store_case_set_prediction(MmStore *store, gint64 row, const char *predicted, const char *rule, const char *reason,
                             GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "UPDATE cases SET predicted = ?, predicted_rule = ?, predicted_reason = ? WHERE id = ?"
                               " AND predicted IS NULL",
                               error);

    if (!st)
        return false;
    bind_text(store, st, 1, predicted);
    bind_text(store, st, 2, rule);
    bind_text(store, st, 3, reason);
    bind_int64(store, st, 4, row);
    return step_done(store, st, error);
}

bool
mm_case_mispredicted(const MmCaseRecord *r)
{
    bool pred_pass, got_pass;

    if (!r->predicted || !r->outcome || strcmp(r->predicted, "unknown") == 0 || strcmp(r->outcome, "na") == 0 ||
        strcmp(r->predicted, "na") == 0 || strcmp(r->outcome, "infra-error") == 0)
        return false;
    pred_pass = strcmp(r->predicted, "pass") == 0;
    got_pass = strcmp(r->outcome, "pass") == 0;
    return pred_pass != got_pass;
}

/* ---- steps, artifacts, features ---------------------------------------------------------------- */

gint64
mm_store_step_add(MmStore *store, gint64 case_row, const char *phase, const char *started_at,
                  gint64 duration_ms, bool ok, const char *message, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "INSERT INTO steps (case_row, phase, started_at, duration_ms, ok, message)"
                               " VALUES (?, ?, ?, ?, ?, ?)",
                               error);
    if (!st)
        return 0;
    bind_int64(store, st, 1, case_row);
    bind_text(store, st, 2, phase);
    bind_text(store, st, 3, started_at);
    bind_int64(store, st, 4, duration_ms);
    bind_int64(store, st, 5, ok);
    bind_text(store, st, 6, message);
    if (!step_done(store, st, error))
        return 0;
    return sqlite3_last_insert_rowid(store->db);
}

bool
mm_store_artifact_add(MmStore *store, gint64 case_row, const char *kind, const char *name, const char *content,
                      GError **error)
{
    sqlite3_stmt *st = prepare(store, "INSERT INTO artifacts (case_row, kind, name, content) VALUES (?, ?, ?, ?)",
                               error);
    if (!st)
        return false;
    bind_int64(store, st, 1, case_row);
    bind_text(store, st, 2, kind);
    bind_text(store, st, 3, name);
    bind_text(store, st, 4, content);
    return step_done(store, st, error);
}

bool
mm_store_feature_add(MmStore *store, gint64 case_row, const char *feature, const char *kind, GError **error)
{
    sqlite3_stmt *st = prepare(store, "INSERT OR IGNORE INTO case_features (case_row, feature, kind) VALUES (?, ?, ?)",
                               error);
    if (!st)
        return false;
    bind_int64(store, st, 1, case_row);
    bind_text(store, st, 2, feature);
    bind_text(store, st, 3, kind);
    return step_done(store, st, error);
}

/* ---- migration job statistics ------------------------------------------------------------------ */

static void
bind_known(MmStore *store, sqlite3_stmt *st, int i, gint64 v)
{
    bound(store, v >= 0 ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i));
}

static gint64
col_known(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, i);
}

void
mm_migration_record_free(MmMigrationRecord *r)
{
    if (!r)
        return;
    g_free(r->leg);
    g_free(r->stats);
    g_free(r);
}

bool
mm_store_migration_add(MmStore *store, gint64 case_row, const MmMigrationRecord *m, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "INSERT INTO migrations (case_row, leg, ok, stats, total_ms, downtime_ms, data_total,"
                               " data_processed, data_remaining, memory_iterations, dirty_rate, postcopy,"
                               " postcopy_after_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               error);
    if (!st)
        return false;
    bind_int64(store, st, 1, case_row);
    bind_text(store, st, 2, m->leg);
    bind_int64(store, st, 3, m->ok);
    bind_text(store, st, 4, m->stats ? m->stats : "none");
    bind_known(store, st, 5, m->total_ms);
    bind_known(store, st, 6, m->downtime_ms);
    bind_known(store, st, 7, m->data_total);
    bind_known(store, st, 8, m->data_processed);
    bind_known(store, st, 9, m->data_remaining);
    bind_known(store, st, 10, m->memory_iterations);
    bind_known(store, st, 11, m->dirty_rate);
    bind_int64(store, st, 12, m->postcopy);
    bind_known(store, st, 13, m->postcopy_after_ms);
    return step_done(store, st, error);
}

#define MIGRATION_COLUMNS                                                                                    \
    "m.leg, m.ok, m.stats, m.total_ms, m.downtime_ms, m.data_total, m.data_processed, m.data_remaining,"   \
    " m.memory_iterations, m.dirty_rate, m.postcopy, m.postcopy_after_ms"

static MmMigrationRecord *
read_migration(sqlite3_stmt *st, int first)
{
    MmMigrationRecord *m = g_new0(MmMigrationRecord, 1);

    m->leg = col_text(st, first);
    m->ok = sqlite3_column_int(st, first + 1) != 0;
    m->stats = col_text(st, first + 2);
    m->total_ms = col_known(st, first + 3);
    m->downtime_ms = col_known(st, first + 4);
    m->data_total = col_known(st, first + 5);
    m->data_processed = col_known(st, first + 6);
    m->data_remaining = col_known(st, first + 7);
    m->memory_iterations = col_known(st, first + 8);
    m->dirty_rate = col_known(st, first + 9);
    m->postcopy = sqlite3_column_int(st, first + 10) != 0;
    m->postcopy_after_ms = col_known(st, first + 11);
    return m;
}

GPtrArray *
mm_store_migrations_list(MmStore *store, gint64 case_row, GError **error)
{
    sqlite3_stmt *st = prepare(store, "SELECT " MIGRATION_COLUMNS " FROM migrations m WHERE m.case_row = ? ORDER BY m.id",
                               error);
    g_autoptr(GPtrArray) out = NULL;
    int rc;

    if (!st)
        return NULL;
    out = g_ptr_array_new_with_free_func((GDestroyNotify)mm_migration_record_free);
    bind_int64(store, st, 1, case_row);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        g_ptr_array_add(out, read_migration(st, 0));
    if (!rows_done(store, st, rc, "read migrations", error))
        return NULL;
    return g_steal_pointer(&out);
}

/* ---- hosts --------------------------------------------------------------------------------------- */

static gint64
host_row(MmStore *store, gint64 run_id, const char *host, GError **error)
{
    sqlite3_stmt *st = prepare(store, "INSERT OR IGNORE INTO hosts (run_id, name) VALUES (?, ?)", error);
    gint64 id = 0;

    if (!st)
        return 0;
    bind_int64(store, st, 1, run_id);
    bind_text(store, st, 2, host);
    if (!step_done(store, st, error))
        return 0;
    if (!(st = prepare(store, "SELECT id FROM hosts WHERE run_id = ? AND name = ?", error)))
        return 0;
    bind_int64(store, st, 1, run_id);
    bind_text(store, st, 2, host);
    if (!step_row(store, st, "read host", &id, error))
        return 0;
    return id;
}

bool
mm_store_host_fact_set(MmStore *store, gint64 run_id, const char *host, const char *fact, const char *value,
                       GError **error)
{
    gint64 id = host_row(store, run_id, host, error);
    sqlite3_stmt *st;

    if (!id)
        return false;
    if (!(st = prepare(store, "INSERT OR REPLACE INTO host_facts (host_id, name, value) VALUES (?, ?, ?)", error)))
        return false;
    bind_int64(store, st, 1, id);
    bind_text(store, st, 2, fact);
    bind_text(store, st, 3, value);
    return step_done(store, st, error);
}

bool
mm_store_host_set_position(MmStore *store, gint64 run_id, const char *host, gint64 position, GError **error)
{
    gint64 id = host_row(store, run_id, host, error);
    sqlite3_stmt *st;

    if (!id || !(st = prepare(store, "UPDATE hosts SET position = ? WHERE id = ?", error)))
        return false;
    bind_int64(store, st, 1, position);
    bind_int64(store, st, 2, id);
    return step_done(store, st, error);
}

GHashTable *
mm_store_host_facts(MmStore *store, gint64 run_id, const char *host, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "SELECT f.name, f.value FROM host_facts f JOIN hosts h ON h.id = f.host_id"
                               " WHERE h.run_id = ? AND h.name = ?",
                               error);
    g_autoptr(GHashTable) out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    int rc;

    if (!st)
        return NULL;
    bind_int64(store, st, 1, run_id);
    bind_text(store, st, 2, host);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char *v = col_text(st, 1);
        g_hash_table_insert(out, col_text(st, 0), v ? v : g_strdup(""));
    }
    if (!rows_done(store, st, rc, "read host facts", error))
        return NULL;
    return g_steal_pointer(&out);
}

bool
mm_store_host_latest(MmStore *store, const char *host, const char *fact, gint64 *run_id, char **when, char **value,
                     GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "SELECT r.id, r.started_at, f.value FROM hosts h JOIN runs r ON r.id = h.run_id"
                               " JOIN host_facts f ON f.host_id = h.id AND f.name = ?"
                               " WHERE h.name = ? ORDER BY r.started_at DESC, r.id DESC LIMIT 1",
                               error);
    int rc;

    *run_id = 0;
    if (when)
        *when = NULL;
    if (value)
        *value = NULL;
    if (!st)
        return false;
    bind_text(store, st, 1, fact);
    bind_text(store, st, 2, host);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        *run_id = sqlite3_column_int64(st, 0);
        if (when)
            *when = col_text(st, 1);
        if (value)
            *value = col_text(st, 2);
        rc = sqlite3_step(st);
    }
    return rows_done(store, st, rc, "read host facts", error);
}

GPtrArray *
mm_store_host_names_with(MmStore *store, const char *fact, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "SELECT DISTINCT h.name FROM hosts h JOIN host_facts f ON f.host_id = h.id"
                               " AND f.name = ? ORDER BY h.name",
                               error);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    int rc;

    if (!st)
        return NULL;
    bind_text(store, st, 1, fact);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        g_ptr_array_add(out, col_text(st, 0));
    if (!rows_done(store, st, rc, "read hosts", error))
        return NULL;
    return g_steal_pointer(&out);
}

GPtrArray *
mm_store_hosts_list(MmStore *store, gint64 run_id, GError **error)
{
    /* Scenario order (position); hosts recorded before positions were kept, in first-seen order. */
    sqlite3_stmt *st = prepare(store, "SELECT name FROM hosts WHERE run_id = ? ORDER BY coalesce(position, id), id",
                               error);
    g_autoptr(GPtrArray) out = NULL;
    int rc;

    if (!st)
        return NULL;
    out = g_ptr_array_new_with_free_func(g_free);
    bind_int64(store, st, 1, run_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        g_ptr_array_add(out, col_text(st, 0));
    if (!rows_done(store, st, rc, "read hosts", error))
        return NULL;
    return g_steal_pointer(&out);
}

/* ---- reading a case's details ---------------------------------------------------------------- */

void
mm_step_record_free(MmStepRecord *r)
{
    if (!r)
        return;
    g_free(r->phase);
    g_free(r->started_at);
    g_free(r->message);
    g_free(r);
}

void
mm_artifact_record_free(MmArtifactRecord *r)
{
    if (!r)
        return;
    g_free(r->kind);
    g_free(r->name);
    g_free(r->content);
    g_free(r);
}

/* Row decoders shared by the per-case and the whole-run readers: columns from FIRST on. */
static MmStepRecord *
read_step(sqlite3_stmt *st, int first, bool intern_phase)
{
    MmStepRecord *r = g_new0(MmStepRecord, 1);

    /* A dozen phase names over hundreds of thousands of rows: bulk readers share them. */
    r->phase = intern_phase ? (char *)g_intern_string((const char *)sqlite3_column_text(st, first))
                            : col_text(st, first);
    r->started_at = col_text(st, first + 1);
    r->duration_ms = sqlite3_column_int64(st, first + 2);
    r->ok = sqlite3_column_int(st, first + 3);
    r->message = col_text(st, first + 4);
    return r;
}

static MmArtifactRecord *
read_artifact(sqlite3_stmt *st, int first)
{
    MmArtifactRecord *r = g_new0(MmArtifactRecord, 1);

    r->kind = col_text(st, first);
    r->name = col_text(st, first + 1);
    r->content = col_text(st, first + 2);
    return r;
}

GPtrArray *
mm_store_steps_list(MmStore *store, gint64 case_row, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "SELECT phase, started_at, duration_ms, ok, message FROM steps WHERE case_row = ?"
                               " ORDER BY id",
                               error);
    g_autoptr(GPtrArray) out = NULL;
    int rc;

    if (!st)
        return NULL;
    out = g_ptr_array_new_with_free_func((GDestroyNotify)mm_step_record_free);
    bind_int64(store, st, 1, case_row);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        g_ptr_array_add(out, read_step(st, 0, false));
    if (!rows_done(store, st, rc, "read steps", error))
        return NULL;
    return g_steal_pointer(&out);
}

GPtrArray *
mm_store_artifacts_list(MmStore *store, gint64 case_row, GError **error)
{
    sqlite3_stmt *st = prepare(store, "SELECT kind, name, content FROM artifacts WHERE case_row = ? ORDER BY id", error);
    g_autoptr(GPtrArray) out = NULL;
    int rc;

    if (!st)
        return NULL;
    out = g_ptr_array_new_with_free_func((GDestroyNotify)mm_artifact_record_free);
    bind_int64(store, st, 1, case_row);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        g_ptr_array_add(out, read_artifact(st, 0));
    if (!rows_done(store, st, rc, "read artifacts", error))
        return NULL;
    return g_steal_pointer(&out);
}

GPtrArray *
mm_store_features_list(MmStore *store, gint64 case_row, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "SELECT kind || ':' || feature FROM case_features WHERE case_row = ?"
                               " ORDER BY kind, feature",
                               error);
    g_autoptr(GPtrArray) out = NULL;
    int rc;

    if (!st)
        return NULL;
    out = g_ptr_array_new_with_free_func(g_free);
    bind_int64(store, st, 1, case_row);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        g_ptr_array_add(out, col_text(st, 0));
    if (!rows_done(store, st, rc, "read features", error))
        return NULL;
    return g_steal_pointer(&out);
}

GHashTable *
mm_store_history(MmStore *store, const char *scenario_path, gint64 upto, guint n, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "SELECT c.case_id, coalesce(c.outcome, '') FROM cases c"
                               " WHERE c.run_id IN (SELECT id FROM runs WHERE kind = 'run' AND scenario_path = ?"
                               "                    AND id <= ? ORDER BY id DESC LIMIT ?)"
                               " ORDER BY c.run_id, c.id",
                               error);
    g_autoptr(GHashTable) out = NULL;
    int rc;

    if (!st)
        return NULL;
    out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
    bind_text(store, st, 1, scenario_path);
    bind_int64(store, st, 2, upto);
    bind_int64(store, st, 3, n);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        GPtrArray *list = g_hash_table_lookup(out, id);

        if (!list) {
            list = g_ptr_array_new_with_free_func(g_free);
            g_hash_table_insert(out, g_strdup(id), list);
        }
        g_ptr_array_add(list, col_text(st, 1));
    }
    if (!rows_done(store, st, rc, "read history", error))
        return NULL;
    return g_steal_pointer(&out);
}

/* Steps read by the cursor have an interned phase name. */
static void
bulk_step_free(MmStepRecord *r)
{
    g_free(r->started_at);
    g_free(r->message);
    g_free(r);
}

/* case row → GPtrArray, for the bulk readers. */
static GPtrArray *
bucket(GHashTable *t, gint64 row, GDestroyNotify free_func)
{
    GPtrArray *a = g_hash_table_lookup(t, &row);

    if (!a) {
        gint64 *k = g_new(gint64, 1);
        *k = row;
        a = g_ptr_array_new_with_free_func(free_func);
        g_hash_table_insert(t, k, a);
    }
    return a;
}

static GHashTable *
row_table(void)
{
    return g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
}

GHashTable *
mm_store_run_artifacts(MmStore *store, gint64 run_id, const char *const *kinds, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "SELECT a.case_row, a.kind, a.name, a.content FROM artifacts a"
                               " JOIN cases c ON c.id = a.case_row WHERE c.run_id = ? ORDER BY a.id",
                               error);
    g_autoptr(GHashTable) out = NULL;
    int rc;

    if (!st)
        return NULL;
    out = row_table();
    bind_int64(store, st, 1, run_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        /* Skip big XML dumps without copying them. */
        if (kinds && !g_strv_contains(kinds, (const char *)sqlite3_column_text(st, 1)))
            continue;
        g_ptr_array_add(bucket(out, sqlite3_column_int64(st, 0), (GDestroyNotify)mm_artifact_record_free),
                        read_artifact(st, 1));
    }
    if (!rows_done(store, st, rc, "read artifacts", error))
        return NULL;
    return g_steal_pointer(&out);
}

GHashTable *
mm_store_run_features(MmStore *store, gint64 run_id, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "SELECT f.case_row, f.kind || ':' || f.feature FROM case_features f"
                               " JOIN cases c ON c.id = f.case_row WHERE c.run_id = ? ORDER BY f.case_row, f.kind, f.feature",
                               error);
    g_autoptr(GHashTable) out = NULL;
    int rc;

    if (!st)
        return NULL;
    out = row_table();
    bind_int64(store, st, 1, run_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        g_ptr_array_add(bucket(out, sqlite3_column_int64(st, 0), g_free), col_text(st, 1));
    if (!rows_done(store, st, rc, "read features", error))
        return NULL;
    return g_steal_pointer(&out);
}

GHashTable *
mm_store_run_migrations(MmStore *store, gint64 run_id, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "SELECT m.case_row, " MIGRATION_COLUMNS " FROM migrations m"
                               " JOIN cases c ON c.id = m.case_row WHERE c.run_id = ? ORDER BY m.id",
                               error);
    g_autoptr(GHashTable) out = NULL;
    int rc;

    if (!st)
        return NULL;
    out = row_table();
    bind_int64(store, st, 1, run_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        g_ptr_array_add(bucket(out, sqlite3_column_int64(st, 0), (GDestroyNotify)mm_migration_record_free),
                        read_migration(st, 1));
    if (!rows_done(store, st, rc, "read migrations", error))
        return NULL;
    return g_steal_pointer(&out);
}

struct _MmStepCursor {
    MmStore *store;
    sqlite3_stmt *st;        /* its own statement: the shared cache would reset it */
    GPtrArray *current;
    bool pending;            /* st holds a row not yet consumed */
    bool done;
    int rc;                  /* why it is done: SQLITE_DONE, or the error that ended it */
    char *errmsg;
};

MmStepCursor *
mm_store_step_cursor(MmStore *store, gint64 run_id, GError **error)
{
    MmStepCursor *cur = g_new0(MmStepCursor, 1);

    if (sqlite3_prepare_v2(store->db,
                           /* steps_by_case already yields (case_row, id) order: no sort. */
                           "SELECT case_row, phase, started_at, duration_ms, ok, message FROM steps"
                           " WHERE case_row IN (SELECT id FROM cases WHERE run_id = ?) ORDER BY case_row, id",
                           -1, &cur->st, NULL) != SQLITE_OK) {
        fail(store, error, "prepare");
        g_free(cur);
        return NULL;
    }
    if (sqlite3_bind_int64(cur->st, 1, run_id) != SQLITE_OK) {
        fail(store, error, "bind");
        sqlite3_finalize(cur->st);
        g_free(cur);
        return NULL;
    }
    cur->store = store;
    cur->rc = SQLITE_OK;
    cur->current = g_ptr_array_new_with_free_func((GDestroyNotify)bulk_step_free);
    return cur;
}

GPtrArray *
mm_step_cursor_get(MmStepCursor *cur, gint64 case_row)
{
    g_ptr_array_set_size(cur->current, 0);
    while (!cur->done) {
        gint64 row;

        if (!cur->pending && (cur->rc = sqlite3_step(cur->st)) != SQLITE_ROW) {
            cur->done = true;
            if (cur->rc != SQLITE_DONE)
                cur->errmsg = g_strdup(sqlite3_errmsg(cur->store->db));
            break;
        }
        cur->pending = true;
        row = sqlite3_column_int64(cur->st, 0);
        if (row > case_row)
            break;
        cur->pending = false;
        if (row < case_row)
            continue;
        g_ptr_array_add(cur->current, read_step(cur->st, 1, true));
    }
    return cur->current;
}

bool
mm_step_cursor_check(MmStepCursor *cur, GError **error)
{
    if (!cur->errmsg)
        return true;
    g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: read steps: %s", cur->store->path, cur->errmsg);
    return false;
}

void
mm_step_cursor_free(MmStepCursor *cur)
{
    if (!cur)
        return;
    g_free(cur->errmsg);
    sqlite3_finalize(cur->st);
    g_ptr_array_unref(cur->current);
    g_free(cur);
}

/* ---- merge: shard DBs into one run ----------------------------------------------------------- */

typedef struct {
    const char *path;
    char schema[16];         /* its ATTACH name: s1, s2, … */
    gint64 run_id;           /* the shard's run in its DB */
    guint k, n;
} MergeInput;

/* Columns a case keeps across a merge (all but id and run_id). */
#define CASE_COLUMNS                                                                                         \
    "case_id, src, dst, guest, mode, repeat, matrix, state, expected, expected_reason, outcome, reason,"     \
    " error_text, unexpected, started_at, ended_at, duration_ms, plan_index, predicted, predicted_rule,"     \
    " predicted_reason"

/* SQL_TEMPLATE with "shard." naming the attached shard SCHEMA, run once with up to three integer
 * parameters in order. Not cached: the text differs per shard. The schema names are ours
 * (s1, s2, …); every value is bound. */
static bool
merge_exec(MmStore *store, const char *sql_template, const char *schema, gint64 a, gint64 b, gint64 c,
           GError **error)
{
    g_auto(GStrv) parts = g_strsplit(sql_template, "shard.", -1);
    g_autofree char *prefix = g_strconcat(schema ? schema : "main", ".", NULL);
    g_autofree char *sql = g_strjoinv(prefix, parts);
    sqlite3_stmt *st = NULL;
    bool ok;

    if (sqlite3_prepare_v2(store->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fail(store, error, "prepare");
    store->bind_rc = SQLITE_OK;
    for (int i = 1; i <= sqlite3_bind_parameter_count(st); i++)
        bind_int64(store, st, i, i == 1 ? a : i == 2 ? b : c);
    ok = step_done(store, st, error);
    sqlite3_finalize(st);
    return ok;
}

static bool
attach(MmStore *store, const MergeInput *in, GError **error)
{
    g_autofree char *sql = g_strdup_printf("ATTACH DATABASE ? AS %s", in->schema);
    /* A shard is read through once: mapped, its pages cost no read call each. */
    g_autofree char *mmap = g_strdup_printf("PRAGMA %s.mmap_size = 268435456", in->schema);
    sqlite3_stmt *st = NULL;
    bool ok;

    if (sqlite3_prepare_v2(store->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fail(store, error, "prepare");
    store->bind_rc = SQLITE_OK;
    bind_text(store, st, 1, in->path);
    ok = step_done(store, st, error);
    sqlite3_finalize(st);
    /* Only a speed-up: a failure to map leaves plain reads. */
    if (ok)
        exec(store, mmap, NULL);
    return ok;
}

static void
detach(MmStore *store, const MergeInput *in)
{
    g_autofree char *sql = g_strdup_printf("DETACH DATABASE %s", in->schema);
    exec(store, sql, NULL);
}

/* Reads the attached shard's newest matrix run into IN and REC, checking that it is a shard and
 * fits FIRST (NULL for the first input). */
static bool
merge_read_shard(MmStore *store, MergeInput *in, MmRunRecord *rec, const MmRunRecord *first, GError **error)
{
    g_autofree char *vsql = g_strdup_printf("PRAGMA %s.user_version", in->schema);
    g_autofree char *rsql = g_strdup_printf("SELECT id, name, scenario_path, scenario_hash, started_at, ended_at,"
                                            " status, harness_version, filter, shard FROM %s.runs WHERE kind = 'run'"
                                            " ORDER BY id DESC LIMIT 1",
                                            in->schema);
    sqlite3_stmt *st = NULL;
    gint64 version = -1;
    int rc;

    if (sqlite3_prepare_v2(store->db, vsql, -1, &st, NULL) != SQLITE_OK)
        return fail(store, error, "prepare");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        version = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "%s: cannot read it as a results DB: %s", in->path,
                    sqlite3_errmsg(store->db));
        return false;
    }
    if (version != MM_STORE_SCHEMA_VERSION) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT,
                    "%s: schema version %" G_GINT64_FORMAT " (this migmatrix writes %d): merge shards written by "
                    "one migmatrix version",
                    in->path, version, MM_STORE_SCHEMA_VERSION);
        return false;
    }
    if (sqlite3_prepare_v2(store->db, rsql, -1, &st, NULL) != SQLITE_OK)
        return fail(store, error, "prepare");
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        in->run_id = sqlite3_column_int64(st, 0);
        rec->name = col_text(st, 1);
        rec->scenario_path = col_text(st, 2);
        rec->scenario_hash = col_text(st, 3);
        rec->started_at = col_text(st, 4);
        rec->ended_at = col_text(st, 5);
        rec->status = col_text(st, 6);
        rec->harness_version = col_text(st, 7);
        rec->filter = col_text(st, 8);
        rec->shard = col_text(st, 9);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_DONE) {
        fail(store, error, "read runs");
        sqlite3_finalize(st);
        return false;
    }
    sqlite3_finalize(st);
    if (!in->run_id) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "%s: no matrix run to merge", in->path);
        return false;
    }
    if (!rec->shard || !mm_shard_parse(rec->shard, &in->k, &in->n, NULL)) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT,
                    "%s: run %" G_GINT64_FORMAT " is not a shard (it was not run with --shard K/N)", in->path,
                    in->run_id);
        return false;
    }
    if (first && (g_strcmp0(rec->scenario_hash, first->scenario_hash) != 0 ||
                  g_strcmp0(rec->scenario_path, first->scenario_path) != 0)) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT,
                    "%s: shard %s is of %s (sha256 %.12s), the first of %s (sha256 %.12s): merge shards of one "
                    "scenario, run from the same file",
                    in->path, rec->shard, rec->scenario_path, rec->scenario_hash ? rec->scenario_hash : "-",
                    first->scenario_path, first->scenario_hash ? first->scenario_hash : "-");
        return false;
    }
    if (first && g_strcmp0(rec->filter, first->filter) != 0) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "%s: shard %s ran with --filter %s, the first with %s",
                    in->path, rec->shard, rec->filter ? rec->filter : "(none)", first->filter ? first->filter : "(none)");
        return false;
    }
    return true;
}

/* A shard's steps, artifacts, features, migrations and host facts, into merged run RUN. */
static bool
merge_copy_details(MmStore *store, const MergeInput *in, gint64 run, GError **error)
{
    /* The loop runs over the shard's cases in the map (CROSS JOIN keeps that order) and finds
     * each case's rows through the shard's by-case index: one seek per case rather than one
     * map lookup per row, and rows come out in case then row order, as a run wrote them. */
    static const char *const copy[] = {
        ("INSERT INTO main.cases (id, run_id, " CASE_COLUMNS ") SELECT m.new_id, ?2, " CASE_COLUMNS
         " FROM temp.merge_map m CROSS JOIN shard.cases c ON c.id = m.old_id WHERE m.k = ?1"),
        ("INSERT INTO main.steps (case_row, phase, started_at, duration_ms, ok, message)"
         " SELECT m.new_id, s.phase, s.started_at, s.duration_ms, s.ok, s.message"
         " FROM temp.merge_map m CROSS JOIN shard.steps s ON s.case_row = m.old_id WHERE m.k = ?"),
        ("INSERT INTO main.artifacts (case_row, kind, name, content)"
         " SELECT m.new_id, a.kind, a.name, a.content"
         " FROM temp.merge_map m CROSS JOIN shard.artifacts a ON a.case_row = m.old_id WHERE m.k = ?"),
        ("INSERT OR IGNORE INTO main.case_features (case_row, feature, kind)"
         " SELECT m.new_id, f.feature, f.kind"
         " FROM temp.merge_map m CROSS JOIN shard.case_features f ON f.case_row = m.old_id WHERE m.k = ?"),
        ("INSERT INTO main.migrations (case_row, leg, ok, stats, total_ms, downtime_ms, data_total, data_processed,"
         " data_remaining, memory_iterations, dirty_rate, postcopy, postcopy_after_ms)"
         " SELECT m.new_id, g.leg, g.ok, g.stats, g.total_ms, g.downtime_ms, g.data_total, g.data_processed,"
         " g.data_remaining, g.memory_iterations, g.dirty_rate, g.postcopy, g.postcopy_after_ms"
         " FROM temp.merge_map m CROSS JOIN shard.migrations g ON g.case_row = m.old_id WHERE m.k = ?"),
    };

    for (guint q = 0; q < G_N_ELEMENTS(copy); q++)
        if (!merge_exec(store, copy[q], in->schema, in->k, run, 0, error))
            return false;
    return merge_exec(store,
                      "INSERT OR IGNORE INTO main.hosts (run_id, name, position) SELECT ?, name, position"
                      " FROM shard.hosts WHERE run_id = ? ORDER BY coalesce(position, id), id",
                      in->schema, run, in->run_id, 0, error) &&
           merge_exec(store,
                      "INSERT OR IGNORE INTO main.host_facts (host_id, name, value)"
                      " SELECT nh.id, f.name, f.value FROM shard.host_facts f"
                      " JOIN shard.hosts h ON h.id = f.host_id"
                      " JOIN main.hosts nh ON nh.run_id = ? AND nh.name = h.name WHERE h.run_id = ?",
                      in->schema, run, in->run_id, 0, error);
}

/* Sets the main DB's journal MODE; true when it took. Leaving WAL needs the DB to itself: a
 * reader elsewhere makes it fail at once (no busy wait), and the caller goes on in WAL. */
static bool
set_journal_mode(MmStore *store, const char *mode)
{
    g_autofree char *sql = g_strdup_printf("PRAGMA main.journal_mode = %s", mode);
    sqlite3_stmt *st = NULL;
    bool took = false;

    if (sqlite3_busy_timeout(store->db, 0) != SQLITE_OK)
        return false;
    if (sqlite3_prepare_v2(store->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        took = g_ascii_strcasecmp((const char *)sqlite3_column_text(st, 0), mode) == 0;
    sqlite3_finalize(st);
    return sqlite3_busy_timeout(store->db, 15000) == SQLITE_OK && took;
}

/* A DB with no run yet: the merge is its first content, and nobody reads it. A kept nightly DB
 * stays in WAL, so its readers go on while the merge writes. */
static bool
merge_into_new(MmStore *store)
{
    sqlite3_stmt *st = NULL;
    bool empty = false;

    if (sqlite3_prepare_v2(store->db, "SELECT NOT EXISTS (SELECT 1 FROM main.runs)", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        empty = sqlite3_column_int(st, 0) != 0;
    sqlite3_finalize(st);
    return empty;
}

/* A bulk merge into a new DB builds the detail tables' case indexes once at the end, from their
 * own definitions in sqlite_master, rather than a million index inserts in scattered order:
 * DROP now, the saved CREATE statements into *SQL for index_restore. Inside the merge's one
 * transaction, so a failed merge rolls them back too. */
static bool
index_set_aside(MmStore *store, GString *sql, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "SELECT name, sql FROM main.sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                               " AND tbl_name IN ('steps', 'artifacts', 'migrations')",
                               error);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    int rc;

    if (!st)
        return false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        g_ptr_array_add(names, g_strdup((const char *)sqlite3_column_text(st, 0)));
        g_string_append_printf(sql, "%s;\n", (const char *)sqlite3_column_text(st, 1));
    }
    if (!rows_done(store, st, rc, "read the indexes", error))
        return false;
    for (guint i = 0; i < names->len; i++) {
        char *q = sqlite3_mprintf("DROP INDEX main.\"%w\"", (const char *)names->pdata[i]);
        bool ok = q && exec(store, q, error);

        if (!q)
            g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: out of memory", store->path);

        sqlite3_free(q);
        if (!ok)
            return false;
    }
    return true;
}

/* The shards' runs must be one split of one scenario: same N, each K once, none missing. */
static bool
merge_check_split(const MergeInput *in, guint n_in, GError **error)
{
    g_autoptr(GString) missing = g_string_new(NULL);
    guint n = in[0].n;

    for (guint i = 0; i < n_in; i++) {
        if (in[i].n != n) {
            g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "%s is shard %u/%u, %s shard %u/%u: merge shards of one split",
                        in[i].path, in[i].k, in[i].n, in[0].path, in[0].k, n);
            return false;
        }
        for (guint j = 0; j < i; j++)
            if (in[j].k == in[i].k) {
                g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "%s and %s are both shard %u/%u", in[j].path,
                            in[i].path, in[i].k, n);
                return false;
            }
    }
    for (guint k = 1; k <= n; k++) {
        bool have = false;
        for (guint i = 0; i < n_in; i++)
            have |= in[i].k == k;
        if (!have)
            g_string_append_printf(missing, "%s%u/%u", missing->len ? ", " : "", k, n);
    }
    if (missing->len) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "shard%s %s missing: give every shard's DB",
                    strchr(missing->str, ',') ? "s" : "", missing->str);
        return false;
    }
    return true;
}

gint64
mm_store_merge(MmStore *store, const char *const *inputs, GError **error)
{
    guint n_in = g_strv_length((char **)inputs);
    g_autofree MergeInput *in = g_new0(MergeInput, n_in);
    g_autoptr(GPtrArray) recs = g_ptr_array_new_with_free_func((GDestroyNotify)mm_run_record_free);
    g_autoptr(GString) from = g_string_new(NULL);
    g_autoptr(GString) indexes = g_string_new(NULL);
    g_autofree char *started = NULL, *ended = NULL;
    const char *status = "done";
    bool open_end = false, in_txn = false, rollback_journal = false;
    /* All shards attached at once when SQLite allows (10 by default): then the whole merge is one
     * transaction, and each index page is written once, not once per shard. */
    bool all_attached = n_in <= (guint)sqlite3_limit(store->db, SQLITE_LIMIT_ATTACHED, -1);
    guint attached = 0;
    gint64 run = 0;

    if (!n_in) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "no shard DB to merge");
        return 0;
    }
    /* merge_map maps each shard's case rows to the merged ones (keyed, so a lookup is one seek). */
    if (!exec(store, "CREATE TEMP TABLE IF NOT EXISTS merge_stage (k INTEGER, old_id INTEGER, pos INTEGER);"
                     "CREATE TEMP TABLE IF NOT EXISTS merge_map (k INTEGER, old_id INTEGER, new_id INTEGER,"
                     " PRIMARY KEY (k, old_id)) WITHOUT ROWID;"
                     "DELETE FROM temp.merge_stage; DELETE FROM temp.merge_map;",
              error))
        return 0;

    /* 1. Each shard checked, its cases staged: nothing is written to the DB yet. */
    for (guint i = 0; i < n_in; i++) {
        MmRunRecord *rec = g_new0(MmRunRecord, 1);
        bool ok;

        g_ptr_array_add(recs, rec);
        in[i].path = inputs[i];
        g_snprintf(in[i].schema, sizeof(in[i].schema), "s%u", all_attached ? i + 1 : 1);
        if (!g_file_test(inputs[i], G_FILE_TEST_IS_REGULAR)) {
            g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "%s: no such file", inputs[i]);
            goto out;
        }
        if (!attach(store, &in[i], error))
            goto out;
        attached++;
        ok = merge_read_shard(store, &in[i], rec, i ? recs->pdata[0] : NULL, error) &&
             merge_exec(store,
                        "INSERT INTO temp.merge_stage (k, old_id, pos) SELECT ?, id, plan_index"
                        " FROM shard.cases WHERE run_id = ?",
                        in[i].schema, in[i].k, in[i].run_id, 0, error);
        if (!all_attached) {
            detach(store, &in[i]);
            attached--;
        }
        if (!ok)
            goto out;
        /* The merged run spans its shards: the first start, the last end (none while one is open). */
        if (!started || g_strcmp0(rec->started_at, started) < 0) {
            g_free(started);
            started = g_strdup(rec->started_at);
        }
        open_end |= !rec->ended_at;
        if (!open_end && g_strcmp0(rec->ended_at, ended) > 0) {
            g_free(ended);
            ended = g_strdup(rec->ended_at);
        }
        /* One shard not done leaves the whole run not done. */
        if (strcmp(rec->status, "done") != 0)
            status = "interrupted";
        g_string_append_printf(from, "%s%s (shard %s, run %" G_GINT64_FORMAT ")", i ? "\n" : "", inputs[i],
                               rec->shard, in[i].run_id);
    }
    if (!merge_check_split(in, n_in, error))
        goto out;

    /* 2. The run and its cases in plan order: case rows then increase in the order reports read
     * them, as in a run of the whole matrix. Every detail row copied in 3 points at a case row
     * made here (through the map), so their foreign-key checks are skipped (a million rows for
     * 1e5 cases); a larger page cache takes the index updates. */
    if (!exec(store, "PRAGMA foreign_keys = OFF; PRAGMA cache_size = -262144", error))
        goto out;
    /* In WAL every new page is written twice (to the log, then by the checkpoint); a rollback
     * journal writes it once. Worth it for the bulk insert into a new DB that no one else has
     * open; a DB with runs, or one open elsewhere, stays in WAL. */
    rollback_journal = all_attached && merge_into_new(store) && set_journal_mode(store, "DELETE");
    if (!mm_store_begin(store, error))
        goto out;
    in_txn = true;
    if (rollback_journal && !index_set_aside(store, indexes, error))
        goto out;
    {
        const MmRunRecord *r0 = recs->pdata[0];
        sqlite3_stmt *st;

        if (!(st = prepare(store,
                           "INSERT INTO runs (name, scenario_path, scenario_hash, started_at, ended_at, status,"
                           " harness_version, kind, filter, merged_from) VALUES (?, ?, ?, ?, ?, 'merging', ?, 'run', ?, ?)",
                           error)))
            goto out;
        bind_text(store, st, 1, r0->name);
        bind_text(store, st, 2, r0->scenario_path);
        bind_text(store, st, 3, r0->scenario_hash);
        bind_text(store, st, 4, started);
        bind_text(store, st, 5, open_end ? NULL : ended);
        bind_text(store, st, 6, r0->harness_version);
        bind_text(store, st, 7, r0->filter);
        bind_text(store, st, 8, from->str);
        if (!step_done(store, st, error))
            goto out;
        run = sqlite3_last_insert_rowid(store->db);
    }
    /* The new case rows are numbered in plan order up front; each shard's cases are then copied
     * with its details, straight from the shard. */
    if (!merge_exec(store,
                    "INSERT INTO temp.merge_map (k, old_id, new_id) SELECT k, old_id,"
                    " (SELECT coalesce(max(id), 0) FROM main.cases) + row_number() OVER (ORDER BY pos, k, old_id)"
                    " FROM temp.merge_stage",
                    NULL, 0, 0, 0, error))
        goto out;

    /* 3. Each shard's details: in the same transaction when all are attached; otherwise one
     * transaction per shard (ATTACH cannot be inside one), and a failure removes the half-merged
     * run. The shard DBs are only read. */
    for (guint i = 0; i < n_in; i++) {
        if (!all_attached) {
            if (!mm_store_commit(store, error))
                goto out;
            in_txn = false;
            if (!attach(store, &in[i], error))
                goto out;
            attached++;
            if (!mm_store_begin(store, error))
                goto out;
            in_txn = true;
        }
        if (!merge_copy_details(store, &in[i], run, error))
            goto out;
        if (!all_attached) {
            if (!mm_store_commit(store, error))
                goto out;
            in_txn = false;
            detach(store, &in[i]);
            attached--;
            if (!mm_store_begin(store, error))
                goto out;
            in_txn = true;
        }
    }
    /* Its real status last: a merge killed on the way leaves a run marked "merging", which
     * report and diff do not take for a finished one. */
    if (indexes->len && !exec(store, indexes->str, error))
        goto out;
    if (!update_text(store, "UPDATE runs SET status = ? WHERE id = ?", status, run, error) ||
        !mm_store_commit(store, error))
        goto out;
    in_txn = false;
    for (guint i = 0; all_attached && i < attached; i++)
        detach(store, &in[i]);
    attached = 0;
    exec(store, "DELETE FROM temp.merge_stage; DELETE FROM temp.merge_map; PRAGMA foreign_keys = ON; PRAGMA cache_size = -2000", NULL);
    if (rollback_journal && !set_journal_mode(store, "WAL"))
        g_warning("%s: could not return to WAL journal mode; the next open sets it", store->path);
    return run;

out:
    if (in_txn)
        mm_store_rollback(store);
    for (guint i = 0; all_attached && i < attached; i++)
        detach(store, &in[i]);
    if (!all_attached && attached)
        detach(store, &in[0]);
    exec(store, "DELETE FROM temp.merge_stage; DELETE FROM temp.merge_map; PRAGMA foreign_keys = ON; PRAGMA cache_size = -2000", NULL);
    if (rollback_journal && !set_journal_mode(store, "WAL"))
        g_warning("%s: could not return to WAL journal mode; the next open sets it", store->path);
    /* Per-shard commits may have kept part of the run: it goes (with its rows, by cascade). If
     * even that fails, it stays marked "merging" and the error says so. */
    if (run && !all_attached) {
        g_autoptr(GError) cleanup = NULL;

        if (!merge_exec(store, "DELETE FROM main.runs WHERE id = ?", NULL, run, 0, 0, &cleanup))
            g_prefix_error(error, "run %" G_GINT64_FORMAT " is left half-merged (status merging; %s): ", run,
                           cleanup->message);
    }
    return 0;
}
