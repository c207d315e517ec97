/* engine-priv.h: the engine's phase order, apart from its phases, so tests/test-engine.c can
 * check every transition from a table (as libvirt's *priv.h headers expose internals to tests).
 * Not interface: only engine.c and its tests include it. */
#pragma once

#include <stdbool.h>

#include "migmatrix/outcome.h"

typedef enum {
    MM_PH_PREPARE,
    MM_PH_DEFINE,
    MM_PH_START,
    MM_PH_WAIT_ALIVE,
    MM_PH_SNAPSHOT,
    MM_PH_PRECHECK,
    MM_PH_MIGRATE,
    MM_PH_VERIFY,
    MM_PH_REBOOT,
    MM_PH_MIGRATE_BACK,
    MM_PH_VERIFY_BACK,
    MM_PH_ROLLBACK,
    MM_PH_CLEANUP,
    MM_PH_DONE,
} MmPhase;

/* Everything the order depends on. */
typedef struct {
    bool compare_cpu;        /* the case's enable_compare_cpu, hard_reboot and ping_pong */
    bool hard_reboot;
    bool ping_pong;
    bool interrupted;        /* Ctrl-C / SIGTERM */
    bool store_failed;       /* a write to the results DB failed: what follows could not be kept */
    MmOutcome outcome;       /* the outcome decided so far (with failed) */
    bool attempted;          /* the last migration job was started: false when the guest was found
                              * not progressing right before it, so there is nothing to roll back */
} MmPhaseState;

/* "prepare", "rollback-check", …: the step names stored in the DB. */
const char *mm_phase_name(MmPhase p);

/* The one place that decides what comes after phase P, which succeeded or not (OK). */
MmPhase mm_engine_next_phase(const MmPhaseState *s, MmPhase p, bool ok);
