/* chronos-image-info.c: what a backup image is and how it must boot
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Loading is meant to be cheap enough to list a folder of a thousand
 * backups: it opens the VHDX (headers, region tables, metadata and the BAT
 * entries in use) and reads the few sectors the partition probe needs.
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "chronos-image-error.h"
#include "chronos-image-info.h"
#include "chronos-partition-probe.h"
#include "chronos-vhdx.h"

/* How deep a chain of differencing images the probe follows. */
#define MAX_PARENT_DEPTH 16

struct _ChronosImageInfo
{
  GObject parent_instance;

  char                 *path;
  guint64               file_size;
  guint64               virtual_size;
  guint32               block_size;
  guint32               logical_sector_size;
  guint32               physical_sector_size;
  char                 *creator;
  gboolean              has_parent;
  char                 *parent_relative_path;
  char                 *parent_absolute_win32_path;
  char                 *parent_resolved_path;
  gboolean              log_pending;
  ChronosPartitionStyle partition_style;
  GPtrArray            *partitions;
  GPtrArray            *warnings; /* NULL-terminated */
};

G_DEFINE_FINAL_TYPE (ChronosImageInfo, chronos_image_info, G_TYPE_OBJECT)

G_DEFINE_BOXED_TYPE (ChronosPartition, chronos_partition, chronos_partition_copy, chronos_partition_free)

ChronosPartition *
chronos_partition_copy (const ChronosPartition *partition)
{
  ChronosPartition *copy;

  g_return_val_if_fail (partition != NULL, NULL);

  copy = g_new0 (ChronosPartition, 1);
  *copy = *partition;
  copy->type = g_strdup (partition->type);
  copy->name = g_strdup (partition->name);
  return copy;
}

void
chronos_partition_free (ChronosPartition *partition)
{
  if (partition == NULL)
    return;
  g_free (partition->type);
  g_free (partition->name);
  g_free (partition);
}

static void
chronos_image_info_finalize (GObject *object)
{
  ChronosImageInfo *self = CHRONOS_IMAGE_INFO (object);

  g_free (self->path);
  g_free (self->creator);
  g_free (self->parent_relative_path);
  g_free (self->parent_absolute_win32_path);
  g_free (self->parent_resolved_path);
  g_clear_pointer (&self->partitions, g_ptr_array_unref);
  g_clear_pointer (&self->warnings, g_ptr_array_unref);

  G_OBJECT_CLASS (chronos_image_info_parent_class)->finalize (object);
}

static void
chronos_image_info_class_init (ChronosImageInfoClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = chronos_image_info_finalize;
}

static void
chronos_image_info_init (ChronosImageInfo *self)
{
  self->partitions = g_ptr_array_new_with_free_func ((GDestroyNotify)chronos_partition_free);
  self->warnings = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->warnings, NULL);
}

static void
add_warning (ChronosImageInfo *self,
             char             *sentence)
{
  g_ptr_array_remove_index (self->warnings, self->warnings->len - 1);
  g_ptr_array_add (self->warnings, sentence);
  g_ptr_array_add (self->warnings, NULL);
}

/* The chain child -> parent -> grandparent, as far as it can be opened. */
typedef struct
{
  GPtrArray *chain; /* ChronosVhdx */
} ChainReader;

static gboolean
chain_read_cb (gpointer user_data,
               void    *buffer,
               guint64  offset,
               gsize    length,
               GError **error)
{
  ChainReader *reader = user_data;

  for (guint i = 0; i < reader->chain->len; i++)
    {
      ChronosVhdx *vhdx = g_ptr_array_index (reader->chain, i);
      g_autoptr (GError) local_error = NULL;

      if (chronos_vhdx_read (vhdx, buffer, offset, length, &local_error))
        return TRUE;
      /* Only for the partition probe: a block the child does not hold is
       * read from the parent. A partly present block is rare in the first
       * sectors and only changes which table the probe sees. */
      if (!g_error_matches (local_error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_NEEDS_PARENT) ||
          i + 1 == reader->chain->len)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  g_assert_not_reached ();
}

static void
open_parents (ChronosImageInfo *self,
              GPtrArray        *chain,
              GCancellable     *cancellable)
{
  while (chain->len < MAX_PARENT_DEPTH)
    {
      ChronosVhdx *last = g_ptr_array_index (chain, chain->len - 1);
      const char  *parent_path = chronos_vhdx_get_parent_resolved_path (last);
      g_autoptr (GError) error = NULL;
      ChronosVhdx *parent;

      if (!chronos_vhdx_get_has_parent (last) || parent_path == NULL)
        return;

      parent = chronos_vhdx_open (parent_path, cancellable, &error);
      if (parent == NULL)
        {
          add_warning (self, g_strdup_printf (_ ("The parent image “%s” cannot be read: %s"), parent_path, error->message));
          return;
        }
      if (chronos_vhdx_get_parent_linkage (last) != NULL)
        {
          /* parent_linkage is "{GUID}": the DataWriteGuid the parent had
           * when the child was made. */
          g_autofree char *linkage = g_strdup (chronos_vhdx_get_parent_linkage (last));

          g_strstrip (g_strdelimit (linkage, "{}", ' '));
          if (g_ascii_strcasecmp (linkage, chronos_vhdx_get_data_write_guid (parent)) != 0)
            add_warning (self, g_strdup_printf (_ ("The parent image “%s” was changed after this differencing image was made, so the two may not fit together."),
                                                parent_path));
        }
      g_ptr_array_add (chain, parent);
    }
}

static const char *
parent_display_name (ChronosVhdx *vhdx)
{
  if (chronos_vhdx_get_parent_relative_path (vhdx) != NULL)
    return chronos_vhdx_get_parent_relative_path (vhdx);
  if (chronos_vhdx_get_parent_absolute_win32_path (vhdx) != NULL)
    return chronos_vhdx_get_parent_absolute_win32_path (vhdx);
  if (chronos_vhdx_get_parent_volume_path (vhdx) != NULL)
    return chronos_vhdx_get_parent_volume_path (vhdx);
  return _ ("(unnamed)");
}

ChronosImageInfo *
chronos_image_info_load (const char   *path,
                         GCancellable *cancellable,
                         GError      **error)
{
  g_autoptr (ChronosImageInfo) self = NULL;
  g_autoptr (ChronosVhdx) vhdx = NULL;
  g_autoptr (GPtrArray) chain = NULL;
  g_autoptr (GPtrArray) partitions = NULL;
  g_autoptr (GError) probe_error = NULL;
  ChainReader reader;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  vhdx = chronos_vhdx_open (path, cancellable, error);
  if (vhdx == NULL)
    return NULL;

  self = g_object_new (CHRONOS_TYPE_IMAGE_INFO, NULL);
  self->path = g_strdup (path);
  self->file_size = chronos_vhdx_get_file_size (vhdx);
  self->virtual_size = chronos_vhdx_get_virtual_size (vhdx);
  self->block_size = chronos_vhdx_get_block_size (vhdx);
  self->logical_sector_size = chronos_vhdx_get_logical_sector_size (vhdx);
  self->physical_sector_size = chronos_vhdx_get_physical_sector_size (vhdx);
  self->creator = g_strdup (chronos_vhdx_get_creator (vhdx));
  self->has_parent = chronos_vhdx_get_has_parent (vhdx);
  self->parent_relative_path = g_strdup (chronos_vhdx_get_parent_relative_path (vhdx));
  self->parent_absolute_win32_path = g_strdup (chronos_vhdx_get_parent_absolute_win32_path (vhdx));
  self->parent_resolved_path = g_strdup (chronos_vhdx_get_parent_resolved_path (vhdx));
  self->log_pending = chronos_vhdx_get_log_pending (vhdx);

  for (const char *const *w = chronos_vhdx_get_warnings (vhdx); *w != NULL; w++)
    add_warning (self, g_strdup (*w));

  if (self->log_pending)
    add_warning (self, g_strdup (_ ("The image was not closed cleanly and has a pending log. Chronos replays it in memory without changing the file, but QEMU cannot open the image read-only as it is.")));
  if (self->has_parent && self->parent_resolved_path == NULL)
    add_warning (self, g_strdup_printf (_ ("This is a differencing image, and its parent “%s” was not found next to it."),
                                        parent_display_name (vhdx)));
  else if (self->has_parent)
    add_warning (self, g_strdup (_ ("This is a differencing image: it needs its parent, and QEMU’s VHDX driver cannot open it directly.")));
  if (self->logical_sector_size != 512)
    add_warning (self, g_strdup_printf (_ ("The image has %u-byte logical sectors, which QEMU’s VHDX driver cannot open."),
                                        self->logical_sector_size));

  chain = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (chain, g_object_ref (vhdx));
  if (self->has_parent)
    open_parents (self, chain, cancellable);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  reader.chain = chain;
  if (!chronos_partition_probe (chain_read_cb, &reader, self->virtual_size, self->logical_sector_size,
                                &self->partition_style, &partitions, &probe_error))
    {
      /* The image itself is fine; only its partition table is out of reach. */
      if (g_error_matches (probe_error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_NEEDS_PARENT))
        add_warning (self, g_strdup (_ ("The partition table is stored in the parent image, which is missing, so the firmware cannot be chosen from it.")));
      else
        add_warning (self, g_strdup_printf (_ ("The partition table could not be read: %s"), probe_error->message));
      self->partition_style = CHRONOS_PARTITION_STYLE_NONE;
    }
  else
    {
      g_clear_pointer (&self->partitions, g_ptr_array_unref);
      self->partitions = g_steal_pointer (&partitions);
      if (self->partition_style == CHRONOS_PARTITION_STYLE_NONE)
        add_warning (self, g_strdup (_ ("No partition table was found on the virtual disk, so it is not clear how it boots; BIOS firmware is assumed.")));
    }

  return g_steal_pointer (&self);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GError           *error = NULL;
  ChronosImageInfo *info = chronos_image_info_load (task_data, cancellable, &error);

  if (info == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, info, g_object_unref);
}

void
chronos_image_info_load_async (const char         *path,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (path != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, chronos_image_info_load_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, load_thread);
}

ChronosImageInfo *
chronos_image_info_load_finish (GAsyncResult *result,
                                GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == chronos_image_info_load_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

const char *
chronos_image_info_get_path (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), NULL);
  return self->path;
}

const char *
chronos_image_info_get_format (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), NULL);
  return "vhdx";
}

guint64
chronos_image_info_get_file_size (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), 0);
  return self->file_size;
}

guint64
chronos_image_info_get_virtual_size (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), 0);
  return self->virtual_size;
}

guint32
chronos_image_info_get_block_size (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), 0);
  return self->block_size;
}

guint32
chronos_image_info_get_logical_sector_size (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), 0);
  return self->logical_sector_size;
}

guint32
chronos_image_info_get_physical_sector_size (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), 0);
  return self->physical_sector_size;
}

const char *
chronos_image_info_get_creator (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), NULL);
  return self->creator;
}

gboolean
chronos_image_info_get_has_parent (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), FALSE);
  return self->has_parent;
}

const char *
chronos_image_info_get_parent_relative_path (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), NULL);
  return self->parent_relative_path;
}

const char *
chronos_image_info_get_parent_absolute_win32_path (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), NULL);
  return self->parent_absolute_win32_path;
}

const char *
chronos_image_info_get_parent_resolved_path (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), NULL);
  return self->parent_resolved_path;
}

gboolean
chronos_image_info_get_log_pending (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), FALSE);
  return self->log_pending;
}

ChronosPartitionStyle
chronos_image_info_get_partition_style (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), CHRONOS_PARTITION_STYLE_NONE);
  return self->partition_style;
}

GPtrArray *
chronos_image_info_get_partitions (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), NULL);
  return self->partitions;
}

ChronosFirmwareMode
chronos_image_info_get_firmware (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), CHRONOS_FIRMWARE_MODE_BIOS);
  return self->partition_style == CHRONOS_PARTITION_STYLE_GPT ? CHRONOS_FIRMWARE_MODE_UEFI
                                                              : CHRONOS_FIRMWARE_MODE_BIOS;
}

const char *const *
chronos_image_info_get_warnings (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), NULL);
  return (const char *const *)self->warnings->pdata;
}

gboolean
chronos_image_info_get_qemu_can_open (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), FALSE);
  return !self->has_parent && !self->log_pending && self->logical_sector_size == 512;
}

static const char *
style_name (ChronosPartitionStyle style)
{
  switch (style)
    {
    case CHRONOS_PARTITION_STYLE_GPT:
      return "gpt";
    case CHRONOS_PARTITION_STYLE_MBR:
      return "mbr";
    case CHRONOS_PARTITION_STYLE_NONE:
    default:
      return "none";
    }
}

static void
add_string_or_null (JsonBuilder *builder,
                    const char  *member,
                    const char  *value)
{
  json_builder_set_member_name (builder, member);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

JsonNode *
chronos_image_info_to_json (ChronosImageInfo *self)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), NULL);

  json_builder_begin_object (builder);
  add_string_or_null (builder, "path", self->path);
  add_string_or_null (builder, "format", "vhdx");
  json_builder_set_member_name (builder, "file_size");
  json_builder_add_int_value (builder, (gint64)self->file_size);
  json_builder_set_member_name (builder, "virtual_size");
  json_builder_add_int_value (builder, (gint64)self->virtual_size);
  json_builder_set_member_name (builder, "block_size");
  json_builder_add_int_value (builder, self->block_size);
  json_builder_set_member_name (builder, "logical_sector_size");
  json_builder_add_int_value (builder, self->logical_sector_size);
  json_builder_set_member_name (builder, "physical_sector_size");
  json_builder_add_int_value (builder, self->physical_sector_size);
  add_string_or_null (builder, "creator", self->creator);
  json_builder_set_member_name (builder, "has_parent");
  json_builder_add_boolean_value (builder, self->has_parent);

  json_builder_set_member_name (builder, "parent");
  if (self->has_parent)
    {
      json_builder_begin_object (builder);
      add_string_or_null (builder, "relative_path", self->parent_relative_path);
      add_string_or_null (builder, "absolute_win32_path", self->parent_absolute_win32_path);
      add_string_or_null (builder, "resolved_path", self->parent_resolved_path);
      json_builder_end_object (builder);
    }
  else
    json_builder_add_null_value (builder);

  json_builder_set_member_name (builder, "log_pending");
  json_builder_add_boolean_value (builder, self->log_pending);
  add_string_or_null (builder, "partition_style", style_name (self->partition_style));

  json_builder_set_member_name (builder, "partitions");
  json_builder_begin_array (builder);
  for (guint i = 0; i < self->partitions->len; i++)
    {
      const ChronosPartition *p = g_ptr_array_index (self->partitions, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "number");
      json_builder_add_int_value (builder, p->number);
      json_builder_set_member_name (builder, "start");
      json_builder_add_int_value (builder, (gint64)p->start);
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, (gint64)p->size);
      add_string_or_null (builder, "type", p->type);
      add_string_or_null (builder, "name", p->name);
      json_builder_set_member_name (builder, "bootable");
      json_builder_add_boolean_value (builder, p->bootable);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  add_string_or_null (builder, "firmware",
                      chronos_image_info_get_firmware (self) == CHRONOS_FIRMWARE_MODE_UEFI ? "uefi" : "bios");

  json_builder_set_member_name (builder, "warnings");
  json_builder_begin_array (builder);
  for (guint i = 0; i + 1 < self->warnings->len; i++)
    json_builder_add_string_value (builder, g_ptr_array_index (self->warnings, i));
  json_builder_end_array (builder);

  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}
