/* cmd-validate.c: `migmatrix validate SCENARIO`: check a scenario without running anything. */
#include <stdio.h>

#include "migmatrix/cli.h"

int
mm_cmd_validate(int argc, char **argv)
{
    GOptionEntry entries[] = { G_OPTION_ENTRY_NULL };
    g_autoptr(MmScenario) sc = NULL;
    g_autoptr(MmMatrix) m = NULL;
    guint na = 0;

    if (!mm_cli_parse("validate", "SCENARIO", "Check a scenario file: syntax, keys, references, values, and that "
                      "its matrix expands to at least one case.", entries, &argc, &argv))
        return MM_EXIT_USAGE;
    if (argc != 2) {
        mm_cli_usage_error("validate", "expected exactly one SCENARIO file");
        return MM_EXIT_USAGE;
    }
    if (!mm_cli_load_matrix(argv[1], NULL, &sc, &m))
        return MM_EXIT_USAGE;

    for (guint i = 0; i < m->cases->len; i++)
        na += ((MmCase *)m->cases->pdata[i])->na_reason != NULL;
    printf("%s: OK: %u hosts, %u guests, %u cases (%u n/a), %u expect rules\n", argv[1], sc->hosts->len,
           sc->guests->len, m->cases->len, na, sc->expect->len);
    return MM_EXIT_OK;
}
