/* xml.h: libxml2, parsed safely, with XPath helpers.
 *
 * Every document migmatrix reads (libvirt XML, imported dossiers) goes through
 * mm_xml_parse: no network, no DTD loading, no entity substitution, and documents
 * carrying a DOCTYPE are refused outright (libvirt never writes one). */
#pragma once

#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <stdbool.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathContext, xmlXPathFreeContext)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathObject, xmlXPathFreeObject)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlBuffer, xmlBufferFree)

/* NAME is used in error messages (a file name or "capabilities of lab-a"). */
xmlDoc *mm_xml_parse(const char *text, gssize len, const char *name, GError **error);

/* The string value of XPATH relative to NODE (or the root when NULL); NULL if empty or absent. */
char *mm_xml_string(xmlXPathContext *ctx, xmlNode *node, const char *xpath);
/* Every matching node's string value, in document order. */
GPtrArray *mm_xml_strings(xmlXPathContext *ctx, xmlNode *node, const char *xpath);
/* The matching nodes (borrowed from the document). */
GPtrArray *mm_xml_nodes(xmlXPathContext *ctx, xmlNode *node, const char *xpath);
/* How many nodes XPATH selects from the document's root. */
guint mm_xml_nodes_count(xmlXPathContext *ctx, const char *xpath);
