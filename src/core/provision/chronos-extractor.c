/* chronos-extractor.c: safe extraction of a QEMU bundle with libarchive
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The bundle's checksum was verified before we get here, but the
 * extractor still treats the archive as hostile (a compromised mirror with
 * a compromised manifest, or a hand-picked --from file): only regular files
 * and directories are written, every name is checked before libarchive
 * sees it, and the expansion is bounded in bytes, entries and ratio.
 *
 * libarchive's ARCHIVE_EXTRACT_SECURE_NODOTDOT and _SECURE_SYMLINKS are
 * set as a second line of defence. _SECURE_NOABSOLUTEPATHS is not: every
 * entry is written under the absolute (symlink-free) destination, which
 * that flag would refuse; absolute entry names are rejected by our own
 * check first. Link entries are rejected outright, because the SECURE
 * flags still let libarchive create a symlink entry itself.
 *
 * libarchive blocks, so the work runs in a GTask thread; progress is
 * handed back to the job's main context.
 */

#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <fcntl.h>
#endif

#include "chronos-context.h"
#include "chronos-extractor.h"

/* Ratios are only judged past this much output: tiny files compress oddly. */
#define RATIO_GRACE_BYTES (16 * 1024 * 1024)
/* Written data is handed to the disk in steps of this size. */
#define WRITEBACK_STEP (8 * 1024 * 1024)

struct _ChronosExtractor
{
  GObject parent_instance;

  guint64 max_bytes;
  guint64 max_entries;
  guint   max_ratio;
};

G_DEFINE_FINAL_TYPE (ChronosExtractor, chronos_extractor, G_TYPE_OBJECT)

static void
chronos_extractor_class_init (ChronosExtractorClass *klass)
{
}

static void
chronos_extractor_init (ChronosExtractor *self)
{
  self->max_bytes = CHRONOS_EXTRACTOR_DEFAULT_MAX_BYTES;
  self->max_entries = CHRONOS_EXTRACTOR_DEFAULT_MAX_ENTRIES;
  self->max_ratio = CHRONOS_EXTRACTOR_DEFAULT_MAX_RATIO;
}

ChronosExtractor *
chronos_extractor_new (void)
{
  return g_object_new (CHRONOS_TYPE_EXTRACTOR, NULL);
}

/* Limits on what one archive may expand to; 0 keeps a limit unchanged. */
void
chronos_extractor_set_limits (ChronosExtractor *self,
                              guint64           max_bytes,
                              guint64           max_entries,
                              guint             max_ratio)
{
  g_return_if_fail (CHRONOS_IS_EXTRACTOR (self));

  if (max_bytes > 0)
    self->max_bytes = max_bytes;
  if (max_entries > 0)
    self->max_entries = max_entries;
  if (max_ratio > 0)
    self->max_ratio = max_ratio;
}

typedef struct
{
  char       *archive_path;
  char       *format;
  guint       strip_components;
  char       *dest_dir;
  ChronosJob *job;
  guint64     max_bytes;
  guint64     max_entries;
  guint       max_ratio;

  GMainContext *context;
  gint64        last_report;
} ExtractData;

static void
extract_data_free (ExtractData *data)
{
  g_free (data->archive_path);
  g_free (data->format);
  g_free (data->dest_dir);
  g_clear_object (&data->job);
  g_clear_pointer (&data->context, g_main_context_unref);
  g_free (data);
}

typedef struct
{
  ChronosJob *job;
  guint64     done;
  guint64     total;
} Progress;

static gboolean
report_progress_cb (gpointer user_data)
{
  Progress *p = user_data;

  chronos_job_update_bytes (p->job, p->done, p->total);
  g_object_unref (p->job);
  g_free (p);
  return G_SOURCE_REMOVE;
}

static void
report_progress (ExtractData *data,
                 guint64      done,
                 guint64      total,
                 gboolean     force)
{
  gint64    now = g_get_monotonic_time ();
  Progress *p;

  if (data->job == NULL || (!force && now - data->last_report < 100 * G_TIME_SPAN_MILLISECOND))
    return;

  data->last_report = now;
  p = g_new0 (Progress, 1);
  p->job = g_object_ref (data->job);
  p->done = done;
  p->total = total;
  chronos_context_invoke_later (data->context, report_progress_cb, p, "[chronos] extraction progress");
}

static gboolean
unsafe (GError    **error,
        const char *name,
        const char *why)
{
  g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_UNSAFE_ARCHIVE,
               _ ("The QEMU bundle is unsafe and was not installed: the entry “%s” %s."), name, why);
  return FALSE;
}

/* Turns an entry name into the path under the destination, or NULL
 * (with @error unset) when stripping leaves nothing. */
static char *
entry_relative_path (const char *name,
                     guint       strip,
                     GError    **error)
{
  g_auto (GStrv) parts = NULL;
  g_autoptr (GPtrArray) kept = g_ptr_array_new ();
  guint skipped = 0;

  if (name[0] == '/' || name[0] == '\\' ||
      (g_ascii_isalpha (name[0]) && name[1] == ':'))
    {
      unsafe (error, name, _ ("has an absolute path"));
      return NULL;
    }
  if (strchr (name, '\\') != NULL)
    {
      unsafe (error, name, _ ("contains a backslash, which Windows reads as a folder separator"));
      return NULL;
    }

  parts = g_strsplit (name, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (strcmp (parts[i], "..") == 0)
        {
          unsafe (error, name, _ ("points outside the install folder (“..”)"));
          return NULL;
        }
      if (parts[i][0] == '\0' || strcmp (parts[i], ".") == 0)
        continue;
      if (skipped < strip)
        {
          skipped++;
          continue;
        }
      g_ptr_array_add (kept, parts[i]);
    }

  if (kept->len == 0)
    return NULL;

  g_ptr_array_add (kept, NULL);
  return g_strjoinv ("/", (char **)kept->pdata);
}

static int
enable_format (struct archive *a,
               const char     *format)
{
  if (strcmp (format, "zip") == 0)
    return archive_read_support_format_zip (a);
  if (strcmp (format, "7z") == 0)
    return archive_read_support_format_7zip (a);
  if (archive_read_support_format_tar (a) != ARCHIVE_OK)
    return ARCHIVE_FATAL;
  if (strcmp (format, "tar.zst") == 0)
    return archive_read_support_filter_zstd (a);
  if (strcmp (format, "tar.xz") == 0)
    return archive_read_support_filter_xz (a);
  if (strcmp (format, "tar.gz") == 0)
    return archive_read_support_filter_gzip (a);
  return ARCHIVE_FATAL;
}

static gboolean
archive_failed (struct archive *a,
                const char     *path,
                GError        **error)
{
  const char *message = archive_error_string (a);
  int         code = archive_errno (a);

  g_set_error (error, CHRONOS_PROVISION_ERROR,
               code == ENOSPC ? CHRONOS_PROVISION_ERROR_NO_SPACE : CHRONOS_PROVISION_ERROR_BAD_ARCHIVE,
               _ ("Could not extract %s: %s."), path, message ? message : _ ("unknown error"));
  return FALSE;
}

static gboolean
too_large (GError    **error,
           const char *what)
{
  g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_ARCHIVE_TOO_LARGE,
               _ ("The QEMU bundle was not installed: it expands to %s, more than a QEMU bundle can need."), what);
  return FALSE;
}

/* The installer fsyncs every file before the install is switched in; the
 * disk writes a file's data meanwhile, while later entries are extracted,
 * so that the fsync finds little left to wait for. On Linux
 * sync_file_range () queues that I/O without waiting (it makes nothing
 * durable by itself); elsewhere the fsync does it all. libarchive keeps
 * its descriptor to itself, so the file is opened a second time. */
typedef struct
{
  int     fd;
  guint64 queued; /* bytes up to here are on their way to the disk */
} Writeback;

static void
writeback_start (Writeback  *wb,
                 const char *path)
{
  wb->queued = 0;
#ifdef __linux__
  wb->fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
#else
  wb->fd = -1;
#endif
}

/* @end: where the data written so far ends; %G_MAXUINT64 for all of it. */
static void
writeback_queue (Writeback *wb,
                 guint64    end)
{
#ifdef __linux__
  if (wb->fd >= 0 && end > wb->queued && (end == G_MAXUINT64 || end - wb->queued >= WRITEBACK_STEP))
    {
      sync_file_range (wb->fd, wb->queued, end == G_MAXUINT64 ? 0 : end - wb->queued, SYNC_FILE_RANGE_WRITE);
      wb->queued = end;
    }
#endif
}

static void
writeback_end (Writeback *wb)
{
  writeback_queue (wb, G_MAXUINT64);
  if (wb->fd >= 0)
    g_close (wb->fd, NULL);
  wb->fd = -1;
}

static gboolean
extract (ExtractData  *data,
         GCancellable *cancellable,
         GError      **error)
{
  struct archive       *a = archive_read_new ();
  struct archive       *disk = archive_write_disk_new ();
  struct archive_entry *entry;
  g_autofree char      *dest = NULL;
  Writeback             wb = { .fd = -1 };
  guint64               archive_size = 0;
  guint64               written = 0;
  guint64               entries = 0;
  gboolean              ok = FALSE;
  int                   r;

#ifdef G_OS_UNIX
  {
    char *real = realpath (data->dest_dir, NULL);

    if (real == NULL)
      {
        g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_FAILED,
                     _ ("Could not use %s: %s."), data->dest_dir, g_strerror (errno));
        goto out;
      }
    dest = g_strdup (real);
    free (real);
  }
#else
  dest = g_strdup (data->dest_dir);
#endif

  {
    g_autoptr (GFile) file = g_file_new_for_path (data->archive_path);
    g_autoptr (GFileInfo) info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                                    G_FILE_QUERY_INFO_NONE, cancellable, error);
    if (info == NULL)
      goto out;
    archive_size = g_file_info_get_size (info);
  }

  archive_write_disk_set_options (disk,
                                  ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                      ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                      ARCHIVE_EXTRACT_PERM |
                                      ARCHIVE_EXTRACT_TIME);

  if (enable_format (a, data->format) != ARCHIVE_OK)
    {
      g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_BAD_ARCHIVE,
                   _ ("This build of Chronos cannot read “%s” archives."), data->format);
      goto out;
    }

  if (archive_read_open_filename (a, data->archive_path, 256 * 1024) != ARCHIVE_OK)
    {
      archive_failed (a, data->archive_path, error);
      goto out;
    }

  while ((r = archive_read_next_header (a, &entry)) == ARCHIVE_OK)
    {
      const char      *name = archive_entry_pathname_utf8 (entry);
      g_autofree char *relative = NULL;
      g_autofree char *target = NULL;
      g_autoptr (GError) local_error = NULL;
      mode_t type = archive_entry_filetype (entry);

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto out;

      if (name == NULL)
        name = archive_entry_pathname (entry);
      if (name == NULL || *name == '\0' || !g_utf8_validate (name, -1, NULL))
        {
          unsafe (error, name ? "?" : "", _ ("has a name that is not valid text"));
          goto out;
        }

      if (++entries > data->max_entries)
        {
          g_autofree char *what = g_strdup_printf (_ ("more than %llu files"), (unsigned long long)data->max_entries);
          too_large (error, what);
          goto out;
        }

      if (archive_entry_hardlink (entry) != NULL)
        {
          unsafe (error, name, _ ("is a hard link"));
          goto out;
        }
      if (type == AE_IFLNK || archive_entry_symlink (entry) != NULL)
        {
          unsafe (error, name, _ ("is a symbolic link"));
          goto out;
        }
      if (type != AE_IFREG && type != AE_IFDIR)
        {
          unsafe (error, name, _ ("is a device or special file"));
          goto out;
        }

      relative = entry_relative_path (name, data->strip_components, &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          goto out;
        }
      if (relative == NULL)
        {
          /* The top folder that strip_components removes. */
          archive_read_data_skip (a);
          continue;
        }

      if (type == AE_IFREG && archive_entry_size_is_set (entry) &&
          (guint64)archive_entry_size (entry) > data->max_bytes - MIN (written, data->max_bytes))
        {
          g_autofree char *limit = g_format_size (data->max_bytes);
          too_large (error, limit);
          goto out;
        }

      target = g_build_filename (dest, relative, NULL);
      archive_entry_set_pathname (entry, target);
      archive_entry_set_perm (entry, type == AE_IFDIR ? 0755 : (archive_entry_perm (entry) & 0755) | 0600);

      if (archive_write_header (disk, entry) != ARCHIVE_OK)
        {
          archive_failed (disk, data->archive_path, error);
          goto out;
        }

      if (type == AE_IFREG)
        {
          const void *buf;
          size_t      size;
          la_int64_t  offset;

          writeback_start (&wb, target);

          while ((r = archive_read_data_block (a, &buf, &size, &offset)) == ARCHIVE_OK)
            {
              /* Sparse holes count: they are what a bomb is made of. */
              guint64 end = (guint64)offset + size;

              if (g_cancellable_set_error_if_cancelled (cancellable, error))
                goto out;

              written += size;
              if (end > data->max_bytes || written > data->max_bytes)
                {
                  g_autofree char *limit = g_format_size (data->max_bytes);
                  too_large (error, limit);
                  goto out;
                }
              if (written > RATIO_GRACE_BYTES && written / MAX (archive_size, 1) > data->max_ratio)
                {
                  g_autofree char *what = g_strdup_printf (_ ("more than %u times its own size"), data->max_ratio);
                  too_large (error, what);
                  goto out;
                }

              if (archive_write_data_block (disk, buf, size, offset) != ARCHIVE_OK)
                {
                  archive_failed (disk, data->archive_path, error);
                  goto out;
                }

              writeback_queue (&wb, end);
              report_progress (data, archive_filter_bytes (a, -1), archive_size, FALSE);
            }
          if (r != ARCHIVE_EOF)
            {
              archive_failed (a, data->archive_path, error);
              goto out;
            }
        }

      if (archive_write_finish_entry (disk) != ARCHIVE_OK)
        {
          archive_failed (disk, data->archive_path, error);
          goto out;
        }
      writeback_end (&wb);
    }

  if (r != ARCHIVE_EOF)
    {
      archive_failed (a, data->archive_path, error);
      goto out;
    }

  if (entries == 0)
    {
      g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_BAD_ARCHIVE,
                   _ ("Could not extract %s: the archive is empty."), data->archive_path);
      goto out;
    }

  report_progress (data, archive_size, archive_size, TRUE);
  ok = TRUE;

out:
  if (wb.fd >= 0)
    g_close (wb.fd, NULL);
  archive_read_free (a);
  /* Freeing the writer applies deferred directory permissions. */
  if (archive_write_free (disk) != ARCHIVE_OK && ok)
    {
      g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_BAD_ARCHIVE,
                   _ ("Could not finish extracting %s."), data->archive_path);
      ok = FALSE;
    }
  return ok;
}

static void
extract_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  g_autoptr (GError) error = NULL;

  if (extract (task_data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

/**
 * chronos_extractor_extract_async:
 * @format: "zip", "7z", "tar.zst", "tar.xz" or "tar.gz"
 * @dest_dir: an existing, empty directory
 *
 * Extracts into @dest_dir. On failure or cancellation @dest_dir may hold
 * part of the archive: the caller made it and removes it.
 */
void
chronos_extractor_extract_async (ChronosExtractor   *self,
                                 const char         *archive_path,
                                 const char         *format,
                                 guint               strip_components,
                                 const char         *dest_dir,
                                 ChronosJob         *job,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  ExtractData *data;

  g_return_if_fail (CHRONOS_IS_EXTRACTOR (self));
  g_return_if_fail (archive_path != NULL && format != NULL && dest_dir != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, chronos_extractor_extract_async);

  data = g_new0 (ExtractData, 1);
  data->archive_path = g_strdup (archive_path);
  data->format = g_strdup (format);
  data->strip_components = strip_components;
  data->dest_dir = g_strdup (dest_dir);
  data->job = job ? g_object_ref (job) : NULL;
  data->max_bytes = self->max_bytes;
  data->max_entries = self->max_entries;
  data->max_ratio = self->max_ratio;
  data->context = g_main_context_ref_thread_default ();
  g_task_set_task_data (task, data, (GDestroyNotify)extract_data_free);

  g_task_run_in_thread (task, extract_thread);
}

gboolean
chronos_extractor_extract_finish (ChronosExtractor *self,
                                  GAsyncResult     *result,
                                  GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
