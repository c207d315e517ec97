/* mode.c: libvirt guest CPU modes. */
#include "migmatrix/mode.h"

#include <string.h>

#include "migmatrix/util.h"

static const char *const mode_names[] = {
    [MM_MODE_CUSTOM] = "custom",
    [MM_MODE_HOST_MODEL] = "host-model",
    [MM_MODE_HOST_PASSTHROUGH] = "host-passthrough",
    [MM_MODE_MAXIMUM] = "maximum",
    [MM_MODE_NONE] = "none",
};

const char *
mm_cpu_mode_kind_name(MmCpuModeKind kind)
{
    return mode_names[kind];
}

/* A libvirt CPU model name: letters, digits and - _ . (e.g. Skylake-Server-IBRS, cortex-a57). */
static bool
model_name_valid(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!g_ascii_isalnum(*s) && *s != '-' && *s != '_' && *s != '.')
            return false;
    return true;
}

bool
mm_cpu_mode_parse(const char *text, MmCpuMode *out, GError **error)
{
    static const char *const spellings[] = {
        "custom:MODEL", "host-model", "host-passthrough", "maximum", "none", NULL,
    };
    const char *colon = strchr(text, ':');

    memset(out, 0, sizeof(*out));
    if (g_str_has_prefix(text, "custom")) {
        if (!colon || colon[1] == '\0') {
            g_set_error(error, MM_ERROR, MM_ERROR_INPUT,
                        "mode 'custom' needs a CPU model: write custom:MODEL, e.g. custom:Dhyana");
            return false;
        }
        if (strcmp(text, "custom") != 0 && colon != text + strlen("custom"))
            goto unknown;
        if (!model_name_valid(colon + 1)) {
            g_set_error(error, MM_ERROR, MM_ERROR_INPUT,
                        "'%s' is not a CPU model name: use letters, digits and - _ . as libvirt does, "
                        "e.g. custom:Skylake-Server-IBRS",
                        colon + 1);
            return false;
        }
        out->kind = MM_MODE_CUSTOM;
        out->model = g_strdup(colon + 1);
        return true;
    }
    for (int k = MM_MODE_HOST_MODEL; k <= MM_MODE_NONE; k++) {
        if (strcmp(text, mode_names[k]) == 0) {
            out->kind = k;
            return true;
        }
    }

unknown: {
    const char *hint = mm_suggest(text, spellings, -1);

    g_set_error(error, MM_ERROR, MM_ERROR_INPUT,
                "unknown CPU mode '%s'%s%s%s; use one of custom:MODEL, host-model, host-passthrough, "
                "maximum, none",
                text, hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    return false;
}
}

char *
mm_cpu_mode_to_string(const MmCpuMode *mode)
{
    if (mode->kind == MM_MODE_CUSTOM)
        return g_strdup_printf("custom:%s", mode->model);
    return g_strdup(mode_names[mode->kind]);
}

const char *
mm_cpu_mode_model(const MmCpuMode *mode)
{
    return mode->named ? mode->named->model : mode->model;
}

void
mm_cpu_mode_clear(MmCpuMode *mode)
{
    g_clear_pointer(&mode->model, g_free);
    mode->named = NULL;
}

