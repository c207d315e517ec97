/* test-cli.c: the installed binary's public behaviour: exit codes and messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "migmatrix/store.h"
#include "migmatrix/util.h"

static int
run(const char *const *args, char **out, char **err)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    int status;

    g_ptr_array_add(argv, (gpointer)MM_BINARY);
    for (int i = 0; args[i]; i++)
        g_ptr_array_add(argv, (gpointer)args[i]);
    g_ptr_array_add(argv, NULL);
    if (!g_spawn_sync(MM_TEST_DATA, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status,
                      &error))
        fail_msg("spawn: %s", error->message);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

#define RUN(...) run((const char *const[]){ __VA_ARGS__, NULL }, &out, &err)

static void
test_exit_codes(void **state)
{
    g_autofree char *out = NULL, *err = NULL;

    (void)state;
    assert_int_equal(RUN("--version"), MM_EXIT_OK);
    assert_true(g_str_has_prefix(out, "migmatrix "));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    assert_int_equal(RUN("frobnicate"), MM_EXIT_USAGE);
    assert_non_null(strstr(err, "unknown command"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    assert_int_equal(RUN("plan", "--no-such-option", "x.ini"), MM_EXIT_USAGE);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    assert_int_equal(RUN("plan"), MM_EXIT_USAGE);
    assert_non_null(strstr(err, "SCENARIO"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    assert_int_equal(RUN("validate", "scenario/bad-unknown.ini"), MM_EXIT_USAGE);
    assert_non_null(strstr(err, "scenario/bad-unknown.ini:3: [run] nmae: unknown key; did you mean 'name'?"));
    assert_non_null(strstr(err, "nothing was run"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    assert_int_equal(RUN("validate", "scenario/good-matrix.ini"), MM_EXIT_OK);
    assert_non_null(strstr(out, "OK: 4 hosts, 4 guests, 73 cases (33 n/a)"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    assert_int_equal(RUN("plan", "scenario/good-matrix.ini", "--format", "json", "--filter", "x1>x2/*"), MM_EXIT_OK);
    assert_non_null(strstr(out, "\"id\": \"x1>x2/lin/host-model#1\""));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    assert_int_equal(RUN("plan", "scenario/good-matrix.ini", "--format", "yaml"), MM_EXIT_USAGE);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    assert_int_equal(RUN("report", "--db", "/nonexistent/x.db"), MM_EXIT_USAGE);
    assert_non_null(strstr(err, "no results DB at /nonexistent/x.db"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    assert_int_equal(RUN("report", "--format", "pdf"), MM_EXIT_USAGE);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    assert_int_equal(RUN("diff", "1"), MM_EXIT_USAGE);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    assert_int_equal(RUN("diff", "x", "2"), MM_EXIT_USAGE);
    assert_non_null(strstr(err, "positive numbers"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    assert_int_equal(RUN("run", "scenario/bad-unknown.ini"), MM_EXIT_USAGE);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    assert_int_equal(RUN("runs", "--db", "/nonexistent/dir/x.db"), MM_EXIT_USAGE);
    assert_non_null(strstr(err, "no results DB at /nonexistent/dir/x.db"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
}

/* Offline hosts from captured dossiers: the real Hygon C86 capture resolves to Dhyana. */
static void
test_probe_import(void **state)
{
    g_autofree char *out = NULL, *err = NULL;
    g_autofree char *dir = g_dir_make_tmp("mm-cli-XXXXXX", NULL);
    g_autofree char *db = g_build_filename(dir, "import.db", NULL);
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);

    (void)state;
    assert_int_equal(RUN("probe", "--import", "hygon-a", "cpu/x86_64-cpuid-Hygon-C86-7185-32-core-host.xml",
                         "cpu/x86_64-cpuid-Hygon-C86-7185-32-core-json.xml", "--db", db, "--format", "md"),
                     MM_EXIT_OK);
    assert_non_null(strstr(out, "| hygon-a | Hygon Dhyana | x86_64 | Dhyana +8 -2 |"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    assert_int_equal(RUN("probe", "--import", "bdw", "cpu/x86_64-cpuid-Xeon-E5-2630-v4-json.xml", "--db", db),
                     MM_EXIT_OK);
    assert_non_null(strstr(out, "Broadwell +10 -0"));
    /* A host-model <cpu> alone names no arch: libvirt's x86 cpu_map knows Broadwell, so the
     * dossier is x86_64, and baseline takes it. */
    assert_non_null(strstr(out, "x86_64"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    assert_int_equal(RUN("baseline", "--db", db, "--format", "text", "bdw"), MM_EXIT_OK);
    assert_non_null(strstr(out, "baseline of 1 host's host-model CPU (x86_64 Intel): Broadwell"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    assert_int_equal(RUN("runs", "--db", db), MM_EXIT_OK);
    assert_non_null(strstr(out, "import"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    assert_int_equal(RUN("probe", "--import", "x", "scenario/good-matrix.ini", "--db", db), MM_EXIT_USAGE);
    assert_non_null(strstr(err, "scenario/good-matrix.ini: not well-formed XML"));
    assert_int_equal(system(rm), 0);
}

static void
test_help_everywhere(void **state)
{
    const char *cmds[] = { "validate", "plan", "run", "report", "diff", "probe", "runs", "explain" };

    (void)state;
    for (guint i = 0; i < G_N_ELEMENTS(cmds); i++) {
        g_autofree char *out = NULL, *err = NULL;

        assert_int_equal(RUN(cmds[i], "--help"), MM_EXIT_OK);
        assert_non_null(strstr(out, "Usage:"));
        assert_non_null(strstr(out, "Exit codes"));
    }
    /* Each command lists the codes it can return, and only those. */
    {
        g_autofree char *out = NULL, *err = NULL;

        assert_int_equal(RUN("validate", "--help"), MM_EXIT_OK);
        assert_null(strstr(out, "unexpected results"));
        assert_non_null(strstr(out, "--hosts"));
        g_clear_pointer(&out, g_free);
        g_clear_pointer(&err, g_free);
        assert_int_equal(RUN("diff", "--help"), MM_EXIT_OK);
        assert_non_null(strstr(out, "4 a run is unfinished"));
    }
}

/* One DB, found by one chain (--db, MIGMATRIX_DB, --scenario's [run] db, the default); a probe or
 * import record is not a run to report or compare; counts read right. */
static void
test_db_chain(void **state)
{
    g_autofree char *out = NULL, *err = NULL;
    g_autofree char *dir = g_dir_make_tmp("mm-cli-XXXXXX", NULL);
    g_autofree char *db = g_build_filename(dir, "chain.db", NULL);
    g_autofree char *ini = g_build_filename(dir, "one.ini", NULL);
    g_autofree char *text = g_strdup_printf("[run]\ndb = %s\n[host:a]\nuri = test:///default\n[host:b]\n"
                                            "uri = test:///default\n[guest:g]\nos = none\n[matrix]\npairs = a>b\n"
                                            "guests = g\nmodes = none\n",
                                            db);
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);

    (void)state;
    assert_true(g_file_set_contents(ini, text, -1, NULL));
    assert_int_equal(RUN("probe", "--import", "bdw", "cpu/x86_64-cpuid-Xeon-E5-2630-v4-json.xml", "--db", db),
                     MM_EXIT_OK);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    /* The scenario's [run] db, with --scenario. */
    assert_int_equal(RUN("runs", "--scenario", ini), MM_EXIT_OK);
    assert_non_null(strstr(out, "import"));
    /* scripts/nightly.sh reads field 2 (KIND) and field 9 (SCENARIO): keep the columns. */
    {
        g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
        g_auto(GStrv) head = g_strsplit_set(lines[0], " ", -1);
        g_autoptr(GPtrArray) fields = g_ptr_array_new();

        for (int i = 0; head[i]; i++)
            if (*head[i])
                g_ptr_array_add(fields, head[i]);
        assert_true(fields->len >= 9);
        assert_string_equal(fields->pdata[1], "KIND");
        assert_string_equal(fields->pdata[8], "SCENARIO");
    }
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    /* MIGMATRIX_DB, and --db before it. */
    g_setenv("MIGMATRIX_DB", db, TRUE);
    assert_int_equal(RUN("runs"), MM_EXIT_OK);
    assert_non_null(strstr(out, "import"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    assert_int_equal(RUN("runs", "--db", "/nonexistent/x.db"), MM_EXIT_USAGE);
    assert_non_null(strstr(err, "no results DB at /nonexistent/x.db (--db)"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    /* An import record is not a matrix run. */
    assert_int_equal(RUN("report", "--run", "1"), MM_EXIT_USAGE);
    assert_non_null(strstr(err, "run 1 is an import record"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    assert_int_equal(RUN("diff", "1", "1"), MM_EXIT_USAGE);
    assert_non_null(strstr(err, "not a matrix run"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    g_unsetenv("MIGMATRIX_DB");
    assert_int_equal(RUN("runs", "--db", "/nonexistent/y.db"), MM_EXIT_USAGE);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    /* A filtered run says so, in runs and in the report. */
    {
        g_autoptr(MmStore) st = mm_store_open(db, NULL);
        gint64 run = mm_store_run_begin(st, "run", "one", ini, NULL, NULL);

        assert_true(run > 0);
        assert_true(mm_store_run_set_filter(st, run, "a>*/g/*", NULL));
        assert_true(mm_store_run_end(st, run, "done", NULL));
    }
    assert_int_equal(RUN("runs", "--db", db), MM_EXIT_OK);
    assert_non_null(strstr(out, "[filtered: --filter a>*/g/*]"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    assert_int_equal(RUN("report", "--db", db, "--latest"), MM_EXIT_OK);
    assert_non_null(strstr(out, "**Filtered**: only the cases matching --filter a>\\*/g/\\* were run"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    /* "1 guest", "1 case". */
    assert_int_equal(RUN("validate", ini), MM_EXIT_OK);
    assert_non_null(strstr(out, "OK: 2 hosts, 1 guest, 1 case (0 n/a), 0 expect rules"));
    assert_int_equal(system(rm), 0);
}

/* Runs migmatrix with ARGS (NULL-terminated) and checks its exit code, and that OUT_HAS and
 * ERR_HAS (either may be NULL) appear in its stdout and stderr. */
static void
expect(int code, const char *out_has, const char *err_has, const char *const *args)
{
    g_autofree char *out = NULL, *err = NULL;
    int rc = run(args, &out, &err);

    if (rc != code || (out_has && !strstr(out, out_has)) || (err_has && !strstr(err, err_has))) {
        g_autofree char *cmd = g_strjoinv(" ", (char **)args);
        fail_msg("migmatrix %s: exit %d (want %d)\nstdout (want '%s'):\n%s\nstderr (want '%s'):\n%s", cmd, rc, code,
                 out_has ? out_has : "", out, err_has ? err_has : "", err);
    }
}
#define EXPECT(code, out_has, err_has, ...) expect(code, out_has, err_has, (const char *const[]){ __VA_ARGS__, NULL })

static void
sql(const char *db, const char *stmt)
{
    sqlite3 *h;

    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    if (sqlite3_exec(h, stmt, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", stmt, sqlite3_errmsg(h));
    assert_int_equal(sqlite3_close(h), SQLITE_OK);
}

static gint64
sql_int(const char *db, const char *query)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    gint64 v;

    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, query, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* The latest run of DB_A and of DB_B have the same cases in the same order with the same
 * outcomes: their CSV reports agree from case_id to unexpected (columns 2-12; the run ID and
 * the times after them may differ). */
static void
assert_same_cases(const char *db_a, const char *db_b)
{
    g_autofree char *a = NULL, *b = NULL, *e = NULL;
    g_auto(GStrv) la = NULL, lb = NULL;

    assert_int_equal(run((const char *const[]){ "report", "--db", db_a, "--format", "csv", NULL }, &a, &e), 0);
    g_clear_pointer(&e, g_free);
    assert_int_equal(run((const char *const[]){ "report", "--db", db_b, "--format", "csv", NULL }, &b, &e), 0);
    la = g_strsplit(a, "\n", -1);
    lb = g_strsplit(b, "\n", -1);
    assert_int_equal(g_strv_length(la), g_strv_length(lb));
    assert_true(g_strv_length(la) > 2);
    for (guint i = 0; la[i]; i++) {
        g_auto(GStrv) fa = g_strsplit(la[i], ",", 13);
        g_auto(GStrv) fb = g_strsplit(lb[i], ",", 13);

        if (!*la[i])
            continue;
        assert_true(g_strv_length(fa) == 13 && g_strv_length(fb) == 13);
        for (guint f = 1; f < 12; f++)
            assert_string_equal(fa[f], fb[f]);
    }
}

/* A scenario on libvirt's test driver (test:///default): cases really run through the engine
 * in this process, quickly, and all fail the same way (the test driver cannot migrate), which
 * is what rerun, resume, shards and jobs need to be checked without a lab. */
#define OFFLINE_HOSTS                                                                                          \
    "[host:a]\nuri = test:///default\nvirt_type = qemu\n[host:b]\nuri = test:///default\nvirt_type = qemu\n" \
    "[host:c]\nuri = test:///default\nvirt_type = qemu\n[host:d]\nuri = test:///default\nvirt_type = qemu\n" \
    "[guest:g]\nos = none\nmemory_mib = 128\nprobe = none\n"

static void
test_run_lifecycle(void **state)
{
    g_autofree char *dir = g_dir_make_tmp("mm-cli-XXXXXX", NULL);
    g_autofree char *ini = g_build_filename(dir, "t.ini", NULL);
    g_autofree char *db = g_build_filename(dir, "t.db", NULL);
    g_autofree char *s1 = g_build_filename(dir, "s1.db", NULL);
    g_autofree char *s2 = g_build_filename(dir, "s2.db", NULL);
    g_autofree char *merged = g_build_filename(dir, "merged.db", NULL);
    g_autofree char *serial = g_build_filename(dir, "serial.db", NULL);
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);
    const char *text = "[run]\nname = offline\nboot_timeout = 5\n" OFFLINE_HOSTS
                       "[matrix]\npairs = a>b, c>d\nguests = g\nmodes = custom:qemu64, host-model\n";

    (void)state;
    assert_true(g_file_set_contents(ini, text, -1, NULL));

    /* Usage rules. */
    EXPECT(MM_EXIT_USAGE, NULL, "--rerun failed|unexpected and --from RUN_ID go together", "run", ini, "--rerun",
           "failed");
    EXPECT(MM_EXIT_USAGE, NULL, "--rerun maybe: use failed", "run", "--rerun", "maybe", "--from", "1");
    EXPECT(MM_EXIT_USAGE, NULL, "is not a shard: give K/N", "run", ini, "--shard", "3/2");
    EXPECT(MM_EXIT_USAGE, NULL, "it takes no --rerun", "run", "--resume", "1", "--shard", "1/2");
    EXPECT(MM_EXIT_USAGE, NULL, "--force only goes with --resume", "run", ini, "--force");
    EXPECT(MM_EXIT_USAGE, NULL, "--jobs 999: give 1 to 256", "run", ini, "--jobs", "999");

    /* A whole run, one at a time, then with two workers: the same rows in the same order. */
    EXPECT(MM_EXIT_UNEXPECTED, "done: 4 of 4 cases", NULL, "run", ini, "--db", serial, "--no-preflight");
    EXPECT(MM_EXIT_UNEXPECTED, "done: 4 of 4 cases", "up to 2 cases at once", "run", ini, "--db", db,
           "--no-preflight", "--jobs", "2");
    assert_int_equal(sql_int(db, "SELECT count(*) FROM cases WHERE run_id = 1 AND state = 'done'"), 4);
    assert_same_cases(serial, db);

    /* Rerun of the failed cases: a new run, linked. */
    EXPECT(MM_EXIT_UNEXPECTED, "done: 4 of 4 cases", "(a rerun)", "run", "--rerun", "failed", "--from", "1", "--db",
           db, "--no-preflight");
    EXPECT(MM_EXIT_OK, "[rerun of run 1 (its failed cases)]", NULL, "runs", "--db", db);
    EXPECT(MM_EXIT_OK, "**Origin**: rerun of run 1 (its failed cases).", NULL, "report", "--db", db, "--run", "2");
    EXPECT(MM_EXIT_USAGE, NULL, "no results DB", "run", "--rerun", "failed", "--from", "1", "--db",
           "/nonexistent/x.db");

    /* Resume: as if run 2's runner died in its third case. */
    EXPECT(MM_EXIT_USAGE, NULL, "run 2 is done: nothing to resume", "run", "--resume", "2", "--db", db);
    sql(db, "UPDATE runs SET status = 'running', ended_at = NULL WHERE id = 2;"
            "UPDATE cases SET state = 'running', outcome = NULL, ended_at = NULL WHERE run_id = 2 AND"
            " case_id = 'c>d/g/custom:qemu64';"
            "UPDATE cases SET state = 'planned', outcome = NULL, ended_at = NULL WHERE run_id = 2 AND"
            " case_id = 'c>d/g/host-model';");
    {
        /* A changed scenario is refused, unless --force. */
        g_autofree char *changed = g_strdup_printf("[run]\nmigrate_timeout = 9\n%s", text + strlen("[run]\n"));
        assert_true(g_file_set_contents(ini, changed, -1, NULL));
        EXPECT(MM_EXIT_USAGE, NULL, "changed since run 2 began", "run", "--resume", "2", "--db", db);
        assert_true(g_file_set_contents(ini, text, -1, NULL));
    }
    EXPECT(MM_EXIT_UNEXPECTED, "done: 4 of 4 cases", "run 2 resumed: 2 cases to run of 4 cases", "run", "--resume",
           "2", "--db", db, "--no-preflight");
    assert_int_equal(sql_int(db, "SELECT count(*) FROM cases WHERE run_id = 2"), 4);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM cases WHERE run_id = 2 AND state = 'done'"), 4);
    /* One attempt's steps per case: the reset case has one prepare, like the others. */
    assert_int_equal(sql_int(db, "SELECT count(*) FROM steps s JOIN cases c ON c.id = s.case_row WHERE c.run_id = 2"
                                 " AND s.phase = 'prepare'"),
                     4);
    assert_int_equal(sql_int(db, "SELECT resumed FROM runs WHERE id = 2"), 1);
    EXPECT(MM_EXIT_OK, "[rerun of run 1 (its failed cases); resumed 1 time after its runner stopped]", NULL, "runs",
           "--db", db);

    /* Shards: the two pairs share no host, so each shard gets one; merged, they read as one run. */
    EXPECT(MM_EXIT_UNEXPECTED, "done: 2 of 2 cases", "shard 1/2: 2 of 4 cases (2 host groups linked by cases, each whole in one shard",
           "run", ini, "--db", s1, "--shard", "1/2", "--no-preflight");
    EXPECT(MM_EXIT_UNEXPECTED, "done: 2 of 2 cases", NULL, "run", ini, "--db", s2, "--shard", "2/2",
           "--no-preflight");
    EXPECT(MM_EXIT_USAGE, NULL, "shard 2/2 missing", "merge", "--db", merged, s1);
    EXPECT(MM_EXIT_USAGE, NULL, "are both shard 1/2", "merge", "--db", merged, s1, s1);
    EXPECT(MM_EXIT_USAGE, NULL, "is not a shard", "merge", "--db", merged, s1, serial);
    EXPECT(MM_EXIT_USAGE, NULL, "is both an input and --db", "merge", "--db", s1, s1, s2);
    EXPECT(MM_EXIT_OK, "4 cases of", NULL, "merge", "--db", merged, s2, s1);
    EXPECT(MM_EXIT_OK, "[merged from 2 shard DBs]", NULL, "runs", "--db", merged);
    assert_same_cases(serial, merged);
    EXPECT(MM_EXIT_UNEXPECTED, NULL, NULL, "diff", "--db", merged, "1", "1");
    assert_int_equal(system(rm), 0);
}

/* The DB fills up in the middle of a run (the runner's file size limit stands for a full disk):
 * the run stops starting cases and exits 3 with SQLite's message and the --resume command, and
 * every case finished before stays in the DB, which opens and reports again. */
static void
test_run_db_full(void **state)
{
    g_autofree char *dir = g_dir_make_tmp("mm-cli-XXXXXX", NULL);
    g_autofree char *ini = g_build_filename(dir, "t.ini", NULL);
    g_autofree char *db = g_build_filename(dir, "t.db", NULL);
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);
    g_autofree char *text = g_strdup("[run]\nname = full\nboot_timeout = 5\n" OFFLINE_HOSTS
                                     "[matrix]\npairs = a>b\nguests = g\nmodes = custom:qemu64, host-model\n"
                                     "repeat = 200\n");
    g_autofree char *cmd = NULL, *out = NULL, *err = NULL;
    g_autoptr(GError) e = NULL;
    gint64 done;
    int status;

    (void)state;
    assert_true(g_file_set_contents(ini, text, -1, NULL));
    /* SIGXFSZ ignored (and so inherited ignored): a write past the limit fails with EFBIG. The
     * limit is in KiB, well above the run's setup and below what 400 cases write. */
    cmd = g_strdup_printf("trap '' XFSZ; ulimit -f 2500; exec '%s' run '%s' --db '%s' --no-preflight", MM_BINARY, ini,
                          db);
    assert_true(g_spawn_sync(NULL, (char *[]){ (char *)"/bin/sh", (char *)"-c", cmd, NULL }, NULL, G_SPAWN_DEFAULT,
                             NULL, NULL, &out, &err, &status, &e));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != MM_EXIT_INFRA)
        fail_msg("exit %d, want 3:\n%s\n%s", WEXITSTATUS(status), out, err);
    assert_non_null(strstr(err, "the results DB failed, no further case was started"));
    assert_null(strstr(err, "CRITICAL"));
    assert_true(strstr(err, "disk I/O error") || strstr(err, "database or disk is full"));
    assert_non_null(strstr(err, "migmatrix run --resume 1"));
    done = sql_int(db, "SELECT count(*) FROM cases WHERE outcome IS NOT NULL");
    assert_true(done > 0 && done < 400);
    /* Each finished case kept its steps. */
    assert_int_equal(sql_int(db, "SELECT count(*) FROM cases c WHERE c.outcome IS NOT NULL AND NOT EXISTS"
                                 " (SELECT 1 FROM steps s WHERE s.case_row = c.id AND s.phase = 'cleanup')"),
                     0);
    EXPECT(MM_EXIT_OK, NULL, NULL, "report", "--db", db, "--format", "csv");
    /* The disk has room again: the run is finished where it stopped, nothing lost or doubled. */
    EXPECT(MM_EXIT_UNEXPECTED, "done: 400 of 400 cases", "run 1 resumed", "run", "--resume", "1", "--db", db,
           "--no-preflight");
    assert_int_equal(sql_int(db, "SELECT count(*) FROM cases WHERE state = 'done'"), 400);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM steps WHERE phase = 'prepare'"), 400);
    assert_int_equal(system(rm), 0);
}

/* On a terminal (a pty from util-linux's script), run draws a live status under the finished
 * lines: cases done of all, each running case with its phase, an ETA once a case has finished,
 * and erases it before each finished line. Without a terminal none of that is written. */
static void
test_run_status_on_tty(void **state)
{
    g_autofree char *dir = g_dir_make_tmp("mm-cli-XXXXXX", NULL);
    g_autofree char *ini = g_build_filename(dir, "t.ini", NULL);
    g_autofree char *db = g_build_filename(dir, "t.db", NULL);
    g_autofree char *db2 = g_build_filename(dir, "t2.db", NULL);
    g_autofree char *typescript = g_build_filename(dir, "typescript", NULL);
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);
    g_autofree char *cmd = NULL, *text = NULL, *out = NULL, *err = NULL;
    g_autoptr(GError) e = NULL;
    int status;

    g_autofree char *script = g_find_program_in_path("script");

    (void)state;
    if (!script)
        skip();   /* util-linux's script: installed by scripts/install-deps.sh */
    assert_true(g_file_set_contents(ini,
                                    "[run]\nname = tty\nboot_timeout = 5\n" OFFLINE_HOSTS
                                    "[matrix]\npairs = a>b, c>d\nguests = g\nmodes = custom:qemu64\nrepeat = 3\n",
                                    -1, NULL));
    cmd = g_strdup_printf("'%s' run '%s' --db '%s' --no-preflight --jobs 2", MM_BINARY, ini, db);
    assert_true(g_spawn_sync(NULL, (char *[]){ (char *)"script", (char *)"-qec", cmd, typescript, NULL }, NULL,
                             G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &e));
    assert_true(g_file_get_contents(typescript, &text, NULL, NULL));
    assert_non_null(strstr(text, "[0/6 done, 2 running]"));
    /* A running case with its phase; which phase the first redraw catches depends on timing (the
     * test driver's cases take milliseconds). */
    assert_true(g_regex_match_simple("\n  a>b/g/custom:qemu64#1  (waiting|prepare|define|start|wait-alive|snapshot|precheck|migrate|verify|"
                                     "rollback-check|cleanup) \\([0-9]+ s, case [0-9]+ s\\)\r?\n",
                                     text, 0, 0));
    assert_non_null(strstr(text, "done, 2 running, ETA "));
    assert_non_null(strstr(text, "\033[3A\r\033[J[1/6] "));   /* erased, then the finished line */
    assert_non_null(strstr(text, "[6/6] "));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    /* Piped: one line per finished case, no status. */
    EXPECT(MM_EXIT_UNEXPECTED, NULL, "[6/6] ", "run", ini, "--db", db2, "--no-preflight", "--jobs", "2");
    {
        g_autofree char *o = NULL, *eo = NULL;
        run((const char *const[]){ "run", ini, "--db", db2, "--no-preflight", "--jobs", "2", NULL }, &o, &eo);
        assert_null(strstr(eo, "running"));
        assert_null(strstr(eo, "\033["));
    }
    assert_int_equal(system(rm), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_help_everywhere),
        cmocka_unit_test(test_probe_import),
        cmocka_unit_test(test_db_chain),
        cmocka_unit_test(test_run_lifecycle),
        cmocka_unit_test(test_run_db_full),
        cmocka_unit_test(test_run_status_on_tty),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
