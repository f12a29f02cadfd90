/* test-verification.c: the verification result, its JSON and where it is kept
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <string.h>

#include "chronos-paths.h"
#include "chronos-verification.h"

static void
test_json_fields (void)
{
  g_autoptr (ChronosVerification) v = chronos_verification_new ("/backups/pc/a.vhdx");
  g_autoptr (GDateTime) started = g_date_time_new_utc (2026, 11, 26, 12, 0, 0);
  g_autoptr (JsonNode) node = NULL;
  static const char *const fields[] = {
    "path",
    "verdict",
    "reason",
    "accelerator",
    "fell_back",
    "firmware",
    "seconds",
    "screenshot",
    "log",
    "cause",
    "fallback_reason",
    "first_screen",
    "stable_screen",
    "verdict_at",
    "started",
  };
  JsonObject *object;

  chronos_verification_set_result (v, CHRONOS_VERDICT_BOOTED, CHRONOS_VERIFY_CAUSE_STABLE_SCREEN,
                                   "screen stable and non-blank for 3.0 s");
  chronos_verification_set_accelerator (v, "tcg", TRUE, "KVM failed with an internal error.");
  chronos_verification_set_firmware (v, "uefi");
  chronos_verification_set_timings (v, 7.1234, 2.5, 4.0, 7.0);
  chronos_verification_set_screenshot (v, "/tmp/x.png");
  chronos_verification_set_log (v, "/tmp/x.log");
  chronos_verification_set_started (v, started);

  node = chronos_verification_to_json (v);
  object = json_node_get_object (node);
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    g_assert_true (json_object_has_member (object, fields[i]));
  g_assert_cmpstr (json_object_get_string_member (object, "verdict"), ==, "booted");
  g_assert_cmpstr (json_object_get_string_member (object, "cause"), ==, "stable-screen");
  g_assert_cmpstr (json_object_get_string_member (object, "accelerator"), ==, "tcg");
  g_assert_true (json_object_get_boolean_member (object, "fell_back"));
  g_assert_cmpfloat (json_object_get_double_member (object, "seconds"), ==, 7.123);
  g_assert_cmpstr (json_object_get_string_member (object, "started"), ==, "2026-11-26T12:00:00Z");

  {
    g_autoptr (GError) error = NULL;
    g_autoptr (ChronosVerification) back = chronos_verification_new_from_json (node, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (chronos_verification_get_path (back), ==, "/backups/pc/a.vhdx");
    g_assert_cmpint (chronos_verification_get_verdict (back), ==, CHRONOS_VERDICT_BOOTED);
    g_assert_cmpint (chronos_verification_get_cause (back), ==, CHRONOS_VERIFY_CAUSE_STABLE_SCREEN);
    g_assert_cmpstr (chronos_verification_get_reason (back), ==, "screen stable and non-blank for 3.0 s");
    g_assert_true (chronos_verification_get_fell_back (back));
    g_assert_cmpstr (chronos_verification_get_fallback_reason (back), ==, "KVM failed with an internal error.");
    g_assert_cmpfloat (chronos_verification_get_first_screen (back), ==, 2.5);
    g_assert_cmpstr (chronos_verification_get_log (back), ==, "/tmp/x.log");
    g_assert_true (g_date_time_equal (chronos_verification_get_started (back), started));
  }
}

static void
test_json_unset (void)
{
  g_autoptr (ChronosVerification) v = chronos_verification_new ("relative.vhdx");
  g_autoptr (JsonNode) node = chronos_verification_to_json (v);
  JsonObject      *object = json_node_get_object (node);
  g_autofree char *expected = g_canonicalize_filename ("relative.vhdx", NULL);

  /* The path is absolute; what never happened is null. */
  g_assert_cmpstr (json_object_get_string_member (object, "path"), ==, expected);
  g_assert_cmpstr (json_object_get_string_member (object, "verdict"), ==, "timeout");
  g_assert_true (json_object_get_null_member (object, "screenshot"));
  g_assert_true (json_object_get_null_member (object, "seconds"));
  g_assert_false (json_object_get_boolean_member (object, "fell_back"));
}

static void
test_json_invalid (void)
{
  static const char *const docs[] = {
    "[]",
    "{}",
    "{\"path\": \"/a\"}",
    "{\"path\": \"/a\", \"verdict\": \"maybe\"}",
    "{\"path\": 3, \"verdict\": \"booted\"}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (docs); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) node = json_from_string (docs[i], NULL);
      g_autoptr (ChronosVerification) v = chronos_verification_new_from_json (node, &error);

      g_assert_null (v);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    }
}

static void
test_save_load (void)
{
  g_autoptr (ChronosVerification) v = chronos_verification_new ("/backups/pc/a.vhdx");
  g_autoptr (ChronosVerification) other = NULL;
  g_autoptr (ChronosVerification) loaded = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = chronos_verification_file_for_image ("/backups/pc/a.vhdx", "json");
  g_autofree char *png = chronos_verification_file_for_image ("/backups/pc/a.vhdx", "png");
  g_autofree char *json_b = chronos_verification_file_for_image ("/backups/laptop/a.vhdx", "json");
  g_autofree char *dir = chronos_paths_verify_dir ();
  g_autofree char *json_dir = g_path_get_dirname (json);

  /* Same file name, different machines: different results. */
  g_assert_cmpstr (json, !=, json_b);
  g_assert_cmpstr (json_dir, ==, dir);
  g_assert_true (g_str_has_suffix (png, ".png"));
  g_assert_cmpuint (strlen (strrchr (json, G_DIR_SEPARATOR) + 1), ==, 32 + strlen (".json"));

  other = chronos_verification_load_for_image ("/backups/pc/a.vhdx", &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  chronos_verification_set_result (v, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_RESET_LOOP,
                                   "reset loop: 5 resets in 0.6 s");
  g_assert_true (chronos_verification_save (v, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (json, G_FILE_TEST_IS_REGULAR));

  loaded = chronos_verification_load_for_image ("/backups/pc/a.vhdx", &error);
  g_assert_no_error (error);
  g_assert_cmpint (chronos_verification_get_verdict (loaded), ==, CHRONOS_VERDICT_FAILED);
  g_assert_cmpstr (chronos_verification_get_reason (loaded), ==, "reset loop: 5 resets in 0.6 s");
}

static void
test_strings (void)
{
  ChronosVerdict verdict;

  g_assert_cmpstr (chronos_verdict_to_string (CHRONOS_VERDICT_FAILED), ==, "failed");
  g_assert_true (chronos_verdict_from_string ("timeout", &verdict));
  g_assert_cmpint (verdict, ==, CHRONOS_VERDICT_TIMEOUT);
  g_assert_false (chronos_verdict_from_string ("nope", &verdict));
  g_assert_false (chronos_verdict_from_string (NULL, &verdict));
  for (guint c = CHRONOS_VERIFY_CAUSE_NONE; c <= CHRONOS_VERIFY_CAUSE_TIMEOUT; c++)
    g_assert_cmpint (chronos_verify_cause_from_string (chronos_verify_cause_to_string (c)), ==, c);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/verification/json-fields", test_json_fields);
  g_test_add_func ("/verification/json-unset", test_json_unset);
  g_test_add_func ("/verification/json-invalid", test_json_invalid);
  g_test_add_func ("/verification/save-load", test_save_load);
  g_test_add_func ("/verification/strings", test_strings);

  return g_test_run ();
}
