/* test-manifest.c: parsing and validating the QEMU download manifest
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <string.h>

#include "chronos-manifest.h"

#define SHA "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef"

/* A valid component with one field replaced (or removed when @value is NULL). */
static char *
manifest_with (const char *field,
               const char *value)
{
  const char *fields[][2] = {
    { "id", "\"qemu\"" },
    { "version", "\"10.1.2\"" },
    { "os", "\"windows\"" },
    { "arch", "\"x86_64\"" },
    { "url", "\"https://example.org/qemu-10.1.2-win64.zip\"" },
    { "mirrors", "[\"https://mirror.example.org/qemu-10.1.2-win64.zip\"]" },
    { "size", "83886080" },
    { "sha256", "\"" SHA "\"" },
    { "format", "\"zip\"" },
    { "strip_components", "1" },
    { "files", "{ \"system\": \"qemu-system-x86_64.exe\", \"img\": \"qemu-img.exe\", \"firmware_dir\": \"share\" }" },
  };
  GString *s = g_string_new ("{ \"schema\": 1, \"components\": [ { ");
  gboolean first = TRUE;

  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      const char *v = fields[i][1];

      if (field != NULL && strcmp (field, fields[i][0]) == 0)
        {
          if (value == NULL)
            continue;
          v = value;
        }
      g_string_append_printf (s, "%s\"%s\": %s", first ? "" : ", ", fields[i][0], v);
      first = FALSE;
    }
  g_string_append (s, " } ] }");
  return g_string_free (s, FALSE);
}

static void
test_valid (void)
{
  g_autofree char *json = manifest_with (NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosManifest) manifest = chronos_manifest_new_from_data (json, -1, &error);
  ChronosManifestComponent *c;

  g_assert_no_error (error);
  g_assert_cmpuint (chronos_manifest_get_n_components (manifest), ==, 1);
  c = chronos_manifest_find_component (manifest, "qemu", "windows", "x86_64", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->version, ==, "10.1.2");
  g_assert_cmpuint (c->size, ==, 83886080);
  /* Normalised to lower case. */
  g_assert_cmpstr (c->sha256, ==, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  g_assert_cmpstr (c->format, ==, "zip");
  g_assert_cmpuint (c->strip_components, ==, 1);
  g_assert_cmpuint (g_strv_length (c->mirrors), ==, 1);
  g_assert_cmpstr (c->file_system, ==, "qemu-system-x86_64.exe");
  g_assert_cmpstr (c->file_img, ==, "qemu-img.exe");
  g_assert_cmpstr (c->file_firmware_dir, ==, "share");

  g_assert_null (chronos_manifest_find_component (manifest, "qemu", "linux", "x86_64", &error));
  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NO_COMPONENT);
  g_assert_cmpstr (error->message, ==, "No QEMU bundle is published for Linux x86_64");
}

typedef struct
{
  const char *field;
  const char *value;
  const char *message;
} Invalid;

static void
test_invalid (void)
{
  const Invalid cases[] = {
    { "id", NULL, "component 1 has no “id” field" },
    { "url", NULL, "component 1 has no “url” field" },
    { "sha256", NULL, "component 1 has no “sha256” field" },
    { "size", NULL, "component 1 has no “size” field" },
    { "files", NULL, "component 1 has no “files” field" },
    { "size", "0", "“size” of 0" },
    { "size", "-5", "“size” of -5" },
    { "size", "\"12\"", "“size” field that is not a whole number" },
    { "size", "1.5", "“size” field that is not a whole number" },
    { "sha256", "\"abc\"", "not 64 hexadecimal digits" },
    { "sha256", "\""
                "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                "\"",
      "not 64 hexadecimal digits" },
    { "format", "\"rar\"", "unknown “format” “rar”" },
    { "strip_components", "9", "between 0 and 8" },
    { "strip_components", "-1", "between 0 and 8" },
    { "url", "\"http://example.org/q.zip\"", "neither HTTPS nor plain HTTP to this computer" },
    { "url", "\"\"", "empty “url”" },
    { "version", "3", "“version” field that is not a string" },
    { "mirrors", "[\"ftp://x/y\"]", "mirror that is neither HTTPS" },
    { "mirrors", "\"https://x/y\"", "“mirrors” field that is not a list" },
    { "files", "{ \"system\": \"../qemu.exe\", \"img\": \"qemu-img.exe\" }", "not a safe relative path" },
    { "files", "{ \"system\": \"/usr/bin/qemu\", \"img\": \"qemu-img.exe\" }", "not a safe relative path" },
    { "files", "{ \"system\": \"C:\\\\qemu.exe\", \"img\": \"qemu-img.exe\" }", "not a safe relative path" },
    { "files", "{ \"system\": \"bin\\\\qemu.exe\", \"img\": \"qemu-img.exe\" }", "not a safe relative path" },
    { "files", "{ \"system\": \"bin/./qemu\", \"img\": \"qemu-img.exe\" }", "not a safe relative path" },
    { "files", "{ \"system\": \"qemu.exe\" }", "has no “img” field" },
    { "files", "[]", "“files” field that is not an object" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *json = manifest_with (cases[i].field, cases[i].value);
      g_autoptr (GError) error = NULL;
      g_autoptr (ChronosManifest) manifest = chronos_manifest_new_from_data (json, -1, &error);

      g_test_message ("%s = %s", cases[i].field, cases[i].value ? cases[i].value : "(missing)");
      g_assert_null (manifest);
      g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_INVALID_MANIFEST);
      g_assert_true (g_str_has_prefix (error->message, "The QEMU manifest is not valid: "));
      if (strstr (error->message, cases[i].message) == NULL)
        g_error ("“%s” does not contain “%s”", error->message, cases[i].message);
    }
}

static void
test_invalid_document (void)
{
  const char *cases[][2] = {
    { "{ \"schema\": 1, \"components\": [ ", "it is not JSON" },
    { "", "it is empty" },
    { "[]", "the top level is not an object" },
    { "{ \"components\": [] }", "“schema”" },
    { "{ \"schema\": 2, \"components\": [] }", "schema 2 is not supported" },
    { "{ \"schema\": 1 }", "no “components” list" },
    { "{ \"schema\": 1, \"components\": [ 3 ] }", "component 1 is not an object" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (ChronosManifest) manifest = chronos_manifest_new_from_data (cases[i][0], -1, &error);

      g_assert_null (manifest);
      g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_INVALID_MANIFEST);
      if (strstr (error->message, cases[i][1]) == NULL)
        g_error ("“%s” does not contain “%s”", error->message, cases[i][1]);
    }
}

/* The compiled-in manifest is valid and publishes no made-up hashes. */
static void
test_default (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosManifest) manifest = chronos_manifest_new_default (&error);

  g_assert_no_error (error);
  g_assert_nonnull (manifest);
  g_assert_true (g_str_has_prefix (chronos_manifest_get_source (manifest), "resource://"));
  for (guint i = 0; i < chronos_manifest_get_n_components (manifest); i++)
    {
      ChronosManifestComponent *c = chronos_manifest_get_component (manifest, i);
      g_assert_true (g_str_has_prefix (c->url, "https://"));
    }
}

static void
test_host (void)
{
  g_assert_cmpstr (chronos_manifest_host_os (), ==, "linux");
#if defined(__x86_64__)
  g_assert_cmpstr (chronos_manifest_host_arch (), ==, "x86_64");
#endif
  g_assert_true (chronos_manifest_is_safe_relative_path ("share/qemu"));
  g_assert_false (chronos_manifest_is_safe_relative_path (""));
  g_assert_false (chronos_manifest_is_safe_relative_path ("a//b"));
  g_assert_false (chronos_manifest_is_safe_relative_path ("a/.."));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/manifest/valid", test_valid);
  g_test_add_func ("/manifest/invalid-field", test_invalid);
  g_test_add_func ("/manifest/invalid-document", test_invalid_document);
  g_test_add_func ("/manifest/default", test_default);
  g_test_add_func ("/manifest/host", test_host);

  return g_test_run ();
}
