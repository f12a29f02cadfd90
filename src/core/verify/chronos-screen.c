/* chronos-screen.c: what a screenshot shows, measured cheaply
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The verifier needs only coarse facts about a frame: is it black, is it a
 * stop screen, did it change since the last one. All of them come from a
 * single pass over the pixels with a colour histogram and a 32 x 32 grid
 * of mean brightness (a cheap perceptual signature: a blinking cursor
 * moves a cell by a few levels, a new line of text or a changed picture by
 * far more).
 */

#include "config.h"

#include <string.h>

#include "chronos-screen.h"

#define DARK_LUMA 40
#define DARK_CHANNEL 48
#define LIT_LUMA 80
#define WHITE_MIN 176
/* "Nearly all" one dark colour: room for a blinking cursor (18 pixels of a
 * 720 x 400 text screen) but not for one line of text, which on a 1280 x 800
 * UEFI console is only 0.15 % of the pixels. */
#define BLANK_FRACTION 0.9995
#define UNIFORM_FRACTION 0.98
/* A stop screen is mostly one flat blue with some white text on it; a
 * wallpaper in a similar blue is a gradient and never reaches this share
 * in one colour bin. */
#define STOP_BLUE_FRACTION 0.60
#define STOP_WHITE_FRACTION 0.002
/* A cell brightness change up to this counts as "the same screen": a grey
 * text cursor (18 pixels) in a 22.5 x 12.5 pixel cell of a 720 x 400 text
 * screen moves it by about 11; a new line of text by 50 and more, a dot of
 * a boot spinner in a 32 x 24 cell of a 1024 x 768 screen by 20-40. */
#define SAME_THRESHOLD 16

static inline guint
luma (guint r,
      guint g,
      guint b)
{
  /* Rec. 601 weights in integers. */
  return (r * 299 + g * 587 + b * 114) / 1000;
}

static inline guint
absdiff (guint a,
         guint b)
{
  return a > b ? a - b : b - a;
}

gboolean
chronos_screen_is_stop_blue (guint8 r,
                             guint8 g,
                             guint8 b)
{
  /* Windows 8-11: 0x0078D7 (and the near 0x1073A8 / 0x2067B2 variants). */
  if (r <= 0x30 && absdiff (g, 0x74) <= 0x1c && b >= 0xa0 && b <= 0xe8)
    return TRUE;
  /* VGA blue 0x0000AA (text attribute 1), and Windows NT's 0x000080. */
  if (r <= 0x20 && g <= 0x20 && b >= 0x78 && b <= 0xc0)
    return TRUE;
  return FALSE;
}

void
chronos_screen_analyze (const ChronosFrame *frame,
                        ChronosScreenFacts *facts)
{
  g_autofree guint32 *histogram = g_new0 (guint32, 4096);
  guint64             cell_sum[CHRONOS_SCREEN_GRID * CHRONOS_SCREEN_GRID] = { 0 };
  guint64             cell_count[CHRONOS_SCREEN_GRID * CHRONOS_SCREEN_GRID] = { 0 };
  guint64             dark = 0, blue = 0, white = 0, lit = 0;
  guint               lit_top = G_MAXUINT, lit_bottom = 0;
  guint64             total;
  guint               best = 0;

  g_return_if_fail (frame != NULL && frame->rgb != NULL);
  g_return_if_fail (facts != NULL);

  memset (facts, 0, sizeof *facts);
  facts->width = frame->width;
  facts->height = frame->height;
  total = (guint64)frame->width * frame->height;

  for (guint y = 0; y < frame->height; y++)
    {
      const guint8 *row = frame->rgb + (gsize)y * frame->width * 3;
      guint         cy = y * CHRONOS_SCREEN_GRID / frame->height;

      for (guint x = 0; x < frame->width; x++)
        {
          guint r = row[x * 3], g = row[x * 3 + 1], b = row[x * 3 + 2];
          guint l = luma (r, g, b);
          guint cell = cy * CHRONOS_SCREEN_GRID + x * CHRONOS_SCREEN_GRID / frame->width;

          histogram[((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4)]++;
          cell_sum[cell] += l;
          cell_count[cell]++;
          if (l < DARK_LUMA)
            dark++;
          else if (l >= LIT_LUMA)
            {
              lit++;
              lit_top = MIN (lit_top, y);
              lit_bottom = MAX (lit_bottom, y);
            }
          if (r >= WHITE_MIN && g >= WHITE_MIN && b >= WHITE_MIN)
            white++;
          if (chronos_screen_is_stop_blue (r, g, b))
            blue++;
        }
    }

  for (guint i = 1; i < 4096; i++)
    if (histogram[i] > histogram[best])
      best = i;

  facts->dark_fraction = (double)dark / total;
  facts->white_fraction = (double)white / total;
  facts->stop_blue_fraction = (double)blue / total;
  facts->dominant_fraction = (double)histogram[best] / total;
  facts->dominant_rgb = (((best >> 8) & 0xf) * 17) << 16 | (((best >> 4) & 0xf) * 17) << 8 | ((best & 0xf) * 17);

  for (guint i = 0; i < G_N_ELEMENTS (facts->signature); i++)
    facts->signature[i] = cell_count[i] ? (guint8)(cell_sum[i] / cell_count[i]) : 0;

  facts->uniform = facts->dominant_fraction >= UNIFORM_FRACTION;
  /* Dark means no channel is lit: a navy or VGA-blue screen has a low
   * luminance but is a colour a person sees, not a black screen. */
  facts->blank = facts->dominant_fraction >= BLANK_FRACTION &&
                 MAX (MAX ((facts->dominant_rgb >> 16) & 0xff, (facts->dominant_rgb >> 8) & 0xff),
                      facts->dominant_rgb & 0xff) < DARK_CHANNEL;
  {
    guint8 dr = (facts->dominant_rgb >> 16) & 0xff;
    guint8 dg = (facts->dominant_rgb >> 8) & 0xff;
    guint8 db = facts->dominant_rgb & 0xff;

    /* The bin centre can sit just outside the blue ranges: judge the blue
     * share itself, and require that the blue is the dominant colour. */
    facts->stop_screen = facts->stop_blue_fraction >= STOP_BLUE_FRACTION &&
                         facts->dominant_fraction >= STOP_BLUE_FRACTION &&
                         db > dr && db > dg &&
                         facts->white_fraction >= STOP_WHITE_FRACTION;
  }
  facts->text_mode = frame->width == CHRONOS_SCREEN_TEXT_WIDTH &&
                     frame->height == CHRONOS_SCREEN_TEXT_HEIGHT;

  /* QEMU draws its stand-in with the 8 x 16 VGA font on row 14 of 30 of a
   * 640 x 480 surface (y 224-239). A guest that shows exactly that is at
   * worst judged a little later. */
  facts->placeholder = frame->width == 640 && frame->height == 480 && lit > 0 &&
                       lit_top >= 216 && lit_bottom <= 247 && facts->dark_fraction >= 0.98;
  if (facts->placeholder)
    facts->blank = TRUE;
}

guint
chronos_screen_distance (const ChronosScreenFacts *a,
                         const ChronosScreenFacts *b)
{
  guint worst = 0;

  g_return_val_if_fail (a != NULL && b != NULL, G_MAXUINT);

  if (a->width != b->width || a->height != b->height)
    return G_MAXUINT;

  for (guint i = 0; i < G_N_ELEMENTS (a->signature); i++)
    worst = MAX (worst, absdiff (a->signature[i], b->signature[i]));

  return worst;
}

gboolean
chronos_screen_same (const ChronosScreenFacts *a,
                     const ChronosScreenFacts *b)
{
  return chronos_screen_distance (a, b) <= SAME_THRESHOLD;
}
