/* matrix.c: scenario → ordered cases.
 *
 * Order is the scenario's own: matrix groups as written, then pairs as listed (a glob
 * expands in host definition order), guests, modes, repeats. Nothing depends on hash
 * order, so IDs and order are the same on every machine and every run. */
#include "migmatrix/matrix.h"

#include <string.h>

#include "migmatrix/json.h"
#include "migmatrix/util.h"

void
mm_case_free(MmCase *c)
{
    if (!c)
        return;
    g_free(c->id);
    g_free(c->mode_text);
    g_free(c->na_reason);
    g_free(c);
}

void
mm_matrix_free(MmMatrix *m)
{
    if (!m)
        return;
    g_clear_pointer(&m->cases, g_ptr_array_unref);
    g_free(m->duplicate_example);
    g_free(m->duplicate_group);
    g_free(m);
}

typedef struct {
    const MmHost *src;
    const MmHost *dst;
} Pair;

static void
expand_pairs(const MmScenario *sc, char **specs, GArray *out)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_direct_hash, g_direct_equal);
    guint n = sc->hosts->len;

    for (int i = 0; specs && specs[i]; i++) {
        const char *spec = specs[i];
        const char *gt = strchr(spec, '>');
        g_autofree char *src = NULL;
        const char *dst;

        if (strcmp(spec, "all") == 0) {
            src = g_strdup("*");
            dst = "*";
        } else {
            src = g_strndup(spec, gt - spec);
            dst = gt + 1;
        }
        for (guint s = 0; s < n; s++) {
            const MmHost *hs = sc->hosts->pdata[s];

            if (!g_pattern_match_simple(src, hs->name))
                continue;
            for (guint d = 0; d < n; d++) {
                const MmHost *hd = sc->hosts->pdata[d];
                gpointer key = GUINT_TO_POINTER(s * n + d + 1);
                Pair p = { hs, hd };

                /* A glob like "hygon-*>hygon-*" means every pair among them, not self-migration. */
                if (s == d || !g_pattern_match_simple(dst, hd->name) || g_hash_table_contains(seen, key))
                    continue;
                g_hash_table_add(seen, key);
                g_array_append_val(out, p);
            }
        }
    }
}

static void
expand_guests(const MmScenario *sc, char **specs, GPtrArray *out)
{
    for (int i = 0; specs && specs[i]; i++) {
        for (guint g = 0; g < sc->guests->len; g++) {
            MmGuest *guest = sc->guests->pdata[g];

            if (g_pattern_match_simple(specs[i], guest->name) && !g_ptr_array_find(out, guest, NULL))
                g_ptr_array_add(out, guest);
        }
    }
}

static GPtrArray *
compile_globs(char **globs)
{
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)g_pattern_spec_free);

    for (int i = 0; globs && globs[i]; i++)
        g_ptr_array_add(out, g_pattern_spec_new(globs[i]));
    return out;
}

static bool
any_match(GPtrArray *specs, const char *id, gsize len)
{
    for (guint i = 0; i < specs->len; i++)
        if (g_pattern_spec_match(specs->pdata[i], len, id, NULL))
            return true;
    return false;
}

const MmCpuMode *
mm_case_reboot_mode(const MmCase *c, const char **text, const char **key)
{
    const MmHost *dst = c->dst;

    if (c->guest->numa_cells && dst->has_numa_cpu_mode) {
        *text = dst->numa_cpu_mode_text;
        *key = "numa_cpu_mode";
        return &dst->numa_cpu_mode;
    }
    *text = dst->default_cpu_mode_text;
    *key = "default_cpu_mode";
    return dst->has_default_cpu_mode ? &dst->default_cpu_mode : NULL;
}

static bool
same_mode(const MmCpuMode *a, const MmCpuMode *b)
{
    return a->kind == b->kind && g_strcmp0(a->model, b->model) == 0;
}

static char *
na_reason_for(const MmHost *src, const MmHost *dst, const MmGuest *guest, const MmCpuMode *mode)
{
    if (strcmp(src->arch, dst->arch) != 0)
        return g_strdup_printf("cross-arch pair (%s>%s)", src->arch, dst->arch);
    /* TCG emulates any arch; KVM runs only the host's own. */
    if (strcmp(guest->arch, src->arch) != 0 && (strcmp(src->virt_type, "kvm") == 0 || strcmp(dst->virt_type, "kvm") == 0))
        return g_strdup_printf("%s guest on %s KVM hosts (needs virt_type = qemu)", guest->arch, src->arch);
    /* The platform forces one mode on NUMA guests (the study: host-model on x86, host-passthrough
     * on ARM); the guest is never started in another, on either host of the pair. */
    if (guest->numa_cells) {
        const MmHost *hosts[] = { src, dst };

        for (int i = 0; i < 2; i++) {
            if (hosts[i]->has_numa_cpu_mode && !same_mode(&hosts[i]->numa_cpu_mode, mode))
                return g_strdup_printf("NUMA guest: %s runs NUMA guests in %s only ([host:%s] numa_cpu_mode)",
                                       hosts[i]->name, hosts[i]->numa_cpu_mode_text, hosts[i]->name);
        }
    }
    return NULL;
}

static void
apply_expectation(MmScenario *sc, MmCase *c, gsize id_len)
{
    MmExpectRule *rule = NULL;

    /* Last match wins: general rules first, exceptions after, as in the scenario text. */
    for (guint i = sc->expect->len; i-- > 0;) {
        MmExpectRule *r = sc->expect->pdata[i];

        if (g_pattern_spec_match(r->pattern, id_len, c->id, NULL)) {
            rule = r;
            break;
        }
    }
    c->expected = MM_OUTCOME_PASS;
    if (rule) {
        rule->hits++;
        c->expected = rule->outcome;
        c->expected_reason = rule->reason;
        c->expected_flaky = rule->flaky;
    }
    if (c->na_reason) {
        c->expected = MM_OUTCOME_NA;
        c->expected_flaky = false;
        c->expected_reason = NULL;
    } else if (rule && !rule->flaky && rule->outcome == MM_OUTCOME_NA) {
        c->na_reason = g_strdup(rule->reason ? rule->reason : "declared na in [expect]");
    }
}

MmMatrix *
mm_matrix_expand(MmScenario *sc, const char *filter)
{
    g_autoptr(MmMatrix) m = g_new0(MmMatrix, 1);
    g_autoptr(GHashTable) ids = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPatternSpec) filter_spec = filter ? g_pattern_spec_new(filter) : NULL;

    m->cases = g_ptr_array_new_with_free_func((GDestroyNotify)mm_case_free);
    for (guint i = 0; i < sc->expect->len; i++)
        ((MmExpectRule *)sc->expect->pdata[i])->hits = 0;

    for (guint mi = 0; mi < sc->matrices->len; mi++) {
        const MmMatrixSpec *spec = sc->matrices->pdata[mi];
        g_autoptr(GArray) pairs = g_array_new(FALSE, FALSE, sizeof(Pair));
        g_autoptr(GPtrArray) guests = g_ptr_array_new();
        g_autoptr(GPtrArray) only = compile_globs(spec->only);
        g_autoptr(GPtrArray) exclude = compile_globs(spec->exclude);
        g_autofree char **mode_texts = g_new0(char *, spec->modes->len + 1);

        expand_pairs(sc, spec->pairs, pairs);
        expand_guests(sc, spec->guests, guests);
        for (guint k = 0; k < spec->modes->len; k++)
            mode_texts[k] = mm_cpu_mode_to_string(&g_array_index(spec->modes, MmCpuMode, k));

        for (guint p = 0; p < pairs->len; p++) {
            const Pair *pair = &g_array_index(pairs, Pair, p);

            for (guint g = 0; g < guests->len; g++) {
                const MmGuest *guest = guests->pdata[g];

                for (guint k = 0; k < spec->modes->len; k++) {
                    for (guint r = 1; r <= spec->repeat; r++) {
                        g_autoptr(MmCase) c = g_new0(MmCase, 1);
                        gsize len;

                        c->id = spec->repeat > 1
                                    ? g_strdup_printf("%s>%s/%s/%s#%u", pair->src->name, pair->dst->name,
                                                      guest->name, mode_texts[k], r)
                                    : g_strdup_printf("%s>%s/%s/%s", pair->src->name, pair->dst->name,
                                                      guest->name, mode_texts[k]);
                        len = strlen(c->id);
                        if (g_hash_table_contains(ids, c->id)) {
                            if (!m->duplicates++) {
                                m->duplicate_example = g_strdup(c->id);
                                m->duplicate_group = g_strdup(spec->name);
                            }
                            continue;
                        }
                        if ((only->len && !any_match(only, c->id, len)) || any_match(exclude, c->id, len) ||
                            (filter_spec && !g_pattern_spec_match(filter_spec, len, c->id, NULL))) {
                            m->excluded++;
                            continue;
                        }
                        c->src = pair->src;
                        c->dst = pair->dst;
                        c->guest = guest;
                        c->mode = &g_array_index(spec->modes, MmCpuMode, k);
                        c->mode_text = g_strdup(mode_texts[k]);
                        c->repeat = r;
                        c->matrix = spec->name;
                        c->na_reason = na_reason_for(pair->src, pair->dst, guest, c->mode);
                        c->compare_cpu = spec->enable_compare_cpu >= 0 ? spec->enable_compare_cpu : sc->enable_compare_cpu;
                        c->ping_pong = spec->ping_pong >= 0 ? spec->ping_pong : sc->ping_pong;
                        c->hard_reboot = spec->hard_reboot >= 0 ? spec->hard_reboot : sc->hard_reboot;
                        c->hotplug_vcpus = spec->hotplug_vcpus >= 0 ? (guint)spec->hotplug_vcpus : guest->hotplug_vcpus;
                        apply_expectation(sc, c, len);
                        g_hash_table_add(ids, c->id);
                        g_ptr_array_add(m->cases, g_steal_pointer(&c));
                    }
                }
            }
        }
        for (guint k = 0; k < spec->modes->len; k++)
            g_free(mode_texts[k]);
    }
    return g_steal_pointer(&m);
}

void
mm_matrix_check(const MmScenario *sc, const MmMatrix *m, bool filtered, GPtrArray *problems)
{
    if (m->cases->len == 0) {
        mm_problems_add(problems, MM_PROBLEM_ERROR, sc->path, 0, "matrix", NULL,
                        filtered ? "no case matches the filter; check the glob against `migmatrix plan` IDs"
                                 : "the matrix expands to no case; check pairs, guests, modes, only and exclude");
        return;
    }
    if (filtered)
        return;
    if (m->duplicates) {
        g_autofree char *group = m->duplicate_group[0] ? g_strdup_printf("matrix:%s", m->duplicate_group)
                                                       : g_strdup("matrix");
        mm_problems_add(problems, MM_PROBLEM_WARNING, sc->path, 0, group, NULL,
                        "%u case(s) of this group have the ID of an earlier group's case (e.g. %s) and are "
                        "dropped, with their settings; use another guest, mode or pair to keep them",
                        m->duplicates, m->duplicate_example);
    }
    for (guint i = 0; i < sc->expect->len; i++) {
        const MmExpectRule *r = sc->expect->pdata[i];

        if (r->hits == 0)
            mm_problems_add(problems, MM_PROBLEM_WARNING, r->file, r->line, "expect", r->glob,
                            "matches no case of the matrix (or a later rule always wins); fix the glob or "
                            "remove the rule");
    }
}

/* ---- rendering ---------------------------------------------------------------------------- */

static void
format_expectation(const MmCase *c, GString *out)
{
    if (c->na_reason) {
        g_string_append_printf(out, "na: %s", c->na_reason);
        return;
    }
    g_string_append(out, c->expected_flaky ? "flaky" : mm_outcome_name(c->expected));
    if (c->expected_reason)
        g_string_append_printf(out, ": %s", c->expected_reason);
}

void
mm_matrix_format_text(const MmMatrix *m, GString *out)
{
    guint width = 4;
    guint counts[MM_OUTCOME_LAST] = { 0 };
    guint flaky = 0, na = 0;

    for (guint i = 0; i < m->cases->len; i++)
        width = MAX(width, strlen(((MmCase *)m->cases->pdata[i])->id));

    g_string_append_printf(out, "%-*s  %s\n", (int)width, "CASE", "EXPECT");
    for (guint i = 0; i < m->cases->len; i++) {
        const MmCase *c = m->cases->pdata[i];

        g_string_append_printf(out, "%-*s  ", (int)width, c->id);
        format_expectation(c, out);
        g_string_append_c(out, '\n');
        if (c->na_reason)
            na++;
        else if (c->expected_flaky)
            flaky++;
        else
            counts[c->expected]++;
    }
    {
        g_autofree char *cases = mm_count(m->cases->len, "case", "cases");
        g_string_append_printf(out, "\n%s: %u to run, %u n/a", cases, m->cases->len - na, na);
    }
    if (m->excluded)
        g_string_append_printf(out, ", %u excluded", m->excluded);
    if (m->duplicates)
        g_string_append_printf(out, ", %u duplicate IDs dropped", m->duplicates);
    g_string_append(out, "\nexpected:");
    for (int o = 0; o < MM_OUTCOME_LAST; o++)
        if (counts[o] && o != MM_OUTCOME_NA)
            g_string_append_printf(out, " %s %u,", mm_outcome_name(o), counts[o]);
    if (flaky)
        g_string_append_printf(out, " flaky %u,", flaky);
    if (out->str[out->len - 1] == ',')
        g_string_truncate(out, out->len - 1);
    else
        g_string_append(out, " nothing to run");
    g_string_append_c(out, '\n');
}

void
mm_matrix_format_json(const MmScenario *sc, const MmMatrix *m, GString *out)
{
    MmJson j;
    guint na = 0;

    mm_json_init(&j, out, true);
    mm_json_begin_object(&j);
    mm_json_kv_string(&j, "scenario", sc->path);
    mm_json_kv_string(&j, "name", sc->name);
    mm_json_key(&j, "cases");
    mm_json_begin_array(&j);
    for (guint i = 0; i < m->cases->len; i++) {
        const MmCase *c = m->cases->pdata[i];

        na += c->na_reason != NULL;
        mm_json_begin_object(&j);
        mm_json_kv_string(&j, "id", c->id);
        mm_json_kv_string(&j, "src", c->src->name);
        mm_json_kv_string(&j, "dst", c->dst->name);
        mm_json_kv_string(&j, "guest", c->guest->name);
        mm_json_kv_string(&j, "mode", c->mode_text);
        mm_json_kv_int(&j, "repeat", c->repeat);
        mm_json_kv_string(&j, "matrix", c->matrix);
        mm_json_kv_bool(&j, "applicable", c->na_reason == NULL);
        mm_json_kv_string(&j, "na_reason", c->na_reason);
        mm_json_kv_string(&j, "expected", c->expected_flaky ? "flaky" : mm_outcome_name(c->expected));
        mm_json_kv_string(&j, "expected_reason", c->expected_reason);
        mm_json_kv_bool(&j, "enable_compare_cpu", c->compare_cpu);
        mm_json_kv_bool(&j, "ping_pong", c->ping_pong);
        mm_json_kv_bool(&j, "hard_reboot", c->hard_reboot);
        mm_json_end_object(&j);
    }
    mm_json_end_array(&j);
    mm_json_key(&j, "counts");
    mm_json_begin_object(&j);
    mm_json_kv_int(&j, "total", m->cases->len);
    mm_json_kv_int(&j, "run", m->cases->len - na);
    mm_json_kv_int(&j, "na", na);
    mm_json_kv_int(&j, "excluded", m->excluded);
    mm_json_end_object(&j);
    mm_json_end_object(&j);
    g_string_append_c(out, '\n');
    mm_json_clear(&j);
}
