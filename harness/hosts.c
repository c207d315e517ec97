/* hosts.c: libvirt connections and SSH sessions for scenario hosts. */
#include "migmatrix/hosts.h"

#include <libvirt/virterror.h>
#include <string.h>

#include "migmatrix/util.h"
#include "migmatrix/xml.h"

static void
silent_error_handler(void *opaque, virErrorPtr err)
{
    /* Errors are read with virGetLastError and reported by us, with context. */
    (void)opaque;
    (void)err;
}

/* The event loop's pulse (mm_libvirt_events_stalled): the last tick, and the latest gaps. */
#define STALL_MIN (2 * G_TIME_SPAN_SECOND)
#define STALLS_KEPT 32

static struct {
    GMutex lock;
    gint64 last;
    gint64 from[STALLS_KEPT], to[STALLS_KEPT];
    guint n;
} pulse;

static void
pulse_tick(int timer, void *opaque)
{
    gint64 now = g_get_monotonic_time();

    (void)timer;
    (void)opaque;
    g_mutex_lock(&pulse.lock);
    if (pulse.last && now - pulse.last > STALL_MIN) {
        /* The tick was due a second after the last one: the stall starts there. */
        pulse.from[pulse.n % STALLS_KEPT] = pulse.last + G_TIME_SPAN_SECOND;
        pulse.to[pulse.n % STALLS_KEPT] = now;
        pulse.n++;
    }
    pulse.last = now;
    g_mutex_unlock(&pulse.lock);
}

static gint64
overlap(gint64 a0, gint64 a1, gint64 b0, gint64 b1)
{
    gint64 lo = MAX(a0, b0), hi = MIN(a1, b1);

    return hi > lo ? hi - lo : 0;
}

gint64
mm_libvirt_events_stalled(gint64 from, gint64 to)
{
    gint64 total = 0, now = g_get_monotonic_time();

    g_mutex_lock(&pulse.lock);
    for (guint i = 0; i < MIN(pulse.n, STALLS_KEPT); i++)
        total += overlap(pulse.from[i], pulse.to[i], from, to);
    /* A gap that has not ended yet: the loop has not ticked since. */
    if (pulse.last && now - pulse.last > STALL_MIN)
        total += overlap(pulse.last + G_TIME_SPAN_SECOND, now, from, to);
    g_mutex_unlock(&pulse.lock);
    return total;
}

static gpointer
event_loop_thread(gpointer data)
{
    (void)data;
    for (;;)
        virEventRunDefaultImpl();
    return NULL;
}

void
mm_libvirt_init(void)
{
    static gsize done;

    if (g_once_init_enter(&done)) {
        virInitialize();
        virSetErrorFunc(NULL, silent_error_handler);
        /* Must precede the first virConnectOpen: remote streams and keepalive need it. */
        virEventRegisterDefaultImpl();
        /* Without its timer there is no pulse: then no wait is ever called blind. */
        pulse.last = g_get_monotonic_time();
        if (virEventAddTimeout(1000, pulse_tick, NULL, NULL) < 0) {
            pulse.last = 0;
            virResetLastError();
        }
        g_thread_unref(g_thread_new("libvirt-events", event_loop_thread, NULL));
        g_once_init_leave(&done, 1);
    }
}

void
mm_libvirt_error(GError **error, const char *fmt, ...)
{
    g_autofree char *prefix = NULL;
    va_list ap;

    va_start(ap, fmt);
    prefix = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: %s", prefix, virGetLastErrorMessage());
}

/* libvirt asks its auth callback whenever a transport wants a decision or a secret. The
 * default one prompts on the terminal, and reads the answer from stdin: "y" there accepted an
 * unknown SSH host key (qemu+libssh) and wrote it to known_hosts. A test tool never prompts:
 * host keys are refused unless already known, and passwords or passphrases are never given
 * (key authentication only). Only the login name may take libvirt's own default. */
static int
refuse_interaction(virConnectCredentialPtr cred, unsigned int ncred, void *cbdata)
{
    (void)cbdata;
    for (unsigned int i = 0; i < ncred; i++) {
        if (cred[i].type == VIR_CRED_AUTHNAME && cred[i].defresult) {
            cred[i].result = g_strdup(cred[i].defresult);
            cred[i].resultlen = strlen(cred[i].result);
        } else if (cred[i].type == VIR_CRED_ECHOPROMPT && cred[i].prompt && strstr(cred[i].prompt, "host key")) {
            cred[i].result = g_strdup("n");
            cred[i].resultlen = 1;
        } else {
            return -1;
        }
    }
    return 0;
}

static int auth_types[] = {
    VIR_CRED_AUTHNAME, VIR_CRED_ECHOPROMPT, VIR_CRED_NOECHOPROMPT, VIR_CRED_PASSPHRASE,
};

static virConnectAuth no_prompt_auth = {
    .credtype = auth_types, .ncredtype = G_N_ELEMENTS(auth_types), .cb = refuse_interaction,
};

virConnectPtr
mm_host_open(const MmHost *host, GError **error)
{
    virConnectPtr conn;

    mm_libvirt_init();
    conn = virConnectOpenAuth(host->uri, &no_prompt_auth, 0);
    if (!conn) {
        const char *msg = virGetLastErrorMessage();

        if (strstr(msg, "host key") || strstr(msg, "HOST KEY"))
            g_set_error(error, MM_ERROR, MM_ERROR_INFRA,
                        "%s: cannot connect to %s: %s; migmatrix never accepts an unknown or changed host key: "
                        "check the host's fingerprint out of band, then put its key in the known_hosts file the "
                        "URI names (known_hosts=…), e.g. with ssh-keyscan",
                        host->name, host->uri, msg);
        else
            mm_libvirt_error(error, "%s: cannot connect to %s", host->name, host->uri);
        return NULL;
    }
    /* A host that stops answering is noticed within ~15 s instead of at TCP timeout. Not on
     * qemu+libssh: with keepalive active, libvirt 9.0's libssh client crashes in
     * virConnectClose about every other time (measured in the lab; qemu+ssh is unaffected). */
    if (!g_str_has_prefix(host->uri, "qemu+libssh") && virConnectSetKeepAlive(conn, 5, 3) < 0)
        virResetLastError();
    return conn;
}

MmSsh *
mm_host_ssh(const MmHost *host, GError **error)
{
    MmSshTarget t = {
        .label = host->name,
        .user = host->ssh_user,
        .address = host->ssh_address,
        .port = host->ssh_port,
        .key_file = host->ssh_key,
        .known_hosts = host->known_hosts,
        .connect_timeout = 10,
    };

    if (!host->ssh_address)
        return NULL;
    return mm_ssh_connect(&t, error);
}

char *
mm_version_string(unsigned long v)
{
    return g_strdup_printf("%lu.%lu.%lu", v / 1000000, (v / 1000) % 1000, v % 1000);
}

typedef struct {
    GMutex lock;             /* one host's (re)connect does not hold up the others */
    virConnectPtr conn;
    char *down;              /* why the host is down, or NULL */
    gint64 down_since;       /* monotonic µs */
    bool stale;
} PoolEntry;

/* A host that drops is reconnected with backoff (1, 2, 4 s) before it is called down. A down
 * host is tried once more before a later case, at most every DOWN_RETRY: a host that comes back
 * (libvirtd or sshd restarted) gets its remaining cases back. */
#define RECONNECT_TRIES 4
#define DOWN_RETRY (30 * G_TIME_SPAN_SECOND)

struct _MmHostPool {
    GMutex lock;
    GHashTable *entries;     /* host name → PoolEntry* */
    GPtrArray *retired;      /* replaced connections: borrowed handles may still point at them */
};

static void
pool_entry_free(PoolEntry *e)
{
    if (e->conn)
        virConnectClose(e->conn);
    g_mutex_clear(&e->lock);
    g_free(e->down);
    g_free(e);
}

static void
conn_close(gpointer conn)
{
    virConnectClose(conn);
}

MmHostPool *
mm_host_pool_new(void)
{
    MmHostPool *p = g_new0(MmHostPool, 1);

    g_mutex_init(&p->lock);
    p->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)pool_entry_free);
    p->retired = g_ptr_array_new_with_free_func(conn_close);
    return p;
}

void
mm_host_pool_free(MmHostPool *p)
{
    if (!p)
        return;
    g_hash_table_unref(p->entries);
    g_ptr_array_unref(p->retired);
    g_mutex_clear(&p->lock);
    g_free(p);
}

virConnectPtr
mm_host_pool_get(MmHostPool *p, const MmHost *host, GError **error)
{
    PoolEntry *e;
    virConnectPtr conn = NULL;

    g_mutex_lock(&p->lock);
    e = g_hash_table_lookup(p->entries, host->name);
    if (!e) {
        e = g_new0(PoolEntry, 1);
        g_mutex_init(&e->lock);
        g_hash_table_insert(p->entries, g_strdup(host->name), e);
    }
    g_mutex_unlock(&p->lock);

    g_mutex_lock(&e->lock);
    if (e->down && g_get_monotonic_time() - e->down_since < DOWN_RETRY) {
        g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s", e->down);
        goto out;
    }
    if (e->conn && (e->stale || virConnectIsAlive(e->conn) != 1)) {
        /* Borrowed handles may still point at it: closed with the pool. */
        g_mutex_lock(&p->lock);
        g_ptr_array_add(p->retired, e->conn);
        g_mutex_unlock(&p->lock);
        e->conn = NULL;
    }
    if (!e->conn) {
        g_autoptr(GError) err = NULL;
        /* Down already: one more try. Otherwise the full backoff. */
        guint tries = e->down ? 1 : RECONNECT_TRIES, t;

        for (t = 0; t < tries && !mm_interrupted(); t++) {
            g_clear_error(&err);
            if (t)
                g_usleep((1u << (t - 1)) * G_USEC_PER_SEC);
            if ((e->conn = mm_host_open(host, &err)))
                break;
        }
        if (!e->conn) {
            g_free(e->down);
            e->down = g_strdup_printf("host down: %s (%u attempt%s%s)", err ? err->message : "interrupted", t,
                                      t == 1 ? "" : "s", tries > 1 ? " over 7 s" : "");
            e->down_since = g_get_monotonic_time();
            g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s", e->down);
            goto out;
        }
        g_clear_pointer(&e->down, g_free);
        e->stale = false;
    }
    conn = e->conn;
out:
    g_mutex_unlock(&e->lock);
    return conn;
}

void
mm_host_pool_invalidate(MmHostPool *p, const MmHost *host)
{
    PoolEntry *e;

    g_mutex_lock(&p->lock);
    e = g_hash_table_lookup(p->entries, host->name);
    g_mutex_unlock(&p->lock);
    if (e) {
        g_mutex_lock(&e->lock);
        e->stale = true;
        g_mutex_unlock(&e->lock);
    }
}

/* ---- host leases --------------------------------------------------------------------------- */

/* A lease is an ephemeral libvirt secret with a fixed usage on the host itself: libvirt refuses
 * a second secret with the same usage, so defining it is an atomic test-and-set that every
 * runner (on any machine) sees; undefining it releases. Ephemeral: never written to disk. */
#define LEASE_USAGE "/var/lib/migmatrix/host-lease"

/* A case ID or owner as the lease's description holds it: XML-escaped, and no spaces (the
 * field separator; case IDs and "HOST:PID" have none). */
static char *
lease_field(const char *text)
{
    g_autofree char *flat = g_strdelimit(g_strdup(text), " \t\n", '_');
    return g_markup_escape_text(flat, -1);
}

/* "owner=HOST:PID until=UNIX case=ID" → its fields. */
static void
lease_parse(const char *xml, char **owner, gint64 *until, char **what)
{
    g_autoptr(xmlDoc) doc = xml ? mm_xml_parse(xml, -1, "host lease", NULL) : NULL;
    g_autoptr(xmlXPathContext) ctx = doc ? xmlXPathNewContext(doc) : NULL;
    /* Through the XML parser: libvirt escapes the description ("a&gt;b"). */
    g_autofree char *desc = ctx ? mm_xml_string(ctx, NULL, "/secret/description") : NULL;
    g_auto(GStrv) f = NULL;

    *owner = NULL;
    *what = NULL;
    *until = 0;
    if (!desc)
        return;
    f = g_strsplit(desc, " ", 3);
    for (int i = 0; f[i]; i++) {
        if (g_str_has_prefix(f[i], "owner="))
            *owner = g_strdup(f[i] + 6);
        else if (g_str_has_prefix(f[i], "until="))
            *until = g_ascii_strtoll(f[i] + 6, NULL, 10);
        else if (g_str_has_prefix(f[i], "case="))
            *what = g_strdup(f[i] + 5);
    }
}

int
mm_host_lease_acquire(MmHostPool *pool, const MmHost *host, const char *owner, const char *what, gint64 until,
                      char **held_by, GError **error)
{
    virConnectPtr conn = mm_host_pool_get(pool, host, error);
    g_autofree char *xml = NULL;
    g_autofree char *safe_what = lease_field(what);
    g_autofree char *safe_owner = lease_field(owner);

    *held_by = NULL;
    if (!conn)
        return -1;
    xml = g_strdup_printf("<secret ephemeral='yes' private='yes'><description>owner=%s until=%" G_GINT64_FORMAT
                          " case=%s</description><usage type='volume'><volume>" LEASE_USAGE
                          "</volume></usage></secret>",
                          safe_owner, until, safe_what);
    for (int attempt = 0; attempt < 2; attempt++) {
        virSecretPtr s = virSecretDefineXML(conn, xml, 0);
        g_autofree char *cur = NULL, *cur_owner = NULL, *cur_what = NULL;
        gint64 cur_until;

        if (s) {
            virSecretFree(s);
            return 1;
        }
        /* Taken: by whom, and is it stale (past its time, or its owner gone from this machine)? */
        if (!(s = virSecretLookupByUsage(conn, VIR_SECRET_USAGE_TYPE_VOLUME, LEASE_USAGE))) {
            mm_libvirt_error(error, "%s: cannot take the host lease (libvirt's secret driver)", host->name);
            return -1;
        }
        cur = virSecretGetXMLDesc(s, 0);
        lease_parse(cur, &cur_owner, &cur_until, &cur_what);
        if (attempt == 0 && ((cur_until && cur_until < g_get_real_time() / G_USEC_PER_SEC) ||
                             (cur_owner && !mm_owner_alive(cur_owner)))) {
            virSecretUndefine(s);
            virSecretFree(s);
            virResetLastError();
            continue;
        }
        virSecretFree(s);
        virResetLastError();
        *held_by = g_strdup_printf("%s, case %s", cur_owner ? cur_owner : "unknown", cur_what ? cur_what : "?");
        return 0;
    }
    *held_by = g_strdup("another runner (taken again at once)");
    return 0;
}

void
mm_host_lease_release(MmHostPool *pool, const MmHost *host, const char *owner, const char *what)
{
    g_autoptr(GError) err = NULL;
    virConnectPtr conn = mm_host_pool_get(pool, host, &err);
    virSecretPtr s;
    g_autofree char *xml = NULL, *cur_owner = NULL, *cur_what = NULL;
    gint64 until;

    /* A host that is down keeps the lease until it expires (until=), or its daemon restarts. */
    if (!conn || !(s = virSecretLookupByUsage(conn, VIR_SECRET_USAGE_TYPE_VOLUME, LEASE_USAGE))) {
        virResetLastError();
        return;
    }
    xml = virSecretGetXMLDesc(s, 0);
    lease_parse(xml, &cur_owner, &until, &cur_what);
    /* Only this case's own: after an expiry another runner (or another worker of this one,
     * same owner) may hold it now. */
    if (g_strcmp0(cur_owner, owner) == 0 && g_strcmp0(cur_what, what) == 0)
        virSecretUndefine(s);
    virSecretFree(s);
    virResetLastError();
}
