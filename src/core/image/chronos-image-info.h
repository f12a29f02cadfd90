/* chronos-image-info.h: what a backup image is and how it must boot
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "chronos-types.h"
#include "chronos-enums.h"

G_BEGIN_DECLS

#define CHRONOS_TYPE_PARTITION (chronos_partition_get_type ())

/* One partition from the MBR or GPT, as `info --json` prints it. */
typedef struct
{
  guint    number;    /* 1-based, as the OS numbers them */
  guint64  start;     /* byte offset on the virtual disk */
  guint64  size;      /* bytes */
  char    *type;      /* readable: "efi-system", "microsoft-basic-data", "ntfs", ... */
  char    *name;      /* GPT partition name, or NULL */
  gboolean bootable;  /* MBR active flag, or an ESP on GPT */
} ChronosPartition;

GType             chronos_partition_get_type (void) G_GNUC_CONST;
ChronosPartition *chronos_partition_copy     (const ChronosPartition *partition);
void              chronos_partition_free     (ChronosPartition       *partition);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChronosPartition, chronos_partition_free)

#define CHRONOS_TYPE_IMAGE_INFO (chronos_image_info_get_type ())

G_DECLARE_FINAL_TYPE (ChronosImageInfo, chronos_image_info, CHRONOS, IMAGE_INFO, GObject)

ChronosImageInfo      *chronos_image_info_load                     (const char           *path,
                                                                    GCancellable         *cancellable,
                                                                    GError              **error);
void                   chronos_image_info_load_async               (const char           *path,
                                                                    GCancellable         *cancellable,
                                                                    GAsyncReadyCallback   callback,
                                                                    gpointer              user_data);
ChronosImageInfo      *chronos_image_info_load_finish              (GAsyncResult         *result,
                                                                    GError              **error);
const char            *chronos_image_info_get_path                 (ChronosImageInfo     *self);
const char            *chronos_image_info_get_format               (ChronosImageInfo     *self);
guint64                chronos_image_info_get_file_size            (ChronosImageInfo     *self);
guint64                chronos_image_info_get_virtual_size         (ChronosImageInfo     *self);
guint32                chronos_image_info_get_block_size           (ChronosImageInfo     *self);
guint32                chronos_image_info_get_logical_sector_size  (ChronosImageInfo     *self);
guint32                chronos_image_info_get_physical_sector_size (ChronosImageInfo     *self);
const char            *chronos_image_info_get_creator              (ChronosImageInfo     *self);
gboolean               chronos_image_info_get_has_parent           (ChronosImageInfo     *self);
const char            *chronos_image_info_get_parent_relative_path (ChronosImageInfo     *self);
const char            *chronos_image_info_get_parent_absolute_win32_path (ChronosImageInfo *self);
const char            *chronos_image_info_get_parent_resolved_path (ChronosImageInfo     *self);
gboolean               chronos_image_info_get_log_pending          (ChronosImageInfo     *self);
/* The chain from this image down to its base (child -> parent -> ...), as
 * paths, NULL-terminated; just the image itself when it has no parent or
 * its parent could not be opened (then chain_complete is FALSE and
 * chain_error says why, in a sentence). */
const char * const    *chronos_image_info_get_chain                (ChronosImageInfo     *self);
gboolean               chronos_image_info_get_chain_complete       (ChronosImageInfo     *self);
const char            *chronos_image_info_get_chain_error          (ChronosImageInfo     *self);
ChronosPartitionStyle  chronos_image_info_get_partition_style      (ChronosImageInfo     *self);
/* Element type ChronosPartition. */
GPtrArray             *chronos_image_info_get_partitions           (ChronosImageInfo     *self);
/* BIOS or UEFI, never AUTO: what the partition style asks for. */
ChronosFirmwareMode    chronos_image_info_get_firmware             (ChronosImageInfo     *self);
const char * const    *chronos_image_info_get_warnings             (ChronosImageInfo     *self);
/* TRUE when QEMU's own vhdx driver can open the image read-only (no
 * parent, no pending log, 512-byte logical sectors). */
gboolean               chronos_image_info_get_qemu_can_open        (ChronosImageInfo     *self);
/* The object `chronos-vm info --json` prints (fields in DESIGN.md, plus
 * `chain`: [{path, file_size, log_pending}], the image first, and
 * `chain_error`: null or why the chain is incomplete). */
JsonNode              *chronos_image_info_to_json                  (ChronosImageInfo     *self);

G_END_DECLS
