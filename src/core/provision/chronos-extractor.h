/* chronos-extractor.h: safe extraction of a QEMU bundle with libarchive
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "chronos-job.h"
#include "chronos-provision-error.h"

G_BEGIN_DECLS

#define CHRONOS_TYPE_EXTRACTOR (chronos_extractor_get_type ())

G_DECLARE_FINAL_TYPE (ChronosExtractor, chronos_extractor, CHRONOS, EXTRACTOR, GObject)

/* Defaults: a QEMU bundle expands to a few hundred MiB in a few thousand
 * files and compresses about 3:1; these leave ample room for that. */
#define CHRONOS_EXTRACTOR_DEFAULT_MAX_BYTES (G_GUINT64_CONSTANT (4) * 1024 * 1024 * 1024)
#define CHRONOS_EXTRACTOR_DEFAULT_MAX_ENTRIES 100000
#define CHRONOS_EXTRACTOR_DEFAULT_MAX_RATIO 100

ChronosExtractor *chronos_extractor_new (void);
void              chronos_extractor_set_limits (ChronosExtractor *self,
                                                guint64           max_bytes,
                                                guint64           max_entries,
                                                guint             max_ratio);
void              chronos_extractor_extract_async (ChronosExtractor   *self,
                                                   const char         *archive_path,
                                                   const char         *format,
                                                   guint               strip_components,
                                                   const char         *dest_dir,
                                                   ChronosJob         *job,
                                                   GCancellable       *cancellable,
                                                   GAsyncReadyCallback callback,
                                                   gpointer            user_data);
gboolean          chronos_extractor_extract_finish (ChronosExtractor *self,
                                                    GAsyncResult     *result,
                                                    GError          **error);

G_END_DECLS
