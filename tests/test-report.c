/* test-report.c: every report format from a DB that the test builds through the store API,
 * with real outcome data from a local-lab run and hostile strings. Goldens in
 * tests/data/report/ (MM_REGENERATE=1 rewrites them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migmatrix/report.h"
#include "migmatrix/util.h"
#include "migmatrix/xml.h"
#include "testutil.h"

#include <libxml/HTMLparser.h>
#include <libxml/xmlschemas.h>

#define EVIL "<img src=x onerror=alert(1)>"

typedef struct {
    const char *id, *src, *dst, *guest, *mode, *expected, *outcome, *reason, *error;
    const char *features;    /* "kind:f1,f2" */
    const char *precheck, *reboot_mode, *xml_diff;
    bool unexpected;
} Row;

/* From a real run of scenarios/local.ini (outcomes, reasons, error texts), plus a hostile guest. */
static const Row rows[] = {
    { "lab-a>lab-b/linux/custom:Westmere", "lab-a", "lab-b", "linux", "custom:Westmere", "pass", "pass", NULL, NULL,
      NULL, NULL, NULL, NULL, false },
    { "lab-a>lab-c/linux/custom:Westmere", "lab-a", "lab-c", "linux", "custom:Westmere", "migrate-failed",
      "migrate-failed", "missing features",
      "operation failed: guest CPU doesn't match specification: missing features: pclmuldq,sse4.2,aes",
      "missing:pclmuldq,sse4.2,aes", "compatible", NULL, NULL, false },
    { "lab-c>lab-a/linux/custom:Westmere", "lab-c", "lab-a", "linux", "custom:Westmere", "pass", "migrate-failed",
      "extra features", "operation failed: guest CPU doesn't match specification: extra features: pclmuldq",
      "extra:pclmuldq", NULL, NULL, NULL, true },
    { "lab-a>lab-c/linux/host-model", "lab-a", "lab-c", "linux", "host-model", "migrate-failed", "migrate-failed",
      "missing features", "operation failed: guest CPU doesn't match specification: missing features: pclmuldq,sse4.2,aes",
      "missing:pclmuldq,sse4.2,aes", NULL, NULL, NULL, false },
    { "lab-c>lab-a/linux/host-model", "lab-c", "lab-a", "linux", "host-model", "pass", "pass", NULL, NULL, NULL, NULL,
      NULL, NULL, false },
    { "lab-a>lab-b/linux-hang/custom:Westmere", "lab-a", "lab-b", "linux-hang", "custom:Westmere", "guest-hung",
      "guest-hung", "no progress after migration",
      "running but not progressing on lab-b: no heartbeat beyond 3 for 20.0 s", NULL, NULL, NULL, NULL, false },
    { "lab-b>lab-a/linux-agent/none", "lab-b", "lab-a", "linux-agent", "none", "pass", "pass", NULL, NULL, NULL,
      NULL, "host-model", NULL, false },
    /* The guest's own CPU across a move onto lab-c (lost) and back off it (gained). */
    { "lab-a>lab-c/linux-agent/maximum", "lab-a", "lab-c", "linux-agent", "maximum", "cpu-changed", "cpu-changed",
      "CPU features lost across migration", "the guest's CPUID lost aes, pclmuldq, sse4.2 after migrate on lab-c",
      "lost:aes,pclmuldq,sse4.2", NULL, NULL, NULL, false },
    { "lab-a>lab-c/linux-aes/maximum", "lab-a", "lab-c", "linux-aes", "maximum", "guest-hung", "guest-hung",
      "no progress after migration", "running but not progressing on lab-c: no heartbeat in 20.0 s",
      "lost:aes,pclmuldq,sse4.2", NULL, NULL, NULL, false },
    { "lab-c>lab-a/linux-agent/maximum", "lab-c", "lab-a", "linux-agent", "maximum", "pass", "pass", NULL, NULL,
      "gained:aes,pclmuldq,sse4.2", NULL, NULL, NULL, false },
    /* A broken lab: JUnit must say <error>, not <failure>. */
    { "lab-c>lab-b/linux/custom:qemu64", "lab-c", "lab-b", "linux", "custom:qemu64", "pass", "infra-error",
      "connection lost", "lab-c does not answer: End of file while reading data: Input/output error", NULL, NULL,
      NULL, NULL, true },
    { "lab-a>lab-b/arm64/custom:qemu64", "lab-a", "lab-b", "arm64", "custom:qemu64", "na", "na",
      "an x86_64 CPU model for an aarch64 guest", NULL, NULL, NULL, NULL, NULL, false },
    { "lab-a>lab-b/" EVIL "/none", "lab-a", "lab-b", EVIL, "none", "pass", "xml-changed",
      "domain XML changed across migration", "quote \" comma , amp & lt < newline\nnon-ASCII: é ü 中", NULL, NULL,
      NULL, "~ /domain/cpu/@check: none -> \"full\" & <more>\n", true },
    { "lab-b>lab-a/" EVIL "/none", "lab-b", "lab-a", EVIL, "none", "pass", NULL, NULL, NULL, NULL, NULL, NULL,
      NULL, false },
};

/* What predict foresaw for some of them: two mispredictions (each way), one right, one unknown,
 * and one against an infra-error, which never counts. */
static const struct {
    const char *id, *predicted, *rule, *reason;
} predictions[] = {
    { "lab-a>lab-b/linux/custom:Westmere", "pass", "cycle/pass", NULL },
    { "lab-c>lab-a/linux/custom:Westmere", "pass", "cycle/pass", NULL },
    { "lab-c>lab-a/linux/host-model", "migrate-failed", "migrate/host-model-subset", "lab-a lacks " EVIL },
    { "lab-a>lab-c/linux/host-model", "migrate-failed", "migrate/host-model-subset", "lab-c lacks aes, pclmuldq" },
    { "lab-a>lab-b/linux-hang/custom:Westmere", "unknown", "start/dossier", "no dossier of lab-b" },
    { "lab-c>lab-b/linux/custom:qemu64", "pass", "cycle/pass", NULL },
};

static char *
build_db(void)
{
    g_autofree char *dir = g_dir_make_tmp("mm-report-XXXXXX", NULL);
    char *path = g_build_filename(dir, "report.db", NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) s = mm_store_open(path, &err);
    gint64 run = mm_store_run_begin(s, "run", "local-lab", "scenarios/local.ini", "cafe", &err);
    sqlite3 *h;

    assert_true(run > 0);
    mm_store_host_fact_set(s, run, "lab-a", "arch", "x86_64", NULL);
    mm_store_host_fact_set(s, run, "lab-a", "virt_type", "qemu", NULL);
    mm_store_host_fact_set(s, run, "lab-a", "cpuinfo_model", "AMD EPYC", NULL);
    mm_store_host_fact_set(s, run, "lab-a", "qemu.host_model", "yes", NULL);
    mm_store_host_fact_set(s, run, "lab-a", "qemu.host_model_cpu", "EPYC", NULL);
    mm_store_host_fact_set(s, run, "lab-a", "qemu.host_passthrough", "no", NULL);
    mm_store_host_fact_set(s, run, "lab-a", "libvirt_version", "9.0.0", NULL);
    mm_store_host_fact_set(s, run, "lab-b", "arch", "x86_64", NULL);
    mm_store_host_fact_set(s, run, "lab-b", "cpu_label", EVIL " | pipe", NULL);
    for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
        const Row *r = &rows[i];
        MmCaseRecord rec = { .run_id = run, .case_id = (char *)r->id, .src = (char *)r->src, .dst = (char *)r->dst,
                             .guest = (char *)r->guest, .mode = (char *)r->mode, .repeat = 1,
                             .expected = (char *)r->expected, .duration_ms = -1 };
        gint64 row = mm_store_case_add(s, &rec, &err);

        assert_true(row > 0);
        for (gsize p = 0; p < G_N_ELEMENTS(predictions); p++)
            if (strcmp(predictions[p].id, r->id) == 0)
                assert_true(mm_store_case_set_prediction(s, row, predictions[p].predicted, predictions[p].rule,
                                                         predictions[p].reason, &err));
        mm_store_step_add(s, row, "prepare", "2026-11-25T05:00:00.000Z", 3, true, "connected", NULL);
        if (!r->outcome)
            continue;
        mm_store_step_add(s, row, "migrate", "2026-11-25T05:00:05.000Z", 750, !r->error, r->error ? r->error : "ok",
                          NULL);
        if (r->features) {
            g_auto(GStrv) kf = g_strsplit(r->features, ":", 2);
            g_auto(GStrv) fs = g_strsplit(kf[1], ",", -1);
            for (int f = 0; fs[f]; f++)
                mm_store_feature_add(s, row, fs[f], kf[0], NULL);
        }
        if (r->precheck)
            mm_store_artifact_add(s, row, "precheck", "lab-c", r->precheck, NULL);
        if (r->reboot_mode) {
            /* The real diff of lab-b>lab-a/linux-agent/none's hard reboot into host-model. */
            g_autofree char *diff = NULL;

            assert_true(g_file_get_contents(MM_TEST_DATA "/report/reboot-diff.txt", &diff, NULL, NULL));
            mm_store_artifact_add(s, row, "mode-after-reboot", "lab-a", r->reboot_mode, NULL);
            mm_store_artifact_add(s, row, "xml-diff-reboot", "lab-a", diff, NULL);
        }
        mm_store_artifact_add(s, row, "xml-diff", r->dst, r->xml_diff ? r->xml_diff : "(no changes)\n", NULL);
        /* Job statistics as the engine stores them: refused at the destination's prepare (no
         * data moved) for a failed migration, libvirt's final ones otherwise. */
        if (strcmp(r->outcome, "na") != 0) {
            bool ok = strcmp(r->outcome, "migrate-failed") != 0;
            MmMigrationRecord m = { .leg = (char *)"migrate", .ok = ok, .stats = (char *)(ok ? "completed" : "none"),
                                    .total_ms = ok ? 612 + 10 * (gint64)i : -1, .downtime_ms = ok ? 21 + (gint64)i : -1,
                                    .data_total = ok ? 201859072 : -1, .data_processed = ok ? 93756403 : -1,
                                    .data_remaining = ok ? 0 : -1, .memory_iterations = ok ? 3 : -1,
                                    .dirty_rate = ok ? 0 : -1, .postcopy_after_ms = -1 };
            assert_true(mm_store_migration_add(s, row, &m, NULL));
        }
        mm_store_case_finish(s, row, r->outcome, r->reason, r->error, r->unexpected, 8000 + i, NULL);
    }
    mm_store_run_end(s, run, "done", NULL);
    /* Fixed times, so the goldens do not change with the clock. */
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "UPDATE runs SET started_at='2026-11-25T05:00:00.000Z', "
                                     "ended_at='2026-11-25T05:04:17.000Z', harness_version='0.1.0'", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    return path;
}

static MmReport *
load(const char *path, MmStore **store)
{
    g_autoptr(GError) err = NULL;
    MmReport *r;

    *store = mm_store_open(path, &err);
    r = mm_report_load(*store, 1, &err);
    if (!r)
        fail_msg("%s", err->message);
    return r;
}

static void
golden(const char *name, const char *actual)
{
    g_autofree char *path = g_build_filename(MM_TEST_DATA, "report", name, NULL);

    assert_true(mm_test_compare_to_file(actual, path));
}

static void
test_formats(void **state)
{
    g_autofree char *db = build_db();
    MmStore *store = NULL;
    g_autoptr(MmReport) r = load(db, &store);
    g_autoptr(GString) md = g_string_new(NULL), csv = g_string_new(NULL), json = g_string_new(NULL);
    g_autoptr(GString) junit = g_string_new(NULL), html = g_string_new(NULL);
    g_autoptr(GError) err = NULL;

    (void)state;
    mm_report_markdown(r, md);
    mm_report_csv(r, csv);
    mm_report_json(r, json);
    assert_true(mm_report_junit(r, junit, &err));
    mm_report_html(r, html);
    golden("report.md", md->str);
    golden("report.csv", csv->str);
    golden("report.json", json->str);
    golden("report.junit.xml", junit->str);
    golden("report.html", html->str);

    /* The matrix: counts, asymmetry, not-run. */
    assert_int_equal(r->unexpected, 3);
    assert_int_equal(r->not_run, 1);
    /* Mispredictions: one each way; right, unknown and infra-error ones are not. */
    assert_int_equal(r->mispredicted, 2);
    assert_non_null(strstr(md->str, "**2 mispredicted**"));
    assert_non_null(strstr(md->str, "✗ migrate-failed: extra features ≠ predicted pass"));
    assert_non_null(strstr(md->str, "**Mispredicted**: predicted migrate-failed by rule migrate/host-model-subset "
                                    "(lab-a lacks \\<img"));
    assert_non_null(strstr(json->str, "\"mispredicted\":2"));
    assert_non_null(strstr(html->str, "<b>2 mispredicted</b>"));
    assert_null(strstr(html->str, "lacks <img"));
    /* Westmere fails both ways: symmetric. host-model fails onto lab-c only: asymmetric. */
    assert_false(((MmReportCase *)g_hash_table_lookup(r->by_id, "lab-c>lab-a/linux/custom:Westmere"))->asymmetric);
    assert_true(((MmReportCase *)g_hash_table_lookup(r->by_id, "lab-a>lab-c/linux/host-model"))->asymmetric);
    assert_true(((MmReportCase *)g_hash_table_lookup(r->by_id, "lab-c>lab-a/linux/host-model"))->asymmetric);
    assert_non_null(strstr(md->str, "| lab-a | — | | ✗ migrate-failed: missing features ⇄ [3] |"));
    assert_non_null(strstr(md->str, "| lab-c | ✓ ≠ predicted migrate-failed (652 ms, downtime 25 ms) ⇄ [4] | | — |"));
    /* The guest's own CPU: what it lost is in the cell; job statistics in small print. */
    assert_non_null(strstr(md->str, "| ✗ cpu-changed: lost aes, pclmuldq, sse4.2 (682 ms, downtime 28 ms)"));
    assert_non_null(strstr(md->str, "hang (CPU lost aes, pclmuldq, sse4.2)"));
    assert_non_null(strstr(md->str, "The guest's own CPU gained: aes, pclmuldq, sse4.2."));
    assert_non_null(strstr(json->str, "\"migrations\":[{\"leg\":\"migrate\",\"ok\":false,\"stats\":\"none\","
                                      "\"total_ms\":null"));
    assert_non_null(strstr(md->str, "not run"));
    assert_non_null(strstr(md->str, "After hard reboot: host-model"));
    /* The hard reboot's dozens of feature lines, summed up in the note. */
    assert_non_null(strstr(md->str, "XML changes at hard reboot (migratable XML): CPU: check none -> full, model qemu64 "
                                    "-> EPYC; CPU features now require: 3dnow, 3dnowext, acpi"));
    /* Case IDs read as they are: Markdown escapes, not HTML entities. */
    assert_non_null(strstr(md->str, "1. **lab-a>lab-c/linux/custom:Westmere**"));
    assert_null(strstr(md->str, "&gt;"));
    assert_non_null(strstr(md->str, "\\<img src=x onerror=alert(1)>"));
    /* No change is null everywhere in JSON. */
    assert_null(strstr(json->str, "(no changes)"));
    /* JUnit: the broken lab is an error, N/A skipped with its reason. */
    assert_non_null(strstr(junit->str, "<error message=\"infra-error: connection lost (expected pass)\" type=\"infra-error\""));
    assert_non_null(strstr(junit->str, "<skipped message=\"not applicable: an x86_64 CPU model for an aarch64 guest\"/>"));

    /* The HTML parses and has the host table (libxml2 2.9 parses HTML4: it does not know
     * details/summary, so its diagnostics are off; the structure is what is checked). */
    {
        htmlDocPtr hd = htmlReadMemory(html->str, html->len, "report.html", "utf-8",
                                        HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING);
        g_autoptr(xmlXPathContext) hc = NULL;
        g_autoptr(GPtrArray) host_rows = NULL;

        assert_non_null(hd);
        hc = xmlXPathNewContext(hd);
        host_rows = mm_xml_nodes(hc, NULL, "//table[@class='hosts']/tr[td]");
        assert_int_equal(host_rows->len, 3);
        xmlFreeDoc(hd);
    }

    /* Hostile strings stay text everywhere. */
    assert_null(strstr(html->str, "<img"));
    assert_non_null(strstr(html->str, "&lt;img src=x onerror=alert(1)&gt;"));
    /* In Markdown every '<' is escaped: no raw HTML at all. */
    for (const char *lt = strchr(md->str, '<'); lt; lt = strchr(lt + 1, '<'))
        if (lt == md->str || lt[-1] != '\\')
            fail_msg("unescaped '<' in the Markdown report: %.40s", lt);
    assert_non_null(strstr(csv->str, "\"quote \"\" comma , amp & lt < newline\nnon-ASCII: é ü 中\""));
    assert_non_null(strstr(json->str, "\"quote \\\" comma , amp & lt < newline\\nnon-ASCII: é ü 中\""));
    g_clear_pointer(&r, mm_report_free);
    mm_store_close(store);
    {
        g_autofree char *dir = g_path_get_dirname(db);
        g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);
        assert_int_equal(system(rm), 0);
    }
}

/* The JUnit output parses, and its counts agree with the cases. */
static void
test_junit_shape(void **state)
{
    g_autofree char *db = build_db();
    MmStore *store = NULL;
    g_autoptr(MmReport) r = load(db, &store);
    g_autoptr(GString) junit = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctx = NULL;
    g_autoptr(GPtrArray) cases = NULL, failures = NULL, skipped = NULL;
    g_autofree char *evil_class = NULL;

    (void)state;
    assert_true(mm_report_junit(r, junit, &err));
    doc = mm_xml_parse(junit->str, -1, "junit", &err);
    assert_non_null(doc);
    ctx = xmlXPathNewContext(doc);
    cases = mm_xml_nodes(ctx, NULL, "/testsuites/testsuite/testcase");
    failures = mm_xml_nodes(ctx, NULL, "//testcase/failure");
    skipped = mm_xml_nodes(ctx, NULL, "//testcase/skipped");
    assert_int_equal(cases->len, G_N_ELEMENTS(rows));
    assert_int_equal(failures->len, 2);
    assert_int_equal(skipped->len, 2);   /* the N/A case and the one not run */
    evil_class = mm_xml_string(ctx, NULL, "//testcase[@name='lab-a>lab-b/" EVIL "/none']/@classname");
    {
        g_autofree char *dir = g_path_get_dirname(db);
        g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);
        assert_int_equal(system(rm), 0);
    }
    assert_string_equal(evil_class, EVIL "/none");
    g_clear_pointer(&r, mm_report_free);

    /* Valid against the JUnit schema (tests/data/report/junit.xsd). */
    {
        xmlSchemaParserCtxtPtr pctx = xmlSchemaNewParserCtxt(MM_TEST_DATA "/report/junit.xsd");
        xmlSchemaPtr schema = xmlSchemaParse(pctx);
        xmlSchemaValidCtxtPtr vctx = xmlSchemaNewValidCtxt(schema);

        assert_non_null(schema);
        assert_int_equal(xmlSchemaValidateDoc(vctx, doc), 0);
        xmlSchemaFreeValidCtxt(vctx);
        xmlSchemaFree(schema);
        xmlSchemaFreeParserCtxt(pctx);
    }
    mm_store_close(store);
}

/* Three nights of one scenario: one cell flips, one is declared flaky, one is steady. */
static void
test_history(void **state)
{
    g_autofree char *dir = g_dir_make_tmp("mm-history-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "h.db", NULL);
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);
    g_autoptr(MmStore) s = mm_store_open(path, NULL);
    g_autoptr(MmReport) r = NULL;
    g_autoptr(GString) md = g_string_new(NULL);
    g_autoptr(GString) json = g_string_new(NULL);
    const char *flip[] = { "pass", "migrate-failed", "pass" };
    gint64 run = 0;

    (void)state;
    for (int n = 0; n < 3; n++) {
        struct { const char *id, *expected, *outcome; } cs[] = {
            { "a>b/g/steady", "pass", "pass" },
            { "a>b/g/flipper", "pass", flip[n] },
            { "b>a/g/known", "flaky", n % 2 ? "guest-hung" : "pass" },
        };
        run = mm_store_run_begin(s, "run", "nightly", "scenarios/x.ini", NULL, NULL);
        for (guint i = 0; i < G_N_ELEMENTS(cs); i++) {
            char **ids = g_strsplit(cs[i].id, "/", 2);
            g_auto(GStrv) pair = g_strsplit(ids[0], ">", 2);
            MmCaseRecord rec = { .run_id = run, .case_id = (char *)cs[i].id, .src = pair[0], .dst = pair[1],
                                 .guest = (char *)"g", .mode = (char *)"none", .expected = (char *)cs[i].expected,
                                 .duration_ms = -1 };
            gint64 row = mm_store_case_add(s, &rec, NULL);
            bool unexpected = strcmp(cs[i].expected, "flaky") != 0 && strcmp(cs[i].expected, cs[i].outcome) != 0;

            mm_store_case_finish(s, row, cs[i].outcome, NULL, NULL, unexpected, 10, NULL);
            g_strfreev(ids);
        }
        mm_store_run_end(s, run, "done", NULL);
    }
    /* Another scenario's run in between must not count. */
    mm_store_run_begin(s, "run", "other", "scenarios/other.ini", NULL, NULL);

    r = mm_report_load(s, run, NULL);
    assert_true(mm_report_load_history(r, s, 5, NULL));
    assert_int_equal(((MmReportCase *)g_hash_table_lookup(r->by_id, "a>b/g/flipper"))->hist_flips, 2);
    assert_int_equal(((MmReportCase *)g_hash_table_lookup(r->by_id, "a>b/g/flipper"))->hist_passes, 2);
    assert_false(mm_report_case_flaky(g_hash_table_lookup(r->by_id, "a>b/g/steady")));
    mm_report_markdown(r, md);
    mm_report_json(r, json);
    assert_non_null(strstr(md->str, "| b | ✓ (2/3, flaky) | — |"));
    assert_non_null(strstr(md->str, "| a>b/g/flipper | 2/3 | 2 | 1.00 | no |"));
    assert_non_null(strstr(md->str, "| b>a/g/known | 2/3 | 2 | 1.00 | yes |"));
    assert_non_null(strstr(json->str, "\"known_flaky\":true"));
    /* The flaky expectation keeps the gate green. */
    assert_int_equal(r->unexpected, 0);
    assert_int_equal(system(rm), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_junit_shape),
    };
    return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
