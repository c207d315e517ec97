/* json.c: streaming JSON writer. */
#include "migmatrix/json.h"

void
mm_json_init(MmJson *j, GString *out, bool pretty)
{
    j->out = out;
    j->first = g_array_new(FALSE, FALSE, sizeof(gboolean));
    j->pretty = pretty;
    j->after_key = false;
}

void
mm_json_clear(MmJson *j)
{
    g_clear_pointer(&j->first, g_array_unref);
}

static void
newline(MmJson *j)
{
    static const char spaces[] = "\n                                                                ";

    if (!j->pretty)
        return;
    /* One append: this runs for every value of a large report. */
    g_string_append_len(j->out, spaces, 1 + MIN(2 * j->first->len, sizeof(spaces) - 2));
}

/* Before a value: a comma if a sibling came first. After a key the value follows directly. */
static void
before_value(MmJson *j)
{
    gboolean *first;

    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->first->len == 0)
        return;
    first = &g_array_index(j->first, gboolean, j->first->len - 1);
    if (!*first)
        g_string_append_c(j->out, ',');
    *first = FALSE;
    newline(j);
}

void
mm_json_escape(GString *out, const char *s)
{
    const char *run = s;

    g_string_append_c(out, '"');
    /* Copy runs of plain bytes at once; only the few special ones one by one. */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *rep = NULL;
        char u[8];

        switch (*p) {
        case '"': rep = "\\\""; break;
        case '\\': rep = "\\\\"; break;
        case '\n': rep = "\\n"; break;
        case '\r': rep = "\\r"; break;
        case '\t': rep = "\\t"; break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                g_snprintf(u, sizeof(u), "\\u%04x", *p);
                rep = u;
            }
        }
        if (!rep)
            continue;
        g_string_append_len(out, run, (const char *)p - run);
        g_string_append(out, rep);
        run = (const char *)p + 1;
    }
    g_string_append(out, run);
    g_string_append_c(out, '"');
}

static void
begin(MmJson *j, char c)
{
    gboolean t = TRUE;

    before_value(j);
    g_string_append_c(j->out, c);
    g_array_append_val(j->first, t);
}

static void
end(MmJson *j, char c)
{
    gboolean empty = g_array_index(j->first, gboolean, j->first->len - 1);

    g_array_set_size(j->first, j->first->len - 1);
    if (!empty)
        newline(j);
    g_string_append_c(j->out, c);
}

void mm_json_begin_object(MmJson *j) { begin(j, '{'); }
void mm_json_end_object(MmJson *j) { end(j, '}'); }
void mm_json_begin_array(MmJson *j) { begin(j, '['); }
void mm_json_end_array(MmJson *j) { end(j, ']'); }

void
mm_json_key(MmJson *j, const char *key)
{
    before_value(j);
    mm_json_escape(j->out, key);
    g_string_append(j->out, j->pretty ? ": " : ":");
    j->after_key = true;
}

void
mm_json_string(MmJson *j, const char *s)
{
    before_value(j);
    if (s)
        mm_json_escape(j->out, s);
    else
        g_string_append(j->out, "null");
}

void
mm_json_int(MmJson *j, gint64 v)
{
    before_value(j);
    g_string_append_printf(j->out, "%" G_GINT64_FORMAT, v);
}

void
mm_json_bool(MmJson *j, bool v)
{
    before_value(j);
    g_string_append(j->out, v ? "true" : "false");
}

void
mm_json_null(MmJson *j)
{
    before_value(j);
    g_string_append(j->out, "null");
}

void mm_json_kv_string(MmJson *j, const char *key, const char *s) { mm_json_key(j, key); mm_json_string(j, s); }
void mm_json_kv_int(MmJson *j, const char *key, gint64 v) { mm_json_key(j, key); mm_json_int(j, v); }
void mm_json_kv_bool(MmJson *j, const char *key, bool v) { mm_json_key(j, key); mm_json_bool(j, v); }
