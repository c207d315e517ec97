/* xml.c: safe libxml2 parsing and XPath helpers. */
#include "migmatrix/xml.h"

#include <libxml/xpathInternals.h>

#include "migmatrix/util.h"

xmlDoc *
mm_xml_parse(const char *text, gssize len, const char *name, GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    const xmlError *xerr;

    if (len < 0)
        len = strlen(text);
    /* No XML_PARSE_NOENT (entities stay unexpanded), no XML_PARSE_DTDLOAD, NONET for good measure. */
    doc = xmlReadMemory(text, (int)len, name, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        xerr = xmlGetLastError();
        g_autofree char *where = xerr && xerr->line > 0 ? g_strdup_printf(" (line %d)", xerr->line) : g_strdup("");

        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "%s: not well-formed XML%s%s%s", name, where,
                    xerr && xerr->message ? ": " : "", xerr && xerr->message ? g_strchomp(xerr->message) : "");
        return NULL;
    }
    if (doc->intSubset || doc->extSubset) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT,
                    "%s: has a DOCTYPE; libvirt XML never does, and migmatrix does not process DTDs or entities",
                    name);
        return NULL;
    }
    if (!xmlDocGetRootElement(doc)) {
        g_set_error(error, MM_ERROR, MM_ERROR_INPUT, "%s: empty document", name);
        return NULL;
    }
    return g_steal_pointer(&doc);
}

static xmlXPathObject *
eval(xmlXPathContext *ctx, xmlNode *node, const char *xpath)
{
    ctx->node = node ? node : xmlDocGetRootElement(ctx->doc);
    return xmlXPathEvalExpression((const xmlChar *)xpath, ctx);
}

char *
mm_xml_string(xmlXPathContext *ctx, xmlNode *node, const char *xpath)
{
    g_autoptr(xmlXPathObject) obj = eval(ctx, node, xpath);
    xmlChar *s;
    char *out;

    if (!obj || !obj->nodesetval || obj->nodesetval->nodeNr == 0)
        return NULL;
    s = xmlNodeGetContent(obj->nodesetval->nodeTab[0]);
    out = s && *s ? g_strstrip(g_strdup((const char *)s)) : NULL;
    xmlFree(s);
    return out;
}

GPtrArray *
mm_xml_strings(xmlXPathContext *ctx, xmlNode *node, const char *xpath)
{
    g_autoptr(xmlXPathObject) obj = eval(ctx, node, xpath);
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

    for (int i = 0; obj && obj->nodesetval && i < obj->nodesetval->nodeNr; i++) {
        xmlChar *s = xmlNodeGetContent(obj->nodesetval->nodeTab[i]);
        g_ptr_array_add(out, g_strstrip(g_strdup(s ? (const char *)s : "")));
        xmlFree(s);
    }
    return out;
}

GPtrArray *
mm_xml_nodes(xmlXPathContext *ctx, xmlNode *node, const char *xpath)
{
    g_autoptr(xmlXPathObject) obj = eval(ctx, node, xpath);
    GPtrArray *out = g_ptr_array_new();

    for (int i = 0; obj && obj->nodesetval && i < obj->nodesetval->nodeNr; i++)
        g_ptr_array_add(out, obj->nodesetval->nodeTab[i]);
    return out;
}

guint
mm_xml_nodes_count(xmlXPathContext *ctx, const char *xpath)
{
    g_autoptr(xmlXPathObject) obj = eval(ctx, NULL, xpath);

    return obj && obj->nodesetval ? (guint)obj->nodesetval->nodeNr : 0;
}
