/* util.c: problem lists, "did you mean" and the error → exit code mapping. */
#include "migmatrix/util.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK(migmatrix-error-quark, mm_error)

void
mm_problem_free(MmProblem *p)
{
    if (!p)
        return;
    g_free(p->file);
    g_free(p->group);
    g_free(p->key);
    g_free(p->message);
    g_free(p);
}

GPtrArray *
mm_problems_new(void)
{
    return g_ptr_array_new_with_free_func((GDestroyNotify)mm_problem_free);
}

void
mm_problems_add(GPtrArray *problems, MmProblemLevel level, const char *file, int line,
                const char *group, const char *key, const char *fmt, ...)
{
    MmProblem *p = g_new0(MmProblem, 1);
    va_list ap;

    p->level = level;
    p->file = g_strdup(file);
    p->line = line;
    p->group = g_strdup(group);
    p->key = g_strdup(key);
    va_start(ap, fmt);
    p->message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(problems, p);
}

guint
mm_problems_count(GPtrArray *problems, MmProblemLevel level)
{
    guint n = 0;

    for (guint i = 0; i < problems->len; i++)
        if (((MmProblem *)problems->pdata[i])->level == level)
            n++;
    return n;
}

void
mm_problems_format(GPtrArray *problems, GString *out)
{
    for (guint i = 0; i < problems->len; i++) {
        const MmProblem *p = problems->pdata[i];

        g_string_append(out, p->file ? p->file : "<input>");
        if (p->line > 0)
            g_string_append_printf(out, ":%d", p->line);
        g_string_append(out, ": ");
        if (p->level == MM_PROBLEM_WARNING)
            g_string_append(out, "warning: ");
        if (p->group)
            g_string_append_printf(out, "[%s] ", p->group);
        if (p->key)
            g_string_append_printf(out, "%s: ", p->key);
        g_string_append(out, p->message);
        g_string_append_c(out, '\n');
    }
}

/* Optimal string alignment distance: a transposition ("hsot") counts as one typo. */
static guint
edit_distance(const char *a, const char *b)
{
    gsize la = strlen(a), lb = strlen(b);
    g_autofree guint *d = g_new0(guint, (la + 1) * (lb + 1));
#define D(i, j) d[(i) * (lb + 1) + (j)]

    for (gsize i = 0; i <= la; i++)
        D(i, 0) = i;
    for (gsize j = 0; j <= lb; j++)
        D(0, j) = j;
    for (gsize i = 1; i <= la; i++) {
        for (gsize j = 1; j <= lb; j++) {
            guint cost = g_ascii_tolower(a[i - 1]) == g_ascii_tolower(b[j - 1]) ? 0 : 1;
            guint v = MIN(MIN(D(i - 1, j) + 1, D(i, j - 1) + 1), D(i - 1, j - 1) + cost);

            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                v = MIN(v, D(i - 2, j - 2) + 1);
            D(i, j) = v;
        }
    }
    return D(la, lb);
#undef D
}

const char *
mm_suggest(const char *word, const char *const *candidates, gssize n_candidates)
{
    const char *best = NULL;
    guint best_d = G_MAXUINT;
    /* More than a third of the word wrong is a different word, not a typo. */
    guint limit = MAX(2, (guint)strlen(word) / 3);

    for (gssize i = 0; n_candidates < 0 ? candidates[i] != NULL : i < n_candidates; i++) {
        guint dist = edit_distance(word, candidates[i]);

        if (dist < best_d) {
            best_d = dist;
            best = candidates[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

MmExit
mm_exit_for_error(const GError *err)
{
    if (err && err->domain == MM_ERROR && err->code == MM_ERROR_INPUT)
        return MM_EXIT_USAGE;
    return MM_EXIT_INFRA;
}

static gint interrupt_flag;

void
mm_interrupt_request(void)
{
    g_atomic_int_set(&interrupt_flag, 1);
}

bool
mm_interrupted(void)
{
    return g_atomic_int_get(&interrupt_flag) != 0;
}

char *
mm_count(guint n, const char *singular, const char *plural)
{
    return g_strdup_printf("%u %s", n, n == 1 ? singular : plural);
}

bool
mm_shard_parse(const char *text, guint *k, guint *n, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(text, "/", -1);
    guint64 kk, nn;

    if (g_strv_length(parts) != 2 || !g_ascii_string_to_unsigned(parts[0], 10, 1, 1000, &kk, NULL) ||
        !g_ascii_string_to_unsigned(parts[1], 10, 1, 1000, &nn, NULL) || kk > nn) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT,
                    "'%s' is not a shard: give K/N with 1 <= K <= N <= 1000, as in --shard 2/4", text);
        return false;
    }
    *k = kk;
    *n = nn;
    return true;
}

bool
mm_owner_alive(const char *owner)
{
    const char *colon = owner ? strrchr(owner, ':') : NULL;
    g_autofree char *host = colon ? g_strndup(owner, colon - owner) : NULL;
    guint64 pid;

    if (!colon || strcmp(host, g_get_host_name()) != 0 ||
        !g_ascii_string_to_unsigned(colon + 1, 10, 1, G_MAXINT, &pid, NULL))
        return true;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}
