/* cpumodel.c: libvirt's CPU logic, offline (see cpumodel.h). */
#include "migmatrix/cpumodel.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>

#include "migmatrix/dossier.h"
#include "migmatrix/guestcpu.h"
#include "migmatrix/hosts.h"
#include "migmatrix/util.h"
#include "migmatrix/xml.h"

void
mm_cpu_def_free(MmCpuDef *d)
{
    if (!d)
        return;
    g_free(d->arch);
    g_free(d->vendor);
    g_free(d->model);
    if (d->features)
        g_hash_table_unref(d->features);
    if (d->disabled)
        g_ptr_array_unref(d->disabled);
    g_free(d);
}

/* The test driver's connection: in the library, so it needs no daemon and reaches no host. One
 * for the process (libvirt connections are thread-safe); it holds only its fixed test state. */
static virConnectPtr
offline_conn(GError **error)
{
    static gsize once;
    static virConnectPtr conn;

    if (g_once_init_enter(&once)) {
        mm_libvirt_init();
        conn = virConnectOpen("test:///default");
        g_once_init_leave(&once, 1);
    }
    if (!conn)
        g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "cannot open libvirt's test driver (test:///default) for its CPU "
                    "logic: %s", virGetLastErrorMessage());
    return conn;
}

char *
mm_cpu_host_xml(const char *arch, const char *vendor, const char *model, const char *const *features)
{
    g_autoptr(GString) out = g_string_new("<cpu>\n");
    g_autofree char *a = g_markup_escape_text(arch ? arch : "x86_64", -1);

    g_string_append_printf(out, "  <arch>%s</arch>\n", a);
    if (model) {
        g_autofree char *m = g_markup_escape_text(model, -1);
        g_string_append_printf(out, "  <model>%s</model>\n", m);
    }
    if (vendor) {
        g_autofree char *v = g_markup_escape_text(vendor, -1);
        g_string_append_printf(out, "  <vendor>%s</vendor>\n", v);
    }
    for (guint i = 0; features && features[i]; i++) {
        g_autofree char *f = NULL;

        if (!*features[i])
            continue;
        f = g_markup_escape_text(features[i], -1);
        g_string_append_printf(out, "  <feature name='%s'/>\n", f);
    }
    g_string_append(out, "</cpu>\n");
    return g_string_free(g_steal_pointer(&out), false);
}

char *
mm_cpu_baseline(const char *const *xmls, guint n, bool expand, GError **error)
{
    virConnectPtr conn = offline_conn(error);
    char *out;

    if (!conn)
        return NULL;
    out = virConnectBaselineCPU(conn, (const char **)xmls, n, expand ? VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES : 0);
    if (!out) {
        /* Offline, the inputs are the only cause: "CPU vendors do not match", a model the
         * installed cpu_map does not know. */
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "libvirt's CPU baseline: %s", virGetLastErrorMessage());
        virResetLastError();
    }
    return out;
}

MmCpuDef *
mm_cpu_def_parse(const char *xml, GError **error)
{
    g_autoptr(xmlDoc) doc = mm_xml_parse(xml, -1, "CPU definition", error);
    g_autoptr(xmlXPathContext) ctx = NULL;
    g_autoptr(GPtrArray) names = NULL;
    g_autoptr(MmCpuDef) d = NULL;

    if (!doc)
        return NULL;
    ctx = xmlXPathNewContext(doc);
    d = g_new0(MmCpuDef, 1);
    d->arch = mm_xml_string(ctx, NULL, "/cpu/arch");
    d->vendor = mm_xml_string(ctx, NULL, "/cpu/vendor");
    d->model = mm_xml_string(ctx, NULL, "/cpu/model");
    d->features = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    /* A disabled or forbidden feature is not one the CPU has. */
    names = mm_xml_strings(ctx, NULL, "/cpu/feature[not(@policy) or @policy='require' or @policy='force' or "
                                      "@policy='optional']/@name");
    for (guint i = 0; i < names->len; i++)
        g_hash_table_add(d->features, g_strdup(names->pdata[i]));
    d->disabled = mm_xml_strings(ctx, NULL, "/cpu/feature[@policy='disable' or @policy='forbid']/@name");
    return g_steal_pointer(&d);
}

MmCpuDef *
mm_cpu_expand(const char *xml, GError **error)
{
    g_autofree char *out = mm_cpu_baseline((const char *const[]){ xml }, 1, true, error);
    MmCpuDef *d;

    if (!out || !(d = mm_cpu_def_parse(out, error)))
        return NULL;
    /* The expansion names no arch: it is the input's. */
    if (!d->arch) {
        g_autoptr(MmCpuDef) in = mm_cpu_def_parse(xml, NULL);
        d->arch = in ? g_strdup(in->arch) : NULL;
    }
    return d;
}

MmCpuDef *
mm_cpu_from_facts(GHashTable *facts, const char *vt, const char *arch, char **xml, GError **error)
{
    const char *own = mm_facts_get(facts, "arch");
    bool cross = arch && own && strcmp(arch, own) != 0;
    const char *model = vt ? mm_facts_get_vt(facts, vt, "host_model_cpu") : mm_facts_get(facts, "cpu_model");
    const char *vendor = mm_facts_get(facts, "cpu_vendor");
    g_auto(GStrv) feats = NULL, dis = NULL;
    g_autofree char *text = NULL;
    MmCpuDef *d;

    if (!model) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, vt ? "no host-model CPU for %s" : "no host CPU", vt);
        return NULL;
    }
    if (vt) {
        vendor = mm_facts_get_vt(facts, vt, "host_model_vendor") ?: (cross ? NULL : vendor);
        feats = g_strsplit(mm_facts_get_vt(facts, vt, "host_model_require") ?: "", ",", -1);
        dis = g_strsplit(mm_facts_get_vt(facts, vt, "host_model_disable") ?: "", ",", -1);
    } else {
        feats = g_strsplit(mm_facts_get(facts, "cpu_features") ?: "", ",", -1);
    }
    text = mm_cpu_host_xml(arch ? arch : own, vendor, model, (const char *const *)feats);
    if (!(d = mm_cpu_expand(text, error)))
        return NULL;
    for (guint i = 0; dis && dis[i]; i++)
        g_hash_table_remove(d->features, dis[i]);
    if (xml)
        *xml = g_steal_pointer(&text);
    return d;
}

static int
by_name(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *
mm_cpu_features_missing(const MmCpuDef *a, const MmCpuDef *b)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    GHashTableIter it;
    gpointer k;

    g_hash_table_iter_init(&it, a->features);
    while (g_hash_table_iter_next(&it, &k, NULL))
        if (!b || !g_hash_table_contains(b->features, k))
            g_ptr_array_add(out, g_strdup(k));
    g_ptr_array_sort(out, by_name);
    return out;
}

GPtrArray *
mm_cpu_known_names(const char *arch, bool vendors, GError **error)
{
    /* libvirt has no API that lists them: its cpu_map's own index files, read like any XML
     * input (no network, no entities). */
    g_autofree char *file = mm_cpu_map_path(vendors ? "x86_vendors.xml" : "x86_features.xml");
    g_autofree char *text = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctx = NULL;
    GPtrArray *out;

    if (g_strcmp0(arch, "x86_64") != 0 && g_strcmp0(arch, "i686") != 0) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "no CPU %s names for %s (x86 only)",
                    vendors ? "vendor" : "feature", arch ? arch : "?");
        return NULL;
    }
    if (!g_file_get_contents(file, &text, NULL, error) || !(doc = mm_xml_parse(text, -1, file, error)))
        return NULL;
    ctx = xmlXPathNewContext(doc);
    out = mm_xml_strings(ctx, NULL, vendors ? "/cpus/vendor/@name" : "/cpus/feature/@name");
    g_ptr_array_sort(out, by_name);   /* each file names each once */
    return out;
}
