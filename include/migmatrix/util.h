/* util.h: exit codes, problem lists and small helpers shared by every module. */
#pragma once

#include <glib.h>
#include <stdbool.h>

/* The exit codes are public interface: the nightly job gates on them. */
typedef enum {
    MM_EXIT_OK = 0,           /* every result as expected */
    MM_EXIT_UNEXPECTED = 1,   /* at least one unexpected result */
    MM_EXIT_USAGE = 2,        /* bad command line or bad input file */
    MM_EXIT_INFRA = 3,        /* a host, the DB or the lab failed us */
    MM_EXIT_INCOMPLETE = 4,   /* diff: a run compared is unfinished (running, interrupted, cases not run) */
    MM_EXIT_INTERRUPTED = 130,
} MmExit;

#define MM_ERROR mm_error_quark()
GQuark mm_error_quark(void);

typedef enum {
    MM_ERROR_INPUT,   /* the user's input is wrong: exit 2 */
    MM_ERROR_INFRA,   /* the world is wrong: exit 3 */
} MmErrorCode;

typedef enum {
    MM_PROBLEM_ERROR,
    MM_PROBLEM_WARNING,
} MmProblemLevel;

/* One finding about an input file. Rendered as
 *   FILE:LINE: [GROUP] KEY: MESSAGE
 * so every line names where to look and (in MESSAGE) how to fix it. */
typedef struct {
    MmProblemLevel level;
    char *file;
    int line;      /* 0 when unknown */
    char *group;   /* may be NULL */
    char *key;     /* may be NULL */
    char *message;
} MmProblem;

void mm_problem_free(MmProblem *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmProblem, mm_problem_free)

/* A list of MmProblem*, owning them. */
GPtrArray *mm_problems_new(void);
void mm_problems_add(GPtrArray *problems, MmProblemLevel level, const char *file, int line,
                     const char *group, const char *key, const char *fmt, ...) G_GNUC_PRINTF(7, 8);
guint mm_problems_count(GPtrArray *problems, MmProblemLevel level);
void mm_problems_format(GPtrArray *problems, GString *out);

/* "1 case", "2 cases": N and the noun in the right number. */
char *mm_count(guint n, const char *singular, const char *plural);

/* Whether the migmatrix process OWNER ("HOST:PID") may still be running: true unless it is
 * on this host and no such process exists. A wrong "alive" only keeps a leftover; a wrong
 * "dead" would destroy another run's guest (or take its host lease), so every doubt counts as
 * alive. */
bool mm_owner_alive(const char *owner);

/* "K/N" (run --shard, a shard run's record): 1 <= K <= N <= 1000. */
bool mm_shard_parse(const char *text, guint *k, guint *n, GError **error);

/* The closest candidate within a small edit distance, or NULL: for "did you mean". */
const char *mm_suggest(const char *word, const char *const *candidates, gssize n_candidates);

/* Ctrl-C / SIGTERM: set from the signal handler, polled by every wait. Process-wide by
 * nature, so the one global the engine consults. */
void mm_interrupt_request(void);
bool mm_interrupted(void);

/* Exit code for an error from any module. */
MmExit mm_exit_for_error(const GError *err);
