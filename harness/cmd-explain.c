/* cmd-explain.c: `migmatrix explain [--phase PHASE] [--format text|json] TEXT|-`: the classifier
 * with a command in front, for triage by hand and for scripts. No store, no host.
 *
 * TEXT is an error message as libvirt printed it (its prefix gives away libvirt's error code), or
 * with "-" whatever stdin holds: a message, or a domain's QEMU log. Exit 0 when it was
 * classified, 1 when the reason is "other". */
#include <stdio.h>
#include <string.h>

#include "migmatrix/classify.h"
#include "migmatrix/cli.h"
#include "migmatrix/json.h"

static const struct {
    const char *phase;
    MmOutcome outcome;
} phases[] = {
    { "start", MM_OUTCOME_START_FAILED },   { "precheck", MM_OUTCOME_PRECHECK_INCOMPATIBLE },
    { "migrate", MM_OUTCOME_MIGRATE_FAILED }, { "reboot", MM_OUTCOME_REBOOT_FAILED },
    { "migrate-back", MM_OUTCOME_BACK_FAILED },
};

static char *
read_stdin(void)
{
    g_autoptr(GString) all = g_string_new(NULL);
    char buf[4096];
    size_t n;

    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
        g_string_append_len(all, buf, n);
    return g_string_free(g_steal_pointer(&all), FALSE);
}

/* What a run would add to the text's own verdict. */
static const char *
note_for(const MmVerdict *v, bool from_log)
{
    if (strcmp(v->reason, "other") == 0)
        return "no rule matches this text; if it is real libvirt or QEMU output, add it to "
               "tests/data/classify/errors.txt with its source and a rule to harness/classify.c";
    if (v->outcome == MM_OUTCOME_INFRA_ERROR)
        return "a run files this as infra-error only when a host does not answer; with both hosts up it is a "
               "failure of the phase (e.g. migrate-failed: migration stream broken)";
    if (from_log)
        return "libvirt's text says only that QEMU died; the reason comes from the QEMU log lines in the input";
    if (v->generic)
        return "the text says only that something died or failed: a run reads the domain's QEMU log "
               "(/var/log/libvirt/qemu/NAME.log on the host) for the cause; paste it with `explain -`";
    return NULL;
}

int
mm_cmd_explain(int argc, char **argv)
{
    g_autofree char *phase = NULL;
    g_autofree char *format = NULL;
    GOptionEntry entries[] = {
        { "phase", 'p', 0, G_OPTION_ARG_STRING, &phase,
          "Where it happened: start, precheck, migrate (default), reboot, migrate-back", "PHASE" },
        { "format", 0, 0, G_OPTION_ARG_STRING, &format, "Output format: text (default) or json", "FORMAT" },
        G_OPTION_ENTRY_NULL,
    };
    g_autofree char *text = NULL;
    MmFailure f = { 0 };
    MmVerdict v = { 0 };
    MmOutcome outcome = MM_OUTCOME_MIGRATE_FAILED;
    bool from_log = false, json = false, found;
    const char *note;
    int rc;

    if (!mm_cli_parse("explain", "TEXT|-",
                      "Classify an error message (or, with -, stdin: a message or a QEMU log) as a run would: "
                      "outcome class, reason, CPU features. Exit 0 when classified, 1 when the reason is other.",
                      entries, &argc, &argv))
        return MM_EXIT_USAGE;
    if (argc != 2) {
        mm_cli_usage_error("explain", "expected one TEXT (quote it) or - for stdin");
        return MM_EXIT_USAGE;
    }
    if (format && strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
        mm_cli_usage_error("explain", "--format %s: use text or json", format);
        return MM_EXIT_USAGE;
    }
    json = format && strcmp(format, "json") == 0;
    found = phase == NULL;
    for (gsize i = 0; phase && i < G_N_ELEMENTS(phases); i++) {
        if (strcmp(phase, phases[i].phase) == 0) {
            outcome = phases[i].outcome;
            found = true;
        }
    }
    if (!found) {
        const char *names[G_N_ELEMENTS(phases) + 1] = { NULL };
        const char *hint;

        for (gsize i = 0; i < G_N_ELEMENTS(phases); i++)
            names[i] = phases[i].phase;
        hint = mm_suggest(phase, names, G_N_ELEMENTS(phases));
        mm_cli_usage_error("explain", "--phase %s: use start, precheck, migrate, reboot or migrate-back%s%s%s", phase,
                           hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        return MM_EXIT_USAGE;
    }
    text = strcmp(argv[1], "-") == 0 ? read_stdin() : g_strdup(argv[1]);
    if (!*g_strstrip(text)) {
        mm_cli_usage_error("explain", "the text is empty");
        return MM_EXIT_USAGE;
    }

    mm_failure_from_text(&f, text);
    mm_classify(&f, outcome, &v);
    /* As a run does: when libvirt's words say only that QEMU died, QEMU's own lines say why. */
    if (v.generic) {
        MmVerdict lv = { 0 };

        if (mm_classify_log(text, v.outcome == MM_OUTCOME_INFRA_ERROR ? outcome : v.outcome, &lv) &&
            strcmp(lv.reason, v.reason) != 0) {
            mm_verdict_clear(&v);
            v = lv;
            from_log = true;
        } else {
            mm_verdict_clear(&lv);
        }
    }
    note = note_for(&v, from_log);

    if (json) {
        g_autoptr(GString) out = g_string_new(NULL);
        MmJson j;

        mm_json_init(&j, out, true);
        mm_json_begin_object(&j);
        mm_json_kv_string(&j, "phase", phase ? phase : "migrate");
        mm_json_kv_string(&j, "outcome", mm_outcome_name(v.outcome));
        mm_json_kv_string(&j, "reason", v.reason);
        mm_json_kv_bool(&j, "classified", strcmp(v.reason, "other") != 0);
        mm_json_kv_string(&j, "feature_kind", v.feature_kind);
        mm_json_key(&j, "features");
        mm_json_begin_array(&j);
        for (int i = 0; v.features && v.features[i]; i++)
            mm_json_string(&j, v.features[i]);
        mm_json_end_array(&j);
        mm_json_kv_bool(&j, "from_qemu_log", from_log);
        mm_json_kv_string(&j, "note", note);
        mm_json_end_object(&j);
        mm_json_clear(&j);
        g_string_append_c(out, '\n');
        fwrite(out->str, 1, out->len, stdout);
    } else {
        printf("outcome:  %s\nreason:   %s\n", mm_outcome_name(v.outcome), v.reason);
        if (v.features) {
            g_autofree char *list = g_strjoinv(", ", v.features);
            printf("features: %s (%s)\n", list, v.feature_kind);
        }
        if (note)
            printf("note:     %s\n", note);
    }
    rc = strcmp(v.reason, "other") == 0 ? MM_EXIT_UNEXPECTED : MM_EXIT_OK;
    mm_verdict_clear(&v);
    mm_failure_clear(&f);
    return rc;
}
