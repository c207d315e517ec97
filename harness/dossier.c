/* dossier.c: libvirt capabilities / domain capabilities / <cpu> XML → host facts. */
#include "migmatrix/dossier.h"

#include <string.h>

#include "migmatrix/util.h"
#include "migmatrix/xml.h"

GHashTable *
mm_facts_new(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

void
mm_facts_set(GHashTable *facts, const char *name, const char *value)
{
    if (value)
        g_hash_table_insert(facts, g_strdup(name), g_strdup(value));
}

const char *
mm_facts_get(GHashTable *facts, const char *name)
{
    return facts ? g_hash_table_lookup(facts, name) : NULL;
}

bool
mm_facts_list_has(const char *list, const char *item)
{
    g_auto(GStrv) parts = g_strsplit(list ? list : "", ",", -1);

    return g_strv_contains((const char *const *)parts, item);
}

const char *
mm_facts_get_vt(GHashTable *facts, const char *virt_type, const char *name)
{
    g_autofree char *k = g_strdup_printf("%s.%s", virt_type, name);
    return mm_facts_get(facts, k);
}

static void
set_vt(GHashTable *facts, const char *vt, const char *name, const char *value)
{
    g_autofree char *k = g_strdup_printf("%s.%s", vt, name);
    mm_facts_set(facts, k, value);
}

static void
set_list(GHashTable *facts, const char *name, GPtrArray *values)
{
    g_ptr_array_add(values, NULL);
    g_autofree char *joined = g_strjoinv(",", (char **)values->pdata);
    g_ptr_array_remove_index(values, values->len - 1);
    mm_facts_set(facts, name, joined);
}

static bool
open_doc(const char *xml, const char *name, const char *root, xmlDoc **doc, xmlXPathContext **ctx, GError **error)
{
    *doc = mm_xml_parse(xml, -1, name, error);
    if (!*doc)
        return false;
    if (root && strcmp((const char *)xmlDocGetRootElement(*doc)->name, root) != 0) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "%s: root element is <%s>, expected <%s>", name,
                    (const char *)xmlDocGetRootElement(*doc)->name, root);
        return false;
    }
    *ctx = xmlXPathNewContext(*doc);
    return true;
}

/* The host CPU, as <capabilities><host><cpu> or a bare <cpu> (cputestdata's -host.xml). */
static void
parse_host_cpu(xmlXPathContext *ctx, xmlNode *cpu, GHashTable *facts)
{
    g_autoptr(GPtrArray) features = mm_xml_strings(ctx, cpu, "feature/@name");
    g_autofree char *arch = mm_xml_string(ctx, cpu, "arch");
    g_autofree char *family = mm_xml_string(ctx, cpu, "signature/@family");
    g_autofree char *model = mm_xml_string(ctx, cpu, "signature/@model");
    g_autofree char *stepping = mm_xml_string(ctx, cpu, "signature/@stepping");
    g_autofree char *vendor = mm_xml_string(ctx, cpu, "vendor");
    g_autofree char *name = mm_xml_string(ctx, cpu, "model");
    g_autofree char *microcode = mm_xml_string(ctx, cpu, "microcode/@version");

    mm_facts_set(facts, "arch", arch);
    mm_facts_set(facts, "cpu_vendor", vendor);
    mm_facts_set(facts, "cpu_model", name);
    mm_facts_set(facts, "microcode", microcode);
    if (family) {
        g_autofree char *sig = g_strdup_printf("family %s model %s stepping %s", family, model ? model : "?",
                                               stepping ? stepping : "?");
        mm_facts_set(facts, "cpu_signature", sig);
    }
    set_list(facts, "cpu_features", features);
}

bool
mm_dossier_parse_capabilities(const char *xml, const char *name, GHashTable *facts, GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctx = NULL;
    g_autoptr(GPtrArray) cpus = NULL;
    g_autoptr(GPtrArray) types = NULL;
    g_autofree char *uuid = NULL;

    if (!open_doc(xml, name, "capabilities", &doc, &ctx, error))
        return false;
    cpus = mm_xml_nodes(ctx, NULL, "/capabilities/host/cpu");
    if (cpus->len == 0) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "%s: no <host><cpu> element", name);
        return false;
    }
    parse_host_cpu(ctx, cpus->pdata[0], facts);
    uuid = mm_xml_string(ctx, NULL, "/capabilities/host/uuid");
    mm_facts_set(facts, "host_uuid", uuid);
    types = mm_xml_strings(ctx, NULL, "/capabilities/guest/arch/domain/@type");
    {
        /* Distinct domain types the host offers, in order: "qemu,kvm". */
        g_autoptr(GPtrArray) uniq = g_ptr_array_new();
        for (guint i = 0; i < types->len; i++)
            if (!g_ptr_array_find_with_equal_func(uniq, types->pdata[i], g_str_equal, NULL))
                g_ptr_array_add(uniq, types->pdata[i]);
        set_list(facts, "virt_types", uniq);
    }
    {
        /* The arches it can run guests of (TCG emulates others than its own). */
        g_autoptr(GPtrArray) arches = mm_xml_strings(ctx, NULL, "/capabilities/guest/arch/@name");
        g_autoptr(GPtrArray) uniq = g_ptr_array_new();
        for (guint i = 0; i < arches->len; i++)
            if (!g_ptr_array_find_with_equal_func(uniq, arches->pdata[i], g_str_equal, NULL))
                g_ptr_array_add(uniq, arches->pdata[i]);
        set_list(facts, "guest_arches", uniq);
    }
    return true;
}

/* The host-model expansion: a <cpu> with <model>, <vendor> and policy'd <feature>s. */
static void
parse_host_model(xmlXPathContext *ctx, xmlNode *cpu, const char *vt, GHashTable *facts)
{
    g_autofree char *model = mm_xml_string(ctx, cpu, "model");
    g_autofree char *vendor = mm_xml_string(ctx, cpu, "vendor");
    g_autoptr(GPtrArray) require = mm_xml_strings(ctx, cpu, "feature[@policy='require' or not(@policy)]/@name");
    g_autoptr(GPtrArray) disable = mm_xml_strings(ctx, cpu, "feature[@policy='disable' or @policy='forbid']/@name");
    g_autofree char *kreq = g_strdup_printf("%s.host_model_require", vt);
    g_autofree char *kdis = g_strdup_printf("%s.host_model_disable", vt);

    set_vt(facts, vt, "host_model", "yes");
    set_vt(facts, vt, "host_model_cpu", model);
    set_vt(facts, vt, "host_model_vendor", vendor);
    set_list(facts, kreq, require);
    set_list(facts, kdis, disable);
}

bool
mm_dossier_parse_domcaps(const char *xml, const char *name, GHashTable *facts, GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctx = NULL;
    g_autofree char *vt = NULL;
    g_autoptr(GPtrArray) hm = NULL;
    g_autoptr(GPtrArray) usable = NULL;
    g_autoptr(GPtrArray) unusable = NULL;
    struct { const char *mode; const char *fact; } simple[] = {
        { "host-passthrough", "host_passthrough" },
        { "maximum", "maximum" },
        { "host-model", "host_model" },
    };

    if (!open_doc(xml, name, "domainCapabilities", &doc, &ctx, error))
        return false;
    vt = mm_xml_string(ctx, NULL, "/domainCapabilities/domain");
    if (!vt) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "%s: no <domain> (virt type) element", name);
        return false;
    }
    {
        g_autofree char *arch = mm_xml_string(ctx, NULL, "/domainCapabilities/arch");
        const char *host_arch = mm_facts_get(facts, "arch");

        /* Another arch's guests (TCG emulating aarch64 on x86_64): its facts are "qemu@aarch64.…",
         * beside the host's own arch's "qemu.…". */
        if (arch && host_arch && strcmp(arch, host_arch) != 0) {
            char *qualified = g_strdup_printf("%s@%s", vt, arch);
            g_free(vt);
            vt = qualified;
        }
    }
    set_vt(facts, vt, "domcaps", "yes");
    {
        g_autofree char *path = mm_xml_string(ctx, NULL, "/domainCapabilities/path");
        g_autofree char *machine = mm_xml_string(ctx, NULL, "/domainCapabilities/machine");
        g_autofree char *arch = mm_xml_string(ctx, NULL, "/domainCapabilities/arch");
        set_vt(facts, vt, "emulator", path);
        set_vt(facts, vt, "machine", machine);
        set_vt(facts, vt, "arch", arch);
        if (!mm_facts_get(facts, "arch"))
            mm_facts_set(facts, "arch", arch);
    }
    for (guint i = 0; i < G_N_ELEMENTS(simple); i++) {
        g_autofree char *xp = g_strdup_printf("/domainCapabilities/cpu/mode[@name='%s']/@supported", simple[i].mode);
        g_autofree char *v = mm_xml_string(ctx, NULL, xp);
        set_vt(facts, vt, simple[i].fact, v ? v : "no");
    }
    hm = mm_xml_nodes(ctx, NULL, "/domainCapabilities/cpu/mode[@name='host-model' and @supported='yes']");
    if (hm->len)
        parse_host_model(ctx, hm->pdata[0], vt, facts);
    usable = mm_xml_strings(ctx, NULL, "/domainCapabilities/cpu/mode[@name='custom']/model[@usable='yes']");
    unusable = mm_xml_strings(ctx, NULL, "/domainCapabilities/cpu/mode[@name='custom']/model[@usable!='yes']");
    {
        g_autofree char *ku = g_strdup_printf("%s.custom_usable", vt);
        g_autofree char *kn = g_strdup_printf("%s.custom_unusable", vt);
        g_autofree char *kq = g_strdup_printf("%s.custom_unknown", vt);
        /* QEMU said nothing about these (aarch64 reports no usability): a subset of unusable. */
        g_autoptr(GPtrArray) unknown =
            mm_xml_strings(ctx, NULL, "/domainCapabilities/cpu/mode[@name='custom']/model[@usable='unknown']");
        set_list(facts, ku, usable);
        set_list(facts, kn, unusable);
        set_list(facts, kq, unknown);
    }
    return true;
}

bool
mm_dossier_parse_cpu(const char *xml, const char *name, const char *virt_type, GHashTable *facts, GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctx = NULL;
    xmlNode *root;
    xmlChar *mode;

    if (!open_doc(xml, name, "cpu", &doc, &ctx, error))
        return false;
    root = xmlDocGetRootElement(doc);
    mode = xmlGetProp(root, (const xmlChar *)"mode");
    if (mode)
        parse_host_model(ctx, root, virt_type, facts);
    else
        parse_host_cpu(ctx, root, facts);
    xmlFree(mode);
    return true;
}

bool
mm_dossier_parse_live_cpu(const char *xml, const char *name, const char *virt_type, const char *model,
                          GHashTable *facts, GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctx = NULL;
    g_autofree char *got = NULL;
    const char *const policies[] = { "require", "disable" };

    if (!open_doc(xml, name, "domain", &doc, &ctx, error))
        return false;
    got = mm_xml_string(ctx, NULL, "/domain/cpu[@mode='custom']/model");
    if (g_strcmp0(got, model) != 0) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "%s: the live CPU is %s, not custom:%s", name,
                    got ? got : "no custom model", model);
        return false;
    }
    for (guint i = 0; i < G_N_ELEMENTS(policies); i++) {
        g_autofree char *xp = g_strdup_printf("/domain/cpu/feature[@policy='%s']/@name", policies[i]);
        g_autofree char *key = g_strdup_printf("%s.live_cpu.%s.%s", virt_type, model, policies[i]);
        g_autoptr(GPtrArray) names = mm_xml_strings(ctx, NULL, xp);

        set_list(facts, key, names);
    }
    return true;
}

bool
mm_dossier_import_file(const char *path, const char *virt_type, GHashTable *facts, GError **error)
{
    g_autofree char *text = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    const char *root;

    if (!g_file_get_contents(path, &text, NULL, error)) {
        (*error)->domain = MM_ERROR;
        (*error)->code = MM_ERROR_INPUT;
        return false;
    }
    if (!(doc = mm_xml_parse(text, -1, path, error)))
        return false;
    root = (const char *)xmlDocGetRootElement(doc)->name;
    if (strcmp(root, "capabilities") == 0)
        return mm_dossier_parse_capabilities(text, path, facts, error);
    if (strcmp(root, "domainCapabilities") == 0)
        return mm_dossier_parse_domcaps(text, path, facts, error);
    if (strcmp(root, "cpu") == 0)
        return mm_dossier_parse_cpu(text, path, virt_type, facts, error);
    g_set_error(error, MM_ERROR, MM_ERROR_INPUT,
                "%s: <%s> is not a dossier; give a capabilities XML, a domcapabilities XML or a <cpu> element",
                path, root);
    return false;
}

bool
mm_dossier_file_is_domcaps(const char *path)
{
    g_autofree char *text = NULL;
    g_autoptr(xmlDoc) doc = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL) || !(doc = mm_xml_parse(text, -1, path, NULL)))
        return false;         /* the import itself reports it */
    return strcmp((const char *)xmlDocGetRootElement(doc)->name, "domainCapabilities") == 0;
}
