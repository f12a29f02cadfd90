/* chronos-verifier.h: boots a backup headless and judges whether it boots
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "chronos-job.h"
#include "chronos-qemu.h"
#include "chronos-verification.h"
#include "chronos-vm-config.h"

G_BEGIN_DECLS

#define CHRONOS_TYPE_VERIFIER (chronos_verifier_get_type ())

G_DECLARE_FINAL_TYPE (ChronosVerifier, chronos_verifier, CHRONOS, VERIFIER, GObject)

/* Properties: settle, timeout (seconds), network (FALSE by default: the
 * guest never reaches a network while verified), save-result (TRUE: the
 * result and screenshot are kept per backup in chronos_paths_verify_dir()),
 * screenshot-path (NULL: beside the saved result), job, frame-path (the
 * latest screenshot, a PPM that the next sample overwrites: load it in the
 * notify handler or on the "frame" signal).
 *
 * Signals:
 *   frame (const char *ppm_path): a new screenshot was taken (live
 *     thumbnail); the file is replaced by the next one. */

/* @config is copied; the verifier forces a headless display, the network
 * setting above and a serial log of its own (unless the config names one),
 * and keeps the config's protection, accelerator and firmware choices. */
ChronosVerifier *chronos_verifier_new (ChronosQemu     *qemu,
                                       ChronosVmConfig *config,
                                       const char      *image_path);
void             chronos_verifier_set_settle (ChronosVerifier *self,
                                              double           seconds);
double           chronos_verifier_get_settle (ChronosVerifier *self);
void             chronos_verifier_set_timeout (ChronosVerifier *self,
                                               double           seconds);
double           chronos_verifier_get_timeout (ChronosVerifier *self);
void             chronos_verifier_set_network (ChronosVerifier *self,
                                               gboolean         network);
void             chronos_verifier_set_save_result (ChronosVerifier *self,
                                                   gboolean         save);
void             chronos_verifier_set_screenshot_path (ChronosVerifier *self,
                                                       const char      *path);
ChronosJob      *chronos_verifier_get_job (ChronosVerifier *self);
const char      *chronos_verifier_get_frame_path (ChronosVerifier *self);

/* Boots the image, watches it and decides. The verdict (booted, failed,
 * timeout) is a result, not an error: errors are for a VM that could not be
 * started at all (CHRONOS_QEMU_ERROR from ChronosVm) and cancellation.
 * Whatever happens the VM is stopped and its run directory removed before
 * the task completes. Call once. */
void                 chronos_verifier_verify_async (ChronosVerifier    *self,
                                                    GCancellable       *cancellable,
                                                    GAsyncReadyCallback callback,
                                                    gpointer            user_data);
ChronosVerification *chronos_verifier_verify_finish (ChronosVerifier *self,
                                                     GAsyncResult    *result,
                                                     GError         **error);

G_END_DECLS
