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

/* Unlinks and frees N with the indentation before it, so the template keeps its layout. */
static void
remove_node(xmlNode *n)
{
    xmlNode *ws = n->prev;

    if (ws && xmlNodeIsText(ws) && xmlIsBlankNode(ws)) {
        xmlUnlinkNode(ws);
        xmlFreeNode(ws);
    }
    xmlUnlinkNode(n);
    xmlFreeNode(n);
}

/* <topology> and NUMA cells from the guest's shape keys: vCPUs and memory split evenly. */
static void
add_shape(xmlNode *cpu, const MmGuest *g)
{
    guint max = g->max_vcpus ? g->max_vcpus : g->vcpus;

    if (g->sockets) {
        xmlNode *t = child(cpu, "topology", NULL);
        g_autofree char *s = g_strdup_printf("%u", g->sockets);
        g_autofree char *c = g_strdup_printf("%u", g->cores);
        g_autofree char *th = g_strdup_printf("%u", g->threads);

        prop(t, "sockets", s);
        prop(t, "dies", "1");
        prop(t, "cores", c);
        prop(t, "threads", th);
    }
    if (g->numa) {
        xmlNode *numa = child(cpu, "numa", NULL);
        guint first = 0;

        for (guint i = 0; i < g->numa; i++) {
            /* The last cell takes the remainder, so every vCPU and MiB has a cell. */
            guint n = i + 1 == g->numa ? max - first : max / g->numa;
            guint mem = i + 1 == g->numa ? g->memory_mib - (g->memory_mib / g->numa) * i : g->memory_mib / g->numa;
            g_autofree char *id = g_strdup_printf("%u", i);
            g_autofree char *cpus = n > 1 ? g_strdup_printf("%u-%u", first, first + n - 1) : g_strdup_printf("%u", first);
            g_autofree char *m = g_strdup_printf("%u", mem);
            xmlNode *cell = child(numa, "cell", NULL);

            prop(cell, "id", id);
            prop(cell, "cpus", cpus);
            prop(cell, "memory", m);
            prop(cell, "unit", "MiB");
            first += n;
        }
    }
}

/* The mode under test on a <cpu> element: mode, match, check, model and (unless kept) features. */
static void
set_mode(xmlNode *cpu, const MmCpuMode *mode, bool keep_features)
{
    static const char *const attrs[] = { "mode", "match", "check", "migratable", NULL };
    xmlNode *n, *next;

    for (int i = 0; attrs[i]; i++)
        xmlUnsetProp(cpu, (const xmlChar *)attrs[i]);
    for (n = cpu->children; n; n = next) {
        const char *name = (const char *)n->name;

        next = n->next;
        if (n->type != XML_ELEMENT_NODE)
            continue;
        /* topology, numa and cache describe the guest, not its CPU model: they stay. */
        if (strcmp(name, "model") == 0 || strcmp(name, "vendor") == 0 ||
            (strcmp(name, "feature") == 0 && !keep_features))
            remove_node(n);
    }
    /* "none": no mode at all, the hypervisor's default CPU; what stays is the guest's shape. */
    if (mode->kind == MM_MODE_NONE)
        return;
    prop(cpu, "mode", mm_cpu_mode_kind_name(mode->kind));
    if (mode->kind == MM_MODE_CUSTOM) {
        xmlNode *model = xmlNewDocNode(cpu->doc, NULL, (const xmlChar *)"model",
                                       (const xmlChar *)mm_cpu_mode_model(mode));
        const MmNamedCpu *n = mode->named;

        prop(cpu, "match", "exact");
        /* forbid: never silently run another model than the one under test. */
        prop(model, "fallback", "forbid");
        /* libvirt wants the model before topology and features. */
        if (cpu->children)
            xmlAddPrevSibling(cpu->children, model);
        else
            xmlAddChild(cpu, model);
        /* A named CPU ([cpu:NAME]): its vendor after the model, its features at the end, as
         * libvirt writes a CPU and as `baseline` prints it. */
        if (n && n->vendor)
            xmlAddNextSibling(model, xmlNewDocNode(cpu->doc, NULL, (const xmlChar *)"vendor",
                                                   (const xmlChar *)n->vendor));
        for (int k = 0; n && k < 2; k++) {
            char **list = k ? n->disable : n->require;

            for (int i = 0; list && list[i]; i++) {
                xmlNode *f = child(cpu, "feature", NULL);

                prop(f, "policy", k ? "disable" : "require");
                prop(f, "name", list[i]);
            }
        }
    }
}

static void
add_cpu(xmlNode *domain, const MmGuest *g, const MmCpuMode *mode)
{
    xmlNode *cpu;

    /* "none" without a shape means no <cpu> at all. */
    if (mode->kind == MM_MODE_NONE && !g->sockets && !g->numa)
        return;
    cpu = child(domain, "cpu", NULL);
    set_mode(cpu, mode, false);
    add_shape(cpu, g);
}

/* Hyper-V enlightenments as platforms give Windows guests; QEMU provides them under KVM only. */
static void
add_hyperv(xmlNode *features)
{
    static const char *const on[] = { "relaxed", "vapic", "vpindex", "synic", "stimer", "frequencies", NULL };
    xmlNode *hv = child(features, "hyperv", NULL);
    xmlNode *spin;

    prop(hv, "mode", "custom");
    for (int i = 0; on[i]; i++)
        prop(child(hv, on[i], NULL), "state", "on");
    spin = child(hv, "spinlocks", NULL);
    prop(spin, "state", "on");
    prop(spin, "retries", "8191");
}

static void
add_clock(xmlNode *domain, const MmGuest *g, bool kvm)
{
    bool windows = strcmp(g->os, "windows") == 0;
    xmlNode *clock = child(domain, "clock", NULL);
    xmlNode *t;

    /* Windows keeps its RTC in local time. */
    prop(clock, "offset", windows ? "localtime" : "utc");
    if (!windows)
        return;
    t = child(clock, "timer", NULL);
    prop(t, "name", "rtc");
    prop(t, "tickpolicy", "catchup");
    t = child(clock, "timer", NULL);
    prop(t, "name", "pit");
    prop(t, "tickpolicy", "delay");
    t = child(clock, "timer", NULL);
    prop(t, "name", "hpet");
    prop(t, "present", "no");
    if (kvm) {
        t = child(clock, "timer", NULL);
        prop(t, "name", "hypervclock");
        prop(t, "present", "yes");
    }
}

static void
add_nic(xmlNode *devices, const MmGuest *g)
{
    bool windows = strcmp(g->os, "windows") == 0;
    xmlNode *nic;

    if (!g->network && !g->bridge)
        return;
    nic = child(devices, "interface", NULL);
    prop(nic, "type", g->network ? "network" : "bridge");
    prop(child(nic, "source", NULL), g->network ? "network" : "bridge", g->network ? g->network : g->bridge);
    /* Windows has no virtio driver out of the box; e1000e works on pc and q35 alike. */
    prop(child(nic, "model", NULL), "type", g->nic_model ? g->nic_model : windows ? "e1000e" : "virtio");
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
    add_nic(devices, g);
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

static void
add_metadata(xmlNode *domain, const MmDomainSpec *spec)
{
    g_autofree char *run = g_strdup_printf("%" G_GINT64_FORMAT, spec->run_id);
    xmlNode *meta = NULL, *mm, *n, *next;
    xmlNs *ns;

    for (n = domain->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, "metadata") == 0)
            meta = n;
    if (!meta)
        meta = child(domain, "metadata", NULL);
    /* A template dumped from a migmatrix guest carries an old case: replace it, keep the rest. */
    for (n = meta->children; n; n = next) {
        next = n->next;
        if (n->ns && n->ns->href && strcmp((const char *)n->ns->href, MM_METADATA_NS) == 0)
            remove_node(n);
    }
    mm = xmlNewChild(meta, NULL, (const xmlChar *)"case", NULL);
    ns = xmlNewNs(mm, (const xmlChar *)MM_METADATA_NS, (const xmlChar *)"mm");
    xmlSetNs(mm, ns);
    prop(mm, "id", spec->case_id);
    prop(mm, "run", run);
    if (spec->owner)
        prop(mm, "owner", spec->owner);
}

static char *
dump(xmlDoc *doc)
{
    xmlChar *buf = NULL;
    int len = 0;
    char *out;

    xmlDocDumpFormatMemoryEnc(doc, &buf, &len, "UTF-8", 1);
    out = g_strndup((const char *)buf, len);
    xmlFree(buf);
    return out;
}

static xmlNode *
first_child(xmlNode *parent, const char *name)
{
    for (xmlNode *n = parent->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
            return n;
    return NULL;
}

/* Sets the text of PARENT's first NAME child, creating it as the first child when missing. */
static void
set_child_text(xmlNode *parent, const char *name, const char *text)
{
    xmlNode *n = first_child(parent, name);

    if (!n) {
        n = xmlNewDocNode(parent->doc, NULL, (const xmlChar *)name, NULL);
        if (parent->children)
            xmlAddPrevSibling(parent->children, n);
        else
            xmlAddChild(parent, n);
    }
    xmlNodeSetContent(n, (const xmlChar *)text);
}

/* The platform's template, changed only where the case says: name, UUID, metadata, the CPU mode,
 * the first disk's source when the scenario gives one, and the domain type (the host's virt
 * type, since a KVM platform's definition runs under TCG in the lab). */
static char *
build_from_template(const MmDomainSpec *spec)
{
    const MmGuest *g = spec->guest;
    g_autoptr(xmlDoc) doc = mm_xml_parse(g->domain_xml_text, -1, g->domain_xml, NULL);
    g_autoptr(xmlXPathContext) ctx = NULL;
    g_autoptr(GPtrArray) disks = NULL;
    xmlNode *domain, *uuid, *cpu;

    if (!doc)  /* checked at load: cannot happen unless the text changed since */
        return NULL;
    domain = xmlDocGetRootElement(doc);
    xmlUnsetProp(domain, (const xmlChar *)"id");
    xmlSetProp(domain, (const xmlChar *)"type", (const xmlChar *)spec->virt_type);
    set_child_text(domain, "name", spec->name);
    if ((uuid = first_child(domain, "uuid")))
        remove_node(uuid);
    if (spec->uuid) {
        uuid = xmlNewDocNode(doc, NULL, (const xmlChar *)"uuid", (const xmlChar *)spec->uuid);
        xmlAddNextSibling(first_child(domain, "name"), uuid);
    }
    add_metadata(domain, spec);
    cpu = first_child(domain, "cpu");
    if (!cpu && spec->mode->kind != MM_MODE_NONE)
        cpu = child(domain, "cpu", NULL);
    if (cpu) {
        set_mode(cpu, spec->mode, g->keep_cpu_features);
        /* "none" and nothing of the guest's shape left: no <cpu> at all. */
        if (spec->mode->kind == MM_MODE_NONE && !first_child(cpu, "topology") && !first_child(cpu, "numa") &&
            !first_child(cpu, "cache") && !first_child(cpu, "feature"))
            remove_node(cpu);
    }
    if (g->disk) {
        ctx = xmlXPathNewContext(doc);
        disks = mm_xml_nodes(ctx, NULL, "/domain/devices/disk[@device='disk' or not(@device)]");
        if (disks->len) {
            xmlNode *disk = disks->pdata[0];
            xmlNode *source = first_child(disk, "source");

            xmlSetProp(disk, (const xmlChar *)"type", (const xmlChar *)"file");
            if (source)
                remove_node(source);
            source = xmlNewDocNode(doc, NULL, (const xmlChar *)"source", NULL);
            prop(source, "file", g->disk);
            if (first_child(disk, "driver"))
                xmlAddNextSibling(first_child(disk, "driver"), source);
            else
                xmlAddChild(disk, source);
        }
    }
    return dump(doc);
}

char *
mm_domxml_build(const MmDomainSpec *spec)
{
    const MmGuest *g = spec->guest;
    g_autoptr(xmlDoc) doc = NULL;
    xmlNode *domain;
    xmlNode *os, *type, *vcpu;
    g_autofree char *mem = g_strdup_printf("%u", g->memory_mib);
    g_autofree char *vcpus = g_strdup_printf("%u", g->max_vcpus ? g->max_vcpus : g->vcpus);
    bool arm = strcmp(g->arch, "aarch64") == 0;
    bool kvm = strcmp(spec->virt_type, "kvm") == 0;

    if (g->domain_xml_text)
        return build_from_template(spec);
    doc = xmlNewDoc((const xmlChar *)"1.0");
    domain = xmlNewNode(NULL, (const xmlChar *)"domain");
    xmlDocSetRootElement(doc, domain);
    prop(domain, "type", spec->virt_type);
    child(domain, "name", spec->name);
    if (spec->uuid)
        child(domain, "uuid", spec->uuid);
    add_metadata(domain, spec);
    prop(child(domain, "memory", mem), "unit", "MiB");
    vcpu = child(domain, "vcpu", vcpus);
    /* Room to hot-plug: the guest boots with vcpus of max_vcpus. */
    if (g->max_vcpus > g->vcpus) {
        g_autofree char *current = g_strdup_printf("%u", g->vcpus);
        prop(vcpu, "current", current);
    }

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
        if (strcmp(g->os, "windows") == 0 && kvm)
            add_hyperv(features);
    }
    add_cpu(domain, g, spec->mode);
    add_clock(domain, g, kvm);
    child(domain, "on_poweroff", "destroy");
    child(domain, "on_reboot", "restart");
    child(domain, "on_crash", "destroy");
    add_devices(domain, g);
    return dump(doc);
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
