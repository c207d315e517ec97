/* hosttable.c: rendering the host table in text, Markdown and JSON. */
#include "migmatrix/hosttable.h"

#include <string.h>

#include "migmatrix/dossier.h"

enum { COL_HOST, COL_CPU, COL_ARCH, COL_HOST_MODEL, COL_CUSTOM, COL_PASSTHROUGH, COL_VERSIONS, N_COLS };

static const char *const headings[N_COLS] = {
    "host", "physical CPU", "arch", "host-model resolves to", "custom models usable",
    "host-passthrough supported", "libvirt / QEMU / kernel",
};

static const char *
row_virt_type(const MmHostRow *r)
{
    if (r->virt_type && mm_facts_get_vt(r->facts, r->virt_type, "domcaps"))
        return r->virt_type;
    if (mm_facts_get_vt(r->facts, "kvm", "domcaps") || mm_facts_get_vt(r->facts, "kvm", "host_model"))
        return "kvm";
    if (mm_facts_get_vt(r->facts, "qemu", "domcaps"))
        return "qemu";
    return r->virt_type ? r->virt_type : "kvm";
}

static guint
list_len(const char *list)
{
    guint n = 0;

    if (!list || !*list)
        return 0;
    for (n = 1; *list; list++)
        n += *list == ',';
    return n;
}

static char *
host_model_cell(const MmHostRow *r, const char *vt)
{
    const char *supported = mm_facts_get_vt(r->facts, vt, "host_model");
    const char *cpu = mm_facts_get_vt(r->facts, vt, "host_model_cpu");

    if (!supported)
        return g_strdup("?");
    if (strcmp(supported, "yes") != 0)
        return g_strdup("unsupported");
    return g_strdup_printf("%s +%u -%u", cpu ? cpu : "?", list_len(mm_facts_get_vt(r->facts, vt, "host_model_require")),
                           list_len(mm_facts_get_vt(r->facts, vt, "host_model_disable")));
}

static void
row_cells(const MmHostRow *r, char *cells[N_COLS])
{
    const char *vt = row_virt_type(r);
    const char *phys = mm_facts_get(r->facts, "cpuinfo_model");
    const char *usable = mm_facts_get_vt(r->facts, vt, "custom_usable");
    const char *pt = mm_facts_get_vt(r->facts, vt, "host_passthrough");
    const char *lv = mm_facts_get(r->facts, "libvirt_version");
    const char *qv = mm_facts_get(r->facts, "qemu_version");
    const char *kv = mm_facts_get(r->facts, "kernel_version");

    cells[COL_HOST] = g_strdup(r->name);
    if (phys)
        cells[COL_CPU] = g_strdup(phys);
    else if (r->cpu_label)
        cells[COL_CPU] = g_strdup(r->cpu_label);
    else if (mm_facts_get(r->facts, "cpu_model"))
        cells[COL_CPU] = g_strdup_printf("%s %s", mm_facts_get(r->facts, "cpu_vendor") ?: "",
                                         mm_facts_get(r->facts, "cpu_model"));
    else
        cells[COL_CPU] = g_strdup("?");
    cells[COL_ARCH] = g_strdup(mm_facts_get(r->facts, "arch") ?: "?");
    if (r->error) {
        cells[COL_HOST_MODEL] = g_strdup_printf("probe failed: %s", r->error);
        cells[COL_CUSTOM] = g_strdup("?");
        cells[COL_PASSTHROUGH] = g_strdup("?");
    } else {
        cells[COL_HOST_MODEL] = host_model_cell(r, vt);
        cells[COL_CUSTOM] = usable ? g_strdup_printf("%u (%s)", list_len(usable), vt) : g_strdup("?");
        cells[COL_PASSTHROUGH] = g_strdup(pt ? pt : "?");
    }
    cells[COL_VERSIONS] = g_strdup_printf("%s / %s / %s", lv ?: "?", qv ?: "?", kv ?: "?");
}

static void
free_cells(char *cells[N_COLS])
{
    for (int c = 0; c < N_COLS; c++)
        g_free(cells[c]);
}

void
mm_host_table_text(GPtrArray *rows, GString *out)
{
    guint width[N_COLS];
    g_autoptr(GPtrArray) all = g_ptr_array_new();

    for (int c = 0; c < N_COLS; c++)
        width[c] = g_utf8_strlen(headings[c], -1);
    for (guint i = 0; i < rows->len; i++) {
        char **cells = g_new0(char *, N_COLS);

        row_cells(rows->pdata[i], cells);
        for (int c = 0; c < N_COLS; c++)
            width[c] = MAX(width[c], (guint)g_utf8_strlen(cells[c], -1));
        g_ptr_array_add(all, cells);
    }
    for (int c = 0; c < N_COLS; c++)
        g_string_append_printf(out, "%-*s%s", (int)width[c], headings[c], c + 1 < N_COLS ? "  " : "\n");
    for (guint i = 0; i < all->len; i++) {
        char **cells = all->pdata[i];

        for (int c = 0; c < N_COLS; c++) {
            /* Pad by characters, not bytes: CPU names can be non-ASCII. */
            g_string_append(out, cells[c]);
            if (c + 1 < N_COLS)
                for (guint k = g_utf8_strlen(cells[c], -1); k < width[c] + 2; k++)
                    g_string_append_c(out, ' ');
        }
        g_string_append_c(out, '\n');
        free_cells(cells);
        g_free(cells);
    }
}

void
mm_markdown_cell(GString *out, const char *s)
{
    /* Markdown's own backslash escapes (CommonMark: any ASCII punctuation), only where a
     * character would mean something: the text reads as it is in a terminal, and renders as
     * it is. '>' and '[' mean nothing inside a table cell or a sentence. */
    for (const char *p = s; p && *p; p++) {
        switch (*p) {
        case '|': g_string_append(out, "\\|"); break;     /* a cell border */
        case '<': g_string_append(out, "\\<"); break;     /* raw HTML */
        case '`': g_string_append(out, "\\`"); break;     /* a code span */
        case '*': g_string_append(out, "\\*"); break;     /* emphasis */
        case '\\': g_string_append(out, "\\\\"); break;
        case '&':
            /* An entity (&lt; &#60;) would be decoded: keep it literal. */
            if (g_ascii_isalpha(p[1]) || p[1] == '#')
                g_string_append(out, "\\&");
            else
                g_string_append_c(out, '&');
            break;
        case '\n': case '\r': g_string_append_c(out, ' '); break;
        default: g_string_append_c(out, *p);
        }
    }
}

void
mm_host_table_markdown(GPtrArray *rows, GString *out)
{
    g_string_append(out, "|");
    for (int c = 0; c < N_COLS; c++)
        g_string_append_printf(out, " %s |", headings[c]);
    g_string_append(out, "\n|");
    for (int c = 0; c < N_COLS; c++)
        g_string_append(out, "---|");
    g_string_append_c(out, '\n');
    for (guint i = 0; i < rows->len; i++) {
        char *cells[N_COLS];

        row_cells(rows->pdata[i], cells);
        g_string_append(out, "|");
        for (int c = 0; c < N_COLS; c++) {
            g_string_append_c(out, ' ');
            mm_markdown_cell(out, cells[c]);
            g_string_append(out, " |");
        }
        g_string_append_c(out, '\n');
        free_cells(cells);
    }
}

static gint
compare_keys(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
mm_host_table_json(GPtrArray *rows, MmJson *j)
{
    mm_json_begin_array(j);
    for (guint i = 0; i < rows->len; i++) {
        const MmHostRow *r = rows->pdata[i];
        g_autoptr(GPtrArray) keys = g_ptr_array_new();
        GHashTableIter it;
        gpointer key;
        char *cells[N_COLS];

        g_hash_table_iter_init(&it, r->facts);
        while (g_hash_table_iter_next(&it, &key, NULL))
            g_ptr_array_add(keys, key);

        row_cells(r, cells);
        mm_json_begin_object(j);
        mm_json_kv_string(j, "host", r->name);
        mm_json_kv_string(j, "physical_cpu", cells[COL_CPU]);
        mm_json_kv_string(j, "arch", cells[COL_ARCH]);
        mm_json_kv_string(j, "virt_type", row_virt_type(r));
        mm_json_kv_string(j, "host_model", cells[COL_HOST_MODEL]);
        mm_json_kv_string(j, "host_passthrough", cells[COL_PASSTHROUGH]);
        mm_json_kv_string(j, "error", r->error);
        mm_json_key(j, "facts");
        mm_json_begin_object(j);
        g_ptr_array_sort(keys, compare_keys);
        for (guint k = 0; k < keys->len; k++)
            mm_json_kv_string(j, keys->pdata[k], g_hash_table_lookup(r->facts, keys->pdata[k]));
        mm_json_end_object(j);
        mm_json_end_object(j);
        free_cells(cells);
    }
    mm_json_end_array(j);
}

void
mm_host_table_html(GPtrArray *rows, GString *out)
{
    g_string_append(out, "<table class=\"hosts\"><tr>");
    for (int c = 0; c < N_COLS; c++)
        g_string_append_printf(out, "<th>%s</th>", headings[c]);
    g_string_append(out, "</tr>\n");
    for (guint i = 0; i < rows->len; i++) {
        char *cells[N_COLS];

        row_cells(rows->pdata[i], cells);
        g_string_append(out, "<tr>");
        for (int c = 0; c < N_COLS; c++) {
            g_autofree char *e = g_markup_escape_text(cells[c], -1);
            g_string_append_printf(out, "<td>%s</td>", e);
        }
        g_string_append(out, "</tr>\n");
        free_cells(cells);
    }
    g_string_append(out, "</table>\n");
}
