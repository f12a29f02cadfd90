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

#include "chronos-image-chain.h"
#include "chronos-image-error.h"
#include "chronos-image-info.h"
#include "chronos-partition-probe.h"
#include "chronos-vhdx.h"

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
  GPtrArray            *chain;       /* ChainLink, the image first */
  GPtrArray            *chain_paths; /* NULL-terminated */
  char                 *chain_error;
  ChronosPartitionStyle partition_style;
  GPtrArray            *partitions;
  GPtrArray            *warnings; /* NULL-terminated */
};

/* One image of the chain, as info shows it. */
typedef struct
{
  char    *path;
  guint64  file_size;
  gboolean log_pending;
} ChainLink;

G_DEFINE_FINAL_TYPE (ChronosImageInfo, chronos_image_info, G_TYPE_OBJECT)

static void
chain_link_free (ChainLink *link)
{
  g_free (link->path);
  g_free (link);
}

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
  g_clear_pointer (&self->chain, g_ptr_array_unref);
  g_clear_pointer (&self->chain_paths, g_ptr_array_unref);
  g_free (self->chain_error);
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
  self->chain = g_ptr_array_new_with_free_func ((GDestroyNotify)chain_link_free);
  self->chain_paths = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->chain_paths, NULL);
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

static void
add_chain_link (ChronosImageInfo *self,
                ChronosVhdx      *vhdx)
{
  ChainLink *link = g_new0 (ChainLink, 1);

  link->path = g_strdup (chronos_vhdx_get_path (vhdx));
  link->file_size = chronos_vhdx_get_file_size (vhdx);
  link->log_pending = chronos_vhdx_get_log_pending (vhdx);
  g_ptr_array_add (self->chain, link);
  g_ptr_array_remove_index (self->chain_paths, self->chain_paths->len - 1);
  g_ptr_array_add (self->chain_paths, g_strdup (link->path));
  g_ptr_array_add (self->chain_paths, NULL);
}

static gboolean
chain_read_cb (gpointer user_data,
               void    *buffer,
               guint64  offset,
               gsize    length,
               GError **error)
{
  return chronos_image_chain_read (user_data, buffer, offset, length, error);
}

static gboolean
image_read_cb (gpointer user_data,
               void    *buffer,
               guint64  offset,
               gsize    length,
               GError **error)
{
  return chronos_vhdx_read (user_data, buffer, offset, length, error);
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
  g_autoptr (ChronosImageChain) chain = NULL;
  g_autoptr (GPtrArray) partitions = NULL;
  g_autoptr (GError) probe_error = NULL;
  g_autoptr (GError) chain_error = NULL;
  gboolean probed;

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
  if (self->has_parent)
    add_warning (self, g_strdup_printf (_ ("This is a differencing image of “%s”: it needs its parent, and QEMU’s VHDX driver cannot open it directly, so Chronos serves the chain itself."),
                                        parent_display_name (vhdx)));
  if (self->logical_sector_size != 512)
    add_warning (self, g_strdup_printf (_ ("The image has %u-byte logical sectors, which QEMU’s VHDX driver cannot open."),
                                        self->logical_sector_size));

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  /* The whole chain when it opens; else the image alone, whose own blocks
   * may still hold the partition table. */
  chain = chronos_image_chain_new_for_image (vhdx, cancellable, &chain_error);
  if (chain == NULL && g_error_matches (chain_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_error (error, g_steal_pointer (&chain_error));
      return NULL;
    }
  if (chain != NULL)
    {
      for (guint i = 0; i < chronos_image_chain_get_length (chain); i++)
        add_chain_link (self, chronos_image_chain_get_image (chain, i));
      if (self->has_parent)
        {
          g_free (self->parent_resolved_path);
          self->parent_resolved_path = g_strdup (chronos_vhdx_get_path (chronos_image_chain_get_image (chain, 1)));
        }
      for (const char *const *w = chronos_image_chain_get_warnings (chain); *w != NULL; w++)
        add_warning (self, g_strdup (*w));
    }
  else
    {
      add_chain_link (self, vhdx);
      /* Only a parent that was found and fits is "resolved". */
      g_clear_pointer (&self->parent_resolved_path, g_free);
      self->chain_error = g_strdup (chain_error->message);
      add_warning (self, g_strdup (chain_error->message));
    }

  if (chain != NULL)
    probed = chronos_partition_probe (chain_read_cb, chain, self->virtual_size, self->logical_sector_size,
                                      &self->partition_style, &partitions, &probe_error);
  else
    probed = chronos_partition_probe (image_read_cb, vhdx, self->virtual_size, self->logical_sector_size,
                                      &self->partition_style, &partitions, &probe_error);
  if (!probed)
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

const char *const *
chronos_image_info_get_chain (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), NULL);
  return (const char *const *)self->chain_paths->pdata;
}

gboolean
chronos_image_info_get_chain_complete (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), FALSE);
  return self->chain_error == NULL;
}

const char *
chronos_image_info_get_chain_error (ChronosImageInfo *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_INFO (self), NULL);
  return self->chain_error;
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

  json_builder_set_member_name (builder, "chain");
  json_builder_begin_array (builder);
  for (guint i = 0; i < self->chain->len; i++)
    {
      const ChainLink *link = g_ptr_array_index (self->chain, i);

      json_builder_begin_object (builder);
      add_string_or_null (builder, "path", link->path);
      json_builder_set_member_name (builder, "file_size");
      json_builder_add_int_value (builder, (gint64)link->file_size);
      json_builder_set_member_name (builder, "log_pending");
      json_builder_add_boolean_value (builder, link->log_pending);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  add_string_or_null (builder, "chain_error", self->chain_error);

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
