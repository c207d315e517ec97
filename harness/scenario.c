/* scenario.c: load, merge (include) and validate a scenario file.
 *
 * The language is GKeyFile INI. What each key is (type, range, choices, default) lives in
 * the key_specs table below; docs/scenario-format.md documents the same keys for people and
 * tests/test-scenario.c checks that the two agree. Cross-key rules follow in check_*(). */
#include "migmatrix/scenario.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "migmatrix/util.h"
#include "migmatrix/xml.h"

#define DEFAULT_DB "results/migmatrix.db"
#define DEFAULT_PROBE_PATTERN "HEARTBEAT ([0-9]+)"

/* ---- the key table ------------------------------------------------------------------ */

typedef enum {
    GROUP_RUN,
    GROUP_HOST,
    GROUP_GUEST,
    GROUP_MATRIX,
    GROUP_EXPECT,
    GROUP_CPU,
} GroupKind;

typedef enum {
    KT_STR,
    KT_PATH,    /* a string, resolved relative to the defining file's directory */
    KT_BOOL,
    KT_TRIBOOL, /* a bool that may be unset (int: -1 unset) */
    KT_UINT,
    KT_LIST,
    KT_ENUM,
    KT_TRIUINT, /* a whole number that may be unset (int: -1 unset) */
} KeyType;

typedef struct {
    GroupKind group;
    const char *key;
    KeyType type;
    gsize offset;
    guint min, max;
    const char *const *choices;
} KeySpec;

static const char *const arch_choices[] = { "x86_64", "aarch64", NULL };
static const char *const virt_choices[] = { "kvm", "qemu", NULL };
static const char *const os_choices[] = {
    "windows", "rhel", "centos", "ubuntu", "openeuler", "linux", "none", NULL,
};
static const char *const probe_choices[] = { "agent", "console", "ssh", "none", NULL };
static const char *const flag_choices[] = {
    "live", "p2p", "persistent", "undefinesource", "auto-converge", "postcopy", "compressed",
    "copy-storage-all", "unsafe", NULL,
};
static const char *const nic_choices[] = { "virtio", "e1000e", "e1000", "rtl8139", NULL };
static const char *const cpu_features_choices[] = { "mode", "template", NULL };

#define RUN(k, t, f, ...) { GROUP_RUN, k, t, offsetof(MmScenario, f), __VA_ARGS__ }
#define HOST(k, t, f, ...) { GROUP_HOST, k, t, offsetof(MmHost, f), __VA_ARGS__ }
#define GUEST(k, t, f, ...) { GROUP_GUEST, k, t, offsetof(MmGuest, f), __VA_ARGS__ }
#define MATRIX(k, t, f, ...) { GROUP_MATRIX, k, t, offsetof(MmMatrixSpec, f), __VA_ARGS__ }
#define CPU(k, t, f, ...) { GROUP_CPU, k, t, offsetof(MmNamedCpu, f), __VA_ARGS__ }

static const KeySpec key_specs[] = {
    RUN("name", KT_STR, name, 0, 0, NULL),
    RUN("description", KT_STR, description, 0, 0, NULL),
    RUN("db", KT_STR, db, 0, 0, NULL),
    RUN("include", KT_LIST, include, 0, 0, NULL),
    RUN("enable_compare_cpu", KT_BOOL, enable_compare_cpu, 0, 0, NULL),
    RUN("migrate_flags", KT_LIST, migrate_flags_text, 0, 0, flag_choices),
    RUN("bandwidth_mib", KT_UINT, bandwidth_mib, 0, 1000000, NULL),
    RUN("boot_timeout", KT_UINT, boot_timeout, 1, 86400, NULL),
    RUN("migrate_timeout", KT_UINT, migrate_timeout, 1, 86400, NULL),
    RUN("alive_timeout", KT_UINT, alive_timeout, 1, 86400, NULL),
    RUN("ping_pong", KT_BOOL, ping_pong, 0, 0, NULL),
    RUN("hard_reboot", KT_BOOL, hard_reboot, 0, 0, NULL),
    RUN("jobs", KT_UINT, jobs, 1, 256, NULL),

    HOST("uri", KT_STR, uri, 0, 0, NULL),
    HOST("ssh", KT_STR, ssh, 0, 0, NULL),
    HOST("ssh_key", KT_PATH, ssh_key, 0, 0, NULL),
    HOST("known_hosts", KT_PATH, known_hosts, 0, 0, NULL),
    HOST("arch", KT_ENUM, arch, 0, 0, arch_choices),
    HOST("cpu", KT_STR, cpu, 0, 0, NULL),
    HOST("virt_type", KT_ENUM, virt_type, 0, 0, virt_choices),
    HOST("default_cpu_mode", KT_STR, default_cpu_mode_text, 0, 0, NULL),
    HOST("numa_cpu_mode", KT_STR, numa_cpu_mode_text, 0, 0, NULL),
    HOST("max_cases", KT_UINT, max_cases, 1, 64, NULL),

    GUEST("os", KT_ENUM, os, 0, 0, os_choices),
    GUEST("arch", KT_ENUM, arch, 0, 0, arch_choices),
    GUEST("memory_mib", KT_UINT, memory_mib, 16, 4194304, NULL),
    GUEST("vcpus", KT_UINT, vcpus, 1, 1024, NULL),
    GUEST("disk", KT_STR, disk, 0, 0, NULL),
    GUEST("kernel", KT_STR, kernel, 0, 0, NULL),
    GUEST("initrd", KT_STR, initrd, 0, 0, NULL),
    GUEST("cmdline", KT_STR, cmdline, 0, 0, NULL),
    GUEST("machine", KT_STR, machine, 0, 0, NULL),
    GUEST("probe", KT_ENUM, probe_text, 0, 0, probe_choices),
    GUEST("probe_pattern", KT_STR, probe_pattern, 0, 0, NULL),
    GUEST("probe_ssh", KT_STR, probe_ssh, 0, 0, NULL),
    GUEST("probe_command", KT_STR, probe_command, 0, 0, NULL),
    GUEST("cpu_probe", KT_STR, cpu_probe_text, 0, 0, NULL),
    GUEST("boot_timeout", KT_UINT, boot_timeout, 1, 86400, NULL),
    GUEST("ssh_key", KT_PATH, ssh_key, 0, 0, NULL),
    GUEST("known_hosts", KT_PATH, known_hosts, 0, 0, NULL),
    GUEST("domain_xml", KT_PATH, domain_xml, 0, 0, NULL),
    GUEST("cpu_features", KT_ENUM, cpu_features, 0, 0, cpu_features_choices),
    GUEST("network", KT_STR, network, 0, 0, NULL),
    GUEST("bridge", KT_STR, bridge, 0, 0, NULL),
    GUEST("nic_model", KT_ENUM, nic_model, 0, 0, nic_choices),
    GUEST("topology", KT_STR, topology, 0, 0, NULL),
    GUEST("numa", KT_UINT, numa, 1, 64, NULL),
    GUEST("max_vcpus", KT_UINT, max_vcpus, 1, 1024, NULL),
    GUEST("hotplug_vcpus", KT_UINT, hotplug_vcpus, 2, 1024, NULL),

    MATRIX("pairs", KT_LIST, pairs, 0, 0, NULL),
    MATRIX("guests", KT_LIST, guests, 0, 0, NULL),
    MATRIX("modes", KT_LIST, modes_text, 0, 0, NULL),
    MATRIX("exclude", KT_LIST, exclude, 0, 0, NULL),
    MATRIX("only", KT_LIST, only, 0, 0, NULL),
    MATRIX("repeat", KT_UINT, repeat, 1, 1000, NULL),
    MATRIX("enable_compare_cpu", KT_TRIBOOL, enable_compare_cpu, 0, 0, NULL),
    MATRIX("ping_pong", KT_TRIBOOL, ping_pong, 0, 0, NULL),
    MATRIX("hard_reboot", KT_TRIBOOL, hard_reboot, 0, 0, NULL),
    MATRIX("hotplug_vcpus", KT_TRIUINT, hotplug_vcpus, 0, 1024, NULL),

    CPU("model", KT_STR, model, 0, 0, NULL),
    CPU("vendor", KT_STR, vendor, 0, 0, NULL),
    CPU("require", KT_LIST, require, 0, 0, NULL),
    CPU("disable", KT_LIST, disable, 0, 0, NULL),
};

static const char *const group_kind_names[] = {
    [GROUP_RUN] = "run", [GROUP_HOST] = "host", [GROUP_GUEST] = "guest",
    [GROUP_MATRIX] = "matrix", [GROUP_EXPECT] = "expect", [GROUP_CPU] = "cpu",
};

const char *const *
mm_scenario_known_keys(void)
{
    static const char *keys[G_N_ELEMENTS(key_specs) + 1];
    static gsize done;

    if (g_once_init_enter(&done)) {
        for (gsize i = 0; i < G_N_ELEMENTS(key_specs); i++) {
            g_autofree char *k = g_strdup_printf("%s.%s", group_kind_names[key_specs[i].group], key_specs[i].key);
            keys[i] = g_intern_string(k);
        }
        g_once_init_leave(&done, 1);
    }
    return keys;
}

const char *
mm_probe_kind_name(MmProbeKind kind)
{
    static const char *const names[] = { "none", "console", "agent", "ssh" };
    return names[kind];
}

/* ---- object lifetimes ---------------------------------------------------------------- */

static void
host_free(MmHost *h)
{
    g_free(h->name);
    g_free(h->file);
    g_free(h->uri);
    g_free(h->ssh);
    g_free(h->ssh_user);
    g_free(h->ssh_address);
    g_free(h->ssh_key);
    g_free(h->known_hosts);
    g_free(h->arch);
    g_free(h->cpu);
    g_free(h->virt_type);
    g_free(h->default_cpu_mode_text);
    mm_cpu_mode_clear(&h->default_cpu_mode);
    g_free(h->numa_cpu_mode_text);
    mm_cpu_mode_clear(&h->numa_cpu_mode);
    g_free(h);
}

static void
guest_free(MmGuest *g)
{
    g_free(g->name);
    g_free(g->file);
    g_free(g->os);
    g_free(g->arch);
    g_free(g->disk);
    g_free(g->kernel);
    g_free(g->initrd);
    g_free(g->cmdline);
    g_free(g->machine);
    g_free(g->probe_text);
    g_free(g->probe_pattern);
    g_free(g->probe_ssh);
    g_free(g->probe_command);
    g_free(g->cpu_probe_text);
    g_free(g->cpu_probe_arg);
    mm_ssh_address_clear(&g->probe_ssh_address);
    g_free(g->ssh_key);
    g_free(g->known_hosts);
    g_free(g->domain_xml);
    g_free(g->domain_xml_text);
    g_free(g->cpu_features);
    g_free(g->network);
    g_free(g->bridge);
    g_free(g->nic_model);
    g_free(g->topology);
    g_free(g);
}

static void
matrix_spec_free(MmMatrixSpec *m)
{
    g_free(m->name);
    g_free(m->file);
    g_strfreev(m->pairs);
    g_strfreev(m->guests);
    g_strfreev(m->modes_text);
    if (m->modes) {
        for (guint i = 0; i < m->modes->len; i++)
            mm_cpu_mode_clear(&g_array_index(m->modes, MmCpuMode, i));
        g_array_unref(m->modes);
    }
    g_strfreev(m->exclude);
    g_strfreev(m->only);
    g_free(m);
}

static void
expect_rule_free(MmExpectRule *r)
{
    g_free(r->glob);
    if (r->pattern)
        g_pattern_spec_free(r->pattern);
    g_free(r->reason);
    g_free(r->file);
    g_free(r);
}

void
mm_scenario_free(MmScenario *sc)
{
    if (!sc)
        return;
    g_free(sc->path);
    g_free(sc->sha256);
    g_free(sc->name);
    g_free(sc->description);
    g_free(sc->db);
    g_strfreev(sc->include);
    g_strfreev(sc->migrate_flags_text);
    g_clear_pointer(&sc->host_by_name, g_hash_table_unref);
    g_clear_pointer(&sc->key_lines, g_hash_table_unref);
    g_clear_pointer(&sc->guest_by_name, g_hash_table_unref);
    g_clear_pointer(&sc->hosts, g_ptr_array_unref);
    g_clear_pointer(&sc->guests, g_ptr_array_unref);
    g_clear_pointer(&sc->matrices, g_ptr_array_unref);
    g_clear_pointer(&sc->expect, g_ptr_array_unref);
    /* Last: modes borrow from them. */
    g_clear_pointer(&sc->cpu_by_name, g_hash_table_unref);
    g_clear_pointer(&sc->cpus, g_ptr_array_unref);
    g_free(sc);
}

MmHost *
mm_scenario_find_host(const MmScenario *sc, const char *name)
{
    return g_hash_table_lookup(sc->host_by_name, name);
}

/* ---- one file: text, GKeyFile and a line index ----------------------------------------- */

typedef struct {
    char *path;          /* as the user or the include key wrote it, joined to its parent's dir */
    char *dir;
    GKeyFile *kf;
    GHashTable *lines;   /* "group" or "group\x1fkey" → line number */
} SourceFile;

static void
source_file_free(SourceFile *f)
{
    g_free(f->path);
    g_free(f->dir);
    if (f->kf)
        g_key_file_free(f->kf);
    if (f->lines)
        g_hash_table_unref(f->lines);
    g_free(f);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SourceFile, source_file_free)

static int
line_of(const SourceFile *f, const char *group, const char *key)
{
    g_autofree char *k = key ? g_strdup_printf("%s\x1f%s", group, key) : g_strdup(group);

    return GPOINTER_TO_INT(g_hash_table_lookup(f->lines, k));
}

/* GKeyFile silently merges a repeated group and keeps the last of a repeated key: both are
 * almost always copy-paste mistakes in a matrix file, so a light line scan finds them and
 * remembers where every group and key stands, for the error messages. */
static void
index_lines(SourceFile *f, const char *text, GPtrArray *problems)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autofree char *group = NULL;

    f->lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (int i = 0; lines[i]; i++) {
        g_autofree char *line = g_strstrip(g_strdup(lines[i]));
        char *eq;

        if (!*line || *line == '#')
            continue;
        if (*line == '[' && line[strlen(line) - 1] == ']') {
            g_free(group);
            group = g_strndup(line + 1, strlen(line) - 2);
            if (g_hash_table_contains(f->lines, group))
                mm_problems_add(problems, MM_PROBLEM_ERROR, f->path, i + 1, group, NULL,
                                "group repeated (first at line %d); merge the two into one group",
                                line_of(f, group, NULL));
            else
                g_hash_table_insert(f->lines, g_strdup(group), GINT_TO_POINTER(i + 1));
            continue;
        }
        if (!group || !(eq = strchr(line, '=')))
            continue;
        *eq = '\0';
        g_strchomp(line);
        g_autofree char *k = g_strdup_printf("%s\x1f%s", group, line);
        if (g_hash_table_contains(f->lines, k))
            mm_problems_add(problems, MM_PROBLEM_ERROR, f->path, i + 1, group, line,
                            "key repeated in this group (first at line %d); keep one of them",
                            GPOINTER_TO_INT(g_hash_table_lookup(f->lines, k)));
        else
            g_hash_table_insert(f->lines, g_steal_pointer(&k), GINT_TO_POINTER(i + 1));
    }
}

/* GKeyFile's parse errors do not say where. Its parser is line by line, so the first failing
 * prefix of the file ends on the offending line: bisect for it with GKeyFile itself. */
static int
find_syntax_error_line(const char *text)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    int lo = 1, hi = (int)g_strv_length(lines);

    while (lo < hi) {
        int mid = (lo + hi) / 2;
        g_autofree char *saved = lines[mid];
        g_autoptr(GKeyFile) kf = g_key_file_new();
        bool ok;

        lines[mid] = NULL;
        g_autofree char *prefix = g_strjoinv("\n", lines);
        lines[mid] = g_steal_pointer(&saved);
        ok = g_key_file_load_from_data(kf, prefix, -1, G_KEY_FILE_NONE, NULL);
        if (ok)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static SourceFile *
source_file_load(const char *path, const char *included_from, int include_line, GPtrArray *problems)
{
    g_autoptr(SourceFile) f = g_new0(SourceFile, 1);
    g_autoptr(GError) err = NULL;
    g_autofree char *text = NULL;
    gsize len;

    f->path = g_strdup(path);
    f->dir = g_path_get_dirname(path);
    if (!g_file_get_contents(path, &text, &len, &err)) {
        if (included_from)
            mm_problems_add(problems, MM_PROBLEM_ERROR, included_from, include_line, "run", "include",
                            "cannot read '%s': %s; include paths are relative to the including file",
                            path, err->message);
        else
            mm_problems_add(problems, MM_PROBLEM_ERROR, path, 0, NULL, NULL, "cannot read the scenario: %s",
                            err->message);
        return NULL;
    }
    /* Names, globs and messages are UTF-8 everywhere downstream (GLib's glob matcher asserts
     * on anything else: found by fuzz-scenario): a file in another encoding stops here. */
    {
        const char *bad;

        if (!g_utf8_validate(text, len, &bad)) {
            int line = 1;
            for (const char *p = text; p < bad; p++)
                line += *p == '\n';
            if (*bad)
                mm_problems_add(problems, MM_PROBLEM_ERROR, path, line, NULL, NULL,
                                "not valid UTF-8 (byte 0x%02x); save the file as UTF-8", (guchar)*bad);
            else
                mm_problems_add(problems, MM_PROBLEM_ERROR, path, line, NULL, NULL,
                                "a NUL byte: a scenario is text; save it as UTF-8 text");
            return NULL;
        }
    }
    f->kf = g_key_file_new();
    g_key_file_set_list_separator(f->kf, ',');
    if (!g_key_file_load_from_data(f->kf, text, len, G_KEY_FILE_NONE, &err)) {
        mm_problems_add(problems, MM_PROBLEM_ERROR, path, find_syntax_error_line(text), NULL, NULL,
                        "syntax error: %s; every line must be a [group], a key = value, or a # comment",
                        err->message);
        return NULL;
    }
    index_lines(f, text, problems);
    return g_steal_pointer(&f);
}

/* ---- typed values ---------------------------------------------------------------------- */

typedef struct {
    MmScenario *sc;
    GPtrArray *problems;
    GPtrArray *stack;        /* canonical paths of the files being loaded: include cycles */
    GChecksum *checksum;
    GPtrArray *files;        /* SourceFile*, every file loaded, for line numbers */
    bool unreadable;         /* a file could not be read or parsed: skip cross-key checks */
    bool any_hard_reboot;    /* [run] or some [matrix…] sets hard_reboot */
} Loader;

/* Where GROUP/KEY stands in FILE, for checks made after loading. */
static int
line_in(Loader *ld, const char *file, const char *group, const char *key)
{
    for (guint i = 0; i < ld->files->len; i++) {
        SourceFile *f = ld->files->pdata[i];
        if (strcmp(f->path, file) == 0) {
            int line = key ? line_of(f, group, key) : 0;
            return line ? line : line_of(f, group, NULL);
        }
    }
    return 0;
}

#define PROBLEM(ld, f, grp, key, ...)                                                          \
    mm_problems_add((ld)->problems, MM_PROBLEM_ERROR, (f)->path, line_of((f), (grp), (key)), (grp), \
                    (key), __VA_ARGS__)

static char **
get_list(GKeyFile *kf, const char *group, const char *key)
{
    g_auto(GStrv) raw = g_key_file_get_string_list(kf, group, key, NULL, NULL);
    GPtrArray *out = g_ptr_array_new();

    for (int i = 0; raw && raw[i]; i++) {
        g_strstrip(raw[i]);
        if (*raw[i])
            g_ptr_array_add(out, g_strdup(raw[i]));
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

static char *
choices_text(const char *const *choices)
{
    return g_strjoinv(", ", (char **)choices);
}

static void
apply_key(Loader *ld, SourceFile *f, const char *group, const KeySpec *spec, gpointer base)
{
    gpointer field = (char *)base + spec->offset;
    g_autoptr(GError) err = NULL;
    g_autofree char *raw = g_key_file_get_value(f->kf, group, spec->key, NULL);

    switch (spec->type) {
    case KT_STR:
    case KT_PATH:
    case KT_ENUM: {
        g_autofree char *s = g_key_file_get_string(f->kf, group, spec->key, &err);

        if (!s) {
            PROBLEM(ld, f, group, spec->key, "%s", err->message);
            return;
        }
        g_strstrip(s);
        if (spec->type == KT_ENUM && !g_strv_contains(spec->choices, s)) {
            const char *hint = mm_suggest(s, spec->choices, -1);
            g_autofree char *all = choices_text(spec->choices);

            PROBLEM(ld, f, group, spec->key, "'%s' is not allowed%s%s%s; use one of %s", s,
                    hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "", all);
            return;
        }
        if (spec->type == KT_PATH && *s && !g_path_is_absolute(s)) {
            char *joined = g_build_filename(f->dir, s, NULL);
            g_free(s);
            s = joined;
        }
        g_free(*(char **)field);
        *(char **)field = g_steal_pointer(&s);
        return;
    }
    case KT_BOOL:
    case KT_TRIBOOL: {
        gboolean v = g_key_file_get_boolean(f->kf, group, spec->key, &err);

        if (err) {
            PROBLEM(ld, f, group, spec->key, "'%s' is not a boolean; write true or false", raw);
            return;
        }
        if (spec->type == KT_BOOL)
            *(bool *)field = v;
        else
            *(int *)field = v ? 1 : 0;
        return;
    }
    case KT_UINT:
    case KT_TRIUINT: {
        g_autofree char *s = g_strstrip(g_strdup(raw));
        guint64 v;

        if (!g_ascii_string_to_unsigned(s, 10, spec->min, spec->max, &v, &err)) {
            PROBLEM(ld, f, group, spec->key, "'%s' is not a whole number from %u to %u; write one in that range",
                    s, spec->min, spec->max);
            return;
        }
        if (spec->type == KT_UINT)
            *(guint *)field = (guint)v;
        else
            *(int *)field = (int)v;
        return;
    }
    case KT_LIST: {
        char **v = get_list(f->kf, group, spec->key);

        for (int i = 0; spec->choices && v[i]; i++) {
            if (!g_strv_contains(spec->choices, v[i])) {
                const char *hint = mm_suggest(v[i], spec->choices, -1);
                g_autofree char *all = choices_text(spec->choices);

                PROBLEM(ld, f, group, spec->key, "'%s' is not allowed%s%s%s; use a comma-separated list of %s",
                        v[i], hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "", all);
            }
        }
        g_strfreev(*(char ***)field);
        *(char ***)field = v;
        return;
    }
    }
}

/* Applies every key of GROUP; unknown keys get a suggestion from the same group kind. */
static void
apply_group(Loader *ld, SourceFile *f, const char *group, GroupKind kind, gpointer base)
{
    g_auto(GStrv) keys = g_key_file_get_keys(f->kf, group, NULL, NULL);
    g_autoptr(GPtrArray) known = g_ptr_array_new();

    for (gsize i = 0; i < G_N_ELEMENTS(key_specs); i++)
        if (key_specs[i].group == kind)
            g_ptr_array_add(known, (gpointer)key_specs[i].key);

    for (int i = 0; keys && keys[i]; i++) {
        const KeySpec *spec = NULL;

        for (gsize j = 0; j < G_N_ELEMENTS(key_specs); j++)
            if (key_specs[j].group == kind && strcmp(key_specs[j].key, keys[i]) == 0)
                spec = &key_specs[j];
        if (!spec) {
            const char *hint = mm_suggest(keys[i], (const char *const *)known->pdata, known->len);

            if (hint)
                PROBLEM(ld, f, group, keys[i], "unknown key; did you mean '%s'?", hint);
            else
                PROBLEM(ld, f, group, keys[i], "unknown key; see docs/scenario-format.md for the keys of [%s%s]",
                        group_kind_names[kind],
                        kind == GROUP_HOST || kind == GROUP_GUEST || kind == GROUP_CPU ? ":NAME" : "");
            continue;
        }
        apply_key(ld, f, group, spec, base);
    }
}

/* Host and guest names appear in case IDs, whose separators are > / : # and glob characters. */
static bool
name_valid(const char *name)
{
    if (!*name)
        return false;
    for (const char *p = name; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
            return false;
    return true;
}

/* ---- groups ----------------------------------------------------------------------------- */

static void load_file(Loader *ld, const char *path, SourceFile *parent, int include_line);

static void
load_host(Loader *ld, SourceFile *f, const char *group, const char *name)
{
    MmHost *prev = g_hash_table_lookup(ld->sc->host_by_name, name);
    MmHost *h;

    if (prev) {
        PROBLEM(ld, f, group, NULL, "host '%s' is already defined in %s; give one of them another name",
                name, prev->file);
        return;
    }
    if (!name_valid(name)) {
        PROBLEM(ld, f, group, NULL,
                "host name '%s' may use only letters, digits, '-', '_' and '.', since it is part of case IDs",
                name);
        return;
    }
    h = g_new0(MmHost, 1);
    h->name = g_strdup(name);
    h->file = g_strdup(f->path);
    h->arch = g_strdup("x86_64");
    h->virt_type = g_strdup("kvm");
    g_ptr_array_add(ld->sc->hosts, h);
    g_hash_table_insert(ld->sc->host_by_name, h->name, h);
    apply_group(ld, f, group, GROUP_HOST, h);
}

static void
load_guest(Loader *ld, SourceFile *f, const char *group, const char *name)
{
    MmGuest *prev = g_hash_table_lookup(ld->sc->guest_by_name, name);
    MmGuest *g;

    if (prev) {
        PROBLEM(ld, f, group, NULL, "guest '%s' is already defined in %s; give one of them another name",
                name, prev->file);
        return;
    }
    if (!name_valid(name)) {
        PROBLEM(ld, f, group, NULL,
                "guest name '%s' may use only letters, digits, '-', '_' and '.', since it is part of case IDs",
                name);
        return;
    }
    g = g_new0(MmGuest, 1);
    g->name = g_strdup(name);
    g->file = g_strdup(f->path);
    g->os = g_strdup("linux");
    g->arch = g_strdup("x86_64");
    g->memory_mib = 1024;
    g->vcpus = 1;
    g_ptr_array_add(ld->sc->guests, g);
    g_hash_table_insert(ld->sc->guest_by_name, g->name, g);
    apply_group(ld, f, group, GROUP_GUEST, g);
}

static void
named_cpu_free(MmNamedCpu *c)
{
    g_free(c->name);
    g_free(c->file);
    g_free(c->model);
    g_free(c->vendor);
    g_strfreev(c->require);
    g_strfreev(c->disable);
    g_free(c);
}

static void
load_cpu(Loader *ld, SourceFile *f, const char *group, const char *name)
{
    MmNamedCpu *prev = g_hash_table_lookup(ld->sc->cpu_by_name, name);
    MmNamedCpu *c;

    if (prev) {
        PROBLEM(ld, f, group, NULL, "CPU '%s' is already defined in %s; give one of them another name", name,
                prev->file);
        return;
    }
    if (!name_valid(name)) {
        PROBLEM(ld, f, group, NULL,
                "CPU name '%s' may use only letters, digits, '-', '_' and '.', since custom:%s is part of case IDs",
                name, name);
        return;
    }
    c = g_new0(MmNamedCpu, 1);
    c->name = g_strdup(name);
    c->file = g_strdup(f->path);
    g_ptr_array_add(ld->sc->cpus, c);
    g_hash_table_insert(ld->sc->cpu_by_name, c->name, c);
    apply_group(ld, f, group, GROUP_CPU, c);
}

static MmMatrixSpec *
matrix_get(Loader *ld, SourceFile *f, const char *name)
{
    MmMatrixSpec *m;

    for (guint i = 0; i < ld->sc->matrices->len; i++) {
        m = ld->sc->matrices->pdata[i];
        if (strcmp(m->name, name) == 0)
            return m;
    }
    m = g_new0(MmMatrixSpec, 1);
    m->name = g_strdup(name);
    m->file = g_strdup(f->path);
    m->repeat = 1;
    m->enable_compare_cpu = m->ping_pong = m->hard_reboot = m->hotplug_vcpus = -1;
    g_ptr_array_add(ld->sc->matrices, m);
    return m;
}

static void
load_expect(Loader *ld, SourceFile *f, const char *group)
{
    g_auto(GStrv) keys = g_key_file_get_keys(f->kf, group, NULL, NULL);

    for (int i = 0; keys && keys[i]; i++) {
        g_autofree char *value = g_key_file_get_string(f->kf, group, keys[i], NULL);
        g_autofree char *name = NULL;
        char *colon;
        MmExpectRule *r;

        if (!value)
            value = g_strdup("");
        colon = strchr(value, ':');
        name = g_strstrip(g_strndup(value, colon ? (gsize)(colon - value) : strlen(value)));
        r = g_new0(MmExpectRule, 1);
        r->glob = g_strdup(keys[i]);
        r->file = g_strdup(f->path);
        r->line = line_of(f, group, keys[i]);
        if (colon && *g_strstrip(colon + 1))
            r->reason = g_strdup(colon + 1);
        if (strcmp(name, "flaky") == 0) {
            r->flaky = true;
        } else if (!mm_outcome_parse(name, &r->outcome)) {
            const char *const *names = mm_outcome_names();
            const char *hint = mm_suggest(name, names, -1);
            g_autofree char *all = choices_text(names);

            PROBLEM(ld, f, group, keys[i],
                    "'%s' is not an outcome%s%s%s; write OUTCOME or OUTCOME: reason, OUTCOME one of %s, flaky",
                    name, hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "", all);
            expect_rule_free(r);
            continue;
        }
        r->pattern = g_pattern_spec_new(r->glob);
        g_ptr_array_add(ld->sc->expect, r);
    }
}

static void
load_groups(Loader *ld, SourceFile *f)
{
    g_auto(GStrv) groups = g_key_file_get_groups(f->kf, NULL);

    for (int i = 0; groups[i]; i++) {
        const char *g = groups[i];
        const char *colon = strchr(g, ':');

        if (strcmp(g, "run") == 0) {
            /* include was handled before anything else in this file. */
            apply_group(ld, f, g, GROUP_RUN, ld->sc);
        } else if (strcmp(g, "expect") == 0) {
            load_expect(ld, f, g);
        } else if (strcmp(g, "matrix") == 0) {
            apply_group(ld, f, g, GROUP_MATRIX, matrix_get(ld, f, ""));
        } else if (colon && colon[1] && strncmp(g, "matrix:", 7) == 0) {
            apply_group(ld, f, g, GROUP_MATRIX, matrix_get(ld, f, colon + 1));
        } else if (colon && colon[1] && strncmp(g, "host:", 5) == 0) {
            load_host(ld, f, g, colon + 1);
        } else if (colon && colon[1] && strncmp(g, "guest:", 6) == 0) {
            load_guest(ld, f, g, colon + 1);
        } else if (colon && colon[1] && strncmp(g, "cpu:", 4) == 0) {
            load_cpu(ld, f, g, colon + 1);
        } else {
            static const char *const plain[] = { "run", "matrix", "expect", NULL };
            static const char *const named[] = { "host", "guest", "matrix", "cpu", NULL };
            g_autofree char *kind = g_strndup(g, colon ? (gsize)(colon - g) : strlen(g));
            const char *hint = mm_suggest(kind, colon ? named : plain, -1);

            if (colon && !colon[1])
                PROBLEM(ld, f, g, NULL, "group needs a name after the colon, e.g. [%s:NAME]", kind);
            else if (hint)
                PROBLEM(ld, f, g, NULL, "unknown group; did you mean [%s%s]?", hint, colon ? colon : "");
            else
                PROBLEM(ld, f, g, NULL,
                        "unknown group; the groups are [run], [host:NAME], [guest:NAME], [matrix], "
                        "[matrix:NAME], [cpu:NAME] and [expect]");
        }
    }
}

static void
load_file(Loader *ld, const char *path, SourceFile *parent, int include_line)
{
    g_autofree char *canon = g_canonicalize_filename(path, NULL);
    g_autoptr(SourceFile) f = NULL;
    g_auto(GStrv) includes = NULL;

    for (guint i = 0; i < ld->stack->len; i++) {
        if (strcmp(ld->stack->pdata[i], canon) == 0) {
            mm_problems_add(ld->problems, MM_PROBLEM_ERROR, parent->path, include_line, "run", "include",
                            "include cycle: '%s' is already being loaded; remove one of the includes", path);
            return;
        }
    }
    f = source_file_load(path, parent ? parent->path : NULL, include_line, ld->problems);
    if (!f) {
        ld->unreadable = true;
        return;
    }
    {
        g_autofree char *text = g_key_file_to_data(f->kf, NULL, NULL);
        g_checksum_update(ld->checksum, (const guchar *)text, strlen(text));
    }

    /* Included files come first, so the including file's [run] and [matrix] keys override
     * theirs and its [expect] rules come later (the last matching rule wins). */
    g_ptr_array_add(ld->stack, g_steal_pointer(&canon));
    includes = get_list(f->kf, "run", "include");
    for (int i = 0; includes[i]; i++) {
        g_autofree char *inc = g_path_is_absolute(includes[i]) ? g_strdup(includes[i])
                                                                : g_build_filename(f->dir, includes[i], NULL);
        load_file(ld, inc, f, line_of(f, "run", "include"));
    }
    g_ptr_array_remove_index(ld->stack, ld->stack->len - 1);
    load_groups(ld, f);
    g_ptr_array_add(ld->files, g_steal_pointer(&f));
}

/* ---- cross-key checks ------------------------------------------------------------------- */

static bool
uri_has_password(const char *text)
{
    g_autofree char *password = NULL;

    return g_uri_split_with_user(text, G_URI_FLAGS_HAS_PASSWORD | G_URI_FLAGS_NON_DNS, NULL, NULL, &password,
                                 NULL, NULL, NULL, NULL, NULL, NULL, NULL) &&
           password;
}

/* libvirt's ssh transports can be told to skip host key checks. Allowed, since a throwaway lab
 * may want it, but never silently: host keys are verified unless the scenario says otherwise. */
static void
check_uri_verification(Loader *ld, const MmHost *h, const char *group, GUri *uri)
{
    g_autoptr(GHashTable) params = NULL;
    const char *v;

    if (!g_str_has_suffix(g_uri_get_scheme(uri), "ssh") || !g_uri_get_query(uri))
        return;
    params = g_uri_parse_params(g_uri_get_query(uri), -1, "&", G_URI_PARAMS_NONE, NULL);
    if (!params)
        return;
    if ((v = g_hash_table_lookup(params, "no_verify")) && strcmp(v, "0") != 0)
        mm_problems_add(ld->problems, MM_PROBLEM_WARNING, h->file, line_in(ld, h->file, group, "uri"), group, "uri",
                        "no_verify=%s turns off the SSH host key check; remove it and add the host's key to "
                        "known_hosts", v);
    if ((v = g_hash_table_lookup(params, "known_hosts_verify")) && strcmp(v, "normal") != 0)
        mm_problems_add(ld->problems, MM_PROBLEM_WARNING, h->file, line_in(ld, h->file, group, "uri"), group, "uri",
                        "known_hosts_verify=%s does not refuse unknown SSH host keys; remove it (the default, "
                        "normal, refuses them) and add the host's key to known_hosts", v);
}

/* custom:NAME of a [cpu:NAME] group means that CPU (a group's name wins over a libvirt model of
 * the same name: the scenario says what it means). Always true: for the && chains above. */
static bool
resolve_named(Loader *ld, MmCpuMode *mode)
{
    if (mode->kind == MM_MODE_CUSTOM)
        mode->named = g_hash_table_lookup(ld->sc->cpu_by_name, mode->model);
    return true;
}

/* Model, vendor and feature names as libvirt's cpu_map spells them (Skylake-Server-IBRS, sse4.2,
 * vmx-ept) use the same characters as host and guest names. */
static void
check_cpu(Loader *ld, MmNamedCpu *c)
{
    g_autofree char *group = g_strdup_printf("cpu:%s", c->name);
    char **lists[] = { c->require, c->disable };
    const char *keys[] = { "require", "disable" };

#define CPROBLEM(key, ...) mm_problems_add(ld->problems, MM_PROBLEM_ERROR, c->file, line_in(ld, c->file, group, key), group, key, __VA_ARGS__)
    if (!c->model || !*c->model)
        CPROBLEM("model", "missing; a named CPU needs a libvirt CPU model, e.g. model = Broadwell-noTSX-IBRS "
                 "(`migmatrix baseline` prints one a pool can share)");
    else if (!name_valid(c->model))
        CPROBLEM("model", "'%s' is not a CPU model name: use letters, digits and - _ . as libvirt does, e.g. "
                 "Skylake-Server-IBRS", c->model);
    if (c->vendor && !name_valid(c->vendor))
        CPROBLEM("vendor", "'%s' is not a CPU vendor as libvirt writes them (Intel, AMD, Hygon); remove vendor to "
                 "take the model's own", c->vendor);
    for (int l = 0; l < 2; l++)
        for (int i = 0; lists[l] && lists[l][i]; i++) {
            if (lists[l][i][0] == '+' || lists[l][i][0] == '-')
                CPROBLEM(keys[l], "'%s': write the feature's name alone (%s = %s); the key says the policy",
                         lists[l][i], keys[l], lists[l][i] + 1);
            else if (!name_valid(lists[l][i]))
                CPROBLEM(keys[l], "'%s' is not a CPU feature name: use libvirt's names (letters, digits, - _ .), "
                         "e.g. avx512f, sse4.2", lists[l][i]);
            else if (l == 0 && c->disable && g_strv_contains((const char *const *)c->disable, lists[l][i]))
                CPROBLEM("disable", "'%s' is both required and disabled; keep it in one of require and disable",
                         lists[l][i]);
        }
#undef CPROBLEM
}

static void
check_host(Loader *ld, MmHost *h)
{
    g_autofree char *group = g_strdup_printf("host:%s", h->name);
    g_autoptr(GError) err = NULL;
    g_autoptr(GUri) uri = NULL;
    static const char *const schemes[] = {
        "qemu", "qemu+ssh", "qemu+libssh", "qemu+tls", "qemu+tcp", "qemu+unix", "test", NULL,
    };

#define HPROBLEM(key, ...) mm_problems_add(ld->problems, MM_PROBLEM_ERROR, h->file, line_in(ld, h->file, group, key), group, key, __VA_ARGS__)
    if (!h->uri) {
        HPROBLEM("uri", "missing; every host needs a libvirt URI, e.g. qemu+libssh://root@10.0.0.5/system");
    } else if (uri_has_password(h->uri)) {
        /* Never echoed: the message itself would leak it into logs. */
        HPROBLEM("uri", "carries a password (user:password@); URIs are stored in the results DB and printed, "
                 "and migmatrix authenticates by key only: remove the password and use an SSH key");
    } else if (!(uri = g_uri_parse(h->uri, G_URI_FLAGS_NON_DNS, &err))) {
        HPROBLEM("uri", "'%s' is not a URI (%s); write e.g. qemu+ssh://root@host/system", h->uri, err->message);
    } else if (!g_strv_contains(schemes, g_uri_get_scheme(uri))) {
        HPROBLEM("uri", "scheme '%s' is not a libvirt QEMU transport; use qemu+ssh, qemu+libssh, qemu+tls, "
                 "qemu+tcp or qemu", g_uri_get_scheme(uri));
    } else if (g_str_has_suffix(g_uri_get_scheme(uri), "ssh") &&
               (!g_uri_get_host(uri) || !*g_uri_get_host(uri))) {
        HPROBLEM("uri", "'%s' has no host; write %s://USER@HOST/system", h->uri, g_uri_get_scheme(uri));
    } else {
        check_uri_verification(ld, h, group, uri);
    }

    if (h->ssh) {
        MmSshAddress a = { 0 };

        if (mm_ssh_address_parse(h->ssh, &a, &err)) {
            h->ssh_user = g_steal_pointer(&a.user);
            h->ssh_address = g_steal_pointer(&a.address);
            h->ssh_port = a.port;
        } else {
            HPROBLEM("ssh", "%s", err->message);
            g_clear_error(&err);
        }
    }
    if (h->numa_cpu_mode_text) {
        if (mm_cpu_mode_parse(h->numa_cpu_mode_text, &h->numa_cpu_mode, &err) &&
            resolve_named(ld, &h->numa_cpu_mode))
            h->has_numa_cpu_mode = true;
        else
            HPROBLEM("numa_cpu_mode", "%s", err->message);
        g_clear_error(&err);
    }
    if (h->default_cpu_mode_text) {
        if (mm_cpu_mode_parse(h->default_cpu_mode_text, &h->default_cpu_mode, &err) &&
            resolve_named(ld, &h->default_cpu_mode))
            h->has_default_cpu_mode = true;
        else
            HPROBLEM("default_cpu_mode", "%s", err->message);
    } else if (ld->any_hard_reboot) {
        /* A mode this host's virt type can run: libvirt has no host CPU to pass through under
         * TCG, nor a host-model for aarch64 there (qemu_capabilities.c). `probe` tells for sure. */
        bool tcg = strcmp(h->virt_type, "qemu") == 0;
        const char *mode = !tcg ? "host-passthrough" : strcmp(h->arch, "aarch64") == 0 ? "maximum" : "host-model";

        HPROBLEM("default_cpu_mode",
                 "missing, but hard_reboot = true restarts guests in this mode; set e.g. default_cpu_mode = %s "
                 "(a mode %s guests under %s can run; `migmatrix probe` lists what %s supports)",
                 mode, h->arch, h->virt_type, h->name);
    }
#undef HPROBLEM
}

void
mm_ssh_address_clear(MmSshAddress *a)
{
    g_clear_pointer(&a->user, g_free);
    g_clear_pointer(&a->address, g_free);
    a->port = 0;
}

bool
mm_ssh_address_parse(const char *text, MmSshAddress *out, GError **error)
{
    const char *at = strchr(text, '@');
    const char *addr = at ? at + 1 : NULL;
    const char *port = NULL;
    g_autofree char *address = NULL;
    guint64 p = 22;

    if (addr && *addr == '[') {          /* [v6addr]:port */
        const char *close = strchr(addr, ']');

        if (close && (!close[1] || close[1] == ':')) {
            address = g_strndup(addr + 1, close - addr - 1);
            port = close[1] == ':' ? close + 2 : NULL;
        }
    } else if (addr) {
        const char *colon = strchr(addr, ':');

        /* Two colons and no brackets: an IPv6 address whose port cannot be told apart. */
        if (!colon || !strchr(colon + 1, ':')) {
            address = g_strndup(addr, colon ? (gsize)(colon - addr) : strlen(addr));
            port = colon ? colon + 1 : NULL;
        }
    }
    if (at && memchr(text, ':', at - text)) {
        /* Never echoed: the message itself would leak it into logs. */
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT,
                    "carries a password (user:password@); migmatrix authenticates by key only and "
                    "stores this value: write USER@ADDRESS and set ssh_key");
        return false;
    }
    if (!at || at == text || !address || !*address || strpbrk(address, " \t/@") ||
        (port && !g_ascii_string_to_unsigned(port, 10, 1, 65535, &p, NULL))) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT,
                    "'%s' is not user@address[:port]; write e.g. root@10.0.0.5, root@10.0.0.5:2222 or "
                    "root@[fd00::5]:2222", text);
        return false;
    }
    out->user = g_strndup(text, at - text);
    out->address = g_steal_pointer(&address);
    out->port = (guint)p;
    return true;
}

static bool
key_given(Loader *ld, const char *file, const char *group, const char *key)
{
    for (guint i = 0; i < ld->files->len; i++) {
        SourceFile *f = ld->files->pdata[i];

        if (strcmp(f->path, file) == 0)
            return line_of(f, group, key) != 0;
    }
    return false;
}

/* Counts the CPU ids of a libvirt cpuset ("0-1,4"), and its highest id; false if malformed. */
static bool
cpuset_count(const char *text, guint *count, guint *highest)
{
    g_auto(GStrv) parts = g_strsplit(text, ",", -1);

    *count = *highest = 0;
    for (int i = 0; parts[i]; i++) {
        g_auto(GStrv) range = g_strsplit(g_strstrip(parts[i]), "-", 2);
        guint64 lo, hi;

        if (!range[0] || !g_ascii_string_to_unsigned(range[0], 10, 0, 4095, &lo, NULL))
            return false;
        hi = lo;
        if (range[1] && !g_ascii_string_to_unsigned(range[1], 10, lo, 4095, &hi, NULL))
            return false;
        *count += (guint)(hi - lo + 1);
        *highest = MAX(*highest, (guint)hi);
    }
    return *count > 0;
}

/* domain_xml = FILE: the platform's own definition, read and checked now so a bad one stops the
 * run before any host is touched. Parsed without DTDs, entities or network (mm_xml_parse). */
static void
check_template(Loader *ld, MmGuest *g, const char *group)
{
    static const char *const owned[] = { "kernel", "initrd", "cmdline", "machine", "memory_mib", "vcpus",
                                         "topology", "numa", "max_vcpus", "network", "bridge", "nic_model",
                                         NULL };
    g_autoptr(GError) err = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctx = NULL;
    g_autoptr(GPtrArray) cells = NULL;
    g_autofree char *text = NULL;
    g_autofree char *arch = NULL;
    g_autofree char *vcpu = NULL;
    g_autofree char *sockets = NULL, *dies = NULL, *cores = NULL, *threads = NULL;
    g_autofree char *name = NULL;
    xmlNode *root;
    guint64 max = 0;
    gsize len;

#define TPROBLEM(...) mm_problems_add(ld->problems, MM_PROBLEM_ERROR, g->file, line_in(ld, g->file, group, "domain_xml"), group, "domain_xml", __VA_ARGS__)
    for (int i = 0; owned[i]; i++)
        if (key_given(ld, g->file, group, owned[i]))
            mm_problems_add(ld->problems, MM_PROBLEM_ERROR, g->file, line_in(ld, g->file, group, owned[i]), group,
                            owned[i], "the domain_xml template defines this guest's %s; remove %s here and "
                            "change the template instead", owned[i], owned[i]);
    if (!g_file_get_contents(g->domain_xml, &text, &len, &err)) {
        TPROBLEM("cannot read the template: %s; the path is relative to the scenario file", err->message);
        return;
    }
    /* The template is part of what the scenario tests: its bytes go into the scenario hash. */
    g_checksum_update(ld->checksum, (const guchar *)text, len);
    name = g_path_get_basename(g->domain_xml);
    if (!(doc = mm_xml_parse(text, len, g->domain_xml, &err))) {
        TPROBLEM("%s; give a libvirt domain XML, e.g. from virsh dumpxml --migratable", err->message);
        return;
    }
    root = xmlDocGetRootElement(doc);
    if (strcmp((const char *)root->name, "domain") != 0) {
        TPROBLEM("%s is a <%s>, not a libvirt <domain>; give a domain XML, e.g. from virsh dumpxml --migratable",
                 name, root->name);
        return;
    }
    ctx = xmlXPathNewContext(doc);
    arch = mm_xml_string(ctx, NULL, "/domain/os/type/@arch");
    if (arch && strcmp(arch, g->arch) != 0) {
        TPROBLEM("%s is an %s domain and this guest is %s; set arch = %s, or give a template for %s", name, arch,
                 g->arch, arch, g->arch);
        return;
    }
    vcpu = mm_xml_string(ctx, NULL, "/domain/vcpu");
    if (!vcpu || !g_ascii_string_to_unsigned(vcpu, 10, 1, 4096, &max, NULL)) {
        TPROBLEM("%s has no <vcpu> count; a domain XML says how many vCPUs the guest has, e.g. <vcpu>2</vcpu>",
                 name);
        return;
    }
    g->template_vcpus = (guint)max;
    {
        g_autofree char *current = mm_xml_string(ctx, NULL, "/domain/vcpu/@current");
        guint64 cur = max;

        if (current && (!g_ascii_string_to_unsigned(current, 10, 1, max, &cur, NULL)))
            TPROBLEM("%s: <vcpu current='%s'> is not a count from 1 to %" G_GUINT64_FORMAT, name, current, max);
        g->vcpus = (guint)cur;   /* the vCPUs it boots with, as the template says */
    }
    sockets = mm_xml_string(ctx, NULL, "/domain/cpu/topology/@sockets");
    dies = mm_xml_string(ctx, NULL, "/domain/cpu/topology/@dies");
    cores = mm_xml_string(ctx, NULL, "/domain/cpu/topology/@cores");
    threads = mm_xml_string(ctx, NULL, "/domain/cpu/topology/@threads");
    if (sockets || cores || threads) {
        guint64 product = g_ascii_strtoull(sockets ? sockets : "1", NULL, 10) *
                          g_ascii_strtoull(dies ? dies : "1", NULL, 10) *
                          g_ascii_strtoull(cores ? cores : "1", NULL, 10) *
                          g_ascii_strtoull(threads ? threads : "1", NULL, 10);

        /* virDomainDefCputuneValidate/qemuValidateDomainDefCpu refuse it the same way. */
        if (product != max)
            TPROBLEM("%s: <topology> gives %" G_GUINT64_FORMAT " vCPUs and <vcpu> %" G_GUINT64_FORMAT
                     "; libvirt refuses a topology that does not match the maximum vCPU count: fix one of them",
                     name, product, max);
    }
    cells = mm_xml_nodes(ctx, NULL, "/domain/cpu/numa/cell");
    g->numa_cells = cells->len;
    for (guint i = 0; i < cells->len; i++) {
        g_autofree char *cpus = mm_xml_string(ctx, cells->pdata[i], "@cpus");
        g_autofree char *mem = mm_xml_string(ctx, cells->pdata[i], "@memory");
        guint count, highest;

        if (!mem) {
            TPROBLEM("%s: NUMA cell %u has no memory; libvirt needs <cell cpus='…' memory='…'/>", name, i);
        } else if (cpus && !cpuset_count(cpus, &count, &highest)) {
            TPROBLEM("%s: NUMA cell %u has cpus='%s', which is not a CPU list like 0-1,4", name, i, cpus);
        } else if (cpus && highest >= max) {
            TPROBLEM("%s: NUMA cell %u names vCPU %u and <vcpu> is %" G_GUINT64_FORMAT
                     "; libvirt refuses more CPUs in <numa> than the <vcpu> count", name, i, highest, max);
        }
    }
    if (g->numa_cells && !mm_xml_nodes_count(ctx, "/domain/cpu/topology") && g->hotplug_vcpus)
        /* QEMU puts hot-plugged vCPUs in NUMA cells by socket: without a topology every new vCPU
         * is a socket that no cell claims, and QEMU 7.2 refuses the partial mapping. */
        TPROBLEM("%s has <numa> cells but no <topology>, and hotplug_vcpus plugs vCPUs that no cell would hold; "
                 "add <topology sockets=… cores=… threads=…/> to the template's <cpu>", name);
    g->template_cache_passthrough = mm_xml_nodes_count(ctx, "/domain/cpu/cache[@mode='passthrough']") > 0;
    /* The probes read what the template offers; migmatrix adds no device to a platform's guest. */
    if ((g->probe == MM_PROBE_AGENT || g->cpu_probe == MM_PROBE_AGENT) &&
        !mm_xml_nodes_count(ctx, "/domain/devices/channel/target[@name='org.qemu.guest_agent.0']"))
        TPROBLEM("%s has no guest agent channel, and probe = agent (or cpu_probe = agent:…) talks to the agent; add "
                 "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel> to the "
                 "template, or choose another probe", name);
    if ((g->probe == MM_PROBE_CONSOLE) &&
        !mm_xml_nodes_count(ctx, "/domain/devices/serial[@type='pty'] | /domain/devices/console[@type='pty']"))
        TPROBLEM("%s has no pty serial console, and probe = console reads it through libvirt; add <serial "
                 "type='pty'/> to the template, or choose another probe", name);
    if (g->keep_cpu_features && !mm_xml_nodes_count(ctx, "/domain/cpu/feature"))
        TPROBLEM("%s has no <cpu><feature> to keep, and cpu_features = template keeps the template's own "
                 "policies; remove cpu_features or add the features the platform pins", name);
#undef TPROBLEM
    g->domain_xml_text = g_steal_pointer(&text);
}

/* The built-in builder's shape keys: topology, numa, max_vcpus, hotplug_vcpus, the NIC. */
static void
check_shape(Loader *ld, MmGuest *g, const char *group)
{
    guint max;

#define SPROBLEM(key, ...) mm_problems_add(ld->problems, MM_PROBLEM_ERROR, g->file, line_in(ld, g->file, group, key), group, key, __VA_ARGS__)
    if (g->network && g->bridge)
        SPROBLEM("bridge", "set either network (a libvirt network) or bridge (a host bridge), not both");
    if (g->nic_model && !g->network && !g->bridge)
        SPROBLEM("nic_model", "no NIC to give a model to; set network = NAME or bridge = NAME, or remove nic_model");
    if (g->max_vcpus && g->max_vcpus < g->vcpus)
        SPROBLEM("max_vcpus", "%u is below vcpus = %u; max_vcpus is the most vCPUs the guest can have: raise it",
                 g->max_vcpus, g->vcpus);
    max = g->max_vcpus ? g->max_vcpus : g->vcpus;
    if (g->topology) {
        g_auto(GStrv) v = g_strsplit(g->topology, ",", -1);
        guint64 n[3] = { 0 };
        bool ok = g_strv_length(v) == 3;

        for (int i = 0; ok && i < 3; i++)
            ok = g_ascii_string_to_unsigned(g_strstrip(v[i]), 10, 1, 1024, &n[i], NULL);
        if (!ok) {
            SPROBLEM("topology", "'%s' is not SOCKETS,CORES,THREADS; write e.g. topology = 2,2,1", g->topology);
        } else if (n[0] * n[1] * n[2] != max) {
            SPROBLEM("topology", "%s gives %" G_GUINT64_FORMAT " vCPUs and the guest has %u (%s); libvirt refuses "
                     "a topology that does not match the maximum vCPU count: fix one of them", g->topology,
                     n[0] * n[1] * n[2], max, g->max_vcpus ? "max_vcpus" : "vcpus");
        } else {
            g->sockets = (guint)n[0];
            g->cores = (guint)n[1];
            g->threads = (guint)n[2];
        }
    }
    if (g->numa) {
        g->numa_cells = g->numa;
        if (g->numa > max)
            SPROBLEM("numa", "%u cells for %u vCPUs: every cell needs at least one vCPU; lower numa or raise %s",
                     g->numa, max, g->max_vcpus ? "max_vcpus" : "vcpus");
        else if (g->memory_mib / g->numa < 16)
            SPROBLEM("numa", "%u cells of %u MiB: every cell needs at least 16 MiB; lower numa or raise memory_mib",
                     g->numa, g->memory_mib / g->numa);
    }
#undef SPROBLEM
}

/* hotplug_vcpus = N: plugged live after boot; one more is plugged and unplugged after the move. */
static void
check_hotplug(Loader *ld, MmGuest *g, const char *group, guint n, const char *file, const char *grp)
{
    guint max = g->domain_xml ? g->template_vcpus : g->max_vcpus ? g->max_vcpus : g->vcpus;
    guint boot = g->vcpus;

#define HPROBLEM(...) mm_problems_add(ld->problems, MM_PROBLEM_ERROR, file, line_in(ld, file, grp, "hotplug_vcpus"), grp, "hotplug_vcpus", __VA_ARGS__)
    /* Nothing to say about a template that did not load: its own problem is reported. */
    if (n == 0 || (g->domain_xml && !g->domain_xml_text))
        return;
    if (g->probe != MM_PROBE_AGENT && g->cpu_probe != MM_PROBE_AGENT) {
        HPROBLEM("guest %s: the vCPUs a guest sees are read through its agent (guest-get-vcpus), and it has "
                 "probe = %s; set probe = agent (or cpu_probe = agent:…), or remove hotplug_vcpus",
                 g->name, g->probe_text);
        return;
    }
    if (n <= boot)
        HPROBLEM("guest %s boots with vcpus = %u, so plugging up to %u adds none; set hotplug_vcpus above vcpus",
                 g->name, boot, n);
    else if (n + 1 > max)
        HPROBLEM("guest %s can have at most %u vCPUs, and the cycle plugs up to %u and then one more on the "
                 "destination; set %s to at least %u", g->name, max, n, g->domain_xml ? "the template's <vcpu>" : "max_vcpus",
                 n + 1);
    (void)group;
#undef HPROBLEM
}

/* cpu_probe = agent:COMMAND | console:PATTERN | ssh:COMMAND | none. */
static void
check_cpu_probe(Loader *ld, MmGuest *g, const char *group)
{
    static const char *const methods[] = { "agent", "console", "ssh", "none", NULL };
    const char *text = g->cpu_probe_text;
    const char *colon = text ? strchr(text, ':') : NULL;
    g_autofree char *method = colon ? g_strndup(text, colon - text) : g_strdup(text);
    const char *arg = colon ? colon + 1 : "";

#define CPROBLEM(...) mm_problems_add(ld->problems, MM_PROBLEM_ERROR, g->file, line_in(ld, g->file, group, "cpu_probe"), group, "cpu_probe", __VA_ARGS__)
    g->cpu_probe = MM_PROBE_NONE;
    if (!text || strcmp(text, "none") == 0)
        return;
    g_strstrip(method);
    while (g_ascii_isspace(*arg))
        arg++;
    if (!g_strv_contains(methods, method) || strcmp(method, "none") == 0) {
        const char *hint = mm_suggest(method, methods, -1);
        CPROBLEM("'%s' is not METHOD:ARGUMENT with METHOD agent, console or ssh%s%s%s; e.g. "
                 "cpu_probe = agent:/usr/bin/cpuid -1 -r",
                 text, hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        return;
    }
    if (!*arg) {
        CPROBLEM("%s: needs %s after the colon, e.g. %s", method,
                 strcmp(method, "console") == 0 ? "a pattern" : "a command",
                 strcmp(method, "console") == 0 ? "cpu_probe = console:^CPUID (.*)$"
                                                : "cpu_probe = agent:/usr/bin/cpuid -1 -r");
        return;
    }
    if (strcmp(g->arch, "x86_64") != 0) {
        CPROBLEM("reads x86 CPUID, and this guest is %s; remove cpu_probe (its CPU is then not measured)", g->arch);
        return;
    }
    if (strcmp(g->os, "none") == 0) {
        CPROBLEM("a guest with os = none runs nothing to read its CPU; remove cpu_probe");
        return;
    }
    g->cpu_probe_arg = g_strdup(arg);
    if (strcmp(method, "agent") == 0 || strcmp(method, "ssh") == 0) {
        g_auto(GStrv) argv = NULL;
        g_autoptr(GError) err = NULL;

        g->cpu_probe = method[0] == 'a' ? MM_PROBE_AGENT : MM_PROBE_SSH;
        if (!g_shell_parse_argv(arg, NULL, &argv, &err))
            CPROBLEM("%s: the command '%s' does not parse: %s", method, arg, err->message);
        else if (g->cpu_probe == MM_PROBE_SSH && !g->probe_ssh)
            CPROBLEM("ssh: needs the guest's address; set probe_ssh = USER@GUEST-ADDRESS");
        return;
    }
    g->cpu_probe = MM_PROBE_CONSOLE;
    if (g->probe != MM_PROBE_CONSOLE) {
        CPROBLEM("console: reads the serial console that probe = console watches, and this guest has probe = %s; "
                 "use cpu_probe = agent:COMMAND, or set probe = console",
                 g->probe_text);
        return;
    }
    {
        g_autoptr(GError) err = NULL;
        g_autoptr(GRegex) re = g_regex_new(arg, 0, 0, &err);

        if (!re)
            CPROBLEM("console: '%s' is not a regular expression: %s", arg, err->message);
        else if (g_regex_get_capture_count(re) < 1)
            CPROBLEM("console: '%s' needs one (group) capturing the CPUID records, e.g. ^CPUID (.*)$", arg);
    }
#undef CPROBLEM
}

static void
check_guest(Loader *ld, MmGuest *g)
{
    g_autofree char *group = g_strdup_printf("guest:%s", g->name);
    bool no_os = strcmp(g->os, "none") == 0;

#define GPROBLEM(key, ...) mm_problems_add(ld->problems, MM_PROBLEM_ERROR, g->file, line_in(ld, g->file, group, key), group, key, __VA_ARGS__)
    /* disk and kernel together: a direct kernel boot with the disk as its root filesystem. */
    if (!g->disk && !g->kernel && !no_os && !g->domain_xml)
        GPROBLEM("disk", "the guest has nothing to boot; set disk = IMAGE, or kernel = VMLINUZ, or os = none");
    if (!g->kernel && g->initrd)
        GPROBLEM("initrd", "needs kernel; initrd is only used for a direct kernel boot");
    if (!g->kernel && g->cmdline)
        GPROBLEM("cmdline", "needs kernel; cmdline is only used for a direct kernel boot");

    if (!g->probe_text)
        g->probe_text = g_strdup(no_os ? "none" : strcmp(g->os, "windows") == 0 ? "agent" : "console");
    g->probe = strcmp(g->probe_text, "console") == 0 ? MM_PROBE_CONSOLE
             : strcmp(g->probe_text, "agent") == 0   ? MM_PROBE_AGENT
             : strcmp(g->probe_text, "ssh") == 0     ? MM_PROBE_SSH
                                                     : MM_PROBE_NONE;
    if (no_os && g->probe != MM_PROBE_NONE)
        GPROBLEM("probe", "a guest with os = none runs no software to probe; set probe = none");
    if (g->probe == MM_PROBE_SSH && !g->probe_ssh)
        GPROBLEM("probe_ssh", "missing, but probe = ssh; set probe_ssh = USER@GUEST-ADDRESS");
    check_cpu_probe(ld, g, group);
    if (g->probe_ssh && g->probe != MM_PROBE_SSH && g->cpu_probe != MM_PROBE_SSH)
        GPROBLEM("probe_ssh", "only used with probe = ssh or cpu_probe = ssh:COMMAND; remove it or set probe = ssh");
    if (g->probe_command && g->probe != MM_PROBE_SSH)
        GPROBLEM("probe_command", "only used with probe = ssh; remove it or set probe = ssh");
    if (g->probe_pattern && g->probe != MM_PROBE_CONSOLE)
        GPROBLEM("probe_pattern", "only used with probe = console; remove it or set probe = console");
    if (g->probe == MM_PROBE_CONSOLE) {
        g_autoptr(GError) err = NULL;
        g_autoptr(GRegex) re = NULL;

        if (!g->probe_pattern)
            g->probe_pattern = g_strdup(DEFAULT_PROBE_PATTERN);
        re = g_regex_new(g->probe_pattern, 0, 0, &err);
        if (!re)
            GPROBLEM("probe_pattern", "not a regular expression: %s", err->message);
        else if (g_regex_get_capture_count(re) < 1)
            GPROBLEM("probe_pattern", "needs one (group) capturing the heartbeat counter, e.g. HEARTBEAT ([0-9]+)");
    }
    if (g->probe_ssh) {
        g_autoptr(GError) err = NULL;

        if (!mm_ssh_address_parse(g->probe_ssh, &g->probe_ssh_address, &err))
            GPROBLEM("probe_ssh", "%s", err->message);
    }
    if ((g->ssh_key || g->known_hosts) && !g->probe_ssh)
        GPROBLEM(g->ssh_key ? "ssh_key" : "known_hosts",
                 "only used to log in to the guest for probe = ssh or cpu_probe = ssh:COMMAND; set probe_ssh, "
                 "or remove it");
    /* The probe's output counts: its first number (the guest's uptime by default) must advance. */
    if (g->probe == MM_PROBE_SSH && !g->probe_command)
        g->probe_command = g_strdup("cat /proc/uptime");
    g->keep_cpu_features = g->cpu_features && strcmp(g->cpu_features, "template") == 0;
    if (g->cpu_features && !g->domain_xml)
        GPROBLEM("cpu_features", "chooses between the mode's and the template's feature policies, and this "
                 "guest has no domain_xml; remove cpu_features or set domain_xml");
    if (g->domain_xml) {
        check_template(ld, g, group);
    } else {
        check_shape(ld, g, group);
    }
    check_hotplug(ld, g, group, g->hotplug_vcpus, g->file, group);
#undef GPROBLEM
}

static void
check_matrix(Loader *ld, MmMatrixSpec *m)
{
    g_autofree char *group = m->name[0] ? g_strdup_printf("matrix:%s", m->name) : g_strdup("matrix");
    const char *keys[] = { "pairs", "guests", "modes" };
    char **values[] = { m->pairs, m->guests, m->modes_text };

#define MPROBLEM(key, ...) mm_problems_add(ld->problems, MM_PROBLEM_ERROR, m->file, line_in(ld, m->file, group, key), group, key, __VA_ARGS__)
    for (int i = 0; i < 3; i++)
        if (!values[i] || !values[i][0])
            MPROBLEM(keys[i], "missing or empty; the matrix needs pairs, guests and modes");

    for (int i = 0; m->pairs && m->pairs[i]; i++) {
        const char *p = m->pairs[i];
        const char *gt = strchr(p, '>');
        g_autofree char *src = NULL;
        g_autofree char *dst = NULL;
        bool src_hit = false, dst_hit = false;

        if (strcmp(p, "all") == 0)
            continue;
        if (!gt || gt == p || !gt[1] || strchr(gt + 1, '>')) {
            MPROBLEM("pairs", "'%s' is not SRC>DST; write e.g. hygon-a>hygon-b, hygon-*>intel-*, or all", p);
            continue;
        }
        src = g_strndup(p, gt - p);
        dst = g_strdup(gt + 1);
        if (strcmp(src, dst) == 0 && !strpbrk(src, "*?")) {
            MPROBLEM("pairs", "'%s' migrates a host to itself; name two different hosts", p);
            continue;
        }
        for (guint h = 0; h < ld->sc->hosts->len; h++) {
            const MmHost *host = ld->sc->hosts->pdata[h];
            src_hit |= g_pattern_match_simple(src, host->name);
            dst_hit |= g_pattern_match_simple(dst, host->name);
        }
        for (int side = 0; side < 2; side++) {
            const char *pat = side ? dst : src;
            g_autoptr(GPtrArray) names = g_ptr_array_new();
            const char *hint;

            if (side ? dst_hit : src_hit)
                continue;
            for (guint h = 0; h < ld->sc->hosts->len; h++)
                g_ptr_array_add(names, ((MmHost *)ld->sc->hosts->pdata[h])->name);
            hint = mm_suggest(pat, (const char *const *)names->pdata, names->len);
            MPROBLEM("pairs", "'%s' in '%s' matches no [host:…]%s%s%s; define the host or fix the name", pat, p,
                     hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        }
    }

    for (int i = 0; m->guests && m->guests[i]; i++) {
        const char *pat = m->guests[i];
        bool hit = false;

        for (guint g = 0; g < ld->sc->guests->len && !hit; g++)
            hit = g_pattern_match_simple(pat, ((MmGuest *)ld->sc->guests->pdata[g])->name);
        if (!hit) {
            g_autoptr(GPtrArray) names = g_ptr_array_new();
            const char *hint;

            for (guint g = 0; g < ld->sc->guests->len; g++)
                g_ptr_array_add(names, ((MmGuest *)ld->sc->guests->pdata[g])->name);
            hint = mm_suggest(pat, (const char *const *)names->pdata, names->len);
            MPROBLEM("guests", "'%s' matches no [guest:…]%s%s%s; define the guest or fix the name", pat,
                     hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        }
    }

    m->modes = g_array_new(FALSE, TRUE, sizeof(MmCpuMode));
    for (int i = 0; m->modes_text && m->modes_text[i]; i++) {
        g_autoptr(GError) err = NULL;
        MmCpuMode mode;

        if (mm_cpu_mode_parse(m->modes_text[i], &mode, &err)) {
            resolve_named(ld, &mode);
            g_array_append_val(m->modes, mode);
        } else
            MPROBLEM("modes", "%s", err->message);
    }
    for (guint i = 0; i < ld->sc->guests->len; i++) {
        MmGuest *g = ld->sc->guests->pdata[i];
        bool used = false;

        for (int p = 0; m->guests && m->guests[p] && !used; p++)
            used = g_pattern_match_simple(m->guests[p], g->name);
        if (!used)
            continue;
        if (m->hotplug_vcpus > 0)
            check_hotplug(ld, g, group, (guint)m->hotplug_vcpus, m->file, group);
        for (guint k = 0; g->template_cache_passthrough && k < m->modes->len; k++) {
            MmCpuModeKind kind = g_array_index(m->modes, MmCpuMode, k).kind;

            /* qemu_validate.c: "CPU cache mode 'passthrough' can only be used with
             * 'host-passthrough' / 'maximum' CPUs". */
            if (kind != MM_MODE_HOST_PASSTHROUGH && kind != MM_MODE_MAXIMUM)
                MPROBLEM("modes", "guest %s's template passes the host's cache through (<cache mode='passthrough'>), "
                         "which libvirt allows only with host-passthrough or maximum, and this matrix tests %s; "
                         "test it in a [matrix:NAME] of its own with those modes, or use <cache mode='emulate' "
                         "level='3'/> in the template", g->name, m->modes_text[k]);
        }
        for (guint k = 0; g->keep_cpu_features && k < m->modes->len; k++)
            if (g_array_index(m->modes, MmCpuMode, k).named)
                MPROBLEM("modes", "guest %s keeps its template's <feature> policies (cpu_features = template), and "
                         "%s brings its own ([cpu:%s]); libvirt refuses a feature listed twice: test the named CPU "
                         "in a [matrix:NAME] of its own without this guest, or remove cpu_features", g->name,
                         m->modes_text[k], g_array_index(m->modes, MmCpuMode, k).model);
        for (guint k = 0; g->keep_cpu_features && k < m->modes->len; k++)
            if (g_array_index(m->modes, MmCpuMode, k).kind == MM_MODE_NONE)
                MPROBLEM("modes", "guest %s keeps its template's <feature> policies (cpu_features = template), "
                         "and mode none has no CPU model to hold them; libvirt refuses features without a model: "
                         "test it in a [matrix:NAME] of its own without none, or remove cpu_features", g->name);
    }
#undef MPROBLEM
}

static void
check_run(Loader *ld, const char *path)
{
    MmScenario *sc = ld->sc;

    for (int i = 0; sc->migrate_flags_text && sc->migrate_flags_text[i]; i++) {
        for (int b = 0; flag_choices[b]; b++)
            if (strcmp(sc->migrate_flags_text[i], flag_choices[b]) == 0)
                sc->migrate_flags |= 1u << b;
    }
    if ((sc->migrate_flags & MM_MIGRATE_UNDEFINESOURCE) && !(sc->migrate_flags & MM_MIGRATE_PERSISTENT))
        mm_problems_add(ld->problems, MM_PROBLEM_WARNING, path, line_in(ld, path, "run", "migrate_flags"),
                        "run", "migrate_flags",
                        "undefinesource without persistent leaves the guest defined nowhere after a "
                        "migration; add persistent");
    /* A flag that is accepted must take effect: libvirt refuses post-copy for a non-live
     * migration (qemu_migration.c), so it would never start. */
    if ((sc->migrate_flags & MM_MIGRATE_POSTCOPY) && !(sc->migrate_flags & MM_MIGRATE_LIVE))
        mm_problems_add(ld->problems, MM_PROBLEM_ERROR, path, line_in(ld, path, "run", "migrate_flags"), "run",
                        "migrate_flags",
                        "postcopy needs live: libvirt switches only a live migration to post-copy; add live");
    if (sc->matrices->len == 0)
        mm_problems_add(ld->problems, MM_PROBLEM_ERROR, path, 0, "matrix", NULL,
                        "no [matrix] group; add one with pairs, guests and modes");
}

MmScenario *
mm_scenario_load(const char *path, GPtrArray *problems)
{
    g_autoptr(MmScenario) sc = g_new0(MmScenario, 1);
    g_autoptr(GPtrArray) stack = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GChecksum) checksum = g_checksum_new(G_CHECKSUM_SHA256);
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func((GDestroyNotify)source_file_free);
    Loader ld = { .sc = sc, .problems = problems, .stack = stack, .checksum = checksum, .files = files };
    guint errors_before = mm_problems_count(problems, MM_PROBLEM_ERROR);

    sc->path = g_strdup(path);
    sc->db = g_strdup(DEFAULT_DB);
    sc->boot_timeout = 300;
    sc->migrate_timeout = 600;
    sc->alive_timeout = 60;
    sc->jobs = 1;
    sc->migrate_flags_text = g_strsplit("live,persistent,undefinesource", ",", -1);
    sc->hosts = g_ptr_array_new_with_free_func((GDestroyNotify)host_free);
    sc->guests = g_ptr_array_new_with_free_func((GDestroyNotify)guest_free);
    sc->matrices = g_ptr_array_new_with_free_func((GDestroyNotify)matrix_spec_free);
    sc->expect = g_ptr_array_new_with_free_func((GDestroyNotify)expect_rule_free);
    sc->host_by_name = g_hash_table_new(g_str_hash, g_str_equal);
    sc->guest_by_name = g_hash_table_new(g_str_hash, g_str_equal);
    sc->cpus = g_ptr_array_new_with_free_func((GDestroyNotify)named_cpu_free);
    sc->cpu_by_name = g_hash_table_new(g_str_hash, g_str_equal);

    load_file(&ld, path, NULL, 0);
    if (!ld.unreadable) {
        ld.any_hard_reboot = sc->hard_reboot;
        for (guint i = 0; i < sc->matrices->len; i++)
            ld.any_hard_reboot |= ((MmMatrixSpec *)sc->matrices->pdata[i])->hard_reboot == 1;
        check_run(&ld, path);
        for (guint i = 0; i < sc->cpus->len; i++)
            check_cpu(&ld, sc->cpus->pdata[i]);
        for (guint i = 0; i < sc->hosts->len; i++)
            check_host(&ld, sc->hosts->pdata[i]);
        for (guint i = 0; i < sc->guests->len; i++)
            check_guest(&ld, sc->guests->pdata[i]);
        for (guint i = 0; i < sc->matrices->len; i++)
            check_matrix(&ld, sc->matrices->pdata[i]);
    }
    sc->sha256 = g_strdup(g_checksum_get_string(checksum));
    if (mm_problems_count(problems, MM_PROBLEM_ERROR) > errors_before)
        return NULL;
    /* Where each group and key stands, for checks made after loading (the preflight). */
    sc->key_lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < files->len; i++) {
        SourceFile *f = files->pdata[i];
        GHashTableIter it;
        gpointer k, v;

        if (!f->lines)
            continue;
        g_hash_table_iter_init(&it, f->lines);
        while (g_hash_table_iter_next(&it, &k, &v))
            g_hash_table_insert(sc->key_lines, g_strdup_printf("%s\x1f%s", f->path, (char *)k), v);
    }
    return g_steal_pointer(&sc);
}

int
mm_scenario_key_line(const MmScenario *sc, const char *file, const char *group, const char *key)
{
    g_autofree char *k = key ? g_strdup_printf("%s\x1f%s\x1f%s", file, group, key)
                             : g_strdup_printf("%s\x1f%s", file, group);
    int line = sc->key_lines ? GPOINTER_TO_INT(g_hash_table_lookup(sc->key_lines, k)) : 0;

    return line || !key ? line : mm_scenario_key_line(sc, file, group, NULL);
}
