/* liveness.h: is the guest alive and still making progress?
 *
 *   console  the serial heartbeat counter (probe_pattern's group 1) keeps increasing, read
 *            through virDomainOpenConsole on a non-blocking stream;
 *   agent    the guest's clock, read through the QEMU guest agent (virDomainGetTime), advances;
 *   ssh      probe_command succeeds in the guest;
 *   none     the domain is running.
 *
 * "Progress" is N new observations beyond a baseline (the last value seen elsewhere, e.g. on
 * the migration source), so a guest that printed one last line and then hung is not alive. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "migmatrix/hosts.h"
#include "migmatrix/scenario.h"

typedef enum {
    MM_WAIT_OK,
    MM_WAIT_TIMEOUT,         /* no (or not enough) progress in time */
    MM_WAIT_GONE,            /* the console closed or the domain stopped */
    MM_WAIT_RESTARTED,       /* the guest started again: its heartbeat counter went back */
    MM_WAIT_INTERRUPTED,
    MM_WAIT_BLIND,           /* no progress seen, but this process's libvirt event loop, which
                              * carries the console, was stuck for much of the wait: nothing
                              * can be said of the guest */
} MmWaitResult;

typedef struct _MmLiveness MmLiveness;

/* Starts observing DOM (opens its console now, so no heartbeat is missed). */
MmLiveness *mm_liveness_attach(virDomainPtr dom, const MmGuest *guest, GError **error);
void mm_liveness_free(MmLiveness *l);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmLiveness, mm_liveness_free)

/* Waits for ADVANCES observations greater than BASELINE (-1: any first value counts).
 * DETAIL gets a one-line account ("HEARTBEAT 4 -> 6 in 2.0 s", "no heartbeat after 3 for 8 s"). */
MmWaitResult mm_liveness_wait(MmLiveness *l, gint64 baseline, guint advances, guint timeout_s, char **detail);
/* The last value observed (heartbeat counter, guest clock seconds), -1 if none. */
gint64 mm_liveness_last(MmLiveness *l);
/* Counts resets of the domain NAME on CONN (libvirt's reboot event: a guest that crashed and
 * rebooted, whatever its probe), from now on. Made before a migration, it sees a guest that
 * resets the moment it lands, before any probe is attached there. */
typedef struct _MmRebootWatch MmRebootWatch;
MmRebootWatch *mm_reboot_watch_new(virConnectPtr conn, const char *name, GError **error);
guint mm_reboot_watch_count(MmRebootWatch *w);
void mm_reboot_watch_free(MmRebootWatch *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmRebootWatch, mm_reboot_watch_free)

/* The guest's own CPUID through its cpu_probe (agent guest-exec, a console line, or ssh):
 * *TEXT gets the raw records for mm_guestcpu_decode. MM_WAIT_OK, or another result with
 * *DETAIL saying why nothing was read. A console capture takes only a line printed after the
 * call: one from before a migration would describe the old CPU. */
MmWaitResult mm_liveness_cpuid(MmLiveness *l, guint timeout_s, char **text, char **detail);
/* The last lines of console output (or probe answers), for the case's artifacts. */
char *mm_liveness_tail(MmLiveness *l);

/* The counter an ssh probe's output shows: its first number, in thousandths (the default
 * probe_command prints the guest's /proc/uptime); -1 when the output has none. */
gint64 mm_liveness_ssh_counter(const char *out);
