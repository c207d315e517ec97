/* test-rundiff.c: run comparison on two runs built through the store API: every label, host
 * drift, and `migmatrix diff`'s exit code (the nightly gate). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "migmatrix/rundiff.h"
#include "migmatrix/util.h"

static void
add_case(MmStore *s, gint64 run, const char *id, const char *outcome, const char *reason, bool unexpected)
{
    MmCaseRecord rec = { .run_id = run, .case_id = (char *)id, .src = (char *)"a", .dst = (char *)"b",
                         .guest = (char *)"g", .mode = (char *)"none", .expected = (char *)"pass", .duration_ms = -1 };
    gint64 row = mm_store_case_add(s, &rec, NULL);

    assert_true(row > 0);
    if (outcome)
        assert_true(mm_store_case_finish(s, row, outcome, reason, NULL, unexpected, 10, NULL));
}

static char *
make_db(gint64 *a, gint64 *b, bool b_clean)
{
    g_autofree char *dir = g_dir_make_tmp("mm-diff-XXXXXX", NULL);
    char *path = g_build_filename(dir, "diff.db", NULL);
    g_autoptr(MmStore) s = mm_store_open(path, NULL);

    *a = mm_store_run_begin(s, "run", "nightly", "x.ini", NULL, NULL);
    add_case(s, *a, "a>b/g/keeps-passing", "pass", NULL, false);
    add_case(s, *a, "a>b/g/breaks", "pass", NULL, false);
    add_case(s, *a, "a>b/g/gets-fixed", "migrate-failed", "missing features", true);
    add_case(s, *a, "a>b/g/same", "start-failed", "mode unsupported by hypervisor", false);
    add_case(s, *a, "a>b/g/changes", "migrate-failed", "timeout", false);
    add_case(s, *a, "a>b/g/dropped", "pass", NULL, false);
    add_case(s, *a, "a>b/g/cpu", "pass", NULL, false);
    mm_store_host_fact_set(s, *a, "a", "qemu_version", "7.2.0", NULL);
    mm_store_host_fact_set(s, *a, "a", "microcode", "0x1", NULL);
    mm_store_host_fact_set(s, *a, "a", "kvm.host_model_cpu", "Broadwell", NULL);
    assert_true(mm_store_run_end(s, *a, "done", NULL));
    *b = mm_store_run_begin(s, "run", "nightly", "x.ini", NULL, NULL);
    add_case(s, *b, "a>b/g/keeps-passing", "pass", NULL, false);
    add_case(s, *b, "a>b/g/breaks", b_clean ? "pass" : "migrate-failed", b_clean ? NULL : "extra features", !b_clean);
    add_case(s, *b, "a>b/g/gets-fixed", "pass", NULL, false);
    add_case(s, *b, "a>b/g/same", "start-failed", "mode unsupported by hypervisor", false);
    add_case(s, *b, "a>b/g/changes", "migrate-failed", "missing features", false);
    add_case(s, *b, "a>b/g/new", "pass", NULL, false);
    /* The guest's own CPU changed under it: a failure like any other, for the gate too. */
    add_case(s, *b, "a>b/g/cpu", b_clean ? "pass" : "cpu-changed",
             b_clean ? NULL : "CPU features lost across migration", false);
    mm_store_host_fact_set(s, *b, "a", "qemu_version", "7.2.0", NULL);
    mm_store_host_fact_set(s, *b, "a", "microcode", "0x2", NULL);
    mm_store_host_fact_set(s, *b, "a", "kvm.host_model_cpu", "Broadwell-IBRS", NULL);
    assert_true(mm_store_run_end(s, *b, "done", NULL));
    return path;
}

static void
remove_db(const char *db)
{
    g_autofree char *dir = g_path_get_dirname(db);
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);
    assert_int_equal(system(rm), 0);
}

static const MmCaseDiff *
find(const MmRunDiff *d, const char *id)
{
    for (guint i = 0; i < d->cases->len; i++)
        if (strcmp(((MmCaseDiff *)d->cases->pdata[i])->case_id, id) == 0)
            return d->cases->pdata[i];
    return NULL;
}

static void
test_labels_and_drift(void **state)
{
    gint64 a, b;
    g_autofree char *db = make_db(&a, &b, false);
    g_autoptr(MmStore) s = mm_store_open(db, NULL);
    g_autoptr(MmRunDiff) d = mm_run_diff(s, a, b, NULL);
    g_autoptr(GString) text = g_string_new(NULL);

    (void)state;
    assert_null(find(d, "a>b/g/keeps-passing"));
    assert_int_equal(find(d, "a>b/g/breaks")->label, MM_DIFF_NEW_FAIL);
    assert_int_equal(find(d, "a>b/g/gets-fixed")->label, MM_DIFF_FIXED);
    assert_int_equal(find(d, "a>b/g/same")->label, MM_DIFF_STILL_SAME);
    assert_int_equal(find(d, "a>b/g/changes")->label, MM_DIFF_STILL_CHANGED);
    assert_int_equal(find(d, "a>b/g/new")->label, MM_DIFF_NEW_CASE);
    assert_int_equal(find(d, "a>b/g/dropped")->label, MM_DIFF_GONE);
    assert_int_equal(find(d, "a>b/g/cpu")->label, MM_DIFF_NEW_FAIL);
    assert_string_equal(find(d, "a>b/g/breaks")->b, "migrate-failed: extra features");
    /* Drift: microcode and the host-model expansion changed; the QEMU version did not. */
    assert_int_equal(d->drift->len, 2);
    mm_run_diff_text(d, false, text);
    assert_non_null(strstr(text->str, "  a microcode: 0x1 -> 0x2\n"));
    assert_non_null(strstr(text->str, "  a kvm.host_model_cpu: Broadwell -> Broadwell-IBRS\n"));
    assert_non_null(strstr(text->str, "still-failing  a>b/g/changes (reason changed)"));
    remove_db(db);
}

static void
add_predicted(MmStore *s, gint64 run, const char *id, const char *predicted, const char *outcome)
{
    MmCaseRecord rec = { .run_id = run, .case_id = (char *)id, .src = (char *)"a", .dst = (char *)"b",
                         .guest = (char *)"g", .mode = (char *)"host-model", .expected = (char *)"pass",
                         .duration_ms = -1 };
    gint64 row = mm_store_case_add(s, &rec, NULL);

    assert_true(row > 0);
    assert_true(mm_store_case_set_prediction(s, row, predicted, "migrate/host-model-subset", "b lacks avx2", NULL));
    /* A second prediction (a resumed run) does not replace the first. */
    assert_true(mm_store_case_set_prediction(s, row, "unknown", "start/dossier", NULL, NULL));
    assert_true(mm_store_case_finish(s, row, outcome, strcmp(outcome, "pass") ? "missing features" : NULL, NULL,
                                     false, 10, NULL));
}

/* New mispredictions in B are listed, with the rule; old ones, unknown and infra-error are not;
 * they do not change the gate. */
static void
test_new_mispredictions(void **state)
{
    g_autofree char *dir = g_dir_make_tmp("mm-diff-XXXXXX", NULL);
    g_autofree char *db = g_build_filename(dir, "diff.db", NULL);
    g_autoptr(MmStore) s = mm_store_open(db, NULL);
    g_autoptr(MmRunDiff) d = NULL;
    g_autoptr(GString) text = g_string_new(NULL), json = g_string_new(NULL);
    gint64 a, b;

    (void)state;
    a = mm_store_run_begin(s, "run", "nightly", "x.ini", NULL, NULL);
    add_predicted(s, a, "a>b/g/x", "pass", "pass");
    add_predicted(s, a, "a>b/g/y", "pass", "migrate-failed");
    add_predicted(s, a, "a>b/g/z", "migrate-failed", "migrate-failed");
    add_predicted(s, a, "a>b/g/w", "pass", "pass");
    add_predicted(s, a, "a>b/g/u", "unknown", "pass");
    assert_true(mm_store_run_end(s, a, "done", NULL));
    b = mm_store_run_begin(s, "run", "nightly", "x.ini", NULL, NULL);
    add_predicted(s, b, "a>b/g/x", "pass", "migrate-failed");
    add_predicted(s, b, "a>b/g/y", "pass", "migrate-failed");
    add_predicted(s, b, "a>b/g/z", "migrate-failed", "pass");
    add_predicted(s, b, "a>b/g/w", "pass", "infra-error");
    add_predicted(s, b, "a>b/g/u", "unknown", "migrate-failed");
    assert_true(mm_store_run_end(s, b, "done", NULL));

    d = mm_run_diff(s, a, b, NULL);
    assert_non_null(d);
    assert_int_equal(d->mispredictions->len, 2);
    assert_string_equal(((MmMisprediction *)d->mispredictions->pdata[0])->case_id, "a>b/g/x");
    assert_string_equal(((MmMisprediction *)d->mispredictions->pdata[0])->predicted,
                        "pass (migrate/host-model-subset)");
    assert_string_equal(((MmMisprediction *)d->mispredictions->pdata[0])->got, "migrate-failed: missing features");
    assert_string_equal(((MmMisprediction *)d->mispredictions->pdata[1])->case_id, "a>b/g/z");
    mm_run_diff_text(d, false, text);
    assert_non_null(strstr(text->str, "new mispredictions (2): the prediction rules or libvirt are wrong\n"
                                      "  a>b/g/x\n    predicted: pass (migrate/host-model-subset)\n"));
    mm_run_diff_json(d, json);
    assert_non_null(strstr(json->str, "\"new_mispredictions\""));
    /* Not a gate: the labels (x, w and u new failures, z fixed) alone decide the exit code; u's
     * unknown prediction and w's infra-error are not mispredictions. */
    assert_int_equal(d->counts[MM_DIFF_NEW_FAIL], 3);
    assert_int_equal(d->counts[MM_DIFF_FIXED], 1);
    {
        g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);
        assert_int_equal(system(rm), 0);
    }
}

static int run_diff(const char *db, gint64 a, gint64 b);

/* Three runs: two of one scenario, a third after it changed (say a rewritten [cpu:BASELINE]),
 * and one of unknown hash (stored before hashes, or merged): only a known change is told. */
static void
test_scenario_changed(void **state)
{
    g_autofree char *dir = g_dir_make_tmp("mm-diff-XXXXXX", NULL);
    g_autofree char *db = g_build_filename(dir, "diff.db", NULL);
    g_autoptr(MmStore) s = mm_store_open(db, NULL);
    static const char *const hashes[] = {
        "1111111111111111111111111111111111111111111111111111111111111111",
        "1111111111111111111111111111111111111111111111111111111111111111",
        "2222222222222222222222222222222222222222222222222222222222222222", NULL,
    };
    gint64 run[G_N_ELEMENTS(hashes)];

    (void)state;
    for (guint i = 0; i < G_N_ELEMENTS(hashes); i++) {
        run[i] = mm_store_run_begin(s, "run", "nightly", i == 2 ? "baseline-check.ini" : "x.ini", hashes[i], NULL);
        assert_true(run[i] > 0);
        add_case(s, run[i], "a>b/g/custom:BASELINE", "pass", NULL, false);
        assert_true(mm_store_run_end(s, run[i], "done", NULL));
    }
    {
        g_autoptr(MmRunDiff) same = mm_run_diff(s, run[0], run[1], NULL);
        g_autoptr(MmRunDiff) changed = mm_run_diff(s, run[1], run[2], NULL);
        g_autoptr(MmRunDiff) unknown = mm_run_diff(s, run[2], run[3], NULL);
        g_autoptr(GString) text = g_string_new(NULL), md = g_string_new(NULL), json = g_string_new(NULL);
        g_autofree char *none = NULL;

        assert_non_null(same);
        assert_non_null(changed);
        assert_non_null(unknown);
        assert_false(same->scenario_changed);
        assert_true(changed->scenario_changed);
        assert_false(unknown->scenario_changed);
        none = mm_run_diff_scenario_text(same);
        assert_null(none);
        mm_run_diff_text(changed, false, text);
        assert_non_null(strstr(text->str, "the scenario changed between the runs (x.ini sha256 111111111111, then "
                                          "baseline-check.ini sha256 222222222222): a case ID may stand for another "
                                          "CPU, guest or host definition in run 3\n"));
        mm_run_diff_text(changed, true, md);
        assert_non_null(strstr(md->str, "the scenario changed between the runs"));
        mm_run_diff_json(changed, json);
        assert_non_null(strstr(json->str, "\"scenario_changed\": true"));
        assert_non_null(strstr(json->str, "\"scenario_sha256_b\": \"2222"));
        g_string_truncate(text, 0);
        mm_run_diff_text(same, false, text);
        assert_null(strstr(text->str, "scenario changed"));
        g_string_truncate(json, 0);
        mm_run_diff_json(unknown, json);
        assert_non_null(strstr(json->str, "\"scenario_changed\": false"));
        assert_non_null(strstr(json->str, "\"scenario_sha256_b\": null"));
    }
    /* Told, not gated: `migmatrix diff` over the changed scenario exits 0 on the same outcomes. */
    assert_int_equal(run_diff(db, run[1], run[2]), 0);
    {
        g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);
        assert_int_equal(system(rm), 0);
    }
}

static int
run_diff(const char *db, gint64 a, gint64 b)
{
    g_autofree char *cmd = g_strdup_printf("%s diff --db '%s' %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " >/dev/null",
                                           MM_BINARY, db, a, b);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The gate: 1 on a new failure (or anything unexpected in B), 0 when B is clean. */
static void
test_exit_code(void **state)
{
    gint64 a, b;
    g_autofree char *bad = make_db(&a, &b, false);
    g_autofree char *good = NULL;

    (void)state;
    assert_int_equal(run_diff(bad, a, b), MM_EXIT_UNEXPECTED);
    good = make_db(&a, &b, true);
    assert_int_equal(run_diff(good, a, b), MM_EXIT_OK);
    remove_db(bad);
    remove_db(good);
}

/* An unfinished run B, every case of it passing so far: a run still going (its later cases
 * planned, one running) or one that was interrupted. Never "0 new-fail, exit 0". */
static char *
make_unfinished(gint64 *a, gint64 *b, const char *status, gint64 *probe)
{
    g_autofree char *dir = g_dir_make_tmp("mm-diff-XXXXXX", NULL);
    char *path = g_build_filename(dir, "diff.db", NULL);
    g_autoptr(MmStore) s = mm_store_open(path, NULL);
    const char *ids[] = { "a>b/g/one", "a>b/g/two", "a>b/g/three" };

    *probe = mm_store_run_begin(s, "probe", "lab", "x.ini", NULL, NULL);
    assert_true(mm_store_run_end(s, *probe, "done", NULL));
    *a = mm_store_run_begin(s, "run", "nightly", "x.ini", NULL, NULL);
    for (int i = 0; i < 3; i++)
        add_case(s, *a, ids[i], "pass", NULL, false);
    assert_true(mm_store_run_end(s, *a, "done", NULL));
    *b = mm_store_run_begin(s, "run", "nightly", "x.ini", NULL, NULL);
    add_case(s, *b, ids[0], "pass", NULL, false);
    add_case(s, *b, ids[1], NULL, NULL, false);
    add_case(s, *b, ids[2], NULL, NULL, false);
    if (strcmp(status, "running") != 0)
        assert_true(mm_store_run_end(s, *b, status, NULL));
    return path;
}

static void
test_unfinished_runs(void **state)
{
    const char *statuses[] = { "running", "interrupted" };

    (void)state;
    for (guint i = 0; i < G_N_ELEMENTS(statuses); i++) {
        gint64 a, b, probe;
        g_autofree char *db = make_unfinished(&a, &b, statuses[i], &probe);
        g_autoptr(MmStore) s = mm_store_open(db, NULL);
        g_autoptr(MmRunDiff) d = mm_run_diff(s, a, b, NULL);
        g_autoptr(GString) text = g_string_new(NULL);
        g_autofree char *expected = g_strdup_printf("INCOMPLETE: run %" G_GINT64_FORMAT " is %s, 2 of its 3 cases "
                                                    "have no outcome (listed as not-run)",
                                                    b, statuses[i]);

        assert_true(d->incomplete);
        assert_int_equal(d->counts[MM_DIFF_NOT_RUN], 2);
        assert_int_equal(d->counts[MM_DIFF_NEW_FAIL], 0);
        assert_int_equal(find(d, "a>b/g/two")->label, MM_DIFF_NOT_RUN);
        mm_run_diff_text(d, false, text);
        if (!strstr(text->str, expected))
            fail_msg("%s: no '%s' in\n%s", statuses[i], expected, text->str);
        assert_non_null(strstr(text->str, "not-run        a>b/g/three"));
        /* The gate: exit 4, not 0. */
        assert_int_equal(run_diff(db, a, b), MM_EXIT_INCOMPLETE);
        /* A probe record is not a run to compare: refused, exit 2. */
        assert_int_equal(run_diff(db, probe, b), MM_EXIT_USAGE);
        remove_db(db);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_mispredictions),
        cmocka_unit_test(test_labels_and_drift),
        cmocka_unit_test(test_scenario_changed),
        cmocka_unit_test(test_exit_code),
        cmocka_unit_test(test_unfinished_runs),
    };
    return cmocka_run_group_tests_name("rundiff", tests, NULL, NULL);
}
