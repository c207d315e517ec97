/* outcome.h: the outcome classes of a case. Their names are public interface. */
#pragma once

#include <glib.h>
#include <stdbool.h>

typedef enum {
    MM_OUTCOME_PASS,
    MM_OUTCOME_NA,
    MM_OUTCOME_START_FAILED,
    MM_OUTCOME_PRECHECK_INCOMPATIBLE,
    MM_OUTCOME_MIGRATE_FAILED,
    MM_OUTCOME_GUEST_HUNG,
    MM_OUTCOME_CPU_CHANGED,  /* alive after the move, but its own CPUID lost features */
    MM_OUTCOME_XML_CHANGED,
    MM_OUTCOME_REBOOT_FAILED,
    MM_OUTCOME_BACK_FAILED,
    MM_OUTCOME_ROLLBACK_BROKEN,
    MM_OUTCOME_INFRA_ERROR,
    MM_OUTCOME_LAST,
} MmOutcome;

const char *mm_outcome_name(MmOutcome outcome);
bool mm_outcome_parse(const char *name, MmOutcome *out);
/* NULL-terminated list of every name, for "did you mean" and docs. */
const char *const *mm_outcome_names(void);
