/* test-image-info.c: CRCs, the partition probe on in-memory disks, and
 * ChronosImageInfo's sync/async loading and errors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "chronos-crc.h"
#include "chronos-image-error.h"
#include "chronos-image-info.h"
#include "chronos-partition-probe.h"
#include "chronos-vhdx.h"

static void
test_crc_vectors (void)
{
  const char *check = "123456789";

  /* The standard check values of both CRCs. */
  g_assert_cmphex (chronos_crc32c (0, check, 9), ==, 0xE3069283);
  g_assert_cmphex (chronos_crc32 (0, check, 9), ==, 0xCBF43926);
  /* Continuing a CRC equals computing it at once. */
  g_assert_cmphex (chronos_crc32c (chronos_crc32c (0, check, 4), check + 4, 5), ==, 0xE3069283);
  g_assert_cmphex (chronos_crc32 (0, "", 0), ==, 0);
}

typedef struct
{
  guint8 *data;
  gsize   size;
  guint   reads;
} MemDisk;

static gboolean
mem_read_cb (gpointer user_data,
             void    *buffer,
             guint64  offset,
             gsize    length,
             GError **error)
{
  MemDisk *disk = user_data;

  disk->reads++;
  g_assert_cmpuint (offset + length, <=, disk->size);
  memcpy (buffer, disk->data + offset, length);
  return TRUE;
}

static void
put_le32 (guint8 *p, guint32 v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (guint8)(v >> (8 * i));
}

static void
put_le64 (guint8 *p, guint64 v)
{
  put_le32 (p, (guint32)v);
  put_le32 (p + 4, (guint32)(v >> 32));
}

static void
mbr_entry (guint8 *sector, guint i, guint8 status, guint8 type, guint32 start, guint32 count)
{
  guint8 *e = sector + 446 + 16 * i;

  e[0] = status;
  e[4] = type;
  put_le32 (e + 8, start);
  put_le32 (e + 12, count);
  sector[510] = 0x55;
  sector[511] = 0xAA;
}

static void
test_probe_mbr (void)
{
  guint32 sector_sizes[] = { 512, 4096 };

  for (guint s = 0; s < G_N_ELEMENTS (sector_sizes); s++)
    {
      guint32 ss = sector_sizes[s];
      MemDisk disk = { g_malloc0 (ss * 4096), ss * 4096, 0 };
      g_autoptr (GPtrArray) parts = NULL;
      ChronosPartitionStyle style;
      g_autoptr (GError) error = NULL;
      const ChronosPartition *p;

      mbr_entry (disk.data, 0, 0x80, 0x07, 1, 100);
      mbr_entry (disk.data, 1, 0x00, 0x0f, 1000, 2000);
      mbr_entry (disk.data, 2, 0x00, 0x99, 3000, 10);
      /* Two logical partitions, and the second EBR links back to the
       * first: the walk must stop, not loop. */
      mbr_entry (disk.data + (gsize)1000 * ss, 0, 0, 0x83, 10, 50);
      mbr_entry (disk.data + (gsize)1000 * ss, 1, 0, 0x05, 100, 200);
      mbr_entry (disk.data + (gsize)1100 * ss, 0, 0, 0x82, 5, 20);
      mbr_entry (disk.data + (gsize)1100 * ss, 1, 0, 0x05, 0, 200);

      g_assert_true (chronos_partition_probe (mem_read_cb, &disk, disk.size, ss, &style, &parts, &error));
      g_assert_no_error (error);
      g_assert_cmpint (style, ==, CHRONOS_PARTITION_STYLE_MBR);
      g_assert_cmpuint (parts->len, ==, 5);
      p = g_ptr_array_index (parts, 0);
      g_assert_cmpuint (p->number, ==, 1);
      g_assert_cmpuint (p->start, ==, ss);
      g_assert_cmpuint (p->size, ==, 100 * (guint64)ss);
      g_assert_cmpstr (p->type, ==, "ntfs");
      g_assert_true (p->bootable);
      g_assert_null (p->name);
      g_assert_cmpstr (((ChronosPartition *)g_ptr_array_index (parts, 1))->type, ==, "extended");
      g_assert_cmpstr (((ChronosPartition *)g_ptr_array_index (parts, 2))->type, ==, "0x99");
      p = g_ptr_array_index (parts, 3);
      g_assert_cmpuint (p->number, ==, 5);
      g_assert_cmpstr (p->type, ==, "linux");
      g_assert_cmpuint (p->start, ==, 1010 * (guint64)ss);
      p = g_ptr_array_index (parts, 4);
      g_assert_cmpuint (p->number, ==, 6);
      g_assert_cmpstr (p->type, ==, "linux-swap");
      g_assert_cmpuint (p->start, ==, 1105 * (guint64)ss);
      g_free (disk.data);
    }
}

static void
write_gpt (guint8 *disk, guint32 ss, guint64 lba, guint64 total_lbas, gboolean break_entries)
{
  guint8             *h = disk + lba * ss;
  guint8             *entries = disk + 2 * (gsize)ss;
  static const guint8 esp[16] = { 0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B };
  static const guint8 other[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
  const char         *name = "EFI system";

  memset (entries, 0, 128 * 128);
  memcpy (entries, esp, 16);
  put_le64 (entries + 32, 34);
  put_le64 (entries + 40, 99);
  for (guint i = 0; name[i]; i++)
    entries[56 + 2 * i] = (guint8)name[i];
  memcpy (entries + 128, other, 16);
  put_le64 (entries + 128 + 32, 100);
  put_le64 (entries + 128 + 40, 199);

  memset (h, 0, ss);
  memcpy (h, "EFI PART", 8);
  put_le32 (h + 8, 0x10000);
  put_le32 (h + 12, 92);
  put_le64 (h + 24, lba);
  put_le64 (h + 32, total_lbas - 1);
  put_le64 (h + 40, 34);
  put_le64 (h + 48, total_lbas - 34);
  put_le64 (h + 72, 2);
  put_le32 (h + 80, 128);
  put_le32 (h + 84, 128);
  put_le32 (h + 88, chronos_crc32 (0, entries, 128 * 128) ^ (break_entries ? 1 : 0));
  put_le32 (h + 16, chronos_crc32 (0, h, 92));
}

static void
test_probe_gpt (void)
{
  guint32 ss = 512;
  guint64 lbas = 4096;
  MemDisk disk = { g_malloc0 (ss * lbas), ss * lbas, 0 };
  g_autoptr (GPtrArray) parts = NULL;
  g_autoptr (GPtrArray) parts2 = NULL;
  g_autoptr (GPtrArray) parts3 = NULL;
  ChronosPartitionStyle   style;
  const ChronosPartition *p;

  mbr_entry (disk.data, 0, 0, 0xEE, 1, (guint32)lbas - 1);
  write_gpt (disk.data, ss, 1, lbas, FALSE);
  g_assert_true (chronos_partition_probe (mem_read_cb, &disk, disk.size, ss, &style, &parts, NULL));
  g_assert_cmpint (style, ==, CHRONOS_PARTITION_STYLE_GPT);
  g_assert_cmpuint (parts->len, ==, 2);
  p = g_ptr_array_index (parts, 0);
  g_assert_cmpstr (p->type, ==, "efi-system");
  g_assert_cmpstr (p->name, ==, "EFI system");
  g_assert_true (p->bootable);
  g_assert_cmpuint (p->start, ==, 34 * 512);
  g_assert_cmpuint (p->size, ==, 66 * 512);
  p = g_ptr_array_index (parts, 1);
  g_assert_cmpstr (p->type, ==, "04030201-0605-0807-090a-0b0c0d0e0f10");
  g_assert_false (p->bootable);

  /* Primary header damaged: the backup header in the last LBA is used. */
  disk.data[512 + 20] ^= 0xFF;
  write_gpt (disk.data, ss, lbas - 1, lbas, FALSE);
  disk.data[512 + 40] ^= 0xFF;
  g_assert_true (chronos_partition_probe (mem_read_cb, &disk, disk.size, ss, &style, &parts2, NULL));
  g_assert_cmpint (style, ==, CHRONOS_PARTITION_STYLE_GPT);
  g_assert_cmpuint (parts2->len, ==, 2);

  /* Entry array checksum wrong everywhere: no partition table. */
  write_gpt (disk.data, ss, 1, lbas, TRUE);
  write_gpt (disk.data, ss, lbas - 1, lbas, TRUE);
  g_assert_true (chronos_partition_probe (mem_read_cb, &disk, disk.size, ss, &style, &parts3, NULL));
  g_assert_cmpint (style, ==, CHRONOS_PARTITION_STYLE_NONE);
  g_assert_cmpuint (parts3->len, ==, 0);
  g_free (disk.data);
}

static void
test_probe_tiny_disks (void)
{
  guint8  data[600] = { 0 };
  MemDisk disk = { data, sizeof data, 0 };

  /* Disks smaller than one sector or two: nothing is read past the end. */
  for (gsize size = 0; size <= sizeof data; size += 100)
    {
      g_autoptr (GPtrArray) parts = NULL;
      ChronosPartitionStyle style;

      disk.size = size;
      g_assert_true (chronos_partition_probe (mem_read_cb, &disk, size, 512, &style, &parts, NULL));
      g_assert_cmpint (style, ==, CHRONOS_PARTITION_STYLE_NONE);
    }
}

static void
test_type_names (void)
{
  g_autofree char *ntfs = chronos_partition_mbr_type_name (0x07);
  g_autofree char *unknown = chronos_partition_mbr_type_name (0xAB);

  g_assert_cmpstr (ntfs, ==, "ntfs");
  g_assert_cmpstr (unknown, ==, "0xab");
  g_assert_cmpstr (chronos_partition_gpt_type_name ("ebd0a0a2-b9e5-4433-87c0-68b6b72699c7"), ==, "microsoft-basic-data");
  g_assert_null (chronos_partition_gpt_type_name ("00000000-1111-2222-3333-444444444444"));
}

static void
test_errors (void)
{
  g_autofree char *dir = g_dir_make_tmp ("chronos-image-XXXXXX", NULL);
  g_autofree char *empty = g_build_filename (dir, "empty.vhdx", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.vhdx", NULL);
  g_autoptr (GError) error = NULL;
  ChronosImageInfo *info;

  g_assert_true (g_file_set_contents (empty, "", 0, NULL));

  info = chronos_image_info_load (empty, NULL, &error);
  g_assert_null (info);
  g_assert_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_NOT_VHDX);
  g_clear_error (&error);

  info = chronos_image_info_load (missing, NULL, &error);
  g_assert_null (info);
  g_assert_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_IO);
  g_clear_error (&error);

  info = chronos_image_info_load (dir, NULL, &error);
  g_assert_null (info);
  g_assert_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_IO);

  g_unlink (empty);
  g_rmdir (dir);
}

static void
load_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static void
test_load_async (void)
{
  g_autofree char *dir = g_dir_make_tmp ("chronos-image-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "disk.vhdx", NULL);
  const char      *argv[] = { "qemu-img", "create", "-q", "-f", "vhdx", "-o", "subformat=dynamic,block_size=32M", path, "3G", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosImageInfo) info = NULL;
  g_autoptr (GCancellable) cancelled = g_cancellable_new ();
  GAsyncResult *result = NULL;
  int           status = -1;

  g_autofree char *qemu_img = g_find_program_in_path ("qemu-img");

  if (qemu_img == NULL)
    {
      g_test_skip ("qemu-img is not installed");
      return;
    }
  g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status, NULL));
  g_assert_cmpint (status, ==, 0);

  chronos_image_info_load_async (path, NULL, load_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  info = chronos_image_info_load_finish (result, &error);
  g_clear_object (&result);
  g_assert_no_error (error);
  g_assert_cmpuint (chronos_image_info_get_virtual_size (info), ==, 3 * G_GUINT64_CONSTANT (1073741824));
  g_assert_cmpuint (chronos_image_info_get_block_size (info), ==, 32 * 1024 * 1024);
  g_assert_cmpstr (chronos_image_info_get_format (info), ==, "vhdx");
  g_assert_true (chronos_image_info_get_qemu_can_open (info));
  g_assert_cmpint (chronos_image_info_get_firmware (info), ==, CHRONOS_FIRMWARE_MODE_BIOS);
  g_assert_cmpint (chronos_image_info_get_partition_style (info), ==, CHRONOS_PARTITION_STYLE_NONE);
  g_assert_cmpuint (chronos_image_info_get_partitions (info)->len, ==, 0);
  g_assert_nonnull (chronos_image_info_get_warnings (info));

  g_cancellable_cancel (cancelled);
  chronos_image_info_load_async (path, cancelled, load_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (chronos_image_info_load_finish (result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_object (&result);

  g_assert_finalize_object (g_steal_pointer (&info));
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/image/crc", test_crc_vectors);
  g_test_add_func ("/image/probe/mbr", test_probe_mbr);
  g_test_add_func ("/image/probe/gpt", test_probe_gpt);
  g_test_add_func ("/image/probe/tiny", test_probe_tiny_disks);
  g_test_add_func ("/image/probe/type-names", test_type_names);
  g_test_add_func ("/image/info/errors", test_errors);
  g_test_add_func ("/image/info/load-async", test_load_async);

  return g_test_run ();
}
