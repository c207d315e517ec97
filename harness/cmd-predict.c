/* cmd-predict.c: `migmatrix predict SCENARIO`: every planned case's expected outcome, from the
 * hosts' recorded dossiers alone (no host is reached), as the same grids `report` prints. */
#include <stdio.h>
#include <string.h>

#include "migmatrix/cli.h"
#include "migmatrix/dossier.h"
#include "migmatrix/predict.h"
#include "migmatrix/report.h"
#include "migmatrix/store.h"
#include "migmatrix/version.h"

/* "✓", "✗ start-failed", "~ cpu-changed", "? unknown", "N/A". */
static const char *
short_cell(const MmReportCase *c)
{
    const char *cls = mm_report_cell_class(c);

    if (strcmp(cls, "unknown") == 0)
        return "?";
    if (strcmp(cls, "na") == 0)
        return "N/A";
    if (strcmp(cls, "pass") == 0)
        return "ok";
    if (strcmp(c->rec->outcome, "cpu-changed") == 0)
        return "cpu-changed";
    return c->rec->outcome;
}

static void
format_text(const MmReport *r, GHashTable *dossiers, GString *out)
{
    g_string_append_printf(out, "prediction for %s (%s): no host touched; from these dossiers:\n",
                           r->run->name ? r->run->name : "-", r->run->scenario_path);
    for (guint i = 0; i < r->hosts->len; i++) {
        const MmDossier *d = g_hash_table_lookup(dossiers, r->hosts->pdata[i]);

        if (!d || !d->facts)
            g_string_append_printf(out, "  %-12s none\n", (char *)r->hosts->pdata[i]);
        else
            g_string_append_printf(out, "  %-12s run %" G_GINT64_FORMAT ", %s%s%s\n", d->host, d->run_id,
                                   d->recorded_at, d->stale ? "; STALE: " : "", d->stale ? d->stale : "");
    }
    for (guint gi = 0; gi < r->grids->len; gi++) {
        const MmReportGrid *g = r->grids->pdata[gi];
        guint w = 6;

        for (guint i = 0; i < r->hosts->len; i++)
            w = MAX(w, strlen(r->hosts->pdata[i]));
        for (guint i = 0; i < g->cases->len; i++)
            w = MAX(w, strlen(short_cell(g->cases->pdata[i])));
        g_string_append_printf(out, "\n%s / %s\n%-*s", g->guest, g->mode, (int)w + 2, "src\\dst");
        for (guint d = 0; d < r->hosts->len; d++)
            g_string_append_printf(out, " %-*s", (int)w, (char *)r->hosts->pdata[d]);
        g_string_append_c(out, '\n');
        for (guint s = 0; s < r->hosts->len; s++) {
            g_string_append_printf(out, "%-*s", (int)w + 2, (char *)r->hosts->pdata[s]);
            for (guint d = 0; d < r->hosts->len; d++) {
                MmReportCase *c = mm_report_cell(g, r->hosts->pdata[s], r->hosts->pdata[d]);
                g_string_append_printf(out, " %-*s", (int)w, c ? short_cell(c) : "-");
            }
            g_string_append_c(out, '\n');
        }
    }
    g_string_append(out, "\nwhy (every cell that does not pass):\n");
    for (guint i = 0; i < r->cases->len; i++) {
        const MmReportCase *c = r->cases->pdata[i];
        const char *cls = mm_report_cell_class(c);

        if (strcmp(cls, "pass") == 0 || strcmp(cls, "na") == 0)
            continue;
        g_string_append_printf(out, "  %s: %s: %s [%s]\n", c->rec->case_id, c->rec->outcome ? c->rec->outcome : "unknown",
                               c->rec->reason ? c->rec->reason : "-", c->rec->error_text ? c->rec->error_text : "-");
    }
    g_string_append_printf(out, "\n%u cases: %u predicted, %u unknown\n", r->cases->len, r->cases->len - r->not_run,
                           r->not_run);
}

int
mm_cmd_predict(int argc, char **argv)
{
    g_autofree char *format = NULL, *db = NULL, *filter = NULL;
    gint max_age = MM_DOSSIER_MAX_AGE_DAYS;
    gboolean rules = FALSE;
    GOptionEntry entries[] = {
        { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Results DB with the dossiers (default: the scenario's [run] db)",
          "PATH" },
        { "format", 0, 0, G_OPTION_ARG_STRING, &format, "Output: text (default), md, html or json", "FORMAT" },
        { "filter", 0, 0, G_OPTION_ARG_STRING, &filter, "Only cases whose ID matches GLOB", "GLOB" },
        { "max-age", 0, 0, G_OPTION_ARG_INT, &max_age, "A dossier older than DAYS is stale (default " G_STRINGIFY(MM_DOSSIER_MAX_AGE_DAYS) ")", "DAYS" },
        { "rules", 0, 0, G_OPTION_ARG_NONE, &rules, "Print the rules, in the order they are tried, and exit", NULL },
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(MmScenario) sc = NULL;
    g_autoptr(MmMatrix) m = NULL;
    g_autoptr(MmStore) store = NULL;
    g_autoptr(GHashTable) dossiers = NULL;
    g_autoptr(GHashTable) facts = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify)g_hash_table_unref);
    g_autoptr(GHashTable) features = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                                           (GDestroyNotify)g_ptr_array_unref);
    g_autoptr(GPtrArray) recs = g_ptr_array_new_with_free_func((GDestroyNotify)mm_case_record_free);
    g_autoptr(MmPredictor) p = NULL;
    g_autoptr(MmReport) r = NULL;
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    MmRunRecord *run;
    const char *dbpath;

    if (!mm_cli_parse("predict", "SCENARIO",
                      "Predict every case's outcome from the hosts' recorded dossiers, without touching a host.",
                      entries, &argc, &argv))
        return MM_EXIT_USAGE;
    if (rules) {
        guint n;
        const MmPredictRule *r = mm_predict_rules(&n);

        for (guint i = 0; i < n; i++)
            printf("%-18s %s\n%-18s source: %s\n", r[i].id, r[i].says, "", r[i].source);
        return MM_EXIT_OK;
    }
    if (!format)
        format = g_strdup("text");
    if (strcmp(format, "text") && strcmp(format, "md") && strcmp(format, "html") && strcmp(format, "json")) {
        mm_cli_usage_error("predict", "--format %s: use text, md, html or json", format);
        return MM_EXIT_USAGE;
    }
    if (max_age <= 0) {
        mm_cli_usage_error("predict", "--max-age %d: give a number of days, 1 or more", max_age);
        return MM_EXIT_USAGE;
    }
    if (argc != 2) {
        mm_cli_usage_error("predict", "expected exactly one SCENARIO file");
        return MM_EXIT_USAGE;
    }
    if (!mm_cli_load_matrix(argv[1], filter, &sc, &m))
        return MM_EXIT_USAGE;
    dbpath = mm_cli_db_path(db, sc);
    /* No DB yet: nothing was probed, and every cell says so. Never create one here. */
    if (g_file_test(dbpath, G_FILE_TEST_EXISTS) && !(store = mm_store_open(dbpath, &err))) {
        fprintf(stderr, "migmatrix predict: %s\n", err->message);
        return MM_EXIT_INFRA;
    }
    if (!(dossiers = mm_cli_load_dossiers(store, sc, (guint)max_age, &err))) {
        fprintf(stderr, "migmatrix predict: %s\n", err->message);
        return MM_EXIT_INFRA;
    }

    p = mm_predictor_new(dossiers);
    for (guint i = 0; i < m->cases->len; i++) {
        const MmCase *c = m->cases->pdata[i];
        MmCaseRecord *rec = g_new0(MmCaseRecord, 1);
        MmPrediction pr;

        mm_predict_case(p, c, &pr);
        rec->id = i + 1;
        rec->case_id = g_strdup(c->id);
        rec->src = g_strdup(c->src->name);
        rec->dst = g_strdup(c->dst->name);
        rec->guest = g_strdup(c->guest->name);
        rec->mode = g_strdup(c->mode_text);
        rec->repeat = c->repeat;
        rec->matrix = g_strdup(c->matrix);
        rec->plan_index = i;
        rec->duration_ms = -1;
        rec->state = g_strdup(pr.unknown ? "unknown" : "predicted");
        rec->outcome = pr.unknown ? NULL : g_strdup(mm_outcome_name(pr.outcome));
        rec->reason = g_strdup(pr.reason);
        rec->error_text = g_strdup_printf("%s/%s", pr.stage, pr.rule);
        if (pr.lost && pr.lost->len) {
            GPtrArray *f = g_ptr_array_new_with_free_func(g_free);

            for (guint k = 0; k < pr.lost->len; k++)
                g_ptr_array_add(f, g_strdup_printf("lost:%s", (char *)pr.lost->pdata[k]));
            g_hash_table_insert(features, &rec->id, f);
        }
        g_ptr_array_add(recs, rec);
        mm_prediction_clear(&pr);
    }
    {
        GHashTableIter it;
        gpointer k, v;

        /* Each host's facts, plus where they came from, for the reports' dossier list. */
        g_hash_table_iter_init(&it, dossiers);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            const MmDossier *d = v;
            GHashTable *f = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
            GHashTableIter fi;
            gpointer fk, fv;

            if (d->facts) {
                g_hash_table_iter_init(&fi, d->facts);
                while (g_hash_table_iter_next(&fi, &fk, &fv))
                    g_hash_table_insert(f, g_strdup(fk), g_strdup(fv));
                g_hash_table_insert(f, g_strdup("dossier"),
                                    g_strdup_printf("run %" G_GINT64_FORMAT " (%s), recorded %s%s%s", d->run_id,
                                                    mm_facts_get(d->facts, "source") ?: "?", d->recorded_at,
                                                    d->stale ? "; stale: " : "", d->stale ? d->stale : ""));
            } else {
                g_hash_table_insert(f, g_strdup("dossier"), g_strdup("none recorded"));
            }
            g_hash_table_insert(facts, k, f);
        }
    }
    run = g_new0(MmRunRecord, 1);
    run->name = g_strdup(sc->name);
    run->scenario_path = g_strdup(sc->path);
    run->scenario_hash = g_strdup(sc->sha256);
    run->status = g_strdup("predicted");
    run->kind = g_strdup("prediction");
    run->harness_version = g_strdup(MM_VERSION);
    run->filter = g_strdup(filter);
    r = mm_report_new_prediction(run, recs, features, facts);

    if (strcmp(format, "md") == 0)
        mm_report_markdown(r, out);
    else if (strcmp(format, "html") == 0)
        mm_report_html(r, out);
    else if (strcmp(format, "json") == 0)
        mm_report_json(r, out);
    else
        format_text(r, dossiers, out);
    fputs(out->str, stdout);
    return MM_EXIT_OK;
}
