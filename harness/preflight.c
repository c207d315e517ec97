/* preflight.c: the scenario checked against the real hosts before anything runs (preflight.h).
 * Read-only on the hosts: domcapabilities through libvirt, `test -r` over ssh. */
#include "migmatrix/preflight.h"

#include <string.h>

#include "migmatrix/cpumodel.h"
#include "migmatrix/dossier.h"
#include "migmatrix/ssh.h"
#include "migmatrix/util.h"

typedef struct {
    const MmHost *host;
    virConnectPtr conn;      /* borrowed from the pool; NULL when the host is down */
    char *down;
    GHashTable *caps;        /* "ARCH MACHINE" → facts (dossier.h names), NULL value: not readable */
    GPtrArray *files;        /* paths to check, each once */
    GHashTable *file_owner;  /* path → const MmGuest* that names it (the first) */
} HostState;

static void
host_state_free(HostState *h)
{
    g_free(h->down);
    g_hash_table_unref(h->caps);
    g_ptr_array_unref(h->files);
    g_hash_table_unref(h->file_owner);
    g_free(h);
}

typedef struct {
    const MmScenario *sc;
    MmHostPool *pool;
    GPtrArray *problems;
    MmPreflightStats *stats;
    GHashTable *hosts;       /* name → HostState* */
    GHashTable *said;        /* problems already reported (one per host, arch and mode) */
} Preflight;

static HostState *
state_of(Preflight *pf, const MmHost *host)
{
    HostState *h = g_hash_table_lookup(pf->hosts, host->name);
    g_autoptr(GError) err = NULL;

    if (h)
        return h;
    h = g_new0(HostState, 1);
    h->host = host;
    h->caps = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_hash_table_unref);
    h->files = g_ptr_array_new_with_free_func(g_free);
    h->file_owner = g_hash_table_new(g_str_hash, g_str_equal);
    if (!(h->conn = mm_host_pool_get(pf->pool, host, &err))) {
        h->down = g_strdup(err->message);
        pf->stats->hosts_unreachable++;
        mm_problems_add(pf->problems, MM_PROBLEM_WARNING, host->file,
                        mm_scenario_key_line(pf->sc, host->file, g_strdup_printf("host:%s", host->name), "uri"),
                        NULL, NULL, "host %s not checked: %s; its cases will be infra-error unless it comes back",
                        host->name, err->message);
    } else {
        pf->stats->hosts_checked++;
    }
    g_hash_table_insert(pf->hosts, host->name, h);
    return h;
}

/* HOST's domcapabilities for guests of ARCH (and MACHINE), as facts; NULL when not readable. */
static GHashTable *
caps_of(Preflight *pf, HostState *h, const MmGuest *g)
{
    g_autofree char *key = g_strdup_printf("%s %s", g->arch, g->machine ? g->machine : "");
    g_autofree char *xml = NULL;
    g_autoptr(GHashTable) facts = NULL;
    g_autoptr(GError) err = NULL;

    if (!h->conn)
        return NULL;
    if (g_hash_table_contains(h->caps, key))
        return g_hash_table_lookup(h->caps, key);
    xml = virConnectGetDomainCapabilities(h->conn, NULL, g->arch, g->machine, h->host->virt_type, 0);
    facts = mm_facts_new();
    if (!xml || !mm_dossier_parse_domcaps(xml, h->host->name, facts, &err)) {
        mm_problems_add(pf->problems, MM_PROBLEM_WARNING, h->host->file, 0, NULL, NULL,
                        "%s: cannot read its domcapabilities for %s guests under %s (%s): models and modes not checked",
                        h->host->name, g->arch, h->host->virt_type, xml ? err->message : virGetLastErrorMessage());
        virResetLastError();
        g_hash_table_insert(h->caps, g_steal_pointer(&key), NULL);
        return NULL;
    }
    g_hash_table_insert(h->caps, g_steal_pointer(&key), facts);
    return g_steal_pointer(&facts);
}

/* Whether the problem KEY was reported already (and now is). */
static bool
said(Preflight *pf, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static bool
said(Preflight *pf, const char *fmt, ...)
{
    va_list ap;
    char *key;

    va_start(ap, fmt);
    key = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (g_hash_table_contains(pf->said, key)) {
        g_free(key);
        return true;
    }
    g_hash_table_add(pf->said, key);
    return false;
}

static const MmMatrixSpec *
matrix_of(const MmScenario *sc, const MmCase *c)
{
    for (guint i = 0; i < sc->matrices->len; i++) {
        const MmMatrixSpec *s = sc->matrices->pdata[i];
        if (g_strcmp0(s->name, c->matrix) == 0)
            return s;
    }
    return NULL;
}

/* The name libvirt refused is the last word of its message ("Unknown CPU feature pclmulqd"):
 * the closest name libvirt's x86 cpu_map has, or NULL. */
static char *
name_hint(const char *message, bool vendor)
{
    const char *word = strrchr(message, ' ');
    g_autoptr(GPtrArray) known = mm_cpu_known_names("x86_64", vendor, NULL);
    const char *hint;

    if (!word || !known)
        return NULL;
    word++;
    g_ptr_array_add(known, NULL);
    hint = mm_suggest(word, (const char *const *)known->pdata, -1);
    return hint && strcmp(hint, word) != 0 ? g_strdup(hint) : NULL;
}

/* A [cpu:NAME] as libvirt's cpu_map reads it, offline (the test driver, as predict does): an
 * unknown vendor or feature is found here, at its key, rather than when libvirt refuses the
 * domain. An unknown model is left to check_mode, which knows the host's models. Once per CPU. */
static void
check_named_cpu(Preflight *pf, const MmNamedCpu *n, const MmGuest *g)
{
    g_autoptr(GPtrArray) feats = g_ptr_array_new();
    g_autoptr(GError) err = NULL;
    g_autoptr(MmCpuDef) d = NULL;
    g_autofree char *xml = NULL, *group = NULL, *hint = NULL;
    const char *key = NULL;

    if (strcmp(g->arch, "x86_64") != 0 || said(pf, "cpu %s", n->name))
        return;
    for (int i = 0; n->require && n->require[i]; i++)
        g_ptr_array_add(feats, n->require[i]);
    for (int i = 0; n->disable && n->disable[i]; i++)
        g_ptr_array_add(feats, n->disable[i]);
    g_ptr_array_add(feats, NULL);
    xml = mm_cpu_host_xml("x86_64", n->vendor, n->model, (const char *const *)feats->pdata);
    if ((d = mm_cpu_expand(xml, &err)))
        return;
    if (strstr(err->message, "CPU vendor")) {
        key = "vendor";
    } else if (strstr(err->message, "CPU feature")) {
        key = "require";
        for (int i = 0; n->disable && n->disable[i]; i++)
            if (g_str_has_suffix(err->message, n->disable[i]))
                key = "disable";
    }
    if (!key)
        return;
    group = g_strdup_printf("cpu:%s", n->name);
    hint = name_hint(err->message, strcmp(key, "vendor") == 0);
    mm_problems_add(pf->problems, MM_PROBLEM_ERROR, n->file, mm_scenario_key_line(pf->sc, n->file, group, key), group,
                    key, "libvirt's x86 cpu_map refuses it (%s)%s%s%s; use the names of /usr/share/libvirt/cpu_map/"
                    "x86_*.xml", err->message, hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
}

/* MODE on HOST for guest G: a model its hypervisor knows, a mode its virt type expresses.
 * FILE/GROUP/KEY say where MODE was written; EXPECTED_FAIL: [expect] already says the case
 * cannot start. */
static void
check_mode(Preflight *pf, HostState *h, const MmGuest *g, const MmCpuMode *mode, const char *mode_text,
           const char *file, const char *group, const char *key, bool expected_fail)
{
    GHashTable *facts = caps_of(pf, h, g);
    g_autofree char *cpu_group = NULL;
    const char *vt = h->host->virt_type;
    int line;

    if (mode->named)
        check_named_cpu(pf, mode->named, g);
    if (!facts || mode->kind == MM_MODE_NONE)
        return;
    /* A [cpu:NAME]'s model is fixed where that group says it. */
    if (mode->named) {
        cpu_group = g_strdup_printf("cpu:%s", mode->named->name);
        file = mode->named->file;
        group = cpu_group;
        key = "model";
    }
    line = mm_scenario_key_line(pf->sc, file, group, key);
    if (mode->kind == MM_MODE_CUSTOM) {
        const char *usable = mm_facts_get_vt(facts, vt, "custom_usable");
        const char *unusable = mm_facts_get_vt(facts, vt, "custom_unusable");
        g_autofree char *all = g_strdup_printf("%s,%s", usable ? usable : "", unusable ? unusable : "");
        g_auto(GStrv) known = g_strsplit(all, ",", -1);
        const char *model = mm_cpu_mode_model(mode);
        const char *hint;

        pf->stats->models_checked++;
        if (g_strv_contains((const char *const *)known, model) || said(pf, "model %s %s %s", h->host->name, g->arch, model))
            return;
        hint = mm_suggest(model, (const char *const *)known, -1);
        mm_problems_add(pf->problems, MM_PROBLEM_ERROR, file, line, group, key,
                        "%s: %s's hypervisor (%s, %s guests) knows no CPU model '%s'%s%s%s; fix the name (the host's "
                        "models: `virsh domcapabilities --arch %s --virttype %s` on %s)",
                        mode_text, h->host->name, vt, g->arch, model, hint ? " (did you mean '" : "",
                        hint ? hint : "", hint ? "'?)" : "", g->arch, vt, h->host->name);
        return;
    }
    {
        const char *fact = mode->kind == MM_MODE_HOST_MODEL       ? "host_model"
                         : mode->kind == MM_MODE_HOST_PASSTHROUGH ? "host_passthrough"
                                                                  : "maximum";
        const char *v = mm_facts_get_vt(facts, vt, fact);

        if (g_strcmp0(v, "yes") == 0 || expected_fail || said(pf, "mode %s %s %s", h->host->name, g->arch, mode_text))
            return;
        mm_problems_add(pf->problems, MM_PROBLEM_WARNING, file, line, group, key,
                        "%s: %s cannot express it for %s guests under %s (domcapabilities: not supported), so its "
                        "cases there will be start-failed; say so in [expect] (e.g. */*/%s = start-failed: not "
                        "supported under %s) or drop the mode",
                        mode_text, h->host->name, g->arch, vt, mode_text, vt);
    }
}

static void
want_file(HostState *h, const MmGuest *g, const char *path)
{
    if (!path || g_hash_table_contains(h->file_owner, path))
        return;
    g_ptr_array_add(h->files, g_strdup(path));
    g_hash_table_insert(h->file_owner, h->files->pdata[h->files->len - 1], (gpointer)g);
}

/* The guest key that names PATH, for the problem's location. */
static const char *
file_key(const MmGuest *g, const char *path)
{
    return g_strcmp0(g->kernel, path) == 0 ? "kernel" : g_strcmp0(g->initrd, path) == 0 ? "initrd" : "disk";
}

static void
check_files(Preflight *pf, HostState *h)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(MmSsh) ssh = NULL;
    g_autoptr(GString) cmd = g_string_new("for f in");
    g_autofree char *out = NULL;
    g_auto(GStrv) missing = NULL;

    if (!h->files->len || !h->conn)
        return;
    if (!(ssh = mm_host_ssh(h->host, &err))) {
        mm_problems_add(pf->problems, MM_PROBLEM_WARNING, h->host->file, 0, NULL, NULL,
                        "%s: guest files not checked: %s", h->host->name,
                        err ? err->message : "the host has no ssh (set ssh, ssh_key, known_hosts to check them)");
        return;
    }
    for (guint i = 0; i < h->files->len; i++) {
        g_autofree char *q = g_shell_quote(h->files->pdata[i]);
        g_string_append_printf(cmd, " %s", q);
    }
    /* Prints the paths that are not readable; exits 0 either way. */
    g_string_append(cmd, "; do test -r \"$f\" || printf '%s\\n' \"$f\"; done");
    if (!mm_ssh_exec(ssh, cmd->str, 30, &out, &err)) {
        mm_problems_add(pf->problems, MM_PROBLEM_WARNING, h->host->file, 0, NULL, NULL,
                        "%s: guest files not checked: %s", h->host->name, err->message);
        return;
    }
    pf->stats->files_checked += h->files->len;
    missing = g_strsplit(out, "\n", -1);
    for (int i = 0; missing[i]; i++) {
        const MmGuest *g;
        g_autofree char *group = NULL;

        if (!*missing[i] || !(g = g_hash_table_lookup(h->file_owner, missing[i])))
            continue;
        group = g_strdup_printf("guest:%s", g->name);
        mm_problems_add(pf->problems, MM_PROBLEM_ERROR, g->file,
                        mm_scenario_key_line(pf->sc, g->file, group, file_key(g, missing[i])), group,
                        file_key(g, missing[i]),
                        "%s is not readable on %s (checked over ssh: test -r); fix the path, or put the file there: "
                        "every host a case starts this guest on needs it",
                        missing[i], h->host->name);
    }
}

void
mm_preflight(const MmScenario *sc, const MmMatrix *m, MmHostPool *pool, GPtrArray *problems, MmPreflightStats *stats)
{
    Preflight pf = { .sc = sc, .pool = pool, .problems = problems, .stats = stats };
    GHashTableIter it;
    gpointer v;

    *stats = (MmPreflightStats){ 0 };
    pf.hosts = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)host_state_free);
    pf.said = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < m->cases->len; i++) {
        const MmCase *c = m->cases->pdata[i];
        const MmMatrixSpec *spec = matrix_of(sc, c);
        g_autofree char *group = spec && spec->name[0] ? g_strdup_printf("matrix:%s", spec->name) : g_strdup("matrix");
        HostState *src, *dst;
        bool cannot_start = c->expected_flaky || c->expected == MM_OUTCOME_START_FAILED ||
                            c->expected == MM_OUTCOME_NA;

        if (c->na_reason)
            continue;
        src = state_of(&pf, c->src);
        dst = state_of(&pf, c->dst);
        want_file(src, c->guest, c->guest->kernel);
        want_file(src, c->guest, c->guest->initrd);
        want_file(src, c->guest, c->guest->disk);
        if (spec)
            check_mode(&pf, src, c->guest, c->mode, c->mode_text, spec->file, group, "modes", cannot_start);
        /* The hard reboot starts the guest in the destination's default (or NUMA) mode, there. */
        if (c->hard_reboot) {
            const char *text = NULL, *key = NULL;
            const MmCpuMode *mode = mm_case_reboot_mode(c, &text, &key);
            g_autofree char *hgroup = g_strdup_printf("host:%s", c->dst->name);
            bool reboot_expected_fail = c->expected_flaky || c->expected == MM_OUTCOME_REBOOT_FAILED;

            if (mode)
                check_mode(&pf, dst, c->guest, mode, text, c->dst->file, hgroup, key, reboot_expected_fail);
        }
    }
    g_hash_table_iter_init(&it, pf.hosts);
    while (g_hash_table_iter_next(&it, NULL, &v))
        check_files(&pf, v);
    g_hash_table_unref(pf.hosts);
    g_hash_table_unref(pf.said);
}
