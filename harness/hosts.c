/* hosts.c: libvirt connections and SSH sessions for scenario hosts. */
#include "migmatrix/hosts.h"

#include <libvirt/virterror.h>

#include "migmatrix/util.h"

static void
silent_error_handler(void *opaque, virErrorPtr err)
{
    /* Errors are read with virGetLastError and reported by us, with context. */
    (void)opaque;
    (void)err;
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

virConnectPtr
mm_host_open(const MmHost *host, GError **error)
{
    virConnectPtr conn;

    mm_libvirt_init();
    conn = virConnectOpenAuth(host->uri, virConnectAuthPtrDefault, 0);
    if (!conn) {
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
