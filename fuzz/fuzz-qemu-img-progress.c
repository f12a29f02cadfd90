/* fuzz-qemu-img-progress.c: libFuzzer target for qemu-img's progress lines
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The converter reads whatever the qemu-img it found prints on stdout. The
 * input is parsed as one line, then fed to the line splitter in chunks whose
 * sizes come from the input itself; every reported percentage must be a
 * number in [0, 100] and the maximum must never go down.
 */

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chronos-qemu-img-progress.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
check_percent (double percent)
{
  if (isnan (percent) || percent < 0.0 || percent > 100.0)
    abort ();
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr (ChronosQemuImgProgress) progress = NULL;
  g_autofree char *copy = NULL;
  double           percent = -2;
  double           max = -1;
  gsize            offset = 0;
  guint32          seed = 2166136261u;

  /* An exactly sized copy: the parser must not read past @len. */
  copy = g_malloc (size > 0 ? size : 1);
  memcpy (copy, data, size);

  if (chronos_qemu_img_progress_parse_line (copy, size, &percent))
    check_percent (percent);

  for (gsize i = 0; i < MIN (size, (gsize)64); i++)
    seed = (seed ^ data[i]) * 16777619u;

  progress = chronos_qemu_img_progress_new ();
  if (chronos_qemu_img_progress_get_max (progress) != -1)
    abort ();
  while (offset < size)
    {
      gsize  chunk;
      double now;
      char  *piece;

      seed = seed * 1103515245u + 12345u;
      chunk = MIN ((gsize)(seed >> 16) % 300 + 1, size - offset);
      piece = g_memdup2 (data + offset, chunk);
      percent = -2;
      if (chronos_qemu_img_progress_feed (progress, piece, chunk, &percent))
        check_percent (percent);
      g_free (piece);
      offset += chunk;

      now = chronos_qemu_img_progress_get_max (progress);
      if (now < max || (now != -1 && (isnan (now) || now < 0 || now > 100)))
        abort ();
      max = now;
    }

  return 0;
}
