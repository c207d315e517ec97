/* scheduler.h: which case runs next, and which cases a shard owns.
 *
 * Pure: no threads, no hosts, no DB. `run` asks it for the next case whenever a worker is
 * free, and tells it when one ends; the engine stays one case at a time. A case holds its
 * source and its destination for its whole life, and a host takes part in at most
 * max_cases cases at once ([host:NAME] max_cases, default 1). */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "migmatrix/matrix.h"

typedef struct _MmSched MmSched;

MmSched *mm_sched_new(void);
void mm_sched_free(MmSched *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmSched, mm_sched_free)

/* Plan order instead: the lowest queued item that can start. A run with one worker keeps the
 * order `plan` prints, which is what a person reading its progress expects. */
void mm_sched_set_plan_order(MmSched *s, bool plan_order);
/* How many cases HOST may take part in at once (unset: 1). */
void mm_sched_set_capacity(MmSched *s, const char *host, guint max_cases);
/* Queues case ITEM between SRC and DST, with its expected WEIGHT (a relative duration).
 * Items of one host pair (either direction) keep their order. */
void mm_sched_add(MmSched *s, guint item, const char *src, const char *dst, double weight);
/* The next case whose two hosts both have room: the head of the pair queue with the most
 * weight left (so a long pair starts first and does not run alone at the end); ties go to
 * the queue added first. -1 when no queued case can start now. */
gint mm_sched_next(MmSched *s);
/* Case ITEM (returned by mm_sched_next) ended: its hosts are free again. */
void mm_sched_done(MmSched *s, guint item);
/* Drops every queued case (an interrupt, a broken DB): none will be handed out. */
void mm_sched_drain(MmSched *s);
guint mm_sched_queued(const MmSched *s);
guint mm_sched_running(const MmSched *s);

/* The expected relative duration of C: boots and migrations it does (a hard reboot is one
 * more boot, migrating back one more migration). */
double mm_case_weight(const MmCase *c);

typedef struct {
    guint groups;            /* host groups: hosts linked by any case */
    guint units;             /* what was dealt out: the groups, or the host pairs */
    bool by_pair;            /* split by host pair: shards share hosts and take turns (leases) */
} MmShardInfo;

/* The cases (plan indexes into CASES, increasing) of shard K of N. With at least N host
 * groups (hosts linked by any case), a group goes whole to one shard: shards never share a
 * host. With fewer (a lab whose every host meets every other, as hygon.ini's), the split is by
 * host pair (both directions together), and shards that share a host must take turns on it:
 * `run` then holds a lease on both hosts for each case (mm_host_lease_acquire). Units go
 * heaviest first to the shard with the least weight so far; every runner computes the same
 * split from the same cases. */
GArray *mm_shard_cases(const GPtrArray *cases, guint k, guint n, MmShardInfo *info);
/* "shard 2/4: 150 of 616 cases (…how they were split…)", for plan and run. */
char *mm_shard_describe(guint k, guint n, guint mine, guint all, const MmShardInfo *info);
