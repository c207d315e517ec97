/* report-csv.c: one row per case (RFC 4180). */
#include <string.h>

#include "migmatrix/report.h"

static void
field(GString *out, const char *s, bool last)
{
    if (s && strpbrk(s, ",\"\r\n")) {
        g_string_append_c(out, '"');
        for (; *s; s++) {
            if (*s == '"')
                g_string_append_c(out, '"');
            g_string_append_c(out, *s);
        }
        g_string_append_c(out, '"');
    } else if (s) {
        g_string_append(out, s);
    }
    g_string_append(out, last ? "\r\n" : ",");
}

void
mm_report_csv(const MmReport *r, GString *out)
{
    g_string_append(out, "run,case_id,src,dst,guest,mode,repeat,outcome,reason,expected,expected_reason,unexpected,"
                         "duration_ms,features,precheck,mode_after_reboot,error,migrate_total_ms,migrate_downtime_ms,predicted,"
                         "predicted_rule,mispredicted\r\n");
    for (guint i = 0; i < r->cases->len; i++) {
        const MmReportCase *c = r->cases->pdata[i];
        g_autofree char *run = g_strdup_printf("%" G_GINT64_FORMAT, r->run->id);
        g_autofree char *rep = g_strdup_printf("%u", c->rec->repeat);
        g_autofree char *dur = c->rec->duration_ms >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, c->rec->duration_ms)
                                                        : NULL;
        g_autofree char *features = NULL;

        g_ptr_array_add(c->features, NULL);
        features = g_strjoinv(";", (char **)c->features->pdata);
        g_ptr_array_remove_index(c->features, c->features->len - 1);
        field(out, run, false);
        field(out, c->rec->case_id, false);
        field(out, c->rec->src, false);
        field(out, c->rec->dst, false);
        field(out, c->rec->guest, false);
        field(out, c->rec->mode, false);
        field(out, rep, false);
        field(out, c->rec->outcome ? c->rec->outcome : "not-run", false);
        field(out, c->rec->reason, false);
        field(out, c->rec->expected, false);
        field(out, c->rec->expected_reason, false);
        field(out, c->rec->unexpected ? "1" : "0", false);
        field(out, dur, false);
        field(out, features, false);
        field(out, c->precheck, false);
        field(out, c->reboot_mode, false);
        field(out, c->rec->error_text, false);
        {
            const MmMigrationRecord *m = c->migrations && c->migrations->len ? c->migrations->pdata[0] : NULL;
            g_autofree char *total = m && m->total_ms >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, m->total_ms) : NULL;
            g_autofree char *down = m && m->downtime_ms >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, m->downtime_ms)
                                                             : NULL;

            field(out, total, false);
            field(out, down, false);
        }
        field(out, c->rec->predicted, false);
        field(out, c->rec->predicted_rule, false);
        field(out, mm_case_mispredicted(c->rec) ? "1" : "0", true);
        mm_report_flush(r, out, false);
    }
}
