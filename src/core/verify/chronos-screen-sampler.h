/* chronos-screen-sampler.h: takes a running guest's screen through QMP
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "chronos-qmp.h"
#include "chronos-screen.h"

G_BEGIN_DECLS

/* One look at the screen. */
typedef struct
{
  ChronosScreenFacts facts;
  /* The VGA text on screen while the guest is in a text mode, else NULL. */
  char *vga_text;
} ChronosScreenSample;

void chronos_screen_sample_free (ChronosScreenSample *sample);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChronosScreenSample, chronos_screen_sample_free)

#define CHRONOS_TYPE_SCREEN_SAMPLER (chronos_screen_sampler_get_type ())

G_DECLARE_FINAL_TYPE (ChronosScreenSampler, chronos_screen_sampler, CHRONOS, SCREEN_SAMPLER, GObject)

/* Screendumps go to files in @work_dir (a private directory the caller
 * owns; QEMU writes there, so it must be the same user's). */
ChronosScreenSampler *chronos_screen_sampler_new (ChronosQmp *qmp,
                                                  const char *work_dir);
/* Takes a PPM screendump and the VGA text memory, and analyses them off
 * the main thread. */
void                 chronos_screen_sampler_sample_async (ChronosScreenSampler *self,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
ChronosScreenSample *chronos_screen_sampler_sample_finish (ChronosScreenSampler *self,
                                                           GAsyncResult         *result,
                                                           GError              **error);
/* The latest PPM screendump's path (for a live thumbnail), or NULL. */
const char *chronos_screen_sampler_get_frame_path (ChronosScreenSampler *self);
/* Saves a PNG screendump (QEMU >= 7.1) to @path and checks it is a PNG;
 * with an older QEMU, or one without PNG support, encodes the last sample. */
void     chronos_screen_sampler_save_png_async (ChronosScreenSampler *self,
                                                const char           *path,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
gboolean chronos_screen_sampler_save_png_finish (ChronosScreenSampler *self,
                                                 GAsyncResult         *result,
                                                 GError              **error);
/* Encodes the last sample as PNG into @path (when QEMU is gone).
 * Blocking: call from a thread or for small frames only. */
gboolean chronos_screen_sampler_encode_last_png (ChronosScreenSampler *self,
                                                 const char           *path,
                                                 GError              **error);

G_END_DECLS
