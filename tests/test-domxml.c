/* test-domxml.c: the domain XML migmatrix defines, from the built-in builder and from platform
 * templates (tests/data/domxml). Every NAME.ini is a scenario; the XML of each of its cases (in
 * plan order, as the engine would define it on the case's source host) must equal NAME.xml.
 * MM_REGENERATE=1 rewrites the goldens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "migmatrix/domxml.h"
#include "migmatrix/matrix.h"
#include "migmatrix/util.h"
#include "testutil.h"

#define DIR MM_TEST_DATA "/domxml/"

/* libvirt's own schema check (virt-xml-validate, from libvirt-clients) where it is installed:
 * the goldens pin what we write, this pins that libvirt accepts it. */
static void
validate(const char *id, const char *xml)
{
    g_autofree char *tool = g_find_program_in_path("virt-xml-validate");
    g_autofree char *path = NULL;
    g_autofree char *out = NULL;
    g_autoptr(GError) err = NULL;
    int fd, status = 0;

    if (!tool)
        return;
    fd = g_file_open_tmp("mm-domxml-XXXXXX.xml", &path, &err);
    assert_true(fd >= 0);
    close(fd);
    assert_true(g_file_set_contents(path, xml, -1, NULL));
    {
        const char *argv[] = { tool, path, "domain", NULL };
        assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                                 &status, &err));
    }
    g_unlink(path);
    if (!g_spawn_check_wait_status(status, NULL))
        fail_msg("%s: libvirt's schema refuses the XML:\n%s\n%s", id, out, xml);
}

static void
test_scenario(void **state)
{
    const char *ini = *state;
    g_autofree char *path = g_strconcat(DIR, ini, NULL);
    g_autofree char *base = g_strndup(path, strlen(path) - strlen(".ini"));
    g_autofree char *golden = g_strconcat(base, ".xml", NULL);
    g_autoptr(GPtrArray) problems = mm_problems_new();
    g_autoptr(MmScenario) sc = mm_scenario_load(path, problems);
    g_autoptr(MmMatrix) m = NULL;
    g_autoptr(GString) out = g_string_new(NULL);

    if (!sc) {
        g_autoptr(GString) text = g_string_new(NULL);
        mm_problems_format(problems, text);
        fail_msg("%s does not load:\n%s", ini, text->str);
    }
    m = mm_matrix_expand(sc, NULL);
    for (guint i = 0; i < m->cases->len; i++) {
        const MmCase *c = m->cases->pdata[i];
        MmDomainSpec spec = {
            .name = "mm-test-1-guest", .virt_type = c->src->virt_type, .guest = c->guest, .mode = c->mode,
            .uuid = "0b0e7b5c-6e36-4c4c-9f0e-000000000001", .case_id = c->id, .run_id = 1, .owner = "test:1",
        };
        g_autofree char *xml = NULL;

        if (c->na_reason) {
            g_string_append_printf(out, "<!-- %s: na: %s -->\n", c->id, c->na_reason);
            continue;
        }
        xml = mm_domxml_build(&spec);
        assert_non_null(xml);
        validate(c->id, xml);
        g_string_append_printf(out, "<!-- %s -->\n%s", c->id, xml);
    }
    assert_true(mm_test_compare_to_file(out->str, golden));
}

/* A template's entity is never expanded nor fetched: mm_xml_parse refuses the DOCTYPE. */
static void
test_template_entities(void **state)
{
    g_autoptr(GPtrArray) problems = mm_problems_new();
    g_autoptr(MmScenario) sc = mm_scenario_load(MM_TEST_DATA "/scenario/bad-template.ini", problems);
    g_autoptr(GString) text = g_string_new(NULL);

    (void)state;
    assert_null(sc);
    mm_problems_format(problems, text);
    assert_non_null(strstr(text->str, "[guest:xxe] domain_xml: "));
    assert_non_null(strstr(text->str, "has a DOCTYPE"));
    assert_null(strstr(text->str, "root:"));   /* nothing of /etc/shadow */
}

static int
by_name(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
main(void)
{
    g_autoptr(GDir) dir = g_dir_open(DIR, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    GArray *list = g_array_new(FALSE, TRUE, sizeof(struct CMUnitTest));
    int rc;

    assert_non_null(dir);
    while ((name = g_dir_read_name(dir)))
        if (g_str_has_suffix(name, ".ini"))
            g_ptr_array_add(names, g_strdup(name));
    g_ptr_array_sort(names, by_name);
    for (guint i = 0; i < names->len; i++) {
        struct CMUnitTest t = { names->pdata[i], test_scenario, NULL, NULL, names->pdata[i] };
        g_array_append_val(list, t);
    }
    {
        struct CMUnitTest t = cmocka_unit_test(test_template_entities);
        g_array_append_val(list, t);
    }
    rc = _cmocka_run_group_tests("domxml", (struct CMUnitTest *)list->data, list->len, NULL, NULL);
    g_array_free(list, TRUE);
    return rc;
}
