/* hosttable.h: the seed study's host table, from host facts: host | physical CPU | arch |
 * host-model resolves to | custom models usable | host-passthrough supported | versions.
 * Used by `probe` now and by `report` for its host section. */
#pragma once

#include <glib.h>

#include "migmatrix/json.h"

typedef struct {
    const char *name;
    GHashTable *facts;       /* from mm_dossier_* or the store */
    const char *virt_type;   /* which domain capabilities to show; NULL: the best available */
    const char *cpu_label;   /* the scenario's free-text cpu, a fallback for the physical CPU */
    const char *error;       /* non-NULL: the probe failed with this */
} MmHostRow;

/* A Markdown table cell: '|' escaped, newlines folded, < > & as entities (raw HTML in
 * Markdown is markup). Shared with the Markdown report. */
void mm_markdown_cell(GString *out, const char *s);

void mm_host_table_text(GPtrArray *rows, GString *out);
void mm_host_table_markdown(GPtrArray *rows, GString *out);
void mm_host_table_json(GPtrArray *rows, MmJson *j);
/* An HTML <table>, every cell escaped. */
void mm_host_table_html(GPtrArray *rows, GString *out);
