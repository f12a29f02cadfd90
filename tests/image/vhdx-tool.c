/* vhdx-tool.c: drives ChronosVhdx for test-image.py (reads vs raw, errors)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 *   vhdx-tool compare IMAGE RAW SEED [OFFSET:LENGTH...]
 *       Random reads through the BAT from four threads at once, plus every
 *       listed range, must equal the same bytes of RAW (a raw image of the
 *       same disk). Exit 0 when they all do.
 *   vhdx-tool error IMAGE
 *       Prints "CODE: message" for the GError that opening IMAGE (both
 *       ChronosVhdx and ChronosImageInfo) gives; exit 0 only when both fail
 *       with a CHRONOS_IMAGE_ERROR and a non-empty one-line message.
 *   vhdx-tool read IMAGE OFFSET LENGTH
 *       Prints "CODE: message" if the read fails, "ok" otherwise.
 */

#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chronos-image-error.h"
#include "chronos-image-info.h"
#include "chronos-vhdx.h"

static const char *
code_name (const GError *error)
{
  static const char *names[] = { "NOT_VHDX", "CORRUPT", "TRUNCATED", "UNSUPPORTED", "NEEDS_PARENT", "IO" };

  if (error->domain != CHRONOS_IMAGE_ERROR || error->code < 0 || error->code >= (int)G_N_ELEMENTS (names))
    return "OTHER";
  return names[error->code];
}

typedef struct
{
  ChronosVhdx *vhdx;
  int          raw_fd;
  guint64      seed;
  GArray      *ranges; /* pairs of guint64 */
  gint         failures;
} CompareData;

static gboolean
compare_range (CompareData *data,
               guint64      offset,
               gsize        length)
{
  g_autofree guint8 *a = g_malloc (length);
  g_autofree guint8 *b = g_malloc0 (length);
  g_autoptr (GError) error = NULL;
  gssize got;

  if (!chronos_vhdx_read (data->vhdx, a, offset, length, &error))
    {
      g_printerr ("read %" G_GUINT64_FORMAT "+%" G_GSIZE_FORMAT " failed: %s\n", offset, length, error->message);
      return FALSE;
    }
  got = pread (data->raw_fd, b, length, (off_t)offset);
  if (got < 0)
    return FALSE;
  /* A raw image may be shorter than the disk (sparse tail): zeros. */
  if (memcmp (a, b, length) != 0)
    {
      for (gsize i = 0; i < length; i++)
        if (a[i] != b[i])
          {
            g_printerr ("mismatch at byte %" G_GUINT64_FORMAT ": image %02x, raw %02x\n", offset + i, a[i], b[i]);
            break;
          }
      return FALSE;
    }
  return TRUE;
}

static gpointer
compare_thread (gpointer user_data)
{
  CompareData *data = user_data;
  g_autoptr (GRand) rand = g_rand_new_with_seed ((guint32)data->seed);
  guint64 size = chronos_vhdx_get_virtual_size (data->vhdx);
  guint64 block = chronos_vhdx_get_block_size (data->vhdx);

  for (guint i = 0; i < 150; i++)
    {
      guint64 offset;
      gsize   length;

      /* Half the reads near a listed range, half anywhere; lengths cross
       * block boundaries now and then. */
      if (data->ranges->len > 0 && g_rand_boolean (rand))
        {
          guint   k = g_rand_int_range (rand, 0, (gint32)(data->ranges->len / 2));
          guint64 base = g_array_index (data->ranges, guint64, 2 * k);

          offset = base > block ? base - (guint64)g_rand_int_range (rand, 0, 65536) : base;
        }
      else
        offset = (guint64)(g_rand_double (rand) * (double)size);
      length = (gsize)g_rand_int_range (rand, 1, (gint32)MIN (block * 2 + 4096, 3 * 1024 * 1024));
      if (offset >= size)
        offset = size - 1;
      if (length > size - offset)
        length = (gsize)(size - offset);
      if (!compare_range (data, offset, length))
        g_atomic_int_inc (&data->failures);
    }
  return NULL;
}

static int
cmd_compare (int    argc,
             char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosVhdx) vhdx = NULL;
  g_autoptr (GArray) ranges = g_array_new (FALSE, FALSE, sizeof (guint64));
  CompareData data[4];
  GThread    *threads[4];
  int         raw_fd;
  gint        failures = 0;

  if (argc < 5)
    return 2;
  vhdx = chronos_vhdx_open (argv[2], NULL, &error);
  if (vhdx == NULL)
    {
      g_printerr ("open failed: %s\n", error->message);
      return 1;
    }
  raw_fd = open (argv[3], O_RDONLY);
  if (raw_fd < 0)
    return 1;

  for (int i = 5; i < argc; i++)
    {
      guint64 offset = 0, length = 0;

      if (sscanf (argv[i], "%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT, &offset, &length) != 2)
        return 2;
      g_array_append_val (ranges, offset);
      g_array_append_val (ranges, length);
    }

  /* Every listed range, whole. */
  {
    CompareData whole = { vhdx, raw_fd, 0, ranges, 0 };

    for (guint i = 0; i < ranges->len / 2; i++)
      if (!compare_range (&whole, g_array_index (ranges, guint64, 2 * i), g_array_index (ranges, guint64, 2 * i + 1)))
        failures++;
  }

  for (guint t = 0; t < 4; t++)
    {
      data[t] = (CompareData){ vhdx, raw_fd, g_ascii_strtoull (argv[4], NULL, 10) * 4 + t, ranges, 0 };
      threads[t] = g_thread_new ("compare", compare_thread, &data[t]);
    }
  for (guint t = 0; t < 4; t++)
    {
      g_thread_join (threads[t]);
      failures += data[t].failures;
    }
  close (raw_fd);

  if (failures > 0)
    {
      g_printerr ("%d reads differ from the raw image\n", failures);
      return 1;
    }
  g_print ("ok\n");
  return 0;
}

static int
cmd_error (int    argc,
           char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) info_error = NULL;
  g_autoptr (ChronosVhdx) vhdx = NULL;
  g_autoptr (ChronosImageInfo) info = NULL;

  if (argc != 3)
    return 2;
  vhdx = chronos_vhdx_open (argv[2], NULL, &error);
  info = chronos_image_info_load (argv[2], NULL, &info_error);
  if (vhdx != NULL || info != NULL)
    {
      g_print ("opened\n");
      return 1;
    }
  g_print ("%s: %s\n", code_name (error), error->message);
  if (error->domain != CHRONOS_IMAGE_ERROR || info_error->domain != CHRONOS_IMAGE_ERROR ||
      error->code != info_error->code || *error->message == '\0' || strchr (error->message, '\n'))
    return 1;
  return 0;
}

static int
cmd_read (int    argc,
          char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosVhdx) vhdx = NULL;
  g_autofree guint8 *buffer = NULL;
  guint64            offset, length;

  if (argc != 5)
    return 2;
  offset = g_ascii_strtoull (argv[3], NULL, 10);
  length = g_ascii_strtoull (argv[4], NULL, 10);
  vhdx = chronos_vhdx_open (argv[2], NULL, &error);
  if (vhdx == NULL)
    {
      g_print ("%s: %s\n", code_name (error), error->message);
      return 1;
    }
  buffer = g_malloc (MAX (length, 1));
  if (!chronos_vhdx_read (vhdx, buffer, offset, length, &error))
    {
      g_print ("%s: %s\n", code_name (error), error->message);
      return 1;
    }
  g_print ("ok\n");
  return 0;
}

int
main (int    argc,
      char **argv)
{
  if (argc >= 2 && strcmp (argv[1], "compare") == 0)
    return cmd_compare (argc, argv);
  if (argc >= 2 && strcmp (argv[1], "error") == 0)
    return cmd_error (argc, argv);
  if (argc >= 2 && strcmp (argv[1], "read") == 0)
    return cmd_read (argc, argv);
  g_printerr ("usage: vhdx-tool compare|error|read ...\n");
  return 2;
}
