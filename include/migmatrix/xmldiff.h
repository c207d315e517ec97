/* xmldiff.h: a semantic diff of two libvirt domain XMLs.
 *
 * Both documents are normalised first (the runtime noise that differs between hosts or
 * runs: the domain id, device aliases, security labels), then flattened to path → value
 * pairs and compared. CPU features are keyed by name, not position, so a reordered feature
 * list is no change and a changed policy is one line:
 *   ~ /domain/cpu/@mode: custom -> host-model
 *   + /domain/cpu/feature[pclmuldq]/@policy: require
 *   - /domain/cpu/model: Westmere */
#pragma once

#include <glib.h>
#include <stdbool.h>

typedef struct {
    char kind;               /* '+' added, '-' removed, '~' changed */
    char *path;
    char *old_value;         /* NULL when added */
    char *new_value;         /* NULL when removed */
} MmXmlChange;

void mm_xml_change_free(MmXmlChange *c);

/* MmXmlChange*, sorted by path. NULL on a parse error. */
GPtrArray *mm_xmldiff(const char *a, const char *b, GError **error);
/* One line per change, as above; "" when equal. */
char *mm_xmldiff_format(GPtrArray *changes);
/* Whether any change is under /domain/cpu. */
bool mm_xmldiff_touches_cpu(GPtrArray *changes);
/* A short account of a formatted diff (mm_xmldiff_format's text), for a report cell or note:
 * "CPU: check none -> full; CPU features now require: 3dnow, acpi; 2 other changes". The full
 * list stays in the diff itself. "" when the diff is empty. */
char *mm_xmldiff_summary(const char *formatted);
