/* chronos-partition-probe.c: MBR and GPT partition tables from a disk's first sectors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The disk is untrusted: every LBA is checked against the disk size, entry
 * counts and sizes are capped before anything is allocated, and the
 * extended-partition chain is bounded so a loop cannot hang the probe.
 */

#include "config.h"

#include <string.h>

#include "chronos-crc.h"
#include "chronos-partition-probe.h"

#define GPT_MAX_ENTRIES_BYTES (1024 * 1024)
#define GPT_MAX_ENTRIES 16384
#define MBR_MAX_LOGICAL 128

static inline guint16
le16 (const guint8 *p)
{
  return (guint16)(p[0] | (p[1] << 8));
}

static inline guint32
le32 (const guint8 *p)
{
  return (guint32)p[0] | ((guint32)p[1] << 8) | ((guint32)p[2] << 16) | ((guint32)p[3] << 24);
}

static inline guint64
le64 (const guint8 *p)
{
  return (guint64)le32 (p) | ((guint64)le32 (p + 4) << 32);
}

static const struct
{
  const char *guid;
  const char *name;
} gpt_types[] = {
  { "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "efi-system" },
  { "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", "microsoft-basic-data" },
  { "E3C9E316-0B5C-4DB8-817D-F92DF00215AE", "microsoft-reserved" },
  { "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC", "windows-recovery" },
  { "5808C8AA-7E8F-42E0-85D2-E1E90434CFB3", "microsoft-ldm-metadata" },
  { "AF9B60A0-1431-4F62-BC68-3311714A69AD", "microsoft-ldm-data" },
  { "E75CAF8F-F680-4CEE-AFA3-B001E56EFC2D", "microsoft-storage-spaces" },
  { "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "linux" },
  { "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", "linux-root-x86-64" },
  { "933AC7E1-2EB4-4F13-B844-0E14E2AEF915", "linux-home" },
  { "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "linux-swap" },
  { "E6D6D379-F507-44C2-A23C-238F2A3DF928", "linux-lvm" },
  { "A19D880F-05FC-4D3B-A006-743F0F84911E", "linux-raid" },
  { "BC13C2FF-59E6-4262-A352-B275FD6F7172", "linux-extended-boot" },
  { "21686148-6449-6E6F-744E-656564454649", "bios-boot" },
};

const char *
chronos_partition_gpt_type_name (const char *guid)
{
  g_return_val_if_fail (guid != NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (gpt_types); i++)
    if (g_ascii_strcasecmp (guid, gpt_types[i].guid) == 0)
      return gpt_types[i].name;
  return NULL;
}

char *
chronos_partition_mbr_type_name (guint8 type)
{
  switch (type)
    {
    case 0x01:
      return g_strdup ("fat12");
    case 0x04:
    case 0x06:
    case 0x0e:
      return g_strdup ("fat16");
    case 0x05:
    case 0x0f:
    case 0x85:
      return g_strdup ("extended");
    case 0x07:
      return g_strdup ("ntfs");
    case 0x0b:
    case 0x0c:
      return g_strdup ("fat32");
    case 0x27:
      return g_strdup ("windows-recovery");
    case 0x42:
      return g_strdup ("windows-dynamic");
    case 0x82:
      return g_strdup ("linux-swap");
    case 0x83:
      return g_strdup ("linux");
    case 0x8e:
      return g_strdup ("linux-lvm");
    case 0xfd:
      return g_strdup ("linux-raid");
    case 0xee:
      return g_strdup ("gpt-protective");
    case 0xef:
      return g_strdup ("efi-system");
    default:
      return g_strdup_printf ("0x%02x", type);
    }
}

static gboolean
is_extended (guint8 type)
{
  return type == 0x05 || type == 0x0f || type == 0x85;
}

static void
guid_to_string (const guint8 *g,
                char          out[37])
{
  g_snprintf (out, 37, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
              le32 (g), le16 (g + 4), le16 (g + 6), g[8], g[9], g[10], g[11],
              g[12], g[13], g[14], g[15]);
}

static ChronosPartition *
partition_new (guint    number,
               guint64  start,
               guint64  size,
               char    *type,
               char    *name,
               gboolean bootable)
{
  ChronosPartition *p = g_new0 (ChronosPartition, 1);

  p->number = number;
  p->start = start;
  p->size = size;
  p->type = type;
  p->name = name;
  p->bootable = bootable;
  return p;
}

/* Reads LBA range [lba, lba + count) if it lies on the disk. */
static gboolean
read_lbas (ChronosDiskReadFunc read_func,
           gpointer            user_data,
           guint64             disk_size,
           guint32             sector_size,
           guint64             lba,
           guint64             count,
           guint8             *buffer,
           gboolean           *on_disk,
           GError            **error)
{
  guint64 sectors = disk_size / sector_size;

  *on_disk = lba < sectors && count <= sectors - lba;
  if (!*on_disk)
    return TRUE;
  return read_func (user_data, buffer, lba * sector_size, (gsize)(count * sector_size), error);
}

/* Reads and checks a GPT header at @lba and its entry array. Returns TRUE
 * with *found FALSE when the header is not valid; FALSE only on read errors. */
static gboolean
probe_gpt (ChronosDiskReadFunc read_func,
           gpointer            user_data,
           guint64             disk_size,
           guint32             sector_size,
           guint64             lba,
           GPtrArray          *partitions,
           gboolean           *found,
           GError            **error)
{
  g_autofree guint8 *hdr = g_malloc (sector_size);
  g_autofree guint8 *entries = NULL;
  guint64            sectors = disk_size / sector_size;
  guint32            header_size, n_entries, entry_size, stored;
  guint64            entries_lba, entries_bytes, entries_sectors, first_usable, last_usable;
  gboolean           on_disk;

  *found = FALSE;

  if (!read_lbas (read_func, user_data, disk_size, sector_size, lba, 1, hdr, &on_disk, error))
    return FALSE;
  if (!on_disk || memcmp (hdr, "EFI PART", 8) != 0)
    return TRUE;

  header_size = le32 (hdr + 12);
  if (header_size < 92 || header_size > sector_size)
    return TRUE;
  stored = le32 (hdr + 16);
  memset (hdr + 16, 0, 4);
  if (chronos_crc32 (0, hdr, header_size) != stored)
    return TRUE;
  if (le64 (hdr + 24) != lba)
    return TRUE;

  first_usable = le64 (hdr + 40);
  last_usable = le64 (hdr + 48);
  entries_lba = le64 (hdr + 72);
  n_entries = le32 (hdr + 80);
  entry_size = le32 (hdr + 84);

  if (entry_size < 128 || entry_size % 128 != 0 || (entry_size & (entry_size - 1)) != 0 ||
      n_entries == 0 || n_entries > GPT_MAX_ENTRIES ||
      (guint64)n_entries * entry_size > GPT_MAX_ENTRIES_BYTES ||
      first_usable > last_usable || last_usable >= sectors)
    return TRUE;

  entries_bytes = (guint64)n_entries * entry_size;
  entries_sectors = (entries_bytes + sector_size - 1) / sector_size;
  entries = g_malloc (entries_sectors * sector_size);
  if (!read_lbas (read_func, user_data, disk_size, sector_size, entries_lba, entries_sectors,
                  entries, &on_disk, error))
    return FALSE;
  if (!on_disk || chronos_crc32 (0, entries, (gsize)entries_bytes) != le32 (hdr + 88))
    return TRUE;

  *found = TRUE;
  for (guint32 i = 0; i < n_entries; i++)
    {
      const guint8 *e = entries + (gsize)i * entry_size;
      guint64       first = le64 (e + 32), last = le64 (e + 40), attributes = le64 (e + 48);
      char          guid[37];
      const char   *known;
      char         *type, *name;
      gunichar2     units[36];
      glong         n_units = 0;

      guid_to_string (e, guid);
      if (strcmp (guid, "00000000-0000-0000-0000-000000000000") == 0)
        continue;
      /* An entry outside the disk is damage, not a partition to boot. */
      if (first > last || last >= sectors)
        continue;

      known = chronos_partition_gpt_type_name (guid);
      type = known != NULL ? g_strdup (known) : g_ascii_strdown (guid, -1);

      while (n_units < 36 && le16 (e + 56 + 2 * n_units) != 0)
        {
          units[n_units] = le16 (e + 56 + 2 * n_units);
          n_units++;
        }
      name = n_units > 0 ? g_utf16_to_utf8 (units, n_units, NULL, NULL, NULL) : NULL;

      g_ptr_array_add (partitions,
                       partition_new (i + 1, first * sector_size, (last - first + 1) * sector_size,
                                      type, name,
                                      (known != NULL && strcmp (known, "efi-system") == 0) ||
                                          (attributes & 4) != 0));
    }

  return TRUE;
}

/* Walks the chain of extended boot records, numbering logical partitions
 * from 5 as Linux and Windows do. */
static gboolean
probe_logical (ChronosDiskReadFunc read_func,
               gpointer            user_data,
               guint64             disk_size,
               guint32             sector_size,
               guint64             extended_lba,
               GPtrArray          *partitions,
               GError            **error)
{
  g_autofree guint8 *ebr = g_malloc (sector_size);
  guint64            ebr_lba = extended_lba;
  guint              number = 5;

  for (guint n = 0; n < MBR_MAX_LOGICAL; n++)
    {
      gboolean      on_disk;
      const guint8 *e0, *e1;
      guint64       next;

      if (!read_lbas (read_func, user_data, disk_size, sector_size, ebr_lba, 1, ebr, &on_disk, error))
        return FALSE;
      if (!on_disk || ebr[510] != 0x55 || ebr[511] != 0xAA)
        return TRUE;

      e0 = ebr + 446;
      e1 = ebr + 462;
      if (e0[4] != 0 && le32 (e0 + 12) > 0)
        {
          guint64 start = ebr_lba + le32 (e0 + 8);
          guint64 count = le32 (e0 + 12);

          if (start + count <= disk_size / sector_size)
            g_ptr_array_add (partitions,
                             partition_new (number++, start * sector_size, count * sector_size,
                                            chronos_partition_mbr_type_name (e0[4]), NULL,
                                            e0[0] == 0x80));
        }
      if (!is_extended (e1[4]) || le32 (e1 + 8) == 0)
        return TRUE;
      /* Links are relative to the start of the extended partition. */
      next = extended_lba + le32 (e1 + 8);
      if (next <= ebr_lba)
        return TRUE;
      ebr_lba = next;
    }

  return TRUE;
}

gboolean
chronos_partition_probe (ChronosDiskReadFunc    read_func,
                         gpointer               user_data,
                         guint64                disk_size,
                         guint32                sector_size,
                         ChronosPartitionStyle *style,
                         GPtrArray            **partitions,
                         GError               **error)
{
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func ((GDestroyNotify)chronos_partition_free);
  g_autofree guint8 *mbr = NULL;
  gboolean           protective = FALSE, valid_mbr = TRUE, any = FALSE, on_disk;

  g_return_val_if_fail (read_func != NULL, FALSE);
  g_return_val_if_fail (sector_size == 512 || sector_size == 4096, FALSE);
  g_return_val_if_fail (style != NULL && partitions != NULL, FALSE);

  *style = CHRONOS_PARTITION_STYLE_NONE;
  *partitions = NULL;

  mbr = g_malloc (sector_size);
  if (!read_lbas (read_func, user_data, disk_size, sector_size, 0, 1, mbr, &on_disk, error))
    return FALSE;
  if (!on_disk || mbr[510] != 0x55 || mbr[511] != 0xAA)
    {
      *partitions = g_steal_pointer (&found);
      return TRUE;
    }

  for (guint i = 0; i < 4; i++)
    {
      const guint8 *e = mbr + 446 + i * 16;

      if (e[0] != 0x00 && e[0] != 0x80)
        valid_mbr = FALSE;
      if (e[4] == 0xEE)
        protective = TRUE;
      if (e[4] != 0)
        any = TRUE;
    }

  if (protective)
    {
      gboolean gpt = FALSE;

      if (!probe_gpt (read_func, user_data, disk_size, sector_size, 1, found, &gpt, error))
        return FALSE;
      /* A damaged primary header: the backup sits in the disk's last LBA. */
      if (!gpt && disk_size / sector_size > 2)
        {
          g_ptr_array_set_size (found, 0);
          if (!probe_gpt (read_func, user_data, disk_size, sector_size,
                          disk_size / sector_size - 1, found, &gpt, error))
            return FALSE;
        }
      /* A 4096-byte-sector container holding a disk laid out in 512-byte
       * sectors (what a guest sees through a 512-byte controller): the
       * header then sits at byte 512. */
      if (!gpt && sector_size != 512)
        {
          g_ptr_array_set_size (found, 0);
          if (!probe_gpt (read_func, user_data, disk_size, 512, 1, found, &gpt, error))
            return FALSE;
        }
      if (gpt)
        *style = CHRONOS_PARTITION_STYLE_GPT;
      else
        g_ptr_array_set_size (found, 0);
    }
  else if (valid_mbr && any)
    {
      *style = CHRONOS_PARTITION_STYLE_MBR;
      for (guint i = 0; i < 4; i++)
        {
          const guint8 *e = mbr + 446 + i * 16;
          guint64       start = le32 (e + 8), count = le32 (e + 12);

          if (e[4] == 0 || count == 0)
            continue;
          g_ptr_array_add (found,
                           partition_new (i + 1, start * sector_size, count * sector_size,
                                          chronos_partition_mbr_type_name (e[4]), NULL,
                                          e[0] == 0x80));
        }
      for (guint i = 0; i < 4; i++)
        {
          const guint8 *e = mbr + 446 + i * 16;

          if (is_extended (e[4]) && le32 (e + 8) > 0)
            {
              if (!probe_logical (read_func, user_data, disk_size, sector_size, le32 (e + 8), found, error))
                return FALSE;
              break;
            }
        }
    }

  *partitions = g_steal_pointer (&found);
  return TRUE;
}
