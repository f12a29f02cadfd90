/* chronos-vm-settings-store.h: VM defaults in GSettings, choices per backup
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "chronos-vm-config.h"

G_BEGIN_DECLS

/* Binds every remembered property of @config to its "vm-*" key. With
 * G_SETTINGS_BIND_DEFAULT both follow each other (Preferences); with
 * G_SETTINGS_BIND_GET | G_SETTINGS_BIND_GET_NO_CHANGES the config only
 * starts from the defaults (one boot). */
void chronos_vm_settings_bind_defaults (GSettings         *settings,
                                        ChronosVmConfig   *config,
                                        GSettingsBindFlags flags);
/* The defaults, then what was chosen for this backup last time, clamped
 * to what this host has. protect-backup is always TRUE. */
ChronosVmConfig *chronos_vm_settings_load_for_backup (GSettings  *settings,
                                                      const char *backup_path);
/* Remembers @config for this backup (not protect-backup: every boot starts
 * protected). */
gboolean chronos_vm_settings_save_for_backup (ChronosVmConfig *config,
                                              const char      *backup_path,
                                              GError         **error);
/* Where the per-backup choices live: vm-settings.ini in the state dir. */
char *chronos_vm_settings_store_path (void);

G_END_DECLS
