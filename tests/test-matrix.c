/* test-matrix.c: expansion rules asserted one by one (the goldens show the whole picture). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "migmatrix/matrix.h"
#include "migmatrix/util.h"

static MmScenario *
load_text(const char *text)
{
    g_autofree char *path = NULL;
    g_autoptr(GPtrArray) problems = mm_problems_new();
    int fd = g_file_open_tmp("mm-matrix-XXXXXX.ini", &path, NULL);
    MmScenario *sc;

    assert_true(fd >= 0);
    close(fd);
    assert_true(g_file_set_contents(path, text, -1, NULL));
    sc = mm_scenario_load(path, problems);
    unlink(path);
    if (!sc) {
        g_autoptr(GString) s = g_string_new(NULL);
        mm_problems_format(problems, s);
        fail_msg("scenario did not load:\n%s", s->str);
    }
    return sc;
}

#define HOSTS3 "[host:a]\nuri=qemu:///system\n[host:b]\nuri=qemu:///system\n[host:c]\nuri=qemu:///system\n" \
               "[guest:g]\ndisk=/g\n[guest:w]\nos=windows\ndisk=/w\n"

static const char *
id_at(MmMatrix *m, guint i)
{
    assert_true(i < m->cases->len);
    return ((MmCase *)m->cases->pdata[i])->id;
}

static void
test_all_pairs_order(void **state)
{
    g_autoptr(MmScenario) sc = load_text(HOSTS3 "[matrix]\npairs=all\nguests=g\nmodes=none\n");
    g_autoptr(MmMatrix) m = mm_matrix_expand(sc, NULL);
    const char *want[] = { "a>b/g/none", "a>c/g/none", "b>a/g/none", "b>c/g/none", "c>a/g/none", "c>b/g/none" };

    (void)state;
    assert_int_equal(m->cases->len, G_N_ELEMENTS(want));
    for (guint i = 0; i < G_N_ELEMENTS(want); i++)
        assert_string_equal(id_at(m, i), want[i]);
}

static void
test_listed_order_and_modes(void **state)
{
    /* Pairs in the order written (not sorted), guests, then modes, then repeats. */
    g_autoptr(MmScenario) sc = load_text(HOSTS3 "[matrix]\npairs=c>a, a>b\nguests=w, g\n"
                                                "modes=custom:Dhyana, host-model\nrepeat=2\n");
    g_autoptr(MmMatrix) m = mm_matrix_expand(sc, NULL);
    MmCase *c;

    (void)state;
    assert_int_equal(m->cases->len, 2 * 2 * 2 * 2);
    assert_string_equal(id_at(m, 0), "c>a/w/custom:Dhyana#1");
    assert_string_equal(id_at(m, 1), "c>a/w/custom:Dhyana#2");
    assert_string_equal(id_at(m, 2), "c>a/w/host-model#1");
    assert_string_equal(id_at(m, 4), "c>a/g/custom:Dhyana#1");
    assert_string_equal(id_at(m, 8), "a>b/w/custom:Dhyana#1");
    c = m->cases->pdata[1];
    assert_int_equal(c->repeat, 2);
    assert_int_equal(c->mode->kind, MM_MODE_CUSTOM);
    assert_string_equal(c->mode->model, "Dhyana");
    assert_string_equal(c->src->name, "c");
    assert_string_equal(c->dst->name, "a");
}

static void
test_glob_never_self(void **state)
{
    g_autoptr(MmScenario) sc = load_text(HOSTS3 "[matrix]\npairs=*>*\nguests=g\nmodes=none\n");
    g_autoptr(MmMatrix) m = mm_matrix_expand(sc, NULL);

    (void)state;
    assert_int_equal(m->cases->len, 6);
    for (guint i = 0; i < m->cases->len; i++) {
        MmCase *c = m->cases->pdata[i];
        assert_ptr_not_equal(c->src, c->dst);
    }
}

static void
test_duplicates_across_groups(void **state)
{
    g_autoptr(MmScenario) sc = load_text(HOSTS3 "[matrix]\npairs=a>b\nguests=g\nmodes=none\n"
                                                "[matrix:more]\npairs=a>*\nguests=g\nmodes=none\n");
    g_autoptr(MmMatrix) m = mm_matrix_expand(sc, NULL);

    (void)state;
    assert_int_equal(m->cases->len, 2);
    assert_int_equal(m->duplicates, 1);
    assert_string_equal(((MmCase *)m->cases->pdata[1])->matrix, "more");
    /* Dropping a case silently would lose its settings: warned, naming an example. */
    {
        g_autoptr(GPtrArray) problems = mm_problems_new();
        mm_matrix_check(sc, m, false, problems);
        assert_int_equal(mm_problems_count(problems, MM_PROBLEM_WARNING), 1);
        assert_non_null(strstr(((MmProblem *)problems->pdata[0])->message, "e.g. a>b/g/none"));
        assert_string_equal(((MmProblem *)problems->pdata[0])->group, "matrix:more");
    }
}

static void
test_na_reasons(void **state)
{
    g_autoptr(MmScenario) sc = load_text("[host:x]\nuri=qemu:///system\n[host:y]\nuri=qemu:///system\n"
                                         "[host:arm]\nuri=qemu:///system\narch=aarch64\n"
                                         "[guest:a64]\narch=aarch64\nos=none\n[guest:g]\ndisk=/g\n"
                                         "[matrix]\npairs=x>y, x>arm\nguests=a64, g\nmodes=none\n"
                                         "[expect]\nx>y/g/* = na: no shared storage\n");
    g_autoptr(MmMatrix) m = mm_matrix_expand(sc, NULL);
    MmCase *c;

    (void)state;
    assert_int_equal(m->cases->len, 4);
    c = m->cases->pdata[0];
    assert_string_equal(c->na_reason, "aarch64 guest on x86_64 KVM hosts (needs virt_type = qemu)");
    assert_int_equal(c->expected, MM_OUTCOME_NA);
    c = m->cases->pdata[1];
    assert_string_equal(c->na_reason, "no shared storage");
    c = m->cases->pdata[2];
    assert_string_equal(c->na_reason, "cross-arch pair (x86_64>aarch64)");
    c = m->cases->pdata[3];
    assert_string_equal(c->na_reason, "cross-arch pair (x86_64>aarch64)");
}

/* Under TCG a foreign-arch guest is emulated, so it is applicable. */
static void
test_tcg_emulates_foreign_arch(void **state)
{
    g_autoptr(MmScenario) sc = load_text("[host:t1]\nuri=qemu:///system\nvirt_type=qemu\n"
                                         "[host:t2]\nuri=qemu:///system\nvirt_type=qemu\n"
                                         "[host:k]\nuri=qemu:///system\n"
                                         "[guest:a64]\narch=aarch64\nos=none\n"
                                         "[matrix]\npairs=t1>t2, t1>k\nguests=a64\nmodes=custom:cortex-a57\n");
    g_autoptr(MmMatrix) m = mm_matrix_expand(sc, NULL);

    (void)state;
    assert_null(((MmCase *)m->cases->pdata[0])->na_reason);
    assert_non_null(((MmCase *)m->cases->pdata[1])->na_reason);
}

static void
test_expect_last_match_wins(void **state)
{
    g_autoptr(MmScenario) sc = load_text(HOSTS3 "[matrix]\npairs=a>b, b>a\nguests=w\nmodes=none\n"
                                                "[expect]\n*/w/* = guest-hung: hangs\na>*/w/* = pass\n"
                                                "c>*/*/* = start-failed\n");
    g_autoptr(MmMatrix) m = mm_matrix_expand(sc, NULL);
    g_autoptr(GPtrArray) problems = mm_problems_new();
    MmCase *c;

    (void)state;
    c = m->cases->pdata[0];
    assert_int_equal(c->expected, MM_OUTCOME_PASS);
    assert_null(c->expected_reason);
    c = m->cases->pdata[1];
    assert_int_equal(c->expected, MM_OUTCOME_GUEST_HUNG);
    assert_string_equal(c->expected_reason, "hangs");
    /* The c>… rule decides nothing: warned, not an error. */
    mm_matrix_check(sc, m, false, problems);
    assert_int_equal(mm_problems_count(problems, MM_PROBLEM_ERROR), 0);
    assert_int_equal(mm_problems_count(problems, MM_PROBLEM_WARNING), 1);
    assert_string_equal(((MmProblem *)problems->pdata[0])->key, "c>*/*/*");
}

static void
test_filter(void **state)
{
    g_autoptr(MmScenario) sc = load_text(HOSTS3 "[matrix]\npairs=all\nguests=g, w\nmodes=none, host-model\n");
    g_autoptr(MmMatrix) m = mm_matrix_expand(sc, "b>*/w/*");
    g_autoptr(MmMatrix) none = mm_matrix_expand(sc, "nomatch");
    g_autoptr(GPtrArray) problems = mm_problems_new();

    (void)state;
    assert_int_equal(m->cases->len, 4);
    assert_int_equal(m->excluded, 20);
    assert_string_equal(id_at(m, 0), "b>a/w/none");
    mm_matrix_check(sc, none, true, problems);
    assert_int_equal(mm_problems_count(problems, MM_PROBLEM_ERROR), 1);
}

/* The same scenario gives the same plan, byte for byte. */
static void
test_deterministic(void **state)
{
    g_autoptr(MmScenario) sc = load_text(HOSTS3 "[matrix]\npairs=all\nguests=*\nmodes=none, maximum\nrepeat=3\n");
    g_autoptr(GString) a = g_string_new(NULL);
    g_autoptr(GString) b = g_string_new(NULL);

    (void)state;
    for (int i = 0; i < 2; i++) {
        g_autoptr(MmMatrix) m = mm_matrix_expand(sc, NULL);
        mm_matrix_format_json(sc, m, i ? b : a);
    }
    assert_string_equal(a->str, b->str);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_pairs_order),
        cmocka_unit_test(test_listed_order_and_modes),
        cmocka_unit_test(test_glob_never_self),
        cmocka_unit_test(test_duplicates_across_groups),
        cmocka_unit_test(test_na_reasons),
        cmocka_unit_test(test_tcg_emulates_foreign_arch),
        cmocka_unit_test(test_expect_last_match_wins),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests_name("matrix", tests, NULL, NULL);
}
