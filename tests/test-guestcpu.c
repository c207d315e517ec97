/* test-guestcpu.c: a guest's own CPUID capture → libvirt feature names (tests/data/guestcpu/,
 * each NAME.txt against NAME.features), and the lost/gained diff of two captures. The map is
 * the installed libvirt's cpu_map, as at run time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "migmatrix/guestcpu.h"
#include "testutil.h"

#define DATA MM_TEST_DATA "/guestcpu"

static MmGuestCpu *
decode_file(const char *name, GError **error)
{
    g_autofree char *path = g_build_filename(DATA, name, NULL);
    g_autofree char *text = NULL;
    const MmCpuFeatureMap *map = mm_cpu_feature_map_default(error);

    assert_non_null(map);
    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return mm_guestcpu_decode(map, text, error);
}

static void
test_goldens(void **state)
{
    g_autoptr(GDir) dir = g_dir_open(DATA, 0, NULL);
    const char *name;
    guint n = 0;

    (void)state;
    while ((name = g_dir_read_name(dir))) {
        g_autoptr(GError) err = NULL;
        g_autoptr(MmGuestCpu) f = NULL;
        g_autofree char *text = NULL;
        g_autofree char *base = NULL;
        g_autofree char *golden = NULL;

        if (!g_str_has_suffix(name, ".txt"))
            continue;
        f = decode_file(name, &err);
        if (f) {
            g_autofree char *joined = mm_guestcpu_join(mm_guestcpu_features(f), "\n");
            text = g_strconcat(joined, "\n", NULL);
        } else {
            text = g_strdup_printf("error: %s\n", err->message);
        }
        base = g_strndup(name, strlen(name) - strlen(".txt"));
        golden = g_strdup_printf("%s/%s.features", DATA, base);
        assert_true(mm_test_compare_to_file(text, golden));
        /* A bad capture is an error, never an empty CPU. */
        assert_true(g_str_has_prefix(name, "bad-") == (f == NULL));
        n++;
    }
    assert_int_equal(n, 6);
}

static void
test_lab_c_loses_the_masked_features(void **state)
{
    const MmCpuFeatureMap *map = mm_cpu_feature_map_default(NULL);
    g_autoptr(MmGuestCpu) before = decode_file("lab-a-maximum-agent.txt", NULL);
    g_autoptr(MmGuestCpu) after = decode_file("lab-c-maximum-agent.txt", NULL);
    g_autoptr(GPtrArray) lost = NULL;
    g_autoptr(GPtrArray) gained = NULL;
    g_autoptr(GString) out = g_string_new(NULL);
    g_autofree char *l = NULL, *g = NULL;

    (void)state;
    mm_guestcpu_diff(map, before, after, &lost, &gained);
    l = mm_guestcpu_join(lost, ", ");
    g = mm_guestcpu_join(gained, ", ");
    /* lab-c's QEMU masks pclmulqdq, aes and sse4.2: libvirt calls the first pclmuldq. */
    assert_string_equal(l, "aes, pclmuldq, sse4.2");
    assert_string_equal(g, "");
    g_string_append_printf(out, "lost: %s\ngained: %s\n", l, g);
    assert_true(mm_test_compare_to_file(out->str, DATA "/diff.expected"));

    /* And back: the same features, gained. */
    g_clear_pointer(&lost, g_ptr_array_unref);
    g_clear_pointer(&gained, g_ptr_array_unref);
    mm_guestcpu_diff(map, after, before, &lost, &gained);
    assert_int_equal(lost->len, 0);
    assert_int_equal(gained->len, 3);
}

/* A capture cut short (leaf 7 and beyond missing, though leaf 0 says they exist) cannot say the
 * guest lost leaf 7's features: only what both captures can speak for is compared. */
static void
test_truncated_capture_loses_nothing(void **state)
{
    const MmCpuFeatureMap *map = mm_cpu_feature_map_default(NULL);
    g_autofree char *full = NULL;
    g_autoptr(GString) cut = g_string_new(NULL);
    g_auto(GStrv) lines = NULL;
    g_autoptr(MmGuestCpu) before = NULL;
    g_autoptr(MmGuestCpu) after = NULL;
    g_autoptr(GPtrArray) lost = NULL;
    g_autoptr(GPtrArray) gained = NULL;

    (void)state;
    assert_true(g_file_get_contents(DATA "/lab-a-maximum-agent.txt", &full, NULL, NULL));
    lines = g_strsplit(full, "\n", -1);
    for (int i = 0; lines[i]; i++)
        if (g_str_has_prefix(lines[i], "0x00000000 ") || g_str_has_prefix(lines[i], "0x00000001 "))
            g_string_append_printf(cut, "%s\n", lines[i]);
    before = mm_guestcpu_decode(map, full, NULL);
    after = mm_guestcpu_decode(map, cut->str, NULL);
    assert_non_null(after);
    assert_true(mm_guestcpu_features(after)->len < mm_guestcpu_features(before)->len);
    mm_guestcpu_diff(map, before, after, &lost, &gained);
    assert_int_equal(lost->len, 0);
    assert_int_equal(gained->len, 0);
}

static void
test_console_form(void **state)
{
    const MmCpuFeatureMap *map = mm_cpu_feature_map_default(NULL);
    /* Leaf 1 with only ecx bit 25 (aes) and edx bit 0 (fpu). */
    g_autoptr(MmGuestCpu) cpu = mm_guestcpu_decode(
        map, "0x00000000 0x00: eax=0x0000000d ebx=0x0 ecx=0x0 edx=0x0; "
             "0x00000001 0x00: eax=0x0 ebx=0x0 ecx=0x02000000 edx=0x00000001",
        NULL);

    GPtrArray *f;

    (void)state;
    assert_non_null(cpu);
    f = mm_guestcpu_features(cpu);
    assert_int_equal(f->len, 2);
    assert_string_equal(f->pdata[0], "aes");
    assert_string_equal(f->pdata[1], "fpu");
    assert_true(mm_cpu_feature_map_size(map) > 150);
}

static void
test_bad_map(void **state)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *tmp = NULL;
    int fd = g_file_open_tmp("map-XXXXXX.xml", &tmp, NULL);

    (void)state;
    close(fd);
    assert_true(g_file_set_contents(tmp, "<cpus><feature name='x'><cpuid eax_in='one' ecx='0x1'/></feature></cpus>",
                                    -1, NULL));
    assert_null(mm_cpu_feature_map_load(tmp, &err));
    assert_non_null(strstr(err->message, "feature x"));
    unlink(tmp);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goldens),
        cmocka_unit_test(test_lab_c_loses_the_masked_features),
        cmocka_unit_test(test_truncated_capture_loses_nothing),
        cmocka_unit_test(test_console_form),
        cmocka_unit_test(test_bad_map),
    };
    return cmocka_run_group_tests_name("guestcpu", tests, NULL, NULL);
}
