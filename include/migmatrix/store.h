/* store.h: the SQLite store of runs, host facts, cases, steps and artifacts.
 *
 * Knows nothing of the CLI, the engine or libvirt: it stores typed records. One MmStore
 * is one SQLite connection; open one per thread (WAL and a busy timeout let several
 * connections, in one process or many, write to the same file). */
#pragma once

#include <glib.h>
#include <stdbool.h>

#define MM_STORE_SCHEMA_VERSION 7
#define MM_DEFAULT_DB "results/migmatrix.db"

typedef struct _MmStore MmStore;

MmStore *mm_store_open(const char *path, GError **error);
void mm_store_close(MmStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmStore, mm_store_close)

int mm_store_schema_version(MmStore *store);
const char *mm_store_path(MmStore *store);

bool mm_store_begin(MmStore *store, GError **error);
bool mm_store_commit(MmStore *store, GError **error);
void mm_store_rollback(MmStore *store);

typedef struct {
    gint64 id;
    char *name;
    char *scenario_path;
    char *scenario_hash;
    char *started_at;        /* ISO 8601 UTC */
    char *ended_at;          /* NULL while running */
    char *status;            /* running, done, interrupted, failed; merging while merge writes it */
    char *harness_version;
    char *kind;              /* run, probe, import */
    char *filter;            /* run --filter GLOB, or NULL: the whole matrix */
    gint64 parent_id;        /* a rerun: the run it repeats cases of; 0 otherwise */
    char *rerun;             /* a rerun: which cases it took ("failed", "unexpected") */
    char *shard;             /* run --shard K/N: "K/N"; NULL for a whole run */
    char *merged_from;       /* merge: the shard DBs, one per line; NULL otherwise */
    gint64 resumed;          /* times run --resume continued it */
    char *owner;             /* the migmatrix process running it ("HOST:PID"), while it runs */
    gint64 n_cases;
    gint64 n_unexpected;
    gint64 n_not_run;        /* cases without an outcome (planned, running, interrupted) */
} MmRunRecord;

void mm_run_record_free(MmRunRecord *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmRunRecord, mm_run_record_free)

/* KIND: "run" (a matrix run), "probe" (host facts only) or "import" (captured dossiers). */
gint64 mm_store_run_begin(MmStore *store, const char *kind, const char *name, const char *scenario_path,
                          const char *scenario_hash, GError **error);
bool mm_store_run_end(MmStore *store, gint64 run_id, const char *status, GError **error);
/* MmRunRecord*, newest first. */
GPtrArray *mm_store_runs_list(MmStore *store, GError **error);
/* One run; MM_ERROR_INPUT when there is none of that ID. */
MmRunRecord *mm_store_run_get(MmStore *store, gint64 run_id, GError **error);
/* Records that the run covers only the cases matching FILTER. */
bool mm_store_run_set_filter(MmStore *store, gint64 run_id, const char *filter, GError **error);
/* Records that the run is shard "K/N" of its matrix. */
bool mm_store_run_set_shard(MmStore *store, gint64 run_id, const char *shard, GError **error);
/* Records that the run repeats the WHAT ("failed", "unexpected") cases of run PARENT_ID. */
bool mm_store_run_set_rerun(MmStore *store, gint64 run_id, gint64 parent_id, const char *what, GError **error);
/* Marks an interrupted run as running again (run --resume), counting the resumption. */
bool mm_store_run_resume(MmStore *store, gint64 run_id, GError **error);
/* Records the process running the run now (mm_engine_identity's OWNER), so that --resume can
 * tell a dead runner from a live one. */
bool mm_store_run_set_owner(MmStore *store, gint64 run_id, const char *owner, GError **error);

/* Combines shard runs into one run of OUT (merge): the newest matrix run of each of the
 * INPUTS DBs must be a shard ("K/N") of one scenario (same hash, same N), each K once. Cases
 * go in plan order with their steps, artifacts, features and migrations; the hosts' facts
 * come along. MM_ERROR_INPUT names what does not fit. Returns the new run's ID. */
gint64 mm_store_merge(MmStore *out, const char *const *inputs, GError **error);

typedef struct {
    gint64 id;               /* row id, 0 before insert */
    gint64 run_id;
    char *case_id;
    char *src;
    char *dst;
    char *guest;
    char *mode;
    guint repeat;
    char *matrix;
    char *state;             /* planned, running, done */
    char *expected;          /* outcome name, or "flaky" */
    char *expected_reason;
    char *outcome;           /* NULL until done */
    char *reason;
    char *error_text;
    bool unexpected;
    char *started_at;
    char *ended_at;
    gint64 duration_ms;
    gint64 plan_index;       /* its place in the whole plan (0-based), also in a shard */
    char *predicted;         /* what predict foresaw before it ran: an outcome name or "unknown"; NULL: none */
    char *predicted_rule;    /* the rule that decided, "stage/rule" */
    char *predicted_reason;
} MmCaseRecord;

void mm_case_record_free(MmCaseRecord *r);
/* Stores ROW's prediction, unless it has one (a resumed run keeps what it foresaw first). */
bool mm_store_case_set_prediction(MmStore *store, gint64 row, const char *predicted, const char *rule,
                                  const char *reason, GError **error);
/* Predicted pass and failed, or predicted a failure and passed. Unknown predictions, n/a and
 * infra-error (the lab, not the CPU) are never mispredictions. */
bool mm_case_mispredicted(const MmCaseRecord *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmCaseRecord, mm_case_record_free)

gint64 mm_store_case_add(MmStore *store, const MmCaseRecord *rec, GError **error);
bool mm_store_case_set_running(MmStore *store, gint64 case_row, GError **error);
/* Stores the final outcome in one statement; the case becomes "done". */
bool mm_store_case_finish(MmStore *store, gint64 case_row, const char *outcome,
                          const char *reason, const char *error_text, bool unexpected,
                          gint64 duration_ms, GError **error);
/* Cases ROWS back to "planned", without what an unfinished attempt left (steps, artifacts,
 * features, migrations): run --resume runs them again. One transaction for all. */
bool mm_store_cases_reset(MmStore *store, const gint64 *rows, guint n_rows, GError **error);
/* planned, running, done, interrupted. */
bool mm_store_case_set_state(MmStore *store, gint64 case_row, const char *state, GError **error);
/* MmCaseRecord*, in plan order. */
GPtrArray *mm_store_cases_list(MmStore *store, gint64 run_id, GError **error);

gint64 mm_store_step_add(MmStore *store, gint64 case_row, const char *phase, const char *started_at,
                         gint64 duration_ms, bool ok, const char *message, GError **error);
bool mm_store_artifact_add(MmStore *store, gint64 case_row, const char *kind, const char *name,
                           const char *content, GError **error);
bool mm_store_feature_add(MmStore *store, gint64 case_row, const char *feature, const char *kind,
                          GError **error);

typedef struct {
    char *phase;
    char *started_at;
    gint64 duration_ms;
    bool ok;
    char *message;
} MmStepRecord;

typedef struct {
    char *kind;              /* xml-before, xml-diff, console-tail, precheck, job-stats, … */
    char *name;              /* usually the host it came from */
    char *content;
} MmArtifactRecord;

void mm_step_record_free(MmStepRecord *r);
void mm_artifact_record_free(MmArtifactRecord *r);
/* MmStepRecord*, in order. */
GPtrArray *mm_store_steps_list(MmStore *store, gint64 case_row, GError **error);
/* MmArtifactRecord*, in order. */
GPtrArray *mm_store_artifacts_list(MmStore *store, gint64 case_row, GError **error);
/* "kind:feature" strings, sorted. */
GPtrArray *mm_store_features_list(MmStore *store, gint64 case_row, GError **error);

/* A whole run's details in one query each, keyed by case row (gint64* → GPtrArray*):
 * artifacts of the given KINDS only (MmArtifactRecord*), features ("kind:feature"). */
GHashTable *mm_store_run_artifacts(MmStore *store, gint64 run_id, const char *const *kinds, GError **error);
GHashTable *mm_store_run_features(MmStore *store, gint64 run_id, GError **error);

/* Steps of a whole run, read in case order as a report writes it: one pass over the table,
 * nothing held but the current case's steps. */
typedef struct _MmStepCursor MmStepCursor;
MmStepCursor *mm_store_step_cursor(MmStore *store, gint64 run_id, GError **error);
/* The steps (MmStepRecord*) of CASE_ROW; rows must be asked for in increasing order. The
 * array is the cursor's, valid until the next call. */
GPtrArray *mm_step_cursor_get(MmStepCursor *cur, gint64 case_row);
/* False, with the SQLite error, when a read stopped the cursor early: the steps it returned
 * then are not all the run's. */
bool mm_step_cursor_check(MmStepCursor *cur, GError **error);
void mm_step_cursor_free(MmStepCursor *cur);

/* Outcomes per case ID over the last N matrix runs of SCENARIO_PATH up to and including
 * run UPTO: case_id → GPtrArray of outcome strings ("" when not run), oldest first. */
GHashTable *mm_store_history(MmStore *store, const char *scenario_path, gint64 upto, guint n, GError **error);

/* The job statistics of one migration attempt (libvirt's virDomainGetJobStats); -1: not known. */
typedef struct {
    char *leg;               /* "migrate" or "migrate-back" */
    bool ok;                 /* the migration succeeded */
    char *stats;             /* "completed": libvirt's final statistics; "last sample": the last
                              * taken while the job ran (a failed job may have no final ones);
                              * "none": no statistics at all */
    gint64 total_ms;         /* the job's elapsed time */
    gint64 downtime_ms;
    gint64 data_total, data_processed, data_remaining;   /* bytes */
    gint64 memory_iterations;
    gint64 dirty_rate;       /* pages per second */
    bool postcopy;           /* the migration switched to post-copy */
    gint64 postcopy_after_ms;/* when it was asked to, from the start of the job */
} MmMigrationRecord;

void mm_migration_record_free(MmMigrationRecord *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmMigrationRecord, mm_migration_record_free)
bool mm_store_migration_add(MmStore *store, gint64 case_row, const MmMigrationRecord *m, GError **error);
/* MmMigrationRecord*, in order of the attempts. */
GPtrArray *mm_store_migrations_list(MmStore *store, gint64 case_row, GError **error);
/* A whole run's: case row (gint64*) → GPtrArray of MmMigrationRecord*. */
GHashTable *mm_store_run_migrations(MmStore *store, gint64 run_id, GError **error);

/* Host facts: a flat set of name → value per host and run (probe fills it). */
bool mm_store_host_fact_set(MmStore *store, gint64 run_id, const char *host, const char *fact,
                            const char *value, GError **error);
/* HOST's place in the scenario's host list, for the order reports list hosts in. */
bool mm_store_host_set_position(MmStore *store, gint64 run_id, const char *host, gint64 position,
                                GError **error);
/* name → value (both char*), NULL-free table; empty when the host has no facts. */
GHashTable *mm_store_host_facts(MmStore *store, gint64 run_id, const char *host, GError **error);
/* The newest run (by start) that recorded FACT for HOST: its ID (0: none), start time and the
 * fact's value (each out-parameter may be NULL but RUN_ID). */
bool mm_store_host_latest(MmStore *store, const char *host, const char *fact, gint64 *run_id, char **when, char **value,
                          GError **error);
/* Every host name that some run recorded FACT for, sorted. */
GPtrArray *mm_store_host_names_with(MmStore *store, const char *fact, GError **error);
/* Host names with facts in that run, in the order they were first recorded. */
GPtrArray *mm_store_hosts_list(MmStore *store, gint64 run_id, GError **error);

/* ISO 8601 UTC with milliseconds, for every timestamp in the store. */
char *mm_store_now(void);
