/* test-job.c: progress, rate, ETA and completion of ChronosJob
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <string.h>

#include "chronos-job.h"

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  guint *count = user_data;
  (*count)++;
}

static void
test_job_bytes (void)
{
  g_autoptr(ChronosJob) job = chronos_job_new ("Downloading QEMU");
  guint fraction_notifies = 0;
  g_autofree char *text = NULL;

  g_signal_connect (job, "notify::fraction", G_CALLBACK (count_notify_cb), &fraction_notifies);

  g_assert_cmpint (chronos_job_get_state (job), ==, CHRONOS_JOB_STATE_QUEUED);
  g_assert_cmpfloat (chronos_job_get_fraction (job), ==, -1.0);
  chronos_job_start (job);
  g_assert_cmpint (chronos_job_get_state (job), ==, CHRONOS_JOB_STATE_RUNNING);

  chronos_job_update_bytes (job, 0, 1000000);
  g_usleep (150 * 1000);
  chronos_job_update_bytes (job, 250000, 1000000);
  g_assert_cmpfloat_with_epsilon (chronos_job_get_fraction (job), 0.25, 1e-9);
  g_assert_cmpuint (chronos_job_get_bytes_done (job), ==, 250000);
  /* 250 kB in about 150 ms: the rate is positive and the ETA follows. */
  g_assert_cmpfloat (chronos_job_get_rate (job), >, 0.0);
  g_assert_cmpint (chronos_job_get_eta (job), >=, 0);
  /* The same value twice does not notify again. */
  chronos_job_update_bytes (job, 250000, 1000000);
  g_assert_cmpuint (fraction_notifies, ==, 2);

  text = chronos_job_format_progress (job);
  {
    g_autofree char *done = g_format_size (250000);
    g_autofree char *total = g_format_size (1000000);
    g_autofree char *expected = g_strdup_printf ("%s of %s", done, total);

    g_assert_true (g_str_has_prefix (text, expected));
  }
  g_assert_nonnull (strstr (text, "/s"));

  chronos_job_complete (job, NULL);
  g_assert_cmpint (chronos_job_get_state (job), ==, CHRONOS_JOB_STATE_SUCCEEDED);
  g_assert_cmpfloat (chronos_job_get_fraction (job), ==, 1.0);
  g_assert_cmpint (chronos_job_get_eta (job), ==, -1);
}

static void
test_job_failure_and_cancel (void)
{
  g_autoptr(ChronosJob) failed = chronos_job_new ("Converting");
  g_autoptr(ChronosJob) cancelled = chronos_job_new ("Verifying");
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                                                 "No space left on device");
  g_autoptr(GError) cancel_error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                        "Operation was cancelled");

  chronos_job_start (failed);
  chronos_job_complete (failed, error);
  g_assert_cmpint (chronos_job_get_state (failed), ==, CHRONOS_JOB_STATE_FAILED);
  g_assert_cmpstr (chronos_job_get_message (failed), ==, "No space left on device");
  /* A finished job stays finished. */
  chronos_job_complete (failed, NULL);
  g_assert_cmpint (chronos_job_get_state (failed), ==, CHRONOS_JOB_STATE_FAILED);

  chronos_job_start (cancelled);
  chronos_job_cancel (cancelled);
  g_assert_true (g_cancellable_is_cancelled (chronos_job_get_cancellable (cancelled)));
  chronos_job_complete (cancelled, cancel_error);
  g_assert_cmpint (chronos_job_get_state (cancelled), ==, CHRONOS_JOB_STATE_CANCELLED);
  /* Cancelling is not a failure a person needs to read about. */
  g_assert_null (chronos_job_get_message (cancelled));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/job/bytes", test_job_bytes);
  g_test_add_func ("/job/failure-and-cancel", test_job_failure_and_cancel);

  return g_test_run ();
}
