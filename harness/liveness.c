/* liveness.c: guest probes. The console probe is event-driven: libvirt's event loop thread
 * feeds the stream into a line buffer and wakes the waiter on every heartbeat, so a wait
 * returns the moment progress is proven, never after a fixed sleep. */
#include "migmatrix/liveness.h"

#include <libvirt/libvirt-qemu.h>
#include <stdlib.h>
#include <string.h>

#include "migmatrix/json.h"
#include "migmatrix/ssh.h"
#include "migmatrix/util.h"

#define TAIL_LINES 40

/* State shared with the stream callback, which runs on the event loop thread. Reference
 * counted: the callback's reference is dropped by libvirt when the callback is removed. */
typedef struct {
    gint refs;
    GMutex lock;
    GCond cond;
    GRegex *re;
    GString *partial;        /* bytes after the last newline */
    GQueue tail;             /* last TAIL_LINES lines (char*) */
    gint64 last;             /* last counter value, -1 none */
    guint64 seen;            /* values seen so far */
    gint64 values[64];       /* ring of recent values, for "advances beyond baseline" */
    guint64 bytes;           /* read from the console so far */
    gint64 last_read;        /* monotonic µs of the latest read, 0 none */
    bool eof;
    bool failed;             /* the stream ended in an error, not EOF */
    GRegex *cpu_re;          /* cpu_probe = console:PATTERN, or NULL */
    char *cpu_line;          /* group 1 of the latest line it matched */
    guint64 cpu_seen;        /* lines it matched so far */
} Console;

struct _MmLiveness {
    const MmGuest *guest;
    virDomainPtr dom;
    virStreamPtr stream;
    Console *console;
    bool callback_registered;
    GQueue answers;          /* non-console probes: what they answered */
};

static Console *
console_ref(Console *c)
{
    g_atomic_int_inc(&c->refs);
    return c;
}

static void
console_unref(void *opaque)
{
    Console *c = opaque;

    if (!g_atomic_int_dec_and_test(&c->refs))
        return;
    g_regex_unref(c->re);
    if (c->cpu_re)
        g_regex_unref(c->cpu_re);
    g_free(c->cpu_line);
    g_string_free(c->partial, TRUE);
    g_queue_clear_full(&c->tail, g_free);
    g_mutex_clear(&c->lock);
    g_cond_clear(&c->cond);
    g_free(c);
}

/* Called with the lock held, for every complete line. */
static void
console_line(Console *c, const char *line)
{
    g_autoptr(GMatchInfo) mi = NULL;

    if (c->cpu_re) {
        g_autoptr(GMatchInfo) cm = NULL;

        /* CPUID lines are long and frequent: kept for the capture, not in the tail. */
        if (g_regex_match(c->cpu_re, line, 0, &cm)) {
            g_free(c->cpu_line);
            c->cpu_line = g_match_info_fetch(cm, 1);
            c->cpu_seen++;
            g_cond_broadcast(&c->cond);
            return;
        }
    }
    g_queue_push_tail(&c->tail, g_strdup(line));
    while (g_queue_get_length(&c->tail) > TAIL_LINES)
        g_free(g_queue_pop_head(&c->tail));
    if (g_regex_match(c->re, line, 0, &mi)) {
        g_autofree char *num = g_match_info_fetch(mi, 1);
        gint64 v = g_ascii_strtoll(num, NULL, 10);

        c->values[c->seen % G_N_ELEMENTS(c->values)] = v;
        c->seen++;
        c->last = v;
        g_cond_broadcast(&c->cond);
    }
}

static void
console_feed(Console *c, const char *buf, gsize len)
{
    g_mutex_lock(&c->lock);
    c->bytes += len;
    c->last_read = g_get_monotonic_time();
    for (gsize i = 0; i < len; i++) {
        /* Reads can split a line ("H" then "EARTBEAT 2"): buffer up to each newline. */
        if (buf[i] == '\n') {
            g_strchomp(c->partial->str);
            c->partial->len = strlen(c->partial->str);
            console_line(c, c->partial->str);
            g_string_truncate(c->partial, 0);
        } else if (buf[i] != '\0' && c->partial->len < 16384) {
            g_string_append_c(c->partial, buf[i]);
        }
    }
    g_mutex_unlock(&c->lock);
}

static void
console_mark_eof(Console *c, bool failed)
{
    g_mutex_lock(&c->lock);
    c->eof = true;
    c->failed = failed;
    g_cond_broadcast(&c->cond);
    g_mutex_unlock(&c->lock);
}

static void
stream_event(virStreamPtr st, int events, void *opaque)
{
    Console *c = opaque;
    char buf[4096];
    int n;

    (void)events;
    for (;;) {
        n = virStreamRecv(st, buf, sizeof(buf));
        if (n > 0) {
            console_feed(c, buf, n);
            continue;
        }
        if (n == -2)             /* no more data for now */
            return;
        /* 0: EOF (the guest migrated away or stopped); -1: the stream failed. Finishing or
         * aborting the stream is a round trip to the daemon, and this runs on libvirt's one
         * event thread, which every console of every case shares: with a dead daemon at the
         * other end it could stall them all, and a stalled console reads as a hung guest. So
         * that waits for mm_liveness_free, on the case's own thread. */
        virStreamEventRemoveCallback(st);
        virResetLastError();
        console_mark_eof(c, n < 0);
        return;
    }
}

MmLiveness *
mm_liveness_attach(virDomainPtr dom, const MmGuest *guest, GError **error)
{
    g_autoptr(MmLiveness) l = g_new0(MmLiveness, 1);

    l->guest = guest;
    l->dom = dom;
    virDomainRef(dom);
    g_queue_init(&l->answers);
    if (guest->probe != MM_PROBE_CONSOLE)
        return g_steal_pointer(&l);

    l->console = g_new0(Console, 1);
    l->console->refs = 1;
    g_mutex_init(&l->console->lock);
    g_cond_init(&l->console->cond);
    l->console->re = g_regex_new(guest->probe_pattern, 0, 0, NULL);
    if (guest->cpu_probe == MM_PROBE_CONSOLE)
        l->console->cpu_re = g_regex_new(guest->cpu_probe_arg, 0, 0, NULL);
    l->console->partial = g_string_new(NULL);
    l->console->last = -1;
    g_queue_init(&l->console->tail);

    /* Any public call resets libvirt's last error: take the name before, not in the message. */
    const char *name = virDomainGetName(dom);

    l->stream = virStreamNew(virDomainGetConnect(dom), VIR_STREAM_NONBLOCK);
    /* FORCE: take the console over from a previous reader (e.g. a stale one on this host). */
    if (!l->stream || virDomainOpenConsole(dom, NULL, l->stream, VIR_DOMAIN_CONSOLE_FORCE) < 0) {
        mm_libvirt_error(error, "cannot open the console of %s", name);
        return NULL;
    }
    if (virStreamEventAddCallback(l->stream,
                                  VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP,
                                  stream_event, console_ref(l->console), console_unref) < 0) {
        console_unref(l->console);
        mm_libvirt_error(error, "cannot watch the console of %s", name);
        return NULL;
    }
    l->callback_registered = true;
    return g_steal_pointer(&l);
}

void
mm_liveness_free(MmLiveness *l)
{
    if (!l)
        return;
    if (l->stream) {
        bool eof = false, failed = false;

        if (l->console) {
            g_mutex_lock(&l->console->lock);
            eof = l->console->eof;
            failed = l->console->failed;
            g_mutex_unlock(&l->console->lock);
        }
        if (l->callback_registered && !eof)
            virStreamEventRemoveCallback(l->stream);
        /* An open stream is aborted; one that reached EOF is finished (stream_event left both here). */
        if (l->callback_registered && eof && !failed)
            virStreamFinish(l->stream);
        else if (l->callback_registered)
            virStreamAbort(l->stream);
        virStreamFree(l->stream);
        virResetLastError();
    }
    if (l->console)
        console_unref(l->console);
    g_queue_clear_full(&l->answers, g_free);
    if (l->dom)
        virDomainFree(l->dom);
    g_free(l);
}

/* One step of waiting on the console, with its lock held: MM_WAIT_OK when something may have
 * arrived (look again), else why the wait ends. Wakes at least every 200 ms to notice Ctrl-C. */
static MmWaitResult
console_block(Console *c, gint64 deadline)
{
    if (c->eof)
        return MM_WAIT_GONE;
    if (mm_interrupted())
        return MM_WAIT_INTERRUPTED;
    if (!g_cond_wait_until(&c->cond, &c->lock, MIN(deadline, g_get_monotonic_time() + 200000)) &&
        g_get_monotonic_time() >= deadline)
        return MM_WAIT_TIMEOUT;
    return MM_WAIT_OK;
}

static MmWaitResult
console_wait(MmLiveness *l, gint64 baseline, guint advances, guint timeout_s, char **detail)
{
    Console *c = l->console;
    gint64 t0 = g_get_monotonic_time();
    gint64 deadline = t0 + (gint64)timeout_s * G_USEC_PER_SEC;
    guint64 seen_before;
    gint64 restarted_from = -1, restarted_to = -1;
    guint64 bytes_before;
    gint64 now, stalled;
    MmWaitResult r;

    g_mutex_lock(&c->lock);
    /* Only what arrives from now on counts toward this wait. */
    seen_before = c->seen;
    bytes_before = c->bytes;
    for (;;) {
        guint64 saved = c->seen;
        guint got;

        /* Count advances among values that arrived during this wait. A counter that goes back
         * is a guest that started again (it crashed and rebooted): not progress, whatever
         * values follow. */
        {
            gint64 prev = baseline;
            got = 0;
            for (guint64 i = seen_before; i < saved; i++) {
                gint64 v = c->values[i % G_N_ELEMENTS(c->values)];
                if (prev >= 0 && v < prev) {
                    restarted_from = prev;
                    restarted_to = v;
                    break;
                }
                if (prev < 0 || v > prev) {
                    got++;
                    prev = v;
                }
            }
        }
        if (restarted_from >= 0) {
            r = MM_WAIT_RESTARTED;
            break;
        }
        if (got >= advances) {
            r = MM_WAIT_OK;
            break;
        }
        if ((r = console_block(c, deadline)) != MM_WAIT_OK)
            break;
    }
    /* A guest is not called hung on a wait the harness itself could not watch: when libvirt's
     * event loop was stuck for a third of it or more, or in its last 5 s (heartbeats may sit
     * unread). A console that ended cleanly (EOF) is the guest's doing, watched or not. */
    now = g_get_monotonic_time();
    stalled = mm_libvirt_events_stalled(t0, now);
    if ((r == MM_WAIT_TIMEOUT || (r == MM_WAIT_GONE && c->failed)) &&
        (stalled * 3 >= now - t0 || mm_libvirt_events_stalled(MAX(t0, now - 5 * G_USEC_PER_SEC), now) > 0)) {
        if (detail)
            *detail = g_strdup_printf("the console was not read for %.1f s of the %.1f s wait: libvirt's event "
                                      "loop in migmatrix was stuck; nothing is known of the guest",
                                      stalled / 1e6, (now - t0) / 1e6);
        g_mutex_unlock(&c->lock);
        return MM_WAIT_BLIND;
    }
    if (detail) {
        double secs = (now - t0) / 1e6;
        g_autoptr(GString) heard = g_string_new(NULL);

        /* What the console carried in the meantime tells a silent guest from one that prints
         * something else (a panic, a login prompt), and a stuck harness from neither. */
        if (c->bytes == bytes_before)
            g_string_append(heard, "; nothing arrived on the console");
        else
            g_string_append_printf(heard, "; %" G_GUINT64_FORMAT " bytes arrived on the console, the last %.1f s ago",
                                   c->bytes - bytes_before, (now - c->last_read) / 1e6);
        if (stalled)
            g_string_append_printf(heard, "; libvirt's event loop was stuck for %.1f s of it", stalled / 1e6);

        if (r == MM_WAIT_OK)
            *detail = g_strdup_printf("heartbeat %" G_GINT64_FORMAT " after %.1f s (baseline %" G_GINT64_FORMAT ")",
                                      c->last, secs, baseline);
        else if (r == MM_WAIT_RESTARTED)
            *detail = g_strdup_printf("the heartbeat went back from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
                                      ": the guest started again (crashed and rebooted)",
                                      restarted_from, restarted_to);
        else if (c->last >= 0)
            *detail = g_strdup_printf("no heartbeat beyond %" G_GINT64_FORMAT " for %.1f s%s%s", c->last, secs,
                                      c->eof ? " (console closed)" : "", heard->str);
        else
            *detail = g_strdup_printf("no heartbeat in %.1f s%s%s", secs, c->eof ? " (console closed)" : "", heard->str);
    }
    g_mutex_unlock(&c->lock);
    return r;
}

static void
remember(MmLiveness *l, char *answer)
{
    g_queue_push_tail(&l->answers, answer);
    while (g_queue_get_length(&l->answers) > TAIL_LINES)
        g_free(g_queue_pop_head(&l->answers));
}

/* The guest's SSH session (probe_ssh, parsed at load), opened on first use. */
static MmSsh *
guest_ssh(const MmGuest *g, MmSsh **ssh, GError **error)
{
    const MmSshAddress *a = &g->probe_ssh_address;
    MmSshTarget t = { .label = g->name, .user = a->user, .address = a->address, .port = a->port,
                      .key_file = g->ssh_key, .known_hosts = g->known_hosts, .connect_timeout = 5 };

    if (*ssh)
        return *ssh;
    if (!a->address) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "guest %s has no probe_ssh address", g->name);
        return NULL;
    }
    return *ssh = mm_ssh_connect(&t, error);
}

/* The counter an ssh probe prints: the first number of its output (for the default
 * `cat /proc/uptime`, the guest's uptime), in thousandths. -1 when there is none. */
gint64
mm_liveness_ssh_counter(const char *out)
{
    const char *p = out;

    while (*p && !g_ascii_isdigit(*p))
        p++;
    if (!*p)
        return -1;
    return (gint64)(g_ascii_strtod(p, NULL) * 1000.0);
}

/* One observation of a non-console probe: its value (>= 0) or -1 with WHY. */
static gint64
observe(MmLiveness *l, MmSsh **ssh, char **why)
{
    int state = 0, reason = 0;

    if (virDomainGetState(l->dom, &state, &reason, 0) < 0 || state != VIR_DOMAIN_RUNNING) {
        *why = g_strdup_printf("domain not running (state %d)", state);
        virResetLastError();
        return -2;
    }
    switch (l->guest->probe) {
    case MM_PROBE_AGENT: {
        long long secs = 0;
        unsigned int nsecs = 0;

        if (virDomainGetTime(l->dom, &secs, &nsecs, 0) < 0) {
            *why = g_strdup(virGetLastErrorMessage());
            virResetLastError();
            return -1;
        }
        /* Milliseconds of guest time: advances whenever the guest runs. */
        return secs * 1000 + nsecs / 1000000;
    }
    case MM_PROBE_SSH: {
        g_autoptr(GError) err = NULL;
        g_autofree char *out = NULL;

        if (!guest_ssh(l->guest, ssh, &err)) {
            *why = g_strdup(err->message);
            return -1;
        }
        gint64 v;

        if (!mm_ssh_exec(*ssh, l->guest->probe_command, 10, &out, &err)) {
            *why = g_strdup(err->message);
            g_clear_pointer(ssh, mm_ssh_free);
            return -1;
        }
        /* A command that merely succeeds proves sshd answers, not that the guest runs on. */
        if ((v = mm_liveness_ssh_counter(out)) < 0)
            *why = g_strdup_printf("'%s' printed no number to watch advance: %.60s", l->guest->probe_command,
                                   out);
        return v;
    }
    default:
        return g_get_real_time() / 1000;
    }
}

static MmWaitResult
poll_wait(MmLiveness *l, gint64 baseline, guint advances, guint timeout_s, char **detail)
{
    gint64 t0 = g_get_monotonic_time();
    gint64 deadline = t0 + (gint64)timeout_s * G_USEC_PER_SEC;
    g_autoptr(MmSsh) ssh = NULL;
    g_autofree char *why = NULL;
    gint64 prev = baseline;
    guint got = 0;

    /* The probe "none" has nothing to observe but the state: once is enough. */
    if (l->guest->probe == MM_PROBE_NONE)
        advances = 1;
    for (;;) {
        gint64 v;

        g_clear_pointer(&why, g_free);
        v = observe(l, &ssh, &why);
        if (v == -2) {
            if (detail)
                *detail = g_steal_pointer(&why);
            return MM_WAIT_GONE;
        }
        if (v >= 0 && (prev < 0 || v > prev)) {
            got++;
            prev = v;
            remember(l, g_strdup_printf("%s probe answered (%" G_GINT64_FORMAT ")",
                                        mm_probe_kind_name(l->guest->probe), v));
        } else if (why) {
            remember(l, g_strdup(why));
        }
        if (got >= advances) {
            if (detail)
                *detail = g_strdup_printf("%s probe answered %u times in %.1f s", mm_probe_kind_name(l->guest->probe),
                                          got, (g_get_monotonic_time() - t0) / 1e6);
            return MM_WAIT_OK;
        }
        if (mm_interrupted())
            return MM_WAIT_INTERRUPTED;
        if (g_get_monotonic_time() >= deadline) {
            if (detail)
                *detail = g_strdup_printf("%s probe: %u of %u answers in %u s%s%s", mm_probe_kind_name(l->guest->probe),
                                          got, advances, timeout_s, why ? ": " : "", why ? why : "");
            return MM_WAIT_TIMEOUT;
        }
        /* An agent answers in milliseconds; its clock needs a little time to move on. */
        g_usleep(250000);
    }
}

MmWaitResult
mm_liveness_wait(MmLiveness *l, gint64 baseline, guint advances, guint timeout_s, char **detail)
{
    if (!l) {
        if (detail)
            *detail = g_strdup("the guest is not being watched (its probe could not be attached)");
        return MM_WAIT_GONE;
    }
    if (l->console)
        return console_wait(l, baseline, advances, timeout_s, detail);
    return poll_wait(l, baseline, advances, timeout_s, detail);
}

gint64
mm_liveness_last(MmLiveness *l)
{
    gint64 v;

    if (!l || !l->console)
        return -1;
    g_mutex_lock(&l->console->lock);
    v = l->console->last;
    g_mutex_unlock(&l->console->lock);
    return v;
}

char *
mm_liveness_tail(MmLiveness *l)
{
    GString *out = g_string_new(NULL);
    GQueue *q = &l->answers;

    if (l->console) {
        g_mutex_lock(&l->console->lock);
        q = &l->console->tail;
    }
    for (GList *i = q->head; i; i = i->next)
        g_string_append_printf(out, "%s\n", (char *)i->data);
    if (l->console)
        g_mutex_unlock(&l->console->lock);
    return g_string_free(out, FALSE);
}

/* ---- resets ------------------------------------------------------------------------------- */

typedef struct {
    gint refs;
    char *name;
    gint count;
} RebootCounter;

static void
reboot_counter_unref(void *opaque)
{
    RebootCounter *rc = opaque;

    if (!g_atomic_int_dec_and_test(&rc->refs))
        return;
    g_free(rc->name);
    g_free(rc);
}

struct _MmRebootWatch {
    virConnectPtr conn;
    int callback;
    RebootCounter *counter;
};

static void
reboot_event(virConnectPtr conn, virDomainPtr dom, void *opaque)
{
    RebootCounter *rc = opaque;

    (void)conn;
    if (strcmp(virDomainGetName(dom), rc->name) == 0)
        g_atomic_int_inc(&rc->count);
}

MmRebootWatch *
mm_reboot_watch_new(virConnectPtr conn, const char *name, GError **error)
{
    MmRebootWatch *w = g_new0(MmRebootWatch, 1);

    w->counter = g_new0(RebootCounter, 1);
    w->counter->refs = 2;     /* ours, and libvirt's until the callback is removed */
    w->counter->name = g_strdup(name);
    w->conn = conn;
    virConnectRef(conn);
    /* Every domain of the connection, filtered by name: the guest may not exist there yet. */
    w->callback = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_REBOOT,
                                                   VIR_DOMAIN_EVENT_CALLBACK(reboot_event), w->counter,
                                                   reboot_counter_unref);
    if (w->callback < 0) {
        mm_libvirt_error(error, "cannot watch for resets of %s", name);
        reboot_counter_unref(w->counter);
        mm_reboot_watch_free(w);
        return NULL;
    }
    return w;
}

guint
mm_reboot_watch_count(MmRebootWatch *w)
{
    return w ? (guint)g_atomic_int_get(&w->counter->count) : 0;
}

void
mm_reboot_watch_free(MmRebootWatch *w)
{
    if (!w)
        return;
    if (w->callback >= 0)
        virConnectDomainEventDeregisterAny(w->conn, w->callback);
    virResetLastError();
    reboot_counter_unref(w->counter);
    virConnectClose(w->conn);
    g_free(w);
}

/* ---- the guest's own CPUID (cpu_probe) ---------------------------------------------------- */

/* The next line the cpu pattern matches, printed after this call. */
static MmWaitResult
cpuid_console(MmLiveness *l, guint timeout_s, char **text, char **detail)
{
    Console *c = l->console;
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
    MmWaitResult r = MM_WAIT_OK;
    guint64 armed;

    if (!c || !c->cpu_re) {
        *detail = g_strdup("the console is not watched (cpu_probe = console: needs probe = console)");
        return MM_WAIT_GONE;
    }
    g_mutex_lock(&c->lock);
    armed = c->cpu_seen;
    while (c->cpu_seen == armed && (r = console_block(c, deadline)) == MM_WAIT_OK)
        ;
    if (r == MM_WAIT_OK)
        *text = g_strdup(c->cpu_line);
    else
        *detail = g_strdup_printf("no console line matched the cpu_probe pattern in %u s%s", timeout_s,
                                  c->eof ? " (console closed)" : "");
    g_mutex_unlock(&c->lock);
    return r;
}

/* A field of the agent's JSON reply. The replies are QEMU's own, flat and machine-written; the
 * project's fixed dependencies include no JSON parser, and these few fields need none. */
static char *
agent_field(const char *reply, const char *name, const char *value_re)
{
    g_autofree char *pattern = g_strdup_printf("\"%s\"\\s*:\\s*%s", name, value_re);
    g_autoptr(GRegex) re = g_regex_new(pattern, 0, 0, NULL);
    g_autoptr(GMatchInfo) mi = NULL;

    return g_regex_match(re, reply, 0, &mi) ? g_match_info_fetch(mi, 1) : NULL;
}

static char *
agent_output(const char *reply, const char *field)
{
    g_autofree char *b64 = agent_field(reply, field, "\"([A-Za-z0-9+/=]*)\"");
    gsize len = 0;
    guchar *raw;

    if (!b64)
        return g_strdup("");
    raw = g_base64_decode(b64, &len);
    {
        char *out = g_strndup((const char *)raw, len);
        g_free(raw);
        return out;
    }
}

/* guest-exec through the QEMU guest agent, as Windows and RHEL guests allow it. */
static MmWaitResult
cpuid_agent(MmLiveness *l, guint timeout_s, char **text, char **detail)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
    g_auto(GStrv) argv = NULL;
    g_autoptr(GString) cmd = g_string_new(NULL);
    g_autofree char *reply = NULL;
    g_autofree char *pid = NULL;
    MmJson j;

    if (!g_shell_parse_argv(l->guest->cpu_probe_arg, NULL, &argv, NULL)) {
        *detail = g_strdup("the cpu_probe command does not parse");
        return MM_WAIT_GONE;
    }
    mm_json_init(&j, cmd, false);
    mm_json_begin_object(&j);
    mm_json_kv_string(&j, "execute", "guest-exec");
    mm_json_key(&j, "arguments");
    mm_json_begin_object(&j);
    mm_json_kv_string(&j, "path", argv[0]);
    mm_json_key(&j, "arg");
    mm_json_begin_array(&j);
    for (int i = 1; argv[i]; i++)
        mm_json_string(&j, argv[i]);
    mm_json_end_array(&j);
    mm_json_kv_bool(&j, "capture-output", true);
    mm_json_end_object(&j);
    mm_json_end_object(&j);
    mm_json_clear(&j);

    if (!(reply = virDomainQemuAgentCommand(l->dom, cmd->str, MAX(1, (int)timeout_s), 0)) ||
        !(pid = agent_field(reply, "pid", "([0-9]+)"))) {
        *detail = g_strdup_printf("guest-exec %s: %s", argv[0], reply ? reply : virGetLastErrorMessage());
        virResetLastError();
        return MM_WAIT_TIMEOUT;
    }
    for (;;) {
        g_autofree char *status_cmd =
            g_strdup_printf("{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":%s}}", pid);
        g_autofree char *status = virDomainQemuAgentCommand(l->dom, status_cmd, 5, 0);
        g_autofree char *exited = NULL;

        if (!status) {
            *detail = g_strdup_printf("guest-exec-status: %s", virGetLastErrorMessage());
            virResetLastError();
            return MM_WAIT_TIMEOUT;
        }
        exited = agent_field(status, "exited", "(true|false)");
        if (exited && strcmp(exited, "true") == 0) {
            g_autofree char *code = agent_field(status, "exitcode", "(-?[0-9]+)");
            g_autofree char *sig = agent_field(status, "signal", "(-?[0-9]+)");
            g_autofree char *err = agent_output(status, "err-data");

            if (sig || (code && strcmp(code, "0") != 0)) {
                *detail = g_strdup_printf("%s %s %s in the guest: %s", argv[0], sig ? "killed by signal" : "exited",
                                          sig ? sig : code, g_strstrip(err));
                return MM_WAIT_TIMEOUT;
            }
            *text = agent_output(status, "out-data");
            return MM_WAIT_OK;
        }
        if (mm_interrupted())
            return MM_WAIT_INTERRUPTED;
        if (g_get_monotonic_time() >= deadline) {
            *detail = g_strdup_printf("%s did not finish in the guest within %u s", argv[0], timeout_s);
            return MM_WAIT_TIMEOUT;
        }
        g_usleep(100000);
    }
}

static MmWaitResult
cpuid_ssh(MmLiveness *l, guint timeout_s, char **text, char **detail)
{
    g_autoptr(MmSsh) ssh = NULL;
    g_autoptr(GError) err = NULL;

    if (!guest_ssh(l->guest, &ssh, &err) || !mm_ssh_exec(ssh, l->guest->cpu_probe_arg, timeout_s, text, &err)) {
        *detail = g_strdup(err->message);
        return MM_WAIT_TIMEOUT;
    }
    return MM_WAIT_OK;
}

MmWaitResult
mm_liveness_cpuid(MmLiveness *l, guint timeout_s, char **text, char **detail)
{
    *text = *detail = NULL;
    if (!l) {
        *detail = g_strdup("the guest is not being watched");
        return MM_WAIT_GONE;
    }
    switch (l->guest->cpu_probe) {
    case MM_PROBE_CONSOLE: return cpuid_console(l, timeout_s, text, detail);
    case MM_PROBE_AGENT: return cpuid_agent(l, timeout_s, text, detail);
    case MM_PROBE_SSH: return cpuid_ssh(l, timeout_s, text, detail);
    default:
        *detail = g_strdup("no cpu_probe for this guest");
        return MM_WAIT_GONE;
    }
}
