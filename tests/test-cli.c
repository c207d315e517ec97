/* test-cli.c: the installed binary's public behaviour: exit codes and messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_help_everywhere),
        cmocka_unit_test(test_probe_import),
        cmocka_unit_test(test_db_chain),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
