/* chronos-manifest.h: the QEMU download manifest and its components
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "chronos-provision-error.h"

G_BEGIN_DECLS

/* One downloadable bundle, validated: every field is present and sane.
 * Immutable and reference counted; the fields are read directly. */
typedef struct
{
  char   *id;
  char   *version;
  char   *os;   /* "windows", "linux", "macos" */
  char   *arch; /* "x86_64", "aarch64" */
  char   *url;
  GStrv   mirrors; /* never NULL, may be empty */
  guint64 size;
  char   *sha256; /* 64 lower-case hex digits */
  char   *format; /* "zip", "7z", "tar.zst", "tar.xz", "tar.gz" */
  guint   strip_components;
  char   *file_system;       /* files.system: the system emulator */
  char   *file_img;          /* files.img: qemu-img */
  char   *file_firmware_dir; /* files.firmware_dir, or NULL */

  /*< private >*/
  gatomicrefcount ref_count;
} ChronosManifestComponent;

#define CHRONOS_TYPE_MANIFEST_COMPONENT (chronos_manifest_component_get_type ())

GType                     chronos_manifest_component_get_type (void) G_GNUC_CONST;
ChronosManifestComponent *chronos_manifest_component_ref (ChronosManifestComponent *component);
void                      chronos_manifest_component_unref (ChronosManifestComponent *component);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChronosManifestComponent, chronos_manifest_component_unref)

#define CHRONOS_TYPE_MANIFEST (chronos_manifest_get_type ())

G_DECLARE_FINAL_TYPE (ChronosManifest, chronos_manifest, CHRONOS, MANIFEST, GObject)

/* The largest manifest Chronos reads (from disk or the network). */
#define CHRONOS_MANIFEST_MAX_SIZE (1024 * 1024)

ChronosManifest          *chronos_manifest_new_from_data (const char *data,
                                                          gssize      length,
                                                          GError    **error);
ChronosManifest          *chronos_manifest_new_default (GError **error);
void                      chronos_manifest_load_async (const char         *url,
                                                       GCancellable       *cancellable,
                                                       GAsyncReadyCallback callback,
                                                       gpointer            user_data);
ChronosManifest          *chronos_manifest_load_finish (GAsyncResult *result,
                                                        GError      **error);
const char               *chronos_manifest_get_source (ChronosManifest *self);
guint                     chronos_manifest_get_n_components (ChronosManifest *self);
ChronosManifestComponent *chronos_manifest_get_component (ChronosManifest *self,
                                                          guint            index);
ChronosManifestComponent *chronos_manifest_find_component (ChronosManifest *self,
                                                           const char      *id,
                                                           const char      *os,
                                                           const char      *arch,
                                                           GError         **error);

const char *chronos_manifest_host_os (void);
const char *chronos_manifest_host_arch (void);
gboolean    chronos_manifest_check_url (const char *url,
                                        GError    **error);
gboolean    chronos_manifest_is_safe_relative_path (const char *path);

G_END_DECLS
