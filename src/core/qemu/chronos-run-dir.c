/* chronos-run-dir.c: a VM's private run directory (overlay, vars, sockets)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Each VM gets ROOT/vm-XXXXXX (mode 0700): the qcow2 overlay that takes the
 * guest's writes, the private UEFI vars copy and the QMP/VNC sockets. Only
 * the owner may enter it, which is what keeps other local users away from
 * the QMP socket. Next to them, "owner" names the process that made the
 * directory and "qemu" the QEMU it started, each by pid *and* start time:
 * a sweep after a crash removes directories whose owner is gone and ends a
 * QEMU that outlived it, without mistaking a reused pid for either.
 */

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#ifdef G_OS_UNIX
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#endif
#ifdef G_OS_WIN32
#include <windows.h>
#endif

#include "chronos-paths.h"
#include "chronos-qemu-error.h"
#include "chronos-run-dir.h"

#define OWNER_FILE "owner"
#define QEMU_FILE "qemu"
#define GROUP "process"
/* A directory without an owner file yet may be one being created right now
 * by another process; only an old one is debris. */
#define UNOWNED_GRACE_SECONDS 120

struct _ChronosRunDir
{
  GObject parent_instance;

  char    *path;
  char    *overlay_path;
  char    *vars_path;
  char    *bios_path;
  char    *qmp_socket_path;
  char    *vnc_socket_path;
  gboolean removed;
};

G_DEFINE_FINAL_TYPE (ChronosRunDir, chronos_run_dir, G_TYPE_OBJECT)

/* Process identity */

static guint64
current_process_id (void)
{
#ifdef G_OS_WIN32
  return GetCurrentProcessId ();
#else
  return getpid ();
#endif
}

/* Distinguishes two boots of the machine, so that a record from before a
 * reboot (in a run root that survived it) is never taken for a live
 * process. */
static char *
boot_id (void)
{
#ifdef __linux__
  g_autofree char *contents = NULL;

  if (g_file_get_contents ("/proc/sys/kernel/random/boot_id", &contents, NULL, NULL))
    return g_strstrip (g_steal_pointer (&contents));
#endif
  return g_strdup ("");
}

char *
chronos_run_dir_process_start_time (guint64 process_id)
{
#if defined(__linux__)
  g_autofree char *stat_path = g_strdup_printf ("/proc/%" G_GUINT64_FORMAT "/stat", process_id);
  g_autofree char *contents = NULL;
  g_auto (GStrv) fields = NULL;
  const char *after_name;

  if (process_id == 0 || !g_file_get_contents (stat_path, &contents, NULL, NULL))
    return NULL;

  /* "pid (comm) state ppid ..." where comm may contain spaces and
   * parentheses: start after the last ')'. Field 22 (starttime) is the
   * 20th after it. A zombie still has its stat: it is dead for us. */
  after_name = strrchr (contents, ')');
  if (after_name == NULL)
    return NULL;
  fields = g_strsplit (after_name + 1, " ", 0);
  if (g_strv_length (fields) < 21 || g_strcmp0 (fields[1], "Z") == 0)
    return NULL;
  return g_strdup (fields[20]);
#elif defined(G_OS_WIN32)
  HANDLE   process;
  FILETIME creation, exit_time, kernel, user;
  DWORD    code = 0;
  char    *result = NULL;

  process = OpenProcess (PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)process_id);
  if (process == NULL)
    return NULL;
  if (GetExitCodeProcess (process, &code) && code == STILL_ACTIVE &&
      GetProcessTimes (process, &creation, &exit_time, &kernel, &user))
    result = g_strdup_printf ("%lu-%lu", creation.dwHighDateTime, creation.dwLowDateTime);
  CloseHandle (process);
  return result;
#else
  /* No portable start time: a live pid is taken as the same process. */
  if (process_id == 0 || (kill ((pid_t)process_id, 0) != 0 && errno != EPERM))
    return NULL;
  return g_strdup ("");
#endif
}

static gboolean
write_record (const char *path,
              guint64     process_id,
              GError    **error)
{
  g_autoptr (GKeyFile) keyfile = g_key_file_new ();
  g_autofree char *start = chronos_run_dir_process_start_time (process_id);
  g_autofree char *boot = boot_id ();

  if (start == NULL)
    return g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FAILED,
                        "Process %" G_GUINT64_FORMAT " is not running", process_id),
           FALSE;

  g_key_file_set_uint64 (keyfile, GROUP, "pid", process_id);
  g_key_file_set_string (keyfile, GROUP, "start", start);
  g_key_file_set_string (keyfile, GROUP, "boot", boot);
  return g_key_file_save_to_file (keyfile, path, error);
}

/* The live process a record names, or 0 when the file is missing,
 * unreadable or the process it names is gone. */
static guint64
record_live_process (const char *path,
                     gboolean   *missing)
{
  g_autoptr (GKeyFile) keyfile = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *start = NULL;
  g_autofree char *boot = NULL;
  g_autofree char *current_start = NULL;
  g_autofree char *current_boot = NULL;
  guint64          pid;

  *missing = FALSE;
  if (!g_key_file_load_from_file (keyfile, path, G_KEY_FILE_NONE, &error))
    {
      *missing = g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
      return 0;
    }

  pid = g_key_file_get_uint64 (keyfile, GROUP, "pid", NULL);
  start = g_key_file_get_string (keyfile, GROUP, "start", NULL);
  boot = g_key_file_get_string (keyfile, GROUP, "boot", NULL);
  if (pid == 0 || start == NULL || boot == NULL)
    return 0;

  current_boot = boot_id ();
  if (g_strcmp0 (boot, current_boot) != 0)
    return 0;

  current_start = chronos_run_dir_process_start_time (pid);
  if (current_start == NULL || g_strcmp0 (start, current_start) != 0)
    return 0;

  return pid;
}

/* Belt and braces before killing: the QEMU we started has this directory's
 * QMP socket on its command line. */
static gboolean
command_line_names (guint64     pid,
                    const char *dir)
{
#ifdef __linux__
  g_autofree char *cmdline_path = g_strdup_printf ("/proc/%" G_GUINT64_FORMAT "/cmdline", pid);
  g_autofree char *contents = NULL;
  gsize            length = 0;

  if (!g_file_get_contents (cmdline_path, &contents, &length, NULL))
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (contents[i] == '\0')
      contents[i] = '\n';
  return strstr (contents, dir) != NULL;
#else
  return TRUE;
#endif
}

static void
kill_process (guint64 pid)
{
#ifdef G_OS_WIN32
  HANDLE process = OpenProcess (PROCESS_TERMINATE, FALSE, (DWORD)pid);

  if (process != NULL)
    {
      TerminateProcess (process, 1);
      CloseHandle (process);
    }
#else
  kill ((pid_t)pid, SIGKILL);
#endif
}

/* Removing */

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          /* Never follow a link out of the directory. */
          if (g_file_test (child, G_FILE_TEST_IS_DIR) &&
              !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            remove_tree (child);
          else
            g_unlink (child);
        }
    }
  g_rmdir (path);
}

/* Roots */

/* "/vm-XXXXXX/qmp.sock" plus the terminating NUL. */
#define LONGEST_SUFFIX (sizeof "/vm-XXXXXX/qmp.sock")

static gboolean
root_fits (const char *root)
{
  return strlen (root) + LONGEST_SUFFIX <= CHRONOS_RUN_DIR_MAX_SOCKET_PATH;
}

/* The fallback root when the runtime directory's path is too long for a
 * socket: TMP/chronos-UID. It lives in a world-writable directory, so it is
 * only used when it is a real directory that belongs to us and that only
 * we can enter. */
static char *
short_root (void)
{
#ifdef G_OS_UNIX
  g_autofree char *name = g_strdup_printf ("chronos-%u", (guint)getuid ());
#else
  g_autofree char *name = g_strdup ("chronos");
#endif
  const char *tmp = g_get_tmp_dir ();
  char       *root = g_build_filename (tmp, name, NULL);

  if (!root_fits (root))
    {
      g_free (root);
#ifdef G_OS_UNIX
      root = g_build_filename ("/tmp", name, NULL);
#else
      root = g_build_filename ("C:\\Temp", name, NULL);
#endif
    }
  return root;
}

static gboolean
ensure_private_root (const char *root,
                     GError    **error)
{
  if (g_mkdir_with_parents (root, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _ ("Could not create the folder %s: %s"), root, g_strerror (saved_errno));
      return FALSE;
    }

#ifdef G_OS_UNIX
  {
    struct stat st;

    if (lstat (root, &st) != 0 || !S_ISDIR (st.st_mode) || st.st_uid != getuid ())
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                     _ ("The folder %s does not belong to you; Chronos will not keep virtual machine files there."),
                     root);
        return FALSE;
      }
    if ((st.st_mode & 077) != 0 && chmod (root, 0700) != 0)
      {
        int saved_errno = errno;

        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                     _ ("Could not make the folder %s private: %s"), root, g_strerror (saved_errno));
        return FALSE;
      }
  }
#endif

  return TRUE;
}

/* Object */

static void
chronos_run_dir_finalize (GObject *object)
{
  ChronosRunDir *self = CHRONOS_RUN_DIR (object);

  if (!self->removed && self->path != NULL)
    remove_tree (self->path);

  g_free (self->path);
  g_free (self->overlay_path);
  g_free (self->vars_path);
  g_free (self->bios_path);
  g_free (self->qmp_socket_path);
  g_free (self->vnc_socket_path);

  G_OBJECT_CLASS (chronos_run_dir_parent_class)->finalize (object);
}

static void
chronos_run_dir_class_init (ChronosRunDirClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = chronos_run_dir_finalize;
}

static void
chronos_run_dir_init (ChronosRunDir *self)
{
}

ChronosRunDir *
chronos_run_dir_new_in (const char *root,
                        GError    **error)
{
  g_autoptr (ChronosRunDir) self = NULL;
  g_autofree char *template = NULL;
  g_autofree char *owner = NULL;

  g_return_val_if_fail (root != NULL, NULL);

  if (!root_fits (root))
    {
      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FAILED,
                   _ ("The folder %s has too long a path for the virtual machine’s control socket."),
                   root);
      return NULL;
    }
  if (!ensure_private_root (root, error))
    return NULL;

  template = g_build_filename (root, "vm-XXXXXX", NULL);
  if (g_mkdtemp_full (template, 0700) == NULL)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _ ("Could not create a folder for the virtual machine in %s: %s"),
                   root, g_strerror (saved_errno));
      return NULL;
    }

  self = g_object_new (CHRONOS_TYPE_RUN_DIR, NULL);
  self->path = g_steal_pointer (&template);
  self->overlay_path = g_build_filename (self->path, "overlay.qcow2", NULL);
  self->vars_path = g_build_filename (self->path, "vars.fd", NULL);
  self->bios_path = g_build_filename (self->path, "bios.fd", NULL);
  self->qmp_socket_path = g_build_filename (self->path, "qmp.sock", NULL);
  self->vnc_socket_path = g_build_filename (self->path, "vnc.sock", NULL);

  owner = g_build_filename (self->path, OWNER_FILE, NULL);
  if (!write_record (owner, current_process_id (), error))
    return NULL; /* finalize removes the directory */

  return g_steal_pointer (&self);
}

ChronosRunDir *
chronos_run_dir_new (GError **error)
{
  g_autofree char *root = chronos_paths_run_root ();

  if (!root_fits (root))
    {
      g_free (root);
      root = short_root ();
    }
  return chronos_run_dir_new_in (root, error);
}

const char *
chronos_run_dir_get_path (ChronosRunDir *self)
{
  g_return_val_if_fail (CHRONOS_IS_RUN_DIR (self), NULL);
  return self->path;
}

const char *
chronos_run_dir_get_overlay_path (ChronosRunDir *self)
{
  g_return_val_if_fail (CHRONOS_IS_RUN_DIR (self), NULL);
  return self->overlay_path;
}

const char *
chronos_run_dir_get_vars_path (ChronosRunDir *self)
{
  g_return_val_if_fail (CHRONOS_IS_RUN_DIR (self), NULL);
  return self->vars_path;
}

const char *
chronos_run_dir_get_bios_path (ChronosRunDir *self)
{
  g_return_val_if_fail (CHRONOS_IS_RUN_DIR (self), NULL);
  return self->bios_path;
}

const char *
chronos_run_dir_get_qmp_socket_path (ChronosRunDir *self)
{
  g_return_val_if_fail (CHRONOS_IS_RUN_DIR (self), NULL);
  return self->qmp_socket_path;
}

const char *
chronos_run_dir_get_vnc_socket_path (ChronosRunDir *self)
{
  g_return_val_if_fail (CHRONOS_IS_RUN_DIR (self), NULL);
  return self->vnc_socket_path;
}

gboolean
chronos_run_dir_record_qemu (ChronosRunDir *self,
                             GPid           pid,
                             GError       **error)
{
  g_autofree char *path = NULL;
  guint64          process_id;

  g_return_val_if_fail (CHRONOS_IS_RUN_DIR (self), FALSE);

#ifdef G_OS_WIN32
  process_id = GetProcessId (pid);
#else
  process_id = (guint64)pid;
#endif
  path = g_build_filename (self->path, QEMU_FILE, NULL);
  return write_record (path, process_id, error);
}

gboolean
chronos_run_dir_remove (ChronosRunDir *self,
                        GError       **error)
{
  g_return_val_if_fail (CHRONOS_IS_RUN_DIR (self), FALSE);

  if (self->removed)
    return TRUE;

  remove_tree (self->path);
  if (g_file_test (self->path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _ ("Could not remove the virtual machine’s folder %s."), self->path);
      return FALSE;
    }
  self->removed = TRUE;
  return TRUE;
}

/* Sweeping */

static gboolean
sweep_one (const char *dir)
{
  g_autofree char *owner_path = g_build_filename (dir, OWNER_FILE, NULL);
  g_autofree char *qemu_path = g_build_filename (dir, QEMU_FILE, NULL);
  gboolean         missing = FALSE;
  guint64          qemu_pid;

  if (record_live_process (owner_path, &missing) != 0)
    return FALSE;

  if (missing)
    {
      GStatBuf st;

      if (g_stat (dir, &st) != 0 ||
          (gint64)st.st_mtime + UNOWNED_GRACE_SECONDS > g_get_real_time () / G_USEC_PER_SEC)
        return FALSE;
    }

  qemu_pid = record_live_process (qemu_path, &missing);
  if (qemu_pid != 0 && command_line_names (qemu_pid, dir))
    {
      g_debug ("Ending QEMU process %" G_GUINT64_FORMAT " left behind in %s", qemu_pid, dir);
      kill_process (qemu_pid);
    }

  remove_tree (dir);
  return !g_file_test (dir, G_FILE_TEST_EXISTS);
}

guint
chronos_run_dir_sweep_stale_in (const char *root)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;
  guint       removed = 0;

  g_return_val_if_fail (root != NULL, 0);

  dir = g_dir_open (root, 0, NULL);
  if (dir == NULL)
    return 0;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;

      if (!g_str_has_prefix (name, "vm-") || strlen (name) != strlen ("vm-XXXXXX"))
        continue;
      path = g_build_filename (root, name, NULL);
      if (!g_file_test (path, G_FILE_TEST_IS_DIR) || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        continue;
      if (sweep_one (path))
        removed++;
    }

  return removed;
}

guint
chronos_run_dir_sweep_stale (void)
{
  g_autofree char *root = chronos_paths_run_root ();
  g_autofree char *fallback = short_root ();
  guint            removed;

  removed = chronos_run_dir_sweep_stale_in (root);
#ifdef G_OS_UNIX
  {
    struct stat st;

    /* Only a fallback root that is ours: never delete in someone else's. */
    if (lstat (fallback, &st) == 0 && S_ISDIR (st.st_mode) && st.st_uid == getuid ())
      removed += chronos_run_dir_sweep_stale_in (fallback);
  }
#else
  removed += chronos_run_dir_sweep_stale_in (fallback);
#endif
  return removed;
}
