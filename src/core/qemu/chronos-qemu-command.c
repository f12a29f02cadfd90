/* chronos-qemu-command.c: the QEMU command line, as a pure function
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Nothing here touches the file system or runs anything: the argv depends
 * only on the ChronosLaunchSpec, so golden tests pin it exactly
 * (tests/qemu/golden/) and a vm-suite test proves QEMU accepts it.
 *
 * Choices worth knowing:
 * - Every -blockdev is JSON. QEMU's key=value syntax needs commas doubled
 *   in values and reads "json:" prefixes in file names; JSON has neither
 *   pitfall, and one syntax is easier to read in logs than two.
 * - UEFI uses -blockdev nodes given to -machine pflash0/pflash1 rather than
 *   `-drive if=pflash`, so firmware paths get the same JSON treatment.
 * - -nodefaults removes the default NIC, CD-ROM, floppy, serial port and
 *   monitor, so the guest sees exactly what is listed here; -vga std keeps
 *   the standard VGA the firmware and screendumps rely on.
 * - -no-user-config: configuration files in /etc/qemu must not change what
 *   a backup boots on.
 * - -cpu max: the host CPU under KVM/WHPX and every TCG feature under TCG,
 *   and valid on both, so it survives QEMU's fallback along the -accel list
 *   (-cpu host would fail under TCG; the default qemu64 lacks features
 *   Windows 11 checks for).
 * - -rtc base=localtime: Windows, what almost every VHDX holds, keeps the
 *   hardware clock in local time.
 * - IDE: q35 has no legacy IDE controller of its own (its built-in ICH9
 *   controller is AHCI), so "ide" adds a PIIX3 IDE controller ("pata"), which
 *   QEMU allows on q35 and which older Windows installations without AHCI
 *   drivers boot from.
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "chronos-accel.h"
#include "chronos-qemu-command.h"
#include "chronos-qemu-error.h"

char *
chronos_qemu_escape_option_value (const char *value)
{
  GString *escaped;

  g_return_val_if_fail (value != NULL, NULL);

  escaped = g_string_sized_new (strlen (value) + 8);
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == ',')
        g_string_append_c (escaped, ',');
      g_string_append_c (escaped, *p);
    }
  return g_string_free (escaped, FALSE);
}

static void
add (GPtrArray  *argv,
     const char *arg)
{
  g_ptr_array_add (argv, g_strdup (arg));
}

static void
add_pair (GPtrArray  *argv,
          const char *option,
          const char *value)
{
  g_ptr_array_add (argv, g_strdup (option));
  g_ptr_array_add (argv, g_strdup (value));
}

G_GNUC_PRINTF (3, 4)
static void
add_printf (GPtrArray  *argv,
            const char *option,
            const char *format,
            ...)
{
  va_list args;

  g_ptr_array_add (argv, g_strdup (option));
  va_start (args, format);
  g_ptr_array_add (argv, g_strdup_vprintf (format, args));
  va_end (args);
}

/* One `-blockdev {...}` from a JSON object builder's result. */
static void
add_blockdev (GPtrArray   *argv,
              JsonBuilder *builder)
{
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autoptr (JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, FALSE);
  g_ptr_array_add (argv, g_strdup ("-blockdev"));
  g_ptr_array_add (argv, json_generator_to_data (generator, NULL));
}

/* A protocol node reading or writing a host file. */
static void
add_file_node (GPtrArray  *argv,
               const char *node_name,
               const char *filename,
               gboolean    read_only)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "driver");
  json_builder_add_string_value (builder, "file");
  json_builder_set_member_name (builder, "node-name");
  json_builder_add_string_value (builder, node_name);
  json_builder_set_member_name (builder, "filename");
  json_builder_add_string_value (builder, filename);
  json_builder_set_member_name (builder, "read-only");
  json_builder_add_boolean_value (builder, read_only);
  json_builder_end_object (builder);
  add_blockdev (argv, builder);
}

/* A format node over @file_node; @backing names the backing node or NULL. */
static void
add_format_node (GPtrArray  *argv,
                 const char *driver,
                 const char *node_name,
                 const char *file_node,
                 const char *backing,
                 gboolean    read_only)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "driver");
  json_builder_add_string_value (builder, driver);
  json_builder_set_member_name (builder, "node-name");
  json_builder_add_string_value (builder, node_name);
  json_builder_set_member_name (builder, "file");
  json_builder_add_string_value (builder, file_node);
  if (backing != NULL)
    {
      json_builder_set_member_name (builder, "backing");
      json_builder_add_string_value (builder, backing);
    }
  json_builder_set_member_name (builder, "read-only");
  json_builder_add_boolean_value (builder, read_only);
  json_builder_end_object (builder);
  add_blockdev (argv, builder);
}

/* An image served over NBD on a Unix socket, as a read-only node. */
static void
add_nbd_node (GPtrArray  *argv,
              const char *node_name,
              const char *socket_path,
              const char *export_name)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "driver");
  json_builder_add_string_value (builder, "nbd");
  json_builder_set_member_name (builder, "node-name");
  json_builder_add_string_value (builder, node_name);
  json_builder_set_member_name (builder, "server");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "unix");
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, socket_path);
  json_builder_end_object (builder);
  if (export_name != NULL)
    {
      json_builder_set_member_name (builder, "export");
      json_builder_add_string_value (builder, export_name);
    }
  json_builder_set_member_name (builder, "read-only");
  json_builder_add_boolean_value (builder, TRUE);
  json_builder_end_object (builder);
  add_blockdev (argv, builder);
}

static gboolean
invalid (GError    **error,
         const char *message)
{
  g_set_error_literal (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_INVALID_CONFIG, message);
  return FALSE;
}

/* A path QEMU gets must be present and, because it travels in JSON, valid
 * UTF-8 (GLib's file name encoding on Windows; almost always on Linux). */
static gboolean
check_path (const char *path,
            const char *what,
            GError    **error)
{
  if (path == NULL || *path == '\0')
    {
      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_INVALID_CONFIG,
                   _ ("Cannot start the virtual machine: no %s was given."), what);
      return FALSE;
    }
  if (!g_utf8_validate (path, -1, NULL))
    {
      g_autofree char *shown = g_utf8_make_valid (path, -1);

      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_INVALID_CONFIG,
                   _ ("The %s “%s” is not valid UTF-8: rename it and try again."), what, shown);
      return FALSE;
    }
  return TRUE;
}

static gboolean
validate (const ChronosLaunchSpec *spec,
          GError                 **error)
{
  ChronosVmConfig *config = spec->config;
  const char      *base_driver = spec->base_driver != NULL ? spec->base_driver : "vhdx";
  const char      *iso;
  const char      *serial;

  if (config == NULL || !CHRONOS_IS_VM_CONFIG (config))
    return invalid (error, _ ("Cannot start the virtual machine: it has no configuration."));
  if (!check_path (spec->system_path, _ ("QEMU program"), error))
    return FALSE;
  if (!check_path (spec->qmp_socket, _ ("control socket"), error))
    return FALSE;

  if (strcmp (base_driver, "nbd") == 0)
    {
      if (!check_path (spec->nbd_socket, _ ("NBD socket"), error))
        return FALSE;
      if (!chronos_vm_config_get_protect_backup (config))
        return invalid (error, _ ("An image served over NBD is read-only: writable mode is not possible."));
    }
  else
    {
      /* A driver name goes into JSON as a value, but an odd one would only
       * get a confusing error from QEMU: allow the formats QEMU reads. */
      static const char *const formats[] = { "vhdx", "raw", "qcow2", "vpc", "vmdk", "vdi", NULL };

      if (!g_strv_contains (formats, base_driver))
        {
          g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_INVALID_CONFIG,
                       _ ("Cannot start the virtual machine: unknown image format “%s”."), base_driver);
          return FALSE;
        }
      if (!check_path (spec->image_path, _ ("disk image"), error))
        return FALSE;
    }

  if (chronos_vm_config_get_protect_backup (config) &&
      !check_path (spec->overlay_path, _ ("overlay file"), error))
    return FALSE;

  switch (spec->firmware)
    {
    case CHRONOS_FIRMWARE_MODE_BIOS:
      break;
    case CHRONOS_FIRMWARE_MODE_UEFI:
      if (spec->whpx_bios_workaround)
        {
          if (!check_path (spec->bios_image, _ ("firmware image"), error))
            return FALSE;
        }
      else if (!check_path (spec->firmware_code, _ ("UEFI firmware code file"), error) ||
               !check_path (spec->firmware_vars, _ ("UEFI variable store"), error))
        return FALSE;
      break;
    case CHRONOS_FIRMWARE_MODE_AUTO:
    default:
      return invalid (error, _ ("Cannot start the virtual machine: the firmware (BIOS or UEFI) was not decided."));
    }

  if (spec->accels == NULL || spec->n_accels == 0)
    return invalid (error, _ ("Cannot start the virtual machine: no accelerator was chosen."));
  for (guint i = 0; i < spec->n_accels; i++)
    if (chronos_accel_kind_to_qemu_option (spec->accels[i]) == NULL)
      return invalid (error, _ ("Cannot start the virtual machine: an unknown accelerator was chosen."));

  switch (chronos_vm_config_get_display (config))
    {
    case CHRONOS_DISPLAY_MODE_WINDOW:
      if (g_strcmp0 (spec->display_backend, "gtk") != 0 &&
          g_strcmp0 (spec->display_backend, "sdl") != 0)
        return invalid (error, _ ("Cannot show the virtual machine in a window: this QEMU has neither a GTK nor an SDL display."));
      break;
    case CHRONOS_DISPLAY_MODE_VNC:
      if (!check_path (spec->vnc_socket, _ ("VNC socket"), error))
        return FALSE;
      break;
    case CHRONOS_DISPLAY_MODE_NONE:
    default:
      break;
    }

  if (!chronos_vm_config_is_valid_nic_model (chronos_vm_config_get_nic_model (config)))
    return invalid (error, _ ("Cannot start the virtual machine: unknown network card model."));

  iso = chronos_vm_config_get_drivers_iso (config);
  if (iso != NULL && !check_path (iso, _ ("drivers ISO"), error))
    return FALSE;
  serial = chronos_vm_config_get_serial_path (config);
  if (serial != NULL && !check_path (serial, _ ("serial log file"), error))
    return FALSE;
  if (spec->vm_name != NULL && !g_utf8_validate (spec->vm_name, -1, NULL))
    return invalid (error, _ ("Cannot start the virtual machine: its name is not valid UTF-8."));

  return TRUE;
}

/* The disk (and its controller). Returns the bus a CD-ROM can join, or NULL
 * when the caller must add an AHCI controller for it. */
static const char *
add_disk_device (GPtrArray     *argv,
                 ChronosDiskBus bus,
                 const char    *drive)
{
  switch (bus)
    {
    case CHRONOS_DISK_BUS_IDE:
      add_pair (argv, "-device", "piix3-ide,id=pata");
      add_printf (argv, "-device", "ide-hd,id=disk0,bus=pata.0,drive=%s,bootindex=1", drive);
      return "pata.1";

    case CHRONOS_DISK_BUS_NVME:
      /* NVMe requires a serial number; a fixed one keeps the guest's view
       * of "its" disk stable from boot to boot. */
      add_printf (argv, "-device", "nvme,id=disk0,serial=CHRONOS0001,drive=%s,bootindex=1", drive);
      return NULL;

    case CHRONOS_DISK_BUS_VIRTIO:
      add_printf (argv, "-device", "virtio-blk-pci,id=disk0,drive=%s,bootindex=1", drive);
      return NULL;

    case CHRONOS_DISK_BUS_AUTO:
    case CHRONOS_DISK_BUS_AHCI:
    default:
      add_pair (argv, "-device", "ahci,id=ahci");
      add_printf (argv, "-device", "ide-hd,id=disk0,bus=ahci.0,drive=%s,bootindex=1", drive);
      return "ahci.1";
    }
}

GStrv
chronos_qemu_command_build (const ChronosLaunchSpec *spec,
                            GError                 **error)
{
  g_autoptr (GPtrArray) argv = NULL;
  ChronosVmConfig *config;
  const char      *base_driver;
  gboolean         protect;
  gboolean         uefi_pflash;
  const char      *disk_node;
  const char      *cd_bus;
  const char      *iso;
  const char      *serial;

  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!validate (spec, error))
    return NULL;

  config = spec->config;
  base_driver = spec->base_driver != NULL ? spec->base_driver : "vhdx";
  protect = chronos_vm_config_get_protect_backup (config);
  uefi_pflash = spec->firmware == CHRONOS_FIRMWARE_MODE_UEFI && !spec->whpx_bios_workaround;

  argv = g_ptr_array_new_with_free_func (g_free);
  add (argv, spec->system_path);

  if (spec->vm_name != NULL && *spec->vm_name != '\0')
    {
      g_autofree char *name = chronos_qemu_escape_option_value (spec->vm_name);

      add_printf (argv, "-name", "guest=%s", name);
    }
  add (argv, "-no-user-config");
  add (argv, "-nodefaults");
  /* Timestamps in the VM's log line up QEMU's messages with Chronos's. */
  add_pair (argv, "-msg", "timestamp=on");

  add_pair (argv, "-machine", uefi_pflash ? "q35,pflash0=pflash0,pflash1=pflash1" : "q35");
  for (guint i = 0; i < spec->n_accels; i++)
    add_pair (argv, "-accel", chronos_accel_kind_to_qemu_option (spec->accels[i]));
  add_pair (argv, "-cpu", "max");
  add_printf (argv, "-m", "%u", chronos_vm_config_get_memory_mib (config));
  add_printf (argv, "-smp", "%u", chronos_vm_config_get_cpus (config));
  add_pair (argv, "-rtc", "base=localtime");
  add_pair (argv, "-vga", "std");

  /* Firmware. */
  if (uefi_pflash)
    {
      /* The code is shared and read-only; the vars are the VM's own copy. */
      add_file_node (argv, "pflash0-file", spec->firmware_code, TRUE);
      add_format_node (argv, "raw", "pflash0", "pflash0-file", NULL, TRUE);
      add_file_node (argv, "pflash1-file", spec->firmware_vars, FALSE);
      add_format_node (argv, "raw", "pflash1", "pflash1-file", NULL, FALSE);
    }
  else if (spec->firmware == CHRONOS_FIRMWARE_MODE_UEFI)
    {
      /* WHPX hangs in OVMF when it runs from pflash; as a ROM it boots.
       * -bios takes its value verbatim (no key=value parsing). */
      add_pair (argv, "-bios", spec->bios_image);
    }
  /* BIOS: SeaBIOS is q35's default firmware; nothing to add. */

  /* The disk: DESIGN.md "Rules that protect the backup". */
  if (strcmp (base_driver, "nbd") == 0)
    add_nbd_node (argv, "base", spec->nbd_socket, spec->nbd_export);
  else if (protect)
    {
      add_file_node (argv, "base-file", spec->image_path, TRUE);
      add_format_node (argv, base_driver, "base", "base-file", NULL, TRUE);
    }
  else
    {
      /* Writable mode: the guest writes into the backup itself. */
      add_file_node (argv, "base-file", spec->image_path, FALSE);
      add_format_node (argv, base_driver, "disk", "base-file", NULL, FALSE);
    }
  if (protect)
    {
      add_file_node (argv, "overlay-file", spec->overlay_path, FALSE);
      add_format_node (argv, "qcow2", "disk", "overlay-file", "base", FALSE);
    }
  disk_node = "disk";
  cd_bus = add_disk_device (argv, chronos_vm_config_resolve_disk_bus (config), disk_node);

  /* The drivers CD (virtio-win), read-only, never a boot device. */
  iso = chronos_vm_config_get_drivers_iso (config);
  if (iso != NULL)
    {
      add_file_node (argv, "drivers-file", iso, TRUE);
      add_format_node (argv, "raw", "drivers", "drivers-file", NULL, TRUE);
      if (cd_bus == NULL)
        {
          add_pair (argv, "-device", "ahci,id=ahci");
          cd_bus = "ahci.0";
        }
      add_printf (argv, "-device", "ide-cd,id=drivers-cd,bus=%s,drive=drivers", cd_bus);
    }

  /* An absolute pointer: the mouse follows the host cursor without grabs. */
  add_pair (argv, "-device", "qemu-xhci,id=xhci");
  add_pair (argv, "-device", "usb-tablet,bus=xhci.0");
  /* A guest that panics tells QEMU (GUEST_PANICKED) instead of leaving the
   * verifier to guess from the screen; Linux and Windows both know it. */
  add_pair (argv, "-device", "pvpanic");

  if (chronos_vm_config_get_network (config))
    {
      add_pair (argv, "-netdev", "user,id=net0");
      add_printf (argv, "-device", "%s,id=nic0,netdev=net0", chronos_vm_config_get_nic_model (config));
    }
  else
    add_pair (argv, "-nic", "none");

  switch (chronos_vm_config_get_display (config))
    {
    case CHRONOS_DISPLAY_MODE_WINDOW:
      add_pair (argv, "-display", spec->display_backend);
      break;
    case CHRONOS_DISPLAY_MODE_VNC:
      {
        g_autofree char *socket = chronos_qemu_escape_option_value (spec->vnc_socket);

        /* A Unix socket in the 0700 run directory: never a TCP port that
         * any local user could connect to. */
        add_pair (argv, "-display", "none");
        add_printf (argv, "-vnc", "unix:%s", socket);
      }
      break;
    case CHRONOS_DISPLAY_MODE_NONE:
    default:
      add_pair (argv, "-display", "none");
      break;
    }

  /* QMP on a Unix socket, QEMU listening, not waiting for a client. */
  {
    g_autofree char *qmp = chronos_qemu_escape_option_value (spec->qmp_socket);

    add_printf (argv, "-chardev", "socket,id=qmp,path=%s,server=on,wait=off", qmp);
    add_pair (argv, "-mon", "chardev=qmp,mode=control");
  }

  /* The first serial port always exists, so the guest's hardware does not
   * depend on whether its output is kept. */
  serial = chronos_vm_config_get_serial_path (config);
  if (serial != NULL)
    {
      g_autofree char *path = chronos_qemu_escape_option_value (serial);

      add_printf (argv, "-chardev", "file,id=serial0,path=%s", path);
      add_pair (argv, "-serial", "chardev:serial0");
    }
  else
    add_pair (argv, "-serial", "null");

  if (spec->start_paused)
    add (argv, "-S");

  g_ptr_array_add (argv, NULL);
  return (GStrv)g_ptr_array_free (g_steal_pointer (&argv), FALSE);
}
