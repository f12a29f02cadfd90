/* chronos-backup-details.h: everything about the selected backup
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "chronos-backup.h"

G_BEGIN_DECLS

#define CHRONOS_TYPE_BACKUP_DETAILS (chronos_backup_details_get_type ())

G_DECLARE_FINAL_TYPE (ChronosBackupDetails, chronos_backup_details, CHRONOS, BACKUP_DETAILS, GtkWidget)

GtkWidget     *chronos_backup_details_new (void);
ChronosBackup *chronos_backup_details_get_backup (ChronosBackupDetails *self);
void           chronos_backup_details_set_backup (ChronosBackupDetails *self,
                                                  ChronosBackup        *backup);
/* Where the window puts the running VM's rows and the progress of a
 * verification or conversion of this backup; shown while not empty. */
AdwPreferencesGroup *chronos_backup_details_get_vm_group (ChronosBackupDetails *self);
AdwPreferencesGroup *chronos_backup_details_get_activity_group (ChronosBackupDetails *self);
/* Buttons for actions on the backup ("Verify Boot", ...) go next to
 * "Boot as VM". */
void chronos_backup_details_add_button (ChronosBackupDetails *self,
                                        GtkWidget            *button);

G_END_DECLS
