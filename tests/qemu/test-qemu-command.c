/* test-qemu-command.c: golden tests for the QEMU command line builder
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Each case builds an argv and compares it, one argument per line, with
 * tests/qemu/golden/NAME.args. Set CHRONOS_UPDATE_GOLDEN=1 to rewrite the
 * files after an intended change, then review the diff.
 */

#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "chronos-qemu-command.h"
#include "chronos-qemu-error.h"

static const ChronosAccelKind linux_accels[] = { CHRONOS_ACCEL_KIND_KVM, CHRONOS_ACCEL_KIND_TCG };
static const ChronosAccelKind windows_accels[] = { CHRONOS_ACCEL_KIND_WHPX, CHRONOS_ACCEL_KIND_TCG };
static const ChronosAccelKind tcg_only[] = { CHRONOS_ACCEL_KIND_TCG };

#define RUN "/run/user/1000/chronos/vm-4242"

/* A config as on an 8 GiB, 4-CPU host: 4096 MiB, 2 CPUs. */
static ChronosVmConfig *
new_config (void)
{
  ChronosHostResources host = {
    .total_memory = G_GUINT64_CONSTANT (8) << 30,
    .available_memory = G_GUINT64_CONSTANT (6) << 30,
    .n_cpus = 4,
  };

  return chronos_vm_config_new_for_host (&host);
}

static void
spec_init (ChronosLaunchSpec *spec,
           ChronosVmConfig   *config)
{
  *spec = (ChronosLaunchSpec){
    .system_path = "/usr/bin/qemu-system-x86_64",
    .config = config,
    .firmware = CHRONOS_FIRMWARE_MODE_BIOS,
    .accels = linux_accels,
    .n_accels = G_N_ELEMENTS (linux_accels),
    .image_path = "/srv/backups/Server 2019/disk.vhdx",
    .overlay_path = RUN "/overlay.qcow2",
    .qmp_socket = RUN "/qmp.sock",
    .display_backend = "gtk",
    .vm_name = "disk.vhdx",
  };
}

static char *
join_lines (const char *const *argv)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; argv[i] != NULL; i++)
    {
      g_string_append (text, argv[i]);
      g_string_append_c (text, '\n');
    }
  return g_string_free (text, FALSE);
}

static void
check_golden (const char              *name,
              const ChronosLaunchSpec *spec)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) argv = chronos_qemu_command_build (spec, &error);
  g_autofree char *path = NULL;
  g_autofree char *actual = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *file_name = g_strconcat (name, ".args", NULL);

  g_assert_no_error (error);
  g_assert_nonnull (argv);

  path = g_build_filename (GOLDEN_DIR, file_name, NULL);
  actual = join_lines ((const char *const *)argv);

  if (g_getenv ("CHRONOS_UPDATE_GOLDEN") != NULL)
    {
      g_assert_true (g_file_set_contents (path, actual, -1, &error));
      g_assert_no_error (error);
      g_test_message ("Updated %s", path);
      return;
    }

  g_file_get_contents (path, &expected, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (actual, ==, expected);
}

/* Every argument after -blockdev parses as JSON. */
static void
check_blockdevs_are_json (const char *const *argv)
{
  for (guint i = 0; argv[i] != NULL; i++)
    if (g_str_equal (argv[i], "-blockdev"))
      {
        g_autoptr (JsonParser) parser = json_parser_new ();
        g_autoptr (GError) error = NULL;

        g_assert_nonnull (argv[i + 1]);
        json_parser_load_from_data (parser, argv[i + 1], -1, &error);
        g_assert_no_error (error);
        g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
      }
}

/* The JSON object of the -blockdev whose node-name is @node, or NULL. */
static JsonObject *
find_blockdev (const char *const *argv,
               const char        *node,
               JsonParser       **parser_out)
{
  for (guint i = 0; argv[i] != NULL; i++)
    if (g_str_equal (argv[i], "-blockdev"))
      {
        g_autoptr (JsonParser) parser = json_parser_new ();
        JsonObject *object;

        g_assert_true (json_parser_load_from_data (parser, argv[i + 1], -1, NULL));
        object = json_node_get_object (json_parser_get_root (parser));
        if (g_strcmp0 (json_object_get_string_member (object, "node-name"), node) == 0)
          {
            *parser_out = g_steal_pointer (&parser);
            return object;
          }
      }
  return NULL;
}

static gboolean
argv_has_pair (const char *const *argv,
               const char        *option,
               const char        *value)
{
  for (guint i = 0; argv[i] != NULL && argv[i + 1] != NULL; i++)
    if (g_str_equal (argv[i], option) && g_str_equal (argv[i + 1], value))
      return TRUE;
  return FALSE;
}

static void
test_bios_default (void)
{
  g_autoptr (ChronosVmConfig) config = new_config ();
  ChronosLaunchSpec spec;
  g_auto (GStrv) argv = NULL;
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *base;

  spec_init (&spec, config);
  check_golden ("bios-ahci-gtk", &spec);

  /* Beyond the golden file: the rules that protect the backup. */
  argv = chronos_qemu_command_build (&spec, NULL);
  check_blockdevs_are_json ((const char *const *)argv);
  base = find_blockdev ((const char *const *)argv, "base-file", &parser);
  g_assert_nonnull (base);
  g_assert_true (json_object_get_boolean_member (base, "read-only"));
  g_clear_object (&parser);
  base = find_blockdev ((const char *const *)argv, "base", &parser);
  g_assert_true (json_object_get_boolean_member (base, "read-only"));
  g_assert_cmpstr (json_object_get_string_member (base, "driver"), ==, "vhdx");
  g_clear_object (&parser);
  base = find_blockdev ((const char *const *)argv, "disk", &parser);
  g_assert_cmpstr (json_object_get_string_member (base, "driver"), ==, "qcow2");
  g_assert_cmpstr (json_object_get_string_member (base, "backing"), ==, "base");
  g_assert_true (argv_has_pair ((const char *const *)argv, "-accel", "kvm"));
  g_assert_false (g_strv_contains ((const char *const *)argv, "snapshot=on"));
}

static void
test_uefi (void)
{
  g_autoptr (ChronosVmConfig) config = new_config ();
  ChronosLaunchSpec spec;

  spec_init (&spec, config);
  spec.firmware = CHRONOS_FIRMWARE_MODE_UEFI;
  spec.firmware_code = "/usr/share/OVMF/OVMF_CODE_4M.fd";
  spec.firmware_vars = RUN "/vars.fd";
  check_golden ("uefi-ahci-gtk", &spec);
}

static void
test_disk_bus (gconstpointer data)
{
  ChronosDiskBus bus = GPOINTER_TO_INT (data);
  g_autoptr (ChronosVmConfig) config = new_config ();
  g_autoptr (GEnumClass) klass = g_type_class_ref (CHRONOS_TYPE_DISK_BUS);
  g_autofree char  *name = NULL;
  ChronosLaunchSpec spec;

  chronos_vm_config_set_disk_bus (config, bus);
  spec_init (&spec, config);
  name = g_strdup_printf ("bios-%s", g_enum_get_value (klass, bus)->value_nick);
  check_golden (name, &spec);
}

static void
test_displays (void)
{
  g_autoptr (ChronosVmConfig) config = new_config ();
  ChronosLaunchSpec spec;

  spec_init (&spec, config);
  spec.display_backend = "sdl";
  check_golden ("display-sdl", &spec);

  chronos_vm_config_set_display (config, CHRONOS_DISPLAY_MODE_VNC);
  spec_init (&spec, config);
  spec.display_backend = NULL;
  spec.vnc_socket = RUN "/vnc.sock";
  check_golden ("display-vnc", &spec);

  chronos_vm_config_set_display (config, CHRONOS_DISPLAY_MODE_NONE);
  spec_init (&spec, config);
  spec.display_backend = NULL;
  check_golden ("display-none", &spec);
}

static void
test_network (void)
{
  g_autoptr (ChronosVmConfig) config = new_config ();
  ChronosLaunchSpec spec;

  chronos_vm_config_set_network (config, FALSE);
  spec_init (&spec, config);
  check_golden ("network-off", &spec);

  chronos_vm_config_set_network (config, TRUE);
  chronos_vm_config_set_nic_model (config, CHRONOS_NIC_MODEL_VIRTIO);
  spec_init (&spec, config);
  check_golden ("network-virtio", &spec);
}

static void
test_writable (void)
{
  g_autoptr (ChronosVmConfig) config = new_config ();
  ChronosLaunchSpec spec;
  g_auto (GStrv) argv = NULL;
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *disk;

  chronos_vm_config_set_protect_backup (config, FALSE);
  spec_init (&spec, config);
  spec.overlay_path = NULL;
  check_golden ("writable", &spec);

  argv = chronos_qemu_command_build (&spec, NULL);
  g_assert_null (find_blockdev ((const char *const *)argv, "overlay-file", &parser));
  disk = find_blockdev ((const char *const *)argv, "disk", &parser);
  g_assert_cmpstr (json_object_get_string_member (disk, "driver"), ==, "vhdx");
  g_assert_false (json_object_get_boolean_member (disk, "read-only"));
}

static void
test_drivers_iso (void)
{
  g_autoptr (ChronosVmConfig) config = new_config ();
  ChronosLaunchSpec spec;

  chronos_vm_config_set_drivers_iso (config, "/home/user/Downloads/virtio-win-0.1.240.iso");
  spec_init (&spec, config);
  check_golden ("drivers-iso-ahci", &spec);

  /* No AHCI controller for the disk: one is added for the CD. */
  chronos_vm_config_set_disk_bus (config, CHRONOS_DISK_BUS_VIRTIO);
  spec_init (&spec, config);
  check_golden ("drivers-iso-virtio", &spec);

  chronos_vm_config_set_disk_bus (config, CHRONOS_DISK_BUS_IDE);
  spec_init (&spec, config);
  check_golden ("drivers-iso-ide", &spec);
}

static void
test_whpx_workaround (void)
{
  g_autoptr (ChronosVmConfig) config = new_config ();
  ChronosLaunchSpec spec;

  spec_init (&spec, config);
  spec.system_path = "C:\\Program Files\\qemu\\qemu-system-x86_64.exe";
  spec.image_path = "D:\\Backups\\PC 2024-01-02\\C_VOL-b001.vhdx";
  spec.overlay_path = "C:\\Users\\Ana\\AppData\\Local\\chronos\\run\\vm-1\\overlay.qcow2";
  spec.qmp_socket = "C:\\Users\\Ana\\AppData\\Local\\chronos\\run\\vm-1\\qmp.sock";
  spec.firmware = CHRONOS_FIRMWARE_MODE_UEFI;
  spec.accels = windows_accels;
  spec.n_accels = G_N_ELEMENTS (windows_accels);
  spec.whpx_bios_workaround = TRUE;
  spec.bios_image = "C:\\Users\\Ana\\AppData\\Local\\chronos\\run\\vm-1\\ovmf, whpx.fd";
  check_golden ("whpx-bios-workaround", &spec);

  /* Without the workaround, WHPX gets pflash like everyone else. */
  spec.whpx_bios_workaround = FALSE;
  spec.bios_image = NULL;
  spec.firmware_code = "C:\\Program Files\\qemu\\share\\edk2-x86_64-code.fd";
  spec.firmware_vars = "C:\\Users\\Ana\\AppData\\Local\\chronos\\run\\vm-1\\vars.fd";
  check_golden ("whpx-uefi-pflash", &spec);
}

static void
test_tcg_serial_paused (void)
{
  g_autoptr (ChronosVmConfig) config = new_config ();
  ChronosLaunchSpec spec;

  chronos_vm_config_set_serial_path (config, "/home/user/serial.log");
  chronos_vm_config_set_memory_mib (config, 1024);
  chronos_vm_config_set_cpus (config, 1);
  spec_init (&spec, config);
  spec.accels = tcg_only;
  spec.n_accels = 1;
  spec.start_paused = TRUE;
  spec.vm_name = NULL;
  check_golden ("tcg-serial-paused", &spec);
}

static void
test_nbd (void)
{
  g_autoptr (ChronosVmConfig) config = new_config ();
  ChronosLaunchSpec spec;

  spec_init (&spec, config);
  spec.image_path = NULL;
  spec.base_driver = "nbd";
  spec.nbd_socket = RUN "/nbd.sock";
  spec.nbd_export = "disk";
  check_golden ("nbd-base", &spec);
}

/* Spaces, commas, double and single quotes, backslashes, non-ASCII. */
#define NASTY_DIR "/srv/My Backups, \"2024\" 'é' \\ 日本"
#define NASTY_DIR_ESCAPED "/srv/My Backups,, \"2024\" 'é' \\ 日本"

static void
test_special_paths (void)
{
  g_autoptr (ChronosVmConfig) config = new_config ();
  ChronosLaunchSpec spec;
  g_auto (GStrv) argv = NULL;
  const char *image = NASTY_DIR "/disk, c: \"x\".vhdx";
  const char *node_names[] = { "base-file", "overlay-file", "pflash0-file", "pflash1-file", "drivers-file" };
  const char *paths[] = {
    image,
    NASTY_DIR "/run, 1/overlay.qcow2",
    NASTY_DIR "/fw, code.fd",
    NASTY_DIR "/run, 1/vars.fd",
    NASTY_DIR "/virtio, win.iso",
  };

  chronos_vm_config_set_display (config, CHRONOS_DISPLAY_MODE_VNC);
  chronos_vm_config_set_serial_path (config, NASTY_DIR "/serial, log.txt");
  chronos_vm_config_set_drivers_iso (config, paths[4]);
  spec_init (&spec, config);
  spec.image_path = image;
  spec.overlay_path = paths[1];
  spec.firmware = CHRONOS_FIRMWARE_MODE_UEFI;
  spec.firmware_code = paths[2];
  spec.firmware_vars = paths[3];
  spec.qmp_socket = NASTY_DIR "/run, 1/qmp.sock";
  spec.vnc_socket = NASTY_DIR "/run, 1/vnc.sock";
  spec.display_backend = NULL;
  spec.vm_name = "disk, c: \"x\".vhdx";
  check_golden ("special-paths", &spec);

  /* Each path survives the JSON round trip byte for byte. */
  argv = chronos_qemu_command_build (&spec, NULL);
  check_blockdevs_are_json ((const char *const *)argv);
  for (guint i = 0; i < G_N_ELEMENTS (node_names); i++)
    {
      g_autoptr (JsonParser) parser = NULL;
      JsonObject *node = find_blockdev ((const char *const *)argv, node_names[i], &parser);

      g_assert_nonnull (node);
      g_assert_cmpstr (json_object_get_string_member (node, "filename"), ==, paths[i]);
    }
  /* Key=value options double the commas. */
  g_assert_true (argv_has_pair ((const char *const *)argv, "-chardev",
                                "socket,id=qmp,path=" NASTY_DIR_ESCAPED "/run,, 1/qmp.sock,server=on,wait=off"));
  g_assert_true (argv_has_pair ((const char *const *)argv, "-vnc",
                                "unix:" NASTY_DIR_ESCAPED "/run,, 1/vnc.sock"));
  g_assert_true (argv_has_pair ((const char *const *)argv, "-name", "guest=disk,, c: \"x\".vhdx"));
}

static void
test_escape (void)
{
  struct
  {
    const char *in, *out;
  } cases[] = {
    { "", "" },
    { "plain", "plain" },
    { ",", ",," },
    { "a,b,,c", "a,,b,,,,c" },
    { "é,日", "é,,日" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *escaped = chronos_qemu_escape_option_value (cases[i].in);

      g_assert_cmpstr (escaped, ==, cases[i].out);
    }
}

static void
expect_invalid (const ChronosLaunchSpec *spec,
                const char              *fragment)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) argv = chronos_qemu_command_build (spec, &error);

  g_assert_null (argv);
  g_assert_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_INVALID_CONFIG);
  if (fragment != NULL && strstr (error->message, fragment) == NULL)
    g_error ("“%s” does not mention “%s”", error->message, fragment);
}

static void
test_invalid (void)
{
  g_autoptr (ChronosVmConfig) config = new_config ();
  ChronosLaunchSpec      spec;
  const ChronosAccelKind unknown[] = { CHRONOS_ACCEL_KIND_UNKNOWN };

  spec_init (&spec, config);
  spec.system_path = NULL;
  expect_invalid (&spec, "QEMU program");

  spec_init (&spec, config);
  spec.config = NULL;
  expect_invalid (&spec, "configuration");

  spec_init (&spec, config);
  spec.image_path = NULL;
  expect_invalid (&spec, "disk image");

  spec_init (&spec, config);
  spec.overlay_path = NULL;
  expect_invalid (&spec, "overlay");

  spec_init (&spec, config);
  spec.qmp_socket = "";
  expect_invalid (&spec, "control socket");

  spec_init (&spec, config);
  spec.firmware = CHRONOS_FIRMWARE_MODE_AUTO;
  expect_invalid (&spec, "BIOS or UEFI");

  spec_init (&spec, config);
  spec.firmware = CHRONOS_FIRMWARE_MODE_UEFI;
  spec.firmware_code = "/fw/code.fd";
  expect_invalid (&spec, "variable store");

  spec_init (&spec, config);
  spec.firmware = CHRONOS_FIRMWARE_MODE_UEFI;
  spec.whpx_bios_workaround = TRUE;
  expect_invalid (&spec, "firmware image");

  spec_init (&spec, config);
  spec.n_accels = 0;
  expect_invalid (&spec, "accelerator");

  spec_init (&spec, config);
  spec.accels = unknown;
  spec.n_accels = 1;
  expect_invalid (&spec, "unknown accelerator");

  spec_init (&spec, config);
  spec.display_backend = "curses";
  expect_invalid (&spec, "window");

  spec_init (&spec, config);
  spec.base_driver = "json:{}";
  expect_invalid (&spec, "image format");

  spec_init (&spec, config);
  spec.image_path = "/srv/\xff\xfe.vhdx";
  expect_invalid (&spec, "UTF-8");

  chronos_vm_config_set_display (config, CHRONOS_DISPLAY_MODE_VNC);
  spec_init (&spec, config);
  expect_invalid (&spec, "VNC socket");
  chronos_vm_config_set_display (config, CHRONOS_DISPLAY_MODE_WINDOW);

  chronos_vm_config_set_protect_backup (config, FALSE);
  spec_init (&spec, config);
  spec.base_driver = "nbd";
  spec.nbd_socket = RUN "/nbd.sock";
  expect_invalid (&spec, "writable");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/qemu-command/bios-default", test_bios_default);
  g_test_add_func ("/qemu-command/uefi", test_uefi);
  g_test_add_data_func ("/qemu-command/disk-bus/ahci", GINT_TO_POINTER (CHRONOS_DISK_BUS_AHCI), test_disk_bus);
  g_test_add_data_func ("/qemu-command/disk-bus/nvme", GINT_TO_POINTER (CHRONOS_DISK_BUS_NVME), test_disk_bus);
  g_test_add_data_func ("/qemu-command/disk-bus/ide", GINT_TO_POINTER (CHRONOS_DISK_BUS_IDE), test_disk_bus);
  g_test_add_data_func ("/qemu-command/disk-bus/virtio", GINT_TO_POINTER (CHRONOS_DISK_BUS_VIRTIO), test_disk_bus);
  g_test_add_func ("/qemu-command/displays", test_displays);
  g_test_add_func ("/qemu-command/network", test_network);
  g_test_add_func ("/qemu-command/writable", test_writable);
  g_test_add_func ("/qemu-command/drivers-iso", test_drivers_iso);
  g_test_add_func ("/qemu-command/whpx-workaround", test_whpx_workaround);
  g_test_add_func ("/qemu-command/tcg-serial-paused", test_tcg_serial_paused);
  g_test_add_func ("/qemu-command/nbd", test_nbd);
  g_test_add_func ("/qemu-command/special-paths", test_special_paths);
  g_test_add_func ("/qemu-command/escape", test_escape);
  g_test_add_func ("/qemu-command/invalid", test_invalid);

  return g_test_run ();
}
