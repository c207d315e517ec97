/* preflight.h: what can be known on the real hosts before a night is spent (`run` does it
 * first; `validate --hosts` on demand). Every problem is reported at once:
 *
 *   - every file a guest names (kernel, initrd, disk) is readable on each host a case starts
 *     it on (over the host's ssh: `test -r`);
 *   - every custom:MODEL of a case, and every custom default_cpu_mode a hard reboot uses, is a
 *     model the host's hypervisor knows (domcapabilities, usable or not), with a did-you-mean
 *     from its list; a known but unusable model is a real test case, not an error;
 *   - every mode is one the host's virt type can express (domcapabilities); one it cannot is
 *     fine when [expect] says start-failed or na for the case, else a warning.
 *
 * A host that cannot be reached is a warning here: its cases become infra-error in the run. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "migmatrix/hosts.h"
#include "migmatrix/matrix.h"

typedef struct {
    guint hosts_checked;
    guint hosts_unreachable;
    guint files_checked;
    guint models_checked;
} MmPreflightStats;

/* Appends problems (errors and warnings, each naming file, line, group, key and fix) to
 * PROBLEMS; fills STATS. Touches the hosts read-only. */
void mm_preflight(const MmScenario *sc, const MmMatrix *m, MmHostPool *pool, GPtrArray *problems,
                  MmPreflightStats *stats);
