/* chronos-vm-serve.c: `chronos-vm serve`, a backup image as a read-only NBD export
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * For file recovery without booting: any image Chronos can read (a plain
 * VHDX, a differencing chain, one with a pending log or 4096-byte
 * sectors) is served from Chronos's own reader on a Unix socket until
 * Ctrl+C, so that qemu-img, nbdinfo, nbdfuse or guestfish can read it.
 */

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "chronos-image-server.h"
#include "chronos-vm-commands.h"
#include "chronos-vm-util.h"

typedef struct
{
  GMainLoop *loop;
  gboolean   once;
} ServeRun;

static void
cancelled_cb (GCancellable *cancellable,
              ServeRun     *run)
{
  g_main_loop_quit (run->loop);
}

static void
client_closed_cb (ChronosImageServer *server,
                  ServeRun           *run)
{
  if (run->once && chronos_image_server_get_n_clients (server) == 0)
    g_main_loop_quit (run->loop);
}

static void
print_how_to (ChronosImageServer *server)
{
  const char        *uri = chronos_image_server_get_nbd_uri (server);
  ChronosImageChain *chain = chronos_image_server_get_chain (server);
  g_autofree char   *size = g_format_size_full (chronos_image_chain_get_virtual_size (chain), G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char   *quoted = g_shell_quote (uri);
  g_autofree char   *socket_quoted = g_shell_quote (chronos_image_server_get_socket_path (server));

  g_print (_ ("Serving %s read-only (%s"), chronos_image_chain_get_path (chain), size);
  for (guint i = 1; i < chronos_image_chain_get_length (chain); i++)
    g_print (i == 1 ? _ (", through %s") : " -> %s", chronos_vhdx_get_path (chronos_image_chain_get_image (chain, i)));
  g_print (")\n");
  g_print ("%s\n\n", uri);
  g_print ("%s\n", _ ("Examples (in another terminal):"));
  g_print ("  qemu-img info %s\n", quoted);
  g_print ("  nbdinfo %s\n", quoted);
  g_print ("  guestfish --ro --format=raw -a %s -i\n", quoted);
  g_print ("  mkdir -p /tmp/disk && nbdfuse -r /tmp/disk/disk.raw --unix %s &\n", socket_quoted);
  g_print ("\n%s\n", _ ("Press Ctrl+C to stop."));
  fflush (stdout);
}

int
chronos_vm_cmd_serve (int    argc,
                      char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (ChronosImageServer) server = NULL;
  g_autoptr (GCancellable) cancellable = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char   *socket_path = NULL;
  gboolean           once = FALSE;
  int                status = CHRONOS_VM_EXIT_OK;
  ServeRun           run = { 0 };
  const GOptionEntry entries[] = {
    { "socket", 0, 0, G_OPTION_ARG_FILENAME, &socket_path, N_ ("Listen on this Unix socket (required)"), N_ ("PATH") },
    { "once", 0, 0, G_OPTION_ARG_NONE, &once, N_ ("Stop when the last client disconnects"), NULL },
    { NULL },
  };

  context = g_option_context_new (_ ("serve IMAGE --socket PATH"));
  g_option_context_set_summary (context, _ ("Export a backup image (also a differencing chain, one with a pending\nlog or with 4096-byte sectors) read-only over NBD on a Unix socket,\nuntil Ctrl+C, so that qemu-img, nbdinfo, nbdfuse or guestfish can read\nits files without booting it. The image is never written."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!chronos_vm_parse (context, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return chronos_vm_usage_error (context, argc < 2 ? _ ("serve needs one IMAGE") : _ ("serve takes exactly one IMAGE"));
  if (socket_path == NULL)
    return chronos_vm_usage_error (context, _ ("serve needs --socket PATH"));

  server = chronos_image_server_new (argv[1], &error);
  if (server == NULL)
    return chronos_vm_fail (argv[1], error);
  if (!chronos_image_server_start (server, socket_path, &error))
    return chronos_vm_fail (socket_path, error);

  cancellable = chronos_vm_cancel_on_signals ();
  run.loop = g_main_loop_new (NULL, FALSE);
  run.once = once;
  g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb), &run, NULL);
  g_signal_connect (server, "client-closed", G_CALLBACK (client_closed_cb), &run);

  print_how_to (server);
  if (!g_cancellable_is_cancelled (cancellable))
    g_main_loop_run (run.loop);

  g_signal_handlers_disconnect_by_data (server, &run);
  chronos_image_server_stop (server);
  g_main_loop_unref (run.loop);
  g_printerr ("%s\n", _ ("chronos-vm: stopped serving; the socket is removed"));
  return CHRONOS_VM_EXIT_OK;
}
