/* chronos-screen-sampler.c: takes a running guest's screen through QMP
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A sample is two QMP commands and a little work in a thread:
 * `screendump` to a PPM file (no compression on either side), `pmemsave`
 * of the 4000 bytes of VGA text memory at 0xB8000, then reading both files
 * and measuring the frame (chronos_screen_analyze()) off the main thread.
 * The text is used only when the frame's size says the guest is in a text
 * mode: in graphics modes that memory holds stale characters.
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "chronos-frame.h"
#include "chronos-screen-sampler.h"
#include "chronos-screen-text.h"

struct _ChronosScreenSampler
{
  GObject parent_instance;

  ChronosQmp *qmp;
  char       *work_dir;
  char       *ppm_path;
  char       *vga_path;
  gboolean    have_frame;
};

G_DEFINE_FINAL_TYPE (ChronosScreenSampler, chronos_screen_sampler, G_TYPE_OBJECT)

void
chronos_screen_sample_free (ChronosScreenSample *sample)
{
  if (sample == NULL)
    return;
  g_free (sample->vga_text);
  g_free (sample);
}

static void
chronos_screen_sampler_finalize (GObject *object)
{
  ChronosScreenSampler *self = (ChronosScreenSampler *)object;

  g_clear_object (&self->qmp);
  g_clear_pointer (&self->work_dir, g_free);
  g_clear_pointer (&self->ppm_path, g_free);
  g_clear_pointer (&self->vga_path, g_free);

  G_OBJECT_CLASS (chronos_screen_sampler_parent_class)->finalize (object);
}

static void
chronos_screen_sampler_class_init (ChronosScreenSamplerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = chronos_screen_sampler_finalize;
}

static void
chronos_screen_sampler_init (ChronosScreenSampler *self)
{
}

ChronosScreenSampler *
chronos_screen_sampler_new (ChronosQmp *qmp,
                            const char *work_dir)
{
  ChronosScreenSampler *self;

  g_return_val_if_fail (CHRONOS_IS_QMP (qmp), NULL);
  g_return_val_if_fail (work_dir != NULL, NULL);

  self = g_object_new (CHRONOS_TYPE_SCREEN_SAMPLER, NULL);
  self->qmp = g_object_ref (qmp);
  self->work_dir = g_strdup (work_dir);
  self->ppm_path = g_build_filename (work_dir, "screen.ppm", NULL);
  self->vga_path = g_build_filename (work_dir, "vga-text.bin", NULL);

  return self;
}

const char *
chronos_screen_sampler_get_frame_path (ChronosScreenSampler *self)
{
  g_return_val_if_fail (CHRONOS_IS_SCREEN_SAMPLER (self), NULL);

  return self->have_frame ? self->ppm_path : NULL;
}

static void
analyze_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  ChronosScreenSampler *self = source_object;
  g_autoptr (ChronosScreenSample) sample = g_new0 (ChronosScreenSample, 1);
  g_autoptr (ChronosFrame) frame = NULL;
  g_autoptr (GError) error = NULL;
  gboolean have_vga = GPOINTER_TO_INT (task_data);

  frame = chronos_frame_load_ppm (self->ppm_path, &error);
  if (frame == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  chronos_screen_analyze (frame, &sample->facts);

  if (have_vga && sample->facts.text_mode)
    {
      g_autofree char *memory = NULL;
      gsize            len = 0;

      if (g_file_get_contents (self->vga_path, &memory, &len, NULL))
        sample->vga_text = chronos_vga_text_decode ((const guint8 *)memory, len);
    }

  g_task_return_pointer (task, g_steal_pointer (&sample), (GDestroyNotify)chronos_screen_sample_free);
}

static void
pmemsave_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (JsonNode) reply = NULL;
  g_autoptr (GError) error = NULL;

  /* Without the text the frame alone still counts. */
  reply = chronos_qmp_execute_finish (CHRONOS_QMP (object), result, &error);
  if (g_task_return_error_if_cancelled (task))
    return;

  g_task_set_task_data (task, GINT_TO_POINTER (reply != NULL), NULL);
  g_task_run_in_thread (task, analyze_thread);
}

static void
screendump_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  ChronosScreenSampler *self = g_task_get_source_object (task);
  g_autoptr (JsonNode) reply = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) args = json_object_new ();
  GCancellable *cancellable = g_task_get_cancellable (task);

  reply = chronos_qmp_execute_finish (CHRONOS_QMP (object), result, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  self->have_frame = TRUE;

  json_object_set_int_member (args, "val", CHRONOS_VGA_TEXT_ADDRESS);
  json_object_set_int_member (args, "size", CHRONOS_VGA_TEXT_SIZE);
  json_object_set_string_member (args, "filename", self->vga_path);
  chronos_qmp_execute_async (self->qmp, "pmemsave", args, cancellable,
                             pmemsave_cb, g_steal_pointer (&task));
}

void
chronos_screen_sampler_sample_async (ChronosScreenSampler *self,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (JsonObject) args = json_object_new ();

  g_return_if_fail (CHRONOS_IS_SCREEN_SAMPLER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, chronos_screen_sampler_sample_async);

  json_object_set_string_member (args, "filename", self->ppm_path);
  chronos_qmp_execute_async (self->qmp, "screendump", args, cancellable,
                             screendump_cb, g_steal_pointer (&task));
}

ChronosScreenSample *
chronos_screen_sampler_sample_finish (ChronosScreenSampler *self,
                                      GAsyncResult         *result,
                                      GError              **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
check_png_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  const char      *path = task_data;
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &contents, &len, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (!chronos_png_get_size ((const guint8 *)contents, len, NULL, NULL))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               _ ("QEMU wrote a screenshot that is not a valid PNG image."));
      return;
    }

  g_task_return_boolean (task, TRUE);
}

static void
encode_last_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  ChronosScreenSampler *self = source_object;
  g_autoptr (GError) error = NULL;

  if (!chronos_screen_sampler_encode_last_png (self, task_data, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

gboolean
chronos_screen_sampler_encode_last_png (ChronosScreenSampler *self,
                                        const char           *path,
                                        GError              **error)
{
  g_autoptr (ChronosFrame) frame = NULL;
  g_autoptr (GBytes) png = NULL;

  g_return_val_if_fail (CHRONOS_IS_SCREEN_SAMPLER (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (!self->have_frame)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           _ ("There is no screenshot: the guest never showed a screen."));
      return FALSE;
    }

  frame = chronos_frame_load_ppm (self->ppm_path, error);
  if (frame == NULL)
    return FALSE;
  png = chronos_frame_to_png (frame, error);
  if (png == NULL)
    return FALSE;

  return g_file_set_contents_full (path, g_bytes_get_data (png, NULL), g_bytes_get_size (png),
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

static void
png_screendump_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (JsonNode) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = chronos_qmp_execute_finish (CHRONOS_QMP (object), result, &error);
  if (reply != NULL)
    {
      g_task_run_in_thread (task, check_png_thread);
      return;
    }

  if (g_task_return_error_if_cancelled (task))
    return;

  /* QEMU before 7.1, or built without libpng, knows only PPM: encode the
   * last sample ourselves. */
  g_debug ("PNG screendump failed (%s); encoding the last frame", error->message);
  g_task_run_in_thread (task, encode_last_thread);
}

void
chronos_screen_sampler_save_png_async (ChronosScreenSampler *self,
                                       const char           *path,
                                       GCancellable         *cancellable,
                                       GAsyncReadyCallback   callback,
                                       gpointer              user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (JsonObject) args = json_object_new ();

  g_return_if_fail (CHRONOS_IS_SCREEN_SAMPLER (self));
  g_return_if_fail (path != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, chronos_screen_sampler_save_png_async);
  g_task_set_task_data (task, g_strdup (path), g_free);

  json_object_set_string_member (args, "filename", path);
  json_object_set_string_member (args, "format", "png");
  chronos_qmp_execute_async (self->qmp, "screendump", args, cancellable,
                             png_screendump_cb, g_steal_pointer (&task));
}

gboolean
chronos_screen_sampler_save_png_finish (ChronosScreenSampler *self,
                                        GAsyncResult         *result,
                                        GError              **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
