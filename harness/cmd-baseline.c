/* cmd-baseline.c: `migmatrix baseline HOST…`: the one custom CPU (model plus features) that every
 * named host can give a guest, from their recorded dossiers, by libvirt's own baseline; and
 * what each host gives up against its host-model. */
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "migmatrix/cli.h"
#include "migmatrix/cpumodel.h"
#include "migmatrix/dossier.h"
#include "migmatrix/guestcpu.h"
#include "migmatrix/json.h"
#include "migmatrix/matrix.h"
#include "migmatrix/scenario.h"
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
    /* What libvirt's baseline itself disables stays disabled. */
    for (guint k = 0; k < b->base->disabled->len; k++) {
        g_ptr_array_add(b->disabled, g_strdup(b->base->disabled->pdata[k]));
        g_hash_table_remove(b->full->features, b->base->disabled->pdata[k]);
    }
    /* A feature the model brings that some host's host-model disables (Hygon's svm, monitor) is
     * disabled here too, so every host can start it. */
    for (guint i = 0; i < members->len; i++) {
        Member *m = members->pdata[i];
        g_autoptr(GPtrArray) lacks = mm_cpu_features_missing(b->full, m->offers);

        for (guint k = 0; k < lacks->len; k++)
            if (!g_ptr_array_find_with_equal_func(b->disabled, lacks->pdata[k], g_str_equal, NULL))
                g_ptr_array_add(b->disabled, g_strdup(lacks->pdata[k]));
    }
    /* Never both required and disabled: a disabled one leaves the required extras, and its
     * line in libvirt's XML turns to disable rather than a second line for it (libvirt refuses
     * a feature listed twice). */
    for (guint k = 0; k < b->disabled->len; k++) {
        g_hash_table_remove(b->full->features, b->disabled->pdata[k]);
        g_hash_table_remove(b->base->features, b->disabled->pdata[k]);
    }
    if (b->disabled->len) {
        g_autoptr(GString) x = g_string_new(b->xml);
        char *end;
        g_autoptr(GString) add = g_string_new(NULL);

        for (guint k = 0; k < b->disabled->len; k++) {
            g_autofree char *f = g_markup_escape_text(b->disabled->pdata[k], -1);
            g_autofree char *req = g_strdup_printf("policy='require' name='%s'/>", f);
            g_autofree char *dis = g_strdup_printf("policy='disable' name='%s'/>", f);

            if (strstr(x->str, dis))
                continue;
            if (strstr(x->str, req))
                g_string_replace(x, req, dis, 1);
            else
                g_string_append_printf(add, "  <feature policy='disable' name='%s'/>\n", f);
        }
        end = strstr(x->str, "</cpu>");
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

/* A name no group of SC uses yet: BASE, else BASE-2, BASE-3… */
static char *
free_name(const char *base, bool (*taken)(const MmScenario *, const char *), const MmScenario *sc)
{
    char *name = g_strdup(base);

    for (int i = 2; taken(sc, name); i++) {
        g_free(name);
        name = g_strdup_printf("%s-%d", base, i);
    }
    return name;
}

static bool
cpu_taken(const MmScenario *sc, const char *name)
{
    return g_hash_table_contains(sc->cpu_by_name, name);
}

static bool
matrix_taken(const MmScenario *sc, const char *name)
{
    for (guint i = 0; i < sc->matrices->len; i++)
        if (strcmp(((MmMatrixSpec *)sc->matrices->pdata[i])->name, name) == 0)
            return true;
    return false;
}

/* KEY = A, B, … (nothing for an empty list). */
static void
append_list(GString *out, const char *key, GPtrArray *items)
{
    g_autofree char *list = mm_guestcpu_join(items, ", ");

    if (items->len)
        g_string_append_printf(out, "%s = %s\n", key, list);
}

/* One family of SC's hosts (one arch and vendor): the [cpu:…] and [matrix:…] groups that test
 * its baseline between the pairs SCENARIO already plans inside the family (a ring of all its
 * hosts when it plans none), with the guests SCENARIO runs there. */
static bool
check_family(GString *out, const MmScenario *sc, const MmMatrix *plan, GPtrArray *members, const char *cpu_name,
             const char *matrix_name, GError **error)
{
    g_autoptr(Baseline) b = baseline_compute(members, error);
    g_autoptr(GPtrArray) pairs = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) guests = g_ptr_array_new();
    g_autoptr(GPtrArray) require = NULL;
    g_autoptr(GHashTable) in = g_hash_table_new(g_str_hash, g_str_equal);
    const char *arch = ((Member *)members->pdata[0])->arch;

    if (!b)
        return false;
    for (guint i = 0; i < members->len; i++)
        g_hash_table_add(in, ((Member *)members->pdata[i])->name);
    for (guint i = 0; i < plan->cases->len; i++) {
        const MmCase *c = plan->cases->pdata[i];
        g_autofree char *pair = NULL;

        if (!g_hash_table_contains(in, c->src->name) || !g_hash_table_contains(in, c->dst->name) || c->na_reason ||
            strcmp(c->guest->arch, arch) != 0)
            continue;
        pair = g_strdup_printf("%s>%s", c->src->name, c->dst->name);
        if (!g_ptr_array_find_with_equal_func(pairs, pair, g_str_equal, NULL))
            g_ptr_array_add(pairs, g_steal_pointer(&pair));
        if (!g_ptr_array_find(guests, c->guest->name, NULL))
            g_ptr_array_add(guests, c->guest->name);
    }
    if (!pairs->len)
        for (guint i = 0; i < members->len; i++)
            g_ptr_array_add(pairs, g_strdup_printf("%s>%s", ((Member *)members->pdata[i])->name,
                                                   ((Member *)members->pdata[(i + 1) % members->len])->name));
    /* No pair of the family planned: the scenario's guests of its arch. */
    if (!guests->len)
        for (guint i = 0; i < plan->cases->len; i++) {
            const MmGuest *g = ((MmCase *)plan->cases->pdata[i])->guest;

            if (strcmp(g->arch, arch) == 0 && !g_ptr_array_find(guests, g->name, NULL))
                g_ptr_array_add(guests, g->name);
        }
    if (!guests->len) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "%s plans no %s guest to run custom:%s on", sc->path, arch,
                    cpu_name);
        return false;
    }
    /* The baseline's features beyond its model, as libvirt wrote them, sorted. */
    require = mm_cpu_features_missing(b->base, NULL);

    g_string_append_printf(out, "\n# libvirt's baseline of the host-model CPUs of %u hosts (%s %s):\n", members->len,
                           arch, b->base->vendor ? b->base->vendor : "?");
    for (guint i = 0; i < members->len; i++) {
        Member *m = members->pdata[i];
        g_autofree char *list = mm_guestcpu_join(m->gives_up, ", ");

        g_string_append_printf(out, "#   %s gives up %u feature%s%s%s\n", m->name, m->gives_up->len,
                               m->gives_up->len == 1 ? "" : "s", m->gives_up->len ? ": " : "", list);
    }
    g_string_append_printf(out, "[cpu:%s]\nmodel = %s\n", cpu_name, b->base->model);
    if (b->base->vendor)
        g_string_append_printf(out, "vendor = %s\n", b->base->vendor);
    append_list(out, "require", require);
    append_list(out, "disable", b->disabled);
    g_string_append_printf(out, "\n[matrix:%s]\n", matrix_name);
    append_list(out, "pairs", pairs);
    append_list(out, "guests", guests);
    g_string_append_printf(out, "modes = custom:%s\n", cpu_name);
    return true;
}

/* `baseline --check SCENARIO`: SCENARIO's plan plus custom:BASELINE, libvirt's baseline of each
 * family of its hosts, as a scenario that includes it; the nightly runs that and so verifies
 * the suggestion for real. */
static int
baseline_check(const char *scenario, const char *db, const char *out_path)
{
    g_autoptr(MmScenario) sc = NULL;
    g_autoptr(MmMatrix) plan = NULL;
    g_autoptr(MmStore) store = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GHashTable) used = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) families = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    g_autoptr(GHashTable) family_of = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GString) notes = g_string_new(NULL);
    g_autofree char *abs = NULL, *now = mm_store_now();
    const char *dbpath;
    g_autoptr(GPtrArray) matrices = g_ptr_array_new_with_free_func(g_free);
    guint added = 0, checked = 0, pooled = 0, na = 0;

    if (!mm_cli_load_matrix(scenario, NULL, &sc, &plan))
        return MM_EXIT_USAGE;
    if (out_path) {
        g_autofree char *a = g_canonicalize_filename(out_path, NULL);
        g_autofree char *b = g_canonicalize_filename(scenario, NULL);

        if (strcmp(a, b) == 0) {
            fprintf(stderr, "migmatrix baseline: --out %s is the scenario itself; write the check to another file, "
                            "which includes it\n", out_path);
            return MM_EXIT_USAGE;
        }
    }
    dbpath = mm_cli_db_path(db, sc);
    if (!g_file_test(dbpath, G_FILE_TEST_IS_REGULAR)) {
        fprintf(stderr, "migmatrix baseline: %s: no such results DB; record the hosts' dossiers with `migmatrix probe "
                        "%s` first, or give --db\n", dbpath, scenario);
        return MM_EXIT_USAGE;
    }
    if (!(store = mm_store_open(dbpath, &err))) {
        fprintf(stderr, "migmatrix baseline: %s\n", err->message);
        return MM_EXIT_INFRA;
    }
    for (guint i = 0; i < plan->cases->len; i++) {
        const MmCase *c = plan->cases->pdata[i];

        g_hash_table_add(used, c->src->name);
        g_hash_table_add(used, c->dst->name);
    }
    /* The hosts the plan uses, in definition order, in families of one arch and vendor. */
    for (guint i = 0; i < sc->hosts->len; i++) {
        const MmHost *h = sc->hosts->pdata[i];
        g_autofree char *key = NULL;
        GPtrArray *family;
        Member *m;

        if (!g_hash_table_contains(used, h->name))
            continue;
        if (strcmp(h->arch, "x86_64") != 0) {
            g_string_append_printf(notes, "  %s: %s: libvirt's baseline and host-model CPU are x86 only here; left out\n",
                                   h->name, h->arch);
            continue;
        }
        if (!(m = member_load(store, h->name, h->virt_type, false, &err))) {
            fprintf(stderr, "migmatrix baseline: %s\n", err->message);
            return mm_exit_for_error(err);
        }
        key = g_strdup_printf("%s %s", m->arch ? m->arch : "?", m->vendor ? m->vendor : "?");
        if (!(family = g_hash_table_lookup(family_of, key))) {
            family = g_ptr_array_new_with_free_func((GDestroyNotify)member_free);
            g_ptr_array_add(families, family);
            g_hash_table_insert(family_of, g_steal_pointer(&key), family);
        }
        g_ptr_array_add(family, m);
    }

    abs = g_canonicalize_filename(scenario, NULL);
    g_string_append_printf(out, "# Written by `migmatrix baseline --check %s` at %s, from the dossiers in %s.\n"
                                "# %s's plan, plus each host family's baseline CPU as a custom mode between its "
                                "hosts.\n# Run it as it is: migmatrix run THIS-FILE\n[run]\ninclude = %s\n",
                           scenario, now, dbpath, scenario, abs);
    /* custom:BASELINE when one family has a baseline; BASELINE-VENDOR each when several do. */
    for (guint i = 0; i < families->len; i++)
        pooled += ((GPtrArray *)families->pdata[i])->len >= 2;
    for (guint i = 0; i < families->len; i++) {
        GPtrArray *family = families->pdata[i];
        Member *first = family->pdata[0];
        g_autofree char *base = pooled == 1 ? g_strdup("BASELINE")
                                                   : g_strdup_printf("BASELINE-%s", first->vendor ? first->vendor : "x");
        g_autofree char *cpu_name = free_name(base, cpu_taken, sc);
        g_autofree char *mbase = g_ascii_strdown(cpu_name, -1);
        g_autofree char *matrix_name = free_name(mbase, matrix_taken, sc);

        if (family->len < 2) {
            g_string_append_printf(notes, "  %s: the only %s %s host; a baseline needs two\n", first->name,
                                   first->arch, first->vendor ? first->vendor : "?");
            continue;
        }
        if (!check_family(out, sc, plan, family, cpu_name, matrix_name, &err)) {
            fprintf(stderr, "migmatrix baseline: %s\n", err->message);
            return mm_exit_for_error(err);
        }
        g_ptr_array_add(matrices, g_steal_pointer(&matrix_name));
        checked++;
    }
    if (!checked) {
        fprintf(stderr, "migmatrix baseline: %s: no two hosts of one arch and vendor, so no baseline to check\n%s",
                scenario, notes->str);
        return MM_EXIT_USAGE;
    }
    /* What was written must load as a scenario, and its own plan says what it adds. */
    {
        g_autofree char *tmp = NULL;
        g_autoptr(MmScenario) sc2 = NULL;
        g_autoptr(MmMatrix) plan2 = NULL;
        int fd = g_file_open_tmp("mm-baseline-check-XXXXXX.ini", &tmp, &err);
        bool loaded;

        if (fd < 0 || !g_file_set_contents(tmp, out->str, -1, &err)) {
            if (fd >= 0)
                close(fd);
            fprintf(stderr, "migmatrix baseline: %s\n", err->message);
            return MM_EXIT_INFRA;
        }
        close(fd);
        loaded = mm_cli_load_matrix(tmp, NULL, &sc2, &plan2);
        g_unlink(tmp);
        if (!loaded) {
            fprintf(stderr, "migmatrix baseline: the scenario written for %s does not load (above); this is a "
                            "migmatrix bug: please report it with the scenario\n", scenario);
            return MM_EXIT_INFRA;
        }
        for (guint i = 0; i < plan2->cases->len; i++) {
            const MmCase *c = plan2->cases->pdata[i];

            if (g_ptr_array_find_with_equal_func(matrices, c->matrix, g_str_equal, NULL))
                c->na_reason ? na++ : added++;
        }
    }
    if (!out_path) {
        fputs(out->str, stdout);
    } else if (!g_file_set_contents(out_path, out->str, -1, &err)) {
        fprintf(stderr, "migmatrix baseline: %s\n", err->message);
        return MM_EXIT_INFRA;
    }
    {
        g_autofree char *na_text = na ? g_strdup_printf("; %u more n/a", na) : g_strdup("");

        fprintf(stderr, "baseline --check: %u custom-mode case%s added to %s's plan (%u famil%s%s)%s%s\n%s", added,
                added == 1 ? "" : "s", scenario, checked, checked == 1 ? "y" : "ies", na_text,
                out_path ? "; run: migmatrix run " : "", out_path ? out_path : "", notes->str);
    }
    return MM_EXIT_OK;
}

int
mm_cmd_baseline(int argc, char **argv)
{
    g_autofree char *format = NULL, *db = NULL, *glob = NULL, *vt = NULL, *cpu = NULL, *check = NULL, *out_path = NULL;
    GOptionEntry entries[] = {
        { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Results DB with the dossiers (default: results/migmatrix.db)",
          "PATH" },
        { "hosts", 0, 0, G_OPTION_ARG_STRING, &glob, "Every host with a dossier whose name matches GLOB", "GLOB" },
        { "format", 0, 0, G_OPTION_ARG_STRING, &format, "Output: xml (default), text or json", "FORMAT" },
        { "virt-type", 0, 0, G_OPTION_ARG_STRING, &vt, "Whose host-model CPU to use: kvm (default) or qemu", "TYPE" },
        { "cpu", 0, 0, G_OPTION_ARG_STRING, &cpu,
          "Which CPU of each host: host-model (default: what it can give a guest) or host (its CPU as capabilities "
          "show it, as `virsh cpu-baseline` takes)", "WHICH" },
        { "check", 0, 0, G_OPTION_ARG_FILENAME, &check,
          "Write SCENARIO's plan plus custom:BASELINE (each host family's baseline) as a scenario to run", "SCENARIO" },
        { "out", 0, 0, G_OPTION_ARG_FILENAME, &out_path, "With --check: write the scenario to FILE (default: stdout)",
          "FILE" },
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

    if (!mm_cli_parse("baseline", "HOST… | --hosts GLOB | --check SCENARIO",
                      "Print the custom CPU every named host can run (libvirt's baseline of their host-model CPUs), "
                      "and what each host gives up.",
                      entries, &argc, &argv))
        return MM_EXIT_USAGE;
    if (check) {
        if (argc > 1 || glob || format || vt || cpu) {
            mm_cli_usage_error("baseline", "--check SCENARIO takes its hosts and virt types from the scenario: "
                                           "drop HOST…, --hosts, --format, --virt-type and --cpu");
            return MM_EXIT_USAGE;
        }
        return baseline_check(check, db, out_path);
    }
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
    if (out_path) {
        mm_cli_usage_error("baseline", "--out goes with --check SCENARIO");
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
