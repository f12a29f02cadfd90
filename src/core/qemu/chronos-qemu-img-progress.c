/* chronos-qemu-img-progress.c: parses the progress that `qemu-img convert -p` prints
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qemu-img redraws its progress as "    (12.34/100%)\r" on stdout, also into
 * a pipe, so the stream is a sequence of \r-terminated records with the odd
 * \n in between. The parser is written by hand rather than with sscanf or
 * strtod so that it never depends on the locale, never reads past @len and
 * can be fuzzed as a pure function.
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include "chronos-qemu-img-progress.h"

struct _ChronosQemuImgProgress
{
  char  line[CHRONOS_QEMU_IMG_PROGRESS_MAX_LINE];
  gsize len;
  /* The current line has grown past the buffer: ignore it to its end. */
  gboolean overflow;
  double   max;
};

static gboolean
is_blank (char c)
{
  return c == ' ' || c == '\t';
}

gboolean
chronos_qemu_img_progress_parse_line (const char *line,
                                      gsize       len,
                                      double     *percent)
{
  static const char tail[] = "/100%)";
  gsize             i = 0;
  double            value = 0.0;
  double            scale = 1.0;
  guint             digits = 0;

  g_return_val_if_fail (line != NULL || len == 0, FALSE);

  while (i < len && is_blank (line[i]))
    i++;

  if (i >= len || line[i] != '(')
    return FALSE;
  i++;

  /* Integer part: at most three digits, 100 is the largest value. */
  while (i < len && g_ascii_isdigit (line[i]))
    {
      if (++digits > 3)
        return FALSE;
      value = value * 10.0 + (line[i] - '0');
      i++;
    }
  if (digits == 0)
    return FALSE;

  /* Fraction: qemu-img prints two digits; accept a comma in case a locale
   * ever reaches its printf. */
  if (i < len && (line[i] == '.' || line[i] == ','))
    {
      guint fraction_digits = 0;

      i++;
      while (i < len && g_ascii_isdigit (line[i]))
        {
          if (++fraction_digits > 6)
            return FALSE;
          scale /= 10.0;
          value += (line[i] - '0') * scale;
          i++;
        }
      if (fraction_digits == 0)
        return FALSE;
    }

  if (len - i < sizeof tail - 1 || memcmp (line + i, tail, sizeof tail - 1) != 0)
    return FALSE;
  i += sizeof tail - 1;

  while (i < len && is_blank (line[i]))
    i++;
  if (i != len)
    return FALSE;

  if (!(value >= 0.0 && value <= 100.0))
    return FALSE;

  if (percent != NULL)
    *percent = value;

  return TRUE;
}

ChronosQemuImgProgress *
chronos_qemu_img_progress_new (void)
{
  ChronosQemuImgProgress *self = g_new0 (ChronosQemuImgProgress, 1);

  self->max = -1.0;

  return self;
}

void
chronos_qemu_img_progress_free (ChronosQemuImgProgress *self)
{
  g_free (self);
}

double
chronos_qemu_img_progress_get_max (ChronosQemuImgProgress *self)
{
  g_return_val_if_fail (self != NULL, -1.0);

  return self->max;
}

static gboolean
end_line (ChronosQemuImgProgress *self,
          double                 *percent)
{
  gboolean found = FALSE;
  double   value;

  if (!self->overflow && self->len > 0 &&
      chronos_qemu_img_progress_parse_line (self->line, self->len, &value))
    {
      *percent = value;
      self->max = MAX (self->max, value);
      found = TRUE;
    }

  self->len = 0;
  self->overflow = FALSE;

  return found;
}

gboolean
chronos_qemu_img_progress_feed (ChronosQemuImgProgress *self,
                                const char             *data,
                                gsize                   len,
                                double                 *percent)
{
  gboolean found = FALSE;
  double   latest = -1.0;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  for (gsize i = 0; i < len; i++)
    {
      char c = data[i];

      /* \r\n ends one line, not two: the empty line between is harmless. */
      if (c == '\r' || c == '\n')
        {
          if (end_line (self, &latest))
            found = TRUE;
          continue;
        }

      if (self->overflow)
        continue;

      if (self->len == sizeof self->line)
        {
          self->overflow = TRUE;
          continue;
        }

      self->line[self->len++] = c;
    }

  if (found && percent != NULL)
    *percent = latest;

  return found;
}
