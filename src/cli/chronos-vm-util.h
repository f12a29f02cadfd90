/* chronos-vm-util.h: helpers every chronos-vm command shares
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

int       chronos_vm_fail            (const char      *path,
                                      const GError    *error);
int       chronos_vm_usage_error     (GOptionContext  *context,
                                      const char      *message);
gboolean  chronos_vm_parse           (GOptionContext  *context,
                                      int             *argc,
                                      char          ***argv,
                                      int             *exit_status);
void      chronos_vm_print_json      (JsonNode        *node);
GCancellable *chronos_vm_cancel_on_signals (void);

G_END_DECLS
