/* chronos-converter.h: converts a backup image to QCOW2 with qemu-img
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "chronos-job.h"

G_BEGIN_DECLS

#define CHRONOS_TYPE_CONVERTER (chronos_converter_get_type ())

G_DECLARE_FINAL_TYPE (ChronosConverter, chronos_converter, CHRONOS, CONVERTER, GObject)

/* @qemu_img is the qemu-img executable (ChronosQemu knows it); @source the
 * VHDX backup, never written; @output the QCOW2 file to create. */
ChronosConverter *chronos_converter_new (const char *qemu_img,
                                         const char *source,
                                         const char *output);
const char       *chronos_converter_get_source (ChronosConverter *self);
const char       *chronos_converter_get_output (ChronosConverter *self);
/* Replace an existing @output (off by default: an existing file is refused). */
void     chronos_converter_set_force (ChronosConverter *self,
                                      gboolean          force);
gboolean chronos_converter_get_force (ChronosConverter *self);
/* The job the conversion reports into: steps, fraction and bytes (estimated
 * from the virtual size, so rate and ETA work). Cancelling it cancels the
 * conversion. */
ChronosJob *chronos_converter_get_job (ChronosConverter *self);

/* Checks the image and the free space, runs `qemu-img convert` into a
 * temporary file beside @output and renames it to @output only on success.
 * On failure or cancellation nothing is left behind. Call once. */
void     chronos_converter_convert_async (ChronosConverter   *self,
                                          GCancellable       *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer            user_data);
gboolean chronos_converter_convert_finish (ChronosConverter *self,
                                           GAsyncResult     *result,
                                           GError          **error);

/* Turns qemu-img's stderr into one sentence for a person, without the
 * "qemu-img: " prefix; NULL when @stderr_text says nothing. */
char *chronos_converter_describe_stderr (const char *stderr_text);

G_END_DECLS
