/* fuzz-xmldiff.c: the domain XML diff, on two documents split at "\n====\n" (libvirt's XML
 * before and after a move: the tool parses what hosts send it). */
#include <string.h>

#include "fuzz.h"
#include "migmatrix/xmldiff.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *a = NULL, *b = NULL;
    g_autoptr(GPtrArray) changes = NULL;

    mm_fuzz_split(data, size, "\n====\n", &a, &b);
    if ((changes = mm_xmldiff(a, b, NULL))) {
        g_free(mm_xmldiff_format(changes));
        (void)mm_xmldiff_touches_cpu(changes);
    }
    return 0;
}
