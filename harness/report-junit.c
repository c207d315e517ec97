/* report-junit.c: JUnit XML for Jenkins, written with libxml2's xmlTextWriter.
 *
 * One <testcase> per case ID, classname GUEST/MODE. A case fails (<failure>) when its outcome
 * is not what [expect] says: that is the gate. infra-error is an <error> (the lab, not the
 * migration). An expected failure passes, with the outcome in <system-out>; N/A and not-run
 * cases are <skipped> with the reason. */
#include <libxml/xmlwriter.h>
#include <string.h>

#include "migmatrix/report.h"
#include "migmatrix/util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlTextWriter, xmlFreeTextWriter)

#define W(call)                                                                                            \
    do {                                                                                                   \
        if ((call) < 0)                                                                                    \
            goto fail;                                                                                     \
    } while (0)

static char *
fmt_seconds(gint64 ms)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    return g_strdup(g_ascii_formatd(buf, sizeof(buf), "%.3f", ms >= 0 ? ms / 1000.0 : 0));
}

typedef enum { JUNIT_PASSED, JUNIT_FAILURE, JUNIT_ERROR, JUNIT_SKIPPED } JunitKind;

/* How CI tools must see a case: a broken lab (infra-error) is an <error>, whatever [expect]
 * said, so Jenkins and GitLab tell it from a broken migration (an unexpected outcome: a
 * <failure>); N/A and not-run are <skipped>; an expected failure passes. */
static JunitKind
junit_kind(const MmReportCase *c)
{
    const char *cls = mm_report_cell_class(c);

    if (c->rec->outcome && strcmp(c->rec->outcome, "infra-error") == 0)
        return JUNIT_ERROR;
    if (strcmp(cls, "na") == 0 || strcmp(cls, "notrun") == 0)
        return JUNIT_SKIPPED;
    if (c->rec->unexpected)
        return JUNIT_FAILURE;
    return JUNIT_PASSED;
}

bool
mm_report_junit(const MmReport *r, GString *out, GError **error)
{
    xmlBufferPtr buf = xmlBufferCreate();
    g_autoptr(xmlTextWriter) w = xmlNewTextWriterMemory(buf, 0);
    guint failures = 0, errors = 0, skipped = 0;
    gint64 total_ms = 0;
    g_autofree char *name = g_strdup_printf("migmatrix.%s", r->run->name ? r->run->name : "run");
    g_autofree char *tests = g_strdup_printf("%u", r->cases->len);
    g_autofree char *nfail = NULL, *nerr = NULL, *nskip = NULL, *time = NULL;

    for (guint i = 0; i < r->cases->len; i++) {
        const MmReportCase *c = r->cases->pdata[i];

        switch (junit_kind(c)) {
        case JUNIT_ERROR: errors++; break;
        case JUNIT_FAILURE: failures++; break;
        case JUNIT_SKIPPED: skipped++; break;
        default: break;
        }
        total_ms += MAX(c->rec->duration_ms, 0);
    }
    nfail = g_strdup_printf("%u", failures);
    nerr = g_strdup_printf("%u", errors);
    nskip = g_strdup_printf("%u", skipped);
    time = fmt_seconds(total_ms);

    xmlTextWriterSetIndent(w, 1);
    W(xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL));
    W(xmlTextWriterStartElement(w, BAD_CAST "testsuites"));
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST name));
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "tests", BAD_CAST tests));
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "failures", BAD_CAST nfail));
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "errors", BAD_CAST nerr));
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "time", BAD_CAST time));
    W(xmlTextWriterStartElement(w, BAD_CAST "testsuite"));
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST name));
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "tests", BAD_CAST tests));
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "failures", BAD_CAST nfail));
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "errors", BAD_CAST nerr));
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "skipped", BAD_CAST nskip));
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "time", BAD_CAST time));
    if (r->run->started_at)
        W(xmlTextWriterWriteAttribute(w, BAD_CAST "timestamp", BAD_CAST r->run->started_at));

    for (guint i = 0; i < r->cases->len; i++) {
        const MmReportCase *c = r->cases->pdata[i];
        const char *cls = mm_report_cell_class(c);
        g_autofree char *classname = g_strdup_printf("%s/%s", c->rec->guest, c->rec->mode);
        g_autofree char *t = fmt_seconds(c->rec->duration_ms);
        g_autofree char *msg = g_strdup_printf("%s%s%s (expected %s)", c->rec->outcome ? c->rec->outcome : "not run",
                                               c->rec->reason ? ": " : "", c->rec->reason ? c->rec->reason : "",
                                               c->rec->expected ? c->rec->expected : "pass");

        W(xmlTextWriterStartElement(w, BAD_CAST "testcase"));
        W(xmlTextWriterWriteAttribute(w, BAD_CAST "classname", BAD_CAST classname));
        W(xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST c->rec->case_id));
        W(xmlTextWriterWriteAttribute(w, BAD_CAST "time", BAD_CAST t));
        switch (junit_kind(c)) {
        case JUNIT_ERROR:
        case JUNIT_FAILURE:
            W(xmlTextWriterStartElement(w, BAD_CAST(junit_kind(c) == JUNIT_ERROR ? "error" : "failure")));
            W(xmlTextWriterWriteAttribute(w, BAD_CAST "message", BAD_CAST msg));
            W(xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST(c->rec->outcome ? c->rec->outcome : "not-run")));
            W(xmlTextWriterWriteString(w, BAD_CAST(c->rec->error_text ? c->rec->error_text : msg)));
            W(xmlTextWriterEndElement(w));
            break;
        case JUNIT_SKIPPED: {
            /* N/A says why in its reason; not run says so. */
            g_autofree char *why = strcmp(cls, "na") == 0
                                       ? g_strdup_printf("not applicable: %s", c->rec->reason ? c->rec->reason : "")
                                       : g_strdup("not run: the run ended before this case");

            W(xmlTextWriterStartElement(w, BAD_CAST "skipped"));
            W(xmlTextWriterWriteAttribute(w, BAD_CAST "message", BAD_CAST why));
            W(xmlTextWriterEndElement(w));
            break;
        }
        default:
            break;
        }
        if (junit_kind(c) == JUNIT_PASSED && strcmp(cls, "pass") != 0)
            W(xmlTextWriterWriteElement(w, BAD_CAST "system-out", BAD_CAST msg));
        W(xmlTextWriterEndElement(w));
    }
    W(xmlTextWriterEndDocument(w));
    g_clear_pointer(&w, xmlFreeTextWriter);
    g_string_append(out, (const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    return true;

fail:
    g_clear_pointer(&w, xmlFreeTextWriter);
    xmlBufferFree(buf);
    g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "cannot write JUnit XML");
    return false;
}
