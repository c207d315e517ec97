/* engine.c: the migration cycle of one case, as a state machine of named phases.
 *
 * Phase functions do one thing each and return ok or not, with a message. Only
 * mm_engine_run_case's loop orders them (next_phase), records each as a step, and makes sure
 * cleanup runs on every path. The outcome is the first hard failure; an XML change is soft
 * (the cycle goes on, and it is the outcome only if nothing worse happens). */
#include "migmatrix/engine.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "migmatrix/classify.h"
#include "migmatrix/domxml.h"
#include "migmatrix/liveness.h"
#include "migmatrix/util.h"
#include "migmatrix/xmldiff.h"

typedef enum {
    PH_PREPARE,
    PH_DEFINE,
    PH_START,
    PH_WAIT_ALIVE,
    PH_SNAPSHOT,
    PH_PRECHECK,
    PH_MIGRATE,
    PH_VERIFY,
    PH_REBOOT,
    PH_MIGRATE_BACK,
    PH_VERIFY_BACK,
    PH_ROLLBACK,
    PH_CLEANUP,
    PH_DONE,
} Phase;

static const char *const phase_names[] = {
    [PH_PREPARE] = "prepare",       [PH_DEFINE] = "define",
    [PH_START] = "start",           [PH_WAIT_ALIVE] = "wait-alive",
    [PH_SNAPSHOT] = "snapshot",     [PH_PRECHECK] = "precheck",
    [PH_MIGRATE] = "migrate",       [PH_VERIFY] = "verify",
    [PH_REBOOT] = "reboot",         [PH_MIGRATE_BACK] = "migrate-back",
    [PH_VERIFY_BACK] = "verify-back", [PH_ROLLBACK] = "rollback-check",
    [PH_CLEANUP] = "cleanup",
};

/* All state of one case. */
typedef struct {
    const MmEngineOptions *o;
    const MmCase *c;
    gint64 row;
    char *name;
    virConnectPtr sconn, dconn;  /* borrowed from the pool */
    virDomainPtr dom;            /* the guest where it is now */
    const MmHost *here;          /* and that host */
    MmLiveness *live;
    gint64 last_beat;            /* last progress value seen before a move */
    char *xml_before;            /* migratable XML on the source, after start */
    GString *msg;                /* the current phase's message */

    bool failed;                 /* a hard failure decided the outcome */
    bool back_leg;               /* the failed migration was the way back */
    bool xml_changed;
    MmOutcome outcome;
    char *reason;
    char *error_text;
} Cycle;

/* ---- helpers ------------------------------------------------------------------------------ */

static void
artifact(Cycle *cy, const char *kind, const char *name, const char *content)
{
    g_autoptr(GError) err = NULL;

    if (content && !mm_store_artifact_add(cy->o->store, cy->row, kind, name, content, &err))
        g_warning("%s: %s", cy->c->id, err->message);
}

static void
say(Cycle *cy, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void
say(Cycle *cy, const char *fmt, ...)
{
    va_list ap;

    if (cy->msg->len)
        g_string_append(cy->msg, "; ");
    va_start(ap, fmt);
    g_string_append_vprintf(cy->msg, fmt, ap);
    va_end(ap);
}

/* Records the first hard failure: outcome, classified reason, raw text, features. */
static bool
fail_with(Cycle *cy, MmOutcome phase_outcome, const MmFailure *f)
{
    MmVerdict v = { 0 };

    mm_classify(f, phase_outcome, &v);
    say(cy, "%s", f->message);
    if (!cy->failed) {
        cy->failed = true;
        cy->outcome = v.outcome;
        cy->reason = g_strdup(v.reason);
        cy->error_text = g_strdup(f->message);
        for (int i = 0; v.features && v.features[i]; i++)
            mm_store_feature_add(cy->o->store, cy->row, v.features[i], v.feature_kind, NULL);
        if (v.outcome == MM_OUTCOME_INFRA_ERROR) {
            mm_host_pool_invalidate(cy->o->pool, cy->c->src);
            mm_host_pool_invalidate(cy->o->pool, cy->c->dst);
        }
    }
    mm_verdict_clear(&v);
    return false;
}

static bool
fail_libvirt(Cycle *cy, MmOutcome phase_outcome, const char *what)
{
    MmFailure f = { 0 };
    bool r;

    mm_failure_from_libvirt(&f);
    if (what) {
        char *m = g_strdup_printf("%s: %s", what, f.message);
        g_free(f.message);
        f.message = m;
    }
    r = fail_with(cy, phase_outcome, &f);
    mm_failure_clear(&f);
    virResetLastError();
    return r;
}

static bool
fail_text(Cycle *cy, MmOutcome outcome, const char *reason, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static bool
fail_text(Cycle *cy, MmOutcome outcome, const char *reason, const char *fmt, ...)
{
    g_autofree char *text = NULL;
    va_list ap;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    say(cy, "%s", text);
    if (!cy->failed) {
        cy->failed = true;
        cy->outcome = outcome;
        cy->reason = g_strdup(reason);
        cy->error_text = g_strdup(text);
    }
    return false;
}

static char *
migratable_xml(virDomainPtr dom)
{
    return virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_MIGRATABLE);
}

static bool
running(virDomainPtr dom)
{
    int state = 0;
    return virDomainGetState(dom, &state, NULL, 0) == 0 && state == VIR_DOMAIN_RUNNING;
}

/* The domain of this case on CONN, or NULL (no error left behind). */
static virDomainPtr
lookup(virConnectPtr conn, const char *name)
{
    virDomainPtr d = conn ? virDomainLookupByName(conn, name) : NULL;

    if (!d)
        virResetLastError();
    return d;
}

static char *
guest_xml(Cycle *cy, const MmHost *host, const MmCpuMode *mode, const char *uuid)
{
    MmDomainSpec spec = {
        .name = cy->name, .virt_type = host->virt_type, .guest = cy->c->guest, .mode = mode, .uuid = uuid,
        .case_id = cy->c->id, .run_id = cy->o->run_id, .owner = cy->o->owner,
    };
    return mm_domxml_build(&spec);
}

/* Defines and starts the guest from XML on HOST, and starts watching it at once (its console
 * keeps no history, so the heartbeat must be read from the first line). */
static bool
define_and_start(Cycle *cy, virConnectPtr conn, const MmHost *host, const char *xml, MmOutcome outcome)
{
    g_autoptr(GError) err = NULL;

    if (cy->dom)
        virDomainFree(cy->dom);
    cy->here = host;
    if (!(cy->dom = virDomainDefineXML(conn, xml)))
        return fail_libvirt(cy, outcome, "define");
    if (virDomainCreate(cy->dom) < 0)
        return fail_libvirt(cy, outcome, "start");
    g_clear_pointer(&cy->live, mm_liveness_free);
    if (!(cy->live = mm_liveness_attach(cy->dom, cy->c->guest, &err))) {
        MmFailure f = { .message = g_strdup(err->message) };
        bool r = fail_with(cy, outcome, &f);
        mm_failure_clear(&f);
        return r;
    }
    return true;
}

/* Waits for progress: ADVANCES observations beyond BASELINE within TIMEOUT. */
static MmWaitResult
await_alive(Cycle *cy, gint64 baseline, guint timeout, char **detail)
{
    /* Two new heartbeats, not one: a guest that printed one last line and hung is not alive. */
    return mm_liveness_wait(cy->live, baseline, 2, timeout, detail);
}

static guint
boot_timeout(Cycle *cy)
{
    return cy->c->guest->boot_timeout ? cy->c->guest->boot_timeout : cy->o->sc->boot_timeout;
}

/* ---- migration, shared by migrate and migrate-back --------------------------------------- */

typedef struct {
    GMutex lock;
    GCond cond;
    bool done;
    bool aborted;
    const char *why;         /* "timeout" or "interrupted" */
    virDomainPtr dom;
    gint64 deadline;
} Watchdog;

/* Aborts the migration job on timeout or Ctrl-C: virDomainMigrate3 blocks its thread. */
static gpointer
watchdog_thread(gpointer data)
{
    Watchdog *w = data;

    g_mutex_lock(&w->lock);
    while (!w->done) {
        /* Once aborted, wait for the migration call to return: the deadline is in the past, and
         * waiting until it would return at once, forever, starving the caller of the lock. */
        if (w->aborted) {
            g_cond_wait(&w->cond, &w->lock);
            continue;
        }
        g_cond_wait_until(&w->cond, &w->lock, MIN(w->deadline, g_get_monotonic_time() + 200000));
        if (w->done)
            continue;
        if (mm_interrupted() || g_get_monotonic_time() >= w->deadline) {
            w->why = mm_interrupted() ? "interrupted" : "timeout";
            w->aborted = true;
            g_mutex_unlock(&w->lock);
            virDomainAbortJob(w->dom);
            virResetLastError();
            g_mutex_lock(&w->lock);
        }
    }
    g_mutex_unlock(&w->lock);
    return NULL;
}

static void
record_job_stats(Cycle *cy, virDomainPtr dom)
{
    virTypedParameterPtr params = NULL;
    int nparams = 0, type = 0;
    unsigned long long elapsed = 0, downtime = 0, total = 0, processed = 0;
    g_autoptr(GString) all = g_string_new(NULL);

    if (virDomainGetJobStats(dom, &type, &params, &nparams, VIR_DOMAIN_JOB_STATS_COMPLETED) < 0) {
        virResetLastError();
        return;
    }
    virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_TIME_ELAPSED, &elapsed);
    virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DOWNTIME, &downtime);
    virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DATA_TOTAL, &total);
    virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DATA_PROCESSED, &processed);
    for (int i = 0; i < nparams; i++) {
        const virTypedParameter *t = &params[i];

        g_string_append_printf(all, "%s=", t->field);
        switch (t->type) {
        case VIR_TYPED_PARAM_INT: g_string_append_printf(all, "%d", t->value.i); break;
        case VIR_TYPED_PARAM_UINT: g_string_append_printf(all, "%u", t->value.ui); break;
        case VIR_TYPED_PARAM_LLONG: g_string_append_printf(all, "%lld", t->value.l); break;
        case VIR_TYPED_PARAM_ULLONG: g_string_append_printf(all, "%llu", t->value.ul); break;
        case VIR_TYPED_PARAM_DOUBLE: g_string_append_printf(all, "%g", t->value.d); break;
        case VIR_TYPED_PARAM_BOOLEAN: g_string_append(all, t->value.b ? "yes" : "no"); break;
        case VIR_TYPED_PARAM_STRING: g_string_append(all, t->value.s ? t->value.s : ""); break;
        default: break;
        }
        g_string_append_c(all, '\n');
    }
    virTypedParamsFree(params, nparams);
    say(cy, "job %llu ms, downtime %llu ms, %llu MiB transferred", elapsed, downtime, processed >> 20);
    artifact(cy, "job-stats", phase_names[PH_MIGRATE], all->str);
}

static unsigned int
migrate_flags(const MmScenario *sc)
{
    static const struct { guint mm; unsigned int vir; } map[] = {
        { MM_MIGRATE_LIVE, VIR_MIGRATE_LIVE },
        { MM_MIGRATE_P2P, VIR_MIGRATE_PEER2PEER },
        { MM_MIGRATE_PERSISTENT, VIR_MIGRATE_PERSIST_DEST },
        { MM_MIGRATE_UNDEFINESOURCE, VIR_MIGRATE_UNDEFINE_SOURCE },
        { MM_MIGRATE_AUTO_CONVERGE, VIR_MIGRATE_AUTO_CONVERGE },
        { MM_MIGRATE_POSTCOPY, VIR_MIGRATE_POSTCOPY },
        { MM_MIGRATE_COMPRESSED, VIR_MIGRATE_COMPRESSED },
    };
    unsigned int flags = 0;

    for (gsize i = 0; i < G_N_ELEMENTS(map); i++)
        if (sc->migrate_flags & map[i].mm)
            flags |= map[i].vir;
    return flags;
}

/* Moves the guest from the host it is on to TO. On success cy->dom is the destination's. */
static bool
move_guest(Cycle *cy, virConnectPtr to_conn, const MmHost *to, MmOutcome outcome)
{
    const MmScenario *sc = cy->o->sc;
    virTypedParameterPtr params = NULL;
    int nparams = 0, maxparams = 0;
    unsigned int flags = migrate_flags(sc);
    Watchdog w = { .dom = cy->dom, .deadline = g_get_monotonic_time() + (gint64)sc->migrate_timeout * G_USEC_PER_SEC };
    GThread *wt;
    virDomainPtr ddom = NULL;
    bool ok;

    if (sc->bandwidth_mib)
        virTypedParamsAddULLong(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_BANDWIDTH, sc->bandwidth_mib);
    g_mutex_init(&w.lock);
    g_cond_init(&w.cond);
    wt = g_thread_new("migrate-watchdog", watchdog_thread, &w);

    if (flags & VIR_MIGRATE_PEER2PEER) {
        /* p2p: the source libvirtd connects to the destination itself. */
        if (virDomainMigrateToURI3(cy->dom, to->uri, params, nparams, flags) == 0)
            ddom = virDomainLookupByName(to_conn, cy->name);
    } else {
        ddom = virDomainMigrate3(cy->dom, to_conn, params, nparams, flags);
    }
    ok = ddom != NULL;
    /* Keep libvirt's error before the watchdog's abort call can touch this thread's state. */
    MmFailure f = { 0 };
    if (!ok)
        mm_failure_from_libvirt(&f);

    g_mutex_lock(&w.lock);
    w.done = true;
    g_cond_signal(&w.cond);
    g_mutex_unlock(&w.lock);
    g_thread_join(wt);
    g_mutex_clear(&w.lock);
    g_cond_clear(&w.cond);
    virTypedParamsFree(params, nparams);

    /* The source's console saw the last heartbeat before the guest left. */
    cy->last_beat = mm_liveness_last(cy->live);
    if (!ok) {
        /* Our own abort at migrate_timeout: libvirt only says "canceled by client". */
        if (w.aborted && strcmp(w.why, "timeout") == 0)
            fail_text(cy, outcome, "timeout", "migration aborted after migrate_timeout = %u s: %s",
                      sc->migrate_timeout, f.message);
        else
            fail_with(cy, outcome, &f);
        mm_failure_clear(&f);
        virResetLastError();
        return false;
    }
    record_job_stats(cy, ddom);
    g_clear_pointer(&cy->live, mm_liveness_free);
    virDomainFree(cy->dom);
    cy->dom = ddom;
    cy->here = to;
    return true;
}

/* After a move: the guest runs on the destination, not on the source, and keeps progressing. */
static bool
verify_moved(Cycle *cy, virConnectPtr from_conn, MmOutcome outcome)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *detail = NULL;
    virDomainPtr left;
    MmWaitResult r;

    if (!running(cy->dom))
        return fail_text(cy, outcome, "not running on the destination", "the guest is not running on %s",
                         cy->here->name);
    if ((left = lookup(from_conn, cy->name))) {
        bool active = virDomainIsActive(left) == 1;
        bool persistent = virDomainIsPersistent(left) == 1;

        virDomainFree(left);
        if (active)
            return fail_text(cy, outcome, "still running on the source", "the guest still runs on the source");
        /* Inactive is what persistent-without-undefinesource leaves behind. */
        if (persistent && (cy->o->sc->migrate_flags & MM_MIGRATE_UNDEFINESOURCE))
            return fail_text(cy, outcome, "source not undefined", "undefinesource was set, but the source "
                                                                   "still has the domain defined");
        say(cy, "source keeps an inactive definition");
    }
    if (!(cy->live = mm_liveness_attach(cy->dom, cy->c->guest, &err)))
        return fail_text(cy, MM_OUTCOME_INFRA_ERROR, "probe failed", "%s", err->message);
    r = await_alive(cy, cy->last_beat, cy->o->sc->alive_timeout, &detail);
    if (r == MM_WAIT_INTERRUPTED)
        return false;
    if (r != MM_WAIT_OK)
        return fail_text(cy, outcome == MM_OUTCOME_BACK_FAILED ? MM_OUTCOME_BACK_FAILED : MM_OUTCOME_GUEST_HUNG,
                         "no progress after migration", "running but not progressing on %s: %s", cy->here->name,
                         detail);
    say(cy, "alive on %s: %s", cy->here->name, detail);
    return true;
}

/* Diffs the source's XML before the move against DOM's now; returns the changes' text. */
static char *
diff_against_before(Cycle *cy, const char *kind, const char *diff_kind, bool *cpu_changed)
{
    g_autofree char *now = migratable_xml(cy->dom);
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) changes = NULL;
    char *text;

    if (!now) {
        virResetLastError();
        return NULL;
    }
    artifact(cy, kind, cy->here->name, now);
    if (!(changes = mm_xmldiff(cy->xml_before, now, &err)))
        return g_strdup_printf("cannot diff: %s", err->message);
    text = mm_xmldiff_format(changes);
    if (cpu_changed)
        *cpu_changed = mm_xmldiff_touches_cpu(changes);
    artifact(cy, diff_kind, cy->here->name, *text ? text : "(no changes)\n");
    return text;
}

/* ---- the phases ---------------------------------------------------------------------------- */

/* Connections, and leftovers of earlier interrupted runs: domains with our prefix and our
 * metadata whose owner is gone (or unrecorded, as older migmatrix wrote them). Another run's
 * domains (alive, or on another machine) are left alone and named. */
static bool
phase_prepare(Cycle *cy)
{
    const MmHost *hosts[] = { cy->c->src, cy->c->dst };
    virConnectPtr *conns[] = { &cy->sconn, &cy->dconn };
    g_autofree char *mine = g_strdup_printf(MM_DOMAIN_PREFIX "%s-", cy->o->token);
    g_autoptr(GString) others = g_string_new(NULL);
    guint removed = 0;

    for (int i = 0; i < 2; i++) {
        g_autoptr(GError) err = NULL;
        virDomainPtr *doms = NULL;
        int n;

        if (!(*conns[i] = mm_host_pool_get(cy->o->pool, hosts[i], &err)))
            return fail_text(cy, MM_OUTCOME_INFRA_ERROR, "host down", "%s", err->message);
        if ((n = virConnectListAllDomains(*conns[i], &doms, 0)) < 0)
            return fail_libvirt(cy, MM_OUTCOME_INFRA_ERROR, hosts[i]->name);
        for (int d = 0; d < n; d++) {
            const char *name = virDomainGetName(doms[d]);

            if (g_str_has_prefix(name, MM_DOMAIN_PREFIX) && !g_str_has_prefix(name, mine)) {
                g_autofree char *meta = virDomainGetMetadata(doms[d], VIR_DOMAIN_METADATA_ELEMENT, MM_METADATA_NS,
                                                             VIR_DOMAIN_AFFECT_CURRENT);
                g_autofree char *owner = mm_domxml_metadata_owner(meta);

                virResetLastError();
                /* No migmatrix metadata: not a domain of ours, whatever its name. */
                if (meta && owner && mm_engine_owner_alive(owner)) {
                    g_string_append_printf(others, "%s%s (%s, owner %s)", others->len ? ", " : "", name,
                                           hosts[i]->name, owner);
                } else if (meta) {
                    virDomainDestroy(doms[d]);
                    virDomainUndefineFlags(doms[d], VIR_DOMAIN_UNDEFINE_NVRAM);
                    virResetLastError();
                    removed++;
                }
            }
            virDomainFree(doms[d]);
        }
        free(doms);
    }
    say(cy, "connected to %s and %s", cy->c->src->name, cy->c->dst->name);
    if (removed)
        say(cy, "removed %u leftover domain(s) of earlier runs whose migmatrix is gone", removed);
    if (others->len)
        say(cy, "left alone domains of other migmatrix runs that may still be running: %s", others->str);
    return true;
}

static bool
phase_define(Cycle *cy)
{
    g_autofree char *xml = guest_xml(cy, cy->c->src, cy->c->mode, NULL);

    artifact(cy, "xml-defined", cy->c->src->name, xml);
    if (!(cy->dom = virDomainDefineXML(cy->sconn, xml)))
        return fail_libvirt(cy, MM_OUTCOME_START_FAILED, NULL);
    cy->here = cy->c->src;
    say(cy, "defined %s on %s (%s, %s)", cy->name, cy->c->src->name, cy->c->src->virt_type, cy->c->mode_text);
    return true;
}

static bool
phase_start(Cycle *cy)
{
    g_autoptr(GError) err = NULL;

    if (virDomainCreate(cy->dom) < 0)
        return fail_libvirt(cy, MM_OUTCOME_START_FAILED, NULL);
    if (!(cy->live = mm_liveness_attach(cy->dom, cy->c->guest, &err)))
        return fail_text(cy, MM_OUTCOME_INFRA_ERROR, "probe failed", "%s", err->message);
    say(cy, "started");
    return true;
}

static bool
phase_wait_alive(Cycle *cy)
{
    g_autofree char *detail = NULL;
    MmWaitResult r = await_alive(cy, -1, boot_timeout(cy), &detail);

    if (r == MM_WAIT_INTERRUPTED)
        return false;
    if (r != MM_WAIT_OK)
        return fail_text(cy, MM_OUTCOME_START_FAILED, "not alive after boot", "%s probe: %s",
                         mm_probe_kind_name(cy->c->guest->probe), detail);
    say(cy, "%s", detail);
    return true;
}

static bool
phase_snapshot(Cycle *cy)
{
    g_autofree char *live = virDomainGetXMLDesc(cy->dom, 0);
    g_autofree char *summary = NULL;

    if (!(cy->xml_before = migratable_xml(cy->dom)) || !live)
        return fail_libvirt(cy, MM_OUTCOME_INFRA_ERROR, "dump XML");
    artifact(cy, "xml-before", cy->c->src->name, cy->xml_before);
    artifact(cy, "xml-live-before", cy->c->src->name, live);
    summary = mm_domxml_cpu_summary(live);
    say(cy, "live CPU %s", summary);
    return true;
}

/* The platform's optional pre-check: can the destination run this guest's CPU? */
static bool
phase_precheck(Cycle *cy)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *cpu = mm_domxml_cpu_element(cy->xml_before, &err);
    int r;

    if (!cpu || strstr(cpu, "host-passthrough") || strstr(cpu, "mode=\"maximum\"")) {
        say(cy, "not applicable: the guest has %s", cpu ? "a host CPU mode" : "no <cpu> (mode none)");
        artifact(cy, "precheck", cy->c->dst->name, "not-applicable");
        return true;
    }
    r = virConnectCompareHypervisorCPU(cy->dconn, NULL, cy->c->guest->arch, NULL, cy->c->dst->virt_type, cpu,
                                       VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE);
    if (r == VIR_CPU_COMPARE_IDENTICAL || r == VIR_CPU_COMPARE_SUPERSET) {
        say(cy, "%s: compatible (%s)", cy->c->dst->name, r == VIR_CPU_COMPARE_IDENTICAL ? "identical" : "superset");
        artifact(cy, "precheck", cy->c->dst->name, "compatible");
        return true;
    }
    {
        MmFailure f = { 0 };
        g_autofree char *verdict = NULL;

        mm_failure_from_libvirt(&f);
        virResetLastError();
        /* No verdict to be had (e.g. aarch64 under TCG): say so and migrate anyway, as the
         * platform does when its pre-check cannot run. */
        if (f.code == VIR_ERR_OPERATION_UNSUPPORTED || f.code == VIR_ERR_NO_SUPPORT) {
            verdict = g_strdup_printf("unsupported: %s", f.message);
            artifact(cy, "precheck", cy->c->dst->name, verdict);
            say(cy, "no verdict: %s", f.message);
            mm_failure_clear(&f);
            return true;
        }
        verdict = g_strdup_printf("incompatible: %s", f.message);
        artifact(cy, "precheck", cy->c->dst->name, verdict);
        fail_with(cy, MM_OUTCOME_PRECHECK_INCOMPATIBLE, &f);
        /* An API error is not a verdict about the CPU. */
        if (f.code != VIR_ERR_CPU_INCOMPATIBLE && cy->outcome == MM_OUTCOME_PRECHECK_INCOMPATIBLE)
            cy->outcome = MM_OUTCOME_INFRA_ERROR;
        mm_failure_clear(&f);
        virResetLastError();
        return false;
    }
}

static bool
phase_migrate(Cycle *cy)
{
    if (!move_guest(cy, cy->dconn, cy->c->dst, MM_OUTCOME_MIGRATE_FAILED))
        return false;
    say(cy, "migrated to %s", cy->c->dst->name);
    return true;
}

static bool
phase_verify(Cycle *cy)
{
    g_autofree char *diff = NULL;

    if (!verify_moved(cy, cy->sconn, MM_OUTCOME_MIGRATE_FAILED))
        return false;
    diff = diff_against_before(cy, "xml-after", "xml-diff", NULL);
    if (diff && *diff) {
        cy->xml_changed = true;
        guint lines = 0;
        for (const char *q = diff; *q; q++)
            lines += *q == '\n';
        say(cy, "domain XML changed: %u line(s)", lines);
    } else {
        say(cy, "domain XML unchanged");
    }
    return true;
}

/* As the platform does on a hard reboot: the guest restarts with the node's default mode. */
static bool
phase_reboot(Cycle *cy)
{
    const MmHost *dst = cy->c->dst;
    char uuid[VIR_UUID_STRING_BUFLEN] = "";
    g_autofree char *xml = NULL;
    g_autofree char *detail = NULL;
    g_autofree char *diff = NULL;
    g_autofree char *before = mm_domxml_cpu_summary(cy->xml_before);
    g_autofree char *after = NULL;
    g_autofree char *now = NULL;
    bool cpu_changed = false;
    MmWaitResult r;

    /* The same instance, so the same UUID; only the definition is the platform's new one. */
    if (virDomainGetUUIDString(cy->dom, uuid) < 0)
        return fail_libvirt(cy, MM_OUTCOME_REBOOT_FAILED, "uuid");
    xml = guest_xml(cy, dst, &dst->default_cpu_mode, uuid);
    if (virDomainDestroy(cy->dom) < 0 || virDomainUndefineFlags(cy->dom, VIR_DOMAIN_UNDEFINE_NVRAM) < 0)
        return fail_libvirt(cy, MM_OUTCOME_REBOOT_FAILED, "destroy");
    artifact(cy, "xml-reboot-defined", dst->name, xml);
    if (!define_and_start(cy, cy->dconn, dst, xml, MM_OUTCOME_REBOOT_FAILED))
        return false;
    r = await_alive(cy, -1, boot_timeout(cy), &detail);
    if (r == MM_WAIT_INTERRUPTED)
        return false;
    if (r != MM_WAIT_OK)
        return fail_text(cy, MM_OUTCOME_REBOOT_FAILED, "not alive after reboot", "after hard reboot on %s: %s",
                         dst->name, detail);
    diff = diff_against_before(cy, "xml-after-reboot", "xml-diff-reboot", &cpu_changed);
    now = migratable_xml(cy->dom);
    after = now ? mm_domxml_cpu_summary(now) : g_strdup("?");
    virResetLastError();
    say(cy, "rebooted on %s with default_cpu_mode %s: %s; CPU %s -> %s", dst->name, dst->default_cpu_mode_text,
        detail, before, after);
    artifact(cy, "mode-after-reboot", dst->name, dst->default_cpu_mode_text);
    if (cpu_changed)
        say(cy, "the CPU definition changed at reboot");
    /* Later phases diff against what the guest is now. */
    g_free(cy->xml_before);
    cy->xml_before = g_steal_pointer(&now);
    return true;
}

static bool
phase_migrate_back(Cycle *cy)
{
    cy->back_leg = true;
    if (!move_guest(cy, cy->sconn, cy->c->src, MM_OUTCOME_BACK_FAILED))
        return false;
    say(cy, "migrated back to %s", cy->c->src->name);
    return true;
}

static bool
phase_verify_back(Cycle *cy)
{
    return verify_moved(cy, cy->dconn, MM_OUTCOME_BACK_FAILED);
}

/* A rollback that left things broken is worse than the failed migration before it: it
 * becomes the outcome, and the error text keeps both. */
static bool
rollback_broken(Cycle *cy, const char *reason, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static bool
rollback_broken(Cycle *cy, const char *reason, const char *fmt, ...)
{
    g_autofree char *text = NULL;
    char *both;
    va_list ap;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    say(cy, "%s", text);
    both = g_strdup_printf("%s; then: %s", cy->error_text ? cy->error_text : "migration failed", text);
    g_free(cy->error_text);
    cy->error_text = both;
    g_free(cy->reason);
    cy->reason = g_strdup(reason);
    cy->outcome = MM_OUTCOME_ROLLBACK_BROKEN;
    cy->failed = true;
    return false;
}

/* After a failed migration: the guest must still run (and progress) where it was, and the
 * other host must hold nothing. */
static bool
phase_rollback(Cycle *cy)
{
    virConnectPtr other = cy->back_leg ? cy->sconn : cy->dconn;
    const MmHost *other_host = cy->back_leg ? cy->c->src : cy->c->dst;
    g_autofree char *detail = NULL;
    virDomainPtr stray;
    MmWaitResult r;

    if ((stray = lookup(other, cy->name))) {
        virDomainFree(stray);
        return rollback_broken(cy, "destination not clean", "%s still has the domain after the failed migration",
                               other_host->name);
    }
    if (!running(cy->dom))
        return rollback_broken(cy, "source not running", "the guest no longer runs on %s after the failed migration",
                               cy->here->name);
    r = await_alive(cy, mm_liveness_last(cy->live), cy->o->sc->alive_timeout, &detail);
    if (r == MM_WAIT_INTERRUPTED)
        return false;
    if (r != MM_WAIT_OK)
        return rollback_broken(cy, "source not progressing",
                               "the guest runs on %s but does not progress after the failed migration: %s",
                               cy->here->name, detail);
    say(cy, "rolled back: still alive on %s (%s), %s clean", cy->here->name, detail, other_host->name);
    return true;
}

/* Whatever happened: destroy and undefine the guest on every host the case touched. */
static bool
phase_cleanup(Cycle *cy)
{
    virConnectPtr conns[] = { cy->sconn, cy->dconn };
    const MmHost *hosts[] = { cy->c->src, cy->c->dst };
    bool ok = true;

    if (cy->live) {
        g_autofree char *tail = mm_liveness_tail(cy->live);
        artifact(cy, "console-tail", cy->here ? cy->here->name : NULL, tail);
    }
    g_clear_pointer(&cy->live, mm_liveness_free);
    for (int i = 0; i < 2; i++) {
        virDomainPtr d = lookup(conns[i], cy->name);

        if (!d)
            continue;
        if (virDomainIsActive(d) == 1 && virDomainDestroy(d) < 0) {
            say(cy, "%s: destroy: %s", hosts[i]->name, virGetLastErrorMessage());
            ok = false;
        }
        if (virDomainIsPersistent(d) == 1 && virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_NVRAM) < 0) {
            say(cy, "%s: undefine: %s", hosts[i]->name, virGetLastErrorMessage());
            ok = false;
        }
        virResetLastError();
        virDomainFree(d);
        if (ok)
            say(cy, "removed from %s", hosts[i]->name);
    }
    if (!ok && !cy->failed)
        fail_text(cy, MM_OUTCOME_INFRA_ERROR, "cleanup failed", "%s", cy->msg->str);
    return ok;
}

typedef bool (*PhaseFunc)(Cycle *cy);

static const PhaseFunc phase_funcs[] = {
    [PH_PREPARE] = phase_prepare,       [PH_DEFINE] = phase_define,
    [PH_START] = phase_start,           [PH_WAIT_ALIVE] = phase_wait_alive,
    [PH_SNAPSHOT] = phase_snapshot,     [PH_PRECHECK] = phase_precheck,
    [PH_MIGRATE] = phase_migrate,       [PH_VERIFY] = phase_verify,
    [PH_REBOOT] = phase_reboot,         [PH_MIGRATE_BACK] = phase_migrate_back,
    [PH_VERIFY_BACK] = phase_verify_back, [PH_ROLLBACK] = phase_rollback,
    [PH_CLEANUP] = phase_cleanup,
};

/* ---- the order ------------------------------------------------------------------------------ */

static Phase
after_migration(const Cycle *cy)
{
    if (cy->c->hard_reboot)
        return PH_REBOOT;
    if (cy->c->ping_pong)
        return PH_MIGRATE_BACK;
    return PH_CLEANUP;
}

/* The one place that decides what comes next. */
static Phase
next_phase(const Cycle *cy, Phase p, bool ok)
{
    if (p == PH_CLEANUP)
        return PH_DONE;
    if (mm_interrupted())
        return PH_CLEANUP;
    switch (p) {
    case PH_PREPARE: return ok ? PH_DEFINE : PH_CLEANUP;
    case PH_DEFINE: return ok ? PH_START : PH_CLEANUP;
    case PH_START: return ok ? PH_WAIT_ALIVE : PH_CLEANUP;
    case PH_WAIT_ALIVE: return ok ? PH_SNAPSHOT : PH_CLEANUP;
    case PH_SNAPSHOT:
        if (!ok)
            return PH_CLEANUP;
        return cy->c->compare_cpu ? PH_PRECHECK : PH_MIGRATE;
    case PH_PRECHECK: return ok ? PH_MIGRATE : PH_CLEANUP;
    /* A failed migration must have left the guest where it was: check that. Unless the
     * connection itself is gone, in which case there is nothing to check through. */
    case PH_MIGRATE:
        return ok ? PH_VERIFY : cy->outcome == MM_OUTCOME_INFRA_ERROR ? PH_CLEANUP : PH_ROLLBACK;
    case PH_VERIFY: return ok ? after_migration(cy) : PH_CLEANUP;
    case PH_REBOOT: return ok && cy->c->ping_pong ? PH_MIGRATE_BACK : PH_CLEANUP;
    case PH_MIGRATE_BACK:
        return ok ? PH_VERIFY_BACK : cy->outcome == MM_OUTCOME_INFRA_ERROR ? PH_CLEANUP : PH_ROLLBACK;
    case PH_VERIFY_BACK:
    case PH_ROLLBACK:
    default: return PH_CLEANUP;
    }
}

void
mm_case_result_clear(MmCaseResult *r)
{
    g_clear_pointer(&r->reason, g_free);
    g_clear_pointer(&r->error_text, g_free);
}

void
mm_engine_identity(char **token, char **owner)
{
    g_autofree char *uuid = g_uuid_string_random();

    *token = g_strndup(uuid, 8);
    *owner = g_strdup_printf("%s:%d", g_get_host_name(), (int)getpid());
}

char *
mm_engine_domain_name(const char *token, guint index, const MmCase *c)
{
    return g_strdup_printf(MM_DOMAIN_PREFIX "%s-%u-%s", token, index, c->guest->name);
}

bool
mm_engine_owner_alive(const char *owner)
{
    const char *colon = owner ? strrchr(owner, ':') : NULL;
    g_autofree char *host = colon ? g_strndup(owner, colon - owner) : NULL;
    guint64 pid;

    if (!colon || strcmp(host, g_get_host_name()) != 0 ||
        !g_ascii_string_to_unsigned(colon + 1, 10, 1, G_MAXINT, &pid, NULL))
        return true;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

void
mm_engine_run_case(const MmEngineOptions *o, const MmCase *c, gint64 case_row, guint index, MmCaseResult *result)
{
    Cycle cy = { .o = o, .c = c, .row = case_row, .last_beat = -1 };
    gint64 t_case = g_get_monotonic_time();
    Phase p = PH_PREPARE;

    cy.name = mm_engine_domain_name(o->token, index, c);
    cy.msg = g_string_new(NULL);
    while (p != PH_DONE) {
        g_autofree char *started = mm_store_now();
        gint64 t0 = g_get_monotonic_time();
        bool ok;

        if (o->on_phase)
            o->on_phase(c, phase_names[p], o->data);
        g_string_truncate(cy.msg, 0);
        ok = phase_funcs[p](&cy);
        if (mm_interrupted() && p != PH_CLEANUP && !cy.msg->len)
            say(&cy, "interrupted");
        mm_store_step_add(o->store, case_row, phase_names[p], started, (g_get_monotonic_time() - t0) / 1000, ok,
                          cy.msg->str, NULL);
        p = next_phase(&cy, p, ok);
    }

    if (cy.live)
        mm_liveness_free(cy.live);
    /* An interrupt ends the case wherever it was; what it stopped (an aborted migration job)
     * is not the case's result. */
    result->interrupted = mm_interrupted();
    if (cy.failed) {
        result->outcome = cy.outcome;
        result->reason = g_steal_pointer(&cy.reason);
        result->error_text = g_steal_pointer(&cy.error_text);
    } else if (cy.xml_changed) {
        result->outcome = MM_OUTCOME_XML_CHANGED;
        result->reason = g_strdup("domain XML changed across migration");
    } else {
        result->outcome = MM_OUTCOME_PASS;
    }
    result->duration_ms = (g_get_monotonic_time() - t_case) / 1000;
    if (cy.dom)
        virDomainFree(cy.dom);
    g_free(cy.xml_before);
    g_free(cy.reason);
    g_free(cy.error_text);
    g_free(cy.name);
    g_string_free(cy.msg, TRUE);
}
