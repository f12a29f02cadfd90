/* chronos-converter.c: converts a backup image to QCOW2 with qemu-img
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The conversion is `qemu-img convert -f vhdx -O qcow2 -p SOURCE TEMP` where
 * TEMP is a fresh ".OUTPUT.part-XXXXXX" in the output's folder, so the
 * final rename is atomic and a half-written image never carries the name
 * the user asked for. The file is flock()ed while in use, so the next
 * conversion to the same name removes those a killed process left.
 *
 * Before qemu-img runs, Chronos's own VHDX reader (ChronosImageInfo, no
 * subprocess) checks that the source is a VHDX QEMU can open read-only and
 * tells its sizes, which both the free-space check and the byte estimate
 * for rate and ETA need.
 *
 * qemu-img only reads the source (convert opens it read-only and takes a
 * shared lock), so the backup is never written.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#ifdef G_OS_UNIX
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>
#endif
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "chronos-converter.h"
#include "chronos-image-error.h"
#include "chronos-image-info.h"
#include "chronos-qemu-error.h"
#include "chronos-qemu-img-progress.h"

/* qemu-img's stderr is kept for the error message; a runaway one is cut. */
#define MAX_STDERR (64 * 1024)
/* Beyond the data itself, a QCOW2 file needs its L1/L2 tables (8 bytes per
 * 64 KiB cluster), refcounts and a header: one 8192th of the virtual size
 * plus a little is generous. */
#define QCOW2_OVERHEAD(virtual_size) ((virtual_size) / 4096 + 4 * 1024 * 1024)

struct _ChronosConverter
{
  GObject parent_instance;

  char       *qemu_img;
  char       *source;
  char       *output;
  ChronosJob *job;
  gboolean    force;
  gboolean    started;
};

G_DEFINE_FINAL_TYPE (ChronosConverter, chronos_converter, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_QEMU_IMG,
  PROP_SOURCE,
  PROP_OUTPUT,
  PROP_FORCE,
  PROP_JOB,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

typedef struct
{
  ChronosConverter       *self;
  GCancellable           *caller_cancellable;
  gulong                  caller_cancel_id;
  GCancellable           *cancellable; /* the job's */
  gulong                  cancel_id;
  GSubprocess            *proc;
  ChronosQemuImgProgress *progress;
  GString                *err;
  char                   *tmp_path;
  int                     tmp_fd; /* holds the flock that marks tmp_path as in use */
  guint64                 virtual_size;
  guint64                 actual_size;
  guint                   pending;
  char                    out_buf[4096];
  char                    err_buf[4096];
} ConvertData;

static void
convert_data_free (ConvertData *data)
{
  if (data->caller_cancel_id != 0)
    g_cancellable_disconnect (data->caller_cancellable, data->caller_cancel_id);
  if (data->cancel_id != 0)
    g_cancellable_disconnect (data->cancellable, data->cancel_id);
  g_clear_object (&data->caller_cancellable);
  g_clear_object (&data->cancellable);
  g_clear_object (&data->proc);
  g_clear_pointer (&data->progress, chronos_qemu_img_progress_free);
  if (data->err != NULL)
    g_string_free (data->err, TRUE);
  if (data->tmp_path != NULL)
    {
      /* Reached only when the rename did not happen. */
      g_unlink (data->tmp_path);
      g_free (data->tmp_path);
    }
  if (data->tmp_fd >= 0)
    close (data->tmp_fd);
  g_free (data);
}

static void
chronos_converter_finalize (GObject *object)
{
  ChronosConverter *self = (ChronosConverter *)object;

  g_clear_pointer (&self->qemu_img, g_free);
  g_clear_pointer (&self->source, g_free);
  g_clear_pointer (&self->output, g_free);
  g_clear_object (&self->job);

  G_OBJECT_CLASS (chronos_converter_parent_class)->finalize (object);
}

static void
chronos_converter_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  ChronosConverter *self = CHRONOS_CONVERTER (object);

  switch (prop_id)
    {
    case PROP_QEMU_IMG:
      g_value_set_string (value, self->qemu_img);
      break;
    case PROP_SOURCE:
      g_value_set_string (value, self->source);
      break;
    case PROP_OUTPUT:
      g_value_set_string (value, self->output);
      break;
    case PROP_FORCE:
      g_value_set_boolean (value, self->force);
      break;
    case PROP_JOB:
      g_value_set_object (value, self->job);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_converter_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  ChronosConverter *self = CHRONOS_CONVERTER (object);

  switch (prop_id)
    {
    case PROP_QEMU_IMG:
      self->qemu_img = g_value_dup_string (value);
      break;
    case PROP_SOURCE:
      self->source = g_value_dup_string (value);
      break;
    case PROP_OUTPUT:
      self->output = g_value_dup_string (value);
      break;
    case PROP_FORCE:
      chronos_converter_set_force (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_converter_constructed (GObject *object)
{
  ChronosConverter *self = (ChronosConverter *)object;
  g_autofree char  *name = g_path_get_basename (self->source ? self->source : "");
  g_autofree char  *title = g_strdup_printf (_ ("Converting %s"), name);

  G_OBJECT_CLASS (chronos_converter_parent_class)->constructed (object);

  self->job = chronos_job_new (title);
}

static void
chronos_converter_class_init (ChronosConverterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = chronos_converter_finalize;
  object_class->constructed = chronos_converter_constructed;
  object_class->get_property = chronos_converter_get_property;
  object_class->set_property = chronos_converter_set_property;

  properties[PROP_QEMU_IMG] =
      g_param_spec_string ("qemu-img", NULL, NULL, NULL,
                           (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
  properties[PROP_SOURCE] =
      g_param_spec_string ("source", NULL, NULL, NULL,
                           (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
  properties[PROP_OUTPUT] =
      g_param_spec_string ("output", NULL, NULL, NULL,
                           (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
  properties[PROP_FORCE] =
      g_param_spec_boolean ("force", NULL, NULL, FALSE,
                            (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_JOB] =
      g_param_spec_object ("job", NULL, NULL, CHRONOS_TYPE_JOB,
                           (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
chronos_converter_init (ChronosConverter *self)
{
}

ChronosConverter *
chronos_converter_new (const char *qemu_img,
                       const char *source,
                       const char *output)
{
  g_return_val_if_fail (qemu_img != NULL, NULL);
  g_return_val_if_fail (source != NULL, NULL);
  g_return_val_if_fail (output != NULL, NULL);

  return g_object_new (CHRONOS_TYPE_CONVERTER,
                       "qemu-img", qemu_img,
                       "source", source,
                       "output", output,
                       NULL);
}

const char *
chronos_converter_get_source (ChronosConverter *self)
{
  g_return_val_if_fail (CHRONOS_IS_CONVERTER (self), NULL);
  return self->source;
}

const char *
chronos_converter_get_output (ChronosConverter *self)
{
  g_return_val_if_fail (CHRONOS_IS_CONVERTER (self), NULL);
  return self->output;
}

void
chronos_converter_set_force (ChronosConverter *self,
                             gboolean          force)
{
  g_return_if_fail (CHRONOS_IS_CONVERTER (self));

  force = !!force;
  if (self->force == force)
    return;

  self->force = force;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FORCE]);
}

gboolean
chronos_converter_get_force (ChronosConverter *self)
{
  g_return_val_if_fail (CHRONOS_IS_CONVERTER (self), FALSE);
  return self->force;
}

ChronosJob *
chronos_converter_get_job (ChronosConverter *self)
{
  g_return_val_if_fail (CHRONOS_IS_CONVERTER (self), NULL);
  return self->job;
}

char *
chronos_converter_describe_stderr (const char *stderr_text)
{
  g_auto (GStrv) lines = NULL;
  GString *sentence;

  if (stderr_text == NULL)
    return NULL;

  lines = g_strsplit (stderr_text, "\n", -1);
  sentence = g_string_new (NULL);

  /* qemu-img says what went wrong on its first real line; later lines are
   * usually hints that repeat it. */
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);

      if (g_str_has_prefix (line, "qemu-img:"))
        line = g_strchug (line + strlen ("qemu-img:"));
      if (*line == '\0')
        continue;

      /* "Could not open 'X': Could not open 'X': reason" says it once. */
      for (;;)
        {
          const char *end = g_str_has_prefix (line, "Could not open '") ? strstr (line, "': ") : NULL;
          gsize       prefix_len = end ? (gsize)(end - line) + 3 : 0;

          if (prefix_len == 0 || strncmp (line, line + prefix_len, prefix_len) != 0)
            break;
          line += prefix_len;
        }

      g_string_append (sentence, line);
      break;
    }

  if (sentence->len == 0)
    {
      g_string_free (sentence, TRUE);
      return NULL;
    }

  sentence->str[0] = g_ascii_toupper (sentence->str[0]);
  if (!strchr (".!?", sentence->str[sentence->len - 1]))
    g_string_append_c (sentence, '.');

  return g_string_free (sentence, FALSE);
}

/* Maps what qemu-img said to a code a caller can act on. */
static int
classify_stderr (const char *text)
{
  if (text == NULL)
    return CHRONOS_QEMU_ERROR_FAILED;
  if (strstr (text, "No space left on device"))
    return CHRONOS_QEMU_ERROR_NO_SPACE;
  if (strstr (text, "lock"))
    return CHRONOS_QEMU_ERROR_IMAGE_IN_USE;
  if (strstr (text, "log that needs to be replayed"))
    return CHRONOS_QEMU_ERROR_LOG_REPLAY_NEEDED;
  if (strstr (text, "Operation not supported"))
    return CHRONOS_QEMU_ERROR_UNSUPPORTED_IMAGE;
  if (strstr (text, "not in VHDX format") || strstr (text, "Could not open"))
    return CHRONOS_QEMU_ERROR_NOT_A_DISK_IMAGE;
  return CHRONOS_QEMU_ERROR_FAILED;
}

static void
fail (GTask  *task,
      GError *error)
{
  ConvertData *data = g_task_get_task_data (task);

  chronos_job_complete (data->self->job, error);
  g_task_return_error (task, error);
}

/* Returns TRUE (and completes @task as cancelled) when the job was cancelled. */
static gboolean
fail_if_cancelled (GTask *task)
{
  ConvertData *data = g_task_get_task_data (task);

  if (!g_cancellable_is_cancelled (data->cancellable))
    return FALSE;

  fail (task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                   _ ("The conversion was cancelled.")));
  return TRUE;
}

static void
cancelled_cb (GCancellable *cancellable,
              ConvertData  *data)
{
  /* A killed qemu-img leaves a partial temporary file; the completion path
   * removes it once qemu-img has really exited. */
  if (data->proc != NULL)
    g_subprocess_force_exit (data->proc);
}

static void
caller_cancelled_cb (GCancellable *cancellable,
                     ConvertData  *data)
{
  chronos_job_cancel (data->self->job);
}

#ifdef __linux__
static void
child_setup (gpointer user_data)
{
  /* Do not leave qemu-img writing gigabytes if Chronos dies. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}
#endif

static GSubprocessLauncher *
new_launcher (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

#ifdef __linux__
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
#endif
  /* qemu-img's messages are parsed; keep them in English. */
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);

  return launcher;
}

static gboolean
rename_into_place (const char *tmp_path,
                   const char *output,
                   gboolean    force,
                   GError    **error)
{
  int saved_errno;

  if (!force)
    {
#if defined(__linux__) && defined(RENAME_NOREPLACE)
      if (renameat2 (AT_FDCWD, tmp_path, AT_FDCWD, output, RENAME_NOREPLACE) == 0)
        return TRUE;
      saved_errno = errno;
      /* Some file systems do not know RENAME_NOREPLACE: a hard link is just
       * as atomic about an existing name. */
      if (saved_errno == EINVAL || saved_errno == ENOSYS || saved_errno == EOPNOTSUPP)
        {
          if (link (tmp_path, output) == 0)
            {
              g_unlink (tmp_path);
              return TRUE;
            }
          saved_errno = errno;
        }
      goto failed;
#else
      /* Without an atomic no-replace rename, check right before it. */
      if (g_file_test (output, G_FILE_TEST_EXISTS))
        {
          saved_errno = EEXIST;
          goto failed;
        }
#endif
    }

  if (g_rename (tmp_path, output) == 0)
    return TRUE;
  saved_errno = errno;

failed:
  if (saved_errno == EEXIST)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                 _ ("The output file appeared while converting; it was left as it is."));
  else
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                 _ ("Could not rename the converted image to %s: %s."),
                 output, g_strerror (saved_errno));
  return FALSE;
}

static void
finish_conversion (GTask *task)
{
  ConvertData      *data = g_task_get_task_data (task);
  ChronosConverter *self = data->self;
  g_autoptr (GError) error = NULL;

  if (fail_if_cancelled (task))
    return;

  if (!g_subprocess_get_if_exited (data->proc) ||
      g_subprocess_get_exit_status (data->proc) != 0)
    {
      g_autofree char *sentence = chronos_converter_describe_stderr (data->err->str);

      if (sentence == NULL)
        {
          if (g_subprocess_get_if_signaled (data->proc))
            sentence = g_strdup_printf (_ ("qemu-img was killed by signal %d."),
                                        g_subprocess_get_term_sig (data->proc));
          else
            sentence = g_strdup_printf (_ ("qemu-img exited with status %d."),
                                        g_subprocess_get_exit_status (data->proc));
        }

      fail (task, g_error_new (CHRONOS_QEMU_ERROR, classify_stderr (data->err->str),
                               _ ("The conversion failed: %s"), sentence));
      return;
    }

  chronos_job_set_step (self->job, _ ("Finishing"));

  if (!rename_into_place (data->tmp_path, self->output, self->force, &error))
    {
      fail (task, g_steal_pointer (&error));
      return;
    }
  g_clear_pointer (&data->tmp_path, g_free);

  chronos_job_update_bytes (self->job, data->virtual_size, data->virtual_size);
  chronos_job_complete (self->job, NULL);
  g_task_return_boolean (task, TRUE);
}

static void
pending_done (GTask *task)
{
  ConvertData *data = g_task_get_task_data (task);

  g_assert (data->pending > 0);
  if (--data->pending == 0)
    finish_conversion (task);
}

static void read_stdout (GTask *task);
static void read_stderr (GTask *task);

static void
read_stdout_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  ConvertData *data = g_task_get_task_data (task);
  gssize       n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, NULL);
  double       percent;

  if (n <= 0)
    {
      pending_done (task);
      return;
    }

  if (chronos_qemu_img_progress_feed (data->progress, data->out_buf, n, &percent))
    {
      guint64 total = data->virtual_size;

      if (total > 0)
        chronos_job_update_bytes (data->self->job, (guint64)(total * (percent / 100.0)), total);
      else
        chronos_job_set_fraction (data->self->job, percent / 100.0);
    }

  read_stdout (g_steal_pointer (&task));
}

static void
read_stdout (GTask *task)
{
  ConvertData *data = g_task_get_task_data (task);

  /* No cancellable: after a cancel qemu-img is killed and the pipe reaches
   * its end by itself, and reading to the end is what keeps the task alive
   * until the process is gone. */
  g_input_stream_read_async (g_subprocess_get_stdout_pipe (data->proc),
                             data->out_buf, sizeof data->out_buf,
                             G_PRIORITY_DEFAULT, NULL, read_stdout_cb, task);
}

static void
read_stderr_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  ConvertData *data = g_task_get_task_data (task);
  gssize       n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, NULL);

  if (n <= 0)
    {
      pending_done (task);
      return;
    }

  if (data->err->len < MAX_STDERR)
    g_string_append_len (data->err, data->err_buf, MIN ((gsize)n, MAX_STDERR - data->err->len));

  read_stderr (g_steal_pointer (&task));
}

static void
read_stderr (GTask *task)
{
  ConvertData *data = g_task_get_task_data (task);

  g_input_stream_read_async (g_subprocess_get_stderr_pipe (data->proc),
                             data->err_buf, sizeof data->err_buf,
                             G_PRIORITY_DEFAULT, NULL, read_stderr_cb, task);
}

static void
wait_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  pending_done (task);
}

/* Removes the ".NAME.part-*" files of conversions to @output whose
 * chronos-vm or app was killed: a running conversion holds an exclusive
 * flock on its file (see start_convert), the kernel drops it when the
 * process dies, so a file we can lock belongs to no one. Files of other
 * output names are not looked at. */
static void
sweep_stale_parts (const char *dir,
                   const char *name)
{
#ifdef G_OS_UNIX
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  g_autofree char *prefix = g_strdup_printf (".%s.part-", name);
  const char      *entry;

  if (listing == NULL)
    return;
  while ((entry = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = NULL;
      int              fd;

      if (!g_str_has_prefix (entry, prefix) || strlen (entry) != strlen (prefix) + 6)
        continue;
      path = g_build_filename (dir, entry, NULL);
      fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
      if (fd < 0)
        continue;
      if (flock (fd, LOCK_EX | LOCK_NB) == 0)
        {
          g_debug ("Removing %s, left by a conversion that was killed", path);
          g_unlink (path);
        }
      close (fd);
    }
#endif
}

static void
start_convert (GTask *task)
{
  ConvertData      *data = g_task_get_task_data (task);
  ChronosConverter *self = data->self;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (self->output);
  g_autofree char *name = g_path_get_basename (self->output);
  g_autofree char *template = NULL;
  int fd;

  sweep_stale_parts (dir, name);

  template = g_strdup_printf ("%s%c.%s.part-XXXXXX", dir, G_DIR_SEPARATOR, name);
  fd = g_mkstemp_full (template, O_RDWR | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      int saved_errno = errno;

      fail (task, g_error_new (G_IO_ERROR, g_io_error_from_errno (saved_errno),
                               _ ("Could not create a file in %s: %s."),
                               dir, g_strerror (saved_errno)));
      return;
    }
#ifdef G_OS_UNIX
  /* Held until the task ends: marks the file as in use for the sweep of
   * the next conversion (qemu-img's own locks are fcntl ones on its own
   * descriptor, which flock does not interact with). */
  flock (fd, LOCK_EX | LOCK_NB);
  data->tmp_fd = fd;
#else
  close (fd);
#endif
  data->tmp_path = g_steal_pointer (&template);

  launcher = new_launcher (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  data->proc = g_subprocess_launcher_spawn (launcher, &error,
                                            self->qemu_img, "convert",
                                            "-f", "vhdx", "-O", "qcow2", "-p",
                                            self->source, data->tmp_path, NULL);
  if (data->proc == NULL)
    {
      fail (task, g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_FOUND,
                               _ ("Could not run qemu-img: %s"), error->message));
      return;
    }

  chronos_job_set_step (self->job, _ ("Converting"));
  chronos_job_update_bytes (self->job, 0, data->virtual_size);

  data->progress = chronos_qemu_img_progress_new ();
  data->err = g_string_new (NULL);
  data->pending = 3;
  read_stdout (g_object_ref (task));
  read_stderr (g_object_ref (task));
  g_subprocess_wait_async (data->proc, NULL, wait_cb, g_object_ref (task));

  /* Connected last: if the job is already cancelled this kills qemu-img at
   * once and the pipes' ends complete the task. */
  data->cancel_id = g_cancellable_connect (data->cancellable, G_CALLBACK (cancelled_cb),
                                           data, NULL);
}

static void
filesystem_info_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  ConvertData *data = g_task_get_task_data (task);
  g_autoptr (GFileInfo) info = NULL;
  g_autoptr (GError) error = NULL;

  if (fail_if_cancelled (task))
    return;

  info = g_file_query_filesystem_info_finish (G_FILE (object), result, &error);

  /* A file system that cannot tell its free space is not checked: qemu-img
   * reports ENOSPC itself and the temporary file is removed. */
  if (info != NULL && g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE))
    {
      guint64 free_bytes = g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE);
      guint64 needed = data->actual_size + QCOW2_OVERHEAD (data->virtual_size);

      if (free_bytes < needed)
        {
          g_autofree char *dir = g_file_get_path (G_FILE (object));
          g_autofree char *needed_str = g_format_size (needed);
          g_autofree char *free_str = g_format_size (free_bytes);

          fail (task, g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NO_SPACE,
                                   _ ("Not enough free space in %s: the converted image needs about %s, but only %s are free."),
                                   dir, needed_str, free_str));
          return;
        }
    }

  start_convert (task);
}

static gboolean
same_file (const char *a,
           const char *b)
{
  g_autofree char *ca = g_canonicalize_filename (a, NULL);
  g_autofree char *cb = g_canonicalize_filename (b, NULL);
  GStatBuf         sa, sb;

  if (g_strcmp0 (ca, cb) == 0)
    return TRUE;
  if (g_stat (a, &sa) != 0 || g_stat (b, &sb) != 0)
    return FALSE;
#ifdef G_OS_UNIX
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
#else
  return FALSE;
#endif
}

/* Why QEMU cannot open @info read-only, as an error; NULL when it can. */
static GError *
unopenable_error (ChronosImageInfo *info)
{
  if (chronos_image_info_get_qemu_can_open (info))
    return NULL;

  if (chronos_image_info_get_log_pending (info))
    return g_error_new_literal (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_LOG_REPLAY_NEEDED,
                                _ ("This image has a pending log that QEMU would have to replay by writing to "
                                   "the backup; it cannot be converted read-only."));
  if (chronos_image_info_get_has_parent (info))
    return g_error_new_literal (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_UNSUPPORTED_IMAGE,
                                _ ("This is a differencing image; QEMU cannot convert it together with its "
                                   "parent. Convert the full backup it is based on instead."));
  return g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_UNSUPPORTED_IMAGE,
                      _ ("QEMU cannot read VHDX images with %u-byte logical sectors."),
                      chronos_image_info_get_logical_sector_size (info));
}

static int
image_error_code (const GError *error)
{
  if (error->domain != CHRONOS_IMAGE_ERROR)
    return CHRONOS_QEMU_ERROR_FAILED;

  switch (error->code)
    {
    case CHRONOS_IMAGE_ERROR_NOT_VHDX:
    case CHRONOS_IMAGE_ERROR_CORRUPT:
    case CHRONOS_IMAGE_ERROR_TRUNCATED:
      return CHRONOS_QEMU_ERROR_NOT_A_DISK_IMAGE;
    case CHRONOS_IMAGE_ERROR_UNSUPPORTED:
      return CHRONOS_QEMU_ERROR_UNSUPPORTED_IMAGE;
    case CHRONOS_IMAGE_ERROR_NEEDS_PARENT:
    case CHRONOS_IMAGE_ERROR_WRONG_PARENT:
      return CHRONOS_QEMU_ERROR_PARENT_MISSING;
    case CHRONOS_IMAGE_ERROR_IO:
    default:
      return CHRONOS_QEMU_ERROR_FAILED;
    }
}

static void
image_info_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  ConvertData      *data = g_task_get_task_data (task);
  ChronosConverter *self = data->self;
  g_autoptr (ChronosImageInfo) info = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GFile) dir = NULL;
  g_autofree char *dir_path = NULL;

  info = chronos_image_info_load_finish (result, &error);

  if (fail_if_cancelled (task))
    return;

  if (info == NULL)
    {
      fail (task, g_error_new_literal (CHRONOS_QEMU_ERROR, image_error_code (error), error->message));
      return;
    }

  error = unopenable_error (info);
  if (error != NULL)
    {
      fail (task, g_steal_pointer (&error));
      return;
    }

  /* Chronos's own reader gives the sizes without a qemu-img round trip.
   * The file size is what the data can at most take in the copy. */
  data->virtual_size = chronos_image_info_get_virtual_size (info);
  data->actual_size = chronos_image_info_get_file_size (info);

  dir_path = g_path_get_dirname (self->output);
  dir = g_file_new_for_path (dir_path);
  g_file_query_filesystem_info_async (dir, G_FILE_ATTRIBUTE_FILESYSTEM_FREE,
                                      G_PRIORITY_DEFAULT, data->cancellable,
                                      filesystem_info_cb, g_steal_pointer (&task));
}

void
chronos_converter_convert_async (ChronosConverter   *self,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autofree char *dir = NULL;
  ConvertData     *data;

  g_return_if_fail (CHRONOS_IS_CONVERTER (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));
  g_return_if_fail (!self->started);

  self->started = TRUE;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, chronos_converter_convert_async);

  data = g_new0 (ConvertData, 1);
  data->tmp_fd = -1;
  data->self = self;
  data->cancellable = g_object_ref (chronos_job_get_cancellable (self->job));
  g_task_set_task_data (task, data, (GDestroyNotify)convert_data_free);

  chronos_job_start (self->job);
  chronos_job_set_step (self->job, _ ("Checking the image"));

  if (cancellable != NULL)
    {
      data->caller_cancellable = g_object_ref (cancellable);
      data->caller_cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled_cb),
                                                      data, NULL);
    }

  if (fail_if_cancelled (task))
    return;

  /* Cheap checks first, so a typo fails before anything runs. */
  if (!g_file_test (self->source, G_FILE_TEST_EXISTS))
    {
      fail (task,
            g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_IMAGE_NOT_FOUND,
                         _ ("The image does not exist.")));
      return;
    }

  if (g_file_test (self->source, G_FILE_TEST_IS_DIR))
    {
      fail (task,
            g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_A_DISK_IMAGE,
                         _ ("This is a folder, not a disk image.")));
      return;
    }

  /* Even with force, never replace the backup itself (or a link to it). */
  if (same_file (self->source, self->output))
    {
      fail (task,
            g_error_new (G_IO_ERROR, G_IO_ERROR_EXISTS,
                         _ ("The output is the backup itself; the backup is never replaced.")));
      return;
    }

  if (!self->force && g_file_test (self->output, G_FILE_TEST_EXISTS))
    {
      fail (task,
            g_error_new (G_IO_ERROR, G_IO_ERROR_EXISTS,
                         _ ("The output file already exists; choose another name or allow replacing it.")));
      return;
    }

  if (g_file_test (self->output, G_FILE_TEST_IS_DIR))
    {
      fail (task,
            g_error_new (G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY,
                         _ ("The output is a folder; name the file to create.")));
      return;
    }

  dir = g_path_get_dirname (self->output);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      fail (task,
            g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                         _ ("The folder %s does not exist."), dir));
      return;
    }

  if (!g_file_test (self->qemu_img, G_FILE_TEST_IS_EXECUTABLE))
    {
      fail (task,
            g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_FOUND,
                         _ ("qemu-img was not found at %s."), self->qemu_img));
      return;
    }

  chronos_image_info_load_async (self->source, data->cancellable, image_info_cb,
                                 g_steal_pointer (&task));
}

gboolean
chronos_converter_convert_finish (ChronosConverter *self,
                                  GAsyncResult     *result,
                                  GError          **error)
{
  g_return_val_if_fail (CHRONOS_IS_CONVERTER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
