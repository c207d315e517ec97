/* test-engine.c: the parts of the engine that need no host: run identity, domain names, and
 * which leftover domains prepare may remove (their owner, from the metadata we write). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migmatrix/domxml.h"
#include "migmatrix/engine.h"

static void
test_identity_and_names(void **state)
{
    g_autofree char *t1 = NULL, *o1 = NULL, *t2 = NULL, *o2 = NULL;
    g_autofree char *own = g_strdup_printf("%s:%d", g_get_host_name(), (int)getpid());
    g_autofree char *name = NULL;
    MmGuest guest = { .name = (char *)"win2019" };
    MmCase c = { .guest = &guest };

    (void)state;
    mm_engine_identity(&t1, &o1);
    mm_engine_identity(&t2, &o2);
    assert_int_equal(strlen(t1), 8);
    /* Two runs never share a token, so never a domain name. */
    assert_string_not_equal(t1, t2);
    assert_string_equal(o1, own);
    name = mm_engine_domain_name(t1, 7, &c);
    assert_true(g_str_has_prefix(name, MM_DOMAIN_PREFIX));
    assert_true(g_str_has_suffix(name, "-7-win2019"));
    assert_non_null(strstr(name, t1));
}

static void
test_owner_alive(void **state)
{
    g_autofree char *own = g_strdup_printf("%s:%d", g_get_host_name(), (int)getpid());
    g_autofree char *dead = NULL;
    const char *argv[] = { "/bin/true", NULL };
    GPid pid;

    (void)state;
    assert_true(g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL));
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    dead = g_strdup_printf("%s:%d", g_get_host_name(), (int)pid);

    assert_true(mm_engine_owner_alive(own));
    assert_false(mm_engine_owner_alive(dead));
    /* Whatever cannot be checked from here counts as alive: its guests are left alone. */
    assert_true(mm_engine_owner_alive("elsewhere.invalid:1"));
    assert_true(mm_engine_owner_alive("no-pid-here"));
    assert_true(mm_engine_owner_alive(NULL));
}

/* The owner goes into the domain's metadata, and comes back out of what virDomainGetMetadata
 * returns (the element alone, with its namespace). */
static void
test_metadata_owner(void **state)
{
    MmGuest guest = { .name = (char *)"g", .os = (char *)"none", .arch = (char *)"x86_64", .memory_mib = 64,
                      .vcpus = 1 };
    MmCpuMode none = { 0 };
    g_autofree char *xml = NULL;
    g_autofree char *owner = NULL;
    g_autofree char *legacy = NULL;

    (void)state;
    assert_true(mm_cpu_mode_parse("none", &none, NULL));
    xml = mm_domxml_build(&(MmDomainSpec){ .name = "mm-x-1-g", .virt_type = "qemu", .guest = &guest, .mode = &none,
                                           .case_id = "a>b/g/none", .run_id = 3, .owner = "lab:42" });
    assert_non_null(strstr(xml, "owner=\"lab:42\""));
    owner = mm_domxml_metadata_owner("<mm:case xmlns:mm=\"" MM_METADATA_NS "\" id=\"a&gt;b/g/none\" run=\"3\" "
                                     "owner=\"lab:42\"/>");
    assert_string_equal(owner, "lab:42");
    legacy = mm_domxml_metadata_owner("<mm:case xmlns:mm=\"" MM_METADATA_NS "\" id=\"x\" run=\"1\"/>");
    assert_null(legacy);
    assert_null(mm_domxml_metadata_owner(NULL));
    assert_null(mm_domxml_metadata_owner("not xml"));
    mm_cpu_mode_clear(&none);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_and_names),
        cmocka_unit_test(test_owner_alive),
        cmocka_unit_test(test_metadata_owner),
    };
    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
