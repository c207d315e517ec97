/* test-predict.c: `predict` and `baseline` on the real captures of libvirt 9.0's cputestdata
 * (tests/data/cpu), imported as dossiers the way a user would (`probe --import`). Data-driven:
 * each case is a command line and its golden output under tests/data/predict
 * (MM_REGENERATE=1 rewrites them). libvirt's own CPU logic (the test driver's baseline) does
 * the CPU work, so these goldens pin what libvirt 9.0 and its cpu_map say. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "migmatrix/cpumodel.h"
#include "migmatrix/dossier.h"
#include "migmatrix/mode.h"
#include "migmatrix/predict.h"
#include "migmatrix/probe.h"
#include "migmatrix/util.h"
#include "testutil.h"

typedef struct {
    char *dir;
    char *db;
} Fixture;

static const struct {
    const char *host, *capture;
} captures[] = {
    { "e5-2630v4", "Xeon-E5-2630-v4" },
    { "gold-6130", "Xeon-Gold-6130" },
    { "hygon-7185", "Hygon-C86-7185-32-core" },
    { "epyc-7601", "EPYC-7601-32-Core" },
    /* Not in captures.ini's grid: a fifth real host (Ivy Bridge desktop) for the baseline checks. */
    { "i7-3770", "Core-i7-3770" },
};

static int
setup(void **state)
{
    Fixture *f = g_new0(Fixture, 1);

    f->dir = g_dir_make_tmp("mm-predict-XXXXXX", NULL);
    f->db = g_build_filename(f->dir, "captures.db", NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(captures); i++) {
        g_autofree char *host = g_strdup_printf(MM_TEST_DATA "/cpu/x86_64-cpuid-%s-host.xml", captures[i].capture);
        g_autofree char *json = g_strdup_printf(MM_TEST_DATA "/cpu/x86_64-cpuid-%s-json.xml", captures[i].capture);
        const char *args[] = { "probe", "--import", captures[i].host, "--db", f->db, host, json, NULL };
        g_autofree char *out = NULL, *err = NULL;

        if (mm_test_run_migmatrix(args, &out, &err) != 0) {
            fprintf(stderr, "import %s: %s\n", captures[i].host, err);
            return -1;
        }
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    Fixture *f = *state;
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->dir);

    g_assert_cmpint(system(cmd), ==, 0);
    g_free(f->dir);
    g_free(f->db);
    g_free(f);
    return 0;
}

/* The DB's temporary path and the import times vary from run to run: the goldens say DB and TIME. */
static char *
normalise(const char *text, const Fixture *f)
{
    g_autoptr(GRegex) when = g_regex_new("20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:.]+Z", 0, 0, NULL);
    g_auto(GStrv) parts = g_strsplit(text, f->db, -1);
    g_autofree char *no_db = g_strjoinv("DB", parts);
    g_auto(GStrv) src = g_strsplit(no_db, MM_SOURCE_DIR, -1);
    g_autofree char *no_src = g_strjoinv("SRC", src);

    return g_regex_replace_literal(when, no_src, -1, 0, "TIME", 0, NULL);
}

/* ARGS (with "DB" for the fixture's DB) must exit with RC and print the golden NAME (stdout,
 * then stderr after a "--- stderr" line when there is any). */
static void
check(const Fixture *f, const char *const *args, int rc, const char *name)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *out = NULL, *err = NULL, *all = NULL, *norm = NULL;
    g_autofree char *golden = g_build_filename(MM_TEST_DATA, "predict", name, NULL);
    int got;

    for (guint i = 0; args[i]; i++)
        g_ptr_array_add(argv, (gpointer)(strcmp(args[i], "DB") == 0 ? f->db : args[i]));
    g_ptr_array_add(argv, NULL);
    got = mm_test_run_migmatrix((const char *const *)argv->pdata, &out, &err);
    if (got != rc)
        fail_msg("%s: exit %d, want %d\n%s\n%s", name, got, rc, out, err);
    all = *err ? g_strconcat(out, "--- stderr\n", err, NULL) : g_strdup(out);
    norm = normalise(all, f);
    assert_true(mm_test_compare_to_file(norm, golden));
}

/* Every mode on every pair of the four captures: the grids and each cell's rule. */
static void
test_predict_captures(void **state)
{
    const Fixture *f = *state;

    check(f, (const char *const[]){ "predict", "tests/data/predict/captures.ini", "--db", "DB", NULL }, 0,
          "captures.text");
    check(f, (const char *const[]){ "predict", "tests/data/predict/captures.ini", "--db", "DB", "--format", "md", NULL },
          0, "captures.md");
}

/* No dossier, or a stale one: those cells are unknown and say why, never guessed. */
static void
test_predict_unknown(void **state)
{
    const Fixture *f = *state;
    g_autofree char *empty = g_build_filename(f->dir, "none.db", NULL);
    const char *args[] = { "predict", "tests/data/predict/captures.ini", "--db", empty, NULL };
    const char *old[] = { "predict", "tests/data/predict/captures.ini", "--db", f->db, "--filter", "e5-2630v4>*", NULL };
    g_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL, *sql = NULL;

    assert_int_equal(mm_test_run_migmatrix(args, &out, &err), 0);
    assert_non_null(strstr(out, "108 cases: 0 predicted, 108 unknown"));
    assert_non_null(strstr(out, "no dossier of e5-2630v4 (run `migmatrix probe`"));
    assert_false(g_file_test(empty, G_FILE_TEST_EXISTS));   /* predict never creates a DB */

    /* The e5's import made 60 days old: its cells go unknown, naming it. */
    sql = g_strdup_printf("sqlite3 '%s' \"UPDATE runs SET started_at = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now', "
                          "'-60 days') WHERE id = 1\"",
                          f->db);
    assert_int_equal(system(sql), 0);
    assert_int_equal(mm_test_run_migmatrix(old, &out2, &err2), 0);
    assert_non_null(strstr(out2, "27 cases: 0 predicted, 27 unknown"));
    assert_non_null(strstr(out2, "dossier of e5-2630v4 is stale: recorded"));
    assert_non_null(strstr(out2, "more than 30 days ago (--max-age)"));
    g_free(sql);
    sql = g_strdup_printf("sqlite3 '%s' \"UPDATE runs SET started_at = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now') "
                          "WHERE id = 1\"",
                          f->db);
    assert_int_equal(system(sql), 0);
}

/* The model every host can run, what each gives up, and the refusal across vendors. */
static void
test_baseline(void **state)
{
    const Fixture *f = *state;

    check(f, (const char *const[]){ "baseline", "--db", "DB", "e5-2630v4", "gold-6130", NULL }, 0,
          "baseline-intel.xml");
    /* Three Intel generations: Ivy Bridge is what they share. */
    check(f, (const char *const[]){ "baseline", "--db", "DB", "i7-3770", "e5-2630v4", "gold-6130", "--format", "text",
                                    NULL }, 0, "baseline-ivy.text");
    check(f, (const char *const[]){ "baseline", "--db", "DB", "hygon-7185", "--format", "text", NULL }, 0,
          "baseline-hygon.text");
    check(f, (const char *const[]){ "baseline", "--db", "DB", "--cpu", "host", "e5-2630v4", "gold-6130", NULL }, 0,
          "baseline-intel-host.xml");
    check(f, (const char *const[]){ "baseline", "--db", "DB", "--hosts", "*", NULL }, MM_EXIT_USAGE,
          "baseline-mixed.text");
    check(f, (const char *const[]){ "baseline", "--db", "DB", "e5-2630v4", "nosuch", NULL }, MM_EXIT_USAGE,
          "baseline-missing.text");
}

/* With --cpu host, the baseline is `virsh cpu-baseline` of the captures' own -host.xml files,
 * handed to libvirt as they are: the same XML out, feature for feature, after the round trip
 * through import, the DB and our host CPU description. */
static void
test_baseline_host_cpus_as_libvirt(void **state)
{
    const Fixture *f = *state;
    static const struct {
        guint a, b;
    } pairs[] = { { 0, 1 }, { 2, 2 }, { 3, 3 }, { 0, 0 }, { 4, 0 }, { 4, 1 } };

    for (gsize i = 0; i < G_N_ELEMENTS(pairs); i++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *a = NULL, *b = NULL, *direct = NULL, *out = NULL, *errs = NULL;
        g_autofree char *pa = g_strdup_printf(MM_TEST_DATA "/cpu/x86_64-cpuid-%s-host.xml", captures[pairs[i].a].capture);
        g_autofree char *pb = g_strdup_printf(MM_TEST_DATA "/cpu/x86_64-cpuid-%s-host.xml", captures[pairs[i].b].capture);
        const char *args[] = { "baseline", "--db", f->db, "--cpu", "host", captures[pairs[i].a].host,
                               captures[pairs[i].b].host, NULL };

        assert_true(g_file_get_contents(pa, &a, NULL, NULL));
        assert_true(g_file_get_contents(pb, &b, NULL, NULL));
        direct = mm_cpu_baseline((const char *const[]){ a, b }, pairs[i].a == pairs[i].b ? 1 : 2, false, &err);
        assert_non_null(direct);
        assert_int_equal(mm_test_run_migmatrix(args, &out, &errs), 0);
        if (strcmp(strstr(out, "<cpu"), direct) != 0)
            fail_msg("%s + %s: baseline printed\n%s\nlibvirt, from the files:\n%s", captures[pairs[i].a].host,
                     captures[pairs[i].b].host, strstr(out, "<cpu"), direct);
    }
}

/* The baseline is libvirt's: the same model libvirt gives for the captures' host-model CPUs,
 * read straight from the -json.xml files (libvirt's own output) rather than from our dossiers. */
static void
test_baseline_is_libvirts(void **state)
{
    const Fixture *f = *state;
    static const struct {
        guint a, b;
    } pairs[] = { { 0, 1 }, { 2, 2 }, { 3, 3 }, { 4, 0 }, { 4, 1 } };

    for (gsize i = 0; i < G_N_ELEMENTS(pairs); i++) {
        g_autoptr(GPtrArray) xmls = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GError) err = NULL;
        g_autofree char *direct = NULL, *out = NULL, *errs = NULL;
        g_autoptr(MmCpuDef) want = NULL, got = NULL;
        guint idx[] = { pairs[i].a, pairs[i].b };

        for (guint k = 0; k < 2; k++) {
            g_autofree char *path = g_strdup_printf(MM_TEST_DATA "/cpu/x86_64-cpuid-%s-json.xml",
                                                    captures[idx[k]].capture);
            g_autofree char *text = NULL;
            g_autoptr(MmCpuDef) d = NULL;
            g_autoptr(GPtrArray) feats = NULL;

            assert_true(g_file_get_contents(path, &text, NULL, NULL));
            d = mm_cpu_def_parse(text, &err);
            assert_non_null(d);
            feats = mm_cpu_features_missing(d, NULL);
            g_ptr_array_add(feats, NULL);
            g_ptr_array_add(xmls, mm_cpu_host_xml("x86_64", d->vendor, d->model, (const char *const *)feats->pdata));
        }
        direct = mm_cpu_baseline((const char *const *)xmls->pdata, 2, false, &err);
        assert_non_null(direct);
        want = mm_cpu_def_parse(direct, &err);
        {
            const char *args[] = { "baseline", "--db", f->db, captures[pairs[i].a].host, captures[pairs[i].b].host, NULL };
            assert_int_equal(mm_test_run_migmatrix(args, &out, &errs), 0);
        }
        got = mm_cpu_def_parse(strstr(out, "<cpu"), &err);
        assert_non_null(got);
        assert_string_equal(got->model, want->model);
        assert_string_equal(got->vendor, want->vendor);
    }
}

/* ---- the rules, from a table: synthetic dossiers, one rule each ---------------------------- */

#define X1 "arch=x86_64;cpu_vendor=Intel;cpu_model=Broadwell;cpu_signature=family 6 model 79 stepping 1;"          \
           "microcode=0xb1;kvm.domcaps=yes;kvm.host_model=yes;kvm.host_model_cpu=Broadwell;"                       \
           "kvm.host_model_vendor=Intel;kvm.host_passthrough=yes;kvm.maximum=yes;"                                 \
           "kvm.custom_usable=Broadwell,qemu64;kvm.custom_unusable=Skylake-Server-IBRS"
#define X2 "arch=x86_64;cpu_vendor=Intel;cpu_model=Skylake-Server-IBRS;cpu_signature=family 6 model 85 stepping 4;" \
           "microcode=0x2000065;kvm.domcaps=yes;kvm.host_model=yes;kvm.host_model_cpu=Skylake-Server-IBRS;"        \
           "kvm.host_model_vendor=Intel;kvm.host_passthrough=yes;kvm.maximum=yes;"                                 \
           "kvm.custom_usable=Broadwell,Skylake-Server-IBRS,qemu64"
#define E1 "arch=x86_64;cpu_vendor=AMD;cpu_model=EPYC;cpu_signature=family 23 model 1 stepping 2;"               \
           "kvm.domcaps=yes;kvm.host_model=yes;kvm.host_model_cpu=EPYC;kvm.host_model_vendor=AMD;"                \
           "kvm.host_passthrough=yes;kvm.maximum=yes;kvm.custom_usable=EPYC,qemu64"
#define A1 "arch=aarch64;cpu_vendor=HiSilicon;cpu_model=cortex-a57;cpu_signature=part 0xd08;kvm.domcaps=yes;"     \
           "kvm.host_model=no;kvm.host_passthrough=yes;kvm.maximum=yes"
#define T1 "arch=x86_64;cpu_vendor=AMD;cpu_model=EPYC;cpu_signature=family 23 model 1 stepping 2"
#define T2 T1 ";qemu_version=7.2.0;qemu.domcaps=yes;qemu.host_model=yes;qemu.host_model_cpu=EPYC;"              \
           "qemu.host_model_vendor=AMD;qemu.custom_usable=qemu64,Westmere;qemu.custom_unusable=Dhyana;qemu.maximum=yes"
#define T3 T2 ";qemu.host_model_disable=aes;qemu.maximum=yes"
/* A TCG host whose QEMU blocks Westmere (lab-c's older CPU). */
#define T4 T2 ";qemu.custom_usable=qemu64,Penryn;qemu.custom_unusable=Dhyana,Westmere"
/* Their live CPUs of Westmere (mm_probe_live_cpus), as lab-a and lab-c record them (tests/data/live-cpu):
 * QEMU's Westmere has pclmulqdq, libvirt 9.0's has not; lab-c's QEMU blocks aes, sse4.2 and it. */
#define T2L T2 ";qemu.live_cpu.Westmere.require=pclmuldq,hypervisor,arat;qemu.live_cpu.Westmere.disable="
#define T4L T4 ";qemu.live_cpu.Westmere.require=hypervisor,arat;qemu.live_cpu.Westmere.disable=sse4.2,aes"
/* A QEMU whose model is libvirt's, no more: the features blocked at the origin are all named. */
#define T2L0 T2 ";qemu.live_cpu.Westmere.require=hypervisor,arat;qemu.live_cpu.Westmere.disable="
#define T2Q8 T2 ";qemu_version=8.2.0"
#define T2ARM T2 ";qemu@aarch64.domcaps=yes;qemu@aarch64.host_model=no;qemu@aarch64.host_passthrough=no;"       \
           "qemu@aarch64.maximum=yes;qemu@aarch64.custom_unusable=cortex-a57;qemu@aarch64.custom_unknown=cortex-a57"

static const struct {
    const char *what;
    const char *src, *dst;   /* facts "k=v;…"; NULL: no dossier; "STALE:…": a stale one */
    const char *src_vt, *dst_vt;
    const char *mode;
    const char *dst_default; /* the destination's default_cpu_mode (reboot), or NULL: no reboot */
    bool ping_pong, compare_cpu;
    const char *outcome;     /* or "unknown" */
    const char *rule;        /* "stage/rule" */
    const char *guest_arch;  /* NULL: the hosts' own; "noprobe": the hosts' own, and no cpu_probe */
    guint hotplug;           /* the case's hotplug_vcpus */
} rule_cases[] = {
    { "custom model the domcaps list usable, both ends", X1, X1, "kvm", "kvm", "custom:Broadwell", NULL, false, false,
      "pass", "cycle/pass", NULL, 0 },
    { "custom model the source lists unusable", X1, X2, "kvm", "kvm", "custom:Skylake-Server-IBRS", NULL, false, false,
      "start-failed", "start/custom-domcaps", NULL, 0 },
    { "host-model onto an older CPU", X2, X1, "kvm", "kvm", "host-model", NULL, false, false, "migrate-failed",
      "migrate/host-model-subset", NULL, 0 },
    { "the same, with the CPU compare before it", X2, X1, "kvm", "kvm", "host-model", NULL, false, true,
      "precheck-incompatible", "migrate/host-model-subset", NULL, 0 },
    { "host-passthrough onto an older CPU: libvirt lets it migrate, the guest loses features", X2, X1, "kvm", "kvm",
      "host-passthrough", NULL, false, false, "cpu-changed", "migrate/cpu-changes", NULL, 0 },
    { "maximum under TCG onto a QEMU without aes: it migrates, the guest loses aes", T2, T3, "qemu", "qemu",
      "maximum", NULL, false, false, "cpu-changed", "migrate/cpu-changes", NULL, 0 },
    { "a named model on ARM KVM", A1, A1, "kvm", "kvm", "custom:cortex-a57", NULL, false, false, "start-failed",
      "start/arm-kvm-custom", NULL, 0 },
    { "host-model on ARM KVM (domcaps: unsupported)", A1, A1, "kvm", "kvm", "host-model", NULL, false, false,
      "start-failed", "start/mode-domcaps", NULL, 0 },
    { "host-passthrough between identical ARM hosts", A1, A1, "kvm", "kvm", "host-passthrough", NULL, false, false,
      "pass", "cycle/pass", NULL, 0 },
    { "host-passthrough under TCG, no domcaps", T1, T1, "qemu", "qemu", "host-passthrough", NULL, false, false,
      "start-failed", "start/passthrough-accel", NULL, 0 },
    { "maximum without domcaps or QEMU version", T1, T1, "qemu", "qemu", "maximum", NULL, false, false, "unknown",
      "start/mode-unrecorded", NULL, 0 },
    { "no dossier of the source", NULL, X1, "kvm", "kvm", "host-model", NULL, false, false, "unknown",
      "start/dossier", NULL, 0 },
    { "a stale dossier of the destination", X1, "STALE:" X1, "kvm", "kvm", "custom:Broadwell", NULL, false, false,
      "unknown", "migrate/dossier", NULL, 0 },
    { "reboot into a default model the destination does not offer", X1, X2, "kvm", "kvm", "none", "custom:Dhyana",
      false, false, "reboot-failed", "reboot/custom-domcaps", NULL, 0 },
    { "back after a reboot into the destination's host-model", X1, X2, "kvm", "kvm", "host-model", "host-model", true,
      false, "back-failed", "migrate-back/host-model-subset", NULL, 0 },
    { "back without a reboot: the source's own CPU returns home", X1, X2, "kvm", "kvm", "host-model", NULL, true,
      false, "pass", "cycle/pass", NULL, 0 },
    { "TCG runs a custom model QEMU calls unusable, unchecked", T2, T2, "qemu", "qemu", "custom:Dhyana", NULL, false,
      false, "pass", "cycle/pass", NULL, 0 },
    { "the CPU compare before the move refuses it", T2, T2, "qemu", "qemu", "custom:Dhyana", NULL, false, true,
      "precheck-incompatible", "migrate/custom-dest", NULL, 0 },
    { "aarch64 guests on x86_64 under TCG: no host-model for aarch64", T2ARM, T2ARM, "qemu", "qemu", "host-model",
      NULL, false, false, "start-failed", "start/mode-domcaps", "aarch64", 0 },
    { "aarch64 guests on x86_64 under TCG: a model QEMU reports nothing about", T2ARM, T2ARM, "qemu", "qemu",
      "custom:cortex-a57", NULL, false, false, "pass", "cycle/pass", "aarch64", 0 },
    { "the same move, but the guest cannot see its CPU (no cpu_probe): the engine says pass", T2, T3, "qemu", "qemu",
      "maximum", NULL, false, false, "pass", "migrate/cpu-changes", "noprobe", 0 },
    { "host-passthrough onto another vendor: the same rule, the CPU changes", X2, E1, "kvm", "kvm",
      "host-passthrough", NULL, false, false, "cpu-changed", "migrate/cpu-changes", NULL, 0 },
    { "aarch64 under TCG with the compare: 'unsupported', and the engine migrates", T2ARM, T2ARM, "qemu", "qemu",
      "custom:cortex-a57", NULL, false, true, "pass", "cycle/pass", "aarch64", 0 },
    { "aarch64 guests, but no aarch64 domain capabilities in the dossier", T2, T2, "qemu", "qemu", "maximum", NULL,
      false, false, "unknown", "start/dossier", "aarch64", 0 },
    { "TCG: onto a host whose QEMU blocks the model, the guest having its features", T2, T4, "qemu", "qemu",
      "custom:Westmere", NULL, false, false, "migrate-failed", "migrate/custom-tcg-move", NULL, 0 },
    { "TCG: started where QEMU blocks the model, moved where it does not, no live CPUs", T4, T2, "qemu", "qemu",
      "custom:Westmere", NULL, false, false, "unknown", "migrate/custom-tcg-move", NULL, 0 },
    { "the same, one host's live CPU recorded: still unknown", T4L, T2, "qemu", "qemu", "custom:Westmere", NULL,
      false, false, "unknown", "migrate/custom-tcg-move", NULL, 0 },
    { "the live CPUs: QEMU gives pclmuldq beyond libvirt's model there, not here: extra features", T4L, T2L, "qemu",
      "qemu", "custom:Westmere", NULL, false, false, "migrate-failed", "migrate/custom-tcg-move", NULL, 0 },
    { "the live CPUs: QEMU's model is libvirt's there: every blocked feature was disabled, it moves", T4L, T2L0,
      "qemu", "qemu", "custom:Westmere", NULL, false, false, "pass", "cycle/pass", NULL, 0 },
    { "the live CPUs with the compare: it passes the compare and fails the move", T4L, T2L, "qemu", "qemu",
      "custom:Westmere", NULL, false, true, "migrate-failed", "migrate/custom-tcg-move", NULL, 0 },
    { "TCG: blocked on both hosts: it starts and moves unchecked", T4, T4, "qemu", "qemu", "custom:Westmere", NULL,
      false, false, "pass", "cycle/pass", NULL, 0 },
    { "TCG: usable on both: custom-dest", T4, T4, "qemu", "qemu", "custom:Penryn", NULL, true, false, "pass",
      "cycle/pass", NULL, 0 },
    { "TCG with the compare: the pre-check refuses it first", T2, T4, "qemu", "qemu", "custom:Westmere", NULL, false,
      true, "precheck-incompatible", "migrate/custom-dest", NULL, 0 },
    { "TCG with the compare, started where QEMU blocks it: the compare passes, the move is unknown", T4, T2, "qemu",
      "qemu", "custom:Westmere", NULL, false, true, "unknown", "migrate/custom-tcg-move", NULL, 0 },
    { "vCPU unplug after the move under TCG, QEMU 7.2", T2, T2, "qemu", "qemu", "host-model", NULL, false, false,
      "migrate-failed", "hotplug/hotplug-tcg", NULL, 3 },
    { "the same under another QEMU: not guessed", T2, T2Q8, "qemu", "qemu", "host-model", NULL, false, false,
      "unknown", "hotplug/hotplug-tcg", NULL, 3 },
    { "vCPU hot-plug under KVM: the CPU rules decide", X1, X1, "kvm", "kvm", "host-model", NULL, false, false, "pass",
      "cycle/pass", NULL, 3 },
    { "a failed move ends the case before any hot-plug", T2, T4, "qemu", "qemu", "custom:Westmere", NULL, false,
      false, "migrate-failed", "migrate/custom-tcg-move", NULL, 3 },
};

static MmDossier *
dossier_of(const char *name, const char *spec)
{
    MmDossier *d = g_new0(MmDossier, 1);
    g_auto(GStrv) kvs = NULL;

    d->host = g_strdup(name);
    if (!spec)
        return d;
    if (g_str_has_prefix(spec, "STALE:")) {
        d->stale = g_strdup("recorded 2026-01-01, more than 30 days ago (--max-age)");
        spec += strlen("STALE:");
    }
    d->facts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    kvs = g_strsplit(spec, ";", -1);
    for (guint i = 0; kvs[i]; i++) {
        char *eq = strchr(kvs[i], '=');
        if (eq)
            g_hash_table_insert(d->facts, g_strndup(kvs[i], eq - kvs[i]), g_strdup(eq + 1));
    }
    return d;
}

static void
test_rules_table(void **state)
{
    (void)state;
    for (gsize i = 0; i < G_N_ELEMENTS(rule_cases); i++) {
        g_autoptr(GHashTable) dossiers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                                               (GDestroyNotify)mm_dossier_free);
        MmHost src = { .name = (char *)"src", .virt_type = (char *)rule_cases[i].src_vt };
        MmHost dst = { .name = (char *)"dst", .virt_type = (char *)rule_cases[i].dst_vt };
        /* Guests read their own CPU (cpu_probe), unless the row's guest arch says "noprobe". */
        bool noprobe = g_strcmp0(rule_cases[i].guest_arch, "noprobe") == 0;
        MmGuest guest = { .name = (char *)"g", .arch = noprobe ? NULL : (char *)rule_cases[i].guest_arch,
                          .cpu_probe = noprobe ? MM_PROBE_NONE : MM_PROBE_AGENT };
        MmCpuMode mode = { 0 };
        MmCase c = { .id = (char *)"src>dst/g/x", .src = &src, .dst = &dst, .guest = &guest, .mode = &mode,
                     .mode_text = (char *)rule_cases[i].mode, .ping_pong = rule_cases[i].ping_pong,
                     .compare_cpu = rule_cases[i].compare_cpu, .hard_reboot = rule_cases[i].dst_default != NULL,
                     .hotplug_vcpus = rule_cases[i].hotplug };
        g_autoptr(MmPredictor) p = NULL;
        g_autofree char *rule = NULL;
        MmPrediction pr;
        MmDossier *ds = dossier_of("src", rule_cases[i].src), *dd = dossier_of("dst", rule_cases[i].dst);

        g_hash_table_insert(dossiers, ds->host, ds);
        g_hash_table_insert(dossiers, dd->host, dd);
        assert_true(mm_cpu_mode_parse(rule_cases[i].mode, &mode, NULL));
        if (rule_cases[i].dst_default) {
            assert_true(mm_cpu_mode_parse(rule_cases[i].dst_default, &dst.default_cpu_mode, NULL));
            dst.has_default_cpu_mode = true;
            dst.default_cpu_mode_text = (char *)rule_cases[i].dst_default;
        }
        p = mm_predictor_new(dossiers);
        mm_predict_case(p, &c, &pr);
        rule = g_strdup_printf("%s/%s", pr.stage, pr.rule);
        if (g_strcmp0(pr.unknown ? "unknown" : mm_outcome_name(pr.outcome), rule_cases[i].outcome) != 0 ||
            strcmp(rule, rule_cases[i].rule) != 0)
            fail_msg("%s: predicted %s by %s (%s), want %s by %s", rule_cases[i].what,
                     pr.unknown ? "unknown" : mm_outcome_name(pr.outcome), rule, pr.reason ? pr.reason : "-",
                     rule_cases[i].outcome, rule_cases[i].rule);
        mm_prediction_clear(&pr);
        mm_cpu_mode_clear(&mode);
        mm_cpu_mode_clear(&dst.default_cpu_mode);
    }
}

/* Which cases need their hosts' live CPU: a plain custom model under TCG that the move's origin
 * blocks and its destination does not (the first move, or the move back after a hard reboot);
 * nothing else costs a probe domain. */
static void
test_live_cpu_wanted(void **state)
{
    static const struct {
        const char *src, *dst, *src_vt, *dst_vt, *mode, *guest_arch;
        const char *dst_default;   /* with it: a hard reboot there, and the move back */
        const char *want;
    } rows[] = {
        { T4, T2, "qemu", "qemu", "custom:Westmere", NULL, NULL, "Westmere" },
        { T2, T4, "qemu", "qemu", "custom:Westmere", NULL, NULL, NULL },      /* origin runs it whole */
        { T2, T4, "qemu", "qemu", "none", NULL, "custom:Westmere", "Westmere" }, /* rebooted where blocked */
        { T2, T4, "qemu", "qemu", "custom:Westmere", NULL, "custom:Westmere", "Westmere" },
        { T4, T2, "qemu", "qemu", "none", NULL, "custom:Westmere", NULL },     /* rebooted where usable */
        { T2, T2, "qemu", "qemu", "custom:Westmere", NULL, NULL, NULL },       /* usable at both ends */
        { T4, T4, "qemu", "qemu", "custom:Westmere", NULL, NULL, NULL },       /* blocked at both ends */
        { T4, T2, "qemu", "qemu", "custom:Penryn", NULL, NULL, NULL },         /* usable on T4, not listed on T2 */
        { T4, T2, "qemu", "qemu", "host-model", NULL, NULL, NULL },
        { T4, T2, "kvm", "qemu", "custom:Westmere", NULL, NULL, NULL },        /* not TCG at both ends */
        { T4, T2, "qemu", "qemu", "custom:Westmere", "aarch64", NULL, NULL },  /* another arch's guest */
        { T4, T2 ";arch=aarch64", "qemu", "qemu", "custom:Westmere", NULL, NULL, NULL }, /* hosts' arches differ */
        { X1, X2, "kvm", "kvm", "custom:Skylake-Server-IBRS", NULL, NULL, NULL },
    };

    (void)state;
    for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
        g_autoptr(MmDossier) ds = dossier_of("src", rows[i].src), dd = dossier_of("dst", rows[i].dst);
        g_autoptr(GPtrArray) got = g_ptr_array_new();
        MmHost src = { .name = (char *)"src", .virt_type = (char *)rows[i].src_vt };
        MmHost dst = { .name = (char *)"dst", .virt_type = (char *)rows[i].dst_vt };
        MmGuest guest = { .name = (char *)"g", .arch = (char *)rows[i].guest_arch };
        MmCpuMode mode = { 0 };
        MmCase c = { .id = (char *)"src>dst/g/x", .src = &src, .dst = &dst, .guest = &guest, .mode = &mode,
                     .ping_pong = rows[i].dst_default != NULL, .hard_reboot = rows[i].dst_default != NULL };

        assert_true(mm_cpu_mode_parse(rows[i].mode, &mode, NULL));
        if (rows[i].dst_default) {
            assert_true(mm_cpu_mode_parse(rows[i].dst_default, &dst.default_cpu_mode, NULL));
            dst.has_default_cpu_mode = true;
            dst.default_cpu_mode_text = (char *)rows[i].dst_default;
        }
        mm_predict_live_cpu_models(&c, ds->facts, dd->facts, got);
        if (rows[i].want ? got->len != 1 || strcmp(got->pdata[0], rows[i].want) != 0 : got->len != 0)
            fail_msg("row %u (%s, %s>%s, reboot %s): want %s, got %u model(s)", i, rows[i].mode, rows[i].src_vt,
                     rows[i].dst_vt, rows[i].dst_default ? rows[i].dst_default : "none",
                     rows[i].want ? rows[i].want : "none", got->len);
        mm_cpu_mode_clear(&mode);
        mm_cpu_mode_clear(&dst.default_cpu_mode);
    }
}

/* A live-CPU probe that fails, on libvirt's test driver (which refuses a paused start): each
 * host's error is a fact and a warning, and the cell is unknown, naming it, not guessed. */
static void
test_live_cpu_probe_fails(void **state)
{
    MmHost src = { .name = (char *)"src", .uri = (char *)"test:///default", .virt_type = (char *)"qemu" };
    MmHost dst = { .name = (char *)"dst", .uri = (char *)"test:///default", .virt_type = (char *)"qemu" };
    MmGuest guest = { .name = (char *)"g", .cpu_probe = MM_PROBE_AGENT };
    MmCpuMode mode = { 0 };
    MmCase c = { .id = (char *)"src>dst/g/custom:Westmere", .src = &src, .dst = &dst, .guest = &guest,
                 .mode = &mode, .mode_text = (char *)"custom:Westmere" };
    g_autoptr(GPtrArray) cases = g_ptr_array_new();
    g_autoptr(GHashTable) host_facts = g_hash_table_new(NULL, NULL);
    g_autoptr(GHashTable) dossiers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                                           (GDestroyNotify)mm_dossier_free);
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(MmPredictor) p = NULL;
    MmDossier *ds = dossier_of("src", T4), *dd = dossier_of("dst", T2);
    MmPrediction pr;

    (void)state;
    assert_true(mm_cpu_mode_parse("custom:Westmere", &mode, NULL));
    g_ptr_array_add(cases, &c);
    g_hash_table_insert(host_facts, &src, ds->facts);
    g_hash_table_insert(host_facts, &dst, dd->facts);
    assert_int_equal(mm_probe_live_cpus_for_plan(cases, host_facts, warnings), 2);
    assert_int_equal(warnings->len, 2);
    assert_non_null(strstr(warnings->pdata[0], ": the live CPU of custom:Westmere: "));
    assert_non_null(mm_facts_get(ds->facts, "qemu.live_cpu.Westmere.error"));
    assert_null(mm_facts_get(ds->facts, "qemu.live_cpu.Westmere.require"));

    g_hash_table_insert(dossiers, ds->host, ds);
    g_hash_table_insert(dossiers, dd->host, dd);
    p = mm_predictor_new(dossiers);
    mm_predict_case(p, &c, &pr);
    assert_true(pr.unknown);
    assert_string_equal(pr.rule, "custom-tcg-move");
    assert_non_null(strstr(pr.reason, "the probe of its live CPU on src failed: "));
    mm_prediction_clear(&pr);
    mm_cpu_mode_clear(&mode);
}

/* Named CPUs ([cpu:NAME]) are predicted as the whole CPU: model, vendor, required and disabled
 * features. And `baseline --check` writes a scenario whose baseline every host of its family is
 * predicted to run, both ways. */
static void
test_named_cpus(void **state)
{
    const Fixture *f = *state;
    g_autofree char *out_ini = g_build_filename(f->dir, "check.ini", NULL);
    g_autofree char *out = NULL, *err = NULL;

    check(f, (const char *const[]){ "predict", "tests/data/predict/named.ini", "--db", "DB", "--filter",
                                    "*/linux/custom:*O*", NULL }, 0, "named.text");
    check(f, (const char *const[]){ "baseline", "--check", "tests/data/predict/captures.ini", "--db", "DB", NULL }, 0,
          "baseline-check.ini");
    check(f, (const char *const[]){ "baseline", "--check", "tests/data/predict/captures.ini", "--db", "DB", "--format",
                                    "text", NULL }, MM_EXIT_USAGE, "baseline-check-usage.text");
    check(f, (const char *const[]){ "baseline", "--check", "tests/data/predict/named.ini", "--db", "DB", "--filter",
                                    NULL }, MM_EXIT_USAGE, "baseline-check-badarg.text");
    {
        const char *args[] = { "baseline", "--check", "tests/data/predict/captures.ini", "--db", f->db, "--out",
                               out_ini, NULL };
        const char *pred[] = { "predict", out_ini, "--db", f->db, "--filter", "*/custom:BASELINE*", NULL };
        g_autofree char *out2 = NULL, *err2 = NULL;

        assert_int_equal(mm_test_run_migmatrix(args, &out, &err), 0);
        assert_string_equal(out, "");
        assert_non_null(strstr(err, "2 custom-mode cases added"));
        assert_int_equal(mm_test_run_migmatrix(pred, &out2, &err2), 0);
        assert_non_null(strstr(out2, "2 cases: 2 predicted, 0 unknown"));
        assert_null(strstr(out2, "failed"));
    }
}

/* A capture whose host CPU model this libvirt's cpu_map does not know (a newer libvirt's
 * versioned name) is recorded, with a warning that names it. */
static void
test_import_unknown_model(void **state)
{
    const Fixture *f = *state;
    g_autofree char *db = g_build_filename(f->dir, "newer.db", NULL);
    g_autofree char *xml = g_build_filename(f->dir, "newer-host.xml", NULL);
    const char *args[] = { "probe", "--import", "newer", "--db", db, xml, NULL };
    g_autofree char *out = NULL, *err = NULL;

    assert_true(g_file_set_contents(xml,
                                    "<cpu>\n  <arch>x86_64</arch>\n  <model>Haswell-v2</model>\n  <vendor>Intel</vendor>\n"
                                    "  <feature name='vmx'/>\n</cpu>\n",
                                    -1, NULL));
    assert_int_equal(mm_test_run_migmatrix(args, &out, &err), 0);
    assert_non_null(strstr(err, "warning: newer: this libvirt's cpu_map cannot use its host CPU ("));
    assert_non_null(strstr(err, "Haswell-v2"));
    assert_non_null(strstr(err, "recorded newer from 1 file(s)"));
    g_clear_pointer(&err, g_free);
    g_clear_pointer(&out, g_free);
    /* A model it knows: no warning. */
    assert_true(g_file_set_contents(xml,
                                    "<cpu>\n  <arch>x86_64</arch>\n  <model>Haswell-noTSX</model>\n  <vendor>Intel</vendor>\n"
                                    "</cpu>\n",
                                    -1, NULL));
    assert_int_equal(mm_test_run_migmatrix(args, &out, &err), 0);
    assert_null(strstr(err, "warning"));
}

/* The names a did-you-mean offers for a refused [cpu:NAME] feature or vendor: libvirt's cpu_map's. */
static void
test_known_names(void **state)
{
    g_autoptr(GPtrArray) feats = mm_cpu_known_names("x86_64", false, NULL);
    g_autoptr(GPtrArray) vendors = mm_cpu_known_names("x86_64", true, NULL);
    static const char *const some[] = { "aes", "pclmuldq", "sse4.2", "avx512f", "svm", "vmx" };

    (void)state;
    assert_non_null(feats);
    assert_non_null(vendors);
    for (gsize i = 0; i < G_N_ELEMENTS(some); i++)
        if (!g_ptr_array_find_with_equal_func(feats, some[i], g_str_equal, NULL))
            fail_msg("libvirt's x86 cpu_map does not name %s", some[i]);
    assert_false(g_ptr_array_find_with_equal_func(feats, "pclmulqdq", g_str_equal, NULL)); /* QEMU's name */
    for (guint i = 1; i < feats->len; i++)
        assert_true(strcmp(feats->pdata[i - 1], feats->pdata[i]) < 0);   /* sorted, no repeats */
    g_ptr_array_add(feats, NULL);
    g_ptr_array_add(vendors, NULL);
    assert_string_equal(mm_suggest("pclmulqd", (const char *const *)feats->pdata, -1), "pclmuldq");
    assert_string_equal(mm_suggest("Intle", (const char *const *)vendors->pdata, -1), "Intel");
    assert_true(g_strv_contains((const char *const *)vendors->pdata, "Hygon"));
    assert_true(g_strv_contains((const char *const *)vendors->pdata, "AMD"));
    {
        g_autoptr(GError) err = NULL;
        g_autoptr(GPtrArray) none = mm_cpu_known_names("nonesuch", false, &err);

        assert_null(none);
        assert_non_null(err);
        assert_non_null(strstr(err->message, "no CPU feature names for nonesuch (x86 only)"));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_table),
        cmocka_unit_test(test_predict_captures),
        cmocka_unit_test(test_predict_unknown),
        cmocka_unit_test(test_baseline),
        cmocka_unit_test(test_baseline_is_libvirts),
        cmocka_unit_test(test_baseline_host_cpus_as_libvirt),
        cmocka_unit_test(test_live_cpu_wanted),
        cmocka_unit_test(test_live_cpu_probe_fails),
        cmocka_unit_test(test_named_cpus),
        cmocka_unit_test(test_known_names),
        cmocka_unit_test(test_import_unknown_model),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
