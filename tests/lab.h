/* lab.h: shared by the lab-labelled suites: bring the local lab up for a suite (or reuse
 * one that is already up), and tear it down again if the suite started it. */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include <stdbool.h>

typedef struct {
    bool owned;              /* this suite started it: bring it down at the end */
    char *dir;               /* MM_LAB_DIR */
    char *scenario_dir;      /* where test scenarios are written */
} MmTestLab;

/* Exits 77 (ctest: skipped) with the reason when the lab cannot run here, except under
 * CI=true, where that is a failure (exit 1): CI must run the lab tests. */
MmTestLab *mm_test_lab_up(void);
void mm_test_lab_down(MmTestLab *lab);

/* cmocka group fixtures: *state becomes the MmTestLab. */
int mm_test_lab_group_setup(void **state);
int mm_test_lab_group_teardown(void **state);

#include "testutil.h"       /* mm_test_run_migmatrix */

/* "uuid" of every lab host, from the lab's state file, in host order. */
GPtrArray *mm_test_lab_uuids(MmTestLab *lab);

/* Fails the test when a domain whose name starts with PREFIX is on the host behind CONN
 * (named WHERE in the message). */
void mm_test_lab_assert_no_domains(virConnectPtr conn, const char *prefix, const char *where);
