/* scenario.h: the scenario language (INI via GKeyFile) parsed into a validated MmScenario.
 *
 * Pure: no network, no DB. Every problem found is reported as an MmProblem naming
 * file, line, group and key, and the loader keeps going so one pass shows them all. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "migmatrix/mode.h"
#include "migmatrix/outcome.h"

typedef enum {
    MM_PROBE_NONE,
    MM_PROBE_CONSOLE,
    MM_PROBE_AGENT,
    MM_PROBE_SSH,
} MmProbeKind;

const char *mm_probe_kind_name(MmProbeKind kind);

typedef enum {
    MM_MIGRATE_LIVE = 1 << 0,
    MM_MIGRATE_P2P = 1 << 1,
    MM_MIGRATE_PERSISTENT = 1 << 2,
    MM_MIGRATE_UNDEFINESOURCE = 1 << 3,
    MM_MIGRATE_AUTO_CONVERGE = 1 << 4,
    MM_MIGRATE_POSTCOPY = 1 << 5,
    MM_MIGRATE_COMPRESSED = 1 << 6,
    MM_MIGRATE_COPY_STORAGE_ALL = 1 << 7,  /* disks are copied: no shared storage needed */
    MM_MIGRATE_UNSAFE = 1 << 8,            /* skip libvirt's shared-storage safety check */
} MmMigrateFlags;

typedef struct {
    char *name;
    char *file;              /* the file that defined it */
    char *uri;
    char *ssh;               /* user@address[:port] as written */
    char *ssh_user;
    char *ssh_address;
    guint ssh_port;
    char *ssh_key;
    char *known_hosts;
    char *arch;
    char *cpu;
    char *virt_type;
    char *default_cpu_mode_text;
    MmCpuMode default_cpu_mode;
    bool has_default_cpu_mode;
    /* The mode the platform forces on NUMA guests here (numa_cpu_mode); unset: any mode. */
    char *numa_cpu_mode_text;
    MmCpuMode numa_cpu_mode;
    bool has_numa_cpu_mode;
    guint max_cases;         /* cases this host may take part in at once; 0: 1 */
} MmHost;

/* user@address[:port], IPv6 as [addr]:port: host.ssh and guest.probe_ssh. */
typedef struct {
    char *user;
    char *address;
    guint port;
} MmSshAddress;

/* Parses TEXT; on failure sets ERROR to the reason, without echoing a password. */
bool mm_ssh_address_parse(const char *text, MmSshAddress *out, GError **error);
void mm_ssh_address_clear(MmSshAddress *a);

typedef struct {
    char *name;
    char *file;
    char *os;
    char *arch;
    guint memory_mib;
    guint vcpus;
    char *disk;
    char *kernel;
    char *initrd;
    char *cmdline;
    char *machine;
    char *probe_text;
    MmProbeKind probe;
    char *probe_pattern;     /* console: regex whose group 1 is the heartbeat counter */
    char *probe_ssh;         /* ssh: user@address[:port] of the guest, as written */
    MmSshAddress probe_ssh_address;  /* parsed at load */
    char *ssh_key;           /* ssh probes: the key to log in with (NULL: libssh's default) */
    char *known_hosts;       /* ssh probes: the guest's host key (NULL: ~/.ssh/known_hosts) */
    char *probe_command;     /* ssh: command proving the guest works */
    /* The guest's own CPUID, read before and after each move (cpu_probe = METHOD:ARG). */
    char *cpu_probe_text;
    MmProbeKind cpu_probe;   /* MM_PROBE_NONE: not measured */
    char *cpu_probe_arg;     /* agent, ssh: the command; console: regex, group 1 the records */
    guint boot_timeout;      /* 0: take [run] boot_timeout */
    /* The platform's own definition (domain_xml = FILE): read and checked at load. */
    char *domain_xml;        /* the path, resolved */
    char *domain_xml_text;   /* its content */
    bool keep_cpu_features;  /* cpu_features = template: keep the template's <feature> policies */
    char *cpu_features;
    /* The built-in builder's devices and shape (also applied over nothing a template has). */
    char *network;           /* a libvirt network: <interface type='network'> */
    char *bridge;            /* a host bridge: <interface type='bridge'> */
    char *nic_model;         /* NULL: virtio (e1000e for os = windows) */
    char *topology;          /* SOCKETS,CORES,THREADS as written */
    guint sockets, cores, threads;  /* 0: no <topology> */
    guint numa;              /* cells; 0: none */
    guint max_vcpus;         /* 0: = vcpus (no hot-plug room) */
    guint hotplug_vcpus;     /* 0: no hot-plug; else plug live up to this count */
    guint numa_cells;        /* NUMA cells the guest has (numa, or the template's): 0 = not NUMA */
    guint template_vcpus;    /* a template's <vcpu> maximum, 0 without template */
    bool template_cache_passthrough;  /* <cache mode='passthrough'>: host CPU modes only */
} MmGuest;

typedef struct {
    char *name;              /* "" for [matrix], NAME for [matrix:NAME] */
    char *file;
    char **pairs;
    char **guests;
    char **modes_text;
    GArray *modes;           /* of MmCpuMode */
    char **exclude;
    char **only;
    guint repeat;
    /* Per-matrix overrides of the [run] keys of the same name: -1 unset, 0 false, 1 true. */
    int enable_compare_cpu;
    int ping_pong;
    int hard_reboot;
    int hotplug_vcpus;       /* -1 unset; else overrides the guest's */
} MmMatrixSpec;

typedef struct {
    char *glob;
    GPatternSpec *pattern;
    MmOutcome outcome;
    bool flaky;              /* "flaky[: reason]": any outcome is accepted */
    char *reason;
    char *file;
    int line;
    guint hits;              /* cases this rule decided, filled by the matrix */
} MmExpectRule;

typedef struct {
    char *path;              /* as given */
    char *sha256;            /* of the top file and every include, in load order */
    char *name;
    char *description;
    char *db;
    char **include;
    bool enable_compare_cpu;
    char **migrate_flags_text;
    guint migrate_flags;     /* MmMigrateFlags */
    guint bandwidth_mib;
    guint boot_timeout;
    guint migrate_timeout;
    guint alive_timeout;
    bool ping_pong;
    bool hard_reboot;
    guint jobs;              /* cases run at once (run --jobs overrides); default 1 */

    GPtrArray *hosts;        /* MmHost*, in definition order */
    GPtrArray *guests;       /* MmGuest* */
    GPtrArray *matrices;     /* MmMatrixSpec* */
    GPtrArray *expect;       /* MmExpectRule*, in file order; the last match wins */
    GHashTable *host_by_name;
    GHashTable *guest_by_name;
    GPtrArray *cpus;         /* MmNamedCpu*, the [cpu:NAME] groups */
    GHashTable *cpu_by_name;
    GHashTable *key_lines;   /* "file\x1fgroup[\x1fkey]" → line, for mm_scenario_key_line */
} MmScenario;

void mm_scenario_free(MmScenario *sc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmScenario, mm_scenario_free)

/* Loads and validates PATH and its includes. Problems (errors and warnings) are
 * appended to PROBLEMS. Returns NULL when there is at least one error. */
MmScenario *mm_scenario_load(const char *path, GPtrArray *problems);

MmHost *mm_scenario_find_host(const MmScenario *sc, const char *name);

/* The line of GROUP/KEY in FILE (one of the scenario's files; the group's line when the key is
 * not written there, 0 when neither is), for problems found after loading. */
int mm_scenario_key_line(const MmScenario *sc, const char *file, const char *group, const char *key);

/* Every key the language knows, for tests and docs: NULL-terminated "group.key" strings. */
const char *const *mm_scenario_known_keys(void);
