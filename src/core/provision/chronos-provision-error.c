/* chronos-provision-error.c: the error domain of the provision area
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include "chronos-provision-error.h"

G_DEFINE_QUARK (chronos - provision - error - quark, chronos_provision_error)
