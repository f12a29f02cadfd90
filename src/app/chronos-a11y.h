/* chronos-a11y.h: accessible names GTK 4.8 gets wrong
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* GTK 4.8 names a button with a mnemonic "_Boot Boot": it sets the raw
 * label as the accessible label and adds the text of the label inside.
 * This drops the former for every such button under @root, so screen
 * readers (and tests) hear "Boot". */
void chronos_a11y_fix_mnemonic_buttons (GtkWidget *root);
/* gtk_button_set_label() with a mnemonic, keeping the name right. */
void chronos_a11y_set_button_label (GtkButton  *button,
                                    const char *label);

G_END_DECLS
