/* chronos-window-verify.c: "Verify Boot" and its live thumbnail
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Runs ChronosVerifier on the selected backup with the VM settings chosen
 * for it, shows its job as a progress row with the headless screen as a
 * live thumbnail, and puts the verdict on the backup, where the list and
 * the details show it. The verifier keeps the result per backup; the
 * application loads those when backups are listed.
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "chronos-qemu-error.h"
#include "chronos-verifier.h"
#include "chronos-vm-settings-store.h"
#include "chronos-window-private.h"

#define FRAME_KEY "chronos-frame"

typedef struct
{
  ChronosWindow   *self;
  ChronosBackup   *backup;
  ChronosJob      *job;
  ChronosVerifier *verifier;
  GCancellable    *frame_cancellable;
} Verify;

static void
verify_free (Verify *verify)
{
  if (verify->frame_cancellable != NULL)
    g_cancellable_cancel (verify->frame_cancellable);
  g_clear_object (&verify->frame_cancellable);
  g_clear_object (&verify->self);
  g_clear_object (&verify->backup);
  g_clear_object (&verify->job);
  g_clear_object (&verify->verifier);
  g_free (verify);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Verify, verify_free)

/* Frames */

typedef struct
{
  ChronosWindow *self;
  ChronosBackup *backup;
  ChronosJob    *job;
} Frame;

static void
frame_free (Frame *frame)
{
  g_clear_object (&frame->self);
  g_clear_object (&frame->backup);
  g_clear_object (&frame->job);
  g_free (frame);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Frame, frame_free)

static void
frame_loaded_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr (Frame) frame = user_data;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  g_autoptr (GError) error = NULL;

  bytes = g_file_load_bytes_finish (G_FILE (object), result, NULL, &error);
  if (bytes == NULL)
    return; /* cancelled, or replaced by the next frame meanwhile */

  texture = gdk_texture_new_from_bytes (bytes, &error);
  if (texture == NULL)
    return; /* half-written: the next one will do */

  g_object_set_data_full (G_OBJECT (frame->job), FRAME_KEY, g_object_ref (texture), g_object_unref);
  if (frame->self->verify_picture != NULL && frame->self->selected == frame->backup)
    gtk_picture_set_paintable (frame->self->verify_picture, GDK_PAINTABLE (texture));
}

static void
frame_cb (ChronosVerifier *verifier,
          const char      *path,
          Verify          *verify)
{
  g_autoptr (GFile) file = NULL;
  Frame *frame;

  if (path == NULL)
    return;

  /* Read off the main thread; a newer frame cancels an older read. */
  if (verify->frame_cancellable != NULL)
    g_cancellable_cancel (verify->frame_cancellable);
  g_clear_object (&verify->frame_cancellable);
  verify->frame_cancellable = g_cancellable_new ();

  frame = g_new0 (Frame, 1);
  frame->self = g_object_ref (verify->self);
  frame->backup = g_object_ref (verify->backup);
  frame->job = g_object_ref (verify->job);
  file = g_file_new_for_path (path);
  g_file_load_bytes_async (file, verify->frame_cancellable, frame_loaded_cb, frame);
}

GdkTexture *
_chronos_window_job_frame (ChronosJob *job)
{
  return g_object_get_data (G_OBJECT (job), FRAME_KEY);
}

/* Verifying */

static void
verify_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr (Verify) verify = user_data;
  g_autoptr (ChronosVerification) verification = NULL;
  g_autoptr (GError) error = NULL;
  ChronosWindow *self = verify->self;
  const char    *name = chronos_backup_get_display_name (verify->backup);

  g_signal_handlers_disconnect_by_data (verify->verifier, verify);
  verification = chronos_verifier_verify_finish (CHRONOS_VERIFIER (object), result, &error);
  chronos_backup_set_running (verify->backup, FALSE);
  _chronos_window_remove_job (self, verify->backup, verify->job);

  if (verification == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          /* Translators: %s is a backup's name */
          g_autofree char *heading = g_strdup_printf (_ ("Could Not Verify “%s”"), name);

          _chronos_window_show_error (self, heading, error->message, NULL);
        }
      return;
    }

  chronos_backup_set_verification (verify->backup,
                                   chronos_verification_get_verdict (verification),
                                   chronos_verification_get_reason (verification),
                                   chronos_verification_get_screenshot (verification),
                                   chronos_verification_get_started (verification));
  {
    g_autofree char *title = NULL;

    if (chronos_verification_get_verdict (verification) == CHRONOS_VERDICT_BOOTED)
      /* Translators: %s is a backup's name */
      title = g_strdup_printf (_ ("“%s” boots"), name);
    else
      /* Translators: %s is a backup's name */
      title = g_strdup_printf (_ ("“%s” does not boot"), name);
    chronos_window_add_toast (self, title);
  }
}

static void
verify_qemu_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr (Verify) verify = user_data;
  g_autoptr (ChronosQemu) qemu = NULL;
  g_autoptr (ChronosVmConfig) config = NULL;
  g_autoptr (GError) error = NULL;
  ChronosWindow   *self = verify->self;
  ChronosVerifier *verifier;
  GCancellable    *cancellable;

  qemu = chronos_qemu_find_finish (result, &error);
  if (qemu == NULL)
    {
      chronos_backup_set_running (verify->backup, FALSE);
      _chronos_window_remove_job (self, verify->backup, verify->job);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _chronos_window_show_error (self, _ ("QEMU Is Needed"), error->message, NULL);
      return;
    }

  /* The settings chosen for this backup (firmware, accelerator, memory);
   * the verifier makes it headless and offline. */
  config = chronos_vm_settings_load_for_backup (chronos_application_get_settings (self->application),
                                                chronos_backup_get_path (verify->backup));
  verify->verifier = chronos_verifier_new (qemu, config, chronos_backup_get_path (verify->backup));

  /* Show the verifier's own job from now on. */
  _chronos_window_remove_job (self, verify->backup, verify->job);
  g_set_object (&verify->job, chronos_verifier_get_job (verify->verifier));
  g_object_set_data (G_OBJECT (verify->job), "chronos-kind", (gpointer) "verify");
  _chronos_window_add_job (self, verify->backup, verify->job);

  g_signal_connect (verify->verifier, "frame", G_CALLBACK (frame_cb), verify);
  verifier = verify->verifier;
  cancellable = chronos_job_get_cancellable (verify->job);
  chronos_verifier_verify_async (verifier, cancellable, verify_done_cb, g_steal_pointer (&verify));
}

void
_chronos_window_verify (ChronosWindow *self,
                        ChronosBackup *backup)
{
  g_autofree char *qemu_dir = NULL;
  Verify          *verify;

  g_return_if_fail (CHRONOS_IS_WINDOW (self));
  g_return_if_fail (CHRONOS_IS_BACKUP (backup));

  verify = g_new0 (Verify, 1);
  verify->self = g_object_ref (self);
  verify->backup = g_object_ref (backup);
  verify->job = chronos_job_new (_ ("Verifying Boot"));
  chronos_job_set_step (verify->job, _ ("Finding QEMU"));
  g_object_set_data (G_OBJECT (verify->job), "chronos-kind", (gpointer) "verify");
  chronos_backup_set_running (backup, TRUE);
  _chronos_window_add_job (self, backup, verify->job);

  qemu_dir = g_settings_get_string (chronos_application_get_settings (self->application), "qemu-dir");
  chronos_qemu_find_async (qemu_dir[0] != '\0' ? qemu_dir : NULL,
                           chronos_job_get_cancellable (verify->job),
                           verify_qemu_cb, verify);
}
