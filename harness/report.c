/* report.c: load a stored run into the report model: hosts, cases, grids, footnotes. */
#include "migmatrix/report.h"

#include <string.h>

#include "migmatrix/outcome.h"
#include "migmatrix/util.h"

static void
report_case_free(MmReportCase *c)
{
    mm_case_record_free(c->rec);
    g_ptr_array_unref(c->features);
    if (c->migrations)
        g_ptr_array_unref(c->migrations);
    g_free(c->xml_diff);
    g_free(c->reboot_mode);
    g_free(c->reboot_diff);
    g_free(c->precheck);
    g_free(c->console_tail);
    g_free(c);
}

static void
grid_free(MmReportGrid *g)
{
    g_free(g->guest);
    g_free(g->mode);
    g_ptr_array_unref(g->cases);
    g_free(g);
}

void
mm_report_free(MmReport *r)
{
    if (!r)
        return;
    mm_run_record_free(r->run);
    mm_step_cursor_free(r->steps_cursor);
    g_clear_error(&r->steps_error);
    g_ptr_array_unref(r->hosts);
    if (r->host_rows) {
        for (guint i = 0; i < r->host_rows->len; i++) {
            MmHostRow *h = r->host_rows->pdata[i];
            if (h->facts)
                g_hash_table_unref(h->facts);
            g_free(h);
        }
        g_ptr_array_unref(r->host_rows);
    }
    g_hash_table_unref(r->by_id);
    g_ptr_array_unref(r->grids);
    g_ptr_array_unref(r->cases);
    g_free(r);
}

static bool
failed(const MmReportCase *c)
{
    return c->rec->outcome && strcmp(c->rec->outcome, "pass") != 0 && strcmp(c->rec->outcome, "na") != 0;
}

void
mm_report_flush(const MmReport *r, GString *out, bool all)
{
    if (!r->sink || (!all && out->len < (1 << 20)))
        return;
    fwrite(out->str, 1, out->len, r->sink);
    g_string_truncate(out, 0);
}

GPtrArray *
mm_report_steps(MmReport *r, const MmReportCase *c)
{
    GPtrArray *steps;

    if (!r->store)           /* a prediction: nothing ran */
        return NULL;
    /* A second format over the same report starts over from the first case. */
    if (r->steps_cursor && c->rec->id <= r->steps_last_row)
        g_clear_pointer(&r->steps_cursor, mm_step_cursor_free);
    if (!r->steps_cursor && !r->steps_error)
        r->steps_cursor = mm_store_step_cursor(r->store, r->run->id, &r->steps_error);
    r->steps_last_row = c->rec->id;
    if (!r->steps_cursor)
        return NULL;
    steps = mm_step_cursor_get(r->steps_cursor, c->rec->id);
    if (!r->steps_error && !mm_step_cursor_check(r->steps_cursor, &r->steps_error))
        return NULL;
    return steps;
}

bool
mm_report_check(const MmReport *r, GError **error)
{
    if (!r->steps_error)
        return true;
    g_set_error_literal(error, r->steps_error->domain, r->steps_error->code, r->steps_error->message);
    return false;
}

/* The cases RECS (taken) with their artifacts, features and migrations (by case row; any
 * may be NULL), in grids, with asymmetries and footnotes. */
static void
report_assemble(MmReport *r, GPtrArray *recs, GHashTable *all_arts, GHashTable *all_feats,
                GHashTable *all_migrations)
{
    GHashTable *grid_by_key;
    int footnote = 0;

    r->hosts = g_ptr_array_new_with_free_func(g_free);
    r->cases = g_ptr_array_new_with_free_func((GDestroyNotify)report_case_free);
    r->grids = g_ptr_array_new_with_free_func((GDestroyNotify)grid_free);
    r->by_id = g_hash_table_new(g_str_hash, g_str_equal);
    grid_by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    for (guint i = 0; i < recs->len; i++) {
        MmReportCase *c = g_new0(MmReportCase, 1);
        GPtrArray *arts;
        g_autofree char *key = NULL;
        MmReportGrid *g;
        MmOutcome o;

        c->rec = g_steal_pointer(&recs->pdata[i]);
        c->features = all_feats ? g_hash_table_lookup(all_feats, &c->rec->id) : NULL;
        c->features = c->features ? g_ptr_array_ref(c->features) : g_ptr_array_new_with_free_func(g_free);
        if (all_migrations && (c->migrations = g_hash_table_lookup(all_migrations, &c->rec->id)))
            g_ptr_array_ref(c->migrations);
        arts = all_arts ? g_hash_table_lookup(all_arts, &c->rec->id) : NULL;
        for (guint a = 0; arts && a < arts->len; a++) {
            MmArtifactRecord *art = arts->pdata[a];
            char **slot = strcmp(art->kind, "xml-diff") == 0            ? &c->xml_diff
                        : strcmp(art->kind, "xml-diff-reboot") == 0     ? &c->reboot_diff
                        : strcmp(art->kind, "mode-after-reboot") == 0   ? &c->reboot_mode
                        : strcmp(art->kind, "precheck") == 0            ? &c->precheck
                        : strcmp(art->kind, "console-tail") == 0        ? &c->console_tail
                                                                        : NULL;
            if (slot) {
                g_free(*slot);
                *slot = g_steal_pointer(&art->content);
            }
        }
        /* "No change" is one value everywhere: none. */
        if (c->xml_diff && strcmp(c->xml_diff, "(no changes)\n") == 0)
            g_clear_pointer(&c->xml_diff, g_free);
        if (c->reboot_diff && strcmp(c->reboot_diff, "(no changes)\n") == 0)
            g_clear_pointer(&c->reboot_diff, g_free);
        g_ptr_array_add(r->cases, c);
        g_hash_table_insert(r->by_id, c->rec->case_id, c);

        if (!g_ptr_array_find_with_equal_func(r->hosts, c->rec->src, g_str_equal, NULL))
            g_ptr_array_add(r->hosts, g_strdup(c->rec->src));
        if (!g_ptr_array_find_with_equal_func(r->hosts, c->rec->dst, g_str_equal, NULL))
            g_ptr_array_add(r->hosts, g_strdup(c->rec->dst));
        key = g_strdup_printf("%s/%s", c->rec->guest, c->rec->mode);
        if (!(g = g_hash_table_lookup(grid_by_key, key))) {
            g = g_new0(MmReportGrid, 1);
            g->guest = g_strdup(c->rec->guest);
            g->mode = g_strdup(c->rec->mode);
            g->cases = g_ptr_array_new();
            g_ptr_array_add(r->grids, g);
            g_hash_table_insert(grid_by_key, g_steal_pointer(&key), g);
        }
        g_ptr_array_add(g->cases, c);

        r->mispredicted += mm_case_mispredicted(c->rec);
        if (c->rec->outcome && mm_outcome_parse(c->rec->outcome, &o)) {
            r->counts[o]++;
            if (c->rec->unexpected)
                r->unexpected++;
            else
                r->expected++;
        } else {
            r->not_run++;
        }
    }
    g_hash_table_unref(grid_by_key);

    /* Asymmetry: A>B and B>A of one guest and mode, one passing, the other failing. */
    for (guint i = 0; i < r->cases->len; i++) {
        MmReportCase *c = r->cases->pdata[i];
        g_autofree char *rev = NULL;
        const char *rest = strchr(c->rec->case_id, '/');
        MmReportCase *back;

        if (!rest || !c->rec->outcome)
            continue;
        rev = g_strdup_printf("%s>%s%s", c->rec->dst, c->rec->src, rest);
        back = g_hash_table_lookup(r->by_id, rev);
        if (back && back->rec->outcome && strcmp(back->rec->outcome, "na") != 0 &&
            strcmp(c->rec->outcome, "na") != 0 && failed(c) != failed(back))
            c->asymmetric = true;
    }
    /* Footnotes for every cell with more to say than fits in it. */
    for (guint i = 0; i < r->cases->len; i++) {
        MmReportCase *c = r->cases->pdata[i];
        if (failed(c) || c->xml_diff || c->reboot_mode || c->features->len || mm_case_mispredicted(c->rec))
            c->footnote = ++footnote;
    }
}

MmReport *
mm_report_load(MmStore *store, gint64 run_id, GError **error)
{
    g_autoptr(MmReport) r = g_new0(MmReport, 1);
    g_autoptr(GPtrArray) recs = NULL;
    static const char *const kinds[] = {
        "xml-diff", "xml-diff-reboot", "mode-after-reboot", "precheck", "console-tail", NULL,
    };
    g_autoptr(GHashTable) all_arts = NULL, all_feats = NULL, all_migrations = NULL;

    if (!(r->run = mm_store_run_get(store, run_id, error)))
        return NULL;
    r->store = store;
    if (!(recs = mm_store_cases_list(store, run_id, error)) || !(all_arts = mm_store_run_artifacts(store, run_id, kinds, error)) ||
        !(all_feats = mm_store_run_features(store, run_id, error)) ||
        !(all_migrations = mm_store_run_migrations(store, run_id, error)))
        return NULL;
    report_assemble(r, recs, all_arts, all_feats, all_migrations);

    /* The run's host snapshot, in the matrix's host order. */
    r->host_rows = g_ptr_array_new();
    for (guint i = 0; i < r->hosts->len; i++) {
        MmHostRow *h = g_new0(MmHostRow, 1);

        h->name = r->hosts->pdata[i];
        g_ptr_array_add(r->host_rows, h);
        if (!(h->facts = mm_store_host_facts(store, run_id, h->name, error)))
            return NULL;
        h->virt_type = g_hash_table_lookup(h->facts, "virt_type");
        h->cpu_label = g_hash_table_lookup(h->facts, "cpu_label");
        h->error = g_hash_table_lookup(h->facts, "error");
    }
    return g_steal_pointer(&r);
}

MmReport *
mm_report_new_prediction(MmRunRecord *run, GPtrArray *recs, GHashTable *features, GHashTable *host_facts)
{
    MmReport *r = g_new0(MmReport, 1);

    r->run = run;
    r->prediction = true;
    report_assemble(r, recs, NULL, features, NULL);
    r->host_rows = g_ptr_array_new();
    for (guint i = 0; i < r->hosts->len; i++) {
        MmHostRow *h = g_new0(MmHostRow, 1);
        GHashTable *facts = g_hash_table_lookup(host_facts, r->hosts->pdata[i]);

        h->name = r->hosts->pdata[i];
        h->facts = facts ? g_hash_table_ref(facts) : g_hash_table_new(g_str_hash, g_str_equal);
        h->virt_type = g_hash_table_lookup(h->facts, "virt_type");
        if (!g_hash_table_lookup(h->facts, "arch"))
            h->error = "no dossier";
        g_ptr_array_add(r->host_rows, h);
    }
    return r;
}

MmReportCase *
mm_report_cell(const MmReportGrid *grid, const char *src, const char *dst)
{
    for (guint i = 0; i < grid->cases->len; i++) {
        MmReportCase *c = grid->cases->pdata[i];
        if (strcmp(c->rec->src, src) == 0 && strcmp(c->rec->dst, dst) == 0)
            return c;
    }
    return NULL;
}

const char *
mm_report_cell_class(const MmReportCase *c)
{
    if (!c->rec->outcome)
        return g_strcmp0(c->rec->state, "unknown") == 0 ? "unknown" : "notrun";
    if (strcmp(c->rec->outcome, "pass") == 0)
        return "pass";
    if (strcmp(c->rec->outcome, "na") == 0)
        return "na";
    if (strcmp(c->rec->outcome, "guest-hung") == 0)
        return "hang";
    return "fail";
}

char *
mm_report_features_of(const MmReportCase *c, const char *kind)
{
    g_autoptr(GString) out = g_string_new(NULL);
    gsize klen = strlen(kind);

    for (guint i = 0; i < c->features->len; i++) {
        const char *f = c->features->pdata[i];

        if (strncmp(f, kind, klen) == 0 && f[klen] == ':')
            g_string_append_printf(out, "%s%s", out->len ? ", " : "", f + klen + 1);
    }
    return out->len ? g_string_free(g_steal_pointer(&out), FALSE) : NULL;
}

static char *
cell_text(const MmReportCase *c);

/* A misprediction is a finding: the cell says what was foreseen. */
char *
mm_report_cell_text(const MmReportCase *c)
{
    g_autofree char *text = cell_text(c);

    if (!mm_case_mispredicted(c->rec))
        return g_steal_pointer(&text);
    return g_strdup_printf("%s ≠ predicted %s", text, c->rec->predicted);
}

static char *
cell_text(const MmReportCase *c)
{
    const char *cls = mm_report_cell_class(c);
    g_autofree char *lost = mm_report_features_of(c, "lost");

    if (strcmp(cls, "notrun") == 0)
        return g_strdup("not run");
    if (strcmp(cls, "unknown") == 0)
        return g_strdup_printf("unknown: %s", c->rec->reason ? c->rec->reason : "no verdict");
    if (strcmp(cls, "pass") == 0)
        return g_strdup("✓");
    if (strcmp(cls, "na") == 0)
        return g_strdup_printf("N/A: %s", c->rec->reason ? c->rec->reason : "not applicable");
    /* What the guest's own CPU lost is the finding itself, or the likely cause of the hang. */
    if (strcmp(cls, "hang") == 0)
        return lost ? g_strdup_printf("hang (CPU lost %s)", lost) : g_strdup("hang");
    if (lost && strcmp(c->rec->outcome, "cpu-changed") == 0)
        return g_strdup_printf("✗ cpu-changed: lost %s", lost);
    return g_strdup_printf("✗ %s%s%s", c->rec->outcome, c->rec->reason ? ": " : "", c->rec->reason ? c->rec->reason : "");
}

static void
append_ms(GString *out, const char *what, gint64 ms)
{
    if (ms < 0)
        return;
    if (ms >= 1000)
        g_string_append_printf(out, "%s%s%.2f s", out->len ? ", " : "", what, ms / 1000.0);
    else
        g_string_append_printf(out, "%s%s%" G_GINT64_FORMAT " ms", out->len ? ", " : "", what, ms);
}

char *
mm_report_timing(const MmReportCase *c)
{
    const MmMigrationRecord *m = c->migrations && c->migrations->len ? c->migrations->pdata[0] : NULL;
    g_autoptr(GString) out = g_string_new(NULL);

    if (!m)
        return NULL;
    append_ms(out, "", m->total_ms);
    append_ms(out, "downtime ", m->downtime_ms);
    return out->len ? g_string_free(g_steal_pointer(&out), FALSE) : NULL;
}

char *
mm_report_migrations_text(const MmReportCase *c)
{
    g_autoptr(GString) all = g_string_new(NULL);

    for (guint i = 0; c->migrations && i < c->migrations->len; i++) {
        const MmMigrationRecord *m = c->migrations->pdata[i];
        g_autoptr(GString) one = g_string_new(NULL);

        g_string_append(one, m->ok ? "ok" : "failed");
        append_ms(one, "", m->total_ms);
        append_ms(one, "downtime ", m->downtime_ms);
        if (m->data_processed >= 0)
            g_string_append_printf(one, ", %" G_GINT64_FORMAT " MiB", m->data_processed >> 20);
        if (m->memory_iterations >= 0)
            g_string_append_printf(one, ", %" G_GINT64_FORMAT " memory iteration%s", m->memory_iterations,
                                   m->memory_iterations == 1 ? "" : "s");
        if (m->postcopy)
            g_string_append_printf(one, ", post-copy after %" G_GINT64_FORMAT " ms", m->postcopy_after_ms);
        if (strcmp(m->stats, "none") == 0)
            g_string_append_printf(all, "%s%s: %s, no statistics (libvirt kept none: no data moved)",
                                   all->len ? "; " : "", m->leg, one->str);
        else
            g_string_append_printf(all, "%s%s: %s (%s statistics)", all->len ? "; " : "", m->leg, one->str, m->stats);
    }
    return all->len ? g_string_free(g_steal_pointer(&all), FALSE) : NULL;
}

bool
mm_report_load_history(MmReport *r, MmStore *store, guint n, GError **error)
{
    g_autoptr(GHashTable) h = mm_store_history(store, r->run->scenario_path, r->run->id, n, error);

    if (!h)
        return false;
    r->history = n;
    for (guint i = 0; i < r->cases->len; i++) {
        MmReportCase *c = r->cases->pdata[i];
        GPtrArray *list = g_hash_table_lookup(h, c->rec->case_id);
        const char *prev = NULL;

        for (guint k = 0; list && k < list->len; k++) {
            const char *o = list->pdata[k];

            if (!*o || strcmp(o, "na") == 0)
                continue;
            c->hist_runs++;
            c->hist_passes += strcmp(o, "pass") == 0;
            c->hist_flips += prev && strcmp(prev, o) != 0;
            prev = o;
        }
    }
    return true;
}

bool
mm_report_case_flaky(const MmReportCase *c)
{
    return c->hist_flips > 0;
}

bool
mm_report_case_known_flaky(const MmReportCase *c)
{
    return g_strcmp0(c->rec->expected, "flaky") == 0;
}

char *
mm_run_origin_text(const MmRunRecord *run)
{
    g_autoptr(GString) s = g_string_new(NULL);

    if (run->parent_id)
        g_string_append_printf(s, "rerun of run %" G_GINT64_FORMAT " (its %s cases)", run->parent_id,
                               run->rerun ? run->rerun : "failed");
    if (run->shard)
        g_string_append_printf(s, "%sshard %s of the matrix", s->len ? "; " : "", run->shard);
    if (run->merged_from) {
        guint n = 1;
        for (const char *p = run->merged_from; *p; p++)
            n += *p == '\n';
        g_string_append_printf(s, "%smerged from %u shard DBs", s->len ? "; " : "", n);
    }
    if (run->resumed)
        g_string_append_printf(s, "%sresumed %" G_GINT64_FORMAT " time%s after its runner stopped",
                               s->len ? "; " : "", run->resumed, run->resumed == 1 ? "" : "s");
    return s->len ? g_string_free(g_steal_pointer(&s), FALSE) : NULL;
}
