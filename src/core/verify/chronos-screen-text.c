/* chronos-screen-text.c: reading the words firmware and boot loaders show
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Without OCR the verifier still reads what the guest says in two places:
 * VGA text memory while the guest is in a text mode (SeaBIOS, boot
 * loaders, DOS-era stop screens) and the serial console, where OVMF copies
 * everything it draws. The phrases below are the ones the common firmware
 * and loaders print; they are matched case-insensitively, line by line.
 */

#include "config.h"

#include <string.h>

#include "chronos-screen-text.h"

typedef struct
{
  const char     *phrase;
  ChronosTextClue clue;
} Phrase;

/* Ordered by strength: the first clue class that matches anywhere wins. */
static const Phrase phrases[] = {
  /* SeaBIOS */
  { "no bootable device", CHRONOS_TEXT_CLUE_NO_BOOT_DEVICE },
  { "not a bootable disk", CHRONOS_TEXT_CLUE_NO_BOOT_DEVICE },
  { "boot failed", CHRONOS_TEXT_CLUE_NO_BOOT_DEVICE },
  /* OVMF / EDK II */
  { "no bootable option or device was found", CHRONOS_TEXT_CLUE_NO_BOOT_DEVICE },
  { "uefi interactive shell", CHRONOS_TEXT_CLUE_UEFI_SHELL },
  { "shell>", CHRONOS_TEXT_CLUE_UEFI_SHELL },
  { "boot manager menu", CHRONOS_TEXT_CLUE_UEFI_SHELL },
  /* Loaders that started but found no system */
  { "bootmgr is missing", CHRONOS_TEXT_CLUE_LOADER_ERROR },
  { "bootmgr is compressed", CHRONOS_TEXT_CLUE_LOADER_ERROR },
  { "missing operating system", CHRONOS_TEXT_CLUE_LOADER_ERROR },
  { "operating system not found", CHRONOS_TEXT_CLUE_LOADER_ERROR },
  { "error loading operating system", CHRONOS_TEXT_CLUE_LOADER_ERROR },
  { "invalid partition table", CHRONOS_TEXT_CLUE_LOADER_ERROR },
  { "an operating system wasn't found", CHRONOS_TEXT_CLUE_LOADER_ERROR },
  { "ntldr is missing", CHRONOS_TEXT_CLUE_LOADER_ERROR },
  { "grub rescue>", CHRONOS_TEXT_CLUE_LOADER_ERROR },
  /* Firmware at work */
  { "seabios (version", CHRONOS_TEXT_CLUE_FIRMWARE },
  { "booting from ", CHRONOS_TEXT_CLUE_FIRMWARE },
  { "press esc for boot menu", CHRONOS_TEXT_CLUE_FIRMWARE },
  { "ipxe", CHRONOS_TEXT_CLUE_FIRMWARE },
};

/* Code page 437 is ASCII in 0x20-0x7e; box drawing and the like carry no
 * words and become spaces. */
char *
chronos_vga_text_decode (const guint8 *memory,
                         gsize         len)
{
  GString *text = g_string_new (NULL);
  gsize    cells = len / 2;

  g_return_val_if_fail (memory != NULL || len == 0, NULL);

  for (gsize row = 0; row * CHRONOS_VGA_TEXT_COLUMNS < cells; row++)
    {
      gsize start = text->len;

      for (gsize col = 0; col < CHRONOS_VGA_TEXT_COLUMNS; col++)
        {
          gsize  cell = row * CHRONOS_VGA_TEXT_COLUMNS + col;
          guint8 c;

          if (cell >= cells)
            break;
          c = memory[cell * 2];
          g_string_append_c (text, (c >= 0x20 && c < 0x7f) ? (char)c : ' ');
        }

      while (text->len > start && text->str[text->len - 1] == ' ')
        g_string_truncate (text, text->len - 1);
      g_string_append_c (text, '\n');
    }

  return g_string_free (text, FALSE);
}

char *
chronos_text_strip_ansi (const char *text,
                         gsize       len)
{
  GString *out = g_string_sized_new (len);
  gsize    i = 0;

  g_return_val_if_fail (text != NULL || len == 0, NULL);

  while (i < len)
    {
      char c = text[i];

      if (c == '\033')
        {
          i++;
          if (i < len && text[i] == '[')
            {
              /* CSI: parameters and intermediates up to a final byte 0x40-0x7e. */
              i++;
              while (i < len && !((guchar)text[i] >= 0x40 && (guchar)text[i] <= 0x7e))
                i++;
              i++;
            }
          else if (i < len)
            i++;
          continue;
        }

      if (c == '\r')
        c = '\n';
      if (c == '\0')
        c = ' ';
      g_string_append_c (out, c);
      i++;
    }

  return g_string_free (out, FALSE);
}

ChronosTextClue
chronos_text_find_clue (const char *text,
                        char      **line)
{
  g_autofree char *lower = NULL;

  if (line != NULL)
    *line = NULL;
  if (text == NULL)
    return CHRONOS_TEXT_CLUE_NONE;

  /* ASCII folding keeps byte offsets equal between @text and @lower. */
  lower = g_ascii_strdown (text, -1);

  for (guint i = 0; i < G_N_ELEMENTS (phrases); i++)
    {
      const char *hit = strstr (lower, phrases[i].phrase);

      if (hit == NULL)
        continue;

      if (line != NULL)
        {
          gsize       offset = hit - lower;
          const char *start = text + offset;
          const char *end = text + offset;

          while (start > text && start[-1] != '\n')
            start--;
          while (*end != '\0' && *end != '\n')
            end++;
          *line = g_strstrip (g_strndup (start, end - start));
        }

      return phrases[i].clue;
    }

  return CHRONOS_TEXT_CLUE_NONE;
}
