/* chronos-app-format.c: how the app words sizes, dates and image facts
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * One place for these so that a row, the details pane and a dialog never
 * disagree on how a date or a firmware is called.
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "chronos-app-format.h"

char *
chronos_format_date_time (GDateTime *date_time)
{
  g_autoptr (GDateTime) local = NULL;
  g_autoptr (GDateTime) now = NULL;

  if (date_time == NULL)
    return g_strdup (_ ("Unknown"));

  local = g_date_time_to_local (date_time);
  now = g_date_time_new_now_local ();

  if (g_date_time_get_year (local) == g_date_time_get_year (now) &&
      g_date_time_get_day_of_year (local) == g_date_time_get_day_of_year (now))
    /* Translators: a time today, see g_date_time_format() */
    return g_date_time_format (local, _ ("Today %H:%M"));

  /* Translators: a date with time, see g_date_time_format() */
  return g_date_time_format (local, _ ("%-d %b %Y %H:%M"));
}

char *
chronos_format_date (gint64 unix_time)
{
  g_autoptr (GDateTime) date_time = NULL;

  if (unix_time <= 0)
    return g_strdup (_ ("Unknown"));
  date_time = g_date_time_new_from_unix_utc (unix_time);
  return chronos_format_date_time (date_time);
}

const char *
chronos_format_firmware (ChronosFirmwareMode firmware)
{
  switch (firmware)
    {
    case CHRONOS_FIRMWARE_MODE_UEFI:
      return _ ("UEFI");
    case CHRONOS_FIRMWARE_MODE_BIOS:
      return _ ("BIOS");
    case CHRONOS_FIRMWARE_MODE_AUTO:
    default:
      return _ ("Automatic");
    }
}

const char *
chronos_format_partition_style (ChronosPartitionStyle style)
{
  switch (style)
    {
    case CHRONOS_PARTITION_STYLE_GPT:
      return _ ("GPT");
    case CHRONOS_PARTITION_STYLE_MBR:
      return _ ("MBR");
    case CHRONOS_PARTITION_STYLE_NONE:
    default:
      return _ ("No partition table");
    }
}

char *
chronos_format_boot_summary (ChronosImageInfo *info)
{
  if (info == NULL)
    return NULL;

  /* Translators: partition style and firmware, "GPT · UEFI" */
  return g_strdup_printf (_ ("%s · %s"),
                          chronos_format_partition_style (chronos_image_info_get_partition_style (info)),
                          chronos_format_firmware (chronos_image_info_get_firmware (info)));
}

/* The day alone, for the list: the time is in the details. */
static char *
format_day (gint64 unix_time)
{
  g_autoptr (GDateTime) utc = NULL;
  g_autoptr (GDateTime) local = NULL;

  if (unix_time <= 0)
    return g_strdup (_ ("Unknown date"));
  utc = g_date_time_new_from_unix_utc (unix_time);
  local = g_date_time_to_local (utc);
  /* Translators: a date, see g_date_time_format() */
  return g_date_time_format (local, _ ("%-d %b %Y"));
}

char *
chronos_format_row_subtitle (ChronosBackup *backup)
{
  g_autofree char *date = format_day (chronos_backup_get_mtime (backup));
  g_autofree char *size = g_format_size (chronos_backup_get_file_size (backup));
  g_autofree char *boot = chronos_format_boot_summary (chronos_backup_get_info (backup));

  if (boot != NULL)
    /* Translators: date · size on disk · "GPT · UEFI" */
    return g_strdup_printf (_ ("%s · %s · %s"), date, size, boot);
  /* Translators: date · size on disk */
  return g_strdup_printf (_ ("%s · %s"), date, size);
}

const char *
chronos_format_state (ChronosBackupState state)
{
  switch (state)
    {
    case CHRONOS_BACKUP_STATE_PROBING:
      return _ ("Reading");
    case CHRONOS_BACKUP_STATE_RUNNING:
      return _ ("Running");
    case CHRONOS_BACKUP_STATE_VERIFIED:
      return _ ("Verified");
    case CHRONOS_BACKUP_STATE_PROBLEM:
      return _ ("Problem");
    case CHRONOS_BACKUP_STATE_IDLE:
    default:
      return "";
    }
}

const char *
chronos_format_verdict (ChronosVerdict verdict)
{
  switch (verdict)
    {
    case CHRONOS_VERDICT_BOOTED:
      return _ ("Boots");
    case CHRONOS_VERDICT_FAILED:
      return _ ("Does not boot");
    case CHRONOS_VERDICT_TIMEOUT:
      return _ ("Did not finish booting");
    default:
      return "";
    }
}

char *
chronos_format_elapsed (gint64 seconds)
{
  if (seconds < 0)
    seconds = 0;
  if (seconds >= 3600)
    return g_strdup_printf ("%d:%02d:%02d", (int)(seconds / 3600),
                            (int)(seconds / 60 % 60), (int)(seconds % 60));
  return g_strdup_printf ("%d:%02d", (int)(seconds / 60), (int)(seconds % 60));
}

char *
chronos_format_folder (GFile *folder)
{
  g_autofree char *path = g_file_get_path (folder);
  const char      *home = g_get_home_dir ();

  if (path == NULL)
    return g_file_get_uri (folder);

  /* "~/Backups" reads better than "/home/ana/Backups". */
  if (home != NULL && g_str_has_prefix (path, home) &&
      (path[strlen (home)] == G_DIR_SEPARATOR || path[strlen (home)] == '\0') &&
      strlen (home) > 1)
    return g_strconcat ("~", path + strlen (home), NULL);

  return g_filename_display_name (path);
}
