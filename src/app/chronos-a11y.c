/* chronos-a11y.c: accessible names GTK 4.8 gets wrong
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include "chronos-a11y.h"

static void
fix_button (GtkWidget *widget)
{
  if (GTK_IS_BUTTON (widget) && gtk_button_get_use_underline (GTK_BUTTON (widget)) &&
      gtk_button_get_label (GTK_BUTTON (widget)) != NULL)
    gtk_accessible_reset_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL);
}

void
chronos_a11y_fix_mnemonic_buttons (GtkWidget *root)
{
  g_return_if_fail (GTK_IS_WIDGET (root));

  fix_button (root);
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    chronos_a11y_fix_mnemonic_buttons (child);
}

void
chronos_a11y_set_button_label (GtkButton  *button,
                               const char *label)
{
  g_return_if_fail (GTK_IS_BUTTON (button));

  gtk_button_set_label (button, label);
  fix_button (GTK_WIDGET (button));
}
