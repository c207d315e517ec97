/* shard-fixture: writes shard K of N with CASES cases (a run of `run --shard K/N`), through the
 * store API, for bench/merge-scale.sh: 8 steps per case like a full cycle, a job-stats artifact
 * and a migration record each, a lost feature on 3 % of cases, host facts for 4 hosts. */
#include <stdio.h>
#include <stdlib.h>

#include "migmatrix/store.h"

int
main(int argc, char **argv)
{
    static const char *const phases[] = { "prepare", "define", "start", "wait-alive", "snapshot", "migrate",
                                          "verify", "cleanup" };
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) s = NULL;
    g_autofree char *shard = NULL;
    guint k, n, cases;
    gint64 run;

    if (argc != 5) {
        fprintf(stderr, "usage: shard-fixture DB K N CASES\n");
        return 2;
    }
    k = atoi(argv[2]);
    n = atoi(argv[3]);
    cases = atoi(argv[4]);
    shard = g_strdup_printf("%u/%u", k, n);
    if (!(s = mm_store_open(argv[1], &err)) || !(run = mm_store_run_begin(s, "run", "scale", "scale.ini", "f00d", &err)) ||
        !mm_store_run_set_shard(s, run, shard, &err) || !mm_store_begin(s, &err))
        goto fail;
    for (guint h = 0; h < 4; h++) {
        g_autofree char *host = g_strdup_printf("s%02u-h%u", k, h);
        if (!mm_store_host_set_position(s, run, host, k * 4 + h, &err) ||
            !mm_store_host_fact_set(s, run, host, "libvirt_version", "9.0.0", &err))
            goto fail;
    }
    for (guint i = 0; i < cases; i++) {
        g_autofree char *src = g_strdup_printf("s%02u-h%u", k, i % 4), *dst = g_strdup_printf("s%02u-h%u", k, (i + 1) % 4);
        g_autofree char *id = g_strdup_printf("%s>%s/g%03u/custom:M%02u", src, dst, i / 44, i % 11);
        MmCaseRecord rec = { .run_id = run, .case_id = id, .src = src, .dst = dst, .guest = (char *)"g",
                             .mode = (char *)"custom:M", .expected = (char *)"pass", .duration_ms = -1,
                             .plan_index = (gint64)i * n + (k - 1) };
        MmMigrationRecord m = { .leg = (char *)"migrate", .ok = true, .stats = (char *)"completed", .total_ms = 900,
                                .downtime_ms = 20, .data_total = 1 << 28, .data_processed = 1 << 27,
                                .data_remaining = 0, .memory_iterations = 3, .dirty_rate = 0, .postcopy_after_ms = -1 };
        gint64 row = mm_store_case_add(s, &rec, &err);

        if (!row)
            goto fail;
        for (guint p = 0; p < G_N_ELEMENTS(phases); p++)
            if (!mm_store_step_add(s, row, phases[p], "2026-12-03T02:00:00.000Z", 1000 + p, true, "ok", &err))
                goto fail;
        if (!mm_store_artifact_add(s, row, "job-stats", src, "stats=completed\ntime_elapsed=900\n", &err) ||
            !mm_store_migration_add(s, row, &m, &err) ||
            (i % 33 == 0 && !mm_store_feature_add(s, row, "pcid", "lost", &err)) ||
            !mm_store_case_finish(s, row, i % 33 ? "pass" : "cpu-changed", NULL, NULL, i % 33 == 0, 11000, &err))
            goto fail;
    }
    if (!mm_store_commit(s, &err) || !mm_store_run_end(s, run, "done", &err))
        goto fail;
    return 0;
fail:
    fprintf(stderr, "shard-fixture: %s\n", err->message);
    return 3;
}
