/* chronos-backup-row.h: one backup in the browser's list
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "chronos-backup.h"

G_BEGIN_DECLS

#define CHRONOS_TYPE_BACKUP_ROW (chronos_backup_row_get_type ())

G_DECLARE_FINAL_TYPE (ChronosBackupRow, chronos_backup_row, CHRONOS, BACKUP_ROW, GtkListBoxRow)

GtkWidget     *chronos_backup_row_new (ChronosBackup *backup);
ChronosBackup *chronos_backup_row_get_backup (ChronosBackupRow *self);

G_END_DECLS
