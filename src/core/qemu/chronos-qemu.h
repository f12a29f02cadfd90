/* chronos-qemu.h: one QEMU installation (system emulator, qemu-img, version)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The oldest QEMU Chronos runs: Debian 12's. Older ones are skipped during
 * discovery and refused with CHRONOS_QEMU_ERROR_TOO_OLD. */
#define CHRONOS_QEMU_MIN_MAJOR 7
#define CHRONOS_QEMU_MIN_MINOR 2

/* File name, inside chronos_paths_qemu_install_dir(), of the manifest the
 * provisioning code writes after installing a QEMU there (the manifest
 * component it installed, as JSON). Discovery does not read it; it only
 * reports where it would be (chronos_qemu_get_install_manifest()). */
#define CHRONOS_QEMU_INSTALL_MANIFEST_NAME "chronos-install.json"

/* Where a QEMU was found, in discovery order. */
typedef enum
{
  CHRONOS_QEMU_SOURCE_SETTING,   /* the user's setting or `--qemu DIR` */
  CHRONOS_QEMU_SOURCE_INSTALLED, /* installed by Chronos (chronos_paths_qemu_install_dir()) */
  CHRONOS_QEMU_SOURCE_BUNDLED,   /* shipped next to the executable */
  CHRONOS_QEMU_SOURCE_PATH,      /* found on PATH */
  CHRONOS_QEMU_SOURCE_SYSTEM,    /* a well-known Windows directory (%ProgramFiles%\qemu) */
} ChronosQemuSource;

/* "setting", "installed", "bundled", "path", "system" (stable: JSON and CLI). */
const char *chronos_qemu_source_to_string (ChronosQemuSource source);

/* What the install hint is about. */
typedef enum
{
  CHRONOS_QEMU_COMPONENT_QEMU,     /* qemu-system-x86_64 + qemu-img */
  CHRONOS_QEMU_COMPONENT_FIRMWARE, /* OVMF / edk2 UEFI firmware */
} ChronosQemuComponent;

/* One sentence telling a person how to install @component on this host, e.g.
 * "Install it with: sudo apt install qemu-system-x86 qemu-utils". Reads
 * /etc/os-release (ID, then ID_LIKE) on Unix; on Windows names the Chronos
 * download and winget. Translated. Never NULL. */
char *chronos_qemu_install_hint (ChronosQemuComponent component);
/* The same, from the text of an os-release file (NULL: generic hint). Pure;
 * for tests and for callers that already read the file. */
char *chronos_qemu_install_hint_for_os_release (ChronosQemuComponent component,
                                                const char          *os_release);

/* Parses "QEMU emulator version 7.2.22 (Debian ...)" (the first line of
 * `qemu-system-x86_64 -version`). FALSE when there is no version in @text. */
gboolean chronos_qemu_parse_version (const char *text,
                                     guint      *major,
                                     guint      *minor,
                                     guint      *micro);

/* The candidate directories discovery looks in, for tests and for callers
 * that want to override one step. chronos_qemu_find() fills it from the
 * environment. In every directory D,
 * the binaries are looked for in D, then D/bin. */
typedef struct
{
  const char *setting_dir; /* explicit directory, or NULL: when set, nothing else is tried */
  const char *install_dir; /* Chronos's own install dir, or NULL to skip */
  const char *exe_dir;     /* directory of the running executable, or NULL to skip:
                            * bundled QEMU is looked for in EXE_DIR/qemu and
                            * EXE_DIR/../lib/chronos/qemu */
  const char *path;        /* a PATH-style list (G_SEARCHPATH_SEPARATOR), or NULL to skip */
  gboolean    system_dirs; /* try well-known system dirs (Windows only; ignored elsewhere) */
} ChronosQemuSearch;

#define CHRONOS_TYPE_QEMU (chronos_qemu_get_type ())

G_DECLARE_FINAL_TYPE (ChronosQemu, chronos_qemu, CHRONOS, QEMU, GObject)

/* Finds QEMU in discovery order: @qemu_dir (user setting or `--qemu DIR`;
 * when given, only that directory is tried and its absence is an error),
 * Chronos's install dir, bundled next to the executable, PATH, well-known
 * Windows dirs. Runs `qemu-system-x86_64 -version` (a subprocess): blocking,
 * for the CLI and worker threads; the app uses chronos_qemu_find_async().
 * Errors: CHRONOS_QEMU_ERROR_NOT_FOUND (the message carries the install
 * hint), CHRONOS_QEMU_ERROR_TOO_OLD. */
ChronosQemu *chronos_qemu_find (const char *qemu_dir,
                                GError    **error);
void         chronos_qemu_find_async  (const char         *qemu_dir,
                                       GCancellable       *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer            user_data);
/* The async variant has also probed the display backends, so
 * chronos_qemu_get_display_backends() on its result does not block. */
ChronosQemu *chronos_qemu_find_finish (GAsyncResult *result,
                                       GError      **error);
/* Discovery over explicit places (blocking, like chronos_qemu_find()). */
ChronosQemu *chronos_qemu_find_with_search (const ChronosQemuSearch *search,
                                            GCancellable            *cancellable,
                                            GError                 **error);
/* One installation from explicit binaries (tests, callers that know them).
 * @img_path may be NULL: then qemu-img next to @system_path is used and its
 * absence is an error. */
ChronosQemu *chronos_qemu_new_for_binaries (const char       *system_path,
                                            const char       *img_path,
                                            ChronosQemuSource source,
                                            GCancellable     *cancellable,
                                            GError          **error);

/* Absolute path of qemu-system-x86_64(.exe). */
const char       *chronos_qemu_get_system_path    (ChronosQemu *self);
/* Absolute path of qemu-img(.exe). */
const char       *chronos_qemu_get_img_path       (ChronosQemu *self);
/* The directory the binaries are in. */
const char       *chronos_qemu_get_bin_dir        (ChronosQemu *self);
/* QEMU's data directory (firmware, keymaps): BIN/../share/qemu, BIN/share
 * or the same next to the symlink-resolved binary; NULL when none exists. */
const char       *chronos_qemu_get_data_dir       (ChronosQemu *self);
ChronosQemuSource chronos_qemu_get_source         (ChronosQemu *self);
/* "7.2.22" */
const char       *chronos_qemu_get_version_string (ChronosQemu *self);
void              chronos_qemu_get_version        (ChronosQemu *self,
                                                   guint       *major,
                                                   guint       *minor,
                                                   guint       *micro);
/* TRUE when this QEMU is at least @major.@minor.@micro. */
gboolean          chronos_qemu_check_version      (ChronosQemu *self,
                                                   guint        major,
                                                   guint        minor,
                                                   guint        micro);
/* Path of the install manifest for an INSTALLED QEMU (it may not exist
 * yet); NULL for every other source. */
const char       *chronos_qemu_get_install_manifest (ChronosQemu *self);

/* Display backends this QEMU has (`-display help`: "gtk", "sdl", "none",
 * "egl-headless", ...). VNC is not listed there (it is a server, not a
 * display type, and every QEMU build Chronos supports has it). Probed once
 * (a subprocess: blocking) and cached; thread-safe. NULL on error. */
const char * const *chronos_qemu_get_display_backends (ChronosQemu *self,
                                                       GError     **error);
/* The backend for a window: "gtk" if present, else "sdl", else NULL
 * (probes like chronos_qemu_get_display_backends()). */
const char         *chronos_qemu_get_window_backend   (ChronosQemu *self);
gboolean            chronos_qemu_has_display_backend  (ChronosQemu *self,
                                                       const char  *name);

G_END_DECLS
