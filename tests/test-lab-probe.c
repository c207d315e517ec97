/* test-lab-probe.c [lab]: `migmatrix probe` against the real local lab: three libvirtd +
 * QEMU hosts in namespaces. Asserts values the lab really has, not just that probe ran. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <libvirt/libvirt.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "lab.h"
#include "migmatrix/dossier.h"
#include "migmatrix/hosts.h"
#include "migmatrix/store.h"

/* The group's lab (the fixture's state), for the helpers below. */
static MmTestLab *lab;

#define RUN(out, err, ...) mm_test_run_migmatrix((const char *const[]){ __VA_ARGS__, NULL }, out, err)

static char *
write_scenario(const char *name, const char *text)
{
    char *path = g_build_filename(lab->scenario_dir, name, NULL);
    assert_true(g_file_set_contents(path, text, -1, NULL));
    return path;
}

static GHashTable *
facts_of(const char *db, const char *host)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) s = mm_store_open(db, &err);
    g_autoptr(GPtrArray) runs = mm_store_runs_list(s, &err);
    const MmRunRecord *latest;

    assert_non_null(runs);
    assert_true(runs->len > 0);
    latest = runs->pdata[0];
    assert_string_equal(latest->kind, "probe");
    return mm_store_host_facts(s, latest->id, host, &err);
}

static char *
lab_uri(int i)
{
    return g_strdup_printf("qemu+ssh://root@10.200.0.%d/system?command=%s/bin/ssh", i, lab->dir);
}

static void
test_probe_all_hosts(void **state)
{
    g_autofree char *out = NULL, *err = NULL;
    g_autofree char *db = g_build_filename(lab->scenario_dir, "probe.db", NULL);
    g_autoptr(GPtrArray) uuids = mm_test_lab_uuids(lab);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    g_autofree char *qemu_out = NULL;
    g_autofree char *libvirt_version = mm_version_string(LIBVIR_VERSION_NUMBER);
    struct utsname uts;
    const char *hosts[] = { "lab-a", "lab-b", "lab-c", "lab-d" };
    int rc;

    (void)state;
    uname(&uts);
    assert_true(g_spawn_command_line_sync("qemu-system-x86_64 --version", &qemu_out, NULL, NULL, NULL));
    rc = RUN(&out, &err, "probe", "scenarios/local.ini", "--db", db);
    if (rc != 0)
        fail_msg("probe exited %d:\n%s\n%s", rc, out, err);
    assert_int_equal(uuids->len, 4);
    for (guint i = 0; i < G_N_ELEMENTS(hosts); i++) {
        g_autoptr(GHashTable) f = facts_of(db, hosts[i]);
        const char *vt = mm_facts_get(f, "virt_type");
        const char *uuid = mm_facts_get(f, "host_uuid");
        g_autofree char *qv = g_strdup_printf("version %s", mm_facts_get(f, "qemu_version"));

        /* Each host is its own libvirtd: a distinct UUID, the one lab-up configured. */
        assert_non_null(uuid);
        assert_false(g_hash_table_contains(seen, uuid));
        g_hash_table_add(seen, (gpointer)g_intern_string(uuid));
        assert_string_equal(uuid, uuids->pdata[i]);
        assert_string_equal(mm_facts_get(f, "hostname"), hosts[i]);
        /* The virt type lab-up decided, and libvirt's real answer for it. */
        assert_true(strcmp(vt, "kvm") == 0 || strcmp(vt, "qemu") == 0);
        assert_string_equal(mm_facts_get_vt(f, vt, "domcaps"), "yes");
        if (strcmp(vt, "qemu") == 0)   /* TCG cannot pass a host CPU through */
            assert_string_equal(mm_facts_get_vt(f, vt, "host_passthrough"), "no");
        assert_string_equal(mm_facts_get_vt(f, "qemu", "host_model"), "yes");
        assert_non_null(mm_facts_get_vt(f, "qemu", "host_model_cpu"));
        assert_true(strlen(mm_facts_get_vt(f, "qemu", "host_model_require")) > 0);
        assert_non_null(strstr(mm_facts_get_vt(f, "qemu", "custom_usable"), "qemu64"));
        /* Versions: the ones installed here (the namespaces share the kernel). */
        assert_string_equal(mm_facts_get(f, "libvirt_version"), libvirt_version);
        assert_non_null(strstr(qemu_out, qv));
        assert_string_equal(mm_facts_get(f, "kernel_version"), uts.release);
        assert_string_equal(mm_facts_get(f, "arch"), "x86_64");
        assert_non_null(mm_facts_get(f, "cpuinfo_model"));
        assert_non_null(mm_facts_get(f, "nested"));
        assert_string_equal(mm_facts_get(f, "source"), "live");
        assert_null(mm_facts_get(f, "error"));
        /* And the table row says the same. */
        assert_non_null(strstr(out, hosts[i]));
    }
    assert_non_null(strstr(out, "host-model resolves to"));
    assert_non_null(strstr(err, "probed 4 of 4 hosts"));

    /* The live CPU of custom:Westmere, which local.ini runs between lab-a and lab-c, where lab-c's
     * QEMU blocks part of it: probed on those two hosts alone, and what QEMU really gave. */
    assert_non_null(strstr(err, "probed 2 live CPU(s) for predict"));
    {
        g_autoptr(GHashTable) a = facts_of(db, "lab-a");
        g_autoptr(GHashTable) c = facts_of(db, "lab-c");
        g_autoptr(GHashTable) b = facts_of(db, "lab-b");
        const char *a_req = mm_facts_get(a, "qemu.live_cpu.Westmere.require");
        const char *c_req = mm_facts_get(c, "qemu.live_cpu.Westmere.require");
        const char *c_dis = mm_facts_get(c, "qemu.live_cpu.Westmere.disable");

        assert_non_null(a_req);
        assert_non_null(c_req);
        assert_non_null(c_dis);
        assert_true(mm_facts_list_has(a_req, "pclmuldq"));   /* QEMU's Westmere, beyond libvirt's */
        assert_false(mm_facts_list_has(c_req, "pclmuldq"));  /* blocked on lab-c, and not named */
        assert_true(mm_facts_list_has(c_dis, "aes") && mm_facts_list_has(c_dis, "sse4.2"));
        assert_string_equal(mm_facts_get(a, "qemu.live_cpu.Westmere.disable"), "");
        assert_null(mm_facts_get(b, "qemu.live_cpu.Westmere.require"));
        assert_null(mm_facts_get(a, "qemu.live_cpu.Westmere.error"));
    }
    /* And the probe domains are gone. */
    for (int i = 1; i <= 3; i += 2) {
        g_autofree char *uri = lab_uri(i);
        g_autoptr(virConnect) conn = virConnectOpen(uri);

        mm_test_lab_assert_no_domains(conn, "mm-probe-cpu-", uri);
    }
}

/* A known_hosts file NAME with lab-b's host key filed under lab-a's address: a man in the
 * middle, as far as a client can tell. */
static char *
wrong_key_known_hosts(const char *name)
{
    g_autofree char *kh_path = g_build_filename(lab->dir, "ssh", "known_hosts", NULL);
    g_autofree char *kh = NULL;
    g_auto(GStrv) lines = NULL;
    g_autofree char *line = NULL;

    assert_true(g_file_get_contents(kh_path, &kh, NULL, NULL));
    lines = g_strsplit(kh, "\n", -1);
    line = g_strdup_printf("10.200.0.1%s\n", strchr(lines[1], ' '));   /* "10.200.0.2 ssh-ed25519 AAAA…" */
    return write_scenario(name, line);
}

static void
test_wrong_known_hosts_refused(void **state)
{
    g_autofree char *bad = wrong_key_known_hosts("bad_known_hosts");
    g_autofree char *empty = write_scenario("empty_known_hosts", "");
    g_autofree char *uri = lab_uri(1);
    g_autofree char *out = NULL, *err = NULL;
    g_autofree char *out2 = NULL, *err2 = NULL;
    g_autofree char *db = g_build_filename(lab->scenario_dir, "kh.db", NULL);
    g_autofree char *text = NULL;
    g_autofree char *ini = NULL;

    (void)state;
    text = g_strdup_printf("[host:lab-a]\nuri = %s\nssh = root@10.200.0.1\nssh_key = %s/ssh/id_ed25519\n"
                           "known_hosts = %s\n"
                           "[host:lab-a-new]\nuri = %s\nssh = root@10.200.0.1\nssh_key = %s/ssh/id_ed25519\n"
                           "known_hosts = %s\n"
                           "[guest:g]\nos = none\n[matrix]\npairs = all\nguests = g\nmodes = none\n",
                           uri, lab->dir, bad, uri, lab->dir, empty);
    ini = write_scenario("kh.ini", text);

    assert_int_equal(RUN(&out, &err, "probe", ini, "--db", db, "--host", "lab-a"), 3);
    assert_non_null(strstr(err, "lab-a: SSH host key of 10.200.0.1 does not match"));
    assert_non_null(strstr(err, "ssh-keygen -R 10.200.0.1"));
    assert_non_null(strstr(err, "probed 0 of 1 host;"));

    assert_int_equal(RUN(&out2, &err2, "probe", ini, "--db", db, "--host", "lab-a-new"), 3);
    assert_non_null(strstr(err2, "lab-a-new: SSH host key of 10.200.0.1 (SHA256:"));
    assert_non_null(strstr(err2, "is not in"));
    assert_non_null(strstr(err2, "ssh-keyscan 10.200.0.1 >>"));
}

/* The same lab-a over libvirt's other SSH transport, qemu+libssh, where libvirt itself checks
 * the host key against the URI's known_hosts and asks migmatrix what to do with an unknown one. */
static char *
libssh_scenario(const char *name, const char *known_hosts)
{
    g_autofree char *text = g_strdup_printf(
        "[host:lab-a]\nuri = qemu+libssh://root@10.200.0.1/system?known_hosts=%s&sshauth=privkey&keyfile=%s/ssh/id_ed25519\n"
        "virt_type = qemu\n[guest:g]\nos = none\n[matrix]\npairs = all\nguests = g\nmodes = none\n",
        known_hosts, lab->dir);
    return write_scenario(name, text);
}

static void
test_libssh_transport(void **state)
{
    g_autofree char *kh = g_build_filename(lab->dir, "ssh", "known_hosts", NULL);
    g_autofree char *good = libssh_scenario("libssh.ini", kh);
    g_autofree char *db = g_build_filename(lab->scenario_dir, "libssh.db", NULL);
    g_autoptr(GPtrArray) uuids = mm_test_lab_uuids(lab);
    g_autoptr(GHashTable) f = NULL;
    g_autofree char *out = NULL, *err = NULL;
    int rc;

    (void)state;
    rc = RUN(&out, &err, "probe", good, "--db", db);
    if (rc != 0)
        fail_msg("probe over qemu+libssh exited %d:\n%s\n%s", rc, out, err);
    f = facts_of(db, "lab-a");
    assert_string_equal(mm_facts_get(f, "host_uuid"), uuids->pdata[0]);
    assert_string_equal(mm_facts_get_vt(f, "qemu", "host_model"), "yes");
}

/* libvirt's default auth callback asked on the terminal, and took "y" from stdin as consent to
 * trust an unknown key and write it to known_hosts. migmatrix must refuse whatever stdin says. */
static void
test_libssh_unknown_key_refused(void **state)
{
    g_autofree char *empty = write_scenario("libssh_empty_known_hosts", "");
    g_autofree char *ini = libssh_scenario("libssh-unknown.ini", empty);
    g_autofree char *db = g_build_filename(lab->scenario_dir, "libssh.db", NULL);
    g_autofree char *out = NULL, *err = NULL;
    g_autofree char *after = NULL;

    (void)state;
    assert_int_equal(mm_test_run_migmatrix_input((const char *const[]){ "probe", ini, "--db", db, NULL }, "y\ny\n",
                                                 &out, &err),
                     3);
    assert_non_null(strstr(err, "was not accepted"));
    assert_non_null(strstr(err, "never accepts an unknown or changed host key"));
    assert_null(strstr(out, "(y/n)"));
    assert_true(g_file_get_contents(empty, &after, NULL, NULL));
    assert_string_equal(after, "");
}

static void
test_libssh_changed_key_refused(void **state)
{
    g_autofree char *bad = wrong_key_known_hosts("libssh_bad_known_hosts");
    g_autofree char *ini = libssh_scenario("libssh-changed.ini", bad);
    g_autofree char *db = g_build_filename(lab->scenario_dir, "libssh.db", NULL);
    g_autofree char *out = NULL, *err = NULL;

    (void)state;
    assert_int_equal(RUN(&out, &err, "probe", ini, "--db", db), 3);
    assert_non_null(strstr(err, "differs from stored identity"));
    assert_non_null(strstr(err, "never accepts an unknown or changed host key"));
}

static void
test_unreachable_host(void **state)
{
    g_autofree char *gone = lab_uri(99);
    g_autofree char *inc = g_build_filename(MM_SOURCE_DIR, "scenarios", "lab-generated.inc", NULL);
    g_autofree char *text = g_strdup_printf("[run]\ninclude = %s\n[host:lab-gone]\nuri = %s\n"
                                            "[matrix]\npairs = all\nguests = linux\nmodes = none\n", inc, gone);
    g_autofree char *ini = write_scenario("gone.ini", text);
    g_autofree char *db = g_build_filename(lab->scenario_dir, "gone.db", NULL);
    g_autofree char *out = NULL, *err = NULL;
    g_autoptr(GHashTable) fa = NULL;
    g_autoptr(GHashTable) fg = NULL;

    (void)state;
    assert_int_equal(RUN(&out, &err, "probe", ini, "--db", db), 3);
    assert_non_null(strstr(err, "lab-gone: cannot connect to qemu+ssh://root@10.200.0.99/system"));
    assert_non_null(strstr(err, "probed 4 of 5 hosts"));
    /* The other hosts were still probed and recorded. */
    fa = facts_of(db, "lab-a");
    assert_non_null(mm_facts_get(fa, "host_uuid"));
    fg = facts_of(db, "lab-gone");
    assert_non_null(strstr(mm_facts_get(fg, "error"), "cannot connect"));
    assert_non_null(strstr(out, "probe failed: lab-gone: cannot connect"));
}

static int
setup(void **state)
{
    int rc = mm_test_lab_group_setup(state);

    lab = *state;
    return rc;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_all_hosts),
        cmocka_unit_test(test_wrong_known_hosts_refused),
        cmocka_unit_test(test_unreachable_host),
        cmocka_unit_test(test_libssh_transport),
        cmocka_unit_test(test_libssh_unknown_key_refused),
        cmocka_unit_test(test_libssh_changed_key_refused),
    };
    /* MM_TEST_FILTER=test_foreign_domains: one test of a long suite, while developing. */
    if (g_getenv("MM_TEST_FILTER"))
        cmocka_set_test_filter(g_getenv("MM_TEST_FILTER"));
    return cmocka_run_group_tests_name("lab-probe", tests, setup, mm_test_lab_group_teardown);
}
