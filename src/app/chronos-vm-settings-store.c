/* chronos-vm-settings-store.c: VM defaults in GSettings, choices per backup
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Defaults are GSettings keys ("vm-memory-mib", ...) that Preferences edits.
 * What a person chose for one backup is kept in a key file in the state
 * directory (one group per backup path) rather than in a GSettings a{sv}:
 * it grows with every backup ever booted, has no schema to migrate, and a
 * person can read or delete it. It is a few hundred bytes, read when the
 * settings dialog opens.
 *
 * Protecting the backup is never remembered: writable mode must be chosen,
 * with its warning, every time.
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "chronos-paths.h"
#include "chronos-vm-settings-store.h"

static const struct
{
  const char *key;
  const char *property;
} bindings[] = {
  { "vm-memory-mib", "memory-mib" },
  { "vm-cpus", "cpus" },
  { "vm-firmware", "firmware" },
  { "vm-accel", "accel" },
  { "vm-display", "display" },
  { "vm-network", "network" },
  { "vm-disk-bus", "disk-bus" },
};

/* NULL (no ISO) is "" in GSettings. */
static gboolean
iso_get_mapping (GValue   *value,
                 GVariant *variant,
                 gpointer  user_data)
{
  const char *path = g_variant_get_string (variant, NULL);

  g_value_set_string (value, path[0] != '\0' ? path : NULL);
  return TRUE;
}

static GVariant *
iso_set_mapping (const GValue       *value,
                 const GVariantType *expected_type,
                 gpointer            user_data)
{
  const char *path = g_value_get_string (value);

  return g_variant_new_string (path != NULL ? path : "");
}

void
chronos_vm_settings_bind_defaults (GSettings         *settings,
                                   ChronosVmConfig   *config,
                                   GSettingsBindFlags flags)
{
  g_return_if_fail (G_IS_SETTINGS (settings));
  g_return_if_fail (CHRONOS_IS_VM_CONFIG (config));

  for (guint i = 0; i < G_N_ELEMENTS (bindings); i++)
    g_settings_bind (settings, bindings[i].key, config, bindings[i].property, flags);
  g_settings_bind_with_mapping (settings, "vm-drivers-iso", config, "drivers-iso", flags,
                                iso_get_mapping, iso_set_mapping, NULL, NULL);
}

char *
chronos_vm_settings_store_path (void)
{
  g_autofree char *dir = chronos_paths_state_dir ();

  return g_build_filename (dir, "vm-settings.ini", NULL);
}

static void
load_enum (GKeyFile   *keyfile,
           const char *group,
           const char *key,
           GObject    *config,
           GType       enum_type)
{
  g_autofree char *nick = g_key_file_get_string (keyfile, group, key, NULL);
  g_autoptr (GEnumClass) klass = NULL;
  GEnumValue *value;

  if (nick == NULL)
    return;
  klass = g_type_class_ref (enum_type);
  value = g_enum_get_value_by_nick (klass, nick);
  if (value != NULL)
    g_object_set (config, key, value->value, NULL);
}

static void
save_enum (GKeyFile   *keyfile,
           const char *group,
           const char *key,
           GObject    *config,
           GType       enum_type)
{
  g_autoptr (GEnumClass) klass = g_type_class_ref (enum_type);
  GEnumValue *value;
  int         v;

  g_object_get (config, key, &v, NULL);
  value = g_enum_get_value (klass, v);
  if (value != NULL)
    g_key_file_set_string (keyfile, group, key, value->value_nick);
}

ChronosVmConfig *
chronos_vm_settings_load_for_backup (GSettings  *settings,
                                     const char *backup_path)
{
  g_autoptr (ChronosVmConfig) config = chronos_vm_config_new ();
  g_autoptr (GKeyFile) keyfile = g_key_file_new ();
  g_autofree char *path = chronos_vm_settings_store_path ();
  GObject         *object = G_OBJECT (config);

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);
  g_return_val_if_fail (backup_path != NULL, NULL);

  chronos_vm_settings_bind_defaults (settings, config,
                                     G_SETTINGS_BIND_GET | G_SETTINGS_BIND_GET_NO_CHANGES);

  if (g_key_file_load_from_file (keyfile, path, G_KEY_FILE_NONE, NULL) &&
      g_key_file_has_group (keyfile, backup_path))
    {
      const char      *group = backup_path;
      g_autofree char *iso = NULL;

      if (g_key_file_has_key (keyfile, group, "memory-mib", NULL))
        chronos_vm_config_set_memory_mib (config,
                                          MAX (CHRONOS_VM_CONFIG_MIN_MEMORY_MIB,
                                               (guint)g_key_file_get_uint64 (keyfile, group, "memory-mib", NULL)));
      if (g_key_file_has_key (keyfile, group, "cpus", NULL))
        chronos_vm_config_set_cpus (config,
                                    CLAMP ((guint)g_key_file_get_uint64 (keyfile, group, "cpus", NULL),
                                           1, CHRONOS_VM_CONFIG_MAX_CPUS));
      if (g_key_file_has_key (keyfile, group, "network", NULL))
        chronos_vm_config_set_network (config, g_key_file_get_boolean (keyfile, group, "network", NULL));
      load_enum (keyfile, group, "firmware", object, CHRONOS_TYPE_FIRMWARE_MODE);
      load_enum (keyfile, group, "accel", object, CHRONOS_TYPE_ACCEL_MODE);
      load_enum (keyfile, group, "display", object, CHRONOS_TYPE_DISPLAY_MODE);
      load_enum (keyfile, group, "disk-bus", object, CHRONOS_TYPE_DISK_BUS);
      iso = g_key_file_get_string (keyfile, group, "drivers-iso", NULL);
      if (iso != NULL)
        chronos_vm_config_set_drivers_iso (config, iso);
    }

  chronos_vm_config_set_protect_backup (config, TRUE);
  chronos_vm_config_clamp_to_host (config, NULL);

  return g_steal_pointer (&config);
}

gboolean
chronos_vm_settings_save_for_backup (ChronosVmConfig *config,
                                     const char      *backup_path,
                                     GError         **error)
{
  g_autoptr (GKeyFile) keyfile = g_key_file_new ();
  g_autofree char *path = chronos_vm_settings_store_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  GObject         *object = G_OBJECT (config);
  const char      *group = backup_path;
  const char      *iso;

  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (config), FALSE);
  g_return_val_if_fail (backup_path != NULL, FALSE);

  /* A missing or damaged file is started afresh. */
  g_key_file_load_from_file (keyfile, path, G_KEY_FILE_KEEP_COMMENTS, NULL);

  g_key_file_remove_group (keyfile, group, NULL);
  g_key_file_set_uint64 (keyfile, group, "memory-mib", chronos_vm_config_get_memory_mib (config));
  g_key_file_set_uint64 (keyfile, group, "cpus", chronos_vm_config_get_cpus (config));
  g_key_file_set_boolean (keyfile, group, "network", chronos_vm_config_get_network (config));
  save_enum (keyfile, group, "firmware", object, CHRONOS_TYPE_FIRMWARE_MODE);
  save_enum (keyfile, group, "accel", object, CHRONOS_TYPE_ACCEL_MODE);
  save_enum (keyfile, group, "display", object, CHRONOS_TYPE_DISPLAY_MODE);
  save_enum (keyfile, group, "disk-bus", object, CHRONOS_TYPE_DISK_BUS);
  iso = chronos_vm_config_get_drivers_iso (config);
  if (iso != NULL)
    g_key_file_set_string (keyfile, group, "drivers-iso", iso);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _ ("Cannot create the folder “%s”: %s"), dir, g_strerror (saved_errno));
      return FALSE;
    }
  return g_key_file_save_to_file (keyfile, path, error);
}
