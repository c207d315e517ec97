/* test-scheduler.c: which case runs next (host capacities, longest pair queue first) and the
 * shard split, from tables; and a whole simulated night that never over-books a host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

#include "migmatrix/scheduler.h"
#include "migmatrix/util.h"
#include "testutil.h"

typedef struct {
    const char *why;
    const char *caps;        /* "host=N,…" or "", "plan" for plan order */
    const char *cases;       /* "src>dst*weight,…": item i is the i-th */
    const char *expect;      /* mm_sched_next results, "-" for -1, with "d3" = case 3 done */
} SchedCase;

static const SchedCase sched_cases[] = {
    { "disjoint pairs run at once; a third case waits for its hosts", "", "a>b*2,c>d*2,a>b*2",
      "0 1 - d0 2 -" },
    { "a host in two pairs takes one case at a time", "", "a>b*2,a>c*2", "0 - d0 1" },
    { "max_cases lets a host take more", "a=2", "a>b*2,a>c*2", "0 1 -" },
    { "the pair with the most work left goes first", "", "a>c*2,a>b*2,a>b*2,a>b*2", "1 - d1 2 - d2 0 - d0 3" },
    { "both directions of a pair are one queue, in plan order", "", "a>b*2,b>a*2,c>d*1", "0 2 - d0 1" },
    { "weights count, not case numbers", "", "a>b*1,a>b*1,a>c*4", "2 - d2 0" },
    { "ties go to the pair queued first", "", "c>d*2,a>b*2,a>c*2", "0 1 -" },
    { "a case from a host to itself holds it once", "a=1", "a>a*2,a>b*2", "0 - d0 1" },
    { "one worker keeps plan order, whatever the weights", "plan", "a>c*2,a>b*1,a>c*2", "0 - d0 1 - d1 2" },
};

static void
run_sched_case(const SchedCase *t)
{
    g_autoptr(MmSched) s = mm_sched_new();
    g_auto(GStrv) caps = g_strsplit(t->caps, ",", -1);
    g_auto(GStrv) cases = g_strsplit(t->cases, ",", -1);
    g_auto(GStrv) steps = g_strsplit(t->expect, " ", -1);
    g_autoptr(GString) got = g_string_new(NULL);

    for (guint i = 0; caps[i] && *caps[i]; i++) {
        if (strcmp(caps[i], "plan") == 0) {
            mm_sched_set_plan_order(s, true);
            continue;
        }
        g_auto(GStrv) kv = g_strsplit(caps[i], "=", 2);
        mm_sched_set_capacity(s, kv[0], atoi(kv[1]));
    }
    for (guint i = 0; cases[i]; i++) {
        g_auto(GStrv) p = g_strsplit_set(cases[i], ">*", -1);
        mm_sched_add(s, i, p[0], p[1], g_ascii_strtod(p[2], NULL));
    }
    for (guint i = 0; steps[i]; i++) {
        if (steps[i][0] == 'd') {
            mm_sched_done(s, atoi(steps[i] + 1));
            g_string_append_printf(got, "%s%s", got->len ? " " : "", steps[i]);
            continue;
        }
        gint n = mm_sched_next(s);
        g_string_append_printf(got, "%s", got->len ? " " : "");
        if (n < 0)
            g_string_append(got, "-");
        else
            g_string_append_printf(got, "%d", n);
    }
    if (strcmp(got->str, t->expect) != 0)
        fail_msg("%s: got '%s', expected '%s'", t->why, got->str, t->expect);
}

static MmScenario *
load(const char *path)
{
    g_autoptr(GPtrArray) problems = mm_problems_new();
    MmScenario *sc = mm_scenario_load(path, problems);

    assert_non_null(sc);
    return sc;
}

static void
test_next(void **state)
{
    (void)state;
    for (gsize i = 0; i < G_N_ELEMENTS(sched_cases); i++)
        run_sched_case(&sched_cases[i]);
}

/* hygon.ini's whole plan through the scheduler with 3 workers, cases ending in a fixed
 * pseudo-random order: every case runs once, no host is ever in two cases, and the run ends. */
static void
test_simulated_night(void **state)
{
    g_autoptr(MmScenario) sc = load(MM_SOURCE_DIR "/scenarios/hygon.ini");
    g_autoptr(MmMatrix) m = mm_matrix_expand(sc, NULL);
    g_autoptr(MmSched) s = mm_sched_new();
    g_autoptr(GHashTable) busy = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GArray) running = g_array_new(FALSE, FALSE, sizeof(guint));
    g_autofree guint *ran = g_new0(guint, m->cases->len);
    GRand *rand = g_rand_new_with_seed(11);
    guint queued = 0, max_parallel = 0;

    (void)state;
    for (guint i = 0; i < m->cases->len; i++) {
        const MmCase *c = m->cases->pdata[i];
        if (!c->na_reason) {
            mm_sched_add(s, i, c->src->name, c->dst->name, mm_case_weight(c));
            queued++;
        }
    }
    assert_int_equal(mm_sched_queued(s), queued);
    while (mm_sched_queued(s) || running->len) {
        gint n;

        while (running->len < 3 && (n = mm_sched_next(s)) >= 0) {
            const MmCase *c = m->cases->pdata[n];

            assert_false(g_hash_table_contains(busy, c->src->name));
            assert_false(g_hash_table_contains(busy, c->dst->name));
            g_hash_table_add(busy, (gpointer)c->src->name);
            g_hash_table_add(busy, (gpointer)c->dst->name);
            ran[n]++;
            g_array_append_val(running, n);
        }
        max_parallel = MAX(max_parallel, running->len);
        assert_true(running->len > 0);   /* something can always run: no deadlock */
        {
            guint pick = g_rand_int_range(rand, 0, running->len);
            guint done = g_array_index(running, guint, pick);
            const MmCase *c = m->cases->pdata[done];

            g_array_remove_index(running, pick);
            g_hash_table_remove(busy, c->src->name);
            g_hash_table_remove(busy, c->dst->name);
            mm_sched_done(s, done);
        }
    }
    g_rand_free(rand);
    for (guint i = 0; i < m->cases->len; i++)
        assert_int_equal(ran[i], ((const MmCase *)m->cases->pdata[i])->na_reason ? 0 : 1);
    assert_true(max_parallel >= 2);   /* hygon.ini has disjoint pairs: they did run at once */
}

/* Checks every split of M into 1..4 shards: each case in exactly one shard, in plan order; by
 * host group, no host in two shards; by host pair, no pair in two shards, no shard empty while
 * there are pairs enough, and the load balanced within one pair's weight (LPT). Returns the
 * info of the split into 4. */
static MmShardInfo
check_splits(const MmMatrix *m)
{
    MmShardInfo info = { 0 };

    for (guint n = 1; n <= 4; n++) {
        g_autofree guint *owner = g_new0(guint, m->cases->len);
        g_autoptr(GHashTable) host_shard = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GHashTable) pair_shard = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autofree double *load = g_new0(double, n + 1);
        double heaviest_pair = 0, lo = G_MAXDOUBLE, hi = 0;
        guint nonempty = 0;

        for (guint k = 1; k <= n; k++) {
            g_autoptr(GArray) mine = mm_shard_cases(m->cases, k, n, &info);

            nonempty += mine->len > 0;
            for (guint i = 0; i < mine->len; i++) {
                guint idx = g_array_index(mine, guint, i);
                const MmCase *c = m->cases->pdata[idx];
                const char *a = c->src->name, *b = c->dst->name;
                g_autofree char *pair = strcmp(a, b) < 0 ? g_strconcat(a, "|", b, NULL) : g_strconcat(b, "|", a, NULL);
                guint seen;

                assert_true(i == 0 || idx > g_array_index(mine, guint, i - 1));
                assert_int_equal(owner[idx], 0);
                owner[idx] = k;
                load[k] += c->na_reason ? 0 : mm_case_weight(c);
                seen = GPOINTER_TO_UINT(g_hash_table_lookup(info.by_pair ? pair_shard : host_shard,
                                                            info.by_pair ? pair : a));
                if (seen && seen != k)
                    fail_msg("%s in shards %u and %u of %u", info.by_pair ? pair : a, seen, k, n);
                if (info.by_pair) {
                    g_hash_table_insert(pair_shard, g_strdup(pair), GUINT_TO_POINTER(k));
                } else {
                    const char *hs[] = { a, b };
                    for (int h = 0; h < 2; h++) {
                        seen = GPOINTER_TO_UINT(g_hash_table_lookup(host_shard, hs[h]));
                        if (seen && seen != k)
                            fail_msg("host %s in shards %u and %u of %u", hs[h], seen, k, n);
                        g_hash_table_insert(host_shard, g_strdup(hs[h]), GUINT_TO_POINTER(k));
                    }
                }
            }
        }
        for (guint i = 0; i < m->cases->len; i++)
            assert_true(owner[i] >= 1);
        assert_int_equal(info.by_pair, info.groups < n);
        assert_int_equal(nonempty, MIN(n, info.units));
        if (info.by_pair) {
            /* A pair's weight: the most any one pair adds. */
            g_autoptr(GHashTable) w = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
            for (guint i = 0; i < m->cases->len; i++) {
                const MmCase *c = m->cases->pdata[i];
                const char *a = c->src->name, *b = c->dst->name;
                char *pair = strcmp(a, b) < 0 ? g_strconcat(a, "|", b, NULL) : g_strconcat(b, "|", a, NULL);
                double *v = g_hash_table_lookup(w, pair);
                if (!v) {
                    v = g_new0(double, 1);
                    g_hash_table_insert(w, pair, v);
                } else {
                    g_free(pair);
                }
                *v += c->na_reason ? 0 : mm_case_weight(c);
                heaviest_pair = MAX(heaviest_pair, *v);
            }
            for (guint k = 1; k <= n; k++) {
                lo = MIN(lo, load[k]);
                hi = MAX(hi, load[k]);
            }
            assert_true(hi - lo <= heaviest_pair);
        }
    }
    return info;
}

/* hygon.ini: every host meets every other, so one group: split by host pair. */
static void
test_shards_by_pair(void **state)
{
    g_autoptr(MmScenario) sc = load(MM_SOURCE_DIR "/scenarios/hygon.ini");
    g_autoptr(MmMatrix) m = mm_matrix_expand(sc, NULL);
    MmShardInfo info;

    (void)state;
    info = check_splits(m);
    assert_int_equal(info.groups, 1);
    assert_true(info.by_pair);
    assert_int_equal(info.units, 12);   /* 23 directions, 12 pairs */
}

/* Three islands (a-b, c-d-e, f-g): 2 shards take whole groups, 4 go by pair. */
static void
test_shards_by_group(void **state)
{
    g_autofree char *dir = g_dir_make_tmp("mm-shard-XXXXXX", NULL);
    g_autofree char *ini = g_build_filename(dir, "s.ini", NULL);
    g_autoptr(MmScenario) sc = NULL;
    g_autoptr(MmMatrix) m = NULL;
    MmShardInfo info;

    (void)state;
    assert_true(g_file_set_contents(ini,
                                    "[host:a]\nuri = qemu:///system\n[host:b]\nuri = qemu:///system\n"
                                    "[host:c]\nuri = qemu:///system\n[host:d]\nuri = qemu:///system\n"
                                    "[host:e]\nuri = qemu:///system\n[host:f]\nuri = qemu:///system\n[host:g]\nuri = qemu:///system\n"
                                    "[guest:g]\nos = none\n[matrix]\npairs = a>b, b>a, c>d, d>e, e>c, f>g\n"
                                    "guests = g\nmodes = none, host-model\n",
                                    -1, NULL));
    sc = load(ini);
    m = mm_matrix_expand(sc, NULL);
    info = check_splits(m);
    assert_int_equal(info.groups, 3);
    assert_true(info.by_pair);       /* 4 shards, 3 groups */
    {
        MmShardInfo two;
        g_autoptr(GArray) first = mm_shard_cases(m->cases, 1, 2, &two);
        assert_false(two.by_pair);
        assert_int_equal(first->len, 6);   /* c, d, e: the heaviest group alone */
    }
    g_unlink(ini);
    g_rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next),
        cmocka_unit_test(test_simulated_night),
        cmocka_unit_test(test_shards_by_pair),
        cmocka_unit_test(test_shards_by_group),
    };
    return cmocka_run_group_tests_name("scheduler", tests, NULL, NULL);
}
