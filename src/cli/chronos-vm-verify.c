/* chronos-vm-verify.c: `chronos-vm verify`, boot a backup headless and judge it
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <unistd.h>

#include "chronos-verifier.h"
#include "chronos-verify-judge.h"
#include "chronos-vm-commands.h"
#include "chronos-vm-options.h"
#include "chronos-vm-util.h"

typedef struct
{
  GMainLoop           *loop;
  ChronosVerification *verification;
  GError              *error;
  gboolean             done;
} VerifyRun;

static void
verify_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  VerifyRun *run = user_data;

  run->verification = chronos_verifier_verify_finish (CHRONOS_VERIFIER (object), result, &run->error);
  run->done = TRUE;
  g_main_loop_quit (run->loop);
}

static void
step_cb (ChronosJob *job,
         GParamSpec *pspec,
         gpointer    user_data)
{
  const char *step = chronos_job_get_step (job);

  if (step != NULL)
    g_printerr ("%s…\n", step);
}

static char *
format_time (double seconds)
{
  if (seconds < 0)
    return g_strdup (_ ("never"));
  return g_strdup_printf ("%.1f s", seconds);
}

static void
print_human (ChronosVerification *v)
{
  g_autofree char *first = format_time (chronos_verification_get_first_screen (v));
  g_autofree char *stable = format_time (chronos_verification_get_stable_screen (v));
  g_autofree char *verdict = format_time (chronos_verification_get_verdict_at (v));
  g_autofree char *total = format_time (chronos_verification_get_seconds (v));
  const char      *accel = chronos_verification_get_accelerator (v);

  g_print ("%-13s %s\n", _ ("Verdict:"), chronos_verdict_to_string (chronos_verification_get_verdict (v)));
  g_print ("%-13s %s\n", _ ("Reason:"), chronos_verification_get_reason (v));
  /* Translators: the times since the guest started running */
  g_print ("%-13s %s %s, %s %s, %s %s (%s %s)\n", _ ("Timings:"),
           _ ("first screen"), first, _ ("stable screen"), stable, _ ("verdict"), verdict,
           _ ("all in all"), total);
  if (chronos_verification_get_fell_back (v))
    g_print ("%-13s %s (%s: %s)\n", _ ("Accelerator:"), accel, _ ("fell back"),
             chronos_verification_get_fallback_reason (v));
  else
    g_print ("%-13s %s\n", _ ("Accelerator:"), accel);
  g_print ("%-13s %s\n", _ ("Firmware:"), chronos_verification_get_firmware (v));
  g_print ("%-13s %s\n", _ ("Screenshot:"),
           chronos_verification_get_screenshot (v) ? chronos_verification_get_screenshot (v) : _ ("none"));
  g_print ("%-13s %s\n", _ ("Log:"), chronos_verification_get_log (v) ? chronos_verification_get_log (v) : _ ("none"));
}

int
chronos_vm_cmd_verify (int    argc,
                       char **argv)
{
  gboolean         json = FALSE;
  gboolean         no_save = FALSE;
  double           timeout = CHRONOS_VERIFY_DEFAULT_TIMEOUT;
  double           settle = CHRONOS_VERIFY_DEFAULT_SETTLE;
  g_autofree char *screenshot = NULL;
  g_auto (GStrv) args = NULL;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_ ("Print the result as JSON"), NULL },
    { "timeout", 0, 0, G_OPTION_ARG_DOUBLE, &timeout,
      N_ ("Give up after S seconds (default 120)"), N_ ("S") },
    { "settle", 0, 0, G_OPTION_ARG_DOUBLE, &settle,
      N_ ("A screen unchanged for S seconds counts as booted (default 3)"), N_ ("S") },
    { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, &screenshot,
      N_ ("Save the final screenshot (PNG) to FILE"), N_ ("FILE") },
    { "no-save", 0, 0, G_OPTION_ARG_NONE, &no_save,
      N_ ("Do not keep the result with the backup’s verification history"), NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args, NULL, N_ ("IMAGE") },
    { NULL }
  };
  g_autoptr (ChronosVmOptions) options = chronos_vm_options_new ();
  g_autoptr (GOptionContext) context = g_option_context_new (_ ("IMAGE"));
  g_autoptr (ChronosVmConfig) config = NULL;
  g_autoptr (ChronosQemu) qemu = NULL;
  g_autoptr (ChronosVerifier) verifier = NULL;
  g_autoptr (GCancellable) cancellable = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  g_autoptr (GError) error = NULL;
  VerifyRun run = { 0 };
  int       status;

  g_option_context_set_summary (context,
                                _ ("Boot a backup image headless and read-only, watch its screen and say "
                                   "whether it boots: booted, failed (with the cause) or timeout. "
                                   "Exit status 0 only for booted."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_group (context, chronos_vm_options_get_group (options));

  if (!chronos_vm_parse (context, &argc, &argv, &status))
    return status;

  if (args == NULL || g_strv_length (args) != 1)
    return chronos_vm_usage_error (context, _ ("verify needs exactly one IMAGE"));
  if (!(timeout >= 1 && timeout <= 24 * 3600))
    return chronos_vm_usage_error (context, _ ("--timeout must be between 1 and 86400 seconds"));
  if (!(settle >= 0.5 && settle <= 3600))
    return chronos_vm_usage_error (context, _ ("--settle must be between 0.5 and 3600 seconds"));

  /* Offline unless --network says otherwise; headless always. */
  config = chronos_vm_config_new ();
  chronos_vm_config_set_network (config, FALSE);
  if (!chronos_vm_options_apply (options, config, &error))
    return chronos_vm_usage_error (context, error->message);
  if (chronos_vm_options_get_writable (options))
    g_printerr ("chronos-vm: %s\n", chronos_vm_options_writable_warning ());

  qemu = chronos_qemu_find (chronos_vm_options_get_qemu_dir (options), &error);
  if (qemu == NULL)
    return chronos_vm_fail (args[0], error);

  verifier = chronos_verifier_new (qemu, config, args[0]);
  chronos_verifier_set_timeout (verifier, timeout);
  chronos_verifier_set_settle (verifier, settle);
  chronos_verifier_set_network (verifier, chronos_vm_config_get_network (config));
  chronos_verifier_set_save_result (verifier, !no_save);
  if (screenshot != NULL)
    {
      g_autofree char *absolute = g_canonicalize_filename (screenshot, NULL);
      chronos_verifier_set_screenshot_path (verifier, absolute);
    }

  if (!json && isatty (STDERR_FILENO))
    g_signal_connect (chronos_verifier_get_job (verifier), "notify::step", G_CALLBACK (step_cb), NULL);

  cancellable = chronos_vm_cancel_on_signals ();
  loop = g_main_loop_new (NULL, FALSE);
  run.loop = loop;
  chronos_verifier_verify_async (verifier, cancellable, verify_cb, &run);
  if (!run.done)
    g_main_loop_run (loop);

  if (run.error != NULL)
    {
      g_autoptr (GError) run_error = g_steal_pointer (&run.error);

      if (g_error_matches (run_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_printerr ("chronos-vm: %s: %s\n", args[0], _ ("verification cancelled; the VM was stopped"));
          return CHRONOS_VM_EXIT_FAILED;
        }
      return chronos_vm_fail (args[0], run_error);
    }

  if (json)
    {
      g_autoptr (JsonNode) node = chronos_verification_to_json (run.verification);
      chronos_vm_print_json (node);
    }
  else
    print_human (run.verification);

  status = chronos_verification_get_verdict (run.verification) == CHRONOS_VERDICT_BOOTED
               ? CHRONOS_VM_EXIT_OK
               : CHRONOS_VM_EXIT_FAILED;
  g_clear_object (&run.verification);
  return status;
}
