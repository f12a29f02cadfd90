/* chronos-download-dialog.h: getting QEMU when it is missing
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "chronos-provisioner.h"

G_BEGIN_DECLS

#define CHRONOS_TYPE_DOWNLOAD_DIALOG (chronos_download_dialog_get_type ())

G_DECLARE_FINAL_TYPE (ChronosDownloadDialog, chronos_download_dialog, CHRONOS, DOWNLOAD_DIALOG, AdwWindow)

/* Before: what will be downloaded, its size and where from, with Download
 * and Cancel. During: progress, step and Cancel. After a failure: the
 * reason, Retry and "Install from File…". Where nothing can be downloaded
 * for this system: the package command. Emits "installed" and closes once
 * QEMU is there. @provisioner NULL uses the built-in manifest. */
GtkWidget *chronos_download_dialog_new (GtkWindow          *parent,
                                        ChronosProvisioner *provisioner);
/* The job of the install in progress, or NULL. */
ChronosJob *chronos_download_dialog_get_job (ChronosDownloadDialog *self);

G_END_DECLS
