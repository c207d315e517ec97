/* dossier.h: what a host is, as flat facts (name → value), from libvirt's XML.
 *
 * The same parsers serve a live probe (XML fetched through the API) and `probe --import`
 * (XML captured on a machine we cannot reach). Pure: no I/O but reading a named file.
 *
 * Facts (all strings; lists comma-separated):
 *   arch, cpu_vendor, cpu_model, cpu_features, cpu_signature, microcode, host_uuid
 *   VT.domcaps = yes, VT.emulator, VT.machine, VT.host_passthrough, VT.maximum (yes|no),
 *   VT.host_model (yes|no), VT.host_model_cpu, VT.host_model_vendor, VT.host_model_require,
 *   VT.host_model_disable, VT.custom_usable, VT.custom_unusable (not 'yes': 'no' or 'unknown'),
 *   VT.custom_unknown                                                (VT = kvm | qemu)
 *   guest_arches: the arches capabilities offer guests of; domain capabilities of another arch
 *   than the host's (TCG) are recorded as VT@ARCH.… (qemu@aarch64.host_model)
 *   VT.live_cpu.MODEL.require, VT.live_cpu.MODEL.disable: what libvirt made of custom:MODEL once
 *   QEMU ran it there (the live domain's <cpu>, qemuProcessUpdateLiveGuestCPU): the features
 *   QEMU's model gave beyond libvirt's, and those of libvirt's model QEMU could not give;
 *   VT.live_cpu.MODEL.error when it would not start, VT.live_cpu_error when the host could not
 *   be asked at all */
#pragma once

#include <glib.h>
#include <stdbool.h>

GHashTable *mm_facts_new(void);
void mm_facts_set(GHashTable *facts, const char *name, const char *value);
const char *mm_facts_get(GHashTable *facts, const char *name);
/* ITEM is one of the comma-separated LIST (a list fact; LIST may be NULL). */
bool mm_facts_list_has(const char *list, const char *item);
/* "VT.name" */
const char *mm_facts_get_vt(GHashTable *facts, const char *virt_type, const char *name);

bool mm_dossier_parse_capabilities(const char *xml, const char *name, GHashTable *facts, GError **error);
bool mm_dossier_parse_domcaps(const char *xml, const char *name, GHashTable *facts, GError **error);
/* A <cpu> element: with a mode attribute it is a host-model expansion (recorded for
 * VIRT_TYPE); without, a host CPU description. */
bool mm_dossier_parse_cpu(const char *xml, const char *name, const char *virt_type, GHashTable *facts,
                          GError **error);
/* A running domain's XML whose CPU is custom:MODEL as defined (no features of its own): what
 * QEMU gave it, as VIRT_TYPE.live_cpu.MODEL.require / .disable. */
bool mm_dossier_parse_live_cpu(const char *xml, const char *name, const char *virt_type, const char *model,
                               GHashTable *facts, GError **error);
/* Any of the three, told apart by the root element. */
/* PATH is a domcapabilities XML (false when it cannot be read: the import says why). */
bool mm_dossier_file_is_domcaps(const char *path);
bool mm_dossier_import_file(const char *path, const char *virt_type, GHashTable *facts, GError **error);
