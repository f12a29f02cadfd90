/* chronos-vm.h: one running virtual machine (a QEMU process and its files)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "chronos-types.h"
#include "chronos-enums.h"
#include "chronos-qemu.h"
#include "chronos-qmp.h"
#include "chronos-vm-config.h"

G_BEGIN_DECLS

/* How a VM ended, as the "exited" signal reports it. */
typedef enum
{
  CHRONOS_VM_EXIT_REASON_NONE,            /* it has not ended */
  CHRONOS_VM_EXIT_REASON_GUEST_SHUTDOWN,  /* the guest powered itself off */
  CHRONOS_VM_EXIT_REASON_HOST_QUIT,       /* QEMU was asked to quit: Chronos after the
                                           * shutdown timeout, its window was closed, or
                                           * a signal */
  CHRONOS_VM_EXIT_REASON_FORCED,          /* Chronos killed QEMU (force stop, or a
                                           * shutdown QEMU did not answer) */
  CHRONOS_VM_EXIT_REASON_CRASHED,         /* QEMU died unexpectedly: a signal, an error
                                           * exit, a virtual CPU that stopped with an
                                           * internal error; the message names the log */
  CHRONOS_VM_EXIT_REASON_FAILED_TO_START, /* a restart (accelerator fallback) failed */
} ChronosVmExitReason;

#define CHRONOS_TYPE_VM_EXIT_REASON (chronos_vm_exit_reason_get_type ())
GType chronos_vm_exit_reason_get_type (void) G_GNUC_CONST;
/* "none", "guest-shutdown", "host-quit", "forced", "crashed",
 * "failed-to-start" (stable: for JSON). */
const char *chronos_vm_exit_reason_to_string (ChronosVmExitReason reason);

#define CHRONOS_TYPE_VM (chronos_vm_get_type ())

G_DECLARE_FINAL_TYPE (ChronosVm, chronos_vm, CHRONOS, VM, GObject)

/* Properties (all read-only, notified on change, in the thread-default main
 * context of the caller of chronos_vm_start_async()):
 *
 *   state            ChronosVmState  STARTING (also during a fallback restart),
 *                                    RUNNING, PAUSED, STOPPING, STOPPED, FAILED
 *   accel            ChronosAccelKind the accelerator the running QEMU really
 *                                    got (asked over QMP), UNKNOWN before
 *   fell-back        gboolean  the hardware accelerator failed and the VM runs on TCG
 *   fallback-reason  string    why, e.g. "KVM stopped the UEFI firmware with an
 *                              internal error."; NULL when not fallen back
 *   firmware         ChronosFirmwareMode  BIOS or UEFI once resolved
 *   firmware-path    string    the UEFI code file, NULL for BIOS
 *   log-path         string    QEMU's log (stdout + stderr), kept after the VM ends
 *   run-dir          string    the private run directory, NULL once removed
 *   exit-reason      ChronosVmExitReason
 *   exit-message     string    a sentence for people, NULL until exited
 *
 * Signals:
 *   exited (ChronosVmExitReason reason, const char *message): once, after a
 *     successful start, when the VM has ended and its run directory is gone.
 *   event::NAME (const char *name, JsonObject *data): every QMP event of the
 *     current QEMU (forwarded across a fallback restart).
 *   restarted (): a fallback restart is running (after start_async finished). */

/* @config is copied: later changes to it do not affect this VM. The image is
 * opened read-only under a qcow2 overlay unless the config's
 * protect-backup is FALSE ("writable mode"). */
ChronosVm *chronos_vm_new (ChronosQemu     *qemu,
                           ChronosVmConfig *config,
                           const char      *image_path);

/* Starts the VM: checks the image (refusing, with a clear error, images
 * QEMU cannot open), creates the run directory and overlay, spawns QEMU,
 * connects QMP, learns the accelerator, lets the guest run, and watches the
 * first second of a hardware-accelerated boot: an accelerator that stops
 * the guest with an internal error makes the VM restart once on TCG (and
 * the host remembers it). Finishes once the guest runs. Cancelling ends
 * QEMU. Errors: CHRONOS_QEMU_ERROR (IMAGE_NOT_FOUND, NOT_A_DISK_IMAGE,
 * IMAGE_IN_USE, NO_MEMORY, NO_SPACE, FIRMWARE_MISSING, LOG_REPLAY_NEEDED,
 * PARENT_MISSING, UNSUPPORTED_IMAGE, ACCEL_UNAVAILABLE, INVALID_CONFIG,
 * CRASHED, FAILED), G_IO_ERROR_CANCELLED. Call once per object. */
void     chronos_vm_start_async (ChronosVm          *self,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data);
gboolean chronos_vm_start_finish (ChronosVm    *self,
                                  GAsyncResult *result,
                                  GError      **error);

/* A graceful shutdown: the ACPI power button, up to the config's
 * shutdown-timeout seconds for the guest to power off, then QMP `quit`,
 * then, a few seconds later, a kill. Finishes after "exited" was emitted;
 * chronos_vm_get_exit_reason() says how it ended. Cancelling skips straight
 * to the kill (and still waits for the end). A VM that already ended
 * finishes at once. */
void     chronos_vm_shutdown_async (ChronosVm          *self,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data);
gboolean chronos_vm_shutdown_finish (ChronosVm    *self,
                                     GAsyncResult *result,
                                     GError      **error);

/* Kills QEMU now (SIGKILL / TerminateProcess); "exited" follows with
 * FORCED. */
void chronos_vm_force_stop (ChronosVm *self);

/* For callers that detect a failing accelerator themselves (the verifier's
 * "no screen progress" under WHPX): kills QEMU and restarts the VM once on
 * TCG, remembering @reason for this host and firmware. Returns FALSE (and
 * does nothing) when the VM does not run on a hardware accelerator or has
 * already fallen back. */
gboolean chronos_vm_fall_back_to_tcg (ChronosVm  *self,
                                      const char *reason);

ChronosVmState      chronos_vm_get_state (ChronosVm *self);
ChronosAccelKind    chronos_vm_get_accel (ChronosVm *self);
gboolean            chronos_vm_get_fell_back (ChronosVm *self);
const char         *chronos_vm_get_fallback_reason (ChronosVm *self);
ChronosFirmwareMode chronos_vm_get_firmware (ChronosVm *self);
const char         *chronos_vm_get_firmware_path (ChronosVm *self);
const char         *chronos_vm_get_log_path (ChronosVm *self);
const char         *chronos_vm_get_run_dir (ChronosVm *self);
const char         *chronos_vm_get_image_path (ChronosVm *self);
/* The VM's own copy of the configuration (after clamping to the host). */
ChronosVmConfig *chronos_vm_get_config (ChronosVm *self);
/* Sentences worth showing before the guest runs: memory clamped to the
 * host, "using TCG because KVM failed with UEFI here before", writable
 * mode. NULL-terminated, never NULL. */
const char *const *chronos_vm_get_notes (ChronosVm *self);
/* The monitor connection of the running QEMU, NULL when none (it changes
 * with a fallback restart; connect to the VM's "event" signal instead of
 * the client's). */
ChronosQmp *chronos_vm_get_qmp (ChronosVm *self);
/* The VNC socket when the display is VNC, else NULL. */
const char *chronos_vm_get_vnc_socket_path (ChronosVm *self);
/* The process id of the running QEMU, 0 when none. */
guint64 chronos_vm_get_qemu_pid (ChronosVm *self);
/* Seconds since the guest started running (of the last launch), 0 before;
 * frozen once the VM ended. */
double              chronos_vm_get_elapsed (ChronosVm *self);
ChronosVmExitReason chronos_vm_get_exit_reason (ChronosVm *self);
const char         *chronos_vm_get_exit_message (ChronosVm *self);

/* Turns a failed QEMU start into an error a person can act on, from the
 * text of its log: the image is in use, not enough memory, no space, a
 * VHDX log to replay, no display... otherwise QEMU's last error line. The
 * message names @log_path. Pure; exposed for tests. */
GError *chronos_vm_classify_failure (const char *log_text,
                                     const char *log_path,
                                     guint       memory_mib);

G_END_DECLS
