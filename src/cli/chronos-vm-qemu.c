/* chronos-vm-qemu.c: `chronos-vm qemu status` and `chronos-vm qemu install`
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * `qemu status [--json]` says which QEMU Chronos would run (where from,
 * version), which accelerators this host offers, which UEFI firmware was
 * found and what Chronos itself installed. Exit status 0 when a usable
 * QEMU was found, 1 when not (the output then says how to install it).
 *
 * `qemu install [--manifest URL | --from FILE] [--dest DIR] [--yes]`
 * prints what it will download (size, source, destination) and asks. It
 * only asks on a terminal: when standard input is not one, --yes is
 * required (exit status 2 otherwise), so a script never hangs on a
 * question. Progress goes to stderr: a bar on a terminal, one line per
 * step and every 10 % otherwise. Ctrl+C cancels cleanly (nothing is left
 * behind). Exit status: 0 installed, 1 failed or cancelled, 2 usage.
 */

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chronos-paths.h"
#include "chronos-provisioner.h"
#include "chronos-vm-commands.h"
#include "chronos-vm-util.h"

#ifdef CHRONOS_PROVISION_HAVE_QEMU_HINT
#include "chronos-qemu.h"
#endif
#ifdef CHRONOS_PROVISION_HAVE_ACCEL
#include "chronos-accel.h"
#endif
#ifdef CHRONOS_PROVISION_HAVE_FIRMWARE
#include "chronos-firmware.h"
#endif

static void
print_row (const char *label,
           const char *value)
{
  glong width = g_utf8_strlen (label, -1);

  g_print ("%s%*s %s\n", label, (int)MAX (0, 16 - width), "", value ? value : "");
}

/* ------------------------------------------------------------------------
 * qemu status
 * ------------------------------------------------------------------------ */

static int
cmd_status (int    argc,
            char **argv)
{
  gboolean           json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_ ("Print one JSON document"), NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) qemu_error = NULL;
  g_autoptr (JsonObject) record = NULL;
  g_autofree char *install_dir = chronos_paths_qemu_install_dir ();
  g_autofree char *hint = NULL;
  gboolean         found = FALSE;
  int              status;

  g_option_context_set_summary (context, _ ("Show which QEMU Chronos uses, the accelerators and the firmware."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!chronos_vm_parse (context, &argc, &argv, &status))
    return status;
  if (argc > 1)
    return chronos_vm_usage_error (context, _ ("qemu status takes no arguments"));

  json_builder_begin_object (b);

  /* QEMU */
  json_builder_set_member_name (b, "qemu");
  json_builder_begin_object (b);
  {
#ifdef CHRONOS_PROVISION_HAVE_QEMU_HINT
    g_autoptr (ChronosQemu) qemu = chronos_qemu_find (NULL, &qemu_error);

    if (qemu != NULL)
      {
        found = TRUE;
        json_builder_set_member_name (b, "found");
        json_builder_add_boolean_value (b, TRUE);
        json_builder_set_member_name (b, "source");
        json_builder_add_string_value (b, chronos_qemu_source_to_string (chronos_qemu_get_source (qemu)));
        json_builder_set_member_name (b, "system");
        json_builder_add_string_value (b, chronos_qemu_get_system_path (qemu));
        json_builder_set_member_name (b, "img");
        json_builder_add_string_value (b, chronos_qemu_get_img_path (qemu));
        json_builder_set_member_name (b, "version");
        json_builder_add_string_value (b, chronos_qemu_get_version_string (qemu));
        json_builder_set_member_name (b, "data_dir");
        json_builder_add_string_value (b, chronos_qemu_get_data_dir (qemu));
        if (!json)
          {
            g_autofree char *line = g_strdup_printf ("%s (%s)", chronos_qemu_get_version_string (qemu),
                                                     chronos_qemu_source_to_string (chronos_qemu_get_source (qemu)));
            print_row (_ ("QEMU:"), line);
            print_row (_ ("Emulator:"), chronos_qemu_get_system_path (qemu));
            print_row (_ ("qemu-img:"), chronos_qemu_get_img_path (qemu));
          }
      }
#else
    g_set_error_literal (&qemu_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                         _ ("This build of chronos-vm cannot look for QEMU yet."));
#endif
    if (!found)
      {
        hint = chronos_provisioner_no_bundle_hint ();
        json_builder_set_member_name (b, "found");
        json_builder_add_boolean_value (b, FALSE);
        json_builder_set_member_name (b, "error");
        json_builder_add_string_value (b, qemu_error->message);
        json_builder_set_member_name (b, "hint");
        json_builder_add_string_value (b, hint);
        if (!json)
          {
            print_row (_ ("QEMU:"), _ ("not found"));
            print_row ("", qemu_error->message);
          }
      }
  }
  json_builder_end_object (b);

  /* Accelerators */
  json_builder_set_member_name (b, "accelerators");
  json_builder_begin_array (b);
#ifdef CHRONOS_PROVISION_HAVE_ACCEL
  {
    ChronosAccelKind kinds[] = { chronos_accel_host_hardware_kind (), CHRONOS_ACCEL_KIND_TCG };

    for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
      {
        g_autofree char *reason = NULL;
        gboolean         usable;

        if (kinds[i] == CHRONOS_ACCEL_KIND_UNKNOWN)
          continue;
        usable = chronos_accel_probe (kinds[i], &reason);
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "name");
        json_builder_add_string_value (b, chronos_accel_kind_to_string (kinds[i]));
        json_builder_set_member_name (b, "available");
        json_builder_add_boolean_value (b, usable);
        json_builder_set_member_name (b, "reason");
        if (reason != NULL)
          json_builder_add_string_value (b, reason);
        else
          json_builder_add_null_value (b);
        json_builder_end_object (b);
        if (!json)
          {
            g_autofree char *line = g_strdup_printf ("%s: %s%s%s", chronos_accel_kind_to_string (kinds[i]),
                                                     usable ? _ ("available") : _ ("not available"),
                                                     reason ? " — " : "", reason ? reason : "");
            print_row (i == 0 ? _ ("Accelerators:") : "", line);
          }
      }
  }
#endif
  json_builder_end_array (b);

  /* Firmware */
  json_builder_set_member_name (b, "firmware");
#ifdef CHRONOS_PROVISION_HAVE_FIRMWARE
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (ChronosFirmware) firmware = NULL;
#ifdef CHRONOS_PROVISION_HAVE_QEMU_HINT
    g_autoptr (ChronosQemu) qemu = chronos_qemu_find (NULL, NULL);
    firmware = chronos_firmware_find (qemu, &error);
#else
    firmware = chronos_firmware_find (NULL, &error);
#endif
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "found");
    json_builder_add_boolean_value (b, firmware != NULL);
    if (firmware != NULL)
      {
        json_builder_set_member_name (b, "code");
        json_builder_add_string_value (b, chronos_firmware_get_code_path (firmware));
        json_builder_set_member_name (b, "vars");
        json_builder_add_string_value (b, chronos_firmware_get_vars_path (firmware));
        json_builder_set_member_name (b, "description");
        json_builder_add_string_value (b, chronos_firmware_get_description (firmware));
        if (!json)
          {
            print_row (_ ("UEFI firmware:"), chronos_firmware_get_description (firmware));
            print_row ("", chronos_firmware_get_code_path (firmware));
          }
      }
    else
      {
        json_builder_set_member_name (b, "error");
        json_builder_add_string_value (b, error->message);
        if (!json)
          print_row (_ ("UEFI firmware:"), error->message);
      }
    json_builder_end_object (b);
  }
#else
  json_builder_add_null_value (b);
#endif

  /* What Chronos installed */
  json_builder_set_member_name (b, "install_dir");
  json_builder_add_string_value (b, install_dir);
  json_builder_set_member_name (b, "installed");
  record = chronos_provisioner_read_record (install_dir, NULL);
  if (record != NULL)
    {
      JsonNode *node = json_node_new (JSON_NODE_OBJECT);

      json_node_set_object (node, record);
      json_builder_add_value (b, node);
      if (!json)
        {
          g_autofree char *line = g_strdup_printf (_ ("QEMU %s, installed %s"),
                                                   json_object_get_string_member_with_default (record, "version", "?"),
                                                   json_object_get_string_member_with_default (record, "installed", "?"));
          print_row (_ ("Installed:"), line);
          print_row ("", install_dir);
        }
    }
  else
    {
      json_builder_add_null_value (b);
      if (!json)
        print_row (_ ("Installed:"), _ ("nothing (chronos-vm qemu install)"));
    }

  json_builder_end_object (b);

  if (json)
    {
      root = json_builder_get_root (b);
      chronos_vm_print_json (root);
    }
  else if (hint != NULL)
    g_print ("\n%s\n", hint);

  return found ? CHRONOS_VM_EXIT_OK : CHRONOS_VM_EXIT_FAILED;
}

/* ------------------------------------------------------------------------
 * qemu install
 * ------------------------------------------------------------------------ */

typedef struct
{
  GMainLoop *loop;
  GError    *error;
  gpointer   result;
  gboolean   tty;
  int        last_decile;
  gint64     last_draw;
  char      *last_step;
} Install;

static void
manifest_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Install *install = user_data;

  install->result = chronos_manifest_load_finish (result, &install->error);
  g_main_loop_quit (install->loop);
}

static void
install_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  Install *install = user_data;

  chronos_provisioner_install_finish (CHRONOS_PROVISIONER (object), result, &install->error);
  g_main_loop_quit (install->loop);
}

static void
draw_progress (ChronosJob *job,
               Install    *install,
               gboolean    force)
{
  const char      *step = chronos_job_get_step (job);
  double           fraction = chronos_job_get_fraction (job);
  gboolean         new_step = g_strcmp0 (step, install->last_step) != 0;
  g_autofree char *text = NULL;

  /* Bytes, rate and time left mean something while downloading; the
   * other steps show how far they are. */
  if (g_strcmp0 (step, _ ("Downloading")) == 0)
    text = chronos_job_format_progress (job);
  else if (fraction >= 0)
    text = g_strdup_printf ("%.0f %%", fraction * 100.0);
  else
    text = g_strdup ("");

  if (new_step)
    {
      g_free (install->last_step);
      install->last_step = g_strdup (step);
      install->last_decile = -1;
    }

  if (install->tty)
    {
      gint64 now = g_get_monotonic_time ();
      char   bar[31];
      int    filled = fraction >= 0 ? (int)(fraction * 30) : 0;

      if (!force && !new_step && now - install->last_draw < 100 * G_TIME_SPAN_MILLISECOND)
        return;
      install->last_draw = now;
      for (int i = 0; i < 30; i++)
        bar[i] = i < filled ? '#' : (fraction >= 0 ? '.' : ' ');
      bar[30] = '\0';
      g_printerr ("\r\033[K%-12s [%s] %s", step ? step : "", bar, text);
    }
  else
    {
      int decile = fraction >= 0 ? (int)(fraction * 10) : -1;

      if (!new_step && decile <= install->last_decile)
        return;
      install->last_decile = decile;
      if (!new_step && *text)
        g_printerr ("%s: %s\n", step ? step : "", text);
      else
        g_printerr ("%s…\n", step ? step : "");
    }
}

static void
job_notify_cb (GObject    *object,
               GParamSpec *pspec,
               gpointer    user_data)
{
  draw_progress (CHRONOS_JOB (object), user_data, FALSE);
}

static gboolean
ask (const char *question)
{
  char answer[64] = { 0 };

  g_printerr ("%s ", question);
  if (fgets (answer, sizeof answer, stdin) == NULL)
    return FALSE;
  g_strstrip (answer);
  /* Translators: the one-letter answer that means yes to a [y/N] question */
  return g_ascii_strcasecmp (answer, "y") == 0 || g_ascii_strcasecmp (answer, "yes") == 0 ||
         g_strcmp0 (answer, C_ ("answer", "y")) == 0;
}

static int
cmd_install (int    argc,
             char **argv)
{
  g_autofree char   *manifest_url = NULL;
  g_autofree char   *from_file = NULL;
  g_autofree char   *dest = NULL;
  gboolean           yes = FALSE;
  const GOptionEntry entries[] = {
    { "manifest", 0, 0, G_OPTION_ARG_STRING, &manifest_url, N_ ("Read the bundle list from this manifest (HTTPS) instead of the built-in one"), N_ ("URL") },
    { "from", 0, 0, G_OPTION_ARG_FILENAME, &from_file, N_ ("Install a bundle downloaded by hand (checked against the manifest)"), N_ ("FILE") },
    { "dest", 0, 0, G_OPTION_ARG_FILENAME, &dest, N_ ("Install here instead of Chronos’s own QEMU folder"), N_ ("DIR") },
    { "yes", 'y', 0, G_OPTION_ARG_NONE, &yes, N_ ("Do not ask (required when input is not a terminal)"), NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_autoptr (ChronosManifest) manifest = NULL;
  g_autoptr (ChronosProvisioner) provisioner = NULL;
  g_autoptr (ChronosProvisionPlan) plan = NULL;
  g_autoptr (ChronosJob) job = NULL;
  g_autoptr (GCancellable) cancellable = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  Install                   install = { 0 };
  ChronosManifestComponent *c;
  int                       status;

  g_option_context_set_summary (context, _ ("Download, check and install the QEMU that Chronos runs."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!chronos_vm_parse (context, &argc, &argv, &status))
    return status;
  if (argc > 1)
    return chronos_vm_usage_error (context, _ ("qemu install takes no arguments"));

  if (!yes && !isatty (STDIN_FILENO))
    return chronos_vm_usage_error (context, _ ("standard input is not a terminal, so chronos-vm cannot ask: pass --yes to install"));

  loop = g_main_loop_new (NULL, FALSE);
  install.loop = loop;
  cancellable = chronos_vm_cancel_on_signals ();

  if (manifest_url != NULL)
    {
      chronos_manifest_load_async (manifest_url, cancellable, manifest_cb, &install);
      g_main_loop_run (loop);
      if (install.result == NULL)
        {
          g_autoptr (GError) manifest_error = g_steal_pointer (&install.error);

          return chronos_vm_fail (manifest_url, manifest_error);
        }
      manifest = install.result;
      install.result = NULL;
    }
  else
    {
      manifest = chronos_manifest_new_default (&error);
      if (manifest == NULL)
        return chronos_vm_fail (NULL, error);
    }

  provisioner = chronos_provisioner_new (manifest);
  if (dest != NULL)
    chronos_provisioner_set_destination (provisioner, dest);

  plan = chronos_provisioner_plan (provisioner, from_file, &error);
  if (plan == NULL)
    return chronos_vm_fail (from_file, error);

  c = plan->component;
  {
    g_autofree char *size = g_format_size (plan->size);
    g_autofree char *line = g_strdup_printf ("QEMU %s (%s %s)", c->version, c->os, c->arch);

    g_print ("%s\n", line);
    if (plan->from_file)
      g_print (_ ("  From file:  %s (%s)\n"), plan->source, size);
    else
      {
        g_print (_ ("  Download:   %s from %s\n"), size, plan->source);
        if (plan->resume_offset > 0)
          {
            g_autofree char *done = g_format_size (plan->resume_offset);
            g_print (_ ("  Resuming:   %s already downloaded\n"), done);
          }
      }
    g_print (_ ("  SHA-256:    %s\n"), c->sha256);
    g_print (_ ("  Install to: %s\n"), plan->destination);
    if (plan->free_space > 0)
      {
        g_autofree char *free_text = g_format_size (plan->free_space);
        g_print (_ ("  Free space: %s\n"), free_text);
      }
  }

  if (!yes && !ask (plan->from_file ? _ ("Install it? [y/N]") : _ ("Download and install it? [y/N]")))
    {
      g_printerr ("%s\n", _ ("Nothing was installed."));
      return CHRONOS_VM_EXIT_FAILED;
    }

  job = chronos_job_new (_ ("Installing QEMU"));
  install.tty = isatty (STDERR_FILENO);
  install.last_decile = -1;
  g_signal_connect (job, "notify::step", G_CALLBACK (job_notify_cb), &install);
  g_signal_connect (job, "notify::bytes-done", G_CALLBACK (job_notify_cb), &install);
  g_signal_connect (job, "notify::fraction", G_CALLBACK (job_notify_cb), &install);

  chronos_provisioner_install_async (provisioner, plan, job, cancellable, install_cb, &install);
  g_main_loop_run (loop);
  g_signal_handlers_disconnect_by_data (job, &install);
  if (install.tty)
    g_printerr ("\n");
  g_free (install.last_step);

  if (install.error != NULL)
    {
      g_autoptr (GError) install_error = install.error;

      if (g_error_matches (install_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_printerr ("chronos-vm: %s\n", _ ("cancelled; nothing was installed"));
          return CHRONOS_VM_EXIT_FAILED;
        }
      return chronos_vm_fail (NULL, install_error);
    }

  g_print (_ ("Installed QEMU %s in %s.\n"), c->version, plan->destination);
  return CHRONOS_VM_EXIT_OK;
}

int
chronos_vm_cmd_qemu (int    argc,
                     char **argv)
{
  if (argc >= 2 && strcmp (argv[1], "status") == 0)
    return cmd_status (argc - 1, argv + 1);
  if (argc >= 2 && strcmp (argv[1], "install") == 0)
    return cmd_install (argc - 1, argv + 1);

  if (argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      g_print ("%s\n", _ ("Usage: chronos-vm qemu status [--json]\n"
                          "       chronos-vm qemu install [--manifest URL | --from FILE] [--dest DIR] [--yes]"));
      return CHRONOS_VM_EXIT_OK;
    }

  g_printerr ("chronos-vm: %s\n", argc < 2 ? _ ("qemu needs a subcommand: status or install")
                                           : _ ("unknown qemu subcommand (status, install)"));
  return CHRONOS_VM_EXIT_USAGE;
}
