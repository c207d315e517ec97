/* domxml.c: domain XML for a guest in a given CPU mode. */
#include "migmatrix/domxml.h"

#include <string.h>

#include "migmatrix/xml.h"

static xmlNode *
child(xmlNode *parent, const char *name, const char *text)
{
    return xmlNewTextChild(parent, NULL, (const xmlChar *)name, (const xmlChar *)text);
}

static void
prop(xmlNode *node, const char *name, const char *value)
{
    xmlNewProp(node, (const xmlChar *)name, (const xmlChar *)value);
}

static void
add_cpu(xmlNode *domain, const MmCpuMode *mode)
{
    xmlNode *cpu;

    /* "none" means no <cpu> at all: the hypervisor's default CPU. */
    if (mode->kind == MM_MODE_NONE)
        return;
    cpu = child(domain, "cpu", NULL);
    prop(cpu, "mode", mm_cpu_mode_kind_name(mode->kind));
    if (mode->kind == MM_MODE_CUSTOM) {
        xmlNode *model;

        prop(cpu, "match", "exact");
        model = child(cpu, "model", mode->model);
        /* forbid: never silently run another model than the one under test. */
        prop(model, "fallback", "forbid");
    }
}

static void
add_devices(xmlNode *domain, const MmGuest *g)
{
    xmlNode *devices = child(domain, "devices", NULL);
    xmlNode *n;

    if (g->disk) {
        bool qcow2 = g_str_has_suffix(g->disk, ".qcow2");
        bool windows = strcmp(g->os, "windows") == 0;

        n = child(devices, "disk", NULL);
        prop(n, "type", "file");
        prop(n, "device", "disk");
        xmlNode *drv = child(n, "driver", NULL);
        prop(drv, "name", "qemu");
        prop(drv, "type", qcow2 ? "qcow2" : "raw");
        /* libvirt refuses live migration with a host page cache on shared storage. */
        prop(drv, "cache", "none");
        prop(child(n, "source", NULL), "file", g->disk);
        xmlNode *tgt = child(n, "target", NULL);
        /* Windows has no virtio driver out of the box. */
        prop(tgt, "dev", windows ? "sda" : "vda");
        prop(tgt, "bus", windows ? "sata" : "virtio");
    }
    /* A pty console needs no shared path: the probe reads it through virDomainOpenConsole. */
    n = child(devices, "serial", NULL);
    prop(n, "type", "pty");
    n = child(devices, "console", NULL);
    prop(n, "type", "pty");
    /* The agent channel, for whichever probe talks to the agent. */
    if (g->probe == MM_PROBE_AGENT || g->cpu_probe == MM_PROBE_AGENT) {
        n = child(devices, "channel", NULL);
        prop(n, "type", "unix");
        xmlNode *tgt = child(n, "target", NULL);
        prop(tgt, "type", "virtio");
        prop(tgt, "name", "org.qemu.guest_agent.0");
    }
    prop(child(devices, "memballoon", NULL), "model", "none");
}

char *
mm_domxml_build(const MmDomainSpec *spec)
{
    const MmGuest *g = spec->guest;
    g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNode *domain = xmlNewNode(NULL, (const xmlChar *)"domain");
    xmlNode *os, *type, *meta, *mm;
    xmlNs *ns;
    g_autofree char *mem = g_strdup_printf("%u", g->memory_mib);
    g_autofree char *vcpus = g_strdup_printf("%u", g->vcpus);
    g_autofree char *run = g_strdup_printf("%" G_GINT64_FORMAT, spec->run_id);
    bool arm = strcmp(g->arch, "aarch64") == 0;
    xmlChar *buf = NULL;
    int len = 0;
    char *out;

    xmlDocSetRootElement(doc, domain);
    prop(domain, "type", spec->virt_type);
    child(domain, "name", spec->name);
    if (spec->uuid)
        child(domain, "uuid", spec->uuid);
    meta = child(domain, "metadata", NULL);
    mm = xmlNewChild(meta, NULL, (const xmlChar *)"case", NULL);
    ns = xmlNewNs(mm, (const xmlChar *)MM_METADATA_NS, (const xmlChar *)"mm");
    xmlSetNs(mm, ns);
    prop(mm, "id", spec->case_id);
    prop(mm, "run", run);
    if (spec->owner)
        prop(mm, "owner", spec->owner);
    prop(child(domain, "memory", mem), "unit", "MiB");
    child(domain, "vcpu", vcpus);

    os = child(domain, "os", NULL);
    type = child(os, "type", "hvm");
    prop(type, "arch", g->arch);
    prop(type, "machine", g->machine ? g->machine : arm ? "virt" : "pc");
    if (g->kernel) {
        child(os, "kernel", g->kernel);
        if (g->initrd)
            child(os, "initrd", g->initrd);
        if (g->cmdline)
            child(os, "cmdline", g->cmdline);
    } else if (g->disk) {
        prop(child(os, "boot", NULL), "dev", "hd");
    }
    if (!arm) {
        xmlNode *features = child(domain, "features", NULL);
        child(features, "acpi", NULL);
        child(features, "apic", NULL);
    }
    add_cpu(domain, spec->mode);
    prop(child(domain, "clock", NULL), "offset", strcmp(g->os, "windows") == 0 ? "localtime" : "utc");
    child(domain, "on_poweroff", "destroy");
    child(domain, "on_reboot", "restart");
    child(domain, "on_crash", "destroy");
    add_devices(domain, g);

    xmlDocDumpFormatMemoryEnc(doc, &buf, &len, "UTF-8", 1);
    out = g_strndup((const char *)buf, len);
    xmlFree(buf);
    return out;
}

char *
mm_domxml_cpu_element(const char *domain_xml, GError **error)
{
    g_autoptr(xmlDoc) doc = mm_xml_parse(domain_xml, -1, "domain XML", error);
    g_autoptr(xmlXPathContext) ctx = NULL;
    g_autoptr(GPtrArray) cpus = NULL;
    g_autoptr(xmlBuffer) buf = NULL;
    char *out;

    if (!doc)
        return NULL;
    ctx = xmlXPathNewContext(doc);
    cpus = mm_xml_nodes(ctx, NULL, "/domain/cpu");
    if (cpus->len == 0)
        return NULL;
    buf = xmlBufferCreate();
    xmlNodeDump(buf, doc, cpus->pdata[0], 0, 0);
    out = g_strdup((const char *)xmlBufferContent(buf));
    return out;
}

char *
mm_domxml_cpu_summary(const char *domain_xml)
{
    g_autoptr(xmlDoc) doc = mm_xml_parse(domain_xml, -1, "domain XML", NULL);
    g_autoptr(xmlXPathContext) ctx = NULL;
    g_autofree char *mode = NULL, *model = NULL, *check = NULL;

    if (!doc)
        return g_strdup("?");
    ctx = xmlXPathNewContext(doc);
    mode = mm_xml_string(ctx, NULL, "/domain/cpu/@mode");
    model = mm_xml_string(ctx, NULL, "/domain/cpu/model");
    check = mm_xml_string(ctx, NULL, "/domain/cpu/@check");
    if (!mode && !model)
        return g_strdup("none");
    return g_strdup_printf("%s%s%s%s%s", mode ? mode : "custom", model ? ":" : "", model ? model : "",
                           check ? " check=" : "", check ? check : "");
}

char *
mm_domxml_metadata_owner(const char *metadata_xml)
{
    g_autoptr(xmlDoc) doc = metadata_xml ? mm_xml_parse(metadata_xml, -1, "domain metadata", NULL) : NULL;
    xmlChar *owner;
    char *out;

    if (!doc)
        return NULL;
    owner = xmlGetProp(xmlDocGetRootElement(doc), (const xmlChar *)"owner");
    out = owner && *owner ? g_strdup((const char *)owner) : NULL;
    xmlFree(owner);
    return out;
}
