/* chronos-provision-error.h: errors of the provision area, each one a person can act on
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CHRONOS_PROVISION_ERROR (chronos_provision_error_quark ())

typedef enum
{
  CHRONOS_PROVISION_ERROR_FAILED,             /* anything not listed below */
  CHRONOS_PROVISION_ERROR_INVALID_MANIFEST,   /* bad JSON or a field missing or out of range */
  CHRONOS_PROVISION_ERROR_NO_COMPONENT,       /* nothing published for this OS/arch: use the distro package */
  CHRONOS_PROVISION_ERROR_INSECURE_URL,       /* not HTTPS (plain HTTP only to loopback) */
  CHRONOS_PROVISION_ERROR_NETWORK,            /* connection refused, reset or closed early: retry later */
  CHRONOS_PROVISION_ERROR_HTTP,               /* the server answered an error status */
  CHRONOS_PROVISION_ERROR_TLS,                /* certificate or TLS handshake failure */
  CHRONOS_PROVISION_ERROR_STALLED,            /* no data for too long */
  CHRONOS_PROVISION_ERROR_TOO_MANY_REDIRECTS, /* a redirect loop */
  CHRONOS_PROVISION_ERROR_SIZE_MISMATCH,      /* the file is not as large as the manifest says */
  CHRONOS_PROVISION_ERROR_CHECKSUM_MISMATCH,  /* SHA-256 differs from the manifest: tampered or corrupt */
  CHRONOS_PROVISION_ERROR_NO_SPACE,           /* not enough free disk space */
  CHRONOS_PROVISION_ERROR_UNSAFE_ARCHIVE,     /* absolute path, "..", link or device entry */
  CHRONOS_PROVISION_ERROR_ARCHIVE_TOO_LARGE,  /* expands past the size, count or ratio limit */
  CHRONOS_PROVISION_ERROR_BAD_ARCHIVE,        /* libarchive cannot read it */
  CHRONOS_PROVISION_ERROR_MISSING_FILES,      /* a file the manifest names is not in the bundle */
  CHRONOS_PROVISION_ERROR_INSTALL_FAILED,     /* the swap into place failed; the old install was kept */
  CHRONOS_PROVISION_ERROR_SANDBOXED,          /* inside Flatpak, QEMU is bundled */
} ChronosProvisionError;

GQuark chronos_provision_error_quark (void);

G_END_DECLS
