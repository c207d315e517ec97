/* matrix.h: expands a scenario into its ordered list of cases.
 *
 * Pure and deterministic: the same scenario always gives the same cases, in the same
 * order, with the same IDs, so runs can be sharded, resumed and compared. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "migmatrix/scenario.h"

typedef struct {
    char *id;                /* SRC>DST/GUEST/MODE[#N] */
    const MmHost *src;       /* borrowed from the scenario */
    const MmHost *dst;
    const MmGuest *guest;
    const MmCpuMode *mode;   /* borrowed from the matrix spec */
    char *mode_text;
    guint repeat;            /* 1-based */
    const char *matrix;      /* the [matrix…] group name it came from */
    char *na_reason;         /* non-NULL: not applicable, not run */
    MmOutcome expected;
    const char *expected_reason;  /* borrowed from the rule, may be NULL */
    bool expected_flaky;
    /* The cycle's settings for this case: [run], overridden by its [matrix…] group. */
    bool compare_cpu;
    bool ping_pong;
    bool hard_reboot;
    guint hotplug_vcpus;     /* 0: no vCPU hot-plug; else plug up to this many (guest or matrix) */
} MmCase;

void mm_case_free(MmCase *c);

/* The mode a hard reboot restarts the case's guest in, on its destination: numa_cpu_mode for a
 * NUMA guest where the host sets one, else default_cpu_mode (NULL when the host has neither).
 * *TEXT gets its spelling and *KEY the [host:…] key it comes from. */
const MmCpuMode *mm_case_reboot_mode(const MmCase *c, const char **text, const char **key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmCase, mm_case_free)

typedef struct {
    GPtrArray *cases;        /* MmCase*, in plan order */
    guint excluded;          /* dropped by exclude/only/filter */
    guint duplicates;        /* the same ID produced twice: kept once */
    char *duplicate_example; /* the first such ID, and the group that lost it */
    char *duplicate_group;
} MmMatrix;

void mm_matrix_free(MmMatrix *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmMatrix, mm_matrix_free)

/* FILTER (may be NULL) is a case-ID glob, like "only". */
MmMatrix *mm_matrix_expand(MmScenario *sc, const char *filter);

/* Plan-level problems: an empty matrix (error); [expect] rules that decide no case
 * (warning; skipped when FILTERED, since a filter hides cases on purpose). */
void mm_matrix_check(const MmScenario *sc, const MmMatrix *m, bool filtered, GPtrArray *problems);

/* Plan rendering, shared by `plan` and the golden tests. */
void mm_matrix_format_text(const MmMatrix *m, GString *out);
void mm_matrix_format_json(const MmScenario *sc, const MmMatrix *m, GString *out);
