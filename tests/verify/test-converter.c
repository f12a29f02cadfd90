/* test-converter.c: ChronosConverter against the real qemu-img
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "chronos-converter.h"
#include "chronos-qemu-error.h"

static char *qemu_img;
static char *qemu_io;

typedef struct
{
  char *dir;
  char *source;
  char *source_sha;
} Fixture;

static char *
sha256_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GMappedFile) mapped = g_mapped_file_new (path, FALSE, &error);

  g_assert_no_error (error);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                      (const guchar *)g_mapped_file_get_contents (mapped),
                                      g_mapped_file_get_length (mapped));
}

static void
run (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  int              status;

  g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                NULL, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed: %s", argv[0], err);
}

/* A dynamic VHDX of @size_mib with @data_mib of non-zero data at its start
 * and a little at its end, so the copy has something to compare. */
static char *
make_vhdx (const char *dir,
           const char *name,
           guint       size_mib,
           guint       data_mib)
{
  char            *path = g_build_filename (dir, name, NULL);
  g_autofree char *size = g_strdup_printf ("%uM", size_mib);
  g_autofree char *write1 = g_strdup_printf ("write -P 0xa5 0 %uM", data_mib);
  g_autofree char *write2 = g_strdup_printf ("write -P 0x3c %uM 1M", size_mib - 1);

  run ((const char *[]){ qemu_img, "create", "-q", "-f", "vhdx", path, size, NULL });
  run ((const char *[]){ qemu_io, "-f", "vhdx", "-c", write1, "-c", write2, path, NULL });
  return path;
}

static void
fixture_setup (Fixture      *fixture,
               gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("chronos-converter-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->source = make_vhdx (fixture->dir, "backup.vhdx", 64, 8);
  fixture->source_sha = sha256_file (fixture->source);
}

static guint
count_entries (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  const char *name;

  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_test_message ("in %s: %s", dir, name);
      n++;
    }
  return n;
}

static void
fixture_teardown (Fixture      *fixture,
                  gconstpointer data)
{
  g_autoptr (GDir) d = g_dir_open (fixture->dir, 0, NULL);
  g_autofree char *sha = sha256_file (fixture->source);
  const char      *name;

  /* The backup is never written, whatever the test did. */
  g_assert_cmpstr (sha, ==, fixture->source_sha);

  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (fixture->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (fixture->dir);
  g_free (fixture->dir);
  g_free (fixture->source);
  g_free (fixture->source_sha);
}

typedef struct
{
  gboolean done;
  gboolean ok;
  GError  *error;
  double   max_fraction;
  guint    notifies;
  double   cancel_at; /* cancel the job once the fraction passes this, or < 0 */
} Result;

static void
fraction_cb (ChronosJob *job,
             GParamSpec *pspec,
             Result     *result)
{
  double fraction = chronos_job_get_fraction (job);

  result->notifies++;
  result->max_fraction = MAX (result->max_fraction, fraction);
  if (result->cancel_at >= 0 && fraction > result->cancel_at && fraction < 1.0)
    chronos_job_cancel (job);
}

static void
convert_cb (GObject      *object,
            GAsyncResult *res,
            gpointer      user_data)
{
  Result *result = user_data;

  result->ok = chronos_converter_convert_finish (CHRONOS_CONVERTER (object), res, &result->error);
  result->done = TRUE;
}

static void
convert (ChronosConverter *converter,
         Result           *result)
{
  g_signal_connect (chronos_converter_get_job (converter), "notify::fraction",
                    G_CALLBACK (fraction_cb), result);
  chronos_converter_convert_async (converter, NULL, convert_cb, result);
  while (!result->done)
    g_main_context_iteration (NULL, TRUE);
  g_signal_handlers_disconnect_by_data (chronos_converter_get_job (converter), result);
}

static void
assert_same_image (const char *vhdx,
                   const char *qcow2)
{
  run ((const char *[]){ qemu_img, "compare", "-q", "-f", "vhdx", "-F", "qcow2", vhdx, qcow2, NULL });
}

static void
test_convert (Fixture      *fixture,
              gconstpointer data)
{
  g_autofree char *output = g_build_filename (fixture->dir, "out.qcow2", NULL);
  g_autoptr (ChronosConverter) converter = chronos_converter_new (qemu_img, fixture->source, output);
  ChronosJob *job = chronos_converter_get_job (converter);
  Result      result = { .cancel_at = -1 };

  convert (converter, &result);

  g_assert_no_error (result.error);
  g_assert_true (result.ok);
  g_assert_cmpint (chronos_job_get_state (job), ==, CHRONOS_JOB_STATE_SUCCEEDED);
  g_assert_cmpfloat (chronos_job_get_fraction (job), ==, 1.0);
  g_assert_cmpfloat (result.max_fraction, ==, 1.0);
  g_assert_cmpuint (result.notifies, >=, 2);
  g_assert_cmpuint (chronos_job_get_bytes_total (job), ==, 64 * 1024 * 1024);
  g_assert_cmpuint (chronos_job_get_bytes_done (job), ==, 64 * 1024 * 1024);
  assert_same_image (fixture->source, output);
  /* backup.vhdx and out.qcow2, no temporary file. */
  g_assert_cmpuint (count_entries (fixture->dir), ==, 2);
  /* Nothing (no pending task) keeps the converter alive. */
  g_assert_finalize_object (g_steal_pointer (&converter));
}

static void
test_existing_output (Fixture      *fixture,
                      gconstpointer data)
{
  g_autofree char *output = g_build_filename (fixture->dir, "out.qcow2", NULL);
  g_autoptr (ChronosConverter) converter = chronos_converter_new (qemu_img, fixture->source, output);
  g_autoptr (ChronosConverter) forced = chronos_converter_new (qemu_img, fixture->source, output);
  g_autofree char *contents = NULL;
  Result           result = { .cancel_at = -1 };
  Result           result2 = { .cancel_at = -1 };

  g_file_set_contents (output, "precious", -1, NULL);

  convert (converter, &result);
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_assert_false (result.ok);
  g_assert_cmpint (chronos_job_get_state (chronos_converter_get_job (converter)), ==,
                   CHRONOS_JOB_STATE_FAILED);
  g_file_get_contents (output, &contents, NULL, NULL);
  g_assert_cmpstr (contents, ==, "precious");
  g_clear_error (&result.error);

  chronos_converter_set_force (forced, TRUE);
  convert (forced, &result2);
  g_assert_no_error (result2.error);
  assert_same_image (fixture->source, output);
  g_assert_cmpuint (count_entries (fixture->dir), ==, 2);
}

static void
test_bad_input (Fixture      *fixture,
                gconstpointer data)
{
  g_autofree char *bad = g_build_filename (fixture->dir, "notes.vhdx", NULL);
  g_autofree char *missing = g_build_filename (fixture->dir, "missing.vhdx", NULL);
  g_autofree char *output = g_build_filename (fixture->dir, "out.qcow2", NULL);
  g_autoptr (ChronosConverter) c1 = chronos_converter_new (qemu_img, bad, output);
  g_autoptr (ChronosConverter) c2 = chronos_converter_new (qemu_img, missing, output);
  g_autoptr (ChronosConverter) c3 = chronos_converter_new ("/nonexistent/qemu-img", fixture->source, output);
  Result r1 = { .cancel_at = -1 }, r2 = { .cancel_at = -1 }, r3 = { .cancel_at = -1 };

  g_file_set_contents (bad, "this is not a disk image\n", -1, NULL);

  convert (c1, &r1);
  g_assert_error (r1.error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_A_DISK_IMAGE);
  g_test_message ("bad input: %s", r1.error->message);
  g_assert_nonnull (strstr (r1.error->message, "VHDX"));
  g_assert_null (strchr (r1.error->message, '\n'));

  convert (c2, &r2);
  g_assert_error (r2.error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_IMAGE_NOT_FOUND);

  convert (c3, &r3);
  g_assert_error (r3.error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_FOUND);

  /* backup.vhdx and notes.vhdx only. */
  g_assert_cmpuint (count_entries (fixture->dir), ==, 2);
  g_clear_error (&r1.error);
  g_clear_error (&r2.error);
  g_clear_error (&r3.error);
}

static void
test_cancel (Fixture      *fixture,
             gconstpointer data)
{
  g_autofree char *big = make_vhdx (fixture->dir, "big.vhdx", 1024, 1000);
  g_autofree char *big_sha = sha256_file (big);
  g_autofree char *big_sha_after = NULL;
  g_autofree char *output = g_build_filename (fixture->dir, "out.qcow2", NULL);
  g_autoptr (ChronosConverter) converter = chronos_converter_new (qemu_img, big, output);
  ChronosJob *job = chronos_converter_get_job (converter);
  Result      result = { .cancel_at = 0.02 };

  convert (converter, &result);

  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (chronos_job_get_state (job), ==, CHRONOS_JOB_STATE_CANCELLED);
  g_assert_cmpfloat (result.max_fraction, <, 1.0);
  g_assert_false (g_file_test (output, G_FILE_TEST_EXISTS));
  /* backup.vhdx and big.vhdx: the partial temporary file is gone. */
  g_assert_cmpuint (count_entries (fixture->dir), ==, 2);
  big_sha_after = sha256_file (big);
  g_assert_cmpstr (big_sha, ==, big_sha_after);
  g_clear_error (&result.error);
  g_assert_finalize_object (g_steal_pointer (&converter));
}

static void
test_describe_stderr (void)
{
  g_autofree char *a = chronos_converter_describe_stderr (
      "qemu-img: Could not open 'x.vhdx': Image not in VHDX format\n");
  g_autofree char *b = chronos_converter_describe_stderr ("\n\n  \n");
  g_autofree char *d = chronos_converter_describe_stderr (
      "qemu-img: Could not open 'a b': Could not open 'a b': Permission denied");
  g_autofree char *c = chronos_converter_describe_stderr ("qemu-img: error while writing at byte 0: No space left on device\nmore\n");

  g_assert_cmpstr (a, ==, "Could not open 'x.vhdx': Image not in VHDX format.");
  g_assert_null (b);
  g_assert_cmpstr (d, ==, "Could not open 'a b': Permission denied.");
  g_assert_cmpstr (c, ==, "Error while writing at byte 0: No space left on device.");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/converter/describe-stderr", test_describe_stderr);

  qemu_img = g_find_program_in_path ("qemu-img");
  qemu_io = g_find_program_in_path ("qemu-io");
  if (qemu_img == NULL || qemu_io == NULL)
    {
      g_test_skip ("qemu-img and qemu-io are needed (Debian: qemu-utils)");
      return g_test_run ();
    }

  g_test_add ("/converter/convert", Fixture, NULL, fixture_setup, test_convert, fixture_teardown);
  g_test_add ("/converter/existing-output", Fixture, NULL, fixture_setup, test_existing_output, fixture_teardown);
  g_test_add ("/converter/bad-input", Fixture, NULL, fixture_setup, test_bad_input, fixture_teardown);
  g_test_add ("/converter/cancel", Fixture, NULL, fixture_setup, test_cancel, fixture_teardown);

  return g_test_run ();
}
