/* chronos-image-error.c: the error domain of the image area
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include "chronos-image-error.h"

G_DEFINE_QUARK (chronos - image - error - quark, chronos_image_error)
