/* probe.c: a live host's facts, from libvirt (capabilities, domain capabilities, versions)
 * and from SSH (kernel, /proc/cpuinfo, nested virtualization). */
#include "migmatrix/probe.h"

#include <string.h>

#include "migmatrix/domxml.h"
#include "migmatrix/dossier.h"
#include "migmatrix/hosts.h"
#include "migmatrix/predict.h"
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

/* The smallest domain that makes QEMU build the CPU: no disk, no device, 32 MiB. Named with our
 * prefix but without our metadata, so a run's leftover sweep leaves it to its own connection;
 * a random part, as runners on other machines (shards) may probe the same host at once. */
static char *
live_cpu_xml(const MmHost *host, const char *arch, const char *model)
{
    g_autofree char *m = g_markup_escape_text(model, -1);
    g_autofree char *a = g_markup_escape_text(arch, -1);

    return g_strdup_printf("<domain type='%s'>\n"
                           "  <name>" MM_DOMAIN_PREFIX "probe-cpu-%08x-%s</name>\n"
                           "  <memory unit='MiB'>32</memory>\n"
                           "  <vcpu>1</vcpu>\n"
                           "  <os><type arch='%s'>hvm</type></os>\n"
                           "  <cpu mode='custom' match='exact'><model fallback='forbid'>%s</model></cpu>\n"
                           "  <devices/>\n"
                           "</domain>\n",
                           strcmp(host->virt_type, "kvm") == 0 ? "kvm" : "qemu", g_random_int(), m, a, m);
}

/* MODEL's error fact and a line of WARNINGS: one failure, said both ways. */
static void
live_cpu_failed(const MmHost *host, const char *model, GHashTable *facts, GPtrArray *warnings, const char *why)
{
    g_autofree char *key = g_strdup_printf("%s.live_cpu.%s.error", host->virt_type, model);

    mm_facts_set(facts, key, why);
    g_ptr_array_add(warnings, g_strdup_printf("%s: the live CPU of custom:%s: %s", host->name, model, why));
}

bool
mm_probe_live_cpus(const MmHost *host, GPtrArray *models, GHashTable *facts, GPtrArray *warnings, GError **error)
{
    g_autoptr(virConnect) conn = NULL;
    const char *arch = mm_facts_get(facts, "arch");

    if (!models->len)
        return true;
    if (!arch) {
        g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: no arch in its facts: cannot start a CPU probe", host->name);
        return false;
    }
    if (!(conn = mm_host_open(host, error)))
        return false;
    for (guint i = 0; i < models->len; i++) {
        const char *model = models->pdata[i];
        g_autofree char *xml = live_cpu_xml(host, arch, model);
        g_autofree char *live = NULL;
        g_autoptr(GError) bad = NULL;
        /* AUTODESTROY: gone with this connection even if the destroy below never runs. */
        virDomainPtr dom = virDomainCreateXML(conn, xml, VIR_DOMAIN_START_PAUSED | VIR_DOMAIN_START_AUTODESTROY);

        if (!dom) {
            live_cpu_failed(host, model, facts, warnings, virGetLastErrorMessage());
            virResetLastError();
            continue;
        }
        live = virDomainGetXMLDesc(dom, 0);
        if (!live)
            live_cpu_failed(host, model, facts, warnings, virGetLastErrorMessage());
        else if (!mm_dossier_parse_live_cpu(live, host->name, host->virt_type, model, facts, &bad))
            live_cpu_failed(host, model, facts, warnings, bad->message);
        /* A destroy that fails leaves it to AUTODESTROY, when this connection closes. */
        if (virDomainDestroy(dom) < 0)
            g_debug("%s: destroying the CPU probe of %s: %s", host->name, model, virGetLastErrorMessage());
        if (virDomainFree(dom) < 0)
            g_debug("%s: freeing the CPU probe of %s: %s", host->name, model, virGetLastErrorMessage());
        virResetLastError();
    }
    return true;
}

/* One host's share; its warnings are its own until the pool is done. */
typedef struct {
    const MmHost *host;
    GHashTable *facts;
    GPtrArray *models;
    GPtrArray *warnings;
} LiveJob;

static void
live_job_run(gpointer data, gpointer user_data)
{
    LiveJob *job = data;
    g_autoptr(GError) err = NULL;

    (void)user_data;
    if (!mm_probe_live_cpus(job->host, job->models, job->facts, job->warnings, &err)) {
        g_autofree char *key = g_strdup_printf("%s.live_cpu_error", job->host->virt_type);

        mm_facts_set(job->facts, key, err->message);
        g_ptr_array_add(job->warnings, g_strdup_printf("%s: no live CPU probed: %s", job->host->name, err->message));
    }
}

guint
mm_probe_live_cpus_for_plan(GPtrArray *cases, GHashTable *host_facts, GPtrArray *warnings)
{
    g_autoptr(GHashTable) wanted = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)g_ptr_array_unref);
    g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func(g_free);
    GThreadPool *pool;
    GHashTableIter it;
    gpointer host, models;
    guint asked = 0;

    for (guint i = 0; i < cases->len; i++) {
        const MmCase *c = cases->pdata[i];
        const MmHost *hs[] = { c->src, c->dst };
        GHashTable *sf = g_hash_table_lookup(host_facts, c->src), *df = g_hash_table_lookup(host_facts, c->dst);
        g_autoptr(GPtrArray) models = g_ptr_array_new();

        if (c->na_reason || !sf || !df || mm_facts_get(sf, "error") || mm_facts_get(df, "error"))
            continue;
        mm_predict_live_cpu_models(c, sf, df, models);
        for (guint m = 0; m < models->len; m++)
            for (int k = 0; k < 2; k++) {
                GPtrArray *list = g_hash_table_lookup(wanted, hs[k]);

                if (!list)
                    g_hash_table_insert(wanted, (gpointer)hs[k], (list = g_ptr_array_new()));
                if (!g_ptr_array_find_with_equal_func(list, models->pdata[m], g_str_equal, NULL))
                    g_ptr_array_add(list, models->pdata[m]);
            }
    }
    if (!g_hash_table_size(wanted))
        return 0;
    pool = g_thread_pool_new(live_job_run, NULL, 8, FALSE, NULL);
    g_hash_table_iter_init(&it, wanted);
    while (g_hash_table_iter_next(&it, &host, &models)) {
        LiveJob *job = g_new0(LiveJob, 1);

        job->host = host;
        job->facts = g_hash_table_lookup(host_facts, host);
        job->models = models;
        /* Each job its own warnings, handed on when the pool is done: no lock. */
        job->warnings = g_ptr_array_new_with_free_func(g_free);
        asked += job->models->len;
        g_ptr_array_add(jobs, job);
        g_thread_pool_push(pool, job, NULL);
    }
    g_thread_pool_free(pool, FALSE, TRUE);
    for (guint i = 0; i < jobs->len; i++)
        g_ptr_array_extend_and_steal(warnings, ((LiveJob *)jobs->pdata[i])->warnings);
    return asked;
}
