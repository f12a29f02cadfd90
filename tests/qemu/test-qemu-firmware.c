/* test-qemu-firmware.c: UEFI firmware discovery through descriptors and names
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "chronos-firmware.h"
#include "chronos-qemu-error.h"

typedef struct
{
  char *root;
} Fixture;

static void
fixture_set_up (Fixture      *fixture,
                gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->root = g_dir_make_tmp ("chronos-firmware-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_tear_down (Fixture      *fixture,
                   gconstpointer data)
{
  remove_tree (fixture->root);
  g_free (fixture->root);
}

static char *
make_file (const char *dir,
           const char *name,
           const char *contents)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

/* A descriptor in QEMU's docs/interop/firmware.json format. */
static char *
descriptor_json (const char *code,
                 const char *vars,
                 const char *arch,
                 const char *machine,
                 const char *features,
                 const char *description)
{
  return g_strdup_printf ("{\n"
                          "  \"description\": \"%s\",\n"
                          "  \"interface-types\": [\"uefi\"],\n"
                          "  \"mapping\": {\n"
                          "    \"device\": \"flash\",\n"
                          "    \"executable\": {\"filename\": \"%s\", \"format\": \"raw\"},\n"
                          "    \"nvram-template\": {\"filename\": \"%s\", \"format\": \"raw\"}\n"
                          "  },\n"
                          "  \"targets\": [{\"architecture\": \"%s\", \"machines\": [\"%s\"]}],\n"
                          "  \"features\": [%s],\n"
                          "  \"tags\": []\n"
                          "}\n",
                          description, code, vars, arch, machine, features);
}

static void
add_descriptor (const char *dir,
                const char *name,
                const char *code,
                const char *vars,
                const char *arch,
                const char *machine,
                const char *features,
                const char *description)
{
  g_autofree char *json = descriptor_json (code, vars, arch, machine, features, description);
  g_autofree char *path = make_file (dir, name, json);
}

static void
test_descriptors (Fixture      *fixture,
                  gconstpointer data)
{
  g_autofree char *low = g_build_filename (fixture->root, "share", "firmware", NULL);
  g_autofree char *high = g_build_filename (fixture->root, "etc", "firmware", NULL);
  g_autofree char *files = g_build_filename (fixture->root, "files", NULL);
  g_autofree char *code = make_file (files, "code.fd", "code");
  g_autofree char *vars = make_file (files, "vars.fd", "vars");
  g_autofree char *code2 = make_file (files, "code2.fd", "code2");
  const char      *dirs[] = { low, high, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosFirmware) firmware = NULL;

  /* Ranked by name: every earlier one is unusable for a reason. */
  add_descriptor (low, "10-secure.json", code, vars, "x86_64", "pc-q35-*", "\"requires-smm\", \"secure-boot\"", "secure");
  add_descriptor (low, "20-enrolled.json", code, vars, "x86_64", "pc-q35-*", "\"enrolled-keys\"", "enrolled");
  add_descriptor (low, "30-arm.json", code, vars, "aarch64", "virt-*", "", "arm");
  add_descriptor (low, "40-i440fx.json", code, vars, "x86_64", "pc-i440fx-*", "", "i440fx only");
  add_descriptor (low, "50-missing.json", "/nonexistent/code.fd", vars, "x86_64", "pc-q35-*", "", "missing files");
  g_free (make_file (low, "55-broken.json", "{ not json"));
  add_descriptor (low, "60-good.json", code, vars, "x86_64", "pc-q35-*", "\"acpi-s3\"", "good low");
  add_descriptor (low, "70-later.json", code2, vars, "x86_64", "pc-q35-*", "", "later");

  firmware = chronos_firmware_find_in (dirs, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (chronos_firmware_get_code_path (firmware), ==, code);
  g_assert_cmpstr (chronos_firmware_get_vars_path (firmware), ==, vars);
  g_assert_cmpstr (chronos_firmware_get_description (firmware), ==, "good low");
  g_assert_cmpint (chronos_firmware_get_source (firmware), ==, CHRONOS_FIRMWARE_SOURCE_DESCRIPTOR);
  g_assert_true (g_str_has_suffix (chronos_firmware_get_descriptor (firmware), "60-good.json"));
  g_clear_object (&firmware);

  /* A same-named file in a later directory replaces it. */
  add_descriptor (high, "60-good.json", code2, vars, "x86_64", "pc-q35-*", "", "good high");
  firmware = chronos_firmware_find_in (dirs, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (chronos_firmware_get_code_path (firmware), ==, code2);
  g_assert_cmpstr (chronos_firmware_get_description (firmware), ==, "good high");
  g_clear_object (&firmware);

  /* An empty file masks it: the next by name (70) is used. */
  {
    g_autofree char *empty = make_file (high, "60-good.json", "");
  }
  firmware = chronos_firmware_find_in (dirs, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (chronos_firmware_get_description (firmware), ==, "later");
}

static void
test_names (Fixture      *fixture,
            gconstpointer data)
{
  g_autofree char *desc = g_build_filename (fixture->root, "firmware", NULL);
  g_autofree char *a = g_build_filename (fixture->root, "a", NULL);
  g_autofree char *b = g_build_filename (fixture->root, "b", NULL);
  const char      *descriptor_dirs[] = { desc, NULL };
  const char      *search_dirs[] = { a, b, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosFirmware) firmware = NULL;

  /* An MSYS2-style descriptor whose paths do not exist here. */
  add_descriptor (desc, "60-msys.json", "/ucrt64/share/qemu/edk2-x86_64-code.fd",
                  "/ucrt64/share/qemu/edk2-i386-vars.fd", "x86_64", "pc-q35-*", "", "msys");

  /* QEMU's own names in a; a code file without vars is not enough. */
  g_free (make_file (a, "edk2-x86_64-code.fd", "c"));
  g_free (make_file (a, "edk2-i386-vars.fd", "v"));
  g_free (make_file (a, "OVMF_CODE_4M.fd", "lonely"));

  firmware = chronos_firmware_find_in (descriptor_dirs, search_dirs, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chronos_firmware_get_source (firmware), ==, CHRONOS_FIRMWARE_SOURCE_FILE_NAME);
  g_assert_null (chronos_firmware_get_descriptor (firmware));
  g_assert_true (g_str_has_suffix (chronos_firmware_get_code_path (firmware), "a/edk2-x86_64-code.fd"));
  g_assert_true (g_str_has_suffix (chronos_firmware_get_vars_path (firmware), "a/edk2-i386-vars.fd"));
  g_clear_object (&firmware);

  /* Debian's 4M pair is preferred, even in a later directory. */
  g_free (make_file (b, "OVMF_CODE_4M.fd", "c"));
  g_free (make_file (b, "OVMF_VARS_4M.fd", "v"));
  firmware = chronos_firmware_find_in (descriptor_dirs, search_dirs, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (chronos_firmware_get_code_path (firmware), "b/OVMF_CODE_4M.fd"));
  g_assert_cmpstr (chronos_firmware_get_description (firmware), ==, "OVMF_CODE_4M.fd");
}

static void
test_missing (Fixture      *fixture,
              gconstpointer data)
{
  const char *nothing[] = { fixture->root, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosFirmware) firmware = chronos_firmware_find_in (nothing, nothing, &error);

  g_assert_null (firmware);
  g_assert_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FIRMWARE_MISSING);
  /* This machine is Debian: the hint names the package. */
  if (g_file_test ("/etc/debian_version", G_FILE_TEST_EXISTS))
    g_assert_nonnull (strstr (error->message, "sudo apt install ovmf"));
  g_assert_nonnull (strstr (error->message, "UEFI firmware"));
}

/* The real search, with a descriptor in $XDG_CONFIG_HOME overriding the
 * system's by name (G_TEST_OPTION_ISOLATE_DIRS moved XDG_CONFIG_HOME). */
static void
test_user_override (Fixture      *fixture,
                    gconstpointer data)
{
  g_autofree char *user_dir = g_build_filename (g_get_user_config_dir (), "qemu", "firmware", NULL);
  g_autofree char *code = make_file (fixture->root, "my code.fd", "c");
  g_autofree char *vars = make_file (fixture->root, "my vars.fd", "v");
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosFirmware) system = chronos_firmware_find (NULL, &error);
  g_autoptr (ChronosFirmware) mine = NULL;

  if (system == NULL)
    {
      g_test_skip ("No UEFI firmware installed on this host (ovmf)");
      return;
    }
  g_test_message ("System firmware: %s (%s)", chronos_firmware_get_code_path (system),
                  chronos_firmware_get_description (system));
  /* Never a Secure Boot build. */
  g_assert_null (strstr (chronos_firmware_get_code_path (system), "secboot"));
  g_assert_true (g_file_test (chronos_firmware_get_vars_path (system), G_FILE_TEST_IS_REGULAR));

  if (chronos_firmware_get_descriptor (system) != NULL)
    {
      g_autofree char *name = g_path_get_basename (chronos_firmware_get_descriptor (system));

      add_descriptor (user_dir, name, code, vars, "x86_64", "pc-q35-*", "", "mine");
    }
  else
    add_descriptor (user_dir, "99-mine.json", code, vars, "x86_64", "pc-q35-*", "", "mine");

  mine = chronos_firmware_find (NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (chronos_firmware_get_code_path (mine), ==, code);
  g_assert_cmpstr (chronos_firmware_get_description (mine), ==, "mine");
}

static void
find_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  struct
  {
    ChronosFirmware *firmware;
    gboolean         done;
  } *out = user_data;
  g_autoptr (GError) error = NULL;

  out->firmware = chronos_firmware_find_finish (result, &error);
  out->done = TRUE;
  if (out->firmware == NULL)
    g_assert_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FIRMWARE_MISSING);
  else
    g_assert_no_error (error);
}

static void
test_async_and_bios_image (Fixture      *fixture,
                           gconstpointer data)
{
  struct
  {
    ChronosFirmware *firmware;
    gboolean         done;
  } result = { NULL, FALSE };
  g_autoptr (ChronosFirmware) firmware = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *image = g_build_filename (fixture->root, "ovmf, whpx.fd", NULL);
  g_autofree char *vars = NULL;
  g_autofree char *code = NULL;
  g_autofree char *joined = NULL;
  gsize            vars_len, code_len, joined_len;

  chronos_firmware_find_async (NULL, NULL, find_cb, &result);
  while (!result.done)
    g_main_context_iteration (NULL, TRUE);
  firmware = result.firmware;
  if (firmware == NULL)
    {
      g_test_skip ("No UEFI firmware installed on this host (ovmf)");
      return;
    }

  g_assert_true (chronos_firmware_write_bios_image (firmware, chronos_firmware_get_vars_path (firmware),
                                                    image, &error));
  g_assert_no_error (error);
  g_file_get_contents (chronos_firmware_get_vars_path (firmware), &vars, &vars_len, &error);
  g_file_get_contents (chronos_firmware_get_code_path (firmware), &code, &code_len, &error);
  g_file_get_contents (image, &joined, &joined_len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (joined_len, ==, vars_len + code_len);
  g_assert_cmpmem (joined, vars_len, vars, vars_len);
  g_assert_cmpmem (joined + vars_len, code_len, code, code_len);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/qemu-firmware/descriptors", Fixture, NULL, fixture_set_up, test_descriptors, fixture_tear_down);
  g_test_add ("/qemu-firmware/names", Fixture, NULL, fixture_set_up, test_names, fixture_tear_down);
  g_test_add ("/qemu-firmware/missing", Fixture, NULL, fixture_set_up, test_missing, fixture_tear_down);
  g_test_add ("/qemu-firmware/user-override", Fixture, NULL, fixture_set_up, test_user_override, fixture_tear_down);
  g_test_add ("/qemu-firmware/async-bios-image", Fixture, NULL, fixture_set_up, test_async_and_bios_image, fixture_tear_down);

  return g_test_run ();
}
