/* cmd-baseline.c: `migmatrix baseline HOST…`: the one custom CPU (model plus features) that every
 * named host can give a guest, from their recorded dossiers, by libvirt's own baseline; and
 * what each host gives up against its host-model. */
#include <stdio.h>
#include <string.h>

#include "migmatrix/cli.h"
#include "migmatrix/cpumodel.h"
#include "migmatrix/dossier.h"
#include "migmatrix/guestcpu.h"
#include "migmatrix/json.h"
#include "migmatrix/store.h"

typedef struct {
    char *name;
    GHashTable *facts;
    char *arch, *vendor;
    char *hm_xml;            /* the CPU given to libvirt's baseline (its host-model CPU, or with --cpu
                              * host its host CPU), in the host form libvirt's baseline takes */
    MmCpuDef *offers;        /* that CPU expanded (minus what host-model disables) */
    GPtrArray *gives_up;     /* host-model features the baseline lacks */
} Member;

static void
member_free(Member *m)
{
    g_free(m->name);
    if (m->facts)
        g_hash_table_unref(m->facts);
    g_free(m->arch);
    g_free(m->vendor);
    g_free(m->hm_xml);
    mm_cpu_def_free(m->offers);
    if (m->gives_up)
        g_ptr_array_unref(m->gives_up);
    g_free(m);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Member, member_free)

static void
string_free(GString *s)
{
    g_string_free(s, true);
}

static Member *
member_load(MmStore *store, const char *name, const char *vt, bool host_cpu, GError **error)
{
    g_autoptr(Member) m = g_new0(Member, 1);
    g_autoptr(GError) err = NULL;
    gint64 run = 0;

    m->name = g_strdup(name);
    if (!mm_store_host_latest(store, name, "arch", &run, NULL, NULL, error))
        return NULL;
    if (!run) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT,
                    "%s: no dossier in %s; record one with `migmatrix probe` or `migmatrix probe --import %s FILE…`",
                    name, mm_store_path(store), name);
        return NULL;
    }
    if (!(m->facts = mm_store_host_facts(store, run, name, error)))
        return NULL;
    m->arch = g_strdup(mm_facts_get(m->facts, "arch"));
    /* --cpu host: the host CPU as capabilities show it, what `virsh cpu-baseline` of the hosts'
     * capabilities (and libvirt's own baseline tests) take. */
    if (!(m->offers = mm_cpu_from_facts(m->facts, host_cpu ? NULL : vt, NULL, &m->hm_xml, &err))) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "%s: its dossier (run %" G_GINT64_FORMAT "): %s%s", name, run,
                    err->message,
                    err->code != MM_ERROR_INPUT || strstr(err->message, "libvirt") ? ""
                    : host_cpu ? "; import the host's capabilities or its host <cpu>"
                               : "; import the host's domcapabilities or its host-model <cpu>, give --virt-type, or "
                                 "baseline the host CPUs (--cpu host)");
        return NULL;
    }
    m->vendor = g_strdup(m->offers->vendor);
    return g_steal_pointer(&m);
}

/* Hosts that cannot share one model (another arch or vendor): exit 2, naming the groups that
 * could. */
static bool
check_one_family(GPtrArray *members, const char *db, const char *vt, const char *cpu)
{
    g_autoptr(GHashTable) groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)string_free);
    g_autoptr(GPtrArray) order = g_ptr_array_new();
    g_autoptr(GString) msg = g_string_new(NULL);

    for (guint i = 0; i < members->len; i++) {
        Member *m = members->pdata[i];
        g_autofree char *key = g_strdup_printf("%s %s", m->arch ?: "?", m->vendor ?: "?");
        GString *g = g_hash_table_lookup(groups, key);

        if (!g) {
            g = g_string_new(NULL);
            g_ptr_array_add(order, g);
            g_hash_table_insert(groups, g_strdup(key), g);
            g_string_append_printf(g, "%s:", key);
        }
        g_string_append_printf(g, " %s", m->name);
    }
    if (order->len == 1)
        return true;
    g_string_append(msg, "migmatrix baseline: no common CPU model: the hosts differ in arch or vendor (libvirt: "
                         "\"CPU vendors do not match\"). The closest subsets:\n");
    for (guint i = 0; i < order->len; i++) {
        GString *g = order->pdata[i];
        const char *names = strchr(g->str, ':') + 1;

        g_string_append_printf(msg, "  %s\n    migmatrix baseline --db %s%s%s%s%s\n", g->str, db,
                               strcmp(vt, "kvm") ? " --virt-type " : "", strcmp(vt, "kvm") ? vt : "",
                               strcmp(cpu, "host") ? "" : " --cpu host", names);
    }
    fputs(msg->str, stderr);
    return false;
}

/* libvirt's baseline of the members' CPUs, and what each gives up (Member.gives_up). */
typedef struct {
    char *xml;               /* <cpu> as libvirt gives it, plus the disabled features */
    MmCpuDef *base;          /* that, as written: model, vendor, the model's extras */
    MmCpuDef *full;          /* every feature the baseline gives a guest */
    GPtrArray *disabled;     /* model features some host's host-model disables */
} Baseline;

static void
baseline_free(Baseline *b)
{
    g_free(b->xml);
    mm_cpu_def_free(b->base);
    mm_cpu_def_free(b->full);
    if (b->disabled)
        g_ptr_array_unref(b->disabled);
    g_free(b);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Baseline, baseline_free)

static Baseline *
baseline_compute(GPtrArray *members, GError **error)
{
    g_autoptr(Baseline) b = g_new0(Baseline, 1);
    g_autoptr(GPtrArray) xmls = g_ptr_array_new();
    g_autofree char *expanded_xml = NULL;

    for (guint i = 0; i < members->len; i++)
        g_ptr_array_add(xmls, ((Member *)members->pdata[i])->hm_xml);
    b->disabled = g_ptr_array_new_with_free_func(g_free);
    /* libvirt's baseline of the host-model CPUs: what each host can give a guest, not its raw
     * CPUID (which lists what KVM cannot pass on: vmx, monitor, ds…). */
    if (!(b->xml = mm_cpu_baseline((const char *const *)xmls->pdata, xmls->len, false, error)) ||
        !(expanded_xml = mm_cpu_baseline((const char *const *)xmls->pdata, xmls->len, true, error)) ||
        !(b->base = mm_cpu_def_parse(b->xml, error)) || !(b->full = mm_cpu_def_parse(expanded_xml, error)))
        return NULL;
    /* A feature the model brings that some host's host-model disables (Hygon's svm, monitor) is
     * disabled here too, so every host can start it. */
    for (guint i = 0; i < members->len; i++) {
        Member *m = members->pdata[i];
        g_autoptr(GPtrArray) lacks = mm_cpu_features_missing(b->full, m->offers);

        for (guint k = 0; k < lacks->len; k++)
            if (!g_ptr_array_find_with_equal_func(b->disabled, lacks->pdata[k], g_str_equal, NULL))
                g_ptr_array_add(b->disabled, g_strdup(lacks->pdata[k]));
    }
    for (guint k = 0; k < b->disabled->len; k++)
        g_hash_table_remove(b->full->features, b->disabled->pdata[k]);
    if (b->disabled->len) {
        g_autoptr(GString) x = g_string_new(b->xml);
        char *end = strstr(x->str, "</cpu>");
        g_autoptr(GString) add = g_string_new(NULL);

        for (guint k = 0; k < b->disabled->len; k++) {
            g_autofree char *f = g_markup_escape_text(b->disabled->pdata[k], -1);
            g_string_append_printf(add, "  <feature policy='disable' name='%s'/>\n", f);
        }
        if (end)
            g_string_insert(x, end - x->str, add->str);
        g_free(b->xml);
        b->xml = g_string_free(g_steal_pointer(&x), false);
    }
    for (guint i = 0; i < members->len; i++) {
        Member *m = members->pdata[i];

        g_clear_pointer(&m->gives_up, g_ptr_array_unref);
        m->gives_up = mm_cpu_features_missing(m->offers, b->full);
    }
    return g_steal_pointer(&b);
}

static void
print_json(GPtrArray *members, const MmCpuDef *base, const char *xml, GPtrArray *disabled)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GPtrArray) feats = mm_cpu_features_missing(base, NULL);
    MmJson j;

    mm_json_init(&j, out, true);
    mm_json_begin_object(&j);
    mm_json_key(&j, "hosts");
    mm_json_begin_array(&j);
    for (guint i = 0; i < members->len; i++)
        mm_json_string(&j, ((Member *)members->pdata[i])->name);
    mm_json_end_array(&j);
    mm_json_kv_string(&j, "arch", ((Member *)members->pdata[0])->arch);
    mm_json_kv_string(&j, "vendor", base->vendor);
    mm_json_kv_string(&j, "model", base->model);
    mm_json_key(&j, "features");
    mm_json_begin_array(&j);
    for (guint i = 0; i < feats->len; i++)
        mm_json_string(&j, feats->pdata[i]);
    mm_json_end_array(&j);
    mm_json_key(&j, "disabled");
    mm_json_begin_array(&j);
    for (guint i = 0; i < disabled->len; i++)
        mm_json_string(&j, disabled->pdata[i]);
    mm_json_end_array(&j);
    mm_json_kv_string(&j, "xml", xml);
    mm_json_key(&j, "gives_up");
    mm_json_begin_object(&j);
    for (guint i = 0; i < members->len; i++) {
        Member *m = members->pdata[i];

        mm_json_key(&j, m->name);
        mm_json_begin_array(&j);
        for (guint k = 0; k < m->gives_up->len; k++)
            mm_json_string(&j, m->gives_up->pdata[k]);
        mm_json_end_array(&j);
    }
    mm_json_end_object(&j);
    mm_json_end_object(&j);
    mm_json_clear(&j);
    g_string_append_c(out, '\n');
    fputs(out->str, stdout);
}

int
mm_cmd_baseline(int argc, char **argv)
{
    g_autofree char *format = NULL, *db = NULL, *glob = NULL, *vt = NULL, *cpu = NULL;
    GOptionEntry entries[] = {
        { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Results DB with the dossiers (default: results/migmatrix.db)",
          "PATH" },
        { "hosts", 0, 0, G_OPTION_ARG_STRING, &glob, "Every host with a dossier whose name matches GLOB", "GLOB" },
        { "format", 0, 0, G_OPTION_ARG_STRING, &format, "Output: xml (default), text or json", "FORMAT" },
        { "virt-type", 0, 0, G_OPTION_ARG_STRING, &vt, "Whose host-model CPU to use: kvm (default) or qemu", "TYPE" },
        { "cpu", 0, 0, G_OPTION_ARG_STRING, &cpu,
          "Which CPU of each host: host-model (default: what it can give a guest) or host (its CPU as capabilities "
          "show it, as `virsh cpu-baseline` takes)", "WHICH" },
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(MmStore) store = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) members = g_ptr_array_new_with_free_func((GDestroyNotify)member_free);
    g_autoptr(Baseline) b = NULL;
    GPtrArray *disabled;
    const char *xml;
    const MmCpuDef *base, *full;
    g_autoptr(GString) out = NULL;
    const char *dbpath;

    if (!mm_cli_parse("baseline", "HOST… | --hosts GLOB",
                      "Print the custom CPU every named host can run (libvirt's baseline of their host-model CPUs), "
                      "and what each host gives up.",
                      entries, &argc, &argv))
        return MM_EXIT_USAGE;
    if (!format)
        format = g_strdup("xml");
    if (!vt)
        vt = g_strdup("kvm");
    if (strcmp(format, "xml") && strcmp(format, "text") && strcmp(format, "json")) {
        mm_cli_usage_error("baseline", "--format %s: use xml, text or json", format);
        return MM_EXIT_USAGE;
    }
    if (!cpu)
        cpu = g_strdup("host-model");
    if (strcmp(cpu, "host-model") && strcmp(cpu, "host")) {
        mm_cli_usage_error("baseline", "--cpu %s: use host-model or host", cpu);
        return MM_EXIT_USAGE;
    }
    if (strcmp(vt, "kvm") && strcmp(vt, "qemu")) {
        mm_cli_usage_error("baseline", "--virt-type %s: use kvm or qemu", vt);
        return MM_EXIT_USAGE;
    }
    if ((argc < 2) == !glob) {
        mm_cli_usage_error("baseline", "name the hosts (HOST…) or give --hosts GLOB, not both");
        return MM_EXIT_USAGE;
    }
    dbpath = mm_cli_db_path(db, NULL);
    if (!g_file_test(dbpath, G_FILE_TEST_IS_REGULAR)) {
        fprintf(stderr, "migmatrix baseline: %s: no such results DB; record dossiers with `migmatrix probe` or "
                        "`probe --import` first, or give --db\n", dbpath);
        return MM_EXIT_USAGE;
    }
    if (!(store = mm_store_open(dbpath, &err))) {
        fprintf(stderr, "migmatrix baseline: %s\n", err->message);
        return MM_EXIT_INFRA;
    }
    if (glob) {
        g_autoptr(GPatternSpec) pat = g_pattern_spec_new(glob);
        g_autoptr(GPtrArray) all = mm_store_host_names_with(store, "arch", &err);

        if (!all) {
            fprintf(stderr, "migmatrix baseline: %s\n", err->message);
            return MM_EXIT_INFRA;
        }
        for (guint i = 0; i < all->len; i++)
            if (g_pattern_spec_match_string(pat, all->pdata[i]))
                g_ptr_array_add(names, g_strdup(all->pdata[i]));
        if (!names->len) {
            fprintf(stderr, "migmatrix baseline: --hosts %s matches no host with a dossier in %s\n", glob, dbpath);
            return MM_EXIT_USAGE;
        }
    } else {
        for (int i = 1; i < argc; i++)
            if (!g_ptr_array_find_with_equal_func(names, argv[i], g_str_equal, NULL))
                g_ptr_array_add(names, g_strdup(argv[i]));
    }
    for (guint i = 0; i < names->len; i++) {
        Member *m = member_load(store, names->pdata[i], vt, strcmp(cpu, "host") == 0, &err);

        if (!m) {
            fprintf(stderr, "migmatrix baseline: %s\n", err->message);
            return mm_exit_for_error(err);
        }
        g_ptr_array_add(members, m);
    }
    if (!check_one_family(members, dbpath, vt, cpu))
        return MM_EXIT_USAGE;

    if (!(b = baseline_compute(members, &err))) {
        fprintf(stderr, "migmatrix baseline: %s\n", err->message);
        return mm_exit_for_error(err);
    }
    xml = b->xml;
    base = b->base;
    full = b->full;
    disabled = b->disabled;

    if (strcmp(format, "json") == 0) {
        print_json(members, base, xml, disabled);
        return MM_EXIT_OK;
    }
    out = g_string_new(NULL);
    if (strcmp(format, "text") == 0) {
        g_string_append_printf(out, "baseline of %u %s %s CPU%s (%s %s): %s", members->len,
                               members->len == 1 ? "host's" : "hosts'", strcmp(cpu, "host") ? "host-model" : "host",
                               members->len == 1 ? "" : "s",
                               ((Member *)members->pdata[0])->arch, base->vendor ? base->vendor : "?", base->model);
        g_string_append_printf(out, ", %u features in all\n\n%s\n", g_hash_table_size(full->features), xml);
        for (guint i = 0; i < members->len; i++) {
            Member *m = members->pdata[i];
            g_autofree char *list = mm_guestcpu_join(m->gives_up, ", ");

            g_string_append_printf(out, "%s gives up %u of its %s CPU's features%s%s\n", m->name, m->gives_up->len,
                                   strcmp(cpu, "host") ? "host-model" : "host", m->gives_up->len ? ": " : "", list);
        }
    } else {
        for (guint i = 0; i < members->len; i++) {
            Member *m = members->pdata[i];

            g_autofree char *list = mm_guestcpu_join(m->gives_up, ", ");

            /* Host names are the user's: no "--" may end the comment early. */
            g_autofree char *name = g_strdup(m->name);
            for (char *c = strstr(name, "--"); c; c = strstr(c, "--"))
                c[1] = '_';
            g_string_append_printf(out, "<!-- %s gives up %u %s feature%s%s%s -->\n", name, m->gives_up->len,
                                   strcmp(cpu, "host") ? "host-model" : "host CPU", m->gives_up->len == 1 ? "" : "s",
                                   m->gives_up->len ? ": " : "", list);
        }
        g_string_append(out, xml);
    }
    fputs(out->str, stdout);
    return MM_EXIT_OK;
}
