/* chronos-frame.h: one screen image of a guest, as RGB pixels
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A decoded screendump: @width x @height pixels, 3 bytes (R, G, B) each,
 * rows top to bottom without padding. */
typedef struct
{
  guint   width;
  guint   height;
  guint8 *rgb;
} ChronosFrame;

#define CHRONOS_TYPE_FRAME (chronos_frame_get_type ())

GType chronos_frame_get_type (void) G_GNUC_CONST;
/* A black frame. */
ChronosFrame *chronos_frame_new (guint width,
                                 guint height);
ChronosFrame *chronos_frame_copy (const ChronosFrame *frame);
void          chronos_frame_free (ChronosFrame *frame);
/* Decodes a binary PPM (P6, maxval 255), what QEMU's screendump writes by
 * default. Untrusted input: sizes are checked; errors are G_IO_ERROR_INVALID_DATA. */
ChronosFrame *chronos_frame_new_from_ppm (const guint8 *data,
                                          gsize         len,
                                          GError      **error);
ChronosFrame *chronos_frame_load_ppm (const char *path,
                                      GError    **error);
/* Writes the frame as PPM (tests and debugging). */
GBytes *chronos_frame_to_ppm (const ChronosFrame *frame);

/* Encodes the frame as PNG (8-bit RGB, zlib through GZlibCompressor): the
 * evidence when QEMU cannot write PNG itself or has already ended. */
GBytes *chronos_frame_to_png (const ChronosFrame *frame,
                              GError            **error);

/* Reads the size of a PNG from its signature and IHDR chunk (CRC checked).
 * Pure; FALSE when @data is not a PNG. */
gboolean chronos_png_get_size (const guint8 *data,
                               gsize         len,
                               guint        *width,
                               guint        *height);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChronosFrame, chronos_frame_free)

G_END_DECLS
