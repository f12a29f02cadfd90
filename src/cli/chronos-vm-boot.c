/* chronos-vm-boot.c: `chronos-vm boot`, boot a backup read-only as a VM
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Prints what it did as "key: value" lines on stdout (stable keys, for
 * scripts: image, note, firmware, firmware-path, accelerator, fell-back,
 * log, run-dir, qemu-pid, vnc-socket, running, stopping, exit), runs until
 * the VM ends, and turns Ctrl+C / SIGTERM into a graceful shutdown (a
 * second one exits at once; QEMU dies with us).
 *
 * Exit status: 0 when the VM ended normally: the guest powered off, or it
 * was stopped on request (Ctrl+C or SIGTERM to chronos-vm, its window
 * closed, QEMU asked to quit), even when the guest ignored the power button
 * and had to be stopped by force after the shutdown timeout. 1 when it
 * could not start or crashed (QEMU died, was killed, or its virtual CPU
 * stopped with an internal error). 2 for usage errors.
 */

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "chronos-accel.h"
#include "chronos-qemu.h"
#include "chronos-vm-commands.h"
#include "chronos-vm-config.h"
#include "chronos-vm-options.h"
#include "chronos-vm-util.h"
#include "chronos-vm.h"

typedef struct
{
  GMainLoop    *loop;
  ChronosVm    *vm;
  GCancellable *interrupt;
  const char   *image;
  gboolean      started;
  gboolean      shutdown_requested;
  gboolean      printed_fallback;
  int           status;
} Boot;

static void
say (const char *key,
     const char *value)
{
  g_autofree char *line = g_strdup (value);

  g_strdelimit (line, "\r\n", ' ');
  g_print ("%s: %s\n", key, line);
  fflush (stdout);
}

static void
print_fallback (Boot *boot)
{
  if (boot->printed_fallback || !chronos_vm_get_fell_back (boot->vm))
    return;
  boot->printed_fallback = TRUE;
  say ("fell-back", chronos_vm_get_fallback_reason (boot->vm));
}

static void
print_launch (Boot *boot)
{
  ChronosVm       *vm = boot->vm;
  g_autofree char *pid = g_strdup_printf ("%" G_GUINT64_FORMAT, chronos_vm_get_qemu_pid (vm));

  say ("firmware", chronos_vm_get_firmware (vm) == CHRONOS_FIRMWARE_MODE_UEFI ? "uefi" : "bios");
  if (chronos_vm_get_firmware_path (vm) != NULL)
    say ("firmware-path", chronos_vm_get_firmware_path (vm));
  say ("accelerator", chronos_accel_kind_to_string (chronos_vm_get_accel (vm)));
  print_fallback (boot);
  say ("log", chronos_vm_get_log_path (vm));
  if (chronos_vm_get_run_dir (vm) != NULL)
    say ("run-dir", chronos_vm_get_run_dir (vm));
  say ("qemu-pid", pid);
  if (chronos_vm_get_vnc_socket_path (vm) != NULL)
    say ("vnc-socket", chronos_vm_get_vnc_socket_path (vm));
}

static void
restarted_cb (ChronosVm *vm,
              gpointer   user_data)
{
  Boot *boot = user_data;

  /* The accelerator failed after we said it runs: tell again. */
  print_launch (boot);
  say ("running", _ ("the guest runs again on software emulation"));
}

static void
exited_cb (ChronosVm          *vm,
           ChronosVmExitReason reason,
           const char         *message,
           gpointer            user_data)
{
  Boot            *boot = user_data;
  g_autofree char *line = g_strdup_printf ("%s: %s", chronos_vm_exit_reason_to_string (reason), message);

  say ("exit", line);

  switch (reason)
    {
    case CHRONOS_VM_EXIT_REASON_GUEST_SHUTDOWN:
      boot->status = CHRONOS_VM_EXIT_OK;
      break;
    case CHRONOS_VM_EXIT_REASON_HOST_QUIT:
    case CHRONOS_VM_EXIT_REASON_FORCED:
      /* Stopped on request: ours (Ctrl+C), its window closed, or a signal
       * someone sent QEMU. Only Chronos itself forces a stop. */
      boot->status = CHRONOS_VM_EXIT_OK;
      break;
    case CHRONOS_VM_EXIT_REASON_CRASHED:
    case CHRONOS_VM_EXIT_REASON_FAILED_TO_START:
    case CHRONOS_VM_EXIT_REASON_NONE:
    default:
      g_printerr ("chronos-vm: %s: %s\n", boot->image, message);
      boot->status = CHRONOS_VM_EXIT_FAILED;
      break;
    }
  g_main_loop_quit (boot->loop);
}

static void
shutdown_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr (GError) error = NULL;

  if (!chronos_vm_shutdown_finish (CHRONOS_VM (object), result, &error))
    g_debug ("shutdown: %s", error->message);
}

static void
interrupted_cb (GCancellable *cancellable,
                gpointer      user_data)
{
  Boot            *boot = user_data;
  g_autofree char *line = NULL;

  /* Before the start finished, the cancelled start ends it. */
  if (!boot->started || boot->shutdown_requested)
    return;
  boot->shutdown_requested = TRUE;
  line = g_strdup_printf (_ ("pressing the power button; the guest has %u s to power off (Ctrl+C again to stop at once)"),
                          chronos_vm_config_get_shutdown_timeout (chronos_vm_get_config (boot->vm)));
  say ("stopping", line);
  chronos_vm_shutdown_async (boot->vm, NULL, shutdown_cb, boot);
}

static void
start_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  Boot *boot = user_data;
  g_autoptr (GError) error = NULL;

  if (!chronos_vm_start_finish (boot->vm, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_printerr ("chronos-vm: %s: %s\n", boot->image, _ ("Interrupted before the virtual machine started."));
      else
        chronos_vm_fail (boot->image, error);
      boot->status = CHRONOS_VM_EXIT_FAILED;
      g_main_loop_quit (boot->loop);
      return;
    }

  boot->started = TRUE;
  for (const char *const *note = chronos_vm_get_notes (boot->vm); *note != NULL; note++)
    say ("note", *note);
  print_launch (boot);
  g_signal_connect_swapped (boot->vm, "notify::fell-back", G_CALLBACK (print_fallback), boot);
  say ("running", _ ("the guest is running; press Ctrl+C to shut it down"));

  /* A Ctrl+C that came while starting. */
  if (g_cancellable_is_cancelled (boot->interrupt))
    interrupted_cb (boot->interrupt, boot);
}

static gboolean
have_graphical_session (void)
{
#if defined(G_OS_WIN32) || defined(__APPLE__)
  return TRUE;
#else
  const char *x11 = g_getenv ("DISPLAY");
  const char *wayland = g_getenv ("WAYLAND_DISPLAY");

  return (x11 != NULL && *x11 != '\0') || (wayland != NULL && *wayland != '\0');
#endif
}

int
chronos_vm_cmd_boot (int    argc,
                     char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (ChronosVmOptions) options = chronos_vm_options_new ();
  g_autoptr (ChronosQemu) qemu = NULL;
  g_autoptr (ChronosVmConfig) config = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  g_autoptr (ChronosVm) vm = NULL;
  g_autoptr (GCancellable) interrupt = NULL;
  Boot boot = { 0 };
  int  status;

  context = g_option_context_new (_ ("IMAGE — boot a backup read-only as a virtual machine"));
  g_option_context_set_summary (context,
                                _ ("Boots the disk image IMAGE (VHDX) as a virtual machine. The backup is never "
                                   "changed: the guest’s writes go to a temporary overlay that is deleted when "
                                   "the virtual machine ends.\n\n"
                                   "Ctrl+C or SIGTERM presses the virtual power button and waits for the guest "
                                   "to power off (see --shutdown-timeout); a second Ctrl+C stops at once.\n\n"
                                   "Exit status: 0 the guest powered off, or it was stopped on request; 1 it could "
                                   "not start, crashed or was ended by something else; 2 usage error."));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_main_group (context, chronos_vm_options_get_group (options));

  if (!chronos_vm_parse (context, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return chronos_vm_usage_error (context, argc < 2 ? _ ("boot needs one IMAGE") : _ ("boot takes exactly one IMAGE"));

  config = chronos_vm_config_new ();
  if (!chronos_vm_options_apply (options, config, &error))
    return chronos_vm_usage_error (context, error->message);

  if (!chronos_vm_options_has_display (options) && !have_graphical_session ())
    {
      chronos_vm_config_set_display (config, CHRONOS_DISPLAY_MODE_NONE);
      say ("note", _ ("No graphical session: running without a window (use --display vnc to watch it with a VNC viewer)."));
    }

  if (chronos_vm_options_get_writable (options))
    g_printerr ("chronos-vm: %s\n", chronos_vm_options_writable_warning ());

  qemu = chronos_qemu_find (chronos_vm_options_get_qemu_dir (options), &error);
  if (qemu == NULL)
    return chronos_vm_fail (argv[1], error);

  interrupt = chronos_vm_cancel_on_signals ();
  loop = g_main_loop_new (NULL, FALSE);
  vm = chronos_vm_new (qemu, config, argv[1]);

  boot.loop = loop;
  boot.vm = vm;
  boot.interrupt = interrupt;
  boot.image = argv[1];
  boot.status = CHRONOS_VM_EXIT_FAILED;

  say ("image", chronos_vm_get_image_path (vm));
  g_signal_connect (vm, "exited", G_CALLBACK (exited_cb), &boot);
  g_signal_connect (vm, "restarted", G_CALLBACK (restarted_cb), &boot);
  g_cancellable_connect (interrupt, G_CALLBACK (interrupted_cb), &boot, NULL);

  chronos_vm_start_async (vm, interrupt, start_cb, &boot);

  g_main_loop_run (loop);

  g_signal_handlers_disconnect_by_data (vm, &boot);
  return boot.status;
}
