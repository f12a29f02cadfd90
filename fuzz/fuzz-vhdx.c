/* fuzz-vhdx.c: libFuzzer target for the VHDX reader, image info and probe
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The input becomes a file (a memfd, reached through /proc/self/fd so the
 * reader opens it by path as it would a backup), which is opened, read at
 * ranges chosen from the input itself, and probed for partitions.
 */

#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chronos-crc.h"
#include "chronos-image-info.h"
#include "chronos-vhdx.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
silence_log_cb (const char    *domain,
                GLogLevelFlags level,
                const char    *message,
                gpointer       user_data)
{
  /* Criticals are bugs: make them crashes the fuzzer reports. */
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_ERROR))
    abort ();
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  static gboolean initialized;
  g_autoptr (ChronosVhdx) vhdx = NULL;
  g_autoptr (ChronosImageInfo) info = NULL;
  g_autofree char *path = NULL;
  guint32          seed;
  int              fd;

  if (!initialized)
    {
      g_log_set_default_handler (silence_log_cb, NULL);
      initialized = TRUE;
    }

  fd = memfd_create ("fuzz-vhdx", MFD_CLOEXEC);
  if (fd < 0)
    return 0;
  if (size > 0 && write (fd, data, size) != (ssize_t)size)
    {
      close (fd);
      return 0;
    }
  path = g_strdup_printf ("/proc/self/fd/%d", fd);

  vhdx = chronos_vhdx_open (path, NULL, NULL);
  if (vhdx != NULL)
    {
      guint64 vsize = chronos_vhdx_get_virtual_size (vhdx);
      guint8 *buffer = g_malloc (256 * 1024);

      seed = chronos_crc32 (0, data, MIN (size, (size_t)4096));
      for (guint i = 0; i < 8 && vsize > 0; i++)
        {
          guint64 offset;
          gsize   length;

          seed = seed * 1103515245u + 12345u;
          offset = ((guint64)seed * 2654435761u) % vsize;
          seed = seed * 1103515245u + 12345u;
          length = (gsize)MIN ((guint64)(seed % (256 * 1024)) + 1, vsize - offset);
          /* A failed read is fine; a crash or sanitizer report is not. */
          chronos_vhdx_read (vhdx, buffer, offset, length, NULL);
        }
      g_free (buffer);
    }

  info = chronos_image_info_load (path, NULL, NULL);
  if (info != NULL)
    {
      JsonNode *node = chronos_image_info_to_json (info);

      json_node_unref (node);
    }

  close (fd);
  return 0;
}
