/* chronos-vm-settings-dialog.h: how to run a backup, asked before it boots
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "chronos-backup.h"
#include "chronos-vm-config.h"
#include "chronos-vm-settings-page.h"

G_BEGIN_DECLS

#define CHRONOS_TYPE_VM_SETTINGS_DIALOG (chronos_vm_settings_dialog_get_type ())

G_DECLARE_FINAL_TYPE (ChronosVmSettingsDialog, chronos_vm_settings_dialog, CHRONOS, VM_SETTINGS_DIALOG, AdwWindow)

/* Emits "boot" (ChronosVmConfig *config) when the person presses Boot,
 * then closes; closing otherwise is Cancel. */
GtkWidget             *chronos_vm_settings_dialog_new (GtkWindow       *parent,
                                                       ChronosBackup   *backup,
                                                       ChronosVmConfig *config);
ChronosBackup         *chronos_vm_settings_dialog_get_backup (ChronosVmSettingsDialog *self);
ChronosVmConfig       *chronos_vm_settings_dialog_get_config (ChronosVmSettingsDialog *self);
ChronosVmSettingsPage *chronos_vm_settings_dialog_get_page (ChronosVmSettingsDialog *self);

G_END_DECLS
