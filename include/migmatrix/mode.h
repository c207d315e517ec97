/* mode.h: libvirt guest CPU modes as the scenario language writes them. */
#pragma once

#include <glib.h>
#include <stdbool.h>

typedef enum {
    MM_MODE_CUSTOM,
    MM_MODE_HOST_MODEL,
    MM_MODE_HOST_PASSTHROUGH,
    MM_MODE_MAXIMUM,
    MM_MODE_NONE,
} MmCpuModeKind;

typedef struct {
    MmCpuModeKind kind;
    char *model;   /* custom only */
} MmCpuMode;

/* Parses "custom:MODEL", "host-model", "host-passthrough", "maximum" or "none". */
bool mm_cpu_mode_parse(const char *text, MmCpuMode *out, GError **error);
/* The scenario spelling, e.g. "custom:Dhyana"; the same text is used in case IDs. */
char *mm_cpu_mode_to_string(const MmCpuMode *mode);
/* libvirt's name for the <cpu mode='…'>: "custom", "host-model", … */
const char *mm_cpu_mode_kind_name(MmCpuModeKind kind);
void mm_cpu_mode_clear(MmCpuMode *mode);
