/* chronos-download-dialog.c: getting QEMU when it is missing
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A small dialog with one page per state (plan, progress, failed, hint).
 * The work is ChronosProvisioner's; the dialog only shows its plan, binds
 * its ChronosJob to a progress bar and offers what a person can do next.
 * Inside Flatpak, QEMU is bundled and nothing is ever offered for download.
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "chronos-a11y.h"
#include "chronos-download-dialog.h"
#include "chronos-provision-error.h"
#include "chronos-qemu.h"

struct _ChronosDownloadDialog
{
  AdwWindow parent_instance;

  ChronosProvisioner   *provisioner;
  ChronosProvisionPlan *plan;
  ChronosJob           *job;
  GCancellable         *cancellable;
  char                 *from_file;

  GtkButton      *cancel_button;
  GtkButton      *check_again_button;
  GtkButton      *download_button;
  GtkBox         *failed_buttons;
  AdwStatusPage  *failed_page;
  GtkLabel       *hint_label;
  AdwStatusPage  *hint_page;
  AdwStatusPage  *plan_page;
  GtkProgressBar *progress_bar;
  GtkLabel       *progress_label;
  AdwStatusPage  *progress_page;
  GtkButton      *retry_button;
  GtkStack       *stack;
};

G_DEFINE_FINAL_TYPE (ChronosDownloadDialog, chronos_download_dialog, ADW_TYPE_WINDOW)

enum
{
  SIGNAL_INSTALLED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void start_install (ChronosDownloadDialog *self);

static void
show_failure (ChronosDownloadDialog *self,
              const char            *message,
              gboolean               can_retry)
{
  adw_status_page_set_description (self->failed_page, message);
  gtk_widget_set_visible (GTK_WIDGET (self->failed_buttons), can_retry);
  gtk_stack_set_visible_child_name (self->stack, "failed");
  chronos_a11y_set_button_label (self->cancel_button, _ ("_Close"));
}

static void
show_plan (ChronosDownloadDialog *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *size = NULL;
  g_autofree char *host = NULL;
  g_autofree char *description = NULL;
  g_autoptr (GUri) uri = NULL;

  g_clear_pointer (&self->plan, chronos_provision_plan_unref);
  self->plan = chronos_provisioner_plan (self->provisioner, NULL, &error);
  if (self->plan == NULL)
    {
      if (g_error_matches (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NO_COMPONENT))
        {
          /* Nothing published for this system: its packages are the way. */
          g_autofree char *hint = chronos_provisioner_no_bundle_hint ();

          gtk_label_set_label (self->hint_label, hint);
          gtk_stack_set_visible_child_name (self->stack, "hint");
          chronos_a11y_set_button_label (self->cancel_button, _ ("_Close"));
        }
      else
        show_failure (self, error->message,
                      !g_error_matches (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_SANDBOXED));
      return;
    }

  size = g_format_size (self->plan->size);
  uri = g_uri_parse (self->plan->source != NULL ? self->plan->source : self->plan->component->url,
                     G_URI_FLAGS_NONE, NULL);
  host = g_strdup (uri != NULL && g_uri_get_host (uri) != NULL ? g_uri_get_host (uri) : self->plan->component->url);
  /* Translators: QEMU version, download size, web server, folder */
  description = g_strdup_printf (_ ("Chronos runs backups with QEMU, which is not installed. "
                                    "It can download QEMU %s (%s) from %s and install it for you alone in %s."),
                                 self->plan->component->version, size, host, self->plan->destination);
  adw_status_page_set_description (self->plan_page, description);
  gtk_stack_set_visible_child_name (self->stack, "plan");
  chronos_a11y_set_button_label (self->cancel_button, _ ("_Cancel"));
}

static void
job_notify_cb (ChronosDownloadDialog *self)
{
  g_autofree char *progress = NULL;
  const char      *step;

  if (self->job == NULL)
    return;

  progress = chronos_job_format_progress (self->job);
  step = chronos_job_get_step (self->job);
  gtk_progress_bar_set_fraction (self->progress_bar, chronos_job_get_fraction (self->job));
  gtk_label_set_label (self->progress_label, progress != NULL ? progress : "");
  adw_status_page_set_title (self->progress_page, step != NULL && step[0] != '\0' ? step : _ ("Installing QEMU"));
}

static void
install_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr (ChronosDownloadDialog) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!chronos_provisioner_install_finish (CHRONOS_PROVISIONER (object), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          /* The person cancelled: nothing to report, back to the start. */
          show_plan (self);
          return;
        }
      show_failure (self, error->message, TRUE);
      return;
    }

  g_signal_emit (self, signals[SIGNAL_INSTALLED], 0);
  gtk_window_close (GTK_WINDOW (self));
}

static void
start_install (ChronosDownloadDialog *self)
{
  g_autoptr (GError) error = NULL;

  /* A fresh plan each time: a retry resumes what was downloaded. */
  g_clear_pointer (&self->plan, chronos_provision_plan_unref);
  self->plan = chronos_provisioner_plan (self->provisioner, self->from_file, &error);
  if (self->plan == NULL)
    {
      show_failure (self, error->message, TRUE);
      return;
    }

  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  if (self->job != NULL)
    g_signal_handlers_disconnect_by_data (self->job, self);
  g_clear_object (&self->job);
  self->job = chronos_job_new (_ ("Installing QEMU"));
  g_signal_connect_object (self->job, "notify", G_CALLBACK (job_notify_cb), self, G_CONNECT_SWAPPED);

  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_label_set_label (self->progress_label, "");
  adw_status_page_set_title (self->progress_page, _ ("Installing QEMU"));
  gtk_stack_set_visible_child_name (self->stack, "progress");
  chronos_a11y_set_button_label (self->cancel_button, _ ("_Cancel"));

  chronos_provisioner_install_async (self->provisioner, self->plan, self->job, self->cancellable,
                                     install_cb, g_object_ref (self));
}

/* Template callbacks */

static void
download_clicked_cb (ChronosDownloadDialog *self)
{
  g_clear_pointer (&self->from_file, g_free);
  start_install (self);
}

static void
from_file_response_cb (ChronosDownloadDialog *self,
                       int                    response,
                       GtkFileChooserNative  *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      g_free (self->from_file);
      self->from_file = file != NULL ? g_file_get_path (file) : NULL;
      if (self->from_file != NULL)
        start_install (self);
    }
  g_object_unref (chooser);
}

static void
from_file_clicked_cb (ChronosDownloadDialog *self)
{
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_ ("Choose a Downloaded QEMU Bundle"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN,
                                         _ ("_Install"), _ ("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect_object (chooser, "response", G_CALLBACK (from_file_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
qemu_found_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (ChronosDownloadDialog) self = user_data;
  g_autoptr (ChronosQemu) qemu = NULL;
  g_autoptr (GError) error = NULL;

  gtk_widget_set_sensitive (GTK_WIDGET (self->check_again_button), TRUE);
  qemu = chronos_qemu_find_finish (result, &error);
  if (qemu == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        adw_status_page_set_description (self->hint_page, error->message);
      return;
    }

  g_signal_emit (self, signals[SIGNAL_INSTALLED], 0);
  gtk_window_close (GTK_WINDOW (self));
}

static void
check_again_clicked_cb (ChronosDownloadDialog *self)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->check_again_button), FALSE);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  chronos_qemu_find_async (NULL, self->cancellable, qemu_found_cb, g_object_ref (self));
}

static void
cancel_clicked_cb (ChronosDownloadDialog *self)
{
  const char *page = gtk_stack_get_visible_child_name (self->stack);

  /* During the install Cancel stops it (and keeps what was downloaded
   * for a later resume); otherwise it closes. */
  if (g_strcmp0 (page, "progress") == 0 && self->cancellable != NULL)
    {
      g_cancellable_cancel (self->cancellable);
      return;
    }
  gtk_window_close (GTK_WINDOW (self));
}

static gboolean
chronos_download_dialog_close_request (GtkWindow *window)
{
  ChronosDownloadDialog *self = CHRONOS_DOWNLOAD_DIALOG (window);

  g_cancellable_cancel (self->cancellable);
  return GTK_WINDOW_CLASS (chronos_download_dialog_parent_class)->close_request (window);
}

static void
chronos_download_dialog_dispose (GObject *object)
{
  ChronosDownloadDialog *self = (ChronosDownloadDialog *)object;

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), CHRONOS_TYPE_DOWNLOAD_DIALOG);
  g_clear_pointer (&self->plan, chronos_provision_plan_unref);
  g_clear_pointer (&self->from_file, g_free);
  g_clear_object (&self->job);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->provisioner);

  G_OBJECT_CLASS (chronos_download_dialog_parent_class)->dispose (object);
}

static void
chronos_download_dialog_class_init (ChronosDownloadDialogClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = chronos_download_dialog_dispose;
  window_class->close_request = chronos_download_dialog_close_request;

  signals[SIGNAL_INSTALLED] =
      g_signal_new ("installed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/chronos/Chronos/chronos-download-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, ChronosDownloadDialog, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, ChronosDownloadDialog, check_again_button);
  gtk_widget_class_bind_template_child (widget_class, ChronosDownloadDialog, download_button);
  gtk_widget_class_bind_template_child (widget_class, ChronosDownloadDialog, failed_buttons);
  gtk_widget_class_bind_template_child (widget_class, ChronosDownloadDialog, failed_page);
  gtk_widget_class_bind_template_child (widget_class, ChronosDownloadDialog, hint_label);
  gtk_widget_class_bind_template_child (widget_class, ChronosDownloadDialog, hint_page);
  gtk_widget_class_bind_template_child (widget_class, ChronosDownloadDialog, plan_page);
  gtk_widget_class_bind_template_child (widget_class, ChronosDownloadDialog, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, ChronosDownloadDialog, progress_label);
  gtk_widget_class_bind_template_child (widget_class, ChronosDownloadDialog, progress_page);
  gtk_widget_class_bind_template_child (widget_class, ChronosDownloadDialog, retry_button);
  gtk_widget_class_bind_template_child (widget_class, ChronosDownloadDialog, stack);
  gtk_widget_class_bind_template_callback (widget_class, cancel_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, check_again_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, download_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, from_file_clicked_cb);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
chronos_download_dialog_init (ChronosDownloadDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  chronos_a11y_fix_mnemonic_buttons (GTK_WIDGET (self));
}

GtkWidget *
chronos_download_dialog_new (GtkWindow          *parent,
                             ChronosProvisioner *provisioner)
{
  ChronosDownloadDialog *self;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (provisioner == NULL || CHRONOS_IS_PROVISIONER (provisioner), NULL);

  self = g_object_new (CHRONOS_TYPE_DOWNLOAD_DIALOG,
                       "transient-for", parent,
                       NULL);

  if (provisioner != NULL)
    self->provisioner = g_object_ref (provisioner);
  else
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (ChronosManifest) manifest = chronos_manifest_new_default (&error);

      if (manifest == NULL)
        {
          show_failure (self, error->message, FALSE);
          return GTK_WIDGET (self);
        }
      self->provisioner = chronos_provisioner_new (manifest);
    }

  show_plan (self);
  gtk_window_set_default_widget (GTK_WINDOW (self), GTK_WIDGET (self->download_button));
  return GTK_WIDGET (self);
}

ChronosJob *
chronos_download_dialog_get_job (ChronosDownloadDialog *self)
{
  g_return_val_if_fail (CHRONOS_IS_DOWNLOAD_DIALOG (self), NULL);
  return self->job;
}
