/* fuzz-manifest.c: libFuzzer target for the QEMU download manifest parser
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A manifest comes from a URL a user or admin typed, so its parser sees
 * hostile JSON. Whatever it accepts must keep the promises of
 * chronos-manifest.h ("every field is present and sane"): a broken promise
 * aborts so libFuzzer reports it like a crash.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chronos-manifest.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
fatal_log_cb (const char    *domain,
              GLogLevelFlags level,
              const char    *message,
              gpointer       user_data)
{
  /* Criticals and warnings are bugs: make them crashes the fuzzer reports. */
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_ERROR))
    abort ();
}

static gboolean
is_lower_hex64 (const char *text)
{
  if (text == NULL || strlen (text) != 64)
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!g_ascii_isdigit (*p) && !(*p >= 'a' && *p <= 'f'))
      return FALSE;
  return TRUE;
}

static void
check_component (ChronosManifestComponent *c)
{
  static const char *const formats[] = { "zip", "7z", "tar.zst", "tar.xz", "tar.gz" };
  gboolean                 known = FALSE;

  if (c->id == NULL || c->version == NULL || c->os == NULL || c->arch == NULL ||
      c->url == NULL || c->mirrors == NULL || c->format == NULL ||
      c->file_system == NULL || c->file_img == NULL)
    abort ();
  if (!g_utf8_validate (c->id, -1, NULL) || !g_utf8_validate (c->version, -1, NULL))
    abort ();
  if (!is_lower_hex64 (c->sha256))
    abort ();
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    known |= g_str_equal (c->format, formats[i]);
  if (!known)
    abort ();
  /* The extractor trusts these to stay inside the install directory. */
  if (!chronos_manifest_is_safe_relative_path (c->file_system) ||
      !chronos_manifest_is_safe_relative_path (c->file_img) ||
      (c->file_firmware_dir != NULL && !chronos_manifest_is_safe_relative_path (c->file_firmware_dir)))
    abort ();
  /* Every URL the downloader may be sent to passed the scheme rules. */
  if (!chronos_manifest_check_url (c->url, NULL))
    abort ();
  for (guint i = 0; c->mirrors[i] != NULL; i++)
    if (!chronos_manifest_check_url (c->mirrors[i], NULL))
      abort ();
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  static gboolean initialized;
  g_autoptr (ChronosManifest) manifest = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *copy = NULL;
  char            *text;

  if (!initialized)
    {
      g_log_set_default_handler (fatal_log_cb, NULL);
      initialized = TRUE;
    }

  /* An exactly sized copy, not NUL-terminated: ASan sees any overread. */
  text = copy = g_malloc (size + 1);
  memcpy (text, data, size);

  manifest = chronos_manifest_new_from_data (text, size, &error);
  if (manifest == NULL)
    {
      if (error == NULL || error->message == NULL ||
          !g_utf8_validate (error->message, -1, NULL))
        abort ();
    }
  else
    {
      guint n = chronos_manifest_get_n_components (manifest);
      g_autoptr (GError) find_error = NULL;
      ChronosManifestComponent *found;

      if (error != NULL)
        abort ();
      for (guint i = 0; i < n; i++)
        {
          g_autoptr (ChronosManifestComponent) c =
              chronos_manifest_component_ref (chronos_manifest_get_component (manifest, i));

          check_component (c);
        }
      found = chronos_manifest_find_component (manifest, "qemu",
                                               chronos_manifest_host_os (),
                                               chronos_manifest_host_arch (),
                                               &find_error);
      if ((found == NULL) == (find_error == NULL))
        abort ();
    }

  /* The path and URL checks are fed raw strings as well. */
  text[size] = '\0';
  if (strlen (text) == size)
    {
      chronos_manifest_is_safe_relative_path (text);
      chronos_manifest_check_url (text, NULL);
    }

  return 0;
}
