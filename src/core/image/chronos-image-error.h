/* chronos-image-error.h: errors of the image area, each one a person can act on
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CHRONOS_IMAGE_ERROR (chronos_image_error_quark ())

typedef enum
{
  CHRONOS_IMAGE_ERROR_NOT_VHDX,     /* the file is no VHDX image at all */
  CHRONOS_IMAGE_ERROR_CORRUPT,      /* a VHDX whose structures are damaged */
  CHRONOS_IMAGE_ERROR_TRUNCATED,    /* a structure lies past the end of the file */
  CHRONOS_IMAGE_ERROR_UNSUPPORTED,  /* valid, but uses something Chronos cannot read */
  CHRONOS_IMAGE_ERROR_NEEDS_PARENT, /* data lives in the parent of a differencing image */
  CHRONOS_IMAGE_ERROR_IO,           /* the operating system refused to read the file */
  CHRONOS_IMAGE_ERROR_WRONG_PARENT, /* the parent found is not the one the child was made from */
} ChronosImageError;

GQuark chronos_image_error_quark (void);

G_END_DECLS
