/* fuzz-scenario.c: loading a scenario, with an include, then expanding and checking its
 * matrix. The input is two files split at "\n--8<--\n": main.ini and inc.ini (main.ini may
 * include inc.ini; the seeds do). Nothing may crash, leak or read out of bounds, whatever the
 * bytes; problems are expected and ignored. */
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "migmatrix/matrix.h"
#include "migmatrix/scenario.h"
#include "migmatrix/util.h"

static char *dir;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *main_text = NULL, *inc_text = NULL, *main_path = NULL, *inc_path = NULL;
    g_autoptr(GPtrArray) problems = mm_problems_new();
    g_autoptr(MmScenario) sc = NULL;
    g_autoptr(GString) text = g_string_new(NULL);

    if (size > 16384)
        return 0;   /* a scenario is small: big inputs only make huge matrices, not new paths */
    if (!dir)
        dir = g_dir_make_tmp("mm-fuzz-scenario-XXXXXX", NULL);
    mm_fuzz_split(data, size, "\n--8<--\n", &main_text, &inc_text);
    main_path = g_build_filename(dir, "main.ini", NULL);
    inc_path = g_build_filename(dir, "inc.ini", NULL);
    if (!g_file_set_contents(main_path, main_text, -1, NULL) || !g_file_set_contents(inc_path, inc_text, -1, NULL))
        return 0;
    if ((sc = mm_scenario_load(main_path, problems))) {
        g_autoptr(MmMatrix) m = mm_matrix_expand(sc, NULL);

        /* Bounded: a fuzzed matrix of 1e6 cases teaches nothing more than one of 1e3. */
        if (m->cases->len <= 20000) {
            mm_matrix_check(sc, m, false, problems);
            mm_matrix_format_text(m, text);
            mm_matrix_format_json(sc, m, text);
        }
    }
    mm_problems_format(problems, text);
    return 0;
}
