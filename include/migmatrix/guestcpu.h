/* guestcpu.h: the CPU a guest itself sees, from CPUID executed inside it.
 *
 * Linux fixes /proc/cpuinfo at boot, so only a fresh CPUID inside the guest shows that a
 * migration changed its CPU. A capture is raw CPUID output in the form `cpuid -1 -r` prints:
 *
 *     0x00000001 0x00: eax=0x000306a9 ebx=0x00010800 ecx=0x7fbae3ff edx=0xbfebfbff
 *
 * one record per line or several on a line separated by ';' (the console form). It is decoded
 * into feature names with libvirt's own CPU map (cpu_map/x86_features.xml), not a table of our
 * own, so the names are libvirt's: the same as in its errors (pclmuldq, sse4.2, aes).
 *
 * Pure: no libvirt connection, no guest; liveness.c runs the probe, the engine decides. */
#pragma once

#include <glib.h>
#include <stdbool.h>

typedef struct _MmCpuFeatureMap MmCpuFeatureMap;

/* Loads libvirt's x86 feature definitions from PATH (x86_features.xml). */
MmCpuFeatureMap *mm_cpu_feature_map_load(const char *path, GError **error);
void mm_cpu_feature_map_free(MmCpuFeatureMap *map);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmCpuFeatureMap, mm_cpu_feature_map_free)
/* FILE in libvirt's cpu_map directory: $MM_CPU_MAP_DIR when set, else the build's. */
char *mm_cpu_map_path(const char *file);
/* The installed libvirt's map (MM_CPU_MAP_DIR, or $MM_CPU_MAP_DIR), loaded once. */
const MmCpuFeatureMap *mm_cpu_feature_map_default(GError **error);
/* How many features the map defines through CPUID. */
guint mm_cpu_feature_map_size(const MmCpuFeatureMap *map);

/* One capture: the features it shows, and which CPUID leaves it can speak for: the leaves it
 * holds, and those beyond its maximum leaf (a CPU without a leaf has none of its features). A
 * leaf within the maximum but absent (the output was cut) is unknown, never "no features". */
typedef struct _MmGuestCpu MmGuestCpu;

/* Fails when TEXT holds no CPUID records, or lacks leaf 0x0 or 0x1. */
MmGuestCpu *mm_guestcpu_decode(const MmCpuFeatureMap *map, const char *text, GError **error);
void mm_guestcpu_free(MmGuestCpu *cpu);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmGuestCpu, mm_guestcpu_free)
/* The features, sorted libvirt names (char*), owned by CPU. */
GPtrArray *mm_guestcpu_features(const MmGuestCpu *cpu);

/* What AFTER lacks of BEFORE (*LOST) and has beyond it (*GAINED), sorted names borrowed from
 * the captures; only features whose leaf both captures can speak for are compared. */
void mm_guestcpu_diff(const MmCpuFeatureMap *map, const MmGuestCpu *before, const MmGuestCpu *after,
                      GPtrArray **lost, GPtrArray **gained);

/* "aes pclmuldq sse4.2" (NULL or empty: ""). */
char *mm_guestcpu_join(GPtrArray *features, const char *sep);
