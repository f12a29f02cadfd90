/* chronos-partition-probe.h: MBR and GPT partition tables from a disk's first sectors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib.h>

#include "chronos-image-info.h"

G_BEGIN_DECLS

/* Reads @length bytes at byte @offset of the virtual disk. */
typedef gboolean (*ChronosDiskReadFunc) (gpointer user_data,
                                         void    *buffer,
                                         guint64  offset,
                                         gsize    length,
                                         GError **error);

/* Finds the partition style and the partitions of a disk of @disk_size
 * bytes with @sector_size-byte logical sectors (512 or 4096). A damaged or
 * absent table is not an error (the style is NONE); only a failing
 * @read_func is. @partitions receives ChronosPartition elements. */
gboolean chronos_partition_probe (ChronosDiskReadFunc    read_func,
                                  gpointer               user_data,
                                  guint64                disk_size,
                                  guint32                sector_size,
                                  ChronosPartitionStyle *style,
                                  GPtrArray            **partitions,
                                  GError               **error);

/* The readable name of a GPT partition type GUID ("efi-system", ...), or
 * NULL when it is not one Chronos knows. */
const char *chronos_partition_gpt_type_name (const char *guid);

/* The readable name of an MBR partition type byte ("ntfs", ...), newly
 * allocated: "0xNN" when it is not one Chronos knows. */
char *chronos_partition_mbr_type_name (guint8 type);

G_END_DECLS
