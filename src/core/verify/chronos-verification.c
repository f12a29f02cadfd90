/* chronos-verification.c: the outcome of a boot verification and its evidence
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A verification is kept per backup so the library can show "booted, 3 days
 * ago" with the screenshot. The file name is a hash of the image's absolute
 * path: backups of different machines often share a file name, and a path
 * may contain characters a file name cannot.
 */

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "chronos-paths.h"
#include "chronos-verification.h"

struct _ChronosVerification
{
  GObject parent_instance;

  char              *path;
  ChronosVerdict     verdict;
  ChronosVerifyCause cause;
  char              *reason;
  char              *accelerator;
  gboolean           fell_back;
  char              *fallback_reason;
  char              *firmware;
  double             seconds;
  double             first_screen;
  double             stable_screen;
  double             verdict_at;
  char              *screenshot;
  char              *log;
  GDateTime         *started;
};

G_DEFINE_FINAL_TYPE (ChronosVerification, chronos_verification, G_TYPE_OBJECT)

static const char *const verdict_names[] = { "booted", "failed", "timeout" };

static const char *const cause_names[] = {
  [CHRONOS_VERIFY_CAUSE_NONE] = "none",
  [CHRONOS_VERIFY_CAUSE_STABLE_SCREEN] = "stable-screen",
  [CHRONOS_VERIFY_CAUSE_NO_BOOT_DEVICE] = "no-bootable-device",
  [CHRONOS_VERIFY_CAUSE_LOADER_ERROR] = "loader-error",
  [CHRONOS_VERIFY_CAUSE_STOP_SCREEN] = "stop-screen",
  [CHRONOS_VERIFY_CAUSE_PANIC] = "panic",
  [CHRONOS_VERIFY_CAUSE_RESET_LOOP] = "reset-loop",
  [CHRONOS_VERIFY_CAUSE_POWERED_OFF] = "powered-off",
  [CHRONOS_VERIFY_CAUSE_BLACK_SCREEN] = "black-screen",
  [CHRONOS_VERIFY_CAUSE_INTERNAL_ERROR] = "internal-error",
  [CHRONOS_VERIFY_CAUSE_QEMU_EXITED] = "qemu-exited",
  [CHRONOS_VERIFY_CAUSE_TIMEOUT] = "timeout",
};

const char *
chronos_verdict_to_string (ChronosVerdict verdict)
{
  g_return_val_if_fail ((guint)verdict < G_N_ELEMENTS (verdict_names), NULL);
  return verdict_names[verdict];
}

gboolean
chronos_verdict_from_string (const char     *text,
                             ChronosVerdict *verdict)
{
  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (verdict_names); i++)
    if (strcmp (text, verdict_names[i]) == 0)
      {
        *verdict = (ChronosVerdict)i;
        return TRUE;
      }
  return FALSE;
}

const char *
chronos_verify_cause_to_string (ChronosVerifyCause cause)
{
  g_return_val_if_fail ((guint)cause < G_N_ELEMENTS (cause_names), NULL);
  return cause_names[cause];
}

ChronosVerifyCause
chronos_verify_cause_from_string (const char *text)
{
  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (cause_names); i++)
    if (strcmp (text, cause_names[i]) == 0)
      return (ChronosVerifyCause)i;
  return CHRONOS_VERIFY_CAUSE_NONE;
}

static void
chronos_verification_finalize (GObject *object)
{
  ChronosVerification *self = (ChronosVerification *)object;

  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->reason, g_free);
  g_clear_pointer (&self->accelerator, g_free);
  g_clear_pointer (&self->fallback_reason, g_free);
  g_clear_pointer (&self->firmware, g_free);
  g_clear_pointer (&self->screenshot, g_free);
  g_clear_pointer (&self->log, g_free);
  g_clear_pointer (&self->started, g_date_time_unref);

  G_OBJECT_CLASS (chronos_verification_parent_class)->finalize (object);
}

static void
chronos_verification_class_init (ChronosVerificationClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = chronos_verification_finalize;
}

static void
chronos_verification_init (ChronosVerification *self)
{
  self->verdict = CHRONOS_VERDICT_TIMEOUT;
  self->cause = CHRONOS_VERIFY_CAUSE_NONE;
  self->seconds = -1;
  self->first_screen = -1;
  self->stable_screen = -1;
  self->verdict_at = -1;
}

ChronosVerification *
chronos_verification_new (const char *image_path)
{
  ChronosVerification *self;

  g_return_val_if_fail (image_path != NULL, NULL);

  self = g_object_new (CHRONOS_TYPE_VERIFICATION, NULL);
  self->path = g_canonicalize_filename (image_path, NULL);

  return self;
}

#define GETTER(type, name, field, fallback)                          \
  type chronos_verification_get_##name (ChronosVerification *self)   \
  {                                                                  \
    g_return_val_if_fail (CHRONOS_IS_VERIFICATION (self), fallback); \
    return self->field;                                              \
  }

GETTER (const char *, path, path, NULL)
GETTER (ChronosVerdict, verdict, verdict, CHRONOS_VERDICT_TIMEOUT)
GETTER (ChronosVerifyCause, cause, cause, CHRONOS_VERIFY_CAUSE_NONE)
GETTER (const char *, reason, reason, NULL)
GETTER (const char *, accelerator, accelerator, NULL)
GETTER (gboolean, fell_back, fell_back, FALSE)
GETTER (const char *, fallback_reason, fallback_reason, NULL)
GETTER (const char *, firmware, firmware, NULL)
GETTER (double, seconds, seconds, -1)
GETTER (double, first_screen, first_screen, -1)
GETTER (double, stable_screen, stable_screen, -1)
GETTER (double, verdict_at, verdict_at, -1)
GETTER (const char *, screenshot, screenshot, NULL)
GETTER (const char *, log, log, NULL)
GETTER (GDateTime *, started, started, NULL)

void
chronos_verification_set_result (ChronosVerification *self,
                                 ChronosVerdict       verdict,
                                 ChronosVerifyCause   cause,
                                 const char          *reason)
{
  g_return_if_fail (CHRONOS_IS_VERIFICATION (self));

  self->verdict = verdict;
  self->cause = cause;
  g_free (self->reason);
  self->reason = g_strdup (reason);
}

void
chronos_verification_set_accelerator (ChronosVerification *self,
                                      const char          *accelerator,
                                      gboolean             fell_back,
                                      const char          *fallback_reason)
{
  g_return_if_fail (CHRONOS_IS_VERIFICATION (self));

  g_free (self->accelerator);
  self->accelerator = g_strdup (accelerator);
  self->fell_back = !!fell_back;
  g_free (self->fallback_reason);
  self->fallback_reason = g_strdup (fallback_reason);
}

void
chronos_verification_set_firmware (ChronosVerification *self,
                                   const char          *firmware)
{
  g_return_if_fail (CHRONOS_IS_VERIFICATION (self));

  g_free (self->firmware);
  self->firmware = g_strdup (firmware);
}

void
chronos_verification_set_timings (ChronosVerification *self,
                                  double               seconds,
                                  double               first_screen,
                                  double               stable_screen,
                                  double               verdict_at)
{
  g_return_if_fail (CHRONOS_IS_VERIFICATION (self));

  self->seconds = seconds;
  self->first_screen = first_screen;
  self->stable_screen = stable_screen;
  self->verdict_at = verdict_at;
}

void
chronos_verification_set_screenshot (ChronosVerification *self,
                                     const char          *path)
{
  g_return_if_fail (CHRONOS_IS_VERIFICATION (self));

  g_free (self->screenshot);
  self->screenshot = g_strdup (path);
}

void
chronos_verification_set_log (ChronosVerification *self,
                              const char          *path)
{
  g_return_if_fail (CHRONOS_IS_VERIFICATION (self));

  g_free (self->log);
  self->log = g_strdup (path);
}

void
chronos_verification_set_started (ChronosVerification *self,
                                  GDateTime           *started)
{
  g_return_if_fail (CHRONOS_IS_VERIFICATION (self));

  g_clear_pointer (&self->started, g_date_time_unref);
  if (started != NULL)
    self->started = g_date_time_ref (started);
}

static void
add_string_or_null (JsonBuilder *builder,
                    const char  *name,
                    const char  *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static void
add_seconds (JsonBuilder *builder,
             const char  *name,
             double       value)
{
  json_builder_set_member_name (builder, name);
  if (value >= 0)
    /* Milliseconds are plenty; more digits only look precise. */
    json_builder_add_double_value (builder, (gint64)(value * 1000 + 0.5) / 1000.0);
  else
    json_builder_add_null_value (builder);
}

JsonNode *
chronos_verification_to_json (ChronosVerification *self)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autofree char *started = NULL;

  g_return_val_if_fail (CHRONOS_IS_VERIFICATION (self), NULL);

  if (self->started != NULL)
    started = g_date_time_format_iso8601 (self->started);

  json_builder_begin_object (builder);
  add_string_or_null (builder, "path", self->path);
  add_string_or_null (builder, "verdict", chronos_verdict_to_string (self->verdict));
  add_string_or_null (builder, "reason", self->reason);
  add_string_or_null (builder, "cause", chronos_verify_cause_to_string (self->cause));
  add_string_or_null (builder, "accelerator", self->accelerator);
  json_builder_set_member_name (builder, "fell_back");
  json_builder_add_boolean_value (builder, self->fell_back);
  add_string_or_null (builder, "fallback_reason", self->fallback_reason);
  add_string_or_null (builder, "firmware", self->firmware);
  add_seconds (builder, "seconds", self->seconds);
  add_seconds (builder, "first_screen", self->first_screen);
  add_seconds (builder, "stable_screen", self->stable_screen);
  add_seconds (builder, "verdict_at", self->verdict_at);
  add_string_or_null (builder, "screenshot", self->screenshot);
  add_string_or_null (builder, "log", self->log);
  add_string_or_null (builder, "started", started);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static double
member_seconds (JsonObject *object,
                const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return -1;
  return json_node_get_double (node);
}

ChronosVerification *
chronos_verification_new_from_json (JsonNode *node,
                                    GError  **error)
{
  g_autoptr (ChronosVerification) self = NULL;
  JsonObject    *object;
  ChronosVerdict verdict;
  const char    *started;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    goto invalid;

  object = json_node_get_object (node);
  if (member_string (object, "path") == NULL ||
      !chronos_verdict_from_string (member_string (object, "verdict"), &verdict))
    goto invalid;

  self = chronos_verification_new (member_string (object, "path"));
  chronos_verification_set_result (self, verdict,
                                   chronos_verify_cause_from_string (member_string (object, "cause")),
                                   member_string (object, "reason"));
  chronos_verification_set_accelerator (self, member_string (object, "accelerator"),
                                        json_object_get_boolean_member_with_default (object, "fell_back", FALSE),
                                        member_string (object, "fallback_reason"));
  chronos_verification_set_firmware (self, member_string (object, "firmware"));
  chronos_verification_set_timings (self, member_seconds (object, "seconds"),
                                    member_seconds (object, "first_screen"),
                                    member_seconds (object, "stable_screen"),
                                    member_seconds (object, "verdict_at"));
  chronos_verification_set_screenshot (self, member_string (object, "screenshot"));
  chronos_verification_set_log (self, member_string (object, "log"));
  started = member_string (object, "started");
  if (started != NULL)
    self->started = g_date_time_new_from_iso8601 (started, NULL);

  return g_steal_pointer (&self);

invalid:
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "The saved verification result is damaged.");
  return NULL;
}

char *
chronos_verification_file_for_image (const char *image_path,
                                     const char *extension)
{
  g_autofree char *absolute = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *name = NULL;
  g_autofree char *dir = chronos_paths_verify_dir ();

  g_return_val_if_fail (image_path != NULL, NULL);
  g_return_val_if_fail (extension != NULL, NULL);

  absolute = g_canonicalize_filename (image_path, NULL);
  hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, absolute, -1);
  hash[32] = '\0';
  name = g_strdup_printf ("%s.%s", hash, extension);

  return g_build_filename (dir, name, NULL);
}

gboolean
chronos_verification_save (ChronosVerification *self,
                           GError             **error)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *file = NULL;
  g_autofree char *dir = chronos_paths_verify_dir ();
  g_autofree char *text = NULL;

  g_return_val_if_fail (CHRONOS_IS_VERIFICATION (self), FALSE);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Could not create %s: %s.", dir, g_strerror (saved_errno));
      return FALSE;
    }

  node = chronos_verification_to_json (self);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  file = chronos_verification_file_for_image (self->path, "json");

  return g_file_set_contents_full (file, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

ChronosVerification *
chronos_verification_load_for_image (const char *image_path,
                                     GError    **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *file = NULL;

  g_return_val_if_fail (image_path != NULL, NULL);

  file = chronos_verification_file_for_image (image_path, "json");
  if (!g_file_test (file, G_FILE_TEST_EXISTS))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "This backup has not been verified yet.");
      return NULL;
    }
  if (!json_parser_load_from_mapped_file (parser, file, error))
    return NULL;

  return chronos_verification_new_from_json (json_parser_get_root (parser), error);
}
