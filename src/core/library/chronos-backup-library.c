/* chronos-backup-library.c: the backups found in the configured folders
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The library is the model the browser shows: a GListModel of ChronosBackup,
 * in the order the files were found (the app sorts and groups it). Folders
 * are enumerated asynchronously and watched with one GFileMonitor per
 * directory; bursts of change events for a file (a backup being written
 * fires hundreds) are collapsed into one re-check after a short quiet time.
 *
 * Image info is probed off the main thread with chronos_image_info_load_async,
 * at most max-probes at a time, so that opening a folder of a thousand
 * backups neither blocks the window nor starts a thousand threads.
 *
 * Every asynchronous call carries a cancellable owned by its folder (or its
 * probe). Callbacks look at that cancellable before anything else: once it is
 * cancelled, the library or folder the call was made for may be gone.
 */

#include "config.h"

#include "chronos-backup-library.h"

/* Windows Backup keeps its images in
 * WindowsImageBackup/<computer>/Backup <date>/<guid>.vhdx: three levels. */
#define MAX_DEPTH 4
#define DEBOUNCE_MSEC 250
#define DEFAULT_PROBES 2
#define ENUMERATE_BATCH 64

#define QUERY_ATTRIBUTES \
  G_FILE_ATTRIBUTE_STANDARD_NAME "," G_FILE_ATTRIBUTE_STANDARD_TYPE "," G_FILE_ATTRIBUTE_STANDARD_SIZE "," G_FILE_ATTRIBUTE_STANDARD_IS_HIDDEN "," G_FILE_ATTRIBUTE_TIME_MODIFIED

typedef struct _Folder Folder;

struct _ChronosBackupLibrary
{
  GObject parent_instance;

  GPtrArray  *items;   /* ChronosBackup, the model */
  GHashTable *by_path; /* path -> ChronosBackup (borrowed from items) */
  GPtrArray  *folders; /* Folder */
  GListStore *folder_model;

  GQueue      probe_queue; /* ChronosBackup (owned) */
  GHashTable *probes;      /* ChronosBackup -> GCancellable, in flight */
  guint       max_probes;

  guint    n_scanning;
  guint    n_pending;
  gboolean busy;
};

struct _Folder
{
  ChronosBackupLibrary *library;
  GFile                *root;
  GCancellable         *cancellable;
  GHashTable           *monitors; /* dir path -> GFileMonitor */
  GHashTable           *pending;  /* file path -> Pending */
  guint                 n_scanning;
};

typedef struct
{
  Folder *folder;
  GFile  *file;
  guint   source_id;
} Pending;

/* Data for one asynchronous call; valid only while cancellable is not. */
typedef struct
{
  ChronosBackupLibrary *self;
  Folder               *folder;
  GCancellable         *cancellable;
  GFile                *file;
  GFileEnumerator      *enumerator;
  ChronosBackup        *backup;
} AsyncData;

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ChronosBackupLibrary, chronos_backup_library, G_TYPE_OBJECT, G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum
{
  PROP_0,
  PROP_BUSY,
  PROP_MAX_PROBES,
  PROP_N_ITEMS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void scan_dir (Folder *folder,
                      GFile  *dir);
static void pump_probes (ChronosBackupLibrary *self);

static AsyncData *
async_data_new (ChronosBackupLibrary *self,
                Folder               *folder,
                GCancellable         *cancellable,
                GFile                *file)
{
  AsyncData *data = g_new0 (AsyncData, 1);

  data->self = self;
  data->folder = folder;
  data->cancellable = g_object_ref (cancellable);
  data->file = file != NULL ? g_object_ref (file) : NULL;
  return data;
}

static void
async_data_free (AsyncData *data)
{
  g_clear_object (&data->cancellable);
  g_clear_object (&data->file);
  g_clear_object (&data->enumerator);
  g_clear_object (&data->backup);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AsyncData, async_data_free)

static gboolean
is_backup_name (const char *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);

  return g_str_has_suffix (lower, ".vhdx") || g_str_has_suffix (lower, ".avhdx");
}

/* Directory levels below the folder's root; 0 for the root itself. */
static int
depth_below (GFile *root,
             GFile *dir)
{
  g_autofree char *relative = NULL;
  int              depth = 1;

  if (g_file_equal (root, dir))
    return 0;
  relative = g_file_get_relative_path (root, dir);
  if (relative == NULL)
    return G_MAXINT;
  for (const char *p = relative; *p; p++)
    if (G_IS_DIR_SEPARATOR (*p))
      depth++;
  return depth;
}

static void
update_busy (ChronosBackupLibrary *self)
{
  gboolean busy = self->n_scanning > 0 || self->n_pending > 0 ||
                  g_hash_table_size (self->probes) > 0 ||
                  !g_queue_is_empty (&self->probe_queue);

  if (busy != self->busy)
    {
      self->busy = busy;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
    }
}

static void
emit_items_changed (ChronosBackupLibrary *self,
                    guint                 position,
                    guint                 removed,
                    guint                 added)
{
  g_list_model_items_changed (G_LIST_MODEL (self), position, removed, added);
  if (removed != added)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
}

/* Probing */

static void
cancel_probe (ChronosBackupLibrary *self,
              ChronosBackup        *backup)
{
  GCancellable *cancellable = g_hash_table_lookup (self->probes, backup);
  GList        *link;

  if (cancellable != NULL)
    {
      g_cancellable_cancel (cancellable);
      g_hash_table_remove (self->probes, backup);
    }

  if ((link = g_queue_find (&self->probe_queue, backup)))
    {
      g_queue_delete_link (&self->probe_queue, link);
      g_object_unref (backup);
    }

  _chronos_backup_set_probing (backup, FALSE);
}

static void
queue_probe (ChronosBackupLibrary *self,
             ChronosBackup        *backup,
             gboolean              first)
{
  GList *link;

  if ((link = g_queue_find (&self->probe_queue, backup)))
    {
      if (!first)
        return;
      g_queue_unlink (&self->probe_queue, link);
      g_queue_push_head_link (&self->probe_queue, link);
    }
  else
    {
      /* A probe in flight may have read the old contents: start over. */
      if (g_hash_table_contains (self->probes, backup))
        {
          g_cancellable_cancel (g_hash_table_lookup (self->probes, backup));
          g_hash_table_remove (self->probes, backup);
        }
      if (first)
        g_queue_push_head (&self->probe_queue, g_object_ref (backup));
      else
        g_queue_push_tail (&self->probe_queue, g_object_ref (backup));
    }

  _chronos_backup_set_probing (backup, TRUE);
  pump_probes (self);
  update_busy (self);
}

static void
probe_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr (AsyncData) data = user_data;
  g_autoptr (ChronosImageInfo) info = NULL;
  g_autoptr (GError) error = NULL;
  ChronosBackupLibrary *self;

  info = chronos_image_info_load_finish (result, &error);
  if (g_cancellable_is_cancelled (data->cancellable))
    return;

  self = data->self;
  g_hash_table_remove (self->probes, data->backup);

  _chronos_backup_set_info (data->backup, info, error);
  _chronos_backup_set_probing (data->backup, FALSE);

  pump_probes (self);
  update_busy (self);
}

static void
pump_probes (ChronosBackupLibrary *self)
{
  while (g_hash_table_size (self->probes) < self->max_probes &&
         !g_queue_is_empty (&self->probe_queue))
    {
      g_autoptr (ChronosBackup) backup = g_queue_pop_head (&self->probe_queue);
      g_autoptr (GCancellable) cancellable = g_cancellable_new ();
      AsyncData *data = async_data_new (self, NULL, cancellable, NULL);

      data->backup = g_object_ref (backup);
      g_hash_table_insert (self->probes, g_object_ref (backup), g_object_ref (cancellable));
      chronos_image_info_load_async (chronos_backup_get_path (backup), cancellable,
                                     probe_cb, data);
    }
}

/* The model */

static guint
find_index (ChronosBackupLibrary *self,
            ChronosBackup        *backup)
{
  guint index;

  if (g_ptr_array_find (self->items, backup, &index))
    return index;
  return G_MAXUINT;
}

static void
remove_at (ChronosBackupLibrary *self,
           guint                 index)
{
  ChronosBackup *backup = g_ptr_array_index (self->items, index);

  cancel_probe (self, backup);
  g_hash_table_remove (self->by_path, chronos_backup_get_path (backup));
  g_ptr_array_remove_index (self->items, index);
  emit_items_changed (self, index, 1, 0);
}

static void
add_or_update (ChronosBackupLibrary *self,
               Folder               *folder,
               GFile                *file,
               GFileInfo            *info)
{
  g_autofree char *path = g_file_get_path (file);
  g_autoptr (GDateTime) modified = NULL;
  ChronosBackup *backup;
  gint64         mtime = 0;
  guint64        size;

  if (path == NULL)
    return;

  modified = g_file_info_get_modification_date_time (info);
  if (modified != NULL)
    mtime = g_date_time_to_unix (modified);
  size = g_file_info_get_size (info);

  backup = g_hash_table_lookup (self->by_path, path);
  if (backup == NULL)
    {
      backup = chronos_backup_new (file, folder->root);
      _chronos_backup_set_stat (backup, mtime, size);
      g_ptr_array_add (self->items, backup);
      g_hash_table_insert (self->by_path, g_strdup (path), backup);
      emit_items_changed (self, self->items->len - 1, 0, 1);
      queue_probe (self, backup, FALSE);
      return;
    }

  if (chronos_backup_get_mtime (backup) != mtime ||
      chronos_backup_get_file_size (backup) != size)
    {
      guint index = find_index (self, backup);

      _chronos_backup_set_stat (backup, mtime, size);
      /* Sorted and filtered views only look again at an item that is
       * replaced, so replace it with itself. */
      emit_items_changed (self, index, 1, 1);
      queue_probe (self, backup, FALSE);
    }
}

/* Removes the backup at @path, or every backup under @path when it was a
 * directory that vanished. */
static void
remove_path (ChronosBackupLibrary *self,
             Folder               *folder,
             const char           *path)
{
  g_autofree char *prefix = g_strconcat (path, G_DIR_SEPARATOR_S, NULL);
  GHashTableIter   iter;
  const char      *dir;

  for (guint i = self->items->len; i > 0; i--)
    {
      ChronosBackup *backup = g_ptr_array_index (self->items, i - 1);
      const char    *backup_path = chronos_backup_get_path (backup);

      if (g_str_equal (backup_path, path) || g_str_has_prefix (backup_path, prefix))
        remove_at (self, i - 1);
    }

  g_hash_table_iter_init (&iter, folder->monitors);
  while (g_hash_table_iter_next (&iter, (gpointer *)&dir, NULL))
    if (g_str_equal (dir, path) || g_str_has_prefix (dir, prefix))
      g_hash_table_iter_remove (&iter);
}

/* Re-checking a file after it changed */

static void
recheck_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr (AsyncData) data = user_data;
  g_autoptr (GFileInfo) info = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char      *path = NULL;
  ChronosBackupLibrary *self;
  Folder               *folder;

  info = g_file_query_info_finish (G_FILE (object), result, &error);
  if (g_cancellable_is_cancelled (data->cancellable))
    return;

  self = data->self;
  folder = data->folder;
  folder->n_scanning--;
  self->n_scanning--;

  path = g_file_get_path (data->file);
  if (info == NULL)
    {
      /* Gone (or no longer readable): it leaves the list either way. */
      if (path != NULL)
        remove_path (self, folder, path);
    }
  else if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
    {
      if (path != NULL && !g_hash_table_contains (folder->monitors, path) &&
          depth_below (folder->root, data->file) <= MAX_DEPTH)
        scan_dir (folder, data->file);
    }
  else if (g_file_info_get_file_type (info) == G_FILE_TYPE_REGULAR &&
           is_backup_name (g_file_info_get_name (info)))
    {
      add_or_update (self, folder, data->file, info);
    }
  else if (path != NULL)
    {
      /* Renamed to something that is no backup any more. */
      remove_path (self, folder, path);
    }

  update_busy (self);
}

static gboolean
pending_fire_cb (gpointer user_data)
{
  Pending              *pending = user_data;
  Folder               *folder = pending->folder;
  ChronosBackupLibrary *self = folder->library;
  g_autoptr (GFile) file = g_object_ref (pending->file);
  g_autofree char *path = g_file_get_path (file);

  pending->source_id = 0;
  g_hash_table_remove (folder->pending, path);
  self->n_pending--;

  folder->n_scanning++;
  self->n_scanning++;
  g_file_query_info_async (file, QUERY_ATTRIBUTES, G_FILE_QUERY_INFO_NONE,
                           G_PRIORITY_DEFAULT, folder->cancellable, recheck_cb,
                           async_data_new (self, folder, folder->cancellable, file));

  return G_SOURCE_REMOVE;
}

static void
pending_free (gpointer data)
{
  Pending *pending = data;

  if (pending->source_id != 0)
    {
      g_source_remove (pending->source_id);
      pending->folder->library->n_pending--;
    }
  g_clear_object (&pending->file);
  g_free (pending);
}

static void
schedule_recheck (Folder *folder,
                  GFile  *file)
{
  g_autofree char *path = g_file_get_path (file);
  Pending         *pending;

  if (path == NULL)
    return;

  pending = g_hash_table_lookup (folder->pending, path);
  if (pending == NULL)
    {
      pending = g_new0 (Pending, 1);
      pending->folder = folder;
      pending->file = g_object_ref (file);
      g_hash_table_insert (folder->pending, g_steal_pointer (&path), pending);
      folder->library->n_pending++;
    }
  else
    {
      g_source_remove (pending->source_id);
    }

  /* Every new event restarts the wait: a file being copied in is looked at
   * once, after the copy went quiet. */
  pending->source_id = g_timeout_add (DEBOUNCE_MSEC, pending_fire_cb, pending);
  update_busy (folder->library);
}

static void
monitor_changed_cb (GFileMonitor     *monitor,
                    GFile            *file,
                    GFile            *other_file,
                    GFileMonitorEvent event,
                    gpointer          user_data)
{
  Folder *folder = user_data;

  switch (event)
    {
    case G_FILE_MONITOR_EVENT_RENAMED:
    case G_FILE_MONITOR_EVENT_MOVED:
      schedule_recheck (folder, file);
      if (other_file != NULL)
        schedule_recheck (folder, other_file);
      break;

    case G_FILE_MONITOR_EVENT_CREATED:
    case G_FILE_MONITOR_EVENT_CHANGED:
    case G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT:
    case G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED:
    case G_FILE_MONITOR_EVENT_DELETED:
    case G_FILE_MONITOR_EVENT_MOVED_IN:
    case G_FILE_MONITOR_EVENT_MOVED_OUT:
      schedule_recheck (folder, file);
      break;

    case G_FILE_MONITOR_EVENT_PRE_UNMOUNT:
    case G_FILE_MONITOR_EVENT_UNMOUNTED:
    default:
      break;
    }
}

/* Scanning */

static void
next_files_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (AsyncData) data = user_data;
  g_autoptr (GError) error = NULL;
  GList                *infos;
  ChronosBackupLibrary *self;
  Folder               *folder;
  int                   depth;

  infos = g_file_enumerator_next_files_finish (G_FILE_ENUMERATOR (object), result, &error);
  if (g_cancellable_is_cancelled (data->cancellable))
    {
      g_list_free_full (infos, g_object_unref);
      return;
    }

  self = data->self;
  folder = data->folder;
  depth = depth_below (folder->root, data->file);

  for (const GList *l = infos; l != NULL; l = l->next)
    {
      GFileInfo  *info = l->data;
      const char *name = g_file_info_get_name (info);
      g_autoptr (GFile) child = g_file_get_child (data->file, name);

      switch (g_file_info_get_file_type (info))
        {
        case G_FILE_TYPE_DIRECTORY:
          if (depth < MAX_DEPTH && !g_file_info_get_is_hidden (info))
            scan_dir (folder, child);
          break;
        case G_FILE_TYPE_REGULAR:
          if (is_backup_name (name))
            add_or_update (self, folder, child, info);
          break;
        case G_FILE_TYPE_UNKNOWN:
        case G_FILE_TYPE_SYMBOLIC_LINK:
        case G_FILE_TYPE_SPECIAL:
        case G_FILE_TYPE_SHORTCUT:
        case G_FILE_TYPE_MOUNTABLE:
        default:
          break;
        }
    }

  if (infos != NULL)
    {
      GFileEnumerator *enumerator = G_FILE_ENUMERATOR (object);
      GCancellable    *cancellable = data->cancellable;

      g_list_free_full (infos, g_object_unref);
      g_file_enumerator_next_files_async (enumerator, ENUMERATE_BATCH, G_PRIORITY_DEFAULT,
                                          cancellable, next_files_cb,
                                          g_steal_pointer (&data));
      return;
    }

  if (error != NULL)
    g_debug ("Stopped listing %s: %s", g_file_peek_path (data->file), error->message);

  g_file_enumerator_close_async (G_FILE_ENUMERATOR (object), G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  folder->n_scanning--;
  self->n_scanning--;
  update_busy (self);
}

static void
enumerate_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (AsyncData) data = user_data;
  g_autoptr (GFileEnumerator) enumerator = NULL;
  g_autoptr (GError) error = NULL;
  GCancellable *cancellable;

  enumerator = g_file_enumerate_children_finish (G_FILE (object), result, &error);
  if (g_cancellable_is_cancelled (data->cancellable))
    return;

  if (enumerator == NULL)
    {
      /* A folder that is missing now (an unplugged disk) stays in the
       * library: its monitor brings the backups back when it returns. */
      g_debug ("Cannot list %s: %s", g_file_peek_path (data->file), error->message);
      data->folder->n_scanning--;
      data->self->n_scanning--;
      update_busy (data->self);
      return;
    }

  data->enumerator = g_object_ref (enumerator);
  cancellable = data->cancellable;
  g_file_enumerator_next_files_async (enumerator, ENUMERATE_BATCH, G_PRIORITY_DEFAULT,
                                      cancellable, next_files_cb,
                                      g_steal_pointer (&data));
}

static void
scan_dir (Folder *folder,
          GFile  *dir)
{
  ChronosBackupLibrary *self = folder->library;
  g_autofree char      *path = g_file_get_path (dir);

  if (path == NULL)
    return;

  /* Watch first, then list: a file created in between is seen by both,
   * and add_or_update() takes it once. */
  if (!g_hash_table_contains (folder->monitors, path))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GFileMonitor) monitor = NULL;

      monitor = g_file_monitor_directory (dir, G_FILE_MONITOR_WATCH_MOVES,
                                          folder->cancellable, &error);
      if (monitor != NULL)
        {
          g_signal_connect (monitor, "changed", G_CALLBACK (monitor_changed_cb), folder);
          g_hash_table_insert (folder->monitors, g_strdup (path), g_steal_pointer (&monitor));
        }
      else
        g_debug ("Cannot watch %s: %s", path, error->message);
    }

  folder->n_scanning++;
  self->n_scanning++;
  g_file_enumerate_children_async (dir, QUERY_ATTRIBUTES, G_FILE_QUERY_INFO_NONE,
                                   G_PRIORITY_DEFAULT, folder->cancellable, enumerate_cb,
                                   async_data_new (self, folder, folder->cancellable, dir));
  update_busy (self);
}

static void
monitor_free (gpointer data)
{
  GFileMonitor *monitor = data;

  g_signal_handlers_disconnect_matched (monitor, G_SIGNAL_MATCH_FUNC, 0, 0, NULL,
                                        monitor_changed_cb, NULL);
  g_file_monitor_cancel (monitor);
  g_object_unref (monitor);
}

static Folder *
folder_new (ChronosBackupLibrary *self,
            GFile                *root)
{
  Folder *folder = g_new0 (Folder, 1);

  folder->library = self;
  folder->root = g_object_ref (root);
  folder->cancellable = g_cancellable_new ();
  folder->monitors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, monitor_free);
  folder->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, pending_free);
  return folder;
}

static void
folder_free (gpointer data)
{
  Folder               *folder = data;
  ChronosBackupLibrary *self = folder->library;

  g_cancellable_cancel (folder->cancellable);
  self->n_scanning -= folder->n_scanning;
  g_clear_pointer (&folder->pending, g_hash_table_unref);
  g_clear_pointer (&folder->monitors, g_hash_table_unref);
  g_clear_object (&folder->cancellable);
  g_clear_object (&folder->root);
  g_free (folder);
}

static guint
find_folder (ChronosBackupLibrary *self,
             GFile                *root)
{
  for (guint i = 0; i < self->folders->len; i++)
    {
      Folder *folder = g_ptr_array_index (self->folders, i);

      if (g_file_equal (folder->root, root))
        return i;
    }
  return G_MAXUINT;
}

/* GListModel */

static GType
get_item_type (GListModel *model)
{
  return CHRONOS_TYPE_BACKUP;
}

static guint
get_n_items (GListModel *model)
{
  return CHRONOS_BACKUP_LIBRARY (model)->items->len;
}

static gpointer
get_item (GListModel *model,
          guint       position)
{
  ChronosBackupLibrary *self = CHRONOS_BACKUP_LIBRARY (model);

  if (position >= self->items->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->items, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

/* GObject */

static void
chronos_backup_library_dispose (GObject *object)
{
  ChronosBackupLibrary *self = (ChronosBackupLibrary *)object;
  GHashTableIter        iter;
  GCancellable         *cancellable;

  if (self->folders != NULL)
    g_ptr_array_set_size (self->folders, 0);

  g_hash_table_iter_init (&iter, self->probes);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&cancellable))
    g_cancellable_cancel (cancellable);
  g_hash_table_remove_all (self->probes);
  g_queue_clear_full (&self->probe_queue, g_object_unref);

  G_OBJECT_CLASS (chronos_backup_library_parent_class)->dispose (object);
}

static void
chronos_backup_library_finalize (GObject *object)
{
  ChronosBackupLibrary *self = (ChronosBackupLibrary *)object;

  g_clear_pointer (&self->folders, g_ptr_array_unref);
  g_clear_pointer (&self->by_path, g_hash_table_unref);
  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_clear_pointer (&self->probes, g_hash_table_unref);
  g_clear_object (&self->folder_model);

  G_OBJECT_CLASS (chronos_backup_library_parent_class)->finalize (object);
}

static void
chronos_backup_library_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  ChronosBackupLibrary *self = CHRONOS_BACKUP_LIBRARY (object);

  switch (prop_id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    case PROP_MAX_PROBES:
      g_value_set_uint (value, self->max_probes);
      break;
    case PROP_N_ITEMS:
      g_value_set_uint (value, self->items->len);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_backup_library_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  ChronosBackupLibrary *self = CHRONOS_BACKUP_LIBRARY (object);

  switch (prop_id)
    {
    case PROP_MAX_PROBES:
      chronos_backup_library_set_max_probes (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_backup_library_class_init (ChronosBackupLibraryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = chronos_backup_library_dispose;
  object_class->finalize = chronos_backup_library_finalize;
  object_class->get_property = chronos_backup_library_get_property;
  object_class->set_property = chronos_backup_library_set_property;

  properties[PROP_BUSY] =
      g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                            G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MAX_PROBES] =
      g_param_spec_uint ("max-probes", NULL, NULL, 1, 64, DEFAULT_PROBES,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_ITEMS] =
      g_param_spec_uint ("n-items", NULL, NULL, 0, G_MAXUINT, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
chronos_backup_library_init (ChronosBackupLibrary *self)
{
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
  self->by_path = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->folders = g_ptr_array_new_with_free_func (folder_free);
  self->folder_model = g_list_store_new (G_TYPE_FILE);
  self->probes = g_hash_table_new_full (NULL, NULL, g_object_unref, g_object_unref);
  self->max_probes = DEFAULT_PROBES;
  g_queue_init (&self->probe_queue);
}

ChronosBackupLibrary *
chronos_backup_library_new (void)
{
  return g_object_new (CHRONOS_TYPE_BACKUP_LIBRARY, NULL);
}

void
chronos_backup_library_add_folder (ChronosBackupLibrary *self,
                                   GFile                *root)
{
  Folder *folder;

  g_return_if_fail (CHRONOS_IS_BACKUP_LIBRARY (self));
  g_return_if_fail (G_IS_FILE (root));

  if (find_folder (self, root) != G_MAXUINT)
    return;

  folder = folder_new (self, root);
  g_ptr_array_add (self->folders, folder);
  g_list_store_append (self->folder_model, root);
  scan_dir (folder, root);
}

gboolean
chronos_backup_library_remove_folder (ChronosBackupLibrary *self,
                                      GFile                *root)
{
  guint index;

  g_return_val_if_fail (CHRONOS_IS_BACKUP_LIBRARY (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (root), FALSE);

  index = find_folder (self, root);
  if (index == G_MAXUINT)
    return FALSE;

  for (guint i = self->items->len; i > 0; i--)
    {
      ChronosBackup *backup = g_ptr_array_index (self->items, i - 1);

      if (g_file_equal (chronos_backup_get_folder (backup), root))
        remove_at (self, i - 1);
    }

  g_ptr_array_remove_index (self->folders, index);
  g_list_store_remove (self->folder_model, index);

  /* A backup that another folder also contains (nested folders) was listed
   * under the one that found it first: let the others find it again. */
  for (guint i = 0; i < self->folders->len; i++)
    {
      Folder *other = g_ptr_array_index (self->folders, i);

      if (g_file_has_prefix (other->root, root) || g_file_has_prefix (root, other->root))
        scan_dir (other, other->root);
    }

  update_busy (self);
  return TRUE;
}

gboolean
chronos_backup_library_has_folder (ChronosBackupLibrary *self,
                                   GFile                *root)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP_LIBRARY (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (root), FALSE);

  return find_folder (self, root) != G_MAXUINT;
}

GListModel *
chronos_backup_library_get_folders (ChronosBackupLibrary *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP_LIBRARY (self), NULL);

  return G_LIST_MODEL (self->folder_model);
}

ChronosBackup *
chronos_backup_library_lookup (ChronosBackupLibrary *self,
                               GFile                *file)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (CHRONOS_IS_BACKUP_LIBRARY (self), NULL);
  g_return_val_if_fail (G_IS_FILE (file), NULL);

  path = g_file_get_path (file);
  if (path == NULL)
    return NULL;
  return g_hash_table_lookup (self->by_path, path);
}

void
chronos_backup_library_probe (ChronosBackupLibrary *self,
                              ChronosBackup        *backup)
{
  g_return_if_fail (CHRONOS_IS_BACKUP_LIBRARY (self));
  g_return_if_fail (CHRONOS_IS_BACKUP (backup));

  if (find_index (self, backup) == G_MAXUINT)
    return;
  queue_probe (self, backup, TRUE);
}

gboolean
chronos_backup_library_get_busy (ChronosBackupLibrary *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP_LIBRARY (self), FALSE);
  return self->busy;
}

guint
chronos_backup_library_get_max_probes (ChronosBackupLibrary *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP_LIBRARY (self), 0);
  return self->max_probes;
}

void
chronos_backup_library_set_max_probes (ChronosBackupLibrary *self,
                                       guint                 max_probes)
{
  g_return_if_fail (CHRONOS_IS_BACKUP_LIBRARY (self));
  g_return_if_fail (max_probes > 0);

  if (self->max_probes == max_probes)
    return;
  self->max_probes = max_probes;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_PROBES]);
  pump_probes (self);
}
