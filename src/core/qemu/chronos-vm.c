/* chronos-vm.c: one running virtual machine (a QEMU process and its files)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A launch goes: prepare (worker thread: check the image, find firmware,
 * plan accelerators, make the run directory, the overlay and the vars
 * copy, open the log, build the argv) -> spawn (main thread, see below) ->
 * connect QMP -> learn the accelerator -> `cont` (QEMU starts paused so
 * nothing runs before we watch) -> a short probation under a hardware
 * accelerator. A hardware accelerator that stops the guest with an internal
 * error (nested KVM and OVMF on the development machine do this within
 * milliseconds) ends that QEMU and launches again on TCG alone, once; the
 * host remembers it so the next boot goes to TCG directly.
 *
 * The end of a VM is classified from what QEMU said before it went: the
 * SHUTDOWN event (guest or host), whether Chronos forced it, its exit status
 * and its log. The SHUTDOWN event can still be unread in the socket when the
 * child watch fires, so the classification waits for the monitor connection
 * to reach EOF (bounded by a short timeout).
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#ifdef G_OS_UNIX
#include <signal.h>
#include <unistd.h>
#endif
#ifdef __linux__
#include <sys/prctl.h>
#endif

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

#include "chronos-accel-memory.h"
#include "chronos-accel.h"
#include "chronos-firmware.h"
#include "chronos-image-server.h"
#include "chronos-image-error.h"
#include "chronos-image-info.h"
#include "chronos-paths.h"
#include "chronos-qemu-command.h"
#include "chronos-qemu-error.h"
#include "chronos-run-dir.h"
#include "chronos-vm.h"

#ifdef G_OS_WIN32
#include "chronos-job-object-win32.h"
#endif

/* How long a hardware-accelerated guest must run before start_async
 * reports success: the KVM internal error under nested OVMF comes within
 * ~10 ms of `cont`; half a second leaves room for a loaded host. A failure
 * after it is still caught: the VM restarts and emits "restarted". */
#define PROBATION_MS 500
/* QEMU creates its QMP socket within milliseconds; a loaded host with a
 * big guest RAM allocation can take seconds. */
#define QMP_CONNECT_TIMEOUT_MS 30000
/* After `quit`, how long before the kill. */
#define QUIT_GRACE_MS 5000
/* After the process ended, how long to wait for the rest of QMP. */
#define QMP_DRAIN_MS 2000
/* Only the end of a log is worth classifying. */
#define LOG_TAIL_BYTES (64 * 1024)

struct _ChronosVm
{
  GObject parent_instance;

  ChronosQemu     *qemu;
  ChronosVmConfig *config;
  char            *image_path;
  GPtrArray       *notes;

  ChronosVmState      state;
  ChronosAccelKind    accel;
  gboolean            fell_back;
  char               *fallback_reason;
  ChronosFirmwareMode firmware;
  char               *firmware_path;
  char               *log_path;
  ChronosVmExitReason exit_reason;
  char               *exit_message;

  GTask        *start_task;
  GCancellable *start_cancellable;
  gulong        start_cancel_id;
  gboolean      start_cancelled;
  gboolean      started;
  gboolean      ended;
  GPtrArray    *shutdown_tasks;
  GPtrArray    *shutdown_cancel_sources;
  GMainContext *context;

  /* The current launch. */
  guint          generation;
  GCancellable  *launch_cancellable;
  ChronosRunDir *run_dir;
  GArray        *accel_plan;
  gboolean       tcg_only;
  GSubprocess   *process;
  guint64        pid;
  ChronosQmp    *qmp;
  gboolean       process_done;
  gboolean       qmp_done;
  guint          drain_timeout_id;
  guint          probation_id;
  gint64         running_since;
  gint64         ended_at;
  gboolean       saw_shutdown;
  gboolean       shutdown_guest;
  char          *shutdown_reason;
  gboolean       restarting;
  gboolean       internal_error;
  char          *internal_error_message;
  char          *no_space_message;
  GError        *launch_error;

  /* Shutdown. */
  gboolean stopping;
  gboolean quit_sent;
  gboolean forced;
  gboolean forced_after_quit;
  guint    shutdown_timeout_id;
  guint    kill_timeout_id;
};

G_DEFINE_FINAL_TYPE (ChronosVm, chronos_vm, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (ChronosVmExitReason, chronos_vm_exit_reason, G_DEFINE_ENUM_VALUE (CHRONOS_VM_EXIT_REASON_NONE, "none"), G_DEFINE_ENUM_VALUE (CHRONOS_VM_EXIT_REASON_GUEST_SHUTDOWN, "guest-shutdown"), G_DEFINE_ENUM_VALUE (CHRONOS_VM_EXIT_REASON_HOST_QUIT, "host-quit"), G_DEFINE_ENUM_VALUE (CHRONOS_VM_EXIT_REASON_FORCED, "forced"), G_DEFINE_ENUM_VALUE (CHRONOS_VM_EXIT_REASON_CRASHED, "crashed"), G_DEFINE_ENUM_VALUE (CHRONOS_VM_EXIT_REASON_FAILED_TO_START, "failed-to-start"))

enum
{
  PROP_0,
  PROP_STATE,
  PROP_ACCEL,
  PROP_FELL_BACK,
  PROP_FALLBACK_REASON,
  PROP_FIRMWARE,
  PROP_FIRMWARE_PATH,
  PROP_LOG_PATH,
  PROP_RUN_DIR,
  PROP_EXIT_REASON,
  PROP_EXIT_MESSAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_EXITED,
  SIGNAL_EVENT,
  SIGNAL_RESTARTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void launch (ChronosVm *self);
static void kill_process (ChronosVm *self);
static void maybe_finish_exit (ChronosVm *self);
static void note_fallback (ChronosVm       *self,
                           ChronosAccelKind hardware,
                           const char      *reason,
                           const char      *short_reason);

const char *
chronos_vm_exit_reason_to_string (ChronosVmExitReason reason)
{
  switch (reason)
    {
    case CHRONOS_VM_EXIT_REASON_NONE:
      return "none";
    case CHRONOS_VM_EXIT_REASON_GUEST_SHUTDOWN:
      return "guest-shutdown";
    case CHRONOS_VM_EXIT_REASON_HOST_QUIT:
      return "host-quit";
    case CHRONOS_VM_EXIT_REASON_FORCED:
      return "forced";
    case CHRONOS_VM_EXIT_REASON_CRASHED:
      return "crashed";
    case CHRONOS_VM_EXIT_REASON_FAILED_TO_START:
      return "failed-to-start";
    default:
      return "none";
    }
}

/* Callbacks of one launch carry its generation: a late callback of a QEMU
 * that was replaced (fallback restart) must not touch the new one. */
typedef struct
{
  ChronosVm *self;
  guint      generation;
} Ctx;

static Ctx *
ctx_new (ChronosVm *self)
{
  Ctx *ctx = g_new0 (Ctx, 1);

  ctx->self = g_object_ref (self);
  ctx->generation = self->generation;
  return ctx;
}

static void
ctx_free (Ctx *ctx)
{
  g_object_unref (ctx->self);
  g_free (ctx);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Ctx, ctx_free)

static gboolean
ctx_is_current (Ctx *ctx)
{
  return ctx->generation == ctx->self->generation;
}

static void
set_state (ChronosVm     *self,
           ChronosVmState state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static gboolean
is_hardware (ChronosAccelKind kind)
{
  return kind == CHRONOS_ACCEL_KIND_KVM || kind == CHRONOS_ACCEL_KIND_WHPX ||
         kind == CHRONOS_ACCEL_KIND_HVF;
}

static const char *
accel_display_name (ChronosAccelKind kind)
{
  switch (kind)
    {
    case CHRONOS_ACCEL_KIND_KVM:
      return "KVM";
    case CHRONOS_ACCEL_KIND_WHPX:
      return "WHPX";
    case CHRONOS_ACCEL_KIND_HVF:
      return "HVF";
    case CHRONOS_ACCEL_KIND_TCG:
      return "TCG";
    case CHRONOS_ACCEL_KIND_UNKNOWN:
    default:
      return _ ("The accelerator");
    }
}

/* Log reading and classification */

static char *
read_log_tail (const char *path)
{
  g_autoptr (GMappedFile) mapped = NULL;
  const char *contents;
  gsize       length;

  if (path == NULL)
    return g_strdup ("");
  mapped = g_mapped_file_new (path, FALSE, NULL);
  if (mapped == NULL)
    return g_strdup ("");
  contents = g_mapped_file_get_contents (mapped);
  length = g_mapped_file_get_length (mapped);
  if (contents == NULL)
    return g_strdup ("");
  if (length > LOG_TAIL_BYTES)
    {
      contents += length - LOG_TAIL_BYTES;
      length = LOG_TAIL_BYTES;
    }
  return g_utf8_make_valid (contents, length);
}

/* QEMU's lines carry "-msg timestamp=on" times and the program name;
 * errors about an option start with the option. What a person needs is
 * the part after them. */
static char *
strip_qemu_prefix (const char *line)
{
  const char *p = line;
  const char *colon;

  /* "2024-01-02T03:04:05.678901Z " */
  if (strlen (p) > 27 && p[4] == '-' && p[10] == 'T' && strchr (p, ' ') != NULL &&
      strchr (p, ' ') - p < 32)
    p = strchr (p, ' ') + 1;
  colon = strstr (p, ": ");
  if (colon != NULL && g_str_has_prefix (p, "qemu-system"))
    p = colon + 2;
  if (*p == '-')
    {
      /* "-blockdev {...}: Could not open ..." */
      const char *end = strstr (p, "}: ");

      if (end != NULL)
        p = end + 3;
      else if ((colon = strstr (p, ": ")) != NULL)
        p = colon + 2;
    }
  return g_strstrip (g_strdup (p));
}

/* The last line QEMU wrote about a problem, or NULL. */
static char *
last_qemu_error (const char *log_text)
{
  g_auto (GStrv) lines = g_strsplit (log_text, "\n", -1);

  for (int i = (int)g_strv_length (lines) - 1; i >= 0; i--)
    {
      const char *line = lines[i];

      if (g_str_has_prefix (line, "chronos:"))
        continue;
      if (strstr (line, "qemu-system") != NULL && strstr (line, "warning:") == NULL)
        return strip_qemu_prefix (line);
    }
  return NULL;
}

/* The first "error:" line QEMU wrote, without its prefixes, or NULL. */
static char *
first_qemu_error (const char *log_text)
{
  g_auto (GStrv) lines = g_strsplit (log_text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *error_word;

      if (g_str_has_prefix (lines[i], "chronos:") || strstr (lines[i], "qemu-system") == NULL)
        continue;
      error_word = strstr (lines[i], ": error: ");
      if (error_word != NULL && error_word[9] != '\0')
        return g_strstrip (g_strdup (error_word + 9));
    }
  return NULL;
}

static gboolean
log_contains (const char *log_text,
              const char *needle)
{
  g_auto (GStrv) lines = g_strsplit (log_text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], "chronos:"))
        continue;
      if (strstr (lines[i], needle) != NULL)
        return TRUE;
    }
  return FALSE;
}

GError *
chronos_vm_classify_failure (const char *log_text,
                             const char *log_path,
                             guint       memory_mib)
{
  g_autofree char *line = NULL;
  const char      *path = log_path != NULL ? log_path : _ ("(no log)");

  if (log_text == NULL)
    log_text = "";

  if (log_contains (log_text, "Failed to get \"write\" lock") ||
      log_contains (log_text, "Failed to get shared \"write\" lock") ||
      log_contains (log_text, "Is another process using the image") ||
      log_contains (log_text, "being used by another process"))
    return g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_IMAGE_IN_USE,
                        _ ("The backup is in use by another program. Unmount it or close that program first. (QEMU’s log: %s)"),
                        path);

  if (log_contains (log_text, "cannot set up guest memory") ||
      log_contains (log_text, "Cannot allocate memory") ||
      log_contains (log_text, "Not enough memory") ||
      log_contains (log_text, "failed to allocate"))
    return g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NO_MEMORY,
                        _ ("There is not enough free memory for a virtual machine with %u MiB. Offer it less memory or close other programs. (QEMU’s log: %s)"),
                        memory_mib, path);

  if (log_contains (log_text, "No space left on device"))
    return g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NO_SPACE,
                        _ ("There is no space left for the virtual machine’s changes. Free some disk space and try again. (QEMU’s log: %s)"),
                        path);

  if (log_contains (log_text, "needs to be replayed"))
    return g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_LOG_REPLAY_NEEDED,
                        _ ("The backup was not closed cleanly: its log must be replayed before QEMU can read it, and Chronos never writes to a backup. (QEMU’s log: %s)"),
                        path);

  if (log_contains (log_text, "gtk initialization failed") ||
      log_contains (log_text, "Could not initialize SDL") ||
      log_contains (log_text, "cannot open display") ||
      log_contains (log_text, "is not available"))
    return g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_INVALID_CONFIG,
                        _ ("QEMU could not open a window: there is no usable graphical display. Use the display “none” or “vnc”. (QEMU’s log: %s)"),
                        path);

  line = last_qemu_error (log_text);
  if (line != NULL && *line != '\0')
    return g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FAILED,
                        _ ("QEMU could not start the virtual machine: %s (QEMU’s log: %s)"),
                        line, path);

  return g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_CRASHED,
                      _ ("QEMU stopped before the virtual machine started. See its log: %s"),
                      path);
}

/* QEMU's own fallback at start-up ("-accel kvm -accel tcg" when KVM cannot
 * initialise) leaves "falling back to tcg" in the log, just after the
 * reason. */
static char *
find_startup_fallback_reason (const char *log_text)
{
  g_auto (GStrv) lines = g_strsplit (log_text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (strstr (lines[i], "falling back to") == NULL)
        continue;
      for (int j = (int)i - 1; j >= 0; j--)
        {
          if (g_str_has_prefix (lines[j], "chronos:") || *g_strstrip (lines[j]) == '\0')
            continue;
          return strip_qemu_prefix (lines[j]);
        }
      return strip_qemu_prefix (lines[i]);
    }
  return NULL;
}

/* Preparing a launch (worker thread) */

typedef struct
{
  /* In */
  ChronosQemu     *qemu;
  ChronosVmConfig *config;
  char            *image_path;
  gboolean         tcg_only;
  gboolean         first;
  ChronosRunDir   *old_run_dir;

  /* Set by check_image(): QEMU cannot open the image itself, so Chronos's
   * own reader serves it read-only over NBD from the run directory. */
  gboolean serve_image;

  /* Out */
  ChronosFirmwareMode firmware;
  char               *firmware_path;
  GArray             *accels;
  GPtrArray          *notes;
  ChronosRunDir      *run_dir;
  char               *log_path;
  int                 log_fd;
  GStrv               argv;
} Prepare;

static void
prepare_free (gpointer data)
{
  Prepare *p = data;

  g_clear_object (&p->qemu);
  g_clear_object (&p->config);
  g_free (p->image_path);
  g_clear_object (&p->old_run_dir);
  g_free (p->firmware_path);
  g_clear_pointer (&p->accels, g_array_unref);
  g_clear_pointer (&p->notes, g_ptr_array_unref);
  g_clear_object (&p->run_dir);
  g_free (p->log_path);
  if (p->log_fd >= 0)
    g_close (p->log_fd, NULL);
  g_strfreev (p->argv);
  g_free (p);
}

static gboolean
check_image (Prepare           *p,
             ChronosImageInfo **out_info,
             GCancellable      *cancellable,
             GError           **error)
{
  g_autoptr (ChronosImageInfo) info = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *path = p->image_path;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_IMAGE_NOT_FOUND,
                   _ ("The backup %s does not exist."), path);
      return FALSE;
    }
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_A_DISK_IMAGE,
                   _ ("%s is not a disk image file."), path);
      return FALSE;
    }

  info = chronos_image_info_load (path, cancellable, &local_error);
  if (info == NULL)
    {
      ChronosQemuError code = CHRONOS_QEMU_ERROR_NOT_A_DISK_IMAGE;

      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (local_error->domain == CHRONOS_IMAGE_ERROR)
        {
          switch ((ChronosImageError)local_error->code)
            {
            case CHRONOS_IMAGE_ERROR_UNSUPPORTED:
              code = CHRONOS_QEMU_ERROR_UNSUPPORTED_IMAGE;
              break;
            case CHRONOS_IMAGE_ERROR_NEEDS_PARENT:
            case CHRONOS_IMAGE_ERROR_WRONG_PARENT:
              code = CHRONOS_QEMU_ERROR_PARENT_MISSING;
              break;
            case CHRONOS_IMAGE_ERROR_IO:
              code = CHRONOS_QEMU_ERROR_FAILED;
              break;
            case CHRONOS_IMAGE_ERROR_NOT_VHDX:
            case CHRONOS_IMAGE_ERROR_CORRUPT:
            case CHRONOS_IMAGE_ERROR_TRUNCATED:
            default:
              code = CHRONOS_QEMU_ERROR_NOT_A_DISK_IMAGE;
              break;
            }
        }
      else if (local_error->domain == G_IO_ERROR || local_error->domain == G_FILE_ERROR)
        code = CHRONOS_QEMU_ERROR_FAILED;
      g_set_error_literal (error, CHRONOS_QEMU_ERROR, code, local_error->message);
      return FALSE;
    }

  /* What QEMU's own vhdx driver cannot open read-only (a differencing
   * chain, a pending log, 4096-byte sectors) Chronos serves itself over
   * NBD, read-only; only a missing parent or writable mode stop it. */
  if (chronos_image_info_get_qemu_can_open (info))
    {
      *out_info = g_steal_pointer (&info);
      return TRUE;
    }

  if (chronos_image_info_get_has_parent (info) && !chronos_image_info_get_chain_complete (info))
    {
      const char *named = chronos_image_info_get_parent_absolute_win32_path (info);

      if (named == NULL)
        named = chronos_image_info_get_parent_relative_path (info);
      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_PARENT_MISSING,
                   _ ("This backup is a differencing image and its parent “%s” cannot be found. Put the parent next to it and try again."),
                   named != NULL ? named : "?");
      return FALSE;
    }

  if (!chronos_vm_config_get_protect_backup (p->config))
    {
      ChronosQemuError code = CHRONOS_QEMU_ERROR_UNSUPPORTED_IMAGE;

      if (chronos_image_info_get_has_parent (info))
        code = CHRONOS_QEMU_ERROR_PARENT_MISSING;
      else if (chronos_image_info_get_log_pending (info))
        code = CHRONOS_QEMU_ERROR_LOG_REPLAY_NEEDED;
      g_set_error_literal (error, CHRONOS_QEMU_ERROR, code,
                           _ ("QEMU cannot open this backup for writing (it is a differencing image, has a pending log or uses 4096-byte sectors). Boot it protected instead."));
      return FALSE;
    }

  p->serve_image = TRUE;
  *out_info = g_steal_pointer (&info);
  return TRUE;
}

static gboolean
create_overlay (Prepare      *p,
                const char   *backing,
                const char   *backing_format,
                GCancellable *cancellable,
                GError      **error)
{
  g_autoptr (GSubprocess) process = NULL;
  g_autofree char *err_text = NULL;
  g_autoptr (GError) local_error = NULL;

  /* Absolute paths only: QEMU would take "name:..." for a protocol. The
   * image is opened read-only by qemu-img, which also checks it is a VHDX
   * QEMU reads and that nobody holds it writable. */
  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                              error,
                              chronos_qemu_get_img_path (p->qemu),
                              "create", "-q", "-f", "qcow2",
                              "-b", backing, "-F", backing_format,
                              chronos_run_dir_get_overlay_path (p->run_dir),
                              NULL);
  if (process == NULL)
    return FALSE;
  if (!g_subprocess_communicate_utf8 (process, NULL, cancellable, NULL, &err_text, error))
    {
      g_subprocess_force_exit (process);
      return FALSE;
    }
  if (g_subprocess_get_successful (process))
    return TRUE;

  local_error = chronos_vm_classify_failure (err_text, NULL, chronos_vm_config_get_memory_mib (p->config));
  if (local_error->code == CHRONOS_QEMU_ERROR_IMAGE_IN_USE ||
      local_error->code == CHRONOS_QEMU_ERROR_NO_SPACE ||
      local_error->code == CHRONOS_QEMU_ERROR_LOG_REPLAY_NEEDED)
    {
      /* The same sentence without the "(QEMU's log: ...)" tail. */
      g_autofree char *message = g_strdup (local_error->message);
      char            *tail = strstr (message, " (");

      if (tail != NULL)
        *tail = '\0';
      g_set_error_literal (error, CHRONOS_QEMU_ERROR, local_error->code, message);
      return FALSE;
    }

  g_strstrip (err_text);
  g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FAILED,
               _ ("Could not create the overlay that keeps the backup unchanged: %s"),
               err_text);
  return FALSE;
}

static char *
make_vm_name (const char *image_path)
{
  g_autofree char *base = g_path_get_basename (image_path);
  char            *dot = strrchr (base, '.');
  GString         *name = g_string_new (NULL);

  if (dot != NULL && dot != base)
    *dot = '\0';
  for (const char *c = base; *c != '\0' && name->len < 48; c++)
    g_string_append_c (name, g_ascii_isalnum (*c) || *c == '-' || *c == '_' ? *c : '-');
  if (name->len == 0)
    g_string_append (name, "vm");
  return g_string_free (name, FALSE);
}

static int
open_log (const char *image_path,
          char      **out_path,
          GError    **error)
{
  g_autofree char *dir = chronos_paths_log_dir ();
  g_autofree char *name = make_vm_name (image_path);
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _ ("Could not create the log folder %s: %s"), dir, g_strerror (saved_errno));
      return -1;
    }

  for (guint i = 1; i < 100; i++)
    {
      g_autofree char *file = i == 1 ? g_strdup_printf ("%s-%s.log", name, stamp)
                                     : g_strdup_printf ("%s-%s-%u.log", name, stamp, i);
      g_autofree char *path = g_build_filename (dir, file, NULL);
      int              fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);

      if (fd >= 0)
        {
          *out_path = g_steal_pointer (&path);
          return fd;
        }
      if (errno != EEXIST)
        {
          int saved_errno = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       _ ("Could not create the log file %s: %s"), path, g_strerror (saved_errno));
          return -1;
        }
    }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, _ ("Could not create a log file in %s."), dir);
  return -1;
}

static void
write_log_header (Prepare *p)
{
  GString *text = g_string_new (NULL);
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format_iso8601 (now);

  g_string_append_printf (text, "chronos: %s booting %s (QEMU %s)\n", stamp, p->image_path,
                          chronos_qemu_get_version_string (p->qemu));
  if (p->tcg_only)
    g_string_append (text, "chronos: restarting on TCG after the hardware accelerator failed\n");
  g_string_append (text, "chronos: command line:");
  for (guint i = 0; p->argv[i] != NULL; i++)
    {
      g_autofree char *quoted = g_shell_quote (p->argv[i]);

      g_string_append_printf (text, " %s", quoted);
    }
  g_string_append_c (text, '\n');
#ifdef G_OS_UNIX
  if (write (p->log_fd, text->str, text->len) < 0)
    g_debug ("Could not write the log header: %s", g_strerror (errno));
#endif
  g_string_free (text, TRUE);
}

static void
stop_image_server (gpointer data)
{
  ChronosImageServer *server = data;

  chronos_image_server_stop (server);
  g_object_unref (server);
}

static void
prepare_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  Prepare *p = task_data;
  g_autoptr (ChronosImageInfo) info = NULL;
  g_autoptr (ChronosFirmware) firmware = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *note = NULL;
  g_autoptr (ChronosImageServer) image_server = NULL;
  ChronosLaunchSpec spec = { 0 };
  const char       *display_backend = NULL;
  gboolean          whpx_bios = FALSE;

  if (p->old_run_dir != NULL)
    chronos_run_dir_remove (p->old_run_dir, NULL);
  if (p->first)
    chronos_run_dir_sweep_stale ();

  if (!check_image (p, &info, cancellable, &error))
    goto fail;

  p->firmware = chronos_vm_config_resolve_firmware (p->config, chronos_image_info_get_partition_style (info));
  if (p->firmware == CHRONOS_FIRMWARE_MODE_UEFI)
    {
      firmware = chronos_firmware_find (p->qemu, &error);
      if (firmware == NULL)
        goto fail;
      p->firmware_path = g_strdup (chronos_firmware_get_code_path (firmware));
    }

  if (p->tcg_only)
    {
      ChronosAccelKind tcg = CHRONOS_ACCEL_KIND_TCG;

      p->accels = g_array_new (FALSE, FALSE, sizeof (ChronosAccelKind));
      g_array_append_val (p->accels, tcg);
    }
  else
    {
      p->accels = chronos_accel_plan_for_host (chronos_vm_config_get_accel (p->config),
                                               p->firmware, &note, &error);
      if (p->accels == NULL)
        goto fail;
      if (note != NULL)
        g_ptr_array_add (p->notes, g_steal_pointer (&note));
    }

  if (p->first)
    {
      if (chronos_vm_config_clamp_to_host (p->config, &note) && note != NULL)
        g_ptr_array_add (p->notes, g_steal_pointer (&note));
      if (!chronos_vm_config_get_protect_backup (p->config))
        g_ptr_array_add (p->notes, g_strdup (_ ("Writable mode: the guest writes into the backup itself. The backup will change.")));
    }

  if (chronos_vm_config_get_display (p->config) == CHRONOS_DISPLAY_MODE_WINDOW)
    {
      display_backend = chronos_qemu_get_window_backend (p->qemu);
      if (display_backend == NULL)
        {
          g_set_error_literal (&error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_INVALID_CONFIG,
                               _ ("This QEMU cannot show a window (it has neither GTK nor SDL). Use the display “vnc” or “none”."));
          goto fail;
        }
    }

  p->run_dir = chronos_run_dir_new (&error);
  if (p->run_dir == NULL)
    goto fail;

  if (p->serve_image)
    {
      g_autofree char *socket_path = g_build_filename (chronos_run_dir_get_path (p->run_dir), "nbd.sock", NULL);

      g_autoptr (GError) image_error = NULL;

      image_server = chronos_image_server_new (p->image_path, &image_error);
      if (image_server == NULL || !chronos_image_server_start (image_server, socket_path, &image_error))
        {
          gboolean parent = g_error_matches (image_error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_NEEDS_PARENT) ||
                            g_error_matches (image_error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_WRONG_PARENT);

          g_set_error_literal (&error, CHRONOS_QEMU_ERROR,
                               parent ? CHRONOS_QEMU_ERROR_PARENT_MISSING : CHRONOS_QEMU_ERROR_UNSUPPORTED_IMAGE,
                               image_error->message);
          goto fail;
        }
      /* The server lives as long as the run directory object: every way a
       * launch ends (failure, exit, fallback restart) drops that, so the
       * export never outlives its VM. It dies with this process too. */
      g_object_set_data_full (G_OBJECT (p->run_dir), "chronos-image-server",
                              g_object_ref (image_server), stop_image_server);
    }

  if (chronos_vm_config_get_protect_backup (p->config) &&
      !create_overlay (p,
                       image_server != NULL ? chronos_image_server_get_nbd_uri (image_server) : p->image_path,
                       image_server != NULL ? "raw" : "vhdx",
                       cancellable, &error))
    goto fail;

  if (firmware != NULL)
    {
      g_autoptr (GFile) source = g_file_new_for_path (chronos_firmware_get_vars_path (firmware));
      g_autoptr (GFile) dest = g_file_new_for_path (chronos_run_dir_get_vars_path (p->run_dir));

      /* Default permissions: the template is often read-only, the copy
       * must be writable. */
      if (!g_file_copy (source, dest, G_FILE_COPY_TARGET_DEFAULT_PERMS, cancellable, NULL, NULL, &error))
        goto fail;

      whpx_bios = g_array_index (p->accels, ChronosAccelKind, 0) == CHRONOS_ACCEL_KIND_WHPX;
      if (whpx_bios &&
          !chronos_firmware_write_bios_image (firmware, chronos_run_dir_get_vars_path (p->run_dir),
                                              chronos_run_dir_get_bios_path (p->run_dir), &error))
        goto fail;
    }

  if (p->log_path != NULL)
    {
      /* A restart continues the first launch's log: one VM, one log. */
      p->log_fd = g_open (p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (p->log_fd < 0)
        {
          int saved_errno = errno;

          g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       _ ("Could not open the log file %s: %s"), p->log_path, g_strerror (saved_errno));
          goto fail;
        }
    }
  else
    {
      p->log_fd = open_log (p->image_path, &p->log_path, &error);
      if (p->log_fd < 0)
        goto fail;
    }

  {
    g_autofree char *vm_name = g_path_get_basename (p->image_path);

    spec.system_path = chronos_qemu_get_system_path (p->qemu);
    spec.config = p->config;
    spec.firmware = p->firmware;
    spec.firmware_code = firmware != NULL ? chronos_firmware_get_code_path (firmware) : NULL;
    spec.firmware_vars = firmware != NULL ? chronos_run_dir_get_vars_path (p->run_dir) : NULL;
    spec.accels = (const ChronosAccelKind *)(gpointer)p->accels->data;
    spec.n_accels = p->accels->len;
    spec.image_path = p->image_path;
    spec.base_driver = image_server != NULL ? "nbd" : "vhdx";
    spec.nbd_socket = image_server != NULL ? chronos_image_server_get_socket_path (image_server) : NULL;
    spec.overlay_path = chronos_run_dir_get_overlay_path (p->run_dir);
    spec.qmp_socket = chronos_run_dir_get_qmp_socket_path (p->run_dir);
    spec.vnc_socket = chronos_run_dir_get_vnc_socket_path (p->run_dir);
    spec.display_backend = display_backend;
    spec.whpx_bios_workaround = whpx_bios;
    spec.bios_image = whpx_bios ? chronos_run_dir_get_bios_path (p->run_dir) : NULL;
    spec.vm_name = vm_name;
    /* Paused, so the accelerator is known and every event is watched
     * before the guest runs its first instruction. */
    spec.start_paused = TRUE;

    p->argv = chronos_qemu_command_build (&spec, &error);
    if (p->argv == NULL)
      goto fail;
  }

  write_log_header (p);

  g_task_return_boolean (task, TRUE);
  return;

fail:
  /* Leave nothing behind. */
  if (p->run_dir != NULL)
    chronos_run_dir_remove (p->run_dir, NULL);
  g_task_return_error (task, g_steal_pointer (&error));
}

/* Ending */

typedef struct
{
  ChronosVmExitReason reason;
  char               *message;
} Ending;

static void
complete_shutdown_tasks (ChronosVm *self)
{
  g_autoptr (GPtrArray) tasks = g_steal_pointer (&self->shutdown_tasks);

  self->shutdown_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < self->shutdown_cancel_sources->len; i++)
    g_source_destroy (g_ptr_array_index (self->shutdown_cancel_sources, i));
  g_ptr_array_set_size (self->shutdown_cancel_sources, 0);
  for (guint i = 0; i < tasks->len; i++)
    {
      GTask        *task = g_ptr_array_index (tasks, i);
      GCancellable *cancellable = g_task_get_cancellable (task);

      if (cancellable != NULL && g_cancellable_is_cancelled (cancellable))
        g_task_return_error_if_cancelled (task);
      else
        g_task_return_boolean (task, TRUE);
    }
}

static void
clear_timers (ChronosVm *self)
{
  g_clear_handle_id (&self->probation_id, g_source_remove);
  g_clear_handle_id (&self->drain_timeout_id, g_source_remove);
  g_clear_handle_id (&self->shutdown_timeout_id, g_source_remove);
  g_clear_handle_id (&self->kill_timeout_id, g_source_remove);
}

static void
qmp_handlers_disconnect (ChronosVm *self)
{
  if (self->qmp != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->qmp, self);
      chronos_qmp_close (self->qmp);
      g_clear_object (&self->qmp);
    }
}

static void
fail_start (ChronosVm *self,
            GError    *error)
{
  g_autoptr (GTask) task = g_steal_pointer (&self->start_task);

  if (self->start_cancel_id != 0)
    {
      g_cancellable_disconnect (self->start_cancellable, self->start_cancel_id);
      self->start_cancel_id = 0;
    }
  g_clear_object (&self->start_cancellable);

  self->ended = TRUE;
  set_state (self, CHRONOS_VM_STATE_FAILED);
  if (self->start_cancelled)
    {
      g_clear_error (&error);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, _ ("Operation was cancelled"));
    }
  else
    g_task_return_error (task, error);

  complete_shutdown_tasks (self);
}

static void
remove_run_dir_thread (GTask        *task,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  chronos_run_dir_remove (CHRONOS_RUN_DIR (task_data), NULL);
  g_task_return_boolean (task, TRUE);
}

/* Removing an overlay the guest wrote gigabytes into takes a moment: do it
 * off the main thread, then finish the ending. */
static void
remove_run_dir_async (ChronosVm          *self,
                      GAsyncReadyCallback callback,
                      gpointer            user_data)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, user_data);
  g_autoptr (ChronosRunDir) run_dir = g_steal_pointer (&self->run_dir);

  g_task_set_source_tag (task, remove_run_dir_async);
  if (run_dir == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUN_DIR]);
  g_task_set_task_data (task, g_steal_pointer (&run_dir), g_object_unref);
  g_task_run_in_thread (task, remove_run_dir_thread);
}

static void
start_failed_cleanup_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  ChronosVm *self = CHRONOS_VM (object);
  GError    *error = user_data;

  fail_start (self, error);
}

static void
ended_cleanup_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  ChronosVm *self = CHRONOS_VM (object);
  Ending    *ending = user_data;

  self->ended = TRUE;
  self->exit_reason = ending->reason;
  g_free (self->exit_message);
  self->exit_message = ending->message;
  g_free (ending);

  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXIT_REASON]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXIT_MESSAGE]);
  set_state (self, self->exit_reason == CHRONOS_VM_EXIT_REASON_CRASHED ||
                           self->exit_reason == CHRONOS_VM_EXIT_REASON_FAILED_TO_START
                       ? CHRONOS_VM_STATE_FAILED
                       : CHRONOS_VM_STATE_STOPPED);
  g_object_thaw_notify (G_OBJECT (self));

  g_signal_emit (self, signals[SIGNAL_EXITED], 0, self->exit_reason, self->exit_message);
  complete_shutdown_tasks (self);
}

static void
end_vm (ChronosVm          *self,
        ChronosVmExitReason reason,
        char               *message)
{
  Ending *ending = g_new0 (Ending, 1);

  ending->reason = reason;
  ending->message = message;
  if (self->ended_at == 0)
    self->ended_at = g_get_monotonic_time ();
  remove_run_dir_async (self, ended_cleanup_cb, ending);
}

static char *
describe_signal (int signum)
{
#ifdef G_OS_UNIX
  return g_strdup_printf ("%d (%s)", signum, g_strsignal (signum));
#else
  return g_strdup_printf ("%d", signum);
#endif
}

static gboolean
is_crash_signal (int signum)
{
#ifdef G_OS_UNIX
  return signum == SIGABRT || signum == SIGSEGV || signum == SIGBUS || signum == SIGILL ||
         signum == SIGTRAP || signum == SIGFPE;
#else
  return FALSE;
#endif
}

/* A hardware accelerator can also fail before the guest runs at all: on a
 * nested AMD host QEMU aborts in kvm_buf_set_msrs ("failed to set MSR")
 * while it sets up the vCPUs. QEMU's own "-accel kvm -accel tcg" does not
 * cover that (KVM itself initialised), so a QEMU that died during start-up
 * with a hardware accelerator planned, killed by a signal or naming the
 * accelerator in its last error, gets one more launch on TCG alone. A
 * failure with a cause of its own (image in use, memory, disk space, a bad
 * option) is reported as it is: TCG would not change it. */
static gboolean
restart_after_hardware_start_failure (ChronosVm  *self,
                                      gboolean    signaled,
                                      int         term_sig,
                                      const char *log_text)
{
  ChronosAccelKind planned;
  g_autoptr (GError) classified = NULL;
  g_autofree char *line = NULL;
  g_autofree char *said = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *short_reason = NULL;
  gboolean         names_accel;

  if (self->accel_plan == NULL || self->accel_plan->len < 2 || self->tcg_only || self->fell_back ||
      self->start_cancelled || self->stopping || self->forced ||
      self->no_space_message != NULL || self->internal_error)
    return FALSE;
  /* Only a crash counts. A SIGKILL came from Chronos giving up on this
   * QEMU (no QMP in time, a failed `cont`: launch_error) or from outside
   * (the OOM killer, a person); neither says anything about the
   * accelerator. launch_error alone does not rule a crash out: a QEMU
   * that aborts also breaks the QMP connection before its exit is seen. */
  if (signaled && !is_crash_signal (term_sig))
    return FALSE;
  planned = g_array_index (self->accel_plan, ChronosAccelKind, 0);
  /* Only a VM that never got past its accelerator; one that QEMU itself
   * already moved to TCG failed for another reason. */
  if (!is_hardware (planned) || (self->accel != CHRONOS_ACCEL_KIND_UNKNOWN && !is_hardware (self->accel)))
    return FALSE;

  classified = chronos_vm_classify_failure (log_text, self->log_path,
                                            chronos_vm_config_get_memory_mib (self->config));
  if (classified->code != CHRONOS_QEMU_ERROR_FAILED && classified->code != CHRONOS_QEMU_ERROR_CRASHED)
    return FALSE;

  line = last_qemu_error (log_text != NULL ? log_text : "");
  /* QEMU's own ways of naming the accelerator (kvm_buf_set_msrs, kvm.c,
   * "KVM: entry failed", whpx_*, "WHPX: ...", WHvRunVirtualProcessor),
   * not any "kvm" in a path or host name. */
  names_accel = line != NULL &&
                (strstr (line, "kvm_") != NULL || strstr (line, "kvm.c") != NULL ||
                 strstr (line, "KVM:") != NULL || strstr (line, "KVM ") != NULL ||
                 strstr (line, "whpx") != NULL || strstr (line, "WHPX") != NULL ||
                 strstr (line, "WHv") != NULL || strstr (line, "hvf_") != NULL ||
                 strstr (line, "HVF:") != NULL);
  if (!signaled && !names_accel)
    return FALSE;

  /* An abort's last line is an assertion in QEMU's source; the error QEMU
   * printed before it ("failed to set MSR 0x10a to 0x69") says more. */
  said = first_qemu_error (log_text != NULL ? log_text : "");
  if (said != NULL || line != NULL)
    reason = g_strdup_printf (_ ("%s failed while QEMU set up the virtual machine: %s"),
                              accel_display_name (planned), said != NULL ? said : line);
  else
    {
      g_autofree char *sig = describe_signal (term_sig);

      reason = g_strdup_printf (_ ("QEMU stopped with signal %s while %s set up the virtual machine."),
                                sig, accel_display_name (planned));
    }
  short_reason = g_strdup_printf ("%s failed at start-up", accel_display_name (planned));

  note_fallback (self, planned, reason, short_reason);
  self->tcg_only = TRUE;
  launch (self);
  return TRUE;
}

/* Both the process and its monitor connection have ended (or the
 * connection did not end in time): classify and clean up. */
static void
finish_exit (ChronosVm *self)
{
  g_autoptr (GSubprocess) process = g_steal_pointer (&self->process);
  g_autofree char *log_text = NULL;
  gboolean         signaled = FALSE;
  int              term_sig = 0;
  int              exit_status = 0;

  clear_timers (self);
  qmp_handlers_disconnect (self);
  g_cancellable_cancel (self->launch_cancellable);
  self->pid = 0;

#ifdef G_OS_UNIX
  signaled = g_subprocess_get_if_signaled (process);
  if (signaled)
    term_sig = g_subprocess_get_term_sig (process);
  else
#endif
    exit_status = g_subprocess_get_exit_status (process);

  if (self->restarting)
    {
      /* The QEMU whose accelerator failed is gone: launch on TCG. */
      self->restarting = FALSE;
      self->tcg_only = TRUE;
      if (self->start_task == NULL)
        set_state (self, CHRONOS_VM_STATE_STARTING);
      launch (self);
      return;
    }

  if (self->start_task != NULL)
    {
      GError *error;

      log_text = read_log_tail (self->log_path);
      if (restart_after_hardware_start_failure (self, signaled, term_sig, log_text))
        return;
      if (self->no_space_message != NULL)
        error = g_error_new_literal (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NO_SPACE, self->no_space_message);
      else if (self->internal_error && self->internal_error_message != NULL)
        error = g_error_new_literal (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_ACCEL_FAILED,
                                     self->internal_error_message);
      else
        {
          error = chronos_vm_classify_failure (log_text, self->log_path,
                                               chronos_vm_config_get_memory_mib (self->config));
          /* Nothing in the log, but we know more. */
          if (error->code == CHRONOS_QEMU_ERROR_CRASHED && self->launch_error != NULL)
            {
              g_clear_error (&error);
              error = g_error_copy (self->launch_error);
            }
        }
      remove_run_dir_async (self, start_failed_cleanup_cb, error);
      return;
    }

  if (self->no_space_message != NULL)
    end_vm (self, CHRONOS_VM_EXIT_REASON_CRASHED, g_strdup (self->no_space_message));
  else if (self->internal_error)
    end_vm (self, CHRONOS_VM_EXIT_REASON_CRASHED, g_strdup (self->internal_error_message));
  else if (self->saw_shutdown && self->shutdown_guest)
    end_vm (self, CHRONOS_VM_EXIT_REASON_GUEST_SHUTDOWN, g_strdup (_ ("The guest powered off.")));
  else if (self->forced && self->forced_after_quit)
    end_vm (self, CHRONOS_VM_EXIT_REASON_FORCED,
            g_strdup (_ ("The virtual machine did not stop in time and was stopped forcibly.")));
  else if (self->forced)
    end_vm (self, CHRONOS_VM_EXIT_REASON_FORCED, g_strdup (_ ("Chronos stopped the virtual machine.")));
  else if (self->saw_shutdown)
    {
      const char *why = self->shutdown_reason != NULL ? self->shutdown_reason : "";
      char       *message;

      if (self->quit_sent || g_str_equal (why, "host-qmp-quit"))
        message = g_strdup (_ ("The guest did not power off in time; QEMU was asked to quit."));
      else if (g_str_equal (why, "host-ui"))
        message = g_strdup (_ ("The virtual machine’s window was closed."));
      else if (g_str_equal (why, "host-signal"))
        message = g_strdup (_ ("QEMU was stopped by a signal from outside Chronos."));
      else
        message = g_strdup_printf (_ ("QEMU ended the virtual machine (%s)."), why);
      end_vm (self, CHRONOS_VM_EXIT_REASON_HOST_QUIT, message);
    }
  else if (signaled)
    {
      g_autofree char *what = describe_signal (term_sig);

      end_vm (self, CHRONOS_VM_EXIT_REASON_CRASHED,
              g_strdup_printf (_ ("QEMU was killed by signal %s. See its log: %s"), what, self->log_path));
    }
  else if (exit_status != 0)
    {
      g_autofree char *line = NULL;

      log_text = read_log_tail (self->log_path);
      line = last_qemu_error (log_text);
      end_vm (self, CHRONOS_VM_EXIT_REASON_CRASHED,
              line != NULL ? g_strdup_printf (_ ("QEMU stopped with an error: %s. See its log: %s"), line, self->log_path)
                           : g_strdup_printf (_ ("QEMU stopped with exit status %d. See its log: %s"), exit_status, self->log_path));
    }
  else if (self->quit_sent)
    end_vm (self, CHRONOS_VM_EXIT_REASON_HOST_QUIT,
            g_strdup (_ ("The guest did not power off in time; QEMU was asked to quit.")));
  else
    end_vm (self, CHRONOS_VM_EXIT_REASON_HOST_QUIT, g_strdup (_ ("QEMU ended the virtual machine.")));
}

static void
maybe_finish_exit (ChronosVm *self)
{
  if (!self->process_done)
    return;
  if (!self->qmp_done && self->drain_timeout_id != 0)
    return;
  self->process_done = FALSE;
  finish_exit (self);
}

static gboolean
drain_timeout_cb (gpointer user_data)
{
  ChronosVm *self = user_data;

  self->drain_timeout_id = 0;
  self->qmp_done = TRUE;
  maybe_finish_exit (self);
  return G_SOURCE_REMOVE;
}

static void
process_exited_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr (Ctx) ctx = user_data;
  ChronosVm *self = ctx->self;

  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);

  if (!ctx_is_current (ctx))
    return;

  self->process_done = TRUE;
  g_clear_handle_id (&self->probation_id, g_source_remove);
  g_clear_handle_id (&self->kill_timeout_id, g_source_remove);
  /* Nothing more to wait for on the way up. */
  g_cancellable_cancel (self->launch_cancellable);

  if (self->qmp != NULL && !chronos_qmp_is_closed (self->qmp))
    {
      self->qmp_done = FALSE;
      self->drain_timeout_id = g_timeout_add (QMP_DRAIN_MS, drain_timeout_cb, self);
      return;
    }
  self->qmp_done = TRUE;
  maybe_finish_exit (self);
}

static void
kill_process (ChronosVm *self)
{
  if (self->process != NULL)
    g_subprocess_force_exit (self->process);
}

/* Running */

static void
start_succeeded (ChronosVm *self)
{
  if (self->start_task != NULL)
    {
      g_autoptr (GTask) task = g_steal_pointer (&self->start_task);

      if (self->start_cancel_id != 0)
        {
          g_cancellable_disconnect (self->start_cancellable, self->start_cancel_id);
          self->start_cancel_id = 0;
        }
      g_clear_object (&self->start_cancellable);
      self->started = TRUE;
      g_task_return_boolean (task, TRUE);
    }
  else
    g_signal_emit (self, signals[SIGNAL_RESTARTED], 0);
}

static gboolean
probation_cb (gpointer user_data)
{
  ChronosVm *self = user_data;

  self->probation_id = 0;
  start_succeeded (self);
  return G_SOURCE_REMOVE;
}

/* Says why the next launch is on TCG, and remembers it for this host and
 * firmware so that the next boot does not pay for the failure again. */
static void
note_fallback (ChronosVm       *self,
               ChronosAccelKind hardware,
               const char      *reason,
               const char      *short_reason)
{
  g_autoptr (GError) error = NULL;

  g_free (self->fallback_reason);
  self->fallback_reason = g_strdup (reason);
  self->fell_back = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FALLBACK_REASON]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FELL_BACK]);

  if (!chronos_accel_memory_remember (hardware, self->firmware, short_reason,
                                      chronos_qemu_get_version_string (self->qemu), &error))
    g_debug ("Could not remember the accelerator failure: %s", error->message);
}

static void
begin_fallback (ChronosVm  *self,
                const char *reason,
                const char *short_reason)
{
  note_fallback (self, self->accel, reason, short_reason);
  self->restarting = TRUE;
  g_clear_handle_id (&self->probation_id, g_source_remove);
  kill_process (self);
}

static void
status_after_stop_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr (Ctx) ctx = user_data;
  ChronosVm *self = ctx->self;
  g_autoptr (JsonNode) ret = NULL;
  const char *status = NULL;

  ret = chronos_qmp_execute_finish (CHRONOS_QMP (object), result, NULL);
  if (!ctx_is_current (ctx) || ret == NULL || !JSON_NODE_HOLDS_OBJECT (ret) || self->process_done)
    return;

  status = json_object_get_string_member_with_default (json_node_get_object (ret), "status", "");
  if (g_str_equal (status, "internal-error"))
    {
      const char      *accel = accel_display_name (self->accel);
      gboolean         uefi = self->firmware == CHRONOS_FIRMWARE_MODE_UEFI;
      g_autofree char *reason = NULL;

      reason = uefi ? g_strdup_printf (_ ("%s stopped the UEFI firmware with an internal error."), accel)
                    : g_strdup_printf (_ ("%s stopped the guest with an internal error."), accel);

      if (is_hardware (self->accel) && !self->fell_back && !self->tcg_only &&
          chronos_vm_config_get_accel (self->config) != CHRONOS_ACCEL_MODE_HARDWARE)
        {
          g_autofree char *short_reason = g_strdup_printf ("%s internal error", accel);

          begin_fallback (self, reason, short_reason);
          return;
        }

      /* Nothing left to fall back to (or the user insisted on this
       * accelerator): a stopped CPU is a crashed VM; do not leave it
       * hanging. */
      self->internal_error = TRUE;
      g_free (self->internal_error_message);
      self->internal_error_message =
          chronos_vm_config_get_accel (self->config) == CHRONOS_ACCEL_MODE_HARDWARE && is_hardware (self->accel)
              ? g_strdup_printf (_ ("%s Try software emulation (--accel tcg). See QEMU’s log: %s"), reason, self->log_path)
              : g_strdup_printf (_ ("%s See QEMU’s log: %s"), reason, self->log_path);
      self->forced = TRUE;
      kill_process (self);
      return;
    }

  if (g_str_equal (status, "paused") || g_str_equal (status, "guest-panicked") ||
      g_str_equal (status, "io-error") || g_str_equal (status, "watchdog"))
    set_state (self, CHRONOS_VM_STATE_PAUSED);
}

/* json-glib's *_member_with_default() helpers raise a critical for a member
 * of another type; QEMU's messages are untrusted input. */
static gboolean
member_is_true (JsonObject *object,
                const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN &&
         json_node_get_boolean (node);
}

static gboolean
member_equals (JsonObject *object,
               const char *name,
               const char *value)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING &&
         g_strcmp0 (json_node_get_string (node), value) == 0;
}

/* The guest wrote more than the disk under its writes holds. QEMU's default
 * werror=enospc for the disk pauses it (QEMU 7.2: BLOCK_IO_ERROR with
 * nospace true and action "stop", then STOP with status io-error); it
 * cannot go on until space is freed, and a paused VM looks hung. End it
 * and say why. */
static void
stop_on_no_space (ChronosVm *self)
{
  if (self->no_space_message != NULL || self->process_done)
    return;

  if (chronos_vm_config_get_protect_backup (self->config) && self->run_dir != NULL)
    {
      /* The run directory goes away with the VM; its folder stays. */
      g_autofree char *root = g_path_get_dirname (chronos_run_dir_get_path (self->run_dir));

      self->no_space_message =
          g_strdup_printf (_ ("No space left for the virtual machine’s changes: the disk that holds %s is full. "
                              "Chronos stopped the virtual machine; the backup is unchanged. Free some space there and start it again."),
                           root);
    }
  else
    self->no_space_message =
        g_strdup_printf (_ ("No space left for the virtual machine’s changes: the disk that holds %s is full. "
                            "Chronos stopped the virtual machine. Free some space there and start it again."),
                         self->image_path);
  self->forced = TRUE;
  kill_process (self);
}

static void
qmp_event_cb (ChronosQmp *qmp,
              const char *name,
              JsonObject *data,
              gpointer    user_data)
{
  ChronosVm *self = user_data;

  if (g_str_equal (name, "SHUTDOWN"))
    {
      self->saw_shutdown = TRUE;
      self->shutdown_guest = json_object_get_boolean_member_with_default (data, "guest", FALSE);
      g_free (self->shutdown_reason);
      self->shutdown_reason = g_strdup (json_object_get_string_member_with_default (data, "reason", NULL));
    }
  else if (g_str_equal (name, "STOP"))
    {
      /* STOP carries no reason: ask for the run state. */
      chronos_qmp_execute_async (qmp, "query-status", NULL, self->launch_cancellable,
                                 status_after_stop_cb, ctx_new (self));
    }
  else if (g_str_equal (name, "BLOCK_IO_ERROR"))
    {
      if (member_is_true (data, "nospace") && member_equals (data, "action", "stop"))
        stop_on_no_space (self);
    }
  else if (g_str_equal (name, "RESUME"))
    {
      if (self->state == CHRONOS_VM_STATE_PAUSED)
        set_state (self, self->stopping ? CHRONOS_VM_STATE_STOPPING : CHRONOS_VM_STATE_RUNNING);
    }

  g_signal_emit (self, signals[SIGNAL_EVENT], g_quark_try_string (name), name, data);
}

static void
qmp_closed_cb (ChronosQmp *qmp,
               gpointer    user_data)
{
  ChronosVm *self = user_data;

  self->qmp_done = TRUE;
  if (self->process_done)
    {
      g_clear_handle_id (&self->drain_timeout_id, g_source_remove);
      maybe_finish_exit (self);
    }
}

static void
abandon_launch (ChronosVm *self,
                GError    *error)
{
  /* Keep the first reason; the process exit follows and decides. */
  if (self->launch_error == NULL)
    self->launch_error = error;
  else
    g_error_free (error);
  kill_process (self);
}

static void
cont_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr (Ctx) ctx = user_data;
  ChronosVm *self = ctx->self;
  g_autoptr (JsonNode) ret = NULL;
  g_autoptr (GError) error = NULL;

  ret = chronos_qmp_execute_finish (CHRONOS_QMP (object), result, &error);
  if (!ctx_is_current (ctx) || self->process_done)
    return;
  if (ret == NULL)
    {
      abandon_launch (self, g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_PROTOCOL,
                                         _ ("QEMU did not start the guest: %s"), error->message));
      return;
    }

  self->running_since = g_get_monotonic_time ();
  if (self->state == CHRONOS_VM_STATE_STARTING)
    set_state (self, CHRONOS_VM_STATE_RUNNING);

  if (is_hardware (self->accel) && !self->tcg_only)
    self->probation_id = g_timeout_add (PROBATION_MS, probation_cb, self);
  else
    start_succeeded (self);
}

static void
set_accel (ChronosVm       *self,
           ChronosAccelKind kind)
{
  ChronosAccelKind planned = g_array_index (self->accel_plan, ChronosAccelKind, 0);

  if (self->accel != kind)
    {
      self->accel = kind;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACCEL]);
    }

  /* QEMU's own fallback at start-up: the hardware accelerator could not
   * even initialise. Nothing to remember (it costs nothing), but say so. */
  if (is_hardware (planned) && kind == CHRONOS_ACCEL_KIND_TCG && !self->fell_back)
    {
      g_autofree char *log_text = read_log_tail (self->log_path);
      g_autofree char *line = find_startup_fallback_reason (log_text);

      self->fell_back = TRUE;
      g_free (self->fallback_reason);
      self->fallback_reason = line != NULL ? g_strdup_printf (_ ("%s could not start: %s"), accel_display_name (planned), line)
                                           : g_strdup_printf (_ ("%s could not start."), accel_display_name (planned));
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FELL_BACK]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FALLBACK_REASON]);
    }
}

static void
run_guest (ChronosVm *self)
{
  chronos_qmp_execute_async (self->qmp, "cont", NULL, self->launch_cancellable,
                             cont_cb, ctx_new (self));
}

static void
query_kvm_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (Ctx) ctx = user_data;
  ChronosVm *self = ctx->self;
  g_autoptr (JsonNode) ret = NULL;
  ChronosAccelKind kind = CHRONOS_ACCEL_KIND_UNKNOWN;

  ret = chronos_qmp_execute_finish (CHRONOS_QMP (object), result, NULL);
  if (!ctx_is_current (ctx) || self->process_done)
    return;

  if (ret != NULL && JSON_NODE_HOLDS_OBJECT (ret))
    kind = json_object_get_boolean_member_with_default (json_node_get_object (ret), "enabled", FALSE)
               ? CHRONOS_ACCEL_KIND_KVM
               : CHRONOS_ACCEL_KIND_UNKNOWN;
  if (kind == CHRONOS_ACCEL_KIND_UNKNOWN && self->accel_plan->len == 1)
    kind = g_array_index (self->accel_plan, ChronosAccelKind, 0);

  set_accel (self, kind);
  run_guest (self);
}

static void
apic_type_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (Ctx) ctx = user_data;
  ChronosVm *self = ctx->self;
  g_autoptr (JsonNode) ret = NULL;
  ChronosAccelKind kind = CHRONOS_ACCEL_KIND_UNKNOWN;

  ret = chronos_qmp_execute_finish (CHRONOS_QMP (object), result, NULL);
  if (!ctx_is_current (ctx) || self->process_done)
    return;

  if (ret != NULL && JSON_NODE_HOLDS_VALUE (ret) && json_node_get_value_type (ret) == G_TYPE_STRING)
    kind = chronos_accel_kind_from_apic_type (json_node_get_string (ret));

  if (kind == CHRONOS_ACCEL_KIND_UNKNOWN)
    {
      /* Another machine layout: KVM at least answers for itself. */
      chronos_qmp_execute_async (self->qmp, "query-kvm", NULL, self->launch_cancellable,
                                 query_kvm_cb, g_steal_pointer (&ctx));
      return;
    }

  set_accel (self, kind);
  run_guest (self);
}

static void
qmp_connected_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr (Ctx) ctx = user_data;
  ChronosVm *self = ctx->self;
  g_autoptr (ChronosQmp) qmp = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) args = NULL;

  qmp = chronos_qmp_connect_finish (result, &error);
  if (!ctx_is_current (ctx))
    return;
  if (qmp == NULL)
    {
      if (!self->process_done)
        abandon_launch (self, g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_PROTOCOL,
                                           _ ("QEMU did not open its control connection: %s (QEMU’s log: %s)"),
                                           error->message, self->log_path));
      return;
    }
  if (self->process_done)
    return;

  self->qmp = g_steal_pointer (&qmp);
  self->qmp_done = FALSE;
  g_signal_connect (self->qmp, "event", G_CALLBACK (qmp_event_cb), self);
  g_signal_connect (self->qmp, "closed", G_CALLBACK (qmp_closed_cb), self);

  /* The APIC of the first CPU tells every accelerator apart:
   * kvm-apic, whpx-apic, apic (TCG). */
  args = json_object_new ();
  json_object_set_string_member (args, "path", "/machine/unattached/device[0]/lapic");
  json_object_set_string_member (args, "property", "type");
  chronos_qmp_execute_async (self->qmp, "qom-get", args, self->launch_cancellable,
                             apic_type_cb, g_steal_pointer (&ctx));
}

/* Spawning (main thread) */

#ifdef G_OS_UNIX
static pid_t spawner_pid;

/* Runs in the child between fork and exec. */
static void
child_setup (gpointer user_data)
{
  /* Its own session: a Ctrl+C in the terminal reaches Chronos, which
   * shuts the guest down gracefully, not QEMU, which would just die. */
  setsid ();
#ifdef __linux__
  /* Die with the thread that spawned us (the main thread, which lives as
   * long as Chronos); if Chronos already died, exit now. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != spawner_pid)
    _exit (127);
#endif
}
#endif

static GSubprocess *
spawn_qemu (Prepare *p,
            GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  GSubprocess *process;

#ifdef G_OS_UNIX
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_take_stdout_fd (launcher, dup (p->log_fd));
  g_subprocess_launcher_take_stderr_fd (launcher, p->log_fd);
  p->log_fd = -1;
  spawner_pid = getpid ();
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
#else
  g_close (p->log_fd, NULL);
  p->log_fd = -1;
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_stdout_file_path (launcher, p->log_path);
#endif

  process = g_subprocess_launcher_spawnv (launcher, (const char *const *)p->argv, error);
  if (process == NULL)
    return NULL;

#ifdef G_OS_WIN32
  {
    g_autoptr (GError) job_error = NULL;

    if (!chronos_job_object_assign (g_ascii_strtoull (g_subprocess_get_identifier (process), NULL, 10),
                                    &job_error))
      g_warning ("QEMU may outlive Chronos: %s", job_error->message);
  }
#endif

  return process;
}

static void
prepare_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr (Ctx) ctx = user_data;
  ChronosVm *self = ctx->self;
  Prepare   *p = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) record_error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (self->start_task != NULL)
        fail_start (self, g_steal_pointer (&error));
      else
        end_vm (self, CHRONOS_VM_EXIT_REASON_FAILED_TO_START,
                g_strdup_printf (_ ("Could not restart the virtual machine: %s"), error->message));
      return;
    }

  /* Results that outlive the launch. */
  self->run_dir = g_steal_pointer (&p->run_dir);
  g_clear_pointer (&self->accel_plan, g_array_unref);
  self->accel_plan = g_steal_pointer (&p->accels);
  g_object_freeze_notify (G_OBJECT (self));
  if (self->firmware != p->firmware)
    {
      self->firmware = p->firmware;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FIRMWARE]);
    }
  if (g_strcmp0 (self->firmware_path, p->firmware_path) != 0)
    {
      g_free (self->firmware_path);
      self->firmware_path = g_steal_pointer (&p->firmware_path);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FIRMWARE_PATH]);
    }
  g_free (self->log_path);
  self->log_path = g_strdup (p->log_path);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOG_PATH]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUN_DIR]);
  if (p->first)
    {
      /* The clamped config is the one that runs. */
      g_set_object (&self->config, p->config);
      g_ptr_array_remove_index (self->notes, self->notes->len - 1);
      for (guint i = 0; i < p->notes->len; i++)
        g_ptr_array_add (self->notes, g_strdup (g_ptr_array_index (p->notes, i)));
      g_ptr_array_add (self->notes, NULL);
    }
  g_object_thaw_notify (G_OBJECT (self));

  if (self->start_cancelled)
    {
      fail_start (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled"));
      chronos_run_dir_remove (self->run_dir, NULL);
      g_clear_object (&self->run_dir);
      return;
    }

  /* Spawned here, in the main thread, because PR_SET_PDEATHSIG follows
   * the spawning thread, and worker threads come and go. */
  self->process = spawn_qemu (p, &error);
  if (self->process == NULL)
    {
      g_autoptr (GError) spawn_error = g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_FOUND,
                                                    _ ("Could not run QEMU: %s"), error->message);

      chronos_run_dir_remove (self->run_dir, NULL);
      g_clear_object (&self->run_dir);
      if (self->start_task != NULL)
        fail_start (self, g_steal_pointer (&spawn_error));
      else
        end_vm (self, CHRONOS_VM_EXIT_REASON_FAILED_TO_START, g_strdup (spawn_error->message));
      return;
    }

  self->pid = g_ascii_strtoull (g_subprocess_get_identifier (self->process), NULL, 10);
#ifdef G_OS_UNIX
  if (!chronos_run_dir_record_qemu (self->run_dir, (GPid)self->pid, &record_error))
    g_debug ("Could not record the QEMU process: %s", record_error->message);
#endif

  g_subprocess_wait_async (self->process, NULL, process_exited_cb, ctx_new (self));
  chronos_qmp_connect_async (chronos_run_dir_get_qmp_socket_path (self->run_dir),
                             QMP_CONNECT_TIMEOUT_MS, self->launch_cancellable,
                             qmp_connected_cb, ctx_new (self));
}

static void
launch (ChronosVm *self)
{
  g_autoptr (GTask) task = NULL;
  Prepare *p;

  self->generation++;
  g_clear_object (&self->launch_cancellable);
  self->launch_cancellable = g_cancellable_new ();
  self->process_done = FALSE;
  self->qmp_done = FALSE;
  self->saw_shutdown = FALSE;
  self->shutdown_guest = FALSE;
  g_clear_pointer (&self->shutdown_reason, g_free);
  g_clear_pointer (&self->no_space_message, g_free);
  g_clear_error (&self->launch_error);
  self->running_since = 0;
  if (self->accel != CHRONOS_ACCEL_KIND_UNKNOWN)
    {
      self->accel = CHRONOS_ACCEL_KIND_UNKNOWN;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACCEL]);
    }

  p = g_new0 (Prepare, 1);
  p->qemu = g_object_ref (self->qemu);
  p->config = chronos_vm_config_copy (self->config);
  p->image_path = g_strdup (self->image_path);
  p->tcg_only = self->tcg_only;
  p->first = self->generation == 1;
  p->old_run_dir = g_steal_pointer (&self->run_dir);
  p->log_path = g_strdup (self->log_path);
  p->notes = g_ptr_array_new_with_free_func (g_free);
  p->log_fd = -1;

  task = g_task_new (NULL, self->launch_cancellable, prepare_done_cb, ctx_new (self));
  g_task_set_source_tag (task, launch);
  g_task_set_task_data (task, p, prepare_free);
  g_task_run_in_thread (task, prepare_thread);
}

/* Public API */

static gboolean
start_cancelled_idle_cb (gpointer user_data)
{
  ChronosVm *self = user_data;

  if (self->start_task != NULL && !self->start_cancelled)
    {
      self->start_cancelled = TRUE;
      g_cancellable_cancel (self->launch_cancellable);
      self->restarting = FALSE;
      kill_process (self);
    }
  return G_SOURCE_REMOVE;
}

static void
start_cancelled_cb (GCancellable *cancellable,
                    gpointer      user_data)
{
  ChronosVm *self = user_data;

  /* May run in any thread, and inside g_cancellable_connect(): act from
   * the main context. */
  g_main_context_invoke_full (self->context, G_PRIORITY_HIGH,
                              start_cancelled_idle_cb, g_object_ref (self), g_object_unref);
}

void
chronos_vm_start_async (ChronosVm          *self,
                        GCancellable       *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (CHRONOS_IS_VM (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, chronos_vm_start_async);

  if (self->generation != 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               "chronos_vm_start_async() may be called only once");
      return;
    }

  self->start_task = g_steal_pointer (&task);
  set_state (self, CHRONOS_VM_STATE_STARTING);
  launch (self);

  if (cancellable != NULL)
    {
      self->start_cancellable = g_object_ref (cancellable);
      self->start_cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (start_cancelled_cb), self, NULL);
    }
}

gboolean
chronos_vm_start_finish (ChronosVm    *self,
                         GAsyncResult *result,
                         GError      **error)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static gboolean
kill_timeout_cb (gpointer user_data)
{
  ChronosVm *self = user_data;

  self->kill_timeout_id = 0;
  self->forced = TRUE;
  self->forced_after_quit = TRUE;
  kill_process (self);
  return G_SOURCE_REMOVE;
}

static void
quit_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr (JsonNode) ret = chronos_qmp_execute_finish (CHRONOS_QMP (object), result, NULL);
  g_autoptr (Ctx) ctx = user_data;
}

static void
send_quit (ChronosVm *self)
{
  if (self->quit_sent)
    return;
  self->quit_sent = TRUE;
  if (self->qmp != NULL && !chronos_qmp_is_closed (self->qmp))
    chronos_qmp_execute_async (self->qmp, "quit", NULL, NULL, quit_cb, ctx_new (self));
  else
    {
      /* No monitor to ask: the kill is all that is left. */
      self->forced_after_quit = TRUE;
      self->forced = TRUE;
      kill_process (self);
      return;
    }
  g_clear_handle_id (&self->kill_timeout_id, g_source_remove);
  self->kill_timeout_id = g_timeout_add (QUIT_GRACE_MS, kill_timeout_cb, self);
}

static gboolean
shutdown_timeout_cb (gpointer user_data)
{
  ChronosVm *self = user_data;

  self->shutdown_timeout_id = 0;
  send_quit (self);
  return G_SOURCE_REMOVE;
}

static void
powerdown_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (Ctx) ctx = user_data;
  g_autoptr (JsonNode) ret = NULL;
  g_autoptr (GError) error = NULL;

  ret = chronos_qmp_execute_finish (CHRONOS_QMP (object), result, &error);
  if (ret == NULL && ctx_is_current (ctx) && !ctx->self->process_done)
    {
      /* No power button to press: go on with quit. */
      g_clear_handle_id (&ctx->self->shutdown_timeout_id, g_source_remove);
      send_quit (ctx->self);
    }
}

static gboolean
shutdown_cancelled_cb (GCancellable *cancellable,
                       gpointer      user_data)
{
  chronos_vm_force_stop (CHRONOS_VM (user_data));
  return G_SOURCE_REMOVE;
}

void
chronos_vm_shutdown_async (ChronosVm          *self,
                           GCancellable       *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  guint timeout;

  g_return_if_fail (CHRONOS_IS_VM (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, chronos_vm_shutdown_async);

  if (self->ended || self->generation == 0)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  if (cancellable != NULL)
    {
      GSource *source = g_cancellable_source_new (cancellable);

      g_source_set_callback (source, G_SOURCE_FUNC (shutdown_cancelled_cb),
                             g_object_ref (self), g_object_unref);
      g_source_attach (source, self->context);
      g_ptr_array_add (self->shutdown_cancel_sources, source);
    }
  g_ptr_array_add (self->shutdown_tasks, g_steal_pointer (&task));

  if (self->stopping)
    return;
  self->stopping = TRUE;

  if (self->start_task != NULL)
    {
      /* Not running yet: nothing to power down gracefully. */
      start_cancelled_idle_cb (self);
      return;
    }

  set_state (self, CHRONOS_VM_STATE_STOPPING);
  if (self->restarting || self->qmp == NULL || self->state == CHRONOS_VM_STATE_PAUSED)
    {
      send_quit (self);
      return;
    }

  timeout = chronos_vm_config_get_shutdown_timeout (self->config);
  chronos_qmp_execute_async (self->qmp, "system_powerdown", NULL, NULL, powerdown_cb, ctx_new (self));
  self->shutdown_timeout_id = g_timeout_add (timeout * 1000, shutdown_timeout_cb, self);
}

gboolean
chronos_vm_shutdown_finish (ChronosVm    *self,
                            GAsyncResult *result,
                            GError      **error)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
chronos_vm_force_stop (ChronosVm *self)
{
  g_return_if_fail (CHRONOS_IS_VM (self));

  if (self->ended)
    return;
  if (self->start_task != NULL)
    {
      start_cancelled_idle_cb (self);
      return;
    }
  self->restarting = FALSE;
  self->forced = TRUE;
  self->stopping = TRUE;
  set_state (self, CHRONOS_VM_STATE_STOPPING);
  kill_process (self);
}

gboolean
chronos_vm_fall_back_to_tcg (ChronosVm  *self,
                             const char *reason)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), FALSE);
  g_return_val_if_fail (reason != NULL, FALSE);

  if (self->ended || self->stopping || self->fell_back || self->tcg_only ||
      self->process == NULL || !is_hardware (self->accel))
    return FALSE;

  begin_fallback (self, reason, reason);
  return TRUE;
}

/* Object */

static void
chronos_vm_dispose (GObject *object)
{
  ChronosVm *self = CHRONOS_VM (object);

  /* Nothing holds us while QEMU runs except our own callbacks, so this
   * only runs when it is over; still, never leave a QEMU or files behind. */
  if (self->process != NULL)
    {
      g_subprocess_force_exit (self->process);
      g_subprocess_wait (self->process, NULL, NULL);
      g_clear_object (&self->process);
    }
  clear_timers (self);
  qmp_handlers_disconnect (self);
  if (self->launch_cancellable != NULL)
    g_cancellable_cancel (self->launch_cancellable);
  if (self->run_dir != NULL)
    {
      chronos_run_dir_remove (self->run_dir, NULL);
      g_clear_object (&self->run_dir);
    }

  G_OBJECT_CLASS (chronos_vm_parent_class)->dispose (object);
}

static void
chronos_vm_finalize (GObject *object)
{
  ChronosVm *self = CHRONOS_VM (object);

  g_clear_object (&self->qemu);
  g_clear_object (&self->config);
  g_free (self->image_path);
  g_clear_pointer (&self->notes, g_ptr_array_unref);
  g_free (self->fallback_reason);
  g_free (self->firmware_path);
  g_free (self->log_path);
  g_free (self->exit_message);
  g_clear_object (&self->launch_cancellable);
  g_clear_pointer (&self->accel_plan, g_array_unref);
  g_clear_pointer (&self->shutdown_tasks, g_ptr_array_unref);
  g_clear_pointer (&self->shutdown_cancel_sources, g_ptr_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->shutdown_reason);
  g_free (self->internal_error_message);
  g_free (self->no_space_message);
  g_clear_error (&self->launch_error);

  G_OBJECT_CLASS (chronos_vm_parent_class)->finalize (object);
}

static void
chronos_vm_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  ChronosVm *self = CHRONOS_VM (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_ACCEL:
      g_value_set_enum (value, self->accel);
      break;
    case PROP_FELL_BACK:
      g_value_set_boolean (value, self->fell_back);
      break;
    case PROP_FALLBACK_REASON:
      g_value_set_string (value, self->fallback_reason);
      break;
    case PROP_FIRMWARE:
      g_value_set_enum (value, self->firmware);
      break;
    case PROP_FIRMWARE_PATH:
      g_value_set_string (value, self->firmware_path);
      break;
    case PROP_LOG_PATH:
      g_value_set_string (value, self->log_path);
      break;
    case PROP_RUN_DIR:
      g_value_set_string (value, chronos_vm_get_run_dir (self));
      break;
    case PROP_EXIT_REASON:
      g_value_set_enum (value, self->exit_reason);
      break;
    case PROP_EXIT_MESSAGE:
      g_value_set_string (value, self->exit_message);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_vm_class_init (ChronosVmClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags   flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = chronos_vm_dispose;
  object_class->finalize = chronos_vm_finalize;
  object_class->get_property = chronos_vm_get_property;

  properties[PROP_STATE] =
      g_param_spec_enum ("state", NULL, NULL, CHRONOS_TYPE_VM_STATE, CHRONOS_VM_STATE_STOPPED, flags);
  properties[PROP_ACCEL] =
      g_param_spec_enum ("accel", NULL, NULL, CHRONOS_TYPE_ACCEL_KIND, CHRONOS_ACCEL_KIND_UNKNOWN, flags);
  properties[PROP_FELL_BACK] =
      g_param_spec_boolean ("fell-back", NULL, NULL, FALSE, flags);
  properties[PROP_FALLBACK_REASON] =
      g_param_spec_string ("fallback-reason", NULL, NULL, NULL, flags);
  properties[PROP_FIRMWARE] =
      g_param_spec_enum ("firmware", NULL, NULL, CHRONOS_TYPE_FIRMWARE_MODE, CHRONOS_FIRMWARE_MODE_AUTO, flags);
  properties[PROP_FIRMWARE_PATH] =
      g_param_spec_string ("firmware-path", NULL, NULL, NULL, flags);
  properties[PROP_LOG_PATH] =
      g_param_spec_string ("log-path", NULL, NULL, NULL, flags);
  properties[PROP_RUN_DIR] =
      g_param_spec_string ("run-dir", NULL, NULL, NULL, flags);
  properties[PROP_EXIT_REASON] =
      g_param_spec_enum ("exit-reason", NULL, NULL, CHRONOS_TYPE_VM_EXIT_REASON, CHRONOS_VM_EXIT_REASON_NONE, flags);
  properties[PROP_EXIT_MESSAGE] =
      g_param_spec_string ("exit-message", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_EXITED] =
      g_signal_new ("exited",
                    G_TYPE_FROM_CLASS (klass),
                    G_SIGNAL_RUN_LAST,
                    0, NULL, NULL, NULL,
                    G_TYPE_NONE, 2,
                    CHRONOS_TYPE_VM_EXIT_REASON,
                    G_TYPE_STRING);
  signals[SIGNAL_EVENT] =
      g_signal_new ("event",
                    G_TYPE_FROM_CLASS (klass),
                    G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED,
                    0, NULL, NULL, NULL,
                    G_TYPE_NONE, 2,
                    G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                    JSON_TYPE_OBJECT);
  signals[SIGNAL_RESTARTED] =
      g_signal_new ("restarted",
                    G_TYPE_FROM_CLASS (klass),
                    G_SIGNAL_RUN_LAST,
                    0, NULL, NULL, NULL,
                    G_TYPE_NONE, 0);
}

static void
chronos_vm_init (ChronosVm *self)
{
  self->state = CHRONOS_VM_STATE_STOPPED;
  self->firmware = CHRONOS_FIRMWARE_MODE_AUTO;
  self->notes = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->notes, NULL);
  self->shutdown_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  self->shutdown_cancel_sources = g_ptr_array_new_with_free_func ((GDestroyNotify)g_source_unref);
  self->context = g_main_context_ref_thread_default ();
}

ChronosVm *
chronos_vm_new (ChronosQemu     *qemu,
                ChronosVmConfig *config,
                const char      *image_path)
{
  ChronosVm *self;

  g_return_val_if_fail (CHRONOS_IS_QEMU (qemu), NULL);
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (config), NULL);
  g_return_val_if_fail (image_path != NULL, NULL);

  self = g_object_new (CHRONOS_TYPE_VM, NULL);
  self->qemu = g_object_ref (qemu);
  self->config = chronos_vm_config_copy (config);
  self->image_path = g_canonicalize_filename (image_path, NULL);
  return self;
}

ChronosVmState
chronos_vm_get_state (ChronosVm *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), CHRONOS_VM_STATE_FAILED);
  return self->state;
}

ChronosAccelKind
chronos_vm_get_accel (ChronosVm *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), CHRONOS_ACCEL_KIND_UNKNOWN);
  return self->accel;
}

gboolean
chronos_vm_get_fell_back (ChronosVm *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), FALSE);
  return self->fell_back;
}

const char *
chronos_vm_get_fallback_reason (ChronosVm *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), NULL);
  return self->fallback_reason;
}

ChronosFirmwareMode
chronos_vm_get_firmware (ChronosVm *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), CHRONOS_FIRMWARE_MODE_AUTO);
  return self->firmware;
}

const char *
chronos_vm_get_firmware_path (ChronosVm *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), NULL);
  return self->firmware_path;
}

const char *
chronos_vm_get_log_path (ChronosVm *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), NULL);
  return self->log_path;
}

const char *
chronos_vm_get_run_dir (ChronosVm *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), NULL);
  return self->run_dir != NULL ? chronos_run_dir_get_path (self->run_dir) : NULL;
}

const char *
chronos_vm_get_image_path (ChronosVm *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), NULL);
  return self->image_path;
}

ChronosVmConfig *
chronos_vm_get_config (ChronosVm *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), NULL);
  return self->config;
}

const char *const *
chronos_vm_get_notes (ChronosVm *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), NULL);
  return (const char *const *)self->notes->pdata;
}

ChronosQmp *
chronos_vm_get_qmp (ChronosVm *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), NULL);
  return self->qmp;
}

const char *
chronos_vm_get_vnc_socket_path (ChronosVm *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), NULL);
  if (self->run_dir == NULL || chronos_vm_config_get_display (self->config) != CHRONOS_DISPLAY_MODE_VNC)
    return NULL;
  return chronos_run_dir_get_vnc_socket_path (self->run_dir);
}

guint64
chronos_vm_get_qemu_pid (ChronosVm *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), 0);
  return self->pid;
}

double
chronos_vm_get_elapsed (ChronosVm *self)
{
  gint64 end;

  g_return_val_if_fail (CHRONOS_IS_VM (self), 0);
  if (self->running_since == 0)
    return 0;
  end = self->ended_at != 0 ? self->ended_at : g_get_monotonic_time ();
  return (double)(end - self->running_since) / G_USEC_PER_SEC;
}

ChronosVmExitReason
chronos_vm_get_exit_reason (ChronosVm *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), CHRONOS_VM_EXIT_REASON_NONE);
  return self->exit_reason;
}

const char *
chronos_vm_get_exit_message (ChronosVm *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM (self), NULL);
  return self->exit_message;
}
