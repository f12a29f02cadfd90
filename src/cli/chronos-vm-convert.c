/* chronos-vm-convert.c: `chronos-vm convert`, a backup image to QCOW2
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chronos-converter.h"
#include "chronos-qemu.h"
#include "chronos-vm-commands.h"
#include "chronos-vm-util.h"

#define BAR_WIDTH 30
/* Redrawing a terminal line faster than this only costs CPU. */
#define REDRAW_INTERVAL_USEC (100 * G_TIME_SPAN_MILLISECOND)

typedef struct
{
  GMainLoop *loop;
  GError    *error;
  gboolean   done;
  gboolean   tty;
  gboolean   drew_bar;
  int        last_percent;
  gint64     last_draw;
} ConvertRun;

static void
draw_progress (ChronosJob *job,
               ConvertRun *run,
               gboolean    final)
{
  double fraction = chronos_job_get_fraction (job);
  int    percent = fraction < 0.0 ? 0 : (int)(fraction * 100.0);

  if (run->tty)
    {
      gint64           now = g_get_monotonic_time ();
      g_autofree char *detail = NULL;
      char             bar[BAR_WIDTH + 1];
      int              filled = fraction < 0.0 ? 0 : (int)(fraction * BAR_WIDTH);

      if (!final && percent == run->last_percent && now - run->last_draw < REDRAW_INTERVAL_USEC)
        return;
      run->last_draw = now;
      run->last_percent = percent;

      memset (bar, '#', filled);
      memset (bar + filled, '-', BAR_WIDTH - filled);
      bar[BAR_WIDTH] = '\0';
      detail = chronos_job_format_progress (job);

      /* \033[K clears what a longer previous line left behind. */
      g_print ("\r[%s] %3d%%  %s\033[K", bar, percent, detail);
      run->drew_bar = TRUE;
      if (final)
        g_print ("\n");
      fflush (stdout);
    }
  else if (percent != run->last_percent)
    {
      run->last_percent = percent;
      g_print ("progress: %d%%\n", percent);
      fflush (stdout);
    }
}

static void
job_progress_cb (ChronosJob *job,
                 GParamSpec *pspec,
                 ConvertRun *run)
{
  if (chronos_job_get_state (job) == CHRONOS_JOB_STATE_RUNNING)
    draw_progress (job, run, FALSE);
}

static void
convert_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  ConvertRun *run = user_data;

  chronos_converter_convert_finish (CHRONOS_CONVERTER (object), result, &run->error);
  run->done = TRUE;
  g_main_loop_quit (run->loop);
}

int
chronos_vm_cmd_convert (int    argc,
                        char **argv)
{
  gboolean         progress = FALSE;
  gboolean         force = FALSE;
  g_autofree char *qemu_dir = NULL;
  g_auto (GStrv) args = NULL;
  const GOptionEntry entries[] = {
    { "progress", 'p', 0, G_OPTION_ARG_NONE, &progress,
      N_ ("Show progress (a bar on a terminal, “progress: N%” lines otherwise)"), NULL },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force,
      N_ ("Replace OUTPUT if it exists"), NULL },
    { "qemu", 0, 0, G_OPTION_ARG_FILENAME, &qemu_dir,
      N_ ("Use the QEMU in DIR"), N_ ("DIR") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args, NULL, N_ ("IMAGE OUTPUT.qcow2") },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new (_ ("IMAGE OUTPUT.qcow2"));
  g_autoptr (GCancellable) cancellable = NULL;
  g_autoptr (ChronosQemu) qemu = NULL;
  g_autoptr (ChronosConverter) converter = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  g_autoptr (GError) error = NULL;
  ConvertRun  run = { 0 };
  ChronosJob *job;
  int         status;

  g_option_context_set_summary (context,
                                _ ("Convert a VHDX backup image to a QCOW2 file. The backup is only read; "
                                   "OUTPUT appears only when the conversion succeeded."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!chronos_vm_parse (context, &argc, &argv, &status))
    return status;

  if (args == NULL || g_strv_length (args) != 2)
    return chronos_vm_usage_error (context, _ ("convert needs an IMAGE and an OUTPUT file"));

  qemu = chronos_qemu_find (qemu_dir, &error);
  if (qemu == NULL)
    return chronos_vm_fail (args[0], error);

  cancellable = chronos_vm_cancel_on_signals ();
  loop = g_main_loop_new (NULL, FALSE);
  run.loop = loop;
  run.tty = isatty (STDOUT_FILENO);
  run.last_percent = -1;

  converter = chronos_converter_new (chronos_qemu_get_img_path (qemu), args[0], args[1]);
  chronos_converter_set_force (converter, force);
  job = chronos_converter_get_job (converter);

  if (progress)
    {
      g_signal_connect (job, "notify::fraction", G_CALLBACK (job_progress_cb), &run);
      g_signal_connect (job, "notify::rate", G_CALLBACK (job_progress_cb), &run);
    }

  chronos_converter_convert_async (converter, cancellable, convert_cb, &run);
  if (!run.done)
    g_main_loop_run (loop);

  if (progress)
    {
      g_signal_handlers_disconnect_by_data (job, &run);
      if (run.error == NULL)
        draw_progress (job, &run, TRUE);
      else if (run.drew_bar)
        g_print ("\n");
    }

  if (run.error != NULL)
    {
      g_autoptr (GError) run_error = g_steal_pointer (&run.error);

      if (g_error_matches (run_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_printerr ("chronos-vm: %s: %s\n", args[1],
                      _ ("conversion cancelled; nothing was written"));
          return CHRONOS_VM_EXIT_FAILED;
        }

      /* An existing output is about OUTPUT; everything else about IMAGE. */
      if (g_error_matches (run_error, G_IO_ERROR, G_IO_ERROR_EXISTS) ||
          g_error_matches (run_error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY))
        return chronos_vm_fail (args[1], run_error);
      return chronos_vm_fail (args[0], run_error);
    }

  return CHRONOS_VM_EXIT_OK;
}
