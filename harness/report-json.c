/* report-json.c: the report as JSON (docs/report-json.md). */
#include "migmatrix/json.h"
#include "migmatrix/report.h"
#include "migmatrix/xmldiff.h"

void
mm_report_json(MmReport *r, GString *out)
{
    MmJson j;

    /* Compact, one case per line: greppable and diffable per case, a third of the size of
     * indented output at scale, and `jq .` pretty-prints it for people. */
    mm_json_init(&j, out, false);
    mm_json_begin_object(&j);
    mm_json_kv_int(&j, "format_version", 1);
    mm_json_key(&j, "run");
    mm_json_begin_object(&j);
    mm_json_kv_int(&j, "id", r->run->id);
    mm_json_kv_string(&j, "name", r->run->name);
    mm_json_kv_string(&j, "scenario", r->run->scenario_path);
    mm_json_kv_string(&j, "scenario_sha256", r->run->scenario_hash);
    mm_json_kv_string(&j, "started_at", r->run->started_at);
    mm_json_kv_string(&j, "ended_at", r->run->ended_at);
    mm_json_kv_string(&j, "status", r->run->status);
    mm_json_kv_string(&j, "filter", r->run->filter);
    if (r->run->parent_id)
        mm_json_kv_int(&j, "rerun_of", r->run->parent_id);
    mm_json_kv_string(&j, "rerun", r->run->rerun);
    mm_json_kv_string(&j, "shard", r->run->shard);
    mm_json_kv_string(&j, "merged_from", r->run->merged_from);
    mm_json_kv_int(&j, "resumed", r->run->resumed);
    mm_json_kv_string(&j, "harness_version", r->run->harness_version);
    /* predict: no run happened; each case's "error" names the rule that predicted it. */
    if (r->prediction)
        mm_json_kv_bool(&j, "prediction", true);
    mm_json_end_object(&j);

    g_string_append_c(out, '\n');
    mm_json_key(&j, "summary");
    mm_json_begin_object(&j);
    mm_json_kv_int(&j, "cases", r->cases->len);
    mm_json_kv_int(&j, "expected", r->expected);
    mm_json_kv_int(&j, "unexpected", r->unexpected);
    mm_json_kv_int(&j, "mispredicted", r->mispredicted);
    mm_json_kv_int(&j, "not_run", r->not_run);
    mm_json_key(&j, "outcomes");
    mm_json_begin_object(&j);
    for (int o = 0; o < MM_OUTCOME_LAST; o++)
        if (r->counts[o])
            mm_json_kv_int(&j, mm_outcome_name(o), r->counts[o]);
    mm_json_end_object(&j);
    mm_json_end_object(&j);

    g_string_append_c(out, '\n');
    mm_json_key(&j, "hosts");
    mm_host_table_json(r->host_rows, &j);
    g_string_append_c(out, '\n');

    mm_json_key(&j, "cases");
    mm_json_begin_array(&j);
    for (guint i = 0; i < r->cases->len; i++) {
        const MmReportCase *c = r->cases->pdata[i];

        g_string_append_c(out, '\n');
        mm_json_begin_object(&j);
        mm_json_kv_string(&j, "id", c->rec->case_id);
        mm_json_kv_string(&j, "src", c->rec->src);
        mm_json_kv_string(&j, "dst", c->rec->dst);
        mm_json_kv_string(&j, "guest", c->rec->guest);
        mm_json_kv_string(&j, "mode", c->rec->mode);
        mm_json_kv_int(&j, "repeat", c->rec->repeat);
        mm_json_kv_string(&j, "state", c->rec->state);
        mm_json_kv_string(&j, "outcome", c->rec->outcome);
        mm_json_kv_string(&j, "reason", c->rec->reason);
        mm_json_kv_string(&j, "expected", c->rec->expected);
        mm_json_kv_string(&j, "expected_reason", c->rec->expected_reason);
        mm_json_kv_bool(&j, "unexpected", c->rec->unexpected);
        mm_json_kv_string(&j, "predicted", c->rec->predicted);
        mm_json_kv_string(&j, "predicted_rule", c->rec->predicted_rule);
        mm_json_kv_string(&j, "predicted_reason", c->rec->predicted_reason);
        mm_json_kv_bool(&j, "mispredicted", mm_case_mispredicted(c->rec));
        mm_json_kv_bool(&j, "asymmetric", c->asymmetric);
        mm_json_kv_bool(&j, "known_flaky", mm_report_case_known_flaky(c));
        if (r->history) {
            mm_json_key(&j, "history");
            mm_json_begin_object(&j);
            mm_json_kv_int(&j, "runs", c->hist_runs);
            mm_json_kv_int(&j, "passes", c->hist_passes);
            mm_json_kv_int(&j, "flips", c->hist_flips);
            mm_json_kv_bool(&j, "flaky", mm_report_case_flaky(c));
            mm_json_end_object(&j);
        }
        mm_json_key(&j, "duration_ms");
        if (c->rec->duration_ms >= 0)
            mm_json_int(&j, c->rec->duration_ms);
        else
            mm_json_null(&j);
        mm_json_kv_string(&j, "error", c->rec->error_text);
        mm_json_key(&j, "features");
        mm_json_begin_array(&j);
        for (guint f = 0; f < c->features->len; f++)
            mm_json_string(&j, c->features->pdata[f]);
        mm_json_end_array(&j);
        mm_json_key(&j, "migrations");
        mm_json_begin_array(&j);
        for (guint m = 0; c->migrations && m < c->migrations->len; m++) {
            const MmMigrationRecord *mr = c->migrations->pdata[m];
            const struct { const char *key; gint64 v; } nums[] = {
                { "total_ms", mr->total_ms }, { "downtime_ms", mr->downtime_ms }, { "data_total", mr->data_total },
                { "data_processed", mr->data_processed }, { "data_remaining", mr->data_remaining },
                { "memory_iterations", mr->memory_iterations }, { "dirty_rate", mr->dirty_rate },
                { "postcopy_after_ms", mr->postcopy_after_ms },
            };

            mm_json_begin_object(&j);
            mm_json_kv_string(&j, "leg", mr->leg);
            mm_json_kv_bool(&j, "ok", mr->ok);
            mm_json_kv_string(&j, "stats", mr->stats);
            for (gsize n = 0; n < G_N_ELEMENTS(nums); n++) {
                mm_json_key(&j, nums[n].key);
                if (nums[n].v >= 0)
                    mm_json_int(&j, nums[n].v);
                else
                    mm_json_null(&j);
            }
            mm_json_kv_bool(&j, "postcopy", mr->postcopy);
            mm_json_end_object(&j);
        }
        mm_json_end_array(&j);
        mm_json_kv_string(&j, "precheck", c->precheck);
        mm_json_kv_string(&j, "xml_diff", c->xml_diff);
        mm_json_kv_string(&j, "mode_after_reboot", c->reboot_mode);
        mm_json_kv_string(&j, "reboot_xml_diff", c->reboot_diff);
        {
            g_autofree char *summary = c->reboot_diff ? mm_xmldiff_summary(c->reboot_diff) : NULL;
            mm_json_kv_string(&j, "reboot_xml_summary", summary);
        }
        mm_json_key(&j, "steps");
        mm_json_begin_array(&j);
        GPtrArray *steps = mm_report_steps(r, c);
        for (guint s = 0; steps && s < steps->len; s++) {
            const MmStepRecord *st = steps->pdata[s];

            mm_json_begin_object(&j);
            mm_json_kv_string(&j, "phase", st->phase);
            mm_json_kv_string(&j, "started_at", st->started_at);
            mm_json_kv_int(&j, "duration_ms", st->duration_ms);
            mm_json_kv_bool(&j, "ok", st->ok);
            mm_json_kv_string(&j, "message", st->message);
            mm_json_end_object(&j);
        }
        mm_json_end_array(&j);
        mm_json_end_object(&j);
        mm_report_flush(r, out, false);
    }
    mm_json_end_array(&j);
    mm_json_end_object(&j);
    g_string_append_c(out, '\n');
    mm_json_clear(&j);
}
