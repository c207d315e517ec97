/* hosts.h: connections to the scenario's hosts. Only this module (with ssh.c) talks to the
 * outside: it builds the libvirt connections and SSH sessions the rest of the code uses.
 *
 * libvirt's default event loop runs in a thread of its own from the first open, so
 * keepalive works and console streams can be event-driven. */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdbool.h>

#include "migmatrix/scenario.h"
#include "migmatrix/ssh.h"

/* Once per process: silence libvirt's own stderr printing, start the event loop thread. */
void mm_libvirt_init(void);

/* How long, in µs, libvirt's event loop thread in this process was stuck (a gap of more than
 * 2 s between its 1 s ticks, counted from when the missed tick was due) within the monotonic
 * span [FROM, TO], counting a gap still going on. Every console heartbeat and stream event passes through that thread: a wait that saw no
 * progress while it was stuck has watched nothing, and says so instead of blaming the guest. */
gint64 mm_libvirt_events_stalled(gint64 from, gint64 to);

/* Sets ERROR (MM_ERROR_INFRA) from libvirt's last error of this thread, prefixed. */
void mm_libvirt_error(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Opens HOST's URI with keepalive. */
virConnectPtr mm_host_open(const MmHost *host, GError **error);
/* Opens an SSH session to HOST's ssh target; NULL with no error when it has none. */
MmSsh *mm_host_ssh(const MmHost *host, GError **error);

/* "9.0.0" from libvirt's packed version numbers. */
char *mm_version_string(unsigned long v);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virConnect, virConnectClose)

/* Connections to every host of a run, opened on first use and reused by all cases.
 * Thread-safe (libvirt connections are; each host has its own lock, so one host's reconnect
 * does not hold up cases on others). A connection that dropped is reopened with backoff
 * (4 attempts over 7 s); a host that still does not answer is remembered as down, so its
 * next cases fail at once as infra-error instead of each waiting for a timeout, and it is
 * tried once more before a case at most every 30 s, so a host that comes back is used again. */
typedef struct _MmHostPool MmHostPool;

MmHostPool *mm_host_pool_new(void);
void mm_host_pool_free(MmHostPool *pool);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmHostPool, mm_host_pool_free)
/* A borrowed connection (valid until the pool is freed). Reopens a dead one, as above. */
virConnectPtr mm_host_pool_get(MmHostPool *pool, const MmHost *host, GError **error);
/* Marks HOST's connection for a reopen at the next get (after a "connection lost"). */
void mm_host_pool_invalidate(MmHostPool *pool, const MmHost *host);

/* A lease on HOST, held for one case by OWNER ("HOST:PID", mm_engine_identity) so that runners
 * that share the host (shards split by host pair) take turns on it. Kept on the host itself
 * (an ephemeral libvirt secret), so it works across machines. UNTIL (Unix seconds) bounds it: a
 * lease past it, or whose owner is a dead process on this machine, is taken over. Returns 1
 * when taken, 0 when another holds it (*HELD_BY says who, for the status), -1 on error. */
int mm_host_lease_acquire(MmHostPool *pool, const MmHost *host, const char *owner, const char *what, gint64 until,
                          char **held_by, GError **error);
/* Gives HOST's lease back if OWNER still holds it for case WHAT. */
void mm_host_lease_release(MmHostPool *pool, const MmHost *host, const char *owner, const char *what);
