/* test-classify.c: the classifier on real error texts (tests/data/classify/errors.txt), each
 * line's verdict against errors.expected (MM_REGENERATE=1 rewrites it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>

#include "migmatrix/classify.h"
#include "testutil.h"

static int
code_of(const char *name)
{
    static const struct { const char *name; int code; } codes[] = {
        { "OPERATION_FAILED", VIR_ERR_OPERATION_FAILED }, { "CONFIG_UNSUPPORTED", VIR_ERR_CONFIG_UNSUPPORTED },
        { "CPU_INCOMPATIBLE", VIR_ERR_CPU_INCOMPATIBLE }, { "OPERATION_INVALID", VIR_ERR_OPERATION_INVALID },
        { "OPERATION_ABORTED", VIR_ERR_OPERATION_ABORTED }, { "OPERATION_TIMEOUT", VIR_ERR_OPERATION_TIMEOUT },
        { "INTERNAL_ERROR", VIR_ERR_INTERNAL_ERROR }, { "SYSTEM_ERROR", VIR_ERR_SYSTEM_ERROR },
        { "NO_CONNECT", VIR_ERR_NO_CONNECT }, { "RPC", VIR_ERR_RPC },
        { "OPERATION_UNSUPPORTED", VIR_ERR_OPERATION_UNSUPPORTED },
        { "ARGUMENT_UNSUPPORTED", VIR_ERR_ARGUMENT_UNSUPPORTED }, { "MIGRATE_UNSAFE", VIR_ERR_MIGRATE_UNSAFE },
        { "NO_SUPPORT", VIR_ERR_NO_SUPPORT }, { "AUTH_FAILED", VIR_ERR_AUTH_FAILED }, { "-", 0 },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(codes); i++)
        if (strcmp(codes[i].name, name) == 0)
            return codes[i].code;
    fail_msg("unknown code %s", name);
    return 0;
}

static void
test_real_errors(void **state)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GString) out = g_string_new(NULL);

    (void)state;
    assert_true(g_file_get_contents(MM_TEST_DATA "/classify/errors.txt", &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        g_auto(GStrv) f = NULL;
        MmFailure fl = { 0 };
        MmVerdict v = { 0 };
        MmOutcome phase;

        if (!*lines[i] || *lines[i] == '#')
            continue;
        f = g_strsplit(lines[i], "\t", 3);
        assert_int_equal(g_strv_length(f), 3);
        if (strcmp(f[0], "migrate-back") == 0)
            phase = MM_OUTCOME_BACK_FAILED;
        else
            assert_true(mm_outcome_parse(f[0], &phase));
        fl.code = code_of(f[1]);
        {
            g_auto(GStrv) parts = g_strsplit(f[2], "\\n", -1);
            fl.message = g_strjoinv("\n", parts);
        }
        mm_classify(&fl, phase, &v);
        g_string_append_printf(out, "%s\t%s", mm_outcome_name(v.outcome), v.reason);
        if (v.features) {
            g_autofree char *joined = g_strjoinv(",", v.features);
            g_string_append_printf(out, "\t%s:%s", v.feature_kind, joined);
        }
        g_string_append_c(out, '\n');
        mm_verdict_clear(&v);
        mm_failure_clear(&fl);
    }
    assert_true(mm_test_compare_to_file(out->str, MM_TEST_DATA "/classify/errors.expected"));
}

/* Every QEMU log in tests/data/classify/logs against its golden NAME.expected. */
static void
test_qemu_logs(void **state)
{
    g_autoptr(GDir) dir = g_dir_open(MM_TEST_DATA "/classify/logs", 0, NULL);
    const char *name;
    guint n = 0;

    (void)state;
    assert_non_null(dir);
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(MM_TEST_DATA, "classify", "logs", name, NULL);
        g_autofree char *base = NULL;
        g_autofree char *golden = NULL;
        g_autofree char *log = NULL;
        g_autofree char *actual = NULL;
        MmVerdict v = { 0 };
        bool told;

        if (!g_str_has_suffix(name, ".log"))
            continue;
        assert_true(g_file_get_contents(path, &log, NULL, NULL));
        told = mm_classify_log(log, MM_OUTCOME_MIGRATE_FAILED, &v);
        actual = g_strdup_printf("%s\t%s\n", mm_outcome_name(v.outcome), told ? v.reason : "(no cause)");
        base = g_strndup(path, strlen(path) - strlen(".log"));
        golden = g_strconcat(base, ".expected", NULL);
        assert_true(mm_test_compare_to_file(actual, golden));
        mm_verdict_clear(&v);
        n++;
    }
    assert_int_equal(n, 4);
}

/* explain: the classifier on the command line; exit 0 classified, 1 other, 2 usage. */
static int
explain(const char *const *args, const char *input, char **out)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *err = NULL;

    g_ptr_array_add(argv, (char *)"explain");
    for (int i = 0; args[i]; i++)
        g_ptr_array_add(argv, (char *)args[i]);
    g_ptr_array_add(argv, NULL);
    return mm_test_run_migmatrix_input((const char *const *)argv->pdata, input ? input : "", out, &err);
}

static void
test_explain(void **state)
{
    g_autoptr(GString) all = g_string_new(NULL);
    g_autofree char *log = NULL;
    struct {
        const char *args[6];
        const char *input;
        int rc;
    } cases[] = {
        { { "operation failed: guest CPU doesn't match specification: missing features: pclmuldq,sse4.2,aes" },
          NULL, 0 },
        { { "--phase", "start", "internal error: qemu unexpectedly closed the monitor: 2023-01-20T10:15:02.123456Z "
                                "qemu-system-aarch64: kvm_init_vcpu: kvm_arch_init_vcpu failed (0): Invalid argument" },
          NULL, 0 },
        { { "--format", "json", "operation failed: job 'migration out' failed: Unable to write to socket: Broken pipe" },
          NULL, 0 },
        { { "--phase", "precheck", "--format", "json", "internal error: Unknown CPU model Nehalme" }, NULL, 0 },
        { { "End of file while reading data: Input/output error" }, NULL, 0 },
        { { "-" }, NULL, 0 },                             /* a whole QEMU log on stdin, below */
        { { "something nobody has seen yet" }, NULL, 1 },
        { { "--phase", "migrat", "x" }, NULL, 2 },
        { { "--format", "yaml", "x" }, NULL, 2 },
        { { "-" }, "  \n", 2 },
    };

    (void)state;
    assert_true(g_file_get_contents(MM_TEST_DATA "/classify/logs/cpu-state-rejected.log", &log, NULL, NULL));
    cases[5].input = log;
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *out = NULL;
        int rc = explain(cases[i].args, cases[i].input, &out);

        if (rc != cases[i].rc)
            fail_msg("explain case %zu: exit %d, expected %d\n%s", i, rc, cases[i].rc, out);
        g_string_append_printf(all, "## case %zu (exit %d)\n%s", i, rc, out);
    }
    assert_true(mm_test_compare_to_file(all->str, MM_TEST_DATA "/classify/explain.expected"));
}

/* The rules a QA engineer relies on, spelt out. */
static void
test_key_rules(void **state)
{
    MmFailure f = { .code = VIR_ERR_OPERATION_FAILED,
                    .message = (char *)"operation failed: guest CPU doesn't match specification: missing features: "
                                       "pclmuldq,sse4.2,aes" };
    MmVerdict v = { 0 };

    (void)state;
    mm_classify(&f, MM_OUTCOME_MIGRATE_FAILED, &v);
    assert_int_equal(v.outcome, MM_OUTCOME_MIGRATE_FAILED);
    assert_string_equal(v.reason, "missing features");
    assert_string_equal(v.feature_kind, "missing");
    assert_int_equal(g_strv_length(v.features), 3);
    assert_string_equal(v.features[1], "sse4.2");
    mm_verdict_clear(&v);

    /* A lost connection is infrastructure, whatever phase it hit. */
    f = (MmFailure){ .code = VIR_ERR_SYSTEM_ERROR, .message = (char *)"End of file while reading data: Input/output error" };
    mm_classify(&f, MM_OUTCOME_START_FAILED, &v);
    assert_int_equal(v.outcome, MM_OUTCOME_INFRA_ERROR);
    assert_string_equal(v.reason, "connection lost");
    mm_verdict_clear(&v);

    f = (MmFailure){ .code = VIR_ERR_INTERNAL_ERROR, .message = (char *)"something nobody has seen yet" };
    mm_classify(&f, MM_OUTCOME_BACK_FAILED, &v);
    assert_int_equal(v.outcome, MM_OUTCOME_BACK_FAILED);
    assert_string_equal(v.reason, "other");
    assert_null(v.features);
    mm_verdict_clear(&v);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_errors),
        cmocka_unit_test(test_key_rules),
        cmocka_unit_test(test_qemu_logs),
        cmocka_unit_test(test_explain),
    };
    return cmocka_run_group_tests_name("classify", tests, NULL, NULL);
}
