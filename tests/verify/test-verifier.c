/* test-verifier.c: ChronosVerifier on every test guest, with real QEMU
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Each guest must get its expected verdict and cause (tests/guests/README.md),
 * with a valid PNG of the right size as evidence, complete JSON, the backup
 * unchanged (SHA-256), no run directory and no QEMU left behind.
 */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "chronos-frame.h"
#include "chronos-paths.h"
#include "chronos-verifier.h"
#include "chronos-verify-judge.h"

static char *guests_dir;

typedef struct
{
  const char         *name;
  const char         *guest;
  ChronosAccelMode    accel;
  double              timeout;
  ChronosVerdict      verdict;
  ChronosVerifyCause  cause;
  const char         *reason_part;
  guint               width; /* of the screenshot; 0: none expected */
  guint               height;
  gboolean            fell_back;
  ChronosFirmwareMode firmware; /* AUTO unless forced */
} Case;

static const Case cases[] = {
  { "tcg", "bios-hello", CHRONOS_ACCEL_MODE_TCG, 120, CHRONOS_VERDICT_BOOTED, CHRONOS_VERIFY_CAUSE_STABLE_SCREEN,
    "screen stable and non-blank", 720, 400, FALSE },
  { "auto", "bios-hello", CHRONOS_ACCEL_MODE_AUTO, 120, CHRONOS_VERDICT_BOOTED, CHRONOS_VERIFY_CAUSE_STABLE_SCREEN,
    "screen stable and non-blank", 720, 400, FALSE },
  { "tcg", "bios-slow", CHRONOS_ACCEL_MODE_TCG, 120, CHRONOS_VERDICT_BOOTED, CHRONOS_VERIFY_CAUSE_STABLE_SCREEN,
    "screen stable and non-blank", 720, 400, FALSE },
  { "tcg", "bios-stopscreen", CHRONOS_ACCEL_MODE_TCG, 120, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_STOP_SCREEN,
    "stop screen: blue screen held", 720, 400, FALSE },
  /* The last screen of a reset loop is caught wherever the VGA is in its
   * reset: 720x400 text or SeaBIOS's 640x480 start; any real screen counts. */
  { "tcg", "bios-tripleflt", CHRONOS_ACCEL_MODE_TCG, 120, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_RESET_LOOP,
    "reset loop: 5 resets in", 0, 0, FALSE },
  /* A 20 s timeout makes the black-screen limit 10 s. */
  { "tcg", "bios-black", CHRONOS_ACCEL_MODE_TCG, 20, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_BLACK_SCREEN,
    "the screen stayed black for 1", 720, 400, FALSE },
  { "tcg", "blank", CHRONOS_ACCEL_MODE_TCG, 120, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_NO_BOOT_DEVICE,
    "firmware: no bootable device", 720, 400, FALSE },
  /* OVMF with nothing to boot starts its shell (seen on serial). */
  { "uefi", "blank", CHRONOS_ACCEL_MODE_TCG, 120, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_NO_BOOT_DEVICE,
    "UEFI Interactive Shell", 0, 0, FALSE, CHRONOS_FIRMWARE_MODE_UEFI },
  /* Not decided within a 4 s timeout: the firmware's screen is no verdict. */
  { "timeout", "bios-slow", CHRONOS_ACCEL_MODE_TCG, 4, CHRONOS_VERDICT_TIMEOUT, CHRONOS_VERIFY_CAUSE_TIMEOUT,
    "the firmware was still at work after 4", 720, 400, FALSE },
  { "tcg", "uefi-hello", CHRONOS_ACCEL_MODE_TCG, 120, CHRONOS_VERDICT_BOOTED, CHRONOS_VERIFY_CAUSE_STABLE_SCREEN,
    "screen stable and non-blank", 0, 0, FALSE },
};

static char *
sha256_file (const char *path)
{
  g_autoptr (GMappedFile) mapped = g_mapped_file_new (path, FALSE, NULL);

  g_assert_nonnull (mapped);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                      (const guchar *)g_mapped_file_get_contents (mapped),
                                      g_mapped_file_get_length (mapped));
}

/* QEMU processes whose command line names @needle. */
static guint
count_qemus (const char *needle)
{
  g_autoptr (GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;
  guint       n = 0;

  while ((name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc", name, "cmdline", NULL);
      g_autofree char *cmdline = NULL;
      gsize            len = 0;

      if (!g_ascii_isdigit (name[0]) || !g_file_get_contents (path, &cmdline, &len, NULL))
        continue;
      for (gsize i = 0; i + 1 < len; i++)
        if (cmdline[i] == '\0')
          cmdline[i] = ' ';
      if (strstr (cmdline, "qemu-system") && strstr (cmdline, needle))
        n++;
    }
  return n;
}

static guint
count_entries (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (d != NULL && g_dir_read_name (d) != NULL)
    n++;
  return n;
}

typedef struct
{
  ChronosVerification *verification;
  GError              *error;
  gboolean             done;
  gint64               start;
  gint64               done_at;
  const char          *serial_path;
  const char          *serial_line;
  gint64               serial_at;
  guint                frames;
} Run;

static void
verify_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Run *run = user_data;

  run->verification = chronos_verifier_verify_finish (CHRONOS_VERIFIER (object), result, &run->error);
  run->done = TRUE;
  run->done_at = g_get_monotonic_time ();
}

static gboolean
poll_serial_cb (gpointer user_data)
{
  Run             *run = user_data;
  g_autofree char *text = NULL;
  gsize            len = 0;

  if (run->serial_at == 0 && g_file_get_contents (run->serial_path, &text, &len, NULL) &&
      g_strstr_len (text, len, run->serial_line) != NULL)
    run->serial_at = g_get_monotonic_time ();
  return G_SOURCE_CONTINUE;
}

static void
frame_cb (ChronosVerifier *verifier,
          const char      *path,
          Run             *run)
{
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  run->frames++;
}

static void
run_verifier (ChronosVerifier *verifier,
              Run             *run)
{
  guint poll_id = 0;

  g_signal_connect (verifier, "frame", G_CALLBACK (frame_cb), run);
  if (run->serial_path != NULL)
    poll_id = g_timeout_add (20, poll_serial_cb, run);
  run->start = g_get_monotonic_time ();
  chronos_verifier_verify_async (verifier, NULL, verify_cb, run);
  while (!run->done)
    g_main_context_iteration (NULL, TRUE);
  g_clear_handle_id (&poll_id, g_source_remove);
}

static void
test_guest (gconstpointer data)
{
  const Case      *c = data;
  g_autofree char *image = g_strdup_printf ("%s/%s.vhdx", guests_dir, c->guest);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *run_root = chronos_paths_run_root ();
  g_autofree char *serial = NULL;
  g_autofree char *png = NULL;
  g_autofree char *json_path = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosQemu) qemu = NULL;
  g_autoptr (ChronosVmConfig) config = NULL;
  g_autoptr (ChronosVerifier) verifier = NULL;
  g_autoptr (ChronosVerification) saved = NULL;
  g_autoptr (JsonNode) json = NULL;
  g_autofree char         *line = NULL;
  ChronosVerification     *v;
  Run                      run = { 0 };
  gsize                    len = 0;
  guint                    w = 0, h = 0;
  static const char *const fields[] = { "path", "verdict", "reason", "accelerator", "fell_back",
                                        "firmware", "seconds", "screenshot", "log" };

  if (!g_file_test (image, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("this guest was not built (a tool is missing)");
      return;
    }

  before = sha256_file (image);
  qemu = chronos_qemu_find (NULL, &error);
  g_assert_no_error (error);
  config = chronos_vm_config_new ();
  chronos_vm_config_set_accel (config, c->accel);
  chronos_vm_config_set_firmware (config, c->firmware);
  chronos_vm_config_set_memory_mib (config, 256);
  serial = g_build_filename (g_get_user_cache_dir (), "serial.log", NULL);
  g_mkdir_with_parents (g_get_user_cache_dir (), 0700);
  chronos_vm_config_set_serial_path (config, serial);

  verifier = chronos_verifier_new (qemu, config, image);
  chronos_verifier_set_timeout (verifier, c->timeout);
  run.serial_path = serial;
  line = g_strdup_printf ("CHRONOS-GUEST %s: booted", c->guest);
  run.serial_line = line;
  run_verifier (verifier, &run);

  g_assert_no_error (run.error);
  v = run.verification;
  g_assert_nonnull (v);
  g_test_message ("%s: %s, %s (accelerator %s%s, %.1f s, first screen %.1f s, stable %.1f s)",
                  c->guest, chronos_verdict_to_string (chronos_verification_get_verdict (v)),
                  chronos_verification_get_reason (v), chronos_verification_get_accelerator (v),
                  chronos_verification_get_fell_back (v) ? ", fell back" : "",
                  chronos_verification_get_seconds (v), chronos_verification_get_first_screen (v),
                  chronos_verification_get_stable_screen (v));
  g_assert_cmpint (chronos_verification_get_verdict (v), ==, c->verdict);
  g_assert_cmpint (chronos_verification_get_cause (v), ==, c->cause);
  g_assert_nonnull (strstr (chronos_verification_get_reason (v), c->reason_part));
  g_assert_cmpint (chronos_verifier_get_job (verifier) ? chronos_job_get_state (chronos_verifier_get_job (verifier)) : 0,
                   ==, CHRONOS_JOB_STATE_SUCCEEDED);
  g_assert_cmpuint (run.frames, >, 0);

  /* Accelerator and firmware. */
  if (c->accel == CHRONOS_ACCEL_MODE_TCG)
    {
      g_assert_cmpstr (chronos_verification_get_accelerator (v), ==, "tcg");
      g_assert_false (chronos_verification_get_fell_back (v));
    }
  else
    g_assert_cmpstr (chronos_verification_get_accelerator (v), !=, "unknown");
  g_assert_cmpstr (chronos_verification_get_firmware (v), ==,
                   g_str_has_prefix (c->guest, "uefi") || c->firmware == CHRONOS_FIRMWARE_MODE_UEFI ? "uefi" : "bios");
  g_assert_nonnull (chronos_verification_get_log (v));
  g_assert_true (g_file_test (chronos_verification_get_log (v), G_FILE_TEST_IS_REGULAR));

  /* The screenshot. */
  g_assert_nonnull (chronos_verification_get_screenshot (v));
  {
    g_autofree char *contents = NULL;
    g_assert_true (g_file_get_contents (chronos_verification_get_screenshot (v), &contents, &len, NULL));
    g_assert_true (chronos_png_get_size ((const guint8 *)contents, len, &w, &h));
  }
  if (c->width != 0)
    {
      g_assert_cmpuint (w, ==, c->width);
      g_assert_cmpuint (h, ==, c->height);
    }
  else
    g_assert_true (w >= 640 && h >= 400); /* a graphics mode (UEFI), or any VGA mode */
  png = chronos_verification_file_for_image (image, "png");
  g_assert_cmpstr (chronos_verification_get_screenshot (v), ==, png);

  /* JSON, also as saved. */
  json = chronos_verification_to_json (v);
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    g_assert_true (json_object_has_member (json_node_get_object (json), fields[i]));
  json_path = chronos_verification_file_for_image (image, "json");
  g_assert_true (g_file_test (json_path, G_FILE_TEST_IS_REGULAR));
  saved = chronos_verification_load_for_image (image, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chronos_verification_get_verdict (saved), ==, c->verdict);

  /* Timings. */
  g_assert_cmpfloat (chronos_verification_get_seconds (v), >, 0);
  g_assert_cmpfloat (chronos_verification_get_verdict_at (v), >=, 0);
  g_assert_cmpfloat (chronos_verification_get_verdict_at (v), <=, chronos_verification_get_seconds (v));
  if (c->verdict == CHRONOS_VERDICT_BOOTED)
    {
      g_assert_cmpfloat (chronos_verification_get_first_screen (v), >=, 0);
      g_assert_cmpfloat (chronos_verification_get_stable_screen (v), >=,
                         chronos_verification_get_first_screen (v));
      g_assert_cmpfloat (chronos_verification_get_verdict_at (v), >=,
                         chronos_verification_get_stable_screen (v) + CHRONOS_VERIFY_DEFAULT_SETTLE);
    }

  /* Verdict latency: within (serial line + settle + 2 s) for every guest
   * that prints "booted". bios-slow must not be judged before its line. */
  if (c->verdict == CHRONOS_VERDICT_BOOTED && c->accel == CHRONOS_ACCEL_MODE_TCG &&
      g_str_has_prefix (c->guest, "bios"))
    {
      double serial_at, done_at;

      g_assert_cmpint (run.serial_at, >, 0);
      serial_at = (run.serial_at - run.start) / (double)G_TIME_SPAN_SECOND;
      done_at = (run.done_at - run.start) / (double)G_TIME_SPAN_SECOND;
      g_test_message ("%s: serial line at %.2f s, verdict (VM gone) at %.2f s", c->guest, serial_at, done_at);
      g_assert_cmpfloat (done_at, <=, serial_at + CHRONOS_VERIFY_DEFAULT_SETTLE + 2.0);
      g_assert_cmpfloat (done_at, >=, serial_at);
    }

  /* No guest is judged booted before it said so (the firmware's and QEMU's
   * own screens before it are stable too). */
  if (c->verdict == CHRONOS_VERDICT_BOOTED && c->accel == CHRONOS_ACCEL_MODE_TCG)
    {
      g_assert_cmpint (run.serial_at, >, 0);
      g_assert_cmpint (run.done_at, >=, run.serial_at);
    }

  /* Nothing left behind, nothing changed. */
  g_clear_object (&verifier);
  g_assert_cmpuint (count_entries (run_root), ==, 0);
  /* By run directory, not image: other tests boot the same guests. */
  g_assert_cmpuint (count_qemus (run_root), ==, 0);
  after = sha256_file (image);
  g_assert_cmpstr (before, ==, after);

  g_clear_object (&run.verification);
}

static void
test_uefi_auto_falls_back (void)
{
  g_autofree char *image = g_strdup_printf ("%s/uefi-hello.vhdx", guests_dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosQemu) qemu = NULL;
  g_autoptr (ChronosVmConfig) config = NULL;
  g_autoptr (ChronosVerifier) verifier = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  Run              run = { 0 };

  if (!g_file_test (image, G_FILE_TEST_EXISTS) || !g_file_test ("/dev/kvm", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("needs the UEFI guest and /dev/kvm");
      return;
    }

  before = sha256_file (image);
  qemu = chronos_qemu_find (NULL, &error);
  g_assert_no_error (error);
  config = chronos_vm_config_new ();
  chronos_vm_config_set_memory_mib (config, 256);
  verifier = chronos_verifier_new (qemu, config, image);
  run_verifier (verifier, &run);

  g_assert_no_error (run.error);
  g_test_message ("uefi-hello auto: %s, %s (accelerator %s, fell back %d: %s)",
                  chronos_verdict_to_string (chronos_verification_get_verdict (run.verification)),
                  chronos_verification_get_reason (run.verification),
                  chronos_verification_get_accelerator (run.verification),
                  chronos_verification_get_fell_back (run.verification),
                  chronos_verification_get_fallback_reason (run.verification));
  g_assert_cmpint (chronos_verification_get_verdict (run.verification), ==, CHRONOS_VERDICT_BOOTED);
  /* On this machine KVM stops OVMF with an internal error; elsewhere KVM
   * simply works. Either way the verdict is right. */
  if (chronos_verification_get_fell_back (run.verification))
    {
      g_assert_cmpstr (chronos_verification_get_accelerator (run.verification), ==, "tcg");
      g_assert_nonnull (chronos_verification_get_fallback_reason (run.verification));
    }
  after = sha256_file (image);
  g_assert_cmpstr (before, ==, after);
  g_clear_object (&run.verification);
}

static void
test_cancel (void)
{
  g_autofree char *image = g_strdup_printf ("%s/bios-black.vhdx", guests_dir);
  g_autofree char *run_root = chronos_paths_run_root ();
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosQemu) qemu = NULL;
  g_autoptr (ChronosVmConfig) config = NULL;
  g_autoptr (ChronosVerifier) verifier = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Run run = { 0 };

  if (!g_file_test (image, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("bios-black was not built");
      return;
    }

  qemu = chronos_qemu_find (NULL, &error);
  g_assert_no_error (error);
  config = chronos_vm_config_new ();
  chronos_vm_config_set_accel (config, CHRONOS_ACCEL_MODE_TCG);
  chronos_vm_config_set_memory_mib (config, 256);
  verifier = chronos_verifier_new (qemu, config, image);
  chronos_verifier_verify_async (verifier, cancellable, verify_cb, &run);
  /* Cancel once the guest runs and its screen is being sampled. */
  while (!run.done && chronos_verifier_get_frame_path (verifier) == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_cancellable_cancel (cancellable);
  while (!run.done)
    g_main_context_iteration (NULL, TRUE);

  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (run.verification);
  g_assert_cmpint (chronos_job_get_state (chronos_verifier_get_job (verifier)), ==, CHRONOS_JOB_STATE_CANCELLED);
  g_assert_cmpuint (count_entries (run_root), ==, 0);
  g_assert_cmpuint (count_qemus (run_root), ==, 0);
  g_clear_error (&run.error);
  g_assert_finalize_object (g_steal_pointer (&verifier));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *qemu = g_find_program_in_path ("qemu-system-x86_64");
  g_autofree char *hello = NULL;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  guests_dir = g_strdup (g_getenv ("CHRONOS_GUESTS_DIR"));
  hello = g_strdup_printf ("%s/bios-hello.vhdx", guests_dir ? guests_dir : "");
  if (qemu == NULL || guests_dir == NULL || !g_file_test (hello, G_FILE_TEST_EXISTS))
    {
      g_print ("1..0 # SKIP qemu-system-x86_64 or the test guests are missing\n");
      return 77;
    }

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/verifier/%s/%s", cases[i].guest, cases[i].name);
      g_test_add_data_func (path, &cases[i], test_guest);
    }
  g_test_add_func ("/verifier/uefi-hello/auto-fallback", test_uefi_auto_falls_back);
  g_test_add_func ("/verifier/cancel", test_cancel);

  return g_test_run ();
}
