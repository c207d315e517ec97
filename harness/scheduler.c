/* scheduler.c: pair queues, host capacities, and the shard split (scheduler.h). */
#include "migmatrix/scheduler.h"

#include <string.h>

typedef struct {
    char *key;               /* "a|b", the two hosts in name order */
    char *hosts[2];
    GQueue items;            /* guint item, as pointers */
    GQueue weights;          /* double*, beside items */
    double left;             /* weight still queued */
    guint order;             /* when the queue was made: ties go to the first */
} PairQueue;

typedef struct {
    guint cap;
    guint busy;
} HostSlot;

struct _MmSched {
    GPtrArray *queues;       /* PairQueue*, in creation order */
    GHashTable *by_key;      /* key → PairQueue* */
    GHashTable *hosts;       /* name → HostSlot* */
    GHashTable *running;     /* item → PairQueue* */
    guint queued;
    bool plan_order;
};

static void
queue_free(PairQueue *q)
{
    g_free(q->key);
    g_free(q->hosts[0]);
    g_free(q->hosts[1]);
    g_queue_clear(&q->items);
    g_queue_clear_full(&q->weights, g_free);
    g_free(q);
}

MmSched *
mm_sched_new(void)
{
    MmSched *s = g_new0(MmSched, 1);

    s->queues = g_ptr_array_new_with_free_func((GDestroyNotify)queue_free);
    s->by_key = g_hash_table_new(g_str_hash, g_str_equal);
    s->hosts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    s->running = g_hash_table_new(NULL, NULL);
    return s;
}

void
mm_sched_free(MmSched *s)
{
    if (!s)
        return;
    g_hash_table_unref(s->running);
    g_hash_table_unref(s->hosts);
    g_hash_table_unref(s->by_key);
    g_ptr_array_unref(s->queues);
    g_free(s);
}

static HostSlot *
slot(MmSched *s, const char *host)
{
    HostSlot *h = g_hash_table_lookup(s->hosts, host);

    if (!h) {
        h = g_new0(HostSlot, 1);
        h->cap = 1;
        g_hash_table_insert(s->hosts, g_strdup(host), h);
    }
    return h;
}

void
mm_sched_set_plan_order(MmSched *s, bool plan_order)
{
    s->plan_order = plan_order;
}

void
mm_sched_set_capacity(MmSched *s, const char *host, guint max_cases)
{
    slot(s, host)->cap = MAX(max_cases, 1);
}

void
mm_sched_add(MmSched *s, guint item, const char *src, const char *dst, double weight)
{
    const char *a = strcmp(src, dst) <= 0 ? src : dst, *b = a == src ? dst : src;
    g_autofree char *key = g_strdup_printf("%s|%s", a, b);
    PairQueue *q = g_hash_table_lookup(s->by_key, key);

    if (!q) {
        q = g_new0(PairQueue, 1);
        q->key = g_steal_pointer(&key);
        q->hosts[0] = g_strdup(a);
        q->hosts[1] = g_strdup(b);
        q->order = s->queues->len;
        g_ptr_array_add(s->queues, q);
        g_hash_table_insert(s->by_key, q->key, q);
        slot(s, a);
        slot(s, b);
    }
    g_queue_push_tail(&q->items, GUINT_TO_POINTER(item));
    g_queue_push_tail(&q->weights, g_memdup2(&weight, sizeof(weight)));
    q->left += weight;
    s->queued++;
}

/* A case between one host and itself holds that host once. */
static bool
has_room(MmSched *s, const PairQueue *q)
{
    HostSlot *a = slot(s, q->hosts[0]), *b = slot(s, q->hosts[1]);

    if (a == b)
        return a->busy < a->cap;
    return a->busy < a->cap && b->busy < b->cap;
}

gint
mm_sched_next(MmSched *s)
{
    PairQueue *best = NULL;
    double *w;
    guint item;

    for (guint i = 0; i < s->queues->len; i++) {
        PairQueue *q = s->queues->pdata[i];

        if (g_queue_is_empty(&q->items) || !has_room(s, q))
            continue;
        if (!best)
            best = q;
        else if (s->plan_order ? GPOINTER_TO_UINT(g_queue_peek_head(&q->items)) <
                                     GPOINTER_TO_UINT(g_queue_peek_head(&best->items))
                               : q->left > best->left)
            best = q;
    }
    if (!best)
        return -1;
    item = GPOINTER_TO_UINT(g_queue_pop_head(&best->items));
    w = g_queue_pop_head(&best->weights);
    best->left -= *w;
    g_free(w);
    s->queued--;
    slot(s, best->hosts[0])->busy++;
    if (strcmp(best->hosts[0], best->hosts[1]) != 0)
        slot(s, best->hosts[1])->busy++;
    g_hash_table_insert(s->running, GUINT_TO_POINTER(item), best);
    return (gint)item;
}

void
mm_sched_done(MmSched *s, guint item)
{
    PairQueue *q = g_hash_table_lookup(s->running, GUINT_TO_POINTER(item));

    g_return_if_fail(q != NULL);
    g_hash_table_remove(s->running, GUINT_TO_POINTER(item));
    slot(s, q->hosts[0])->busy--;
    if (strcmp(q->hosts[0], q->hosts[1]) != 0)
        slot(s, q->hosts[1])->busy--;
}

void
mm_sched_drain(MmSched *s)
{
    for (guint i = 0; i < s->queues->len; i++) {
        PairQueue *q = s->queues->pdata[i];

        g_queue_clear(&q->items);
        g_queue_clear_full(&q->weights, g_free);
        q->left = 0;
    }
    s->queued = 0;
}

guint
mm_sched_queued(const MmSched *s)
{
    return s->queued;
}

guint
mm_sched_running(const MmSched *s)
{
    return g_hash_table_size(s->running);
}

double
mm_case_weight(const MmCase *c)
{
    return 2.0 + (c->hard_reboot ? 1.0 : 0.0) + (c->ping_pong ? 1.0 : 0.0);
}

/* ---- shards ---------------------------------------------------------------------------------- */

static const char *
find(GHashTable *parent, const char *h)
{
    const char *p;

    while ((p = g_hash_table_lookup(parent, h)) && p != h)
        h = p;
    return h;
}

typedef struct {
    char *key;               /* the group's root host, or the pair "a|b" */
    double weight;
    guint first;             /* its first case in plan order: a stable tie-break */
    guint shard;
} ShardUnit;

static void
unit_free(ShardUnit *u)
{
    g_free(u->key);
    g_free(u);
}

static gint
heavier_first(gconstpointer a, gconstpointer b)
{
    const ShardUnit *x = *(ShardUnit *const *)a, *y = *(ShardUnit *const *)b;

    if (x->weight != y->weight)
        return x->weight > y->weight ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* The unit case C is dealt out with: its host group, or its host pair (either direction). */
static char *
unit_key(GHashTable *parent, const MmCase *c, bool by_pair)
{
    const char *a = c->src->name, *b = c->dst->name;

    if (!by_pair)
        return g_strdup(find(parent, a));
    return strcmp(a, b) <= 0 ? g_strdup_printf("%s|%s", a, b) : g_strdup_printf("%s|%s", b, a);
}

GArray *
mm_shard_cases(const GPtrArray *cases, guint k, guint n, MmShardInfo *info)
{
    g_autoptr(GHashTable) parent = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) roots = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) by_key = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) units = g_ptr_array_new_with_free_func((GDestroyNotify)unit_free);
    g_autoptr(GPtrArray) sorted = g_ptr_array_new();
    g_autofree double *load = g_new0(double, n);
    GArray *out = g_array_new(FALSE, FALSE, sizeof(guint));
    bool by_pair;

    /* Union-find over host names (borrowed from the cases). */
    for (guint i = 0; i < cases->len; i++) {
        const MmCase *c = cases->pdata[i];
        const char *a, *b;

        if (!g_hash_table_contains(parent, c->src->name))
            g_hash_table_insert(parent, (gpointer)c->src->name, (gpointer)c->src->name);
        if (!g_hash_table_contains(parent, c->dst->name))
            g_hash_table_insert(parent, (gpointer)c->dst->name, (gpointer)c->dst->name);
        a = find(parent, c->src->name);
        b = find(parent, c->dst->name);
        if (a != b)
            g_hash_table_insert(parent, (gpointer)(strcmp(a, b) < 0 ? b : a), (gpointer)(strcmp(a, b) < 0 ? a : b));
    }
    for (guint i = 0; i < cases->len; i++)
        g_hash_table_add(roots, (gpointer)find(parent, ((const MmCase *)cases->pdata[i])->src->name));
    /* Whole groups when there are enough of them: shards then share no host at all. Otherwise
     * host pairs, and shards that share a host take turns on it (host leases). */
    by_pair = g_hash_table_size(roots) < n;

    for (guint i = 0; i < cases->len; i++) {
        const MmCase *c = cases->pdata[i];
        g_autofree char *key = unit_key(parent, c, by_pair);
        ShardUnit *u = g_hash_table_lookup(by_key, key);

        if (!u) {
            u = g_new0(ShardUnit, 1);
            u->key = g_steal_pointer(&key);
            u->first = i;
            g_hash_table_insert(by_key, u->key, u);
            g_ptr_array_add(units, u);
            g_ptr_array_add(sorted, u);
        }
        /* A case that is not run still belongs to its unit's shard, at no cost. */
        u->weight += c->na_reason ? 0 : mm_case_weight(c);
    }
    /* Heaviest first, each to the shard with the least weight so far. */
    g_ptr_array_sort(sorted, heavier_first);
    for (guint i = 0; i < sorted->len; i++) {
        ShardUnit *u = sorted->pdata[i];
        guint best = 0;

        for (guint s = 1; s < n; s++)
            if (load[s] < load[best])
                best = s;
        u->shard = best + 1;
        load[best] += u->weight;
    }
    for (guint i = 0; i < cases->len; i++) {
        g_autofree char *key = unit_key(parent, cases->pdata[i], by_pair);
        const ShardUnit *u = g_hash_table_lookup(by_key, key);

        if (u->shard == k)
            g_array_append_val(out, i);
    }
    if (info) {
        info->groups = g_hash_table_size(roots);
        info->units = units->len;
        info->by_pair = by_pair;
    }
    return out;
}

char *
mm_shard_describe(guint k, guint n, guint mine, guint all, const MmShardInfo *info)
{
    if (!info->by_pair)
        return g_strdup_printf("shard %u/%u: %u of %u cases (%u host group%s linked by cases, each whole in one "
                               "shard: no host is shared with another shard)",
                               k, n, mine, all, info->groups, info->groups == 1 ? "" : "s");
    return g_strdup_printf("shard %u/%u: %u of %u cases (%u host group%s for %u shards: split by host pair, %u "
                           "pairs; a host shared with another shard is leased for each case)",
                           k, n, mine, all, info->groups, info->groups == 1 ? "" : "s", n, info->units);
}
