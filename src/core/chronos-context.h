/* chronos-context.h: hand a callback from a worker thread to a main context
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Runs @func (@data) once on @context, at G_PRIORITY_DEFAULT, from any
 * thread. Unlike g_main_context_invoke () it never runs @func on the calling
 * thread, and callbacks attached in order run in order, before a GTask
 * result returned later from the same thread. @name names the source for
 * profilers. */
void chronos_context_invoke_later (GMainContext *context,
                                   GSourceFunc   func,
                                   gpointer      data,
                                   const char   *name);

G_END_DECLS
