/* chronos-application.h: the Chronos GtkApplication
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "chronos-backup-library.h"

G_BEGIN_DECLS

#define CHRONOS_TYPE_APPLICATION (chronos_application_get_type ())

G_DECLARE_FINAL_TYPE (ChronosApplication, chronos_application, CHRONOS, APPLICATION, AdwApplication)

ChronosApplication *chronos_application_new (void);
GSettings          *chronos_application_get_settings (ChronosApplication *self);
/* One library for every window, kept in step with "backup-folders". */
ChronosBackupLibrary *chronos_application_get_library (ChronosApplication *self);
/* Add or forget a backup folder (remembered in GSettings). */
void chronos_application_add_folder (ChronosApplication *self,
                                     GFile              *folder);
void chronos_application_remove_folder (ChronosApplication *self,
                                        GFile              *folder);
/* The VMs running from any window (ChronosVm objects; GObject here so this
 * header builds without the VM engine). Quitting force-stops those left. */
GListModel *chronos_application_get_vms (ChronosApplication *self);
void        chronos_application_add_vm (ChronosApplication *self,
                                        GObject            *vm);
void        chronos_application_remove_vm (ChronosApplication *self,
                                           GObject            *vm);
/* The demo library (CHRONOS_DEMO_LIBRARY), or NULL when there is none. */
GFile *chronos_application_get_demo_library (ChronosApplication *self);

G_END_DECLS
