/* test-util.c: modes, outcomes, suggestions and JSON escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "migmatrix/json.h"
#include "migmatrix/liveness.h"
#include "migmatrix/scenario.h"
#include "migmatrix/mode.h"
#include "migmatrix/outcome.h"
#include "migmatrix/util.h"

static void
test_mode_roundtrip(void **state)
{
    const char *good[] = { "custom:Dhyana", "custom:Skylake-Server-IBRS", "custom:cortex-a57", "host-model",
                           "host-passthrough", "maximum", "none" };
    const char *bad[] = { "custom", "custom:", "custom:a b", "customs:X", "host_model", "", "Host-Model" };

    (void)state;
    for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
        MmCpuMode m;
        g_autofree char *s = NULL;

        assert_true(mm_cpu_mode_parse(good[i], &m, NULL));
        s = mm_cpu_mode_to_string(&m);
        assert_string_equal(s, good[i]);
        mm_cpu_mode_clear(&m);
    }
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        MmCpuMode m;

        assert_false(mm_cpu_mode_parse(bad[i], &m, &err));
        assert_non_null(err);
        assert_int_equal(err->code, MM_ERROR_INPUT);
    }
}

static void
test_outcomes(void **state)
{
    const char *const *names = mm_outcome_names();
    const char *public[] = { "pass", "na", "start-failed", "precheck-incompatible", "migrate-failed", "guest-hung",
                             "cpu-changed", "xml-changed", "reboot-failed", "back-failed", "rollback-broken", "infra-error" };
    MmOutcome o;

    (void)state;
    /* The names are public interface: this list must never lose or rename an entry. */
    for (guint i = 0; i < G_N_ELEMENTS(public); i++) {
        assert_true(mm_outcome_parse(public[i], &o));
        assert_string_equal(mm_outcome_name(o), public[i]);
        assert_string_equal(names[i], public[i]);
    }
    assert_false(mm_outcome_parse("passed", &o));
}

static void
test_suggest(void **state)
{
    const char *keys[] = { "name", "description", "boot_timeout", "migrate_timeout", NULL };

    (void)state;
    assert_string_equal(mm_suggest("nmae", keys, -1), "name");
    assert_string_equal(mm_suggest("boot-timeout", keys, -1), "boot_timeout");
    assert_string_equal(mm_suggest("DESCRIPTION", keys, -1), "description");
    assert_null(mm_suggest("frobnicate", keys, -1));
    assert_null(mm_suggest("x", keys, 0));
}

static void
test_json_escape(void **state)
{
    g_autoptr(GString) out = g_string_new(NULL);
    MmJson j;

    (void)state;
    mm_json_init(&j, out, false);
    mm_json_begin_object(&j);
    mm_json_kv_string(&j, "s", "a\"b\\c\nd\te\x01<&>é,");
    mm_json_kv_string(&j, "null", NULL);
    mm_json_key(&j, "list");
    mm_json_begin_array(&j);
    mm_json_int(&j, -3);
    mm_json_bool(&j, true);
    mm_json_begin_object(&j);
    mm_json_end_object(&j);
    mm_json_end_array(&j);
    mm_json_end_object(&j);
    mm_json_clear(&j);
    assert_string_equal(out->str,
                        "{\"s\":\"a\\\"b\\\\c\\nd\\te\\u0001<&>é,\",\"null\":null,\"list\":[-3,true,{}]}");
}

static void
test_problem_format(void **state)
{
    g_autoptr(GPtrArray) p = mm_problems_new();
    g_autoptr(GString) s = g_string_new(NULL);

    (void)state;
    mm_problems_add(p, MM_PROBLEM_ERROR, "f.ini", 3, "run", "name", "bad %s", "thing");
    mm_problems_add(p, MM_PROBLEM_WARNING, "f.ini", 0, NULL, NULL, "just so");
    mm_problems_format(p, s);
    assert_string_equal(s->str, "f.ini:3: [run] name: bad thing\nf.ini: warning: just so\n");
    assert_int_equal(mm_problems_count(p, MM_PROBLEM_ERROR), 1);
}

/* The ssh probe's counter: /proc/uptime's first number, in thousandths; no number, no counter. */
static void
test_ssh_counter(void **state)
{
    (void)state;
    assert_int_equal(mm_liveness_ssh_counter("123.45 240.10\n"), 123450);
    assert_int_equal(mm_liveness_ssh_counter("beat 7\n"), 7000);
    assert_int_equal(mm_liveness_ssh_counter("ok\n"), -1);
    assert_int_equal(mm_liveness_ssh_counter(""), -1);
}

/* user@address[:port] for host.ssh and guest.probe_ssh, IPv6 in brackets. */
static void
test_ssh_address(void **state)
{
    static const struct { const char *in; const char *user, *addr; guint port; } ok[] = {
        { "root@10.0.0.5", "root", "10.0.0.5", 22 },
        { "qa@host.example:2222", "qa", "host.example", 2222 },
        { "root@[fd00::5]:2200", "root", "fd00::5", 2200 },
        { "root@[fd00::5]", "root", "fd00::5", 22 },
    };
    static const char *const bad[] = { "10.0.0.5", "@h", "root@", "root@fd00::5", "root@h:0", "root@h:x",
                                       "root@[fd00::5", "root@h/x", "root:pw@h" };

    (void)state;
    for (gsize i = 0; i < G_N_ELEMENTS(ok); i++) {
        MmSshAddress a = { 0 };
        g_autoptr(GError) err = NULL;

        assert_true(mm_ssh_address_parse(ok[i].in, &a, &err));
        assert_string_equal(a.user, ok[i].user);
        assert_string_equal(a.address, ok[i].addr);
        assert_int_equal(a.port, ok[i].port);
        mm_ssh_address_clear(&a);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        MmSshAddress a = { 0 };
        g_autoptr(GError) err = NULL;

        if (mm_ssh_address_parse(bad[i], &a, &err))
            fail_msg("'%s' parsed as %s@%s:%u", bad[i], a.user, a.address, a.port);
        assert_null(strstr(err->message, "pw@"));   /* a password is never echoed */
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode_roundtrip), cmocka_unit_test(test_outcomes),
        cmocka_unit_test(test_suggest),        cmocka_unit_test(test_json_escape),
        cmocka_unit_test(test_problem_format), cmocka_unit_test(test_ssh_counter),
        cmocka_unit_test(test_ssh_address),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
