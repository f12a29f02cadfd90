/* chronos-host.c: what the host machine can give a VM (memory, CPUs)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <string.h>

#include "chronos-host.h"

/* After chronos-host.h: G_OS_WIN32 comes from GLib's headers. */
#ifdef G_OS_WIN32
#include <windows.h>
#endif

/* One "Key:   123 kB" line of /proc/meminfo, in bytes. */
static gboolean
meminfo_value (const char *text,
               const char *key,
               guint64    *bytes)
{
  gsize       key_len = strlen (key);
  const char *line = text;

  while (line != NULL && *line != '\0')
    {
      if (strncmp (line, key, key_len) == 0 && line[key_len] == ':')
        {
          const char *p = line + key_len + 1;
          char       *end = NULL;
          guint64     value;

          while (*p == ' ' || *p == '\t')
            p++;
          value = g_ascii_strtoull (p, &end, 10);
          if (end == p)
            return FALSE;
          while (*end == ' ' || *end == '\t')
            end++;
          /* The kernel always says kB (meaning KiB); a bare number is bytes. */
          if (g_str_has_prefix (end, "kB"))
            {
              if (value > G_MAXUINT64 / 1024)
                return FALSE;
              value *= 1024;
            }
          *bytes = value;
          return TRUE;
        }
      line = strchr (line, '\n');
      if (line != NULL)
        line++;
    }
  return FALSE;
}

gboolean
chronos_host_parse_meminfo (const char *text,
                            guint64    *total,
                            guint64    *available)
{
  guint64 mem_total = 0;
  guint64 mem_available = 0;

  g_return_val_if_fail (text != NULL, FALSE);

  if (!meminfo_value (text, "MemTotal", &mem_total))
    return FALSE;

  if (!meminfo_value (text, "MemAvailable", &mem_available))
    {
      /* Kernels before 3.14 have no MemAvailable: approximate it the way
       * free(1) did then. */
      guint64 mem_free = 0, buffers = 0, cached = 0;

      meminfo_value (text, "MemFree", &mem_free);
      meminfo_value (text, "Buffers", &buffers);
      meminfo_value (text, "Cached", &cached);
      mem_available = MIN (mem_total, mem_free + buffers + cached);
    }

  if (total != NULL)
    *total = mem_total;
  if (available != NULL)
    *available = mem_available;
  return TRUE;
}

void
chronos_host_query_resources (ChronosHostResources *resources)
{
  g_return_if_fail (resources != NULL);

  memset (resources, 0, sizeof *resources);
  resources->n_cpus = MAX (1, g_get_num_processors ());

#ifdef G_OS_WIN32
  {
    MEMORYSTATUSEX status = { 0 };

    status.dwLength = sizeof status;
    if (GlobalMemoryStatusEx (&status))
      {
        resources->total_memory = status.ullTotalPhys;
        resources->available_memory = status.ullAvailPhys;
      }
  }
#else
  {
    g_autofree char *text = NULL;

    /* A tiny file in procfs: reading it never blocks on a disk. */
    if (g_file_get_contents ("/proc/meminfo", &text, NULL, NULL))
      chronos_host_parse_meminfo (text, &resources->total_memory,
                                  &resources->available_memory);
  }
#endif
}

guint64
chronos_host_get_total_memory (void)
{
  ChronosHostResources resources;

  chronos_host_query_resources (&resources);
  return resources.total_memory;
}

guint64
chronos_host_get_available_memory (void)
{
  ChronosHostResources resources;

  chronos_host_query_resources (&resources);
  return resources.available_memory;
}

guint
chronos_host_get_cpu_count (void)
{
  return MAX (1, g_get_num_processors ());
}
