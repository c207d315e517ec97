/* test-report-browser.c [browser]: the HTML report in a real headless Chromium (Debian's
 * chromium). Loads a report rendered from a fixture DB, counts the matrix cells and their
 * computed colours, checks a hostile guest name renders as text, and takes a screenshot.
 * Exits 77 (skipped) when Chromium is not installed, except under CI=true. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <libxml/HTMLparser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migmatrix/report.h"
#include "migmatrix/xml.h"

#define EVIL "<img src=x onerror=alert(1)>"
#define CHROMIUM "/usr/bin/chromium"

static char *tmp;

static void
add(MmStore *s, gint64 run, const char *src, const char *dst, const char *guest, const char *outcome,
    const char *reason)
{
    g_autofree char *id = g_strdup_printf("%s>%s/%s/none", src, dst, guest);
    MmCaseRecord rec = { .run_id = run, .case_id = id, .src = (char *)src, .dst = (char *)dst, .guest = (char *)guest,
                         .mode = (char *)"none", .expected = (char *)"pass", .duration_ms = -1 };
    gint64 row = mm_store_case_add(s, &rec, NULL);

    if (outcome)
        mm_store_case_finish(s, row, outcome, reason, reason, strcmp(outcome, "pass") != 0, 1000, NULL);
}

static char *
render(void)
{
    g_autofree char *db = g_build_filename(tmp, "b.db", NULL);
    g_autoptr(MmStore) s = mm_store_open(db, NULL);
    gint64 run = mm_store_run_begin(s, "run", "browser", "x.ini", NULL, NULL);
    g_autoptr(MmReport) r = NULL;
    g_autoptr(GString) html = g_string_new(NULL);

    /* 6 cells: 2 pass, 1 fail, 1 hang, 1 n/a, 1 not run. */
    add(s, run, "a", "b", "linux", "pass", NULL);
    add(s, run, "b", "a", "linux", "migrate-failed", "missing features");
    add(s, run, "a", "c", "linux", "guest-hung", "no progress");
    add(s, run, "c", "a", "linux", "na", "cross-arch pair");
    add(s, run, "a", "b", EVIL, "pass", NULL);
    add(s, run, "b", "a", EVIL, NULL, NULL);
    mm_store_run_end(s, run, "done", NULL);
    r = mm_report_load(s, run, NULL);
    mm_report_html(r, html);
    return g_strdup(html->str);
}

static char *
chromium(const char *what, const char *file)
{
    g_autofree char *url = g_strdup_printf("file://%s", file);
    g_autofree char *profile = g_build_filename(tmp, "profile", NULL);
    g_autofree char *pd = g_strdup_printf("--user-data-dir=%s", profile);
    const char *argv[] = { CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                           "--no-first-run", "--disable-background-networking", "--disable-component-update",
                           "--disable-sync", "--window-size=1100,900", pd, what, url, NULL };
    g_autoptr(GError) err = NULL;
    char *out = NULL;
    int status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status, &err))
        fail_msg("chromium: %s", err->message);
    return out;
}

static void
test_report_in_chromium(void **state)
{
    g_autofree char *html = render();
    /* A copy with a test probe appended: it writes each cell's computed colour into the DOM. */
    g_autofree char *probe = g_strdup_printf(
        "%s<script>document.querySelectorAll('td.cell').forEach(function(td){"
        "td.setAttribute('data-bg',getComputedStyle(td).backgroundColor);});</script>", html);
    g_autofree char *page = g_build_filename(tmp, "report.html", NULL);
    g_autofree char *shot = g_build_filename(tmp, "report.png", NULL);
    g_autofree char *shot_arg = g_strdup_printf("--screenshot=%s", shot);
    g_autofree char *dom = NULL;
    g_autofree char *png = NULL;
    gsize png_len = 0;
    htmlDocPtr doc;
    g_autoptr(xmlXPathContext) ctx = NULL;
    struct { const char *cls; const char *rgb; guint n; } want[] = {
        { "pass", "rgb(200, 230, 201)", 2 }, { "fail", "rgb(255, 205, 210)", 1 },
        { "hang", "rgb(255, 224, 178)", 1 }, { "na", "rgb(224, 224, 224)", 1 },
        { "notrun", "rgb(255, 255, 255)", 1 },
    };

    (void)state;
    assert_true(g_file_set_contents(page, probe, -1, NULL));
    dom = chromium("--dump-dom", page);
    doc = htmlReadMemory(dom, strlen(dom), "dom.html", "utf-8", HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                                                                HTML_PARSE_NOWARNING);
    assert_non_null(doc);
    ctx = xmlXPathNewContext(doc);
    {
        g_autoptr(GPtrArray) cells = mm_xml_nodes(ctx, NULL, "//td[contains(@class,'cell')]");
        g_autoptr(GPtrArray) imgs = mm_xml_nodes(ctx, NULL, "//img");
        g_autoptr(GPtrArray) headings = mm_xml_strings(ctx, NULL, "//h3");

        assert_int_equal(cells->len, 6);
        /* The hostile guest name is text in a heading, never an element. */
        assert_int_equal(imgs->len, 0);
        assert_true(g_ptr_array_find_with_equal_func(headings, EVIL " / none", g_str_equal, NULL));
    }
    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        g_autofree char *xp = g_strdup_printf("//td[contains(concat(' ',@class,' '),' %s ')]/@data-bg", want[i].cls);
        g_autoptr(GPtrArray) bgs = mm_xml_strings(ctx, NULL, xp);

        assert_int_equal(bgs->len, want[i].n);
        for (guint k = 0; k < bgs->len; k++)
            if (strcmp(bgs->pdata[k], want[i].rgb) != 0)
                fail_msg("%s cell is %s, expected %s", want[i].cls, (char *)bgs->pdata[k], want[i].rgb);
    }
    xmlFreeDoc(doc);

    /* A screenshot: a real PNG of the rendered page. */
    g_free(chromium(shot_arg, page));
    assert_true(g_file_get_contents(shot, &png, &png_len, NULL));
    assert_true(png_len > 10000);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    if (g_getenv("MM_SCREENSHOT"))
        g_file_set_contents(g_getenv("MM_SCREENSHOT"), png, png_len, NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_report_in_chromium) };
    g_autofree char *rm = NULL;
    int rc;

    if (access(CHROMIUM, X_OK) != 0) {
        if (g_getenv("CI")) {
            fprintf(stderr, "Chromium is not installed (scripts/install-deps.sh installs it); CI must run this\n");
            return 1;
        }
        printf("SKIP: needs Debian's chromium (%s): scripts/install-deps.sh\n", CHROMIUM);
        return 77;
    }
    tmp = g_dir_make_tmp("mm-browser-XXXXXX", NULL);
    rc = cmocka_run_group_tests_name("report-browser", tests, NULL, NULL);
    rm = g_strdup_printf("rm -rf '%s'", tmp);
    if (system(rm) != 0)
        rc = 1;
    g_free(tmp);
    return rc;
}
