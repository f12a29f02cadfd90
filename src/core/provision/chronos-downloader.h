/* chronos-downloader.h: resumable HTTPS download with a streaming SHA-256
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "chronos-job.h"
#include "chronos-provision-error.h"

G_BEGIN_DECLS

#define CHRONOS_TYPE_DOWNLOADER (chronos_downloader_get_type ())

G_DECLARE_FINAL_TYPE (ChronosDownloader, chronos_downloader, CHRONOS, DOWNLOADER, GObject)

/* At most this many redirects are followed, each checked against the URL rules. */
#define CHRONOS_DOWNLOADER_MAX_REDIRECTS 10

ChronosDownloader *chronos_downloader_new (void);
guint              chronos_downloader_get_stall_timeout_ms (ChronosDownloader *self);
void               chronos_downloader_set_stall_timeout_ms (ChronosDownloader *self,
                                                            guint              timeout_ms);
void               chronos_downloader_set_retries (ChronosDownloader *self,
                                                   guint              retries,
                                                   guint              first_delay_ms);
guint64            chronos_downloader_get_bytes_received (ChronosDownloader *self);
void               chronos_downloader_download_async (ChronosDownloader  *self,
                                                      const char *const  *urls,
                                                      const char         *part_path,
                                                      guint64             expected_size,
                                                      ChronosJob         *job,
                                                      GCancellable       *cancellable,
                                                      GAsyncReadyCallback callback,
                                                      gpointer            user_data);
char              *chronos_downloader_download_finish (ChronosDownloader *self,
                                                       GAsyncResult      *result,
                                                       guint64           *out_size,
                                                       GError           **error);
void               chronos_downloader_fetch_async (ChronosDownloader  *self,
                                                   const char         *url,
                                                   gsize               max_size,
                                                   GCancellable       *cancellable,
                                                   GAsyncReadyCallback callback,
                                                   gpointer            user_data);
GBytes            *chronos_downloader_fetch_finish (ChronosDownloader *self,
                                                    GAsyncResult      *result,
                                                    GError           **error);

G_END_DECLS
