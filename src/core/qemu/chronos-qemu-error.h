/* chronos-qemu-error.h: errors of the qemu area, each one a person can act on
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CHRONOS_QEMU_ERROR (chronos_qemu_error_quark ())

typedef enum
{
  CHRONOS_QEMU_ERROR_FAILED,              /* anything not listed below */
  CHRONOS_QEMU_ERROR_NOT_FOUND,           /* QEMU itself, or qemu-img, is missing */
  CHRONOS_QEMU_ERROR_FIRMWARE_MISSING,    /* no UEFI firmware: say what to install */
  CHRONOS_QEMU_ERROR_IMAGE_NOT_FOUND,     /* the backup file does not exist */
  CHRONOS_QEMU_ERROR_NOT_A_DISK_IMAGE,    /* exists but is no disk image QEMU reads */
  CHRONOS_QEMU_ERROR_IMAGE_IN_USE,        /* locked by another program: unmount it first */
  CHRONOS_QEMU_ERROR_NO_MEMORY,           /* QEMU could not allocate guest RAM: offer less */
  CHRONOS_QEMU_ERROR_ACCEL_FAILED,        /* accelerator present but failed */
  CHRONOS_QEMU_ERROR_CRASHED,             /* QEMU died unexpectedly; the message names the log */
  CHRONOS_QEMU_ERROR_LOG_REPLAY_NEEDED,   /* VHDX with a pending log */
  CHRONOS_QEMU_ERROR_PARENT_MISSING,      /* differencing image whose parent is missing */
  CHRONOS_QEMU_ERROR_UNSUPPORTED_IMAGE,   /* e.g. 4096-byte logical sectors */
  CHRONOS_QEMU_ERROR_NO_SPACE,            /* no space left for the VM's changes */
  CHRONOS_QEMU_ERROR_INVALID_CONFIG,      /* a setting out of range */
  CHRONOS_QEMU_ERROR_PROTOCOL,            /* QMP said something we do not understand */
  CHRONOS_QEMU_ERROR_TOO_OLD,             /* the QEMU found is older than Chronos supports */
  CHRONOS_QEMU_ERROR_ACCEL_UNAVAILABLE,   /* --accel hardware, but the host offers none */
} ChronosQemuError;

GQuark chronos_qemu_error_quark (void);

G_END_DECLS
