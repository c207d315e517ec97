/* cmd-validate.c: `migmatrix validate SCENARIO [--hosts]`: check a scenario without running
 * anything; with --hosts, also on the hosts (the preflight `run` does first). */
#include <stdio.h>

#include "migmatrix/cli.h"

int
mm_cmd_validate(int argc, char **argv)
{
    gboolean hosts_too = FALSE;
    GOptionEntry entries[] = {
        { "hosts", 0, 0, G_OPTION_ARG_NONE, &hosts_too,
          "Also check on the hosts, read-only: guest files readable, custom models known, modes supported", NULL },
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(MmScenario) sc = NULL;
    g_autoptr(MmMatrix) m = NULL;
    guint na = 0;

    if (!mm_cli_parse("validate", "SCENARIO", "Check a scenario file: syntax, keys, references, values, and that "
                      "its matrix expands to at least one case; with --hosts, what run's preflight checks on the hosts.",
                      entries, &argc, &argv))
        return MM_EXIT_USAGE;
    if (argc != 2) {
        mm_cli_usage_error("validate", "expected exactly one SCENARIO file");
        return MM_EXIT_USAGE;
    }
    if (!mm_cli_load_matrix(argv[1], NULL, &sc, &m))
        return MM_EXIT_USAGE;

    for (guint i = 0; i < m->cases->len; i++)
        na += ((MmCase *)m->cases->pdata[i])->na_reason != NULL;
    {
        g_autofree char *hosts = mm_count(sc->hosts->len, "host", "hosts");
        g_autofree char *guests = mm_count(sc->guests->len, "guest", "guests");
        g_autofree char *cases = mm_count(m->cases->len, "case", "cases");
        g_autofree char *rules = mm_count(sc->expect->len, "expect rule", "expect rules");

        printf("%s: OK: %s, %s, %s (%u n/a), %s\n", argv[1], hosts, guests, cases, na, rules);
    }
    if (hosts_too) {
        g_autoptr(MmHostPool) pool = mm_host_pool_new();
        MmPreflightStats stats;

        if (mm_cli_preflight("validate", sc, m, pool, &stats) > 0)
            return MM_EXIT_USAGE;
        if (stats.hosts_unreachable)
            return MM_EXIT_INFRA;
        printf("%s: hosts OK\n", argv[1]);
    }
    return MM_EXIT_OK;
}
