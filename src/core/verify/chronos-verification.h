/* chronos-verification.h: the outcome of a boot verification and its evidence
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "chronos-types.h"
#include "chronos-enums.h"

G_BEGIN_DECLS

/* Why the verdict is what it is; stable strings for JSON ("cause"). */
typedef enum
{
  CHRONOS_VERIFY_CAUSE_NONE,
  CHRONOS_VERIFY_CAUSE_STABLE_SCREEN, /* booted */
  CHRONOS_VERIFY_CAUSE_NO_BOOT_DEVICE,
  CHRONOS_VERIFY_CAUSE_LOADER_ERROR,
  CHRONOS_VERIFY_CAUSE_STOP_SCREEN,
  CHRONOS_VERIFY_CAUSE_PANIC,
  CHRONOS_VERIFY_CAUSE_RESET_LOOP,
  CHRONOS_VERIFY_CAUSE_POWERED_OFF,
  CHRONOS_VERIFY_CAUSE_BLACK_SCREEN,
  CHRONOS_VERIFY_CAUSE_INTERNAL_ERROR, /* QEMU status internal-error after the fallback */
  CHRONOS_VERIFY_CAUSE_QEMU_EXITED,    /* QEMU ended on its own (crash) */
  CHRONOS_VERIFY_CAUSE_TIMEOUT,
} ChronosVerifyCause;

/* "booted", "failed", "timeout" */
const char *chronos_verdict_to_string (ChronosVerdict verdict);
gboolean    chronos_verdict_from_string (const char     *text,
                                         ChronosVerdict *verdict);
/* "stable-screen", "no-bootable-device", "stop-screen", ... */
const char        *chronos_verify_cause_to_string (ChronosVerifyCause cause);
ChronosVerifyCause chronos_verify_cause_from_string (const char *text);

#define CHRONOS_TYPE_VERIFICATION (chronos_verification_get_type ())

G_DECLARE_FINAL_TYPE (ChronosVerification, chronos_verification, CHRONOS, VERIFICATION, GObject)

ChronosVerification *chronos_verification_new (const char *image_path);

const char        *chronos_verification_get_path (ChronosVerification *self);
ChronosVerdict     chronos_verification_get_verdict (ChronosVerification *self);
ChronosVerifyCause chronos_verification_get_cause (ChronosVerification *self);
/* The sentence a person would give: "screen stable and non-blank for 3 s". */
const char *chronos_verification_get_reason (ChronosVerification *self);
void        chronos_verification_set_result (ChronosVerification *self,
                                             ChronosVerdict       verdict,
                                             ChronosVerifyCause   cause,
                                             const char          *reason);
/* "kvm", "tcg", "whpx", "hvf" or NULL before the VM ran. */
const char *chronos_verification_get_accelerator (ChronosVerification *self);
gboolean    chronos_verification_get_fell_back (ChronosVerification *self);
const char *chronos_verification_get_fallback_reason (ChronosVerification *self);
void        chronos_verification_set_accelerator (ChronosVerification *self,
                                                  const char          *accelerator,
                                                  gboolean             fell_back,
                                                  const char          *fallback_reason);
/* "bios" or "uefi". */
const char *chronos_verification_get_firmware (ChronosVerification *self);
void        chronos_verification_set_firmware (ChronosVerification *self,
                                               const char          *firmware);
/* "seconds": the whole verification, from the request to the VM gone.
 * The others count from the moment the judged guest started running: the
 * first non-black screen, the start of the screen that got the verdict,
 * the verdict itself. -1 when it never happened. */
double      chronos_verification_get_seconds (ChronosVerification *self);
double      chronos_verification_get_first_screen (ChronosVerification *self);
double      chronos_verification_get_stable_screen (ChronosVerification *self);
double      chronos_verification_get_verdict_at (ChronosVerification *self);
void        chronos_verification_set_timings (ChronosVerification *self,
                                              double               seconds,
                                              double               first_screen,
                                              double               stable_screen,
                                              double               verdict_at);
const char *chronos_verification_get_screenshot (ChronosVerification *self);
void        chronos_verification_set_screenshot (ChronosVerification *self,
                                                 const char          *path);
const char *chronos_verification_get_log (ChronosVerification *self);
void        chronos_verification_set_log (ChronosVerification *self,
                                          const char          *path);
/* Wall-clock time the verification started (UTC), or NULL. */
GDateTime *chronos_verification_get_started (ChronosVerification *self);
void       chronos_verification_set_started (ChronosVerification *self,
                                             GDateTime           *started);

/* `verify --json`: path, verdict, reason, accelerator, fell_back, firmware,
 * seconds, screenshot, log (DESIGN.md), and cause, fallback_reason,
 * first_screen, stable_screen, verdict_at, started. */
JsonNode            *chronos_verification_to_json (ChronosVerification *self);
ChronosVerification *chronos_verification_new_from_json (JsonNode *node,
                                                         GError  **error);

/* Where the result for @image_path lives: chronos_paths_verify_dir()/
 * HASH.@extension, HASH being the SHA-256 of the absolute path (the first 32
 * hex digits). @extension is "json" or "png". */
char *chronos_verification_file_for_image (const char *image_path,
                                           const char *extension);
/* Writes the JSON next to its screenshot (atomically). Blocking: small. */
gboolean chronos_verification_save (ChronosVerification *self,
                                    GError             **error);
/* The last saved result for @image_path; G_IO_ERROR_NOT_FOUND if none. */
ChronosVerification *chronos_verification_load_for_image (const char *image_path,
                                                          GError    **error);

G_END_DECLS
