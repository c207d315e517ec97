/* cpumodel.h: libvirt's own CPU logic, offline.
 *
 * The predictor and `baseline` never decode CPUID or read cpu_map themselves (they read only
 * its names, for a did-you-mean: mm_cpu_known_names). They hand CPU
 * descriptions to libvirt's x86 CPU driver through virConnectBaselineCPU on the test driver
 * (test:///default: in the library, no daemon, no host), which uses the installed cpu_map.
 * This file is the only place that does so.
 *
 * What that call gives, and what it is used for:
 * - baseline of one CPU with VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES: the CPU as a full
 *   feature list (model features included), so two CPUs compare as sets of names;
 * - baseline of a bare model with a host's vendor: libvirt keeps the model only when it belongs
 *   to that vendor (or to none), else it picks another; that is how "the vendor fits" is told;
 * - baseline of several hosts: the model plus features all of them run ("CPU vendors do not
 *   match" when they cannot share one). */
#pragma once

#include <glib.h>
#include <stdbool.h>

typedef struct {
    char *arch;
    char *vendor;            /* may be NULL (a model-only CPU) */
    char *model;
    GHashTable *features;    /* name → name: every feature, the model's included */
    GPtrArray *disabled;     /* features written policy='disable' or 'forbid' (parsed only) */
} MmCpuDef;

void mm_cpu_def_free(MmCpuDef *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmCpuDef, mm_cpu_def_free)

/* A host CPU description (<cpu> without a mode: arch, vendor, model, features), as libvirt's
 * capabilities give it. FEATURES may be NULL. */
char *mm_cpu_host_xml(const char *arch, const char *vendor, const char *model, const char *const *features);

/* The CPU in XML (a host CPU description), expanded by libvirt to its full feature list. */
MmCpuDef *mm_cpu_expand(const char *xml, GError **error);

/* libvirt's baseline of the host CPUs in XMLS (N of them), as <cpu> XML; EXPAND lists every
 * feature rather than the model's extras. Fails with libvirt's message ("CPU vendors do not
 * match") when there is none. */
char *mm_cpu_baseline(const char *const *xmls, guint n, bool expand, GError **error);

/* The feature names (VENDORS false) or vendor names (VENDORS true) of libvirt's x86 cpu_map
 * (x86_features.xml, x86_vendors.xml, where mm_cpu_map_path finds them), sorted: for a
 * did-you-mean when libvirt refuses a name; x86 only. */
GPtrArray *mm_cpu_known_names(const char *arch, bool vendors, GError **error);

/* Parses a <cpu> element (guest or host form) into a definition, features as written. */
MmCpuDef *mm_cpu_def_parse(const char *xml, GError **error);

/* The CPU a dossier's FACTS describe, expanded by libvirt; *XML (may be NULL) gets the host form
 * it was handed. With VT: its host-model CPU for that virt type (what it can give a guest), the
 * features host-model disables taken out of the expansion; VT NULL: its host CPU, as
 * capabilities show it. ARCH: the guests' arch (NULL: the host's own); for another arch the host's
 * own CPU vendor is not used. MM_ERROR_INPUT "no host-model CPU for kvm" (or "no host CPU") when
 * the dossier lacks it. */
MmCpuDef *mm_cpu_from_facts(GHashTable *facts, const char *vt, const char *arch, char **xml, GError **error);

/* The names in A and not in B, sorted; never NULL. */
GPtrArray *mm_cpu_features_missing(const MmCpuDef *a, const MmCpuDef *b);
