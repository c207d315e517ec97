/* predict.c: a case's expected outcome from the hosts' dossiers (see predict.h).
 *
 * A case is up to five stages, as the cycle runs them: start on the source, migrate to the
 * destination, a vCPU plug and unplug there (hotplug_vcpus), hard reboot there in the node's
 * default mode, migrate back. Each stage asks the rules of its kind (START rules for start and
 * reboot, MOVE rules for the two migrations, HOTPLUG rules for the hot-plug) in table order;
 * the first that gives a verdict decides the stage. A failed stage ends the case with that
 * stage's outcome; a changed CPU is remembered and the case goes on (the engine, too, reports
 * cpu-changed only when nothing failed); an unknown stage makes the case unknown. Verdicts are
 * cached per host (start, hot-plug) and per host triple (move), so a 1e5-case plan costs a few
 * libvirt calls per host and model. */
#include "migmatrix/predict.h"

#include <stdio.h>
#include <string.h>

#include "migmatrix/cpumodel.h"
#include "migmatrix/dossier.h"
#include "migmatrix/mode.h"

void
mm_dossier_free(MmDossier *d)
{
    if (!d)
        return;
    g_free(d->host);
    if (d->facts)
        g_hash_table_unref(d->facts);
    g_free(d->recorded_at);
    g_free(d->stale);
    g_free(d);
}

void
mm_prediction_clear(MmPrediction *p)
{
    g_clear_pointer(&p->reason, g_free);
    g_clear_pointer(&p->lost, g_ptr_array_unref);
    memset(p, 0, sizeof(*p));
}

/* What a host offers, derived once from its dossier. */
typedef struct {
    const MmHost *host;
    const MmDossier *d;      /* NULL: none recorded */
    char *arch;              /* the guests' arch: the host's own, or another under TCG */
    char *vt;                /* the facts' prefix: the virt type, "qemu@aarch64" for another arch */
    bool cross;              /* ARCH is not the host's: its CPU says nothing of the guest's */
    bool hm_done, cpu_done;
    MmCpuDef *hm;            /* host-model expansion, full feature list, disabled ones removed */
    char *hm_why;            /* why there is none */
    MmCpuDef *cpu;           /* the host CPU, expanded */
    char *cpu_why;
} HostCpu;

/* V_FAIL_PAST_COMPARE: a move that fails although the CPU compare before it passes. */
typedef enum { V_NEXT, V_OK, V_FAIL, V_FAIL_PAST_COMPARE, V_CHANGED, V_UNKNOWN } Verdict;

typedef struct {
    Verdict v;
    char *detail;
    GPtrArray *lost;
    const char *rule;
} Cached;

struct _MmPredictor {
    GHashTable *dossiers;    /* borrowed */
    GHashTable *hosts;       /* "name|virt_type" → HostCpu* */
    GHashTable *cache;       /* stage key → Cached* */
};

/* One rule's view of a stage: a start (or reboot) on ON, or a move FROM → TO of a guest whose
 * CPU was fixed when it started on ORIGIN. */
typedef struct {
    MmPredictor *p;
    HostCpu *on, *origin, *from, *to;
    const MmCpuMode *mode;
    bool compare;            /* the move is preceded by the CPU compare (enable_compare_cpu) */
    char *detail;
    GPtrArray *lost;
} Ctx;

typedef Verdict (*Check)(Ctx *x);

enum { START = 1, MOVE = 2, HOTPLUG = 4 };

typedef struct {
    MmPredictRule info;
    unsigned stages;
    Check check;
} Rule;

static void
host_cpu_free(HostCpu *h)
{
    mm_cpu_def_free(h->hm);
    mm_cpu_def_free(h->cpu);
    g_free(h->hm_why);
    g_free(h->cpu_why);
    g_free(h->arch);
    g_free(h->vt);
    g_free(h);
}

static void
cached_free(Cached *c)
{
    g_free(c->detail);
    if (c->lost)
        g_ptr_array_unref(c->lost);
    g_free(c);
}

static const char *
fact(const HostCpu *h, const char *name)
{
    return h->d && h->d->facts ? mm_facts_get(h->d->facts, name) : NULL;
}

static const char *
vt_fact(const HostCpu *h, const char *name)
{
    return h->d && h->d->facts ? mm_facts_get_vt(h->d->facts, h->vt, name) : NULL;
}

/* H's QEMU as MAJOR.MINOR; false when the dossier does not say. */
static bool
qemu_version(const HostCpu *h, guint *major, guint *minor)
{
    const char *qv = fact(h, "qemu_version");

    return qv && sscanf(qv, "%u.%u", major, minor) == 2;
}

static const char *
arch_of(const HostCpu *h)
{
    return h->arch ? h->arch : fact(h, "arch");
}

static char *
join_list(GPtrArray *names, guint max)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (guint i = 0; i < names->len && i < max; i++)
        g_string_append_printf(s, "%s%s", i ? ", " : "", (char *)names->pdata[i]);
    if (names->len > max)
        g_string_append_printf(s, " and %u more", names->len - max);
    return g_string_free(g_steal_pointer(&s), false);
}

/* The host-model CPU as libvirt's domain capabilities gave it: model, vendor, required
 * features; expanded to all its features, minus the ones it disables. */
static const MmCpuDef *
host_model_cpu(HostCpu *h)
{
    g_autoptr(GError) err = NULL;

    if (h->hm_done)
        return h->hm;
    h->hm_done = true;
    if (!(h->hm = mm_cpu_from_facts(h->d->facts, h->vt, h->arch, NULL, &err)))
        h->hm_why = g_strdup_printf("%s's dossier: %s", h->host->name, err->message);
    return h->hm;
}

static const MmCpuDef *
host_cpu(HostCpu *h)
{
    g_autoptr(GError) err = NULL;

    if (h->cpu_done)
        return h->cpu;
    h->cpu_done = true;
    if (h->cross) {
        h->cpu_why = g_strdup_printf("%s emulates %s guests: its own CPU is not theirs", h->host->name, h->arch);
        return NULL;
    }
    if (!(h->cpu = mm_cpu_from_facts(h->d->facts, NULL, h->arch, NULL, &err)))
        h->cpu_why = g_strdup_printf("%s's dossier: %s", h->host->name, err->message);
    return h->cpu;
}

/* What a guest on H can be given: the host-model CPU (what KVM exposes), else the host CPU. */
static const MmCpuDef *
guest_view(HostCpu *h, const char **why)
{
    const MmCpuDef *d = host_model_cpu(h);

    if (!d)
        d = host_cpu(h);
    if (!d && why)
        *why = h->cpu_why ? h->cpu_why : h->hm_why;
    return d;
}

/* ------------------------------------------------------------------ start rules */

/* Every verdict needs the host's dossier, current. */
static Verdict
check_dossier(Ctx *x)
{
    HostCpu *hs[] = { x->on, x->origin, x->from, x->to };

    for (guint i = 0; i < G_N_ELEMENTS(hs); i++) {
        if (!hs[i])
            continue;
        if (!hs[i]->d || !hs[i]->d->facts) {
            x->detail = g_strdup_printf("no dossier of %s (run `migmatrix probe` or `probe --import %s FILE…`)",
                                        hs[i]->host->name, hs[i]->host->name);
            return V_UNKNOWN;
        }
        if (hs[i]->d->stale) {
            x->detail = g_strdup_printf("dossier of %s is stale: %s", hs[i]->host->name, hs[i]->d->stale);
            return V_UNKNOWN;
        }
        if (hs[i]->cross && !vt_fact(hs[i], "domcaps")) {
            x->detail = g_strdup_printf("dossier of %s has no domain capabilities for %s guests under %s (a `migmatrix "
                                        "probe` records them)",
                                        hs[i]->host->name, hs[i]->arch, hs[i]->host->virt_type);
            return V_UNKNOWN;
        }
    }
    return V_NEXT;
}

static Verdict
check_none(Ctx *x)
{
    HostCpu *h = x->on ? x->on : x->to;

    if (x->mode->kind != MM_MODE_NONE)
        return V_NEXT;
    if (g_strcmp0(arch_of(h), "x86_64") == 0 || strcmp(h->host->virt_type, "kvm") != 0)
        return V_OK;
    /* Elsewhere under KVM, QEMU's default model is not the host's (aarch64 'virt': cortex-a15). */
    x->detail = g_strdup_printf("no rule for mode none on %s KVM", arch_of(h) ?: "?");
    return V_UNKNOWN;
}

static Verdict
check_arm_custom(Ctx *x)
{
    if (x->mode->kind != MM_MODE_CUSTOM || g_strcmp0(arch_of(x->on), "aarch64") != 0 ||
        g_strcmp0(x->on->host->virt_type, "kvm") != 0)
        return V_NEXT;
    x->detail = g_strdup_printf("%s on aarch64 KVM: kvm_init_vcpu failed", mm_cpu_mode_model(x->mode));
    return V_FAIL;
}

static Verdict
check_mode_domcaps(Ctx *x)
{
    static const char *const key[] = {
        [MM_MODE_HOST_MODEL] = "host_model",
        [MM_MODE_HOST_PASSTHROUGH] = "host_passthrough",
        [MM_MODE_MAXIMUM] = "maximum",
    };
    const char *v;

    if (x->mode->kind >= G_N_ELEMENTS(key) || !key[x->mode->kind] || !(v = vt_fact(x->on, key[x->mode->kind])))
        return V_NEXT;
    if (strcmp(v, "yes") == 0)
        return V_OK;
    x->detail = g_strdup_printf("%s not supported on %s (%s %s, domain capabilities)",
                                mm_cpu_mode_kind_name(x->mode->kind), x->on->host->name, arch_of(x->on) ?: "?",
                                x->on->host->virt_type);
    return V_FAIL;
}

static Verdict
check_passthrough_accel(Ctx *x)
{
    if (x->mode->kind != MM_MODE_HOST_PASSTHROUGH)
        return V_NEXT;
    if (strcmp(x->on->host->virt_type, "kvm") == 0)
        return V_OK;
    x->detail = g_strdup_printf("host-passthrough needs an accelerator; %s runs %s", x->on->host->name,
                                x->on->host->virt_type);
    return V_FAIL;
}

/* QEMU has had the "max" model on x86 since 2.9 (QEMU_CAPS_CPU_MAX); libvirt offers maximum when it does. */
static Verdict
check_maximum_qemu(Ctx *x)
{
    const char *qv = fact(x->on, "qemu_version");
    guint major = 0, minor = 0;

    if (x->mode->kind != MM_MODE_MAXIMUM || !qemu_version(x->on, &major, &minor) ||
        g_strcmp0(arch_of(x->on), "x86_64") != 0)
        return V_NEXT;
    if (major > 2 || (major == 2 && minor >= 9))
        return V_OK;
    x->detail = g_strdup_printf("QEMU %s on %s has no 'max' CPU model (2.9 or later has)", qv, x->on->host->name);
    return V_FAIL;
}

static Verdict
check_mode_unrecorded(Ctx *x)
{
    if (x->mode->kind != MM_MODE_HOST_MODEL && x->mode->kind != MM_MODE_MAXIMUM)
        return V_NEXT;
    x->detail = g_strdup_printf("%s's dossier does not say whether %s supports %s (import its domcapabilities)",
                                x->on->host->name, x->on->host->virt_type, mm_cpu_mode_kind_name(x->mode->kind));
    return V_UNKNOWN;
}

/* Under TCG libvirt does not compare a custom CPU with the host (check='none' by default): a
 * model QEMU knows starts, usable or not; only the CPU compare before a move refuses it. */
static Verdict
check_custom_tcg(Ctx *x)
{
    const char *m;
    bool usable;

    if (x->mode->kind != MM_MODE_CUSTOM || strcmp(x->on->host->virt_type, "qemu") != 0 ||
        g_strcmp0(vt_fact(x->on, "domcaps"), "yes") != 0)
        return V_NEXT;
    m = mm_cpu_mode_model(x->mode);
    usable = mm_facts_list_has(vt_fact(x->on, "custom_usable"), m);
    if (!usable && !mm_facts_list_has(vt_fact(x->on, "custom_unusable"), m))
        return V_NEXT;       /* a model QEMU does not know: custom-domcaps says so */
    /* The compare answers "unsupported" for a model QEMU reports nothing about (aarch64), and the
     * engine then migrates: only an x86 model QEMU calls unusable is refused. */
    if (!usable && x->compare && !mm_facts_list_has(vt_fact(x->on, "custom_unknown"), m)) {
        x->detail = g_strdup_printf("%s not usable on %s: the CPU compare refuses it (TCG alone would run it)", m,
                                    x->on->host->name);
        return V_FAIL;
    }
    return V_OK;
}

static Verdict
check_custom_domcaps(Ctx *x)
{
    /* domcaps say whether the bare model runs; a named CPU's own features are told by
     * custom-vendor and custom-features, from the expansion. */
    if (x->mode->kind != MM_MODE_CUSTOM || x->mode->named || g_strcmp0(vt_fact(x->on, "domcaps"), "yes") != 0)
        return V_NEXT;
    if (mm_facts_list_has(vt_fact(x->on, "custom_usable"), x->mode->model))
        return V_OK;
    if (mm_facts_list_has(vt_fact(x->on, "custom_unusable"), x->mode->model))
        x->detail = g_strdup_printf("%s not usable on %s (QEMU: features blocked)", x->mode->model, x->on->host->name);
    else
        x->detail = g_strdup_printf("%s's QEMU offers no model %s", x->on->host->name, x->mode->model);
    return V_FAIL;
}

/* The custom model as libvirt makes it for X's host vendor, expanded; NULL with X's detail set
 * when libvirt refuses it. */
static MmCpuDef *
model_on_host(Ctx *x)
{
    g_autoptr(GError) err = NULL;
    const MmNamedCpu *n = x->mode->named;
    g_autofree char *xml = mm_cpu_host_xml(arch_of(x->on), fact(x->on, "cpu_vendor"), mm_cpu_mode_model(x->mode),
                                           n ? (const char *const *)n->require : NULL);
    MmCpuDef *m = mm_cpu_expand(xml, &err);

    if (!m) {
        x->detail = g_strdup_printf("%s on %s: %s", x->mode->model, x->on->host->name, err->message);
        return NULL;
    }
    /* A named CPU's disabled features are not asked of the host (libvirt: policy='disable'). */
    for (int i = 0; n && n->disable && n->disable[i]; i++)
        g_hash_table_remove(m->features, n->disable[i]);
    return m;
}

/* How a detail names the custom CPU: "Broadwell", or "POOL (Broadwell)" for a [cpu:POOL]. */
static char *
custom_label(const MmCpuMode *mode)
{
    return mode->named ? g_strdup_printf("%s (%s)", mode->model, mode->named->model) : g_strdup(mode->model);
}

/* Without domain capabilities: libvirt's own x86 logic on the captured CPU. */
static Verdict
check_custom_vendor(Ctx *x)
{
    g_autoptr(MmCpuDef) m = NULL;
    g_autofree char *label = NULL;
    const char *vendor = fact(x->on, "cpu_vendor");

    if (x->mode->kind != MM_MODE_CUSTOM)
        return V_NEXT;
    if (!vendor || !arch_of(x->on)) {
        x->detail = g_strdup_printf("%s's dossier has no CPU vendor", x->on->host->name);
        return V_UNKNOWN;
    }
    label = custom_label(x->mode);
    /* A named CPU's own <vendor>: libvirt refuses it on another vendor's host. */
    if (x->mode->named && x->mode->named->vendor && g_ascii_strcasecmp(x->mode->named->vendor, vendor) != 0) {
        x->detail = g_strdup_printf("%s is for %s CPUs ([cpu:%s] vendor), and %s is %s", label,
                                    x->mode->named->vendor, x->mode->model, x->on->host->name, vendor);
        return V_FAIL;
    }
    if (!(m = model_on_host(x)))
        return V_FAIL;
    if (g_strcmp0(m->model, mm_cpu_mode_model(x->mode)) == 0)
        return V_NEXT;
    x->detail = g_strdup_printf("%s is not a model for %s CPUs (libvirt takes %s for that vendor)", label, vendor,
                                m->model);
    return V_FAIL;
}

static Verdict
check_custom_features(Ctx *x)
{
    g_autoptr(MmCpuDef) m = NULL;
    g_autoptr(GPtrArray) missing = NULL;
    const MmCpuDef *offer;
    const char *why = NULL;

    if (x->mode->kind != MM_MODE_CUSTOM)
        return V_NEXT;
    if (!(offer = guest_view(x->on, &why))) {
        x->detail = g_strdup(why);
        return V_UNKNOWN;
    }
    if (!(m = model_on_host(x)))
        return V_FAIL;
    missing = mm_cpu_features_missing(m, offer);
    if (!missing->len)
        return V_OK;
    {
        g_autofree char *list = join_list(missing, 6);
        g_autofree char *label = custom_label(x->mode);

        x->detail = g_strdup_printf("%s not usable on %s: lacks %s", label, x->on->host->name, list);
    }
    return V_FAIL;
}

/* ------------------------------------------------------------------ hot-plug rules */

/* After the move the engine plugs one vCPU and unplugs it (hotplug_vcpus). Under TCG, QEMU 7.2
 * never finalizes an unplugged vCPU (its address spaces keep a reference), so it sends no
 * DEVICE_DELETED, and libvirt waits 5 s for it and keeps counting the vCPU: the unplug fails.
 * Measured on QEMU 7.2 only (docs/lab.md); another QEMU under TCG is not guessed. */
static Verdict
check_hotplug_tcg(Ctx *x)
{
    const char *qv = fact(x->to, "qemu_version");
    guint major = 0, minor = 0;

    if (strcmp(x->to->host->virt_type, "qemu") != 0)
        return V_NEXT;
    if (qemu_version(x->to, &major, &minor) && major == 7 && minor == 2) {
        x->detail = g_strdup_printf("vCPU unplug on %s under TCG: QEMU %s sends no DEVICE_DELETED for it, and "
                                    "libvirt times out", x->to->host->name, qv);
        return V_FAIL;
    }
    x->detail = g_strdup_printf("vCPU unplug under TCG is known for QEMU 7.2 only; %s has QEMU %s", x->to->host->name,
                                qv ? qv : "of unknown version");
    return V_UNKNOWN;
}

/* ------------------------------------------------------------------ move rules */

/* Under TCG a custom model starts where QEMU calls it unusable (custom-tcg), without its blocked
 * features; a move is another matter. The source's libvirt has fixed the guest's CPU to what QEMU
 * gave it (check='full' after start, qemuProcessUpdateLiveGuestCPU), and the destination compares
 * its own QEMU's CPU with that in full (qemuProcessVerifyCPUFeatures). So a guest that has the
 * model's features cannot land where they are blocked ("missing features"). One started without
 * them may or may not land where they are not: libvirt recorded as disabled the blocked features
 * its cpu_map model names, but QEMU's model can have more (QEMU's Westmere has pclmulqdq, libvirt
 * 9.0's does not), and the destination refuses those ("extra features"). The domain capabilities
 * do not say which; the live CPUs a probe records do (VT.live_cpu.MODEL, mm_probe_live_cpus):
 * what the destination's QEMU adds to libvirt's model and the origin's did not is refused. Without
 * them the move is unknown. */
static Verdict
check_custom_tcg_move(Ctx *x)
{
    const char *m = mm_cpu_mode_model(x->mode);
    bool there, here;

    if (x->mode->kind != MM_MODE_CUSTOM || x->origin == x->to ||
        strcmp(x->to->host->virt_type, "qemu") != 0 || strcmp(x->origin->host->virt_type, "qemu") != 0 ||
        g_strcmp0(vt_fact(x->to, "domcaps"), "yes") != 0 || g_strcmp0(vt_fact(x->origin, "domcaps"), "yes") != 0)
        return V_NEXT;
    there = mm_facts_list_has(vt_fact(x->to, "custom_usable"), m);
    here = mm_facts_list_has(vt_fact(x->origin, "custom_usable"), m);
    /* With the CPU compare first, custom-dest says precheck-incompatible for this one. */
    if (here && !there && !x->compare && mm_facts_list_has(vt_fact(x->to, "custom_unusable"), m)) {
        x->detail = g_strdup_printf("%s not usable on %s: the guest has the features QEMU blocks there, and libvirt "
                                    "checks an incoming CPU in full", m, x->to->host->name);
        return V_FAIL;
    }
    if (!here && there && mm_facts_list_has(vt_fact(x->origin, "custom_unusable"), m)) {
        g_autofree char *kreq = g_strdup_printf("live_cpu.%s.require", m);
        g_autofree char *kerr = g_strdup_printf("live_cpu.%s.error", m);
        const char *gave_here = vt_fact(x->origin, kreq), *gave_there = vt_fact(x->to, kreq);
        g_auto(GStrv) extra = NULL;
        g_autoptr(GString) refused = g_string_new(NULL);

        /* A named CPU adds its own features to the model; its live CPU is not what was probed. */
        if (x->mode->named || !gave_here || !gave_there) {
            const HostCpu *failed = vt_fact(x->origin, kerr) ? x->origin : vt_fact(x->to, kerr) ? x->to : NULL;

            x->detail = failed ? g_strdup_printf("%s started on %s without the features QEMU blocks there; the probe "
                                                 "of its live CPU on %s failed: %s", m, x->origin->host->name,
                                                 failed->host->name, vt_fact(failed, kerr))
                               : g_strdup_printf("%s started on %s without the features QEMU blocks there; whether "
                                                 "libvirt names them all in its model (else: extra features on %s) "
                                                 "needs both hosts' live CPU of it (`migmatrix probe` records it for "
                                                 "plain models)", m, x->origin->host->name, x->to->host->name);
            return V_UNKNOWN;
        }
        extra = g_strsplit(gave_there, ",", -1);
        for (guint i = 0; extra[i]; i++)
            if (*extra[i] && !mm_facts_list_has(gave_here, extra[i]))
                g_string_append_printf(refused, "%s%s", refused->len ? ", " : "", extra[i]);
        if (refused->len) {
            x->detail = g_strdup_printf("%s's QEMU gives custom:%s %s beyond libvirt's model, and %s's did not: the "
                                        "destination refuses the incoming CPU (extra features)",
                                        x->to->host->name, m, refused->str, x->origin->host->name);
            /* libvirt's model has all it needs there: the compare passes. */
            return V_FAIL_PAST_COMPARE;
        }
    }
    return V_NEXT;
}

static Verdict
check_custom_dest(Ctx *x)
{
    static const Check start_custom[] = { check_arm_custom, check_custom_tcg, check_custom_domcaps,
                                          check_custom_vendor, check_custom_features };
    Ctx y = { .p = x->p, .on = x->to, .mode = x->mode, .compare = x->compare };

    if (x->mode->kind != MM_MODE_CUSTOM)
        return V_NEXT;
    for (guint i = 0; i < G_N_ELEMENTS(start_custom); i++) {
        Verdict v = start_custom[i](&y);

        if (v == V_NEXT)
            continue;
        x->detail = y.detail;
        return v;
    }
    g_free(y.detail);
    return V_NEXT;
}

static Verdict
check_host_model_subset(Ctx *x)
{
    const MmCpuDef *g, *d;
    g_autoptr(GPtrArray) missing = NULL;

    if (x->mode->kind != MM_MODE_HOST_MODEL)
        return V_NEXT;
    if (!(g = host_model_cpu(x->origin))) {
        x->detail = g_strdup(x->origin->hm_why);
        return V_UNKNOWN;
    }
    if (!(d = host_model_cpu(x->to))) {
        x->detail = g_strdup(x->to->hm_why);
        return V_UNKNOWN;
    }
    if (g_strcmp0(g->vendor, d->vendor) != 0) {
        x->detail = g_strdup_printf("vendor %s, %s has %s", g->vendor ?: "?", x->to->host->name, d->vendor ?: "?");
        return V_FAIL;
    }
    missing = mm_cpu_features_missing(g, d);
    if (!missing->len)
        return V_OK;
    {
        g_autofree char *list = join_list(missing, 6);
        x->detail = g_strdup_printf("%s lacks %s", x->to->host->name, list);
    }
    return V_FAIL;
}

static Verdict
check_same_cpu(Ctx *x)
{
    const char *sa, *sb, *ma, *mb;

    if (x->mode->kind != MM_MODE_HOST_PASSTHROUGH && x->mode->kind != MM_MODE_MAXIMUM)
        return V_NEXT;
    /* Under TCG the guest's CPU is QEMU's emulation, not the host's: the same QEMU offering the
     * same CPU gives the same CPU; otherwise cpu-changes compares what each offers. */
    if (strcmp(x->origin->host->virt_type, "qemu") == 0 || strcmp(x->to->host->virt_type, "qemu") == 0)
        return fact(x->origin, "qemu_version") &&
                       g_strcmp0(fact(x->origin, "qemu_version"), fact(x->to, "qemu_version")) == 0 &&
                       g_strcmp0(vt_fact(x->origin, "host_model_cpu"), vt_fact(x->to, "host_model_cpu")) == 0 &&
                       g_strcmp0(vt_fact(x->origin, "host_model_require"), vt_fact(x->to, "host_model_require")) == 0 &&
                       g_strcmp0(vt_fact(x->origin, "host_model_disable"), vt_fact(x->to, "host_model_disable")) == 0
                   ? V_OK
                   : V_NEXT;
    sa = fact(x->origin, "cpu_signature");
    sb = fact(x->to, "cpu_signature");
    ma = fact(x->origin, "microcode");
    mb = fact(x->to, "microcode");
    if (x->origin == x->to || (sa && sb && strcmp(sa, sb) == 0 && g_strcmp0(ma, mb) == 0 &&
                               g_strcmp0(fact(x->origin, "cpu_features"), fact(x->to, "cpu_features")) == 0))
        return V_OK;
    return V_NEXT;
}

static Verdict
check_cpu_changes(Ctx *x)
{
    const MmCpuDef *g, *d;
    const char *why = NULL;

    if (x->mode->kind != MM_MODE_HOST_PASSTHROUGH && x->mode->kind != MM_MODE_MAXIMUM)
        return V_NEXT;
    if (!(g = guest_view(x->origin, &why)) || !(d = guest_view(x->to, &why))) {
        x->detail = g_strdup(why);
        return V_UNKNOWN;
    }
    x->lost = mm_cpu_features_missing(g, d);
    if (!x->lost->len) {
        x->detail = g_strdup_printf("another CPU on %s, no feature lost", x->to->host->name);
        return V_OK;
    }
    {
        g_autofree char *list = join_list(x->lost, 6);
        x->detail = g_strdup_printf("lost %s", list);
    }
    return V_CHANGED;
}

/* The table. Sources are libvirt 9.0 unless said. */
static const Rule rules[] = {
    { { "dossier", "every host the stage touches has a current dossier",
        "migmatrix: a verdict needs its facts; none is guessed" },
      START | MOVE | HOTPLUG, check_dossier },
    { { "none", "mode none starts and migrates on x86 and under TCG",
        "libvirt writes no <cpu>: QEMU's default model (qemu64 on x86), the same on every host" },
      START | MOVE, check_none },
    { { "arm-kvm-custom", "a named model on aarch64 KVM fails",
        "QEMU's KVM on ARM runs only the host CPU type: a named model fails in kvm_arch_init_vcpu "
        "(\"kvm_init_vcpu failed\"); aarch64 domcaps list every model usable='unknown'" },
      START, check_arm_custom },
    { { "mode-domcaps", "host-model, host-passthrough, maximum: supported as the domain capabilities say",
        "virConnectGetDomainCapabilities <mode name=… supported=…> (virQEMUCapsIsCPUModeSupported)" },
      START, check_mode_domcaps },
    { { "passthrough-accel", "without domcaps: host-passthrough starts under an accelerator only",
        "virQEMUCapsIsCPUModeSupported: host-passthrough needs virQEMUCapsTypeIsAccelerated (kvm, not TCG)" },
      START, check_passthrough_accel },
    { { "maximum-qemu", "without domcaps: maximum starts on x86 with QEMU 2.9 or later",
        "virQEMUCapsIsCPUModeSupported: maximum needs QEMU_CAPS_CPU_MAX, the 'max' model (x86: QEMU 2.9)" },
      START, check_maximum_qemu },
    { { "mode-unrecorded", "without domcaps: host-model and maximum are unknown",
        "they depend on the QEMU binary (query-cpu-model-expansion, the 'max' model)" },
      START, check_mode_unrecorded },
    { { "custom-tcg", "under TCG a custom model QEMU knows starts, usable or not; the CPU compare before a move "
        "refuses an unusable one", "qemuDomainDefPostParse: custom CPUs under TCG get check='none' (not compared "
        "to the host); virConnectCompareHypervisorCPU reads the same domcaps usability" },
      START, check_custom_tcg },
    { { "custom-domcaps", "custom:MODEL starts when the domain capabilities list it usable",
        "domcaps <model usable='yes|no'>: QEMU's query-cpu-definitions unavailable-features" },
      START, check_custom_domcaps },
    { { "custom-vendor", "without domcaps: the model belongs to the host's vendor (or to none)",
        "virConnectBaselineCPU keeps a model only for its own vendor (x86 cpu_map <vendor>)" },
      START, check_custom_vendor },
    { { "custom-features", "without domcaps: every feature of the model is one the host offers a guest",
        "virConnectBaselineCPU EXPAND_FEATURES of the model and of the host-model CPU, compared as sets" },
      START, check_custom_features },
    { { "hotplug-tcg", "after the move, a vCPU unplug fails under TCG (QEMU 7.2)",
        "QEMU 7.2 sends no DEVICE_DELETED for a TCG vCPU; qemuDomainWaitForDeviceRemoval times out after 5 s and "
        "libvirt keeps counting the vCPU" },
      HOTPLUG, check_hotplug_tcg },
    { { "custom-tcg-move", "under TCG a custom model moves only where QEMU blocks none of the features the guest "
        "has; one started without blocked features fails where QEMU's model gives a feature libvirt's lacks (the "
        "hosts' live CPUs), and is unknown without them", "qemuProcessUpdateLiveGuestCPU fixes the guest CPU "
        "(check='full'); the destination's qemuProcessVerifyCPUFeatures: missing or extra features" },
      MOVE, check_custom_tcg_move },
    { { "custom-dest", "custom:MODEL migrates when the model starts on the destination",
        "the destination QEMU is started with the same -cpu MODEL (qemuMigrationDstPrepare)" },
      MOVE, check_custom_dest },
    { { "host-model-subset", "host-model migrates when the destination offers the source's expansion, vendor "
        "included", "the migratable XML carries the expanded custom CPU (qemuDomainMakeCPUMigratable); the "
        "destination checks it like a custom CPU" },
      MOVE, check_host_model_subset },
    { { "same-cpu", "host-passthrough and maximum move unchanged between identical CPUs (signature, microcode, "
        "features)", "libvirt passes the host CPU through as it is" },
      MOVE, check_same_cpu },
    { { "cpu-changes", "otherwise they migrate and the guest's CPU becomes the destination's: the features "
        "it loses", "libvirt does not check host-passthrough on migration (VIR_MIGRATE_UNSAFE not needed); "
        "the guest sees the new host" },
      MOVE, check_cpu_changes },
};

const MmPredictRule *
mm_predict_rules(guint *n)
{
    static MmPredictRule out[G_N_ELEMENTS(rules)];

    for (guint i = 0; i < G_N_ELEMENTS(rules); i++)
        out[i] = rules[i].info;
    *n = G_N_ELEMENTS(rules);
    return out;
}

/* ------------------------------------------------------------------ engine */

MmPredictor *
mm_predictor_new(GHashTable *dossiers)
{
    MmPredictor *p = g_new0(MmPredictor, 1);

    p->dossiers = g_hash_table_ref(dossiers);
    p->hosts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)host_cpu_free);
    p->cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)cached_free);
    return p;
}

void
mm_predictor_free(MmPredictor *p)
{
    if (!p)
        return;
    g_hash_table_unref(p->dossiers);
    g_hash_table_unref(p->hosts);
    g_hash_table_unref(p->cache);
    g_free(p);
}

static HostCpu *
host_of(MmPredictor *p, const MmHost *host, const char *arch)
{
    g_autofree char *key = g_strdup_printf("%s|%s|%s", host->name, host->virt_type, arch ? arch : "");
    HostCpu *h = g_hash_table_lookup(p->hosts, key);

    if (!h) {
        const char *own;

        h = g_new0(HostCpu, 1);
        h->host = host;
        h->d = g_hash_table_lookup(p->dossiers, host->name);
        own = fact(h, "arch");
        h->cross = arch && own && strcmp(arch, own) != 0;
        h->arch = g_strdup(arch ? arch : own);
        h->vt = h->cross ? g_strdup_printf("%s@%s", host->virt_type, arch) : g_strdup(host->virt_type);
        g_hash_table_insert(p->hosts, g_steal_pointer(&key), h);
    }
    return h;
}

/* One stage through the rules of KIND; cached by what decides it. */
static const Cached *
stage(MmPredictor *p, unsigned kind, const MmHost *on, const MmHost *origin, const MmHost *from, const MmHost *to,
      const MmCpuMode *mode, const char *arch, bool compare)
{
    g_autofree char *mode_text = mm_cpu_mode_to_string(mode);
    g_autofree char *key = kind == START     ? g_strdup_printf("S|%s|%s|%s|%s", on->name, on->virt_type,
                                                               arch ? arch : "", mode_text)
                           : kind == HOTPLUG ? g_strdup_printf("H|%s|%s|%s", to->name, to->virt_type,
                                                               arch ? arch : "")
                                             : g_strdup_printf("M|%s|%s|%s|%s|%s|%s|%d", origin->name, from->name,
                                                           to->name, to->virt_type, arch ? arch : "", mode_text,
                                                           compare);
    Cached *c = g_hash_table_lookup(p->cache, key);
    Ctx x = { .p = p, .mode = mode, .compare = compare };

    if (c)
        return c;
    if (kind == START)
        x.on = host_of(p, on, arch);
    else if (kind == HOTPLUG)
        x.to = host_of(p, to, arch);
    else {
        x.origin = host_of(p, origin, arch);
        x.from = host_of(p, from, arch);
        x.to = host_of(p, to, arch);
    }
    c = g_new0(Cached, 1);
    c->v = V_OK;
    c->rule = "none-applies";
    for (guint i = 0; i < G_N_ELEMENTS(rules); i++) {
        Verdict v;

        if (!(rules[i].stages & kind))
            continue;
        v = rules[i].check(&x);
        if (v == V_NEXT) {
            g_clear_pointer(&x.detail, g_free);
            g_clear_pointer(&x.lost, g_ptr_array_unref);
            continue;
        }
        c->v = v;
        c->rule = rules[i].info.id;
        c->detail = g_steal_pointer(&x.detail);
        c->lost = g_steal_pointer(&x.lost);
        break;
    }
    g_hash_table_insert(p->cache, g_steal_pointer(&key), c);
    return c;
}

void
mm_predict_case(MmPredictor *p, const MmCase *c, MmPrediction *out)
{
    const char *rtext = NULL, *rkey = NULL;
    const MmCpuMode *reboot = c->hard_reboot ? mm_case_reboot_mode(c, &rtext, &rkey) : NULL;
    /* The guest that migrates back: restarted on the destination in its mode, or the one that
     * started on the source. */
    const MmCpuMode *back_mode = reboot ? reboot : c->mode;
    const MmHost *back_origin = reboot ? c->dst : c->src;
    struct {
        const char *name;
        unsigned kind;
        const MmHost *on, *origin, *from, *to;
        const MmCpuMode *mode;
        MmOutcome fail;
        bool run;
    } stages[] = {
        { "start", START, c->src, NULL, NULL, NULL, c->mode, MM_OUTCOME_START_FAILED, true },
        { "migrate", MOVE, NULL, c->src, c->src, c->dst, c->mode,
          c->compare_cpu && c->mode->kind != MM_MODE_HOST_PASSTHROUGH && c->mode->kind != MM_MODE_MAXIMUM
              ? MM_OUTCOME_PRECHECK_INCOMPATIBLE
              : MM_OUTCOME_MIGRATE_FAILED,
          true },
        /* the engine plugs a vCPU and unplugs it on the destination (hotplug_vcpus) */
        { "hotplug", HOTPLUG, NULL, NULL, NULL, c->dst, c->mode, MM_OUTCOME_MIGRATE_FAILED, c->hotplug_vcpus > 0 },
        { "reboot", START, c->dst, NULL, NULL, NULL, reboot, MM_OUTCOME_REBOOT_FAILED, reboot != NULL },
        { "migrate-back", MOVE, NULL, back_origin, c->dst, c->src, back_mode, MM_OUTCOME_BACK_FAILED, c->ping_pong },
    };
    const Cached *changed = NULL;
    const char *changed_stage = NULL;

    memset(out, 0, sizeof(*out));
    if (c->na_reason) {
        out->outcome = MM_OUTCOME_NA;
        out->rule = "not-applicable";
        out->stage = "plan";
        out->reason = g_strdup(c->na_reason);
        return;
    }
    for (guint i = 0; i < G_N_ELEMENTS(stages); i++) {
        const Cached *r;

        if (!stages[i].run)
            continue;
        r = stage(p, stages[i].kind, stages[i].on, stages[i].origin, stages[i].from, stages[i].to, stages[i].mode,
                  c->guest->arch, stages[i].fail == MM_OUTCOME_PRECHECK_INCOMPATIBLE);
        if (r->v == V_OK)
            continue;
        if (r->v == V_CHANGED) {
            if (!changed) {
                changed = r;
                changed_stage = stages[i].name;
            }
            continue;
        }
        out->unknown = r->v == V_UNKNOWN;
        out->outcome = r->v == V_FAIL_PAST_COMPARE && stages[i].fail == MM_OUTCOME_PRECHECK_INCOMPATIBLE
                           ? MM_OUTCOME_MIGRATE_FAILED
                           : stages[i].fail;
        out->rule = r->rule;
        out->stage = stages[i].name;
        out->reason = g_strdup(r->detail);
        return;
    }
    /* The engine sees a changed CPU only through the guest's own probe (cpu_probe): without
     * one, the same move ends pass. */
    if (changed && c->guest->cpu_probe == MM_PROBE_NONE) {
        g_autofree char *lost = changed->lost ? join_list(changed->lost, 6) : NULL;

        out->outcome = MM_OUTCOME_PASS;
        out->rule = changed->rule;
        out->stage = changed_stage;
        out->reason = g_strdup_printf("the guest's CPU changes (lost %s), unseen: it has no cpu_probe",
                                      lost ? lost : "?");
        return;
    }
    if (changed) {
        out->outcome = MM_OUTCOME_CPU_CHANGED;
        out->rule = changed->rule;
        out->stage = changed_stage;
        out->reason = g_strdup(changed->detail);
        out->lost = g_ptr_array_ref(changed->lost);
        return;
    }
    out->outcome = MM_OUTCOME_PASS;
    out->rule = "pass";
    out->stage = "cycle";
}

/* check_custom_tcg_move's one case that reads live CPUs: a plain model started where QEMU blocks
 * it (ORIGIN) and moved where it does not (TO). */
static void
want_live_cpu(const MmCpuMode *mode, GHashTable *origin, GHashTable *to, GPtrArray *out)
{
    if (!mode || mode->kind != MM_MODE_CUSTOM || mode->named ||
        !mm_facts_list_has(mm_facts_get(origin, "qemu.custom_unusable"), mode->model) ||
        !mm_facts_list_has(mm_facts_get(to, "qemu.custom_usable"), mode->model) ||
        g_ptr_array_find_with_equal_func(out, mode->model, g_str_equal, NULL))
        return;
    g_ptr_array_add(out, mode->model);
}

void
mm_predict_live_cpu_models(const MmCase *c, GHashTable *src_facts, GHashTable *dst_facts, GPtrArray *out)
{
    const char *arch = mm_facts_get(src_facts, "arch");

    /* TCG at both ends, the hosts' own arch. */
    if (strcmp(c->src->virt_type, "qemu") != 0 || strcmp(c->dst->virt_type, "qemu") != 0 || !arch ||
        g_strcmp0(arch, mm_facts_get(dst_facts, "arch")) != 0 || (c->guest->arch && strcmp(c->guest->arch, arch) != 0))
        return;
    want_live_cpu(c->mode, src_facts, dst_facts, out);
    /* Back after a hard reboot: the guest restarted on the destination, in its reboot mode.
     * Without one it goes back to where it started, which no live CPU decides. */
    if (c->ping_pong && c->hard_reboot) {
        const char *text, *key;

        want_live_cpu(mm_case_reboot_mode(c, &text, &key), dst_facts, src_facts, out);
    }
}
