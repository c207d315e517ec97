/* test-store.c: schema, migration, round trips, and two processes writing one file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migmatrix/store.h"
#include "migmatrix/util.h"

typedef struct {
    char *dir;
    char *db;
} Fixture;

static int
setup(void **state)
{
    Fixture *f = g_new0(Fixture, 1);

    f->dir = g_dir_make_tmp("mm-store-XXXXXX", NULL);
    f->db = g_build_filename(f->dir, "sub", "results.db", NULL);   /* parent dir does not exist yet */
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    Fixture *f = *state;
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->dir);

    assert_int_equal(system(cmd), 0);
    g_free(f->dir);
    g_free(f->db);
    g_free(f);
    return 0;
}

static gint64
scalar(const char *db, const char *sql)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    gint64 v = -1;

    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static void
test_schema_created(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) s = mm_store_open(f->db, &err);

    assert_non_null(s);
    assert_int_equal(mm_store_schema_version(s), MM_STORE_SCHEMA_VERSION);
    assert_int_equal(scalar(f->db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN "
                                   "('runs','hosts','host_facts','cases','steps','artifacts','case_features',"
                                   "'migrations')"),
                     8);
    {
        sqlite3 *h;
        sqlite3_stmt *st;

        /* WAL is a property of the file: a fresh connection sees it. */
        assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
        sqlite3_close(h);
    }
    g_clear_pointer(&s, mm_store_close);
    /* Reopening an up-to-date DB changes nothing. */
    s = mm_store_open(f->db, &err);
    assert_non_null(s);
    assert_int_equal(mm_store_schema_version(s), MM_STORE_SCHEMA_VERSION);
}

static void
test_migrate_from_v1(void **state)
{
    Fixture *f = *state;
    g_autofree char *sql = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) s = NULL;
    g_autoptr(GPtrArray) runs = NULL;
    g_autoptr(GPtrArray) cases = NULL;
    MmCaseRecord *c;
    sqlite3 *h;

    assert_true(g_file_get_contents(MM_TEST_DATA "/store/v1.sql", &sql, NULL, NULL));
    {
        g_autofree char *dir = g_path_get_dirname(f->db);
        assert_int_equal(g_mkdir_with_parents(dir, 0755), 0);
    }
    assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(scalar(f->db, "PRAGMA user_version"), 1);

    s = mm_store_open(f->db, &err);
    assert_non_null(s);
    assert_int_equal(mm_store_schema_version(s), MM_STORE_SCHEMA_VERSION);
    runs = mm_store_runs_list(s, &err);
    assert_int_equal(runs->len, 1);
    assert_string_equal(((MmRunRecord *)runs->pdata[0])->name, "old run");
    assert_string_equal(((MmRunRecord *)runs->pdata[0])->kind, "run");   /* v2's default for old rows */
    assert_int_equal(((MmRunRecord *)runs->pdata[0])->n_cases, 1);
    cases = mm_store_cases_list(s, 1, &err);
    assert_int_equal(cases->len, 1);
    c = cases->pdata[0];
    assert_string_equal(c->case_id, "hygon-a>hygon-b/win2019/host-model");
    assert_string_equal(c->outcome, "start-failed");
    assert_int_equal(c->duration_ms, 1234);
    assert_null(c->matrix);            /* added by v2, empty for old rows */
    assert_false(c->unexpected);
    /* v2's table works on the migrated DB. */
    assert_true(mm_store_feature_add(s, c->id, "pclmuldq", "missing", &err));
    assert_int_equal(scalar(f->db, "SELECT count(*) FROM case_features"), 1);
    /* And v3's: an old case has no migrations, and takes new ones. */
    {
        g_autoptr(GPtrArray) ms = mm_store_migrations_list(s, c->id, &err);
        MmMigrationRecord m = { .leg = (char *)"migrate", .stats = (char *)"none", .total_ms = -1, .downtime_ms = -1,
                                .data_total = -1, .data_processed = -1, .data_remaining = -1,
                                .memory_iterations = -1, .dirty_rate = -1, .postcopy_after_ms = -1 };

        assert_int_equal(ms->len, 0);
        assert_true(mm_store_migration_add(s, c->id, &m, &err));
    }
}

/* Job statistics: every attempt, failed ones too, with "not known" kept apart from 0. */
static void
test_migrations(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) s = mm_store_open(f->db, &err);
    MmCaseRecord rec = { .case_id = (char *)"a>b/g/none", .src = (char *)"a", .dst = (char *)"b",
                         .guest = (char *)"g", .mode = (char *)"none" };
    MmMigrationRecord ok = { .leg = (char *)"migrate", .ok = true, .stats = (char *)"completed", .total_ms = 612,
                             .downtime_ms = 21, .data_total = 201859072, .data_processed = 93756403,
                             .data_remaining = 0, .memory_iterations = 3, .dirty_rate = 0, .postcopy = true,
                             .postcopy_after_ms = 410 };
    MmMigrationRecord failed = { .leg = (char *)"migrate-back", .ok = false, .stats = (char *)"last sample",
                                 .total_ms = 1615, .downtime_ms = -1, .data_total = -1, .data_processed = 5070703,
                                 .data_remaining = -1, .memory_iterations = 1, .dirty_rate = -1,
                                 .postcopy_after_ms = -1 };
    g_autoptr(GPtrArray) ms = NULL;
    g_autoptr(GHashTable) by_case = NULL;
    const MmMigrationRecord *a, *b;
    gint64 run;

    assert_non_null(s);
    run = mm_store_run_begin(s, "run", "t", "x.ini", NULL, &err);
    rec.run_id = run;
    rec.id = mm_store_case_add(s, &rec, &err);
    assert_true(rec.id > 0);
    assert_true(mm_store_migration_add(s, rec.id, &ok, &err));
    assert_true(mm_store_migration_add(s, rec.id, &failed, &err));
    ms = mm_store_migrations_list(s, rec.id, &err);
    assert_int_equal(ms->len, 2);
    a = ms->pdata[0];
    b = ms->pdata[1];
    assert_string_equal(a->leg, "migrate");
    assert_true(a->ok && a->postcopy);
    assert_int_equal(a->downtime_ms, 21);
    assert_int_equal(a->postcopy_after_ms, 410);
    assert_string_equal(b->stats, "last sample");
    assert_false(b->ok || b->postcopy);
    assert_int_equal(b->downtime_ms, -1);        /* unknown stays unknown, not 0 */
    assert_int_equal(b->data_processed, 5070703);
    assert_int_equal(scalar(f->db, "SELECT count(*) FROM migrations WHERE downtime_ms IS NULL"), 1);
    by_case = mm_store_run_migrations(s, run, &err);
    assert_int_equal(((GPtrArray *)g_hash_table_lookup(by_case, &rec.id))->len, 2);
}

static void
test_newer_schema_refused(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) s = mm_store_open(f->db, &err);
    sqlite3 *h;

    assert_non_null(s);
    g_clear_pointer(&s, mm_store_close);
    assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    s = mm_store_open(f->db, &err);
    assert_null(s);
    assert_non_null(strstr(err->message, "newer than this migmatrix"));
    assert_int_equal(mm_exit_for_error(err), MM_EXIT_INFRA);
}

static void
test_roundtrip(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) s = mm_store_open(f->db, &err);
    /* Hostile text goes in and comes out unchanged: statements are parameterised. */
    const char *evil = "x'); DROP TABLE cases; -- \"<img src=x>\" ,é\n";
    MmCaseRecord rec = { .case_id = (char *)"a>b/g/custom:Dhyana", .src = (char *)"a", .dst = (char *)"b",
                         .guest = (char *)evil, .mode = (char *)"custom:Dhyana", .repeat = 1,
                         .matrix = (char *)"", .expected = (char *)"pass", .duration_ms = -1 };
    g_autoptr(GPtrArray) cases = NULL;
    g_autoptr(GPtrArray) runs = NULL;
    g_autoptr(GHashTable) facts = NULL;
    g_autoptr(GPtrArray) hosts = NULL;
    MmCaseRecord *c;
    gint64 run, row;

    assert_non_null(s);
    run = mm_store_run_begin(s, "run", "nightly", "scenarios/local.ini", "deadbeef", &err);
    assert_true(run > 0);
    rec.run_id = run;
    row = mm_store_case_add(s, &rec, &err);
    assert_true(row > 0);
    assert_true(mm_store_case_set_running(s, row, &err));
    assert_true(mm_store_step_add(s, row, "define", "2026-01-01T00:00:00.000Z", 12, true, evil, &err) > 0);
    assert_true(mm_store_artifact_add(s, row, "xml-before", "src", "<domain/>", &err));
    assert_true(mm_store_case_finish(s, row, "migrate-failed", "missing features", evil, true, 4321, &err));
    assert_true(mm_store_host_fact_set(s, run, "lab-a", "host_uuid", "1111", &err));
    assert_true(mm_store_host_fact_set(s, run, "lab-a", "host_uuid", "2222", &err));   /* replaces */
    assert_true(mm_store_host_fact_set(s, run, "lab-b", "arch", evil, &err));
    assert_true(mm_store_run_end(s, run, "done", &err));

    cases = mm_store_cases_list(s, run, &err);
    assert_int_equal(cases->len, 1);
    c = cases->pdata[0];
    assert_string_equal(c->guest, evil);
    assert_string_equal(c->error_text, evil);
    assert_string_equal(c->state, "done");
    assert_string_equal(c->outcome, "migrate-failed");
    assert_true(c->unexpected);
    assert_int_equal(c->duration_ms, 4321);
    assert_non_null(c->started_at);

    runs = mm_store_runs_list(s, &err);
    assert_string_equal(((MmRunRecord *)runs->pdata[0])->status, "done");
    assert_int_equal(((MmRunRecord *)runs->pdata[0])->n_unexpected, 1);
    assert_non_null(((MmRunRecord *)runs->pdata[0])->ended_at);

    facts = mm_store_host_facts(s, run, "lab-a", &err);
    assert_string_equal(g_hash_table_lookup(facts, "host_uuid"), "2222");
    hosts = mm_store_hosts_list(s, run, &err);
    assert_int_equal(hosts->len, 2);
    assert_string_equal(hosts->pdata[0], "lab-a");
    assert_int_equal(scalar(f->db, "SELECT count(*) FROM steps"), 1);

    /* The unique case ID per run is enforced. */
    assert_int_equal(mm_store_case_add(s, &rec, &err), 0);
    assert_non_null(err);
}

/* Two processes, each with its own connection, write to one file at the same time, while a
 * third reads it. */
static void
test_two_writers(void **state)
{
    Fixture *f = *state;
    enum { PER_CHILD = 300 };
    pid_t pids[2], reader;
    gint64 run;

    {
        g_autoptr(GError) err = NULL;
        g_autoptr(MmStore) s = mm_store_open(f->db, &err);
        assert_non_null(s);
        run = mm_store_run_begin(s, "run", "shared", "x.ini", NULL, &err);
    }
    for (int p = 0; p < 2; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            g_autoptr(GError) err = NULL;
            MmStore *s = mm_store_open(f->db, &err);

            if (!s)
                _exit(10);
            for (int i = 0; i < PER_CHILD; i++) {
                g_autofree char *id = g_strdup_printf("p%d>x/g/none#%d", p, i);
                MmCaseRecord rec = { .run_id = run, .case_id = id, .src = (char *)"p", .dst = (char *)"x",
                                     .guest = (char *)"g", .mode = (char *)"none", .duration_ms = -1 };
                gint64 row = mm_store_case_add(s, &rec, &err);

                if (!row || !mm_store_case_finish(s, row, "pass", NULL, NULL, false, i, &err))
                    _exit(11);
            }
            mm_store_close(s);
            _exit(0);
        }
    }
    /* A reader (a report while a run writes) all along: every read succeeds. */
    reader = fork();
    assert_true(reader >= 0);
    if (reader == 0) {
        g_autoptr(GError) err = NULL;
        MmStore *s = mm_store_open(f->db, &err);

        if (!s)
            _exit(20);
        for (int i = 0; i < 200; i++) {
            g_autoptr(GPtrArray) cases = mm_store_cases_list(s, run, &err);
            g_autoptr(GPtrArray) runs = mm_store_runs_list(s, &err);
            if (!cases || !runs)
                _exit(21);
        }
        mm_store_close(s);
        _exit(0);
    }
    {
        int status;
        assert_int_equal(waitpid(reader, &status, 0), reader);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    for (int p = 0; p < 2; p++) {
        int status;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(scalar(f->db, "SELECT count(*) FROM cases WHERE state = 'done'"), 2 * PER_CHILD);
}

/* Rows of a run, for the checks below. */
static gint64
count_where(const char *db, const char *table, gint64 run)
{
    g_autofree char *sql = g_strdup_printf("SELECT count(*) FROM %s WHERE run_id = %" G_GINT64_FORMAT, table, run);
    return scalar(db, sql);
}

/* A full disk: the writer's file size limit (RLIMIT_FSIZE) stands for the filesystem filling up.
 * The write that does not fit fails with SQLite's message and the path; every row written before
 * it is still there, and the DB opens again without the limit. */
static void
test_full_disk(void **state)
{
    Fixture *f = *state;
    gint64 run;
    int pipefd[2];
    pid_t pid;
    int status;
    gint64 written = -1;
    char msg[512] = "";

    {
        g_autoptr(GError) err = NULL;
        g_autoptr(MmStore) s = mm_store_open(f->db, &err);
        assert_non_null(s);
        run = mm_store_run_begin(s, "run", "full", "x.ini", NULL, &err);
        assert_true(run > 0);
    }
    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        g_autoptr(GError) err = NULL;
        g_autofree char *blob = g_strnfill(16384, 'x');
        MmStore *s = mm_store_open(f->db, &err);
        struct rlimit lim = { 256 * 1024, 256 * 1024 };
        gint64 n = 0;
        FILE *out = fdopen(pipefd[1], "w");

        signal(SIGXFSZ, SIG_IGN);   /* a write past the limit then fails with EFBIG */
        if (!s || setrlimit(RLIMIT_FSIZE, &lim) != 0)
            _exit(10);
        for (;;) {
            g_autofree char *id = g_strdup_printf("a>b/g/none#%" G_GINT64_FORMAT, n);
            MmCaseRecord rec = { .run_id = run, .case_id = id, .src = (char *)"a", .dst = (char *)"b",
                                 .guest = (char *)"g", .mode = (char *)"none", .duration_ms = -1 };
            gint64 row = mm_store_case_add(s, &rec, &err);

            if (!row || !mm_store_artifact_add(s, row, "console-tail", "a", blob, &err))
                break;
            n++;
        }
        fprintf(out, "%" G_GINT64_FORMAT "\n%s\n", n, err ? err->message : "no error");
        fclose(out);
        _exit(0);
    }
    close(pipefd[1]);
    {
        FILE *in = fdopen(pipefd[0], "r");
        assert_int_equal(fscanf(in, "%" G_GINT64_FORMAT "\n", &written), 1);
        assert_non_null(fgets(msg, sizeof(msg), in));
        fclose(in);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(written > 0);
    assert_non_null(strstr(msg, f->db));
    if (!strstr(msg, ": write: disk I/O error") && !strstr(msg, ": write: database or disk is full"))
        fail_msg("%s", msg);
    /* Each case written before the failure kept its artifact; at most the failing case's row
     * came without one. */
    {
        g_autoptr(GError) err = NULL;
        g_autoptr(MmStore) s = mm_store_open(f->db, &err);
        g_autoptr(GPtrArray) cases = NULL;
        g_autoptr(GHashTable) arts = NULL;

        assert_non_null(s);
        cases = mm_store_cases_list(s, run, &err);
        arts = mm_store_run_artifacts(s, run, NULL, &err);
        assert_non_null(cases);
        assert_true(cases->len == written || cases->len == written + 1);
        assert_int_equal(g_hash_table_size(arts), written);
    }
}

/* A DB the runner may not write (a read-only share, another user's file): opening it to write
 * fails with the path and SQLite's reason, and the rows in it stay. Run as an unprivileged user
 * (root writes any file). */
static void
test_read_only(void **state)
{
    Fixture *f = *state;
    g_autofree char *dir = g_path_get_dirname(f->db);
    gint64 run;
    pid_t pid;
    int status;

    {
        g_autoptr(GError) err = NULL;
        g_autoptr(MmStore) s = mm_store_open(f->db, &err);
        MmCaseRecord rec = { .case_id = (char *)"a>b/g/none", .src = (char *)"a", .dst = (char *)"b",
                             .guest = (char *)"g", .mode = (char *)"none", .duration_ms = -1 };
        assert_non_null(s);
        run = mm_store_run_begin(s, "run", "ro", "x.ini", NULL, &err);
        rec.run_id = run;
        assert_true(mm_store_case_add(s, &rec, &err) > 0);
    }
    assert_int_equal(chmod(f->db, 0444), 0);
    assert_int_equal(chmod(dir, 0555), 0);
    assert_int_equal(chmod(f->dir, 0755), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        g_autoptr(GError) err = NULL;
        MmStore *s;

        if (getuid() == 0 && setuid(65534) != 0)
            _exit(10);
        if ((s = mm_store_open(f->db, &err)))
            _exit(11);
        if (!strstr(err->message, f->db) || !strstr(err->message, "readonly"))
            _exit(12);
        if (mm_exit_for_error(err) != MM_EXIT_INFRA)
            _exit(13);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(chmod(f->db, 0644), 0);
    assert_int_equal(count_where(f->db, "cases", run), 1);
}

static gint64
shard_db(const char *path, const char *shard, const char *hash, const char *const *ids, const guint *plan)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) s = mm_store_open(path, &err);
    gint64 run;

    assert_non_null(s);
    run = mm_store_run_begin(s, "run", "n", "x.ini", hash, &err);
    assert_true(run > 0);
    assert_true(mm_store_run_set_shard(s, run, shard, &err));
    assert_true(mm_store_host_set_position(s, run, ids[0][0] == 'a' ? "a" : "c", ids[0][0] == 'a' ? 0 : 2, &err));
    assert_true(mm_store_host_fact_set(s, run, ids[0][0] == 'a' ? "a" : "c", "arch", "x86_64", &err));
    for (guint i = 0; ids[i]; i++) {
        g_auto(GStrv) p = g_strsplit_set(ids[i], ">/", -1);
        MmCaseRecord rec = { .run_id = run, .case_id = (char *)ids[i], .src = p[0], .dst = p[1], .guest = p[2],
                             .mode = p[3], .duration_ms = -1, .plan_index = plan[i] };
        gint64 row = mm_store_case_add(s, &rec, &err);

        assert_true(row > 0);
        assert_true(mm_store_step_add(s, row, "define", "2026-01-01T00:00:00.000Z", 1, true, ids[i], &err) > 0);
        assert_true(mm_store_feature_add(s, row, "aes", "lost", &err));
        assert_true(mm_store_case_finish(s, row, "pass", NULL, NULL, false, 5, &err));
    }
    assert_true(mm_store_run_end(s, run, "done", &err));
    return run;
}

/* Shards come back as one run, in plan order, with their steps, features and hosts; shards that
 * do not belong together are refused. */
static void
test_merge(void **state)
{
    Fixture *f = *state;
    g_autofree char *s1 = g_build_filename(f->dir, "s1.db", NULL);
    g_autofree char *s2 = g_build_filename(f->dir, "s2.db", NULL);
    g_autofree char *s3 = g_build_filename(f->dir, "s3.db", NULL);
    const char *ids1[] = { "a>b/g/none", "b>a/g/none", NULL };
    const guint plan1[] = { 0, 2 };
    const char *ids2[] = { "c>d/g/none", "d>c/g/none", NULL };
    const guint plan2[] = { 1, 3 };
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) out = NULL;
    g_autoptr(GPtrArray) cases = NULL;
    g_autoptr(GPtrArray) hosts = NULL;
    g_autoptr(MmRunRecord) rec = NULL;
    MmStepCursor *cur;
    gint64 run;

    shard_db(s1, "1/2", "h1", ids1, plan1);
    shard_db(s2, "2/2", "h1", ids2, plan2);
    shard_db(s3, "2/2", "h2", ids2, plan2);
    out = mm_store_open(f->db, &err);
    assert_non_null(out);

    {
        const char *const wrong_hash[] = { s1, s3, NULL };
        const char *const twice[] = { s2, s2, NULL };
        const char *const missing[] = { s1, NULL };
        struct { const char *const *in; const char *msg; } bad[] = {
            { wrong_hash, "merge shards of one scenario" },
            { twice, "are both shard 2/2" },
            { missing, "shard 2/2 missing" },
        };
        for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
            g_clear_error(&err);
            assert_int_equal(mm_store_merge(out, bad[i].in, &err), 0);
            if (!strstr(err->message, bad[i].msg))
                fail_msg("%s: want '%s'", err->message, bad[i].msg);
            assert_int_equal(mm_exit_for_error(err), MM_EXIT_USAGE);
        }
        assert_int_equal(scalar(f->db, "SELECT count(*) FROM runs"), 0);
    }
    {
        const char *const good[] = { s2, s1, NULL };
        g_clear_error(&err);
        run = mm_store_merge(out, good, &err);
        assert_true(run > 0);
    }
    cases = mm_store_cases_list(out, run, &err);
    assert_int_equal(cases->len, 4);
    for (guint i = 0; i < 4; i++)
        assert_int_equal(((MmCaseRecord *)cases->pdata[i])->plan_index, i);
    assert_string_equal(((MmCaseRecord *)cases->pdata[1])->case_id, "c>d/g/none");
    cur = mm_store_step_cursor(out, run, &err);
    for (guint i = 0; i < 4; i++) {
        const MmCaseRecord *c = cases->pdata[i];
        GPtrArray *steps = mm_step_cursor_get(cur, c->id);
        g_autoptr(GPtrArray) feats = mm_store_features_list(out, c->id, &err);

        assert_int_equal(steps->len, 1);
        assert_string_equal(((MmStepRecord *)steps->pdata[0])->message, c->case_id);
        assert_int_equal(feats->len, 1);
    }
    assert_true(mm_step_cursor_check(cur, &err));
    mm_step_cursor_free(cur);
    hosts = mm_store_hosts_list(out, run, &err);
    assert_int_equal(hosts->len, 2);
    assert_string_equal(hosts->pdata[0], "a");
    rec = mm_store_run_get(out, run, &err);
    assert_string_equal(rec->status, "done");
    assert_null(rec->shard);
    assert_non_null(strstr(rec->merged_from, "shard 1/2"));
    assert_int_equal(rec->n_cases, 4);
    /* That merge had the DB to itself (rollback journal for the bulk); it is back in WAL. A
     * second merge beside a reader stays in WAL, and its cases follow the first run's rows, in
     * plan order. */
    assert_int_equal(scalar(f->db, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
    /* The detail indexes it set aside for the bulk are back, as the schema defines them. */
    assert_int_equal(scalar(f->db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND sql IN ("
                                   "'CREATE INDEX steps_by_case ON steps(case_row)', "
                                   "'CREATE INDEX artifacts_by_case ON artifacts(case_row)', "
                                   "'CREATE INDEX migrations_by_case ON migrations(case_row)')"), 3);
    {
        const char *const good[] = { s1, s2, NULL };
        g_autoptr(MmStore) reader = mm_store_open(f->db, &err);
        gint64 run2;

        assert_non_null(reader);
        run2 = mm_store_merge(out, good, &err);
        assert_true(run2 > run);
        assert_int_equal(scalar(f->db, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
        assert_int_equal(scalar(f->db, "SELECT count(*) FROM cases a JOIN cases b ON b.run_id = a.run_id"
                                       " AND b.id > a.id AND b.plan_index < a.plan_index"),
                         0);
        assert_int_equal(scalar(f->db, "SELECT count(*) FROM cases WHERE run_id = 2 AND id > 4"), 4);
        assert_int_equal(scalar(f->db, "SELECT count(*) FROM steps s JOIN cases c ON c.id = s.case_row"
                                       " WHERE c.run_id = 2 AND s.message = c.case_id"),
                         4);
    }
}

/* More shards than SQLite attaches at once (10): merged one shard per transaction, the same
 * result; and a shard that cannot be read half-way leaves no run behind. */
static void
test_merge_many(void **state)
{
    Fixture *f = *state;
    enum { N = 12 };
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) out = NULL;
    g_autoptr(GPtrArray) cases = NULL;
    gint64 run;

    for (guint k = 1; k <= N; k++) {
        g_autofree char *name = g_strdup_printf("m%02u.db", k);
        g_autofree char *shard = g_strdup_printf("%u/%u", k, N);
        g_autofree char *id = g_strdup_printf("a%02u>b/g/none", k);
        const char *ids[] = { id, NULL };
        const guint plan[] = { N - k };   /* plan order is the reverse of the shard order */

        g_ptr_array_add(paths, g_build_filename(f->dir, name, NULL));
        shard_db(paths->pdata[k - 1], shard, "h1", ids, plan);
    }
    g_ptr_array_add(paths, NULL);
    out = mm_store_open(f->db, &err);
    assert_non_null(out);
    run = mm_store_merge(out, (const char *const *)paths->pdata, &err);
    if (!run)
        fail_msg("%s", err->message);
    cases = mm_store_cases_list(out, run, &err);
    assert_int_equal(cases->len, N);
    for (guint i = 0; i < N; i++) {
        g_autofree char *want = g_strdup_printf("a%02u>b/g/none", N - i);
        g_autoptr(GPtrArray) steps = mm_store_steps_list(out, ((MmCaseRecord *)cases->pdata[i])->id, &err);
        assert_string_equal(((MmCaseRecord *)cases->pdata[i])->case_id, want);
        assert_int_equal(steps->len, 1);
    }
    /* The last shard's DB made unreadable after the check: the half-merged run goes. */
    {
        gint64 before = scalar(f->db, "SELECT count(*) FROM runs");
        g_autofree char *bad = g_build_filename(f->dir, "m12.db", NULL);
        sqlite3 *h;

        assert_int_equal(sqlite3_open(bad, &h), SQLITE_OK);
        assert_int_equal(sqlite3_exec(h, "DROP TABLE migrations", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(h);
        g_clear_error(&err);
        assert_int_equal(mm_store_merge(out, (const char *const *)paths->pdata, &err), 0);
        assert_non_null(strstr(err->message, "migrations"));
        assert_int_equal(scalar(f->db, "SELECT count(*) FROM runs"), before);
    }
}

/* What an unfinished attempt left goes when the case is reset for a resumed run. */
static void
test_case_reset(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) s = mm_store_open(f->db, &err);
    MmCaseRecord rec = { .case_id = (char *)"a>b/g/none", .src = (char *)"a", .dst = (char *)"b",
                         .guest = (char *)"g", .mode = (char *)"none", .duration_ms = -1 };
    MmMigrationRecord m = { .leg = (char *)"migrate", .stats = (char *)"none", .total_ms = -1, .downtime_ms = -1,
                            .data_total = -1, .data_processed = -1, .data_remaining = -1,
                            .memory_iterations = -1, .dirty_rate = -1, .postcopy_after_ms = -1 };
    g_autoptr(MmRunRecord) r = NULL;
    gint64 row;

    rec.run_id = mm_store_run_begin(s, "run", "t", "x.ini", NULL, &err);
    row = mm_store_case_add(s, &rec, &err);
    assert_true(mm_store_case_set_running(s, row, &err));
    assert_true(mm_store_step_add(s, row, "define", "2026-01-01T00:00:00.000Z", 1, true, "", &err) > 0);
    assert_true(mm_store_artifact_add(s, row, "xml-before", "a", "<domain/>", &err));
    assert_true(mm_store_feature_add(s, row, "aes", "lost", &err));
    assert_true(mm_store_migration_add(s, row, &m, &err));
    assert_true(mm_store_cases_reset(s, &row, 1, &err));
    assert_int_equal(scalar(f->db, "SELECT count(*) FROM steps") + scalar(f->db, "SELECT count(*) FROM artifacts") +
                         scalar(f->db, "SELECT count(*) FROM case_features") +
                         scalar(f->db, "SELECT count(*) FROM migrations"),
                     0);
    assert_int_equal(scalar(f->db, "SELECT count(*) FROM cases WHERE state = 'planned' AND started_at IS NULL"), 1);
    assert_true(mm_store_run_end(s, rec.run_id, "interrupted", &err));
    assert_true(mm_store_run_resume(s, rec.run_id, &err));
    r = mm_store_run_get(s, rec.run_id, &err);
    assert_string_equal(r->status, "running");
    assert_null(r->ended_at);
    assert_int_equal(r->resumed, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_case_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_many, setup, teardown),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
