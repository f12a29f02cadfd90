/* chronos-vm-util.c: helpers every chronos-vm command shares
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#ifdef G_OS_UNIX
# include <glib-unix.h>
# include <signal.h>
#endif

#include "chronos-vm-commands.h"
#include "chronos-vm-util.h"

/* The one error format scripts can rely on:
 * "chronos-vm: PATH: what is wrong" on a single line of stderr. */
int
chronos_vm_fail (const char   *path,
                 const GError *error)
{
  g_autofree char *message = g_strdup (error ? error->message : _("Unknown error"));

  g_strdelimit (message, "\r\n", ' ');

  if (path != NULL)
    g_printerr ("chronos-vm: %s: %s\n", path, message);
  else
    g_printerr ("chronos-vm: %s\n", message);

  return CHRONOS_VM_EXIT_FAILED;
}

int
chronos_vm_usage_error (GOptionContext *context,
                        const char     *message)
{
  g_printerr ("chronos-vm: %s\n", message);
  g_printerr ("%s\n", _("Try “chronos-vm COMMAND --help” for more information."));
  return CHRONOS_VM_EXIT_USAGE;
}

/* Parses options and turns a parse error into exit status 2. */
gboolean
chronos_vm_parse (GOptionContext  *context,
                  int             *argc,
                  char          ***argv,
                  int             *exit_status)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      *exit_status = chronos_vm_usage_error (context, error->message);
      return FALSE;
    }

  return TRUE;
}

void
chronos_vm_print_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

#ifdef G_OS_UNIX
static gboolean
on_signal_cb (gpointer user_data)
{
  GCancellable *cancellable = user_data;

  if (g_cancellable_is_cancelled (cancellable))
    {
      /* A second Ctrl+C means "now": leave, the VM's death signal and the
       * next start's stale-directory sweep clean up after us. */
      g_printerr ("chronos-vm: interrupted again, exiting at once\n");
      _exit (130);
    }

  g_cancellable_cancel (cancellable);
  return G_SOURCE_CONTINUE;
}
#endif

/* A cancellable that SIGINT and SIGTERM cancel, so long operations end
 * through their normal clean-up path (shut down the VM, remove partial
 * files) instead of dying half way. */
GCancellable *
chronos_vm_cancel_on_signals (void)
{
  GCancellable *cancellable = g_cancellable_new ();

#ifdef G_OS_UNIX
  g_unix_signal_add_full (G_PRIORITY_HIGH, SIGINT, on_signal_cb,
                          g_object_ref (cancellable), g_object_unref);
  g_unix_signal_add_full (G_PRIORITY_HIGH, SIGTERM, on_signal_cb,
                          g_object_ref (cancellable), g_object_unref);
#endif

  return cancellable;
}
