/* test-store.c: schema, migration, round trips, and two processes writing one file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Two processes, each with its own connection, write to one file at the same time. */
static void
test_two_writers(void **state)
{
    Fixture *f = *state;
    enum { PER_CHILD = 300 };
    pid_t pids[2];
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
    for (int p = 0; p < 2; p++) {
        int status;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(scalar(f->db, "SELECT count(*) FROM cases WHERE state = 'done'"), 2 * PER_CHILD);
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
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
