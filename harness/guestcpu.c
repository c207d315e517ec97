/* guestcpu.c: a guest's CPUID capture → libvirt feature names, and the diff of two captures.
 *
 * The bit → name table is libvirt's cpu_map/x86_features.xml, read as data: a feature is
 * <cpuid eax_in=… [ecx_in=…] eax|ebx|ecx|edx=MASK/>, present when every bit of each mask is
 * set in that leaf's register. Features defined through MSRs (<msr>) cannot be seen by CPUID
 * and are left out. */
#include "migmatrix/guestcpu.h"

#include <stdlib.h>
#include <string.h>

#include "migmatrix/util.h"
#include "migmatrix/xml.h"

#ifndef MM_CPU_MAP_DIR
#define MM_CPU_MAP_DIR "/usr/share/libvirt/cpu_map"
#endif

typedef struct {
    char *name;
    guint32 leaf, subleaf;
    guint32 mask[4];         /* eax, ebx, ecx, edx */
} Feature;

struct _MmCpuFeatureMap {
    GArray *features;        /* of Feature */
    GHashTable *by_name;     /* name → Feature* */
};

struct _MmGuestCpu {
    GPtrArray *features;     /* sorted names */
    GHashTable *leaves;      /* guint64 leaf key → regs[4], as captured */
    gint64 max[3];           /* maximum leaf of the basic, hypervisor and extended ranges; -1 unknown */
};

static const char *const reg_names[4] = { "eax", "ebx", "ecx", "edx" };

void
mm_cpu_feature_map_free(MmCpuFeatureMap *map)
{
    if (!map)
        return;
    for (guint i = 0; map->features && i < map->features->len; i++)
        g_free(g_array_index(map->features, Feature, i).name);
    if (map->features)
        g_array_unref(map->features);
    if (map->by_name)
        g_hash_table_unref(map->by_name);
    g_free(map);
}

static bool
parse_u32(const char *s, guint32 *out)
{
    guint64 v;

    if (!s || !g_str_has_prefix(s, "0x") || !g_ascii_string_to_unsigned(s + 2, 16, 0, G_MAXUINT32, &v, NULL))
        return false;
    *out = (guint32)v;
    return true;
}

MmCpuFeatureMap *
mm_cpu_feature_map_load(const char *path, GError **error)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctx = NULL;
    g_autoptr(GPtrArray) nodes = NULL;
    g_autoptr(MmCpuFeatureMap) map = g_new0(MmCpuFeatureMap, 1);

    if (!g_file_get_contents(path, &text, &len, error))
        return NULL;
    if (!(doc = mm_xml_parse(text, len, path, error)))
        return NULL;
    ctx = xmlXPathNewContext(doc);
    nodes = mm_xml_nodes(ctx, NULL, "/cpus/feature[cpuid]");
    map->features = g_array_new(FALSE, TRUE, sizeof(Feature));
    for (guint i = 0; i < nodes->len; i++) {
        xmlNode *n = nodes->pdata[i];
        g_autofree char *name = mm_xml_string(ctx, n, "@name");
        g_autofree char *leaf = mm_xml_string(ctx, n, "cpuid/@eax_in");
        g_autofree char *sub = mm_xml_string(ctx, n, "cpuid/@ecx_in");
        Feature f = { 0 };
        bool any = false;

        if (!name || !parse_u32(leaf, &f.leaf) || (sub && !parse_u32(sub, &f.subleaf))) {
            g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: feature %s: no readable cpuid eax_in/ecx_in", path,
                        name ? name : "(unnamed)");
            return NULL;
        }
        for (int r = 0; r < 4; r++) {
            g_autofree char *xp = g_strdup_printf("cpuid/@%s", reg_names[r]);
            g_autofree char *mask = mm_xml_string(ctx, n, xp);

            if (mask && !parse_u32(mask, &f.mask[r])) {
                g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: feature %s: bad %s mask '%s'", path, name,
                            reg_names[r], mask);
                return NULL;
            }
            any |= f.mask[r] != 0;
        }
        if (!any)
            continue;
        f.name = g_steal_pointer(&name);
        g_array_append_val(map->features, f);
    }
    if (map->features->len == 0) {
        g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: no CPUID feature definitions", path);
        return NULL;
    }
    map->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < map->features->len; i++) {
        Feature *f = &g_array_index(map->features, Feature, i);
        g_hash_table_insert(map->by_name, f->name, f);
    }
    return g_steal_pointer(&map);
}

char *
mm_cpu_map_path(const char *file)
{
    const char *dir = g_getenv("MM_CPU_MAP_DIR");

    return g_build_filename(dir && *dir ? dir : MM_CPU_MAP_DIR, file, NULL);
}

const MmCpuFeatureMap *
mm_cpu_feature_map_default(GError **error)
{
    static MmCpuFeatureMap *map;
    static char *why;
    static gsize done;

    if (g_once_init_enter(&done)) {
        g_autofree char *path = mm_cpu_map_path("x86_features.xml");
        g_autoptr(GError) err = NULL;

        if (!(map = mm_cpu_feature_map_load(path, &err)))
            why = g_strdup_printf("libvirt's CPU map: %s (is libvirt0 installed?)", err->message);
        g_once_init_leave(&done, 1);
    }
    if (!map)
        g_set_error_literal(error, MM_ERROR, MM_ERROR_INFRA, why);
    return map;
}

guint
mm_cpu_feature_map_size(const MmCpuFeatureMap *map)
{
    return map->features->len;
}

static guint64
leaf_key(guint32 leaf, guint32 subleaf)
{
    return ((guint64)leaf << 32) | subleaf;
}

static gint
cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void
mm_guestcpu_free(MmGuestCpu *cpu)
{
    if (!cpu)
        return;
    g_ptr_array_unref(cpu->features);
    g_hash_table_unref(cpu->leaves);
    g_free(cpu);
}

GPtrArray *
mm_guestcpu_features(const MmGuestCpu *cpu)
{
    return cpu->features;
}

/* The range a leaf belongs to: 0 basic, 1 hypervisor (0x4000xxxx), 2 extended (0x8000xxxx). */
static int
leaf_range(guint32 leaf)
{
    return leaf >= 0x80000000u ? 2 : leaf >= 0x40000000u ? 1 : 0;
}

/* Whether CPU can say if a feature of LEAF/SUBLEAF is there. */
static bool
leaf_known(const MmGuestCpu *cpu, guint32 leaf, guint32 subleaf)
{
    guint64 k = leaf_key(leaf, subleaf);
    gint64 max = cpu->max[leaf_range(leaf)];

    return g_hash_table_contains(cpu->leaves, &k) || (max >= 0 && (gint64)leaf > max);
}

MmGuestCpu *
mm_guestcpu_decode(const MmCpuFeatureMap *map, const char *text, GError **error)
{
    static GRegex *re;
    static gsize done;
    g_autoptr(GHashTable) leaves = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    g_autoptr(GMatchInfo) mi = NULL;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    MmGuestCpu *cpu;
    static const guint32 range_base[3] = { 0, 0x40000000u, 0x80000000u };

    if (g_once_init_enter(&done)) {
        re = g_regex_new("(0x[0-9a-fA-F]{1,8})\\s+(0x[0-9a-fA-F]{1,8}):\\s*eax=(0x[0-9a-fA-F]{1,8})\\s+"
                         "ebx=(0x[0-9a-fA-F]{1,8})\\s+ecx=(0x[0-9a-fA-F]{1,8})\\s+edx=(0x[0-9a-fA-F]{1,8})",
                         G_REGEX_OPTIMIZE, 0, NULL);
        g_once_init_leave(&done, 1);
    }
    for (g_regex_match(re, text ? text : "", 0, &mi); g_match_info_matches(mi); g_match_info_next(mi, NULL)) {
        guint32 v[6];
        guint64 *key = g_new(guint64, 1);
        guint32 *regs = g_new(guint32, 4);

        for (int i = 0; i < 6; i++) {
            g_autofree char *s = g_match_info_fetch(mi, i + 1);
            g_autofree char *lower = g_ascii_strdown(s, -1);
            parse_u32(lower, &v[i]);
        }
        *key = leaf_key(v[0], v[1]);
        memcpy(regs, v + 2, sizeof(guint32) * 4);
        /* Repeated records (several CPUs, `cpuid` without -1): the first CPU's count. */
        if (g_hash_table_contains(leaves, key)) {
            g_free(key);
            g_free(regs);
            continue;
        }
        g_hash_table_insert(leaves, key, regs);
    }
    if (g_hash_table_size(leaves) == 0) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT,
                    "no CPUID records in the probe's output (expected `cpuid -1 -r` lines such as "
                    "'0x00000001 0x00: eax=0x… ebx=0x… ecx=0x… edx=0x…')");
        return NULL;
    }
    for (guint32 leaf = 0; leaf <= 1; leaf++) {
        guint64 k = leaf_key(leaf, 0);
        if (!g_hash_table_contains(leaves, &k)) {
            g_set_error(error, MM_ERROR, MM_ERROR_INPUT,
                        "the CPUID capture has no leaf 0x%x: truncated output is not a measurement", leaf);
            return NULL;
        }
    }
    for (guint i = 0; i < map->features->len; i++) {
        const Feature *f = &g_array_index(map->features, Feature, i);
        guint64 k = leaf_key(f->leaf, f->subleaf);
        const guint32 *regs = g_hash_table_lookup(leaves, &k);
        bool has = regs != NULL;

        for (int r = 0; has && r < 4; r++)
            has = (regs[r] & f->mask[r]) == f->mask[r];
        if (has)
            g_ptr_array_add(out, g_strdup(f->name));
    }
    g_ptr_array_sort(out, cmp_str);
    cpu = g_new0(MmGuestCpu, 1);
    cpu->features = g_steal_pointer(&out);
    /* Each range's first leaf says how far the range goes (eax). */
    for (int r = 0; r < 3; r++) {
        guint64 k = leaf_key(range_base[r], 0);
        const guint32 *regs = g_hash_table_lookup(leaves, &k);

        cpu->max[r] = regs ? (gint64)regs[0] : -1;
    }
    cpu->leaves = g_steal_pointer(&leaves);
    return cpu;
}

void
mm_guestcpu_diff(const MmCpuFeatureMap *map, const MmGuestCpu *before, const MmGuestCpu *after, GPtrArray **lost,
                 GPtrArray **gained)
{
    GPtrArray *b = before->features, *a = after->features;
    guint i = 0, j = 0;

    *lost = g_ptr_array_new();
    *gained = g_ptr_array_new();
    /* Both sorted: one merge pass, over features both captures can speak for. */
    while (i < b->len || j < a->len) {
        int c = i >= b->len ? 1 : j >= a->len ? -1 : strcmp(b->pdata[i], a->pdata[j]);
        const char *name = c < 0 ? b->pdata[i] : a->pdata[j];
        const Feature *f = g_hash_table_lookup(map->by_name, name);
        bool comparable = f && leaf_known(before, f->leaf, f->subleaf) && leaf_known(after, f->leaf, f->subleaf);

        if (c < 0) {
            if (comparable)
                g_ptr_array_add(*lost, b->pdata[i]);
            i++;
        } else if (c > 0) {
            if (comparable)
                g_ptr_array_add(*gained, a->pdata[j]);
            j++;
        } else {
            i++, j++;
        }
    }
}

char *
mm_guestcpu_join(GPtrArray *features, const char *sep)
{
    GString *out = g_string_new(NULL);

    for (guint i = 0; features && i < features->len; i++)
        g_string_append_printf(out, "%s%s", i ? sep : "", (const char *)features->pdata[i]);
    return g_string_free(out, FALSE);
}
