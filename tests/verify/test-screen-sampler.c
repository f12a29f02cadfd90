/* test-screen-sampler.c: screendumps and VGA text from a real QEMU
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Boots test guests under bare QEMU (TCG, through a qcow2 overlay) and
 * samples their screens through ChronosScreenSampler: the stop-screen
 * guest must look like a stop screen, with its words in VGA text, and the
 * PNG evidence must be a valid 720x400 PNG.
 */

#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <string.h>

#include "chronos-frame.h"
#include "chronos-qmp.h"
#include "chronos-screen-sampler.h"
#include "chronos-screen-text.h"

typedef struct
{
  char        *dir;
  GSubprocess *qemu;
  ChronosQmp  *qmp;
} Vm;

static char *guests_dir;

static gpointer
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static void
store_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  *(GAsyncResult **)user_data = g_object_ref (result);
}

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
vm_start (Vm         *vm,
          const char *guest)
{
  g_autofree char *image = g_strdup_printf ("%s/%s.vhdx", guests_dir, guest);
  g_autofree char *overlay = NULL;
  g_autofree char *socket = NULL;
  g_autofree char *drive = NULL;
  g_autofree char *qmp_arg = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  int status;

  vm->dir = g_dir_make_tmp ("chronos-sampler-XXXXXX", &error);
  g_assert_no_error (error);
  overlay = g_build_filename (vm->dir, "overlay.qcow2", NULL);
  socket = g_build_filename (vm->dir, "qmp.sock", NULL);

  g_spawn_sync (NULL, (char **)(const char *[]){ "qemu-img", "create", "-q", "-f", "qcow2", "-b", image, "-F", "vhdx", overlay, NULL },
                NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  drive = g_strdup_printf ("file=%s,format=qcow2,if=none,id=d0", overlay);
  qmp_arg = g_strdup_printf ("unix:%s,server=on,wait=off", socket);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  /* QEMU dies with the test, also when an assertion aborts it. */
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  vm->qemu = g_subprocess_launcher_spawn (launcher, &error,
                                          "qemu-system-x86_64", "-machine", "q35", "-accel", "tcg",
                                          "-m", "64", "-display", "none", "-nic", "none",
                                          "-no-user-config", "-drive", drive, "-device", "ide-hd,drive=d0",
                                          "-qmp", qmp_arg, NULL);
  g_assert_no_error (error);

  chronos_qmp_connect_async (socket, 10000, NULL, store_cb, &result);
  vm->qmp = chronos_qmp_connect_finish (wait_for (&result), &error);
  g_assert_no_error (error);
}

static void
vm_stop (Vm *vm)
{
  g_autoptr (GDir) d = NULL;
  const char *name;

  chronos_qmp_close (vm->qmp);
  g_clear_object (&vm->qmp);
  g_subprocess_force_exit (vm->qemu);
  g_subprocess_wait (vm->qemu, NULL, NULL);
  g_clear_object (&vm->qemu);

  d = g_dir_open (vm->dir, 0, NULL);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (vm->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (vm->dir);
  g_clear_pointer (&vm->dir, g_free);
}

static ChronosScreenSample *
sample (ChronosScreenSampler *sampler)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  ChronosScreenSample *s;

  chronos_screen_sampler_sample_async (sampler, NULL, store_cb, &result);
  s = chronos_screen_sampler_sample_finish (sampler, wait_for (&result), &error);
  g_assert_no_error (error);
  return s;
}

/* Samples until @done says so or 30 s pass. */
static ChronosScreenSample *
sample_until (ChronosScreenSampler *sampler,
              gboolean (*done) (ChronosScreenSample *))
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (ChronosScreenSample) s = sample (sampler);

      if (done (s))
        return g_steal_pointer (&s);
      g_usleep (200 * 1000);
    }
  return NULL;
}

static gboolean
is_stop_screen (ChronosScreenSample *s)
{
  return s->facts.stop_screen;
}

static gboolean
is_hello (ChronosScreenSample *s)
{
  return s->vga_text != NULL && strstr (s->vga_text, "CHRONOS-GUEST bios-hello: booted") != NULL;
}

static void
test_stop_screen (void)
{
  Vm vm = { 0 };
  g_autoptr (ChronosScreenSampler) sampler = NULL;
  g_autoptr (ChronosScreenSample) s = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *png = NULL;
  g_autofree char *contents = NULL;
  gsize            len;
  guint            w, h;

  vm_start (&vm, "bios-stopscreen");
  sampler = chronos_screen_sampler_new (vm.qmp, vm.dir);
  s = sample_until (sampler, is_stop_screen);
  g_assert_nonnull (s);
  g_assert_true (s->facts.text_mode);
  g_assert_false (s->facts.blank);
  g_assert_nonnull (s->vga_text);
  g_assert_nonnull (strstr (s->vga_text, "Your PC ran into a problem"));
  g_assert_nonnull (chronos_screen_sampler_get_frame_path (sampler));

  png = g_build_filename (vm.dir, "evidence.png", NULL);
  chronos_screen_sampler_save_png_async (sampler, png, NULL, store_cb, &result);
  g_assert_true (chronos_screen_sampler_save_png_finish (sampler, wait_for (&result), &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (png, &contents, &len, NULL));
  g_assert_true (chronos_png_get_size ((const guint8 *)contents, len, &w, &h));
  g_assert_cmpuint (w, ==, 720);
  g_assert_cmpuint (h, ==, 400);

  g_clear_object (&sampler);
  vm_stop (&vm);
}

static void
test_hello_text (void)
{
  Vm vm = { 0 };
  g_autoptr (ChronosScreenSampler) sampler = NULL;
  g_autoptr (ChronosScreenSample) s = NULL;
  g_autoptr (ChronosScreenSample) again = NULL;

  vm_start (&vm, "bios-hello");
  sampler = chronos_screen_sampler_new (vm.qmp, vm.dir);
  s = sample_until (sampler, is_hello);
  g_assert_nonnull (s);
  g_assert_false (s->facts.blank);
  g_assert_false (s->facts.stop_screen);
  g_assert_true (s->facts.text_mode);
  g_assert_cmpint (chronos_text_find_clue (s->vga_text, NULL), ==, CHRONOS_TEXT_CLUE_NONE);

  /* The guest sits still: a second look is the same screen (the cursor
   * may blink). */
  g_usleep (600 * 1000);
  again = sample (sampler);
  g_assert_true (chronos_screen_same (&s->facts, &again->facts));

  g_clear_object (&sampler);
  vm_stop (&vm);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *hello = NULL;
  g_autofree char *qemu = g_find_program_in_path ("qemu-system-x86_64");

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  guests_dir = g_strdup (g_getenv ("CHRONOS_GUESTS_DIR"));
  hello = g_strdup_printf ("%s/bios-stopscreen.vhdx", guests_dir ? guests_dir : "");
  if (qemu == NULL || guests_dir == NULL || !g_file_test (hello, G_FILE_TEST_EXISTS))
    {
      g_print ("1..0 # SKIP qemu-system-x86_64 or the test guests are missing\n");
      return 77;
    }

  g_test_add_func ("/screen-sampler/stop-screen", test_stop_screen);
  g_test_add_func ("/screen-sampler/hello-text", test_hello_text);

  return g_test_run ();
}
