/* chronos-app-format.h: how the app words sizes, dates and image facts
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include "chronos-backup.h"

G_BEGIN_DECLS

char       *chronos_format_date (gint64 unix_time);
char       *chronos_format_date_time (GDateTime *date_time);
const char *chronos_format_firmware (ChronosFirmwareMode firmware);
const char *chronos_format_partition_style (ChronosPartitionStyle style);
/* "GPT · UEFI" for a row's subtitle; NULL while unknown. */
char       *chronos_format_boot_summary (ChronosImageInfo *info);
char       *chronos_format_row_subtitle (ChronosBackup *backup);
const char *chronos_format_state (ChronosBackupState state);
const char *chronos_format_verdict (ChronosVerdict verdict);
char       *chronos_format_elapsed (gint64 seconds);
char       *chronos_format_folder (GFile *folder);

G_END_DECLS
