/* chronos-preferences-window.h: folders, QEMU and VM defaults
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "chronos-application.h"
#include "chronos-vm-settings-page.h"

G_BEGIN_DECLS

#define CHRONOS_TYPE_PREFERENCES_WINDOW (chronos_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (ChronosPreferencesWindow, chronos_preferences_window, CHRONOS, PREFERENCES_WINDOW, AdwPreferencesWindow)

GtkWidget *chronos_preferences_window_new (ChronosApplication *application);
/* The "Virtual Machine" page, bound both ways to the vm-* settings. */
ChronosVmSettingsPage *chronos_preferences_window_get_vm_page (ChronosPreferencesWindow *self);

G_END_DECLS
