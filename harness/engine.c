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

#include "engine-priv.h"
#include "migmatrix/classify.h"
#include "migmatrix/domxml.h"
#include "migmatrix/guestcpu.h"
#include "migmatrix/liveness.h"
#include "migmatrix/util.h"
#include "migmatrix/xml.h"
#include "migmatrix/xmldiff.h"

static const char *const phase_names[] = {
    [MM_PH_PREPARE] = "prepare",       [MM_PH_DEFINE] = "define",
    [MM_PH_START] = "start",           [MM_PH_WAIT_ALIVE] = "wait-alive",
    [MM_PH_SNAPSHOT] = "snapshot",     [MM_PH_PRECHECK] = "precheck",
    [MM_PH_MIGRATE] = "migrate",       [MM_PH_VERIFY] = "verify",
    [MM_PH_REBOOT] = "reboot",         [MM_PH_MIGRATE_BACK] = "migrate-back",
    [MM_PH_VERIFY_BACK] = "verify-back", [MM_PH_ROLLBACK] = "rollback-check",
    [MM_PH_CLEANUP] = "cleanup",       [MM_PH_DONE] = "done",
};

const char *
mm_phase_name(MmPhase p)
{
    return phase_names[p];
}

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
    MmRebootWatch *reboots;      /* resets of the guest on the host it last moved to */
    gint64 last_beat;            /* last progress value seen before a move */
    char *xml_before;            /* migratable XML on the source, after start */
    MmGuestCpu *cpu_before;      /* the CPU the guest saw before the move; NULL: not measured */
    GString *msg;                /* the current phase's message */
    GError *store_error;         /* the first write to the results DB that failed */

    bool failed;                 /* a hard failure decided the outcome */
    bool back_leg;               /* the failed migration was the way back */
    bool attempted;              /* the last migration job was started */
    bool xml_changed;
    bool cpu_lost;               /* alive after a move, but its CPUID lost features */
    GString *cpu_lost_text;      /* "lost aes, … after migrate on lab-c", for the case's error text */
    MmOutcome outcome;
    char *reason;
    char *error_text;
} Cycle;

/* ---- helpers ------------------------------------------------------------------------------ */

/* Every write of the case goes through here: the first that fails is kept, the case goes to
 * cleanup, and ends as infra-error with SQLite's message (a verdict whose evidence was not
 * stored is not a verdict). */
static void
stored(Cycle *cy, bool ok, GError **err)
{
    /* ERR by address: it is read after the write that sets it (argument order is unspecified). */
    if (!ok && !cy->store_error)
        cy->store_error = g_error_copy(*err);
}

static void
artifact(Cycle *cy, const char *kind, const char *name, const char *content)
{
    g_autoptr(GError) err = NULL;

    if (content)
        stored(cy, mm_store_artifact_add(cy->o->store, cy->row, kind, name, content, &err), &err);
}

static void
feature(Cycle *cy, const char *name, const char *kind)
{
    g_autoptr(GError) err = NULL;

    stored(cy, mm_store_feature_add(cy->o->store, cy->row, name, kind, &err), &err);
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

/* The domain NAME on CONN: 1 and *DOM when it is there, 0 when libvirt says there is no such
 * domain, -1 when it could not tell (a connection error: *WHY). Only "no such domain" means
 * absent: an error read as "gone" would call a broken host clean. */
static int
lookup(virConnectPtr conn, const char *name, virDomainPtr *dom, char **why)
{
    virErrorPtr e;

    *dom = NULL;
    if (!conn) {
        *why = g_strdup("no connection");
        return -1;
    }
    if ((*dom = virDomainLookupByName(conn, name)))
        return 1;
    e = virGetLastError();
    if (e && e->code == VIR_ERR_NO_DOMAIN) {
        virResetLastError();
        return 0;
    }
    *why = g_strdup(e && e->message ? e->message : "unknown libvirt error");
    virResetLastError();
    return -1;
}

/* Do both hosts of the case answer? A cheap call on each, reconnecting once where it does not.
 * NULL when both do; else which does not, and why. Decides infra-error: a failure's wording
 * ("Broken pipe", "End of file") says only that some stream broke, not that a host is gone. */
static char *
hosts_down(Cycle *cy)
{
    const MmHost *hosts[] = { cy->c->src, cy->c->dst };
    virConnectPtr *conns[] = { &cy->sconn, &cy->dconn };

    for (int i = 0; i < 2; i++) {
        g_autoptr(GError) err = NULL;
        unsigned long v = 0;
        virConnectPtr old = *conns[i], fresh;

        if (old && virConnectIsAlive(old) == 1 && virConnectGetLibVersion(old, &v) == 0)
            continue;
        virResetLastError();
        mm_host_pool_invalidate(cy->o->pool, hosts[i]);
        /* The old connection stays where it was (the pool keeps it open until the run ends):
         * cleanup can still try it, and say so, rather than skip the host. */
        if (!(fresh = mm_host_pool_get(cy->o->pool, hosts[i], &err)))
            return g_strdup_printf("%s does not answer: %s", hosts[i]->name, err->message);
        if (virConnectGetLibVersion(fresh, &v) < 0) {
            g_autofree char *why = g_strdup(virGetLastErrorMessage());
            virResetLastError();
            mm_host_pool_invalidate(cy->o->pool, hosts[i]);
            return g_strdup_printf("%s does not answer: %s", hosts[i]->name, why);
        }
        *conns[i] = fresh;
        /* A new connection: the guest's handle and console belonged to the old one. */
        if (fresh != old && cy->here == hosts[i] && cy->dom) {
            g_autofree char *why = NULL;
            virDomainPtr d = NULL;
            int found = lookup(fresh, cy->name, &d, &why);

            if (found == 1) {
                g_autoptr(GError) e2 = NULL;
                MmLiveness *live = mm_liveness_attach(d, cy->c->guest, &e2);

                virDomainFree(cy->dom);
                cy->dom = d;
                if (live) {
                    g_clear_pointer(&cy->live, mm_liveness_free);
                    cy->live = live;
                } else {
                    say(cy, "%s: cannot watch the guest again: %s", hosts[i]->name, e2->message);
                }
            } else if (found < 0) {
                return g_strdup_printf("%s answers, but not about the guest: %s", hosts[i]->name, why);
            }
        }
    }
    return NULL;
}

/* The tail of HOST's QEMU log for this domain (libvirt writes /var/log/libvirt/qemu/NAME.log),
 * read over the host's ssh, from the last QEMU start on: the log is appended to at every start
 * and incoming migration. NULL when the host has no ssh, or it cannot be read (said in WHY). */
static char *
qemu_log_tail(Cycle *cy, const MmHost *host, char **why)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(MmSsh) ssh = mm_host_ssh(host, &err);
    g_autofree char *path = g_strdup_printf("/var/log/libvirt/qemu/%s.log", cy->name);
    g_autofree char *quoted = g_shell_quote(path);
    g_autofree char *cmd = g_strdup_printf("tail -n 200 %s", quoted);
    g_autofree char *out = NULL;
    if (!ssh) {
        *why = err ? g_strdup_printf("QEMU log of %s not read: %s", host->name, err->message)
                   : g_strdup_printf("QEMU log of %s not read: the host has no ssh key", host->name);
        return NULL;
    }
    if (!mm_ssh_exec(ssh, cmd, 10, &out, &err)) {
        *why = g_strdup_printf("QEMU log of %s not read: %s", host->name, err->message);
        return NULL;
    }
    return mm_qemu_log_clean(out);
}

static bool
migrating(MmOutcome phase_outcome)
{
    return phase_outcome == MM_OUTCOME_MIGRATE_FAILED || phase_outcome == MM_OUTCOME_BACK_FAILED;
}

/* Records the first hard failure F of a phase whose failures mean PHASE_OUTCOME: outcome,
 * classified reason, raw text, features. LOG_HOST: where this domain's QEMU ran, whose log is
 * attached and, when libvirt's text is generic, says the real cause (NULL: none). A failure
 * worded like a lost connection is infra-error only when a host really does not answer. */
static bool
fail_at(Cycle *cy, MmOutcome phase_outcome, const MmFailure *f, const MmHost *log_host)
{
    MmVerdict v = { 0 };

    mm_classify(f, phase_outcome, &v);
    say(cy, "%s", f->message);
    if (cy->failed) {
        mm_verdict_clear(&v);
        return false;
    }
    if (v.outcome == MM_OUTCOME_INFRA_ERROR) {
        g_autofree char *down = hosts_down(cy);

        if (down) {
            say(cy, "%s", down);
            log_host = NULL;            /* nothing to read it through */
        } else {
            if (phase_outcome != MM_OUTCOME_INFRA_ERROR)
                say(cy, "both hosts answer: not an infrastructure failure");
            v.outcome = phase_outcome;
            if (v.generic) {
                g_free(v.reason);
                v.reason = g_strdup(migrating(phase_outcome) ? "migration stream broken" : "QEMU connection lost");
            }
        }
    }
    if (log_host) {
        g_autofree char *why = NULL;
        g_autofree char *log = qemu_log_tail(cy, log_host, &why);
        MmVerdict lv = { 0 };

        if (!log)
            say(cy, "%s", why);
        artifact(cy, "qemu-log", log_host->name, log);
        /* libvirt's text says only that something died: the log says what. */
        if (log && v.generic && mm_classify_log(log, v.outcome, &lv)) {
            /* In a migration the log read is the destination's. */
            if (migrating(phase_outcome) && strcmp(lv.reason, "QEMU exited") == 0) {
                g_free(lv.reason);
                lv.reason = g_strdup("destination QEMU exited");
            }
            say(cy, "%s's QEMU log: %s", log_host->name, lv.reason);
            mm_verdict_clear(&v);
            v = lv;
        }
    }
    cy->failed = true;
    cy->outcome = v.outcome;
    cy->reason = g_strdup(v.reason);
    cy->error_text = g_strdup(f->message);
    for (int i = 0; v.features && v.features[i]; i++)
        feature(cy, v.features[i], v.feature_kind);
    mm_verdict_clear(&v);
    return false;
}

static bool
fail_with(Cycle *cy, MmOutcome phase_outcome, const MmFailure *f)
{
    return fail_at(cy, phase_outcome, f, NULL);
}

/* libvirt's last error, prefixed with WHAT (may be NULL), as the phase's failure. */
static bool
fail_libvirt_at(Cycle *cy, MmOutcome phase_outcome, const char *what, const MmHost *log_host)
{
    MmFailure f = { 0 };
    bool r;

    mm_failure_from_libvirt(&f);
    virResetLastError();
    if (what) {
        char *m = g_strdup_printf("%s: %s", what, f.message);
        g_free(f.message);
        f.message = m;
    }
    r = fail_at(cy, phase_outcome, &f, log_host);
    mm_failure_clear(&f);
    return r;
}

static bool
fail_libvirt(Cycle *cy, MmOutcome phase_outcome, const char *what)
{
    return fail_libvirt_at(cy, phase_outcome, what, NULL);
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
        return fail_libvirt_at(cy, outcome, "start", host);
    g_clear_pointer(&cy->live, mm_liveness_free);
    if (!(cy->live = mm_liveness_attach(cy->dom, cy->c->guest, &err))) {
        MmFailure f = { .message = g_strdup(err->message) };
        bool r = fail_with(cy, outcome, &f);
        mm_failure_clear(&f);
        return r;
    }
    return true;
}

/* A wait the harness could not watch (its event loop stuck) says nothing of the guest: the
 * case is infra-error, never guest-hung or start-failed. */
static bool
watched_nothing(Cycle *cy, const char *detail)
{
    return fail_text(cy, MM_OUTCOME_INFRA_ERROR, "harness stalled", "%s", detail);
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

/* ---- the guest's own CPU (cpu_probe) -------------------------------------------------------- */

/* Reads and decodes the guest's CPUID where it is now (POINT: "before migrate", "after
 * migrate", …). NULL when it is not measured; the step says why. Never fails the case: a guest
 * without a way to run CPUID (Windows without an agent command) is simply not measured. */
static MmGuestCpu *
capture_cpu(Cycle *cy, const char *point)
{
    g_autofree char *text = NULL;
    g_autofree char *detail = NULL;
    g_autofree char *name = g_strdup_printf("%s on %s", point, cy->here->name);
    g_autoptr(GError) err = NULL;
    g_autoptr(MmGuestCpu) cpu = NULL;
    g_autofree char *joined = NULL;
    const MmCpuFeatureMap *map;
    MmWaitResult r;

    if (cy->c->guest->cpu_probe == MM_PROBE_NONE || !cy->live)
        return NULL;
    r = mm_liveness_cpuid(cy->live, cy->o->sc->alive_timeout, &text, &detail);
    if (r != MM_WAIT_OK) {
        say(cy, "guest CPU %s: not measured: %s", point, detail ? detail : "interrupted");
        artifact(cy, "guest-cpu", name, detail ? detail : "interrupted");
        return NULL;
    }
    if (!(map = mm_cpu_feature_map_default(&err)) || !(cpu = mm_guestcpu_decode(map, text, &err))) {
        g_autofree char *content = g_strdup_printf("not measured: %s\n\n%s", err->message, text);
        say(cy, "guest CPU %s: not measured: %s", point, err->message);
        artifact(cy, "guest-cpu", name, content);
        return NULL;
    }
    joined = mm_guestcpu_join(mm_guestcpu_features(cpu), " ");
    {
        g_autofree char *content = g_strdup_printf("features: %s\n\n%s", joined, text);
        artifact(cy, "guest-cpu", name, content);
    }
    return g_steal_pointer(&cpu);
}

/* After a move: what the guest's CPUID lost and gained against before it. A running guest that
 * lost features is cpu-changed; gained ones are noted. The capture becomes the new baseline. */
static void
compare_cpu(Cycle *cy, const char *point, bool record)
{
    g_autoptr(MmGuestCpu) now = NULL;
    g_autoptr(GPtrArray) lost = NULL;
    g_autoptr(GPtrArray) gained = NULL;
    g_autofree char *lost_text = NULL;
    g_autofree char *gained_text = NULL;

    if (cy->c->guest->cpu_probe == MM_PROBE_NONE)
        return;
    if (!cy->cpu_before) {
        say(cy, "guest CPU %s: not compared (nothing measured before)", point);
        cy->cpu_before = capture_cpu(cy, point);
        return;
    }
    if (!(now = capture_cpu(cy, point)))
        return;
    mm_guestcpu_diff(mm_cpu_feature_map_default(NULL), cy->cpu_before, now, &lost, &gained);
    lost_text = mm_guestcpu_join(lost, ", ");
    gained_text = mm_guestcpu_join(gained, ", ");
    if (!lost->len && !gained->len)
        say(cy, "guest CPU %s: unchanged (%u features)", point, mm_guestcpu_features(now)->len);
    else
        say(cy, "guest CPU %s: %s%s%s%s%s", point, lost->len ? "lost " : "", lost_text,
            lost->len && gained->len ? "; " : "", gained->len ? "gained " : "", gained_text);
    if (record) {
        for (guint i = 0; i < lost->len; i++)
            feature(cy, lost->pdata[i], "lost");
        for (guint i = 0; i < gained->len; i++)
            feature(cy, gained->pdata[i], "gained");
        if (lost->len) {
            cy->cpu_lost = true;
            if (!cy->cpu_lost_text)
                cy->cpu_lost_text = g_string_new(NULL);
            g_string_append_printf(cy->cpu_lost_text, "%sthe guest's CPUID lost %s %s on %s",
                                   cy->cpu_lost_text->len ? "; " : "", lost_text, point, cy->here->name);
        }
    }
    mm_guestcpu_free(cy->cpu_before);
    cy->cpu_before = g_steal_pointer(&now);
}

/* ---- migration, shared by migrate and migrate-back --------------------------------------- */

typedef struct {
    GMutex lock;
    GCond cond;
    bool done;
    bool aborted;
    const char *why;         /* "timeout" or "interrupted" */
    virDomainPtr dom;
    gint64 t0, deadline;
    /* Post-copy: started as soon as the job moves data, so the guest really runs post-copy. */
    bool postcopy;
    gint64 postcopy_at;      /* ms after t0 when libvirt accepted it; -1: not (yet) */
    char *postcopy_error;    /* its last refusal */
    /* The last job statistics taken while the job ran: a failed job may leave no final ones. */
    virTypedParameterPtr sample;
    int nsample;
} Watchdog;

static unsigned long long
param_ull(virTypedParameterPtr p, int n, const char *name)
{
    unsigned long long v = 0;

    return virTypedParamsGetULLong(p, n, name, &v) == 1 ? v : 0;
}

/* Samples the running job, starts post-copy when asked, and aborts the migration on timeout or
 * Ctrl-C: virDomainMigrate3 blocks its own thread for the job's whole life. */
static gpointer
watchdog_thread(gpointer data)
{
    Watchdog *w = data;

    g_mutex_lock(&w->lock);
    while (!w->done) {
        virTypedParameterPtr params = NULL;
        int nparams = 0, type = VIR_DOMAIN_JOB_NONE;

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
            continue;
        }
        g_mutex_unlock(&w->lock);
        if (virDomainGetJobStats(w->dom, &type, &params, &nparams, 0) < 0 || type == VIR_DOMAIN_JOB_NONE) {
            virTypedParamsFree(params, nparams);
            params = NULL;
            nparams = 0;
        }
        virResetLastError();
        if (params && w->postcopy && w->postcopy_at < 0 &&
            param_ull(params, nparams, VIR_DOMAIN_JOB_DATA_PROCESSED) > 0) {
            if (virDomainMigrateStartPostCopy(w->dom, 0) == 0) {
                w->postcopy_at = (g_get_monotonic_time() - w->t0) / 1000;
            } else {
                g_free(w->postcopy_error);
                w->postcopy_error = g_strdup(virGetLastErrorMessage());
            }
            virResetLastError();
        }
        g_mutex_lock(&w->lock);
        if (params) {
            virTypedParamsFree(w->sample, w->nsample);
            w->sample = params;
            w->nsample = nparams;
        }
    }
    g_mutex_unlock(&w->lock);
    return NULL;
}

static char *
params_text(virTypedParameterPtr params, int nparams)
{
    GString *all = g_string_new(NULL);

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
    return g_string_free(all, FALSE);
}

static gint64
param_known(virTypedParameterPtr p, int n, const char *name)
{
    unsigned long long v = 0;

    return virTypedParamsGetULLong(p, n, name, &v) == 1 ? (gint64)v : -1;
}

/* Stores the statistics of one migration attempt, successful or not: libvirt's final ones for
 * the job where it kept them (on the domain that now holds the guest), else the last sample. */
static void
record_job_stats(Cycle *cy, const char *leg, bool ok, virDomainPtr holder, Watchdog *w, bool postcopy_ran)
{
    MmMigrationRecord m = { .leg = (char *)leg, .ok = ok, .stats = (char *)"none", .total_ms = -1,
                            .downtime_ms = -1, .data_total = -1, .data_processed = -1, .data_remaining = -1,
                            .memory_iterations = -1, .dirty_rate = -1, .postcopy = postcopy_ran,
                            .postcopy_after_ms = w->postcopy_at };
    virTypedParameterPtr params = NULL;
    int nparams = 0, type = 0;
    g_autoptr(GError) err = NULL;
    g_autofree char *text = NULL;

    if (holder && virDomainGetJobStats(holder, &type, &params, &nparams, VIR_DOMAIN_JOB_STATS_COMPLETED) == 0 &&
        type != VIR_DOMAIN_JOB_NONE && nparams > 0) {
        m.stats = (char *)"completed";
    } else {
        virTypedParamsFree(params, nparams);
        params = w->sample;
        nparams = w->nsample;
        w->sample = NULL;
        w->nsample = 0;
        if (params)
            m.stats = (char *)"last sample";
    }
    virResetLastError();
    if (params) {
        m.total_ms = param_known(params, nparams, VIR_DOMAIN_JOB_TIME_ELAPSED);
        m.downtime_ms = param_known(params, nparams, VIR_DOMAIN_JOB_DOWNTIME);
        m.data_total = param_known(params, nparams, VIR_DOMAIN_JOB_DATA_TOTAL);
        m.data_processed = param_known(params, nparams, VIR_DOMAIN_JOB_DATA_PROCESSED);
        m.data_remaining = param_known(params, nparams, VIR_DOMAIN_JOB_DATA_REMAINING);
        m.memory_iterations = param_known(params, nparams, VIR_DOMAIN_JOB_MEMORY_ITERATION);
        m.dirty_rate = param_known(params, nparams, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE);
        text = params_text(params, nparams);
    }
    virTypedParamsFree(params, nparams);
    stored(cy, mm_store_migration_add(cy->o->store, cy->row, &m, &err), &err);
    {
        g_autofree char *content = g_strdup_printf("stats=%s\n%s", m.stats, text ? text : "");
        artifact(cy, "job-stats", leg, content);
    }
    if (text) {
        g_autofree char *total = m.total_ms >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, m.total_ms) : g_strdup("?");
        g_autofree char *down = m.downtime_ms >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, m.downtime_ms)
                                                   : g_strdup("?");

        say(cy, "job %s ms, downtime %s ms, %" G_GINT64_FORMAT " MiB transferred (%s statistics)", total, down,
            m.data_processed >= 0 ? m.data_processed >> 20 : 0, m.stats);
    } else
        say(cy, "no job statistics: libvirt kept none for this attempt");
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
        { MM_MIGRATE_COPY_STORAGE_ALL, VIR_MIGRATE_NON_SHARED_DISK },
        { MM_MIGRATE_UNSAFE, VIR_MIGRATE_UNSAFE },
    };
    unsigned int flags = 0;

    for (gsize i = 0; i < G_N_ELEMENTS(map); i++)
        if (sc->migrate_flags & map[i].mm)
            flags |= map[i].vir;
    return flags;
}

/* A flag the event loop thread sets: on the heap, with libvirt's own reference, since a
 * callback being dispatched may still run after it is deregistered. */
typedef struct {
    gint refs;
    gint seen;
} EventFlag;

static void
event_flag_unref(void *opaque)
{
    EventFlag *f = opaque;

    if (g_atomic_int_dec_and_test(&f->refs))
        g_free(f);
}

/* The source's lifecycle event "suspended, post-copy": the migration really switched. */
static int
postcopy_event(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn;
    (void)dom;
    if (event == VIR_DOMAIN_EVENT_SUSPENDED && detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY)
        g_atomic_int_set(&((EventFlag *)opaque)->seen, 1);
    return 0;
}

/* A guest that stopped before the migration is not a migration result: one fresh sign of
 * progress right before the job starts. */
static bool
alive_before_move(Cycle *cy, const MmHost *to)
{
    g_autofree char *detail = NULL;
    MmWaitResult r = mm_liveness_wait(cy->live, mm_liveness_last(cy->live), 1, cy->o->sc->alive_timeout, &detail);

    if (r == MM_WAIT_INTERRUPTED)
        return false;
    if (r == MM_WAIT_BLIND)
        return watched_nothing(cy, detail);
    if (r == MM_WAIT_OK) {
        say(cy, "alive on %s before migrating: %s", cy->here->name, detail);
        return true;
    }
    if (!cy->back_leg)
        return fail_text(cy, MM_OUTCOME_START_FAILED, "hung before migration",
                         "not progressing on %s right before migrating to %s: %s", cy->here->name, to->name, detail);
    /* On the way back it ran (and was seen alive) where the first move or the reboot put it. */
    return fail_text(cy, cy->c->hard_reboot ? MM_OUTCOME_REBOOT_FAILED : MM_OUTCOME_GUEST_HUNG,
                     "hung before migration back", "not progressing on %s right before migrating back to %s: %s",
                     cy->here->name, to->name, detail);
}

/* Moves the guest from the host it is on to TO. On success cy->dom is the destination's. */
static bool
move_guest(Cycle *cy, virConnectPtr to_conn, const MmHost *to, MmOutcome outcome, const char *leg)
{
    const MmScenario *sc = cy->o->sc;
    virTypedParameterPtr params = NULL;
    int nparams = 0, maxparams = 0;
    unsigned int flags = migrate_flags(sc);
    gint64 now = g_get_monotonic_time();
    Watchdog w = { .dom = cy->dom, .t0 = now, .postcopy = (flags & VIR_MIGRATE_POSTCOPY) != 0, .postcopy_at = -1,
                   .deadline = now + (gint64)sc->migrate_timeout * G_USEC_PER_SEC };
    EventFlag *postcopy_seen = g_new0(EventFlag, 1);
    int callback = -1;
    virConnectPtr from_conn = virDomainGetConnect(cy->dom);
    GThread *wt;
    virDomainPtr ddom = NULL;
    MmFailure f = { 0 };
    bool ok;

    cy->attempted = false;
    if (!alive_before_move(cy, to))
        return false;
    cy->attempted = true;
    /* Watch for resets where it lands from before it lands: a guest that crashes the moment it
     * runs there has rebooted before any probe is attached. */
    g_clear_pointer(&cy->reboots, mm_reboot_watch_free);
    {
        g_autoptr(GError) err = NULL;

        if (!(cy->reboots = mm_reboot_watch_new(to_conn, cy->name, &err)))
            say(cy, "restarts on %s are seen by the heartbeat only: %s", to->name, err->message);
    }
    if (sc->bandwidth_mib)
        virTypedParamsAddULLong(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_BANDWIDTH, sc->bandwidth_mib);
    postcopy_seen->refs = 1;
    if (w.postcopy) {
        g_atomic_int_inc(&postcopy_seen->refs);
        callback = virConnectDomainEventRegisterAny(from_conn, cy->dom, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                    VIR_DOMAIN_EVENT_CALLBACK(postcopy_event), postcopy_seen,
                                                    event_flag_unref);
        if (callback < 0) {
            /* libvirt calls the free callback only for a registered callback. */
            event_flag_unref(postcopy_seen);
            say(cy, "cannot watch for the switch to post-copy (%s): whether it ran is told from libvirt's answer "
                    "to the request only", virGetLastErrorMessage());
            virResetLastError();
        }
    }
    g_mutex_init(&w.lock);
    g_cond_init(&w.cond);
    w.t0 = g_get_monotonic_time();
    wt = g_thread_new("migrate-watchdog", watchdog_thread, &w);

    if (flags & VIR_MIGRATE_PEER2PEER) {
        /* p2p: the source libvirtd connects to the destination itself. */
        if (virDomainMigrateToURI3(cy->dom, to->uri, params, nparams, flags) == 0)
            ddom = virDomainLookupByName(to_conn, cy->name);
    } else {
        ddom = virDomainMigrate3(cy->dom, to_conn, params, nparams, flags);
    }
    ok = ddom != NULL;
    /* Keep libvirt's error before the watchdog's calls can touch this thread's state. */
    if (!ok)
        mm_failure_from_libvirt(&f);
    virResetLastError();

    g_mutex_lock(&w.lock);
    w.done = true;
    g_cond_signal(&w.cond);
    g_mutex_unlock(&w.lock);
    g_thread_join(wt);
    g_mutex_clear(&w.lock);
    g_cond_clear(&w.cond);
    virTypedParamsFree(params, nparams);
    /* The event travels on its own: give it a moment to arrive after a switch libvirt accepted. */
    for (int i = 0; callback >= 0 && w.postcopy_at >= 0 && ok && !g_atomic_int_get(&postcopy_seen->seen) && i < 20;
         i++)
        g_usleep(50000);
    if (callback >= 0)
        virConnectDomainEventDeregisterAny(from_conn, callback);
    virResetLastError();
    /* Without the event, libvirt having accepted the switch is the best word there is. */
    if (callback < 0 && w.postcopy_at >= 0 && ok)
        g_atomic_int_set(&postcopy_seen->seen, 1);

    if (w.postcopy) {
        if (g_atomic_int_get(&postcopy_seen->seen))
            say(cy, "post-copy started %" G_GINT64_FORMAT " ms into the job%s%s%s", w.postcopy_at,
                w.postcopy_error ? " (libvirt refused before: " : "", w.postcopy_error ? w.postcopy_error : "",
                w.postcopy_error ? ")" : "");
        else if (w.postcopy_at >= 0)
            say(cy, "post-copy asked for %" G_GINT64_FORMAT " ms into the job, but the migration completed in "
                    "pre-copy first", w.postcopy_at);
        else
            say(cy, "post-copy never started%s%s", w.postcopy_error ? ": " : " (the job ended first)",
                w.postcopy_error ? w.postcopy_error : "");
    }
    record_job_stats(cy, leg, ok, ok ? ddom : cy->dom, &w, g_atomic_int_get(&postcopy_seen->seen));
    event_flag_unref(postcopy_seen);
    virTypedParamsFree(w.sample, w.nsample);
    g_free(w.postcopy_error);

    /* The source's console saw the last heartbeat before the guest left. */
    cy->last_beat = mm_liveness_last(cy->live);
    if (!ok) {
        /* Our own abort at migrate_timeout: libvirt only says "canceled by client". */
        if (w.aborted && strcmp(w.why, "timeout") == 0)
            fail_text(cy, outcome, "timeout", "migration aborted after migrate_timeout = %u s: %s",
                      sc->migrate_timeout, f.message);
        else
            fail_at(cy, outcome, &f, to);
        mm_failure_clear(&f);
        return false;
    }
    g_clear_pointer(&cy->live, mm_liveness_free);
    virDomainFree(cy->dom);
    cy->dom = ddom;
    cy->here = to;
    return true;
}

/* After a move: the guest runs on the destination, not on the source, and keeps progressing;
 * and what its own CPU lost or gained. */
static bool
verify_moved(Cycle *cy, virConnectPtr from_conn, MmOutcome outcome, const char *point)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *detail = NULL;
    g_autofree char *why = NULL;
    virDomainPtr left;
    MmWaitResult r;
    int found;

    if (!running(cy->dom))
        return fail_text(cy, outcome, "not running on the destination", "the guest is not running on %s",
                         cy->here->name);
    if ((found = lookup(from_conn, cy->name, &left, &why)) < 0)
        return fail_text(cy, MM_OUTCOME_INFRA_ERROR, "source not checked",
                         "cannot tell whether the guest left the source: %s", why);
    if (found) {
        int active = virDomainIsActive(left);
        int persistent = virDomainIsPersistent(left);

        virDomainFree(left);
        if (active < 0 || persistent < 0) {
            MmFailure f = { 0 };
            bool rc;

            mm_failure_from_libvirt(&f);
            virResetLastError();
            rc = fail_with(cy, MM_OUTCOME_INFRA_ERROR, &f);
            mm_failure_clear(&f);
            return rc;
        }
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
    /* A reset libvirt reported is known whatever the console did. */
    if (r == MM_WAIT_BLIND && mm_reboot_watch_count(cy->reboots) == 0)
        return watched_nothing(cy, detail);
    /* Read the CPU even from a guest that stopped: what it lost is the likely cause. */
    compare_cpu(cy, point, true);
    if (r == MM_WAIT_RESTARTED || mm_reboot_watch_count(cy->reboots) > 0) {
        g_autofree char *events = g_strdup_printf("libvirt reported %u reset(s) of the guest on %s",
                                                  mm_reboot_watch_count(cy->reboots), cy->here->name);
        return fail_text(cy, outcome == MM_OUTCOME_BACK_FAILED ? MM_OUTCOME_BACK_FAILED : MM_OUTCOME_GUEST_HUNG,
                         "guest restarted after migration", "the guest crashed and started again on %s: %s",
                         cy->here->name, r == MM_WAIT_RESTARTED ? detail : events);
    }
    if (r != MM_WAIT_OK)
        return fail_text(cy, outcome == MM_OUTCOME_BACK_FAILED ? MM_OUTCOME_BACK_FAILED : MM_OUTCOME_GUEST_HUNG,
                         "no progress after migration", "running but not progressing on %s: %s", cy->here->name,
                         detail);
    say(cy, "alive on %s: %s", cy->here->name, detail);
    return true;
}

/* Diffs the source's XML before the move against DOM's now: *TEXT gets the changes ("" for
 * none). Fails the phase (with libvirt's error) when the XML cannot be had or read: an XML that
 * was never compared is not "unchanged". */
static bool
diff_against_before(Cycle *cy, MmOutcome outcome, const char *kind, const char *diff_kind, char **text,
                    char **now_out)
{
    g_autofree char *now = migratable_xml(cy->dom);
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) changes = NULL;

    if (!now)
        return fail_libvirt(cy, outcome, "dump the migratable XML");
    artifact(cy, kind, cy->here->name, now);
    if (!(changes = mm_xmldiff(cy->xml_before, now, &err)))
        return fail_text(cy, MM_OUTCOME_INFRA_ERROR, "domain XML unreadable", "cannot diff the domain XML: %s",
                         err->message);
    *text = mm_xmldiff_format(changes);
    artifact(cy, diff_kind, cy->here->name, **text ? *text : "(no changes)\n");
    if (now_out)
        *now_out = g_steal_pointer(&now);
    return true;
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
                if (meta && owner && mm_owner_alive(owner)) {
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
        return fail_libvirt_at(cy, MM_OUTCOME_START_FAILED, NULL, cy->c->src);
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
    if (r == MM_WAIT_BLIND)
        return watched_nothing(cy, detail);
    if (r != MM_WAIT_OK)
        return fail_text(cy, MM_OUTCOME_START_FAILED, "not alive after boot", "%s probe: %s",
                         mm_probe_kind_name(cy->c->guest->probe), detail);
    say(cy, "%s", detail);
    return true;
}

/* ---- vCPU hot-plug and NUMA ------------------------------------------------------------- */

/* How many vCPUs the guest itself has online, through its agent (guest-get-vcpus); -1 with WHY
 * when the agent does not answer. */
static int
guest_vcpus(Cycle *cy, char **why)
{
    int n = virDomainGetVcpusFlags(cy->dom, VIR_DOMAIN_VCPU_GUEST);

    if (n < 0) {
        *why = g_strdup(virGetLastErrorMessage());
        virResetLastError();
    }
    return n;
}

/* Asks the guest its vCPU count until it is WANT (any answer when WANT is 0) or alive_timeout
 * passes: the agent reconnects after a move, and a plugged vCPU comes online (ONLINE: asked of
 * the agent, since Linux on x86 leaves a hot-added CPU offline) some time after libvirt returns.
 * Returns the last count, or -1 with *WHY. */
static int
await_guest_vcpus(Cycle *cy, guint want, bool online, char **why)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)cy->o->sc->alive_timeout * G_USEC_PER_SEC;
    int now;

    for (;;) {
        g_clear_pointer(why, g_free);
        now = guest_vcpus(cy, why);
        if (now >= 0 && (!want || now == (int)want))
            return now;
        if (online && now >= 0 && now < (int)want && virDomainSetVcpusFlags(cy->dom, want, VIR_DOMAIN_VCPU_GUEST) < 0) {
            *why = g_strdup_printf("onlining through the agent: %s", virGetLastErrorMessage());
            virResetLastError();
        }
        if (g_get_monotonic_time() >= deadline || mm_interrupted())
            return now;
        g_usleep(500 * 1000);
    }
}

/* Sets the guest to N vCPUs as a platform does: libvirt plugs (or unplugs) them live, then the
 * agent onlines them. Passes only when the guest itself counts N online. OUTCOME is the phase's;
 * the reason is always "vcpu hot-plug". */
static bool
vcpus_set(Cycle *cy, guint n, MmOutcome outcome, const char *where, guint *seen)
{
    g_autofree char *why = NULL;
    int now;

    if (virDomainSetVcpusFlags(cy->dom, n, VIR_DOMAIN_AFFECT_LIVE) < 0) {
        g_autofree char *msg = g_strdup(virGetLastErrorMessage());
        bool timeout = virGetLastErrorCode() == VIR_ERR_OPERATION_TIMEOUT;
        g_autofree char *seen_text = NULL;

        virResetLastError();
        /* libvirt waits 5 s for the guest to eject a vCPU, then fails and asks for the result
         * to be "manually inspected": do so, so the record says what the guest did. */
        if (timeout) {
            now = await_guest_vcpus(cy, n, false, &why);
            seen_text = now >= 0 ? g_strdup_printf("; the guest then saw %d vCPUs, and libvirt still counts %d", now,
                                                   virDomainGetVcpusFlags(cy->dom, VIR_DOMAIN_AFFECT_LIVE))
                                 : g_strdup_printf("; the guest's count cannot be read: %s", why);
            virResetLastError();
        }
        return fail_text(cy, outcome, "vcpu hot-plug", "%s: setting %u vCPUs live on %s failed: %s%s", where, n,
                         cy->here->name, msg, seen_text ? seen_text : "");
    }
    now = await_guest_vcpus(cy, n, true, &why);
    if (now < 0)
        return fail_text(cy, outcome, "vcpu hot-plug", "%s: the guest's vCPU count on %s cannot be read: %s", where,
                         cy->here->name, why ? why : "interrupted");
    if (now != (int)n)
        return fail_text(cy, outcome, "vcpu hot-plug", "%s: libvirt set %u vCPUs on %s, and the guest sees %d%s%s",
                         where, n, cy->here->name, now, why ? ": " : "", why ? why : "");
    *seen = (guint)now;
    return true;
}

/* After wait-alive: plug up to the case's hotplug_vcpus, seen by the guest. */
static bool
hotplug_before(Cycle *cy)
{
    g_autofree char *why = NULL;
    g_autofree char *text = NULL;
    guint seen = 0;
    int boot;

    if (!cy->c->hotplug_vcpus)
        return true;
    if ((boot = guest_vcpus(cy, &why)) < 0)
        return fail_text(cy, MM_OUTCOME_START_FAILED, "vcpu hot-plug",
                         "before migrate: the guest's vCPU count cannot be read: %s", why);
    if (!vcpus_set(cy, cy->c->hotplug_vcpus, MM_OUTCOME_START_FAILED, "before migrate", &seen))
        return false;
    text = g_strdup_printf("%d -> %u", boot, seen);
    say(cy, "vCPU hot-plug on %s: the guest sees %s vCPUs", cy->here->name, text);
    artifact(cy, "vcpus-plugged", cy->here->name, text);
    return true;
}

/* After the move: the guest still sees them; then one more is plugged and one unplugged there. */
static bool
hotplug_after(Cycle *cy)
{
    g_autofree char *why = NULL;
    g_autofree char *text = NULL;
    guint n = cy->c->hotplug_vcpus, seen = 0, more = 0;
    int now;

    if (!n)
        return true;
    /* Whatever the count: a different one is the finding, not a reason to wait. */
    if ((now = await_guest_vcpus(cy, 0, false, &why)) < 0)
        return fail_text(cy, MM_OUTCOME_MIGRATE_FAILED, "vcpu hot-plug",
                         "after migrate: the guest's vCPU count on %s cannot be read: %s", cy->here->name, why);
    if (now != (int)n)
        return fail_text(cy, MM_OUTCOME_MIGRATE_FAILED, "vcpu hot-plug",
                         "after migrate: the guest had %u vCPUs on the source and sees %d on %s", n, now,
                         cy->here->name);
    text = g_strdup_printf("%u", n);
    artifact(cy, "vcpus-migrated", cy->here->name, text);
    g_clear_pointer(&text, g_free);
    if (!vcpus_set(cy, n + 1, MM_OUTCOME_MIGRATE_FAILED, "plug after migrate", &more) ||
        !vcpus_set(cy, n, MM_OUTCOME_MIGRATE_FAILED, "unplug after migrate", &seen))
        return false;
    text = g_strdup_printf("%u -> %u -> %u", n, more, seen);
    say(cy, "vCPU hot-plug on %s: the guest keeps %u vCPUs; plugged and unplugged one: %s", cy->here->name, n, text);
    artifact(cy, "vcpus-replugged", cy->here->name, text);
    return true;
}

/* NUMA cells of a domain XML (0: none). */
static guint
numa_cells(const char *xml)
{
    g_autoptr(xmlDoc) doc = xml ? mm_xml_parse(xml, -1, "domain XML", NULL) : NULL;
    g_autoptr(xmlXPathContext) ctx = doc ? xmlXPathNewContext(doc) : NULL;

    return ctx ? mm_xml_nodes_count(ctx, "/domain/cpu/numa/cell") : 0;
}

/* What the guest is before it moves: its definition (migratable and live XML) and the CPU it
 * sees itself. */
static bool
phase_snapshot(Cycle *cy)
{
    g_autofree char *live = NULL;
    g_autofree char *summary = NULL;

    /* Plugged first, so the definition recorded (and diffed after the move) has them. */
    if (!hotplug_before(cy))
        return false;
    if (!(live = virDomainGetXMLDesc(cy->dom, 0)))
        return fail_libvirt(cy, MM_OUTCOME_INFRA_ERROR, "dump the live XML");
    if (!(cy->xml_before = migratable_xml(cy->dom)))
        return fail_libvirt(cy, MM_OUTCOME_INFRA_ERROR, "dump the migratable XML");
    artifact(cy, "xml-before", cy->c->src->name, cy->xml_before);
    artifact(cy, "xml-live-before", cy->c->src->name, live);
    summary = mm_domxml_cpu_summary(live);
    {
        g_autofree char *migratable = mm_domxml_cpu_summary(cy->xml_before);
        /* Live XML shows libvirt's expansion (check=full): the reboot compares migratable XML. */
        say(cy, "live CPU %s; migratable CPU %s", summary, migratable);
    }
    if (cy->c->guest->cpu_probe == MM_PROBE_NONE) {
        say(cy, "guest CPU: not measured (no cpu_probe)");
    } else if ((cy->cpu_before = capture_cpu(cy, "before migrate"))) {
        say(cy, "guest CPU: %u features", mm_guestcpu_features(cy->cpu_before)->len);
    }
    return true;
}

/* The platform's optional pre-check: can the destination run this guest's CPU? */
static bool
phase_precheck(Cycle *cy)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *cpu = mm_domxml_cpu_element(cy->xml_before, &err);
    MmFailure f = { 0 };
    int r;

    if (err)
        return fail_text(cy, MM_OUTCOME_INFRA_ERROR, "domain XML unreadable", "cannot read the guest's <cpu>: %s",
                         err->message);
    if (!cpu || strstr(cpu, "host-passthrough") || strstr(cpu, "mode=\"maximum\"")) {
        say(cy, "not applicable: the guest has %s", cpu ? "a host CPU mode" : "no <cpu> (mode none)");
        artifact(cy, "precheck", cy->c->dst->name, "not-applicable");
        return true;
    }
    for (int attempt = 0;; attempt++) {
        MmVerdict v = { 0 };
        bool lost;

        r = virConnectCompareHypervisorCPU(cy->dconn, NULL, cy->c->guest->arch, NULL, cy->c->dst->virt_type, cpu,
                                           VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE);
        if (r == VIR_CPU_COMPARE_IDENTICAL || r == VIR_CPU_COMPARE_SUPERSET) {
            say(cy, "%s: compatible (%s)", cy->c->dst->name,
                r == VIR_CPU_COMPARE_IDENTICAL ? "identical" : "superset");
            artifact(cy, "precheck", cy->c->dst->name, "compatible");
            return true;
        }
        mm_failure_from_libvirt(&f);
        virResetLastError();
        /* A connection that dropped gives no verdict on the CPU: if both hosts answer now, ask
         * again, once. */
        mm_classify(&f, MM_OUTCOME_PRECHECK_INCOMPATIBLE, &v);
        lost = v.outcome == MM_OUTCOME_INFRA_ERROR;
        mm_verdict_clear(&v);
        if (attempt == 0 && lost) {
            g_autofree char *down = hosts_down(cy);

            if (!down) {
                say(cy, "the compare lost its connection (%s); both hosts answer: asked again", f.message);
                mm_failure_clear(&f);
                continue;
            }
        }
        break;
    }
    if (r == VIR_CPU_COMPARE_INCOMPATIBLE && !f.code) {
        g_free(f.message);
        f.message = g_strdup("the CPU is incompatible with host CPU");
        f.code = VIR_ERR_CPU_INCOMPATIBLE;
    }
    /* No verdict to be had (e.g. aarch64 under TCG): say so and migrate anyway, as the
     * platform does when its pre-check cannot run. */
    if (f.code == VIR_ERR_OPERATION_UNSUPPORTED || f.code == VIR_ERR_NO_SUPPORT) {
        g_autofree char *verdict = g_strdup_printf("unsupported: %s", f.message);

        artifact(cy, "precheck", cy->c->dst->name, verdict);
        say(cy, "no verdict: %s", f.message);
        mm_failure_clear(&f);
        return true;
    }
    {
        g_autofree char *verdict = g_strdup_printf("incompatible: %s", f.message);
        artifact(cy, "precheck", cy->c->dst->name, verdict);
    }
    /* Any other answer (an unknown model on this libvirt, an incompatible CPU) is the
     * pre-check's verdict; only a host that does not answer makes it infra-error. */
    fail_with(cy, MM_OUTCOME_PRECHECK_INCOMPATIBLE, &f);
    mm_failure_clear(&f);
    return false;
}

static bool
phase_migrate(Cycle *cy)
{
    if (!move_guest(cy, cy->dconn, cy->c->dst, MM_OUTCOME_MIGRATE_FAILED, mm_phase_name(MM_PH_MIGRATE)))
        return false;
    say(cy, "migrated to %s", cy->c->dst->name);
    return true;
}

static bool
phase_verify(Cycle *cy)
{
    g_autofree char *diff = NULL;
    g_autofree char *after = NULL;

    if (!verify_moved(cy, cy->sconn, MM_OUTCOME_MIGRATE_FAILED, "after migrate"))
        return false;
    if (!diff_against_before(cy, MM_OUTCOME_MIGRATE_FAILED, "xml-after", "xml-diff", &diff, &after))
        return false;
    if (cy->c->guest->numa_cells) {
        guint before_n = numa_cells(cy->xml_before), after_n = numa_cells(after);
        g_autofree char *text = g_strdup_printf("%u", after_n);

        /* The diff below shows the lines; this says what they mean. */
        if (before_n == after_n)
            say(cy, "NUMA cells kept on %s: %u", cy->here->name, after_n);
        else
            say(cy, "NUMA cells changed on %s: %u before, %u after", cy->here->name, before_n, after_n);
        artifact(cy, "numa-cells", cy->here->name, text);
    }
    if (!hotplug_after(cy))
        return false;
    if (*diff) {
        guint lines = 0;

        cy->xml_changed = true;
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
    int persistent;
    MmWaitResult r;
    /* A NUMA guest restarts in the mode the platform forces on NUMA guests there. */
    const char *reboot_text = NULL, *reboot_key = NULL;
    const MmCpuMode *reboot_mode = mm_case_reboot_mode(cy->c, &reboot_text, &reboot_key);

    /* The same instance, so the same UUID; only the definition is the platform's new one. */
    if (virDomainGetUUIDString(cy->dom, uuid) < 0)
        return fail_libvirt(cy, MM_OUTCOME_REBOOT_FAILED, "uuid");
    /* A transient guest (migrated without persistent) vanishes when destroyed: nothing to
     * undefine. Ask before destroying it. */
    if ((persistent = virDomainIsPersistent(cy->dom)) < 0)
        return fail_libvirt(cy, MM_OUTCOME_REBOOT_FAILED, "persistent?");
    xml = guest_xml(cy, dst, reboot_mode, uuid);
    if (virDomainDestroy(cy->dom) < 0)
        return fail_libvirt(cy, MM_OUTCOME_REBOOT_FAILED, "destroy");
    if (persistent && virDomainUndefineFlags(cy->dom, VIR_DOMAIN_UNDEFINE_NVRAM) < 0)
        return fail_libvirt(cy, MM_OUTCOME_REBOOT_FAILED, "undefine");
    say(cy, "destroyed%s on %s", persistent ? " and undefined" : " (transient)", dst->name);
    artifact(cy, "xml-reboot-defined", dst->name, xml);
    if (!define_and_start(cy, cy->dconn, dst, xml, MM_OUTCOME_REBOOT_FAILED))
        return false;
    r = await_alive(cy, -1, boot_timeout(cy), &detail);
    if (r == MM_WAIT_INTERRUPTED)
        return false;
    if (r == MM_WAIT_BLIND)
        return watched_nothing(cy, detail);
    if (r != MM_WAIT_OK)
        return fail_text(cy, MM_OUTCOME_REBOOT_FAILED, "not alive after reboot", "after hard reboot on %s: %s",
                         dst->name, detail);
    if (!diff_against_before(cy, MM_OUTCOME_REBOOT_FAILED, "xml-after-reboot", "xml-diff-reboot", &diff, &now))
        return false;
    after = mm_domxml_cpu_summary(now);
    say(cy, "rebooted on %s with %s %s: %s; migratable CPU %s -> %s", dst->name, reboot_key, reboot_text, detail,
        before, after);
    artifact(cy, "mode-after-reboot", dst->name, reboot_text);
    if (*diff) {
        g_autofree char *summary = mm_xmldiff_summary(diff);
        say(cy, "migratable XML changed at reboot: %s", summary);
    }
    /* A new CPU mode gives the guest a new CPU on purpose: noted, and the new baseline. */
    compare_cpu(cy, "after reboot", false);
    /* Later phases diff against what the guest is now. */
    g_free(cy->xml_before);
    cy->xml_before = g_steal_pointer(&now);
    return true;
}

static bool
phase_migrate_back(Cycle *cy)
{
    cy->back_leg = true;
    if (!move_guest(cy, cy->sconn, cy->c->src, MM_OUTCOME_BACK_FAILED, mm_phase_name(MM_PH_MIGRATE_BACK)))
        return false;
    say(cy, "migrated back to %s", cy->c->src->name);
    return true;
}

static bool
phase_verify_back(Cycle *cy)
{
    return verify_moved(cy, cy->dconn, MM_OUTCOME_BACK_FAILED, "after migrate-back");
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
    g_autofree char *why = NULL;
    virDomainPtr stray;
    MmWaitResult r;
    int found;

    if ((found = lookup(other, cy->name, &stray, &why)) < 0)
        return rollback_broken(cy, "destination not checked", "cannot tell whether %s is clean: %s", other_host->name,
                               why);
    if (found) {
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
    if (r == MM_WAIT_BLIND)
        return watched_nothing(cy, detail);
    if (r == MM_WAIT_RESTARTED)
        return rollback_broken(cy, "source restarted", "the guest started again on %s after the failed migration: %s",
                               cy->here->name, detail);
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
        g_autofree char *why = NULL;
        virDomainPtr d = NULL;
        bool removed = true;
        int found = lookup(conns[i], cy->name, &d, &why);
        int active, persistent;

        /* A host that cannot be asked may still hold the guest: say so, never "clean". */
        if (found < 0) {
            say(cy, "%s: not checked, the guest may be left there: %s", hosts[i]->name, why);
            ok = false;
            continue;
        }
        if (!found)
            continue;
        active = virDomainIsActive(d);
        if (active != 0 && virDomainDestroy(d) < 0) {
            say(cy, "%s: destroy: %s", hosts[i]->name, virGetLastErrorMessage());
            removed = false;
        }
        /* After destroying, a transient domain is gone: only a persistent one is undefined. */
        persistent = virDomainIsPersistent(d);
        if (persistent == 1 && virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_NVRAM) < 0) {
            say(cy, "%s: undefine: %s", hosts[i]->name, virGetLastErrorMessage());
            removed = false;
        }
        virResetLastError();
        virDomainFree(d);
        if (removed)
            say(cy, "removed from %s", hosts[i]->name);
        ok &= removed;
    }
    if (!ok && !cy->failed)
        fail_text(cy, MM_OUTCOME_INFRA_ERROR, "cleanup failed", "%s", cy->msg->str);
    return ok;
}

typedef bool (*PhaseFunc)(Cycle *cy);

static const PhaseFunc phase_funcs[] = {
    [MM_PH_PREPARE] = phase_prepare,       [MM_PH_DEFINE] = phase_define,
    [MM_PH_START] = phase_start,           [MM_PH_WAIT_ALIVE] = phase_wait_alive,
    [MM_PH_SNAPSHOT] = phase_snapshot,     [MM_PH_PRECHECK] = phase_precheck,
    [MM_PH_MIGRATE] = phase_migrate,       [MM_PH_VERIFY] = phase_verify,
    [MM_PH_REBOOT] = phase_reboot,         [MM_PH_MIGRATE_BACK] = phase_migrate_back,
    [MM_PH_VERIFY_BACK] = phase_verify_back, [MM_PH_ROLLBACK] = phase_rollback,
    [MM_PH_CLEANUP] = phase_cleanup,
};

/* ---- the order ------------------------------------------------------------------------------ */

static MmPhase
after_migration(const MmPhaseState *s)
{
    if (s->hard_reboot)
        return MM_PH_REBOOT;
    if (s->ping_pong)
        return MM_PH_MIGRATE_BACK;
    return MM_PH_CLEANUP;
}

/* A failed migration must have left the guest where it was: check that. Unless the job never
 * started (the guest had stopped before it: nothing to roll back), or the connection itself is
 * gone (nothing to check through). */
static MmPhase
after_failed_migration(const MmPhaseState *s)
{
    if (!s->attempted || s->outcome == MM_OUTCOME_INFRA_ERROR)
        return MM_PH_CLEANUP;
    return MM_PH_ROLLBACK;
}

MmPhase
mm_engine_next_phase(const MmPhaseState *s, MmPhase p, bool ok)
{
    if (p == MM_PH_CLEANUP || p == MM_PH_DONE)
        return MM_PH_DONE;
    if (s->interrupted || s->store_failed)
        return MM_PH_CLEANUP;
    switch (p) {
    case MM_PH_PREPARE: return ok ? MM_PH_DEFINE : MM_PH_CLEANUP;
    case MM_PH_DEFINE: return ok ? MM_PH_START : MM_PH_CLEANUP;
    case MM_PH_START: return ok ? MM_PH_WAIT_ALIVE : MM_PH_CLEANUP;
    case MM_PH_WAIT_ALIVE: return ok ? MM_PH_SNAPSHOT : MM_PH_CLEANUP;
    case MM_PH_SNAPSHOT:
        if (!ok)
            return MM_PH_CLEANUP;
        return s->compare_cpu ? MM_PH_PRECHECK : MM_PH_MIGRATE;
    case MM_PH_PRECHECK: return ok ? MM_PH_MIGRATE : MM_PH_CLEANUP;
    case MM_PH_MIGRATE: return ok ? MM_PH_VERIFY : after_failed_migration(s);
    case MM_PH_VERIFY: return ok ? after_migration(s) : MM_PH_CLEANUP;
    case MM_PH_REBOOT: return ok && s->ping_pong ? MM_PH_MIGRATE_BACK : MM_PH_CLEANUP;
    case MM_PH_MIGRATE_BACK: return ok ? MM_PH_VERIFY_BACK : after_failed_migration(s);
    case MM_PH_VERIFY_BACK:
    case MM_PH_ROLLBACK:
    default: return MM_PH_CLEANUP;
    }
}

static MmPhaseState
phase_state(const Cycle *cy)
{
    return (MmPhaseState){
        .compare_cpu = cy->c->compare_cpu, .hard_reboot = cy->c->hard_reboot, .ping_pong = cy->c->ping_pong,
        .interrupted = mm_interrupted(), .outcome = cy->failed ? cy->outcome : MM_OUTCOME_PASS,
        .attempted = cy->attempted, .store_failed = cy->store_error != NULL,
    };
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

void
mm_engine_run_case(const MmEngineOptions *o, const MmCase *c, gint64 case_row, guint index, MmCaseResult *result)
{
    Cycle cy = { .o = o, .c = c, .row = case_row, .last_beat = -1 };
    gint64 t_case = g_get_monotonic_time();
    MmPhase p = MM_PH_PREPARE;

    cy.name = mm_engine_domain_name(o->token, index, c);
    cy.msg = g_string_new(NULL);
    while (p != MM_PH_DONE) {
        g_autofree char *started = mm_store_now();
        gint64 t0 = g_get_monotonic_time();
        bool ok;

        if (o->on_phase)
            o->on_phase(c, phase_names[p], o->data);
        g_string_truncate(cy.msg, 0);
        ok = phase_funcs[p](&cy);
        if (mm_interrupted() && p != MM_PH_CLEANUP && !cy.msg->len)
            say(&cy, "interrupted");
        {
            g_autoptr(GError) err = NULL;

            stored(&cy, mm_store_step_add(o->store, case_row, phase_names[p], started,
                                          (g_get_monotonic_time() - t0) / 1000, ok, cy.msg->str, &err) != 0,
                   &err);
        }
        if (o->on_phase_end)
            o->on_phase_end(c, phase_names[p], ok, (g_get_monotonic_time() - t0) / 1000, o->data);
        {
            MmPhaseState st = phase_state(&cy);
            p = mm_engine_next_phase(&st, p, ok);
        }
    }

    if (cy.live)
        mm_liveness_free(cy.live);
    mm_reboot_watch_free(cy.reboots);
    /* An interrupt ends the case wherever it was; what it stopped (an aborted migration job)
     * is not the case's result. */
    result->interrupted = mm_interrupted();
    /* A hard failure decides; of the soft findings, a guest whose CPU lost features is worse
     * than a changed definition. A hung guest whose CPU lost features stays guest-hung: dead is
     * worse than changed, and the lost features are stored beside it as its likely cause. */
    if (cy.store_error) {
        result->outcome = MM_OUTCOME_INFRA_ERROR;
        result->reason = g_strdup("results DB write failed");
        result->error_text = g_strdup_printf("%s (the case had reached %s)", cy.store_error->message,
                                             mm_outcome_name(cy.failed ? cy.outcome : MM_OUTCOME_PASS));
        result->db_failed = true;
    } else if (cy.failed) {
        result->outcome = cy.outcome;
        result->reason = g_steal_pointer(&cy.reason);
        result->error_text = g_steal_pointer(&cy.error_text);
    } else if (cy.cpu_lost) {
        result->outcome = MM_OUTCOME_CPU_CHANGED;
        result->reason = g_strdup("CPU features lost across migration");
        result->error_text = g_strdup(cy.cpu_lost_text->str);
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
    mm_guestcpu_free(cy.cpu_before);
    if (cy.cpu_lost_text)
        g_string_free(cy.cpu_lost_text, TRUE);
    g_free(cy.reason);
    g_free(cy.error_text);
    g_clear_error(&cy.store_error);
    g_free(cy.name);
    g_string_free(cy.msg, TRUE);
}
