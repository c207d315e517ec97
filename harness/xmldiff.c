/* xmldiff.c: normalise, flatten and compare domain XML. */
#include "migmatrix/xmldiff.h"

#include <string.h>

#include "migmatrix/xml.h"

void
mm_xml_change_free(MmXmlChange *c)
{
    if (!c)
        return;
    g_free(c->path);
    g_free(c->old_value);
    g_free(c->new_value);
    g_free(c);
}

/* Noise: names the hypervisor gives at run time, different on every host or start. */
static bool
ignored_element(const xmlNode *n)
{
    static const char *const noise[] = { "alias", "seclabel", NULL };
    return g_strv_contains(noise, (const char *)n->name);
}

static char *
attr(const xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    char *out = v ? g_strdup((const char *)v) : NULL;
    xmlFree(v);
    return out;
}

/* A child's path segment: by name for CPU features, else by position among same-named siblings. */
static char *
segment(const xmlNode *n)
{
    const xmlNode *s;
    int index = 1, count = 0;

    if (strcmp((const char *)n->name, "feature") == 0 && n->parent &&
        strcmp((const char *)n->parent->name, "cpu") == 0) {
        g_autofree char *name = attr(n, "name");
        return g_strdup_printf("feature[%s]", name ? name : "?");
    }
    for (s = n->parent ? n->parent->children : NULL; s; s = s->next) {
        if (s->type != XML_ELEMENT_NODE || strcmp((const char *)s->name, (const char *)n->name) != 0)
            continue;
        count++;
        if (s == n)
            index = count;
    }
    /* An index only when there are several: /domain/devices/disk, but /domain/devices/serial[2]. */
    return count > 1 ? g_strdup_printf("%s[%d]", n->name, index) : g_strdup((const char *)n->name);
}

static void
flatten(const xmlNode *n, const char *parent_path, GHashTable *out)
{
    g_autofree char *seg = segment(n);
    g_autofree char *path = g_strdup_printf("%s/%s", parent_path, seg);
    GString *text = g_string_new(NULL);

    for (const xmlAttr *a = n->properties; a; a = a->next) {
        xmlChar *v;

        /* The domain id is a per-host counter. */
        if (!n->parent->parent && strcmp((const char *)a->name, "id") == 0)
            continue;
        /* A feature's name is already its key. */
        if (g_str_has_prefix(seg, "feature[") && strcmp((const char *)a->name, "name") == 0)
            continue;
        v = xmlNodeGetContent((const xmlNode *)a);
        g_hash_table_insert(out, g_strdup_printf("%s/@%s", path, a->name), g_strdup((const char *)v));
        xmlFree(v);
    }
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && !ignored_element(c))
            flatten(c, path, out);
        else if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE)
            g_string_append(text, (const char *)c->content);
    }
    g_strstrip(text->str);
    /* An element that exists with no value still counts: <acpi/>, or a feature with no policy. */
    if (*text->str || !n->properties) {
        bool has_children = false;
        for (const xmlNode *c = n->children; c; c = c->next)
            has_children |= c->type == XML_ELEMENT_NODE && !ignored_element(c);
        if (*text->str || !has_children)
            g_hash_table_insert(out, g_strdup(path), g_strdup(text->str));
    }
    g_string_free(text, TRUE);
}

static GHashTable *
flat(const char *xml, const char *name, GError **error)
{
    g_autoptr(xmlDoc) doc = mm_xml_parse(xml, -1, name, error);
    GHashTable *out;

    if (!doc)
        return NULL;
    out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    flatten(xmlDocGetRootElement(doc), "", out);
    return out;
}

static gint
by_path(gconstpointer a, gconstpointer b)
{
    return strcmp((*(MmXmlChange *const *)a)->path, (*(MmXmlChange *const *)b)->path);
}

GPtrArray *
mm_xmldiff(const char *a, const char *b, GError **error)
{
    g_autoptr(GHashTable) fa = flat(a, "XML before", error);
    g_autoptr(GHashTable) fb = fa ? flat(b, "XML after", error) : NULL;
    GPtrArray *out;
    GHashTableIter it;
    gpointer k, v;

    if (!fa || !fb)
        return NULL;
    out = g_ptr_array_new_with_free_func((GDestroyNotify)mm_xml_change_free);
    g_hash_table_iter_init(&it, fa);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const char *nv = g_hash_table_lookup(fb, k);
        MmXmlChange *c;

        if (nv && strcmp(nv, v) == 0)
            continue;
        c = g_new0(MmXmlChange, 1);
        c->kind = nv ? '~' : '-';
        c->path = g_strdup(k);
        c->old_value = g_strdup(v);
        c->new_value = g_strdup(nv);
        g_ptr_array_add(out, c);
    }
    g_hash_table_iter_init(&it, fb);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        MmXmlChange *c;

        if (g_hash_table_contains(fa, k))
            continue;
        c = g_new0(MmXmlChange, 1);
        c->kind = '+';
        c->path = g_strdup(k);
        c->new_value = g_strdup(v);
        g_ptr_array_add(out, c);
    }
    g_ptr_array_sort(out, by_path);
    return out;
}

char *
mm_xmldiff_format(GPtrArray *changes)
{
    GString *out = g_string_new(NULL);

    for (guint i = 0; i < changes->len; i++) {
        const MmXmlChange *c = changes->pdata[i];

        switch (c->kind) {
        case '~': g_string_append_printf(out, "~ %s: %s -> %s\n", c->path, c->old_value, c->new_value); break;
        case '+': g_string_append_printf(out, "+ %s: %s\n", c->path, c->new_value); break;
        default: g_string_append_printf(out, "- %s: %s\n", c->path, c->old_value); break;
        }
    }
    return g_string_free(out, FALSE);
}

bool
mm_xmldiff_touches_cpu(GPtrArray *changes)
{
    for (guint i = 0; i < changes->len; i++)
        if (g_str_has_prefix(((MmXmlChange *)changes->pdata[i])->path, "/domain/cpu"))
            return true;
    return false;
}

static void
gstring_free(gpointer s)
{
    g_string_free(s, TRUE);
}

/* Appends NAME to the list under HEADING in GROUPS (heading → GString). */
static void
group_add(GPtrArray *order, GHashTable *groups, const char *heading, const char *name)
{
    GString *list = g_hash_table_lookup(groups, heading);

    if (!list) {
        list = g_string_new(NULL);
        g_hash_table_insert(groups, g_strdup(heading), list);
        g_ptr_array_add(order, g_strdup(heading));
    }
    g_string_append_printf(list, "%s%s", list->len ? ", " : "", name);
}

char *
mm_xmldiff_summary(const char *formatted)
{
    static GRegex *feature_re, *cpu_re;
    static gsize done;
    g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) groups =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, gstring_free);
    g_auto(GStrv) lines = g_strsplit(formatted ? formatted : "", "\n", -1);
    g_autoptr(GString) out = g_string_new(NULL);
    guint other = 0;

    if (g_once_init_enter(&done)) {
        feature_re = g_regex_new("^([-+~]) /domain/cpu/feature\\[([^]]+)\\]/@policy: (.*)$", G_REGEX_OPTIMIZE, 0, NULL);
        cpu_re = g_regex_new("^~ /domain/cpu/(@?[a-z]+): (.*)$", G_REGEX_OPTIMIZE, 0, NULL);
        g_once_init_leave(&done, 1);
    }
    for (int i = 0; lines[i]; i++) {
        g_autoptr(GMatchInfo) mi = NULL;

        if (!*lines[i])
            continue;
        if (g_regex_match(feature_re, lines[i], 0, &mi)) {
            g_autofree char *kind = g_match_info_fetch(mi, 1);
            g_autofree char *name = g_match_info_fetch(mi, 2);
            g_autofree char *value = g_match_info_fetch(mi, 3);
            g_autofree char *heading = NULL;

            if (*kind == '~') {
                g_autofree char *item = g_strdup_printf("%s (%s)", name, value);
                group_add(order, groups, "CPU feature policies changed", item);
                continue;
            }
            heading = *kind == '-' ? g_strdup_printf("CPU features no longer %s", value)
                                   : g_strdup_printf("CPU features now %s", value);
            group_add(order, groups, heading, name);
            continue;
        }
        g_clear_pointer(&mi, g_match_info_free);
        if (g_regex_match(cpu_re, lines[i], 0, &mi)) {
            g_autofree char *what = g_match_info_fetch(mi, 1);
            g_autofree char *change = g_match_info_fetch(mi, 2);
            g_autofree char *item = g_strdup_printf("%s %s", what[0] == '@' ? what + 1 : what, change);

            group_add(order, groups, "CPU", item);
            continue;
        }
        other++;
    }
    for (guint i = 0; i < order->len; i++) {
        GString *list = g_hash_table_lookup(groups, order->pdata[i]);
        g_string_append_printf(out, "%s%s: %s", out->len ? "; " : "", (char *)order->pdata[i], list->str);
    }
    if (other)
        g_string_append_printf(out, "%s%u other change%s", out->len ? "; " : "", other, other == 1 ? "" : "s");
    return g_string_free(g_steal_pointer(&out), FALSE);
}
