/* rundiff.c: compare two runs case by case, and their hosts fact by fact. */
#include "migmatrix/rundiff.h"

#include <string.h>

#include "migmatrix/hosttable.h"
#include "migmatrix/json.h"
#include "migmatrix/report.h"

static const char *const label_names[] = {
    [MM_DIFF_SAME_PASS] = "pass", [MM_DIFF_NEW_FAIL] = "new-fail", [MM_DIFF_FIXED] = "fixed",
    [MM_DIFF_STILL_SAME] = "still-failing", [MM_DIFF_STILL_CHANGED] = "still-failing",
    [MM_DIFF_NEW_CASE] = "new-case", [MM_DIFF_GONE] = "gone", [MM_DIFF_NOT_RUN] = "not-run",
};

/* The facts whose change explains results: versions, microcode, CPU, host-model expansion. */
static const char *const drift_facts[] = {
    "libvirt_version", "qemu_version", "kernel_version", "microcode", "cpu_model", "cpuinfo_model",
    "kvm.host_model_cpu", "kvm.host_model_require", "kvm.host_model_disable",
    "qemu.host_model_cpu", "qemu.host_model_require", "qemu.host_model_disable", NULL,
};

const char *
mm_diff_label_name(MmDiffLabel l)
{
    return label_names[l];
}

void
mm_run_diff_free(MmRunDiff *d)
{
    if (!d)
        return;
    for (guint i = 0; i < d->cases->len; i++) {
        MmCaseDiff *c = d->cases->pdata[i];
        g_free(c->case_id);
        g_free(c->a);
        g_free(c->b);
        g_free(c);
    }
    g_ptr_array_unref(d->cases);
    for (guint i = 0; d->mispredictions && i < d->mispredictions->len; i++) {
        MmMisprediction *m = d->mispredictions->pdata[i];
        g_free(m->case_id);
        g_free(m->predicted);
        g_free(m->got);
        g_free(m);
    }
    if (d->mispredictions)
        g_ptr_array_unref(d->mispredictions);
    for (guint i = 0; i < d->drift->len; i++) {
        MmHostDrift *h = d->drift->pdata[i];
        g_free(h->host);
        g_free(h->fact);
        g_free(h->a);
        g_free(h->b);
        g_free(h);
    }
    g_ptr_array_unref(d->drift);
    mm_run_record_free(d->a);
    mm_run_record_free(d->b);
    g_free(d);
}

/* Not run, or N/A, is neither a pass nor a failure. */
static bool
is_fail(const MmCaseRecord *r)
{
    return r->outcome && strcmp(r->outcome, "pass") != 0 && strcmp(r->outcome, "na") != 0;
}

static char *
describe(const MmCaseRecord *r)
{
    if (!r->outcome)
        return g_strdup("not run");
    return g_strdup_printf("%s%s%s", r->outcome, r->reason ? ": " : "", r->reason ? r->reason : "");
}

static void
add(MmRunDiff *d, const char *id, MmDiffLabel l, const MmCaseRecord *a, const MmCaseRecord *b)
{
    MmCaseDiff *c = g_new0(MmCaseDiff, 1);

    c->case_id = g_strdup(id);
    c->label = l;
    c->a = a ? describe(a) : NULL;
    c->b = b ? describe(b) : NULL;
    c->b_unexpected = b && b->unexpected;
    d->counts[l]++;
    g_ptr_array_add(d->cases, c);
}

MmRunDiff *
mm_run_diff(MmStore *store, gint64 a, gint64 b, GError **error)
{
    g_autoptr(GPtrArray) ca = mm_store_cases_list(store, a, error);
    g_autoptr(GPtrArray) cb = ca ? mm_store_cases_list(store, b, error) : NULL;
    g_autoptr(GHashTable) by_id = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) hosts_a = NULL;
    g_autoptr(MmRunRecord) ra_rec = NULL;
    g_autoptr(MmRunRecord) rb_rec = NULL;
    MmRunDiff *d;

    if (!cb || !(ra_rec = mm_store_run_get(store, a, error)) || !(rb_rec = mm_store_run_get(store, b, error)))
        return NULL;
    d = g_new0(MmRunDiff, 1);
    d->run_a = a;
    d->run_b = b;
    d->a = g_steal_pointer(&ra_rec);
    d->b = g_steal_pointer(&rb_rec);
    d->cases = g_ptr_array_new();
    d->drift = g_ptr_array_new();
    d->mispredictions = g_ptr_array_new();
    for (guint i = 0; i < ca->len; i++)
        d->not_run_a += ((MmCaseRecord *)ca->pdata[i])->outcome == NULL;
    for (guint i = 0; i < ca->len; i++)
        g_hash_table_insert(by_id, ((MmCaseRecord *)ca->pdata[i])->case_id, ca->pdata[i]);
    for (guint i = 0; i < cb->len; i++) {
        const MmCaseRecord *rb = cb->pdata[i];
        const MmCaseRecord *ra = g_hash_table_lookup(by_id, rb->case_id);

        d->unexpected_b += rb->unexpected;
        g_hash_table_add(seen, rb->case_id);
        if (mm_case_mispredicted(rb) && !(ra && mm_case_mispredicted(ra))) {
            MmMisprediction *m = g_new0(MmMisprediction, 1);

            m->case_id = g_strdup(rb->case_id);
            m->predicted = g_strdup_printf("%s (%s)", rb->predicted, rb->predicted_rule ? rb->predicted_rule : "?");
            m->got = g_strdup_printf("%s%s%s", rb->outcome, rb->reason ? ": " : "", rb->reason ? rb->reason : "");
            g_ptr_array_add(d->mispredictions, m);
        }
        /* Without an outcome a case is neither a pass nor a failure: never "same pass". */
        if (!rb->outcome)
            add(d, rb->case_id, MM_DIFF_NOT_RUN, ra, rb);
        else if (!ra)
            add(d, rb->case_id, MM_DIFF_NEW_CASE, NULL, rb);
        else if (!is_fail(ra) && is_fail(rb))
            add(d, rb->case_id, ra->outcome ? MM_DIFF_NEW_FAIL : MM_DIFF_NEW_CASE, ra, rb);
        else if (is_fail(ra) && rb->outcome && !is_fail(rb))
            add(d, rb->case_id, MM_DIFF_FIXED, ra, rb);
        else if (is_fail(ra) && is_fail(rb))
            add(d, rb->case_id,
                strcmp(ra->outcome, rb->outcome) == 0 && g_strcmp0(ra->reason, rb->reason) == 0 ? MM_DIFF_STILL_SAME
                                                                                                : MM_DIFF_STILL_CHANGED,
                ra, rb);
        else
            d->counts[MM_DIFF_SAME_PASS]++;
    }
    for (guint i = 0; i < ca->len; i++) {
        const MmCaseRecord *ra = ca->pdata[i];
        if (!g_hash_table_contains(seen, ra->case_id))
            add(d, ra->case_id, MM_DIFF_GONE, ra, NULL);
    }

    d->incomplete = d->not_run_a || d->counts[MM_DIFF_NOT_RUN] || strcmp(d->a->status, "done") != 0 ||
                    strcmp(d->b->status, "done") != 0;
    d->scenario_changed = d->a->scenario_hash && d->b->scenario_hash &&
                          strcmp(d->a->scenario_hash, d->b->scenario_hash) != 0;
    if (!(hosts_a = mm_store_hosts_list(store, a, error))) {
        mm_run_diff_free(d);
        return NULL;
    }
    for (guint h = 0; h < hosts_a->len; h++) {
        const char *host = hosts_a->pdata[h];
        g_autoptr(GHashTable) fa = mm_store_host_facts(store, a, host, error);
        g_autoptr(GHashTable) fb = fa ? mm_store_host_facts(store, b, host, error) : NULL;

        if (!fb) {
            mm_run_diff_free(d);
            return NULL;
        }
        if (g_hash_table_size(fb) == 0)
            continue;
        for (int k = 0; drift_facts[k]; k++) {
            const char *va = g_hash_table_lookup(fa, drift_facts[k]);
            const char *vb = g_hash_table_lookup(fb, drift_facts[k]);
            MmHostDrift *x;

            if (g_strcmp0(va, vb) == 0)
                continue;
            x = g_new0(MmHostDrift, 1);
            x->host = g_strdup(host);
            x->fact = g_strdup(drift_facts[k]);
            x->a = g_strdup(va);
            x->b = g_strdup(vb);
            g_ptr_array_add(d->drift, x);
        }
    }
    return d;
}

char *
mm_run_diff_incomplete_text(const MmRunDiff *d)
{
    g_autoptr(GString) out = g_string_new(NULL);
    const MmRunRecord *runs[] = { d->a, d->b };
    guint not_run[] = { d->not_run_a, d->counts[MM_DIFF_NOT_RUN] };

    if (!d->incomplete)
        return NULL;
    for (int i = 0; i < 2; i++) {
        if (strcmp(runs[i]->status, "done") == 0 && !not_run[i])
            continue;
        g_string_append_printf(out, "%srun %" G_GINT64_FORMAT " is %s", out->len ? "; " : "", runs[i]->id,
                               runs[i]->status);
        if (not_run[i])
            g_string_append_printf(out, ", %u of its %" G_GINT64_FORMAT " cases have no outcome%s", not_run[i],
                                   runs[i]->n_cases, i ? " (listed as not-run)" : "");
    }
    g_string_append(out, ": the comparison is incomplete, and the gate does not pass it");
    return g_string_free(g_steal_pointer(&out), FALSE);
}

char *
mm_run_diff_scenario_text(const MmRunDiff *d)
{
    if (!d->scenario_changed)
        return NULL;
    return g_strdup_printf("the scenario changed between the runs (%s sha256 %.12s, then %s sha256 %.12s): a case ID "
                           "may stand for another CPU, guest or host definition in run %" G_GINT64_FORMAT,
                           d->a->scenario_path ? d->a->scenario_path : "-", d->a->scenario_hash,
                           d->b->scenario_path ? d->b->scenario_path : "-", d->b->scenario_hash, d->run_b);
}

void
mm_run_diff_text(const MmRunDiff *d, bool md, GString *out)
{
    g_autofree char *incomplete = mm_run_diff_incomplete_text(d);
    g_autofree char *changed = mm_run_diff_scenario_text(d);

    g_string_append_printf(out, "%sruns %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT ": %u new-fail, %u fixed, %u "
                                "still-failing (%u reason changed), %u new-case, %u gone; %u unexpected in run %"
                                G_GINT64_FORMAT "\n\n",
                           md ? "## " : "", d->run_a, d->run_b, d->counts[MM_DIFF_NEW_FAIL], d->counts[MM_DIFF_FIXED],
                           d->counts[MM_DIFF_STILL_SAME] + d->counts[MM_DIFF_STILL_CHANGED],
                           d->counts[MM_DIFF_STILL_CHANGED], d->counts[MM_DIFF_NEW_CASE], d->counts[MM_DIFF_GONE],
                           d->unexpected_b, d->run_b);
    for (int i = 0; i < 2; i++) {
        const MmRunRecord *run = i ? d->b : d->a;
        g_autofree char *origin = mm_run_origin_text(run);

        if (origin)
            g_string_append_printf(out, "run %" G_GINT64_FORMAT ": %s\n\n", run->id, origin);
    }
    if (incomplete)
        g_string_append_printf(out, "%sINCOMPLETE: %s%s\n\n", md ? "**" : "", incomplete, md ? "**" : "");
    if (changed)
        g_string_append_printf(out, "%s\n\n", changed);
    if (md && d->cases->len)
        g_string_append(out, "| case | label | before | after |\n|---|---|---|---|\n");
    for (guint i = 0; i < d->cases->len; i++) {
        const MmCaseDiff *c = d->cases->pdata[i];
        const char *extra = c->label == MM_DIFF_STILL_SAME ? " (same reason)"
                          : c->label == MM_DIFF_STILL_CHANGED ? " (reason changed)" : "";
        if (md) {
            g_string_append(out, "| ");
            mm_markdown_cell(out, c->case_id);
            g_string_append_printf(out, " | %s%s | ", mm_diff_label_name(c->label), extra);
            mm_markdown_cell(out, c->a ? c->a : "-");
            g_string_append(out, " | ");
            mm_markdown_cell(out, c->b ? c->b : "-");
            g_string_append(out, " |\n");
        }
        else
            g_string_append_printf(out, "%-14s %s%s\n    before: %s\n    after:  %s%s\n", mm_diff_label_name(c->label),
                                   c->case_id, extra, c->a ? c->a : "-", c->b ? c->b : "-",
                                   c->b_unexpected ? " (unexpected)" : "");
    }
    if (d->mispredictions->len) {
        g_string_append_printf(out, md ? "\n### New mispredictions (%u)\n\nEach is a finding: the prediction rules "
                                         "or libvirt are wrong.\n\n| case | predicted (rule) | got |\n|---|---|---|\n"
                                       : "\nnew mispredictions (%u): the prediction rules or libvirt are wrong\n",
                               d->mispredictions->len);
        for (guint i = 0; i < d->mispredictions->len; i++) {
            const MmMisprediction *m = d->mispredictions->pdata[i];

            if (md) {
                g_string_append(out, "| ");
                mm_markdown_cell(out, m->case_id);
                g_string_append(out, " | ");
                mm_markdown_cell(out, m->predicted);
                g_string_append(out, " | ");
                mm_markdown_cell(out, m->got);
                g_string_append(out, " |\n");
            } else {
                g_string_append_printf(out, "  %s\n    predicted: %s\n    got:       %s\n", m->case_id, m->predicted,
                                       m->got);
            }
        }
    }
    if (d->drift->len) {
        g_string_append(out, md ? "\n### Host drift\n\n| host | fact | before | after |\n|---|---|---|---|\n"
                                : "\nhost drift:\n");
        for (guint i = 0; i < d->drift->len; i++) {
            const MmHostDrift *h = d->drift->pdata[i];
            if (md)
                g_string_append_printf(out, "| %s | %s | %s | %s |\n", h->host, h->fact, h->a ? h->a : "-",
                                       h->b ? h->b : "-");
            else
                g_string_append_printf(out, "  %s %s: %s -> %s\n", h->host, h->fact, h->a ? h->a : "-",
                                       h->b ? h->b : "-");
        }
    }
}

void
mm_run_diff_json(const MmRunDiff *d, GString *out)
{
    MmJson j;

    mm_json_init(&j, out, true);
    mm_json_begin_object(&j);
    mm_json_kv_int(&j, "run_a", d->run_a);
    mm_json_kv_int(&j, "run_b", d->run_b);
    mm_json_kv_int(&j, "unexpected_b", d->unexpected_b);
    mm_json_kv_bool(&j, "incomplete", d->incomplete);
    mm_json_kv_bool(&j, "scenario_changed", d->scenario_changed);
    mm_json_kv_string(&j, "scenario_sha256_a", d->a->scenario_hash);
    mm_json_kv_string(&j, "scenario_sha256_b", d->b->scenario_hash);
    {
        g_autofree char *why = mm_run_diff_incomplete_text(d);
        mm_json_kv_string(&j, "incomplete_reason", why);
    }
    mm_json_key(&j, "cases");
    mm_json_begin_array(&j);
    for (guint i = 0; i < d->cases->len; i++) {
        const MmCaseDiff *c = d->cases->pdata[i];

        mm_json_begin_object(&j);
        mm_json_kv_string(&j, "id", c->case_id);
        mm_json_kv_string(&j, "label", mm_diff_label_name(c->label));
        if (c->label == MM_DIFF_STILL_SAME || c->label == MM_DIFF_STILL_CHANGED)
            mm_json_kv_bool(&j, "reason_changed", c->label == MM_DIFF_STILL_CHANGED);
        mm_json_kv_string(&j, "before", c->a);
        mm_json_kv_string(&j, "after", c->b);
        mm_json_end_object(&j);
    }
    mm_json_end_array(&j);
    mm_json_key(&j, "new_mispredictions");
    mm_json_begin_array(&j);
    for (guint i = 0; i < d->mispredictions->len; i++) {
        const MmMisprediction *m = d->mispredictions->pdata[i];

        mm_json_begin_object(&j);
        mm_json_kv_string(&j, "id", m->case_id);
        mm_json_kv_string(&j, "predicted", m->predicted);
        mm_json_kv_string(&j, "got", m->got);
        mm_json_end_object(&j);
    }
    mm_json_end_array(&j);
    mm_json_key(&j, "host_drift");
    mm_json_begin_array(&j);
    for (guint i = 0; i < d->drift->len; i++) {
        const MmHostDrift *h = d->drift->pdata[i];

        mm_json_begin_object(&j);
        mm_json_kv_string(&j, "host", h->host);
        mm_json_kv_string(&j, "fact", h->fact);
        mm_json_kv_string(&j, "before", h->a);
        mm_json_kv_string(&j, "after", h->b);
        mm_json_end_object(&j);
    }
    mm_json_end_array(&j);
    mm_json_end_object(&j);
    g_string_append_c(out, '\n');
    mm_json_clear(&j);
}
