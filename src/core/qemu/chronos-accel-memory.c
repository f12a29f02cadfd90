/* chronos-accel-memory.c: remembered facts like "UEFI needs TCG on this host"
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * After a hardware accelerator failed with some firmware (nested KVM and
 * OVMF, WHPX and pflash), every later boot would pay seconds to detect the
 * same failure again. This small keyfile remembers it per host.
 */

#include "config.h"

#include <errno.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "chronos-accel.h"
#include "chronos-accel-memory.h"
#include "chronos-paths.h"

#define ACCEL_MEMORY_FILE "accel.ini"

char *
chronos_accel_memory_get_path (void)
{
  g_autofree char *dir = chronos_paths_state_dir ();

  return g_build_filename (dir, ACCEL_MEMORY_FILE, NULL);
}

static const char *
firmware_key (ChronosFirmwareMode firmware)
{
  switch (firmware)
    {
    case CHRONOS_FIRMWARE_MODE_BIOS:
      return "bios";
    case CHRONOS_FIRMWARE_MODE_UEFI:
      return "uefi";
    case CHRONOS_FIRMWARE_MODE_AUTO:
    default:
      return NULL;
    }
}

/* "myhost kvm uefi": spaces cannot appear in a host name, and keyfile
 * group names may hold anything but brackets and control characters. */
static char *
group_name (ChronosAccelKind    hardware,
            ChronosFirmwareMode firmware)
{
  g_autofree char *host = g_strdup (g_get_host_name ());

  g_strdelimit (host, "[]\r\n", '_');
  return g_strdup_printf ("%s %s %s", host, chronos_accel_kind_to_string (hardware),
                          firmware_key (firmware));
}

static GKeyFile *
load_key_file (const char *path)
{
  g_autoptr (GKeyFile) key_file = g_key_file_new ();
  g_autoptr (GError) error = NULL;

  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_KEEP_COMMENTS, &error) &&
      !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      /* A damaged state file only costs one slow boot: start afresh. */
      g_debug ("Ignoring %s: %s", path, error->message);
      g_key_file_free (g_steal_pointer (&key_file));
      key_file = g_key_file_new ();
    }
  return g_steal_pointer (&key_file);
}

gboolean
chronos_accel_memory_lookup (ChronosAccelKind    hardware,
                             ChronosFirmwareMode firmware,
                             char              **reason)
{
  g_autofree char *path = NULL;
  g_autofree char *group = NULL;
  g_autoptr (GKeyFile) key_file = NULL;

  if (reason != NULL)
    *reason = NULL;
  g_return_val_if_fail (firmware_key (firmware) != NULL, FALSE);

  path = chronos_accel_memory_get_path ();
  key_file = load_key_file (path);
  group = group_name (hardware, firmware);
  if (!g_key_file_has_group (key_file, group))
    return FALSE;

  if (reason != NULL)
    *reason = g_key_file_get_string (key_file, group, "reason", NULL);
  return TRUE;
}

static gboolean
save_key_file (GKeyFile   *key_file,
               const char *path,
               GError    **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _ ("Could not create the folder “%s”: %s"), dir, g_strerror (saved_errno));
      return FALSE;
    }
  return g_key_file_save_to_file (key_file, path, error);
}

gboolean
chronos_accel_memory_remember (ChronosAccelKind    hardware,
                               ChronosFirmwareMode firmware,
                               const char         *reason,
                               const char         *qemu_version,
                               GError            **error)
{
  g_autofree char *path = NULL;
  g_autofree char *group = NULL;
  g_autoptr (GKeyFile) key_file = NULL;
  g_autoptr (GDateTime) now = NULL;
  g_autofree char *time = NULL;

  g_return_val_if_fail (firmware_key (firmware) != NULL, FALSE);
  g_return_val_if_fail (hardware != CHRONOS_ACCEL_KIND_UNKNOWN, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  path = chronos_accel_memory_get_path ();
  key_file = load_key_file (path);
  group = group_name (hardware, firmware);

  now = g_date_time_new_now_utc ();
  time = g_date_time_format_iso8601 (now);

  g_key_file_set_string (key_file, group, "reason", reason != NULL ? reason : "");
  if (qemu_version != NULL)
    g_key_file_set_string (key_file, group, "qemu-version", qemu_version);
  else
    g_key_file_remove_key (key_file, group, "qemu-version", NULL);
  g_key_file_set_string (key_file, group, "time", time);

  return save_key_file (key_file, path, error);
}

gboolean
chronos_accel_memory_forget (ChronosAccelKind    hardware,
                             ChronosFirmwareMode firmware,
                             GError            **error)
{
  g_autofree char *path = NULL;
  g_autofree char *group = NULL;
  g_autoptr (GKeyFile) key_file = NULL;

  g_return_val_if_fail (firmware_key (firmware) != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  path = chronos_accel_memory_get_path ();
  key_file = load_key_file (path);
  group = group_name (hardware, firmware);
  if (!g_key_file_has_group (key_file, group))
    return TRUE;

  g_key_file_remove_group (key_file, group, NULL);
  return save_key_file (key_file, path, error);
}
