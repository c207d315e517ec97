/* ssh.h: commands on hosts over SSH (libssh). The only module that includes libssh.
 *
 * Host keys are verified strictly against the configured known_hosts file: an unknown or
 * changed key is refused, with a message naming the host and how to add the key. Only key
 * authentication. Nothing secret (keys, passphrases) is logged or stored. */
#pragma once

#include <glib.h>
#include <stdbool.h>

typedef struct {
    const char *label;         /* the host's scenario name, for messages */
    const char *user;
    const char *address;
    guint port;                /* 0: 22 */
    const char *key_file;      /* NULL: agent and libssh's default identities */
    const char *known_hosts;   /* NULL: libssh's default (~/.ssh/known_hosts), read only */
    guint connect_timeout;     /* seconds; 0: 10 */
} MmSshTarget;

typedef struct _MmSsh MmSsh;

MmSsh *mm_ssh_connect(const MmSshTarget *target, GError **error);
void mm_ssh_free(MmSsh *ssh);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmSsh, mm_ssh_free)

/* Runs COMMAND; *OUT gets its stdout. Fails on timeout, or (with a message holding stderr)
 * on a non-zero exit status. */
bool mm_ssh_exec(MmSsh *ssh, const char *command, guint timeout_s, char **out, GError **error);
