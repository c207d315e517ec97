/* probe.h: collect a live host's facts (see dossier.h for the names) through libvirt and SSH.
 * Adds: uri, hostname, libvirt_version, qemu_version, kernel_version, cpuinfo_model,
 * microcode (from /proc/cpuinfo when capabilities lack it), nested, source = live. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "migmatrix/scenario.h"

/* Fills FACTS with what could be learnt. Returns false (with ERROR) when any part failed:
 * the facts gathered before the failure are still in FACTS. */
bool mm_probe_host(const MmHost *host, GHashTable *facts, GError **error);

/* What QEMU gives custom:MODEL on HOST, for each of MODELS: a domain with only that CPU is started
 * paused (no guest code runs) and destroyed with the connection at the latest, and libvirt's live
 * <cpu> is recorded (dossier.h: VT.live_cpu.MODEL.*). A model that does not start is recorded
 * with its error and a line in WARNINGS (char*, owned); only a host that cannot be reached fails
 * (FACTS keep what was learnt). */
bool mm_probe_live_cpus(const MmHost *host, GPtrArray *models, GHashTable *facts, GPtrArray *warnings,
                        GError **error);

/* The live CPUs a plan's predictions need (mm_predict_live_cpu_models), probed on every host at
 * once. HOST_FACTS: MmHost* → its facts, already probed; hosts with an "error" are skipped.
 * Returns how many (host, model) were asked for; each that failed adds a line to WARNINGS
 * (char*, owned). */
guint mm_probe_live_cpus_for_plan(GPtrArray *cases, GHashTable *host_facts, GPtrArray *warnings);
