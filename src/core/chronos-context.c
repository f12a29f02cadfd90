/* chronos-context.c: hand a callback from a worker thread to a main context
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * g_main_context_invoke () runs the callback right away on the calling
 * thread whenever that thread can acquire the context, e.g. between two
 * iterations of a loop on the default context: a worker thread would then
 * touch main-thread objects. An attached idle source always runs on the
 * thread that iterates the context.
 */

#include "config.h"

#include "chronos-context.h"

void
chronos_context_invoke_later (GMainContext *context,
                              GSourceFunc   func,
                              gpointer      data,
                              const char   *name)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, data, NULL);
  g_source_set_static_name (source, name);
  g_source_attach (source, context);
  g_source_unref (source);
}
