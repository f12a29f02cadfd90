/* chronos-qemu-error.c: the error domain of the qemu area
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include "chronos-qemu-error.h"

G_DEFINE_QUARK (chronos - qemu - error - quark, chronos_qemu_error)
