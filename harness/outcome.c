/* outcome.c: outcome class names. The strings are public: stored, reported, and used in [expect]. */
#include "migmatrix/outcome.h"

#include <string.h>

static const char *const outcome_names[MM_OUTCOME_LAST + 1] = {
    [MM_OUTCOME_PASS] = "pass",
    [MM_OUTCOME_NA] = "na",
    [MM_OUTCOME_START_FAILED] = "start-failed",
    [MM_OUTCOME_PRECHECK_INCOMPATIBLE] = "precheck-incompatible",
    [MM_OUTCOME_MIGRATE_FAILED] = "migrate-failed",
    [MM_OUTCOME_GUEST_HUNG] = "guest-hung",
    [MM_OUTCOME_CPU_CHANGED] = "cpu-changed",
    [MM_OUTCOME_XML_CHANGED] = "xml-changed",
    [MM_OUTCOME_REBOOT_FAILED] = "reboot-failed",
    [MM_OUTCOME_BACK_FAILED] = "back-failed",
    [MM_OUTCOME_ROLLBACK_BROKEN] = "rollback-broken",
    [MM_OUTCOME_INFRA_ERROR] = "infra-error",
    [MM_OUTCOME_LAST] = NULL,
};

const char *
mm_outcome_name(MmOutcome outcome)
{
    g_return_val_if_fail(outcome < MM_OUTCOME_LAST, "?");
    return outcome_names[outcome];
}

bool
mm_outcome_parse(const char *name, MmOutcome *out)
{
    for (int i = 0; i < MM_OUTCOME_LAST; i++) {
        if (strcmp(name, outcome_names[i]) == 0) {
            *out = i;
            return true;
        }
    }
    return false;
}

const char *const *
mm_outcome_names(void)
{
    return outcome_names;
}
