/* chronos-screen.h: what a screenshot shows, measured cheaply
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include "chronos-frame.h"

G_BEGIN_DECLS

/* The signature is the mean brightness of a 32 x 32 grid of cells: fine
 * enough that a boot spinner (a few dots moving in a 1024 x 768 logo
 * screen) changes its cell clearly, coarse enough that a blinking text
 * cursor does not. */
#define CHRONOS_SCREEN_GRID 32

/* SeaBIOS and the VGA text modes render 80 x 25 cells of 9 x 16 pixels. */
#define CHRONOS_SCREEN_TEXT_WIDTH 720
#define CHRONOS_SCREEN_TEXT_HEIGHT 400

typedef struct
{
  guint width;
  guint height;
  /* Share of pixels that are dark (luminance below 40). */
  double dark_fraction;
  /* Share of pixels in the most common colour (4 bits per channel). */
  double  dominant_fraction;
  guint32 dominant_rgb; /* 0xRRGGBB, centre of that colour's bin */
  /* Share of pixels in a stop-screen blue (Windows 0x0078D7, VGA 0x0000AA). */
  double stop_blue_fraction;
  /* Share of bright, near-white pixels (text on a stop screen). */
  double   white_fraction;
  gboolean blank;       /* nearly all one dark colour */
  gboolean uniform;     /* nearly all one colour, whatever it is */
  gboolean stop_screen; /* a flat stop-screen blue with white text on it */
  gboolean text_mode;   /* 720 x 400: a VGA text mode */
  /* QEMU's own 640 x 480 stand-in ("Guest has not initialized the display
   * (yet).", "Display output is not active."): one centred line on black.
   * Counted as blank: the guest has shown nothing yet. */
  gboolean placeholder;
  guint8   signature[CHRONOS_SCREEN_GRID * CHRONOS_SCREEN_GRID];
} ChronosScreenFacts;

/* Pure and quick (one pass over the pixels). */
void chronos_screen_analyze (const ChronosFrame *frame,
                             ChronosScreenFacts *facts);
/* The largest difference in brightness between two signatures' cells
 * (0-255); G_MAXUINT when the sizes differ. */
guint chronos_screen_distance (const ChronosScreenFacts *a,
                               const ChronosScreenFacts *b);
/* TRUE when @b looks like the same screen as @a: same size and no cell
 * changed by more than a blinking cursor would. */
gboolean chronos_screen_same (const ChronosScreenFacts *a,
                              const ChronosScreenFacts *b);
/* TRUE for a stop-screen blue: near 0x0078D7 (Windows 8 to 11), near
 * 0x0000AA (VGA blue, the classic one) or 0x000080 (Windows NT). */
gboolean chronos_screen_is_stop_blue (guint8 r,
                                      guint8 g,
                                      guint8 b);

G_END_DECLS
