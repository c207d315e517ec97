/* main.c: `migmatrix <command> [options]`, dispatching to harness/cmd-<command>.c. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "migmatrix/cli.h"
#include "migmatrix/version.h"

static void
usage(FILE *out)
{
    fprintf(out, "Usage: migmatrix <command> [options]\n\n"
                 "Tells which live migrations work: runs a matrix of source host > destination host x guest x\n"
                 "CPU mode against real libvirt hosts and stores every result.\n\nCommands:\n");
    for (const MmCommand *c = mm_commands(); c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\n'migmatrix <command> --help' shows a command's options; 'migmatrix --version' the version.\n"
                 "Exit codes: 0 all as expected, 1 unexpected results, 2 usage or input error,\n"
                 "3 infrastructure error, 130 interrupted.\n");
}

int
main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    if (argc < 2) {
        usage(stderr);
        return MM_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return MM_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("migmatrix %s\n", MM_VERSION);
        return MM_EXIT_OK;
    }
    for (const MmCommand *c = mm_commands(); c->name; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);

    {
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        const char *hint;

        for (const MmCommand *c = mm_commands(); c->name; c++)
            g_ptr_array_add(names, (gpointer)c->name);
        hint = mm_suggest(argv[1], (const char *const *)names->pdata, names->len);
        fprintf(stderr, "migmatrix: unknown command '%s'%s%s%s\nTry 'migmatrix --help'.\n", argv[1],
                hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
    }
    return MM_EXIT_USAGE;
}
