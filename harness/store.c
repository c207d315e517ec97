/* store.c: SQLite persistence. Every statement is prepared with bound parameters.
 *
 * The schema version lives in PRAGMA user_version; migrations[] takes a DB from version
 * i to i+1 and never changes once released, so any older DB file opens and upgrades. */
#include "migmatrix/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <string.h>

#include "migmatrix/util.h"
#include "migmatrix/version.h"

struct _MmStore {
    sqlite3 *db;
    char *path;
    GHashTable *stmts;       /* SQL text → prepared statement, reused */
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
};

G_STATIC_ASSERT(G_N_ELEMENTS(migrations) == MM_STORE_SCHEMA_VERSION);

static bool
fail(MmStore *store, GError **error, const char *what)
{
    g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: %s: %s", store->path, what, sqlite3_errmsg(store->db));
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

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static bool
step_done(MmStore *store, sqlite3_stmt *st, GError **error)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return fail(store, error, "write");
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
    sqlite3_stmt *st;

    /* IMMEDIATE: two processes opening a new DB at once must not both migrate it. */
    if (!exec(store, "BEGIN IMMEDIATE", error))
        return false;
    if (!(st = prepare(store, "PRAGMA user_version", error)))
        goto rollback;
    sqlite3_step(st);
    version = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
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
    sqlite3_busy_timeout(store->db, 15000);
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
    int v;

    if (!st)
        return -1;
    sqlite3_step(st);
    v = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    return v;
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
    bind_text(st, 1, name);
    bind_text(st, 2, scenario_path);
    bind_text(st, 3, scenario_hash);
    bind_text(st, 4, now);
    bind_text(st, 5, MM_VERSION);
    bind_text(st, 6, kind);
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
    bind_text(st, 1, status);
    bind_text(st, 2, now);
    sqlite3_bind_int64(st, 3, run_id);
    return step_done(store, st, error);
}

GPtrArray *
mm_store_runs_list(MmStore *store, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "SELECT r.id, r.name, r.scenario_path, r.scenario_hash, r.started_at, r.ended_at,"
                               " r.status, r.harness_version, r.kind,"
                               " (SELECT count(*) FROM cases c WHERE c.run_id = r.id),"
                               " (SELECT count(*) FROM cases c WHERE c.run_id = r.id AND c.unexpected),"
                               " (SELECT count(*) FROM cases c WHERE c.run_id = r.id AND c.outcome IS NULL),"
                               " r.filter"
                               " FROM runs r ORDER BY r.id DESC",
                               error);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)mm_run_record_free);
    int rc;

    if (!st)
        return NULL;
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
        g_ptr_array_add(out, r);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        fail(store, error, "read runs");
        return NULL;
    }
    return g_steal_pointer(&out);
}

MmRunRecord *
mm_store_run_get(MmStore *store, gint64 run_id, GError **error)
{
    g_autoptr(GPtrArray) runs = mm_store_runs_list(store, error);

    for (guint i = 0; runs && i < runs->len; i++)
        if (((MmRunRecord *)runs->pdata[i])->id == run_id)
            return g_ptr_array_steal_index(runs, i);
    if (runs)
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
    bind_text(st, 1, value);
    sqlite3_bind_int64(st, 2, id);
    return step_done(store, st, error);
}

bool
mm_store_run_set_filter(MmStore *store, gint64 run_id, const char *filter, GError **error)
{
    return update_text(store, "UPDATE runs SET filter = ? WHERE id = ?", filter, run_id, error);
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
    g_free(r);
}

gint64
mm_store_case_add(MmStore *store, const MmCaseRecord *rec, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "INSERT INTO cases (run_id, case_id, src, dst, guest, mode, repeat, matrix, state,"
                               " expected, expected_reason, outcome, reason, error_text, unexpected, started_at,"
                               " ended_at, duration_ms)"
                               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               error);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, rec->run_id);
    bind_text(st, 2, rec->case_id);
    bind_text(st, 3, rec->src);
    bind_text(st, 4, rec->dst);
    bind_text(st, 5, rec->guest);
    bind_text(st, 6, rec->mode);
    sqlite3_bind_int(st, 7, rec->repeat ? rec->repeat : 1);
    bind_text(st, 8, rec->matrix);
    bind_text(st, 9, rec->state ? rec->state : "planned");
    bind_text(st, 10, rec->expected);
    bind_text(st, 11, rec->expected_reason);
    bind_text(st, 12, rec->outcome);
    bind_text(st, 13, rec->reason);
    bind_text(st, 14, rec->error_text);
    sqlite3_bind_int(st, 15, rec->unexpected);
    bind_text(st, 16, rec->started_at);
    bind_text(st, 17, rec->ended_at);
    if (rec->duration_ms >= 0 && rec->ended_at)
        sqlite3_bind_int64(st, 18, rec->duration_ms);
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
    bind_text(st, 1, now);
    sqlite3_bind_int64(st, 2, case_row);
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
    bind_text(st, 1, outcome);
    bind_text(st, 2, reason);
    bind_text(st, 3, error_text);
    sqlite3_bind_int(st, 4, unexpected);
    bind_text(st, 5, now);
    sqlite3_bind_int64(st, 6, duration_ms);
    sqlite3_bind_int64(st, 7, case_row);
    return step_done(store, st, error);
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
                               " duration_ms FROM cases WHERE run_id = ? ORDER BY id",
                               error);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)mm_case_record_free);
    int rc;

    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, run_id);
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
        g_ptr_array_add(out, r);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        fail(store, error, "read cases");
        return NULL;
    }
    return g_steal_pointer(&out);
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
    sqlite3_bind_int64(st, 1, case_row);
    bind_text(st, 2, phase);
    bind_text(st, 3, started_at);
    sqlite3_bind_int64(st, 4, duration_ms);
    sqlite3_bind_int(st, 5, ok);
    bind_text(st, 6, message);
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
    sqlite3_bind_int64(st, 1, case_row);
    bind_text(st, 2, kind);
    bind_text(st, 3, name);
    bind_text(st, 4, content);
    return step_done(store, st, error);
}

bool
mm_store_feature_add(MmStore *store, gint64 case_row, const char *feature, const char *kind, GError **error)
{
    sqlite3_stmt *st = prepare(store, "INSERT OR IGNORE INTO case_features (case_row, feature, kind) VALUES (?, ?, ?)",
                               error);
    if (!st)
        return false;
    sqlite3_bind_int64(st, 1, case_row);
    bind_text(st, 2, feature);
    bind_text(st, 3, kind);
    return step_done(store, st, error);
}

/* ---- migration job statistics ------------------------------------------------------------------ */

static void
bind_known(sqlite3_stmt *st, int i, gint64 v)
{
    if (v >= 0)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
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
    sqlite3_bind_int64(st, 1, case_row);
    bind_text(st, 2, m->leg);
    sqlite3_bind_int(st, 3, m->ok);
    bind_text(st, 4, m->stats ? m->stats : "none");
    bind_known(st, 5, m->total_ms);
    bind_known(st, 6, m->downtime_ms);
    bind_known(st, 7, m->data_total);
    bind_known(st, 8, m->data_processed);
    bind_known(st, 9, m->data_remaining);
    bind_known(st, 10, m->memory_iterations);
    bind_known(st, 11, m->dirty_rate);
    sqlite3_bind_int(st, 12, m->postcopy);
    bind_known(st, 13, m->postcopy_after_ms);
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
    sqlite3_bind_int64(st, 1, case_row);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        g_ptr_array_add(out, read_migration(st, 0));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        fail(store, error, "read migrations");
        return NULL;
    }
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
    sqlite3_bind_int64(st, 1, run_id);
    bind_text(st, 2, host);
    if (!step_done(store, st, error))
        return 0;
    if (!(st = prepare(store, "SELECT id FROM hosts WHERE run_id = ? AND name = ?", error)))
        return 0;
    sqlite3_bind_int64(st, 1, run_id);
    bind_text(st, 2, host);
    if (sqlite3_step(st) == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
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
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, fact);
    bind_text(st, 3, value);
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

    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, run_id);
    bind_text(st, 2, host);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char *v = col_text(st, 1);
        g_hash_table_insert(out, col_text(st, 0), v ? v : g_strdup(""));
    }
    sqlite3_reset(st);
    return g_steal_pointer(&out);
}

GPtrArray *
mm_store_hosts_list(MmStore *store, gint64 run_id, GError **error)
{
    sqlite3_stmt *st = prepare(store, "SELECT name FROM hosts WHERE run_id = ? ORDER BY id", error);
    GPtrArray *out;

    if (!st)
        return NULL;
    out = g_ptr_array_new_with_free_func(g_free);
    sqlite3_bind_int64(st, 1, run_id);
    while (sqlite3_step(st) == SQLITE_ROW)
        g_ptr_array_add(out, col_text(st, 0));
    sqlite3_reset(st);
    return out;
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
    GPtrArray *out;

    if (!st)
        return NULL;
    out = g_ptr_array_new_with_free_func((GDestroyNotify)mm_step_record_free);
    sqlite3_bind_int64(st, 1, case_row);
    while (sqlite3_step(st) == SQLITE_ROW)
        g_ptr_array_add(out, read_step(st, 0, false));
    sqlite3_reset(st);
    return out;
}

GPtrArray *
mm_store_artifacts_list(MmStore *store, gint64 case_row, GError **error)
{
    sqlite3_stmt *st = prepare(store, "SELECT kind, name, content FROM artifacts WHERE case_row = ? ORDER BY id", error);
    GPtrArray *out;

    if (!st)
        return NULL;
    out = g_ptr_array_new_with_free_func((GDestroyNotify)mm_artifact_record_free);
    sqlite3_bind_int64(st, 1, case_row);
    while (sqlite3_step(st) == SQLITE_ROW)
        g_ptr_array_add(out, read_artifact(st, 0));
    sqlite3_reset(st);
    return out;
}

GPtrArray *
mm_store_features_list(MmStore *store, gint64 case_row, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "SELECT kind || ':' || feature FROM case_features WHERE case_row = ?"
                               " ORDER BY kind, feature",
                               error);
    GPtrArray *out;

    if (!st)
        return NULL;
    out = g_ptr_array_new_with_free_func(g_free);
    sqlite3_bind_int64(st, 1, case_row);
    while (sqlite3_step(st) == SQLITE_ROW)
        g_ptr_array_add(out, col_text(st, 0));
    sqlite3_reset(st);
    return out;
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
    GHashTable *out;

    if (!st)
        return NULL;
    out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
    bind_text(st, 1, scenario_path);
    sqlite3_bind_int64(st, 2, upto);
    sqlite3_bind_int(st, 3, n);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        GPtrArray *list = g_hash_table_lookup(out, id);

        if (!list) {
            list = g_ptr_array_new_with_free_func(g_free);
            g_hash_table_insert(out, g_strdup(id), list);
        }
        g_ptr_array_add(list, col_text(st, 1));
    }
    sqlite3_reset(st);
    return out;
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
    GHashTable *out;

    if (!st)
        return NULL;
    out = row_table();
    sqlite3_bind_int64(st, 1, run_id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        /* Skip big XML dumps without copying them. */
        if (kinds && !g_strv_contains(kinds, (const char *)sqlite3_column_text(st, 1)))
            continue;
        g_ptr_array_add(bucket(out, sqlite3_column_int64(st, 0), (GDestroyNotify)mm_artifact_record_free),
                        read_artifact(st, 1));
    }
    sqlite3_reset(st);
    return out;
}

GHashTable *
mm_store_run_features(MmStore *store, gint64 run_id, GError **error)
{
    sqlite3_stmt *st = prepare(store,
                               "SELECT f.case_row, f.kind || ':' || f.feature FROM case_features f"
                               " JOIN cases c ON c.id = f.case_row WHERE c.run_id = ? ORDER BY f.case_row, f.kind, f.feature",
                               error);
    GHashTable *out;

    if (!st)
        return NULL;
    out = row_table();
    sqlite3_bind_int64(st, 1, run_id);
    while (sqlite3_step(st) == SQLITE_ROW)
        g_ptr_array_add(bucket(out, sqlite3_column_int64(st, 0), g_free), col_text(st, 1));
    sqlite3_reset(st);
    return out;
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
    sqlite3_bind_int64(st, 1, run_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        g_ptr_array_add(bucket(out, sqlite3_column_int64(st, 0), (GDestroyNotify)mm_migration_record_free),
                        read_migration(st, 1));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        fail(store, error, "read migrations");
        return NULL;
    }
    return g_steal_pointer(&out);
}

struct _MmStepCursor {
    sqlite3_stmt *st;        /* its own statement: the shared cache would reset it */
    GPtrArray *current;
    bool pending;            /* st holds a row not yet consumed */
    bool done;
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
    sqlite3_bind_int64(cur->st, 1, run_id);
    cur->current = g_ptr_array_new_with_free_func((GDestroyNotify)bulk_step_free);
    return cur;
}

GPtrArray *
mm_step_cursor_get(MmStepCursor *cur, gint64 case_row)
{
    g_ptr_array_set_size(cur->current, 0);
    while (!cur->done) {
        gint64 row;

        if (!cur->pending && sqlite3_step(cur->st) != SQLITE_ROW) {
            cur->done = true;
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

void
mm_step_cursor_free(MmStepCursor *cur)
{
    if (!cur)
        return;
    sqlite3_finalize(cur->st);
    g_ptr_array_unref(cur->current);
    g_free(cur);
}
