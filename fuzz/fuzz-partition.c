/* fuzz-partition.c: libFuzzer target for the MBR/GPT partition probe
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The input is the start of a disk; it is probed with 512- and 4096-byte
 * sectors. Reads must stay inside the disk the probe was told about.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chronos-partition-probe.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

typedef struct
{
  const guint8 *data;
  gsize         size;
} Disk;

static gboolean
read_cb (gpointer user_data,
         void    *buffer,
         guint64  offset,
         gsize    length,
         GError **error)
{
  const Disk *disk = user_data;

  if (offset > disk->size || length > disk->size - offset)
    abort ();
  memcpy (buffer, disk->data + offset, length);
  return TRUE;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  Disk                 disk = { data, size };
  static const guint32 sector_sizes[] = { 512, 4096 };

  for (guint i = 0; i < G_N_ELEMENTS (sector_sizes); i++)
    {
      g_autoptr (GPtrArray) partitions = NULL;
      ChronosPartitionStyle style;

      if (!chronos_partition_probe (read_cb, &disk, size, sector_sizes[i], &style, &partitions, NULL))
        abort ();
      for (guint k = 0; k < partitions->len; k++)
        {
          const ChronosPartition *p = g_ptr_array_index (partitions, k);

          if (p->type == NULL || (p->name != NULL && !g_utf8_validate (p->name, -1, NULL)))
            abort ();
        }
    }
  return 0;
}
