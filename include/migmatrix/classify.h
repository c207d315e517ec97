/* classify.h: a libvirt failure → a short reason, possibly a different outcome class, and
 * the CPU features it names. One table of patterns (classify.c) holds every rule. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "migmatrix/outcome.h"

/* A libvirt error as captured from virGetLastError (or made up by the engine: code 0). */
typedef struct {
    int code;                /* virErrorNumber */
    int domain;              /* virErrorDomain */
    char *message;
} MmFailure;

void mm_failure_clear(MmFailure *f);
/* Fills F from libvirt's last error of this thread. */
void mm_failure_from_libvirt(MmFailure *f);
/* Fills F from a message pasted from a log: the code is inferred from libvirt's message prefix
 * ("operation failed: " → VIR_ERR_OPERATION_FAILED, …), 0 where there is none. */
void mm_failure_from_text(MmFailure *f, const char *text);

typedef struct {
    MmOutcome outcome;       /* the phase's outcome, unless a rule overrides it */
    char *reason;            /* short: "missing features", "mode unsupported by hypervisor", … */
    char **features;         /* NULL-terminated, may be NULL */
    const char *feature_kind;/* "missing", "extra", "required", "forbidden", or NULL */
    bool generic;            /* the text says only that something died ("QEMU exited", "other"):
                              * the domain's QEMU log may name the cause */
} MmVerdict;

void mm_verdict_clear(MmVerdict *v);

/* PHASE_OUTCOME is what a failure in that phase means (start-failed, migrate-failed, …);
 * a rule may override it (a lost connection is infra-error whatever the phase). */
void mm_classify(const MmFailure *f, MmOutcome phase_outcome, MmVerdict *out);

/* Where LOG's last QEMU start begins (libvirt writes "… starting up libvirt version: …" at each
 * start and incoming migration): LOG itself when it has none. */
const char *mm_qemu_log_last_start(const char *log);

/* LOG from its last start, without QEMU's command line (one "(QEMU command line left out)"
 * line instead): what is worth storing and reading. */
char *mm_qemu_log_clean(const char *log);

/* The cause a QEMU log (the domain's /var/log/libvirt/qemu/NAME.log) names: MSR, xsave, CPU
 * state, device state, firmware, QEMU exiting; only lines of the last start count. False when no
 * line of it tells. */
bool mm_classify_log(const char *log, MmOutcome phase_outcome, MmVerdict *out);
