/* chronos-host-windows.h: what Windows says about this host and an image, in sentences
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The GLib side of the chronos-win32-*.c platform files. Built on every
 * host: the message functions are pure and tested on Linux; the functions
 * that ask Windows do nothing elsewhere.
 */

#pragma once

#include <glib.h>

#include "chronos-win32-common.h"

G_BEGIN_DECLS

/* NULL when @facts say WHPX is usable; else a translated sentence a person
 * can act on ("The Windows Hypervisor Platform is turned off: …"). */
char *chronos_host_windows_whpx_reason (const ChronosWin32WhpxFacts *facts);

/* A translated warning naming the products in @running (ChronosWin32Hypervisor
 * bits), or NULL when it is 0. */
char *chronos_host_windows_hypervisors_warning_for (unsigned int running);

/* On Windows: the warning for the VirtualBox/VMware VM processes running
 * now (a process snapshot, a few milliseconds), or NULL. Elsewhere NULL.
 * A warning only: never a reason not to start a VM. */
char *chronos_host_windows_hypervisors_warning (void);

/* Turns the Win32 error of opening @path (0 = it opened) into a GError in
 * CHRONOS_QEMU_ERROR: IMAGE_IN_USE for a sharing violation ("Windows has
 * this backup mounted or another program is using it: …"), IMAGE_NOT_FOUND,
 * FAILED for anything else. Returns FALSE when it set @error. */
gboolean chronos_host_windows_check_open_error (const char   *path,
                                                unsigned long win32_error,
                                                GError      **error);

/* On Windows: whether @path can be opened for reading while no one writes
 * to it (chronos_win32_sharing_try_open()), as above. Elsewhere TRUE without
 * touching the file. Opens and closes the file: call it off the main thread
 * for a path on a slow share. */
gboolean chronos_host_windows_check_image_free (const char *path,
                                                GError    **error);

G_END_DECLS
