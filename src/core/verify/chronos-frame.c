/* chronos-frame.c: one screen image of a guest, as RGB pixels
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The verifier samples the screen as PPM, not PNG: QEMU writes PPM with no
 * compression work on either side, and decoding it is a header and a
 * memcpy. PNG (QMP screendump format "png", QEMU >= 7.1) is asked for once,
 * for the final evidence a person looks at; Chronos only needs to check
 * its header, never to decode it.
 */

#include "config.h"

#include <string.h>

#include "chronos-crc.h"
#include "chronos-frame.h"

/* Far beyond any guest display (QEMU's own limit is 16384 x 16384): the
 * bound keeps a hostile header from asking for gigabytes. */
#define MAX_DIMENSION 16384

G_DEFINE_BOXED_TYPE (ChronosFrame, chronos_frame, chronos_frame_copy, chronos_frame_free)

ChronosFrame *
chronos_frame_new (guint width,
                   guint height)
{
  ChronosFrame *frame;

  g_return_val_if_fail (width > 0 && width <= MAX_DIMENSION, NULL);
  g_return_val_if_fail (height > 0 && height <= MAX_DIMENSION, NULL);

  frame = g_new0 (ChronosFrame, 1);
  frame->width = width;
  frame->height = height;
  frame->rgb = g_malloc0 ((gsize)width * height * 3);

  return frame;
}

ChronosFrame *
chronos_frame_copy (const ChronosFrame *frame)
{
  ChronosFrame *copy;

  g_return_val_if_fail (frame != NULL, NULL);

  copy = g_new0 (ChronosFrame, 1);
  copy->width = frame->width;
  copy->height = frame->height;
  copy->rgb = g_memdup2 (frame->rgb, (gsize)frame->width * frame->height * 3);

  return copy;
}

void
chronos_frame_free (ChronosFrame *frame)
{
  if (frame == NULL)
    return;

  g_free (frame->rgb);
  g_free (frame);
}

/* Skips whitespace and '#' comments, then reads a decimal number. */
static gboolean
ppm_read_number (const guint8 *data,
                 gsize         len,
                 gsize        *pos,
                 guint        *value)
{
  guint64 v = 0;
  guint   digits = 0;

  for (;;)
    {
      if (*pos >= len)
        return FALSE;
      if (data[*pos] == '#')
        {
          while (*pos < len && data[*pos] != '\n')
            (*pos)++;
          continue;
        }
      if (!g_ascii_isspace (data[*pos]))
        break;
      (*pos)++;
    }

  while (*pos < len && g_ascii_isdigit (data[*pos]))
    {
      v = v * 10 + (data[*pos] - '0');
      if (++digits > 6)
        return FALSE;
      (*pos)++;
    }

  if (digits == 0)
    return FALSE;

  *value = (guint)v;
  return TRUE;
}

ChronosFrame *
chronos_frame_new_from_ppm (const guint8 *data,
                            gsize         len,
                            GError      **error)
{
  ChronosFrame *frame;
  guint         width, height, maxval;
  gsize         pos = 2;
  gsize         size;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (len < 2 || data[0] != 'P' || data[1] != '6')
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "The screenshot is not a binary PPM image.");
      return NULL;
    }

  if (!ppm_read_number (data, len, &pos, &width) ||
      !ppm_read_number (data, len, &pos, &height) ||
      !ppm_read_number (data, len, &pos, &maxval) ||
      pos >= len || !g_ascii_isspace (data[pos]))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "The screenshot’s PPM header is damaged.");
      return NULL;
    }
  pos++; /* the single whitespace byte before the pixels */

  if (width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION || maxval != 255)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "The screenshot has an unsupported size or depth (%ux%u, maxval %u).",
                   width, height, maxval);
      return NULL;
    }

  size = (gsize)width * height * 3;
  if (len - pos < size)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "The screenshot is truncated.");
      return NULL;
    }

  frame = chronos_frame_new (width, height);
  memcpy (frame->rgb, data + pos, size);

  return frame;
}

ChronosFrame *
chronos_frame_load_ppm (const char *path,
                        GError    **error)
{
  g_autoptr (GMappedFile) mapped = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  mapped = g_mapped_file_new (path, FALSE, error);
  if (mapped == NULL)
    return NULL;

  return chronos_frame_new_from_ppm ((const guint8 *)g_mapped_file_get_contents (mapped),
                                     g_mapped_file_get_length (mapped), error);
}

GBytes *
chronos_frame_to_ppm (const ChronosFrame *frame)
{
  g_autofree char *header = NULL;
  gsize            size;
  guint8          *buf;
  gsize            header_len;

  g_return_val_if_fail (frame != NULL, NULL);

  header = g_strdup_printf ("P6\n%u %u\n255\n", frame->width, frame->height);
  header_len = strlen (header);
  size = (gsize)frame->width * frame->height * 3;
  buf = g_malloc (header_len + size);
  memcpy (buf, header, header_len);
  memcpy (buf + header_len, frame->rgb, size);

  return g_bytes_new_take (buf, header_len + size);
}

static void
append_be32 (GByteArray *array,
             guint32     value)
{
  guint8 b[4] = { value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff };

  g_byte_array_append (array, b, 4);
}

static void
append_chunk (GByteArray   *png,
              const char   *type,
              const guint8 *data,
              gsize         len)
{
  guint32 crc;

  append_be32 (png, (guint32)len);
  g_byte_array_append (png, (const guint8 *)type, 4);
  if (len > 0)
    g_byte_array_append (png, data, len);
  crc = chronos_crc32 (0, type, 4);
  crc = chronos_crc32 (crc, data, len);
  append_be32 (png, crc);
}

GBytes *
chronos_frame_to_png (const ChronosFrame *frame,
                      GError            **error)
{
  static const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  g_autoptr (GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 6);
  g_autoptr (GByteArray) raw = NULL;
  g_autoptr (GByteArray) idat = g_byte_array_new ();
  g_autoptr (GByteArray) png = g_byte_array_new ();
  gsize  row_len;
  gsize  in_pos = 0;
  guint8 ihdr[13];
  guint8 out[64 * 1024];

  g_return_val_if_fail (frame != NULL, NULL);

  /* Every row starts with its filter type; 0 (none) keeps this simple and
   * zlib still shrinks a screen of text to a few kilobytes. */
  row_len = (gsize)frame->width * 3;
  raw = g_byte_array_sized_new ((row_len + 1) * frame->height);
  for (guint y = 0; y < frame->height; y++)
    {
      guint8 filter = 0;

      g_byte_array_append (raw, &filter, 1);
      g_byte_array_append (raw, frame->rgb + y * row_len, row_len);
    }

  for (;;)
    {
      gsize            read = 0, written = 0;
      GConverterResult res;

      res = g_converter_convert (G_CONVERTER (compressor), raw->data + in_pos, raw->len - in_pos,
                                 out, sizeof out, G_CONVERTER_INPUT_AT_END, &read, &written, error);
      if (res == G_CONVERTER_ERROR)
        return NULL;
      in_pos += read;
      g_byte_array_append (idat, out, written);
      if (res == G_CONVERTER_FINISHED)
        break;
    }

  g_byte_array_append (png, signature, sizeof signature);
  ihdr[0] = frame->width >> 24;
  ihdr[1] = (frame->width >> 16) & 0xff;
  ihdr[2] = (frame->width >> 8) & 0xff;
  ihdr[3] = frame->width & 0xff;
  ihdr[4] = frame->height >> 24;
  ihdr[5] = (frame->height >> 16) & 0xff;
  ihdr[6] = (frame->height >> 8) & 0xff;
  ihdr[7] = frame->height & 0xff;
  ihdr[8] = 8;  /* bit depth */
  ihdr[9] = 2;  /* colour type: RGB */
  ihdr[10] = 0; /* deflate */
  ihdr[11] = 0; /* adaptive filtering */
  ihdr[12] = 0; /* no interlace */
  append_chunk (png, "IHDR", ihdr, sizeof ihdr);
  append_chunk (png, "IDAT", idat->data, idat->len);
  append_chunk (png, "IEND", NULL, 0);

  return g_byte_array_free_to_bytes (g_steal_pointer (&png));
}

static guint32
read_be32 (const guint8 *p)
{
  return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
}

gboolean
chronos_png_get_size (const guint8 *data,
                      gsize         len,
                      guint        *width,
                      guint        *height)
{
  static const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  guint32             w, h;

  /* Signature, then the IHDR chunk: length 13, "IHDR", 13 bytes, CRC over
   * type and data. */
  if (data == NULL || len < 8 + 8 + 13 + 4)
    return FALSE;
  if (memcmp (data, signature, 8) != 0)
    return FALSE;
  if (read_be32 (data + 8) != 13 || memcmp (data + 12, "IHDR", 4) != 0)
    return FALSE;
  if (chronos_crc32 (0, data + 12, 4 + 13) != read_be32 (data + 12 + 4 + 13))
    return FALSE;

  w = read_be32 (data + 16);
  h = read_be32 (data + 20);
  if (w == 0 || h == 0 || w > MAX_DIMENSION || h > MAX_DIMENSION)
    return FALSE;

  if (width != NULL)
    *width = w;
  if (height != NULL)
    *height = h;

  return TRUE;
}
