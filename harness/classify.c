/* classify.c: the pattern table that turns libvirt errors into reasons. First match wins,
 * so specific rules come before general ones. Real texts are in tests/data/classify/. */
#include "migmatrix/classify.h"

#include <libvirt/virterror.h>
#include <string.h>

typedef struct {
    int code;                /* virErrorNumber to match, or 0: any */
    const char *pattern;     /* regex on the message, or NULL: any */
    const char *reason;
    int outcome;             /* -1: keep the phase's outcome */
    const char *feature_kind;/* with a (group 1) capturing a comma-separated feature list */
} Rule;

static const Rule rules[] = {
    /* The connection to a host went away: not a property of the migration. */
    { VIR_ERR_NO_CONNECT, NULL, "connection lost", MM_OUTCOME_INFRA_ERROR, NULL },
    { 0, "End of file while reading data|Cannot recv data|Cannot write data|client socket is closed|"
         "Connection reset by peer|Broken pipe|no connection driver|failed to connect to the hypervisor|"
         "Connection refused|No route to host",
      "connection lost", MM_OUTCOME_INFRA_ERROR, NULL },

    /* Cancelled or out of time. */
    { VIR_ERR_OPERATION_ABORTED, NULL, "aborted", -1, NULL },
    { 0, "canceled by client|cancelled by client|operation aborted", "aborted", -1, NULL },
    { VIR_ERR_OPERATION_TIMEOUT, NULL, "timeout", -1, NULL },
    { 0, "[Tt]imed out|timeout", "timeout", -1, NULL },

    /* CPU features, with the list. */
    { 0, "missing features: ([A-Za-z0-9_.-]+(?:, ?[A-Za-z0-9_.-]+)*)", "missing features", -1, "missing" },
    { 0, "extra features: ([A-Za-z0-9_.-]+(?:, ?[A-Za-z0-9_.-]+)*)", "extra features", -1, "extra" },
    { 0, "does not provide required features: ([A-Za-z0-9_.-]+(?:, ?[A-Za-z0-9_.-]+)*)", "missing features", -1,
      "required" },

    /* Vendors, modes, TSC, blockers. */
    { 0, "[Vv]endors? .*do(es)? not match|vendor .* does not match", "vendor mismatch", -1, NULL },
    { 0, "CPU mode '[a-z-]+' .* is not supported by hypervisor", "mode unsupported by hypervisor", -1, NULL },
    { 0, "host-model .*not supported|host CPU model is not supported", "mode unsupported by hypervisor", -1, NULL },
    { 0, "invtsc|TSC|tsc[-_ ]frequency", "TSC", -1, NULL },
    { 0, "[Bb]locked by|migration blocker|cannot migrate domain", "migration blocker", -1, NULL },
    { 0, "kvm_init_vcpu failed", "kvm_init_vcpu failed", -1, NULL },
    { 0, "failed to set MSR", "MSR rejected by KVM", -1, NULL },
    { 0, "Target CPU (model|check|mode|feature)", "target CPU differs", -1, NULL },
    { 0, "Unknown CPU model|CPU model [^ ]+ is not supported by hypervisor", "CPU model unknown to the hypervisor", -1,
      NULL },
    { VIR_ERR_CPU_INCOMPATIBLE, NULL, "CPU incompatible", -1, NULL },
    { 0, "incompatible with host CPU|guest CPU doesn't match", "CPU incompatible", -1, NULL },
    { VIR_ERR_CONFIG_UNSUPPORTED, NULL, "unsupported configuration", -1, NULL },
};

static GRegex **
compiled(void)
{
    static GRegex *res[G_N_ELEMENTS(rules)];
    static gsize done;

    if (g_once_init_enter(&done)) {
        for (gsize i = 0; i < G_N_ELEMENTS(rules); i++)
            res[i] = rules[i].pattern ? g_regex_new(rules[i].pattern, G_REGEX_OPTIMIZE, 0, NULL) : NULL;
        g_once_init_leave(&done, 1);
    }
    return res;
}

void
mm_failure_clear(MmFailure *f)
{
    g_clear_pointer(&f->message, g_free);
    f->code = f->domain = 0;
}

void
mm_failure_from_libvirt(MmFailure *f)
{
    virErrorPtr e = virGetLastError();

    mm_failure_clear(f);
    f->code = e ? e->code : 0;
    f->domain = e ? e->domain : 0;
    f->message = g_strdup(e && e->message ? e->message : "unknown libvirt error");
}

void
mm_verdict_clear(MmVerdict *v)
{
    g_clear_pointer(&v->reason, g_free);
    g_clear_pointer(&v->features, g_strfreev);
    v->feature_kind = NULL;
}

void
mm_classify(const MmFailure *f, MmOutcome phase_outcome, MmVerdict *out)
{
    GRegex **res = compiled();
    const char *msg = f->message ? f->message : "";

    mm_verdict_clear(out);
    out->outcome = phase_outcome;
    for (gsize i = 0; i < G_N_ELEMENTS(rules); i++) {
        g_autoptr(GMatchInfo) mi = NULL;

        if (rules[i].code && rules[i].code != f->code)
            continue;
        if (res[i] && !g_regex_match(res[i], msg, 0, &mi))
            continue;
        out->reason = g_strdup(rules[i].reason);
        if (rules[i].outcome >= 0)
            out->outcome = rules[i].outcome;
        if (rules[i].feature_kind && mi) {
            g_autofree char *list = g_match_info_fetch(mi, 1);
            out->features = g_strsplit(list, ",", -1);
            for (int k = 0; out->features[k]; k++)
                g_strstrip(out->features[k]);
            out->feature_kind = rules[i].feature_kind;
        }
        return;
    }
    out->reason = g_strdup("other");
}
