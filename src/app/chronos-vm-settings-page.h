/* chronos-vm-settings-page.h: the VM settings as a preferences page
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "chronos-host.h"
#include "chronos-vm-config.h"

G_BEGIN_DECLS

#define CHRONOS_TYPE_VM_SETTINGS_PAGE (chronos_vm_settings_page_get_type ())

G_DECLARE_FINAL_TYPE (ChronosVmSettingsPage, chronos_vm_settings_page, CHRONOS, VM_SETTINGS_PAGE, AdwPreferencesPage)

/* Every control is bound both ways to @config. The protection switch is
 * shown only for a boot, not for the defaults (it is never a default). */
GtkWidget       *chronos_vm_settings_page_new (ChronosVmConfig *config,
                                               gboolean         show_protection);
ChronosVmConfig *chronos_vm_settings_page_get_config (ChronosVmSettingsPage *self);
/* What "Automatic" firmware will pick for this backup (BIOS or UEFI), or
 * AUTO when there is no backup (the defaults). */
void chronos_vm_settings_page_set_detected_firmware (ChronosVmSettingsPage *self,
                                                     ChronosFirmwareMode    firmware);
/* Limits memory and cores to @host (tests pass their own; the default is
 * this computer). */
void chronos_vm_settings_page_set_host (ChronosVmSettingsPage      *self,
                                        const ChronosHostResources *host);

G_END_DECLS
