/* classify.c: the pattern table that turns libvirt and QEMU errors into reasons. First match
 * wins, so specific rules come before general ones. Each rule names where its text comes from
 * (libvirt 9.0 / QEMU 7.2 source, or what the lab showed); the texts themselves, one per
 * line with that source, are in tests/data/classify/. */
#include "migmatrix/classify.h"

#include <libvirt/virterror.h>
#include <string.h>

enum {
    GENERIC = 1 << 0,        /* says only that something died or failed: a QEMU log may say why */
    LOG = 1 << 1,            /* also names a cause when found in a QEMU log */
};

typedef struct {
    int code;                /* virErrorNumber to match, or 0: any */
    const char *pattern;     /* regex on the message, or NULL: any */
    const char *reason;
    int outcome;             /* -1: keep the phase's outcome */
    const char *feature_kind;/* with a (group 1) capturing a comma-separated feature list */
    unsigned flags;
} Rule;

#define FEATURES "([A-Za-z0-9_.-]+(?:, ?[A-Za-z0-9_.-]+)*)"

static const Rule rules[] = {
    /* SSH to a host refused: the lab is misconfigured (virnetlibsshsession.c, ssh's stderr). */
    { 0, "HOST KEY VERIFICATION FAILED|Host key verification failed|host key for .* was not accepted|"
         "failed to validate SSH host key",
      "SSH host key refused", MM_OUTCOME_INFRA_ERROR, NULL, 0 },
    { VIR_ERR_AUTH_FAILED, NULL, "authentication failed", MM_OUTCOME_INFRA_ERROR, NULL, 0 },

    /* The migration address of the destination does not resolve (virnetsocket.c
     * virNetSocketNewConnectTCP, qemu_migration.c): a property of the pair, not a dead host. */
    { 0, "Unable to resolve address|hostname on destination resolved to localhost",
      "name resolution failed", -1, NULL, 0 },
    { 0, "Could not resolve hostname|Name or service not known|Temporary failure in name resolution",
      "name resolution failed", MM_OUTCOME_INFRA_ERROR, NULL, 0 },

    /* QEMU's own migration stream broke (qemu_migration.c qemuMigrationJobCheckStatus; the
     * socket text is QEMU's io/channel-socket.c). Both libvirt forms: 9.0's "job 'migration out'
     * failed: …" and ≤ 8.6's "migration out job: …". */
    { 0, "job '[^']+' failed: (Unable to (write to|read from) socket|Channel error)|"
         "migration out job: Unable to (write to|read from) socket",
      "migration stream broken", -1, NULL, GENERIC },

    /* A connection to a host went away (virnetsocket.c, virnetclient.c, virkeepalive.c,
     * qemu_migration.c "Lost connection to destination host"). Infra only if a host really does
     * not answer: the engine asks them before it believes this. */
    { VIR_ERR_NO_CONNECT, NULL, "connection lost", MM_OUTCOME_INFRA_ERROR, NULL, GENERIC },
    { 0, "End of file while (reading|writing) data|Cannot recv data|Cannot write data|client socket is closed|"
         "connection closed due to keepalive timeout|Lost connection to destination host|"
         "Connection reset by peer|Broken pipe|no connection driver|failed to connect to the hypervisor|"
         "Failed to connect socket|unable to connect to server|Connection refused|No route to host",
      "connection lost", MM_OUTCOME_INFRA_ERROR, NULL, GENERIC },

    /* Post-copy (qemu_migration.c; QEMU migration.c migrate_caps_check, postcopy-ram.c). */
    { 0, "[Pp]ostcopy is not (supported|currently compatible)|userfaultfd not available|"
         "post-copy (migration )?is not supported",
      "post-copy unsupported", -1, NULL, LOG },
    { 0, "failed in post-copy phase|post-copy phase failed|Detected IO failure for postcopy",
      "post-copy failed", -1, NULL, LOG },

    /* Cancelled or out of time (qemu_migration.c; virdomainjob.c for the state change lock). */
    { VIR_ERR_OPERATION_ABORTED, NULL, "aborted", -1, NULL, 0 },
    { 0, "canceled by client|cancelled by client|operation aborted", "aborted", -1, NULL, 0 },
    { 0, "cannot acquire state change lock", "job lock timeout", -1, NULL, 0 },
    { VIR_ERR_OPERATION_TIMEOUT, NULL, "timeout", -1, NULL, 0 },
    { 0, "[Tt]imed out|timeout", "timeout", -1, NULL, 0 },

    /* CPU features, with the list: cpu_x86.c virCPUx86UpdateLive ("a,b") and x86Compute
     * ("a, b", and "; try using 'X-noTSX' CPU model" after it). */
    { 0, "missing features: " FEATURES, "missing features", -1, "missing", 0 },
    { 0, "[Ee]xtra features: " FEATURES, "extra features", -1, "extra", 0 },
    { 0, "does not provide required features: " FEATURES, "missing features", -1, "required", 0 },
    { 0, "provides forbidden features: " FEATURES, "forbidden features", -1, "forbidden", 0 },

    /* Vendors, modes (qemu_process.c qemuProcessUpdateGuestCPU), TSC, blockers
     * (qemu_migration.c qemuMigrationSrcIsAllowed / IsSafe). */
    { 0, "[Vv]endors? .*do(es)? not match|vendor .* does not match|differs from vendor", "vendor mismatch", -1, NULL,
      0 },
    { 0, "CPU mode '[a-z-]+' .* is not supported by hypervisor", "mode unsupported by hypervisor", -1, NULL, 0 },
    { 0, "host-model .*not supported|host CPU model is not supported", "mode unsupported by hypervisor", -1, NULL, 0 },
    /* Not a log rule: QEMU logs warn about invtsc on every start of such a guest. */
    { 0, "invtsc|invariant TSC|TSC|tsc[-_ ]frequency", "TSC", -1, NULL, 0 },
    { 0, "[Bb]locked by|migration blocker|cannot migrate (domain|a domain)|Unsafe migration|"
         "doesn't support migration|cannot be migrated|with [0-9]+ snapshots|has active block job",
      "migration blocker", -1, NULL, 0 },

    /* KVM refusing the vCPU or its state (QEMU accel/kvm/kvm-all.c kvm_init_vcpu: 7.2 says
     * "kvm_init_vcpu: kvm_arch_init_vcpu failed (N)", ≤ 5 "kvm_init_vcpu failed"; target/i386/
     * kvm/kvm.c kvm_buf_set_msrs). xsave/AMX failures surface through these too. */
    { 0, "kvm_init_vcpu(: kvm_arch_init_vcpu)? failed|kvm_init_vcpu: kvm_get_vcpu failed", "kvm_init_vcpu failed",
      -1, NULL, LOG },
    { 0, "failed to (set|get) MSR|kvm_buf_set_msrs|kvm_put_msrs", "MSR rejected by KVM", -1, NULL, LOG },
    { 0, "Could not access KVM kernel module|failed to initialize KVM|ioctl\\(KVM_CREATE_VM\\) failed",
      "KVM unavailable", -1, NULL, LOG },
    { 0, "KVM internal error|kvm run failed", "KVM internal error", -1, NULL, LOG },

    /* The destination QEMU refusing the incoming state (QEMU migration/savevm.c, vmstate.c,
     * migration.c process_incoming_migration_co). The CPU's own state first. */
    { 0, "(Failed to load |error while loading state[^\n]*device ')cpu[^\n]*xsave|xsave[^\n]*(load|restore) failed",
      "xsave state rejected", -1, NULL, LOG },
    { 0, "error while loading state for instance 0x[0-9a-f]+ of device 'cpu'|Failed to load cpu[:/]",
      "CPU state load failed", -1, NULL, LOG },
    { 0, "Unknown savevm section|Missing section footer|Mismatched section id|incoming version_id [0-9]+ is too (new|old)|"
         "savevm: unsupported version|Machine type received is|Received TARGET_PAGE_BITS",
      "device state mismatch", -1, NULL, LOG },
    { 0, "error while loading state|Failed to load [^ ]+:|Load state of device|load of migration failed|"
         "Unknown combination of migration flags|Not a migration stream",
      "incoming state load failed", -1, NULL, LOG },

    /* Firmware and ROMs (QEMU hw/i386/x86.c, hw/core/loader.c; libvirt qemu_firmware.c). */
    { 0, "could not load PC BIOS|could not load firmware|Could not open option rom|failed to find romfile|"
         "Unable to find any firmware|unable to find any master var store",
      "firmware missing", -1, NULL, LOG },

    { 0, "Target CPU (model|check|mode|feature|vendor|arch)", "target CPU differs", -1, NULL, 0 },
    /* cpu_x86.c x86ModelFromCPU / virCPUTranslate; QEMU cpu.c parse_cpu_option. */
    { 0, "[Uu]nknown CPU model|CPU model [^ ]+ is not supported by hypervisor|unable to find CPU model|"
         "Cannot find suitable CPU model|unknown host CPU model",
      "CPU model unknown to the hypervisor", -1, NULL, LOG },
    { 0, "[Uu]nknown CPU feature", "CPU feature unknown to libvirt", -1, NULL, 0 },

    /* What a driver or the other side cannot do (virerror.c VIR_ERR_NO_SUPPORT carries the API
     * name; qemu_migration.c for the peer). */
    { VIR_ERR_NO_SUPPORT, NULL, "not supported by the driver", -1, NULL, 0 },
    { 0, "not supported by the connection driver|Destination libvirt does not support|does not support reporting CPU model|"
         "not supported by the destination host",
      "not supported by the driver", -1, NULL, 0 },

    /* QEMU went away, no cause given in libvirt's text (qemu_monitor.c via qemuProcessReportLogError:
     * 9.0 "qemu unexpectedly closed the monitor", 10.x "QEMU … (vm='…')"; qemu_migration.c). The
     * QEMU log's own lines, where the engine can read them, name the cause. */
    { 0, "unexpectedly closed the monitor|process exited while connecting to monitor|End of file from qemu monitor|"
         "guest unexpectedly quit|domain is no longer running|is not processing incoming migration|"
         "terminating on signal|shutting down, reason=(crashed|failed)",
      "QEMU exited", -1, NULL, GENERIC | LOG },
    { 0, "job '[^']+' (unexpectedly failed|failed)|migration out job: |migration in job: ", "QEMU migration failed",
      -1, NULL, GENERIC },
    { 0, "domain is not running", "domain not running", -1, NULL, 0 },

    { VIR_ERR_CPU_INCOMPATIBLE, NULL, "CPU incompatible", -1, NULL, 0 },
    { 0, "incompatible with host CPU|guest CPU doesn't match", "CPU incompatible", -1, NULL, 0 },
    { VIR_ERR_CONFIG_UNSUPPORTED, NULL, "unsupported configuration", -1, NULL, 0 },
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

/* The code libvirt's message prefix gives away (src/util/virerror.c virErrorMsgStrings). */
void
mm_failure_from_text(MmFailure *f, const char *text)
{
    static const struct { const char *prefix; int code; } prefixes[] = {
        { "internal error: ", VIR_ERR_INTERNAL_ERROR },
        { "operation failed: ", VIR_ERR_OPERATION_FAILED },
        { "Requested operation is not valid: ", VIR_ERR_OPERATION_INVALID },
        { "unsupported configuration: ", VIR_ERR_CONFIG_UNSUPPORTED },
        { "Operation not supported: ", VIR_ERR_OPERATION_UNSUPPORTED },
        { "argument unsupported: ", VIR_ERR_ARGUMENT_UNSUPPORTED },
        { "operation aborted: ", VIR_ERR_OPERATION_ABORTED },
        { "Timed out during operation: ", VIR_ERR_OPERATION_TIMEOUT },
        { "Unsafe migration: ", VIR_ERR_MIGRATE_UNSAFE },
        { "the CPU is incompatible with host CPU", VIR_ERR_CPU_INCOMPATIBLE },
        { "this function is not supported by the connection driver", VIR_ERR_NO_SUPPORT },
        { "no connection driver available for ", VIR_ERR_NO_CONNECT },
        { "authentication failed: ", VIR_ERR_AUTH_FAILED },
        { "Domain not found: ", VIR_ERR_NO_DOMAIN },
    };
    const char *t = text ? text : "";

    mm_failure_clear(f);
    /* A line pasted from a log may start with a timestamp, "error: " (virsh) and the like. */
    for (gsize i = 0; i < G_N_ELEMENTS(prefixes); i++) {
        const char *at = strstr(t, prefixes[i].prefix);

        if (at && (at == t || at - t < 64)) {
            f->code = prefixes[i].code;
            break;
        }
    }
    f->message = g_strdup(t);
    g_strstrip(f->message);
}

void
mm_verdict_clear(MmVerdict *v)
{
    g_clear_pointer(&v->reason, g_free);
    g_clear_pointer(&v->features, g_strfreev);
    v->feature_kind = NULL;
    v->generic = false;
}

static void
apply(const Rule *r, GMatchInfo *mi, MmVerdict *out)
{
    out->reason = g_strdup(r->reason);
    out->generic = (r->flags & GENERIC) != 0;
    if (r->outcome >= 0)
        out->outcome = r->outcome;
    if (r->feature_kind && mi) {
        g_autofree char *list = g_match_info_fetch(mi, 1);
        out->features = g_strsplit(list, ",", -1);
        for (int k = 0; out->features[k]; k++)
            g_strstrip(out->features[k]);
        out->feature_kind = r->feature_kind;
    }
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
        apply(&rules[i], mi, out);
        return;
    }
    out->reason = g_strdup("other");
    out->generic = true;
}

char *
mm_qemu_log_clean(const char *log)
{
    g_auto(GStrv) lines = g_strsplit(mm_qemu_log_last_start(log ? log : ""), "\n", -1);
    g_autoptr(GString) out = g_string_new(NULL);
    bool in_cmd = false, said = false;

    /* libvirt writes QEMU's command line one argument a line, each but the last ending in
     * " \": leave it out. It says nothing about a failure (and names every device and option,
     * so a rule would match a feature merely asked for), and arguments can carry key material. */
    for (int i = 0; lines[i]; i++) {
        gsize len = strlen(lines[i]);
        bool continued = len >= 2 && lines[i][len - 1] == '\\' && lines[i][len - 2] == ' ';

        if (continued || in_cmd) {
            in_cmd = continued;
            if (!said)
                g_string_append(out, "(QEMU command line left out)\n");
            said = true;
            continue;
        }
        if (*lines[i] || lines[i + 1])
            g_string_append_printf(out, "%s%s", lines[i], lines[i + 1] ? "\n" : "");
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

const char *
mm_qemu_log_last_start(const char *log)
{
    const char *from = log ? g_strrstr(log, " starting up ") : NULL;

    if (!from)
        return log;
    while (from > log && from[-1] != '\n')
        from--;
    return from;
}

bool
mm_classify_log(const char *log, MmOutcome phase_outcome, MmVerdict *out)
{
    GRegex **res = compiled();

    mm_verdict_clear(out);
    out->outcome = phase_outcome;
    /* libvirt appends to the log at every start and incoming migration: an earlier start's
     * failure is not this one's; and QEMU's command line is no cause. */
    g_autofree char *clean = mm_qemu_log_clean(log);

    log = clean;
    /* The most specific cause anywhere in the log: rules in table order, not lines in log order
     * (QEMU prints the cause, then what it led to). */
    for (gsize i = 0; log && i < G_N_ELEMENTS(rules); i++) {
        g_autoptr(GMatchInfo) mi = NULL;

        if (!(rules[i].flags & LOG) || !res[i] || !g_regex_match(res[i], log, 0, &mi))
            continue;
        apply(&rules[i], mi, out);
        return true;
    }
    return false;
}
