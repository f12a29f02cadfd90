/* chronos-qemu-command.h: the QEMU command line, as a pure function
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib.h>

#include "chronos-types.h"
#include "chronos-enums.h"
#include "chronos-vm-config.h"

G_BEGIN_DECLS

/* Everything one launch needs, resolved. Strings are borrowed (the caller
 * keeps them alive during chronos_qemu_command_build()); paths are UTF-8 on
 * every platform and may contain spaces, commas, quotes and non-ASCII
 * characters. Zero-initialise it ({ 0 }) and set what applies.
 *
 * The user's choices come from @config (memory-mib, cpus, display, network,
 * nic-model, protect-backup, disk-bus, drivers-iso, serial-path); what was
 * resolved at launch time (firmware, accelerators, run directory files,
 * display backend) comes from the fields below. */
typedef struct
{
  /* Required. qemu-system-x86_64; becomes argv[0]. */
  const char             *system_path;
  /* Required. Borrowed; its firmware/accel modes are ignored (resolved below). */
  ChronosVmConfig        *config;
  /* Required. BIOS or UEFI (never AUTO): chronos_vm_config_resolve_firmware(). */
  ChronosFirmwareMode     firmware;
  /* UEFI via pflash: the firmware code (read-only) ... */
  const char             *firmware_code;
  /* ... and the VM's PRIVATE copy of the vars template (writable). Both
   * required for UEFI unless whpx_bios_workaround. */
  const char             *firmware_vars;
  /* Required, at least one: the `-accel` list in order
   * (chronos_accel_plan()); QEMU falls back along it. */
  const ChronosAccelKind *accels;
  guint                   n_accels;
  /* The backup image. Required unless base_driver is "nbd". */
  const char             *image_path;
  /* The base node's driver: NULL or "vhdx" (default), or another format
   * QEMU reads from a file ("raw", "qcow2", "vpc"), or "nbd" for an image
   * served by Chronos's own reader over @nbd_socket. */
  const char             *base_driver;
  /* With base_driver "nbd": the NBD server's Unix socket (required) and
   * export name (NULL: the default export). */
  const char             *nbd_socket;
  const char             *nbd_export;
  /* The qcow2 overlay in the run directory, created beforehand with
   * `qemu-img create -f qcow2 -b IMAGE -F vhdx`. Required when the config's
   * protect-backup is TRUE; ignored in writable mode. */
  const char             *overlay_path;
  /* Required. QMP Unix socket in the 0700 run directory; QEMU listens. */
  const char             *qmp_socket;
  /* Required when the config's display is VNC: the VNC Unix socket. */
  const char             *vnc_socket;
  /* Required when the config's display is WINDOW: "gtk" or "sdl"
   * (chronos_qemu_get_window_backend()). */
  const char             *display_backend;
  /* UEFI under WHPX: boot @bios_image (vars + code concatenated,
   * chronos_firmware_write_bios_image()) with `-bios` instead of pflash. */
  gboolean                whpx_bios_workaround;
  const char             *bios_image;
  /* Optional: the guest name (window title, process list), e.g. the
   * backup's file name. */
  const char             *vm_name;
  /* Optional: start paused (`-S`); the caller resumes with QMP `cont`. */
  gboolean                start_paused;
} ChronosLaunchSpec;

/* The QEMU argv for @spec: a pure function (no I/O, no shell quoting, no
 * joining of arguments). The result follows DESIGN.md "Rules that protect
 * the backup": with protect-backup the image is a read-only base node
 * under a qcow2 overlay node named "disk"; in writable mode the image's own
 * node is named "disk" and opened read-write. Every -blockdev is written as
 * JSON (json-glib), so paths need no escaping; the few options that take
 * paths in QEMU's key=value syntax (-chardev, -vnc, -name) get their commas
 * doubled as QEMU requires. Node names (for QMP): "base-file", "base",
 * "overlay-file", "disk", "drivers-file", "drivers", "pflash0", "pflash1".
 * Device ids: "disk0" (the disk device), "drivers-cd", "net0" (netdev),
 * "nic0". Chardev ids: "qmp", "serial0".
 *
 * Errors: CHRONOS_QEMU_ERROR_INVALID_CONFIG naming the missing or wrong
 * field. */
GStrv chronos_qemu_command_build (const ChronosLaunchSpec *spec,
                                  GError                 **error);

/* Doubles every comma, the escape QEMU's key=value option syntax uses
 * ("a,b" -> "a,,b"). Exposed for callers that pass paths to QEMU options
 * themselves (e.g. human monitor commands). */
char *chronos_qemu_escape_option_value (const char *value);

G_END_DECLS
