/* test-engine.c: the parts of the engine that need no host: the phase order (from a table,
 * through engine-priv.h), run identity, domain names, and which leftover domains prepare may
 * remove (their owner, from the metadata we write). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine-priv.h"
#include "migmatrix/domxml.h"
#include "migmatrix/engine.h"
#include "migmatrix/util.h"

/* Every transition that matters, as data: from PHASE, which succeeded (OK) or not, in STATE,
 * the engine goes to NEXT. */
static const struct {
    MmPhase phase;
    bool ok;
    MmPhaseState state;
    MmPhase next;
    const char *why;
} transitions[] = {
    { MM_PH_PREPARE, true, { 0 }, MM_PH_DEFINE, "the cycle starts" },
    { MM_PH_PREPARE, false, { .outcome = MM_OUTCOME_INFRA_ERROR }, MM_PH_CLEANUP, "a host is down" },
    { MM_PH_START, false, { .outcome = MM_OUTCOME_START_FAILED }, MM_PH_CLEANUP, "nothing runs" },
    { MM_PH_SNAPSHOT, true, { 0 }, MM_PH_MIGRATE, "no pre-check asked for" },
    { MM_PH_SNAPSHOT, true, { .compare_cpu = true }, MM_PH_PRECHECK, "enable_compare_cpu" },
    { MM_PH_PRECHECK, false, { .compare_cpu = true, .outcome = MM_OUTCOME_PRECHECK_INCOMPATIBLE }, MM_PH_CLEANUP,
      "the platform would not migrate" },
    { MM_PH_MIGRATE, true, { .attempted = true }, MM_PH_VERIFY, "migrated" },
    { MM_PH_MIGRATE, false, { .attempted = true, .outcome = MM_OUTCOME_MIGRATE_FAILED }, MM_PH_ROLLBACK,
      "a failed migration must have left the guest where it was" },
    { MM_PH_MIGRATE, false, { .attempted = false, .outcome = MM_OUTCOME_START_FAILED }, MM_PH_CLEANUP,
      "hung before migration: no job, nothing to roll back" },
    { MM_PH_MIGRATE, false, { .attempted = true, .outcome = MM_OUTCOME_INFRA_ERROR }, MM_PH_CLEANUP,
      "a host that does not answer cannot be checked" },
    { MM_PH_VERIFY, true, { 0 }, MM_PH_CLEANUP, "one way only" },
    { MM_PH_VERIFY, true, { .ping_pong = true }, MM_PH_MIGRATE_BACK, "ping_pong" },
    { MM_PH_VERIFY, true, { .hard_reboot = true, .ping_pong = true }, MM_PH_REBOOT, "the reboot comes first" },
    { MM_PH_VERIFY, false, { .ping_pong = true, .outcome = MM_OUTCOME_GUEST_HUNG }, MM_PH_CLEANUP,
      "a hung guest is not moved back" },
    { MM_PH_REBOOT, true, { .hard_reboot = true }, MM_PH_CLEANUP, "reboot only" },
    { MM_PH_REBOOT, true, { .hard_reboot = true, .ping_pong = true }, MM_PH_MIGRATE_BACK, "then back" },
    { MM_PH_REBOOT, false, { .hard_reboot = true, .ping_pong = true, .outcome = MM_OUTCOME_REBOOT_FAILED },
      MM_PH_CLEANUP, "a guest that did not come back is not moved" },
    { MM_PH_MIGRATE_BACK, false, { .ping_pong = true, .attempted = true, .outcome = MM_OUTCOME_BACK_FAILED },
      MM_PH_ROLLBACK, "the way back fails: check where it stayed" },
    { MM_PH_MIGRATE_BACK, false, { .ping_pong = true, .attempted = false, .outcome = MM_OUTCOME_GUEST_HUNG },
      MM_PH_CLEANUP, "hung before migrating back" },
    { MM_PH_VERIFY_BACK, true, { .ping_pong = true }, MM_PH_CLEANUP, "done" },
    { MM_PH_ROLLBACK, false, { .attempted = true, .outcome = MM_OUTCOME_ROLLBACK_BROKEN }, MM_PH_CLEANUP, "done" },
    { MM_PH_MIGRATE, true, { .interrupted = true, .attempted = true }, MM_PH_CLEANUP, "Ctrl-C ends the case" },
    { MM_PH_CLEANUP, false, { .outcome = MM_OUTCOME_INFRA_ERROR }, MM_PH_DONE, "cleanup is always last" },
    { MM_PH_CLEANUP, true, { .interrupted = true }, MM_PH_DONE, "even when interrupted" },
    { MM_PH_VERIFY, true, { .ping_pong = true, .store_failed = true }, MM_PH_CLEANUP,
      "a failed DB write stops the case" },
    { MM_PH_MIGRATE, false, { .attempted = true, .store_failed = true, .outcome = MM_OUTCOME_MIGRATE_FAILED },
      MM_PH_CLEANUP, "no rollback check whose result could not be stored" },
    { MM_PH_CLEANUP, true, { .store_failed = true }, MM_PH_DONE, "cleanup still runs, and ends the case" },
};

static void
test_transitions(void **state)
{
    (void)state;
    for (gsize i = 0; i < G_N_ELEMENTS(transitions); i++) {
        MmPhase got = mm_engine_next_phase(&transitions[i].state, transitions[i].phase, transitions[i].ok);

        if (got != transitions[i].next)
            fail_msg("%s %s: went to %s, expected %s (%s)", mm_phase_name(transitions[i].phase),
                     transitions[i].ok ? "ok" : "failed", mm_phase_name(got), mm_phase_name(transitions[i].next),
                     transitions[i].why);
    }
}

/* Every path, whatever each phase returns, whichever options and outcome, keeps the rules of
 * the cycle: it starts with prepare and ends with cleanup, once; a phase runs only when its
 * option asks for it; verify only after a migration that worked; rollback-check only right
 * after a migration job that started and failed on hosts that answer; an interrupt goes
 * straight to cleanup, as does a failed write to the results DB. */
static void
test_every_path_keeps_the_rules(void **state)
{
    const MmOutcome outcomes[] = { MM_OUTCOME_MIGRATE_FAILED, MM_OUTCOME_INFRA_ERROR, MM_OUTCOME_START_FAILED };
    guint paths = 0;

    (void)state;
    for (guint opts = 0; opts < 64; opts++) {
        for (gsize o = 0; o < G_N_ELEMENTS(outcomes); o++) {
            for (guint results = 0; results < (1u << MM_PH_DONE); results++) {
                MmPhaseState st = { .compare_cpu = opts & 1, .hard_reboot = opts & 2, .ping_pong = opts & 4,
                                    .attempted = opts & 8, .interrupted = opts & 16, .store_failed = opts & 32,
                                    .outcome = outcomes[o] };
                MmPhase p = MM_PH_PREPARE, prev = MM_PH_DONE;
                bool prev_ok = true;
                guint steps = 0;

                while (p != MM_PH_DONE) {
                    bool ok = (results >> p) & 1;
                    MmPhase next = mm_engine_next_phase(&st, p, ok);

                    assert_true(++steps <= MM_PH_DONE);
                    assert_true(p != MM_PH_PRECHECK || st.compare_cpu);
                    assert_true(p != MM_PH_REBOOT || st.hard_reboot);
                    assert_true(p != MM_PH_MIGRATE_BACK || st.ping_pong);
                    assert_true(p != MM_PH_VERIFY || (prev == MM_PH_MIGRATE && prev_ok));
                    if (p == MM_PH_ROLLBACK) {
                        assert_true((prev == MM_PH_MIGRATE || prev == MM_PH_MIGRATE_BACK) && !prev_ok);
                        assert_true(st.attempted && st.outcome != MM_OUTCOME_INFRA_ERROR);
                    }
                    if ((st.interrupted || st.store_failed) && p != MM_PH_CLEANUP)
                        assert_int_equal(next, MM_PH_CLEANUP);
                    assert_true(next != MM_PH_PREPARE);
                    if (next == MM_PH_DONE)
                        assert_int_equal(p, MM_PH_CLEANUP);
                    prev = p;
                    prev_ok = ok;
                    p = next;
                }
                paths++;
            }
        }
    }
    assert_int_equal(paths, 64 * 3 * (1u << MM_PH_DONE));
}

static void
test_identity_and_names(void **state)
{
    g_autofree char *t1 = NULL, *o1 = NULL, *t2 = NULL, *o2 = NULL;
    g_autofree char *own = g_strdup_printf("%s:%d", g_get_host_name(), (int)getpid());
    g_autofree char *name = NULL;
    MmGuest guest = { .name = (char *)"win2019" };
    MmCase c = { .guest = &guest };

    (void)state;
    mm_engine_identity(&t1, &o1);
    mm_engine_identity(&t2, &o2);
    assert_int_equal(strlen(t1), 8);
    /* Two runs never share a token, so never a domain name. */
    assert_string_not_equal(t1, t2);
    assert_string_equal(o1, own);
    name = mm_engine_domain_name(t1, 7, &c);
    assert_true(g_str_has_prefix(name, MM_DOMAIN_PREFIX));
    assert_true(g_str_has_suffix(name, "-7-win2019"));
    assert_non_null(strstr(name, t1));
}

static void
test_owner_alive(void **state)
{
    g_autofree char *own = g_strdup_printf("%s:%d", g_get_host_name(), (int)getpid());
    g_autofree char *dead = NULL;
    const char *argv[] = { "/bin/true", NULL };
    GPid pid;

    (void)state;
    assert_true(g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL));
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    dead = g_strdup_printf("%s:%d", g_get_host_name(), (int)pid);

    assert_true(mm_owner_alive(own));
    assert_false(mm_owner_alive(dead));
    /* Whatever cannot be checked from here counts as alive: its guests are left alone. */
    assert_true(mm_owner_alive("elsewhere.invalid:1"));
    assert_true(mm_owner_alive("no-pid-here"));
    assert_true(mm_owner_alive(NULL));
}

/* The owner goes into the domain's metadata, and comes back out of what virDomainGetMetadata
 * returns (the element alone, with its namespace). */
static void
test_metadata_owner(void **state)
{
    MmGuest guest = { .name = (char *)"g", .os = (char *)"none", .arch = (char *)"x86_64", .memory_mib = 64,
                      .vcpus = 1 };
    MmCpuMode none = { 0 };
    g_autofree char *xml = NULL;
    g_autofree char *owner = NULL;
    g_autofree char *legacy = NULL;

    (void)state;
    assert_true(mm_cpu_mode_parse("none", &none, NULL));
    xml = mm_domxml_build(&(MmDomainSpec){ .name = "mm-x-1-g", .virt_type = "qemu", .guest = &guest, .mode = &none,
                                           .case_id = "a>b/g/none", .run_id = 3, .owner = "lab:42" });
    assert_non_null(strstr(xml, "owner=\"lab:42\""));
    owner = mm_domxml_metadata_owner("<mm:case xmlns:mm=\"" MM_METADATA_NS "\" id=\"a&gt;b/g/none\" run=\"3\" "
                                     "owner=\"lab:42\"/>");
    assert_string_equal(owner, "lab:42");
    legacy = mm_domxml_metadata_owner("<mm:case xmlns:mm=\"" MM_METADATA_NS "\" id=\"x\" run=\"1\"/>");
    assert_null(legacy);
    assert_null(mm_domxml_metadata_owner(NULL));
    assert_null(mm_domxml_metadata_owner("not xml"));
    mm_cpu_mode_clear(&none);
}

/* A callback that holds libvirt's event loop thread, as a stuck call inside libvirt would. */
static void
hold_the_loop(int timer, void *opaque)
{
    virEventRemoveTimeout(timer);
    g_usleep(3500 * 1000);
    g_atomic_int_set((gint *)opaque, 1);
}

/* The event loop's pulse: a 3.5 s hold is counted as a stall inside the span that saw it, not
 * before it; so a console wait across it is told apart from a silent guest. */
static void
test_event_loop_stall(void **state)
{
    gint done = 0;
    gint64 t0, t1, stalled;

    (void)state;
    mm_libvirt_init();
    g_usleep(1200 * 1000);        /* a tick before the hold */
    t0 = g_get_monotonic_time();
    assert_int_equal(mm_libvirt_events_stalled(t0 - 1000000, t0), 0);
    assert_true(virEventAddTimeout(0, hold_the_loop, &done, NULL) >= 0);
    while (!g_atomic_int_get(&done))
        g_usleep(50 * 1000);
    g_usleep(1500 * 1000);        /* the first tick after it */
    t1 = g_get_monotonic_time();
    stalled = mm_libvirt_events_stalled(t0, t1);
    assert_true(stalled >= 2000000);   /* the 3.5 s hold, less up to the 1 s tick period */
    assert_true(stalled <= t1 - t0);
    assert_int_equal(mm_libvirt_events_stalled(t0 - 10000000, t0 - 1000000), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transitions),
        cmocka_unit_test(test_every_path_keeps_the_rules),
        cmocka_unit_test(test_identity_and_names),
        cmocka_unit_test(test_owner_alive),
        cmocka_unit_test(test_metadata_owner),
        cmocka_unit_test(test_event_loop_stall),
    };
    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
