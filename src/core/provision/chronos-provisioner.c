/* chronos-provisioner.c: manifest -> download -> verify -> extract -> install QEMU
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The provisioner turns a manifest component into an installed QEMU:
 *
 *   plan        what, from where, how large, to where (shown before asking)
 *   Downloading NAME.part next to the destination (ChronosDownloader),
 *               hashed as it is written
 *   Verifying   size and that SHA-256 against the compiled-in manifest
 *               (an offline bundle is hashed here)
 *   Extracting  into DEST_PARENT/.DEST.tmp-XXXXXX (ChronosExtractor)
 *   Installing  check the named files, write chronos-install.json, remove
 *               the download, fsync every file and folder of the new
 *               install (so that a power cut cannot leave the destination
 *               naming files whose data never reached the disk), then
 *               swap the new install with the old one in one step
 *               (renameat2 RENAME_EXCHANGE on Linux), so the destination
 *               always names a complete install; where the system cannot
 *               (Windows, old kernels, some file systems): rename the old
 *               install aside, the new one into place (the old one is
 *               restored if that fails, or by the next run after a kill
 *               in between). Then fsync the parent and remove the old one.
 *
 * A half-done install is never visible under the destination's name: all
 * work happens in the temporary directory, which is removed on any failure
 * or cancellation. After a verified download the part file is removed on
 * any later failure too, so nothing is left behind; before that, only a
 * network failure keeps it (to resume).
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "chronos-paths.h"
#include "chronos-provisioner.h"
#include "chronos-sha256.h"

#ifdef CHRONOS_PROVISION_HAVE_QEMU_HINT
#include "chronos-qemu.h"
#endif

#define FLATPAK_INFO "/.flatpak-info"
/* Temporary directories older than this are leftovers of a crash. */
#define STALE_AGE_SECONDS (60 * 60)
/* Reads for hashing an offline bundle. */
#define HASH_BLOCK_SIZE (256 * 1024)

struct _ChronosProvisioner
{
  GObject parent_instance;

  ChronosManifest   *manifest;
  char              *destination;
  ChronosDownloader *downloader;
  ChronosExtractor  *extractor;
};

G_DEFINE_FINAL_TYPE (ChronosProvisioner, chronos_provisioner, G_TYPE_OBJECT)

G_DEFINE_BOXED_TYPE (ChronosProvisionPlan, chronos_provision_plan, chronos_provision_plan_ref, chronos_provision_plan_unref)

ChronosProvisionPlan *
chronos_provision_plan_ref (ChronosProvisionPlan *plan)
{
  g_return_val_if_fail (plan != NULL, NULL);

  g_atomic_ref_count_inc (&plan->ref_count);
  return plan;
}

void
chronos_provision_plan_unref (ChronosProvisionPlan *plan)
{
  g_return_if_fail (plan != NULL);

  if (!g_atomic_ref_count_dec (&plan->ref_count))
    return;

  g_clear_pointer (&plan->component, chronos_manifest_component_unref);
  g_free (plan->source);
  g_free (plan->destination);
  g_free (plan->download_path);
  g_free (plan);
}

static void
chronos_provisioner_finalize (GObject *object)
{
  ChronosProvisioner *self = (ChronosProvisioner *)object;

  g_clear_object (&self->manifest);
  g_clear_pointer (&self->destination, g_free);
  g_clear_object (&self->downloader);
  g_clear_object (&self->extractor);

  G_OBJECT_CLASS (chronos_provisioner_parent_class)->finalize (object);
}

static void
chronos_provisioner_class_init (ChronosProvisionerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = chronos_provisioner_finalize;
}

static void
chronos_provisioner_init (ChronosProvisioner *self)
{
  self->downloader = chronos_downloader_new ();
  self->extractor = chronos_extractor_new ();
}

ChronosProvisioner *
chronos_provisioner_new (ChronosManifest *manifest)
{
  ChronosProvisioner *self;

  g_return_val_if_fail (CHRONOS_IS_MANIFEST (manifest), NULL);

  self = g_object_new (CHRONOS_TYPE_PROVISIONER, NULL);
  self->manifest = g_object_ref (manifest);
  return self;
}

ChronosManifest *
chronos_provisioner_get_manifest (ChronosProvisioner *self)
{
  g_return_val_if_fail (CHRONOS_IS_PROVISIONER (self), NULL);
  return self->manifest;
}

/* The install directory; chronos_paths_qemu_install_dir() unless set,
 * which is where QEMU discovery looks for an "installed" QEMU. */
const char *
chronos_provisioner_get_destination (ChronosProvisioner *self)
{
  g_return_val_if_fail (CHRONOS_IS_PROVISIONER (self), NULL);

  if (self->destination == NULL)
    self->destination = chronos_paths_qemu_install_dir ();
  return self->destination;
}

void
chronos_provisioner_set_destination (ChronosProvisioner *self,
                                     const char         *destination)
{
  g_return_if_fail (CHRONOS_IS_PROVISIONER (self));

  g_free (self->destination);
  self->destination = destination ? g_canonicalize_filename (destination, NULL) : NULL;
}

/* The downloader, to tune timeouts and retries (tests, settings). */
ChronosDownloader *
chronos_provisioner_get_downloader (ChronosProvisioner *self)
{
  g_return_val_if_fail (CHRONOS_IS_PROVISIONER (self), NULL);
  return self->downloader;
}

ChronosExtractor *
chronos_provisioner_get_extractor (ChronosProvisioner *self)
{
  g_return_val_if_fail (CHRONOS_IS_PROVISIONER (self), NULL);
  return self->extractor;
}

/* Inside Flatpak, QEMU comes with the app and the sandbox would not let
 * a downloaded one run anyway. */
gboolean
chronos_provisioner_is_sandboxed (void)
{
  return g_file_test (FLATPAK_INFO, G_FILE_TEST_EXISTS);
}

/* How to get QEMU when no bundle fits this host. */
char *
chronos_provisioner_no_bundle_hint (void)
{
#ifdef CHRONOS_PROVISION_HAVE_QEMU_HINT
  return chronos_qemu_install_hint (CHRONOS_QEMU_COMPONENT_QEMU);
#else
  return g_strdup (_ ("Install QEMU from your operating system’s packages."));
#endif
}

/* A file name for the download from the URL's last segment, or a safe
 * default when it has none or an odd one. */
static char *
download_name (const ChronosManifestComponent *c)
{
  g_autoptr (GUri) uri = g_uri_parse (c->url, G_URI_FLAGS_NONE, NULL);
  g_autofree char *base = NULL;

  if (uri != NULL)
    base = g_path_get_basename (g_uri_get_path (uri));

  if (base == NULL || base[0] == '.' || base[0] == '/' || strlen (base) > 200)
    return g_strdup_printf ("qemu-%s.%s", c->version, c->format);

  for (char *p = base; *p; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '.' && *p != '-' && *p != '_' && *p != '+')
        *p = '_';
    }
  return g_steal_pointer (&base);
}

static guint64
free_space_near (const char *path)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);

  /* The parent may not exist yet: ask the nearest existing ancestor. */
  while (file != NULL)
    {
      g_autoptr (GFileInfo) info = g_file_query_filesystem_info (file, G_FILE_ATTRIBUTE_FILESYSTEM_FREE, NULL, NULL);
      GFile *parent;

      if (info != NULL && g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE))
        return g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE);

      parent = g_file_get_parent (file);
      g_object_unref (file);
      file = parent;
    }
  return 0;
}

/**
 * chronos_provisioner_plan:
 * @from_file: (nullable): an offline bundle instead of downloading
 *
 * Decides what an install will do. Cheap (a few stat calls). Errors:
 * SANDBOXED, NO_COMPONENT (with how to install QEMU otherwise),
 * NO_SPACE, FAILED when @from_file cannot be read.
 */
ChronosProvisionPlan *
chronos_provisioner_plan (ChronosProvisioner *self,
                          const char         *from_file,
                          GError            **error)
{
  g_autoptr (ChronosProvisionPlan) plan = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char          *parent = NULL;
  ChronosManifestComponent *c;

  g_return_val_if_fail (CHRONOS_IS_PROVISIONER (self), NULL);

  if (chronos_provisioner_is_sandboxed ())
    {
      g_set_error_literal (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_SANDBOXED,
                           _ ("QEMU is bundled with the Flatpak; Chronos does not download or install another one there."));
      return NULL;
    }

  c = chronos_manifest_find_component (self->manifest, "qemu", NULL, NULL, &local_error);
  if (c == NULL)
    {
      g_autofree char *hint = chronos_provisioner_no_bundle_hint ();

      g_set_error (error, local_error->domain, local_error->code, "%s. %s", local_error->message, hint);
      return NULL;
    }

  plan = g_new0 (ChronosProvisionPlan, 1);
  g_atomic_ref_count_init (&plan->ref_count);
  plan->component = chronos_manifest_component_ref (c);
  plan->size = c->size;
  plan->destination = g_strdup (chronos_provisioner_get_destination (self));
  parent = g_path_get_dirname (plan->destination);
  plan->free_space = free_space_near (parent);

  if (from_file != NULL)
    {
      GStatBuf st;

      plan->from_file = TRUE;
      plan->source = g_canonicalize_filename (from_file, NULL);
      if (g_stat (plan->source, &st) != 0 || !S_ISREG (st.st_mode))
        {
          int saved = errno;
          g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_FAILED,
                       _ ("Could not read the QEMU bundle %s: %s."), plan->source,
                       S_ISREG (st.st_mode) || saved != 0 ? g_strerror (saved) : _ ("not a regular file"));
          return NULL;
        }
      plan->size = st.st_size;
    }
  else
    {
      g_autofree char *name = download_name (c);
      g_autofree char *part = g_strconcat (name, ".part", NULL);
      GStatBuf         st;

      plan->source = g_strdup (c->url);
      plan->download_path = g_build_filename (parent, part, NULL);
      if (g_stat (plan->download_path, &st) == 0 && S_ISREG (st.st_mode) && (guint64)st.st_size <= c->size)
        plan->resume_offset = st.st_size;

      if (plan->free_space > 0 && plan->free_space < c->size - plan->resume_offset)
        {
          g_autofree char *need = g_format_size (c->size - plan->resume_offset);
          g_autofree char *have = g_format_size (plan->free_space);

          g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NO_SPACE,
                       _ ("There is not enough free space in %s: the download needs %s, but only %s is free."),
                       parent, need, have);
          return NULL;
        }
    }

  return g_steal_pointer (&plan);
}

/* ------------------------------------------------------------------------
 * File helpers (called from worker threads)
 * ------------------------------------------------------------------------ */

typedef gboolean (*VisitFunc) (const char     *path,
                               const GStatBuf *st);

/* Visits everything under @path, without following symbolic links, each
 * folder after what it holds. Stops at the first failure unless
 * @keep_going; a path that does not exist counts as done. */
static gboolean
walk_tree (const char *path,
           VisitFunc   visit,
           gboolean    keep_going)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return errno == ENOENT;

  if (S_ISDIR (st.st_mode))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      if (dir == NULL && !keep_going)
        return FALSE;
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          if (!walk_tree (child, visit, keep_going) && !keep_going)
            return FALSE;
        }
    }

  return visit (path, &st);
}

static gboolean
remove_visit (const char     *path,
              const GStatBuf *st)
{
  return S_ISDIR (st->st_mode) ? g_rmdir (path) == 0 : g_remove (path) == 0;
}

/* Removes a tree without following symbolic links. */
static gboolean
remove_tree (const char *path)
{
  return walk_tree (path, remove_visit, TRUE);
}

/* Writes a file's data, or a folder's entries, to the disk (errno set on
 * failure). Windows cannot open folders for that; NTFS journals their
 * entries itself. */
static gboolean
sync_visit (const char     *path,
            const GStatBuf *st)
{
  int fd;
  int saved;

  if (!S_ISREG (st->st_mode) && !S_ISDIR (st->st_mode))
    return TRUE;
#ifdef G_OS_WIN32
  if (S_ISDIR (st->st_mode))
    return TRUE;
  fd = g_open (path, O_WRONLY | O_BINARY, 0);
#else
  fd = g_open (path, O_RDONLY | (S_ISDIR (st->st_mode) ? O_DIRECTORY : 0), 0);
#endif
  if (fd < 0)
    return FALSE;
  if (g_fsync (fd) != 0)
    {
      saved = errno;
      g_close (fd, NULL);
      errno = saved;
      return FALSE;
    }
  return g_close (fd, NULL);
}

/* Makes a new install durable before its name is switched: otherwise a
 * power cut soon after could leave the destination naming files whose
 * data never reached the disk, with the previous install already gone. */
static gboolean
sync_tree (const char *path)
{
  return walk_tree (path, sync_visit, FALSE);
}

static gboolean
hash_file (const char   *path,
           guint64      *out_size,
           char        **out_sha256,
           GCancellable *cancellable,
           GError      **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileInputStream) in = NULL;
  g_autoptr (ChronosSha256) hash = chronos_sha256_new ();
  g_autofree guint8 *buffer = g_malloc (HASH_BLOCK_SIZE);

  in = g_file_read (file, cancellable, error);
  if (in == NULL ||
      !chronos_sha256_update_from_stream (hash, G_INPUT_STREAM (in), buffer, HASH_BLOCK_SIZE,
                                          out_size, cancellable, error))
    return FALSE;

  *out_sha256 = chronos_sha256_get_string (hash);
  return TRUE;
}

/* ------------------------------------------------------------------------
 * Installing
 * ------------------------------------------------------------------------ */

typedef struct
{
  ChronosProvisionPlan *plan;
  ChronosJob           *job;
  char                 *archive_path;
  char                 *temp_dir;
  char                 *sha256;
  guint64               size;
  gboolean              delete_archive; /* a verified download: remove it when done */
  GError               *error;          /* the failure being cleaned up after */
} InstallData;

static void
install_data_free (InstallData *data)
{
  g_clear_pointer (&data->plan, chronos_provision_plan_unref);
  g_clear_object (&data->job);
  g_free (data->archive_path);
  g_free (data->temp_dir);
  g_free (data->sha256);
  g_clear_error (&data->error);
  g_free (data);
}

static void
cleanup_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  InstallData *data = task_data;

  if (data->temp_dir != NULL)
    remove_tree (data->temp_dir);
  if (data->delete_archive && data->archive_path != NULL)
    g_remove (data->archive_path);
  g_task_return_boolean (task, TRUE);
}

static void
cleanup_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  GTask       *task = user_data;
  InstallData *data = g_task_get_task_data (task);
  GError      *error = g_steal_pointer (&data->error);

  chronos_job_complete (data->job, error);
  g_task_return_error (task, error);
  g_object_unref (task);
}

/* Every failure after the start goes through here: remove what was made,
 * then report. */
static void
install_fail (GTask  *task,
              GError *error)
{
  InstallData *data = g_task_get_task_data (task);
  GTask       *cleanup;

  g_clear_error (&data->error);
  data->error = error;

  /* Not the install's cancellable: the clean-up must run even then. */
  cleanup = g_task_new (g_task_get_source_object (task), NULL, cleanup_cb, task);
  g_task_set_task_data (cleanup, data, NULL);
  g_task_run_in_thread (cleanup, cleanup_thread);
  g_object_unref (cleanup);
}

static gboolean
check_files (InstallData *data,
             GError     **error)
{
  ChronosManifestComponent *c = data->plan->component;
  const struct
  {
    const char *path;
    GFileTest   test;
  } wanted[] = {
    { c->file_system, G_FILE_TEST_IS_REGULAR },
    { c->file_img, G_FILE_TEST_IS_REGULAR },
    { c->file_firmware_dir, G_FILE_TEST_IS_DIR },
  };

  for (guint i = 0; i < G_N_ELEMENTS (wanted); i++)
    {
      g_autofree char *path = NULL;

      if (wanted[i].path == NULL)
        continue;
      path = g_build_filename (data->temp_dir, wanted[i].path, NULL);
      /* g_file_test follows links, but the extractor never creates any. */
      if (!g_file_test (path, wanted[i].test))
        {
          g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_MISSING_FILES,
                       _ ("The QEMU bundle does not contain %s, which the manifest names; it was not installed."),
                       wanted[i].path);
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
write_record (InstallData *data,
              GError     **error)
{
  ChronosManifestComponent *c = data->plan->component;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = g_date_time_format_iso8601 (now);
  g_autofree char *text = NULL;
  g_autofree char *path = g_build_filename (data->temp_dir, CHRONOS_PROVISION_RECORD_NAME, NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, c->id);
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, c->version);
  json_builder_set_member_name (b, "os");
  json_builder_add_string_value (b, c->os);
  json_builder_set_member_name (b, "arch");
  json_builder_add_string_value (b, c->arch);
  json_builder_set_member_name (b, "url");
  json_builder_add_string_value (b, c->url);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, (gint64)data->size);
  json_builder_set_member_name (b, "sha256");
  json_builder_add_string_value (b, data->sha256);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, c->format);
  json_builder_set_member_name (b, "strip_components");
  json_builder_add_int_value (b, c->strip_components);
  json_builder_set_member_name (b, "files");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "system");
  json_builder_add_string_value (b, c->file_system);
  json_builder_set_member_name (b, "img");
  json_builder_add_string_value (b, c->file_img);
  if (c->file_firmware_dir != NULL)
    {
      json_builder_set_member_name (b, "firmware_dir");
      json_builder_add_string_value (b, c->file_firmware_dir);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "source");
  json_builder_add_string_value (b, data->plan->source);
  json_builder_set_member_name (b, "installed");
  json_builder_add_string_value (b, date);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);

  return g_file_set_contents (path, text, -1, error);
}

/* Puts back an install that a crash left renamed aside, and removes
 * temporary directories of crashed runs. */
static void
recover_leftovers (const char *parent,
                   const char *name,
                   const char *destination,
                   const char *own_temp)
{
  g_autoptr (GDir) dir = g_dir_open (parent, 0, NULL);
  g_autofree char *tmp_prefix = g_strdup_printf (".%s.tmp-", name);
  g_autofree char *old_prefix = g_strdup_printf (".%s.old-", name);
  gint64           now = g_get_real_time () / G_USEC_PER_SEC;
  const char      *entry;

  if (dir == NULL)
    return;

  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (parent, entry, NULL);
      GStatBuf         st;

      if (g_strcmp0 (path, own_temp) == 0 || g_lstat (path, &st) != 0 || !S_ISDIR (st.st_mode))
        continue;

      if (g_str_has_prefix (entry, old_prefix))
        {
          if (!g_file_test (destination, G_FILE_TEST_EXISTS) && g_rename (path, destination) == 0)
            g_message ("Restored the QEMU install that an interrupted update left in %s", path);
          else
            remove_tree (path);
        }
      else if (g_str_has_prefix (entry, tmp_prefix) && now - (gint64)st.st_mtime > STALE_AGE_SECONDS)
        remove_tree (path);
    }
}

/* Swaps two existing paths in one step, so that neither name is ever
 * missing. FALSE (errno set) where the system cannot: the caller then
 * falls back to two renames. */
static gboolean
exchange_paths (const char *a,
                const char *b)
{
#if defined(__linux__) && defined(RENAME_EXCHANGE)
  return renameat2 (AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0;
#else
  (void)a;
  (void)b;
  errno = ENOSYS;
  return FALSE;
#endif
}

static void
swap_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  InstallData     *data = task_data;
  const char      *dest = data->plan->destination;
  g_autofree char *parent = g_path_get_dirname (dest);
  g_autofree char *name = g_path_get_basename (dest);
  g_autofree char *old = NULL;
  GStatBuf         st;
  int              saved;

  /* The verified download is done with; removed first, its pages are
   * dropped rather than written out along with the install. */
  if (data->delete_archive)
    g_remove (data->archive_path);

  if (!sync_tree (data->temp_dir))
    {
      saved = errno;
      g_set_error (&data->error, CHRONOS_PROVISION_ERROR,
                   saved == ENOSPC ? CHRONOS_PROVISION_ERROR_NO_SPACE : CHRONOS_PROVISION_ERROR_INSTALL_FAILED,
                   _ ("Could not write the new QEMU to the disk in %s: %s. The previous QEMU was kept."),
                   parent, g_strerror (saved));
      g_task_return_boolean (task, FALSE);
      return;
    }

  recover_leftovers (parent, name, dest, data->temp_dir);

  if (g_cancellable_set_error_if_cancelled (cancellable, &data->error))
    {
      g_task_return_boolean (task, FALSE);
      return;
    }

  if (g_file_test (dest, G_FILE_TEST_EXISTS))
    {
      do
        {
          g_free (old);
          old = g_strdup_printf ("%s/.%s.old-%08x", parent, name, g_random_int ());
        }
      while (g_file_test (old, G_FILE_TEST_EXISTS));

      if (exchange_paths (data->temp_dir, dest))
        {
          /* The temporary name now holds the previous install: give it the
           * set-aside name at once, so that a kill before it is removed
           * leaves a folder the next run removes (not a fresh temporary one
           * it must leave alone for an hour). */
          g_autofree char *previous = g_steal_pointer (&data->temp_dir);

          if (g_rename (previous, old) != 0)
            {
              g_free (old);
              old = g_steal_pointer (&previous);
            }
          goto installed;
        }

      if (g_rename (dest, old) != 0)
        {
          saved = errno;
          g_set_error (&data->error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_INSTALL_FAILED,
                       _ ("Could not replace the QEMU in %s (%s); it may be running. Close every virtual machine and try again."),
                       dest, g_strerror (saved));
          g_task_return_boolean (task, FALSE);
          return;
        }
    }

  if (g_rename (data->temp_dir, dest) != 0)
    {
      saved = errno;
      if (old != NULL && g_rename (old, dest) != 0)
        g_warning ("Could not restore %s from %s: %s", dest, old, g_strerror (errno));
      g_set_error (&data->error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_INSTALL_FAILED,
                   _ ("Could not move the new QEMU into %s: %s. The previous QEMU was kept."),
                   dest, g_strerror (saved));
      g_task_return_boolean (task, FALSE);
      return;
    }

  /* The new install is in place: the temporary directory is gone. */
  g_clear_pointer (&data->temp_dir, g_free);
installed:
  /* The switch itself is on the disk before success is reported. */
  /* g_stat: the parent may be a symlink to the real folder, which is what
   * must reach the disk. */
  if (g_stat (parent, &st) != 0 || !sync_visit (parent, &st))
    g_warning ("Could not write %s to the disk: %s", parent, g_strerror (errno));
  if (old != NULL && !remove_tree (old))
    g_warning ("Could not remove the previous QEMU in %s", old);

  g_task_return_boolean (task, TRUE);
}

static void
swap_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  GTask       *task = user_data;
  InstallData *data = g_task_get_task_data (task);

  if (!g_task_propagate_boolean (G_TASK (result), NULL))
    {
      install_fail (task, g_steal_pointer (&data->error));
      return;
    }

  chronos_job_complete (data->job, NULL);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
extract_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  GTask       *task = user_data;
  InstallData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  GTask *swap;

  if (!chronos_extractor_extract_finish (CHRONOS_EXTRACTOR (object), result, &error) ||
      !check_files (data, &error) ||
      !write_record (data, &error) ||
      g_cancellable_set_error_if_cancelled (g_task_get_cancellable (task), &error))
    {
      install_fail (task, g_steal_pointer (&error));
      return;
    }

  chronos_job_set_step (data->job, _ ("Installing"));
  chronos_job_set_fraction (data->job, -1.0);

  /* The step change above lets a watcher cancel right before the swap;
   * the swap thread checks once more. */
  swap = g_task_new (g_task_get_source_object (task), g_task_get_cancellable (task), swap_cb, task);
  g_task_set_task_data (swap, data, NULL);
  g_task_run_in_thread (swap, swap_thread);
  g_object_unref (swap);
}

static void
start_extract (GTask *task)
{
  ChronosProvisioner *self = g_task_get_source_object (task);
  InstallData        *data = g_task_get_task_data (task);
  g_autofree char    *parent = g_path_get_dirname (data->plan->destination);
  g_autofree char    *name = g_path_get_basename (data->plan->destination);
  g_autofree char *template = NULL;

  chronos_job_set_step (data->job, _ ("Extracting"));
  chronos_job_update_bytes (data->job, 0, data->size);

  if (g_mkdir_with_parents (parent, 0755) != 0)
    {
      int saved = errno;
      install_fail (task, g_error_new (CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_FAILED,
                                       _ ("Could not create %s: %s."), parent, g_strerror (saved)));
      return;
    }

  template = g_strdup_printf ("%s/.%s.tmp-XXXXXX", parent, name);
  data->temp_dir = g_mkdtemp_full (template, 0755);
  if (data->temp_dir == NULL)
    {
      int saved = errno;
      install_fail (task, g_error_new (CHRONOS_PROVISION_ERROR,
                                       saved == ENOSPC ? CHRONOS_PROVISION_ERROR_NO_SPACE : CHRONOS_PROVISION_ERROR_FAILED,
                                       _ ("Could not create a temporary folder in %s: %s."), parent, g_strerror (saved)));
      return;
    }
  (void)g_steal_pointer (&template);

  chronos_extractor_extract_async (self->extractor, data->archive_path, data->plan->component->format,
                                   data->plan->component->strip_components, data->temp_dir, data->job,
                                   g_task_get_cancellable (task), extract_cb, task);
}

static gboolean
verify (GTask   *task,
        GError **error)
{
  InstallData              *data = g_task_get_task_data (task);
  ChronosManifestComponent *c = data->plan->component;

  chronos_job_set_step (data->job, _ ("Verifying"));
  chronos_job_set_fraction (data->job, -1.0);

  if (data->size != c->size)
    {
      g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_SIZE_MISMATCH,
                   _ ("%s has %llu bytes, but the manifest says %llu: it is not the QEMU bundle Chronos expects, and was not installed."),
                   data->plan->source, (unsigned long long)data->size, (unsigned long long)c->size);
      return FALSE;
    }
  if (g_ascii_strcasecmp (data->sha256, c->sha256) != 0)
    {
      g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_CHECKSUM_MISMATCH,
                   _ ("The SHA-256 of %s is %s, but the manifest says %s: the file is damaged or was tampered with, and was not installed."),
                   data->plan->source, data->sha256, c->sha256);
      return FALSE;
    }
  return TRUE;
}

static void
download_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  GTask       *task = user_data;
  InstallData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  data->sha256 = chronos_downloader_download_finish (CHRONOS_DOWNLOADER (object), result, &data->size, &error);
  if (data->sha256 == NULL)
    {
      /* The downloader already decided whether the part stays. */
      install_fail (task, g_steal_pointer (&error));
      return;
    }

  data->delete_archive = TRUE;
  if (!verify (task, &error))
    {
      install_fail (task, g_steal_pointer (&error));
      return;
    }

  start_extract (task);
}

static void
hash_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  InstallData *data = task_data;
  GError      *error = NULL;

  if (!hash_file (data->archive_path, &data->size, &data->sha256, cancellable, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
hash_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  GTask *task = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error) || !verify (task, &error))
    {
      install_fail (task, g_steal_pointer (&error));
      return;
    }

  start_extract (task);
}

/**
 * chronos_provisioner_install_async:
 * @plan: from chronos_provisioner_plan()
 * @job: receives the steps ("Downloading", "Verifying", "Extracting",
 *   "Installing") and byte progress; completed at the end
 *
 * Downloads (or reads the offline bundle), verifies, extracts and installs.
 * Cancel with @cancellable (the job's own cancellable is a good choice).
 */
void
chronos_provisioner_install_async (ChronosProvisioner   *self,
                                   ChronosProvisionPlan *plan,
                                   ChronosJob           *job,
                                   GCancellable         *cancellable,
                                   GAsyncReadyCallback   callback,
                                   gpointer              user_data)
{
  GTask       *task;
  InstallData *data;

  g_return_if_fail (CHRONOS_IS_PROVISIONER (self));
  g_return_if_fail (plan != NULL);
  g_return_if_fail (CHRONOS_IS_JOB (job));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, chronos_provisioner_install_async);
  data = g_new0 (InstallData, 1);
  data->plan = chronos_provision_plan_ref (plan);
  data->job = g_object_ref (job);
  g_task_set_task_data (task, data, (GDestroyNotify)install_data_free);

  if (chronos_job_get_state (job) == CHRONOS_JOB_STATE_QUEUED)
    chronos_job_start (job);

  if (chronos_provisioner_is_sandboxed ())
    {
      install_fail (task, g_error_new_literal (CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_SANDBOXED,
                                               _ ("QEMU is bundled with the Flatpak; Chronos does not download or install another one there.")));
      return;
    }

  if (plan->from_file)
    {
      GTask *hash;

      data->archive_path = g_strdup (plan->source);
      chronos_job_set_step (job, _ ("Verifying"));
      hash = g_task_new (self, cancellable, hash_cb, task);
      g_task_set_task_data (hash, data, NULL);
      g_task_run_in_thread (hash, hash_thread);
      g_object_unref (hash);
    }
  else
    {
      g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
      g_auto (GStrv) urls = NULL;
      g_autofree char *parent = g_path_get_dirname (plan->download_path);

      if (g_mkdir_with_parents (parent, 0755) != 0)
        {
          int saved = errno;
          install_fail (task, g_error_new (CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_FAILED,
                                           _ ("Could not create %s: %s."), parent, g_strerror (saved)));
          return;
        }

      g_strv_builder_add (builder, plan->component->url);
      g_strv_builder_addv (builder, (const char **)plan->component->mirrors);
      urls = g_strv_builder_end (builder);

      data->archive_path = g_strdup (plan->download_path);
      chronos_job_set_step (job, _ ("Downloading"));
      chronos_downloader_download_async (self->downloader, (const char *const *)urls, plan->download_path,
                                         plan->component->size, job, cancellable, download_cb, task);
    }
}

gboolean
chronos_provisioner_install_finish (ChronosProvisioner *self,
                                    GAsyncResult       *result,
                                    GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * chronos_provisioner_read_record:
 *
 * Reads the chronos-install.json that an install wrote into
 * @install_dir. Returns: (transfer full): the record, or %NULL with
 * G_IO_ERROR_NOT_FOUND when nothing was installed there.
 */
JsonObject *
chronos_provisioner_read_record (const char *install_dir,
                                 GError    **error)
{
  g_autofree char *path = g_build_filename (install_dir, CHRONOS_PROVISION_RECORD_NAME, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _ ("No QEMU was installed in %s."), install_dir);
      return NULL;
    }
  if (!json_parser_load_from_file (parser, path, error))
    return NULL;

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_FAILED,
                   _ ("%s is damaged."), path);
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}
