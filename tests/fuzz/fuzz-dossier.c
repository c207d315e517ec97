/* fuzz-dossier.c: a host dossier: capabilities, domain capabilities or a <cpu>, as `probe`
 * reads them from a host and `probe --import` from a file someone sent; and the live domain XML
 * of a CPU probe. */
#include <string.h>

#include "fuzz.h"
#include "migmatrix/dossier.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *xml = g_strndup((const char *)data, size);
    g_autoptr(GHashTable) facts = mm_facts_new();

    (void)mm_dossier_parse_capabilities(xml, "fuzz", facts, NULL);
    (void)mm_dossier_parse_domcaps(xml, "fuzz", facts, NULL);
    (void)mm_dossier_parse_cpu(xml, "fuzz", "kvm", facts, NULL);
    (void)mm_dossier_parse_live_cpu(xml, "fuzz", "qemu", "Westmere", facts, NULL);
    return 0;
}
