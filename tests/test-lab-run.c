/* test-lab-run.c [lab]: `migmatrix run` on the real local lab.
 *
 * test_local_matrix runs scenarios/local.ini, which must exit 0 (every outcome as [expect]
 * says), and then checks per case what the DB holds: outcome, reason, features, the steps,
 * the artifacts, and that no domain is left on any host. test_sigint interrupts a run in the
 * middle of a (deliberately slow) migration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab.h"
#include "migmatrix/domxml.h"
#include "migmatrix/hosts.h"
#include "migmatrix/store.h"
#include "migmatrix/util.h"

/* The group's lab (the fixture's state), for the helpers below. */
static MmTestLab *lab;
/* The progress lines of the last run_watching, for tests that check them. */
static GString *progress_lines;

#define RUN(out, err, ...) mm_test_run_migmatrix((const char *const[]){ __VA_ARGS__, NULL }, out, err)

/* A no-OS aarch64 guest: quick to start and to move, even at 1 MiB/s. */
#define IDLE_GUEST "[guest:idle]\nos = none\narch = aarch64\nmachine = virt\nmemory_mib = 128\n"

/* Writes NAME.ini in the suite's scratch dir: a [run] group that includes the lab's hosts and
 * guests, then BODY (more [run] keys first, then other groups). *DB becomes NAME.db beside it. */
static char *
lab_scenario(const char *name, const char *body, char **db)
{
    g_autofree char *inc = g_build_filename(MM_SOURCE_DIR, "scenarios", "lab-generated.inc", NULL);
    g_autofree char *text = g_strdup_printf("[run]\ninclude = %s\n%s", inc, body);
    g_autofree char *ini_name = g_strconcat(name, ".ini", NULL);
    g_autofree char *db_name = g_strconcat(name, ".db", NULL);
    char *ini = g_build_filename(lab->scenario_dir, ini_name, NULL);

    assert_true(g_file_set_contents(ini, text, -1, NULL));
    *db = g_build_filename(lab->scenario_dir, db_name, NULL);
    return ini;
}

/* Runs `migmatrix run INI --db DB --verbose` and hands each progress line to ACT until it says it
 * acted (returns true); then reads the rest. Returns the wait status. ACT must not assert: the
 * child would be left running; it records what went wrong for the test to check afterwards. */
static int
run_watching(const char *ini, const char *db, bool (*act)(const char *line, GPid pid, gpointer data), gpointer data)
{
    const char *argv[] = { MM_BINARY, "run", ini, "--db", db, "--verbose", NULL };
    g_autoptr(GError) err = NULL;
    GPid pid;
    int err_fd, status = 0;
    FILE *errs;
    char line[1024];
    bool acted = false;

    assert_true(g_spawn_async_with_pipes(MM_SOURCE_DIR, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                         &pid, NULL, NULL, &err_fd, &err));
    errs = fdopen(err_fd, "r");
    if (!progress_lines)
        progress_lines = g_string_new(NULL);
    g_string_truncate(progress_lines, 0);
    while (fgets(line, sizeof(line), errs)) {
        g_string_append(progress_lines, line);
        if (!acted)
            acted = act(line, pid, data);
    }
    fclose(errs);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!acted)
        fail_msg("the run ended before the test could act");
    return status;
}

/* What a fault action did: its command's exit status. */
typedef struct {
    int rc;
} Action;

typedef struct {
    MmStore *store;
    GPtrArray *cases;        /* MmCaseRecord* of the latest run */
    MmRunRecord *run;
} Db;

static void
db_open(Db *d, const char *path)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) runs = NULL;

    d->store = mm_store_open(path, &err);
    assert_non_null(d->store);
    runs = mm_store_runs_list(d->store, &err);
    assert_true(runs->len > 0);
    d->run = g_ptr_array_steal_index(runs, 0);
    d->cases = mm_store_cases_list(d->store, d->run->id, &err);
}

static void
db_close(Db *d)
{
    g_ptr_array_unref(d->cases);
    mm_run_record_free(d->run);
    mm_store_close(d->store);
}

/* Runs INI into DB, which must exit 0 (every outcome as its [expect] says), and opens the DB. */
static void
run_ok(const char *ini, const char *db, Db *d)
{
    g_autofree char *out = NULL, *err = NULL;
    int rc = RUN(&out, &err, "run", ini, "--db", db);

    if (rc != 0)
        fail_msg("run exited %d\n%s\n%s", rc, out, err);
    db_open(d, db);
}

static const MmCaseRecord *
find(Db *d, const char *id)
{
    for (guint i = 0; i < d->cases->len; i++)
        if (strcmp(((MmCaseRecord *)d->cases->pdata[i])->case_id, id) == 0)
            return d->cases->pdata[i];
    fail_msg("case %s not in the DB", id);
    return NULL;
}

/* "phase:ok phase:ok …" */
static char *
steps_of(Db *d, const MmCaseRecord *c)
{
    g_autoptr(GPtrArray) steps = mm_store_steps_list(d->store, c->id, NULL);
    GString *out = g_string_new(NULL);

    for (guint i = 0; i < steps->len; i++) {
        const MmStepRecord *s = steps->pdata[i];
        g_string_append_printf(out, "%s%s:%s", i ? " " : "", s->phase, s->ok ? "ok" : "fail");
    }
    return g_string_free(out, FALSE);
}

static char *
artifact_of(Db *d, const MmCaseRecord *c, const char *kind)
{
    g_autoptr(GPtrArray) arts = mm_store_artifacts_list(d->store, c->id, NULL);

    for (guint i = 0; i < arts->len; i++) {
        const MmArtifactRecord *a = arts->pdata[i];
        if (strcmp(a->kind, kind) == 0)
            return g_strdup(a->content);
    }
    return NULL;
}

/* A NUMA guest's 2 cells are on the destination, and so is each of SNIPPETS in its XML there. */
static void
assert_kept_on_destination(Db *d, const MmCaseRecord *c, const char *const *snippets)
{
    g_autofree char *cells = artifact_of(d, c, "numa-cells");
    g_autofree char *after = artifact_of(d, c, "xml-after");

    assert_non_null(cells);
    assert_string_equal(cells, "2");
    assert_non_null(after);
    for (int i = 0; snippets[i]; i++)
        if (!strstr(after, snippets[i]))
            fail_msg("%s: '%s' is not in the destination's XML:\n%s", c->case_id, snippets[i], after);
}

/* What the DB says of a case, for a failed assertion: every step with its message, and the last
 * lines of the guest's console. A lab failure in CI is then read from its log alone. */
static char *
evidence_of(Db *d, const MmCaseRecord *c)
{
    g_autoptr(GPtrArray) steps = mm_store_steps_list(d->store, c->id, NULL);
    g_autofree char *tail = artifact_of(d, c, "console-tail");
    GString *out = g_string_new(NULL);

    g_string_append_printf(out, "%s: %s (%s: %s)\n", c->case_id, c->outcome, c->reason ? c->reason : "",
                           c->error_text ? c->error_text : "");
    for (guint i = 0; steps && i < steps->len; i++) {
        const MmStepRecord *s = steps->pdata[i];
        g_string_append_printf(out, "  %s %s %s in %" G_GINT64_FORMAT " ms: %s\n", s->started_at, s->phase,
                               s->ok ? "ok" : "FAILED", s->duration_ms, s->message ? s->message : "");
    }
    g_string_append_printf(out, "  console tail:\n%s\n", tail ? tail : "(none)");
    return g_string_free(out, FALSE);
}

static void
expect_outcome(Db *d, const char *id, const char *outcome)
{
    const MmCaseRecord *c = find(d, id);

    if (strcmp(c->outcome, outcome) != 0) {
        g_autofree char *why = evidence_of(d, c);
        fail_msg("%s: outcome %s, expected %s\n%s", id, c->outcome, outcome, why);
    }
}

static void
expect_case(Db *d, const char *id, const char *outcome, const char *reason, const char *steps)
{
    const MmCaseRecord *c = find(d, id);
    g_autofree char *got = steps_of(d, c);

    if (strcmp(c->outcome, outcome) != 0) {
        g_autofree char *why = evidence_of(d, c);
        fail_msg("%s: outcome %s, expected %s\n%s", id, c->outcome, outcome, why);
    }
    if (reason && (!c->reason || strcmp(c->reason, reason) != 0))
        fail_msg("%s: reason '%s', expected '%s'", id, c->reason, reason);
    if (steps && strcmp(got, steps) != 0)
        fail_msg("%s: steps\n  %s\nexpected\n  %s", id, got, steps);
    assert_false(c->unexpected);
    assert_string_equal(c->state, "done");
}

/* No domain of ours on any lab host. */
static void
assert_no_leftovers(void)
{
    g_autoptr(GPtrArray) problems = mm_problems_new();
    g_autoptr(MmScenario) sc = mm_scenario_load(MM_SOURCE_DIR "/scenarios/local.ini", problems);

    assert_non_null(sc);
    for (guint i = 0; i < sc->hosts->len; i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(virConnect) conn = mm_host_open(sc->hosts->pdata[i], &err);

        mm_test_lab_assert_no_domains(conn, MM_DOMAIN_PREFIX, ((MmHost *)sc->hosts->pdata[i])->name);
        /* No host lease either (shards). */
        {
            virSecretPtr s = virSecretLookupByUsage(conn, VIR_SECRET_USAGE_TYPE_VOLUME, "/var/lib/migmatrix/host-lease");
            if (s) {
                g_autofree char *xml = virSecretGetXMLDesc(s, 0);
                virSecretFree(s);
                fail_msg("a host lease is left on %s: %s", ((MmHost *)sc->hosts->pdata[i])->name, xml);
            }
            virResetLastError();
        }
    }
}

/* lab-up defines the arm64 guest with no OS where Debian's arm64 packages cannot be fetched. */
static bool
arm64_has_os(void)
{
    g_autofree char *text = NULL;

    assert_true(g_file_get_contents(MM_SOURCE_DIR "/scenarios/lab-generated.inc", &text, NULL, NULL));
    if (strstr(text, "guest-arm64/Image"))
        return true;
    if (g_getenv("CI"))
        fail_msg("the lab's arm64 guest has no OS (see lab-up's warning); CI must test the real one");
    printf("NOTE: the lab's arm64 guest has no OS here: its heartbeat is not checked\n");
    return false;
}

static void
test_local_matrix(void **state)
{
    g_autofree char *db = g_build_filename(lab->scenario_dir, "local.db", NULL);
    g_autofree char *out = NULL, *err = NULL;
    Db d = { 0 };
    int rc;

    (void)state;
    rc = RUN(&out, &err, "run", "scenarios/local.ini", "--db", db);
    if (rc != 0)
        fail_msg("run exited %d\n%s\n%s", rc, out, err);
    assert_non_null(strstr(out, "done: 44 of 44 cases"));
    db_open(&d, db);
    assert_string_equal(d.run->status, "done");
    assert_string_equal(d.run->kind, "run");
    assert_int_equal(d.cases->len, 44);
    assert_int_equal(d.run->n_unexpected, 0);

    /* Same CPU: the full cycle, XML unchanged. */
    expect_case(&d, "lab-a>lab-b/linux/custom:qemu64", "pass", NULL,
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:ok verify:ok cleanup:ok");
    {
        g_autofree char *stats = artifact_of(&d, find(&d, "lab-a>lab-b/linux/custom:qemu64"), "job-stats");
        g_autofree char *diff = artifact_of(&d, find(&d, "lab-a>lab-b/linux/custom:qemu64"), "xml-diff");
        assert_non_null(strstr(stats, "downtime="));
        assert_string_equal(diff, "(no changes)\n");
    }
    /* TCG has no host CPU to pass through. */
    expect_case(&d, "lab-a>lab-b/linux/host-passthrough", "start-failed", "mode unsupported by hypervisor",
                "prepare:ok define:ok start:fail cleanup:ok");
    assert_non_null(strstr(find(&d, "lab-a>lab-b/linux/host-passthrough")->error_text, "not supported by hypervisor"));

    /* Onto the older generation: missing features, one row each; the rollback is checked. */
    expect_case(&d, "lab-a>lab-c/linux/custom:Westmere", "migrate-failed", "missing features",
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:fail rollback-check:ok cleanup:ok");
    {
        g_autoptr(GPtrArray) f = mm_store_features_list(d.store, find(&d, "lab-a>lab-c/linux/custom:Westmere")->id, NULL);
        assert_int_equal(f->len, 3);
        assert_string_equal(f->pdata[0], "missing:aes");
        assert_string_equal(f->pdata[1], "missing:pclmuldq");
        assert_string_equal(f->pdata[2], "missing:sse4.2");
    }
    /* Off it, a plain model passes. Under TCG libvirt starts Westmere on lab-c, where QEMU calls it
     * unusable, and the guest runs without the blocked features; lab-a's QEMU gives it pclmulqdq,
     * which libvirt's Westmere does not name, and libvirt will not add it. Asymmetric. */
    expect_case(&d, "lab-c>lab-a/linux/custom:qemu64", "pass", NULL, NULL);
    expect_case(&d, "lab-c>lab-a/linux/custom:Westmere", "migrate-failed", "extra features", NULL);

    /* lab-b's migrate hook re-stamps this guest on arrival: the diff names the change, and
     * nothing but it. The cycle goes on past it (the outcome is xml-changed, not a failure). */
    expect_case(&d, "lab-a>lab-b/linux-restamp/custom:qemu64", "xml-changed", "domain XML changed across migration",
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:ok verify:ok cleanup:ok");
    {
        g_autofree char *diff = artifact_of(&d, find(&d, "lab-a>lab-b/linux-restamp/custom:qemu64"), "xml-diff");
        assert_string_equal(diff, "~ /domain/on_crash: destroy -> restart\n");
    }

    /* There and back, through the agent; job statistics per leg. */
    expect_case(&d, "lab-b>lab-a/linux-agent/custom:Westmere", "pass", NULL,
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:ok verify:ok migrate-back:ok "
                "verify-back:ok cleanup:ok");
    {
        g_autoptr(GPtrArray) ms =
            mm_store_migrations_list(d.store, find(&d, "lab-b>lab-a/linux-agent/custom:Westmere")->id, NULL);

        assert_int_equal(ms->len, 2);
        for (guint i = 0; i < 2; i++) {
            const MmMigrationRecord *m = ms->pdata[i];

            assert_string_equal(m->leg, i ? "migrate-back" : "migrate");
            assert_true(m->ok);
            assert_string_not_equal(m->stats, "none");
            assert_true(m->total_ms > 0);
            assert_true(m->downtime_ms >= 0);
            assert_true(m->data_processed > 0);
            assert_false(m->postcopy);
        }
    }
    /* A failed attempt is recorded too (refused at the destination's prepare: no data moved). */
    {
        g_autoptr(GPtrArray) ms =
            mm_store_migrations_list(d.store, find(&d, "lab-a>lab-c/linux/custom:Westmere")->id, NULL);

        assert_int_equal(ms->len, 1);
        assert_false(((MmMigrationRecord *)ms->pdata[0])->ok);
    }

    /* Stopped before it was migrated: not a migration result, nothing to roll back. */
    expect_case(&d, "lab-a>lab-b/linux-hang/custom:Westmere", "start-failed", "hung before migration",
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:fail cleanup:ok");

    /* The guest's own CPU across a move onto lab-c in maximum, which libvirt does not check.
     * The same loss, three guests: one runs on (cpu-changed), one whose heartbeat uses aesenc
     * stops, one whose PID 1 (glibc with SSE4.2 routines) dies and the guest reboots. */
    expect_case(&d, "lab-a>lab-c/linux-agent/maximum", "cpu-changed", "CPU features lost across migration",
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:ok verify:ok cleanup:ok");
    expect_case(&d, "lab-a>lab-c/linux-aes/maximum", "guest-hung", "no progress after migration", NULL);
    expect_case(&d, "lab-a>lab-c/linux/maximum", "guest-hung", "guest restarted after migration", NULL);
    {
        const char *ids[] = { "lab-a>lab-c/linux-agent/maximum", "lab-a>lab-c/linux-aes/maximum",
                              "lab-a>lab-c/linux/maximum" };

        for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
            g_autoptr(GPtrArray) f = mm_store_features_list(d.store, find(&d, ids[i])->id, NULL);
            g_autofree char *joined = NULL;

            g_ptr_array_add(f, NULL);
            joined = g_strjoinv(" ", (char **)f->pdata);
            if (strcmp(joined, "lost:aes lost:pclmuldq lost:sse4.2") != 0)
                fail_msg("%s: features '%s'", ids[i], joined);
        }
        g_autofree char *tail = artifact_of(&d, find(&d, "lab-a>lab-c/linux-aes/maximum"), "console-tail");
        assert_non_null(strstr(tail, "HBFAULT aes"));
    }
    /* Off the older host the guest gains them back: noted on a pass. */
    expect_case(&d, "lab-c>lab-a/linux/maximum", "pass", NULL, NULL);
    {
        g_autoptr(GPtrArray) f = mm_store_features_list(d.store, find(&d, "lab-c>lab-a/linux/maximum")->id, NULL);
        assert_int_equal(f->len, 3);
        assert_string_equal(f->pdata[0], "gained:aes");
    }
    /* A plain model: the guest's CPU is measured and unchanged. */
    {
        const MmCaseRecord *c = find(&d, "lab-a>lab-b/linux/custom:qemu64");
        g_autoptr(GPtrArray) steps = mm_store_steps_list(d.store, c->id, NULL);
        g_autoptr(GPtrArray) f = mm_store_features_list(d.store, c->id, NULL);

        assert_int_equal(f->len, 0);
        assert_non_null(strstr(((MmStepRecord *)steps->pdata[6])->message, "guest CPU after migrate: unchanged"));
    }

    /* Hard reboot into lab-a's host-model: the CPU changes, and the report can show how. */
    expect_case(&d, "lab-b>lab-a/linux-agent/none", "pass", NULL,
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:ok verify:ok reboot:ok "
                "migrate-back:ok verify-back:ok cleanup:ok");
    {
        const MmCaseRecord *c = find(&d, "lab-b>lab-a/linux-agent/none");
        g_autofree char *mode = artifact_of(&d, c, "mode-after-reboot");
        g_autofree char *diff = artifact_of(&d, c, "xml-diff-reboot");
        assert_string_equal(mode, "host-model");
        assert_non_null(strstr(diff, "/domain/cpu/"));
        assert_non_null(strstr(diff, "EPYC"));
        /* Like with like: the snapshot names both views, the reboot compares migratable XML. */
        {
            g_autoptr(GPtrArray) steps = mm_store_steps_list(d.store, c->id, NULL);
            const MmStepRecord *snap = steps->pdata[4], *reboot = steps->pdata[7];

            assert_string_equal(snap->phase, "snapshot");
            assert_non_null(strstr(snap->message, "; migratable CPU "));
            assert_string_equal(reboot->phase, "reboot");
            assert_non_null(strstr(reboot->message, "migratable CPU custom:qemu64 check=none -> custom:EPYC check=full"));
            assert_non_null(strstr(reboot->message, "migratable XML changed at reboot: CPU: "));
        }
    }
    expect_case(&d, "lab-a>lab-b/linux-agent/none", "reboot-failed", "mode unsupported by hypervisor", NULL);
    /* Off the older node and rebooted in lab-a's host-model, the guest has lab-a's CPU now: it
     * cannot go back, and the failed move back leaves it running on lab-a. */
    expect_case(&d, "lab-c>lab-a/linux-agent/none", "back-failed", "missing features",
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:ok verify:ok reboot:ok "
                "migrate-back:fail rollback-check:ok cleanup:ok");
    /* lab-c's default is the old node's baseline, Penryn, which runs there and back on lab-a. */
    expect_case(&d, "lab-a>lab-c/linux-agent/none", "pass", NULL,
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:ok verify:ok reboot:ok "
                "migrate-back:ok verify-back:ok cleanup:ok");
    {
        g_autofree char *mode = artifact_of(&d, find(&d, "lab-a>lab-c/linux-agent/none"), "mode-after-reboot");
        assert_string_equal(mode, "custom:Penryn");
    }

    /* The pre-check: it refuses Dhyana, and Westmere on lab-c, whose older CPU libvirt sees. */
    expect_case(&d, "lab-a>lab-b/linux-agent/custom:Dhyana", "precheck-incompatible", "missing features",
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok precheck:fail cleanup:ok");
    expect_case(&d, "lab-a>lab-c/linux-agent/custom:Westmere", "precheck-incompatible", "missing features",
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok precheck:fail cleanup:ok");
    {
        g_autofree char *pre = artifact_of(&d, find(&d, "lab-a>lab-c/linux-agent/custom:Westmere"), "precheck");
        assert_non_null(strstr(pre, "incompatible: "));
        assert_non_null(strstr(pre, "sse4.2, aes"));
    }

    /* Predictions, stored before the cases ran, from the run's own dossiers. The aarch64 guest's
     * are from each host's aarch64 domain capabilities under TCG; lab-c's are of its older CPU,
     * as libvirt sees it (docs/lab.md lists every cell that is not as predicted). */
    {
        static const struct {
            const char *id, *predicted, *rule;
            bool mispredicted;
        } want[] = {
            { "lab-a>lab-b/arm64/host-model", "start-failed", "start/mode-domcaps", false },
            { "lab-a>lab-b/arm64/custom:cortex-a57", "pass", "cycle/pass", false },
            { "lab-a>lab-b/linux/host-passthrough", "start-failed", "start/mode-domcaps", false },
            { "lab-a>lab-b/linux-agent/custom:Dhyana", "precheck-incompatible", "migrate/custom-dest", false },
            { "lab-a>lab-b/linux-agent/none", "reboot-failed", "reboot/mode-domcaps", false },
            { "lab-a>lab-c/linux/custom:Westmere", "migrate-failed", "migrate/custom-tcg-move", false },
            { "lab-a>lab-c/linux/host-model", "migrate-failed", "migrate/host-model-subset", false },
            { "lab-a>lab-c/linux-agent/custom:Westmere", "precheck-incompatible", "migrate/custom-dest", false },
            { "lab-a>lab-c/linux-agent/maximum", "cpu-changed", "migrate/cpu-changes", false },
            { "lab-a>lab-c/linux-aes/maximum", "cpu-changed", "migrate/cpu-changes", false },
            /* From the hosts' live CPUs of Westmere, which the run's snapshot probed: lab-a's QEMU
             * gives pclmuldq beyond libvirt's model, lab-c's did not. */
            { "lab-c>lab-a/linux/custom:Westmere", "migrate-failed", "migrate/custom-tcg-move", false },
            { "lab-b>lab-a/platform-numa/host-model", "migrate-failed", "hotplug/hotplug-tcg", false },
            { "lab-a>lab-c/linux-agent/none", "pass", "cycle/pass", false },
            { "lab-c>lab-a/linux-agent/none", "back-failed", "migrate-back/host-model-subset", false },
            { "lab-a>lab-b/linux/custom:Westmere", "pass", "cycle/pass", false },
        };
        for (gsize i = 0; i < G_N_ELEMENTS(want); i++) {
            const MmCaseRecord *c = find(&d, want[i].id);

            if (g_strcmp0(c->predicted, want[i].predicted) != 0 || g_strcmp0(c->predicted_rule, want[i].rule) != 0 ||
                mm_case_mispredicted(c) != want[i].mispredicted)
                fail_msg("%s: predicted %s by %s (%s), outcome %s; want %s by %s%s", want[i].id, c->predicted,
                         c->predicted_rule, c->predicted_reason ? c->predicted_reason : "-", c->outcome,
                         want[i].predicted, want[i].rule, want[i].mispredicted ? ", mispredicted" : "");
        }
    }
    /* Every misprediction, and every unknown, is one docs/lab.md explains: a guest that hangs
     * itself, a hook that rewrites the XML. No cell is unknown. */
    {
        static const char *const explained[] = {
            "lab-a>lab-b/linux-hang/custom:Westmere", "lab-a>lab-b/linux-restamp/custom:qemu64", NULL,
        };
        guint run = 0, wrong = 0, exact = 0;

        for (guint i = 0; i < d.cases->len; i++) {
            const MmCaseRecord *c = d.cases->pdata[i];

            if (g_strcmp0(c->outcome, "na") == 0)
                continue;
            run++;
            exact += g_strcmp0(c->predicted, c->outcome) == 0;
            if (g_strcmp0(c->predicted, "unknown") == 0)
                fail_msg("%s: an unknown prediction (none is, since the live CPUs): %s", c->case_id,
                         c->predicted_reason ? c->predicted_reason : "-");
            if (!mm_case_mispredicted(c))
                continue;
            wrong++;
            if (!g_strv_contains(explained, c->case_id))
                fail_msg("%s: a misprediction docs/lab.md does not explain: predicted %s by %s (%s), got %s (%s)",
                         c->case_id, c->predicted, c->predicted_rule, c->predicted_reason ? c->predicted_reason : "-",
                         c->outcome, c->reason ? c->reason : "-");
        }
        /* And each one listed is still one: the lists are the lab's, not supersets. */
        for (guint i = 0; explained[i]; i++)
            if (!mm_case_mispredicted(find(&d, explained[i])))
                fail_msg("%s is no longer mispredicted: update docs/lab.md and this list", explained[i]);
        /* The figures docs/lab.md gives: 40 of 42 right (95.2 %), 38 with the very outcome, as the
         * two guests that die of a lost feature are predicted cpu-changed. */
        assert_int_equal(run, 42);
        assert_int_equal(exact, 38);
        assert_int_equal(run - wrong, 40);
        print_message("predictions: %u of %u run cells pass/fail as predicted, %u with the very outcome, 0 unknown, "
                      "%u mispredicted, each explained\n",
                      run - wrong, run, exact, wrong);
    }

    /* The platform's template: the full cycle, its NUMA cells, topology, metadata and clock kept on
     * the destination; the hard reboot there takes numa_cpu_mode; other modes are n/a. */
    expect_case(&d, "lab-a>lab-b/platform-numa/host-model", "pass", NULL,
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:ok verify:ok reboot:ok "
                "migrate-back:ok verify-back:ok cleanup:ok");
    {
        static const char *const kept[] = {
            "<topology sockets='2' dies='1' cores='2' threads='1'/>",
            "<cell id='1' cpus='2-3' memory='131072' unit='KiB'/>",
            "<platform:flavor>numa.4c.256m</platform:flavor>",
            "<timer name='hpet' present='no'/>",
            "<vcpu placement='static' current='2'>4</vcpu>",
            NULL,
        };
        const MmCaseRecord *c = find(&d, "lab-a>lab-b/platform-numa/host-model");
        g_autofree char *diff = artifact_of(&d, c, "xml-diff");
        g_autofree char *mode = artifact_of(&d, c, "mode-after-reboot");

        assert_kept_on_destination(&d, c, kept);
        assert_string_equal(diff, "(no changes)\n");
        assert_string_equal(mode, "host-model");
    }
    expect_case(&d, "lab-a>lab-b/platform-numa/custom:Westmere", "na",
                "NUMA guest: lab-a runs NUMA guests in host-model only ([host:lab-a] numa_cpu_mode)", "");

    /* The builder's own NUMA guest on q35: its cells, topology, hot-plug room and NIC survive. */
    expect_case(&d, "lab-a>lab-b/linux-q35/host-model", "pass", NULL,
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:ok verify:ok "
                "migrate-back:ok verify-back:ok cleanup:ok");
    {
        static const char *const kept[] = {
            "machine='pc-q35-",
            "<topology sockets='2' dies='1' cores='2' threads='1'/>",
            "<vcpu placement='static' current='2'>4</vcpu>",
            "<model type='e1000e'/>",
            NULL,
        };

        assert_kept_on_destination(&d, find(&d, "lab-a>lab-b/linux-q35/host-model"), kept);
    }

    /* vCPU hot-plug, counted by the guest itself on both sides; the unplug meets QEMU 7.2's TCG limit
     * (no DEVICE_DELETED for the vCPU, docs/lab.md). */
    expect_case(&d, "lab-b>lab-a/platform-numa/host-model", "migrate-failed", "vcpu hot-plug",
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:ok verify:fail cleanup:ok");
    {
        const MmCaseRecord *c = find(&d, "lab-b>lab-a/platform-numa/host-model");
        g_autofree char *plugged = artifact_of(&d, c, "vcpus-plugged");
        g_autofree char *migrated = artifact_of(&d, c, "vcpus-migrated");

        assert_string_equal(plugged, "2 -> 3");
        assert_string_equal(migrated, "3");
        assert_non_null(strstr(c->error_text, "unplug after migrate: setting 3 vCPUs live on lab-a failed"));
        assert_non_null(strstr(c->error_text, "the guest then saw 3 vCPUs"));
    }

    /* The Debian guest, through its agent and over ssh on the guest network, there and back;
     * its own CPUID read by Debian's cpuid inside it. */
    {
        static const char *const ids[] = { "lab-a>lab-b/debian-agent/host-model", "lab-a>lab-b/debian-ssh/host-model" };
        static const char *const probes[] = { "agent probe answered", "ssh probe answered" };

        for (gsize i = 0; i < G_N_ELEMENTS(ids); i++) {
            const MmCaseRecord *c = find(&d, ids[i]);
            g_autoptr(GPtrArray) steps = NULL;

            expect_case(&d, ids[i], "pass", NULL,
                        "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:ok verify:ok "
                        "migrate-back:ok verify-back:ok cleanup:ok");
            steps = mm_store_steps_list(d.store, c->id, NULL);
            assert_non_null(strstr(((MmStepRecord *)steps->pdata[3])->message, probes[i]));
            assert_non_null(strstr(((MmStepRecord *)steps->pdata[6])->message, probes[i]));
            assert_non_null(strstr(((MmStepRecord *)steps->pdata[6])->message, "guest CPU after migrate: unchanged"));
        }
    }

    /* The aarch64 guest under TCG: a real arm64 kernel that keeps heartbeating on the destination. */
    expect_case(&d, "lab-a>lab-b/arm64/custom:cortex-a57", "pass", NULL,
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:ok verify:ok cleanup:ok");
    if (arm64_has_os()) {
        g_autofree char *tail = artifact_of(&d, find(&d, "lab-a>lab-b/arm64/custom:cortex-a57"), "console-tail");
        assert_non_null(tail);
        assert_non_null(strstr(tail, "HEARTBEAT"));
    }
    expect_case(&d, "lab-a>lab-b/arm64/custom:qemu64", "na", "an x86_64 CPU model for an aarch64 guest", "");

    db_close(&d);
    assert_no_leftovers();
}

/* SIGINT while a migration runs: the job is aborted, the guest cleaned up, the run marked
 * interrupted, and what was stored before stays. */
static bool
interrupt_when_migrating(const char *line, GPid pid, gpointer data)
{
    (void)data;
    /* --verbose prints a line as each phase starts. At 1 MiB/s the migration takes minutes. */
    if (!strstr(line, "linux/custom:qemu64: migrate started"))
        return false;
    g_usleep(2 * G_USEC_PER_SEC);
    kill(pid, SIGINT);
    return true;
}

static void
test_sigint(void **state)
{
    g_autofree char *db = NULL;
    g_autofree char *ini = lab_scenario(
        "slow",
        "bandwidth_mib = 1\nboot_timeout = 90\n"
        /* A guest with no OS (little memory to move at 1 MiB/s): the case that completes first. */
        IDLE_GUEST
        "[matrix]\npairs = lab-a>lab-b\nguests = idle, linux\nmodes = custom:cortex-a57, custom:qemu64\n"
        "[expect]\n*/idle/custom:qemu64 = na: x86 model\n*/linux/custom:cortex-a57 = na: arm model\n",
        &db);
    int status;
    Db d = { 0 };

    (void)state;
    status = run_watching(ini, db, interrupt_when_migrating, NULL);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);

    db_open(&d, db);
    assert_string_equal(d.run->status, "interrupted");
    /* The case done before the interrupt is intact. */
    expect_case(&d, "lab-a>lab-b/idle/custom:cortex-a57", "pass", NULL, NULL);
    {
        const MmCaseRecord *c = find(&d, "lab-a>lab-b/linux/custom:qemu64");
        g_autofree char *steps = steps_of(&d, c);

        assert_string_equal(c->state, "interrupted");
        assert_null(c->outcome);
        assert_non_null(strstr(steps, "migrate:fail cleanup:ok"));
    }
    db_close(&d);
    assert_no_leftovers();
}

/* SIGKILL of migmatrix in the middle of a (slow) migration, then run --resume: the finished
 * case is kept, the unfinished one runs again from scratch (the dead runner's guest removed by
 * the new prepare), there is one row per case and one attempt's steps, and no domain is left.
 * A changed scenario is refused first (exit 2). */
static bool
sigkill_when_migrating(const char *line, GPid pid, gpointer data)
{
    (void)data;
    if (!strstr(line, "linux/custom:qemu64: migrate started"))
        return false;
    g_usleep(2 * G_USEC_PER_SEC);
    kill(pid, SIGKILL);
    return true;
}

static void
test_sigkill_resume(void **state)
{
    g_autofree char *db = NULL;
    g_autofree char *body = g_strdup(
        "bandwidth_mib = 1\nmigrate_timeout = 8\nboot_timeout = 90\n" IDLE_GUEST
        "[matrix]\npairs = lab-a>lab-b\nguests = idle, linux\nmodes = custom:cortex-a57, custom:qemu64\n"
        "[expect]\n*/idle/custom:qemu64 = na: x86 model\n*/linux/custom:cortex-a57 = na: arm model\n"
        "*/linux/custom:qemu64 = migrate-failed: timeout\n");
    g_autofree char *ini = lab_scenario("killed", body, &db);
    g_autofree char *id = NULL, *out = NULL, *err = NULL, *changed = NULL, *orig = NULL;
    Db d = { 0 };
    int status, rc;

    (void)state;
    status = run_watching(ini, db, sigkill_when_migrating, NULL);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    db_open(&d, db);
    assert_string_equal(d.run->status, "running");   /* nobody could say otherwise */
    expect_outcome(&d, "lab-a>lab-b/idle/custom:cortex-a57", "pass");
    assert_string_equal(find(&d, "lab-a>lab-b/linux/custom:qemu64")->state, "running");
    id = g_strdup_printf("%" G_GINT64_FORMAT, d.run->id);
    db_close(&d);

    /* The scenario changed since: refused, and nothing touched. */
    assert_true(g_file_get_contents(ini, &orig, NULL, NULL));
    {
        /* A real change (comments are not part of the hash): another timeout. */
        g_auto(GStrv) p = g_strsplit(orig, "migrate_timeout = 8", 2);
        changed = g_strjoinv("migrate_timeout = 9", p);
    }
    assert_true(g_file_set_contents(ini, changed, -1, NULL));
    rc = RUN(&out, &err, "run", "--resume", id, "--db", db);
    assert_int_equal(rc, MM_EXIT_USAGE);
    assert_non_null(strstr(err, "changed since run"));
    assert_true(g_file_set_contents(ini, orig, -1, NULL));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    rc = RUN(&out, &err, "run", "--resume", id, "--db", db);
    if (rc != 0)
        fail_msg("resume exited %d:\n%s\n%s", rc, out, err);
    assert_non_null(strstr(out, "done: 4 of 4 cases"));
    db_open(&d, db);
    assert_int_equal(d.cases->len, 4);
    assert_string_equal(d.run->status, "done");
    assert_int_equal(d.run->resumed, 1);
    expect_case(&d, "lab-a>lab-b/idle/custom:cortex-a57", "pass", NULL, NULL);
    expect_case(&d, "lab-a>lab-b/linux/custom:qemu64", "migrate-failed", "timeout",
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:fail rollback-check:ok cleanup:ok");
    {
        g_autoptr(GError) e = NULL;
        g_autoptr(GPtrArray) steps = mm_store_steps_list(d.store, find(&d, "lab-a>lab-b/linux/custom:qemu64")->id, &e);
        const MmStepRecord *prepare = steps->pdata[0];

        /* The killed runner's guest was still on lab-a: its owner is dead, so it went. */
        if (!strstr(prepare->message, "removed 1 leftover domain"))
            fail_msg("prepare: %s", prepare->message);
    }
    db_close(&d);
    assert_no_leftovers();
}

/* When a case of the run held its hosts: its first step's start to its last step's end (inside
 * the leases, unlike the case row's times, written after them). */
static void
case_span(Db *d, const MmCaseRecord *c, gint64 *from, gint64 *to)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) steps = mm_store_steps_list(d->store, c->id, &err);
    const MmStepRecord *first, *last;
    g_autoptr(GDateTime) a = NULL, b = NULL;

    assert_true(steps && steps->len > 0);
    first = steps->pdata[0];
    last = steps->pdata[steps->len - 1];
    a = g_date_time_new_from_iso8601(first->started_at, NULL);
    b = g_date_time_new_from_iso8601(last->started_at, NULL);
    assert_non_null(a);
    assert_non_null(b);
    *from = g_date_time_to_unix(a) * G_USEC_PER_SEC + g_date_time_get_microsecond(a);
    *to = g_date_time_to_unix(b) * G_USEC_PER_SEC + g_date_time_get_microsecond(b) + last->duration_ms * 1000;
}

/* The host lease itself, on lab-a: exclusive, held by a case of an owner; released only by that
 * case; taken over once past its time, or from a dead process of this machine, never from a
 * live owner elsewhere. */
static void
test_leases(void **state)
{
    g_autoptr(GPtrArray) problems = mm_problems_new();
    g_autoptr(MmScenario) sc = mm_scenario_load(MM_SOURCE_DIR "/scenarios/local.ini", problems);
    g_autoptr(MmHostPool) pool = mm_host_pool_new();
    const MmHost *a = mm_scenario_find_host(sc, "lab-a");
    g_autofree char *me = g_strdup_printf("%s:%d", g_get_host_name(), (int)getpid());
    g_autofree char *dead = NULL;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    g_autoptr(GError) err = NULL;
    char *held = NULL;
    pid_t child;

    (void)state;
    /* A PID that was ours and is gone: a dead owner on this machine. */
    child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    dead = g_strdup_printf("%s:%d", g_get_host_name(), (int)child);

#define TAKE(owner, what, until, want)                                                                       \
    do {                                                                                                     \
        int got_ = mm_host_lease_acquire(pool, a, owner, what, until, &held, &err);                          \
        if (got_ != (want))                                                                                  \
            fail_msg("acquire by %s/%s: %d, want %d (%s; %s)", owner, what, got_, want, held ? held : "",    \
                     err ? err->message : "");                                                               \
        g_clear_pointer(&held, g_free);                                                                      \
    } while (0)

    TAKE("elsewhere.invalid:1", "x>y/g/none", now + 600, 1);
    TAKE(me, "a>b/g/none", now + 600, 0);                      /* a live owner elsewhere: wait */
    assert_int_equal(mm_host_lease_acquire(pool, a, me, "a>b/g/none", now + 600, &held, &err), 0);
    if (!strstr(held, "elsewhere.invalid:1, case x>y/g/none"))
        fail_msg("held by: %s", held);
    g_clear_pointer(&held, g_free);
    mm_host_lease_release(pool, a, me, "x>y/g/none");           /* not ours: stays */
    mm_host_lease_release(pool, a, "elsewhere.invalid:1", "other-case");   /* not that case: stays */
    TAKE(me, "a>b/g/none", now + 600, 0);
    mm_host_lease_release(pool, a, "elsewhere.invalid:1", "x>y/g/none");
    TAKE(me, "a>b/g/none", now + 600, 1);                      /* given back: ours */
    mm_host_lease_release(pool, a, me, "a>b/g/none");
    TAKE("elsewhere.invalid:1", "x>y/g/none", now - 1, 1);     /* already past its time */
    TAKE(me, "a>b/g/none", now + 600, 1);                      /* taken over */
    mm_host_lease_release(pool, a, me, "a>b/g/none");
    TAKE(dead, "x>y/g/none", now + 600, 1);
    TAKE(me, "a>b/g/none", now + 600, 1);                      /* its owner is gone */
    mm_host_lease_release(pool, a, me, "a>b/g/none");
#undef TAKE
    assert_no_leftovers();
}

/* Two shards of a matrix whose hosts form one group run at the same time: split by host pair,
 * they share lab-a, and take turns on it through its lease. Neither fails, their cases never
 * overlap in time, one waited for the other, merged they are the whole plan, and no lease is
 * left. */
static void
test_shards_take_turns(void **state)
{
    g_autofree char *db = NULL;
    g_autofree char *ini = lab_scenario("turns",
                                        "boot_timeout = 90\n[matrix]\npairs = lab-a>lab-b, lab-c>lab-a\n"
                                        "guests = linux\nmodes = custom:qemu64\n",
                                        &db);
    g_autofree char *dbs[2] = { NULL, NULL }, *logs[2] = { NULL, NULL };
    g_autofree char *merged = g_build_filename(lab->scenario_dir, "turns-merged.db", NULL);
    g_autofree char *out = NULL, *err = NULL;
    GPid pids[2];
    int fds[2];
    Db d[2] = { { 0 } };
    int rc;

    (void)state;
    for (int k = 0; k < 2; k++) {
        g_autofree char *shard = g_strdup_printf("%d/2", k + 1);
        g_autofree char *name = g_strdup_printf("turns-%d.db", k + 1);
        const char *argv[] = { MM_BINARY, "run", ini, "--db", NULL, "--shard", shard, "--verbose", NULL };
        g_autoptr(GError) e = NULL;

        dbs[k] = g_build_filename(lab->scenario_dir, name, NULL);
        argv[4] = dbs[k];
        assert_true(g_spawn_async_with_pipes(MM_SOURCE_DIR, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                             NULL, &pids[k], NULL, NULL, &fds[k], &e));
    }
    for (int k = 0; k < 2; k++) {
        int fd = fds[k], status;
        GString *text = g_string_new(NULL);
        char buf[4096];
        ssize_t n;

        while ((n = read(fd, buf, sizeof(buf))) > 0)
            g_string_append_len(text, buf, n);
        close(fd);
        logs[k] = g_string_free(text, FALSE);
        assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("shard %d/2 exited %d:\n%s", k + 1, WEXITSTATUS(status), logs[k]);
        assert_non_null(strstr(logs[k], "split by host pair"));
    }
    assert_true(strstr(logs[0], "waiting for lab-a, leased by") || strstr(logs[1], "waiting for lab-a, leased by"));
    for (int k = 0; k < 2; k++)
        db_open(&d[k], dbs[k]);
    assert_int_equal(d[0].cases->len + d[1].cases->len, 2);
    for (guint i = 0; i < d[0].cases->len; i++)
        for (guint j = 0; j < d[1].cases->len; j++) {
            const MmCaseRecord *a = d[0].cases->pdata[i], *b = d[1].cases->pdata[j];
            gint64 a0, a1, b0, b1;

            case_span(&d[0], a, &a0, &a1);
            case_span(&d[1], b, &b0, &b1);
            if (a0 < b1 && b0 < a1)
                fail_msg("%s and %s held lab-a at once", a->case_id, b->case_id);
        }
    for (int k = 0; k < 2; k++)
        db_close(&d[k]);
    rc = RUN(&out, &err, "merge", "--db", merged, dbs[0], dbs[1]);
    if (rc != 0)
        fail_msg("merge exited %d: %s", rc, err);
    assert_non_null(strstr(out, "2 cases of"));
    assert_no_leftovers();
}

/* A migration slower than migrate_timeout is aborted: migrate-failed with reason timeout, and
 * the guest still runs on its source. */
static void
test_migrate_timeout(void **state)
{
    g_autofree char *db = NULL;
    g_autofree char *ini = lab_scenario("timeout",
                                        "bandwidth_mib = 1\nmigrate_timeout = 3\nboot_timeout = 90\n"
                                        "[matrix]\npairs = lab-a>lab-b\nguests = linux\nmodes = custom:qemu64\n"
                                        "[expect]\n*/*/* = migrate-failed: timeout\n",
                                        &db);
    Db d = { 0 };

    (void)state;
    run_ok(ini, db, &d);
    expect_case(&d, "lab-a>lab-b/linux/custom:qemu64", "migrate-failed", "timeout",
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:fail rollback-check:ok cleanup:ok");
    assert_non_null(strstr(find(&d, "lab-a>lab-b/linux/custom:qemu64")->error_text, "migrate_timeout = 3 s"));
    db_close(&d);
    assert_no_leftovers();
}

/* The init PID of a lab host, from the lab's state file. */
static char *
lab_init_pid(const char *host)
{
    g_autofree char *path = g_build_filename(lab->dir, "state", NULL);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], " ", -1);
        if (g_strv_length(f) >= 5 && strcmp(f[0], "host") == 0 && strcmp(f[1], host) == 0)
            return g_strdup(f[4]);
    }
    fail_msg("no host %s in the lab state", host);
    return NULL;
}

/* Runs COMMAND inside lab host HOST's namespaces (nsenter); returns its exit status. */
static int
in_host(const char *host, const char *command)
{
    g_autofree char *init = lab_init_pid(host);
    g_autofree char *cmd = g_strdup_printf("nsenter -t %s -m -n -u -p env PATH=%s/bin:/usr/sbin:/usr/bin:/sbin:/bin %s",
                                           init, lab->dir, command);
    return system(cmd);
}

/* Waits until HOST's libvirtd answers again (after a test restarted it). */
static void
wait_libvirtd(const char *host)
{
    for (int i = 0; i < 100; i++) {
        g_autoptr(GPtrArray) problems = mm_problems_new();
        g_autoptr(MmScenario) sc = mm_scenario_load(MM_SOURCE_DIR "/scenarios/local.ini", problems);
        g_autoptr(GError) e2 = NULL;
        g_autoptr(virConnect) conn = mm_host_open(mm_scenario_find_host(sc, host), &e2);
        if (conn)
            return;
        g_usleep(100000);
    }
    fail_msg("%s's libvirtd does not answer", host);
}

/* lab-c's libvirtd dies while the first case runs: its cases are infra-error (the later one at
 * once, the pool remembers), the others go on, and the run exits 3. */
static bool
kill_libvirtd_of_lab_c(const char *line, GPid pid, gpointer data)
{
    (void)pid;
    if (!strstr(line, "lab-a>lab-b/linux/custom:qemu64: migrate started"))
        return false;
    ((Action *)data)->rc = in_host("lab-c", "pkill -x libvirtd");
    return true;
}

static void
test_host_drops(void **state)
{
    g_autofree char *db = NULL;
    g_autofree char *ini = lab_scenario("drop",
                                        "boot_timeout = 90\n[matrix]\npairs = lab-a>lab-b, lab-a>lab-c, lab-c>lab-a\n"
                                        "guests = linux\nmodes = custom:qemu64\n",
                                        &db);
    Action act = { -1 };
    Db d = { 0 };
    int status;

    (void)state;
    status = run_watching(ini, db, kill_libvirtd_of_lab_c, &act);
    /* Bring lab-c back for whoever uses the lab next. */
    assert_int_equal(in_host("lab-c", "/usr/sbin/libvirtd -d"), 0);
    assert_int_equal(act.rc, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), MM_EXIT_INFRA);

    db_open(&d, db);
    expect_outcome(&d, "lab-a>lab-b/linux/custom:qemu64", "pass");
    expect_outcome(&d, "lab-a>lab-c/linux/custom:qemu64", "infra-error");
    expect_outcome(&d, "lab-c>lab-a/linux/custom:qemu64", "infra-error");
    assert_non_null(strstr(find(&d, "lab-c>lab-a/linux/custom:qemu64")->error_text, "host down"));
    assert_string_equal(d.run->status, "done");
    db_close(&d);
    wait_libvirtd("lab-c");
    assert_no_leftovers();
}

/* The destination's libvirtd dies while a migration streams to it: the case is infra-error
 * (the lab failed, not the migration), the guest is still on its source and is removed there,
 * and the run goes on to the next pair. */
static bool
kill_destination_libvirtd(const char *line, GPid pid, gpointer data)
{
    (void)pid;
    if (!strstr(line, "lab-a>lab-b/linux/custom:qemu64: migrate started"))
        return false;
    g_usleep(G_USEC_PER_SEC);
    ((Action *)data)->rc = in_host("lab-b", "pkill -KILL -x libvirtd");
    return true;
}

static void
test_destination_libvirtd_killed(void **state)
{
    g_autofree char *db = NULL;
    g_autofree char *ini = lab_scenario("dest-libvirtd",
                                        "boot_timeout = 90\nbandwidth_mib = 4\nmigrate_timeout = 60\n"
                                        "[matrix]\npairs = lab-a>lab-b, lab-a>lab-c\n"
                                        "guests = linux\nmodes = custom:qemu64\n",
                                        &db);
    Action act = { -1 };
    Db d = { 0 };
    int status;

    (void)state;
    status = run_watching(ini, db, kill_destination_libvirtd, &act);
    assert_int_equal(in_host("lab-b", "/usr/sbin/libvirtd -d"), 0);
    assert_int_equal(act.rc, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), MM_EXIT_INFRA);
    db_open(&d, db);
    {
        const MmCaseRecord *c = find(&d, "lab-a>lab-b/linux/custom:qemu64");
        if (strcmp(c->outcome, "infra-error") != 0)
            fail_msg("%s: %s (%s: %s), expected infra-error", c->case_id, c->outcome, c->reason, c->error_text);
    }
    expect_outcome(&d, "lab-a>lab-c/linux/custom:qemu64", "pass");
    assert_string_equal(d.run->status, "done");
    db_close(&d);
    wait_libvirtd("lab-b");
    assert_no_leftovers();
}

/* lab-c's sshd (the transport of its qemu+libssh connection) stops between two cases: its
 * next case is infra-error "host down" after the reconnect backoff, the other pair's case in
 * between passes, and the run goes on. */
static bool
stop_sshd_of_lab_c(const char *line, GPid pid, gpointer data)
{
    (void)pid;
    if (!strstr(line, "lab-a>lab-c/linux/custom:qemu64: pass"))
        return false;
    ((Action *)data)->rc = in_host("lab-c", "pkill -x sshd");
    return true;
}

static void
test_sshd_stopped(void **state)
{
    g_autofree char *db = NULL;
    g_autofree char *ini = lab_scenario("sshd",
                                        "boot_timeout = 90\n[matrix]\npairs = lab-a>lab-c, lab-a>lab-b, lab-c>lab-a\n"
                                        "guests = linux\nmodes = custom:qemu64\n",
                                        &db);
    g_autofree char *restart = g_strdup_printf("/usr/sbin/sshd -f %s/hosts/lab-c/sshd_config -E %s/hosts/lab-c/sshd.log",
                                               lab->dir, lab->dir);
    Action act = { -1 };
    Db d = { 0 };
    int status;

    (void)state;
    status = run_watching(ini, db, stop_sshd_of_lab_c, &act);
    assert_int_equal(in_host("lab-c", restart), 0);
    assert_int_equal(act.rc, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), MM_EXIT_INFRA);
    db_open(&d, db);
    expect_outcome(&d, "lab-a>lab-c/linux/custom:qemu64", "pass");
    expect_outcome(&d, "lab-a>lab-b/linux/custom:qemu64", "pass");
    {
        const MmCaseRecord *c = find(&d, "lab-c>lab-a/linux/custom:qemu64");
        assert_string_equal(c->outcome, "infra-error");
        if (!strstr(c->error_text, "host down") || !strstr(c->error_text, "4 attempts"))
            fail_msg("%s: %s", c->case_id, c->error_text);
    }
    assert_string_equal(d.run->status, "done");
    db_close(&d);
    assert_no_leftovers();
}

/* --jobs 2 on two disjoint pairs, and lab-b's libvirtd dies in the middle of the run: lab-b's
 * cases are infra-error, the lab-c>lab-d cases running beside them pass, the DB is in plan
 * order, and nothing is left anywhere. */
static bool
kill_libvirtd_of_lab_b(const char *line, GPid pid, gpointer data)
{
    (void)pid;
    if (!strstr(line, "lab-a>lab-b/linux/custom:qemu64: migrate started"))
        return false;
    ((Action *)data)->rc = in_host("lab-b", "pkill -KILL -x libvirtd");
    return true;
}

static void
test_jobs_host_drops(void **state)
{
    g_autofree char *db = NULL;
    g_autofree char *ini = NULL;
    Action act = { -1 };
    Db d = { 0 };
    int status;

    (void)state;
    ini = lab_scenario("jobs-drop",
                       "boot_timeout = 90\nbandwidth_mib = 4\njobs = 2\n"
                       "[matrix]\npairs = lab-a>lab-b, lab-c>lab-d\nguests = linux\nmodes = custom:qemu64, none\n",
                       &db);
    status = run_watching(ini, db, kill_libvirtd_of_lab_b, &act);
    assert_int_equal(in_host("lab-b", "/usr/sbin/libvirtd -d"), 0);
    assert_int_equal(act.rc, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), MM_EXIT_INFRA);
    db_open(&d, db);
    expect_outcome(&d, "lab-a>lab-b/linux/custom:qemu64", "infra-error");
    expect_outcome(&d, "lab-a>lab-b/linux/none", "infra-error");
    assert_non_null(strstr(find(&d, "lab-a>lab-b/linux/none")->error_text, "host down"));
    expect_outcome(&d, "lab-c>lab-d/linux/custom:qemu64", "pass");
    expect_outcome(&d, "lab-c>lab-d/linux/none", "pass");
    assert_string_equal(d.run->status, "done");
    /* Plan order in the DB, as a serial run stores it; and two cases really ran at once: the
     * first of each pair began before the other ended. */
    {
        const char *order[] = { "lab-a>lab-b/linux/custom:qemu64", "lab-a>lab-b/linux/none",
                                "lab-c>lab-d/linux/custom:qemu64", "lab-c>lab-d/linux/none" };
        const MmCaseRecord *a = d.cases->pdata[0], *c = d.cases->pdata[2];
        gint64 a0, a1, c0, c1;

        for (guint i = 0; i < G_N_ELEMENTS(order); i++)
            assert_string_equal(((MmCaseRecord *)d.cases->pdata[i])->case_id, order[i]);
        case_span(&d, a, &a0, &a1);
        case_span(&d, c, &c0, &c1);
        assert_true(a0 < c1 && c0 < a1);
    }
    db_close(&d);
    wait_libvirtd("lab-b");
    assert_no_leftovers();
}

/* `baseline --check` end to end: the hosts probed, the pool's baseline written into a scenario
 * that includes local.ini, and run for real. libvirt sees lab-c's older CPU, so the baseline
 * gives up what lab-c lacks and runs on every pair, as predicted. */
static void
test_baseline_check(void **state)
{
    g_autofree char *db = g_build_filename(lab->scenario_dir, "baseline.db", NULL);
    g_autofree char *ini = g_build_filename(lab->scenario_dir, "baseline-check.ini", NULL);
    g_autofree char *out = NULL, *err = NULL, *text = NULL;
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_auto(GStrv) require = NULL;
    static const char *const ids[] = { "lab-a>lab-b/linux/custom:BASELINE", "lab-b>lab-a/linux/custom:BASELINE",
                                       "lab-c>lab-a/linux/custom:BASELINE", "lab-a>lab-c/linux/custom:BASELINE" };
    Db d = { 0 };
    int rc;

    (void)state;
    rc = RUN(&out, &err, "probe", "scenarios/local.ini", "--db", db);
    if (rc != 0)
        fail_msg("probe: exit %d\n%s%s", rc, out, err);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    rc = RUN(&out, &err, "baseline", "--check", "scenarios/local.ini", "--db", db, "--out", ini);
    if (rc != 0)
        fail_msg("baseline --check: exit %d\n%s", rc, err);
    assert_true(g_file_get_contents(ini, &text, NULL, NULL));
    assert_non_null(strstr(text, "[cpu:BASELINE]\nmodel = "));
    assert_non_null(strstr(text, "modes = custom:BASELINE\n"));
    /* What lab-c's CPU lacks is not asked of the pool. */
    g_key_file_set_list_separator(kf, ',');
    assert_true(g_key_file_load_from_data(kf, text, -1, G_KEY_FILE_NONE, NULL));
    require = g_key_file_get_string_list(kf, "cpu:BASELINE", "require", NULL, NULL);
    assert_non_null(require);
    for (guint i = 0; require[i]; i++) {
        g_strstrip(require[i]);
        if (!strcmp(require[i], "aes") || !strcmp(require[i], "pclmuldq") || !strcmp(require[i], "sse4.2"))
            fail_msg("the baseline requires %s, which lab-c lacks:\n%s", require[i], text);
    }
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    rc = RUN(&out, &err, "run", ini, "--db", db, "--filter", "*/linux/custom:BASELINE");
    if (rc != MM_EXIT_OK)
        fail_msg("run %s: exit %d\n%s%s", ini, rc, out, err);
    db_open(&d, db);
    for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
        const MmCaseRecord *c = find(&d, ids[i]);

        expect_outcome(&d, ids[i], "pass");
        assert_string_equal(c->predicted, "pass");
        assert_false(mm_case_mispredicted(c));
    }
    db_close(&d);
    assert_no_leftovers();
}

/* The destination's QEMU is killed while the migration streams (both libvirtds stay up): a
 * migration failure, not infra-error, with the cause from lab-b's QEMU log, the rollback checked,
 * and the failed attempt's job statistics kept. */
static bool
kill_destination_qemu(const char *line, GPid pid, gpointer data)
{
    (void)pid;
    if (!strstr(line, "lab-a>lab-b/linux/custom:qemu64: migrate started"))
        return false;
    /* The destination QEMU exists once libvirt has prepared the incoming side. */
    for (int i = 0; i < 600 && in_host("lab-b", "pgrep -f qemu-system >/dev/null") != 0; i++)
        g_usleep(100000);
    g_usleep(G_USEC_PER_SEC);
    ((Action *)data)->rc = in_host("lab-b", "pkill -KILL -f qemu-system");
    return true;
}

static void
test_destination_qemu_killed(void **state)
{
    g_autofree char *db = NULL;
    g_autofree char *ini = lab_scenario("qemu-killed",
                                        "bandwidth_mib = 4\nboot_timeout = 90\n"
                                        "[matrix]\npairs = lab-a>lab-b\nguests = linux\nmodes = custom:qemu64\n"
                                        "[expect]\n*/*/* = migrate-failed: the test kills lab-b's QEMU\n",
                                        &db);
    g_autofree char *log = NULL;
    g_autoptr(GPtrArray) migrations = NULL;
    const MmCaseRecord *c;
    const MmMigrationRecord *m;
    Action act = { -1 };
    Db d = { 0 };
    int status;

    (void)state;
    status = run_watching(ini, db, kill_destination_qemu, &act);
    assert_int_equal(act.rc, 0);
    assert_true(WIFEXITED(status));
    /* --verbose: a line as each phase starts, and one as it ends with its own duration. */
    assert_non_null(strstr(progress_lines->str, "lab-a>lab-b/linux/custom:qemu64: migrate started\n"));
    assert_non_null(strstr(progress_lines->str, "lab-a>lab-b/linux/custom:qemu64: migrate failed in "));
    assert_non_null(strstr(progress_lines->str, "lab-a>lab-b/linux/custom:qemu64: cleanup ok in "));
    db_open(&d, db);
    c = find(&d, "lab-a>lab-b/linux/custom:qemu64");
    expect_case(&d, c->case_id, "migrate-failed", "destination QEMU exited",
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:fail rollback-check:ok cleanup:ok");
    assert_int_equal(WEXITSTATUS(status), 0);
    log = artifact_of(&d, c, "qemu-log");
    assert_non_null(log);
    assert_non_null(strstr(log, "shutting down, reason=crashed"));
    migrations = mm_store_migrations_list(d.store, c->id, NULL);
    assert_int_equal(migrations->len, 1);
    m = migrations->pdata[0];
    assert_string_equal(m->leg, "migrate");
    assert_false(m->ok);
    assert_string_not_equal(m->stats, "none");
    assert_true(m->data_processed > 0);
    assert_true(m->total_ms > 0);
    db_close(&d);
    assert_no_leftovers();
}

/* A real broken rollback: the migration onto lab-c fails (missing features), and the source's
 * QEMU is stopped (SIGSTOP) as the rollback is checked. The guest is "running" to libvirt but
 * makes no progress: rollback-broken, and cleanup still removes it. */
static bool
stop_source_at_rollback(const char *line, GPid pid, gpointer data)
{
    (void)pid;
    if (!strstr(line, "lab-a>lab-c/linux/custom:Westmere: rollback-check started"))
        return false;
    ((Action *)data)->rc = in_host("lab-a", "pkill -STOP -f qemu-system");
    return true;
}

static void
test_rollback_broken(void **state)
{
    g_autofree char *db = NULL;
    g_autofree char *ini = lab_scenario("rollback",
                                        "boot_timeout = 90\nalive_timeout = 8\n"
                                        "[matrix]\npairs = lab-a>lab-c\nguests = linux\nmodes = custom:Westmere\n"
                                        "[expect]\n*/*/* = rollback-broken: the test stops the source QEMU\n",
                                        &db);
    const MmCaseRecord *c;
    Action act = { -1 };
    Db d = { 0 };
    int status;

    (void)state;
    status = run_watching(ini, db, stop_source_at_rollback, &act);
    assert_int_equal(act.rc, 0);
    assert_true(WIFEXITED(status));
    db_open(&d, db);
    c = find(&d, "lab-a>lab-c/linux/custom:Westmere");
    expect_case(&d, c->case_id, "rollback-broken", "source not progressing",
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:fail rollback-check:fail cleanup:ok");
    assert_int_equal(WEXITSTATUS(status), 0);
    /* Both failures are kept: the migration's, then the rollback's. */
    assert_non_null(strstr(c->error_text, "missing features"));
    assert_non_null(strstr(c->error_text, "does not progress"));
    db_close(&d);
    assert_no_leftovers();
}

/* migrate_flags = postcopy really switches, both ways, and the statistics say so. */
static void
test_postcopy(void **state)
{
    g_autofree char *db = NULL;
    g_autofree char *ini = lab_scenario("postcopy",
                                        "bandwidth_mib = 8\nboot_timeout = 90\n"
                                        "migrate_flags = live, persistent, undefinesource, postcopy\n"
                                        "[matrix]\npairs = lab-a>lab-b\nguests = linux-agent\nmodes = custom:qemu64\n"
                                        "ping_pong = true\n",
                                        &db);
    g_autoptr(GPtrArray) migrations = NULL;
    g_autoptr(GPtrArray) steps = NULL;
    const MmCaseRecord *c;
    Db d = { 0 };

    (void)state;
    run_ok(ini, db, &d);
    c = find(&d, "lab-a>lab-b/linux-agent/custom:qemu64");
    expect_case(&d, c->case_id, "pass", NULL, NULL);
    migrations = mm_store_migrations_list(d.store, c->id, NULL);
    assert_int_equal(migrations->len, 2);
    for (guint i = 0; i < 2; i++) {
        const MmMigrationRecord *m = migrations->pdata[i];

        assert_string_equal(m->leg, i ? "migrate-back" : "migrate");
        assert_true(m->ok);
        assert_true(m->postcopy);
        assert_true(m->postcopy_after_ms >= 0);
    }
    steps = mm_store_steps_list(d.store, c->id, NULL);
    for (guint i = 0; i < steps->len; i++) {
        const MmStepRecord *st = steps->pdata[i];
        if (strcmp(st->phase, "migrate") == 0)
            assert_non_null(strstr(st->message, "post-copy started"));
    }
    db_close(&d);
    assert_no_leftovers();
}

/* A hard reboot of a guest migrated without persistent (transient on the destination). */
static void
test_reboot_transient(void **state)
{
    g_autofree char *db = NULL;
    g_autofree char *ini = lab_scenario("transient",
                                        "boot_timeout = 90\nmigrate_flags = live\n"
                                        "[matrix]\npairs = lab-b>lab-a\nguests = linux-agent\nmodes = none\n"
                                        "hard_reboot = true\n",
                                        &db);
    g_autoptr(GPtrArray) steps = NULL;
    const MmCaseRecord *c;
    Db d = { 0 };

    (void)state;
    run_ok(ini, db, &d);
    c = find(&d, "lab-b>lab-a/linux-agent/none");
    expect_case(&d, c->case_id, "pass", NULL,
                "prepare:ok define:ok start:ok wait-alive:ok snapshot:ok migrate:ok verify:ok reboot:ok cleanup:ok");
    steps = mm_store_steps_list(d.store, c->id, NULL);
    assert_non_null(strstr(((MmStepRecord *)steps->pdata[7])->message, "destroyed (transient) on lab-a"));
    db_close(&d);
    assert_no_leftovers();
}

/* The preflight: a missing kernel and a model typo are found on the hosts before anything runs:
 * exit 2, every problem listed (each host, with did-you-mean), no run stored. */
static void
test_preflight(void **state)
{
    g_autofree char *db = NULL;
    g_autofree char *ini = lab_scenario("preflight",
                                        "[guest:lost]\nos = linux\nkernel = /nonexistent/vmlinuz\nprobe = console\n"
                                        "[cpu:VTYPO]\nmodel = Westmere\nvendor = Intle\n"
                                        "[cpu:FTYPO]\nmodel = Westmere\nrequire = aes\ndisable = pclmulqd\n"
                                        "[matrix]\npairs = lab-a>lab-b, lab-c>lab-a\nguests = lost, linux\n"
                                        "modes = custom:Nehalme, custom:Westmere, custom:VTYPO, custom:FTYPO\n",
                                        &db);
    g_autofree char *out = NULL, *err = NULL;
    int rc;

    (void)state;
    rc = RUN(&out, &err, "run", ini, "--db", db);
    assert_int_equal(rc, MM_EXIT_USAGE);
    assert_non_null(strstr(err, "[guest:lost] kernel: /nonexistent/vmlinuz is not readable on lab-a"));
    assert_non_null(strstr(err, "[guest:lost] kernel: /nonexistent/vmlinuz is not readable on lab-c"));
    assert_non_null(strstr(err, "[matrix] modes: custom:Nehalme: lab-a's hypervisor (qemu, x86_64 guests) knows no "
                                "CPU model 'Nehalme' (did you mean 'Nehalem'?)"));
    assert_non_null(strstr(err, "lab-c's hypervisor"));
    /* A named CPU's vendor and feature names, checked against libvirt's cpu_map at their keys. */
    assert_non_null(strstr(err, "[cpu:VTYPO] vendor: libvirt's x86 cpu_map refuses it ("));
    assert_non_null(strstr(err, "Intle); did you mean 'Intel'?; use the names of"));
    assert_non_null(strstr(err, "[cpu:FTYPO] disable: libvirt's x86 cpu_map refuses it ("));
    assert_non_null(strstr(err, "pclmulqd); did you mean 'pclmuldq'?; use the names of"));
    assert_non_null(strstr(err, "6 errors"));
    assert_non_null(strstr(err, "nothing was run"));
    /* Nothing stored: the DB was never opened. */
    assert_false(g_file_test(db, G_FILE_TEST_EXISTS));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    /* validate --hosts finds the same, on demand. */
    assert_int_equal(RUN(&out, &err, "validate", "--hosts", ini), MM_EXIT_USAGE);
    assert_non_null(strstr(err, "did you mean 'Nehalem'?"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    /* And the shipped lab matrix is clean. */
    assert_int_equal(RUN(&out, &err, "validate", "--hosts", "scenarios/local.ini"), MM_EXIT_OK);
    assert_non_null(strstr(err, "0 errors, 0 warnings"));
}

/* Defines (does not start) NAME on CONN as a run would, with OWNER in its metadata (NULL: as
 * older migmatrix did, none); WITH_METADATA false: no migmatrix metadata at all. */
static void
define_owned(virConnectPtr conn, const MmGuest *guest, const char *name, const char *owner, bool with_metadata)
{
    MmCpuMode none = { 0 };
    g_autofree char *xml = NULL;
    virDomainPtr dom;

    assert_true(mm_cpu_mode_parse("none", &none, NULL));
    xml = mm_domxml_build(&(MmDomainSpec){ .name = name, .virt_type = "qemu", .guest = guest, .mode = &none,
                                           .case_id = "test", .run_id = 1, .owner = owner });
    if (!with_metadata) {
        char *start = strstr(xml, "<metadata>");
        char *end = strstr(xml, "</metadata>");

        assert_true(start && end);
        memmove(start, end + strlen("</metadata>"), strlen(end + strlen("</metadata>")) + 1);
    }
    dom = virDomainDefineXML(conn, xml);
    assert_non_null(dom);
    virDomainFree(dom);
    mm_cpu_mode_clear(&none);
}

static bool
defined(virConnectPtr conn, const char *name)
{
    virDomainPtr dom = virDomainLookupByName(conn, name);

    if (!dom)
        return false;
    virDomainFree(dom);
    return true;
}

/* prepare removes the domains of a run whose migmatrix is gone, and leaves alone those of a run
 * that may still be going: alive on this machine, or owned by another machine. */
static void
test_foreign_domains(void **state)
{
    g_autofree char *db = NULL;
    g_autofree char *ini = lab_scenario("foreign",
                                        "boot_timeout = 90\n"
                                        IDLE_GUEST
                                        "[matrix]\npairs = lab-a>lab-b\nguests = idle\nmodes = custom:cortex-a57\n",
                                        &db);
    g_autoptr(GPtrArray) problems = mm_problems_new();
    g_autoptr(MmScenario) sc = NULL;
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *alive = g_strdup_printf("%s:%d", g_get_host_name(), (int)getpid());
    g_autofree char *dead = NULL;
    g_autofree char *out = NULL, *errs = NULL;
    g_autoptr(GPtrArray) steps = NULL;
    const char *argv[] = { "/bin/true", NULL };
    const MmGuest *idle;
    GPid pid;
    int rc;
    Db d = { 0 };

    (void)state;
    /* A pid that surely ended: a child we reaped. */
    assert_true(g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL));
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    dead = g_strdup_printf("%s:%d", g_get_host_name(), (int)pid);
    sc = mm_scenario_load(ini, problems);
    assert_non_null(sc);
    conn = mm_host_open(mm_scenario_find_host(sc, "lab-a"), &err);
    assert_non_null(conn);
    idle = g_hash_table_lookup(sc->guest_by_name, "idle");
    define_owned(conn, idle, "mm-tstalive-1-idle", alive, true);
    define_owned(conn, idle, "mm-tstdead-1-idle", dead, true);
    define_owned(conn, idle, "mm-tstother-1-idle", "elsewhere.invalid:1", true);
    define_owned(conn, idle, "mm-tstlegacy-1-idle", NULL, true);
    define_owned(conn, idle, "mm-tstnotours-1-idle", NULL, false);

    rc = RUN(&out, &errs, "run", ini, "--db", db);
    if (rc != 0)
        fail_msg("run exited %d\n%s\n%s", rc, out, errs);
    assert_false(defined(conn, "mm-tstdead-1-idle"));
    assert_false(defined(conn, "mm-tstlegacy-1-idle"));
    assert_true(defined(conn, "mm-tstalive-1-idle"));
    assert_true(defined(conn, "mm-tstother-1-idle"));
    assert_true(defined(conn, "mm-tstnotours-1-idle"));
    db_open(&d, db);
    steps = mm_store_steps_list(d.store, find(&d, "lab-a>lab-b/idle/custom:cortex-a57")->id, NULL);
    {
        const MmStepRecord *prep = steps->pdata[0];
        assert_string_equal(prep->phase, "prepare");
        assert_non_null(strstr(prep->message, "removed 2 leftover domain(s)"));
        assert_null(strstr(prep->message, "tstnotours"));
        assert_non_null(strstr(prep->message, "mm-tstalive-1-idle (lab-a, owner"));
        assert_non_null(strstr(prep->message, "mm-tstother-1-idle (lab-a, owner elsewhere.invalid:1)"));
    }
    db_close(&d);
    for (int i = 0; i < 3; i++) {
        const char *kept[] = { "mm-tstalive-1-idle", "mm-tstother-1-idle", "mm-tstnotours-1-idle" };
        virDomainPtr dom = virDomainLookupByName(conn, kept[i]);
        assert_non_null(dom);
        assert_int_equal(virDomainUndefine(dom), 0);
        virDomainFree(dom);
    }
    assert_no_leftovers();
}

static int
setup(void **state)
{
    int rc = mm_test_lab_group_setup(state);

    lab = *state;
    return rc;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_matrix),
        cmocka_unit_test(test_sigint),
        cmocka_unit_test(test_sigkill_resume),
        cmocka_unit_test(test_destination_libvirtd_killed),
        cmocka_unit_test(test_sshd_stopped),
        cmocka_unit_test(test_jobs_host_drops),
        cmocka_unit_test(test_leases),
        cmocka_unit_test(test_shards_take_turns),
        cmocka_unit_test(test_migrate_timeout),
        cmocka_unit_test(test_host_drops),
        cmocka_unit_test(test_destination_qemu_killed),
        cmocka_unit_test(test_rollback_broken),
        cmocka_unit_test(test_postcopy),
        cmocka_unit_test(test_reboot_transient),
        cmocka_unit_test(test_foreign_domains),
        cmocka_unit_test(test_preflight),
        cmocka_unit_test(test_baseline_check),
    };
    /* MM_TEST_FILTER=test_foreign_domains: one test of a long suite, while developing. */
    if (g_getenv("MM_TEST_FILTER"))
        cmocka_set_test_filter(g_getenv("MM_TEST_FILTER"));
    return cmocka_run_group_tests_name("lab-run", tests, setup, mm_test_lab_group_teardown);
}
