/* chronos-types.h: enumerations shared by every layer of Chronos
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* How the guest firmware is chosen. AUTO follows the image's partition
 * style: GPT boots with UEFI, MBR with BIOS. */
typedef enum
{
  CHRONOS_FIRMWARE_MODE_AUTO,
  CHRONOS_FIRMWARE_MODE_BIOS,
  CHRONOS_FIRMWARE_MODE_UEFI,
} ChronosFirmwareMode;

/* What the user asked for. */
typedef enum
{
  CHRONOS_ACCEL_MODE_AUTO,
  CHRONOS_ACCEL_MODE_HARDWARE,
  CHRONOS_ACCEL_MODE_TCG,
} ChronosAccelMode;

/* What a host offers, or what a VM really got. */
typedef enum
{
  CHRONOS_ACCEL_KIND_UNKNOWN,
  CHRONOS_ACCEL_KIND_TCG,
  CHRONOS_ACCEL_KIND_KVM,
  CHRONOS_ACCEL_KIND_WHPX,
  CHRONOS_ACCEL_KIND_HVF,
} ChronosAccelKind;

typedef enum
{
  CHRONOS_DISPLAY_MODE_WINDOW,
  CHRONOS_DISPLAY_MODE_VNC,
  CHRONOS_DISPLAY_MODE_NONE,
} ChronosDisplayMode;

typedef enum
{
  CHRONOS_DISK_BUS_AUTO,
  CHRONOS_DISK_BUS_AHCI,
  CHRONOS_DISK_BUS_NVME,
  CHRONOS_DISK_BUS_IDE,
  CHRONOS_DISK_BUS_VIRTIO,
} ChronosDiskBus;

typedef enum
{
  CHRONOS_PARTITION_STYLE_NONE,
  CHRONOS_PARTITION_STYLE_MBR,
  CHRONOS_PARTITION_STYLE_GPT,
} ChronosPartitionStyle;

typedef enum
{
  CHRONOS_JOB_STATE_QUEUED,
  CHRONOS_JOB_STATE_RUNNING,
  CHRONOS_JOB_STATE_SUCCEEDED,
  CHRONOS_JOB_STATE_FAILED,
  CHRONOS_JOB_STATE_CANCELLED,
} ChronosJobState;

typedef enum
{
  CHRONOS_VM_STATE_STARTING,
  CHRONOS_VM_STATE_RUNNING,
  CHRONOS_VM_STATE_PAUSED,
  CHRONOS_VM_STATE_STOPPING,
  CHRONOS_VM_STATE_STOPPED,
  CHRONOS_VM_STATE_FAILED,
} ChronosVmState;

typedef enum
{
  CHRONOS_VERDICT_BOOTED,
  CHRONOS_VERDICT_FAILED,
  CHRONOS_VERDICT_TIMEOUT,
} ChronosVerdict;

G_END_DECLS
