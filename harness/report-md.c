/* report-md.c: the Markdown report: ready to paste into docs. */
#include <string.h>

#include "migmatrix/report.h"
#include "migmatrix/xmldiff.h"

static void
summary(const MmReport *r, GString *out)
{
    g_string_append(out, "## Summary\n\n| outcome | cases |\n|---|---|\n");
    for (int o = 0; o < MM_OUTCOME_LAST; o++)
        if (r->counts[o])
            g_string_append_printf(out, "| %s | %u |\n", mm_outcome_name(o), r->counts[o]);
    if (r->not_run)
        g_string_append_printf(out, "| %s | %u |\n", r->prediction ? "unknown" : "not run", r->not_run);
    if (r->prediction)
        g_string_append_printf(out, "\n%u predicted, %u unknown (a dossier or a fact missing).\n\n",
                               r->cases->len - r->not_run, r->not_run);
    else {
        g_string_append_printf(out, "\n%u as expected, **%u unexpected**%s.\n\n", r->expected, r->unexpected,
                               r->not_run ? ", the rest not run" : "");
        if (r->mispredicted)
            g_string_append_printf(out, "**%u mispredicted**: the outcome went against what `predict` foresaw from "
                                        "the dossiers (marked ≠ in the grids). Each is a finding: the rules or libvirt "
                                        "are wrong; the note names the rule.\n\n",
                                   r->mispredicted);
    }
}

static void
grid(const MmReport *r, const MmReportGrid *g, GString *out)
{
    g_string_append(out, "### ");
    mm_markdown_cell(out, g->guest);
    g_string_append(out, " / ");
    mm_markdown_cell(out, g->mode);
    g_string_append(out, "\n\n| source \\ destination |");
    for (guint d = 0; d < r->hosts->len; d++) {
        g_string_append_c(out, ' ');
        mm_markdown_cell(out, r->hosts->pdata[d]);
        g_string_append(out, " |");
    }
    g_string_append(out, "\n|---|");
    for (guint d = 0; d < r->hosts->len; d++)
        g_string_append(out, "---|");
    g_string_append_c(out, '\n');
    for (guint s = 0; s < r->hosts->len; s++) {
        bool any = false;
        g_autoptr(GString) row = g_string_new(NULL);

        g_string_append(row, "| ");
        mm_markdown_cell(row, r->hosts->pdata[s]);
        g_string_append(row, " |");
        for (guint d = 0; d < r->hosts->len; d++) {
            MmReportCase *c = mm_report_cell(g, r->hosts->pdata[s], r->hosts->pdata[d]);
            g_autofree char *text = NULL;

            if (!c) {
                g_string_append(row, s == d ? " — |" : " |");
                continue;
            }
            any = true;
            text = mm_report_cell_text(c);
            g_string_append_c(row, ' ');
            mm_markdown_cell(row, text);
            {
                g_autofree char *timing = mm_report_timing(c);

                if (timing) {
                    g_string_append(row, " (");
                    mm_markdown_cell(row, timing);
                    g_string_append(row, ")");
                }
            }
            if (c->asymmetric)
                g_string_append(row, " ⇄");
            if (r->history && c->hist_runs)
                g_string_append_printf(row, " (%u/%u%s)", c->hist_passes, c->hist_runs,
                                       mm_report_case_flaky(c) ? ", flaky" : "");
            if (c->rec->unexpected)
                g_string_append(row, " **UNEXPECTED**");
            if (c->footnote)
                g_string_append_printf(row, " [%d]", c->footnote);
            g_string_append(row, " |");
        }
        if (any)
            g_string_append_printf(out, "%s\n", row->str);
    }
    g_string_append_c(out, '\n');
}

static void
footnotes(const MmReport *r, GString *out)
{
    bool header = false;

    for (guint i = 0; i < r->cases->len; i++) {
        const MmReportCase *c = r->cases->pdata[i];

        if (!c->footnote)
            continue;
        if (!header) {
            g_string_append(out, "## Notes\n\n");
            header = true;
        }
        /* No code span: entities are not decoded there, and IDs contain '>'. */
        g_string_append_printf(out, "%d. **", c->footnote);
        mm_markdown_cell(out, c->rec->case_id);
        g_string_append_printf(out, "**: %s", c->rec->outcome ? c->rec->outcome : "not run");
        if (c->rec->reason) {
            g_string_append(out, " (");
            mm_markdown_cell(out, c->rec->reason);
            g_string_append(out, ")");
        }
        if (c->rec->unexpected) {
            g_string_append(out, ", expected ");
            mm_markdown_cell(out, c->rec->expected);
        }
        g_string_append(out, ".");
        if (mm_case_mispredicted(c->rec)) {
            g_string_append(out, " **Mispredicted**: predicted ");
            mm_markdown_cell(out, c->rec->predicted);
            g_string_append(out, " by rule ");
            mm_markdown_cell(out, c->rec->predicted_rule ? c->rec->predicted_rule : "?");
            if (c->rec->predicted_reason) {
                g_string_append(out, " (");
                mm_markdown_cell(out, c->rec->predicted_reason);
                g_string_append(out, ")");
            }
            g_string_append(out, ".");
        }
        if (r->prediction && c->rec->error_text) {
            g_string_append(out, " Rule: ");
            mm_markdown_cell(out, c->rec->error_text);
            g_string_append(out, ".");
        }
        if (c->features->len) {
            g_string_append(out, " Features:");
            for (guint f = 0; f < c->features->len; f++) {
                g_string_append(out, f ? ", " : " ");
                mm_markdown_cell(out, c->features->pdata[f]);
            }
            g_string_append(out, ".");
        }
        {
            g_autofree char *lost = mm_report_features_of(c, "lost");
            g_autofree char *gained = mm_report_features_of(c, "gained");
            g_autofree char *migrations = mm_report_migrations_text(c);

            if (lost) {
                g_string_append(out, " The guest's own CPU lost: ");
                mm_markdown_cell(out, lost);
                g_string_append(out, ".");
            }
            if (gained) {
                g_string_append(out, " The guest's own CPU gained: ");
                mm_markdown_cell(out, gained);
                g_string_append(out, ".");
            }
            if (migrations) {
                g_string_append(out, " Migrations: ");
                mm_markdown_cell(out, migrations);
                g_string_append(out, ".");
            }
        }
        if (c->precheck) {
            g_string_append(out, " Pre-check: ");
            mm_markdown_cell(out, c->precheck);
            g_string_append(out, ".");
        }
        if (c->reboot_mode) {
            g_string_append(out, " After hard reboot: ");
            mm_markdown_cell(out, c->reboot_mode);
            g_string_append(out, " (the destination's default mode).");
        }
        if (c->reboot_diff) {
            /* Dozens of feature lines: summed up here, in full in the HTML and JSON reports. */
            g_autofree char *summary = mm_xmldiff_summary(c->reboot_diff);

            g_string_append(out, " XML changes at hard reboot (migratable XML): ");
            mm_markdown_cell(out, summary);
            g_string_append(out, ".");
        }
        if (c->rec->error_text) {
            g_string_append(out, " Error: ");
            mm_markdown_cell(out, c->rec->error_text);
        }
        if (c->xml_diff) {
            g_string_append(out, " XML changes: ");
            mm_markdown_cell(out, c->xml_diff);
        }
        g_string_append_c(out, '\n');
        mm_report_flush(r, out, false);
    }
    if (header)
        g_string_append_c(out, '\n');
}

static void
flaky_cells(const MmReport *r, GString *out)
{
    bool header = false;

    for (guint i = 0; i < r->cases->len; i++) {
        const MmReportCase *c = r->cases->pdata[i];

        if (!mm_report_case_flaky(c) && !mm_report_case_known_flaky(c))
            continue;
        if (!header) {
            g_string_append(out, "## Flaky cells\n\n| case | passes | flips | score | known (expect = flaky) |\n"
                                 "|---|---|---|---|---|\n");
            header = true;
        }
        g_string_append(out, "| ");
        mm_markdown_cell(out, c->rec->case_id);
        g_string_append_printf(out, " | %u/%u | %u | %.2f | %s |\n", c->hist_passes, c->hist_runs, c->hist_flips,
                               c->hist_runs > 1 ? (double)c->hist_flips / (c->hist_runs - 1) : 0.0,
                               mm_report_case_known_flaky(c) ? "yes" : "no");
    }
    if (header)
        g_string_append_c(out, '\n');
}

void
mm_report_markdown(const MmReport *r, GString *out)
{
    if (r->prediction) {
        g_string_append(out, "# migmatrix prediction: ");
        mm_markdown_cell(out, r->run->name ? r->run->name : r->run->scenario_path);
        g_string_append(out, "\n\n**A prediction, not a run**: each outcome is foreseen from the hosts' recorded "
                             "dossiers by the rule its note names; no host was touched. Scenario ");
        mm_markdown_cell(out, r->run->scenario_path);
        g_string_append_printf(out, ", migmatrix %s.\n\n", r->run->harness_version);
    } else {
        g_string_append(out, "# migmatrix report: ");
        mm_markdown_cell(out, r->run->name ? r->run->name : r->run->scenario_path);
        g_string_append_printf(out, " (run %" G_GINT64_FORMAT ")\n\n", r->run->id);
        g_string_append(out, "Scenario ");
        mm_markdown_cell(out, r->run->scenario_path);
        g_string_append_printf(out, ", started %s, ended %s, status %s, migmatrix %s.\n\n", r->run->started_at,
                               r->run->ended_at ? r->run->ended_at : "-", r->run->status, r->run->harness_version);
    }
    {
        g_autofree char *origin = mm_run_origin_text(r->run);
        if (origin) {
            g_string_append(out, "**Origin**: ");
            mm_markdown_cell(out, origin);
            g_string_append(out, ".\n\n");
        }
    }
    if (r->run->filter) {
        g_string_append(out, "**Filtered**: only the cases matching --filter ");
        mm_markdown_cell(out, r->run->filter);
        g_string_append(out, " were run; the rest of the matrix is not in this report.\n\n");
    }
    g_string_append(out, "## Hosts\n\n");
    mm_host_table_markdown(r->host_rows, out);
    g_string_append_c(out, '\n');
    if (r->prediction) {
        g_string_append(out, "Dossiers:\n\n");
        for (guint i = 0; i < r->host_rows->len; i++) {
            const MmHostRow *h = r->host_rows->pdata[i];
            const char *d = g_hash_table_lookup(h->facts, "dossier");

            g_string_append(out, "- ");
            mm_markdown_cell(out, h->name);
            g_string_append(out, ": ");
            mm_markdown_cell(out, d ? d : "none recorded");
            g_string_append_c(out, '\n');
        }
        g_string_append_c(out, '\n');
    }
    summary(r, out);
    g_string_append(out, "## Migration matrix\n\nRows are sources, columns destinations. ✓ pass, ✗ failed "
                         "(outcome: reason), hang: the guest stopped making progress, N/A: not applicable, "
                         "⇄: the reverse direction has the other result, [n]: see Notes. In brackets: the "
                         "migration's total time and downtime.\n\n");
    if (r->history)
        g_string_append_printf(out, "With history: (passes/runs) over the last %u runs of this scenario; "
                                    "flaky: the outcome changed between runs.\n\n", r->history);
    for (guint i = 0; i < r->grids->len; i++)
        grid(r, r->grids->pdata[i], out);
    flaky_cells(r, out);
    footnotes(r, out);
}
