/* testutil.c: the golden-file check shared by every suite (testutil.h). */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

bool
mm_test_compare_to_file(const char *actual, const char *path)
{
    g_autofree char *expected = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *tmp = NULL;
    g_autofree char *out = NULL;
    int fd;

    if (g_getenv("MM_REGENERATE")) {
        if (!g_file_set_contents(path, actual, -1, &err)) {
            fprintf(stderr, "cannot rewrite %s: %s\n", path, err->message);
            return false;
        }
        return true;
    }
    if (!g_file_get_contents(path, &expected, NULL, &err)) {
        fprintf(stderr, "missing golden file %s (run with MM_REGENERATE=1 to write it): %s\n", path, err->message);
        return false;
    }
    if (strcmp(expected, actual) == 0)
        return true;
    /* diff -u against the actual output, written beside nothing: a temporary file. */
    if ((fd = g_file_open_tmp("golden-XXXXXX", &tmp, &err)) >= 0) {
        const char *argv[] = { "diff", "-u", path, tmp, NULL };

        close(fd);
        if (g_file_set_contents(tmp, actual, -1, NULL) &&
            g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL, NULL, NULL))
            fprintf(stderr, "%s differs from the actual output (MM_REGENERATE=1 rewrites it):\n%s", path, out);
        unlink(tmp);
    }
    if (!out)
        fprintf(stderr, "--- %s (expected)\n%s--- actual\n%s", path, expected, actual);
    return false;
}

static void
stdin_from(gpointer fd)
{
    dup2(GPOINTER_TO_INT(fd), STDIN_FILENO);
}

int
mm_test_run_migmatrix_input(const char *const *args, const char *input, char **out, char **err)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *input_path = NULL;
    int fd = -1, status;
    bool ok;

    g_ptr_array_add(argv, (gpointer)MM_BINARY);
    for (int i = 0; args[i]; i++)
        g_ptr_array_add(argv, (gpointer)args[i]);
    g_ptr_array_add(argv, NULL);
    /* The child's stdin (else /dev/null): a file holding INPUT, put in place before exec. */
    if (input) {
        if ((fd = g_file_open_tmp("mm-stdin-XXXXXX", &input_path, &error)) < 0 ||
            write(fd, input, strlen(input)) != (ssize_t)strlen(input) || lseek(fd, 0, SEEK_SET) != 0) {
            fprintf(stderr, "stdin file: %s\n", error ? error->message : g_strerror(errno));
            return -1;
        }
    }
    ok = g_spawn_sync(MM_SOURCE_DIR, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, input ? stdin_from : NULL,
                      GINT_TO_POINTER(fd), out, err, &status, &error);
    if (input) {
        close(fd);
        unlink(input_path);
    }
    if (!ok) {
        fprintf(stderr, "spawn: %s\n", error->message);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int
mm_test_run_migmatrix(const char *const *args, char **out, char **err)
{
    return mm_test_run_migmatrix_input(args, NULL, out, err);
}

