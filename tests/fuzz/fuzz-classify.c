/* fuzz-classify.c: the classifier, on a libvirt error message and on a QEMU log (the same
 * bytes as both), for every phase outcome. */
#include <string.h>

#include "fuzz.h"
#include "migmatrix/classify.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *text = g_strndup((const char *)data, size);
    g_autofree char *clean = NULL;
    MmFailure f = { 0 };

    mm_failure_from_text(&f, text);
    for (int o = 0; o < MM_OUTCOME_LAST; o++) {
        MmVerdict v = { 0 };

        mm_classify(&f, o, &v);
        mm_verdict_clear(&v);
        if (mm_classify_log(text, o, &v))
            mm_verdict_clear(&v);
    }
    (void)mm_qemu_log_last_start(text);
    clean = mm_qemu_log_clean(text);
    mm_failure_clear(&f);
    return 0;
}
