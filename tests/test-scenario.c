/* test-scenario.c: data-driven scenario tests, libvirt style.
 *
 * For every tests/data/scenario/good-NAME.ini the text plan (warnings first) must equal
 * NAME.plan and the JSON plan NAME.json; for every bad-NAME.ini the error output must equal
 * bad-NAME.err. Set MM_REGENERATE=1 to rewrite the golden files from the current output
 * (scripts/regen-goldens.sh), then review the diff before committing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "migmatrix/matrix.h"
#include "migmatrix/scenario.h"
#include "migmatrix/util.h"
#include "testutil.h"

static void
check_golden(const char *golden_path, const char *actual)
{
    assert_true(mm_test_compare_to_file(actual, golden_path));
}

static char *
golden_name(const char *ini, const char *suffix)
{
    g_autofree char *base = g_strndup(ini, strlen(ini) - strlen(".ini"));
    return g_strconcat(base, suffix, NULL);
}

static void
test_good(void **state)
{
    const char *ini = *state;
    g_autoptr(GPtrArray) problems = mm_problems_new();
    g_autoptr(MmScenario) sc = mm_scenario_load(ini, problems);
    g_autoptr(MmMatrix) m = NULL;
    g_autoptr(GString) text = g_string_new(NULL);
    g_autoptr(GString) json = g_string_new(NULL);
    g_autofree char *plan_golden = golden_name(ini, ".plan");
    g_autofree char *json_golden = golden_name(ini, ".json");

    if (!sc) {
        mm_problems_format(problems, text);
        fail_msg("%s should load, but:\n%s", ini, text->str);
    }
    m = mm_matrix_expand(sc, NULL);
    mm_matrix_check(sc, m, false, problems);
    assert_int_equal(mm_problems_count(problems, MM_PROBLEM_ERROR), 0);
    mm_problems_format(problems, text);
    mm_matrix_format_text(m, text);
    mm_matrix_format_json(sc, m, json);
    check_golden(plan_golden, text->str);
    check_golden(json_golden, json->str);
}

static void
test_bad(void **state)
{
    const char *ini = *state;
    g_autoptr(GPtrArray) problems = mm_problems_new();
    g_autoptr(MmScenario) sc = mm_scenario_load(ini, problems);
    g_autoptr(GString) text = g_string_new(NULL);
    g_autofree char *golden = golden_name(ini, ".err");

    /* Bad at load time, or loads but its matrix is empty: either way an error, never a run. */
    if (sc) {
        g_autoptr(MmMatrix) m = mm_matrix_expand(sc, NULL);
        mm_matrix_check(sc, m, false, problems);
    }
    mm_problems_format(problems, text);
    assert_true(mm_problems_count(problems, MM_PROBLEM_ERROR) > 0);
    check_golden(golden, text->str);
}

/* docs/scenario-format.md must document every key the loader knows, as "### `key`". */
static void
test_keys_documented(void **state)
{
    g_autofree char *doc = NULL;
    const char *const *keys = mm_scenario_known_keys();

    (void)state;
    assert_true(g_file_get_contents(MM_SOURCE_DIR "/docs/scenario-format.md", &doc, NULL, NULL));
    for (int i = 0; keys[i]; i++) {
        g_autofree char *heading = g_strdup_printf("`%s`", keys[i]);
        if (!strstr(doc, heading))
            fail_msg("docs/scenario-format.md does not document %s", heading);
    }
}

/* A password in a URI is refused without being repeated: the message goes to logs. */
static void
test_secret_not_echoed(void **state)
{
    g_autoptr(GPtrArray) problems = mm_problems_new();
    g_autoptr(MmScenario) sc = mm_scenario_load("scenario/bad-secrets.ini", problems);
    g_autoptr(GString) text = g_string_new(NULL);

    (void)state;
    assert_null(sc);
    mm_problems_format(problems, text);
    assert_non_null(strstr(text->str, "carries a password"));
    assert_null(strstr(text->str, "hunter2"));
}

/* The shipped scenarios must stay valid. */
static void
test_shipped(void **state)
{
    g_autoptr(GDir) dir = g_dir_open(MM_SOURCE_DIR "/scenarios", 0, NULL);
    const char *name;
    int n = 0;

    (void)state;
    assert_non_null(dir);
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(MM_SOURCE_DIR "/scenarios", name, NULL);
        g_autoptr(GPtrArray) problems = mm_problems_new();
        g_autoptr(MmScenario) sc = NULL;
        g_autoptr(GString) text = g_string_new(NULL);

        /* Scenarios that include a file the lab writes at lab-up are checked by the lab tests. */
        if (!g_str_has_suffix(name, ".ini") || strcmp(name, "local.ini") == 0)
            continue;
        sc = mm_scenario_load(path, problems);
        mm_problems_format(problems, text);
        if (!sc || mm_problems_count(problems, MM_PROBLEM_WARNING))
            fail_msg("%s:\n%s", path, text->str);
        n++;
    }
    assert_true(n >= 1);
}

static gint
compare_paths(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(void)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GDir) dir = NULL;
    const char *name;
    g_autoptr(GArray) cm = g_array_new(FALSE, TRUE, sizeof(struct CMUnitTest));

    /* Paths in golden error output are relative to tests/data, wherever the build is. */
    if (chdir(MM_TEST_DATA) != 0)
        return 1;
    dir = g_dir_open("scenario", 0, NULL);
    while (dir && (name = g_dir_read_name(dir))) {
        if (g_str_has_suffix(name, ".ini") && (g_str_has_prefix(name, "good-") || g_str_has_prefix(name, "bad-")))
            g_ptr_array_add(names, g_build_filename("scenario", name, NULL));
    }
    g_ptr_array_sort(names, compare_paths);

    for (guint i = 0; i < names->len; i++) {
        const char *path = names->pdata[i];
        struct CMUnitTest t = {
            .name = path,
            .test_func = strstr(path, "/good-") ? test_good : test_bad,
            .initial_state = (void *)path,
        };
        g_array_append_val(cm, t);
    }
    {
        struct CMUnitTest t1 = cmocka_unit_test(test_keys_documented);
        struct CMUnitTest t2 = cmocka_unit_test(test_shipped);
        struct CMUnitTest t3 = cmocka_unit_test(test_secret_not_echoed);
        g_array_append_val(cm, t1);
        g_array_append_val(cm, t2);
        g_array_append_val(cm, t3);
    }
    return _cmocka_run_group_tests("scenario", (struct CMUnitTest *)cm->data, cm->len, NULL, NULL);
}
