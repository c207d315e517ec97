/* ssh.c: libssh sessions with strict host key checking. */
#include "migmatrix/ssh.h"

#include <libssh/libssh.h>
#include <string.h>

#include "migmatrix/util.h"

struct _MmSsh {
    ssh_session session;
    char *label;
};

static void
ssh_global_init(void)
{
    static gsize done;

    if (g_once_init_enter(&done)) {
        ssh_init();
        g_once_init_leave(&done, 1);
    }
}

void
mm_ssh_free(MmSsh *s)
{
    if (!s)
        return;
    if (s->session) {
        ssh_disconnect(s->session);
        ssh_free(s->session);
    }
    g_free(s->label);
    g_free(s);
}

static char *
server_fingerprint(ssh_session session)
{
    ssh_key key = NULL;
    unsigned char *hash = NULL;
    size_t hlen = 0;
    char *fp = NULL;

    if (ssh_get_server_publickey(session, &key) == SSH_OK &&
        ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0) {
        char *s = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
        fp = g_strdup(s);
        ssh_string_free_char(s);
    }
    ssh_clean_pubkey_hash(&hash);
    ssh_key_free(key);
    return fp ? fp : g_strdup("(unknown)");
}

static bool
verify_host_key(MmSsh *s, const MmSshTarget *t, GError **error)
{
    enum ssh_known_hosts_e st = ssh_session_is_known_server(s->session);
    const char *kh = t->known_hosts ? t->known_hosts : "~/.ssh/known_hosts";
    g_autofree char *fp = NULL;
    g_autofree char *where = t->port && t->port != 22 ? g_strdup_printf("[%s]:%u", t->address, t->port)
                                                      : g_strdup(t->address);
    g_autofree char *keyscan = t->port && t->port != 22
                                   ? g_strdup_printf("ssh-keyscan -p %u %s >> %s", t->port, t->address, kh)
                                   : g_strdup_printf("ssh-keyscan %s >> %s", t->address, kh);

    if (st == SSH_KNOWN_HOSTS_OK)
        return true;
    fp = server_fingerprint(s->session);
    switch (st) {
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
        g_set_error(error, MM_ERROR, MM_ERROR_INFRA,
                    "%s: SSH host key of %s does not match %s (server offers %s): refused. This may be an "
                    "attack, or the host was reinstalled; if you know it was, remove the old key with "
                    "'ssh-keygen -R %s -f %s', check the new fingerprint out of band, then add it: %s",
                    s->label, where, kh, fp, where, kh, keyscan);
        return false;
    case SSH_KNOWN_HOSTS_UNKNOWN:
        g_set_error(error, MM_ERROR, MM_ERROR_INFRA,
                    "%s: SSH host key of %s (%s) is not in %s: refused. Check the fingerprint out of band, "
                    "then add the key: %s",
                    s->label, where, fp, kh, keyscan);
        return false;
    case SSH_KNOWN_HOSTS_NOT_FOUND:
        g_set_error(error, MM_ERROR, MM_ERROR_INFRA,
                    "%s: known_hosts file %s does not exist, so the key of %s (%s) cannot be verified: "
                    "refused. Create it with the host's key: %s",
                    s->label, kh, where, fp, keyscan);
        return false;
    default:
        g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: cannot check the host key of %s against %s: %s",
                    s->label, where, kh, ssh_get_error(s->session));
        return false;
    }
}

MmSsh *
mm_ssh_connect(const MmSshTarget *t, GError **error)
{
    g_autoptr(MmSsh) s = g_new0(MmSsh, 1);
    long timeout = t->connect_timeout ? t->connect_timeout : 10;
    unsigned int port = t->port ? t->port : 22;
    int no = 0;
    int rc;

    ssh_global_init();
    s->label = g_strdup(t->label);
    s->session = ssh_new();
    ssh_options_set(s->session, SSH_OPTIONS_HOST, t->address);
    ssh_options_set(s->session, SSH_OPTIONS_PORT, &port);
    ssh_options_set(s->session, SSH_OPTIONS_USER, t->user);
    ssh_options_set(s->session, SSH_OPTIONS_TIMEOUT, &timeout);
    /* The scenario says everything: no ~/.ssh/config surprises. */
    ssh_options_set(s->session, SSH_OPTIONS_PROCESS_CONFIG, &no);
    if (t->known_hosts) {
        ssh_options_set(s->session, SSH_OPTIONS_KNOWNHOSTS, t->known_hosts);
        ssh_options_set(s->session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
    }
    if (ssh_connect(s->session) != SSH_OK) {
        g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: cannot connect to %s@%s:%u over SSH: %s", s->label,
                    t->user, t->address, port, ssh_get_error(s->session));
        return NULL;
    }
    if (!verify_host_key(s, t, error))
        return NULL;

    if (t->key_file) {
        ssh_key key = NULL;

        if (ssh_pki_import_privkey_file(t->key_file, NULL, NULL, NULL, &key) != SSH_OK) {
            g_set_error(error, MM_ERROR, MM_ERROR_INPUT,
                        "%s: cannot read the private key %s (missing, unreadable, or passphrase-protected; "
                        "use an unencrypted key or an agent)", s->label, t->key_file);
            return NULL;
        }
        rc = ssh_userauth_publickey(s->session, NULL, key);
        ssh_key_free(key);
    } else {
        rc = ssh_userauth_publickey_auto(s->session, NULL, NULL);
    }
    if (rc != SSH_AUTH_SUCCESS) {
        g_set_error(error, MM_ERROR, MM_ERROR_INFRA,
                    "%s: SSH key authentication as %s@%s failed%s%s; add the public key to that account's "
                    "authorized_keys",
                    s->label, t->user, t->address, t->key_file ? " with " : "", t->key_file ? t->key_file : "");
        return NULL;
    }
    return g_steal_pointer(&s);
}

bool
mm_ssh_exec(MmSsh *s, const char *command, guint timeout_s, char **out, GError **error)
{
    ssh_channel ch = ssh_channel_new(s->session);
    g_autoptr(GString) so = g_string_new(NULL);
    g_autoptr(GString) se = g_string_new(NULL);
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
    char buf[4096];
    int status;
    bool ok = false;

    if (!ch || ssh_channel_open_session(ch) != SSH_OK || ssh_channel_request_exec(ch, command) != SSH_OK) {
        g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: cannot run '%s' over SSH: %s", s->label, command,
                    ssh_get_error(s->session));
        goto out;
    }
    while (!ssh_channel_is_eof(ch)) {
        gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
        int n;

        if (left_ms <= 0) {
            g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: '%s' did not finish within %u s", s->label, command,
                        timeout_s);
            goto out;
        }
        n = ssh_channel_read_timeout(ch, buf, sizeof(buf), 0, (int)MIN(left_ms, 200));
        if (n > 0)
            g_string_append_len(so, buf, n);
        else if (n == SSH_ERROR)
            break;
        while ((n = ssh_channel_read_nonblocking(ch, buf, sizeof(buf), 1)) > 0)
            g_string_append_len(se, buf, n);
    }
    ssh_channel_send_eof(ch);
    status = ssh_channel_get_exit_status(ch);
    if (status != 0) {
        g_set_error(error, MM_ERROR, MM_ERROR_INFRA, "%s: '%s' exited with %d: %s", s->label, command, status,
                    g_strstrip(se->str));
        goto out;
    }
    if (out)
        *out = g_strdup(so->str);
    ok = true;
out:
    if (ch) {
        ssh_channel_close(ch);
        ssh_channel_free(ch);
    }
    return ok;
}
