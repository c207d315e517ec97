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

/* A custom CPU the scenario names ([cpu:NAME]): a model plus feature policies, e.g. the baseline
 * of a pool that `migmatrix baseline --check` writes. custom:NAME then means this CPU. */
typedef struct {
    char *name;
    char *file;
    char *model;             /* the libvirt model */
    char *vendor;            /* NULL: libvirt's default for the model */
    char **require;          /* <feature policy='require'> */
    char **disable;          /* <feature policy='disable'> */
} MmNamedCpu;

typedef struct {
    MmCpuModeKind kind;
    char *model;   /* custom only: the model, or the name of a [cpu:NAME] */
    const MmNamedCpu *named;  /* custom:NAME of a [cpu:NAME] group (borrowed from the scenario) */
} MmCpuMode;

/* The libvirt model a custom MODE runs: its [cpu:NAME]'s model, or the one it names. */
const char *mm_cpu_mode_model(const MmCpuMode *mode);

/* Parses "custom:MODEL", "host-model", "host-passthrough", "maximum" or "none". */
bool mm_cpu_mode_parse(const char *text, MmCpuMode *out, GError **error);
/* The scenario spelling, e.g. "custom:Dhyana"; the same text is used in case IDs. */
char *mm_cpu_mode_to_string(const MmCpuMode *mode);
/* libvirt's name for the <cpu mode='…'>: "custom", "host-model", … */
const char *mm_cpu_mode_kind_name(MmCpuModeKind kind);
void mm_cpu_mode_clear(MmCpuMode *mode);
