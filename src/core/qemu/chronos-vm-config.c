/* chronos-vm-config.c: how to run one VM (memory, CPUs, firmware, devices)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "chronos-vm-config.h"

#define DEFAULT_MEMORY_MIB 4096
#define DEFAULT_CPUS 2
#define DEFAULT_SHUTDOWN_TIMEOUT 30
#define MAX_SHUTDOWN_TIMEOUT (24 * 60 * 60)
#define MIB (G_GUINT64_CONSTANT (1024) * 1024)

struct _ChronosVmConfig
{
  GObject parent_instance;

  guint               memory_mib;
  guint               cpus;
  ChronosFirmwareMode firmware;
  ChronosAccelMode    accel;
  ChronosDisplayMode  display;
  char               *nic_model;
  ChronosDiskBus      disk_bus;
  char               *drivers_iso;
  char               *serial_path;
  guint               shutdown_timeout;
  guint               network : 1;
  guint               protect_backup : 1;
};

G_DEFINE_FINAL_TYPE (ChronosVmConfig, chronos_vm_config, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_MEMORY_MIB,
  PROP_CPUS,
  PROP_FIRMWARE,
  PROP_ACCEL,
  PROP_DISPLAY,
  PROP_NETWORK,
  PROP_NIC_MODEL,
  PROP_PROTECT_BACKUP,
  PROP_DISK_BUS,
  PROP_DRIVERS_ISO,
  PROP_SERIAL_PATH,
  PROP_SHUTDOWN_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* g_set_str() arrived in GLib 2.76; the floor is 2.74. An empty string
 * means "none" so that a GSettings string key ("") binds cleanly. */
static gboolean
set_optional_str (char      **field,
                  const char *value)
{
  if (value != NULL && *value == '\0')
    value = NULL;
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

/* Half the host's RAM, at most 4 GiB: enough for Windows to boot, and it
 * leaves the host usable. */
static guint
default_memory_mib (const ChronosHostResources *host)
{
  guint64 half_mib;

  if (host->total_memory == 0)
    return DEFAULT_MEMORY_MIB;
  half_mib = host->total_memory / MIB / 2;
  half_mib -= half_mib % 64;
  return (guint)CLAMP (half_mib, CHRONOS_VM_CONFIG_MIN_MEMORY_MIB, DEFAULT_MEMORY_MIB);
}

static void
chronos_vm_config_finalize (GObject *object)
{
  ChronosVmConfig *self = CHRONOS_VM_CONFIG (object);

  g_clear_pointer (&self->nic_model, g_free);
  g_clear_pointer (&self->drivers_iso, g_free);
  g_clear_pointer (&self->serial_path, g_free);

  G_OBJECT_CLASS (chronos_vm_config_parent_class)->finalize (object);
}

static void
chronos_vm_config_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  ChronosVmConfig *self = CHRONOS_VM_CONFIG (object);

  switch (prop_id)
    {
    case PROP_MEMORY_MIB:
      g_value_set_uint (value, self->memory_mib);
      break;
    case PROP_CPUS:
      g_value_set_uint (value, self->cpus);
      break;
    case PROP_FIRMWARE:
      g_value_set_enum (value, self->firmware);
      break;
    case PROP_ACCEL:
      g_value_set_enum (value, self->accel);
      break;
    case PROP_DISPLAY:
      g_value_set_enum (value, self->display);
      break;
    case PROP_NETWORK:
      g_value_set_boolean (value, self->network);
      break;
    case PROP_NIC_MODEL:
      g_value_set_string (value, self->nic_model);
      break;
    case PROP_PROTECT_BACKUP:
      g_value_set_boolean (value, self->protect_backup);
      break;
    case PROP_DISK_BUS:
      g_value_set_enum (value, self->disk_bus);
      break;
    case PROP_DRIVERS_ISO:
      g_value_set_string (value, self->drivers_iso);
      break;
    case PROP_SERIAL_PATH:
      g_value_set_string (value, self->serial_path);
      break;
    case PROP_SHUTDOWN_TIMEOUT:
      g_value_set_uint (value, self->shutdown_timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_vm_config_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  ChronosVmConfig *self = CHRONOS_VM_CONFIG (object);

  switch (prop_id)
    {
    case PROP_MEMORY_MIB:
      chronos_vm_config_set_memory_mib (self, g_value_get_uint (value));
      break;
    case PROP_CPUS:
      chronos_vm_config_set_cpus (self, g_value_get_uint (value));
      break;
    case PROP_FIRMWARE:
      chronos_vm_config_set_firmware (self, g_value_get_enum (value));
      break;
    case PROP_ACCEL:
      chronos_vm_config_set_accel (self, g_value_get_enum (value));
      break;
    case PROP_DISPLAY:
      chronos_vm_config_set_display (self, g_value_get_enum (value));
      break;
    case PROP_NETWORK:
      chronos_vm_config_set_network (self, g_value_get_boolean (value));
      break;
    case PROP_NIC_MODEL:
      chronos_vm_config_set_nic_model (self, g_value_get_string (value));
      break;
    case PROP_PROTECT_BACKUP:
      chronos_vm_config_set_protect_backup (self, g_value_get_boolean (value));
      break;
    case PROP_DISK_BUS:
      chronos_vm_config_set_disk_bus (self, g_value_get_enum (value));
      break;
    case PROP_DRIVERS_ISO:
      chronos_vm_config_set_drivers_iso (self, g_value_get_string (value));
      break;
    case PROP_SERIAL_PATH:
      chronos_vm_config_set_serial_path (self, g_value_get_string (value));
      break;
    case PROP_SHUTDOWN_TIMEOUT:
      chronos_vm_config_set_shutdown_timeout (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_vm_config_class_init (ChronosVmConfigClass *klass)
{
  GObjectClass     *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = chronos_vm_config_finalize;
  object_class->get_property = chronos_vm_config_get_property;
  object_class->set_property = chronos_vm_config_set_property;

  properties[PROP_MEMORY_MIB] =
      g_param_spec_uint ("memory-mib", NULL, NULL,
                         CHRONOS_VM_CONFIG_MIN_MEMORY_MIB, CHRONOS_VM_CONFIG_MAX_MEMORY_MIB,
                         DEFAULT_MEMORY_MIB, flags);
  properties[PROP_CPUS] =
      g_param_spec_uint ("cpus", NULL, NULL, 1, CHRONOS_VM_CONFIG_MAX_CPUS, DEFAULT_CPUS, flags);
  properties[PROP_FIRMWARE] =
      g_param_spec_enum ("firmware", NULL, NULL, CHRONOS_TYPE_FIRMWARE_MODE,
                         CHRONOS_FIRMWARE_MODE_AUTO, flags);
  properties[PROP_ACCEL] =
      g_param_spec_enum ("accel", NULL, NULL, CHRONOS_TYPE_ACCEL_MODE,
                         CHRONOS_ACCEL_MODE_AUTO, flags);
  properties[PROP_DISPLAY] =
      g_param_spec_enum ("display", NULL, NULL, CHRONOS_TYPE_DISPLAY_MODE,
                         CHRONOS_DISPLAY_MODE_WINDOW, flags);
  properties[PROP_NETWORK] =
      g_param_spec_boolean ("network", NULL, NULL, TRUE, flags);
  properties[PROP_NIC_MODEL] =
      g_param_spec_string ("nic-model", NULL, NULL, CHRONOS_NIC_MODEL_E1000E, flags);
  properties[PROP_PROTECT_BACKUP] =
      g_param_spec_boolean ("protect-backup", NULL, NULL, TRUE, flags);
  properties[PROP_DISK_BUS] =
      g_param_spec_enum ("disk-bus", NULL, NULL, CHRONOS_TYPE_DISK_BUS,
                         CHRONOS_DISK_BUS_AUTO, flags);
  properties[PROP_DRIVERS_ISO] =
      g_param_spec_string ("drivers-iso", NULL, NULL, NULL, flags);
  properties[PROP_SERIAL_PATH] =
      g_param_spec_string ("serial-path", NULL, NULL, NULL, flags);
  properties[PROP_SHUTDOWN_TIMEOUT] =
      g_param_spec_uint ("shutdown-timeout", NULL, NULL, 0, MAX_SHUTDOWN_TIMEOUT,
                         DEFAULT_SHUTDOWN_TIMEOUT, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
chronos_vm_config_init (ChronosVmConfig *self)
{
  self->memory_mib = DEFAULT_MEMORY_MIB;
  self->cpus = DEFAULT_CPUS;
  self->firmware = CHRONOS_FIRMWARE_MODE_AUTO;
  self->accel = CHRONOS_ACCEL_MODE_AUTO;
  self->display = CHRONOS_DISPLAY_MODE_WINDOW;
  self->network = TRUE;
  self->nic_model = g_strdup (CHRONOS_NIC_MODEL_E1000E);
  self->protect_backup = TRUE;
  self->disk_bus = CHRONOS_DISK_BUS_AUTO;
  self->shutdown_timeout = DEFAULT_SHUTDOWN_TIMEOUT;
}

ChronosVmConfig *
chronos_vm_config_new_for_host (const ChronosHostResources *host)
{
  ChronosVmConfig *self;

  g_return_val_if_fail (host != NULL, NULL);

  self = g_object_new (CHRONOS_TYPE_VM_CONFIG, NULL);
  self->memory_mib = default_memory_mib (host);
  self->cpus = CLAMP (MIN ((guint)DEFAULT_CPUS, host->n_cpus), 1, CHRONOS_VM_CONFIG_MAX_CPUS);
  return self;
}

ChronosVmConfig *
chronos_vm_config_new (void)
{
  ChronosHostResources host;

  chronos_host_query_resources (&host);
  return chronos_vm_config_new_for_host (&host);
}

ChronosVmConfig *
chronos_vm_config_copy (ChronosVmConfig *self)
{
  ChronosVmConfig *copy;

  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (self), NULL);

  copy = g_object_new (CHRONOS_TYPE_VM_CONFIG, NULL);
  copy->memory_mib = self->memory_mib;
  copy->cpus = self->cpus;
  copy->firmware = self->firmware;
  copy->accel = self->accel;
  copy->display = self->display;
  copy->network = self->network;
  g_free (copy->nic_model);
  copy->nic_model = g_strdup (self->nic_model);
  copy->protect_backup = self->protect_backup;
  copy->disk_bus = self->disk_bus;
  copy->drivers_iso = g_strdup (self->drivers_iso);
  copy->serial_path = g_strdup (self->serial_path);
  copy->shutdown_timeout = self->shutdown_timeout;
  return copy;
}

guint
chronos_vm_config_get_memory_mib (ChronosVmConfig *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (self), 0);
  return self->memory_mib;
}

void
chronos_vm_config_set_memory_mib (ChronosVmConfig *self,
                                  guint            memory_mib)
{
  g_return_if_fail (CHRONOS_IS_VM_CONFIG (self));
  g_return_if_fail (memory_mib >= CHRONOS_VM_CONFIG_MIN_MEMORY_MIB);
  g_return_if_fail (memory_mib <= CHRONOS_VM_CONFIG_MAX_MEMORY_MIB);

  if (self->memory_mib == memory_mib)
    return;
  self->memory_mib = memory_mib;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MEMORY_MIB]);
}

guint
chronos_vm_config_get_cpus (ChronosVmConfig *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (self), 0);
  return self->cpus;
}

void
chronos_vm_config_set_cpus (ChronosVmConfig *self,
                            guint            cpus)
{
  g_return_if_fail (CHRONOS_IS_VM_CONFIG (self));
  g_return_if_fail (cpus >= 1 && cpus <= CHRONOS_VM_CONFIG_MAX_CPUS);

  if (self->cpus == cpus)
    return;
  self->cpus = cpus;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CPUS]);
}

ChronosFirmwareMode
chronos_vm_config_get_firmware (ChronosVmConfig *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (self), CHRONOS_FIRMWARE_MODE_AUTO);
  return self->firmware;
}

void
chronos_vm_config_set_firmware (ChronosVmConfig    *self,
                                ChronosFirmwareMode firmware)
{
  g_return_if_fail (CHRONOS_IS_VM_CONFIG (self));
  g_return_if_fail (firmware <= CHRONOS_FIRMWARE_MODE_UEFI);

  if (self->firmware == firmware)
    return;
  self->firmware = firmware;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FIRMWARE]);
}

ChronosAccelMode
chronos_vm_config_get_accel (ChronosVmConfig *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (self), CHRONOS_ACCEL_MODE_AUTO);
  return self->accel;
}

void
chronos_vm_config_set_accel (ChronosVmConfig *self,
                             ChronosAccelMode accel)
{
  g_return_if_fail (CHRONOS_IS_VM_CONFIG (self));
  g_return_if_fail (accel <= CHRONOS_ACCEL_MODE_TCG);

  if (self->accel == accel)
    return;
  self->accel = accel;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACCEL]);
}

ChronosDisplayMode
chronos_vm_config_get_display (ChronosVmConfig *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (self), CHRONOS_DISPLAY_MODE_WINDOW);
  return self->display;
}

void
chronos_vm_config_set_display (ChronosVmConfig   *self,
                               ChronosDisplayMode display)
{
  g_return_if_fail (CHRONOS_IS_VM_CONFIG (self));
  g_return_if_fail (display <= CHRONOS_DISPLAY_MODE_NONE);

  if (self->display == display)
    return;
  self->display = display;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DISPLAY]);
}

gboolean
chronos_vm_config_get_network (ChronosVmConfig *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (self), FALSE);
  return self->network;
}

void
chronos_vm_config_set_network (ChronosVmConfig *self,
                               gboolean         network)
{
  g_return_if_fail (CHRONOS_IS_VM_CONFIG (self));

  network = !!network;
  if (self->network == (guint)network)
    return;
  self->network = network;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NETWORK]);
}

gboolean
chronos_vm_config_is_valid_nic_model (const char *nic_model)
{
  return g_strcmp0 (nic_model, CHRONOS_NIC_MODEL_E1000E) == 0 ||
         g_strcmp0 (nic_model, CHRONOS_NIC_MODEL_VIRTIO) == 0 ||
         g_strcmp0 (nic_model, CHRONOS_NIC_MODEL_E1000) == 0;
}

const char *
chronos_vm_config_get_nic_model (ChronosVmConfig *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (self), NULL);
  return self->nic_model;
}

void
chronos_vm_config_set_nic_model (ChronosVmConfig *self,
                                 const char      *nic_model)
{
  g_return_if_fail (CHRONOS_IS_VM_CONFIG (self));
  g_return_if_fail (chronos_vm_config_is_valid_nic_model (nic_model));

  if (g_strcmp0 (self->nic_model, nic_model) == 0)
    return;
  g_free (self->nic_model);
  self->nic_model = g_strdup (nic_model);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NIC_MODEL]);
}

gboolean
chronos_vm_config_get_protect_backup (ChronosVmConfig *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (self), TRUE);
  return self->protect_backup;
}

void
chronos_vm_config_set_protect_backup (ChronosVmConfig *self,
                                      gboolean         protect_backup)
{
  g_return_if_fail (CHRONOS_IS_VM_CONFIG (self));

  protect_backup = !!protect_backup;
  if (self->protect_backup == (guint)protect_backup)
    return;
  self->protect_backup = protect_backup;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROTECT_BACKUP]);
}

ChronosDiskBus
chronos_vm_config_get_disk_bus (ChronosVmConfig *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (self), CHRONOS_DISK_BUS_AUTO);
  return self->disk_bus;
}

void
chronos_vm_config_set_disk_bus (ChronosVmConfig *self,
                                ChronosDiskBus   disk_bus)
{
  g_return_if_fail (CHRONOS_IS_VM_CONFIG (self));
  g_return_if_fail (disk_bus <= CHRONOS_DISK_BUS_VIRTIO);

  if (self->disk_bus == disk_bus)
    return;
  self->disk_bus = disk_bus;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DISK_BUS]);
}

const char *
chronos_vm_config_get_drivers_iso (ChronosVmConfig *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (self), NULL);
  return self->drivers_iso;
}

void
chronos_vm_config_set_drivers_iso (ChronosVmConfig *self,
                                   const char      *drivers_iso)
{
  g_return_if_fail (CHRONOS_IS_VM_CONFIG (self));

  if (set_optional_str (&self->drivers_iso, drivers_iso))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DRIVERS_ISO]);
}

const char *
chronos_vm_config_get_serial_path (ChronosVmConfig *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (self), NULL);
  return self->serial_path;
}

void
chronos_vm_config_set_serial_path (ChronosVmConfig *self,
                                   const char      *serial_path)
{
  g_return_if_fail (CHRONOS_IS_VM_CONFIG (self));

  if (set_optional_str (&self->serial_path, serial_path))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERIAL_PATH]);
}

guint
chronos_vm_config_get_shutdown_timeout (ChronosVmConfig *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (self), DEFAULT_SHUTDOWN_TIMEOUT);
  return self->shutdown_timeout;
}

void
chronos_vm_config_set_shutdown_timeout (ChronosVmConfig *self,
                                        guint            seconds)
{
  g_return_if_fail (CHRONOS_IS_VM_CONFIG (self));
  g_return_if_fail (seconds <= MAX_SHUTDOWN_TIMEOUT);

  if (self->shutdown_timeout == seconds)
    return;
  self->shutdown_timeout = seconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHUTDOWN_TIMEOUT]);
}

/* "3.5 GiB", "512 MiB": how people read memory sizes. */
static char *
format_mib (guint64 mib)
{
  if (mib >= 1024)
    {
      if (mib % 1024 == 0)
        return g_strdup_printf (_ ("%llu GiB"), (unsigned long long)(mib / 1024));
      return g_strdup_printf (_ ("%.1f GiB"), (double)mib / 1024.0);
    }
  return g_strdup_printf (_ ("%llu MiB"), (unsigned long long)mib);
}

gboolean
chronos_vm_config_clamp (ChronosVmConfig            *self,
                         const ChronosHostResources *host,
                         char                      **note)
{
  g_autoptr (GString) text = g_string_new (NULL);
  gboolean changed = FALSE;
  guint64  free_bytes;

  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (self), FALSE);
  g_return_val_if_fail (host != NULL, FALSE);

  if (note != NULL)
    *note = NULL;

  g_object_freeze_notify (G_OBJECT (self));

  /* Without MemAvailable (or on a host that reports nothing) fall back to
   * the total: the guest still must not exceed the machine. */
  free_bytes = host->available_memory != 0 ? host->available_memory : host->total_memory;
  if (free_bytes != 0)
    {
      guint64 free_mib = free_bytes / MIB;
      guint64 limit_mib = free_mib > CHRONOS_VM_CONFIG_HOST_RESERVE_MIB
                              ? free_mib - CHRONOS_VM_CONFIG_HOST_RESERVE_MIB
                              : 0;

      limit_mib -= limit_mib % 64;
      limit_mib = CLAMP (limit_mib, CHRONOS_VM_CONFIG_MIN_MEMORY_MIB, CHRONOS_VM_CONFIG_MAX_MEMORY_MIB);

      if (self->memory_mib > limit_mib)
        {
          g_autofree char *new_size = format_mib (limit_mib);
          g_autofree char *host_size = format_mib (free_mib);

          chronos_vm_config_set_memory_mib (self, (guint)limit_mib);
          if (host->available_memory != 0)
            g_string_append_printf (text, _ ("Memory reduced to %s: the host has only %s free."),
                                    new_size, host_size);
          else
            g_string_append_printf (text, _ ("Memory reduced to %s: the host has only %s."),
                                    new_size, host_size);
          changed = TRUE;
        }
    }

  if (host->n_cpus > 0 && self->cpus > host->n_cpus)
    {
      chronos_vm_config_set_cpus (self, MIN (host->n_cpus, CHRONOS_VM_CONFIG_MAX_CPUS));
      if (text->len > 0)
        g_string_append_c (text, ' ');
      g_string_append_printf (text,
                              g_dngettext (GETTEXT_PACKAGE,
                                           "Processors reduced to %u: the host has only %u.",
                                           "Processors reduced to %u: the host has only %u.",
                                           host->n_cpus),
                              self->cpus, host->n_cpus);
      changed = TRUE;
    }

  g_object_thaw_notify (G_OBJECT (self));

  if (note != NULL && changed)
    *note = g_string_free (g_steal_pointer (&text), FALSE);
  return changed;
}

gboolean
chronos_vm_config_clamp_to_host (ChronosVmConfig *self,
                                 char           **note)
{
  ChronosHostResources host;

  chronos_host_query_resources (&host);
  return chronos_vm_config_clamp (self, &host, note);
}

ChronosFirmwareMode
chronos_vm_config_resolve_firmware (ChronosVmConfig      *self,
                                    ChronosPartitionStyle style)
{
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (self), CHRONOS_FIRMWARE_MODE_BIOS);

  switch (self->firmware)
    {
    case CHRONOS_FIRMWARE_MODE_BIOS:
    case CHRONOS_FIRMWARE_MODE_UEFI:
      return self->firmware;
    case CHRONOS_FIRMWARE_MODE_AUTO:
    default:
      return style == CHRONOS_PARTITION_STYLE_GPT ? CHRONOS_FIRMWARE_MODE_UEFI
                                                  : CHRONOS_FIRMWARE_MODE_BIOS;
    }
}

ChronosDiskBus
chronos_vm_config_resolve_disk_bus (ChronosVmConfig *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (self), CHRONOS_DISK_BUS_AHCI);

  /* AHCI: every Windows since Vista boots from it with in-box drivers. */
  return self->disk_bus == CHRONOS_DISK_BUS_AUTO ? CHRONOS_DISK_BUS_AHCI : self->disk_bus;
}
