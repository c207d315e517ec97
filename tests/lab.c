/* lab.c: lab fixture for the lab-labelled suites. */
#include "lab.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int
sh(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static void
unavailable(const char *why)
{
    if (g_getenv("CI")) {
        fprintf(stderr, "lab tests cannot run: %s; CI must run them\n", why);
        exit(1);
    }
    printf("SKIP: lab tests need %s\n", why);
    exit(77);
}

MmTestLab *
mm_test_lab_up(void)
{
    MmTestLab *lab = g_new0(MmTestLab, 1);
    const char *dir = g_getenv("MM_LAB_DIR");

    if (geteuid() != 0)
        unavailable("root (network namespaces, libvirtd, sshd)");
    if (sh("unshare --net --mount --pid --fork true >/dev/null 2>&1") != 0)
        unavailable("namespaces (unshare --net --mount --pid failed)");
    if (sh("command -v libvirtd >/dev/null && command -v qemu-system-x86_64 >/dev/null") != 0)
        unavailable("libvirtd and QEMU (scripts/install-deps.sh)");

    lab->dir = g_strdup(dir ? dir : "/var/tmp/migmatrix-lab");
    lab->scenario_dir = g_dir_make_tmp("mm-lab-test-XXXXXX", NULL);
    if (sh(MM_SOURCE_DIR "/scripts/lab-status.sh >/dev/null 2>&1") == 0) {
        /* lab-up writes the include into the checkout that started it. */
        if (!g_file_test(MM_SOURCE_DIR "/scenarios/lab-generated.inc", G_FILE_TEST_EXISTS)) {
            fprintf(stderr, "a lab is up, but not from this checkout (no scenarios/lab-generated.inc here); "
                            "run scripts/lab-down.sh from the checkout that started it\n");
            exit(1);
        }
        printf("using the lab that is already up\n");
        return lab;
    }
    /* A half-dead lab from an interrupted run: clear it first. */
    sh(MM_SOURCE_DIR "/scripts/lab-down.sh >/dev/null 2>&1");
    /* Four hosts: lab-d gives two disjoint pairs (lab-a>lab-b beside lab-c>lab-d) for --jobs. */
    if (sh(MM_SOURCE_DIR "/scripts/lab-up.sh 4") != 0) {
        fprintf(stderr, "lab-up.sh failed\n");
        exit(1);
    }
    lab->owned = true;
    return lab;
}

void
mm_test_lab_down(MmTestLab *lab)
{
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", lab->scenario_dir);

    if (lab->owned && sh(MM_SOURCE_DIR "/scripts/lab-down.sh") != 0)
        fprintf(stderr, "lab-down.sh failed\n");
    sh(rm);
    g_free(lab->dir);
    g_free(lab->scenario_dir);
    g_free(lab);
}

GPtrArray *
mm_test_lab_uuids(MmTestLab *lab)
{
    g_autofree char *path = g_build_filename(lab->dir, "state", NULL);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return out;
    lines = g_strsplit(text, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], " ", -1);
        if (g_strv_length(f) >= 8 && strcmp(f[0], "host") == 0)
            g_ptr_array_add(out, g_strdup(f[7]));
    }
    return out;
}

int
mm_test_lab_group_setup(void **state)
{
    *state = mm_test_lab_up();
    return 0;
}

int
mm_test_lab_group_teardown(void **state)
{
    mm_test_lab_down(*state);
    return 0;
}

void
mm_test_lab_assert_no_domains(virConnectPtr conn, const char *prefix, const char *where)
{
    virDomainPtr *doms = NULL;
    int n;

    assert_non_null(conn);
    n = virConnectListAllDomains(conn, &doms, 0);
    assert_true(n >= 0);
    for (int k = 0; k < n; k++) {
        const char *name = virDomainGetName(doms[k]);

        if (g_str_has_prefix(name, prefix))
            fail_msg("%s left on %s", name, where);
        virDomainFree(doms[k]);
    }
    free(doms);
}
