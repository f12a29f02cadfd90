/* chronos-vm-config.h: how to run one VM (memory, CPUs, firmware, devices)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib-object.h>

#include "chronos-types.h"
#include "chronos-enums.h"
#include "chronos-host.h"

G_BEGIN_DECLS

#define CHRONOS_VM_CONFIG_MIN_MEMORY_MIB 256
#define CHRONOS_VM_CONFIG_MAX_MEMORY_MIB (1024 * 1024)
#define CHRONOS_VM_CONFIG_MAX_CPUS       255
/* Memory left to the host when clamping a guest to the free memory. */
#define CHRONOS_VM_CONFIG_HOST_RESERVE_MIB 512

/* NIC models the config accepts ("nic-model"). e1000e is the default because
 * Windows has an in-box driver for it; virtio-net-pci needs virtio-win. */
#define CHRONOS_NIC_MODEL_E1000E "e1000e"
#define CHRONOS_NIC_MODEL_VIRTIO "virtio-net-pci"
#define CHRONOS_NIC_MODEL_E1000  "e1000"

#define CHRONOS_TYPE_VM_CONFIG (chronos_vm_config_get_type ())

G_DECLARE_FINAL_TYPE (ChronosVmConfig, chronos_vm_config, CHRONOS, VM_CONFIG, GObject)

/* Properties (names are stable: the app binds them with g_settings_bind;
 * every one is G_PARAM_EXPLICIT_NOTIFY and notifies only on a real change):
 *
 *   memory-mib        guint   guest RAM in MiB, >= 256; default
 *                             min(4096, half the host RAM)
 *   cpus              guint   virtual CPUs, 1..255; default min(2, host CPUs)
 *   firmware          ChronosFirmwareMode   default AUTO (GPT -> UEFI, MBR -> BIOS)
 *   accel             ChronosAccelMode      default AUTO
 *   display           ChronosDisplayMode    default WINDOW
 *   network           gboolean user-mode NAT; default TRUE (verify turns it off)
 *   nic-model         string   "e1000e" (default), "virtio-net-pci", "e1000"
 *   protect-backup    gboolean default TRUE: the backup is a read-only base
 *                             under a qcow2 overlay. FALSE is "writable mode":
 *                             the guest writes into the backup itself; only
 *                             behind an explicit setting with a warning.
 *   disk-bus          ChronosDiskBus        default AUTO (= AHCI)
 *   drivers-iso       string or NULL  an ISO attached as a CD-ROM (virtio-win)
 *   serial-path       string or NULL  file receiving the guest's first serial port
 *   shutdown-timeout  guint   seconds between the ACPI power button and
 *                             `quit` in a graceful shutdown; default 30
 *
 * VNC always listens on a Unix socket in the VM's run directory (never
 * TCP), so it has no setting here: ChronosLaunchSpec.vnc_socket names it. */

/* A config with defaults derived from this host (chronos_host_query_resources()). */
ChronosVmConfig *chronos_vm_config_new          (void);
/* The same with explicit host resources (tests, remote callers). */
ChronosVmConfig *chronos_vm_config_new_for_host (const ChronosHostResources *host);
/* An independent copy (ChronosVm snapshots the config it launches with). */
ChronosVmConfig *chronos_vm_config_copy         (ChronosVmConfig            *self);

guint               chronos_vm_config_get_memory_mib       (ChronosVmConfig    *self);
void                chronos_vm_config_set_memory_mib       (ChronosVmConfig    *self,
                                                            guint               memory_mib);
guint               chronos_vm_config_get_cpus             (ChronosVmConfig    *self);
void                chronos_vm_config_set_cpus             (ChronosVmConfig    *self,
                                                            guint               cpus);
ChronosFirmwareMode chronos_vm_config_get_firmware         (ChronosVmConfig    *self);
void                chronos_vm_config_set_firmware         (ChronosVmConfig    *self,
                                                            ChronosFirmwareMode firmware);
ChronosAccelMode    chronos_vm_config_get_accel            (ChronosVmConfig    *self);
void                chronos_vm_config_set_accel            (ChronosVmConfig    *self,
                                                            ChronosAccelMode    accel);
ChronosDisplayMode  chronos_vm_config_get_display          (ChronosVmConfig    *self);
void                chronos_vm_config_set_display          (ChronosVmConfig    *self,
                                                            ChronosDisplayMode  display);
gboolean            chronos_vm_config_get_network          (ChronosVmConfig    *self);
void                chronos_vm_config_set_network          (ChronosVmConfig    *self,
                                                            gboolean            network);
const char         *chronos_vm_config_get_nic_model        (ChronosVmConfig    *self);
/* One of the CHRONOS_NIC_MODEL_* values; anything else is a programming
 * error (g_return_if_fail). See chronos_vm_config_is_valid_nic_model(). */
void                chronos_vm_config_set_nic_model        (ChronosVmConfig    *self,
                                                            const char         *nic_model);
gboolean            chronos_vm_config_get_protect_backup   (ChronosVmConfig    *self);
void                chronos_vm_config_set_protect_backup   (ChronosVmConfig    *self,
                                                            gboolean            protect_backup);
ChronosDiskBus      chronos_vm_config_get_disk_bus         (ChronosVmConfig    *self);
void                chronos_vm_config_set_disk_bus         (ChronosVmConfig    *self,
                                                            ChronosDiskBus      disk_bus);
const char         *chronos_vm_config_get_drivers_iso      (ChronosVmConfig    *self);
/* NULL or "" clears it. */
void                chronos_vm_config_set_drivers_iso      (ChronosVmConfig    *self,
                                                            const char         *drivers_iso);
const char         *chronos_vm_config_get_serial_path      (ChronosVmConfig    *self);
/* NULL or "" clears it. */
void                chronos_vm_config_set_serial_path      (ChronosVmConfig    *self,
                                                            const char         *serial_path);
guint               chronos_vm_config_get_shutdown_timeout (ChronosVmConfig    *self);
void                chronos_vm_config_set_shutdown_timeout (ChronosVmConfig    *self,
                                                            guint               seconds);

gboolean            chronos_vm_config_is_valid_nic_model   (const char         *nic_model);

/* Lowers memory-mib and cpus to what @host can give: memory to the free
 * memory minus CHRONOS_VM_CONFIG_HOST_RESERVE_MIB (rounded down to 64 MiB,
 * never below the minimum), CPUs to the host's count. Returns TRUE when
 * something changed; @note (optional) then gets one sentence per change,
 * e.g. "Memory reduced to 3.5 GiB: the host has only 4 GiB free." (else
 * NULL). Translated. */
gboolean chronos_vm_config_clamp         (ChronosVmConfig            *self,
                                          const ChronosHostResources *host,
                                          char                      **note);
/* chronos_vm_config_clamp() with this host's resources. */
gboolean chronos_vm_config_clamp_to_host (ChronosVmConfig            *self,
                                          char                      **note);

/* BIOS or UEFI, never AUTO: the firmware setting, or for AUTO what the
 * partition style asks for (GPT -> UEFI, anything else -> BIOS). */
ChronosFirmwareMode chronos_vm_config_resolve_firmware (ChronosVmConfig      *self,
                                                        ChronosPartitionStyle style);
/* Never AUTO: AUTO means AHCI. */
ChronosDiskBus      chronos_vm_config_resolve_disk_bus (ChronosVmConfig      *self);

G_END_DECLS
