/* chronos-window.h: the main window, a backup browser
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "chronos-application.h"

G_BEGIN_DECLS

#define CHRONOS_TYPE_WINDOW (chronos_window_get_type ())

G_DECLARE_FINAL_TYPE (ChronosWindow, chronos_window, CHRONOS, WINDOW, AdwApplicationWindow)

ChronosWindow *chronos_window_new (ChronosApplication *application);
/* A folder is added to the library and shown; an image's folder is added
 * and the image selected. */
void           chronos_window_open (ChronosWindow *self,
                                    GFile         *file);
ChronosBackup *chronos_window_get_selected (ChronosWindow *self);
void           chronos_window_select_backup (ChronosWindow *self,
                                             ChronosBackup *backup);
/* Converts @backup to QCOW2 at @output (what "Convert to QCOW2…" does
 * after its save dialog), with a progress row in the details. */
void chronos_window_convert (ChronosWindow *self,
                             ChronosBackup *backup,
                             const char    *output);
void chronos_window_add_toast (ChronosWindow *self,
                               const char    *title);
/* The backups as the list shows them: filtered and sorted. */
GListModel *chronos_window_get_shown_model (ChronosWindow *self);

G_END_DECLS
