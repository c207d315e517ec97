/* fuzz.h: what the fuzz targets share. Each target is one LLVMFuzzerTestOneInput: built with
 * libFuzzer under clang (MM_FUZZ=ON, scripts/fuzz.sh), and with replay.c into an ordinary test
 * that runs it over the seed corpus and every past crash (tests/fuzz/regressions), in every build. */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Splits DATA at the first SEP into two NUL-terminated strings (the second "" without SEP). */
static inline void
mm_fuzz_split(const uint8_t *data, size_t size, const char *sep, char **a, char **b)
{
    g_autofree char *all = g_strndup((const char *)data, size);
    char *at = strstr(all, sep);

    if (at) {
        *a = g_strndup(all, at - all);
        *b = g_strdup(at + strlen(sep));
    } else {
        *a = g_steal_pointer(&all);
        *b = g_strdup("");
    }
}
