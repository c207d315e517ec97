/* report-html.c: one self-contained HTML file: no remote assets, every string from the DB
 * escaped (host, guest and error texts are hostile input). A coloured matrix per guest and
 * mode, the host table, per-case details on click, a filter by outcome. */
#include <string.h>

#include "migmatrix/report.h"
#include "migmatrix/xmldiff.h"

static void
esc(GString *out, const char *s)
{
    g_autofree char *e = g_markup_escape_text(s ? s : "", -1);
    g_string_append(out, e);
}

static const char style[] =
    "body{font-family:sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "th,td{border:1px solid #bbb;padding:.3em .6em;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3}"
    "td.cell{cursor:pointer;min-width:6em}"
    ".pass{background:#c8e6c9}.fail{background:#ffcdd2}.hang{background:#ffe0b2}"
    ".na{background:#e0e0e0;color:#555}.notrun{background:#fff;color:#888;font-style:italic}"
    ".unknown{background:#fff8c4;color:#555;font-style:italic}"
    ".unexpected{outline:3px solid #b00020;outline-offset:-3px}"
    ".mispredicted{border:3px dashed #6a1b9a}"
    ".asym::after{content:' \\21C4';font-weight:bold}"
    "details{margin:.3em 0;border:1px solid #ddd;padding:.3em .6em}"
    "pre{background:#f7f7f7;padding:.5em;overflow-x:auto;white-space:pre-wrap}"
    "#filter label{margin-right:1em}"
    "body.hide-pass .pass.cell,body.hide-fail .fail.cell,body.hide-hang .hang.cell,"
    "body.hide-na .na.cell,body.hide-notrun .notrun.cell{visibility:hidden}";

/* Opening a case's details from its cell, and the outcome filter: no library, no network. */
static const char script[] =
    "function show(id){var d=document.getElementById(id);if(d){d.open=true;d.scrollIntoView();}}"
    "function filt(cb){document.body.classList.toggle('hide-'+cb.value,!cb.checked);}";

static void
grid(const MmReport *r, const MmReportGrid *g, GString *out)
{
    g_string_append(out, "<h3>");
    esc(out, g->guest);
    g_string_append(out, " / ");
    esc(out, g->mode);
    g_string_append(out, "</h3>\n<table class=\"matrix\"><tr><th>source \\ destination</th>");
    for (guint d = 0; d < r->hosts->len; d++) {
        g_string_append(out, "<th>");
        esc(out, r->hosts->pdata[d]);
        g_string_append(out, "</th>");
    }
    g_string_append(out, "</tr>\n");
    for (guint s = 0; s < r->hosts->len; s++) {
        g_autoptr(GString) row = g_string_new(NULL);
        bool any = false;

        g_string_append(row, "<tr><th>");
        esc(row, r->hosts->pdata[s]);
        g_string_append(row, "</th>");
        for (guint d = 0; d < r->hosts->len; d++) {
            MmReportCase *c = mm_report_cell(g, r->hosts->pdata[s], r->hosts->pdata[d]);
            g_autofree char *text = NULL;

            if (!c) {
                g_string_append(row, s == d ? "<td>—</td>" : "<td></td>");
                continue;
            }
            any = true;
            text = mm_report_cell_text(c);
            g_string_append_printf(row, "<td class=\"cell %s%s%s%s\" data-outcome=\"", mm_report_cell_class(c),
                                   c->rec->unexpected ? " unexpected" : "", c->asymmetric ? " asym" : "",
                                   mm_case_mispredicted(c->rec) ? " mispredicted" : "");
            esc(row, c->rec->outcome ? c->rec->outcome : "not-run");
            g_string_append_printf(row, "\" onclick=\"show('case-%" G_GINT64_FORMAT "')\" title=\"", c->rec->id);
            esc(row, c->rec->case_id);
            g_string_append(row, "\">");
            esc(row, text);
            {
                g_autofree char *timing = mm_report_timing(c);

                if (timing) {
                    g_string_append(row, "<br><small>");
                    esc(row, timing);
                    g_string_append(row, "</small>");
                }
            }
            if (r->history && c->hist_runs)
                g_string_append_printf(row, " <small>(%u/%u%s)</small>", c->hist_passes, c->hist_runs,
                                       mm_report_case_flaky(c) ? ", flaky" : "");
            g_string_append(row, "</td>");
        }
        g_string_append(row, "</tr>\n");
        if (any)
            g_string_append(out, row->str);
    }
    g_string_append(out, "</table>\n");
}

static void
pre(GString *out, const char *title, const char *text)
{
    if (!text)
        return;
    g_string_append_printf(out, "<p><b>%s</b></p><pre>", title);
    esc(out, text);
    g_string_append(out, "</pre>");
}

static void
details(MmReport *r, const MmReportCase *c, GString *out)
{
    g_string_append_printf(out, "<details id=\"case-%" G_GINT64_FORMAT "\" class=\"%s\"><summary>", c->rec->id,
                           mm_report_cell_class(c));
    esc(out, c->rec->case_id);
    g_string_append(out, ": ");
    esc(out, c->rec->outcome ? c->rec->outcome : "not run");
    if (c->rec->reason) {
        g_string_append(out, " (");
        esc(out, c->rec->reason);
        g_string_append(out, ")");
    }
    if (c->rec->unexpected) {
        g_string_append(out, ", <b>unexpected</b>: expected ");
        esc(out, c->rec->expected);
    }
    if (c->rec->predicted) {
        g_string_append(out, mm_case_mispredicted(c->rec) ? ", <b>mispredicted</b>: predicted " : ", predicted ");
        esc(out, c->rec->predicted);
        g_string_append(out, " (");
        esc(out, c->rec->predicted_rule ? c->rec->predicted_rule : "?");
        if (c->rec->predicted_reason) {
            g_string_append(out, ": ");
            esc(out, c->rec->predicted_reason);
        }
        g_string_append(out, ")");
    }
    g_string_append(out, "</summary>\n<table><tr><th>phase</th><th>ms</th><th>ok</th><th>message</th></tr>");
    GPtrArray *steps = mm_report_steps(r, c);
    for (guint s = 0; steps && s < steps->len; s++) {
        const MmStepRecord *st = steps->pdata[s];

        g_string_append(out, "<tr><td>");
        esc(out, st->phase);
        g_string_append_printf(out, "</td><td>%" G_GINT64_FORMAT "</td><td>%s</td><td>", st->duration_ms,
                               st->ok ? "yes" : "no");
        esc(out, st->message);
        g_string_append(out, "</td></tr>");
    }
    g_string_append(out, "</table>\n");
    if (c->features->len) {
        g_autoptr(GString) f = g_string_new(NULL);
        for (guint i = 0; i < c->features->len; i++)
            g_string_append_printf(f, "%s%s", i ? ", " : "", (char *)c->features->pdata[i]);
        pre(out, "CPU features", f->str);
    }
    {
        g_autofree char *lost = mm_report_features_of(c, "lost");
        g_autofree char *gained = mm_report_features_of(c, "gained");
        g_autofree char *migrations = mm_report_migrations_text(c);

        pre(out, "The guest's own CPU lost", lost);
        pre(out, "The guest's own CPU gained", gained);
        pre(out, "Migrations (job statistics)", migrations);
    }
    pre(out, "Error", c->rec->error_text);
    pre(out, "Pre-check", c->precheck);
    pre(out, "XML changes across migration", c->xml_diff);
    pre(out, "Mode after hard reboot", c->reboot_mode);
    if (c->reboot_diff) {
        g_autofree char *summary = mm_xmldiff_summary(c->reboot_diff);

        pre(out, "XML changes at hard reboot (migratable XML), in short", summary);
        pre(out, "XML changes at hard reboot, in full", c->reboot_diff);
    }
    pre(out, "Console / probe tail", c->console_tail);
    g_string_append(out, "</details>\n");
}

void
mm_report_html(MmReport *r, GString *out)
{
    static const char *const classes[] = { "pass", "fail", "hang", "na", "notrun", "unknown" };

    g_string_append(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                         "style-src 'unsafe-inline'; script-src 'unsafe-inline'\"><title>migmatrix: ");
    esc(out, r->run->name ? r->run->name : r->run->scenario_path);
    g_string_append_printf(out, "</title><style>%s</style><script>%s</script></head><body>\n", style, script);
    if (r->prediction) {
        g_string_append(out, "<h1>migmatrix prediction: ");
        esc(out, r->run->name ? r->run->name : r->run->scenario_path);
        g_string_append(out, "</h1>\n<p><b>A prediction, not a run</b>: each outcome is foreseen from the hosts' "
                             "recorded dossiers; no host was touched. Scenario <code>");
        esc(out, r->run->scenario_path);
        g_string_append_printf(out, "</code>. %u predicted, %u unknown.</p>\n", r->cases->len - r->not_run,
                               r->not_run);
    } else {
        g_string_append(out, "<h1>migmatrix report: ");
        esc(out, r->run->name ? r->run->name : r->run->scenario_path);
        g_string_append_printf(out, " (run %" G_GINT64_FORMAT ")</h1>\n<p>Scenario <code>", r->run->id);
        esc(out, r->run->scenario_path);
        g_string_append(out, "</code>, started ");
        esc(out, r->run->started_at);
        g_string_append(out, ", status ");
        esc(out, r->run->status);
        g_string_append_printf(out, ". %u as expected, <b>%u unexpected</b>", r->expected, r->unexpected);
        if (r->mispredicted)
            g_string_append_printf(out, ", <b>%u mispredicted</b> (a dashed frame)", r->mispredicted);
        g_string_append(out, ".</p>\n");
    }
    {
        g_autofree char *origin = mm_run_origin_text(r->run);
        if (origin) {
            g_string_append(out, "<p class=\"origin\"><b>Origin</b>: ");
            esc(out, origin);
            g_string_append(out, ".</p>\n");
        }
    }
    if (r->run->filter) {
        g_string_append(out, "<p class=\"filtered\"><b>Filtered</b>: only the cases matching <code>--filter ");
        esc(out, r->run->filter);
        g_string_append(out, "</code> were run; the rest of the matrix is not in this report.</p>\n");
    }

    g_string_append(out, "<h2>Hosts</h2>\n");
    mm_host_table_html(r->host_rows, out);
    g_string_append(out, "<h2>Migration matrix</h2>\n<p id=\"filter\">Show: ");
    for (guint i = 0; i < G_N_ELEMENTS(classes); i++)
        g_string_append_printf(out, "<label class=\"%s\"><input type=\"checkbox\" value=\"%s\" checked "
                                    "onchange=\"filt(this)\"> %s</label>",
                               classes[i], classes[i], classes[i]);
    g_string_append(out, "</p>\n<p>Rows are sources, columns destinations. Click a cell for its details. "
                         "\u21C4: the reverse direction has the other result; a red frame: unexpected.</p>\n");
    for (guint i = 0; i < r->grids->len; i++)
        grid(r, r->grids->pdata[i], out);
    g_string_append(out, "<h2>Cases</h2>\n");
    for (guint i = 0; i < r->cases->len; i++) {
        details(r, r->cases->pdata[i], out);
        mm_report_flush(r, out, false);
    }
    g_string_append(out, "</body></html>\n");
}
