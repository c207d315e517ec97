/* test-xmldiff.c: the semantic domain XML diff on real dumps from the local lab
 * (tests/data/xmldiff; *.diff are the goldens, MM_REGENERATE=1 rewrites them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "migmatrix/xmldiff.h"
#include "testutil.h"

#define DIR MM_TEST_DATA "/xmldiff/"

static char *
diff_files(const char *a, const char *b, const char *golden, bool *cpu)
{
    g_autofree char *ta = NULL, *tb = NULL;
    g_autofree char *pa = g_strconcat(DIR, a, NULL), *pb = g_strconcat(DIR, b, NULL);
    g_autofree char *pg = g_strconcat(DIR, golden, NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) changes = NULL;
    char *text;

    assert_true(g_file_get_contents(pa, &ta, NULL, NULL));
    assert_true(g_file_get_contents(pb, &tb, NULL, NULL));
    changes = mm_xmldiff(ta, tb, &err);
    if (!changes)
        fail_msg("%s", err->message);
    text = mm_xmldiff_format(changes);
    *cpu = mm_xmldiff_touches_cpu(changes);
    assert_true(mm_test_compare_to_file(text, pg));
    return text;
}

/* The same live domain on another host: other id, alias names, feature order. No change. */
static void
test_noise_normalised(void **state)
{
    bool cpu;
    g_autofree char *d = diff_files("live-a.xml", "live-b.xml", "live.diff", &cpu);

    (void)state;
    assert_string_equal(d, "");
    assert_false(cpu);
}

/* A qemu64 guest migrated lab-a -> lab-b: migratable XML identical. */
static void
test_migration_unchanged(void **state)
{
    bool cpu;
    g_autofree char *d = diff_files("migrate-before.xml", "migrate-after.xml", "migrate.diff", &cpu);

    (void)state;
    assert_string_equal(d, "");
}

/* Hard reboot on lab-b with its default host-model: the CPU is now lab-b's expanded EPYC. */
static void
test_reboot_mode_change(void **state)
{
    bool cpu;
    g_autofree char *d = diff_files("reboot-before.xml", "reboot-after.xml", "reboot.diff", &cpu);

    (void)state;
    assert_true(cpu);
    assert_non_null(strstr(d, "~ /domain/cpu/model: qemu64 -> EPYC\n"));
    assert_non_null(strstr(d, "+ /domain/cpu/vendor: AMD\n"));
    assert_non_null(strstr(d, "+ /domain/cpu/feature[acpi]/@policy: require\n"));
}

static void
test_policy_changes(void **state)
{
    bool cpu;
    g_autofree char *d = diff_files("policy-a.xml", "policy-b.xml", "policy.diff", &cpu);
    g_auto(GStrv) lines = g_strsplit(d, "\n", -1);

    (void)state;
    assert_true(cpu);
    assert_int_equal(g_strv_length(lines) - 1, 3);   /* changed, removed, added: one line each */
    assert_non_null(strstr(d, "~ /domain/cpu/feature[acpi]/@policy: require -> disable\n"));
    assert_non_null(strstr(d, "+ /domain/cpu/feature[pclmuldq]/@policy: require\n"));
    assert_non_null(strstr(d, "- /domain/cpu/feature["));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noise_normalised),
        cmocka_unit_test(test_migration_unchanged),
        cmocka_unit_test(test_reboot_mode_change),
        cmocka_unit_test(test_policy_changes),
    };
    return cmocka_run_group_tests_name("xmldiff", tests, NULL, NULL);
}
