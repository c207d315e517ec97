/* replay.c: runs a fuzz target once over every file of the directories it is given (the seed
 * corpus, the regressions): the fuzz targets as ordinary tests, under gcc and the sanitizers. */
#include <stdio.h>

#include "fuzz.h"

static gint
by_name(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
    guint files = 0;

    for (int i = 1; i < argc; i++) {
        g_autoptr(GDir) d = g_dir_open(argv[i], 0, NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        const char *name;

        if (!d) {
            fprintf(stderr, "replay: cannot open %s\n", argv[i]);
            return 1;
        }
        while ((name = g_dir_read_name(d)))
            g_ptr_array_add(names, g_build_filename(argv[i], name, NULL));
        g_ptr_array_sort(names, by_name);
        for (guint k = 0; k < names->len; k++) {
            g_autofree char *data = NULL;
            gsize len;

            if (g_str_has_suffix(names->pdata[k], "README") ||
                !g_file_get_contents(names->pdata[k], &data, &len, NULL))
                continue;
            LLVMFuzzerTestOneInput((const uint8_t *)data, len);
            files++;
        }
    }
    printf("replayed %u inputs\n", files);
    return files ? 0 : 1;
}
