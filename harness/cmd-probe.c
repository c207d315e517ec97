/* cmd-probe.c: `migmatrix probe SCENARIO`: what each host's CPU and libvirt offer, recorded in
 * the DB and printed as the seed study's host table. `probe --import HOST FILE…` records a
 * captured dossier for a host that cannot be reached. */
#include <stdio.h>
#include <string.h>

#include "migmatrix/cli.h"
#include "migmatrix/cpumodel.h"
#include "migmatrix/dossier.h"
#include "migmatrix/hosttable.h"
#include "migmatrix/probe.h"
#include "migmatrix/store.h"

typedef struct {
    const MmHost *host;
    GHashTable *facts;
    GError *error;
} ProbeJob;

static void
probe_job_run(gpointer data, gpointer user_data)
{
    ProbeJob *job = data;

    (void)user_data;
    mm_probe_host(job->host, job->facts, &job->error);
}

static bool
store_facts(MmStore *store, gint64 run, const char *host, GHashTable *facts, GError **error)
{
    GHashTableIter it;
    gpointer k, v;

    g_hash_table_iter_init(&it, facts);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (!mm_store_host_fact_set(store, run, host, k, v, error))
            return false;
    return true;
}

static void
print_table(GPtrArray *rows, const char *format, gint64 run, const char *db)
{
    g_autoptr(GString) out = g_string_new(NULL);

    if (strcmp(format, "json") == 0) {
        MmJson j;

        mm_json_init(&j, out, true);
        mm_json_begin_object(&j);
        mm_json_kv_int(&j, "run", run);
        mm_json_kv_string(&j, "db", db);
        mm_json_key(&j, "hosts");
        mm_host_table_json(rows, &j);
        mm_json_end_object(&j);
        mm_json_clear(&j);
        g_string_append_c(out, '\n');
    } else if (strcmp(format, "md") == 0) {
        mm_host_table_markdown(rows, out);
    } else {
        mm_host_table_text(rows, out);
    }
    fputs(out->str, stdout);
}

static int
probe_import(const char *host, const char *virt_type, char **files, const char *db, const char *format)
{
    g_autoptr(GHashTable) facts = mm_facts_new();
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) store = NULL;
    g_autoptr(GPtrArray) rows = g_ptr_array_new();
    g_autofree char *sources = g_strjoinv(",", files);
    MmHostRow row = { .name = host, .facts = facts, .virt_type = virt_type };
    gint64 run;

    /* Capabilities and <cpu> files first: they say the host's own arch, which decides whether
     * a domcapabilities file is for its own guests or another arch's (qemu@aarch64.…). */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; files[i]; i++) {
            if (mm_dossier_file_is_domcaps(files[i]) != (pass == 1))
                continue;
            if (!mm_dossier_import_file(files[i], virt_type, facts, &err)) {
                fprintf(stderr, "migmatrix probe --import: %s\n", err->message);
                return mm_exit_for_error(err);
            }
        }
    /* A host-model <cpu> alone (domcapabilities' or cputestdata's -json.xml) names no arch. A model
     * libvirt's x86 cpu_map knows is an x86_64 CPU; anything else stays without an arch, and
     * predict and baseline then say the dossier lacks it. */
    if (!mm_facts_get(facts, "arch")) {
        const char *model = mm_facts_get_vt(facts, virt_type, "host_model_cpu");
        g_autofree char *xml = model ? mm_cpu_host_xml("x86_64", NULL, model, NULL) : NULL;
        g_autoptr(MmCpuDef) known = xml ? mm_cpu_expand(xml, NULL) : NULL;

        if (known) {
            mm_facts_set(facts, "arch", "x86_64");
            mm_facts_set(facts, "arch_from", "the host-model CPU's model (libvirt's x86 cpu_map)");
        } else {
            fprintf(stderr, "warning: %s: the files name no arch; import the host's capabilities too, or predict and "
                            "baseline cannot use this dossier\n", host);
        }
    }
    /* A capture from another libvirt may name a model this one's cpu_map does not know (a newer
     * libvirt's "Haswell-v2"): say so now, not when baseline or predict meets it. */
    if (mm_facts_get(facts, "arch")) {
        const char *const what[] = { "host CPU", "host-model CPU" };
        const char *const present[] = { mm_facts_get(facts, "cpu_model"),
                                        mm_facts_get_vt(facts, virt_type, "host_model_cpu") };

        for (guint i = 0; i < G_N_ELEMENTS(what); i++) {
            g_autoptr(GError) bad = NULL;
            g_autoptr(MmCpuDef) d = NULL;

            if (!present[i])
                continue;
            if (!(d = mm_cpu_from_facts(facts, i ? virt_type : NULL, mm_facts_get(facts, "arch"), NULL, &bad)))
                fprintf(stderr, "warning: %s: this libvirt's cpu_map cannot use its %s (%s): a capture from another "
                                "libvirt version? predict and baseline will refuse what needs it\n",
                        host, what[i], bad->message);
        }
    }
    mm_facts_set(facts, "source", "import");
    mm_facts_set(facts, "import_files", sources);
    if (!(store = mm_store_open(db, &err)) ||
        !(run = mm_store_run_begin(store, "import", host, files[0], NULL, &err)) ||
        !store_facts(store, run, host, facts, &err) || !mm_store_run_end(store, run, "done", &err)) {
        fprintf(stderr, "migmatrix probe --import: %s\n", err->message);
        return MM_EXIT_INFRA;
    }
    g_ptr_array_add(rows, &row);
    print_table(rows, format, run, db);
    fprintf(stderr, "recorded %s from %d file(s) as run %" G_GINT64_FORMAT " in %s\n", host, g_strv_length(files),
            run, db);
    return MM_EXIT_OK;
}

int
mm_cmd_probe(int argc, char **argv)
{
    g_autofree char *format = NULL;
    g_autofree char *db = NULL;
    g_autofree char *import_host = NULL;
    g_autofree char *virt_type = NULL;
    g_autofree char *only = NULL;
    GOptionEntry entries[] = {
        { "format", 0, 0, G_OPTION_ARG_STRING, &format, "Output: text (default), md or json", "FORMAT" },
        { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Results DB (default: the scenario's [run] db)", "PATH" },
        { "host", 0, 0, G_OPTION_ARG_STRING, &only, "Only hosts whose name matches GLOB", "GLOB" },
        { "import", 0, 0, G_OPTION_ARG_STRING, &import_host,
          "Record captured XML (capabilities, domcapabilities or <cpu>) FILEs for HOST, without a connection",
          "HOST" },
        { "virt-type", 0, 0, G_OPTION_ARG_STRING, &virt_type,
          "With --import: the virt type a <cpu> host-model file describes (kvm, default, or qemu)", "TYPE" },
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(MmScenario) sc = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(MmStore) store = NULL;
    g_autoptr(GPtrArray) jobs = NULL;
    g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func(g_free);
    GThreadPool *pool;
    guint failed = 0;
    const char *dbpath;
    gint64 run;

    if (!mm_cli_parse("probe", "SCENARIO | --import HOST FILE…",
                      "Record each host's CPU, CPU modes, models and versions, and print the host table.", entries,
                      &argc, &argv))
        return MM_EXIT_USAGE;
    if (!format)
        format = g_strdup("text");
    if (strcmp(format, "text") && strcmp(format, "md") && strcmp(format, "json")) {
        mm_cli_usage_error("probe", "--format %s: use text, md or json", format);
        return MM_EXIT_USAGE;
    }
    if (virt_type && strcmp(virt_type, "kvm") && strcmp(virt_type, "qemu")) {
        mm_cli_usage_error("probe", "--virt-type %s: use kvm or qemu", virt_type);
        return MM_EXIT_USAGE;
    }
    if (import_host) {
        if (argc < 2) {
            mm_cli_usage_error("probe", "--import %s needs at least one FILE", import_host);
            return MM_EXIT_USAGE;
        }
        return probe_import(import_host, virt_type ? virt_type : "kvm", argv + 1, mm_cli_db_path(db, NULL),
                            format);
    }
    if (argc != 2) {
        mm_cli_usage_error("probe", "expected exactly one SCENARIO file (or --import HOST FILE…)");
        return MM_EXIT_USAGE;
    }
    if (!(sc = mm_cli_load_scenario(argv[1])))
        return MM_EXIT_USAGE;
    dbpath = mm_cli_db_path(db, sc);
    if (!(store = mm_store_open(dbpath, &err)) ||
        !(run = mm_store_run_begin(store, "probe", sc->name, sc->path, sc->sha256, &err))) {
        fprintf(stderr, "migmatrix probe: %s\n", err->message);
        return MM_EXIT_INFRA;
    }

    /* Hosts are independent: probe them all at once, so one unreachable host costs its
     * timeout once, not once per host after it. */
    jobs = g_ptr_array_new();
    pool = g_thread_pool_new(probe_job_run, NULL, 8, FALSE, NULL);
    for (guint i = 0; i < sc->hosts->len; i++) {
        const MmHost *h = sc->hosts->pdata[i];
        ProbeJob *job;

        if (only && !g_pattern_match_simple(only, h->name))
            continue;
        job = g_new0(ProbeJob, 1);
        job->host = h;
        job->facts = mm_facts_new();
        g_ptr_array_add(jobs, job);
        g_thread_pool_push(pool, job, NULL);
    }
    g_thread_pool_free(pool, FALSE, TRUE);
    /* The live CPUs the plan's predictions need, on the hosts that answered. */
    {
        g_autoptr(GHashTable) host_facts = g_hash_table_new(NULL, NULL);
        g_autoptr(MmMatrix) plan = mm_matrix_expand(sc, NULL);
        g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
        guint asked = 0;

        for (guint i = 0; i < jobs->len; i++) {
            ProbeJob *job = jobs->pdata[i];

            if (!job->error)
                g_hash_table_insert(host_facts, (gpointer)job->host, job->facts);
        }
        if (plan)
            asked = mm_probe_live_cpus_for_plan(plan->cases, host_facts, warnings);
        else
            fprintf(stderr, "warning: %s: its plan does not expand, so no live CPU was probed\n", sc->path);
        for (guint i = 0; i < warnings->len; i++)
            fprintf(stderr, "warning: %s\n", (char *)warnings->pdata[i]);
        if (asked)
            fprintf(stderr, "probed %u live CPU(s) for predict (%u warning(s)): custom models one host's QEMU blocks and "
                            "another's not (qemu.live_cpu.*)\n", asked, warnings->len);
    }

    for (guint i = 0; i < jobs->len; i++) {
        ProbeJob *job = jobs->pdata[i];
        MmHostRow *row = g_new0(MmHostRow, 1);

        mm_facts_set(job->facts, "virt_type", job->host->virt_type);
        mm_facts_set(job->facts, "cpu_label", job->host->cpu);
        if (job->error) {
            failed++;
            mm_facts_set(job->facts, "error", job->error->message);
            fprintf(stderr, "migmatrix probe: %s\n", job->error->message);
        }
        if (!store_facts(store, run, job->host->name, job->facts, &err)) {
            fprintf(stderr, "migmatrix probe: %s\n", err->message);
            return MM_EXIT_INFRA;
        }
        row->name = job->host->name;
        row->facts = job->facts;
        row->virt_type = job->host->virt_type;
        row->cpu_label = job->host->cpu;
        row->error = job->error ? job->error->message : NULL;
        g_ptr_array_add(rows, row);
    }
    if (!mm_store_run_end(store, run, failed ? "failed" : "done", &err))
        fprintf(stderr, "migmatrix probe: %s\n", err->message);
    print_table(rows, format, run, dbpath);
    {
        g_autofree char *hosts = mm_count(jobs->len, "host", "hosts");
        fprintf(stderr, "probed %u of %s; stored as run %" G_GINT64_FORMAT " in %s\n", jobs->len - failed, hosts, run,
                dbpath);
    }

    for (guint i = 0; i < jobs->len; i++) {
        ProbeJob *job = jobs->pdata[i];
        g_hash_table_unref(job->facts);
        g_clear_error(&job->error);
        g_free(job);
    }
    return failed ? MM_EXIT_INFRA : MM_EXIT_OK;
}
