/* chronos-qemu-img-progress.h: parses the progress that `qemu-img convert -p` prints
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The longest progress line kept while waiting for its end; anything longer is
 * not a progress line and is dropped. */
#define CHRONOS_QEMU_IMG_PROGRESS_MAX_LINE 256

/* Parses one line (without its \r or \n), such as "    (12.34/100%)", into a
 * percentage in [0, 100]. Pure: no allocation, @line need not be
 * NUL-terminated. Returns FALSE for anything that is not a progress line. */
gboolean chronos_qemu_img_progress_parse_line (const char *line,
                                               gsize       len,
                                               double     *percent);

typedef struct _ChronosQemuImgProgress ChronosQemuImgProgress;

/* A line splitter over qemu-img's stdout: lines end in \r (progress
 * redraws), \n or \r\n, and arrive in arbitrary chunks. */
ChronosQemuImgProgress *chronos_qemu_img_progress_new (void);
void                    chronos_qemu_img_progress_free (ChronosQemuImgProgress *self);
/* Feeds @len bytes; returns TRUE when at least one complete progress line was
 * in them, with the latest percentage in @percent. */
gboolean chronos_qemu_img_progress_feed (ChronosQemuImgProgress *self,
                                         const char             *data,
                                         gsize                   len,
                                         double                 *percent);
/* The highest percentage seen so far, or -1 before the first. */
double chronos_qemu_img_progress_get_max (ChronosQemuImgProgress *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChronosQemuImgProgress, chronos_qemu_img_progress_free)

G_END_DECLS
