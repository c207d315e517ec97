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
