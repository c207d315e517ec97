/* probe.c: a live host's facts, from libvirt (capabilities, domain capabilities, versions)
 * and from SSH (kernel, /proc/cpuinfo, nested virtualization). */
#include "migmatrix/probe.h"

#include <string.h>

#include "migmatrix/dossier.h"
#include "migmatrix/hosts.h"
#include "migmatrix/util.h"

/* "model name\t: Intel(R) Xeon(R) …" → value of the first line starting with KEY. */
static char *
cpuinfo_field(const char *cpuinfo, const char *key)
{
    g_auto(GStrv) lines = g_strsplit(cpuinfo, "\n", -1);

    for (int i = 0; lines[i]; i++) {
        char *colon = strchr(lines[i], ':');

        if (colon && g_str_has_prefix(lines[i], key)) {
            *colon = '\0';
            if (strcmp(g_strstrip(lines[i]), key) == 0)
                return g_strdup(g_strstrip(colon + 1));
        }
    }
    return NULL;
}

static bool
probe_ssh(const MmHost *host, GHashTable *facts, GError **error)
{
    g_autoptr(MmSsh) ssh = mm_host_ssh(host, error);
    g_autofree char *kernel = NULL;
    g_autofree char *cpuinfo = NULL;
    g_autofree char *nested = NULL;

    if (!ssh) {
        if (error && *error)
            return false;
        mm_facts_set(facts, "ssh", "not configured");
        return true;
    }
    if (!mm_ssh_exec(ssh, "uname -r", 20, &kernel, error) ||
        !mm_ssh_exec(ssh, "head -c 65536 /proc/cpuinfo", 20, &cpuinfo, error) ||
        !mm_ssh_exec(ssh, "for f in /sys/module/kvm_*/parameters/nested; do [ -r \"$f\" ] && "
                          "echo \"$(basename \"$(dirname \"$(dirname \"$f\")\")\")=$(cat \"$f\")\"; done; true",
                     20, &nested, error))
        return false;
    mm_facts_set(facts, "kernel_version", g_strstrip(kernel));
    {
        g_autofree char *model = cpuinfo_field(cpuinfo, "model name");
        g_autofree char *microcode = cpuinfo_field(cpuinfo, "microcode");

        if (!model)   /* aarch64 has no model name: say what it has */
            model = cpuinfo_field(cpuinfo, "CPU part");
        mm_facts_set(facts, "cpuinfo_model", model);
        if (microcode && !mm_facts_get(facts, "microcode"))
            mm_facts_set(facts, "microcode", microcode);
    }
    g_strstrip(nested);
    for (char *p = nested; *p; p++)
        if (*p == '\n')
            *p = ',';
    mm_facts_set(facts, "nested", *nested ? nested : "no kvm module");
    return true;
}

bool
mm_probe_host(const MmHost *host, GHashTable *facts, GError **error)
{
    g_autoptr(virConnect) conn = NULL;
    g_autofree char *caps = NULL;
    g_autofree char *hostname = NULL;
    g_auto(GStrv) vts = NULL;
    unsigned long lv = 0, hv = 0;

    mm_facts_set(facts, "source", "live");
    mm_facts_set(facts, "uri", host->uri);
    if (!(conn = mm_host_open(host, error)))
        return false;
    if (!(caps = virConnectGetCapabilities(conn))) {
        mm_libvirt_error(error, "%s: capabilities", host->name);
        return false;
    }
    if (!mm_dossier_parse_capabilities(caps, host->name, facts, error))
        return false;
    if ((hostname = virConnectGetHostname(conn)))
        mm_facts_set(facts, "hostname", hostname);
    if (virConnectGetLibVersion(conn, &lv) == 0) {
        g_autofree char *s = mm_version_string(lv);
        mm_facts_set(facts, "libvirt_version", s);
    }
    if (virConnectGetVersion(conn, &hv) == 0) {
        g_autofree char *s = mm_version_string(hv);
        mm_facts_set(facts, "qemu_version", s);
    }

    /* Domain capabilities for every virt type the host offers for its own arch. */
    vts = g_strsplit(mm_facts_get(facts, "virt_types") ?: "", ",", -1);
    for (int i = 0; vts[i]; i++) {
        g_autofree char *dc = NULL;
        g_autofree char *key = g_strdup_printf("%s.domcaps_error", vts[i]);

        if (!*vts[i])
            continue;
        dc = virConnectGetDomainCapabilities(conn, NULL, mm_facts_get(facts, "arch"), NULL, vts[i], 0);
        if (!dc) {
            mm_facts_set(facts, key, virGetLastErrorMessage());
            virResetLastError();
            continue;
        }
        if (!mm_dossier_parse_domcaps(dc, host->name, facts, error))
            return false;
    }
    /* TCG also runs the platform's other arch (aarch64 guests on x86_64 hosts, or the reverse):
     * its domain capabilities too, so a prediction of those guests has its facts. */
    if (mm_facts_list_has(mm_facts_get(facts, "virt_types"), "qemu")) {
        static const char *const platform_arches[] = { "x86_64", "aarch64" };

        for (guint i = 0; i < G_N_ELEMENTS(platform_arches); i++) {
            const char *arch = platform_arches[i];
            g_autofree char *dc = NULL;

            if (g_strcmp0(arch, mm_facts_get(facts, "arch")) == 0 ||
                !mm_facts_list_has(mm_facts_get(facts, "guest_arches"), arch))
                continue;
            if (!(dc = virConnectGetDomainCapabilities(conn, NULL, arch, NULL, "qemu", 0))) {
                g_autofree char *key = g_strdup_printf("qemu@%s.domcaps_error", arch);
                mm_facts_set(facts, key, virGetLastErrorMessage());
                virResetLastError();
                continue;
            }
            if (!mm_dossier_parse_domcaps(dc, host->name, facts, error))
                return false;
        }
    }
    return probe_ssh(host, facts, error);
}
