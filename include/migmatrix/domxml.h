/* domxml.h: a guest profile + CPU mode → libvirt domain XML (built with libxml2's tree API),
 * and small readers of domain XML the engine needs. */
#pragma once

#include <glib.h>

#include "migmatrix/scenario.h"

typedef struct {
    const char *name;        /* the libvirt domain name */
    const char *virt_type;   /* kvm | qemu: <domain type=…> */
    const MmGuest *guest;
    const MmCpuMode *mode;
    const char *uuid;        /* NULL: libvirt picks one; a hard reboot keeps the guest's */
    const char *case_id;     /* stored in <metadata>, so leftovers can be traced to a case */
    gint64 run_id;
    const char *owner;       /* "HOST:PID" of the migmatrix process: whose domain this is */
} MmDomainSpec;

/* Every domain migmatrix defines is named MM_DOMAIN_PREFIX TOKEN-INDEX-GUEST (engine.h). */
#define MM_DOMAIN_PREFIX "mm-"
#define MM_METADATA_NS "https://migmatrix.invalid/xmlns/case/1"

char *mm_domxml_build(const MmDomainSpec *spec);

/* The owner ("HOST:PID") recorded in a domain's migmatrix metadata element (as returned by
 * virDomainGetMetadata), or NULL when it has none. */
char *mm_domxml_metadata_owner(const char *metadata_xml);

/* The <cpu> element of a domain XML, serialised (for virConnectCompareHypervisorCPU);
 * NULL when there is none. */
char *mm_domxml_cpu_element(const char *domain_xml, GError **error);
/* "custom:Westmere check=none" style summary of a domain's CPU, for messages. */
char *mm_domxml_cpu_summary(const char *domain_xml);
