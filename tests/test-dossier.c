/* test-dossier.c: host dossiers from real libvirt captures (tests/data/cpu), and XML safety. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "migmatrix/dossier.h"
#include "migmatrix/util.h"
#include "migmatrix/xml.h"
#include "testutil.h"

#define CPU MM_TEST_DATA "/cpu/"

static GHashTable *
import(const char *file, const char *vt)
{
    g_autoptr(GError) err = NULL;
    GHashTable *facts = mm_facts_new();

    if (!mm_dossier_import_file(file, vt, facts, &err))
        fail_msg("%s: %s", file, err->message);
    return facts;
}

static guint
count(const char *list)
{
    g_auto(GStrv) v = list && *list ? g_strsplit(list, ",", -1) : NULL;
    return v ? g_strv_length(v) : 0;
}

/* The seed README's table: capture → host model → host-model expansion. */
static void
test_known_answers(void **state)
{
    struct { const char *capture, *model, *host_model; guint require, disable; const char *vendor; } cases[] = {
        { "Xeon-E5-2630-v4", "Broadwell", "Broadwell", 10, 0, "Intel" },
        { "Hygon-C86-7185-32-core", "Dhyana", "Dhyana", 8, 2, "Hygon" },
        { "Xeon-Gold-6130", "Skylake-Server-IBRS", "Skylake-Server-IBRS", 13, 0, "Intel" },
        { "Core-i7-3770", "IvyBridge", "IvyBridge", 5, 0, "Intel" },
        { "EPYC-7601-32-Core", "EPYC", "EPYC", 7, 2, "AMD" },
    };

    (void)state;
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *host = g_strdup_printf(CPU "x86_64-cpuid-%s-host.xml", cases[i].capture);
        g_autofree char *json = g_strdup_printf(CPU "x86_64-cpuid-%s-json.xml", cases[i].capture);
        g_autoptr(GHashTable) facts = import(host, "kvm");
        g_autoptr(GHashTable) more = NULL;

        assert_string_equal(mm_facts_get(facts, "cpu_model"), cases[i].model);
        assert_string_equal(mm_facts_get(facts, "cpu_vendor"), cases[i].vendor);
        assert_string_equal(mm_facts_get(facts, "arch"), "x86_64");
        assert_true(count(mm_facts_get(facts, "cpu_features")) > 5);
        /* Both files describe one host: import them into the same facts. */
        g_hash_table_unref(import(json, "kvm"));
        more = import(json, "kvm");
        assert_string_equal(mm_facts_get(more, "kvm.host_model"), "yes");
        assert_string_equal(mm_facts_get(more, "kvm.host_model_cpu"), cases[i].host_model);
        assert_int_equal(count(mm_facts_get(more, "kvm.host_model_require")), cases[i].require);
        assert_int_equal(count(mm_facts_get(more, "kvm.host_model_disable")), cases[i].disable);
    }
    {
        g_autoptr(GHashTable) hygon = import(CPU "x86_64-cpuid-Hygon-C86-7185-32-core-json.xml", "kvm");
        assert_string_equal(mm_facts_get(hygon, "kvm.host_model_disable"), "svm,monitor");
        assert_string_equal(mm_facts_get(hygon, "kvm.host_model_vendor"), "Hygon");
    }
    {
        g_autoptr(GHashTable) sig = import(CPU "x86_64-cpuid-Hygon-C86-7185-32-core-host.xml", "kvm");
        assert_string_equal(mm_facts_get(sig, "cpu_signature"), "family 24 model 0 stepping 1");
    }
}

static void
test_domcaps(void **state)
{
    g_autoptr(GHashTable) kvm = import(CPU "qemu_7.2.0.x86_64.xml", NULL);
    g_autoptr(GHashTable) tcg = import(CPU "qemu_7.2.0-tcg.x86_64.xml", NULL);
    g_autoptr(GHashTable) arm = import(CPU "qemu_7.0.0-virt.aarch64.xml", NULL);

    (void)state;
    assert_string_equal(mm_facts_get(kvm, "kvm.host_model_cpu"), "EPYC-Rome");
    assert_string_equal(mm_facts_get(kvm, "kvm.machine"), "pc-i440fx-7.2");
    assert_int_equal(count(mm_facts_get(kvm, "kvm.custom_usable")), 20);
    assert_string_equal(mm_facts_get(tcg, "qemu.host_passthrough"), "no");
    assert_string_equal(mm_facts_get(tcg, "qemu.maximum"), "yes");
    assert_int_equal(count(mm_facts_get(tcg, "qemu.custom_usable")), 18);
    assert_non_null(strstr(mm_facts_get(tcg, "qemu.custom_usable"), "Westmere"));
    /* aarch64: host-model unsupported, no model known usable (all 'unknown'). */
    assert_string_equal(mm_facts_get(arm, "kvm.host_model"), "no");
    assert_null(mm_facts_get(arm, "kvm.host_model_cpu"));
    assert_string_equal(mm_facts_get(arm, "kvm.custom_usable"), "");
    assert_true(count(mm_facts_get(arm, "kvm.custom_unusable")) > 10);
    assert_string_equal(mm_facts_get(arm, "arch"), "aarch64");
}

/* Every file in tests/data/cpu against its golden *.facts. */
static void
test_goldens(void **state)
{
    g_autoptr(GDir) dir = g_dir_open(CPU, 0, NULL);
    const char *name;
    guint n = 0;

    (void)state;
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(CPU, name, NULL);
        g_autofree char *golden = NULL;
        g_autoptr(GHashTable) facts = NULL;
        g_autoptr(GList) keys = NULL;
        g_autoptr(GString) out = g_string_new(NULL);

        if (!g_str_has_suffix(name, ".xml"))
            continue;
        facts = import(path, "kvm");
        keys = g_list_sort(g_hash_table_get_keys(facts), (GCompareFunc)strcmp);
        for (GList *l = keys; l; l = l->next)
            g_string_append_printf(out, "%s=%s\n", (char *)l->data, (char *)g_hash_table_lookup(facts, l->data));
        golden = g_strconcat(path, ".facts", NULL);
        assert_true(mm_test_compare_to_file(out->str, golden));
        n++;
    }
    assert_int_equal(n, 18);   /* 5 captures x (host, json, guest) + 3 domcaps */
}

static void
test_xml_safety(void **state)
{
    const char *xxe = "<?xml version='1.0'?>\n<!DOCTYPE cpu [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>\n"
                      "<cpu><model>&x;</model></cpu>";
    const char *laughs = "<!DOCTYPE l [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>]>"
                         "<cpu><model>&b;</model></cpu>";
    g_autoptr(GError) err = NULL;
    g_autoptr(GHashTable) facts = mm_facts_new();

    (void)state;
    assert_false(mm_dossier_parse_cpu(xxe, "xxe.xml", "kvm", facts, &err));
    assert_non_null(strstr(err->message, "DOCTYPE"));
    g_clear_error(&err);
    assert_false(mm_dossier_parse_cpu(laughs, "laughs.xml", "kvm", facts, &err));
    g_clear_error(&err);
    assert_null(mm_facts_get(facts, "cpu_model"));
    assert_false(mm_dossier_parse_cpu("<cpu><model>x</cpu>", "broken.xml", "kvm", facts, &err));
    assert_non_null(strstr(err->message, "broken.xml: not well-formed XML"));
    assert_int_equal(err->code, MM_ERROR_INPUT);
    g_clear_error(&err);
    assert_false(mm_dossier_parse_capabilities("<domain/>", "d.xml", facts, &err));
    assert_non_null(strstr(err->message, "root element is <domain>, expected <capabilities>"));
    g_clear_error(&err);
    assert_false(mm_dossier_import_file(MM_TEST_DATA "/no-such.xml", "kvm", facts, &err));
    assert_int_equal(err->code, MM_ERROR_INPUT);
}

/* Each tests/data/live-cpu/HOST.MODEL.xml, a live domain libvirt fixed to what QEMU gave it,
 * against its golden *.facts; and a domain of another CPU is refused, not recorded. */
static void
test_live_cpu(void **state)
{
    g_autoptr(GDir) dir = g_dir_open(MM_TEST_DATA "/live-cpu", 0, NULL);
    const char *name;
    guint n = 0;

    (void)state;
    assert_non_null(dir);
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(MM_TEST_DATA, "live-cpu", name, NULL);
        g_auto(GStrv) parts = g_strsplit(name, ".", -1);
        g_autofree char *xml = NULL, *golden = NULL;
        g_autoptr(GHashTable) facts = mm_facts_new();
        g_autoptr(GList) keys = NULL;
        g_autoptr(GString) out = g_string_new(NULL);
        g_autoptr(GError) err = NULL;

        if (!g_str_has_suffix(name, ".xml"))
            continue;
        assert_int_equal(g_strv_length(parts), 3);   /* HOST.MODEL.xml */
        assert_true(g_file_get_contents(path, &xml, NULL, NULL));
        if (!mm_dossier_parse_live_cpu(xml, name, "qemu", parts[1], facts, &err))
            fail_msg("%s: %s", name, err->message);
        keys = g_list_sort(g_hash_table_get_keys(facts), (GCompareFunc)strcmp);
        for (GList *l = keys; l; l = l->next)
            g_string_append_printf(out, "%s=%s\n", (char *)l->data, (char *)g_hash_table_lookup(facts, l->data));
        golden = g_strconcat(path, ".facts", NULL);
        assert_true(mm_test_compare_to_file(out->str, golden));
        /* The same domain read as another model's probe: refused, nothing recorded. */
        g_hash_table_remove_all(facts);
        g_clear_error(&err);
        assert_false(mm_dossier_parse_live_cpu(xml, name, "qemu", "Nehalem", facts, &err));
        assert_non_null(strstr(err->message, "not custom:Nehalem"));
        assert_int_equal(g_hash_table_size(facts), 0);
        n++;
    }
    assert_int_equal(n, 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_domcaps),
        cmocka_unit_test(test_goldens),
        cmocka_unit_test(test_live_cpu),
        cmocka_unit_test(test_xml_safety),
    };
    return cmocka_run_group_tests_name("dossier", tests, NULL, NULL);
}
