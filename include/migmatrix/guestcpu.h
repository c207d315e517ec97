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
/* The installed libvirt's map (MM_CPU_MAP_DIR, or $MM_CPU_MAP_DIR), loaded once. */
const MmCpuFeatureMap *mm_cpu_feature_map_default(GError **error);
/* How many features the map defines through CPUID. */
guint mm_cpu_feature_map_size(const MmCpuFeatureMap *map);

/* The features TEXT shows, as a sorted array of libvirt names (char*). Fails when TEXT holds no
 * CPUID records, or lacks leaf 0x0 or 0x1 (a truncated capture is not a CPU without features). */
GPtrArray *mm_guestcpu_decode(const MmCpuFeatureMap *map, const char *text, GError **error);

/* What AFTER lacks of BEFORE (*LOST) and has beyond it (*GAINED); both sorted arrays of names
 * (borrowed from the inputs, which must be sorted as mm_guestcpu_decode returns them). */
void mm_guestcpu_diff(GPtrArray *before, GPtrArray *after, GPtrArray **lost, GPtrArray **gained);

/* "aes pclmuldq sse4.2" (NULL or empty: ""). */
char *mm_guestcpu_join(GPtrArray *features, const char *sep);
