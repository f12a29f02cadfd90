/* chronos-backup-library.h: the backups found in the configured folders
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "chronos-backup.h"

G_BEGIN_DECLS

#define CHRONOS_TYPE_BACKUP_LIBRARY (chronos_backup_library_get_type ())

/* Implements GListModel of ChronosBackup. */
G_DECLARE_FINAL_TYPE (ChronosBackupLibrary, chronos_backup_library, CHRONOS, BACKUP_LIBRARY, GObject)

ChronosBackupLibrary *chronos_backup_library_new (void);
/* Starts watching a folder (and its subfolders, a few levels deep, as
 * Windows Backup nests its images). Adding a folder twice does nothing. */
void chronos_backup_library_add_folder (ChronosBackupLibrary *self,
                                        GFile                *folder);
/* Returns FALSE when the folder was not in the library. */
gboolean chronos_backup_library_remove_folder (ChronosBackupLibrary *self,
                                               GFile                *folder);
gboolean chronos_backup_library_has_folder (ChronosBackupLibrary *self,
                                            GFile                *folder);
/* The folders, in the order they were added: a GListModel of GFile. */
GListModel *chronos_backup_library_get_folders (ChronosBackupLibrary *self);
/* The backup for this file, or NULL. */
ChronosBackup *chronos_backup_library_lookup (ChronosBackupLibrary *self,
                                              GFile                *file);
/* Probes @backup before the others (the one a person is looking at), or
 * again if it was probed already. */
void chronos_backup_library_probe (ChronosBackupLibrary *self,
                                   ChronosBackup        *backup);
/* TRUE while folders are scanned, changes are pending or images probed. */
gboolean chronos_backup_library_get_busy (ChronosBackupLibrary *self);
guint    chronos_backup_library_get_max_probes (ChronosBackupLibrary *self);
void     chronos_backup_library_set_max_probes (ChronosBackupLibrary *self,
                                                guint                 max_probes);

G_END_DECLS
