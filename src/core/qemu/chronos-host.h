/* chronos-host.h: what the host machine can give a VM (memory, CPUs)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint64 total_memory;     /* bytes of RAM; 0 when unknown */
  guint64 available_memory; /* bytes a new process can get without swapping; 0 when unknown */
  guint   n_cpus;           /* logical CPUs usable by this process; at least 1 */
} ChronosHostResources;

/* Fills @resources from the running host: /proc/meminfo (MemTotal,
 * MemAvailable) on Linux, GlobalMemoryStatusEx on Windows,
 * g_get_num_processors(). Cheap, no subprocess. */
void     chronos_host_query_resources (ChronosHostResources *resources);

/* Bytes of RAM, 0 when unknown. */
guint64  chronos_host_get_total_memory     (void);
/* Bytes available without swapping, 0 when unknown. */
guint64  chronos_host_get_available_memory (void);
guint    chronos_host_get_cpu_count        (void);

/* Parses the text of /proc/meminfo. FALSE when MemTotal is missing; a
 * missing MemAvailable (kernels before 3.14) gives MemFree+Buffers+Cached. */
gboolean chronos_host_parse_meminfo (const char *text,
                                     guint64    *total,
                                     guint64    *available);

G_END_DECLS
