/* test-screen.c: screen analysis, frames and screen text, without QEMU
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <string.h>

#include "chronos-frame.h"
#include "chronos-screen.h"
#include "chronos-screen-text.h"

static void
fill (ChronosFrame *frame,
      guint         x0,
      guint         y0,
      guint         w,
      guint         h,
      guint32       rgb)
{
  for (guint y = y0; y < y0 + h && y < frame->height; y++)
    for (guint x = x0; x < x0 + w && x < frame->width; x++)
      {
        guint8 *p = frame->rgb + ((gsize)y * frame->width + x) * 3;
        p[0] = rgb >> 16;
        p[1] = (rgb >> 8) & 0xff;
        p[2] = rgb & 0xff;
      }
}

/* Fake text: rows of 9x16 cells, each "character" a 6x10 block lit in its cell. */
static void
text_line (ChronosFrame *frame,
           guint         row,
           guint         chars,
           guint32       rgb)
{
  for (guint c = 0; c < chars; c++)
    fill (frame, c * 9 + 1, row * 16 + 3, 6, 10, rgb);
}

static ChronosFrame *
analyze_new (guint               w,
             guint               h,
             guint32             background,
             ChronosScreenFacts *facts)
{
  ChronosFrame *frame = chronos_frame_new (w, h);

  fill (frame, 0, 0, w, h, background);
  chronos_screen_analyze (frame, facts);
  return frame;
}

static void
test_black (void)
{
  ChronosScreenFacts facts, cursor_facts;
  g_autoptr (ChronosFrame) frame = analyze_new (720, 400, 0x000000, &facts);

  g_assert_true (facts.blank);
  g_assert_true (facts.uniform);
  g_assert_false (facts.stop_screen);
  g_assert_true (facts.text_mode);
  g_assert_cmpfloat (facts.dark_fraction, ==, 1.0);

  /* A blinking cursor keeps the screen blank and the same. */
  fill (frame, 0, 14, 9, 2, 0xaaaaaa);
  chronos_screen_analyze (frame, &cursor_facts);
  g_assert_true (cursor_facts.blank);
  g_assert_true (chronos_screen_same (&facts, &cursor_facts));
}

static void
test_text_screen (void)
{
  ChronosScreenFacts empty, one, two;
  g_autoptr (ChronosFrame) frame = analyze_new (720, 400, 0x000000, &empty);

  text_line (frame, 0, 33, 0xffffff);
  chronos_screen_analyze (frame, &one);
  g_assert_false (one.blank);
  g_assert_false (one.stop_screen);
  g_assert_true (one.uniform); /* one line on black: one colour dominates */
  g_assert_false (chronos_screen_same (&empty, &one));

  /* One more line of text is a change, not the same screen. */
  text_line (frame, 2, 60, 0xaaaaaa);
  chronos_screen_analyze (frame, &two);
  g_assert_false (two.blank);
  g_assert_false (chronos_screen_same (&one, &two));
  g_assert_true (chronos_screen_same (&two, &two));
}

static void
test_stop_screen (void)
{
  static const guint32 blues[] = { 0x0000aa, 0x0078d7, 0x000080 };

  for (guint i = 0; i < G_N_ELEMENTS (blues); i++)
    {
      ChronosScreenFacts bare, texted;
      g_autoptr (ChronosFrame) frame = analyze_new (1024, 768, blues[i], &bare);

      g_test_message ("blue 0x%06x", blues[i]);
      /* A flat blue without text is uniform but no stop screen. */
      g_assert_false (bare.stop_screen);
      g_assert_true (bare.uniform);
      g_assert_false (bare.blank);

      for (guint row = 4; row < 30; row += 3)
        text_line (frame, row, 60, 0xffffff);
      chronos_screen_analyze (frame, &texted);
      g_assert_cmpfloat (texted.stop_blue_fraction, >, 0.6);
      g_assert_cmpfloat (texted.white_fraction, >, 0.002);
      g_assert_true (texted.stop_screen);
      g_assert_false (texted.text_mode);
    }
}

static void
test_blue_gradient_is_not_a_stop_screen (void)
{
  /* A blue wallpaper with white text (a login screen) spreads over many
   * colour bins: no single flat blue dominates. */
  ChronosScreenFacts facts;
  g_autoptr (ChronosFrame) frame = chronos_frame_new (800, 600);

  for (guint y = 0; y < 600; y++)
    fill (frame, 0, y, 800, 1, (guint32)((y * 0x30 / 600) << 8 | (0x90 + y * 0x60 / 600)));
  for (guint row = 20; row < 25; row++)
    text_line (frame, row, 30, 0xffffff);
  chronos_screen_analyze (frame, &facts);
  g_assert_false (facts.stop_screen);
  g_assert_false (facts.blank);
}

static void
test_one_line_on_a_big_screen (void)
{
  /* The UEFI guest: one line of text on a 1280 x 800 black console is a
   * screen, not a black one. */
  ChronosScreenFacts facts;
  g_autoptr (ChronosFrame) frame = chronos_frame_new (1280, 800);

  for (guint c = 0; c < 33; c++)
    fill (frame, c * 8 + 1, 3, 5, 9, 0xffffff);
  chronos_screen_analyze (frame, &facts);
  g_assert_false (facts.blank);
  g_assert_true (facts.uniform);
}

static void
test_qemu_placeholder (void)
{
  /* "Guest has not initialized the display (yet)." as QEMU draws it: 45
   * characters of the 8 x 16 font, centred, on row 14 (y 224). */
  ChronosScreenFacts facts, other;
  g_autoptr (ChronosFrame) frame = chronos_frame_new (640, 480);
  g_autoptr (ChronosFrame) guest = chronos_frame_new (640, 480);

  for (guint c = 0; c < 45; c++)
    fill (frame, 140 + c * 8 + 1, 224 + 3, 5, 10, 0xaaaaaa);
  chronos_screen_analyze (frame, &facts);
  g_assert_true (facts.placeholder);
  g_assert_true (facts.blank);

  /* A guest's own 640 x 480 screen with text at the top is a screen. */
  for (guint c = 0; c < 45; c++)
    fill (guest, 8 + c * 8 + 1, 3, 5, 10, 0xaaaaaa);
  chronos_screen_analyze (guest, &other);
  g_assert_false (other.placeholder);
  g_assert_false (other.blank);
}

static void
test_spinner_is_a_change (void)
{
  /* A boot logo with a spinner: six 6x6 dots on a 40 px circle that move
   * between two samples. A screen that still spins has not settled. */
  ChronosScreenFacts a, b;
  g_autoptr (ChronosFrame) fa = chronos_frame_new (1024, 768);
  g_autoptr (ChronosFrame) fb = chronos_frame_new (1024, 768);
  static const int ring[12][2] = { { 20, 0 }, { 17, 10 }, { 10, 17 }, { 0, 20 }, { -10, 17 }, { -17, 10 }, { -20, 0 }, { -17, -10 }, { -10, -17 }, { 0, -20 }, { 10, -17 }, { 17, -10 } };

  fill (fa, 448, 250, 128, 128, 0x1e90ff);
  fill (fb, 448, 250, 128, 128, 0x1e90ff);
  for (guint i = 0; i < 6; i++)
    {
      fill (fa, 512 + ring[i][0] - 3, 550 + ring[i][1] - 3, 6, 6, 0xffffff);
      fill (fb, 512 + ring[i + 4][0] - 3, 550 + ring[i + 4][1] - 3, 6, 6, 0xffffff);
    }
  chronos_screen_analyze (fa, &a);
  chronos_screen_analyze (fb, &b);
  g_test_message ("spinner distance %u", chronos_screen_distance (&a, &b));
  g_assert_false (chronos_screen_same (&a, &b));
  g_assert_false (a.blank);
}

static void
test_uniform_bright (void)
{
  ChronosScreenFacts facts;
  g_autoptr (ChronosFrame) frame = analyze_new (640, 480, 0xf0f0f0, &facts);

  g_assert_true (facts.uniform);
  g_assert_false (facts.blank);
  g_assert_false (facts.stop_screen);
}

static void
test_size_change (void)
{
  ChronosScreenFacts a, b;
  g_autoptr (ChronosFrame) fa = analyze_new (720, 400, 0, &a);
  g_autoptr (ChronosFrame) fb = analyze_new (640, 480, 0, &b);

  g_assert_cmpuint (chronos_screen_distance (&a, &b), ==, G_MAXUINT);
  g_assert_false (chronos_screen_same (&a, &b));
}

static void
test_ppm (void)
{
  g_autoptr (ChronosFrame) frame = chronos_frame_new (3, 2);
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (ChronosFrame) back = NULL;
  g_autoptr (GError) error = NULL;
  const char *commented = "P6\n# a comment\n2 1\n255\n\x01\x02\x03\x04\x05\x06";
  g_autoptr (ChronosFrame) c = NULL;
  static const char *bad[] = {
    "",
    "P5\n1 1\n255\n\0\0\0",
    "P6\n",
    "P6\n1 1\n65535\n\0\0\0\0\0\0",
    "P6\n0 1\n255\n",
    "P6\n99999999 1\n255\n",
    "P6\n2 2\n255\n\0\0\0",
    "P6\n1 1\n255",
    "P6 x 1 255 ",
  };

  fill (frame, 1, 1, 1, 1, 0x123456);
  bytes = chronos_frame_to_ppm (frame);
  back = chronos_frame_new_from_ppm (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->width, ==, 3);
  g_assert_cmpuint (back->height, ==, 2);
  g_assert_cmpmem (back->rgb, 18, frame->rgb, 18);

  c = chronos_frame_new_from_ppm ((const guint8 *)commented, strlen (commented) + 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (c->width, ==, 2);
  g_assert_cmpuint (c->rgb[5], ==, 6);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      gsize         len = i == 1 ? 14 : (i == 3 ? 22 : strlen (bad[i]));
      ChronosFrame *f = chronos_frame_new_from_ppm ((const guint8 *)bad[i], len, &error);

      g_test_message ("bad ppm %u", i);
      g_assert_null (f);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_clear_error (&error);
    }
}

static void
test_png_size (void)
{
  /* The canonical 1x1 RGBA PNG. */
  static const guint8 png[] = {
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
    0x00,
    0x00,
    0x00,
    0x0d,
    0x49,
    0x48,
    0x44,
    0x52,
    0x00,
    0x00,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x01,
    0x08,
    0x06,
    0x00,
    0x00,
    0x00,
    0x1f,
    0x15,
    0xc4,
    0x89,
  };
  guint8 broken[sizeof png];
  guint  w = 0, h = 0;

  g_assert_true (chronos_png_get_size (png, sizeof png, &w, &h));
  g_assert_cmpuint (w, ==, 1);
  g_assert_cmpuint (h, ==, 1);

  memcpy (broken, png, sizeof png);
  broken[19] = 2; /* width changed, CRC no longer matches */
  g_assert_false (chronos_png_get_size (broken, sizeof broken, &w, &h));
  g_assert_false (chronos_png_get_size (png, sizeof png - 1, &w, &h));
  g_assert_false (chronos_png_get_size ((const guint8 *)"P6\n1 1\n255\n", 11, &w, &h));
}

static void
test_png_encode (void)
{
  g_autoptr (ChronosFrame) frame = chronos_frame_new (17, 5);
  g_autoptr (GBytes) png = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GZlibDecompressor) inflater = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB);
  const guint8 *data;
  gsize         len, idat_len;
  guint         w = 0, h = 0;
  guint8        raw[(17 * 3 + 1) * 5 + 16];
  gsize         read = 0, written = 0;

  fill (frame, 3, 1, 5, 2, 0xff8000);
  png = chronos_frame_to_png (frame, &error);
  g_assert_no_error (error);
  data = g_bytes_get_data (png, &len);
  g_assert_true (chronos_png_get_size (data, len, &w, &h));
  g_assert_cmpuint (w, ==, 17);
  g_assert_cmpuint (h, ==, 5);

  /* IDAT follows IHDR (8 + 25 bytes); it inflates to filter byte + row. */
  g_assert_cmpmem (data + 33 + 4, 4, "IDAT", 4);
  idat_len = (gsize)data[33] << 24 | data[34] << 16 | data[35] << 8 | data[36];
  g_assert_cmpint (g_converter_convert (G_CONVERTER (inflater), data + 41, idat_len, raw, sizeof raw,
                                        G_CONVERTER_INPUT_AT_END, &read, &written, &error),
                   ==, G_CONVERTER_FINISHED);
  g_assert_no_error (error);
  g_assert_cmpuint (written, ==, (17 * 3 + 1) * 5);
  for (guint y = 0; y < 5; y++)
    {
      g_assert_cmpuint (raw[y * 52], ==, 0);
      g_assert_cmpmem (raw + y * 52 + 1, 51, frame->rgb + y * 51, 51);
    }
  /* Ends with IEND and its fixed CRC. */
  g_assert_cmpmem (data + len - 8, 8, "IEND\xae\x42\x60\x82", 8);
}

static void
put_text (guint8     *mem,
          guint       row,
          guint       col,
          const char *s)
{
  for (guint i = 0; s[i]; i++)
    {
      mem[(row * 80 + col + i) * 2] = s[i];
      mem[(row * 80 + col + i) * 2 + 1] = 0x07;
    }
}

static void
test_vga_text (void)
{
  guint8           mem[CHRONOS_VGA_TEXT_SIZE];
  g_autofree char *text = NULL;
  g_autofree char *line = NULL;
  g_auto (GStrv) rows = NULL;

  for (guint i = 0; i < sizeof mem; i += 2)
    {
      mem[i] = ' ';
      mem[i + 1] = 0x07;
    }
  put_text (mem, 0, 0, "SeaBIOS (version 1.16.2-debian-1.16.2-1)");
  put_text (mem, 3, 0, "Booting from Hard Disk...");
  mem[4 * 160] = 0xdb; /* a CP437 block: not a word */
  put_text (mem, 5, 0, "Boot failed: not a bootable disk");
  put_text (mem, 7, 0, "No bootable device.");

  text = chronos_vga_text_decode (mem, sizeof mem);
  rows = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (rows), ==, 26); /* 25 rows and the final "" */
  g_assert_cmpstr (rows[0], ==, "SeaBIOS (version 1.16.2-debian-1.16.2-1)");
  g_assert_cmpstr (rows[1], ==, "");
  g_assert_cmpstr (rows[4], ==, "");

  g_assert_cmpint (chronos_text_find_clue (text, &line), ==, CHRONOS_TEXT_CLUE_NO_BOOT_DEVICE);
  g_assert_cmpstr (line, ==, "No bootable device.");

  /* Odd lengths are cut to whole cells and short memory gives fewer rows. */
  g_free (text);
  text = chronos_vga_text_decode (mem, 161);
  g_assert_cmpstr (text, ==, "SeaBIOS (version 1.16.2-debian-1.16.2-1)\n");
}

static void
test_clues (void)
{
  static const struct
  {
    const char     *text;
    ChronosTextClue clue;
    const char     *line;
  } cases[] = {
    { "SeaBIOS (version 1.16.2)\n\nBooting from Hard Disk...\n", CHRONOS_TEXT_CLUE_FIRMWARE, "SeaBIOS (version 1.16.2)" },
    { "CHRONOS-GUEST bios-hello: booted\nPress the ACPI power button\n", CHRONOS_TEXT_CLUE_NONE, NULL },
    { "Booting from Hard Disk...\nBoot failed: not a bootable disk\n", CHRONOS_TEXT_CLUE_NO_BOOT_DEVICE, "Boot failed: not a bootable disk" },
    { "BOOTMGR is missing\nPress Ctrl+Alt+Del to restart\n", CHRONOS_TEXT_CLUE_LOADER_ERROR, "BOOTMGR is missing" },
    { "error: no such partition.\nEntering rescue mode...\ngrub rescue> ", CHRONOS_TEXT_CLUE_LOADER_ERROR, "grub rescue>" },
    { "", CHRONOS_TEXT_CLUE_NONE, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *line = NULL;

      g_test_message ("clue case %u", i);
      g_assert_cmpint (chronos_text_find_clue (cases[i].text, &line), ==, cases[i].clue);
      g_assert_cmpstr (line, ==, cases[i].line);
    }

  g_assert_cmpint (chronos_text_find_clue (NULL, NULL), ==, CHRONOS_TEXT_CLUE_NONE);
}

static void
test_ovmf_serial (void)
{
  /* What OVMF writes on serial with no bootable disk (QEMU 7.2, Debian 12). */
  const char serial[] =
      "\033[2J\033[01;01H\033[=3h\033[2J\033[01;01HBdsDxe: failed to load Boot0001 \"UEFI QEMU HARDDISK QM00011 \" "
      "from PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x5,0xFFFF,0x0): Not Found\r\n"
      "BdsDxe: loading Boot0002 \"EFI Internal Shell\" from Fv(7CB8BDC9)\r\n"
      "\033[2J\033[01;01H\033[01;01HUEFI Interactive Shell v2.2\r\nEDK II\r\n"
      "\033[1m\033[33m\033[40mMapping table\033[0m\033[37m\033[40m\r\n"
      "\033[08;01H\033[1m\033[33m\033[40mShell> \033[0m\033[37m\033[40m";
  g_autofree char *plain = chronos_text_strip_ansi (serial, sizeof serial - 1);
  g_autofree char *line = NULL;

  g_assert_null (strchr (plain, '\033'));
  g_assert_null (strchr (plain, '\r'));
  g_assert_nonnull (strstr (plain, "Mapping table\n"));
  g_assert_cmpint (chronos_text_find_clue (plain, &line), ==, CHRONOS_TEXT_CLUE_UEFI_SHELL);
  g_assert_cmpstr (line, ==, "UEFI Interactive Shell v2.2");

  /* A truncated escape at the end is dropped, not read past. */
  g_free (plain);
  plain = chronos_text_strip_ansi ("ok\033[12", 7);
  g_assert_cmpstr (plain, ==, "ok");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/screen/black", test_black);
  g_test_add_func ("/screen/text", test_text_screen);
  g_test_add_func ("/screen/stop-screen", test_stop_screen);
  g_test_add_func ("/screen/blue-gradient", test_blue_gradient_is_not_a_stop_screen);
  g_test_add_func ("/screen/uniform-bright", test_uniform_bright);
  g_test_add_func ("/screen/spinner", test_spinner_is_a_change);
  g_test_add_func ("/screen/qemu-placeholder", test_qemu_placeholder);
  g_test_add_func ("/screen/one-line-big-screen", test_one_line_on_a_big_screen);
  g_test_add_func ("/screen/size-change", test_size_change);
  g_test_add_func ("/frame/ppm", test_ppm);
  g_test_add_func ("/frame/png-size", test_png_size);
  g_test_add_func ("/frame/png-encode", test_png_encode);
  g_test_add_func ("/screen-text/vga", test_vga_text);
  g_test_add_func ("/screen-text/clues", test_clues);
  g_test_add_func ("/screen-text/ovmf-serial", test_ovmf_serial);

  return g_test_run ();
}
