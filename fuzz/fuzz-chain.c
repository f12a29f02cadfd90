/* fuzz-chain.c: libFuzzer target for differencing chains (parent locator,
 * linkage, sector bitmaps)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * An input is a 4-byte little-endian length N, a child image of N bytes and
 * a parent image (the rest). Both are written to a private folder as
 * child.vhdx and parent.vhdx, so a child whose locator names parent.vhdx
 * resolves to the second one. The chain is opened and read at ranges chosen
 * from the input, and its info loaded; nothing may crash or trip a
 * sanitizer.
 */

#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chronos-crc.h"
#include "chronos-image-chain.h"
#include "chronos-image-info.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static char *folder;

static void
fatal_log_cb (const char    *domain,
              GLogLevelFlags level,
              const char    *message,
              gpointer       user_data)
{
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_ERROR))
    abort ();
}

static void
remove_folder (void)
{
  g_autofree char *child = g_build_filename (folder, "child.vhdx", NULL);
  g_autofree char *parent = g_build_filename (folder, "parent.vhdx", NULL);

  unlink (child);
  unlink (parent);
  rmdir (folder);
}

static gboolean
write_file (const char   *path,
            const guint8 *data,
            gsize         size)
{
  int      fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = size == 0 || write (fd, data, size) == (ssize_t)size;
  close (fd);
  return ok;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr (ChronosImageChain) chain = NULL;
  g_autoptr (ChronosImageInfo) info = NULL;
  g_autofree char *child = NULL;
  g_autofree char *parent = NULL;
  guint32          split;
  guint32          seed;

  if (folder == NULL)
    {
      g_log_set_default_handler (fatal_log_cb, NULL);
      folder = g_dir_make_tmp ("fuzz-chain-XXXXXX", NULL);
      if (folder == NULL)
        abort ();
      atexit (remove_folder);
    }
  if (size < 4)
    return 0;

  split = (guint32)data[0] | (guint32)data[1] << 8 | (guint32)data[2] << 16 | (guint32)data[3] << 24;
  data += 4;
  size -= 4;
  split = MIN (split, (guint32)size);

  child = g_build_filename (folder, "child.vhdx", NULL);
  parent = g_build_filename (folder, "parent.vhdx", NULL);
  if (!write_file (child, data, split) || !write_file (parent, data + split, size - split))
    abort ();

  chain = chronos_image_chain_open (child, NULL, NULL);
  if (chain != NULL)
    {
      guint64 vsize = chronos_image_chain_get_virtual_size (chain);
      guint8 *buffer = g_malloc (128 * 1024);

      if (chronos_image_chain_get_length (chain) < 1 ||
          chronos_image_chain_get_image (chain, chronos_image_chain_get_length (chain) - 1) == NULL)
        abort ();
      seed = chronos_crc32 (0, data, MIN (size, (size_t)4096));
      for (guint i = 0; i < 8 && vsize > 0; i++)
        {
          guint64 offset;
          gsize   length;

          seed = seed * 1103515245u + 12345u;
          offset = ((guint64)seed * 2654435761u) % vsize;
          seed = seed * 1103515245u + 12345u;
          length = (gsize)MIN ((guint64)(seed % (128 * 1024)) + 1, vsize - offset);
          /* A failed read is fine; a crash or sanitizer report is not.
           * The checksum touches every byte a successful read returned. */
          if (chronos_image_chain_read (chain, buffer, offset, length, NULL))
            (void)chronos_crc32 (0, buffer, length);
        }
      g_free (buffer);
    }

  info = chronos_image_info_load (child, NULL, NULL);
  if (info != NULL)
    {
      JsonNode *node = chronos_image_info_to_json (info);

      json_node_unref (node);
    }
  return 0;
}
