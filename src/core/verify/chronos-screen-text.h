/* chronos-screen-text.h: reading the words firmware and boot loaders show
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* VGA text memory: 80 x 25 cells of (character, attribute) at 0xB8000. */
#define CHRONOS_VGA_TEXT_ADDRESS 0xb8000
#define CHRONOS_VGA_TEXT_COLUMNS 80
#define CHRONOS_VGA_TEXT_ROWS 25
#define CHRONOS_VGA_TEXT_SIZE (CHRONOS_VGA_TEXT_COLUMNS * CHRONOS_VGA_TEXT_ROWS * 2)

/* What a piece of screen or serial text says about the boot. */
typedef enum
{
  CHRONOS_TEXT_CLUE_NONE,
  /* The firmware is still at work: its banner or "Booting from ...". The
   * screen may be stable, but nothing has booted yet. */
  CHRONOS_TEXT_CLUE_FIRMWARE,
  /* The firmware found nothing to boot ("No bootable device", "Boot
   * failed: not a bootable disk", "No bootable option or device"). */
  CHRONOS_TEXT_CLUE_NO_BOOT_DEVICE,
  /* The UEFI firmware gave up and started its shell or boot manager. */
  CHRONOS_TEXT_CLUE_UEFI_SHELL,
  /* A boot loader ran but could not find its system ("BOOTMGR is missing",
   * "Missing operating system", "grub rescue>"). */
  CHRONOS_TEXT_CLUE_LOADER_ERROR,
} ChronosTextClue;

/* Turns VGA text memory (character, attribute pairs, code page 437) into
 * rows of UTF-8 text separated by '\n', trailing spaces removed. Characters
 * outside printable ASCII become spaces. Pure. */
char *chronos_vga_text_decode (const guint8 *memory,
                               gsize         len);
/* Removes ANSI escape sequences and carriage returns (UEFI firmware draws
 * its serial console with them). Pure. */
char *chronos_text_strip_ansi (const char *text,
                               gsize       len);
/* The strongest clue in @text (failures beat firmware progress); the line
 * that gave it in @line (trimmed) when not NULL. Case-insensitive. Pure. */
ChronosTextClue chronos_text_find_clue (const char *text,
                                        char      **line);

G_END_DECLS
