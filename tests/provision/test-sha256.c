/* test-sha256.c: ChronosSha256 gives GChecksum's digests, however the data is split
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <string.h>

#include "chronos-sha256.h"

/* FIPS 180-2 test vectors. */
static void
test_vectors (void)
{
  const struct
  {
    const char *input;
    const char *digest;
  } vectors[] = {
    { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
    { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
    { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (vectors); i++)
    {
      g_autoptr (ChronosSha256) hash = chronos_sha256_new ();
      g_autofree char *digest = NULL;

      chronos_sha256_update (hash, vectors[i].input, strlen (vectors[i].input));
      digest = chronos_sha256_get_string (hash);
      g_assert_cmpstr (digest, ==, vectors[i].digest);
    }
  g_test_message ("backend: %s", chronos_sha256_get_backend ());
}

/* Random data in random pieces, against GChecksum over the whole, at
 * lengths around the 64-byte block and a few MiB. */
static void
test_against_gchecksum (void)
{
  const gsize lengths[] = { 0, 1, 55, 56, 63, 64, 65, 127, 128, 1000, 65536, 3 * 1024 * 1024 + 17 };
  g_autoptr (GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  gsize              max = lengths[G_N_ELEMENTS (lengths) - 1];
  g_autofree guint8 *data = g_malloc (max);

  for (gsize i = 0; i < max; i++)
    data[i] = g_rand_int (rand);

  for (guint l = 0; l < G_N_ELEMENTS (lengths); l++)
    {
      g_autofree char *expected = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, lengths[l]);

      for (guint round = 0; round < 4; round++)
        {
          g_autoptr (ChronosSha256) hash = chronos_sha256_new ();
          g_autofree char *digest = NULL;
          gsize            done = 0;

          while (done < lengths[l])
            {
              /* Not inside MIN (), which would draw twice. */
              gsize draw = g_rand_int_range (rand, 1, 300000);
              gsize piece = round == 0 ? lengths[l] : MIN (draw, lengths[l] - done);

              chronos_sha256_update (hash, data + done, piece);
              done += piece;
            }
          digest = chronos_sha256_get_string (hash);
          g_assert_cmpstr (digest, ==, expected);
        }
    }
}

/* Reading the digest does not end the computation; reset starts over. */
static void
test_continue_and_reset (void)
{
  g_autoptr (ChronosSha256) hash = chronos_sha256_new ();
  g_autofree char *first = NULL;
  g_autofree char *both = NULL;
  g_autofree char *again = NULL;
  g_autofree char *expected_first = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "hello ", -1);
  g_autofree char *expected_both = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "hello world", -1);

  chronos_sha256_update (hash, "hello ", 6);
  first = chronos_sha256_get_string (hash);
  chronos_sha256_update (hash, "world", 5);
  both = chronos_sha256_get_string (hash);
  g_assert_cmpstr (first, ==, expected_first);
  g_assert_cmpstr (both, ==, expected_both);

  chronos_sha256_reset (hash);
  chronos_sha256_update (hash, "hello ", 6);
  again = chronos_sha256_get_string (hash);
  g_assert_cmpstr (again, ==, expected_first);
}

static void
test_stream (void)
{
  g_autofree guint8 *data = g_malloc (1024 * 1024 + 3);
  g_autofree char   *expected = NULL;
  g_autofree char   *digest = NULL;
  g_autoptr (GInputStream) in = NULL;
  g_autoptr (ChronosSha256) hash = chronos_sha256_new ();
  g_autoptr (GError) error = NULL;
  guint8  buffer[4096];
  guint64 length = 1;

  for (gsize i = 0; i < 1024 * 1024 + 3; i++)
    data[i] = (guint8)(i * 7 + (i >> 9));
  expected = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, 1024 * 1024 + 3);
  in = g_memory_input_stream_new_from_data (data, 1024 * 1024 + 3, NULL);

  g_assert_true (chronos_sha256_update_from_stream (hash, in, buffer, sizeof buffer, &length, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (length, ==, 1024 * 1024 + 3);
  digest = chronos_sha256_get_string (hash);
  g_assert_cmpstr (digest, ==, expected);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/sha256/vectors", test_vectors);
  g_test_add_func ("/sha256/against-gchecksum", test_against_gchecksum);
  g_test_add_func ("/sha256/continue-and-reset", test_continue_and_reset);
  g_test_add_func ("/sha256/stream", test_stream);

  return g_test_run ();
}
