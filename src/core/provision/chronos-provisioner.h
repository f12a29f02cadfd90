/* chronos-provisioner.h: manifest -> download -> verify -> extract -> install QEMU
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "chronos-downloader.h"
#include "chronos-extractor.h"
#include "chronos-job.h"
#include "chronos-manifest.h"
#include "chronos-provision-error.h"

G_BEGIN_DECLS

/* The record written next to an installed QEMU (same name as
 * CHRONOS_QEMU_INSTALL_MANIFEST_NAME in chronos-qemu.h). */
#define CHRONOS_PROVISION_RECORD_NAME "chronos-install.json"

/* What an install will do, for the "before downloading" view: shown to the
 * person, who then agrees (or not). Immutable, reference counted. */
typedef struct
{
  ChronosManifestComponent *component;
  gboolean                  from_file;     /* an offline bundle, no network */
  char                     *source;        /* the URL, or the file's path */
  guint64                   size;          /* bytes of the bundle */
  guint64                   resume_offset; /* bytes already in download_path */
  char                     *destination;   /* the install directory */
  char                     *download_path; /* NAME.part, or NULL for a file */
  guint64                   free_space;    /* in the destination's parent, 0 if unknown */

  /*< private >*/
  gatomicrefcount ref_count;
} ChronosProvisionPlan;

#define CHRONOS_TYPE_PROVISION_PLAN (chronos_provision_plan_get_type ())

GType                 chronos_provision_plan_get_type (void) G_GNUC_CONST;
ChronosProvisionPlan *chronos_provision_plan_ref (ChronosProvisionPlan *plan);
void                  chronos_provision_plan_unref (ChronosProvisionPlan *plan);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChronosProvisionPlan, chronos_provision_plan_unref)

#define CHRONOS_TYPE_PROVISIONER (chronos_provisioner_get_type ())

G_DECLARE_FINAL_TYPE (ChronosProvisioner, chronos_provisioner, CHRONOS, PROVISIONER, GObject)

ChronosProvisioner   *chronos_provisioner_new (ChronosManifest *manifest);
ChronosManifest      *chronos_provisioner_get_manifest (ChronosProvisioner *self);
const char           *chronos_provisioner_get_destination (ChronosProvisioner *self);
void                  chronos_provisioner_set_destination (ChronosProvisioner *self,
                                                           const char         *destination);
ChronosDownloader    *chronos_provisioner_get_downloader (ChronosProvisioner *self);
ChronosExtractor     *chronos_provisioner_get_extractor (ChronosProvisioner *self);
ChronosProvisionPlan *chronos_provisioner_plan (ChronosProvisioner *self,
                                                const char         *from_file,
                                                GError            **error);
void                  chronos_provisioner_install_async (ChronosProvisioner   *self,
                                                         ChronosProvisionPlan *plan,
                                                         ChronosJob           *job,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
gboolean              chronos_provisioner_install_finish (ChronosProvisioner *self,
                                                          GAsyncResult       *result,
                                                          GError            **error);

gboolean    chronos_provisioner_is_sandboxed (void);
char       *chronos_provisioner_no_bundle_hint (void);
JsonObject *chronos_provisioner_read_record (const char *install_dir,
                                             GError    **error);

G_END_DECLS
