/* test-scheduler.c: which case runs next (host capacities, longest pair queue first) and the
 * shard split, from tables; and a whole simulated night that never over-books a host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

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

/* Every shard split of hygon.ini: each case in exactly one shard, no host in two shards, and
 * the groups spread over the shards. */
static void
test_shards(void **state)
{
    g_autoptr(MmScenario) sc = load(MM_SOURCE_DIR "/scenarios/hygon.ini");
    g_autoptr(MmMatrix) m = mm_matrix_expand(sc, NULL);

    (void)state;
    for (guint n = 1; n <= 4; n++) {
        g_autofree guint *owner = g_new0(guint, m->cases->len);
        g_autoptr(GHashTable) host_shard = g_hash_table_new(g_str_hash, g_str_equal);
        guint groups = 0, nonempty = 0;

        for (guint k = 1; k <= n; k++) {
            g_autoptr(GArray) mine = mm_shard_cases(m->cases, k, n, &groups);

            nonempty += mine->len > 0;
            for (guint i = 0; i < mine->len; i++) {
                guint idx = g_array_index(mine, guint, i);
                const MmCase *c = m->cases->pdata[idx];
                const MmHost *hs[] = { c->src, c->dst };

                assert_true(i == 0 || idx > g_array_index(mine, guint, i - 1));   /* plan order */
                assert_int_equal(owner[idx], 0);
                owner[idx] = k;
                for (int h = 0; h < 2; h++) {
                    guint seen = GPOINTER_TO_UINT(g_hash_table_lookup(host_shard, hs[h]->name));
                    if (seen && seen != k)
                        fail_msg("%s in shards %u and %u of %u", hs[h]->name, seen, k, n);
                    g_hash_table_insert(host_shard, (gpointer)hs[h]->name, GUINT_TO_POINTER(k));
                }
            }
        }
        for (guint i = 0; i < m->cases->len; i++)
            assert_true(owner[i] >= 1);
        assert_int_equal(nonempty, MIN(n, groups));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next),
        cmocka_unit_test(test_simulated_night),
        cmocka_unit_test(test_shards),
    };
    return cmocka_run_group_tests_name("scheduler", tests, NULL, NULL);
}
