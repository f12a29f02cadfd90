/* chronos-firmware.h: UEFI firmware (code + vars template) for x86_64 q35
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "chronos-qemu.h"

G_BEGIN_DECLS

/* How the firmware was found. */
typedef enum
{
  CHRONOS_FIRMWARE_SOURCE_DESCRIPTOR, /* a QEMU firmware descriptor (JSON) */
  CHRONOS_FIRMWARE_SOURCE_FILE_NAME,  /* a well-known file name */
} ChronosFirmwareSource;

#define CHRONOS_TYPE_FIRMWARE (chronos_firmware_get_type ())

G_DECLARE_FINAL_TYPE (ChronosFirmware, chronos_firmware, CHRONOS, FIRMWARE, GObject)

/* Finds UEFI firmware for an x86_64 q35 guest without Secure Boot or SMM:
 *
 * 1. QEMU firmware descriptors in, by increasing priority,
 *    QEMU_DATA_DIR/firmware, /usr/share/qemu/firmware, /etc/qemu/firmware,
 *    $XDG_CONFIG_HOME/qemu/firmware. A file in a later directory replaces
 *    one of the same name in an earlier one; the merged set is read in file
 *    name order and the first usable descriptor wins (interface "uefi",
 *    mapping device "flash", target x86_64 with a machine glob matching
 *    "pc-q35-*", none of the features secure-boot, requires-smm,
 *    enrolled-keys, and both files present).
 * 2. Well-known file names: OVMF_CODE_4M.fd + OVMF_VARS_4M.fd (Debian),
 *    OVMF_CODE.fd + OVMF_VARS.fd, edk2-x86_64-code.fd + edk2-i386-vars.fd
 *    (QEMU's own share dir), in QEMU_DATA_DIR, /usr/share/OVMF,
 *    /usr/share/edk2/ovmf, /usr/share/edk2/x64, /usr/share/qemu.
 *    This is also how MSYS2's descriptors (with MSYS paths) end up used.
 *
 * @qemu may be NULL (then only system locations are searched). Reads small
 * files: blocking; the app uses chronos_firmware_find_async().
 * Error: CHRONOS_QEMU_ERROR_FIRMWARE_MISSING with the install hint. */
ChronosFirmware *chronos_firmware_find        (ChronosQemu         *qemu,
                                               GError             **error);
void             chronos_firmware_find_async  (ChronosQemu         *qemu,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
ChronosFirmware *chronos_firmware_find_finish (GAsyncResult        *result,
                                               GError             **error);
/* The same search with explicit places (tests): @descriptor_dirs in
 * increasing priority, @search_dirs for the file-name fallback. Either may
 * be NULL. */
ChronosFirmware *chronos_firmware_find_in     (const char * const  *descriptor_dirs,
                                               const char * const  *search_dirs,
                                               GError             **error);

/* The read-only firmware code, for pflash unit 0. */
const char           *chronos_firmware_get_code_path      (ChronosFirmware *self);
/* The variable store template: copy it into the run directory and give the
 * copy to pflash unit 1; never write the template itself. */
const char           *chronos_firmware_get_vars_path      (ChronosFirmware *self);
ChronosFirmwareSource chronos_firmware_get_source         (ChronosFirmware *self);
/* The descriptor file used, or NULL when found by file name. */
const char           *chronos_firmware_get_descriptor     (ChronosFirmware *self);
/* A line for logs and `qemu status`: the descriptor's description, or the
 * code file name. */
const char           *chronos_firmware_get_description    (ChronosFirmware *self);

/* Writes the WHPX workaround image: @vars_path followed by the code, as one
 * file for `-bios` (pflash hangs under WHPX). @vars_path is normally the
 * private vars copy. Overwrites @dest_path atomically. Blocking (8 MiB). */
gboolean chronos_firmware_write_bios_image (ChronosFirmware *self,
                                            const char      *vars_path,
                                            const char      *dest_path,
                                            GError         **error);

G_END_DECLS
