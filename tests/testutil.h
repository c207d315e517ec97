/* testutil.h: what every suite shares. The golden-file check, as libvirt's
 * virTestCompareToFile: compare ACTUAL with the file, show a unified diff when they differ, and
 * with MM_REGENERATE=1 rewrite the file instead (scripts/regen-goldens.sh), to be reviewed in
 * the diff before committing. */
#pragma once

#include <glib.h>
#include <stdbool.h>

/* True when ACTUAL equals the golden file PATH (or it was rewritten); else prints the diff
 * (expected → actual) to stderr and returns false. Use as assert_true(mm_test_compare_to_file(…)). */
bool mm_test_compare_to_file(const char *actual, const char *path);

/* Runs the migmatrix binary in the source dir; returns its exit code. */
int mm_test_run_migmatrix(const char *const *args, char **out, char **err);
/* The same, with INPUT on its stdin (NULL: inherit ours). */
int mm_test_run_migmatrix_input(const char *const *args, const char *input, char **out, char **err);
