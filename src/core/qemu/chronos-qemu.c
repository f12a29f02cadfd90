/* chronos-qemu.c: one QEMU installation (system emulator, qemu-img, version)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Discovery order (DESIGN.md): the user's setting, Chronos's own install
 * dir, bundled next to the executable, PATH, well-known Windows dirs. The
 * first directory holding a usable qemu-system-x86_64 and qemu-img wins;
 * one that is too old or broken is skipped, and if nothing is found the
 * error names the most specific problem seen, with an install hint.
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#ifdef G_OS_WIN32
#include <windows.h>
#endif

#include "chronos-paths.h"
#include "chronos-qemu.h"
#include "chronos-qemu-error.h"

#ifdef G_OS_WIN32
#define EXE_SUFFIX ".exe"
#else
#define EXE_SUFFIX ""
#endif
#define SYSTEM_NAME "qemu-system-x86_64" EXE_SUFFIX
#define IMG_NAME "qemu-img" EXE_SUFFIX

struct _ChronosQemu
{
  GObject parent_instance;

  char             *system_path;
  char             *img_path;
  char             *bin_dir;
  char             *data_dir;
  char             *version_string;
  char             *install_manifest;
  ChronosQemuSource source;
  guint             major;
  guint             minor;
  guint             micro;

  /* Display backends, probed lazily from any thread. */
  GMutex display_lock;
  GStrv  display_backends;
};

G_DEFINE_FINAL_TYPE (ChronosQemu, chronos_qemu, G_TYPE_OBJECT)

const char *
chronos_qemu_source_to_string (ChronosQemuSource source)
{
  switch (source)
    {
    case CHRONOS_QEMU_SOURCE_SETTING:
      return "setting";
    case CHRONOS_QEMU_SOURCE_INSTALLED:
      return "installed";
    case CHRONOS_QEMU_SOURCE_BUNDLED:
      return "bundled";
    case CHRONOS_QEMU_SOURCE_PATH:
      return "path";
    case CHRONOS_QEMU_SOURCE_SYSTEM:
      return "system";
    default:
      return "unknown";
    }
}

/* ---- install hints ---------------------------------------------------- */

typedef struct
{
  const char *ids;      /* space-separated os-release IDs */
  const char *qemu;     /* command installing QEMU + qemu-img */
  const char *firmware; /* command installing OVMF */
} DistroHint;

static const DistroHint distro_hints[] = {
  { "debian ubuntu linuxmint pop elementary raspbian kali zorin neon",
    "sudo apt install qemu-system-x86 qemu-utils", "sudo apt install ovmf" },
  { "fedora rhel centos rocky almalinux ol amzn",
    "sudo dnf install qemu-system-x86 qemu-img", "sudo dnf install edk2-ovmf" },
  { "arch manjaro endeavouros garuda",
    "sudo pacman -S qemu-desktop", "sudo pacman -S edk2-ovmf" },
  { "opensuse opensuse-leap opensuse-tumbleweed suse sles",
    "sudo zypper install qemu-x86 qemu-tools", "sudo zypper install qemu-ovmf-x86_64" },
  { "alpine", "sudo apk add qemu-system-x86_64 qemu-img", "sudo apk add ovmf" },
};

/* The value of KEY in os-release text (shell-quoted values allowed). */
static char *
os_release_value (const char *os_release,
                  const char *key)
{
  g_auto (GStrv) lines = g_strsplit (os_release, "\n", -1);
  gsize key_len = strlen (key);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      if (strncmp (line, key, key_len) == 0 && line[key_len] == '=')
        {
          g_autofree char *value = g_strstrip (g_strdup (line + key_len + 1));
          char            *unquoted = g_shell_unquote (value, NULL);

          return unquoted != NULL ? unquoted : g_steal_pointer (&value);
        }
    }
  return NULL;
}

static const DistroHint *
find_distro_hint (const char *os_release)
{
  g_autofree char *id = NULL;
  g_autofree char *id_like = NULL;
  g_autofree char *all = NULL;
  g_auto (GStrv) words = NULL;

  if (os_release == NULL)
    return NULL;

  /* ID first, then ID_LIKE in its order ("ubuntu debian"). */
  id = os_release_value (os_release, "ID");
  id_like = os_release_value (os_release, "ID_LIKE");
  all = g_strjoin (" ", id ? id : "", id_like ? id_like : "", NULL);
  words = g_strsplit_set (all, " \t", -1);

  for (guint w = 0; words[w] != NULL; w++)
    {
      if (*words[w] == '\0')
        continue;
      for (guint i = 0; i < G_N_ELEMENTS (distro_hints); i++)
        {
          g_auto (GStrv) ids = g_strsplit (distro_hints[i].ids, " ", -1);

          if (g_strv_contains ((const char *const *)ids, words[w]))
            return &distro_hints[i];
        }
    }
  return NULL;
}

char *
chronos_qemu_install_hint_for_os_release (ChronosQemuComponent component,
                                          const char          *os_release)
{
  const DistroHint *hint = find_distro_hint (os_release);

  if (hint != NULL)
    return g_strdup_printf (_ ("Install it with: %s"),
                            component == CHRONOS_QEMU_COMPONENT_FIRMWARE ? hint->firmware : hint->qemu);

  if (component == CHRONOS_QEMU_COMPONENT_FIRMWARE)
    return g_strdup (_ ("Install the OVMF (edk2) UEFI firmware package of your distribution."));
  return g_strdup (_ ("Install qemu-system-x86_64 and qemu-img with the package manager of your distribution."));
}

char *
chronos_qemu_install_hint (ChronosQemuComponent component)
{
#ifdef G_OS_WIN32
  if (component == CHRONOS_QEMU_COMPONENT_FIRMWARE)
    return g_strdup (_ ("Reinstall QEMU: its share folder must contain edk2-x86_64-code.fd and edk2-i386-vars.fd."));
  return g_strdup (_ ("Download it from the Chronos preferences, or install it with: "
                      "winget install SoftwareFreedomConservancy.QEMU"));
#else
  g_autofree char *os_release = NULL;

  if (!g_file_get_contents ("/etc/os-release", &os_release, NULL, NULL))
    g_file_get_contents ("/usr/lib/os-release", &os_release, NULL, NULL);
  return chronos_qemu_install_hint_for_os_release (component, os_release);
#endif
}

/* ---- version ---------------------------------------------------------- */

gboolean
chronos_qemu_parse_version (const char *text,
                            guint      *major,
                            guint      *minor,
                            guint      *micro)
{
  g_autoptr (GRegex) regex = NULL;
  g_autoptr (GMatchInfo) match = NULL;
  guint parts[3] = { 0, 0, 0 };

  if (text == NULL)
    return FALSE;

  regex = g_regex_new ("version\\s+(\\d+)\\.(\\d+)(?:\\.(\\d+))?", G_REGEX_CASELESS, 0, NULL);
  g_assert (regex != NULL);
  if (!g_regex_match (regex, text, 0, &match))
    return FALSE;

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *part = g_match_info_fetch (match, i + 1);

      if (part != NULL && *part != '\0')
        parts[i] = (guint)MIN (g_ascii_strtoull (part, NULL, 10), G_MAXUINT);
    }

  if (major != NULL)
    *major = parts[0];
  if (minor != NULL)
    *minor = parts[1];
  if (micro != NULL)
    *micro = parts[2];
  return TRUE;
}

/* ---- the object ------------------------------------------------------- */

static void
chronos_qemu_finalize (GObject *object)
{
  ChronosQemu *self = CHRONOS_QEMU (object);

  g_clear_pointer (&self->system_path, g_free);
  g_clear_pointer (&self->img_path, g_free);
  g_clear_pointer (&self->bin_dir, g_free);
  g_clear_pointer (&self->data_dir, g_free);
  g_clear_pointer (&self->version_string, g_free);
  g_clear_pointer (&self->install_manifest, g_free);
  g_clear_pointer (&self->display_backends, g_strfreev);
  g_mutex_clear (&self->display_lock);

  G_OBJECT_CLASS (chronos_qemu_parent_class)->finalize (object);
}

static void
chronos_qemu_class_init (ChronosQemuClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = chronos_qemu_finalize;
}

static void
chronos_qemu_init (ChronosQemu *self)
{
  g_mutex_init (&self->display_lock);
}

/* Runs @argv, returning its stdout; stderr goes into the error when the
 * program fails. */
static char *
run_capture (const char *const *argv,
             GCancellable      *cancellable,
             GError           **error)
{
  g_autoptr (GSubprocess) process = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               error);
  if (process == NULL)
    return NULL;
  if (!g_subprocess_communicate_utf8 (process, NULL, cancellable, &out, &err, error))
    return NULL;
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    {
      g_autofree char *detail = g_strstrip (g_strdup (err ? err : ""));

      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FAILED,
                   _ ("“%s” does not run: %s"), argv[0],
                   *detail != '\0' ? detail : _ ("it ended with an error"));
      return NULL;
    }
  return g_steal_pointer (&out);
}

static gboolean
is_dir (const char *path)
{
  return g_file_test (path, G_FILE_TEST_IS_DIR);
}

static gboolean
is_program (const char *path)
{
  return g_file_test (path, G_FILE_TEST_IS_REGULAR) &&
         g_file_test (path, G_FILE_TEST_IS_EXECUTABLE);
}

/* QEMU's data directory next to a binary directory: BIN/../share/qemu for a
 * Unix prefix, BIN/share for Windows builds (share/ beside the .exe). */
static char *
data_dir_for_bin_dir (const char *bin_dir)
{
  g_autofree char *unix_style = g_build_filename (bin_dir, "..", "share", "qemu", NULL);
  g_autofree char *windows_style = g_build_filename (bin_dir, "share", NULL);

  if (is_dir (unix_style))
    return g_canonicalize_filename (unix_style, NULL);
  if (is_dir (windows_style))
    return g_canonicalize_filename (windows_style, NULL);
  return NULL;
}

/* Follows symbolic links to the real file (a PATH entry often links into a
 * prefix elsewhere). Returns NULL when @path is not a link. */
static char *
resolve_links (const char *path)
{
  g_autofree char *current = g_strdup (path);
  gboolean         was_link = FALSE;

  for (guint depth = 0; depth < 16; depth++)
    {
      g_autofree char *target = g_file_read_link (current, NULL);
      g_autofree char *dir = NULL;

      if (target == NULL)
        break;
      was_link = TRUE;
      dir = g_path_get_dirname (current);
      g_free (current);
      current = g_canonicalize_filename (target, dir);
    }
  return was_link ? g_steal_pointer (&current) : NULL;
}

ChronosQemu *
chronos_qemu_new_for_binaries (const char       *system_path,
                               const char       *img_path,
                               ChronosQemuSource source,
                               GCancellable     *cancellable,
                               GError          **error)
{
  g_autoptr (ChronosQemu) self = NULL;
  g_autofree char *abs_system = NULL;
  g_autofree char *abs_img = NULL;
  g_autofree char *output = NULL;
  g_autofree char *first_line = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *argv[3];

  g_return_val_if_fail (system_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  abs_system = g_canonicalize_filename (system_path, NULL);
  if (!is_program (abs_system))
    {
      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_FOUND,
                   _ ("“%s” is not a program."), abs_system);
      return NULL;
    }

  self = g_object_new (CHRONOS_TYPE_QEMU, NULL);
  self->bin_dir = g_path_get_dirname (abs_system);

  if (img_path != NULL)
    abs_img = g_canonicalize_filename (img_path, NULL);
  else
    abs_img = g_build_filename (self->bin_dir, IMG_NAME, NULL);
  if (!is_program (abs_img))
    {
      g_autofree char *hint = chronos_qemu_install_hint (CHRONOS_QEMU_COMPONENT_QEMU);

      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_FOUND,
                   _ ("qemu-img is missing next to “%s”. %s"), abs_system, hint);
      return NULL;
    }

  argv[0] = abs_system;
  argv[1] = "-version";
  argv[2] = NULL;
  output = run_capture (argv, cancellable, &local_error);
  if (output == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_FOUND,
                     _ ("The QEMU in “%s” cannot be used: %s"), self->bin_dir, local_error->message);
      return NULL;
    }

  first_line = g_strndup (output, strcspn (output, "\r\n"));
  if (!chronos_qemu_parse_version (first_line, &self->major, &self->minor, &self->micro))
    {
      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_FOUND,
                   _ ("“%s” does not look like QEMU: it printed “%s” as its version."),
                   abs_system, first_line);
      return NULL;
    }
  self->version_string = g_strdup_printf ("%u.%u.%u", self->major, self->minor, self->micro);

  if (!chronos_qemu_check_version (self, CHRONOS_QEMU_MIN_MAJOR, CHRONOS_QEMU_MIN_MINOR, 0))
    {
      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_TOO_OLD,
                   _ ("The QEMU in “%s” is version %s; Chronos needs %d.%d or newer."),
                   self->bin_dir, self->version_string, CHRONOS_QEMU_MIN_MAJOR, CHRONOS_QEMU_MIN_MINOR);
      return NULL;
    }

  self->system_path = g_steal_pointer (&abs_system);
  self->img_path = g_steal_pointer (&abs_img);
  self->source = source;

  self->data_dir = data_dir_for_bin_dir (self->bin_dir);
  if (self->data_dir == NULL)
    {
      g_autofree char *real = resolve_links (self->system_path);

      if (real != NULL)
        {
          g_autofree char *real_dir = g_path_get_dirname (real);

          self->data_dir = data_dir_for_bin_dir (real_dir);
        }
    }

  return g_steal_pointer (&self);
}

/* ---- discovery -------------------------------------------------------- */

typedef struct
{
  GError *problem; /* the most specific reason a candidate was refused */
} Search;

static void
note_problem (Search *search,
              GError *error)
{
  /* A QEMU that exists but is too old or broken tells the user more than
   * "not installed": keep the first such reason. */
  if (search->problem == NULL)
    search->problem = error;
  else
    g_error_free (error);
}

/* Tries DIR and DIR/bin. Returns NULL (with *fatal set for a hard error)
 * when no usable QEMU is there. */
static ChronosQemu *
try_dir (Search           *search,
         const char       *dir,
         ChronosQemuSource source,
         const char       *img_fallback_path,
         GCancellable     *cancellable,
         GError          **fatal)
{
  const char *subdirs[] = { "", "bin" };

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *bin_dir = g_build_filename (dir, subdirs[i], NULL);
      g_autofree char *system = g_build_filename (bin_dir, SYSTEM_NAME, NULL);
      g_autofree char *img = g_build_filename (bin_dir, IMG_NAME, NULL);
      g_autoptr (GError) error = NULL;
      ChronosQemu *qemu;

      if (!is_program (system))
        continue;

      /* On PATH, qemu-img may live in another PATH directory. */
      if (!is_program (img) && img_fallback_path != NULL)
        {
          g_free (img);
          img = g_strdup (img_fallback_path);
        }

      qemu = chronos_qemu_new_for_binaries (system, img, source, cancellable, &error);
      if (qemu != NULL)
        {
          if (source == CHRONOS_QEMU_SOURCE_INSTALLED)
            qemu->install_manifest = g_build_filename (dir, CHRONOS_QEMU_INSTALL_MANIFEST_NAME, NULL);
          return qemu;
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (fatal, g_steal_pointer (&error));
          return NULL;
        }
      g_debug ("Skipping QEMU candidate %s: %s", system, error->message);
      note_problem (search, g_steal_pointer (&error));
    }
  return NULL;
}

static char *
find_in_path_list (const char *path_list,
                   const char *name)
{
  g_auto (GStrv) dirs = NULL;

  if (path_list == NULL)
    return NULL;
  dirs = g_strsplit (path_list, G_SEARCHPATH_SEPARATOR_S, -1);
  for (guint i = 0; dirs[i] != NULL; i++)
    {
      g_autofree char *candidate = NULL;

      if (*dirs[i] == '\0')
        continue;
      candidate = g_build_filename (dirs[i], name, NULL);
      if (is_program (candidate))
        return g_steal_pointer (&candidate);
    }
  return NULL;
}

#ifdef G_OS_WIN32
static GPtrArray *
windows_system_dirs (void)
{
  GPtrArray  *dirs = g_ptr_array_new_with_free_func (g_free);
  const char *vars[] = { "ProgramFiles", "ProgramW6432", "ProgramFiles(x86)" };

  /* winget and the weilnetz installer use %ProgramFiles%\qemu. */
  for (guint i = 0; i < G_N_ELEMENTS (vars); i++)
    {
      const char *base = g_getenv (vars[i]);

      if (base != NULL && *base != '\0')
        g_ptr_array_add (dirs, g_build_filename (base, "qemu", NULL));
    }
  /* MSYS2's default prefix (mingw-w64-ucrt-x86_64-qemu). */
  g_ptr_array_add (dirs, g_strdup ("C:\\msys64\\ucrt64"));
  g_ptr_array_add (dirs, g_strdup ("C:\\msys64\\mingw64"));
  return dirs;
}
#endif

ChronosQemu *
chronos_qemu_find_with_search (const ChronosQemuSearch *search_places,
                               GCancellable            *cancellable,
                               GError                 **error)
{
  Search search = { NULL };
  g_autoptr (GError) fatal = NULL;
  ChronosQemu     *qemu = NULL;
  g_autofree char *hint = NULL;

  g_return_val_if_fail (search_places != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* An explicit directory is what the user asked for: never silently use
   * another QEMU instead. */
  if (search_places->setting_dir != NULL && *search_places->setting_dir != '\0')
    {
      qemu = try_dir (&search, search_places->setting_dir, CHRONOS_QEMU_SOURCE_SETTING, NULL,
                      cancellable, &fatal);
      if (qemu != NULL)
        goto out;
      if (fatal != NULL)
        goto out;
      if (search.problem == NULL)
        search.problem = g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_FOUND,
                                      _ ("There is no QEMU in “%s”: %s is missing."),
                                      search_places->setting_dir, SYSTEM_NAME);
      g_propagate_error (error, g_steal_pointer (&search.problem));
      return NULL;
    }

  if (search_places->install_dir != NULL)
    {
      qemu = try_dir (&search, search_places->install_dir, CHRONOS_QEMU_SOURCE_INSTALLED, NULL,
                      cancellable, &fatal);
      if (qemu != NULL || fatal != NULL)
        goto out;
    }

  if (search_places->exe_dir != NULL)
    {
      g_autofree char *next_to = g_build_filename (search_places->exe_dir, "qemu", NULL);
      g_autofree char *private_lib = g_build_filename (search_places->exe_dir, "..", "lib",
                                                       "chronos", "qemu", NULL);
      const char      *dirs[] = { next_to, private_lib };

      for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
        {
          g_autofree char *dir = g_canonicalize_filename (dirs[i], NULL);

          qemu = try_dir (&search, dir, CHRONOS_QEMU_SOURCE_BUNDLED, NULL, cancellable, &fatal);
          if (qemu != NULL || fatal != NULL)
            goto out;
        }
    }

  if (search_places->path != NULL)
    {
      g_auto (GStrv) dirs = g_strsplit (search_places->path, G_SEARCHPATH_SEPARATOR_S, -1);
      g_autofree char *img_on_path = find_in_path_list (search_places->path, IMG_NAME);

      for (guint i = 0; dirs[i] != NULL; i++)
        {
          g_autofree char *system = NULL;

          if (*dirs[i] == '\0')
            continue;
          /* PATH entries are directories of programs: no DIR/bin step. */
          system = g_build_filename (dirs[i], SYSTEM_NAME, NULL);
          if (!is_program (system))
            continue;
          {
            g_autofree char *img = g_build_filename (dirs[i], IMG_NAME, NULL);
            g_autoptr (GError) local_error = NULL;

            qemu = chronos_qemu_new_for_binaries (system,
                                                  is_program (img) ? img : img_on_path,
                                                  CHRONOS_QEMU_SOURCE_PATH, cancellable,
                                                  &local_error);
            if (qemu != NULL)
              goto out;
            if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
              {
                fatal = g_steal_pointer (&local_error);
                goto out;
              }
            note_problem (&search, g_steal_pointer (&local_error));
          }
        }
    }

#ifdef G_OS_WIN32
  if (search_places->system_dirs)
    {
      g_autoptr (GPtrArray) dirs = windows_system_dirs ();

      for (guint i = 0; i < dirs->len; i++)
        {
          qemu = try_dir (&search, g_ptr_array_index (dirs, i), CHRONOS_QEMU_SOURCE_SYSTEM, NULL,
                          cancellable, &fatal);
          if (qemu != NULL || fatal != NULL)
            goto out;
        }
    }
#endif

out:
  if (qemu != NULL)
    {
      g_clear_error (&search.problem);
      return qemu;
    }
  if (fatal != NULL)
    {
      g_clear_error (&search.problem);
      g_propagate_error (error, g_steal_pointer (&fatal));
      return NULL;
    }
  if (search.problem != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&search.problem));
      return NULL;
    }

  hint = chronos_qemu_install_hint (CHRONOS_QEMU_COMPONENT_QEMU);
  g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_FOUND,
               _ ("QEMU is not installed. %s"), hint);
  return NULL;
}

static char *
executable_dir (void)
{
#if defined(G_OS_WIN32)
  wchar_t          buffer[MAX_PATH * 2];
  DWORD            len = GetModuleFileNameW (NULL, buffer, G_N_ELEMENTS (buffer));
  g_autofree char *path = NULL;

  if (len == 0 || len >= G_N_ELEMENTS (buffer))
    return NULL;
  path = g_utf16_to_utf8 ((const gunichar2 *)buffer, len, NULL, NULL, NULL);
  return path != NULL ? g_path_get_dirname (path) : NULL;
#elif defined(__linux__)
  g_autofree char *path = g_file_read_link ("/proc/self/exe", NULL);

  return path != NULL ? g_path_get_dirname (path) : NULL;
#else
  return NULL;
#endif
}

ChronosQemu *
chronos_qemu_find (const char *qemu_dir,
                   GError    **error)
{
  g_autofree char  *install_dir = chronos_paths_qemu_install_dir ();
  g_autofree char  *exe_dir = executable_dir ();
  ChronosQemuSearch search = {
    .setting_dir = qemu_dir,
    .install_dir = install_dir,
    .exe_dir = exe_dir,
    .path = g_getenv ("PATH"),
    .system_dirs = TRUE,
  };

  return chronos_qemu_find_with_search (&search, NULL, error);
}

static void
find_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  const char       *qemu_dir = task_data;
  g_autofree char  *install_dir = chronos_paths_qemu_install_dir ();
  g_autofree char  *exe_dir = executable_dir ();
  ChronosQemuSearch search = {
    .setting_dir = qemu_dir,
    .install_dir = install_dir,
    .exe_dir = exe_dir,
    .path = g_getenv ("PATH"),
    .system_dirs = TRUE,
  };
  g_autoptr (ChronosQemu) qemu = NULL;
  GError *error = NULL;

  qemu = chronos_qemu_find_with_search (&search, cancellable, &error);
  if (qemu == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* Probe now, in this thread, so the UI never waits for it later. A
   * failure here is not fatal: the window backend is then unknown. */
  chronos_qemu_get_display_backends (qemu, NULL);
  g_task_return_pointer (task, g_steal_pointer (&qemu), g_object_unref);
}

void
chronos_qemu_find_async (const char         *qemu_dir,
                         GCancellable       *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, chronos_qemu_find_async);
  g_task_set_task_data (task, g_strdup (qemu_dir), g_free);
  g_task_run_in_thread (task, find_thread);
}

ChronosQemu *
chronos_qemu_find_finish (GAsyncResult *result,
                          GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == chronos_qemu_find_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- getters ---------------------------------------------------------- */

const char *
chronos_qemu_get_system_path (ChronosQemu *self)
{
  g_return_val_if_fail (CHRONOS_IS_QEMU (self), NULL);
  return self->system_path;
}

const char *
chronos_qemu_get_img_path (ChronosQemu *self)
{
  g_return_val_if_fail (CHRONOS_IS_QEMU (self), NULL);
  return self->img_path;
}

const char *
chronos_qemu_get_bin_dir (ChronosQemu *self)
{
  g_return_val_if_fail (CHRONOS_IS_QEMU (self), NULL);
  return self->bin_dir;
}

const char *
chronos_qemu_get_data_dir (ChronosQemu *self)
{
  g_return_val_if_fail (CHRONOS_IS_QEMU (self), NULL);
  return self->data_dir;
}

ChronosQemuSource
chronos_qemu_get_source (ChronosQemu *self)
{
  g_return_val_if_fail (CHRONOS_IS_QEMU (self), CHRONOS_QEMU_SOURCE_PATH);
  return self->source;
}

const char *
chronos_qemu_get_version_string (ChronosQemu *self)
{
  g_return_val_if_fail (CHRONOS_IS_QEMU (self), NULL);
  return self->version_string;
}

void
chronos_qemu_get_version (ChronosQemu *self,
                          guint       *major,
                          guint       *minor,
                          guint       *micro)
{
  g_return_if_fail (CHRONOS_IS_QEMU (self));

  if (major != NULL)
    *major = self->major;
  if (minor != NULL)
    *minor = self->minor;
  if (micro != NULL)
    *micro = self->micro;
}

gboolean
chronos_qemu_check_version (ChronosQemu *self,
                            guint        major,
                            guint        minor,
                            guint        micro)
{
  g_return_val_if_fail (CHRONOS_IS_QEMU (self), FALSE);

  if (self->major != major)
    return self->major > major;
  if (self->minor != minor)
    return self->minor > minor;
  return self->micro >= micro;
}

const char *
chronos_qemu_get_install_manifest (ChronosQemu *self)
{
  g_return_val_if_fail (CHRONOS_IS_QEMU (self), NULL);
  return self->install_manifest;
}

/* ---- capabilities ----------------------------------------------------- */

/* The names after "Available display backend types:"; QEMU may also print
 * notes (module warnings) that contain spaces: skip those. */
static GStrv
parse_display_help (const char *output)
{
  g_auto (GStrv) lines = g_strsplit (output, "\n", -1);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);

      if (*line == '\0' || strchr (line, ' ') != NULL || strchr (line, ':') != NULL)
        continue;
      g_strv_builder_add (builder, line);
    }
  return g_strv_builder_end (builder);
}

const char *const *
chronos_qemu_get_display_backends (ChronosQemu *self,
                                   GError     **error)
{
  g_autoptr (GMutexLocker) locker = NULL;

  g_return_val_if_fail (CHRONOS_IS_QEMU (self), NULL);

  locker = g_mutex_locker_new (&self->display_lock);
  if (self->display_backends == NULL)
    {
      const char      *argv[] = { self->system_path, "-display", "help", NULL };
      g_autofree char *output = run_capture (argv, NULL, error);

      if (output == NULL)
        return NULL;
      self->display_backends = parse_display_help (output);
    }
  return (const char *const *)self->display_backends;
}

gboolean
chronos_qemu_has_display_backend (ChronosQemu *self,
                                  const char  *name)
{
  const char *const *backends;

  g_return_val_if_fail (CHRONOS_IS_QEMU (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  backends = chronos_qemu_get_display_backends (self, NULL);
  return backends != NULL && g_strv_contains (backends, name);
}

const char *
chronos_qemu_get_window_backend (ChronosQemu *self)
{
  g_return_val_if_fail (CHRONOS_IS_QEMU (self), NULL);

  /* GTK first: it scales, has a menu and copes with HiDPI; SDL is what
   * some minimal and Windows builds have. */
  if (chronos_qemu_has_display_backend (self, "gtk"))
    return "gtk";
  if (chronos_qemu_has_display_backend (self, "sdl"))
    return "sdl";
  return NULL;
}
