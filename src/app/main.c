/* main.c: start Chronos
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "chronos-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr (ChronosApplication) app = NULL;

  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* The AT-SPI name and the WM class; tests find the app by it. */
  g_set_prgname ("chronos");
  g_set_application_name (_ ("Chronos"));

  app = chronos_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
