/* chronos-backup.h: one backup image file in the library
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "chronos-image-info.h"
#include "chronos-types.h"

G_BEGIN_DECLS

/* What the browser shows next to a backup, most pressing first. */
typedef enum
{
  CHRONOS_BACKUP_STATE_IDLE,     /* probed, nothing to report */
  CHRONOS_BACKUP_STATE_PROBING,  /* reading its headers */
  CHRONOS_BACKUP_STATE_RUNNING,  /* a VM (or verification) is using it */
  CHRONOS_BACKUP_STATE_VERIFIED, /* the last verification booted */
  CHRONOS_BACKUP_STATE_PROBLEM,  /* unreadable, or the last verification failed */
} ChronosBackupState;

#define CHRONOS_TYPE_BACKUP (chronos_backup_get_type ())

G_DECLARE_FINAL_TYPE (ChronosBackup, chronos_backup, CHRONOS, BACKUP, GObject)

ChronosBackup *chronos_backup_new (GFile *file,
                                   GFile *folder);
GFile         *chronos_backup_get_file (ChronosBackup *self);
const char    *chronos_backup_get_path (ChronosBackup *self);
/* The folder of the library this backup was found in (not always its
 * parent directory: folders are searched a few levels deep). */
GFile      *chronos_backup_get_folder (ChronosBackup *self);
const char *chronos_backup_get_display_name (ChronosBackup *self);
/* Modification time, Unix seconds. */
gint64  chronos_backup_get_mtime (ChronosBackup *self);
guint64 chronos_backup_get_file_size (ChronosBackup *self);
/* NULL until probed, and when the file could not be read. */
ChronosImageInfo *chronos_backup_get_info (ChronosBackup *self);
/* Why the file cannot be read, or NULL. */
const GError      *chronos_backup_get_error (ChronosBackup *self);
const char        *chronos_backup_get_error_message (ChronosBackup *self);
ChronosBackupState chronos_backup_get_state (ChronosBackup *self);
gboolean           chronos_backup_get_probing (ChronosBackup *self);
gboolean           chronos_backup_get_running (ChronosBackup *self);
void               chronos_backup_set_running (ChronosBackup *self,
                                               gboolean       running);
/* The last boot verification, filled in by whoever ran or loaded it. */
gboolean       chronos_backup_get_has_verification (ChronosBackup *self);
ChronosVerdict chronos_backup_get_verdict (ChronosBackup *self);
const char    *chronos_backup_get_verify_reason (ChronosBackup *self);
const char    *chronos_backup_get_verify_screenshot (ChronosBackup *self);
GDateTime     *chronos_backup_get_verified_at (ChronosBackup *self);
void           chronos_backup_set_verification (ChronosBackup *self,
                                                ChronosVerdict verdict,
                                                const char    *reason,
                                                const char    *screenshot,
                                                GDateTime     *verified_at);
void           chronos_backup_clear_verification (ChronosBackup *self);

/* Used by ChronosBackupLibrary while it keeps the object current. */
void _chronos_backup_set_stat (ChronosBackup *self,
                               gint64         mtime,
                               guint64        file_size);
void _chronos_backup_set_probing (ChronosBackup *self,
                                  gboolean       probing);
void _chronos_backup_set_info (ChronosBackup    *self,
                               ChronosImageInfo *info,
                               const GError     *error);

G_END_DECLS
