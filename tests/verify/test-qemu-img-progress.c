/* test-qemu-img-progress.c: the parser for `qemu-img convert -p` output
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <locale.h>
#include <string.h>

#include "chronos-qemu-img-progress.h"

static void
test_parse_line (void)
{
  static const struct
  {
    const char *line;
    gboolean    ok;
    double      value;
  } cases[] = {
    { "    (0.00/100%)", TRUE, 0.0 },
    { "    (12.34/100%)", TRUE, 12.34 },
    { "    (100.00/100%)", TRUE, 100.0 },
    { "(1.01/100%)", TRUE, 1.01 },
    { "\t(50/100%)  ", TRUE, 50.0 },
    { "    (12,50/100%)", TRUE, 12.5 },
    { "", FALSE, 0 },
    { "    ", FALSE, 0 },
    { "    (", FALSE, 0 },
    { "    (/100%)", FALSE, 0 },
    { "    (12./100%)", FALSE, 0 },
    { "    (12.34/100%", FALSE, 0 },
    { "    (12.34/10%)", FALSE, 0 },
    { "    (101.00/100%)", FALSE, 0 },
    { "    (1000/100%)", FALSE, 0 },
    { "    (-1.00/100%)", FALSE, 0 },
    { "    (12.34/100%) trailing", FALSE, 0 },
    { "qemu-img: Could not open 'x': No such file", FALSE, 0 },
    { "    (12.3456789/100%)", FALSE, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      double   value = -42.0;
      gboolean ok = chronos_qemu_img_progress_parse_line (cases[i].line, strlen (cases[i].line), &value);

      g_test_message ("line %u: “%s”", i, cases[i].line);
      g_assert_cmpint (ok, ==, cases[i].ok);
      if (ok)
        g_assert_cmpfloat_with_epsilon (value, cases[i].value, 1e-9);
      else
        g_assert_cmpfloat (value, ==, -42.0);
    }
}

static void
test_parse_not_terminated (void)
{
  /* The parser must respect @len and never look at the byte after it. */
  const char buf[] = "    (42.00/100%)9999";
  double     value = 0;

  g_assert_true (chronos_qemu_img_progress_parse_line (buf, strlen ("    (42.00/100%)"), &value));
  g_assert_cmpfloat (value, ==, 42.0);
  g_assert_false (chronos_qemu_img_progress_parse_line (buf, strlen ("    (42.00/100"), &value));
  g_assert_false (chronos_qemu_img_progress_parse_line (NULL, 0, &value));
}

static void
test_feed_stream (void)
{
  /* What qemu-img writes into a pipe: \r-terminated redraws, then a final \n. */
  const char stream[] = "    (0.00/100%)\r    (1.00/100%)\r    (25.50/100%)\r"
                        "    (100.00/100%)\r\n";
  g_autoptr (ChronosQemuImgProgress) progress = chronos_qemu_img_progress_new ();
  double value = -1;

  g_assert_cmpfloat (chronos_qemu_img_progress_get_max (progress), ==, -1.0);
  g_assert_true (chronos_qemu_img_progress_feed (progress, stream, strlen (stream), &value));
  g_assert_cmpfloat (value, ==, 100.0);
  g_assert_cmpfloat (chronos_qemu_img_progress_get_max (progress), ==, 100.0);
}

static void
test_feed_byte_by_byte (void)
{
  const char stream[] = "    (3.00/100%)\r    (7.25/100%)\rjunk\n    (9.00/100%)\r";
  g_autoptr (ChronosQemuImgProgress) progress = chronos_qemu_img_progress_new ();
  GArray *seen = g_array_new (FALSE, FALSE, sizeof (double));

  for (gsize i = 0; i < strlen (stream); i++)
    {
      double value;

      if (chronos_qemu_img_progress_feed (progress, stream + i, 1, &value))
        g_array_append_val (seen, value);
    }

  g_assert_cmpuint (seen->len, ==, 3);
  g_assert_cmpfloat (g_array_index (seen, double, 0), ==, 3.0);
  g_assert_cmpfloat (g_array_index (seen, double, 1), ==, 7.25);
  g_assert_cmpfloat (g_array_index (seen, double, 2), ==, 9.0);
  g_array_unref (seen);
}

static void
test_feed_split_chunks (void)
{
  g_autoptr (ChronosQemuImgProgress) progress = chronos_qemu_img_progress_new ();
  double value = -1;

  /* A record split anywhere is only complete at its \r. */
  g_assert_false (chronos_qemu_img_progress_feed (progress, "    (12.", 8, &value));
  g_assert_false (chronos_qemu_img_progress_feed (progress, "34/100%)", 8, &value));
  g_assert_cmpfloat (value, ==, -1);
  g_assert_true (chronos_qemu_img_progress_feed (progress, "\r    (13", 8, &value));
  g_assert_cmpfloat (value, ==, 12.34);
  /* Empty feeds are harmless. */
  g_assert_false (chronos_qemu_img_progress_feed (progress, "", 0, &value));
}

static void
test_feed_overflow (void)
{
  g_autoptr (ChronosQemuImgProgress) progress = chronos_qemu_img_progress_new ();
  g_autofree char *huge = g_strnfill (CHRONOS_QEMU_IMG_PROGRESS_MAX_LINE * 3, ' ');
  double           value = -1;

  /* A line longer than the buffer is dropped whole, even if it ends like a
   * progress line, and the next line parses again. */
  g_assert_false (chronos_qemu_img_progress_feed (progress, huge, strlen (huge), &value));
  g_assert_false (chronos_qemu_img_progress_feed (progress, "(5.00/100%)\r", 12, &value));
  g_assert_true (chronos_qemu_img_progress_feed (progress, "(6.00/100%)\r", 12, &value));
  g_assert_cmpfloat (value, ==, 6.0);
}

static void
test_feed_random (void)
{
  /* Noise must never crash, and never yield a value out of range. */
  g_autoptr (ChronosQemuImgProgress) progress = chronos_qemu_img_progress_new ();
  GRand     *rand = g_rand_new_with_seed (4);
  const char alphabet[] = " (0123456789./%)\r\n,x";

  for (guint round = 0; round < 2000; round++)
    {
      char   chunk[64];
      gsize  len = g_rand_int_range (rand, 0, sizeof chunk);
      double value;

      for (gsize i = 0; i < len; i++)
        chunk[i] = alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)];

      if (chronos_qemu_img_progress_feed (progress, chunk, len, &value))
        g_assert_true (value >= 0.0 && value <= 100.0);
    }

  g_rand_free (rand);
}

int
main (int   argc,
      char *argv[])
{
  /* A comma locale must not change the parse. */
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/qemu-img-progress/parse-line", test_parse_line);
  g_test_add_func ("/qemu-img-progress/parse-not-terminated", test_parse_not_terminated);
  g_test_add_func ("/qemu-img-progress/feed-stream", test_feed_stream);
  g_test_add_func ("/qemu-img-progress/feed-byte-by-byte", test_feed_byte_by_byte);
  g_test_add_func ("/qemu-img-progress/feed-split-chunks", test_feed_split_chunks);
  g_test_add_func ("/qemu-img-progress/feed-overflow", test_feed_overflow);
  g_test_add_func ("/qemu-img-progress/feed-random", test_feed_random);

  return g_test_run ();
}
