/* report-fixture: writes a results DB with two runs of N cases each (default 104,500), through
 * the store API, for bench/report-scale.sh. 8 steps per case, like a real full cycle; 3 % of
 * cases fail with features; 1 % have an XML diff; run 2 differs from run 1 in 1 % of cases. */
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
    guint hosts = 20, guests = 25, modes = 11;

    if (argc < 2) {
        fprintf(stderr, "usage: report-fixture DB\n");
        return 2;
    }
    if (!(s = mm_store_open(argv[1], &err))) {
        fprintf(stderr, "%s\n", err->message);
        return 3;
    }
    for (int run_no = 0; run_no < 2; run_no++) {
        gint64 run = mm_store_run_begin(s, "run", "scale", "scale.ini", NULL, &err);
        guint n = 0;

        mm_store_begin(s, NULL);
        for (guint h = 0; h < hosts; h++) {
            g_autofree char *host = g_strdup_printf("h%02u", h);
            mm_store_host_fact_set(s, run, host, "libvirt_version", "9.0.0", NULL);
            mm_store_host_fact_set(s, run, host, "qemu_version", run_no ? "7.2.1" : "7.2.0", NULL);
            mm_store_host_fact_set(s, run, host, "kvm.host_model_cpu", "Broadwell", NULL);
        }
        for (guint a = 0; a < hosts; a++)
            for (guint b = 0; b < hosts; b++) {
                if (a == b)
                    continue;
                for (guint g = 0; g < guests; g++)
                    for (guint m = 0; m < modes; m++, n++) {
                        g_autofree char *src = g_strdup_printf("h%02u", a), *dst = g_strdup_printf("h%02u", b);
                        g_autofree char *guest = g_strdup_printf("g%02u", g), *mode = g_strdup_printf("custom:M%02u", m);
                        g_autofree char *id = g_strdup_printf("%s>%s/%s/%s", src, dst, guest, mode);
                        bool fail = n % 33 == 0 || (run_no && n % 97 == 0);
                        MmCaseRecord rec = { .run_id = run, .case_id = id, .src = src, .dst = dst, .guest = guest,
                                             .mode = mode, .expected = (char *)"pass", .duration_ms = -1 };
                        gint64 row = mm_store_case_add(s, &rec, NULL);

                        for (guint p = 0; p < G_N_ELEMENTS(phases); p++)
                            mm_store_step_add(s, row, phases[p], "2026-11-25T05:00:00.000Z", 100 + p, true, "ok", NULL);
                        if (fail) {
                            mm_store_feature_add(s, row, "pclmuldq", "missing", NULL);
                            mm_store_feature_add(s, row, "aes", "missing", NULL);
                        }
                        if (n % 100 == 0)
                            mm_store_artifact_add(s, row, "xml-diff", dst, "~ /domain/cpu/@check: none -> full\n", NULL);
                        mm_store_artifact_add(s, row, "xml-before", src, "<domain>… a few KiB of XML …</domain>", NULL);
                        mm_store_case_finish(s, row, fail ? "migrate-failed" : "pass", fail ? "missing features" : NULL,
                                             fail ? "operation failed: guest CPU doesn't match specification: "
                                                    "missing features: pclmuldq,aes" : NULL,
                                             fail, 7000, NULL);
                    }
            }
        mm_store_commit(s, NULL);
        mm_store_run_end(s, run, "done", NULL);
        printf("run %" G_GINT64_FORMAT ": %u cases\n", run, n);
    }
    return 0;
}
