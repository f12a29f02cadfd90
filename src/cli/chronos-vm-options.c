/* chronos-vm-options.c: the VM options every chronos-vm command that boots shares
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "chronos-vm-options.h"

struct _ChronosVmOptions
{
  gboolean            have_memory;
  guint               memory_mib;
  gboolean            have_cpus;
  guint               cpus;
  gboolean            have_firmware;
  ChronosFirmwareMode firmware;
  gboolean            have_accel;
  ChronosAccelMode    accel;
  gboolean            have_display;
  ChronosDisplayMode  display;
  gboolean            network;
  gboolean            no_network;
  char               *nic_model;
  gboolean            have_disk_bus;
  ChronosDiskBus      disk_bus;
  char               *serial;
  char               *qemu_dir;
  char               *drivers_iso;
  gboolean            writable;
  gboolean            have_shutdown_timeout;
  guint               shutdown_timeout;
  gboolean            group_made;
};

typedef struct
{
  const char *name;
  int         value;
} Choice;

static const Choice firmware_choices[] = {
  { "auto", CHRONOS_FIRMWARE_MODE_AUTO },
  { "uefi", CHRONOS_FIRMWARE_MODE_UEFI },
  { "bios", CHRONOS_FIRMWARE_MODE_BIOS },
  { NULL, 0 },
};

static const Choice accel_choices[] = {
  { "auto", CHRONOS_ACCEL_MODE_AUTO },
  { "hardware", CHRONOS_ACCEL_MODE_HARDWARE },
  { "tcg", CHRONOS_ACCEL_MODE_TCG },
  { NULL, 0 },
};

static const Choice display_choices[] = {
  { "window", CHRONOS_DISPLAY_MODE_WINDOW },
  { "vnc", CHRONOS_DISPLAY_MODE_VNC },
  { "none", CHRONOS_DISPLAY_MODE_NONE },
  { NULL, 0 },
};

static const Choice disk_bus_choices[] = {
  { "auto", CHRONOS_DISK_BUS_AUTO },
  { "ahci", CHRONOS_DISK_BUS_AHCI },
  { "nvme", CHRONOS_DISK_BUS_NVME },
  { "ide", CHRONOS_DISK_BUS_IDE },
  { "virtio", CHRONOS_DISK_BUS_VIRTIO },
  { NULL, 0 },
};

static const Choice nic_choices[] = {
  { "e1000e", 0 },
  { "virtio", 1 },
  { "e1000", 2 },
  { NULL, 0 },
};

static gboolean
pick (const Choice *choices,
      const char   *option,
      const char   *value,
      int          *out,
      GError      **error)
{
  g_autoptr (GString) names = g_string_new (NULL);

  for (guint i = 0; choices[i].name != NULL; i++)
    {
      if (g_ascii_strcasecmp (choices[i].name, value) == 0)
        {
          *out = choices[i].value;
          return TRUE;
        }
      if (names->len > 0)
        g_string_append (names, ", ");
      g_string_append (names, choices[i].name);
    }

  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               _ ("%s must be one of %s, not “%s”"), option, names->str, value);
  return FALSE;
}

static gboolean
parse_uint (const char *option,
            const char *value,
            guint       min,
            guint       max,
            guint      *out,
            GError    **error)
{
  guint64 number = 0;

  if (!g_ascii_string_to_unsigned (value, 10, min, max, &number, NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _ ("%s must be a whole number from %u to %u, not “%s”"), option, min, max, value);
      return FALSE;
    }
  *out = (guint)number;
  return TRUE;
}

static gboolean
option_cb (const char *option_name,
           const char *value,
           gpointer    user_data,
           GError    **error)
{
  ChronosVmOptions *self = user_data;
  int               choice = 0;

  if (g_str_equal (option_name, "--memory"))
    {
      if (!parse_uint (option_name, value, CHRONOS_VM_CONFIG_MIN_MEMORY_MIB,
                       CHRONOS_VM_CONFIG_MAX_MEMORY_MIB, &self->memory_mib, error))
        return FALSE;
      self->have_memory = TRUE;
    }
  else if (g_str_equal (option_name, "--cpus"))
    {
      if (!parse_uint (option_name, value, 1, CHRONOS_VM_CONFIG_MAX_CPUS, &self->cpus, error))
        return FALSE;
      self->have_cpus = TRUE;
    }
  else if (g_str_equal (option_name, "--shutdown-timeout"))
    {
      if (!parse_uint (option_name, value, 0, 24 * 3600, &self->shutdown_timeout, error))
        return FALSE;
      self->have_shutdown_timeout = TRUE;
    }
  else if (g_str_equal (option_name, "--firmware"))
    {
      if (!pick (firmware_choices, option_name, value, &choice, error))
        return FALSE;
      self->firmware = choice;
      self->have_firmware = TRUE;
    }
  else if (g_str_equal (option_name, "--accel"))
    {
      if (!pick (accel_choices, option_name, value, &choice, error))
        return FALSE;
      self->accel = choice;
      self->have_accel = TRUE;
    }
  else if (g_str_equal (option_name, "--display"))
    {
      if (!pick (display_choices, option_name, value, &choice, error))
        return FALSE;
      self->display = choice;
      self->have_display = TRUE;
    }
  else if (g_str_equal (option_name, "--disk-bus"))
    {
      if (!pick (disk_bus_choices, option_name, value, &choice, error))
        return FALSE;
      self->disk_bus = choice;
      self->have_disk_bus = TRUE;
    }
  else if (g_str_equal (option_name, "--nic"))
    {
      static const char *const models[] = {
        CHRONOS_NIC_MODEL_E1000E, CHRONOS_NIC_MODEL_VIRTIO, CHRONOS_NIC_MODEL_E1000
      };

      if (!pick (nic_choices, option_name, value, &choice, error))
        return FALSE;
      g_free (self->nic_model);
      self->nic_model = g_strdup (models[choice]);
    }
  else if (g_str_equal (option_name, "--serial") || g_str_equal (option_name, "--drivers") ||
           g_str_equal (option_name, "--qemu"))
    {
      char **slot = g_str_equal (option_name, "--serial")    ? &self->serial
                    : g_str_equal (option_name, "--drivers") ? &self->drivers_iso
                                                             : &self->qemu_dir;

      if (*value == '\0')
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _ ("%s needs a file or folder name"), option_name);
          return FALSE;
        }
      g_free (*slot);
      *slot = g_canonicalize_filename (value, NULL);
    }
  else
    g_assert_not_reached ();

  return TRUE;
}

ChronosVmOptions *
chronos_vm_options_new (void)
{
  return g_new0 (ChronosVmOptions, 1);
}

void
chronos_vm_options_free (ChronosVmOptions *self)
{
  if (self == NULL)
    return;
  g_free (self->nic_model);
  g_free (self->serial);
  g_free (self->qemu_dir);
  g_free (self->drivers_iso);
  g_free (self);
}

GOptionGroup *
chronos_vm_options_get_group (ChronosVmOptions *self)
{
  GOptionGroup      *group;
  const GOptionEntry entries[] = {
    { "memory", 0, 0, G_OPTION_ARG_CALLBACK, option_cb,
      N_ ("Guest memory in MiB (default: up to 4096, at most what the host can spare)"), N_ ("MIB") },
    { "cpus", 0, 0, G_OPTION_ARG_CALLBACK, option_cb,
      N_ ("Number of virtual CPUs (default: up to 2)"), N_ ("N") },
    { "firmware", 0, 0, G_OPTION_ARG_CALLBACK, option_cb,
      N_ ("auto (UEFI for GPT disks, BIOS for MBR), uefi or bios"), N_ ("MODE") },
    { "accel", 0, 0, G_OPTION_ARG_CALLBACK, option_cb,
      N_ ("auto (hardware, falling back to software), hardware or tcg (software only)"), N_ ("MODE") },
    { "display", 0, 0, G_OPTION_ARG_CALLBACK, option_cb,
      N_ ("window, vnc (a Unix socket) or none"), N_ ("MODE") },
    { "network", 0, 0, G_OPTION_ARG_NONE, &self->network,
      N_ ("Give the guest a NAT network (the default)"), NULL },
    { "no-network", 0, 0, G_OPTION_ARG_NONE, &self->no_network,
      N_ ("Give the guest no network"), NULL },
    { "nic", 0, 0, G_OPTION_ARG_CALLBACK, option_cb,
      N_ ("Network card: e1000e (default), virtio or e1000"), N_ ("MODEL") },
    { "disk-bus", 0, 0, G_OPTION_ARG_CALLBACK, option_cb,
      N_ ("auto (AHCI), ahci, nvme, ide or virtio"), N_ ("BUS") },
    { "serial", 0, 0, G_OPTION_ARG_CALLBACK, option_cb,
      N_ ("Write the guest’s serial console to FILE"), N_ ("FILE") },
    { "qemu", 0, 0, G_OPTION_ARG_CALLBACK, option_cb,
      N_ ("Use the QEMU installed in DIR"), N_ ("DIR") },
    { "drivers", 0, 0, G_OPTION_ARG_CALLBACK, option_cb,
      N_ ("Attach a drivers ISO (virtio-win) as a CD-ROM"), N_ ("ISO") },
    { "writable", 0, 0, G_OPTION_ARG_NONE, &self->writable,
      N_ ("DANGER: let the guest write into the backup itself"), NULL },
    { "shutdown-timeout", 0, 0, G_OPTION_ARG_CALLBACK, option_cb,
      N_ ("Seconds the guest gets to power off before it is stopped (default: 30)"), N_ ("S") },
    { NULL },
  };

  g_return_val_if_fail (!self->group_made, NULL);
  self->group_made = TRUE;

  group = g_option_group_new ("vm", _ ("Virtual machine options:"), _ ("Show the virtual machine options"),
                              self, NULL);
  g_option_group_add_entries (group, entries);
  g_option_group_set_translation_domain (group, GETTEXT_PACKAGE);
  return group;
}

gboolean
chronos_vm_options_apply (ChronosVmOptions *self,
                          ChronosVmConfig  *config,
                          GError          **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (config), FALSE);

  if (self->network && self->no_network)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                           _ ("--network and --no-network contradict each other"));
      return FALSE;
    }

  if (self->have_memory)
    chronos_vm_config_set_memory_mib (config, self->memory_mib);
  if (self->have_cpus)
    chronos_vm_config_set_cpus (config, self->cpus);
  if (self->have_firmware)
    chronos_vm_config_set_firmware (config, self->firmware);
  if (self->have_accel)
    chronos_vm_config_set_accel (config, self->accel);
  if (self->have_display)
    chronos_vm_config_set_display (config, self->display);
  if (self->network || self->no_network)
    chronos_vm_config_set_network (config, self->network);
  if (self->nic_model != NULL)
    chronos_vm_config_set_nic_model (config, self->nic_model);
  if (self->have_disk_bus)
    chronos_vm_config_set_disk_bus (config, self->disk_bus);
  if (self->serial != NULL)
    chronos_vm_config_set_serial_path (config, self->serial);
  if (self->drivers_iso != NULL)
    chronos_vm_config_set_drivers_iso (config, self->drivers_iso);
  if (self->writable)
    chronos_vm_config_set_protect_backup (config, FALSE);
  if (self->have_shutdown_timeout)
    chronos_vm_config_set_shutdown_timeout (config, self->shutdown_timeout);

  return TRUE;
}

const char *
chronos_vm_options_get_qemu_dir (ChronosVmOptions *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->qemu_dir;
}

gboolean
chronos_vm_options_has_display (ChronosVmOptions *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->have_display;
}

gboolean
chronos_vm_options_get_writable (ChronosVmOptions *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->writable;
}

const char *
chronos_vm_options_writable_warning (void)
{
  return _ ("WARNING: --writable lets the guest write into the backup itself. The backup will change and may no longer match what was backed up. Use it only on a copy you can lose.");
}
