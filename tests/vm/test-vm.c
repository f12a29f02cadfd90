/* test-vm.c: ChronosVm on real QEMU and the test guests
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "chronos-accel.h"
#include "chronos-qemu-error.h"
#include "chronos-vm.h"
#include "kvm-probe.h"

static char *
guest_path (const char *name)
{
  const char      *dir = g_getenv ("CHRONOS_GUESTS_DIR");
  g_autofree char *file = g_strdup_printf ("%s.vhdx", name);
  char            *path;

  if (dir == NULL)
    return NULL;
  path = g_build_filename (dir, file, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    g_clear_pointer (&path, g_free);
  return path;
}

static char *
sha256_file (const char *path)
{
  g_autofree char *contents = NULL;
  gsize            length;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)contents, length);
}

static void
done_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  *(GAsyncResult **)user_data = g_object_ref (result);
}

static void
wait_for (gboolean (*predicate) (gpointer),
          gpointer data,
          double   seconds)
{
  gint64 deadline = g_get_monotonic_time () + (gint64)(seconds * G_USEC_PER_SEC);

  while (!predicate (data))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
}

static gboolean
result_ready (gpointer data)
{
  return *(GAsyncResult **)data != NULL;
}

typedef struct
{
  const char *path;
  const char *text;
} SerialWait;

static gboolean
serial_has (gpointer data)
{
  SerialWait      *wait = data;
  g_autofree char *contents = NULL;
  gsize            length = 0;

  if (!g_file_get_contents (wait->path, &contents, &length, NULL))
    return FALSE;
  return g_strstr_len (contents, length, wait->text) != NULL;
}

typedef struct
{
  guint               count;
  ChronosVmExitReason reason;
  char               *message;
  guint               restarted;
} Watch;

static void
exited_cb (ChronosVm          *vm,
           ChronosVmExitReason reason,
           const char         *message,
           gpointer            user_data)
{
  Watch *watch = user_data;

  watch->count++;
  watch->reason = reason;
  g_free (watch->message);
  watch->message = g_strdup (message);
}

static void
restarted_cb (ChronosVm *vm,
              gpointer   user_data)
{
  ((Watch *)user_data)->restarted++;
}

static gboolean
watch_exited (gpointer data)
{
  return ((Watch *)data)->count > 0;
}

static gboolean
watch_restarted (gpointer data)
{
  return ((Watch *)data)->restarted > 0;
}

typedef struct
{
  ChronosQemu     *qemu;
  ChronosVmConfig *config;
  char            *serial;
  Watch            watch;
} Fixture;

static void
fixture_setup (Fixture      *fx,
               gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fx->qemu = chronos_qemu_find (NULL, &error);
  if (fx->qemu == NULL)
    return;
  fx->config = chronos_vm_config_new ();
  chronos_vm_config_set_display (fx->config, CHRONOS_DISPLAY_MODE_NONE);
  chronos_vm_config_set_memory_mib (fx->config, 256);
  chronos_vm_config_set_network (fx->config, FALSE);
  fx->serial = g_build_filename (g_get_user_cache_dir (), "serial.txt", NULL);
  g_mkdir_with_parents (g_get_user_cache_dir (), 0700);
  chronos_vm_config_set_serial_path (fx->config, fx->serial);
}

static void
fixture_teardown (Fixture      *fx,
                  gconstpointer data)
{
  g_clear_object (&fx->qemu);
  g_clear_object (&fx->config);
  g_free (fx->serial);
  g_free (fx->watch.message);
}

static ChronosVm *
start_vm (Fixture    *fx,
          const char *image)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  ChronosVm *vm = chronos_vm_new (fx->qemu, fx->config, image);

  g_signal_connect (vm, "exited", G_CALLBACK (exited_cb), &fx->watch);
  g_signal_connect (vm, "restarted", G_CALLBACK (restarted_cb), &fx->watch);
  chronos_vm_start_async (vm, NULL, done_cb, &result);
  g_assert_cmpint (chronos_vm_get_state (vm), ==, CHRONOS_VM_STATE_STARTING);
  wait_for (result_ready, &result, 120);
  chronos_vm_start_finish (vm, result, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chronos_vm_get_state (vm), ==, CHRONOS_VM_STATE_RUNNING);
  g_assert_nonnull (chronos_vm_get_qmp (vm));
  g_assert_nonnull (chronos_vm_get_run_dir (vm));
  g_assert_cmpuint (chronos_vm_get_qemu_pid (vm), >, 0);
  return vm;
}

static char *
hmp (ChronosVm  *vm,
     const char *command_line)
{
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (JsonNode) ret = NULL;
  g_autoptr (GError) error = NULL;

  json_object_set_string_member (args, "command-line", command_line);
  chronos_qmp_execute_async (chronos_vm_get_qmp (vm), "human-monitor-command", args, NULL,
                             done_cb, &result);
  wait_for (result_ready, &result, 60);
  ret = chronos_qmp_execute_finish (chronos_vm_get_qmp (vm), result, &error);
  g_assert_no_error (error);
  return g_strdup (json_node_get_string (ret));
}

static GError *
qmp_error (ChronosVm  *vm,
           const char *command,
           JsonObject *args)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (JsonNode) ret = NULL;
  GError *error = NULL;

  chronos_qmp_execute_async (chronos_vm_get_qmp (vm), command, args, NULL, done_cb, &result);
  wait_for (result_ready, &result, 60);
  ret = chronos_qmp_execute_finish (chronos_vm_get_qmp (vm), result, &error);
  return error;
}

/* Reads the sector bios-writer writes, as another process would. */
static char *
qemu_io_read (const char *dir,
              const char *file,
              const char *format)
{
  g_autofree char *path = dir != NULL ? g_build_filename (dir, file, NULL) : g_strdup (file);
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  char *out = NULL;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "qemu-io", "-r", "-U",
                              "-f", format, "-c", "read -v 1048576 64", path, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (process));
  return out;
}

static void
shutdown_vm (ChronosVm *vm)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  chronos_vm_shutdown_async (vm, NULL, done_cb, &result);
  wait_for (result_ready, &result, 120);
  g_assert_true (chronos_vm_shutdown_finish (vm, result, &error));
  g_assert_no_error (error);
}

/* The guest's write lands in the overlay; the backup refuses a monitor
 * `commit` (the attack `snapshot=on` does not stop) and stays unchanged. */
static void
test_commit_refused (Fixture      *fx,
                     gconstpointer data)
{
  g_autofree char *image = guest_path ("bios-writer");
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *overlay_view = NULL;
  g_autofree char *base_view = NULL;
  g_autofree char *run_dir = NULL;
  g_autofree char *commit = NULL;
  g_autoptr (ChronosVm) vm = NULL;
  g_autoptr (JsonObject) args = NULL;
  g_autoptr (GError) error = NULL;
  SerialWait wrote = { fx->serial, "CHRONOS-GUEST bios-writer: wrote disk" };

  if (fx->qemu == NULL || image == NULL)
    {
      g_test_skip ("QEMU or the bios-writer guest is missing");
      return;
    }

  chronos_vm_config_set_accel (fx->config, CHRONOS_ACCEL_MODE_TCG);
  before = sha256_file (image);
  vm = start_vm (fx, image);
  run_dir = g_strdup (chronos_vm_get_run_dir (vm));
  g_assert_cmpint (chronos_vm_get_accel (vm), ==, CHRONOS_ACCEL_KIND_TCG);
  g_assert_cmpint (chronos_vm_get_firmware (vm), ==, CHRONOS_FIRMWARE_MODE_BIOS);
  wait_for (serial_has, &wrote, 120);

  /* Pausing flushes QEMU's caches to the overlay file: then another
   * reader sees the sector there, and not in the backup. */
  g_assert_null (qmp_error (vm, "stop", NULL));
  overlay_view = qemu_io_read (chronos_vm_get_run_dir (vm), "overlay.qcow2", "qcow2");
  g_assert_nonnull (strstr (overlay_view, "CHRONOS.GUEST.bi")); /* qemu-io shows '-' and ' ' as '.' */
  base_view = qemu_io_read (NULL, image, "vhdx");
  g_assert_null (strstr (base_view, "CHRONOS"));
  g_assert_null (qmp_error (vm, "cont", NULL));

  /* Every way to push the overlay into the backup is refused. */
  /* HMP `commit` names BlockBackends (there are none: -blockdev only);
   * `commit all` reaches every node with a backing file. */
  commit = hmp (vm, "commit all");
  g_test_message ("HMP commit all: %s", commit);
  g_assert_true (strstr (commit, "Permission denied") != NULL || strstr (commit, "read-only") != NULL);

  args = json_object_new ();
  json_object_set_string_member (args, "job-id", "steal");
  json_object_set_string_member (args, "device", "disk");
  error = qmp_error (vm, "block-commit", args);
  g_assert_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FAILED);
  g_test_message ("QMP block-commit: %s", error->message);
  g_assert_nonnull (strstr (error->message, "read-only"));
  g_clear_error (&error);

  /* The guest goes on running, unharmed. */
  g_assert_cmpstr (chronos_vm_get_state (vm) == CHRONOS_VM_STATE_RUNNING ? "running" : "not", ==, "running");
  shutdown_vm (vm);
  g_assert_cmpuint (fx->watch.count, ==, 1);
  g_assert_cmpint (fx->watch.reason, ==, CHRONOS_VM_EXIT_REASON_GUEST_SHUTDOWN);
  g_assert_cmpint (chronos_vm_get_exit_reason (vm), ==, CHRONOS_VM_EXIT_REASON_GUEST_SHUTDOWN);
  g_assert_cmpint (chronos_vm_get_state (vm), ==, CHRONOS_VM_STATE_STOPPED);
  g_assert_null (chronos_vm_get_run_dir (vm));
  g_assert_false (g_file_test (run_dir, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (chronos_vm_get_log_path (vm), G_FILE_TEST_IS_REGULAR));
  g_assert_cmpfloat (chronos_vm_get_elapsed (vm), >, 0);

  after = sha256_file (image);
  g_assert_cmpstr (before, ==, after);
}

/* The verifier's entry to the fallback (no screen progress under WHPX),
 * exercised with KVM: kill, restart once on TCG, remember, say so. */
static void
test_requested_fallback (Fixture      *fx,
                         gconstpointer data)
{
  g_autofree char *image = guest_path ("bios-hello");
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr (ChronosVm) vm = NULL;
  guint64    first_pid;
  SerialWait booted = { fx->serial, "CHRONOS-GUEST bios-hello: booted" };

  if (fx->qemu == NULL || image == NULL)
    {
      g_test_skip ("QEMU or the bios-hello guest is missing");
      return;
    }
  if (!test_kvm_runs_guests ())
    {
      g_test_skip ("KVM does not run guests here (tests/kvm-runs-guests.sh)");
      return;
    }

  before = sha256_file (image);
  vm = start_vm (fx, image);
  g_assert_cmpint (chronos_vm_get_accel (vm), ==, CHRONOS_ACCEL_KIND_KVM);
  g_assert_false (chronos_vm_get_fell_back (vm));
  first_pid = chronos_vm_get_qemu_pid (vm);

  g_assert_true (chronos_vm_fall_back_to_tcg (vm, "no screen progress"));
  wait_for (watch_restarted, &fx->watch, 120);
  g_assert_cmpint (chronos_vm_get_accel (vm), ==, CHRONOS_ACCEL_KIND_TCG);
  g_assert_true (chronos_vm_get_fell_back (vm));
  g_assert_cmpstr (chronos_vm_get_fallback_reason (vm), ==, "no screen progress");
  g_assert_cmpuint (chronos_vm_get_qemu_pid (vm), !=, first_pid);
  g_assert_cmpuint (fx->watch.count, ==, 0);
  /* Only once. */
  g_assert_false (chronos_vm_fall_back_to_tcg (vm, "again"));

  wait_for (serial_has, &booted, 120);
  chronos_vm_force_stop (vm);
  wait_for (watch_exited, &fx->watch, 60);
  g_assert_cmpint (fx->watch.reason, ==, CHRONOS_VM_EXIT_REASON_FORCED);
  g_assert_cmpint (chronos_vm_get_state (vm), ==, CHRONOS_VM_STATE_STOPPED);

  after = sha256_file (image);
  g_assert_cmpstr (before, ==, after);
}

static void
test_cancel_start (Fixture      *fx,
                   gconstpointer data)
{
  g_autofree char *image = guest_path ("bios-hello");
  g_autoptr (ChronosVm) vm = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_build_filename (g_get_user_runtime_dir (), "chronos", NULL);
  g_autoptr (GDir) dir = NULL;

  if (fx->qemu == NULL || image == NULL)
    {
      g_test_skip ("QEMU or the bios-hello guest is missing");
      return;
    }

  vm = chronos_vm_new (fx->qemu, fx->config, image);
  g_signal_connect (vm, "exited", G_CALLBACK (exited_cb), &fx->watch);
  chronos_vm_start_async (vm, cancellable, done_cb, &result);
  g_cancellable_cancel (cancellable);
  wait_for (result_ready, &result, 120);
  g_assert_false (chronos_vm_start_finish (vm, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (chronos_vm_get_state (vm), ==, CHRONOS_VM_STATE_FAILED);
  g_assert_cmpuint (fx->watch.count, ==, 0);
  g_assert_cmpuint (chronos_vm_get_qemu_pid (vm), ==, 0);

  dir = g_dir_open (root, 0, NULL);
  if (dir != NULL)
    g_assert_null (g_dir_read_name (dir));
}

static void
test_refused_images (Fixture      *fx,
                     gconstpointer data)
{
  g_autofree char       *missing = g_build_filename (g_get_user_cache_dir (), "missing.vhdx", NULL);
  g_autofree char       *text = g_build_filename (g_get_user_cache_dir (), "text.vhdx", NULL);
  const char            *paths[] = { missing, text };
  const ChronosQemuError codes[] = { CHRONOS_QEMU_ERROR_IMAGE_NOT_FOUND, CHRONOS_QEMU_ERROR_NOT_A_DISK_IMAGE };

  if (fx->qemu == NULL)
    {
      g_test_skip ("QEMU is missing");
      return;
    }
  g_assert_true (g_file_set_contents (text, "not a disk\n", -1, NULL));

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr (ChronosVm) vm = chronos_vm_new (fx->qemu, fx->config, paths[i]);
      g_autoptr (GAsyncResult) result = NULL;
      g_autoptr (GError) error = NULL;

      chronos_vm_start_async (vm, NULL, done_cb, &result);
      wait_for (result_ready, &result, 60);
      g_assert_false (chronos_vm_start_finish (vm, result, &error));
      g_assert_error (error, CHRONOS_QEMU_ERROR, codes[i]);
      g_assert_cmpint (chronos_vm_get_state (vm), ==, CHRONOS_VM_STATE_FAILED);
    }
}

static void
test_classify (void)
{
  static const struct
  {
    const char      *log;
    ChronosQemuError code;
    const char      *needle;
  } cases[] = {
    { "chronos: command line: x\n2024-01-02T03:04:05.678901Z qemu-system-x86_64: -blockdev {\"driver\":\"file\"}: Failed to get \"write\" lock\nIs another process using the image [/b.vhdx]?\n",
      CHRONOS_QEMU_ERROR_IMAGE_IN_USE, "Unmount it" },
    { "qemu-system-x86_64: cannot set up guest memory 'pc.ram': Cannot allocate memory\n",
      CHRONOS_QEMU_ERROR_NO_MEMORY, "4096 MiB" },
    { "qemu-system-x86_64: Could not write: No space left on device\n",
      CHRONOS_QEMU_ERROR_NO_SPACE, "space" },
    { "qemu-system-x86_64: -blockdev {}: VHDX image file '/b.vhdx' opened read-only, but contains a log that needs to be replayed\n",
      CHRONOS_QEMU_ERROR_LOG_REPLAY_NEEDED, "replayed" },
    { "qemu-system-x86_64: Display 'gtk' is not available\n",
      CHRONOS_QEMU_ERROR_INVALID_CONFIG, "window" },
    { "2024-01-02T03:04:05.678901Z qemu-system-x86_64: -blockdev {\"x\":1}: Could not open '/b.vhdx': Permission denied\n",
      CHRONOS_QEMU_ERROR_FAILED, ": Could not open '/b.vhdx': Permission denied (QEMU’s log" },
    { "chronos: command line: 'No space left on device'\n",
      CHRONOS_QEMU_ERROR_CRASHED, "/log" },
    { "", CHRONOS_QEMU_ERROR_CRASHED, "/log" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = chronos_vm_classify_failure (cases[i].log, "/log", 4096);

      g_test_message ("%u: %s", i, error->message);
      g_assert_error (error, CHRONOS_QEMU_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].needle));
      g_assert_nonnull (strstr (error->message, "/log"));
    }

  g_assert_cmpstr (chronos_vm_exit_reason_to_string (CHRONOS_VM_EXIT_REASON_GUEST_SHUTDOWN), ==, "guest-shutdown");
  g_assert_cmpstr (chronos_vm_exit_reason_to_string (CHRONOS_VM_EXIT_REASON_FAILED_TO_START), ==, "failed-to-start");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/vm/classify", test_classify);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/vm/refused-images", test_refused_images);
  ADD ("/vm/cancel-start", test_cancel_start);
  ADD ("/vm/commit-refused", test_commit_refused);
  ADD ("/vm/requested-fallback", test_requested_fallback);
#undef ADD

  return g_test_run ();
}
